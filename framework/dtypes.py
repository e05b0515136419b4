"""The five dtypes, and NumPy-style type promotion written once.

dtypes are plain `numpy.dtype` objects (as in JAX), so arrays, eager Tensors and graph nodes all
answer `.dtype` with the same kind of value. Promotion follows NumPy's table between arrays
(`result_type`), and PyTorch's "weak" rule for Python scalars: a scalar never widens an
array's dtype, it only lifts the *kind* (bool < int < float) to that kind's default.
"""

from __future__ import annotations

import numpy as np

from framework.errors import DTypeError

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
