"""`eager.nn.init`: PyTorch's in-place initializers, drawing from the shared seeded ones.

Each function fills an existing Tensor or Parameter in place, without recording for autograd,
and returns it. The values come from `framework.init` (one seed per random initializer, from
`generator=` or the default generator), so `eager.manual_seed(s)` fixes them, and the graph
front-end, building the same layers in the same order, starts from the same weights.

>>> import eager
>>> from eager.nn import init
>>> w = eager.empty(3, 2)
>>> _ = init.constant_(w, 0.5)
>>> w.tolist()
[[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]
"""

from __future__ import annotations

import numpy as np

from eager.autograd import no_grad
from eager.tensor import Tensor
from framework import init as framework_init
from framework.errors import ArgumentError, DTypeError, ShapeError
from framework.init import calculate_gain
from framework.ops import random as framework_random

__all__ = [
    "calculate_gain", "constant_", "eye_", "kaiming_normal_", "kaiming_uniform_", "normal_",
    "ones_", "uniform_", "xavier_normal_", "xavier_uniform_", "zeros_",
]


def _check_tensor(function: str, tensor, floating: bool = True) -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{function}: expected an eager Tensor or Parameter, got "
                        f"{type(tensor).__name__}")
    if floating and tensor.dtype.kind != "f":
        raise DTypeError(f"{function}: draws floating point values; the tensor has dtype "
                         f"{tensor.dtype}")


def _fill(tensor: Tensor, values) -> Tensor:
    with no_grad():
        tensor.copy_(values)
    return tensor


def _generator(generator):
    return framework_random.default_generator if generator is None else generator


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with values drawn uniformly from [a, b).

    >>> import eager
    >>> w = uniform_(eager.empty(100), -0.1, 0.1)
    >>> w.abs().max().item() <= 0.1
    True
    """
    _check_tensor("uniform_", tensor)
    if a > b:
        raise ArgumentError(f"uniform_: expects a <= b, got a={a!r}, b={b!r}")
    if a == b:
        # Still one seed: later initializers draw the same numbers whatever a and b are.
        _generator(generator).next_seed()
        return _fill(tensor, np.full(tensor.shape, a, tensor.dtype))
    return _fill(tensor, framework_init.uniform(tensor.shape, a, b, dtype=tensor.dtype,
                                                generator=generator))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with values drawn from N(mean, std**2).

    >>> import eager
    >>> w = normal_(eager.empty(2000), mean=1.0, std=0.1)
    >>> round(w.mean().item(), 1)
    1.0
    """
    _check_tensor("normal_", tensor)
    return _fill(tensor, framework_init.normal(tensor.shape, mean, std, dtype=tensor.dtype,
                                               generator=generator))


def constant_(tensor: Tensor, val) -> Tensor:
    """Fill with `val`."""
    _check_tensor("constant_", tensor, floating=False)
    return _fill(tensor, np.full(tensor.shape, val, tensor.dtype))


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with zeros."""
    return constant_(tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with ones."""
    return constant_(tensor, 1)


def eye_(tensor: Tensor) -> Tensor:
    """Fill a 2-D tensor with the identity (ones on the diagonal, also when not square).

    >>> import eager
    >>> eye_(eager.empty(2, 3)).tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """
    _check_tensor("eye_", tensor, floating=False)
    if tensor.ndim != 2:
        raise ShapeError(f"eye_: only 2-D tensors are supported, got shape {tensor.shape}")
    return _fill(tensor, np.eye(*tensor.shape, dtype=tensor.dtype))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot uniform: U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out)).

    >>> import eager, math
    >>> w = xavier_uniform_(eager.empty(30, 20))
    >>> w.abs().max().item() <= math.sqrt(6 / 50)
    True
    """
    _check_tensor("xavier_uniform_", tensor)
    return _fill(tensor, framework_init.xavier_uniform(tensor.shape, gain, dtype=tensor.dtype,
                                                       generator=generator))


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot normal: N(0, std**2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    _check_tensor("xavier_normal_", tensor)
    return _fill(tensor, framework_init.xavier_normal(tensor.shape, gain, dtype=tensor.dtype,
                                                      generator=generator))


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator=None) -> Tensor:
    """He uniform: U(-b, b), b = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a).

    Linear and Conv2d use it with a = sqrt(5) for their weights, as PyTorch does.

    >>> import eager, math
    >>> w = kaiming_uniform_(eager.empty(8, 4), nonlinearity="relu")
    >>> w.abs().max().item() <= math.sqrt(2) * math.sqrt(3 / 4)
    True
    """
    _check_tensor("kaiming_uniform_", tensor)
    return _fill(tensor, framework_init.kaiming_uniform(
        tensor.shape, a, mode, nonlinearity, dtype=tensor.dtype, generator=generator))


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator=None) -> Tensor:
    """He normal: N(0, std**2), std = gain / sqrt(fan)."""
    _check_tensor("kaiming_normal_", tensor)
    return _fill(tensor, framework_init.kaiming_normal(
        tensor.shape, a, mode, nonlinearity, dtype=tensor.dtype, generator=generator))
