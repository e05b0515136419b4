"""Drawings of the eager autograd graph: one drawing per forward pass."""

import shutil

import numpy as np
import pytest

import eager
from eager.viz import describe, draw
from framework.viz import render

needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="graphviz's `dot` program is not installed")


def mlp_loss(batch=5):
    eager.manual_seed(0)
    model = eager.nn.Sequential(eager.nn.Linear(4, 8), eager.nn.ReLU(), eager.nn.Linear(8, 3))
    x = eager.randn(batch, 4)
    y = eager.tensor(np.arange(batch) % 3)
    return model, eager.nn.functional.cross_entropy(model(x), y)


def by_kind(nodes, kind):
    return [n for n in nodes if n.kind == kind]


def test_mlp_drawing_has_its_ops_parameters_inputs_and_output():
    model, loss = mlp_loss()
    nodes, edges = describe(loss, params=model)
    ops = by_kind(nodes, "op")
    assert all(n.label.endswith("Backward") for n in ops)
    assert [n.label for n in ops].count("ReluBackward") == 1
    # The mean label loss is one op (forward and backward).
    assert ops[-1].label == "CrossEntropyLabelsMeanBackward"
    assert ops[-1].op == "cross_entropy_labels_mean"
    parameters = {(n.cluster, n.label, n.details) for n in by_kind(nodes, "parameter")}
    assert parameters == {(("0",), "weight", ("(8, 4) float32",)),
                          (("0",), "bias", ("(8,) float32",)),
                          (("2",), "weight", ("(3, 8) float32",)),
                          (("2",), "bias", ("(3,) float32",))}
    assert sorted(n.details[0] for n in by_kind(nodes, "input")) == ["(5, 4) float32",
                                                                     "(5,) int64"]
    [output] = by_kind(nodes, "output")
    assert output.details == ("() float32",)
    ids = {n.id for n in nodes}
    assert all(e.src in ids and e.dst in ids for e in edges)
    # Every op, parameter and input feeds something; the output is fed by the last op.
    assert {e.src for e in edges} == ids - {output.id}
    assert [e.src for e in edges if e.dst == output.id] == [ops[-1].id]


def test_edges_carry_shapes_and_dtypes():
    model, loss = mlp_loss(batch=7)
    nodes, edges = describe(loss, params=model)
    labels = {e.label for e in edges if e.kind == "data"}
    assert {"(7, 4) float32", "(7, 8) float32", "(7, 3) float32", "(7,) int64",
            "() float32"} <= labels
    weight = next(n for n in nodes if n.label == "weight" and n.cluster == ("0",))
    assert [e.label for e in edges if e.src == weight.id] == ["(8, 4) float32"]


def test_saved_values_are_drawn_with_their_shapes_and_can_be_hidden():
    w = eager.ones(3, 2, requires_grad=True)
    loss = (eager.ones(4, 3) @ w).tanh().sum()
    nodes, edges = describe(loss, params={"w": w})
    saved = by_kind(nodes, "saved")
    assert sorted(n.details[0] for n in saved) == ["(3, 2)", "(4, 2)", "(4, 3)"]
    saved_ids = {n.id for n in saved}
    assert all(e.kind == "saved" for e in edges if e.src in saved_ids)
    assert not by_kind(describe(loss, show_saved=False)[0], "saved")
    loss.backward()  # frees what was saved: the drawing now shows nothing kept
    assert not by_kind(describe(loss)[0], "saved")


def test_parameter_names_from_a_dict_and_module_prefix_clusters():
    w = eager.ones(2, 2, requires_grad=True)
    b = eager.zeros(2, requires_grad=True)
    loss = (eager.ones(1, 2) @ w + b).sum()
    nodes, _ = describe(loss, params={"encoder.fc1.weight": w, "encoder.fc1.bias": b})
    assert {(n.cluster, n.label) for n in by_kind(nodes, "parameter")} == {
        (("encoder", "fc1"), "weight"), (("encoder", "fc1"), "bias")}
    unnamed, _ = describe(loss)
    assert {(n.cluster, n.label) for n in by_kind(unnamed, "parameter")} == {((), "leaf")}


def branchy(x, w):
    """A Python `if`: each forward pass records only the branch it took."""
    h = x @ w
    if float(h.sum().item()) > 0:
        return h.relu().sum()
    return (h * h).exp().mean()


def test_an_if_gives_a_different_drawing_for_each_branch_taken():
    w = eager.ones(3, 2, requires_grad=True)
    positive, _ = describe(branchy(eager.ones(4, 3), w), params={"w": w})
    negative, _ = describe(branchy(-eager.ones(4, 3), w), params={"w": w})
    ops_of = [[n.op for n in by_kind(nodes, "op")] for nodes in (positive, negative)]
    assert ops_of[0] == ["matmul", "relu", "sum"]
    assert ops_of[1] == ["matmul", "mul", "exp", "mean"]
    # The same code run twice on the same branch draws the same graph again.
    again, _ = describe(branchy(eager.ones(4, 3), w), params={"w": w})
    assert [(n.op, n.label, n.details) for n in again] == \
        [(n.op, n.label, n.details) for n in positive]


def test_several_outputs_share_one_graph():
    w = eager.ones(2, requires_grad=True)
    h = w * 3.0
    nodes, edges = describe([h.sum(), h.mean()], params={"w": w})
    assert [n.label for n in by_kind(nodes, "output")] == ["output 0", "output 1"]
    assert [n.label for n in by_kind(nodes, "op")].count("MulBackward") == 1


def test_drawing_a_tensor_without_history_is_refused():
    with pytest.raises(ValueError, match="has no grad_fn"):
        describe(eager.ones(3).sum())
    with pytest.raises(TypeError, match="eager Tensor"):
        describe([np.ones(3)])


def test_draw_returns_a_digraph_with_names_and_shapes():
    model, loss = mlp_loss()
    dot = draw(loss, params=model)
    source = dot.source
    assert "MatmulBackward" in source or "LinearBackward" in source
    assert "weight" in source and "(5, 3) float32" in source
    assert source.count("subgraph cluster_") == 2


@needs_dot
def test_eager_drawing_renders_to_svg_and_png():
    model, loss = mlp_loss()
    dot = draw(loss, params=model)
    assert b"<svg" in render(dot, "svg")
    assert render(dot, "png").startswith(b"\x89PNG")


def test_module_scopes_cluster_ops_by_module_and_fold_repeated_layers():
    from eager.viz import module_scopes
    from framework.viz import simplify

    eager.manual_seed(0)
    blocks = [eager.nn.Sequential(eager.nn.Linear(6, 6), eager.nn.Tanh()) for _ in range(40)]
    model = eager.nn.Sequential(*blocks)
    x = eager.randn(3, 6)
    flat = model(x).sum()
    with module_scopes(model):
        scoped = model(x).sum()
    flat_nodes, _ = describe(flat, params=model, show_saved=False)
    nodes, edges = describe(scoped, params=model, show_saved=False)
    ops = [n for n in nodes if n.kind == "op"]
    assert {n.cluster for n in ops if n.label == "LinearBackward"} == \
        {(str(i), "0") for i in range(40)}
    assert all(n.cluster == () for n in flat_nodes if n.kind == "op")
    # 40 identical blocks (120+ nodes) fold into one drawn block labelled x40.
    drawing = simplify(nodes, edges)
    assert len(nodes) > 120 and len(drawing.nodes) < 15
    assert any("(x40)" in label for label in drawing.cluster_labels.values())


def test_module_scopes_are_restored_after_a_forward_that_raises():
    from eager.autograd import _state
    from eager.viz import module_scopes

    model = eager.nn.Sequential(eager.nn.Linear(2, 2))
    with pytest.raises(Exception, match="does not match|in_features"):
        with module_scopes(model):
            model(eager.ones(1, 3, requires_grad=True))
    assert _state.scope == ()
    assert not model[0]._forward_pre_hooks and not model[0]._forward_hooks
