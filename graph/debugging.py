"""TensorFlow 1's NaN tools for the graph: `check_numerics` and `add_check_numerics_ops`.

A graph computes nothing while it is built, so a NaN can only be caught when a Session runs it.
`check_numerics(t, message)` adds an op that passes `t` through unchanged and fails the run
when `t` holds a NaN or an infinity, naming the message, the op that computed `t` and the line
that created it. `add_check_numerics_ops()` puts such a check after every floating-point output
of the graph and returns one op to run with the fetches, so the first bad value is reported at
the op that made it rather than at the loss, many ops later.

The check is an ordinary op: its gradient passes the incoming gradient through, checked in turn
(a NaN that appears only in the backward pass is named too).
"""

from __future__ import annotations

import sys
import threading

import numpy as np

from framework.errors import DualgraphError
from framework.ops.registry import Spec
from graph.core import GraphError, Tensor, constant, get_default_graph
from graph.ops import GraphOp, register_graph_op
from graph.variables import group

__all__ = ["Assert", "AssertionFailedError", "NumericsError", "Print", "add_check_numerics_ops",
           "assert_equal", "check_numerics", "print_"]

class NumericsError(DualgraphError, ArithmeticError):
    """A checked tensor held NaN or Inf at run time (TensorFlow's InvalidArgumentError).

    `tensor` is the checked graph Tensor; `tensor.op` computed it (`.name`, `.type`, `.site`).
    """

    tensor = None


def check_numerics(tensor, message, name=None) -> Tensor:
    """`tensor`, unchanged, or a `NumericsError` at run time if it holds a NaN or an infinity.

    The error names `message`, the checked tensor, the op that computed it and the line that
    created that op. `tensor` must have a floating-point dtype.

    >>> import graph as tf
    >>> from graph.debugging import check_numerics
    >>> with tf.Graph().as_default():
    ...     x = tf.placeholder(tf.float32, (2,))
    ...     y = check_numerics(tf.log(x), "log of the input")
    ...     sess = tf.Session()
    >>> print(sess.run(y, {x: [1.0, 1.0]}))
    [0. 0.]
    >>> sess.run(y, {x: [1.0, -1.0]})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    graph.debugging.NumericsError: log of the input: 'log:0' holds NaN (1 of 2 values)...
    """
    if not isinstance(tensor, Tensor):
        tensor = constant(tensor)
    if tensor.dtype.kind != "f":
        raise GraphError(f"check_numerics: {tensor.name!r} has dtype {tensor.dtype}; only "
                         "floating-point tensors can hold NaN or Inf")
    if not isinstance(message, str):
        raise GraphError(f"check_numerics: message must be a str, got {message!r}")
    graph = tensor.graph
    op = graph.add_operation(_CHECK_NUMERICS, [tensor], name=name or "CheckNumerics",
                             attrs={"message": message})
    return op.outputs[0]


def add_check_numerics_ops():
    """Check every floating-point output in the default graph; returns one op to run.

    Run the returned op together with the fetches (`sess.run([train_op, check], feed)`): the
    run fails at the first op, in creation order, whose output holds NaN or Inf. Every checked
    op then runs, so every placeholder it needs must be fed. Ops inside a `cond` branch or a
    `while_loop` body are not checked one by one (their values exist only while the branch or
    iteration runs); the cond's or loop's outputs are. Assigns and variables are skipped, so
    running the checks changes no variable. Ops created afterwards are not checked.

    >>> import graph as tf
    >>> from graph.debugging import add_check_numerics_ops
    >>> with tf.Graph().as_default():
    ...     x = tf.placeholder(tf.float32, (), name="x")
    ...     y = tf.sqrt(x, name="root") * 2.0
    ...     check = add_check_numerics_ops()
    ...     with tf.Session() as sess:
    ...         sess.run([y, check], {x: -4.0})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    graph.debugging.NumericsError: 'root:0' holds NaN (1 of 1 values)...
    """
    graph = get_default_graph()
    checks = []
    with graph.name_scope("check_numerics"):
        for op in graph.get_operations():
            # Running a check of an assign would run the assign; a variable's value is checked
            # where an op reads it.
            kind = op.kind
            if (kind.assigns or kind.is_variable or isinstance(kind, CheckNumerics)
                    or op.context is not None):
                continue
            for output in op.outputs:
                if output.dtype.kind == "f":
                    checks.append(check_numerics(output, output.name))
    return group(*checks, name="check_numerics_ops")


@register_graph_op
class CheckNumerics(GraphOp):
    """Its input, unchanged, or a NumericsError at run time if it holds a NaN or an infinity
    (`attrs["message"]` says what was checked)."""

    name = "CheckNumerics"

    def infer(self, inputs, attrs):
        return [Spec(inputs[0].shape, inputs[0].dtype)]

    def run(self, run, op, inputs):
        return _run_check_numerics(op, inputs)

    def gradient(self, op, cotangents, needs):
        grad = cotangents[0]
        if grad is None:
            return [None]
        return [check_numerics(grad, f"the gradient of {op.inputs[0].name!r} "
                                     f"({op.attrs['message']})")]


_CHECK_NUMERICS = CheckNumerics()


def _run_check_numerics(op, inputs):
    value = inputs[0]
    array = np.asarray(value)
    if np.isfinite(array).all():
        return (value,)
    checked = op.inputs[0]
    has_nan, has_inf = bool(np.isnan(array).any()), bool(np.isinf(array).any())
    found = " and ".join(kind for kind, present in (("NaN", has_nan), ("Inf", has_inf))
                         if present)
    bad = int(array.size - np.isfinite(array).sum())
    producer = checked.op
    message = op.attrs["message"]
    prefix = "" if message == checked.name else f"{message}: "  # add_check_numerics_ops' own
    error = NumericsError(
        f"{prefix}{checked.name!r} holds {found} ({bad} of {array.size} values); op "
        f"{producer.name!r} (type {producer.type}) computed it", producer.site)
    error.tensor = checked
    raise error



def Print(input_, data=None, message=None, first_n=None, summarize=None, name=None) -> Tensor:  # noqa: N802
    """`input_`, unchanged; each time a run computes it, `message` and the values of the tensors
    in `data` are written to stderr (the first `summarize` entries of each, 3 by default; only
    the first `first_n` times when given), as TensorFlow 1's tf.Print does.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     x = tf.constant([1.0, 2.0])
    ...     print(sess.run(tf.Print(x, [x], "x is ")))
    [1. 2.]
    """
    if not isinstance(input_, Tensor):
        input_ = constant(input_)
    data = [d if isinstance(d, Tensor) else constant(d) for d in (data or [])]
    if message is not None and not isinstance(message, str):
        raise GraphError(f"Print: message must be a str, got {message!r}")
    for what, value in (("first_n", first_n), ("summarize", summarize)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise GraphError(f"Print: {what} must be an int, got {value!r}")
    op = input_.graph.add_operation(
        _PRINT, [input_, *data], name=name or "Print",
        attrs={"message": message or "", "first_n": first_n,
               "summarize": 3 if summarize is None else summarize, "printed": [0],
               "lock": threading.Lock()})
    return op.outputs[0]


@register_graph_op
class PrintOp(GraphOp):
    """Its first input, unchanged; running it writes attrs["message"] and the other inputs'
    values to stderr."""

    name = "Print"

    def infer(self, inputs, attrs):
        return [Spec(inputs[0].shape, inputs[0].dtype)]

    def run(self, run, op, inputs):
        attrs = op.attrs
        with attrs["lock"]:
            first_n = attrs["first_n"]
            if first_n is None or first_n < 0 or attrs["printed"][0] < first_n:
                attrs["printed"][0] += 1
                limit = attrs["summarize"]
                parts = []
                for value in inputs[1:]:
                    flat = np.asarray(value).reshape(-1)
                    shown = flat if limit < 0 else flat[:limit]
                    text = " ".join(str(v) for v in shown)
                    parts.append(f"[{text}{'...' if shown.size < flat.size else ''}]")
                print(attrs["message"] + "".join(parts), file=sys.stderr)
        return (inputs[0],)

    def gradient(self, op, cotangents, needs):
        return [cotangents[0]] + [None] * (len(op.inputs) - 1)


_PRINT = PrintOp()


class AssertionFailedError(DualgraphError, AssertionError):
    """A tf.Assert (or tf.assert_equal) found its condition False when the graph ran
    (TensorFlow's InvalidArgumentError); the message names the op's line and its data."""


def _summary(value, summarize) -> str:
    flat = np.asarray(value).reshape(-1)
    shown = flat if summarize < 0 else flat[:summarize]
    return "[" + " ".join(str(v) for v in shown) + ("..." if shown.size < flat.size else "") + "]"


def Assert(condition, data, summarize=None, name=None):  # noqa: N802  (TensorFlow's name)
    """An op that, when run, raises AssertionFailedError with the values of `data` if the bool
    scalar `condition` is False; run it, or make other ops depend on it
    (tf.control_dependencies), to check.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     x = tf.placeholder(tf.float32, ())
    ...     check = tf.Assert(x > 0.0, [x])
    ...     print(sess.run(check, {x: 1.0}))
    None
    """
    if not isinstance(condition, Tensor):
        condition = constant(condition)
    if condition.dtype != np.bool_ or condition.ndim != 0:
        raise GraphError(f"Assert: condition must be a bool scalar, got {condition.name!r} of "
                         f"shape {condition.shape} and dtype {condition.dtype}")
    data = [d if isinstance(d, Tensor) else constant(d) for d in data]
    if summarize is not None and (isinstance(summarize, bool) or not isinstance(summarize, int)):
        raise GraphError(f"Assert: summarize must be an int, got {summarize!r}")
    return condition.graph.add_operation(
        _ASSERT, [condition, *data], name=name or "Assert",
        attrs={"summarize": 3 if summarize is None else summarize, "message": ""})


def assert_equal(x, y, data=None, summarize=None, message=None, name=None):
    """An Assert op that x == y everywhere (broadcasting); `message` opens the error, and the
    error shows `data` (x and y by default)."""
    from graph.api import equal, reduce_all

    x = x if isinstance(x, Tensor) else constant(x)
    y = y if isinstance(y, Tensor) else constant(y, dtype=x.dtype)
    op = Assert(reduce_all(equal(x, y)), [x, y] if data is None else data, summarize,
                name=name or "assert_equal")
    op.attrs["message"] = message or f"Condition x == y did not hold ({x.name!r}, {y.name!r})"
    return op


@register_graph_op
class AssertOp(GraphOp):
    """Produces nothing; running it raises AssertionFailedError if its first input is False."""

    name = "Assert"
    no_gradient = "no outputs"
    names_itself = True

    def infer(self, inputs, attrs):
        return []

    def run(self, run, op, inputs):
        if not bool(np.asarray(inputs[0])):
            shown = " ".join(_summary(v, op.attrs["summarize"]) for v in inputs[1:])
            opening = op.attrs["message"] or "assertion failed"
            raise AssertionFailedError(f"{op.name}: {opening}: {shown}", op.site)
        return ()


_ASSERT = AssertOp()


def print_(*inputs, output_stream=None, summarize=3, sep=" ", end="\n", name=None):
    """TensorFlow's tf.print: an op that, each time it runs, writes `inputs` (strings as they
    are, tensors as their values, the first and last `summarize` entries of each axis) joined by
    `sep` to `output_stream` (sys.stderr, the default, or sys.stdout, as they are when it
    runs). Run it, or make ops depend on it.

    >>> import sys
    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     show = tf.print("x:", tf.constant([1, 2]), output_stream=sys.stdout)
    ...     _ = sess.run(show)
    x: [1 2]
    """
    streams = {id(sys.stdout): "stdout", id(sys.__stdout__): "stdout", id(None): "stderr",
               id(sys.stderr): "stderr", id(sys.__stderr__): "stderr"}
    if id(output_stream) not in streams:
        raise GraphError("print: output_stream must be sys.stderr or sys.stdout")
    if isinstance(summarize, bool) or not isinstance(summarize, int):
        raise GraphError(f"print: summarize must be an int, got {summarize!r}")
    pieces, tensors = [], []
    for item in inputs:
        if isinstance(item, str):
            pieces.append(item)
        else:
            tensors.append(item if isinstance(item, Tensor) else constant(item))
            pieces.append(None)
    graph = tensors[0].graph if tensors else get_default_graph()
    return graph.add_operation(
        _PRINT_V2, tensors, name=name or "PrintV2",
        attrs={"pieces": tuple(pieces), "stream": streams[id(output_stream)],
               "summarize": summarize, "sep": sep, "end": end})


@register_graph_op
class PrintV2(GraphOp):
    """Produces nothing; running it writes its strings and input values to a stream."""

    name = "PrintV2"
    no_gradient = "no outputs"

    def infer(self, inputs, attrs):
        return []

    def run(self, run, op, inputs):
        attrs = op.attrs
        values = iter(inputs)
        limit = attrs["summarize"]
        options = {} if limit < 0 else {"edgeitems": limit, "threshold": 2 * limit}
        texts = [piece if piece is not None else
                 np.array2string(np.asarray(next(values)), **options)
                 for piece in attrs["pieces"]]
        stream = sys.stdout if attrs["stream"] == "stdout" else sys.stderr
        stream.write(attrs["sep"].join(texts) + attrs["end"])
        return ()


_PRINT_V2 = PrintV2()
