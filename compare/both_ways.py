"""`python -m compare both-ways`: one model trained eagerly and as a graph, side by side.

Both runs start from the same seed, so from the same initial weights, see the same batches in
the same order, and follow the same recipe (`train_eager.RECIPES`); both run the same kernels
and gradient rules. The table shows what differs (when the graph exists, how long a step takes,
how much memory a step holds) next to what does not (the losses and the accuracy).
"""

from __future__ import annotations

import textwrap
from dataclasses import asdict

import numpy as np

from compare import train_eager, train_graph
from compare.timing import format_seconds, format_table

__all__ = ["format_comparison", "main", "max_relative_difference", "run"]


def run(model_name: str = "mlp", epochs: int | None = None, seed: int = 0,
        progress: bool = True, **recipe_overrides):
    """(eager result, graph result): `model_name` trained both ways from `seed`.

    Arguments left as None take the model's recipe; `recipe_overrides` are the other
    arguments of `train_eager.train` (batch_size, lr, optimizer, ...).

    >>> eager_run, graph_run = run("mlp", epochs=1, batch_size=256, progress=False)
    >>> eager_run.steps == graph_run.steps == 6
    True
    >>> graph_run.session.close()
    """
    eager_result = train_eager.train(model_name, epochs, seed=seed, progress=progress,
                                     **recipe_overrides)
    graph_result = train_graph.train(model_name, epochs, seed=seed, progress=progress,
                                     **recipe_overrides)
    return eager_result, graph_result


def max_relative_difference(a, b) -> float:
    """The largest |a - b| / |a| over two equally long sequences of losses.

    >>> max_relative_difference([2.0, 4.0], [2.0, 5.0])
    0.25
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape:
        raise ValueError(f"the runs took different numbers of steps: {a.size} and {b.size}")
    return float(np.max(np.abs(a - b) / np.abs(a))) if a.size else 0.0


def _mebibytes(count: int) -> str:
    return f"{count / 2**20:.2f} MiB"


def _paragraph(text: str, first: str = "", rest: str = "") -> str:
    return textwrap.fill(text, 100, initial_indent=first, subsequent_indent=rest)


def _formula_differences(recipe) -> list[str]:
    """Where the recipe uses a formula that TensorFlow 1 and PyTorch write differently."""
    reasons = []
    if recipe.label_smoothing:
        reasons.append("label smoothing: TensorFlow 1 smooths the one-hot targets, PyTorch mixes "
                       "two losses; the same value, rounded differently (a few 1e-7).")
    if recipe.optimizer == "adam":
        reasons.append("Adam: TensorFlow 1 adds epsilon to sqrt(v) before the bias correction, "
                       "PyTorch after it, so weights whose gradients are tiny (near 1e-7) take "
                       "different steps from the second step on. Momentum SGD has one formula.")
    return reasons


def format_comparison(eager_result, graph_result) -> str:
    """The side-by-side table and what it shows."""
    recipe = ", ".join(f"{key}={value}" for key, value in asdict(eager_result.recipe).items())
    steps = eager_result.steps
    rows = [
        [f"final loss (step {steps})", f"{eager_result.losses[-1]:.6f}",
         f"{graph_result.losses[-1]:.6f}"],
        ["test accuracy", f"{eager_result.test_accuracy:.2%}", f"{graph_result.test_accuracy:.2%}"],
        ["build time", "none: taped anew at each step",
         f"{format_seconds(graph_result.build_seconds)}, once"],
        ["time per step (median)", format_seconds(eager_result.seconds_per_step),
         format_seconds(graph_result.seconds_per_step)],
        ["peak memory during training", _mebibytes(eager_result.peak_memory_bytes),
         _mebibytes(graph_result.peak_memory_bytes)],
    ]
    difference = max_relative_difference(eager_result.losses, graph_result.losses)
    if difference == 0.0:
        agreement = "are equal bit for bit"
    elif difference < 1e-5:
        agreement = f"agree to within {difference:.1e} (relative)"
    else:
        agreement = f"differ by up to {difference:.1e} (relative)"
    lines = [
        f"{eager_result.model_name} ({eager_result.parameters} parameters) on the 8x8 digits, "
        f"trained both ways from seed {eager_result.seed}:",
        f"  {recipe}",
        "",
        format_table(["", "eager (define-by-run)", "graph (define-and-run)"], rows),
        "",
        _paragraph(f"The losses of all {steps} steps {agreement}: both runs start from the same "
                   "weights, see the same batches and run the same kernels and gradient rules."),
    ]
    reasons = _formula_differences(eager_result.recipe)
    if difference and reasons:
        lines.append(_paragraph("What is left comes from formulas that differ between PyTorch "
                                "and TensorFlow 1:"))
        lines += [_paragraph(reason, "- ", "  ") for reason in reasons]
    paradigms = ("The graph is built once (the model, its gradients and the optimizer's "
                 "update) and then only run; eager records its graph anew at every step.")
    if graph_result.peak_memory_bytes > eager_result.peak_memory_bytes:
        paradigms += (" The reference Session keeps every intermediate value of a run until "
                      "the run ends: hence the graph's higher peak.")
    lines.append(_paragraph(paradigms))
    return "\n".join(lines)


def main(model_name: str = "mlp", epochs: int | None = None, quick: bool = False,
         progress: bool = True) -> str:
    """The `both-ways` demo's text: train `model_name` both ways (2 epochs with `quick`)."""
    if quick and epochs is None:
        epochs = 2
    eager_result, graph_result = run(model_name, epochs, progress=progress)
    try:
        return format_comparison(eager_result, graph_result)
    finally:
        graph_result.session.close()
