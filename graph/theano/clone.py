"""Copying part of a graph with some tensors replaced: what `givens`, `theano.clone` and the
lazy `ifelse` are made of.

`clone_replace(outputs, replace)` rebuilds the ops between the replaced tensors and `outputs`
in the current graph context, each copy running its op's shape rule on its new inputs; ops that
do not depend on a replaced tensor are shared, not copied. With `everything=True` every op that
can be copied is copied (down to the graph's inputs, variables and constants), which is how
`ifelse` moves a branch's computation inside the branch so that it runs only when chosen.

An op that runs subgraphs of its own (a cond, a while loop, a scan) or changes a variable cannot
be copied: a replacement under one is refused with an error naming it; `everything=True` leaves
it where it is (it then runs whichever branch is chosen).
"""

from __future__ import annotations

import contextlib

from framework.ops.autodiff import toposort
from graph.core import GraphError, GraphFrontend, Operation, Tensor, site_of
from graph.ops import PRIMITIVE, Const, Placeholder

__all__ = ["clone_replace"]

_FRONTEND = GraphFrontend()


def _copyable(op: Operation) -> bool:
    kind = op.kind
    if not op.inputs or kind.is_variable or kind.assigns:
        return False
    if isinstance(kind, (Const, Placeholder)) or kind.contexts(op):
        return False
    return "captured_ops" not in op.attrs


def _copy(op: Operation, inputs: list) -> tuple:
    graph = op.graph
    dependencies = graph.control_dependencies(op.control_inputs) if op.control_inputs else \
        contextlib.nullcontext()
    with dependencies:
        if op.kind is PRIMITIVE:
            result = _FRONTEND.apply(op.primitive, inputs)
            outputs = result if isinstance(result, tuple) else (result,)
        else:
            short = op.name.rsplit("/", 1)[-1]
            outputs = graph.add_operation(op.kind, inputs, name=short,
                                          attrs=dict(op.attrs)).outputs
    outputs[0].op.site = op.site  # a copy's errors name the line that made the original
    return outputs


def clone_replace(outputs, replace=None, everything: bool = False) -> list:
    """`outputs` (graph Tensors) rebuilt with each key of `replace` ({Tensor: Tensor})
    replaced by its value; see the module docstring.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     x, y = tf.placeholder(tf.float32, ()), tf.placeholder(tf.float32, ())
    ...     (z,) = clone_replace([x * 2.0 + 1.0], {x: y})
    ...     with tf.Session() as sess:
    ...         print(sess.run(z, {y: 3.0}))
    7.0
    """
    replace = dict(replace or {})
    for key, value in replace.items():
        if not isinstance(key, Tensor) or not isinstance(value, Tensor):
            raise GraphError(f"clone_replace: replacements map graph Tensors to graph Tensors, "
                             f"got {key!r}: {value!r}")
    memo: dict = dict(replace)

    def parents(op):
        return [t.op for t in op.inputs if t not in replace]

    roots = [t.op for t in outputs if t not in replace]
    for op in toposort(roots, parents):
        if all(t in memo for t in op.outputs):
            continue
        inputs = [memo.get(t, t) for t in op.inputs]
        changed = any(new is not old for new, old in zip(inputs, op.inputs))
        if not (changed or (everything and _copyable(op))):
            continue
        if not _copyable(op):
            if everything and not changed:
                continue
            replaced = next(old for new, old in zip(inputs, op.inputs) if new is not old)
            raise GraphError(
                f"cannot replace what {op.name!r} (a {op.type}, created at {site_of(op)}) "
                f"reads through {replaced.name!r}: that op runs a subgraph of its own or "
                "changes a variable, and cannot be copied. Feed the value as an input instead")
        for old, new in zip(op.outputs, _copy(op, inputs)):
            memo[old] = new
    return [memo.get(t, t) for t in outputs]
