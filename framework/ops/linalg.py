"""Linear algebra: `matmul` with NumPy's rules, on BLAS for floats.

Every operand is seen as a stack of matrices. Float stacks go to BLAS through numba's `np.dot`
(scipy's BLAS), one GEMM per matrix of the output's batch; a stack stored transposed (a
Fortran-order matrix, e.g. the `transpose` view a gradient rule passes in) is handed to BLAS as
a transposed operand instead of being copied. Integer stacks run on a plain numba loop.
"""

from __future__ import annotations

import functools

import numba
import numpy as np
from numba import prange

from framework import dtypes
from framework.device import empty
from framework.errors import ShapeError
from framework.ops.dispatch import bind, promote
from framework.ops.movement import contiguous
from framework.ops.registry import Op, Spec, register, require_dtype, require_same_dtype
from framework.shapes import broadcast_shapes, size_of

__all__ = ["matmul"]

# Integer products below this many multiply-adds stay on one core (thread start-up dominates).
PARALLEL_MIN_WORK = 1 << 18


def matmul_shape(a_shape, b_shape, op: str = "matmul") -> tuple:
    """The result shape of `a @ b` (see `_matmul_shape`), worked out once per pair of shapes:
    the rule and the kernel both ask on every call."""
    return _matmul_shape(tuple(a_shape), tuple(b_shape), op)


@functools.lru_cache(maxsize=4096)
def _matmul_shape(a_shape: tuple, b_shape: tuple, op: str) -> tuple:
    """The result shape of `a @ b` under NumPy's rules, with None for unknown dimensions.

    A 1-D first operand acts as a row vector and a 1-D second operand as a column vector; the
    added axis is dropped from the result. Batch dimensions (all but the last two) broadcast.

    >>> matmul_shape((5, 2, 3), (3, 4)), matmul_shape((3,), (2, 3, 4)), matmul_shape((3,), (3,))
    ((5, 2, 4), (2, 4), ())
    """
    if not a_shape or not b_shape:
        raise ShapeError(f"{op}: operands need at least one dimension, got shapes {a_shape} "
                         f"and {b_shape}")
    a_inner = a_shape[-1]
    b_inner = b_shape[-2] if len(b_shape) >= 2 else b_shape[0]
    if a_inner is not None and b_inner is not None and a_inner != b_inner:
        b_axis = "second-to-last" if len(b_shape) >= 2 else "only"
        raise ShapeError(f"{op}: shapes {a_shape} and {b_shape} are not aligned: the first's "
                         f"last dimension is {a_inner}, the second's {b_axis} dimension is "
                         f"{b_inner}")
    a_batch, b_batch = a_shape[:-2], b_shape[:-2]
    try:
        batch = broadcast_shapes(a_batch, b_batch, op=op)
    except ShapeError:
        raise ShapeError(f"{op}: the batch dimensions of shapes {a_shape} and {b_shape} "
                         f"({a_batch} and {b_batch}) cannot be broadcast together") from None
    rows = a_shape[-2:-1] if len(a_shape) >= 2 else ()
    cols = b_shape[-1:] if len(b_shape) >= 2 else ()
    return batch + rows + cols


@register
class MatMul(Op):
    """`a @ b` for 1-D to N-D operands: NumPy's matmul (vector promotion, batch broadcasting)."""

    name = "matmul"
    vjp_takes_needs = True

    def infer(self, a, b):
        dtype = a.dtype
        if b.dtype != dtype or dtype not in _NUMERIC:  # the checks below name the problem
            require_same_dtype(self.name, a, b)
            require_dtype(self.name, a, dtypes.NUMERIC)
        return Spec.raw(matmul_shape(a.shape, b.shape, self.name), dtype)

    def cpu(self, a, b):
        return matmul_kernel(a, b)

    def vjp(self, g, inputs, out, needs=(True, True)):
        a, b = inputs
        a_vector, b_vector = len(a.shape) == 1, len(b.shape) == 1
        if a_vector and b_vector:
            return (F.mul(g, b) if needs[0] else None), (F.mul(g, a) if needs[1] else None)
        grad_a = grad_b = None
        if a_vector:
            # out[..., n] = sum_k a[k] b[..., k, n]: a acts as the row (1, k).
            if needs[0]:
                g_row = g if len(g.shape) == 1 else _insert_unit_axis(g, -1)
                grad_a = F.matmul(g_row, swap_last_axes(b))  # (k,) or (..., 1, k): summed onto a
            if needs[1]:
                grad_b = F.matmul(_insert_unit_axis(a, 1), _insert_unit_axis(g, -1))
        elif b_vector:
            # out[..., m] = sum_k a[..., m, k] b[k]: b acts as the column (k, 1).
            if needs[0]:
                grad_a = F.matmul(_insert_unit_axis(g, len(g.shape)), _insert_unit_axis(b, 0))
            if needs[1]:
                g_row = g if len(g.shape) == 1 else _insert_unit_axis(g, -1)
                grad_b = F.matmul(g_row, a)  # (k,) or (..., 1, k): summed onto b
        else:
            grad_a = F.matmul(g, swap_last_axes(b)) if needs[0] else None
            grad_b = F.matmul(swap_last_axes(a), g) if needs[1] else None
        return grad_a, grad_b


def swap_last_axes(x):
    """The matrix transpose of every matrix in a stack (a view where the front-end allows)."""
    return F.transpose(x, _last_axes_swapped(len(x.shape)))


@functools.lru_cache(maxsize=64)
def _last_axes_swapped(ndim: int) -> tuple:
    """The axis order that swaps the last two of `ndim` axes: (1, 0) for matrices."""
    return tuple(range(ndim - 2)) + (ndim - 1, ndim - 2)


def _insert_unit_axis(x, position: int):
    """`x` with a new axis of length 1 before `position` (negative: counted from the end)."""
    shape = list(x.shape)
    if position < 0:
        position += len(shape)
    if sum(1 for d in shape if d is None) > 1:
        raise ShapeError(f"matmul gradient: a vector operand meets a stack of shape "
                         f"{tuple(x.shape)} with more than one unknown dimension")
    shape.insert(position, 1)
    return F.reshape(x, tuple(-1 if d is None else d for d in shape))


def matmul(a, b):
    """Matrix product with NumPy's rules (1-D operands promoted, batch dimensions broadcast).

    >>> matmul(np.ones((2, 3), np.float32), np.ones((3, 4), np.float32))
    array([[3., 3., 3., 3.],
           [3., 3., 3., 3.]], dtype=float32)
    """
    return bind(_MATMUL, *promote(a, b))


_MATMUL = MatMul()  # built once: matmul runs on every layer of every step
_NUMERIC = frozenset(dtypes.NUMERIC)


# ---------------------------------------------------------------------------------------------
# Kernels. Operands become stacks of C-contiguous matrices (B, rows, cols); a batch index per
# output matrix says which matrix of each stack it reads, which is how batch broadcasting works
# without materializing the broadcast operand.


def matmul_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Run `a @ b` on arrays the shape rule accepted; the result comes from the allocator."""
    out_shape = _matmul_shape(a.shape, b.shape, "matmul")  # array shapes are tuples
    out = empty(out_shape, a.dtype)
    if a.ndim == 2 == b.ndim and a.dtype.kind == "f" and out.size and a.shape[1]:
        # A matrix times a matrix, the common case: one GEMM, the same BLAS call the stacked
        # path below makes, without its bookkeeping.
        gemm(_blas_operand(a), _blas_operand(b), out)
        return out
    a2 = a.reshape(1, -1) if a.ndim == 1 else a
    b2 = b.reshape(-1, 1) if b.ndim == 1 else b
    m, k = a2.shape[-2:]
    n = b2.shape[-1]
    if out.size == 0:
        return out
    if k == 0:
        out.fill(0)
        return out
    a_batch, b_batch = a2.shape[:-2], b2.shape[:-2]
    batch = out_shape[: len(out_shape) - (a.ndim > 1) - (b.ndim > 1)]
    out3 = out.reshape(-1, m, n)
    if not b_batch and a_batch and a2.flags.c_contiguous:
        # A stack times one matrix is one tall GEMM: (B*m, k) @ (k, n).
        a2, out3 = a2.reshape(-1, k), out.reshape(-1, n)[None]
        m, a_batch, batch = a2.shape[0], (), ()
    a_index, b_index = _batch_indices(a_batch, b_batch, batch)

    if a.dtype.kind == "f":
        a_stack, a_transposed = _matrix_stack(a2)
        b_stack, b_transposed = _matrix_stack(b2)
        _float_matmul(a_stack, b_stack, out3, a_index, b_index, a_transposed, b_transposed)
    else:
        a_stack = contiguous(a2).reshape(-1, m, k)
        b_stack = contiguous(b2).reshape(-1, k, n)
        kernel = _int_matmul_parallel if out3.size * k >= PARALLEL_MIN_WORK else _int_matmul
        kernel(a_stack, b_stack, out3, a_index, b_index)
    return out


def _matrix_stack(x: np.ndarray) -> tuple[np.ndarray, bool]:
    """(stack of C-contiguous matrices, transposed?) with no copy when x allows it.

    A stack whose matrices are stored transposed (Fortran order within each matrix) is returned
    as the C-contiguous stack of its transposes, flagged, so BLAS reads it with `trans='T'`.
    """
    rows, cols = x.shape[-2:]
    if x.flags.c_contiguous:
        return x.reshape(-1, rows, cols), False
    swapped = np.swapaxes(x, -1, -2)
    if swapped.flags.c_contiguous:
        return swapped.reshape(-1, cols, rows), True
    return contiguous(x).reshape(-1, rows, cols), False


def _blas_operand(x: np.ndarray) -> np.ndarray:
    """A matrix as BLAS reads it in place: C-ordered, or Fortran-ordered (a transposed view,
    which numba hands BLAS with the transpose flag, as `_float_matmul` does); else a C copy."""
    flags = x.flags
    if flags.c_contiguous or flags.f_contiguous:
        return x
    return contiguous(x)


_NO_BATCH = np.zeros(1, np.intp)


def _batch_indices(a_batch: tuple, b_batch: tuple, batch: tuple):
    """For each output matrix, the index of the matrix it reads in each operand's stack."""
    if a_batch == b_batch == batch:
        index = _identity_index(max(size_of(batch), 1))
        return index, index
    return _broadcast_index(a_batch, batch), _broadcast_index(b_batch, batch)


@functools.lru_cache(maxsize=256)
def _identity_index(count: int) -> np.ndarray:
    """0, 1, ..., count - 1: each output matrix reads the same-numbered operand matrices.
    Made once per count (kernels only read it): an arange per call costs more than a small
    product."""
    return np.arange(count, dtype=np.intp)


def _broadcast_index(own: tuple, batch: tuple) -> np.ndarray:
    if not own:
        return np.zeros(max(size_of(batch), 1), np.intp) if batch else _NO_BATCH
    positions = np.arange(size_of(own), dtype=np.intp).reshape(own)
    return np.ascontiguousarray(np.broadcast_to(positions, batch)).reshape(-1)


def batched_gemm(a: np.ndarray, b: np.ndarray, out: np.ndarray, transpose_a: bool = False,
                 transpose_b: bool = False) -> None:
    """out[i] = op(a[i]) @ op(b[i]) on BLAS for C-contiguous float stacks, op being .T or not.

    A transposed operand is read in place (BLAS's trans flag), never copied. Kernels of other
    ops (convolution) use this for their GEMMs.

    >>> a, out = np.ones((2, 3, 4)), np.empty((2, 4, 4))
    >>> batched_gemm(a, a, out, transpose_a=True); float(out[0, 0, 0])
    3.0
    """
    index = _identity_index(out.shape[0])
    _float_matmul(a, b, out, index, index, transpose_a, transpose_b)


@numba.njit(cache=True)
def gemm(a, b, out):
    """out = a @ b for float matrices on BLAS (`_blas_operand` layouts): one GEMM, with three
    arguments so numba dispatches it cheaply (it compiles once per pair of layouts)."""
    np.dot(a, b, out)


@numba.njit(cache=True)
def _float_matmul(a, b, out, a_index, b_index, a_transposed, b_transposed):
    # Each branch hands BLAS a C- or F-layout operand; numba picks trans flags from the layout.
    for i in range(out.shape[0]):
        x = a[a_index[i]]
        y = b[b_index[i]]
        if a_transposed and b_transposed:
            np.dot(x.T, y.T, out[i])
        elif a_transposed:
            np.dot(x.T, y, out[i])
        elif b_transposed:
            np.dot(x, y.T, out[i])
        else:
            np.dot(x, y, out[i])


@numba.njit(cache=True)
def _int_matrix_row(x, y, out, row):
    # i-k-j order: the inner loop walks rows of y and out contiguously.
    for j in range(out.shape[1]):
        out[row, j] = 0
    for p in range(x.shape[1]):
        scale = x[row, p]
        for j in range(out.shape[1]):
            out[row, j] += scale * y[p, j]


@numba.njit(cache=True)
def _int_matmul(a, b, out, a_index, b_index):
    for i in range(out.shape[0]):
        for row in range(out.shape[1]):
            _int_matrix_row(a[a_index[i]], b[b_index[i]], out[i], row)


@numba.njit(parallel=True, cache=True)
def _int_matmul_parallel(a, b, out, a_index, b_index):
    rows = out.shape[1]
    for task in prange(out.shape[0] * rows):
        i, row = task // rows, task % rows
        _int_matrix_row(a[a_index[i]], b[b_index[i]], out[i], row)


from framework.ops import functions as F  # noqa: E402  (rules call back into the functions)
