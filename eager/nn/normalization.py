"""Normalization layers: LayerNorm, BatchNorm1d and BatchNorm2d."""

from __future__ import annotations

import numpy as np

from eager.autograd import no_grad
from eager.creation import tensor
from eager.nn import functional, init
from eager.nn.layers import _empty_parameter, _float_dtype, _size
from eager.nn.module import Module
from eager.tensor import Tensor
from framework import dtypes
from framework.errors import ArgumentError, ShapeError


class LayerNorm(Module):
    """Normalize over the trailing `normalized_shape` dims, then apply an elementwise affine
    map (weight starts at 1, bias at 0).

    >>> import eager
    >>> norm = LayerNorm(4)
    >>> norm
    LayerNorm((4,), eps=1e-05, elementwise_affine=True)
    >>> y = norm(eager.arange(8.0).reshape(2, 4))
    >>> [round(v, 4) for v in y.mean(-1).tolist()]
    [0.0, 0.0]
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, dtype=None):
        super().__init__()
        dtype = _float_dtype(dtype)
        shape = functional._normalized_shape(normalized_shape)
        for size in shape:
            _size("LayerNorm", "each normalized_shape entry", size)
        self.normalized_shape = shape
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = _empty_parameter(shape, dtype)
            if bias:
                self.bias = _empty_parameter(shape, dtype)
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input):
        return functional.layer_norm(input, self.normalized_shape, self.weight, self.bias,
                                     self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class _BatchNorm(Module):
    """What BatchNorm1d and BatchNorm2d share; they differ in the input ranks they accept."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, dtype=None):
        super().__init__()
        dtype = _float_dtype(dtype)
        name = type(self).__name__
        self.num_features = _size(name, "num_features", num_features)
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ArgumentError(f"{name}: momentum must be in [0, 1] or None (a cumulative "
                                f"average), got {momentum!r}")
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = _empty_parameter((num_features,), dtype)
            self.bias = _empty_parameter((num_features,), dtype)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype)))
            self.register_buffer("num_batches_tracked", tensor(0, dtype=dtypes.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def _check_input_dim(self, input) -> None:
        raise NotImplementedError

    def forward(self, input):
        self._check_input_dim(input)
        if input.shape[1] != self.num_features:
            raise ShapeError(f"{type(self).__name__}: expected {self.num_features} channels "
                             f"(dim 1), got input of shape {input.shape}")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:  # a cumulative moving average
                factor = 1.0 / self.num_batches_tracked.item()
        use_batch_stats = self.training or self.running_mean is None
        # In training without tracking, no running statistics are given to update.
        keep_running = not self.training or self.track_running_stats
        return functional.batch_norm(
            input, self.running_mean if keep_running else None,
            self.running_var if keep_running else None, self.weight, self.bias,
            use_batch_stats, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) inputs over the batch (and length) axes.

    Training mode normalizes with the batch's statistics and updates `running_mean` and
    `running_var` (unbiased) by `momentum`; eval mode normalizes with the running statistics.

    >>> import eager
    >>> norm = BatchNorm1d(2)
    >>> _ = norm(eager.tensor([[0.0, 1.0], [2.0, 5.0]]))
    >>> norm.running_mean.tolist(), norm.num_batches_tracked.item()
    ([0.10000000149011612, 0.30000001192092896], 1)
    """

    def _check_input_dim(self, input) -> None:
        if input.ndim not in (2, 3):
            raise ShapeError(f"BatchNorm1d: expected 2D or 3D input (got {input.ndim}D input "
                             f"of shape {input.shape})")


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) inputs, per channel over N, H and W.

    >>> import eager
    >>> BatchNorm2d(3)(eager.randn(4, 3, 2, 2)).shape
    (4, 3, 2, 2)
    """

    def _check_input_dim(self, input) -> None:
        if input.ndim != 4:
            raise ShapeError(f"BatchNorm2d: expected 4D input (got {input.ndim}D input of "
                             f"shape {input.shape})")
