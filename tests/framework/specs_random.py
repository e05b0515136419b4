"""Spec table of the random ops, and a NumPy reference of the counter-based generator.

The reference is written from the algorithm's definition (framework/ops/random.py's docstring)
with the constants spelled out, so the table pins the exact stream: a change to the mixing
function, the key, or the element-to-counter mapping breaks reproducibility and fails here.
"""

from functools import partial

import numpy as np

from framework import dtypes
from framework.ops import F
from tests.framework.opspec import OpSpec

_GOLDEN_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_SEED_SALT = np.uint64(0x6A09E667F3BCC909)


def reference_mix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finalizer on a uint64 array (NumPy arrays wrap silently on overflow)."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def reference_bits(seed: int, count: int) -> np.ndarray:
    """bits(i) = mix64(mix64(seed ^ SALT) + (i + 1) * GAMMA) for i in range(count)."""
    key = reference_mix64(np.array([seed], np.uint64) ^ _SEED_SALT)
    counters = np.arange(1, count + 1, dtype=np.uint64)
    return reference_mix64(key + counters * _GOLDEN_GAMMA)


def reference_unit(seed: int, count: int) -> np.ndarray:
    """53-bit uniforms in [0, 1), float64."""
    return (reference_bits(seed, count) >> np.uint64(11)).astype(np.float64) * 2.0**-53


def reference_uniform(shape, seed, low, high, dtype) -> np.ndarray:
    count = int(np.prod(shape))
    values = (low + (high - low) * reference_unit(seed, count)).astype(dtype)
    top = np.nextafter(np.asarray(high, dtype), np.asarray(low, dtype))
    return np.minimum(values, top).reshape(shape)


def reference_normal(shape, seed, mean, std, dtype) -> np.ndarray:
    count = int(np.prod(shape))
    bits = reference_bits(seed, count + count % 2)
    first = ((bits[0::2] >> np.uint64(11)).astype(np.float64) + 1.0) * 2.0**-53
    second = (bits[1::2] >> np.uint64(11)).astype(np.float64) * 2.0**-53
    radius = np.sqrt(-2.0 * np.log(first))
    angle = 2.0 * np.pi * second
    pairs = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1).reshape(-1)
    return (mean + std * pairs[:count]).astype(dtype).reshape(shape)


def reference_bernoulli(shape, p, seed) -> np.ndarray:
    return (reference_unit(seed, int(np.prod(shape))) < p).reshape(shape)


def reference_dropout(x: np.ndarray, p: float, seed: int) -> np.ndarray:
    kept = reference_bernoulli(x.shape, 1.0 - p, seed)
    scale = x.dtype.type(1.0 / (1.0 - p)) if p < 1 else x.dtype.type(0)
    return np.where(kept, x * scale, x.dtype.type(0))


UNARY_SHAPES = [((3, 4),), ((),), ((0, 3),), ((1,),), ((2, 1, 5),), ((7, 9, 11),)]
SEED = 20240601

# functools.partial, not a lambda: a bad-input error must name the test's line, and a lambda
# defined here would be the innermost user frame instead.
SPECS = [
    OpSpec("dropout", partial(F.dropout, p=0.3, seed=SEED),
           partial(reference_dropout, p=0.3, seed=SEED), UNARY_SHAPES,
           bad=[(((3, 4),), dtypes.int32, "dropout: input has dtype int32"),
                (((3, 4),), dtypes.bool_, "dropout: input has dtype bool")]),
    OpSpec("dropout_p_high_seed", partial(F.dropout, p=0.75, seed=2**64 - 5),
           partial(reference_dropout, p=0.75, seed=2**64 - 5), UNARY_SHAPES[:3]),
    OpSpec("dropout_p_one", partial(F.dropout, p=1.0, seed=SEED),
           lambda x: np.zeros_like(x), UNARY_SHAPES[:3]),
    OpSpec("dropout_p_out_of_range", partial(F.dropout, p=1.5, seed=SEED), None, [],
           bad=[(((3,),), dtypes.float32, r"dropout: p must be in \[0, 1\], got 1.5")]),
    OpSpec("dropout_p_negative", partial(F.dropout, p=-0.1, seed=SEED), None, [],
           bad=[(((3,),), dtypes.float64, r"dropout: p must be in \[0, 1\]")]),
    OpSpec("dropout_p_nan", partial(F.dropout, p=float("nan"), seed=SEED), None, [],
           bad=[(((3,),), dtypes.float32, r"dropout: p must be in \[0, 1\]")]),
]
