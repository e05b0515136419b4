"""tf.train's learning-rate schedules against their TensorFlow 1 formulas, driven by the global
step that minimize(global_step=...) advances."""

from __future__ import annotations

import numpy as np
import pytest

import graph as tf


def _rates(build, steps):
    """The schedule `build(step)` evaluated at each of `steps` (loaded into the global step)."""
    with tf.Graph().as_default():
        step = tf.train.get_or_create_global_step()
        rate = build(step)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            values = []
            for value in steps:
                step.load(value, sess)
                values.append(sess.run(rate))
    return rate.dtype, np.array(values)


STEPS = [0, 1, 9, 10, 11, 25, 100, 250]
SCHEDULES = [
    ("exponential", lambda s: tf.train.exponential_decay(0.1, s, 10, 0.5),
     lambda n: 0.1 * 0.5 ** (n / 10)),
    ("exponential_staircase",
     lambda s: tf.train.exponential_decay(0.1, s, 10, 0.96, staircase=True),
     lambda n: 0.1 * 0.96 ** np.floor(n / 10)),
    ("polynomial", lambda s: tf.train.polynomial_decay(0.1, s, 100),
     lambda n: (0.1 - 1e-4) * (1 - np.minimum(n, 100) / 100) + 1e-4),
    ("polynomial_power",
     lambda s: tf.train.polynomial_decay(0.5, s, 100, end_learning_rate=0.01, power=2.0),
     lambda n: (0.5 - 0.01) * (1 - np.minimum(n, 100) / 100) ** 2 + 0.01),
    ("polynomial_cycle",
     lambda s: tf.train.polynomial_decay(0.5, s, 100, end_learning_rate=0.01, cycle=True),
     lambda n: (0.5 - 0.01) * (1 - n / (100 * np.maximum(np.ceil(n / 100), 1))) + 0.01),
    ("piecewise", lambda s: tf.train.piecewise_constant(s, [10, 100], [1.0, 0.5, 0.1]),
     lambda n: np.where(n <= 10, 1.0, np.where(n <= 100, 0.5, 0.1))),
]


@pytest.mark.parametrize("name, build, formula", SCHEDULES, ids=[s[0] for s in SCHEDULES])
def test_schedule_follows_the_tensorflow_1_formula(name, build, formula):
    dtype, got = _rates(build, STEPS)
    assert dtype == np.float32
    np.testing.assert_allclose(got, formula(np.array(STEPS, np.float64)), rtol=1e-6)


def test_float64_rate_and_tensor_arguments():
    with tf.Graph().as_default():
        step = tf.placeholder(tf.int32, ())
        decay = tf.placeholder(tf.float64, ())
        rate = tf.train.exponential_decay(np.float64(0.2), step, 4, decay, name="lr")
        assert rate.dtype == np.float64 and rate.name == "lr:0"
        with tf.Session() as sess:
            assert sess.run(rate, {step: 8, decay: 0.5}) == 0.05


def test_each_step_reads_the_rate_of_the_step_before_its_increment():
    # Gradient descent on w with loss = w: each step subtracts exactly the rate in force.
    with tf.Graph().as_default():
        w = tf.Variable(0.0, name="w", dtype=tf.float64)
        step = tf.train.get_or_create_global_step()
        rate = tf.train.piecewise_constant(step, [1, 2], [1.0, 10.0, 100.0])
        train_op = tf.train.GradientDescentOptimizer(rate).minimize(w, global_step=step)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            history = []
            for _ in range(4):
                sess.run(train_op)
                history.append((float(sess.run(w)), int(sess.run(step))))
    # Steps 0 and 1 use 1.0 (step <= 1), step 2 uses 10.0, step 3 uses 100.0.
    assert history == [(-1.0, 1), (-2.0, 2), (-12.0, 3), (-112.0, 4)]


def test_schedule_arguments_are_checked_where_they_are_written():
    with tf.Graph().as_default():
        step = tf.train.get_or_create_global_step()
        with pytest.raises(tf.GraphError, match="global_step is required") as error:
            tf.train.exponential_decay(0.1, None, 10, 0.9)
        assert "test_learning_rate_decay.py" in str(error.value)
        with pytest.raises(tf.GraphError, match="decay_steps must be a positive"):
            tf.train.exponential_decay(0.1, step, 0, 0.9)
        with pytest.raises(tf.GraphError, match="1 less than"):
            tf.train.piecewise_constant(step, [10, 20], [1.0, 0.5])
        with pytest.raises(tf.GraphError, match="one dtype"):
            tf.train.piecewise_constant(step, [10], [1.0, np.float64(0.5)])
        with pytest.raises(tf.GraphError, match="increasing"):
            tf.train.piecewise_constant(step, [20, 10], [1.0, 0.5, 0.1])
        with pytest.raises(tf.GraphError, match="not a finite whole number"):
            tf.train.piecewise_constant(step, [10.5], [1.0, 0.5])
        with pytest.raises(tf.GraphError, match="learning_rate must be"):
            tf.train.polynomial_decay("fast", step, 10)
