"""Containers: Sequential (a pipeline) and ModuleList (a registered list of modules)."""

from __future__ import annotations

import operator
from collections import OrderedDict

from eager.nn.module import Module


def _position(container: Module, index, length: int) -> int:
    """A non-negative position for an int index, with Python's negative indexing."""
    try:
        index = operator.index(index)
    except TypeError:
        raise TypeError(f"{type(container).__name__} indices must be integers or slices, not "
                        f"{type(index).__name__}") from None
    if not -length <= index < length:
        raise IndexError(f"index {index} is out of range for {type(container).__name__} of "
                         f"length {length}")
    return index % length


class _IndexedModules(Module):
    """Positional access shared by Sequential and ModuleList: children are keyed "0", "1", ..."""

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def _key(self, index) -> str:
        return list(self._modules)[_position(self, index, len(self._modules))]

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._from_modules(list(self._modules.items())[index])
        return self._modules[self._key(index)]

    def __setitem__(self, index, module: Module) -> None:
        self.add_module(self._key(index), module)

    def __delitem__(self, index) -> None:
        if isinstance(index, slice):
            for key in list(self._modules)[index]:
                del self._modules[key]
        else:
            del self._modules[self._key(index)]
        # Renumber, as PyTorch does, so positions and keys agree again.
        modules = list(self._modules.values())
        self._modules.clear()
        for position, module in enumerate(modules):
            self._modules[str(position)] = module

    def append(self, module: Module):
        """Add `module` at the end."""
        self.add_module(str(len(self)), module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Put `module` before position `index` (which may equal len(self))."""
        length = len(self)
        index = operator.index(index)
        if not -length <= index <= length:
            raise IndexError(f"index {index} is out of range for insert into "
                             f"{type(self).__name__} of length {length}")
        index = index + length if index < 0 else index
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._modules.clear()
        for position, child in enumerate(modules):
            self.add_module(str(position), child)

    def extend(self, modules):
        """Append every module of an iterable."""
        try:
            modules = list(modules)
        except TypeError:
            raise TypeError(f"{type(self).__name__}.extend should be called with an iterable, "
                            f"but got {type(modules).__name__}") from None
        for module in modules:
            self.append(module)
        return self

    def __dir__(self):
        return [key for key in super().__dir__() if not key.isdigit()]


class Sequential(_IndexedModules):
    """Modules applied one after another: `Sequential(a, b)(x)` is `b(a(x))`.

    Children are named "0", "1", ... or, from an OrderedDict, by its keys.

    >>> import eager
    >>> from eager import nn
    >>> model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    >>> model
    Sequential(
      (0): Linear(in_features=2, out_features=3, bias=True)
      (1): ReLU()
      (2): Linear(in_features=3, out_features=1, bias=True)
    )
    >>> len(model), type(model[-1]).__name__, len(model[:2])
    (3, 'Linear', 2)
    >>> model(eager.ones(4, 2)).shape
    (4, 1)
    """

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for position, module in enumerate(modules):
                self.add_module(str(position), module)

    def _from_modules(self, items) -> Sequential:
        return type(self)(OrderedDict(items))

    def forward(self, input):
        for module in self:
            input = module(input)
        return input


class ModuleList(_IndexedModules):
    """A list of modules whose parameters the owning module registers.

    >>> from eager import nn
    >>> layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    >>> layers.append(nn.ReLU())
    ModuleList(
      (0-2): 3 x Linear(in_features=2, out_features=2, bias=True)
      (3): ReLU()
    )
    >>> len(list(layers.parameters()))
    6
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _from_modules(self, items) -> ModuleList:
        return type(self)([module for _, module in items])

    def __iadd__(self, modules) -> ModuleList:
        return self.extend(modules)

    def __add__(self, other) -> ModuleList:
        return ModuleList(list(self) + list(other))

    def __repr__(self) -> str:
        # PyTorch folds runs of identical reprs: "(0-2): 3 x Linear(...)".
        runs = []
        for name, module in self._modules.items():
            text = repr(module)
            if runs and runs[-1][2] == text:
                runs[-1][1] = name
                runs[-1][3] += 1
            else:
                runs.append([name, name, text, 1])
        if not runs:
            return f"{self._get_name()}()"
        lines = []
        for first, last, text, count in runs:
            text = "\n  ".join(text.split("\n"))
            label = first if count == 1 else f"{first}-{last}"
            lines.append(f"({label}): " + (text if count == 1 else f"{count} x {text}"))
        return f"{self._get_name()}(\n  " + "\n  ".join(lines) + "\n)"

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward: iterate over it and call its "
                                  "modules")
