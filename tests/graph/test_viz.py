"""Drawings of the static graph: scopes, control flow, gradients, large graphs."""

import shutil

import pytest

import graph as tf
from framework.viz import render, simplify
from graph.viz import describe, draw

needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="graphviz's `dot` program is not installed")


def mlp(optimizer=None):
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (None, 4), name="x")
        y = tf.placeholder(tf.int64, (None,), name="y")
        hidden = tf.layers.dense(x, 8, activation=tf.nn.relu)
        logits = tf.layers.dense(hidden, 3)
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits))
        train_op = (optimizer or tf.train.GradientDescentOptimizer(0.1)).minimize(loss)
        tf.global_variables_initializer()
    return g, loss, train_op


def by_kind(nodes, kind):
    return [n for n in nodes if n.kind == kind]


def test_mlp_drawing_has_placeholders_variables_ops_and_layer_clusters():
    g, _, _ = mlp()
    nodes, edges = describe(g)
    assert sorted(n.label for n in by_kind(nodes, "input")) == ["x", "y"]
    assert {(n.cluster, n.label, n.details) for n in by_kind(nodes, "parameter")} == {
        (("dense",), "kernel", ("(4, 8) float32",)), (("dense",), "bias", ("(8,) float32",)),
        (("dense_1",), "kernel", ("(8, 3) float32",)), (("dense_1",), "bias", ("(3,) float32",))}
    ops = [(n.cluster, n.op) for n in by_kind(nodes, "op")]
    # A dense layer runs eager's linear op on its kernel read as (out, in): a transposed copy.
    dense = ["transpose", "contiguous_copy", "linear"]
    assert ops == ([(("dense",), op) for op in dense] + [(("dense",), "relu")]
                   + [(("dense_1",), op) for op in dense]
                   + [((), "cross_entropy_labels"), ((), "mean")])
    assert len(nodes) == 15 and len(edges) == 14
    assert not by_kind(nodes, "gradient") and not by_kind(nodes, "constant")


def test_edges_carry_shapes_with_unknown_dimensions():
    g, _, _ = mlp()
    nodes, edges = describe(g)
    label = {n.id: n.label for n in nodes}
    flows = {(label[e.src], label[e.dst], e.label) for e in edges}
    assert ("x", "linear", "(?, 4) float32") in flows
    assert ("kernel", "transpose", "(4, 8) float32") in flows
    assert ("contiguous_copy", "linear", "(8, 4) float32") in flows
    assert ("y", "cross_entropy_labels", "(?,) int64") in flows
    assert ("cross_entropy_labels", "mean", "(?,) float32") in flows
    assert "(?, 8) float32" in draw(g).source


def test_gradients_are_hidden_by_default_and_shown_on_request():
    g, _, train_op = mlp(tf.train.MomentumOptimizer(0.1, 0.9))
    hidden, _ = describe(g)
    shown, edges = describe(g, show_gradients=True)
    assert len(shown) > len(hidden) + 30
    gradient = by_kind(shown, "gradient")
    assert {"linear_grad", "transpose"} <= {n.op for n in gradient}
    assert all(n.cluster[0] in ("gradients", "Momentum") for n in gradient
               if n.op != "NoOp")
    # Optimizer slots (Momentum accumulators) appear only with the gradients.
    assert [n for n in by_kind(shown, "parameter") if n.label == "Momentum"]
    assert not [n for n in by_kind(hidden, "parameter") if n.label == "Momentum"]
    # The train op waits on the updates: control edges, drawn dashed.
    train = next(n for n in shown if n.id == f"op{train_op.id}")
    into_train = [e.kind for e in edges if e.dst == train.id]
    assert into_train and set(into_train) == {"control"}
    assert "style=dashed" in draw(g, show_gradients=True).source


def test_initializers_are_hidden_unless_asked_for():
    g, _, _ = mlp()
    nodes, _ = describe(g, show_initializers=True)
    assigns = [n for n in nodes if n.op == "Assign"]
    assert len(assigns) == 4
    assert {n.cluster for n in assigns} == {("dense", "kernel"), ("dense", "bias"),
                                            ("dense_1", "kernel"), ("dense_1", "bias")}
    assert [n for n in nodes if n.op == "NoOp" and n.details == ("init",)]


def test_fetches_draw_only_what_they_depend_on():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (3,), name="x")
        used = tf.exp(x)
        tf.sin(x)  # not needed for `used`
    nodes, _ = describe([used])
    assert [n.op for n in nodes] == ["Placeholder", "exp"]
    assert len(describe(g)[0]) == 3


def test_cond_holds_both_branches_as_clusters():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (None, 2), name="x")
        s = tf.reduce_sum(x)
        y = tf.cond(s > 0.0, lambda: tf.nn.relu(x), lambda: tf.exp(x) * 2.0)
    nodes, edges = describe(g)
    true_path = ("cond", "true branch of cond 'cond'")
    false_path = ("cond", "false branch of cond 'cond'")
    assert [n.op for n in nodes if n.cluster == true_path] == ["relu"]
    assert [n.op for n in nodes if n.cluster == false_path] == ["exp", "Const", "mul"]
    cond = next(n for n in nodes if n.op == "Cond")
    assert cond.cluster == ("cond",) and f"op{y.op.id}" == cond.id
    label = {n.id: n.op for n in nodes}
    into_cond = sorted(label[e.src] for e in edges if e.dst == cond.id)
    assert into_cond == ["Placeholder", "gt", "mul", "relu"]  # pred, captured x, results
    source = draw(g).source
    assert "true branch of cond" in source and "false branch of cond" in source
    assert source.count("subgraph cluster_") == 3


def test_while_loop_body_is_a_cluster():
    g = tf.Graph()
    with g.as_default():
        i, total = tf.while_loop(lambda i, t: i < 5, lambda i, t: (i + 1, t * 2.0),
                                 [0, tf.constant(1.0)], name="loop")
    nodes, edges = describe(g)
    body = [n for n in nodes if n.cluster == ("loop", "while_loop 'loop'")]
    assert sorted(n.op for n in body if n.kind in ("op", "input")) == [
        "LoopVar", "LoopVar", "add", "lt", "mul"]
    while_op = next(n for n in nodes if n.op == "While")
    assert while_op.cluster == ("loop",)
    label = {n.id: n.op for n in nodes}
    assert {"lt", "add", "mul"} <= {label[e.src] for e in edges if e.dst == while_op.id}


def test_gradient_of_a_while_loop_is_drawn_in_its_own_cluster():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (), name="x")
        _, y = tf.while_loop(lambda i, t: i < 3, lambda i, t: (i + 1, t * x), [0, x])
        tf.gradients(y, [x])
    nodes, _ = describe(g, show_gradients=True)
    clusters = {n.cluster for n in nodes}
    assert any(c[:1] == ("gradients",) and "gradient of while_loop 'while'" in c
               for c in clusters)
    assert not any("gradient of" in part for n in describe(g)[0] for part in n.cluster)


def big_graph(layers=50):
    g = tf.Graph()
    with g.as_default():
        h = tf.placeholder(tf.float32, (None, 16), name="x")
        for i in range(layers):
            # A variable scope, so each layer's variables join its ops (a name scope would
            # leave the variables at the top, as in TensorFlow 1).
            with tf.variable_scope(f"layer_{i}"):
                h = tf.layers.dense(h, 16, activation=tf.nn.relu)
        loss = tf.reduce_mean(h)
        tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    return g


def test_a_500_op_graph_folds_and_collapses_to_a_readable_drawing():
    g = big_graph()
    assert len(g.get_operations()) > 500
    nodes, edges = describe(g, show_gradients=True)
    assert len(nodes) > 500
    folded = simplify(nodes, edges)
    assert "layer_0 … layer_49 (x50)" in folded.cluster_labels.values()
    small = simplify(nodes, edges, max_nodes=40)
    assert len(small.nodes) <= 40
    scopes = {n.label: n.details for n in small.nodes if n.kind == "scope"}
    assert scopes["gradients"][0].endswith("ops)")
    source = draw(g, show_gradients=True, max_nodes=40).source
    assert "(x50)" in source and source.count("->") < 60
    unfolded = simplify(*describe(g), fold=False, collapse=0)
    assert [n.label for n in unfolded.nodes if n.kind == "scope"] == \
        [f"layer_{i}" for i in range(50)]


def test_any_graph_can_be_drawn_including_an_empty_one():
    assert describe(tf.Graph()) == ([], [])
    with tf.Graph().as_default():
        c = tf.constant(2.0, name="two")
        assert [n.details for n in describe()[0]] == [("2. float32",)]
        assert describe(c) == describe()
    with pytest.raises(TypeError, match="Graph, or Tensors and Operations"):
        describe([3.0])


@needs_dot
def test_graph_drawing_renders_to_svg_and_png():
    g, _, _ = mlp()
    dot = draw(g, show_gradients=True)
    assert b"<svg" in render(dot, "svg")
    assert render(dot, "png").startswith(b"\x89PNG")
    assert "<svg" in dot._repr_mimebundle_()["image/svg+xml"]
