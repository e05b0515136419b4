"""Reductions over any set of axes, with keepdims: sum, mean, prod, max, min, argmax, argmin,
logsumexp and var.

Layout. Every reduction shares one layout step, `as_blocks`: size-1 axes are dropped, neighbouring
axes of the same kind (reduced or kept) are merged, and the input is viewed as a 3-d
(outer, reduced, inner) array. When the reduced axes form one run, a C-contiguous input has that
view for free: `axis=-1` gives inner == 1 (each row is reduced along contiguous memory), `axis=0`
gives outer == 1 (rows are folded into an accumulator row, with no transpose and no copy). Only
when reduced and kept axes interleave (axes (0, 2) of a 3-d input) does it fall back to `as_rows`:
move the reduced axes last and copy into a (kept, reduced) matrix. Strided inputs are copied to
C order first, so every kernel sees contiguous memory and LLVM can vectorize it.

Kernels. A fold reduction is declared by three scalar bodies: `term(value, param)` (the value
itself; exp(value - max) for logsumexp; (value - mean)**2 for var), `combine(acc, term)` (add,
multiply, NaN-propagating maximum/minimum) and `finish(acc, param, count)` (keep, divide by the
count, log + max). From them `FOLD_TEMPLATE` generates the row and column kernels, as the
elementwise family does from its scalar bodies. Large inputs split the reduced axis into chunks,
one per thread, when there are too few kept rows to share out; each chunk folds into its own
partial result and `finish_partials` combines the chunks in order. Small tensors are mostly call
overhead: for a one-fold reduction (sum, mean, prod, max, min) of a C-contiguous input, a plan
cached per (op, shape, dtype) holds the block shape and the serial kernel with its arguments
(`reduce_plain`, which leaves out the parameter array such folds never read), so `cpu` is an
allocation, a reshape and one kernel call. argmax/argmin have their own
template (`ARG_TEMPLATE`), since they carry an index beside the value.

Numerics. Floating sums accumulate in float64 whatever the input (NumPy sums float32 pairwise in
float32; ours is more accurate and, vectorized, faster). A column fold over float32 first combines
ROW_GROUP rows in float32 (twice the vector lanes), then adds each group into its float64
accumulator. Only the accumulation loops carry `fastmath={'reassoc'}`, which lets LLVM split a
sum into vector lanes: it never assumes the absence of NaN or inf, so a NaN still propagates
through sum, prod and mean. max and min return NaN when the slice holds one (as NumPy does):
along contiguous rows a vector scan written in LLVM IR (`_vector_scan`) keeps one
compare-and-select per vector plus a NaN mask; elsewhere LLVM's NaN-propagating
`llvm.maximum`/`llvm.minimum` combine the values. argmax/argmin use the same scan with an index
per lane, and return the first NaN's index, or else the first occurrence of the extreme value,
like NumPy. logsumexp subtracts the slice's maximum, so it never overflows; a slice of -inf gives
-inf, one holding +inf gives +inf, and an empty one gives -inf (the log of an empty sum). Its exp
is a vectorizable polynomial (`exp_nonpositive`): without SVML, numba would call libm once per
element.

dtypes follow NumPy, since the tests compare with NumPy: sum and prod of bool or ints give int64
(NumPy's default integer on 64-bit Linux); mean of bool or ints gives float64 (as NumPy; PyTorch
refuses integer means); max and min keep the dtype; argmax/argmin give int64; logsumexp and var
take floats only. Empty reductions: sum gives 0, prod 1, mean and var NaN (quietly, where NumPy
warns), logsumexp -inf; max, min, argmax and argmin raise ShapeError, as NumPy raises.
"""

from __future__ import annotations

import builtins
import dataclasses
import functools
import math
from collections.abc import Callable
from typing import ClassVar

import llvmlite.ir as llvm_ir
import numba
import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from framework import dtypes
from framework.codegen import load_module, source_fingerprint
from framework.device import empty
from framework.errors import ShapeError
from framework.ops.dispatch import as_operand, bind
from framework.ops.movement import contiguous
from framework.ops.registry import Op, Spec, cached_op, register, require_dtype
from framework.shapes import is_known, normalize_axes, normalize_axis, reduced_shape, size_of

__all__ = ["sum", "mean", "prod", "max", "min", "argmax", "argmin", "logsumexp", "var"]

# Below this many elements a reduction runs on one thread. Above it, splitting the scan over
# the cores pays even for max/argmax, which NumPy runs at memory speed on one core (at 1e6
# float32: 1.5x NumPy's time serial, 1.0x parallel). Under oversubscription (more busy threads
# than cores) parallel regions stall; make test gives each worker one thread for that reason.
PARALLEL_MIN_SIZE = 1 << 18
# Column folds (reducing a leading axis) combine this many rows in the input's dtype before
# adding the result into the accumulator row.
ROW_GROUP = 64
# argmax/argmin scan this many bytes of values per step (four AVX2 registers' worth of lanes,
# each lane keeping its own best value and index), and at most ARG_SCAN_LIMIT elements per call,
# so the lanes' int32 indices cannot overflow.
ARG_SCAN_BYTES = 64
ARG_SCAN_LIMIT = 1 << 30


# ---------------------------------------------------------------------------------------------
# Layout: (outer, reduced, inner) blocks.


@functools.lru_cache(maxsize=1024)
def blocks_plan(shape: tuple, axes: tuple) -> tuple:
    """(outer, reduced, inner, order) for reducing `axes` of `shape`.

    `order` is None when the input can be viewed as (outer, reduced, inner) once C-contiguous;
    otherwise it is the transpose (kept axes, then reduced axes) that `as_rows` copies.

    >>> blocks_plan((1000, 1000), (0,)), blocks_plan((2, 3, 4), (0, 2))
    ((1, 1000, 1000, None), (3, 8, 1, (1, 0, 2)))
    """
    runs: list[list] = []  # [is_reduced, merged size] for runs of neighbouring axes
    for axis, size in enumerate(shape):
        if size == 1:
            continue  # a size-1 axis is neither kept nor reduced in memory
        reduced = axis in axes
        if runs and runs[-1][0] == reduced:
            runs[-1][1] *= size
        else:
            runs.append([reduced, size])
    reduced_runs = [i for i, (reduced, _) in enumerate(runs) if reduced]
    if len(reduced_runs) > 1 or (reduced_runs and reduced_runs[0] > 1):
        kept = tuple(a for a in range(len(shape)) if a not in axes)
        outer = math.prod(shape[a] for a in kept)
        return outer, math.prod(shape[a] for a in axes), 1, kept + tuple(axes)
    sizes = [size for _, size in runs]
    if not reduced_runs:
        return math.prod(sizes), 1, 1, None
    j = reduced_runs[0]
    return math.prod(sizes[:j]), sizes[j], math.prod(sizes[j + 1:]), None


def as_rows(x: np.ndarray, order: tuple, kept: int, reduced: int) -> np.ndarray:
    """Move the reduced axes last (`order`) and copy into a C-contiguous (kept, reduced) matrix."""
    return contiguous(np.transpose(x, order)).reshape(kept, reduced)


def as_blocks(x: np.ndarray, axes: tuple) -> np.ndarray:
    """`x` as a C-contiguous (outer, reduced, inner) array; a view unless the layout needs a copy.

    >>> as_blocks(np.zeros((4, 5, 6)), (1,)).shape
    (4, 5, 6)
    """
    outer, reduced, inner, order = blocks_plan(x.shape, axes)
    if order is not None:
        return as_rows(x, order, outer, reduced).reshape(outer, reduced, 1)
    return contiguous(x).reshape(outer, reduced, inner)


def work_split(outer: int, reduced: int, inner: int) -> tuple[int, bool]:
    """(chunks of the reduced axis, run in parallel?) for a block shape.

    Many kept rows are shared out between threads as they are; a few long ones (a full
    reduction has one) are cut into one chunk per thread.
    """
    if outer * reduced * inner < PARALLEL_MIN_SIZE:
        return 1, False
    threads = numba.get_num_threads()
    if outer >= threads or reduced < threads:
        return 1, outer > 1
    return threads, True


# ---------------------------------------------------------------------------------------------
# Scalar bodies and intrinsics the generated kernels are built from.


def _extremum(a, b, float_name: str, signed_name: str, unsigned_name: str):
    if a != b or not isinstance(a, (types.Float, types.Integer)):
        return None
    if isinstance(a, types.Float):
        name = f"llvm.{float_name}.f{a.bitwidth}"
    else:
        name = f"llvm.{signed_name if a.signed else unsigned_name}.i{a.bitwidth}"

    def codegen(context, builder, signature, args):
        return _call(builder, name, args[0].type, args)

    return a(a, b), codegen


@intrinsic
def maximum(typingctx, a, b):
    """The larger of a and b; NaN if either is NaN (LLVM's llvm.maximum, which vectorizes)."""
    return _extremum(a, b, "maximum", "smax", "umax")


@intrinsic
def minimum(typingctx, a, b):
    """The smaller of a and b; NaN if either is NaN (LLVM's llvm.minimum, which vectorizes)."""
    return _extremum(a, b, "minimum", "smin", "umin")


@intrinsic
def float64_from_bits(typingctx, bits):
    """Reinterpret an int64's bits as a float64 (how `exp_nonpositive` builds 2**k)."""
    if bits != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], llvm_ir.DoubleType())

    return types.float64(types.int64), codegen


def _vector_scan(values, largest: bool, with_index: bool):
    """Typing and LLVM code of the `scan_*` intrinsics, for a 1-d C-contiguous array.

    numba vectorizes neither an argmax loop (the index rides along with the value) nor a
    NaN-propagating max reduction without fast-math flags that would let it ignore NaN. These
    loops are therefore written with LLVM vectors of ARG_SCAN_BYTES: each lane keeps the best
    value (and its index) of its stride with a plain compare-and-select (one vmaxps, say), while a
    second mask records whether any lane met a NaN. The lanes are then reduced to the extreme and,
    for the arg scans, the lowest index holding it.

    Only whole vectors are scanned; the caller finishes the few elements left (`covered` says
    how many were scanned: 0 when not even one vector fits). A NaN anywhere in the scanned part
    makes the value NaN, and the index -1 (the caller then finds the first NaN).
    """
    if not (isinstance(values, types.Array) and values.ndim == 1 and values.layout == "C"
            and isinstance(values.dtype, (types.Float, types.Integer))):
        return None
    dtype = values.dtype
    is_float = isinstance(dtype, types.Float)
    lanes = ARG_SCAN_BYTES // (dtype.bitwidth // 8)
    direction = ">" if largest else "<"
    if is_float:
        reduce_name = f"llvm.vector.reduce.f{'max' if largest else 'min'}.v{lanes}f{dtype.bitwidth}"
    else:
        kind = ("s" if dtype.signed else "u") + ("max" if largest else "min")
        reduce_name = f"llvm.vector.reduce.{kind}.v{lanes}i{dtype.bitwidth}"
    result_type = types.int64 if with_index else dtype

    def codegen(context, builder, signature, args):
        array = context.make_array(values)(context, builder, args[0])
        bit, int32, int64 = llvm_ir.IntType(1), llvm_ir.IntType(32), llvm_ir.IntType(64)
        element = context.get_data_type(dtype)
        vector = llvm_ir.VectorType(element, lanes)
        index_vector = llvm_ir.VectorType(int32, lanes)
        mask_vector = llvm_ir.VectorType(bit, lanes)
        step = llvm_ir.Constant(int64, lanes)
        covered = builder.sub(array.nitems, builder.urem(array.nitems, step))
        best = cgutils.alloca_once(builder, vector)
        best_index = cgutils.alloca_once(builder, index_vector)
        position = cgutils.alloca_once(builder, index_vector)
        nan_seen = cgutils.alloca_once(builder, mask_vector)
        result = cgutils.alloca_once_value(builder, llvm_ir.Constant(context.get_value_type(
            result_type), 0))
        stride = llvm_ir.Constant(index_vector, [lanes] * lanes)

        def load(offset):
            address = builder.bitcast(builder.gep(array.data, [offset]), vector.as_pointer())
            return builder.load(address, align=dtype.bitwidth // 8)

        def is_nan(vector_value):
            return builder.fcmp_unordered("uno", vector_value, vector_value)

        def splat(scalar, vector_type):
            one = builder.insert_element(llvm_ir.Constant(vector_type, llvm_ir.Undefined), scalar,
                                         llvm_ir.Constant(int32, 0))
            return builder.shuffle_vector(one, llvm_ir.Constant(vector_type, llvm_ir.Undefined),
                                          llvm_ir.Constant(index_vector, [0] * lanes))

        with builder.if_then(builder.icmp_unsigned(">", covered, llvm_ir.Constant(int64, 0))):
            first = load(llvm_ir.Constant(int64, 0))
            builder.store(first, best)
            lane_ids = llvm_ir.Constant(index_vector, list(range(lanes)))
            builder.store(lane_ids, best_index)
            builder.store(builder.add(lane_ids, stride), position)
            builder.store(is_nan(first) if is_float else llvm_ir.Constant(mask_vector, None),
                          nan_seen)
            with cgutils.for_range_slice(builder, step, covered, step) as (offset, _):
                new, old, here = load(offset), builder.load(best), builder.load(position)
                if is_float:
                    better = builder.fcmp_ordered(direction, new, old)
                    builder.store(builder.or_(builder.load(nan_seen), is_nan(new)), nan_seen)
                elif dtype.signed:
                    better = builder.icmp_signed(direction, new, old)
                else:
                    better = builder.icmp_unsigned(direction, new, old)
                builder.store(builder.select(better, new, old), best)
                if with_index:
                    builder.store(builder.select(better, here, builder.load(best_index)),
                                  best_index)
                    builder.store(builder.add(here, stride), position)
            found = builder.load(best)
            # The lanes hold no NaN that matters: a NaN seen overrides the result below.
            extreme = _call(builder, reduce_name, element, [found],
                            fastmath=("nnan",) if is_float else ())
            if with_index:
                holds = (builder.fcmp_ordered("==", found, splat(extreme, vector)) if is_float
                         else builder.icmp_signed("==", found, splat(extreme, vector)))
                candidates = builder.select(holds, builder.load(best_index),
                                            llvm_ir.Constant(index_vector, [2**31 - 1] * lanes))
                answer = builder.sext(_call(builder, f"llvm.vector.reduce.smin.v{lanes}i32",
                                            int32, [candidates]), int64)
            else:
                answer = extreme
            if is_float:
                any_nan = _call(builder, f"llvm.vector.reduce.or.v{lanes}i1", bit,
                                [builder.load(nan_seen)])
                nan_answer = llvm_ir.Constant(int64 if with_index else element,
                                              -1 if with_index else math.nan)
                answer = builder.select(any_nan, nan_answer, answer)
            builder.store(answer, result)
        return context.make_tuple(builder, signature.return_type,
                                  [builder.load(result), covered])

    return types.Tuple((result_type, types.int64))(values), codegen


def _call(builder, name: str, return_type, args, fastmath=()):
    function_type = llvm_ir.FunctionType(return_type, [a.type for a in args])
    function = cgutils.get_or_insert_function(builder.module, function_type, name)
    return builder.call(function, args, fastmath=fastmath)


@intrinsic
def scan_argmax(typingctx, values):
    """(index of the first largest element or -1 after a NaN, elements scanned)."""
    return _vector_scan(values, largest=True, with_index=True)


@intrinsic
def scan_argmin(typingctx, values):
    """(index of the first smallest element or -1 after a NaN, elements scanned)."""
    return _vector_scan(values, largest=False, with_index=True)


@intrinsic
def scan_max(typingctx, values):
    """(largest element, NaN if any is NaN; elements scanned)."""
    return _vector_scan(values, largest=True, with_index=False)


@intrinsic
def scan_min(typingctx, values):
    """(smallest element, NaN if any is NaN; elements scanned)."""
    return _vector_scan(values, largest=False, with_index=False)


_LOG2_E = 1.4426950408889634
# ln 2 split in two: k * _LN2_HIGH is exact for the k that occur, so the reduced argument keeps
# full precision (Cody and Waite's range reduction).
_LN2_HIGH = 6.93147180369123816490e-01
_LN2_LOW = 1.90821492927058770002e-10


@numba.njit(fastmath={"contract"}, cache=True)
def exp_nonpositive(t):
    """exp(t) for t <= 0 in float64, as straight-line code LLVM can vectorize.

    t = k ln2 + r with |r| <= ln2 / 2; exp(r) by its Taylor series to r**12 (relative error
    below 4e-16), times 2**k built from its bits. Below -708 (and for NaN) the result is
    exp(-708) ~ 3e-308 instead of a subnormal: that changes no sum that also holds exp(0) = 1,
    and logsumexp never sums a NaN (the max of a slice holding NaN is NaN, and
    `log_plus_shift_finish` returns it).
    """
    t = t if t > -708.0 else -708.0
    k = np.floor(t * _LOG2_E + 0.5)
    r = (t - k * _LN2_HIGH) - k * _LN2_LOW
    p = 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    return p * float64_from_bits((np.int64(np.int32(k)) + 1023) << 52)


@numba.njit(inline="always")
def value_term(value, param):
    return value


@numba.njit(inline="always")
def exp_shifted_term(value, shift):
    return exp_nonpositive(np.float64(value) - shift)


@numba.njit(inline="always")
def squared_deviation_term(value, mean):
    deviation = np.float64(value) - mean
    return deviation * deviation


@numba.njit(inline="always")
def add_combine(acc, term):
    return acc + term


@numba.njit(inline="always")
def multiply_combine(acc, term):
    return acc * term


@numba.njit(inline="always")
def keep_finish(acc, param, count):
    return acc


@numba.njit(inline="always")
def divide_finish(acc, param, count):
    return acc / count


@numba.njit(inline="always")
def log_plus_shift_finish(acc, shift, count):
    # A non-finite shift is the answer itself: -inf for a row of -inf (or an empty row), +inf
    # when the row holds +inf, NaN when it holds NaN.
    if math.isfinite(shift):
        return math.log(acc) + shift
    return shift


@numba.njit(cache=True)
def max_values(values, acc, param):
    """The max fold of a contiguous row: the vector scan, then the few elements it left."""
    value, covered = scan_max(values)
    if covered:
        acc = maximum(acc, value)
    for i in range(covered, values.size):
        acc = maximum(acc, values[i])
    return acc


@numba.njit(cache=True)
def min_values(values, acc, param):
    """The min fold of a contiguous row: the vector scan, then the few elements it left."""
    value, covered = scan_min(values)
    if covered:
        acc = minimum(acc, value)
    for i in range(covered, values.size):
        acc = minimum(acc, values[i])
    return acc


@numba.njit(inline="always")
def greater(a, b):
    return a > b


@numba.njit(inline="always")
def less(a, b):
    return a < b


@numba.njit(inline="always")
def chunk_bounds(size, chunks, chunk):
    """[start, stop) of one of `chunks` near-equal, in-order parts of range(size)."""
    return chunk * size // chunks, (chunk + 1) * size // chunks


# ---------------------------------------------------------------------------------------------
# Generated kernels.

FOLD_TEMPLATE = """\
# Generated by framework.ops.reduction for the {name} fold; bodies fingerprint {fingerprint}.
import numba
import numpy as np
from numba import prange

from framework.ops.reduction import ROW_GROUP, chunk_bounds
from framework.ops.reduction import {combine} as combine
from framework.ops.reduction import {finish} as finish
from framework.ops.reduction import {term} as term


{fold_values}


@numba.njit(fastmath={{"reassoc"}}, cache=True)
def fold_rows(block, acc, params, group):
    # ROW_GROUP rows at a time are folded into `group` (in the input's dtype when that is
    # narrower than the accumulator's: float32 lanes are twice as many), then into `acc`.
    for first in range(0, block.shape[0], ROW_GROUP):
        row = block[first]
        for i in range(acc.size):
            group[i] = term(row[i], {column_param})
        for r in range(first + 1, min(first + ROW_GROUP, block.shape[0])):
            row = block[r]
            for i in range(acc.size):
                group[i] = combine(group[i], term(row[i], {column_param}))
        for i in range(acc.size):
            acc[i] = combine(acc[i], group[i])


@numba.njit(cache=True)
def row_task(rows, params, partial, task):
    chunks = partial.shape[1]
    row = task // chunks
    chunk = task - row * chunks
    start, stop = chunk_bounds(rows.shape[1], chunks, chunk)
    partial[row, chunk, 0] = fold_values(rows[row][start:stop], partial[row, chunk, 0],
                                         {row_param})


@numba.njit(cache=True)
def column_task(x, params, partial, groups, task):
    chunks = partial.shape[1]
    outer = task // chunks
    chunk = task - outer * chunks
    start, stop = chunk_bounds(x.shape[1], chunks, chunk)
    fold_rows(x[outer][start:stop], partial[outer, chunk], params[outer], groups[task])


@numba.njit(error_model="numpy", cache=True)
def finish_partials(partial, params, count, out):
    outer, chunks, inner = partial.shape
    for o in range(outer):
        for i in range(inner):
            acc = partial[o, 0, i]
            for chunk in range(1, chunks):
                acc = combine(acc, partial[o, chunk, i])
            out[o * inner + i] = finish(acc, {finish_param}, count)


@numba.njit(cache=True)
def reduce(x, params, start, group_zero, count, out):
    outer, reduced, inner = x.shape
    partial = np.full((outer, 1, inner), start)
    if reduced and inner == 1:
        rows = x.reshape(outer, reduced)
        for row in range(outer):
            partial[row, 0, 0] = fold_values(rows[row], start, {row_param})
    elif reduced:
        group = np.full(inner, group_zero)
        for outer_index in range(outer):
            fold_rows(x[outer_index], partial[outer_index, 0], params[outer_index], group)
    finish_partials(partial, params, count, out)


@numba.njit(cache=True)
def reduce_plain(x, start, group_zero, count, out):
    # `reduce` for a fold that reads no parameter, less that argument: on small inputs numba's
    # dispatch of each argument is much of the time. The stand-in params are never read.
    reduce(x, np.empty((x.shape[0], 1)), start, group_zero, count, out)


@numba.njit(parallel=True, cache=True)
def reduce_parallel(x, params, start, group_zero, count, chunks, out):
    outer, reduced, inner = x.shape
    partial = np.full((outer, chunks, inner), start)
    if inner == 1:
        rows = x.reshape(outer, reduced)
        for task in prange(outer * chunks):
            row_task(rows, params, partial, task)
    else:
        groups = np.full((outer * chunks, inner), group_zero)
        for task in prange(outer * chunks):
            column_task(x, params, partial, groups, task)
    finish_partials(partial, params, count, out)
"""

ARG_TEMPLATE = """\
# Generated by framework.ops.reduction for {name}; bodies fingerprint {fingerprint}.
import numba
import numpy as np
from numba import prange

from framework.ops.reduction import ARG_SCAN_LIMIT, chunk_bounds
from framework.ops.reduction import {beats} as beats
from framework.ops.reduction import {scan} as scan


@numba.njit(inline="always")
def takes_over(value, best):
    # A NaN wins over any number; between two NaNs or two equal numbers the first one stays.
    return beats(value, best) or (value != value and best == best)


@numba.njit(inline="always")
def arg_piece(piece):
    index, covered = scan(piece)
    if index < 0:  # a NaN among the scanned elements: the first one wins
        index = 0
        while piece[index] == piece[index]:
            index += 1
        return index
    for i in range(covered, piece.size):
        if takes_over(piece[i], piece[index]):
            index = i
    return index


@numba.njit(cache=True)
def arg_values(values):
    if values.size <= ARG_SCAN_LIMIT:
        index = arg_piece(values)
        return values[index], index
    best = values[0]
    best_index = 0
    for start in range(0, values.size, ARG_SCAN_LIMIT):
        piece = values[start:start + ARG_SCAN_LIMIT]
        index = arg_piece(piece)
        if takes_over(piece[index], best):
            best = piece[index]
            best_index = start + index
    return best, best_index


@numba.njit(cache=True)
def arg_rows(block, first_row, best, index):
    for r in range(block.shape[0]):
        row = block[r]
        for i in range(best.size):
            value = row[i]
            current = best[i]
            take = takes_over(value, current)
            best[i] = value if take else current
            index[i] = first_row + r if take else index[i]


@numba.njit(cache=True)
def row_task(rows, best, index, task):
    chunks = best.shape[1]
    row = task // chunks
    chunk = task - row * chunks
    start, stop = chunk_bounds(rows.shape[1], chunks, chunk)
    value, position = arg_values(rows[row][start:stop])
    best[row, chunk, 0] = value
    index[row, chunk, 0] = start + position


@numba.njit(cache=True)
def column_task(x, best, index, task):
    chunks = best.shape[1]
    outer = task // chunks
    chunk = task - outer * chunks
    start, stop = chunk_bounds(x.shape[1], chunks, chunk)
    best[outer, chunk] = x[outer, start]
    index[outer, chunk] = start
    arg_rows(x[outer][start + 1:stop], start + 1, best[outer, chunk], index[outer, chunk])


@numba.njit(cache=True)
def reduce(x, out):
    outer, reduced, inner = x.shape
    if inner == 1:
        rows = x.reshape(outer, reduced)
        for row in range(outer):
            out[row] = arg_values(rows[row])[1]
    else:
        best = np.empty((outer, 1, inner), x.dtype)
        index = np.empty((outer, 1, inner), np.int64)
        for task in range(outer):
            column_task(x, best, index, task)
        finish_partials(best, index, out)


@numba.njit(parallel=True, cache=True)
def reduce_parallel(x, chunks, out):
    outer, reduced, inner = x.shape
    best = np.empty((outer, chunks, inner), x.dtype)
    index = np.empty((outer, chunks, inner), np.int64)
    if inner == 1:
        rows = x.reshape(outer, reduced)
        for task in prange(outer * chunks):
            row_task(rows, best, index, task)
    else:
        for task in prange(outer * chunks):
            column_task(x, best, index, task)
    finish_partials(best, index, out)


@numba.njit(cache=True)
def finish_partials(best, index, out):
    outer, chunks, inner = best.shape
    for o in range(outer):
        for i in range(inner):
            value = best[o, 0, i]
            position = index[o, 0, i]
            for chunk in range(1, chunks):
                if takes_over(best[o, chunk, i], value):
                    value = best[o, chunk, i]
                    position = index[o, chunk, i]
            out[o * inner + i] = position
"""


GENERIC_FOLD_VALUES = """\
@numba.njit(fastmath={"reassoc"}, cache=True)
def fold_values(values, acc, param):
    for i in range(values.size):
        acc = combine(acc, term(values[i], param))
    return acc"""


@dataclasses.dataclass(frozen=True)
class Fold:
    """A fold reduction's scalar bodies: acc = combine(acc, term(value, param)), then
    finish(acc, param, count). `takes_param`: the term and finish read one float64 per output
    element (the shift of logsumexp, the mean of var); other folds are compiled without it."""

    name: str
    term: Callable
    combine: Callable
    finish: Callable
    takes_param: bool = False
    # A hand-written fold of a contiguous row, `(values, acc, param) -> acc`, in place of the
    # generated loop (max and min: LLVM cannot vectorize theirs).
    fold_values: Callable | None = None

    @functools.cached_property
    def kernels(self):
        """The generated module: `reduce` runs the whole fold, `reduce_parallel` on threads."""
        access = {"row_param": "params[row, 0]", "column_param": "params[i]",
                  "finish_param": "params[o, i]"}
        if not self.takes_param:
            access = dict.fromkeys(access, "0.0")
        fold_values = GENERIC_FOLD_VALUES
        if self.fold_values is not None:
            fold_values = ("from framework.ops.reduction import "
                           f"{_python_function(self.fold_values).__name__} as fold_values")
        return _load_kernels(FOLD_TEMPLATE, self.name, term=self.term, combine=self.combine,
                             finish=self.finish, fold_values=fold_values, **access)

    def serial_call(self, dtype: np.dtype, start, count: float) -> tuple:
        """(kernel, arguments between the blocks and `out`) of a serial `run` on blocks of
        `dtype` by a fold without a parameter: worked out once, for a plan to reuse."""
        assert not self.takes_param
        return self.kernels.reduce_plain, (start, self.group_zero(dtype, start), np.float64(count))

    def run(self, blocks: np.ndarray, out: np.ndarray, start, params=None,
            count: float = 1.0) -> None:
        """Fold `blocks` (outer, reduced, inner) into `out` (outer * inner elements).

        `start` is the identity the fold starts from, a NumPy scalar of the accumulator's dtype
        (it is the result of an empty reduction); `params` is (outer, inner) float64 when the
        fold takes a parameter.
        """
        chunks, parallel = work_split(*blocks.shape)
        if params is None:
            params = _no_params(blocks.shape[0])
        group_zero = self.group_zero(blocks.dtype, start)
        if parallel:
            self.kernels.reduce_parallel(blocks, params, start, group_zero, np.float64(count),
                                         chunks, out.reshape(-1))
        else:
            self.kernels.reduce(blocks, params, start, group_zero, np.float64(count),
                                out.reshape(-1))

    def group_zero(self, dtype: np.dtype, start):
        """A scalar of the dtype that column folds use within a group of rows: float32 for a
        plain float32 fold (the group is short, the float64 accumulator takes the sums of
        groups), else the accumulator's dtype."""
        if dtype == dtypes.float32 and self.term is value_term:
            return np.float32(0)
        return start


# What folds without a parameter receive in its place (never read).
_NO_PARAMS = np.zeros((1, 1))


@functools.lru_cache(maxsize=256)
def _no_params(rows: int) -> np.ndarray:
    """Kernels index params by outer row even when the fold reads none: a zero-stride view
    gives every row the same slot without allocating one per row (made once per row count:
    np.broadcast_to costs more than a small reduction)."""
    return np.broadcast_to(_NO_PARAMS, (rows, 1))


def _python_function(body):
    """The Python function behind a numba function or intrinsic."""
    return getattr(body, "py_func", None) or getattr(body, "_defn", body)


@functools.cache
def _bodies_fingerprint() -> str:
    # The generated modules inline these bodies, so their source is part of the kernels: when a
    # body changes, the fingerprint changes the generated file, and numba compiles it afresh.
    return source_fingerprint(*(_python_function(body) for body in _KERNEL_BODIES))


_KERNEL_MODULES: dict = {}


def _load_kernels(template: str, name: str, **parts):
    """The generated module of one reduction (named `name`), written and imported once.

    `parts` fill the template: numba functions and intrinsics by their names, strings as they are.
    """
    module = _KERNEL_MODULES.get(name)
    if module is None:
        names = {role: part if isinstance(part, str) else _python_function(part).__name__
                 for role, part in parts.items()}
        source = template.format(name=name, fingerprint=_bodies_fingerprint(), **names)
        module = _KERNEL_MODULES[name] = load_module(source, f"reduction_{name}")
    return module


_KERNEL_BODIES = (_extremum, maximum, minimum, _vector_scan, scan_argmax, scan_argmin, scan_max,
                  scan_min, max_values, min_values, float64_from_bits, exp_nonpositive,
                  value_term, exp_shifted_term, squared_deviation_term, add_combine,
                  multiply_combine, keep_finish, divide_finish, log_plus_shift_finish, greater,
                  less, chunk_bounds)

SUM_FOLD = Fold("sum", value_term, add_combine, keep_finish)
MEAN_FOLD = Fold("mean", value_term, add_combine, divide_finish)
PROD_FOLD = Fold("prod", value_term, multiply_combine, keep_finish)
MAX_FOLD = Fold("max", value_term, maximum, keep_finish, fold_values=max_values)
MIN_FOLD = Fold("min", value_term, minimum, keep_finish, fold_values=min_values)
SUM_EXP_FOLD = Fold("logsumexp", exp_shifted_term, add_combine, log_plus_shift_finish,
                    takes_param=True)
SQUARED_DEVIATION_FOLD = Fold("var", squared_deviation_term, add_combine, divide_finish,
                              takes_param=True)


def _arg_kernels(name: str, scan, beats):
    return _load_kernels(ARG_TEMPLATE, name, scan=scan, beats=beats)


def run_arg(kernels, blocks: np.ndarray, out: np.ndarray) -> None:
    """Index of the first extreme element along axis 1 of non-empty (outer, reduced, inner)."""
    chunks, parallel = work_split(*blocks.shape)
    if parallel:
        kernels.reduce_parallel(blocks, chunks, out.reshape(-1))
    else:
        kernels.reduce(blocks, out.reshape(-1))


# ---------------------------------------------------------------------------------------------
# Ops.


def _as_numbers(blocks: np.ndarray) -> np.ndarray:
    """bool as uint8 (a view): the kernels then treat it as the integers 0 and 1."""
    return blocks.view(np.uint8) if blocks.dtype == dtypes.bool_ else blocks


@functools.cache
def _lowest(dtype: np.dtype):
    """The lowest value of `dtype`, as a scalar of it: where a max fold starts."""
    return dtype.type(-np.inf if dtype.kind == "f" else np.iinfo(dtype).min)


@functools.cache
def _highest(dtype: np.dtype):
    """The highest value of `dtype`, as a scalar of it: where a min fold starts."""
    return dtype.type(np.inf if dtype.kind == "f" else np.iinfo(dtype).max)


@dataclasses.dataclass(frozen=True)
class Reduction(Op):
    """Shared attributes and shape rule: `axis` (a tuple of ints, or None for all) and
    `keepdims`. Subclasses give the dtype rule (`result_dtype`) and `compute(blocks, out)`,
    which fills `out` from the (outer, reduced, inner) blocks of the input."""

    axis: tuple | None = None
    keepdims: bool = False

    input_dtypes: ClassVar[tuple] = dtypes.NUMERIC + (dtypes.bool_,)
    # max, min, argmax, argmin: no identity, so an empty reduction is an error (as in NumPy).
    needs_elements: ClassVar[bool] = False
    # The fold of a reduction that is one fold (sum, mean, prod, max, min): `compute` runs it
    # from `start(dtype)`, and `cpu` can run it straight from a cached plan. None for the
    # others, which override `compute`.
    fold: ClassVar[Fold | None] = None

    def infer(self, x):
        return _inferred(self, tuple(x.shape), x.dtype)

    def check(self, shape: tuple, dtype: np.dtype) -> Spec:
        """The shape-and-dtype rule itself (`infer` remembers its answers)."""
        x = Spec(shape, dtype)
        require_dtype(self.name, x, self.input_dtypes)
        axes = self.axes_for(len(x.shape))
        if self.needs_elements:
            empty_axes = [a for a in axes if x.shape[a] == 0]
            if empty_axes:
                raise ShapeError(f"{self.name}: cannot reduce over axis {empty_axes[0]} of "
                                 f"shape {tuple(x.shape)}, which has size 0; {self.name} of "
                                 "no elements is undefined")
        return Spec(reduced_shape(x.shape, axes, self.keepdims), self.result_dtype(x.dtype))

    def result_dtype(self, dtype: np.dtype) -> np.dtype:
        return dtype

    def axes_for(self, ndim: int) -> tuple[int, ...]:
        return reduced_axes(self.axis, ndim, self.name)

    def cpu(self, x):
        axes, out_shape, out_dtype, fast = _reduction_plan(self, x.shape, x.dtype)
        out = empty(out_shape, out_dtype)
        if fast is not None and x.flags.c_contiguous:
            # The small-tensor hot path: the blocks are a view, the rest was worked out once.
            blocks, kernel, arguments = fast
            kernel(x.reshape(blocks), *arguments, out.reshape(-1))
        elif out.size:
            self.compute(as_blocks(x, axes), out)
        return out

    def compute(self, blocks, out):
        """Fill `out` from the (outer, reduced, inner) blocks: here, the one-fold reductions."""
        blocks = _as_numbers(blocks)
        self.fold.run(blocks, _as_numbers(out), self.start(blocks.dtype), count=blocks.shape[1])

    def start(self, dtype: np.dtype):
        """Where `fold` starts on numbers of `dtype` (a scalar of its accumulator's dtype)."""
        raise NotImplementedError

    def count(self, shape) -> int | None:
        """Elements folded into each output element (None when a shape is unknown)."""
        return _gradient_shapes(tuple(shape), self.axis)[1]

    def restore(self, g, in_shape):
        """`g` (shaped like this op's output) with the reduced axes back as size 1."""
        return restore_reduced_axes(g, in_shape, self.axis, self.keepdims)


@functools.lru_cache(maxsize=1024)
def _inferred(op: Op, shape: tuple, dtype: np.dtype) -> Spec:
    return op.check(shape, dtype)


@functools.lru_cache(maxsize=1024)
def _reduction_plan(op: Reduction, shape: tuple, dtype: np.dtype) -> tuple:
    """What `cpu` needs for `op` on an input of `shape` and `dtype`, worked out once:
    (reduced axes, output shape, output dtype, fast). `fast` is (block shape, kernel, the
    kernel's arguments between the blocks and the output) where a one-fold reduction of a
    C-contiguous input runs one serial kernel on a view; else None."""
    axes = op.axes_for(len(shape))
    out_shape = reduced_shape(shape, axes, op.keepdims)
    outer, reduced, inner, order = blocks_plan(shape, axes)
    fast = None
    if (op.fold is not None and order is None and dtype != dtypes.bool_ and size_of(out_shape)
            and outer * reduced * inner < PARALLEL_MIN_SIZE):  # serial whatever the threads
        fast = ((outer, reduced, inner),) + op.fold.serial_call(dtype, op.start(dtype), reduced)
    return axes, out_shape, op.result_dtype(dtype), fast


@functools.lru_cache(maxsize=1024)
def _gradient_shapes(in_shape: tuple, axis) -> tuple:
    """(keepdims shape of the result, elements per result element) of reducing `axis` of
    `in_shape`, each None where unknown dimensions leave it unknown: what gradient rules ask
    on every call, worked out once."""
    axes = reduced_axes(axis, len(in_shape))
    kept_shape = reduced_shape(in_shape, axes, keepdims=True) if is_known(in_shape) else None
    return kept_shape, size_of(tuple(in_shape[a] for a in axes))


def reduced_axes(axis, ndim: int, op: str = "reduction") -> tuple[int, ...]:
    """Sorted non-negative reduced axes; a 0-d input accepts axis 0 or -1 and reduces nothing."""
    axes = normalize_axes(axis, ndim, op)
    return axes if ndim else ()


def restore_reduced_axes(g, in_shape, axis, keepdims):
    """Reshape a reduction's gradient so it broadcasts against the input (keepdims form).

    A reshape when the input's shape is known; otherwise `unsqueeze` inserts the size-1 axes,
    which works whatever number of dimensions are unknown until run time.
    """
    if keepdims or not g.shape:  # a 0-d gradient already broadcasts against any input
        return g
    kept_shape = _gradient_shapes(tuple(in_shape), axis)[0]
    if kept_shape is not None:
        return F.reshape(g, kept_shape)
    return F.unsqueeze(g, reduced_axes(axis, len(in_shape)))


def _accumulator(dtype: np.dtype) -> np.dtype:
    return dtypes.float64 if dtype.kind == "f" else dtypes.int64


_FLOAT64_ZERO = np.float64(0)


@functools.cache
def _accumulator_start(dtype: np.dtype, value: int):
    """`value` as a scalar of the accumulator dtype for numbers of `dtype` (made once)."""
    return _accumulator(dtype).type(value)


def _reduce(cls: type, x, axis, keepdims, *more_attributes):
    """Bind the reduction `cls` over `axis` to the value `x` (the neutral functions' body)."""
    op = cached_op(cls, _axis_attribute(axis, cls.name), bool(keepdims), *more_attributes)
    return bind(op, as_operand(x))


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _axis_attribute(axis, op: str):
    """The `axis` attribute: None, or a tuple of ints for an int or a sequence of ints.

    Checked here, so ops only ever hold plain ints (True or 2.0 would otherwise pass for 1 or
    2 wherever ops are compared or hashed).
    """
    if axis is None:
        return None
    if type(axis) is int:  # the common cases, checked without a loop
        return (axis,)
    if type(axis) is tuple and len(axis) == 1 and type(axis[0]) is int:
        return axis
    axes = tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
    if not all(_is_int(a) for a in axes):
        raise ShapeError(f"{op}: axis must be an int, a tuple of ints or None, got {axis!r}")
    return tuple(int(a) for a in axes)


@register
class Sum(Reduction):
    name = "sum"
    vjp_needs_inputs = False
    fold = SUM_FOLD

    def result_dtype(self, dtype):
        return dtypes.int64 if dtype.kind in "bi" else dtype

    def start(self, dtype):
        return _accumulator_start(dtype, 0)

    def vjp(self, g, inputs, out):
        (x,) = inputs
        return F.expand_to(self.restore(g, x.shape), x)


def sum(x, axis=None, keepdims=False):
    """Sum over `axis` (an int, a tuple, or None for all); bool and ints sum to int64.

    >>> sum(np.ones((2, 3), np.float32), axis=1)
    array([3., 3.], dtype=float32)
    """
    return _reduce(Sum, x, axis, keepdims)


@register
class Mean(Reduction):
    name = "mean"
    vjp_needs_inputs = False
    fold = MEAN_FOLD

    def result_dtype(self, dtype):
        return dtype if dtype.kind == "f" else dtypes.float64

    def start(self, dtype):
        return _FLOAT64_ZERO  # means accumulate in float64 whatever the input

    def vjp(self, g, inputs, out):
        (x,) = inputs
        count = self.count(x.shape)
        if count is not None:  # scaled before it is spread: one multiply per output element
            return F.expand_to(self.restore(F.mul(g, 1.0 / count if count else math.nan),
                                            x.shape), x)
        spread = F.expand_to(self.restore(g, x.shape), x)
        counted = F.sum(F.ones_like(x, g.dtype), self.axis, keepdims=True)
        return F.div(spread, counted)


def mean(x, axis=None, keepdims=False):
    """Arithmetic mean over `axis`; bool and ints give float64 (NumPy's rule).

    >>> mean(np.array([[1, 2], [3, 5]]), axis=0)
    array([2. , 3.5])
    """
    return _reduce(Mean, x, axis, keepdims)


@register
class Prod(Reduction):
    name = "prod"
    fold = PROD_FOLD

    def result_dtype(self, dtype):
        return dtypes.int64 if dtype.kind in "bi" else dtype

    def start(self, dtype):
        return _accumulator_start(dtype, 1)

    def vjp(self, g, inputs, out):
        # d prod / d x_i is the product of the other entries. With P the product of the non-zero
        # entries: no zero in the slice -> P / x_i; exactly one zero -> P at the zero and 0
        # elsewhere; two or more -> 0. Exact to first order with zeros; second-order terms that
        # pair a zero with another entry are left out (the masks are held constant).
        (x,) = inputs
        is_zero = F.cast(F.eq(x, 0), x.dtype)
        nonzero_x = F.add(x, is_zero)  # zeros replaced by ones
        zeros = F.sum(is_zero, self.axis, keepdims=True)
        product = F.prod(nonzero_x, self.axis, keepdims=True)
        no_zero = F.cast(F.eq(zeros, 0), x.dtype)
        one_zero = F.cast(F.eq(zeros, 1), x.dtype)
        others = F.add(F.div(no_zero, nonzero_x), F.mul(one_zero, is_zero))
        return F.mul(F.mul(self.restore(g, x.shape), product), others)


def prod(x, axis=None, keepdims=False):
    """Product over `axis`; bool and ints give int64.

    >>> prod(np.array([[1., 2.], [3., 4.]], np.float32), axis=1)
    array([ 2., 12.], dtype=float32)
    """
    return _reduce(Prod, x, axis, keepdims)


class Extremum(Reduction):
    """max and min: the gradient goes to the positions holding the result.

    Ties split it evenly: each of k equal extremes gets g / k (the mask/count rule, as in
    PyTorch's amax; TensorFlow does the same), so the gradient still sums to g.
    """

    needs_elements = True
    vjp_needs_outputs = True
    identity: ClassVar[Callable]  # the fold's start value for a dtype: its lowest or highest

    def start(self, dtype):
        return self.identity(dtype)

    def vjp(self, g, inputs, out):
        (x,) = inputs
        at_extreme = F.cast(F.eq(x, self.restore(out, x.shape)), g.dtype)
        ties = F.sum(at_extreme, self.axis, keepdims=True)
        return F.mul(F.div(self.restore(g, x.shape), ties), at_extreme)


@register
class Max(Extremum):
    name = "max"
    fold = MAX_FOLD
    identity = staticmethod(_lowest)


@register
class Min(Extremum):
    name = "min"
    fold = MIN_FOLD
    identity = staticmethod(_highest)


def max(x, axis=None, keepdims=False):
    """Largest element over `axis`; NaN if the slice holds a NaN; an empty slice raises.

    >>> max(np.array([[1, 5], [7, 2]]), axis=1)
    array([5, 7])
    """
    return _reduce(Max, x, axis, keepdims)


def min(x, axis=None, keepdims=False):
    """Smallest element over `axis`; NaN if the slice holds a NaN; an empty slice raises.

    >>> min(np.array([[1, 5], [7, 2]]), axis=1)
    array([1, 2])
    """
    return _reduce(Min, x, axis, keepdims)


@register
class LogSumExp(Reduction):
    name = "logsumexp"
    input_dtypes = dtypes.FLOATS
    vjp_needs_outputs = True

    def compute(self, blocks, out):
        outer, reduced, inner = blocks.shape
        shift = np.empty((outer, inner), np.float64)
        if reduced:
            MAX_FOLD.run(blocks, shift, blocks.dtype.type(-np.inf))
        else:
            shift.fill(-np.inf)
        SUM_EXP_FOLD.run(blocks, out, np.float64(0), params=shift)

    def vjp(self, g, inputs, out):
        # The weights are softmax(x). A slice with no finite entry (all -inf, so out = -inf)
        # takes no gradient: its weights are 0 instead of exp(-inf - -inf) = NaN.
        (x,) = inputs
        finite_out = F.where(F.eq(out, -math.inf), 0.0, out)
        weights = F.exp(F.sub(x, self.restore(finite_out, x.shape)))
        return F.mul(self.restore(g, x.shape), weights)


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) over `axis`, computed stably by subtracting the maximum first.

    >>> float(logsumexp(np.array([1000.0, 1000.0])))
    1000.6931471805599
    """
    return _reduce(LogSumExp, x, axis, keepdims)


@register
@dataclasses.dataclass(frozen=True)
class Var(Reduction):
    """Variance with `correction` subtracted from the count (NumPy's ddof; 0 by default)."""

    name = "var"
    correction: float = 0
    input_dtypes = dtypes.FLOATS

    def compute(self, blocks, out):
        outer, reduced, inner = blocks.shape
        means = np.empty((outer, inner), np.float64)
        MEAN_FOLD.run(blocks, means, np.float64(0), count=reduced)
        divisor = builtins.max(reduced - self.correction, 0)
        SQUARED_DEVIATION_FOLD.run(blocks, out, np.float64(0), params=means, count=divisor)

    def vjp(self, g, inputs, out):
        # d var / d x_i = 2 (x_i - mean) / (n - correction); the mean's own dependence on x
        # cancels because the deviations sum to zero.
        (x,) = inputs
        deviation = F.sub(x, F.mean(x, self.axis, keepdims=True))
        scaled = F.mul(self.restore(g, x.shape), deviation)
        count = self.count(x.shape)
        if count is not None:
            divisor = builtins.max(count - self.correction, 0)
            return F.mul(scaled, 2.0 / divisor if divisor else math.inf)
        counted = F.sum(F.ones_like(x, g.dtype), self.axis, keepdims=True)
        return F.div(F.mul(scaled, 2.0), F.sub(counted, self.correction))


def var(x, axis=None, keepdims=False, correction=0, *, ddof=None):
    """Variance over `axis`: mean squared deviation, divided by (n - correction).

    `correction` is NumPy's `ddof` (also accepted under that name): 0, the default as in NumPy,
    gives the population variance; 1 the unbiased sample variance.

    >>> float(var(np.array([1.0, 2.0, 3.0, 4.0]), correction=1))
    1.6666666666666667
    """
    if ddof is not None:
        if correction:
            raise ShapeError("var: give `correction` or its NumPy name `ddof`, not both")
        correction = ddof
    if isinstance(correction, bool) or not isinstance(correction, (int, float)):
        raise ShapeError(f"var: correction must be a number, got {correction!r}")
    return _reduce(Var, x, axis, keepdims, correction)


@dataclasses.dataclass(frozen=True)
class ArgExtremum(Op):
    """argmax/argmin: `axis` is one int, or None for the index into the flattened input."""

    axis: int | None = None
    keepdims: bool = False
    no_gradient = "integer output"
    kind: ClassVar[str]

    def reduced_axes(self, ndim: int) -> tuple[int, ...]:
        if self.axis is None:
            return tuple(range(ndim))
        axis = normalize_axis(self.axis, ndim, self.name)
        return (axis,) if ndim else ()  # a 0-d input accepts axis 0 or -1 and reduces nothing

    def infer(self, x):
        return _inferred(self, tuple(x.shape), x.dtype)

    def check(self, shape: tuple, dtype: np.dtype) -> Spec:
        """The shape-and-dtype rule itself (`infer` remembers its answers)."""
        x = Spec(shape, dtype)
        require_dtype(self.name, x, dtypes.ALL)
        axes = self.reduced_axes(len(x.shape))
        if any(x.shape[a] == 0 for a in axes):
            raise ShapeError(f"{self.name}: cannot take the {self.kind} over a zero-size axis of "
                             f"shape {tuple(x.shape)}")
        return Spec(self.result_shape(x.shape, axes), dtypes.int64)

    def result_shape(self, shape, axes):
        if self.axis is None and not self.keepdims:
            return ()
        return reduced_shape(shape, axes, self.keepdims)

    def cpu(self, x):
        axes = self.reduced_axes(x.ndim)
        out = empty(self.infer(x).shape, dtypes.int64)
        if out.size:
            run_arg(self.kernels(), _as_numbers(as_blocks(x, axes)), out)
        return out


@register
class ArgMax(ArgExtremum):
    name = "argmax"
    kind = "maximum"

    @staticmethod
    def kernels():
        return _arg_kernels("argmax", scan_argmax, greater)


@register
class ArgMin(ArgExtremum):
    name = "argmin"
    kind = "minimum"

    @staticmethod
    def kernels():
        return _arg_kernels("argmin", scan_argmin, less)


def _single_axis(axis, op: str):
    if axis is None:
        return None
    if not _is_int(axis):
        raise ShapeError(f"{op}: axis must be one int or None, got {axis!r}")
    return int(axis)


def argmax(x, axis=None, keepdims=False):
    """Index of the largest element along `axis` (int64); the first one on ties, like NumPy,
    and the first NaN if there is one. axis=None indexes the flattened input.

    >>> argmax(np.array([[1, 7, 7], [9, 2, 9]]), axis=1)
    array([1, 0])
    """
    return bind(cached_op(ArgMax, _single_axis(axis, "argmax"), bool(keepdims)), as_operand(x))


def argmin(x, axis=None, keepdims=False):
    """Index of the smallest element along `axis` (int64); the first one on ties.

    >>> int(argmin(np.array([3, 1, 1])))
    1
    """
    return bind(cached_op(ArgMin, _single_axis(axis, "argmin"), bool(keepdims)), as_operand(x))


from framework.ops import functions as F  # noqa: E402
