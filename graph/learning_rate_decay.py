"""TensorFlow 1's learning-rate schedules (`tf.train.exponential_decay`, `piecewise_constant`,
`polynomial_decay`): scalar tensors computed from the global step when the graph runs.

Pass the result as an optimizer's learning rate and `global_step` to `minimize`: each training
step reads the rate of the step before it increments the step, as in TensorFlow.

>>> import graph as tf
>>> with tf.Graph().as_default():
...     step = tf.train.get_or_create_global_step()
...     rate = tf.train.exponential_decay(0.1, step, decay_steps=10, decay_rate=0.5)
...     with tf.Session() as sess:
...         sess.run(tf.global_variables_initializer())
...         step.load(20, sess)
...         print(sess.run(rate))
0.025
"""

from __future__ import annotations

import numpy as np

from framework import dtypes
from framework.ops import F
from graph.api import _python_value_dtype
from graph.core import GraphError, Tensor, cast_checked, constant, get_default_graph

__all__ = ["cosine_decay", "exponential_decay", "inverse_time_decay", "natural_exp_decay",
           "piecewise_constant", "polynomial_decay"]


def _rate(function: str, value) -> Tensor:
    """The initial learning rate as a scalar float tensor (a Python float becomes float32)."""
    if isinstance(value, Tensor):
        tensor = value
    else:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise GraphError(f"{function}: learning_rate must be a number or a scalar float "
                             f"tensor, got {value!r}")
        tensor = constant(value, dtype=value.dtype if isinstance(value, np.floating) else
                          dtypes.float32, name="learning_rate")
    if tensor.ndim != 0 or not dtypes.is_float(tensor.dtype):
        raise GraphError(f"{function}: learning_rate must be a scalar float, got "
                         f"{tensor.name!r} of shape {tensor.shape} and dtype {tensor.dtype}")
    return tensor


def _step(function: str, global_step, dtype) -> Tensor:
    if global_step is None:
        raise GraphError(f"{function}: global_step is required (e.g. "
                         f"tf.train.get_or_create_global_step())")
    step = global_step if isinstance(global_step, Tensor) else constant(global_step)
    if step.ndim != 0 or step.dtype.kind not in "iuf":
        raise GraphError(f"{function}: global_step must be a scalar number, got "
                         f"{step.name!r} of shape {step.shape} and dtype {step.dtype}")
    return step if step.dtype == dtype else F.cast(step, dtype)


def _number(function: str, what: str, value, dtype, positive=False):
    """A hyper-parameter as a Python float (or a scalar tensor cast to `dtype`)."""
    if isinstance(value, Tensor):
        if value.ndim != 0 or value.dtype.kind not in "iuf":
            raise GraphError(f"{function}: {what} must be a scalar number, got {value.name!r} "
                             f"of shape {value.shape} and dtype {value.dtype}")
        return value if value.dtype == dtype else F.cast(value, dtype)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or \
            not np.isfinite(value) or (positive and not value > 0):
        kind = "a positive" if positive else "a finite"
        raise GraphError(f"{function}: {what} must be {kind} number, got {value!r}")
    return float(value)


def _floor(x):
    return F.floor_divide(x, 1.0)


def exponential_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False,
                      name=None):
    """learning_rate * decay_rate ^ (global_step / decay_steps); with staircase=True the
    exponent is rounded down, so the rate drops every decay_steps steps.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.train.exponential_decay(1.0, 15, 10, 0.5, staircase=True)))
    0.5
    """
    function = "exponential_decay"
    graph = get_default_graph()
    with graph.name_scope(name, "ExponentialDecay") as scope:
        rate = _rate(function, learning_rate)
        step = _step(function, global_step, rate.dtype)
        steps = _number(function, "decay_steps", decay_steps, rate.dtype, positive=True)
        decay = _number(function, "decay_rate", decay_rate, rate.dtype)
        exponent = F.div(step, steps)
        if staircase:
            exponent = _floor(exponent)
        decay = decay if isinstance(decay, Tensor) else constant(decay, dtype=rate.dtype,
                                                                 name="decay_rate")
        return graph.name_result(F.mul(rate, F.pow(decay, exponent)), scope)


def _time_decay(function, default_name, learning_rate, global_step, decay_steps, decay_rate,
                staircase, name, schedule):
    graph = get_default_graph()
    with graph.name_scope(name, default_name) as scope:
        rate = _rate(function, learning_rate)
        step = _step(function, global_step, rate.dtype)
        steps = _number(function, "decay_steps", decay_steps, rate.dtype, positive=True)
        decay = _number(function, "decay_rate", decay_rate, rate.dtype)
        progress = F.div(step, steps)
        if staircase:
            progress = _floor(progress)
        return graph.name_result(schedule(rate, F.mul(progress, decay)), scope)


def inverse_time_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False,
                       name=None):
    """learning_rate / (1 + decay_rate * global_step / decay_steps); with staircase=True the
    ratio global_step / decay_steps is rounded down.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.train.inverse_time_decay(1.0, 20, 10, 0.5)))
    0.5
    """
    return _time_decay("inverse_time_decay", "InverseTimeDecay", learning_rate, global_step,
                       decay_steps, decay_rate, staircase, name,
                       lambda rate, scaled: F.div(rate, F.add(scaled, 1.0)))


def natural_exp_decay(learning_rate, global_step, decay_steps, decay_rate, staircase=False,
                      name=None):
    """learning_rate * exp(-decay_rate * global_step / decay_steps); with staircase=True the
    ratio global_step / decay_steps is rounded down.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(round(float(sess.run(tf.train.natural_exp_decay(1.0, 10, 10, 1.0))), 6))
    0.367879
    """
    return _time_decay("natural_exp_decay", "NaturalExpDecay", learning_rate, global_step,
                       decay_steps, decay_rate, staircase, name,
                       lambda rate, scaled: F.mul(rate, F.exp(F.neg(scaled))))


def cosine_decay(learning_rate, global_step, decay_steps, alpha=0.0, name=None):
    """learning_rate * ((1 - alpha) * 0.5 * (1 + cos(pi * step / decay_steps)) + alpha), the
    step held at decay_steps after it, so the rate ends at alpha * learning_rate.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(round(float(sess.run(tf.train.cosine_decay(1.0, 5, 10))), 6))
    0.5
    """
    function = "cosine_decay"
    graph = get_default_graph()
    with graph.name_scope(name, "CosineDecay") as scope:
        rate = _rate(function, learning_rate)
        step = _step(function, global_step, rate.dtype)
        steps = _number(function, "decay_steps", decay_steps, rate.dtype, positive=True)
        alpha = _number(function, "alpha", alpha, rate.dtype)
        fraction = F.div(F.minimum(step, steps), steps)
        cosine = F.mul(F.add(F.cos(F.mul(fraction, float(np.pi))), 1.0), 0.5)
        decayed = F.add(F.mul(cosine, F.sub(1.0, alpha)), alpha)
        return graph.name_result(F.mul(rate, decayed), scope)


def polynomial_decay(learning_rate, global_step, decay_steps, end_learning_rate=0.0001,
                     power=1.0, cycle=False, name=None):
    """(learning_rate - end) * (1 - step / decay_steps) ^ power + end, the step held at
    decay_steps after it; with cycle=True, decay_steps grows to the next multiple of itself
    above the step instead, restarting the decay.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     print(sess.run(tf.train.polynomial_decay(1.0, 5, 10, end_learning_rate=0.0)))
    0.5
    """
    function = "polynomial_decay"
    graph = get_default_graph()
    with graph.name_scope(name, "PolynomialDecay") as scope:
        rate = _rate(function, learning_rate)
        step = _step(function, global_step, rate.dtype)
        steps = _number(function, "decay_steps", decay_steps, rate.dtype, positive=True)
        end = _number(function, "end_learning_rate", end_learning_rate, rate.dtype)
        power = _number(function, "power", power, rate.dtype)
        if cycle:
            # ceil(step / decay_steps), and 1 at step 0.
            multiplier = F.neg(_floor(F.div(F.neg(step), steps)))
            multiplier = F.where(F.eq(step, 0), F.ones_like(multiplier), multiplier)
            steps = F.mul(multiplier, steps)
        else:
            step = F.minimum(step, steps)
        remaining = F.sub(1.0, F.div(step, steps))
        return graph.name_result(
            F.add(F.mul(F.sub(rate, end), F.pow(remaining, power)), end), scope)


def piecewise_constant(x, boundaries, values, name=None):
    """values[0] while x <= boundaries[0], values[i] while boundaries[i-1] < x <=
    boundaries[i], values[-1] after the last boundary.

    `boundaries` are increasing numbers of x's kind (ints for a global step); `values` are one
    more numbers (or scalar tensors) of one dtype, Python floats being float32.

    >>> import graph as tf
    >>> with tf.Graph().as_default(), tf.Session() as sess:
    ...     rates = [tf.train.piecewise_constant(step, [100, 200], [1.0, 0.5, 0.1])
    ...              for step in (100, 101, 201)]
    ...     print(sess.run(rates))
    [np.float32(1.0), np.float32(0.5), np.float32(0.1)]
    """
    function = "piecewise_constant"
    boundaries, values = list(boundaries), list(values)
    if len(boundaries) != len(values) - 1:
        raise GraphError(f"{function}: the length of boundaries should be 1 less than the "
                         f"length of values; got {len(boundaries)} boundaries and "
                         f"{len(values)} values")
    graph = get_default_graph()
    with graph.name_scope(name, "PiecewiseConstant") as scope:
        step = x if isinstance(x, Tensor) else constant(x)
        if step.ndim != 0 or step.dtype.kind not in "iuf":
            raise GraphError(f"{function}: x must be a scalar number, got {step.name!r} of "
                             f"shape {step.shape} and dtype {step.dtype}")
        value_dtypes = {v.dtype if isinstance(v, Tensor) else _python_value_dtype(v)
                        for v in values}
        if len(value_dtypes) != 1:
            raise GraphError(f"{function}: values must all have one dtype, got "
                             f"{sorted(d.name for d in value_dtypes)}")
        limits = cast_checked(np.asarray(boundaries), step.dtype,
                              f"{function}: boundaries for x of dtype {step.dtype}")
        if limits.ndim != 1 or (np.diff(limits) <= 0).any():
            raise GraphError(f"{function}: boundaries must be increasing numbers, got "
                             f"{boundaries!r}")
        tensors = [v if isinstance(v, Tensor) else constant(v, dtype=value_dtypes.copy().pop())
                   for v in values]
        if any(t.ndim != 0 for t in tensors):
            raise GraphError(f"{function}: values must be scalars")
        result = tensors[-1]
        for limit, value in zip(reversed(limits), reversed(tensors[:-1])):
            result = F.where(F.le(step, constant(limit, dtype=step.dtype)), value, result)
        return graph.name_result(result, scope)
