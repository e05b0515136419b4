"""TensorFlow-1 names for the registry's ops, on graph Tensors.

Each function adds nodes through the neutral functions (`framework.ops.functions`), so the
shape rule runs at build time and the kernels and gradient rules are the shared ones.
"""

from __future__ import annotations

import numpy as np

from framework import dtypes
from framework.ops import F
from framework.ops import random as framework_random
from graph.core import Tensor, constant, get_default_graph


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


def reduce_sum(x, axis=None, keepdims=False, name=None):
    return _scoped(name, lambda: F.sum(x, _axis(axis), keepdims))


def reduce_mean(x, axis=None, keepdims=False, name=None):
    return _scoped(name, lambda: F.mean(x, _axis(axis), keepdims))


def reduce_max(x, axis=None, keepdims=False, name=None):
    return _scoped(name, lambda: F.max(x, _axis(axis), keepdims))


def reduce_min(x, axis=None, keepdims=False, name=None):
    return _scoped(name, lambda: F.min(x, _axis(axis), keepdims))


def reduce_prod(x, axis=None, keepdims=False, name=None):
    return _scoped(name, lambda: F.prod(x, _axis(axis), keepdims))


def reduce_logsumexp(x, axis=None, keepdims=False, name=None):
    return _scoped(name, lambda: F.logsumexp(x, _axis(axis), keepdims))


def argmax(x, axis=None, output_type=dtypes.int64, name=None):
    return _scoped(name, lambda: F.cast(F.argmax(x, 0 if axis is None else axis),
                                        output_type))


def argmin(x, axis=None, output_type=dtypes.int64, name=None):
    return _scoped(name, lambda: F.cast(F.argmin(x, 0 if axis is None else axis),
                                        output_type))


def cast(x, dtype, name=None):
    return _scoped(name, lambda: F.cast(x, dtype))


def reshape(x, shape, name=None):
    return _scoped(name, lambda: F.reshape(x, tuple(shape)))


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


def one_hot(indices, depth, dtype=dtypes.float32, name=None):
    return _scoped(name, lambda: F.one_hot(indices, depth, dtype))


def clip_by_value(x, clip_value_min, clip_value_max, name=None):
    return _scoped(name, lambda: F.clip(x, clip_value_min, clip_value_max))


def where(condition, x, y, name=None):
    return _scoped(name, lambda: F.where(condition, x, y))


def zeros(shape, dtype=dtypes.float32, name="zeros"):
    return constant(np.zeros(tuple(shape), dtypes.as_dtype(dtype)), name=name)


def ones(shape, dtype=dtypes.float32, name="ones"):
    return constant(np.ones(tuple(shape), dtypes.as_dtype(dtype)), name=name)


def zeros_like(x, dtype=None, name=None):
    return _scoped(name, lambda: F.zeros_like(x, dtype))


def ones_like(x, dtype=None, name=None):
    return _scoped(name, lambda: F.ones_like(x, dtype))


def random_normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed=None, name=None):
    """Normal values drawn when the graph is built (a constant node), from the shared seeded
    generator: the same seed gives the same numbers as eager."""
    generator = framework_random.Generator(seed) if seed is not None else \
        framework_random.default_generator
    return constant(generator.normal(tuple(shape), mean, stddev, dtypes.as_dtype(dtype)),
                    name=name or "random_normal")


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=dtypes.float32, seed=None, name=None):
    generator = framework_random.Generator(seed) if seed is not None else \
        framework_random.default_generator
    return constant(generator.uniform(tuple(shape), minval, maxval, dtypes.as_dtype(dtype)),
                    name=name or "random_uniform")


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
Tensor.__getitem__ = lambda self, index: F.getitem(self, index)
