"""Containers: Sequential (a pipeline), ModuleList, ModuleDict and ParameterList (registered
lists and dicts of modules and parameters)."""

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


class ModuleDict(Module):
    """A dict of modules whose parameters the owning module registers, in insertion order.

    >>> from eager import nn
    >>> heads = nn.ModuleDict({"class": nn.Linear(4, 3), "box": nn.Linear(4, 2)})
    >>> list(heads), len(list(heads.parameters()))
    (['class', 'box'], 4)
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def clear(self) -> None:
        self._modules.clear()

    def pop(self, key: str) -> Module:
        """Remove the module under `key` and return it."""
        module = self[key]
        del self[key]
        return module

    def update(self, modules) -> None:
        """Add (or replace) modules from a mapping or an iterable of (key, module) pairs; a
        bad entry is refused before any is added."""
        if isinstance(modules, (dict, Module)) or hasattr(modules, "keys"):
            pairs = list(modules.items())
        else:
            try:
                pairs = [tuple(pair) for pair in modules]
            except TypeError:
                raise TypeError(f"ModuleDict.update should be called with an iterable of "
                                f"key/value pairs, but got {type(modules).__name__}") from None
        for position, pair in enumerate(pairs):
            if len(pair) != 2:
                raise ValueError(f"ModuleDict update sequence element #{position} has length "
                                 f"{len(pair)}; 2 is required")
            if not isinstance(pair[1], Module):
                raise TypeError(f"ModuleDict.update: {type(pair[1]).__name__} under key "
                                f"{pair[0]!r} is not a Module subclass")
        for key, module in pairs:
            self[key] = module

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict has no forward: index it and call its modules")


class ParameterList(Module):
    """A list of parameters that the owning module registers (tensors become Parameters).

    >>> import eager
    >>> from eager import nn
    >>> weights = nn.ParameterList([nn.Parameter(eager.ones(2)) for _ in range(2)])
    >>> weights.append(eager.zeros(3))
    ParameterList(
        (0): Parameter containing: [float32 of size (2,)]
        (1): Parameter containing: [float32 of size (2,)]
        (2): Parameter containing: [float32 of size (3,)]
    )
    >>> len(list(weights.parameters()))
    3
    """

    def __init__(self, values=None):
        super().__init__()
        if values is not None:
            self.extend(values)

    @staticmethod
    def _as_parameter(value):
        from eager.nn.parameter import Parameter
        from eager.tensor import Tensor

        if isinstance(value, Parameter):
            return value
        if isinstance(value, Tensor):
            return Parameter(value.detach())
        raise TypeError(f"ParameterList holds tensors; got {type(value).__name__}")

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())

    def __getitem__(self, index):
        if isinstance(index, slice):
            return type(self)(list(self._parameters.values())[index])
        return self._parameters[str(_position(self, index, len(self)))]

    def __setitem__(self, index, value) -> None:
        key = str(_position(self, index, len(self)))
        self._parameters[key] = self._as_parameter(value)

    def append(self, value):
        """Add a parameter (a tensor is wrapped as one) at the end."""
        self.register_parameter(str(len(self)), self._as_parameter(value))
        return self

    def extend(self, values):
        """Append every tensor of an iterable (all are checked before any is added)."""
        try:
            values = [self._as_parameter(value) for value in values]
        except TypeError as error:
            if "ParameterList holds" in str(error):
                raise
            raise TypeError(f"ParameterList.extend should be called with an iterable, but got "
                            f"{type(values).__name__}") from None
        for value in values:
            self.append(value)
        return self

    def __iadd__(self, values):
        return self.extend(values)

    def extra_repr(self) -> str:
        lines = [f"({key}): Parameter containing: [{param.dtype} of size {tuple(param.shape)}]"
                 for key, param in self._parameters.items()]
        return "\n".join(lines)

    def __repr__(self) -> str:
        body = self.extra_repr()
        if not body:
            return f"{self._get_name()}()"
        return f"{self._get_name()}(\n    " + "\n    ".join(body.split("\n")) + "\n)"

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ParameterList has no forward: iterate over its parameters")
