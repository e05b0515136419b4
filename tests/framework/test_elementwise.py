"""Elementwise behaviour the spec table cannot express: accuracy of the vectorized float32
functions over their whole range, NaN and infinity handling, every kernel path (flat, one-value
operand, repeated row or column, strided ufunc, parallel) against NumPy, gradients at kinks and
ties, dtype rules, and cast between every pair of dtypes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.special

from framework import dtypes
from framework.errors import DTypeError, ShapeError
from framework.ops import F, Spec
from framework.ops import elementwise as E
from tests.framework import tracer

F32, F64 = dtypes.float32, dtypes.float64
LARGE = 1 << 17  # above every op's parallel_min_size


def ulps(ours: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """Error in units in the last place of float32 at the exact value."""
    spacing = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    return np.abs(ours.astype(np.float64) - exact) / spacing


def float32_grid(low: float, high: float, count: int = 1_000_003) -> np.ndarray:
    return np.linspace(low, high, count, dtype=np.float64).astype(np.float32)


def every_positive_float32(step: int = 61) -> np.ndarray:
    """A sample of every positive finite float32 (subnormals included), by bit pattern."""
    return np.arange(1, 0x7F800000, step, dtype=np.int64).astype(np.int32).view(np.float32)


def grad_of(function, *inputs, wrt=0):
    """d sum(function(*inputs)) / d inputs[wrt], through the test tracer."""
    traced = [tracer.leaf(x) if i == wrt else x for i, x in enumerate(inputs)]
    out = function(*traced)
    (grad,) = tracer.grad([out], [traced[wrt]], [np.ones(out.shape, out.dtype)])
    return grad.value


# ---------------------------------------------------------------------------------------------
# The vectorized float32 functions: accuracy everywhere, special values exact


def test_float32_exp_is_within_one_ulp_including_subnormal_results():
    x = float32_grid(-103.9, 88.72)
    exact = np.exp(x.astype(np.float64))
    ours = F.exp(x)
    normal = exact >= np.finfo(np.float32).tiny
    assert ulps(ours[normal], exact[normal]).max() <= 1.0
    subnormal_step = 2.0**-149
    assert (np.abs(ours[~normal] - exact[~normal]) <= subnormal_step).all()


def test_float32_log_is_within_two_ulp_over_every_positive_float32():
    x = every_positive_float32()
    assert ulps(F.log(x), np.log(x.astype(np.float64))).max() <= 2.0


def test_float32_tanh_is_within_three_ulp():
    x = np.concatenate([float32_grid(-10, 10), float32_grid(-1e-3, 1e-3, 10_001)])
    assert ulps(F.tanh(x), np.tanh(x.astype(np.float64))).max() <= 3.0


def test_float32_sigmoid_is_accurate_far_into_both_tails():
    x = float32_grid(-100, 30)
    exact = scipy.special.expit(x.astype(np.float64))
    ours = F.sigmoid(x)
    normal = exact >= np.finfo(np.float32).tiny
    assert ulps(ours[normal], exact[normal]).max() <= 4.0
    assert (np.abs(ours[~normal] - exact[~normal]) <= 2.0**-149).all()


SPECIAL = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 88.73, -104.0, 1e-45, 1e-40])


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("name, reference", [
    ("exp", np.exp), ("log", np.log), ("tanh", np.tanh), ("sigmoid", scipy.special.expit),
    ("sqrt", np.sqrt), ("rsqrt", lambda x: 1 / np.sqrt(x)), ("log1p", np.log1p),
    ("gelu", lambda x: x * 0.5 * (1 + scipy.special.erf(x / np.sqrt(2)))),
    ("reciprocal", np.reciprocal), ("relu", lambda x: np.where(x > 0, x, 0.0)),
    ("abs", np.abs), ("sign", np.sign), ("square", np.square),
])
def test_special_values_match_numpy(name, reference, dtype):
    x = SPECIAL.astype(dtype)
    with np.errstate(all="ignore"):
        expected = reference(x.astype(np.float64)).astype(dtype)
    ours = getattr(F, name)(x)
    if name == "relu":
        expected[np.isnan(x)] = np.nan  # NaN propagates (np.where would give 0)
    np.testing.assert_allclose(ours, expected, rtol=2e-6, atol=0)


@pytest.mark.parametrize("name", ["exp", "log", "tanh", "sigmoid", "relu", "maximum", "eq"])
def test_nan_inputs_raise_no_warnings_on_any_path(name):
    x = np.array([[np.nan, 1.0, -np.inf, 2.0]] * 3, np.float32)
    function = getattr(F, name)
    call = (lambda a: function(a, np.float32(1.0))) if name in ("maximum", "eq") else function
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        call(x)  # flat kernel
        call(x[:, ::2])  # strided: the ufunc


# ---------------------------------------------------------------------------------------------
# NaN semantics of comparisons, maximum/minimum, clip


def test_comparisons_with_nan_follow_ieee():
    x = np.array([np.nan, 1.0, np.nan], np.float32)
    y = np.array([np.nan, np.nan, 1.0], np.float32)
    for name, expected in [("eq", [False] * 3), ("ne", [True] * 3), ("lt", [False] * 3),
                           ("le", [False] * 3), ("gt", [False] * 3), ("ge", [False] * 3)]:
        np.testing.assert_array_equal(getattr(F, name)(x, y), expected, err_msg=name)


def test_maximum_minimum_and_clip_propagate_nan():
    x = np.array([np.nan, 1.0, 2.0], np.float32)
    y = np.array([0.0, np.nan, 1.0], np.float32)
    np.testing.assert_array_equal(F.maximum(x, y), [np.nan, np.nan, 2.0])
    np.testing.assert_array_equal(F.minimum(x, y), [np.nan, np.nan, 1.0])
    np.testing.assert_array_equal(F.clip(x, 0.0, 1.5), [np.nan, 1.0, 1.5])


def test_comparisons_of_integers_and_bools_are_exact():
    big = np.array([2**53 + 1, 5], np.int64)
    np.testing.assert_array_equal(F.eq(big, np.array([2**53, 5], np.int64)), [False, True])
    b = np.array([True, False, True])
    np.testing.assert_array_equal(F.lt(b, np.array([True, True, False])), [False, True, False])


# ---------------------------------------------------------------------------------------------
# Every kernel path agrees with NumPy


def _paths(rng):
    """(label, x, y) covering each path the CPU kernel entry point can take."""
    full = rng.standard_normal((64, 48)).astype(np.float32)
    other = rng.standard_normal((64, 48)).astype(np.float32)
    large = rng.standard_normal((LARGE // 256, 256)).astype(np.float32)
    large_other = rng.standard_normal(large.shape).astype(np.float32)
    return [
        ("flat", full, other),
        ("flat one value", full, np.float32(0.5)),
        ("flat one value first", np.full((1, 1), 0.25, np.float32), other),
        ("repeated row", full, other[0]),
        ("repeated column", full, other[:, :1]),
        ("row and column", other[:1], full[:, :1]),
        ("ufunc strided", full[:, ::2], other[:, 1::2]),
        ("ufunc broadcast", full.reshape(64, 1, 48)[:2], other.reshape(64, 48, 1)[:2]),
        ("parallel flat", large, large_other),
        ("parallel one value", large, np.float32(-0.5)),
        ("parallel row", large, large_other[3]),
        ("parallel column", large, large_other[:, :1]),
    ]


BINARY = [("add", np.add), ("sub", np.subtract), ("mul", np.multiply), ("div", np.divide),
          ("maximum", np.maximum), ("minimum", np.minimum), ("gt", np.greater),
          ("eq", np.equal), ("pow", lambda x, y: np.power(np.abs(x), y))]


@pytest.mark.parametrize("name, reference", BINARY, ids=[n for n, _ in BINARY])
def test_every_kernel_path_matches_numpy(name, reference):
    rng = np.random.default_rng(3)
    function = getattr(F, name)
    for label, x, y in _paths(rng):
        if name == "pow":
            x = np.abs(x)
        with np.errstate(all="ignore"):
            expected = reference(x, y)
            ours = function(x, y)
        np.testing.assert_allclose(ours, expected, rtol=2e-6, atol=0, err_msg=label)
        assert ours.dtype == expected.dtype, label


@pytest.mark.parametrize("name, reference", [
    ("exp", np.exp), ("log", lambda x: np.log(np.abs(x))), ("tanh", np.tanh),
    ("sigmoid", scipy.special.expit), ("relu", lambda x: np.maximum(x, 0)),
    ("gelu", lambda x: x * 0.5 * (1 + scipy.special.erf(x / np.sqrt(2.0)))),
    ("sin", np.sin), ("sqrt", lambda x: np.sqrt(np.abs(x))),
])
@pytest.mark.parametrize("size", [7, LARGE + 3])
@pytest.mark.parametrize("dtype", [F32, F64])
def test_unary_serial_parallel_and_strided_match_numpy(name, reference, size, dtype):
    x = np.random.default_rng(4).uniform(-8, 8, 2 * size).astype(dtype)
    if name in ("log", "sqrt"):
        x = np.abs(x)
    rtol = 4e-6 if dtype == F32 else 1e-13
    # gelu's 1 + erf(x) cancels for x << 0 (in PyTorch's formula too): compare absolutely there.
    atol = (1e-6 if dtype == F32 else 1e-15) if name == "gelu" else 1e-37
    for label, values in [("contiguous", x[:size]), ("strided", x[::2])]:
        expected = reference(values.astype(np.float64))
        np.testing.assert_allclose(getattr(F, name)(values), expected, rtol=rtol, atol=atol,
                                   err_msg=label)


def test_where_on_every_path_matches_numpy():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((LARGE // 128, 128)).astype(np.float32)
    y = rng.standard_normal((LARGE // 128, 128)).astype(np.float32)
    condition = x > 0
    cases = [(condition, x, y), (condition, x, np.float32(0)), (condition[0], x, y),
             (condition[:, :1], x, y[0]), (condition[::2], x[::2], y[1::2]),
             (condition[:5, :7], x[:5, :7], 1.5), (np.bool_(True), x[:3], y[:3])]
    for c, a, b in cases:
        np.testing.assert_array_equal(F.where(c, a, b), np.where(c, a, b))


def test_clip_on_large_and_strided_inputs_matches_numpy():
    x = np.random.default_rng(6).uniform(-3, 3, 2 * LARGE).astype(np.float32)
    for values in (x, x[::2], x[:9]):
        np.testing.assert_array_equal(F.clip(values, -1.0, 0.5), np.clip(values, -1.0, 0.5))


# ---------------------------------------------------------------------------------------------
# Gradients at kinks, ties and bounds


def test_relu_abs_and_sign_gradients_at_zero_are_zero():
    x = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(grad_of(F.relu, x), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(grad_of(F.abs, x), [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(grad_of(F.sign, x), [0.0, 0.0, 0.0])


def test_maximum_and_minimum_split_the_gradient_on_ties():
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([1.0, 5.0, 0.0])
    np.testing.assert_array_equal(grad_of(F.maximum, x, y, wrt=0), [0.5, 0.0, 1.0])
    np.testing.assert_array_equal(grad_of(F.maximum, x, y, wrt=1), [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(grad_of(F.minimum, x, y, wrt=0), [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(grad_of(F.minimum, x, y, wrt=1), [0.5, 0.0, 1.0])


def test_clip_gradient_passes_inside_and_on_the_bounds():
    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    np.testing.assert_array_equal(grad_of(lambda v: F.clip(v, -1, 1), x), [0, 1, 1, 1, 0])
    np.testing.assert_array_equal(grad_of(lambda v: F.clip(v, min=0), x), [0, 0, 1, 1, 1])
    np.testing.assert_array_equal(grad_of(lambda v: F.clip(v, max=0), x), [1, 1, 1, 0, 0])
    np.testing.assert_array_equal(grad_of(lambda v: F.clip(v), x), [1, 1, 1, 1, 1])


def test_pow_gradients_stay_finite_at_a_zero_base():
    x = np.array([0.0, 0.0, 2.0])
    y = np.array([2.0, 0.0, 3.0])
    np.testing.assert_array_equal(grad_of(F.pow, x, y, wrt=0), [0.0, 0.0, 12.0])
    np.testing.assert_allclose(grad_of(F.pow, x, y, wrt=1), [0.0, 0.0, 8.0 * np.log(2.0)])


def test_where_sends_the_gradient_to_the_chosen_side_only():
    condition = np.array([True, False, True])
    x, y = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])
    np.testing.assert_array_equal(grad_of(F.where, condition, x, y, wrt=1), [1, 0, 1])
    np.testing.assert_array_equal(grad_of(F.where, condition, x, y, wrt=2), [0, 1, 0])
    broadcast = grad_of(F.where, condition, x, np.float64(0.0), wrt=2)
    assert broadcast.shape == () and broadcast == 1.0


def test_cast_gradient_converts_back_to_the_input_dtype():
    x = np.array([1.5, -2.0])
    grad = grad_of(lambda v: F.mul(F.cast(v, "float32"), 3.0), x)
    assert grad.dtype == F64
    np.testing.assert_array_equal(grad, [3.0, 3.0])


def test_sigmoid_tanh_and_relu_gradients_use_the_output_only():
    for op in (E.Sigmoid(), E.Tanh(), E.Relu(), E.Exp(), E.Sqrt(), E.Rsqrt(), E.Reciprocal()):
        assert not op.vjp_needs_inputs and op.vjp_needs_outputs, op.name
    y = np.array([0.25, 0.5])
    g = np.ones(2)
    spec = Spec((2,), F64)  # the input is not saved: the rule sees only its spec
    np.testing.assert_allclose(E.Sigmoid().vjp(g, (spec,), y), y * (1 - y))
    np.testing.assert_allclose(E.Tanh().vjp(g, (spec,), y), 1 - y**2)


# ---------------------------------------------------------------------------------------------
# dtype rules


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "tanh", "sigmoid", "gelu", "sin",
                                  "reciprocal", "rsqrt", "erf", "log1p", "cos"])
@pytest.mark.parametrize("dtype", [dtypes.bool_, dtypes.int32, dtypes.int64])
def test_float_functions_of_integers_give_float32_like_pytorch(name, dtype):
    x = np.array([1, 2, 3]).astype(dtype)
    assert getattr(F, name)(x).dtype == F32


def test_true_division_of_integers_gives_float32_and_ieee_results():
    result = F.div(np.array([1, -1, 0], np.int64), np.array([2, 0, 0], np.int32))
    assert result.dtype == F32
    np.testing.assert_array_equal(result, [0.5, -np.inf, np.nan])


def test_binary_promotion_keeps_python_numbers_weak():
    x32 = np.ones(3, np.float32)
    i32 = np.ones(3, np.int32)
    assert F.mul(x32, 2).dtype == F32
    assert F.add(i32, 2).dtype == dtypes.int32
    assert F.add(i32, 2.5).dtype == F32
    assert F.add(2.5, i32).dtype == F32
    assert F.add(i32, np.ones(3, np.int64)).dtype == dtypes.int64
    assert F.maximum(i32, True).dtype == dtypes.int32
    assert F.sub(np.ones(2, bool), 1).dtype == dtypes.int64  # int lifts bool to int64
    assert F.gt(i32, 0.5).dtype == dtypes.bool_


def test_clip_dtype_and_bounds():
    ints = np.array([-5, 0, 5], np.int32)
    assert F.clip(ints, -1, 1).dtype == dtypes.int32
    assert F.clip(ints, -0.5, 0.5).dtype == F32
    np.testing.assert_array_equal(F.clip(ints, -(2**40), 2**40), ints)  # beyond int32: no-op
    np.testing.assert_array_equal(F.clip(np.arange(4.0), 2, 1), [1, 1, 1, 1])  # min > max
    np.testing.assert_array_equal(F.clip(ints, np.int64(-2), np.float32(2)), [-2, 0, 2])
    with pytest.raises(DTypeError, match="clip: min must be a number"):
        F.clip(ints, np.zeros(2))


def test_where_needs_a_bool_condition_and_matching_shapes():
    x = np.ones(3, np.float32)
    with pytest.raises(DTypeError, match="where: condition has dtype float32"):
        F.where(x, x, x)
    with pytest.raises(ShapeError, match="where: shapes"):
        F.where(np.ones(2, bool), x, x)
    assert F.where(np.ones(3, bool), 1, 2).dtype == dtypes.int64


def test_shape_rule_keeps_unknown_dimensions():
    spec = E.Add().infer(Spec((None, 3), F32), Spec((3,), F32))
    assert spec == Spec((None, 3), F32)
    assert E.Where().infer(Spec((None, 1), dtypes.bool_), Spec((1, 4), F32),
                           Spec((), F32)) == Spec((None, 4), F32)
    assert E.Gt().infer(Spec((2, None), F64), Spec((2, 1), F64)) == Spec((2, None), dtypes.bool_)


def test_unsupported_dtypes_are_named():
    with pytest.raises(DTypeError, match="pow: input has dtype int64"):
        F.pow(np.arange(3), 2)
    with pytest.raises(DTypeError, match="sub: input has dtype bool"):
        F.sub(np.ones(2, bool), np.ones(2, bool))
    with pytest.raises(DTypeError, match="add: inputs have different dtypes"):
        E.Add().infer(Spec((2,), F32), Spec((2,), F64))


# ---------------------------------------------------------------------------------------------
# cast


@pytest.mark.parametrize("source", dtypes.ALL, ids=str)
@pytest.mark.parametrize("target", dtypes.ALL, ids=str)
@pytest.mark.parametrize("layout", ["small", "strided", "large"])
def test_cast_between_every_pair_of_dtypes_matches_numpy(source, target, layout):
    values = np.random.default_rng(7).uniform(-3, 3, 2 * LARGE)
    values[:4] = [0.0, -0.0, 0.75, -2.5]
    x = values.astype(source)
    x = {"small": x[:9], "strided": x[::2], "large": x}[layout]
    ours = F.cast(x, target)
    assert ours.dtype == target
    np.testing.assert_array_equal(ours, x.astype(target))


def test_cast_of_nan_to_bool_is_true():
    np.testing.assert_array_equal(F.cast(np.array([np.nan, 0.0]), "bool"), [True, False])


def test_size_zero_inputs_give_size_zero_outputs():
    empty = np.zeros((0, 3), np.float32)
    assert F.exp(empty).shape == (0, 3)
    assert F.add(empty, np.ones(3, np.float32)).shape == (0, 3)
    assert F.where(np.zeros((0, 1), bool), empty, 1.0).shape == (0, 3)
    assert F.cast(empty, "int32").shape == (0, 3)
