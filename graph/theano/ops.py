"""The graph ops Theano's API needs that TensorFlow 1's does not: values whose sizes come from
other values at run time (`T.arange(n)`, `T.zeros((n, 3))`, `x.reshape((x.shape[0], -1))`),
and indexing with symbolic indices (`x[i]`, `x[i:j]`, `x[T.arange(n), y]`) with its inverse
(`T.set_subtensor`, `T.inc_subtensor`).

Each is a graph op kind declared once with its rules (`graph.ops`): a shape rule at build time
(None for what only the run knows), a way to run on NumPy, and a gradient rule. Index values,
sizes and bounds are checked before NumPy sees them; an error names the op's line.

An index is kept as a *template*: the Python index the user wrote, with each symbolic part
replaced by `Slot(k)`, the op's input k. A run fills the slots with the inputs' values.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from framework.errors import IndexingError, ShapeError
from framework.ops.registry import Spec
from graph.ops import GraphOp, register_graph_op, sum_to_shape_of

__all__ = ["ARange", "Alloc", "DynamicReshape", "IncSubtensor", "Slot", "Subtensor",
           "static_shape_of_index"]


@dataclasses.dataclass(frozen=True)
class Slot:
    """A symbolic part of an index template: the op's input number `position`."""

    position: int


def _is_integer(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _scalar_int(value, what: str, op) -> int:
    array = np.asarray(value)
    if array.ndim != 0 or array.dtype.kind not in "iu":
        raise IndexingError(f"{op.type}: {what} must be an integer scalar, got a value of dtype "
                            f"{array.dtype} and shape {array.shape}")
    return int(array)


# -- ARange ------------------------------------------------------------------------------------


@register_graph_op
class ARange(GraphOp):
    """`np.arange(start, stop, step)` with each bound a scalar input: Theano's T.arange, whose
    length may be known only at run time. attrs: `dtype`, `length` (static, or None)."""

    name = "ARange"
    viz_family = "creation"
    no_gradient = "a range of numbers: no input value changes it smoothly"

    def infer(self, inputs, attrs):
        for tensor in inputs:
            if tensor.shape.ndims not in (None, 0):
                raise ShapeError(f"arange: start, stop and step must be scalars, got "
                                 f"{tensor.name!r} of shape {tensor.shape}")
        return [Spec((attrs["length"],), attrs["dtype"])]

    def run(self, run, op, inputs):
        start, stop, step = (np.asarray(v) for v in inputs)
        for what, value in (("start", start), ("stop", stop), ("step", step)):
            if value.ndim != 0:
                raise ShapeError(f"arange: {what} must be a scalar, got shape {value.shape}")
        if step == 0:
            raise ShapeError("arange: step must not be 0")
        return (np.arange(start, stop, step, dtype=op.attrs["dtype"]),)


# -- Alloc -------------------------------------------------------------------------------------


@register_graph_op
class Alloc(GraphOp):
    """A new array of shape `attrs["shape"]` filled with input 0 (broadcast to it): Theano's
    T.alloc and T.zeros / T.ones with symbolic sizes. A dimension of the template is an int or
    `Slot(k)`, an integer scalar input whose run-time value is the size."""

    name = "Alloc"
    viz_family = "creation"

    def infer(self, inputs, attrs):
        value = inputs[0]
        dims = tuple(d if _is_integer(d) else None for d in attrs["shape"])
        if value.shape.ndims is not None and value.shape.ndims > len(dims):
            raise ShapeError(f"alloc: a value of shape {value.shape} cannot fill {len(dims)} "
                             "dimensions")
        return [Spec(dims, attrs["dtype"])]

    def run(self, run, op, inputs):
        dims = []
        for d in op.attrs["shape"]:
            size = _scalar_int(inputs[d.position], "a size", op) if isinstance(d, Slot) else d
            if size < 0:
                raise ShapeError(f"alloc: negative size {size} in shape "
                                 f"{_shape_text(op.attrs['shape'], inputs)}")
            dims.append(size)
        value = np.asarray(inputs[0])
        try:
            np.broadcast_shapes(value.shape, tuple(dims))
        except ValueError:
            raise ShapeError(f"alloc: a value of shape {value.shape} cannot be broadcast to "
                             f"{tuple(dims)}") from None
        out = np.empty(tuple(dims), op.attrs["dtype"])
        out[...] = value
        return (out,)

    def gradient(self, op, cotangents, needs):
        grads = [None] * len(op.inputs)
        if needs[0] and op.inputs[0].dtype.kind == "f":
            grads[0] = sum_to_shape_of(cotangents[0], op.inputs[0])
        return grads


def _shape_text(template, inputs) -> str:
    return "(" + ", ".join(str(np.asarray(inputs[d.position])) if isinstance(d, Slot) else
                           str(d) for d in template) + ")"


# -- reshape with sizes known at run time ------------------------------------------------------


@register_graph_op
class DynamicReshape(GraphOp):
    """x reshaped to `attrs["shape"]`, whose entries are ints (-1 once at most) or `Slot(k)`,
    integer scalar inputs; or, with `attrs["like"]`, to the run-time shape of input 1 (the
    gradient's way back)."""

    name = "DynamicReshape"
    viz_family = "movement"

    def infer(self, inputs, attrs):
        x = inputs[0]
        if attrs.get("like"):
            return [Spec.raw(inputs[1].shape, x.dtype)]
        dims = [d if _is_integer(d) else None for d in attrs["shape"]]
        known = x.shape.num_elements() if x.shape.ndims is not None else None
        if -1 in dims and known is not None and all(d is not None for d in dims):
            rest = int(np.prod([d for d in dims if d != -1], dtype=np.int64))
            dims[dims.index(-1)] = known // rest if rest else None
        return [Spec(tuple(None if d == -1 else d for d in dims), x.dtype)]

    def run(self, run, op, inputs):
        x = np.asarray(inputs[0])
        if op.attrs.get("like"):
            target = np.shape(inputs[1])
        else:
            target = tuple(_scalar_int(inputs[d.position], "a size", op) if isinstance(d, Slot)
                           else d for d in op.attrs["shape"])
        if sum(d == -1 for d in target) > 1 or any(d < -1 for d in target):
            raise ShapeError(f"reshape: sizes must be >= 0 with at most one -1, got {target}")
        rest = int(np.prod([d for d in target if d != -1], dtype=np.int64))
        fits = (x.size % rest == 0 if rest else x.size == 0) if -1 in target else \
            x.size == rest
        if not fits:
            raise ShapeError(f"reshape: cannot reshape a value of shape {x.shape} ({x.size} "
                             f"elements) into shape {target}")
        return (np.ascontiguousarray(x).reshape(target).copy(),)

    def gradient(self, op, cotangents, needs):
        grads = [None] * len(op.inputs)
        if needs[0]:
            grads[0] = reshape_like(cotangents[0], op.inputs[0])
        return grads


def reshape_like(x, like):
    """A DynamicReshape node: `x` reshaped to `like`'s shape when the graph runs."""
    return x.graph.add_operation(DynamicReshape(), [x, like], name="ReshapeLike",
                                 attrs={"like": True}).outputs[0]


# -- indexing ----------------------------------------------------------------------------------


def _materialize(template, inputs, op) -> tuple:
    """The NumPy index `template` stands for, its slots filled with the inputs' values, each
    checked: an integer scalar (or, in an index position, an integer array)."""
    def fill(part, in_slice: bool):
        if isinstance(part, Slot):
            value = np.asarray(inputs[part.position])
            if value.dtype.kind not in "iu":
                raise IndexingError(
                    f"{op.type}: index {part.position} must hold integers, got dtype "
                    f"{value.dtype}")
            if value.ndim == 0:
                return int(value)
            if in_slice:
                raise IndexingError(f"{op.type}: a slice bound must be a scalar, got shape "
                                    f"{value.shape}")
            return value
        if isinstance(part, slice):
            return slice(fill(part.start, True) if part.start is not None else None,
                         fill(part.stop, True) if part.stop is not None else None,
                         fill(part.step, True) if part.step is not None else None)
        return part

    index = tuple(fill(part, False) for part in template)
    for part in index:
        if isinstance(part, slice) and part.step == 0:
            raise IndexingError(f"{op.type}: slice step cannot be zero")
    return index


def _index_error(op, x, index, error) -> IndexingError:
    return IndexingError(f"{op.type}: cannot index a value of shape {np.shape(x)} with "
                         f"[{_index_text(index)}]: {error}")


def _index_text(index) -> str:
    def bound(value):
        return "" if value is None else "?" if isinstance(value, Slot) else str(value)

    def text(part):
        if isinstance(part, Slot):
            return "?"
        if isinstance(part, slice):
            start, stop, step = (bound(v) for v in (part.start, part.stop, part.step))
            return f"{start}:{stop}" + (f":{step}" if step else "")
        if part is Ellipsis:
            return "..."
        if isinstance(part, np.ndarray):
            return f"array of shape {part.shape}" if part.size > 6 else str(part.tolist())
        return str(part)

    return ", ".join(text(part) for part in index)


def _probe_index(template, specs, probe: int):
    """`template` with every slot filled by a stand-in: 0 for a scalar, zeros for an array, and
    for a slice with a symbolic bound a slice of `probe` elements. What differs between probes
    0 and 1 is not known statically. An array's unknown sizes take the size the index arrays
    broadcast to where another array knows it, else `probe` + 2 (so they broadcast)."""
    arrays = [specs[p.position].shape for p in template
              if isinstance(p, Slot) and specs[p.position].shape.ndims]
    broadcast = _broadcast_static(arrays)

    def stand_in(part):
        if isinstance(part, Slot):
            shape = specs[part.position].shape
            if shape.ndims == 0:
                return 0
            offset = len(broadcast) - len(shape)
            sizes = tuple(d if d is not None else
                          probe + 2 if broadcast[offset + i] is None else broadcast[offset + i]
                          for i, d in enumerate(shape))
            return np.zeros(sizes, np.int64)
        if isinstance(part, slice) and any(isinstance(v, Slot)
                                           for v in (part.start, part.stop, part.step)):
            return slice(0, probe)
        return part

    return tuple(stand_in(part) for part in template)


def _broadcast_static(shapes) -> tuple:
    """The static shape index arrays broadcast to: a size where one of them knows it (other
    than 1), else None where one is unknown, else 1. Known sizes that clash raise."""
    rank = max((len(s) for s in shapes), default=0)
    result = []
    for position in range(rank):
        sizes = [s[len(s) - rank + position] for s in shapes if len(s) - rank + position >= 0]
        known = {d for d in sizes if d is not None and d != 1}
        if len(known) > 1:
            raise IndexingError(f"shape mismatch: index arrays of shapes "
                                f"{', '.join(str(tuple(s)) for s in shapes)} cannot be "
                                "broadcast together")
        result.append(known.pop() if known else None if None in sizes else 1)
    return tuple(result)


def static_shape_of_index(x_shape, template, specs) -> tuple | None:
    """The shape `x[index]` has, as far as the static shapes tell: NumPy's own indexing, run
    twice on zero-strided stand-ins whose unknown sizes differ; a size that differs between
    the two is unknown (None). None where a rank is unknown. An index that no value of these
    static shapes accepts (an int beyond a known size) raises IndexingError now."""
    if x_shape.ndims is None or any(
            isinstance(part, Slot) and specs[part.position].shape.ndims is None
            for part in template):
        return None
    results = []
    for probe in (0, 1):
        dummy = np.broadcast_to(np.empty((), np.int8),
                                tuple((1 << 20) + probe if d is None else d for d in x_shape))
        try:
            results.append(dummy[_probe_index(template, specs, probe)].shape)
        except IndexError as error:
            raise IndexingError(f"cannot index a value of shape {x_shape} with "
                                f"[{_index_text(template)}]: {error}") from None
    return tuple(None if a != b else a for a, b in zip(*results))


@register_graph_op
class Subtensor(GraphOp):
    """`x[index]` for any NumPy index (`attrs["index"]`, a template; see the module
    docstring): Theano's Subtensor, AdvancedSubtensor1 and AdvancedSubtensor in one. Index
    values are checked, negative ones count from the end as in NumPy and Theano, and an index
    out of bounds raises IndexError naming the op's line."""

    name = "Subtensor"
    viz_family = "indexing"

    def infer(self, inputs, attrs):
        shape = static_shape_of_index(inputs[0].shape, attrs["index"], inputs)
        return [Spec.raw(shape, inputs[0].dtype) if shape is None else
                Spec(shape, inputs[0].dtype)]

    def run(self, run, op, inputs):
        x = np.asarray(inputs[0])
        index = _materialize(op.attrs["index"], inputs, op)
        try:
            out = x[index]
        except IndexError as error:
            raise _index_error(op, x, index, error) from None
        out = np.asarray(out)
        return (out.copy() if out.base is not None else out,)

    def gradient(self, op, cotangents, needs):
        grads = [None] * len(op.inputs)
        if needs[0] and op.inputs[0].dtype.kind == "f":
            grads[0] = inc_subtensor_node(_zeros_like(op.inputs[0]), cotangents[0],
                                          op.attrs["index"], op.inputs[1:], set_instead=False)
        return grads


def _zeros_like(x):
    from framework.ops import F

    return F.zeros_like(x)


def _zero_like_scalar(x):
    from graph.core import constant

    return constant(np.zeros((), x.dtype), graph=x.graph)


@register_graph_op
class IncSubtensor(GraphOp):
    """A copy of x with y added at `attrs["index"]` (np.add.at: repeated indices add up), or,
    with `attrs["set"]`, written there: Theano's inc_subtensor and set_subtensor. y broadcasts
    to the indexed region's shape. Inputs: x, y, then the template's slots."""

    name = "IncSubtensor"
    viz_family = "indexing"

    def infer(self, inputs, attrs):
        x, y = inputs[0], inputs[1]
        if y.dtype != x.dtype:
            raise ShapeError(f"{'set' if attrs['set'] else 'inc'}_subtensor: the value has "
                             f"dtype {y.dtype}, the tensor {x.dtype}")
        region = static_shape_of_index(x.shape, attrs["index"], _shifted(inputs))
        if region is not None and y.shape.ndims is not None:
            if len(y.shape) > len(region) or any(
                    a is not None and b is not None and a != b and a != 1
                    for a, b in zip(reversed(y.shape), reversed(region))):
                raise ShapeError(f"{'set' if attrs['set'] else 'inc'}_subtensor: a value of "
                                 f"shape {y.shape} cannot be broadcast to the indexed region, "
                                 f"of shape {region}")
        return [Spec.raw(x.shape, x.dtype)]

    def run(self, run, op, inputs):
        x, y = np.asarray(inputs[0]), np.asarray(inputs[1])
        index = _materialize(op.attrs["index"], _shifted(inputs), op)
        out = x.copy()
        try:
            region = out[index]
            if not _broadcastable(y.shape, np.shape(region)):
                raise ShapeError(f"{op.type}: a value of shape {y.shape} cannot be broadcast to "
                                 f"the indexed region, of shape {np.shape(region)}")
            if op.attrs["set"]:
                out[index] = y
            else:
                np.add.at(out, index, y)
        except IndexError as error:
            raise _index_error(op, x, index, error) from None
        return (out,)

    def gradient(self, op, cotangents, needs):
        g = cotangents[0]
        x, y = op.inputs[0], op.inputs[1]
        slots = op.inputs[2:]
        template = op.attrs["index"]
        grads = [None] * len(op.inputs)
        if needs[0] and x.dtype.kind == "f":
            grads[0] = inc_subtensor_node(g, _zero_like_scalar(g), template, slots,
                                          set_instead=True) if op.attrs["set"] else g
        if needs[1] and y.dtype.kind == "f":
            picked = subtensor_node(g, template, slots)
            grads[1] = sum_to_shape_of(picked, y)
        return grads


def _broadcastable(source, target) -> bool:
    try:
        return np.broadcast_shapes(tuple(source), tuple(target)) == tuple(target)
    except ValueError:
        return False


class _Shifted:
    """The inputs of an IncSubtensor seen as a Subtensor's: slot k is input k + 1 (y sits
    between x and the slots)."""

    def __init__(self, inputs):
        self.inputs = inputs

    def __getitem__(self, position):
        return self.inputs[position + 1]


def _shifted(inputs):
    return _Shifted(inputs)


def subtensor_node(x, template, slots):
    """A Subtensor node: x indexed by `template` whose Slot(k) are `slots[k - 1]`."""
    return x.graph.add_operation(Subtensor(), [x, *slots], name="Subtensor",
                                 attrs={"index": template}).outputs[0]


def inc_subtensor_node(x, y, template, slots, set_instead: bool):
    """An IncSubtensor node: x with y added (or written, `set_instead`) at the index."""
    return x.graph.add_operation(IncSubtensor(), [x, y, *slots],
                                 name="SetSubtensor" if set_instead else "IncSubtensor",
                                 attrs={"index": template, "set": set_instead}).outputs[0]
