"""Symbolic gradients: `gradients(ys, xs)` adds the gradient subgraph to the graph.

The reverse sweep is the shared one (`framework.ops.autodiff.backprop`); each op's gradient rule
is the registry's rule, run on symbolic Tensors, so it adds nodes instead of computing numbers,
exactly the rules eager runs on data. Only ops on a path from an `x` to a `y` are
differentiated. Graph-only ops (control flow, identity) carry their own rules: each node's kind
(`graph.ops`) has a `gradient` rule or says why it has none.
"""

from __future__ import annotations

import numpy as np

from framework.ops import F
from framework.ops.autodiff import backprop
from graph.core import GraphError, Operation, Tensor, constant, graph_of
from graph.ops import Identity, StopGradient


def gradients(ys, xs, grad_ys=None, stop_gradients=None, name="gradients",
              unconnected_gradients="none"):
    """d(sum of ys)/d(x) for each x, as new Tensors in the graph (TensorFlow 1's semantics).

    Returns a list with one entry per x: None where no y depends on x (or zeros, with
    `unconnected_gradients="zero"`). `grad_ys` weights each y (default: ones). Gradients do not
    flow through `stop_gradient` ops nor through the tensors listed in `stop_gradients`, which
    count as constants (an x listed there still gets its direct gradient). The result is made
    of ordinary ops, so calling `gradients` on it gives second derivatives.

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
    if unconnected_gradients not in ("none", "zero"):
        raise GraphError(f"unconnected_gradients must be 'none' or 'zero', got "
                         f"{unconnected_gradients!r}")
    for t in ys + xs_list:
        if not isinstance(t, Tensor):
            raise GraphError(f"gradients takes graph Tensors as ys and xs, got {t!r}")
    graph = ys[0].graph if ys else graph_of(xs_list)
    for t in ys + xs_list:
        if t.graph is not graph:
            raise GraphError(f"gradients: {t.name!r} belongs to another graph than the "
                             "other ys and xs")
    stops = {t.op if isinstance(t, Tensor) else t for t in (stop_gradients or [])}
    if grad_ys is None:
        grad_ys = [None] * len(ys)
    elif isinstance(grad_ys, Tensor):
        grad_ys = [grad_ys]
    else:
        grad_ys = list(grad_ys)
    if len(grad_ys) != len(ys):
        raise GraphError(f"gradients: {len(grad_ys)} grad_ys for {len(ys)} ys")

    # Ops reachable forward from the xs: only their inputs can carry a gradient to an x.
    x_ops = {x.op for x in xs_list}
    reaches_x = _ops_depending_on(graph, x_ops, stops)

    def edges(op):
        if op.kind.no_gradient or op in stops:
            return [None] * len(op.inputs)
        return [(t.op, t.value_index) if t.op in reaches_x and t.dtype.kind == "f" else None
                for t in op.inputs]

    wanted: dict = {}  # (op, output index) -> the positions of that x in xs (may repeat)
    for i, x in enumerate(xs_list):
        wanted.setdefault((x.op, x.value_index), []).append(i)
    found = [None] * len(xs_list)

    def vjp(op, cotangents):
        for index, g in enumerate(cotangents):
            for slot in wanted.get((op, index), ()):
                found[slot] = g if found[slot] is None else F.add(found[slot], g)
        needs = [edge is not None for edge in edges(op)]
        if not any(needs):  # e.g. an op reached only through an integer input
            return [None] * len(op.inputs)
        return gradient_of(op, cotangents, needs)

    seeds = []
    with graph.as_default(), graph.name_scope(name):
        for y, g in zip(ys, grad_ys):
            seeds.append((y.op, y.value_index, _seed(y, g)))
        backprop(seeds, edges, vjp, lambda op: len(op.outputs))
        if unconnected_gradients == "zero":
            found = [F.zeros_like(x) if g is None else g for x, g in zip(xs_list, found)]
    return found


def _seed(y: Tensor, grad_y):
    """The cotangent of `y`: ones by default, else `grad_y` checked against y's shape."""
    if grad_y is None:
        return F.ones_like(y)
    if not isinstance(grad_y, Tensor):
        grad_y = constant(np.asarray(grad_y, y.dtype), name="grad_ys")
    elif grad_y.graph is not y.graph:
        raise GraphError(f"gradients: grad_ys {grad_y.name!r} belongs to another graph than "
                         f"{y.name!r}")
    if not y.shape.is_compatible_with(grad_y.shape):
        raise GraphError(f"gradients: grad_ys of shape {grad_y.shape} for {y.name!r} of shape "
                         f"{y.shape}; they must match")
    if grad_y.dtype != y.dtype:
        grad_y = F.cast(grad_y, y.dtype)
    return grad_y


def gradient_of(op: Operation, cotangents, needs=None) -> list:
    """The input gradients of one op, as new symbolic Tensors: only those `needs` asks for (one
    bool per input, default all); the others are None."""
    if needs is None:
        needs = [True] * len(op.inputs)
    if op.kind.gradient is None:
        raise GraphError(f"no gradient is defined for op type {op.type!r} ({op.name!r}): "
                         f"{op.kind.no_gradient}")
    grads = op.kind.gradient(op, cotangents, needs)
    return [g if wanted else None for g, wanted in zip(grads, needs)]


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
    """The same value, but no gradient flows through it (it counts as a constant).

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     x = tf.placeholder(tf.float32, ())
    ...     y = x * tf.stop_gradient(x)
    ...     (g,) = tf.gradients(y, [x])
    ...     with tf.Session() as sess:
    ...         print(sess.run(g, {x: 3.0}))
    3.0
    """
    x = x if isinstance(x, Tensor) else constant(x)
    op = x.graph.add_operation(StopGradient(), [x], name=name)
    return op.outputs[0]


def identity(x, name="Identity") -> Tensor:
    """The same value as a new node: a name, or a handle for control dependencies.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     y = tf.identity(tf.constant([1.0, 2.0]), name="y")
    >>> y.name
    'y:0'
    """
    x = x if isinstance(x, Tensor) else constant(x)
    op = x.graph.add_operation(Identity(), [x], name=name)
    return op.outputs[0]

