"""`graph.layers`: TensorFlow 1's `tf.layers` functions.

Each layer function creates its Variables with `get_variable` in a variable scope of its own
(`dense/kernel`, `dense/bias`, `dense_1/kernel`, ...; inside `tf.variable_scope("model")`,
`model/dense/kernel`) and returns its output tensor; as in TensorFlow 1, a `name_scope` does
not change variable names. Weights keep TensorFlow's
shapes: a dense kernel is (in, units), a conv2d kernel is HWIO (height, width, in, out). Images
are channels last ("channels_last" = NHWC) by default, as in TensorFlow; pass
data_format="channels_first" for NCHW images, which the kernels take without a transpose.

Initial values are NumPy arrays drawn when the layer is built (`graph.initializers`), seeded
by `tf.set_random_seed` or else by the shared generator (`framework.ops.random`), so
`manual_seed(s)` makes a whole model reproducible. The default kernel initializer is
TensorFlow's Glorot uniform. It draws in the eager front-end's
(out, in, *kernel) layout and transposes, so a graph layer and an eager layer initialized with
`eager.nn.init.xavier_uniform_` from the same seed start from the same weights.

Passing `name=` to a layer whose variables exist already raises, as in TensorFlow 1, unless
`reuse=True` (or an enclosing `variable_scope(..., reuse=...)`), which shares them.

>>> import numpy as np
>>> import graph as tf
>>> with tf.Graph().as_default():
...     x = tf.placeholder(tf.float32, (None, 4))
...     y = tf.layers.dense(x, 3, activation=tf.nn.relu)
...     [v.op.name for v in tf.trainable_variables()], y.shape
(['dense/kernel', 'dense/bias'], (None, 3))
"""

from __future__ import annotations

import math

import numpy as np

from framework import dtypes
from framework.ops import F
from graph import nn, random_ops
from graph.core import GraphError, Tensor, constant, get_default_graph
from graph.gradients import identity
from graph.initializers import (
    _known_shape,
    constant_initializer,
    glorot_normal_initializer,
    glorot_uniform_initializer,
    ones_initializer,
    random_normal_initializer,
    random_uniform_initializer,
    zeros_initializer,
)
from graph.variable_scope import AUTO_REUSE, get_variable, variable_scope
from graph.variables import Variable

__all__ = [
    "average_pooling2d", "batch_normalization", "constant_initializer", "conv2d", "dense",
    "dropout", "flatten",
    "glorot_normal_initializer", "glorot_uniform_initializer", "max_pooling2d",
    "ones_initializer", "random_normal_initializer", "random_uniform_initializer",
    "zeros_initializer",
]


# ---------------------------------------------------------------------------------------------
# Scopes and variables


class _LayerScope:
    """The variable scope of one layer call (TensorFlow 1's): the layer's variables are
    `get_variable`'s, so a layer shares them by name with reuse=True, inside a reusing
    variable scope, or with get_variable itself."""

    def __init__(self, default_name, name, reuse):
        reuse = reuse if reuse in (True, AUTO_REUSE) else None
        if reuse is not None and name is None:  # the base name itself, as TensorFlow 1
            self._scope = variable_scope(default_name, reuse=reuse)
        else:
            self._scope = variable_scope(name, default_name=default_name, reuse=reuse)

    def __enter__(self):
        self.variable_scope = self._scope.__enter__()
        self.scope = self.variable_scope.original_name_scope
        return self

    def __exit__(self, *exc):
        return self._scope.__exit__(*exc)

    def variable(self, name, shape, dtype, initializer, trainable=True) -> Variable:
        return get_variable(name, _known_shape(shape), dtype, initializer,
                            trainable=trainable)


def _input(function: str, inputs, min_rank: int) -> Tensor:
    x = inputs if isinstance(inputs, Tensor) else constant(inputs)
    if not dtypes.is_float(x.dtype):
        raise GraphError(f"{function}: inputs must be floating point, got {x.name!r} of dtype "
                         f"{x.dtype}; cast them with tf.cast")
    if min_rank and x.shape.ndims is None:
        raise GraphError(f"{function}: the inputs {x.name!r} have an unknown rank, and this "
                         f"layer needs at least {min_rank} dimensions, the last ones known: "
                         "give them a shape (a placeholder's shape=, or tensor.set_shape)")
    if x.ndim < min_rank:
        raise GraphError(f"{function}: inputs need at least {min_rank} dimensions, got shape "
                         f"{x.shape}")
    return x


def _data_format(function: str, data_format) -> str:
    formats = {"channels_first": "NCHW", "channels_last": "NHWC"}
    if data_format not in formats:
        raise GraphError(f"{function}: data_format must be 'channels_last' (NHWC, the "
                         f"default) or 'channels_first' (NCHW), got {data_format!r}")
    return formats[data_format]


def _layer_padding(function: str, padding) -> str:
    if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
        raise GraphError(f"{function}: padding must be 'valid' or 'same', got {padding!r}")
    return padding.upper()


REGULARIZATION_LOSSES = "regularization_losses"  # tf.GraphKeys.REGULARIZATION_LOSSES
UPDATE_OPS = "update_ops"  # tf.GraphKeys.UPDATE_OPS


def _not_built(function: str, **arguments) -> None:
    """Refuse arguments of TensorFlow's layers that this front-end does not implement."""
    for what, value in arguments.items():
        if value is not None and value is not False:
            raise GraphError(f"{function}: {what} is not built in dualgraph's tf.layers; leave "
                             f"it at its default")


def _weight(layer, name, shape, dtype, initializer, regularizer, trainable) -> Variable:
    """`layer.variable(...)`, and `regularizer(variable)` added to REGULARIZATION_LOSSES when
    the variable is made here (a shared one was regularized where it was made)."""
    if regularizer is not None and not callable(regularizer):
        raise GraphError(f"the regularizer of {name!r} must be a function of the variable "
                         f"returning a scalar loss tensor, got {regularizer!r}")
    graph = get_default_graph()
    known = len(graph.get_collection("variables"))
    variable = layer.variable(name, shape, dtype, initializer, trainable)
    if regularizer is None or len(graph.get_collection("variables")) == known:
        return variable
    with graph.name_scope(f"{name}/Regularizer"):
        loss = regularizer(variable)
    if loss is None:
        return variable
    if not isinstance(loss, Tensor) or loss.ndim != 0 or not dtypes.is_float(loss.dtype):
        raise GraphError(f"the regularizer of {variable.op.name!r} must return a scalar float "
                         f"tensor (or None), got {loss!r}")
    graph.add_to_collection(REGULARIZATION_LOSSES, loss)
    return variable


# ---------------------------------------------------------------------------------------------
# Layers


def dense(inputs, units, activation=None, use_bias=True, kernel_initializer=None,
          bias_initializer=None, kernel_regularizer=None, bias_regularizer=None,
          activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
          trainable=True, name=None, reuse=None):
    """activation(inputs @ kernel + bias) with kernel (in, units) and bias (units,).

    Inputs of rank above 2 are transformed along their last axis. The kernel defaults to
    Glorot uniform, the bias to zeros; the variables take the inputs' dtype. A
    `kernel_regularizer` / `bias_regularizer` (variable -> scalar loss tensor, or None) adds
    its loss to tf.GraphKeys.REGULARIZATION_LOSSES when the variable is made (see
    `tf.losses.get_total_loss`).

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     x = tf.placeholder(tf.float32, (None, 4))
    ...     y = tf.layers.dense(x, 2, name="fc")
    ...     with tf.Session() as sess:
    ...         sess.run(tf.global_variables_initializer())
    ...         print(sess.run(y, {x: np.zeros((3, 4))}).shape)
    (3, 2)
    """
    if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
        raise GraphError(f"dense: units must be a positive int, got {units!r}")
    _not_built("dense", activity_regularizer=activity_regularizer,
               kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
    x = _input("dense", inputs, 2)
    in_size = x.shape[-1]
    if in_size is None:
        raise GraphError(f"dense: the last dimension of the inputs must be known, got shape "
                         f"{x.shape}")
    with _LayerScope("dense", name, reuse) as layer:
        kernel = _weight(layer, "kernel", (in_size, int(units)), x.dtype,
                         kernel_initializer or glorot_uniform_initializer(), kernel_regularizer,
                         trainable)
        bias = None
        if use_bias:
            bias = _weight(layer, "bias", (int(units),), x.dtype,
                           bias_initializer or zeros_initializer(), bias_regularizer, trainable)
        if dtypes.is_float(x.dtype):
            # The op eager's nn.Linear runs, on the (out, in) matrix it holds: BLAS then gets
            # the same calls on the same layouts forward and backward, so the two front-ends
            # agree bit for bit on every CPU (a transposed operand can round differently).
            y = F.linear(x, F.contiguous_copy(F.transpose(kernel)), bias)
        else:
            y = F.matmul(x, kernel)
            y = F.add(y, bias) if bias is not None else y
        return activation(y) if activation is not None else y


def conv2d(inputs, filters, kernel_size, strides=(1, 1), padding="valid",
           data_format="channels_last", dilation_rate=(1, 1), activation=None, use_bias=True,
           kernel_initializer=None, bias_initializer=None, kernel_regularizer=None,
           bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
           bias_constraint=None, trainable=True, name=None, reuse=None):
    """A 2-D convolution layer: kernel (kh, kw, in_channels, filters) (HWIO), bias (filters,).

    kernel_size, strides and dilation_rate are ints or (h, w) pairs; padding "valid" or
    "same"; images are channels last (NHWC) unless data_format="channels_first". Regularizers
    as in `dense`.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     images = tf.placeholder(tf.float32, (None, 8, 8, 1))
    ...     features = tf.layers.conv2d(images, 4, 3, padding="same", activation=tf.nn.relu)
    ...     features.shape, tf.trainable_variables()[0].shape
    ((None, 8, 8, 4), (3, 3, 1, 4))
    """
    function = "conv2d"
    if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters < 1:
        raise GraphError(f"conv2d: filters (the number of output channels) must be a positive "
                         f"int, got {filters!r}")
    _not_built(function, activity_regularizer=activity_regularizer,
               kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
    format_ = _data_format(function, data_format)
    x = _input(function, inputs, 4)
    channels = x.shape[1 if format_ == "NCHW" else 3]
    if channels is None:
        raise GraphError(f"conv2d: the channel dimension of the inputs must be known, got "
                         f"shape {x.shape} ({data_format})")
    kernel_hw = nn._spatial_pair(function, "kernel_size", kernel_size, format_)
    with _LayerScope("conv2d", name, reuse) as layer:
        kernel = _weight(layer, "kernel", kernel_hw + (channels, int(filters)), x.dtype,
                         kernel_initializer or glorot_uniform_initializer(), kernel_regularizer,
                         trainable)
        y = nn.conv2d(x, kernel, strides, _layer_padding(function, padding),
                      data_format=format_, dilations=dilation_rate)
        if use_bias:
            bias = _weight(layer, "bias", (int(filters),), x.dtype,
                           bias_initializer or zeros_initializer(), bias_regularizer, trainable)
            y = nn.bias_add(y, bias, data_format=format_)
        return activation(y) if activation is not None else y


def max_pooling2d(inputs, pool_size, strides, padding="valid", data_format="channels_last",
                  name=None):
    """The maximum over each pool_size window (ints or (h, w) pairs), channels last.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     images = tf.placeholder(tf.float32, (None, 8, 8, 4))
    ...     tf.layers.max_pooling2d(images, 2, 2).shape
    (None, 4, 4, 4)
    """
    format_ = _data_format("max_pooling2d", data_format)
    padding = _layer_padding("max_pooling2d", padding)
    with get_default_graph().name_scope(name or "max_pooling2d"):
        return nn.max_pool2d(_input("max_pooling2d", inputs, 4), pool_size, strides, padding,
                             format_)


def average_pooling2d(inputs, pool_size, strides, padding="valid",
                      data_format="channels_last", name=None):
    """The mean over each pool_size window (ints or (h, w) pairs), channels last.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     images = tf.placeholder(tf.float32, (None, 8, 8, 4))
    ...     tf.layers.average_pooling2d(images, 3, 2, padding="same").shape
    (None, 4, 4, 4)
    """
    format_ = _data_format("average_pooling2d", data_format)
    padding = _layer_padding("average_pooling2d", padding)
    with get_default_graph().name_scope(name or "average_pooling2d"):
        return nn.avg_pool2d(_input("average_pooling2d", inputs, 4), pool_size, strides,
                             padding, format_)


def flatten(inputs, name=None):
    """(batch, everything else): all axes but the first merged into one.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     tf.layers.flatten(tf.placeholder(tf.float32, (None, 4, 2, 2))).shape
    (None, 16)
    """
    x = inputs if isinstance(inputs, Tensor) else constant(inputs)
    if x.ndim == 0:
        raise GraphError("flatten: inputs need a batch dimension, got a scalar")
    rest = x.shape[1:]
    if any(d is None for d in rest):
        raise GraphError(f"flatten: all dimensions but the first must be known, got shape "
                         f"{x.shape}")
    with get_default_graph().name_scope(name or "flatten"):
        return F.reshape(x, (-1 if x.shape[0] is None else x.shape[0], math.prod(rest)))


def dropout(inputs, rate=0.5, noise_shape=None, seed=None, training=False, name=None):
    """Dropout while training, the identity otherwise (TensorFlow's default training=False).

    `training` is a Python bool, or a bool Tensor (e.g. a placeholder) that chooses at run
    time through `graph.cond`. See `graph.nn.dropout` for the rate, noise_shape and seed.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     x = tf.ones((4,))
    ...     with tf.Session() as sess:
    ...         print(sess.run(tf.layers.dropout(x, 0.5, training=False)))
    [1. 1. 1. 1.]
    """
    x = _input("dropout", inputs, 0)
    with get_default_graph().name_scope(name or "dropout"):
        if isinstance(training, Tensor):
            return _dropout_switched(x, rate, noise_shape, seed, training)
        if isinstance(training, (bool, np.bool_)):
            if not training:
                return identity(x)
            return nn.dropout(x, rate=rate, noise_shape=noise_shape, seed=seed)
        raise GraphError(f"dropout: training must be a Python bool or a bool Tensor, got "
                         f"{training!r}")


def _dropout_switched(x, rate, noise_shape, seed, training):
    if training.dtype != np.bool_ or not training.shape.is_compatible_with(()):
        raise GraphError(f"dropout: training must be a scalar bool Tensor, got "
                         f"{training.name!r} of shape {training.shape} and dtype "
                         f"{training.dtype}")
    try:
        from graph.control_flow import cond
    except ImportError:
        raise GraphError("dropout: a Tensor `training` needs graph.cond, which this version "
                         "does not have; pass a Python bool") from None
    # The seed is drawn now, outside the branch, so building the graph draws the same seeds
    # whichever way `training` is later fed.
    seed = random_ops.op_seed(seed)
    return cond(training,
                lambda: nn.dropout(x, rate=rate, noise_shape=noise_shape, seed=seed),
                lambda: identity(x))


def batch_normalization(inputs, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                        beta_initializer=None, gamma_initializer=None,
                        moving_mean_initializer=None, moving_variance_initializer=None,
                        beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                        gamma_constraint=None, training=False, trainable=True, name=None,
                        reuse=None, renorm=False, renorm_clipping=None, renorm_momentum=0.99,
                        fused=None, virtual_batch_size=None, adjustment=None):
    """Batch normalization over every axis but `axis` (the channels: -1, or 1 for NCHW).

    gamma * (x - mean) / sqrt(variance + epsilon) + beta, with the batch's mean and variance
    while `training` (a Python bool, or a scalar bool tensor fed at run time) and the moving
    averages otherwise. While training, the layer adds two ops to tf.GraphKeys.UPDATE_OPS that
    move the averages toward the batch's statistics (moving = moving - (moving - batch) *
    (1 - momentum)); as in TensorFlow 1, nothing runs them unless the train op depends on
    them::

        update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
        with tf.control_dependencies(update_ops):
            train_op = optimizer.minimize(loss)

    Variables: `gamma` (ones) and `beta` (zeros), trainable, and `moving_mean` (zeros) and
    `moving_variance` (ones), not trainable. As TensorFlow 1's layer does by default, the
    moving variance of 4-D float32 inputs with the channels on axis 1 or 3 (its fused kernel's
    case) learns the batch variance with Bessel's correction (n / (n - 1)); other inputs use
    the batch variance itself, the one that normalizes. Batch renormalization, virtual
    batches, adjustment and constraints are not built.

    >>> import numpy as np
    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     x = tf.placeholder(tf.float32, (None, 2))
    ...     y = tf.layers.batch_normalization(x, training=True)
    ...     with tf.Session() as sess:
    ...         sess.run(tf.global_variables_initializer())
    ...         print(sess.run(y, {x: [[1.0, 5.0], [3.0, 5.0]]}).round(4))
    [[-0.9995  0.    ]
     [ 0.9995  0.    ]]
    """
    from graph.variables import assign_sub

    function = "batch_normalization"
    _not_built(function, beta_constraint=beta_constraint, gamma_constraint=gamma_constraint,
               renorm=renorm, renorm_clipping=renorm_clipping,
               virtual_batch_size=virtual_batch_size, adjustment=adjustment)
    x = _input(function, inputs, 1)
    rank = x.ndim
    channel_axis = _normalized_axis(function, axis, rank)
    channels = x.shape[channel_axis]
    if channels is None:
        raise GraphError(f"{function}: the normalized axis {axis} of the inputs must be known, "
                         f"got shape {x.shape}")
    for what, value, high in (("momentum", momentum, 1.0), ("epsilon", epsilon, None)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or \
                not np.isfinite(value) or value < 0 or (high is not None and value > high):
            raise GraphError(f"{function}: {what} must be a number in [0, {high or 'inf'}], "
                             f"got {value!r}")
    if isinstance(training, Tensor):
        if training.dtype != np.bool_ or training.ndim not in (0, None):
            raise GraphError(f"{function}: training must be a scalar bool tensor, got "
                             f"{training.name!r} of shape {training.shape} and dtype "
                             f"{training.dtype}")
    elif not isinstance(training, (bool, np.bool_)):
        raise GraphError(f"{function}: training must be a Python bool or a scalar bool tensor, "
                         f"got {training!r}")
    reduction = [i for i in range(rank) if i != channel_axis]
    # TensorFlow 1's layer runs its fused kernel here, whose moving variance is unbiased.
    bessel = fused is not False and rank == 4 and channel_axis in (1, 3) and \
        x.dtype == dtypes.float32
    shape = (int(channels),)
    with _LayerScope("batch_normalization", name, reuse) as layer:
        gamma = _weight(layer, "gamma", shape, x.dtype, gamma_initializer or ones_initializer(),
                        gamma_regularizer, trainable) if scale else None
        beta = _weight(layer, "beta", shape, x.dtype, beta_initializer or zeros_initializer(),
                       beta_regularizer, trainable) if center else None
        moving_mean = layer.variable("moving_mean", shape, x.dtype,
                                     moving_mean_initializer or zeros_initializer(), False)
        moving_variance = layer.variable("moving_variance", shape, x.dtype,
                                         moving_variance_initializer or ones_initializer(),
                                         False)
        graph = get_default_graph()
        if training is False or training is np.False_:
            mean, variance = moving_mean, moving_variance
        else:
            batch_mean, batch_variance = nn.moments(x, reduction)
            learned_variance = batch_variance
            if bessel:
                count = _per_channel_count(x, reduction, channels)
                learned_variance = F.mul(batch_variance, F.div(count, F.sub(count, 1.0)))
            if isinstance(training, Tensor):  # the moving averages stay put when not training
                batch_mean = F.where(training, batch_mean, moving_mean)
                batch_variance = F.where(training, batch_variance, moving_variance)
                learned_variance = F.where(training, learned_variance, moving_variance)
            mean, variance = batch_mean, batch_variance
            decay = 1.0 - float(momentum)
            for average, value, op_name in ((moving_mean, batch_mean, "AssignMovingAvg"),
                                            (moving_variance, learned_variance,
                                             "AssignMovingAvg_1")):
                update = assign_sub(average, F.mul(F.sub(average, value), decay), name=op_name)
                graph.add_to_collection(UPDATE_OPS, update)
        # TensorFlow's arithmetic: x * inv + (beta - mean * inv), inv = gamma / sqrt(var + eps)
        inv = F.rsqrt(F.add(variance, float(epsilon)))
        if gamma is not None:
            inv = F.mul(inv, gamma)
        shift = F.neg(F.mul(mean, inv)) if beta is None else F.sub(beta, F.mul(mean, inv))
        if channel_axis != rank - 1:
            broadcast = tuple(int(channels) if i == channel_axis else 1 for i in range(rank))
            inv, shift = F.reshape(inv, broadcast), F.reshape(shift, broadcast)
        return F.add(F.mul(x, inv), shift)


def _normalized_axis(function: str, axis, rank: int) -> int:
    if isinstance(axis, (list, tuple)):
        if len(axis) != 1:
            raise GraphError(f"{function}: normalizing over several axes {list(axis)} is not "
                             f"built; give one axis")
        axis = axis[0]
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or \
            not -rank <= axis < rank:
        raise GraphError(f"{function}: axis must be an int in [{-rank}, {rank}) for inputs of "
                         f"rank {rank}, got {axis!r}")
    return int(axis) % rank


def _per_channel_count(x, reduction, channels):
    """How many values each channel's statistics average over, as a scalar of x's dtype."""
    sizes = [x.shape[i] for i in reduction]
    if None not in sizes:
        return float(math.prod(sizes))
    total = F.cast(F.prod(F.shape_of(x)), x.dtype)
    return F.div(total, float(channels))
