"""Drawing a static graph: placeholders, variables, ops, and the shapes flowing between them.

Name scopes (and so `tf.layers`) become clusters; each `cond` branch and `while_loop` body is a
cluster inside its scope, labelled with its role. Edges carry "(?, 64) float32"; control
dependencies are dashed. The gradient subgraph (`tf.gradients` and optimizer updates) and the
variables' initializers are hidden unless asked for. Any Graph can be drawn, including one a
rewriting pass returns, so before/after pictures of an optimization come for free.

>>> import graph as tf
>>> with tf.Graph().as_default() as g:
...     x = tf.placeholder(tf.float32, (None, 3), name="x")
...     y = tf.layers.dense(x, 2)
>>> nodes, edges = describe(g)
>>> sorted(n.label for n in nodes if n.kind != "constant")
['bias', 'contiguous_copy', 'kernel', 'linear', 'transpose', 'x']
"""

from __future__ import annotations

import re

import numpy as np

from framework.viz import VizEdge, VizNode, shape_text, site_text, to_digraph
from graph.core import Graph, Operation, Tensor, get_default_graph
from graph.ops import NoOp
from graph.variables import GLOBAL_VARIABLES

__all__ = ["describe", "draw"]

_GRADIENT_SCOPE = re.compile(r"gradients(_\d+)?$")


def _selected_ops(graph_or_fetches) -> tuple[Graph, list[Operation]]:
    """The graph and the ops to consider: all of them, or what the fetches depend on."""
    if graph_or_fetches is None:
        graph = get_default_graph()
        return graph, graph.get_operations()
    if isinstance(graph_or_fetches, Graph):
        return graph_or_fetches, graph_or_fetches.get_operations()
    fetches = graph_or_fetches
    if isinstance(fetches, (Tensor, Operation)):
        fetches = [fetches]
    roots = []
    for item in fetches:
        if isinstance(item, Tensor):
            roots.append(item.op)
        elif isinstance(item, Operation):
            roots.append(item)
        else:
            raise TypeError(f"draw takes a Graph, or Tensors and Operations to draw the graph "
                            f"they depend on; got a {type(item).__name__}")
    if not roots:
        raise ValueError("draw: the list of fetches is empty")
    graph = roots[0].graph
    needed: set[Operation] = set()
    stack = list(roots)
    while stack:
        op = stack.pop()
        if op in needed:
            continue
        if op.graph is not graph:
            raise ValueError(f"draw: {op.name!r} belongs to another graph than {roots[0].name!r}")
        needed.add(op)
        stack += [t.op for t in op.inputs] + list(op.control_inputs)
        stack += op.attrs.get("captured_ops", ())
        for context in _owned_contexts(op):
            for inner in context.subtree():
                stack += inner.ops
    return graph, [op for op in graph.get_operations() if op in needed]


def _owned_contexts(op: Operation) -> list:
    """The control-flow contexts a Cond, While or WhileGrad op stands for."""
    return op.kind.contexts(op)


def _results_of_contexts(op: Operation) -> list[Tensor]:
    """The values computed inside `op`'s contexts that become its outputs."""
    return op.kind.context_results(op)


def _consumers(ops) -> dict:
    users: dict[Operation, list] = {op: [] for op in ops}
    for op in ops:
        for used in (*(t.op for t in op.inputs), *op.control_inputs):
            if used in users:
                users[used].append(op)
    return users


def _hidden_ops(graph: Graph, ops, show_gradients: bool, show_initializers: bool) -> set:
    """Initializer subgraphs and (unless shown) the gradient subgraph and optimizer updates."""
    hidden: set[Operation] = set()
    users = _consumers(ops)
    if not show_initializers:
        initializers = {v.initializer for v in graph.get_collection(GLOBAL_VARIABLES)}
        for op in ops:  # the Assigns, and NoOps such as global_variables_initializer()
            if op in initializers or (isinstance(op.kind, NoOp) and not op.inputs
                                      and op.control_inputs
                                      and all(c in hidden for c in op.control_inputs)):
                hidden.add(op)
        for op in reversed(ops):  # what only feeds an initializer (its initial value)
            if not op.kind.is_variable and users[op] and all(u in hidden for u in users[op]):
                hidden.add(op)
    if not show_gradients:
        gradient = _gradient_ops(ops)
        hidden |= gradient
        for op in ops:  # optimizer slots: variables only the update ops read
            if (op.kind.is_variable and any(u in gradient for u in users[op])
                    and all(u in hidden for u in users[op])):
                hidden.add(op)
    return hidden


def _gradient_ops(ops) -> set:
    """Ops under a `gradients` name scope, and everything computed from them (but variables)."""
    gradient = set()
    for op in ops:
        parts = op.scope.split("/")
        if _GRADIENT_SCOPE.match(parts[0]) or (not op.kind.is_variable and any(
                used in gradient for used in (*(t.op for t in op.inputs), *op.control_inputs))):
            gradient.add(op)
    return gradient


class _Clusters:
    """Cluster paths: name scopes, with each control-flow context nested where it was built."""

    def __init__(self, ops):
        self.owner = {}
        for op in ops:
            for context in _owned_contexts(op):
                self.owner[context] = op
        self.cache: dict = {}

    @staticmethod
    def scope_parts(scope: str) -> tuple:
        return tuple(part for part in scope.split("/") if part)

    def of_context(self, context) -> tuple[tuple, tuple]:
        """(cluster path, name-scope parts) of a context's cluster."""
        if context in self.cache:
            return self.cache[context]
        outer_path, outer_scope = self.of_context(context.outer) if context.outer else ((), ())
        owner = self.owner.get(context)
        if owner is not None:
            scope = self.scope_parts(owner.scope)
        elif context.ops:  # the owner is not drawn: the scope its ops share
            scopes = [self.scope_parts(op.scope) for op in context.ops]
            scope = scopes[0]
            for other in scopes[1:]:
                while other[:len(scope)] != scope:
                    scope = scope[:-1]
        else:
            scope = outer_scope
        if scope[:len(outer_scope)] != outer_scope:
            scope = outer_scope
        result = (outer_path + scope[len(outer_scope):] + (context.role,), scope)
        self.cache[context] = result
        return result

    def of_op(self, op: Operation) -> tuple:
        parts = self.scope_parts(op.scope)
        if op.kind.is_variable and parts and "/".join(parts) == op.name:
            parts = parts[:-1]  # a variable's own name scope holds only its initializer
        if op.context is None:
            return parts
        path, scope = self.of_context(op.context)
        return path + parts[len(scope):] if parts[:len(scope)] == scope else path


def _const_text(op: Operation) -> str:
    value = op.attrs.get("value")
    spec = op.outputs[0]
    if isinstance(value, np.ndarray) and value.size <= 4:
        return np.array2string(value, precision=4, separator=", ") + f" {spec.dtype}"
    return shape_text(spec.shape, spec.dtype)


def _node_of(op: Operation, cluster: tuple, gradient: bool) -> VizNode:
    leaf = op.name.rsplit("/", 1)[-1]
    kind = op.kind.viz_kind  # each op kind says how it is drawn (graph.ops)
    if kind == "op" and gradient:
        kind = "gradient"
    op_name = op.primitive.name if op.primitive is not None else op.type
    site = site_text(op.site)
    if kind in ("input", "parameter"):
        out = op.outputs[0]
        return VizNode(f"op{op.id}", op_name, kind, leaf, cluster,
                       (shape_text(out.shape, out.dtype),), site)
    if kind == "constant":
        return VizNode(f"op{op.id}", op_name, kind, "Const", cluster, (_const_text(op),), site)
    # An op named after its type ("matmul", "matmul_3") needs no second line.
    plain = re.fullmatch(rf"{re.escape(op.type)}(_\d+)?", leaf) is not None
    return VizNode(f"op{op.id}", op_name, kind, op.type, cluster, () if plain else (leaf,), site)


def describe(graph_or_fetches=None, show_gradients=False, show_initializers=False):
    """The neutral (nodes, edges) of a Graph (default: the default graph), or of what a Tensor,
    an Operation or a list of them depends on, for `framework.viz`.

    Hidden unless asked for: the gradient subgraph (ops under a `gradients` name scope and
    everything computed from them, such as optimizer updates and their slot variables) and
    the variables' initializers (initial values, Assigns, `global_variables_initializer`).
    """
    graph, ops = _selected_ops(graph_or_fetches)
    hidden = _hidden_ops(graph, ops, show_gradients, show_initializers)
    gradient = _gradient_ops(ops) if show_gradients else set()
    shown = [op for op in ops if op not in hidden]
    clusters = _Clusters(ops)
    nodes = [_node_of(op, clusters.of_op(op), op in gradient) for op in shown]
    drawn = set(shown)
    edges = []
    for op in shown:
        for tensor in op.inputs:
            if tensor.op in drawn:
                edges.append(VizEdge(f"op{tensor.op.id}", f"op{op.id}", _edge_text(tensor)))
        for tensor in _results_of_contexts(op):
            if tensor.op in drawn:
                edges.append(VizEdge(f"op{tensor.op.id}", f"op{op.id}", _edge_text(tensor)))
        implied = _implied_dependencies(op)
        for used in op.control_inputs:
            if used in drawn and used not in implied:
                edges.append(VizEdge(f"op{used.id}", f"op{op.id}", kind="control"))
    return nodes, edges


def _implied_dependencies(op: Operation) -> set:
    """What `op`'s own inputs already wait for: a control edge from those adds nothing.

    An optimizer creates every update op under `control_dependencies(gradients)`; drawing each
    of those edges would hide the picture under dashes.
    """
    implied = set()
    for dependency in (*(t.op for t in op.inputs), *op.control_inputs):
        implied.update(t.op for t in dependency.inputs)
        implied.update(dependency.control_inputs)
    return implied


def _edge_text(tensor: Tensor) -> str:
    if tensor.dtype == np.dtype(object):
        return "iteration record"
    text = shape_text(tensor.shape, tensor.dtype)
    return f"{text} :{tensor.value_index}" if len(tensor.op.outputs) > 1 else text


def draw(graph_or_fetches=None, show_gradients=False, collapse=None, fold=True, *,
         max_nodes=None, show_initializers=False, title=None, rankdir="TB"):
    """A graphviz Digraph of a Graph (default: the default graph), or of what the given
    Tensors/Operations depend on.

    See `describe` for what is drawn and `framework.viz.simplify` for `fold` (repeated layers
    drawn once, "x10"), `collapse` (a depth or cluster names) and `max_nodes` (by default,
    clusters collapse once more than 300 nodes would be drawn). It displays inline in
    Jupyter; `framework.viz.render(dot, "svg")` gives bytes.

    >>> import graph as tf
    >>> with tf.Graph().as_default() as g:
    ...     x = tf.placeholder(tf.float32, (None, 3), name="x")
    ...     y = tf.nn.relu(x)
    >>> "(?, 3) float32" in draw(g).source
    True
    """
    nodes, edges = describe(graph_or_fetches, show_gradients, show_initializers)
    return to_digraph(nodes, edges, fold=fold, collapse=collapse, max_nodes=max_nodes,
                      title=title, rankdir=rankdir)
