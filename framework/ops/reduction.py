"""Reductions over any set of axes, with keepdims.

Every reduction shares one layout step: the reduced axes are moved last and the input is viewed
as a 2-D (kept, reduced) array, so each kernel is a simple row loop, parallel over rows.
"""

from __future__ import annotations

import dataclasses

import numba
import numpy as np
from numba import prange

from framework import dtypes
from framework.device import empty
from framework.ops.dispatch import as_operand, bind
from framework.ops.registry import Op, Spec, register, require_dtype
from framework.shapes import normalize_axes, reduced_shape

__all__ = ["sum"]


def as_rows(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """View `x` as (kept elements, reduced elements), copying only if the layout requires."""
    kept = [a for a in range(x.ndim) if a not in axes]
    outer = int(np.prod([x.shape[a] for a in kept]))
    inner = int(np.prod([x.shape[a] for a in axes]))
    moved = np.transpose(x, kept + list(axes))
    return np.ascontiguousarray(moved).reshape(outer, inner)


@dataclasses.dataclass(frozen=True)
class Reduction(Op):
    """Shared attributes and shape rule: `axis` (None = all) and `keepdims`."""

    axis: tuple | None = None
    keepdims: bool = False

    def infer(self, x):
        require_dtype(self.name, x, dtypes.NUMERIC + (dtypes.bool_,))
        axes = normalize_axes(self.axis, len(x.shape), self.name)
        return Spec(reduced_shape(x.shape, axes, self.keepdims), self._out_dtype(x.dtype))

    def _out_dtype(self, dtype):
        return dtype

    def axes_for(self, ndim: int) -> tuple[int, ...]:
        return normalize_axes(self.axis, ndim, self.name)


@numba.njit(parallel=True, cache=True)
def _sum_rows(rows, out):
    for r in prange(rows.shape[0]):
        total = out.dtype.type(0)
        for c in range(rows.shape[1]):
            total += rows[r, c]
        out[r] = total


@register
class Sum(Reduction):
    name = "sum"
    vjp_needs_inputs = False

    def _out_dtype(self, dtype):
        return dtypes.int64 if dtype.kind in "bi" else dtype

    def cpu(self, x):
        axes = self.axes_for(x.ndim)
        out = empty(reduced_shape(x.shape, axes, self.keepdims), self._out_dtype(x.dtype))
        rows = as_rows(x.astype(out.dtype, copy=False), axes)
        _sum_rows(rows, out.reshape(-1))
        return out

    def vjp(self, g, inputs, out):
        (x,) = inputs
        return F.expand_to(restore_reduced_axes(g, x.shape, self.axis, self.keepdims), x)


def restore_reduced_axes(g, in_shape, axis, keepdims):
    """Reshape a reduction's gradient so it broadcasts against the input (keepdims form)."""
    if keepdims:
        return g
    axes = normalize_axes(axis, len(in_shape))
    kept = tuple(1 if i in axes else -1 if d is None else d for i, d in enumerate(in_shape))
    if sum_unknown(kept) > 1:
        kept = tuple(1 if i in axes else -1 for i in range(len(in_shape)))
    return F.reshape(g, kept)


def sum_unknown(shape) -> int:
    return len([d for d in shape if d == -1])


def sum(x, axis=None, keepdims=False):
    """Sum over `axis` (an int, a tuple, or None for all).

    >>> sum(np.ones((2, 3), np.float32), axis=1)
    array([3., 3.], dtype=float32)
    """
    axis = (axis,) if isinstance(axis, int) else None if axis is None else tuple(axis)
    return bind(Sum(axis, keepdims), as_operand(x))


from framework.ops import functions as F  # noqa: E402
