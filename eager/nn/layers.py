"""Stateless and simple layers: Identity, Linear, Conv2d, pooling, Flatten, activations,
Dropout and Embedding.

Weights are created empty and filled by `reset_parameters()` with `eager.nn.init`, in PyTorch's
order (weight, then bias), so a seeded model gets the same initial values as PyTorch's recipe
drawn from the shared generator.
"""

from __future__ import annotations

import math

import numpy as np

from eager.autograd import no_grad
from eager.nn import functional, init
from eager.nn.module import Module
from eager.nn.parameter import Parameter
from framework import dtypes
from framework.errors import ArgumentError
from framework.init import fan_in_and_fan_out
from framework.ops.conv import as_pair


def _float_dtype(dtype) -> np.dtype:
    dtype = dtypes.float32 if dtype is None else dtypes.as_dtype(dtype)
    if dtype.kind != "f":
        raise ArgumentError(f"layer parameters must be floating point, got dtype {dtype}")
    return dtype


def _empty_parameter(shape, dtype) -> Parameter:
    return Parameter(np.empty(shape, dtype))


def _size(layer: str, what: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ArgumentError(f"{layer}: {what} must be an int >= {minimum}, got {value!r}")
    return value


def _fan_in_bias_bound(weight) -> float:
    """PyTorch's bias bound 1 / sqrt(fan_in) (0 for an empty weight)."""
    fan_in, _ = fan_in_and_fan_out(weight.shape)
    return 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. for a removed layer).

    >>> import eager
    >>> Identity()(eager.ones(2)).tolist()
    [1.0, 1.0]
    """

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """y = x @ weight.T + bias, weight shaped (out_features, in_features).

    Initialized as PyTorch does: weight kaiming_uniform with a = sqrt(5), i.e. U(-b, b) with
    b = 1 / sqrt(in_features), and bias U(-1 / sqrt(in_features), 1 / sqrt(in_features)).

    >>> import eager
    >>> layer = Linear(3, 2)
    >>> layer
    Linear(in_features=3, out_features=2, bias=True)
    >>> layer.weight.shape, layer(eager.ones(5, 3)).shape
    ((2, 3), (5, 2))
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None):
        super().__init__()
        dtype = _float_dtype(dtype)
        self.in_features = _size("Linear", "in_features", in_features, 0)
        self.out_features = _size("Linear", "out_features", out_features, 0)
        self.weight = _empty_parameter((out_features, in_features), dtype)
        if bias:
            self.bias = _empty_parameter((out_features,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = _fan_in_bias_bound(self.weight)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        return functional.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Conv2d(Module):
    """2-D convolution over NCHW images: weight (out, in / groups, kH, kW), bias (out,).

    Initialized like Linear, with fan_in = in_channels / groups * kH * kW. `padding` may be an
    int, a pair, "valid" or "same".

    >>> import eager
    >>> conv = Conv2d(3, 8, kernel_size=3, padding=1)
    >>> conv
    Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
    >>> conv(eager.ones(2, 3, 5, 5)).shape
    (2, 8, 5, 5)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 dtype=None):
        super().__init__()
        dtype = _float_dtype(dtype)
        for what, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("groups", groups)):
            _size("Conv2d", what, value)
        if in_channels % groups or out_channels % groups:
            raise ArgumentError(f"Conv2d: in_channels ({in_channels}) and out_channels "
                                f"({out_channels}) must both be divisible by groups ({groups})")
        if padding_mode != "zeros":
            raise ArgumentError(f"Conv2d: only padding_mode='zeros' is supported, got "
                                f"{padding_mode!r}")
        if isinstance(padding, str):
            if padding not in ("valid", "same"):
                raise ArgumentError(f"Conv2d: invalid padding string {padding!r}; expected "
                                    "'valid' or 'same'")
            if padding == "same" and stride not in (1, (1, 1)):
                raise ArgumentError("Conv2d: padding='same' is not supported for strided "
                                    "convolutions")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = as_pair(kernel_size, "kernel_size", "Conv2d", 1)
        self.stride = as_pair(stride, "stride", "Conv2d", 1)
        self.padding = padding if isinstance(padding, str) else as_pair(padding, "padding",
                                                                          "Conv2d", 0)
        self.dilation = as_pair(dilation, "dilation", "Conv2d", 1)
        self.padding_mode = padding_mode
        self.weight = _empty_parameter(
            (out_channels, in_channels // groups) + self.kernel_size, dtype)
        if bias:
            self.bias = _empty_parameter((out_channels,), dtype)
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = _fan_in_bias_bound(self.weight)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        return functional.conv2d(input, self.weight, self.bias, self.stride, self.padding,
                                 self.dilation, self.groups)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class MaxPool2d(Module):
    """The maximum of each kernel_size window (stride defaults to kernel_size).

    >>> import eager
    >>> MaxPool2d(2)(eager.arange(16.0).reshape(1, 1, 4, 4)).tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    """

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def forward(self, input):
        return functional.max_pool2d(input, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(Module):
    """The mean of each kernel_size window (stride defaults to kernel_size; padding counts as
    zeros in the mean, PyTorch's default count_include_pad=True).

    >>> import eager
    >>> AvgPool2d(2)(eager.arange(16.0).reshape(1, 1, 4, 4)).tolist()
    [[[[2.5, 4.5], [10.5, 12.5]]]]
    """

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def forward(self, input):
        return functional.avg_pool2d(input, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class Flatten(Module):
    """Merge dims start_dim..end_dim (by default all but the batch dim).

    >>> import eager
    >>> Flatten()(eager.zeros(2, 3, 4)).shape
    (2, 12)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        return functional.flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class ReLU(Module):
    """max(x, 0); `inplace=True` overwrites the input.

    >>> import eager
    >>> ReLU()(eager.tensor([-1.0, 1.0])).tolist()
    [0.0, 1.0]
    """

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return functional.relu(input, self.inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Tanh(Module):
    """Elementwise tanh."""

    def forward(self, input):
        return functional.tanh(input)


class Sigmoid(Module):
    """Elementwise logistic sigmoid."""

    def forward(self, input):
        return functional.sigmoid(input)


class GELU(Module):
    """x * Phi(x) (exact, with erf), or its tanh approximation with approximate="tanh".

    >>> GELU(approximate="tanh")
    GELU(approximate='tanh')
    """

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ArgumentError(f"GELU: approximate must be 'none' or 'tanh', got "
                                f"{approximate!r}")
        self.approximate = approximate

    def forward(self, input):
        return functional.gelu(input, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softmax(Module):
    """softmax along `dim`."""

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return functional.softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log_softmax along `dim`."""

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return functional.log_softmax(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Dropout(Module):
    """In training mode, zero each element with probability p and scale the rest by
    1 / (1 - p); in eval mode, pass the input through.

    Each call takes a fresh seed from the default generator, so `eager.manual_seed` makes the
    masks reproducible.

    >>> import eager
    >>> drop = Dropout(0.5)
    >>> sorted(set(drop(eager.ones(100)).tolist()))
    [0.0, 2.0]
    >>> drop.eval()(eager.ones(2)).tolist()
    [1.0, 1.0]
    """

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ArgumentError(f"dropout probability has to be between 0 and 1, but got {p!r}")
        self.p, self.inplace = p, inplace

    def forward(self, input):
        return functional.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Embedding(Module):
    """A lookup table: row i of `weight` (num_embeddings, embedding_dim) for index i.

    The weight starts as N(0, 1), as in PyTorch.

    >>> import eager
    >>> table = Embedding(10, 3)
    >>> table(eager.tensor([[1, 2], [4, 9]])).shape
    (2, 2, 3)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, dtype=None):
        super().__init__()
        dtype = _float_dtype(dtype)
        self.num_embeddings = _size("Embedding", "num_embeddings", num_embeddings)
        self.embedding_dim = _size("Embedding", "embedding_dim", embedding_dim)
        self.weight = _empty_parameter((num_embeddings, embedding_dim), dtype)
        self.reset_parameters()

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True) -> Embedding:
        """An Embedding holding a copy of the 2-D tensor `embeddings` (frozen by default)."""
        if embeddings.ndim != 2:
            raise ArgumentError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape "
                                f"{embeddings.shape}")
        rows, dim = embeddings.shape
        table = cls(rows, dim, dtype=embeddings.dtype)
        with no_grad():
            table.weight.copy_(embeddings)
        table.weight.requires_grad_(not freeze)
        return table

    def reset_parameters(self) -> None:
        init.normal_(self.weight)

    def forward(self, input):
        return functional.embedding(input, self.weight)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"
