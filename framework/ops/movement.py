"""Movement and indexing ops: reshape, transpose, slicing, concat, gather, pad, one_hot, ...

Where NumPy would return a view (reshape of a viewable layout, transpose, squeeze, unsqueeze,
basic slicing, split), the kernel returns one: it shares its input's buffer, allocates nothing
and stays writable, so the eager front-end can later assign into it. `broadcast_to` is the one
read-only view. Everything that moves data (concat, stack, pad, gather, scatter_add, one_hot,
copies of layouts that cannot be viewed) runs numba loops on buffers from the allocator.

The copy loops are written once, over 4-d views: `copy_into` first merges the dimensions that
both sides can walk as one (a contiguous block collapses to a single run), so one kernel covers
every rank and every stride pattern. Writing into a window of a fresh output (concat, stack,
pad) has its own kernel that sees the whole output as C-contiguous, so long rows vectorize.
Data is moved as unsigned integers of the element's width, which keeps the compiled variants
to three per layout instead of one per dtype.

Integer index values (gather, scatter_add, one_hot) are checked in the kernel entry point,
before the numba loop: numba does not bounds-check, so an index outside its dimension must be
refused here, with `IndexingError`, which names the index and the size it exceeded.
"""

from __future__ import annotations

import functools
import math
import operator

import numba
import numpy as np
from numba import prange

from framework import dtypes
from framework.device import empty
from framework.errors import DTypeError, IndexingError, ShapeError
from framework.kernels.cpu import shape_literal
from framework.kernels.lowered import Lowered
from framework.ops.dispatch import as_operand, bind, promote
from framework.ops.registry import Op, Spec, cached_op, register, require_dtype, require_same_dtype
from framework.shapes import as_shape, broadcast_shapes, is_known, normalize_axis, size_of

__all__ = ["reshape", "broadcast_to", "expand_to", "contiguous", "contiguous_copy", "transpose",
           "permute",
           "swapaxes", "moveaxis", "squeeze", "unsqueeze", "concat", "stack", "split",
           "getitem", "slice_grad", "gather", "scatter_add", "pad", "one_hot", "shape_of"]

# Below this many elements a serial loop wins. Moving data is bound by memory bandwidth, not
# arithmetic, so these kernels go parallel only far above the elementwise ops' threshold.
PARALLEL_MIN_SIZE = 1 << 20

_BITS = {1: np.dtype(np.uint8), 4: np.dtype(np.uint32), 8: np.dtype(np.uint64)}


# ---------------------------------------------------------------------------------------------
# Copy and fill kernels: 4-d loops over views whose mergeable dimensions were collapsed.


@numba.njit(cache=True)
def _copy_serial(src, dst):
    n0, n1, n2, n3 = dst.shape
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                for l in range(n3):
                    dst[i, j, k, l] = src[i, j, k, l]


@numba.njit(parallel=True, cache=True)
def _copy_parallel(src, dst, parts):
    n0, n1, n2, n3 = dst.shape
    for task in prange(n0 * n1 * n2 * parts):
        row = task // parts
        part = task - row * parts
        i, j, k = row // (n1 * n2), (row // n2) % n1, row % n2
        start, stop = part * n3 // parts, (part + 1) * n3 // parts
        # 1-d slices keep the inner loop simple enough for LLVM to vectorize
        source, target = src[i, j, k, start:stop], dst[i, j, k, start:stop]
        for l in range(stop - start):
            target[l] = source[l]


@numba.njit(cache=True)
def _fill_serial(dst, value):
    n0, n1, n2, n3 = dst.shape
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                for l in range(n3):
                    dst[i, j, k, l] = value


@numba.njit(parallel=True, cache=True)
def _fill_parallel(dst, value, parts):
    n0, n1, n2, n3 = dst.shape
    for task in prange(n0 * n1 * n2 * parts):
        row = task // parts
        part = task - row * parts
        i, j, k = row // (n1 * n2), (row // n2) % n1, row % n2
        start, stop = part * n3 // parts, (part + 1) * n3 // parts
        target = dst[i, j, k, start:stop]
        for l in range(stop - start):
            target[l] = value


@numba.njit(cache=True)
def _copy_window_serial(src, dst, o0, o1, o2, o3):
    n0, n1, n2, n3 = src.shape
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                # dst is C-contiguous, so this row slice is too: the loop vectorizes
                target, source = dst[o0 + i, o1 + j, o2 + k, o3:o3 + n3], src[i, j, k]
                for l in range(n3):
                    target[l] = source[l]


@numba.njit(parallel=True, cache=True)
def _copy_window_parallel(src, dst, o0, o1, o2, o3):
    n0, n1, n2, n3 = src.shape
    for row in prange(n0 * n1 * n2):
        i, j, k = row // (n1 * n2), (row // n2) % n1, row % n2
        target, source = dst[o0 + i, o1 + j, o2 + k, o3:o3 + n3], src[i, j, k]
        for l in range(n3):
            target[l] = source[l]


def _bits(array: np.ndarray) -> np.ndarray:
    """The same memory seen as unsigned integers of the element's width (a view)."""
    return array.view(_BITS[array.dtype.itemsize])


def _collapsed_shape(shape, *all_strides) -> tuple:
    """The fewest dimensions every array can be viewed in: runs of axes that step evenly merge.

    Size-1 axes drop out; axis i merges into the run after it when, for every array, stepping
    along i is the same as stepping across that whole run (NumPy's own no-copy reshape rule).
    """
    sizes: list[int] = []
    run_strides = None  # each array's stride along the innermost axis of the current run
    for axis in range(len(shape) - 1, -1, -1):
        size = shape[axis]
        if size == 1:
            continue
        strides = [s[axis] for s in all_strides]
        if run_strides is not None and all(
                outer == inner * sizes[-1] for outer, inner in zip(strides, run_strides)):
            sizes[-1] *= size
        else:
            sizes.append(size)
            run_strides = strides
    sizes.reverse()
    return tuple(sizes)


# Merging dimensions pays for itself when the innermost run is shorter than _SHORT_RUN
# elements, unless the whole array is smaller than _SMALL.
_SHORT_RUN = 64
_SMALL = 4096


def _blocks(*arrays) -> list:
    """4-d views covering same-shaped arrays, their layouts collapsed as far as all allow."""
    first = arrays[0]
    if all(a.flags.c_contiguous for a in arrays):
        views = [a.reshape(-1) for a in arrays]
    elif first.ndim <= 4 and (first.shape[-1] >= _SHORT_RUN or first.size < _SMALL):
        views = arrays  # long inner runs already, or too small for merging to pay
    else:
        shape = _collapsed_shape(first.shape, *(a.strides for a in arrays))
        views = [a.reshape(shape, copy=False) for a in arrays]
    ndim = views[0].ndim
    if ndim <= 4:
        lead = (1,) * (4 - ndim)
        return [[v.reshape(lead + v.shape) for v in views]]
    return [[v[outer] for v in views] for outer in np.ndindex(*views[0].shape[:-4])]


def _parts(block_shape) -> int:
    """How many pieces to cut each innermost run into so every thread gets work."""
    rows = block_shape[0] * block_shape[1] * block_shape[2]
    wanted = 4 * numba.get_num_threads()
    return 1 if rows >= wanted else min(-(-wanted // rows), block_shape[3])


def copy_into(dst: np.ndarray, src: np.ndarray) -> None:
    """`dst[...] = src` for same-shaped, same-width arrays of any strides, by the numba loops.

    >>> out = np.zeros(3); copy_into(out, np.arange(3.0)[::-1]); out
    array([2., 1., 0.])
    """
    if dst.size == 0:
        return
    for source, target in _blocks(_bits(src), _bits(dst)):
        if target.size >= PARALLEL_MIN_SIZE:
            _copy_parallel(source, target, _parts(target.shape))
        else:
            _copy_serial(source, target)


def fill(dst: np.ndarray, value) -> None:
    """`dst[...] = value` (converted to dst's dtype) for any strides, by the numba loops."""
    if dst.size == 0:
        return
    bits = np.asarray(value, dst.dtype).view(_BITS[dst.dtype.itemsize])[()]
    for (target,) in _blocks(_bits(dst)):
        if target.size >= PARALLEL_MIN_SIZE:
            _fill_parallel(target, bits, _parts(target.shape))
        else:
            _fill_serial(target, bits)


def copy_into_window(out: np.ndarray, src: np.ndarray, offsets) -> None:
    """`out[o0:o0+n0, o1:o1+n1, ...] = src` where `out` is C-contiguous, of src's rank.

    Unlike `copy_into` on a window view, the kernel sees `out` as C-contiguous, so its row
    copies vectorize; used for concat, stack and pad.
    """
    if src.size == 0:
        return
    if src.ndim > 4 or (src.ndim and src.shape[-1] < _SHORT_RUN):
        # short rows: the strided loops over merged dimensions do better than row slices
        copy_into(out[tuple(slice(o, o + n) for o, n in zip(offsets, src.shape))], src)
        return
    lead = (1,) * (4 - src.ndim)
    source = _bits(src).reshape(lead + src.shape)  # leading unit axes: always a view
    target = _bits(out).reshape(lead + out.shape)
    rows = source.shape[0] * source.shape[1] * source.shape[2]
    parallel = src.size >= PARALLEL_MIN_SIZE and rows >= 2 * numba.get_num_threads()
    kernel = _copy_window_parallel if parallel else _copy_window_serial
    kernel(source, target, *((0,) * len(lead) + tuple(offsets)))


def contiguous(x: np.ndarray) -> np.ndarray:
    """`x` itself when C-contiguous, else a contiguous copy from the allocator."""
    if x.flags.c_contiguous:
        return x
    out = empty(x.shape, x.dtype)
    copy_into(out, x)
    return out


def as_3d(x: np.ndarray, axis: int) -> np.ndarray:
    """`x` as (before axis, axis, after axis): a view when the layout allows, else a copy."""
    outer = math.prod(x.shape[:axis])
    inner = math.prod(x.shape[axis + 1:])
    return view_or_copy(x, (outer, x.shape[axis], inner))


def view_or_copy(x: np.ndarray, shape) -> np.ndarray:
    """`x` reshaped: a view where the layout allows (as NumPy), else a copy from the allocator."""
    try:
        return x.reshape(shape, copy=False)
    except ValueError:
        return contiguous(x).reshape(shape)


def _int_argument(value):
    """numpy integers become ints; anything else is left for the shape rule to refuse."""
    if isinstance(value, (bool, np.bool_)):
        return value
    try:
        return operator.index(value)
    except TypeError:
        return value


def _axis(axis, ndim: int, op: str) -> int:
    """normalize_axis, except that a 0-d value has no axis at all (no reduction-style axis 0)."""
    if ndim == 0:
        raise ShapeError(f"{op}: axis {axis!r} is out of range for a 0-d input")
    return normalize_axis(axis, ndim, op)


def _canonical_axis(axis, ndim: int):
    """A valid axis made non-negative (so equal ops hash equal); anything else passes through
    unchanged for the shape rule to reject with its own message."""
    axis = _int_argument(axis)
    if isinstance(axis, int) and not isinstance(axis, bool) and -ndim <= axis < ndim:
        return axis % ndim
    return axis


def _canonical_axes(axes: tuple, ndim: int) -> tuple:
    """Valid axes made non-negative and sorted; otherwise unchanged, for the rule to reject."""
    if _plain_ints(axes):  # the common case, without a conversion per axis
        for axis in axes:
            if not -ndim <= axis < ndim:
                return axes
        return tuple(sorted([axis % ndim for axis in axes]))
    canonical = tuple(_canonical_axis(a, ndim) for a in axes)
    if all(isinstance(a, int) and 0 <= a < ndim for a in canonical):
        return tuple(sorted(canonical))
    return axes


def _full_slice() -> tuple:
    return (None, None, 1)


def _along(axis: int, entry, ndim: int) -> tuple:
    """A normalized index that applies `entry` to `axis` and keeps the other axes whole."""
    return (_full_slice(),) * axis + (entry,) + (_full_slice(),) * (ndim - axis - 1)


def _listed(shapes) -> str:
    return ", ".join(str(tuple(s)) for s in shapes)


# Shape rules run on every op call, and the view ops run in every gradient rule: their answers
# and their op instances are remembered (ops are immutable values, hashed on their attributes).


@functools.lru_cache(maxsize=1024)
def _inferred(op: Op, shape: tuple, dtype: np.dtype) -> Spec:
    return op.check(shape, dtype)


def _plain_ints(values) -> bool:
    """Whether every value is an int proper: only then may an op holding them be a cache key
    (True equals 1, so a bool would find the answer of the int it equals)."""
    for value in values:
        if type(value) is not int:
            return False
    return True


def _infer_axes_op(op, x) -> Spec:
    """`op.check` for ops whose `axes` attribute comes unchecked from the user: remembered
    when every axis is an int, so a bool still reaches the rule that refuses it."""
    if _plain_ints(op.axes):
        return _inferred(op, tuple(x.shape), x.dtype)
    return op.check(tuple(x.shape), x.dtype)


# ---------------------------------------------------------------------------------------------
# reshape, broadcast_to


def resolve_shape(op: str, in_shape, shape) -> tuple:
    """Fill one -1 in a requested shape; check the element count when it is known."""
    shape = tuple(shape)
    if sum(1 for d in shape if d == -1) > 1:
        raise ShapeError(f"{op}: only one dimension can be -1, got {shape}")
    for d in shape:
        if d is None:
            raise ShapeError(f"{op}: target shape {shape} has None; use -1 for the one "
                             "dimension to infer")
        if d < -1:
            raise ShapeError(f"{op}: invalid dimension {d} in {shape}")
    total = size_of(in_shape)
    known = size_of(tuple(d for d in shape if d != -1))
    if -1 in shape:
        if total is None:
            return tuple(None if d == -1 else d for d in shape)
        if known == 0 or total % known:
            raise ShapeError(f"{op}: cannot reshape {tuple(in_shape)} into {shape}")
        return tuple(total // known if d == -1 else d for d in shape)
    if total is not None and total != known:
        raise ShapeError(f"{op}: cannot reshape {tuple(in_shape)} ({total} elements) into "
                         f"{shape} ({known} elements)")
    return shape


@register
class Reshape(Op):
    name = "reshape"
    is_view = True
    shape: tuple = ()
    vjp_needs_inputs = False

    def infer(self, x):
        return _inferred(self, tuple(x.shape), x.dtype)

    def check(self, shape: tuple, dtype: np.dtype) -> Spec:
        """The shape rule itself (`infer` remembers its answers)."""
        return Spec(resolve_shape(self.name, shape, self.shape), dtype)

    def cpu(self, x):
        if x.flags.c_contiguous:  # always viewable: NumPy's reshape returns a view
            return x.reshape(self.shape)
        return view_or_copy(x, self.shape)

    def cuda(self, x):
        from framework.kernels import cuda_nn

        return cuda_nn.reshape(x, self.infer(x).shape)

    def nopython(self, x):
        shape = self.infer(x).shape
        return Lowered(f"{{o0}} = {{i0}}.reshape({shape_literal(shape)})", {})

    def vjp(self, g, inputs, out):
        (x,) = inputs
        return reshape(g, _static_or_inferred(x.shape))


def _static_or_inferred(shape):
    unknown = sum(1 for d in shape if d is None)
    if unknown > 1:
        raise ShapeError(f"reshape gradient: input shape {shape} has more than one unknown "
                         "dimension")
    return tuple(-1 if d is None else d for d in shape)


def reshape(x, shape):
    """The same elements in a new shape (one dimension may be -1); a view where possible.

    >>> reshape(np.arange(6), (2, -1)).shape
    (2, 3)
    """
    return bind(cached_op(Reshape, as_shape_with_minus_one(shape)), as_operand(x))


def as_shape_with_minus_one(shape) -> tuple:
    if type(shape) is tuple and _plain_ints(shape) and -1 <= min(shape, default=0):
        return shape  # already canonical: the common case, from the gradient rules
    if isinstance(shape, int):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise ShapeError(f"reshape: a shape must be an int or a sequence of ints, "
                         f"got {shape!r}") from None
    if any(d is None for d in dims):
        raise ShapeError(f"reshape: target shape {dims} has None; use -1 for the one "
                         "dimension to infer")
    return tuple(-1 if d == -1 else as_shape((d,))[0] for d in dims)


@register
class BroadcastTo(Op):
    name = "broadcast_to"
    is_view = True
    shape: tuple = ()
    vjp_needs_inputs = False

    def infer(self, x):
        return _inferred(self, tuple(x.shape), x.dtype)

    def check(self, shape: tuple, dtype: np.dtype) -> Spec:
        """The shape rule itself (`infer` remembers its answers)."""
        target = as_shape(self.shape)
        if len(shape) > len(target) or broadcast_shapes(shape, target, op=self.name) != target:
            raise ShapeError(f"{self.name}: cannot broadcast {shape} to {target}")
        return Spec(target, dtype)

    def cpu(self, x):
        if x.flags.c_contiguous and x.size:
            # np.broadcast_to builds an nditer (~3us); a C-contiguous input exports its buffer,
            # so the read-only view is made directly with the broadcast strides.
            view = np.ndarray(self.shape, x.dtype, x, 0, _broadcast_strides(x.shape, x.strides,
                                                                             self.shape))
            view.setflags(write=False)
            return view
        return np.broadcast_to(x, self.shape)

    def cuda(self, x):
        from framework.kernels import cuda_nn

        return cuda_nn.broadcast_to(x, self.shape)

    def vjp(self, g, inputs, out):
        return g  # the shared reverse-mode code sums the stretched axes


@functools.lru_cache(maxsize=1024)
def _broadcast_strides(shape: tuple, strides: tuple, target: tuple) -> tuple:
    """The strides of `shape` (with `strides`) broadcast to `target`: 0 along new and
    stretched axes."""
    lead = len(target) - len(shape)
    return (0,) * lead + tuple(0 if size == 1 and want != 1 else stride
                               for size, stride, want in zip(shape, strides, target[lead:]))


def broadcast_to(x, shape):
    """A read-only view of `x` stretched to `shape` by the broadcasting rules.

    >>> broadcast_to(np.arange(3), (2, 3)).shape
    (2, 3)
    """
    if not (type(shape) is tuple and _plain_ints(shape) and min(shape, default=0) >= 0):
        shape = as_shape(shape)  # the general conversion, and its errors
    return bind(cached_op(BroadcastTo, shape), as_operand(x))


def expand_to(g, like):
    """Broadcast `g` to the shape of `like`, even where that shape is known only at run time."""
    if None not in like.shape:
        return broadcast_to(g, like.shape)
    from framework.ops import functions as F

    return F.add(g, F.zeros_like(like, g.dtype))


# ---------------------------------------------------------------------------------------------
# transpose, squeeze, unsqueeze: views


@register
class Transpose(Op):
    name = "transpose"
    is_view = True
    axes: tuple = ()
    vjp_needs_inputs = False

    def infer(self, x):
        return _infer_axes_op(self, x)

    def check(self, shape: tuple, dtype: np.dtype) -> Spec:
        """The shape rule itself (`infer` remembers its answers)."""
        ndim = len(shape)
        if len(self.axes) != ndim or _permutation(self.axes, ndim) is None:
            raise ShapeError(f"{self.name}: axes {tuple(self.axes)} are not a permutation of "
                             f"the {ndim} axes of shape {shape}")
        return Spec(tuple(shape[a] for a in self.axes), dtype)

    def cpu(self, x):
        return x.transpose(self.axes)

    def cuda(self, x):
        from framework.kernels import cuda_nn

        return cuda_nn.transpose(x, [axis % x.ndim for axis in self.axes])  # checked by infer

    def nopython(self, x):
        if list(self.axes) == sorted(self.axes):
            return Lowered("{o0} = {i0}", {})
        moved = sum(d != 1 for d in x.shape) > 1
        # .T where it is one (numba compiles np.transpose's axes checks for seconds)
        reverse = tuple(self.axes) == tuple(range(len(self.axes)))[::-1]
        view = ".T" if reverse else f".transpose({tuple(self.axes)!r})"
        return Lowered(f"{{o0}} = {{i0}}{view}", {}, contiguous=(not moved,), any_layout=True)

    def vjp(self, g, inputs, out):
        return bind(_inverse_transpose(self.axes), g)


@functools.lru_cache(maxsize=256)
def _inverse_transpose(axes: tuple) -> Transpose:
    ndim = len(axes)
    inverse = [0] * ndim
    for position, axis in enumerate(axes):
        inverse[axis % ndim] = position
    return Transpose(tuple(inverse))


def transpose(x, axes=None):
    """Permute the axes (None reverses them, as in NumPy); a view of `x`.

    >>> transpose(np.zeros((2, 3, 4)), (1, 2, 0)).shape
    (3, 4, 2)
    """
    x = as_operand(x)
    ndim = len(x.shape)
    if axes is None:
        return bind(cached_op(Transpose, tuple(range(ndim - 1, -1, -1))), x)
    axes = tuple(axes)
    permutation = _permutation(axes, ndim)
    if permutation is None:
        return bind(Transpose(axes), x)  # for the shape rule to refuse
    return bind(cached_op(Transpose, permutation), x)


def _permutation(axes: tuple, ndim: int) -> tuple | None:
    """`axes` made non-negative when they permute range(ndim), else None."""
    if all(type(a) is int and 0 <= a for a in axes):  # the common, canonical case
        canonical = axes
    else:
        canonical = tuple(_canonical_axis(a, ndim) for a in axes)
        if not all(isinstance(a, int) and not isinstance(a, bool) for a in canonical):
            return None
    return canonical if sorted(canonical) == list(range(ndim)) else None


def permute(x, *axes):
    """PyTorch's name for `transpose` with explicit axes: `permute(x, 1, 0)` or `(x, (1, 0))`.

    >>> permute(np.zeros((2, 3)), 1, 0).shape
    (3, 2)
    """
    if len(axes) == 1 and not isinstance(axes[0], int):
        axes = tuple(axes[0])
    return transpose(x, axes)


def swapaxes(x, axis1: int, axis2: int):
    """Exchange two axes (PyTorch's `transpose(x, dim0, dim1)`); a view of `x`.

    >>> swapaxes(np.zeros((2, 3, 4)), 0, -1).shape
    (4, 3, 2)
    """
    x = as_operand(x)
    ndim = len(x.shape)
    first, second = (_axis(a, ndim, "swapaxes") for a in (axis1, axis2))
    axes = list(range(ndim))
    axes[first], axes[second] = axes[second], axes[first]
    return transpose(x, axes)


def moveaxis(x, source: int, destination: int):
    """Move one axis to a new position, keeping the order of the others; a view of `x`.

    >>> moveaxis(np.zeros((2, 3, 4)), 0, -1).shape
    (3, 4, 2)
    """
    x = as_operand(x)
    ndim = len(x.shape)
    source = _axis(source, ndim, "moveaxis")
    destination = _axis(destination, ndim, "moveaxis")
    axes = [a for a in range(ndim) if a != source]
    axes.insert(destination, source)
    return transpose(x, axes)


@register
class ContiguousCopy(Op):
    """A C-ordered copy: the same values in the layout a kernel expects.

    Kernels that call BLAS pick its transpose flags from their operands' layouts, and some
    BLAS kernels (OpenBLAS's small-matrix paths on AVX-512, for one) round the two forms of a
    product differently. Where two front-ends must issue the same call, one that holds the
    operand transposed copies it with this op first: the graph's dense layer hands `linear`
    its (in, out) kernel as the (out, in) matrix eager's nn.Linear holds."""

    name = "contiguous_copy"
    vjp_needs_inputs = False

    def infer(self, x):
        return Spec(x.shape, x.dtype)

    def cpu(self, x):
        out = empty(x.shape, x.dtype)
        copy_into(out, x)
        return out

    def cuda(self, x):
        from framework.kernels import cuda_nn

        return cuda_nn.contiguous_copy(x)

    def nopython(self, x):
        return Lowered("{o0} = np.ascontiguousarray({i0})", {}, any_layout=True)

    def vjp(self, g, inputs, out):
        return g


def contiguous_copy(x):
    """A C-contiguous copy of `x` (never a view), whatever its layout.

    >>> contiguous_copy(np.arange(6.0).reshape(2, 3).T).flags.c_contiguous
    True
    """
    return bind(_CONTIGUOUS_COPY, as_operand(x))


_CONTIGUOUS_COPY = ContiguousCopy()


@register
class Squeeze(Op):
    name = "squeeze"
    is_view = True
    axes: tuple = ()
    vjp_needs_inputs = False

    def infer(self, x):
        return _infer_axes_op(self, x)

    def check(self, shape: tuple, dtype: np.dtype) -> Spec:
        """The shape rule itself (`infer` remembers its answers)."""
        axes = _unique_axes(self.name, self.axes, len(shape))
        for axis in axes:
            if shape[axis] not in (1, None):
                raise ShapeError(f"{self.name}: axis {axis} of shape {shape} has size "
                                 f"{shape[axis]}, not 1")
        return Spec(tuple(d for i, d in enumerate(shape) if i not in axes), dtype)

    def cpu(self, x):
        return x.squeeze(self.axes)

    def cuda(self, x):
        from framework.kernels import cuda_nn

        return cuda_nn.unit_axes_view(x, self.infer(x).shape)

    def vjp(self, g, inputs, out):
        return bind(cached_op(Unsqueeze, self.axes), g)


def _unique_axes(op: str, axes, ndim: int) -> tuple:
    normalized = tuple(_axis(a, ndim, op) for a in axes)
    if len(set(normalized)) != len(normalized):
        raise ShapeError(f"{op}: axes {tuple(axes)} repeat an axis")
    return tuple(sorted(normalized))


def squeeze(x, axis=None):
    """Drop size-1 axes: the given ones (an int or a tuple), or every one when axis is None.

    Squeezing an axis whose size is not 1 raises ShapeError (NumPy's rule, not PyTorch's
    silent no-op). A view of `x`.

    >>> squeeze(np.zeros((1, 3, 1))).shape, squeeze(np.zeros((1, 3, 1)), -1).shape
    ((3,), (1, 3))
    """
    x = as_operand(x)
    ndim = len(x.shape)
    if axis is None:
        if any(d is None for d in x.shape):
            raise ShapeError(f"squeeze: shape {tuple(x.shape)} has unknown dimensions, so "
                             "axis=None cannot tell which are 1; name the axes")
        axes = tuple(i for i, d in enumerate(x.shape) if d == 1)
    else:
        axes = _canonical_axes((axis,) if isinstance(axis, int) else tuple(axis), ndim)
    return bind(cached_op(Squeeze, axes) if _plain_ints(axes) else Squeeze(axes), x)


@register
class Unsqueeze(Op):
    """Insert size-1 axes; `axes` are positions in the result, as for np.expand_dims."""

    name = "unsqueeze"
    is_view = True
    axes: tuple = ()
    vjp_needs_inputs = False

    def infer(self, x):
        return _infer_axes_op(self, x)

    def check(self, shape: tuple, dtype: np.dtype) -> Spec:
        """The shape rule itself (`infer` remembers its answers)."""
        ndim = len(shape) + len(self.axes)
        axes = set(_unique_axes(self.name, self.axes, ndim))
        dims = iter(shape)
        return Spec(tuple(1 if i in axes else next(dims) for i in range(ndim)), dtype)

    def cpu(self, x):
        # Inserting size-1 axes is always a view (what np.expand_dims does, less its checks).
        return x.reshape(self.infer(x).shape)

    def cuda(self, x):
        from framework.kernels import cuda_nn

        return cuda_nn.unit_axes_view(x, self.infer(x).shape)

    def vjp(self, g, inputs, out):
        return bind(cached_op(Squeeze, self.axes), g)


def unsqueeze(x, axis):
    """Insert a size-1 axis at `axis` (or several, a tuple of result positions); a view.

    >>> unsqueeze(np.zeros((2, 3)), -1).shape
    (2, 3, 1)
    """
    x = as_operand(x)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    axes = _canonical_axes(axes, len(x.shape) + len(axes))
    return bind(cached_op(Unsqueeze, axes) if _plain_ints(axes) else Unsqueeze(axes), x)


# ---------------------------------------------------------------------------------------------
# concat, stack, split


def _merged_dims(op: str, shapes, skip: int | None = None) -> list:
    """One shape from several that must agree (None matches anything), except at `skip`."""
    ndim = len(shapes[0])
    if any(len(s) != ndim for s in shapes):
        raise ShapeError(f"{op}: inputs have different ranks: {_listed(shapes)}")
    merged = []
    for axis in range(ndim):
        known = {s[axis] for s in shapes if s[axis] is not None}
        if axis != skip and len(known) > 1:
            other = "" if skip is None else f"; only axis {skip} may differ"
            raise ShapeError(f"{op}: shapes {_listed(shapes)} differ in dimension {axis} "
                             f"({' vs '.join(str(d) for d in sorted(known))}){other}")
        merged.append(known.pop() if len(known) == 1 else None)
    return merged


def _require_inputs(op: str, xs) -> None:
    if not xs:
        raise ShapeError(f"{op}: needs at least one input")


def _join_along(out: np.ndarray, xs, axis: int, width) -> None:
    """Copy each x into consecutive slabs of `out` along `axis`, `width(x)` positions each.

    `out` is seen as (before axis, axis, after axis) and each x as (before, width, after), so
    one window kernel serves every rank; an x whose layout cannot be seen that way is copied
    through its strided slab instead.
    """
    outer = math.prod(out.shape[:axis])
    inner = math.prod(out.shape[axis + 1:])
    target = out.reshape((outer, out.shape[axis]) + ((inner,) if inner != 1 else ()))
    offset = 0
    for x in xs:
        size = width(x)
        try:
            source = x.reshape((outer, size) + target.shape[2:], copy=False)
        except ValueError:
            slab = out[(slice(None),) * axis + (slice(offset, offset + size),)]
            copy_into(slab, x.reshape(slab.shape))
        else:
            copy_into_window(target, source, (0, offset, 0)[:target.ndim])
        offset += size


def _same_dtype_operands(op: str, xs) -> list:
    xs = [as_operand(x) for x in xs]
    _require_inputs(op, xs)
    if any(x.dtype != xs[0].dtype for x in xs[1:]):
        xs = promote(*xs)
    return xs


@register
class Concat(Op):
    name = "concat"
    axis: int = 0
    vjp_needs_inputs = False

    def infer(self, *xs):
        _require_inputs(self.name, xs)
        dtype = require_same_dtype(self.name, *xs)
        shapes = [tuple(x.shape) for x in xs]
        if not shapes[0]:
            raise ShapeError(f"{self.name}: cannot concatenate 0-d values (use stack)")
        axis = _axis(self.axis, len(shapes[0]), self.name)
        dims = _merged_dims(self.name, shapes, skip=axis)
        sizes = [s[axis] for s in shapes]
        dims[axis] = None if None in sizes else sum(sizes)
        return Spec(dims, dtype)

    def cpu(self, *xs):
        axis = self.axis % xs[0].ndim
        shape = list(xs[0].shape)
        shape[axis] = sum(x.shape[axis] for x in xs)
        out = empty(tuple(shape), xs[0].dtype)
        _join_along(out, xs, axis, lambda x: x.shape[axis])
        return out

    def cuda(self, *xs):
        from framework.kernels import cuda_nn

        return cuda_nn.concat(xs, self.axis % xs[0].ndim)

    def vjp(self, g, inputs, out):
        sizes = [x.shape[self.axis % len(x.shape)] for x in inputs]
        if sizes.count(None) > 1:
            raise ShapeError(f"concat gradient: more than one input has an unknown size along "
                             f"axis {self.axis}: {_listed(x.shape for x in inputs)}")
        return split(g, [-1 if s is None else s for s in sizes], self.axis)


def concat(xs, axis: int = 0):
    """Join values along an existing axis; dtypes promote first (NumPy rules).

    >>> concat([np.zeros((2, 1)), np.ones((2, 2))], axis=1).shape
    (2, 3)
    """
    xs = _same_dtype_operands("concat", xs)
    return bind(Concat(_canonical_axis(axis, len(xs[0].shape))), *xs)


@register
class Stack(Op):
    name = "stack"
    axis: int = 0
    vjp_needs_inputs = False

    def infer(self, *xs):
        _require_inputs(self.name, xs)
        dtype = require_same_dtype(self.name, *xs)
        dims = _merged_dims(self.name, [tuple(x.shape) for x in xs])
        axis = _axis(self.axis, len(dims) + 1, self.name)
        return Spec(dims[:axis] + [len(xs)] + dims[axis:], dtype)

    def cpu(self, *xs):
        axis = self.axis % (xs[0].ndim + 1)
        out = empty(xs[0].shape[:axis] + (len(xs),) + xs[0].shape[axis:], xs[0].dtype)
        _join_along(out, xs, axis, lambda x: 1)
        return out

    def cuda(self, *xs):
        from framework.kernels import cuda_nn

        return cuda_nn.stack(xs, self.axis % (xs[0].ndim + 1))

    def vjp(self, g, inputs, out):
        ndim = len(g.shape)
        axis = self.axis % ndim
        return tuple(bind(Slice(_along(axis, i, ndim)), g) for i in range(len(inputs)))


def stack(xs, axis: int = 0):
    """Join same-shaped values along a new axis; dtypes promote first.

    >>> stack([np.zeros(3), np.ones(3)], axis=-1).shape
    (3, 2)
    """
    xs = _same_dtype_operands("stack", xs)
    return bind(Stack(_canonical_axis(axis, len(xs[0].shape) + 1)), *xs)


@register
class Split(Op):
    """Cut along `axis` into parts of `sizes` (one may be -1: the rest), or into `sections`
    equal parts. The parts are views of the input."""

    name = "split"
    is_view = True
    sizes: tuple | None = None
    sections: int | None = None
    axis: int = 0
    vjp_needs_inputs = False

    def infer(self, x):
        if not x.shape:
            raise ShapeError(f"{self.name}: cannot split a 0-d value")
        axis = _axis(self.axis, len(x.shape), self.name)
        shape = tuple(x.shape)
        sizes = self._resolved_sizes(shape[axis], shape)
        return tuple(Spec(shape[:axis] + (size,) + shape[axis + 1:], x.dtype) for size in sizes)

    def _resolved_sizes(self, dim, shape) -> tuple:
        where = f"axis {self.axis} of shape {shape} (size {dim})"
        if (self.sizes is None) == (self.sections is None):
            raise ShapeError(f"{self.name}: give either sizes or sections, not "
                             f"{'both' if self.sizes is not None else 'neither'}")
        if self.sections is not None:
            if not isinstance(self.sections, int) or self.sections < 1:
                raise ShapeError(f"{self.name}: sections must be a positive int, "
                                 f"got {self.sections!r}")
            if dim is not None and dim % self.sections:
                raise ShapeError(f"{self.name}: {where} does not divide into "
                                 f"{self.sections} equal sections")
            return (None if dim is None else dim // self.sections,) * self.sections
        sizes = tuple(self.sizes)
        if not sizes or any(not isinstance(s, int) or s < -1 for s in sizes) \
                or sizes.count(-1) > 1:
            raise ShapeError(f"{self.name}: sizes {sizes} must be non-negative ints (one may "
                             "be -1), at least one")
        known = sum(s for s in sizes if s != -1)
        if dim is None:
            return tuple(None if s == -1 else s for s in sizes)
        if (-1 in sizes and known > dim) or (-1 not in sizes and known != dim):
            raise ShapeError(f"{self.name}: sizes {sizes} (sum {known}) do not fit {where}")
        return tuple(dim - known if s == -1 else s for s in sizes)

    def cpu(self, x):
        axis = self.axis % x.ndim
        parts, offset = [], 0
        for size in self._resolved_sizes(x.shape[axis], x.shape):
            parts.append(x[(slice(None),) * axis + (slice(offset, offset + size),)])
            offset += size
        return tuple(parts)

    def cuda(self, x):
        from framework.kernels import cuda_nn

        axis = self.axis % x.ndim
        shape = tuple(x.shape)
        return cuda_nn.split(x, axis, self._resolved_sizes(shape[axis], shape))

    def vjp(self, g, inputs, out):
        # apply_vjp fills in zeros for parts that got no cotangent, and passes the cotangent
        # of a one-part split on its own rather than in a tuple
        parts = list(g) if isinstance(g, tuple) else [g]
        return concat(parts, self.axis)


def split(x, sections_or_sizes, axis: int = 0):
    """Cut `x` along `axis`; returns a tuple of views.

    An int asks for that many equal sections (as np.split); a sequence gives each part's size
    (as torch.split with a list; one size may be -1 for the remainder).

    >>> [p.shape for p in split(np.zeros((2, 6)), (1, 2, -1), axis=1)]
    [(2, 1), (2, 2), (2, 3)]
    """
    x = as_operand(x)
    axis = _canonical_axis(axis, len(x.shape))
    sections = _int_argument(sections_or_sizes)
    if isinstance(sections, int):
        return bind(Split(sections=sections, axis=axis), x)
    try:
        sizes = tuple(operator.index(size) for size in sections_or_sizes)
    except TypeError:
        raise ShapeError(f"split: expected an int or a sequence of ints, "
                         f"got {sections_or_sizes!r}") from None
    return bind(Split(sizes=sizes, axis=axis), x)


# ---------------------------------------------------------------------------------------------
# Basic indexing: Slice (x[index]) and its adjoint SliceGrad (zeros with g written at index)
#
# A normalized index has one entry per input axis, in order, plus None where a new axis goes:
# an int picks one position (negative counts from the end), a (start, stop, step) triple is a
# slice (start/stop may be None), None inserts a size-1 axis. It is a tuple of ints, Nones and
# triples, so it hashes, and it does not depend on dimensions that may be unknown.


def normalize_index(index, ndim: int, op: str = "getitem") -> tuple:
    """A NumPy basic index (ints, slices, None, Ellipsis) in its normalized, hashable form.

    >>> normalize_index((..., slice(None, None, -1), None), 2)
    ((None, None, 1), (None, None, -1), None)
    """
    entries = index if isinstance(index, tuple) else (index,)
    converted, ellipsis_at = [], None
    for entry in entries:
        if entry is Ellipsis:
            if ellipsis_at is not None:
                raise IndexingError(f"{op}: an index can only have a single ellipsis, "
                                    f"got {index!r}")
            ellipsis_at = len(converted)
        elif entry is None:
            converted.append(None)
        elif isinstance(entry, slice):
            converted.append(_slice_triple(entry, op))
        else:
            converted.append(_int_index(entry, op))
    consumed = sum(1 for e in converted if e is not None)
    if consumed > ndim:
        raise IndexingError(f"{op}: too many indices for a {ndim}-d value: {index!r}")
    fill = [_full_slice()] * (ndim - consumed)
    if ellipsis_at is None:
        return tuple(converted + fill)
    return tuple(converted[:ellipsis_at] + fill + converted[ellipsis_at:])


def _int_index(entry, op: str) -> int:
    if not isinstance(entry, (bool, np.bool_)):
        try:
            return operator.index(entry)
        except TypeError:
            pass
    raise IndexingError(f"{op}: unsupported index {entry!r}; basic indexing takes ints, "
                        "slices, None and ...; use gather(x, indices, axis) for integer "
                        "arrays")


def _slice_triple(entry: slice, op: str) -> tuple:
    start, stop, step = (None if part is None else _int_index(part, op)
                         for part in (entry.start, entry.stop, entry.step))
    if step == 0:
        raise IndexingError(f"{op}: slice step cannot be zero")
    return (start, stop, 1 if step is None else step)


@functools.lru_cache(maxsize=1024)
def _numpy_index(index: tuple) -> tuple:
    # The trailing Ellipsis makes an all-int index give a 0-d view, not a copied scalar.
    return tuple(slice(*e) if isinstance(e, tuple) else e for e in index) + (Ellipsis,)


def index_text(index: tuple) -> str:
    """A normalized index written the way NumPy reads it: '1, ::-1, None'."""
    parts = []
    for entry in index:
        if isinstance(entry, tuple):
            start, stop, step = ("" if p is None else str(p) for p in entry)
            parts.append(f"{start}:{stop}" + ("" if step == "1" else f":{step}"))
        else:
            parts.append(str(entry))
    return ", ".join(parts)


def sliced_shape(op: str, shape, index: tuple) -> tuple:
    """The shape of `x[index]` for a normalized index; validates every entry against shape."""
    shape = tuple(shape)
    consumed = sum(1 for e in index if e is not None)
    if consumed != len(shape):
        raise IndexingError(f"{op}: index [{index_text(index)}] addresses {consumed} axes but "
                            f"the value has shape {shape}")
    out, axis = [], 0
    for entry in index:
        if entry is None:
            out.append(1)
            continue
        dim = shape[axis]
        if isinstance(entry, tuple):
            if len(entry) != 3 or entry[2] in (0, None) or not all(
                    p is None or isinstance(p, int) for p in entry):
                raise IndexingError(f"{op}: malformed slice {entry!r} in a normalized index")
            out.append(None if dim is None else len(range(*slice(*entry).indices(dim))))
        elif isinstance(entry, int) and not isinstance(entry, bool):
            if dim is not None and not -dim <= entry < dim:
                raise IndexingError(f"{op}: index {entry} is out of range for axis {axis} of "
                                    f"size {dim} (shape {shape})")
        else:
            raise IndexingError(f"{op}: malformed entry {entry!r} in a normalized index")
        axis += 1
    return tuple(out)


@register
class Slice(Op):
    """x[index] for a basic index (see `normalize_index`); a writable view of x."""

    name = "getitem"
    is_view = True
    index: tuple = ()
    vjp_needs_inputs = False

    def infer(self, x):
        return _inferred(self, tuple(x.shape), x.dtype)

    def check(self, shape: tuple, dtype: np.dtype) -> Spec:
        """The shape rule itself (`infer` remembers its answers)."""
        return Spec(sliced_shape(self.name, shape, self.index), dtype)

    def cpu(self, x):
        return x[_numpy_index(self.index)]

    def cuda(self, x):
        from framework.kernels import cuda_nn

        return cuda_nn.basic_index_view(x, _numpy_index(self.index))

    def vjp(self, g, inputs, out):
        (x,) = inputs
        return _bind_slice_grad(g, self.index, x, tuple(x.shape))

    def __str__(self) -> str:
        return f"{self.name}[{index_text(self.index)}]"


def getitem(x, index):
    """`x[index]` for NumPy basic indices: ints, slices (any step), None and Ellipsis.

    The result is a writable view of x. An int outside its axis raises `IndexingError`
    naming the index and the shape. For integer-array indices use `gather`.

    >>> getitem(np.arange(12).reshape(3, 4), (slice(None, None, -1), 1))
    array([9, 5, 1])
    """
    x = as_operand(x)
    return bind(cached_op(Slice, normalize_index(index, len(x.shape))), x)


@register
class SliceGrad(Op):
    """Zeros of `shape` with g written at `index`: the adjoint of Slice.

    Inputs are (g,) or, when `shape` has unknown dimensions, (g, like), and the output takes
    the run-time shape of `like` (only its shape is read)."""

    name = "slice_grad"
    index: tuple = ()
    shape: tuple = ()
    vjp_needs_inputs = False

    def infer(self, g, *like):
        if len(like) > 1:
            raise ShapeError(f"{self.name}: takes g and at most one value to shape it like")
        shape = tuple(like[0].shape) if like else tuple(self.shape)
        if len(shape) != len(self.shape):
            raise ShapeError(f"{self.name}: value shaped {shape} does not have the rank of "
                             f"{tuple(self.shape)}")
        expected = sliced_shape(self.name, shape, self.index)
        if len(expected) != len(g.shape) or any(
                a is not None and b is not None and a != b for a, b in zip(expected, g.shape)):
            raise ShapeError(f"{self.name}: gradient of shape {tuple(g.shape)} does not fit "
                             f"[{index_text(self.index)}] of shape {shape}, which is {expected}")
        return Spec(shape, g.dtype)

    def cpu(self, g, *like):
        shape = like[0].shape if like else self.shape
        if not is_known(shape):
            raise ShapeError(f"{self.name}: output shape {shape} is not known; pass a value "
                             "shaped like the sliced input")
        out = empty(shape, g.dtype)
        fill(out, 0)
        copy_into(out[_numpy_index(self.index)], g)
        return out

    def cuda(self, g, *like):
        from framework.kernels import cuda_nn

        shape = tuple(like[0].shape) if like else self.shape
        if not is_known(shape):
            return self.cpu(g, *like)  # raises the CPU's error, before reading anything
        return cuda_nn.slice_grad(g, shape, _numpy_index(self.index))

    def vjp(self, g, inputs, out):
        return (bind(Slice(self.index), g),) + (None,) * (len(inputs) - 1)

    def __str__(self) -> str:
        return f"{self.name}[{index_text(self.index)}]{tuple(self.shape)}"


def slice_grad(g, index, like):
    """Zeros shaped like `like` (a shape, or a value) with `g` written at `index`.

    The gradient of `getitem`; its own gradient is `getitem` again, so second order works.

    >>> slice_grad(np.ones(2), (slice(None, None, 2),), (4,))
    array([1., 0., 1., 0.])
    """
    shape = as_shape(like) if isinstance(like, (int, tuple, list)) else tuple(like.shape)
    index = normalize_index(index, len(shape), "slice_grad")
    return _bind_slice_grad(as_operand(g), index, like, shape)


def _bind_slice_grad(g, index: tuple, like, shape: tuple):
    if is_known(shape):
        return bind(SliceGrad(index, shape), g)
    if isinstance(like, (Spec, tuple, list, int)):
        raise ShapeError(f"slice_grad: shape {shape} has unknown dimensions; pass the sliced "
                         "value itself so its run-time shape can be used")
    return bind(SliceGrad(index, shape), g, like)


# ---------------------------------------------------------------------------------------------
# gather (np.take along one axis) and its adjoint scatter_add


@numba.njit(cache=True)
def _first_outside(values, low, high):
    """Position of the first value outside [low, high), or -1."""
    for i in range(values.size):
        if values[i] < low or values[i] >= high:
            return i
    return -1


def check_index_values(op: str, indices: np.ndarray, flat: np.ndarray, size: int,
                       what: str, noun: str = "index") -> None:
    """Refuse, before any kernel, a value of `indices` outside [0, size), negative included.

    `flat` is indices as a contiguous 1-d array; `what` names the range, e.g. 'axis 1 (size
    3) of shape (2, 3, 4)'.
    """
    bad = _first_outside(flat, 0, size) if flat.size else -1
    if bad < 0:
        return
    value = int(flat[bad])
    where = tuple(int(i) for i in np.unravel_index(bad, indices.shape)) if indices.ndim else ()
    reason = " (negative values are not wrapped, as in torch.index_select)" if value < 0 else ""
    raise IndexingError(f"{op}: {noun} {value} at position {where} is out of range for "
                        f"{what}{reason}")


def check_device_index_values(op: str, indices, size: int, what: str,
                              noun: str = "index") -> None:
    """`check_index_values` for indices on a CUDA device: scanned there (one number comes
    back), and described by the same error, from a host copy, when one is out of range."""
    from framework.kernels import cuda_nn

    if cuda_nn.first_outside(indices, size) >= 0:
        host = indices.copy_to_host()
        check_index_values(op, host, host.reshape(-1), size, what, noun)
        raise AssertionError(f"{op}: an index the device found out of range passed the host "
                             "check")


@numba.njit(cache=True)
def _gather_serial(x, indices, out):
    outer, count, inner = out.shape
    for o in range(outer):
        for j in range(count):
            source = indices[j]
            for k in range(inner):
                out[o, j, k] = x[o, source, k]


@numba.njit(parallel=True, cache=True)
def _gather_parallel(x, indices, out):
    outer, count, inner = out.shape
    for row in prange(outer * count):
        o = row // count
        j = row - o * count
        source = indices[j]
        for k in range(inner):
            out[o, j, k] = x[o, source, k]


@register
class Gather(Op):
    """Take positions `indices` (an integer array of any shape) along `axis`, as np.take."""

    name = "gather"
    axis: int = 0

    def infer(self, x, indices):
        require_dtype(self.name, indices, dtypes.INTS, "indices")
        if not x.shape:
            raise ShapeError(f"{self.name}: cannot gather from a 0-d value")
        axis = _axis(self.axis, len(x.shape), self.name)
        return Spec(tuple(x.shape[:axis]) + tuple(indices.shape) + tuple(x.shape[axis + 1:]),
                    x.dtype)

    def cpu(self, x, indices):
        axis = self.axis % x.ndim
        flat = contiguous(indices).reshape(-1)
        check_index_values(self.name, indices, flat, x.shape[axis],
                           f"axis {axis} (size {x.shape[axis]}) of shape {x.shape}")
        out = empty(x.shape[:axis] + indices.shape + x.shape[axis + 1:], x.dtype)
        if out.size:
            source = _bits(as_3d(x, axis))
            target = _bits(out).reshape(source.shape[0], flat.size, source.shape[2])
            kernel = _gather_parallel if out.size >= PARALLEL_MIN_SIZE else _gather_serial
            kernel(source, flat, target)
        return out

    def cuda(self, x, indices):
        from framework.kernels import cuda_nn

        shape = tuple(x.shape)
        axis = self.axis % len(shape)
        check_device_index_values(self.name, indices, shape[axis],
                                  f"axis {axis} (size {shape[axis]}) of shape {shape}")
        return cuda_nn.gather(x, indices, axis)

    def vjp(self, g, inputs, out):
        x, indices = inputs
        dim = x.shape[self.axis % len(x.shape)]
        if dim is None:
            raise ShapeError(f"gather gradient: axis {self.axis} of shape {tuple(x.shape)} "
                             "must be known to scatter into it")
        return scatter_add(g, indices, self.axis, dim), None


def gather(x, indices, axis: int = 0):
    """`np.take(x, indices, axis)`: the result has indices' shape in place of `axis`.

    Indices must lie in [0, x.shape[axis]): negative ones are refused (as torch.index_select
    does), with IndexingError naming the index and the size. Used by embeddings.

    >>> gather(np.arange(10.0).reshape(5, 2), np.array([[4, 0]]), axis=0).shape
    (1, 2, 2)
    """
    x = as_operand(x)
    return bind(Gather(_canonical_axis(axis, len(x.shape))), x, as_operand(indices))


@numba.njit(cache=True)
def _scatter_add_serial(updates, indices, out):
    outer, count, inner = updates.shape
    for o in range(outer):
        for j in range(count):
            target = indices[j]
            for k in range(inner):
                out[o, target, k] += updates[o, j, k]


@numba.njit(parallel=True, cache=True)
def _scatter_add_parallel(updates, indices, out, parts):
    # Each task owns whole output rows or a slice of the inner axis: duplicate indices never
    # race, and every sum runs in index order, so results are deterministic.
    outer, count, inner = updates.shape
    for task in prange(outer * parts):
        o = task // parts
        part = task - o * parts
        for j in range(count):
            target = indices[j]
            for k in range(part * inner // parts, (part + 1) * inner // parts):
                out[o, target, k] += updates[o, j, k]


@register
class ScatterAdd(Op):
    """Zeros with `dim_size` positions along `axis`, plus each update added at its index.

    `updates` has the shape gather would give: the indices' shape in place of `axis`.
    Duplicate indices sum. The adjoint of gather (an embedding's weight gradient)."""

    name = "scatter_add"
    axis: int = 0
    dim_size: int = 0

    def infer(self, updates, indices):
        require_dtype(self.name, updates, dtypes.NUMERIC, "updates")
        require_dtype(self.name, indices, dtypes.INTS, "indices")
        if not isinstance(self.dim_size, int) or self.dim_size < 0:
            raise ShapeError(f"{self.name}: dim_size must be a non-negative int, "
                             f"got {self.dim_size!r}")
        k = len(indices.shape)
        ndim = len(updates.shape) - k + 1
        if ndim < 1:
            raise ShapeError(f"{self.name}: updates of shape {tuple(updates.shape)} have fewer "
                             f"dimensions than indices of shape {tuple(indices.shape)}")
        axis = _axis(self.axis, ndim, self.name)
        covered = tuple(updates.shape[axis:axis + k])
        if any(a is not None and b is not None and a != b
               for a, b in zip(covered, indices.shape)):
            raise ShapeError(f"{self.name}: updates of shape {tuple(updates.shape)} do not hold "
                             f"indices' shape {tuple(indices.shape)} at axis {axis}")
        shape = (tuple(updates.shape[:axis]) + (self.dim_size,)
                 + tuple(updates.shape[axis + k:]))
        return Spec(shape, updates.dtype)

    def cpu(self, updates, indices):
        ndim = updates.ndim - indices.ndim + 1
        axis = self.axis % ndim
        flat = contiguous(indices).reshape(-1)
        check_index_values(self.name, indices, flat, self.dim_size,
                           f"dim_size={self.dim_size} along axis {axis}")
        before, after = updates.shape[:axis], updates.shape[axis + indices.ndim:]
        out = empty(before + (self.dim_size,) + after, updates.dtype)
        fill(out, 0)
        if updates.size:
            outer = math.prod(before)
            inner = math.prod(after)
            source = view_or_copy(updates, (outer, flat.size, inner))
            target = out.reshape(outer, self.dim_size, inner)
            if updates.size >= PARALLEL_MIN_SIZE:
                threads = numba.get_num_threads()
                parts = 1 if outer >= 2 * threads else max(1, min(inner, 2 * threads))
                _scatter_add_parallel(source, flat, target, parts)
            else:
                _scatter_add_serial(source, flat, target)
        return out

    def cuda(self, updates, indices):
        from framework.kernels import cuda_nn

        axis = self.axis % (updates.ndim - indices.ndim + 1)
        check_device_index_values(self.name, indices, self.dim_size,
                                  f"dim_size={self.dim_size} along axis {axis}")
        return cuda_nn.scatter_add(updates, indices, axis, self.dim_size)

    def vjp(self, g, inputs, out):
        _, indices = inputs
        return gather(g, indices, self.axis % len(g.shape)), None


def scatter_add(updates, indices, axis: int, dim_size: int):
    """Add each slice of `updates` into position indices[...] along `axis` of a zero array
    with `dim_size` positions there; duplicates sum. The adjoint of `gather`.

    >>> scatter_add(np.ones((3, 2)), np.array([1, 1, 0]), 0, 3)
    array([[1., 1.],
           [2., 2.],
           [0., 0.]])
    """
    updates, indices = as_operand(updates), as_operand(indices)
    ndim = len(updates.shape) - len(indices.shape) + 1
    return bind(ScatterAdd(_canonical_axis(axis, ndim), _int_argument(dim_size)), updates,
                indices)



# ---------------------------------------------------------------------------------------------
# pad


@register
class Pad(Op):
    """Constant padding: `pad_width` holds one (before, after) pair per axis."""

    name = "pad"
    pad_width: tuple = ()
    value: float = 0.0
    vjp_needs_inputs = False

    def infer(self, x):
        if len(self.pad_width) != len(x.shape) or any(
                not isinstance(pair, tuple) or len(pair) != 2
                or any(not isinstance(w, int) or w < 0 for w in pair)
                for pair in self.pad_width):
            raise ShapeError(f"{self.name}: pad_width {self.pad_width} must hold one pair of "
                             f"non-negative ints per axis of shape {tuple(x.shape)}")
        return Spec(tuple(None if d is None else before + d + after
                          for d, (before, after) in zip(x.shape, self.pad_width)), x.dtype)

    def cpu(self, x):
        shape = tuple(b + d + a for d, (b, a) in zip(x.shape, self.pad_width))
        out = empty(shape, x.dtype)
        if out.size == 0:
            return out
        if out.size < _SMALL:  # one fill beats a fill call per border at this size
            fill(out, self.value)
            copy_into_window(out, x, [before for before, _ in self.pad_width])
            return out
        interior = []
        for (before, after), dim in zip(self.pad_width, x.shape):
            # Each border slab spans the interior of the axes already handled, so no element
            # is written twice.
            lead = tuple(interior)
            if before:
                fill(out[lead + (slice(0, before),)], self.value)
            if after:
                fill(out[lead + (slice(before + dim, None),)], self.value)
            interior.append(slice(before, before + dim))
        copy_into_window(out, x, [before for before, _ in self.pad_width])
        return out

    def cuda(self, x):
        from framework.kernels import cuda_nn

        return cuda_nn.pad(x, self.pad_width, self.value)

    def vjp(self, g, inputs, out):
        index = tuple((before, -after if after else None, 1) for before, after in self.pad_width)
        return bind(Slice(index), g)


def pad(x, pad_width, value=0.0):
    """Pad with a constant, as np.pad(mode='constant').

    pad_width: an int (every side), one (before, after) pair for every axis, or one pair per
    axis.

    >>> pad(np.ones((1, 2)), ((1, 0), (0, 1)), value=5.0)
    array([[5., 5., 5.],
           [1., 1., 5.]])
    """
    x = as_operand(x)
    ndim = len(x.shape)
    widths = _pad_pairs(pad_width, ndim)
    return bind(Pad(widths, x.dtype.type(value).item()), x)


def _pad_pairs(pad_width, ndim: int) -> tuple:
    def as_int(w):
        if isinstance(w, (bool, np.bool_)) or not hasattr(w, "__index__"):
            raise ShapeError(f"pad: pad_width {pad_width!r} must hold ints")
        return operator.index(w)

    if isinstance(pad_width, np.ndarray):
        pad_width = pad_width.tolist()
    if isinstance(pad_width, (tuple, list)) and len(pad_width) == 2 and all(
            not isinstance(w, (tuple, list)) for w in pad_width):
        pad_width = (tuple(pad_width),)  # one pair, for every axis
    if not isinstance(pad_width, (tuple, list)):
        pad_width = ((pad_width, pad_width),)
    pairs = tuple(tuple(as_int(w) for w in pair) for pair in pad_width)
    if len(pairs) == 1:
        pairs = pairs * ndim
    return pairs


# ---------------------------------------------------------------------------------------------
# one_hot


@numba.njit(cache=True)
def _one_hot_serial(labels, out):
    for r in range(out.shape[0]):
        for c in range(out.shape[1]):
            out[r, c] = 0
        out[r, labels[r]] = 1


@numba.njit(parallel=True, cache=True)
def _one_hot_parallel(labels, out):
    for r in prange(out.shape[0]):
        for c in range(out.shape[1]):
            out[r, c] = 0
        out[r, labels[r]] = 1


@register
class OneHot(Op):
    name = "one_hot"
    num_classes: int = 0
    dtype: np.dtype = dtypes.float32
    no_gradient = "integer input"

    def infer(self, labels):
        require_dtype(self.name, labels, dtypes.INTS, "labels")
        if isinstance(self.num_classes, bool) or not isinstance(self.num_classes, int) \
                or self.num_classes < 0:
            raise ShapeError(f"{self.name}: num_classes must be a non-negative int, "
                             f"got {self.num_classes!r}")
        return Spec(tuple(labels.shape) + (self.num_classes,), self.dtype)

    def cpu(self, labels):
        flat = contiguous(labels).reshape(-1)
        check_index_values(self.name, labels, flat, self.num_classes,
                           f"num_classes={self.num_classes}", "label")
        out = empty(labels.shape + (self.num_classes,), self.dtype)
        if out.size:
            rows = out.reshape(flat.size, self.num_classes)
            kernel = _one_hot_parallel if out.size >= PARALLEL_MIN_SIZE else _one_hot_serial
            kernel(flat, rows)
        return out

    def cuda(self, labels):
        from framework.kernels import cuda_nn

        check_device_index_values(self.name, labels, self.num_classes,
                                  f"num_classes={self.num_classes}", "label")
        return cuda_nn.one_hot(labels, self.num_classes, self.dtype)


def one_hot(labels, num_classes: int, dtype=dtypes.float32):
    """Rows of the identity picked by integer labels: shape labels.shape + (num_classes,).

    Labels outside [0, num_classes) raise IndexingError naming the label.

    >>> one_hot(np.array([2, 0]), 3)
    array([[0., 0., 1.],
           [1., 0., 0.]], dtype=float32)
    """
    return bind(OneHot(_int_argument(num_classes), dtypes.as_dtype(dtype)), as_operand(labels))


# ---------------------------------------------------------------------------------------------
# shape_of


@register
class ShapeOf(Op):
    """The input's shape as a 1-d integer array, read at run time (TensorFlow 1's tf.shape)."""

    name = "shape"
    reads_input_values = False
    dtype: np.dtype = dtypes.int32
    no_gradient = "integer output"

    def infer(self, x):
        if self.dtype not in dtypes.INTS:
            raise DTypeError(f"{self.name}: the result dtype must be int32 or int64, got "
                             f"{self.dtype}")
        return Spec((len(x.shape),), self.dtype)

    def cpu(self, x):
        out = empty((x.ndim,), self.dtype)
        if x.ndim and max(x.shape) > np.iinfo(self.dtype).max:
            raise ShapeError(f"{self.name}: shape {x.shape} does not fit in {self.dtype}; "
                             "ask for int64")
        out[:] = x.shape
        return out

    def cuda(self, x):
        from framework.kernels import cuda_nn

        return cuda_nn.from_host(self.cpu(x))  # the CPU kernel reads only x's shape


def shape_of(x, dtype=dtypes.int32):
    """The shape of `x` as a 1-d int32 (or int64) array, computed when the op runs, so a
    dimension unknown when a graph is built has its fed size.

    >>> shape_of(np.zeros((4, 0, 3)))
    array([4, 0, 3], dtype=int32)
    """
    return bind(ShapeOf(dtypes.as_dtype(dtype)), as_operand(x))


__all__ += ["tile"]


def tile(x, reps):
    """x repeated `reps[i]` times along each axis: NumPy's tile, PyTorch's tile (and its
    Tensor.repeat). With more reps than axes, x gains leading axes of size 1 first; with fewer,
    the leading axes are not repeated. Always a new array, never a view.

    Written as a broadcast and a reshape: x of shape (a, b) is seen as (1, a, 1, b), stretched
    to (r0, a, r1, b) and merged into (r0 * a, r1 * b), so the gradient sums the copies.

    >>> tile(np.array([[1, 2]]), (2, 2))
    array([[1, 2, 1, 2],
           [1, 2, 1, 2]])
    """
    x = as_operand(x)
    try:
        reps = tuple(operator.index(r) for r in reps)
    except TypeError:
        raise ShapeError(f"tile: reps must be a sequence of ints, got {reps!r}") from None
    if any(r < 0 for r in reps):
        raise ShapeError(f"tile: reps must not be negative, got {reps}")
    ndim = max(len(reps), len(x.shape))
    reps = (1,) * (ndim - len(reps)) + reps
    shape = (1,) * (ndim - len(x.shape)) + tuple(x.shape)
    if None in shape:
        raise ShapeError(f"tile: needs the value's whole shape, got {tuple(x.shape)}")
    spread = reshape(x, tuple(d for size in shape for d in (1, size)))
    stretched = broadcast_to(spread, tuple(d for pair in zip(reps, shape) for d in pair))
    return contiguous_copy(reshape(stretched, tuple(r * size for r, size in zip(reps, shape))))
