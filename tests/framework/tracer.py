"""A minimal tape front-end used only by the tests.

It registers itself with `bind` like the real front-ends do, records each op application, and
differentiates with the shared `backprop` / `apply_vjp`. Because the gradient rules call the
neutral functions, running them on traced values records them too: second-order gradients
come out of the same code (as PyTorch's `create_graph=True`).
"""

from __future__ import annotations

import numpy as np

from framework.ops import F, execute, register_frontend
from framework.ops.autodiff import apply_vjp, backprop
from framework.ops.registry import Spec


class Node:
    __slots__ = ("op", "inputs", "outputs", "input_specs", "output_specs")

    def __init__(self, op, inputs, outputs):
        self.op = op
        self.inputs = inputs
        self.outputs = outputs
        self.input_specs = [Spec(x.shape, x.dtype) for x in inputs]
        self.output_specs = [Spec(y.shape, y.dtype) for y in outputs]


class Traced:
    __slots__ = ("value", "node", "index", "__weakref__")

    def __init__(self, value, node=None, index=0):
        self.value = np.asarray(value)
        self.node = node
        self.index = index

    shape = property(lambda self: self.value.shape)
    dtype = property(lambda self: self.value.dtype)
    ndim = property(lambda self: self.value.ndim)


class TracerFrontend:
    name = "tracer"

    def apply(self, op, args):
        inputs = [a if isinstance(a, Traced) else Traced(a) for a in args]
        result = execute(op, *(x.value for x in inputs))
        many = isinstance(result, tuple)
        outputs = [Traced(r) for r in (result if many else (result,))]
        node = Node(op, inputs, outputs)
        for i, y in enumerate(outputs):
            y.node, y.index = node, i
        return tuple(outputs) if many else outputs[0]


register_frontend(Traced, TracerFrontend())


def leaf(array) -> Traced:
    """An input to differentiate with respect to."""
    return Traced(array, node=("leaf", object()))


def grad(outputs, inputs, cotangents):
    """d(sum(outputs * cotangents)) / d(inputs), as Traced values (differentiable again)."""
    wanted = {x.node: i for i, x in enumerate(inputs)}
    found = [None] * len(inputs)

    def edges(node):
        if isinstance(node, tuple):
            return ()
        return [(x.node, x.index) if x.node is not None else None for x in node.inputs]

    def vjp(node, cotangents):
        if isinstance(node, tuple):
            found[wanted[node]] = cotangents[0]
            return ()
        saved_outputs = node.outputs
        return apply_vjp(node.op, cotangents, node.inputs, saved_outputs,
                         node.input_specs, node.output_specs)

    def num_outputs(node):
        return 1 if isinstance(node, tuple) else len(node.outputs)

    seeds = [(y.node, y.index, Traced(c)) for y, c in zip(outputs, cotangents)
             if y.node is not None]
    backprop(seeds, edges, vjp, num_outputs)
    return [g if g is not None else Traced(F.zeros(x.shape, x.dtype)) for g, x in
            zip(found, inputs)]
