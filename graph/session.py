"""Session: runs the part of a graph that the fetches need, node by node on the kernels.

This is the reference executor, kept simple on purpose: the graph compiler is tested against
it.

All or nothing. Assign ops stage their values in the run's own overlay (`Run.staged`); the
session commits them only when every fetched value was computed, so a failing run leaves every
variable as it was.

Threads. Committed values are never changed in place: a commit replaces the session's whole
variable table (copy on write), and a run reads from the table as it was when the run started,
so a run that only reads sees one consistent snapshot and never waits. A run whose ops include
an assign (Assign, AssignAdd, AssignSub, also inside a cond branch or a loop body) takes the
session's update lock before it reads anything and keeps it until it commits or fails, reading
the latest committed values. Such a run is one atomic read-modify-write of everything it
touches: a training step reads the weights, its slots, Adam's beta powers and the global step,
and commits all of them, with no other update in between. So 8 threads x N training steps give
exactly what 8N sequential steps give (when every step sees the same data), and 8 threads x N
`v.assign(v + 1)` give exactly 8N. Runs that only read never take the lock and run while an
update is in progress, seeing the commit before it.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import itertools
import threading
import time
import warnings

import numpy as np
from numba.core.runtime._nrt_python import _MemInfo

from framework import dtypes
from framework.device import to_device, to_host
from framework.errors import DualgraphError
from framework.ops.autodiff import toposort
from framework.ops.random import seed_key
from graph.core import (
    GraphError,
    Operation,
    Tensor,
    _thread_defaults,
    as_array,
    cast_checked,
    get_default_graph,
    site_of,
)


@dataclasses.dataclass
class OpStat:
    """One execution of one op in a traced run: its name, type, start and duration (seconds).

    `seconds` of a Cond or While includes the ops it ran inside.
    """

    name: str
    type: str
    start: float
    seconds: float = 0.0


class RunOptions:
    """Options of one `Session.run` (TensorFlow 1's name): `trace_level` asks for timings.

    With `trace_level=RunOptions.FULL_TRACE` (or SOFTWARE_TRACE) a `RunMetadata` passed to the
    same run also receives `step_stats`, one timed `OpStat` per op execution.
    """

    NO_TRACE, SOFTWARE_TRACE, HARDWARE_TRACE, FULL_TRACE = 0, 1, 2, 3

    def __init__(self, trace_level: int = NO_TRACE):
        if trace_level not in (0, 1, 2, 3):
            raise GraphError(f"RunOptions: trace_level must be one of RunOptions.NO_TRACE, "
                             f"SOFTWARE_TRACE, HARDWARE_TRACE, FULL_TRACE; got {trace_level!r}")
        self.trace_level = trace_level

    def __repr__(self) -> str:
        return f"RunOptions(trace_level={self.trace_level})"


class RunMetadata:
    """What one `Session.run` executed; pass it as `run_metadata=` (TensorFlow 1's name).

    After the run it holds `executed_ops` (op names in the order they started; an op inside a
    cond branch or a while body appears once per execution) and `op_counts` (name -> number of
    executions). With `options=RunOptions(trace_level=RunOptions.FULL_TRACE)` it also holds
    `step_stats`: one `OpStat` per execution, with its duration. Each run that is given the
    object replaces what it held.

    >>> import graph as tf
    >>> from graph.session import RunMetadata
    >>> with tf.Graph().as_default():
    ...     x = tf.placeholder(tf.float32, (), name="x")
    ...     y = tf.cond(x > 0.0, lambda: x * 2.0, lambda: -x)
    ...     metadata = RunMetadata()
    ...     with tf.Session() as sess:
    ...         _ = sess.run(y, {x: 3.0}, run_metadata=metadata)
    >>> metadata.executed_ops
    ['Const', 'gt', 'cond/Cond', 'cond/Const', 'cond/mul']
    """

    def __init__(self):
        self.executed_ops: list[str] = []
        self.op_counts: dict[str, int] = {}
        self.step_stats: list[OpStat] = []

    def clear(self) -> None:
        self.executed_ops = []
        self.op_counts = {}
        self.step_stats = []

    def __repr__(self) -> str:
        return (f"<RunMetadata: {len(self.executed_ops)} executions of {len(self.op_counts)} "
                "ops>")


def get_default_session():
    """The innermost session entered with `with` (or `as_default()`) in this thread, else None.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     with tf.Session() as sess:
    ...         tf.get_default_session() is sess
    True
    """
    stack = _thread_defaults.sessions
    return stack[-1] if stack else None


def session_for(element, session, what: str):
    """`session`, or the default one, checked to run `element`'s graph (for eval / run)."""
    if session is None:
        session = get_default_session()
        if session is None:
            raise GraphError(f"cannot evaluate {element.name!r} with {what}: no default "
                             "session is registered. Use `with graph.Session() as sess:` (or "
                             "`with sess.as_default():`), or pass session=sess")
    if session.graph is not element.graph:
        raise GraphError(f"cannot use this session to evaluate {element.name!r}: the tensor's "
                         "graph is not the session's graph")
    return session


class Run:
    """The state of one `Session.run`: computed values, feeds and staged variable values.

    Every op runs through its kind's `run(run, op, inputs)` (`graph.ops`); control flow gets the
    Run and may call `execute` on more ops. Any assign they run stages here and commits with
    the rest of the run.
    """

    def __init__(self, session, feeds, index: int = 0, metadata: RunMetadata | None = None,
                 timed: bool = False, placement=None):
        self.session = session
        self.index = index  # the n-th run of this session: random ops draw anew in each run
        self.feeds = feeds
        self.values: dict[Tensor, np.ndarray] = dict(feeds)
        self.staged: dict[Operation, np.ndarray] = {}
        self.committed: dict[Operation, np.ndarray] = session._variables  # this run's snapshot
        self.holds_update_lock = False
        # Arrays that belong to the graph or the session (constants, variable values): a fetch
        # that returns one of them returns a copy, so the caller cannot change them in place.
        self.shared_ids: set[int] = {id(value) for value in feeds.values()}
        self.metadata = metadata
        if metadata is not None:
            # Chosen once per run, so `execute` pays nothing when no metadata is asked for.
            self._run_op = self._run_op_timed if timed else self._run_op_counted
        if placement is not None:  # a plan with ops on a GPU (graph.placement)
            self.placement = placement
            self.copies: dict = {}  # (id(value), device) -> (value, its copy there)
            self.execute = self._execute_placed

    def reseeded(self, primitive):
        """A random op with its build-time seed combined with this run's index, so each run
        draws a new dropout mask (as in TensorFlow) while a dropout and its gradient, which
        share one seed, still agree within the run. The sequence depends only on the seeds
        and the number of runs, so a program re-run gives the same numbers."""
        seed = primitive.seed if self.index == 0 else int(
            seed_key(np.uint64(primitive.seed) ^ np.uint64(self.index)))
        return dataclasses.replace(primitive, seed=seed)

    def variable_value(self, op: Operation) -> np.ndarray:
        if op in self.staged:
            return self.staged[op]
        try:
            value = self.committed[op]
        except KeyError:
            raise GraphError(
                f"attempting to use uninitialized variable {op.name!r} (created at "
                f"{site_of(op)}); run graph.global_variables_initializer() first") from None
        self.shared_ids.add(id(value))
        return value

    def value_of(self, tensor: Tensor):
        """The value an op consuming `tensor` sees now.

        A variable is read when its consumer runs (TensorFlow 1's reference semantics), so an
        op created under `control_dependencies([update])` sees the updated value. Executors
        should read their inputs through here too.
        """
        if tensor.op.kind.is_variable and tensor not in self.feeds:
            return self.variable_value(tensor.op)
        return self.values[tensor]

    def lock_for_update(self) -> None:
        """Hold the session's update lock until the run ends, and see the latest commits.

        `Session.run` calls it before a run that may assign executes anything."""
        if not self.holds_update_lock:
            self.session._update_lock.acquire()
            self.holds_update_lock = True
            self.committed = self.session._variables

    def release(self) -> None:
        if self.holds_update_lock:
            self.holds_update_lock = False
            self.session._update_lock.release()

    def execute(self, ops) -> None:
        """Run `ops` (in order) unless all their outputs are already known."""
        values = self.values
        feeds = self.feeds
        for op in ops:
            if op.outputs and all(t in values for t in op.outputs):
                continue
            # An assign's target is a reference to the variable, not a value to read first.
            assigns = op.kind.assigns
            inputs = [None if i == 0 and assigns else self.value_of(t)
                      for i, t in enumerate(op.inputs)]
            try:
                results = self._run_op(op, inputs)
            except Exception as error:
                _raise_naming(op, error)
            for tensor, value in zip(op.outputs, results):
                if tensor not in feeds:  # a fed output keeps the fed value
                    values[tensor] = value

    def _execute_placed(self, ops) -> None:
        """`execute` for a plan with ops on a GPU: each op runs on its device
        (graph.placement), its inputs copied there first where they live elsewhere."""
        from graph.placement import run_on

        if self.metadata is not None:  # counted (and timed) as `_run_op` counts them
            run_on = self._run_on_noted
        values = self.values
        feeds = self.feeds
        placement = self.placement
        moved = placement.moved
        for op in ops:
            if op.outputs and all(t in values for t in op.outputs):
                continue
            device = placement.device_for(op)
            assigns = op.kind.assigns
            try:
                inputs = [None if i == 0 and assigns else
                          moved(self, t, self.value_of(t), device)
                          for i, t in enumerate(op.inputs)]
                results = run_on(self, op, device, inputs)
            except Exception as error:
                _raise_naming(op, error)
            for tensor, value in zip(op.outputs, results):
                if tensor not in feeds:
                    values[tensor] = value

    def _run_op(self, op: Operation, inputs):
        return op.kind.run(self, op, inputs)  # one lookup for every op (graph.ops)

    def _run_on_noted(self, run, op: Operation, device, inputs):
        """`graph.placement.run_on`, noted in the run's metadata as `_run_op` notes an op
        (counted, and timed when the run is traced)."""
        from graph.placement import run_on

        metadata = self.metadata
        metadata.executed_ops.append(op.name)
        metadata.op_counts[op.name] = metadata.op_counts.get(op.name, 0) + 1
        if self._run_op != self._run_op_timed:
            return run_on(run, op, device, inputs)
        stat = OpStat(op.name, op.type, time.perf_counter())
        metadata.step_stats.append(stat)
        try:
            return run_on(run, op, device, inputs)
        finally:
            stat.seconds = time.perf_counter() - stat.start

    def _run_op_counted(self, op: Operation, inputs):
        """`_run_op`, noting the execution in the run's metadata (counted when it starts)."""
        metadata = self.metadata
        metadata.executed_ops.append(op.name)
        metadata.op_counts[op.name] = metadata.op_counts.get(op.name, 0) + 1
        return Run._run_op(self, op, inputs)

    def _run_op_timed(self, op: Operation, inputs):
        """`_run_op_counted`, also timing the execution into `metadata.step_stats`."""
        stat = OpStat(op.name, op.type, time.perf_counter())
        self.metadata.step_stats.append(stat)
        try:
            return self._run_op_counted(op, inputs)
        finally:
            stat.seconds = time.perf_counter() - stat.start

    def stage(self, variable: Operation, value: np.ndarray) -> np.ndarray:
        """Stage `value` (a fresh buffer, never shared) as `variable`'s value, committed when
        the whole run succeeds (see the assign ops in `graph.ops`)."""
        self.staged[variable] = value
        self.shared_ids.add(id(value))
        if type(value.base) is _MemInfo:  # made in numba: every array numba returns of
            self.shared_ids.add(("numba", value.base.data))  # this buffer starts here
        return value


def _raise_naming(op: Operation, error: Exception):
    """Re-raise `error`, raised while running `op`, naming the op and the user's line."""
    if isinstance(error, DualgraphError):
        if op.kind.names_itself:
            raise error
        wrapped = type(error)(f"{error.problem}\n  while running {op.name!r} created "
                              f"at {site_of(op)}", error.site)
        for key, value in vars(error).items():  # what else the error carries
            vars(wrapped).setdefault(key, value)
        raise wrapped from None
    if hasattr(error, "add_note"):  # Python 3.11+: the traceback names the node
        error.add_note(f"while running {op.name!r} created at {site_of(op)}")
    raise error


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

    # A plan is compiled the second time it runs: a one-off run (an initializer, an eval)
    # costs less interpreted than compiled. That first compile makes a step that calls each
    # kernel from Python (milliseconds to build). A plan that keeps running (a training loop)
    # is compiled again, into numba functions (graph.compile.nopython), after at least
    # WHOLE_STEP_AFTER_RUNS runs of that step and once those runs have taken as long as numba
    # would take to compile them from nothing (`Compiled.numba_estimate`, about 0.05 s a
    # statement): as a tiered JIT does, a step never waits for a compile longer than it has
    # already run, so a short training run (a tutorial's CNN: 25 s to compile) is not held up
    # by a compile it would never pay back. `Session.compile` makes the numba step at once.
    COMPILE_AFTER_RUNS = 2
    WHOLE_STEP_AFTER_RUNS = 50

    def __init__(self, graph=None, *, compile=True, config=None):  # noqa: A002
        from graph.placement import ConfigProto

        if config is not None and not isinstance(config, ConfigProto):
            raise GraphError(f"Session: config must be a tf.ConfigProto or None, got "
                             f"{type(config).__name__} {config!r}")
        self.graph = get_default_graph() if graph is None else graph
        # Placement (graph.placement): soft placement, logging; `tf.device` scopes say where.
        self.config = config or ConfigProto()
        self._constant_copies: dict = {}  # (id(constant), device) -> (constant, its copy)
        self._variables: dict[Operation, np.ndarray] = {}  # replaced on commit, never mutated
        self._update_lock = threading.RLock()
        self._plans: dict = {}
        self._closed = False
        self._run_counter = itertools.count()
        # compile=False keeps every run on the interpreter, the reference the compiler is
        # tested against.
        self.compiles = bool(compile)
        self._steps: dict = {}  # run key -> Compiled, None (not compilable) or a run count
        self._compile_lock = threading.Lock()

    def __enter__(self):
        _thread_defaults.sessions.append(self)
        return self

    def __exit__(self, *exc):
        _remove_default(self)
        self.close()
        return False

    @contextlib.contextmanager
    def as_default(self):
        """Make this the default session inside the block, without closing it at the end.

        >>> import graph as tf
        >>> with tf.Graph().as_default():
        ...     c = tf.constant(2.0)
        ...     sess = tf.Session()
        ...     with sess.as_default():
        ...         print(c.eval())
        2.0
        """
        _thread_defaults.sessions.append(self)
        try:
            yield self
        finally:
            _remove_default(self)

    def close(self) -> None:
        self._closed = True

    # -- run ------------------------------------------------------------------------------------

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        """Compute `fetches` given `feed_dict`; results come back in the same structure.

        A fetch is a Tensor (its value), an Operation (None), a name ('x:0' or 'train_op'), or
        a list, tuple, namedtuple or dict of fetches. Only the ops the fetches need run. Feed
        keys are Tensors or tensor names: placeholders, or any other tensor to override its
        computation. A `RunMetadata` given as `run_metadata` receives the ops this run executed
        (`executed_ops`, `op_counts`); with `options=RunOptions(trace_level=FULL_TRACE)` it also
        receives per-op timings (`step_stats`).

        >>> import graph as tf
        >>> with tf.Graph().as_default():
        ...     x = tf.placeholder(tf.float32, (2,), name="x")
        ...     with tf.Session() as sess:
        ...         print(sess.run({"double": x * 2.0, "x": "x:0"}, {x: [1.0, 2.0]}))
        {'double': array([2., 4.], dtype=float32), 'x': array([1., 2.], dtype=float32)}
        """
        if self._closed:
            raise GraphError("attempted to use a closed Session")
        if options is not None and not isinstance(options, RunOptions):
            raise GraphError(f"Session.run: options must be a RunOptions or None, got "
                             f"{type(options).__name__} {options!r}")
        if run_metadata is not None:
            if not isinstance(run_metadata, RunMetadata):
                raise GraphError(f"Session.run: run_metadata must be a RunMetadata or None, "
                                 f"got {type(run_metadata).__name__} {run_metadata!r}")
            run_metadata.clear()
        flat: list = []
        structure = self._flatten(fetches, flat)
        feeds = self._validate_feeds(feed_dict or {})
        plan, updates, placement = self._plan(flat, feeds)
        timed = options is not None and options.trace_level != RunOptions.NO_TRACE
        # Runs that record metadata are interpreted: it counts and times every op.
        step = (self._compiled_step(plan, flat, feeds, fetches)
                if self.compiles and run_metadata is None else None)
        run = Run(self, feeds, next(self._run_counter), run_metadata, timed, placement)
        try:
            if updates:  # one atomic read-modify-write: lock before the first read
                run.lock_for_update()
            if step is not None:
                self._run_compiled(step, run, plan, flat, feeds)
            else:
                run.execute(plan)
            if run.staged:
                with self._update_lock:
                    committed = dict(self._variables)
                    committed.update(run.staged)
                    self._variables = committed
        finally:
            run.release()
        shared = run.shared_ids
        results = [self._detached(run.values[f], shared) if isinstance(f, Tensor) else None
                   for f in flat]
        return self._unflatten(structure, iter(results))

    def compile(self, fetches, feed_dict=None, whole: bool = True):
        """The compiled step that `run(fetches, feed_dict)` would use (compiling it now):
        `.source()` shows its generated code, `.explain()` what each pass did. With `whole`
        (the default) the step runs in numba functions; `whole=False` makes the step that
        calls each kernel from Python, as the Session's own first compile does (it moves to
        numba functions after WHOLE_STEP_AFTER_RUNS runs)."""
        from graph.compile import compile_run

        flat: list = []
        self._flatten(fetches, flat)
        feeds = self._validate_feeds(feed_dict or {})
        plan, _, _ = self._plan(flat, feeds)
        step = compile_run(self, plan, flat, feeds, fetches, whole=whole)
        self._steps[self._step_key(flat, feeds)] = step
        return step

    @staticmethod
    def _step_key(flat, feeds) -> tuple:
        return (tuple(id(f) for f in flat),
                tuple((id(t), v.dtype.str, v.shape) for t, v in feeds.items()))

    def _compiled_step(self, plan, flat, feeds, fetches):
        """The compiled step for this run, compiled on the plan's second run; None while the
        plan runs interpreted (first runs, and plans that cannot be compiled)."""
        key = self._step_key(flat, feeds)
        step = self._steps.get(key, 0)
        if type(step) is not int:
            if step is None or step.whole:
                return step
            step.runs += 1
            if step.runs < self.WHOLE_STEP_AFTER_RUNS or step.python_seconds < step.numba_estimate:
                return step
            from graph.compile import NotCompilable, compile_run

            with self._compile_lock:
                if self._steps.get(key) is step:
                    try:
                        self._steps[key] = compile_run(self, plan, flat, feeds, fetches)
                    except NotCompilable:
                        step.whole = True  # keep the Python step; do not try again
            return self._steps[key]
        if step + 1 < self.COMPILE_AFTER_RUNS:
            self._steps[key] = step + 1
            return None
        from graph.compile import NotCompilable, compile_run

        with self._compile_lock:
            step = self._steps.get(key, 0)
            if type(step) is int:
                try:
                    step = compile_run(self, plan, flat, feeds, fetches, whole=False)
                except NotCompilable:
                    step = None  # the interpreter runs it, and names any error
                self._steps[key] = step
        return step

    @staticmethod
    def _run_compiled(step, run, plan, flat, feeds) -> None:
        """Run the compiled step into `run.values`. If it fails, the run starts over on the
        interpreter, which raises the same error with the interpreter's message (naming the
        op and its line); nothing was committed, and staged values are dropped."""
        started = time.perf_counter()
        try:
            results = step.function(run, tuple(feeds.values()))
        except Exception as error:
            run.values = dict(feeds)
            run.staged = {}
            run.execute(plan)  # raises, as the interpreter would
            warnings.warn(f"the compiled step failed ({type(error).__name__}: {error}) where "
                          "the interpreter did not; the interpreter's result is used. Please "
                          "report this.", RuntimeWarning, stacklevel=3)
            return
        if not step.whole:  # what the Python step has cost so far (see WHOLE_STEP_AFTER_RUNS)
            step.python_seconds += time.perf_counter() - started
        values = run.values
        for fetch, value in zip(flat, results):
            if value is not None:
                values[fetch] = value

    @staticmethod
    def _detached(value, shared_ids):
        """`value`, copied if it is (a view of) an array the graph or session owns; a 0-d
        result comes back as a NumPy scalar, as TensorFlow 1 returns it. An array the compiled
        step's numba functions allocated (numba's memory record with no NumPy parent) is the
        run's own, as a kernel's output is: returned as it is, unless it was staged as a
        variable's value (`stage` notes its buffer: each array numba returns of one buffer is
        another Python object). A value on a GPU comes back as a NumPy array (a copy)."""
        if isinstance(value, np.ndarray):
            if value.ndim == 0:
                return value[()]
            base = value.base
            if id(value) in shared_ids or base is not None and (
                    type(base) is not _MemInfo or base.parent is not None
                    or ("numba", base.data) in shared_ids):
                return value.copy()
        elif getattr(value, "__cuda_ndarray__", False):
            value = to_host(value)
            return value[()] if value.ndim == 0 else value
        return value

    def _flatten(self, fetches, flat):
        if isinstance(fetches, (list, tuple)):
            return fetches, [self._flatten(f, flat) for f in fetches]
        if isinstance(fetches, dict):
            return fetches, {k: self._flatten(v, flat) for k, v in fetches.items()}
        element = self.graph.as_graph_element(fetches)
        made_by = element.op if isinstance(element, Tensor) else element
        if made_by.context is not None:
            made_by.context.refuse_outside_use(element)  # no user: fetched by Session.run
        flat.append(element)
        return None

    def _unflatten(self, structure, results):
        """Rebuild the fetch structure around the results: same container types."""
        if structure is None:
            return next(results)
        original, items = structure
        kind = type(original)
        if isinstance(original, dict):
            pairs = [(k, self._unflatten(v, results)) for k, v in items.items()]
            if kind is dict:
                return dict(pairs)
            if isinstance(original, collections.defaultdict):
                return kind(original.default_factory, pairs)
            return kind(pairs)
        values = [self._unflatten(item, results) for item in items]
        if kind is list:
            return values
        if kind is tuple:
            return tuple(values)
        if hasattr(kind, "_fields"):  # a namedtuple takes its fields as arguments
            return kind(*values)
        return kind(values)

    def _feed_target(self, key) -> Tensor:
        if isinstance(key, Operation):
            raise GraphError(f"feed_dict key {key.name!r} is an operation; feed a tensor, e.g. "
                             f"'{key.name}:0'")
        if not isinstance(key, (Tensor, str)):
            raise GraphError(f"feed_dict keys must be Tensors or tensor names, got {key!r}")
        if isinstance(key, Tensor) and key.graph is not self.graph:
            raise GraphError(f"cannot feed {key.name!r} (created at {site_of(key.op)}): it "
                             "belongs to another graph than this session's")
        tensor = self.graph.as_graph_element(key)
        if not isinstance(tensor, Tensor):
            raise GraphError(f"feed_dict key {key!r} names an operation; feed a tensor, e.g. "
                             f"'{key}:0'")
        return tensor

    def _validate_feeds(self, feed_dict) -> dict:
        feeds = {}
        keys = {}
        for key, value in feed_dict.items():
            tensor = self._feed_target(key)
            if tensor in feeds:
                raise GraphError(f"{tensor.name!r} is fed twice (as {keys[tensor]!r} and as "
                                 f"{key!r})")
            keys[tensor] = key
            feeds[tensor] = _feed_value(tensor, value)
        return feeds

    def _plan(self, fetches, feeds) -> tuple:
        """(the ops to run, in order; whether any of them may assign a variable; their
        Placement, None when none is on a GPU), cached per (fetches, fed tensors). A placement
        that cannot run raises here, before anything runs."""
        key = (tuple(id(f) for f in fetches), frozenset(id(t) for t in feeds))
        plan = self._plans.get(key)
        if plan is None:
            from graph.placement import plan_placement

            ops = self._needed_ops(fetches, feeds)
            placement = plan_placement(ops, self.config)
            plan = self._plans[key] = (ops, _may_assign(ops), placement)
        return plan

    def _needed_ops(self, fetches, feeds) -> list:
        fed = set(feeds)

        def parents(op):
            deps = [t.op for i, t in enumerate(op.inputs)
                    if t not in fed and not (i == 0 and op.kind.assigns)]
            deps += list(op.control_inputs)
            deps += list(op.attrs.get("captured_ops", ()))
            return deps

        roots = [f.op if isinstance(f, Tensor) else f for f in fetches
                 if not (isinstance(f, Tensor) and f in fed)]
        order = toposort(roots, parents)
        return [op for op in order if not all(t in fed for t in op.outputs) or not op.outputs]

    # -- variables ------------------------------------------------------------------------------

    def set_variable(self, variable, value) -> None:
        """Set `variable` to `value` directly (Variable.load); the feed rules apply."""
        array = np.array(_feed_value(variable, value, what="load"))
        if array.shape != variable.shape:
            raise GraphError(f"value of shape {array.shape} for variable {variable.op.name!r} "
                             f"of shape {variable.shape}")
        if variable.op.device:  # a variable placed on a GPU is resident there
            from graph.placement import plan_placement

            placement = plan_placement([variable.op], self.config)
            if placement is not None:
                array = to_device(array, placement.device_for(variable.op))
        with self._update_lock:
            committed = dict(self._variables)
            committed[variable.op] = array
            self._variables = committed

    def variable_values(self) -> dict:
        """Name -> current value of every initialized variable (a snapshot: copies)."""
        return {op.name: to_host(value).copy() for op, value in self._variables.items()}


def _may_assign(ops) -> bool:
    """Whether running `ops` may assign a variable: one of them is an assign, or a cond, loop or
    loop gradient among them holds one in the subgraphs it runs."""
    return any(op.kind.may_assign(op) for op in ops)


def _feed_value(tensor: Tensor, value, what: str = "feed") -> np.ndarray:
    """`value` as an array of `tensor`'s dtype, or a clear error naming the tensor.

    Conversions follow TensorFlow: ints and bools may feed a float tensor, a wider int a
    narrower one; a float never silently becomes an int. A value the conversion would change
    (an int outside an int32 tensor's range, a float beyond float32's) is refused, as is a
    ragged nested list.
    """
    if isinstance(value, (Tensor, Operation)):
        raise GraphError(f"the value to {what} for {tensor.name!r} is the symbolic "
                         f"{value.name!r}; feed data (a NumPy array, a list or a number), "
                         "e.g. the result of sess.run")

    def where(problem):  # only worked out for an error: feeds are on every step's path
        return (f"cannot {what} {tensor.name!r} of dtype {tensor.dtype}: {problem} "
                f"({tensor.name!r} created at {site_of(tensor.op)})")

    array = value if type(value) is np.ndarray else as_array(value, where, tensor.dtype)
    if array.dtype != tensor.dtype:
        if not castable(array.dtype, tensor.dtype):
            raise GraphError(f"cannot {what} a value of dtype {array.dtype} for "
                             f"{tensor.name!r} of dtype {tensor.dtype} (created at "
                             f"{site_of(tensor.op)})")
        array = cast_checked(array, tensor.dtype, where)
    if array.dtype not in dtypes.ALL:
        raise GraphError(f"unsupported {what} dtype {array.dtype} for {tensor.name!r}")
    expected = tensor.shape
    if expected.ndims is not None and (array.ndim != len(expected) or any(
            d is not None and d != a for d, a in zip(expected, array.shape))):
        raise GraphError(f"cannot {what} value of shape {array.shape} for tensor "
                         f"{tensor.name!r}, which has shape {expected} (created at "
                         f"{site_of(tensor.op)})")
    return array


def castable(source, target) -> bool:
    """Whether data of dtype `source` may feed (or be assigned to) dtype `target`.

    As in TensorFlow: ints and bools may become floats, ints may change width, but a float
    never silently becomes an int or a bool.

    >>> castable(np.dtype("int64"), np.dtype("float32")), castable(np.dtype("float64"),
    ...                                                              np.dtype("int32"))
    (True, False)
    """
    source, target = np.dtype(source), np.dtype(target)
    if source == target:
        return True
    return source.kind in "biuf" and (
        np.can_cast(source, target, "same_kind")
        or (source.kind in "iub" and target.kind in "iuf"))


def _remove_default(session) -> None:
    stack = _thread_defaults.sessions
    for i in range(len(stack) - 1, -1, -1):
        if stack[i] is session:
            del stack[i]
            return


class InteractiveSession(Session):
    """A Session that makes itself the default on creation (for notebooks)."""

    def __init__(self, graph=None, *, compile=True, config=None):  # noqa: A002
        super().__init__(graph, compile=compile, config=config)
        _thread_defaults.sessions.append(self)

    def close(self) -> None:
        _remove_default(self)
        super().close()
