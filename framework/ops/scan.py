"""Scans along one axis: running sums (cumsum) and running products (cumprod).

The kernel views the input as (before axis, along axis, after axis) and walks the axis once,
keeping one accumulator per lane: float64 for floating inputs, as PyTorch's CPU kernels do (a
float32 running sum of many terms drifts), int64 for integers. Integer and bool inputs become
int64 first, as in NumPy and PyTorch, so their results wrap only past int64's range.

Gradients. cumsum's is the running sum of the cotangent taken from the far end (the same op
with `reverse`). cumprod's needs care where x holds zeros: the textbook rule, the reversed
running sum of g * out divided by x, divides by zero there. `_cumprod_gradient` divides only
by non-zero elements and gives the first zero of each lane its exact gradient, the reversed
running sum of g times the products that skip that zero; every element after it gets 0.
Both rules are written with the neutral functions, so higher orders follow.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from framework import dtypes
from framework.device import empty
from framework.ops.dispatch import as_operand, bind
from framework.ops.elementwise import cast, div, eq, mul, where
from framework.ops.movement import as_3d
from framework.ops.registry import Op, Spec, register, require_dtype
from framework.shapes import normalize_axis

__all__ = ["cumsum", "cumprod"]

# The functions turn bool and int32 into int64 first: the kernel keeps int64 accumulators.
_SCANNED = (dtypes.int64, dtypes.float32, dtypes.float64)
# Below this many elements a scan runs on one thread.
PARALLEL_MIN_SIZE = 1 << 18


@numba.njit(cache=True)
def _scan_rows(x, out, start, reverse, multiply, first, stop):
    """Scan rows first..stop-1 of x (outer, n, inner) along n, from `start`."""
    _, n, inner = x.shape
    acc = np.full(inner, start)
    for o in range(first, stop):
        acc[:] = start
        for step in range(n):
            j = n - 1 - step if reverse else step
            for k in range(inner):
                if multiply:
                    acc[k] *= x[o, j, k]
                else:
                    acc[k] += x[o, j, k]
                out[o, j, k] = acc[k]


@numba.njit(parallel=True, cache=True)
def _scan_parallel(x, out, start, reverse, multiply, chunks):
    outer = x.shape[0]
    for chunk in prange(chunks):
        _scan_rows(x, out, start, reverse, multiply, chunk * outer // chunks,
                   (chunk + 1) * outer // chunks)


class Scan(Op):
    """What cumsum and cumprod share: the shape rule and the kernel call."""

    multiply = False

    def infer(self, x):
        require_dtype(self.name, x, _SCANNED)
        normalize_axis(self.axis, len(x.shape), self.name)
        return Spec(tuple(x.shape), x.dtype)

    def cpu(self, x):
        out = empty(x.shape, x.dtype)
        if not out.size:
            return out
        lanes = as_3d(x, self.axis % x.ndim) if x.ndim else x.reshape(1, 1, 1)
        start = (np.float64 if x.dtype.kind == "f" else np.int64)(1 if self.multiply else 0)
        target = out.reshape(lanes.shape)
        reverse = bool(getattr(self, "reverse", False))
        threads = numba.get_num_threads()
        if out.size >= PARALLEL_MIN_SIZE and lanes.shape[0] >= 2 and threads > 1:
            _scan_parallel(lanes, target, start, reverse, self.multiply,
                           min(lanes.shape[0], 4 * threads))
        else:
            _scan_rows(lanes, target, start, reverse, self.multiply, 0, lanes.shape[0])
        return out

    def cuda(self, x):
        from framework.kernels import cuda_nn

        axis = self.axis % x.ndim if x.ndim else 0
        return cuda_nn.scan(x, axis, bool(getattr(self, "reverse", False)), self.multiply)


@register
class CumSum(Scan):
    """Running sums along `axis`: out[..., j, ...] is the sum of x[..., :j + 1, ...], or of
    x[..., j:, ...] with `reverse`."""

    name = "cumsum"
    axis: int = 0
    reverse: bool = False
    vjp_needs_inputs = False

    def vjp(self, g, inputs, out):
        return cumsum(g, self.axis, reverse=not self.reverse)


@register
class CumProd(Scan):
    """Running products along `axis`: out[..., j, ...] is the product of x[..., :j + 1, ...]."""

    name = "cumprod"
    axis: int = 0
    multiply = True
    vjp_needs_outputs = True

    def vjp(self, g, inputs, out):
        return _cumprod_gradient(g, inputs[0], out, self.axis)


def _cumprod_gradient(g, x, out, axis):
    """d/dx_j of sum_i g_i out_i, which is sum over i >= j of g_i times the product of
    x_0..x_i without x_j. For x_j != 0 that is reversed_cumsum(g * out)_j / x_j. After a lane's
    first zero every such product holds that zero, so the quotient's numerator is 0 and x_j
    is replaced by 1 in the denominator. At the first zero itself the products that skip it
    are the running products of x with that zero made 1.

    Exact to first order everywhere. Its own gradient (second order) is exact where a lane
    holds at most one zero: at a later zero this rule gives the right value, 0, but through a
    product that holds that zero, whose derivative is not the gradient's."""
    zero = eq(x, 0)
    ordinary = div(cumsum(mul(g, out), axis, reverse=True), where(zero, 1, x))
    first_zero = where(zero, eq(cumsum(zero, axis), 1), False)
    skipping = cumprod(where(first_zero, 1, x), axis)
    at_first_zero = cumsum(mul(g, skipping), axis, reverse=True)
    return where(first_zero, at_first_zero, ordinary)


def _scan_operand(x):
    x = as_operand(x)
    if x.dtype == dtypes.bool_ or x.dtype == dtypes.int32:
        return cast(x, dtypes.int64)  # as np.cumsum and torch.cumsum do
    return x


def _canonical(axis, ndim: int):
    if type(axis) is int and -max(ndim, 1) <= axis < max(ndim, 1):
        return axis % max(ndim, 1)
    return axis


def cumsum(x, axis: int, reverse: bool = False):
    """Running sums of `x` along `axis` (from the far end with `reverse`, as tf.cumsum's
    reverse=True). Integers and bool sum as int64; float32 accumulates in float64.

    >>> cumsum(np.array([[1, 2], [3, 4]]), 1)
    array([[1, 3],
           [3, 7]])
    """
    x = _scan_operand(x)
    return bind(CumSum(_canonical(axis, len(x.shape)), bool(reverse)), x)


def cumprod(x, axis: int):
    """Running products of `x` along `axis`. Integers and bool multiply as int64.

    >>> cumprod(np.array([1.0, 2.0, 0.0, 3.0]), 0)
    array([1., 2., 0., 0.])
    """
    x = _scan_operand(x)
    return bind(CumProd(_canonical(axis, len(x.shape))), x)
