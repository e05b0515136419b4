"""Every op of the spec table through the eager front-end.

The same table as tests/framework/test_ops.py, called on eager Tensors: values must equal the
kernels' own results (eager adds recording, never different arithmetic), gradients from
`backward` must match float64 central differences, and second-order gradients come from
`create_graph=True`.
"""

from __future__ import annotations

import numpy as np
import pytest

import eager
from tests.framework.test_ops import SPECS, _as_tuple, _check_directional, _numeric_gradient

CASES = [pytest.param(spec, shapes, id=f"{spec.name}-{shapes}")
         for spec in SPECS if spec.dtypes for shapes in spec.shapes[:3]]
GRAD_CASES = [pytest.param(spec, shapes, id=f"{spec.name}-{shapes}")
              for spec in SPECS if spec.grad for shapes in spec.shapes[:3]]


def _wrap(inputs, differentiable=()):
    return [eager.tensor(x, requires_grad=i in differentiable) for i, x in enumerate(inputs)]


@pytest.mark.parametrize("spec, shapes", CASES)
def test_eager_values_equal_the_kernels(spec, shapes):
    dtype = spec.dtypes[0]
    inputs = spec.inputs(np.random.default_rng(0), shapes, dtype)
    direct = _as_tuple(spec.call(*[x.copy() for x in inputs]))
    through_eager = _as_tuple(spec.call(*_wrap(inputs)))
    for ours, kernel in zip(through_eager, direct):
        assert isinstance(ours, eager.Tensor)
        np.testing.assert_array_equal(ours.numpy(), kernel)


def _differentiable(spec, inputs):
    indices = spec.wrt if spec.wrt is not None else range(len(inputs))
    return [i for i in indices if inputs[i].dtype.kind == "f"]


@pytest.mark.parametrize("spec, shapes", GRAD_CASES)
def test_eager_gradients_match_finite_differences(spec, shapes):
    rng = np.random.default_rng(1)
    inputs = spec.inputs(rng, shapes, np.float64)
    wrt = _differentiable(spec, inputs)
    if not wrt:
        pytest.skip("no float input to differentiate")
    tensors = _wrap(inputs, wrt)
    outputs = _as_tuple(spec.call(*tensors))
    if not all(np.isfinite(y.detach().numpy()).all() for y in outputs if y.dtype.kind == "f"):
        pytest.skip("the output is not finite here (e.g. var with correction >= n)")
    cotangents = [rng.standard_normal(y.shape) for y in outputs]
    loss = sum((y * eager.tensor(c)).sum() for y, c in zip(outputs, cotangents)
               if y.requires_grad)
    grads = eager.grad(loss, [tensors[i] for i in wrt], create_graph=spec.second_order,
                       allow_unused=True)

    def numeric_loss():
        results = _as_tuple(spec.call(*inputs))
        return sum(float(np.sum(r * c)) for r, c in zip(results, cotangents))

    for i, g in zip(wrt, grads):
        expected = _numeric_gradient(numeric_loss, inputs[i], spec.fd_eps)
        got = np.zeros_like(expected) if g is None else g.detach().numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)

    if not spec.second_order:
        return
    vs = [rng.standard_normal(inputs[i].shape) for i in wrt]
    inner = sum((g * eager.tensor(v)).sum() for g, v in zip(grads, vs)
                if g is not None and g.requires_grad)
    if not isinstance(inner, eager.Tensor):
        return  # the gradient does not depend on the inputs (a linear op)
    second = eager.grad(inner, [tensors[i] for i in wrt], allow_unused=True)

    def first_order_dot():
        fresh = _wrap(inputs, wrt)
        outs = _as_tuple(spec.call(*fresh))
        total = sum((y * eager.tensor(c)).sum() for y, c in zip(outs, cotangents)
                    if y.requires_grad)
        gs = eager.grad(total, [fresh[i] for i in wrt], allow_unused=True)
        return sum(float(np.sum(g.detach().numpy() * v)) for g, v in zip(gs, vs)
                   if g is not None)

    hessian_vector = [np.zeros(inputs[i].shape) if h is None else h.numpy()
                      for i, h in zip(wrt, second)]
    _check_directional(first_order_dot, [inputs[i] for i in wrt], hessian_vector, rng)
