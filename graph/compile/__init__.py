"""The graph compiler: what a Session runs once a plan has been seen (`Session(compile=True)`,
the default).

A run's plan (the ops its fetches need) and its feeds' dtypes and static shapes become a
`Program` (graph.compile.program): the shape rules run once, here, on concrete shapes. The
passes of `PIPELINE` (graph.compile.passes: dead code, algebraic simplification, numerical
stabilization, constant folding, common subexpressions, variable updates, elementwise fusion
into generated kernels (graph.compile.fusion), the memory plan) rewrite it without changing a
bit of what it computes (but numerical stabilization, which computes the stable form of what
was written), and code generation (graph.compile.codegen) turns it into one Python function
that calls each kernel directly, or, with `whole`, runs of lowerable nodes into numba
functions (graph.compile.nopython).
The interpreter (`Session(compile=False)`) stays as the reference the compiler is tested
against.

>>> import graph as tf
>>> with tf.Graph().as_default():
...     x = tf.placeholder(tf.float32, (None, 2), name="x")
...     y = tf.reduce_sum(x * 1.0 + x * 1.0, name="total")
...     with tf.Session() as sess:
...         compiled = sess.compile(y, {x: [[1.0, 2.0]]})
...         print(compiled.run({x: [[1.0, 2.0]]}))
6.0
>>> print(compiled.explain())  # doctest: +ELLIPSIS
compiled step: 3 nodes, ... ms to compile
  dead code                     7 -> 7    nodes  nodes removed 0  (... ms)
  algebraic simplification      7 -> 5    nodes  rewrites 2  (... ms)
  numerical stabilization       5 -> 5    nodes  log_softmax made 0, log1p made 0, ...
  constant folding              5 -> 5    nodes  nodes folded 0  (... ms)
  common subexpressions         5 -> 4    nodes  nodes merged 1  (... ms)
  dead code                     4 -> 3    nodes  nodes removed 1  (... ms)
  variable updates              3 -> 3    nodes  updates rewritten 0  (... ms)
  elementwise fusion            3 -> 3    nodes  groups fused 0, ops in them 0  (... ms)
  memory plan                   3 -> 3    nodes  peak bytes 12, ...
  code generation               3 -> 3    nodes  numba functions 1, nodes called from Python 0 ...
"""

from __future__ import annotations

import sys
import time
import warnings

from framework.errors import _PACKAGE_DIRS
from framework.viz import VizEdge, VizNode, shape_text, site_text, to_digraph
from graph.compile import nopython
from graph.compile.codegen import generate
from graph.compile.passes import PIPELINE
from graph.compile.program import NotCompilable, Program, build_program
from graph.ops import Const

__all__ = ["PIPELINE", "Compiled", "FallbackWarning", "NotCompilable", "compile_run"]


class FallbackWarning(UserWarning):
    """Nodes of a step compiled to numba functions that have no compiled path (no `nopython`
    entry for their op or shapes, randomness, Python-run control flow): each runs from Python
    between the functions, as the interpreter runs it. The step is still right, only slower."""


class Compiled:
    """One compiled step: `source()` is its generated Python, `explain()` what each pass did.

    `run(feed_dict)` runs it in the session it was compiled for (as `Session.run` with the
    same fetches would)."""

    def __init__(self, session, fetches, structure, program: Program, source: str, function,
                 report: list, seconds: float, stages: list):
        self.session = session
        self.fetches = fetches
        self.structure = structure
        self.program = program
        self.function = function
        self._source = source
        self.report = report  # (pass name, nodes before, nodes after, changes, seconds)
        self.seconds = seconds
        self.peak_bytes = getattr(program, "peak_bytes", None)
        self.stages = stages  # (name, snapshot of the program after it), built first
        self.functions_source = None  # the numba functions' source (None: all Python calls)
        self.in_python = []  # the nodes the step calls from Python, outside those functions
        self.numba_functions = []  # the compiled functions themselves (numba dispatchers)
        # With ops on a GPU: the CUDA kernel launches of one step, counted on its first run
        # (None on the CPU, and until the step has run once).
        self.on_gpu = False
        self.launches = None

    def describe(self, stage=-1) -> tuple[list, list]:
        """The neutral drawing description (framework.viz) of the program as it stood after a
        stage: "built", a pass's name (its last run), or an index into `stages`."""
        return describe_snapshot(self._stage(stage))

    def draw(self, stage=-1, title=None):
        """A graphviz Digraph of the program after `stage` (see `describe`): the same look
        as the graph's own drawings; compare `draw("built")` with `draw()`."""
        nodes, edges = self.describe(stage)
        return to_digraph(nodes, edges, title=title)

    def _stage(self, stage):
        if isinstance(stage, int):
            return self.stages[stage][1]
        found = [snapshot for name, snapshot in self.stages if name == stage]
        if not found:
            raise KeyError(f"no stage {stage!r}; the stages: "
                           f"{', '.join(name for name, _ in self.stages)}")
        return found[-1]

    def source(self) -> str:
        """The generated code of the step: the numba functions that run most of it (one line
        per node, each commented with its op and the user's line), then the Python step that
        calls them and the nodes left outside them."""
        if self.functions_source is None:
            return self._source
        return f"{self.functions_source}\n\n{self._source}"

    def explain(self) -> str:
        """The passes in order: nodes before and after, what each changed, how long it took."""
        lines = [f"compiled step: {len(self.program.nodes)} nodes, "
                 f"{self.seconds * 1e3:.1f} ms to compile"]
        for name, before, after, changes, seconds in self.report:
            changed = ", ".join(f"{k} {v}" for k, v in changes.items()) or "no change"
            lines.append(f"  {name:<26} {before:>4} -> {after:<4} nodes  {changed}  "
                         f"({seconds * 1e3:.2f} ms)")
        if self.on_gpu:
            lines.append("kernel launches per step: " + (
                str(self.launches) if self.launches is not None
                else "not counted yet (counted on the step's first run)"))
        return "\n".join(lines)

    def run(self, feed_dict=None):
        return self.session.run(self.structure, feed_dict)

    def __repr__(self) -> str:
        return f"<Compiled step of {len(self.program.nodes)} nodes>"


def compile_run(session, ops, flat_fetches, feeds, structure=None, whole: bool = True) -> Compiled:
    """Compile the run of `ops` (a Session's plan) with these feeds, returning `flat_fetches`.
    With `whole`, runs of lowerable nodes become numba functions (seconds to compile the first
    time, then read from the disk cache); else the step calls each kernel from Python
    (milliseconds). Raises NotCompilable where the plan cannot be compiled as it stands."""
    from graph.placement import plan_placement

    start = time.perf_counter()
    placement = plan_placement(ops, session.config)
    program = build_program(ops, flat_fetches, feeds)
    stages = [("built", snapshot(program))]
    report = []
    # A cond or loop left to the interpreter's path (graph.compile.control could not lower it)
    # reads the values before it by tensor from the run: such a plan keeps every value, and
    # only the code generation applies. Lowered conds and loops are nodes like any other.
    pipeline = [] if program.has_control_flow else PIPELINE
    for name, compiler_pass in pipeline:
        began = time.perf_counter()
        before = len(program.nodes)
        program, changes = compiler_pass(program)
        report.append((name, before, len(program.nodes), changes,
                       time.perf_counter() - began))
        stages.append((name, snapshot(program)))
    began = time.perf_counter()
    try:
        source, function, functions_source, in_python = generate(program, whole=whole,
                                                                 placement=placement)
    except Exception as error:  # numba refused the generated functions: a compiler bug
        warnings.warn(f"graph compiler: the step's numba functions failed to compile "
                      f"({type(error).__name__}: {str(error)[:300]}); the step calls each "
                      "kernel from Python instead. Please report this.", RuntimeWarning,
                      stacklevel=3)
        source, function, functions_source, in_python = generate(program, whole=False,
                                                                 placement=placement)
    report.append(("code generation", len(program.nodes), len(program.nodes),
                   _generation_changes(program, functions_source, in_python),
                   time.perf_counter() - began))
    if whole and in_python:
        if placement is not None:  # nodes on a GPU run from Python by design
            from graph.placement import program_devices

            on_gpu = program_devices(program, placement)
            in_python_on_cpu = [node for node in in_python if node not in on_gpu]
            if in_python_on_cpu:
                _warn_fallback(in_python_on_cpu)
        else:
            _warn_fallback(in_python)
    compiled = Compiled(session, flat_fetches, structure, program, source, function, report,
                        time.perf_counter() - start, stages)
    compiled.functions_source = functions_source
    compiled.in_python = in_python
    compiled.numba_functions = getattr(function, "numba_functions", [])
    compiled.whole = whole
    compiled.runs = 0
    compiled.python_seconds = 0.0  # time the Session has spent running this Python step
    compiled.numba_estimate = 0.0 if whole else numba_compile_estimate(program)
    if placement is not None:
        compiled.on_gpu = True
        compiled.function = _counting_first_run(compiled, function)
    return compiled


# What numba takes, per generated statement, to compile a step's functions when nothing of
# them is on disk: the digits MLP's step (about 80 statements) takes 3.5 s on this project's
# 2-core machine, a small CNN's (about 500) 25 s. A Session weighs it against the time the
# Python step has run (Session.WHOLE_STEP_AFTER_RUNS).
SECONDS_PER_STATEMENT = 0.05


def numba_compile_estimate(program: Program) -> float:
    """Seconds numba would take, cold, to compile the numba functions of `program`: its
    lowerable nodes' statements times SECONDS_PER_STATEMENT."""
    statements = 0
    for node in program.nodes:
        lowered = nopython.lowering_of(node)
        if lowered is not None:
            statements += 1 + lowered.code.count("\n")
        elif nopython.assign_lowerable(node):
            statements += 1
    return statements * SECONDS_PER_STATEMENT


def _counting_first_run(compiled: Compiled, function):
    """`function`, counting the CUDA kernel launches of its first run into
    `compiled.launches`; later runs call `function` itself."""

    def first_run(run, feeds):
        from framework.kernels.cuda import counting_launches

        with counting_launches() as launches:
            results = function(run, feeds)
        compiled.launches = launches.count
        compiled.function = function
        return results

    return first_run


def _generation_changes(program, functions_source, in_python) -> dict:
    """What code generation did: numba functions made, and the nodes left to Python calls."""
    if functions_source is None:
        return {"numba functions": 0, "nodes called from Python": len(in_python) or "all"}
    functions = functions_source.count("@numba.njit")
    changes = {"numba functions": functions, "nodes called from Python": len(in_python)}
    if in_python:
        names = sorted({node.primitive.name if node.is_primitive else node.kind.name
                        for node in in_python})
        changes["left to Python"] = ", ".join(names)
    return changes


def _warn_fallback(in_python) -> None:
    """One FallbackWarning naming the nodes left to Python and their lines, shown at the user's
    line that compiled the step (Session.run or Session.compile)."""
    named = []
    for node in in_python[:6]:
        name = node.primitive.name if node.is_primitive else node.kind.name
        site = node.op.site if node.op is not None else None
        place = f" at {site.filename.rsplit('/', 1)[-1]}:{site.lineno}" if site else ""
        named.append(f"{name} {node.op.name!r}{place}" if node.op is not None else name)
    more = f" and {len(in_python) - 6} more" if len(in_python) > 6 else ""
    message = (f"graph compiler: {len(in_python)} node(s) have no compiled path and run from "
               f"Python between the step's numba functions: {'; '.join(named)}{more} "
               "(the results are the same; `compiled.explain()` lists them)")
    frame, level = sys._getframe(1), 2  # level 2: the caller of this function
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIRS):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, FallbackWarning, stacklevel=level)


def snapshot(program: Program) -> tuple:
    """What a drawing needs of the program now: its nodes with their inputs as they are (the
    passes rewire nodes in place) and its fetched values."""
    return tuple((node, tuple(node.inputs)) for node in program.nodes), tuple(program.fetches)


def describe_snapshot(state) -> tuple[list, list]:
    """VizNodes and VizEdges of a program snapshot: feeds as inputs, variables as parameters,
    constants, ops by their registry names, clustered by the scope of the op they came from."""
    nodes_and_inputs, fetches = state
    ids = {node: f"n{number}" for number, (node, _) in enumerate(nodes_and_inputs)}
    nodes, edges = [], []
    for node, inputs in nodes_and_inputs:
        if node.feed is not None:
            kind, op_name = "input", "Placeholder"
        elif node.kind.is_variable:
            kind, op_name = "parameter", node.kind.name
        elif isinstance(node.kind, Const):
            kind, op_name = "constant", "Const"
        else:
            kind = "op"
            op_name = node.primitive.name if node.is_primitive else node.kind.name
        op = node.op
        scope = tuple(op.scope.split("/")) if op is not None and op.scope else ()
        if kind == "parameter" and "/".join(scope) == op.name:
            scope = scope[:-1]  # a variable's own name scope holds only its initializer
        leaf = op.name.rsplit("/", 1)[-1] if op is not None else "folded"
        spec = node.specs[0] if node.specs else None
        details = (shape_text(spec.shape, spec.dtype),) if kind != "op" and spec else ()
        label = leaf if kind in ("input", "parameter") else op_name
        nodes.append(VizNode(ids[node], op_name, kind, label, scope, details,
                             site_text(op.site) if op is not None else None))
        for value in inputs:
            if value is not None and value[0] in ids:
                producer, index = value
                spec = producer.specs[index]
                edges.append(VizEdge(ids[producer], ids[node], shape_text(spec.shape, spec.dtype),
                                     shape=tuple(spec.shape), dtype=str(spec.dtype)))
    for number, value in enumerate(fetches):
        if value is not None and value[0] in ids:
            nodes.append(VizNode(f"fetch{number}", None, "output", f"fetch {number}"))
            edges.append(VizEdge(ids[value[0]], f"fetch{number}"))
    return nodes, edges
