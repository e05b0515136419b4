"""Placeholders, shapes and dtypes as TensorFlow 1 has them: no shape (unknown rank), shapes as
lists with unknown dimensions, dtypes given as names, NumPy dtypes or Python types, ops on
unknown-rank inputs checked when the graph runs, and feeds checked against the placeholder.

Values are computed by hand or by NumPy; the `tensorflow`-marked tests run the same programs in
TensorFlow's compat.v1 where it is installed and compare.
"""

from __future__ import annotations

import numpy as np
import pytest

import graph as tf
from framework.errors import DTypeError, ShapeError
from graph.core import TensorShape

THIS_FILE = "test_tf1_placeholders.py"


@pytest.fixture
def g():
    graph = tf.Graph()
    with graph.as_default():
        yield graph


def _run(fetches, feed_dict=None):
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(fetches, feed_dict)


# -- unknown rank -----------------------------------------------------------------------------


def test_a_placeholder_without_shape_has_an_unknown_rank(g):
    x = tf.placeholder(tf.float32)
    assert x.shape.ndims is None and x.get_shape().ndims is None and x.shape.rank is None
    assert x.shape.dims is None and not x.shape.is_fully_defined()
    assert x.shape.num_elements() is None and x.shape[0] is None
    assert str(x.shape) == "<unknown>" and "shape=<unknown>" in repr(x)
    assert x.shape == TensorShape(None) and x.shape != () and x.shape != (None,)
    with pytest.raises(ValueError, match="as_list\\(\\) is not defined on an unknown "
                                         "TensorShape"):
        x.get_shape().as_list()
    with pytest.raises(ValueError, match="Cannot take the length of shape with unknown rank"):
        len(x.shape)
    with pytest.raises(ValueError, match="Cannot iterate over a shape with unknown rank"):
        tuple(x.shape)
    # Anything fits an unknown shape; an unknown shape fits anything.
    assert x.shape.is_compatible_with((2, 3)) and TensorShape((2, 3)).is_compatible_with(x.shape)


def test_any_value_feeds_an_unknown_rank_placeholder(g):
    x = tf.placeholder("float")
    y = x * 2.0 + 1.0
    total = tf.reduce_sum(y)
    assert y.shape.ndims is None and y.dtype == np.float32
    assert total.shape == ()  # a full reduction is a scalar whatever the rank
    with tf.Session() as sess:
        assert sess.run(total, {x: 3.0}) == 7.0
        np.testing.assert_array_equal(sess.run(y, {x: [1.0, 2.0]}), [3.0, 5.0])
        np.testing.assert_array_equal(sess.run(y, {x: np.ones((2, 2, 2))}), np.full((2, 2, 2),
                                                                                    3.0))
        assert sess.run(total, {x: np.ones((2, 3))}) == 18.0


def test_unknown_rank_outputs_take_the_dtype_the_rule_gives(g):
    x = tf.placeholder(tf.float32)
    assert tf.equal(x, 1.0).dtype == np.bool_
    assert tf.argmax(tf.placeholder(tf.float32), 0).dtype == np.int64
    assert tf.cast(x, "int32").dtype == np.int32
    assert (tf.placeholder(tf.int32) + 1).dtype == np.int32
    # A dtype the op refuses whatever the rank is refused now, at the line that built it.
    with pytest.raises(DTypeError, match="relu: input has dtype bool") as info:
        tf.nn.relu(tf.placeholder(tf.bool))
    assert THIS_FILE in str(info.value)


def test_a_shape_error_on_unknown_rank_comes_when_run_and_names_the_op(g):
    x = tf.placeholder(tf.float32, name="x")
    product = tf.matmul(x, tf.ones((3, 2)))  # the line the error must name
    assert product.shape.ndims is None
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(product, {x: np.ones((4, 3))}),
                                      np.full((4, 2), 3.0))
        with pytest.raises(ShapeError) as info:
            sess.run(product, {x: np.ones((4, 5))})
    message = str(info.value)
    assert "matmul" in message and "not aligned" in message
    assert f"while running {product.op.name!r} created at" in message
    assert "product = tf.matmul(x, tf.ones((3, 2)))" in message


def test_set_shape_refines_an_unknown_shape(g):
    x = tf.placeholder(tf.float32)
    x.set_shape([None, 3])
    assert x.shape == (None, 3)
    assert tf.matmul(x, tf.ones((3, 2))).shape == (None, 2)  # static rules run again
    x.set_shape((4, None))
    assert x.shape == (4, 3)
    with pytest.raises(tf.GraphError, match=r"\(4, 3\), which is not compatible with \(4, 2\)"):
        x.set_shape([4, 2])
    with pytest.raises(tf.GraphError, match="cannot feed value of shape \\(2, 3\\)"):
        _run(x, {x: np.ones((2, 3))})


def test_ops_that_need_the_rank_say_so_at_the_users_line(g):
    x = tf.placeholder(tf.float32, name="features")
    with pytest.raises(tf.GraphError, match="Cannot take the length of shape with unknown "
                                            "rank.*give the tensor a shape") as info:
        tf.transpose(x)
    assert THIS_FILE in str(info.value)
    with pytest.raises(tf.GraphError, match="'features:0'.*has an unknown rank") as info:
        tf.layers.flatten(x)
    assert THIS_FILE in str(info.value)
    with pytest.raises(tf.GraphError, match="dense: the inputs 'features:0' have an unknown "
                                            "rank"):
        tf.layers.dense(x, 2)
    with pytest.raises(tf.GraphError, match="initial value has an unknown shape <unknown>"):
        tf.Variable(x)


def test_gradients_flow_through_an_unknown_rank_scale(g):
    """The gradient of w * scale folds back onto w's shape when the graph runs, whatever
    shape the scale was fed with."""
    w = tf.Variable([1.0, 2.0, 3.0])
    scale = tf.placeholder(tf.float32)
    loss = tf.reduce_sum(tf.square(w) * scale)
    (grad,) = tf.gradients(loss, [w])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        np.testing.assert_allclose(sess.run(grad, {scale: 0.5}), [1.0, 2.0, 3.0])
        np.testing.assert_allclose(sess.run(grad, {scale: [1.0, 0.0, 2.0]}), [2.0, 0.0, 12.0])
        # A (2, 3) scale broadcasts w over 2 rows: the gradient sums them.
        np.testing.assert_allclose(sess.run(grad, {scale: [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]}),
                                   [6.0, 12.0, 18.0])


def test_mean_squared_error_of_a_shapeless_target_trains_a_linear_model(g):
    """TF1's linear regression tutorial: X and Y placeholders with no shape at all."""
    X, Y = tf.placeholder("float"), tf.placeholder("float")
    W, b = tf.Variable(0.0, name="weight"), tf.Variable(0.0, name="bias")
    prediction = tf.add(tf.multiply(X, W), b)
    cost = tf.reduce_mean(tf.pow(prediction - Y, 2))
    assert cost.shape == ()
    grad_w, grad_b = tf.gradients(cost, [W, b])
    xs, ys = np.array([1.0, 2.0, 3.0]), np.array([3.0, 5.0, 7.0])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        gw, gb = sess.run([grad_w, grad_b], {X: xs, Y: ys})
    np.testing.assert_allclose([gw, gb], [np.mean(-2 * ys * xs), np.mean(-2 * ys)], rtol=1e-6)


def test_a_learning_rate_fed_through_an_unknown_rank_placeholder_trains(g):
    w = tf.Variable([1.0, -2.0])
    learning_rate = tf.placeholder(tf.float32)
    loss = tf.reduce_sum(tf.square(w))
    step = tf.assign_sub(w, learning_rate * tf.gradients(loss, [w])[0])
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(step, {learning_rate: 0.25})
        np.testing.assert_allclose(sess.run(w), [0.5, -1.0])
        with pytest.raises(tf.GraphError, match="value of shape \\(2, 2\\) for a variable of "
                                                "shape \\(2,\\)"):
            sess.run(step, {learning_rate: np.ones((2, 2))})
        np.testing.assert_allclose(sess.run(w), [0.5, -1.0])  # the failed run changed nothing


def test_cond_on_an_unknown_rank_bool_placeholder(g):
    training = tf.placeholder(tf.bool)
    x = tf.constant([1.0, 2.0])
    y = tf.cond(training, lambda: x * 10.0, lambda: x)
    assert y.shape == (2,)
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(y, {training: True}), [10.0, 20.0])
        np.testing.assert_array_equal(sess.run(y, {training: False}), [1.0, 2.0])
        with pytest.raises(tf.GraphError, match="pred must be a scalar bool.*shape \\(2,\\)"):
            sess.run(y, {training: [True, False]})
    with pytest.raises(tf.GraphError, match="pred must be a scalar bool Tensor"):
        tf.cond(tf.placeholder(tf.bool, [2]), lambda: x, lambda: x)


def test_a_cond_with_branches_of_unknown_rank_has_an_unknown_shape(g):
    free = tf.placeholder(tf.float32)
    y = tf.cond(tf.constant(True), lambda: free * 2.0, lambda: tf.constant([1.0, 2.0]))
    assert y.shape.ndims is None
    np.testing.assert_array_equal(_run(y, {free: [[1.0]]}), [[2.0]])


def test_a_loop_variable_of_unknown_rank_is_refused_clearly(g):
    start = tf.placeholder(tf.float32, name="start")
    with pytest.raises(tf.GraphError, match="loop variable .*'start:0'.*unknown rank"):
        tf.while_loop(lambda v: tf.reduce_sum(v) < 10.0, lambda v: v * 2.0, [start])


# -- shapes given as lists, partly known --------------------------------------------------------


def test_placeholder_shapes_as_lists_with_unknown_dimensions(g):
    x = tf.placeholder(tf.float32, [None, 784])
    assert x.shape == (None, 784) and x.get_shape().as_list() == [None, 784]
    assert tf.placeholder(tf.float32, shape=[]).shape == ()
    assert tf.placeholder(tf.float32, TensorShape([2, None])).shape == (2, None)
    assert tf.placeholder(tf.float32, np.array([3, 4])).shape == (3, 4)
    assert tf.placeholder(tf.float32, (np.int64(3), None)).shape == (3, None)
    for bad in ([2.5], [True], "3", [-1, 3]):
        with pytest.raises(tf.GraphError, match="placeholder"):
            tf.placeholder(tf.float32, bad)


def test_feeds_of_the_wrong_rank_or_size_name_the_placeholder_and_its_line(g):
    images = tf.placeholder(tf.float32, [None, 4], name="images")  # the line named
    doubled = images * 2.0
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(doubled, {images: np.ones((3, 4))}),
                                      np.full((3, 4), 2.0))
        for wrong in (np.ones((3, 5)), np.ones(4), np.ones((1, 3, 4))):
            with pytest.raises(tf.GraphError) as info:
                sess.run(doubled, {images: wrong})
            message = str(info.value)
            assert f"cannot feed value of shape {wrong.shape} for tensor 'images:0', which " \
                   "has shape (None, 4)" in message
            assert 'images = tf.placeholder(tf.float32, [None, 4], name="images")' in message


def test_placeholder_with_default_runs_its_default_or_the_fed_value(g):
    batch = tf.placeholder_with_default(np.ones((2, 3), np.float32), shape=[None, 3])
    training = tf.placeholder_with_default(False, shape=[], name="training")
    scaled = tf.cond(training, lambda: batch * 10.0, lambda: batch)
    assert batch.shape == (None, 3) and training.op.type == "PlaceholderWithDefault"
    with tf.Session() as sess:
        np.testing.assert_array_equal(sess.run(scaled), np.ones((2, 3)))
        fed = sess.run(scaled, {training: True, batch: np.ones((1, 3))})
        np.testing.assert_array_equal(fed, np.full((1, 3), 10.0))
        with pytest.raises(tf.GraphError, match=r"cannot feed value of shape \(1, 4\)"):
            sess.run(scaled, {batch: np.ones((1, 4))})
    (grad,) = tf.gradients(tf.reduce_sum(batch * 2.0), [batch])
    np.testing.assert_array_equal(_run(grad), np.full((2, 3), 2.0))
    with pytest.raises(tf.GraphError, match=r"does not fit the shape \(3,\)"):
        tf.placeholder_with_default([1.0, 2.0], shape=[3])


def test_convert_to_tensor(g):
    x = tf.placeholder(tf.float32, [2])
    assert tf.convert_to_tensor(x) is x
    assert tf.convert_to_tensor([1, 2], dtype=tf.float64).dtype == np.float64
    with pytest.raises(tf.GraphError, match="requested dtype int32 for Tensor with dtype "
                                            "float32"):
        tf.convert_to_tensor(x, dtype=tf.int32)


# -- dtypes by name, NumPy dtype or Python type --------------------------------------------------


@pytest.mark.parametrize("given, expected", [
    ("float", np.float32), ("float32", np.float32), ("float64", np.float64),
    ("double", np.float64), ("int32", np.int32), ("int64", np.int64), ("bool", np.bool_),
    (np.float32, np.float32), (np.dtype("float64"), np.float64), (float, np.float32),
    (bool, np.bool_), (tf.double, np.float64), (tf.int32, np.int32)])
def test_dtypes_given_every_way_tensorflow_takes_them(g, given, expected):
    assert tf.placeholder(given).dtype == expected
    assert tf.zeros([2], dtype=given).dtype == expected
    assert tf.cast(tf.constant([1.0, 0.0]), given).dtype == expected


def test_string_dtypes_for_variables_and_casts(g):
    v = tf.Variable(tf.constant([1, 2]), dtype="float")
    w = tf.Variable([1.0, 2.0], dtype="double")
    c = tf.cast(tf.placeholder(tf.int32, [None]), "float")
    assert (v.dtype, w.dtype, c.dtype) == (np.float32, np.float64, np.float32)
    np.testing.assert_array_equal(_run(v), np.array([1.0, 2.0], np.float32))
    with pytest.raises(Exception, match="unsupported dtype 'float16'"):
        tf.placeholder("float16")


# -- against TensorFlow, where it is installed ---------------------------------------------------


@pytest.mark.tensorflow
def test_same_shapes_and_values_as_tensorflow():
    tf1 = pytest.importorskip("tensorflow").compat.v1
    tf1.disable_eager_execution()

    def program(api):
        with api.Graph().as_default():
            x = api.placeholder("float")
            m = api.placeholder(api.float32, [None, 3])
            y = api.reduce_sum(x * 2.0) + api.reduce_sum(m, reduction_indices=[1])
            with api.Session() as sess:
                value = sess.run(y, {x: [[1.0, 2.0]], m: [[1.0, 2.0, 3.0]]})
            return x.shape.ndims, m.get_shape().as_list(), value

    ours, theirs = program(tf), program(tf1)
    assert ours[:2] == theirs[:2]
    np.testing.assert_allclose(ours[2], theirs[2])
