"""graph.losses (tf.losses): each loss against NumPy under every reduction and weighting, the
LOSSES and REGULARIZATION_LOSSES collections, get_total_loss, and TensorFlow 1 where it is
installed."""

from __future__ import annotations

import numpy as np
import pytest

import graph as tf

RNG = np.random.default_rng(3)
LOSSES = "losses"  # tf.GraphKeys.LOSSES
REGULARIZATION_LOSSES = "regularization_losses"


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _sigmoid_xent(z, x):
    return np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x)))


LOGITS = RNG.standard_normal((6, 4))
CLASSES = np.array([0, 3, 1, 1, 2, 0])
ONEHOT = np.eye(4)[CLASSES]
TARGETS = RNG.standard_normal((6, 3))
PREDICTIONS = RNG.standard_normal((6, 3))
PROBABILITIES = RNG.uniform(0.05, 0.95, (6, 3))
BINARY = (RNG.random((6, 3)) > 0.5).astype(np.float64)


def _huber(error, delta=1.0):
    a = np.abs(error)
    return np.where(a <= delta, 0.5 * a**2, 0.5 * delta**2 + delta * (a - delta))


# (name, build(weights, reduction), per-element losses in NumPy, dtype of the result)
CASES = [
    ("softmax_cross_entropy",
     lambda **kw: tf.losses.softmax_cross_entropy(ONEHOT, tf.constant(LOGITS), **kw),
     -(ONEHOT * np.log(_softmax(LOGITS))).sum(-1), np.float64),
    ("softmax_cross_entropy_smoothed",
     lambda **kw: tf.losses.softmax_cross_entropy(ONEHOT, tf.constant(LOGITS),
                                                  label_smoothing=0.2, **kw),
     -((ONEHOT * 0.8 + 0.05) * np.log(_softmax(LOGITS))).sum(-1), np.float64),
    ("sparse_softmax_cross_entropy",
     lambda **kw: tf.losses.sparse_softmax_cross_entropy(CLASSES, tf.constant(LOGITS), **kw),
     -np.log(_softmax(LOGITS)[np.arange(6), CLASSES]), np.float64),
    ("sigmoid_cross_entropy",
     lambda **kw: tf.losses.sigmoid_cross_entropy(BINARY, tf.constant(PREDICTIONS), **kw),
     _sigmoid_xent(BINARY, PREDICTIONS), np.float64),
    ("sigmoid_cross_entropy_smoothed",
     lambda **kw: tf.losses.sigmoid_cross_entropy(BINARY, tf.constant(PREDICTIONS),
                                                  label_smoothing=0.1, **kw),
     _sigmoid_xent(BINARY * 0.9 + 0.05, PREDICTIONS), np.float64),
    ("mean_squared_error",
     lambda **kw: tf.losses.mean_squared_error(TARGETS, tf.constant(PREDICTIONS), **kw),
     (PREDICTIONS - TARGETS) ** 2, np.float32),
    ("absolute_difference",
     lambda **kw: tf.losses.absolute_difference(TARGETS, tf.constant(PREDICTIONS), **kw),
     np.abs(PREDICTIONS - TARGETS), np.float32),
    ("huber_loss",
     lambda **kw: tf.losses.huber_loss(TARGETS, tf.constant(PREDICTIONS), **kw),
     _huber(PREDICTIONS - TARGETS), np.float32),
    ("log_loss",
     lambda **kw: tf.losses.log_loss(BINARY, tf.constant(PROBABILITIES), **kw),
     -BINARY * np.log(PROBABILITIES + 1e-7) - (1 - BINARY) * np.log(1 - PROBABILITIES + 1e-7),
     np.float32),
    ("hinge_loss",
     lambda **kw: tf.losses.hinge_loss(BINARY, tf.constant(PREDICTIONS), **kw),
     np.maximum(0, 1 - (2 * BINARY - 1) * PREDICTIONS), np.float32),
]


def _weights_for(losses):
    """Per-example weights with a zero, shaped (batch,) or (batch, 1) to broadcast."""
    weights = np.array([1.0, 0.0, 2.0, 0.5, 1.0, 3.0])
    return weights if losses.ndim == 1 else weights[:, None]


def _reduce(weighted, weights, reduction):
    total = weighted.sum()
    if reduction == tf.losses.Reduction.NONE:
        return weighted
    if reduction == tf.losses.Reduction.SUM:
        return total
    full = np.broadcast_to(weights, weighted.shape)
    if reduction == tf.losses.Reduction.MEAN:
        return total / full.sum()
    if reduction == tf.losses.Reduction.SUM_OVER_BATCH_SIZE:
        return total / weighted.size
    return total / (full != 0).sum()


REDUCTIONS = ["none", "weighted_sum", "weighted_mean", "weighted_sum_over_batch_size",
              "weighted_sum_by_nonzero_weights"]


@pytest.mark.parametrize("name, build, expected, dtype", CASES, ids=[c[0] for c in CASES])
def test_default_reduction_is_the_mean_over_nonzero_weights(name, build, expected, dtype):
    with tf.Graph().as_default():
        loss = build()
        weighted = build(weights=_weights_for(expected))
        assert loss.shape == () and loss.dtype == dtype
        assert tf.get_default_graph().get_collection(LOSSES) == [loss, weighted]
        assert loss.name.endswith("/value:0")
        with tf.Session() as sess:
            got, got_weighted = sess.run([loss, weighted])
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(got, expected.mean(), rtol=rtol)
    weights = _weights_for(expected)
    np.testing.assert_allclose(got_weighted, _reduce(expected * weights, weights,
                                                     "weighted_sum_by_nonzero_weights"),
                               rtol=rtol)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name, build, expected, dtype", CASES[::3], ids=[c[0] for c in
                                                                          CASES[::3]])
def test_every_reduction(name, build, expected, dtype, reduction):
    weights = _weights_for(expected)
    with tf.Graph().as_default():
        loss = build(weights=tf.constant(weights), reduction=reduction)
        with tf.Session() as sess:
            got = sess.run(loss)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(got, _reduce(expected * weights, weights, reduction), rtol=rtol)


def test_all_zero_weights_give_zero_and_a_finite_gradient():
    with tf.Graph().as_default():
        logits = tf.Variable(LOGITS)
        loss = tf.losses.softmax_cross_entropy(ONEHOT, logits, weights=np.zeros(6))
        (grad,) = tf.gradients(loss, [logits])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            value, g = sess.run([loss, grad])
    assert value == 0.0
    np.testing.assert_array_equal(g, np.zeros((6, 4)))


def test_gradient_of_the_default_reduction_is_the_mean_gradient():
    with tf.Graph().as_default():
        logits = tf.Variable(LOGITS)
        loss = tf.losses.sparse_softmax_cross_entropy(CLASSES[:, None], logits)  # [batch, 1]
        (grad,) = tf.gradients(loss, [logits])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            g = sess.run(grad)
    np.testing.assert_allclose(g, (_softmax(LOGITS) - ONEHOT) / 6, rtol=1e-12)


def test_total_loss_sums_the_collected_losses_and_regularization():
    with tf.Graph().as_default():
        assert float(tf.Session().run(tf.losses.get_regularization_loss())) == 0.0
        w = tf.Variable(np.array([[1.0, -2.0], [0.5, 3.0]], np.float32), name="w")
        with tf.name_scope("head"):
            first = tf.losses.mean_squared_error([[1.0, 1.0]], tf.matmul([[1.0, 1.0]], w))
        second = tf.losses.absolute_difference([[0.0, 0.0]], tf.matmul([[1.0, 0.0]], w),
                                               loss_collection=None)
        tf.losses.add_loss(second)
        penalty = tf.multiply(tf.nn.l2_loss(w), 0.01, name="penalty")
        tf.get_default_graph().add_to_collection(REGULARIZATION_LOSSES, penalty)
        assert tf.losses.get_losses() == [first, second]
        assert tf.losses.get_losses(scope="head") == [first]
        assert tf.losses.get_regularization_losses() == [penalty]
        total = tf.losses.get_total_loss()
        data_only = tf.losses.get_total_loss(add_regularization_losses=False, name="data")
        regularization = tf.losses.get_regularization_loss()
        assert total.name == "total_loss:0" and data_only.name == "data:0"
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            values = sess.run([first, second, penalty, total, data_only, regularization])
    mse = np.mean((np.array([1.5, 1.0]) - 1.0) ** 2)
    mad = np.mean(np.abs([1.0, -2.0]))
    l2 = 0.01 * (1 + 4 + 0.25 + 9) / 2
    np.testing.assert_allclose(values, [mse, mad, l2, mse + mad + l2, mse + mad, l2], rtol=1e-6)


def test_errors_name_the_problem_and_the_line():
    with tf.Graph().as_default():
        logits = tf.constant(LOGITS)
        with pytest.raises(tf.GraphError, match="do not broadcast") as error:
            tf.losses.softmax_cross_entropy(ONEHOT, logits, weights=np.ones(4))
        assert "test_losses.py" in str(error.value)
        with pytest.raises(tf.GraphError, match="do not match"):
            tf.losses.softmax_cross_entropy(ONEHOT[:, :3], logits)
        with pytest.raises(tf.GraphError, match="invalid loss reduction"):
            tf.losses.mean_squared_error(TARGETS, PREDICTIONS, reduction="mean")
        with pytest.raises(tf.GraphError, match="label_smoothing"):
            tf.losses.softmax_cross_entropy(ONEHOT, logits, label_smoothing=1.5)
        with pytest.raises(tf.GraphError, match="must not be None"):
            tf.losses.sparse_softmax_cross_entropy(None, logits)
        with pytest.raises(tf.GraphError, match="no losses found"):
            tf.losses.get_total_loss()
        assert tf.losses.get_losses() == []  # nothing half-built was collected


def test_losses_not_built_here_say_so():
    with pytest.raises(AttributeError, match="tf.losses.cosine_distance is not built"):
        tf.losses.cosine_distance([1.0], [1.0], axis=0)


@pytest.mark.tensorflow
def test_same_values_as_tensorflow_1():
    tensorflow = pytest.importorskip("tensorflow")
    v1 = tensorflow.compat.v1
    weights = _weights_for(LOGITS[:, 0])
    ours, theirs = [], []
    for module, out in ((tf, ours), (v1, theirs)):
        graph = module.Graph()
        with graph.as_default():
            logits = module.constant(LOGITS.astype(np.float32))  # one dtype for the total
            losses = [
                module.losses.softmax_cross_entropy(ONEHOT, logits, weights=weights,
                                                    label_smoothing=0.1),
                module.losses.sparse_softmax_cross_entropy(CLASSES, logits, weights=weights),
                module.losses.mean_squared_error(TARGETS, PREDICTIONS),
                module.losses.hinge_loss(BINARY, PREDICTIONS, weights=weights[:, None]),
                module.losses.get_total_loss(),
            ]
            with module.Session(graph=graph) as sess:
                out.extend(sess.run(losses))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)
