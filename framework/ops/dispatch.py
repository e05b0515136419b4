"""`bind`: how one neutral function call reaches whichever front-end owns its inputs.

The neutral functions (`F.add`, `F.matmul`, ...) call `bind(op, *args)`. If an argument is an
eager Tensor, the eager front-end records and runs the op; if it is a graph node, the graph
front-end adds a node. Plain arrays run at once on the kernels. That is why one gradient rule
serves both front-ends, and why rules on Tensors give higher-order gradients.

A front-end registers the type of its values with `register_frontend(type, frontend)`, where
`frontend.apply(op, args)` returns its output value(s). Non-front-end arguments reach it as
NumPy arrays (constants) which it wraps as it sees fit.
"""

from __future__ import annotations

import numpy as np

from framework import dtypes
from framework.device import device_of, to_device
from framework.errors import DualgraphError
from framework.ops.registry import Op, execute, run_on_cpu


class ArrayFrontend:
    """Runs ops immediately on NumPy arrays: the kernels, with nothing recorded."""

    name = "arrays"

    def apply(self, op: Op, args):
        for a in args:
            if type(a) is not np.ndarray:
                return execute(op, *_operands(args))
        return execute(op, *args)


def is_device_array(value) -> bool:
    """Whether `value` is a numba.cuda device array (a simulated one too)."""
    return getattr(value, "__cuda_ndarray__", False) is True


def _operands(args) -> list:
    """`args` as arrays for the seam, never copied off the device they are on. Beside a device
    array, a Python number or a 0-d host constant (what `promote` makes of `x * 2.0`) goes to
    that device, as PyTorch takes a scalar with a CUDA tensor; any other host array stays on
    the host, and the seam refuses the mix naming both devices."""
    device = next((device_of(a) for a in args if is_device_array(a)), None)
    if device is None:
        return [np.asarray(a) for a in args]
    operands = []
    for a in args:
        if not is_device_array(a):
            a = np.asarray(a)
            if a.ndim == 0:
                a = to_device(a, device)
        operands.append(a)
    return operands


ARRAYS = ArrayFrontend()
_FRONTENDS: dict[type, object] = {}
_LOOKUP_CACHE: dict[type, object] = {}


def register_frontend(value_type: type, frontend) -> None:
    """Make `frontend.apply` handle every op that has a `value_type` (or subclass) argument."""
    _FRONTENDS[value_type] = frontend
    _LOOKUP_CACHE.clear()


def frontend_of_type(value_type: type):
    try:
        return _LOOKUP_CACHE[value_type]
    except KeyError:
        found = next((_FRONTENDS[t] for t in value_type.__mro__ if t in _FRONTENDS), None)
        _LOOKUP_CACHE[value_type] = found
        return found


def bind(op: Op, *args):
    """Apply a primitive to arguments from one front-end (or plain arrays)."""
    frontend = None
    plain = True  # NumPy arrays only: the session's and eager's backward, on every op
    cache = _LOOKUP_CACHE
    for arg in args:
        kind = type(arg)
        if kind is _NDARRAY:
            continue
        plain = False
        found = cache[kind] if kind in cache else frontend_of_type(kind)
        if found is not None and found is not frontend:
            if frontend is not None:
                raise DualgraphError(
                    f"{op.name}: cannot mix values of two front-ends "
                    f"({frontend.name} and {found.name}) in one op"
                )
            frontend = found
    if frontend is None:
        return run_on_cpu(op, args) if plain else ARRAYS.apply(op, args)
    return frontend.apply(op, args)


_NDARRAY = np.ndarray
_SUPPORTED = frozenset(dtypes.ALL)
_KIND_RANK = {"b": 0, "i": 1, "f": 2}
_WEAK_KIND = {bool: 0, int: 1, float: 2}  # Python numbers: the kind rank they lift a value to


def as_operand(value, dtype=None):
    """A front-end value passes through (cast to `dtype` if given); anything else -> an array."""
    if dtype is None and type(value) is np.ndarray and value.dtype in _SUPPORTED:
        return value  # the common case, on every op call: nothing to convert
    if frontend_of_type(type(value)) is not None or is_device_array(value):
        return value if dtype is None or value.dtype == dtype else _cast(value, dtype)
    if dtype is None:
        dtype = dtypes.result_type(value) if dtypes.is_weak_scalar(value) else None
    array = _converted(value, dtype)
    if dtype is None and array.dtype not in dtypes.ALL:
        array = array.astype(dtypes.result_type(array.dtype))
    return array


def promote(*values):
    """Bring operands to their common dtype (NumPy rules, Python scalars weak).

    Runs on every binary op, so two common cases skip the general rule: operands that already
    share a supported dtype, and a value with a Python number that does not lift its kind
    (x * 2.0 for a float x).
    """
    if len(values) == 2:
        fast = _promote_pair(*values)
        if fast is not None:
            return fast
    elif values and _is_value(values[0]) and values[0].dtype in _SUPPORTED:
        dtype = values[0].dtype  # e.g. linear's (x, weight, bias): all one dtype already
        for v in values:  # a loop, not all(generator): this runs on every such call
            if not (_is_value(v) and v.dtype == dtype):
                break
        else:
            return list(values)
    common = dtypes.result_type(*(v if dtypes.is_weak_scalar(v) or hasattr(v, "dtype")
                                  else np.asarray(v) for v in values))
    return [as_operand(v, common) for v in values]


def _is_value(v) -> bool:
    return (type(v) is np.ndarray or frontend_of_type(type(v)) is not None
            or is_device_array(v))


def _keeps_dtype(value, number_type) -> bool:
    """Whether a Python number of `number_type` leaves `value`'s dtype as it is."""
    return (_is_value(value) and value.dtype in _SUPPORTED
            and _WEAK_KIND[number_type] <= _KIND_RANK[value.dtype.kind])


def _promote_pair(x, y):
    x_type, y_type = type(x), type(y)
    if x_type is y_type:
        if _is_value(x) and x.dtype == y.dtype and x.dtype in _SUPPORTED:
            return [x, y]
    elif y_type in _WEAK_KIND:
        if _keeps_dtype(x, y_type):
            try:  # inline, not _converted: x * 2.0 comes here on every call
                return [x, np.asarray(y, x.dtype)]
            except OverflowError:
                raise dtypes.overflow_error(y, x.dtype) from None
    elif x_type in _WEAK_KIND:
        if _keeps_dtype(y, x_type):
            try:
                return [np.asarray(x, y.dtype), y]
            except OverflowError:
                raise dtypes.overflow_error(x, y.dtype) from None
    return None


def _converted(value, dtype):
    """np.asarray(value, dtype), with a clear error for a Python int the dtype cannot hold
    (x + 2**70 for an integer x; NumPy refuses it with a bare OverflowError)."""
    try:
        return np.asarray(value, dtype)
    except OverflowError:
        raise dtypes.overflow_error(value, dtype) from None


def _cast(value, dtype):
    from framework.ops.elementwise import cast

    return cast(value, dtype)
