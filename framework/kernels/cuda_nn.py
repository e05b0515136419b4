"""CUDA kernels (numba.cuda) for the ops that are not elementwise, with the functions that
launch them: every op of `framework.ops` whose CUDA entry is not an elementwise map or a
reduction of `framework.kernels.cuda` calls one of these.

Each launch function takes device arrays whose shapes and dtypes the op's rule has accepted
(the rule runs once, in `registry.run_op`, before any kernel) and returns new device arrays or
views. Values a rule cannot see (class labels, indices) are the op's to check before it calls a
kernel that indexes with them; `first_outside` scans them on the device. Every output comes
from `_empty`, the one place that allocates (the device's allocator, which counts it).

- layout: views (transpose, broadcast_to, squeeze / unsqueeze, reshape, getitem, split) made
  from the input's memory with new strides; one strided copy kernel for everything else
  (contiguous copies, casts, joins, padding, slice_grad).
- matmul, linear and its gradients, and convolution's GEMMs: one tiled kernel. A block computes
  a 64 x 64 tile of an output matrix, walking the shared dimension 16 at a time through shared
  memory; each of its 256 threads keeps a 4 x 4 piece of the tile in registers. Transposed
  operands are read in place (compile-time variants), stacks broadcast through per-matrix
  index arrays as on the CPU, and linear's bias is added as the tile is stored.
- softmax family and cross-entropy: one block per row, threads striding along the row; the
  row's maximum and its sum of exponentials go through shared-memory tree reductions, relative
  to the maximum and summed in float64 as on the CPU, so NaN, +-inf and -inf rows give what
  the CPU gives.
- convolution (im2col, col2im) and pooling: a thread per element; every backward op is a
  gather, so no two threads write one place and sums run in the CPU's order.
- gather, scatter_add (atomic adds), embedding, take / put along an axis, scans, sort and topk
  (a thread per lane, in the CPU's order), nonzero, one_hot, and the random ops, which draw
  the CPU's counter-based streams.

Only an op's `cuda` entry imports this module (inside its body), so `import framework` never
imports numba.cuda (see `framework.kernels.cuda`). Tests run these kernels under numba's CUDA
simulator (`NUMBA_ENABLE_CUDASIM=1`) and compile them for a real GPU (`compile_for_gpu`).

The matmul tiling a GPU runs (device arrays need a GPU or the simulator; the tests show their
use):

>>> GPU_TILE
Tile(block_m=64, block_n=64, block_k=16, threads_m=16, threads_n=16)
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numba
import numpy as np
from numba import cuda

from framework import device
from framework.kernels.cuda import MAX_BLOCKS, THREADS_PER_BLOCK, current_device, launch_config


class Tile(NamedTuple):
    """A matmul tiling: a block computes block_m x block_n outputs with threads_m x threads_n
    threads, each holding (block_m / threads_m) x (block_n / threads_n) of them in registers;
    the shared dimension advances block_k at a time through shared memory."""

    block_m: int
    block_n: int
    block_k: int
    threads_m: int
    threads_n: int


# On a GPU: 64 x 64 outputs, 256 threads of 4 x 4. The simulator runs every thread as a Python
# thread, so it runs the same kernel on a small tiling (16 threads of 2 x 2); the GPU's tiling
# is checked by compiling it (tests/framework/test_cuda_nn.py).
GPU_TILE = Tile(64, 64, 16, 16, 16)
SIMULATOR_TILE = Tile(8, 8, 4, 4, 4)
SIMULATOR = bool(numba.config.ENABLE_CUDASIM)
TILE = SIMULATOR_TILE if SIMULATOR else GPU_TILE
# CUDA's limit on a grid's y and z sizes; larger stacks are walked by grid-stride loops.
MAX_GRID_YZ = 65535
# Row kernels: threads per row, a power of two (for the tree reductions) from the first at
# least the row's length, within these bounds; the simulator's are small, so its rows are
# walked by several strides of few threads. Other launches take `launch_config`'s.
ROW_MIN_THREADS, ROW_THREADS = (1, 8) if SIMULATOR else (32, 256)


def _empty(shape, dtype):
    """A new array on the current GPU, counted by its allocator: every output of this module
    is allocated here."""
    return device.empty(tuple(shape), np.dtype(dtype), current_device())


def _launch(kernel, count: int, *arguments) -> None:
    """A grid-stride kernel over `count` items (none: no launch, as CUDA wants)."""
    if count:
        kernel[launch_config(count)](*arguments)


def fill(out, value) -> None:
    """Set every element of a C-contiguous device array to `value`."""
    flat = out.reshape((out.size,))
    _launch(_fill_value_kernel, flat.size, flat, np.dtype(out.dtype).type(value))


@cuda.jit
def _fill_value_kernel(flat, value):
    for j in range(cuda.grid(1), flat.size, cuda.gridsize(1)):
        flat[j] = value


# ---------------------------------------------------------------------------------------------
# Layout: one strided copy kernel (any number of dimensions), and views.

_COPY_SOURCE = """
def copy_{ndim}d(x, out):
    start = cuda.grid(1)
    for flat in range(start, out.size, cuda.gridsize(1)):
        rest = flat
{unravel}
        out[{index}] = x[{index}]
"""


@functools.cache
def _copy_kernel(ndim: int):
    """A kernel copying an `ndim`-d array into another of its shape, both of any strides (and
    converting to the target's dtype), a thread per element (generated: an index tuple needs
    one name per dimension)."""
    lines = []
    for axis in range(ndim - 1, -1, -1):
        lines.append(f"        i{axis} = rest % out.shape[{axis}]")
        if axis:
            lines.append(f"        rest //= out.shape[{axis}]")
    index = ", ".join(f"i{axis}" for axis in range(ndim))
    namespace = {"cuda": cuda}
    exec(_COPY_SOURCE.format(ndim=ndim, unravel="\n".join(lines), index=index), namespace)
    return cuda.jit(namespace[f"copy_{ndim}d"])


def contiguous_copy(x):
    """A C-contiguous copy of a device array, whatever its strides (never a view)."""
    return cast(x, x.dtype)


def contiguous(x):
    """`x` itself when C-contiguous, else a contiguous copy."""
    return x if x.is_c_contiguous() else contiguous_copy(x)


def _reshaped(x, shape):
    """A view of `x` with `shape` (copied first where its strides do not allow one)."""
    return contiguous(x).reshape(tuple(shape))


def strided_view(x, shape, strides, offset: int = 0):
    """A view of x's memory with another shape and strides (in bytes), its first element
    `offset` bytes from x's: the caller makes sure every position it reaches lies inside the
    buffer x views. (Under the simulator NumPy checks that it does.)"""
    shape, strides = tuple(shape), tuple(strides)
    if math.prod(shape) == 0:
        return _empty(shape, x.dtype)  # nothing to view
    if SIMULATOR:
        ary = x._ary
        root = ary
        while isinstance(root.base, np.ndarray):
            root = root.base
        start = _address(ary) - _address(root) + offset
        return type(x)(np.ndarray(shape, ary.dtype, buffer=root, offset=start, strides=strides))
    # From the allocation's own pointer, so an offset may also step back (a reversed view).
    root = x.gpu_data.owner
    start = x.gpu_data.device_pointer_value - root.device_pointer_value + offset
    return type(x)(shape, strides, x.dtype, gpu_data=root.view(start))


def _address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


def basic_index_view(x, index: tuple):
    """x[index] for a NumPy basic index (ints, slices of any step, None, Ellipsis; checked by
    the op's rule), as a view of x's memory. NumPy works out the view's geometry on a stand-in
    with x's shape and strides that is never read."""
    stand_in = np.lib.stride_tricks.as_strided(np.empty(1, x.dtype), tuple(x.shape),
                                               tuple(x.strides))
    view = stand_in[index]
    return strided_view(x, view.shape, view.strides, _address(view) - _address(stand_in))


def slice_grad(g, shape: tuple, index: tuple):
    """Zeros of `shape` with g written at the basic index `index`: getitem's adjoint."""
    out = _empty(shape, g.dtype)
    if out.size:
        fill(out, 0)
        copy_into(basic_index_view(out, index), g)
    return out


def copy_into(dest, source) -> None:
    """dest[...] = source for device arrays of one shape, any strides (dest a view, say)."""
    if dest.size:
        if dest.ndim == 0:
            dest, source = dest.reshape((1,)), source.reshape((1,))
        _copy_kernel(dest.ndim)[launch_config(dest.size)](source, dest)


def transpose(x, axes):
    """The view of x with its axes permuted (`axes` a checked permutation), as NumPy's."""
    shape, strides = tuple(x.shape), tuple(x.strides)
    return strided_view(x, [shape[a] for a in axes], [strides[a] for a in axes])


def broadcast_to(x, shape):
    """The view of x stretched to `shape` (checked by the rule): stride 0 along new and
    stretched axes, as NumPy's broadcast_to."""
    shape = tuple(shape)
    lead = len(shape) - x.ndim
    strides = (0,) * lead + tuple(0 if size == 1 and want != 1 else stride for size, stride, want
                                  in zip(tuple(x.shape), tuple(x.strides), shape[lead:]))
    return strided_view(x, shape, strides)


def unit_axes_view(x, shape):
    """The view of x with size-1 axes inserted or removed to give `shape` (the same sizes
    otherwise, in order): squeeze and unsqueeze, a view whatever x's strides."""
    kept = iter([stride for size, stride in zip(tuple(x.shape), tuple(x.strides)) if size != 1])
    return strided_view(x, shape, [0 if size == 1 else next(kept) for size in shape])


def reshape(x, shape):
    """x with another shape of the same size: a view of a C-contiguous x, else of a copy."""
    shape = tuple(shape)
    if x.is_c_contiguous():
        return x.reshape(shape)
    if [d for d in tuple(x.shape) if d != 1] == [d for d in shape if d != 1]:
        return unit_axes_view(x, shape)
    return contiguous_copy(x).reshape(shape)


def cast(x, dtype):
    """x converted to `dtype`, as numba converts (floats to ints truncate, numbers to bool are
    != 0), into a new C-contiguous array."""
    out = _empty(x.shape, dtype)
    if out.size:
        source, dest = (x.reshape((1,)), out.reshape((1,))) if x.ndim == 0 else (x, out)
        _copy_kernel(source.ndim)[launch_config(out.size)](source, dest)
    return out


# ---------------------------------------------------------------------------------------------
# Tiled matmul


# How the matmul kernel stores its products (a compile-time choice).
STORE, ADD_BIAS, ACCUMULATE = range(3)


@functools.cache
def _matmul_kernel(dtype: np.dtype, transpose_a: bool, transpose_b: bool, store: int,
                   tile: Tile = TILE):
    """out[z] = op(a[a_index[z]]) @ op(b[b_index[z]]) for 3-D stacks, op being the matrix
    transpose where asked, stored as `store` says: STORE, ADD_BIAS (+ bias[column]) or
    ACCUMULATE (added to out). a is (A, m, k), or (A, k, m) transposed; b is (B, k, n), or
    (B, n, k) transposed; out is (Z, m, n). The flags and the tiling are compile-time
    constants: each variant keeps only its own loads. Launch with a (threads_n, threads_m)
    block; the grid walks column tiles on x, row tiles on y and matrices on z."""
    item = numba.from_dtype(dtype)
    zero = dtype.type(0)
    block_m, block_n, block_k, threads_m, threads_n = tile
    per_m, per_n = block_m // threads_m, block_n // threads_n
    threads = threads_m * threads_n

    @cuda.jit
    def kernel(a, b, bias, out, a_index, b_index):
        tile_a = cuda.shared.array((block_k, block_m), item)  # tile_a[p, r]: a[row0 + r, t + p]
        tile_b = cuda.shared.array((block_k, block_n), item)  # tile_b[p, c]: b[t + p, col0 + c]
        acc = cuda.local.array((per_m, per_n), item)
        a_col = cuda.local.array(per_m, item)
        b_row = cuda.local.array(per_n, item)
        m, n = out.shape[1], out.shape[2]
        k = a.shape[1] if transpose_a else a.shape[2]
        tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
        thread = ty * threads_n + tx
        col0 = cuda.blockIdx.x * block_n
        for z in range(cuda.blockIdx.z, out.shape[0], cuda.gridDim.z):
            left, right = a_index[z], b_index[z]
            for row0 in range(cuda.blockIdx.y * block_m, m, cuda.gridDim.y * block_m):
                for i in range(per_m):
                    for j in range(per_n):
                        acc[i, j] = zero
                for t in range(0, k, block_k):
                    # Consecutive threads load consecutive addresses of each operand's layout;
                    # positions past the matrix's edge load zeros.
                    for e in range(thread, block_m * block_k, threads):
                        if transpose_a:
                            p, r = e // block_m, e % block_m
                        else:
                            r, p = e // block_k, e % block_k
                        value = zero
                        if row0 + r < m and t + p < k:
                            if transpose_a:
                                value = a[left, t + p, row0 + r]
                            else:
                                value = a[left, row0 + r, t + p]
                        tile_a[p, r] = value
                    for e in range(thread, block_k * block_n, threads):
                        if transpose_b:
                            c, p = e // block_k, e % block_k
                        else:
                            p, c = e // block_n, e % block_n
                        value = zero
                        if t + p < k and col0 + c < n:
                            if transpose_b:
                                value = b[right, col0 + c, t + p]
                            else:
                                value = b[right, t + p, col0 + c]
                        tile_b[p, c] = value
                    cuda.syncthreads()
                    for p in range(block_k):
                        for i in range(per_m):
                            a_col[i] = tile_a[p, ty + i * threads_m]
                        for j in range(per_n):
                            b_row[j] = tile_b[p, tx + j * threads_n]
                        for i in range(per_m):
                            for j in range(per_n):
                                acc[i, j] += a_col[i] * b_row[j]
                    cuda.syncthreads()
                for i in range(per_m):
                    row = row0 + ty + i * threads_m
                    if row < m:
                        for j in range(per_n):
                            col = col0 + tx + j * threads_n
                            if col < n:
                                if store == ADD_BIAS:
                                    out[z, row, col] = acc[i, j] + bias[col]
                                elif store == ACCUMULATE:
                                    out[z, row, col] += acc[i, j]
                                else:
                                    out[z, row, col] = acc[i, j]

    return kernel


@functools.lru_cache(maxsize=256)
def _batch_indices(a_batch: tuple, b_batch: tuple, batch: tuple):
    """For each output matrix, the index of the matrix each operand's stack gives it, as
    device arrays: made once per combination of batch shapes."""
    count = max(math.prod(batch), 1)

    def index(own):
        if not own:
            return np.zeros(count, np.int64)
        positions = np.arange(math.prod(own), dtype=np.int64).reshape(own)
        return np.ascontiguousarray(np.broadcast_to(positions, batch)).reshape(-1)

    return cuda.to_device(index(a_batch)), cuda.to_device(index(b_batch))


def _launch_matmul(a3, b3, out3, a_index, b_index, bias=None, transpose_a=False,
                   transpose_b=False, accumulate=False):
    """Run the tiled kernel on 3-D stacks (see `_matmul_kernel`); `bias` is 1-D or None;
    `accumulate` adds the products to out3 instead of storing them."""
    stack, m, n = out3.shape
    if out3.size == 0:
        return
    store = ADD_BIAS if bias is not None else ACCUMULATE if accumulate else STORE
    kernel = _matmul_kernel(np.dtype(out3.dtype), transpose_a, transpose_b, store)
    grid = (-(-n // TILE.block_n), min(-(-m // TILE.block_m), MAX_GRID_YZ),
            min(stack, MAX_GRID_YZ))
    kernel[grid, (TILE.threads_n, TILE.threads_m)](a3, b3, out3 if bias is None else bias,
                                                   out3, a_index, b_index)


def matmul(a, b):
    """`a @ b` with NumPy's rules (1-D operands promoted, batch dimensions broadcast), for
    operands `matmul`'s rule accepted."""
    # Shapes as plain tuples: the simulator's device arrays refuse negative shape indices.
    a_shape = (1,) + tuple(a.shape) if a.ndim == 1 else tuple(a.shape)
    b_shape = tuple(b.shape) + (1,) if b.ndim == 1 else tuple(b.shape)
    (m, k), n = a_shape[-2:], b_shape[-1]
    a_batch, b_batch = a_shape[:-2], b_shape[:-2]
    batch = tuple(np.broadcast_shapes(a_batch, b_batch))
    rows, cols = (m,) if a.ndim > 1 else (), (n,) if b.ndim > 1 else ()
    out = _empty(batch + rows + cols, a.dtype)
    if out.size == 0:
        return out
    a_index, b_index = _batch_indices(a_batch, b_batch, batch)
    a_stack, a_transposed = _matrix_stack(a, math.prod(a_batch), m, k)
    b_stack, b_transposed = _matrix_stack(b, math.prod(b_batch), k, n)
    _launch_matmul(a_stack, b_stack, out.reshape((math.prod(batch), m, n)), a_index, b_index,
                   transpose_a=a_transposed, transpose_b=b_transposed)
    return out


def _matrix_stack(x, count: int, rows: int, cols: int):
    """(x as a C-contiguous (count, rows, cols) stack, False), or, for a stack whose matrices
    are stored transposed (a `transpose` view, as gradient rules pass), (its (count, cols,
    rows) stack of transposes, True), read in place by the kernel's transposed variant; any
    other layout is copied."""
    if not x.is_c_contiguous() and x.ndim >= 2:
        swapped = transpose(x, tuple(range(x.ndim - 2)) + (x.ndim - 1, x.ndim - 2))
        if swapped.is_c_contiguous():
            return swapped.reshape((count, cols, rows)), True
    return _reshaped(x, (count, rows, cols)), False


def _single():
    """The batch indices of one matrix times one matrix."""
    return _batch_indices((), (), ())


def linear(x, weight, bias=None):
    """x @ weight.T (+ bias) for x (..., in), weight (out, in), bias (out,): the weight read
    transposed in place, the bias added as the output tile is stored."""
    out_features, in_features = weight.shape
    out = _empty(tuple(x.shape)[:-1] + (out_features,), x.dtype)
    if out.size == 0:
        return out
    rows = out.size // out_features
    index = _single()
    _launch_matmul(_reshaped(x, (1, rows, in_features)),
                   _reshaped(weight, (1, out_features, in_features)),
                   out.reshape((1, rows, out_features)), *index, bias=bias, transpose_b=True)
    return out


def linear_weight_grad(x, g):
    """g.T @ x for x (N, in) and g (N, out): linear's weight gradient, (out, in)."""
    out = _empty((g.shape[1], x.shape[1]), x.dtype)
    if out.size == 0:
        return out
    _launch_matmul(_reshaped(g, (1,) + tuple(g.shape)), _reshaped(x, (1,) + tuple(x.shape)),
                   out.reshape((1,) + tuple(out.shape)), *_single(), transpose_a=True)
    return out


@functools.cache
def _column_sum_kernel(dtype: np.dtype):
    """out[j] = sum_i x[i, j], a thread per column, summed in float64 for float dtypes."""
    start = 0.0 if dtype.kind == "f" else dtype.type(0)

    @cuda.jit
    def kernel(x, out):
        for j in range(cuda.grid(1), out.size, cuda.gridsize(1)):
            total = start
            for i in range(x.shape[0]):
                total += x[i, j]
            out[j] = total

    return kernel


def sum_rows(x):
    """The column sums of a 2-D device array: linear's bias gradient."""
    out = _empty((x.shape[1],), x.dtype)
    if out.size:
        _column_sum_kernel(np.dtype(x.dtype))[launch_config(out.size)](x, out)
    return out


def linear_grad(x, weight, g, grad_input=True, grad_bias=True):
    """linear's gradients for a 2-D input: (g @ weight,) g.T @ x (, g summed over rows)."""
    results = [linear_weight_grad(x, g)]
    if grad_input:
        results.insert(0, matmul(g, weight))
    if grad_bias:
        results.append(sum_rows(g))
    return tuple(results)


# ---------------------------------------------------------------------------------------------
# Row reductions in shared memory. Every row kernel views its arrays as (outer, n, inner) around
# the reduced axis; a row is one (outer, inner) position, its n values `inner` apart.


@cuda.jit(device=True)
def _block_max(shared, value):
    """The largest of the block's values (NaN ignored, as the CPU's `>` scan ignores it); the
    block size is a power of two."""
    t, size = cuda.threadIdx.x, cuda.blockDim.x
    shared[t] = value
    cuda.syncthreads()
    stride = size // 2
    while stride > 0:
        if t < stride and shared[t + stride] > shared[t]:
            shared[t] = shared[t + stride]
        cuda.syncthreads()
        stride //= 2
    result = shared[0]
    cuda.syncthreads()  # every thread has read it before the next row reuses `shared`
    return result


@cuda.jit(device=True)
def _block_sum(shared, value):
    """The sum of the block's values (float64 `shared`); the block size is a power of two."""
    t, size = cuda.threadIdx.x, cuda.blockDim.x
    shared[t] = value
    cuda.syncthreads()
    stride = size // 2
    while stride > 0:
        if t < stride:
            shared[t] += shared[t + stride]
        cuda.syncthreads()
        stride //= 2
    result = shared[0]
    cuda.syncthreads()
    return result


@cuda.jit(device=True)
def _row_max(x, o, i, lowest):
    top = lowest
    for c in range(cuda.threadIdx.x, x.shape[1], cuda.blockDim.x):
        if x[o, c, i] > top:
            top = x[o, c, i]
    return top


@cuda.jit(device=True)
def _row_sum_exp(x, o, i, top):
    total = 0.0
    for c in range(cuda.threadIdx.x, x.shape[1], cuda.blockDim.x):
        total += math.exp(x[o, c, i] - top)
    return total


@functools.cache
def _row_kernels(dtype: np.dtype):
    """The softmax-family kernels for one float dtype: a block per row (grid-stride over
    rows), the row's maximum and sum of exponentials reduced in shared memory."""
    item = numba.from_dtype(dtype)
    lowest = dtype.type(-np.inf)
    one = dtype.type(1)

    @cuda.jit(device=True)
    def row_max(x, o, i, shared):
        return _block_max(shared, _row_max(x, o, i, lowest))

    @cuda.jit(device=True)
    def log_sum_exp(x, o, i, top, totals):
        """log(sum(exp(x - top))) over the row, in float64."""
        return math.log(_block_sum(totals, _row_sum_exp(x, o, i, top)))

    @cuda.jit(device=True)
    def softmax_row(x, out, o, i, tops, totals):
        top = row_max(x, o, i, tops)
        total = 0.0
        for c in range(cuda.threadIdx.x, x.shape[1], cuda.blockDim.x):
            e = math.exp(x[o, c, i] - top)  # stored in the dtype, then summed: as the CPU
            out[o, c, i] = e
            total += out[o, c, i]
        scale = item(1.0 / _block_sum(totals, total))
        for c in range(cuda.threadIdx.x, x.shape[1], cuda.blockDim.x):
            out[o, c, i] *= scale

    @cuda.jit
    def softmax(x, out):
        tops = cuda.shared.array(ROW_THREADS, item)
        totals = cuda.shared.array(ROW_THREADS, numba.float64)
        inner = x.shape[2]
        for r in range(cuda.blockIdx.x, x.shape[0] * inner, cuda.gridDim.x):
            softmax_row(x, out, r // inner, r % inner, tops, totals)

    @cuda.jit
    def log_softmax(x, out):
        tops = cuda.shared.array(ROW_THREADS, item)
        totals = cuda.shared.array(ROW_THREADS, numba.float64)
        inner = x.shape[2]
        for r in range(cuda.blockIdx.x, x.shape[0] * inner, cuda.gridDim.x):
            o, i = r // inner, r % inner
            top = row_max(x, o, i, tops)
            log_total = log_sum_exp(x, o, i, top, totals)
            for c in range(cuda.threadIdx.x, x.shape[1], cuda.blockDim.x):
                out[o, c, i] = (x[o, c, i] - top) - log_total

    @cuda.jit
    def label_loss(x, labels, out):
        """out[o, i] = logsumexp(row) - row[label]: -log_softmax at the label."""
        tops = cuda.shared.array(ROW_THREADS, item)
        totals = cuda.shared.array(ROW_THREADS, numba.float64)
        inner = x.shape[2]
        for r in range(cuda.blockIdx.x, x.shape[0] * inner, cuda.gridDim.x):
            o, i = r // inner, r % inner
            top = row_max(x, o, i, tops)
            log_total = log_sum_exp(x, o, i, top, totals)
            if cuda.threadIdx.x == 0:
                out[o, i] = log_total - (x[o, labels[o, i], i] - top)

    @cuda.jit
    def label_grad(x, labels, g, out):
        """(softmax(row) - one_hot(label)) * g[o, i]."""
        tops = cuda.shared.array(ROW_THREADS, item)
        totals = cuda.shared.array(ROW_THREADS, numba.float64)
        inner = x.shape[2]
        for r in range(cuda.blockIdx.x, x.shape[0] * inner, cuda.gridDim.x):
            o, i = r // inner, r % inner
            softmax_row(x, out, o, i, tops, totals)
            cuda.syncthreads()  # the label's entry is written by whichever thread owns it
            if cuda.threadIdx.x == 0:
                out[o, labels[o, i], i] -= one
            cuda.syncthreads()
            scale = g[o, i]
            for c in range(cuda.threadIdx.x, x.shape[1], cuda.blockDim.x):
                out[o, c, i] *= scale

    @cuda.jit
    def probability_loss(x, target, out):
        """out[o, i] = sum_c target_c * (logsumexp(row) - row_c): each term >= 0."""
        tops = cuda.shared.array(ROW_THREADS, item)
        totals = cuda.shared.array(ROW_THREADS, numba.float64)
        inner = x.shape[2]
        for r in range(cuda.blockIdx.x, x.shape[0] * inner, cuda.gridDim.x):
            o, i = r // inner, r % inner
            top = row_max(x, o, i, tops)
            log_total = log_sum_exp(x, o, i, top, totals)
            loss = 0.0
            for c in range(cuda.threadIdx.x, x.shape[1], cuda.blockDim.x):
                loss += target[o, c, i] * (log_total - (x[o, c, i] - top))
            loss = _block_sum(totals, loss)
            if cuda.threadIdx.x == 0:
                out[o, i] = loss

    return {"softmax": softmax, "log_softmax": log_softmax, "label_loss": label_loss,
            "label_grad": label_grad, "probability_loss": probability_loss}


def _row_launch(name: str, dtype, rows: int, n: int):
    """The kernel `name` configured for `rows` rows of length n: a block per row (up to
    MAX_BLOCKS, grid-stride beyond), threads the smallest power of two >= n (within
    ROW_MIN_THREADS and ROW_THREADS)."""
    threads = ROW_MIN_THREADS
    while threads < n and threads < ROW_THREADS:
        threads *= 2
    return _row_kernels(np.dtype(dtype))[name][min(rows, MAX_BLOCKS), threads]


def _split_at(shape: tuple, axis: int) -> tuple:
    return math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])


def _along_axis(name: str, x, axis: int):
    """softmax / log_softmax of x along `axis` (normalized by the caller)."""
    out = _empty(x.shape, x.dtype)
    if out.size == 0:
        return out
    outer, n, inner = _split_at(tuple(x.shape) or (1,), axis)
    _row_launch(name, x.dtype, outer * inner, n)(_reshaped(x, (outer, n, inner)),
                                                 out.reshape((outer, n, inner)))
    return out


def softmax(x, axis: int):
    return _along_axis("softmax", x, axis)


def log_softmax(x, axis: int):
    return _along_axis("log_softmax", x, axis)


# ---------------------------------------------------------------------------------------------
# Index values, checked on the device before a kernel indexes with them


@cuda.jit
def _first_outside_kernel(flat, size, first):
    for j in range(cuda.grid(1), flat.size, cuda.gridsize(1)):
        if flat[j] < 0 or flat[j] >= size:
            cuda.atomic.min(first, 0, j)


def first_outside(indices, size: int) -> int:
    """The flat position of the first value of `indices` (a device array) outside [0, size),
    or -1: the scan runs on the device and one number comes back. The op that indexes with
    them raises its error from a host copy when this finds one."""
    if indices.size == 0:
        return -1
    flat = _reshaped(indices, (indices.size,))
    first = cuda.to_device(np.array([flat.size], np.int64))
    _first_outside_kernel[launch_config(flat.size)](flat, size, first)
    position = int(first.copy_to_host()[0])
    return -1 if position == flat.size else position


def _class_layout(logits):
    return _split_at(tuple(logits.shape), 1)


def label_cross_entropy(logits, labels):
    """-log_softmax(logits, axis=1) at each sample's label: shape labels.shape."""
    outer, classes, inner = _class_layout(logits)
    out = _empty(labels.shape, logits.dtype)
    if out.size:
        _row_launch("label_loss", logits.dtype, outer * inner, classes)(
            _reshaped(logits, (outer, classes, inner)), _reshaped(labels, (outer, inner)),
            out.reshape((outer, inner)))
    return out


def label_cross_entropy_grad(logits, labels, g):
    """(softmax(logits, axis=1) - one_hot(labels)) * g, the shape of logits."""
    outer, classes, inner = _class_layout(logits)
    return _label_grad(logits, labels, g, outer, classes, inner)


def _label_grad(logits, labels, g, outer, classes, inner):
    out = _empty(logits.shape, logits.dtype)
    if out.size:
        _row_launch("label_grad", logits.dtype, outer * inner, classes)(
            _reshaped(logits, (outer, classes, inner)), _reshaped(labels, (outer, inner)),
            _reshaped(g, (outer, inner)), out.reshape((outer, classes, inner)))
    return out


@functools.cache
def _mean_kernel(dtype: np.dtype):
    """out[0] = the mean of x (1-D), one block, summed in float64 (NaN for no values)."""
    item = numba.from_dtype(dtype)

    @cuda.jit
    def kernel(x, out):
        totals = cuda.shared.array(THREADS_PER_BLOCK, numba.float64)
        total = 0.0
        for j in range(cuda.threadIdx.x, x.size, cuda.blockDim.x):
            total += x[j]
        total = _block_sum(totals, total)
        if cuda.threadIdx.x == 0:
            out[0] = item(total / x.size) if x.size else item(math.nan)

    return kernel


def mean_all(x):
    """The mean of every value of a float device array, as a 0-d device array."""
    out = _empty((), x.dtype)
    kernel = _mean_kernel(np.dtype(x.dtype))
    kernel[1, THREADS_PER_BLOCK](_reshaped(x, (x.size,)), out.reshape((1,)))
    return out


def label_cross_entropy_mean(logits, labels):
    return mean_all(label_cross_entropy(logits, labels))


@cuda.jit
def _fill_scaled_kernel(g, scale, out):
    """out[:] = g[0] * scale, one multiply in the dtype."""
    value = g[0] * scale
    for j in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        out[j] = value


def label_cross_entropy_mean_grad(logits, labels, g):
    """The gradient of the mean label loss for a scalar g: every sample's cotangent is
    g * (1 / N) in the dtype, as the CPU rounds it."""
    outer, classes, inner = _class_layout(logits)
    dtype = np.dtype(logits.dtype)
    count = math.prod(labels.shape)
    spread = _empty(labels.shape, dtype)
    if spread.size:
        scale = dtype.type(1.0 / count)
        _fill_scaled_kernel[launch_config(spread.size)](g.reshape((1,)), scale,
                                                        spread.reshape((spread.size,)))
    return _label_grad(logits, labels, spread, outer, classes, inner)


def probability_cross_entropy(logits, target):
    """sum over classes of -target * log_softmax(logits, axis=1): shape (N, d1, ...)."""
    outer, classes, inner = _class_layout(logits)
    shape = tuple(logits.shape)
    out = _empty(shape[:1] + shape[2:], logits.dtype)
    if out.size:
        _row_launch("probability_loss", logits.dtype, outer * inner, classes)(
            _reshaped(logits, (outer, classes, inner)),
            _reshaped(target, (outer, classes, inner)), out.reshape((outer, inner)))
    return out


# ---------------------------------------------------------------------------------------------
# Filled arrays, joins and splits, padding, one_hot: views and copies over the kernels above.


def full(shape, dtype, value):
    """A new array of `shape` filled with `value` converted to `dtype`."""
    out = _empty(shape, dtype)
    if out.size:
        fill(out, value)
    return out


def from_host(array: np.ndarray):
    """A device copy of a host array, counted by the allocator."""
    out = _empty(array.shape, array.dtype)
    if out.size:
        out.copy_to_device(np.ascontiguousarray(array))
    return out


def _along(axis: int, entry) -> tuple:
    """The basic index that takes `entry` (an int or a slice) along `axis`."""
    return (slice(None),) * axis + (entry, Ellipsis)


def concat(xs, axis: int):
    """xs joined along an existing axis (shapes and dtypes checked by the rule)."""
    shape = list(xs[0].shape)
    shape[axis] = sum(x.shape[axis] for x in xs)
    out = _empty(tuple(shape), xs[0].dtype)
    offset = 0
    for x in xs:
        size = x.shape[axis]
        copy_into(basic_index_view(out, _along(axis, slice(offset, offset + size))), x)
        offset += size
    return out


def stack(xs, axis: int):
    """Same-shaped xs joined along a new axis."""
    shape = tuple(xs[0].shape)
    out = _empty(shape[:axis] + (len(xs),) + shape[axis:], xs[0].dtype)
    for position, x in enumerate(xs):
        copy_into(basic_index_view(out, _along(axis, position)), x)
    return out


def split(x, axis: int, sizes) -> tuple:
    """Views of consecutive parts of x along `axis`, of the given sizes."""
    parts, offset = [], 0
    for size in sizes:
        parts.append(basic_index_view(x, _along(axis, slice(offset, offset + size))))
        offset += size
    return tuple(parts)


def pad(x, pad_width, value):
    """x with `value` around it: pad_width holds one (before, after) pair per axis."""
    shape = tuple(before + d + after for d, (before, after) in zip(tuple(x.shape), pad_width))
    out = full(shape, x.dtype, value)
    if out.size:
        interior = tuple(slice(before, before + d)
                         for d, (before, _) in zip(tuple(x.shape), pad_width))
        copy_into(basic_index_view(out, interior + (Ellipsis,)), x)
    return out


@cuda.jit
def _one_hot_kernel(labels, out):
    classes = out.shape[1]
    for flat in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        r, c = flat // classes, flat % classes
        out[r, c] = 1 if labels[r] == c else 0


def one_hot(labels, num_classes: int, dtype):
    """Rows of the identity picked by labels (checked to lie in [0, num_classes))."""
    out = _empty(tuple(labels.shape) + (num_classes,), dtype)
    if out.size:
        _launch(_one_hot_kernel, out.size, _reshaped(labels, (labels.size,)),
                out.reshape((labels.size, num_classes)))
    return out


# ---------------------------------------------------------------------------------------------
# Scans, take/put along an axis, nonzero: a thread per lane (o, k) of an (outer, n, inner) view
# walks the axis in order, as the CPU's loops do, so results (sums, last writes) are the CPU's.


@cuda.jit
def _scan_kernel(x, out, start, reverse, multiply):
    n, inner = x.shape[1], x.shape[2]
    for lane in range(cuda.grid(1), x.shape[0] * inner, cuda.gridsize(1)):
        o, k = lane // inner, lane % inner
        acc = start
        for step in range(n):
            j = n - 1 - step if reverse else step
            if multiply:
                acc *= x[o, j, k]
            else:
                acc += x[o, j, k]
            out[o, j, k] = acc


def scan(x, axis: int, reverse: bool, multiply: bool):
    """Running sums (or products) along `axis`, accumulated in float64 or int64."""
    out = _empty(x.shape, x.dtype)
    if out.size:
        outer, n, inner = _split_at(tuple(x.shape) or (1,), axis)
        start = (np.float64 if np.dtype(x.dtype).kind == "f" else np.int64)(int(multiply))
        _launch(_scan_kernel, outer * inner, _reshaped(x, (outer, n, inner)),
                out.reshape((outer, n, inner)), start, reverse, multiply)
    return out


@cuda.jit
def _take_kernel(x, indices, out):
    count, inner = out.shape[1], out.shape[2]
    for flat in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        o, rest = flat // (count * inner), flat % (count * inner)
        j, k = rest // inner, rest % inner
        out[o, j, k] = x[o, indices[o, j, k], k]


@cuda.jit
def _put_kernel(out, indices, values, accumulate):
    count, inner = values.shape[1], values.shape[2]
    for lane in range(cuda.grid(1), values.shape[0] * inner, cuda.gridsize(1)):
        o, k = lane // inner, lane % inner
        for j in range(count):
            if accumulate:
                out[o, indices[o, j, k], k] += values[o, j, k]
            else:
                out[o, indices[o, j, k], k] = values[o, j, k]


def _corner_index(covered: tuple, shape: tuple, axis: int) -> tuple:
    """The basic index of the leading corner of `shape` that indices of shape `covered`
    address (all of the axis itself)."""
    return tuple(slice(None) if d == axis else slice(0, n) for d, n in enumerate(covered))


def take_along_axis(x, indices, axis: int):
    """out[p] = x[p with its coordinate along axis replaced by indices[p]] (checked indices)."""
    covered = tuple(indices.shape)
    out = _empty(covered, x.dtype)
    if out.size:
        shape = (math.prod(covered[:axis]), covered[axis], math.prod(covered[axis + 1:]))
        corner = basic_index_view(x, _corner_index(covered, tuple(x.shape), axis))
        _launch(_take_kernel, out.size, _reshaped(corner, (shape[0], x.shape[axis], shape[2])),
                _reshaped(indices, shape), out.reshape(shape))
    return out


def put_along_axis(x, indices, values, axis: int, accumulate: bool):
    """A copy of x with values written (or added) where indices name along axis."""
    out = contiguous_copy(x)
    if indices.size:
        covered = tuple(indices.shape)
        shape = (math.prod(covered[:axis]), x.shape[axis], math.prod(covered[axis + 1:]))
        corner = basic_index_view(out, _corner_index(covered, tuple(x.shape), axis))
        whole = tuple(corner.shape) == tuple(out.shape)
        target = out.reshape(shape) if whole else contiguous_copy(corner).reshape(shape)
        index_shape = (shape[0], covered[axis], shape[2])
        _launch(_put_kernel, shape[0] * shape[2], target, _reshaped(indices, index_shape),
                _reshaped(values, index_shape), accumulate)
        if not whole:  # the corner's rows are not evenly spaced: worked on a copy
            copy_into(corner, target.reshape(tuple(corner.shape)))
    return out


@cuda.jit
def _count_kernel(flat, count):
    for i in range(cuda.grid(1), flat.size, cuda.gridsize(1)):
        if flat[i] != 0:
            cuda.atomic.add(count, 0, 1)


@cuda.jit
def _coordinates_kernel(flat, shape, out):
    """One thread lists the coordinates in C order (nonzero is rarely hot: kept simple)."""
    if cuda.grid(1) == 0:
        row = 0
        for i in range(flat.size):
            if flat[i] != 0:
                rest = i
                for d in range(shape.size - 1, -1, -1):
                    out[row, d] = rest % shape[d]
                    rest //= shape[d]
                row += 1


def nonzero(x):
    """The coordinates of x's non-zero elements, (count, x.ndim) int64 in C order. The count
    comes back to the host (it is the result's shape)."""
    flat = _reshaped(x, (x.size,))
    count = 0
    if flat.size:
        counter = cuda.to_device(np.zeros(1, np.int64))
        _launch(_count_kernel, flat.size, flat, counter)
        count = int(counter.copy_to_host()[0])
    out = _empty((count, x.ndim), np.int64)
    if count and x.ndim:
        _coordinates_kernel[1, 1](flat, cuda.to_device(np.array(x.shape, np.int64)), out)
    return out


# ---------------------------------------------------------------------------------------------
# sort and topk: a thread per lane runs a stable merge sort of the lane's positions (insertion
# sorted runs, then bottom-up merges) in scratch rows. A stable order is unique, so the values
# and positions are the CPU's. NaN sorts above every number.

SORT_RUN = 16


@cuda.jit(device=True)
def _before(a, b, descending):
    """Whether a sorts strictly before b; NaN (a != a) is above every number."""
    if descending:
        return a > b or (a != a and b == b)
    return a < b or (b != b and a == a)


@cuda.jit(device=True)
def _merge_pass(keys, source, target, lane, n, width, descending):
    for start in range(0, n, 2 * width):
        middle = start + width if start + width < n else n
        stop = start + 2 * width if start + 2 * width < n else n
        i, j = start, middle
        for t in range(start, stop):
            # The right run's element goes first only when strictly before: stable.
            if j < stop and (i >= middle or _before(keys[lane, source[lane, j]],
                                                    keys[lane, source[lane, i]], descending)):
                target[lane, t] = source[lane, j]
                j += 1
            else:
                target[lane, t] = source[lane, i]
                i += 1


@cuda.jit
def _sort_kernel(x, descending, values, indices, keys, order, scratch):
    n, inner, kept = x.shape[1], x.shape[2], values.shape[1]
    for lane in range(cuda.grid(1), x.shape[0] * inner, cuda.gridsize(1)):
        o, i = lane // inner, lane % inner
        for j in range(n):
            keys[lane, j] = x[o, j, i]
            order[lane, j] = j
        for start in range(0, n, SORT_RUN):
            stop = start + SORT_RUN if start + SORT_RUN < n else n
            for j in range(start + 1, stop):
                item = order[lane, j]
                t = j
                while t > start and _before(keys[lane, item], keys[lane, order[lane, t - 1]],
                                            descending):
                    order[lane, t] = order[lane, t - 1]
                    t -= 1
                order[lane, t] = item
        width, in_scratch = SORT_RUN, False
        while width < n:
            if in_scratch:
                _merge_pass(keys, scratch, order, lane, n, width, descending)
            else:
                _merge_pass(keys, order, scratch, lane, n, width, descending)
            in_scratch = not in_scratch
            width *= 2
        for j in range(kept):
            position = scratch[lane, j] if in_scratch else order[lane, j]
            values[o, j, i] = keys[lane, position]
            indices[o, j, i] = position


def sort(x, axis: int, kept: int, descending: bool):
    """(values, int64 positions) of the first `kept` of each lane along `axis`, stably
    sorted."""
    shape = tuple(x.shape)
    outer, n, inner = _split_at(shape or (1,), axis)
    out_shape = shape[:axis] + (kept,) + shape[axis + 1:] if shape else ()
    values, indices = _empty(out_shape, x.dtype), _empty(out_shape, np.int64)
    if values.size:
        lanes = outer * inner
        keys = _empty((lanes, n), x.dtype)
        order, scratch = _empty((lanes, n), np.int64), _empty((lanes, n), np.int64)
        blocks = (outer, kept, inner)
        _launch(_sort_kernel, lanes, _reshaped(x, (outer, n, inner)), descending,
                values.reshape(blocks), indices.reshape(blocks), keys, order, scratch)
    return values, indices


# ---------------------------------------------------------------------------------------------
# Convolution: im2col and the tiled matmul. `geometry` is (stride_h, stride_w, pad_h, pad_w,
# dilation_h, dilation_w, kernel_h, kernel_w), as on the CPU. A chunk of images unfolds into
# columns (C * kH * kW, images, out_H * out_W), rows ordered by (channel, kernel row, kernel
# column), so a group's rows are one block and each group is one matrix of a batched GEMM.

# Column buffers hold at most about this many bytes (one image's columns may exceed it).
CHUNK_BYTES = 1 << 28


@cuda.jit
def _unfold_kernel(x, cols, start, geometry):
    """cols[row, n, l] = x[start + n, c, ih, iw] for row (c, i, j) and l (oh, ow); 0 in the
    padding."""
    stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, kernel_h, kernel_w = geometry
    rows, count, length = cols.shape
    height, width = x.shape[2], x.shape[3]
    out_w = (width + 2 * pad_w - dil_w * (kernel_w - 1) - 1) // stride_w + 1
    for flat in range(cuda.grid(1), cols.size, cuda.gridsize(1)):
        row, rest = flat // (count * length), flat % (count * length)
        n, position = rest // length, rest % length
        c, tap = row // (kernel_h * kernel_w), row % (kernel_h * kernel_w)
        i, j = tap // kernel_w, tap % kernel_w
        ih = (position // out_w) * stride_h + i * dil_h - pad_h
        iw = (position % out_w) * stride_w + j * dil_w - pad_w
        if 0 <= ih < height and 0 <= iw < width:
            cols[row, n, position] = x[start + n, c, ih, iw]
        else:
            cols[row, n, position] = 0


@functools.cache
def _fold_kernel(dtype: np.dtype):
    """col2im: dx[start + n, c, ih, iw] = the sum of the columns that read that pixel, a thread
    per pixel (a gather: no two threads write one place)."""
    zero = dtype.type(0)

    @cuda.jit
    def kernel(cols, dx, start, geometry):
        _fold(cols, dx, start, geometry, zero)

    return kernel


@cuda.jit(device=True)
def _fold(cols, dx, start, geometry, zero):
    stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, kernel_h, kernel_w = geometry
    count, length = cols.shape[1], cols.shape[2]
    channels, height, width = dx.shape[1], dx.shape[2], dx.shape[3]
    out_w = (width + 2 * pad_w - dil_w * (kernel_w - 1) - 1) // stride_w + 1
    out_h = length // out_w
    per_image = channels * height * width
    for flat in range(cuda.grid(1), count * per_image, cuda.gridsize(1)):
        n, rest = flat // per_image, flat % per_image
        c, pixel = rest // (height * width), rest % (height * width)
        ih, iw = pixel // width, pixel % width
        total = zero
        for i in range(kernel_h):
            along_h = ih + pad_h - i * dil_h
            if along_h < 0 or along_h % stride_h:
                continue
            oh = along_h // stride_h
            if oh >= out_h:
                continue
            for j in range(kernel_w):
                along_w = iw + pad_w - j * dil_w
                if along_w < 0 or along_w % stride_w:
                    continue
                ow = along_w // stride_w
                if ow < out_w:
                    total += cols[(c * kernel_h + i) * kernel_w + j, n, oh * out_w + ow]
        dx[start + n, c, ih, iw] = total


def _conv_chunks(batch: int, rows: int, length: int, itemsize: int):
    """(first image, images) chunks whose columns stay within CHUNK_BYTES."""
    size = max(1, min(batch, CHUNK_BYTES // max(rows * length * itemsize, 1)))
    for start in range(0, batch, size):
        yield start, min(size, batch - start)


def _by_group(stack, groups: int):
    """(rows, images, L) -> (groups, rows / groups, images * L): one GEMM operand per group."""
    rows, count, length = stack.shape
    return stack.reshape((groups, rows // groups, count * length))


def _swap_leading_into(source, target) -> None:
    """target[i, j] = source[j, i] for (a, b, L) source and (b, a, L) target."""
    _launch(_copy_kernel(3), target.size, transpose(source, (1, 0, 2)), target)


def conv2d(x, w, geometry: tuple, groups: int, out_hw: tuple):
    """Cross-correlation of NCHW x with w (out_channels, C / groups, kH, kW): per chunk of
    images, im2col then one GEMM per group, then (out_channels, images) -> (images, ...)."""
    batch, out_channels = x.shape[0], w.shape[0]
    out = _empty((batch, out_channels) + tuple(out_hw), x.dtype)
    if out.size == 0:
        return out
    length, depth = out_hw[0] * out_hw[1], math.prod(tuple(w.shape)[1:])
    weights = _reshaped(w, (groups, out_channels // groups, depth))
    x, out3 = contiguous(x), out.reshape((batch, out_channels, length))
    index = _batch_indices((groups,), (groups,), (groups,))
    for start, count in _conv_chunks(batch, groups * depth, length, x.dtype.itemsize):
        columns = _empty((groups * depth, count, length), x.dtype)
        _launch(_unfold_kernel, columns.size, x, columns, start, geometry)
        results = _empty((out_channels, count, length), x.dtype)
        _launch_matmul(weights, _by_group(columns, groups), _by_group(results, groups), *index)
        _swap_leading_into(results, out3[start:start + count])
    return out


def conv2d_input_grad(g, w, input_size: tuple, geometry: tuple, groups: int):
    """The transposed convolution: per chunk, columns = weights^T @ grad_output per group,
    then col2im."""
    batch, out_channels = g.shape[0], g.shape[1]
    dx = _empty((batch, w.shape[1] * groups) + tuple(input_size), g.dtype)
    if dx.size == 0:
        return dx
    length, depth = g.shape[2] * g.shape[3], math.prod(tuple(w.shape)[1:])
    if length == 0:  # no window fits: nothing flows back
        fill(dx, 0)
        return dx
    weights = _reshaped(w, (groups, out_channels // groups, depth))
    g3 = _reshaped(g, (batch, out_channels, length))
    index = _batch_indices((groups,), (groups,), (groups,))
    for start, count in _conv_chunks(batch, groups * depth, length, g.dtype.itemsize):
        grads = _empty((out_channels, count, length), g.dtype)
        _swap_leading_into(g3[start:start + count], grads)
        columns = _empty((groups * depth, count, length), g.dtype)
        _launch_matmul(weights, _by_group(grads, groups), _by_group(columns, groups), *index,
                       transpose_a=True)
        _launch(_fold_kernel(np.dtype(g.dtype)), count * (dx.size // batch), columns, dx, start,
                geometry)
    return dx


def conv2d_weight_grad(x, g, geometry: tuple, groups: int):
    """grad_output @ im2col(x)^T per group, summed over the chunks of the batch."""
    batch, channels = x.shape[0], x.shape[1]
    out_channels = g.shape[1]
    dw = _empty((out_channels, channels // groups) + tuple(geometry[6:]), x.dtype)
    if dw.size == 0:
        return dw
    length, depth = g.shape[2] * g.shape[3], dw.size // out_channels
    partial = dw.reshape((groups, out_channels // groups, depth))
    if batch == 0 or length == 0:
        fill(partial, 0)
        return dw
    x, g3 = contiguous(x), _reshaped(g, (batch, out_channels, length))
    index = _batch_indices((groups,), (groups,), (groups,))
    for start, count in _conv_chunks(batch, groups * depth, length, x.dtype.itemsize):
        columns = _empty((groups * depth, count, length), x.dtype)
        _launch(_unfold_kernel, columns.size, x, columns, start, geometry)
        grads = _empty((out_channels, count, length), x.dtype)
        _swap_leading_into(g3[start:start + count], grads)
        _launch_matmul(_by_group(grads, groups), _by_group(columns, groups), partial, *index,
                       transpose_b=True, accumulate=start > 0)
    return dw


# ---------------------------------------------------------------------------------------------
# Pooling over (planes, H, W) views, a thread per output element. Every backward op is a
# gather: a thread per input pixel sums what the windows holding it send, in the windows'
# order (the CPU's scatter order), so no two threads write one place. `geometry` is (kernel_h,
# kernel_w, stride_h, stride_w, pad_h, pad_w), as on the CPU.

MAX_POOL, MAX_POOL_BACKWARD, MAX_POOL_GATHER, AVG_POOL, AVG_POOL_BACKWARD = range(5)


@cuda.jit(device=True)
def _window(o, stride, pad, kernel, size):
    """The in-bounds input range [lo, hi) of window o along one axis. (Comparisons, not
    min and max: numba's CUDA target does not compile the builtins on ints.)"""
    start = o * stride - pad
    stop = start + kernel
    return (start if start > 0 else 0), (stop if stop < size else size)


@cuda.jit(device=True)
def _windows_holding(i, stride, pad, kernel, count):
    """The windows [lo, hi) (of `count`) whose range along one axis holds input index i."""
    lo = i + pad - kernel + 1
    lo = 0 if lo <= 0 else (lo + stride - 1) // stride
    hi = (i + pad) // stride + 1
    return lo, (hi if hi < count else count)


@cuda.jit(device=True)
def _window_argmax(plane, p, oh, ow, geometry):
    """(row, column) of the first maximum of a window of plane p; row -1 if it holds only
    padding. NaN wins once, as in PyTorch."""
    kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w = geometry
    row_lo, row_hi = _window(oh, stride_h, pad_h, kernel_h, plane.shape[1])
    col_lo, col_hi = _window(ow, stride_w, pad_w, kernel_w, plane.shape[2])
    if row_lo >= row_hi or col_lo >= col_hi:
        return -1, -1
    best_row, best_col = row_lo, col_lo
    best = plane[p, row_lo, col_lo]
    for ih in range(row_lo, row_hi):
        for iw in range(col_lo, col_hi):
            value = plane[p, ih, iw]
            if value > best or (value != value and best == best):
                best, best_row, best_col = value, ih, iw
    return best_row, best_col


@functools.cache
def _pool_kernel(kind: int, dtype: np.dtype):
    """The kernel of one pool op: out (planes, ., .) from x and values (planes, ., .)."""
    zero = dtype.type(0)
    lowest = dtype.type(-np.inf)
    nan = dtype.type(np.nan)

    @cuda.jit
    def kernel(x, values, out, geometry):
        kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w = geometry
        planes, rows, cols = out.shape
        scale = 1.0 / (kernel_h * kernel_w)  # padding counts: one divisor for every window
        for flat in range(cuda.grid(1), out.size, cuda.gridsize(1)):
            p, rest = flat // (rows * cols), flat % (rows * cols)
            r, c = rest // cols, rest % cols
            if kind == MAX_POOL or kind == AVG_POOL:
                row_lo, row_hi = _window(r, stride_h, pad_h, kernel_h, x.shape[1])
                col_lo, col_hi = _window(c, stride_w, pad_w, kernel_w, x.shape[2])
                best = lowest
                has_nan = False
                total = zero
                for ih in range(row_lo, row_hi):
                    for iw in range(col_lo, col_hi):
                        value = x[p, ih, iw]
                        if value > best:
                            best = value
                        has_nan = has_nan or value != value
                        total += value
                if kind == MAX_POOL:
                    out[p, r, c] = nan if has_nan else best
                else:
                    out[p, r, c] = total * scale
            elif kind == MAX_POOL_GATHER:
                row, col = _window_argmax(x, p, r, c, geometry)
                out[p, r, c] = zero if row < 0 else values[p, row, col]
            else:  # the backward ops: (r, c) is an input pixel; values holds grad_output
                oh_lo, oh_hi = _windows_holding(r, stride_h, pad_h, kernel_h, values.shape[1])
                ow_lo, ow_hi = _windows_holding(c, stride_w, pad_w, kernel_w, values.shape[2])
                total = zero
                for oh in range(oh_lo, oh_hi):
                    for ow in range(ow_lo, ow_hi):
                        if kind == AVG_POOL_BACKWARD:
                            total += values[p, oh, ow] * scale
                        else:
                            row, col = _window_argmax(x, p, oh, ow, geometry)
                            if row == r and col == c:
                                total += values[p, oh, ow]
                out[p, r, c] = total

    return kernel


def pool(kind: int, x, values, out_shape: tuple, geometry: tuple):
    """One pool op over every (N, C) plane. x and values are (N, C, ., .) device arrays; for
    the backward ops values is grad_output and out_shape the input's (for avg_pool2d_backward,
    x is grad_output too)."""
    out = _empty(out_shape, x.dtype)
    if out.size == 0:
        return out
    planes = out_shape[0] * out_shape[1]
    x3 = _reshaped(x, (planes,) + tuple(x.shape)[2:])
    values3 = _reshaped(values, (planes,) + tuple(values.shape)[2:])
    _launch(_pool_kernel(kind, np.dtype(x.dtype)), out.size, x3, values3,
            out.reshape((planes,) + tuple(out_shape)[2:]), tuple(geometry))
    return out


# ---------------------------------------------------------------------------------------------
# gather, scatter_add and embedding: (outer, n, inner) views around the indexed axis, indices
# flat and checked by the op (`first_outside`) before these run.


@cuda.jit
def _gather_kernel(x, indices, out):
    """out[o, j, k] = x[o, indices[j], k], a thread per output element."""
    count, inner = out.shape[1], out.shape[2]
    for flat in range(cuda.grid(1), out.size, cuda.gridsize(1)):
        o, rest = flat // (count * inner), flat % (count * inner)
        j, k = rest // inner, rest % inner
        out[o, j, k] = x[o, indices[j], k]


@cuda.jit
def _scatter_add_kernel(updates, indices, out):
    """out[o, indices[j], k] += updates[o, j, k], a thread per update, by atomic adds (so
    duplicate indices sum, in an order the GPU picks)."""
    count, inner = updates.shape[1], updates.shape[2]
    for flat in range(cuda.grid(1), updates.size, cuda.gridsize(1)):
        o, rest = flat // (count * inner), flat % (count * inner)
        j, k = rest // inner, rest % inner
        cuda.atomic.add(out, (o, indices[j], k), updates[o, j, k])


def gather(x, indices, axis: int):
    """np.take(x, indices, axis) for indices already checked to lie in [0, x.shape[axis])."""
    shape = tuple(x.shape)
    outer, n, inner = _split_at(shape, axis)
    out = _empty(shape[:axis] + tuple(indices.shape) + shape[axis + 1:], x.dtype)
    if out.size:
        flat = _reshaped(indices, (indices.size,))
        _launch(_gather_kernel, out.size, _reshaped(x, (outer, n, inner)), flat,
                out.reshape((outer, flat.size, inner)))
    return out


def scatter_add(updates, indices, axis: int, dim_size: int):
    """Zeros with dim_size positions along `axis`, each slice of updates added at its index
    (indices already checked to lie in [0, dim_size))."""
    shape = tuple(updates.shape)
    before, after = shape[:axis], shape[axis + indices.ndim:]
    out = _empty(before + (dim_size,) + after, updates.dtype)
    if out.size:
        fill(out, 0)
    if updates.size:
        outer, inner = math.prod(before), math.prod(after)
        _launch(_scatter_add_kernel, updates.size,
                _reshaped(updates, (outer, indices.size, inner)),
                _reshaped(indices, (indices.size,)), out.reshape((outer, dim_size, inner)))
    return out


def embedding(weight, indices):
    """Rows of weight (V, D) picked by checked indices: shape indices.shape + (D,)."""
    return gather(weight, indices, 0)


# ---------------------------------------------------------------------------------------------
# Random numbers: the CPU's counter-based streams, a thread per element (per pair for normal).
# The op hands over its bit functions (`framework.ops.random.BIT_FUNCTIONS`: counter_bits,
# unit_float, unit_float_open_zero, unit_circle_point), numba functions that compile for the
# GPU too, so a seed draws the same bits on both devices. Products that the CPU rounds before
# an addition are rounded on the GPU by `_product` as well: NVVM would otherwise fuse them into
# one FMA and round once, giving other numbers. (Bits pass through np.uint64() between the
# functions: under the simulator they return Python ints.)

if SIMULATOR:
    def _product(a, b):
        return a * b
else:
    from numba.cuda import libdevice

    _product = libdevice.dmul_rn  # a float64 product never fused into an FMA


@functools.cache
def _random_kernels(bit_functions: tuple, dtype: np.dtype):
    """uniform, normal, bernoulli and dropout kernels over flat outputs of `dtype`."""
    counter_bits, unit_float, unit_float_open_zero, unit_circle_point = bit_functions
    item = numba.from_dtype(dtype)
    zero = dtype.type(0)

    @cuda.jit(device=True)
    def unit_at(key, i):
        return unit_float(np.uint64(counter_bits(key, np.uint64(i))))

    @cuda.jit
    def uniform(out, key, low, span, top):
        for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
            value = item(low + _product(span, unit_at(key, i)))
            out[i] = value if value <= top else top  # rounding may land on `high`

    @cuda.jit
    def normal(out, key, mean, std):
        for pair in range(cuda.grid(1), (out.size + 1) // 2, cuda.gridsize(1)):
            first = 2 * pair
            u1 = unit_float_open_zero(np.uint64(counter_bits(key, np.uint64(first))))
            cosine, sine = unit_circle_point(np.uint64(counter_bits(key, np.uint64(first + 1))))
            radius = _product(std, math.sqrt(-2.0 * math.log(u1)))
            out[first] = item(mean + _product(radius, cosine))
            if first + 1 < out.size:
                out[first + 1] = item(mean + _product(radius, sine))

    @cuda.jit
    def bernoulli(out, key, p):
        for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
            out[i] = unit_at(key, i) < p

    @cuda.jit
    def dropout(x, out, key, keep_probability, scale):
        for i in range(cuda.grid(1), out.size, cuda.gridsize(1)):
            scaled = x[i] * scale
            out[i] = scaled if unit_at(key, i) < keep_probability else zero

    return {"uniform": uniform, "normal": normal, "bernoulli": bernoulli, "dropout": dropout}


def random_uniform(bit_functions, shape, dtype, key, low: float, high: float):
    """Uniform samples in [low, high): element i from bits i of the stream of `key`."""
    dtype = np.dtype(dtype)
    out = _empty(shape, dtype)
    top = np.nextafter(dtype.type(high), dtype.type(low))
    _launch(_random_kernels(bit_functions, dtype)["uniform"], out.size,
            out.reshape((out.size,)), key, float(low), float(high) - float(low), top)
    return out


def random_normal(bit_functions, shape, dtype, key, mean: float, std: float):
    """Normal samples by Box-Muller, elements 2j and 2j + 1 from the pair of draws j."""
    dtype = np.dtype(dtype)
    out = _empty(shape, dtype)
    _launch(_random_kernels(bit_functions, dtype)["normal"], (out.size + 1) // 2,
            out.reshape((out.size,)), key, float(mean), float(std))
    return out


def random_bernoulli(bit_functions, shape, key, p: float):
    """Booleans, element i True where its uniform draw is below p."""
    out = _empty(shape, np.bool_)
    _launch(_random_kernels(bit_functions, np.dtype(np.bool_))["bernoulli"], out.size,
            out.reshape((out.size,)), key, float(p))
    return out


def random_dropout(bit_functions, x, key, p: float):
    """Inverted dropout of x: element i (in C order) kept where its draw is below 1 - p."""
    dtype = np.dtype(x.dtype)
    out = _empty(x.shape, dtype)
    keep_probability = 1.0 - float(p)
    # p = 1 keeps nothing; the scale is then never used, and must not be inf.
    scale = dtype.type(1.0 / keep_probability if keep_probability > 0 else 0.0)
    _launch(_random_kernels(bit_functions, dtype)["dropout"], out.size,
            _reshaped(x, (out.size,)), out.reshape((out.size,)), key, keep_probability, scale)
    return out


# ---------------------------------------------------------------------------------------------
# Compile check


def compile_for_gpu(cc=(8, 0), bit_functions=None) -> int:
    """Compile every kernel of this module to PTX for compute capability `cc`, at the GPU's
    tiling, for float32 (and int64 where ints run), with strided ('A') arrays: what the
    simulator cannot tell, that each kernel compiles for a real GPU. Needs the CUDA toolkit's
    NVVM, not a GPU, and an interpreter without NUMBA_ENABLE_CUDASIM. The random kernels are
    compiled when given the random ops' `bit_functions`. Returns the number of kernels
    compiled; raises on the first that does not compile."""
    from numba import types

    def array(item, ndim):
        return types.Array(item, ndim, "A")

    compiled = []

    def check(kernel, *argument_types):
        ptx, _ = cuda.compile_ptx(kernel.py_func, argument_types, cc=cc)
        # A function NVVM could not lower stays an external declaration, which would fail
        # only when a GPU loads the module.
        external = [line for line in ptx.splitlines() if ".extern" in line]
        if external:
            raise RuntimeError(f"{kernel.py_func.__name__} {argument_types}: {external}")
        compiled.append(kernel)

    # numba compiles the device functions a kernel calls for the current GPU's compute
    # capability; with no GPU here, it is told the one asked for.
    from numba.cuda import dispatcher

    asked = type("Target", (), {"compute_capability": tuple(cc)})
    current = getattr(dispatcher, "get_current_device", None)
    if current is not None:
        dispatcher.get_current_device = lambda: asked
    try:
        _compile_all(check, array, types, bit_functions)
    finally:
        if current is not None:
            dispatcher.get_current_device = current
    return len(compiled)


def _compile_all(check, array, types, bit_functions) -> None:
    index = array(types.int64, 1)
    for dtype in map(np.dtype, ("float32", "int64")):
        item = numba.from_dtype(dtype)
        for transpose_a, transpose_b, store in [(False, False, STORE), (False, True, ADD_BIAS),
                                                (True, False, STORE), (False, True, ACCUMULATE),
                                                (True, True, STORE)]:
            bias = array(item, 1) if store == ADD_BIAS else array(item, 3)
            check(_matmul_kernel(dtype, transpose_a, transpose_b, store, GPU_TILE),
                  array(item, 3), array(item, 3), bias, array(item, 3), index, index)
        check(_column_sum_kernel(dtype), array(item, 2), array(item, 1))
        check(_copy_kernel(3), array(item, 3), array(item, 3))
    # The float kernels, at float32: the float64 ones are the same code at another type.
    dtype = np.dtype("float32")
    item = numba.from_dtype(dtype)
    rows = _row_kernels(dtype)
    x3, x2 = array(item, 3), array(item, 2)
    check(rows["softmax"], x3, x3)
    check(rows["log_softmax"], x3, x3)
    check(rows["label_loss"], x3, array(types.int64, 2), x2)
    check(rows["label_grad"], x3, array(types.int32, 2), x2, x3)
    check(rows["probability_loss"], x3, x3, x2)
    check(_mean_kernel(dtype), array(item, 1), array(item, 1))
    check(_fill_scaled_kernel, array(item, 1), item, array(item, 1))
    check(_fill_value_kernel, array(item, 1), item)
    geometry = types.UniTuple(types.int64, 8)
    check(_unfold_kernel, array(item, 4), array(item, 3), types.int64, geometry)
    check(_fold_kernel(dtype), array(item, 3), array(item, 4), types.int64, geometry)
    for kind in range(5):
        check(_pool_kernel(kind, dtype), x3, x3, x3, types.UniTuple(types.int64, 6))
    check(_first_outside_kernel, array(types.int64, 1), types.int64, array(types.int64, 1))
    check(_one_hot_kernel, array(types.int64, 1), array(item, 2))
    check(_scan_kernel, x3, x3, types.float64, types.boolean, types.boolean)
    check(_scan_kernel, array(types.int64, 3), array(types.int64, 3), types.int64,
          types.boolean, types.boolean)
    check(_take_kernel, x3, array(types.int64, 3), x3)
    check(_put_kernel, x3, array(types.int32, 3), x3, types.boolean)
    check(_count_kernel, array(item, 1), array(types.int64, 1))
    int2 = array(types.int64, 2)
    check(_sort_kernel, x3, types.boolean, x3, array(types.int64, 3), x2, int2, int2)
    check(_coordinates_kernel, array(item, 1), array(types.int64, 1), array(types.int64, 2))
    for item in (types.float32, types.float64, types.int32, types.int64):
        check(_gather_kernel, array(item, 3), array(types.int64, 1), array(item, 3))
        check(_scatter_add_kernel, array(item, 3), array(types.int32, 1), array(item, 3))
    check(_gather_kernel, array(types.boolean, 3), array(types.int32, 1),
          array(types.boolean, 3))
    if bit_functions is None:
        return
    kernels = _random_kernels(bit_functions, np.dtype("float32"))
    flat = array(types.float32, 1)
    check(kernels["uniform"], flat, types.uint64, types.float64, types.float64, types.float32)
    check(kernels["normal"], flat, types.uint64, types.float64, types.float64)
    check(kernels["dropout"], flat, flat, types.uint64, types.float64, types.float32)
    check(_random_kernels(bit_functions, np.dtype(np.bool_))["bernoulli"],
          array(types.boolean, 1), types.uint64, types.float64)
