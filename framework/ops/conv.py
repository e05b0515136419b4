"""Convolution and pooling over NCHW images.

`conv2d` lowers to im2col and GEMM: a numba kernel (parallel over the images) unfolds a chunk
of the batch into one matrix of receptive fields, (in_channels * kH * kW, images * out_H *
out_W), and BLAS multiplies the weights, seen as (out_channels, in_channels * kH * kW), by it in
one GEMM per group. Its two gradients are primitives of their own, each with a gradient rule
written in conv ops, so second-order gradients work:

- `conv2d_input_grad` (the transposed convolution): weights^T @ grad_output, then col2im;
- `conv2d_weight_grad`: grad_output @ im2col(input)^T, summed over the batch.

The pools come in pairs too: `max_pool2d` routes its gradient to the first maximum of each
window (`max_pool2d_backward`), whose own gradient gathers from those positions again
(`max_pool2d_gather`); `avg_pool2d` spreads it evenly (`avg_pool2d_backward`).
"""

from __future__ import annotations

import dataclasses
import math
import sys

import numba
import numpy as np
from numba import prange
from numba.np.ufunc.parallel import _launch_threads

from framework import dtypes
from framework.device import empty
from framework.errors import ShapeError
from framework.kernels import cpu
from framework.kernels.cpu import dtype_literal, shape_literal
from framework.kernels.lowered import Lowered
from framework.ops.dispatch import as_operand, bind, promote
from framework.ops.linalg import _float_matmul, _identity_index, batched_gemm
from framework.ops.movement import contiguous
from framework.ops.registry import Op, Spec, register, require_dtype, require_same_dtype

__all__ = ["conv2d", "conv2d_input_grad", "conv2d_weight_grad", "max_pool2d",
           "max_pool2d_backward", "max_pool2d_gather", "avg_pool2d", "avg_pool2d_backward"]

# Below this many elements of work, one thread beats waking the pool.
PARALLEL_MIN_WORK = 1 << 16
# Convolutions unfold a chunk of images at a time into one column buffer of at most about this
# size (one image's columns may exceed it): big GEMMs, bounded extra memory.
CHUNK_BYTES = 1 << 24
# Whether the lowered drivers ask for huge pages for their large buffers, as the graph compiler
# does for outputs (Linux's madvise).
_HUGE_PAGES = sys.platform.startswith("linux")


# ---------------------------------------------------------------------------------------------
# Attributes and shape rules shared by the convolution and pooling ops.


def as_pair(value, what: str, op: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints (each >= minimum) as a pair, with an error naming the op.

    >>> as_pair(2, "stride", "conv2d", 1), as_pair((1, 3), "padding", "conv2d", 0)
    ((2, 2), (1, 3))
    """
    pair = (value, value) if _is_int(value) else value
    try:
        pair = tuple(pair)
    except TypeError:
        pair = ()
    if len(pair) != 2 or not all(_is_int(v) and v >= minimum for v in pair):
        raise ShapeError(f"{op}: {what} must be an int or a pair of ints >= {minimum}, "
                         f"got {value!r}")
    return int(pair[0]), int(pair[1])


def _is_int(value) -> bool:
    return hasattr(value, "__index__") and not isinstance(value, bool)


def conv_output_size(size, kernel, stride, padding, dilation=1):
    """Output length of a window sliding over `size` (None when `size` is unknown)."""
    if size is None:
        return None
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def windows_shape(op: str, x_shape, kernel, stride, padding, dilation=(1, 1)) -> tuple:
    """(out_H, out_W) of windows over the last two axes, refusing a window bigger than the input.

    >>> windows_shape("conv2d", (1, 1, 5, 5), (3, 3), (2, 2), (1, 1))
    (3, 3)
    """
    out = []
    for size, k, s, p, d in zip(x_shape[-2:], kernel, stride, padding, dilation):
        if size is None or k is None:
            out.append(None)
            continue
        if d * (k - 1) + 1 > size + 2 * p:
            spans = " x ".join("?" if k is None else str(d * (k - 1) + 1)
                               for k, d in zip(kernel, dilation))
            padded = " x ".join("?" if n is None else str(n + 2 * p)
                                for n, p in zip(x_shape[-2:], padding))
            raise ShapeError(f"{op}: the kernel (spanning {spans}) is larger than the padded "
                             f"input ({padded}) of shape {tuple(x_shape)}")
        out.append(conv_output_size(size, k, s, p, d))
    return tuple(out)


def require_4d(op: str, x, what: str, layout: str) -> None:
    if len(x.shape) != 4:
        raise ShapeError(f"{op}: {what} must be 4-D {layout}, got shape {tuple(x.shape)}")


def as_size(op: str, size) -> tuple:
    """A spatial size (H, W) whose entries are ints >= 0 or None (known only at run time)."""
    size = tuple(size)
    if len(size) != 2 or not all(n is None or (_is_int(n) and n >= 0) for n in size):
        raise ShapeError(f"{op}: input_size must be (H, W) of ints >= 0 or None, got {size!r}")
    return tuple(None if n is None else int(n) for n in size)


def _known_pair(op: str, pair, what: str):
    if pair is None or any(v is None for v in pair):
        raise ShapeError(f"{op}: the {what} must be known to build this gradient, got {pair}")
    return tuple(pair)


def _gradient_input_size(op, x_shape) -> tuple:
    """The input's (H, W) for conv2d_input_grad; unknown entries are only safe at stride 1."""
    size = tuple(x_shape[2:])
    if any(s > 1 for s in op.stride) and None in size:
        raise ShapeError(f"{op.name} gradient: with stride {op.stride} the input's height and "
                         f"width must be known, got input shape {tuple(x_shape)}")
    return size


def _require_pair(op, what: str, minimum: int) -> None:
    """Op attributes are normalized pairs (the neutral functions build them)."""
    value = getattr(op, what)
    if as_pair(value, what, op.name, minimum) != value:
        raise ShapeError(f"{op.name}: {what} must be a pair of ints, got {value!r}")


@register
class Conv2d(Op):
    """2-D cross-correlation of NCHW input with (out_channels, in_channels/groups, kH, kW)."""

    name = "conv2d"
    vjp_takes_needs = True
    stride: tuple = (1, 1)
    padding: tuple = (0, 0)
    dilation: tuple = (1, 1)
    groups: int = 1

    def infer(self, x, w):
        dtype = require_same_dtype(self.name, x, w)
        require_dtype(self.name, x, dtypes.FLOATS)
        require_4d(self.name, x, "input", "(N, C, H, W)")
        require_4d(self.name, w, "weight", "(out_channels, in_channels/groups, kH, kW)")
        check_conv_attributes(self)
        check_channels(self.name, x.shape, w.shape, self.groups)
        spatial = windows_shape(self.name, x.shape, w.shape[2:], self.stride, self.padding,
                                self.dilation)
        return Spec((x.shape[0], w.shape[0]) + spatial, dtype)

    def cpu(self, x, w):
        return conv2d_forward(x, w, self.geometry(w.shape[2:]), self.groups)

    def nopython(self, x, w):
        return conv2d_lowering(x, w, self.geometry(w.shape[2:]), self.groups)

    def cuda(self, x, w):
        from framework.kernels import cuda_nn

        kernel = tuple(w.shape)[2:]
        out_hw = windows_shape(self.name, tuple(x.shape), kernel, self.stride, self.padding,
                               self.dilation)
        return cuda_nn.conv2d(x, w, self.geometry(kernel), self.groups, out_hw)

    def vjp(self, g, inputs, out, needs=(True, True)):
        x, w = inputs
        # The first layer's input is the data batch: its gradient (a whole transposed
        # convolution) is skipped when nobody asked for it.
        return (conv2d_input_grad(g, w, _gradient_input_size(self, x.shape), **self.attributes)
                if needs[0] else None,
                conv2d_weight_grad(x, g, w.shape[2:], **self.attributes) if needs[1] else None)

    def geometry(self, kernel) -> tuple:
        return self.stride + self.padding + self.dilation + tuple(kernel)


def check_conv_attributes(op) -> None:
    _require_pair(op, "stride", 1)
    _require_pair(op, "padding", 0)
    _require_pair(op, "dilation", 1)
    if not _is_int(op.groups) or op.groups < 1:
        raise ShapeError(f"{op.name}: groups must be a positive int, got {op.groups!r}")


def check_channels(op: str, x_shape, w_shape, groups: int) -> None:
    """Input channels = weight's in_channels/groups x groups; groups divide both channel counts."""
    channels, (out_channels, group_channels) = x_shape[1], w_shape[:2]
    if channels is not None and channels % groups:
        raise ShapeError(f"{op}: groups={groups} does not divide the input's {channels} "
                         f"channels (input shape {tuple(x_shape)})")
    if out_channels is not None and out_channels % groups:
        raise ShapeError(f"{op}: groups={groups} does not divide the weight's {out_channels} "
                         f"output channels (weight shape {tuple(w_shape)})")
    if None not in (channels, group_channels) and channels != group_channels * groups:
        raise ShapeError(f"{op}: input shape {tuple(x_shape)} has {channels} channels but "
                         f"weight shape {tuple(w_shape)} expects {group_channels * groups} "
                         f"({group_channels} per group x {groups} groups)")
    if any(k is not None and k < 1 for k in w_shape[2:]):
        raise ShapeError(f"{op}: the kernel of weight shape {tuple(w_shape)} is empty")


def conv2d(x, w, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation, as in PyTorch) of NCHW `x` with weights `w`.

    `w` has shape (out_channels, in_channels / groups, kH, kW); stride, padding and dilation
    are ints or (height, width) pairs. No bias: add it to the result.

    >>> conv2d(np.ones((1, 1, 3, 3), np.float32), np.ones((1, 1, 2, 2), np.float32))
    array([[[[4., 4.],
             [4., 4.]]]], dtype=float32)
    """
    op = Conv2d(as_pair(stride, "stride", "conv2d", 1), as_pair(padding, "padding", "conv2d", 0),
                as_pair(dilation, "dilation", "conv2d", 1), groups)
    return bind(op, *promote(x, w))


@register
class Conv2dInputGrad(Op):
    """The input gradient of conv2d (a transposed convolution) for an input of `input_size`."""

    name = "conv2d_input_grad"
    input_size: tuple = (None, None)
    stride: tuple = (1, 1)
    padding: tuple = (0, 0)
    dilation: tuple = (1, 1)
    groups: int = 1

    def infer(self, g, w):
        dtype = require_same_dtype(self.name, g, w)
        require_dtype(self.name, g, dtypes.FLOATS)
        require_4d(self.name, g, "grad_output", "(N, out_channels, out_H, out_W)")
        require_4d(self.name, w, "weight", "(out_channels, in_channels/groups, kH, kW)")
        check_conv_attributes(self)
        if as_size(self.name, self.input_size) != self.input_size:
            raise ShapeError(f"{self.name}: input_size must be a pair, got {self.input_size!r}")
        out_channels, group_channels = w.shape[:2]
        if None not in (g.shape[1], out_channels) and g.shape[1] != out_channels:
            raise ShapeError(f"{self.name}: grad_output shape {tuple(g.shape)} has "
                             f"{g.shape[1]} channels but weight shape {tuple(w.shape)} has "
                             f"{out_channels} output channels")
        channels = None if group_channels is None else group_channels * self.groups
        size = self.resolved_input_size(g.shape, w.shape[2:])
        x_shape = (g.shape[0], channels) + size
        check_channels(self.name, x_shape, w.shape, self.groups)
        expected = windows_shape(self.name, x_shape, w.shape[2:], self.stride, self.padding,
                                 self.dilation)
        if any(None not in (e, n) and e != n for e, n in zip(expected, g.shape[2:])):
            raise ShapeError(f"{self.name}: grad_output shape {tuple(g.shape)} does not match "
                             f"conv2d's output {expected} for an input of size {size}")
        return Spec(x_shape, dtype)

    def resolved_input_size(self, g_shape, kernel) -> tuple:
        """input_size, with an unknown entry taken as the smallest input giving g's size."""
        size = []
        for known, out, k, s, p, d in zip(self.input_size, g_shape[2:], kernel, self.stride,
                                          self.padding, self.dilation):
            if known is None and None not in (out, k):
                known = (out - 1) * s + d * (k - 1) + 1 - 2 * p
                if known < 0:
                    raise ShapeError(f"{self.name}: no input size gives grad_output shape "
                                     f"{tuple(g_shape)}")
            size.append(known)
        return tuple(size)

    def cpu(self, g, w):
        size = self.resolved_input_size(g.shape, w.shape[2:])
        geometry = self.stride + self.padding + self.dilation + tuple(w.shape[2:])
        return conv2d_input_grad_kernel(g, w, size, geometry, self.groups)

    def nopython(self, g, w):
        size = self.resolved_input_size(g.shape, w.shape[2:])
        geometry = self.stride + self.padding + self.dilation + tuple(w.shape[2:])
        return conv2d_input_grad_lowering(g, w, size, geometry, self.groups)

    def cuda(self, g, w):
        from framework.kernels import cuda_nn

        kernel = tuple(w.shape)[2:]
        size = self.resolved_input_size(tuple(g.shape), kernel)
        geometry = self.stride + self.padding + self.dilation + kernel
        return cuda_nn.conv2d_input_grad(g, w, size, geometry, self.groups)

    def vjp(self, gg, inputs, out):
        g, w = inputs
        conv = dict(stride=self.stride, padding=self.padding, dilation=self.dilation,
                    groups=self.groups)
        return conv2d(gg, w, **conv), conv2d_weight_grad(gg, g, w.shape[2:], **conv)


def conv2d_input_grad(grad_output, weight, input_size, stride=1, padding=0, dilation=1,
                      groups=1):
    """The gradient of conv2d with respect to its input of spatial size `input_size` (H, W).

    It is also the transposed convolution of `grad_output` by `weight`.

    >>> conv2d_input_grad(np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)), (3, 3))[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])
    """
    op_name = Conv2dInputGrad.name
    op = Conv2dInputGrad(as_size(op_name, input_size), as_pair(stride, "stride", op_name, 1),
                         as_pair(padding, "padding", op_name, 0),
                         as_pair(dilation, "dilation", op_name, 1), groups)
    return bind(op, *promote(grad_output, weight))


@register
class Conv2dWeightGrad(Op):
    """The weight gradient of conv2d, for weights of spatial size `kernel_size` (kH, kW)."""

    name = "conv2d_weight_grad"
    kernel_size: tuple = (1, 1)
    stride: tuple = (1, 1)
    padding: tuple = (0, 0)
    dilation: tuple = (1, 1)
    groups: int = 1

    def infer(self, x, g):
        dtype = require_same_dtype(self.name, x, g)
        require_dtype(self.name, x, dtypes.FLOATS)
        require_4d(self.name, x, "input", "(N, C, H, W)")
        require_4d(self.name, g, "grad_output", "(N, out_channels, out_H, out_W)")
        check_conv_attributes(self)
        _require_pair(self, "kernel_size", 1)
        if None not in (x.shape[0], g.shape[0]) and x.shape[0] != g.shape[0]:
            raise ShapeError(f"{self.name}: input shape {tuple(x.shape)} and grad_output shape "
                             f"{tuple(g.shape)} have different batch sizes")
        channels, out_channels = x.shape[1], g.shape[1]
        group_channels = None if channels is None else channels // self.groups
        w_shape = (out_channels, group_channels) + tuple(self.kernel_size)
        check_channels(self.name, x.shape, w_shape, self.groups)
        expected = windows_shape(self.name, x.shape, self.kernel_size, self.stride,
                                 self.padding, self.dilation)
        if any(None not in (e, n) and e != n for e, n in zip(expected, g.shape[2:])):
            raise ShapeError(f"{self.name}: grad_output shape {tuple(g.shape)} does not match "
                             f"conv2d's output {expected} for input shape {tuple(x.shape)}")
        return Spec(w_shape, dtype)

    def cpu(self, x, g):
        geometry = self.stride + self.padding + self.dilation + tuple(self.kernel_size)
        return conv2d_weight_grad_kernel(x, g, geometry, self.groups)

    def nopython(self, x, g):
        geometry = self.stride + self.padding + self.dilation + tuple(self.kernel_size)
        return conv2d_weight_grad_lowering(x, g, geometry, self.groups)

    def cuda(self, x, g):
        from framework.kernels import cuda_nn

        geometry = self.stride + self.padding + self.dilation + tuple(self.kernel_size)
        return cuda_nn.conv2d_weight_grad(x, g, geometry, self.groups)

    def vjp(self, gg, inputs, out):
        x, g = inputs
        conv = dict(stride=self.stride, padding=self.padding, dilation=self.dilation,
                    groups=self.groups)
        return (conv2d_input_grad(g, gg, _gradient_input_size(self, x.shape), **conv),
                conv2d(x, gg, **conv))


def conv2d_weight_grad(x, grad_output, kernel_size, stride=1, padding=0, dilation=1, groups=1):
    """The gradient of conv2d with respect to weights of spatial size `kernel_size` (kH, kW).

    >>> conv2d_weight_grad(np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)), (2, 2))[0, 0]
    array([[4., 4.],
           [4., 4.]])
    """
    op_name = Conv2dWeightGrad.name
    kernel = as_pair(_known_pair(op_name, tuple(kernel_size), "kernel size"), "kernel_size",
                     op_name, 1)
    op = Conv2dWeightGrad(kernel,
                          as_pair(stride, "stride", op_name, 1),
                          as_pair(padding, "padding", op_name, 0),
                          as_pair(dilation, "dilation", op_name, 1), groups)
    return bind(op, *promote(x, grad_output))


# ---------------------------------------------------------------------------------------------
# Convolution kernels. `geometry` is (stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w,
# kernel_h, kernel_w).
#
# The batch is processed a chunk of images at a time. A chunk's column matrix is laid out as
# (C * kH * kW, images, out_H * out_W), rows ordered by (channel, kernel row, kernel column), so
# a group's rows are one contiguous (depth, images * L) block: each group needs ONE big GEMM per
# chunk, whose (out_channels, images, L) result one parallel copy turns into NCHW. Few large
# GEMMs beat many small ones, most of all when BLAS threads have to share busy cores.


def chunk_plan(batch: int, rows: int, length: int, dtype) -> tuple[int, bool]:
    """(images per chunk, whether the unfold and copy kernels run in parallel) for a batch
    whose images have `rows` x `length` columns each. The Python drivers and their lowering
    into the graph compiler's numba functions both ask here, so both make the same calls.

    >>> chunk_plan(8, 9, 64, np.float32)
    (8, False)
    """
    per_image = max(rows * length * np.dtype(dtype).itemsize, 1)
    size = max(1, min(batch, CHUNK_BYTES // per_image))
    return size, size > 1 and size * rows * length >= PARALLEL_MIN_WORK


class _Chunks:
    """Splits the batch into chunks of images, with flat buffers reused by every chunk."""

    def __init__(self, batch, rows, out_channels, length, dtype):
        self.batch, self.rows, self.out_channels, self.length = batch, rows, out_channels, length
        self.size, self.parallel = chunk_plan(batch, rows, length, dtype)
        self.cols = empty(self.size * rows * length, dtype)
        self.grouped = empty(self.size * out_channels * length, dtype)

    def __iter__(self):
        """(first image, images, columns (rows, images, L), results (out_channels, images, L))."""
        for start in range(0, self.batch, self.size):
            count = min(self.size, self.batch - start)
            columns = self.cols[:self.rows * count * self.length]
            results = self.grouped[:self.out_channels * count * self.length]
            yield (start, count, columns.reshape(self.rows, count, self.length),
                   results.reshape(self.out_channels, count, self.length))


def _by_group(stack: np.ndarray, groups: int) -> np.ndarray:
    """(rows, images, L) -> (groups, rows / groups, images * L): one GEMM operand per group."""
    return stack.reshape(groups, stack.shape[0] // groups, stack.shape[1] * stack.shape[2])


def conv2d_forward(x, w, geometry, groups):
    batch, out_channels = x.shape[0], w.shape[0]
    out_hw = windows_shape("conv2d", x.shape, w.shape[2:], geometry[0:2], geometry[2:4],
                           geometry[4:6])
    out = empty((batch, out_channels) + out_hw, x.dtype)
    if out.size == 0:
        return out
    length, depth = out_hw[0] * out_hw[1], int(np.prod(w.shape[1:]))
    chunks = _Chunks(batch, groups * depth, out_channels, length, x.dtype)
    weights = contiguous(w).reshape(groups, out_channels // groups, depth)
    x, out3 = contiguous(x), out.reshape(batch, out_channels, length)
    for start, count, columns, results in chunks:
        _unfold(x[start:start + count], columns, geometry, chunks.parallel)
        batched_gemm(weights, _by_group(columns, groups), _by_group(results, groups))
        _swap_leading_axes(results, out3[start:start + count], chunks.parallel)
    return out


def conv2d_input_grad_kernel(g, w, input_size, geometry, groups):
    batch, out_channels = g.shape[:2]
    dx = empty((batch, w.shape[1] * groups) + tuple(input_size), g.dtype)
    if dx.size == 0:
        return dx
    length, depth = g.shape[2] * g.shape[3], int(np.prod(w.shape[1:]))
    chunks = _Chunks(batch, groups * depth, out_channels, length, g.dtype)
    weights = contiguous(w).reshape(groups, out_channels // groups, depth)
    g3 = contiguous(g).reshape(batch, out_channels, length)
    for start, count, columns, grads in chunks:
        _swap_leading_axes(g3[start:start + count], grads, chunks.parallel)
        # columns = weights^T @ grads, per group
        batched_gemm(weights, _by_group(grads, groups), _by_group(columns, groups),
                     transpose_a=True)
        _fold(columns, dx[start:start + count], geometry, chunks.parallel)
    return dx


def conv2d_weight_grad_kernel(x, g, geometry, groups):
    batch, channels = x.shape[:2]
    out_channels = g.shape[1]
    dw = empty((out_channels, channels // groups) + tuple(geometry[6:]), x.dtype)
    if dw.size == 0:
        return dw
    dw.fill(0)
    length, depth = g.shape[2] * g.shape[3], dw[0].size
    if batch == 0 or length == 0:
        return dw
    chunks = _Chunks(batch, groups * depth, out_channels, length, x.dtype)
    partial = empty((groups, out_channels // groups, depth), x.dtype)
    x, g3 = contiguous(x), contiguous(g).reshape(batch, out_channels, length)
    for start, count, columns, grads in chunks:
        _unfold(x[start:start + count], columns, geometry, chunks.parallel)
        _swap_leading_axes(g3[start:start + count], grads, chunks.parallel)
        # this chunk's share: grads @ columns^T, per group
        batched_gemm(_by_group(grads, groups), _by_group(columns, groups), partial,
                     transpose_b=True)
        dw.reshape(partial.shape)[...] += partial
    return dw


# The drivers call the parallel kernels from Python. A cached jitted function that calls one
# (the graph compiler's, through the lowerings below) fails to load from numba's cache unless
# numba's threads were started first (numba issue #8578: "Symbol not found: allocate_sched"):
# the lowerings start them (`_parallel`).


def _unfold(x, cols, geometry, parallel: bool) -> None:
    """im2col of images x (count, C, H, W) into cols (C * kH * kW, count, L)."""
    _unfold_kernel(parallel)(x, cols, geometry)


def _fold(cols, x, geometry, parallel: bool) -> None:
    """col2im: sum cols (C * kH * kW, count, L) back onto images x (count, C, H, W)."""
    _fold_kernel(parallel)(cols, x, geometry)


def _swap_leading_axes(source, target, parallel: bool) -> None:
    """target[i, j] = source[j, i]: (a, b, L) to (b, a, L), copying rows of length L."""
    _swap_kernel(parallel)(source, target)


def _unfold_kernel(parallel: bool):
    return _unfold_parallel if parallel else _unfold_serial


def _fold_kernel(parallel: bool):
    return _fold_parallel if parallel else _fold_serial


def _swap_kernel(parallel: bool):
    return _swap_leading_axes_parallel if parallel else _swap_leading_axes_serial


@numba.njit(cache=True)
def _valid_range(offset, stride, size, count):
    """The outputs o in [lo, hi) whose input index o * stride + offset lies in [0, size)."""
    lo = 0 if offset >= 0 else (-offset + stride - 1) // stride
    hi = (size - 1 - offset) // stride + 1 if size - 1 - offset >= 0 else 0
    lo = min(lo, count)
    return lo, max(lo, min(hi, count))


@numba.njit(cache=True)
def _im2col_image(x, cols, geometry):
    stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, kernel_h, kernel_w = geometry
    channels, height, width = x.shape
    out_h = (height + 2 * pad_h - dil_h * (kernel_h - 1) - 1) // stride_h + 1
    out_w = cols.shape[1] // out_h
    for c in range(channels):
        for i in range(kernel_h):
            for j in range(kernel_w):
                row = (c * kernel_h + i) * kernel_w + j
                offset_w = j * dil_w - pad_w
                lo, hi = _valid_range(offset_w, stride_w, width, out_w)
                for oh in range(out_h):
                    ih = oh * stride_h + i * dil_h - pad_h
                    start = oh * out_w
                    if ih < 0 or ih >= height:
                        cols[row, start:start + out_w] = 0
                        continue
                    cols[row, start:start + lo] = 0
                    for ow in range(lo, hi):
                        cols[row, start + ow] = x[c, ih, ow * stride_w + offset_w]
                    cols[row, start + hi:start + out_w] = 0


@numba.njit(cache=True)
def _col2im_image(cols, x, geometry):
    stride_h, stride_w, pad_h, pad_w, dil_h, dil_w, kernel_h, kernel_w = geometry
    channels, height, width = x.shape
    out_h = (height + 2 * pad_h - dil_h * (kernel_h - 1) - 1) // stride_h + 1
    out_w = cols.shape[1] // out_h
    x[...] = 0
    for c in range(channels):
        for i in range(kernel_h):
            for j in range(kernel_w):
                row = (c * kernel_h + i) * kernel_w + j
                offset_w = j * dil_w - pad_w
                lo, hi = _valid_range(offset_w, stride_w, width, out_w)
                for oh in range(out_h):
                    ih = oh * stride_h + i * dil_h - pad_h
                    if 0 <= ih < height:
                        start = oh * out_w
                        for ow in range(lo, hi):
                            x[c, ih, ow * stride_w + offset_w] += cols[row, start + ow]


@numba.njit(cache=True)
def _unfold_serial(x, cols, geometry):
    for n in range(x.shape[0]):
        _im2col_image(x[n], cols[:, n], geometry)


@numba.njit(parallel=True, cache=True)
def _unfold_parallel(x, cols, geometry):
    for n in prange(x.shape[0]):
        _im2col_image(x[n], cols[:, n], geometry)


@numba.njit(cache=True)
def _fold_serial(cols, x, geometry):
    for n in range(x.shape[0]):
        _col2im_image(cols[:, n], x[n], geometry)


@numba.njit(parallel=True, cache=True)
def _fold_parallel(cols, x, geometry):
    for n in prange(x.shape[0]):
        _col2im_image(cols[:, n], x[n], geometry)


@numba.njit(cache=True)
def _swap_leading_axes_serial(source, target):
    for i in range(target.shape[0]):
        for j in range(target.shape[1]):
            target[i, j, :] = source[j, i, :]


@numba.njit(parallel=True, cache=True)
def _swap_leading_axes_parallel(source, target):
    for i in prange(target.shape[0]):
        for j in range(target.shape[1]):
            target[i, j, :] = source[j, i, :]


# ---------------------------------------------------------------------------------------------
# Lowering: the three convolution drivers above as statements of the graph compiler's numba
# functions (framework.kernels.lowered). Shapes are static there, so the chunk plan and the
# serial or parallel choice are made now, from `chunk_plan`; the statements then make the
# drivers' calls: the same kernels on the same views and the same GEMMs (`batched_gemm`'s
# `_float_matmul`, one per group) on the same layouts, so compiled steps keep their bits.


def _lowered_chunks(out_shape, dtype, batch, rows, out_channels, length, groups, head, body,
                    kernels) -> Lowered:
    """A driver's statements: the output, the `head` lines, the chunk buffers, then the `body`
    lines for every chunk, with `{o0}_start`, `{o0}_count`, `{o0}_columns` (rows, count, L)
    and `{o0}_results` (out_channels, count, L) bound as `_Chunks` yields them and
    `{o0}_columns_g`, `{o0}_results_g` their `_by_group` views. `kernels(parallel)`: the
    objects the lines call, for the plan's serial or parallel choice."""
    size, parallel = _parallel(chunk_plan(batch, rows, length, dtype))
    count = "{o0}_count"
    lines = [f"{{o0}} = np.empty({shape_literal(out_shape)}, {dtype_literal(dtype)})", *head]
    objects = {"index": _identity_index(groups), "gemm": _float_matmul, **kernels(parallel)}
    for buffer, height in (("cols", rows), ("grouped", out_channels)):
        elements = size * height * length
        lines.append(f"{{o0}}_{buffer} = np.empty({elements}, {dtype_literal(dtype)})")
        if _HUGE_PAGES and elements * np.dtype(dtype).itemsize >= cpu.HUGE_PAGE_MIN_BYTES:
            # NumPy's large buffers in the driver get huge pages; numba's must ask.
            objects["advise"] = cpu.advise_huge_pages
            lines.append(f"{{advise}}({{o0}}_{buffer})")
    lines += [f"for {{o0}}_start in range(0, {batch}, {size}):",
              f"    {count} = min({size}, {batch} - {{o0}}_start)"]
    for name, height in (("columns", rows), ("results", out_channels)):
        buffer = "cols" if name == "columns" else "grouped"
        lines += [f"    {{o0}}_{name} = {{o0}}_{buffer}[:{height * length} * {count}]"
                  f".reshape({height}, {count}, {length})",
                  f"    {{o0}}_{name}_g = {{o0}}_{name}.reshape({groups}, {height // groups}, "
                  f"{count} * {length})"]
    lines += [f"    {line}" for line in body]
    return Lowered("\n".join(lines), objects)


def _parallel(plan: tuple) -> tuple:
    """`plan`, (anything, whether lowered statements call a parallel kernel), after starting
    numba's threads when they do: the compiled function that calls it then loads from numba's
    cache (see the note above `_unfold`). Lowering runs in every process that compiles."""
    if plan[1]:
        _launch_threads()
    return plan


def _lowered_empty(out_shape, dtype) -> Lowered:
    """An output with nothing to compute (no elements), as the drivers return it."""
    return Lowered(f"{{o0}} = np.empty({shape_literal(out_shape)}, {dtype_literal(dtype)})", {})


_CHUNK = "{o0}_start:{o0}_start + {o0}_count"  # this chunk's images


def conv2d_lowering(x, w, geometry, groups) -> Lowered | None:
    """`conv2d_forward`'s statements for inputs of these specs."""
    batch, out_channels = x.shape[0], w.shape[0]
    out_hw = windows_shape("conv2d", x.shape, w.shape[2:], geometry[0:2], geometry[2:4],
                           geometry[4:6])
    length, depth = out_hw[0] * out_hw[1], math.prod(w.shape[1:])
    if not batch * out_channels * length:
        return _lowered_empty((batch, out_channels) + out_hw, x.dtype)
    head = [f"{{o0}}_weights = {{i1}}.reshape({groups}, {out_channels // groups}, {depth})",
            f"{{o0}}_out3 = {{o0}}.reshape({batch}, {out_channels}, {length})"]
    body = [f"{{unfold}}({{i0}}[{_CHUNK}], {{o0}}_columns, {shape_literal(geometry)})",
            "{gemm}({o0}_weights, {o0}_columns_g, {o0}_results_g, {index}, {index}, False, "
            "False)",
            f"{{swap}}({{o0}}_results, {{o0}}_out3[{_CHUNK}])"]
    return _lowered_chunks((batch, out_channels) + out_hw, x.dtype, batch, groups * depth,
                           out_channels, length, groups, head, body,
                           lambda parallel: {"unfold": _unfold_kernel(parallel),
                                             "swap": _swap_kernel(parallel)})


def conv2d_input_grad_lowering(g, w, input_size, geometry, groups) -> Lowered | None:
    """`conv2d_input_grad_kernel`'s statements for inputs of these specs."""
    batch, out_channels = g.shape[:2]
    out_shape = (batch, w.shape[1] * groups) + tuple(input_size)
    length, depth = g.shape[2] * g.shape[3], math.prod(w.shape[1:])
    if not math.prod(out_shape):
        return _lowered_empty(out_shape, g.dtype)
    if not length:
        return None
    head = [f"{{o0}}_weights = {{i1}}.reshape({groups}, {out_channels // groups}, {depth})",
            f"{{o0}}_g3 = {{i0}}.reshape({batch}, {out_channels}, {length})"]
    body = [f"{{swap}}({{o0}}_g3[{_CHUNK}], {{o0}}_results)",
            "{gemm}({o0}_weights, {o0}_results_g, {o0}_columns_g, {index}, {index}, True, "
            "False)",
            f"{{fold}}({{o0}}_columns, {{o0}}[{_CHUNK}], {shape_literal(geometry)})"]
    return _lowered_chunks(out_shape, g.dtype, batch, groups * depth, out_channels, length,
                           groups, head, body,
                           lambda parallel: {"swap": _swap_kernel(parallel),
                                             "fold": _fold_kernel(parallel)})


def conv2d_weight_grad_lowering(x, g, geometry, groups) -> Lowered | None:
    """`conv2d_weight_grad_kernel`'s statements for inputs of these specs."""
    batch, channels = x.shape[:2]
    out_channels = g.shape[1]
    out_shape = (out_channels, channels // groups) + tuple(geometry[6:])
    length, depth = g.shape[2] * g.shape[3], math.prod(out_shape[1:])
    if not math.prod(out_shape):
        return _lowered_empty(out_shape, x.dtype)
    if not batch * length:  # no image: the gradient is zero
        return Lowered(_lowered_empty(out_shape, x.dtype).code + "\n{o0}.fill(0)", {})
    partial = (groups, out_channels // groups, depth)
    head = ["{o0}.fill(0)",
            f"{{o0}}_sum = {{o0}}.reshape({shape_literal(partial)})",
            f"{{o0}}_partial = np.empty({shape_literal(partial)}, {dtype_literal(x.dtype)})",
            f"{{o0}}_g3 = {{i1}}.reshape({batch}, {out_channels}, {length})"]
    body = [f"{{unfold}}({{i0}}[{_CHUNK}], {{o0}}_columns, {shape_literal(geometry)})",
            f"{{swap}}({{o0}}_g3[{_CHUNK}], {{o0}}_results)",
            "{gemm}({o0}_results_g, {o0}_columns_g, {o0}_partial, {index}, {index}, False, "
            "True)",
            "{o0}_sum += {o0}_partial"]
    return _lowered_chunks(out_shape, x.dtype, batch, groups * depth, out_channels, length,
                           groups, head, body,
                           lambda parallel: {"unfold": _unfold_kernel(parallel),
                                             "swap": _swap_kernel(parallel)})


# ---------------------------------------------------------------------------------------------
# Pooling.


def _pool_attributes(op: str, kernel_size, stride, padding) -> tuple:
    kernel = as_pair(kernel_size, "kernel_size", op, 1)
    stride = kernel if stride is None else as_pair(stride, "stride", op, 1)
    return kernel, stride, as_pair(padding, "padding", op, 0)


@dataclasses.dataclass(frozen=True)
class Pool2d(Op):
    """Shared attributes and shape rule of the pools: window, stride and padding pairs."""

    kernel_size: tuple = (1, 1)
    stride: tuple = (1, 1)
    padding: tuple = (0, 0)

    def check(self, x) -> tuple:
        """The rule every pool input follows; returns the pooled (out_H, out_W)."""
        require_dtype(self.name, x, dtypes.FLOATS)
        require_4d(self.name, x, "input", "(N, C, H, W)")
        _require_pair(self, "kernel_size", 1)
        _require_pair(self, "stride", 1)
        _require_pair(self, "padding", 0)
        if any(2 * p > k for k, p in zip(self.kernel_size, self.padding)):
            raise ShapeError(f"{self.name}: padding {self.padding} must be at most half the "
                             f"kernel size {self.kernel_size}")
        return windows_shape(self.name, x.shape, self.kernel_size, self.stride, self.padding)

    def check_grad_output(self, g, size) -> None:
        require_4d(self.name, g, "grad_output", "(N, C, out_H, out_W)")
        if any(None not in (a, b) and a != b for a, b in zip(g.shape, size)):
            raise ShapeError(f"{self.name}: grad_output shape {tuple(g.shape)} does not match "
                             f"the pooled shape {size}")

    def geometry(self) -> tuple:
        return tuple(self.kernel_size) + tuple(self.stride) + tuple(self.padding)


@register
class MaxPool2d(Pool2d):
    """The maximum of each window; padding counts as -inf, as in PyTorch."""

    name = "max_pool2d"

    def infer(self, x):
        return Spec(tuple(x.shape[:2]) + self.check(x), x.dtype)

    def cpu(self, x):
        return pool_kernel(_MAX, x, x, pooled_shape(x, self), self.geometry())

    def nopython(self, x):
        return pool_lowering(_MAX, x, ("{i0}", x), pooled_shape(x, self), self.geometry())

    def cuda(self, x):
        from framework.kernels import cuda_nn

        return cuda_nn.pool(cuda_nn.MAX_POOL, x, x, _device_pooled_shape(x, self),
                            self.geometry())

    def vjp(self, g, inputs, out):
        (x,) = inputs
        return max_pool2d_backward(x, g, **self.attributes)


@register
class MaxPool2dBackward(Pool2d):
    """Routes grad_output to the first maximum of each window of `x`; zeros elsewhere."""

    name = "max_pool2d_backward"

    def infer(self, x, g):
        dtype = require_same_dtype(self.name, x, g)
        self.check_grad_output(g, tuple(x.shape[:2]) + self.check(x))
        return Spec(x.shape, dtype)

    def cpu(self, x, g):
        return pool_kernel(_MAX_BACKWARD, x, g, x.shape, self.geometry())

    def nopython(self, x, g):
        return pool_lowering(_MAX_BACKWARD, x, ("{i1}", g), x.shape, self.geometry())

    def cuda(self, x, g):
        from framework.kernels import cuda_nn

        return cuda_nn.pool(cuda_nn.MAX_POOL_BACKWARD, x, g, tuple(x.shape), self.geometry())

    def vjp(self, gg, inputs, out):
        x, g = inputs
        # The routing is piecewise constant in x: no gradient flows to it.
        return None, max_pool2d_gather(x, gg, **self.attributes)


@register
class MaxPool2dGather(Pool2d):
    """From `values` (shaped like x), the element at the first maximum of each window of x."""

    name = "max_pool2d_gather"

    def infer(self, x, values):
        dtype = require_same_dtype(self.name, x, values)
        if tuple(x.shape) != tuple(values.shape):
            raise ShapeError(f"{self.name}: input shape {tuple(x.shape)} and values shape "
                             f"{tuple(values.shape)} differ")
        return Spec(tuple(x.shape[:2]) + self.check(x), dtype)

    def cpu(self, x, values):
        return pool_kernel(_MAX_GATHER, x, values, pooled_shape(x, self), self.geometry())

    def nopython(self, x, values):
        return pool_lowering(_MAX_GATHER, x, ("{i1}", values), pooled_shape(x, self),
                             self.geometry())

    def cuda(self, x, values):
        from framework.kernels import cuda_nn

        return cuda_nn.pool(cuda_nn.MAX_POOL_GATHER, x, values, _device_pooled_shape(x, self),
                            self.geometry())

    def vjp(self, g, inputs, out):
        x, values = inputs
        return None, max_pool2d_backward(x, g, **self.attributes)


@register
class AvgPool2d(Pool2d):
    """The mean of each window, padding counted as zeros (PyTorch's count_include_pad=True)."""

    name = "avg_pool2d"
    vjp_needs_inputs = False

    def infer(self, x):
        return Spec(tuple(x.shape[:2]) + self.check(x), x.dtype)

    def cpu(self, x):
        return pool_kernel(_AVG, x, x, pooled_shape(x, self), self.geometry())

    def nopython(self, x):
        return pool_lowering(_AVG, x, ("{i0}", x), pooled_shape(x, self), self.geometry())

    def cuda(self, x):
        from framework.kernels import cuda_nn

        return cuda_nn.pool(cuda_nn.AVG_POOL, x, x, _device_pooled_shape(x, self),
                            self.geometry())

    def vjp(self, g, inputs, out):
        (x,) = inputs
        return avg_pool2d_backward(g, _known_pair(self.name, x.shape[2:], "input size"),
                                   **self.attributes)


@register
@dataclasses.dataclass(frozen=True)  # `register` keeps an inherited dataclass: add the new field
class AvgPool2dBackward(Pool2d):
    """Spreads grad_output evenly over each window of an input of `input_size` (H, W)."""

    name = "avg_pool2d_backward"
    input_size: tuple = (1, 1)
    vjp_needs_inputs = False

    def infer(self, g):
        require_4d(self.name, g, "grad_output", "(N, C, out_H, out_W)")
        _require_pair(self, "input_size", 0)
        x = Spec(tuple(g.shape[:2]) + self.input_size, g.dtype)
        self.check_grad_output(g, tuple(g.shape[:2]) + self.check(x))
        return x

    def cpu(self, g):
        shape = g.shape[:2] + tuple(self.input_size)
        return pool_kernel(_AVG_BACKWARD, g, g, shape, self.geometry())

    def nopython(self, g):
        shape = tuple(g.shape[:2]) + tuple(self.input_size)
        return pool_lowering(_AVG_BACKWARD, g, ("{i0}", g), shape, self.geometry())

    def cuda(self, g):
        from framework.kernels import cuda_nn

        shape = tuple(g.shape)[:2] + tuple(self.input_size)
        return cuda_nn.pool(cuda_nn.AVG_POOL_BACKWARD, g, g, shape, self.geometry())

    def vjp(self, gg, inputs, out):
        attributes = dict(self.attributes)
        del attributes["input_size"]
        return avg_pool2d(gg, **attributes)


def max_pool2d(x, kernel_size, stride=None, padding=0):
    """The maximum over each kernel_size window of NCHW `x` (stride defaults to kernel_size).

    >>> max_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2)
    array([[[[ 5.,  7.],
             [13., 15.]]]])
    """
    kernel, stride, padding = _pool_attributes("max_pool2d", kernel_size, stride, padding)
    return bind(MaxPool2d(kernel, stride, padding), as_operand(x))


def max_pool2d_backward(x, grad_output, kernel_size, stride=None, padding=0):
    """max_pool2d's input gradient: grad_output placed at each window's first maximum.

    >>> max_pool2d_backward(np.eye(2).reshape(1, 1, 2, 2), np.ones((1, 1, 1, 1)), 2)[0, 0]
    array([[1., 0.],
           [0., 0.]])
    """
    kernel, stride, padding = _pool_attributes("max_pool2d_backward", kernel_size, stride,
                                               padding)
    return bind(MaxPool2dBackward(kernel, stride, padding), *promote(x, grad_output))


def max_pool2d_gather(x, values, kernel_size, stride=None, padding=0):
    """The elements of `values` at the first maximum of each window of `x`.

    >>> max_pool2d_gather(np.eye(2).reshape(1, 1, 2, 2), np.full((1, 1, 2, 2), 7.0), 2)
    array([[[[7.]]]])
    """
    kernel, stride, padding = _pool_attributes("max_pool2d_gather", kernel_size, stride,
                                               padding)
    return bind(MaxPool2dGather(kernel, stride, padding), *promote(x, values))


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """The mean over each kernel_size window of NCHW `x`; padding counts as zeros.

    >>> avg_pool2d(np.arange(16.0).reshape(1, 1, 4, 4), 2)
    array([[[[ 2.5,  4.5],
             [10.5, 12.5]]]])
    """
    kernel, stride, padding = _pool_attributes("avg_pool2d", kernel_size, stride, padding)
    return bind(AvgPool2d(kernel, stride, padding), as_operand(x))


def avg_pool2d_backward(grad_output, input_size, kernel_size, stride=None, padding=0):
    """avg_pool2d's input gradient for an input of spatial size `input_size` (H, W).

    >>> avg_pool2d_backward(np.ones((1, 1, 1, 1)), (2, 2), 2)[0, 0]
    array([[0.25, 0.25],
           [0.25, 0.25]])
    """
    name = "avg_pool2d_backward"
    kernel, stride, padding = _pool_attributes(name, kernel_size, stride, padding)
    size = as_pair(tuple(input_size), "input_size", name, 0)
    return bind(AvgPool2dBackward(kernel, stride, padding, size), as_operand(grad_output))


# ---------------------------------------------------------------------------------------------
# Pool kernels, one plane (image channel) at a time. `geometry` is (kernel_h, kernel_w,
# stride_h, stride_w, pad_h, pad_w). All five pool ops share one driver; `kind` picks the plane.

_MAX, _MAX_BACKWARD, _MAX_GATHER, _AVG, _AVG_BACKWARD = range(5)


def pooled_shape(x: np.ndarray, op: Pool2d) -> tuple:
    return x.shape[:2] + windows_shape(op.name, x.shape, op.kernel_size, op.stride, op.padding)


def _device_pooled_shape(x, op: Pool2d) -> tuple:
    """`pooled_shape` of a device array (whose shape may be a tuple subclass)."""
    return pooled_shape(Spec(tuple(x.shape), x.dtype), op)


def pool_kernel(kind: int, x: np.ndarray, values: np.ndarray, out_shape: tuple,
                geometry: tuple) -> np.ndarray:
    """Run one pool kernel over every (N, C) plane; x and values are (N, C, ., .) arrays."""
    out = empty(out_shape, x.dtype)
    if out.size == 0:
        return out
    planes = out_shape[0] * out_shape[1]
    x = contiguous(x).reshape((planes,) + x.shape[2:])
    values = contiguous(values).reshape((planes,) + values.shape[2:])
    out3 = out.reshape((planes,) + out_shape[2:])
    _pool_driver(planes, max(x.size, out.size), geometry)(kind, x, values, out3, geometry)
    return out


def pool_lowering(kind: int, x, values, out_shape: tuple, geometry: tuple) -> Lowered | None:
    """`pool_kernel`'s call for the input spec `x` (input 0) and `values`, (its input's
    placeholder, its spec): the same plane loop, serial or parallel, on the same (planes,
    ., .) views."""
    out_shape = tuple(out_shape)
    if not math.prod(out_shape):
        return _lowered_empty(out_shape, x.dtype)
    planes = out_shape[0] * out_shape[1]
    driver = _pool_driver(planes, max(math.prod(x.shape), math.prod(out_shape)), geometry)
    _parallel((None, driver is _pool_parallel))

    def plane_view(array: str, shape) -> str:
        return f"{array}.reshape({shape_literal((planes,) + tuple(shape[2:]))})"

    operands = [plane_view("{i0}", x.shape), plane_view(values[0], values[1].shape),
                plane_view("{o0}", out_shape)]
    return Lowered(f"{{o0}} = np.empty({shape_literal(out_shape)}, {dtype_literal(x.dtype)})\n"
                   f"{{driver}}({kind}, {', '.join(operands)}, {shape_literal(geometry)})",
                   {"driver": driver})


def _pool_driver(planes: int, size: int, geometry: tuple):
    """The serial or parallel plane loop for `planes` planes of at most `size` elements in all
    (input or output), by the work their windows make."""
    work = size * geometry[0] * geometry[1]
    return _pool_parallel if planes > 1 and work >= PARALLEL_MIN_WORK else _pool_serial


@numba.njit(cache=True)
def _window_rows(o, stride, pad, kernel, size):
    """The in-bounds input range [lo, hi) of window o along one axis."""
    start = o * stride - pad
    return max(start, 0), min(start + kernel, size)


@numba.njit(cache=True)
def _window_argmax(plane, oh, ow, geometry):
    """(row, column) of the first maximum of a window; row -1 if it holds only padding."""
    kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w = geometry
    height, width = plane.shape
    row_lo, row_hi = _window_rows(oh, stride_h, pad_h, kernel_h, height)
    col_lo, col_hi = _window_rows(ow, stride_w, pad_w, kernel_w, width)
    if row_lo >= row_hi or col_lo >= col_hi:
        return -1, -1
    best_row, best_col = row_lo, col_lo
    best = plane[row_lo, col_lo]
    for ih in range(row_lo, row_hi):
        for iw in range(col_lo, col_hi):
            value = plane[ih, iw]
            # Strictly greater keeps the first maximum; NaN wins once, as in PyTorch. Bitwise
            # operators and selects keep the loop free of branches.
            better = (value > best) | ((value != value) & (best == best))
            best = value if better else best
            best_row = ih if better else best_row
            best_col = iw if better else best_col
    return best_row, best_col


@numba.njit(cache=True)
def _pool_plane(kind, x, values, out, geometry):
    kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w = geometry
    if kind == _MAX:
        height, width = x.shape
        for oh in range(out.shape[0]):
            row_lo, row_hi = _window_rows(oh, stride_h, pad_h, kernel_h, height)
            for ow in range(out.shape[1]):
                col_lo, col_hi = _window_rows(ow, stride_w, pad_w, kernel_w, width)
                best, has_nan = x.dtype.type(-np.inf), False
                for ih in range(row_lo, row_hi):
                    for iw in range(col_lo, col_hi):
                        value = x[ih, iw]
                        best = value if value > best else best  # branch-free in the loop
                        has_nan |= value != value
                out[oh, ow] = np.nan if has_nan else best
    elif kind == _MAX_GATHER:
        for oh in range(out.shape[0]):
            for ow in range(out.shape[1]):
                row, col = _window_argmax(x, oh, ow, geometry)
                out[oh, ow] = 0 if row < 0 else values[row, col]
    elif kind == _MAX_BACKWARD:
        out[...] = 0
        for oh in range(values.shape[0]):
            for ow in range(values.shape[1]):
                row, col = _window_argmax(x, oh, ow, geometry)
                if row >= 0:
                    out[row, col] += values[oh, ow]
    elif kind == _AVG:
        scale = 1.0 / (kernel_h * kernel_w)  # padding counts: one divisor for every window
        height, width = x.shape
        for oh in range(out.shape[0]):
            row_lo, row_hi = _window_rows(oh, stride_h, pad_h, kernel_h, height)
            for ow in range(out.shape[1]):
                col_lo, col_hi = _window_rows(ow, stride_w, pad_w, kernel_w, width)
                total = out.dtype.type(0)
                for ih in range(row_lo, row_hi):
                    for iw in range(col_lo, col_hi):
                        total += x[ih, iw]
                out[oh, ow] = total * scale
    else:  # _AVG_BACKWARD: x is grad_output, out the input gradient
        scale = 1.0 / (kernel_h * kernel_w)
        height, width = out.shape
        out[...] = 0
        for oh in range(x.shape[0]):
            row_lo, row_hi = _window_rows(oh, stride_h, pad_h, kernel_h, height)
            for ow in range(x.shape[1]):
                col_lo, col_hi = _window_rows(ow, stride_w, pad_w, kernel_w, width)
                share = x[oh, ow] * scale
                for ih in range(row_lo, row_hi):
                    for iw in range(col_lo, col_hi):
                        out[ih, iw] += share


@numba.njit(cache=True)
def _pool_serial(kind, x, values, out, geometry):
    for p in range(out.shape[0]):
        _pool_plane(kind, x[p], values[p], out[p], geometry)


@numba.njit(parallel=True, cache=True)
def _pool_parallel(kind, x, values, out, geometry):
    for p in prange(out.shape[0]):
        _pool_plane(kind, x[p], values[p], out[p], geometry)
