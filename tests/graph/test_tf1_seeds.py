"""Seeds as TensorFlow 1 has them: the graph-level seed (`tf.set_random_seed`) and op-level
`seed=` combined by `get_seed`'s rules, random ops that draw anew in each run and repeat in
every new Session, the random functions (normal, truncated normal, uniform floats and ints,
shuffle, multinomial) and the initializers that honour the same seeds.

Statistics are checked against their definitions with NumPy; the `tensorflow`-marked test
compares `get_seed` with TensorFlow's where it is installed.
"""

from __future__ import annotations

import numpy as np
import pytest

import graph as tf
from framework import init as framework_init
from framework.ops import random as framework_random


def _two_runs_in_two_sessions(build, feed_dict=None):
    """[[run 1, run 2] of a fresh Session, [run 1, run 2] of another] of `build()`'s tensor."""
    with tf.Graph().as_default():
        tensor = build()
        results = []
        for _ in range(2):
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                results.append([sess.run(tensor, feed_dict), sess.run(tensor, feed_dict)])
    return results


# -- get_seed's rules --------------------------------------------------------------------------


def test_get_seed_combines_graph_and_op_seeds_as_tensorflow():
    with tf.Graph().as_default():
        assert tf.get_seed(None) == (None, None)
        assert tf.get_seed(7) == (87654321, 7)  # op seed alone: TensorFlow's default graph seed
        tf.set_random_seed(3)
        assert tf.get_default_graph().seed == 3
        first = tf.get_seed(None)
        tf.constant(1.0)
        second = tf.get_seed(None)
        assert first[0] == second[0] == 3 and second[1] == first[1] + 1  # from the op count
        assert tf.get_seed(11) == (3, 11)
        assert tf.get_seed(2**31 + 5) == (3, 5)  # truncated to 31 bits
        tf.set_random_seed(0)
        assert tf.get_seed(0) == (0, 2**31 - 1)  # (0, 0) means "unseeded" to TF's kernels
        with pytest.raises(tf.GraphError, match="must be an int or None"):
            tf.set_random_seed(1.5)
    with tf.Graph().as_default():  # the seed belongs to the graph
        assert tf.get_seed(None) == (None, None)


def test_a_graph_seed_gives_the_same_numbers_in_every_new_session():
    def build():
        tf.set_random_seed(42)
        return tf.random_normal([4])

    (first, second), (again_first, again_second) = _two_runs_in_two_sessions(build)
    assert not np.array_equal(first, second)  # a new draw in each run...
    np.testing.assert_array_equal(first, again_first)  # ...repeated in every new Session
    np.testing.assert_array_equal(second, again_second)


def test_a_graph_seed_makes_a_rebuilt_graph_draw_the_same_whatever_drew_before():
    def values():
        with tf.Graph().as_default():
            tf.set_random_seed(5)
            a, b = tf.random_uniform([3]), tf.random_normal([3])
            with tf.Session() as sess:
                return sess.run([a, b])

    framework_random.manual_seed(1)
    first = values()
    framework_random.manual_seed(2)  # the shared generator elsewhere changes nothing
    framework_random.default_generator.next_seed()
    second = values()
    for x, y in zip(first, second):
        np.testing.assert_array_equal(x, y)
    assert not np.allclose(first[0], first[1])  # two random ops of one graph seed differ


def test_two_ops_with_the_same_graph_seed_differ_and_op_seeds_pick_streams():
    with tf.Graph().as_default():
        tf.set_random_seed(9)
        a, b = tf.random_uniform([5]), tf.random_uniform([5])
        c, d = tf.random_uniform([5], seed=1), tf.random_uniform([5], seed=1)
        e = tf.random_uniform([5], seed=2)
        with tf.Session() as sess:
            a, b, c, d, e = sess.run([a, b, c, d, e])
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(c, d)  # same graph and op seeds: the same numbers
    assert not np.array_equal(c, e)


def test_an_op_seed_alone_repeats_across_graphs_and_sessions():
    def values(seed):
        with tf.Graph().as_default(), tf.Session() as sess:
            return sess.run(tf.random_normal([3], seed=seed))

    np.testing.assert_array_equal(values(4), values(4))
    assert not np.array_equal(values(4), values(5))


def test_without_seeds_the_shared_generator_decides():
    def values():
        with tf.Graph().as_default(), tf.Session() as sess:
            return sess.run(tf.random_uniform([3]))

    framework_random.manual_seed(8)
    first = values()
    assert not np.array_equal(first, values())
    framework_random.manual_seed(8)
    np.testing.assert_array_equal(first, values())


def test_dropout_masks_follow_the_seeds_and_change_every_run():
    def build():
        tf.set_random_seed(12)
        return tf.nn.dropout(tf.ones([64]), rate=0.5)

    (first, second), (again_first, _) = _two_runs_in_two_sessions(build)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(first, again_first)
    framework_random.default_generator.next_seed()
    (rebuilt, _), _ = _two_runs_in_two_sessions(build)
    np.testing.assert_array_equal(first, rebuilt)
    # An op seed alone draws the mask the kernel layer draws from that seed.
    with tf.Graph().as_default(), tf.Session() as sess:
        mask = sess.run(tf.nn.dropout(tf.ones([64]), rate=0.5, seed=3))
    np.testing.assert_array_equal(mask, framework_random.dropout(np.ones(64, np.float32), 0.5,
                                                                  3))


# -- the random functions ------------------------------------------------------------------------


def test_random_normal_and_truncated_normal_statistics():
    with tf.Graph().as_default(), tf.Session() as sess:
        normal = sess.run(tf.random_normal([20000], mean=1.0, stddev=2.0, seed=1))
        truncated = sess.run(tf.truncated_normal([20000], mean=-1.0, stddev=0.5,
                                                 dtype=tf.float64, seed=1))
    assert normal.dtype == np.float32 and abs(normal.mean() - 1.0) < 0.05
    assert abs(normal.std() - 2.0) < 0.05 and np.abs(normal - 1.0).max() > 4.0
    assert truncated.dtype == np.float64
    assert np.abs(truncated + 1.0).max() <= 1.0  # nothing beyond 2 standard deviations
    # A normal truncated at 2 keeps a standard deviation of 0.8796 of the untruncated one.
    assert abs(truncated.mean() + 1.0) < 0.01 and abs(truncated.std() - 0.5 * 0.8796) < 0.01


def test_random_uniform_floats_and_ints():
    with tf.Graph().as_default():
        floats = tf.random_uniform([10000], -2.0, 3.0, seed=1)
        ints = tf.random_uniform([10000], minval=-3, maxval=4, dtype=tf.int64, seed=2)
        default = tf.random_uniform([5])
        with tf.Session() as sess:
            floats, ints, default = sess.run([floats, ints, default])
    assert floats.min() >= -2.0 and floats.max() < 3.0 and abs(floats.mean() - 0.5) < 0.05
    assert ints.dtype == np.int64 and sorted(set(ints.tolist())) == list(range(-3, 4))
    assert np.abs(np.bincount(ints + 3) / 10000 - 1 / 7).max() < 0.02
    assert default.min() >= 0.0 and default.max() < 1.0  # maxval defaults to 1 for floats
    with tf.Graph().as_default():
        with pytest.raises(tf.GraphError, match="Must specify maxval for integer dtype int32"):
            tf.random_uniform([2], dtype=tf.int32)
        with pytest.raises(tf.GraphError, match="Need minval < maxval"):
            tf.random_uniform([2], 5, 5, dtype=tf.int32)
        with pytest.raises(ValueError, match="needs low < high"):
            tf.random_uniform([2], 1.0, 0.0)
        with pytest.raises(tf.GraphError, match="dtype must be float32 or float64"):
            tf.random_normal([2], dtype=tf.int32)


def test_mean_and_stddev_may_be_tensors():
    with tf.Graph().as_default():
        mean = tf.placeholder(tf.float32, [])
        x = tf.random_normal([5000], mean=mean, stddev=tf.constant(0.1), seed=1)
        with tf.Session() as sess:
            values = sess.run(x, {mean: 10.0})
    assert abs(values.mean() - 10.0) < 0.01 and abs(values.std() - 0.1) < 0.01


def test_a_shape_known_only_when_run():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 3])
        noise = tf.random_normal(tf.shape(x), seed=1)
        rows = tf.random_uniform([tf.shape(x)[0], 2], seed=2)
        # TF1 sees through tf.shape: x's known size stays known.
        assert noise.shape == (None, 3) and rows.shape == (None, 2)
        with tf.Session() as sess:
            a, b = sess.run([noise, rows], {x: np.zeros((4, 3))})
    assert a.shape == (4, 3) and b.shape == (4, 2)
    with tf.Graph().as_default():
        with pytest.raises(tf.GraphError, match="shape must be a list of ints"):
            tf.random_normal(5)
        with pytest.raises(tf.GraphError, match="shape must hold ints >= 0"):
            tf.random_normal([2, -1])


def test_random_shuffle_permutes_rows_anew_each_run():
    rows = np.arange(20.0).reshape(10, 2)
    with tf.Graph().as_default():
        tf.set_random_seed(1)
        shuffled = tf.random_shuffle(rows)
        with tf.Session() as sess:
            first, second = sess.run(shuffled), sess.run(shuffled)
    for result in (first, second):
        assert sorted(map(tuple, result.tolist())) == sorted(map(tuple, rows.tolist()))
    assert not np.array_equal(first, second) and not np.array_equal(first, rows)
    with tf.Graph().as_default(), pytest.raises(tf.GraphError, match="at least one dimension"):
        tf.random_shuffle(3.0)


def test_multinomial_samples_follow_the_softmax_of_the_logits():
    probabilities = np.array([[0.2, 0.0, 0.8], [0.5, 0.5, 0.0]])
    with np.errstate(divide="ignore"):
        logits = np.log(probabilities).astype(np.float32)
    with tf.Graph().as_default():
        samples = tf.multinomial(logits, 20000, seed=5)
        small = tf.multinomial(logits, 3, output_dtype=tf.int32)
        with tf.Session() as sess:
            samples, small = sess.run([samples, small])
    assert samples.shape == (2, 20000) and samples.dtype == np.int64 and small.dtype == np.int32
    for row, expected in zip(samples, probabilities):
        np.testing.assert_allclose(np.bincount(row, minlength=3) / row.size, expected,
                                   atol=0.015)
    with tf.Graph().as_default():
        with pytest.raises(tf.GraphError, match="2-d \\(batch, classes\\)"):
            tf.multinomial([1.0, 2.0], 2)
        nan_logits = tf.multinomial(tf.constant([[np.nan, 0.0]]), 1)
        with tf.Session() as sess, pytest.raises(tf.GraphError, match="NaN or \\+inf"):
            sess.run(nan_logits)


# -- initializers honour the seeds ---------------------------------------------------------------


def test_layer_initializers_follow_the_graph_seed():
    def kernels():
        with tf.Graph().as_default():
            tf.set_random_seed(21)
            x = tf.placeholder(tf.float32, [None, 4])
            tf.layers.dense(tf.layers.dense(x, 4), 4)
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                return sess.run([v for v in tf.trainable_variables() if "kernel" in v.name])

    first = kernels()
    framework_random.default_generator.next_seed()
    second = kernels()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1])


def test_initializers_draw_what_their_definitions_say():
    shape = (200, 100)
    glorot = tf.glorot_uniform_initializer(seed=3)(shape)
    eager = framework_init.xavier_uniform(shape[::-1], generator=framework_random.Generator(3))
    np.testing.assert_array_equal(glorot, eager.T)  # eager's draw, in TensorFlow's layout
    truncated = tf.truncated_normal_initializer(0.0, 0.1, seed=1)(shape)
    assert np.abs(truncated).max() <= 0.2 and truncated.dtype == np.float32
    uniform = tf.variance_scaling_initializer(2.0, "fan_in", "uniform", seed=1)(shape)
    assert np.abs(uniform).max() <= np.sqrt(3 * 2.0 / 200)
    assert abs(uniform.std() - np.sqrt(2.0 / 200)) < 0.002
    scaled = tf.variance_scaling_initializer(seed=2)(shape)  # truncated normal, 1 / fan_in
    assert abs(scaled.std() - np.sqrt(1.0 / 200)) < 0.002
    assert np.abs(scaled).max() <= 2 * np.sqrt(1.0 / 200) / 0.87962566103423978 + 1e-6
    assert tf.initializers.he_normal(seed=1)((50, 10)).shape == (50, 10)
    np.testing.assert_array_equal(tf.initializers.constant([1, 2])((2,), dtype=tf.int32),
                                  np.array([1, 2], np.int32))
    np.testing.assert_array_equal(tf.ones_initializer(dtype=tf.float64)((2,)), [1.0, 1.0])
    assert tf.ones_initializer(dtype=tf.float64)((2,)).dtype == np.float64
    ints = tf.random_uniform_initializer(0, 3, seed=1)((1000,), dtype=tf.int32)
    assert sorted(set(ints.tolist())) == [0, 1, 2]
    with pytest.raises(tf.GraphError, match="mode must be"):
        tf.variance_scaling_initializer(mode="fan_sideways")
    with pytest.raises(tf.GraphError, match="fully known shape"):
        tf.truncated_normal_initializer()((None, 3))
    with pytest.raises(tf.GraphError, match="draws floats"):
        tf.truncated_normal_initializer()((3,), dtype=tf.int32)


def test_seeded_initializers_repeat_and_unseeded_ones_advance():
    a = tf.random_normal_initializer(seed=6)((5,))
    np.testing.assert_array_equal(a, tf.random_normal_initializer(seed=6)((5,)))
    framework_random.manual_seed(0)
    b = tf.truncated_normal_initializer()((5,))
    assert not np.array_equal(b, tf.truncated_normal_initializer()((5,)))
    framework_random.manual_seed(0)
    np.testing.assert_array_equal(b, tf.truncated_normal_initializer()((5,)))


# -- against TensorFlow, where it is installed ---------------------------------------------------


@pytest.mark.tensorflow
def test_get_seed_as_tensorflows():
    tf1 = pytest.importorskip("tensorflow").compat.v1

    def seeds(api):
        with api.Graph().as_default():
            found = [api.get_seed(None), api.get_seed(3)]
            api.set_random_seed(10)
            found += [api.get_seed(4)]
            return found

    assert seeds(tf) == seeds(tf1)
