"""Creating tensors: from data, filled, ranges, and seeded random draws.

Random tensors draw from the shared counter-based generator (`framework.ops.random`), so
`eager.manual_seed(0)` followed by the same calls gives the same numbers as the graph front-end.
"""

from __future__ import annotations

import numpy as np

from eager.tensor import Tensor
from framework import dtypes
from framework.errors import ArgumentError
from framework.ops import random as framework_random


def _dtype(dtype, default=None):
    return dtypes.as_dtype(dtype) if dtype is not None else default


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of `data` (floats default to float32, ints to int64).

    Python numbers that the dtype cannot hold, and ragged nested lists, are refused, as in
    PyTorch; a NumPy array converts with NumPy's casting.

    >>> tensor([1, 2]).dtype, tensor([1.5]).dtype
    (dtype('int64'), dtype('float32'))
    """
    dtype = _dtype(dtype)
    if isinstance(data, Tensor):
        data = data._array
    if not isinstance(data, (np.ndarray, np.generic)):
        return Tensor(dtypes.array_from_python(data, dtype), requires_grad=requires_grad)
    array = np.array(data)
    if dtype is None:
        if array.dtype.kind in "biuf":
            dtype = dtypes.result_type(array.dtype) if array.dtype not in dtypes.ALL \
                else array.dtype
        else:
            dtype = dtypes.as_dtype(array.dtype)
    return Tensor(array.astype(dtype, copy=False), requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with a NumPy array (writes to one show in the other)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    if array.dtype not in dtypes.ALL:
        raise TypeError(f"can't convert np.ndarray of type {array.dtype}; supported types "
                        f"are {', '.join(str(d) for d in dtypes.ALL)}")
    return Tensor(array)


def _shape(size) -> tuple:
    if len(size) == 1 and not isinstance(size[0], int):
        return tuple(size[0])
    return tuple(size)


def zeros(*size, dtype=None, requires_grad=False) -> Tensor:
    return Tensor(np.zeros(_shape(size), _dtype(dtype, dtypes.float32)), requires_grad)


def ones(*size, dtype=None, requires_grad=False) -> Tensor:
    return Tensor(np.ones(_shape(size), _dtype(dtype, dtypes.float32)), requires_grad)


def empty(*size, dtype=None, requires_grad=False) -> Tensor:
    return Tensor(np.empty(_shape(size), _dtype(dtype, dtypes.float32)), requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False) -> Tensor:
    """A tensor of `size` filled with `fill_value` (dtype from the value when not given).

    >>> full((2,), 7).tolist(), full((2,), 7).dtype
    ([7, 7], dtype('int64'))
    """
    dtype = _dtype(dtype, dtypes.result_type(fill_value))
    return Tensor(np.full(tuple(size), dtypes.checked_scalar(fill_value, dtype), dtype),
                  requires_grad)


def zeros_like(x, dtype=None, requires_grad=False) -> Tensor:
    return zeros(x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


def ones_like(x, dtype=None, requires_grad=False) -> Tensor:
    return ones(x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad)


def full_like(x, fill_value, dtype=None, requires_grad=False) -> Tensor:
    return full(x.shape, fill_value, dtype=dtype or x.dtype, requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False) -> Tensor:
    """Evenly spaced values in [start, end) (int64 for int arguments, else float32).

    >>> arange(3).tolist()
    [0, 1, 2]
    """
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ArgumentError("arange: step must be nonzero")
    is_int = all(isinstance(v, int) for v in (start, end, step))
    dtype = _dtype(dtype, dtypes.int64 if is_int else dtypes.float32)
    return Tensor(np.arange(start, end, step).astype(dtype), requires_grad)


def linspace(start, end, steps: int, dtype=None, requires_grad=False) -> Tensor:
    return Tensor(np.linspace(start, end, steps).astype(_dtype(dtype, dtypes.float32)),
                  requires_grad)


def manual_seed(seed: int) -> None:
    """Seed the shared generator that eager and graph random draws come from."""
    framework_random.manual_seed(seed)


def rand(*size, dtype=None, generator=None, requires_grad=False) -> Tensor:
    """Uniform in [0, 1) from the shared seeded generator."""
    source = generator or framework_random.default_generator
    values = source.uniform(_shape(size), 0.0, 1.0, _dtype(dtype, dtypes.float32))
    return Tensor(values, requires_grad)


def randn(*size, dtype=None, generator=None, requires_grad=False) -> Tensor:
    """Standard normal from the shared seeded generator."""
    source = generator or framework_random.default_generator
    values = source.normal(_shape(size), 0.0, 1.0, _dtype(dtype, dtypes.float32))
    return Tensor(values, requires_grad)


def randint(low, high=None, size=(), dtype=None, generator=None) -> Tensor:
    if high is None:
        low, high = 0, low
    source = generator or framework_random.default_generator
    values = source.uniform(tuple(size), float(low), float(high), dtypes.float64)
    return Tensor(np.floor(values).astype(_dtype(dtype, dtypes.int64)))
