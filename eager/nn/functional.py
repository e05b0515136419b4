"""`eager.nn.functional`: PyTorch's functional layer API on eager Tensors.

Each function checks its arguments with PyTorch's conventions (class axis 1, NCHW images,
`reduction=`, `training=`) and then calls the neutral op functions of `framework.ops` (`F.conv2d`,
`F.cross_entropy`, ...), which the eager front-end runs now and records for backward. Composites
(layer_norm, batch_norm, weighted or smoothed cross-entropy) are written with those functions
too, so their gradients come from the ops' own rules.

>>> import eager
>>> import eager.nn.functional as F
>>> logits = eager.tensor([[2.0, 0.0], [0.0, 2.0]], requires_grad=True)
>>> loss = F.cross_entropy(logits, eager.tensor([0, 1]))
>>> loss.backward()
>>> round(loss.item(), 4), logits.grad.shape
(0.1269, (2, 2))
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from eager.autograd import no_grad
from eager.tensor import Tensor, _run
from framework import dtypes
from framework.errors import ArgumentError, CastError, DTypeError, ShapeError
from framework.ops import F
from framework.ops import random as framework_random
from framework.ops.movement import IndexingError
from framework.ops.registry import primitive

_LINEAR, _LINEAR_WITH_BIAS = primitive("linear", False), primitive("linear", True)

__all__ = [
    "avg_pool2d", "batch_norm", "conv2d", "cross_entropy", "dropout", "embedding", "flatten",
    "gelu", "layer_norm", "linear", "log_softmax", "max_pool2d", "mse_loss", "nll_loss",
    "one_hot", "relu", "sigmoid", "softmax", "tanh",
]

REDUCTIONS = ("none", "mean", "sum")


def _as_tensor(value) -> Tensor:
    return value if isinstance(value, Tensor) else Tensor(np.asarray(value))


def _check_reduction(reduction) -> None:
    if reduction not in REDUCTIONS:
        raise ArgumentError(f"{reduction!r} is not a valid value for reduction; use one of "
                            f"{', '.join(repr(r) for r in REDUCTIONS)}")


def _pair(value, what: str, function: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair):
        raise ArgumentError(f"{function}: {what} must be an int or a pair of ints, got {value!r}")
    return pair


def _with_batch_axis(function: str, input: Tensor, run):
    """Run a 4-D (N, C, H, W) op on an unbatched (C, H, W) input too, as PyTorch does."""
    if input.ndim == 3:
        return run(input.unsqueeze(0)).squeeze(0)
    if input.ndim != 4:
        raise ShapeError(f"{function}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got "
                         f"shape {input.shape}")
    return run(input)


# -- linear and convolution -----------------------------------------------------------------------


def _check_float_mix(function: str, input, weight, bias) -> None:
    """PyTorch multiplies an integer input by float weights only after an explicit conversion:
    refuse the mix rather than promote it silently."""
    weight_dtype = getattr(weight, "dtype", None)
    for name, value in (("input", input), ("bias", bias)):
        dtype = getattr(value, "dtype", None)
        if dtype is not None and weight_dtype is not None \
                and (dtype.kind == "f") != (weight_dtype.kind == "f"):
            raise CastError(f"{function}: {name} has dtype {dtype} but weight has dtype "
                            f"{weight_dtype}, and they are not converted implicitly; convert "
                            f"first, e.g. {name}.to({weight_dtype})")


def linear(input, weight, bias=None):
    """`input @ weight.T + bias`, with weight shaped (out_features, in_features).

    >>> import eager
    >>> linear(eager.ones(1, 2), eager.tensor([[1.0, 2.0], [3.0, 4.0]])).tolist()
    [[3.0, 7.0]]
    """
    # F.linear checks the weight and input shapes (naming them as PyTorch does); it also takes
    # a bias that merely broadcasts, which PyTorch's Linear does not.
    if bias is not None and len(weight.shape) == 2 and bias.shape != (weight.shape[0],):
        raise ShapeError(f"linear: bias must have shape ({weight.shape[0]},), got {bias.shape}")
    if isinstance(input, Tensor) and isinstance(weight, Tensor):
        # Every layer of every step: float Tensors of one dtype need none of F.linear's
        # conversions, so they go straight to the op, whose shape rule checks them.
        x, w = input._array, weight._array
        dtype = x.dtype
        if dtype.kind == "f" and w.dtype == dtype:
            if bias is None:
                return _run(_LINEAR, [input, weight], [x, w],
                            input.requires_grad or weight.requires_grad)
            if isinstance(bias, Tensor) and bias._array.dtype == dtype:
                return _run(_LINEAR_WITH_BIAS, [input, weight, bias], [x, w, bias._array],
                            input.requires_grad or weight.requires_grad or bias.requires_grad)
    _check_float_mix("linear", input, weight, bias)
    return F.linear(input, weight, bias)


def _same_padding(weight, stride, dilation) -> tuple:
    """((top, bottom), (left, right)) keeping the spatial size; the odd pixel goes after."""
    if stride != (1, 1):
        raise ArgumentError(f"conv2d: padding='same' is not supported for strided convolutions "
                            f"(stride={stride})")
    pads = []
    for kernel, rate in zip(weight.shape[2:], dilation):
        total = rate * (kernel - 1)
        pads.append((total // 2, total - total // 2))
    return tuple(pads)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation of an NCHW (or unbatched CHW) input with (out, in / groups, kH, kW)
    weights, plus a per-channel bias.

    `padding` is an int, a pair, or "valid" (none) / "same" (keeps H and W; stride 1 only).

    >>> import eager
    >>> conv2d(eager.ones(1, 1, 4, 4), eager.ones(2, 1, 3, 3), eager.tensor([0.0, 1.0]),
    ...        padding="same").shape
    (1, 2, 4, 4)
    """
    if weight.ndim != 4:
        raise ShapeError(f"conv2d: weight must be 4-D (out_channels, in_channels / groups, kH, "
                         f"kW), got shape {weight.shape}")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ShapeError(f"conv2d: bias must have shape ({weight.shape[0]},), got {bias.shape}")
    _check_float_mix("conv2d", input, weight, bias)
    stride = _pair(stride, "stride", "conv2d")
    dilation = _pair(dilation, "dilation", "conv2d")
    pre_pad = None
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0)
        elif padding == "same":
            pads = _same_padding(weight, stride, dilation)
            if all(before == after for before, after in pads):
                padding = tuple(before for before, _ in pads)
            else:
                pre_pad, padding = ((0, 0), (0, 0)) + pads, (0, 0)
        else:
            raise ArgumentError(f"conv2d: invalid padding string {padding!r}; expected 'valid' "
                                "or 'same'")

    def run(x):
        if pre_pad is not None:
            x = F.pad(x, pre_pad)
        out = F.conv2d(x, weight, stride, padding, dilation, groups)
        return out if bias is None else out + bias.reshape(1, -1, 1, 1)

    return _with_batch_axis("conv2d", input, run)


def max_pool2d(input, kernel_size, stride=None, padding=0):
    """The maximum of each window of an NCHW (or CHW) input; stride defaults to kernel_size.

    >>> import eager
    >>> max_pool2d(eager.arange(16.0).reshape(1, 1, 4, 4), 2).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    """
    return _with_batch_axis("max_pool2d", input,
                            lambda x: F.max_pool2d(x, kernel_size, stride, padding))


def avg_pool2d(input, kernel_size, stride=None, padding=0):
    """The mean of each window of an NCHW (or CHW) input; zero padding counts in the mean.

    >>> import eager
    >>> avg_pool2d(eager.arange(16.0).reshape(1, 4, 4), 2).tolist()
    [[[2.5, 4.5], [10.5, 12.5]]]
    """
    return _with_batch_axis("avg_pool2d", input,
                            lambda x: F.avg_pool2d(x, kernel_size, stride, padding))


# -- activations ------------------------------------------------------------------------------


def relu(input, inplace: bool = False):
    """max(input, 0); with `inplace=True` the input tensor itself is overwritten.

    >>> import eager
    >>> relu(eager.tensor([-1.0, 2.0])).tolist()
    [0.0, 2.0]
    """
    if inplace:
        return input.clamp_(min=0)
    return input.relu() if isinstance(input, Tensor) else F.relu(input)  # the method's short path


def tanh(input):
    """Elementwise hyperbolic tangent."""
    return F.tanh(input)


def sigmoid(input):
    """Elementwise 1 / (1 + exp(-input))."""
    return F.sigmoid(input)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu(input, approximate: str = "none"):
    """x * Phi(x), Phi the normal CDF; `approximate="tanh"` uses the tanh formula instead.

    >>> import eager
    >>> [round(v, 4) for v in gelu(eager.tensor([1.0, 1.0]), approximate="tanh").tolist()]
    [0.8412, 0.8412]
    """
    if approximate == "none":
        return F.gelu(input)
    if approximate == "tanh":
        inner = (input + input * input * input * 0.044715) * _SQRT_2_OVER_PI
        return input * 0.5 * (inner.tanh() + 1.0)
    raise ArgumentError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def _softmax_dim(function: str, input, dim):
    if dim is not None:
        return dim
    # PyTorch's legacy choice when dim is left out, with its warning.
    warnings.warn(f"Implicit dimension choice for {function} has been deprecated. Change the "
                  "call to include dim=X as an argument.", UserWarning, stacklevel=3)
    return 0 if input.ndim in (0, 1, 3) else 1


def softmax(input, dim=None, dtype=None):
    """exp(input) normalized to sum to 1 along `dim`, computed stably.

    >>> import eager
    >>> softmax(eager.tensor([[0.0, 0.0]]), dim=1).tolist()
    [[0.5, 0.5]]
    """
    dim = _softmax_dim("softmax", input, dim)
    return F.softmax(input if dtype is None else input.to(dtype), dim)


def log_softmax(input, dim=None, dtype=None):
    """log(softmax(input, dim)) without the underflow of taking log of a tiny softmax."""
    dim = _softmax_dim("log_softmax", input, dim)
    return F.log_softmax(input if dtype is None else input.to(dtype), dim)


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    """Zero each element with probability p and scale the rest by 1 / (1 - p), in training.

    Each call draws a fresh seed from the default generator, so `eager.manual_seed` makes the
    masks reproducible. With `training=False` (or p = 0) the input is returned as it is;
    `inplace=True` writes the result into the input tensor.

    >>> import eager
    >>> sorted(set(dropout(eager.ones(100), 0.5).tolist()))
    [0.0, 2.0]
    >>> dropout(eager.ones(2), 0.5, training=False).tolist()
    [1.0, 1.0]
    """
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
        raise ArgumentError(f"dropout probability has to be between 0 and 1, but got {p!r}")
    if not training or p == 0:
        return input
    result = F.dropout(input, p, framework_random.default_generator.next_seed())
    return input.copy_(result) if inplace else result


# -- embedding and normalization -----------------------------------------------------------------


def embedding(input, weight):
    """Rows of `weight` (num_embeddings, dim) picked by the integer tensor `input`.

    >>> import eager
    >>> embedding(eager.tensor([[2, 0]]), eager.arange(6.0).reshape(3, 2)).tolist()
    [[[4.0, 5.0], [0.0, 1.0]]]
    """
    input = _as_tensor(input)
    if input.dtype not in dtypes.INTS:
        raise DTypeError(f"embedding: indices must be an integer tensor, got {input.dtype}")
    return F.embedding(weight, input)


def _normalized_shape(normalized_shape) -> tuple:
    if isinstance(normalized_shape, int):
        return (normalized_shape,)
    return tuple(normalized_shape)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    """Normalize over the trailing `normalized_shape` dims to zero mean and unit variance
    (biased variance, as PyTorch), then scale by `weight` and shift by `bias`.

    >>> import eager
    >>> y = layer_norm(eager.tensor([[1.0, 3.0]]), 2)
    >>> [round(v, 3) for v in y[0].tolist()]
    [-1.0, 1.0]
    """
    shape = _normalized_shape(normalized_shape)
    if not shape or input.ndim < len(shape) or input.shape[input.ndim - len(shape):] != shape:
        raise ShapeError(f"layer_norm: normalized_shape {shape} must match the last dimensions "
                         f"of the input, whose shape is {input.shape}")
    for name, value in (("weight", weight), ("bias", bias)):
        if value is not None and value.shape != shape:
            raise ShapeError(f"layer_norm: {name} must have the normalized shape {shape}, got "
                             f"{value.shape}")
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    mean = input.mean(dims, keepdim=True)
    variance = input.var(dims, keepdim=True, unbiased=False)
    out = (input - mean) * (variance + eps).rsqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5):
    """Normalize each channel (axis 1) of an (N, C, ...) input.

    In training, uses the batch's mean and biased variance, and updates `running_mean` and
    `running_var` in place (when given) by `momentum`, the variance unbiased, as PyTorch does.
    Otherwise normalizes with the running statistics.

    >>> import eager
    >>> x = eager.tensor([[0.0], [2.0]])
    >>> mean, var = eager.zeros(1), eager.ones(1)
    >>> [round(v, 3) for v in batch_norm(x, mean, var, training=True).flatten().tolist()]
    [-1.0, 1.0]
    >>> mean.tolist(), var.tolist()
    ([0.10000000149011612], [1.100000023841858])
    """
    if input.ndim < 2:
        raise ShapeError(f"batch_norm: expected an input of shape (N, C, ...), got {input.shape}")
    channels = input.shape[1]
    for name, value in (("running_mean", running_mean), ("running_var", running_var),
                        ("weight", weight), ("bias", bias)):
        if value is not None and value.shape != (channels,):
            raise ShapeError(f"batch_norm: {name} must have shape ({channels},) for an input "
                             f"with {channels} channels (shape {input.shape}), got {value.shape}")
    axes = (0,) + tuple(range(2, input.ndim))
    stats_shape = (1, channels) + (1,) * (input.ndim - 2)
    if training:
        count = input.numel() // channels if channels else 0
        if count <= 1:
            raise ArgumentError(f"batch_norm: expected more than 1 value per channel when "
                                f"training, got input shape {input.shape}")
        mean = input.mean(axes, keepdim=True)
        variance = input.var(axes, keepdim=True, unbiased=False)
        with no_grad():
            if running_mean is not None:
                running_mean.mul_(1.0 - momentum).add_(mean.reshape(channels) * momentum)
            if running_var is not None:
                unbiased_scale = momentum * count / (count - 1)
                running_var.mul_(1.0 - momentum).add_(variance.reshape(channels)
                                                      * unbiased_scale)
    else:
        if running_mean is None or running_var is None:
            raise ArgumentError("batch_norm: running_mean and running_var are needed when not "
                                "training")
        mean = running_mean.reshape(stats_shape)
        variance = running_var.reshape(stats_shape)
    out = (input - mean) * (variance + eps).rsqrt()
    if weight is not None:
        out = out * weight.reshape(stats_shape)
    if bias is not None:
        out = out + bias.reshape(stats_shape)
    return out


# -- losses -----------------------------------------------------------------------------------


def mse_loss(input, target, reduction: str = "mean"):
    """Mean squared error (input - target)**2, reduced by "mean", "sum" or "none".

    >>> import eager
    >>> mse_loss(eager.tensor([1.0, 2.0]), eager.tensor([1.0, 4.0])).item()
    2.0
    """
    _check_reduction(reduction)
    target_shape = tuple(np.shape(target._array if isinstance(target, Tensor) else target))
    if target_shape != tuple(input.shape):
        warnings.warn(f"Using a target size ({target_shape}) that is different to "
                      f"the input size ({tuple(input.shape)}). This will likely lead to "
                      "incorrect results due to broadcasting. Please ensure they have the same "
                      "size.", UserWarning, stacklevel=2)
    return F.mse(input, target, reduction)


def _reduce(loss, reduction: str):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _check_class_input(function: str, input, target) -> None:
    if input.dtype not in dtypes.FLOATS:
        raise DTypeError(f"{function}: input must be floating point, got {input.dtype}")
    if input.ndim < 2:
        raise ShapeError(f"{function}: input must have shape (N, C) or (N, C, d1, ...), got "
                         f"{input.shape}")
    if target.dtype in dtypes.INTS:
        expected = input.shape[:1] + input.shape[2:]
        if target.shape != expected:
            raise ShapeError(f"{function}: class labels must have shape {expected} for an "
                             f"input of shape {input.shape}, got {target.shape}")
    elif target.dtype in dtypes.FLOATS:
        if target.shape != input.shape:
            raise ShapeError(f"{function}: class probabilities must have the input's shape "
                             f"{input.shape}, got {target.shape}")
    else:
        raise DTypeError(f"{function}: target must hold integer class labels or float class "
                         f"probabilities, got {target.dtype}")


def _holds(labels: np.ndarray, value: int) -> bool:
    """Whether any label equals `value` (the ignore_index, -100 by default, which valid labels
    never are): one pass without a temporary array, as this runs on every loss call."""
    if labels.size == 0:
        return False
    return bool(labels.min() <= value <= labels.max()) and bool((labels == value).any())


def _check_class_weight(function: str, weight, classes: int) -> None:
    if weight is not None and weight.shape != (classes,):
        raise ShapeError(f"{function}: weight must have one entry per class, shape ({classes},), "
                         f"got {weight.shape}")


def _class_axis_view(per_class, ndim: int):
    """A (C,) vector shaped (1, C, 1, ...) to broadcast against an (N, C, ...) input."""
    return per_class.reshape((1, -1) + (1,) * (ndim - 2))


def _picked_log_probabilities(function: str, log_probs, target, weight, ignore_index: int):
    """For label targets: per-sample log_probs[target], the per-sample class weights (0 where
    the target is ignore_index) and the ignored mask."""
    classes = log_probs.shape[1]
    labels = target._array
    ignored = labels == ignore_index
    outside = ~ignored & ((labels < 0) | (labels >= classes))
    if outside.any():
        raise IndexingError(f"{function}: target {labels[outside].flat[0]} is out of bounds "
                            f"for {classes} classes (valid: 0 to {classes - 1}, or "
                            f"ignore_index={ignore_index})")
    safe_labels = np.where(ignored, 0, labels)
    chosen = F.moveaxis(F.one_hot(safe_labels, classes, dtypes.bool_), -1, 1)
    picked = F.where(chosen, log_probs, 0.0).sum(1)
    if weight is None:
        sample_weight = Tensor((~ignored).astype(log_probs.dtype))
    else:
        sample_weight = F.where(ignored, 0.0, F.gather(weight, safe_labels, 0))
    return picked, sample_weight, ignored


def nll_loss(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean"):
    """Negative log-likelihood of class labels, from log-probabilities `input` (N, C, ...).

    `weight` rescales each class; targets equal to `ignore_index` contribute nothing. "mean"
    divides by the total weight of the counted targets, as PyTorch does.

    >>> import eager
    >>> log_probs = eager.tensor([[-0.1, -2.0], [-3.0, -0.2]])
    >>> round(nll_loss(log_probs, eager.tensor([0, 1])).item(), 4)
    0.15
    """
    _check_reduction(reduction)
    target = _as_tensor(target)
    _check_class_input("nll_loss", input, target)
    if target.dtype not in dtypes.INTS:
        raise DTypeError(f"nll_loss: target must hold integer class labels, got {target.dtype}")
    _check_class_weight("nll_loss", weight, input.shape[1])
    picked, sample_weight, _ = _picked_log_probabilities("nll_loss", input, target, weight,
                                                         ignore_index)
    losses = -(picked * sample_weight)
    if reduction == "mean":
        return losses.sum() / sample_weight.sum()
    return _reduce(losses, reduction)


def cross_entropy(input, target, weight=None, ignore_index: int = -100,
                  reduction: str = "mean", label_smoothing: float = 0.0):
    """Cross-entropy between softmax(input, dim=1) and integer labels or class probabilities.

    input: (N, C), (N, C, d1, ...) or unbatched (C,). target: labels shaped (N, d1, ...), or
    probabilities shaped like input. `weight`, `ignore_index` and `label_smoothing` follow
    PyTorch; without them the loss runs as one fused op.

    >>> import eager
    >>> logits = eager.tensor([[2.0, 0.0], [0.0, 2.0]])
    >>> [round(v, 4) for v in cross_entropy(logits, eager.tensor([0, 0]),
    ...                                     reduction="none").tolist()]
    [0.1269, 2.1269]
    """
    _check_reduction(reduction)
    if isinstance(label_smoothing, bool) or not 0.0 <= label_smoothing <= 1.0:
        raise ArgumentError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, got "
                            f"{label_smoothing!r}")
    target = _as_tensor(target)
    if input.ndim == 1:
        loss = cross_entropy(input.unsqueeze(0), target.unsqueeze(0), weight, ignore_index,
                             reduction, label_smoothing)
        return loss.squeeze(0) if reduction == "none" else loss
    _check_class_input("cross_entropy", input, target)
    classes = input.shape[1]
    _check_class_weight("cross_entropy", weight, classes)
    if target.dtype in dtypes.FLOATS:
        if weight is None and label_smoothing == 0:
            return F.cross_entropy(input, target, reduction)
        if label_smoothing:
            target = target * (1.0 - label_smoothing) + label_smoothing / classes
        log_probs = F.log_softmax(input, 1)
        if weight is not None:
            log_probs = log_probs * _class_axis_view(weight, input.ndim)
        return _reduce(-(log_probs * target).sum(1), reduction)
    if weight is None and label_smoothing == 0:
        if 0 <= ignore_index < classes:
            if not _holds(target._array, ignore_index):
                return F.cross_entropy(input, target, reduction)
        else:
            # An ignore_index outside the classes (-100, the default) is a label the fused op
            # refuses, before any kernel: so only its refusal needs a second look.
            try:
                return F.cross_entropy(input, target, reduction)
            except IndexingError:
                if not _holds(target._array, ignore_index):
                    raise
    log_probs = F.log_softmax(input, 1)
    picked, sample_weight, ignored = _picked_log_probabilities(
        "cross_entropy", log_probs, target, weight, ignore_index)
    losses = -(picked * sample_weight)
    total_weight = sample_weight.sum()
    loss = losses.sum() / total_weight if reduction == "mean" else _reduce(losses, reduction)
    if not label_smoothing:
        return loss
    # Smoothing mixes in the (class-weighted) mean of -log p over all classes.
    spread = log_probs if weight is None else log_probs * _class_axis_view(weight, input.ndim)
    smooth = F.where(ignored, 0.0, -spread.sum(1))
    smooth = smooth.sum() / total_weight if reduction == "mean" else _reduce(smooth, reduction)
    return loss * (1.0 - label_smoothing) + smooth * (label_smoothing / classes)


# -- shapes and encodings ---------------------------------------------------------------------


def one_hot(tensor, num_classes: int = -1):
    """int64 one-hot rows for integer labels: shape tensor.shape + (num_classes,).

    num_classes=-1 uses the largest label + 1.

    >>> import eager
    >>> one_hot(eager.tensor([2, 0])).tolist()
    [[0, 0, 1], [1, 0, 0]]
    """
    tensor = _as_tensor(tensor)
    if tensor.dtype not in dtypes.INTS:
        raise DTypeError(f"one_hot is only applicable to an integer tensor, got {tensor.dtype}")
    if num_classes == -1:
        if tensor.numel() == 0:
            raise ArgumentError("one_hot: can not infer the number of classes of an empty "
                                "tensor; pass num_classes")
        num_classes = int(tensor._array.max()) + 1
    return F.one_hot(tensor, num_classes, dtypes.int64)


def flatten(input, start_dim: int = 0, end_dim: int = -1):
    """Merge dims start_dim..end_dim into one (torch.flatten).

    >>> import eager
    >>> flatten(eager.zeros(2, 3, 4), 1).shape
    (2, 12)
    """
    ndim = max(input.ndim, 1)
    for dim in (start_dim, end_dim):
        if not -ndim <= dim < ndim:
            raise IndexingError(f"flatten: dimension out of range (expected to be in range of "
                                f"[{-ndim}, {ndim - 1}], but got {dim})")
    start, end = start_dim % ndim, end_dim % ndim
    if start > end:
        raise ArgumentError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    if input.ndim == 0:
        return input.reshape(1)
    merged = math.prod(input.shape[start:end + 1])
    return input.reshape(input.shape[:start] + (merged,) + input.shape[end + 1:])


# -- more activations and losses ----------------------------------------------------------------
# Composites of the neutral functions. Where one branch of a `where` could overflow (exp of a
# large input), its input is clamped first, so the unused branch never turns a gradient into NaN.

__all__ += ["leaky_relu", "elu", "selu", "silu", "softplus", "relu6", "hardtanh", "l1_loss",
            "smooth_l1_loss", "huber_loss", "binary_cross_entropy",
            "binary_cross_entropy_with_logits", "kl_div"]



class _ValueRuntimeError(ArgumentError, RuntimeError):
    """A bad value where PyTorch raises RuntimeError (catchable as either)."""


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _in_place(input, inplace: bool, compute):
    """compute(input), or with `inplace` the same values written into `input` (recorded: the
    computation reads a clone, so the tape's saved values are not the ones overwritten)."""
    input = _as_tensor(input)
    if not inplace:
        return compute(input)
    return input.copy_(compute(input.clone()))


def _check_number(function: str, name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ArgumentError(f"{function}: {name} must be a number, got {value!r}")
    return float(value)


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):
    """x where x > 0, else negative_slope * x.

    >>> import eager
    >>> leaky_relu(eager.tensor([-2.0, 3.0]), 0.5).tolist()
    [-1.0, 3.0]
    """
    slope = _check_number("leaky_relu", "negative_slope", negative_slope)
    return _in_place(input, inplace, lambda x: F.where(F.gt(x, 0), x, F.mul(x, slope)))


def _elu(x, alpha: float, scale: float = 1.0):
    negative = F.mul(F.expm1(F.minimum(x, 0)), alpha * scale)
    return F.where(F.gt(x, 0), F.mul(x, scale) if scale != 1.0 else x, negative)


def elu(input, alpha: float = 1.0, inplace: bool = False):
    """x where x > 0, else alpha * (e**x - 1).

    >>> import eager
    >>> elu(eager.tensor([0.0, 2.0])).tolist()
    [0.0, 2.0]
    """
    alpha = _check_number("elu", "alpha", alpha)
    return _in_place(input, inplace, lambda x: _elu(x, alpha))


def selu(input, inplace: bool = False):
    """scale * elu(x, alpha) with the self-normalizing constants of Klambauer et al. (2017).

    >>> import eager
    >>> round(selu(eager.tensor([1.0])).item(), 4)
    1.0507
    """
    return _in_place(input, inplace, lambda x: _elu(x, _SELU_ALPHA, _SELU_SCALE))


def silu(input, inplace: bool = False):
    """x * sigmoid(x) (also called swish).

    >>> import eager
    >>> silu(eager.tensor([0.0])).tolist()
    [0.0]
    """
    return _in_place(input, inplace, lambda x: F.mul(x, F.sigmoid(x)))


def softplus(input, beta: float = 1.0, threshold: float = 20.0):
    """log(1 + e**(beta * x)) / beta, and x itself where beta * x > threshold (as PyTorch).

    >>> import eager
    >>> round(softplus(eager.tensor([0.0])).item(), 4)
    0.6931
    """
    beta = _check_number("softplus", "beta", beta)
    threshold = _check_number("softplus", "threshold", threshold)
    if beta == 0:
        raise ArgumentError("softplus: beta must be nonzero")
    x = _as_tensor(input)
    scaled = F.mul(x, beta)
    smooth = F.div(F.log1p(F.exp(F.minimum(scaled, threshold))), beta)
    return F.where(F.gt(scaled, threshold), x, smooth)


def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
    """x limited to [min_val, max_val]; the gradient is 0 outside (min_val, max_val).

    >>> import eager
    >>> hardtanh(eager.tensor([-3.0, 0.5, 3.0])).tolist()
    [-1.0, 0.5, 1.0]
    """
    low = _check_number("hardtanh", "min_val", min_val)
    high = _check_number("hardtanh", "max_val", max_val)
    if low > high:
        raise ArgumentError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val "
                            f"({max_val})")

    def compute(x):
        inside = F.logical_and(F.gt(x, low), F.lt(x, high))
        return F.where(inside, x, F.clip(x.detach(), low, high))

    return _in_place(input, inplace, compute)


def relu6(input, inplace: bool = False):
    """min(max(x, 0), 6).

    >>> import eager
    >>> relu6(eager.tensor([-1.0, 7.0])).tolist()
    [0.0, 6.0]
    """
    return hardtanh(input, 0.0, 6.0, inplace)


def _pointwise_loss_inputs(function: str, input, target, reduction: str):
    _check_reduction(reduction)
    input, target = _as_tensor(input), _as_tensor(target)
    if input.shape != target.shape:
        warnings.warn(f"{function}: using a target size ({target.shape}) that is different to "
                      f"the input size ({input.shape}). This will likely lead to incorrect "
                      "results due to broadcasting. Please ensure they have the same size.",
                      UserWarning, stacklevel=3)
    return input, target


def l1_loss(input, target, reduction: str = "mean"):
    """Mean absolute error |input - target|, reduced by "mean", "sum" or "none".

    >>> import eager
    >>> l1_loss(eager.tensor([1.0, 2.0]), eager.tensor([0.0, 4.0])).item()
    1.5
    """
    input, target = _pointwise_loss_inputs("l1_loss", input, target, reduction)
    return _reduce(F.abs(F.sub(input, target)), reduction)


def smooth_l1_loss(input, target, reduction: str = "mean", beta: float = 1.0):
    """0.5 * d**2 / beta where d = |input - target| < beta, else d - 0.5 * beta (L1 when
    beta = 0).

    >>> import eager
    >>> smooth_l1_loss(eager.tensor([0.5, 3.0]), eager.tensor([0.0, 0.0])).item()
    1.3125
    """
    beta = _check_number("smooth_l1_loss", "beta", beta)
    if beta < 0:
        raise _ValueRuntimeError("smooth_l1_loss does not support negative values for beta, "
                                 f"got {beta}")
    input, target = _pointwise_loss_inputs("smooth_l1_loss", input, target, reduction)
    distance = F.abs(F.sub(input, target))
    if beta == 0:
        return _reduce(distance, reduction)
    loss = F.where(F.lt(distance, beta), F.mul(F.square(distance), 0.5 / beta),
                   F.sub(distance, 0.5 * beta))
    return _reduce(loss, reduction)


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0):
    """0.5 * d**2 where d = |input - target| < delta, else delta * (d - 0.5 * delta).

    >>> import eager
    >>> huber_loss(eager.tensor([0.5, 3.0]), eager.tensor([0.0, 0.0]), delta=2.0).item()
    2.0625
    """
    delta = _check_number("huber_loss", "delta", delta)
    if delta <= 0:
        raise _ValueRuntimeError(f"huber_loss does not support non-positive values for delta, "
                                 f"got {delta}")
    input, target = _pointwise_loss_inputs("huber_loss", input, target, reduction)
    distance = F.abs(F.sub(input, target))
    loss = F.where(F.lt(distance, delta), F.mul(F.square(distance), 0.5),
                   F.mul(F.sub(distance, 0.5 * delta), delta))
    return _reduce(loss, reduction)


def _check_same_size(function: str, input, target) -> None:
    if input.shape != target.shape:
        raise ShapeError(f"{function}: using a target size ({target.shape}) that is different "
                         f"to the input size ({input.shape}) is deprecated. Please ensure they "
                         "have the same size.")


def _weighted(loss, weight):
    return loss if weight is None else F.mul(loss, weight)


def binary_cross_entropy(input, target, weight=None, reduction: str = "mean"):
    """-(t * log(x) + (1 - t) * log(1 - x)) for probabilities x in [0, 1]; each log is clamped
    at -100, as in PyTorch, so x = 0 or 1 gives a finite loss.

    >>> import eager
    >>> round(binary_cross_entropy(eager.tensor([0.8]), eager.tensor([1.0])).item(), 4)
    0.2231
    """
    _check_reduction(reduction)
    input, target = _as_tensor(input), _as_tensor(target)
    _check_same_size("binary_cross_entropy", input, target)
    if input.dtype not in dtypes.FLOATS:
        raise DTypeError(f"binary_cross_entropy: input must be floating point, got "
                         f"{input.dtype}")
    values = input.detach().numpy()
    if values.size and not ((values >= 0) & (values <= 1)).all():
        raise _ValueRuntimeError("binary_cross_entropy: all elements of input should be "
                                 "between 0 and 1")
    log_x = F.maximum(F.log(input), -100.0)
    log_not_x = F.maximum(F.log(F.sub(1, input)), -100.0)
    loss = F.neg(F.add(F.mul(target, log_x), F.mul(F.sub(1, target), log_not_x)))
    return _reduce(_weighted(loss, weight), reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction: str = "mean",
                                     pos_weight=None):
    """Binary cross-entropy of sigmoid(input) against target, computed stably from the logits
    (no overflow for large |input|); `pos_weight` multiplies the positive term, per class.

    >>> import eager
    >>> round(binary_cross_entropy_with_logits(eager.tensor([100.0]),
    ...                                        eager.tensor([0.0])).item(), 4)
    100.0
    """
    _check_reduction(reduction)
    input, target = _as_tensor(input), _as_tensor(target)
    if input.shape != target.shape:
        raise ShapeError(f"binary_cross_entropy_with_logits: target size ({target.shape}) must "
                         f"be the same as input size ({input.shape})")
    # -log(sigmoid(x)) = log1p(e**-|x|) + max(-x, 0): no exp of a large positive number.
    minus_log_sigmoid = F.add(F.log1p(F.exp(F.neg(F.abs(input)))), F.relu(F.neg(input)))
    if pos_weight is not None:
        pos_weight = _as_tensor(pos_weight)
        minus_log_sigmoid = F.mul(minus_log_sigmoid,
                                  F.add(F.mul(F.sub(pos_weight, 1), target), 1))
    # -log(1 - sigmoid(x)) = x - log(sigmoid(x))
    loss = F.add(F.mul(F.sub(1, target), input), minus_log_sigmoid)
    return _reduce(_weighted(loss, weight), reduction)


def kl_div(input, target, reduction: str = "mean", log_target: bool = False):
    """Kullback-Leibler divergence target * (log(target) - input) of log-probabilities `input`
    (0 where target is 0); `log_target=True` takes target as log-probabilities too.
    reduction "batchmean" divides the sum by the batch size: the mathematical KL divergence.

    >>> import eager
    >>> kl_div(eager.tensor([[0.0, 0.0]]).log_softmax(1), eager.tensor([[0.5, 0.5]]),
    ...        reduction="batchmean").item()
    0.0
    """
    if reduction not in REDUCTIONS + ("batchmean",):
        raise ArgumentError(f"{reduction!r} is not a valid value for reduction; use one of "
                            "'none', 'mean', 'sum', 'batchmean'")
    input, target = _as_tensor(input), _as_tensor(target)
    if log_target:
        loss = F.mul(F.exp(target), F.sub(target, input))
    else:
        positive = F.gt(target, 0)
        log_target_values = F.log(F.where(positive, target, F.ones_like(target)))
        loss = F.where(positive, F.mul(target, F.sub(log_target_values, input)),
                       F.mul(target, 0))
    if reduction == "batchmean":
        batch = input.shape[0] if input.ndim else 1
        return F.div(loss.sum(), batch)
    if reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size. 'batchmean' divides only by the batch size, and aligns "
                      "with the KL div math definition.", UserWarning, stacklevel=2)
    return _reduce(loss, reduction)
