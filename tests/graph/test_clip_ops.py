"""tf.clip_by_global_norm, tf.clip_by_norm, tf.global_norm and tf.clip_by_value against NumPy,
and the TF1 idiom compute_gradients -> clip -> apply_gradients."""

from __future__ import annotations

import numpy as np
import pytest

import graph as tf

RNG = np.random.default_rng(5)


def _run(fetches, feed=None):
    with tf.Session() as sess:
        return sess.run(fetches, feed)


@pytest.mark.parametrize("clip_norm", [0.5, 3.0, 100.0])
def test_clip_by_global_norm_scales_every_tensor_by_one_factor(clip_norm):
    arrays = [RNG.standard_normal((3, 2)), RNG.standard_normal((4,))]
    norm = np.sqrt(sum((a ** 2).sum() for a in arrays))
    with tf.Graph().as_default():
        tensors = [tf.constant(a) for a in arrays]
        clipped, global_norm = tf.clip_by_global_norm([tensors[0], None, tensors[1]], clip_norm)
        assert clipped[1] is None
        got, got_norm = _run([[clipped[0], clipped[2]], global_norm])
    np.testing.assert_allclose(got_norm, norm, rtol=1e-12)
    scale = clip_norm / max(norm, clip_norm)
    for ours, array in zip(got, arrays):
        np.testing.assert_allclose(ours, array * scale, rtol=1e-12)


def test_clip_by_global_norm_with_an_infinite_norm_gives_nan_and_use_norm_overrides():
    with tf.Graph().as_default():
        values = tf.placeholder(tf.float32, (2,))
        (clipped,), norm = tf.clip_by_global_norm([values], 1.0)
        (given,), _ = tf.clip_by_global_norm([values], 1.0, use_norm=tf.constant(4.0))
        got, got_norm = _run([clipped, norm], {values: [np.inf, 1.0]})
        assert np.isnan(got).all() and np.isinf(got_norm)
        np.testing.assert_allclose(_run(given, {values: [2.0, 2.0]}), [0.5, 0.5])


def test_clip_by_norm_over_all_or_some_axes_and_its_gradient():
    x = RNG.standard_normal((3, 4))
    with tf.Graph().as_default():
        t = tf.constant(x)
        whole = tf.clip_by_norm(t, 1.0, name="clipped")
        rows = tf.clip_by_norm(t, 1.5, axes=[1])
        zeros = tf.placeholder(tf.float64, (2,))
        (grad,) = tf.gradients(tf.reduce_sum(tf.clip_by_norm(zeros, 1.0)), [zeros])
        assert whole.name == "clipped:0"
        got_whole, got_rows = _run([whole, rows])
        got_grad = _run(grad, {zeros: [0.0, 0.0]})
    np.testing.assert_allclose(got_whole, x / max(np.linalg.norm(x), 1.0), rtol=1e-12)
    row_norms = np.linalg.norm(x, axis=1, keepdims=True)
    np.testing.assert_allclose(got_rows, x * 1.5 / np.maximum(row_norms, 1.5), rtol=1e-12)
    assert np.isfinite(got_grad).all()  # no 0 / 0 through the norm of a zero vector


def test_clip_by_value_bounds_values_and_passes_the_gradient_inside():
    with tf.Graph().as_default():
        x = tf.constant([-2.0, 0.5, 3.0])
        y = tf.clip_by_value(x, -1.0, 1.0)
        (grad,) = tf.gradients(tf.reduce_sum(y), [x])
        got, got_grad = _run([y, grad])
    np.testing.assert_array_equal(got, [-1.0, 0.5, 1.0])
    np.testing.assert_array_equal(got_grad, [0.0, 1.0, 0.0])


def test_clipped_gradients_train_through_apply_gradients_with_a_global_step():
    start = np.array([3.0, 4.0])
    with tf.Graph().as_default():
        w = tf.Variable(start, name="w")
        step = tf.train.get_or_create_global_step()
        optimizer = tf.train.GradientDescentOptimizer(0.5)
        grads, variables = zip(*optimizer.compute_gradients(tf.reduce_sum(w * w)))
        clipped, norm = tf.clip_by_global_norm(grads, 1.0)
        train_op = optimizer.apply_gradients(zip(clipped, variables), global_step=step)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            before = sess.run(norm)
            sess.run(train_op)
            after, count = sess.run([w, step])
    assert before == 10.0 and count == 1
    np.testing.assert_allclose(after, start - 0.5 * (2 * start) / 10.0, rtol=1e-12)


def test_clip_arguments_are_checked_where_they_are_written():
    with tf.Graph().as_default():
        a = tf.constant([1.0])
        with pytest.raises(tf.GraphError, match="should be a sequence") as error:
            tf.clip_by_global_norm(a, 1.0)
        assert "test_clip_ops.py" in str(error.value)
        with pytest.raises(tf.GraphError, match="one dtype"):
            tf.clip_by_global_norm([a, tf.constant([1.0], tf.float64)], 1.0)
        with pytest.raises(tf.GraphError, match="clip_norm must be a positive"):
            tf.clip_by_norm(a, -1.0)
        with pytest.raises(tf.GraphError, match="floating point"):
            tf.clip_by_norm(tf.constant([1, 2]), 1.0)
        with pytest.raises(tf.GraphError, match="holds no tensor"):
            tf.clip_by_global_norm([None], 1.0)
