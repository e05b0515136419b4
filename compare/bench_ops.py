"""The op-layer benchmark: each kernel against NumPy on the same work, in one run.

`python -m compare ops` prints one row per (op, size): median time of ours and of the NumPy
reference, measured interleaved, and their ratio. Ours is called through the neutral functions
on NumPy arrays, so the time includes the shape-and-dtype rule and the allocator, as a user
pays it. Targets (issue 2): elementwise and reductions at 1e6 float32 within 1.1x of NumPy,
matmul within 1.1x (both BLAS); conv2d reported against PyTorch when installed, else against a
NumPy im2col reference.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.special

from compare.timing import compare, format_seconds, format_table
from framework.ops import F

SIZES = (1_000, 1_000_000)
TARGET_RATIO = 1.1


@dataclass
class Case:
    """One benchmark: `build(rng, size)` returns (ours, reference) zero-argument callables."""

    name: str
    build: Callable
    sizes: tuple = SIZES
    target: bool = True  # counted against the 1.1x target


def _unary(ours, reference, low=-3.0, high=3.0):
    def build(rng, n):
        x = rng.uniform(low, high, n).astype(np.float32)
        return (lambda: ours(x)), (lambda: reference(x))

    return build


def _binary(ours, reference):
    def build(rng, n):
        x = rng.uniform(-3, 3, n).astype(np.float32)
        y = rng.uniform(0.5, 3, n).astype(np.float32)
        return (lambda: ours(x, y)), (lambda: reference(x, y))

    return build


def _np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _np_gelu(x):
    return 0.5 * x * (1.0 + scipy.special.erf(x / np.sqrt(np.float32(2.0))))


def _np_logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def _matrix_rows(ours, reference, axis):
    def build(rng, n):
        side = int(round(n ** 0.5))
        x = rng.uniform(-1, 1, (side, side)).astype(np.float32)
        return (lambda: ours(x, axis)), (lambda: reference(x, axis))

    return build


def _matmul(rng, n):
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    return (lambda: F.matmul(a, b)), (lambda: np.matmul(a, b))


def _batched_matmul(rng, n):
    a = rng.standard_normal((64, n, n)).astype(np.float32)
    b = rng.standard_normal((64, n, n)).astype(np.float32)
    return (lambda: F.matmul(a, b)), (lambda: np.matmul(a, b))


def _np_softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _softmax(rng, n):
    x = rng.standard_normal((512, n)).astype(np.float32)
    return (lambda: F.softmax(x, axis=-1)), (lambda: _np_softmax(x))


def _cross_entropy(rng, n):
    logits = rng.standard_normal((512, n)).astype(np.float32)
    labels = rng.integers(0, n, 512)

    def reference():
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return -log_probs[np.arange(512), labels].mean()

    return (lambda: F.cross_entropy(logits, labels)), reference


def _gather(rng, n):
    table = rng.standard_normal((10_000, 64)).astype(np.float32)
    index = rng.integers(0, 10_000, n // 64)
    return (lambda: F.gather(table, index, 0)), (lambda: np.take(table, index, axis=0))


def _concat(rng, n):
    parts = [rng.standard_normal(n // 4).astype(np.float32) for _ in range(4)]
    return (lambda: F.concat(parts, 0)), (lambda: np.concatenate(parts))


def _transpose_copy(rng, n):
    side = int(round(n ** 0.5))
    x = rng.standard_normal((side, side)).astype(np.float32)
    return (lambda: F.reshape(F.transpose(x), (-1,))), (lambda: np.ascontiguousarray(x.T))


def _uniform(rng, n):
    numpy_rng = np.random.default_rng(0)
    return (lambda: F.uniform((n,), seed=7)), (lambda: numpy_rng.random(n, np.float32))


def _normal(rng, n):
    numpy_rng = np.random.default_rng(0)
    return (lambda: F.normal((n,), seed=7)), (lambda: numpy_rng.standard_normal(n, np.float32))


def _im2col_reference(x, w, padding):
    padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, w.shape[2:], axis=(2, 3))
    return np.einsum("nchwij,ocij->nohw", windows, w, optimize=True)


def _conv2d(rng, n):
    x = rng.standard_normal((64, 16, 32, 32)).astype(np.float32)
    w = rng.standard_normal((32, 16, 3, 3)).astype(np.float32)
    ours = lambda: F.conv2d(x, w, padding=1)  # noqa: E731
    try:
        import torch

        tx, tw = torch.from_numpy(x), torch.from_numpy(w)
        return ours, (lambda: torch.nn.functional.conv2d(tx, tw, padding=1)), "PyTorch"
    except ImportError:
        return ours, (lambda: _im2col_reference(x, w, 1)), "NumPy im2col"


CASES = [
    Case("add", _binary(F.add, np.add)),
    Case("sub", _binary(lambda x, y: F.sub(x, y), np.subtract)),
    Case("mul", _binary(F.mul, np.multiply)),
    Case("div", _binary(lambda x, y: F.div(x, y), np.divide)),
    Case("maximum", _binary(lambda x, y: F.maximum(x, y), np.maximum)),
    Case("gt", _binary(lambda x, y: F.gt(x, y), np.greater)),
    Case("mul scalar", _unary(lambda x: F.mul(x, 2.0), lambda x: np.multiply(x, np.float32(2)))),
    Case("neg", _unary(F.neg, np.negative)),
    Case("abs", _unary(lambda x: F.abs(x), np.abs)),
    Case("square", _unary(lambda x: F.square(x), np.square)),
    Case("exp", _unary(F.exp, np.exp)),
    Case("log", _unary(lambda x: F.log(x), np.log, 0.1, 10.0)),
    Case("sqrt", _unary(lambda x: F.sqrt(x), np.sqrt, 0.0, 10.0)),
    Case("tanh", _unary(lambda x: F.tanh(x), np.tanh)),
    Case("sigmoid", _unary(lambda x: F.sigmoid(x), _np_sigmoid)),
    Case("relu", _unary(lambda x: F.relu(x), lambda x: np.maximum(x, np.float32(0)))),
    Case("gelu", _unary(lambda x: F.gelu(x), _np_gelu)),
    Case("where", _binary(lambda x, y: F.where(F.gt(x, 0), x, y),
                          lambda x, y: np.where(x > 0, x, y))),
    Case("cast f32->f64", _unary(lambda x: F.cast(x, "float64"), lambda x: x.astype(np.float64))),
    Case("sum", _unary(F.sum, np.sum)),
    Case("mean", _unary(lambda x: F.mean(x), np.mean)),
    Case("max", _unary(lambda x: F.max(x), np.max)),
    Case("argmax", _unary(lambda x: F.argmax(x), np.argmax)),
    Case("prod", _unary(lambda x: F.prod(x), np.prod, 0.999, 1.001)),
    Case("var", _unary(lambda x: F.var(x), np.var)),
    Case("logsumexp", _unary(lambda x: F.logsumexp(x), _np_logsumexp)),
    Case("sum axis=-1", _matrix_rows(lambda x, a: F.sum(x, axis=a), np.sum, -1)),
    Case("sum axis=0", _matrix_rows(lambda x, a: F.sum(x, axis=a), np.sum, 0)),
    Case("max axis=-1", _matrix_rows(lambda x, a: F.max(x, axis=a), np.max, -1)),
    Case("matmul", _matmul, sizes=(512, 1024)),
    Case("batched matmul 64x", _batched_matmul, sizes=(128,), target=False),
    Case("softmax (512, n)", _softmax, sizes=(1000,), target=False),
    Case("cross_entropy (512, n)", _cross_entropy, sizes=(1000,), target=False),
    Case("gather rows", _gather, target=False),
    Case("concat", _concat, target=False),
    Case("transpose copy", _transpose_copy, target=False),
    Case("uniform", _uniform, target=False),
    Case("normal", _normal, target=False),
]


def run(repeats: int = 15, names: list[str] | None = None, quick: bool = False) -> list[list]:
    """Run the cases and return table rows; `quick` uses fewer repeats for demos and tests."""
    rng = np.random.default_rng(0)
    rows = []
    for case in CASES:
        if names and case.name not in names:
            continue
        for size in case.sizes:
            ours, reference = case.build(rng, size)
            try:
                result = compare(case.name, ours, reference, repeats=3 if quick else repeats)
            except AttributeError as missing:  # an op not written yet
                rows.append([case.name, f"{size:g}", "-", "-", "-", f"missing: {missing}"])
                continue
            meets = "" if not (case.target and size >= 1_000_000 or case.name == "matmul") \
                else ("yes" if result.ratio <= TARGET_RATIO else "NO")
            rows.append([case.name, f"{size:g}", format_seconds(result.ours_s),
                         format_seconds(result.reference_s), f"{result.ratio:.2f}", meets])
    if not names or "conv2d" in names:
        rows.append(_conv_row(rng, 3 if quick else repeats))
    return rows


def _conv_row(rng, repeats):
    ours, reference, against = _conv2d(rng, 0)
    try:
        result = compare("conv2d", ours, reference, repeats=repeats, min_time=0.05)
    except AttributeError as missing:
        return ["conv2d", "-", "-", "-", "-", f"missing: {missing}"]
    return [f"conv2d (64,16,32,32)*(32,16,3,3) vs {against}", "-",
            format_seconds(result.ours_s), format_seconds(result.reference_s),
            f"{result.ratio:.2f}", ""]


def main(repeats: int = 15, names: list[str] | None = None, quick: bool = False) -> str:
    rows = run(repeats, names, quick)
    machine = f"{platform.machine()}, {_cpu_count()} cores, Python {platform.python_version()}"
    header = (f"Op kernels vs NumPy {np.__version__} on {machine}: median of "
              f"{3 if quick else repeats} interleaved repeats; ratio = ours / reference, "
              f"target <= {TARGET_RATIO} at 1e6 elements and for matmul")
    table = format_table(["op", "size", "ours", "reference", "ratio", "<=1.1x"], rows)
    return f"{header}\n\n{table}"


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
