"""cond and while_loop: values against NumPy, laziness, TensorFlow 1's pitfalls, gradients.

Laziness is measured by counting the ops a Session actually executes (`Run._run_op` wrapped
by the `executed` fixture); the ops of each branch are found by the name scope the test gives
them inside its branch functions. Gradients are checked against float64 central differences
computed with the same graph.
"""

from __future__ import annotations

import collections
import inspect

import numpy as np
import pytest

import graph as tf
from graph.session import Run


@pytest.fixture
def executed(monkeypatch):
    """op name -> how many times the Session executed that op (reset by `.clear()`)."""
    counts = collections.Counter()
    original = Run._run_op

    def counting(self, op, inputs):
        counts[op.name] += 1
        return original(self, op, inputs)

    monkeypatch.setattr(Run, "_run_op", counting)
    return counts


def _runs(counts, scope: str) -> int:
    """How many op executions happened inside name scope `scope` (at any depth)."""
    return sum(n for name, n in counts.items() if f"/{scope}/" in f"/{name}")


def _numeric_gradient(loss, value, eps=1e-6):
    value = np.asarray(value, np.float64)
    grad = np.zeros_like(value)
    for index in np.ndindex(value.shape):
        up, down = value.copy(), value.copy()
        up[index] += eps
        down[index] -= eps
        grad[index] = (loss(up) - loss(down)) / (2 * eps)
    return grad


def _check_gradients(sess, loss, wrt, feeds, rtol=1e-6, atol=1e-8):
    """tf.gradients of `loss` w.r.t. each placeholder in `wrt` against finite differences."""
    grads = tf.gradients(loss, wrt)
    assert all(g is not None for g in grads)
    values = sess.run(grads, feeds)
    for placeholder, value in zip(wrt, values):
        def at(point, placeholder=placeholder):
            return float(sess.run(loss, {**feeds, placeholder: point}))

        expected = _numeric_gradient(at, feeds[placeholder])
        np.testing.assert_allclose(value, expected, rtol=rtol, atol=atol)
    return values


def _line_of(marker: str) -> int:
    """The line number of this file holding `marker` (for checking error sites)."""
    lines = inspect.getsource(inspect.getmodule(_line_of)).splitlines()
    return next(i for i, line in enumerate(lines, 1) if marker in line and "_line_of" not in line)


# -- cond: values and laziness -----------------------------------------------------------------


@pytest.mark.parametrize("taken", [True, False])
def test_cond_values_and_nested_structure_match_numpy(taken):
    x_value = np.array([0.5, -1.5, 2.0], np.float32)
    with tf.Graph().as_default():
        pred = tf.placeholder(tf.bool, ())
        x = tf.placeholder(tf.float32, (3,))
        out = tf.cond(pred,
                      lambda: (x * 2.0, {"sum": tf.reduce_sum(x), "first": x[0]}),
                      lambda: (x - 1.0, {"sum": tf.reduce_max(x), "first": x[1]}))
        assert isinstance(out, tuple) and set(out[1]) == {"sum", "first"}
        with tf.Session() as sess:
            vector, scalars = sess.run(out, {pred: taken, x: x_value})
    if taken:
        np.testing.assert_array_equal(vector, x_value * 2)
        assert scalars == {"sum": np.float32(x_value.sum()), "first": x_value[0]}
    else:
        np.testing.assert_array_equal(vector, x_value - 1)
        assert scalars == {"sum": x_value.max(), "first": x_value[1]}


def test_cond_output_shape_merges_the_branches_with_none():
    with tf.Graph().as_default():
        pred = tf.placeholder(tf.bool, ())
        x = tf.placeholder(tf.float32, (2, 3))
        out = tf.cond(pred, lambda: x, lambda: tf.concat([x, x], 0))
        assert out.shape == (None, 3) and out.dtype == np.float32
        with tf.Session() as sess:
            data = np.ones((2, 3), np.float32)
            assert sess.run(out, {pred: True, x: data}).shape == (2, 3)
            assert sess.run(out, {pred: False, x: data}).shape == (4, 3)


def test_only_the_taken_branch_runs(executed):
    with tf.Graph().as_default():
        pred = tf.placeholder(tf.bool, ())
        x = tf.placeholder(tf.float32, ())

        def left():
            with tf.name_scope("left"):
                return tf.exp(x) * 2.0 + 1.0

        def right():
            with tf.name_scope("right"):
                return tf.sin(x) - 3.0

        out = tf.cond(pred, left, right)
        with tf.Session() as sess:
            assert sess.run(out, {pred: True, x: 0.0}) == pytest.approx(3.0)
            assert _runs(executed, "left") >= 3 and _runs(executed, "right") == 0
            executed.clear()
            assert sess.run(out, {pred: False, x: 0.0}) == pytest.approx(-3.0)
            assert _runs(executed, "left") == 0 and _runs(executed, "right") >= 2


def test_an_op_created_outside_the_branch_runs_whichever_branch_is_taken():
    """TensorFlow 1's classic pitfall: the assign is an input of the cond, so it always runs."""
    with tf.Graph().as_default():
        pred = tf.placeholder(tf.bool, ())
        counter = tf.Variable(0.0)
        increment = tf.assign_add(counter, 1.0)  # created before the cond
        out = tf.cond(pred, lambda: increment, lambda: tf.constant(-1.0))
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            assert sess.run(out, {pred: False}) == -1.0
            assert sess.run(counter) == 1.0  # incremented although the false branch ran
            assert sess.run(out, {pred: True}) == 2.0
            assert sess.run(counter) == 2.0


def test_an_assign_created_inside_a_branch_takes_effect_only_when_taken():
    with tf.Graph().as_default():
        pred = tf.placeholder(tf.bool, ())
        counter = tf.Variable(0.0)
        out = tf.cond(pred, lambda: tf.assign_add(counter, 1.0), lambda: tf.identity(counter))
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for taken in [False, True, False, True, True]:
                sess.run(out, {pred: taken})
            assert sess.run(counter) == 3.0


def test_a_branch_runs_only_what_its_result_needs():
    """As in TensorFlow 1, an op a branch creates but neither returns nor depends on never
    runs; a control dependency makes it run with the branch."""
    with tf.Graph().as_default():
        pred = tf.placeholder(tf.bool, ())
        forgotten, kept = tf.Variable(0.0), tf.Variable(0.0)

        def branch():
            tf.assign_add(forgotten, 1.0)
            with tf.control_dependencies([tf.assign_add(kept, 1.0)]):
                return tf.constant(1.0) * 1.0

        out = tf.cond(pred, branch, lambda: tf.constant(0.0))
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            assert sess.run(out, {pred: True}) == 1.0
            assert sess.run([forgotten, kept]) == [0.0, 1.0]


def test_cond_unpacks_one_element_lists_unless_strict():
    with tf.Graph().as_default():
        pred = tf.placeholder(tf.bool, ())
        x = tf.placeholder(tf.float32, ())
        assert isinstance(tf.cond(pred, lambda: [x * 2.0], lambda: x), tf.Tensor)
        strict = tf.cond(pred, lambda: [x * 2.0], lambda: [x], strict=True)
        assert isinstance(strict, list) and len(strict) == 1
        with pytest.raises(tf.GraphError, match="their structures differ"):
            tf.cond(pred, lambda: [x * 2.0], lambda: x, strict=True)


def test_branches_returning_operations_give_a_fetchable_op():
    with tf.Graph().as_default():
        pred = tf.placeholder(tf.bool, ())
        counter = tf.Variable(0.0)
        update = tf.cond(pred, lambda: tf.group(tf.assign_add(counter, 10.0)),
                         lambda: tf.group(tf.assign_sub(counter, 1.0)))
        assert isinstance(update, tf.Operation)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(update, {pred: True})
            sess.run(update, {pred: False})
            assert sess.run(counter) == 9.0


@pytest.mark.parametrize("outer, inner", [(True, True), (True, False), (False, True),
                                          (False, False)])
def test_nested_cond_runs_one_innermost_branch(executed, outer, inner):
    with tf.Graph().as_default():
        p, q = tf.placeholder(tf.bool, ()), tf.placeholder(tf.bool, ())
        x = tf.placeholder(tf.float64, ())

        def scoped(scope, fn):
            def build():
                with tf.name_scope(scope):
                    return fn()
            return build

        out = tf.cond(p,
                      scoped("a", lambda: tf.cond(q, scoped("aa", lambda: x * 2.0),
                                                  scoped("ab", lambda: x * 3.0))),
                      scoped("b", lambda: tf.cond(q, scoped("ba", lambda: x + 2.0),
                                                  scoped("bb", lambda: x + 3.0))))
        with tf.Session() as sess:
            value = sess.run(out, {p: outer, q: inner, x: 5.0})
    expected = {(True, True): 10.0, (True, False): 15.0, (False, True): 7.0,
                (False, False): 8.0}[(outer, inner)]
    assert value == expected
    taken = ("a" if outer else "b") + ("a" if inner else "b")
    for leaf in ["aa", "ab", "ba", "bb"]:
        assert (_runs(executed, leaf) > 0) == (leaf == taken), leaf


# -- cond: errors ------------------------------------------------------------------------------


def test_cond_refuses_different_structures_naming_both_results():
    with tf.Graph().as_default():
        pred = tf.placeholder(tf.bool, ())
        x = tf.placeholder(tf.float32, (3,))
        with pytest.raises(tf.GraphError) as error:
            tf.cond(pred, lambda: x, lambda: (x, x))  # mismatched-structure
    message = str(error.value)
    assert "true_fn and false_fn must return the same structure" in message
    assert "true_fn (defined at" in message and "false_fn (defined at" in message
    assert "returned (Tensor 'Placeholder_1:0' float32 (3,), Tensor" in message
    assert f"test_control_flow.py:{_line_of('# mismatched-structure')}" in message


def test_cond_refuses_different_dtypes_and_ranks():
    with tf.Graph().as_default():
        pred = tf.placeholder(tf.bool, ())
        x = tf.placeholder(tf.float32, (3,))
        with pytest.raises(tf.GraphError, match="dtype float32 in true_fn and float64 in "
                                                "false_fn"):
            tf.cond(pred, lambda: x, lambda: tf.cast(x, tf.float64))
        with pytest.raises(tf.GraphError, match=r"shape \(3,\) in true_fn and \(\) in false_fn"):
            tf.cond(pred, lambda: x, lambda: tf.reduce_sum(x))
        with pytest.raises(tf.GraphError, match="a Tensor in one branch and an Operation"):
            tf.cond(pred, lambda: x, lambda: tf.no_op())
        with pytest.raises(tf.GraphError, match="false_fn .* returned None"):
            tf.cond(pred, lambda: x, lambda: None)


def test_cond_refuses_a_bad_predicate_or_function():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (3,))
        with pytest.raises(tf.GraphError, match="not the Python bool True"):
            tf.cond(True, lambda: x, lambda: x)
        with pytest.raises(tf.GraphError, match="scalar bool Tensor, got 'Placeholder:0' of "
                                                r"dtype float32 and shape \(3,\)"):
            tf.cond(x, lambda: x, lambda: x)
        with pytest.raises(tf.GraphError, match="false_fn must be a callable"):
            tf.cond(tf.constant(True), lambda: x, x)


def test_a_value_from_one_branch_cannot_be_used_in_the_other():
    with tf.Graph().as_default():
        pred = tf.placeholder(tf.bool, ())
        x = tf.placeholder(tf.float32, ())
        made = {}

        def true_fn():
            made["doubled"] = x * 2.0
            return made["doubled"]

        with pytest.raises(tf.GraphError) as error:
            tf.cond(pred, true_fn, lambda: made["doubled"] + 1.0)  # uses-other-branch
    message = str(error.value)
    assert "in the false branch of cond 'cond'" in message
    assert "computed inside the true branch of cond 'cond'" in message
    assert f"test_control_flow.py:{_line_of('# uses-other-branch')}" in message


def test_variables_cannot_be_created_inside_a_branch():
    with tf.Graph().as_default():
        pred = tf.placeholder(tf.bool, ())
        with pytest.raises(tf.GraphError, match="create variables outside cond and while_loop"):
            tf.cond(pred, lambda: tf.Variable(1.0) * 2.0, lambda: tf.constant(1.0))


def test_python_bool_of_a_symbolic_tensor_names_the_users_line():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, ())
        with pytest.raises(tf.GraphError) as error:
            if x > 0.0:  # bool-of-tensor
                pass
    message = str(error.value)
    assert f"test_control_flow.py:{_line_of('# bool-of-tensor')}" in message
    assert "if x > 0.0:" in message
    assert "cond(pred, true_fn, false_fn)" in message


# -- while_loop: values and laziness -----------------------------------------------------------


def test_while_loop_values_match_numpy():
    with tf.Graph().as_default():
        n = tf.placeholder(tf.int64, ())
        x = tf.placeholder(tf.float64, (3,))
        _, a, b, total = tf.while_loop(
            lambda i, a, b, total: i < n,
            lambda i, a, b, total: (i + 1, b, a + b, total + x * tf.cast(i, tf.float64)),
            [tf.constant(0, tf.int64), tf.constant(0, tf.int64), tf.constant(1, tf.int64),
             tf.zeros((3,), tf.float64)])
        x_value = np.array([1.0, -2.0, 0.5])
        with tf.Session() as sess:
            for steps in [0, 1, 10]:
                got = sess.run([a, b, total], {n: steps, x: x_value})
                fib = [0, 1]
                for _ in range(steps):
                    fib = [fib[1], fib[0] + fib[1]]
                assert got[:2] == fib
                np.testing.assert_allclose(got[2], x_value * sum(range(steps)))


def test_while_loop_keeps_nested_structures_and_tensorflow1_unpacking():
    Pair = collections.namedtuple("Pair", "count value")
    with tf.Graph().as_default():
        start = Pair(tf.constant(0, tf.int64), {"h": tf.constant([1.0, 2.0])})
        (out,) = tf.while_loop(lambda p: p.count < 3,
                               lambda p: Pair(p.count + 1, {"h": p.value["h"] * 2.0}), [start])
        assert isinstance(out, Pair) and isinstance(out.value, dict)
        single = tf.while_loop(lambda i: i < 4, lambda i: i + 1, [tf.constant(0, tf.int64)])
        assert isinstance(single, tf.Tensor)  # TensorFlow 1 unpacks a single loop variable
        same = tf.while_loop(lambda i: i < 4, lambda i: [i + 1], [tf.constant(0, tf.int64)],
                             return_same_structure=True)
        assert isinstance(same, list) and len(same) == 1
        with tf.Session() as sess:
            count, value = sess.run(out)  # a Session returns the namedtuple's fields
            assert count == 3
            np.testing.assert_array_equal(value["h"], [8.0, 16.0])
            assert sess.run(single) == 4 and sess.run(same) == [4]


def test_while_body_runs_once_per_iteration(executed):
    with tf.Graph().as_default():
        n = tf.placeholder(tf.int64, ())

        def body(i, x):
            with tf.name_scope("step"):
                return i + 1, x * 1.5

        _, x = tf.while_loop(lambda i, x: i < n, body, [tf.constant(0, tf.int64),
                                                         tf.constant(1.0)])
        with tf.Session() as sess:
            for steps in [0, 1, 7]:
                executed.clear()
                assert sess.run(x, {n: steps}) == pytest.approx(1.5 ** steps)
                assert _runs(executed, "step") == 4 * steps  # add, mul and their constants


def test_maximum_iterations_stops_the_loop():
    with tf.Graph().as_default():
        limit = tf.placeholder(tf.int32, ())
        forever = tf.while_loop(lambda i: tf.constant(True), lambda i: i + 1,
                                [tf.constant(0, tf.int64)], maximum_iterations=5)
        capped = tf.while_loop(lambda i: i < 3, lambda i: i + 1, [tf.constant(0, tf.int64)],
                               maximum_iterations=limit)
        with tf.Session() as sess:
            assert sess.run(forever) == 5
            assert sess.run(capped, {limit: 10}) == 3
            assert sess.run(capped, {limit: 2}) == 2


def test_shape_invariants_let_a_loop_variable_grow():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (2,))
        _, grown = tf.while_loop(lambda i, v: i < 3, lambda i, v: (i + 1, tf.concat([v, v], 0)),
                                 [tf.constant(0, tf.int64), x],
                                 shape_invariants=[(), (None,)])
        assert grown.shape == (None,)
        with tf.Session() as sess:
            np.testing.assert_array_equal(sess.run(grown, {x: [1.0, 2.0]}), [1.0, 2.0] * 8)


def test_assign_inside_the_body_runs_every_iteration():
    with tf.Graph().as_default():
        counter = tf.Variable(0.0)

        def body(i):
            with tf.control_dependencies([tf.assign_add(counter, 2.0)]):
                return i + 1

        loop = tf.while_loop(lambda i: i < 4, body, [tf.constant(0, tf.int64)])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            assert sess.run(loop) == 4
            assert sess.run(counter) == 8.0


def test_a_variable_read_in_the_body_sees_the_assigns_of_earlier_iterations():
    """TensorFlow 1's reference semantics: a read runs when its consumer runs."""
    with tf.Graph().as_default():
        counter = tf.Variable(0.0)

        def body(i, seen):
            with tf.control_dependencies([tf.assign_add(counter, 1.0)]):
                return i + 1, seen + counter * 1.0

        _, seen = tf.while_loop(lambda i, seen: i < 4, body,
                                [tf.constant(0, tf.int64), tf.constant(0.0)])
        last = tf.cond(tf.constant(True), lambda: counter, lambda: counter)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            assert sess.run(seen) == 1.0 + 2.0 + 3.0 + 4.0
            assert sess.run(last) == 4.0


def test_outside_tensors_used_inside_the_loop_are_captured_and_computed_once(executed):
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, ())
        with tf.name_scope("outside"):
            scale = tf.exp(x) * 2.0
        _, y = tf.while_loop(lambda i, y: i < 5, lambda i, y: (i + 1, y + scale),
                             [tf.constant(0, tf.int64), tf.constant(0.0, tf.float64)])
        assert scale in y.op.inputs
        with tf.Session() as sess:
            assert sess.run(y, {x: 0.0}) == pytest.approx(10.0)
    assert _runs(executed, "outside") == 3  # exp, mul and the constant, once each


def test_cond_inside_while_takes_a_branch_per_iteration(executed):
    with tf.Graph().as_default():
        def body(i, x):
            def halve():
                with tf.name_scope("halve"):
                    return x / 2.0

            def grow():
                with tf.name_scope("grow"):
                    return x * 3.0 + 1.0

            return i + 1, tf.cond(i < 4, halve, grow)

        _, x = tf.while_loop(lambda i, x: i < 10, body, [tf.constant(0, tf.int64),
                                                          tf.constant(64.0, tf.float64)])
        with tf.Session() as sess:
            got = sess.run(x)
    expected = 64.0
    for i in range(10):
        expected = expected / 2.0 if i < 4 else expected * 3.0 + 1.0
    assert got == expected
    assert _runs(executed, "halve") == 4 * 2  # div and its constant, 4 times
    assert _runs(executed, "grow") == 6 * 4  # mul, add and two constants, 6 times


def test_while_inside_cond_runs_only_when_taken(executed):
    with tf.Graph().as_default():
        pred = tf.placeholder(tf.bool, ())
        n = tf.placeholder(tf.int64, ())

        def loop():
            with tf.name_scope("loop"):
                return tf.while_loop(lambda i, s: i < n, lambda i, s: (i + 1, s + i),
                                     [tf.constant(0, tf.int64), tf.constant(0, tf.int64)])[1]

        out = tf.cond(pred, loop, lambda: tf.constant(-1, tf.int64))
        with tf.Session() as sess:
            assert sess.run(out, {pred: True, n: 5}) == 10
            executed.clear()
            assert sess.run(out, {pred: False, n: 5}) == -1
            assert _runs(executed, "loop") == 0


# -- while_loop: errors ------------------------------------------------------------------------


def test_a_changing_shape_without_an_invariant_names_the_variable_and_both_shapes():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (3,))
        with pytest.raises(tf.GraphError) as error:
            tf.while_loop(lambda i, v: i < 2,  # grows-without-invariant
                          lambda i, v: (i + 1, tf.concat([v, v], 0)), [tf.constant(0, tf.int64), x])
    message = str(error.value)
    assert "loop variable loop_vars[1] ('Placeholder:0') enters the loop with shape (3,) but " \
           "has shape (6,) after one iteration" in message
    assert "pass shape_invariants with None for the dimensions that vary, e.g. (None,)" in message
    assert f"test_control_flow.py:{_line_of('# grows-without-invariant')}" in message


def test_while_loop_errors_name_the_problem():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (3,))
        zero = tf.constant(0, tf.int64)
        with pytest.raises(tf.GraphError, match=r"loop_vars\[1\] .* enters the loop with dtype "
                                                "float32 but has dtype float64"):
            tf.while_loop(lambda i, v: i < 2, lambda i, v: (i + 1, tf.cast(v, tf.float64)),
                          [zero, x])
        with pytest.raises(tf.GraphError, match="returned 1 value for 2 loop variables"):
            tf.while_loop(lambda i, v: i < 2, lambda i, v: (i + 1,), [zero, x])
        with pytest.raises(tf.GraphError, match=r"another structure for loop variable "
                                                r"loop_vars\[1\]"):
            tf.while_loop(lambda i, v: i < 2, lambda i, v: (i + 1, [v]), [zero, x])
        with pytest.raises(tf.GraphError, match="cond .* must return a scalar bool Tensor"):
            tf.while_loop(lambda i: i, lambda i: i + 1, [zero])
        with pytest.raises(tf.GraphError, match=r"shape invariant \(4,\) of loop variable "
                                                r"loop_vars\[1\] .* initial shape \(3,\)"):
            tf.while_loop(lambda i, v: i < 2, lambda i, v: (i + 1, v), [zero, x],
                          shape_invariants=[(), (4,)])
        with pytest.raises(tf.GraphError, match="loop_vars is empty"):
            tf.while_loop(lambda: True, lambda: (), [])


def test_a_tensor_from_inside_the_loop_cannot_be_fetched():
    with tf.Graph().as_default():
        leaked = {}

        def body(i):
            leaked["double"] = i * 2
            return i + 1

        final = tf.while_loop(lambda i: i < 3, body, [tf.constant(0, tf.int64)])
        with tf.Session() as sess:
            assert sess.run(final) == 3
            with pytest.raises(tf.GraphError, match=r"Session.run cannot use the value "
                                                    r"'while/mul:0': it is computed inside the "
                                                    r"while_loop 'while'"):
                sess.run(leaked["double"])
        with pytest.raises(tf.GraphError, match="computed inside the while_loop"):
            leaked["double"] + 1  # an op outside the loop is refused when it is built


# -- gradients ---------------------------------------------------------------------------------


@pytest.mark.parametrize("taken", [True, False])
def test_cond_gradients_match_finite_differences(taken):
    rng = np.random.default_rng(0)
    with tf.Graph().as_default():
        pred = tf.placeholder(tf.bool, ())
        x = tf.placeholder(tf.float64, (3,))
        w = tf.placeholder(tf.float64, (3,))
        y = tf.cond(pred, lambda: tf.tanh(x * w) * x, lambda: tf.sin(x) + w * w)
        loss = tf.reduce_sum(y * tf.constant(rng.standard_normal(3)))
        with tf.Session() as sess:
            _check_gradients(sess, loss, [x, w], {pred: taken, x: rng.standard_normal(3),
                                                  w: rng.standard_normal(3)})


def test_cond_gradient_runs_only_the_taken_branchs_gradient(executed):
    with tf.Graph().as_default():
        pred = tf.placeholder(tf.bool, ())
        x = tf.placeholder(tf.float64, ())

        def left():
            with tf.name_scope("left"):
                return tf.exp(x)

        def right():
            with tf.name_scope("right"):
                return tf.sin(x) * x

        (grad,) = tf.gradients(tf.cond(pred, left, right), [x])
        with tf.Session() as sess:
            assert sess.run(grad, {pred: True, x: 0.5}) == pytest.approx(np.exp(0.5))
            # The right branch and every op of its gradient stayed idle.
            assert _runs(executed, "right") == _runs(executed, "false_branch") == 0
            assert _runs(executed, "true_branch") > 0
            executed.clear()
            assert sess.run(grad, {pred: False, x: 0.5}) == pytest.approx(
                np.cos(0.5) * 0.5 + np.sin(0.5))
            assert _runs(executed, "left") == _runs(executed, "true_branch") == 0
            assert _runs(executed, "false_branch") > 0


def test_cond_gradient_is_zero_for_an_input_the_taken_branch_does_not_use():
    with tf.Graph().as_default():
        pred = tf.placeholder(tf.bool, ())
        a = tf.placeholder(tf.float64, (2,))
        b = tf.placeholder(tf.float64, (2,))
        y = tf.reduce_sum(tf.cond(pred, lambda: a * a, lambda: b * 3.0))
        ga, gb = tf.gradients(y, [a, b])
        with tf.Session() as sess:
            feeds = {a: [1.0, 2.0], b: [3.0, 4.0]}
            np.testing.assert_array_equal(sess.run([ga, gb], {**feeds, pred: True}),
                                          [[2.0, 4.0], [0.0, 0.0]])
            np.testing.assert_array_equal(sess.run([ga, gb], {**feeds, pred: False}),
                                          [[0.0, 0.0], [3.0, 3.0]])


@pytest.mark.parametrize("outer, inner", [(True, True), (True, False), (False, True)])
def test_nested_cond_gradients_match_finite_differences(outer, inner):
    with tf.Graph().as_default():
        p, q = tf.placeholder(tf.bool, ()), tf.placeholder(tf.bool, ())
        x = tf.placeholder(tf.float64, (2,))
        w = tf.placeholder(tf.float64, (2,))
        y = tf.cond(p,
                    lambda: tf.cond(q, lambda: tf.exp(x * w), lambda: x * x * w) * w,
                    lambda: tf.tanh(x))
        loss = tf.reduce_sum(y)
        with tf.Session() as sess:
            _check_gradients(sess, loss, [x, w], {p: outer, q: inner, x: [0.3, -0.8],
                                                  w: [1.2, 0.4]})


def test_gradient_of_the_classic_pitfall_cond_flows_through_the_outside_op():
    with tf.Graph().as_default():
        pred = tf.placeholder(tf.bool, ())
        x = tf.placeholder(tf.float64, ())
        outside = x * x  # made outside, used by one branch: the cond's captured input
        (grad,) = tf.gradients(tf.cond(pred, lambda: outside * 3.0, lambda: x), [x])
        with tf.Session() as sess:
            assert sess.run(grad, {pred: True, x: 2.0}) == 12.0
            assert sess.run(grad, {pred: False, x: 2.0}) == 1.0


@pytest.mark.parametrize("steps", [0, 1, 5])
def test_while_gradient_of_a_power_by_repeated_multiplication(steps):
    with tf.Graph().as_default():
        n = tf.placeholder(tf.int64, ())
        x = tf.placeholder(tf.float64, ())
        _, power = tf.while_loop(lambda i, p: i < n, lambda i, p: (i + 1, p * x),
                                 [tf.constant(0, tf.int64), tf.constant(1.0, tf.float64)])
        with tf.Session() as sess:
            (grad,) = _check_gradients(sess, power, [x], {n: steps, x: 1.3})
    assert grad == pytest.approx(steps * 1.3 ** (steps - 1) if steps else 0.0)


def test_while_gradient_of_a_small_rnn_with_captured_weights():
    rng = np.random.default_rng(1)
    with tf.Graph().as_default():
        inputs = tf.placeholder(tf.float64, (6, 3))
        w = tf.placeholder(tf.float64, (4, 4))
        u = tf.placeholder(tf.float64, (3, 4))
        h0 = tf.placeholder(tf.float64, (1, 4))
        steps = tf.placeholder(tf.int64, ())

        def cell(t, h):
            x_t = tf.reshape(tf.gather(inputs, t), (1, 3))
            return t + 1, tf.tanh(tf.matmul(h, w) + tf.matmul(x_t, u))

        _, h = tf.while_loop(lambda t, h: t < steps, cell, [tf.constant(0, tf.int64), h0])
        loss = tf.reduce_sum(h * tf.constant(rng.standard_normal((1, 4))))
        feeds = {inputs: rng.standard_normal((6, 3)), w: rng.standard_normal((4, 4)) * 0.5,
                 u: rng.standard_normal((3, 4)), h0: rng.standard_normal((1, 4)), steps: 6}
        with tf.Session() as sess:
            _check_gradients(sess, loss, [w, u, h0, inputs], feeds)


def test_while_gradient_through_a_cond_in_the_body():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, (2,))
        w = tf.placeholder(tf.float64, (2,))

        def body(i, v):
            return i + 1, tf.cond(tf.reduce_sum(v) > 0.0, lambda: tf.sin(v * w),
                                  lambda: v * v + w)

        _, v = tf.while_loop(lambda i, v: i < 6, body, [tf.constant(0, tf.int64), x])
        with tf.Session() as sess:
            _check_gradients(sess, tf.reduce_sum(v), [x, w], {x: [0.4, -0.1], w: [1.1, 0.7]})


def test_while_gradient_through_a_nested_loop():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, ())

        def outer(j, y):
            _, power = tf.while_loop(lambda i, p: i < 3, lambda i, p: (i + 1, p * y),
                                     [tf.constant(0, tf.int64), tf.constant(1.0, tf.float64)])
            return j + 1, 0.5 * power + tf.sin(x * y)

        _, y = tf.while_loop(lambda j, y: j < 3, outer, [tf.constant(0, tf.int64), x])
        with tf.Session() as sess:
            _check_gradients(sess, y, [x], {x: 0.7})


def test_gradients_taken_inside_a_loop_body_drive_gradient_descent():
    with tf.Graph().as_default():
        start = tf.placeholder(tf.float64, (2,))
        target = tf.constant(np.array([1.0, -2.0]))

        def descend(i, x):
            distance = tf.reduce_sum((x - target) * (x - target))
            loss = tf.cond(distance > 1.0, lambda: distance, lambda: 2.0 * distance)
            (grad,) = tf.gradients(loss, [x])
            return i + 1, x - 0.1 * grad

        _, found = tf.while_loop(lambda i, x: i < 60, descend, [tf.constant(0, tf.int64), start])
        with tf.Session() as sess:
            np.testing.assert_allclose(sess.run(found, {start: [5.0, 5.0]}), [1.0, -2.0])


def test_while_gradient_needs_the_loop_variables_to_keep_their_shape():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, (2,))
        _, grown = tf.while_loop(lambda i, v: i < 2, lambda i, v: (i + 1, tf.concat([v, v], 0)),
                                 [tf.constant(0, tf.int64), x], shape_invariants=[(), (None,)])
        with pytest.raises(tf.GraphError, match=r"loop variable loop_vars\[1\] .* changes shape "
                                                r"across iterations \(shape invariant \(None,\), "
                                                r"initial shape \(2,\)\)"):
            tf.gradients(tf.reduce_sum(grown), [x])


def test_a_growing_loop_variable_off_the_gradient_path_does_not_block_gradients():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, ())
        _, power, history = tf.while_loop(
            lambda i, p, h: i < 4,
            lambda i, p, h: (i + 1, p * x, tf.concat([h, tf.reshape(p, (1,))], 0)),
            [tf.constant(0, tf.int64), tf.constant(1.0, tf.float64),
             tf.zeros((0,), tf.float64)],
            shape_invariants=[(), (), (None,)])
        with tf.Session() as sess:
            (grad,) = _check_gradients(sess, power, [x], {x: 1.5})
            np.testing.assert_allclose(sess.run(history, {x: 1.5}), 1.5 ** np.arange(4))
        assert grad == pytest.approx(4 * 1.5 ** 3)


def test_no_gradient_flows_through_a_loop_built_without_back_prop():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, ())
        _, y = tf.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, y * x),
                             [tf.constant(0, tf.int64), x], back_prop=False)
        assert tf.gradients(y, [x]) == [None]


def test_the_cond_gradient_needs_the_forward_branch_in_the_same_run():
    with tf.Graph().as_default():
        pred = tf.placeholder(tf.bool, ())
        x = tf.placeholder(tf.float64, ())
        y = tf.cond(pred, lambda: tf.exp(x), lambda: x)
        (grad,) = tf.gradients(y * y, [x])
        with tf.Session() as sess:
            with pytest.raises(tf.GraphError, match="computed in this Session.run, but it did "
                                                    "not run"):
                sess.run(grad, {pred: True, x: 1.0, y: 2.0})  # the cond's output is fed


def test_second_order_gradients_through_a_loop_are_refused_clearly():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, ())
        _, y = tf.while_loop(lambda i, y: i < 3, lambda i, y: (i + 1, y * x),
                             [tf.constant(0, tf.int64), x])
        (grad,) = tf.gradients(y, [x])
        with pytest.raises(tf.GraphError, match="second-order gradients through while_loop"):
            tf.gradients(grad, [x])


# -- gradients build only what was asked for ---------------------------------------------------


def _op_types_added(graph, build) -> collections.Counter:
    """The types of the ops `build()` adds to `graph`."""
    before = len(graph.operations)
    build()
    return collections.Counter(op.type for op in graph.operations[before:])


def _gathering_loop(rows):
    """acc = sum over i < 3 of rows[i] * w, with rows captured by the loop body."""
    w = tf.Variable([1.0, 2.0])
    _, acc = tf.while_loop(lambda i, a: i < 3,
                           lambda i, a: (i + 1, a + tf.gather(rows, i) * w),
                           [tf.constant(0, tf.int32), tf.zeros((2,))])
    return w, tf.reduce_sum(acc)


def test_while_gradient_skips_a_captured_placeholder_of_unknown_shape_nobody_asked_for():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 2))
        w, loss = _gathering_loop(x)
        (grad,) = tf.gradients(loss, [w])  # gather's gradient would need x's first dimension
        rows = np.arange(10.0, dtype=np.float32).reshape(5, 2)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            np.testing.assert_allclose(sess.run(grad, {x: rows}), rows[:3].sum(axis=0))


def test_while_gradient_builds_no_gradient_ops_for_an_unwanted_capture():
    with tf.Graph().as_default() as graph:
        x = tf.placeholder(tf.float32, (5, 2))
        w, loss = _gathering_loop(x)
        for_w = _op_types_added(graph, lambda: tf.gradients(loss, [w]))
        for_x = _op_types_added(graph, lambda: tf.gradients(loss, [x]))
    assert for_w["WhileGrad"] == for_x["WhileGrad"] == 1
    assert for_w["scatter_add"] == 0  # x's gradient (gather's gradient) was not built
    assert for_x["scatter_add"] == 1


def test_while_gradient_with_respect_to_a_capture_only_matches_the_unrolled_loop():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, (None,))
        w = tf.placeholder(tf.float64, ())
        _, y = tf.while_loop(lambda i, y: i < 3,
                             lambda i, y: (i + 1, tf.sin(y * w) + tf.gather(x, i)),
                             [tf.constant(0, tf.int64), tf.constant(0.5, tf.float64)])
        (grad,) = tf.gradients(y, [w])
        feeds = {x: [0.1, -0.4, 0.7, 9.0], w: 1.3}
        with tf.Session() as sess:
            value = sess.run(grad, feeds)

        def unrolled(w_value):
            y_value = 0.5
            for i in range(3):
                y_value = np.sin(y_value * w_value) + feeds[x][i]
            return y_value

        assert value == pytest.approx(_numeric_gradient(unrolled, 1.3), rel=1e-6)


def test_cond_gradient_skips_a_captured_placeholder_of_unknown_shape_nobody_asked_for():
    with tf.Graph().as_default() as graph:
        pred = tf.placeholder(tf.bool, ())
        x = tf.placeholder(tf.float32, (None, 2))
        w = tf.placeholder(tf.float32, (2,))
        y = tf.reduce_sum(tf.cond(pred, lambda: tf.gather(x, 1) * w, lambda: w * w))
        added = _op_types_added(graph, lambda: tf.gradients(y, [w]))
        (grad,) = tf.gradients(y, [w])
        assert added["scatter_add"] == 0
        rows = np.array([[1.0, 2.0], [3.0, 4.0]], np.float32)
        with tf.Session() as sess:
            np.testing.assert_allclose(sess.run(grad, {pred: True, x: rows, w: [5.0, 6.0]}),
                                       [3.0, 4.0])
            np.testing.assert_allclose(sess.run(grad, {pred: False, x: rows, w: [5.0, 6.0]}),
                                       [10.0, 12.0])


def test_a_loop_over_the_rows_of_an_unknown_length_input_reads_its_length_with_tf_shape():
    with tf.Graph().as_default():
        rows = tf.placeholder(tf.float64, (None, 2))
        w = tf.placeholder(tf.float64, (2,))
        length = tf.shape(rows)[0]
        assert tf.shape(rows).dtype == np.int32 and tf.shape(rows).shape == (2,)
        assert tf.shape(rows, out_type=tf.int64).dtype == np.int64
        _, total = tf.while_loop(lambda i, t: i < length,
                                 lambda i, t: (i + 1, t + tf.reduce_sum(tf.gather(rows, i) * w)),
                                 [tf.constant(0, tf.int32), tf.constant(0.0, tf.float64)])
        (grad,) = tf.gradients(total, [w])
        with tf.Session() as sess:
            for count in (0, 1, 4):
                data = np.arange(2.0 * count).reshape(count, 2)
                got_shape, got_total, got_grad = sess.run(
                    [tf.shape(rows), total, grad], {rows: data, w: [1.0, -1.0]})
                np.testing.assert_array_equal(got_shape, [count, 2])
                assert got_total == pytest.approx(float(data @ [1.0, -1.0] @ np.ones(count)))
                np.testing.assert_allclose(got_grad, data.sum(axis=0))
