"""Training the digits models with the eager front-end: it learns, it is reproducible, the MLP
recipe reaches its target, bad arguments fail before any work, and the `train` demo runs."""

from __future__ import annotations

import numpy as np
import pytest

import eager
from compare import __main__ as cli
from compare.models_eager import CNN, MLP, build_model, parameter_count
from compare.train_eager import RECIPES, TARGETS, accuracy, standardize, train
from framework.errors import ArgumentError

CHANCE = 0.1  # ten balanced classes


def assert_learned(result, min_accuracy: float) -> None:
    first, last = np.mean(result.losses[:5]), np.mean(result.losses[-5:])
    assert last < 0.6 * first, (first, last)
    assert result.test_accuracy >= min_accuracy


def test_mlp_learns_in_one_epoch():
    result = train("mlp", epochs=1, progress=False)
    assert result.steps == 45  # 1438 training images in batches of 32
    assert_learned(result, min_accuracy=0.6)
    assert len(result.epoch_accuracies) == 1 and len(result.step_seconds) == 45
    assert result.peak_memory_bytes > 0 and result.seconds_per_step > 0
    assert result.parameters == parameter_count(result.model) == 8970


def test_cnn_learns_in_one_short_epoch():
    # Batches of 64 halve the steps: the CNN's step is far costlier than the MLP's.
    result = train("cnn", epochs=1, batch_size=64, progress=False)
    assert result.steps == 23
    assert_learned(result, min_accuracy=0.5)


def test_adam_learns_too():
    # The MLP's recipe uses SGD; Adam at 3e-3 also reaches the target with the full recipe.
    result = train("mlp", epochs=1, optimizer="adam", lr=3e-3, progress=False)
    assert (result.recipe.optimizer, result.recipe.lr) == ("adam", 3e-3)
    assert_learned(result, min_accuracy=0.6)


def test_mlp_recipe_reaches_its_target():
    result = train("mlp", progress=False)  # the full recipe: about 5 s here
    assert result.test_accuracy >= TARGETS["mlp"]
    assert result.steps == RECIPES["mlp"].epochs * 45


@pytest.mark.slow
def test_cnn_recipe_reaches_its_target():
    result = train("cnn", progress=False)  # 10-40 s here, depending on the load
    assert result.test_accuracy >= TARGETS["cnn"]


def test_the_same_seed_gives_the_same_run_and_another_seed_does_not():
    first, again = (train("mlp", epochs=1, progress=False, seed=3) for _ in range(2))
    other = train("mlp", epochs=1, progress=False, seed=4)
    assert first.losses == again.losses
    assert first.epoch_accuracies == again.epoch_accuracies
    assert first.losses != other.losses


def test_progress_bar_can_be_switched_off(capsys):
    train("mlp", epochs=1, batch_size=512, progress=True)
    assert "eager mlp" in capsys.readouterr().err
    train("mlp", epochs=1, batch_size=512, progress=False)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


@pytest.mark.parametrize("arguments, message", [
    (dict(model_name="resnet"), "unknown model 'resnet'"),
    (dict(optimizer="rmsprop"), "unknown optimizer 'rmsprop'"),
    (dict(epochs=0), "epochs must be a positive int"),
    (dict(batch_size=2.5), "batch_size must be a positive int"),
    (dict(lr=-1.0), "lr must be a positive number"),
    (dict(lr=float("nan")), "lr must be a positive number"),
    (dict(seed="0"), "seed must be an int"),
])
def test_bad_arguments_fail_before_training(arguments, message, capsys):
    with pytest.raises(ArgumentError, match=message):
        train(**{"progress": True, **arguments})
    assert capsys.readouterr().err == ""  # no progress bar: nothing ran


def test_models_take_their_input_shapes_and_are_seeded():
    assert MLP()(eager.zeros(3, 64)).shape == (3, 10)
    assert CNN()(eager.zeros(3, 1, 8, 8)).shape == (3, 10)
    a, b, c = build_model("mlp", seed=1), build_model("mlp", seed=1), build_model("mlp", seed=2)
    weights = [m.layers[0].weight.detach().numpy() for m in (a, b, c)]
    assert np.array_equal(weights[0], weights[1])
    assert not np.array_equal(weights[0], weights[2])
    with pytest.raises(ArgumentError, match="unknown model 'rnn'"):
        build_model("rnn")


def test_standardize_uses_the_training_statistics_only():
    train_x = np.array([1.0, 3.0], np.float32)
    scaled_train, scaled_test = standardize(train_x, np.array([5.0], np.float32))
    assert scaled_train.tolist() == [-1.0, 1.0] and scaled_test.tolist() == [3.0]
    assert scaled_train.dtype == np.float32


def test_accuracy_counts_argmax_hits_and_keeps_the_mode():
    model = build_model("mlp")
    model.train()
    with eager.no_grad():
        x = eager.randn(600, 64)
        predicted = model(x).argmax(1).numpy()
    labels = predicted.copy()
    labels[:150] = (labels[:150] + 1) % 10  # a quarter wrong
    assert accuracy(model, x.numpy(), labels, batch_size=256) == pytest.approx(0.75)
    assert model.training


def test_train_demo_prints_the_run(capsys):
    assert cli.main(["train", "--quick", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "eager mlp (8970 parameters)" in out
    assert "test accuracy" in out and "per step" in out and "peak memory" in out
