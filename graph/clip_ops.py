"""TensorFlow 1's gradient clipping: `tf.clip_by_global_norm`, `tf.clip_by_norm`,
`tf.global_norm` (`tf.clip_by_value` is in `graph.api`).

The usual TF1 idiom clips the gradients between `compute_gradients` and `apply_gradients`:

>>> import graph as tf
>>> with tf.Graph().as_default():
...     w = tf.Variable([3.0, 4.0], name="w")
...     optimizer = tf.train.GradientDescentOptimizer(1.0)
...     grads, variables = zip(*optimizer.compute_gradients(tf.reduce_sum(w * w)))
...     clipped, norm = tf.clip_by_global_norm(grads, 1.0)
...     train_op = optimizer.apply_gradients(zip(clipped, variables))
...     with tf.Session() as sess:
...         sess.run(tf.global_variables_initializer())
...         print(sess.run(norm), sess.run(clipped))  # the gradient (6, 8) has norm 10
10.0 [array([0.6, 0.8], dtype=float32)]
"""

from __future__ import annotations

import numpy as np

from framework import dtypes
from framework.ops import F
from graph.core import GraphError, Tensor, constant, get_default_graph

__all__ = ["clip_by_global_norm", "clip_by_norm", "global_norm"]


def _float_tensor(function: str, value, what: str) -> Tensor:
    tensor = value if isinstance(value, Tensor) else constant(value)
    if not dtypes.is_float(tensor.dtype):
        raise GraphError(f"{function}: {what} must be floating point, got {tensor.name!r} of "
                         f"dtype {tensor.dtype}")
    return tensor


def _tensor_list(function: str, t_list) -> list:
    if isinstance(t_list, (str, bytes, Tensor)) or not hasattr(t_list, "__iter__"):
        raise GraphError(f"{function}: t_list should be a sequence of tensors, got "
                         f"{type(t_list).__name__} {t_list!r}")
    values = [None if t is None else _float_tensor(function, t, f"t_list[{i}]")
              for i, t in enumerate(t_list)]
    present = [t for t in values if t is not None]
    if any(t.dtype != present[0].dtype for t in present):
        raise GraphError(f"{function}: every tensor of t_list needs one dtype, got "
                         f"{sorted({t.dtype.name for t in present})}")
    return values


def _clip_norm(function: str, clip_norm, dtype) -> Tensor | float:
    if isinstance(clip_norm, Tensor):
        if clip_norm.ndim != 0 or not dtypes.is_float(clip_norm.dtype):
            raise GraphError(f"{function}: clip_norm must be a scalar float tensor, got "
                             f"{clip_norm.name!r} of shape {clip_norm.shape} and dtype "
                             f"{clip_norm.dtype}")
        return clip_norm if clip_norm.dtype == dtype else F.cast(clip_norm, dtype)
    if isinstance(clip_norm, bool) or not isinstance(clip_norm, (int, float, np.number)) or \
            not float(clip_norm) > 0:
        raise GraphError(f"{function}: clip_norm must be a positive number or a scalar float "
                         f"tensor, got {clip_norm!r}")
    return float(clip_norm)


def global_norm(t_list, name=None):
    """sqrt(sum of the squares of every element of every tensor of t_list); None entries are
    skipped.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.global_norm([tf.constant([3.0]), None, tf.constant([[4.0]])])))
    5.0
    """
    values = [t for t in _tensor_list("global_norm", t_list) if t is not None]
    if not values:
        raise GraphError("global_norm: t_list holds no tensor")
    graph = get_default_graph()
    with graph.name_scope(name, "global_norm") as scope:
        squares = [F.sum(F.square(t)) for t in values]
        total = squares[0]
        for square in squares[1:]:
            total = F.add(total, square)
        return graph.name_result(F.sqrt(total), scope)


def clip_by_global_norm(t_list, clip_norm, use_norm=None, name=None):
    """(t_list scaled by clip_norm / max(global_norm, clip_norm), global_norm).

    The tensors keep their directions and relative sizes; nothing changes while the global
    norm is at most clip_norm. None entries stay None (a variable without a gradient). If the
    norm is infinite or NaN, every clipped tensor is NaN, as in TensorFlow. `use_norm` gives the
    norm instead of computing it.
    """
    function = "clip_by_global_norm"
    values = _tensor_list(function, t_list)
    present = [t for t in values if t is not None]
    if not present:
        raise GraphError(f"{function}: t_list holds no tensor")
    dtype = present[0].dtype
    norm = global_norm(values) if use_norm is None else _float_tensor(function, use_norm,
                                                                       "use_norm")
    if norm.ndim != 0:
        raise GraphError(f"{function}: use_norm must be a scalar, got shape {norm.shape}")
    if norm.dtype != dtype:
        norm = F.cast(norm, dtype)
    graph = get_default_graph()
    with graph.name_scope(name, "clip_by_global_norm"):
        limit = _clip_norm(function, clip_norm, dtype)
        inverse_limit = 1.0 / limit if isinstance(limit, float) else F.div(1.0, limit)
        scale = F.mul(F.minimum(F.div(1.0, norm), inverse_limit), limit)
        scale = F.add(scale, F.sub(norm, norm))  # NaN when the norm is inf or NaN
        clipped = [None if t is None else F.mul(t, scale) for t in values]
    return clipped, norm


def clip_by_norm(t, clip_norm, axes=None, name=None):
    """t * clip_norm / max(l2 norm of t, clip_norm): its L2 norm (over `axes`, default all of
    it) becomes at most clip_norm.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.clip_by_norm(tf.constant([3.0, 4.0]), 1.0)))
    [0.6 0.8]
    """
    function = "clip_by_norm"
    value = _float_tensor(function, t, "t")
    graph = get_default_graph()
    with graph.name_scope(name, "clip_by_norm") as scope:
        limit = _clip_norm(function, clip_norm, value.dtype)
        axis = None if axes is None else tuple(axes) if isinstance(axes, (list, tuple)) \
            else axes
        squares = F.sum(F.square(value), axis, keepdims=True)
        positive = F.gt(squares, 0)
        # sqrt only of positive sums: the gradient of sqrt at 0 would be infinite.
        norm = F.where(positive, F.sqrt(F.where(positive, squares, F.ones_like(squares))),
                       squares)
        return graph.name_result(F.div(F.mul(value, limit), F.maximum(norm, limit)), scope)
