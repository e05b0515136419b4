"""Training the digits models with the graph front-end: it learns, the recipes reach their
targets, the graph is built once, the run is reproducible, and bad arguments fail before any
work."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import eager
import graph as tf
from compare.models_graph import GraphModel, build_model
from compare.train_eager import RECIPES, TARGETS, Recipe, TrainResult
from compare.train_graph import (
    GraphTrainResult,
    accuracy,
    add_training,
    cosine_rate,
    cross_entropy,
    train,
)
from eager import optim
from framework.errors import ArgumentError


def assert_learned(result, min_accuracy: float) -> None:
    first, last = np.mean(result.losses[:5]), np.mean(result.losses[-5:])
    assert last < 0.6 * first, (first, last)
    assert result.test_accuracy >= min_accuracy


@pytest.fixture
def closing():
    """Close the sessions of the results a test made."""
    results = []
    yield results.append
    for result in results:
        result.session.close()


def test_mlp_learns_in_one_epoch(closing):
    result = train("mlp", epochs=1, progress=False)
    closing(result)
    assert isinstance(result, TrainResult) and isinstance(result, GraphTrainResult)
    assert result.steps == 45 and len(result.step_seconds) == 45  # 1438 images, batches of 32
    assert_learned(result, min_accuracy=0.6)
    assert result.parameters == 8970
    assert result.build_seconds > 0 and result.seconds_per_step > 0
    assert result.peak_memory_bytes > 0
    # The session holds the trained weights: predicting with it gives the reported accuracy.
    model = result.model
    assert isinstance(model, GraphModel)
    x = np.zeros((2, 64), np.float32)
    assert result.session.run(model.logits, {model.images: x}).shape == (2, 10)


def test_cnn_learns_in_one_short_epoch(closing):
    result = train("cnn", epochs=1, batch_size=64, progress=False)
    closing(result)
    assert result.steps == 23
    assert_learned(result, min_accuracy=0.5)
    assert result.parameters == 38282


def test_mlp_recipe_reaches_its_target(closing):
    result = train("mlp", progress=False)
    closing(result)
    assert result.test_accuracy >= TARGETS["mlp"]
    assert result.steps == RECIPES["mlp"].epochs * 45


@pytest.mark.slow
def test_cnn_recipe_reaches_its_target(closing):
    result = train("cnn", progress=False)
    closing(result)
    assert result.test_accuracy >= TARGETS["cnn"]


def test_adam_learns_too(closing):
    result = train("mlp", epochs=1, optimizer="adam", lr=3e-3, progress=False)
    closing(result)
    assert result.recipe.optimizer == "adam"
    assert_learned(result, min_accuracy=0.6)


def test_the_graph_is_built_once_and_never_grows(closing):
    result = train("mlp", epochs=1, batch_size=256, progress=False)
    closing(result)
    graph = result.model.graph
    with pytest.raises(tf.GraphError, match="finalized"):
        with graph.as_default():
            tf.constant(1.0)


def test_the_same_seed_gives_the_same_run_and_another_seed_does_not(closing):
    first, again, other = (train("mlp", epochs=1, progress=False, seed=seed)
                           for seed in (3, 3, 4))
    for result in (first, again, other):
        closing(result)
    assert first.losses == again.losses
    assert first.epoch_accuracies == again.epoch_accuracies
    assert first.losses != other.losses


def test_progress_bar_can_be_switched_off(capsys, closing):
    closing(train("mlp", epochs=1, batch_size=512, progress=True))
    assert "graph mlp" in capsys.readouterr().err
    closing(train("mlp", epochs=1, batch_size=512, progress=False))
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


@pytest.mark.parametrize("arguments, message", [
    (dict(model_name="resnet"), "unknown model 'resnet'"),
    (dict(optimizer="rmsprop"), "unknown optimizer 'rmsprop'"),
    (dict(epochs=0), "epochs must be a positive int"),
    (dict(batch_size=2.5), "batch_size must be a positive int"),
    (dict(lr=-1.0), "lr must be a positive number"),
    (dict(seed="0"), "seed must be an int"),
])
def test_bad_arguments_fail_before_training(arguments, message, capsys):
    with pytest.raises(ArgumentError, match=message):
        train(**{"progress": True, **arguments})
    assert capsys.readouterr().err == ""  # no progress bar: nothing ran


@pytest.mark.parametrize("model_name", ["mlp", "cnn"])
def test_the_cosine_schedule_gives_eager_s_rates(model_name):
    recipe = replace(RECIPES[model_name], cosine_schedule=True)
    eager_optimizer = optim.SGD([eager.ones(1, requires_grad=True)], lr=recipe.lr)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(eager_optimizer, T_max=recipe.epochs)
    for epoch in range(recipe.epochs):
        # As the kernels see them: rounded to float32.
        assert np.float32(cosine_rate(recipe, epoch)) == \
            np.float32(eager_optimizer.param_groups[0]["lr"])
        scheduler.step()


def test_without_the_schedule_the_rate_stays():
    recipe = Recipe(epochs=3, batch_size=32, lr=0.5, optimizer="sgd", cosine_schedule=False)
    assert [cosine_rate(recipe, epoch) for epoch in range(3)] == [0.5, 0.5, 0.5]


def test_add_training_takes_a_name_or_an_optimizer_factory():
    model = build_model("mlp")
    named = add_training(model, "adam")
    assert named.loss.shape == () and named.learning_rate.dtype == np.float32
    with model.graph.as_default():
        slots = {v.op.name for v in tf.global_variables()} - {v.op.name for v in model.variables}
    assert "layers/0/kernel/Adam" in slots  # the optimizer's state lives in Variables
    factory = add_training(build_model("mlp"), tf.train.GradientDescentOptimizer)
    assert factory.train_op.type == "NoOp"
    with pytest.raises(ArgumentError, match="unknown optimizer 'lbfgs'"):
        add_training(build_model("mlp"), "lbfgs")


def test_one_step_lowers_the_loss_on_its_batch():
    model = build_model("mlp", seed=1)
    ops = add_training(model, "sgd")
    x = np.random.default_rng(0).standard_normal((32, 64)).astype(np.float32)
    y = np.arange(32) % 10
    feed = {model.images: x, ops.labels: y, ops.learning_rate: 0.1}
    with model.initialized_session() as session:
        before = session.run(ops.loss, feed)
        session.run(ops.train_op, feed)
        assert session.run(ops.loss, feed) < before


def test_cross_entropy_smooths_the_one_hot_targets():
    logits = np.array([[3.0, 0.0, -1.0]], np.float32)
    shifted = logits - logits.max()
    log_probs = shifted - np.log(np.exp(shifted).sum())
    targets = np.array([[0.9 + 0.1 / 3, 0.1 / 3, 0.1 / 3]])
    with tf.Graph().as_default(), tf.Session() as session:
        smoothed = session.run(cross_entropy(tf.constant(logits), tf.constant([0]), 0.1))
        plain = session.run(cross_entropy(tf.constant(logits), tf.constant([0])))
    assert smoothed == pytest.approx(-(targets * log_probs).sum(), rel=1e-6)
    assert plain == pytest.approx(-log_probs[0, 0], rel=1e-6)


def test_accuracy_counts_argmax_hits():
    model = build_model("mlp")
    x = np.random.default_rng(1).standard_normal((600, 64)).astype(np.float32)
    with model.initialized_session() as session:
        predicted = model.predict(session, x, batch_size=256)
        labels = predicted.copy()
        labels[:150] = (labels[:150] + 1) % 10  # a quarter wrong
        assert accuracy(model, session, x, labels, batch_size=128) == pytest.approx(0.75)


def test_build_model_refuses_unknown_models_and_incomplete_values():
    with pytest.raises(ArgumentError, match="unknown model 'rnn'"):
        build_model("rnn")
    with pytest.raises(ArgumentError, match="no value for layers/0/kernel"):
        build_model("mlp", initial_values={"layers/0/bias": np.zeros(64, np.float32)})
