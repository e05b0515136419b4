"""The tape of one forward pass as a TensorBoard `GraphDef`, for `SummaryWriter.add_graph`.

The walk of the tape is `eager.viz.describe`'s, the one the drawings use; this module only
renames its neutral nodes the way TensorBoard groups them. A node's name is its place in the
model followed by what it is, "/"-separated, as PyTorch's `add_graph` names them:
"Net/Linear[fc1]/linear" is the `linear` op run by the submodule `fc1` (a `Linear`) of a
`Net`, "Net/Linear[fc1]/weight" that module's weight; the tensors that need no gradient (the
data and constants) are "input/tensor", "input/tensor_1", ..., and the results "output/output".
Each node carries `_output_shapes` (TensorBoard labels edges with them), `dtype` and, for ops,
the user's line that ran it (`site`).

>>> import eager
>>> model = eager.nn.Sequential(eager.nn.Linear(3, 2), eager.nn.ReLU())
>>> graph = graph_def(model, eager.ones(4, 3))
>>> [(node.name, node.op) for node in graph.node][-3:]
[('Sequential/Linear[0]/linear', 'linear'), ('Sequential/ReLU[1]/relu', 'relu'), \
('output/output', 'IO Node')]
"""

from __future__ import annotations

import re

from tensorboardX.proto.attr_value_pb2 import AttrValue
from tensorboardX.proto.graph_pb2 import GraphDef
from tensorboardX.proto.node_def_pb2 import NodeDef
from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto
from tensorboardX.proto.types_pb2 import DataType
from tensorboardX.proto.versions_pb2 import VersionDef

from eager.autograd import enable_grad
from eager.tensor import Tensor
from eager.utils.tensorboard.writer import SummaryTypeError
from eager.viz import describe, module_scopes
from framework.errors import ArgumentError

__all__ = ["graph_def"]

# TensorFlow's names for our dtypes; a dtype not listed simply gets no `dtype` attribute.
_TF_DTYPES = {
    "float16": "DT_HALF", "float32": "DT_FLOAT", "float64": "DT_DOUBLE", "bool": "DT_BOOL",
    "int8": "DT_INT8", "int16": "DT_INT16", "int32": "DT_INT32", "int64": "DT_INT64",
    "uint8": "DT_UINT8",
}
IO_OP = "IO Node"          # PyTorch's op name for a graph's inputs and outputs
PARAMETER_OP = "Parameter"
_NOT_IN_NAMES = re.compile(r"[^A-Za-z0-9_.\-/\[\]]")  # what TensorFlow's node names refuse


def _outputs_of(result, model_name: str) -> list:
    """The Tensors a forward pass returned, refused with a clear error if nothing was recorded."""
    items = [result] if isinstance(result, Tensor) else result
    if not isinstance(items, (list, tuple)) or not items:
        raise SummaryTypeError(f"add_graph: {model_name}'s forward returned a "
                               f"{type(result).__name__}; it needs a Tensor or a tuple or "
                               "list of them")
    for k, item in enumerate(items):
        if not isinstance(item, Tensor):
            raise SummaryTypeError(f"add_graph: output {k} of {model_name}'s forward is a "
                                   f"{type(item).__name__}, not a Tensor")
        if item.grad_fn is None and not item.requires_grad:
            raise ArgumentError(
                f"add_graph: output {k} of {model_name}'s forward (shape {tuple(item.shape)}) "
                "was computed from tensors none of which requires grad, so the forward pass "
                "recorded no graph for it; give the model parameters that require grad, or an "
                "input with requires_grad=True")
    return list(items)


def _scope_names(model) -> dict:
    """Module path (a tuple) -> its TensorBoard scope, 'Net/Sequential[layers]/Linear[0]'."""
    root = type(model).__name__
    names = {(): root}
    for dotted, module in model.named_modules():
        if dotted:
            path = tuple(dotted.split("."))
            names[path] = f"{names[path[:-1]]}/{type(module).__name__}[{path[-1]}]"
    return names


def _shape_proto(shape) -> TensorShapeProto:
    return TensorShapeProto(dim=[TensorShapeProto.Dim(size=-1 if d is None else int(d))
                                 for d in shape])


def graph_def(model, input_to_model=None) -> GraphDef:
    """Run `model` once on `input_to_model` (a Tensor, or a tuple or list of positional
    arguments) and return the recorded tape as a `GraphDef`; see the module's docstring."""
    args = (() if input_to_model is None else (input_to_model,)
            if not isinstance(input_to_model, (tuple, list)) else tuple(input_to_model))
    model_name = type(model).__name__
    with enable_grad(), module_scopes(model):
        result = model(*args)
    nodes, edges = describe(_outputs_of(result, model_name), params=model, show_saved=False)

    scopes = _scope_names(model)
    taken: set = set()

    def unique(name: str) -> str:
        candidate, k = name, 0
        while candidate in taken:
            k += 1
            candidate = f"{name}_{k}"
        taken.add(candidate)
        return candidate

    names, ops = {}, {}
    for node in nodes:
        if node.kind == "input":
            names[node.id], ops[node.id] = unique("input/tensor"), IO_OP
        elif node.kind == "output":
            label = _NOT_IN_NAMES.sub("_", node.label)
            names[node.id], ops[node.id] = unique(f"output/{label}"), IO_OP
        else:
            scope = scopes.get(tuple(node.cluster), "/".join((model_name, *node.cluster)))
            short = node.op if node.kind == "op" else _NOT_IN_NAMES.sub("_", node.label)
            names[node.id] = unique(f"{scope}/{short}")
            ops[node.id] = node.op if node.kind == "op" else PARAMETER_OP

    inputs: dict[str, list] = {node.id: [] for node in nodes}
    values: dict[str, list] = {node.id: [] for node in nodes}  # (shape, dtype) each produces
    for edge in edges:
        inputs[edge.dst].append(names[edge.src])
        value = (edge.shape, edge.dtype)
        if edge.shape is not None and value not in values[edge.src]:
            values[edge.src].append(value)
    for node in nodes:  # an output produces nothing further: it shows the value it receives
        if node.kind == "output":
            values[node.id] = [(e.shape, e.dtype) for e in edges if e.dst == node.id]

    node_defs = []
    for node in nodes:
        attr = {}
        if values[node.id]:
            shapes = [_shape_proto(shape) for shape, _ in values[node.id]]
            attr["_output_shapes"] = AttrValue(list=AttrValue.ListValue(shape=shapes))
            tf_dtype = _TF_DTYPES.get(values[node.id][0][1])
            if tf_dtype is not None:
                attr["dtype"] = AttrValue(type=DataType.Value(tf_dtype))
        if node.site:
            attr["site"] = AttrValue(s=node.site.encode("utf-8"))
        node_defs.append(NodeDef(name=names[node.id], op=ops[node.id], input=inputs[node.id],
                                 attr=attr))
    return GraphDef(node=node_defs, versions=VersionDef(producer=22))
