"""Ops that make values from attributes: filled arrays (zeros, ones, full)."""

from __future__ import annotations

import numba
import numpy as np

from framework import dtypes
from framework.device import empty
from framework.ops.dispatch import as_operand, bind
from framework.ops.registry import Op, Spec, register
from framework.shapes import as_shape

__all__ = ["full", "zeros", "ones", "full_like", "zeros_like", "ones_like"]


@numba.njit(cache=True)
def _fill(out, value):
    for i in range(out.size):
        out[i] = value


def _filled(shape, dtype, value):
    out = empty(shape, dtype)
    _fill(out.reshape(-1), out.dtype.type(value))
    return out


@register
class Full(Op):
    """A new array of `shape` filled with `value`."""

    name = "full"
    shape: tuple = ()
    value: float = 0.0
    dtype: np.dtype = dtypes.float32
    no_gradient = "no inputs"

    def infer(self):
        return Spec(as_shape(self.shape), self.dtype)

    def cpu(self):
        return _filled(self.shape, self.dtype, self.value)

    def cuda(self):
        from framework.kernels import cuda_nn

        return cuda_nn.full(self.shape, self.dtype, self.value)


@register
class FullLike(Op):
    """An array shaped like the input, filled with `value` (shape may be known only at run)."""

    name = "full_like"
    value: float = 0.0
    dtype: np.dtype | None = None
    no_gradient = "the output does not depend on the input's values"
    reads_input_values = False

    def infer(self, x):
        return Spec(x.shape, self.dtype or x.dtype)

    def cpu(self, x):
        return _filled(x.shape, self.dtype or x.dtype, self.value)

    def cuda(self, x):
        from framework.kernels import cuda_nn

        return cuda_nn.full(x.shape, self.dtype or x.dtype, self.value)


def full(shape, value, dtype=None):
    """A new array of `shape` filled with `value` (dtype from the value when not given).

    >>> full((2,), 3.0)
    array([3., 3.], dtype=float32)
    """
    dtype = dtypes.as_dtype(dtype) if dtype is not None else dtypes.result_type(value)
    return bind(Full(as_shape(shape), value, dtype))


def zeros(shape, dtype=dtypes.float32):
    return full(shape, 0, dtype)


def ones(shape, dtype=dtypes.float32):
    return full(shape, 1, dtype)


def full_like(x, value, dtype=None):
    return bind(FullLike(value, None if dtype is None else dtypes.as_dtype(dtype)), as_operand(x))


def zeros_like(x, dtype=None):
    return full_like(x, 0, dtype)


def ones_like(x, dtype=None):
    return full_like(x, 1, dtype)
