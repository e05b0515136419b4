"""The op table expanded over op x dtype x shape x layout.

For each case: forward against NumPy (contiguous and strided inputs); float64 central-difference
gradients; second-order gradients; and bad input raising our error before any kernel runs.
"""

from __future__ import annotations

import importlib
import os

import numpy as np
import pytest

from framework import dtypes
from framework.errors import DualgraphError
from tests.framework import tracer
from tests.framework.opspec import non_contiguous

FAMILIES = ["elementwise", "reduction", "movement", "linalg", "conv", "nn", "random", "indexing",
            "sorting", "scan"]


def _load_specs():
    specs = []
    for family in FAMILIES:
        try:
            module = importlib.import_module(f"tests.framework.specs_{family}")
        except ModuleNotFoundError as error:
            if error.name != f"tests.framework.specs_{family}":
                raise
            continue
        specs.extend(module.SPECS)
    return specs


SPECS = _load_specs()
FORWARD_CASES = [
    pytest.param(spec, shapes, dtype, id=f"{spec.name}-{dtype}-{shapes}")
    for spec in SPECS for shapes in spec.shapes for dtype in spec.dtypes
]
GRAD_CASES = [
    pytest.param(spec, shapes, id=f"{spec.name}-{shapes}")
    for spec in SPECS if spec.grad for shapes in spec.shapes
]
BAD_CASES = [
    pytest.param(spec, shapes, dtype, match, id=f"{spec.name}-{dtype}-{shapes}")
    for spec in SPECS for shapes, dtype, match in spec.bad
]


def _as_tuple(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _check_close(ours, expected, spec, dtype):
    ours, expected = _as_tuple(ours), _as_tuple(expected)
    assert len(ours) == len(expected)
    rtol, atol = spec.tol(dtype)
    for got, want in zip(ours, expected):
        want = np.asarray(want)
        assert isinstance(got, np.ndarray), type(got)
        assert got.shape == want.shape
        if spec.exact_dtype:
            assert got.dtype == want.dtype, (got.dtype, want.dtype)
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


@pytest.mark.parametrize("spec, shapes, dtype", FORWARD_CASES)
@pytest.mark.parametrize("layout", ["contiguous", "strided"])
def test_forward_matches_numpy(spec, shapes, dtype, layout):
    rng = np.random.default_rng(0)
    inputs = spec.inputs(rng, shapes, dtype)
    expected = spec.reference(*[x.copy() for x in inputs])
    if layout == "strided":
        inputs = [non_contiguous(x) for x in inputs]
    before = [x.copy() for x in inputs]
    _check_close(spec.call(*inputs), expected, spec, dtype)
    for x, original in zip(inputs, before):
        np.testing.assert_array_equal(x, original)  # inputs are never written


def _wrt(spec, inputs):
    indices = spec.wrt if spec.wrt is not None else range(len(inputs))
    return [i for i in indices if inputs[i].dtype.kind == "f"]


def _scalar_loss(spec, inputs, wrt, cotangents):
    traced = list(inputs)
    leaves = []
    for i in wrt:
        traced[i] = tracer.leaf(inputs[i])
        leaves.append(traced[i])
    outputs = _as_tuple(spec.call(*traced))
    return outputs, leaves


def _numeric_gradient(function, x, eps):
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for k in range(flat.size):
        saved = flat[k]
        flat[k] = saved + eps
        plus = function()
        flat[k] = saved - eps
        minus = function()
        flat[k] = saved
        gflat[k] = (plus - minus) / (2 * eps)
    return grad


@pytest.mark.parametrize("spec, shapes", GRAD_CASES)
def test_gradient_matches_finite_differences(spec, shapes):
    rng = np.random.default_rng(1)
    inputs = spec.inputs(rng, shapes, dtypes.float64)
    wrt = _wrt(spec, inputs)
    outputs, leaves = _scalar_loss(spec, inputs, wrt, None)
    cotangents = [rng.standard_normal(y.shape) for y in outputs]

    def loss():
        results = _as_tuple(spec.call(*inputs))
        return sum(float(np.sum(r * c)) for r, c in zip(results, cotangents))

    grads = tracer.grad(outputs, leaves, cotangents)
    for i, g in zip(wrt, grads):
        assert g.shape == inputs[i].shape and g.dtype == inputs[i].dtype
        expected = _numeric_gradient(loss, inputs[i], spec.fd_eps)
        np.testing.assert_allclose(g.value, expected, rtol=1e-5, atol=1e-6)

    if not spec.second_order or not wrt:
        return
    # Second order: d/dx of <grad(x), v>, by the tape versus central differences of grad.
    vs = [rng.standard_normal(inputs[i].shape) for i in wrt]
    inner = [F_sum_product(g, v) for g, v in zip(grads, vs)]
    second = tracer.grad(inner, leaves, [np.float64(1.0)] * len(inner))

    def first_order_dot():
        outs, lvs = _scalar_loss(spec, inputs, wrt, None)
        gs = tracer.grad(outs, lvs, cotangents)
        return sum(float(np.sum(g.value * v)) for g, v in zip(gs, vs))

    _check_directional(first_order_dot, [inputs[i] for i in wrt], [g.value for g in second],
                       rng)


def _check_directional(function, inputs, gradients, rng, eps=1e-5, directions=2):
    """Check gradients along random directions, as JAX's check_grads does: the central
    difference of `function` along u must equal <gradient, u>. Two evaluations per direction
    instead of two per element: second-order checks re-run a whole backward pass each time."""
    for _ in range(directions):
        us = [rng.standard_normal(x.shape) for x in inputs]
        saved = [x.copy() for x in inputs]
        for x, u in zip(inputs, us):
            x += eps * u
        plus = function()
        for x, u in zip(inputs, us):
            x -= 2 * eps * u
        minus = function()
        for x, original in zip(inputs, saved):
            x[...] = original
        numeric = (plus - minus) / (2 * eps)
        analytic = sum(float(np.sum(g * u)) for g, u in zip(gradients, us))
        np.testing.assert_allclose(analytic, numeric, rtol=1e-4, atol=1e-5)


def F_sum_product(g, v):
    from framework.ops import F

    return F.sum(F.mul(g, v))


@pytest.mark.parametrize("spec, shapes, dtype, match", BAD_CASES)
def test_bad_input_raises_before_kernel(spec, shapes, dtype, match, monkeypatch):
    rng = np.random.default_rng(2)
    inputs = spec.inputs(rng, shapes, dtype)
    from framework.ops.registry import Op

    def no_kernel(self, device):
        raise AssertionError(f"{self.name}: a kernel was reached with invalid input")

    monkeypatch.setattr(Op, "kernel", no_kernel)
    with pytest.raises(DualgraphError, match=match) as info:
        spec.call(*inputs)
    # Names the user's line: the call written in this file or in the spec table's module.
    site = info.value.site
    assert site is not None and os.path.dirname(site.filename) == os.path.dirname(__file__)
    assert site.filename in str(info.value)
