"""Session: runs the part of a graph that the fetches need, node by node on the kernels.

This is the reference executor, kept simple on purpose: the graph compiler is tested against
it. A run is all-or-nothing: assign ops stage their values in the run's own overlay, and the
session commits them only when every fetched value was computed; a failure leaves every
variable as it was. Runs from several threads are safe: a run reads committed values (never
changed in place, only replaced) and commits under a lock.
"""

from __future__ import annotations

import threading

import numpy as np

from framework import dtypes
from framework.device import cpu
from framework.errors import DualgraphError
from framework.ops.autodiff import toposort
from graph.core import GraphError, Operation, Tensor, get_default_graph, site_of

ASSIGN_TYPES = frozenset({"Assign", "AssignAdd", "AssignSub"})
_default_sessions: list = []
EXECUTORS: dict = {}  # op type -> fn(run, op, input_values) -> output values (control flow)


def get_default_session():
    if not _default_sessions:
        raise GraphError("no default session: use `with graph.Session() as sess:` or pass "
                         "session=")
    return _default_sessions[-1]


class Run:
    """The state of one `Session.run`: computed values, feeds and staged variable values."""

    def __init__(self, session, feeds):
        self.session = session
        self.feeds = feeds
        self.values: dict[Tensor, np.ndarray] = dict(feeds)
        self.staged: dict[Operation, np.ndarray] = {}

    def variable_value(self, op: Operation) -> np.ndarray:
        if op in self.staged:
            return self.staged[op]
        try:
            return self.session._variables[op]
        except KeyError:
            raise GraphError(
                f"attempting to use uninitialized variable {op.name!r} (created at "
                f"{site_of(op)}); run graph.global_variables_initializer() first") from None

    def execute(self, ops) -> None:
        """Run `ops` (in order) unless all their outputs are already known."""
        values = self.values
        for op in ops:
            if op.outputs and all(t in values for t in op.outputs):
                continue
            # An assign's target is a reference to the variable, not a value to read first.
            inputs = [None if i == 0 and op.type in ASSIGN_TYPES else values[t]
                      for i, t in enumerate(op.inputs)]
            try:
                results = self._run_op(op, inputs)
            except DualgraphError as error:
                raise type(error)(f"{error.problem}\n  while running {op.name!r} created at "
                                  f"{site_of(op)}", error.site) from None
            for tensor, value in zip(op.outputs, results):
                values[tensor] = value

    def _run_op(self, op: Operation, inputs):
        primitive = op.primitive
        if primitive is not None:
            primitive.infer(*inputs)  # shapes unknown at build time are checked now
            result = primitive.kernel(cpu)(*inputs)
            return result if isinstance(result, tuple) else (result,)
        kind = op.type
        if kind == "Const":
            return (op.attrs["value"],)
        if kind == "Placeholder":
            raise GraphError(f"you must feed a value for placeholder {op.name!r} "
                             f"(dtype {op.outputs[0].dtype}, shape {op.outputs[0].shape}), "
                             f"created at {site_of(op)}")
        if kind == "VariableV2":
            return (self.variable_value(op),)
        if kind in ASSIGN_TYPES:
            variable, value = op.inputs[0].op, inputs[1]
            if kind != "Assign":
                current = self.variable_value(variable)
                value = current + value if kind == "AssignAdd" else current - value
            value = np.array(value, dtype=op.outputs[0].dtype)  # a fresh buffer, never shared
            expected = variable.outputs[0].shape
            if value.shape != expected:
                raise GraphError(f"{kind} to {variable.name!r}: value of shape {value.shape} "
                                 f"for a variable of shape {expected}")
            self.staged[variable] = value
            return (value,)
        if kind in ("NoOp",):
            return ()
        if kind in ("Identity", "StopGradient"):
            return (inputs[0],)
        executor = EXECUTORS.get(kind)
        if executor is None:
            raise GraphError(f"the session cannot run op type {kind!r} ({op.name!r})")
        return executor(self, op, inputs)


class Session:
    """Runs graphs: `with Session() as sess: sess.run(fetches, feed_dict)`.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     x = tf.placeholder(tf.float32, (None,))
    ...     y = tf.reduce_sum(x * x)
    ...     with tf.Session() as sess:
    ...         print(sess.run(y, {x: [1.0, 2.0]}))
    5.0
    """

    def __init__(self, graph=None):
        self.graph = graph or get_default_graph()
        self._variables: dict[Operation, np.ndarray] = {}
        self._commit_lock = threading.Lock()
        self._plans: dict = {}
        self._closed = False

    def __enter__(self):
        _default_sessions.append(self)
        return self

    def __exit__(self, *exc):
        _default_sessions.remove(self)
        self.close()
        return False

    def as_default(self):
        return self

    def close(self) -> None:
        self._closed = True

    # -- run ------------------------------------------------------------------------------------

    def run(self, fetches, feed_dict=None):
        """Compute `fetches` (a Tensor, an Operation, a name, or nested lists/tuples/dicts of
        them) given `feed_dict`; results come back in the same structure."""
        if self._closed:
            raise GraphError("attempted to use a closed Session")
        flat: list = []
        structure = self._flatten(fetches, flat)
        feeds = self._validate_feeds(feed_dict or {})
        plan = self._plan(flat, feeds)
        run = Run(self, feeds)
        run.execute(plan)
        with self._commit_lock:
            self._variables.update(run.staged)
        results = [run.values[f] if isinstance(f, Tensor) else None for f in flat]
        return self._unflatten(structure, iter(results))

    def _flatten(self, fetches, flat):
        if isinstance(fetches, (list, tuple)):
            return type(fetches), [self._flatten(f, flat) for f in fetches]
        if isinstance(fetches, dict):
            return dict, {k: self._flatten(v, flat) for k, v in fetches.items()}
        element = self.graph.as_graph_element(fetches)
        flat.append(element)
        return None

    def _unflatten(self, structure, results):
        if structure is None:
            return next(results)
        kind, items = structure
        if kind is dict:
            return {k: self._unflatten(v, results) for k, v in items.items()}
        values = [self._unflatten(item, results) for item in items]
        return values if kind is list else kind(values) if kind is tuple else kind(*values)

    def _validate_feeds(self, feed_dict) -> dict:
        feeds = {}
        for key, value in feed_dict.items():
            tensor = self.graph.as_graph_element(key)
            if not isinstance(tensor, Tensor):
                raise GraphError(f"feed_dict key {key!r} is an operation; feed a tensor")
            if tensor in feeds:
                raise GraphError(f"{tensor.name!r} is fed twice")
            array = np.asarray(value.eval() if isinstance(value, Tensor) else value)
            if array.dtype != tensor.dtype:
                if not np.can_cast(array.dtype, tensor.dtype, "same_kind") and not (
                        array.dtype.kind in "iub" and tensor.dtype.kind in "iuf"):
                    raise GraphError(f"cannot feed a value of dtype {array.dtype} to "
                                     f"{tensor.name!r} of dtype {tensor.dtype}")
                array = array.astype(tensor.dtype)
            if array.dtype not in dtypes.ALL:
                raise GraphError(f"unsupported feed dtype {array.dtype} for {tensor.name!r}")
            expected = tensor.shape
            if array.ndim != len(expected) or any(
                    d is not None and d != a for d, a in zip(expected, array.shape)):
                raise GraphError(f"cannot feed value of shape {array.shape} for tensor "
                                 f"{tensor.name!r}, which has shape {expected} (created at "
                                 f"{site_of(tensor.op)})")
            feeds[tensor] = array
        return feeds

    def _plan(self, fetches, feeds) -> list:
        """The ops to run, in order; cached per (fetches, fed tensors)."""
        key = (tuple(id(f) for f in fetches), frozenset(id(t) for t in feeds))
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._needed_ops(fetches, feeds)
        return plan

    def _needed_ops(self, fetches, feeds) -> list:
        fed = set(feeds)

        def parents(op):
            deps = [t.op for i, t in enumerate(op.inputs)
                    if t not in fed and not (i == 0 and op.type in ASSIGN_TYPES)]
            deps += list(op.control_inputs)
            deps += list(op.attrs.get("captured_ops", ()))
            return deps

        roots = [f.op if isinstance(f, Tensor) else f for f in fetches
                 if not (isinstance(f, Tensor) and f in fed)]
        order = toposort(roots, parents)
        return [op for op in order if not all(t in fed for t in op.outputs) or not op.outputs]

    # -- variables ------------------------------------------------------------------------------

    def set_variable(self, variable, value) -> None:
        array = np.array(value, dtype=variable.dtype)
        if array.shape != variable.shape:
            raise GraphError(f"value of shape {array.shape} for variable {variable.op.name!r} "
                             f"of shape {variable.shape}")
        with self._commit_lock:
            self._variables[variable.op] = array

    def variable_values(self) -> dict:
        """Name -> current value of every initialized variable (a snapshot)."""
        with self._commit_lock:
            return {op.name: value for op, value in self._variables.items()}


class InteractiveSession(Session):
    """A Session that makes itself the default on creation (for notebooks)."""

    def __init__(self, graph=None):
        super().__init__(graph)
        _default_sessions.append(self)

    def close(self) -> None:
        if self in _default_sessions:
            _default_sessions.remove(self)
        super().close()
