"""The shared drawing primitives: style table, clusters, folding, collapsing, rendering."""

import shutil

import graphviz
import pytest

from framework.viz import (
    FRONTEND_FAMILIES,
    GraphvizNotFoundError,
    VizEdge,
    VizNode,
    node_style,
    op_family,
    register_op_family,
    render,
    shape_text,
    simplify,
    to_digraph,
)

needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="graphviz's `dot` program is not installed")


def layered(count=10, stem="layer_"):
    """x -> count identical (matmul, relu) layers, each in its own cluster -> loss."""
    nodes = [VizNode("x", "Placeholder", "input", "x", details=("(?, 8) float32",))]
    edges = []
    previous = "x"
    for i in range(count):
        cluster = (f"{stem}{i}",)
        nodes += [VizNode(f"w{i}", "VariableV2", "parameter", "w", cluster, ("(8, 8) float32",)),
                  VizNode(f"mm{i}", "matmul", "op", "matmul", cluster),
                  VizNode(f"r{i}", "relu", "op", "relu", cluster)]
        edges += [VizEdge(previous, f"mm{i}", "(?, 8) float32"),
                  VizEdge(f"w{i}", f"mm{i}", "(8, 8) float32"),
                  VizEdge(f"mm{i}", f"r{i}", "(?, 8) float32")]
        previous = f"r{i}"
    nodes.append(VizNode("loss", "mean", "op", "mean"))
    edges.append(VizEdge(previous, "loss", "(?, 8) float32"))
    return nodes, edges


def test_op_families_follow_the_registry_modules():
    assert op_family("matmul") == "linalg"
    assert op_family("relu") == op_family("add") == "elementwise"
    assert op_family("sum") == "reduction"
    assert op_family("conv2d") == "conv"
    assert op_family("softmax") == "nn"
    assert op_family("reshape") == "movement"
    assert op_family("dropout") == "random"
    assert op_family("take_along_axis") == op_family("nonzero") == "indexing"
    assert op_family("topk") == op_family("sort") == "sorting"
    assert op_family("cumsum") == "scan"
    # A front-end's own op types get their family from the front-end (the graph's Cond, ...).
    assert op_family("SomeFrontEndOp") == "other"
    register_op_family("SomeFrontEndOp", "control flow")
    assert op_family("SomeFrontEndOp") == "control flow"
    FRONTEND_FAMILIES.pop("SomeFrontEndOp")
    with pytest.raises(ValueError, match="unknown op family 'loops'"):
        register_op_family("SomeFrontEndOp", "loops")
    assert op_family("no such op") == "other"


def test_style_depends_on_op_and_kind_not_on_label_or_cluster():
    a = VizNode("a", "matmul", "op", "MatmulBackward", ("fc1",))
    b = VizNode("b", "matmul", "op", "matmul", ("dense", "inner"), ("logits",))
    assert node_style(a) == node_style(b)
    assert node_style(a)["fillcolor"] != node_style(VizNode("c", "relu", "op", "relu"))["fillcolor"]
    gradient = node_style(VizNode("g", "matmul", "gradient", "matmul"))
    assert gradient["fillcolor"] == node_style(a)["fillcolor"] and "dashed" in gradient["style"]
    assert node_style(VizNode("p", None, "parameter", "w"))["shape"] == "box3d"


def test_shape_text_marks_unknown_dimensions():
    assert shape_text((None, 64), "float32") == "(?, 64) float32"
    assert shape_text((5,), "int64") == "(5,) int64"
    assert shape_text(()) == "()"


def test_bad_kinds_and_dangling_edges_are_refused():
    with pytest.raises(ValueError, match="unknown kind 'box'"):
        VizNode("a", None, "box", "a")
    with pytest.raises(ValueError, match="unknown node 'ghost'"):
        simplify([VizNode("a", None, "input", "a")], [VizEdge("a", "ghost")])
    with pytest.raises(ValueError, match="share an id"):
        simplify([VizNode("a", None, "input", "a"), VizNode("a", None, "input", "b")], [])


def test_nested_clusters_become_nested_cluster_subgraphs():
    nodes = [VizNode("a", "add", "op", "add", ("outer", "inner")),
             VizNode("b", "relu", "op", "relu", ("outer",)),
             VizNode("c", "mean", "op", "mean")]
    dot = to_digraph(nodes, [VizEdge("a", "b", "(3,) float32"), VizEdge("b", "c")])
    source = dot.source
    assert source.count("subgraph cluster_") == 2
    assert source.index("label=outer") < source.index("label=inner")
    assert 'label="(3,) float32"' in source
    assert isinstance(dot, graphviz.Digraph)


def test_labels_are_plain_text_even_with_angle_brackets():
    dot = to_digraph([VizNode("a", None, "input", "<unknown>")], [])
    assert '"<unknown>"' in dot.source  # quoted: not taken for an HTML label


def test_identical_sibling_clusters_fold_into_one_drawn_copy():
    nodes, edges = layered(10)
    drawing = simplify(nodes, edges, fold=True)
    assert len(drawing.nodes) == 1 + 3 + 1
    assert drawing.cluster_labels[("layer_0",)] == "layer_0 … layer_9 (x10)"
    kinds = {(e.src, e.dst): e.kind for e in drawing.edges}
    assert kinds[("r0", "mm0")] == "repeat"  # layer i's output feeds layer i + 1
    assert kinds[("r0", "loss")] == "data" and kinds[("x", "mm0")] == "data"
    assert "(x10)" in to_digraph(nodes, edges).source
    assert len(simplify(nodes, edges, fold=False).nodes) == len(nodes)


def test_folding_needs_the_same_structure_and_name_stem():
    nodes, edges = layered(3)
    nodes = [VizNode("extra", "relu", "op", "relu", ("layer_2",)), *nodes]
    edges.append(VizEdge("r2", "extra"))
    drawing = simplify(nodes, edges)
    assert [label for label in drawing.cluster_labels.values()] == ["layer_0 … layer_1 (x2)"]
    branches = [VizNode("t", "mul", "op", "mul", ("cond", "true branch")),
                VizNode("f", "mul", "op", "mul", ("cond", "false branch"))]
    assert len(simplify(branches, []).nodes) == 2


def test_collapse_by_depth_turns_clusters_into_scope_nodes_with_edges_rerouted():
    nodes, edges = layered(4)
    drawing = simplify(nodes, edges, fold=False, collapse=0)
    scopes = [n for n in drawing.nodes if n.kind == "scope"]
    assert [(n.label, n.details) for n in scopes] == [
        (f"layer_{i}", ("(2 ops)",)) for i in range(4)]
    ids = {n.id for n in drawing.nodes}
    assert all(e.src in ids and e.dst in ids and e.src != e.dst for e in drawing.edges)
    by_label = {n.id: n.label for n in drawing.nodes}
    chain = [(by_label[e.src], by_label[e.dst]) for e in drawing.edges]
    assert chain == [("x", "layer_0"), ("layer_0", "layer_1"), ("layer_1", "layer_2"),
                     ("layer_2", "layer_3"), ("layer_3", "mean")]


def test_collapse_by_name_and_unknown_names():
    nodes, edges = layered(3)
    drawing = simplify(nodes, edges, fold=False, collapse=["layer_1"])
    assert [n.label for n in drawing.nodes if n.kind == "scope"] == ["layer_1"]
    with pytest.raises(ValueError, match="no cluster 'layer_7'.*layer_0"):
        simplify(nodes, edges, collapse=["layer_7"])


def test_max_nodes_collapses_until_the_drawing_fits():
    nodes, edges = layered(60)
    assert len(nodes) == 182
    drawing = simplify(nodes, edges, fold=False, max_nodes=100)
    assert len(drawing.nodes) <= 100
    assert any(n.kind == "scope" for n in drawing.nodes)
    assert len(simplify(nodes, edges, fold=False, max_nodes=500).nodes) == 182


@needs_dot
def test_render_gives_svg_and_png_bytes_and_jupyter_shows_svg(tmp_path):
    dot = to_digraph(*layered(2))
    svg = render(dot, "svg")
    assert svg.lstrip().startswith(b"<?xml") and b"<svg" in svg and b"matmul" in svg
    png = render(dot, "png", path=tmp_path / "drawing.png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert (tmp_path / "drawing.png").read_bytes() == png
    assert "<svg" in dot._repr_mimebundle_()["image/svg+xml"]


def test_render_without_dot_says_how_to_install_it(monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(GraphvizNotFoundError, match="sudo apt-get install graphviz"):
        render(to_digraph(*layered(1)), "svg")
    with pytest.raises(ValueError, match="'svg' or 'png'"):
        render(to_digraph(*layered(1)), "gif")


def test_the_same_op_looks_the_same_in_eager_and_graph_drawings():
    import eager
    import eager.viz
    import graph as tf
    import graph.viz

    w = eager.ones(3, 2, requires_grad=True)
    b = eager.zeros(2, requires_grad=True)
    loss = eager.relu(eager.ones(4, 3) @ w + b).sum()
    eager_nodes, _ = eager.viz.describe(loss, params={"fc.w": w, "fc.b": b})
    with tf.Graph().as_default() as g:
        x = tf.placeholder(tf.float32, (None, 3))
        w = tf.Variable(tf.ones((3, 2)), name="w")
        b = tf.Variable(tf.zeros((2,)), name="b")
        tf.reduce_sum(tf.nn.relu(tf.matmul(x, w) + b))
    graph_nodes, _ = graph.viz.describe(g)
    for op in ("matmul", "add", "relu", "sum"):
        mine = [node_style(n) for n in eager_nodes if n.op == op]
        theirs = [node_style(n) for n in graph_nodes if n.op == op]
        assert mine and theirs and mine[0] == theirs[0], op
    parameters = [node_style(n) for n in eager_nodes + graph_nodes if n.kind == "parameter"]
    assert len(parameters) == 4 and all(p == parameters[0] for p in parameters)
