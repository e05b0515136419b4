"""TensorFlow-1 names for the registry's ops, on graph Tensors.

Each function adds nodes through the neutral functions (`framework.ops.functions`), so the
shape rule runs at build time and the kernels and gradient rules are the shared ones.
"""

from __future__ import annotations

import builtins as _builtins

import numpy as np

from framework import dtypes
from framework.ops import F
from graph.core import GraphError, Tensor, constant, get_default_graph
from graph.dynamic_shapes import (
    fill_to,
    holds_tensor,
    range_of,
    reshape_static_shape,
    reshape_to,
    shape_argument,
)


def _axis(axis):
    if axis is None or isinstance(axis, int):
        return axis
    return tuple(axis)


def _scoped(name, build):
    """Build under `name/` and give the result's own op the name itself ('logits:0')."""
    if name is None:
        return build()
    graph = get_default_graph()
    with graph.name_scope(name) as scope:
        result = build()
    return graph.name_result(result, scope)


def add(x, y, name=None):
    return _scoped(name, lambda: F.add(x, y))


def subtract(x, y, name=None):
    return _scoped(name, lambda: F.sub(x, y))


def multiply(x, y, name=None):
    return _scoped(name, lambda: F.mul(x, y))


def divide(x, y, name=None):
    return _scoped(name, lambda: F.div(x, y))


def matmul(a, b, transpose_a=False, transpose_b=False, name=None):
    def build():
        left = F.swapaxes(a, -1, -2) if transpose_a else a
        right = F.swapaxes(b, -1, -2) if transpose_b else b
        return F.matmul(left, right)

    return _scoped(name, build)


def _reduction(function, x, axis, keepdims, name, reduction_indices, keep_dims):
    """A reduction with TensorFlow 1's older argument names (reduction_indices, keep_dims) as
    aliases of axis and keepdims."""
    if reduction_indices is not None:
        if axis is not None:
            raise GraphError("Cannot specify both 'axis' and 'reduction_indices'")
        axis = reduction_indices
    if keep_dims is not None:
        if keepdims is not None:
            raise GraphError("Cannot specify both 'keepdims' and 'keep_dims'")
        keepdims = keep_dims
    x = x if isinstance(x, Tensor) else constant(x)  # a list or an array becomes a node
    return _scoped(name, lambda: function(x, _axis(axis), bool(keepdims)))


def reduce_sum(x, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
    """The sum over `axis` (all axes when None); `reduction_indices` is axis's older name.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.reduce_sum([[1.0, 2.0], [3.0, 4.0]], reduction_indices=[1])))
    [3. 7.]
    """
    return _reduction(F.sum, x, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_mean(x, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
    return _reduction(F.mean, x, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_max(x, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
    return _reduction(F.max, x, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_min(x, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
    return _reduction(F.min, x, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_prod(x, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
    return _reduction(F.prod, x, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_logsumexp(x, axis=None, keepdims=None, name=None, reduction_indices=None,
                     keep_dims=None):
    return _reduction(F.logsumexp, x, axis, keepdims, name, reduction_indices, keep_dims)


def argmax(x, axis=None, output_type=dtypes.int64, name=None):
    return _scoped(name, lambda: F.cast(F.argmax(x, 0 if axis is None else axis),
                                        output_type))


def argmin(x, axis=None, output_type=dtypes.int64, name=None):
    return _scoped(name, lambda: F.cast(F.argmin(x, 0 if axis is None else axis),
                                        output_type))


def cast(x, dtype, name=None):
    return _scoped(name, lambda: F.cast(x, dtype))


def reshape(x, shape, name=None):
    """x's elements in a new shape; one entry may be -1 (inferred). The shape may mix ints and
    scalar int tensors, or be a 1-d int tensor (tf.shape(y)), read when the graph runs.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     x = tf.placeholder(tf.float32, (None, 2, 3))
    ...     flat = tf.reshape(x, [tf.shape(x)[0], -1])
    ...     with tf.Session() as sess:
    ...         print(flat.shape, sess.run(flat, {x: np.ones((4, 2, 3))}).shape)
    (None, 6) (4, 6)
    """
    if not holds_tensor(shape):
        return _scoped(name, lambda: F.reshape(x, tuple(shape)))

    def build():
        value = _node(x)
        known, tensor = shape_argument("reshape", shape, minus_one=True)
        if tensor is None:
            return F.reshape(value, known)
        return reshape_to(value, tensor, reshape_static_shape(value, known, tensor))

    return _scoped(name, build)


def shape(x, name=None, out_type=dtypes.int32):
    """x's shape as a 1-d int32 (or int64, `out_type`) Tensor, read when the graph runs, so a
    dimension unknown at build time (None) has its fed size. `x.shape` is the static shape.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     x = tf.placeholder(tf.float32, (None, 3))
    ...     rows = tf.shape(x)[0]
    ...     with tf.Session() as sess:
    ...         print(sess.run(rows, {x: [[1.0, 2.0, 3.0]] * 5}))
    5
    """
    x = x if isinstance(x, Tensor) else constant(x)
    return _scoped(name, lambda: F.shape_of(x, out_type))


def transpose(x, perm=None, name=None):
    return _scoped(name, lambda: F.transpose(x, perm))


def concat(values, axis, name=None):
    return _scoped(name, lambda: F.concat(list(values), axis))


def stack(values, axis=0, name=None):
    return _scoped(name, lambda: F.stack(list(values), axis))


def split(value, num_or_size_splits, axis=0, name=None):
    return _scoped(name, lambda: list(F.split(value, num_or_size_splits, axis)))


def squeeze(x, axis=None, name=None):
    return _scoped(name, lambda: F.squeeze(x, axis))


def expand_dims(x, axis, name=None):
    return _scoped(name, lambda: F.unsqueeze(x, axis))


def gather(params, indices, axis=0, name=None):
    return _scoped(name, lambda: F.gather(params, indices, axis))


def pad(x, paddings, constant_values=0, name=None):
    return _scoped(name, lambda: F.pad(x, tuple(tuple(p) for p in paddings), constant_values))


def one_hot(indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None):
    """`on_value` where an index picks the position, `off_value` elsewhere (TensorFlow 1).

    The new axis of size `depth` goes last, or at `axis`. An index outside [0, depth) gives a
    row of `off_value` only, as in TensorFlow. on_value and off_value default to 1 and 0;
    the dtype is `dtype`, else theirs, else float32.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.one_hot([2, -1], 3, on_value=5, off_value=-1)))
    [[-1 -1  5]
     [-1 -1 -1]]
    """
    def build():
        labels = indices if isinstance(indices, Tensor) else constant(indices)
        if labels.dtype.kind not in "iu":
            raise GraphError(f"one_hot: indices must be integers, got {labels.name!r} of dtype "
                             f"{labels.dtype}")
        if isinstance(depth, Tensor):
            if depth.dtype.kind not in "iu" or depth.shape.ndims not in (None, 0):
                raise GraphError(f"one_hot: depth must be a scalar int, got {depth.name!r} of "
                                 f"shape {depth.shape} and dtype {depth.dtype}")
        elif isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 0:
            raise GraphError(f"one_hot: depth must be a non-negative int, got {depth!r}")
        rank = labels.ndim + 1
        where_ = -1 if axis is None else axis
        if isinstance(where_, bool) or not isinstance(where_, (int, np.integer)) or \
                not -1 <= where_ < rank:
            raise GraphError(f"one_hot: axis must be -1 or in [0, {rank}) for indices of shape "
                             f"{labels.shape}, got {axis!r}")
        out_dtype = _one_hot_dtype(on_value, off_value, dtype)
        on = _one_hot_value("on_value", 1 if on_value is None else on_value, out_dtype)
        off = _one_hot_value("off_value", 0 if off_value is None else off_value, out_dtype)
        if isinstance(depth, Tensor):  # known when the graph runs: a range read then
            zero, one = (constant(np.asarray(v, labels.dtype)) for v in (0, 1))
            classes = range_of(zero, F.cast(depth, labels.dtype), one, name="depth_range")
        else:
            classes = constant(np.arange(int(depth), dtype=labels.dtype), name="depth_range")
        result = F.where(F.eq(F.unsqueeze(labels, -1), classes), on, off)
        return result if where_ in (-1, rank - 1) else F.moveaxis(result, -1, where_)

    return _scoped(name, build)


def _one_hot_dtype(on_value, off_value, dtype):
    given = [(what, v.dtype if isinstance(v, Tensor) else _python_value_dtype(v))
             for what, v in (("on_value", on_value), ("off_value", off_value)) if v is not None]
    if dtype is not None:
        dtype = dtypes.as_dtype(dtype)
        for what, value in (("on_value", on_value), ("off_value", off_value)):
            if isinstance(value, Tensor) and value.dtype != dtype:
                raise GraphError(f"one_hot: dtype {dtype} does not match the dtype "
                                 f"{value.dtype} of {what} {value.name!r}")
        return dtype
    if len(given) == 2 and given[0][1] != given[1][1]:
        raise GraphError(f"one_hot: on_value has dtype {given[0][1]} but off_value has "
                         f"{given[1][1]}; give both of one dtype, or dtype=")
    return given[0][1] if given else dtypes.float32


def _python_value_dtype(value) -> np.dtype:
    """The dtype TensorFlow gives a value: float32 for Python floats, int32 for Python ints,
    NumPy's own dtype for NumPy values."""
    if isinstance(value, (np.ndarray, np.generic)):
        return value.dtype
    if isinstance(value, bool):
        return np.dtype(np.bool_)
    if isinstance(value, int):
        return dtypes.int32 if -2**31 <= value < 2**31 else dtypes.int64
    return dtypes.float32


def _one_hot_value(what, value, dtype):
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise GraphError(f"one_hot: {what} must be a scalar, got {value.name!r} of shape "
                             f"{value.shape}")
        return value if value.dtype == dtype else F.cast(value, dtype)
    if np.ndim(value) != 0:
        raise GraphError(f"one_hot: {what} must be a scalar, got {value!r}")
    return constant(value, dtype=dtype, name=what)


def add_n(inputs, name=None):
    """The elementwise sum of a list of tensors of one shape and dtype (no broadcasting).

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.add_n([tf.constant([1.0, 2.0]), tf.constant([3.0, 4.0])])))
    [4. 6.]
    """
    items = [x if isinstance(x, Tensor) else constant(x) for x in
             (inputs if isinstance(inputs, (list, tuple)) else [inputs])]
    if not items:
        raise GraphError("add_n: inputs must hold at least one tensor")
    first = items[0]
    for item in items[1:]:
        same_shape = len(item.shape) == len(first.shape) and all(
            None in (a, b) or a == b for a, b in zip(item.shape, first.shape))
        if item.dtype != first.dtype or not same_shape:
            raise GraphError(f"add_n: every input needs the shape and dtype of the first, "
                             f"{first.shape} {first.dtype}; got {item.name!r} of shape "
                             f"{item.shape} and dtype {item.dtype}")

    if len(items) == 1 and name is None:
        return first

    def build():
        if len(items) == 1:
            from graph.gradients import identity

            return identity(first)
        total = items[0]
        for item in items[1:]:
            total = F.add(total, item)
        return total

    return _scoped(name, build)


def clip_by_value(x, clip_value_min, clip_value_max, name=None):
    return _scoped(name, lambda: F.clip(x, clip_value_min, clip_value_max))


def where(condition, x, y, name=None):
    return _scoped(name, lambda: F.where(condition, x, y))


def zeros(shape, dtype=dtypes.float32, name="zeros"):
    """Zeros of `shape`: ints, a scalar (a 1-d shape), or shapes known when the graph runs
    (scalar int tensors in the list, or a 1-d int tensor such as tf.shape(x)).

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     x = tf.placeholder(tf.float32, (None, 3))
    ...     z = tf.zeros([tf.shape(x)[0], 4])
    ...     with tf.Session() as sess:
    ...         print(z.shape, sess.run(z, {x: np.ones((2, 3))}).shape, sess.run(tf.zeros(2)))
    (None, 4) (2, 4) [0. 0.]
    """
    return _filled("zeros", shape, 0, dtype, name)


def ones(shape, dtype=dtypes.float32, name="ones"):
    """Ones of `shape` (as `zeros` takes it)."""
    return _filled("ones", shape, 1, dtype, name)


def _filled(function, shape, number, dtype, name):
    dtype = dtypes.as_dtype(dtype)
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, _builtins.bool):
        shape = (shape,)  # TF1 reads a scalar as a 1-d shape
    if not holds_tensor(shape):
        return constant(np.full(tuple(shape), number, dtype), name=name)

    def build():
        known, tensor = shape_argument(function, shape, scalar_ok=True)
        if tensor is None:
            return constant(np.full(known, number, dtype), name=function)
        return fill_to(tensor, constant(np.asarray(number, dtype), name="value"), known)

    return _scoped(name, build)


def zeros_like(x, dtype=None, name=None):
    return _scoped(name, lambda: F.zeros_like(x, dtype))


def ones_like(x, dtype=None, name=None):
    return _scoped(name, lambda: F.ones_like(x, dtype))


def _unary(function):
    def op(x, name=None):
        return _scoped(name, lambda: function(x))

    op.__name__ = function.__name__
    op.__doc__ = f"Elementwise {function.__name__}."
    return op


exp, log, log1p, sqrt, rsqrt = (_unary(f) for f in (F.exp, F.log, F.log1p, F.sqrt, F.rsqrt))
tanh, sigmoid, square, negative = (_unary(f) for f in (F.tanh, F.sigmoid, F.square, F.neg))
sin, cos, sign, reciprocal = (_unary(f) for f in (F.sin, F.cos, F.sign, F.reciprocal))
abs = _unary(F.abs)  # noqa: A001
maximum, minimum, pow = F.maximum, F.minimum, F.pow  # noqa: A001
equal, not_equal, less, less_equal = F.eq, F.ne, F.lt, F.le
greater, greater_equal = F.gt, F.ge


def _operator(function, reflected=False):
    if reflected:
        return lambda self, other: function(other, self)
    return lambda self, other: function(self, other)


for _name, _function in [("add", F.add), ("sub", F.sub), ("mul", F.mul), ("truediv", F.div),
                         ("pow", F.pow), ("matmul", F.matmul)]:
    setattr(Tensor, f"__{_name}__", _operator(_function))
    setattr(Tensor, f"__r{_name}__", _operator(_function, reflected=True))
for _name, _function in [("lt", F.lt), ("le", F.le), ("gt", F.gt), ("ge", F.ge)]:
    setattr(Tensor, f"__{_name}__", _operator(_function))
Tensor.__neg__ = lambda self: F.neg(self)
Tensor.__abs__ = lambda self: F.abs(self)


def _getitem(tensor, index):
    """tensor[index]: NumPy's basic indexing; ints and slice bounds may also be scalar int
    tensors, read when the graph runs (TF1's strided_slice: x[:, :tf.shape(y)[1]])."""
    from graph.dynamic_shapes import getitem_of, holds_tensor_index

    if holds_tensor_index(index):
        return getitem_of(tensor, index)
    return F.getitem(tensor, index)


Tensor.__getitem__ = _getitem


def _node(x):
    return x if isinstance(x, Tensor) else constant(x)


def _python_scalar(what, value):
    if isinstance(value, Tensor) or isinstance(value, _builtins.bool) or \
            not isinstance(value, (int, float, np.integer, np.floating)):
        raise GraphError(f"range: {what} must be a Python or NumPy number, got {value!r}")
    return value


def range(start, limit=None, delta=1, dtype=None, name="range"):  # noqa: A001
    """start, start + delta, ... up to (not including) `limit`; range(n) counts from 0.

    As in TensorFlow, ints give int32 (int64 when a bound does not fit) and any float gives
    float32, unless `dtype` says otherwise. The bounds are numbers, known when building.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.range(3, 18, 3)), sess.run(tf.range(1.0, 2.0, 0.25)))
    [ 3  6  9 12 15] [1.   1.25 1.5  1.75]
    """
    if limit is None:
        start, limit = 0, start
    if _builtins.any(isinstance(v, Tensor) for v in (start, limit, delta)):
        return _range_at_run_time(start, limit, delta, dtype, name)
    values = [_python_scalar(what, v) for what, v in
              (("start", start), ("limit", limit), ("delta", delta))]
    if delta == 0:
        raise GraphError("range: delta must not be 0")
    if dtype is None:
        kinds = [_python_value_dtype(v) for v in values]
        dtype = dtypes.float32 if any(k.kind == "f" for k in kinds) else \
            (dtypes.int64 if dtypes.int64 in kinds else dtypes.int32)
    dtype = dtypes.as_dtype(dtype)
    return constant(np.arange(start, limit, delta).astype(dtype), name=name)


def slice(input_, begin, size, name=None):  # noqa: A001  (TensorFlow's name)
    """The block of `input_` that starts at `begin` and spans `size` along each axis (a size
    of -1 runs to the end of the axis). begin and size may mix ints and scalar int tensors, or
    be 1-d int tensors, read when the graph runs; a block that does not fit is an error.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     x = tf.placeholder(tf.float32, (None, 3))
    ...     head = tf.slice(x, [0, 1], [tf.shape(x)[0] - 1, -1])
    ...     with tf.Session() as sess:
    ...         print(head.shape, sess.run(head, {x: np.arange(9.0).reshape(3, 3)}))
    (None, 2) [[1. 2.]
     [4. 5.]]
    """
    from graph.dynamic_shapes import slice_of

    def build():
        x = _node(input_)
        if holds_tensor(begin) or holds_tensor(size) or x.shape.ndims is None or \
                None in tuple(x.shape):
            return slice_of(x, begin, size)  # checked when the graph runs
        starts = _static_dims("slice", begin)
        sizes = shape_argument("slice", list(size) if isinstance(size, tuple) else size,
                               minus_one=True, what="size")[0]
        if len(starts) != x.ndim or len(sizes) != x.ndim:
            raise GraphError(f"slice: begin {list(starts)} and size {list(sizes)} need one "
                             f"entry for each of the {x.ndim} axes of {x.name!r}")
        index = []
        for axis, (dim, b, s) in enumerate(zip(x.shape, starts, sizes)):
            end = dim if s == -1 else b + s
            if b > dim or end > dim:
                raise GraphError(f"slice: begin {b} and size {s} do not fit axis {axis} of "
                                 f"{x.name!r} (shape {x.shape})")
            index.append(_builtins.slice(b, end))
        return F.contiguous_copy(F.getitem(x, tuple(index)))

    return _scoped(name, build)


def strided_slice(input_, begin, end, strides=None, begin_mask=0, end_mask=0, ellipsis_mask=0,
                  new_axis_mask=0, shrink_axis_mask=0, name=None):
    """input_[begin[0]:end[0]:strides[0], ...], TF1's spelling of Python's slicing: bit i of a
    mask drops begin[i] (begin_mask) or end[i] (end_mask), or makes entry i an Ellipsis, a new
    axis or a single index (begin[i]). Entries may be ints or scalar int tensors, and begin, end
    and strides may be 1-d int tensors of known length, read when the graph runs.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     x = tf.placeholder(tf.float32, (None, 3))
    ...     last = tf.strided_slice(x, [0, -1], [tf.shape(x)[0], 0], shrink_axis_mask=2)
    ...     with tf.Session() as sess:
    ...         print(last.shape, sess.run(last, {x: np.arange(6.0).reshape(2, 3)}))
    (None,) [2. 5.]
    """
    def entries(what, values, count):
        if values is None:
            return [1] * count
        if isinstance(values, Tensor):
            if values.shape.ndims != 1 or values.shape[0] is None:
                raise GraphError(f"strided_slice: {what} must be a list or a 1-d int tensor of "
                                 f"known length, got {values.name!r} of shape {values.shape}")
            return [values[i] for i in _builtins.range(values.shape[0])]
        return list(values) if isinstance(values, (list, tuple, np.ndarray)) else [values]

    def build():
        starts = entries("begin", begin, None)
        stops, steps = entries("end", end, len(starts)), entries("strides", strides, len(starts))
        if not len(starts) == len(stops) == len(steps):
            raise GraphError(f"strided_slice: begin, end and strides must have one length, got "
                             f"{len(starts)}, {len(stops)} and {len(steps)}")
        index = []
        for i, (start, stop, step) in enumerate(zip(starts, stops, steps)):
            bit = 1 << i
            if ellipsis_mask & bit:
                index.append(Ellipsis)
            elif new_axis_mask & bit:
                index.append(None)
            elif shrink_axis_mask & bit:
                index.append(start)
            else:
                index.append(_builtins.slice(None if begin_mask & bit else start,
                                             None if end_mask & bit else stop, step))
        return _getitem(_node(input_), tuple(index))

    return _scoped(name, build)


def _range_at_run_time(start, limit, delta, dtype, name):
    """range with bounds known when the graph runs (tf.range(tf.shape(x)[0])): the dtype is
    `dtype`, else float32 if any bound is a float, int64 if any is int64, else int32."""
    bounds = (("start", start), ("limit", limit), ("delta", delta))
    kinds = []
    for what, v in bounds:
        if isinstance(v, Tensor):
            if v.shape.ndims not in (None, 0) or v.dtype.kind not in "iuf":
                raise GraphError(f"range: {what} must be a scalar number, got {v.name!r} of "
                                 f"shape {v.shape} and dtype {v.dtype}")
            kinds.append(v.dtype)
        else:
            kinds.append(_python_value_dtype(_python_scalar(what, v)))
    if dtype is None:
        dtype = dtypes.float32 if _builtins.any(k.kind == "f" for k in kinds) else \
            (dtypes.int64 if dtypes.int64 in kinds else dtypes.int32)
    dtype = dtypes.as_dtype(dtype)
    if not isinstance(delta, Tensor) and delta == 0:
        raise GraphError("range: delta must not be 0")

    def build():
        nodes = [(v if v.dtype == dtype else F.cast(v, dtype)) if isinstance(v, Tensor)
                 else constant(np.asarray(v, dtype), name=what) for what, v in bounds]
        return range_of(*nodes)

    return _scoped(name, build)


def fill(dims, value, name=None):
    """A tensor of shape `dims` with every element `value` (of value's dtype: int32 for a
    Python int, float32 for a Python float).

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.fill([2, 3], 9)))
    [[9 9 9]
     [9 9 9]]
    """
    def build():
        if holds_tensor(dims) or isinstance(dims, (int, np.integer)):
            return _fill_at_run_time()
        if isinstance(value, Tensor):
            if value.ndim != 0:
                raise GraphError(f"fill: value must be a scalar, got {value.name!r} of shape "
                                 f"{value.shape}")
            return F.contiguous_copy(F.broadcast_to(value, _static_dims("fill", dims)))
        if np.ndim(value) != 0:
            raise GraphError(f"fill: value must be a scalar, got {value!r}")
        return constant(np.full(_static_dims("fill", dims), value,
                                _python_value_dtype(value)), name="fill")

    def _fill_at_run_time():
        known, tensor = shape_argument("fill", dims, scalar_ok=True)
        if isinstance(value, Tensor):
            scalar = value
        elif np.ndim(value) == 0:
            scalar = constant(value, dtype=_python_value_dtype(value), name="value")
        else:
            raise GraphError(f"fill: value must be a scalar, got {value!r}")
        if scalar.shape.ndims not in (None, 0):
            raise GraphError(f"fill: value must be a scalar, got {scalar.name!r} of shape "
                             f"{scalar.shape}")
        if tensor is None:
            return F.contiguous_copy(F.broadcast_to(scalar, known))
        return fill_to(tensor, scalar, known)

    return _scoped(name, build)


def broadcast_to(input, shape, name=None):  # noqa: A002  (TensorFlow's argument name)
    """`input` stretched to `shape` by the broadcasting rules (ints, or shapes known when the
    graph runs, as `reshape` takes them). Gradients sum the stretched axes back.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     x = tf.placeholder(tf.float32, (None, 3))
    ...     row = tf.broadcast_to([1.0, 2.0, 3.0], tf.shape(x))
    ...     with tf.Session() as sess:
    ...         print(row.shape, sess.run(row, {x: np.zeros((2, 3))}))
    (None, 3) [[1. 2. 3.]
     [1. 2. 3.]]
    """
    from graph.dynamic_shapes import DynamicBroadcastTo, _add

    def build():
        x = _node(input)
        if not holds_tensor(shape):
            return F.contiguous_copy(F.broadcast_to(x, _static_dims("broadcast_to", shape)))
        known, tensor = shape_argument("broadcast_to", shape)
        if tensor is None:
            return F.contiguous_copy(F.broadcast_to(x, known))
        if known is not None and x.shape.ndims is not None:
            if x.ndim > len(known) or _builtins.any(
                    a is not None and b is not None and a not in (1, b)
                    for a, b in zip(reversed(tuple(x.shape)), reversed(known))):
                raise GraphError(f"broadcast_to: cannot broadcast {x.name!r} of shape {x.shape} "
                                 f"to {list(known)}")
        return _add(DynamicBroadcastTo(), [x, tensor], "BroadcastTo", known)

    return _scoped(name, build)


def _static_dims(op, dims):
    try:
        dims = tuple(dims)
        if all(isinstance(d, (int, np.integer)) and not isinstance(d, _builtins.bool) and d >= 0
               for d in dims):
            return tuple(int(d) for d in dims)
    except TypeError:
        pass
    raise GraphError(f"{op}: the shape must be a list of non-negative ints, got {dims!r}")


def eye(num_rows, num_columns=None, batch_shape=None, dtype=dtypes.float32, name=None):
    """The identity matrix (num_rows x num_columns), repeated over `batch_shape`.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.eye(2, 3)))
    [[1. 0. 0.]
     [0. 1. 0.]]
    """
    rows, = _static_dims("eye", [num_rows])
    columns, = _static_dims("eye", [rows if num_columns is None else num_columns])
    batch = () if batch_shape is None else _static_dims("eye", batch_shape)
    matrix = np.eye(rows, columns, dtype=dtypes.as_dtype(dtype))
    return constant(np.broadcast_to(matrix, batch + matrix.shape), name=name or "eye")


def tile(input, multiples, name=None):  # noqa: A002  (TensorFlow's argument name)
    """`input` repeated multiples[i] times along axis i; one multiple per axis.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.tile([[1, 2]], [2, 2])))
    [[1 2 1 2]
     [1 2 1 2]]
    """
    def build():
        x = _node(input)
        if holds_tensor(multiples):
            return _tile_at_run_time(x)
        reps = _static_dims("tile", multiples)
        if len(reps) != x.ndim:
            raise GraphError(f"tile: multiples {list(reps)} must have one entry for each of "
                             f"the {x.ndim} axes of {x.name!r}")
        return F.tile(x, reps)

    def _tile_at_run_time(x):
        from graph.dynamic_shapes import DynamicTile, _add

        known, tensor = shape_argument("tile", multiples)
        if tensor is None:
            return tile(x, list(known))
        if x.shape.ndims is None:
            raise GraphError(f"tile: the rank of {x.name!r} must be known when building")
        if known is not None and len(known) != x.ndim:
            raise GraphError(f"tile: multiples of length {len(known)} must have one entry for "
                             f"each of the {x.ndim} axes of {x.name!r}")
        static = (None,) * x.ndim if known is None else tuple(
            None if m is None or d is None else m * d for m, d in zip(known, x.shape))
        return _add(DynamicTile(), [x, tensor], "Tile", static)

    return _scoped(name, build)


def unstack(value, num=None, axis=0, name="unstack"):
    """The slices of `value` along `axis`, as a list of tensors of one rank less.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.unstack([[1, 2], [3, 4]], axis=1)))
    [array([1, 3]), array([2, 4])]
    """
    x = _node(value)
    if isinstance(axis, _builtins.bool) or not isinstance(axis, (int, np.integer)) or \
            not -x.ndim <= axis < x.ndim:
        raise GraphError(f"unstack: axis must be in [{-x.ndim}, {x.ndim}) for {x.name!r} of "
                         f"shape {x.shape}, got {axis!r}")
    axis = int(axis) % x.ndim
    count = x.shape[axis] if x.shape[axis] is not None else num
    if count is None:
        raise GraphError(f"unstack: the size of axis {axis} of {x.name!r} is unknown; give num")
    if x.shape[axis] is not None and num is not None and num != count:
        raise GraphError(f"unstack: num={num} but axis {axis} of {x.name!r} has size {count}")
    lead = (_builtins.slice(None),) * axis

    def build():
        return [F.getitem(x, lead + (i,)) for i in _builtins.range(count)]

    graph = get_default_graph()
    with graph.name_scope(name):
        return build()


def reverse(tensor, axis, name=None):
    """`tensor` with the order of its elements reversed along each axis in `axis` (a list).

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.reverse([[1, 2], [3, 4]], [1])))
    [[2 1]
     [4 3]]
    """
    return _scoped(name, lambda: F.flip(_node(tensor), axis))


def size(input, name=None, out_type=dtypes.int32):  # noqa: A002
    """The number of elements of `input`, as an int32 (or `out_type`) scalar, read when the
    graph runs where the shape is not fully known.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.size([[1, 2, 3], [4, 5, 6]])))
    6
    """
    def build():
        x = _node(input)
        return F.cast(F.prod(F.shape_of(x, dtypes.int64)), out_type)

    return _scoped(name, build)


def rank(input, name=None):  # noqa: A002
    """The number of axes of `input`, as an int32 scalar.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.rank([[1, 2, 3], [4, 5, 6]])))
    2
    """
    x = _node(input)
    if x.shape.ndims is None:
        raise GraphError(f"rank: the rank of {x.name!r} is unknown when building")
    return constant(np.int32(x.ndim), name=name or "Rank")


def to_float(x, name="ToFloat"):
    """x cast to float32 (TensorFlow 1's shorthand for cast(x, tf.float32))."""
    return _scoped(name, lambda: F.cast(_node(x), dtypes.float32))


def to_int32(x, name="ToInt32"):
    """x cast to int32 (floats truncate toward zero)."""
    return _scoped(name, lambda: F.cast(_node(x), dtypes.int32))


def to_int64(x, name="ToInt64"):
    """x cast to int64 (floats truncate toward zero)."""
    return _scoped(name, lambda: F.cast(_node(x), dtypes.int64))


def floordiv(x, y, name=None):
    """x / y rounded toward minus infinity (integers stay integers).

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.floordiv([7, -7], 2)))
    [ 3 -4]
    """
    return _scoped(name, lambda: F.floor_divide(_node(x), y))


def mod(x, y, name=None):
    """x - y * floor(x / y): the remainder with the sign of the divisor (TF's floormod).

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.mod([7, -7], 3)))
    [1 2]
    """
    return _scoped(name, lambda: F.remainder(_node(x), y))


floormod = mod


def truediv(x, y, name=None):
    """x / y as floats: int32 and int64 are converted to float64 first, as TensorFlow does;
    floats divide as they are.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.truediv(tf.constant([7, -7], tf.int32), 2)))
    [ 3.5 -3.5]
    """
    def build():
        left, right = _node(x), _node(y)
        if left.dtype.kind in "iu" and right.dtype.kind in "iu":
            left, right = F.cast(left, dtypes.float64), F.cast(right, dtypes.float64)
        return F.div(left, right)

    return _scoped(name, build)


def cumsum(x, axis=0, exclusive=False, reverse=False, name=None):
    """Running sums along `axis`; `exclusive` leaves each element out of its own sum (the first
    is 0), `reverse` sums from the far end. The dtype is x's.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.cumsum([1, 2, 3], exclusive=True, reverse=True)))
    [5 3 0]
    """
    def build():
        value = _node(x)
        if isinstance(axis, _builtins.bool) or not isinstance(axis, (int, np.integer)) or \
                not -value.ndim <= axis < value.ndim:
            raise GraphError(f"cumsum: axis must be in [{-value.ndim}, {value.ndim}) for "
                             f"{value.name!r} of shape {value.shape}, got {axis!r}")
        where_ = int(axis) % value.ndim
        shifted = value
        if exclusive:  # shift by one, a zero coming in where the sums start
            pairs = [(0, 0)] * value.ndim
            pairs[where_] = (0, 1) if reverse else (1, 0)
            keep = _builtins.slice(1, None) if reverse else _builtins.slice(None, -1)
            shifted = F.getitem(F.pad(value, tuple(pairs), 0),
                                (_builtins.slice(None),) * where_ + (keep,))
        return F.cast(F.cumsum(shifted, where_, reverse), value.dtype)

    return _scoped(name, build)


def _boolean(op, x):
    value = _node(x)
    if value.dtype != np.bool_:
        raise GraphError(f"{op}: expected a bool tensor, got {value.name!r} of dtype "
                         f"{value.dtype}")
    return value


def reduce_all(x, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
    """True where every element over `axis` is True (bool input).

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.reduce_all([[True, False], [True, True]], axis=1)))
    [False  True]
    """
    def all_(value, axis_, keep):
        value = F.cast(_boolean("reduce_all", value), dtypes.int32)
        return F.cast(F.min(value, axis_, keep), dtypes.bool_)

    return _reduction(all_, x, axis, keepdims, name, reduction_indices, keep_dims)


def reduce_any(x, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None):
    """True where some element over `axis` is True (bool input).

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.reduce_any([[True, False], [False, False]], axis=1)))
    [ True False]
    """
    def any_(value, axis_, keep):
        value = F.cast(_boolean("reduce_any", value), dtypes.int32)
        return F.cast(F.max(value, axis_, keep), dtypes.bool_)

    return _reduction(any_, x, axis, keepdims, name, reduction_indices, keep_dims)


def logical_and(x, y, name=None):
    """Elementwise x AND y, of bool tensors (broadcasting)."""
    return _scoped(name, lambda: F.logical_and(_boolean("logical_and", x),
                                               _boolean("logical_and", y)))


def logical_or(x, y, name=None):
    """Elementwise x OR y, of bool tensors (broadcasting)."""
    return _scoped(name, lambda: F.logical_or(_boolean("logical_or", x),
                                              _boolean("logical_or", y)))


def logical_not(x, name=None):
    """Elementwise NOT x, of a bool tensor."""
    return _scoped(name, lambda: F.logical_not(_boolean("logical_not", x)))


def count_nonzero(input_tensor, axis=None, keepdims=None, dtype=dtypes.int64, name=None,
                  reduction_indices=None, keep_dims=None):
    """How many elements over `axis` are not zero (not False), as int64 (or `dtype`).

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.count_nonzero([[0.0, 1.5], [2.0, 3.0]], axis=0)))
    [1 2]
    """
    def count(value, axis_, keep):
        return F.cast(F.sum(F.cast(F.ne(value, 0), dtypes.int64), axis_, keep), dtype)

    return _reduction(count, input_tensor, axis, keepdims, name, reduction_indices, keep_dims)


def norm(tensor, ord="euclidean", axis=None, keepdims=None, name=None, keep_dims=None):  # noqa: A002
    """The vector norm of `tensor` over `axis` (all of it when None; two axes for a matrix's
    Frobenius norm): ord 'euclidean' (or 'fro', 2), 1, or np.inf.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.norm([[3.0, 4.0], [0.0, 12.0]], axis=1)))
    [ 5. 12.]
    """
    if ord not in ("euclidean", "fro", 1, 2, np.inf):
        raise GraphError(f"norm: ord must be 'euclidean', 'fro', 1, 2 or np.inf, got {ord!r}")
    if ord == "fro" and (axis is None or isinstance(axis, int)):
        raise GraphError("norm: ord='fro' needs axis to name two axes")
    two_axes = axis is not None and not isinstance(axis, (int, np.integer)) and len(axis) == 2
    if two_axes and ord not in ("euclidean", "fro"):
        raise GraphError(f"norm: over two axes only ord='euclidean' or 'fro' is built, got "
                         f"{ord!r}")
    order = 2 if ord in ("euclidean", "fro") else ord

    def vector(value, axis_, keep):
        return F.vector_norm(value, order, axis_, keep)

    return _reduction(vector, tensor, axis, keepdims, name, None, keep_dims)


def _float_node(op, x):
    value = _node(x)
    if value.dtype.kind != "f":
        raise GraphError(f"{op}: expected a floating-point tensor, got {value.name!r} of dtype "
                         f"{value.dtype}")
    return value


def _floor_of(value):
    return F.floor_divide(value, 1.0)  # piecewise constant: no gradient, as in TensorFlow


def floor(x, name=None):
    """The largest integer not above x, elementwise (floats only).

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.floor([-1.5, 2.5])))
    [-2.  2.]
    """
    return _scoped(name, lambda: _floor_of(_float_node("floor", x)))


def ceil(x, name=None):
    """The smallest integer not below x, elementwise (floats only)."""
    return _scoped(name, lambda: F.neg(_floor_of(F.neg(_float_node("ceil", x)))))


def round(x, name=None):  # noqa: A001  (TensorFlow's name)
    """x rounded to the nearest integer, elementwise, ties to the even neighbour (banker's
    rounding, as TensorFlow does); integers come back unchanged.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.round([0.5, 1.5, -2.5, 2.7])))
    [ 0.  2. -2.  3.]
    """
    def build():
        value = _node(x)
        if value.dtype.kind != "f":
            return F.contiguous_copy(value)
        nearest = _floor_of(F.add(value, 0.5))
        tie_to_odd = F.logical_and(F.eq(F.sub(nearest, value), 0.5),
                                   F.ne(F.remainder(nearest, 2.0), 0))
        return F.where(tie_to_odd, F.sub(nearest, 1.0), nearest)

    return _scoped(name, build)


def sequence_mask(lengths, maxlen=None, dtype=dtypes.bool_, name=None):
    """mask[..., j] = j < lengths[...]: one row of `maxlen` entries per length, as bool (or
    `dtype`). maxlen must be given.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.sequence_mask([1, 3], 4)))
    [[ True False False False]
     [ True  True  True False]]
    """
    def build():
        lengths_ = _node(lengths)
        if lengths_.dtype.kind not in "iu":
            raise GraphError(f"sequence_mask: lengths must be integers, got dtype "
                             f"{lengths_.dtype}")
        if maxlen is None:
            raise GraphError("sequence_mask: give maxlen (TensorFlow's default, the largest "
                             "length read at run time, is not built)")
        if isinstance(maxlen, _builtins.bool) or not isinstance(maxlen, (int, np.integer)) or \
                maxlen < 0:
            raise GraphError(f"sequence_mask: maxlen must be a non-negative int, got {maxlen!r}")
        positions = constant(np.arange(int(maxlen), dtype=lengths_.dtype), name="positions")
        mask = F.lt(positions, F.unsqueeze(lengths_, -1))
        return mask if np.dtype(dtypes.as_dtype(dtype)) == np.bool_ else F.cast(mask, dtype)

    return _scoped(name, build)


def boolean_mask(tensor, mask, name="boolean_mask", axis=None):
    """The entries of `tensor` where the k-d bool `mask` is True, its first k axes (from `axis`,
    0 by default) flattened into one: shape (count,) + the remaining axes.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.boolean_mask([[1, 2], [3, 4], [5, 6]], [True, False, True])))
    [[1 2]
     [5 6]]
    """
    def build():
        value, keep = _node(tensor), _node(mask)
        if keep.dtype != np.bool_:
            raise GraphError(f"boolean_mask: mask must be bool, got {keep.name!r} of dtype "
                             f"{keep.dtype}")
        start = 0 if axis is None else axis
        if isinstance(start, _builtins.bool) or not isinstance(start, (int, np.integer)) or \
                not 0 <= start <= value.ndim - keep.ndim or keep.ndim == 0:
            raise GraphError(f"boolean_mask: a {keep.ndim}-d mask at axis {axis!r} does not fit "
                             f"{value.name!r} of shape {value.shape}")
        masked = value.shape[start:start + keep.ndim]
        if _builtins.any(a is not None and b is not None and a != b
                         for a, b in zip(masked, keep.shape)):
            raise GraphError(f"boolean_mask: mask {keep.name!r} of shape {keep.shape} does not "
                             f"match axes {start}..{start + keep.ndim - 1} of {value.name!r} of "
                             f"shape {value.shape}")
        lead, rest = value.shape[:start], value.shape[start + keep.ndim:]
        if None in lead or None in rest:
            raise GraphError(f"boolean_mask: the axes of {value.name!r} outside the mask must be "
                             f"known when building, got shape {value.shape}")
        flat = F.reshape(value, tuple(lead) + (-1,) + tuple(rest))
        where_true = F.getitem(F.nonzero(F.reshape(keep, (-1,))), (_builtins.slice(None), 0))
        return F.gather(flat, where_true, start)

    return _scoped(name, build)


def _tensordot_axes(axes, left_ndim, right_ndim):
    """TensorFlow's / NumPy's tensordot axes: an int n (x's last n with y's first n) or a pair
    of lists, as non-negative axes of each side."""
    if isinstance(axes, (int, np.integer)) and not isinstance(axes, _builtins.bool):
        if not 0 <= axes <= _builtins.min(left_ndim, right_ndim):
            raise GraphError(f"tensordot: axes={axes} is out of range for inputs of {left_ndim} "
                             f"and {right_ndim} dimensions")
        return (list(_builtins.range(left_ndim - axes, left_ndim)),
                list(_builtins.range(axes)))
    try:
        left, right = ([int(a)] if np.ndim(a) == 0 else [int(v) for v in a] for a in axes)
    except (TypeError, ValueError):
        raise GraphError(f"tensordot: axes must be an int or a pair of axis lists, got "
                         f"{axes!r}") from None
    if len(left) != len(right):
        raise GraphError(f"tensordot: {left} and {right} name different numbers of axes")
    for side, ndim in ((left, left_ndim), (right, right_ndim)):
        if _builtins.any(not -ndim <= a < ndim for a in side) or \
                len({a % ndim for a in side}) != len(side):
            raise GraphError(f"tensordot: axes {side} are out of range or repeated for an input "
                             f"of {ndim} dimensions")
    return [a % left_ndim for a in left], [a % right_ndim for a in right]


def _contract(x, y, axes):
    """The tensordot of two graph Tensors, as one einsum (shared by the TF1 and Theano faces)."""
    left, right = _tensordot_axes(axes, x.ndim, y.ndim)
    letters = "abcdefghijklmnopqrstuvwxyz"
    if x.ndim + y.ndim > len(letters):
        raise GraphError("tensordot: too many dimensions")
    x_letters = list(letters[:x.ndim])
    y_letters = list(letters[x.ndim:x.ndim + y.ndim])
    for a, b in zip(left, right):
        if x.shape[a] is not None and y.shape[b] is not None and x.shape[a] != y.shape[b]:
            raise GraphError(f"tensordot: axis {a} of {x.name!r} (size {x.shape[a]}) does not "
                             f"match axis {b} of {y.name!r} (size {y.shape[b]})")
        y_letters[b] = x_letters[a]
    kept = [x_letters[i] for i in _builtins.range(x.ndim) if i not in left] + \
        [y_letters[i] for i in _builtins.range(y.ndim) if i not in right]
    equation = f"{''.join(x_letters)},{''.join(y_letters)}->{''.join(kept)}"
    return F.einsum(equation, x, y)


def tensordot(a, b, axes, name=None):
    """Sums of products over `axes`: an int n (a's last n axes with b's first n) or a pair of
    axis lists; the result has a's remaining axes, then b's.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.tensordot([[1.0, 2.0], [3.0, 4.0]], [1.0, 1.0], 1)))
    [3. 7.]
    """
    return _scoped(name, lambda: _contract(_node(a), _node(b), axes))
