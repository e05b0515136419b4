"""TensorFlow 1 names built as thin wrappers over the shared ops: range, fill, eye, tile,
unstack, reverse, size, rank, the to_* casts, integer and true division, cumsum, logical and
boolean reductions, norm, count_nonzero, and tf.nn's top_k, l2_normalize, in_top_k, selu."""

from __future__ import annotations

import numpy as np
import pytest

import graph as tf


def _run(fetches, feed=None):
    with tf.Session() as sess:
        return sess.run(fetches, feed)


def _fd_check(build, x0, eps=1e-6, rtol=1e-5, atol=1e-7):
    """The gradient of sum(build(x)) against central differences, in float64."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, x0.shape)
        y = tf.reduce_sum(build(x))
        grad, = tf.gradients(y, [x])
        with tf.Session() as sess:
            got = sess.run(grad, {x: x0})
            expected = np.zeros_like(x0)
            for i in np.ndindex(x0.shape):
                step = np.zeros_like(x0)
                step[i] = eps
                up, down = sess.run(y, {x: x0 + step}), sess.run(y, {x: x0 - step})
                expected[i] = (up - down) / (2 * eps)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


@pytest.mark.parametrize("args, keywords, expected", [
    ((5,), {}, np.arange(5, dtype=np.int32)),
    ((3, 18, 3), {}, np.arange(3, 18, 3, dtype=np.int32)),
    ((10, 2, -3), {}, np.arange(10, 2, -3, dtype=np.int32)),
    ((1.0, 2.0, 0.25), {}, np.arange(1.0, 2.0, 0.25, dtype=np.float32)),
    ((0, 4), {"dtype": tf.float64}, np.arange(0, 4, dtype=np.float64)),
    ((2**33, 2**33 + 2), {}, np.arange(2**33, 2**33 + 2, dtype=np.int64)),
])
def test_range_counts_with_tensorflows_default_dtypes(args, keywords, expected):
    with tf.Graph().as_default():
        counted = tf.range(*args, **keywords)
        got = _run(counted)
    assert got.dtype == expected.dtype and counted.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


def test_range_refuses_a_zero_step_where_written_and_takes_a_tensor_bound():
    with tf.Graph().as_default():
        with pytest.raises(tf.GraphError, match="delta must not be 0") as error:
            tf.range(0, 5, 0)
        assert "test_tf1_more_names.py" in str(error.value)
        with pytest.raises(tf.GraphError, match="limit must be a scalar number"):
            tf.range(0, tf.constant([3, 4]))
        got = _run(tf.range(0, tf.constant(3)), {})  # read when the graph runs, as in TF1
    np.testing.assert_array_equal(got, [0, 1, 2])


def test_fill_eye_and_tile_build_what_numpy_builds():
    with tf.Graph().as_default():
        scalar = tf.placeholder(tf.float32, ())
        fetches = {
            "fill": tf.fill([2, 3], 9), "fill_float": tf.fill([2], 0.5),
            "fill_fed": tf.fill([3, 1], scalar),
            "eye": tf.eye(2, 3), "eye_batch": tf.eye(2, batch_shape=[3], dtype=tf.int32),
            "tile": tf.tile(tf.constant([[1, 2], [3, 4]]), [2, 3]),
        }
        got = _run(fetches, {scalar: 1.5})
    assert got["fill"].dtype == np.int32
    np.testing.assert_array_equal(got["fill"], np.full((2, 3), 9))
    assert got["fill_float"].dtype == np.float32
    np.testing.assert_array_equal(got["fill_fed"], np.full((3, 1), 1.5, np.float32))
    np.testing.assert_array_equal(got["eye"], np.eye(2, 3, dtype=np.float32))
    assert got["eye_batch"].dtype == np.int32
    np.testing.assert_array_equal(got["eye_batch"], np.broadcast_to(np.eye(2), (3, 2, 2)))
    np.testing.assert_array_equal(got["tile"], np.tile([[1, 2], [3, 4]], (2, 3)))


def test_tile_needs_one_multiple_per_axis_and_fill_a_scalar():
    with tf.Graph().as_default():
        with pytest.raises(tf.GraphError, match="one entry for each of the 2 axes"):
            tf.tile(tf.constant([[1, 2]]), [2])
        with pytest.raises(tf.GraphError, match="value must be a scalar"):
            tf.fill([2], [1, 2])
        with pytest.raises(tf.GraphError, match="non-negative ints"):
            tf.fill([2, -1], 0)


def test_tile_gradient_sums_the_copies():
    _fd_check(lambda x: tf.tile(x, [2, 3]) * tf.constant(np.arange(24.0).reshape(4, 6)),
              np.random.default_rng(0).normal(size=(2, 2)))


def test_unstack_reverse_size_and_rank():
    value = np.arange(24).reshape(2, 3, 4)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.int64, (None, 3, 4))
        pieces = tf.unstack(x, axis=1)
        fed_rows = tf.unstack(x, num=2)
        fetches = {"pieces": pieces, "rows": fed_rows, "reversed": tf.reverse(x, [0, 2]),
                   "size": tf.size(x), "size64": tf.size(x, out_type=tf.int64),
                   "rank": tf.rank(x)}
        got = _run(fetches, {x: value})
    assert len(pieces) == 3 and pieces[0].shape == (None, 4)
    for i in range(3):
        np.testing.assert_array_equal(got["pieces"][i], value[:, i])
    np.testing.assert_array_equal(got["rows"][1], value[1])
    np.testing.assert_array_equal(got["reversed"], value[::-1, :, ::-1])
    assert got["size"] == 24 and got["size"].dtype == np.int32
    assert got["size64"].dtype == np.int64
    assert got["rank"] == 3 and got["rank"].dtype == np.int32


def test_unstack_needs_a_known_count():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 3))
        with pytest.raises(tf.GraphError, match="unknown; give num"):
            tf.unstack(x)
        with pytest.raises(tf.GraphError, match="axis must be in"):
            tf.unstack(x, axis=2)


def test_to_casts_give_their_dtypes():
    with tf.Graph().as_default():
        x = tf.constant([1.7, -2.5])
        got = _run([tf.to_float(tf.constant([1, 2])), tf.to_int32(x), tf.to_int64(x)])
    assert [g.dtype for g in got] == [np.float32, np.int32, np.int64]
    np.testing.assert_array_equal(got[1], [1, -2])


def test_integer_and_true_division_follow_tensorflow():
    with tf.Graph().as_default():
        ints = tf.constant(np.array([7, -7, 6], np.int32))
        got = _run({"floordiv": tf.floordiv(ints, 2), "mod": tf.mod(ints, 3),
                    "fmod": tf.mod(tf.constant([7.5, -7.5]), 2.0),
                    "truediv": tf.truediv(ints, tf.constant(np.int32(4))),
                    "truediv64": tf.truediv(tf.constant(np.array([3], np.int64)), 2),
                    "truediv_float": tf.truediv(tf.constant([1.0]), 4.0)})
    np.testing.assert_array_equal(got["floordiv"], [3, -4, 3])
    assert got["floordiv"].dtype == np.int32
    np.testing.assert_array_equal(got["mod"], [1, 2, 0])
    np.testing.assert_array_equal(got["fmod"], np.mod([7.5, -7.5], 2.0).astype(np.float32))
    assert got["truediv"].dtype == np.float64
    np.testing.assert_array_equal(got["truediv"], [1.75, -1.75, 1.5])
    assert got["truediv64"].dtype == np.float64 and got["truediv64"][0] == 1.5
    assert got["truediv_float"].dtype == np.float32


@pytest.mark.parametrize("exclusive", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_cumsum_exclusive_and_reverse_match_numpy(exclusive, reverse, axis):
    value = np.arange(1, 13, dtype=np.int32).reshape(3, 4)
    flipped = np.flip(value, axis) if reverse else value
    expected = np.cumsum(flipped, axis) - (flipped if exclusive else 0)
    expected = np.flip(expected, axis) if reverse else expected
    with tf.Graph().as_default():
        summed = tf.cumsum(tf.constant(value), axis, exclusive=exclusive, reverse=reverse)
        got = _run(summed)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("exclusive, reverse", [(False, False), (True, True), (True, False)])
def test_cumsum_gradient(exclusive, reverse):
    weights = np.arange(1.0, 7.0).reshape(2, 3)
    _fd_check(lambda x: tf.cumsum(x, 1, exclusive=exclusive, reverse=reverse) * weights,
              np.random.default_rng(1).normal(size=(2, 3)))


def test_boolean_reductions_and_logic():
    a = np.array([[True, False, True], [True, True, True]])
    b = np.array([False, True, True])
    with tf.Graph().as_default():
        x = tf.placeholder(tf.bool, (2, 3))
        got = _run({"all": tf.reduce_all(x), "all1": tf.reduce_all(x, axis=1),
                    "any0": tf.reduce_any(tf.logical_not(x), 0, keepdims=True),
                    "and": tf.logical_and(x, b), "or": tf.logical_or(x, b),
                    "not": tf.logical_not(x)}, {x: a})
    assert got["all"] == np.False_ and got["all1"].dtype == np.bool_
    np.testing.assert_array_equal(got["all1"], a.all(1))
    np.testing.assert_array_equal(got["any0"], (~a).any(0, keepdims=True))
    np.testing.assert_array_equal(got["and"], a & b)
    np.testing.assert_array_equal(got["or"], a | b)
    np.testing.assert_array_equal(got["not"], ~a)


def test_logic_refuses_non_bool_inputs():
    with tf.Graph().as_default():
        with pytest.raises(tf.GraphError, match="expected a bool tensor") as error:
            tf.logical_and(tf.constant([1, 0]), tf.constant([True, False]))
        assert "test_tf1_more_names.py" in str(error.value)
        with pytest.raises(tf.GraphError, match="reduce_any: expected a bool"):
            tf.reduce_any(tf.constant([1.0]))


def test_count_nonzero_and_norm_match_numpy():
    value = np.array([[3.0, 0.0, -4.0], [0.0, 0.0, 12.0]])
    with tf.Graph().as_default():
        x = tf.constant(value)
        got = _run({"count": tf.count_nonzero(x), "count1": tf.count_nonzero(x, axis=1),
                    "count32": tf.count_nonzero(x, 0, dtype=tf.int32),
                    "norm": tf.norm(x), "norm1": tf.norm(x, axis=1, keepdims=True),
                    "l1": tf.norm(x, ord=1, axis=0), "inf": tf.norm(x, ord=np.inf),
                    "fro": tf.norm(x, ord="fro", axis=[0, 1])})
    assert got["count"] == 3 and got["count"].dtype == np.int64
    np.testing.assert_array_equal(got["count1"], [2, 1])
    assert got["count32"].dtype == np.int32
    np.testing.assert_allclose(got["norm"], np.linalg.norm(value))
    np.testing.assert_allclose(got["norm1"], np.linalg.norm(value, axis=1, keepdims=True))
    np.testing.assert_allclose(got["l1"], np.abs(value).sum(0))
    np.testing.assert_allclose(got["inf"], 12.0)
    np.testing.assert_allclose(got["fro"], np.linalg.norm(value))


def test_norm_gradient_and_refusals():
    _fd_check(lambda x: tf.norm(x, axis=1), np.random.default_rng(2).normal(size=(2, 3)))
    with tf.Graph().as_default():
        with pytest.raises(tf.GraphError, match="ord must be"):
            tf.norm(tf.constant([1.0]), ord=3)
        with pytest.raises(tf.GraphError, match="needs axis to name two axes"):
            tf.norm(tf.constant([1.0]), ord="fro")
        with pytest.raises(tf.GraphError, match="over two axes only"):
            tf.norm(tf.constant([[1.0]]), ord=1, axis=[0, 1])


def test_selu_and_l2_normalize_match_numpy():
    value = np.array([[-2.0, 0.0, 1.5], [3.0, -0.5, 4.0]])
    alpha, scale = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946
    with tf.Graph().as_default():
        x = tf.constant(value)
        got = _run({"selu": tf.nn.selu(x), "rows": tf.nn.l2_normalize(x, axis=1),
                    "all": tf.nn.l2_normalize(x), "dim": tf.nn.l2_normalize(x, dim=0),
                    "zero": tf.nn.l2_normalize(tf.zeros([3]), 0)})
    np.testing.assert_allclose(got["selu"], scale * np.where(value > 0, value,
                                                             alpha * np.expm1(value)))
    np.testing.assert_allclose(got["rows"],
                               value / np.linalg.norm(value, axis=1, keepdims=True))
    np.testing.assert_allclose(got["all"], value / np.linalg.norm(value))
    np.testing.assert_allclose(got["dim"], value / np.linalg.norm(value, axis=0))
    np.testing.assert_array_equal(got["zero"], np.zeros(3, np.float32))


def test_selu_and_l2_normalize_gradients():
    rng = np.random.default_rng(3)
    _fd_check(lambda x: tf.nn.selu(x) * np.arange(1.0, 7.0).reshape(2, 3),
              rng.normal(size=(2, 3)) + 0.05)
    _fd_check(lambda x: tf.nn.l2_normalize(x, 1) * np.arange(1.0, 7.0).reshape(2, 3),
              rng.normal(size=(2, 3)))


def test_top_k_returns_sorted_values_and_int32_indices():
    value = np.array([[1.0, 5.0, 3.0, 5.0], [0.0, -1.0, 2.0, 1.0]], np.float32)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 4))
        values, indices = tf.nn.top_k(x, k=3)
        got_values, got_indices = _run([values, indices], {x: value})
    np.testing.assert_array_equal(got_values, [[5.0, 5.0, 3.0], [2.0, 1.0, 0.0]])
    assert got_indices.dtype == np.int32
    np.testing.assert_array_equal(got_indices, [[1, 3, 2], [2, 3, 0]])


def test_top_k_gradient_reaches_the_chosen_entries():
    _fd_check(lambda x: tf.nn.top_k(x, 2)[0] * np.array([1.0, 3.0]),
              np.array([[0.3, 0.9, -0.2], [1.1, 0.1, 0.5]]))


def test_top_k_refuses_a_k_above_the_axis_size():
    with tf.Graph().as_default():
        with pytest.raises(tf.GraphError, match="at least k=4 entries") as error:
            tf.nn.top_k(tf.constant([1.0, 2.0, 3.0]), 4)
        assert "test_tf1_more_names.py" in str(error.value)


def test_in_top_k_counts_ties_and_refuses_out_of_range_targets():
    scores = np.array([[0.1, 0.7, 0.2, 0.7], [0.5, 0.3, 0.2, 0.0], [0.2, np.nan, 0.1, 0.0],
                       [0.1, 0.2, 0.3, 0.4]], np.float32)
    with tf.Graph().as_default():
        predictions = tf.placeholder(tf.float32, (None, 4))
        targets = tf.placeholder(tf.int32, (None,))
        hits = tf.nn.in_top_k(predictions, targets, 1)
        hits2 = tf.nn.in_top_k(predictions, targets, 2)
        got1, got2 = _run([hits, hits2], {predictions: scores, targets: [3, 1, 1, 7]})
    assert got1.dtype == np.bool_
    np.testing.assert_array_equal(got1, [True, False, False, False])
    np.testing.assert_array_equal(got2, [True, True, False, False])


@pytest.mark.parametrize("step", [0, 7, 10, 25])
def test_time_and_cosine_decays_follow_tensorflows_formulas(step):
    with tf.Graph().as_default():
        global_step = tf.placeholder(tf.int64, ())
        schedules = {
            "inverse": tf.train.inverse_time_decay(0.1, global_step, 10, 0.5),
            "inverse_stairs": tf.train.inverse_time_decay(0.1, global_step, 10, 0.5,
                                                          staircase=True),
            "natural": tf.train.natural_exp_decay(0.1, global_step, 10, 0.5),
            "natural_stairs": tf.train.natural_exp_decay(0.1, global_step, 10, 0.5, True),
            "cosine": tf.train.cosine_decay(0.1, global_step, 20),
            "cosine_alpha": tf.train.cosine_decay(0.1, global_step, 20, alpha=0.2),
        }
        got = _run(schedules, {global_step: step})
    cosine = 0.5 * (1 + np.cos(np.pi * min(step, 20) / 20))
    expected = {
        "inverse": 0.1 / (1 + 0.5 * step / 10), "inverse_stairs": 0.1 / (1 + 0.5 * (step // 10)),
        "natural": 0.1 * np.exp(-0.5 * step / 10),
        "natural_stairs": 0.1 * np.exp(-0.5 * (step // 10)),
        "cosine": 0.1 * cosine, "cosine_alpha": 0.1 * (0.8 * cosine + 0.2),
    }
    for key, value in expected.items():
        assert got[key].dtype == np.float32, key
        np.testing.assert_allclose(got[key], value, rtol=1e-6, atol=1e-8, err_msg=key)


def test_decays_refuse_a_non_positive_decay_steps_where_written():
    with tf.Graph().as_default():
        step = tf.constant(3)
        with pytest.raises(tf.GraphError, match="decay_steps must be a positive") as error:
            tf.train.cosine_decay(0.1, step, 0)
        assert "test_tf1_more_names.py" in str(error.value)
        with pytest.raises(tf.GraphError, match="global_step is required"):
            tf.train.natural_exp_decay(0.1, None, 10, 0.5)


def test_floor_ceil_and_round_half_to_even():
    value = np.array([-2.5, -1.5, -0.5, 0.0, 0.4, 0.5, 1.5, 2.5, 3.7], np.float32)
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None,))
        got = _run([tf.floor(x), tf.ceil(x), tf.round(x), tf.round(tf.constant([3, -2]))],
                   {x: value})
    np.testing.assert_array_equal(got[0], np.floor(value))
    np.testing.assert_array_equal(got[1], np.ceil(value))
    np.testing.assert_array_equal(got[2], np.round(value))  # NumPy rounds half to even too
    assert got[2].dtype == np.float32
    np.testing.assert_array_equal(got[3], [3, -2])
    with tf.Graph().as_default():
        with pytest.raises(tf.GraphError, match="expected a floating-point tensor"):
            tf.floor(tf.constant([1, 2]))


def test_sequence_mask_marks_the_first_length_positions():
    with tf.Graph().as_default():
        lengths = tf.placeholder(tf.int32, (None,))
        got = _run([tf.sequence_mask(lengths, 4), tf.sequence_mask(lengths, 3, tf.float32)],
                   {lengths: [0, 2, 4]})
    expected = np.arange(4) < np.array([0, 2, 4])[:, None]
    np.testing.assert_array_equal(got[0], expected)
    assert got[1].dtype == np.float32
    np.testing.assert_array_equal(got[1], expected[:, :3].astype(np.float32))
    with tf.Graph().as_default():
        with pytest.raises(tf.GraphError, match="give maxlen"):
            tf.sequence_mask([1, 2])


def test_boolean_mask_keeps_the_true_entries():
    value = np.arange(24.0).reshape(2, 3, 4)
    mask2 = np.array([[True, False, True], [False, False, True]])
    mask1 = np.array([True, False, True, True])
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, (None, 3, 4))
        keep = tf.placeholder(tf.bool, (None, 3))
        got = _run([tf.boolean_mask(x, keep), tf.boolean_mask(tf.constant(value), mask1, axis=2)],
                   {x: value, keep: mask2})
        with pytest.raises(tf.GraphError, match="outside the mask must be known"):
            tf.boolean_mask(x, mask1, axis=2)
    np.testing.assert_array_equal(got[0], value[mask2])
    np.testing.assert_array_equal(got[1], value[:, :, mask1])


def test_boolean_mask_gradient_and_refusals():
    mask = np.array([[True, False, True], [False, True, True]])
    _fd_check(lambda x: tf.boolean_mask(x, mask) * np.arange(1.0, 5.0),
              np.random.default_rng(4).normal(size=(2, 3)))
    with tf.Graph().as_default():
        with pytest.raises(tf.GraphError, match="mask must be bool") as error:
            tf.boolean_mask(tf.constant([1.0, 2.0]), tf.constant([1, 0]))
        assert "test_tf1_more_names.py" in str(error.value)
        with pytest.raises(tf.GraphError, match="does not match"):
            tf.boolean_mask(tf.constant([1.0, 2.0]), [True, False, True])


def test_print_passes_its_input_through_and_prints_each_run(capsys):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None,))
        doubled = tf.Print(x * 2.0, [x, tf.reduce_sum(x)], "x and sum: ", first_n=2,
                           summarize=2)
        loss = tf.reduce_sum(doubled * doubled)
        grad, = tf.gradients(loss, [x])
        with tf.Session() as sess:
            for _ in range(3):
                got = sess.run(doubled, {x: [1.0, 2.0, 3.0]})
                np.testing.assert_array_equal(got, [2.0, 4.0, 6.0])
            printed = capsys.readouterr().err.splitlines()
            np.testing.assert_allclose(sess.run(grad, {x: [1.0, 2.0, 3.0]}), [8.0, 16.0, 24.0])
    assert printed == ["x and sum: [1.0 2.0...][6.0]"] * 2
    with tf.Graph().as_default():
        with pytest.raises(tf.GraphError, match="message must be a str"):
            tf.Print(tf.constant(1.0), [], 3)


@pytest.mark.parametrize("b_shape, axes", [
    ((4, 5), 1), ((2, 2), 0), ((3, 5), [[1], [0]]), ((4, 2, 5), [[0, 2], [1, 0]]),
    ((4, 2, 5), ([2, 0], [0, 1])),
])
def test_tensordot_matches_numpy(b_shape, axes):
    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(2, 3, 4)), rng.normal(size=b_shape)
    with tf.Graph().as_default():
        got = _run(tf.tensordot(tf.constant(a), tf.constant(b), axes))
    np.testing.assert_allclose(got, np.tensordot(a, b, axes), rtol=1e-12)


def test_tensordot_gradient_and_refusals():
    b = np.random.default_rng(6).normal(size=(3, 2))
    _fd_check(lambda x: tf.tensordot(x, b, [[1], [0]]) * np.array([1.0, -2.0]),
              np.random.default_rng(7).normal(size=(4, 3)))
    with tf.Graph().as_default():
        with pytest.raises(tf.GraphError, match="does not match axis") as error:
            tf.tensordot(tf.zeros([2, 3]), tf.zeros([2, 3]), 1)
        assert "test_tf1_more_names.py" in str(error.value)
        with pytest.raises(tf.GraphError, match="out of range"):
            tf.tensordot(tf.zeros([2, 3]), tf.zeros([3]), 3)


def test_assert_and_assert_equal_fail_the_run_that_breaks_them():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None,))
        positive = tf.Assert(tf.reduce_all(x > 0.0), [x], summarize=2)
        same = tf.assert_equal(x, tf.constant([1.0, 2.0]), message="x must be [1, 2]")
        with tf.control_dependencies([positive]):
            total = tf.reduce_sum(x)
        with tf.Session() as sess:
            assert sess.run(total, {x: [1.0, 2.0]}) == 3.0
            sess.run(same, {x: [1.0, 2.0]})
            with pytest.raises(tf.AssertionFailedError, match=r"\[-1.0 2.0\.\.\.\]") as error:
                sess.run(total, {x: [-1.0, 2.0, 3.0]})
            assert "test_tf1_more_names.py" in str(error.value)
            with pytest.raises(tf.AssertionFailedError, match="x must be"):
                sess.run(same, {x: [1.0, 3.0]})
        with pytest.raises(tf.GraphError, match="bool scalar"):
            tf.Assert(x > 0.0, [x])


def test_print_op_writes_strings_and_values_each_run(capsys):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.int32, (None,))
        show = tf.print("x =", x, "sum", tf.reduce_sum(x), summarize=2)
        with tf.control_dependencies([show]):
            total = tf.identity(tf.reduce_sum(x))
        with tf.Session() as sess:
            assert sess.run(total, {x: [1, 2, 3, 4, 5]}) == 15
            sess.run(show, {x: [7]})
    assert capsys.readouterr().err.splitlines() == ["x = [1 2 ... 4 5] sum 15", "x = [7] sum 7"]
    with tf.Graph().as_default():
        with pytest.raises(tf.GraphError, match="output_stream must be"):
            tf.print("hi", output_stream="log")
