"""`python -m compare cost`: what each paradigm pays, and when, measured in one run.

A graph is paid for up front: building the model, its gradients and the optimizer's update
as symbolic nodes, before any number flows, and compiling the training step (`Session.compile`
here; a Session left to itself compiles a plan on its second run, into one numba function once
the plan has run 50 times). After that a training step is one `Session.run` of the compiled
step.
Eager pays as it goes: every op of every step checks its arguments, runs its kernel and
records a tape node, and that bookkeeping is the same whether the tensor holds ten numbers or
ten million. This demo measures both costs on the same training step (an SGD step of the
digits MLP, and of a wide one where the arithmetic dominates), timed interleaved in one
process (`compare.timing`), plus the memory each side's step needs on top of the weights.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from statistics import median

import numpy as np

import eager
import graph as tf
from compare import bench_eager, models_eager, models_graph
from compare.sections import Picture, Section, SideBySide, Table, Text
from compare.timing import compare, format_seconds, time_call
from compare.train_graph import cross_entropy
from eager import nn, optim
from framework import device
from framework.datasets import load_digits
from graph.session import RunMetadata

__all__ = ["CONFIGS", "StepCost", "cost_figure", "main", "measure_step", "memory_cells", "run",
           "step_peak_bytes"]

LEARNING_RATE = 0.01
CLOSE_RATIOS = 0.05  # eager/graph ratios closer than this are within timing noise
# (label, batch, hidden): the demo's own MLP, and a wide one whose matrix products dominate.
CONFIGS = (("digits MLP, batch 32, hidden 64", 32, 64),
           ("wide MLP, batch 512, hidden 1024", 512, 1024))


@dataclass
class StepCost:
    """One training step's costs, both ways. Seconds are medians; bytes from the allocator."""

    label: str
    parameters: int
    build_model_s: float  # graph: the forward graph (placeholders, layers, variables)
    build_gradients_s: float  # graph: the loss and tf.gradients
    build_update_s: float  # graph: the optimizer's update ops and the initializer
    first_run_s: float  # graph: the first Session.run of the training step (plans it)
    compile_s: float  # graph: compiling the step for its second run (Compiled.seconds)
    graph_step_s: float
    eager_step_s: float
    graph_ops: int  # ops in the whole graph
    graph_ops_run: int  # ops one interpreted training step executes (RunMetadata)
    compiled_nodes: int  # nodes of the compiled step, after the compiler's passes
    eager_ops: int  # forward op nodes eager records per step
    weights_bytes: int
    eager_step_bytes: int  # peak bytes above what was live before the step
    graph_step_bytes: int

    @property
    def build_s(self) -> float:
        """Everything the graph pays before its steps run at their own pace: building the
        model, the gradients and the update, and compiling the step."""
        return self.build_model_s + self.build_gradients_s + self.build_update_s + self.compile_s

    @property
    def break_even_steps(self) -> float | None:
        """Steps after which the graph's build is paid back, None if its steps are slower."""
        saved = self.eager_step_s - self.graph_step_s
        return (self.build_s + self.first_run_s - self.graph_step_s) / saved if saved > 0 \
            else None


def _batch(batch: int):
    x, y = load_digits(flat=True, split="train")
    return np.ascontiguousarray(x[:batch]), np.ascontiguousarray(y[:batch])


def _build_graph(hidden: int):
    """The graph MLP with its training step; (model, labels, train_op, loss, init, timings)."""
    start = time.perf_counter()
    model = models_graph.build_model("mlp", seed=0, hidden=hidden)
    after_model = time.perf_counter()
    with model.graph.as_default():
        labels = tf.placeholder(tf.int64, (None,), name="labels")
        loss = cross_entropy(model.logits, labels)
        gradients = tf.gradients(loss, model.variables)
        after_gradients = time.perf_counter()
        optimizer = tf.train.GradientDescentOptimizer(LEARNING_RATE)
        train_op = optimizer.apply_gradients(list(zip(gradients, model.variables)))
        initialize = tf.global_variables_initializer()
    end = time.perf_counter()
    timings = (after_model - start, after_gradients - after_model, end - after_gradients)
    return model, labels, train_op, loss, initialize, timings


def _count_forward_nodes(loss) -> int:
    """The op nodes eager recorded to produce `loss` (the leaves' AccumulateGrad not counted)."""
    seen, stack, ops = set(), [loss.grad_fn], 0
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if getattr(node, "op", None) is not None:  # an AccumulateGrad has no op
            ops += 1
            stack.extend(parent for parent, _ in node.next_functions)
    return ops


def step_peak_bytes(step) -> int:
    """Bytes a step holds at its peak on top of what was live before it (the allocator's
    counters, `framework.device`).

    >>> import eager
    >>> x = eager.ones(256)
    >>> step_peak_bytes(lambda: x * 2.0) >= 256 * 4
    True
    """
    live = device.memory_allocated()
    device.reset_peak_memory_stats()
    step()
    return device.max_memory_allocated() - live


def measure_step(label: str, batch: int, hidden: int, repeats: int = 15,
                 build_repeats: int = 5) -> StepCost:
    """Build and time one SGD step of the MLP both ways (medians of interleaved repeats).

    >>> cost = measure_step("tiny", batch=8, hidden=8, repeats=2, build_repeats=1)
    >>> cost.graph_ops_run > cost.eager_ops > 0, cost.build_s > cost.compile_s > 0
    (True, True)
    """
    x, y = _batch(batch)

    builds = [_build_graph(hidden) for _ in range(build_repeats)]
    model, labels, train_op, loss, initialize, _ = builds[-1]
    build_model_s, build_gradients_s, build_update_s = (
        median(timings[k] for *_, timings in builds) for k in range(3))

    eager_model = models_eager.build_model("mlp", seed=0, hidden=hidden)
    images, targets = eager.from_numpy(x), eager.from_numpy(y)
    loss_function = nn.CrossEntropyLoss()
    optimizer = optim.SGD(eager_model.parameters(), lr=LEARNING_RATE)
    eager_ops = _count_forward_nodes(loss_function(eager_model(images), targets))

    def eager_step():
        optimizer.zero_grad()
        loss_function(eager_model(images), targets).backward()
        optimizer.step()

    eager_step()  # first: it loads the kernels both sides share, so the graph's first run
    # below pays only for what is its own (planning the run)
    session = tf.Session(graph=model.graph)
    session.run(initialize)
    feed = {model.images: x, labels: y}
    start = time.perf_counter()
    session.run([train_op, loss], feed)
    first_run_s = time.perf_counter() - start
    # Compiled explicitly, to read its compile time (the whole step as numba functions, or
    # read from the disk cache where an earlier process compiled it): the runs below use it.
    compiled = session.compile([train_op, loss], feed)
    metadata = RunMetadata()  # a run recording metadata is interpreted: it counts every op
    session.run([train_op, loss], feed, run_metadata=metadata)

    def graph_step():
        session.run([train_op, loss], feed)

    optimizer.zero_grad()  # the last step's gradients are not part of the next one's peak
    eager_bytes, graph_bytes = step_peak_bytes(eager_step), step_peak_bytes(graph_step)
    if compiled.numba_functions:
        # Its buffers come from numba's allocator, which the counters do not see: the
        # compiled step's own plan of its values says what it needs.
        graph_bytes = max(graph_bytes, compiled.peak_bytes or 0)
    min_time = 2e-2 if repeats > 3 else 2e-3
    timing = compare(label, eager_step, graph_step, repeats=repeats, min_time=min_time)
    weights = sum(p.detach().numpy().nbytes for p in eager_model.parameters())
    cost = StepCost(label, models_eager.parameter_count(eager_model), build_model_s,
                    build_gradients_s, build_update_s, first_run_s, compiled.seconds,
                    graph_step_s=timing.reference_s, eager_step_s=timing.ours_s,
                    graph_ops=len(model.graph.get_operations()),
                    graph_ops_run=len(metadata.executed_ops),
                    compiled_nodes=len(compiled.program.nodes), eager_ops=eager_ops,
                    weights_bytes=weights, eager_step_bytes=eager_bytes,
                    graph_step_bytes=graph_bytes)
    session.close()
    return cost


def _per_op_rows(repeats: int, quick: bool) -> list[list[str]]:
    """bench_eager's per-op cases (ours alone), and NumPy's bare multiply for scale."""
    rows = bench_eager.run(repeats, quick=quick, torch=None, names=list(bench_eager.OP_CASES))
    x, y = np.random.default_rng(0).standard_normal((2, bench_eager.OP_SIZE)).astype(np.float32)
    numpy_s = median(time_call(lambda: np.multiply(x, y)) for _ in range(max(repeats, 3)))
    return [[row.label, format_seconds(row.ours_s)] for row in rows] + \
        [[f"NumPy np.multiply(x, y), {bench_eager.OP_SIZE} elements", format_seconds(numpy_s)]]


def memory_cells(counts: list[int]) -> list[str]:
    """Byte counts in one unit, chosen by the largest, so that a row reads at a glance.

    >>> memory_cells([35_840, 41_267, 157_286])
    ['35.0 KiB', '40.3 KiB', '153.6 KiB']
    """
    if max(counts) >= 2**20:
        return [f"{count / 2**20:.2f} MiB" for count in counts]
    return [f"{count / 2**10:.1f} KiB" for count in counts]


def _break_even(cost: StepCost) -> str:
    steps = cost.break_even_steps
    return "never (graph steps are not faster)" if steps is None else f"{max(steps, 0):.0f} steps"


def _paid_back(cost: StepCost) -> str:
    """When the graph's build pays for itself, in words for the summary line.

    >>> graph_faster = StepCost("a", 1, 0.01, 0.01, 0.01, 0.01, 0.005, 0.001, 0.002, 9, 9, 7,
    ...                      3, 8, 8, 8)
    >>> _paid_back(graph_faster)
    'paid back after 44 steps'
    >>> from dataclasses import replace
    >>> _paid_back(replace(graph_faster, graph_step_s=0.003))
    'never paid back: its steps are not faster'
    """
    steps = cost.break_even_steps
    if steps is None:
        return "never paid back: its steps are not faster"
    return f"paid back after {max(steps, 0):.0f} steps"


def cost_figure(costs: list[StepCost]):
    """Total time against steps trained: eager starts at zero, the graph after its build.

    >>> costs = [StepCost("a", 1, 0.01, 0.01, 0.01, 0.01, 0.005, 0.001, 0.002, 9, 9, 7,
    ...                      3, 8, 8, 8)]
    >>> [len(axes.lines) for axes in cost_figure(costs).axes]
    [2]
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(5.2 * len(costs), 3.4), layout="constrained")
    for axes, cost in zip(figure.subplots(1, len(costs), squeeze=False)[0], costs):
        even = cost.break_even_steps
        last = int(min(max(3 * even, 20), 5000)) if even is not None else 100
        steps = np.arange(0, last + 1)
        graph_total = np.where(steps > 0, cost.build_s + cost.first_run_s
                               + np.maximum(steps - 1, 0) * cost.graph_step_s, cost.build_s)
        axes.plot(steps, steps * cost.eager_step_s * 1e3, color="tab:blue", label="eager")
        axes.plot(steps, graph_total * 1e3, color="tab:orange", label="graph (build, then run)")
        axes.set_title(cost.label, fontsize=10)
        axes.set_xlabel("training steps")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylabel("total time (ms)")
        axes.grid(alpha=0.3)
        axes.legend()
    return figure


def run(small: bool = False) -> Section:
    """Measure the costs (`small`: three short repeats per timing, rough numbers) and report."""
    repeats, build_repeats = (3, 2) if small else (15, 7)
    per_op = _per_op_rows(repeats, quick=small)
    costs = [measure_step(label, batch, hidden, repeats, build_repeats)
             for label, batch, hidden in CONFIGS]
    digits = costs[0]
    multiply_s = next(row[1] for row in per_op if row[0] == "x * y")

    section = Section(
        "cost", "The cost of each paradigm",
        "A graph is paid for once, up front: the build, which includes compiling the "
        "training step. Eager pays at every op of every step: "
        "checking arguments, calling the kernel, recording the tape. Measured here in one "
        f"run on {bench_eager.machine()}, medians of {repeats} interleaved repeats"
        f"{' (a smoke run: rough numbers)' if small else ''}.",
        summary=(f"digits MLP step: eager {format_seconds(digits.eager_step_s)}, compiled "
                 f"graph {format_seconds(digits.graph_step_s)} after a "
                 f"{format_seconds(digits.build_s)} build and compile "
                 f"({_paid_back(digits)}); eager "
                 f"overhead per op {multiply_s} (x * y)"))
    section.add(
        SideBySide(
            [Text(f"Per op, on {bench_eager.OP_SIZE}-element float32 tensors that require "
                  "grad: the arithmetic costs next to nothing (see NumPy's bare multiply, "
                  "last row), so the time is the price of eager's Python path: arguments, "
                  "the shape rule, the kernel call, the output Tensor and the tape node."),
             Table(["op", "time per call"], per_op, "eager per-op overhead")],
            [Text("Per build: the training step as graph nodes, built in a fresh graph "
                  "(model, then loss and tf.gradients, then the optimizer's update and the "
                  "initializer), and the step compiled (the compiler's passes and its code "
                  "generation into numba functions, `Compiled.seconds`; from the disk cache "
                  "when an earlier process compiled the same graph), which the build "
                  "includes. The first Session.run, interpreted, plans the run and loads any "
                  "kernel that eager's first step, run just before, did not."),
             Table(["", *(cost.label for cost in costs)], [
                 ["model", *(format_seconds(c.build_model_s) for c in costs)],
                 ["loss + gradients", *(format_seconds(c.build_gradients_s) for c in costs)],
                 ["optimizer update", *(format_seconds(c.build_update_s) for c in costs)],
                 ["compile the step", *(format_seconds(c.compile_s) for c in costs)],
                 ["build in all", *(format_seconds(c.build_s) for c in costs)],
                 ["first Session.run", *(format_seconds(c.first_run_s) for c in costs)],
                 ["ops in the graph", *(str(c.graph_ops) for c in costs)],
                 ["nodes in the compiled step", *(str(c.compiled_nodes) for c in costs)],
             ], "graph build time")]),
        Table(["one SGD step", "eager", "compiled graph", "eager / graph",
               "graph build and compile, once", "graph ahead after (build, compile and "
               "first run paid)"],
              [[c.label, format_seconds(c.eager_step_s), format_seconds(c.graph_step_s),
                f"{c.eager_step_s / c.graph_step_s:.2f}", format_seconds(c.build_s),
                _break_even(c)] for c in costs],
              "time per training step (forward, loss, backward, update)"),
        Picture(cost_figure(costs), "total time against steps trained: the graph starts late "
                "(its build) and then runs at its own pace"),
        Text(_reading(costs)),
        Table(["one SGD step", "weights", "eager: peak above live", "graph: peak above live"],
              [[c.label, *memory_cells([c.weights_bytes, c.eager_step_bytes,
                                         c.graph_step_bytes])] for c in costs],
              "memory a step needs on top of what was already live (the kernels' buffers)"),
        Text("Memory: eager keeps only what its tape saved for backward and frees it as "
             "backward runs. The compiled step plans its memory ahead, as it sees the whole "
             "step before running it: each value is freed after its last reader (the "
             "reference interpreter keeps every value until the run ends). Eager cannot plan: "
             "it learns its graph as it runs. The graph's column is the compiled step's plan "
             "(Compiled.peak_bytes) where it runs inside numba functions, whose buffers the "
             "allocator's counters do not see."),
    )
    return section


def _reading(costs: list[StepCost]) -> str:
    digits, wide = costs[0], costs[-1]
    digits_ratio = digits.eager_step_s / digits.graph_step_s
    wide_ratio = wide.eager_step_s / wide.graph_step_s
    if wide_ratio < digits_ratio - CLOSE_RATIOS:
        trend = "the larger the ops, the less eager's per-op overhead weighs"
    elif wide_ratio > digits_ratio + CLOSE_RATIOS:
        trend = "here the per-op overhead did not weigh less on the larger ops"
    else:
        trend = ("in this run the two ratios are too close to show that the larger ops "
                 "dilute eager's per-op overhead")
    lines = [
        f"An eager step of the digits MLP records {digits.eager_ops} forward ops on its tape, "
        "and backward and the optimizer run more; each pays the per-op overhead above on "
        f"matrices so small that the arithmetic hardly counts. Eager takes {digits_ratio:.2f}x "
        f"the graph's time per step there, and {wide_ratio:.2f}x for the wide MLP "
        f"({wide.parameters:,} parameters, batch {CONFIGS[-1][1]}), where the matrix products "
        f"dominate: {trend}.",
        "The graph's build is paid once, before the first step; the compiled step then runs "
        "the training step in generated numba functions (one for the MLP): the "
        f"compiler's passes leave {digits.compiled_nodes} nodes of the "
        f"{digits.graph_ops_run} ops the interpreter runs in a step of the digits MLP "
        "(gradients and updates included), every shape was checked once at compile time, "
        "and each node's kernel is called from compiled code. What it saves is the tape, the "
        "argument handling, the shape rules and the Python call of every kernel"
        f"{_fusion_note()}.",
    ]
    return "\n\n".join(lines)


def _fusion_note() -> str:
    from graph.compile import PIPELINE

    if any("fusion" in name for name, _ in PIPELINE):
        return ", and chains of elementwise ops run fused"
    return ", and elementwise ops are not fused yet: each writes its result to memory"


def main(small: bool = False) -> str:
    """The demo as terminal text."""
    return run(small).text()
