"""Neural-network primitives: softmax, log_softmax, cross-entropy, embedding; loss composites.

The softmax family reduces along one axis. Each kernel views its input as (outer, n, inner)
around that axis (a free reshape of a contiguous array) and treats every (outer, inner) position
as one row of n values:

- when the axis is last (inner == 1), a row is contiguous and one call of a row body handles
  it while it sits in cache: its max, the sum of exponentials, then the result;
- otherwise a block body handles up to `cpu.BLOCK_WIDTH` neighbouring rows at once, walking the
  axis with unit-stride inner loops instead of striding across memory.

Rows are independent, so the loop over them runs in parallel (`prange`) for large inputs and
serially for small ones, where starting threads would cost more than it saves. The loops that
drive the bodies come from the CPU backend's along-axis template
(`framework.kernels.cpu.run_along_axis`), so every body gets both forms without hand-copied
loops.

Every value is computed relative to its row's maximum, so large logits never overflow; sums of
exponentials end in float64. A row made only of -inf gives NaN, as in PyTorch. The exp is the
kernels layer's vectorizable one (`framework.kernels.maths.exp`), which is what lets one fused
pass beat NumPy's several SIMD passes.

Losses take `reduction` = "mean" | "sum" | "none", as in PyTorch.
"""

from __future__ import annotations

import functools
import math

import numba
import numpy as np

from framework import dtypes
from framework.device import empty
from framework.errors import DTypeError, DualgraphError, ShapeError
from framework.kernels import cpu, maths
from framework.kernels.cpu import dtype_literal, shape_literal
from framework.kernels.lowered import Lowered, joined, rebound
from framework.ops.dispatch import as_operand, bind, promote
from framework.ops.linalg import gemm, matmul_kernel
from framework.ops.movement import _first_outside, check_index_values, contiguous
from framework.ops.reduction import Mean, Sum
from framework.ops.registry import Op, Spec, cached_op, register, require_dtype, require_same_dtype
from framework.shapes import broadcast_shapes, normalize_axis

__all__ = ["softmax", "log_softmax", "cross_entropy", "mse", "embedding", "linear"]

REDUCTIONS = ("mean", "sum", "none")

# NumPy's error model: an empty row's 1 / 0 gives inf (unused) instead of raising, and no
# division needs a zero check. Not cached on disk: the generated drivers that call these bodies
# are (see framework.kernels.cpu).
_kernel = numba.njit(error_model="numpy")
# Sums may be reassociated so LLVM vectorizes them. Only sums: the exp they call is compiled
# apart, with its own flags (see framework.kernels.maths).
_sum_kernel = numba.njit(error_model="numpy", fastmath={"reassoc"})
# Row sums add float32 terms in blocks this long (one vector register per 8 terms) and the
# blocks in float64, so a long row loses no more than a short one.
SUM_BLOCK = 64


# ---------------------------------------------------------------------------------------------
# Shared row arithmetic. A "row" is 1-D; "columns" are a 2-D (n, width) block whose width
# neighbouring rows run down the first axis.


@_kernel
def _row_max(row):
    top = row.dtype.type(-np.inf)
    for c in range(row.size):
        if row[c] > top:
            top = row[c]
    return top


@_kernel
def _exp_shifted_into(row, top, dest):
    for c in range(row.size):
        dest[c] = maths.exp(row[c] - top)


@_sum_kernel
def _row_sum(row):
    total = 0.0
    for start in range(0, row.size, SUM_BLOCK):
        block = row.dtype.type(0)
        for c in range(start, min(start + SUM_BLOCK, row.size)):
            block += row[c]
        total += block
    return total


@_sum_kernel
def _row_sum_exp(row, top):
    """sum(exp(row - top)) without storing the exponentials."""
    total = 0.0
    for start in range(0, row.size, SUM_BLOCK):
        block = row.dtype.type(0)
        for c in range(start, min(start + SUM_BLOCK, row.size)):
            block += maths.exp(row[c] - top)
        total += block
    return total


@_kernel
def _columns_max(columns):
    n, width = columns.shape
    top = np.full(width, -np.inf, columns.dtype)
    for c in range(n):
        for j in range(width):
            if columns[c, j] > top[j]:
                top[j] = columns[c, j]
    return top


@_kernel
def _columns_sum_exp(columns, top):
    n, width = columns.shape
    total = np.zeros(width, np.float64)
    for c in range(n):
        for j in range(width):
            total[j] += maths.exp(columns[c, j] - top[j])
    return total


# ---------------------------------------------------------------------------------------------
# Bodies: `*_row(arrays..., r)` handles row r of 2-D (rows, n) arrays; `*_block(arrays..., o,
# start, stop)` handles rows [start, stop) of slab o of 3-D (outer, n, inner) arrays.


@_kernel
def _softmax_row(x, out, r):
    row, dest = x[r], out[r]
    top = _row_max(row)
    _exp_shifted_into(row, top, dest)
    scale = dest.dtype.type(1.0 / _row_sum(dest))
    for c in range(row.size):
        dest[c] *= scale


@_kernel
def _softmax_block(x, out, o, start, stop):
    columns, dest = x[o, :, start:stop], out[o, :, start:stop]
    n, width = columns.shape
    top = _columns_max(columns)
    total = np.zeros(width, np.float64)
    for c in range(n):
        for j in range(width):
            e = maths.exp(columns[c, j] - top[j])
            dest[c, j] = e
            total[j] += e
    scale = 1.0 / total
    for c in range(n):
        for j in range(width):
            dest[c, j] *= scale[j]


@_kernel
def _log_softmax_row(x, out, r):
    row, dest = x[r], out[r]
    top = _row_max(row)
    log_total = math.log(_row_sum_exp(row, top))
    for c in range(row.size):
        dest[c] = (row[c] - top) - log_total


@_kernel
def _log_softmax_block(x, out, o, start, stop):
    columns, dest = x[o, :, start:stop], out[o, :, start:stop]
    n, width = columns.shape
    top = _columns_max(columns)
    log_total = np.log(_columns_sum_exp(columns, top))
    for c in range(n):
        for j in range(width):
            dest[c, j] = (columns[c, j] - top[j]) - log_total[j]


@_kernel
def _label_loss_row(x, labels, out, r):
    row = x[r]
    top = _row_max(row)
    out[r] = math.log(_row_sum_exp(row, top)) - (row[labels[r]] - top)


@_kernel
def _label_loss_block(x, labels, out, o, start, stop):
    columns = x[o, :, start:stop]
    top = _columns_max(columns)
    log_total = np.log(_columns_sum_exp(columns, top))
    for j in range(stop - start):
        label = labels[o, start + j]
        out[o, start + j] = log_total[j] - (columns[label, j] - top[j])


@_kernel
def _label_grad_row(x, labels, g, out, r):
    """(softmax(row) - one_hot(label)) * g[r]: the label loss's gradient, one pass per row."""
    _softmax_row(x, out, r)
    dest = out[r]
    dest[labels[r]] -= 1
    scale = g[r]
    for c in range(dest.size):
        dest[c] *= scale


@_kernel
def _label_grad_block(x, labels, g, out, o, start, stop):
    _softmax_block(x, out, o, start, stop)
    dest = out[o, :, start:stop]
    for j in range(stop - start):
        dest[labels[o, start + j], j] -= 1
    n, width = dest.shape
    for c in range(n):
        for j in range(width):
            dest[c, j] *= g[o, start + j]


@_sum_kernel
def _row_cross_entropy(row, probs, top, log_total):
    """sum_c probs_c * -log_softmax(row)_c; each -log_softmax term is >= 0: no cancellation."""
    loss = 0.0
    for c in range(row.size):
        loss += probs[c] * (log_total - (row[c] - top))
    return loss


@_kernel
def _probability_loss_row(x, target, out, r):
    row = x[r]
    top = _row_max(row)
    out[r] = _row_cross_entropy(row, target[r], top, math.log(_row_sum_exp(row, top)))


@_kernel
def _probability_loss_block(x, target, out, o, start, stop):
    columns, probs = x[o, :, start:stop], target[o, :, start:stop]
    n, width = columns.shape
    top = _columns_max(columns)
    log_total = np.log(_columns_sum_exp(columns, top))
    loss = np.zeros(width, np.float64)
    for c in range(n):
        for j in range(width):
            loss[j] += probs[c, j] * (log_total[j] - (columns[c, j] - top[j]))
    for j in range(width):
        out[o, start + j] = loss[j]


@_kernel
def _embedding_row(weight, indices, out, r):
    source, dest = weight[indices[r]], out[r]
    for c in range(dest.size):
        dest[c] = source[c]


@functools.lru_cache(maxsize=1024)
def _split_at(shape, axis: int) -> tuple[int, int, int]:
    """(elements before axis, length of axis, elements after axis), once per shape."""
    return (math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:]))


# ---------------------------------------------------------------------------------------------
# softmax and log_softmax


class _AlongAxis(Op):
    """Shared rule and kernel launch of softmax-like ops: float input, one axis, same shape."""

    row_body = None
    block_body = None

    def infer(self, x):
        require_dtype(self.name, x, dtypes.FLOATS)
        normalize_axis(self.axis, len(x.shape), self.name)
        return Spec(x.shape, x.dtype)

    def cpu(self, x):
        axis = normalize_axis(self.axis, x.ndim, self.name)
        outer, n, inner = _split_at(x.shape or (1,), axis)  # a 0-d input is one row of one
        out = empty(x.shape, x.dtype)
        cpu.run_along_axis(type(self).row_body, type(self).block_body, outer, inner,
                            (cpu.along_axis_view(contiguous(x), outer, n, inner),
                             cpu.along_axis_view(out, outer, n, inner)), x.size)
        return out

    def nopython(self, x):
        axis = normalize_axis(self.axis, len(x.shape), self.name)
        outer, n, inner = _split_at(tuple(x.shape) or (1,), axis)
        size = math.prod(x.shape)
        if not size:
            return None
        view = shape_literal(cpu.along_axis_shape(outer, n, inner))
        call, objects = cpu.along_axis_lowering(
            type(self).row_body, type(self).block_body, outer, inner,
            [f"{{i0}}.reshape({view})", f"{{o0}}.reshape({view})"], size)
        head = f"{{o0}} = np.empty({shape_literal(x.shape)}, {dtype_literal(x.dtype)})"
        return Lowered(f"{head}\n{call}", objects)

    def cuda(self, x):
        from framework.kernels import cuda_nn

        # cuda_nn names its launchers after the ops: cuda_nn.softmax, cuda_nn.log_softmax.
        return getattr(cuda_nn, self.name)(x, normalize_axis(self.axis, x.ndim, self.name))


@register
class Softmax(_AlongAxis):
    name = "softmax"
    axis: int = -1
    row_body = _softmax_row
    block_body = _softmax_block
    vjp_needs_inputs, vjp_needs_outputs = False, True

    def vjp(self, g, inputs, out):
        # y * (g - <g, y>) along the axis: the softmax Jacobian applied without forming it.
        dot = F.sum(F.mul(g, out), axis=self.axis, keepdims=True)
        return F.mul(out, F.sub(g, dot))


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along `axis`, computed stably (relative to the row maximum).

    >>> softmax(np.array([[0.0, 1000.0], [0.0, 0.0]], np.float32))
    array([[0. , 1. ],
           [0.5, 0.5]], dtype=float32)
    """
    return bind(Softmax(axis), as_operand(x))


@register
class LogSoftmax(_AlongAxis):
    name = "log_softmax"
    axis: int = -1
    row_body = _log_softmax_row
    block_body = _log_softmax_block
    vjp_needs_inputs, vjp_needs_outputs = False, True

    def vjp(self, g, inputs, out):
        total = F.sum(g, axis=self.axis, keepdims=True)
        return F.sub(g, F.mul(F.exp(out), total))


def log_softmax(x, axis=-1):
    """log(softmax(x)) along `axis`, without forming softmax (no log of an underflowed 0).

    >>> log_softmax(np.array([0.0, np.log(3.0)]))
    array([-1.38629436, -0.28768207])
    """
    return bind(LogSoftmax(axis), as_operand(x))


# ---------------------------------------------------------------------------------------------
# cross_entropy: per-sample losses from logits, class axis 1 as in PyTorch.


def _same_dim(a, b) -> bool:
    return a is None or b is None or a == b


def _merged(a, b):
    return b if a is None else a


def _check_logits(op: str, logits) -> None:
    require_dtype(op, logits, dtypes.FLOATS, "logits")
    if len(logits.shape) < 2:
        raise ShapeError(f"{op}: logits must have shape (N, C) or (N, C, d1, ...), "
                         f"got {tuple(logits.shape)}")


def _label_loss_shape(op: str, logits, labels) -> tuple:
    """Check integer labels against logits; the per-sample loss shape (N, d1, ...)."""
    if logits.dtype not in _FLOAT_SET or labels.dtype not in _INT_SET:
        _check_logits(op, logits)
        require_dtype(op, labels, dtypes.INTS, "class labels")
    return _label_loss_shape_of(op, logits.shape, labels.shape)


@functools.lru_cache(maxsize=1024)
def _label_loss_shape_of(op: str, logits_shape: tuple, labels_shape: tuple) -> tuple:
    """The shape half of `_label_loss_shape`, worked out once per pair of shapes."""
    if len(logits_shape) < 2:
        raise ShapeError(f"{op}: logits must have shape (N, C) or (N, C, d1, ...), "
                         f"got {tuple(logits_shape)}")
    expected = (logits_shape[0],) + tuple(logits_shape[2:])
    if len(labels_shape) != len(expected) or not all(map(_same_dim, labels_shape, expected)):
        raise ShapeError(f"{op}: class labels must have shape {expected} for logits of shape "
                         f"{tuple(logits_shape)}, got {tuple(labels_shape)}")
    return tuple(map(_merged, expected, labels_shape))


_FLOAT_SET, _INT_SET = frozenset(dtypes.FLOATS), frozenset(dtypes.INTS)


def _probability_loss_shape(op: str, logits, target) -> tuple:
    """Check probability targets against logits; the per-sample loss shape (N, d1, ...)."""
    _check_logits(op, logits)
    if target.dtype != logits.dtype:
        raise DTypeError(f"{op}: probability targets have dtype {target.dtype} but logits have "
                         f"{logits.dtype}; cast one to the other")
    if len(target.shape) != len(logits.shape) or not all(
            map(_same_dim, target.shape, logits.shape)):
        raise ShapeError(f"{op}: probability targets must have the logits' shape "
                         f"{tuple(logits.shape)}, got {tuple(target.shape)}")
    shape = tuple(map(_merged, logits.shape, target.shape))
    return shape[:1] + shape[2:]


def _checked_labels(logits, labels) -> tuple:
    """(outer, classes, inner, labels as `cpu.along_axis_view` makes them) around the class
    axis 1, once every label is checked to be a valid class: the kernels index rows with them
    unchecked."""
    outer, classes, inner, valid = _class_axis_layout(logits.shape)
    labels = contiguous(labels)
    flat = labels if labels.ndim == 1 else labels.reshape(-1)
    check_index_values("cross_entropy", labels, flat, classes, valid, "class label")
    return outer, classes, inner, cpu.along_axis_view(labels, outer, None, inner)


@functools.lru_cache(maxsize=1024)
def _class_axis_layout(shape: tuple) -> tuple:
    """`_split_at(shape, 1)` and the valid label range a bad label's error names: made once
    per logits shape, not on every call."""
    outer, classes, inner = _split_at(shape, 1)
    return outer, classes, inner, f"{classes} classes (logits of shape {shape})"


@register
class LabelCrossEntropy(Op):
    """-log_softmax(logits, axis=1) at each sample's class label: the unreduced loss."""

    name = "cross_entropy_labels"

    def infer(self, logits, labels):
        return Spec(_label_loss_shape("cross_entropy", logits, labels), logits.dtype)

    def nopython(self, logits, labels):
        return _lower_label_loss(logits, labels)

    def cpu(self, logits, labels):
        outer, classes, inner, flat_labels = _checked_labels(logits, labels)
        out = empty(labels.shape, logits.dtype)
        cpu.run_along_axis(_label_loss_row, _label_loss_block, outer, inner,
                            (cpu.along_axis_view(contiguous(logits), outer, classes, inner),
                             flat_labels, cpu.along_axis_view(out, outer, None, inner)),
                            logits.size)
        return out

    def cuda(self, logits, labels):
        from framework.kernels import cuda_nn

        _check_device_labels(logits, labels)
        return cuda_nn.label_cross_entropy(logits, labels)

    def vjp(self, g, inputs, out):
        logits, labels = inputs
        return bind(_LABEL_CROSS_ENTROPY_GRAD, logits, labels, g), None


def _check_device_labels(logits, labels) -> None:
    """`_checked_labels`' check for labels on a CUDA device: scanned there, and described by
    the CPU's error, from a host copy, when one is out of range."""
    from framework.kernels import cuda_nn

    if cuda_nn.first_outside(labels, logits.shape[1]) >= 0:
        _checked_labels(Spec(tuple(logits.shape), logits.dtype), labels.copy_to_host())
        raise AssertionError("a class label the device found out of range passed the host check")


def _label_one_hot(logits, labels):
    """One-hot of the labels in the logits' layout and dtype (class axis 1)."""
    classes = logits.shape[1]
    if classes is None:
        raise ShapeError("cross_entropy gradient: the number of classes (logits axis 1) "
                         "must be known")
    # One-hot as a cast of bools: the reverse sweep of a second-order gradient then stops
    # at the cast (bool input), instead of asking one_hot (no gradient rule) for one.
    one_hot = F.cast(F.one_hot(labels, classes, dtypes.bool_), logits.dtype)
    if len(logits.shape) > 2:  # (N, d1, ..., C) -> (N, C, d1, ...), the logits' layout
        one_hot = F.moveaxis(one_hot, -1, 1)
    return one_hot


@register
class LabelCrossEntropyGrad(Op):
    """(softmax(logits, axis=1) - one_hot(labels)) * g: the label loss's gradient as one
    pass over each row, instead of six ops. Differentiable again, for second order."""

    name = "cross_entropy_labels_grad"

    def infer(self, logits, labels, g):
        shape = _label_loss_shape("cross_entropy", logits, labels)
        if g.dtype != logits.dtype:
            require_same_dtype(self.name, logits, g)
        if g.shape != shape and (len(g.shape) != len(shape)
                                 or not all(map(_same_dim, g.shape, shape))):
            raise ShapeError(f"{self.name}: the loss gradient must have the loss's shape "
                             f"{tuple(shape)}, got {tuple(g.shape)}")
        return Spec(logits.shape, logits.dtype)

    def nopython(self, logits, labels, g):
        return _lower_label_grad(logits, labels, g)

    def cpu(self, logits, labels, g):
        outer, classes, inner, flat_labels = _checked_labels(logits, labels)
        out = empty(logits.shape, logits.dtype)
        cpu.run_along_axis(_label_grad_row, _label_grad_block, outer, inner,
                            (cpu.along_axis_view(contiguous(logits), outer, classes, inner),
                             flat_labels, cpu.along_axis_view(contiguous(g), outer, None, inner),
                             cpu.along_axis_view(out, outer, classes, inner)), logits.size)
        return out

    def cuda(self, logits, labels, g):
        from framework.kernels import cuda_nn

        _check_device_labels(logits, labels)
        return cuda_nn.label_cross_entropy_grad(logits, labels, g)

    def vjp(self, cotangent, inputs, out):
        logits, labels, g = inputs
        one_hot = _label_one_hot(logits, labels)
        probabilities = F.softmax(logits, axis=1)
        weighted = F.mul(cotangent, F.unsqueeze(g, 1))
        # The softmax Jacobian applied to `weighted`: y * (w - <w, y>) along the classes.
        dot = F.sum(F.mul(weighted, probabilities), axis=1, keepdims=True)
        grad_logits = F.mul(probabilities, F.sub(weighted, dot))
        residual = F.sub(probabilities, one_hot)
        return grad_logits, None, F.sum(F.mul(cotangent, residual), axis=1)


@register
class LabelCrossEntropyMean(Op):
    """The label loss averaged over every sample, as one op: `mean(cross_entropy_labels)`,
    computed by those two ops' kernels (so the same bits), with one gradient op instead of
    three (the mean's scale and spread, then the loss's gradient)."""

    name = "cross_entropy_labels_mean"

    def infer(self, logits, labels):
        _label_loss_shape("cross_entropy", logits, labels)
        return Spec((), logits.dtype)

    def nopython(self, logits, labels):
        return _lower_label_loss_mean(logits, labels)

    def cpu(self, logits, labels):
        return _MEAN_OF_ALL.cpu(_LABEL_CROSS_ENTROPY.cpu(logits, labels))

    def cuda(self, logits, labels):
        from framework.kernels import cuda_nn

        _check_device_labels(logits, labels)
        return cuda_nn.label_cross_entropy_mean(logits, labels)

    def vjp(self, g, inputs, out):
        logits, labels = inputs
        return bind(_LABEL_CROSS_ENTROPY_MEAN_GRAD, logits, labels, g), None


@register
class LabelCrossEntropyMeanGrad(Op):
    """The gradient of `cross_entropy_labels_mean` for its scalar cotangent g: the label loss's
    gradient with every sample's cotangent g / N, rounded as the mean's own gradient rounds it
    (g times 1/N in the loss's dtype). Differentiable again, for second order."""

    name = "cross_entropy_labels_mean_grad"

    def infer(self, logits, labels, g):
        _label_loss_shape("cross_entropy", logits, labels)
        if g.dtype != logits.dtype:
            require_same_dtype(self.name, logits, g)
        if len(g.shape) != 0:
            raise ShapeError(f"{self.name}: the loss gradient must be a scalar, got shape "
                             f"{tuple(g.shape)}")
        return Spec(logits.shape, logits.dtype)

    def nopython(self, logits, labels, g):
        return _lower_label_loss_mean_grad(logits, labels, g)

    def cpu(self, logits, labels, g):
        spread = empty(labels.shape, g.dtype)
        spread.fill(g * _inverse_count(labels.size, g.dtype))  # one IEEE multiply, as F.mul
        return _LABEL_CROSS_ENTROPY_GRAD.cpu(logits, labels, spread)

    def cuda(self, logits, labels, g):
        from framework.kernels import cuda_nn

        _check_device_labels(logits, labels)
        return cuda_nn.label_cross_entropy_mean_grad(logits, labels, g)

    def vjp(self, cotangent, inputs, out):
        logits, labels, g = inputs
        scale = _inverse_count(math.prod(labels.shape), g.dtype)
        spread = F.broadcast_to(F.mul(g, scale), labels.shape)
        grad_logits, _, grad_spread = _LABEL_CROSS_ENTROPY_GRAD.vjp(
            cotangent, (logits, labels, spread), out)
        return grad_logits, None, F.mul(F.sum(grad_spread), scale)


def _inverse_count(count: int, dtype: np.dtype):
    """1 / count in `dtype` (NaN for no samples), as the mean's gradient rule rounds it."""
    return dtype.type(1.0 / count if count else math.nan)


@register
class ProbabilityCrossEntropy(Op):
    """sum over classes of -target * log_softmax(logits, axis=1): the unreduced loss."""

    name = "cross_entropy_probs"

    def infer(self, logits, target):
        return Spec(_probability_loss_shape("cross_entropy", logits, target), logits.dtype)

    def nopython(self, logits, target):
        outer, classes, inner = _split_at(tuple(logits.shape), 1)
        size = math.prod(logits.shape)
        if not size:
            return None
        rows = shape_literal(cpu.along_axis_shape(outer, classes, inner))
        losses = shape_literal(cpu.along_axis_shape(outer, None, inner))
        call, objects = cpu.along_axis_lowering(
            _probability_loss_row, _probability_loss_block, outer, inner,
            [f"{{i0}}.reshape({rows})", f"{{i1}}.reshape({rows})",
             f"{{o0}}.reshape({losses})"], size)
        out_shape = tuple(logits.shape[:1]) + tuple(logits.shape[2:])
        head = f"{{o0}} = np.empty({shape_literal(out_shape)}, {dtype_literal(logits.dtype)})"
        return Lowered(f"{head}\n{call}", objects)

    def cpu(self, logits, target):
        outer, classes, inner = _split_at(logits.shape, 1)
        out = empty(logits.shape[:1] + logits.shape[2:], logits.dtype)
        cpu.run_along_axis(_probability_loss_row, _probability_loss_block, outer, inner,
                            (cpu.along_axis_view(contiguous(logits), outer, classes, inner),
                             cpu.along_axis_view(contiguous(target), outer, classes, inner),
                             cpu.along_axis_view(out, outer, None, inner)), logits.size)
        return out

    def cuda(self, logits, target):
        from framework.kernels import cuda_nn

        return cuda_nn.probability_cross_entropy(logits, target)

    def vjp(self, g, inputs, out):
        logits, target = inputs
        g = F.unsqueeze(g, 1)  # one loss per (N, d1, ...) position: broadcast over classes
        # d/dlogits = softmax * sum(target) - target (sum(target) is 1 for a distribution)
        mass = F.sum(target, axis=1, keepdims=True)
        grad_logits = F.sub(F.mul(F.softmax(logits, axis=1), mass), target)
        return F.mul(grad_logits, g), F.mul(F.neg(F.log_softmax(logits, axis=1)), g)


def _check_reduction(op: str, reduction) -> None:
    if reduction not in REDUCTIONS:
        raise DualgraphError(f"{op}: reduction must be one of {', '.join(REDUCTIONS)}; "
                             f"got {reduction!r}")


def _reduce(loss, reduction: str):
    if reduction == "mean":
        return F.mean(loss)
    if reduction == "sum":
        return F.sum(loss)
    return loss


def cross_entropy(logits, target, reduction="mean"):
    """Cross-entropy of softmax(logits) against class labels or class probabilities.

    logits: (N, C) or (N, C, d1, ...). target: integer class labels of shape (N,) or
    (N, d1, ...), or probabilities shaped like the logits. Computed in one stable pass per row
    (log-sum-exp minus the target's logit), then reduced: "mean", "sum" or "none".

    >>> logits = np.array([[2.0, 0.0], [0.0, 2.0]], np.float32)
    >>> cross_entropy(logits, np.array([0, 0]), reduction="none")
    array([0.12692805, 2.126928  ], dtype=float32)
    >>> cross_entropy(logits, np.array([0, 1]))
    array(0.12692805, dtype=float32)
    """
    _check_reduction("cross_entropy", reduction)
    logits, target = as_operand(logits), as_operand(target)
    if target.dtype.kind == "f":
        return _reduce(bind(_PROBABILITY_CROSS_ENTROPY, logits, target), reduction)
    if reduction == "mean":  # the training loss: one op forward, one backward
        return bind(_LABEL_CROSS_ENTROPY_MEAN, logits, target)
    return _reduce(bind(_LABEL_CROSS_ENTROPY, logits, target), reduction)


# The ops without attributes, built once (a frozen dataclass costs ~1 us to construct).
_LABEL_CROSS_ENTROPY, _LABEL_CROSS_ENTROPY_GRAD = LabelCrossEntropy(), LabelCrossEntropyGrad()
_PROBABILITY_CROSS_ENTROPY = ProbabilityCrossEntropy()
_LABEL_CROSS_ENTROPY_MEAN = LabelCrossEntropyMean()
_MEAN_OF_ALL = Mean(None, False)
_LABEL_CROSS_ENTROPY_MEAN_GRAD = LabelCrossEntropyMeanGrad()


# ---------------------------------------------------------------------------------------------
# embedding


@register
class Embedding(Op):
    """Rows of a (V, D) weight picked by an integer index array of any shape."""

    name = "embedding"

    def infer(self, weight, indices):
        if len(weight.shape) != 2:
            raise ShapeError(f"{self.name}: weight must be 2-D (num_embeddings, dim), got "
                             f"shape {tuple(weight.shape)}")
        require_dtype(self.name, indices, dtypes.INTS, "indices")
        return Spec(tuple(indices.shape) + (weight.shape[1],), weight.dtype)

    def cpu(self, weight, indices):
        flat = contiguous(indices).reshape(-1)
        rows, dim = weight.shape
        check_index_values(self.name, indices, flat, rows, f"a weight of {rows} rows")
        out = empty(indices.shape + (dim,), weight.dtype)
        if out.size:
            cpu.run_rows(_embedding_row, flat.size, (weight, flat, out.reshape(flat.size, dim)),
                         out.size)
        return out

    def cuda(self, weight, indices):
        from framework.kernels import cuda_nn
        from framework.ops.movement import check_device_index_values

        rows = weight.shape[0]
        check_device_index_values(self.name, indices, rows, f"a weight of {rows} rows")
        return cuda_nn.embedding(weight, indices)

    def vjp(self, g, inputs, out):
        weight, indices = inputs
        return F.scatter_add(g, indices, 0, weight.shape[0]), None


def embedding(weight, indices):
    """Look up rows of `weight` (V, D): the result has shape indices.shape + (D,).

    >>> embedding(np.arange(6.0).reshape(3, 2), np.array([[2, 0]]))
    array([[[4., 5.],
            [0., 1.]]])
    """
    return bind(Embedding(), as_operand(weight), as_operand(indices))


# ---------------------------------------------------------------------------------------------
# Composites


def mse(x, y, reduction="mean"):
    """Mean squared error (x - y)**2, reduced by "mean", "sum" or "none"; broadcasts.

    >>> mse(np.array([1.0, 2.0]), np.array([1.0, 4.0]))
    array(2.)
    """
    _check_reduction("mse", reduction)
    x, y = promote(x, y)
    if not dtypes.is_float(x.dtype):
        raise DTypeError(f"mse: inputs must be floating point, got {x.dtype}")
    return _reduce(F.square(F.sub(x, y)), reduction)


@register
class Linear(Op):
    """x @ weight.T + bias in one op: one GEMM (the weight read transposed in place by BLAS)
    and the bias added to its output, as PyTorch's addmm. Float inputs; weight (out, in) and
    bias (out,) in PyTorch's layout; x (..., in)."""

    name = "linear"
    has_bias: bool = True
    vjp_takes_needs = True

    def infer(self, x, weight, *bias):
        if len(bias) != self.has_bias:
            raise TypeError(f"{self.name} takes {2 + self.has_bias} inputs, got {2 + len(bias)}")
        dtype = x.dtype
        if (weight.dtype != dtype or (bias and bias[0].dtype != dtype)
                or dtype not in _FLOAT_SET):  # the checks below name the problem
            require_same_dtype(self.name, x, weight, *bias)
            require_dtype(self.name, x, dtypes.FLOATS)
        shape = _linear_shape(x.shape, weight.shape, bias[0].shape if bias else None)
        return Spec.raw(shape, dtype)

    def nopython(self, x, weight, *bias):
        return _lower_linear(x, weight, bias)

    def cpu(self, x, weight, *bias):
        out_features, in_features = weight.shape
        out = empty(x.shape[:-1] + (out_features,), x.dtype)
        if out.size == 0:
            return out
        rows = out if out.ndim == 2 else out.reshape(-1, out_features)
        if in_features == 0:
            rows.fill(0)
            if bias:
                np.add(rows, bias[0], out=rows)
            return out
        # x @ weight.T, the C-ordered weight read by BLAS with its trans flag. Operands in other
        # layouts are copied first: BLAS may round another form of the call differently, and
        # the bits must not depend on how the caller happened to store its operands.
        x_rows = contiguous(x) if x.ndim == 2 else contiguous(x).reshape(-1, in_features)
        weight_t = contiguous(weight).T
        if bias:
            _gemm_add_row(x_rows, weight_t, bias[0], rows)
        else:
            gemm(x_rows, weight_t, rows)
        return out

    def cuda(self, x, weight, *bias):
        from framework.kernels import cuda_nn

        return cuda_nn.linear(x, weight, *bias)

    def vjp(self, g, inputs, out, needs=(True, True, True)):
        x, weight = inputs[0], inputs[1]
        fused = self._fused_vjp(g, x, weight, needs)
        if fused is not None:
            return fused
        grad_x = F.matmul(g, weight) if needs[0] else None
        grad_weight = grad_bias = None
        if needs[1]:
            # Computed as (x.T @ g).T, the GEMM the graph front-end's dense layer runs, so
            # both front-ends get the same bits.
            if len(x.shape) == 1:
                grad_weight = F.mul(F.unsqueeze(g, 1), F.unsqueeze(x, 0))
            else:
                x2, g2 = x, g
                if len(x.shape) > 2:
                    x2 = F.reshape(x, (-1, _known(weight.shape[1], x.shape[-1])))
                    g2 = F.reshape(g, (-1, _known(weight.shape[0], g.shape[-1])))
                grad_weight = bind(_LINEAR_WEIGHT_GRAD, x2, g2)
        if self.has_bias and needs[2]:
            leading = tuple(range(len(g.shape) - 1))
            grad_bias = F.sum(g, axis=leading) if leading else g
        return (grad_x, grad_weight, grad_bias) if self.has_bias else (grad_x, grad_weight)

    def _fused_vjp(self, g, x, weight, needs):
        """The gradients as one `linear_grad` op (2-D input, weight wanted, and the input's or
        the bias's gradient too), else None."""
        want_x, want_bias = needs[0], self.has_bias and needs[2]
        if len(x.shape) != 2 or not needs[1] or not (want_x or want_bias):
            return None
        results = list(bind(cached_op(LinearGrad, want_x, want_bias), x, weight, g))
        grad_x = results.pop(0) if want_x else None
        grad_weight = results.pop(0)
        grad_bias = results.pop(0) if want_bias else None
        return (grad_x, grad_weight, grad_bias) if self.has_bias else (grad_x, grad_weight)


@numba.njit(cache=True)
def _gemm_add_row(a, b, row, out):
    """out = a @ b + row: `gemm`'s BLAS call, then the row (a bias) added to each output row,
    in one dispatch instead of a GEMM and a NumPy add (the same sums, so the same bits)."""
    np.dot(a, b, out)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] += row[j]


@functools.lru_cache(maxsize=1024)
def _linear_shape(x_shape: tuple, weight_shape: tuple, bias_shape) -> tuple:
    """linear's output shape, once its inputs' shapes are checked (bias_shape None: no bias);
    worked out once per combination of shapes."""
    _check_linear_shapes(x_shape, weight_shape)
    out_features = weight_shape[0]
    if bias_shape is not None and (len(bias_shape) != 1
                                   or not _same_dim(bias_shape[0], out_features)):
        raise ShapeError(f"linear: bias must have shape ({out_features},) "
                         f"(out_features), got {tuple(bias_shape)}")
    return tuple(x_shape[:-1]) + (out_features,)


@register
class LinearWeightGrad(Op):
    """linear's weight gradient g.T @ x for x (N, in) and g (N, out), as one op.

    Computed as (x.T @ g).T: the GEMM the graph front-end's dense layer runs for its (in, out)
    kernel, returned as a transposed view, so both front-ends get the same bits."""

    name = "linear_weight_grad"
    vjp_takes_needs = True

    def infer(self, x, g):
        dtype = x.dtype
        if g.dtype != dtype or dtype not in _FLOAT_SET:  # the checks below name the problem
            require_same_dtype(self.name, x, g)
            require_dtype(self.name, x, dtypes.FLOATS)
        x_shape, g_shape = x.shape, g.shape
        if len(x_shape) != 2 or len(g_shape) != 2 or not _same_dim(x_shape[0], g_shape[0]):
            raise ShapeError(f"{self.name}: needs x (N, in) and g (N, out) with one N, got "
                             f"shapes {tuple(x_shape)} and {tuple(g_shape)}")
        return Spec((g_shape[1], x_shape[1]), dtype)

    def nopython(self, x, g):
        return _lower_linear_weight_grad(x, g)

    def cpu(self, x, g):
        (rows, in_features), out_features = x.shape, g.shape[1]
        product = empty((in_features, out_features), x.dtype)  # x.T @ g
        if product.size and rows == 0:
            product.fill(0)
        elif product.size:
            gemm(contiguous(x).T, contiguous(g), product)  # one call form for every layout
        return product.T

    def cuda(self, x, g):
        from framework.kernels import cuda_nn

        return cuda_nn.linear_weight_grad(x, g)

    def vjp(self, cotangent, inputs, out, needs=(True, True)):
        x, g = inputs  # out = g.T @ x, so d/dx = g @ C and d/dg = x @ C.T
        return (F.matmul(g, cotangent) if needs[0] else None,
                F.matmul(x, F.transpose(cotangent)) if needs[1] else None)


@register
class LinearGrad(Op):
    """linear's gradients for a 2-D input x (N, in), weight (out, in) and output gradient
    g (N, out), as one op: g @ weight for the input (when `grad_input`), (x.T @ g).T for the
    weight, and g summed over N for the bias (when `grad_bias`). Each runs the kernel the
    separate ops would run (matmul's GEMM, linear_weight_grad, sum), so the bits are the
    same; one op instead of three is what a training step saves. Differentiable again."""

    name = "linear_grad"
    grad_input: bool = True
    grad_bias: bool = True
    vjp_takes_needs = True

    def infer(self, x, weight, g):
        dtype = x.dtype
        if weight.dtype != dtype or g.dtype != dtype or dtype not in _FLOAT_SET:
            require_same_dtype(self.name, x, weight, g)
            require_dtype(self.name, x, dtypes.FLOATS)
        x_shape, w_shape, g_shape = x.shape, weight.shape, g.shape
        if (len(x_shape) != 2 or len(w_shape) != 2 or len(g_shape) != 2
                or not (_same_dim(x_shape[0], g_shape[0]) and _same_dim(x_shape[1], w_shape[1])
                        and _same_dim(g_shape[1], w_shape[0]))):
            raise ShapeError(f"{self.name}: needs x (N, in), weight (out, in) and g (N, out), "
                             f"got shapes {tuple(x_shape)}, {tuple(w_shape)} and "
                             f"{tuple(g_shape)}")
        specs = [Spec((_merged(g_shape[1], w_shape[0]), _merged(x_shape[1], w_shape[1])),
                      dtype)]
        if self.grad_input:
            specs.insert(0, Spec(x_shape, dtype))
        if self.grad_bias:
            specs.append(Spec((_merged(g_shape[1], w_shape[0]),), dtype))
        return tuple(specs)

    def nopython(self, x, weight, g):
        return _lower_linear_grad(self, x, weight, g)

    def cpu(self, x, weight, g):
        results = [_LINEAR_WEIGHT_GRAD.cpu(x, g)]
        if self.grad_input:
            # g @ weight as matmul's kernel runs it for C-ordered operands: one call form.
            results.insert(0, matmul_kernel(contiguous(g), contiguous(weight)))
        if self.grad_bias:
            results.append(_SUM_OVER_ROWS.cpu(g))
        return tuple(results)

    def cuda(self, x, weight, g):
        from framework.kernels import cuda_nn

        return cuda_nn.linear_grad(x, weight, g, self.grad_input, self.grad_bias)

    def vjp(self, cotangents, inputs, out, needs=(True, True, True)):
        # Outputs: gx = g @ W, gW = g.T @ x, gb = sum(g, 0); with their cotangents cx, cW, cb:
        # d/dx = g @ cW, d/dW = g.T @ cx, d/dg = cx @ W.T + x @ cW.T + cb (spread over N).
        x, weight, g = inputs
        cotangents = list(cotangents)
        cx = cotangents.pop(0) if self.grad_input else None
        cw = cotangents.pop(0)
        cb = cotangents.pop(0) if self.grad_bias else None
        grad_x = F.matmul(g, cw) if needs[0] else None
        grad_weight = F.matmul(F.transpose(g), cx) if needs[1] and cx is not None else None
        grad_g = None
        if needs[2]:
            grad_g = F.matmul(x, F.transpose(cw))
            if cx is not None:
                grad_g = F.add(grad_g, F.matmul(cx, F.transpose(weight)))
            if cb is not None:
                grad_g = F.add(grad_g, cb)
        return grad_x, grad_weight, grad_g


def _known(*dims):
    """The first known one of several sizes of one dimension (-1 if none is)."""
    return next((d for d in dims if d is not None), -1)


def _check_linear_shapes(x_shape, weight_shape) -> None:
    # Named in PyTorch's terms, before any transpose or GEMM runs.
    if len(weight_shape) != 2:
        raise ShapeError(f"linear: weight must be 2-D (out_features, in_features), got shape "
                         f"{tuple(weight_shape)}")
    if not x_shape or not _same_dim(x_shape[-1], weight_shape[1]):
        raise ShapeError(f"linear: input of shape {tuple(x_shape)} does not match weight of "
                         f"shape {tuple(weight_shape)}: in_features is {weight_shape[1]}")


def linear(x, weight, bias=None):
    """x @ weight.T + bias, with PyTorch's layout: weight is (out_features, in_features).

    Float operands with a bias of shape (out_features,) (or none) run as one op; other
    dtypes, and a bias that only broadcasts, run as matmul and add.

    >>> linear(np.ones((1, 2)), np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.5, 0.5]))
    array([[3.5, 7.5]])
    """
    operands = promote(x, weight) if bias is None else promote(x, weight, bias)
    x, weight = operands[0], operands[1]
    _linear_shape(x.shape, weight.shape, None)  # _check_linear_shapes, cached
    fused = dtypes.is_float(x.dtype) and (
        bias is None or (len(operands[2].shape) == 1
                         and _same_dim(operands[2].shape[0], weight.shape[0])))
    if fused:
        return bind(_LINEAR_WITH_BIAS if bias is not None else _LINEAR, *operands)
    if bias is None:
        return F.matmul(x, F.transpose(weight))
    bias = operands[2]
    broadcast_shapes(tuple(x.shape[:-1]) + (weight.shape[0],), bias.shape, op="linear")
    return F.add(F.matmul(x, F.transpose(weight)), bias)


_LINEAR, _LINEAR_WITH_BIAS = Linear(False), Linear(True)  # built once, not per call
_LINEAR_WEIGHT_GRAD = LinearWeightGrad()
_SUM_OVER_ROWS = Sum((0,), False)


# ---------------------------------------------------------------------------------------------
# Lowering (`Op.nopython`): the calls the CPU kernels above make, as statements of the graph
# compiler's whole-step numba function. Same kernels, same layouts, so the same bits. Cases the
# statements do not cover (empty operands, a dimension of zero) return None: the compiled step
# then calls the CPU kernel for that node.


def _lower_linear(x, weight, bias) -> Lowered | None:
    out_features, in_features = weight.shape
    rows = math.prod(x.shape[:-1])
    if not rows or not in_features or not out_features:
        return None
    out_shape = tuple(x.shape[:-1]) + (out_features,)
    x_rows = "{i0}" if len(x.shape) == 2 else f"{{i0}}.reshape({rows}, {in_features})"
    out_rows = "{o0}" if len(out_shape) == 2 else f"{{o0}}.reshape({rows}, {out_features})"
    head = f"{{o0}} = np.empty({shape_literal(out_shape)}, {dtype_literal(x.dtype)})"
    if bias:
        return Lowered(f"{head}\n{{gemm_add_row}}({x_rows}, {{i1}}.T, {{i2}}, {out_rows})",
                       {"gemm_add_row": _gemm_add_row})
    return Lowered(f"{head}\n{{gemm}}({x_rows}, {{i1}}.T, {out_rows})", {"gemm": gemm})


def _lower_linear_weight_grad(x, g) -> Lowered | None:
    (rows, in_features), out_features = x.shape, g.shape[1]
    if not rows or not in_features or not out_features:
        return None
    return Lowered(f"{{o0}}_t = np.empty(({in_features}, {out_features}), "
                   f"{dtype_literal(x.dtype)})\n"
                   "{gemm}({i0}.T, {i1}, {o0}_t)\n{o0} = {o0}_t.T", {"gemm": gemm},
                   contiguous=(False,))


def _lower_linear_grad(op, x, weight, g) -> Lowered | None:
    weight_grad = _lower_linear_weight_grad(x, g)
    if weight_grad is None:
        return None
    outputs = [f"{{o{k}}}" for k in range(1 + op.grad_input + op.grad_bias)]
    parts = [(rebound(weight_grad, ("{i0}", "{i2}"), (outputs[op.grad_input],)),
              weight_grad.objects)]
    contiguous = [False]
    if op.grad_input:  # matmul_kernel's one GEMM on C-ordered operands
        parts.insert(0, (f"{{o0}} = np.empty({shape_literal(x.shape)}, "
                         f"{dtype_literal(x.dtype)})\n{{gemm}}({{i2}}, {{i1}}, {{o0}})",
                         {"gemm": gemm}))
        contiguous.insert(0, True)
    if op.grad_bias:
        bias_grad = _SUM_OVER_ROWS.nopython(g)
        if bias_grad is None:
            return None
        parts.append((rebound(bias_grad, ("{i2}",), (outputs[-1],)), bias_grad.objects))
        contiguous.append(True)
    code, objects = joined(*parts)
    return Lowered(code, objects, contiguous=tuple(contiguous))


def _label_views(logits, labels, logits_name: str = "{i0}", labels_name: str = "{i1}"):
    """(outer, classes, inner, the statement refusing a label out of range, its objects, the
    logits' and labels' `along_axis_view` expressions): the label check runs first, as
    `_checked_labels` runs it (a failure reruns the step on the interpreter, which names it)."""
    outer, classes, inner = _split_at(tuple(logits.shape), 1)
    count = math.prod(labels.shape)
    check = (f"if {{first_outside}}({labels_name}.reshape({count}), 0, {classes}) >= 0:\n"
             "    raise IndexError('cross_entropy: a class label is out of range')")
    logits_view = (f"{logits_name}.reshape("
                   f"{shape_literal(cpu.along_axis_shape(outer, classes, inner))})")
    labels_view = (f"{labels_name}.reshape("
                   f"{shape_literal(cpu.along_axis_shape(outer, None, inner))})")
    return outer, classes, inner, check, {"first_outside": _first_outside}, logits_view, \
        labels_view


def _lower_label_loss(logits, labels) -> Lowered | None:
    if not math.prod(logits.shape):
        return None
    outer, classes, inner, check, objects, logits_view, labels_view = _label_views(logits,
                                                                                   labels)
    out_view = f"{{o0}}.reshape({shape_literal(cpu.along_axis_shape(outer, None, inner))})"
    call, drivers = cpu.along_axis_lowering(_label_loss_row, _label_loss_block, outer, inner,
                                            [logits_view, labels_view, out_view],
                                            math.prod(logits.shape))
    head = f"{{o0}} = np.empty({shape_literal(labels.shape)}, {dtype_literal(logits.dtype)})"
    code, objects = joined((check, objects), (head, {}), (call, drivers))
    return Lowered(code, objects)


def _lower_label_grad(logits, labels, g, g_name: str = "{i2}") -> Lowered | None:
    if not math.prod(logits.shape):
        return None
    outer, classes, inner, check, objects, logits_view, labels_view = _label_views(logits,
                                                                                   labels)
    g_view = f"{g_name}.reshape({shape_literal(cpu.along_axis_shape(outer, None, inner))})"
    out_view = (f"{{o0}}.reshape("
                f"{shape_literal(cpu.along_axis_shape(outer, classes, inner))})")
    call, drivers = cpu.along_axis_lowering(_label_grad_row, _label_grad_block, outer, inner,
                                            [logits_view, labels_view, g_view, out_view],
                                            math.prod(logits.shape))
    head = f"{{o0}} = np.empty({shape_literal(logits.shape)}, {dtype_literal(logits.dtype)})"
    code, objects = joined((check, objects), (head, {}), (call, drivers))
    return Lowered(code, objects)


def _lower_label_loss_mean(logits, labels) -> Lowered | None:
    loss = _lower_label_loss(logits, labels)
    if loss is None:
        return None
    mean = _MEAN_OF_ALL.nopython(Spec(tuple(labels.shape), logits.dtype))
    if mean is None:
        return None
    code, objects = joined((rebound(loss, ("{i0}", "{i1}"), ("{o0}_loss",)), loss.objects),
                           (rebound(mean, ("{o0}_loss",), ("{o0}",)), mean.objects))
    return Lowered(code, objects)


def _lower_label_loss_mean_grad(logits, labels, g) -> Lowered | None:
    grad = _lower_label_grad(logits, labels, g, g_name="{o0}_spread")
    if grad is None:
        return None
    # spread.fill(g * (1 / N)): one multiply in the loss's dtype, as the CPU kernel rounds it.
    spread = (f"{{o0}}_spread = np.full({shape_literal(labels.shape)}, "
              "{i2}.reshape(1)[0] * {inverse})")
    code, objects = joined(
        (spread, {"inverse": _inverse_count(math.prod(labels.shape), np.dtype(g.dtype))}),
        (grad.code, grad.objects))
    return Lowered(code, objects)

from framework.ops import functions as F  # noqa: E402  (rules call back into the functions)
