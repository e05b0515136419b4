"""The graph's own ops (constants, placeholders, variables, assigns, control flow) are op
classes with all of their rules, looked up one way by the Session, the gradients and the
drawings, and checked like the primitives."""

from __future__ import annotations

import numpy as np
import pytest

import graph as tf
from framework.ops.registry import Spec
from framework.viz import op_family
from graph import ops
from graph.ops import GRAPH_OPS, GraphOp, check_graph_ops, register_graph_op


def test_every_graph_op_kind_declares_all_of_its_rules():
    check_graph_ops()
    expected = {"Const", "Placeholder", "VariableV2", "Assign", "AssignAdd", "AssignSub", "NoOp",
                "Identity", "StopGradient", "Cond", "While", "LoopVar", "WhileGrad",
                "CheckNumerics", "primitive"}
    assert expected <= set(GRAPH_OPS)
    for name, cls in GRAPH_OPS.items():
        assert cls.name == name
        assert cls.infer is not GraphOp.infer and cls.run is not GraphOp.run, name
        assert (cls.gradient is None) != (cls.no_gradient is None), name
        assert cls.viz_kind in ("input", "parameter", "constant", "op"), name


def test_a_graph_op_without_its_rules_is_refused(monkeypatch):
    monkeypatch.setattr(ops, "GRAPH_OPS", {})

    @register_graph_op
    class Incomplete(GraphOp):
        name = "Incomplete"

    with pytest.raises(TypeError) as info:
        check_graph_ops()
    message = str(info.value)
    assert "Incomplete: no shape-and-dtype rule (infer)" in message
    assert "Incomplete: no way to run it (run)" in message
    assert "Incomplete: neither a gradient rule (gradient) nor `no_gradient` reason" in message


def test_a_new_graph_op_needs_no_change_to_the_session_or_the_gradients(monkeypatch):
    # One class is the whole op: the Session runs it, tf.gradients differentiates it, the
    # drawing colours it, through the op's kind alone.
    monkeypatch.setattr(ops, "GRAPH_OPS", dict(GRAPH_OPS))

    @register_graph_op
    class TimesThree(GraphOp):
        name = "TimesThree"
        viz_family = "elementwise"

        def infer(self, inputs, attrs):
            return [Spec(inputs[0].shape, inputs[0].dtype)]

        def run(self, run, op, inputs):
            return (inputs[0] * 3,)

        def gradient(self, op, cotangents, needs):
            return [cotangents[0] * 3.0]

    check_graph_ops()
    with tf.Graph().as_default() as g:
        x = tf.placeholder(tf.float32, (None,))
        y = g.add_operation(TimesThree(), [x]).outputs[0]
        assert y.shape == (None,) and y.op.type == "TimesThree"
        (grad,) = tf.gradients(tf.reduce_sum(y * y), [x])
        with tf.Session() as sess:
            value, gradient = sess.run([y, grad], {x: [1.0, 2.0]})
    np.testing.assert_array_equal(value, [3.0, 6.0])
    np.testing.assert_array_equal(gradient, [18.0, 36.0])  # d/dx (3x)^2 = 18x
    assert op_family("TimesThree") == "elementwise"


def test_the_kinds_of_a_graph_say_what_each_node_is():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (2,))
        v = tf.Variable([1.0, 2.0])
        step = v.assign_add(x)
        y = tf.cond(tf.reduce_sum(x) > 0.0, lambda: x * 2.0, lambda: x)
    assert isinstance(x.op.kind, ops.Placeholder) and x.op.kind.viz_kind == "input"
    assert v.op.kind.is_variable and v.op.type == "VariableV2"
    assert step.op.kind.assigns and step.op.kind.may_assign(step.op)
    assert y.op.type == "Cond" and not y.op.kind.may_assign(y.op)
    assert len(y.op.kind.contexts(y.op)) == 2
    assert (x * 2.0).op.kind is ops.PRIMITIVE
    assert op_family("Cond") == op_family("While") == op_family("NoOp") == "control flow"
    assert op_family("VariableV2") == op_family("AssignAdd") == "state"


def test_an_assign_inside_a_cond_branch_makes_the_cond_an_update():
    with tf.Graph().as_default():
        v = tf.Variable(0.0)
        flag = tf.placeholder(tf.bool, ())
        y = tf.cond(flag, lambda: v.assign_add(1.0), lambda: tf.identity(v))
        assert y.op.kind.may_assign(y.op)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(y, {flag: True})
            sess.run(y, {flag: False})
            assert sess.run(v) == 1.0


def test_an_assign_refuses_a_value_of_another_shape_when_built():
    with tf.Graph().as_default():
        v = tf.Variable([1.0, 2.0])
        with pytest.raises(tf.GraphError, match=r"Assign to 'Variable': value shape \(3,\) does "
                                                r"not match the variable's shape \(2,\)"):
            tf.assign(v, tf.constant([1.0, 2.0, 3.0]))
