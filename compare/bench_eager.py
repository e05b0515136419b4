"""The eager front-end's overhead: tiny ops and whole training steps, against PyTorch.

`python -m compare bench eager` prints two groups of rows:

- per-op cost on 10-element float32 tensors that require grad (`x * y`, `x + y`, `x.exp()`,
  `x.sum()`, a 4x4 matmul): at this size the arithmetic is free, so the time is the price of
  the Python path every op takes (argument handling, the shape rule, the kernel call, the
  output Tensor, the tape Node). One row runs under `no_grad` to show what recording adds, and
  one runs forward and backward of a small chain.
- one MLP training step (forward, cross-entropy, backward, SGD step) on digits-sized data:
  batch 32 with two hidden layers of 64 (overhead-bound, like the demo's training), and batch
  512 with two hidden layers of 1024 (bound by the matrix products).

Both front-ends get the same data and the same initial weights, and are timed interleaved
(`compare.timing`); the ratio is ours / PyTorch. PyTorch is optional: without it the table has
our times alone.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from dataclasses import dataclass
from statistics import median

import numpy as np

import eager
from compare.models_eager import MLP, build_model
from compare.timing import compare, format_seconds, format_table, time_call
from eager import nn, optim
from framework.datasets import load_digits
from framework.errors import ArgumentError

__all__ = ["OP_CASES", "STEP_CASES", "Row", "load_torch", "main", "run", "torch_twin"]

OP_SIZE = 10
MATMUL_SIDE = 4
SGD_LR = 0.01
WARM_UP_CALLS = 3


def load_torch():
    """The `torch` module, or None where PyTorch is not installed.

    >>> torch = load_torch()
    >>> torch is None or hasattr(torch, "from_numpy")
    True
    """
    try:
        import torch
    except ImportError:
        return None
    return torch


def cpu_count() -> int:
    """The cores this process may run on.

    >>> cpu_count() >= 1
    True
    """
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def machine() -> str:
    """The CPU model, core count and Python version, for the table's header.

    >>> "cores, Python" in machine()
    True
    """
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {cpu_count()} cores, Python {platform.python_version()}"


# -- the cases: each builds (ours, reference or None) zero-argument callables ------------------


def _op_operands(rng, torch):
    """x, y of OP_SIZE elements and a, b of MATMUL_SIDE^2, all requiring grad, both ways."""
    arrays = {"x": rng.standard_normal(OP_SIZE), "y": rng.standard_normal(OP_SIZE),
              "a": rng.standard_normal((MATMUL_SIDE, MATMUL_SIDE)),
              "b": rng.standard_normal((MATMUL_SIDE, MATMUL_SIDE))}
    arrays = {name: value.astype(np.float32) for name, value in arrays.items()}
    ours = {name: eager.tensor(value, requires_grad=True) for name, value in arrays.items()}
    theirs = None
    if torch is not None:
        theirs = {name: torch.tensor(value, requires_grad=True) for name, value in arrays.items()}
    return ours, theirs


def _op_case(expression: Callable, grad: bool = True):
    """A case running `expression(tensors)` once per call, with or without recording."""

    def build(rng, torch):
        ours, theirs = _op_operands(rng, torch)

        def run_ours():
            if grad:
                return expression(ours)
            with eager.no_grad():
                return expression(ours)

        def run_theirs():
            if grad:
                return expression(theirs)
            with torch.no_grad():
                return expression(theirs)

        return run_ours, (run_theirs if torch is not None else None)

    return build


def _chain(t):
    return (t["x"] * t["y"] + t["x"]).exp().sum()


def _chain_backward(rng, torch):
    ours, theirs = _op_operands(rng, torch)

    def step(tensors):
        tensors["x"].grad = tensors["y"].grad = None  # as zero_grad(set_to_none=True)
        _chain(tensors).backward()

    return (lambda: step(ours)), ((lambda: step(theirs)) if torch is not None else None)


OP_CASES = {
    "x * y": _op_case(lambda t: t["x"] * t["y"]),
    "x * y (no_grad)": _op_case(lambda t: t["x"] * t["y"], grad=False),
    "x + y": _op_case(lambda t: t["x"] + t["y"]),
    "x.exp()": _op_case(lambda t: t["x"].exp()),
    "x.sum()": _op_case(lambda t: t["x"].sum()),
    f"a @ b ({MATMUL_SIDE}x{MATMUL_SIDE})": _op_case(lambda t: t["a"] @ t["b"]),
    "(x * y + x).exp().sum() fwd+bwd": _chain_backward,
}


def torch_twin(torch, model: MLP):
    """The same MLP in PyTorch (a Sequential), holding copies of our initial weights.

    >>> torch = load_torch()
    >>> torch is None or len(torch_twin(torch, build_model("mlp", hidden=8))) == 5
    True
    """
    linears = [layer for layer in model.layers if isinstance(layer, nn.Linear)]
    layers = []
    for position, layer in enumerate(linears):
        twin = torch.nn.Linear(layer.in_features, layer.out_features)
        with torch.no_grad():
            twin.weight.copy_(torch.from_numpy(layer.weight.detach().numpy()))
            twin.bias.copy_(torch.from_numpy(layer.bias.detach().numpy()))
        layers.append(twin)
        if position < len(linears) - 1:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def _mlp_step(batch: int, hidden: int):
    """One SGD training step of the 64 -> hidden -> hidden -> 10 MLP on `batch` digits."""

    def build(rng, torch):
        x, y = load_digits(flat=True, split="train")
        x, y = np.ascontiguousarray(x[:batch]), np.ascontiguousarray(y[:batch])
        model = build_model("mlp", seed=0, hidden=hidden)
        twin = torch_twin(torch, model) if torch is not None else None
        images, labels = eager.from_numpy(x), eager.from_numpy(y)
        loss_function, optimizer = nn.CrossEntropyLoss(), optim.SGD(model.parameters(), SGD_LR)

        def ours():
            optimizer.zero_grad()
            loss_function(model(images), labels).backward()
            optimizer.step()

        if torch is None:
            return ours, None
        torch_images, torch_labels = torch.from_numpy(x), torch.from_numpy(y)
        torch_loss = torch.nn.CrossEntropyLoss()
        torch_optimizer = torch.optim.SGD(twin.parameters(), lr=SGD_LR)

        def theirs():
            torch_optimizer.zero_grad()
            torch_loss(twin(torch_images), torch_labels).backward()
            torch_optimizer.step()

        return ours, theirs

    return build


STEP_CASES = {
    "MLP step, batch 32, hidden 64": _mlp_step(32, 64),
    "MLP step, batch 512, hidden 1024": _mlp_step(512, 1024),
}


# -- running ----------------------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table: median seconds per call, ours and PyTorch's (None without it).

    >>> Row("x * y", 2e-5, 5e-6).ratio, Row("x * y", 2e-5, None).ratio
    (4.0, None)
    """

    label: str
    ours_s: float
    reference_s: float | None

    @property
    def ratio(self) -> float | None:
        return None if self.reference_s is None else self.ours_s / self.reference_s


def _measure(label: str, ours: Callable, reference: Callable | None, repeats: int,
             min_time: float) -> Row:
    if reference is not None:
        result = compare(label, ours, reference, repeats=repeats, min_time=min_time)
        return Row(label, result.ours_s, result.reference_s)
    ours()  # warm up: compile, fill caches
    return Row(label, median(time_call(ours, min_time) for _ in range(repeats)), None)


def run(repeats: int = 15, quick: bool = False, torch=None,
        names: list[str] | None = None) -> list[Row]:
    """Time the cases (all, or those named) against `torch` (the module, see `load_torch`), or
    ours alone for None. `quick` takes two short repeats: a smoke run, rough numbers.

    >>> [(row.label, row.reference_s) for row in run(quick=True, names=["x * y"])]
    [('x * y', None)]
    """
    cases = {**OP_CASES, **STEP_CASES}
    unknown = sorted(set(names or ()) - set(cases))
    if unknown:
        raise ArgumentError(f"unknown benchmark cases {unknown}; choose from {list(cases)}")
    if quick:
        repeats = 2
    rng = np.random.default_rng(0)
    built = {label: build(rng, torch) for label, build in cases.items()
             if not names or label in names}
    # Warm every case up before timing any: otherwise the first rows also pay for the
    # process's first steps (compiling, thread pools starting, caches filling).
    for functions in built.values():
        for function in functions:
            for _ in range(WARM_UP_CALLS if function is not None else 0):
                function()
    rows = []
    for label, (ours, reference) in built.items():
        min_time = 2e-2 if label in STEP_CASES else 2e-3  # a step takes milliseconds
        rows.append(_measure(label, ours, reference, repeats,
                             min_time / 10 if quick else min_time))
    return rows


def _table(rows: list[Row]) -> str:
    body = [[row.label, format_seconds(row.ours_s),
             "-" if row.reference_s is None else format_seconds(row.reference_s),
             "-" if row.ratio is None else f"{row.ratio:.1f}"] for row in rows]
    return format_table(["case", "ours", "PyTorch", "ours / PyTorch"], body)


def main(repeats: int = 15, quick: bool = False, use_torch: bool = True,
         names: list[str] | None = None) -> str:
    """The benchmark's report: a header naming the machine and the table."""
    torch = load_torch() if use_torch else None
    threads = cpu_count()
    if torch is not None:
        torch.set_num_threads(threads)  # the same cores our BLAS and numba kernels may use
        against = f"PyTorch {torch.__version__} ({threads} threads)"
    else:
        against = "no PyTorch installed: our times alone"
    rows = run(repeats, quick, torch, names)
    header = (f"Eager overhead vs {against} on {machine()}: median of "
              f"{2 if quick else repeats} interleaved repeats; ratio = ours / PyTorch "
              f"(above 1 means we are slower). OpenMP spin count (GOMP_SPINCOUNT): "
              f"{os.environ.get('GOMP_SPINCOUNT', 'libgomp default')}, which PyTorch's "
              f"OpenMP threads read too")
    return f"{header}\n\n{_table(rows)}"
