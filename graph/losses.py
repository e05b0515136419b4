"""`graph.losses`: TensorFlow 1's `tf.losses`, weighted and reduced losses that collect themselves.

Each loss function computes one loss per element (or per example), multiplies it by `weights`
(a number, or a tensor of the losses' rank whose dimensions are 1 or the losses' own), reduces
it as `reduction` says, and adds the result to the graph's `tf.GraphKeys.LOSSES` collection, so
`get_total_loss()` sums every loss of a model (and its regularization losses) without the
script keeping a list. The default reduction is TensorFlow's `SUM_BY_NONZERO_WEIGHTS`: the sum
of the weighted losses divided by the number of elements whose weight is not zero, which is
the plain mean when every weight is 1. As in TensorFlow, the regression losses
(`mean_squared_error`, `absolute_difference`, `huber_loss`, `log_loss`, `hinge_loss`) compute
in float32 and the cross-entropies in the logits' dtype.

>>> import numpy as np
>>> import graph as tf
>>> with tf.Graph().as_default():
...     logits = tf.constant([[2.0, 0.0], [0.0, 2.0]])
...     loss = tf.losses.sparse_softmax_cross_entropy(labels=[0, 0], logits=logits)
...     total = tf.losses.get_total_loss()
...     with tf.Session() as sess:
...         print(loss.name, np.round(sess.run([loss, total]), 4))
sparse_softmax_cross_entropy_loss/value:0 [1.1269 1.1269]
"""

from __future__ import annotations

import re

import numpy as np

from framework import dtypes
from framework.ops import F
from graph.api import add_n
from graph.core import GraphError, Tensor, constant, get_default_graph
from graph.nn import (
    sigmoid_cross_entropy_with_logits,
    softmax_cross_entropy_with_logits_v2,
    sparse_softmax_cross_entropy_with_logits,
)

__all__ = [
    "Reduction", "absolute_difference", "add_loss", "compute_weighted_loss", "get_losses",
    "get_regularization_loss", "get_regularization_losses", "get_total_loss", "hinge_loss",
    "huber_loss", "log_loss", "mean_squared_error", "sigmoid_cross_entropy",
    "softmax_cross_entropy", "sparse_softmax_cross_entropy",
]

LOSSES = "losses"  # tf.GraphKeys.LOSSES
REGULARIZATION_LOSSES = "regularization_losses"  # tf.GraphKeys.REGULARIZATION_LOSSES


class Reduction:
    """How a loss function reduces its weighted losses (TensorFlow 1's names and values).

    NONE keeps them; SUM adds them; MEAN divides the sum by the sum of the weights;
    SUM_OVER_BATCH_SIZE by the number of losses; SUM_BY_NONZERO_WEIGHTS (the default, also
    SUM_OVER_NONZERO_WEIGHTS) by the number of losses whose weight is not zero. A division by
    zero gives 0.
    """

    NONE = "none"
    SUM = "weighted_sum"
    MEAN = "weighted_mean"
    SUM_OVER_BATCH_SIZE = "weighted_sum_over_batch_size"
    SUM_BY_NONZERO_WEIGHTS = "weighted_sum_by_nonzero_weights"
    SUM_OVER_NONZERO_WEIGHTS = SUM_BY_NONZERO_WEIGHTS

    @classmethod
    def all(cls) -> tuple:
        return (cls.NONE, cls.SUM, cls.MEAN, cls.SUM_OVER_BATCH_SIZE,
                cls.SUM_OVER_NONZERO_WEIGHTS, cls.SUM_BY_NONZERO_WEIGHTS)

    @classmethod
    def validate(cls, key) -> None:
        if key not in cls.all():
            raise GraphError(f"invalid loss reduction {key!r}; use one of tf.losses.Reduction's: "
                             f"{', '.join(sorted(set(cls.all())))}")


# ---------------------------------------------------------------------------------------------
# Weighting, reduction and the collections


def _as_tensor(value, dtype=None) -> Tensor:
    return value if isinstance(value, Tensor) else constant(value, dtype=dtype)


def _weights_for(function: str, weights, losses: Tensor) -> Tensor:
    """`weights` as a tensor of the losses' dtype, checked to broadcast to the losses as
    TensorFlow requires: a scalar, or the losses' rank with each dimension 1 or theirs."""
    if weights is None:
        raise GraphError(f"{function}: weights must not be None (use 1.0 for no weighting)")
    if isinstance(weights, Tensor):
        if weights.dtype.kind not in "biuf":
            raise GraphError(f"{function}: weights must be numbers, got {weights.name!r} of "
                             f"dtype {weights.dtype}")
        w = weights if weights.dtype == losses.dtype else F.cast(weights, losses.dtype)
    else:
        array = np.asarray(weights)
        if array.dtype.kind not in "biuf":
            raise GraphError(f"{function}: weights must be numbers, got {weights!r}")
        w = constant(array.astype(losses.dtype), name="weights")
    if w.ndim != 0:
        fits = w.ndim == losses.ndim and all(
            None in (a, b) or a in (1, b) for a, b in zip(w.shape, losses.shape))
        if not fits:
            raise GraphError(f"{function}: weights of shape {w.shape} do not broadcast to the "
                             f"losses of shape {losses.shape}: give a scalar, or a tensor of "
                             f"rank {losses.ndim} whose dimensions are 1 or the losses' own")
    return w


def _safe_div(numerator, denominator):
    """numerator / denominator, and 0 where the denominator is 0 (no NaN in the gradient)."""
    zero = F.eq(denominator, 0)
    return F.where(zero, F.zeros_like(numerator),
                   F.div(numerator, F.where(zero, F.ones_like(denominator), denominator)))


def _reduce(losses, weights, reduction):
    weighted = F.mul(losses, weights)
    if reduction == Reduction.NONE:
        return weighted
    total = F.sum(weighted)
    if reduction == Reduction.SUM:
        return total
    if reduction == Reduction.MEAN:
        count = F.sum(F.mul(F.ones_like(losses), weights))
    elif reduction == Reduction.SUM_OVER_BATCH_SIZE:
        count = F.sum(F.ones_like(losses))
    else:  # the number of losses whose weight is not zero
        present = F.where(F.eq(weights, 0), F.zeros_like(weights), F.ones_like(weights))
        count = F.sum(F.mul(F.ones_like(losses), present))
    return _safe_div(total, count)


def compute_weighted_loss(losses, weights=1.0, scope=None, loss_collection=LOSSES,
                          reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """`losses` times `weights`, reduced by `reduction`, added to `loss_collection` (none if
    None). The result has the losses' dtype; a scalar unless reduction is NONE.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     loss = tf.losses.compute_weighted_loss([1.0, 2.0, 4.0], weights=[1.0, 0.0, 2.0])
    ...     print(sess.run(loss))  # (1 + 8) / 2 losses with a non-zero weight
    4.5
    """
    return _weighted("compute_weighted_loss", losses, weights, scope or "weighted_loss",
                     loss_collection, reduction)


def _weighted(function, losses, weights, scope, loss_collection, reduction):
    Reduction.validate(reduction)
    graph = get_default_graph()
    with graph.name_scope(scope):
        losses = _as_tensor(losses)
        if not dtypes.is_float(losses.dtype):
            raise GraphError(f"{function}: losses must be floating point, got "
                             f"{losses.name!r} of dtype {losses.dtype}")
        w = _weights_for(function, weights, losses)
        if reduction == Reduction.NONE:
            loss = _reduce(losses, w, reduction)
        else:
            with graph.name_scope("value") as value_scope:
                loss = graph.name_result(_reduce(losses, w, reduction), value_scope)
    add_loss(loss, loss_collection)
    return loss


def add_loss(loss, loss_collection=LOSSES) -> None:
    """Add `loss` to `loss_collection` (nothing if it is None), where get_losses finds it."""
    if loss_collection is None:
        return
    if not isinstance(loss, Tensor):
        raise GraphError(f"add_loss: the loss must be a graph Tensor, got {loss!r}")
    loss.graph.add_to_collection(loss_collection, loss)


def _scoped_items(collection: str, scope) -> list:
    items = get_default_graph().get_collection(collection)
    if scope is None:
        return items
    if not isinstance(scope, str):
        raise GraphError(f"scope must be a string (a regular expression matched against the "
                         f"losses' names), got {scope!r}")
    return [item for item in items if re.match(scope, item.name)]


def get_losses(scope=None, loss_collection=LOSSES) -> list:
    """The losses in `loss_collection`, only those whose name matches `scope` if given."""
    return _scoped_items(loss_collection, scope)


def get_regularization_losses(scope=None) -> list:
    """The tensors in tf.GraphKeys.REGULARIZATION_LOSSES (added by the layers'
    kernel_regularizer and friends), only those whose name matches `scope` if given."""
    return _scoped_items(REGULARIZATION_LOSSES, scope)


def get_regularization_loss(scope=None, name="total_regularization_loss"):
    """The sum of the regularization losses, or a float32 0 if there are none.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.losses.get_regularization_loss()))
    0.0
    """
    losses = get_regularization_losses(scope)
    if not losses:
        return constant(np.float32(0.0), name=name)
    return add_n(losses, name=name)


def get_total_loss(add_regularization_losses=True, name="total_loss", scope=None):
    """The sum of the collected losses and, unless told not to, the regularization losses.

    Raises if there is no loss at all: a script that forgot to build its loss with
    `tf.losses` would otherwise train on nothing.
    """
    losses = get_losses(scope)
    if add_regularization_losses:
        losses = losses + get_regularization_losses(scope)
    if not losses:
        raise GraphError("get_total_loss: no losses found in the graph's tf.GraphKeys.LOSSES "
                         "collection; build the loss with tf.losses (or tf.losses.add_loss "
                         "it)")
    return add_n(losses, name=name)


# ---------------------------------------------------------------------------------------------
# The losses


def _require(function: str, **values) -> None:
    for what, value in values.items():
        if value is None:
            raise GraphError(f"{function}: {what} must not be None")


def _same_shape(function: str, what: str, a: Tensor, b: Tensor) -> None:
    compatible = a.ndim == b.ndim and all(
        None in (x, y) or x == y for x, y in zip(a.shape, b.shape))
    if not compatible:
        raise GraphError(f"{function}: {what} of shapes {a.shape} and {b.shape} do not match")


def _float32_pair(function: str, labels, predictions, what="predictions") -> tuple:
    """Labels and predictions as float32 (TensorFlow's regression losses cast them)."""
    pair = []
    for value in (labels, predictions):
        tensor = _as_tensor(value)
        if tensor.dtype.kind not in "biuf":
            raise GraphError(f"{function}: expected numbers, got {tensor.name!r} of dtype "
                             f"{tensor.dtype}")
        pair.append(tensor if tensor.dtype == dtypes.float32 else
                    F.cast(tensor, dtypes.float32))
    _same_shape(function, f"labels and {what}", *pair)
    return tuple(pair)


def _label_smoothing(function: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or \
            not 0 <= float(value) <= 1:
        raise GraphError(f"{function}: label_smoothing must be a number in [0, 1], got "
                         f"{value!r}")
    return float(value)


def softmax_cross_entropy(onehot_labels, logits, weights=1.0, label_smoothing=0, scope=None,
                          loss_collection=LOSSES, reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """Cross-entropy of softmax(`logits`) against `onehot_labels` ([batch, classes] each),
    weighted per example. With label_smoothing = s the labels become
    labels * (1 - s) + s / classes.

    >>> import numpy as np
    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     loss = tf.losses.softmax_cross_entropy([[1.0, 0.0]], tf.constant([[2.0, 0.0]]))
    ...     print(np.round(sess.run(loss), 4))
    0.1269
    """
    function = "softmax_cross_entropy"
    _require(function, onehot_labels=onehot_labels, logits=logits)
    smoothing = _label_smoothing(function, label_smoothing)
    with get_default_graph().name_scope(scope, "softmax_cross_entropy_loss") as scope_name:
        scores = _as_tensor(logits)
        if not dtypes.is_float(scores.dtype):
            raise GraphError(f"{function}: logits must be floating point, got "
                             f"{scores.name!r} of dtype {scores.dtype}")
        labels = _as_tensor(onehot_labels, dtype=scores.dtype)
        if labels.dtype != scores.dtype:
            labels = F.cast(labels, scores.dtype)
        _same_shape(function, "onehot_labels and logits", labels, scores)
        if smoothing > 0:
            classes = scores.shape[-1]
            # A Python number while the class count is known: F.div of two Python numbers
            # would round to float32 and shift float64 labels.
            negatives = smoothing / classes if classes is not None else \
                F.div(smoothing, F.cast(F.shape_of(scores)[-1], scores.dtype))
            labels = F.add(F.mul(labels, 1.0 - smoothing), negatives)
        losses = softmax_cross_entropy_with_logits_v2(labels=labels, logits=scores,
                                                      name="xentropy")
        return _weighted(function, losses, weights, scope_name, loss_collection, reduction)


def sparse_softmax_cross_entropy(labels, logits, weights=1.0, scope=None,
                                 loss_collection=LOSSES,
                                 reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """Cross-entropy of softmax(`logits`) ([batch, classes]) at integer class `labels`
    ([batch], or [batch, 1]), weighted per example.

    >>> import numpy as np
    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     loss = tf.losses.sparse_softmax_cross_entropy([[1]], tf.constant([[0.0, 0.0]]))
    ...     print(np.round(sess.run(loss), 4))
    0.6931
    """
    function = "sparse_softmax_cross_entropy"
    _require(function, labels=labels, logits=logits)
    with get_default_graph().name_scope(scope, "sparse_softmax_cross_entropy_loss") as name:
        scores = _as_tensor(logits)
        classes = _as_tensor(labels, dtype=dtypes.int64 if not isinstance(labels, Tensor)
                             else None)
        # TensorFlow drops a trailing size-1 axis of labels (and weights) of one rank too many.
        if classes.ndim == scores.ndim and classes.shape[-1] == 1:
            classes = F.squeeze(classes, -1)
        if isinstance(weights, Tensor) and weights.ndim == scores.ndim and \
                weights.shape[-1] == 1:
            weights = F.squeeze(weights, -1)
        losses = sparse_softmax_cross_entropy_with_logits(labels=classes, logits=scores,
                                                          name="xentropy")
        return _weighted(function, losses, weights, name, loss_collection, reduction)


def sigmoid_cross_entropy(multi_class_labels, logits, weights=1.0, label_smoothing=0,
                          scope=None, loss_collection=LOSSES,
                          reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """Elementwise logistic loss of `logits` against 0/1 `multi_class_labels`. With
    label_smoothing = s the labels become labels * (1 - s) + s / 2."""
    function = "sigmoid_cross_entropy"
    _require(function, multi_class_labels=multi_class_labels, logits=logits)
    smoothing = _label_smoothing(function, label_smoothing)
    with get_default_graph().name_scope(scope, "sigmoid_cross_entropy_loss") as name:
        scores = _as_tensor(logits)
        if not dtypes.is_float(scores.dtype):
            raise GraphError(f"{function}: logits must be floating point, got "
                             f"{scores.name!r} of dtype {scores.dtype}")
        labels = _as_tensor(multi_class_labels, dtype=scores.dtype)
        if labels.dtype != scores.dtype:
            labels = F.cast(labels, scores.dtype)
        _same_shape(function, "multi_class_labels and logits", labels, scores)
        if smoothing > 0:
            labels = F.add(F.mul(labels, 1.0 - smoothing), 0.5 * smoothing)
        losses = sigmoid_cross_entropy_with_logits(labels=labels, logits=scores,
                                                   name="xentropy")
        return _weighted(function, losses, weights, name, loss_collection, reduction)


def mean_squared_error(labels, predictions, weights=1.0, scope=None, loss_collection=LOSSES,
                       reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """(predictions - labels)^2, weighted and reduced, in float32.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.losses.mean_squared_error([1.0, 2.0], [2.0, 4.0])))
    2.5
    """
    function = "mean_squared_error"
    _require(function, labels=labels, predictions=predictions)
    with get_default_graph().name_scope(scope, "mean_squared_error") as name:
        y, p = _float32_pair(function, labels, predictions)
        losses = F.square(F.sub(p, y))
        return _weighted(function, losses, weights, name, loss_collection, reduction)


def absolute_difference(labels, predictions, weights=1.0, scope=None, loss_collection=LOSSES,
                        reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """|predictions - labels|, weighted and reduced, in float32."""
    function = "absolute_difference"
    _require(function, labels=labels, predictions=predictions)
    with get_default_graph().name_scope(scope, "absolute_difference") as name:
        y, p = _float32_pair(function, labels, predictions)
        losses = F.abs(F.sub(p, y))
        return _weighted(function, losses, weights, name, loss_collection, reduction)


def huber_loss(labels, predictions, weights=1.0, delta=1.0, scope=None, loss_collection=LOSSES,
               reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """x^2 / 2 for |x| <= delta, delta^2 / 2 + delta (|x| - delta) beyond, x = the error; in
    float32."""
    function = "huber_loss"
    _require(function, labels=labels, predictions=predictions)
    with get_default_graph().name_scope(scope, "huber_loss") as name:
        y, p = _float32_pair(function, labels, predictions)
        error = F.abs(F.sub(p, y))
        quadratic = F.minimum(error, delta)
        # |x| - min(|x|, delta), not max(|x| - delta, 0): its gradient at |x| = delta is 0, so
        # that point is not counted twice (TensorFlow writes it so too).
        linear = F.sub(error, quadratic)
        losses = F.add(F.mul(F.square(quadratic), 0.5), F.mul(linear, delta))
        return _weighted(function, losses, weights, name, loss_collection, reduction)


def log_loss(labels, predictions, weights=1.0, epsilon=1e-7, scope=None,
             loss_collection=LOSSES, reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """-labels log(predictions + epsilon) - (1 - labels) log(1 - predictions + epsilon), for
    predicted probabilities; in float32."""
    function = "log_loss"
    _require(function, labels=labels, predictions=predictions)
    with get_default_graph().name_scope(scope, "log_loss") as name:
        y, p = _float32_pair(function, labels, predictions)
        losses = F.sub(F.neg(F.mul(y, F.log(F.add(p, epsilon)))),
                       F.mul(F.sub(1.0, y), F.log(F.add(F.sub(1.0, p), epsilon))))
        return _weighted(function, losses, weights, name, loss_collection, reduction)


def hinge_loss(labels, logits, weights=1.0, scope=None, loss_collection=LOSSES,
               reduction=Reduction.SUM_BY_NONZERO_WEIGHTS):
    """max(0, 1 - (2 labels - 1) logits) for 0/1 `labels`; in float32."""
    function = "hinge_loss"
    _require(function, labels=labels, logits=logits)
    with get_default_graph().name_scope(scope, "hinge_loss") as name:
        y, x = _float32_pair(function, labels, logits, what="logits")
        signs = F.sub(F.mul(y, 2.0), 1.0)
        losses = F.relu(F.sub(1.0, F.mul(signs, x)))
        return _weighted(function, losses, weights, name, loss_collection, reduction)


_NOT_BUILT = {"cosine_distance", "mean_pairwise_squared_error"}


def __getattr__(name):
    if name in _NOT_BUILT:
        raise AttributeError(f"tf.losses.{name} is not built in dualgraph's graph front-end; "
                             f"it has {', '.join(__all__)}")
    raise AttributeError(f"module 'graph.losses' has no attribute {name!r}")
