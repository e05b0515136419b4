"""tf.layers.batch_normalization (TensorFlow 1's statistics, moving averages and UPDATE_OPS idiom)
and the layers' kernel / bias regularizers, against NumPy."""

from __future__ import annotations

import numpy as np
import pytest

import graph as tf

RNG = np.random.default_rng(11)
UPDATE_OPS = "update_ops"  # tf.GraphKeys.UPDATE_OPS
REGULARIZATION_LOSSES = "regularization_losses"  # tf.GraphKeys.REGULARIZATION_LOSSES


def _collection(name):
    return tf.get_default_graph().get_collection(name)


def _variable(name):
    return next(v for v in tf.global_variables() if v.op.name == name)


def _normalized(x, axes, mean, variance, gamma, beta, epsilon=1e-3):
    shape = [1] * x.ndim
    channel = next(i for i in range(x.ndim) if i not in axes)
    shape[channel] = -1
    return (x - mean.reshape(shape)) / np.sqrt(variance.reshape(shape) + epsilon) * \
        gamma.reshape(shape) + beta.reshape(shape)


def test_training_normalizes_with_the_batch_and_update_ops_move_the_averages():
    x = RNG.standard_normal((8, 3)) * [1.0, 3.0, 0.5] + [0.0, 2.0, -1.0]
    gamma, beta = np.array([1.5, 0.5, 2.0]), np.array([0.1, -0.2, 0.3])
    with tf.Graph().as_default():
        inputs = tf.placeholder(tf.float64, (None, 3))
        y = tf.layers.batch_normalization(inputs, training=True)
        assert [v.op.name for v in tf.trainable_variables()] == [
            "batch_normalization/gamma", "batch_normalization/beta"]
        assert [v.op.name for v in tf.global_variables()][2:] == [
            "batch_normalization/moving_mean", "batch_normalization/moving_variance"]
        updates = _collection(UPDATE_OPS)
        assert len(updates) == 2
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            _variable("batch_normalization/gamma").load(gamma, sess)
            _variable("batch_normalization/beta").load(beta, sess)
            out = sess.run(y, {inputs: x})
            averages = [_variable(f"batch_normalization/moving_{k}") for k in ("mean", "variance")]
            untouched = sess.run(averages)
            sess.run(updates, {inputs: x})
            moved = sess.run(averages)
    mean, variance = x.mean(axis=0), x.var(axis=0)
    np.testing.assert_allclose(out, _normalized(x, (0,), mean, variance, gamma, beta),
                               rtol=1e-12)
    np.testing.assert_array_equal(untouched[0], 0.0)  # nothing runs the updates by itself
    np.testing.assert_allclose(moved[0], 0.01 * mean, rtol=1e-12)
    np.testing.assert_allclose(moved[1], 0.99 + 0.01 * variance, rtol=1e-12)


def test_inference_uses_the_moving_averages_and_adds_no_update():
    x = RNG.standard_normal((4, 2))
    with tf.Graph().as_default():
        inputs = tf.constant(x)
        y = tf.layers.batch_normalization(inputs, epsilon=0.5)  # training=False, the default
        assert _collection(UPDATE_OPS) == []
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            _variable("batch_normalization/moving_mean").load([1.0, -1.0], sess)
            _variable("batch_normalization/moving_variance").load([4.0, 0.25], sess)
            out = sess.run(y)
    np.testing.assert_allclose(out, (x - [1.0, -1.0]) / np.sqrt(np.array([4.0, 0.25]) + 0.5),
                               rtol=1e-12)


def test_a_training_placeholder_switches_statistics_and_updates_at_run_time():
    x = RNG.standard_normal((6, 2)) + 3.0
    with tf.Graph().as_default():
        training = tf.placeholder(tf.bool, ())
        y = tf.layers.batch_normalization(tf.constant(x), momentum=0.5, training=training)
        updates = _collection(UPDATE_OPS)
        moving_mean = _variable("batch_normalization/moving_mean")
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            evaluated, _ = sess.run([y, updates], {training: False})
            assert (sess.run(moving_mean) == 0.0).all()  # not training: the averages stay
            trained, _ = sess.run([y, updates], {training: True})
            after = sess.run(moving_mean)
    np.testing.assert_allclose(evaluated, x / np.sqrt(1.0 + 1e-3), rtol=1e-12)
    np.testing.assert_allclose(trained, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(after, 0.5 * x.mean(0), rtol=1e-12)


@pytest.mark.parametrize("shape, axis, dtype, fused, bessel", [
    ((4, 3, 3, 2), -1, np.float32, None, True),    # TensorFlow's fused kernel: NHWC float32
    ((4, 2, 3, 3), 1, np.float32, None, True),     # NCHW float32
    ((4, 3, 3, 2), -1, np.float32, False, False),  # fused=False: the plain variance
    ((4, 3, 3, 2), -1, np.float64, None, False),   # the fused kernel takes no float64
    ((5, 4, 2), -1, np.float32, None, False),      # not 4-D
])
def test_moving_variance_follows_tensorflow_1_bessel_correction(shape, axis, dtype, fused,
                                                                bessel):
    x = RNG.standard_normal(shape).astype(dtype)
    axes = tuple(i for i in range(len(shape)) if i != axis % len(shape))
    with tf.Graph().as_default():
        inputs = tf.placeholder(dtype, (None,) + shape[1:])  # the batch size known when run
        y = tf.layers.batch_normalization(inputs, axis=axis, training=True, fused=fused)
        with tf.control_dependencies(_collection(UPDATE_OPS)):
            step = tf.no_op()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            out, _ = sess.run([y, step], {inputs: x})
            variance = sess.run(_variable("batch_normalization/moving_variance"))
    n = x.size // x.shape[axis]
    batch_variance = x.astype(np.float64).var(axis=axes)
    learned = batch_variance * n / (n - 1) if bessel else batch_variance
    np.testing.assert_allclose(variance, 0.99 + 0.01 * learned, rtol=1e-6)
    ones = np.ones(x.shape[axis])
    np.testing.assert_allclose(out, _normalized(x.astype(np.float64), axes,
                                                x.astype(np.float64).mean(axis=axes),
                                                batch_variance, ones, 0 * ones),
                               rtol=1e-4, atol=1e-5)


def test_the_update_ops_idiom_trains_the_averages_with_the_model():
    x = RNG.standard_normal((16, 4)) * 2.0 + 1.0
    labels = RNG.integers(0, 3, 16)
    with tf.Graph().as_default():
        inputs = tf.constant(x)
        normalized = tf.layers.batch_normalization(inputs, training=True)
        logits = tf.layers.dense(normalized, 3)
        loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
        update_ops = _collection(UPDATE_OPS)  # tf.get_collection(tf.GraphKeys.UPDATE_OPS)
        with tf.control_dependencies(update_ops):
            train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            losses = [sess.run([train_op, loss])[1] for _ in range(20)]
            moving_mean = sess.run(_variable("batch_normalization/moving_mean"))
    assert losses[-1] < losses[0]
    np.testing.assert_allclose(moving_mean, x.mean(0) * (1 - 0.99 ** 20), rtol=1e-10)


def test_batch_normalization_gradient_matches_finite_differences():
    x = RNG.standard_normal((5, 3))
    cotangent = RNG.standard_normal((5, 3))
    with tf.Graph().as_default():
        inputs = tf.placeholder(tf.float64, (5, 3))
        y = tf.layers.batch_normalization(inputs, training=True,
                                          gamma_initializer=tf.constant_initializer(1.5))
        loss = tf.reduce_sum(y * tf.constant(cotangent))
        (grad,) = tf.gradients(loss, [inputs])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            got = sess.run(grad, {inputs: x})
            expected = np.zeros_like(x)
            for index in np.ndindex(x.shape):
                shifted = x.copy()
                shifted[index] += 1e-6
                up = sess.run(loss, {inputs: shifted})
                shifted[index] -= 2e-6
                expected[index] = (up - sess.run(loss, {inputs: shifted})) / 2e-6
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


def test_batch_normalization_refuses_what_it_cannot_do():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 3))
        with pytest.raises(tf.GraphError, match="renorm is not built") as error:
            tf.layers.batch_normalization(x, renorm=True)
        assert "test_layers.py" in str(error.value)
        with pytest.raises(tf.GraphError, match="must be known"):
            tf.layers.batch_normalization(tf.placeholder(tf.float32, (3, None)))
        with pytest.raises(tf.GraphError, match="axis must be"):
            tf.layers.batch_normalization(x, axis=2)
        with pytest.raises(tf.GraphError, match="training must be"):
            tf.layers.batch_normalization(x, training="yes")
        with pytest.raises(tf.GraphError, match="momentum must be"):
            tf.layers.batch_normalization(x, momentum=1.5)
        assert tf.global_variables() == []  # nothing half-built


def test_kernel_and_bias_regularizers_feed_the_total_loss_once_per_variable():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 4))
        y = tf.layers.dense(x, 3, name="fc",
                            kernel_regularizer=lambda w: tf.multiply(tf.nn.l2_loss(w), 0.1),
                            bias_regularizer=lambda b: None,
                            bias_initializer=tf.constant_initializer(1.0))
        tf.layers.dense(x, 3, name="fc", reuse=True,  # shared: not regularized twice
                        kernel_regularizer=lambda w: tf.multiply(tf.nn.l2_loss(w), 0.1))
        images = tf.placeholder(tf.float32, (None, 4, 4, 1))
        tf.layers.conv2d(images, 2, 3, bias_regularizer=lambda b: tf.reduce_sum(tf.abs(b)),
                         bias_initializer=tf.constant_initializer(-0.5))
        normalized = tf.layers.batch_normalization(
            y, gamma_regularizer=lambda g: tf.reduce_sum(g * 0.25))
        penalties = _collection(REGULARIZATION_LOSSES)
        assert len(penalties) == 3
        assert penalties[0].op.name.startswith("fc/kernel/Regularizer")
        data = tf.losses.mean_squared_error(tf.zeros_like(normalized), normalized)
        total = tf.losses.get_total_loss()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            kernel = sess.run(_variable("fc/kernel"))
            got = sess.run([tf.losses.get_regularization_loss(), total, data],
                           {x: np.ones((2, 4)), images: np.ones((2, 4, 4, 1))})
    expected = 0.1 * (kernel ** 2).sum() / 2 + 2 * 0.5 + 3 * 0.25
    np.testing.assert_allclose(got[0], expected, rtol=1e-5)
    np.testing.assert_allclose(got[1], got[2] + expected, rtol=1e-5)


def test_layer_arguments_that_are_not_built_say_so():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 4))
        with pytest.raises(tf.GraphError, match="activity_regularizer is not built"):
            tf.layers.dense(x, 2, activity_regularizer=tf.nn.l2_loss)
        with pytest.raises(tf.GraphError, match="kernel_constraint is not built"):
            tf.layers.conv2d(tf.placeholder(tf.float32, (None, 4, 4, 1)), 2, 3,
                             kernel_constraint=lambda w: w)
        with pytest.raises(tf.GraphError, match="scalar float tensor"):
            tf.layers.dense(x, 2, kernel_regularizer=lambda w: 0.5)


@pytest.mark.tensorflow
def test_batch_normalization_matches_tensorflow_1():
    tensorflow = pytest.importorskip("tensorflow")
    v1 = tensorflow.compat.v1
    x = RNG.standard_normal((6, 3, 3, 2)).astype(np.float32)
    results = []
    for module in (tf, v1):
        graph = module.Graph()
        with graph.as_default():
            inputs = module.constant(x)
            y = module.layers.batch_normalization(inputs, training=True, momentum=0.9)
            updates = graph.get_collection("update_ops")
            with module.Session(graph=graph) as sess:
                sess.run(module.global_variables_initializer())
                out, _ = sess.run([y, updates])
                averages = sess.run([v for v in module.global_variables()
                                     if "moving" in v.op.name])
            results.append([out] + averages)
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
