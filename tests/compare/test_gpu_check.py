"""`python -m compare gpu-check`: its parts run end to end at --small sizes under numba's CUDA
simulator (`make test` runs this file again with NUMBA_ENABLE_CUDASIM=1), so the one command a
lent GPU runs has every code path checked before a GPU is there; without a GPU it says so and
exits with status 2.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from compare import gpu_check
from compare.__main__ import main as compare_main
from compare.bench_graph import chain
from framework import device
from tests.cuda_setup import CUDA_PROBLEM, needs_cuda, quick_thread_switches  # noqa: F401

SIMULATED = CUDA_PROBLEM is None and device._simulated()


@pytest.mark.skipif(CUDA_PROBLEM is None and not SIMULATED,
                    reason="a real GPU is here: the check would run in full")
def test_without_a_gpu_the_check_says_so_and_exits_with_status_2(tmp_path, capsys):
    out = tmp_path / "check.json"
    assert compare_main(["gpu-check", "--out", str(out)]) == gpu_check.NO_GPU
    error = capsys.readouterr().err
    assert "gpu-check: no GPU here" in error
    assert ("NUMBA_ENABLE_CUDASIM" in error) if SIMULATED else True
    assert json.loads(out.read_text())["device"] is None


@pytest.mark.parametrize("kind", ["arithmetic", "tanh and exp"])
def test_the_timed_chains_are_one_fused_kernel_of_eight_ops(kind):
    group, inputs = gpu_check.fused_chain(kind, 50)
    assert len(group.members) == 8 and inputs.count(None) == 1
    x = np.linspace(-1, 1, 50, dtype=np.float32)
    got = group(*[x if value is None else value for value in inputs])
    np.testing.assert_allclose(got, chain(kind, x, np.tanh, np.exp), rtol=1e-5)


def test_the_cuda_test_files_are_the_makefiles():
    files = gpu_check.cuda_test_files()
    assert {"tests/framework/test_cuda.py", "tests/eager/test_cuda_eager.py",
            "tests/graph/test_fusion_cuda.py"} <= set(files)
    assert not any(f.endswith("test_gpu_check.py") for f in files)


@pytest.mark.skipif(not SIMULATED, reason="runs under NUMBA_ENABLE_CUDASIM=1 (make test)")
def test_the_small_check_runs_every_part_under_the_simulator(tmp_path, capsys):
    out = tmp_path / "check.json"
    status = compare_main(["gpu-check", "--small", "--repeats", "1", "--out", str(out)])
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    assert result["errors"] == {} and status == 0, result["errors"]
    assert result["small"] and result["simulated"] and result["device"] in printed
    rows = {(row["part"], row["case"]): row for row in result["rows"]}
    parts = [row["part"] for row in result["rows"]]
    assert parts[0] == "tests" and result["tests"]["counts"]["passed"] == 1
    # Bandwidth: the copy, one op and both chains, each timed and set against the copy.
    bandwidth = [row for row in result["rows"] if row["part"] == "bandwidth"]
    assert len(bandwidth) == 6 and all(row["numbers"]["seconds"] > 0 for row in bandwidth)
    assert sum(row["met"] is not None for row in bandwidth) == 3  # the targeted ones
    assert ("matmul", "ours, float32 8") in rows
    assert rows[("matmul", "cuBLAS (PyTorch or CuPy)")]["compared"] == "skipped with --small"
    steps = {row["case"]: row for row in result["rows"] if row["part"] == "MLP step"}
    assert steps["eager, GPU"]["numbers"]["speedup"] > 0
    launches = next(row for row in result["rows"] if row["part"] == "launches")
    if launches["numbers"].get("eager") is not None and launches["numbers"].get("compiled"):
        assert launches["numbers"]["eager"] > 0 and launches["met"] is not None
    for row in result["rows"]:
        assert row["case"] in printed
