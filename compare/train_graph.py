"""Training the digits models with the graph front-end, the way a TensorFlow 1 user writes it.

Build once (placeholders, the model, the loss, `optimizer.minimize(loss)`), then run the
training op in a Session batch after batch, feeding the images, the labels and the learning
rate. `train(...)` takes the arguments of `train_eager.train`, follows the same recipes
(`train_eager.RECIPES`) and returns a `GraphTrainResult`: `train_eager`'s `TrainResult` plus
the time it took to build the graph (the model, its gradients and the optimizer's update) and
the Session that holds the trained variables.

The run is the eager run's twin: the same initial weights from the same seed
(`models_graph`), the same batches in the same order (the same seeded `DataLoader`), the same
kernels and gradient rules. Where the recipe's pieces have one formula in both frameworks
(plain or momentum SGD, the cosine schedule), the losses agree step by step. Two pieces do
not: TensorFlow 1 smooths labels by smoothing the one-hot targets, PyTorch by mixing two
losses (the same value, rounded differently: a few 1e-7), and TensorFlow 1's Adam adds
epsilon before its bias correction, PyTorch's after, which matters where gradients are tiny
(near 1e-7). The CNN has many such weights: with Adam its two runs drift apart by a few
percent in the loss, while their accuracies stay within a test image or two.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from tqdm.auto import tqdm

import graph as tf
from compare.models_graph import GraphModel, build_model
from compare.train_eager import (
    SGD_MOMENTUM,
    Recipe,
    TrainResult,
    prepare_digits,
    resolve_recipe,
)
from framework import device
from framework.errors import ArgumentError

__all__ = ["GraphTrainResult", "TrainingOps", "accuracy", "add_training", "cosine_rate",
           "cross_entropy", "train"]


@dataclass
class GraphTrainResult(TrainResult):
    """`TrainResult` for a graph run. `model` is the `GraphModel`; `session` holds its trained
    variables (open: close it when done)."""

    build_seconds: float = 0.0  # model + loss + gradients + optimizer update, as graph nodes
    session: tf.Session | None = field(default=None, repr=False)


@dataclass
class TrainingOps:
    """What training adds to a model's graph: two placeholders, the loss and the step op."""

    labels: tf.Tensor  # int64 (N,)
    learning_rate: tf.Tensor  # a scalar, fed at every step
    loss: tf.Tensor  # the mean loss of the batch
    train_op: tf.Operation  # one optimizer step


def cross_entropy(logits, labels, label_smoothing: float = 0.0):
    """The batch's mean cross-entropy, as TensorFlow 1's `tf.losses.softmax_cross_entropy`.

    With `label_smoothing` = s, the one-hot targets become (1 - s) * one_hot + s / classes.

    >>> import numpy as np
    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     loss = cross_entropy(tf.constant([[2.0, 0.0]]), tf.constant([0]))
    ...     print(np.round(sess.run(loss), 4))
    0.1269
    """
    if not label_smoothing:
        per_example = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels,
                                                                     logits=logits)
    else:
        classes = logits.shape[-1]
        targets = tf.one_hot(labels, classes, dtype=logits.dtype) * (1.0 - label_smoothing) \
            + label_smoothing / classes
        per_example = tf.nn.softmax_cross_entropy_with_logits(labels=targets, logits=logits)
    return tf.reduce_mean(per_example, name="loss")


def _optimizer(name: str, learning_rate):
    if name == "adam":
        return tf.train.AdamOptimizer(learning_rate)
    if name == "sgd":  # train_eager's "sgd": momentum 0.9, the same formula as PyTorch's
        return tf.train.MomentumOptimizer(learning_rate, SGD_MOMENTUM)
    raise ArgumentError(f"unknown optimizer {name!r}; choose from adam, sgd")


def add_training(model: GraphModel, optimizer: str | Callable = "sgd",
                 label_smoothing: float = 0.0) -> TrainingOps:
    """Add the labels and learning-rate placeholders, the loss and the training op to `model`.

    `optimizer`: "adam" (`tf.train.AdamOptimizer`), "sgd" (`tf.train.MomentumOptimizer`,
    momentum 0.9, as `train_eager`'s "sgd") or a callable that takes the learning-rate tensor
    and returns a `tf.train` optimizer.

    >>> import graph as tf
    >>> from compare.models_graph import build_model
    >>> model = build_model("mlp")
    >>> ops = add_training(model, lambda rate: tf.train.GradientDescentOptimizer(rate))
    >>> ops.loss.shape, ops.train_op.type
    ((), 'NoOp')
    """
    with model.graph.as_default():
        labels = tf.placeholder(tf.int64, (None,), name="labels")
        learning_rate = tf.placeholder(model.logits.dtype, (), name="learning_rate")
        loss = cross_entropy(model.logits, labels, label_smoothing)
        make = optimizer if callable(optimizer) else (lambda rate: _optimizer(optimizer, rate))
        train_op = make(learning_rate).minimize(loss, var_list=model.variables, name="train")
    return TrainingOps(labels, learning_rate, loss, train_op)


def cosine_rate(recipe: Recipe, epoch: int) -> float:
    """The learning rate of `epoch` (from 0): the recipe's, annealed along a half cosine to 0
    at the last epoch's end if `recipe.cosine_schedule` (eager's CosineAnnealingLR, T_max =
    epochs, stepped once per epoch).

    >>> recipe = Recipe(epochs=4, batch_size=32, lr=1.0, optimizer="sgd")
    >>> [round(cosine_rate(recipe, epoch), 6) for epoch in range(4)]
    [1.0, 0.853553, 0.5, 0.146447]
    """
    if not recipe.cosine_schedule:
        return recipe.lr
    return recipe.lr * (1 + math.cos(math.pi * epoch / recipe.epochs)) / 2


def accuracy(model: GraphModel, session, x, y, batch_size: int = 512) -> float:
    """The fraction of rows of `x` whose predicted class is the label in `y`.

    >>> import numpy as np
    >>> from compare.models_graph import build_model
    >>> model = build_model("mlp")
    >>> with model.initialized_session() as sess:
    ...     score = accuracy(model, sess, np.zeros((3, 64), np.float32), np.array([0, 1, 2]))
    >>> 0.0 <= score <= 1.0
    True
    """
    return float((model.predict(session, x, batch_size) == y).mean())


def train(model_name: str = "mlp", epochs: int | None = None, batch_size: int | None = None,
          lr: float | None = None, optimizer: str | None = None, seed: int = 0,
          progress: bool = True, *, label_smoothing: float | None = None,
          cosine_schedule: bool | None = None) -> GraphTrainResult:
    """Train a fresh graph `model_name` ("mlp" or "cnn") on the digits' training split.

    The arguments mean what they mean for `train_eager.train`: None takes the model's recipe,
    `seed` fixes the initial weights and the order of the batches, `progress` shows a tqdm bar.

    >>> result = train("mlp", epochs=1, progress=False)
    >>> result.steps, result.losses[-1] < result.losses[0], result.test_accuracy > 0.5
    (45, True, True)
    >>> result.session.close()
    """
    recipe = resolve_recipe(model_name, seed, epochs=epochs, batch_size=batch_size, lr=lr,
                            optimizer=optimizer, label_smoothing=label_smoothing,
                            cosine_schedule=cosine_schedule)
    start = time.perf_counter()
    # The eager run's data and loader, so both runs see the same batches in the same order.
    train_x, train_y, test_x, test_y, loader = prepare_digits(model_name, recipe, seed)

    build_start = time.perf_counter()
    model = build_model(model_name, seed=seed)
    training = add_training(model, recipe.optimizer, recipe.label_smoothing)
    with model.graph.as_default():
        initialize = tf.global_variables_initializer()
    model.graph.finalize()  # catches a loop that would grow the graph at every step
    build_seconds = time.perf_counter() - build_start

    session = tf.Session(graph=model.graph)
    session.run(initialize)
    losses, epoch_accuracies, step_seconds = [], [], []
    device.reset_peak_memory_stats()
    bar = tqdm(total=recipe.epochs * len(loader), desc=f"graph {model_name}", unit="step",
               disable=not progress, leave=False)
    with bar:
        for epoch in range(recipe.epochs):
            rate = cosine_rate(recipe, epoch)
            for images, labels in loader:
                feed = {model.images: images.numpy(), training.labels: labels.numpy(),
                        training.learning_rate: rate}
                step_start = time.perf_counter()
                _, loss = session.run([training.train_op, training.loss], feed)
                step_seconds.append(time.perf_counter() - step_start)
                losses.append(float(loss))
                bar.set_postfix(loss=f"{losses[-1]:.4f}", refresh=False)
                bar.update()
            epoch_accuracies.append(accuracy(model, session, test_x, test_y))
            bar.set_postfix(loss=f"{losses[-1]:.4f}", test_accuracy=f"{epoch_accuracies[-1]:.3f}")
    peak = device.max_memory_allocated()
    parameters = sum(v.shape.num_elements() for v in model.variables)
    return GraphTrainResult(model_name, recipe, seed, losses, epoch_accuracies, step_seconds,
                            time.perf_counter() - start, peak, parameters, model,
                            build_seconds=build_seconds, session=session)
