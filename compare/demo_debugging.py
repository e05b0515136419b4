"""`python -m compare debugging`: where each front-end reports a bug, and when.

Two bugs are planted in a small model written both ways.

- A shape bug: the second layer expects 6 features but the first one gives 8. Eager builds the
  model without complaint (a layer does not know what it will be fed) and fails at run time,
  in the first forward pass, at the line that applies the layer; the ordinary Python traceback
  ends there. The graph front-end knows every static shape while the graph is built, so it
  fails at build time, before any Session or data exists, naming the line that created the
  offending op.
- A data-dependent failure: the model takes the log of its input, and one batch holds a
  negative value. Neither front-end raises by itself: the loss silently becomes NaN. Each side
  has a tool that names the op and the line where the first NaN appeared: eager's
  `detect_anomaly()` checks every op's output as it runs; in the graph,
  `add_check_numerics_ops()` adds a check after every floating-point op, run with the fetches.
"""

from __future__ import annotations

import linecache
import os
import traceback
from dataclasses import dataclass

import numpy as np

import eager
import graph as tf
from compare.sections import Code, Section, SideBySide, Table, Text, source_without_docstring
from framework.errors import DualgraphError

__all__ = ["EagerClassifier", "eager_log_model", "graph_classifier", "graph_log_model", "main",
           "run"]

FEATURES, HIDDEN, CLASSES = 4, 8, 3


# -- the shape bug, both ways ------------------------------------------------------------------


class EagerClassifier(eager.nn.Module):
    """Two linear layers; the second expects 6 features where the first gives 8 (the bug)."""

    def __init__(self):
        super().__init__()
        self.hidden = eager.nn.Linear(FEATURES, HIDDEN)
        self.output = eager.nn.Linear(6, CLASSES)  # the bug: 6, not HIDDEN (8)

    def forward(self, x):
        hidden = self.hidden(x).relu()
        return self.output(hidden)  # eager fails here, as data flows


def graph_classifier(x):
    """The same two layers as graph variables, with the same planted bug."""
    w1 = tf.Variable(tf.random_normal((FEATURES, HIDDEN), seed=0), name="w1")
    b1 = tf.Variable(tf.zeros((HIDDEN,)), name="b1")
    hidden = tf.nn.relu(tf.matmul(x, w1) + b1)
    # the bug: 6 rows, not HIDDEN (8)
    w2 = tf.Variable(tf.random_normal((6, CLASSES), seed=1), name="w2")
    b2 = tf.Variable(tf.zeros((CLASSES,)), name="b2")
    return tf.matmul(hidden, w2) + b2  # the graph fails here, while built


# -- the NaN, both ways ------------------------------------------------------------------------


def eager_log_model(x, w):
    """A loss on log-features: a negative input gives NaN."""
    features = x.log()  # the first NaN appears here
    return ((features @ w) ** 2).mean()


def graph_log_model(x, w):
    """The same loss in the graph."""
    features = tf.log(x, name="features")  # the first NaN appears here
    return tf.reduce_mean(tf.square(tf.matmul(features, w)), name="loss")


# -- running it --------------------------------------------------------------------------------


@dataclass
class Report:
    """Where one side reported one bug."""

    side: str  # "eager" or "graph"
    when: str  # in words: build time, run time...
    error: Exception
    filename: str
    lineno: int
    line: str  # the source text of the reported line
    op: str = ""  # the op the report names (NaN tools)

    @property
    def where(self) -> str:
        return f"line {self.lineno}: {self.line}"

    @property
    def raised_in_session(self) -> bool:
        """Whether the error came out of a `Session.run` (else: while the code built or ran)."""
        frames = traceback.extract_tb(self.error.__traceback__)
        return any(frame.filename.endswith(os.path.join("graph", "session.py"))
                   for frame in frames)


@dataclass
class DebuggingFacts:
    eager_shape: Report
    graph_shape: Report
    eager_losses: tuple[float, float]  # clean batch, bad batch, without the tool
    graph_losses: tuple[float, float]
    eager_nan: Report
    graph_nan: Report


CLEAN_BATCH = np.array([[1.0, 2.0, 0.5, 3.0], [0.2, 1.5, 2.5, 1.0]], np.float32)
BAD_BATCH = np.array([[1.0, 2.0, 0.5, 3.0], [0.2, -1.5, 2.5, 1.0]], np.float32)  # one negative
LOG_WEIGHTS = np.array([[0.5, -0.2], [0.1, 0.3], [-0.4, 0.2], [0.3, 0.1]], np.float32)


def _report(side, when, error, site, op="") -> Report:
    return Report(side, when, error, site.filename, site.lineno, (site.line or "").strip(), op)


def eager_shape_bug() -> Report:
    model = EagerClassifier()  # built without complaint: a layer does not know its input yet
    try:
        model(eager.randn(2, FEATURES))
    except DualgraphError as error:
        return _report("eager", "run time: the first forward pass", error, error.site)
    raise AssertionError("the planted shape bug did not fail in eager")


def graph_shape_bug() -> Report:
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, FEATURES), name="x")
        try:
            graph_classifier(x)  # building only: no Session, no data yet
        except DualgraphError as error:
            return _report("graph", "build time: before any Session or data", error,
                           error.site)
    raise AssertionError("the planted shape bug did not fail while building the graph")


def eager_nan() -> tuple[tuple[float, float], Report]:
    """The eager losses on both batches without the tool, and detect_anomaly's report."""
    w = eager.tensor(LOG_WEIGHTS, requires_grad=True)
    losses = tuple(float(eager_log_model(eager.tensor(batch), w).item())
                   for batch in (CLEAN_BATCH, BAD_BATCH))
    try:
        with eager.detect_anomaly():
            eager_log_model(eager.tensor(BAD_BATCH), w)
    except eager.AnomalyError as error:
        filename, lineno, _ = error.site
        line = linecache.getline(filename, lineno).strip()
        return losses, Report("eager", "run time: the op that made the NaN, as it ran",
                              error, filename, lineno, line, error.op)
    raise AssertionError("detect_anomaly did not catch the planted NaN")


def graph_nan() -> tuple[tuple[float, float], Report]:
    """The graph losses on both batches without the checks, and the checks' report."""
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, FEATURES), name="x")
        w = tf.Variable(LOG_WEIGHTS, name="w")
        loss = graph_log_model(x, w)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            losses = tuple(float(sess.run(loss, {x: batch})) for batch in (CLEAN_BATCH,
                                                                           BAD_BATCH))
            check = tf.add_check_numerics_ops()
            sess.run([loss, check], {x: CLEAN_BATCH})  # a clean batch passes every check
            try:
                sess.run([loss, check], {x: BAD_BATCH})
            except tf.NumericsError as error:
                return losses, _report("graph", "run time: the check after the op, in the "
                                       "same Session.run", error, error.site,
                                       f"{error.tensor.op.name} ({error.tensor.op.type})")
    raise AssertionError("add_check_numerics_ops did not catch the planted NaN")


def collect(small: bool = False) -> DebuggingFacts:
    """Every report the section shows (the demo is small either way)."""
    del small
    eager_shape = eager_shape_bug()
    graph_shape = graph_shape_bug()
    eager_losses, eager_report = eager_nan()
    graph_losses, graph_report = graph_nan()
    return DebuggingFacts(eager_shape, graph_shape, eager_losses, graph_losses, eager_report,
                          graph_report)


# -- the section -------------------------------------------------------------------------------


def _number(value: float) -> str:
    return "NaN" if np.isnan(value) else f"{value:.4g}"


def _first_line(error) -> str:
    return str(error).splitlines()[0]


def section_for(facts: DebuggingFacts) -> Section:
    """The report section of `collect`'s facts."""
    section = Section(
        "debugging", "Debugging: where each front-end reports a bug",
        "A shape bug and a data-dependent NaN planted in one small model written both ways.")
    section.add(Text(
        "The shape bug: the second layer expects 6 input features, but the first layer gives "
        f"{HIDDEN}."))
    section.add(SideBySide(
        [Code(source_without_docstring(EagerClassifier), "eager: an nn.Module")],
        [Code(source_without_docstring(graph_classifier), "graph: variables and tf.matmul")]))
    section.add(SideBySide(
        [Code(str(facts.eager_shape.error),
              f"eager: {type(facts.eager_shape.error).__name__}, at {facts.eager_shape.when}",
              wrap=True)],
        [Code(str(facts.graph_shape.error),
              f"graph: {type(facts.graph_shape.error).__name__}, at {facts.graph_shape.when}",
              wrap=True)]))
    section.add(Table(
        ["front-end", "when it fails", "the line it names"],
        [[r.side, r.when, r.where] for r in (facts.eager_shape, facts.graph_shape)],
        "the shape bug"))
    section.add(Text(
        "Eager built the model and failed only when a batch flowed through it, at the line "
        "of forward() that applied the layer: the traceback is an ordinary Python one. The "
        "graph failed while the graph was being built, before any Session existed or any "
        f"data was fed, because the static shapes (None, {HIDDEN}) and (6, {CLASSES}) cannot "
        "be multiplied; the error names the line that created the matmul."))

    section.add(Text(
        "The NaN: one batch holds a negative input and the model takes its log. Without a "
        "tool, neither side complains: the loss on the clean batch is "
        f"{facts.eager_losses[0]:.4g} (eager) and {facts.graph_losses[0]:.4g} (graph), on "
        f"the bad batch {_number(facts.eager_losses[1])} and "
        f"{_number(facts.graph_losses[1])}, with no error raised."))
    section.add(SideBySide(
        [Code(source_without_docstring(eager_log_model), "eager: the loss on log-features"),
         Code("with eager.detect_anomaly():\n    loss = eager_log_model(x, w)",
              "the tool: anomaly mode checks each op's output as it runs")],
        [Code(source_without_docstring(graph_log_model), "graph: the same loss"),
         Code("check = tf.add_check_numerics_ops()\nsess.run([loss, check], feed_dict)",
              "the tool: a check after every floating-point op, run with the fetches")]))
    section.add(SideBySide(
        [Code(str(facts.eager_nan.error), "eager: AnomalyError", wrap=True)],
        [Code(str(facts.graph_nan.error), "graph: NumericsError", wrap=True)]))
    section.add(Table(
        ["front-end", "loss, clean batch", "loss, bad batch", "the tool names", "at"],
        [[r.side, _number(losses[0]), _number(losses[1]), f"op {r.op!r}", r.where]
         for r, losses in ((facts.eager_nan, facts.eager_losses),
                           (facts.graph_nan, facts.graph_losses))],
        "the NaN, with each side's tool"))
    section.add(Text(
        "A PyTorch user should note one difference: `torch.autograd.detect_anomaly()` "
        "raises only when a backward function returns a NaN (in the forward pass it only "
        "records where each op was created), so there this NaN would surface in "
        "`backward()`, at the first gradient that comes out NaN: that of `** 2`, whose "
        "saved input is already NaN, not the log's. eager's `detect_anomaly()` also checks every "
        "forward output, so it stops at the log itself. TensorFlow 1's `add_check_numerics_ops()` "
        "works as shown: one CheckNumerics op per floating-point tensor, run with the fetches."))
    section.summary = (
        f"shape bug: eager fails at run time at line {facts.eager_shape.lineno} (forward), the "
        f"graph at build time at line {facts.graph_shape.lineno}, before any Session; NaN: "
        f"detect_anomaly names op {facts.eager_nan.op!r} at line {facts.eager_nan.lineno}, "
        f"add_check_numerics_ops names op {facts.graph_nan.op!r} at line "
        f"{facts.graph_nan.lineno}")
    return section


def run(small: bool = False) -> Section:
    """The debugging section (the same at every size: it is small already)."""
    return section_for(collect(small))


def main(small: bool = False) -> str:
    """The section as terminal text."""
    return run(small).text()


if __name__ == "__main__":
    print(main())
