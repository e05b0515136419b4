"""The eager benchmark: a quick run gives the table's rows, with or without PyTorch, and the
PyTorch twin of the MLP starts from our weights (so the two sides time the same work).
No timing is asserted: this machine is shared and noisy."""

from __future__ import annotations

import numpy as np
import pytest

import eager
from compare import __main__ as cli
from compare import bench_eager
from compare.bench_eager import OP_CASES, STEP_CASES, torch_twin
from compare.models_eager import build_model
from framework.errors import ArgumentError

LABELS = [*OP_CASES, *STEP_CASES]


def test_the_cases_cover_the_ops_and_both_mlp_steps():
    assert {"x * y", "x + y", "x.exp()", "x.sum()", "a @ b (4x4)"} <= set(OP_CASES)
    assert any("fwd+bwd" in label for label in OP_CASES)
    assert list(STEP_CASES) == ["MLP step, batch 32, hidden 64",
                                "MLP step, batch 512, hidden 1024"]


def test_quick_run_without_pytorch_times_ours_alone():
    rows = bench_eager.run(quick=True, torch=None, names=["x.exp()", LABELS[-2]])
    assert [row.label for row in rows] == ["x.exp()", LABELS[-2]]
    assert all(row.ours_s > 0 and row.reference_s is None and row.ratio is None for row in rows)


def test_unknown_case_names_are_refused_before_timing():
    with pytest.raises(ArgumentError, match=r"unknown benchmark cases \['x \^ y'\]"):
        bench_eager.run(quick=True, names=["x ^ y", "x * y"])


def test_report_without_pytorch_says_so_and_lists_every_row():
    text = bench_eager.main(quick=True, use_torch=False)  # every case: the whole table
    header, table = text.split("\n\n", 1)
    assert "no PyTorch installed" in header and "cores" in header
    lines = table.splitlines()
    assert lines[0].split() == ["case", "ours", "PyTorch", "ours", "/", "PyTorch"]
    assert [line[:len(label)] for line, label in zip(lines[2:], LABELS)] == LABELS
    assert len(lines) == 2 + len(LABELS)


def test_bench_cli_runs_the_eager_benchmark(monkeypatch, capsys):
    monkeypatch.setattr(bench_eager, "load_torch", lambda: None)
    assert cli.main(["bench", "eager", "--quick", "--names", "x + y", "x.sum()"]) == 0
    out = capsys.readouterr().out
    assert "Eager overhead" in out and "x + y" in out and "x.sum()" in out
    assert "x.exp()" not in out


def test_bench_cli_refuses_an_unknown_benchmark(capsys):
    with pytest.raises(SystemExit):
        cli.main(["bench", "nonesuch"])
    assert "unknown benchmark 'nonesuch'" in capsys.readouterr().err


@pytest.mark.torch
def test_quick_run_against_pytorch_gives_ratios():
    torch = pytest.importorskip("torch")
    rows = bench_eager.run(quick=True, torch=torch)
    assert [row.label for row in rows] == LABELS
    assert all(row.reference_s > 0 and row.ratio > 0 for row in rows)


@pytest.mark.torch
def test_the_pytorch_twin_starts_from_our_weights():
    torch = pytest.importorskip("torch")
    model = build_model("mlp", seed=0, hidden=16)
    twin = torch_twin(torch, model)
    x = np.random.default_rng(0).standard_normal((5, 64)).astype(np.float32)
    ours = model(eager.from_numpy(x)).detach().numpy()
    with torch.no_grad():
        theirs = twin(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
