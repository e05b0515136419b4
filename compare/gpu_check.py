"""`python -m compare gpu-check`: one command for a short session on a lent GPU.

A GPU is lent for minutes at a time, so everything worth knowing about the CUDA half of the
kernel layer is asked in one run (within five minutes on an H100):

1. tests: the CUDA test files (the Makefile's CUDA_SIM_TESTS, which `make test` runs under
   numba's simulator) run for real, in a subprocess, summarized as passed / failed;
2. bandwidth: one elementwise op (x * y) and two 8-op fused chains (`bench_graph.chain`:
   arithmetic, and with tanh and exp, fused by the graph compiler into one kernel each) on
   1e8 float32 elements, in GB/s moved (bytes read + written), against a device-to-device
   copy of the same bytes measured in the same run;
3. matmul: float32 4096 x 4096 against cuBLAS through PyTorch (torch.cuda) or CuPy, whichever
   is installed, timed in a process of its own;
4. the digits-shaped MLP training step (64 -> 1024 -> 1024 -> 10, SGD) at batch 4096: eager
   on 'cuda' and the compiled graph under `tf.device("/gpu:0")`, against eager on the CPU;
5. kernel launches per step of that MLP, eager against the compiled graph.

Timings are medians over interleaved rounds (each round times every case once), each timed
call between two device synchronizations. It prints a table with the targets of the GPU issue
and whether each is met, and `--out PATH` writes the same as JSON.

Without a GPU it says so and exits with status 2. `--small` runs every part at tiny sizes
(one quick test, 64 elements, an 8 x 8 matmul, an MLP of batch 2): it checks the
code paths, under numba's simulator too (NUMBA_ENABLE_CUDASIM=1), and its numbers mean
nothing.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import median

import numpy as np

from compare.timing import format_seconds, format_table

__all__ = ["SIZES_FULL", "SIZES_SMALL", "Row", "Sizes", "cuda_test_files", "main", "run"]

ROOT = Path(__file__).resolve().parents[1]
NO_GPU = 2  # the exit status without a GPU


@dataclass(frozen=True)
class Sizes:
    elements: int  # of the elementwise op and the chains
    matmul: int  # n of the n x n x n matmul
    batch: int  # of the MLP step
    hidden: int
    tests_timeout_s: float
    peer_timeout_s: float


SIZES_FULL = Sizes(elements=10**8, matmul=4096, batch=4096, hidden=1024, tests_timeout_s=150,
                   peer_timeout_s=120)
SIZES_SMALL = Sizes(elements=64, matmul=8, batch=2, hidden=4, tests_timeout_s=300,
                    peer_timeout_s=120)

# The targets: at least this share of the copy bandwidth, of cuBLAS's speed, this
# speedup over our CPU step, and this many times fewer launches than eager.
TARGET_BANDWIDTH = 0.70
TARGET_MATMUL = 0.25
TARGET_SPEEDUP = 10.0
TARGET_FEWER_LAUNCHES = 2.0


@dataclass
class Row:
    """One line of the table: a measurement, its comparison, and the target it meets (met is
    None where there is no target or nothing to compare with)."""

    part: str
    case: str
    value: str
    compared: str = ""
    target: str = ""
    met: bool | None = None
    numbers: dict = field(default_factory=dict)


# -- the GPU and its clock ----------------------------------------------------------------------


def gpu_problem(small: bool) -> str | None:
    """Why this check cannot run here, or None. The simulator counts only with --small."""
    from framework import device
    from framework.errors import DeviceError

    try:
        device.require_cuda()
    except DeviceError as error:
        return f"no GPU here: {error.problem}"
    if device._simulated() and not small:
        return ("no GPU here: numba's CUDA simulator is on (NUMBA_ENABLE_CUDASIM=1), which runs "
                "kernels as Python, so there is nothing to measure; run it on a machine with "
                "an NVIDIA GPU, or add --small to check the code paths")
    return None


def gpu_name() -> str:
    from numba import cuda

    from framework import device

    if device._simulated():
        return "numba's CUDA simulator"
    name = cuda.get_current_device().name
    return name.decode() if isinstance(name, bytes) else str(name)


def synchronize() -> None:
    from numba import cuda

    cuda.synchronize()


def time_on_gpu(function, min_time: float = 2e-3) -> float:
    """Seconds per call of `function`, timed from a synchronized device to a synchronized
    device, looping enough calls to make the launch of the first and the clock negligible."""
    calls = 1
    while True:
        synchronize()
        start = time.perf_counter()
        for _ in range(calls):
            function()
        synchronize()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time or calls >= 1 << 16:
            return elapsed / calls
        calls *= max(2, int(min_time / max(elapsed, 1e-9) * 1.5))


def interleaved(cases: dict, repeats: int, min_time: float = 2e-3) -> dict:
    """{name: median seconds per call}: every case warmed up, then timed once per round."""
    for function in cases.values():
        function()
    times: dict = {name: [] for name in cases}
    for _ in range(repeats):
        for name, function in cases.items():
            times[name].append(time_on_gpu(function, min_time))
    return {name: median(values) for name, values in times.items()}


# -- 1. the CUDA tests, for real -----------------------------------------------------------------

DEFAULT_CUDA_TESTS = ["tests/framework/test_cuda.py", "tests/framework/test_cuda_nn.py",
                      "tests/eager/test_cuda_eager.py", "tests/graph/test_fusion_cuda.py"]


def cuda_test_files(root: Path = ROOT) -> list[str]:
    """The CUDA test files: the Makefile's CUDA_SIM_TESTS (those `make test` runs under the
    simulator), so a file added there is checked here too.

    >>> "tests/eager/test_cuda_eager.py" in cuda_test_files()
    True
    """
    makefile = root / "Makefile"
    files = []
    if makefile.exists():
        for line in makefile.read_text().splitlines():
            found = re.match(r"CUDA_SIM_TESTS\s*[:+]?=\s*(.*)", line)
            if found:
                files += found.group(1).split()
    # This check's own test runs the check (at --small sizes): not a test of the kernels.
    return [f for f in files or DEFAULT_CUDA_TESTS
            if (root / f).exists() and not f.endswith("test_gpu_check.py")]


# The tests that compile kernels to PTX without running them need no GPU (`make test` runs
# them wherever NVVM is installed) and take minutes: left out here.
NO_COMPILE_CHECKS = "not ptx and not compile_for_a_gpu and not compiling_for_the_gpu"


def run_tests(small: bool, timeout: float) -> tuple[Row, dict]:
    """pytest on the CUDA test files in a subprocess: without the simulator (unless --small
    runs under it), the compile-only checks left out. --small runs one quick test only."""
    env = dict(os.environ)
    if small:
        selection = ["tests/graph/test_fusion_cuda.py", "-k", "arithmetic and float32"]
    else:
        env.pop("NUMBA_ENABLE_CUDASIM", None)
        selection = [*cuda_test_files(), "-k", NO_COMPILE_CHECKS]
        if importlib.util.find_spec("xdist") is not None:  # kernels compile on several cores
            selection += ["-n", str(min(8, max(2, (os.cpu_count() or 2) // 2)))]
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *selection]
    start = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=timeout)
        output, status = done.stdout + done.stderr, done.returncode
    except subprocess.TimeoutExpired as expired:
        output = expired.stdout or ""
        output = output.decode(errors="replace") if isinstance(output, bytes) else output
        status = None
    seconds = time.perf_counter() - start
    totals = [line for line in output.splitlines()
              if re.search(r"\d+ (passed|failed|skipped|errors?)\b", line)]
    counts = {kind: int(number) for number, kind in re.findall(
        r"(\d+) (passed|failed|skipped|errors?|deselected|xfailed|xpassed)",
        totals[-1] if totals else "")}
    failures = [line for line in output.splitlines() if line.startswith(("FAILED", "ERROR"))]
    summary = {"command": " ".join(command[1:]), "exit_status": status, "seconds": seconds,
               "counts": counts, "failures": failures[:20]}
    if status is None:
        value = f"timed out after {timeout:.0f} s"
        met = False
    else:
        value = ", ".join(f"{n} {kind}" for kind, n in counts.items()) or "nothing ran"
        met = status == 0 and counts.get("passed", 0) > 0
    files = sum(1 for argument in selection if argument.endswith(".py"))
    return Row("tests", f"{files} CUDA test file{'s' if files != 1 else ''} for real"
               + (" (--small: one test)" if small else ""), value, f"{seconds:.0f} s",
               "all pass", met, summary), summary


# -- 2. bandwidth: one op, two fused chains, a copy ----------------------------------------------


def fused_chain(kind: str, elements: int):
    """The graph compiler's fused kernel of `bench_graph.chain(kind)` on `elements` float32
    values, and the values of its inputs in order (x for the placeholder, the constants')."""
    import graph as tf
    from compare.bench_graph import chain
    from graph.compile.fusion import FusedElementwise
    from graph.ops import Const

    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (elements,), name="x")
        y = chain(kind, x, tf.tanh, tf.exp)
        with tf.Session() as session:
            compiled = session.compile(y, {x: np.zeros(elements, np.float32)})
    groups = [node for node in compiled.program.nodes
              if isinstance(node.primitive, FusedElementwise)]
    if len(groups) != 1 or len(groups[0].primitive.members) != 8:
        raise RuntimeError(f"the {kind} chain did not fuse into one 8-op kernel: "
                           f"{[node.primitive for node in groups]}")
    node = groups[0]
    inputs = []
    for producer, _ in node.inputs:
        if producer.feed is not None:
            inputs.append(None)  # the chain's input
        elif isinstance(producer.kind, Const):
            inputs.append(np.asarray(producer.attrs["value"], np.float32))
        else:
            raise RuntimeError(f"unexpected input {producer} of the fused {kind} chain")
    return node.primitive, inputs


def _kernel_into(group, operands, out):
    """The group's kernel launched into an existing `out`: what a kernel costs without the
    allocation of its output (the flat layout `run_map` picks for these operands)."""
    from framework.kernels import cuda

    layout = tuple("s" if a.size == 1 else "f" for a in operands)
    kernel = cuda.map_kernel(group.body, layout, 1, len(group.params), "fused")
    blocks, threads = cuda.launch_config(out.size)
    params = tuple(group.params)
    flat = [a.reshape(a.size) for a in operands]

    def launch():
        kernel[blocks, threads](*flat, out, *params)

    return launch


def run_bandwidth(sizes: Sizes, repeats: int) -> list[Row]:
    from framework import device
    from framework.ops.registry import execute, primitive

    n = sizes.elements
    gpu = device.as_device("cuda")
    rng = np.random.default_rng(0)
    x = device.to_device(rng.uniform(-1, 1, n).astype(np.float32), gpu)
    y = device.to_device(rng.uniform(-1, 1, n).astype(np.float32), gpu)
    target = device.empty((n,), np.float32, gpu)
    mul = primitive("mul")
    cases = {"copy": lambda: target.copy_to_device(x),
             "mul": lambda: execute(mul, x, y)}
    moved = {"copy": 2 * 4 * n, "mul": 3 * 4 * n}
    for kind in ("arithmetic", "tanh and exp"):
        group, inputs = fused_chain(kind, n)
        operands = [x if value is None else device.to_device(value.reshape(1), gpu)
                    for value in inputs]
        full = [x if value is None else device.to_device(value, gpu) for value in inputs]
        cases[kind] = (lambda g=group, a=full: g.cuda(*a))
        cases[f"{kind} (kernel)"] = _kernel_into(group, operands, target)
        moved[kind] = moved[f"{kind} (kernel)"] = 2 * 4 * n  # x read once, one output written
    seconds = interleaved(cases, repeats)
    copy_rate = moved["copy"] / seconds["copy"]
    rows = [Row("bandwidth", f"device-to-device copy, {_count(n)} float32",
                f"{copy_rate / 1e9:.0f} GB/s", format_seconds(seconds["copy"]),
                numbers={"seconds": seconds["copy"], "bytes": moved["copy"]})]
    labels = {"mul": "x * y (one op)", "arithmetic": "8-op fused chain, arithmetic",
              "tanh and exp": "8-op fused chain, tanh and exp",
              "arithmetic (kernel)": "  its kernel alone (output made once)",
              "tanh and exp (kernel)": "  its kernel alone (output made once)"}
    for name in ("mul", "arithmetic", "arithmetic (kernel)", "tanh and exp",
                 "tanh and exp (kernel)"):
        rate = moved[name] / seconds[name]
        share = rate / copy_rate
        targeted = "kernel" not in name
        rows.append(Row("bandwidth", labels[name], f"{rate / 1e9:.0f} GB/s",
                        f"{share:.0%} of copy ({format_seconds(seconds[name])})",
                        f">= {TARGET_BANDWIDTH:.0%} of copy" if targeted else "",
                        share >= TARGET_BANDWIDTH if targeted else None,
                        {"seconds": seconds[name], "bytes": moved[name], "of_copy": share}))
    return rows


# -- 3. matmul against cuBLAS --------------------------------------------------------------------

_PEER_MATMUL = """
import json, sys, time, statistics
n, repeats = int(sys.argv[1]), int(sys.argv[2])
try:
    import torch
    if not torch.cuda.is_available():
        raise ImportError("torch without CUDA")
    torch.backends.cuda.matmul.allow_tf32 = False  # float32 arithmetic, as ours
    a = torch.rand(n, n, device="cuda", dtype=torch.float32)
    b = torch.rand(n, n, device="cuda", dtype=torch.float32)
    multiply, sync, peer = (lambda: a @ b), torch.cuda.synchronize, "PyTorch " + torch.__version__
except ImportError:
    try:
        import cupy
    except ImportError:
        print(json.dumps({"peer": None}))
        sys.exit(0)
    a = cupy.random.rand(n, n, dtype=cupy.float32)
    b = cupy.random.rand(n, n, dtype=cupy.float32)
    multiply = lambda: a @ b
    sync = cupy.cuda.runtime.deviceSynchronize
    peer = "CuPy " + cupy.__version__
def per_call():
    calls = 1
    while True:
        sync(); start = time.perf_counter()
        for _ in range(calls):
            multiply()
        sync(); elapsed = time.perf_counter() - start
        if elapsed >= 2e-3 or calls >= 1 << 16:
            return elapsed / calls
        calls *= 2
multiply(); sync()
print(json.dumps({"peer": peer,
                  "seconds": statistics.median(per_call() for _ in range(repeats))}))
"""


def run_matmul(sizes: Sizes, repeats: int, small: bool) -> list[Row]:
    from framework import device
    from framework.ops.registry import execute, primitive

    n = sizes.matmul
    rng = np.random.default_rng(1)
    a, b = (device.to_device(rng.random((n, n), dtype=np.float32), "cuda") for _ in range(2))
    matmul = primitive("matmul")
    ours = interleaved({"ours": lambda: execute(matmul, a, b)}, repeats)["ours"]
    flops = 2.0 * n**3
    rows = [Row("matmul", f"ours, float32 {n}", f"{flops / ours / 1e12:.2f} TFLOP/s",
                format_seconds(ours), numbers={"seconds": ours})]
    peer = {"peer": None}
    if not small:  # a peer on the simulator's "GPU" would be on a real one, or nowhere
        env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
        try:
            done = subprocess.run([sys.executable, "-c", _PEER_MATMUL, str(n), str(repeats)],
                                  capture_output=True, text=True, env=env,
                                  timeout=sizes.peer_timeout_s)
            lines = done.stdout.strip().splitlines()
            peer = (json.loads(lines[-1]) if done.returncode == 0 and lines
                    else {"peer": None, "error": done.stderr[-500:]})
        except subprocess.TimeoutExpired:
            peer = {"peer": None, "error": f"timed out after {sizes.peer_timeout_s:.0f} s"}
    if peer.get("peer") is None:
        why = peer.get("error") or ("skipped with --small" if small
                                    else "neither PyTorch with CUDA nor CuPy is installed")
        rows.append(Row("matmul", "cuBLAS (PyTorch or CuPy)", "not measured", why,
                        f">= {TARGET_MATMUL:.0%} of cuBLAS", None, peer))
        return rows
    share = peer["seconds"] / ours  # ours as a share of cuBLAS's speed
    rows.append(Row("matmul", f"cuBLAS via {peer['peer']}",
                    f"{flops / peer['seconds'] / 1e12:.2f} TFLOP/s",
                    f"ours is {share:.0%} of it", f">= {TARGET_MATMUL:.0%} of cuBLAS",
                    share >= TARGET_MATMUL, {**peer, "ours_share": share}))
    return rows


# -- 4, 5. the MLP training step: eager on the GPU, the compiled graph there, eager on the CPU --


def eager_step(where: str, batch: int, hidden: int):
    """One SGD step of the digits MLP (`bench_graph`'s weights and batch) in eager, on
    `where`."""
    from compare.bench_graph import eager_training_step

    return eager_training_step("mlp", batch, hidden, device=where)[0]


def graph_step_on_gpu(batch: int, hidden: int):
    """(one compiled SGD step of the graph MLP placed with `tf.device("/gpu:0")`, its
    `Compiled`): the variables stay on the GPU, the batch is fed from the host each step."""
    from compare.bench_graph import _graph_training_run

    session, fetches, feed = _graph_training_run("mlp", batch, hidden, True, device="/gpu:0")
    compiled = session.compile(fetches, feed)
    return (lambda: session.run(fetches, feed)), compiled


def launches_of(step) -> int | None:
    """Kernel launches of one call of `step` (None without `counting_launches`)."""
    from framework.kernels import cuda

    counting = getattr(cuda, "counting_launches", None)
    if counting is None:
        return None
    with counting() as launches:
        step()
        synchronize()
    return launches.count


def run_mlp(sizes: Sizes, repeats: int) -> list[Row]:
    import graph as tf

    label = f"batch {sizes.batch}, hidden {sizes.hidden}"
    steps = {"eager, CPU": eager_step("cpu", sizes.batch, sizes.hidden),
             "eager, GPU": eager_step("cuda", sizes.batch, sizes.hidden)}
    compiled = None
    placement = getattr(tf, "device", None) is not None
    if placement:
        steps["compiled graph, GPU"], compiled = graph_step_on_gpu(sizes.batch, sizes.hidden)
    eager_launches = launches_of(steps["eager, GPU"])
    seconds = interleaved(steps, repeats)
    cpu = seconds["eager, CPU"]
    rows = [Row("MLP step", f"eager, CPU ({label})", format_seconds(cpu),
                numbers={"seconds": cpu})]
    for name in ("eager, GPU", "compiled graph, GPU"):
        if name not in seconds:
            rows.append(Row("MLP step", name, "not measured", "needs tf.device (graph "
                            "placement)", f">= {TARGET_SPEEDUP:.0f}x the CPU step", None))
            continue
        speedup = cpu / seconds[name]
        rows.append(Row("MLP step", name, format_seconds(seconds[name]),
                        f"{speedup:.1f}x the CPU step", f">= {TARGET_SPEEDUP:.0f}x the CPU step",
                        speedup >= TARGET_SPEEDUP, {"seconds": seconds[name],
                                                    "speedup": speedup}))
    graph_launches = getattr(compiled, "launches", None)
    counts = {"eager": eager_launches, "compiled": graph_launches}
    if eager_launches is None or graph_launches is None:
        rows.append(Row("launches", "per MLP step, eager vs compiled graph",
                        f"eager {eager_launches}, compiled {graph_launches}",
                        "needs counting_launches and Compiled.launches",
                        f">= {TARGET_FEWER_LAUNCHES:.0f}x fewer, and faster", None, counts))
        return rows
    fewer = eager_launches / max(graph_launches, 1)
    faster = seconds["compiled graph, GPU"] < seconds["eager, GPU"]
    rows.append(Row("launches", "per MLP step, eager vs compiled graph",
                    f"eager {eager_launches}, compiled {graph_launches}",
                    f"{fewer:.1f}x fewer; compiled {'faster' if faster else 'slower'}",
                    f">= {TARGET_FEWER_LAUNCHES:.0f}x fewer, and faster",
                    fewer >= TARGET_FEWER_LAUNCHES and faster, {**counts, "fewer": fewer}))
    return rows


def _count(elements: int) -> str:
    exponent = round(np.log10(elements))
    return f"1e{exponent}" if 10**exponent == elements else f"{elements:,}"


# -- the whole check -----------------------------------------------------------------------------


@contextlib.contextmanager
def _part(name: str, rows: list, errors: dict):
    """Run one part; an error is recorded as its row and the other parts still run."""
    start = time.perf_counter()
    print(f"gpu-check: {name} ...", file=sys.stderr, flush=True)
    try:
        yield
    except Exception as error:  # noqa: BLE001  (any failure of a part is reported, not fatal)
        errors[name] = traceback.format_exc()
        rows.append(Row(name, "failed", f"{type(error).__name__}: {str(error)[:200]}", "",
                        "", False))
    print(f"gpu-check: {name} done in {time.perf_counter() - start:.0f} s", file=sys.stderr,
          flush=True)


def run(small: bool = False, repeats: int = 7, skip_tests: bool = False) -> dict:
    """Every part, in order; the result as a dict (what --out writes)."""
    from framework.kernels import cuda

    sizes = SIZES_SMALL if small else SIZES_FULL
    rows: list[Row] = []
    errors: dict = {}
    start = time.perf_counter()
    tests = None
    # The simulator runs a block's threads as Python threads: with Python's default switch
    # interval (5 ms), each barrier costs milliseconds.
    interval = sys.getswitchinterval()
    if cuda.SIMULATED:
        sys.setswitchinterval(1e-4)
    try:
        if not skip_tests:
            with _part("tests", rows, errors):
                row, tests = run_tests(small, sizes.tests_timeout_s)
                rows.append(row)
        with _part("bandwidth", rows, errors):
            rows += run_bandwidth(sizes, repeats)
        with _part("matmul", rows, errors):
            rows += run_matmul(sizes, repeats, small)
        with _part("MLP step", rows, errors):
            rows += run_mlp(sizes, repeats)
    finally:
        sys.setswitchinterval(interval)
    return {"device": gpu_name(), "simulated": cuda.SIMULATED, "small": small,
            "repeats": repeats, "sizes": asdict(sizes), "seconds": time.perf_counter() - start,
            "tests": tests, "rows": [asdict(row) for row in rows], "errors": errors}


def table(result: dict) -> str:
    """The result as text: one line per row, met / MISSED against each target."""
    verdict = {True: "met", False: "MISSED", None: ""}
    lines = [f"GPU check on {result['device']}"
             + (" (--small: tiny sizes, the numbers mean nothing)" if result["small"] else "")
             + f", {result['seconds']:.0f} s"]
    rows = [[r["part"], r["case"], r["value"], r["compared"], r["target"], verdict[r["met"]]]
            for r in result["rows"]]
    lines.append(format_table(["part", "case", "value", "compared", "target", ""], rows))
    tests = result.get("tests")
    if tests and tests["failures"]:
        lines.append("failed tests:\n  " + "\n  ".join(tests["failures"]))
    for name, text in result["errors"].items():
        lines.append(f"{name} failed:\n{text}")
    return "\n".join(lines)


def main(small: bool = False, out: Path | None = None, repeats: int = 7,
         skip_tests: bool = False) -> int:
    """Print the check's table (and write its JSON to `out`); the exit status: 2 without a
    GPU, 1 where a test or a part failed, else 0 (a missed target is a result, not a
    failure)."""
    problem = gpu_problem(small)
    if problem is not None:
        print(f"gpu-check: {problem}", file=sys.stderr)
        if out is not None:
            _write(out, {"device": None, "error": problem})
        return NO_GPU
    result = run(small=small, repeats=repeats, skip_tests=skip_tests)
    print(table(result))
    if out is not None:
        _write(out, result)
        print(f"written: {out}")
    failed = result["errors"] or (result["tests"] is not None and not next(
        r["met"] for r in result["rows"] if r["part"] == "tests"))
    return 1 if failed else 0


def _write(path: Path, result: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
