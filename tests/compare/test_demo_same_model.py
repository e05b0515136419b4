"""The same-model demo: MLP and CNN trained both ways, one figure, one table (small runs)."""

from __future__ import annotations

from types import SimpleNamespace

import graphviz
import numpy as np
import pytest
from matplotlib.figure import Figure

from compare import demo_same_model
from compare.sections import Code, Picture, SideBySide, Table
from compare.train_eager import RECIPES


@pytest.fixture(scope="module")
def section():
    return demo_same_model.run(small=True)


def blocks_of(section, kind):
    return [block for block in section.blocks if isinstance(block, kind)]


def test_the_table_has_both_models_both_ways(section):
    table, _ = blocks_of(section, Table)
    assert table.headers[:5] == ["model", "front-end", "steps", "final loss", "test accuracy"]
    assert {"build time", "time per step (median)", "peak memory"} <= set(table.headers)
    rows = {(row[0], row[1]): dict(zip(table.headers, row)) for row in table.rows}
    assert set(rows) == {("MLP", "eager"), ("MLP", "graph"), ("CNN", "eager"), ("CNN", "graph")}
    # One epoch of batches of 128 over the 1437 training digits: 12 steps, both ways.
    assert {row["steps"] for row in rows.values()} == {"12"}
    # Plain momentum SGD has one formula in both frameworks: the MLP's numbers coincide.
    assert rows["MLP", "eager"]["final loss"] == rows["MLP", "graph"]["final loss"]
    assert rows["MLP", "eager"]["test accuracy"] == rows["MLP", "graph"]["test accuracy"]
    assert rows["MLP", "eager"]["build time"].startswith("none")
    assert rows["MLP", "graph"]["build time"].endswith("once")
    for row in rows.values():
        assert row["peak memory"].endswith("MiB") and float(row["peak memory"].split()[0]) > 0
        assert 0.0 < float(row["test accuracy"].rstrip("%")) <= 100.0


def test_the_figure_overlays_the_four_loss_curves(section):
    (picture,) = [block for block in blocks_of(section, Picture)
                  if isinstance(block.image, Figure)]
    axes = picture.image.axes
    assert len(axes) == 2 and sum(len(a.lines) for a in axes) == 4
    mlp_axes = next(a for a in axes if a.get_title().startswith("MLP"))
    eager_line, graph_line = mlp_axes.lines
    assert [eager_line.get_label(), graph_line.get_label()] == ["eager", "graph"]
    assert len(eager_line.get_ydata()) == 12
    np.testing.assert_allclose(eager_line.get_ydata(), graph_line.get_ydata(), rtol=1e-5)


def test_the_text_states_the_agreement_and_the_summary_the_accuracy(section):
    text = section.text()
    assert "The two curves coincide." in text  # the MLP
    assert "Adam" in text  # why the CNN's curves part
    mlp_line, cnn_line, check_line = section.summary.splitlines()
    assert check_line == ("Without label smoothing (momentum SGD): MLP are equal bit for bit, "
                          "CNN are equal bit for bit")
    assert mlp_line.startswith("MLP: test accuracy eager") and "97% target" in mlp_line
    assert cnn_line.startswith("CNN: test accuracy eager") and "98% target" in cnn_line


def test_the_code_and_the_drawings_are_side_by_side(section):
    (pair,) = blocks_of(section, SideBySide)
    (left_code, left_picture), (right_code, right_picture) = pair.left, pair.right
    assert isinstance(left_code, Code) and "class MLP(nn.Module)" in left_code.source
    assert isinstance(right_code, Code) and "tf.layers.dense" in right_code.source
    assert '"""' not in left_code.source + right_code.source  # docstrings left out
    assert isinstance(left_picture.image, graphviz.Digraph)
    assert isinstance(right_picture.image, graphviz.Digraph)
    eager_source, graph_source = left_picture.image.source, right_picture.image.source
    # eager: the tape of one step, parameters by module name, shapes of a batch of 128
    assert "LinearBackward" in eager_source and "weight" in eager_source
    assert "(128, 64) float32" in eager_source
    # graph: the static graph with its placeholder of unknown batch size, gradients hidden
    assert "kernel" in graph_source and "(?, 64) float32" in graph_source
    assert "label=gradients" not in graph_source and "_grad" not in graph_source


def fake_run(accuracy, losses, optimizer="sgd"):
    recipe = SimpleNamespace(**{**vars(RECIPES["mlp"]), "optimizer": optimizer})
    return SimpleNamespace(test_accuracy=accuracy, losses=losses, steps=len(losses),
                           recipe=recipe, parameters=8970)


def test_the_summary_judges_the_target():
    met = {"mlp": (fake_run(0.975, [2.0, 1.0]), fake_run(0.975, [2.0, 1.0]))}
    checks = {"mlp": (2, 0.0)}
    assert "(meets the 97% target)" in demo_same_model._summary(met, checks)
    assert "equal bit for bit" in demo_same_model._summary(met, checks).splitlines()[0]
    missed = {"mlp": (fake_run(0.95, [2.0, 1.0]), fake_run(0.95, [2.0, 1.1]))}
    assert "(below the 97% target)" in demo_same_model._summary(missed, checks)
    assert "apart by up to 1.0e-01" in demo_same_model._summary(missed, checks)
    drifted = demo_same_model._summary(met, {"mlp": (2, 3e-7)}).splitlines()[-1]
    assert drifted == "Without label smoothing (momentum SGD): MLP agree to within 3.0e-07 " \
                      "(relative)"


def test_drifting_curves_are_not_called_the_same():
    text = demo_same_model._model_text("cnn", fake_run(0.9, [2.0, 1.0], "adam"),
                                       fake_run(0.9, [2.0, 1.02], "adam"))
    assert "apart by up to 2.0e-02" in text and "coincide" not in text and "Adam" in text


def test_without_label_smoothing_both_models_agree_bit_for_bit(section):
    # Momentum SGD without label smoothing: no formula differs between the frameworks, so
    # every loss of both models is the same both ways, on every CPU (see the Makefile's runs
    # under several OPENBLAS_CORETYPE values).
    _, check = blocks_of(section, Table)
    assert check.headers == ["model", "steps", "largest relative difference", "the losses"]
    assert [row[0] for row in check.rows] == ["MLP", "CNN"]
    for row in check.rows:
        assert row[1] == "12" and row[2] == "0.0e+00" and row[3] == "are equal bit for bit"
