"""Creating tensors: from data, filled, ranges, and seeded random draws.

Random tensors draw from the shared counter-based generator (`framework.ops.random`), so
`eager.manual_seed(0)` followed by the same calls gives the same numbers as the graph front-end.
"""

from __future__ import annotations

import numpy as np

from eager.tensor import Tensor, _check_device, placed
from framework import dtypes
from framework.device import to_host
from framework.errors import ArgumentError, CastError
from framework.ops import random as framework_random


def _dtype(dtype, default=None):
    return dtypes.as_dtype(dtype) if dtype is not None else default


def tensor(data, dtype=None, requires_grad: bool = False, device=None) -> Tensor:
    """A new tensor holding a copy of `data` (floats default to float32, ints to int64), on
    `device` ('cpu' unless told: 'cuda' copies it to a GPU).

    Python numbers that the dtype cannot hold, and ragged nested lists, are refused, as in
    PyTorch; a NumPy array converts with NumPy's casting.

    >>> tensor([1, 2]).dtype, tensor([1.5]).dtype
    (dtype('int64'), dtype('float32'))
    """
    if device is not None:
        return placed(tensor(data, dtype, requires_grad), device)
    dtype = _dtype(dtype)
    if isinstance(data, Tensor):
        data = to_host(data._array)
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


def zeros(*size, dtype=None, requires_grad=False, device=None) -> Tensor:
    return placed(Tensor(np.zeros(_shape(size), _dtype(dtype, dtypes.float32)), requires_grad),
                  device)


def ones(*size, dtype=None, requires_grad=False, device=None) -> Tensor:
    return placed(Tensor(np.ones(_shape(size), _dtype(dtype, dtypes.float32)), requires_grad),
                  device)


def empty(*size, dtype=None, requires_grad=False, device=None) -> Tensor:
    return placed(Tensor(np.empty(_shape(size), _dtype(dtype, dtypes.float32)), requires_grad),
                  device)


def full(size, fill_value, dtype=None, requires_grad=False, device=None) -> Tensor:
    """A tensor of `size` filled with `fill_value` (dtype from the value when not given).

    >>> full((2,), 7).tolist(), full((2,), 7).dtype
    ([7, 7], dtype('int64'))
    """
    dtype = _dtype(dtype, dtypes.result_type(fill_value))
    return placed(Tensor(np.full(tuple(size), dtypes.checked_scalar(fill_value, dtype), dtype),
                         requires_grad), device)


def zeros_like(x, dtype=None, requires_grad=False, device=None) -> Tensor:
    return zeros(x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad,
                device=x.device if device is None else device)


def ones_like(x, dtype=None, requires_grad=False, device=None) -> Tensor:
    return ones(x.shape, dtype=dtype or x.dtype, requires_grad=requires_grad,
                device=x.device if device is None else device)


def full_like(x, fill_value, dtype=None, requires_grad=False, device=None) -> Tensor:
    return full(x.shape, fill_value, dtype=dtype or x.dtype, requires_grad=requires_grad,
                device=x.device if device is None else device)


def arange(start, end=None, step=1, dtype=None, requires_grad=False, device=None) -> Tensor:
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
    return placed(Tensor(np.arange(start, end, step).astype(dtype), requires_grad), device)


def linspace(start, end, steps: int, dtype=None, requires_grad=False) -> Tensor:
    return Tensor(np.linspace(start, end, steps).astype(_dtype(dtype, dtypes.float32)),
                  requires_grad)


def manual_seed(seed: int) -> None:
    """Seed the shared generator that eager and graph random draws come from."""
    framework_random.manual_seed(seed)


def rand(*size, dtype=None, generator=None, requires_grad=False, device=None) -> Tensor:
    """Uniform in [0, 1) from the shared seeded generator."""
    source = generator or framework_random.default_generator
    values = source.uniform(_shape(size), 0.0, 1.0, _dtype(dtype, dtypes.float32))
    # Drawn on the CPU and copied: the same seed gives the same numbers on every device.
    return placed(Tensor(values, requires_grad), device)


def randn(*size, dtype=None, generator=None, requires_grad=False, device=None) -> Tensor:
    """Standard normal from the shared seeded generator."""
    source = generator or framework_random.default_generator
    values = source.normal(_shape(size), 0.0, 1.0, _dtype(dtype, dtypes.float32))
    # Drawn on the CPU and copied: the same seed gives the same numbers on every device.
    return placed(Tensor(values, requires_grad), device)


def randint(low, high=None, size=(), dtype=None, generator=None) -> Tensor:
    if high is None:
        low, high = 0, low
    source = generator or framework_random.default_generator
    values = source.uniform(tuple(size), float(low), float(high), dtypes.float64)
    return Tensor(np.floor(values).astype(_dtype(dtype, dtypes.int64)))


class _ArgumentRuntimeError(ArgumentError, RuntimeError):
    """A bad value argument where PyTorch raises RuntimeError (catchable as either)."""


def get_default_dtype():
    """The dtype of tensors made from Python floats: float32, as in PyTorch."""
    return dtypes.float32


def is_tensor(obj) -> bool:
    """True when `obj` is an eager Tensor (a Parameter included).

    >>> is_tensor(tensor([1.0])), is_tensor([1.0])
    (True, False)
    """
    return isinstance(obj, Tensor)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """`data` as a tensor, without a copy where it can: a Tensor comes back itself and a NumPy
    array of a supported dtype is shared (writes to one show in the other), unless `dtype`
    asks for another type; anything else is copied as by `tensor(data, dtype)`.

    >>> import numpy as np
    >>> array = np.zeros(2)
    >>> shared = as_tensor(array)
    >>> array[0] = 5.0
    >>> shared.tolist(), shared.dtype
    ([5.0, 0.0], dtype('float64'))
    """
    if device is not None:
        _check_device(device)
        return as_tensor(data, dtype).to(device)
    dtype = _dtype(dtype)
    if isinstance(data, Tensor):
        return data if dtype is None or dtype == data.dtype else data.to(dtype)
    if isinstance(data, np.ndarray) and data.dtype in dtypes.ALL \
            and (dtype is None or dtype == data.dtype):
        return Tensor(data)
    return tensor(data, dtype=dtype)


def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False) -> Tensor:
    """The n x m (n x n by default) matrix with ones on the diagonal, float32 by default.

    >>> eye(2, 3).tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """
    m = n if m is None else m
    for name, value in (("n", n), ("m", m)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"eye(): argument '{name}' must be int, not {type(value).__name__}")
        if value < 0:
            raise _ArgumentRuntimeError(f"eye(): {name} must be greater or equal to 0, "
                                        f"got {value}")
    return Tensor(np.eye(n, m, dtype=_dtype(dtype, dtypes.float32)), requires_grad)


def randperm(n: int, generator=None, dtype=None, requires_grad: bool = False) -> Tensor:
    """A random permutation of 0 .. n-1 (int64 by default) from the shared seeded generator,
    or from `generator`: the same seed gives the same permutation.

    >>> manual_seed(0)
    >>> sorted(randperm(5).tolist())
    [0, 1, 2, 3, 4]
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"randperm(): argument 'n' must be int, not {type(n).__name__}")
    if n < 0:
        raise _ArgumentRuntimeError(f"randperm(): n must be non-negative, got {n}")
    dtype = _dtype(dtype, dtypes.int64)
    if dtype.kind in "iu" and n > np.iinfo(dtype).max + 1:
        raise _ArgumentRuntimeError(f"randperm(): n={n} is too large for dtype {dtype}")
    source = generator or framework_random.default_generator
    keys = source.uniform((int(n),), 0.0, 1.0, dtypes.float64)
    # A stable sort of independent uniform keys draws every ordering equally often.
    return Tensor(np.argsort(keys, kind="stable").astype(dtype), requires_grad)


def empty_like(x, dtype=None, requires_grad: bool = False) -> Tensor:
    """An uninitialized tensor with `x`'s shape and (by default) dtype."""
    return empty(_like(x, "empty_like").shape, dtype=dtype or x.dtype,
                 requires_grad=requires_grad)


def rand_like(x, dtype=None, requires_grad: bool = False, generator=None) -> Tensor:
    """Uniform in [0, 1) with `x`'s shape and (floating point) dtype."""
    _check_float_draw("rand_like", _like(x, "rand_like"), dtype)
    return rand(x.shape, dtype=dtype or x.dtype, generator=generator,
                requires_grad=requires_grad)


def randn_like(x, dtype=None, requires_grad: bool = False, generator=None) -> Tensor:
    """Standard normal with `x`'s shape and (floating point) dtype."""
    _check_float_draw("randn_like", _like(x, "randn_like"), dtype)
    return randn(x.shape, dtype=dtype or x.dtype, generator=generator,
                 requires_grad=requires_grad)


def _like(x, name: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(x).__name__}")
    return x


def _check_float_draw(name: str, x: Tensor, dtype) -> None:
    dtype = _dtype(dtype, x.dtype)
    if dtype not in dtypes.FLOATS:
        raise CastError(f"{name}: draws floating point values; dtype {dtype} is not float32 or "
                        "float64 (pass dtype=eager.float32)")
