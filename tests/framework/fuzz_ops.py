"""Hypothesis fuzzing of every op in the spec table, run by test_fuzz.py in a subprocess with
NUMBA_BOUNDSCHECK=1 (numba reads it once, at import).

Random shapes (valid ones from the table and arbitrary ones) and all five dtypes go to each op:
every call must either match NumPy or raise our own error. A crash, a wrong value, an
out-of-bounds access caught by numba's bounds checking, or any other exception fails.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from framework import dtypes
from framework.errors import DualgraphError
from tests.framework.test_ops import SPECS, _as_tuple

DTYPES = list(dtypes.ALL)


@st.composite
def shapes_for(draw, spec):
    # Specs that only list bad input (no valid shapes) still tell the op's arity.
    known = spec.shapes or [shapes for shapes, _, _ in spec.bad]
    if draw(st.booleans()):
        return draw(st.sampled_from(known))
    arity = len(known[0])
    return tuple(tuple(draw(st.lists(st.integers(0, 4), max_size=4))) for _ in range(arity))


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_op_matches_numpy_or_raises_our_error(spec):
    @settings(max_examples=25, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(shapes=shapes_for(spec), dtype=st.sampled_from(DTYPES), seed=st.integers(0, 99))
    def check(shapes, dtype, seed):
        try:
            inputs = spec.inputs(np.random.default_rng(seed), shapes, dtype)
        except (ValueError, TypeError):
            return  # the spec cannot even build such inputs (e.g. labels for a 0-class axis)
        try:
            ours = spec.call(*[x.copy() for x in inputs])
        except DualgraphError:
            return
        if not spec.shapes:
            return  # a table row for bad input only: its reference is not meant for values
        with np.errstate(all="ignore"):
            try:
                expected = spec.reference(*[x.copy() for x in inputs])
            except np.exceptions.AxisError:
                # NumPy disagrees with itself on 0-d inputs: np.sum and np.argmax take axis -1,
                # np.mean and np.var refuse it. We follow the first (and PyTorch).
                if all(x.ndim == 0 for x in inputs):
                    return
                raise
        for got, want in zip(_as_tuple(ours), _as_tuple(expected)):
            want = np.asarray(want)
            assert got.shape == want.shape, (shapes, dtype)
            if got.dtype.kind == "f" or want.dtype.kind == "f":
                rtol, atol = spec.tol(got.dtype if got.dtype.kind == "f" else want.dtype)
                np.testing.assert_allclose(got, want, rtol=max(rtol, 1e-5), atol=max(atol, 1e-5),
                                           equal_nan=True)
            else:
                np.testing.assert_array_equal(got, want)

    check()
