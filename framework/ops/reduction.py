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

Kernels. A fold reduction is declared (`Fold`) by three scalar bodies: `term(value, param)` (the
value itself; exp(value - max) for logsumexp; (value - mean)**2 for var), `combine(acc, term)`
(add, multiply, NaN-propagating maximum/minimum) and `finish(acc, param, count)` (keep, divide by
the count, log + max). The CPU backend's reduce template (`framework.kernels.cpu.run_fold`) makes
the row and column kernels from them, as its map template does from the elementwise bodies, and
splits large inputs over the cores. Small tensors are mostly call overhead: for a one-fold
reduction (sum, mean, prod, max, min) of a C-contiguous input, a plan cached per (op, shape,
dtype) holds the block shape and the serial kernel with its arguments, so `cpu` is an
allocation, a reshape and one kernel call. argmax/argmin have their own template
(`framework.kernels.cpu.run_arg`), since they carry an index beside the value.

Numerics. Floating sums accumulate in float64 whatever the input (NumPy sums float32 pairwise in
float32; ours is more accurate and, vectorized, faster). A column fold over float32 first combines
ROW_GROUP rows in float32 (twice the vector lanes), then adds each group into its float64
accumulator. Only the accumulation loops carry `fastmath={'reassoc'}`, which lets LLVM split a
sum into vector lanes: it never assumes the absence of NaN or inf, so a NaN still propagates
through sum, prod and mean. max and min return NaN when the slice holds one (as NumPy does):
along contiguous rows a vector scan written in LLVM IR (`framework.kernels.intrinsics.scan_max`)
keeps one compare-and-select per vector plus a NaN mask; elsewhere LLVM's NaN-propagating
`llvm.maximum`/`llvm.minimum` combine the values. argmax/argmin use the same scan with an index
per lane, and return the first NaN's index, or else the first occurrence of the extreme value,
like NumPy. logsumexp subtracts the slice's maximum, so it never overflows; a slice of -inf gives
-inf, one holding +inf gives +inf, and an empty one gives -inf (the log of an empty sum). Its exp
is the kernels layer's vectorizable float64 exp: without SVML, numba would call libm once per
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

import numba
import numpy as np

from framework import dtypes
from framework.device import device_of, empty
from framework.errors import ShapeError
from framework.kernels import cpu, maths
from framework.kernels.cpu import dtype_literal, shape_literal
from framework.kernels.folds import Fold, value_term
from framework.kernels.intrinsics import (
    maximum,
    minimum,
    scan_argmax,
    scan_argmin,
    scan_max,
    scan_min,
)
from framework.kernels.lowered import Lowered
from framework.ops.dispatch import as_operand, bind
from framework.ops.movement import contiguous
from framework.ops.registry import Op, Spec, cached_op, register, require_dtype
from framework.shapes import is_known, normalize_axes, normalize_axis, reduced_shape, size_of

__all__ = ["sum", "mean", "prod", "max", "min", "argmax", "argmin", "logsumexp", "var"]

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


# ---------------------------------------------------------------------------------------------
# Folds: the scalar bodies each reduction is made of.


@numba.njit(inline="always")
def exp_shifted_term(value, shift):
    return maths.exp_nonpositive(np.float64(value) - shift)  # value <= shift: a 1 is summed too


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


@numba.njit(inline="always")
def greater(a, b):
    return a > b


@numba.njit(inline="always")
def less(a, b):
    return a < b


SUM_FOLD = Fold("sum", value_term, add_combine, keep_finish)
MEAN_FOLD = Fold("mean", value_term, add_combine, divide_finish)
PROD_FOLD = Fold("prod", value_term, multiply_combine, keep_finish)
MAX_FOLD = Fold("max", value_term, maximum, keep_finish, scan=scan_max)
MIN_FOLD = Fold("min", value_term, minimum, keep_finish, scan=scan_min)
SUM_EXP_FOLD = Fold("logsumexp", exp_shifted_term, add_combine, log_plus_shift_finish,
                    takes_param=True)
SQUARED_DEVIATION_FOLD = Fold("var", squared_deviation_term, add_combine, divide_finish,
                              takes_param=True)


# ---------------------------------------------------------------------------------------------
# Ops.


def _scratch(shape: tuple, like):
    """A float64 buffer for per-row values (a shift, a mean) beside the blocks `like`: NumPy's
    own on the CPU (not counted, as before), a counted device array on a GPU."""
    if type(like) is np.ndarray:
        return np.empty(shape, np.float64)
    return empty(shape, np.float64, device_of(like))


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

    def nopython(self, x):
        # The one-fold reductions, on inputs whose blocks are a view (no axis reordering).
        if self.fold is None or x.dtype == dtypes.bool_:
            return None
        shape = tuple(x.shape)
        axes, out_shape, out_dtype, fast = _reduction_plan(self, shape, x.dtype)
        outer, reduced, inner, order = blocks_plan(shape, axes)
        head = f"{{o0}} = np.empty({shape_literal(out_shape)}, {dtype_literal(out_dtype)})"
        if not size_of(out_shape):
            return Lowered(head, {})
        blocks = f"{{i0}}.reshape({outer}, {reduced}, {inner})"
        if order is not None:  # as_rows' copy: kept axes, then reduced ones, C-ordered
            blocks = (f"np.ascontiguousarray(np.transpose({{i0}}, {order!r}))"
                      f".reshape({outer}, {reduced}, 1)")
        out = f"{{o0}}.reshape({size_of(out_shape)})"
        if fast is not None:  # what `cpu` runs on a contiguous input
            _, kernel, arguments = fast
            names = [f"{{a{k}}}" for k in range(len(arguments))]
            objects = {"kernel": kernel, **{f"a{k}": a for k, a in enumerate(arguments)}}
            return Lowered(f"{head}\n{{kernel}}({blocks}, {', '.join(names)}, {out})", objects)
        call, objects = cpu.fold_lowering(self.fold, (outer, reduced, inner), x.dtype,
                                          self.start(x.dtype), blocks, out)
        return Lowered(f"{head}\n{call}", objects)

    def cuda(self, x):
        """The CUDA kernel: the same folds through the CUDA backend's reduce template."""
        from framework.kernels import cuda  # numba.cuda: imported once a device array exists

        spec = self.infer(x)
        out = empty(spec.shape, spec.dtype, device_of(x))
        if out.size:
            plan = blocks_plan(tuple(x.shape), self.axes_for(x.ndim))
            self.compute(cuda.as_blocks(x, plan), out, cuda)
        return out

    def compute(self, blocks, out, backend=None):
        """Fill `out` from the (outer, reduced, inner) blocks with a backend's kernels (the
        CPU's or the GPU's `run_fold`; None: the CPU's): here, the one-fold reductions."""
        backend = backend or cpu
        blocks = _as_numbers(blocks)
        backend.run_fold(self.fold, blocks, _as_numbers(out), self.start(blocks.dtype),
                         count=blocks.shape[1])

    def start(self, dtype: np.dtype):
        """Where `fold` starts on numbers of `dtype` (a scalar of its accumulator's dtype)."""
        raise NotImplementedError

    def count(self, shape) -> int | None:
        """Elements folded into each output element (None when a shape is unknown)."""
        if getattr(shape, "ndims", 0) is None:  # a graph shape whose rank is unknown too
            return None
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
            and outer * reduced * inner < cpu.REDUCE_PARALLEL_MIN_SIZE):  # serial: any threads
        fast = ((outer, reduced, inner),) + cpu.fold_serial_call(op.fold, dtype, op.start(dtype),
                                                                 reduced)
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

    def compute(self, blocks, out, backend=None):
        outer, reduced, inner = blocks.shape
        backend = backend or cpu
        shift = _scratch((outer, inner), blocks)
        if reduced or backend is not cpu:  # (a fold of nothing gives its start, -inf, too)
            backend.run_fold(MAX_FOLD, blocks, shift, blocks.dtype.type(-np.inf))
        else:
            shift.fill(-np.inf)
        backend.run_fold(SUM_EXP_FOLD, blocks, out, np.float64(0), params=shift)

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

    def compute(self, blocks, out, backend=None):
        outer, reduced, inner = blocks.shape
        backend = backend or cpu
        means = _scratch((outer, inner), blocks)
        backend.run_fold(MEAN_FOLD, blocks, means, np.float64(0), count=reduced)
        divisor = builtins.max(reduced - self.correction, 0)
        backend.run_fold(SQUARED_DEVIATION_FOLD, blocks, out, np.float64(0), params=means,
                         count=divisor)

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
    scan: ClassVar[Callable]  # the intrinsic scan of a contiguous row
    beats: ClassVar[Callable]  # beats(value, best): the value takes over from the best so far

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
            cpu.run_arg(self.name, self.scan, self.beats, _as_numbers(as_blocks(x, axes)), out)
        return out

    def cuda(self, x):
        """The CUDA kernel: the arg reduce template with the same `beats` rule."""
        from framework.kernels import cuda  # numba.cuda: imported once a device array exists

        out = empty(self.infer(x).shape, dtypes.int64, device_of(x))
        if out.size:
            plan = blocks_plan(tuple(x.shape), self.reduced_axes(x.ndim))
            cuda.run_arg(self.name, self.beats, _as_numbers(cuda.as_blocks(x, plan)), out)
        return out


@register
class ArgMax(ArgExtremum):
    name = "argmax"
    kind = "maximum"
    scan = staticmethod(scan_argmax)
    beats = staticmethod(greater)


@register
class ArgMin(ArgExtremum):
    name = "argmin"
    kind = "minimum"
    scan = staticmethod(scan_argmin)
    beats = staticmethod(less)


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
