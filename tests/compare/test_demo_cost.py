"""The cost demo: build vs run time, eager's per-op overhead and memory, in one small run."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure

from compare import bench_eager, demo_cost
from compare.demo_cost import StepCost
from compare.sections import Picture, SideBySide, Table


@pytest.fixture(scope="module")
def section():
    return demo_cost.run(small=True)


def tables(section):
    return {block.caption: block for block in section.blocks if isinstance(block, Table)}


def test_eager_per_op_overhead_and_graph_build_side_by_side(section):
    (pair,) = [block for block in section.blocks if isinstance(block, SideBySide)]
    (per_op,) = [block for block in pair.left if isinstance(block, Table)]
    (build,) = [block for block in pair.right if isinstance(block, Table)]
    labels = [row[0] for row in per_op.rows]
    assert labels[:-1] == list(bench_eager.OP_CASES) and labels[-1].startswith("NumPy")
    assert all(row[1].endswith(("s", "us", "ns", "ms")) for row in per_op.rows)
    assert [row[0] for row in build.rows] == ["model", "loss + gradients", "optimizer update",
                                              "compile the step", "build in all",
                                              "first Session.run", "ops in the graph",
                                              "nodes in the compiled step"]
    assert build.headers[1:] == [label for label, _, _ in demo_cost.CONFIGS]


def test_the_step_and_memory_tables_cover_each_model(section):
    found = tables(section)
    steps = next(table for caption, table in found.items() if caption.startswith("time per"))
    memory = next(table for caption, table in found.items() if caption.startswith("memory"))
    configs = [label for label, _, _ in demo_cost.CONFIGS]
    assert [row[0] for row in steps.rows] == configs == [row[0] for row in memory.rows]
    for row in steps.rows:
        eager_time, graph_time, ratio = row[1], row[2], float(row[3])
        assert ratio > 0 and eager_time and graph_time
        assert row[5] == "never (graph steps are not faster)" or row[5].endswith("steps")
    # The wide MLP's weights: 64*1024 + 1024 + 1024*1024 + 1024 + 1024*10 + 10 float32s.
    assert memory.rows[1][1] == f"{1_126_410 * 4 / 2**20:.2f} MiB"


def test_the_figure_has_both_curves_per_model(section):
    (picture,) = [block for block in section.blocks if isinstance(block, Picture)]
    assert isinstance(picture.image, Figure)
    assert [len(axes.lines) for axes in picture.image.axes] == [2] * len(demo_cost.CONFIGS)


def test_the_section_names_the_machine_and_summarizes(section):
    assert f"{bench_eager.cpu_count()} cores" in section.intro
    assert section.summary.startswith("digits MLP step: eager")
    assert "compiled graph" in section.summary and "build and compile" in section.summary
    assert "eager overhead per op" in section.summary


def test_one_step_measured_both_ways():
    cost = demo_cost.measure_step("tiny", batch=8, hidden=8, repeats=2, build_repeats=1)
    assert cost.parameters == 64 * 8 + 8 + 8 * 8 + 8 + 8 * 10 + 10
    assert cost.weights_bytes == cost.parameters * 4
    assert cost.eager_ops > 0 and cost.graph_ops_run > cost.eager_ops
    assert cost.graph_ops >= cost.graph_ops_run
    assert cost.build_s == pytest.approx(cost.build_model_s + cost.build_gradients_s
                                         + cost.build_update_s + cost.compile_s)
    assert min(cost.eager_step_s, cost.graph_step_s, cost.first_run_s, cost.compile_s) > 0
    # The passes merge and drop nodes: the compiled step has fewer than the graph holds.
    assert 0 < cost.compiled_nodes < cost.graph_ops
    assert cost.eager_step_bytes > 0 and cost.graph_step_bytes > 0


def step_cost(eager_step, graph_step, build=0.003, first_run=0.002, compile_s=0.0):
    return StepCost("x", 1, build, 0.0, 0.0, first_run, compile_s, graph_step, eager_step,
                    graph_ops=1, graph_ops_run=1, compiled_nodes=1, eager_ops=1, weights_bytes=4,
                    eager_step_bytes=0, graph_step_bytes=0)


def test_the_break_even_point():
    # 5 ms up front (build + first run) less the first step's own 1 ms, won back at 1 ms a step.
    assert step_cost(0.002, 0.001).break_even_steps == pytest.approx(4.0)
    # Compiling the step is part of the build: 2 ms more up front, two steps more to win back.
    with_compile = step_cost(0.002, 0.001, compile_s=0.002)
    assert with_compile.build_s == pytest.approx(0.005)
    assert with_compile.break_even_steps == pytest.approx(6.0)
    assert demo_cost._paid_back(with_compile) == "paid back after 6 steps"
    assert step_cost(0.001, 0.002).break_even_steps is None
    assert demo_cost._break_even(step_cost(0.001, 0.002)).startswith("never")


def test_the_figure_of_a_slower_graph_still_draws():
    figure = demo_cost.cost_figure([step_cost(0.001, 0.002)])
    (axes,) = figure.axes
    eager_line, graph_line = axes.lines
    assert eager_line.get_xdata()[-1] == 100 and graph_line.get_ydata()[0] == pytest.approx(3.0)
