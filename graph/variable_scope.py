"""Variable scopes and `get_variable`: TensorFlow 1's way of naming and sharing Variables.

`get_variable(name, shape)` makes the Variable `<scope>/<name>`, or, inside a scope opened
with `reuse=True` (or `tf.AUTO_REUSE`, or after `scope.reuse_variables()`), returns the one
made before under that name. Variable names follow variable scopes only: a `name_scope` does
not change them, while `variable_scope` opens a name scope of the same name too, so the ops
built inside are grouped with their variables. A scope also lends the `get_variable` calls
inside it a default initializer, regularizer and dtype. `tf.layers` makes its variables here,
so layers and `get_variable` share them by name.

The store of variables and how often each scope name was used belong to the graph, as the
variables do; the current variable scope belongs to the graph and the thread building in it.

>>> import graph as tf
>>> def linear(x, units):
...     w = tf.get_variable("w", [x.shape[-1], units])
...     b = tf.get_variable("b", [units], initializer=tf.zeros_initializer())
...     return tf.matmul(x, w) + b
>>> with tf.Graph().as_default():
...     x = tf.placeholder(tf.float32, [None, 3])
...     with tf.variable_scope("model"):
...         train_logits = linear(x, 2)
...     with tf.variable_scope("model", reuse=True):
...         test_logits = linear(x, 2)
...     [v.op.name for v in tf.global_variables()]
['model/w', 'model/b']
"""

from __future__ import annotations

import enum
import inspect

import numpy as np

from framework import dtypes
from framework.errors import describe_site
from graph.core import GraphError, GraphKeys, Tensor, TensorShape, get_default_graph
from graph.variables import Variable

__all__ = ["AUTO_REUSE", "VariableScope", "get_local_variable", "get_variable",
           "get_variable_scope", "variable_scope"]


class _ReuseMode(enum.Enum):
    """How a scope reuses: AUTO_REUSE makes what is missing and shares what exists."""

    AUTO_REUSE = 1


AUTO_REUSE = _ReuseMode.AUTO_REUSE


class VariableScope:
    """A variable scope: its name, whether `get_variable` inside it reuses, and the defaults
    it lends (initializer, regularizer, dtype). `variable_scope(...)` yields one; `with
    variable_scope(scope_object)` enters it again, with its own name scope.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     with tf.variable_scope("encoder") as scope:
    ...         first = tf.get_variable("w", [2])
    ...         scope.reuse_variables()
    ...         again = tf.get_variable("w", [2])
    ...     first is again, scope.name, scope.original_name_scope
    (True, 'encoder', 'encoder/')
    """

    def __init__(self, reuse, name="", initializer=None, regularizer=None,
                 dtype=dtypes.float32, name_scope=""):
        self._name = name
        self._reuse = reuse
        self._initializer = initializer
        self._regularizer = regularizer
        self._dtype = dtypes.as_dtype(dtype)
        self._name_scope = name_scope

    @property
    def name(self) -> str:
        return self._name

    @property
    def original_name_scope(self) -> str:
        """The name scope opened with this scope the first time ('model/', 'model_1/' ...)."""
        return self._name_scope

    @property
    def reuse(self):
        return self._reuse

    @property
    def initializer(self):
        return self._initializer

    @property
    def regularizer(self):
        return self._regularizer

    @property
    def dtype(self):
        return self._dtype

    def reuse_variables(self) -> None:
        """From now on, `get_variable` in this scope returns the existing variables."""
        self._reuse = True

    def set_initializer(self, initializer) -> None:
        self._initializer = initializer

    def set_regularizer(self, regularizer) -> None:
        self._regularizer = regularizer

    def set_dtype(self, dtype) -> None:
        self._dtype = dtypes.as_dtype(dtype)

    def get_variable(self, var_store, name, *args, **kwargs):
        raise GraphError("VariableScope.get_variable(var_store, ...) is not supported here; "
                         "call tf.get_variable(name, ...) inside `with variable_scope(scope)`")

    def __repr__(self) -> str:
        return f"<VariableScope {self._name!r} reuse={self._reuse}>"


def _scope_stack(graph) -> list:
    """This thread's open variable scopes in `graph`, the graph's root scope first."""
    stack = getattr(graph._variable_scopes, "stack", None)
    if stack is None:
        with graph._lock:
            if graph._root_variable_scope is None:  # made once per graph
                graph._root_variable_scope = VariableScope(False)
        stack = graph._variable_scopes.stack = [graph._root_variable_scope]
    return stack


def get_variable_scope() -> VariableScope:
    """The current variable scope of the default graph (the root scope, named '', outside any).

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     with tf.variable_scope("a"):
    ...         with tf.variable_scope("b"):
    ...             tf.get_variable_scope().name
    'a/b'
    """
    return _scope_stack(get_default_graph())[-1]


_UNSUPPORTED = ("caching_device", "partitioner", "custom_getter", "constraint")


class variable_scope:  # noqa: N801  (TensorFlow's name: a class used as a context manager)
    """Open a variable scope: `get_variable` names get the prefix `name/`, and ops a name
    scope of the same name.

    `name_or_scope` is a name (nested in the current variable scope), or a VariableScope to
    enter again (its name taken as it is, with its original name scope); without one,
    `default_name` made unique ('dense', 'dense_1', ...) is used. `reuse` is True, AUTO_REUSE,
    or None / False to inherit the enclosing scope's (reuse cannot be turned off inside a
    reusing scope). `initializer`, `regularizer` and `dtype` become the defaults of
    `get_variable` inside, and of the scopes nested in it.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     for _ in range(2):
    ...         with tf.variable_scope("shared", reuse=tf.AUTO_REUSE):
    ...             w = tf.get_variable("w", [3], initializer=tf.ones_initializer())
    ...     [v.op.name for v in tf.global_variables()]
    ['shared/w']
    """

    def __init__(self, name_or_scope, default_name=None, values=None, initializer=None,
                 regularizer=None, caching_device=None, partitioner=None, custom_getter=None,
                 reuse=None, dtype=None, use_resource=None, constraint=None,
                 auxiliary_name_scope=True):
        if name_or_scope is None and default_name is None:
            raise GraphError("variable_scope: If default_name is None then name_or_scope is "
                             "required")
        if name_or_scope is not None and not isinstance(name_or_scope, (str, VariableScope)):
            raise GraphError(f"variable_scope: name_or_scope must be a string or a "
                             f"VariableScope, got {name_or_scope!r}")
        if reuse is False:
            reuse = None  # False means "inherit", as in TensorFlow
        if reuse not in (None, True, AUTO_REUSE):
            raise GraphError(f"variable_scope: The reuse parameter must be True or False or "
                             f"None (or tf.AUTO_REUSE), got {reuse!r}")
        given = {"caching_device": caching_device, "partitioner": partitioner,
                 "custom_getter": custom_getter, "constraint": constraint}
        for option in _UNSUPPORTED:
            if given[option] is not None:
                raise GraphError(f"variable_scope: {option} is not supported by dualgraph's "
                                 "graph front-end")
        self._name_or_scope = name_or_scope
        self._default_name = default_name
        self._values = values
        self._initializer = initializer
        self._regularizer = regularizer
        self._reuse = reuse
        self._dtype = None if dtype is None else dtypes.as_dtype(dtype)
        self._auxiliary_name_scope = auxiliary_name_scope

    def __enter__(self) -> VariableScope:
        graph = self._graph = get_default_graph()
        stack = _scope_stack(graph)
        old = stack[-1]
        counts = graph._variable_scope_counts
        target = self._name_or_scope
        if isinstance(target, VariableScope):
            name = target.name
            self._name_scope = graph.name_scope(target.original_name_scope or None,
                                                values=self._values)
            name_scope = self._name_scope.__enter__()
            scope = VariableScope(self._reuse or target.reuse, name, target.initializer,
                                  target.regularizer, target.dtype, target.original_name_scope)
            self._saved_counts = dict(counts)
        else:
            if target is None:
                if self._reuse:
                    raise GraphError("variable_scope: reuse=True cannot be used without a "
                                     "name_or_scope")
                target = _unique_scope_name(old.name, self._default_name, counts)
                scope_name_of_ops = self._default_name
            else:
                scope_name_of_ops = target
            if self._auxiliary_name_scope:
                self._name_scope = graph.name_scope(scope_name_of_ops, values=self._values)
                name_scope = self._name_scope.__enter__()
            else:
                self._name_scope = None
                name_scope = graph.get_name_scope() + "/" if graph.get_name_scope() else ""
            name = f"{old.name}/{target}" if old.name else target
            scope = VariableScope(self._reuse or old.reuse, name, old.initializer,
                                  old.regularizer, old.dtype, name_scope)
            self._saved_counts = None
        if self._initializer is not None:
            scope.set_initializer(self._initializer)
        if self._regularizer is not None:
            scope.set_regularizer(self._regularizer)
        if self._dtype is not None:
            scope.set_dtype(self._dtype)
        with graph._lock:
            counts[name] = counts.get(name, 0) + 1
        stack.append(scope)
        self._scope = scope
        return scope

    def __exit__(self, *exc):
        graph = self._graph
        stack = _scope_stack(graph)
        for index in range(len(stack) - 1, 0, -1):  # its own entry, even if exited out of order
            if stack[index] is self._scope:
                del stack[index]
                break
        counts = graph._variable_scope_counts
        with graph._lock:
            if self._saved_counts is not None:  # a scope object entered again
                counts.clear()
                counts.update(self._saved_counts)
            else:  # names used inside may be used again by the next scope of this name
                inner = self._scope.name + "/"
                for key in [k for k in counts if k.startswith(inner)]:
                    del counts[key]
        if self._name_scope is not None:
            return self._name_scope.__exit__(*exc)
        return False


def _unique_scope_name(outer: str, base: str, counts: dict) -> str:
    """`base`, or `base_1`, `base_2`..., the first not yet used in the scope `outer`."""
    def used(candidate):
        return counts.get(f"{outer}/{candidate}" if outer else candidate, 0) > 0

    if not used(base):
        return base
    index = 1
    while used(f"{base}_{index}"):
        index += 1
    return f"{base}_{index}"


def get_variable(name, shape=None, dtype=None, initializer=None, regularizer=None,
                 trainable=None, collections=None, caching_device=None, partitioner=None,
                 validate_shape=True, use_resource=None, custom_getter=None, constraint=None,
                 **unsupported):
    """The Variable `<current variable scope>/<name>`: made now, or shared when the scope
    reuses (TensorFlow 1's rules and errors).

    A new variable needs a fully known `shape`, unless `initializer` is a value (an array, a
    list, a number or a Tensor), which gives the shape. Without an initializer, the scope's is
    used, else Glorot uniform for floats and zeros for ints and bools. `dtype` defaults to
    the scope's (float32). A `regularizer` (or the scope's) is called on the new variable and
    its result added to `GraphKeys.REGULARIZATION_LOSSES`. `trainable` (default True) and
    `collections` are as for `Variable`.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     w = tf.get_variable("w", [2, 3], initializer=tf.constant_initializer(0.5))
    ...     try:
    ...         tf.get_variable("w", [2, 3])
    ...     except ValueError as error:
    ...         print(error.problem.splitlines()[0])
    Variable w already exists, disallowed. Did you mean to set reuse=True or \
reuse=tf.AUTO_REUSE in VarScope? Originally defined at:
    """
    if not isinstance(name, str) or not name:
        raise GraphError(f"get_variable: name must be a non-empty string, got {name!r}")
    options = {"caching_device": caching_device, "partitioner": partitioner,
               "custom_getter": custom_getter, "constraint": constraint, **unsupported}
    for option, value in options.items():
        if value is not None:
            raise GraphError(f"get_variable: {option} is not supported by dualgraph's graph "
                             "front-end")
    graph = get_default_graph()
    scope = _scope_stack(graph)[-1]
    full_name = f"{scope.name}/{name}" if scope.name else name
    if dtype is not None:
        dtype = dtypes.as_dtype(dtype)
        if initializer is not None and not callable(initializer):
            given = _value_dtype(initializer)
            if given != dtype:
                raise GraphError(f"get_variable {full_name}: Initializer type '{given}' and "
                                 f"explicit dtype '{dtype}' don't match.")
    if initializer is None:
        initializer = scope.initializer
    if regularizer is None:
        regularizer = scope.regularizer
    if dtype is None:
        dtype = scope.dtype
    with graph._lock:  # two threads asking for one name get one variable
        store = graph._variable_store
        found = store.get(full_name)
        if found is not None:
            return _shared(found, full_name, scope.reuse, shape, dtype)
        if scope.reuse is True:
            raise GraphError(f"Variable {full_name} does not exist, or was not created with "
                             "tf.get_variable(). Did you mean to set reuse=tf.AUTO_REUSE in "
                             "VarScope?")
        variable = _new_variable(graph, full_name, shape, dtype, initializer, trainable,
                                 collections, validate_shape)
        store[full_name] = variable
    if regularizer is not None:
        with graph.name_scope(f"{full_name}/Regularizer/"):
            loss = regularizer(variable)
        if loss is not None:
            graph.add_to_collection(GraphKeys.REGULARIZATION_LOSSES, loss)
    return variable


def _shared(found, full_name, reuse, shape, dtype):
    if not reuse:
        raise GraphError(f"Variable {full_name} already exists, disallowed. Did you mean to set "
                         f"reuse=True or reuse=tf.AUTO_REUSE in VarScope? Originally defined "
                         f"at:\n    {describe_site(found.op.site)}")
    if shape is not None and not found.shape.is_compatible_with(_shape_of(full_name, shape)):
        raise GraphError(f"Trying to share variable {full_name}, but specified shape "
                         f"{TensorShape(_shape_of(full_name, shape))} and found shape "
                         f"{found.shape}.")
    if dtype != found.dtype:
        raise GraphError(f"Trying to share variable {full_name}, but specified dtype {dtype} "
                         f"and found dtype {found.dtype}.")
    return found


def _shape_of(full_name, shape):
    if isinstance(shape, TensorShape):
        return shape
    if isinstance(shape, int) and not isinstance(shape, bool):
        return (shape,)
    try:
        return tuple(None if d is None else int(d) for d in shape)
    except (TypeError, ValueError):
        raise GraphError(f"get_variable {full_name}: shape must be a list of ints, got "
                         f"{shape!r}") from None


def _new_variable(graph, full_name, shape, dtype, initializer, trainable, collections,
                  validate_shape):
    if inspect.isclass(initializer):  # initializer=tf.zeros_initializer, not yet made
        initializer = initializer()
    if initializer is not None and not callable(initializer):
        if shape is not None:
            raise GraphError(f"get_variable {full_name}: If initializer is a constant, do not "
                             "specify shape.")
        initial_value, dtype = initializer, None  # the value gives the dtype
    else:
        if shape is None:
            raise GraphError(f"get_variable {full_name}: a new variable needs a shape (or an "
                             "initializer that is a value)")
        shape = TensorShape(_shape_of(full_name, shape))
        if not shape.is_fully_defined():
            raise GraphError(f"Shape of a new variable ({full_name}) must be fully defined, but "
                             f"instead was {shape}.")
        shape = tuple(shape)
        if initializer is None:
            initializer = _default_initializer(full_name, dtype)

        def initial_value():
            value = initializer(shape, dtype=dtype, partition_info=None)
            got = value.shape if hasattr(value, "shape") else None
            if got is not None and tuple(got) != shape:
                raise GraphError(f"get_variable {full_name}: the initializer returned a value "
                                 f"of shape {tuple(got)}, the variable's shape is {shape}")
            return value

    with graph.as_default(), graph.name_scope(None):  # variable names ignore name scopes
        return Variable(initial_value, name=full_name, dtype=dtype,
                        trainable=True if trainable is None else trainable,
                        collections=collections, validate_shape=validate_shape)


def _value_dtype(value) -> np.dtype:
    """The dtype `Variable(value)` would have: a Tensor's, or the one `constant` infers."""
    if isinstance(value, Tensor):
        return value.dtype
    array = np.asarray(value)
    if array.dtype == np.float64 and not isinstance(value, (np.ndarray, np.generic)):
        return dtypes.float32  # Python floats are float32, as in TensorFlow
    return dtypes.as_dtype(array.dtype) if array.dtype in dtypes.ALL else \
        dtypes.result_type(array.dtype)


def _default_initializer(full_name, dtype):
    from graph.initializers import GlorotUniform, Zeros

    if dtypes.is_float(dtype):
        return GlorotUniform()
    if dtype.kind in "biu":
        return Zeros()
    raise GraphError(f"An initializer for variable {full_name} of {dtype} is required")


def get_local_variable(name, shape=None, dtype=None, initializer=None, regularizer=None,
                       trainable=False, collections=None, **kwargs):
    """`get_variable` for a local variable: in GraphKeys.LOCAL_VARIABLES, not trainable."""
    collections = list(collections or []) + [GraphKeys.LOCAL_VARIABLES]
    return get_variable(name, shape, dtype, initializer, regularizer, trainable, collections,
                        **kwargs)
