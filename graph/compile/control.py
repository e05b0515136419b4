"""`cond` and `while_loop` inside the step's numba functions: a real `if` and a real loop.

The interpreter runs a Cond or a While by executing its branches' (or its cond's and body's)
plans of graph ops against the run's values, by tensor. Here those plans become Nodes, as
graph.compile.program builds the run's own plan: the shape rules run once, on the concrete
shapes of this run's feeds. Where every node of every plan (nested conds and loops too) can be
lowered, and every value has one static shape and dtype, the node gets a `LoweredCond` or a
`LoweredWhile` (`node.control`) and the code generator writes it as `if pred: ... else: ...`
or `while ...: ...` around the plans' own statements, so the branch not taken never runs.

Everything else stays on the interpreter's path, where a plan reads values by tensor: a branch
that assigns, draws random numbers or raises from Python; a branch whose shape rule refuses
this run's shapes (the interpreter raises only if that branch is taken); results whose shapes
differ between the branches or across iterations; a loop whose gradient runs in the same step
(it reads the record of iterations the interpreter's loop keeps).

The gradient of a cond is a cond on the same predicate whose branches read values the forward
branches made (TensorFlow's "foreign" values), which the interpreter finds in the run. Lowered,
the forward cond returns them as extra outputs (`exports`: the taken branch's value, and an
unused placeholder array from the other arm) and the gradient's cond takes them as extra inputs,
so the program's passes and the code generator see an ordinary edge. Where either cond stays on
the interpreter's path, so does the other.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re

import numpy as np

from framework.ops.registry import Spec
from graph.control_flow import Cond, LoopVar, While
from graph.ops import PRIMITIVE, Const

__all__ = ["LoweredCond", "LoweredWhile", "branch_values", "demote", "export", "lower_control"]


@dataclasses.dataclass(eq=False)
class Plan:
    """A cond branch, a loop's cond or a loop's body as Nodes in execution order; `results`
    are the value keys it gives (the branch's outputs, the loop's predicate, the new loop
    values)."""

    nodes: list
    results: list
    made: dict = dataclasses.field(default_factory=dict)  # graph Tensor -> value key


@dataclasses.dataclass(eq=False)
class LoweredCond:
    """How a Cond runs in numba: `inputs[k]` stands, inside the branches, for the node's input
    k + 1 (its captured values; input 0 is the predicate). A gradient's cond reads values of
    its forward cond's branches: `foreign[j]` is (its stand-in, (forward node, branch index,
    value key)), the node's input `len(op.inputs) + j`. `exports` are the forward cond's
    extra outputs, after the op's own: (branch index, value key) each."""

    inputs: list
    branches: tuple  # (true Plan, false Plan)
    foreign: list = dataclasses.field(default_factory=list)
    exports: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass(eq=False)
class LoweredWhile:
    """How a While runs in numba: `variables` stand for the loop variables (set before each
    iteration), `captured[k]` for the node's input `len(variables) + k`; `limit` is the
    maximum_iterations attribute, `limit_input` whether it is the node's last input instead."""

    variables: list
    captured: list
    cond: Plan
    body: Plan
    limit: int | None
    limit_input: bool


class _Refused(Exception):
    """A plan that cannot run inside numba: its op stays on the interpreter's path."""


def _stand_in(spec, op=None, kind=None):
    from graph.compile.program import Node

    return Node(kind=kind, inputs=[], specs=[spec], op=op)


def lower_control(op, in_specs: list, fed: set, sources=None):
    """(the LoweredCond or LoweredWhile, the output specs) of a Cond or While `op` whose inputs
    have `in_specs` (all known), or None where it must run on the interpreter's path. `fed`:
    the run's fed tensors (a fed value inside a plan is the feed, which the interpreter keeps).
    `sources` ({tensor: (node, branch index, value key)}) finds the values of lowered conds'
    branches that a gradient's cond reads."""
    if any(spec is None or None in spec.shape for spec in in_specs):
        return None
    try:
        if type(op.kind) is Cond:
            return _lower_cond(op, in_specs, fed, sources or {})
        if type(op.kind) is While:
            return _lower_while(op, in_specs, fed)
    except _Refused:
        return None
    return None


def _lower_cond(op, in_specs, fed, sources):
    if in_specs[0].shape != () or np.dtype(in_specs[0].dtype) != np.bool_:
        raise _Refused  # the interpreter checks the predicate when it runs
    inputs = [_stand_in(spec) for spec in in_specs[1:]]
    bound = {tensor: (node, 0) for tensor, node in zip(op.inputs[1:], inputs)}
    branches = []
    foreign = []
    for branch in op.attrs["branches"]:
        branch_bound = dict(bound)
        for tensor in branch.plan.foreign:  # a gradient's branch: the forward branch's values
            source = sources.get(tensor)
            if source is None:
                raise _Refused
            key = source[2]
            stand_in = _stand_in(key[0].specs[key[1]])
            branch_bound[tensor] = (stand_in, 0)
            foreign.append((stand_in, source))
        plan = _plan(branch.plan, branch.outputs, branch_bound, fed)
        branches.append(plan)
    specs = []
    true, false = branches
    for a, b in zip(true.results, false.results):
        spec_a, spec_b = a[0].specs[a[1]], b[0].specs[b[1]]
        if tuple(spec_a.shape) != tuple(spec_b.shape) or spec_a.dtype != spec_b.dtype:
            raise _Refused  # one static shape for the result, whichever branch runs
        specs.append(Spec(tuple(spec_a.shape), spec_a.dtype))
    return LoweredCond(inputs, tuple(branches), foreign), specs


def branch_values(node) -> dict:
    """{tensor: (node, branch index, value key)} of the values made inside the branches of a
    lowered cond `node` (not inside conds or loops nested there), for its gradient's cond."""
    found = {}
    for index, plan in enumerate(node.control.branches):
        inside = set(plan.nodes)
        for tensor, key in plan.made.items():
            if key[0] in inside:
                found[tensor] = (node, index, key)
    return found


def export(node, branch: int, key) -> tuple:
    """The value key of a lowered cond's output giving `key`, made in branch `branch`, to a
    gradient's cond: a new output of `node` the first time."""
    exports = node.control.exports
    if (branch, key) not in exports:
        exports.append((branch, key))
        node.specs.append(key[0].specs[key[1]])
    return (node, len(node.op.outputs) + exports.index((branch, key)))


def demote(nodes) -> None:
    """Send back to the interpreter's path the lowered conds and loops whose values a gradient
    run there reads (a cond's gradient reads its branch values, a loop's its record of
    iterations), and the lowered gradients' conds of forward conds run there, until none is
    left: the two run together on one path or the other."""
    changed = True
    while changed:
        changed = False
        mirrored = mirrored_contexts([node for node in nodes if node.control is None])
        for node in nodes:
            control = node.control
            if control is None:
                continue
            reads = getattr(control, "foreign", ())
            if mirrored.intersection(contexts_of(node)) or any(
                    source[0].control is None for _, source in reads):
                node.control = None
                node.specs = node.specs[:len(node.op.outputs)]  # no exports
                node.inputs = node.inputs[:len(node.op.inputs)]  # no foreign values
                changed = True


def _lower_while(op, in_specs, fed):
    # A loop whose gradient runs in this step too reads the record of the iterations that
    # the interpreter's loop keeps: `demote` sends it back there (the gradient mirrors it).
    loop = op.attrs["loop"]
    count = len(loop.standins)
    captured_count = op.attrs["num_captured"]
    limit_input = len(op.inputs) > count + captured_count
    if limit_input and in_specs[-1].shape != ():
        raise _Refused
    variables = [_stand_in(Spec(tuple(spec.shape), spec.dtype), standin.op, standin.op.kind)
                 for spec, standin in zip(in_specs[:count], loop.standins)]
    captured = [_stand_in(spec) for spec in in_specs[count:count + captured_count]]
    bound = {standin: (node, 0) for standin, node in zip(loop.standins, variables)}
    bound.update((tensor, (node, 0))
                 for tensor, node in zip(op.inputs[count:count + captured_count], captured))
    cond = _plan(loop.cond_plan, [loop.pred], bound, fed)
    pred = cond.results[0]
    pred_spec = pred[0].specs[pred[1]]
    if pred_spec.shape != () or np.dtype(pred_spec.dtype) != np.bool_:
        raise _Refused
    body = _plan(loop.body_plan, loop.body_outputs, bound, fed)
    for variable, result in zip(variables, body.results):
        before, after = variable.specs[0], result[0].specs[result[1]]
        if tuple(before.shape) != tuple(after.shape) or before.dtype != after.dtype:
            raise _Refused  # a loop variable whose shape changes: the interpreter's loop
    lowered = LoweredWhile(variables, captured, cond, body, op.attrs["maximum_iterations"],
                           limit_input)
    specs = [variable.specs[0] for variable in variables] + [Spec((), np.dtype(object))]
    return lowered, specs


def _plan(plan, results, bound: dict, fed) -> Plan:
    """The Nodes of a control-flow plan whose outside values are `bound` ({tensor: key})."""
    from graph.compile import nopython
    from graph.compile.program import Node

    if any(tensor not in bound for tensor in plan.foreign):
        raise _Refused  # a gradient's plan reads the forward values from the run
    made = dict(bound)
    nodes = []
    for op in plan.ops:
        if any(tensor in fed for tensor in op.outputs):
            raise _Refused
        if op.outputs and all(tensor in made for tensor in op.outputs):
            continue  # a loop variable's stand-in: the loop sets it
        kind = op.kind
        if kind.assigns or kind.is_variable:
            raise _Refused
        if "GPU" in (getattr(op, "device", "") or ""):
            raise _Refused  # placed on a GPU: the interpreter's path runs it there
        inputs = []
        for tensor in op.inputs:
            if tensor not in made:
                raise _Refused  # a value the plan does not make nor capture
            inputs.append(made[tensor])
        in_specs = [key[0].specs[key[1]] for key in inputs]
        if kind is PRIMITIVE:
            try:
                specs = op.primitive.infer(*in_specs)
            except Exception:  # the interpreter raises it if (and only if) this plan runs
                raise _Refused from None
            specs = list(specs) if isinstance(specs, tuple) else [specs]
            node = Node(kind=kind, inputs=inputs, specs=specs, op=op, primitive=op.primitive,
                        attrs=op.attrs)
            if nopython.lowering_of(node) is None:
                raise _Refused
        elif isinstance(kind, Const):
            value = op.attrs["value"]
            node = Node(kind=kind, inputs=[], specs=[Spec(np.shape(value), value.dtype)],
                        op=op, attrs=op.attrs)
        elif type(kind) in (Cond, While):
            found = lower_control(op, in_specs, fed)
            if found is None:
                raise _Refused
            control, specs = found
            node = Node(kind=kind, inputs=inputs, specs=specs, op=op, attrs=op.attrs)
            node.control = control
        else:
            node = Node(kind=kind, inputs=inputs, specs=list(in_specs[:1]), op=op,
                        attrs=op.attrs)
            if not nopython.is_passthrough(node) or (op.outputs and not inputs):
                raise _Refused
            node.specs = node.specs[:len(op.outputs)]
        if any(None in spec.shape for spec in node.specs[:len(op.outputs)]
               if np.dtype(spec.dtype).kind != "O"):
            raise _Refused
        nodes.append(node)
        for index, tensor in enumerate(op.outputs):
            made[tensor] = (node, index)
    keys = []
    for tensor in results:
        if tensor not in made:
            raise _Refused  # e.g. a variable returned as it is: read from the run
        keys.append(made[tensor])
    return Plan(nodes, keys, made)


def mirrored_contexts(nodes) -> set:
    """The control-flow contexts whose values a gradient's context of `nodes` reads from the
    run (a cond's branches, read by the cond of its gradient)."""
    mirrored = set()
    for node in nodes:
        if node.op is None or node.kind is None:
            continue
        for context in node.kind.contexts(node.op):
            for inner in context.subtree():
                mirrored.update(inner.mirrors)
    return mirrored


def contexts_of(node) -> list:
    """Every context a control-flow node runs, nested ones included."""
    return [inner for context in node.kind.contexts(node.op) for inner in context.subtree()]


def is_loop_variable(node) -> bool:
    return type(node.kind) is LoopVar


# -- code generation ---------------------------------------------------------------------------


@contextlib.contextmanager
def _nested(segment):
    """Statements inside an arm or a loop: indented, and the contiguous twins they make stay
    theirs (a twin made in one arm does not exist in the other, nor after the `if`)."""
    indent, twins = segment.indent, dict(segment.contiguous)
    segment.indent += "    "
    try:
        yield
    finally:
        segment.indent, segment.contiguous = indent, twins


def write(writer, segment, node, number) -> None:
    """The statements of a lowered cond or loop in `segment` (graph.compile.codegen's
    `_SegmentWriter` writes each node of their plans)."""
    if isinstance(node.control, LoweredCond):
        _write_cond(writer, segment, node, number)
    else:
        _write_while(writer, segment, node, number)


def _bind(writer, segment, stand_ins, values) -> None:
    for stand_in, value in zip(stand_ins, values):
        segment.local[(stand_in, 0)] = writer._use(segment, value, False)


def _write_plan(writer, segment, plan) -> list:
    """Write the plan's nodes; the local names of its results."""
    for node in plan.nodes:
        if not isinstance(node.kind, Const):  # a constant is an argument of the function
            writer.write_node(segment, node)
    return [writer._use(segment, key, False) for key in plan.results]


def _write_cond(writer, segment, node, number) -> None:
    lowered = node.control
    pred = writer._use(segment, node.inputs[0], False)
    own = len(node.op.outputs)  # then the exports, and the foreign values after the inputs
    _bind(writer, segment, lowered.inputs, node.inputs[1:len(node.op.inputs)])
    _bind(writer, segment, [stand_in for stand_in, _ in lowered.foreign],
          node.inputs[len(node.op.inputs):])
    outputs = [f"v{number}_{k}" for k in range(len(node.specs))]
    contiguous = [True] * len(outputs)
    aliases = [False] * len(outputs)
    segment.emit(f"if {pred}[()]:")
    for arm, plan in enumerate(lowered.branches):
        if arm:
            segment.emit("else:")
        with _nested(segment):
            results = _write_plan(writer, segment, plan)
            for branch, key in lowered.exports:
                # The gradient's cond runs the same arm: the other arm's is never read.
                results.append(writer._use(segment, key, False) if branch == arm else
                               _placeholder(key[0].specs[key[1]]))
            for k, (output, result) in enumerate(zip(outputs, results)):
                segment.emit(f"{output} = {result}")
                contiguous[k] = contiguous[k] and segment.is_contiguous.get(result, k < own)
                aliases[k] = aliases[k] or _may_alias(segment, result)
            if not results:
                segment.emit("pass")
    for k, output in enumerate(outputs):
        segment.local[(node, k)] = output
        segment.is_contiguous[output] = contiguous[k]
        if aliases[k]:
            segment.aliases.add(output)


def _may_alias(segment, name: str) -> bool:
    """Whether a local may be an argument of the function itself (a constant, a feed, a
    variable's value): numba returns such an array as the very object passed in, and the
    Python step marks it shared, so that a fetch of it is a copy (as the interpreter's is)."""
    return name in segment.aliases or re.fullmatch(r"a\d+(_c)?", name) is not None


def _placeholder(spec) -> str:
    """An array of `spec`'s type, for a variable that one arm of an `if` must also assign."""
    dtype = np.dtype(spec.dtype)
    name = "bool_" if dtype == np.bool_ else dtype.name
    return f"np.empty({tuple(spec.shape)!r}, np.{name})"


def _write_while(writer, segment, node, number) -> None:
    lowered = node.control
    count = len(lowered.variables)
    initial = [writer._use(segment, value, False) for value in node.inputs[:count]]
    _bind(writer, segment, lowered.captured,
          node.inputs[count:count + len(lowered.captured)])
    names = [f"v{writer.number(variable)}_0" for variable in lowered.variables]
    for variable, name in zip(lowered.variables, names):
        segment.local[(variable, 0)] = name
        segment.is_contiguous[name] = False  # an iteration may give another layout
    segment.emit(f"{', '.join(names)}, = ({', '.join(initial)},)")
    limit = None
    if lowered.limit_input:
        limit = f"int({writer._use(segment, node.inputs[-1], False)}[()])"
    elif lowered.limit is not None:
        limit = str(int(lowered.limit))
    counter = f"i{number}"
    if limit is None:
        segment.emit("while True:")
    else:
        segment.emit(f"{counter} = 0")
        segment.emit(f"while {counter} < {limit}:")
    with _nested(segment):
        pred, = _write_plan(writer, segment, lowered.cond)
        segment.emit(f"if not {pred}[()]:")
        segment.emit("    break")
        results = _write_plan(writer, segment, lowered.body)
        segment.emit(f"{', '.join(names)}, = ({', '.join(results)},)")
        while True:  # a loop variable may take another's value: until nothing changes
            aliased = {name for name, before, after in zip(names, initial, results)
                       if _may_alias(segment, before) or _may_alias(segment, after)}
            if aliased <= segment.aliases:
                break
            segment.aliases |= aliased
        if limit is not None:
            segment.emit(f"{counter} += 1")
    for k, name in enumerate(names):
        segment.local[(node, k)] = name
