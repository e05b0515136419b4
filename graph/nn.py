"""`graph.nn`: TensorFlow 1's `tf.nn` on graph Tensors (activations, losses, conv, pooling).

Every function is a composite of the neutral op functions (`F.softmax`, `F.cross_entropy`,
`F.conv2d`, ...), so its kernels and gradient rules are the ones eager uses. Arguments follow
TensorFlow 1: losses return one value per example, class scores sit on the last axis, and the
spatial ops take `strides` / `ksize` as an int, an (h, w) pair or a 4-list in `data_format`
order, with `padding` "SAME" or "VALID".

Images are channels last by default (`data_format="NHWC"`), as in TensorFlow, and filters
keep TensorFlow's layout, HWIO = (filter_height, filter_width, in_channels, out_channels), so
code written for TensorFlow runs unchanged. The kernels are NCHW: an NHWC input is transposed
to NCHW and the result back, and filters to OIHW, inside the graph (small copies per run; the
gradient flows back through them). `data_format="NCHW"` skips the image copies.

>>> import numpy as np
>>> import graph as tf
>>> with tf.Graph().as_default():
...     logits = tf.constant([[2.0, 0.0], [0.0, 2.0]])
...     loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[0, 0], logits=logits)
...     with tf.Session() as sess:
...         print(np.round(sess.run(loss), 4))
[0.1269 2.1269]
"""

from __future__ import annotations

import math

import numpy as np

from framework import dtypes
from framework.ops import F
from framework.ops import random as framework_random
from framework.ops.registry import Spec, run_op
from graph import random_ops
from graph.api import _scoped
from graph.core import GraphError, Tensor, constant, site_of
from graph.gradients import stop_gradient
from graph.ops import GraphOp, register_graph_op

__all__ = [
    "avg_pool", "avg_pool2d", "bias_add", "conv2d", "dropout", "elu", "embedding_lookup",
    "gelu", "in_top_k", "l2_loss", "l2_normalize", "leaky_relu", "log_softmax", "max_pool",
    "max_pool2d", "moments",
    "relu", "relu6", "selu", "sigmoid", "sigmoid_cross_entropy_with_logits", "softmax",
    "softmax_cross_entropy_with_logits", "softmax_cross_entropy_with_logits_v2", "softplus",
    "sparse_softmax_cross_entropy_with_logits", "tanh", "top_k",
]

DATA_FORMATS = ("NCHW", "NHWC")


def _tensor(value, dtype=None) -> Tensor:
    """A graph Tensor for `value` (arrays and numbers become constants, as in TensorFlow)."""
    if isinstance(value, Tensor):
        return value
    return constant(value, dtype=dtype)


def _float_tensor(function: str, value) -> Tensor:
    tensor = _tensor(value)
    if not dtypes.is_float(tensor.dtype):
        raise GraphError(f"{function}: expected a floating-point tensor, got {tensor.name!r} "
                         f"of dtype {tensor.dtype}")
    return tensor


# ---------------------------------------------------------------------------------------------
# Activations


def relu(features, name=None):
    """max(features, 0).

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.nn.relu(tf.constant([-1.0, 2.0]))))
    [0. 2.]
    """
    return _scoped(name, lambda: F.relu(_tensor(features)))


def relu6(features, name=None):
    """min(max(features, 0), 6); the gradient is 1 strictly between 0 and 6, as in TensorFlow.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.nn.relu6(tf.constant([-1.0, 3.0, 9.0]))))
    [0. 3. 6.]
    """
    def build():
        positive = F.relu(_float_tensor("relu6", features))
        return F.where(F.lt(positive, 6), positive, 6)

    return _scoped(name, build)


def leaky_relu(features, alpha=0.2, name=None):
    """features where positive, alpha * features elsewhere (TensorFlow's default alpha 0.2).

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.nn.leaky_relu(tf.constant([-1.0, 2.0]))))
    [-0.2  2. ]
    """
    def build():
        x = _float_tensor("leaky_relu", features)
        return F.where(F.gt(x, 0), x, F.mul(x, alpha))

    return _scoped(name, build)


def elu(features, name=None):
    """features where positive, exp(features) - 1 elsewhere.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.nn.elu(tf.constant([0.0, 2.0]))))
    [0. 2.]
    """
    def build():
        x = _float_tensor("elu", features)
        # exp of the clamped value: the branch not taken never overflows into inf * 0 = NaN.
        return F.where(F.gt(x, 0), x, F.sub(F.exp(F.minimum(x, 0)), 1))

    return _scoped(name, build)


def softplus(features, name=None):
    """log(1 + exp(features)), computed as max(x, 0) + log1p(exp(-|x|)) so it never overflows.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.nn.softplus(tf.constant([0.0, 1000.0]))))
    [6.931472e-01 1.000000e+03]
    """
    def build():
        x = _float_tensor("softplus", features)
        positive = F.gt(x, 0)
        # where(), not relu/abs: their gradient at 0 is 0, which would lose the 1/2 there.
        return F.add(F.where(positive, x, 0), F.log1p(F.exp(F.where(positive, F.neg(x), x))))

    return _scoped(name, build)


def sigmoid(x, name=None):
    """1 / (1 + exp(-x)), stable for any x (the same op as `graph.sigmoid`)."""
    return _scoped(name, lambda: F.sigmoid(_tensor(x)))


def tanh(x, name=None):
    """The hyperbolic tangent (the same op as `graph.tanh`)."""
    return _scoped(name, lambda: F.tanh(_tensor(x)))


def gelu(features, approximate=False, name=None):
    """x * Phi(x), Phi the standard normal CDF; `approximate=True` uses the tanh formula.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.nn.gelu(tf.constant([0.0, 10.0]))))
    [ 0. 10.]
    """
    def build():
        x = _float_tensor("gelu", features)
        if not approximate:
            return F.gelu(x)
        inner = F.mul(F.add(x, F.mul(F.pow(x, 3), 0.044715)), math.sqrt(2.0 / math.pi))
        return F.mul(F.mul(x, 0.5), F.add(F.tanh(inner), 1))

    return _scoped(name, build)


def softmax(logits, axis=None, name=None):
    """exp(logits) / sum(exp(logits)) along `axis` (default the last), computed stably.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.nn.softmax(tf.constant([[0.0, 0.0]]))))
    [[0.5 0.5]]
    """
    axis = -1 if axis is None else axis
    return _scoped(name, lambda: F.softmax(_float_tensor("softmax", logits), axis))


def log_softmax(logits, axis=None, name=None):
    """logits - log(sum(exp(logits))) along `axis` (default the last), without forming softmax.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.nn.log_softmax(tf.constant([0.0, 0.0]))))
    [-0.6931472 -0.6931472]
    """
    axis = -1 if axis is None else axis
    return _scoped(name, lambda: F.log_softmax(_float_tensor("log_softmax", logits), axis))


# ---------------------------------------------------------------------------------------------
# Losses: one value per example, as in TensorFlow (reduce them with tf.reduce_mean).


def _per_example_cross_entropy(logits, labels, axis):
    """F.cross_entropy (classes on axis 1) for classes on `axis`; rank-1 logits give a scalar."""
    if logits.ndim == 1:
        loss = F.cross_entropy(F.unsqueeze(logits, 0), F.unsqueeze(labels, 0), "none")
        return F.reshape(loss, ())
    axis = axis % logits.ndim
    if axis != 1:
        # Moving the class axis to 1 keeps the other axes in order: the loss has the logits'
        # shape without the class axis, as in TensorFlow.
        logits = F.moveaxis(logits, axis, 1)
        if labels.dtype.kind == "f":
            labels = F.moveaxis(labels, axis, 1)
    return F.cross_entropy(logits, labels, reduction="none")


def _probability_cross_entropy(function, labels, logits, axis, labels_gradient):
    if labels is None or logits is None:
        raise GraphError(f"{function} needs both labels= and logits=")
    logits = _float_tensor(function, logits)
    labels = _tensor(labels, dtype=logits.dtype)
    if labels.dtype != logits.dtype:
        raise GraphError(f"{function}: labels have dtype {labels.dtype} but logits have "
                         f"{logits.dtype}; cast one to the other with tf.cast")
    if not labels_gradient:
        labels = stop_gradient(labels)
    return _per_example_cross_entropy(logits, labels, axis)


def softmax_cross_entropy_with_logits_v2(_sentinel=None, labels=None, logits=None, axis=-1,
                                         name=None):
    """Cross-entropy between probability `labels` and softmax(`logits`), one value per example.

    The class axis is `axis` (default the last); the result has the logits' shape without it.
    Gradients flow into both logits and labels. Call it with keywords, as TensorFlow requires.

    >>> import numpy as np
    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     loss = tf.nn.softmax_cross_entropy_with_logits_v2(
    ...         labels=[[0.5, 0.5]], logits=tf.constant([[0.0, 0.0]]))
    ...     print(np.round(sess.run(loss), 4))
    [0.6931]
    """
    _require_keywords("softmax_cross_entropy_with_logits_v2", _sentinel)
    return _scoped(name, lambda: _probability_cross_entropy(
        "softmax_cross_entropy_with_logits_v2", labels, logits, axis, labels_gradient=True))


def softmax_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, axis=-1,
                                      name=None):
    """TensorFlow 1's version of `softmax_cross_entropy_with_logits_v2`: the same values, but
    no gradient flows into `labels` (TensorFlow 1 documents "backpropagation will happen only
    into logits"); use the `_v2` function to train the labels too.

    >>> import numpy as np
    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     loss = tf.nn.softmax_cross_entropy_with_logits(
    ...         labels=[[1.0, 0.0]], logits=tf.constant([[2.0, 0.0]]))
    ...     print(np.round(sess.run(loss), 4))
    [0.1269]
    """
    _require_keywords("softmax_cross_entropy_with_logits", _sentinel)
    return _scoped(name, lambda: _probability_cross_entropy(
        "softmax_cross_entropy_with_logits", labels, logits, axis, labels_gradient=False))


def sparse_softmax_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None,
                                             name=None):
    """Cross-entropy of softmax(`logits`) at integer class `labels`, one value per example.

    logits: (..., num_classes); labels: integers of shape logits.shape[:-1] in
    [0, num_classes) (an out-of-range label raises when the graph runs). Gradients flow into
    the logits. Call it with keywords, as TensorFlow requires.

    >>> import numpy as np
    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     loss = tf.nn.sparse_softmax_cross_entropy_with_logits(
    ...         labels=[1], logits=tf.constant([[0.0, 0.0]]))
    ...     print(np.round(sess.run(loss), 4))
    [0.6931]
    """
    function = "sparse_softmax_cross_entropy_with_logits"
    _require_keywords(function, _sentinel)
    if labels is None or logits is None:
        raise GraphError(f"{function} needs both labels= and logits=")

    def build():
        scores = _float_tensor(function, logits)
        classes = _tensor(labels, dtype=dtypes.int64 if not isinstance(labels, Tensor) else None)
        if classes.dtype.kind not in "iu":
            raise GraphError(f"{function}: labels must be integer class indices, got dtype "
                             f"{classes.dtype} ({classes.name!r}); for class probabilities use "
                             f"softmax_cross_entropy_with_logits_v2")
        expected = scores.shape[:-1]
        if len(classes.shape) != len(expected) or any(
                None not in (a, b) and a != b for a, b in zip(classes.shape, expected)):
            raise GraphError(f"{function}: labels must have the logits' shape without the last "
                             f"(class) axis, {expected}; got labels of shape {classes.shape} "
                             f"for logits of shape {scores.shape}")
        return _per_example_cross_entropy(scores, classes, -1)

    return _scoped(name, build)


def sigmoid_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, name=None):
    """Elementwise logistic loss: -z log(sigmoid(x)) - (1 - z) log(1 - sigmoid(x)).

    Computed as max(x, 0) - x z + log(1 + exp(-|x|)), which never overflows; `labels` (z)
    and `logits` (x) have the same shape and dtype. Call it with keywords.

    >>> import numpy as np
    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     loss = tf.nn.sigmoid_cross_entropy_with_logits(
    ...         labels=[1.0, 0.0], logits=tf.constant([0.0, 100.0]))
    ...     print(np.round(sess.run(loss), 4))
    [  0.6931 100.    ]
    """
    function = "sigmoid_cross_entropy_with_logits"
    _require_keywords(function, _sentinel)
    if labels is None or logits is None:
        raise GraphError(f"{function} needs both labels= and logits=")

    def build():
        x = _float_tensor(function, logits)
        z = _tensor(labels, dtype=x.dtype)
        if z.dtype != x.dtype:
            raise GraphError(f"{function}: labels have dtype {z.dtype} but logits have "
                             f"{x.dtype}; cast one to the other with tf.cast")
        if len(z.shape) != len(x.shape) or any(
                None not in (a, b) and a != b for a, b in zip(z.shape, x.shape)):
            raise GraphError(f"{function}: labels and logits must have the same shape, got "
                             f"{z.shape} and {x.shape}")
        positive = F.ge(x, 0)
        # where() instead of relu / abs: their gradient at 0 is 0, which would drop the
        # 1/2 that d/dx log(1 + e^x) has at x = 0 (TensorFlow writes it the same way).
        relu_x = F.where(positive, x, 0)
        minus_abs_x = F.where(positive, F.neg(x), x)
        return F.add(F.sub(relu_x, F.mul(x, z)), F.log1p(F.exp(minus_abs_x)))

    return _scoped(name, build)


def _require_keywords(function: str, sentinel) -> None:
    if sentinel is not None:
        raise GraphError(f"{function}: call it with named arguments only "
                         f"({function}(labels=..., logits=...)); labels and logits are too "
                         f"easy to swap by position")


def l2_loss(t, name=None):
    """sum(t ** 2) / 2, a scalar (TensorFlow's weight-decay term, without a square root).

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.nn.l2_loss(tf.constant([1.0, 2.0]))))
    2.5
    """
    return _scoped(name, lambda: F.mul(F.sum(F.square(_float_tensor("l2_loss", t))), 0.5))


def moments(x, axes, shift=None, keepdims=False, name=None):
    """(mean, variance) of `x` over `axes`; the variance is the population one (divides by n).

    `shift` is accepted for TensorFlow compatibility and ignored: the variance is computed
    from the centred values, which is already the numerically careful form.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     mean, variance = tf.nn.moments(tf.constant([1.0, 3.0]), axes=[0])
    ...     print([float(value) for value in sess.run([mean, variance])])
    [2.0, 1.0]
    """
    axes = tuple(axes) if isinstance(axes, (list, tuple)) else (axes,)

    def build():
        value = _float_tensor("moments", x)
        mean = F.mean(value, axes, keepdims=True)
        # The variance's gradient through the mean is exactly zero: don't build it.
        variance = F.mean(F.square(F.sub(value, stop_gradient(mean))), axes, keepdims=True)
        if not keepdims:
            mean, variance = F.squeeze(mean, axes), F.squeeze(variance, axes)
        return mean, variance

    return _scoped(name, build)


def bias_add(value, bias, data_format=None, name=None):
    """value + bias, with the 1-D `bias` added along the channel axis.

    The channel axis is the last one, except with data_format="NCHW" (axis 1), which is what
    `graph.layers.conv2d` uses on channels-first images.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     images = tf.zeros((1, 2, 1, 1))
    ...     print(sess.run(tf.nn.bias_add(images, [1.0, 2.0], data_format="NCHW")).ravel())
    [1. 2.]
    """
    def build():
        x = _float_tensor("bias_add", value)
        b = _tensor(bias, dtype=x.dtype)
        if len(b.shape) != 1:
            raise GraphError(f"bias_add: bias must be 1-D, got shape {b.shape}")
        if data_format not in (None, "NHWC", "NCHW", "N..C", "NC.."):
            raise GraphError(f"bias_add: data_format must be 'NHWC' or 'NCHW', got "
                             f"{data_format!r}")
        channels_first = data_format in ("NCHW", "NC..")
        if x.ndim < (3 if channels_first else 2):
            raise GraphError(f"bias_add: value of shape {x.shape} has too few dimensions for "
                             f"data_format {data_format or 'NHWC'!r}")
        axis = 1 if channels_first else x.ndim - 1
        channels = x.shape[axis]
        if None not in (channels, b.shape[0]) and channels != b.shape[0]:
            raise GraphError(f"bias_add: bias of shape {b.shape} for value of shape {x.shape}: "
                             f"the channel axis {axis} has {channels} entries")
        if channels_first:
            b = F.reshape(b, (1, -1) + (1,) * (x.ndim - 2))  # (1, C, 1, 1), as eager adds it
        return F.add(x, b)

    return _scoped(name, build)


# ---------------------------------------------------------------------------------------------
# Dropout


def dropout(x, keep_prob=None, noise_shape=None, seed=None, name=None, rate=None):
    """Keep each element with probability `keep_prob` (= 1 - `rate`), scaled by 1 / keep_prob;
    zero the others.

    TensorFlow 1's signature: the second argument is `keep_prob`; give it or TensorFlow 2's
    `rate`, not both. Either is a Python number or a scalar float Tensor, such as the
    tutorials' `keep_prob = tf.placeholder(tf.float32)` fed 0.5 while training and 1.0 to
    evaluate (a fed value outside (0, 1], or a rate outside [0, 1), is refused when the op
    runs). `noise_shape` (broadcastable to x's shape, fully known) shares one keep/drop decision
    along its size-1 axes. Without `seed`, the op takes a fresh seed from the default
    generator when it is built, so `framework.ops.random.manual_seed` makes a whole graph's
    masks reproducible; each `Session.run` draws a new mask from it.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     kept = sess.run(tf.nn.dropout(tf.ones((1000,)), 0.5, seed=1))
    >>> sorted(set(kept.tolist())), bool(400 < (kept > 0).sum() < 600)
    ([0.0, 2.0], True)
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     keep_prob = tf.placeholder(tf.float32, ())
    ...     print(sess.run(tf.nn.dropout(tf.ones((3,)), keep_prob), {keep_prob: 1.0}))
    [1. 1. 1.]
    """
    given, what = _dropout_probability(rate, keep_prob)

    def build():
        value = _float_tensor("dropout", x)
        shape = None if noise_shape is None else _noise_shape(noise_shape, value)
        if isinstance(given, Tensor):
            return _dropout_fed(value, given, what, shape, seed)
        drop = given if what == "rate" else 1.0 - given
        if drop == 0.0:
            return value  # nothing to drop; no seed drawn, as eager's dropout(p=0)
        op_seed = random_ops.op_seed(seed)  # TF1's graph- and op-level seeds
        if shape is None:
            return F.dropout(value, drop, op_seed)
        mask = F.dropout(constant(np.ones(shape, value.dtype), name="noise"), drop, op_seed)
        return F.mul(value, mask)

    return _scoped(name, build)


def _dropout_probability(rate, keep_prob) -> tuple:
    """(the value given, "rate" or "keep_prob"); a number is checked now, a Tensor when run."""
    if (rate is None) == (keep_prob is None):
        raise GraphError("dropout: give exactly one of keep_prob (TensorFlow 1's: the "
                         "probability of keeping) and rate= (the probability of dropping)")
    given, what = (rate, "rate") if rate is not None else (keep_prob, "keep_prob")
    if isinstance(given, Tensor):
        # A placeholder made without a shape (TF1's keep_prob) is checked when run.
        if not given.shape.is_compatible_with(()) or not dtypes.is_float(given.dtype):
            raise GraphError(f"dropout: {what} must be a scalar float tensor, got "
                             f"{given.name!r} of shape {given.shape} and dtype {given.dtype}")
        return given, what
    if isinstance(given, bool) or not isinstance(given, (int, float, np.floating, np.integer)):
        raise GraphError(f"dropout: {what} must be a number or a scalar float tensor, got "
                         f"{given!r}")
    if not _probability_allowed(float(given), what):
        raise GraphError(f"dropout: {what} must be in {_ALLOWED[what]}, got {given!r}")
    return float(given), what


_ALLOWED = {"rate": "[0, 1)", "keep_prob": "(0, 1]"}


def _probability_allowed(value: float, what: str) -> bool:
    return 0.0 <= value < 1.0 if what == "rate" else 0.0 < value <= 1.0


def _noise_shape(noise_shape, value) -> tuple:
    shape = tuple(noise_shape)
    if any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 0
           for d in shape):
        raise GraphError(f"dropout: noise_shape must be fully known non-negative ints, got "
                         f"{noise_shape!r}")
    if len(shape) != value.ndim or any(
            d != 1 and None not in (d, s) and d != s for d, s in zip(shape, value.shape)):
        raise GraphError(f"dropout: noise_shape {shape} does not broadcast to the input "
                         f"shape {value.shape}")
    return tuple(int(d) for d in shape)


def _dropout_fed(value, probability, what, noise_shape, seed):
    """x * mask, the mask drawn when the graph runs with the probability fed then."""
    op_seed = random_ops.op_seed(seed)  # TF1's graph- and op-level seeds
    like = value if noise_shape is None else constant(np.ones(noise_shape, value.dtype),
                                                      name="noise")
    graph = value.graph
    mask = graph.add_operation(DropoutMask(), [like, probability], name="mask",
                               attrs={"seed": framework_random.as_seed(op_seed),
                                      "given": what}).outputs[0]
    return F.mul(value, mask)


@register_graph_op
class DropoutMask(GraphOp):
    """The mask of a dropout whose probability is a tensor (input 1, a scalar: `attrs["given"]`
    says whether it is the keep_prob or the rate): 0 or 1 / keep_prob in the dtype and shape of
    input 0, fresh in each run from `attrs["seed"]`, as random primitives are."""

    name = "DropoutMask"
    no_gradient = "a random mask: the product x * mask carries the gradient to x"
    viz_family = "random"
    names_itself = True

    def infer(self, inputs, attrs):
        like = inputs[0]
        return [Spec(like.shape, like.dtype)]

    def run(self, run, op, inputs):
        like, given = inputs
        what = op.attrs["given"]
        if np.ndim(given) != 0:  # a placeholder of unknown rank was fed something else
            raise GraphError(f"dropout: {what} must be a scalar, got shape {np.shape(given)} "
                             f"(fed to {op.inputs[1].name!r}), in {op.name!r} created at "
                             f"{site_of(op)}")
        value = float(given)
        if not _probability_allowed(value, what):
            raise GraphError(f"dropout: {what} must be in {_ALLOWED[what]}, got {value!r} (fed "
                             f"to {op.inputs[1].name!r}), in {op.name!r} created at "
                             f"{site_of(op)}")
        keep = value if what == "keep_prob" else 1.0 - value
        dtype = op.outputs[0].dtype
        draw = run.reseeded(framework_random.Uniform(np.shape(like), op.attrs["seed"],
                                                     dtype=dtype))
        uniform = run_op(draw, [])[1]
        # keep_prob + U[0, 1) >= 1 keeps the element with probability keep_prob (TensorFlow's
        # rule); the kept ones carry 1 / keep_prob so the expected value is unchanged.
        mask = np.where(uniform >= 1.0 - keep, dtype.type(1.0 / keep), dtype.type(0.0))
        return (mask.astype(dtype, copy=False),)


# ---------------------------------------------------------------------------------------------
# Embeddings


def embedding_lookup(params, ids, partition_strategy="mod", name=None, validate_indices=True,
                     max_norm=None):
    """The rows of `params` at integer `ids`: shape ids.shape + params.shape[1:].

    An id outside [0, rows) raises when the graph runs. With `max_norm`, a row whose L2 norm
    exceeds it is scaled down to that norm. Gradients flow into the rows looked up.
    `params` may also be a list holding one tensor; TensorFlow's tables split into several
    shards are not built here (concatenate them with tf.concat), so `partition_strategy`
    changes nothing, and `validate_indices` neither: ids are always checked.

    >>> import numpy as np
    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     table = tf.constant(np.arange(6.0).reshape(3, 2))
    ...     print(sess.run(tf.nn.embedding_lookup(table, [[2, 0]])))
    [[[4. 5.]
      [0. 1.]]]
    """
    function = "embedding_lookup"
    if isinstance(params, (list, tuple)):
        if len(params) != 1:
            raise GraphError(f"{function}: params split into {len(params)} shards is not "
                             f"supported here; pass one table (tf.concat the shards in id "
                             f"order)")
        params = params[0]
    if partition_strategy not in ("mod", "div"):
        raise GraphError(f"{function}: partition_strategy must be 'mod' or 'div', got "
                         f"{partition_strategy!r}")

    def build():
        table = _tensor(params)
        if table.ndim < 1:
            raise GraphError(f"{function}: params must have at least one dimension (the rows), "
                             f"got a scalar {table.name!r}")
        indices = _tensor(ids, dtype=dtypes.int64 if not isinstance(ids, Tensor) else None)
        if indices.dtype.kind not in "iu":
            raise GraphError(f"{function}: ids must be integers, got {indices.name!r} of dtype "
                             f"{indices.dtype}")
        rows = F.gather(table, indices, 0)
        if max_norm is None:
            return rows
        if not dtypes.is_float(rows.dtype):
            raise GraphError(f"{function}: max_norm needs floating-point params, got "
                             f"{rows.dtype}")
        axes = tuple(range(indices.ndim, rows.ndim))
        norms = F.sqrt(F.sum(F.square(rows), axes, keepdims=True))
        scale = F.where(F.gt(norms, max_norm), F.div(max_norm, norms), 1.0)
        return F.mul(rows, F.cast(scale, rows.dtype))

    return _scoped(name, build)


# ---------------------------------------------------------------------------------------------
# Convolution and pooling


def _check_data_format(function: str, data_format) -> None:
    if data_format not in DATA_FORMATS:
        raise GraphError(f"{function}: data_format must be 'NHWC' (channels last, the default) "
                         f"or 'NCHW' (channels first), got {data_format!r}")


def _spatial_pair(function: str, what: str, value, data_format, default=None) -> tuple:
    """An int, an (h, w) pair or a 4-list in data_format order -> (h, w); the batch and channel
    entries of a 4-list must be 1, as TensorFlow requires."""
    if value is None:
        if default is None:
            raise GraphError(f"{function}: {what} is required")
        value = default
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        pair = (int(value), int(value))
    elif isinstance(value, (list, tuple)) and len(value) in (1, 2, 4) and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value):
        values = [int(v) for v in value]
        if len(values) == 1:
            pair = (values[0], values[0])
        elif len(values) == 2:
            pair = tuple(values)
        else:
            batch, channel, h, w = ((0, 1, 2, 3) if data_format == "NCHW" else (0, 3, 1, 2))
            if values[batch] != 1 or values[channel] != 1:
                raise GraphError(f"{function}: {what} {list(value)} must be 1 on the batch and "
                                 f"channel axes (data_format {data_format!r})")
            pair = (values[h], values[w])
    else:
        raise GraphError(f"{function}: {what} must be an int, an (h, w) pair or a list of 4 "
                         f"ints in data_format order, got {value!r}")
    if min(pair) < 1:
        raise GraphError(f"{function}: {what} must be at least 1, got {value!r}")
    return pair


def _same_padding(function: str, size, kernel, stride, dilation=1) -> tuple:
    """TensorFlow's SAME: out = ceil(size / stride), the padding split with the odd one after."""
    if size is None:
        raise GraphError(f"{function}: padding 'SAME' needs the spatial size at build time; "
                         f"give the placeholder a known height and width")
    extent = (kernel - 1) * dilation + 1
    out = -(-size // stride)
    total = max((out - 1) * stride + extent - size, 0)
    return total // 2, total - total // 2


def _padding_pairs(function: str, padding, x, kernel, strides, dilations=(1, 1),
                   explicit_allowed=False) -> tuple:
    """((top, bottom), (left, right)) for NCHW `x` from "SAME", "VALID" or explicit pairs."""
    if isinstance(padding, str) and padding.upper() == "VALID":
        return (0, 0), (0, 0)
    if isinstance(padding, str) and padding.upper() == "SAME":
        return tuple(_same_padding(function, size, k, s, d)
                     for size, k, s, d in zip(x.shape[2:], kernel, strides, dilations))
    if explicit_allowed and isinstance(padding, (list, tuple)) and len(padding) == 4:
        pairs = [tuple(int(v) for v in p) for p in padding]
        if any(len(p) != 2 or min(p) < 0 for p in pairs) or pairs[0] != (0, 0) or \
                pairs[1] != (0, 0):
            raise GraphError(f"{function}: explicit padding must be 4 (before, after) pairs of "
                             f"ints >= 0 in NCHW order, (0, 0) on the batch and channel axes; "
                             f"got {padding!r}")
        return pairs[2], pairs[3]
    expected = "'SAME', 'VALID' or 4 (before, after) pairs" if explicit_allowed else \
        "'SAME' or 'VALID'"
    raise GraphError(f"{function}: padding must be {expected}, got {padding!r}")


def _pad_for_kernel(x, pads, fill):
    """Symmetric padding goes to the kernel; uneven padding is added to x first (with `fill`)."""
    (top, bottom), (left, right) = pads
    if top == bottom and left == right:
        return x, (top, left)
    return F.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), fill), (0, 0)


def _channels_first(function: str, value, data_format, build):
    """Run `build` on NCHW; an NHWC input is transposed in and the result back out."""
    _check_data_format(function, data_format)
    x = _float_tensor(function, value)
    if x.ndim != 4:
        raise GraphError(f"{function}: input must be 4-D ({data_format}), got shape {x.shape}")
    if data_format == "NCHW":
        return build(x)
    return F.transpose(build(F.transpose(x, (0, 3, 1, 2))), (0, 2, 3, 1))


def conv2d(input, filter=None, strides=None, padding=None,  # noqa: A002  (TF's names)
           use_cudnn_on_gpu=True, data_format="NHWC", dilations=None, name=None, filters=None):
    """2-D convolution (cross-correlation) of a 4-D input with HWIO `filter`.

    filter: (filter_height, filter_width, in_channels, out_channels), TensorFlow's layout
    (TensorFlow 2's keyword `filters=` works too). strides and dilations: an int, an (h, w)
    pair or 4 ints in data_format order. padding: "SAME" (output size ceil(in / stride); an
    odd padding puts the extra row or column after, as in TensorFlow), "VALID", or explicit
    (before, after) pairs for all 4 axes. The input is NHWC unless data_format="NCHW".
    `use_cudnn_on_gpu` is accepted for TensorFlow 1 compatibility and changes nothing.

    >>> import numpy as np
    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     images = tf.ones((1, 3, 3, 1))           # NHWC
    ...     kernel = tf.ones((2, 2, 1, 1))           # HWIO
    ...     out = sess.run(tf.nn.conv2d(images, kernel, strides=[1, 1, 1, 1], padding="SAME"))
    ...     print(out[0, :, :, 0])
    [[4. 4. 2.]
     [4. 4. 2.]
     [2. 2. 1.]]
    """
    function = "conv2d"
    if filter is not None:
        if filters is not None:
            raise GraphError("conv2d: give filter= or TensorFlow 2's filters=, not both")
        filters = filter
    if filters is None:
        raise GraphError("conv2d: filters are required, shaped (height, width, in_channels, "
                         "out_channels)")
    if padding is None:
        raise GraphError("conv2d: padding is required: 'SAME', 'VALID' or explicit pairs")
    _check_data_format(function, data_format)
    stride = _spatial_pair(function, "strides", strides, data_format)
    dilation = _spatial_pair(function, "dilations", dilations, data_format, default=1)
    if isinstance(padding, (list, tuple)) and data_format == "NHWC" and len(padding) == 4:
        padding = [padding[0], padding[3], padding[1], padding[2]]  # to NCHW order

    def build_nchw(x):
        w = _float_tensor(function, filters)
        if w.ndim != 4:
            raise GraphError(f"conv2d: filters must be 4-D (height, width, in_channels, "
                             f"out_channels), got shape {w.shape}")
        if w.dtype != x.dtype:
            raise GraphError(f"conv2d: input has dtype {x.dtype} but filters have {w.dtype}")
        channels, filter_channels = x.shape[1], w.shape[2]
        if None not in (channels, filter_channels) and channels != filter_channels:
            raise GraphError(
                f"conv2d: the input has {channels} channels (shape {x.shape}, "
                f"{data_format}) but the filters of shape {w.shape} expect {filter_channels}; "
                f"filters use TensorFlow's layout (height, width, in_channels, out_channels)")
        kernel = w.shape[:2]
        if None in kernel:
            raise GraphError(f"conv2d: the filter size must be known, got shape {w.shape}")
        pads = _padding_pairs(function, padding, x, kernel, stride, dilation,
                              explicit_allowed=True)
        x, symmetric = _pad_for_kernel(x, pads, 0.0)
        return F.conv2d(x, F.transpose(w, (3, 2, 0, 1)), stride, symmetric, dilation)

    return _scoped(name, lambda: _channels_first(function, input, data_format, build_nchw))


def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):  # noqa: A002
    """The maximum over each ksize window; ksize and strides are ints, (h, w) pairs or 4-lists
    in data_format order (NHWC unless data_format="NCHW").

    With "SAME", windows that run over the edge take the maximum of the values inside.

    >>> import numpy as np
    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     images = tf.constant(np.arange(9.0, dtype=np.float32).reshape(1, 3, 3, 1))
    ...     out = sess.run(tf.nn.max_pool(images, [1, 2, 2, 1], [1, 2, 2, 1], "SAME"))
    ...     print(out[0, :, :, 0])
    [[4. 5.]
     [7. 8.]]
    """
    function = "max_pool2d"
    _check_data_format(function, data_format)
    kernel = _spatial_pair(function, "ksize", ksize, data_format)
    stride = _spatial_pair(function, "strides", strides, data_format)

    def build_nchw(x):
        pads = _padding_pairs(function, padding, x, kernel, stride)
        x, symmetric = _pad_for_kernel(x, pads, -np.inf)  # padding never wins a window
        return F.max_pool2d(x, kernel, stride, symmetric)

    return _scoped(name, lambda: _channels_first(function, input, data_format, build_nchw))


def avg_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None):  # noqa: A002
    """The mean over each ksize window; ksize and strides are ints, (h, w) pairs or 4-lists
    in data_format order (NHWC unless data_format="NCHW").

    With "SAME", a window that runs over the edge averages only the values inside it (the
    padding is not counted), as in TensorFlow.

    >>> import numpy as np
    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     images = tf.constant(np.arange(9.0, dtype=np.float32).reshape(1, 1, 3, 3))
    ...     print(sess.run(tf.nn.avg_pool2d(images, 2, 2, "SAME", data_format="NCHW"))[0, 0])
    [[2.  3.5]
     [6.5 8. ]]
    """
    function = "avg_pool2d"
    _check_data_format(function, data_format)
    kernel = _spatial_pair(function, "ksize", ksize, data_format)
    stride = _spatial_pair(function, "strides", strides, data_format)

    def build_nchw(x):
        pads = _padding_pairs(function, padding, x, kernel, stride)
        padded, symmetric = _pad_for_kernel(x, pads, 0.0)
        mean = F.avg_pool2d(padded, kernel, stride, symmetric)
        if pads == ((0, 0), (0, 0)):
            return mean
        # The kernel divides by the full window; rescale each output by window / real values.
        counts = [_window_counts(size, k, s, p) for size, k, s, p in
                  zip(x.shape[2:], kernel, stride, pads)]
        scale = (kernel[0] * kernel[1]) / np.outer(counts[0], counts[1])
        return F.mul(mean, constant(scale.astype(x.dtype), name="window_scale"))

    return _scoped(name, lambda: _channels_first(function, input, data_format, build_nchw))


def _window_counts(size, kernel, stride, pads) -> np.ndarray:
    """How many real (unpadded) positions each output window covers along one axis."""
    before, after = pads
    count = (size + before + after - kernel) // stride + 1
    starts = np.arange(count) * stride - before
    return np.minimum(starts + kernel, size) - np.maximum(starts, 0)


max_pool = max_pool2d  # TensorFlow 1's name
avg_pool = avg_pool2d  # TensorFlow 1's name

# tf.nn.rnn_cell, tf.nn.dynamic_rnn and tf.nn.static_rnn, imported last: they build on this
# module's neighbours (variable scopes, while_loop), not on it.
from graph import rnn_cell  # noqa: E402
from graph.rnn import dynamic_rnn, static_rnn  # noqa: E402

__all__ += ["dynamic_rnn", "rnn_cell", "static_rnn"]


# ---------------------------------------------------------------------------------------------
# Scaled activations, normalizing and ranking

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def selu(features, name=None):
    """scale * (features where positive, alpha * (exp(features) - 1) elsewhere), with the
    self-normalizing constants alpha ~ 1.6733 and scale ~ 1.0507.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.nn.selu(tf.constant([0.0, 1.0]))))
    [0.       1.050701]
    """
    def build():
        x = _float_tensor("selu", features)
        negative = F.mul(F.expm1(F.minimum(x, 0)), SELU_ALPHA)
        return F.mul(F.where(F.gt(x, 0), x, negative), SELU_SCALE)

    return _scoped(name, build)


def l2_normalize(x, axis=None, epsilon=1e-12, name=None, dim=None):
    """x / sqrt(max(sum(x ** 2, axis), epsilon)): unit length along `axis` (all axes when
    None; `dim` is its older name).

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.nn.l2_normalize(tf.constant([3.0, 4.0]), 0)))
    [0.6 0.8]
    """
    if dim is not None:
        if axis is not None:
            raise GraphError("l2_normalize: give axis or dim, not both")
        axis = dim

    def build():
        value = _float_tensor("l2_normalize", x)
        axes = axis if axis is None or isinstance(axis, int) else tuple(axis)
        squares = F.sum(F.square(value), axes, True)
        return F.mul(value, F.rsqrt(F.maximum(squares, epsilon)))

    return _scoped(name, build)


def top_k(input, k=1, sorted=True, name=None):  # noqa: A002  (TensorFlow's names)
    """(values, indices) of the `k` largest entries along the last axis, largest first; among
    equal values the lower index comes first. The indices are int32.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     values, indices = tf.nn.top_k(tf.constant([1.0, 3.0, 2.0]), k=2)
    ...     print(sess.run([values, indices]))
    [array([3., 2.], dtype=float32), array([1, 2], dtype=int32)]
    """
    def build():
        value = _tensor(input)
        if value.ndim == 0:
            raise GraphError(f"top_k: input must have at least one axis, got {value.name!r}")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
            raise GraphError(f"top_k: k must be a non-negative int, got {k!r}")
        last = value.shape[-1]
        if last is not None and k > last:
            raise GraphError(f"top_k: input {value.name!r} must have at least k={k} entries "
                             f"on its last axis, got shape {value.shape}")
        values, indices = F.topk(value, int(k), -1)
        return values, F.cast(indices, dtypes.int32)

    return _scoped(name, build)


def in_top_k(predictions, targets, k, name=None):
    """For each row i: whether predictions[i, targets[i]] is among the `k` largest of that row
    (ties count as in, as in TensorFlow); a target out of range, or a non-finite prediction,
    gives False.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     scores = tf.constant([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2]])
    ...     print(sess.run(tf.nn.in_top_k(scores, [2, 1], 2)))
    [ True  True]
    """
    def build():
        scores = _float_tensor("in_top_k", predictions)
        labels = _tensor(targets)
        if scores.ndim != 2 or labels.ndim != 1:
            raise GraphError(f"in_top_k: predictions must be 2-d and targets 1-d, got shapes "
                             f"{scores.shape} and {labels.shape}")
        if labels.dtype.kind not in "iu":
            raise GraphError(f"in_top_k: targets must be integers, got dtype {labels.dtype}")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise GraphError(f"in_top_k: k must be an int, got {k!r}")
        classes = F.getitem(F.shape_of(scores, labels.dtype), 1)
        inside = F.logical_and(F.ge(labels, 0), F.lt(labels, classes))
        safe = F.unsqueeze(F.where(inside, labels, 0), 1)
        target = F.take_along_axis(scores, safe, 1)
        above = F.sum(F.cast(F.gt(scores, target), dtypes.int64), 1)
        found = F.logical_and(F.lt(above, int(k)), F.squeeze(F.isfinite(target), 1))
        return F.logical_and(found, inside)

    return _scoped(name, build)
