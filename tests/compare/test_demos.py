"""The if-statement, dynamic-loops and debugging demos, each run on its small setting."""

import inspect

import numpy as np
import pytest

from compare import demo_debugging, demo_if, demo_loops
from compare.sections import Picture, Section, SideBySide, Table
from framework.errors import ShapeError
from framework.viz import render


def line_of(function, text: str) -> int:
    """The line number, in its file, of the first line of `function` that contains `text`."""
    lines, start = inspect.getsourcelines(function)
    return next(start + i for i, line in enumerate(lines) if text in line)


def pictures(section: Section) -> list[Picture]:
    found = []

    def walk(blocks):
        for block in blocks:
            if isinstance(block, Picture):
                found.append(block)
            elif isinstance(block, SideBySide):
                walk(block.left)
                walk(block.right)

    walk(section.blocks)
    return found


def tables(section: Section) -> list[Table]:
    return [block for block in section.blocks if isinstance(block, Table)]


@pytest.mark.parametrize("module, key", [(demo_if, "if-statement"),
                                         (demo_loops, "dynamic-loops"),
                                         (demo_debugging, "debugging")])
def test_each_demo_runs_alone_and_prints_its_section(module, key):
    section = module.run(small=True)
    assert isinstance(section, Section) and section.key == key
    assert section.summary and "\n" not in section.summary.strip()
    text = module.main(small=True)
    assert text.startswith(f"== {section.title} ==")
    assert module.__doc__ and key in module.__doc__


# -- if-statement ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def if_facts():
    return demo_if.collect(small=True)


def test_if_eager_records_a_different_graph_per_branch(if_facts):
    first, second = if_facts.eager_runs
    assert first.ops == ["MulBackward", "MulBackward", "SumBackward"]
    assert second.ops == ["MulBackward", "TanhBackward", "PowBackward", "MeanBackward"]
    assert "TanhBackward" not in first.drawing.source
    assert "TanhBackward" in second.drawing.source
    assert "SumBackward" not in second.drawing.source


def test_if_graph_holds_both_branches_and_runs_one(if_facts):
    true_ops, false_ops = if_facts.branch_ops["true"], if_facts.branch_ops["false"]
    assert "decide/double_sum" in true_ops and "decide/tanh_mean" in false_ops
    source = if_facts.graph_drawing.source
    assert "true branch of cond 'decide'" in source
    assert "false branch of cond 'decide'" in source
    assert "tanh_mean" in source and "double_sum" in source
    took_true, took_false = if_facts.graph_runs
    assert all(took_true.executed.get(name) == 1 for name in true_ops)
    assert not any(name in took_true.executed for name in false_ops)
    assert all(took_false.executed.get(name) == 1 for name in false_ops)
    assert not any(name in took_false.executed for name in true_ops)
    assert took_true.executed["decide/Cond"] == took_false.executed["decide/Cond"] == 1


def test_if_both_ways_give_the_same_values(if_facts):
    for eager_run, graph_run in zip(if_facts.eager_runs, if_facts.graph_runs):
        np.testing.assert_allclose(eager_run.value, graph_run.value, rtol=1e-6)
    assert if_facts.eager_runs[0].value == pytest.approx(4.0)


def test_if_pitfall_op_created_outside_runs_anyway(if_facts):
    outside, inside = if_facts.pitfall
    assert not outside.increment_inside and outside.increment_ran
    assert outside.counter == outside.runs == 3
    assert inside.increment_inside and not inside.increment_ran and inside.counter == 0


def test_if_python_if_error_names_the_demos_line(if_facts):
    error = if_facts.python_if_error
    assert error is not None and "Python bool" in error.problem
    assert error.site.filename == demo_if.__file__
    assert error.site.lineno == line_of(demo_if.graph_decision_with_python_if,
                                        "if tf.reduce_sum(h) > 0.0")


def test_if_section_shows_the_counts_and_renders(if_facts):
    section = demo_if.section_for(if_facts)
    counts = tables(section)[0]
    rows = {row[0]: row for row in counts.rows}
    assert rows["decide/tanh"][1:] == ["false", "0", "1"]
    assert rows["decide/double_sum"][1:] == ["true", "1", "0"]
    assert section.summary.startswith("eager recorded 2 different graphs (3 and 4 ops)")
    drawn = pictures(section)
    assert len(drawn) == 3
    for picture in drawn:
        assert render(picture.image, "svg").lstrip().startswith(b"<?xml")


# -- dynamic loops -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def loop_facts():
    return demo_loops.collect(small=True)


def test_loops_eager_graph_grows_with_length_graph_does_not(loop_facts):
    runs = loop_facts.runs
    assert [r.length for r in runs] == [1, 3, 6]
    assert [r.eager_ops for r in runs] == [4 * r.length for r in runs]
    assert len({r.graph_ops for r in runs}) == 1
    assert [r.body_executions for r in runs] == [r.length for r in runs]
    executions = [r.graph_executions for r in runs]
    assert executions == sorted(executions) and executions[0] < executions[-1]


def test_loops_results_agree(loop_facts):
    for r in loop_facts.runs:
        assert r.max_difference < 1e-5


def test_loops_graph_reads_the_length_from_the_fed_sequence():
    import graph as tf

    with tf.Graph().as_default() as g:
        inputs = tf.placeholder(tf.float32, (None, demo_loops.BATCH, demo_loops.FEATURES))
        weights = [tf.Variable(np.full(shape, 0.1, np.float32)) for shape in (
            (demo_loops.FEATURES, demo_loops.HIDDEN), (demo_loops.HIDDEN, demo_loops.HIDDEN),
            (demo_loops.HIDDEN,), (demo_loops.HIDDEN,))]
        last = demo_loops.graph_rnn(inputs, *weights)
        assert [op for op in g.get_operations() if op.type == "Placeholder"] == [inputs.op]
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for length in (0, 2, 5):
                metadata = tf.RunMetadata()
                sess.run(last, {inputs: np.ones((length, demo_loops.BATCH,
                                                 demo_loops.FEATURES), np.float32)},
                         run_metadata=metadata)
                tanh_runs = sum(n for name, n in metadata.op_counts.items()
                                if g.get_operation_by_name(name).type == "tanh")
                assert tanh_runs == length


def test_loops_drawings(loop_facts):
    short, long = loop_facts.eager_drawings[3], loop_facts.eager_drawings[6]
    assert long.source.count("TanhBackward") == 6 and short.source.count("TanhBackward") == 3
    assert "while" in loop_facts.graph_drawing.source.lower()
    section = demo_loops.section_for(loop_facts)
    table = tables(section)[0]
    assert [row[1] for row in table.rows] == ["4", "12", "24"]
    assert len(pictures(section)) == 3


# -- debugging ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def debug_facts():
    return demo_debugging.collect(small=True)


def test_debugging_eager_shape_error_at_the_forward_line_at_run_time(debug_facts):
    report = debug_facts.eager_shape
    assert isinstance(report.error, ShapeError)
    assert report.filename == demo_debugging.__file__
    assert report.lineno == line_of(demo_debugging.EagerClassifier.forward,
                                    "return self.output(hidden)")
    demo_debugging.EagerClassifier()  # building the model alone raises nothing


def test_debugging_graph_shape_error_at_build_time_at_the_creation_line(debug_facts):
    report = debug_facts.graph_shape
    assert isinstance(report.error, ShapeError)
    assert "(None, 8) and (6, 3)" in str(report.error)
    assert report.filename == demo_debugging.__file__
    assert report.lineno == line_of(demo_debugging.graph_classifier,
                                    "return tf.matmul(hidden, w2) + b2")
    assert not report.raised_in_session


def test_debugging_nan_tools_name_the_op_and_line(debug_facts):
    for losses in (debug_facts.eager_losses, debug_facts.graph_losses):
        assert np.isfinite(losses[0]) and np.isnan(losses[1])
    assert debug_facts.eager_losses[0] == pytest.approx(debug_facts.graph_losses[0], rel=1e-5)
    eager_report, graph_report = debug_facts.eager_nan, debug_facts.graph_nan
    assert eager_report.op == "log"
    assert eager_report.filename == demo_debugging.__file__
    assert eager_report.lineno == line_of(demo_debugging.eager_log_model, "x.log()")
    assert graph_report.op == "features (log)"
    assert graph_report.lineno == line_of(demo_debugging.graph_log_model, "tf.log(x")
    assert graph_report.raised_in_session


def test_debugging_section(debug_facts):
    section = demo_debugging.section_for(debug_facts)
    shape_table, nan_table = tables(section)
    assert [row[0] for row in shape_table.rows] == ["eager", "graph"]
    assert shape_table.rows[0][1].startswith("run time")
    assert shape_table.rows[1][1].startswith("build time")
    assert nan_table.rows[0][2] == nan_table.rows[1][2] == "NaN"
    assert "before any Session" in section.summary
