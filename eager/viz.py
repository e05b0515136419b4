"""Drawing the eager autograd graph: what one forward pass recorded, as it is now.

`draw(loss)` walks the backward nodes from `loss.grad_fn` (the tape the forward pass just
recorded) and draws them in the direction the values flowed: leaves and inputs at the top,
ops in the middle, the output at the bottom. Every call draws the graph of that very pass, so
code with a Python `if` gives a different drawing for each branch it took.

>>> import eager
>>> w = eager.tensor([2.0], requires_grad=True)
>>> nodes, edges = describe((w * 3.0).sum(), params={"w": w})
>>> [n.label for n in nodes if n.kind in ("op", "parameter")]
['w', 'MulBackward', 'SumBackward']
"""

from __future__ import annotations

from contextlib import contextmanager

from eager.autograd import _state
from framework.viz import VizEdge, VizNode, shape_text, site_text, to_digraph

__all__ = ["describe", "draw", "module_scopes"]


@contextmanager
def module_scopes(model):
    """Record, for each op run inside, the submodule of `model` that ran it (its dotted name),
    so drawings cluster ops by module and fold repeated layers, as name scopes do in a graph.

    Off by default (it costs hook calls per module); on for the forward passes to be drawn.

    >>> import eager
    >>> model = eager.nn.Sequential(eager.nn.Linear(2, 2), eager.nn.ReLU())
    >>> with module_scopes(model):
    ...     out = model(eager.ones(1, 2))
    >>> out.grad_fn.scope, out.grad_fn.next_functions[0][0].scope
    (('1',), ('0',))
    """
    saved: list[tuple] = []

    def enter(module, args, path):
        saved.append(_state.scope)
        _state.scope = path

    def leave(module, args, output):
        _state.scope = saved.pop()

    handles = []
    for name, module in model.named_modules():
        if not name:
            continue  # the model itself: its ops sit at the top level
        path = tuple(name.split("."))
        handles.append(module.register_forward_pre_hook(
            lambda module, args, path=path: enter(module, args, path)))
        handles.append(module.register_forward_hook(leave))
    outer = _state.scope
    try:
        yield model
    finally:
        for handle in handles:
            handle.remove()
        _state.scope = outer  # also after a forward that raised midway


def _named_parameters(params) -> dict:
    """id(tensor) -> dotted name, from a Module, a dict, or (name, tensor) pairs."""
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        pairs = params.named_parameters()
    elif isinstance(params, dict):
        pairs = params.items()
    else:
        pairs = params
    named = {}
    for name, tensor in pairs:
        named.setdefault(id(tensor), str(name))
    return named


def _as_outputs(outputs) -> list:
    from eager.tensor import Tensor

    items = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    for k, item in enumerate(items):
        if not isinstance(item, Tensor):
            raise TypeError(f"draw takes an eager Tensor or a list of them; item {k} is a "
                            f"{type(item).__name__}")
        if item.grad_fn is None and not item.requires_grad:
            raise ValueError(
                f"output {k} (shape {item.shape}) has no grad_fn: nothing was recorded for it. "
                "Draw a result computed from tensors with requires_grad=True, outside no_grad")
    return items


def describe(outputs, params=None, show_saved=True, show_inputs=True):
    """The neutral (nodes, edges) of the graph recorded for `outputs`, for `framework.viz`.

    Op nodes carry the registry op (so they look like the same op in a graph drawing) and the
    backward node's name; leaves are "parameter" nodes named from `params` (a Module, a dict
    name -> Tensor, or (name, tensor) pairs) and clustered by module prefix ("fc1.weight" sits
    in cluster "fc1"); with `show_saved`, each value kept for backward is a small node with
    its shape; with `show_inputs`, each input that needs no gradient (data, constants) is an
    "input" node. Edges carry the value's shape and dtype.
    """
    outputs = _as_outputs(outputs)
    names = _named_parameters(params)
    nodes: list[VizNode] = []
    edges: list[VizEdge] = []
    ids: dict[int, str] = {}     # id(backward node or leaf tensor) -> drawing id
    alive: list = []             # keep walked objects alive, so ids stay unique meanwhile

    def new_id() -> str:
        return f"n{len(nodes)}"

    def leaf(tensor) -> str:
        key = id(tensor)
        if key not in ids:
            alive.append(tensor)
            ids[key] = new_id()
            name = names.get(key)
            *module, short = name.split(".") if name else ("",)
            label = short if name else (tensor.name or "leaf")
            nodes.append(VizNode(ids[key], None, "parameter", label, cluster=tuple(module),
                                 details=(shape_text(tensor.shape, tensor.dtype),)))
        return ids[key]

    def visit(node) -> str:
        """The drawing id of a backward node, adding it and everything it reads."""
        if node.name == "AccumulateGrad":
            return leaf(node.variable)
        key = id(node)
        if key in ids:
            return ids[key]
        alive.append(node)
        stack = [node]
        while stack:  # iterative: a long tape must not hit Python's recursion limit
            current = stack[-1]
            pending = [nxt for nxt, _ in current.next_functions
                       if nxt is not None and nxt.name != "AccumulateGrad" and id(nxt) not in ids
                       and nxt not in stack]
            if pending:
                stack.extend(pending[:1])
                continue
            stack.pop()
            if id(current) not in ids:
                add_op(current)
        return ids[key]

    def add_op(node) -> None:
        alive.append(node)
        sources = []
        for (nxt, _), spec in zip(node.next_functions, node.input_specs):
            value = (shape_text(spec.shape, spec.dtype), tuple(spec.shape), str(spec.dtype))
            if nxt is None:
                if show_inputs:
                    input_id = new_id()
                    nodes.append(VizNode(input_id, None, "input", "tensor",
                                         details=(value[0],)))
                    sources.append((input_id, value))
            else:
                sources.append((visit(nxt), value))
        node_id = ids[id(node)] = new_id()
        nodes.append(VizNode(node_id, node.op.name, "op", node.name,
                             cluster=node.scope, site=site_text(node.site)))
        for src, (label, shape, dtype) in sources:
            edges.append(VizEdge(src, node_id, label, shape=shape, dtype=dtype))
        if show_saved:
            for shape in node.saved_shapes:
                saved_id = new_id()
                nodes.append(VizNode(saved_id, None, "saved", "saved",
                                     details=(shape_text(shape),)))
                edges.append(VizEdge(saved_id, node_id, kind="saved"))

    for k, tensor in enumerate(outputs):
        source = visit(tensor.grad_fn) if tensor.grad_fn is not None else leaf(tensor)
        output_id = new_id()
        label = tensor.name or ("output" if len(outputs) == 1 else f"output {k}")
        text = shape_text(tensor.shape, tensor.dtype)
        nodes.append(VizNode(output_id, None, "output", label, details=(text,)))
        edges.append(VizEdge(source, output_id, text, shape=tuple(tensor.shape),
                             dtype=str(tensor.dtype)))
    return nodes, edges


def draw(outputs, params=None, show_saved=True, show_inputs=True, *, fold=True, collapse=None,
         max_nodes=300, title=None, rankdir="TB"):
    """A graphviz Digraph of the backward graph recorded for `outputs` (a Tensor or a list).

    See `describe` for what is drawn and `framework.viz.simplify` for `fold`, `collapse` and
    `max_nodes` (by default, clusters collapse once more than 300 nodes would be drawn). It
    displays inline in Jupyter; `framework.viz.render(dot, "png")` gives bytes.

    >>> import eager
    >>> model = eager.nn.Linear(3, 2)
    >>> loss = model(eager.ones(4, 3)).sum()
    >>> dot = draw(loss, params=model)
    >>> "weight" in dot.source and "(4, 2) float32" in dot.source
    True
    """
    nodes, edges = describe(outputs, params, show_saved=show_saved, show_inputs=show_inputs)
    return to_digraph(nodes, edges, fold=fold, collapse=collapse, max_nodes=max_nodes,
                      title=title, rankdir=rankdir)
