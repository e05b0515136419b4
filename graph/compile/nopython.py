"""The whole step in numba: runs of nodes whose ops can be lowered (`Op.nopython`) become one
generated numba function each, so a training step is one compiled call instead of a Python
call per kernel.

Each lowerable op gives the statements its CPU kernel's driver runs on these shapes (the same
kernels, layouts, serial or parallel loops and BLAS calls), so the compiled step keeps the
interpreter's bits. Assigns to variables are lowered too: the function computes the new value
(`variable - delta` for AssignSub, as the interpreter's NumPy does it) and returns it; the
Python step stages it, so the run still commits all of its updates or none. A node that cannot
be lowered (no entry yet, a shape the entry does not cover) ends the run of lowered nodes: the
Python step calls its kernel between two compiled functions, and `explain()` names it.

The functions' source is written to a file named by its hash (framework.codegen) and compiled
with numba's `cache=True`: a second process compiling the same graph loads the machine code
from disk. The file's first lines hold a fingerprint of everything the functions call, so a
kernel that changes gives a new file, never a stale cache entry.
"""

from __future__ import annotations

import hashlib
import os
import sys

import numpy as np
from numba.np.ufunc.parallel import _launch_threads

from framework.codegen import load_module
from framework.kernels import cpu
from graph.compile.program import Program
from graph.ops import Assign, AssignAdd, AssignSub, Const, Identity, NoOp

__all__ = ["Segment", "lower_program"]

# How an assign computes the staged value from the variable's current value and the input.
_ASSIGN_EXPRESSION = {Assign: "{value}.copy()", AssignAdd: "{current} + {value}",
                      AssignSub: "{current} - {value}"}
# The same for a 0-d variable (a global step, a beta power): numba's arithmetic on 0-d arrays
# gives a scalar, so the value is written into a 0-d array of the variable's dtype.
SCALAR_ASSIGN_EXPRESSION = {Assign: "{value}[()]", AssignAdd: "{current}[()] + {value}[()]",
                            AssignSub: "{current}[()] - {value}[()]"}
# The dtype kinds each assign lowers for: the interpreter's NumPy gives the same IEEE sums and
# the same wrapping integer ones (bool has no NumPy subtraction: left to it).
_ASSIGN_KINDS = {Assign: "fiub", AssignAdd: "fiu", AssignSub: "fiu"}


class Segment:
    """One generated numba function: the nodes it runs, the values it reads from outside
    (`arguments`: value keys, or ("variable", op) for a variable read when it is called) and
    the values it returns (`results`: value keys, or ("staged", op) for an assign's new value)."""

    def __init__(self, number: int):
        self.number = number
        self.nodes: list = []
        self.lines: list[str] = []
        self.arguments: list = []
        self.results: list = []
        self.local: dict = {}  # value key -> local name inside the function
        self.contiguous: dict = {}  # local name -> its C-contiguous twin, once made
        self.staged: dict = {}  # variable op -> local name of its newest value
        self.indent = ""  # inside a cond's arm or a loop's body: the statements' indentation
        self.aliases: set = set()  # locals that may be an argument itself (graph.compile.control)

    def emit(self, line: str) -> None:
        self.lines.append(self.indent + line)

    @property
    def name(self) -> str:
        return f"segment_{self.number}"


def lowering_of(node):
    """The node's `Lowered` statements, or None where it runs from Python."""
    if not (node.is_primitive and node.pure):
        return None
    specs = [value[0].specs[value[1]] for value in node.inputs]
    if any(None in spec.shape for spec in specs + node.specs):
        return None
    lower = getattr(node.primitive, "nopython", None)
    if lower is None:
        return None
    try:
        lowered = lower(*specs)
    except Exception:  # a rule the entry did not expect: the kernel call stays in Python
        return None
    if lowered is None or lowered.outputs != len(node.specs):
        return None
    return lowered


def assign_lowerable(node) -> bool:
    """An assign of a number of the variable's own static shape and dtype (checked here, once,
    as the interpreter checks it on every run)."""
    if type(node.kind) not in _ASSIGN_EXPRESSION or node.op is None:
        return False
    variable = node.op.inputs[0].op
    value = node.inputs[1]
    if value is None:
        return False
    spec = value[0].specs[value[1]]
    target = variable.outputs[0]
    try:
        shape = tuple(target.shape)
    except Exception:  # a variable of unknown rank
        return False
    return (spec.shape == shape and spec.dtype == target.dtype
            and spec.dtype.kind in _ASSIGN_KINDS[type(node.kind)])


def is_passthrough(node) -> bool:
    """Nodes that compute nothing: NoOp (a handle for control dependencies) and Identity."""
    return type(node.kind) in (NoOp, Identity) and node.op is not None


def lower_program(program: Program, on_gpu=()):
    """Split `program` into segments: returns (segments by node, the nodes left to Python).
    Nodes in `on_gpu` (they run on a GPU: graph.placement) are never lowered."""
    _refine_shapes(program)
    segments: list[Segment] = []
    current = None
    in_python = []
    segment_of: dict = {}
    for node in program.nodes:
        if node.feed is not None or isinstance(node.kind, Const) or (
                node.kind is not None and node.kind.is_variable):
            continue
        lowerable = node not in on_gpu and (
            lowering_of(node) is not None or assign_lowerable(node)
            or node.control is not None  # a cond or loop: a real `if` or `while`
            or (is_passthrough(node) and current is not None))
        if lowerable:
            if current is None:
                current = Segment(len(segments))
                segments.append(current)
            current.nodes.append(node)
            segment_of[node] = current
        else:
            current = None
            if not is_passthrough(node):
                in_python.append(node)
    return segments, segment_of, in_python


def _refine_shapes(program: Program) -> None:
    """Run the shape rules again where a node's output has an unknown dimension but its inputs
    have none now (constant folding made a fed-shape value a constant): the numba functions
    need every shape."""
    for node in program.nodes:
        if not node.is_primitive or not any(None in spec.shape for spec in node.specs):
            continue
        specs = [value[0].specs[value[1]] for value in node.inputs]
        if any(None in spec.shape for spec in specs):
            continue
        try:
            inferred = node.primitive.infer(*specs)
        except Exception:
            continue
        inferred = list(inferred) if isinstance(inferred, tuple) else [inferred]
        if len(inferred) == len(node.specs):
            node.specs = inferred


def fingerprint(objects: dict) -> str:
    """A hash naming every object the functions call or read: kernels by module and name (and
    the source of their modules), arrays and scalars by value."""
    digest = hashlib.sha256()
    modules = set()
    for name in sorted(objects):
        value = objects[name]
        function = getattr(value, "py_func", None)
        if function is not None:
            digest.update(f"{name}={function.__module__}.{function.__qualname__}".encode())
            modules.add(function.__module__)
        elif isinstance(value, (np.ndarray, np.generic)):
            array = np.asarray(value)
            digest.update(f"{name}={array.dtype.str}{array.shape}".encode())
            digest.update(array.tobytes())
        else:
            digest.update(f"{name}={value!r}".encode())
    hand_written = sorted(m for m in modules
                          if m in sys.modules and not m.startswith("dualgraph_generated"))
    digest.update(cpu.fingerprint(*hand_written).encode())
    return digest.hexdigest()[:24]


def load_segments(functions_source: str, objects: dict):
    """Import the generated functions (cached on disk by their text) and bind their objects."""
    # $DUALGRAPH_COMPILE_SALT gives the file another name: `bench graph` measures a compile
    # that finds nothing of this graph on disk (its kernels' own caches stay warm).
    salt = os.environ.get("DUALGRAPH_COMPILE_SALT", "")
    header = (f"# Generated by graph.compile.nopython: the compiled parts of one graph step.\n"
              f"# Fingerprint of the kernels and constants they use: {fingerprint(objects)}"
              f"{salt and ' ' + salt}\n"
              "import numba\nimport numpy as np\n\n")
    # A function loaded from numba's disk cache that calls a parallel kernel needs numba's
    # thread pool, which a cache load does not start (numba issue #8578): the first call
    # would then die ("Symbol not found: allocate_sched", or a segfault). Start it first; it
    # does anything only the first time.
    _launch_threads()
    module = load_module(header + functions_source, "graph_step")
    for name, value in objects.items():
        setattr(module, name, value)
    return module
