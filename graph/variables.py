"""Variables: named state that lives in a Session, changed only by assign ops.

`Variable(initial_value)` adds a variable node and its initializer (an assign of the initial
value). Reading the variable inside a run gives its current value in that session; assign ops
stage a new value that the session commits only if the whole run succeeds.
"""

from __future__ import annotations

from framework import dtypes
from graph.core import (
    GraphError,
    GraphKeys,
    Operation,
    Tensor,
    as_array,
    cast_checked,
    constant,
    get_default_graph,
)
from graph.ops import Assign, AssignAdd, AssignSub, NoOp, VariableV2
from graph.session import castable

GLOBAL_VARIABLES = GraphKeys.GLOBAL_VARIABLES
TRAINABLE_VARIABLES = GraphKeys.TRAINABLE_VARIABLES
LOCAL_VARIABLES = GraphKeys.LOCAL_VARIABLES


class Variable(Tensor):
    """A trainable (or not) piece of state, readable like any Tensor.

    `initial_value` is an array, a list or number (Python floats become float32), a Tensor, or
    a callable returning one of these, called inside the variable's name scope. The variable's
    ops are named like TensorFlow's: `w`, `w/initial_value`, `w/Assign` (its `initializer`).
    Arguments after `initial_value` are keywords, so TensorFlow calls such as
    `Variable(0, trainable=False, name="step")` mean the same here.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     w = tf.Variable([1.0, 2.0], name="w")
    ...     with tf.Session() as sess:
    ...         sess.run(tf.global_variables_initializer())
    ...         print(sess.run(w * 2.0), w.dtype, w.initializer.name)
    [2. 4.] float32 w/Assign
    """

    __slots__ = ("initializer", "initial_value", "trainable")

    def __init__(self, initial_value=None, *, name="Variable", trainable=True, dtype=None,
                 collections=None, validate_shape=True):
        if initial_value is None:
            raise GraphError("Variable needs an initial value (an array, a Tensor or a "
                             "callable)")
        if dtype is not None:
            dtype = dtypes.as_dtype(dtype)
        collections = _collections_of(collections, trainable)
        graph = initial_value.graph if isinstance(initial_value, Tensor) else \
            get_default_graph()
        # The initializer must not wait for the control inputs around the variable's creation
        # (as in TensorFlow): running it should never run a training step.
        with graph.as_default(), graph.control_dependencies(None), \
                graph.name_scope(name or "Variable") as scope:
            if callable(initial_value):
                initial_value = initial_value()
            if not isinstance(initial_value, Tensor):
                initial_value = constant(initial_value, dtype=dtype, name="initial_value")
            elif dtype is not None and initial_value.dtype != dtype:
                from framework.ops import F

                initial_value = F.cast(initial_value, dtype)
            if initial_value.graph is not graph:
                raise GraphError(f"variable {scope[:-1]!r}: its initial value "
                                 f"{initial_value.name!r} belongs to another graph")
            if not initial_value.shape.is_fully_defined():
                raise GraphError(f"variable {scope[:-1]!r}: its initial value has an unknown "
                                 f"shape {initial_value.shape}; a variable's shape must be "
                                 "known when it is created")
            op = graph.add_operation(VariableV2(), [], name=scope,
                                     attrs={"shape": initial_value.shape,
                                            "dtype": initial_value.dtype,
                                            "trainable": trainable})
            super().__init__(op, 0, initial_value.shape, initial_value.dtype)
            op.outputs = (self,)
            self.initial_value = initial_value
            self.trainable = trainable
            self.initializer = _assign_op(Assign(), self, initial_value, "Assign").op
        graph.add_to_collections(collections, self)

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
        """Set the variable's value in a session directly (like TF1's Variable.load).

        >>> import graph as tf
        >>> with tf.Graph().as_default():
        ...     v = tf.Variable([0.0, 0.0])
        ...     with tf.Session() as sess:
        ...         v.load([1.0, 2.0])
        ...         print(sess.run(v))
        [1. 2.]
        """
        from graph.session import session_for

        session_for(self, session, "Variable.load()").set_variable(self, value)


def _collections_of(collections, trainable) -> list:
    """The collections a new variable joins: GLOBAL_VARIABLES unless `collections` says
    otherwise, and TRAINABLE_VARIABLES too when it is trainable (TensorFlow's rule)."""
    if collections is None:
        collections = [GLOBAL_VARIABLES]
    elif isinstance(collections, str):
        collections = [collections]
    else:
        collections = list(collections)
    if not all(isinstance(name, str) for name in collections):
        raise GraphError(f"Variable: collections must be a list of collection names "
                         f"(strings), got {collections!r}")
    if trainable and TRAINABLE_VARIABLES not in collections:
        collections.append(TRAINABLE_VARIABLES)
    return collections


def _assign_op(kind, variable, value, name):
    if not isinstance(variable, Variable):
        raise GraphError(f"{kind.name} needs a Variable as its target, got {variable!r}")
    if not isinstance(value, Tensor):
        where = f"{kind.name} to {variable.op.name!r} of dtype {variable.dtype}"
        array = as_array(value, where, variable.dtype)
        if not castable(array.dtype, variable.dtype):
            raise GraphError(f"{kind.name} to {variable.op.name!r}: a value of dtype "
                             f"{array.dtype} cannot become the variable's dtype "
                             f"{variable.dtype}")
        value = constant(cast_checked(array, variable.dtype, where), graph=variable.graph)
    op = variable.graph.add_operation(kind, [variable, value], name=name or kind.name)
    return op.outputs[0]


def assign(variable, value, name=None) -> Tensor:
    """Stage `variable = value` when a run needs it; the result is the new value.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     v = tf.Variable(1.0)
    ...     with tf.Session() as sess:
    ...         print(sess.run(tf.assign(v, 5.0)), sess.run(v))
    5.0 5.0
    """
    return _assign_op(Assign(), variable, value, name)


def assign_add(variable, delta, name=None) -> Tensor:
    """`variable += delta`, atomic with respect to other runs of the session.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     step = tf.Variable(0, trainable=False)
    ...     increment = tf.assign_add(step, 1)
    ...     with tf.Session() as sess:
    ...         sess.run(step.initializer)
    ...         for _ in range(3):
    ...             _ = sess.run(increment)
    ...         print(sess.run(step))
    3
    """
    return _assign_op(AssignAdd(), variable, delta, name)


def assign_sub(variable, delta, name=None) -> Tensor:
    """`variable -= delta`, atomic with respect to other runs of the session."""
    return _assign_op(AssignSub(), variable, delta, name)


def global_variables(scope=None, graph=None) -> list:
    """The Variables of the graph (the default graph unless given), in creation order; with
    `scope`, those whose name starts with it (a regular expression, as TensorFlow matches).

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     with tf.variable_scope("encoder"):
    ...         w = tf.get_variable("w", [2])
    ...     step = tf.Variable(0, name="step", trainable=False)
    ...     [v.op.name for v in tf.global_variables()], tf.global_variables("enc") == [w]
    (['encoder/w', 'step'], True)
    """
    return _graph_of(scope, graph).get_collection(GLOBAL_VARIABLES, _scope_of(scope))


def trainable_variables(scope=None, graph=None) -> list:
    """The Variables created with trainable=True (what optimizers update by default); with
    `scope`, those whose name starts with it."""
    return _graph_of(scope, graph).get_collection(TRAINABLE_VARIABLES, _scope_of(scope))


def local_variables(scope=None, graph=None) -> list:
    """The Variables made with collections=[GraphKeys.LOCAL_VARIABLES] (not saved, not
    initialized by global_variables_initializer)."""
    return _graph_of(scope, graph).get_collection(LOCAL_VARIABLES, _scope_of(scope))


def _graph_of(scope, graph):
    from graph.core import Graph

    if isinstance(scope, Graph):  # the older call global_variables(graph)
        return scope
    return get_default_graph() if graph is None else graph


def _scope_of(scope):
    from graph.core import Graph

    return None if isinstance(scope, Graph) else scope


def local_variables_initializer():
    """One op that runs every local variable's initializer."""
    return variables_initializer(local_variables(), name="init_local")


def variables_initializer(var_list, name="init"):
    """One op that runs the initializers of `var_list`."""
    return group(*[v.initializer for v in var_list], name=name)


def global_variables_initializer():
    """One op that runs every variable's initializer."""
    return variables_initializer(global_variables(), name="init")


def group(*inputs, name="group_deps"):
    """An op that runs all of `inputs` (ops or tensors, or lists of them) and produces nothing.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     a, b = tf.Variable(1.0), tf.Variable(2.0)
    ...     both = tf.group(a.assign(10.0), b.assign(20.0), name="set_both")
    ...     with tf.Session() as sess:
    ...         print(sess.run(both), sess.run([a, b]))
    None [np.float32(10.0), np.float32(20.0)]
    """
    ops = []
    for item in _flat(inputs):
        op = item.op if isinstance(item, Tensor) else item
        if not isinstance(op, Operation):
            raise GraphError(f"group takes Operations or Tensors, got {item!r}")
        ops.append(op)
    graph = ops[0].graph if ops else get_default_graph()
    with graph.control_dependencies(ops):
        return graph.add_operation(NoOp(), [], name=name)


def _flat(items):
    for item in items:
        if isinstance(item, (list, tuple)):
            yield from _flat(item)
        else:
            yield item


def no_op(name="NoOp"):
    """An op that does nothing: a handle for control dependencies."""
    return get_default_graph().add_operation(NoOp(), [], name=name)
