"""The graph front-end's models for the 8x8 digits: the MLP and CNN of `models_eager`, written
as a TensorFlow 1 user writes them, with a placeholder and `tf.layers`.

They are the same models, not look-alikes:

- the same layers in the same order, the CNN channels first (NCHW) as eager's (passed as
  data_format="channels_first": TensorFlow's layers default to channels last);
- the same initial weights from the same seed: each layer draws PyTorch's default
  initialization (the eager layers' own) from the shared seeded generator, weight then bias,
  in eager's layout, and transposes it to TensorFlow's (`weights_bridge`);
- layer scopes named after the eager modules they mirror ('layers/0' is `layers.0`), so
  `weights_bridge` moves weights between the two by name.

>>> import graph as tf
>>> model = build_model("mlp", seed=0)
>>> model.images, model.logits
(<graph.Tensor 'images:0' shape=(None, 64) dtype=float32>, <graph.Tensor 'logits:0' \
shape=(None, 10) dtype=float32>)
>>> [v.op.name for v in model.variables]  # doctest: +NORMALIZE_WHITESPACE
['layers/0/kernel', 'layers/0/bias', 'layers/2/kernel', 'layers/2/bias', 'layers/4/kernel',
 'layers/4/bias']
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

import graph as tf
from compare.models_eager import CLASSES, IMAGE_SIDE
from compare.weights_bridge import eager_weight_shape, weight_to_graph
from framework import dtypes
from framework import init as framework_init
from framework.errors import ArgumentError
from framework.ops import random as framework_random

__all__ = ["GraphModel", "build_model", "cnn", "mlp", "pytorch_bias_initializer",
           "pytorch_kernel_initializer"]

KERNEL_SIDE = 3  # the CNN's convolutions are 3x3, as eager's


def pytorch_kernel_initializer():
    """PyTorch's default weight initialization for Linear and Conv2d, as a graph initializer.

    Kaiming uniform with a = sqrt(5), i.e. U(-b, b) with b = 1 / sqrt(fan_in), drawn in the
    eager (out, in, ...) layout from the shared generator and transposed to TensorFlow's
    (..., in, out): the same numbers an eager layer gets from the same seed.

    >>> from framework.ops.random import manual_seed
    >>> from eager import nn
    >>> _ = manual_seed(5)
    >>> kernel = pytorch_kernel_initializer()((64, 10))
    >>> _ = manual_seed(5)
    >>> bool((nn.Linear(64, 10, bias=False).weight.detach().numpy() == kernel.T).all())
    True
    """
    def initializer(shape, dtype=dtypes.float32, partition_info=None):
        weight = framework_init.kaiming_uniform(eager_weight_shape(shape), a=math.sqrt(5),
                                                dtype=dtypes.as_dtype(dtype))
        return weight_to_graph(weight)

    return initializer


def pytorch_bias_initializer(fan_in: int):
    """PyTorch's default bias initialization: U(-1 / sqrt(fan_in), 1 / sqrt(fan_in)).

    `fan_in` is the layer's inputs per output (in_features, or in_channels * kh * kw).

    >>> bias = pytorch_bias_initializer(16)((8,))
    >>> bias.shape, bool(abs(bias).max() <= 0.25)
    ((8,), True)
    """
    bound = 1.0 / math.sqrt(fan_in)

    def initializer(shape, dtype=dtypes.float32, partition_info=None):
        return framework_init.uniform(tuple(shape), -bound, bound, dtype=dtypes.as_dtype(dtype))

    return initializer


class _Initial:
    """The initializers of one layer: PyTorch's defaults, or given values when provided."""

    def __init__(self, values: Mapping | None):
        self.values = values

    def __call__(self, layer: str, fan_in: int) -> dict:
        if self.values is None:
            return dict(kernel_initializer=pytorch_kernel_initializer(),
                        bias_initializer=pytorch_bias_initializer(fan_in))
        scope = tf.get_variable_scope().name
        names = [f"{scope}/{layer}/{part}" for part in ("kernel", "bias")]
        missing = [name for name in names if name not in self.values]
        if missing:
            raise ArgumentError(f"initial_values has no value for {', '.join(missing)}")
        kernel, bias = (self.values[name] for name in names)
        return dict(kernel_initializer=tf.constant_initializer(kernel),
                    bias_initializer=tf.constant_initializer(bias))


def mlp(images, hidden: int = 64, classes: int = CLASSES, initial_values=None):
    """Logits of the MLP: dense(hidden) + ReLU, dense(hidden) + ReLU, dense(classes).

    `images` are flat rows (N, 64). The layers are 'layers/0', 'layers/2' and 'layers/4',
    the indices of eager's `nn.Sequential` (the ReLUs take 1 and 3). The weights start from
    PyTorch's default initialization, or from `initial_values` ({variable name: array}).

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     mlp(tf.placeholder(tf.float32, (None, 64)), hidden=32).shape
    (None, 10)
    """
    initial = _Initial(initial_values)
    with tf.variable_scope("layers"):
        x = tf.layers.dense(images, hidden, tf.nn.relu, name="0",
                            **initial("0", images.shape[-1]))
        x = tf.layers.dense(x, hidden, tf.nn.relu, name="2", **initial("2", hidden))
        return tf.layers.dense(x, classes, name="4", **initial("4", hidden))


def cnn(images, channels: tuple[int, int] = (16, 32), hidden: int = 64, classes: int = CLASSES,
        initial_values=None):
    """Logits of the CNN: two 3x3 convolutions ('same' padding) with ReLU, a 2x2 max-pool, then
    dense(hidden) + ReLU and dense(classes).

    `images` are NCHW (N, 1, 8, 8). Scopes follow eager's `features` and `classifier`
    Sequentials: 'features/0', 'features/2' (the pool is 4), 'classifier/1', 'classifier/3'.
    The weights start as `mlp`'s do.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     cnn(tf.placeholder(tf.float32, (None, 1, 8, 8))).shape
    (None, 10)
    """
    initial = _Initial(initial_values)
    first, second = channels
    in_channels = images.shape[1]
    nchw = "channels_first"  # eager's layout, so both run the same kernels on the same bits
    with tf.variable_scope("features"):
        x = tf.layers.conv2d(images, first, KERNEL_SIDE, padding="same", data_format=nchw,
                             activation=tf.nn.relu, name="0",
                             **initial("0", in_channels * KERNEL_SIDE**2))
        x = tf.layers.conv2d(x, second, KERNEL_SIDE, padding="same", data_format=nchw,
                             activation=tf.nn.relu, name="2",
                             **initial("2", first * KERNEL_SIDE**2))
        x = tf.layers.max_pooling2d(x, 2, 2, data_format=nchw, name="4")
    with tf.variable_scope("classifier"):
        x = tf.layers.flatten(x, name="0")
        x = tf.layers.dense(x, hidden, tf.nn.relu, name="1", **initial("1", x.shape[-1]))
        return tf.layers.dense(x, classes, name="3", **initial("3", hidden))


_BUILDERS = {"mlp": (mlp, True), "cnn": (cnn, False)}  # builder, takes flat rows


@dataclass
class GraphModel:
    """A model's graph: the images placeholder, the logits, the predicted classes, and the
    model's Variables in creation order (eager's `parameters()` order)."""

    name: str
    graph: tf.Graph = field(repr=False)
    images: tf.Tensor
    logits: tf.Tensor
    predictions: tf.Tensor
    variables: list = field(repr=False)

    def initialized_session(self):
        """A new Session on the model's graph with every variable of the graph initialized."""
        with self.graph.as_default():
            initialize = tf.global_variables_initializer()
        session = tf.Session(graph=self.graph)
        session.run(initialize)
        return session

    def variable_values(self, session) -> dict:
        """{variable name: value} in `session`, what `weights_bridge.to_eager` takes."""
        values = session.run(self.variables)
        return {v.op.name: value for v, value in zip(self.variables, values)}

    def predict(self, session, x, batch_size: int = 512) -> np.ndarray:
        """The predicted class of every row of `x`, run in batches."""
        return np.concatenate([
            session.run(self.predictions, {self.images: x[start:start + batch_size]})
            for start in range(0, len(x), batch_size)])


def build_model(name: str, seed: int = 0, dtype=tf.float32, initial_values=None,
                graph=None, **options) -> GraphModel:
    """A new graph (or `graph`) holding the model `name` ("mlp" or "cnn") on an images
    placeholder of `dtype`.

    The initial weights are drawn after seeding the shared generator with `seed`, so they
    equal `models_eager.build_model(name, seed)`'s. `initial_values` ({variable name: array},
    e.g. `weights_bridge.to_graph(eager_model.state_dict())`) sets them instead. `options` go
    to the builder (e.g. `hidden=128`).

    >>> import graph as tf
    >>> from compare import models_eager, weights_bridge
    >>> model = build_model("cnn", seed=2)
    >>> with model.initialized_session() as sess:
    ...     values = model.variable_values(sess)
    >>> twin = models_eager.build_model("cnn", seed=2)
    >>> all((weights_bridge.to_graph(twin.state_dict())[k] == v).all() for k, v in values.items())
    True
    """
    if name not in _BUILDERS:
        raise ArgumentError(f"unknown model {name!r}; choose from {', '.join(_BUILDERS)}")
    builder, flat = _BUILDERS[name]
    graph = tf.Graph() if graph is None else graph
    shape = (None, IMAGE_SIDE * IMAGE_SIDE) if flat else (None, 1, IMAGE_SIDE, IMAGE_SIDE)
    with graph.as_default():
        framework_random.manual_seed(seed)
        before = len(tf.trainable_variables())
        images = tf.placeholder(dtype, shape, name="images")
        logits = tf.identity(builder(images, initial_values=initial_values, **options),
                             name="logits")
        predictions = tf.argmax(logits, axis=1, name="predictions")
        variables = tf.trainable_variables()[before:]
    return GraphModel(name, graph, images, logits, predictions, variables)
