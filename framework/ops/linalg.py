"""Linear algebra: `matmul` with NumPy's rules, on BLAS for floats.

Every operand is seen as a stack of matrices. Float stacks go to BLAS through numba's `np.dot`
(scipy's BLAS), one GEMM per matrix of the output's batch; a stack stored transposed (a
Fortran-order matrix, e.g. the `transpose` view a gradient rule passes in) is handed to BLAS as
a transposed operand instead of being copied. Integer stacks run on a plain numba loop.
"""

from __future__ import annotations

import collections
import functools
import math
import string

import numba
import numpy as np
from numba import prange

from framework import dtypes
from framework.device import empty
from framework.errors import ArgumentError, DTypeError, DualgraphError, ShapeError
from framework.kernels.cpu import dtype_literal
from framework.kernels.lowered import Lowered
from framework.ops.dispatch import as_operand, bind, promote
from framework.ops.movement import contiguous
from framework.ops.registry import Op, Spec, register, require_dtype, require_same_dtype
from framework.shapes import broadcast_shapes, normalize_axes, normalize_axis, size_of

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

    def nopython(self, a, b):
        # matmul_kernel's one-GEMM case: two float matrices, each read by BLAS in the layout
        # it has (C, or F for a transposed view: numba picks the same trans flags as for the
        # CPU kernel's arrays), so the same call and the same bits.
        if len(a.shape) != 2 or len(b.shape) != 2 or a.dtype.kind != "f":
            return None
        (m, k), n = a.shape, b.shape[1]
        if not m or not n or not k:
            return None
        return Lowered(f"{{o0}} = np.empty(({m}, {n}), {dtype_literal(a.dtype)})\n"
                       "{gemm}({i0}, {i1}, {o0})", {"gemm": gemm_as_blas_reads},
                       any_layout=True)

    def cuda(self, a, b):
        from framework.kernels import cuda_nn

        return cuda_nn.matmul(a, b)

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
def gemm_as_blas_reads(a, b, out):
    """`gemm` on `_blas_operand(a)` and `_blas_operand(b)`, decided at run time in compiled
    code, where an array's layout may be known only then: C- or F-ordered operands are read
    in place, others copied to C order, so the call (and its bits) is the CPU kernel's."""
    a_c = a.flags.c_contiguous or not a.flags.f_contiguous
    b_c = b.flags.c_contiguous or not b.flags.f_contiguous
    if a_c and b_c:
        gemm(np.ascontiguousarray(a), np.ascontiguousarray(b), out)
    elif a_c:
        gemm(np.ascontiguousarray(a), np.asfortranarray(b), out)
    elif b_c:
        gemm(np.asfortranarray(a), np.ascontiguousarray(b), out)
    else:
        gemm(np.asfortranarray(a), np.asfortranarray(b), out)


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


# ---------------------------------------------------------------------------------------------
# Composites: einsum and the vector and matrix norms, written with the neutral functions so
# they differentiate (to any order) and run on every front-end.

__all__ += ["einsum", "vector_norm", "matrix_norm"]


class EinsumError(ShapeError, RuntimeError):
    """An einsum equation that does not fit its operands: a `ShapeError`, and a `RuntimeError`
    as PyTorch raises it."""


class UnsupportedNormError(DualgraphError, NotImplementedError):
    """A norm that needs a singular value decomposition (matrix 2-norm, nuclear norm), which
    dualgraph does not have yet."""


_ELLIPSIS = "..."


def einsum(equation, *operands):
    """Einstein summation, as PyTorch's and NumPy's einsum: 'ij,jk->ik' is a matrix product.

    Every equation is supported: letters (a-z, A-Z), '...' for broadcast dimensions, the
    implicit form without '->' (the output is '...' then the letters used once, sorted),
    repeated letters in one operand (diagonals, traces), and PyTorch's other spellings
    (operands as one list; sublists of ints). Operands are contracted left to right, each pair
    as one matmul (or a product and a sum where no matrix is left), after diagonals are taken
    and letters used by one operand alone are summed.

    >>> a, b = np.arange(6.0).reshape(2, 3), np.ones((3, 2))
    >>> einsum("ij,jk->ik", a, b)
    array([[ 3.,  3.],
           [12., 12.]])
    >>> float(einsum("ii", np.eye(3)))
    3.0
    """
    equation, operands = _einsum_arguments(equation, operands)
    operands = [as_operand(x) for x in operands]
    terms, output = _parse_einsum(equation, [tuple(x.shape) for x in operands])
    dtype = dtypes.result_type(*operands)
    if dtype not in dtypes.NUMERIC:
        raise DTypeError(f"einsum(): operands of dtype {dtype} are not supported; convert them "
                         "to a number dtype first")
    labels = [list(term) for term in terms]
    for k, x in enumerate(operands):
        x, labels[k] = _take_diagonals(x, labels[k], equation)
        elsewhere = set(output).union(*(labels[j] for j in range(len(operands)) if j != k))
        lonely = [axis for axis, label in enumerate(labels[k]) if label not in elsewhere]
        if lonely:
            x = F.sum(x, tuple(lonely))
            labels[k] = [label for label in labels[k] if label in elsewhere]
        operands[k] = x
    result, result_labels = operands[0], labels[0]
    for k in range(1, len(operands)):
        needed = set(output).union(*labels[k + 1:])
        result, result_labels = _contract(result, result_labels, operands[k], labels[k],
                                          needed, equation)
    order = [result_labels.index(label) for label in output]
    if order != list(range(len(order))):
        result = F.transpose(result, order)
    return F.cast(result, dtype)  # integer sums widen to int64; the result keeps the dtype


def _einsum_arguments(equation, operands) -> tuple:
    """(equation string, operands) from PyTorch's spellings: einsum('ij,jk', a, b),
    einsum('ij,jk', [a, b]), and einsum(a, [0, 1], b, [1, 2], [0, 2]) with sublists."""
    if isinstance(equation, str):
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = tuple(operands[0])
        return equation, operands
    arguments = (equation, *operands)
    pairs = arguments[: len(arguments) // 2 * 2]
    terms = [_sublist_term(pairs[i + 1]) for i in range(0, len(pairs), 2)]
    equation = ",".join(terms)
    if len(arguments) % 2:
        equation += "->" + _sublist_term(arguments[-1])
    return equation, tuple(pairs[0::2])


def _sublist_term(sublist) -> str:
    letters = string.ascii_uppercase + string.ascii_lowercase  # PyTorch's order: 0 is 'A'
    term = ""
    for entry in sublist:
        if entry is Ellipsis:
            term += _ELLIPSIS
        elif isinstance(entry, (int, np.integer)) and 0 <= entry < len(letters):
            term += letters[entry]
        else:
            raise EinsumError(f"einsum(): a sublist holds ints in [0, 52) and Ellipsis, got "
                              f"{entry!r} in {list(sublist)!r}")
    return term


def _parse_einsum(equation: str, shapes: list) -> tuple:
    """(labels of each operand's axes, output labels), checked against the shapes. A letter labels
    itself; the axes '...' covers are labelled 0, 1, ... from the left of the widest '...',
    so they line up from the right, as broadcasting does."""
    text = equation.replace(" ", "")
    inputs, arrow, output_text = text.partition("->")
    input_texts = inputs.split(",")
    if len(input_texts) != len(shapes):
        raise EinsumError(f"einsum(): equation {equation!r} has {len(input_texts)} operand(s) "
                          f"but {len(shapes)} were given")
    letters = [_term_letters(term, equation) for term in input_texts]
    widths = []
    for k, (term, shape) in enumerate(zip(letters, shapes)):
        if _ELLIPSIS in term:
            widths.append(len(shape) - (len(term) - 1))
        elif len(term) == len(shape):
            widths.append(0)
        else:
            widths.append(-1)
        if widths[-1] < 0:
            raise EinsumError(f"einsum(): operand {k} has shape {shape} ({len(shape)} "
                              f"dimensions) but its subscripts {input_texts[k]!r} in "
                              f"{equation!r} name {len(term) - (_ELLIPSIS in term)}")
    widest = max(widths, default=0)
    terms = []
    for term, width in zip(letters, widths):
        labels = []
        for letter in term:
            labels += list(range(widest - width, widest)) if letter == _ELLIPSIS else [letter]
        terms.append(tuple(labels))
    if arrow:
        output = []
        for letter in _term_letters(output_text, equation):
            if letter != _ELLIPSIS and not any(letter in term for term in terms):
                raise EinsumError(f"einsum(): output subscript {letter!r} of {equation!r} "
                                  "appears in no operand")
            output += list(range(widest)) if letter == _ELLIPSIS else [letter]
        if len(set(output)) != len(output):
            raise EinsumError(f"einsum(): the output of {equation!r} names a subscript twice")
    else:
        counts = collections.Counter(label for term in terms for label in term)
        output = list(range(widest)) + sorted(label for label, n in counts.items()
                                              if n == 1 and isinstance(label, str))
    _check_label_sizes(equation, terms, shapes)
    return terms, tuple(output)


def _term_letters(term: str, equation: str) -> list:
    letters, rest = [], term
    while rest:
        if rest.startswith(_ELLIPSIS):
            if _ELLIPSIS in letters:
                raise EinsumError(f"einsum(): {term!r} in {equation!r} has more than one "
                                  "'...'")
            letters.append(_ELLIPSIS)
            rest = rest[3:]
        elif rest[0] in string.ascii_letters:
            letters.append(rest[0])
            rest = rest[1:]
        else:
            raise EinsumError(f"einsum(): invalid subscript {rest[0]!r} in {equation!r}: "
                              "subscripts are letters a-z and A-Z, and '...'")
    return letters


def _check_label_sizes(equation: str, terms, shapes) -> None:
    """Each label's size: sizes that differ must be 1 somewhere (broadcast), and a label that
    repeats within one operand must have one size there."""
    sizes = {}
    for k, (term, shape) in enumerate(zip(terms, shapes)):
        own = {}
        for label, size in zip(term, shape):
            name = "'...'" if isinstance(label, int) else repr(label)
            if label in own and size != own[label] and None not in (size, own[label]):
                raise EinsumError(f"einsum(): subscript {name} repeats in operand {k} of "
                                  f"{equation!r} with sizes {own[label]} and {size}")
            own[label] = size
            seen = sizes.get(label, 1)
            if size is None or seen is None:
                sizes[label] = None if size is None and seen in (1, None) else (
                    seen if size is None else size)
            elif seen != size and 1 not in (seen, size):
                raise EinsumError(f"einsum(): subscript {name} has size {size} in operand {k} "
                                  f"of {equation!r}, which does not broadcast with size {seen} "
                                  "elsewhere")
            else:
                sizes[label] = max(seen, size)


def _take_diagonals(x, labels: list, equation: str) -> tuple:
    """Each label that repeats within one operand reduced to its diagonal ('ii->i')."""
    while len(set(labels)) != len(labels):
        second = next(i for i, label in enumerate(labels) if labels.index(label) != i)
        first = labels.index(labels[second])
        size = x.shape[first]
        if size is None:
            raise EinsumError(f"einsum(): taking the diagonal of {equation!r} needs a known "
                              f"size, got shape {tuple(x.shape)}")
        rest = [a for a in range(len(labels)) if a not in (first, second)]
        pair_last = F.transpose(x, rest + [first, second])
        flat = _reshaped(pair_last, [x.shape[a] for a in rest] + [size * size], equation)
        diagonal = F.getitem(flat, (Ellipsis, slice(None, None, size + 1)))
        order = list(range(len(rest)))
        order.insert(first, len(rest))
        x = F.transpose(diagonal, order) if order != sorted(order) else diagonal
        labels = labels[:second] + labels[second + 1:]
    return x, labels


def _reshaped(x, dims, equation: str):
    """F.reshape to `dims`, where one unknown (None) dimension may be left to the reshape."""
    if sum(1 for d in dims if d is None) > 1:
        raise EinsumError(f"einsum(): {equation!r} needs to merge dimensions of shape "
                          f"{tuple(x.shape)}, more than one of them unknown")
    if tuple(x.shape) == tuple(dims):  # known or not, the dimensions are already these
        return x
    return F.reshape(x, tuple(-1 if d is None else d for d in dims))


def _contract(a, a_labels: list, b, b_labels: list, needed: set, equation: str):
    """a and b multiplied and summed over the labels they share that nothing later needs:
    (result, its labels: shared kept ones, then a's own, then b's own)."""
    kept = [label for label in a_labels if label in b_labels and label in needed]
    summed = [label for label in a_labels if label in b_labels and label not in needed]
    a_only = [label for label in a_labels if label not in b_labels]
    b_only = [label for label in b_labels if label not in a_labels]
    for label in summed:  # a summed axis of size 1 on one side: sum the other side first
        a_size, b_size = a.shape[a_labels.index(label)], b.shape[b_labels.index(label)]
        if a_size == 1 and b_size != 1:
            b = F.sum(b, b_labels.index(label), keepdims=True)
        elif b_size == 1 and a_size != 1:
            a = F.sum(a, a_labels.index(label), keepdims=True)
    a = _ordered(a, a_labels, kept + a_only + summed)
    b = _ordered(b, b_labels, kept + summed + b_only)
    a_kept, b_kept = list(a.shape[:len(kept)]), list(b.shape[:len(kept)])
    a_own = list(a.shape[len(kept):len(kept) + len(a_only)])
    b_own = list(b.shape[len(kept) + len(summed):])
    if not summed:  # an outer product (batched): broadcast and multiply
        a = _reshaped(a, a_kept + a_own + [1] * len(b_own), equation)
        b = _reshaped(b, b_kept + [1] * len(a_own) + b_own, equation)
        return F.mul(a, b), kept + a_only + b_only
    if not a_only and not b_only:  # dot products: no matrix for a GEMM to work on
        product = F.mul(a, b)
        return F.sum(product, tuple(range(len(kept), len(kept) + len(summed)))), kept
    inner = [b_size if a_size is None else a_size for a_size, b_size in
             zip(a.shape[len(kept) + len(a_only):], b.shape[len(kept):len(kept) + len(summed)])]
    rows, depth, columns = _size(a_own), _size(inner), _size(b_own)
    matrix_a = _reshaped(a, a_kept + [rows, depth], equation)
    matrix_b = _reshaped(b, b_kept + [depth, columns], equation)
    product = F.matmul(matrix_a, matrix_b)
    batch = list(product.shape[:len(kept)])
    return _reshaped(product, batch + a_own + b_own, equation), kept + a_only + b_only


def _ordered(x, labels: list, order: list):
    axes = [labels.index(label) for label in order]
    return x if axes == list(range(len(axes))) else F.transpose(x, axes)


def _size(dims) -> int | None:
    return None if None in dims else math.prod(dims)


def vector_norm(x, ord=2, axis=None, keepdims=False, dtype=None):
    """The ord-norm of x over `axis` (None: all of it), PyTorch's linalg.vector_norm:
    (sum |x|**ord)**(1/ord); ord=inf the largest |x|, -inf the smallest, 0 the count of non-zero
    entries. Floats only; `dtype` converts x first.

    The 2-norm of float32 values sums their squares in float64, so no square overflows or
    underflows. Gradients are 0 where the norm is 0, as in PyTorch (not 0 / 0).

    >>> float(vector_norm(np.array([3.0, -4.0]))), float(vector_norm(np.array([3.0, -4.0]), 1))
    (5.0, 7.0)
    """
    x = as_operand(x) if dtype is None else F.cast(x, dtype)
    if x.dtype.kind != "f":
        raise DTypeError(f"vector_norm: expected a floating point input, got dtype {x.dtype}; "
                         "convert it first (or pass dtype=)")
    ord = _norm_order(ord, "vector_norm")
    shape = tuple(x.shape)
    axes = normalize_axes(axis, len(shape), "vector_norm") if shape else ()
    if ord < 0 or ord == math.inf:
        empty = [a for a in axes if shape[a] == 0]
        if empty:
            raise ShapeError(f"vector_norm: cannot take the {ord} norm over axis {empty[0]} of "
                             f"shape {shape}, which has size 0 (the norm has no identity)")
    if ord == 1:
        return F.sum(F.abs(x), axis, keepdims)
    if ord == math.inf:
        return F.max(F.abs(x), axis, keepdims)
    if ord == -math.inf:
        return F.min(F.abs(x), axis, keepdims)
    if ord == 0:  # 1 per non-zero entry, through x * 0 so the result has a (zero) gradient
        return F.sum(F.where(F.ne(x, 0), 1, F.mul(x, 0)), axis, keepdims)
    wide = F.cast(x, dtypes.float64)
    if ord == 2:
        powered = F.square(wide)
    else:
        magnitude = F.abs(wide)
        if ord > 0:  # |0|**ord is 0, with a zero gradient, not ord * 0**(ord - 1) * 0
            zero = F.eq(magnitude, 0)
            powered = F.where(zero, 0, F.pow(F.where(zero, 1, magnitude), ord))
        else:
            powered = F.pow(magnitude, ord)
    total = F.sum(powered, axis, keepdims)
    at_zero = F.eq(total, 0)
    root = F.sqrt if ord == 2 else (lambda s: F.pow(s, 1.0 / ord))
    return F.cast(F.where(at_zero, 0, root(F.where(at_zero, 1, total))), x.dtype)


def _norm_order(ord, function: str) -> float:
    if isinstance(ord, (bool, np.bool_)) or not isinstance(ord, (int, float, np.number)):
        raise ArgumentError(f"{function}: ord must be a number (inf and -inf included), got "
                            f"{ord!r}")
    return float(ord)


def matrix_norm(x, ord="fro", axis=(-2, -1), keepdims=False, dtype=None):
    """A matrix norm over the two axes `axis` of x, PyTorch's linalg.matrix_norm: 'fro' (the
    root of the sum of squares), 1 and -1 (the largest and smallest column sum of |x|), inf and
    -inf (the largest and smallest row sum). 2, -2 and 'nuc' need singular values: refused.

    >>> matrix_norm(np.array([[1.0, -2.0], [3.0, 4.0]]), 1)
    array(6.)
    """
    x = as_operand(x) if dtype is None else F.cast(x, dtype)
    ndim = len(x.shape)
    if ndim < 2:
        raise ShapeError(f"matrix_norm: expected a value with 2 or more dimensions, got shape "
                         f"{tuple(x.shape)}")
    if not isinstance(axis, (tuple, list)) or len(axis) != 2:
        raise ShapeError(f"matrix_norm: axis must be a pair of axes, got {axis!r}")
    rows, columns = (normalize_axis(a, ndim, "matrix_norm") for a in axis)
    if rows == columns:
        raise ShapeError(f"matrix_norm: axis must be two different axes, got {axis!r}")
    if ord == "fro":
        return vector_norm(x, 2, (rows, columns), keepdims)
    if ord == "nuc" or ord in (2, -2):
        raise UnsupportedNormError(f"matrix_norm: ord={ord!r} needs singular values, which "
                                   "dualgraph cannot compute yet; 'fro', 1, -1, inf and -inf "
                                   "are supported")
    if isinstance(ord, str) or ord not in (1, -1, math.inf, -math.inf):
        raise ArgumentError(f"matrix_norm: ord must be one of 'fro', 'nuc', 1, -1, 2, -2, inf "
                            f"and -inf, got {ord!r}")
    if x.dtype.kind != "f":
        raise DTypeError(f"matrix_norm: expected a floating point input, got dtype {x.dtype}")
    summed_axis, extreme_axis = (rows, columns) if abs(ord) == 1 else (columns, rows)
    if x.shape[extreme_axis] == 0:
        raise ShapeError(f"matrix_norm: cannot take the {ord} norm of shape {tuple(x.shape)}, "
                         f"whose axis {extreme_axis} has size 0 (the norm has no identity)")
    sums = F.sum(F.abs(x), summed_axis, keepdims=True)
    extreme = F.max if ord > 0 else F.min
    result = extreme(sums, extreme_axis, keepdims=True)
    return result if keepdims else F.squeeze(result, (rows, columns))


from framework.ops import functions as F  # noqa: E402  (rules call back into the functions)
