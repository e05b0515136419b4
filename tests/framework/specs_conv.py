"""Spec table of the convolution and pooling ops, with plain NumPy references.

The references are written for clarity, not speed: shifted slices of a padded copy (one per
kernel position) or explicit loops over windows, always in float64.
"""

from functools import partial

import numpy as np

from framework import dtypes
from framework.ops import F
from tests.framework.opspec import OpSpec


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def _out_size(size, kernel, stride, padding, dilation):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _window_slices(i, j, out_hw, stride, dilation):
    """The padded-input slices that kernel position (i, j) reads, one element per output."""
    (out_h, out_w), (sh, sw), (dh, dw) = out_hw, stride, dilation
    return (slice(i * dh, i * dh + sh * (out_h - 1) + 1, sh),
            slice(j * dw, j * dw + sw * (out_w - 1) + 1, sw))


def reference_conv2d(x, w, stride=1, padding=0, dilation=1, groups=1):
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    (ph, pw), (kh, kw) = padding, w.shape[2:]
    batch, _, height, width = x.shape
    out_channels, group_channels = w.shape[:2]
    out_hw = tuple(_out_size(n, k, s, p, d) for n, k, s, p, d
                   in zip((height, width), (kh, kw), stride, padding, dilation))
    padded = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    out = np.zeros((batch, out_channels) + out_hw)
    per_group = out_channels // groups
    for o in range(out_channels):
        channels = slice(o // per_group * group_channels, (o // per_group + 1) * group_channels)
        for i in range(kh):
            for j in range(kw):
                rows, cols = _window_slices(i, j, out_hw, stride, dilation)
                patch = padded[:, channels, rows, cols]
                out[:, o] += np.einsum("nchw,c->nhw", patch, w[o, :, i, j])
    return out.astype(x.dtype)


def reference_conv2d_input_grad(g, w, input_size, stride=1, padding=0, dilation=1, groups=1):
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    (ph, pw), (kh, kw) = padding, w.shape[2:]
    out_channels, group_channels = w.shape[:2]
    height, width = input_size
    padded = np.zeros((g.shape[0], group_channels * groups, height + 2 * ph, width + 2 * pw))
    per_group = out_channels // groups
    for o in range(out_channels):
        channels = slice(o // per_group * group_channels, (o // per_group + 1) * group_channels)
        for i in range(kh):
            for j in range(kw):
                rows, cols = _window_slices(i, j, g.shape[2:], stride, dilation)
                padded[:, channels, rows, cols] += np.einsum("nhw,c->nchw", g[:, o], w[o, :, i, j])
    return padded[:, :, ph:ph + height, pw:pw + width].astype(g.dtype)


def reference_conv2d_weight_grad(x, g, kernel_size, stride=1, padding=0, dilation=1, groups=1):
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    (ph, pw), (kh, kw) = padding, kernel_size
    out_channels, group_channels = g.shape[1], x.shape[1] // groups
    padded = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    dw = np.zeros((out_channels, group_channels, kh, kw))
    per_group = out_channels // groups
    for o in range(out_channels):
        channels = slice(o // per_group * group_channels, (o // per_group + 1) * group_channels)
        for i in range(kh):
            for j in range(kw):
                rows, cols = _window_slices(i, j, g.shape[2:], stride, dilation)
                dw[o, :, i, j] = np.einsum("nchw,nhw->c", padded[:, channels, rows, cols], g[:, o])
    return dw.astype(x.dtype)


def _pool_windows(shape, kernel_size, stride, padding):
    """For each (oh, ow), the in-bounds (ih, iw) positions of its window, in row-major order."""
    kernel = _pair(kernel_size)
    stride = kernel if stride is None else _pair(stride)
    padding = _pair(padding)
    out_h, out_w = (_out_size(n, k, s, p, 1) for n, k, s, p in zip(shape, kernel, stride, padding))
    for oh in range(out_h):
        for ow in range(out_w):
            positions = [(ih, iw)
                         for ih in range(oh * stride[0] - padding[0],
                                         oh * stride[0] - padding[0] + kernel[0])
                         for iw in range(ow * stride[1] - padding[1],
                                         ow * stride[1] - padding[1] + kernel[1])
                         if 0 <= ih < shape[0] and 0 <= iw < shape[1]]
            yield (oh, ow), positions, kernel[0] * kernel[1], (out_h, out_w)


def _first_max(plane, positions):
    values = [plane[p] for p in positions]
    return positions[int(np.argmax(values))]  # argmax returns the first maximum


def reference_max_pool2d(x, kernel_size, stride=None, padding=0):
    return reference_max_pool2d_gather(x, x, kernel_size, stride, padding)


def reference_max_pool2d_gather(x, values, kernel_size, stride=None, padding=0):
    out = None
    for (oh, ow), positions, _, out_hw in _pool_windows(x.shape[2:], kernel_size, stride,
                                                       padding):
        if out is None:
            out = np.zeros(x.shape[:2] + out_hw, x.dtype)
        for n in range(x.shape[0]):
            for c in range(x.shape[1]):
                out[n, c, oh, ow] = values[n, c][_first_max(x[n, c], positions)]
    return out


def reference_max_pool2d_backward(x, g, kernel_size, stride=None, padding=0):
    dx = np.zeros(x.shape)
    for (oh, ow), positions, _, _ in _pool_windows(x.shape[2:], kernel_size, stride, padding):
        for n in range(x.shape[0]):
            for c in range(x.shape[1]):
                dx[n, c][_first_max(x[n, c], positions)] += g[n, c, oh, ow]
    return dx.astype(x.dtype)


def reference_avg_pool2d(x, kernel_size, stride=None, padding=0):
    out = None
    for (oh, ow), positions, area, out_hw in _pool_windows(x.shape[2:], kernel_size, stride,
                                                          padding):
        if out is None:
            out = np.zeros(x.shape[:2] + out_hw)
        for ih, iw in positions:
            out[:, :, oh, ow] += x[:, :, ih, iw]
        out[:, :, oh, ow] /= area
    return out.astype(x.dtype)


def reference_avg_pool2d_backward(g, input_size, kernel_size, stride=None, padding=0):
    dx = np.zeros(g.shape[:2] + tuple(input_size))
    for (oh, ow), positions, area, _ in _pool_windows(input_size, kernel_size, stride, padding):
        for ih, iw in positions:
            dx[:, :, ih, iw] += g[:, :, oh, ow] / area
    return dx.astype(g.dtype)


def distinct_values(rng, shape, dtype, i):
    """Max pooling's inputs: values 0.1 apart, so a finite-difference step never flips a max."""
    if i > 0:
        return rng.uniform(-2, 2, size=shape).astype(dtype)
    size = int(np.prod(shape))
    return (rng.permutation(size).reshape(shape) * 0.1 - size * 0.05).astype(dtype)


CONV_TOLERANCE = {dtypes.float32: (1e-5, 2e-5)}


def conv_spec(name, shapes, **attributes):
    return OpSpec(name, partial(F.conv2d, **attributes),
                  partial(reference_conv2d, **attributes), shapes, tolerance=CONV_TOLERANCE)


def pool_spec(name, function, reference, shapes, **attributes):
    return OpSpec(name, partial(function, **attributes), partial(reference, **attributes),
                  shapes, make_input=distinct_values)


SPECS = [
    conv_spec("conv2d", [((2, 3, 5, 5), (4, 3, 3, 3)), ((1, 2, 4, 4), (3, 2, 1, 1)),
                         ((0, 3, 5, 5), (4, 3, 3, 3)), ((2, 0, 4, 4), (3, 0, 2, 2)),
                         ((1, 1, 1, 1), (1, 1, 1, 1))]),
    conv_spec("conv2d_stride2_pad1", [((2, 3, 5, 5), (4, 3, 3, 3)), ((1, 2, 6, 6), (2, 2, 3, 3))],
              stride=2, padding=1),
    conv_spec("conv2d_dilation2", [((2, 3, 5, 5), (4, 3, 3, 3))], dilation=2),
    conv_spec("conv2d_groups3", [((2, 3, 5, 5), (6, 1, 3, 3)), ((1, 6, 4, 4), (3, 2, 2, 2))],
              groups=3, padding=1),
    conv_spec("conv2d_all_attributes", [((2, 3, 5, 5), (3, 1, 3, 3))],
              stride=2, padding=1, dilation=2, groups=3),
    conv_spec("conv2d_rectangular", [((2, 2, 5, 6), (3, 2, 2, 3))],
              stride=(2, 1), padding=(0, 1), dilation=(1, 2)),
    OpSpec("conv2d_errors", F.conv2d, reference_conv2d, [], bad=[
        (((2, 4, 5, 5), (4, 3, 3, 3)), dtypes.float32,
         r"input shape \(2, 4, 5, 5\) has 4 channels but weight shape \(4, 3, 3, 3\) expects 3"),
        (((2, 3, 2, 2), (4, 3, 3, 3)), dtypes.float32, r"larger than the padded input \(2 x 2\)"),
        (((3, 5, 5), (4, 3, 3, 3)), dtypes.float32, r"input must be 4-D .*\(3, 5, 5\)"),
        (((2, 3, 5, 5), (4, 3, 3)), dtypes.float32, r"weight must be 4-D"),
        (((2, 3, 5, 5), (4, 3, 3, 3)), dtypes.int32, "dtype int32"),
    ]),
    OpSpec("conv2d_group_errors", partial(F.conv2d, groups=2), reference_conv2d, [], bad=[
        (((2, 3, 5, 5), (4, 1, 3, 3)), dtypes.float32,
         r"groups=2 does not divide the input's 3 channels"),
        (((2, 4, 5, 5), (3, 2, 3, 3)), dtypes.float32,
         r"groups=2 does not divide the weight's 3 output channels"),
    ]),
    OpSpec("conv2d_padded_errors", partial(F.conv2d, padding=1, dilation=3), reference_conv2d,
           [], bad=[(((1, 1, 4, 4), (1, 1, 3, 3)), dtypes.float64,
                     r"kernel \(spanning 7 x 7\) is larger than the padded input \(6 x 6\)")]),
    OpSpec("conv2d_input_grad",
           partial(F.conv2d_input_grad, input_size=(5, 5), stride=2, padding=1, groups=1),
           partial(reference_conv2d_input_grad, input_size=(5, 5), stride=2, padding=1),
           [((2, 4, 3, 3), (4, 3, 3, 3))], tolerance=CONV_TOLERANCE,
           bad=[(((2, 4, 4, 4), (4, 3, 3, 3)), dtypes.float32, "does not match conv2d's output"),
                (((2, 5, 3, 3), (4, 3, 3, 3)), dtypes.float32,
                 r"has 5 channels but weight shape \(4, 3, 3, 3\) has 4 output channels")]),
    OpSpec("conv2d_input_grad_groups",
           partial(F.conv2d_input_grad, input_size=(6, 5), stride=(2, 1), dilation=2, groups=2),
           partial(reference_conv2d_input_grad, input_size=(6, 5), stride=(2, 1), dilation=2,
                   groups=2),
           [((2, 4, 1, 1), (4, 1, 3, 3))], tolerance=CONV_TOLERANCE),
    OpSpec("conv2d_weight_grad",
           partial(F.conv2d_weight_grad, kernel_size=(3, 3), stride=2, padding=1),
           partial(reference_conv2d_weight_grad, kernel_size=(3, 3), stride=2, padding=1),
           [((2, 3, 5, 5), (2, 4, 3, 3)), ((0, 3, 5, 5), (0, 4, 3, 3))],
           tolerance=CONV_TOLERANCE,
           bad=[(((2, 3, 5, 5), (3, 4, 3, 3)), dtypes.float32, "different batch sizes"),
                (((2, 3, 5, 5), (2, 4, 2, 2)), dtypes.float32, "does not match conv2d's output")]),
    OpSpec("conv2d_weight_grad_groups",
           partial(F.conv2d_weight_grad, kernel_size=(2, 3), padding=(1, 0), groups=3),
           partial(reference_conv2d_weight_grad, kernel_size=(2, 3), padding=(1, 0), groups=3),
           [((2, 6, 4, 5), (2, 3, 5, 3))], tolerance=CONV_TOLERANCE),
    pool_spec("max_pool2d", F.max_pool2d, reference_max_pool2d,
              [((2, 3, 4, 4),), ((1, 2, 5, 5),), ((0, 2, 4, 4),)], kernel_size=2),
    pool_spec("max_pool2d_overlapping", F.max_pool2d, reference_max_pool2d,
              [((2, 2, 5, 5),), ((1, 1, 1, 1),)], kernel_size=3, stride=1, padding=1),
    pool_spec("max_pool2d_rectangular", F.max_pool2d, reference_max_pool2d,
              [((2, 2, 5, 7),)], kernel_size=(2, 3), stride=(1, 2), padding=(1, 1)),
    OpSpec("max_pool2d_errors", partial(F.max_pool2d, kernel_size=3, padding=2),
           reference_max_pool2d, [], bad=[
               (((1, 1, 4, 4),), dtypes.float32, r"padding \(2, 2\) must be at most half"),
           ]),
    OpSpec("max_pool2d_shape_errors", partial(F.max_pool2d, kernel_size=3), reference_max_pool2d,
           [], bad=[(((1, 1, 2, 4),), dtypes.float32, "larger than the padded input"),
                    (((1, 4, 4),), dtypes.float32, "must be 4-D"),
                    (((1, 1, 4, 4),), dtypes.int64, "dtype int64")]),
    pool_spec("max_pool2d_backward", F.max_pool2d_backward, reference_max_pool2d_backward,
              [((2, 2, 5, 5), (2, 2, 5, 5))], kernel_size=3, stride=1, padding=1),
    pool_spec("max_pool2d_gather", F.max_pool2d_gather, reference_max_pool2d_gather,
              [((2, 2, 5, 5), (2, 2, 5, 5))], kernel_size=(2, 3), stride=2, padding=1),
    pool_spec("avg_pool2d", F.avg_pool2d, reference_avg_pool2d,
              [((2, 3, 4, 4),), ((0, 2, 4, 4),)], kernel_size=2),
    pool_spec("avg_pool2d_padded", F.avg_pool2d, reference_avg_pool2d,
              [((2, 2, 5, 5),), ((1, 1, 1, 1),)], kernel_size=3, stride=2, padding=1),
    pool_spec("avg_pool2d_backward", F.avg_pool2d_backward, reference_avg_pool2d_backward,
              [((2, 2, 3, 3),)], input_size=(5, 5), kernel_size=3, stride=2, padding=1),
    OpSpec("avg_pool2d_errors", partial(F.avg_pool2d, kernel_size=(2, 5)), reference_avg_pool2d,
           [], bad=[(((1, 1, 4, 4),), dtypes.float64, r"larger than the padded input \(4 x 4\)"),
                    (((4, 4),), dtypes.float64, "must be 4-D")]),
]
