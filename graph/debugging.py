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

import numpy as np

from framework.errors import DualgraphError
from framework.ops.registry import Spec
from graph.core import GraphError, Tensor, constant, get_default_graph
from graph.ops import GraphOp, register_graph_op
from graph.variables import group

__all__ = ["NumericsError", "add_check_numerics_ops", "check_numerics"]

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

