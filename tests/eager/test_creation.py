"""Creating tensors from Python data: numbers that do not fit and ragged lists are refused.

PyTorch reads nested Python numbers itself and refuses what the dtype cannot hold; NumPy would
wrap 2**63 round to -2**63, or make floats of ints, without a word.
"""

from __future__ import annotations

import numpy as np
import pytest

import eager
from framework.errors import ArgumentError, DTypeOverflowError, ShapeError


@pytest.mark.parametrize("data, dtype", [
    ([2**63], None),                  # NumPy: a uint64, cast round to -2**63
    ([2**63, -1], None),              # NumPy: float64 values
    ([[1, 2], [3, 2**64]], None),     # NumPy: an object array
    ([-2**63 - 1], None),
    ([2**31], eager.int32),
    (2**31, eager.int32),
    ([-2**31 - 1], eager.int32),
    ([1e10], eager.int32),
    ([float("nan")], eager.int64),
    ([float("inf")], eager.int32),
])
def test_python_numbers_that_do_not_fit_the_dtype_are_refused(data, dtype):
    with pytest.raises(DTypeOverflowError, match="without overflow") as caught:
        eager.tensor(data, dtype=dtype)
    assert isinstance(caught.value, RuntimeError)  # PyTorch's type
    assert caught.value.site.filename == __file__


def test_numbers_within_range_convert_as_in_pytorch():
    assert eager.tensor([2**31 - 1, -2**31], dtype=eager.int32).tolist() == [2**31 - 1, -2**31]
    assert eager.tensor([2**63 - 1]).tolist() == [2**63 - 1]
    assert eager.tensor([1.9, -1.9], dtype=eager.int32).tolist() == [1, -1]  # truncation
    big_float = eager.tensor([2**70, 1.5])  # a float among them: floats, as PyTorch reads
    assert big_float.dtype == eager.float32 and big_float.tolist()[0] == 2.0**70
    assert eager.tensor([2**64], dtype=eager.float64).tolist() == [2.0**64]
    assert eager.tensor([0, 2**70], dtype=eager.bool).tolist() == [False, True]
    # A NumPy array converts with NumPy's casting, as torch.tensor(ndarray, dtype=...) does.
    assert eager.tensor(np.array([2**32 + 5]), dtype=eager.int32).tolist() == [5]


@pytest.mark.parametrize("data, where", [
    ([[1, 2], [3]], "data[1] has length 1, but data[0] has length 2"),
    ([[1, 2], 3], "data[1] is a number, but data[0] is a sequence of length 2"),
    ([1, [2]], "data[1] is a sequence, but data[0] is a number"),
    ([[[1], [2]], [[3], [4, 5]]], "data[1][1] has length 2, but data[0][0] has length 1"),
])
def test_ragged_nested_lists_are_refused_naming_the_first_odd_place(data, where):
    with pytest.raises(ShapeError, match="ragged") as caught:
        eager.tensor(data)
    assert where in str(caught.value)
    assert caught.value.site.filename == __file__


def test_full_refuses_a_fill_value_its_dtype_cannot_hold():
    with pytest.raises(DTypeOverflowError, match="2147483648 cannot be converted to int32"):
        eager.full((2,), 2**31, dtype=eager.int32)
    with pytest.raises(DTypeOverflowError, match="int64"):
        eager.full((2,), 2**70)
    with pytest.raises(DTypeOverflowError):
        eager.full_like(eager.zeros(2, dtype=eager.int32), float("nan"))
    assert eager.full((2,), 2.7, dtype=eager.int32).tolist() == [2, 2]


def test_arange_with_a_zero_step_is_refused():
    with pytest.raises(ArgumentError, match="step must be nonzero") as caught:
        eager.arange(0, 10, 0)
    assert caught.value.site.filename == __file__
    with pytest.raises(ArgumentError, match="step must be nonzero"):
        eager.arange(0.0, 1.0, 0.0)
