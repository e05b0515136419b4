"""The static graph: Operations and the symbolic Tensors they produce.

A `Graph` is a plain list of `Operation`s, each holding its kind (`type`), a unique scoped
`name`, its input Tensors, its output Tensors (shape and dtype known at build time, with None
for unknown dimensions), control inputs, attributes, and the user's line that created it.
Primitive ops carry the shared registry's `Op` in `primitive`: building one runs the op's
shape-and-dtype rule at once, so a shape error surfaces at the line that built the node,
before any data exists (TensorFlow 1's static checking). The graph stays a plain data
structure that rewriting passes can walk and copy.
"""

from __future__ import annotations

import contextlib
import itertools
import threading

import numpy as np

from framework import dtypes
from framework.errors import DualgraphError, user_frame
from framework.ops import register_frontend
from framework.ops.registry import Spec


class GraphError(DualgraphError, ValueError):
    """A misuse of the graph API (unknown name, wrong graph, feeding a non-placeholder...)."""


class Tensor:
    """A symbolic value: output `value_index` of `op`. It holds no data until a Session runs.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     x = tf.placeholder(tf.float32, (None, 3), name="x")
    ...     y = x * 2.0
    >>> y
    <graph.Tensor 'mul:0' shape=(None, 3) dtype=float32>
    """

    __slots__ = ("op", "value_index", "shape", "dtype", "__weakref__")
    __array_priority__ = 1000

    def __init__(self, op: Operation, value_index: int, shape, dtype):
        self.op = op
        self.value_index = value_index
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)

    @property
    def name(self) -> str:
        return f"{self.op.name}:{self.value_index}"

    @property
    def graph(self) -> Graph:
        return self.op.graph

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def get_shape(self) -> tuple:
        return self.shape

    def __repr__(self) -> str:
        return f"<graph.Tensor {self.name!r} shape={self.shape} dtype={self.dtype}>"

    def __hash__(self):
        return id(self)

    def __bool__(self):
        raise GraphError(
            f"using the symbolic tensor {self.name!r} as a Python bool is not allowed: its value "
            f"exists only when a Session runs the graph. Use graph.cond(pred, true_fn, false_fn) "
            f"to choose between branches inside the graph (created at "
            f"{_site_text(self.op.site)})")

    def __iter__(self):
        if self.shape and self.shape[0] is not None:
            return iter([self[i] for i in range(self.shape[0])])
        raise GraphError(f"cannot iterate over {self.name!r}: its first dimension is unknown")

    def __len__(self):
        if self.shape and self.shape[0] is not None:
            return self.shape[0]
        raise GraphError(f"len() of {self.name!r}: its first dimension is unknown")

    def eval(self, feed_dict=None, session=None):
        """The value of this tensor in the default (or given) session."""
        from graph.session import get_default_session

        session = session or get_default_session()
        return session.run(self, feed_dict)


class Operation:
    """A node of the graph: one op application (or a placeholder, variable, assign, ...)."""

    __slots__ = ("graph", "type", "name", "inputs", "outputs", "control_inputs", "attrs",
                 "primitive", "site", "scope", "context", "id", "__weakref__")

    def __init__(self, graph, op_type, name, inputs, output_specs, primitive=None, attrs=None,
                 control_inputs=(), site=None):
        self.graph = graph
        self.type = op_type
        self.name = name
        self.inputs = tuple(inputs)
        self.primitive = primitive
        self.attrs = dict(attrs or {})
        self.control_inputs = tuple(control_inputs)
        self.site = site
        self.scope = graph._scope_stack[-1] if graph._scope_stack else ""
        self.context = graph._context_stack[-1] if graph._context_stack else None
        self.id = next(graph._ids)
        self.outputs = tuple(Tensor(self, i, s.shape, s.dtype) for i, s in enumerate(output_specs))

    def run(self, feed_dict=None, session=None):
        """Run this operation (for its effects) in the default or given session."""
        from graph.session import get_default_session

        (session or get_default_session()).run(self, feed_dict)

    def __repr__(self) -> str:
        return f"<graph.Operation {self.name!r} type={self.type}>"

    def __hash__(self):
        return id(self)


def _site_text(site) -> str:
    from framework.errors import describe_site

    return describe_site(site)


class Graph:
    """A container of Operations; `as_default()` makes it the one new ops are added to.

    >>> g = Graph()
    >>> with g.as_default():
    ...     c = constant(1.0)
    >>> c.graph is g
    True
    """

    def __init__(self):
        self.operations: list[Operation] = []
        self._names: dict[str, Operation] = {}
        self._name_counts: dict[str, int] = {}
        self._scope_stack: list[str] = []
        self._context_stack: list = []
        self._control_stack: list[list[Operation]] = []
        self._ids = itertools.count()
        self.collections: dict[str, list] = {}
        self._lock = threading.RLock()

    # -- building -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def as_default(self):
        _default_graph_stack.append(self)
        try:
            yield self
        finally:
            _default_graph_stack.pop()

    def unique_name(self, name: str) -> str:
        scope = self._scope_stack[-1] if self._scope_stack else ""
        base = f"{scope}/{name}" if scope else name
        with self._lock:
            count = self._name_counts.get(base, 0)
            candidate = base if count == 0 else f"{base}_{count}"
            while candidate in self._names:
                count += 1
                candidate = f"{base}_{count}"
            self._name_counts[base] = count + 1
        return candidate

    def add_operation(self, op_type, inputs, output_specs, name=None, primitive=None,
                      attrs=None, site=None) -> Operation:
        for tensor in inputs:
            if tensor.graph is not self:
                raise GraphError(f"{op_type}: input {tensor.name!r} belongs to another graph; "
                                 "all tensors of one op must come from the same graph")
        control = [op for frame in self._control_stack for op in frame]
        op = Operation(self, op_type, self.unique_name(name or op_type), inputs, output_specs,
                       primitive, attrs, control, site or user_frame())
        with self._lock:
            self.operations.append(op)
            self._names[op.name] = op
        if op.context is not None:
            op.context.add(op)
        return op

    @contextlib.contextmanager
    def name_scope(self, name: str):
        current = self._scope_stack[-1] if self._scope_stack else ""
        if name.endswith("/"):
            scoped = name[:-1]
        else:
            base = f"{current}/{name}" if current else name
            count = self._name_counts.get(base, 0)
            scoped = base if count == 0 and base not in self._names else f"{base}_{count}"
            self._name_counts[base] = count + 1
        self._scope_stack.append(scoped)
        try:
            yield scoped + "/"
        finally:
            self._scope_stack.pop()

    @contextlib.contextmanager
    def control_dependencies(self, control_inputs):
        ops = [x.op if isinstance(x, Tensor) else x for x in (control_inputs or [])]
        if control_inputs is None:
            saved, self._control_stack = self._control_stack, []
            try:
                yield
            finally:
                self._control_stack = saved
            return
        self._control_stack.append(ops)
        try:
            yield
        finally:
            self._control_stack.pop()

    # -- looking up -----------------------------------------------------------------------------

    def get_operation_by_name(self, name: str) -> Operation:
        try:
            return self._names[name]
        except KeyError:
            raise GraphError(f"the graph has no operation named {name!r}") from None

    def get_tensor_by_name(self, name: str) -> Tensor:
        op_name, _, index = name.partition(":")
        if not index.isdigit():
            raise GraphError(f"a tensor name looks like 'op:0', got {name!r}")
        op = self.get_operation_by_name(op_name)
        if int(index) >= len(op.outputs):
            raise GraphError(f"operation {op_name!r} has {len(op.outputs)} outputs, not "
                             f"{int(index) + 1}")
        return op.outputs[int(index)]

    def as_graph_element(self, item):
        """A Tensor or Operation from itself or a name ('x:0' or 'train_op')."""
        if isinstance(item, (Tensor, Operation)):
            if item.graph is not self:
                raise GraphError(f"{item.name!r} is not an element of this graph")
            return item
        if isinstance(item, str):
            return self.get_tensor_by_name(item) if ":" in item else \
                self.get_operation_by_name(item)
        raise GraphError(f"cannot fetch a {type(item).__name__}: fetch a Tensor, an Operation "
                         "or a name")

    def add_to_collection(self, name: str, value) -> None:
        self.collections.setdefault(name, []).append(value)

    def get_collection(self, name: str) -> list:
        return list(self.collections.get(name, []))

    def __len__(self) -> int:
        return len(self.operations)


_default_graph_stack: list[Graph] = []
_global_graph = [Graph()]


def get_default_graph() -> Graph:
    return _default_graph_stack[-1] if _default_graph_stack else _global_graph[0]


def reset_default_graph() -> None:
    if _default_graph_stack:
        raise GraphError("reset_default_graph() inside a `with graph.as_default()` block")
    _global_graph[0] = Graph()


def graph_of(values) -> Graph:
    for value in values:
        if isinstance(value, Tensor):
            return value.graph
    return get_default_graph()


# -- primitive ops: the front-end hook ---------------------------------------------------------


class GraphFrontend:
    """Adds a node for every neutral-function call on graph Tensors."""

    name = "graph"

    def apply(self, primitive, args):
        graph = graph_of(args)
        inputs = [a if isinstance(a, Tensor) else constant(a, graph=graph) for a in args]
        specs = primitive.infer(*inputs)  # a bad shape fails here, at the user's line
        many = isinstance(specs, tuple)
        op = graph.add_operation(primitive.name, inputs, specs if many else (specs,),
                                 primitive=primitive)
        return op.outputs if many else op.outputs[0]


register_frontend(Tensor, GraphFrontend())


def constant(value, dtype=None, shape=None, name="Const", graph=None) -> Tensor:
    """A node holding a fixed value.

    >>> constant([1.0, 2.0]).shape
    (2,)
    """
    if isinstance(value, Tensor):
        raise GraphError("constant() takes a value, not a symbolic Tensor")
    array = np.asarray(value)
    if dtype is not None:
        array = array.astype(dtypes.as_dtype(dtype))
    elif array.dtype not in dtypes.ALL:
        array = array.astype(dtypes.result_type(array.dtype) if array.dtype.kind in "biuf"
                             else dtypes.as_dtype(array.dtype))
    elif array.dtype == np.float64 and not isinstance(value, (np.ndarray, np.generic)):
        array = array.astype(dtypes.float32)  # Python floats are float32, as in TensorFlow
    if shape is not None:
        array = np.broadcast_to(array, tuple(shape)).copy()
    graph = graph or get_default_graph()
    op = graph.add_operation("Const", [], [Spec(array.shape, array.dtype)], name=name,
                             attrs={"value": array})
    return op.outputs[0]


def placeholder(dtype, shape=None, name="Placeholder") -> Tensor:
    """A value fed at run time: `sess.run(y, feed_dict={x: data})`; None marks unknown dims.

    >>> placeholder("float32", (None, 784)).shape
    (None, 784)
    """
    dtype = dtypes.as_dtype(dtype)
    if shape is None:
        # Shape rules work dimension by dimension, so the rank must be known.
        raise GraphError("placeholder needs a shape; use None for dimensions known only at "
                         "run time, e.g. placeholder(float32, (None, 784))")
    shape = tuple(None if d is None else int(d) for d in shape)
    op = get_default_graph().add_operation("Placeholder", [], [Spec(shape, dtype)],
                                           name=name, attrs={"shape": shape})
    return op.outputs[0]


def site_of(op: Operation) -> str:
    """'file.py:12 in fn: source line' where the user created `op`."""
    return _site_text(op.site)
