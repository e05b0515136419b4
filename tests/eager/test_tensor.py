"""Tensor methods that change a tensor in place or cut it, and Python numbers meeting a dtype.

In-place ops keep the tensor's dtype, so a result of another kind (a float for an int tensor) is
refused before anything is written, as PyTorch refuses it. A Python number that the tensor's
dtype cannot hold is refused rather than wrapped.
"""

from __future__ import annotations

import pytest

import eager
from framework.errors import ArgumentError, CastError, DTypeOverflowError, ShapeError


def _int_tensor():
    return eager.tensor([1, 2, 3])


@pytest.mark.parametrize("update", [
    lambda x: x.add_(0.7),
    lambda x: x.sub_(0.5),
    lambda x: x.mul_(1.5),
    lambda x: x.mul_(eager.tensor([1.5, 2.5, 3.5])),
    lambda x: x.add_(eager.tensor([1, 1, 1]), alpha=0.5),
    lambda x: x.div_(2),
    lambda x: x.clamp_(0.5, 2.5),
    lambda x: x.__imul__(1.5),
    lambda x: x.__iadd__(eager.tensor([0.5])),
    lambda x: x.__itruediv__(eager.tensor([1, 2, 3])),
], ids=["add_", "sub_", "mul_", "mul_-tensor", "add_-alpha", "div_", "clamp_", "*=", "+=",
        "/="])
def test_in_place_float_results_are_refused_on_int_tensors(update):
    x = _int_tensor()
    version = x._version[0]
    with pytest.raises(CastError, match="result type float.* can't be cast to the desired "
                                        "output type int64") as caught:
        update(x)
    assert isinstance(caught.value, RuntimeError)  # PyTorch's type
    assert caught.value.site.filename == __file__
    assert x.tolist() == [1, 2, 3] and x._version[0] == version


def test_in_place_results_that_keep_their_kind_are_written():
    x = eager.tensor([1, 2, 3], dtype=eager.int32)
    x.add_(eager.tensor([10, 10, 10]))  # int64 into int32: a narrower int, as PyTorch allows
    x *= 2
    assert x.tolist() == [22, 24, 26] and x.dtype == eager.int32
    y = eager.tensor([1.0, 2.0])
    y.add_(eager.tensor([1, 1]))
    y.div_(2)
    assert y.tolist() == [1.0, 1.5]
    flags = eager.tensor([True, False])
    with pytest.raises(CastError, match="int64 can't be cast to the desired output type bool"):
        flags.add_(1)
    assert flags.tolist() == [True, False]


def test_python_numbers_an_int_tensor_cannot_hold_are_refused():
    x = eager.tensor([1, 2], dtype=eager.int32)
    attempts = [
        lambda: x + 2**31,
        lambda: 2**31 + x,
        lambda: x * 2**70,
        lambda: eager.tensor([1]) + 2**63,
        lambda: x.fill_(2**31),
        lambda: x.fill_(float("nan")),
        lambda: x.masked_fill(eager.tensor([True, False]), 2**40),
        lambda: x.__setitem__(0, 2**31),
        lambda: x.copy_([0, 2**31]),
    ]
    for attempt in attempts:
        with pytest.raises(DTypeOverflowError, match="without overflow") as caught:
            attempt()
        assert caught.value.site.filename == __file__
    assert x.tolist() == [1, 2] and x._version[0] == 0
    x.fill_(7.9)  # floats still truncate toward zero, as in PyTorch
    x[1] = -2**31
    assert x.tolist() == [7, -2**31]


def test_chunk_and_split_refuse_sizes_that_make_no_pieces():
    x = eager.arange(4)
    with pytest.raises(ArgumentError, match="chunk expects `chunks` to be an int greater "
                                            "than 0") as caught:
        x.chunk(0)
    assert caught.value.site.filename == __file__
    with pytest.raises(ArgumentError, match="greater than 0"):
        eager.chunk(x, -1)
    with pytest.raises(ArgumentError, match="split_size can only be 0 if dimension size is 0"):
        x.split(0)
    with pytest.raises(ArgumentError, match="non-negative"):
        x.split(-2)
    with pytest.raises(ShapeError, match="at least a 1-dimensional"):
        eager.tensor(3).chunk(2)
    with pytest.raises(ShapeError, match="out of range"):
        x.split(2, dim=1)


def test_chunk_and_split_of_an_empty_dimension_give_empty_pieces():
    empty = eager.zeros(0, 3)
    assert [p.shape for p in empty.split(0)] == [(0, 3)]
    assert [p.shape for p in empty.split(2)] == [(0, 3)]
    assert [p.shape for p in empty.chunk(3)] == [(0, 3)] * 3
    assert [p.tolist() for p in eager.arange(5).chunk(2)] == [[0, 1, 2], [3, 4]]
    assert [p.tolist() for p in eager.arange(5).split(2, dim=-1)] == [[0, 1], [2, 3], [4]]
