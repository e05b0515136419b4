"""Spec table of the elementwise ops.

References follow our dtype rules where they differ from NumPy's: float functions and true
division compute integer and bool inputs in float32 (PyTorch's rule), see `in_float`.
"""

import numpy as np
import scipy.special

from framework import dtypes
from framework.ops import F, bind
from framework.ops.elementwise import ReluGrad
from tests.framework.opspec import FLOAT_TOLERANCE, OpSpec, away_from

UNARY_SHAPES = [((3, 4),), ((),), ((0, 3),), ((1,),), ((2, 1, 5),)]
BINARY_SHAPES = [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((2, 3, 4), (4,)), ((), (5,)),
                 ((0, 4), (1, 4)), ((1,), (1,)), ((4, 3), ()), ((2, 3, 1), (2, 1, 4))]
WHERE_SHAPES = [((3, 4), (3, 4), (3, 4)), ((3, 1), (1, 4), (4,)), ((), (2, 3), ()),
                ((0, 3), (1, 3), (0, 1)), ((2, 1, 4), (3, 1), ())]
ALL = dtypes.ALL
NUMERIC = dtypes.NUMERIC
BROADCAST_BAD = (((2, 3), (4,)), dtypes.float32, "cannot be broadcast")
# Integer and bool inputs of float functions compute in float32: compare with its tolerance.
AS_FLOAT32 = {dtype: FLOAT_TOLERANCE[dtypes.float32] for dtype in (dtypes.bool_, *dtypes.INTS)}


def in_float(function):
    """Apply a NumPy function the way our float functions do: non-float inputs as float32."""

    def reference(*arrays):
        return function(*[a if a.dtype.kind == "f" else a.astype(np.float32) for a in arrays])

    return reference


def from_range(low, high):
    """Inputs drawn from [low, high) (integers: the integers in it), e.g. a log's domain."""

    def make(rng, shape, dtype, i):
        values = rng.uniform(low, high, size=shape)
        kind = np.dtype(dtype).kind
        if kind == "b":  # False is 0: only inside the domain when it includes 0
            return (rng.random(size=shape) < 0.5) | (low > 0)
        return values.astype(dtype) if kind == "f" else np.ceil(values).astype(dtype)

    return make


def nonzero_divisor(rng, shape, dtype, i):
    """Any numerator; a divisor kept away from 0 (integers: from +-1 to +-3)."""
    if i == 0:
        return from_range(-2, 2)(rng, shape, dtype, i)
    if np.dtype(dtype).kind == "b":
        return np.ones(shape, bool)
    magnitude = rng.uniform(0.5, 3.0, size=shape)
    if np.dtype(dtype).kind != "f":
        magnitude = np.ceil(magnitude)
    return np.where(rng.random(size=shape) < 0.5, -magnitude, magnitude).astype(dtype)


def positive_base(rng, shape, dtype, i):
    """pow's inputs: a base in [0.3, 2) (real results) and an exponent in [-2, 2)."""
    low, high = (0.3, 2.0) if i == 0 else (-2.0, 2.0)
    return rng.uniform(low, high, size=shape).astype(dtype)


def condition_first(rng, shape, dtype, i):
    """where's inputs: a bool condition, then two values of `dtype`."""
    if i == 0 or np.dtype(dtype).kind == "b":
        return rng.random(size=shape) < 0.5
    return from_range(-2, 2)(rng, shape, dtype, i)


def _np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _np_gelu(x):
    return x * 0.5 * (1 + scipy.special.erf(x / np.sqrt(x.dtype.type(2))))


def _np_rsqrt(x):
    return 1 / np.sqrt(x)


def _np_relu(x):
    return np.maximum(x, 0)


def _np_clip(low, high):
    def reference(x):
        dtype = dtypes.result_type(x, *[b for b in (low, high) if b is not None])
        return np.clip(x.astype(dtype), low, high)

    return reference


def _np_true_divide(x, y):
    if x.dtype.kind != "f":
        x, y = x.astype(np.float32), y.astype(np.float32)
    return np.true_divide(x, y)


def _float_unary(name, reference, domain=(-2.0, 2.0), **options):
    """A float function: checked on every dtype (integers and bool through float32)."""
    options.setdefault("make_input", from_range(*domain))
    options.setdefault("tolerance", AS_FLOAT32)
    return OpSpec(name, getattr(F, name), in_float(reference), UNARY_SHAPES, dtypes=ALL,
                  **options)


def _comparison(name, reference):
    return OpSpec(name, getattr(F, name), reference, BINARY_SHAPES, dtypes=ALL, grad=False,
                  make_input=from_range(-2, 2), bad=[BROADCAST_BAD])


SPECS = [
    _float_unary("exp", np.exp),
    _float_unary("log", np.log, (0.1, 3.0)),
    _float_unary("log1p", np.log1p, (-0.5, 3.0)),
    _float_unary("sqrt", np.sqrt, (0.1, 3.0)),
    _float_unary("rsqrt", _np_rsqrt, (0.2, 3.0)),
    _float_unary("tanh", np.tanh, (-4.0, 4.0)),
    _float_unary("sigmoid", _np_sigmoid, (-6.0, 6.0)),
    _float_unary("gelu", _np_gelu, (-4.0, 4.0)),
    _float_unary("erf", scipy.special.erf),
    _float_unary("sin", np.sin, (-4.0, 4.0)),
    _float_unary("cos", np.cos, (-4.0, 4.0)),
    _float_unary("expm1", np.expm1),
    _float_unary("atan", np.arctan, (-4.0, 4.0)),
    # x > 0 keeps finite differences off atan2's branch cut (y = 0, x < 0).
    OpSpec("atan2", F.atan2, in_float(np.arctan2), BINARY_SHAPES, dtypes=ALL,
           make_input=lambda rng, shape, dtype, i: from_range(-2.0, 2.0)(rng, shape, dtype, i)
           if i == 0 else from_range(0.2, 2.0)(rng, shape, dtype, i),
           tolerance=AS_FLOAT32, bad=[BROADCAST_BAD]),
    OpSpec("reciprocal", F.reciprocal, in_float(np.reciprocal), UNARY_SHAPES, dtypes=ALL,
           make_input=lambda rng, shape, dtype, i: nonzero_divisor(rng, shape, dtype, 1),
           tolerance=AS_FLOAT32),
    OpSpec("neg", F.neg, np.negative, UNARY_SHAPES, dtypes=NUMERIC,
           bad=[(((3,),), dtypes.bool_, "neg: input has dtype bool")]),
    OpSpec("abs", F.abs, np.abs, UNARY_SHAPES, dtypes=NUMERIC, make_input=away_from([0], 0.05),
           bad=[(((3,),), dtypes.bool_, "abs: input has dtype bool")]),
    OpSpec("relu", F.relu, _np_relu, UNARY_SHAPES, dtypes=NUMERIC,
           make_input=away_from([0], 0.05),
           bad=[(((3,),), dtypes.bool_, "relu: input has dtype bool")]),
    OpSpec("relu_grad", lambda g, y: bind(ReluGrad(), g, y), lambda g, y: np.where(y > 0, g, 0),
           BINARY_SHAPES, make_input=away_from([0], 0.05), wrt=(0,),
           bad=[(((3,), (3,)), dtypes.int32, "relu_grad: input has dtype int32")]),
    OpSpec("sign", F.sign, np.sign, UNARY_SHAPES, dtypes=NUMERIC, make_input=away_from([0], 0.05)),
    OpSpec("square", F.square, np.square, UNARY_SHAPES, dtypes=NUMERIC),
    OpSpec("add", F.add, np.add, BINARY_SHAPES, dtypes=NUMERIC, bad=[BROADCAST_BAD]),
    OpSpec("sub", F.sub, np.subtract, BINARY_SHAPES, dtypes=NUMERIC,
           bad=[BROADCAST_BAD, (((3,), (3,)), dtypes.bool_, "sub: input has dtype bool")]),
    OpSpec("mul", F.mul, np.multiply, BINARY_SHAPES, dtypes=NUMERIC, bad=[BROADCAST_BAD]),
    OpSpec("div", F.div, _np_true_divide, BINARY_SHAPES, dtypes=ALL,
           make_input=nonzero_divisor, tolerance=AS_FLOAT32, bad=[BROADCAST_BAD]),
    OpSpec("pow", F.pow, np.power, BINARY_SHAPES, make_input=positive_base,
           bad=[BROADCAST_BAD, (((3,), (3,)), dtypes.int32, "pow: input has dtype int32")]),
    # Independent uniform draws: ties (where the gradient splits) have probability zero.
    OpSpec("maximum", F.maximum, np.maximum, BINARY_SHAPES, dtypes=ALL,
           make_input=from_range(-2, 2), bad=[BROADCAST_BAD]),
    OpSpec("minimum", F.minimum, np.minimum, BINARY_SHAPES, dtypes=ALL,
           make_input=from_range(-2, 2), bad=[BROADCAST_BAD]),
    _comparison("eq", np.equal),
    _comparison("ne", np.not_equal),
    _comparison("lt", np.less),
    _comparison("le", np.less_equal),
    _comparison("gt", np.greater),
    _comparison("ge", np.greater_equal),
    OpSpec("where", F.where, np.where, WHERE_SHAPES, dtypes=ALL, make_input=condition_first,
           wrt=(1, 2), bad=[(((2,), (3,), (3,)), dtypes.bool_, "cannot be broadcast")]),
    # For its bad case: inputs all of one dtype, so the condition is float32, not bool
    # (dtypes=(): the table above runs where's good cases).
    OpSpec("where_float_condition", F.where, np.where, WHERE_SHAPES, dtypes=(), grad=False,
           bad=[(((3,), (3,), (3,)), dtypes.float32, "where: condition has dtype float32")]),
    OpSpec("clip", lambda x: F.clip(x, -0.5, 0.7), _np_clip(-0.5, 0.7), UNARY_SHAPES,
           dtypes=ALL, make_input=away_from([-0.5, 0.7], 0.05), tolerance=AS_FLOAT32),
    OpSpec("clip_int_bounds", lambda x: F.clip(x, -1, 1), _np_clip(-1, 1), UNARY_SHAPES,
           dtypes=NUMERIC, make_input=away_from([-1, 1], 0.05)),
    OpSpec("clip_min_only", lambda x: F.clip(x, min=0.25), _np_clip(0.25, None), UNARY_SHAPES,
           make_input=away_from([0.25], 0.05)),
    OpSpec("clip_max_only", lambda x: F.clip(x, max=0.25), _np_clip(None, 0.25), UNARY_SHAPES,
           make_input=away_from([0.25], 0.05)),
    OpSpec("cast_f64", lambda x: F.cast(x, "float64"), lambda x: x.astype(np.float64),
           UNARY_SHAPES, dtypes=ALL),
    # Gradient checks run in float64, where a float32 result is too coarse for finite
    # differences: test_elementwise.py checks cast's gradient directly.
    OpSpec("cast_f32", lambda x: F.cast(x, "float32"), lambda x: x.astype(np.float32),
           UNARY_SHAPES, dtypes=ALL, grad=False),
    OpSpec("cast_i32", lambda x: F.cast(x, "int32"), lambda x: x.astype(np.int32),
           UNARY_SHAPES, dtypes=ALL, grad=False),
    OpSpec("cast_bool", lambda x: F.cast(x, "bool"), lambda x: x.astype(bool),
           UNARY_SHAPES, dtypes=ALL, grad=False, make_input=from_range(-1, 1)),
]


def with_specials(rng, shape, dtype, i):
    """Values in [-2, 2) with NaN, +inf and -inf sprinkled in (floats only)."""
    values = from_range(-2, 2)(rng, shape, dtype, i)
    if np.dtype(dtype).kind == "f":
        flat, picks = values.reshape(-1), rng.random(values.size)
        flat[picks < 0.15] = np.nan
        flat[(picks >= 0.15) & (picks < 0.3)] = np.inf
        flat[(picks >= 0.3) & (picks < 0.4)] = -np.inf
    return values


def _np_clip_between(x, low, high):
    return np.minimum(np.maximum(x, low), high)


def _division(name, reference, grad=True):
    return OpSpec(name, getattr(F, name), reference, BINARY_SHAPES, dtypes=NUMERIC,
                  make_input=nonzero_divisor, grad=grad,
                  bad=[BROADCAST_BAD,
                       (((3,), (3,)), dtypes.bool_, f"{name}: input has dtype bool")])


def _predicate(name, reference):
    return OpSpec(name, getattr(F, name), reference, UNARY_SHAPES, dtypes=ALL, grad=False,
                  make_input=with_specials)


def _logical(name, reference):
    return OpSpec(name, getattr(F, name), reference, BINARY_SHAPES, dtypes=ALL, grad=False,
                  make_input=from_range(-1, 1), bad=[BROADCAST_BAD])


SPECS += [
    _division("floor_divide", np.floor_divide, grad=False),
    # Random draws keep x / y away from the integers, where remainder and fmod jump.
    _division("remainder", np.remainder),
    _division("fmod", np.fmod),
    _predicate("isnan", np.isnan),
    _predicate("isinf", np.isinf),
    _predicate("isfinite", np.isfinite),
    _logical("logical_and", np.logical_and),
    _logical("logical_or", np.logical_or),
    _logical("logical_xor", np.logical_xor),
    OpSpec("logical_not", F.logical_not, np.logical_not, UNARY_SHAPES, dtypes=ALL, grad=False,
           make_input=from_range(-1, 1)),
    OpSpec("clip_between", F.clip_between, _np_clip_between, WHERE_SHAPES, dtypes=NUMERIC,
           make_input=from_range(-2, 2),
           bad=[(((2,), (3,), (3,)), dtypes.float32, "cannot be broadcast"),
                (((3,), (3,), (3,)), dtypes.bool_, "clip_between: input has dtype bool")]),
    OpSpec("clip_between_min_only", lambda x, low: F.clip_between(x, min=low),
           lambda x, low: np.maximum(x, low), BINARY_SHAPES, dtypes=NUMERIC,
           make_input=from_range(-2, 2)),
    OpSpec("clip_between_max_only", lambda x, high: F.clip_between(x, max=high),
           lambda x, high: np.minimum(x, high), BINARY_SHAPES, dtypes=NUMERIC,
           make_input=from_range(-2, 2)),
    # Replacements within range, so that finite differences of the loss stay meaningful.
    OpSpec("nan_to_num", lambda x: F.nan_to_num(x, 0.5, 3.0, -3.0),
           lambda x: np.nan_to_num(x, nan=0.5, posinf=3.0, neginf=-3.0), UNARY_SHAPES,
           dtypes=ALL, make_input=with_specials),
    OpSpec("nan_to_num_defaults", F.nan_to_num, np.nan_to_num, UNARY_SHAPES, dtypes=ALL,
           grad=False, make_input=with_specials),
]
