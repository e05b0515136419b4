"""compare.api_coverage: PyTorch's common names, each looked up in eager when the page is made."""

from __future__ import annotations

import importlib
import sys

import pytest

from compare import api_coverage
from compare.__main__ import main as compare_main
from compare.api_coverage import TABLES, Coverage, Group, check, resolve


def walk(target: str, dotted: str):
    """`target.dotted` by plain imports and getattr, independently of `resolve`."""
    parts = dotted.split(".")
    for split in range(len(parts), -1, -1):  # the longest importable module first
        try:
            owner = importlib.import_module(".".join([target, *parts[:split]]))
        except ImportError:
            continue
        for part in parts[split:]:
            owner = getattr(owner, part)
        return owner
    raise AssertionError(f"{target} does not import")


def test_every_listed_name_is_found_or_reported_missing_and_that_is_true():
    rows = check(TABLES["eager"])
    assert len(rows) >= 300 and len({row.name for row in rows}) == len(rows)
    assert {row.status for row in rows} <= {"yes", "missing"}  # no import failed
    for row in rows:
        ours = row.found_as.split(".", 1)[1]
        if row.status == "yes":
            walk("eager", ours)
        elif not ours.rsplit(".", 1)[-1].startswith("__"):
            with pytest.raises(AttributeError):
                walk("eager", ours)


def test_known_names_in_each_state():
    status = {row.name: row.status for row in check(TABLES["eager"])}
    for name in ["torch.nn.Linear", "torch.Tensor.backward", "torch.optim.SGD",
                 "torch.nn.functional.cross_entropy", "torch.utils.data.DataLoader",
                 "torch.nn.utils.clip_grad_norm_", "torch.no_grad", "torch.Tensor.__matmul__",
                 "torch.utils.tensorboard.SummaryWriter.add_graph"]:  # a submodule, imported
        assert status[name] == "yes", name
    for name in ["torch.compile", "torch.nn.TransformerDecoderLayer", "torch.Tensor.pin_memory"]:
        assert status[name] == "missing", name


def test_resolve_reports_missing_names_modules_and_inherited_attributes(tmp_path, monkeypatch):
    package = tmp_path / "coverage_probe"
    package.mkdir()
    (package / "__init__.py").write_text("class Plain:\n    pass\n\n"
                                         "class Ordered:\n    def __lt__(self, other):\n"
                                         "        return True\n")
    (package / "broken.py").write_text("import coverage_probe_missing_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "coverage_probe", raising=False)
    assert resolve("coverage_probe", "Ordered.__lt__") == ("yes", "")
    assert resolve("coverage_probe", "Plain.__lt__") == ("missing", "")  # only object's
    assert resolve("coverage_probe", "Plain.__init__") == ("missing", "")
    assert resolve("coverage_probe", "nowhere.thing") == ("missing", "")
    status, detail = resolve("coverage_probe", "broken.thing")
    assert status == "error" and "coverage_probe_missing_dependency" in detail
    assert resolve("coverage_probe_absent", "x")[0] == "error"


def test_a_second_table_is_data_only(tmp_path, monkeypatch, capsys):
    graph_table = Coverage("graph", "TensorFlow 1's names in graph", "tf", "graph", (
        Group("tf", "", "placeholder Session no_such_tf_name"),
        Group("tf.train", "train", "GradientDescentOptimizer no_such_optimizer"),
    ), renames={"no_such_tf_name": "placeholder"})
    rows = check(graph_table)
    assert [(row.name, row.found_as, row.status) for row in rows] == [
        ("tf.placeholder", "graph.placeholder", "yes"),
        ("tf.Session", "graph.Session", "yes"),
        ("tf.no_such_tf_name", "graph.placeholder", "yes"),  # found under its rename
        ("tf.train.GradientDescentOptimizer", "graph.train.GradientDescentOptimizer", "yes"),
        ("tf.train.no_such_optimizer", "graph.train.no_such_optimizer", "missing"),
    ]
    monkeypatch.setitem(TABLES, "graph", graph_table)
    print(api_coverage.main(tmp_path / "coverage.md"))
    out = capsys.readouterr().out
    assert "graph has 4 of 5 (80%)" in out and "tf.train: no_such_optimizer" in out
    page = (tmp_path / "coverage_graph.md").read_text()
    assert "| `tf.train.no_such_optimizer` | **missing** |" in page
    assert "| `tf.Session` | `graph.Session` |" in page
    assert (tmp_path / "coverage_eager.md").exists()


def test_python_m_compare_api_coverage_prints_the_summary_and_writes_the_pages(tmp_path,
                                                                              capsys):
    assert compare_main(["api-coverage", "--out", str(tmp_path / "api.md")]) == 0
    out = capsys.readouterr().out
    for key, target, group in [("eager", "eager", "torch.nn: layers"),
                               ("tf1", "graph", "tf.nn"),
                               ("theano", "graph.theano", "theano.tensor.nnet")]:
        rows = check(TABLES[key])
        has = sum(row.status == "yes" for row in rows)
        assert f"{target} has {has} of {len(rows)}" in out
        assert group in out and f"page: {tmp_path / f'api_{key}.md'}" in out
        page = (tmp_path / f"api_{key}.md").read_text()
        for row in rows:  # every name once, with what was found
            expected = f"`{row.found_as}`" if row.status == "yes" else "**missing**"
            assert page.count(f"| `{row.name}` |") == 1
            assert f"| `{row.name}` | {expected} |" in page
    assert compare_main(["api-coverage", "--out", str(tmp_path / "api.html")]) == 0
    html = (tmp_path / "api_eager.html").read_text()
    assert "<td>torch.nn.Linear</td><td>eager.nn.Linear</td>" in html
    html = (tmp_path / "api_tf1.html").read_text()
    assert "<td>tf.get_variable</td><td>graph.get_variable</td>" in html
    html = (tmp_path / "api_theano.html").read_text()
    assert "<td>theano.tensor.nnet.softmax</td><td>graph.theano.tensor.nnet.softmax</td>" in html


def test_tensorflow_1_names_are_looked_up_in_graph_and_the_answer_is_true():
    rows = check(TABLES["tf1"])
    assert len(rows) >= 300 and len({row.name for row in rows}) == len(rows)
    assert {row.status for row in rows} <= {"yes", "missing"}
    for row in rows:
        ours = row.found_as.split(".", 1)[1]
        if row.status == "yes":
            walk("graph", ours)
        else:
            with pytest.raises(AttributeError):
                walk("graph", ours)
    status = {row.name: row.status for row in rows}
    for name in ["tf.placeholder", "tf.get_variable", "tf.variable_scope", "tf.AUTO_REUSE",
                 "tf.GraphKeys", "tf.get_collection", "tf.set_random_seed",
                 "tf.truncated_normal", "tf.random.normal", "tf.initializers.he_normal",
                 "tf.Session.run", "tf.TensorShape.as_list", "tf.Tensor.set_shape",
                 "tf.train.AdamOptimizer", "tf.layers.dense", "tf.nn.dropout"]:
        assert status[name] == "yes", name
    for name in ["tf.string", "tf.train.MonitoredTrainingSession"]:
        assert status[name] == "missing", name


def test_theano_names_are_looked_up_in_graph_theano_and_the_answer_is_true():
    rows = check(TABLES["theano"])
    assert len(rows) >= 250 and len({row.name for row in rows}) == len(rows)
    assert {row.status for row in rows} <= {"yes", "missing"}
    for row in rows:
        ours = row.found_as.split(".", 2)[2]  # after "graph.theano."
        if row.status == "yes":
            walk("graph.theano", ours)
        else:
            with pytest.raises(AttributeError):
                walk("graph.theano", ours)
    status = {row.name: row.status for row in rows}
    for name in ["theano.function", "theano.shared", "theano.grad", "theano.scan",
                 "theano.ifelse.ifelse", "theano.config.floatX", "theano.tensor.lvector",
                 "theano.tensor.fmatrix", "theano.tensor.nnet.softmax",
                 "theano.tensor.nnet.categorical_crossentropy", "theano.tensor.set_subtensor",
                 "theano.tensor.TensorVariable.dimshuffle",
                 "theano.tensor.TensorVariable.__getitem__",
                 "theano.compile.SharedVariable.get_value",  # found under its rename
                 "theano.compile.function_module.Function.__call__"]:
        assert status[name] == "yes", name
    for name in ["theano.tensor.nnet.conv2d", "theano.tensor.bvector",
                 "theano.sandbox.rng_mrg.MRG_RandomStreams", "theano.printing.debugprint"]:
        assert status[name] == "missing", name


def test_a_tensorflow_name_graph_lacks_says_it_is_not_built():
    import graph as tf

    with pytest.raises(AttributeError, match="TensorFlow 1's tf.string is not built in "
                                             "dualgraph's graph front-end") as info:
        tf.string  # noqa: B018
    assert "test_api_coverage.py" in str(info.value)  # the line that asked
    assert not hasattr(tf, "no_such_name") and hasattr(tf, "placeholder")


def test_a_name_listed_twice_is_refused_when_the_table_is_made():
    with pytest.raises(ValueError, match=r"tf.Session is listed twice \(again in 'more'\)"):
        Coverage("graph", "TF", "tf", "graph", (Group("tf", "", "Session placeholder"),
                                                 Group("more", "", "Session")))
