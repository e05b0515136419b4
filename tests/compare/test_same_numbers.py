"""The same model, seed, batches and optimizer give the same numbers eager and as a graph.

The design's backbone: the paradigms differ in when the graph exists, not in the arithmetic.
The models start from identical weights, and 100 steps of plain SGD give the same loss at every
step, bit for bit, and the same test accuracy. That holds on every CPU because both front-ends
issue the same kernel and BLAS calls on the same layouts (BLAS kernels may round a transposed
operand differently: OpenBLAS's SkylakeX kernels do). These tests are marked `bits`, and
`make test` runs them again under several OPENBLAS_CORETYPE values, each in its own process.
"""

from __future__ import annotations

import numpy as np
import pytest

import eager
import graph as tf
from compare import __main__ as cli
from compare import both_ways, models_eager, models_graph, train_eager, train_graph
from compare.train_eager import standardize
from compare.weights_bridge import to_graph
from eager import nn, optim
from eager.data import DataLoader, TensorDataset
from framework.datasets import load_digits

STEPS = 100
LEARNING_RATE = 0.1


def digits(model_name: str, dtype=np.float32):
    flat = model_name == "mlp"
    train_x, train_y = load_digits(flat=flat, split="train")
    test_x, test_y = load_digits(flat=flat, split="test")
    train_x, test_x = (x.astype(dtype) for x in standardize(train_x, test_x))
    return train_x, train_y, test_x, test_y


def batches(x, y, steps: int, seed: int = 0):
    """`steps` shuffled batches of 32 (numpy arrays), epoch after epoch."""
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, seed=seed)
    taken = 0
    while True:
        for images, labels in loader:
            if taken == steps:
                return
            taken += 1
            yield images.numpy(), labels.numpy()


def relative_differences(a, b) -> np.ndarray:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.abs(a - b) / np.abs(a)


def assert_equal_bit_for_bit(eager_losses, graph_losses):
    eager_losses, graph_losses = np.asarray(eager_losses), np.asarray(graph_losses)
    differing = np.flatnonzero(eager_losses != graph_losses)
    assert differing.size == 0, (
        f"{differing.size} of {eager_losses.size} losses differ, the first at step "
        f"{differing[0]}: largest relative difference "
        f"{relative_differences(eager_losses, graph_losses).max():.1e}")


def train_side_by_side(model_name: str, dtype, steps: int):
    """Plain SGD on both twins, batch for batch: (eager losses, graph losses, accuracies)."""
    train_x, train_y, test_x, test_y = digits(model_name, dtype)
    eager_model = models_eager.build_model(model_name, seed=0)
    if dtype == np.float32:
        graph_model = models_graph.build_model(model_name, seed=0)  # its own seeded draws
    else:
        eager_model.double()
        graph_model = models_graph.build_model(model_name, dtype=tf.float64,
                                               initial_values=to_graph(eager_model.state_dict()))
    optimizer = optim.SGD(eager_model.parameters(), lr=LEARNING_RATE)
    loss_function = nn.CrossEntropyLoss()
    training = train_graph.add_training(graph_model, tf.train.GradientDescentOptimizer)
    session = graph_model.initialized_session()

    eager_losses, graph_losses = [], []
    for images, labels in batches(train_x, train_y, steps):
        optimizer.zero_grad()
        loss = loss_function(eager_model(eager.from_numpy(images)), eager.from_numpy(labels))
        loss.backward()
        optimizer.step()
        eager_losses.append(loss.item())
        _, graph_loss = session.run(
            [training.train_op, training.loss],
            {graph_model.images: images, training.labels: labels,
             training.learning_rate: LEARNING_RATE})
        graph_losses.append(float(graph_loss))
    accuracies = (train_eager.accuracy(eager_model, test_x, test_y),
                  train_graph.accuracy(graph_model, session, test_x, test_y))
    session.close()
    return eager_losses, graph_losses, accuracies


@pytest.mark.parametrize("model_name", ["mlp", "cnn"])
def test_the_same_seed_gives_the_same_initial_weights(model_name):
    eager_model = models_eager.build_model(model_name, seed=11)
    graph_model = models_graph.build_model(model_name, seed=11)
    with graph_model.initialized_session() as session:
        graph_values = graph_model.variable_values(session)
    eager_values = to_graph(eager_model.state_dict())
    assert list(graph_values) == list(eager_values)  # the same layers, in the same order
    for name, value in graph_values.items():
        assert value.dtype == eager_values[name].dtype
        assert np.array_equal(value, eager_values[name]), name


@pytest.mark.bits
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_mlp_losses_agree_at_every_step_of_plain_sgd(dtype):
    eager_losses, graph_losses, (eager_accuracy, graph_accuracy) = \
        train_side_by_side("mlp", dtype, STEPS)
    assert len(eager_losses) == len(graph_losses) == STEPS
    assert np.mean(eager_losses[-10:]) < 0.5 * np.mean(eager_losses[:10])  # it did train
    assert_equal_bit_for_bit(eager_losses, graph_losses)
    assert eager_accuracy == graph_accuracy
    assert eager_accuracy > 0.85


@pytest.mark.bits
def test_cnn_losses_agree_over_twenty_steps():
    eager_losses, graph_losses, _ = train_side_by_side("cnn", np.float32, 20)
    assert_equal_bit_for_bit(eager_losses, graph_losses)


@pytest.mark.bits
def test_the_training_functions_agree_with_momentum_sgd():
    # The whole pipeline: recipe, loader, momentum, the cosine schedule and the evaluation.
    options = dict(epochs=2, optimizer="sgd", lr=0.05, label_smoothing=0.0, progress=False)
    eager_result = train_eager.train("mlp", **options)
    graph_result = train_graph.train("mlp", **options)
    graph_result.session.close()
    assert eager_result.recipe == graph_result.recipe
    assert_equal_bit_for_bit(eager_result.losses, graph_result.losses)
    assert eager_result.epoch_accuracies == graph_result.epoch_accuracies


def test_label_smoothing_gives_the_same_loss_both_ways():
    logits = np.random.default_rng(0).standard_normal((16, 10)).astype(np.float32)
    labels = np.arange(16) % 10
    expected = nn.CrossEntropyLoss(label_smoothing=0.1)(eager.from_numpy(logits),
                                                        eager.from_numpy(labels)).item()
    with tf.Graph().as_default(), tf.Session() as session:
        loss = train_graph.cross_entropy(tf.constant(logits), tf.constant(labels), 0.1)
        assert float(session.run(loss)) == pytest.approx(expected, rel=1e-6)


def test_the_demo_shows_the_same_numbers_side_by_side(capsys):
    assert cli.main(["both-ways", "--epochs", "1", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "eager (define-by-run)" in out and "graph (define-and-run)" in out
    rows = {line.split("  ")[0]: line.split() for line in out.splitlines()}
    final_loss = next(row for label, row in rows.items() if label.startswith("final loss"))
    assert final_loss[-1] == final_loss[-2]  # printed to 6 decimals, the same both ways
    accuracy = rows["test accuracy"]
    assert accuracy[-1] == accuracy[-2]
    for label in ("build time", "time per step (median)", "peak memory during training"):
        assert label in rows
    assert "steps agree to within" in out or "are equal bit for bit" in out


def test_the_comparison_reports_a_real_difference():
    eager_result, graph_result = both_ways.run("mlp", epochs=1, batch_size=512, progress=False)
    graph_result.session.close()
    graph_result.losses = [loss * 1.01 for loss in graph_result.losses]
    text = both_ways.format_comparison(eager_result, graph_result)
    assert "differ by up to 1.0e-02" in text
