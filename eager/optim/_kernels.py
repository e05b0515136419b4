"""Fused update kernels: one pass over a parameter's buffers per step, no temporaries.

Each kernel reads and writes flat (1-d, C-contiguous) views of the parameter, its gradient and
its state. The scalars come in the parameter's dtype, so a float32 parameter is updated with
float32 arithmetic, operation by operation in the order of PyTorch's single-tensor update
(a scalar hyper-parameter is rounded to float32 first, as PyTorch's CPU kernels do). No
fast-math: LLVM may not reassociate or fuse the operations, so results do not depend on how the
loop is vectorized. NumPy's error model: a division by zero gives inf or NaN, as in PyTorch,
instead of a Python exception, which also keeps the check out of the loop so it vectorizes.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, error_model="numpy")
def sgd_update(param, grad, buffer, hyper, nesterov, maximize, first_step):
    """SGD step. `hyper` holds lr, momentum, keep (1 - dampening) and weight_decay in the
    parameter's dtype (one array: numba reads an array's type much faster than four NumPy
    scalars'); `buffer` is unused (may be empty) without momentum."""
    lr, momentum, keep, weight_decay = hyper[0], hyper[1], hyper[2], hyper[3]
    for i in range(param.size):
        g = -grad[i] if maximize else grad[i]
        if weight_decay != 0:
            g = g + weight_decay * param[i]
        if momentum != 0:
            b = g if first_step else momentum * buffer[i] + keep * g
            buffer[i] = b
            g = g + momentum * b if nesterov else b
        param[i] = param[i] - lr * g


@numba.njit(cache=True, error_model="numpy")
def adam_update(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, amsgrad, maximize,
                weight_decay, decoupled, decay_factor, lerp_weight, lerp_complement, beta2,
                one_minus_beta2, bias_correction2_sqrt, eps, negative_step_size):
    """Adam / AdamW step. m follows torch's lerp: m + w (g - m) for w < 0.5, else
    g - (g - m)(1 - w); `max_exp_avg_sq` is unused (may be empty) without AMSGrad."""
    small_weight = abs(lerp_weight) < 0.5
    for i in range(param.size):
        g = -grad[i] if maximize else grad[i]
        p = param[i]
        if weight_decay != 0:
            if decoupled:
                p = p * decay_factor
            else:
                g = g + weight_decay * p
        m = exp_avg[i]
        m = m + lerp_weight * (g - m) if small_weight else g - (g - m) * lerp_complement
        exp_avg[i] = m
        v = exp_avg_sq[i] * beta2 + one_minus_beta2 * g * g
        exp_avg_sq[i] = v
        if amsgrad:
            largest = max_exp_avg_sq[i]
            if v > largest or v != v:  # NaN propagates, as in torch.maximum
                largest = v
            max_exp_avg_sq[i] = largest
            v = largest
        denominator = np.sqrt(v) / bias_correction2_sqrt + eps
        param[i] = p + (m / denominator) * negative_step_size


def flat(array: np.ndarray) -> np.ndarray:
    """A 1-d view of a C-contiguous array (0-d included)."""
    return array.reshape(-1)


def flat_gradient(grad: np.ndarray, dtype) -> np.ndarray:
    """The gradient as a flat C-contiguous array of the parameter's dtype (a copy if needed)."""
    if grad.dtype != dtype or not grad.flags.c_contiguous:
        grad = np.array(grad, dtype=dtype, order="C")
    return grad.reshape(-1)


class FlatParameter:
    """A flat working view of a parameter's buffer; for a non-contiguous buffer, a contiguous
    copy that `write_back` copies into place after the kernel ran."""

    def __init__(self, value: np.ndarray):
        self.value = value
        self.contiguous = value.flags.c_contiguous
        self.work = flat(value) if self.contiguous else np.array(value, order="C").reshape(-1)

    def write_back(self) -> None:
        if not self.contiguous:
            self.value[...] = self.work.reshape(self.value.shape)


_EMPTY = {}


def unused(dtype) -> np.ndarray:
    """An empty array standing in for a state buffer the kernel will not touch."""
    dtype = np.dtype(dtype)
    if dtype not in _EMPTY:
        _EMPTY[dtype] = np.empty(0, dtype)
    return _EMPTY[dtype]
