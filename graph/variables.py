"""Variables: named state that lives in a Session, changed only by assign ops.

`Variable(initial_value)` adds a variable node and its initializer (an assign of the initial
value). Reading the variable inside a run gives its current value in that session; assign ops
stage a new value that the session commits only if the whole run succeeds.
"""

from __future__ import annotations

import numpy as np

from framework.ops.registry import Spec
from graph.core import GraphError, Tensor, constant, get_default_graph, graph_of

GLOBAL_VARIABLES = "variables"
TRAINABLE_VARIABLES = "trainable_variables"


class Variable(Tensor):
    """A trainable (or not) piece of state, readable like any Tensor.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     w = tf.Variable([1.0, 2.0], name="w")
    ...     with tf.Session() as sess:
    ...         sess.run(tf.global_variables_initializer())
    ...         print(sess.run(w * 2.0))
    [2. 4.]
    """

    __slots__ = ("initializer", "initial_value", "trainable")

    def __init__(self, initial_value, name="Variable", trainable=True, dtype=None):
        if callable(initial_value):
            initial_value = initial_value()
        if not isinstance(initial_value, Tensor):
            initial_value = constant(np.asarray(initial_value) if dtype is None else
                                     np.asarray(initial_value, dtype), name=f"{name}/initial_value")
        elif dtype is not None and initial_value.dtype != np.dtype(dtype):
            from framework.ops import F

            initial_value = F.cast(initial_value, dtype)
        if any(d is None for d in initial_value.shape):
            raise GraphError(f"variable {name!r}: its initial value has an unknown shape "
                             f"{initial_value.shape}")
        graph = graph_of([initial_value])
        op = graph.add_operation("VariableV2", [], [Spec(initial_value.shape,
                                                         initial_value.dtype)], name=name,
                                 attrs={"trainable": trainable})
        super().__init__(op, 0, initial_value.shape, initial_value.dtype)
        op.outputs = (self,)
        self.initial_value = initial_value
        self.trainable = trainable
        self.initializer = _assign_op("Assign", self, initial_value, f"{op.name}/Assign").op
        graph.add_to_collection(GLOBAL_VARIABLES, self)
        if trainable:
            graph.add_to_collection(TRAINABLE_VARIABLES, self)

    def __repr__(self) -> str:
        return f"<graph.Variable {self.op.name!r} shape={self.shape} dtype={self.dtype}>"

    def assign(self, value, name=None):
        return assign(self, value, name)

    def assign_add(self, delta, name=None):
        return assign_add(self, delta, name)

    def assign_sub(self, delta, name=None):
        return assign_sub(self, delta, name)

    def read_value(self) -> Tensor:
        return self

    def load(self, value, session=None):
        """Set the variable's value in a session directly (like TF1's Variable.load)."""
        from graph.session import get_default_session

        (session or get_default_session()).set_variable(self, value)


def _assign_op(kind, variable, value, name):
    if not isinstance(variable, Variable):
        raise GraphError(f"{kind} needs a Variable as its target, got {variable!r}")
    if not isinstance(value, Tensor):
        value = constant(np.asarray(value, variable.dtype))
    if value.dtype != variable.dtype:
        raise GraphError(f"{kind} to {variable.op.name!r}: value has dtype {value.dtype}, the "
                         f"variable has {variable.dtype}")
    shape_ok = len(value.shape) == len(variable.shape) and all(
        a is None or a == b for a, b in zip(value.shape, variable.shape))
    if not shape_ok:
        raise GraphError(f"{kind} to {variable.op.name!r}: value shape {value.shape} does not "
                         f"match the variable's shape {variable.shape}")
    graph = graph_of([variable])
    op = graph.add_operation(kind, [variable, value], [Spec(variable.shape, variable.dtype)],
                             name=name or kind)
    return op.outputs[0]


def assign(variable, value, name=None) -> Tensor:
    """Stage `variable = value`; the result is the new value."""
    return _assign_op("Assign", variable, value, name)


def assign_add(variable, delta, name=None) -> Tensor:
    return _assign_op("AssignAdd", variable, delta, name)


def assign_sub(variable, delta, name=None) -> Tensor:
    return _assign_op("AssignSub", variable, delta, name)


def global_variables(graph=None) -> list:
    return (graph or get_default_graph()).get_collection(GLOBAL_VARIABLES)


def trainable_variables(graph=None) -> list:
    return (graph or get_default_graph()).get_collection(TRAINABLE_VARIABLES)


def variables_initializer(var_list, name="init"):
    return group(*[v.initializer for v in var_list], name=name)


def global_variables_initializer():
    """One op that runs every variable's initializer."""
    return variables_initializer(global_variables(), name="init")


def group(*inputs, name="group_deps"):
    """An op that runs all of `inputs` (ops or tensors) and produces nothing."""
    graph = get_default_graph()
    ops = [x.op if isinstance(x, Tensor) else x for x in inputs]
    with graph.control_dependencies(ops):
        return graph.add_operation("NoOp", [], [], name=name)


def no_op(name="NoOp"):
    return get_default_graph().add_operation("NoOp", [], [], name=name)
