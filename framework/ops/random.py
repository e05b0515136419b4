"""Seeded, counter-based random numbers: the same seed gives the same numbers everywhere.

Every random value is a pure function of (seed, element index), like JAX's threefry or
Philox: there is no hidden state to advance, so a kernel may compute its elements in any order
(serial, `prange`, or one CUDA thread each) and always produces the same array. The random
primitives therefore carry their seed as an attribute; an eager run and a graph run of the same
model, handed the same seeds, draw the same numbers.

The bits come from a 64-bit mixing function (SplitMix64's finalizer, Stafford's "Mix13"):

    key       = mix64(seed ^ SEED_SALT)                 once per op application
    bits(i)   = mix64(key + (i + 1) * GOLDEN_GAMMA)     for element i (modulo 2**64)

Neighbouring seeds get unrelated keys, and a key's stream is one SplitMix64 sequence, which
passes BigCrush. One stream serves every distribution: `uniform` maps bits(i) to [low, high),
`bernoulli(p)` is `bits(i) / 2**64 < p`, `dropout(p)` keeps element i exactly when
`bernoulli(1 - p)` is True there, and `normal` reads the pair bits(2j), bits(2j + 1) for
elements 2j and 2j + 1 (Box-Muller gives two normals per pair of uniforms: radius from the
first, the angle 2 pi (bits(2j + 1) >> 11) / 2**53 from the second).

Values are computed in float64 and rounded to the output dtype, so a float32 draw is the
float64 draw with the same seed, rounded.

`Generator` hands out fresh seeds from (seed, counter); both front-ends take their dropout
seeds and initial values from it, so `manual_seed` fixes everything downstream.
"""

from __future__ import annotations

import math
import threading

import numba
import numpy as np
from numba import prange

from framework import dtypes
from framework.device import empty
from framework.errors import ArgumentError, DTypeError, ShapeError
from framework.ops.dispatch import as_operand, bind
from framework.ops.registry import Op, Spec, register, require_dtype
from framework.shapes import as_shape, size_of

__all__ = ["uniform", "normal", "bernoulli", "dropout"]


# ---------------------------------------------------------------------------------------------
# The counter-based bit generator. Everything is uint64 so numba never promotes to float.

SEED_MASK = (1 << 64) - 1
GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)  # 2**64 / golden ratio, odd: a full-period step
SEED_SALT = np.uint64(0x6A09E667F3BCC909)  # keeps seed 0 from mapping to key 0
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_ONE = np.uint64(1)
_SHIFT_11 = np.uint64(11)
_SHIFT_27 = np.uint64(27)
_SHIFT_30 = np.uint64(30)
_SHIFT_31 = np.uint64(31)
_TWO_POW_MINUS_53 = 1.0 / 9007199254740992.0

# Elements per parallel work item; even, so a Box-Muller pair never straddles two blocks.
BLOCK_SIZE = 1 << 14
# Below these sizes a serial loop beats starting threads (~5 us); normal costs more per element.
PARALLEL_MIN_SIZE = 1 << 16
PARALLEL_MIN_SIZE_NORMAL = 1 << 13


@numba.njit(inline="always", cache=True)
def mix64(z):
    """A bijective 64-bit avalanche mix: every output bit depends on every input bit."""
    z = (z ^ (z >> _SHIFT_30)) * _MIX_1
    z = (z ^ (z >> _SHIFT_27)) * _MIX_2
    return z ^ (z >> _SHIFT_31)


@numba.njit(inline="always", cache=True)
def seed_key(seed):
    """The per-op key of a uint64 seed; neighbouring seeds get unrelated keys."""
    return mix64(seed ^ SEED_SALT)


@numba.njit(inline="always", cache=True)
def counter_bits(key, counter):
    """The 64 random bits of element `counter` (uint64) of the stream of `key`."""
    return mix64(key + (counter + _ONE) * GOLDEN_GAMMA)


@numba.njit(inline="always", cache=True)
def unit_float(bits):
    """[0, 1) with 53 random bits. Through int64: x86 converts signed ints in one instruction."""
    return np.float64(np.int64(bits >> _SHIFT_11)) * _TWO_POW_MINUS_53


@numba.njit(inline="always", cache=True)
def unit_float_open_zero(bits):
    """(0, 1]: safe under log()."""
    return (np.float64(np.int64(bits >> _SHIFT_11)) + 1.0) * _TWO_POW_MINUS_53


# Taylor coefficients of sin and cos; on [0, pi/4] the first omitted terms are below 5e-17.
_SIN_COEFFICIENTS = (-1 / 6, 1 / 120, -1 / 5040, 1 / 362880, -1 / 39916800, 1 / 6227020800,
                     -1 / 1307674368000)
_COS_COEFFICIENTS = (-1 / 2, 1 / 24, -1 / 720, 1 / 40320, -1 / 3628800, 1 / 479001600,
                     -1 / 87178291200, 1 / 20922789888000)
_S3, _S5, _S7, _S9, _S11, _S13, _S15 = _SIN_COEFFICIENTS
_C2, _C4, _C6, _C8, _C10, _C12, _C14, _C16 = _COS_COEFFICIENTS
_HALF_PI = 0.5 * math.pi
_SHIFT_62 = np.uint64(62)
_LOW_51_BITS = np.uint64((1 << 51) - 1)
_TWO_POW_MINUS_51 = 1.0 / 2251799813685248.0


@numba.njit(inline="always", cache=True)
def _sin_cos_first_octant(x):
    """sin(x), cos(x) for 0 <= x <= pi/4, from + and * only."""
    x2 = x * x
    sine = x + x * x2 * (_S3 + x2 * (_S5 + x2 * (_S7 + x2 * (_S9 + x2 * (
        _S11 + x2 * (_S13 + x2 * _S15))))))
    cosine = 1.0 + x2 * (_C2 + x2 * (_C4 + x2 * (_C6 + x2 * (_C8 + x2 * (_C10 + x2 * (
        _C12 + x2 * (_C14 + x2 * _C16)))))))
    return sine, cosine


@numba.njit(inline="always", cache=True)
def unit_circle_point(bits):
    """(cos a, sin a) for the angle a = 2 pi (bits >> 11) / 2**53.

    libm's sin and cos cost more than all the rest of Box-Muller, and differ between libraries
    in the last bit. The top two bits pick the quadrant, the next 51 the angle inside it, which
    symmetry brings into [0, pi/4], where short polynomials are exact to about an ulp. The
    quadrant and octant are random, so they are applied by selects and signs, not branches
    (a branch on them would be mispredicted half the time).
    """
    quadrant = np.int64(bits >> _SHIFT_62)
    fraction = np.float64(np.int64((bits >> _SHIFT_11) & _LOW_51_BITS)) * _TWO_POW_MINUS_51
    upper_octant = fraction > 0.5
    # sin(pi/2 - x) = cos(x); 1 - fraction is exact.
    reduced = (1.0 - fraction) if upper_octant else fraction
    sine, cosine = _sin_cos_first_octant(reduced * _HALF_PI)
    first = sine if upper_octant else cosine  # cos of the angle within the quadrant
    second = cosine if upper_octant else sine  # its sin
    # Rotating by quadrant q: (c, s) -> (c, s), (-s, c), (-c, -s), (s, -c).
    odd = (quadrant & 1) == 1
    x = second if odd else first
    y = first if odd else second
    x_sign = 1.0 - 2.0 * np.float64((quadrant ^ (quadrant >> 1)) & 1)
    y_sign = 1.0 - 2.0 * np.float64(quadrant >> 1)
    return x_sign * x, y_sign * y


# The bit functions as the CUDA kernels take them (framework.kernels.cuda_nn): the same numba
# code compiles for the GPU, so a seed draws the same bits on both devices.
BIT_FUNCTIONS = (counter_bits, unit_float, unit_float_open_zero, unit_circle_point)


def as_seed(seed) -> int:
    """Any Python or NumPy integer -> a seed in [0, 2**64) (negative seeds wrap, as in PyTorch).

    >>> as_seed(-1) == 2**64 - 1
    True
    """
    if isinstance(seed, bool) or not hasattr(seed, "__index__"):
        raise ArgumentError(f"a seed must be an integer, got {seed!r}")
    return seed.__index__() & SEED_MASK


def key_of(seed: int) -> np.uint64:
    """The key of a seed, as np.uint64: numba returns a Python int, which a kernel would type as
    int64 when it fits, and int64 mixed with uint64 computes in float64."""
    return np.uint64(seed_key(np.uint64(seed)))


# ---------------------------------------------------------------------------------------------
# Kernels. Each distribution has a range body (serial) and a block driver that runs the body on
# BLOCK_SIZE slices in parallel: the same code computes every element on either path.


@numba.njit(cache=True)
def _uniform_range(out, key, low, span, top, start, stop):
    for i in range(start, stop):
        value = out.dtype.type(low + span * unit_float(counter_bits(key, np.uint64(i))))
        # Rounding low + span * u can land on `high`; the interval is half-open.
        out[i] = value if value <= top else top


@numba.njit(parallel=True, cache=True)
def _uniform_blocks(out, key, low, span, top):
    blocks = (out.size + BLOCK_SIZE - 1) // BLOCK_SIZE
    for block in prange(blocks):
        start = block * BLOCK_SIZE
        _uniform_range(out, key, low, span, top, start, min(start + BLOCK_SIZE, out.size))


@numba.njit(cache=True)
def _normal_range(out, key, mean, std, start, stop):
    # start is even: pair j covers elements 2j and 2j + 1.
    for first in range(start, stop, 2):
        u1 = unit_float_open_zero(counter_bits(key, np.uint64(first)))
        cosine, sine = unit_circle_point(counter_bits(key, np.uint64(first + 1)))
        radius = math.sqrt(-2.0 * math.log(u1))
        out[first] = out.dtype.type(mean + std * radius * cosine)
        if first + 1 < stop:
            out[first + 1] = out.dtype.type(mean + std * radius * sine)


@numba.njit(parallel=True, cache=True)
def _normal_blocks(out, key, mean, std):
    blocks = (out.size + BLOCK_SIZE - 1) // BLOCK_SIZE
    for block in prange(blocks):
        start = block * BLOCK_SIZE
        _normal_range(out, key, mean, std, start, min(start + BLOCK_SIZE, out.size))


@numba.njit(cache=True)
def _bernoulli_range(out, key, p, start, stop):
    for i in range(start, stop):
        out[i] = unit_float(counter_bits(key, np.uint64(i))) < p


@numba.njit(parallel=True, cache=True)
def _bernoulli_blocks(out, key, p):
    blocks = (out.size + BLOCK_SIZE - 1) // BLOCK_SIZE
    for block in prange(blocks):
        start = block * BLOCK_SIZE
        _bernoulli_range(out, key, p, start, min(start + BLOCK_SIZE, out.size))


@numba.njit(cache=True)
def _dropout_range(x, out, key, keep_probability, scale, start, stop):
    zero = out.dtype.type(0)
    for i in range(start, stop):
        kept = unit_float(counter_bits(key, np.uint64(i))) < keep_probability
        # Select rather than branch: a random branch is mispredicted half the time. Dropped
        # elements are exactly 0, even where x is inf or NaN.
        scaled = x[i] * scale
        out[i] = scaled if kept else zero


@numba.njit(parallel=True, cache=True)
def _dropout_blocks(x, out, key, keep_probability, scale):
    blocks = (out.size + BLOCK_SIZE - 1) // BLOCK_SIZE
    for block in prange(blocks):
        start = block * BLOCK_SIZE
        _dropout_range(x, out, key, keep_probability, scale, start,
                       min(start + BLOCK_SIZE, out.size))


def _fill_uniform(out, seed, low, high, parallel):
    flat = out.reshape(-1)
    top = np.nextafter(out.dtype.type(high), out.dtype.type(low))
    arguments = (flat, key_of(seed), float(low), float(high) - float(low), top)
    if parallel:
        _uniform_blocks(*arguments)
    else:
        _uniform_range(*arguments, 0, flat.size)


def _fill_normal(out, seed, mean, std, parallel):
    flat = out.reshape(-1)
    arguments = (flat, key_of(seed), float(mean), float(std))
    if parallel:
        _normal_blocks(*arguments)
    else:
        _normal_range(*arguments, 0, flat.size)


def _fill_bernoulli(out, seed, p, parallel):
    flat = out.reshape(-1)
    if parallel:
        _bernoulli_blocks(flat, key_of(seed), float(p))
    else:
        _bernoulli_range(flat, key_of(seed), float(p), 0, flat.size)


def _apply_dropout(x, out, seed, p, parallel):
    flat_x = np.ascontiguousarray(x).reshape(-1)
    flat_out = out.reshape(-1)
    keep_probability = 1.0 - float(p)
    # p = 1 keeps nothing; the scale is then never used, and must not be inf.
    scale = x.dtype.type(1.0 / keep_probability if keep_probability > 0 else 0.0)
    arguments = (flat_x, flat_out, key_of(seed), keep_probability, scale)
    if parallel:
        _dropout_blocks(*arguments)
    else:
        _dropout_range(*arguments, 0, flat_x.size)


# ---------------------------------------------------------------------------------------------
# Attribute checks, shared by the shape rules and the neutral functions.


def _check_output_shape(op: str, shape) -> tuple:
    shape = as_shape(shape)
    if size_of(shape) is None:
        raise ShapeError(f"{op}: the output shape {shape} must be fully known (no None): "
                         f"a random op has no input to take a run-time shape from")
    return shape


def _check_probability(op: str, p) -> float:
    try:
        value = float(p)
    except (TypeError, ValueError):
        raise ArgumentError(f"{op}: p must be a number in [0, 1], got {p!r}") from None
    if not 0.0 <= value <= 1.0:  # also refuses NaN
        raise ArgumentError(f"{op}: p must be in [0, 1], got {p!r}")
    return value


def _check_finite(op: str, **values) -> None:
    for name, value in values.items():
        if not math.isfinite(value):
            raise ArgumentError(f"{op}: {name} must be finite, got {value!r}")


def _check_float_dtype(op: str, dtype) -> None:
    if dtype not in dtypes.FLOATS:
        raise DTypeError(f"{op}: samples floats; dtype {dtype} is not float32 or float64")


def _check_seed(op: str, seed) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MASK:
        raise ArgumentError(f"{op}: seed must be an int in [0, 2**64), got {seed!r}")


# ---------------------------------------------------------------------------------------------
# The primitives. They take no inputs (dropout takes one), so their attributes say everything.


@register
class Uniform(Op):
    """Uniform samples in [low, high), element i a function of (seed, i)."""

    name = "uniform"
    shape: tuple = ()
    seed: int = 0
    low: float = 0.0
    high: float = 1.0
    dtype: np.dtype = dtypes.float32
    no_gradient = "no inputs"

    def infer(self):
        shape = _check_output_shape(self.name, self.shape)
        _check_float_dtype(self.name, self.dtype)
        _check_seed(self.name, self.seed)
        _check_finite(self.name, low=self.low, high=self.high)
        if not self.low < self.high:
            raise ArgumentError(f"{self.name}: needs low < high, got low={self.low!r}, "
                                f"high={self.high!r}")
        return Spec(shape, self.dtype)

    def cpu(self):
        out = empty(self.shape, self.dtype)
        _fill_uniform(out, self.seed, self.low, self.high, out.size >= PARALLEL_MIN_SIZE)
        return out

    def cuda(self):
        from framework.kernels import cuda_nn

        return cuda_nn.random_uniform(BIT_FUNCTIONS, self.shape, self.dtype, key_of(self.seed),
                                      self.low, self.high)


def uniform(shape, seed, low=0.0, high=1.0, dtype=dtypes.float32):
    """Samples from the uniform distribution on [low, high), determined by `seed`.

    >>> x = uniform((2, 3), seed=7, low=-1.0, high=1.0)
    >>> x.shape, x.dtype, bool(((x >= -1) & (x < 1)).all())
    ((2, 3), dtype('float32'), True)
    >>> bool((x == uniform((2, 3), seed=7, low=-1.0, high=1.0)).all())
    True
    """
    op = Uniform(_check_output_shape("uniform", shape), as_seed(seed), float(low), float(high),
                 dtypes.as_dtype(dtype))
    return bind(op)


@register
class Normal(Op):
    """Normal samples (Box-Muller), elements 2j and 2j + 1 from the pair of uniforms j."""

    name = "normal"
    shape: tuple = ()
    seed: int = 0
    mean: float = 0.0
    std: float = 1.0
    dtype: np.dtype = dtypes.float32
    no_gradient = "no inputs"

    def infer(self):
        shape = _check_output_shape(self.name, self.shape)
        _check_float_dtype(self.name, self.dtype)
        _check_seed(self.name, self.seed)
        _check_finite(self.name, mean=self.mean, std=self.std)
        if self.std < 0:
            raise ArgumentError(f"{self.name}: std must be >= 0, got {self.std!r}")
        return Spec(shape, self.dtype)

    def cpu(self):
        out = empty(self.shape, self.dtype)
        _fill_normal(out, self.seed, self.mean, self.std,
                     out.size >= PARALLEL_MIN_SIZE_NORMAL)
        return out

    def cuda(self):
        # The same draws as the CPU's, up to an ulp or so in float64 (the GPU's log and its
        # fused multiply-adds in the sine and cosine polynomials round differently).
        from framework.kernels import cuda_nn

        return cuda_nn.random_normal(BIT_FUNCTIONS, self.shape, self.dtype, key_of(self.seed),
                                     self.mean, self.std)


def normal(shape, seed, mean=0.0, std=1.0, dtype=dtypes.float32):
    """Samples from the normal distribution N(mean, std**2), determined by `seed`.

    >>> x = normal((1000,), seed=3, mean=2.0, std=0.5, dtype="float64")
    >>> round(float(x.mean()), 1), round(float(x.std()), 1)
    (2.0, 0.5)
    """
    op = Normal(_check_output_shape("normal", shape), as_seed(seed), float(mean), float(std),
                dtypes.as_dtype(dtype))
    return bind(op)


@register
class Bernoulli(Op):
    """Booleans, True with probability p: element i is `uniform(seed)[i] < p`."""

    name = "bernoulli"
    shape: tuple = ()
    p: float = 0.5
    seed: int = 0
    no_gradient = "no inputs"

    def infer(self):
        shape = _check_output_shape(self.name, self.shape)
        _check_probability(self.name, self.p)
        _check_seed(self.name, self.seed)
        return Spec(shape, dtypes.bool_)

    def cpu(self):
        out = empty(self.shape, dtypes.bool_)
        _fill_bernoulli(out, self.seed, self.p, out.size >= PARALLEL_MIN_SIZE)
        return out

    def cuda(self):
        from framework.kernels import cuda_nn

        return cuda_nn.random_bernoulli(BIT_FUNCTIONS, self.shape, key_of(self.seed), self.p)


def bernoulli(shape, p, seed):
    """A boolean array, each element True with probability `p`, determined by `seed`.

    >>> bernoulli((4,), 1.0, seed=5)
    array([ True,  True,  True,  True])
    >>> round(float(bernoulli((10000,), 0.25, seed=5).mean()), 1)
    0.2
    """
    op = Bernoulli(_check_output_shape("bernoulli", shape), _check_probability("bernoulli", p),
                   as_seed(seed))
    return bind(op)


@register
class Dropout(Op):
    """Inverted dropout: keep with probability 1 - p, scale kept values by 1 / (1 - p).

    The mask is recomputed from (seed, element index) wherever it is needed, so nothing is
    stored for backward: the gradient is dropout of the cotangent with the same seed.
    """

    name = "dropout"
    p: float = 0.5
    seed: int = 0
    vjp_needs_inputs = False

    def infer(self, x):
        require_dtype(self.name, x, dtypes.FLOATS)
        _check_probability(self.name, self.p)
        _check_seed(self.name, self.seed)
        return Spec(x.shape, x.dtype)

    def cpu(self, x):
        out = empty(x.shape, x.dtype)
        _apply_dropout(x, out, self.seed, self.p, out.size >= PARALLEL_MIN_SIZE)
        return out

    def cuda(self, x):
        from framework.kernels import cuda_nn

        return cuda_nn.random_dropout(BIT_FUNCTIONS, x, key_of(self.seed), self.p)

    def vjp(self, g, inputs, out):
        return dropout(g, self.p, self.seed)


def dropout(x, p, seed):
    """Zero each element with probability `p` and scale the rest by 1 / (1 - p) (PyTorch's).

    Element i is kept exactly where `bernoulli(x.shape, 1 - p, seed)` is True. `p = 0` returns
    `x` itself; `p = 1` gives zeros.

    >>> x = np.ones(8, np.float32)
    >>> y = dropout(x, 0.5, seed=11)
    >>> sorted(set(y.tolist())), bool((dropout(x, 0.5, seed=11) == y).all())
    ([0.0, 2.0], True)
    """
    p = _check_probability("dropout", p)
    x = as_operand(x)
    if p == 0.0:
        return x
    return bind(Dropout(p, as_seed(seed)), x)


# ---------------------------------------------------------------------------------------------
# Generator: a seed and a counter, handing out fresh seeds in a fixed order.


class Generator:
    """A source of seeds: `next_seed()` returns bits(key(seed), counter) and counts up.

    Both front-ends take dropout seeds and initial values from a Generator, so after
    `manual_seed(s)` the same program draws the same numbers, eager or graph. The methods draw
    arrays now; a front-end that builds a graph takes `next_seed()` and binds the op itself.

    >>> g = Generator(42)
    >>> a = g.uniform((3,))
    >>> b = g.manual_seed(42).uniform((3,))
    >>> bool((a == b).all()), g.counter
    (True, 1)
    """

    def __init__(self, seed: int = 0):
        self._lock = threading.Lock()
        self.manual_seed(seed)

    def manual_seed(self, seed: int) -> Generator:
        """Restart the sequence of seeds from `seed` (returns the generator, like PyTorch's)."""
        seed = as_seed(seed)
        with self._lock:
            self._seed = seed
            self._key = key_of(seed)
            self.counter = 0
        return self

    def initial_seed(self) -> int:
        return self._seed

    def next_seed(self) -> int:
        """A fresh 64-bit seed; the sequence depends only on the generator's seed.

        >>> Generator(1).next_seed() == Generator(1).next_seed()
        True
        """
        with self._lock:
            counter = self.counter
            self.counter = counter + 1
        return int(counter_bits(self._key, np.uint64(counter)))

    def get_state(self) -> tuple[int, int]:
        """(seed, counter): enough to resume the sequence, e.g. from a checkpoint."""
        with self._lock:
            return self._seed, self.counter

    def set_state(self, state: tuple[int, int]) -> None:
        seed, counter = state
        self.manual_seed(seed)
        if isinstance(counter, bool) or not isinstance(counter, int) or counter < 0:
            raise ArgumentError(f"a generator counter must be an int >= 0, got {counter!r}")
        with self._lock:
            self.counter = counter

    def uniform(self, shape, low=0.0, high=1.0, dtype=dtypes.float32):
        """`uniform(shape, self.next_seed(), low, high, dtype)`."""
        return uniform(shape, self.next_seed(), low, high, dtype)

    def normal(self, shape, mean=0.0, std=1.0, dtype=dtypes.float32):
        """`normal(shape, self.next_seed(), mean, std, dtype)`."""
        return normal(shape, self.next_seed(), mean, std, dtype)

    def bernoulli(self, shape, p=0.5):
        """`bernoulli(shape, p, self.next_seed())`."""
        return bernoulli(shape, p, self.next_seed())

    def __repr__(self) -> str:
        return f"Generator(seed={self._seed}, counter={self.counter})"


# A fixed default seed: an unseeded run is reproducible too.
DEFAULT_SEED = 0
default_generator = Generator(DEFAULT_SEED)


def manual_seed(seed: int) -> Generator:
    """Reseed the default generator (like `torch.manual_seed`); returns it.

    >>> a = manual_seed(0).uniform((2,))
    >>> bool((a == manual_seed(0).uniform((2,))).all())
    True
    """
    return default_generator.manual_seed(seed)


def next_seed() -> int:
    """A fresh seed from the default generator."""
    return default_generator.next_seed()


def initial_seed() -> int:
    return default_generator.initial_seed()
