"""Indexing along one axis: PyTorch's gather and scatter, nonzero, and the reorderings that basic
indexing builds (flip, roll, tril / triu).

`take_along_axis(x, indices, axis)` reads, for every position of `indices`, the element of `x`
at that position with its coordinate along `axis` replaced by the index found there: PyTorch's
`gather`, NumPy's take_along_axis without broadcasting. `put_along_axis(x, indices, values,
axis)` is its counterpart, a copy of `x` with each value written (or, with `accumulate`, added)
at the place its index names: PyTorch's `scatter` and `scatter_add`. As in PyTorch, `indices`
has the rank of `x` and may be shorter than `x` along the other axes; only the leading corner
it covers takes part. Each op's gradient is the other, so gradients of every order follow.

Both kernels view their operands as (before axis, along axis, after axis), as gather does.
Index values are checked in the kernel entry point, before any numba loop (numba does not
bounds-check): a value outside [0, size) raises `IndexValueError` naming the value, its position
in `indices` and the dimension it missed. Negative indices are refused, as PyTorch refuses them.

`nonzero` lists the coordinates of the non-zero elements, so its length is known only when it
runs. flip, roll, tril and triu are composites of existing primitives: a slice with step -1,
two slices joined in the other order, a `where` with a mask that depends on the shape alone.
"""

from __future__ import annotations

import math
import operator

import numba
import numpy as np
from numba import prange

from framework import dtypes
from framework.device import empty
from framework.errors import ArgumentError, IndexValueError, ShapeError
from framework.ops.creation import zeros_like
from framework.ops.dispatch import as_operand, bind, promote
from framework.ops.elementwise import where
from framework.ops.movement import (
    PARALLEL_MIN_SIZE,
    _bits,
    _first_outside,
    as_3d,
    concat,
    contiguous,
    contiguous_copy,
    copy_into,
    getitem,
    reshape,
    view_or_copy,
)
from framework.ops.registry import Op, Spec, register, require_dtype, require_same_dtype
from framework.shapes import normalize_axis

__all__ = ["take_along_axis", "put_along_axis", "nonzero", "flip", "roll", "tril", "triu"]


# ---------------------------------------------------------------------------------------------
# Shared checks


def _fit_indices(op: str, axis, x_shape, indices_shape) -> int:
    """Refuse indices that do not fit x as PyTorch's gather and scatter require; the axis."""
    x_shape, indices_shape = tuple(x_shape), tuple(indices_shape)
    if len(indices_shape) != len(x_shape):
        raise ShapeError(f"{op}: indices of shape {indices_shape} must have as many dimensions "
                         f"as the input of shape {x_shape}")
    axis = normalize_axis(axis, len(x_shape), op)
    for d, (size, covered) in enumerate(zip(x_shape, indices_shape)):
        if d != axis and size is not None and covered is not None and covered > size:
            raise ShapeError(f"{op}: indices of shape {indices_shape} are larger than the input "
                             f"of shape {x_shape} along axis {d}; only axis {axis} may differ")
    return axis


def _check_index_values(op: str, indices: np.ndarray, flat: np.ndarray, axis: int,
                        shape: tuple) -> None:
    """Refuse, before any kernel, an index outside [0, size of `axis`), naming it."""
    size = shape[axis] if shape else 1
    bad = _first_outside(flat, 0, size) if flat.size else -1
    if bad < 0:
        return
    value = int(flat[bad])
    where_ = tuple(int(i) for i in np.unravel_index(bad, indices.shape)) if indices.ndim else ()
    note = "; negative indices are not wrapped (as in PyTorch)" if value < 0 else ""
    raise IndexValueError(f"{op}: index {value} at position {where_} of the indices is out of "
                          f"range for axis {axis} (size {size}) of shape {shape}{note}")


def _check_device_index_values(op: str, indices, axis: int, shape: tuple) -> None:
    """`_check_index_values` for indices on a CUDA device: scanned there, and described by the
    same error, from a host copy, when one is out of range."""
    from framework.kernels import cuda_nn

    if cuda_nn.first_outside(indices, shape[axis] if shape else 1) >= 0:
        host = indices.copy_to_host()
        _check_index_values(op, host, host.reshape(-1), axis, shape)
        raise AssertionError(f"{op}: an index the device found out of range passed the host "
                             "check")


def _corner(x: np.ndarray, covered: tuple, axis: int) -> np.ndarray:
    """The leading corner of x that indices of shape `covered` address (a view)."""
    if all(d == axis or n == size for d, (n, size) in enumerate(zip(covered, x.shape))):
        return x
    return x[tuple(slice(None) if d == axis else slice(0, n) for d, n in enumerate(covered))]


def _canonical(axis, ndim: int):
    """A valid axis made non-negative, so equal ops hash equal (a 0-d value has axis 0)."""
    if type(axis) is int and -max(ndim, 1) <= axis < max(ndim, 1):
        return axis % max(ndim, 1)
    return axis  # for the shape rule to refuse


# ---------------------------------------------------------------------------------------------
# take_along_axis (PyTorch's gather)


@numba.njit(cache=True)
def _take_serial(x, indices, out):
    outer, count, inner = out.shape
    for o in range(outer):
        for j in range(count):
            for k in range(inner):
                out[o, j, k] = x[o, indices[o, j, k], k]


@numba.njit(parallel=True, cache=True)
def _take_parallel(x, indices, out):
    outer, count, inner = out.shape
    for row in prange(outer * count):
        o = row // count
        j = row - o * count
        for k in range(inner):
            out[o, j, k] = x[o, indices[o, j, k], k]


@register
class TakeAlongAxis(Op):
    """out[p] = x[p with its coordinate along `axis` replaced by indices[p]], for every
    position p of `indices` (PyTorch's gather). The result has the indices' shape."""

    name = "take_along_axis"
    axis: int = 0

    def infer(self, x, indices):
        require_dtype(self.name, indices, dtypes.INTS, "indices")
        _fit_indices(self.name, self.axis, x.shape, indices.shape)
        return Spec(tuple(indices.shape), x.dtype)

    def cpu(self, x, indices):
        if x.ndim == 0:  # one element: the 1-d case of length 1
            return self.cpu(x.reshape(1), indices.reshape(1)).reshape(())
        axis = self.axis % x.ndim
        flat = contiguous(indices).reshape(-1)
        _check_index_values(self.name, indices, flat, axis, x.shape)
        out = empty(indices.shape, x.dtype)
        if out.size:
            source = _bits(as_3d(_corner(x, indices.shape, axis), axis))
            index = flat.reshape(source.shape[0], indices.shape[axis], source.shape[2])
            kernel = _take_parallel if out.size >= PARALLEL_MIN_SIZE else _take_serial
            kernel(source, index, _bits(out).reshape(index.shape))
        return out

    def cuda(self, x, indices):
        from framework.kernels import cuda_nn

        if x.ndim == 0:  # one element: the 1-d case of length 1
            return self.cuda(x.reshape((1,)), indices.reshape((1,))).reshape(())
        axis = self.axis % x.ndim
        _check_device_index_values(self.name, indices, axis, tuple(x.shape))
        return cuda_nn.take_along_axis(x, indices, axis)

    def vjp(self, g, inputs, out):
        x, indices = inputs
        return put_along_axis(zeros_like(x), indices, g, self.axis, accumulate=True), None


def take_along_axis(x, indices, axis: int):
    """For each position of `indices`, the element of `x` there with its coordinate along
    `axis` replaced by the index: PyTorch's `gather(x, axis, indices)`.

    `indices` (int32 or int64) has x's rank and is no larger than x along the other axes;
    every value lies in [0, x.shape[axis]), else IndexValueError names it.

    >>> take_along_axis(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1, 1], [0, 1]]), 1)
    array([[2., 2.],
           [3., 4.]])
    """
    x = as_operand(x)
    return bind(TakeAlongAxis(_canonical(axis, len(x.shape))), x, as_operand(indices))


# ---------------------------------------------------------------------------------------------
# put_along_axis (PyTorch's scatter and scatter_add)


@numba.njit(cache=True)
def _put_serial(out, indices, values, accumulate):
    outer, count, inner = values.shape
    for o in range(outer):
        for j in range(count):
            for k in range(inner):
                if accumulate:
                    out[o, indices[o, j, k], k] += values[o, j, k]
                else:
                    out[o, indices[o, j, k], k] = values[o, j, k]


@numba.njit(parallel=True, cache=True)
def _put_parallel(out, indices, values, accumulate):
    # Each task owns one lane (o, k) of the output and walks j in order, so duplicate indices
    # never race, and the result is the serial loop's: sums in index order, the last write wins.
    outer, count, inner = values.shape
    for lane in prange(outer * inner):
        o = lane // inner
        k = lane - o * inner
        for j in range(count):
            if accumulate:
                out[o, indices[o, j, k], k] += values[o, j, k]
            else:
                out[o, indices[o, j, k], k] = values[o, j, k]


@register
class PutAlongAxis(Op):
    """A copy of x with values[p] written (or added, with `accumulate`) at position p of
    `indices` with its coordinate along `axis` replaced by indices[p] (PyTorch's scatter and
    scatter_add). `values` has the indices' shape. Where indices repeat, writes keep the last
    value in C order and sums add in that order, so results are deterministic."""

    name = "put_along_axis"
    axis: int = 0
    accumulate: bool = False

    def infer(self, x, indices, values):
        require_dtype(self.name, indices, dtypes.INTS, "indices")
        if self.accumulate:
            require_dtype(self.name, x, dtypes.NUMERIC, "input")
        require_same_dtype(self.name, x, values)
        _fit_indices(self.name, self.axis, x.shape, indices.shape)
        if len(values.shape) != len(indices.shape) or any(
                a is not None and b is not None and a != b
                for a, b in zip(values.shape, indices.shape)):
            raise ShapeError(f"{self.name}: values of shape {tuple(values.shape)} must have the "
                             f"shape of the indices, {tuple(indices.shape)}")
        return Spec(tuple(x.shape), x.dtype)

    def cpu(self, x, indices, values):
        if x.ndim == 0:
            return self.cpu(x.reshape(1), indices.reshape(1), values.reshape(1)).reshape(())
        axis = self.axis % x.ndim
        flat = contiguous(indices).reshape(-1)
        _check_index_values(self.name, indices, flat, axis, x.shape)
        out = empty(x.shape, x.dtype)
        copy_into(out, x)
        if not flat.size:
            return out
        window = _corner(out, indices.shape, axis)
        shape = (math.prod(indices.shape[:axis]), x.shape[axis],
                 math.prod(indices.shape[axis + 1:]))
        try:
            target, scratch = window.reshape(shape, copy=False), None
        except ValueError:  # a corner whose rows are not evenly spaced: work on a copy
            scratch = contiguous(window)
            target = scratch.reshape(shape)
        index = flat.reshape(shape[0], indices.shape[axis], shape[2])
        source = view_or_copy(values, index.shape)
        kernel = _put_parallel if flat.size >= PARALLEL_MIN_SIZE else _put_serial
        kernel(target, index, source, self.accumulate)
        if scratch is not None:
            copy_into(window, scratch)
        return out

    def cuda(self, x, indices, values):
        from framework.kernels import cuda_nn

        if x.ndim == 0:
            return self.cuda(x.reshape((1,)), indices.reshape((1,)),
                             values.reshape((1,))).reshape(())
        axis = self.axis % x.ndim
        _check_device_index_values(self.name, indices, axis, tuple(x.shape))
        return cuda_nn.put_along_axis(x, indices, values, axis, self.accumulate)

    def vjp(self, g, inputs, out):
        _, indices, values = inputs
        picked = take_along_axis(g, indices, self.axis)
        if self.accumulate:
            return g, None, picked
        # Written-over positions pass nothing back to x. With repeated indices every value
        # receives the gradient of the one that won, as in PyTorch (exact for distinct ones).
        return put_along_axis(g, indices, zeros_like(values), self.axis), None, picked


def put_along_axis(x, indices, values, axis: int, accumulate: bool = False):
    """A copy of `x` with each of `values` written at the place its index names along `axis`
    (added there, duplicates summing, with `accumulate`): PyTorch's `scatter(x, axis, indices,
    values)` and `scatter_add`. `values` has the indices' shape; indices as for
    `take_along_axis`.

    >>> put_along_axis(np.zeros((2, 3)), np.array([[2], [0]]), np.array([[1.0], [5.0]]), 1)
    array([[0., 0., 1.],
           [5., 0., 0.]])
    """
    x, values = promote(x, values)
    return bind(PutAlongAxis(_canonical(axis, len(x.shape)), bool(accumulate)), x,
                as_operand(indices), values)


# ---------------------------------------------------------------------------------------------
# nonzero


@numba.njit(cache=True)
def _count_nonzero(values):
    count = 0
    for i in range(values.size):
        if values[i] != 0:
            count += 1
    return count


@numba.njit(cache=True)
def _nonzero_coordinates(values, shape, out):
    row = 0
    for i in range(values.size):
        if values[i] != 0:
            rest = i
            for d in range(shape.size - 1, -1, -1):
                out[row, d] = rest % shape[d]
                rest //= shape[d]
            row += 1


@register
class NonZero(Op):
    """The coordinates of x's non-zero elements (NaN counts, -0.0 does not), one row each in
    C order: an int64 array of shape (count, x.ndim), as torch.nonzero and TensorFlow's
    one-argument tf.where give. The count is known only when the op runs."""

    name = "nonzero"
    no_gradient = "integer output"

    def infer(self, x):
        return Spec((None, len(x.shape)), dtypes.int64)

    def cpu(self, x):
        flat = contiguous(x).reshape(-1)
        count = _count_nonzero(flat) if flat.size else 0
        out = empty((count, x.ndim), dtypes.int64)
        if count and x.ndim:
            _nonzero_coordinates(flat, np.array(x.shape, np.int64), out)
        return out

    def cuda(self, x):
        from framework.kernels import cuda_nn

        return cuda_nn.nonzero(x)


def nonzero(x):
    """The coordinates of the non-zero elements of `x`, one row each: shape (count, x.ndim).

    >>> nonzero(np.array([[0, 3], [4, 0]]))
    array([[0, 1],
           [1, 0]])
    """
    return bind(_NONZERO, as_operand(x))


_NONZERO = NonZero()


# ---------------------------------------------------------------------------------------------
# Composites: flip, roll, tril, triu


def _axes_list(axes) -> tuple:
    if isinstance(axes, (int, np.integer)) and not isinstance(axes, bool):
        return (axes,)
    try:
        return tuple(axes)
    except TypeError:
        raise ShapeError(f"expected an int or a sequence of ints for the axes, got {axes!r}")\
            from None


def flip(x, axes):
    """A copy of `x` with the order of its elements reversed along each of `axes` (an int or
    a sequence). A copy, as torch.flip makes, where np.flip returns a view.

    >>> flip(np.arange(6).reshape(2, 3), (0, -1))
    array([[5, 4, 3],
           [2, 1, 0]])
    """
    x = as_operand(x)
    ndim = len(x.shape)
    axes = [normalize_axis(axis, ndim, "flip") for axis in _axes_list(axes)]
    if len(set(axes)) != len(axes):
        raise ShapeError(f"flip: axes {tuple(axes)} name an axis more than once")
    if not ndim:
        return contiguous_copy(x)
    reversed_ = slice(None, None, -1)
    return contiguous_copy(getitem(x, tuple(reversed_ if d in axes else slice(None)
                                            for d in range(ndim))))


def roll(x, shifts, axes=None):
    """Rotate `x` along `axes` by `shifts` (ints, or one each): elements pushed past the end
    come back at the start. Without axes, the flattened `x` rolls and keeps its shape, as
    torch.roll does. The sizes along the rolled axes must be known.

    >>> roll(np.arange(5), 2)
    array([3, 4, 0, 1, 2])
    """
    x = as_operand(x)
    shifts = _axes_list(shifts)
    if axes is None:
        if len(shifts) != 1:
            raise ArgumentError(f"roll: without axes, shifts must be one int (the flattened "
                                f"value rolls), got {shifts}")
        shape = tuple(x.shape)
        if None in shape:
            raise ShapeError(f"roll: without axes, the shape {shape} must be known")
        return reshape(roll(reshape(x, (-1,)), shifts, 0), shape)
    axes = _axes_list(axes)
    if len(shifts) != len(axes):
        raise ArgumentError(f"roll: shifts {shifts} and axes {axes} must have the same length")
    ndim = len(x.shape)
    rolled = x
    for shift, axis in zip(shifts, axes):
        axis = normalize_axis(axis, ndim, "roll")
        size = x.shape[axis] if ndim else 1
        if size is None:
            raise ShapeError(f"roll: axis {axis} of shape {tuple(x.shape)} must be known")
        step = operator.index(shift) % size if size else 0
        if step and ndim:
            before = (slice(None),) * axis
            rolled = concat([getitem(rolled, before + (slice(size - step, None),)),
                             getitem(rolled, before + (slice(0, size - step),))], axis)
    return contiguous_copy(rolled) if rolled is x else rolled


def tril(x, diagonal: int = 0):
    """The lower triangle of the last two axes of `x`: elements on and below the `diagonal`-th
    diagonal (0 the main one, positive above it), zeros elsewhere.

    >>> tril(np.ones((2, 3)), 1)
    array([[1., 1., 0.],
           [1., 1., 1.]])
    """
    return _triangle(x, diagonal, lower=True, op="tril")


def triu(x, diagonal: int = 0):
    """The upper triangle of the last two axes of `x`: elements on and above the
    `diagonal`-th diagonal (0 the main one, positive above it), zeros elsewhere.

    >>> triu(np.ones((2, 3)), 1)
    array([[0., 1., 1.],
           [0., 0., 1.]])
    """
    return _triangle(x, diagonal, lower=False, op="triu")


def _triangle(x, diagonal, lower: bool, op: str):
    x = as_operand(x)
    shape = tuple(x.shape)
    if len(shape) < 2:
        raise ShapeError(f"{op}: the input must have at least 2 dimensions, got shape {shape}")
    if isinstance(diagonal, bool) or not hasattr(diagonal, "__index__"):
        raise ArgumentError(f"{op}: diagonal must be an int, got {diagonal!r}")
    rows, cols = shape[-2:]
    if rows is None or cols is None:
        raise ShapeError(f"{op}: the last two dimensions of shape {shape} must be known")
    offset = np.arange(cols)[None, :] - np.arange(rows)[:, None]
    diagonal = operator.index(diagonal)
    keep = offset <= diagonal if lower else offset >= diagonal
    return where(keep, x, np.zeros((), x.dtype))
