"""matmul behaviour the spec table cannot express: layouts, unknown dimensions, big integers."""

import numpy as np
import pytest

from framework import dtypes
from framework.device import allocator
from framework.errors import ShapeError
from framework.ops import F
from framework.ops.linalg import MatMul, matmul_shape
from framework.ops.registry import Spec


def allocations_during(function, *args):
    before = allocator().stats.allocations  # read anew: the allocator folds its log on read
    result = function(*args)
    return result, allocator().stats.allocations - before


@pytest.mark.parametrize("dtype", dtypes.FLOATS)
def test_transposed_operands_reach_blas_without_copies(dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 5, 6)).astype(dtype)
    b = rng.standard_normal((4, 6, 7)).astype(dtype)
    # The same values, each matrix stored in Fortran order (what a transpose view looks like).
    a_f = np.ascontiguousarray(a.swapaxes(1, 2)).swapaxes(1, 2)
    b_f = np.ascontiguousarray(b.swapaxes(1, 2)).swapaxes(1, 2)
    for left, right in [(a_f, b_f), (a_f, b), (a, b_f), (a_f[0], b[0]), (a[1], b_f[1])]:
        result, allocated = allocations_during(F.matmul, left, right)
        assert allocated == 1  # the output only
        np.testing.assert_allclose(result, np.matmul(left, right), rtol=1e-5, atol=1e-5)


def test_gradient_rule_passes_transposed_views_to_blas():
    rng = np.random.default_rng(1)
    b, g = rng.standard_normal((4, 5)), rng.standard_normal((3, 5))
    transposed_b = F.transpose(b)
    assert transposed_b.flags.f_contiguous and not transposed_b.flags.c_contiguous
    grad_a, allocated = allocations_during(F.matmul, g, transposed_b)
    assert allocated == 1
    np.testing.assert_allclose(grad_a, g @ b.T, rtol=1e-12)


def test_a_stack_times_one_matrix_matches_per_matrix_products():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((3, 5, 4, 6)).astype(np.float32)
    b = rng.standard_normal((6, 2)).astype(np.float32)
    result = F.matmul(a, b)
    for i in range(3):
        for j in range(5):
            np.testing.assert_allclose(result[i, j], a[i, j] @ b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", dtypes.INTS)
def test_large_integer_products_wrap_like_numpy(dtype):
    # Big enough for the parallel integer kernel; int32 sums overflow and must wrap like NumPy.
    rng = np.random.default_rng(3)
    info = np.iinfo(dtype)
    a = rng.integers(info.min // 4, info.max // 4, size=(2, 70, 90), dtype=dtype)
    b = rng.integers(info.min // 4, info.max // 4, size=(90, 60), dtype=dtype)
    np.testing.assert_array_equal(F.matmul(a, b), np.matmul(a, b))
    np.testing.assert_array_equal(F.matmul(a[:, ::2].swapaxes(1, 2).swapaxes(1, 2), b),
                                  np.matmul(a[:, ::2], b))


def test_mixed_dtypes_promote_like_numpy():
    a = np.arange(6, dtype=np.int32).reshape(2, 3)
    b = np.ones((3, 2), np.float32)
    result = F.matmul(a, b)
    assert result.dtype == np.result_type(a, b)
    np.testing.assert_array_equal(result, a @ b)


@pytest.mark.parametrize("a, b, expected", [
    ((None, 3), (3, None), (None, None)),
    ((None, 2, None), (None, 4), (None, 2, 4)),
    ((None,), (None, 5), (5,)),
    ((7, None, 2, 3), (None, 3, 4), (7, None, 2, 4)),
    ((1, 2, 3), (None, 3, 4), (None, 2, 4)),
    ((3,), (None,), ()),
])
def test_shape_rule_keeps_unknown_dimensions(a, b, expected):
    spec = MatMul().infer(Spec(a, np.float32), Spec(b, np.float32))
    assert spec.shape == expected and spec.dtype == np.float32


def test_shape_rule_names_both_shapes_and_the_inner_dimensions():
    with pytest.raises(ShapeError) as info:
        matmul_shape((None, 2, 3), (None, 5, 4))
    message = str(info.value)
    assert "(None, 2, 3) and (None, 5, 4)" in message
    assert "last dimension is 3" in message and "second-to-last dimension is 5" in message


def test_shape_rule_error_names_the_user_line():
    with pytest.raises(ShapeError, match="test_linalg.py"):
        F.matmul(np.ones((2, 3)), np.ones((2, 3)))


def test_equal_ops_hash_alike():
    assert MatMul() == MatMul() and hash(MatMul()) == hash(MatMul())


def _fortran(x):
    """The same values with each matrix stored in Fortran order (a transpose view's layout)."""
    return np.ascontiguousarray(np.swapaxes(x, -1, -2)).swapaxes(-1, -2)


def _strided(x):
    """The same values in a view BLAS cannot read in place (every other column of a copy)."""
    return np.repeat(x, 2, axis=-1)[..., ::2]


@pytest.mark.parametrize("dtype", dtypes.FLOATS)
@pytest.mark.parametrize("layout_a", ["C", "F", "strided"])
@pytest.mark.parametrize("layout_b", ["C", "F", "strided"])
def test_one_matrix_product_has_the_bits_of_the_stacked_kernel(dtype, layout_a, layout_b):
    # A product of two matrices takes a short path; a stack of them runs the batched kernel.
    # Both must hand BLAS the same call, so the eager and graph front-ends agree bit for bit.
    rng = np.random.default_rng(4)
    layouts = {"C": lambda x: x, "F": _fortran, "strided": _strided}
    a = layouts[layout_a](rng.standard_normal((2, 33, 65)).astype(dtype))
    b = layouts[layout_b](rng.standard_normal((2, 65, 17)).astype(dtype))
    stacked = F.matmul(a, b)
    for i in range(2):
        single = F.matmul(a[i], b[i])
        assert single.dtype == dtype and single.flags.c_contiguous
        np.testing.assert_array_equal(single, stacked[i])


def test_empty_inner_dimension_gives_zeros():
    result = F.matmul(np.ones((3, 0), np.float32), np.ones((0, 2), np.float32))
    np.testing.assert_array_equal(result, np.zeros((3, 2), np.float32))
    assert F.matmul(np.ones((0, 4)), np.ones((4, 2))).shape == (0, 2)
