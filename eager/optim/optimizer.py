"""The `Optimizer` base class: parameter groups, per-parameter state, zero_grad, state dicts.

Subclasses declare their hyper-parameters (`defaults`), check them in `_check_group`, and update
the parameters in `step`. Updates work on the raw NumPy buffers, in place and vectorized, and
bump each written tensor's version counter as the in-place Tensor ops do, so autograd still
notices a parameter that changed under a saved graph.
"""

from __future__ import annotations

import copy
import math
from collections import defaultdict

import numpy as np

from eager import autograd
from eager.devices import host_copy
from eager.tensor import Tensor
from framework.device import device_of, to_device
from framework.errors import ArgumentError, DeviceError
from framework.ops import F

__all__ = ["Optimizer"]


class Optimizer:
    """Base class of the optimizers; PyTorch's `torch.optim.Optimizer` API.

    `params` is an iterable of Tensors, or of dicts that each hold a group's `"params"` and any
    hyper-parameters that differ from the defaults for that group:

    >>> import eager
    >>> from eager.optim import SGD
    >>> w, b = eager.ones(2, requires_grad=True), eager.zeros(1, requires_grad=True)
    >>> opt = SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1, momentum=0.9)
    >>> [group["lr"] for group in opt.param_groups]
    [0.1, 0.5]
    """

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got a Tensor; wrap it in a list: [tensor]")
        if isinstance(params, (set, frozenset)):
            raise TypeError(_SET_MESSAGE)
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # -- groups ----------------------------------------------------------------------------------

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyper-parameters (e.g. when unfreezing layers).

        Hyper-parameters missing from the group take the optimizer's defaults.

        >>> import eager
        >>> from eager.optim import SGD
        >>> opt = SGD([eager.ones(1, requires_grad=True)], lr=0.1)
        >>> opt.add_param_group({"params": eager.ones(3, requires_grad=True), "lr": 0.01})
        >>> len(opt.param_groups), opt.param_groups[1]["lr"], opt.param_groups[1]["momentum"]
        (2, 0.01, 0)
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"a parameter group must be a dict, got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("a parameter group needs a 'params' entry")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(_SET_MESSAGE)
        else:
            params = list(params)
        seen = set()
        for param in params:
            if not isinstance(param, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params "
                                f"is {type(param).__name__}")
            if not param.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor (one computed from other "
                                 "tensors); optimize the leaves it came from, or .detach() it "
                                 "and set requires_grad=True")
            if param.dtype.kind != "f":
                raise TypeError(f"optimizer can only optimize floating point Tensors, got one "
                                f"of dtype {param.dtype}")
            if id(param) in seen:
                raise ValueError("a parameter group lists the same Tensor twice")
            seen.add(id(param))
        group = {key: value for key, value in param_group.items() if key != "params"}
        for key, default in self.defaults.items():
            group.setdefault(key, default)
        self._check_group(group)
        in_other_groups = {id(p) for g in self.param_groups for p in g["params"]}
        if seen & in_other_groups:
            raise ValueError("some parameters appear in more than one parameter group")
        group["params"] = params
        self.param_groups.append(group)

    def _check_group(self, group: dict) -> None:
        """Raise a clear error for a hyper-parameter out of range (subclasses extend this)."""
        _check_number(group, "lr", "learning rate")
        _check_number(group, "weight_decay", "weight_decay value")

    # -- gradients -------------------------------------------------------------------------------

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's `.grad`: set it to None (default), or fill it with zeros.

        >>> import eager
        >>> from eager.optim import SGD
        >>> w = eager.ones(2, requires_grad=True)
        >>> (w * 3).sum().backward()
        >>> opt = SGD([w], lr=0.1)
        >>> opt.zero_grad(set_to_none=False); w.grad.tolist()
        [0.0, 0.0]
        >>> opt.zero_grad(); w.grad is None
        True
        """
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                if set_to_none:
                    param.grad = None
                else:
                    if param.grad.grad_fn is not None:
                        param.grad.detach_()
                    else:
                        param.grad.requires_grad = False
                    param.grad.zero_()

    def _gradient(self, param: Tensor) -> np.ndarray:
        """The gradient buffer of `param` (checked by `_check_gradients` before the step)."""
        return param.grad._array

    def _check_gradients(self) -> None:
        """Check every parameter's `.grad` before any parameter changes: a step that fails
        on its fifth parameter must not have updated the first four (nor their state)."""
        for group_index, group in enumerate(self.param_groups):
            for index, param in enumerate(group["params"]):
                grad = param.grad
                if grad is None:
                    continue
                where = f"parameter {index} of parameter group {group_index}"
                if not isinstance(grad, Tensor):
                    raise TypeError(f"{where} has a .grad of type {type(grad).__name__}; it "
                                    f"must be a Tensor (or None)")
                if grad.shape != param.shape:
                    raise RuntimeError(f"{where}: a parameter of shape {param.shape} has a "
                                       f"gradient of shape {grad.shape}; .grad must match its "
                                       f"tensor. No parameter was updated.")
                if grad.device != param.device:
                    raise DeviceError(f"{where} is on {param.device} but its gradient is on "
                                      f"{grad.device}; they must share a device. No parameter "
                                      "was updated.")
                if on_device(param._array) and not self.updates_on_device:
                    raise DeviceError(f"{type(self).__name__} cannot update parameters on "
                                      f"{param.device} ({where} is there); the optimizers of "
                                      "eager.optim can. No parameter was updated.")

    def _evaluate(self, closure):
        """Run `closure` (which recomputes the loss and calls backward) with grad enabled."""
        if closure is None:
            return None
        with autograd.enable_grad():
            return closure()

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns `closure()` if given."""
        loss = self._evaluate(closure)
        self._check_gradients()
        with autograd.no_grad():
            for group in self.param_groups:
                self._update_group(group)
        return loss

    # Whether `_update_group` updates parameters that live on a GPU (as ops there).
    updates_on_device = False

    def _update_group(self, group: dict) -> None:
        """The update rule of one parameter group (each optimizer's own)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _update_group()")

    # -- state dicts -----------------------------------------------------------------------------

    def state_dict(self) -> dict:
        """{'state': {index: {...}}, 'param_groups': [{hyper-parameters, 'params': [index]}]}.

        Parameters are numbered in order through all groups, as in PyTorch. Unlike PyTorch's,
        the returned state is a snapshot (copies), so later steps do not change it.

        >>> import eager
        >>> from eager.optim import SGD
        >>> w = eager.ones(2, requires_grad=True)
        >>> opt = SGD([w], lr=0.1, momentum=0.9)
        >>> (w * 3).sum().backward(); opt.step()
        >>> sd = opt.state_dict()
        >>> sd["state"][0]["momentum_buffer"].tolist(), sd["param_groups"][0]["params"]
        ([3.0, 3.0], [0])
        """
        index_of = {}
        packed_groups = []
        for group in self.param_groups:
            packed = {key: copy.deepcopy(value) for key, value in group.items()
                      if key != "params"}
            packed["params"] = []
            for param in group["params"]:
                index_of.setdefault(id(param), len(index_of))
                packed["params"].append(index_of[id(param)])
            packed_groups.append(packed)
        packed_state = {}
        for param, state in self.state.items():
            if state and id(param) in index_of:
                packed_state[index_of[id(param)]] = {key: _snapshot(value)
                                                     for key, value in state.items()}
        return {"state": packed_state, "param_groups": packed_groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyper-parameters and state saved by `state_dict` (from an optimizer of the
        same type built over the same parameters). Everything is checked before anything is
        changed; state arrays are copied and cast to their parameter's dtype.
        """
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            raise ValueError("an optimizer state dict is a dict with exactly the keys 'state' "
                             "and 'param_groups'")
        saved_groups = state_dict["param_groups"]
        saved_state = state_dict["state"]
        if not isinstance(saved_groups, (list, tuple)) or not isinstance(saved_state, dict):
            raise ValueError("an optimizer state dict needs a list 'param_groups' and a dict "
                             "'state'")
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, but "
                             f"the optimizer has {len(self.param_groups)}")
        param_of = {}
        new_groups = []
        for number, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if not isinstance(saved, dict) or "params" not in saved:
                raise ValueError(f"saved parameter group {number} is not a dict with 'params'")
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"loaded state dict contains a parameter group ({number}) of "
                                 f"{len(saved['params'])} parameters, which doesn't match the "
                                 f"size of optimizer's group ({len(group['params'])})")
            for index, param in zip(saved["params"], group["params"]):
                param_of[index] = param
            restored = {key: copy.deepcopy(value) for key, value in saved.items()
                        if key != "params"}
            for key, default in self.defaults.items():
                restored.setdefault(key, default)
            self._check_group(restored)
            restored["params"] = group["params"]
            new_groups.append(restored)
        new_state: defaultdict = defaultdict(dict)
        for index, state in saved_state.items():
            if index not in param_of:
                raise ValueError(f"loaded state dict has state for parameter {index!r}, which "
                                 "no parameter group lists")
            if not isinstance(state, dict):
                raise ValueError(f"the state of parameter {index!r} is not a dict")
            param = param_of[index]
            new_state[param] = {key: _restore(key, value, param, index)
                                for key, value in state.items()}
        self.param_groups = new_groups
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for number, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {number}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


_SET_MESSAGE = ("optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs; use a list instead")


def _check_number(group: dict, key: str, description: str, low: float = 0.0,
                  high: float | None = None, high_inclusive: bool = True) -> None:
    """group[key] must be a real number in [low, high] (or [low, high))."""
    value = group[key]
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ArgumentError(f"Invalid {description}: {value!r} (expected a number)")
    if math.isnan(value) or value < low or (high is not None and (
            value > high or (value == high and not high_inclusive))):
        bound = "" if high is None else (f" and <= {high}" if high_inclusive else f" and < {high}")
        raise ArgumentError(f"Invalid {description}: {value} (must be >= {low}{bound})")


def _snapshot(value):
    if isinstance(value, Tensor):
        return value.clone().detach()  # a copy on the tensor's own device
    return copy.deepcopy(value)


def _restore(key: str, value, param: Tensor, index):
    """A saved state value as this optimizer's own: arrays copied into fresh Tensors, on the
    parameter's device (the step count stays on the CPU), as PyTorch's load_state_dict does."""
    if isinstance(value, Tensor):
        value = host_copy(value._array)
    if not isinstance(value, np.ndarray):
        if key == "step" and isinstance(value, (int, float, np.number)):
            return Tensor(np.array(value, np.float32))
        return copy.deepcopy(value)
    if key == "step":
        # PyTorch keeps the step count as a float32 scalar tensor.
        if value.size != 1:
            raise ValueError(f"the saved step of parameter {index!r} has shape {value.shape}, "
                             "expected a scalar")
        return Tensor(np.array(value.reshape(()), np.float32))
    if value.shape != param.shape:
        raise ValueError(f"the saved {key!r} of parameter {index!r} has shape {value.shape}, but "
                         f"the parameter has shape {param.shape}")
    dtype = param.dtype if value.dtype.kind == "f" else value.dtype
    restored = Tensor(np.array(value, dtype=dtype, order="C"))
    return restored if not on_device(param._array) else Tensor._wrap(
        to_device(restored._array, param.device), None, None, 0)


def state_view(tensor: Tensor) -> np.ndarray:
    """A flat view of a state tensor's buffer, for the update kernels to write through."""
    if not tensor._array.flags.c_contiguous or not tensor._array.flags.writeable:
        tensor._array = np.array(tensor._array, order="C")
    return tensor._array.reshape(-1)


def bump_version(tensor: Tensor) -> None:
    """Count an in-place write to `tensor`'s buffer, as the in-place Tensor ops do."""
    tensor._version[0] += 1


def on_device(array) -> bool:
    """Whether a parameter's buffer lives on a GPU: its update then runs there, as ops."""
    return type(array) is not np.ndarray


def state_zeros(like, fill: float = 0.0) -> Tensor:
    """A state tensor filled with `fill` (zeros by default), with the shape and dtype of the
    parameter buffer `like`, on its device."""
    values = np.full(like.shape, fill, like.dtype)
    if not on_device(like):
        return Tensor(values)
    return Tensor._wrap(to_device(values, device_of(like)), None, None, 0)


def state_beside(state: dict, key: str, like) -> Tensor:
    """`state[key]`, first moved to the device of the parameter buffer `like` where it lives
    on another (state made before `Module.to` moved the parameter, as Adagrad's is)."""
    tensor = state[key]
    if device_of(tensor._array) != device_of(like):
        tensor = state[key] = Tensor._wrap(to_device(host_copy(tensor._array),
                                                     device_of(like)), None, None, 0)
    return tensor


def device_gradient(param: Tensor, maximize: bool):
    """`param`'s gradient on its device, in its dtype, negated for `maximize`."""
    grad = param.grad._array
    if grad.dtype != param._array.dtype:
        grad = F.cast(grad, param._array.dtype)
    return F.neg(grad) if maximize else grad


def write_on_device(tensor: Tensor, values) -> None:
    """Overwrite `tensor`'s device buffer with `values` (same shape, same device), in place:
    whoever holds the tensor, or a view of it, sees the update, as on the CPU."""
    if not values.is_c_contiguous():  # (a .grad set to a view) a copy moves one block
        values = F.contiguous_copy(values)
    if values.size:
        tensor._array.copy_to_device(values)
