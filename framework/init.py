"""Seeded initializers: NumPy arrays of initial weights, drawn from a `Generator`.

Both front-ends build their parameters with these functions, so a model seeded with
`framework.ops.random.manual_seed(s)` starts from the same weights, eager or graph. Each random
initializer takes exactly one seed from its generator (`generator=`, default the module's
default generator); the constant ones take none. Names and formulas follow `torch.nn.init`,
returning new arrays instead of filling tensors in place.

Fans follow PyTorch's convention for weight layouts: a Linear weight is (out, in), a
convolution weight is (out, in / groups, *kernel), so

    fan_in  = shape[1] * prod(shape[2:])        fan_out = shape[0] * prod(shape[2:])

>>> from framework.ops.random import Generator
>>> w = kaiming_uniform((64, 32), generator=Generator(0))
>>> w.shape, w.dtype, bool(abs(w).max() <= math.sqrt(2) * math.sqrt(3 / 32))
((64, 32), dtype('float32'), True)
"""

from __future__ import annotations

import math

import numpy as np

from framework import dtypes
from framework.errors import ArgumentError, ShapeError
from framework.ops import random
from framework.ops.random import Generator
from framework.shapes import as_shape, size_of

__all__ = [
    "calculate_gain", "fan_in_and_fan_out", "zeros", "ones", "constant", "uniform", "normal",
    "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal",
]

_LINEAR_GAIN = ("linear", "identity", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                "conv_transpose2d", "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The standard deviation gain PyTorch recommends after `nonlinearity`.

    linear / conv / sigmoid: 1; tanh: 5/3; relu: sqrt(2); leaky_relu with negative slope `param`
    (default 0.01): sqrt(2 / (1 + param**2)); selu: 3/4.

    >>> calculate_gain("relu") == math.sqrt(2), calculate_gain("tanh")
    (True, 1.6666666666666667)
    """
    if nonlinearity in _LINEAR_GAIN:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        return 3.0 / 4.0
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ArgumentError(f"calculate_gain: leaky_relu's negative slope must be a "
                                f"number, got {param!r}")
        return math.sqrt(2.0 / (1.0 + slope**2))
    known = ", ".join(_LINEAR_GAIN + ("tanh", "relu", "leaky_relu", "selu"))
    raise ArgumentError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}; known: {known}")


def fan_in_and_fan_out(shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight shaped (out, in) or (out, in / groups, *kernel).

    >>> fan_in_and_fan_out((20, 10)), fan_in_and_fan_out((16, 3, 5, 5))
    ((10, 20), (75, 400))
    """
    shape = _known_shape("fan_in_and_fan_out", shape)
    if len(shape) < 2:
        raise ShapeError(f"fan_in_and_fan_out: a weight needs at least 2 dimensions (out, in, "
                         f"...) to have fans, got shape {shape}")
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def zeros(shape, dtype=dtypes.float32) -> np.ndarray:
    """An array of zeros; draws no seed.

    >>> zeros((2,))
    array([0., 0.], dtype=float32)
    """
    return constant(shape, 0.0, dtype)


def ones(shape, dtype=dtypes.float32) -> np.ndarray:
    """An array of ones; draws no seed.

    >>> ones((2,), dtype="float64")
    array([1., 1.])
    """
    return constant(shape, 1.0, dtype)


def constant(shape, value, dtype=dtypes.float32) -> np.ndarray:
    """An array filled with `value`; draws no seed.

    >>> constant((2,), 0.1)
    array([0.1, 0.1], dtype=float32)
    """
    return np.full(_known_shape("constant", shape), value, dtypes.as_dtype(dtype))


def uniform(shape, low=0.0, high=1.0, *, dtype=dtypes.float32, generator=None) -> np.ndarray:
    """Uniform in [low, high), one seed from `generator`.

    >>> w = uniform((3,), -0.1, 0.1, generator=Generator(1))
    >>> bool((w == uniform((3,), -0.1, 0.1, generator=Generator(1))).all())
    True
    """
    return _generator(generator).uniform(_known_shape("uniform", shape), low, high, dtype)


def normal(shape, mean=0.0, std=1.0, *, dtype=dtypes.float32, generator=None) -> np.ndarray:
    """Normal N(mean, std**2), one seed from `generator`.

    >>> normal((2, 2), std=0.02, generator=Generator(1)).shape
    (2, 2)
    """
    return _generator(generator).normal(_known_shape("normal", shape), mean, std, dtype)


def xavier_uniform(shape, gain=1.0, *, dtype=dtypes.float32, generator=None) -> np.ndarray:
    """Glorot uniform: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)).

    >>> w = xavier_uniform((30, 20), generator=Generator(0))
    >>> bool(abs(w).max() <= math.sqrt(6 / 50))
    True
    """
    fan_in, fan_out = fan_in_and_fan_out(shape)
    bound = _scaled(gain, 6.0, fan_in + fan_out)
    return _symmetric_uniform("xavier_uniform", shape, bound, dtype, generator)


def xavier_normal(shape, gain=1.0, *, dtype=dtypes.float32, generator=None) -> np.ndarray:
    """Glorot normal: N(0, std**2) with std = gain * sqrt(2 / (fan_in + fan_out)).

    >>> xavier_normal((30, 20), gain=calculate_gain("tanh"), generator=Generator(0)).shape
    (30, 20)
    """
    fan_in, fan_out = fan_in_and_fan_out(shape)
    std = _scaled(gain, 2.0, fan_in + fan_out)
    return _centred_normal("xavier_normal", shape, std, dtype, generator)


def kaiming_uniform(shape, a=0.0, mode="fan_in", nonlinearity="leaky_relu", *,
                    dtype=dtypes.float32, generator=None) -> np.ndarray:
    """He uniform: U(-b, b) with b = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a).

    `mode` picks the fan: "fan_in" keeps the forward pass's variance, "fan_out" the backward's.
    PyTorch's Linear and Conv layers use `a=math.sqrt(5)` for their weights.

    >>> w = kaiming_uniform((8, 4, 3, 3), mode="fan_out", nonlinearity="relu",
    ...                     generator=Generator(0))
    >>> bool(abs(w).max() <= math.sqrt(2) * math.sqrt(3 / (8 * 9)))
    True
    """
    fan = _fan("kaiming_uniform", shape, mode)
    bound = _scaled(calculate_gain(nonlinearity, a), 3.0, fan)
    return _symmetric_uniform("kaiming_uniform", shape, bound, dtype, generator)


def kaiming_normal(shape, a=0.0, mode="fan_in", nonlinearity="leaky_relu", *,
                   dtype=dtypes.float32, generator=None) -> np.ndarray:
    """He normal: N(0, std**2) with std = gain / sqrt(fan), gain = calculate_gain(nonlinearity, a).

    >>> kaiming_normal((16, 8), nonlinearity="relu", generator=Generator(0)).dtype
    dtype('float32')
    """
    fan = _fan("kaiming_normal", shape, mode)
    std = _scaled(calculate_gain(nonlinearity, a), 1.0, fan)
    return _centred_normal("kaiming_normal", shape, std, dtype, generator)


# ---------------------------------------------------------------------------------------------


def _generator(generator) -> Generator:
    if generator is None:
        return random.default_generator
    if not isinstance(generator, Generator):
        raise ArgumentError(f"generator must be a framework.ops.random.Generator, got "
                            f"{type(generator).__name__}")
    return generator


def _known_shape(function: str, shape) -> tuple:
    shape = as_shape(shape)
    if size_of(shape) is None:
        raise ShapeError(f"{function}: an initial value needs a fully known shape, got {shape}")
    return shape


def _fan(function: str, shape, mode: str) -> int:
    fan_in, fan_out = fan_in_and_fan_out(shape)
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    raise ArgumentError(f"{function}: mode must be 'fan_in' or 'fan_out', got {mode!r}")


def _scaled(gain, numerator: float, fan: int) -> float:
    """gain * sqrt(numerator / fan); a zero fan only occurs for zero-element weights."""
    return float(gain) * math.sqrt(numerator / fan) if fan else 0.0


def _symmetric_uniform(function, shape, bound, dtype, generator) -> np.ndarray:
    shape = _known_shape(function, shape)
    # Always one seed, even when nothing is drawn: later parameters get the same seeds
    # whatever the size of this one.
    seed = _generator(generator).next_seed()
    bound = abs(bound)
    if size_of(shape) == 0 or bound == 0.0:
        return zeros(shape, dtype)
    return random.uniform(shape, seed, -bound, bound, dtype)


def _centred_normal(function, shape, std, dtype, generator) -> np.ndarray:
    shape = _known_shape(function, shape)
    seed = _generator(generator).next_seed()
    return random.normal(shape, seed, 0.0, abs(std), dtype)
