"""Shapes given as tensors (graph.dynamic_shapes): TF1 tutorials' idioms such as
tf.reshape(x, [tf.shape(x)[0], -1]), tf.zeros(tf.shape(x)) and tf.tile(x, [batch, 1]).

Each case builds a graph, checks the static shape TF1 gives, runs it interpreted
(Session(compile=False)) and compiled (sess.compile) and compares both with NumPy."""

import os
import sys
import warnings

import numpy as np
import pytest

import graph as tf
from graph.compile import FallbackWarning, NotCompilable

HERE = os.path.basename(__file__)
X = np.arange(12, dtype=np.float32).reshape(4, 3)


def line() -> int:
    """The caller's line number: where the op built on that line was created."""
    return sys._getframe(1).f_lineno


def run_both(fetch, feed=None):
    """fetch's values from an interpreted Session and from a compiled step of the same graph,
    which must agree bit for bit."""
    with tf.Session(compile=False) as sess:
        expected = sess.run(fetch, feed)
    with tf.Session() as sess, warnings.catch_warnings():
        warnings.simplefilter("ignore", FallbackWarning)  # these nodes run from Python
        sess.compile(fetch, feed)
        value = sess.run(fetch, feed)
    if isinstance(fetch, (list, tuple)):
        for got, want in zip(value, expected):
            np.testing.assert_array_equal(got, want)
            assert got.dtype == want.dtype
    else:
        np.testing.assert_array_equal(value, expected)
        assert value.dtype == expected.dtype
    return expected


def errors_both(fetch, feed, *needles):
    """The GraphError running fetch raises, interpreted and compiled: it names each needle."""
    messages = []
    for compiled in (False, True):
        with tf.Session(compile=compiled) as sess, warnings.catch_warnings():
            warnings.simplefilter("ignore", FallbackWarning)
            with pytest.raises(tf.GraphError) as raised:
                if compiled:
                    try:
                        sess.compile(fetch, feed)
                    except NotCompilable:  # an output of unknown rank: run interpreted
                        pass
                sess.run(fetch, feed)
        message = str(raised.value)
        for needle in needles:
            assert needle in message, (needle, message)
        messages.append(message)
    return messages


@pytest.fixture(autouse=True)
def fresh_graph():
    with tf.Graph().as_default():
        yield


# -- reshape ------------------------------------------------------------------------------------


def test_reshape_batch_and_minus_one_keeps_the_known_size():
    x = tf.placeholder(tf.float32, (None, 2, 3))
    flat = tf.reshape(x, [tf.shape(x)[0], -1])
    assert flat.shape.as_list() == [None, 6]  # TF1: (?, 6)
    value = np.arange(24, dtype=np.float32).reshape(4, 2, 3)
    np.testing.assert_array_equal(run_both(flat, {x: value}), value.reshape(4, 6))


def test_reshape_to_another_tensors_shape():
    x = tf.placeholder(tf.float32, (None, 3))
    y = tf.placeholder(tf.float32, (None,))
    back = tf.reshape(y, tf.shape(x))
    assert back.shape.as_list() == [None, 3]
    np.testing.assert_array_equal(run_both(back, {x: X, y: X.ravel()}), X)


def test_reshape_with_a_fed_size_and_int64_entries():
    x = tf.placeholder(tf.float32, (None, 3))
    rows = tf.placeholder(tf.int64, ())
    out = tf.reshape(x, [rows, tf.shape(x, out_type=tf.int64)[1] * 2])
    assert out.shape.as_list() == [None, 6]  # 3 * 2 is known when building
    np.testing.assert_array_equal(run_both(out, {x: X, rows: 2}), X.reshape(2, 6))


def test_reshape_constant_shape_tensor_is_fully_static():
    x = tf.placeholder(tf.float32, (4, 3))
    out = tf.reshape(x, tf.constant([2, -1]))
    assert out.shape.as_list() == [2, 6]
    np.testing.assert_array_equal(run_both(out, {x: X}), X.reshape(2, 6))


def test_reshape_static_ints_path_unchanged():
    x = tf.placeholder(tf.float32, (None, 3))
    out = tf.reshape(x, [-1, 6])
    assert out.op.type == "reshape"  # the registry primitive, as before
    np.testing.assert_array_equal(run_both(out, {x: X}), X.reshape(2, 6))


def test_reshape_run_time_errors_name_the_problem_and_line():
    x = tf.placeholder(tf.float32, (None, 3))
    shape = tf.placeholder(tf.int32, (None,))
    out, where = tf.reshape(x, shape), line()
    site = f"{HERE}:{where}"
    errors_both(out, {x: X, shape: [-1, -1]}, "more than one -1", "Reshape 'Reshape", site)
    errors_both(out, {x: X, shape: [5, -1]}, "does not divide", site)
    errors_both(out, {x: X, shape: [5, 2]}, "(10 elements)", site)
    errors_both(out, {x: X, shape: [-3, 4]}, "negative size", site)
    rank_free = tf.placeholder(tf.int32, None)
    out, where = tf.reshape(x, rank_free), line()
    errors_both(out, {x: X, rank_free: [[4, 3]]}, "must be 1-d", f"{HERE}:{where}")


def test_reshape_bad_shape_tensors_refused_when_building():
    x = tf.placeholder(tf.float32, (None, 3))
    with pytest.raises(tf.GraphError, match="1-d int32 or int64"):
        tf.reshape(x, tf.placeholder(tf.float32, (2,)))
    with pytest.raises(tf.GraphError, match="1-d int32 or int64"):
        tf.reshape(x, tf.placeholder(tf.int32, (2, 2)))
    with pytest.raises(tf.GraphError, match="scalar int tensor"):
        tf.reshape(x, [tf.shape(x), 3])
    with pytest.raises(tf.GraphError, match="ints >= 0 or -1"):
        tf.reshape(x, [tf.shape(x)[0], -2])


# -- zeros, ones, fill --------------------------------------------------------------------------


def test_zeros_ones_of_dynamic_shapes():
    x = tf.placeholder(tf.float32, (None, 3))
    batch_size = tf.placeholder(tf.int32, ())
    cases = [
        (tf.zeros([tf.shape(x)[0], 4]), [None, 4], np.zeros((4, 4), np.float32)),
        (tf.zeros(tf.shape(x)), [None, 3], np.zeros((4, 3), np.float32)),
        (tf.ones([batch_size, 10], tf.int64), [None, 10], np.ones((5, 10), np.int64)),
        (tf.ones(batch_size), [None], np.ones(5, np.float32)),
        (tf.zeros(3), [3], np.zeros(3, np.float32)),
        (tf.ones(np.int64(2)), [2], np.ones(2, np.float32)),
        (tf.zeros(tf.constant([2, 3])), [2, 3], np.zeros((2, 3), np.float32)),
    ]
    for tensor, static, _ in cases:
        assert tensor.shape.as_list() == static
    values = run_both([c[0] for c in cases], {x: X, batch_size: 5})
    for value, (_, _, want) in zip(values, cases):
        np.testing.assert_array_equal(value, want)
        assert value.dtype == want.dtype


def test_fill_of_dynamic_shapes():
    x = tf.placeholder(tf.float32, (None, 3))
    scale = tf.placeholder(tf.float64, ())
    cases = [
        (tf.fill([tf.shape(x)[0], 2], 1.5), [None, 2], np.full((4, 2), 1.5, np.float32)),
        (tf.fill(tf.shape(x), 7), [None, 3], np.full((4, 3), 7, np.int32)),
        (tf.fill([2, tf.shape(x)[1]], scale), [2, 3], np.full((2, 3), 0.25)),
        (tf.fill(2, 3.0), [2], np.full(2, 3.0, np.float32)),
    ]
    for tensor, static, _ in cases:
        assert tensor.shape.as_list() == static
    values = run_both([c[0] for c in cases], {x: X, scale: 0.25})
    for value, (_, _, want) in zip(values, cases):
        np.testing.assert_array_equal(value, want)
        assert value.dtype == want.dtype


def test_fill_errors():
    batch_size = tf.placeholder(tf.int32, ())
    zeros, where = tf.zeros([batch_size, 2]), line()
    errors_both(zeros, {batch_size: -1}, "negative size", "DynamicFill", f"{HERE}:{where}")
    with pytest.raises(tf.GraphError, match="value must be a scalar"):
        tf.fill([batch_size], tf.constant([1.0, 2.0]))
    with pytest.raises(tf.GraphError, match="scalar int tensor"):
        tf.zeros([tf.placeholder(tf.float32, ()), 2])


def test_fill_gradient_goes_to_the_value_not_the_shape():
    x = tf.placeholder(tf.float32, (None, 3))
    value = tf.placeholder(tf.float32, ())
    filled = tf.fill(tf.shape(x), value)
    shape_grad, value_grad = tf.gradients(tf.reduce_sum(filled), [x, value])
    assert shape_grad is None
    assert run_both(value_grad, {x: X, value: 2.0}) == 12.0


# -- tile, broadcast_to -------------------------------------------------------------------------


def test_tile_by_the_batch_size():
    x = tf.placeholder(tf.float32, (None, 3))
    tiled = tf.tile(x, [tf.shape(x)[0], 1])
    assert tiled.shape.as_list() == [None, 3]
    np.testing.assert_array_equal(run_both(tiled, {x: X}), np.tile(X, (4, 1)))
    twice = tf.tile(tf.placeholder_with_default(X, (4, 3)), [2, tf.constant(3)])
    assert twice.shape.as_list() == [8, 9]  # a constant multiple is known when building
    np.testing.assert_array_equal(run_both(twice), np.tile(X, (2, 3)))


def test_tile_errors():
    x = tf.placeholder(tf.float32, (None, 3))
    multiples = tf.placeholder(tf.int32, (None,))
    tiled, where = tf.tile(x, multiples), line()
    errors_both(tiled, {x: X, multiples: [2]}, "one entry for each of the 2 axes",
                f"{HERE}:{where}")
    errors_both(tiled, {x: X, multiples: [2, -1]}, "negative size", "multiples")
    with pytest.raises(tf.GraphError, match="one entry for each of the 2 axes"):
        tf.tile(x, [tf.shape(x)[0], 1, 1])


def test_broadcast_to_a_run_time_shape():
    x = tf.placeholder(tf.float32, (None, 3))
    row = tf.broadcast_to(tf.constant([1.0, 2.0, 3.0]), tf.shape(x))
    column = tf.broadcast_to(tf.ones([4, 1]), [4, tf.shape(x)[1]])
    static = tf.broadcast_to(tf.constant([1, 2]), [3, 2])
    assert row.shape.as_list() == [None, 3] and column.shape.as_list() == [4, 3]
    values = run_both([row, column, static], {x: X})
    np.testing.assert_array_equal(values[0], np.broadcast_to([1, 2, 3], (4, 3)))
    np.testing.assert_array_equal(values[1], np.ones((4, 3)))
    np.testing.assert_array_equal(values[2], [[1, 2]] * 3)
    shape = tf.placeholder(tf.int32, (2,))
    out, where = tf.broadcast_to(tf.constant([1.0, 2.0, 3.0]), shape), line()
    errors_both(out, {shape: [2, 4]}, "cannot broadcast a value of shape (3,) to [2, 4]",
                f"{HERE}:{where}")
    with pytest.raises(tf.GraphError, match="cannot broadcast"):
        tf.broadcast_to(tf.constant([1.0, 2.0, 3.0]), [tf.shape(x)[0], 2])


# -- random ops, range, one_hot -----------------------------------------------------------------


def test_random_ops_with_dynamic_shapes():
    x = tf.placeholder(tf.float32, (None, 3))
    normal = tf.random_normal([tf.shape(x)[0], 5], seed=1)
    uniform = tf.random_uniform(tf.shape(x), seed=2)
    assert normal.shape.as_list() == [None, 5]
    assert uniform.shape.as_list() == [None, 3]  # the known size of x survives tf.shape
    first, second = run_both([normal, uniform], {x: X})
    assert first.shape == (4, 5) and second.shape == (4, 3)
    assert ((second >= 0) & (second < 1)).all()


def test_range_of_a_run_time_size():
    x = tf.placeholder(tf.float32, (None, 3))
    count = tf.range(tf.shape(x)[0])
    steps = tf.range(1, tf.shape(x)[1] * 3, 2)
    floats = tf.range(tf.constant(0.5), 2.0, 0.5)
    assert count.shape.as_list() == [None] and count.dtype == np.int32
    assert floats.shape.as_list() == [3] and floats.dtype == np.float32
    values = run_both([count, steps, floats], {x: X})
    np.testing.assert_array_equal(values[0], np.arange(4))
    np.testing.assert_array_equal(values[1], np.arange(1, 9, 2))
    np.testing.assert_array_equal(values[2], np.arange(0.5, 2.0, 0.5, dtype=np.float32))
    delta = tf.placeholder(tf.int32, ())
    out, where = tf.range(0, 5, delta), line()
    errors_both(out, {delta: 0}, "delta must not be 0", f"{HERE}:{where}")


def test_one_hot_with_a_tensor_depth():
    labels = tf.placeholder(tf.int32, (None,))
    depth = tf.placeholder(tf.int32, ())
    encoded = tf.one_hot(labels, depth)
    assert encoded.shape.as_list() == [None, None]
    value = run_both(encoded, {labels: [0, 2, 5], depth: 4})
    np.testing.assert_array_equal(value, np.eye(4, dtype=np.float32)[[0, 2]].tolist() +
                                  [[0.0] * 4])
    with pytest.raises(tf.GraphError, match="depth must be a scalar int"):
        tf.one_hot(labels, tf.placeholder(tf.float32, ()))


# -- gradients against float64 finite differences -----------------------------------------------


def _finite_difference_check(build, value):
    """tf.gradients of sum(w * f(x)**2) for f = build(x) against central differences in
    float64, interpreted and compiled."""
    x = tf.placeholder(tf.float64, (None, 3))
    out = build(x)
    with tf.Session(compile=False) as sess:
        shape = sess.run(out, {x: value}).shape
    weights = np.random.default_rng(0).normal(size=shape)
    loss = tf.reduce_sum(tf.square(out) * weights)
    (grad,) = tf.gradients(loss, [x])
    analytic = run_both(grad, {x: value})
    numeric = np.zeros_like(value)
    eps = 1e-6
    with tf.Session(compile=False) as sess:
        for index in np.ndindex(value.shape):
            up, down = value.copy(), value.copy()
            up[index] += eps
            down[index] -= eps
            numeric[index] = (sess.run(loss, {x: up}) - sess.run(loss, {x: down})) / (2 * eps)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


VALUE = np.random.default_rng(1).normal(size=(4, 3))


def test_reshape_gradient_finite_differences():
    _finite_difference_check(lambda x: tf.reshape(x, [-1, tf.shape(x)[0]]), VALUE)
    _finite_difference_check(lambda x: tf.reshape(x, tf.stack([tf.shape(x)[0] * 3])), VALUE)


def test_tile_gradient_finite_differences():
    _finite_difference_check(lambda x: tf.tile(x, [2, tf.shape(x)[0]]), VALUE)


def test_broadcast_to_gradient_finite_differences():
    _finite_difference_check(
        lambda x: tf.broadcast_to(x, [2, tf.shape(x)[0], tf.shape(x)[1]]), VALUE)


def test_training_step_with_dynamic_shapes():
    """A TF1-style model whose batch-sized tensors come from tf.shape, trained compiled."""
    x = tf.placeholder(tf.float32, (None, 3))
    w = tf.Variable(np.ones((3, 2), np.float32))
    hidden = tf.matmul(x, w) + tf.zeros([tf.shape(x)[0], 2])
    flat = tf.reshape(hidden, [tf.shape(x)[0], -1])
    loss = tf.reduce_mean(tf.square(flat))
    train = tf.train.GradientDescentOptimizer(0.01).minimize(loss)
    results = []
    for compiled in (False, True):
        with tf.Session(compile=compiled) as sess, warnings.catch_warnings():
            warnings.simplefilter("ignore", FallbackWarning)
            sess.run(tf.global_variables_initializer())
            for _ in range(3):
                sess.run(train, {x: X})
            results.append(sess.run(w))
    np.testing.assert_array_equal(results[0], results[1])
    assert (results[0] < 1).all()


# -- slice --------------------------------------------------------------------------------------


def test_slice_with_run_time_begin_and_size():
    x = tf.placeholder(tf.float32, (None, 3))
    start = tf.placeholder(tf.int32, ())
    head = tf.slice(x, [0, 1], [tf.shape(x)[0] - 1, -1])
    window = tf.slice(x, tf.stack([start, 0]), [2, 3])
    rest = tf.slice(x, [1, 0], [-1, -1])  # ints on a value whose size is known only at run time
    fixed = tf.slice(tf.constant(X), [1, 1], [2, -1])
    assert head.shape.as_list() == [None, 2] and window.shape.as_list() == [2, 3]
    assert rest.shape.as_list() == [None, 3] and fixed.shape.as_list() == [2, 2]
    values = run_both([head, window, rest, fixed], {x: X, start: 1})
    for value, want in zip(values, [X[:3, 1:], X[1:3], X[1:], X[1:3, 1:]]):
        np.testing.assert_array_equal(value, want)
    out, where = tf.slice(x, [start, 0], [2, -1]), line()
    errors_both(out, {x: X, start: 3}, "do not fit axis 0 of size 4", f"{HERE}:{where}")
    errors_both(out, {x: X, start: -1}, "the begin [-1, 0] has a negative offset")
    with pytest.raises(tf.GraphError, match="one entry for each of the 2 axes"):
        tf.slice(x, [start], [2])
    with pytest.raises(tf.GraphError, match="do not fit axis 1"):
        tf.slice(tf.constant(X), [0, 2], [1, 2])


def test_slice_gradient_finite_differences():
    _finite_difference_check(lambda x: tf.slice(x, [1, 0], [tf.shape(x)[0] - 2, 2]), VALUE)


# -- x[...] with tensors in the index (strided_slice) -------------------------------------------


def test_indexing_with_scalar_tensors():
    x = tf.placeholder(tf.float32, (None, 3))
    n = tf.placeholder(tf.int32, ())
    cases = [
        (x[:tf.shape(x)[0] - 1], [None, 3], X[:3]),
        (x[:, :tf.shape(x)[1] - 1], [None, 2], X[:, :2]),
        (x[n], [3], X[2]),
        (x[..., n - 1], [None], X[..., 1]),
        (x[n::-1, None, 1:], [None, 1, 2], X[2::-1, None, 1:]),
    ]
    for tensor, static, _ in cases:
        assert tensor.shape.as_list() == static
    values = run_both([c[0] for c in cases], {x: X, n: 2})
    for value, (_, _, want) in zip(values, cases):
        np.testing.assert_array_equal(value, want)
    assert x[1:2].op.type == "getitem"  # the static path as before
    out, where = x[n], line()
    errors_both(out, {x: X, n: 4}, "index 4 is out of range for axis 0 of size 4",
                f"{HERE}:{where}")
    with pytest.raises(tf.GraphError, match="use tf.gather"):
        x[tf.constant([0, 1])]


def test_indexing_gradient_finite_differences():
    _finite_difference_check(lambda x: x[1:tf.shape(x)[0], ::-2], VALUE)
    _finite_difference_check(lambda x: x[tf.shape(x)[0] - 2] * 3.0, VALUE)


def test_strided_slice_with_masks_and_tensors():
    x = tf.placeholder(tf.float32, (None, 3))
    bounds = tf.placeholder(tf.int32, (2,))
    cases = [
        (tf.strided_slice(x, [1, 0], [tf.shape(x)[0], 3], [2, 1]), [None, 3], X[1::2]),
        (tf.strided_slice(x, [0, 2], [0, 0], [1, -1], begin_mask=1, end_mask=3),
         [None, 3], X[:, 2::-1]),
        (tf.strided_slice(x, bounds, [4, 3], shrink_axis_mask=1), [None], X[1, 2:]),
        (tf.strided_slice(x, [0, 0], [1, 1], new_axis_mask=1, ellipsis_mask=2),
         [1, None, 3], X[None, ...]),
    ]
    for tensor, static, _ in cases:
        assert tensor.shape.as_list() == static
    values = run_both([c[0] for c in cases], {x: X, bounds: [1, 2]})
    for value, (_, _, want) in zip(values, cases):
        np.testing.assert_array_equal(value, want)
    with pytest.raises(tf.GraphError, match="one length"):
        tf.strided_slice(x, [0, 0], [1])
