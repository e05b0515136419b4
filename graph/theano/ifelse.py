"""`theano.ifelse.ifelse`: a lazy choice between two values, on the graph's `cond`.

Theano builds both branches before `ifelse` sees them; a TensorFlow 1 `cond` runs only what its
branch functions create. So `ifelse` copies each branch's computation (`clone.clone_replace`
with `everything=True`) inside that branch's function: only the chosen branch's ops run. What a
branch reads from outside (inputs, shared variables, constants, and any cond, loop or scan it
uses, which cannot be copied) is computed whichever branch is chosen.

>>> import graph as tf
>>> import graph.theano.tensor as T
>>> with tf.Graph().as_default():
...     a, b = T.dscalars("a", "b")
...     print(ifelse(T.lt(a, b), a * 10, b * 10).eval({a: 1.0, b: 2.0}))
10.0
"""

from __future__ import annotations

import numpy as np

from framework.ops import F
from graph.control_flow import cond
from graph.theano.clone import clone_replace
from graph.theano.var import TensorVariable, TheanoTypeError, as_tensor_variable

__all__ = ["ifelse"]


def ifelse(condition, then_branch, else_branch, name=None):
    """`then_branch` when `condition` (a scalar; non-zero is true) holds when the graph runs,
    else `else_branch`; only the chosen branch is computed. Each branch is a variable or a list
    of variables of the same types as the other's; the result has the same structure.
    """
    many = isinstance(then_branch, (list, tuple))
    then_list = list(then_branch) if many else [then_branch]
    else_list = list(else_branch) if isinstance(else_branch, (list, tuple)) else [else_branch]
    if len(then_list) != len(else_list):
        raise ValueError(f"The number of values on the `then` branch should have the same "
                         f"number of variables as the `else` branch: (variables on `then` "
                         f"{len(then_list)}, variables on `else` {len(else_list)})")
    then_vars = [as_tensor_variable(v) for v in then_list]
    else_vars = [as_tensor_variable(v) for v in else_list]
    for then_var, else_var in zip(then_vars, else_vars):
        if then_var.dtype != else_var.dtype or then_var.ndim != else_var.ndim:
            raise TheanoTypeError(
                f"The two branches should have identical types, but they are {then_var.type} "
                f"and {else_var.type} respectively. This error could be raised if for example "
                f"you provided a one element list on the `then` branch but a tensor on the "
                f"`else` branch.")
    predicate = as_tensor_variable(condition)
    if predicate.ndim != 0:
        raise TheanoTypeError(f"ifelse: the condition must be a scalar, got {predicate} with "
                              f"{predicate.ndim} dimensions")
    pred = predicate.tensor
    if pred.dtype != np.bool_:
        pred = F.ne(pred, 0)

    def branch(variables):
        return lambda: clone_replace([v.tensor for v in variables], everything=True)

    results = cond(pred, branch(then_vars), branch(else_vars), strict=True,
                   name=name or "ifelse")
    wrapped = [TensorVariable(r) for r in results]
    return wrapped if many else wrapped[0]

