"""Every op of the spec table through the graph front-end.

Placeholders stand for the inputs (with the first dimension unknown where there is one, so the
shape rules' None handling is exercised), a Session runs the graph: values must equal the
kernels' results, and `gradients` must match float64 central differences and eager's
gradients. Each runs twice: interpreted, and through the graph compiler, which must give the
same bits.
"""

from __future__ import annotations

import numpy as np
import pytest

import eager
import graph as tf
from tests.framework.test_ops import SPECS, _as_tuple, _numeric_gradient

CASES = [pytest.param(spec, shapes, id=f"{spec.name}-{shapes}")
         for spec in SPECS if spec.dtypes for shapes in spec.shapes[:3]]
GRAD_CASES = [pytest.param(spec, shapes, id=f"{spec.name}-{shapes}")
              for spec in SPECS if spec.grad for shapes in spec.shapes[:3]]


def _placeholders(inputs, unknown_batch):
    holders = []
    for i, x in enumerate(inputs):
        shape = list(x.shape)
        if unknown_batch and shape:
            shape[0] = None
        holders.append(tf.placeholder(x.dtype, tuple(shape), name=f"input{i}"))
    return holders


def _build(spec, inputs, unknown_batch):
    holders = _placeholders(inputs, unknown_batch)
    try:
        outputs = _as_tuple(spec.call(*holders))
    except tf.GraphError:
        raise
    except Exception:
        if not unknown_batch:
            raise
        return None, None  # this op needs a known size along axis 0 at build time
    return holders, outputs


@pytest.mark.parametrize("spec, shapes", CASES)
@pytest.mark.parametrize("unknown_batch", [False, True])
def test_graph_values_equal_the_kernels(spec, shapes, unknown_batch):
    dtype = spec.dtypes[0]
    inputs = spec.inputs(np.random.default_rng(0), shapes, dtype)
    direct = _as_tuple(spec.call(*[x.copy() for x in inputs]))
    with tf.Graph().as_default():
        holders, outputs = _build(spec, inputs, unknown_batch)
        if holders is None:
            pytest.skip("needs a static size along the first axis")
        feed = dict(zip(holders, inputs))
        with tf.Session(compile=False) as sess:
            results = sess.run(list(outputs), feed)
        with tf.Session() as sess:
            # Once through the numba functions (seconds to compile each), once through the
            # step that calls each kernel from Python.
            sess.compile(list(outputs), feed, whole=not unknown_batch)
            compiled = sess.run(list(outputs), feed)
    for ours, from_compiled, kernel in zip(results, compiled, direct):
        np.testing.assert_array_equal(ours, kernel)
        np.testing.assert_array_equal(from_compiled, kernel)


@pytest.mark.parametrize("spec, shapes", GRAD_CASES)
def test_graph_gradients_match_finite_differences_and_eager(spec, shapes):
    rng = np.random.default_rng(1)
    inputs = spec.inputs(rng, shapes, np.float64)
    indices = spec.wrt if spec.wrt is not None else range(len(inputs))
    wrt = [i for i in indices if inputs[i].dtype.kind == "f"]
    if not wrt:
        pytest.skip("no float input to differentiate")
    direct = _as_tuple(spec.call(*inputs))
    if not all(np.isfinite(y).all() for y in direct if y.dtype.kind == "f"):
        pytest.skip("the output is not finite here")
    cotangents = [rng.standard_normal(np.shape(y)) for y in direct]
    with tf.Graph().as_default():
        holders, outputs = _build(spec, inputs, unknown_batch=False)
        loss = None
        for y, c in zip(outputs, cotangents):
            if y.dtype.kind == "f":
                term = tf.reduce_sum(y * tf.constant(c))
                loss = term if loss is None else loss + term
        grads = tf.gradients(loss, [holders[i] for i in wrt])
        fetch = [g for g in grads if g is not None]
        feed = dict(zip(holders, inputs))
        with tf.Session(compile=False) as sess:
            interpreted = sess.run(fetch, feed)
        with tf.Session() as sess:
            # The Python-call step: the numba functions' lowering of gradient ops is checked by
            # the training and random-graph tests (tests/graph/test_compile.py), at less cost.
            sess.compile(fetch, feed, whole=False)
            compiled = sess.run(fetch, feed)
    for a, b in zip(compiled, interpreted):
        np.testing.assert_array_equal(a, b)  # the compiler keeps every bit
    values = iter(interpreted)
    ours = [next(values) if g is not None else None for g in grads]

    tensors = [eager.tensor(x, requires_grad=i in wrt) for i, x in enumerate(inputs)]
    eager_out = _as_tuple(spec.call(*tensors))
    eager_loss = sum((y * eager.tensor(c)).sum() for y, c in zip(eager_out, cotangents)
                     if y.requires_grad)
    eager_grads = eager.grad(eager_loss, [tensors[i] for i in wrt], allow_unused=True)

    def numeric_loss():
        results = _as_tuple(spec.call(*inputs))
        return sum(float(np.sum(r * c)) for r, c in zip(results, cotangents))

    for k, i in enumerate(wrt):
        expected = _numeric_gradient(numeric_loss, inputs[i], spec.fd_eps)
        got = np.zeros_like(expected) if ours[k] is None else ours[k]
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
        if eager_grads[k] is not None:
            np.testing.assert_allclose(got, eager_grads[k].numpy(), rtol=1e-12, atol=1e-12)
