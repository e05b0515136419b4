"""PyTorch's maths, reduction and shape functions on eager Tensors (eager/maths.py, linalg.py).

Values are checked against NumPy, with the cases PyTorch code relies on: the signs of `//`,
`%` and fmod, integer dtypes kept, zero integer divisors refused before anything changes,
NaN and infinities, empty tensors, broadcasting bounds. Gradients are checked against float64
central differences. The spec tables (tests/framework/specs_*.py) check each new op's forward,
gradients and eager == graph; the `torch`-marked tests compare with PyTorch where installed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import eager
from framework.errors import (
    ArgumentError,
    DTypeError,
    IndexingError,
    IntegerDivisionByZeroError,
    ShapeError,
)
from framework.ops.linalg import EinsumError, UnsupportedNormError

NAN, INF = float("nan"), float("inf")


def _numeric_grad(function, arrays, index, eps=1e-6):
    """d function(*arrays) / d arrays[index] by central differences (function -> float)."""
    x = arrays[index]
    grad = np.zeros_like(x)
    for k in range(x.size):
        saved = x.flat[k]
        x.flat[k] = saved + eps
        plus = function(*arrays)
        x.flat[k] = saved - eps
        minus = function(*arrays)
        x.flat[k] = saved
        grad.flat[k] = (plus - minus) / (2 * eps)
    return grad


def _check_gradients(function, *arrays, rtol=1e-6, atol=1e-7):
    """Backward of sum(function(*tensors) * weights) against central differences."""
    arrays = [np.array(a, np.float64) for a in arrays]
    tensors = [eager.tensor(a, requires_grad=True) for a in arrays]
    out = function(*tensors)
    weights = np.random.default_rng(0).standard_normal(out.shape)
    (out * eager.tensor(weights)).sum().backward()

    def loss(*values):
        return float(np.sum(function(*[eager.tensor(v) for v in values]).numpy() * weights))

    for k, t in enumerate(tensors):
        np.testing.assert_allclose(t.grad.numpy(), _numeric_grad(loss, arrays, k),
                                   rtol=rtol, atol=atol)


# -- floor_divide, remainder, fmod and the operators ----------------------------------------------

SIGNED = (np.array([7, -7, 7, -7, 0, 9]), np.array([2, 2, -2, -2, 3, 3]))
FLOATS = (np.array([7.5, -7.5, 7.5, -7.5, 1.0, -5.0, 5.0]),
          np.array([2.0, 2.0, -2.0, -2.0, 0.1, INF, 0.5]))


def test_floor_divide_rounds_toward_minus_infinity_for_ints_and_floats():
    for x, y in (SIGNED, FLOATS):
        a, b = eager.tensor(x), eager.tensor(y)
        for got in (eager.floor_divide(a, b), a // b, a.floor_divide(b)):
            assert got.dtype == a.dtype
            np.testing.assert_array_equal(got.numpy(), np.floor_divide(x, y))
    assert (eager.tensor([7, -7], dtype=eager.int32) // 2).dtype == eager.int32
    assert (-7 // eager.tensor([2, -2])).tolist() == [-4, 3]  # reflected
    assert (eager.tensor([7, -7]) // 2.0).tolist() == [3.0, -4.0]  # promotes, as PyTorch
    with np.errstate(divide="ignore", invalid="ignore"):
        zeros = (eager.tensor([1.0, -1.0, 0.0]) // 0.0).numpy()
    np.testing.assert_array_equal(zeros, [INF, -INF, NAN])  # IEEE for floats


def test_remainder_takes_the_divisors_sign_and_fmod_the_dividends():
    for x, y in (SIGNED, FLOATS):
        a, b = eager.tensor(x), eager.tensor(y)
        for got in (eager.remainder(a, b), a % b, a.remainder(b)):
            np.testing.assert_allclose(got.numpy(), np.remainder(x, y), rtol=1e-15)
        for got in (eager.fmod(a, b), a.fmod(b)):
            np.testing.assert_allclose(got.numpy(), np.fmod(x, y), rtol=1e-15)
    assert (eager.arange(-3, 3) % 3).tolist() == [0, 1, 2, 0, 1, 2]
    assert eager.fmod(eager.arange(-3, 3, dtype=eager.int32), 3).tolist() == [0, -2, -1, 0, 1, 2]
    assert (7 % eager.tensor([3, -3])).tolist() == [1, -2]  # reflected


def test_floor_divide_and_remainder_in_place():
    x = eager.tensor([7, -7, 9])
    x //= 2
    assert x.tolist() == [3, -4, 4]
    x %= 3
    assert x.tolist() == [0, 2, 1]
    y = eager.tensor([7.5, -7.5])
    assert y.fmod_(2).tolist() == [1.5, -1.5] and y.tolist() == [1.5, -1.5]
    assert eager.tensor([5.0]).floor_divide_(2).tolist() == [2.0]
    ints = eager.tensor([7, 8])
    with pytest.raises(RuntimeError, match="can't be cast"):
        ints //= 2.5  # a float result is not written into an int tensor, as in PyTorch
    assert ints.tolist() == [7, 8]


@pytest.mark.parametrize("function", [eager.floor_divide, eager.remainder, eager.fmod])
def test_an_integer_zero_divisor_is_refused_naming_where(function):
    x = eager.tensor([[5, 6, 7], [8, 9, 10]])
    with pytest.raises(IntegerDivisionByZeroError, match=r"divisor .* is 0 at index \(1, 2\)"
                       ) as info:
        function(x, eager.tensor([[1, 2, 3], [4, 5, 0]]))
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, ZeroDivisionError)
    assert __file__ in str(info.value)  # names the user's line
    with pytest.raises(ZeroDivisionError):
        x //= 0
    with pytest.raises(ZeroDivisionError):
        x %= eager.tensor([1, 0, 1])
    assert x.tolist() == [[5, 6, 7], [8, 9, 10]]  # nothing written


def test_remainder_and_fmod_gradients_match_finite_differences():
    x, y = np.array([[2.3, -1.7, 0.4]]), np.array([[0.9], [-1.3]])
    _check_gradients(eager.remainder, x, y)
    _check_gradients(eager.fmod, x, y)
    _check_gradients(lambda a: a % 0.7, x)
    quotient = eager.floor_divide(eager.tensor([1.5], requires_grad=True), 0.5)
    assert not quotient.requires_grad  # piecewise constant: no gradient, as in PyTorch


# -- clamp ------------------------------------------------------------------------------------


def test_clamp_keeps_integers_integral_with_one_bound():
    x = eager.arange(5)
    assert x.clamp(min=2).dtype == eager.int64 and x.clamp(min=2).tolist() == [2, 2, 2, 3, 4]
    assert x.clamp(max=1).tolist() == [0, 1, 1, 1, 1] and x.clamp(max=1).dtype == eager.int64
    assert eager.clip(x, 1, 3).tolist() == [1, 1, 2, 3, 3]
    assert x.clamp(min=0.5).dtype == eager.float32  # promotes with a float bound
    with pytest.raises(ArgumentError, match="at least one of 'min' or 'max'"):
        x.clamp()


def test_clamp_with_tensor_bounds_broadcasts_and_propagates_nan():
    x = eager.tensor([[-2.0, 0.5, 3.0, NAN]])
    low = eager.tensor([[0.0], [1.0]])
    got = eager.clamp(x, low, eager.tensor(2.0))
    expected = np.minimum(np.maximum(x.numpy(), low.numpy()), 2.0)
    np.testing.assert_array_equal(got.numpy(), expected)
    assert got.shape == (2, 4)
    # a NaN bound gives NaN; min > max gives max, as in PyTorch
    np.testing.assert_array_equal(
        eager.tensor([1.0, 1.0]).clamp(eager.tensor([NAN, 3.0]), eager.tensor([2.0, 2.0])).numpy(),
        [NAN, 2.0])
    assert eager.arange(4).clamp(max=eager.tensor([0, 1, 5, 2])).tolist() == [0, 1, 2, 2]
    y = eager.tensor([5.0, -5.0, 0.5])
    y.clamp_(eager.tensor([0.0, 0.0, 0.0]), 1.0)
    assert y.tolist() == [1.0, 0.0, 0.5]
    y.clip_(max=eager.tensor(0.25))
    assert y.tolist() == [0.25, 0.0, 0.25]


def test_clamp_gradient_reaches_the_bound_that_binds():
    x = eager.tensor([-1.0, 0.5, 2.0, 0.3], requires_grad=True)
    low = eager.tensor([0.0, 0.0, 0.0, 1.0], requires_grad=True)
    high = eager.tensor([1.0, 1.0, 1.0, 0.5], requires_grad=True)  # last: min > max
    x.clamp(low, high).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0, 0.0]
    assert low.grad.tolist() == [1.0, 0.0, 0.0, 0.0]  # x < low (and low < high)
    assert high.grad.tolist() == [0.0, 0.0, 1.0, 1.0]  # x > high, or high < low
    _check_gradients(lambda a, b: eager.clamp(a, b, 0.8), [[0.1, 0.9, -0.4]], [[0.3], [-0.5]])


# -- isnan, isinf, isfinite, nan_to_num, logical ops -------------------------------------------


def test_float_predicates_and_integers():
    values = np.array([1.0, NAN, INF, -INF, 0.0], np.float32)
    x = eager.tensor(values)
    for name in ("isnan", "isinf", "isfinite"):
        for got in (getattr(eager, name)(x), getattr(x, name)()):
            assert got.dtype == eager.bool
            np.testing.assert_array_equal(got.numpy(), getattr(np, name)(values))
    ints = eager.arange(3)
    assert ints.isnan().tolist() == [False] * 3 and ints.isinf().tolist() == [False] * 3
    assert eager.isfinite(ints).tolist() == [True] * 3


def test_nan_to_num_defaults_replacements_and_gradient():
    values = np.array([NAN, INF, -INF, 1.5], np.float32)
    got = eager.nan_to_num(eager.tensor(values))
    np.testing.assert_array_equal(got.numpy(), np.nan_to_num(values))
    assert got.dtype == eager.float32
    custom = eager.tensor(values).nan_to_num(nan=-1.0, posinf=9.0, neginf=-9.0)
    assert custom.tolist() == [-1.0, 9.0, -9.0, 1.5]
    x = eager.tensor([NAN, 2.0, INF], requires_grad=True)
    (eager.nan_to_num(x) * 3).sum().backward()
    assert x.grad.tolist() == [0.0, 3.0, 0.0]
    ints = eager.tensor([1, 2])
    copy = eager.nan_to_num(ints)
    copy.add_(1)
    assert ints.tolist() == [1, 2]  # a copy, as in PyTorch
    y = eager.tensor([NAN, 1.0])
    assert y.nan_to_num_(nan=5.0) is y and y.tolist() == [5.0, 1.0]


def test_logical_ops_on_any_dtypes_and_bool_operators():
    a, b = np.array([0.0, 2.0, NAN, 0.0]), np.array([1, 0, 3, 0])
    for name in ("logical_and", "logical_or", "logical_xor"):
        got = getattr(eager, name)(eager.tensor(a), eager.tensor(b))
        assert got.dtype == eager.bool
        np.testing.assert_array_equal(got.numpy(), getattr(np, name)(a, b))
        np.testing.assert_array_equal(getattr(eager.tensor(a), name)(eager.tensor(b)).numpy(),
                                      getattr(np, name)(a, b))
    assert eager.logical_not(eager.tensor([0, 3])).tolist() == [True, False]
    p, q = eager.tensor([True, True, False]), eager.tensor([True, False, False])
    assert (p & q).tolist() == [True, False, False]
    assert (p | q).tolist() == [True, True, False]
    assert (p ^ q).tolist() == [False, True, False]
    assert (True & q).tolist() == [True, False, False] and (q | False).tolist() == q.tolist()
    with pytest.raises(DTypeError, match="bitwise"):
        eager.arange(3) & eager.arange(3)  # PyTorch's bitwise and: not silently logical


def test_any_and_all_with_dims_and_no_elements():
    x = eager.tensor([[1.0, 0.0], [2.0, 3.0]])
    assert x.all(1).tolist() == [False, True] and x.any(0).tolist() == [True, True]
    assert eager.all(x, dim=1, keepdim=True).shape == (2, 1)
    assert eager.any(eager.zeros(2, 2), (0, 1)).item() is False
    assert eager.tensor([]).all().item() is True and eager.tensor([]).any().item() is False
    assert eager.zeros(0, 3).all(0).tolist() == [True] * 3
    assert eager.tensor([NAN]).all().item() is True  # NaN is non-zero


def test_isclose_and_allclose():
    a = np.array([1.0, 1.0, INF, -INF, NAN, 0.0, 1e-9])
    b = np.array([1.0 + 1e-6, 1.1, INF, INF, NAN, 1e-9, 0.0])
    for equal_nan in (False, True):
        got = eager.isclose(eager.tensor(a), eager.tensor(b), equal_nan=equal_nan)
        np.testing.assert_array_equal(got.numpy(), np.isclose(a, b, equal_nan=equal_nan))
    assert eager.tensor([1.0]).isclose(eager.tensor([1.5]), rtol=0, atol=0.5).item() is True
    assert eager.isclose(eager.tensor([3, 4]), eager.tensor([3, 5])).tolist() == [True, False]
    assert eager.allclose(eager.ones(3), eager.ones(3) + 1e-7) is True
    assert eager.ones(2).allclose(eager.tensor([1.0, 2.0])) is False
    with pytest.raises(DTypeError, match="float32.*float64"):
        eager.isclose(eager.ones(2), eager.ones(2, dtype=eager.float64))
    with pytest.raises(ArgumentError, match="rtol must be greater than or equal to zero"):
        eager.allclose(eager.ones(2), eager.ones(2), rtol=-1)


# -- norms, var and std -----------------------------------------------------------------------


def test_vector_norms_match_numpy():
    x = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    t = eager.tensor(x)
    for p in (2, 1, INF, -INF, 0, 3, 0.5):
        expected = np.linalg.norm(x, p, axis=1)
        for got in (eager.norm(t, p, 1), t.norm(p, dim=1), eager.linalg.vector_norm(t, p, 1),
                    eager.linalg.norm(t, p, dim=1)):
            assert got.dtype == eager.float32
            np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5)
    assert t.norm().item() == pytest.approx(float(np.linalg.norm(x)), rel=1e-6)
    assert eager.linalg.norm(t).item() == pytest.approx(float(np.linalg.norm(x)), rel=1e-6)
    assert eager.linalg.vector_norm(eager.ones(2, 3, 4), dim=(0, 2), keepdim=True).shape == (
        1, 3, 1)
    ints = eager.tensor([3, 4])
    assert eager.linalg.vector_norm(ints, dtype=eager.float64).item() == 5.0
    with pytest.raises(DTypeError, match="floating point"):
        ints.norm()
    with pytest.raises(ShapeError, match="inf norm .* size 0"):
        eager.linalg.vector_norm(eager.ones(0), INF)


def test_matrix_norms_match_numpy_and_refuse_singular_value_norms():
    x = np.random.default_rng(2).standard_normal((3, 4))
    for order in ("fro", 1, -1, INF, -INF):
        got = eager.linalg.matrix_norm(eager.tensor(x), order)
        assert got.item() == pytest.approx(np.linalg.norm(x, order), rel=1e-12)
        assert eager.linalg.norm(eager.tensor(x), order).item() == pytest.approx(
            np.linalg.norm(x, order), rel=1e-12)
    stacked = eager.tensor(np.stack([x, 2 * x]))
    np.testing.assert_allclose(eager.linalg.matrix_norm(stacked, 1).numpy(),
                               [np.linalg.norm(x, 1), 2 * np.linalg.norm(x, 1)])
    for order in (2, -2, "nuc"):
        with pytest.raises(NotImplementedError, match="singular values"):
            eager.linalg.matrix_norm(stacked, order)
    with pytest.raises(UnsupportedNormError):
        stacked.norm(p="nuc")
    with pytest.raises(ShapeError, match="1-D or 2-D"):
        eager.linalg.norm(stacked, 1)


def test_the_two_norm_of_float32_neither_overflows_nor_underflows():
    big = eager.tensor([3e30, 4e30])
    tiny = eager.tensor([3e-30, 4e-30])
    assert big.norm().item() == pytest.approx(5e30, rel=1e-6)  # squares overflow float32
    assert tiny.norm().item() == pytest.approx(5e-30, rel=1e-6)  # squares underflow


def test_norm_gradients_are_zero_at_zero_and_match_finite_differences():
    for p in (2, 1, 3, INF):
        x = eager.zeros(3, requires_grad=True)
        eager.linalg.vector_norm(x, p).backward()
        assert x.grad.tolist() == [0.0, 0.0, 0.0], p  # PyTorch's rule, not 0 / 0
    rows = [[0.3, -1.2, 2.0], [0.7, 0.1, -0.4]]
    for p in (2, 1, 3, 0.5, INF, -INF):
        _check_gradients(lambda a, p=p: eager.linalg.vector_norm(a, p, dim=1), rows)
    _check_gradients(lambda a: eager.linalg.matrix_norm(a, 1), rows)
    zero_norm = eager.linalg.vector_norm(eager.ones(2, requires_grad=True), 0)
    assert zero_norm.item() == 2.0 and zero_norm.requires_grad  # a zero gradient, as PyTorch


def test_var_and_std_take_pytorchs_positional_overloads():
    values = np.arange(12.0).reshape(3, 4) ** 1.5
    x = eager.tensor(values)
    np.testing.assert_allclose(x.var(0, True).numpy(), values.var(0, ddof=1), rtol=1e-12)
    np.testing.assert_allclose(x.var(0, False).numpy(), values.var(0), rtol=1e-12)
    assert x.var(1, True, True).shape == (3, 1)  # (dim, unbiased, keepdim)
    assert x.var(False).item() == pytest.approx(values.var(), rel=1e-12)  # var(unbiased)
    assert x.std(True).item() == pytest.approx(values.std(ddof=1), rel=1e-12)
    assert eager.std(x, 1, keepdim=True, correction=0).shape == (3, 1)
    np.testing.assert_allclose(eager.var(x, (0, 1), correction=2).numpy(), values.var(ddof=2),
                               rtol=1e-12)
    with pytest.raises(TypeError, match="unbiased or correction"):
        x.var(0, True, correction=1)


# -- einsum, outer, bmm, baddbmm --------------------------------------------------------------

EQUATIONS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(5, 2, 3), (5, 3, 4)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),
    ("ij,ij->i", [(3, 4), (3, 4)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ii", [(3, 3)]),
    ("ii->i", [(3, 3)]),
    ("ij->ji", [(2, 3)]),
    ("...ij,...jk", [(2, 5, 2, 3), (3, 4)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("i,ij,j->", [(3,), (3, 4), (4,)]),
    ("ijj,jk->ki", [(2, 3, 3), (3, 4)]),
    ("bi,bi->b", [(5, 1), (5, 3)]),
]


@pytest.mark.parametrize("equation, shapes", EQUATIONS, ids=[e for e, _ in EQUATIONS])
def test_einsum_matches_numpy(equation, shapes):
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(s) for s in shapes]
    got = eager.einsum(equation, *[eager.tensor(a) for a in arrays])
    np.testing.assert_allclose(got.numpy(), np.einsum(equation, *arrays), rtol=1e-12,
                               atol=1e-12)
    _check_gradients(lambda *ts: eager.einsum(equation, *ts), *arrays)


def test_einsum_spellings_dtypes_and_errors():
    a, b = eager.arange(6).reshape(2, 3), eager.arange(12).reshape(3, 4)
    expected = np.arange(6).reshape(2, 3) @ np.arange(12).reshape(3, 4)
    assert eager.einsum("ij,jk", [a, b]).tolist() == expected.tolist()  # operands as a list
    assert eager.einsum(a, [0, 1], b, [1, 2], [0, 2]).tolist() == expected.tolist()  # sublists
    assert eager.einsum("i j , j k -> i k", a, b).dtype == eager.int64
    assert eager.einsum("i,i->", eager.ones(3, dtype=eager.int32),
                        eager.ones(3, dtype=eager.int32)).dtype == eager.int32
    with pytest.raises(EinsumError, match=r"subscript 'j' has size 4.*'ij,jk->ik'") as info:
        eager.einsum("ij,jk->ik", eager.ones(2, 3), eager.ones(4, 5))
    assert isinstance(info.value, RuntimeError) and __file__ in str(info.value)
    with pytest.raises(EinsumError, match="'ij,jk' has 2 operand"):
        eager.einsum("ij,jk", eager.ones(2, 3))
    with pytest.raises(EinsumError, match="output subscript 'k'"):
        eager.einsum("ij->ik", eager.ones(2, 3))
    with pytest.raises(EinsumError, match=r"shape \(2, 3, 4\)"):
        eager.einsum("ij", eager.ones(2, 3, 4))


def test_outer_bmm_and_baddbmm_match_numpy():
    rng = np.random.default_rng(4)
    u, v = rng.standard_normal(3), rng.standard_normal(4)
    for got in (eager.outer(eager.tensor(u), eager.tensor(v)), eager.tensor(u).outer(v)):
        np.testing.assert_allclose(got.numpy(), np.outer(u, v))
    a, b, c = (rng.standard_normal(s) for s in ((5, 2, 3), (5, 3, 4), (2, 4)))
    np.testing.assert_allclose(eager.bmm(eager.tensor(a), eager.tensor(b)).numpy(), a @ b)
    got = eager.tensor(c).baddbmm(eager.tensor(a), eager.tensor(b), beta=0.5, alpha=-2)
    np.testing.assert_allclose(got.numpy(), 0.5 * c - 2 * (a @ b))
    ignored = eager.baddbmm(eager.full((2, 4), NAN), eager.tensor(a), eager.tensor(b), beta=0)
    np.testing.assert_allclose(ignored.numpy(), a @ b)  # beta=0: NaN in input does not spread
    _check_gradients(lambda x, y, z: eager.baddbmm(x, y, z, beta=0.5, alpha=3), c, a, b)
    with pytest.raises(ShapeError, match="1-D argument"):
        eager.outer(eager.ones(2, 2), eager.ones(2))
    with pytest.raises(ShapeError, match="batch1 must be a 3D tensor"):
        eager.bmm(eager.ones(2, 3), eager.ones(2, 3, 4))
    with pytest.raises(ShapeError, match=r"batch2 tensor to be: \[5, 3\] but got: \[5, 4\]"):
        eager.bmm(eager.tensor(a), eager.ones(5, 4, 3))
    with pytest.raises(DTypeError, match="one dtype"):
        eager.bmm(eager.tensor(a), eager.tensor(b).float())
    with pytest.raises(ShapeError, match="does not broadcast"):
        eager.baddbmm(eager.ones(3, 4), eager.tensor(a), eager.tensor(b))


# -- unbind, repeat, tile, expand, view_as, reshape_as, numel ----------------------------------


def test_unbind_gives_views_along_a_dim():
    x = eager.arange(6.0).reshape(2, 3)
    columns = eager.unbind(x, -1)
    assert isinstance(columns, tuple) and [c.tolist() for c in columns] == [[0, 3], [1, 4],
                                                                             [2, 5]]
    assert [r.tolist() for r in x.unbind()] == [[0, 1, 2], [3, 4, 5]]
    assert eager.unbind(eager.ones(0, 2)) == ()
    leaf = eager.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    first, second, third = leaf.unbind(1)
    (first * 1 + third * 3).sum().backward()
    assert leaf.grad.tolist() == [[1.0, 0.0, 3.0], [1.0, 0.0, 3.0]]
    with pytest.raises(IndexingError, match="no dimensions"):
        eager.unbind(eager.tensor(1.0))


def test_repeat_and_tile_match_numpy_and_copy():
    values = np.arange(6).reshape(2, 3)
    x = eager.tensor(values)
    assert x.repeat(2, 1, 2).tolist() == np.tile(values, (2, 1, 2)).tolist()
    assert x.repeat((1, 2)).tolist() == np.tile(values, (1, 2)).tolist()
    assert eager.tile(x, (2,)).tolist() == np.tile(values, (2,)).tolist()
    assert x.tile((2, 1, 1)).shape == (2, 2, 3)
    copy = x.repeat(1, 1)
    copy.add_(1)
    assert x.tolist() == values.tolist()  # a copy, never a view
    with pytest.raises(ShapeError, match="can not be smaller"):
        x.repeat(2)
    with pytest.raises(ArgumentError, match="negative dimension"):
        x.repeat(2, -1)
    _check_gradients(lambda a: a.repeat(2, 1, 3), [[0.5, -1.0], [2.0, 0.25]])


def test_split_sizes_must_not_be_negative():
    x = eager.arange(10).reshape(2, 5)
    assert [p.shape for p in eager.split(x, [2, 3], 1)] == [(2, 2), (2, 3)]
    with pytest.raises(ArgumentError, match="non-negative entries"):
        x.split([2, -1], 1)  # PyTorch has no "rest of it" size


def test_expand_refuses_minus_one_for_a_new_leading_dimension():
    x = eager.tensor([[1], [2]])
    assert x.expand(3, -1, 4).shape == (3, 2, 4)
    with pytest.raises(ShapeError, match="leading, non-existing dimension 0"):
        x.expand(-1, 2, 4)
    with pytest.raises(ShapeError, match="number of sizes provided"):
        x.expand(4)


def test_view_as_reshape_as_and_numel():
    x, like = eager.arange(6), eager.zeros(2, 3)
    assert x.view_as(like).shape == (2, 3) and x.reshape_as(like).tolist() == [[0, 1, 2],
                                                                             [3, 4, 5]]
    assert eager.numel(like) == 6


# -- PyTorch itself -----------------------------------------------------------------------------


@pytest.mark.torch
def test_values_and_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((3, 4)), rng.uniform(0.5, 2, (3, 4)) * rng.choice([-1, 1], (3, 4))
    ints, divisors = rng.integers(-9, 9, (3, 4)), rng.choice([-3, -2, 2, 3], (3, 4))
    pairs = {
        "floor_divide": (ints, divisors), "remainder": (x, y), "fmod": (x, y),
        "logical_xor": (ints, x), "isclose": (x, x + 1e-9),
    }
    for name, (a, b) in pairs.items():
        ours = getattr(eager, name)(eager.tensor(a), eager.tensor(b)).numpy()
        theirs = getattr(torch, name)(torch.from_numpy(a), torch.from_numpy(b)).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, err_msg=name)
    special = np.array([1.0, NAN, INF, -INF])
    for name in ("isnan", "isinf", "isfinite", "nan_to_num"):
        np.testing.assert_array_equal(getattr(eager, name)(eager.tensor(special)).numpy(),
                                      getattr(torch, name)(torch.from_numpy(special)).numpy())

    def both(function_ours, function_theirs, *arrays):
        mine = [eager.tensor(a, requires_grad=True) for a in arrays]
        theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
        out_mine, out_theirs = function_ours(*mine), function_theirs(*theirs)
        np.testing.assert_allclose(out_mine.detach().numpy(), out_theirs.detach().numpy(),
                                   rtol=1e-10)
        weights = rng.standard_normal(out_theirs.shape)
        (out_mine * eager.tensor(weights)).sum().backward()
        (out_theirs * torch.from_numpy(weights)).sum().backward()
        for m, t in zip(mine, theirs):
            expected = np.zeros(t.shape) if t.grad is None else t.grad.numpy()  # ord=0: None
            np.testing.assert_allclose(m.grad.numpy(), expected, rtol=1e-10, atol=1e-12)

    low, high = rng.standard_normal((1, 4)) - 0.5, rng.standard_normal((3, 1)) + 0.5
    both(lambda a, b, c: a.clamp(b, c), lambda a, b, c: a.clamp(b, c), x, low, high)
    both(lambda a, b: a % b, lambda a, b: a % b, x, y)
    both(lambda a: a.nan_to_num(), lambda a: a.nan_to_num(), special)
    for p in (2, 1, 3, math.inf, -math.inf, 0):
        both(lambda a, p=p: eager.linalg.vector_norm(a, p, 1),
             lambda a, p=p: torch.linalg.vector_norm(a, p, 1), x)
    for order in ("fro", 1, -1, math.inf, -math.inf):
        both(lambda a, o=order: eager.linalg.matrix_norm(a, o),
             lambda a, o=order: torch.linalg.matrix_norm(a, o), x)
    both(lambda a: a.norm(), lambda a: a.norm(), x)
    both(lambda a: a.var(0, False), lambda a: a.var(0, False), x)
    both(lambda a: a.std(1, True, True), lambda a: a.std(1, True, True), x)
    for equation, shapes in EQUATIONS:
        arrays = [rng.standard_normal(s) for s in shapes]
        both(lambda *ts, e=equation: eager.einsum(e, *ts),
             lambda *ts, e=equation: torch.einsum(e, *ts), *arrays)
    a, b, c = (rng.standard_normal(s) for s in ((5, 2, 3), (5, 3, 4), (2, 4)))
    both(lambda i, j, k: eager.baddbmm(i, j, k, beta=0.5, alpha=2),
         lambda i, j, k: torch.baddbmm(i, j, k, beta=0.5, alpha=2), c, a, b)
    both(lambda i, j: eager.bmm(i, j), torch.bmm, a, b)
    both(lambda i, j: eager.outer(i, j), torch.outer, x[0], y[1])
    both(lambda i: i.repeat(2, 1, 3), lambda i: i.repeat(2, 1, 3), x)
    both(lambda i: eager.tile(i, (2,)), lambda i: torch.tile(i, (2,)), x)
    both(lambda i: eager.unbind(i, 1)[2], lambda i: torch.unbind(i, 1)[2], x)
    empty = torch.zeros(0)
    assert eager.zeros(0).all().item() == empty.all().item()
    assert eager.zeros(0).any().item() == empty.any().item()
