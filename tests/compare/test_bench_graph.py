"""The graph benchmark: a quick run gives every table's rows, each system timed in its own
process, every ratio a positive number or "not installed", the compile times and the memory
of one step. No timing is asserted: this machine is shared and noisy."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from compare import __main__ as cli
from compare import bench_eager, bench_graph, models_eager, models_graph, weights_bridge
from compare.bench_graph import (
    CASES_QUICK,
    COMPILED,
    EAGER,
    FLOOR,
    FLOOR_NEW,
    GROUPS,
    INTERPRETED,
    NOT_INSTALLED,
    NUMPY,
    PEERS,
    WorkerError,
)
from framework.errors import ArgumentError

OURS = {COMPILED, INTERPRETED, EAGER, NUMPY, FLOOR, FLOOR_NEW}


@pytest.fixture(scope="module")
def results():
    return bench_graph.run(quick=True)


@pytest.fixture(scope="module")
def text(results):
    return bench_graph.report(results)


def table_after(text: str, title: str) -> list[list[str]]:
    """The cells of the table printed under `title`, split at the columns its rule marks."""
    lines = text.split(title, 1)[1].splitlines()
    rule = lines[1]
    starts = [i for i, c in enumerate(rule) if c == "-" and (i == 0 or rule[i - 1] == " ")]
    ends = [*(s - 2 for s in starts[1:]), None]
    body = []
    for line in lines[2:]:
        if not line.strip():
            break
        body.append([line[start:end].strip() for start, end in zip(starts, ends)])
    return body


def test_every_case_has_a_row_for_each_of_its_systems(results):
    expected = [(case.group, case.label, system) for case in bench_graph.cases(CASES_QUICK)
                for system in case.systems]
    assert [(row.group, row.case, row.system) for row in results.rows] == expected
    groups = {row.group for row in results.rows}
    assert groups == {"mlp", "chains", "cnn"}
    mlp_systems = [row.system for row in results.rows if row.group == "mlp"]
    assert mlp_systems[:3] == [COMPILED, INTERPRETED, EAGER] and set(PEERS) <= set(mlp_systems)


def test_our_systems_are_timed_and_only_absent_peers_are_not(results):
    for row in results.rows:
        if row.system in OURS or importlib.util.find_spec(PEERS[row.system]) is not None:
            assert row.seconds > 0 and row.note == ""
            assert all(ratio > 0 for ratio in row.ratios.values())
        else:
            assert row.seconds is None and row.note == NOT_INSTALLED
            assert set(row.ratios.values()) == {None}
    compiled = [row for row in results.rows if row.system == COMPILED]
    assert all(row.ratios[COMPILED] == 1.0 for row in compiled)


@pytest.mark.parametrize("group", ["mlp", "chains", "cnn"])
def test_every_printed_ratio_is_positive_or_not_installed(results, text, group):
    table = table_after(text, f"{GROUPS[group]}:\n")
    rows = [row for row in results.rows if row.group == group]
    assert [cells[:2] for cells in table] == [[row.case, row.system] for row in rows]
    references = 2 if group == "chains" else 1  # chains: / compiled graph and / copy floor
    for cells in table:
        assert len(cells) == 3 + references
        for cell in cells[3:]:
            assert cell == NOT_INSTALLED or float(cell) > 0


def test_the_header_names_the_machine_and_every_peer(text, results):
    header = text.split("\n\n", 1)[0]
    assert f"{bench_eager.cpu_count()} cores" in header and "own process" in header
    assert f"Threads: {bench_graph.threads()} per system" in header
    assert "Load average at start and end" in header and len(results.load) == 2
    for system in PEERS:
        assert f"{system} {results.peers[system]}" in header


def test_the_chains_are_compared_with_the_copy_floor_and_say_they_are_not_fused(text):
    table = table_after(text, f"{GROUPS['chains']}:\n")
    floors = [cells for cells in table if cells[1] == FLOOR]
    assert floors and all(cells[4] == "1.00" for cells in floors)
    assert ("Not fused yet" in text) == (bench_graph._fusion_pass() is None)


def test_compile_time_cold_in_a_fresh_process_and_warm(results, text):
    times = results.compile
    assert times["processes"] == 1 and times["size"] == CASES_QUICK.mlp[0]
    assert times["cold_wall"] >= times["cold_compiled"] > 0
    assert times["warm_wall"] >= times["warm_compiled"] > 0 and times["first_run"] > 0
    assert times["disk_wall"] >= times["disk_compiled"] > 0
    # The second fresh process reads the step's numba functions from disk: far less work.
    assert times["disk_compiled"] < times["cold_compiled"]
    assert "cold: a fresh process, nothing of this graph on disk" in text
    assert "warm: a fresh process, its numba functions on disk" in text


def test_peak_memory_of_one_step_compiled_against_eager(results, text):
    labels = [label for label, _ in results.memory]
    assert labels == [f"MLP, batch {b}, hidden {h}" for b, h in CASES_QUICK.mlp] + [
        f"CNN, batch {CASES_QUICK.cnn_batch}"]
    for _, by_system in results.memory:
        assert by_system[EAGER]["measured"] > 0 and by_system[INTERPRETED]["measured"] > 0
        compiled = by_system[COMPILED]
        assert compiled["planned"] > 0
        assert compiled["measured"] > 0 or compiled["inside_numba"]  # numba's buffers
    table = table_after(text, f"{GROUPS['memory']}:\n")
    assert [cells[0] for cells in table] == labels
    assert table[0][3] == "not seen"  # the MLP step runs inside one numba function
    assert all(cells[1].endswith(("KiB", "MiB")) and float(cells[-1]) > 0 for cells in table)


def test_unknown_groups_are_refused_naming_the_callers_line():
    with pytest.raises(ArgumentError, match=r"unknown benchmark groups \['fusion'\]") as caught:
        bench_graph.run(quick=True, names=["mlp", "fusion"])
    assert caught.value.site.filename == __file__


def test_a_failing_process_is_reported_with_its_error():
    process = bench_graph._Process("eager", {"system": EAGER, "specs": [["nonesuch", 1]]})
    try:
        with pytest.raises(WorkerError, match=r"(?s)the eager process failed.*KeyError"):
            process.receive()
    finally:
        process.close()


def test_bench_cli_runs_the_graph_benchmark(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(bench_graph, "main", lambda **options: calls.append(options) or "T")
    assert cli.main(["bench", "graph", "--quick", "--names", "compile"]) == 0
    assert calls == [{"repeats": 15, "quick": True, "names": ["compile"]}]
    assert capsys.readouterr().out == "T\n"


@pytest.mark.parametrize("model_name", ["mlp", "cnn"])
def test_every_system_starts_from_the_same_weights(model_name):
    state = bench_graph.initial_state(model_name, hidden=16)
    options = {"hidden": 16} if model_name == "mlp" else {}
    eager_model = models_eager.build_model(model_name, **options)
    eager_model.load_state_dict(state)  # strict: every name and shape must match
    graph_model = models_graph.build_model(
        model_name, initial_values=weights_bridge.to_graph(state), **options)
    with graph_model.initialized_session() as session:
        values = graph_model.variable_values(session)
    for name, value in weights_bridge.to_graph(state).items():
        np.testing.assert_array_equal(values[name], value)


@pytest.mark.torch
@pytest.mark.parametrize("spec", [("mlp", 4, 8), ("cnn", 4), ("chain", "tanh and exp", 100)])
def test_the_pytorch_steps_run(spec):
    pytest.importorskip("torch")
    bench_graph.BUILDERS[bench_graph.TORCH][spec[0]](*spec[1:]).step()


@pytest.mark.tensorflow
def test_the_tf1_step_trains():
    pytest.importorskip("tensorflow")
    step = bench_graph.BUILDERS[bench_graph.TF1]["mlp"](16, 8).step
    first = step()[1]
    assert all(step()[1] < first for _ in range(3))


def test_the_pytensor_step_trains():
    pytest.importorskip("pytensor")
    step = bench_graph.BUILDERS[bench_graph.PYTENSOR]["mlp"](16, 8).step
    first = step()
    assert all(step() < first for _ in range(3))
