"""`Module`: the base class of every layer, with PyTorch's registration, traversal, state and
hooks.

Assigning a `Parameter`, a `Module` or a registered buffer as an attribute records it in one of
three ordered registries (`_parameters`, `_modules`, `_buffers`); everything else (parameters(),
state_dict(), train(), double(), the repr) walks those registries, so the declaration order of a
layer's attributes is the order of its parameters and of its state dict.
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Mapping

import numpy as np

from eager.autograd import no_grad
from eager.hooks import RemovableHandle
from eager.nn.parameter import Parameter
from eager.tensor import Tensor, _check_device
from framework import dtypes
from framework.device import Device, to_device
from framework.ops import F


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What `load_state_dict(strict=False)` skipped."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()


def _indent_after_first_line(text: str, spaces: int) -> str:
    lines = text.split("\n")
    return "\n".join(lines[:1] + [" " * spaces + line for line in lines[1:]])


def _quoted(keys) -> str:
    return ", ".join(f'"{key}"' for key in keys)


def _as_array(value) -> np.ndarray:
    return value._array if isinstance(value, Tensor) else np.asarray(value)


class Module:
    """Base class for layers and models: subclass it, assign layers and Parameters in
    `__init__`, and compute the output in `forward`.

    >>> import eager
    >>> from eager import nn
    >>> class TwoLayer(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.hidden = nn.Linear(3, 4)
    ...         self.out = nn.Linear(4, 1)
    ...
    ...     def forward(self, x):
    ...         return self.out(self.hidden(x).relu())
    >>> model = TwoLayer()
    >>> [name for name, _ in model.named_parameters()]
    ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
    >>> model(eager.ones(2, 3)).shape
    (2, 1)
    """

    training: bool

    def __init__(self):
        # object.__setattr__: our own __setattr__ needs these registries to exist.
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required '
                                  '"forward" function')

    def __call__(self, *args, **kwargs):
        if not self._forward_pre_hooks and not self._forward_hooks:
            return self.forward(*args, **kwargs)  # the common case, on every layer call
        for hook in tuple(self._forward_pre_hooks.values()):
            replaced = hook(self, args)
            if replaced is not None:
                args = replaced if isinstance(replaced, tuple) else (replaced,)
        output = self.forward(*args, **kwargs)
        for hook in tuple(self._forward_hooks.values()):
            replaced = hook(self, args, output)
            if replaced is not None:
                output = replaced
        return output

    # -- attribute registration ---------------------------------------------------------------

    def __getattr__(self, name: str):
        # Only reached when ordinary lookup fails. Read __dict__ directly: during unpickling
        # or copying the registries may not exist yet, and self._parameters would recurse.
        state = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry in state and name in state[registry]:
                return state[registry][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value) -> None:
        state = self.__dict__
        parameters = state.get("_parameters")
        if isinstance(value, Parameter):
            if parameters is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name)
            self.register_parameter(name, value)
        elif parameters is not None and name in parameters:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter "
                                f"'{name}' (eager.nn.Parameter or None expected)")
            parameters[name] = None
        elif isinstance(value, Module):
            if "_modules" not in state:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name)
            state["_modules"][name] = value
        elif name in state.get("_modules", ()):
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module "
                                f"'{name}' (eager.nn.Module or None expected)")
            state["_modules"][name] = None
        elif name in state.get("_buffers", ()):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                                "(eager.Tensor or None expected)")
            state["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))

    def _forget(self, name: str) -> None:
        """Drop `name` from every registry and the instance dict (it is being re-assigned)."""
        self.__dict__.pop(name, None)
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        self._non_persistent_buffers.discard(name)

    def _check_new_name(self, kind: str, name, registry: dict) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {kind} before Module.__init__() call")
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
        if not name:
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain ".", got "{name}"')
        if hasattr(self, name) and name not in registry:
            raise KeyError(f"attribute '{name}' already exists")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or a None placeholder, for an optional one like a missing bias).

        >>> import eager
        >>> from eager import nn
        >>> layer = nn.Module()
        >>> layer.register_parameter("scale", nn.Parameter(eager.ones(1)))
        >>> [name for name, _ in layer.named_parameters()]
        ['scale']
        """
        self._check_new_name("parameter", name, self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter "
                            f"'{name}' (eager.nn.Parameter or None required)")
        if param is not None and not param.is_leaf:
            raise ValueError(f"Cannot assign non-leaf Tensor to parameter '{name}': it is "
                             "computed from other tensors. Wrap a detached copy instead: "
                             "Parameter(tensor.detach())")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add state that is not trained, such as BatchNorm's running mean.

        Persistent buffers are part of `state_dict()`; all buffers follow `double()`/`float()`.

        >>> import eager
        >>> from eager import nn
        >>> layer = nn.Module()
        >>> layer.register_buffer("steps", eager.tensor(0))
        >>> list(layer.state_dict())
        ['steps']
        """
        self._check_new_name("buffer", name, self._buffers)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer "
                            f"'{name}' (eager.Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under `name` (what attribute assignment does for a Module)."""
        self._check_new_name("module", name, self._modules)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target: str) -> Module:
        """The submodule at a dotted path such as "encoder.layers.0"; "" is the module itself."""
        module = self
        for part in target.split(".") if target else ():
            child = module._modules.get(part)
            if not isinstance(child, Module):
                raise AttributeError(f"{module._get_name()} has no submodule `{part}` (looking "
                                     f"up `{target}`)")
            module = child
        return module

    # -- traversal ------------------------------------------------------------------------------

    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True):
        """(dotted name, module) for this module and every submodule, depth first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            child_prefix = f"{prefix}.{name}" if prefix else name
            yield from module.named_modules(memo, child_prefix, remove_duplicate)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        """(name, module) for the direct children, each module once."""
        seen = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self):
        for _, module in self.named_children():
            yield module

    def _named_members(self, registry: str, prefix: str, recurse: bool, remove_duplicate: bool):
        seen = set()
        owners = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                  if recurse else [(prefix, self)])
        for owner_prefix, owner in owners:
            for name, value in getattr(owner, registry).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{owner_prefix}.{name}" if owner_prefix else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True):
        """(dotted name, Parameter) pairs; a parameter shared by two layers comes once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True):
        """The parameters, in registration order, for an optimizer to update."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True):
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True):
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    # -- state ----------------------------------------------------------------------------------

    def state_dict(self, *, destination=None, prefix: str = "", keep_vars: bool = False):
        """An OrderedDict of dotted name -> Tensor: every parameter and persistent buffer.

        Values share memory with the module's tensors, detached from autograd unless
        `keep_vars=True`; copy them (or save them) to keep a snapshot.

        >>> import eager
        >>> from eager import nn
        >>> list(nn.BatchNorm1d(3).state_dict())
        ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
        """
        if destination is None:
            destination = OrderedDict()
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent_buffers:
                destination[prefix + name] = buffer if keep_vars else buffer.detach()
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=f"{prefix}{name}.",
                                  keep_vars=keep_vars)
        return destination

    def load_state_dict(self, state_dict: Mapping, strict: bool = True):
        """Copy values from `state_dict` into this module's parameters and buffers.

        Everything is checked before anything is copied: with `strict=True`, missing or
        unexpected keys raise; a shape mismatch always raises. On error the module is left
        unchanged. Returns the (missing_keys, unexpected_keys) that were tolerated.

        >>> import eager
        >>> from eager import nn
        >>> source, target = nn.Linear(2, 2), nn.Linear(2, 2)
        >>> target.load_state_dict(source.state_dict())
        <All keys matched successfully>
        >>> target.weight.tolist() == source.weight.tolist()
        True
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        targets = self.state_dict(keep_vars=True)
        missing = [key for key in targets if key not in state_dict]
        unexpected = [key for key in state_dict if key not in targets]
        errors, copies = [], []
        for key, target in targets.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            array = _as_array(value)
            if array.dtype.kind not in "biuf":
                errors.append(f"value for {key}: expected a numeric tensor, got "
                              f"{type(value).__name__} of dtype {array.dtype}.")
            elif array.shape != target.shape:
                errors.append(f"size mismatch for {key}: copying a param with shape "
                              f"{array.shape} from checkpoint, the shape in current model is "
                              f"{target.shape}.")
            else:
                # A Tensor is copied as one: copy_ brings it from whichever device it is on.
                copies.append((target, value if isinstance(value, Tensor) else array))
        if strict:
            if unexpected:
                errors.insert(0, f"Unexpected key(s) in state_dict: {_quoted(unexpected)}.")
            if missing:
                errors.insert(0, f"Missing key(s) in state_dict: {_quoted(missing)}.")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {self._get_name()}:\n\t"
                               + "\n\t".join(errors))
        with no_grad():
            for target, array in copies:
                target.copy_(array)
        return _IncompatibleKeys(missing, unexpected)

    # -- modes and gradients ----------------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Set training mode here and in every submodule (Dropout and BatchNorm read it)."""
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be boolean, got {mode!r}")
        self.training = mode
        for module in self.children():
            module.train(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: `train(False)`.

        >>> import eager
        >>> from eager import nn
        >>> model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5)).eval()
        >>> model.training, model[1].training
        (False, False)
        """
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Switch gradient recording on or off for every parameter (to freeze a part)."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's `.grad`: to None (the default), or to zeros."""
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                param.grad = param.grad.detach()
                param.grad.zero_()

    def apply(self, fn) -> Module:
        """Call `fn(module)` on every submodule, children first, then on this module.

        >>> import eager
        >>> from eager import nn
        >>> names = []
        >>> _ = nn.Sequential(nn.Linear(1, 1), nn.ReLU()).apply(
        ...     lambda m: names.append(type(m).__name__))
        >>> names
        ['Linear', 'ReLU', 'Sequential']
        """
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # -- dtype conversion -------------------------------------------------------------------------

    def _cast_floats(self, dtype) -> Module:
        return self._convert(dtypes.as_dtype(dtype), None)

    def _convert(self, dtype, device) -> Module:
        # Parameters keep their identity (an optimizer holding them still sees them); only
        # their data is replaced, as PyTorch's Module._apply does. `dtype` applies to floating
        # point state, `device` (None: stay) to all of it, gradients included.
        def converted(array):
            if dtype is not None and array.dtype.kind == "f" and array.dtype != dtype:
                array = (array.astype(dtype) if type(array) is np.ndarray
                         else F.cast(array, dtype))
            return array if device is None else to_device(array, device)

        for module in self.modules():
            for param in module._parameters.values():
                if param is not None:
                    param._array = converted(param._array)
                    if param.grad is not None:
                        param.grad = Tensor._wrap(converted(param.grad._array), None, None, 0)
            for buffer in module._buffers.values():
                if buffer is not None:
                    buffer._array = converted(buffer._array)
        return self

    def double(self) -> Module:
        """Cast floating point parameters and buffers to float64.

        >>> import eager
        >>> from eager import nn
        >>> nn.Linear(2, 2).double().weight.dtype
        dtype('float64')
        """
        return self._cast_floats(dtypes.float64)

    def float(self) -> Module:
        """Cast floating point parameters and buffers to float32."""
        return self._cast_floats(dtypes.float32)

    def to(self, dtype=None, device=None) -> Module:
        """Move parameters and buffers (and their gradients) to a device and/or cast floating
        point state to a dtype, in place: `to(dtype)`, `to(device)`, `to(device, dtype)`, or
        keywords. Returns the module. A device that cannot be used is a DeviceError, raised
        before anything moves.

        >>> import eager
        >>> from eager import nn
        >>> nn.Linear(2, 2).to("cpu", eager.float64).weight.dtype
        dtype('float64')
        """
        if isinstance(dtype, Device) or (isinstance(dtype, str)
                                         and dtype.partition(":")[0] in ("cpu", "cuda")):
            dtype, device = device, dtype
        if device is not None:
            device = _check_device(device)  # before anything moves
        if dtype is not None:
            dtype = dtypes.as_dtype(dtype)
            if dtype.kind != "f":
                raise TypeError(f"Module.to only accepts floating point dtypes, got {dtype}")
        return self._convert(dtype, device)

    def cpu(self) -> Module:
        """Move parameters and buffers to the CPU, in place; returns the module."""
        return self.to("cpu")

    def cuda(self, device=None) -> Module:
        """Move parameters and buffers to a GPU ('cuda', or an index / device), in place."""
        if device is None:
            device = "cuda"
        elif isinstance(device, int) and not isinstance(device, bool):
            device = f"cuda:{device}"
        return self.to(device)

    # -- hooks ------------------------------------------------------------------------------------

    def register_forward_pre_hook(self, hook, *, prepend: bool = False) -> RemovableHandle:
        """Call `hook(module, args)` before each forward; a non-None result replaces `args`.

        >>> import eager
        >>> from eager import nn
        >>> layer = nn.Identity()
        >>> handle = layer.register_forward_pre_hook(lambda module, args: args[0] * 10)
        >>> layer(eager.ones(1)).tolist()
        [10.0]
        >>> handle.remove()
        >>> layer(eager.ones(1)).tolist()
        [1.0]
        """
        return self._add_hook(self._forward_pre_hooks, hook, prepend)

    def register_forward_hook(self, hook, *, prepend: bool = False) -> RemovableHandle:
        """Call `hook(module, args, output)` after each forward; a non-None result replaces
        the output.

        >>> import eager
        >>> from eager import nn
        >>> shapes = []
        >>> layer = nn.Linear(3, 2)
        >>> with layer.register_forward_hook(lambda m, args, out: shapes.append(out.shape)):
        ...     _ = layer(eager.ones(4, 3))
        >>> _ = layer(eager.ones(4, 3))
        >>> shapes
        [(4, 2)]
        """
        return self._add_hook(self._forward_hooks, hook, prepend)

    @staticmethod
    def _add_hook(hooks: OrderedDict, hook, prepend: bool) -> RemovableHandle:
        if not callable(hook):
            raise TypeError(f"a hook must be callable, got {type(hook).__name__}")
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    # -- printing -------------------------------------------------------------------------------

    def _get_name(self) -> str:
        return type(self).__name__

    def extra_repr(self) -> str:
        """The text inside this module's parentheses in its repr; override in layers."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): {_indent_after_first_line(repr(module), 2)}"
                       for name, module in self._modules.items()]
        lines = extra_lines + child_lines
        if not lines:
            body = ""
        elif len(extra_lines) == 1 and not child_lines:
            body = extra_lines[0]
        else:
            body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{self._get_name()}({body})"
