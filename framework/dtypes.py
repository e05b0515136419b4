"""The five dtypes, and NumPy-style type promotion written once.

dtypes are plain `numpy.dtype` objects (as in JAX), so arrays, eager Tensors and graph nodes all
answer `.dtype` with the same kind of value. Promotion follows NumPy's table between arrays
(`result_type`), and PyTorch's "weak" rule for Python scalars: a scalar never widens an
array's dtype, it only lifts the *kind* (bool < int < float) to that kind's default.
"""

from __future__ import annotations

import numpy as np

from framework.errors import DTypeError, DTypeOverflowError, ShapeError

bool_ = np.dtype(np.bool_)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)

ALL = (bool_, int32, int64, float32, float64)
FLOATS = (float32, float64)
INTS = (int32, int64)
NUMERIC = (int32, int64, float32, float64)

DEFAULT_FLOAT = float32
DEFAULT_INT = int64

_KIND_RANK = {"b": 0, "i": 1, "f": 2}
_BY_NAME = {str(d): d for d in ALL} | {"bool": bool_, "float": float32, "int": int64}


def as_dtype(value) -> np.dtype:
    """Turn 'float32', np.float32, float, a dtype... into one of the five supported dtypes.

    >>> as_dtype("float64") is float64
    True
    """
    if isinstance(value, str) and value in _BY_NAME:
        return _BY_NAME[value]
    if value is float:
        return DEFAULT_FLOAT
    if value is int:
        return DEFAULT_INT
    if value is bool:
        return bool_
    try:
        dtype = np.dtype(value)
    except TypeError:
        dtype = None
    if dtype is None or dtype not in ALL:
        names = ", ".join(str(d) for d in ALL)
        raise DTypeError(f"unsupported dtype {value!r}; dualgraph supports {names}")
    return dtype


def is_float(dtype: np.dtype) -> bool:
    return dtype.kind == "f"


def is_weak_scalar(value) -> bool:
    """Python numbers are weakly typed: they adapt to the arrays they meet."""
    return isinstance(value, (bool, int, float)) and not isinstance(value, np.generic)


def scalar_kind_dtype(value) -> np.dtype:
    """The default dtype of a lone Python scalar: True -> bool, 3 -> int64, 1.5 -> float32."""
    if isinstance(value, bool):
        return bool_
    if isinstance(value, int):
        return DEFAULT_INT
    return DEFAULT_FLOAT


def result_type(*operands) -> np.dtype:
    """The dtype an elementwise op computes in, for arrays/dtypes and weak Python scalars.

    >>> result_type(int32, float32), result_type(float32, 2.0), result_type(int32, 2.5)
    (dtype('float64'), dtype('float32'), dtype('float32'))
    """
    strong = [as_dtype(op) if not hasattr(op, "dtype") else op.dtype for op in operands
              if not is_weak_scalar(op)]
    weak = [op for op in operands if is_weak_scalar(op)]
    result = np.result_type(*strong) if strong else None
    if result is not None and result not in ALL:
        raise DTypeError(f"unsupported dtype {result}")
    for scalar in weak:
        kind = scalar_kind_dtype(scalar)
        if result is None or _KIND_RANK[kind.kind] > _KIND_RANK[result.kind]:
            result = kind
    return result


# -- numbers from Python into a dtype --------------------------------------------------------
#
# NumPy wraps or saturates some conversions silently (a uint64 2**63 cast to int64 becomes
# -2**63; a float 1e10 cast to int32 is undefined). PyTorch refuses a number its dtype cannot
# hold, and so do we, wherever a Python number becomes an array element. Floats still truncate
# toward zero into integer dtypes, as they do in PyTorch.


def overflow_error(value, dtype: np.dtype) -> DTypeOverflowError:
    return DTypeOverflowError(f"value {value!r} cannot be converted to {dtype} without overflow")


def _fits(value, dtype: np.dtype) -> bool:
    """Whether the number `value` lies within the range of the integer or float `dtype`."""
    if dtype.kind not in "iu" or isinstance(value, (bool, np.bool_)):
        return True  # any number is a bool (!= 0); a float beyond float32 rounds to inf
    if isinstance(value, (int, np.integer)):
        info = np.iinfo(dtype)
        return info.min <= int(value) <= info.max
    if isinstance(value, (float, np.floating)):
        low = float(np.iinfo(dtype).min)  # a power of two: -low is the first value too big
        return low <= value < -low  # False for NaN
    return True


def checked_scalar(value, dtype: np.dtype):
    """The number `value` as a NumPy scalar of `dtype`, refused when the dtype cannot hold it
    (anything but a number is returned as it is).

    >>> int(checked_scalar(2.9, int32)), _fits(2**31, int32)
    (2, False)
    """
    if not isinstance(value, (bool, int, float, np.number, np.bool_)):
        return value  # not a number: the caller's own conversion decides
    if not _fits(value, dtype):
        raise overflow_error(value, dtype)
    return dtype.type(value)


def check_fits(array: np.ndarray, dtype: np.dtype) -> None:
    """Raise `DTypeOverflowError`, naming the first one, if a value of `array` lies outside the
    range of the integer `dtype` (NaN and infinities included)."""
    if dtype.kind not in "iu" or array.dtype.kind not in "iuf" or not array.size:
        return
    info = np.iinfo(dtype)
    if array.dtype.kind == "f":
        low = float(info.min)
        outside = ~((array >= low) & (array < -low))
    elif np.can_cast(array.dtype, dtype):
        return
    else:
        outside = (array < info.min) | (array > info.max)
    if outside.any():
        raise overflow_error(array[outside][0].item(), dtype)


def array_from_python(data, dtype: np.dtype | None = None) -> np.ndarray:
    """Nested Python sequences of numbers as a new array of `dtype`.

    Without a dtype, the values choose one: bool, int64 for ints, float32 once a float is
    present (PyTorch's rule). Refuses ragged nesting, and numbers the dtype cannot hold.

    >>> array_from_python([[1, 2], [3, 4]]).dtype, array_from_python([1, 2.5]).dtype
    (dtype('int64'), dtype('float32'))
    """
    try:
        array = np.array(data)
    except ValueError as error:
        problem = _ragged_problem(data)
        raise ShapeError("can't make a tensor from a ragged nested sequence: " + problem
                         if problem else f"can't make a tensor from {type(data).__name__}: "
                         f"{error}") from None
    if array.dtype == object:
        array = _numbers_beyond_int64(array, data, dtype)
    elif dtype is None and array.dtype.kind == "f" and array.size \
            and (array.max() >= 2.0**63 or array.min() < -2.0**63):
        # NumPy makes [2**63, -1] float64; with no float among them PyTorch reads ints.
        _refuse_big_ints(data, DEFAULT_INT)
    if dtype is None:
        kind = array.dtype.kind
        dtype = (DEFAULT_FLOAT if kind == "f" else DEFAULT_INT if kind in "iu"
                 else bool_ if kind == "b" else as_dtype(array.dtype))
    check_fits(array, dtype)
    return array.astype(dtype, copy=False)


def _leaves(data):
    if isinstance(data, (list, tuple)):
        for item in data:
            yield from _leaves(item)
    else:
        yield data


def _refuse_big_ints(data, dtype: np.dtype) -> None:
    """Raise for the first int that `dtype` cannot hold when `data` holds ints (and bools)
    only: then PyTorch reads them as ints, where NumPy would fall back on floats."""
    leaves = list(_leaves(data))
    if all(isinstance(v, (bool, int, np.integer, np.bool_)) for v in leaves):
        for value in leaves:
            if not _fits(value, dtype):
                raise overflow_error(value, dtype)


def _numbers_beyond_int64(array: np.ndarray, data, dtype) -> np.ndarray:
    """An object array NumPy made from ints beyond int64 (perhaps with floats), converted as
    PyTorch would: into a float or bool dtype, or as floats when a float is among them;
    refused otherwise. Anything but numbers is left for `as_dtype` to refuse."""
    values = array.ravel().tolist()
    if not all(isinstance(v, (bool, int, float, np.number, np.bool_)) for v in values):
        return array
    if dtype is None or dtype.kind in "iu":
        _refuse_big_ints(data, dtype or DEFAULT_INT)
    if dtype is not None and dtype.kind == "b":
        return array.astype(bool_)
    for value in values:
        try:
            float(value)
        except OverflowError:  # an int beyond even float64's range
            raise overflow_error(value, dtype or DEFAULT_FLOAT) from None
    return array.astype(float64)


def _ragged_problem(data, shape=None, depth: int = 0, where: str = "") -> str | None:
    """Where nested `data` stops being rectangular, compared with its first elements'
    lengths: 'data[1] has length 1, but data[0] has length 2'; None if it is rectangular."""
    if shape is None:
        shape, item = [], data
        while isinstance(item, (list, tuple)):
            shape.append(len(item))
            if not item:
                break
            item = item[0]
        shape.extend(np.shape(item) if not isinstance(item, (list, tuple)) else ())
    first = "data" + "[0]" * depth
    here = "data" + where
    if isinstance(data, (list, tuple)):
        if depth == len(shape):
            return f"{here} is a sequence, but {first} is a number"
        if len(data) != shape[depth]:
            return f"{here} has length {len(data)}, but {first} has length {shape[depth]}"
        for i, item in enumerate(data):
            problem = _ragged_problem(item, shape, depth + 1, f"{where}[{i}]")
            if problem:
                return problem
        return None
    got = tuple(np.shape(data))
    if got != tuple(shape[depth:]):
        if not got:
            return f"{here} is a number, but {first} is a sequence of length {shape[depth]}"
        return f"{here} has shape {got}, but {first} has shape {tuple(shape[depth:])}"
    return None
