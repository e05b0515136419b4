"""`theano.grad`: symbolic gradients of a scalar cost, on the graph front-end's reverse mode.

>>> import graph as tf
>>> import graph.theano.tensor as T
>>> with tf.Graph().as_default():
...     x = T.dscalar("x")
...     print(T.grad(x ** 3, x).eval({x: 2.0}))
12.0
"""

from __future__ import annotations

import warnings

import numpy as np

from framework.ops import F
from graph.core import GraphError, Tensor
from graph.gradients import gradients
from graph.theano.configdefaults import config
from graph.theano.var import TensorVariable, TheanoTypeError, as_tensor_variable, wrap

__all__ = ["DisconnectedInputError", "disconnected_grad", "grad", "jacobian", "zero_grad"]


class DisconnectedInputError(GraphError):
    """`grad` was asked for the gradient with respect to a variable the cost does not depend
    on (Theano's error; pass disconnected_inputs='ignore' or 'warn' to get zeros instead)."""


def grad(cost, wrt, consider_constant=None, disconnected_inputs="raise", add_names=True,
         known_grads=None, return_disconnected="zero", null_gradients="raise"):
    """d cost / d wrt, as new variables of the same graph: one for a variable, a list for a
    list. `cost` must be a scalar. `consider_constant` lists variables the gradient does not
    flow through. A `wrt` the cost does not depend on raises DisconnectedInputError, unless
    `disconnected_inputs` is 'ignore' or 'warn' (then its gradient is zeros, or None with
    return_disconnected='None'). The gradient of an integer `wrt` is zeros of floatX.
    """
    del add_names, null_gradients
    if known_grads is not None:
        raise NotImplementedError("grad(known_grads=...) is not built in the graph front-end's "
                                  "Theano API; give a scalar cost")
    if disconnected_inputs not in ("raise", "warn", "ignore"):
        raise ValueError(f"Invalid value for keyword 'disconnected_inputs', valid values are "
                         f"'ignore', 'warn' and 'raise', got {disconnected_inputs!r}")
    if return_disconnected not in ("zero", "None", "Disconnected"):
        raise ValueError(f"Invalid value for keyword 'return_disconnected', valid values are "
                         f"'zero', 'None' and 'Disconnected', got {return_disconnected!r}")
    cost = as_tensor_variable(cost)
    if cost.ndim != 0:
        raise TheanoTypeError(f"cost must be a scalar; {cost} has {cost.ndim} dimensions "
                              "(sum or average it first)")
    if np.dtype(cost.dtype).kind != "f":
        raise TheanoTypeError(f"cost must be a float scalar; {cost} has dtype {cost.dtype}")
    single = not isinstance(wrt, (list, tuple))
    wrt_list = [wrt] if single else list(wrt)
    variables = []
    for x in wrt_list:
        if not isinstance(x, (TensorVariable, Tensor)):
            raise TheanoTypeError(f"grad: wrt must be variables, got {type(x).__name__} {x!r}")
        variables.append(as_tensor_variable(x))
    stops = [as_tensor_variable(c).tensor for c in (consider_constant or [])]
    floats = [v for v in variables if np.dtype(v.dtype).kind == "f"]
    found = dict(zip(map(id, floats), gradients(
        [cost.tensor], [v.tensor for v in floats], stop_gradients=stops))) if floats else {}
    results = []
    for x in variables:
        if np.dtype(x.dtype).kind != "f":
            results.append(wrap(F.zeros_like(x.tensor, np.dtype(config.floatX))))
            continue
        g = found[id(x)]
        if g is None:
            message = (f"grad method was asked to compute the gradient with respect to a "
                       f"variable that is not part of the computational graph of the cost, or "
                       f"is used only by a non-differentiable operator: {x}")
            if disconnected_inputs == "raise":
                raise DisconnectedInputError(message)
            if disconnected_inputs == "warn":
                warnings.warn(message, stacklevel=2)
            results.append(None if return_disconnected != "zero" else
                           wrap(F.zeros_like(x.tensor)))
            continue
        results.append(wrap(g))
    return results[0] if single else results


def disconnected_grad(x) -> TensorVariable:
    """x, through which no gradient flows: grad treats what reaches a cost only through it as
    disconnected.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     x = as_tensor_variable(3.0)
    ...     y = x * 2.0
    ...     print(grad(y * disconnected_grad(y), x).eval())
    12.0
    """
    from graph.gradients import stop_gradient

    return wrap(stop_gradient(as_tensor_variable(x).tensor))


def zero_grad(x) -> TensorVariable:
    """x, whose gradient is zero: unlike disconnected_grad, grad gives zeros (no error) for
    a variable the cost reaches only through it.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     x = as_tensor_variable(3.0)
    ...     print(grad(zero_grad(x) * 2.0, x).eval())
    0.0
    """
    from graph.gradients import stop_gradient

    t = as_tensor_variable(x).tensor
    # The value of the stopped copy; the select keeps x connected with a zero cotangent.
    return wrap(F.where(F.ones_like(t, np.bool_), stop_gradient(t), t))


def jacobian(expression, wrt, consider_constant=None, disconnected_inputs="raise"):
    """d expression[i] / d wrt for each entry i of the vector (or scalar) `expression`: one
    row per entry, stacked in front of wrt's shape; a list for a list of `wrt`. Built, as in
    Theano, with a scan over the entries, so the length need not be known when building.

    >>> import graph as tf
    >>> with tf.Graph().as_default():
    ...     x = as_tensor_variable(np.array([1.0, 2.0]))
    ...     print(jacobian(x ** 2, x).eval())
    [[2. 0.]
     [0. 4.]]
    """
    from graph.theano.scan_module import scan
    from graph.theano.tensor import arange

    expression = as_tensor_variable(expression)
    single = not isinstance(wrt, (list, tuple))
    wrt_list = [wrt] if single else list(wrt)
    if expression.ndim == 0:
        result = grad(expression, wrt_list, consider_constant, disconnected_inputs)
        return result[0] if single else result
    if expression.ndim != 1:
        raise TheanoTypeError(f"jacobian: expression must be a vector or a scalar, got {expression}"
                              f" with {expression.ndim} dimensions (flatten it first)")

    def row(i, expression_, *variables):
        return grad(expression_[i], list(variables), consider_constant, disconnected_inputs)

    rows, _ = scan(row, sequences=arange(expression.shape[0]),
                   non_sequences=[expression, *wrt_list])
    rows = rows if isinstance(rows, list) else [rows]
    return rows[0] if single else rows
