"""Scalar maths for kernels: one float32 and one float64 version of each transcendental function.

numba calls the C library's exp, log and tanh once per element, and LLVM cannot vectorize such
calls without Intel's SVML: a loop around them runs several times slower than NumPy's own SIMD
loops. The versions written here use only arithmetic, comparisons and exponent-bit moves (see
`intrinsics`), so a loop around them compiles to SIMD instructions. Where no such version is
written yet, the float64 version is the C library's.

Kernels call the dispatchers `exp`, `log` and `tanh`, which pick the version for the argument's
type. Each dispatcher compiles as its own small function (LLVM inlines it into the loop and
vectorizes the loop), so its range reductions keep their rounding even inside a loop compiled
with `fastmath={'reassoc'}`, which would otherwise be free to undo them. From Python the
dispatchers are the `math` module's functions.

| function | float32                         | float64                          |
| -------- | ------------------------------- | -------------------------------- |
| exp      | `exp_float32`, within 1 ulp     | `exp_float64`, within 1 ulp      |
| log      | `log_float32`, within 2 ulp     | `log_float64`: the C library's   |
| tanh     | `tanh_float32`, within 3 ulp    | `tanh_float64`: the C library's  |

`exp_nonpositive` is the same exp for arguments <= 0 in a sum that also holds a 1 (logsumexp
sums e**(x - max)): it skips the overflow clamp and the two-step scaling that only subnormal
results need, which makes logsumexp's loop about 15% faster, with the same bits wherever the
result is a normal number.

(ulp: units in the last place of the exact result; tests/framework/test_kernels.py sweeps each
version over its whole range, the edges included.)
"""

from __future__ import annotations

import builtins
import math
from typing import NamedTuple

import numba
import numpy as np
from numba import types
from numba.extending import overload

from framework.kernels.intrinsics import float_bits, float_from_bits

# How every function here compiles: IEEE semantics (x / 0 is inf, not an exception), and
# 'contract' lets LLVM fuse a * b + c into one FMA (one rounding instead of two). Nothing that
# changes NaN, infinity or signed-zero semantics, nor the order of additions.
FASTMATH = frozenset({"contract"})
_scalar = numba.njit(inline="always", error_model="numpy", fastmath=set(FASTMATH))


def as_type_of(value, like):
    """`value` converted to the type of `like`; in numba, e.g. a float32 zero for a float32 x.

    A bare literal would type as int64 or float64 and widen float32 arithmetic.

    >>> as_type_of(0, np.float32(2.5))
    np.float32(0.0)
    """
    return type(like)(value)


@overload(as_type_of, inline="always")
def _as_type_of_typed(value, like):
    target = like

    def impl(value, like):
        return target(value)

    return impl


@_scalar
def polynomial(x, coefficients):
    """coefficients[0] + coefficients[1] * x + ..., by Horner's rule (the loop unrolls).

    >>> float(polynomial(2.0, (1.0, 0.5, 0.25)))
    3.0
    """
    result = coefficients[-1]
    for k in range(len(coefficients) - 2, -1, -1):
        result = result * x + coefficients[k]
    return result


# ---------------------------------------------------------------------------------------------
# exp: e**x = 2**n * e**r with n = round(x / ln 2) and |r| <= ln(2) / 2, one algorithm for both
# widths. r = x - n ln 2 is taken in two parts (Cody and Waite): n * ln2_high is exact, so r
# keeps full precision. e**r is a polynomial whose approximation error is far below the type's
# rounding. 2**n is built from exponent bits in two halves, so that subnormal results round once.


class ExpConstants(NamedTuple):
    highest: float  # e**highest overflows: larger inputs (and +inf) give inf
    lowest: float  # e**lowest rounds to 0: smaller inputs (and -inf) give 0
    log2_e: float
    # Adding it to y (|y| < 2**20) rounds y to the nearest integer n, and leaves n + 2 * bias
    # (the exponent bias) in the low bits of the sum's bits.
    round_magic: float
    ln2_high: float  # ln 2 split in two: n * ln2_high is exact for every n that occurs
    ln2_low: float
    series: tuple  # coefficients of the polynomial for e**r, constant term first
    mantissa_bits: int  # as an unsigned integer of the type's width, as are `one` and `bias`
    one: int
    bias: int  # the exponent bias
    lowest_normal: float  # log of the smallest normal number, rounded up: 2**n is normal above


def _at_least(dtype, value: float):
    """The value of `dtype` nearest `value` from above."""
    rounded = dtype.type(value)
    return rounded if rounded >= value else np.nextafter(rounded, dtype.type(np.inf))


def _exp_constants(dtype, highest, lowest, ln2_high, ln2_low, series) -> ExpConstants:
    cast, info = dtype.type, np.finfo(dtype)
    unsigned = np.dtype(f"uint{info.bits}").type
    bias = info.maxexp - 1
    return ExpConstants(
        cast(highest), cast(lowest), cast(1 / math.log(2)),
        cast(1.5 * 2.0**info.nmant + 2 * bias), cast(ln2_high), cast(ln2_low),
        tuple(cast(c) for c in series),
        unsigned(info.nmant), unsigned(1), unsigned(bias), _at_least(dtype, math.log(info.tiny)))


# float32: |n| <= 150 and ln2_high has 16 significant bits; e**r is its Taylor polynomial of
# degree 7 (truncation error below 1e-8). float64: |n| <= 1076 and ln2_high is fdlibm's 32-bit
# head of ln 2 (its tail is given to full precision: ln 2 - ln2_high in float64 would lose it);
# e**r = 1 + r + r**2 q(r), q of degree 10 interpolating (e**r - 1 - r) / r**2 at the 11
# Chebyshev points of [-ln(2)/2, ln(2)/2], computed in extended precision: within 1e-18 of
# e**r, where Taylor's polynomial needs degree 13 (one more multiply-add per element).
EXP_FLOAT32 = _exp_constants(np.dtype(np.float32), 89.0, -104.0, 0.693145751953125,
                             1.4286067653302226e-06,
                             [1 / math.factorial(k) for k in range(8)])
EXP_FLOAT64 = _exp_constants(np.dtype(np.float64), 710.0, -746.0, 6.93147180369123816490e-01,
                             1.90821492927058770002e-10,
                             [1.0, 1.0, 0.5, 0.1666666666666667, 0.04166666666666666,
                              0.008333333333326047, 0.0013888888888890184, 0.0001984126987534351,
                              2.4801587312766e-05, 2.7557254576822724e-06,
                              2.755728396675082e-07, 2.5105594341408153e-08,
                              2.0911859414381947e-09])


@_scalar
def _exp(x, c, full_range):
    """e**x. With `full_range` False, for x <= 0 whose result below the smallest normal number
    may be off (it is e**lowest_normal, about that number): one clamp and one scaling fewer."""
    if full_range:
        clamped = c.highest if x > c.highest else x  # NaN passes both clamps unchanged
        clamped = c.lowest if clamped < c.lowest else clamped
    else:
        clamped = c.lowest_normal if x < c.lowest_normal else x
    shifted = clamped * c.log2_e + c.round_magic
    n = shifted - c.round_magic
    r = (clamped - n * c.ln2_high) - n * c.ln2_low
    bits = float_bits(shifted)
    if not full_range:  # 2**n in one go: n + 2 bias - bias is its biased exponent
        scale = float_from_bits(as_type_of((bits - c.bias) << c.mantissa_bits, bits))
        return polynomial(r, c.series) * scale
    # The biased exponents of 2**(n >> 1) and of 2**(n - (n >> 1)) are the halves of n + 2 bias
    # (the low bits of `shifted`); the higher bits are shifted out of the float's width. numba
    # widens unsigned arithmetic to 64 bits: as_type_of brings it back to the float's width.
    half = as_type_of(bits >> c.one, bits)
    first = float_from_bits(as_type_of(half << c.mantissa_bits, bits))
    second = float_from_bits(as_type_of((bits - half) << c.mantissa_bits, bits))
    return polynomial(r, c.series) * first * second  # the first product is exact


@_scalar
def exp_float32(x):
    """e**x for float32 x, within 1 ulp (subnormal results within 1 step of 2**-149).

    >>> float(exp_float32(np.float32(1.0)))
    2.7182817459106445
    """
    return _exp(x, EXP_FLOAT32, True)


@_scalar
def exp_float64(x):
    """e**x for float64 x, within 1 ulp (subnormal results within 1 step of 2**-1074).

    >>> exp_float64(1.0)
    2.718281828459045
    """
    return _exp(x, EXP_FLOAT64, True)


@_scalar
def exp_nonpositive_float32(x):
    """e**x for float32 x <= 0 in a sum that also holds a 1 (softmax, logsumexp: x is a value
    minus its row's maximum): results below the smallest normal number, which such a sum cannot
    see, may be off. Otherwise as `exp_float32`, with one clamp and one multiply fewer.

    >>> float(exp_nonpositive_float32(np.float32(-1.0)))
    0.3678794503211975
    """
    return _exp(x, EXP_FLOAT32, False)


@_scalar
def exp_nonpositive_float64(x):
    """e**x for float64 x <= 0 in a sum that also holds a 1; see `exp_nonpositive_float32`.

    >>> exp_nonpositive_float64(-1.0)
    0.36787944117144233
    """
    return _exp(x, EXP_FLOAT64, False)


# ---------------------------------------------------------------------------------------------
# log and tanh

_F32 = np.float32
_SQRT_2, _HALF, _ONE, _TWO = _F32(math.sqrt(2.0)), _F32(0.5), _F32(1.0), _F32(2.0)
_SMALLEST_NORMAL = _F32(np.finfo(np.float32).tiny)
_SUBNORMAL_SCALE, _SUBNORMAL_SHIFT = _F32(2.0**23), _F32(23.0)
# float32 bits: 23 of mantissa, then 8 of exponent (biased by 127); 0x3F800000 are 1.0's.
_MANTISSA_BITS, _EXPONENT_MASK = np.uint32(23), np.uint32(0xFF)
_MANTISSA_MASK, _ONE_BITS, _BIAS = np.uint32(0x7FFFFF), np.uint32(0x3F800000), _F32(127.0)
# log(1 + f) = 2 atanh(s) = 2 (s + s**3/3 + s**5/5 + ...) with s = f / (2 + f), |s| <= 0.172
# for m = 1 + f in [sqrt(2)/2, sqrt(2)]: the terms after s**9/9 are below float32 rounding.
_LOG_SERIES = (_F32(1 / 3), _F32(1 / 5), _F32(1 / 7), _F32(1 / 9))
_INF, _NEG_INF, _NAN, _ZERO = _F32(np.inf), _F32(-np.inf), _F32(np.nan), _F32(0.0)


@_scalar
def log_float32(x):
    """Natural log for float32 x, within 2 ulp: log x = e log 2 + log m.

    >>> float(log_float32(np.float32(2.0)))
    0.6931471824645996
    """
    tiny = x < _SMALLEST_NORMAL  # subnormals: scale into the normal range first
    bits = float_bits(x * _SUBNORMAL_SCALE if tiny else x)  # x = m * 2**e, m in [1, 2)
    e = _F32(np.int32((bits >> _MANTISSA_BITS) & _EXPONENT_MASK)) - _BIAS
    m = float_from_bits(as_type_of((bits & _MANTISSA_MASK) | _ONE_BITS, bits))
    e = e - _SUBNORMAL_SHIFT if tiny else e
    high = m > _SQRT_2
    m = m * _HALF if high else m
    e = e + _ONE if high else e
    f = m - _ONE
    s = f / (_TWO + f)
    z = s * s
    series = z * polynomial(z, _LOG_SERIES)
    ln2 = EXP_FLOAT32
    result = e * ln2.ln2_high + ((_TWO * s + _TWO * s * series) + e * ln2.ln2_low)
    if not x > _ZERO:
        result = _NEG_INF if x == _ZERO else _NAN  # NaN for negative numbers and NaN
    return x if x == _INF else result


@_scalar
def log_float64(x):
    """Natural log for float64 x: the C library's (within 1 ulp; a call, not vectorized).

    >>> log_float64(1.0)
    0.0
    """
    return math.log(x)


# tanh on |x| < 0.625 as x + x**3 * P(x**2): least-squares fit (weighted for relative error)
# of (tanh(x) - x) / x**3 at Chebyshev nodes, within 0.8 ulp in float32. Beyond 0.625,
# 1 - 2 / (e**2|x| + 1) loses no accuracy to cancellation.
_TANH_SMALL = _F32(0.625)
_TANH_SERIES = (_F32(-0.3333328068256378), _F32(0.1333143264055252),
                _F32(-0.05373919755220413), _F32(0.020637977868318558),
                _F32(-0.005704157054424286))


@_scalar
def tanh_float32(x):
    """tanh for float32 x, within 3 ulp (both branches computed, one kept: no jump to vectorize
    around).

    >>> float(tanh_float32(np.float32(0.5)))
    0.46211716532707214
    """
    u = x * x
    small = x + x * u * polynomial(u, _TANH_SERIES)
    magnitude = builtins.abs(x)
    large = _ONE - _TWO / (exp_float32(magnitude + magnitude) + _ONE)
    # The sign is x's in both branches; copysign also keeps it on -0 (small alone would be +0).
    return math.copysign(small if magnitude < _TANH_SMALL else large, x)


@_scalar
def tanh_float64(x):
    """tanh for float64 x: the C library's (within 1 ulp; a call, not vectorized).

    >>> tanh_float64(0.0)
    0.0
    """
    return math.tanh(x)


# ---------------------------------------------------------------------------------------------
# Dispatchers: what kernels call.


def _dispatcher(python_version, float32_version, float64_version, name=None):
    """A function that is `python_version` from Python and, in numba, the version for its
    argument's type (other numbers go through `python_version` as float64)."""

    def dispatch(x):
        return python_version(x)

    def typed(x):
        if x == types.float32:
            return lambda x: float32_version(x)
        if x == types.float64:
            return lambda x: float64_version(x)
        return lambda x: python_version(x)

    # Not inlined by numba: compiled apart with this module's flags (see the docstring).
    overload(dispatch, jit_options={"error_model": "numpy", "fastmath": set(FASTMATH)})(typed)
    dispatch.__name__ = dispatch.__qualname__ = name or python_version.__name__
    dispatch.__doc__ = (f"{dispatch.__name__}(x) by its float32 or float64 version in "
                        f"numba; `math.{python_version.__name__}` from Python.")
    return dispatch


exp = _dispatcher(math.exp, exp_float32, exp_float64)
exp_nonpositive = _dispatcher(math.exp, exp_nonpositive_float32, exp_nonpositive_float64,
                              name="exp_nonpositive")
log = _dispatcher(math.log, log_float32, log_float64)
tanh = _dispatcher(math.tanh, tanh_float32, tanh_float64)
