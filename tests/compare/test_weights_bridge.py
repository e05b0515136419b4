"""Moving weights between the front-ends: a graph model trained and saved with
`graph.train.Saver` predicts the same once loaded into its eager twin, and back."""

from __future__ import annotations

import numpy as np
import pytest

import eager
import graph as tf
from compare import models_eager, models_graph, train_graph
from compare.train_eager import standardize
from compare.weights_bridge import (
    eager_name,
    graph_name,
    kernel_to_eager,
    load_graph_checkpoint,
    save_graph_checkpoint,
    to_eager,
    to_graph,
    weight_to_graph,
)
from framework.checkpoint import load_state
from framework.datasets import load_digits
from framework.errors import ArgumentError, ShapeError


def held_out(model_name: str):
    flat = model_name == "mlp"
    train_x, _ = load_digits(flat=flat, split="train")
    test_x, test_y = load_digits(flat=flat, split="test")
    return standardize(train_x, test_x)[1], test_y


def eager_logits(model, x) -> np.ndarray:
    model.eval()
    with eager.no_grad():
        return model(eager.from_numpy(x)).numpy()


def test_a_graph_trained_mlp_saved_by_saver_predicts_the_same_in_eager(tmp_path):
    result = train_graph.train("mlp", epochs=1, progress=False, seed=5)
    graph_model, session = result.model, result.session
    with graph_model.graph.as_default():
        saver = tf.train.Saver()  # every variable, the optimizer's included
    path = saver.save(session, str(tmp_path / "mlp.ckpt"))
    assert "layers/0/kernel/Momentum" in load_state(path)
    x, y = held_out("mlp")
    graph_logits = session.run(graph_model.logits, {graph_model.images: x})
    session.close()

    # A fresh eager model with other weights: every one of them must come from the checkpoint.
    model = load_graph_checkpoint(models_eager.build_model("mlp", seed=99), path)
    logits = eager_logits(model, x)
    assert np.array_equal(logits.argmax(1), graph_logits.argmax(1))
    np.testing.assert_allclose(logits, graph_logits, rtol=1e-6, atol=1e-6)
    assert (logits.argmax(1) == y).mean() == result.test_accuracy


def test_an_eager_cnn_restores_into_the_graph_cnn(tmp_path):
    eager_model = models_eager.build_model("cnn", seed=7)
    path = save_graph_checkpoint(eager_model, tmp_path / "cnn.ckpt")
    graph_model = models_graph.build_model("cnn", seed=8)  # other initial weights
    x, _ = held_out("cnn")
    with graph_model.initialized_session() as session:
        tf.train.Saver(graph_model.variables).restore(session, path)
        graph_logits = session.run(graph_model.logits, {graph_model.images: x})
    logits = eager_logits(eager_model, x)
    assert np.array_equal(logits.argmax(1), graph_logits.argmax(1))
    np.testing.assert_allclose(logits, graph_logits, rtol=1e-5, atol=1e-5)


def test_values_survive_the_round_trip_in_both_layouts():
    model = models_eager.build_model("cnn", seed=1)
    state = {key: value.numpy() for key, value in model.state_dict().items()}
    values = to_graph(model.state_dict())
    assert values["features/0/kernel"].shape == (3, 3, 1, 16)  # HWIO
    assert values["classifier/1/kernel"].shape == (512, 64)  # (in, out)
    back = to_eager(values)
    assert list(back) == list(state)
    for key, value in back.items():
        assert value.flags.c_contiguous and np.array_equal(value, state[key]), key


def test_conversion_copies_instead_of_sharing_memory():
    model = models_eager.build_model("mlp", seed=1)
    values = to_graph(model.state_dict())
    values["layers/0/bias"][:] = 123.0
    assert not (model.layers[0].bias.detach().numpy() == 123.0).any()


def test_only_layer_weights_cross_over():
    values = {"layers/0/kernel": np.zeros((64, 8), np.float32),
              "layers/0/kernel/Momentum": np.zeros((64, 8), np.float32),
              "beta1_power": np.float32(0.9), "global_step": np.int64(3)}
    assert list(to_eager(values)) == ["layers.0.weight"]
    assert eager_name("global_step") is None and eager_name("dense/kernel/Adam_1") is None
    assert graph_name("features.2.bias") == "features/2/bias"
    with pytest.raises(ArgumentError, match="'bn.running_mean' is not a layer's weight"):
        graph_name("bn.running_mean")


def test_layouts_need_an_in_and_an_out_axis():
    with pytest.raises(ShapeError, match="at least 2 dimensions"):
        kernel_to_eager(np.zeros(3))
    with pytest.raises(ShapeError, match="at least 2 dimensions"):
        weight_to_graph(np.zeros(3))


def test_a_checkpoint_of_another_shape_does_not_load(tmp_path):
    path = save_graph_checkpoint(models_eager.MLP(hidden=32), tmp_path / "small.ckpt")
    model = models_eager.MLP()
    before = model.layers[0].weight.detach().numpy().copy()
    with pytest.raises(RuntimeError, match="size mismatch for layers.0.weight"):
        load_graph_checkpoint(model, path)
    assert np.array_equal(model.layers[0].weight.detach().numpy(), before)  # left unchanged


def test_graph_values_start_a_graph_model_from_an_eager_one():
    eager_model = models_eager.build_model("mlp", seed=3)
    graph_model = models_graph.build_model("mlp", seed=4, initial_values=to_graph(
        eager_model.state_dict()))
    with graph_model.initialized_session() as session:
        values = graph_model.variable_values(session)
    for key, value in to_eager(values).items():
        assert np.array_equal(value, eager_model.state_dict()[key].numpy()), key
