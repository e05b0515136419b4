"""`theano.tensor.nnet` (`T.nnet`): activations and the classic losses.

>>> import graph as tf
>>> import graph.theano.tensor as T
>>> with tf.Graph().as_default():
...     p = T.dmatrix("p")
...     loss = T.nnet.categorical_crossentropy(p, T.constant([0, 1]))
...     print(loss.eval({p: [[0.5, 0.5], [0.25, 0.75]]}).round(4))
[0.6931 0.2877]
"""

from __future__ import annotations

import numpy as np

from framework.ops import F
from graph.not_built import missing_names
from graph.theano import tensor as T
from graph.theano.var import (
    TensorVariable,
    TheanoTypeError,
    as_tensor_variable,
    wrap,
)

__all__ = ["binary_crossentropy", "categorical_crossentropy", "elu", "hard_sigmoid",
           "log_softmax", "logsoftmax", "relu", "sigmoid", "softmax", "softplus", "softsign",
           "ultra_fast_sigmoid"]


def softmax(c, axis=-1) -> TensorVariable:
    """exp(c) / sum(exp(c)) along `axis` (the last: each row of a matrix), computed stably."""
    return wrap(F.softmax(T._float_operand(c), int(axis)))


def log_softmax(c, axis=-1) -> TensorVariable:
    """log(softmax(c)) along `axis`, without forming softmax."""
    return wrap(F.log_softmax(T._float_operand(c), int(axis)))


logsoftmax = log_softmax
sigmoid = T.sigmoid


def ultra_fast_sigmoid(x) -> TensorVariable:
    """Theano's fast approximation of the sigmoid; here the exact sigmoid."""
    return T.sigmoid(x)


def hard_sigmoid(x) -> TensorVariable:
    """clip(0.2 x + 0.5, 0, 1), Theano's piecewise-linear sigmoid."""
    return T.clip(as_tensor_variable(x) * 0.2 + 0.5, 0.0, 1.0)


def relu(x, alpha=0) -> TensorVariable:
    """max(x, 0); with `alpha`, alpha * x for negative x (a leaky relu)."""
    x = as_tensor_variable(x)
    if alpha == 0:
        return wrap(F.relu(x.tensor))
    return 0.5 * (1 + alpha) * x + 0.5 * (1 - alpha) * T.abs_(x)


def softplus(x) -> TensorVariable:
    """log(1 + exp(x)), without overflow for large x."""
    x = as_tensor_variable(x)
    return T.maximum(x, 0.0) + T.log1p(T.exp(-T.abs_(x)))


def elu(x, alpha=1) -> TensorVariable:
    """x where positive, alpha * (exp(x) - 1) elsewhere (integers compute in float64).

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     print(elu(T.constant([0.0, 2.0])).eval())
    [0. 2.]
    """
    t = T._float_operand(x)
    # exp of the clamped value: the branch not taken never overflows into inf * 0 = NaN.
    negative = F.mul(F.expm1(F.minimum(t, 0)), alpha)
    return wrap(F.where(F.gt(t, 0), t, negative))


def softsign(x) -> TensorVariable:
    """x / (1 + |x|), elementwise (integers compute in float64)."""
    t = T._float_operand(x)
    return wrap(F.div(t, F.add(F.abs(t), 1)))


def categorical_crossentropy(coding_dist, true_dist) -> TensorVariable:
    """-sum(true_dist * log(coding_dist)) per row, where `true_dist` holds a distribution
    (one-hot rows, say) per row; or -log(coding_dist[i, true_dist[i]]) where `true_dist` is
    a vector of integer class labels.
    """
    coding = as_tensor_variable(coding_dist)
    truth = as_tensor_variable(true_dist)
    if truth.ndim == coding.ndim:
        return -T.sum(truth * T.log(coding), axis=coding.ndim - 1)
    if truth.ndim == coding.ndim - 1 and coding.ndim == 2:
        if np.dtype(truth.dtype).kind not in "iu":
            raise TheanoTypeError(f"categorical_crossentropy: class labels must be integers, "
                                  f"got {truth} of dtype {truth.dtype}")
        return -T.log(coding[T.arange(truth.shape[0]), truth])
    raise TheanoTypeError(f"categorical_crossentropy: rank mismatch between coding and true "
                          f"distributions ({coding.ndim} and {truth.ndim} dimensions)")


def binary_crossentropy(output, target) -> TensorVariable:
    """-(target * log(output) + (1 - target) * log(1 - output)), elementwise."""
    output = as_tensor_variable(output)
    return -(target * T.log(output) + (1.0 - target) * T.log(1.0 - output))


__getattr__ = missing_names(__name__, "theano.tensor.nnet", "Theano", "Theano API", "Theano's")
