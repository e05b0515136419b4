"""Reverse-mode machinery shared by both front-ends.

Eager walks the tape a forward pass recorded; the graph front-end walks its static graph to build
a gradient subgraph. Both do it with these helpers, so the order of work, fan-out accumulation and
broadcast un-reduction are written once:

- `toposort`: an iterative depth-first order (no recursion limit on deep graphs);
- `backprop`: one reverse sweep, accumulating cotangents where a value fans out;
- `apply_vjp`: calls an op's gradient rule and folds each gradient back onto its input's shape
  (broadcast un-reduction) and dtype.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence

from framework.ops.registry import Op, Spec
from framework.shapes import broadcast_reduction_axes


def toposort(roots: Iterable[Hashable], parents: Callable) -> list:
    """Every node reachable from `roots`, each listed after all of its parents.

    Iterative post-order depth-first search, so a 100,000-op chain needs no recursion.

    >>> toposort(["c"], {"c": ["a", "b"], "b": ["a"], "a": []}.get)
    ['a', 'b', 'c']
    """
    order: list = []
    visited: set = set()
    for root in roots:
        if root in visited:
            continue
        visited.add(root)
        stack = [(root, iter(parents(root)))]
        while stack:
            node, pending = stack[-1]
            for parent in pending:
                if parent not in visited:
                    visited.add(parent)
                    stack.append((parent, iter(parents(parent))))
                    break
            else:
                stack.pop()
                order.append(node)
    return order


def accumulate(total, grad):
    """Fan-out: a value used twice receives the sum of both cotangents."""
    if total is None:
        return grad
    if grad is None:
        return total
    from framework.ops import functions as F

    return F.add(total, grad)


def backprop(seeds, edges: Callable, vjp: Callable, num_outputs: Callable) -> None:
    """One reverse sweep over a graph of op applications ("nodes").

    seeds: (node, output_index, cotangent) triples, e.g. (loss_node, 0, ones).
    edges(node): one entry per input, `(parent_node, parent_output_index)` or None where no
        gradient flows (constants, integer inputs, stop_gradient).
    vjp(node, cotangents): the input gradients given one cotangent per output (None where no
        gradient arrived). Leaves (nodes without edges) see their cotangents here too: that is
        where a front-end stores `.grad` or collects the gradients it was asked for.
    num_outputs(node): how many outputs the node has.

    Cotangents are released as soon as their node is done, so memory stays bounded by the
    live frontier of the sweep, as in PyTorch's engine.
    """
    pending: dict = {}
    for node, index, grad in seeds:
        slots = pending.setdefault(node, [None] * num_outputs(node))
        slots[index] = accumulate(slots[index], grad)

    def parents(node):
        found = []
        for edge in edges(node):  # a loop: a comprehension is one more call per node
            if edge is not None:
                found.append(edge[0])
        return found

    for node in reversed(toposort(list(pending), parents)):
        cotangents = pending.pop(node, None)
        if cotangents is None:
            continue
        for c in cotangents:
            if c is not None:
                break
        else:
            continue  # no gradient reached this node
        # Each cotangent is held by its slot alone while `vjp` runs, so a front-end may tell
        # whether anything else references it (eager leaves keep such a buffer uncopied).
        c = None
        input_grads = vjp(node, cotangents)
        for edge, grad in zip(edges(node), input_grads):
            if edge is None or grad is None:
                continue
            parent, index = edge
            slots = pending.get(parent)
            if slots is None:
                slots = pending[parent] = [None] * num_outputs(parent)
            previous = slots[index]
            slots[index] = grad if previous is None else accumulate(previous, grad)
        input_grads = grad = previous = None


def apply_vjp(op: Op, cotangents: Sequence, inputs: Sequence, outputs: Sequence,
              input_specs: Sequence[Spec], output_specs: Sequence[Spec],
              needs: Sequence[bool] | None = None) -> list:
    """Run an op's gradient rule and fit each gradient to its input.

    Missing cotangents of a multi-output op become zeros; gradients of integer or bool inputs are
    None; every gradient is summed back over broadcast axes and cast to its input's dtype.
    `inputs` / `outputs` may hold None for values the front-end chose not to save (see
    `Op.vjp_needs_inputs`). `needs` (one bool per input, default all) says which gradients are
    wanted; rules that declare `vjp_takes_needs` skip the others, and they come back None.
    """
    if op.no_gradient is not None:  # an op without a gradient rule passes nothing back
        return [None] * len(input_specs)
    if len(output_specs) == 1:
        g, out = cotangents[0], outputs[0] if outputs else None
    else:
        saved = outputs or [None] * len(output_specs)
        g = tuple(c if c is not None else _zeros_for(spec, o)
                  for c, spec, o in zip(cotangents, output_specs, saved))
        out = tuple(outputs) if outputs else None
    if needs is not None and op.vjp_takes_needs:
        grads = op.vjp(g, tuple(inputs), out, tuple(needs))
    else:
        grads = op.vjp(g, tuple(inputs), out)
    if type(grads) is not tuple and type(grads) is not list:
        grads = (grads,)
    fitted = []
    for i, (grad, spec) in enumerate(zip(grads, input_specs)):
        if grad is None or spec.dtype.kind != "f" or (needs is not None and not needs[i]):
            fitted.append(None)
        elif grad.shape == spec.shape and grad.dtype == spec.dtype:
            fitted.append(grad)  # the common case: nothing to un-broadcast or cast
        else:
            fitted.append(fit_gradient(grad, spec))
    return fitted


def _zeros_for(spec: Spec, output):
    """The cotangent of an output no gradient reached: zeros of its shape."""
    from framework.ops import functions as F

    if all(d is not None for d in spec.shape):
        return F.zeros(spec.shape, spec.dtype)
    if output is None:
        raise ValueError(f"cannot make zeros of unknown shape {spec.shape} without the output")
    return F.zeros_like(output)


def fit_gradient(grad, spec: Spec):
    """Broadcast un-reduction: sum `grad` over the axes that broadcasting stretched."""
    from framework.ops import functions as F

    if grad.shape != spec.shape and tuple(grad.shape) != tuple(spec.shape):
        dropped, stretched = broadcast_reduction_axes(grad.shape, spec.shape)
        if stretched:  # first, while the axis numbers still refer to grad's own axes
            grad = F.sum(grad, axis=stretched, keepdims=True)
        if dropped:
            grad = F.sum(grad, axis=dropped)
    if grad.dtype != spec.dtype:
        grad = F.cast(grad, spec.dtype)
    return grad
