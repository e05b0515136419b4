"""Shapes given as tensors: TensorFlow 1's `tf.reshape(x, [tf.shape(x)[0], -1])` idioms.

TF1 code passes shapes known only when the graph runs: a list mixing ints and scalar int
tensors (`[tf.shape(x)[0], 4]`, `[batch_size, 10]` with a fed `batch_size`), or a 1-d int
tensor (`tf.shape(y)`). One mechanism serves every function that takes such a shape:

- `shape_argument` reads the user's argument once, at build time: plain ints stay plain ints
  (the caller's static path, unchanged), anything else becomes one 1-d int64 tensor plus what
  is known of it now (`known_shape_value`, TF1's `constant_value_as_shape`), so the result's
  static shape keeps every dimension known when building;
- the graph ops below (`RunTimeShaped` and its kinds) read that tensor when the graph runs,
  check its value (`run_time_dims`) and raise a GraphError naming the problem, the node and
  the user's line before any kernel sees it, then call the shared kernels with plain ints.

The ops run from Python in both the interpreter and the compiled step (a non-primitive
node), so a Session gives the same values either way.

>>> import graph as tf
>>> with tf.Graph().as_default():
...     x = tf.placeholder(tf.float32, (None, 3))
...     flat = tf.reshape(x, [tf.shape(x)[0], -1])
...     with tf.Session() as sess:
...         print(flat.shape, sess.run(flat, {x: [[1.0, 2.0, 3.0]]}).shape)
(None, 3) (1, 3)
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from framework import dtypes
from framework.ops import F
from framework.ops.registry import Spec
from graph.core import GraphError, Tensor, constant, site_of
from graph.ops import GraphOp, register_graph_op, sum_to_shape_of

__all__ = ["DynamicBroadcastTo", "DynamicFill", "DynamicGetItem", "DynamicRange",
           "DynamicReshape", "DynamicSlice", "DynamicTile", "GetItemGradient", "SliceGradient",
           "getitem_of", "holds_tensor", "holds_tensor_index",
           "known_scalar_value", "known_shape_value", "run_time_dims", "shape_argument"]


# ---------------------------------------------------------------------------------------------
# What is known of a shape tensor at build time


def _primitive_name(tensor: Tensor):
    primitive = tensor.op.primitive
    return None if primitive is None else primitive.name


# Integer arithmetic on sizes that shape inference follows (tf.shape(x)[1] - 1, 2 * n).
_ARITHMETIC = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b}


def known_scalar_value(tensor: Tensor):
    """The int a scalar int tensor is sure to hold when the graph runs, where the graph says so
    now (a constant, or an entry of tf.shape(x) whose size x's static shape knows); else None.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     x = tf.placeholder(tf.float32, (None, 3))
    ...     known_scalar_value(tf.shape(x)[1]), known_scalar_value(tf.shape(x)[0])
    (3, None)
    """
    if tensor.op.type == "Const":
        value = tensor.op.attrs["value"]
        return int(value) if value.ndim == 0 and value.dtype.kind in "iu" else None
    name = _primitive_name(tensor)
    if name == "cast" and tensor.dtype.kind in "iu":
        return known_scalar_value(tensor.op.inputs[0])
    if name in _ARITHMETIC and tensor.dtype.kind in "iu" and tensor.shape.ndims == 0:
        left, right = (known_scalar_value(t) for t in tensor.op.inputs)
        return None if left is None or right is None else _ARITHMETIC[name](left, right)
    if name == "getitem":
        index = tensor.op.primitive.index
        source = tensor.op.inputs[0]
        if len(index) == 1 and type(index[0]) is int and source.shape.ndims == 1:
            values = known_shape_value(source)
            if values is not None and -len(values) <= index[0] < len(values):
                return values[index[0]]
    return None


def known_shape_value(tensor: Tensor):
    """TF1's `constant_value_as_shape`: the entries of a 1-d int tensor known at build time, a
    tuple with None where an entry is known only when the graph runs (None: not even the length
    is known). It sees through constants, tf.shape, casts, slices, tf.stack and tf.concat.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     x = tf.placeholder(tf.float32, (None, 3))
    ...     known_shape_value(tf.shape(x)), known_shape_value(tf.stack([tf.shape(x)[1], 7]))
    ((None, 3), (3, 7))
    """
    if tensor.shape.ndims != 1:
        return None
    if tensor.op.type == "Const":
        return tuple(int(v) for v in tensor.op.attrs["value"])
    name = _primitive_name(tensor)
    if name == "shape":
        source = tensor.op.inputs[0]
        return None if source.shape.ndims is None else tuple(source.shape)
    if name == "cast" and tensor.dtype.kind in "iu":
        return known_shape_value(tensor.op.inputs[0])
    if name == "stack" and all(t.shape.ndims == 0 for t in tensor.op.inputs):
        return tuple(known_scalar_value(t) for t in tensor.op.inputs)
    if name == "concat":
        parts = [known_shape_value(t) for t in tensor.op.inputs]
        if all(part is not None for part in parts):
            return tuple(d for part in parts for d in part)
    if name == "getitem":
        index = tensor.op.primitive.index
        values = known_shape_value(tensor.op.inputs[0])
        if values is not None and len(index) == 1 and type(index[0]) is tuple:
            return values[slice(*index[0])]
    length = tensor.shape[0]
    return None if length is None else (None,) * length


def _dimension_source(tensor: Tensor):
    """(x, axis) where a scalar int tensor is tf.shape(x)[axis] (through casts), else None."""
    name = _primitive_name(tensor)
    if name == "cast" and tensor.dtype.kind in "iu":
        return _dimension_source(tensor.op.inputs[0])
    if name == "getitem" and _primitive_name(tensor.op.inputs[0]) == "shape":
        index = tensor.op.primitive.index
        source = tensor.op.inputs[0].op.inputs[0]
        if len(index) == 1 and type(index[0]) is int and source.shape.ndims is not None:
            return source, index[0] % source.shape.ndims
    return None


# ---------------------------------------------------------------------------------------------
# Reading the user's shape argument


def holds_tensor(shape) -> bool:
    """Whether a shape argument is a Tensor or a list/tuple holding one: the dynamic path."""
    return isinstance(shape, Tensor) or (isinstance(shape, (list, tuple)) and
                                         any(isinstance(d, Tensor) for d in shape))


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def shape_argument(function: str, shape, *, scalar_ok: bool = False, minus_one: bool = False,
                   what: str = "shape"):
    """The shape argument of `function`, read once at build time: a 1-d int64 tensor holding it
    when the graph runs, and what is known of it now (`known_shape_value`, with -1 kept where
    `minus_one` allows it). A scalar (int or scalar int tensor) means a 1-d shape where
    `scalar_ok`. A constant tensor gives plain ints: (ints, None), the caller's static path.
    Anything that cannot be a shape is refused here, naming it (as `what`: "shape", "begin")."""
    allowed = "ints >= 0" + (" or -1" if minus_one else "")
    if isinstance(shape, Tensor):
        if shape.op.type == "Const" and shape.dtype.kind in "iu" and shape.shape.ndims in (0, 1):
            value = shape.op.attrs["value"]
            return shape_argument(function, value.tolist(), scalar_ok=scalar_ok,
                                  minus_one=minus_one, what=what)
        if shape.dtype.kind not in "iu" or shape.shape.ndims not in (None, 0, 1) or (
                shape.shape.ndims == 0 and not scalar_ok):
            raise GraphError(f"{function}: a {what} tensor must be a 1-d int32 or int64 tensor"
                             f"{' (or a scalar)' if scalar_ok else ''}, got {shape.name!r} of "
                             f"shape {shape.shape} and dtype {shape.dtype}")
        if shape.shape.ndims == 0:
            shape = F.reshape(shape, (1,))
        return known_shape_value(shape), F.cast(shape, dtypes.int64)
    if _is_int(shape) and scalar_ok:
        shape = [shape]
    if isinstance(shape, np.ndarray) and shape.ndim == 1:
        shape = shape.tolist()
    if not isinstance(shape, (list, tuple)):
        raise GraphError(f"{function}: the {what} must be a list of {allowed} and scalar int "
                         f"tensors, or a 1-d int tensor such as tf.shape(x); got {shape!r}")
    parts, known = [], []
    for d in shape:
        if isinstance(d, Tensor):
            if d.dtype.kind not in "iu" or d.shape.ndims not in (None, 0):
                raise GraphError(f"{function}: each entry of a {what} must be an int or a "
                                 f"scalar int tensor, got {d.name!r} of shape {d.shape} and "
                                 f"dtype {d.dtype}")
            parts.append(F.cast(d, dtypes.int64))
            known.append(known_scalar_value(d))
        elif _is_int(d) and (d >= 0 or (minus_one and d == -1)):
            parts.append(constant(np.int64(d), name="dim"))
            known.append(int(d))
        else:
            raise GraphError(f"{function}: a {what} must hold {allowed} or scalar int tensors, "
                             f"got {d!r} in {list(shape)!r}")
    if not any(isinstance(d, Tensor) for d in shape):
        return tuple(known), None
    return tuple(known), F.stack(parts, 0)


def run_time_dims(op, value, *, minus_one: bool = False, what: str = "shape",
                  one_minus_one: bool = True) -> tuple:
    """The dims a shape tensor holds in this run, as ints, after checking them: a 1-d integer
    array of sizes >= 0 (and -1, at most once unless not `one_minus_one`, where `minus_one`:
    reshape infers one size, slice reads -1 as "to the end" on any axis). A bad value raises a
    GraphError naming the problem, `op` and the user's line, before any kernel runs."""
    value = np.asarray(value)
    where = f"in {op.type} {op.name!r} created at {site_of(op)}"
    if value.dtype.kind not in "iu":
        raise GraphError(f"the {what} must hold integers, got dtype {value.dtype} {where}")
    if value.ndim != 1:
        raise GraphError(f"the {what} must be 1-d, got a value of shape {value.shape} {where}")
    dims = tuple(int(d) for d in value)
    if minus_one and one_minus_one and dims.count(-1) > 1:
        raise GraphError(f"the {what} {list(dims)} has more than one -1; only one dimension "
                         f"can be inferred {where}")
    if any(d < 0 and not (minus_one and d == -1) for d in dims):
        entry = "offset" if what == "begin" else "size"
        raise GraphError(f"the {what} {list(dims)} has a negative {entry} {where}")
    return dims


def _output_fits(op, result):
    """Refuse a result whose shape contradicts the static shape promised at build time (a fed
    shape tensor can disagree with it)."""
    static = op.outputs[0].shape
    if not static.is_compatible_with(np.shape(result)):
        raise GraphError(f"{op.type} {op.name!r} created at {site_of(op)}: the result has shape "
                         f"{np.shape(result)} in this run, but its static shape is {static}")
    return (result,)


# ---------------------------------------------------------------------------------------------
# The graph ops


class RunTimeShaped(GraphOp):
    """Base of the ops whose output shape is an input's value: input `shape_input` is a 1-d int
    tensor, read and checked (`run_time_dims`) when the graph runs; `compute` then makes the
    result with plain ints. The static shape is `attrs["static_shape"]`, worked out when built."""

    names_itself = True
    shape_input: ClassVar[int] = 1
    minus_one: ClassVar[bool] = False
    what: ClassVar[str] = "shape"

    def infer(self, inputs, attrs):
        return [Spec.raw(attrs["static_shape"], self.out_dtype(inputs, attrs))]

    def out_dtype(self, inputs, attrs):
        return inputs[0].dtype

    def run(self, run, op, inputs):
        dims = run_time_dims(op, inputs[self.shape_input], minus_one=self.minus_one,
                             what=self.what)
        return _output_fits(op, self.compute(op, inputs, dims))

    def compute(self, op, inputs, dims):
        raise NotImplementedError

    def error(self, op, problem: str):
        return GraphError(f"{problem}, in {op.type} {op.name!r} created at {site_of(op)}")


def _add(kind, inputs, name, static_shape, **attrs) -> Tensor:
    graph = next(t.graph for t in inputs)
    attrs["static_shape"] = None if static_shape is None else tuple(static_shape)
    return graph.add_operation(kind, inputs, name=name, attrs=attrs).outputs[0]


@register_graph_op
class DynamicReshape(RunTimeShaped):
    """x (input 0) in the shape input 1 holds when the graph runs (one entry may be -1): TF1's
    Reshape with a shape tensor. Its gradient reshapes back to x's run-time shape."""

    # TF1's type for a reshape to a shape tensor. (graph.theano has its own DynamicReshape,
    # whose sizes are Slot attributes: the two should become one.)
    name = "Reshape"
    viz_family = "movement"
    minus_one = True

    def compute(self, op, inputs, dims):
        x = inputs[0]
        size = int(np.prod(np.shape(x), dtype=np.int64))
        known = int(np.prod([d for d in dims if d != -1], dtype=np.int64))
        if -1 in dims:
            if known == 0 or size % known:
                raise self.error(op, f"cannot reshape a value of shape {np.shape(x)} ({size} "
                                     f"elements) into {list(dims)}: {known} does not divide "
                                     f"{size}")
            dims = tuple(size // known if d == -1 else d for d in dims)
        elif known != size:
            raise self.error(op, f"cannot reshape a value of shape {np.shape(x)} ({size} "
                                 f"elements) into {list(dims)} ({known} elements)")
        return F.reshape(x, dims)

    def gradient(self, op, cotangents, needs):
        x = op.inputs[0]
        if not needs[0] or x.dtype.kind != "f":
            return [None, None]
        return [reshape_to(cotangents[0], F.shape_of(x, dtypes.int64), tuple(x.shape)
                           if x.shape.ndims is not None else None), None]


def reshape_to(x: Tensor, shape: Tensor, static_shape) -> Tensor:
    """A DynamicReshape node: `x` in the shape the 1-d int tensor `shape` holds at run time."""
    return _add(DynamicReshape(), [x, shape], "Reshape", static_shape)


def reshape_static_shape(x: Tensor, known, shape_tensor: Tensor):
    """The static shape of tf.reshape(x, shape) for a shape known in part (`known`, from
    `shape_argument`): TF1's inference of the -1 entry, where the numbers decide it. With
    x (None, 3) and [tf.shape(x)[0], -1] the unknown sizes are the same one, so -1 is 3."""
    if known is None:
        return None
    if -1 not in known:
        return tuple(known)
    if x.shape.ndims is None:
        return tuple(None if d == -1 else d for d in known)
    in_known = [d for d in x.shape if d is not None]
    in_size = int(np.prod(in_known, dtype=np.int64))
    out_known = [d for d in known if d is not None and d != -1]
    out_size = int(np.prod(out_known, dtype=np.int64))
    inferred = None
    in_unknown = [axis for axis, d in enumerate(x.shape) if d is None]
    out_unknown = [i for i, d in enumerate(known) if d is None]
    if not in_unknown and not out_unknown:
        inferred = in_size // out_size if out_size and in_size % out_size == 0 else None
    elif len(in_unknown) == 1 and len(out_unknown) == 1 and shape_tensor is not None:
        # The unknown output entry is provably x's unknown size: they cancel.
        entry = _stacked_entry(shape_tensor, out_unknown[0])
        source = None if entry is None else _dimension_source(entry)
        same = source is not None and source[0] is x and source[1] == in_unknown[0]
        if same and out_size and in_size % out_size == 0:
            inferred = in_size // out_size
    return tuple(inferred if d == -1 else d for d in known)


def _stacked_entry(shape_tensor: Tensor, index: int):
    """Entry `index` of a tf.stack-ed shape tensor (as the user gave it, before casts)."""
    tensor = shape_tensor
    while _primitive_name(tensor) == "cast":
        tensor = tensor.op.inputs[0]
    if _primitive_name(tensor) != "stack":
        return None
    entry = tensor.op.inputs[index]
    while _primitive_name(entry) == "cast":
        entry = entry.op.inputs[0]
    return entry


@register_graph_op
class DynamicFill(RunTimeShaped):
    """The scalar input 1 repeated to the shape input 0 holds when the graph runs: TF1's Fill
    (zeros, ones, fill) with a shape tensor. No gradient to the shape; the value's is the sum."""

    name = "DynamicFill"
    viz_family = "creation"
    shape_input = 0

    def out_dtype(self, inputs, attrs):
        return inputs[1].dtype

    def compute(self, op, inputs, dims):
        value = np.asarray(inputs[1])
        if value.ndim != 0:
            raise self.error(op, f"the fill value must be a scalar, got shape {value.shape}")
        return np.full(dims, value, op.outputs[0].dtype)

    def gradient(self, op, cotangents, needs):
        wanted = needs[1] and op.inputs[1].dtype.kind == "f"
        return [None, F.sum(cotangents[0]) if wanted else None]


def fill_to(shape: Tensor, value: Tensor, static_shape, name="Fill") -> Tensor:
    """A DynamicFill node: the scalar `value` repeated to the run-time `shape`."""
    return _add(DynamicFill(), [shape, value], name, static_shape)


@register_graph_op
class DynamicTile(RunTimeShaped):
    """x (input 0) repeated input 1's value times along each axis, read when the graph runs:
    TF1's Tile with a multiples tensor. The gradient sums the copies back."""

    name = "DynamicTile"
    viz_family = "movement"
    what = "multiples"

    def compute(self, op, inputs, dims):
        x = inputs[0]
        if len(dims) != np.ndim(x):
            raise self.error(op, f"multiples {list(dims)} must have one entry for each of the "
                                 f"{np.ndim(x)} axes of the input (shape {np.shape(x)})")
        return F.tile(x, dims)

    def gradient(self, op, cotangents, needs):
        x, multiples = op.inputs
        if not needs[0] or x.dtype.kind != "f":
            return [None, None]
        # g of shape (m0 * d0, m1 * d1, ...) seen as (m0, d0, m1, d1, ...): sum the m axes.
        pairs = F.stack([multiples, F.shape_of(x, dtypes.int64)], 1)
        spread = reshape_to(cotangents[0], F.reshape(pairs, (-1,)),
                            tuple(d for size in x.shape for d in (None, size)))
        return [F.sum(spread, tuple(range(0, 2 * x.ndim, 2))), None]


@register_graph_op
class DynamicBroadcastTo(RunTimeShaped):
    """x (input 0) stretched by broadcasting to the shape input 1 holds when the graph runs:
    TF1's BroadcastTo with a shape tensor. The gradient sums the stretched axes back."""

    name = "DynamicBroadcastTo"
    viz_family = "movement"

    def compute(self, op, inputs, dims):
        x = inputs[0]
        try:
            fits = len(dims) >= np.ndim(x) and np.broadcast_shapes(np.shape(x), dims) == dims
        except ValueError:
            fits = False
        if not fits:
            raise self.error(op, f"cannot broadcast a value of shape {np.shape(x)} to "
                                 f"{list(dims)}")
        return F.contiguous_copy(F.broadcast_to(x, dims))

    def gradient(self, op, cotangents, needs):
        x = op.inputs[0]
        if not needs[0] or x.dtype.kind != "f":
            return [None, None]
        return [sum_to_shape_of(cotangents[0], x), None]


@register_graph_op
class DynamicRange(GraphOp):
    """start, start + delta, ... below limit (inputs 0, 1, 2: scalars read when the graph
    runs): TF1's Range with tensor bounds, e.g. tf.range(tf.shape(x)[0])."""

    name = "DynamicRange"
    no_gradient = "a sequence of numbers: TensorFlow's Range has no gradient either"
    viz_family = "creation"
    names_itself = True

    def infer(self, inputs, attrs):
        return [Spec.raw((attrs["length"],), inputs[0].dtype)]

    def run(self, run, op, inputs):
        where = f"in {op.type} {op.name!r} created at {site_of(op)}"
        values = []
        for what, value in zip(("start", "limit", "delta"), inputs):
            if np.ndim(value) != 0:
                raise GraphError(f"range: {what} must be a scalar, got a value of shape "
                                 f"{np.shape(value)} {where}")
            values.append(np.asarray(value)[()])
        start, limit, delta = values
        if delta == 0:
            raise GraphError(f"range: delta must not be 0 {where}")
        result = np.arange(start, limit, delta).astype(op.outputs[0].dtype)
        return _output_fits(op, result)


def range_of(start: Tensor, limit: Tensor, delta: Tensor, name="range") -> Tensor:
    """A DynamicRange node over scalar tensors of one dtype."""
    length = None
    values = [t.op.attrs["value"][()] if t.op.type == "Const" and t.ndim == 0 else
              known_scalar_value(t) for t in (start, limit, delta)]
    if None not in values and values[2] != 0:
        length = len(np.arange(*values))
    return start.graph.add_operation(DynamicRange(), [start, limit, delta], name=name,
                                     attrs={"length": length}).outputs[0]


@register_graph_op
class DynamicSlice(GraphOp):
    """TF1's Slice with begin (input 1) and size (input 2) read when the graph runs: the block of
    x (input 0) that starts at `begin` and spans `size` (-1: to the end of the axis). The
    gradient puts the cotangent back at `begin` in zeros of x's shape (`SliceGradient`)."""

    name = "DynamicSlice"
    viz_family = "movement"
    names_itself = True

    def infer(self, inputs, attrs):
        return [Spec.raw(attrs["static_shape"], inputs[0].dtype)]

    def run(self, run, op, inputs):
        x = inputs[0]
        begin = run_time_dims(op, inputs[1], what="begin")
        size = run_time_dims(op, inputs[2], minus_one=True, what="size", one_minus_one=False)
        where = f"in {op.type} {op.name!r} created at {site_of(op)}"
        shape = np.shape(x)
        if len(begin) != len(shape) or len(size) != len(shape):
            raise GraphError(f"slice: begin {list(begin)} and size {list(size)} need one entry "
                             f"for each of the {len(shape)} axes of a value of shape {shape} "
                             f"{where}")
        size = tuple(dim - b if s == -1 else s for dim, b, s in zip(shape, begin, size))
        for axis, (dim, b, s) in enumerate(zip(shape, begin, size)):
            if b + s > dim or s < 0:
                raise GraphError(f"slice: begin {b} and size {s} do not fit axis {axis} of "
                                 f"size {dim} (shape {shape}) {where}")
        index = tuple(slice(b, b + s) for b, s in zip(begin, size))
        return _output_fits(op, F.contiguous_copy(F.getitem(x, index)))

    def gradient(self, op, cotangents, needs):
        x, begin, _ = op.inputs
        if not needs[0] or x.dtype.kind != "f":
            return [None, None, None]
        placed = x.graph.add_operation(SliceGradient(), [cotangents[0], x, begin],
                                       name="SliceGrad")
        return [placed.outputs[0], None, None]


@register_graph_op
class SliceGradient(GraphOp):
    """Zeros of the shape of input 1 with input 0 written at the offsets input 2 holds: the
    gradient of a DynamicSlice. Its own gradient slices the same block back out."""

    name = "SliceGradient"
    viz_family = "movement"
    names_itself = True

    def infer(self, inputs, attrs):
        return [Spec.raw(inputs[1].shape, inputs[0].dtype)]

    def run(self, run, op, inputs):
        grad, like, begin = inputs
        begin = run_time_dims(op, begin, what="begin")
        out = np.zeros(np.shape(like), op.outputs[0].dtype)
        out[tuple(slice(b, b + s) for b, s in zip(begin, np.shape(grad)))] = grad
        return (out,)

    def gradient(self, op, cotangents, needs):
        grad, _, begin = op.inputs
        if not needs[0]:
            return [None, None, None]
        static = None if grad.shape.ndims is None else tuple(grad.shape)
        block = grad.graph.add_operation(
            DynamicSlice(), [cotangents[0], begin, F.shape_of(grad, dtypes.int64)],
            name="Slice", attrs={"static_shape": static})
        return [block.outputs[0], None, None]


def slice_of(x: Tensor, begin, size) -> Tensor:
    """tf.slice for begin and size given as ints and scalar int tensors, or 1-d int tensors."""
    known_begin, begin_tensor = shape_argument("slice", begin, what="begin")
    known_size, size_tensor = shape_argument("slice", size, minus_one=True, what="size")
    if x.shape.ndims is None:
        raise GraphError(f"slice: the rank of {x.name!r} must be known when building")
    for what, known in (("begin", known_begin), ("size", known_size)):
        if known is not None and len(known) != x.ndim:
            raise GraphError(f"slice: {what} {list(known)} must have one entry for each of the "
                             f"{x.ndim} axes of {x.name!r} (shape {x.shape})")
    ndim = x.ndim
    known_begin = (None,) * ndim if known_begin is None else known_begin
    known_size = (None,) * ndim if known_size is None else known_size
    static = []
    for dim, b, s in zip(x.shape, known_begin, known_size):
        if s is not None and s != -1:
            static.append(s)
        elif s == -1 and b is not None and dim is not None:
            static.append(dim - b)
        else:
            static.append(None)
    tensors = []
    for what, tensor, known in (("begin", begin_tensor, known_begin),
                                ("size", size_tensor, known_size)):
        tensors.append(tensor if tensor is not None else
                       constant(np.asarray(known, np.int64), name=what))
    return x.graph.add_operation(DynamicSlice(), [x, *tensors], name="Slice",
                                 attrs={"static_shape": tuple(static)}).outputs[0]


# ---------------------------------------------------------------------------------------------
# x[...] with scalar int tensors in the index: TF1's strided_slice through Python's indexing


class _Arg(int):
    """In an index template, the place of the scalar tensor that is input `self` of the node."""

    def __repr__(self) -> str:
        return f"<input {int(self)}>"


def holds_tensor_index(index) -> bool:
    """Whether a Python index (an entry, or a tuple of them) holds a Tensor anywhere."""
    entries = index if isinstance(index, tuple) else (index,)
    for entry in entries:
        parts = (entry.start, entry.stop, entry.step) if isinstance(entry, slice) else (entry,)
        if any(isinstance(part, Tensor) for part in parts):
            return True
    return False


def getitem_of(x: Tensor, index) -> Tensor:
    """x[index] where ints and slice bounds may be scalar int tensors, read when the graph
    runs (TF1's strided_slice, as `x[:, :tf.shape(y)[1]]` writes it). The tensors become the
    node's inputs; the index, with their places marked, its template."""
    if x.shape.ndims is None:
        raise GraphError(f"indexing {x.name!r} with tensors needs its rank known when building")
    entries = index if isinstance(index, tuple) else (index,)
    inputs, template = [x], []

    def argument(part):
        if not isinstance(part, Tensor):
            if part is None or _is_int(part):
                return None if part is None else int(part)
            raise GraphError(f"indexing {x.name!r}: a slice bound must be an int, None or a "
                             f"scalar int tensor, got {part!r}")
        if part.dtype.kind not in "iu" or part.shape.ndims not in (None, 0):
            raise GraphError(f"indexing {x.name!r}: an index tensor must be a scalar int (use "
                             f"tf.gather for arrays of indices), got {part.name!r} of shape "
                             f"{part.shape} and dtype {part.dtype}")
        inputs.append(part)
        return _Arg(len(inputs) - 1)

    consuming = sum(1 for e in entries if e is not None and e is not Ellipsis)
    if consuming > x.ndim:
        raise GraphError(f"indexing {x.name!r}: {consuming} indices for a value of rank {x.ndim}")
    if sum(1 for e in entries if e is Ellipsis) > 1:
        raise GraphError(f"indexing {x.name!r}: an index can hold only one Ellipsis (...)")
    for entry in entries:
        if entry is Ellipsis:
            template.extend([slice(None)] * (x.ndim - consuming))
        elif isinstance(entry, slice):
            template.append(slice(*(argument(p) for p in (entry.start, entry.stop, entry.step))))
        elif entry is None or isinstance(entry, Tensor) or _is_int(entry):
            template.append(argument(entry) if entry is not None else None)
        else:
            raise GraphError(f"indexing {x.name!r}: unsupported index entry {entry!r} (ints, "
                             f"slices, None, ... and scalar int tensors)")
    if Ellipsis not in entries:
        template.extend([slice(None)] * (x.ndim - consuming))
    known = [None] + [known_scalar_value(t) for t in inputs[1:]]
    static, axis = [], 0
    for entry in template:
        if entry is None:
            static.append(1)
            continue
        dim = x.shape[axis]
        axis += 1
        if isinstance(entry, slice):
            parts = [known[p] if isinstance(p, _Arg) else p
                     for p in (entry.start, entry.stop, entry.step)]
            bounds_known = all(known[p] is not None for p in (entry.start, entry.stop,
                                                               entry.step) if isinstance(p, _Arg))
            static.append(len(range(*slice(*parts).indices(dim)))
                          if dim is not None and bounds_known and parts[2] != 0 else None)
    return x.graph.add_operation(DynamicGetItem(), inputs, name="strided_slice",
                                 attrs={"index": tuple(template),
                                        "static_shape": tuple(static)}).outputs[0]


def _resolved_index(op, shape, template, values) -> tuple:
    """The template's index with this run's values in place, checked against `shape`."""
    where = f"in {op.type} {op.name!r} created at {site_of(op)}"
    for position, value in enumerate(values, start=1):
        if np.ndim(value) != 0 or np.asarray(value).dtype.kind not in "iu":
            raise GraphError(f"the index tensor {op.inputs[position].name!r} must hold a scalar "
                             f"int, got {np.asarray(value)!r} {where}")
    values = [None] + [int(v) for v in values]

    def value(part):
        return values[part] if isinstance(part, _Arg) else part

    index, axis = [], 0
    for entry in template:
        if entry is None:
            index.append(None)
            continue
        dim = shape[axis]
        if isinstance(entry, slice):
            bounds = slice(value(entry.start), value(entry.stop), value(entry.step))
            if bounds.step == 0:
                raise GraphError(f"the slice step of axis {axis} is 0 {where}")
            index.append(bounds)
        else:
            position = value(entry)
            if not -dim <= position < dim:
                raise GraphError(f"index {position} is out of range for axis {axis} of size "
                                 f"{dim} (shape {tuple(shape)}) {where}")
            index.append(position)
        axis += 1
    return tuple(index)


@register_graph_op
class DynamicGetItem(GraphOp):
    """x[index] (x is input 0) where `attrs["index"]` marks with `_Arg(k)` the places of the
    scalar int tensors that are inputs k, read when the graph runs: TF1's StridedSlice. The
    gradient writes the cotangent back at the same index (`GetItemGradient`)."""

    name = "DynamicGetItem"
    viz_family = "movement"
    names_itself = True

    def infer(self, inputs, attrs):
        return [Spec.raw(attrs["static_shape"], inputs[0].dtype)]

    def run(self, run, op, inputs):
        x = inputs[0]
        index = _resolved_index(op, np.shape(x), op.attrs["index"], inputs[1:])
        return _output_fits(op, F.contiguous_copy(F.getitem(x, index)))

    def gradient(self, op, cotangents, needs):
        x = op.inputs[0]
        if not needs[0] or x.dtype.kind != "f":
            return [None] * len(op.inputs)
        placed = x.graph.add_operation(GetItemGradient(), [cotangents[0], x, *op.inputs[1:]],
                                       name="StridedSliceGrad", attrs=dict(op.attrs))
        return [placed.outputs[0]] + [None] * (len(op.inputs) - 1)


@register_graph_op
class GetItemGradient(GraphOp):
    """Zeros of the shape of input 1 with input 0 written at the index a DynamicGetItem read
    (the same template and index tensors, from input 2 on). Its gradient reads it back out."""

    name = "GetItemGradient"
    viz_family = "movement"
    names_itself = True

    def infer(self, inputs, attrs):
        return [Spec.raw(inputs[1].shape, inputs[0].dtype)]

    def run(self, run, op, inputs):
        grad, like = inputs[:2]
        # The template's _Arg(k) counts from the DynamicGetItem's inputs: x, then the tensors.
        index = _resolved_index(op, np.shape(like), op.attrs["index"], inputs[2:])
        out = np.zeros(np.shape(like), op.outputs[0].dtype)
        out[index] = grad
        return (out,)

    def gradient(self, op, cotangents, needs):
        grad = op.inputs[0]
        if not needs[0]:
            return [None] * len(op.inputs)
        static = None if grad.shape.ndims is None else tuple(grad.shape)
        block = grad.graph.add_operation(
            DynamicGetItem(), [cotangents[0], *op.inputs[2:]], name="strided_slice",
            attrs={"index": op.attrs["index"], "static_shape": static})
        return [block.outputs[0]] + [None] * (len(op.inputs) - 1)
