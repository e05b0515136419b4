"""The graph's debugging tools: check_numerics, add_check_numerics_ops and RunMetadata."""

import numpy as np
import pytest

import graph as tf
from graph.debugging import NumericsError, add_check_numerics_ops, check_numerics
from graph.session import RunMetadata, RunOptions


@pytest.fixture(autouse=True)
def fresh_graph():
    with tf.Graph().as_default() as g:
        yield g


# -- check_numerics ----------------------------------------------------------------------------


def test_check_numerics_passes_finite_values_unchanged():
    x = tf.placeholder(tf.float32, (None, 3))
    checked = check_numerics(x * 2.0, "doubled")
    data = np.array([[1.0, -2.5, 3e30], [0.0, 1e-30, -7.0]], np.float32)
    with tf.Session() as sess:
        result = sess.run(checked, {x: data})
    np.testing.assert_array_equal(result, data * 2.0)
    assert result.dtype == np.float32
    assert checked.shape == (None, 3)


def test_check_numerics_raises_naming_message_op_and_line():
    x = tf.placeholder(tf.float32, (4,))
    logged = tf.log(x, name="my_log")  # the line the error must name
    checked = check_numerics(logged, "log of the input")
    with tf.Session() as sess, pytest.raises(NumericsError) as caught:
        sess.run(checked, {x: [1.0, -1.0, 2.0, -3.0]})
    text = str(caught.value)
    assert text.startswith("log of the input: 'my_log:0' holds NaN (2 of 4 values)")
    assert "op 'my_log'" in text
    assert caught.value.tensor is logged  # kept when the session adds "while running ..."
    assert caught.value.site.filename == __file__
    assert caught.value.site.line.strip() == \
        'logged = tf.log(x, name="my_log")  # the line the error must name'


def test_check_numerics_reports_infinity():
    x = tf.placeholder(tf.float32, (2,))
    quotient = tf.divide(1.0, x, name="quotient")
    checked = check_numerics(quotient, "reciprocal")
    with tf.Session() as sess, pytest.raises(NumericsError, match=r"holds Inf \(1 of 2 values\)"):
        sess.run(checked, {x: [0.0, 2.0]})


def test_check_numerics_refuses_integer_tensors():
    with pytest.raises(tf.GraphError, match="only floating-point"):
        check_numerics(tf.constant([1, 2]), "ints")


def test_check_numerics_passes_the_gradient_through():
    x = tf.placeholder(tf.float32, (3,))
    y = tf.reduce_sum(check_numerics(x * x, "square") * 3.0)
    (grad,) = tf.gradients(y, [x])
    with tf.Session() as sess:
        value = sess.run(grad, {x: [1.0, -2.0, 0.5]})
    np.testing.assert_allclose(value, [6.0, -12.0, 3.0])


def test_check_numerics_checks_the_gradient_too():
    x = tf.placeholder(tf.float32, (2,))
    checked = check_numerics(x, "input")
    y = tf.reduce_sum(tf.sqrt(checked))  # d sqrt at 0 is Inf
    (grad,) = tf.gradients(y, [x])
    with tf.Session() as sess:
        assert sess.run(y, {x: [0.0, 4.0]}) == 2.0
        with pytest.raises(NumericsError, match="gradient of 'Placeholder:0'.*holds Inf"):
            sess.run(grad, {x: [0.0, 4.0]})


# -- add_check_numerics_ops --------------------------------------------------------------------


def test_add_check_numerics_ops_names_the_op_that_made_the_nan():
    x = tf.placeholder(tf.float32, (2,), name="x")
    logged = tf.log(x - 2.0, name="log_of_shifted")  # log(-1) is NaN
    loss = tf.reduce_mean(logged * 3.0 + 1.0, name="loss")
    check = add_check_numerics_ops()
    with tf.Session() as sess:
        assert np.isfinite(sess.run([loss, check], {x: [3.0, 4.0]})[0])
        with pytest.raises(NumericsError) as caught:
            sess.run([loss, check], {x: [1.0, 4.0]})
    # The first op that made the NaN, not the later ops that carried it on.
    assert str(caught.value).startswith("'log_of_shifted:0' holds NaN")
    assert caught.value.site.line.strip().startswith("logged = tf.log(x - 2.0")


def test_add_check_numerics_ops_skips_assigns_and_control_flow_insides():
    v = tf.Variable(1.0, name="v")
    bump = v.assign_add(1.0)
    x = tf.placeholder(tf.float32, (), name="x")
    y = tf.cond(x > 0.0, lambda: tf.log(x), lambda: x)
    check = add_check_numerics_ops()
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        sess.run([y, check], {x: 2.0})
        assert sess.run(v) == 1.0  # the check did not run the assign
        sess.run(bump)
        assert sess.run(v) == 2.0


def test_add_check_numerics_ops_catches_a_cond_output():
    x = tf.placeholder(tf.float32, (), name="x")
    y = tf.cond(x > 10.0, lambda: x, lambda: tf.log(x), name="pick")
    check = add_check_numerics_ops()
    with tf.Session() as sess, pytest.raises(NumericsError, match="'pick/Cond:0' holds NaN"):
        sess.run([y, check], {x: -1.0})


# -- RunMetadata -------------------------------------------------------------------------------


def test_run_metadata_records_the_taken_cond_branch_only():
    x = tf.placeholder(tf.float32, (), name="x")
    y = tf.cond(x > 0.0, lambda: tf.multiply(x, 2.0, name="double"),
                lambda: tf.negative(x, name="negate"), name="choose")
    metadata = RunMetadata()
    with tf.Session() as sess:
        assert sess.run(y, {x: 3.0}, run_metadata=metadata) == 6.0
        assert metadata.op_counts.get("choose/double") == 1
        assert "choose/negate" not in metadata.op_counts
        order = metadata.executed_ops
        assert order.index("choose/Cond") < order.index("choose/double")
        sess.run(y, {x: -3.0}, run_metadata=metadata)  # a new run replaces the record
        assert "choose/negate" in metadata.op_counts
        assert "choose/double" not in metadata.op_counts
    assert metadata.step_stats == []  # no timings unless asked for


def test_run_metadata_counts_every_loop_iteration_and_times_with_full_trace():
    n = tf.placeholder(tf.int32, (), name="n")
    _, total = tf.while_loop(lambda i, s: i < n,
                             lambda i, s: (i + 1, tf.add(s, 2.0, name="step")),
                             [tf.constant(0), tf.constant(0.0)], name="loop")
    metadata = RunMetadata()
    options = RunOptions(trace_level=RunOptions.FULL_TRACE)
    with tf.Session() as sess:
        assert sess.run(total, {n: 5}, options=options, run_metadata=metadata) == 10.0
    assert metadata.op_counts["loop/step"] == 5
    assert metadata.op_counts["loop/While"] == 1
    assert len(metadata.step_stats) == len(metadata.executed_ops)
    assert [s.name for s in metadata.step_stats] == metadata.executed_ops
    loop_stat = next(s for s in metadata.step_stats if s.type == "While")
    inside = [s for s in metadata.step_stats if s.name == "loop/step"]
    assert all(s.seconds >= 0.0 for s in metadata.step_stats)
    assert loop_stat.seconds >= sum(s.seconds for s in inside)


def test_run_metadata_and_options_are_checked():
    c = tf.constant(1.0)
    with tf.Session() as sess:
        with pytest.raises(tf.GraphError, match="run_metadata must be a RunMetadata"):
            sess.run(c, run_metadata={})
        with pytest.raises(tf.GraphError, match="options must be a RunOptions"):
            sess.run(c, options="FULL_TRACE")
        assert sess.run(c, options=RunOptions()) == 1.0
    with pytest.raises(tf.GraphError, match="trace_level"):
        RunOptions(trace_level=7)
