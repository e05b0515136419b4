"""cond and while_loop in the compiled step: a real `if` and a real `while` inside the numba
function, the branch not taken never running, and the interpreter's bits.

A cond or loop whose plans cannot all run in numba (an assign, a shape that changes, a loop
that records its iterations for a gradient, a cond whose gradient reads its branches' values)
stays on the interpreter's path, and still gives the interpreter's bits.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

import graph as tf


def compiled_and_interpreted(fetches, feed, whole=True):
    """(compiled step, its results, the interpreter's results); a compiled step that fails and
    falls back to the interpreter is an error here."""
    with tf.Session(compile=False) as sess:
        expected = sess.run(fetches, feed)
    with tf.Session() as sess:
        compiled = sess.compile(fetches, feed, whole=whole)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = sess.run(fetches, feed)
    return compiled, got, expected


def assert_same_bits(got, expected):
    for a, b in zip(got, expected):
        assert np.asarray(a).dtype == np.asarray(b).dtype
        np.testing.assert_array_equal(a, b)


def numba_functions(compiled) -> str:
    assert compiled.functions_source is not None, "the step has no numba functions"
    return compiled.functions_source


def test_cond_is_a_real_if_inside_the_numba_function():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (2, 3), name="x")
        y = tf.cond(tf.reduce_sum(x) > 0.0, lambda: tf.exp(x) * 2.0,
                    lambda: tf.transpose(tf.tanh(tf.transpose(x))) - 1.0)
        total = tf.reduce_sum(y * y)
        for sign in (1.0, -1.0):
            feed = {x: sign * np.arange(1, 7, dtype=np.float32).reshape(2, 3) / 7}
            compiled, got, expected = compiled_and_interpreted([y, total], feed)
            assert_same_bits(got, expected)
    source = numba_functions(compiled)
    assert re.search(r"\n    if v\d+_0\[\(\)\]:\n        # exp 'cond/exp' at ", source)
    assert "\n    else:\n        # transpose 'cond/transpose' at " in source
    assert "Cond 'cond/Cond' at test_compile_control_flow.py:" in source
    assert "numba functions 1, nodes called from Python 0" in compiled.explain()
    assert compiled.in_python == []


def test_the_branch_not_taken_does_not_run(interpreted_runs):
    # The false branch's label check would fail on this run's labels: it must not run.
    with tf.Graph().as_default():
        logits = tf.placeholder(tf.float32, (4, 3), name="logits")
        labels = tf.placeholder(tf.int64, (4,), name="labels")
        use_labels = tf.placeholder(tf.bool, (), name="use_labels")
        loss = tf.cond(use_labels,
                       lambda: tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
                           labels=labels, logits=logits)),
                       lambda: tf.reduce_mean(tf.square(logits)))
        feed = {logits: np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3),
                labels: np.array([0, 2, 9, 1]), use_labels: False}
        with tf.Session(compile=False) as sess:
            expected = sess.run(loss, feed)
        with tf.Session() as sess:
            compiled = sess.compile(loss, feed)
            assert "cross_entropy" in numba_functions(compiled)
            interpreted_runs[0] = 0
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                got = sess.run(loss, feed)
            assert interpreted_runs[0] == 0  # the numba function ran it, and did not fail
            np.testing.assert_array_equal(got, expected)
            # Taken, the label check raises: the step starts over on the interpreter, which
            # names the op and the user's line.
            with pytest.raises(IndexError, match=r"class label 9 at position \(2,\) is out of "
                                                 r"range for 3 classes") as info:
                sess.run(loss, {**feed, use_labels: True})
            assert "created at" in str(info.value)
            assert "test_compile_control_flow.py" in str(info.value)


def test_nested_conds():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, (3,), name="x")
        a = tf.placeholder(tf.bool, (), name="a")
        b = tf.placeholder(tf.bool, (), name="b")
        y = tf.cond(a, lambda: tf.cond(b, lambda: x * 3.0, lambda: tf.exp(x)),
                    lambda: tf.cond(b, lambda: -x, lambda: tf.abs(x) + x))
        for pa in (True, False):
            for pb in (True, False):
                feed = {x: np.array([-1.5, 0.25, 2.0]), a: pa, b: pb}
                compiled, got, expected = compiled_and_interpreted([y], feed)
                assert_same_bits(got, expected)
    source = numba_functions(compiled)
    assert source.count("if ") == 3 and source.count("else:") == 3
    assert re.search(r"\n        if \w+\[\(\)\]:\n", source)  # an `if` inside an arm


def test_while_loop_is_a_real_loop_with_a_cond_inside():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (4,), name="x")

        def body(i, acc):
            halved = tf.cond(tf.reduce_max(acc) > 2.0, lambda: acc * 0.5, lambda: acc + x)
            return i + 1, halved

        i, acc = tf.while_loop(lambda i, acc: i < 7, body, [tf.constant(0), x])
        feed = {x: np.array([0.5, -1.0, 1.25, 2.5], np.float32)}
        compiled, got, expected = compiled_and_interpreted([i, acc], feed)
    assert_same_bits(got, expected)
    assert got[0] == 7
    source = numba_functions(compiled)
    loop = re.search(r"\n    while True:\n(.*?)\n    return ", source, re.S)
    assert loop, source
    assert "break" in loop.group(1) and "        if v" in loop.group(1)
    assert "numba functions 1, nodes called from Python 0" in compiled.explain()


@pytest.mark.parametrize("as_tensor", [False, True])
def test_maximum_iterations(as_tensor):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, (), name="x")
        limit = tf.placeholder(tf.int32, (), name="limit") if as_tensor else 3
        n, y = tf.while_loop(lambda n, y: y < 100.0, lambda n, y: (n + 1, y * 2.0 + 1.0),
                             [tf.constant(0), x], maximum_iterations=limit)
        for start, steps in ((0.5, 3), (70.0, 1), (200.0, 0)):
            feed = {x: start, **({limit: 3} if as_tensor else {})}
            compiled, got, expected = compiled_and_interpreted([n, y], feed)
            assert_same_bits(got, expected)
            assert got[0] == steps
    assert re.search(r"\n    while i\d+ < (3|int\(a\d+\[\(\)\]\)):\n",
                     numba_functions(compiled))


def test_a_step_without_numba_functions_runs_lowered_control_flow_by_its_op():
    # The Session's first compile calls each kernel from Python: the passes ran (the cond
    # is lowerable), and the cond's plans read its inputs from the run, by tensor.
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (3,), name="x")
        twice = x * 1.0 + x * 1.0  # rewritten and merged by the passes
        y = tf.cond(tf.reduce_sum(twice) > 0.0, lambda: twice * x, lambda: twice - x)
        n, z = tf.while_loop(lambda n, z: n < 2, lambda n, z: (n + 1, z + twice),
                             [tf.constant(0), y])
        for sign in (1.0, -1.0):
            feed = {x: sign * np.array([0.5, 1.5, 2.5], np.float32)}
            compiled, got, expected = compiled_and_interpreted([y, z], feed, whole=False)
            assert_same_bits(got, expected)
    assert "nodes merged 1" in compiled.explain()


def test_gradients_through_cond_run_in_the_numba_function():
    # The gradient's cond reads values the forward branches made: the forward cond returns
    # them as extra outputs, and both conds are real `if`s in one numba function.
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, (2, 2), name="x")
        w = tf.Variable(np.array([[0.5, -1.0], [2.0, 0.25]]), name="w")
        pred = tf.placeholder(tf.bool, (), name="pred")
        y = tf.cond(pred, lambda: tf.tanh(tf.matmul(x, w)), lambda: tf.exp(x) * w)
        loss = tf.reduce_sum(y * y)
        grads = tf.gradients(loss, [x, w])
        init = tf.global_variables_initializer()
        for taken in (True, False):
            feed = {x: np.array([[0.1, -0.7], [1.2, 0.4]]), pred: taken}
            with tf.Session(compile=False) as sess:
                sess.run(init)
                expected = sess.run([loss, *grads], feed)
            for whole in (True, False):
                with tf.Session() as sess:
                    sess.run(init)
                    compiled = sess.compile([loss, *grads], feed, whole=whole)
                    with warnings.catch_warnings():
                        warnings.simplefilter("error")
                        got = sess.run([loss, *grads], feed)
                assert_same_bits(got, expected)
                assert not compiled.program.has_control_flow
            source = numba_functions(compiled := sess.compile([loss, *grads], feed))
            assert "Cond 'cond/Cond'" in source and "Cond 'gradients/cond_grad/Cond'" in source
            assert "numba functions 1, nodes called from Python 0" in compiled.explain()


def test_a_cond_whose_gradient_stays_in_python_stays_there_too():
    # The gradient's cond calls ops with no compiled path: it runs on the interpreter's
    # path, which reads the forward branch's values from the run, so the forward cond runs
    # there too (alone, it runs in numba).
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, (2, 3), name="x")
        pred = tf.placeholder(tf.bool, (), name="pred")
        y = tf.cond(pred, lambda: x * tf.reduce_sum(x), lambda: x * 2.0)
        feed = {x: np.arange(6.0).reshape(2, 3) / 5, pred: True}
        with tf.Session() as sess:
            assert not sess.compile(y, feed).program.has_control_flow
        grads = tf.gradients(tf.reduce_sum(y * y), [x])  # a broadcast_to: no compiled path
        for taken in (True, False):
            feed = {x: np.arange(6.0).reshape(2, 3) / 5, pred: taken}
            compiled, got, expected = compiled_and_interpreted([y, *grads], feed)
            assert_same_bits(got, expected)
            assert compiled.program.has_control_flow


def test_a_while_loop_with_its_gradient_in_the_step_stays_on_the_interpreters_path():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, (3,), name="x")
        _, y = tf.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, tf.sin(y) * x),
                             [tf.constant(0), x])
        loss = tf.reduce_sum(y)
        grad, = tf.gradients(loss, [x])
        feed = {x: np.array([0.3, -1.1, 2.0])}
        compiled, got, expected = compiled_and_interpreted([loss, grad], feed)
        assert_same_bits(got, expected)
        assert "While" not in (compiled.functions_source or "")
        # A step without the gradient needs no record: the loop runs in numba.
        compiled, got, expected = compiled_and_interpreted([loss], feed)
        assert_same_bits(got, expected)
        assert "\n    while True:\n" in numba_functions(compiled)


def test_lowerable_conds_beside_a_loop_left_to_python_run_by_their_op():
    # The loop's gradient keeps the plan on the interpreter's path (every value kept by
    # tensor): the cond and its gradient's cond, lowerable, run through their op there, the
    # forward cond's extra outputs for its gradient given as None.
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, (3,), name="x")
        pred = tf.placeholder(tf.bool, (), name="pred")
        y = tf.cond(pred, lambda: tf.tanh(x) * x, lambda: tf.exp(x))
        _, z = tf.while_loop(lambda i, z: i < 2, lambda i, z: (i + 1, tf.sin(z) * y),
                             [tf.constant(0), y])
        loss = tf.reduce_sum(z * z)
        grad, = tf.gradients(loss, [x])
        for whole in (True, False):
            for taken in (True, False):
                feed = {x: np.array([0.1, -0.7, 1.2]), pred: taken}
                compiled, got, expected = compiled_and_interpreted([loss, grad], feed, whole)
                assert_same_bits(got, expected)
                assert compiled.program.has_control_flow


def test_branches_of_different_shapes_stay_on_the_interpreters_path():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (4,), name="x")
        pred = tf.placeholder(tf.bool, (), name="pred")
        y = tf.cond(pred, lambda: x[:2] * 2.0, lambda: x + 1.0)
        total = tf.reduce_sum(y)
        for taken in (True, False):
            feed = {x: np.arange(4, dtype=np.float32), pred: taken}
            compiled, got, expected = compiled_and_interpreted([y, total], feed)
            assert_same_bits(got, expected)
        assert "Cond" not in (compiled.functions_source or "")


def test_a_fetched_result_never_aliases_a_constant_of_the_graph():
    # numba returns an argument array as the object passed in: a cond or loop giving a
    # constant as it is must still give the caller a copy, as the interpreter does.
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, (2,), name="x")
        pred = tf.placeholder(tf.bool, (), name="pred")
        outer = tf.constant([5.0, 6.0], tf.float64)
        fetches = [tf.cond(pred, lambda: tf.constant([1.0, 2.0], tf.float64), lambda: x),
                   tf.cond(pred, lambda: outer, lambda: x),
                   tf.while_loop(lambda i, w: i < 0, lambda i, w: (i + 1, w * 2.0),
                                 [tf.constant(0), outer])[1]]
        feed = {x: np.zeros(2), pred: True}
        with tf.Session() as sess:
            compiled = sess.compile(fetches, feed)
            assert not compiled.program.has_control_flow
            for _ in range(2):
                for fetched in sess.run(fetches, feed):
                    fetched[0] = 99.0
            first, second, third = sess.run(fetches, feed)
    np.testing.assert_array_equal(first, [1.0, 2.0])
    np.testing.assert_array_equal(second, [5.0, 6.0])
    np.testing.assert_array_equal(third, [5.0, 6.0])
