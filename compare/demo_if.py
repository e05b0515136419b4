"""`python -m compare if-statement`: one decision written both ways.

The model scales an input by a weight vector, h = x * w, and then decides on the data: when
sum(h) > 0 the result is sum(2 h), otherwise mean(tanh(h) ** 2).

- Eager writes the decision as a Python `if`. Python takes one branch, and the tape records only
  the ops that actually ran, so two inputs that take different branches record two different
  graphs; the drawings show both.
- The graph front-end cannot use a Python `if`: when the graph is built, h has no value yet.
  `tf.cond(pred, true_fn, false_fn)` puts both branches into the one graph, and a Session runs
  only the branch the predicate picks at run time; the execution counts of `RunMetadata` show
  which ops ran.
- TensorFlow 1's classic pitfall: an op created before the `cond` and used inside one branch is
  an input of the whole cond, so it runs whichever branch is taken. A counter incremented with
  `assign_add` shows it; creating the increment inside the branch function fixes it.
- Given a Python `if` on a symbolic tensor, the graph front-end refuses with an error that names
  the line of the `if`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import eager
import eager.viz
import graph as tf
import graph.viz
from compare.sections import (
    Code,
    Picture,
    Section,
    SideBySide,
    Table,
    Text,
    source_without_docstring,
)

__all__ = ["eager_decision", "graph_decision", "main", "run"]

WEIGHTS = np.array([0.5, -1.0, 2.0], np.float32)
# Two inputs that take different branches: sum(x * w) is 2.0 for the first, -2.5 for the second.
INPUTS = {"x = (1, 0.5, 1)": np.array([1.0, 0.5, 1.0], np.float32),
          "x = (1, 2, -0.5)": np.array([1.0, 2.0, -0.5], np.float32)}


# -- the model, both ways ----------------------------------------------------------------------


def eager_decision(x, w):
    """The decision with a Python `if`: only the branch Python takes is recorded."""
    h = x * w
    if h.sum() > 0:
        return (h * 2.0).sum()
    return (h.tanh() ** 2).mean()


def graph_decision(x, w):
    """The same decision with `tf.cond`: both branches go into the graph."""
    h = tf.multiply(x, w, name="h")
    return tf.cond(
        tf.reduce_sum(h) > 0.0,
        lambda: tf.reduce_sum(h * 2.0, name="double_sum"),
        lambda: tf.reduce_mean(tf.tanh(h) ** 2.0, name="tanh_mean"),
        name="decide")


def graph_decision_with_python_if(x, w):
    """What a PyTorch habit writes in the graph front-end: a Python `if` on a symbolic value."""
    h = tf.multiply(x, w, name="h")
    if tf.reduce_sum(h) > 0.0:  # the graph has no value for h yet: this raises GraphError
        return tf.reduce_sum(h * 2.0)
    return tf.reduce_mean(tf.tanh(h) ** 2.0)


def pitfall_counter(increment_inside: bool):
    """A cond that should count the runs whose predicate is true, built two ways.

    With `increment_inside=False` (TensorFlow 1's classic mistake) the `assign_add` is created
    before the cond, so it is an input of the cond and runs on every Session.run.
    """
    pred = tf.placeholder(tf.bool, (), name="pred")
    counter = tf.Variable(0, name="counter")
    if increment_inside:
        result = tf.cond(pred, lambda: tf.assign_add(counter, 1, name="increment"),
                         lambda: tf.identity(counter), name="count")
    else:
        increment = tf.assign_add(counter, 1, name="increment")  # created outside the cond
        result = tf.cond(pred, lambda: tf.identity(increment),
                         lambda: tf.identity(counter), name="count")
    return pred, counter, result


# -- running it --------------------------------------------------------------------------------


@dataclass
class EagerRun:
    label: str
    value: float
    ops: list[str]  # the backward nodes the tape recorded for this input
    drawing: object


@dataclass
class GraphRun:
    label: str
    value: float
    executed: dict[str, int]  # op name -> executions in this run


@dataclass
class PitfallRun:
    increment_inside: bool
    runs: int  # Session.runs, all with pred=False
    counter: int  # the counter's value afterwards
    increment_ran: bool  # whether the assign_add executed in the last run


@dataclass
class IfFacts:
    eager_runs: list[EagerRun]
    graph_runs: list[GraphRun]
    graph_ops: list[str]  # every op of the graph, in creation order
    branch_ops: dict[str, list[str]]  # "true" / "false" -> the ops that live in that branch
    graph_drawing: object
    pitfall: list[PitfallRun] = field(default_factory=list)
    python_if_error: tf.GraphError | None = None


def run_eager() -> list[EagerRun]:
    """The eager decision on each input, with the ops its tape recorded and its drawing."""
    runs = []
    for label, data in INPUTS.items():
        w = eager.tensor(WEIGHTS, requires_grad=True)
        result = eager_decision(eager.tensor(data), w)
        nodes, _ = eager.viz.describe(result, params={"w": w})
        runs.append(EagerRun(label, float(result.item()),
                             [node.label for node in nodes if node.kind == "op"],
                             eager.viz.draw(result, params={"w": w}, title=label)))
    return runs


def run_graph() -> tuple:
    """The cond graph run once per input with RunMetadata: (runs, ops, branch ops, drawing)."""
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, (3,), name="x")
        w = tf.Variable(WEIGHTS, name="w")
        y = graph_decision(x, w)
        cond_op = y.op
        branches = {side: [op.name for op in branch.ops]
                    for side, branch in zip(("true", "false"), cond_op.attrs["branches"])}
        runs = []
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for label, data in INPUTS.items():
                metadata = tf.RunMetadata()
                value = sess.run(y, {x: data}, run_metadata=metadata)
                runs.append(GraphRun(label, float(value), dict(metadata.op_counts)))
        drawing = graph.viz.draw(g, title="graph: both branches, one graph")
    return runs, [op.name for op in g.get_operations()], branches, drawing


def run_pitfall(runs: int) -> list[PitfallRun]:
    """Both counters run `runs` times with pred=False: only the fixed one stays at zero."""
    results = []
    for inside in (False, True):
        with tf.Graph().as_default():
            pred, counter, result = pitfall_counter(inside)
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                metadata = tf.RunMetadata()
                for _ in range(runs):
                    sess.run(result, {pred: False}, run_metadata=metadata)
                ran = any(name.endswith("increment") for name in metadata.op_counts)
                results.append(PitfallRun(inside, runs, int(sess.run(counter)), ran))
    return results


def try_python_if() -> tf.GraphError | None:
    """Build the graph with a Python `if`: the GraphError the front-end raises (None if none)."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (3,), name="x")
        w = tf.Variable(WEIGHTS, name="w")
        try:
            graph_decision_with_python_if(x, w)
        except tf.GraphError as error:
            return error
    return None


def collect(small: bool = False) -> IfFacts:
    """Every number and drawing the section shows (`small` runs the pitfall fewer times)."""
    graph_runs, graph_ops, branch_ops, drawing = run_graph()
    return IfFacts(run_eager(), graph_runs, graph_ops, branch_ops, drawing,
                   run_pitfall(3 if small else 5), try_python_if())


# -- the section -------------------------------------------------------------------------------


def _source(function) -> str:
    return source_without_docstring(function)  # the prose around it says what it does


def section_for(facts: IfFacts) -> Section:
    """The report section of `collect`'s facts."""
    first, second = facts.eager_runs
    section = Section(
        "if-statement", "The if-statement: Python `if` against `tf.cond`",
        "The same data-dependent decision written both ways, run on two inputs that take "
        "different branches.")
    section.add(SideBySide(
        [Code(_source(eager_decision), "a Python `if` on the value of h.sum()")],
        [Code(_source(graph_decision), "`tf.cond`: both branches are functions")]))

    differ = first.ops != second.ops
    section.add(Text(
        f"Eager ran its Python `if` once per input and recorded only the ops that ran, each "
        f"as a backward node (`grad_fn`): {len(first.ops)} for {first.label} "
        f"({', '.join(first.ops)}) and {len(second.ops)} for {second.label} "
        f"({', '.join(second.ops)})"
        + (": two different graphs." if differ else ": the same graph.")
        + " The test `h.sum() > 0` does not appear: the result is not computed from it, it "
          "only told Python which line to run."))
    section.add(SideBySide(
        [Picture(first.drawing, f"eager, {first.label}: {len(first.ops)} ops recorded"),
         Picture(second.drawing, f"eager, {second.label}: {len(second.ops)} ops recorded")],
        [Picture(facts.graph_drawing,
                 f"graph: one graph, {len(facts.graph_ops)} ops, both branches inside")]))

    rows = []
    branch_of = {name: side for side, names in facts.branch_ops.items() for name in names}
    for name in facts.graph_ops:
        rows.append([name, branch_of.get(name, "outside"),
                     *(str(run.executed.get(name, 0)) for run in facts.graph_runs)])
    executed = [sum(1 for name in facts.graph_ops if run.executed.get(name)) for run in
                facts.graph_runs]
    section.add(Table(["op", "branch", *(f"runs, {run.label}" for run in facts.graph_runs)],
                      rows, "graph: executions of each op per Session.run (RunMetadata)"))
    section.add(Text(
        f"The graph holds both branches ({len(facts.branch_ops['true'])} ops in the true "
        f"branch, {len(facts.branch_ops['false'])} in the false one) and the Session ran "
        + " and ".join(f"{count} of its {len(facts.graph_ops)} ops for {run.label}"
                       for count, run in zip(executed, facts.graph_runs))
        + ": the branch not taken did not run. The ops that show 0 in both runs are "
          "the fed placeholder x (its value comes from feed_dict, nothing computes it) and "
          "the initializer's ops, which ran once, before these runs. Results: "
        + "; ".join(f"{e.label}: eager {e.value:.6g}, graph {g.value:.6g}"
                    for e, g in zip(facts.eager_runs, facts.graph_runs)) + "."))

    section.add(Text(
        "TensorFlow 1's pitfall: an op created before the cond and used in a branch is an "
        "input of the cond, so it runs whichever branch is taken. Below, a counter meant to "
        "count the runs whose predicate is true, built both ways, then run only with "
        "pred=False. Eager has no such trap: Python runs a line when it reaches it, and "
        "only then."))
    section.add(Code(_source(pitfall_counter),
                     "the counter, with the increment created before the cond or inside it"))
    section.add(Table(
        ["where the assign_add is created", "Session.runs (pred=False)", "counter after",
         "assign_add ran"],
        [["inside the branch function" if p.increment_inside else "before the cond",
          str(p.runs), str(p.counter), "yes" if p.increment_ran else "no"]
         for p in facts.pitfall],
        "the counter after runs whose predicate is false"))

    error = facts.python_if_error
    section.add(Text(
        "Given a Python `if` on a symbolic tensor, the graph front-end refuses at build time: "
        "the tensor has no value until a Session runs the graph."))
    section.add(Code(_source(graph_decision_with_python_if), "a Python `if` in the graph"))
    if error is not None:
        section.add(Code(str(error), "the error (GraphError)", wrap=True))
    else:
        section.add(Text("Unexpectedly, building the graph with a Python `if` raised nothing."))
    section.summary = (
        f"eager recorded {'2 different graphs' if differ else 'the same graph twice'} "
        f"({len(first.ops)} and {len(second.ops)} ops); the graph ({len(facts.graph_ops)} "
        f"ops) holds both branches and ran {executed[0]} and {executed[1]} of its ops")
    return section


def run(small: bool = False) -> Section:
    """The if-statement section (`small`: fewer pitfall runs, same drawings)."""
    return section_for(collect(small))


def main(small: bool = False) -> str:
    """The section as terminal text."""
    return run(small).text()


if __name__ == "__main__":
    print(main())
