"""The compiler's view of one Session.run: a `Program`, the graph's needed ops as a flat list of
`Node`s in execution order, with every shape known.

A Program is made for one set of fetches and the feeds' dtypes and static shapes, so each
primitive's shape rule runs here, once, on concrete shapes: the compiled step runs no shape
rules at all. The passes rewrite the list (merging, folding, removing nodes); the code
generator turns it into Python source. A node keeps the graph Operation it came from (its
`op`), so errors and the generated source name the user's line.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from framework.ops.registry import Spec
from graph.ops import PRIMITIVE, Const


@dataclasses.dataclass(eq=False)
class Node:
    """One step of a Program: an op kind applied to values.

    `inputs` are `(node, output index)` pairs, or None for an assign's target (a reference,
    not a value). A node made by a pass (a folded constant, say) may have no `op`."""

    kind: object  # the graph op kind (graph.ops.GraphOp)
    inputs: list
    specs: list  # one Spec per output, every dimension known
    op: object = None  # the graph Operation it came from
    primitive: object = None  # the registry op, for primitive nodes
    attrs: dict = dataclasses.field(default_factory=dict)
    feed: int | None = None  # for a fed value: its position among the feeds
    # For a cond or while_loop that runs inside the numba functions: its plans as Nodes
    # (graph.compile.control); None where it runs its plans on the interpreter's path.
    control: object = None

    @property
    def is_primitive(self) -> bool:
        return self.kind is PRIMITIVE

    @property
    def label(self) -> str:
        if self.feed is not None:
            return f"feed {self.op.name if self.op is not None else self.feed}"
        name = self.primitive.name if self.is_primitive else self.kind.name
        return f"{name} {self.op.name!r}" if self.op is not None else name

    @property
    def pure(self) -> bool:
        """Whether the node computes a function of its inputs alone, with no effect and no
        randomness: what the passes may merge, fold or drop."""
        if self.is_primitive:
            return getattr(self.primitive, "seed", None) is None
        return isinstance(self.kind, Const)


@dataclasses.dataclass(eq=False)
class Program:
    """The needed ops of one run as Nodes in execution order, plus what the run returns.

    `fetches` are `(node, index)` pairs (None for a fetched Operation); `roots` are the nodes
    that must run for their effects (assigns, checks, control flow and control dependencies)
    even when no value of theirs is used."""

    nodes: list
    fetches: list
    roots: set
    feed_specs: tuple

    def users(self) -> dict:
        """node -> the nodes that read one of its outputs."""
        users = {node: [] for node in self.nodes}
        for node in self.nodes:
            for value in node.inputs:
                if value is not None:
                    users[value[0]].append(node)
        return users

    @property
    def has_control_flow(self) -> bool:
        """Whether a node runs subgraphs (cond, while) on the interpreter's path: they read
        the run's values by tensor, so every graph value must stay as it is, where they can
        find it. A cond or loop lowered into the numba functions (`node.control`) does not
        count: its plans read the step's own values."""
        return any(node.op is not None and node.kind is not None and node.control is None
                   and node.kind.contexts(node.op) for node in self.nodes)

    def copy(self) -> Program:
        return Program(list(self.nodes), list(self.fetches), set(self.roots), self.feed_specs)


class NotCompilable(Exception):
    """This run cannot be compiled as planned (the Session then interprets it)."""


def build_program(ops, fetches, feeds) -> Program:
    """The Program of a run of `ops` (the Session's plan, in order) with `feeds` ({tensor:
    array}) returning `fetches` (Tensors or Operations)."""
    from graph.compile.control import LoweredCond, branch_values, demote, export, lower_control

    made: dict = {}  # graph Tensor -> (node, index)
    feed_specs = []
    nodes = []
    for position, (tensor, value) in enumerate(feeds.items()):
        node = Node(kind=None, inputs=[], specs=[Spec(value.shape, value.dtype)], op=tensor.op,
                    feed=position)
        nodes.append(node)
        made[tensor] = (node, 0)
        feed_specs.append((value.dtype.str, value.shape))
    by_op: dict = {}
    roots = set()
    fed = set(feeds)
    sources: dict = {}  # a value made in a lowered cond's branch -> where (control.export)
    for op in ops:
        kind = op.kind
        inputs = []
        for i, tensor in enumerate(op.inputs):
            if i == 0 and kind.assigns:
                inputs.append(None)  # the target: a reference to the variable
            elif tensor in made:
                inputs.append(made[tensor])
            elif tensor.op.kind.is_variable:
                inputs.append(_variable_value(tensor, made, by_op))
            else:
                raise NotCompilable(f"{op.name!r} reads {tensor.name!r}, which the plan does "
                                    "not compute")
        if kind is PRIMITIVE:
            in_specs = [value[0].specs[value[1]] for value in inputs]
            try:
                specs = op.primitive.infer(*in_specs)
            except Exception as error:  # the interpreter raises it, naming the op's line
                raise NotCompilable(str(error)) from None
            specs = list(specs) if isinstance(specs, tuple) else [specs]
        else:
            specs = _built_specs(op)
        control = None
        if kind.contexts(op):  # a cond or loop whose plans can run in numba gets them here
            found = lower_control(op, [None if v is None else v[0].specs[v[1]]
                                       for v in inputs], fed, sources)
            if found is not None:
                control, specs = found
                # A gradient's cond reads its forward cond's branch values as extra inputs.
                inputs += [export(node, branch, key)
                           for _, (node, branch, key) in getattr(control, "foreign", ())]
        if any(d is None for spec in specs for d in spec.shape):
            # A control-flow op's outputs may vary in shape from run to run.
            specs = _built_specs(op)
        node = Node(kind=kind, inputs=inputs, specs=specs, op=op, primitive=op.primitive,
                    attrs=op.attrs, control=control)
        nodes.append(node)
        by_op[op] = node
        if isinstance(control, LoweredCond):
            sources.update(branch_values(node))
        for index, tensor in enumerate(op.outputs):
            if tensor not in feeds:
                made[tensor] = (node, index)
        if not kind.is_variable and not node.pure:
            roots.add(node)  # effects, randomness, raising: must run when planned
    # A cond whose branch values its gradient's cond (run by the interpreter) reads from the
    # run must leave them there: it runs on the interpreter's path too, and the reverse.
    demote(nodes)
    for op in ops:
        for control in op.control_inputs:
            if control in by_op:
                roots.add(by_op[control])
    fetch_values = []
    for fetch in fetches:
        if hasattr(fetch, "value_index"):
            if fetch not in made:
                raise NotCompilable(f"the plan does not compute the fetch {fetch.name!r}")
            fetch_values.append(made[fetch])
        else:
            fetch_values.append(None)
            if fetch in by_op:
                roots.add(by_op[fetch])
    return Program(nodes, fetch_values, roots, tuple(feed_specs))


def _built_specs(op) -> list:
    """The specs `op`'s outputs were built with (None for dimensions known only at run time).
    A tensor of unknown rank cannot be described so: its plan is interpreted."""
    try:
        return [Spec(t.shape, t.dtype) for t in op.outputs]
    except Exception as error:  # an unknown rank refuses to be iterated
        raise NotCompilable(f"{op.name!r} has an output of unknown rank ({error})") from None


def _variable_value(tensor, made, by_op):
    """The variable's node: the generated code reads a variable where each consumer runs (TF1's
    reference semantics: a read after an assign in the same run sees the new value)."""
    if tensor.op in by_op:
        return (by_op[tensor.op], tensor.value_index)
    raise NotCompilable(f"the plan does not hold the variable {tensor.op.name!r}")


def spec_bytes(spec: Spec) -> int:
    """The bytes of a value of this spec (records and sizes not known yet count as nothing)."""
    dtype = np.dtype(spec.dtype)
    if dtype.kind == "O" or None in spec.shape:
        return 0  # a record, or a size known only when the step runs
    return int(np.prod(spec.shape, dtype=np.int64)) * dtype.itemsize
