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
import functools
import itertools
import re
import threading

import numpy as np

from framework import dtypes
from framework.errors import DTypeError, DualgraphError, user_frame
from framework.ops import register_frontend
from framework.ops.registry import Spec
from graph.ops import PRIMITIVE, Const, Placeholder


class GraphError(DualgraphError, ValueError):
    """A misuse of the graph API (unknown name, wrong graph, feeding a non-placeholder...)."""


class TensorShape(tuple):
    """A tuple of dimensions (None where unknown) with TensorFlow's TensorShape helpers.

    It compares equal to the plain tuple, so `x.shape == (None, 3)` keeps working. A shape
    whose rank is unknown too is `TensorShape(None)` (`ndims` is None): what a placeholder made
    without a shape has, and every op fed by one.

    >>> TensorShape((None, 3)).as_list()
    [None, 3]
    >>> TensorShape((2, 3)).num_elements()
    6
    >>> TensorShape(None).ndims is None, str(TensorShape(None))
    (True, '<unknown>')
    """

    __slots__ = ()

    def __new__(cls, dims=()):
        if dims is None or type(dims) is _UnknownRankShape:
            return UNKNOWN_SHAPE
        if isinstance(dims, (int, np.integer)) and not isinstance(dims, bool):
            dims = (dims,)
        return tuple.__new__(cls, dims)

    def __getitem__(self, index):
        item = tuple.__getitem__(self, index)
        return TensorShape(item) if isinstance(index, slice) else item

    @property
    def ndims(self) -> int | None:
        return tuple.__len__(self)

    rank = ndims

    @property
    def dims(self) -> list | None:
        return list(self)

    def as_list(self) -> list:
        return list(self)

    def is_fully_defined(self) -> bool:
        return all(d is not None for d in self)

    def num_elements(self) -> int | None:
        """The number of elements, or None while a dimension is unknown."""
        return int(np.prod(self, dtype=np.int64)) if self.is_fully_defined() else None

    def is_compatible_with(self, other) -> bool:
        """Whether some value could have both shapes: same rank, equal known dimensions.

        >>> TensorShape((None, 3)).is_compatible_with((5, 3)), TensorShape(None).\\
        ...     is_compatible_with((5,))
        (True, True)
        """
        other = TensorShape(other)
        if other.ndims is None:
            return True
        return len(self) == len(other) and all(
            a is None or b is None or a == b for a, b in zip(self, other))

    def merge_with(self, other) -> TensorShape:
        """The most specific shape compatible with both, or ValueError where there is none.

        >>> TensorShape((None, 3)).merge_with((5, None))
        (5, 3)
        """
        other = TensorShape(other)
        if not self.is_compatible_with(other):
            raise ValueError(f"Shapes {self} and {other} are not compatible")
        if other.ndims is None:
            return self
        return TensorShape(a if a is not None else b for a, b in zip(self, other))

    def assert_is_compatible_with(self, other) -> None:
        if not self.is_compatible_with(other):
            raise ValueError(f"Shapes {self} and {TensorShape(other)} are incompatible")



class _UnknownRankShape(TensorShape):
    """TensorShape(None): not even the rank is known. It reads as TensorFlow's does: `ndims`
    is None, an index gives None, and what needs the dimensions (`len`, iteration,
    `as_list`) raises a ValueError (a GraphError, naming the user's line) instead of treating
    it as a scalar."""

    __slots__ = ()

    def __getitem__(self, index):
        return UNKNOWN_SHAPE if isinstance(index, slice) else None

    @property
    def ndims(self) -> None:
        return None

    rank = ndims

    @property
    def dims(self) -> None:
        return None

    def as_list(self):
        raise GraphError("as_list() is not defined on an unknown TensorShape." + _GIVE_SHAPE)

    def __len__(self):
        raise GraphError("Cannot take the length of shape with unknown rank." + _GIVE_SHAPE)

    def __iter__(self):
        raise GraphError("Cannot iterate over a shape with unknown rank." + _GIVE_SHAPE)

    def __bool__(self):
        raise GraphError("The truth value of a shape with unknown rank is not known." +
                         _GIVE_SHAPE)

    def __contains__(self, item) -> bool:
        # `None in shape` asks whether a dimension is unknown: any may be.
        return item is None

    def is_fully_defined(self) -> bool:
        return False

    def num_elements(self) -> None:
        return None

    def is_compatible_with(self, other) -> bool:
        return True

    def merge_with(self, other) -> TensorShape:
        return TensorShape(other)

    def __eq__(self, other) -> bool:
        return type(other) is _UnknownRankShape

    def __ne__(self, other) -> bool:
        return type(other) is not _UnknownRankShape

    def __hash__(self) -> int:
        return hash(_UnknownRankShape)

    def __add__(self, other):
        return self

    __radd__ = __add__

    def __reduce__(self):
        return TensorShape, (None,)

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __repr__(self) -> str:
        return "TensorShape(None)"

    def __str__(self) -> str:
        return "<unknown>"


UNKNOWN_SHAPE = tuple.__new__(_UnknownRankShape, ())
_GIVE_SHAPE = (" What asks needs the tensor's number of dimensions: give the tensor a shape "
               "(the placeholder's shape=, or tensor.set_shape([...])).")


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
        self.shape = TensorShape(shape)
        self.dtype = np.dtype(dtype)

    @property
    def name(self) -> str:
        return f"{self.op.name}:{self.value_index}"

    @property
    def graph(self) -> Graph:
        return self.op.graph

    @property
    def ndim(self) -> int:
        """The number of dimensions; a GraphError where even that is unknown (see
        `shape.ndims`, None then), since what asks for it cannot go on without it."""
        if self.shape is UNKNOWN_SHAPE:
            raise GraphError(
                f"{self.name!r} (created at {_site_text(self.op.site)}) has an unknown rank, "
                "and this needs its number of dimensions; give it a shape, e.g. "
                "placeholder(tf.float32, [None, 3]), or tensor.set_shape([None, 3])")
        return len(self.shape)

    @property
    def device(self) -> str:
        """The device of the op that makes this tensor ("" when unplaced), as in TF1."""
        return self.op.device

    def get_shape(self) -> TensorShape:
        return self.shape

    def set_shape(self, shape) -> None:
        """Refine the static shape with what the caller knows (TensorFlow's set_shape): the
        new shape must be compatible with the one known so far. A Session still checks each
        op's inputs against its shape rule when it runs.

        >>> import graph as tf
        >>> with tf.Graph().as_default():
        ...     x = tf.placeholder(tf.float32)
        ...     x.set_shape([None, 3])
        ...     x.shape
        (None, 3)
        """
        try:
            self.shape = self.shape.merge_with(shape)
        except ValueError:
            raise GraphError(f"set_shape: {self.name!r} has shape {self.shape}, which is not "
                             f"compatible with {TensorShape(shape)}") from None

    def __repr__(self) -> str:
        return f"<graph.Tensor {self.name!r} shape={self.shape} dtype={self.dtype}>"

    def __hash__(self):
        return id(self)

    def __bool__(self):
        raise GraphError(
            f"using the symbolic tensor {self.name!r} as a Python bool is not allowed: its value "
            f"exists only when a Session runs the graph. Use tf.cond(pred, true_fn, false_fn) "
            f"(graph.cond) to choose between branches inside the graph (created at "
            f"{_site_text(self.op.site)})")

    def __iter__(self):
        if self.shape.ndims and self.shape[0] is not None:
            return iter([self[i] for i in range(self.shape[0])])
        raise GraphError(f"cannot iterate over {self.name!r}: its first dimension is unknown")

    def __len__(self):
        if self.shape.ndims and self.shape[0] is not None:
            return self.shape[0]
        raise GraphError(f"len() of {self.name!r}: its first dimension is unknown")

    def eval(self, feed_dict=None, session=None):
        """The value of this tensor in the default (or given) session.

        >>> import graph as tf
        >>> with tf.Graph().as_default():
        ...     x = tf.placeholder(tf.float32, (2,))
        ...     with tf.Session():
        ...         print((x + 1.0).eval({x: [1.0, 2.0]}))
        [2. 3.]
        """
        from graph.session import session_for

        return session_for(self, session, "Tensor.eval()").run(self, feed_dict)


class Operation:
    """A node of the graph: one op application (or a placeholder, variable, assign, ...)."""

    __slots__ = ("graph", "kind", "type", "name", "inputs", "outputs", "control_inputs",
                 "attrs", "primitive", "site", "scope", "context", "id", "device",
                 "__weakref__")

    def __init__(self, graph, kind, name, inputs, output_specs, primitive=None, attrs=None,
                 control_inputs=(), site=None):
        self.graph = graph
        self.kind = kind  # the graph op kind (graph.ops): how this node runs, differentiates
        self.type = primitive.name if primitive is not None else kind.name
        self.name = name
        self.inputs = tuple(inputs)
        self.primitive = primitive
        self.attrs = dict(attrs or {})
        self.control_inputs = tuple(control_inputs)
        self.site = site
        self.scope = graph._scope_stack[-1] if graph._scope_stack else ""
        self.context = graph._context_stack[-1] if graph._context_stack else None
        self.id = next(graph._ids)
        # TF1's canonical device string ("/device:GPU:0"), "" when unplaced: set from the
        # graph's `device` scopes (graph.placement) when the node is added.
        self.device = ""
        self.outputs = tuple(Tensor(self, i, s.shape, s.dtype) for i, s in enumerate(output_specs))

    def run(self, feed_dict=None, session=None):
        """Run this operation (for its effects) in the default or given session.

        >>> import graph as tf
        >>> with tf.Graph().as_default():
        ...     v = tf.Variable(1.0)
        ...     with tf.Session() as sess:
        ...         tf.global_variables_initializer().run()
        ...         v.assign_add(2.0).op.run()
        ...         print(sess.run(v))
        3.0
        """
        from graph.session import session_for

        session_for(self, session, "Operation.run()").run(self, feed_dict)

    def values(self) -> tuple:
        """The output Tensors (TensorFlow's name for `outputs`)."""
        return self.outputs

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
        # Names in use, ops and name scopes alike, with the next suffix to try for each.
        self._name_counts: dict[str, int] = {}
        self._scope_stack: list[str] = []
        self._context_stack: list = []
        self._control_stack: list[list[Operation]] = []
        self._device_stack: list = []  # the open `device` scopes (graph.placement)
        self._ids = itertools.count()
        self.collections: dict[str, list] = {}
        self._lock = threading.RLock()
        self._finalized = False
        # The graph-level random seed (tf.set_random_seed); see graph.random_ops.get_seed.
        self.seed = None
        # What graph.variable_scope keeps per graph: the Variables get_variable made, by name,
        # the root variable scope, each thread's open variable scopes (a thread's scopes do not
        # name another thread's variables), and how often each scope name was opened.
        self._variable_store: dict[str, object] = {}
        self._root_variable_scope = None
        self._variable_scopes = threading.local()
        self._variable_scope_counts: dict[str, int] = {}

    def __bool__(self) -> bool:
        # An empty graph is still a graph: `graph or default` must not skip it for having no ops.
        return True

    # -- building -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def as_default(self):
        """Make this the graph new ops go to, in this thread, inside the `with` block.

        >>> g = Graph()
        >>> with g.as_default():
        ...     get_default_graph() is g
        True
        """
        stack = _thread_defaults.graphs
        stack.append(self)
        try:
            yield self
        finally:
            stack.pop()

    def get_name_scope(self) -> str:
        """The current name scope, e.g. 'layer1/dense' ('' at the top level)."""
        return self._scope_stack[-1] if self._scope_stack else ""

    def unique_name(self, name: str, mark_as_used: bool = True) -> str:
        """`name` inside the current scope, with a `_1`, `_2`... suffix if already in use.

        A name ending in '/' is taken as an exact absolute name (TensorFlow's convention).

        >>> g = Graph()
        >>> g.unique_name("dense"), g.unique_name("dense"), g.unique_name("dense")
        ('dense', 'dense_1', 'dense_2')
        """
        with self._lock:
            if name.endswith("/"):
                exact = name[:-1]
                if mark_as_used:
                    self._name_counts[exact] = max(self._name_counts.get(exact, 0), 1)
                return exact
            scope = self.get_name_scope()
            base = f"{scope}/{name}" if scope else name
            count = self._name_counts.get(base, 0)
            candidate = base if count == 0 else f"{base}_{count}"
            while self._in_use(candidate):
                count += 1
                candidate = f"{base}_{count}"
            if mark_as_used:
                self._name_counts[base] = count + 1
                if candidate != base:  # so that an explicit 'dense_1' later becomes 'dense_1_1'
                    self._name_counts[candidate] = max(self._name_counts.get(candidate, 0), 1)
        return candidate

    def _in_use(self, name: str) -> bool:
        return self._name_counts.get(name, 0) > 0 or name in self._names

    def add_operation(self, kind, inputs, name=None, attrs=None, *, primitive=None,
                      specs=None, site=None) -> Operation:
        """Append a node of `kind` (a graph op kind of `graph.ops`; for a registry primitive,
        `PRIMITIVE` with the op as `primitive` and its `specs`). Inputs must be Tensors of this
        graph. The kind's shape rule gives the outputs' specs, unless `specs` are given. The
        node gets the current name scope, control dependencies and context, and the user's
        line as its `site`."""
        op_type = primitive.name if primitive is not None else kind.name
        if self._finalized:
            raise GraphError(f"cannot add a {op_type} op: the graph is finalized "
                             "(graph.finalize() was called, so it can no longer change)")
        for tensor in inputs:
            if not isinstance(tensor, Tensor):
                raise GraphError(f"{op_type}: input {tensor!r} is not a graph Tensor")
            if tensor.graph is not self:
                raise GraphError(
                    f"{op_type}: input {tensor.name!r} (created at {_site_text(tensor.op.site)})"
                    " belongs to another graph; all tensors of one op must come from the same "
                    "graph")
        if specs is None:
            specs = kind.infer(inputs, attrs or {})
        control = list(dict.fromkeys(op for frame in self._control_stack for op in frame))
        op = Operation(self, kind, self.unique_name(name or op_type), inputs, specs,
                       primitive, attrs, control, site or user_frame())
        if self._device_stack:
            from graph.placement import apply_device_scopes

            apply_device_scopes(self._device_stack, op)
        with self._lock:
            if op.name in self._names:
                raise GraphError(f"the graph already has an operation named {op.name!r}")
            self.operations.append(op)
            self._names[op.name] = op
        if op.context is not None:
            op.context.add(op)
        else:
            # A value made inside a cond branch or loop body exists only when that branch or
            # iteration runs: using it outside would run the branch unconditionally.
            for used in (*op.inputs, *op.control_inputs):
                producer = used.op.context if isinstance(used, Tensor) else used.context
                if producer is not None:
                    producer.refuse_outside_use(used, op)
        return op

    @contextlib.contextmanager
    def name_scope(self, name, default_name=None, values=None):
        """Prefix the names of ops created inside with `name/` (TensorFlow 1's name_scope).

        Nested scopes nest; reusing a name gives `name_1`; a name ending in '/' re-enters that
        exact scope; None or '' (without `default_name`) goes back to the top level. `values`,
        as in TensorFlow, are tensors that must belong to this graph.

        >>> g = Graph()
        >>> with g.as_default():
        ...     with g.name_scope("layer") as scope:
        ...         c = constant(1.0)
        >>> scope, c.op.name
        ('layer/', 'layer/Const')
        """
        for value in values or ():
            if isinstance(value, (Tensor, Operation)) and value.graph is not self:
                raise GraphError(f"name_scope: {value.name!r} belongs to another graph")
        if not name:
            name = default_name
        if not name:
            scoped = ""
        elif name.endswith("/"):
            scoped = name[:-1]
        else:
            scoped = self.unique_name(name)
        self._scope_stack.append(scoped)
        try:
            yield scoped + "/" if scoped else ""
        finally:
            self._scope_stack.pop()

    def device(self, device_name_or_function):
        """Place the ops created inside on a device (TensorFlow 1's `Graph.device`): a string
        such as "/gpu:0", "/cpu:0" or "cuda", a function op -> device string, or None to
        clear the enclosing scopes. See `graph.placement.device`."""
        from graph.placement import device_scope

        return device_scope(self, device_name_or_function)

    @contextlib.contextmanager
    def control_dependencies(self, control_inputs):
        """Ops created inside run only after `control_inputs` (Operations or Tensors) ran.

        Frames nest (an op depends on the inputs of every enclosing frame); None clears the
        enclosing frames for the block.
        """
        if control_inputs is None:
            saved, self._control_stack = self._control_stack, []
            try:
                yield
            finally:
                self._control_stack = saved
            return
        ops = []
        for item in control_inputs:
            op = item.op if isinstance(item, Tensor) else item
            if not isinstance(op, Operation):
                raise GraphError(f"control_dependencies takes Operations or Tensors, got "
                                 f"{item!r}")
            if op.graph is not self:
                raise GraphError(f"control_dependencies: {op.name!r} (created at "
                                 f"{_site_text(op.site)}) belongs to another graph")
            ops.append(op)
        self._control_stack.append(ops)
        try:
            yield
        finally:
            self._control_stack.pop()

    def name_result(self, result, scope: str):
        """Give the op that made `result` inside `scope` the scope's own name, and return
        `result`: how `tf.matmul(a, b, name="logits")` yields the tensor 'logits:0' while the
        helper ops it needed stay under 'logits/'. Anything else is returned unchanged.

        >>> g = Graph()
        >>> with g.as_default():
        ...     with g.name_scope("logits") as scope:
        ...         y = constant(1.0) * 2.0
        ...     y = g.name_result(y, scope)
        >>> y.name, y.op.inputs[0].op.name
        ('logits:0', 'logits/Const')
        """
        if not (isinstance(result, Tensor) and result.graph is self and scope):
            return result
        op, exact = result.op, scope.rstrip("/")
        with self._lock:
            if op.name.startswith(scope) and exact not in self._names:
                del self._names[op.name]
                op.name = exact
                self._names[exact] = op
        return result

    def finalize(self) -> None:
        """Make the graph read-only: adding an op raises (catches graph growth in a loop)."""
        self._finalized = True

    @property
    def finalized(self) -> bool:
        return self._finalized

    # -- looking up -----------------------------------------------------------------------------

    def get_operations(self) -> list:
        """Every Operation, in creation order (a snapshot)."""
        with self._lock:
            return list(self.operations)

    @property
    def _last_id(self) -> int:
        """How many ops the graph has had: TensorFlow's op-level seed for a random op built
        under a graph-level seed alone (graph.random_ops.get_seed)."""
        return len(self.operations)

    def get_operation_by_name(self, name: str) -> Operation:
        """The Operation called `name`; KeyError (a GraphError too) if there is none.

        >>> g = Graph()
        >>> with g.as_default():
        ...     c = constant(1.0, name="c")
        >>> g.get_operation_by_name("c") is c.op
        True
        >>> try:
        ...     g.get_operation_by_name("d")
        ... except KeyError as error:
        ...     print(error.problem)
        The name 'd' refers to an Operation not in the graph.
        """
        _require_name(name)
        if ":" in name:
            raise GraphError(f"The name {name!r} appears to refer to a Tensor, not an "
                             f"Operation: use get_tensor_by_name({name!r}), or the operation's "
                             f"name {name.partition(':')[0]!r}")
        try:
            return self._names[name]
        except KeyError:
            raise NotFoundError(f"The name {name!r} refers to an Operation not in the "
                                "graph.") from None

    def get_tensor_by_name(self, name: str) -> Tensor:
        """The Tensor called `name` ('op:0'); KeyError (a GraphError too) if there is none.

        >>> g = Graph()
        >>> with g.as_default():
        ...     c = constant(1.0, name="c")
        >>> g.get_tensor_by_name("c:0") is c
        True
        >>> try:
        ...     g.get_tensor_by_name("d:0")
        ... except KeyError as error:
        ...     print(error.problem)
        The name 'd:0' refers to a Tensor which does not exist. The operation, 'd', does not \
exist in the graph.
        """
        _require_name(name)
        op_name, _, index = name.partition(":")
        if not index.isdigit():
            raise GraphError(f"The name {name!r} refers to an Operation, not a Tensor. Tensor "
                             "names must be of the form \"<op_name>:<output_index>\", e.g. "
                             f"'{op_name}:0'")
        op = self._names.get(op_name)
        if op is None:
            raise NotFoundError(f"The name {name!r} refers to a Tensor which does not exist. "
                                f"The operation, {op_name!r}, does not exist in the graph.")
        if int(index) >= len(op.outputs):
            raise NotFoundError(f"The name {name!r} refers to a Tensor which does not exist. "
                                f"The operation, {op_name!r}, exists but only has "
                                f"{len(op.outputs)} outputs.")
        return op.outputs[int(index)]

    def as_graph_element(self, item):
        """A Tensor or Operation from itself or a name ('x:0' or 'train_op')."""
        if isinstance(item, (Tensor, Operation)):
            if item.graph is not self:
                op = item.op if isinstance(item, Tensor) else item
                raise GraphError(f"{item.name!r} (created at {_site_text(op.site)}) is not an "
                                 "element of this graph: it belongs to another graph")
            return item
        if isinstance(item, str):
            return self.get_tensor_by_name(item) if ":" in item else \
                self.get_operation_by_name(item)
        raise GraphError(f"cannot fetch a {type(item).__name__}: fetch a Tensor, an Operation "
                         "or a name")

    # -- collections (TensorFlow 1's: named lists of anything, see GraphKeys) ----------------

    def add_to_collection(self, name: str, value) -> None:
        """Append `value` to the collection `name` (made on first use)."""
        with self._lock:
            self.collections.setdefault(name, []).append(value)

    def add_to_collections(self, names, value) -> None:
        """Add `value` to each collection of `names` (one name or a list; each once)."""
        names = (names,) if isinstance(names, str) else tuple(dict.fromkeys(names))
        for name in names:
            self.add_to_collection(name, value)

    def get_collection(self, name: str, scope: str | None = None) -> list:
        """A copy of the collection `name` ([] if it does not exist). With `scope`, only the
        items whose `name` matches it from the start (`re.match`), as TensorFlow filters.

        >>> g = Graph()
        >>> with g.as_default():
        ...     a, b = constant(1.0, name="enc/a"), constant(2.0, name="dec/b")
        >>> g.add_to_collection("outs", a); g.add_to_collection("outs", b)
        >>> [t.name for t in g.get_collection("outs", scope="dec")]
        ['dec/b:0']
        """
        with self._lock:
            items = list(self.collections.get(name, ()))
        if scope is None:
            return items
        if not isinstance(scope, str):
            raise GraphError(f"get_collection: scope must be a string (a regular expression "
                             f"matched against names), got {scope!r}")
        pattern = re.compile(scope)
        return [item for item in items
                if isinstance(getattr(item, "name", None), str) and pattern.match(item.name)]

    def get_collection_ref(self, name: str) -> list:
        """The collection `name` itself, made empty on first use: changing the list changes
        the collection."""
        with self._lock:
            return self.collections.setdefault(name, [])

    def get_all_collection_keys(self) -> list:
        """The names of the collections that hold something."""
        with self._lock:
            return [name for name, items in self.collections.items() if items]

    def clear_collection(self, name: str) -> None:
        with self._lock:
            self.collections.pop(name, None)

    def __len__(self) -> int:
        return len(self.operations)


class NotFoundError(GraphError, KeyError):
    """A name the graph does not have: a KeyError, as TensorFlow raises, and a GraphError."""

    def __str__(self) -> str:  # KeyError's own would show the message quoted, on one line
        return Exception.__str__(self)


class _NameTypeError(DualgraphError, TypeError):
    """A name lookup given something that is not a string (a TypeError, as in TensorFlow)."""


def _require_name(name) -> None:
    if not isinstance(name, str):
        raise _NameTypeError(f"Operation and Tensor names are strings, not "
                             f"{type(name).__name__} {name!r}")


class GraphKeys:
    """The standard collection names (TensorFlow 1's `tf.GraphKeys`).

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     v = tf.Variable(1.0, name="v")
    ...     tf.get_collection(tf.GraphKeys.TRAINABLE_VARIABLES) == [v]
    True
    """

    GLOBAL_VARIABLES = "variables"
    VARIABLES = GLOBAL_VARIABLES  # TensorFlow's older name
    LOCAL_VARIABLES = "local_variables"
    MODEL_VARIABLES = "model_variables"
    TRAINABLE_VARIABLES = "trainable_variables"
    MOVING_AVERAGE_VARIABLES = "moving_average_variables"
    METRIC_VARIABLES = "metric_variables"
    REGULARIZATION_LOSSES = "regularization_losses"
    LOSSES = "losses"
    UPDATE_OPS = "update_ops"
    SUMMARIES = "summaries"
    SUMMARY_OP = "summary_op"
    GLOBAL_STEP = "global_step"
    TRAIN_OP = "train_op"
    INIT_OP = "init_op"
    LOCAL_INIT_OP = "local_init_op"
    READY_OP = "ready_op"
    SAVERS = "savers"
    WEIGHTS = "weights"
    BIASES = "biases"
    ACTIVATIONS = "activations"
    QUEUE_RUNNERS = "queue_runners"
    TABLE_INITIALIZERS = "table_initializer"
    ASSET_FILEPATHS = "asset_filepaths"
    EVAL_STEP = "eval_step"
    COND_CONTEXT = "cond_context"
    WHILE_CONTEXT = "while_context"


class _ThreadDefaults(threading.local):
    """Per-thread default stacks: like TensorFlow, `as_default()` only affects its thread."""

    def __init__(self):
        self.graphs: list[Graph] = []
        self.sessions: list = []


_thread_defaults = _ThreadDefaults()
_global_graph = [Graph()]


def get_default_graph() -> Graph:
    """The innermost `as_default()` graph of this thread, else the global default graph."""
    stack = _thread_defaults.graphs
    return stack[-1] if stack else _global_graph[0]


def reset_default_graph() -> None:
    """Replace the global default graph with a new, empty one."""
    if _thread_defaults.graphs:
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
        for tensor in inputs:
            if tensor.shape is UNKNOWN_SHAPE:
                specs = _specs_of_unknown_rank(primitive, inputs)
                break
        else:
            specs = primitive.infer(*inputs)  # a bad shape fails here, at the user's line
        many = isinstance(specs, tuple)
        op = graph.add_operation(PRIMITIVE, inputs, primitive=primitive,
                                 specs=specs if many else (specs,))
        return op.outputs if many else op.outputs[0]


register_frontend(Tensor, GraphFrontend())

# Ranks tried for an input of unknown rank, to learn the dtype of the op's outputs.
_STANDIN_RANKS = range(9)


def _specs_of_unknown_rank(primitive, inputs):
    """The output specs of `primitive` on inputs of which one or more have an unknown rank.

    The shape rule cannot check what it cannot see, so it runs again when the Session has the
    values (and its errors then name the op's line). Here it runs with each unknown rank read
    as 0, 1, 2, ... dimensions of unknown size: the ranks it accepts give the dtypes, and the
    output shapes where they agree for every such rank (a full reduction is a scalar, a
    reshape has its target's shape), else unknown shapes, as TensorFlow gives. An input no
    rank fits (a dtype the op refuses, say) is refused now, as a known shape would be."""
    accepted, errors, many = [], [], False
    for rank in _STANDIN_RANKS:
        standins = [Spec.raw((None,) * rank, t.dtype) if t.shape is UNKNOWN_SHAPE else t
                    for t in inputs]
        try:
            specs = primitive.infer(*standins)
        except (DualgraphError, TypeError, ValueError) as error:
            errors.append(error)
            continue
        many = isinstance(specs, tuple)
        accepted.append(specs if many else (specs,))
    if not accepted:
        for error in errors:  # a dtype the op refuses is refused whatever the rank: say that
            if isinstance(error, DTypeError):
                raise error
        unknown = next(t for t in inputs if t.shape is UNKNOWN_SHAPE)
        problem = getattr(errors[0], "problem", str(errors[0]))
        raise GraphError(f"{primitive.name}: no rank of {unknown.name!r}, whose rank is "
                         f"unknown (created at {_site_text(unknown.op.site)}), fits this op; "
                         f"with rank 0: {problem}")
    first = accepted[0]
    specs = tuple(
        Spec.raw(spec.shape if all(other[i].shape == spec.shape for other in accepted)
                 else UNKNOWN_SHAPE, spec.dtype)
        for i, spec in enumerate(first))
    return specs if many else specs[0]


def as_array(value, where, dtype=None, copy: bool = False) -> np.ndarray:
    """`value` (an array, a number, nested lists) as a NumPy array, refusing what has no shape.

    A ragged nested sequence raises a GraphError that says which item breaks the rectangle
    (NumPy's own error names neither). An integer too large for any NumPy integer (NumPy keeps
    it as a Python object) raises one that names it and `dtype`'s range (int64's when `dtype`
    is not an integer dtype). `where` says what was being converted: the message is
    "<where>: <problem>", or `where(problem)` where it is a function (called only for an
    error, so that a caller on a hot path builds no text).

    >>> as_array([[1, 2], [3, 4]], "constant").shape
    (2, 2)
    >>> try:
    ...     as_array([[1, 2], [3]], "constant")
    ... except GraphError as error:
    ...     print(error.problem.partition(" to Tensor: ")[2])
    value[1] has length 1, but value[0] has length 2
    """
    try:
        array = np.array(value) if copy else np.asarray(value)
    except ValueError:
        irregularity = _irregularity(value)
        if irregularity is None:
            raise
        raise GraphError(_message(where, "Can't convert non-rectangular Python sequence to "
                                         f"Tensor: {irregularity}")) from None
    if array.dtype == object and array.size and all(
            isinstance(item, int) and not isinstance(item, bool) for item in array.flat):
        target = np.dtype(dtype) if dtype is not None and np.dtype(dtype).kind in "iu" else \
            dtypes.int64
        _refuse_outside(array, target, np.array([not _fits(item, target) for item in array.flat])
                        .reshape(array.shape), where)
    return array


def cast_checked(array: np.ndarray, dtype, where) -> np.ndarray:
    """`array` as `dtype`, refusing a conversion that would change a value.

    Refused, with a GraphError that names the first such value and its index (and `where`, as
    in `as_array`): an integer outside an integer dtype's range (NumPy would wrap it
    around), a float that is not a finite whole number or is out of range for an integer dtype
    (NumPy would truncate it), and a finite float that becomes infinite in a narrower float
    dtype. Rounding to a float's precision is not refused, as in TensorFlow and NumPy.

    >>> cast_checked(np.array([1, 2**31 - 1]), np.int32, "feed")
    array([         1, 2147483647], dtype=int32)
    >>> try:
    ...     cast_checked(np.array([1, 2**32 + 1]), np.int32, "feed")
    ... except GraphError as error:
    ...     print(error.problem)
    feed: 4294967297 at index (1,) is outside int32's range [-2147483648, 2147483647]
    """
    dtype = np.dtype(dtype)
    source = array.dtype
    if source == dtype:
        return array
    if dtype.kind in "iu" and source.kind in "iub":
        bounds = _narrower_bounds(source, dtype)
        # min and max first: cheaper than a mask, and int64 labels into an int32 placeholder
        # pass here on every training step.
        if bounds is not None and array.size and (array.min() < bounds[0]
                                                  or array.max() > bounds[1]):
            _refuse_outside(array, dtype, (array < bounds[0]) | (array > bounds[1]), where)
    elif dtype.kind in "iu" and source.kind == "f":
        whole = np.isfinite(array) & (array == np.trunc(array))
        _refuse_outside(array, dtype, ~whole, where, "is not a finite whole number")
        # Exact bounds as floats: -2**(bits - 1) and 2**(bits - 1), the first value beyond.
        low, high = float(np.iinfo(dtype).min), 2.0 ** (dtype.itemsize * 8 - (dtype.kind == "i"))
        _refuse_outside(array, dtype, (array < low) | (array >= high), where)
    if not (dtype.kind == "f" and source.kind == "f" and dtype.itemsize < source.itemsize):
        return array.astype(dtype)
    with np.errstate(over="ignore"):  # an overflow is reported below, as an error
        result = array.astype(dtype)
    overflowed = np.isinf(result)
    if overflowed.any():
        _refuse_outside(array, dtype, overflowed & np.isfinite(array), where,
                        f"is beyond {dtype}'s largest finite value ({np.finfo(dtype).max:.7g})")
    return result


@functools.cache
def _narrower_bounds(source: np.dtype, dtype: np.dtype) -> tuple | None:
    """(lowest, highest) value of integer `dtype`, or None if every `source` value fits."""
    if np.can_cast(source, dtype):
        return None
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def _fits(item: int, dtype: np.dtype) -> bool:
    info = np.iinfo(dtype)
    return info.min <= item <= info.max


def _refuse_outside(array, dtype, bad, where, problem=None) -> None:
    """Raise for the first value where `bad` holds, if any."""
    if not np.any(bad):
        return
    flat = int(np.argmax(bad))
    index = np.unravel_index(flat, array.shape)
    value = array.flat[flat]
    value = value.item() if isinstance(value, np.generic) else value
    if problem is None:
        info = np.iinfo(dtype)
        problem = f"is outside {dtype}'s range [{info.min}, {info.max}]"
    at = f" at index {tuple(int(i) for i in index)}" if array.ndim else ""
    raise GraphError(_message(where, f"{value!r}{at} {problem}"))


def _message(where, problem: str) -> str:
    return where(problem) if callable(where) else f"{where}: {problem}"


def _irregularity(value) -> str | None:
    """Where a nested sequence stops being rectangular, measured against its first items
    ('value[1] has length 1, but value[0] has length 2'); None if it is rectangular."""
    def is_sequence(item):
        return isinstance(item, (list, tuple)) or (isinstance(item, np.ndarray) and item.ndim)

    shape = []
    item = value
    while is_sequence(item):
        shape.append(len(item))
        if not len(item):
            break
        item = item[0]

    def find(item, depth, path):
        first = "value" + "[0]" * depth
        if depth == len(shape):
            if is_sequence(item):
                return f"{path} is a sequence of length {len(item)}, but {first} is a scalar"
            return None
        if not is_sequence(item):
            return f"{path} is a scalar, but {first} is a sequence of length {shape[depth]}"
        if len(item) != shape[depth]:
            return f"{path} has length {len(item)}, but {first} has length {shape[depth]}"
        for i, child in enumerate(item):
            found = find(child, depth + 1, f"{path}[{i}]")
            if found is not None:
                return found
        return None

    return find(value, 0, "value")


def constant(value, dtype=None, shape=None, name="Const", graph=None) -> Tensor:
    """A node holding a fixed value.

    >>> constant([1.0, 2.0]).shape
    (2,)
    """
    if isinstance(value, Tensor):
        raise GraphError("constant() takes a value, not a symbolic Tensor")
    if dtype is not None:
        dtype = dtypes.as_dtype(dtype)
    # A copy: changing the caller's array later must not change the constant.
    array = as_array(value, f"constant {name!r}", dtype, copy=True)
    if dtype is not None:
        array = cast_checked(array, dtype, f"constant {name!r} of dtype {dtype}")
    elif array.dtype not in dtypes.ALL:
        array = array.astype(dtypes.result_type(array.dtype) if array.dtype.kind in "biuf"
                             else dtypes.as_dtype(array.dtype))
    elif array.dtype == np.float64 and not isinstance(value, (np.ndarray, np.generic)):
        array = array.astype(dtypes.float32)  # Python floats are float32, as in TensorFlow
    if shape is not None:
        array = np.broadcast_to(array, tuple(shape)).copy()
    graph = get_default_graph() if graph is None else graph
    op = graph.add_operation(Const(), [], name=name, attrs={"value": array})
    return op.outputs[0]


def placeholder(dtype, shape=None, name="Placeholder") -> Tensor:
    """A value fed at run time: `sess.run(y, feed_dict={x: data})`.

    `dtype` is a dtype, its name ("float32", "float" for float32, "double", "int32", ...), a
    NumPy dtype or a Python type. `shape` is a list or tuple of dimensions, None marking those
    known only at run time; without a shape (None) even the rank is unknown, and any shape may
    be fed. A fed value must fit the shape: the error names the placeholder and its line.

    >>> placeholder("float32", [None, 784]).shape
    (None, 784)
    >>> placeholder("float").shape.ndims is None
    True
    """
    dtype = dtypes.as_dtype(dtype)
    if shape is not None:
        shape = _placeholder_shape(shape)
    op = get_default_graph().add_operation(Placeholder(), [], name=name,
                                           attrs={"shape": shape, "dtype": dtype})
    return op.outputs[0]


def placeholder_with_default(input, shape, name=None) -> Tensor:  # noqa: A002  (TF's name)
    """`input` (a value or a Tensor) unless the run feeds another value, which must fit
    `shape` (a list with None for unknown dimensions, or None for any shape).

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     training = tf.placeholder_with_default(False, shape=[])
    ...     with tf.Session() as sess:
    ...         print(sess.run(training), sess.run(training, {training: True}))
    False True
    """
    from graph.ops import PlaceholderWithDefault

    value = input if isinstance(input, Tensor) else constant(input)
    if shape is not None:
        shape = _placeholder_shape(shape)
        if not TensorShape(shape).is_compatible_with(value.shape):
            raise GraphError(f"placeholder_with_default: the default value of shape "
                             f"{value.shape} does not fit the shape {TensorShape(shape)}")
    op = value.graph.add_operation(PlaceholderWithDefault(), [value],
                                   name=name or "PlaceholderWithDefault", attrs={"shape": shape})
    return op.outputs[0]


def convert_to_tensor(value, dtype=None, name=None) -> Tensor:
    """`value` as a Tensor: a Tensor as it is (of `dtype`, if given), anything else a constant.

    >>> convert_to_tensor([1.0, 2.0]).dtype
    dtype('float32')
    """
    if isinstance(value, Tensor):
        if dtype is not None and value.dtype != dtypes.as_dtype(dtype):
            raise GraphError(f"Tensor conversion requested dtype {dtypes.as_dtype(dtype)} for "
                             f"Tensor with dtype {value.dtype}: {value.name!r}")
        return value
    return constant(value, dtype=dtype, name=name or "Const")


def _placeholder_shape(shape) -> tuple | None:
    """A placeholder's shape as a tuple of ints and Nones (None where the rank is unknown)."""
    if isinstance(shape, TensorShape):
        return None if shape.ndims is None else tuple(shape)
    if isinstance(shape, np.ndarray) and shape.ndim == 1:
        shape = shape.tolist()
    if _is_dimension(shape):
        shape = (shape,)
    if not isinstance(shape, (list, tuple)) or not all(
            d is None or _is_dimension(d) for d in shape):
        raise GraphError(f"placeholder: shape must be None (any shape) or a list or tuple of "
                         f"dimensions, each an int or None, got {shape!r}")
    shape = tuple(None if d is None else int(d) for d in shape)
    if any(d is not None and d < 0 for d in shape):
        raise GraphError(f"placeholder shape {shape} has a negative dimension; use None for a "
                         "dimension known only at run time")
    return shape


def _is_dimension(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def site_of(op: Operation) -> str:
    """'file.py:12 in fn: source line' where the user created `op`."""
    return _site_text(op.site)
