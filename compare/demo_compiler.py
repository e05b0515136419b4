"""`python -m compare compiler`: what the graph compiler does to the digits MLP's training step.

A static graph exists so that it can be optimized as a whole before it runs. The Session
compiles a plan (here explicitly, with `Session.compile`): the shape rules run once on the
feeds' shapes, the passes rewrite the step without changing a bit of what it computes, and code
generation turns it into one numba function that runs the whole training step, kernels,
updates and all, with one Python call (graph.compile.nopython). The section shows the step before
and after the passes, what each pass changed, the generated source, and the time per step
interpreted and compiled, measured in one run on this machine.

What to look for: the mean's gradient depends only on the batch size, known when compiling,
so it is folded into a constant; duplicated gradient ops are merged; elementwise chains become
one kernel; every intermediate value is freed after its last use.
"""

from __future__ import annotations

import numpy as np

import graph as tf
from compare.sections import Code, Picture, Section, SideBySide, Table, Text
from compare.timing import format_seconds, time_call
from framework.datasets import load_digits

__all__ = ["build_training_step", "main", "run"]

HIDDEN = 64
BATCH = 32


def build_training_step(hidden: int = HIDDEN):
    """The MLP training step as TensorFlow 1 writes it: (graph, images, labels, train, loss)."""
    graph = tf.Graph()
    with graph.as_default():
        images = tf.placeholder(tf.float32, (None, 64), name="images")
        labels = tf.placeholder(tf.int64, (None,), name="labels")
        hidden_1 = tf.layers.dense(images, hidden, tf.nn.relu, name="dense1")
        hidden_2 = tf.layers.dense(hidden_1, hidden, tf.nn.relu, name="dense2")
        logits = tf.layers.dense(hidden_2, 10, name="logits")
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=labels, logits=logits), name="loss")
        train = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    return graph, images, labels, train, loss


def _step_time(session, fetches, feed, repeats: int) -> float:
    for _ in range(3):
        session.run(fetches, feed)  # warm: kernels compiled, the plan compiled or not
    return float(np.median([time_call(lambda: session.run(fetches, feed))
                            for _ in range(repeats)]))


def run(small: bool = False) -> Section:
    """Compile the MLP step, time it interpreted and compiled (`small`: fewer repeats)."""
    graph, images, labels, train, loss = build_training_step()
    x, y = load_digits(flat=True, split="train")
    feed = {images: x[:BATCH].astype(np.float32), labels: y[:BATCH]}
    repeats = 20 if small else 200
    with graph.as_default():
        init = tf.global_variables_initializer()
        sessions = {mode: tf.Session(compile=mode == "compiled")
                    for mode in ("interpreted", "compiled")}
        for session in sessions.values():
            session.run(init)
        compiled = sessions["compiled"].compile([train, loss], feed)
        times = {mode: _step_time(session, [train, loss], feed, repeats)
                 for mode, session in sessions.items()}
    for session in sessions.values():
        session.close()
    speedup = times["interpreted"] / times["compiled"]
    built_nodes = len(compiled.stages[0][1][0])
    section = Section(
        "compiler", "The graph compiler",
        "The digits MLP's training step (forward, loss, gradients, SGD update) as the "
        "Session runs it: interpreted op by op, and compiled. The passes keep every bit; the "
        "compiled step gives the interpreter's losses exactly.",
        summary=(f"training step {format_seconds(times['interpreted'])} interpreted, "
                 f"{format_seconds(times['compiled'])} compiled ({speedup:.1f}x); "
                 f"{built_nodes} nodes -> {len(compiled.program.nodes)}, compiled in "
                 f"{format_seconds(compiled.seconds)}"))
    section.add(
        SideBySide(
            [Picture(compiled.draw("built"), "the step as planned: every op of the plan")],
            [Picture(compiled.draw(), "after the passes: folded, merged, dead code gone")],
            left_title="before the passes", right_title="after the passes"),
        Code(compiled.explain(), "the passes, in order (compiled.explain())"),
        Table(["mode", "time per step (median)", "nodes", "peak bytes of the step's values"],
              [["interpreted", format_seconds(times["interpreted"]), str(built_nodes),
                "all kept until the run ends"],
               ["compiled", format_seconds(times["compiled"]),
                str(len(compiled.program.nodes)), f"{compiled.peak_bytes:,}"]],
              f"batch {BATCH}, measured in one run on this machine"),
        Code(compiled.source(), "the generated step (compiled.source()): the numba "
                                "function, each op's statements under a comment naming the "
                                "op and the line that created it, then the Python step that "
                                "calls it and stages the variables' new values"),
        Text("Chains of elementwise ops run as one generated kernel each, with the separate "
             "kernels' bits, and the whole step is one numba function whose machine code "
             "numba keeps on disk, so a second process compiling this graph reads it back "
             "instead of compiling it again."),
    )
    return section


def main(small: bool = False) -> str:
    """The demo as terminal text."""
    return run(small).text()
