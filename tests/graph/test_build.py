"""Building graphs: default graphs, names and scopes, creation sites, build-time shape errors,
control dependencies, group, two graphs kept apart, and `gradients` (TensorFlow 1 semantics).

Values are checked by running the graph in a Session; the session's own behaviour (fetches,
feeds, threads, variables) is tested in test_session.py.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import graph as tf
from framework.errors import ShapeError
from graph.core import TensorShape


@pytest.fixture
def g():
    """A fresh graph, the default one for the test."""
    graph = tf.Graph()
    with graph.as_default():
        yield graph


def _run(fetches, feed_dict=None):
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        return sess.run(fetches, feed_dict)


# -- default graphs -------------------------------------------------------------------------


def test_ops_go_to_the_innermost_default_graph():
    outer, inner = tf.Graph(), tf.Graph()
    global_graph = tf.get_default_graph()
    with outer.as_default():
        a = tf.constant(1.0)
        with inner.as_default() as entered:
            b = tf.constant(2.0)
            assert entered is inner and tf.get_default_graph() is inner
        c = tf.constant(3.0)
    assert (a.graph, b.graph, c.graph) == (outer, inner, outer)
    assert tf.get_default_graph() is global_graph
    assert len(outer.get_operations()) == 2 and len(inner.get_operations()) == 1


def test_the_default_graph_is_per_thread():
    graph = tf.Graph()
    seen = []
    with graph.as_default():
        worker = threading.Thread(target=lambda: seen.append(tf.get_default_graph()))
        worker.start()
        worker.join()
    # As in TensorFlow: another thread sees the global default graph, not this block's.
    assert seen[0] is not graph


def test_reset_default_graph_replaces_the_global_graph_only_outside_a_block():
    before = tf.get_default_graph()
    tf.reset_default_graph()
    assert tf.get_default_graph() is not before
    with tf.Graph().as_default(), pytest.raises(tf.GraphError, match="reset_default_graph"):
        tf.reset_default_graph()


def test_an_empty_graph_is_still_the_graph_a_session_runs():
    graph = tf.Graph()
    sess = tf.Session(graph=graph)  # before any op exists, as TensorFlow allows
    with graph.as_default():
        c = tf.constant(4.0)
    assert sess.graph is graph and sess.run(c) == 4.0


# -- names and scopes -----------------------------------------------------------------------


def test_names_are_made_unique_with_a_counter(g):
    names = [tf.constant(0.0).op.name for _ in range(3)]
    assert names == ["Const", "Const_1", "Const_2"]
    assert tf.constant(0.0, name="x").op.name == "x"
    assert tf.constant(0.0, name="x").op.name == "x_1"
    # A user name that collides with a generated one gets its own suffix.
    assert tf.constant(0.0, name="x_1").op.name == "x_1_1"
    assert g.unique_name("x", mark_as_used=False) == "x_2"
    assert g.unique_name("x") == "x_2"


def test_name_scopes_prefix_nest_and_count(g):
    x = tf.placeholder(tf.float32, (None, 3), name="x")
    w = tf.constant(np.ones((3, 2), np.float32), name="w")
    with tf.name_scope("layer") as scope:
        y = tf.matmul(x, w)
        with tf.name_scope("inner"):
            deep = tf.constant(1.0)
    with tf.name_scope("layer") as second:
        z = tf.matmul(x, w)
    assert scope == "layer/" and second == "layer_1/"
    assert y.op.name == f"layer/{y.op.type}" and z.op.name == f"layer_1/{z.op.type}"
    assert deep.op.name == "layer/inner/Const"
    assert y.name == y.op.name + ":0"
    assert y.op.scope == "layer" and g.get_name_scope() == ""


def test_a_scope_name_ending_in_a_slash_reenters_it_and_none_goes_to_the_top(g):
    with tf.name_scope("block"):
        first = tf.constant(1.0)
        with tf.name_scope(None):
            top = tf.constant(1.0)
    with tf.name_scope("block/") as scope:
        again = tf.constant(1.0)
    with g.name_scope(None, default_name="loss") as default:
        pass
    assert (first.op.name, top.op.name, again.op.name) == ("block/Const", "Const",
                                                           "block/Const_1")
    assert scope == "block/" and default == "loss/"


def test_a_scope_and_an_op_do_not_share_a_name(g):
    op_named_dense = tf.constant(0.0, name="dense")
    with tf.name_scope("dense") as scope:
        pass
    assert op_named_dense.op.name == "dense" and scope == "dense_1/"


def test_lookups_by_name(g):
    x = tf.placeholder(tf.float32, (2,), name="x")
    with tf.name_scope("layer"):
        y = tf.identity(x * 2.0, name="out")
    assert g.get_tensor_by_name("x:0") is x
    assert g.get_tensor_by_name("layer/out:0") is y
    assert g.get_operation_by_name("layer/out") is y.op
    assert g.as_graph_element("layer/out") is y.op and g.as_graph_element("x:0") is x
    # TensorFlow's errors: a KeyError for a missing name, a ValueError for a malformed one.
    with pytest.raises(KeyError, match="The name 'nope' refers to an Operation not in the "
                                       "graph"):
        g.get_operation_by_name("nope")
    with pytest.raises(KeyError, match="The name 'nope:0' refers to a Tensor which does not "
                                       "exist. The operation, 'nope', does not exist"):
        g.get_tensor_by_name("nope:0")
    with pytest.raises(ValueError, match="use get_tensor_by_name"):
        g.get_operation_by_name("x:0")
    with pytest.raises(KeyError, match="exists but only has 1 outputs"):
        g.get_tensor_by_name("x:3")
    with pytest.raises(ValueError, match="refers to an Operation, not a Tensor"):
        g.get_tensor_by_name("x")
    with pytest.raises(TypeError, match="names are strings"):
        g.get_tensor_by_name(0)


def test_shapes_read_like_tensorflow_shapes(g):
    x = tf.placeholder(tf.float32, (None, 3))
    assert x.shape == (None, 3) and x.get_shape().as_list() == [None, 3]
    assert x.shape.ndims == 2 and not x.shape.is_fully_defined()
    assert x.shape.num_elements() is None and x.shape[1:].as_list() == [3]
    assert isinstance(x.shape, TensorShape) and tf.constant(np.zeros((2, 3))).shape.\
        num_elements() == 6
    assert tf.placeholder(tf.int32, 5).shape == (5,)


def test_a_finalized_graph_refuses_new_ops(g):
    tf.constant(1.0)
    g.finalize()
    assert g.finalized
    with pytest.raises(tf.GraphError, match="finalized"):
        tf.constant(2.0)


def test_a_ragged_constant_is_refused_at_the_users_line(g):
    cases = [([[1, 2], [3]], "value[1] has length 1, but value[0] has length 2"),
             ([[[1, 2]], [[3]]], "value[1][0] has length 1, but value[0][0] has length 2"),
             ([1, [2, 3]], "value[1] is a sequence of length 2, but value[0] is a scalar"),
             ([[1, 2], 3], "value[1] is a scalar, but value[0] is a sequence of length 2")]
    for value, where in cases:
        with pytest.raises(tf.GraphError) as info:
            tf.constant(value, name="table")
        message = str(info.value)
        assert "constant 'table': Can't convert non-rectangular Python sequence to Tensor: " \
               f"{where}" in message
        assert 'tf.constant(value, name="table")' in message  # the user's line
    assert not g.get_operations()


def test_a_constant_refuses_values_its_dtype_cannot_hold(g):
    with pytest.raises(tf.GraphError, match=f"'c' of dtype int32: {2**40} at index \\(1,\\) is "
                                            "outside int32's range"):
        tf.constant([1, 2**40], dtype=tf.int32, name="c")
    with pytest.raises(tf.GraphError, match="2.5 is not a finite whole number"):
        tf.constant(2.5, dtype=tf.int64)  # NumPy would truncate it to 2
    assert not g.get_operations()
    assert _run(tf.constant(np.array([3.0, -2**31]), dtype=tf.int32)).tolist() == [3, -2**31]


def test_a_symbolic_tensor_is_not_a_python_bool(g):
    x = tf.placeholder(tf.float32, ())
    with pytest.raises(tf.GraphError, match="cond") as info:
        if x > 0:
            pass
    assert __file__ in str(info.value)


# -- where each op was created --------------------------------------------------------------


def test_every_op_records_the_users_line_even_ops_made_by_helpers(g):
    x = tf.placeholder(tf.float32, (None, 3), name="x")
    w = tf.Variable(np.ones((2, 3), np.float32), name="w")
    logits = tf.matmul(x, w, transpose_b=True)  # the transpose is a helper-made op
    loss = tf.reduce_mean(tf.square(logits))
    grads = tf.gradients(loss, [w])
    init = tf.global_variables_initializer()
    assert len(g.get_operations()) > 10
    for op in g.get_operations():
        assert op.site.filename == __file__, (op.name, op.site)
    assert "tf.matmul(x, w, transpose_b=True)" in logits.op.site.line
    assert "tf.gradients(loss, [w])" in grads[0].op.site.line
    assert "tf.Variable(" in w.initializer.site.line
    assert "tf.global_variables_initializer()" in init.site.line


def test_a_build_time_shape_error_names_both_shapes_and_the_line(g):
    x = tf.placeholder(tf.float32, (None, 3))
    w = tf.constant(np.ones((4, 2), np.float32))
    with pytest.raises(ShapeError) as info:
        tf.matmul(x, w)  # the line the error must name
    message = str(info.value)
    assert "(None, 3)" in message and "(4, 2)" in message
    assert __file__ in message and "tf.matmul(x, w)  # the line the error must name" in message


# -- control dependencies and group ---------------------------------------------------------


def test_an_op_created_under_control_dependencies_runs_after_them(g):
    v = tf.Variable(1.0)
    update = v.assign(5.0)
    with tf.control_dependencies([update]):
        read_after = tf.identity(v)
    plain_read = tf.identity(v)
    assert read_after.op.control_inputs == (update.op,)
    assert plain_read.op.control_inputs == ()
    with tf.Session() as sess:
        sess.run(v.initializer)
        assert sess.run(plain_read) == 1.0  # nothing asked for the update
        assert sess.run(read_after) == 5.0
        assert sess.run(v) == 5.0


def test_control_dependencies_nest_and_none_clears_them(g):
    a, b = tf.no_op(name="a"), tf.no_op(name="b")
    with tf.control_dependencies([a]):
        with tf.control_dependencies([b, tf.constant(0.0)]):
            both = tf.constant(1.0)
        with tf.control_dependencies(None):
            free = tf.constant(2.0)
        only_a = tf.constant(3.0)
    assert {op.name for op in both.op.control_inputs} == {"a", "b", "Const"}
    assert free.op.control_inputs == () and only_a.op.control_inputs == (a,)
    with pytest.raises(tf.GraphError, match="Operations or Tensors"):
        with tf.control_dependencies([3.0]):
            pass


def test_group_runs_every_input_and_returns_none(g):
    a, b = tf.Variable(0.0), tf.Variable(0.0)
    both = tf.group(a.assign(1.0), [b.assign(2.0)], name="set_both")
    assert both.name == "set_both" and both.type == "NoOp" and len(both.control_inputs) == 2
    with tf.Session() as sess:
        assert sess.run(both) is None
        assert sess.run([a, b]) == [1.0, 2.0]
        assert sess.run(tf.group()) is None


# -- two graphs -----------------------------------------------------------------------------


def test_tensors_of_two_graphs_do_not_mix():
    first, second = tf.Graph(), tf.Graph()
    with first.as_default():
        a = tf.constant(1.0, name="a")
        v = tf.Variable(1.0)
    with second.as_default():
        b = tf.constant(2.0, name="b")
        with pytest.raises(tf.GraphError, match="another graph") as info:
            a + b
        assert __file__ in str(info.value)
        with pytest.raises(tf.GraphError, match="another graph"):
            with tf.control_dependencies([a]):
                pass
        with pytest.raises(tf.GraphError, match="another graph"):
            tf.group(a, b)
        with pytest.raises(tf.GraphError, match="another graph"):
            v.assign(b)
        with pytest.raises(tf.GraphError, match="another graph"):
            tf.gradients(b, [a])
        with tf.Session() as sess, pytest.raises(tf.GraphError, match="another graph"):
            sess.run(a)


# -- gradients ------------------------------------------------------------------------------


def test_gradients_sum_over_ys(g):
    x = tf.placeholder(tf.float32, (2,))
    y1, y2 = tf.reduce_sum(x * x), tf.reduce_sum(3.0 * x)
    (together,) = tf.gradients([y1, y2], [x])
    assert np.allclose(_run(together, {x: [1.0, 2.0]}), [2.0 + 3.0, 4.0 + 3.0])


def test_unconnected_xs_get_none_or_zeros(g):
    x, unused = tf.placeholder(tf.float32, (2,)), tf.placeholder(tf.float32, (3,))
    y = tf.reduce_sum(x)
    grads = tf.gradients(y, [x, unused])
    assert grads[1] is None
    zeros = tf.gradients(y, [x, unused], unconnected_gradients="zero")
    assert np.array_equal(_run(zeros[1], {unused: np.ones(3)}), np.zeros(3))
    with pytest.raises(tf.GraphError, match="unconnected_gradients"):
        tf.gradients(y, [x], unconnected_gradients="zeros")


def test_grad_ys_weight_each_y(g):
    x = tf.placeholder(tf.float32, (2,))
    y = x * x
    weights = tf.placeholder(tf.float32, (2,))
    (from_tensor,) = tf.gradients(y, [x], grad_ys=weights)
    (from_array,) = tf.gradients([y, tf.reduce_sum(x)], [x], grad_ys=[[1.0, 10.0], 2.0])
    feed = {x: [1.0, 2.0], weights: [3.0, 0.5]}
    assert np.allclose(_run(from_tensor, feed), [6.0, 2.0])
    assert np.allclose(_run(from_array, feed), [2.0 + 2.0, 40.0 + 2.0])
    with pytest.raises(tf.GraphError, match="grad_ys of shape"):
        tf.gradients(y, [x], grad_ys=[np.ones(3)])
    with pytest.raises(tf.GraphError, match="2 grad_ys for 1 ys"):
        tf.gradients(y, [x], grad_ys=[None, None])


def test_stop_gradient_op_and_the_stop_gradients_argument(g):
    x = tf.placeholder(tf.float32, ())
    (through_op,) = tf.gradients(x * tf.stop_gradient(x * x), [x])
    # TensorFlow's documented example: with a and b stopped, each gets only its direct path.
    a = tf.constant(0.0)
    b = 2.0 * a
    stopped = tf.gradients(a + b, [a, b], stop_gradients=[a, b])
    full = tf.gradients(a + b, [a, b])
    assert _run(through_op, {x: 3.0}) == 9.0
    assert _run(stopped) == [1.0, 1.0]
    assert _run(full) == [3.0, 1.0]


def test_gradients_flow_through_variable_reads(g):
    w = tf.Variable([1.0, 2.0], name="w")
    x = tf.placeholder(tf.float32, (2,))
    loss = tf.reduce_sum(w * w * x)
    (grad_w,) = tf.gradients(loss, [w])
    assert grad_w.op.name.startswith("gradients/")
    assert np.allclose(_run(grad_w, {x: [3.0, 4.0]}), [6.0, 16.0])


def test_second_and_third_derivatives_by_calling_gradients_again(g):
    x = tf.placeholder(tf.float32, ())
    y = x ** 3
    (dy,) = tf.gradients(y, [x])
    (d2y,) = tf.gradients(dy, [x])
    (d3y,) = tf.gradients(d2y, [x])
    assert d2y.op.name.startswith("gradients_1/")
    assert np.allclose(_run([dy, d2y, d3y], {x: 3.0}), [27.0, 18.0, 6.0])


def test_integer_inputs_get_no_gradient_and_repeated_xs_get_theirs(g):
    count = tf.placeholder(tf.int32, (2,))
    x = tf.placeholder(tf.float32, (2,))
    y = tf.reduce_sum(x * tf.cast(count, tf.float32))
    grad_count, grad_x, grad_x_again = tf.gradients(y, [count, x, x])
    assert grad_count is None
    values = _run([grad_x, grad_x_again], {count: [2, 5], x: [1.0, 1.0]})
    assert np.array_equal(values[0], [2.0, 5.0]) and np.array_equal(values[1], [2.0, 5.0])


def test_gradients_with_respect_to_an_intermediate_tensor(g):
    x = tf.placeholder(tf.float32, ())
    hidden = x * 3.0
    y = hidden * hidden
    grad_hidden, grad_x = tf.gradients(y, [hidden, x])
    assert np.allclose(_run([grad_hidden, grad_x], {x: 2.0}), [12.0, 36.0])


def test_name_result_gives_a_helpers_output_the_scopes_own_name(g):
    x = tf.placeholder(tf.float32, (2,))
    with g.name_scope("logits") as scope:
        y = tf.reduce_sum(x * 2.0)
    assert g.name_result(y, scope) is y
    assert g.get_tensor_by_name("logits:0") is y
    assert y.op.inputs[0].op.name.startswith("logits/")
    with g.name_scope("other") as other:
        pass
    assert g.name_result(x, other) is x and x.name == "Placeholder:0"  # made elsewhere: kept
