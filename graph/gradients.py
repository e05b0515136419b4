"""Symbolic gradients: `gradients(ys, xs)` adds the gradient subgraph to the graph.

The reverse sweep is the shared one (`framework.ops.autodiff.backprop`); each op's gradient rule
is the registry's rule, run on symbolic Tensors, so it adds nodes instead of computing numbers,
exactly the rules eager runs on data. Only ops on a path from an `x` to a `y` are
differentiated. Control-flow ops register their own rules in `GRADIENTS`.
"""

from __future__ import annotations

from framework.ops import F
from framework.ops.autodiff import apply_vjp, backprop
from framework.ops.registry import Spec
from graph.core import GraphError, Operation, Tensor, graph_of

GRADIENTS: dict = {}  # op type -> fn(op, cotangents) -> input gradients (control flow)
NOT_DIFFERENTIABLE = {"Const", "Placeholder", "VariableV2", "StopGradient", "NoOp", "Assign",
                      "AssignAdd", "AssignSub"}


def gradients(ys, xs, grad_ys=None, stop_gradients=None, name="gradients"):
    """d(sum of ys)/d(x) for each x, as new Tensors in the graph (None where unconnected).

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     x = tf.placeholder(tf.float32, (3,))
    ...     (g,) = tf.gradients(tf.reduce_sum(x * x), [x])
    ...     with tf.Session() as sess:
    ...         print(sess.run(g, {x: [1.0, 2.0, 3.0]}))
    [2. 4. 6.]
    """
    ys = [ys] if isinstance(ys, Tensor) else list(ys)
    xs_list = [xs] if isinstance(xs, Tensor) else list(xs)
    graph = graph_of(ys + xs_list)
    stops = {t.op if isinstance(t, Tensor) else t for t in (stop_gradients or [])}
    if grad_ys is None:
        grad_ys = [None] * len(ys)
    elif isinstance(grad_ys, Tensor):
        grad_ys = [grad_ys]

    # Ops reachable forward from the xs: only their inputs can carry a gradient to an x.
    x_ops = {x.op for x in xs_list}
    reaches_x = _ops_depending_on(graph, x_ops, stops)

    def edges(op):
        if op.type in NOT_DIFFERENTIABLE or op in stops:
            return [None] * len(op.inputs)
        return [(t.op, t.value_index) if t.op in reaches_x and t.dtype.kind == "f" else None
                for t in op.inputs]

    wanted = {(x.op, x.value_index): i for i, x in enumerate(xs_list)}
    found = [None] * len(xs_list)

    def vjp(op, cotangents):
        for index, g in enumerate(cotangents):
            slot = wanted.get((op, index))
            if slot is not None:
                found[slot] = g if found[slot] is None else F.add(found[slot], g)
        if op.type in NOT_DIFFERENTIABLE or op in stops:
            return [None] * len(op.inputs)
        return gradient_of(op, cotangents)

    seeds = []
    with graph.as_default(), graph.name_scope(name):
        for y, g in zip(ys, grad_ys):
            if g is None:
                g = F.ones_like(y)
            seeds.append((y.op, y.value_index, g))
        backprop(seeds, edges, vjp, lambda op: len(op.outputs))
    return found


def gradient_of(op: Operation, cotangents) -> list:
    """The input gradients of one op, as new symbolic Tensors."""
    rule = GRADIENTS.get(op.type)
    if rule is not None:
        return rule(op, cotangents)
    if op.primitive is None:
        raise GraphError(f"no gradient is defined for op type {op.type!r} ({op.name!r})")
    if op.primitive.vjp is None:
        return [None] * len(op.inputs)
    return apply_vjp(op.primitive, cotangents, op.inputs, op.outputs,
                     [Spec(t.shape, t.dtype) for t in op.inputs],
                     [Spec(t.shape, t.dtype) for t in op.outputs])


def _ops_depending_on(graph, sources, stops) -> set:
    depends = set(sources)
    for op in graph.operations:  # creation order is a topological order
        if op in depends or op in stops:
            continue
        if any(t.op in depends for t in op.inputs) or any(
                c in depends for c in op.attrs.get("captured_ops", ())):
            depends.add(op)
    return depends


def stop_gradient(x, name="StopGradient") -> Tensor:
    """The same value, but no gradient flows through it."""
    graph = graph_of([x])
    op = graph.add_operation("StopGradient", [x], [Spec(x.shape, x.dtype)], name=name)
    return op.outputs[0]


def identity(x, name="Identity") -> Tensor:
    graph = graph_of([x])
    op = graph.add_operation("Identity", [x], [Spec(x.shape, x.dtype)], name=name)
    return op.outputs[0]


def _identity_gradient(op, cotangents):
    return [cotangents[0]]


GRADIENTS["Identity"] = _identity_gradient
