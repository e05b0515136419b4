"""`python -m compare same-model`: the digits MLP and CNN, each trained both ways from one seed.

Each model is trained twice, once eagerly (PyTorch style: forward, backward, step, every
batch) and once as a graph (TensorFlow 1 style: build the model, its gradients and the
optimizer's update once, then run them in a Session), with `both_ways.run`: the same initial
weights, the same batches in the same order, the same recipe. The figure overlays the four loss
curves; the table puts accuracy, build time, time per step and peak memory next to each other.

What to look for: the curves of one model lie on top of each other (the arithmetic is the same;
the paradigms differ in when the graph exists), while build time, step time and memory differ.
"""

from __future__ import annotations

import eager
import eager.viz
import graph.viz
from compare import both_ways, models_eager, models_graph
from compare.sections import (
    Code,
    Picture,
    Section,
    SideBySide,
    Table,
    Text,
    source_without_docstring,
)
from compare.timing import format_seconds
from compare.train_eager import SGD_MOMENTUM, TARGETS
from framework.datasets import load_digits

__all__ = ["MODELS", "SMALL_SETTINGS", "check_runs", "drawings", "loss_figure", "main", "run"]

MODELS = ("mlp", "cnn")
# A smoke run: one epoch in a few large batches (the recipes' other values stay).
SMALL_SETTINGS = {"epochs": 1, "batch_size": 128}
# Where both frameworks share every formula, so the two front-ends must agree bit for bit.
CHECK_SETTINGS = {"optimizer": "sgd", "label_smoothing": 0.0}
SEED = 0
COINCIDE = 1e-5  # below this largest relative loss difference the curves are "the same"


def _agreement(difference: float) -> str:
    if difference == 0.0:
        return "are equal bit for bit"
    if difference < COINCIDE:
        return f"agree to within {difference:.1e} (relative)"
    return f"are apart by up to {difference:.1e} (relative)"


def loss_figure(results: dict):
    """One matplotlib Figure: per model, the eager and the graph loss at every step.

    `results` maps a model name to its (eager result, graph result). The figure is made
    without pyplot, so it needs no display and leaves matplotlib's backend alone.

    >>> from types import SimpleNamespace as Run
    >>> figure = loss_figure({"mlp": (Run(losses=[2.0, 1.0]), Run(losses=[2.0, 1.0]))})
    >>> [len(axes.lines) for axes in figure.axes]
    [2]
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.2 * len(results), 3.6), layout="constrained")
    for axes, (name, (eager_run, graph_run)) in zip(figure.subplots(1, len(results),
                                                                    squeeze=False)[0],
                                                    results.items()):
        steps = range(1, len(eager_run.losses) + 1)
        axes.plot(steps, eager_run.losses, color="tab:blue", linewidth=2.2, label="eager")
        axes.plot(steps, graph_run.losses, color="tab:orange", linewidth=1.2, linestyle="--",
                  label="graph")
        difference = both_ways.max_relative_difference(eager_run.losses, graph_run.losses)
        axes.set_title(f"{name.upper()}: largest relative difference {difference:.1e}",
                       fontsize=10)
        axes.set_xlabel("training step")
        axes.set_ylabel("training loss")
        axes.grid(alpha=0.3)
        axes.legend()
    return figure


def drawings(eager_run, graph_run) -> tuple:
    """(eager's tape of one training forward pass, the graph's static graph) of the MLP.

    The eager drawing is the backward graph one forward pass records; the graph drawing
    hides the gradient and update ops (`show_gradients=False`).
    """
    batch = eager_run.recipe.batch_size
    x, y = load_digits(flat=True, split="train")
    loss_function = eager.nn.CrossEntropyLoss(label_smoothing=eager_run.recipe.label_smoothing)
    loss = loss_function(eager_run.model(eager.from_numpy(x[:batch])), eager.from_numpy(y[:batch]))
    eager_drawing = eager.viz.draw(loss, params=eager_run.model,
                                   title=f"eager: the tape one step records (batch {batch})")
    graph_drawing = graph.viz.draw(graph_run.model.graph, show_gradients=False,
                                   title="graph: built once, gradients and update hidden")
    return eager_drawing, graph_drawing


def _mebibytes(count: int) -> str:
    return f"{count / 2**20:.2f} MiB"


def _rows(results: dict) -> list[list[str]]:
    rows = []
    for name, (eager_run, graph_run) in results.items():
        for side, result in (("eager", eager_run), ("graph", graph_run)):
            build = (f"{format_seconds(result.build_seconds)}, once" if side == "graph"
                     else "none (taped every step)")
            rows.append([name.upper(), side, str(result.steps), f"{result.losses[-1]:.6f}",
                         f"{result.test_accuracy:.2%}", build,
                         format_seconds(result.seconds_per_step),
                         _mebibytes(result.peak_memory_bytes)])
    return rows


def _model_text(name: str, eager_run, graph_run) -> str:
    difference = both_ways.max_relative_difference(eager_run.losses, graph_run.losses)
    recipe = eager_run.recipe
    optimizer = (f"SGD with momentum {SGD_MOMENTUM}" if recipe.optimizer == "sgd"
                 else recipe.optimizer.capitalize())
    # The cosine schedule steps once per epoch: over one epoch the rate stays where it starts.
    schedule = (" annealed along a cosine" if getattr(recipe, "cosine_schedule", False)
                and recipe.epochs > 1 else "")
    smoothing = (f", label smoothing {recipe.label_smoothing}" if recipe.label_smoothing
                 else "")
    text = (f"{name.upper()} ({eager_run.parameters:,} parameters; {optimizer}, lr "
            f"{recipe.lr}{schedule}{smoothing}, batch {recipe.batch_size}, {recipe.epochs} "
            f"epoch{'s' if recipe.epochs > 1 else ''}): the losses of all "
            f"{eager_run.steps} steps {_agreement(difference)}.")
    if difference < COINCIDE:
        if difference > 0 and recipe.label_smoothing:
            text += (" The small difference is rounding: the two frameworks write label "
                     "smoothing with different formulas for the same value.")
        return text + " The two curves coincide."
    if recipe.optimizer == "adam":
        text += (" The curves stay close but part: TensorFlow 1's Adam adds epsilon to sqrt(v) "
                 "before the bias correction and PyTorch's after, so weights whose gradients "
                 "are tiny (near 1e-7) take different steps; each front-end follows its own "
                 "framework's formula.")
    if recipe.label_smoothing:
        text += (" Label smoothing is also written differently by the two frameworks (the "
                 "same value, rounded differently: a few 1e-7).")
    return text


def _summary(results: dict, checks: dict) -> str:
    lines = []
    for name, (eager_run, graph_run) in results.items():
        target = TARGETS[name]
        verdict = "meets" if eager_run.test_accuracy >= target else "below"
        difference = both_ways.max_relative_difference(eager_run.losses, graph_run.losses)
        lines.append(f"{name.upper()}: test accuracy eager {eager_run.test_accuracy:.2%} "
                     f"({verdict} the {target:.0%} target), graph {graph_run.test_accuracy:.2%}; "
                     f"losses over {eager_run.steps} steps {_agreement(difference)}")
    agreements = ", ".join(f"{name.upper()} {_agreement(difference)}"
                           for name, (_, difference) in checks.items())
    lines.append(f"Without label smoothing (momentum SGD): {agreements}")
    return "\n".join(lines)


def check_runs(small: bool = False) -> dict:
    """{model: largest relative loss difference} over one epoch of momentum SGD without label
    smoothing, where the two frameworks share every formula: it is 0 on every CPU, because
    both front-ends run the same kernels with the same BLAS calls on the same layouts."""
    settings = {**CHECK_SETTINGS, **(SMALL_SETTINGS if small else {"epochs": 1})}
    differences = {}
    for name in MODELS:
        eager_run, graph_run = both_ways.run(name, seed=SEED, progress=False, **settings)
        graph_run.session.close()
        differences[name] = (eager_run.steps,
                             both_ways.max_relative_difference(eager_run.losses,
                                                               graph_run.losses))
    return differences


def _check_rows(differences: dict) -> list[list[str]]:
    return [[name.upper(), str(steps), f"{difference:.1e}", _agreement(difference)]
            for name, (steps, difference) in differences.items()]


def run(small: bool = False) -> Section:
    """Train both models both ways (`small`: one epoch of batches of 128) and report."""
    settings = SMALL_SETTINGS if small else {}
    results = {}
    for name in MODELS:
        eager_run, graph_run = both_ways.run(name, seed=SEED, progress=False, **settings)
        graph_run.session.close()
        results[name] = (eager_run, graph_run)
    checks = check_runs(small)
    eager_drawing, graph_drawing = drawings(*results["mlp"])

    section = Section(
        "same-model", "The same model, both ways",
        "The digits MLP and CNN, each trained eagerly and as a graph from seed "
        f"{SEED}: the same initial weights, the same batches in the same order, the same "
        "kernels and gradient rules. Only when the graph exists differs.",
        summary=_summary(results, checks))
    section.add(
        SideBySide(
            [Code(source_without_docstring(models_eager.MLP), "the MLP as an eager nn.Module"),
             Picture(eager_drawing, "eager: the backward graph recorded by one forward pass, "
                     "parameters by their module names")],
            [Code(source_without_docstring(models_graph.mlp), "the MLP with tf.layers"),
             Picture(graph_drawing, "graph: the static graph the Session runs at every step "
                     "(the gradient and update ops hidden)")]),
        Picture(loss_figure(results),
                "training loss at every step: eager (solid) and graph (dashed) per model"),
        Text("\n\n".join(_model_text(name, *pair) for name, pair in results.items())),
        Table(["model", "front-end", "steps", "final loss", "test accuracy", "build time",
               "time per step (median)", "peak memory"], _rows(results),
              "measured on this machine, in one process"),
        Text("The recipes above use label smoothing, and the CNN's uses Adam: formulas that "
             "PyTorch and TensorFlow 1 write differently, so those curves may part by rounding. "
             "Without them (momentum SGD, no label smoothing) nothing differs but when the "
             "graph exists, and the losses are equal bit for bit, on any CPU: both front-ends "
             "issue the same kernel and BLAS calls on the same memory layouts."),
        Table(["model", "steps", "largest relative difference", "the losses"],
              _check_rows(checks), "momentum SGD, no label smoothing, one epoch, both ways"),
        Text("The graph is built once (model, gradients and the optimizer's update: the build "
             "time) and then only run; eager records its graph anew at every step, as part of "
             "its time per step. Peak memory is the most bytes the kernels' buffers held at "
             "once during training: the Session (the reference interpreter, which runs the "
             "graph op by op) keeps every intermediate value of a run until the run ends, "
             "eager keeps what the tape saved for backward until backward has used it."),
    )
    return section


def main(small: bool = False) -> str:
    """The demo as terminal text."""
    return run(small).text()
