"""Gradient clipping: `clip_grad_norm_` and `clip_grad_value_`, as in `torch.nn.utils`.

Both rewrite the `.grad` Tensors of the given parameters in place, after checking every
argument and every gradient first, so a bad call changes nothing.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from eager.autograd import no_grad
from eager.devices import host_copy
from eager.tensor import Tensor
from framework import dtypes
from framework.errors import ArgumentError

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Scale the gradients of `parameters` so that their total norm is at most `max_norm`.

    The total norm is the `norm_type`-norm of the vector of the gradients' norms, which is the
    norm of all gradients concatenated: `float("inf")` (or `"inf"`) takes the largest absolute
    value. For `norm_type=0` PyTorch's definition gives an odd total, followed here: each
    gradient's 0-norm counts its non-zero entries, and the total counts the gradients that
    have any. Every gradient is multiplied by
    `min(1, max_norm / (total_norm + 1e-6))`, as in PyTorch (which multiplies even when the
    factor is 1). `parameters` is a Tensor or an iterable of Tensors (a generator such as
    `model.parameters()` is fine); those whose `.grad` is None are skipped.

    Returns the total norm before clipping, as a 0-d Tensor (`tensor(0.)` when no parameter
    has a gradient). With `error_if_nonfinite=True` a NaN or infinite total raises a
    RuntimeError and leaves the gradients as they were; otherwise they are scaled by it (and
    become NaN), as in PyTorch. `foreach=True` raises, as PyTorch does for CPU tensors.
    Unlike PyTorch, a negative or NaN `max_norm` is an error (PyTorch would flip the
    gradients' sign or fill them with NaN).

    >>> import eager
    >>> w = eager.tensor([3.0, 4.0], requires_grad=True)
    >>> (w * w).sum().backward()  # gradient [6, 8], norm 10
    >>> clip_grad_norm_([w], max_norm=5.0).item()
    10.0
    >>> [round(g, 4) for g in w.grad.tolist()]
    [3.0, 4.0]
    """
    params = as_tensor_list(parameters, "clip_grad_norm_")
    max_norm = _limit(max_norm, "max_norm", "clip_grad_norm_")
    norm_type = _norm_type(norm_type)
    _check_foreach(foreach)
    grads = _gradients(params, "clip_grad_norm_")
    if not grads:
        return Tensor(np.array(0.0, dtypes.float32))
    # A GPU's gradients are read through host copies (one transfer each): the total is one
    # number, and the scaling below runs on each gradient's own device.
    norms = [_vector_norm(host_copy(grad._array), norm_type, grad.dtype) for grad in grads]
    norm_dtype = np.result_type(*norms)
    total = _vector_norm(np.array(norms, norm_dtype), norm_type, norm_dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                           "`parameters` is non-finite, so it cannot be clipped. To disable "
                           "this error and scale the gradients by the non-finite norm anyway, "
                           "set `error_if_nonfinite=False`")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        coefficient = np.minimum(norm_dtype.type(max_norm) / (total + norm_dtype.type(1e-6)),
                                 norm_dtype.type(1.0))
    with no_grad():
        for grad in grads:
            grad.mul_(np.asarray(coefficient, grad.dtype))  # a constant: on grad's device
    return Tensor(np.asarray(total, norm_dtype))


def clip_grad_value_(parameters, clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient of `parameters` into `[-clip_value, clip_value]`, in place.

    `parameters` is a Tensor or an iterable of Tensors; those whose `.grad` is None are skipped.
    NaN entries stay NaN. Unlike PyTorch, a negative or NaN `clip_value` is an error (PyTorch
    would set every entry to `-abs(clip_value)`, or to NaN). `foreach=True` raises, as PyTorch
    does for CPU tensors.

    >>> import eager
    >>> w = eager.tensor([1.0, -2.0, 3.0], requires_grad=True)
    >>> (w * w).sum().backward()  # gradient [2, -4, 6]
    >>> clip_grad_value_(w, clip_value=3.0)
    >>> w.grad.tolist()
    [2.0, -3.0, 3.0]
    """
    params = as_tensor_list(parameters, "clip_grad_value_")
    clip_value = _limit(clip_value, "clip_value", "clip_grad_value_")
    _check_foreach(foreach)
    grads = _gradients(params, "clip_grad_value_")
    with no_grad():
        for grad in grads:
            grad.clamp_(min=-clip_value, max=clip_value)


def as_tensor_list(parameters, function: str) -> list:
    """`parameters` as a list of Tensors (a single Tensor, or any iterable, read once)."""
    if isinstance(parameters, Tensor):
        return [parameters]
    try:
        params = list(parameters)
    except TypeError:
        raise TypeError(f"{function}: parameters must be a Tensor or an iterable of Tensors, "
                        f"got {type(parameters).__name__}") from None
    for position, param in enumerate(params):
        if not isinstance(param, Tensor):
            raise TypeError(f"{function}: parameters must be Tensors, but item {position} is "
                            f"a {type(param).__name__}")
    return params


def _gradients(params: list, function: str) -> list:
    """The `.grad` Tensors to rewrite, each checked writable first: no half-applied clipping."""
    grads = [param.grad for param in params if param.grad is not None]
    for grad in grads:
        if not isinstance(grad, Tensor):
            raise TypeError(f"{function}: a parameter's .grad is a {type(grad).__name__}, "
                            "not a Tensor")
        if grad.dtype.kind != "f":
            raise TypeError(f"{function}: gradients must be floating point, got {grad.dtype}")
        if not grad._array.flags.writeable:
            raise RuntimeError(f"{function}: a gradient of shape {grad.shape} is a read-only "
                               "buffer and cannot be changed in place")
    return grads


def _limit(value, name: str, function: str) -> float:
    if isinstance(value, Tensor):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{function}: {name} must be a number, got {value!r}")
    value = float(value)
    if math.isnan(value) or value < 0:
        raise ArgumentError(f"{function}: {name} must be >= 0, got {value}")
    return value


def _norm_type(norm_type) -> float:
    try:
        value = float(norm_type)
    except (TypeError, ValueError):
        raise TypeError(f"norm_type must be a number or 'inf', got {norm_type!r}") from None
    if math.isnan(value):
        raise ArgumentError("norm_type must not be NaN")
    return value


def _check_foreach(foreach) -> None:
    if foreach not in (None, False, True):
        raise TypeError(f"foreach must be None, True or False, got {foreach!r}")
    if foreach:
        raise RuntimeError("foreach=True was passed, but can't use the foreach API on cpu "
                           "tensors")


def _vector_norm(values: np.ndarray, p: float, dtype: np.dtype):
    """The p-norm of all entries of `values` (torch.linalg.vector_norm), as a `dtype` scalar.

    Accumulated in float64 and rounded once, so float32 gradients lose nothing to the sum."""
    flat = np.abs(values.reshape(-1).astype(np.float64))
    if p == math.inf or p == -math.inf:
        if flat.size == 0:
            raise RuntimeError(f"the {p} norm of an empty gradient is undefined (it has no "
                               "entries to take the largest or smallest of)")
        result = flat.max() if p > 0 else flat.min()
    elif p == 0:
        result = float(np.count_nonzero(flat))
    elif p == 1:
        result = flat.sum()
    elif p == 2:
        result = math.sqrt(np.dot(flat, flat))
    else:
        with np.errstate(divide="ignore", over="ignore"):
            result = np.sum(flat ** p) ** (1.0 / p)
    return np.dtype(dtype).type(result)
