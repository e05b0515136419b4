"""Weights between the graph and eager front-ends: the one place that knows both conventions.

A model trained with one front-end runs in the other once its weights are renamed and
re-laid-out. The graph models of `compare.models_graph` name each layer scope after the eager
module it mirrors, with '/' for '.', and keep TensorFlow's layouts; the eager models keep
PyTorch's:

    graph variable                         eager state_dict entry
    'layers/0/kernel'  (in, out)       <-> 'layers.0.weight'  (out, in)
    'features/0/kernel' (kh, kw, in, out) <-> 'features.0.weight' (out, in, kh, kw)
    'layers/0/bias'    (out,)          <-> 'layers.0.bias'    (out,)

Transposing is exact, so a converted model computes the same numbers. Graph variables that
are not layer weights (optimizer slots such as 'layers/0/kernel/Momentum', 'global_step',
Adam's 'beta1_power') have no eager counterpart and are left out of a state_dict.

A checkpoint written by `graph.train.Saver` loads into an eager model, and an eager model
saves a checkpoint that `Saver.restore` reads, because both use `framework.checkpoint`:

>>> import os, tempfile
>>> import graph as tf
>>> from compare.models_eager import MLP
>>> path = os.path.join(tempfile.mkdtemp(), "mlp.ckpt")
>>> with tf.Graph().as_default():
...     images = tf.placeholder(tf.float32, (None, 64))
...     with tf.variable_scope("layers"):
...         hidden = tf.layers.dense(images, 64, tf.nn.relu, name="0")
...         hidden = tf.layers.dense(hidden, 64, tf.nn.relu, name="2")
...         logits = tf.layers.dense(hidden, 10, name="4")
...     with tf.Session() as sess:
...         sess.run(tf.global_variables_initializer())
...         _ = tf.train.Saver().save(sess, path)
...         kernel = sess.run("layers/0/kernel:0")
>>> model = load_graph_checkpoint(MLP(), path)
>>> bool((model.layers[0].weight.detach().numpy() == kernel.T).all())
True
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

import numpy as np

from eager import nn
from eager.tensor import Tensor
from framework.checkpoint import load_state, save_state
from framework.errors import ArgumentError, ShapeError

__all__ = ["eager_name", "graph_name", "kernel_to_eager", "weight_to_graph",
           "eager_weight_shape", "to_eager", "to_graph", "load_graph_checkpoint",
           "save_graph_checkpoint"]

# The last part of a graph layer's variable name and of the eager parameter it becomes.
_GRAPH_TO_EAGER = {"kernel": "weight", "bias": "bias"}
_EAGER_TO_GRAPH = {eager: graph for graph, eager in _GRAPH_TO_EAGER.items()}


def eager_name(graph_variable: str) -> str | None:
    """The eager state_dict key of a graph layer variable; None for any other variable.

    >>> eager_name("layers/0/kernel"), eager_name("layers/0/kernel/Momentum")
    ('layers.0.weight', None)
    """
    scope, _, leaf = graph_variable.rpartition("/")
    if not scope or leaf not in _GRAPH_TO_EAGER:
        return None
    return f"{scope.replace('/', '.')}.{_GRAPH_TO_EAGER[leaf]}"


def graph_name(eager_key: str) -> str:
    """The graph variable name of an eager state_dict key.

    >>> graph_name("classifier.1.weight")
    'classifier/1/kernel'
    """
    module, _, leaf = eager_key.rpartition(".")
    if not module or leaf not in _EAGER_TO_GRAPH:
        raise ArgumentError(f"{eager_key!r} is not a layer's weight or bias: only those have a "
                            f"graph counterpart")
    return f"{module.replace('.', '/')}/{_EAGER_TO_GRAPH[leaf]}"


def _check_rank(what: str, shape) -> None:
    if len(shape) < 2:
        raise ShapeError(f"{what} must have at least 2 dimensions (in and out), got shape "
                         f"{tuple(shape)}")


def eager_weight_shape(kernel_shape) -> tuple:
    """TensorFlow's (..., in, out) kernel shape in PyTorch's (out, in, ...) order.

    >>> eager_weight_shape((3, 3, 1, 16)), eager_weight_shape((64, 10))
    ((16, 1, 3, 3), (10, 64))
    """
    shape = tuple(kernel_shape)
    _check_rank("a kernel", shape)
    return (shape[-1], shape[-2]) + shape[:-2]


def kernel_to_eager(kernel: np.ndarray) -> np.ndarray:
    """A graph kernel (..., in, out) as an eager weight (out, in, ...), C-contiguous.

    >>> kernel_to_eager(np.zeros((3, 3, 1, 16))).shape
    (16, 1, 3, 3)
    """
    kernel = np.asarray(kernel)
    _check_rank("a kernel", kernel.shape)
    rank = kernel.ndim
    return np.ascontiguousarray(np.transpose(kernel, (rank - 1, rank - 2) + tuple(range(rank - 2))))


def weight_to_graph(weight: np.ndarray) -> np.ndarray:
    """An eager weight (out, in, ...) as a graph kernel (..., in, out), C-contiguous.

    >>> weight = np.arange(6.0).reshape(2, 3)
    >>> bool((kernel_to_eager(weight_to_graph(weight)) == weight).all())
    True
    """
    weight = np.asarray(weight)
    _check_rank("a weight", weight.shape)
    rank = weight.ndim
    return np.ascontiguousarray(np.transpose(weight, tuple(range(2, rank)) + (1, 0)))


def _array(value) -> np.ndarray:
    return value.detach().numpy() if isinstance(value, Tensor) else np.asarray(value)


def to_eager(values: Mapping) -> OrderedDict:
    """A state_dict (key -> array) for an eager model from graph variable values.

    `values` maps variable names to arrays: a `Saver` checkpoint as `load_state` reads it, or
    `{v.op.name: sess.run(v) for v in variables}`. Variables that are not layer weights
    (optimizer slots, step counters) are skipped.

    >>> state = to_eager({"layers/4/kernel": np.zeros((64, 10)), "global_step": np.int64(7)})
    >>> {key: value.shape for key, value in state.items()}
    {'layers.4.weight': (10, 64)}
    """
    state = OrderedDict()
    for name, value in values.items():
        key = eager_name(name)
        if key is None:
            continue
        array = _array(value)
        state[key] = kernel_to_eager(array) if name.endswith("/kernel") else array.copy()
    return state


def to_graph(state_dict: Mapping) -> OrderedDict:
    """Graph variable values (name -> array) from an eager state_dict (Tensors or arrays).

    >>> from compare.models_eager import MLP
    >>> values = to_graph(MLP().state_dict())
    >>> list(values)[:2], values["layers/0/kernel"].shape
    (['layers/0/kernel', 'layers/0/bias'], (64, 64))
    """
    values = OrderedDict()
    for key, value in state_dict.items():
        name = graph_name(key)
        array = _array(value)
        values[name] = weight_to_graph(array) if name.endswith("/kernel") else array.copy()
    return values


def load_graph_checkpoint(model: nn.Module, path) -> nn.Module:
    """Load a checkpoint written by `graph.train.Saver` into the eager `model`; returns it.

    The model must have the graph model's layers: every eager parameter needs its graph
    variable (a missing or extra weight raises, as `load_state_dict` does).
    """
    model.load_state_dict(to_eager(load_state(path)))
    return model


def save_graph_checkpoint(model: nn.Module, path) -> str:
    """Save the eager `model`'s weights as a checkpoint `graph.train.Saver.restore` reads.

    Only the layer weights are written, so restore with a Saver over the model's variables
    (`tf.train.Saver(tf.trainable_variables())`), not over the optimizer's slots too.
    Returns the path written.
    """
    save_state(dict(to_graph(model.state_dict())), path)
    return str(path)
