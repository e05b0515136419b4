"""Reduction behaviour the spec table cannot express: NaN, ties, accuracy, zeros in prod,
non-finite logsumexp, empty reductions, dtypes, the layout step and the parallel split."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from framework import device, dtypes
from framework.errors import ShapeError
from framework.kernels import cpu
from framework.ops import F, Spec, reduction
from tests.framework import tracer

# Sizes around the vector scans' width (64 bytes: 16 float32, 8 float64) and far beyond it.
SIZES = [1, 7, 16, 17, 100, 1000, 4099]


def gradient(function, x, cotangent=None):
    """d(sum(function(x) * cotangent)) / dx through the tracer, as an array."""
    leaf = tracer.leaf(x)
    out = function(leaf)
    seed = np.ones(out.shape, out.dtype) if cotangent is None else cotangent
    (grad,) = tracer.grad([out], [leaf], [seed])
    return grad.value


# ---------------------------------------------------------------------------------------------
# NaN and ties


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_propagates_through_every_fold(size, dtype):
    rng = np.random.default_rng(size)
    for position in sorted({0, size // 2, size - 1}):
        x = rng.uniform(-1, 1, size).astype(dtype)
        x[position] = np.nan
        for name in ["sum", "mean", "prod", "max", "min", "logsumexp", "var"]:
            assert np.isnan(getattr(F, name)(x)), (name, position)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_argmax_and_argmin_return_the_first_nan(size, dtype):
    rng = np.random.default_rng(size)
    x = rng.uniform(-1, 1, size).astype(dtype)
    positions = sorted({size // 3, size - 1})
    x[positions] = np.nan
    assert F.argmax(x) == np.argmax(x) == positions[0]
    assert F.argmin(x) == np.argmin(x) == positions[0]
    rows = np.stack([x, x[::-1].copy()])
    np.testing.assert_array_equal(F.argmax(rows, axis=1), np.argmax(rows, axis=1))
    np.testing.assert_array_equal(F.argmin(rows.T.copy(), axis=0), np.argmin(rows.T, axis=0))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64, np.bool_])
def test_argmax_and_argmin_return_the_first_of_ties(size, dtype):
    rng = np.random.default_rng(size)
    x = rng.integers(0, 3, size).astype(dtype)  # many ties between lanes and blocks
    assert F.argmax(x) == np.argmax(x)
    assert F.argmin(x) == np.argmin(x)
    matrix = rng.integers(0, 2, (5, size)).astype(dtype)
    for axis in (0, 1, -1):
        np.testing.assert_array_equal(F.argmax(matrix, axis=axis), np.argmax(matrix, axis=axis))
        np.testing.assert_array_equal(F.argmin(matrix, axis=axis), np.argmin(matrix, axis=axis))


def test_argmax_of_sorted_and_constant_input():
    ascending = np.arange(5000, dtype=np.float32)
    assert F.argmax(ascending) == 4999 and F.argmin(ascending) == 0
    assert F.argmax(ascending[::-1].copy()) == 0
    assert F.argmax(np.zeros(1000, np.float64)) == 0
    signed_zeros = np.array([-0.0] * 20 + [0.0] * 20, np.float32)
    assert F.argmax(signed_zeros) == np.argmax(signed_zeros) == 0


def test_argmax_of_a_0d_input_and_keepdims():
    assert F.argmax(np.float32(3.0)) == 0
    assert F.argmin(np.array(3.0), axis=0) == np.argmin(np.array(3.0), axis=0)
    x = np.random.default_rng(0).random((2, 3, 4))
    np.testing.assert_array_equal(F.argmax(x, axis=1, keepdims=True),
                                  np.argmax(x, axis=1, keepdims=True))
    assert F.argmin(x, keepdims=True).shape == (1, 1, 1)


def test_max_and_min_of_extreme_integers_and_bools():
    ints = np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max, 0], np.int64)
    assert F.max(ints) == ints[1] and F.min(ints) == ints[0]
    flags = np.zeros((3, 40), bool)
    flags[1, 17] = True
    np.testing.assert_array_equal(F.max(flags, axis=1), [False, True, False])
    assert F.max(flags).dtype == np.bool_ and F.min(flags) == np.False_


def test_max_gradient_splits_ties_evenly():
    x = np.array([[1.0, 3.0, 3.0, 2.0], [5.0, 5.0, 5.0, -1.0]])
    np.testing.assert_allclose(gradient(lambda v: F.max(v, axis=1), x),
                               [[0, 0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3, 0]])
    np.testing.assert_allclose(gradient(F.min, np.array([2.0, 1.0, 4.0, 1.0])),
                               [0, 0.5, 0, 0.5])


# ---------------------------------------------------------------------------------------------
# Accuracy


def test_float32_sum_is_as_accurate_as_numpy_pairwise_summation():
    x = np.random.default_rng(0).uniform(0, 1, 1_000_000).astype(np.float32)
    exact = np.sum(x, dtype=np.float64)
    ours = abs(float(F.sum(x)) - exact)
    numpys = abs(float(np.sum(x)) - exact)
    # Ours accumulates in float64, so only the final rounding to float32 remains.
    assert ours <= max(numpys, np.finfo(np.float32).eps * exact)
    assert abs(float(F.mean(x)) - exact / x.size) <= np.finfo(np.float32).eps


def test_float32_column_and_row_sums_stay_accurate():
    x = np.random.default_rng(1).uniform(0, 1, (200_000, 5)).astype(np.float32)
    exact = np.sum(x, axis=0, dtype=np.float64)
    np.testing.assert_allclose(F.sum(x, axis=0), exact, rtol=2 * np.finfo(np.float32).eps)
    np.testing.assert_allclose(F.sum(x.T.copy(), axis=1), exact, rtol=2 * np.finfo(np.float32).eps)


def test_var_of_float32_with_a_large_offset():
    x = (np.random.default_rng(2).standard_normal(10_000) + 1e4).astype(np.float32)
    np.testing.assert_allclose(F.var(x), np.var(x.astype(np.float64)), rtol=1e-5)


# ---------------------------------------------------------------------------------------------
# prod with zeros


def product_of_others(x, axis):
    """d prod / dx by brute force: the product with each entry replaced by 1."""
    grad = np.empty_like(x)
    for index in np.ndindex(x.shape):
        y = x.copy()
        y[index] = 1.0
        whole = np.prod(y, axis=axis, keepdims=True)
        position = tuple(0 if a == axis else i for a, i in enumerate(index))
        grad[index] = whole[position]
    return grad


@pytest.mark.parametrize("zeros", [0, 1, 2, 3])
def test_prod_gradient_with_zeros(zeros):
    rng = np.random.default_rng(zeros)
    x = rng.uniform(0.5, 2.0, (3, 6))
    for row in range(3):
        x[row, rng.choice(6, size=zeros, replace=False)] = 0.0
    np.testing.assert_allclose(gradient(lambda v: F.prod(v, axis=1), x),
                               product_of_others(x, 1), rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# logsumexp at the edges


def test_logsumexp_is_stable_and_handles_infinities():
    big = np.array([1000.0, 1000.0, -1000.0], np.float32)
    np.testing.assert_allclose(F.logsumexp(big), 1000 + np.log(2), rtol=1e-6)
    rows = np.array([[-np.inf, -np.inf], [np.inf, 1.0], [0.0, np.nan], [0.0, 0.0]])
    result = F.logsumexp(rows, axis=1)
    assert result[0] == -np.inf and result[1] == np.inf and np.isnan(result[2])
    np.testing.assert_allclose(result[3], np.log(2))
    assert F.logsumexp(np.zeros((3, 0)), axis=1).tolist() == [-np.inf] * 3


def test_logsumexp_gradient_is_softmax_and_zero_for_all_minus_inf_rows():
    x = np.array([[1.0, 2.0, 3.0], [-np.inf, -np.inf, -np.inf]])
    grad = gradient(lambda v: F.logsumexp(v, axis=1), x)
    softmax = np.exp(x[0] - x[0].max()) / np.exp(x[0] - x[0].max()).sum()
    np.testing.assert_allclose(grad[0], softmax)
    np.testing.assert_array_equal(grad[1], 0.0)


def test_logsumexp_exp_is_accurate_over_its_whole_range():
    t = np.linspace(-700.0, 0.0, 100_001)
    x = np.stack([t, np.zeros_like(t)], axis=1)  # row max 0: every exp(t) goes in the sum
    np.testing.assert_allclose(F.logsumexp(x, axis=1), np.logaddexp(t, 0.0), rtol=1e-15,
                               atol=1e-15)


# ---------------------------------------------------------------------------------------------
# Empty reductions and dtypes


def test_empty_reductions_follow_numpy_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert F.sum(np.zeros(0, np.float32)) == 0 and F.prod(np.zeros((2, 0)), axis=1).tolist() \
            == [1.0, 1.0]
        assert np.isnan(F.mean(np.zeros((0, 3), np.float32), axis=0)).all()
        assert np.isnan(F.var(np.zeros(0)))
        assert F.sum(np.zeros((0, 3), np.int32)).dtype == np.int64
    with pytest.raises(ShapeError, match="max: cannot reduce over axis 0"):
        F.max(np.zeros((0, 3)))


@pytest.mark.parametrize("dtype", dtypes.ALL)
def test_result_dtypes_match_numpy(dtype):
    x = np.ones((2, 3), dtype)
    for name in ["sum", "prod", "mean", "max", "min", "argmax", "argmin"]:
        assert getattr(F, name)(x, axis=0).dtype == getattr(np, name)(x, axis=0).dtype, name
    if dtype in dtypes.FLOATS:
        assert F.var(x).dtype == np.var(x).dtype == dtype
        assert F.logsumexp(x).dtype == dtype


def test_var_correction_and_its_numpy_name():
    x = np.random.default_rng(3).random((4, 5))
    np.testing.assert_allclose(F.var(x, axis=0, correction=1), np.var(x, axis=0, ddof=1))
    np.testing.assert_allclose(F.var(x, axis=1, ddof=1.5), np.var(x, axis=1, ddof=1.5))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(F.var(x, axis=0, ddof=4), np.var(x, axis=0, ddof=4))
        np.testing.assert_array_equal(F.var(x, axis=0, ddof=6), np.var(x, axis=0, ddof=6))
    with pytest.raises(ShapeError, match="not both"):
        F.var(x, correction=1, ddof=1)
    with pytest.raises(ShapeError, match="correction must be a number"):
        F.var(x, correction="1")


def test_var_gradient_with_correction():
    x = np.random.default_rng(4).random((3, 4))
    expected = 2 * (x - x.mean(axis=1, keepdims=True)) / (4 - 1)
    np.testing.assert_allclose(gradient(lambda v: F.var(v, axis=1, correction=1), x), expected)


# ---------------------------------------------------------------------------------------------
# Layout, parallel split, shapes unknown until run time


def test_blocks_are_views_unless_axes_interleave():
    x = np.random.default_rng(5).random((6, 7, 8))
    for axes in [(0,), (2,), (1,), (0, 1), (1, 2), (0, 1, 2)]:
        assert np.shares_memory(reduction.as_blocks(x, axes), x), axes
    assert reduction.blocks_plan((6, 7, 8), (0, 2)) == (7, 48, 1, (1, 0, 2))
    assert not np.shares_memory(reduction.as_blocks(x, (0, 2)), x)
    assert reduction.blocks_plan((1, 5, 1, 3), (0, 1)) == (1, 5, 3, None)


def test_column_reduction_allocates_only_its_output():
    x = np.random.default_rng(6).random((1000, 1000)).astype(np.float32)
    F.sum(x, axis=0)
    before = device.memory_allocated()
    device.reset_peak_memory_stats()
    out = F.sum(x, axis=0)
    assert device.max_memory_allocated() - before == out.nbytes


@pytest.mark.parametrize("shape, axis", [((3, 5000), 1), ((5000, 3), 0), ((1, 9001), None),
                                         ((2, 7, 300), 1), ((9001,), 0)])
def test_parallel_split_matches_numpy(shape, axis, monkeypatch):
    monkeypatch.setattr(cpu, "REDUCE_PARALLEL_MIN_SIZE", 1)
    rng = np.random.default_rng(7)
    x = rng.integers(0, 4, shape).astype(np.float64)  # ties across the chunks
    x.reshape(-1)[x.size // 2] = 9.0
    for name in ["sum", "prod", "max", "min", "mean", "argmax", "argmin", "var"]:
        np.testing.assert_allclose(getattr(F, name)(x, axis=axis),
                                   getattr(np, name)(x, axis=axis), rtol=1e-12, err_msg=name)
    np.testing.assert_allclose(F.logsumexp(x, axis=axis),
                               np.log(np.sum(np.exp(x), axis=axis)), rtol=1e-12)
    x.reshape(-1)[[x.size // 3, x.size - 1]] = np.nan
    assert np.array_equal(F.argmax(x, axis=axis), np.argmax(x, axis=axis))
    assert np.array_equal(np.isnan(F.max(x, axis=axis)), np.isnan(np.max(x, axis=axis)))


def test_restoring_reduced_axes_with_several_unknown_dimensions():
    g = np.ones((2, 4))
    restored = reduction.restore_reduced_axes(g, (None, 3, None), axis=(1,), keepdims=False)
    assert restored.shape == (2, 1, 4)
    known = reduction.restore_reduced_axes(g, (2, 3, 4), axis=(-2,), keepdims=False)
    assert known.shape == (2, 1, 4)
    assert reduction.restore_reduced_axes(g, (2, 4), axis=None, keepdims=True) is g


def test_ops_are_values():
    x = np.ones((2, 3), np.float32)
    assert reduction.Sum((1,), False) == reduction.Sum((1,), False)
    assert hash(reduction.Var((0,), True, 1)) == hash(reduction.Var((0,), True, 1))
    assert reduction.Var((0,), True, 1) != reduction.Var((0,), True, 0)
    with pytest.raises(ShapeError, match="axis must be an int"):
        F.sum(x, axis=True)
    with pytest.raises(ShapeError, match="one int or None"):
        F.argmax(x, axis=1.0)


@pytest.mark.parametrize("name", ["sum", "mean", "prod", "max", "min"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.bool_])
@pytest.mark.parametrize("shape, axis", [((10,), None), ((32, 64), 0), ((32, 64), 1),
                                         ((3, 40, 5), 1), ((4, 1, 70), (0, 1))])
def test_contiguous_fast_path_gives_the_bits_of_the_general_path(name, dtype, shape, axis):
    # A C-contiguous input runs the one cached serial kernel; the same values in a strided
    # layout take the general path (copy to blocks, then `Fold.run`): the bits must agree.
    rng = np.random.default_rng(8)
    x = rng.uniform(0.5, 1.5, shape).astype(dtype)
    strided = np.asfortranarray(x) if len(shape) > 1 else np.repeat(x, 2)[::2]
    assert not strided.flags.c_contiguous and np.array_equal(strided, x)
    fast, general = getattr(F, name)(x, axis=axis), getattr(F, name)(strided, axis=axis)
    assert fast.dtype == general.dtype and fast.shape == general.shape
    assert fast.tobytes() == general.tobytes()


def test_reductions_of_one_op_and_shape_repeat_exactly():
    # The plan of an (op, shape, dtype) is worked out once and reused: later calls with other
    # values must not see the first call's data.
    rng = np.random.default_rng(9)
    for _ in range(3):
        x = rng.standard_normal((6, 5)).astype(np.float32)
        np.testing.assert_allclose(F.sum(x, axis=0), x.sum(0, dtype=np.float64), rtol=1e-6)
        np.testing.assert_allclose(F.mean(x), x.mean(dtype=np.float64), rtol=1e-6)
        assert F.max(x, axis=1).tolist() == x.max(1).tolist()


def test_mean_gradient_scales_by_the_count_and_keeps_the_dtype():
    g = np.array(2.0, np.float32)
    grad = reduction.Mean(None, False).vjp(g, (Spec((4, 2), np.float32),), None)
    assert grad.shape == (4, 2) and grad.dtype == np.float32
    np.testing.assert_array_equal(grad, np.full((4, 2), 0.25, np.float32))
    grad = reduction.Mean((1,), False).vjp(np.ones(3), (Spec((3, 4), np.float64),), None)
    np.testing.assert_array_equal(grad, np.full((3, 4), 0.25))
