"""Initializers, TensorFlow 1's (`tf.zeros_initializer`, ..., and `tf.initializers.*`).

An initializer is an object called as `init(shape, dtype=None, partition_info=None)`; it
returns the initial value as a NumPy array, drawn when the variable is built (by
`tf.get_variable`, `tf.layers`, or a direct call). `dtype` defaults to the one the initializer
was made with. The random ones take their seed as TensorFlow's random ops do
(`graph.random_ops.get_seed`): from the graph-level seed (`tf.set_random_seed`) and their own
`seed=`, so a graph built twice with the same seeds starts from the same weights. With neither
seed they draw from the shared generator (`framework.ops.random.manual_seed`).

Where TensorFlow and eager's `nn.init` mean the same distribution, the draw is eager's: Glorot
uniform draws in eager's (out, in, ...) weight layout and transposes, so a graph layer and an
eager layer initialized from the same seed start from the same weights.

>>> import graph as tf
>>> w = tf.truncated_normal_initializer(stddev=0.1, seed=1)([3, 2])
>>> w.shape, w.dtype, bool(abs(w).max() <= 0.2)
((3, 2), dtype('float32'), True)
>>> tf.initializers.zeros()([2], dtype=tf.int32)
array([0, 0], dtype=int32)
"""

from __future__ import annotations

import math

import numpy as np

from framework import dtypes
from framework import init as framework_init
from graph.core import GraphError, TensorShape
from graph.random_ops import seed_generator, truncated_normal_array

__all__ = [
    "Constant", "GlorotNormal", "GlorotUniform", "Initializer", "Ones", "RandomNormal",
    "RandomUniform", "TruncatedNormal", "VarianceScaling", "Zeros", "constant",
    "constant_initializer", "glorot_normal", "glorot_normal_initializer", "glorot_uniform",
    "glorot_uniform_initializer", "he_normal", "he_uniform", "lecun_normal", "lecun_uniform",
    "ones", "ones_initializer", "random_normal", "random_normal_initializer", "random_uniform",
    "random_uniform_initializer", "truncated_normal", "truncated_normal_initializer",
    "variance_scaling", "variance_scaling_initializer", "zeros", "zeros_initializer",
    "global_variables", "local_variables", "variables",
]


def _known_shape(shape) -> tuple:
    if isinstance(shape, TensorShape) and shape.ndims is None:
        raise GraphError("an initializer needs a fully known shape, got an unknown one")
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    shape = tuple(shape)
    if any(d is None or isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 0
           for d in shape):
        raise GraphError(f"an initializer needs a fully known shape of ints >= 0, got {shape}")
    return tuple(int(d) for d in shape)


class Initializer:
    """Base class: `init(shape, dtype=None, partition_info=None)` -> a NumPy array."""

    def __init__(self, dtype=dtypes.float32):
        self.dtype = dtypes.as_dtype(dtype)

    def __call__(self, shape, dtype=None, partition_info=None) -> np.ndarray:
        dtype = self.dtype if dtype is None else dtypes.as_dtype(dtype)
        return self.draw(_known_shape(shape), dtype)

    def draw(self, shape: tuple, dtype: np.dtype) -> np.ndarray:
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"dtype": self.dtype.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({settings})"


class Zeros(Initializer):
    """All zeros (the default for biases).

    >>> Zeros()((2,))
    array([0., 0.], dtype=float32)
    """

    def draw(self, shape, dtype):
        return np.zeros(shape, dtype)


class Ones(Initializer):
    """All ones.

    >>> Ones()((2,), dtype="float64")
    array([1., 1.])
    """

    def draw(self, shape, dtype):
        return np.ones(shape, dtype)


class Constant(Initializer):
    """A scalar fills the shape; an array must have the requested shape.

    >>> Constant([1.0, 2.0])((2,))
    array([1., 2.], dtype=float32)
    """

    def __init__(self, value=0, dtype=dtypes.float32, verify_shape=False):
        super().__init__(dtype)
        self.value = value

    def draw(self, shape, dtype):
        array = np.asarray(self.value, dtype)
        if array.ndim and array.shape != shape:
            raise GraphError(f"constant_initializer: value of shape {array.shape} for a "
                             f"variable of shape {shape}")
        return np.array(np.broadcast_to(array, shape))

    def get_config(self):
        return {"value": self.value, "dtype": self.dtype.name}


class _Seeded(Initializer):
    def __init__(self, seed=None, dtype=dtypes.float32):
        super().__init__(dtype)
        self.seed = seed

    def generator(self):
        return seed_generator(self.seed)

    def get_config(self):
        return {"seed": self.seed, "dtype": self.dtype.name}


def _float(what: str, dtype) -> np.dtype:
    if not dtypes.is_float(dtype):
        raise GraphError(f"{what} draws floats; dtype {dtype} is not float32 or float64")
    return dtype


class RandomNormal(_Seeded):
    """N(mean, stddev**2).

    >>> a = RandomNormal(stddev=0.1, seed=3)((4,))
    >>> bool((a == RandomNormal(stddev=0.1, seed=3)((4,))).all())
    True
    """

    def __init__(self, mean=0.0, stddev=1.0, seed=None, dtype=dtypes.float32):
        super().__init__(seed, dtype)
        self.mean, self.stddev = mean, stddev

    def draw(self, shape, dtype):
        return framework_init.normal(shape, self.mean, self.stddev,
                                     dtype=_float("random_normal_initializer", dtype),
                                     generator=self.generator())

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


class TruncatedNormal(RandomNormal):
    """N(mean, stddev**2) without the values more than 2 stddev from the mean (drawn again).

    >>> w = TruncatedNormal(stddev=0.5, seed=2)((1000,))
    >>> bool(abs(w).max() <= 1.0)
    True
    """

    def draw(self, shape, dtype):
        return truncated_normal_array(shape, self.generator().next_seed(), self.mean,
                                      self.stddev, _float("truncated_normal_initializer", dtype))


class RandomUniform(_Seeded):
    """U(minval, maxval), maxval defaulting to 1 for floats, as in TensorFlow; ints in
    [minval, maxval) need maxval.

    >>> w = RandomUniform(-0.5, 0.5, seed=2)((100,))
    >>> bool(w.min() >= -0.5 and w.max() < 0.5)
    True
    """

    def __init__(self, minval=0, maxval=None, seed=None, dtype=dtypes.float32):
        super().__init__(seed, dtype)
        self.minval, self.maxval = minval, maxval

    def draw(self, shape, dtype):
        if dtype.kind in "iu":
            if self.maxval is None:
                raise GraphError(f"random_uniform_initializer: Must specify maxval for integer "
                                 f"dtype {dtype}")
            from graph.random_ops import _uniform_ints

            return _uniform_ints(shape, self.generator().next_seed(), int(self.minval),
                                 int(self.maxval), dtype)
        high = 1.0 if self.maxval is None else self.maxval
        return framework_init.uniform(shape, self.minval, high,
                                      dtype=_float("random_uniform_initializer", dtype),
                                      generator=self.generator())

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


def _fans(shape: tuple) -> tuple[float, float]:
    """TensorFlow's (fan_in, fan_out) of a (..., in, out) weight."""
    if not shape:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    receptive_field = math.prod(shape[:-2])
    return float(shape[-2] * receptive_field), float(shape[-1] * receptive_field)


class VarianceScaling(_Seeded):
    """Values whose variance is scale / fan, fan chosen by `mode` ("fan_in", "fan_out",
    "fan_avg"), drawn from `distribution`: "truncated_normal" (the default; "normal" means
    it too, as in TensorFlow 1), "untruncated_normal" or "uniform".

    >>> w = VarianceScaling(2.0, "fan_in", "uniform", seed=1)((50, 10))
    >>> bool(abs(w).max() <= math.sqrt(3 * 2.0 / 50))
    True
    """

    _DISTRIBUTIONS = ("normal", "truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 dtype=dtypes.float32):
        super().__init__(seed, dtype)
        if not isinstance(scale, (int, float)) or isinstance(scale, bool) or scale <= 0:
            raise GraphError(f"variance_scaling_initializer: scale must be a positive number, "
                             f"got {scale!r}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise GraphError(f"variance_scaling_initializer: mode must be 'fan_in', 'fan_out' "
                             f"or 'fan_avg', got {mode!r}")
        if distribution not in self._DISTRIBUTIONS:
            raise GraphError(f"variance_scaling_initializer: distribution must be one of "
                             f"{', '.join(self._DISTRIBUTIONS)}; got {distribution!r}")
        self.scale, self.mode, self.distribution = float(scale), mode, distribution

    def draw(self, shape, dtype):
        dtype = _float("variance_scaling_initializer", dtype)
        fan_in, fan_out = _fans(shape)
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}
        scale = self.scale / max(1.0, fan[self.mode])
        if self.distribution in ("normal", "truncated_normal"):
            # The stddev of a unit normal truncated at 2 is 0.8796...: scaled up to make up.
            stddev = math.sqrt(scale) / 0.87962566103423978
            return truncated_normal_array(shape, self.generator().next_seed(), 0.0, stddev,
                                          dtype)
        if self.distribution == "untruncated_normal":
            return framework_init.normal(shape, 0.0, math.sqrt(scale), dtype=dtype,
                                         generator=self.generator())
        limit = math.sqrt(3.0 * scale)
        return framework_init.uniform(shape, -limit, limit, dtype=dtype,
                                      generator=self.generator())

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                **super().get_config()}


def _eager_layout(shape) -> tuple:
    """TensorFlow's (..., in, out) weight shape in eager's (out, in, ...) order."""
    return (shape[-1], shape[-2]) + shape[:-2]


def _from_eager_layout(array: np.ndarray) -> np.ndarray:
    """Back from (out, in, ...) to (..., in, out)."""
    rank = array.ndim
    return np.ascontiguousarray(np.transpose(array, tuple(range(2, rank)) + (1, 0)))


class GlorotUniform(_Seeded):
    """U(-b, b) with b = sqrt(6 / (fan_in + fan_out)); fans as TensorFlow computes them.

    The default initializer of dense and conv2d kernels, and of get_variable's float
    variables. A weight of rank 2 or more is drawn in eager's layout, as eager's
    `xavier_uniform_` draws it; a vector or scalar uses TensorFlow's fans (its length, or 1).

    >>> w = GlorotUniform(seed=1)((30, 20))
    >>> w.shape, bool(abs(w).max() <= np.sqrt(6 / 50))
    ((30, 20), True)
    """

    _draw = staticmethod(framework_init.xavier_uniform)

    def draw(self, shape, dtype):
        dtype = _float("glorot initialization", dtype)
        if len(shape) < 2:  # a bias or a scalar: TensorFlow's fans, no layout to match
            fan_in, fan_out = _fans(shape)
            return self._draw_flat(shape, dtype, 2.0 / (fan_in + fan_out))
        # TensorFlow's fans for (..., in, out): receptive field * in and receptive field * out,
        # the same numbers framework.init computes for the eager layout.
        values = self._draw(_eager_layout(shape), dtype=dtype, generator=self.generator())
        return _from_eager_layout(values)

    def _draw_flat(self, shape, dtype, variance):
        limit = math.sqrt(3.0 * variance)
        return framework_init.uniform(shape, -limit, limit, dtype=dtype,
                                      generator=self.generator())


class GlorotNormal(GlorotUniform):
    """N(0, 2 / (fan_in + fan_out)) (not truncated, unlike TensorFlow's: eager's draw).

    >>> GlorotNormal(seed=1)((3, 3, 1, 8)).shape
    (3, 3, 1, 8)
    """

    _draw = staticmethod(framework_init.xavier_normal)

    def _draw_flat(self, shape, dtype, variance):
        return framework_init.normal(shape, 0.0, math.sqrt(variance), dtype=dtype,
                                     generator=self.generator())


# TensorFlow 1's names: the classes themselves, so both `initializer=tf.zeros_initializer()`
# and `initializer=tf.zeros_initializer` (get_variable makes the instance) work.
zeros_initializer = Zeros
ones_initializer = Ones
constant_initializer = Constant
random_normal_initializer = RandomNormal
random_uniform_initializer = RandomUniform
truncated_normal_initializer = TruncatedNormal
variance_scaling_initializer = VarianceScaling
glorot_uniform_initializer = GlorotUniform
glorot_normal_initializer = GlorotNormal

# tf.initializers' short names.
zeros, ones, constant = Zeros, Ones, Constant
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
variance_scaling, glorot_uniform, glorot_normal = VarianceScaling, GlorotUniform, GlorotNormal


def he_normal(seed=None):
    """Truncated normal with variance 2 / fan_in (He et al.)."""
    return VarianceScaling(2.0, "fan_in", "truncated_normal", seed)


def he_uniform(seed=None):
    """Uniform with variance 2 / fan_in."""
    return VarianceScaling(2.0, "fan_in", "uniform", seed)


def lecun_normal(seed=None):
    """Truncated normal with variance 1 / fan_in (LeCun)."""
    return VarianceScaling(1.0, "fan_in", "truncated_normal", seed)


def lecun_uniform(seed=None):
    """Uniform with variance 1 / fan_in."""
    return VarianceScaling(1.0, "fan_in", "uniform", seed)


def global_variables():
    """One op that runs every global variable's initializer (tf.initializers.global_variables)."""
    from graph.variables import global_variables_initializer

    return global_variables_initializer()


def local_variables():
    """One op that runs every local variable's initializer."""
    from graph.variables import local_variables_initializer

    return local_variables_initializer()


def variables(var_list, name="init"):
    """One op that runs the initializers of `var_list`."""
    from graph.variables import variables_initializer

    return variables_initializer(var_list, name=name)
