"""graph.api's TensorFlow 1 functions with TensorFlow's own arguments: one_hot with
on_value / off_value / axis / dtype, add_n."""

from __future__ import annotations

import numpy as np
import pytest

import graph as tf


def _numpy_one_hot(indices, depth, on, off, axis, dtype):
    indices = np.asarray(indices)
    hot = indices[..., None] == np.arange(depth)  # out of range: no position is on
    result = np.where(hot, on, off).astype(dtype)
    return result if axis == -1 else np.moveaxis(result, -1, axis)


ONE_HOT_CASES = [
    # (indices, depth, keywords, expected dtype)
    ([0, 2, 1], 3, {}, np.float32),
    ([[0, 3], [1, -1]], 3, {"on_value": 5, "off_value": -1}, np.int32),
    ([[0, 3], [1, 2]], 4, {"axis": 0}, np.float32),
    ([[0, 3], [1, 2]], 4, {"axis": 1, "on_value": 0.9, "off_value": 0.025}, np.float32),
    ([1, 0], 2, {"dtype": tf.float64, "on_value": 2.0}, np.float64),
    ([1, 0], 2, {"on_value": True, "off_value": False}, np.bool_),
]


@pytest.mark.parametrize("indices, depth, keywords, dtype", ONE_HOT_CASES)
def test_one_hot_matches_tensorflow_semantics(indices, depth, keywords, dtype):
    with tf.Graph().as_default():
        labels = tf.placeholder(tf.int64, (None,) + np.shape(indices)[1:])
        hot = tf.one_hot(labels, depth, **keywords)
        with tf.Session() as sess:
            got = sess.run(hot, {labels: indices})
    on = keywords.get("on_value", 1)
    off = keywords.get("off_value", 0)
    expected = _numpy_one_hot(indices, depth, on, off, keywords.get("axis", -1), dtype)
    assert got.dtype == dtype and hot.dtype == dtype
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def test_one_hot_refuses_bad_arguments_where_they_are_written():
    with tf.Graph().as_default():
        labels = tf.constant([0, 1])
        with pytest.raises(tf.GraphError, match="different dtypes|has dtype") as error:
            tf.one_hot(labels, 2, on_value=1.0, off_value=0)
        assert "test_api.py" in str(error.value)
        with pytest.raises(tf.GraphError, match="axis must be"):
            tf.one_hot(labels, 2, axis=2)
        with pytest.raises(tf.GraphError, match="indices must be integers"):
            tf.one_hot(tf.constant([0.0]), 2)
        with pytest.raises(tf.GraphError, match="depth must be"):
            tf.one_hot(labels, -1)
        with pytest.raises(tf.GraphError, match="does not match"):
            tf.one_hot(labels, 2, on_value=tf.constant(1.0), dtype=tf.int32)


def test_add_n_sums_tensors_of_one_shape_and_refuses_broadcasting():
    a, b, c = (np.arange(6.0).reshape(2, 3) * k for k in (1, 2, 3))
    with tf.Graph().as_default():
        holders = [tf.placeholder(tf.float64, (None, 3)) for _ in range(3)]
        total = tf.add_n(holders, name="total")
        assert total.name == "total:0"
        (grad,) = tf.gradients(total * 2.0, holders[:1])
        assert tf.add_n(holders[:1]) is holders[0]
        with tf.Session() as sess:
            got, g = sess.run([total, grad], dict(zip(holders, (a, b, c))))
        with pytest.raises(tf.GraphError, match="shape and dtype of the first"):
            tf.add_n([holders[0], tf.constant([1.0, 2.0, 3.0], tf.float64)])
        with pytest.raises(tf.GraphError, match="at least one"):
            tf.add_n([])
    np.testing.assert_array_equal(got, a + b + c)
    np.testing.assert_array_equal(g, np.full((2, 3), 2.0))
