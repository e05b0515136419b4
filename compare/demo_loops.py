"""`python -m compare dynamic-loops`: a recurrent model over sequences of different lengths.

The model is one tanh RNN cell, h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), run
over a time-major batch of sequences (time, batch, features) from h_0 = 0; the loss is the sum
of the last state.

- Eager (`eager.nn.RNNCell`) loops with a Python `for` over the time steps. The tape records
  every step it ran, so the recorded graph grows with the length of the sequence: a new,
  larger graph for every length.
- The graph front-end writes the same cell with `tf.while_loop` over a placeholder of shape
  (None, batch, features), and reads the length at run time with `tf.shape(inputs)[0]`. The
  loop body is traced once, so one graph, with the same number of ops, serves every length; a
  Session runs the body as many times as the fed sequence is long (`RunMetadata` counts the
  executions).

Both start from the eager cell's weights (copied into the graph's variables, transposed to
TensorFlow's layout), so the final states agree to float32 rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

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

__all__ = ["eager_rnn", "graph_rnn", "main", "run"]

BATCH, FEATURES, HIDDEN = 2, 3, 4
DRAWN_LENGTHS = (3, 6)  # the eager tape is drawn for these; the graph once


# -- the model, both ways ----------------------------------------------------------------------


def eager_rnn(cell, inputs):
    """The last state of `cell` run over `inputs` (time, batch, features): a Python `for`."""
    hidden = None
    for step in range(inputs.shape[0]):
        hidden = cell(inputs[step], hidden)
    return hidden


def graph_rnn(inputs, kernel_ih, kernel_hh, bias_ih, bias_hh):
    """The same cell with `tf.while_loop`: one loop body in the graph, run once per time step
    of whatever sequence is fed (its length is read at run time)."""
    steps = tf.shape(inputs)[0]

    def body(step, hidden):
        x_t = tf.gather(inputs, step)
        hidden = tf.tanh(tf.matmul(x_t, kernel_ih) + bias_ih
                         + tf.matmul(hidden, kernel_hh) + bias_hh)
        return step + 1, hidden

    _, last = tf.while_loop(lambda step, hidden: step < steps, body,
                            [tf.constant(0, tf.int32), tf.zeros((BATCH, HIDDEN))], name="rnn")
    return last


# -- running it --------------------------------------------------------------------------------


@dataclass
class LengthRun:
    length: int
    eager_ops: int  # backward nodes eager recorded for this length
    graph_ops: int  # ops in the graph (the same graph for every length)
    graph_executions: int  # op executions the Session ran for this length
    body_executions: int  # executions of the loop body's tanh
    max_difference: float  # max |eager - graph| of the last state


@dataclass
class LoopFacts:
    runs: list[LengthRun]
    eager_drawings: dict  # length -> Digraph of the eager tape
    graph_drawing: object


def _sequences(length: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((length, BATCH, FEATURES)).astype(
        np.float32)


def collect(small: bool = False) -> LoopFacts:
    """Run both models over every length; `small` uses fewer and shorter lengths."""
    lengths = (1, 3, 6) if small else (1, 3, 6, 12, 24)
    eager.manual_seed(0)
    cell = eager.nn.RNNCell(FEATURES, HIDDEN)
    weights = {name: p.detach().numpy().copy() for name, p in cell.named_parameters()}

    g = tf.Graph()
    with g.as_default():
        inputs = tf.placeholder(tf.float32, (None, BATCH, FEATURES), name="inputs")
        kernel_ih = tf.Variable(weights["weight_ih"].T, name="kernel_ih")
        kernel_hh = tf.Variable(weights["weight_hh"].T, name="kernel_hh")
        bias_ih = tf.Variable(weights["bias_ih"], name="bias_ih")
        bias_hh = tf.Variable(weights["bias_hh"], name="bias_hh")
        last = graph_rnn(inputs, kernel_ih, kernel_hh, bias_ih, bias_hh)
        graph_drawing = graph.viz.draw(g, title="graph: one while_loop for every length")
        graph_ops = len(g.get_operations())
        body_tanh = next(op.name for op in g.get_operations()
                         if op.type == "tanh" and op.context is not None)
        session = tf.Session()
        session.run(tf.global_variables_initializer())

    runs, drawings = [], {}
    with session:
        for length in lengths:
            data = _sequences(length, seed=length)
            eager_last = eager_rnn(cell, eager.tensor(data))
            nodes, _ = eager.viz.describe(eager_last, params=cell, show_saved=False)
            if length in DRAWN_LENGTHS:
                drawings[length] = eager.viz.draw(
                    eager_last, params=cell, show_saved=False,
                    title=f"eager: the tape for length {length}")
            metadata = tf.RunMetadata()
            state = session.run(last, {inputs: data}, run_metadata=metadata)
            runs.append(LengthRun(
                length, sum(node.kind == "op" for node in nodes), graph_ops,
                len(metadata.executed_ops), metadata.op_counts.get(body_tanh, 0),
                float(np.max(np.abs(eager_last.detach().numpy() - state)))))
    return LoopFacts(runs, drawings, graph_drawing)


# -- the section -------------------------------------------------------------------------------


def section_for(facts: LoopFacts) -> Section:
    """The report section of `collect`'s facts."""
    runs = facts.runs
    section = Section(
        "dynamic-loops", "Dynamic loops: a Python `for` against `tf.while_loop`",
        "A tanh RNN cell over batches of sequences of different lengths, with the same weights "
        "both ways.")
    section.add(SideBySide(
        [Code(source_without_docstring(eager_rnn), "eager: a Python `for` over the time steps")],
        [Code(source_without_docstring(graph_rnn), "graph: `tf.while_loop` over a (None, batch, "
              "features) placeholder")]))
    section.add(SideBySide(
        [Picture(facts.eager_drawings[length],
                 f"eager, length {length}: {run.eager_ops} ops recorded (saved values hidden)")
         for length in DRAWN_LENGTHS for run in runs if run.length == length],
        [Picture(facts.graph_drawing,
                 f"graph: {runs[0].graph_ops} ops, the same for every length")]))
    section.add(Table(
        ["length", "eager: ops recorded", "graph: ops in the graph",
         "graph: op executions", "graph: loop body runs", "max |eager - graph|"],
        [[str(r.length), str(r.eager_ops), str(r.graph_ops), str(r.graph_executions),
          str(r.body_executions), f"{r.max_difference:.2e}"] for r in runs],
        "one row per sequence length: the last state h_T computed both ways"))
    per_step = _per_step(runs)
    worst = max(r.max_difference for r in runs)
    section.add(Text(
        f"Eager records a new graph for every length: {per_step} more ops per time step "
        f"({runs[0].eager_ops} ops for length {runs[0].length}, {runs[-1].eager_ops} for "
        f"length {runs[-1].length}). The graph is built once, with {runs[0].graph_ops} ops "
        "(the loop, its body, the variables and their initializers), and the same graph runs "
        "every length: "
        "what grows with the length is the number of executions, not the graph. Only the "
        "sequence is fed: the loop reads its length at run time with `tf.shape(inputs)[0]`, "
        "as the placeholder's first dimension is unknown (None) when the graph is built. The "
        f"last states agree both ways to {worst:.1e} (float32)."))
    section.summary = (
        f"eager recorded {', '.join(str(r.eager_ops) for r in runs)} ops for lengths "
        f"{', '.join(str(r.length) for r in runs)}; the graph has {runs[0].graph_ops} ops for "
        f"all of them; results agree to {worst:.1e}")
    return section


def _per_step(runs) -> str:
    """The growth of the eager tape per time step, as text ('4' or 'about 4')."""
    first, last = runs[0], runs[-1]
    if last.length == first.length:
        return "0"
    slope = (last.eager_ops - first.eager_ops) / (last.length - first.length)
    return f"{slope:g}" if slope == int(slope) else f"about {slope:.1f}"


def run(small: bool = False) -> Section:
    """The dynamic-loops section (`small`: lengths 1, 3 and 6 only)."""
    return section_for(collect(small))


def main(small: bool = False) -> str:
    """The section as terminal text."""
    return run(small).text()


if __name__ == "__main__":
    print(main())
