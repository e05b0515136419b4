"""Sorting along one axis: sort, and topk (the first k of a sorted order).

Both return the sorted values and the positions they came from (int64). The order is stable:
equal values keep the order they had, so ties list the lower index first, for ascending and
descending orders alike. PyTorch promises this only with `stable=True`; here it always holds,
which also makes topk's choice among tied values deterministic. NaN sorts above every number,
as in PyTorch: last when ascending, first when descending, and topk counts it as the largest.

The kernel views the input as (before axis, along axis, after axis) and sorts each lane on its
own: the lane's values are copied into a contiguous buffer and a permutation of them is merge
sorted (insertion sort for short runs, then bottom-up merges), O(n log n) and stable. A topk
that keeps only a few elements of a long lane inserts each candidate into a short sorted
buffer instead, with the same result. Large inputs share the lanes out over the cores.

The gradient scatters the cotangent of the values back to the positions they came from
(`put_along_axis`), whose own gradient is a gather again.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from framework import dtypes
from framework.device import empty
from framework.errors import ArgumentError
from framework.ops.creation import zeros_like
from framework.ops.dispatch import as_operand, bind
from framework.ops.indexing import put_along_axis
from framework.ops.movement import as_3d
from framework.ops.registry import Op, Spec, register
from framework.shapes import normalize_axis

__all__ = ["sort", "argsort", "topk"]

# Lanes of at most this many elements in all are sorted on one thread.
PARALLEL_MIN_SIZE = 1 << 16
# Runs this short are insertion sorted before the merges begin.
RUN = 16
# topk keeping at most this many of a lane (and under a quarter of it) selects them by
# insertion into a sorted buffer, O(n k) with few moves on most data, instead of sorting all.
SELECT_MAX = 16


@numba.njit(cache=True)
def _before(a, b, descending):
    """Whether a sorts strictly before b. NaN (a != a) is above every number."""
    if descending:
        return a > b or (a != a and b == b)
    return a < b or (b != b and a == a)


@numba.njit(cache=True)
def _stable_argsort(keys, order, scratch, descending):
    """Sort `order` (range(n) on entry) so that keys[order] is in order, ties kept in place."""
    n = order.size
    for start in range(0, n, RUN):
        stop = min(start + RUN, n)
        for j in range(start + 1, stop):
            item = order[j]
            t = j
            while t > start and _before(keys[item], keys[order[t - 1]], descending):
                order[t] = order[t - 1]
                t -= 1
            order[t] = item
    source, target = order, scratch
    width, passes = RUN, 0
    while width < n:
        for start in range(0, n, 2 * width):
            middle, stop = min(start + width, n), min(start + 2 * width, n)
            i, j = start, middle
            for t in range(start, stop):
                # The right run's element goes first only when strictly before: stable.
                if j < stop and (i >= middle or _before(keys[source[j]], keys[source[i]],
                                                        descending)):
                    target[t] = source[j]
                    j += 1
                else:
                    target[t] = source[i]
                    i += 1
        source, target = target, source
        width *= 2
        passes += 1
    if passes % 2:  # the sorted permutation ended in the scratch buffer
        order[:] = scratch


@numba.njit(cache=True)
def _select_first(x, o, i, descending, keys, order, kept):
    """The first `kept` elements of lane (o, i) in stable sorted order, into keys[:kept] and
    their positions into order[:kept]: the same as sorting the lane and keeping its head."""
    filled = 0
    for j in range(x.shape[1]):
        value = x[o, j, i]
        if filled < kept:
            t = filled
            filled += 1
        elif _before(value, keys[kept - 1], descending):
            t = kept - 1  # the last kept element drops out
        else:
            continue  # an equal value comes later than the one kept: stable
        while t > 0 and _before(value, keys[t - 1], descending):
            keys[t] = keys[t - 1]
            order[t] = order[t - 1]
            t -= 1
        keys[t] = value
        order[t] = j


@numba.njit(cache=True)
def _sort_lanes(x, descending, values, indices, first, stop):
    """Sort lanes first..stop-1 of x (outer, n, inner); keep the first values.shape[1]."""
    _, n, inner = x.shape
    kept = values.shape[1]
    keys = np.empty(n, x.dtype)
    order = np.empty(n, np.int64)
    scratch = np.empty(n, np.int64)
    select = kept <= SELECT_MAX and 4 * kept < n
    for lane in range(first, stop):
        o = lane // inner
        i = lane - o * inner
        if select:
            _select_first(x, o, i, descending, keys, order, kept)
            for j in range(kept):
                values[o, j, i] = keys[j]
                indices[o, j, i] = order[j]
            continue
        for j in range(n):
            keys[j] = x[o, j, i]
            order[j] = j
        _stable_argsort(keys, order, scratch, descending)
        for j in range(kept):
            values[o, j, i] = keys[order[j]]
            indices[o, j, i] = order[j]


@numba.njit(parallel=True, cache=True)
def _sort_parallel(x, descending, values, indices, chunks):
    lanes = x.shape[0] * x.shape[2]
    for chunk in prange(chunks):
        _sort_lanes(x, descending, values, indices, chunk * lanes // chunks,
                    (chunk + 1) * lanes // chunks)


class SortAlongAxis(Op):
    """What sort and topk share: the shape rule, the kernel and the gradient. Subclasses say
    how many values they keep (`kept`) and in which direction (`descending_order`)."""

    vjp_needs_outputs = True

    def kept(self, size, shape, axis):
        raise NotImplementedError

    def infer(self, x):
        shape = tuple(x.shape)
        axis = normalize_axis(self.axis, len(shape), self.name)
        size = shape[axis] if shape else 1
        kept = self.kept(size, shape, axis)
        out = shape[:axis] + (kept,) + shape[axis + 1:] if shape else ()
        return Spec(out, x.dtype), Spec(out, dtypes.int64)

    def cpu(self, x):
        axis = self.axis % max(x.ndim, 1)
        lanes = as_3d(x, axis) if x.ndim else x.reshape(1, 1, 1)
        kept = self.kept(lanes.shape[1], x.shape, axis)
        shape = x.shape[:axis] + (kept,) + x.shape[axis + 1:] if x.ndim else ()
        values, indices = empty(shape, x.dtype), empty(shape, dtypes.int64)
        descending = bool(self.descending_order)
        if values.size:
            blocks = (lanes.shape[0], kept, lanes.shape[2])
            value_blocks, index_blocks = values.reshape(blocks), indices.reshape(blocks)
            count = lanes.shape[0] * lanes.shape[2]
            threads = numba.get_num_threads()
            if x.size >= PARALLEL_MIN_SIZE and count >= 2 and threads > 1:
                _sort_parallel(lanes, descending, value_blocks, index_blocks,
                               min(count, 4 * threads))
            else:
                _sort_lanes(lanes, descending, value_blocks, index_blocks, 0, count)
        return values, indices

    def cuda(self, x):
        from framework.kernels import cuda_nn

        shape = tuple(x.shape)
        axis = self.axis % max(len(shape), 1)
        kept = self.kept(shape[axis] if shape else 1, shape, axis)
        return cuda_nn.sort(x, axis, kept, bool(self.descending_order))

    def vjp(self, g, inputs, out):
        (x,) = inputs
        return put_along_axis(zeros_like(x), out[1], g[0], self.axis, accumulate=True)


def _check_flag(op: str, name: str, value) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise ArgumentError(f"{op}: {name} must be a bool, got {value!r}")


@register
class Sort(SortAlongAxis):
    """x sorted along `axis`, ascending or descending, with the positions the values came
    from. Stable; NaN sorts above every number."""

    name = "sort"
    axis: int = -1
    descending: bool = False

    @property
    def descending_order(self) -> bool:
        return self.descending

    def kept(self, size, shape, axis):
        _check_flag(self.name, "descending", self.descending)
        return size


@register
class TopK(SortAlongAxis):
    """The k largest (or smallest) values along `axis`, in order, with their positions: the
    first k of the stable sort. Ties keep the lower index first; NaN counts as the largest."""

    name = "topk"
    k: int = 1
    axis: int = -1
    largest: bool = True

    @property
    def descending_order(self) -> bool:
        return self.largest

    def kept(self, size, shape, axis):
        _check_flag(self.name, "largest", self.largest)
        k = self.k
        if isinstance(k, bool) or not isinstance(k, int):
            raise ArgumentError(f"{self.name}: k must be an int, got {k!r}")
        if k < 0 or (size is not None and k > size) or (not shape and k != 1):
            raise ArgumentError(f"{self.name}: k={k} is out of range for axis {axis} (size "
                                f"{size}) of shape {shape}; k must lie in [0, {size}]"
                                + ("" if shape else " and be 1 for a 0-d value"))
        return k


def _canonical(axis, ndim: int):
    if type(axis) is int and -max(ndim, 1) <= axis < max(ndim, 1):
        return axis % max(ndim, 1)
    return axis


def sort(x, axis: int = -1, descending: bool = False):
    """(values, indices): `x` sorted along `axis`, and where each value came from. Stable:
    equal values keep their order; NaN sorts above every number.

    >>> sort(np.array([2.0, 1.0, 2.0, 0.0]), descending=True)
    (array([2., 2., 1., 0.]), array([0, 2, 1, 3]))
    """
    x = as_operand(x)
    return bind(Sort(_canonical(axis, len(x.shape)), descending), x)


def argsort(x, axis: int = -1, descending: bool = False):
    """The positions that sort `x` along `axis` (int64), stable: ties keep their order.

    >>> argsort(np.array([3, 1, 2]))
    array([1, 2, 0])
    """
    return sort(x, axis, descending)[1]


def topk(x, k: int, axis: int = -1, largest: bool = True):
    """(values, indices) of the `k` largest (or smallest) elements along `axis`, in sorted
    order; among equal values the lower index comes first.

    >>> topk(np.array([1.0, 3.0, 2.0, 3.0]), 2)
    (array([3., 3.]), array([1, 3]))
    """
    x = as_operand(x)
    if isinstance(k, np.integer):
        k = int(k)
    return bind(TopK(k, _canonical(axis, len(x.shape)), largest), x)
