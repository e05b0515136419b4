"""Adam and AdamW: adaptive moments, with L2 or decoupled weight decay, and AMSGrad."""

from __future__ import annotations

import numpy as np

from eager.optim._kernels import FlatParameter, adam_update, flat_gradient, unused
from eager.optim.optimizer import (
    Optimizer,
    _check_number,
    bump_version,
    device_gradient,
    on_device,
    state_view,
    state_zeros,
    write_on_device,
)
from eager.tensor import Tensor
from framework.ops import F

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam (Kingma & Ba), `torch.optim.Adam`'s algorithm and arguments.

    For each parameter p with gradient g, at step t = 1, 2, ... (m, v start at zero)::

        g = -g                                         if maximize
        g = g + weight_decay * p                       if weight_decay != 0 (L2, coupled)
        m = m + (1 - beta1) * (g - m)                  (torch's lerp)
        v = beta2 * v + (1 - beta2) * g * g
        v_max = max(v_max, v); use v_max for v         if amsgrad
        denom = sqrt(v) / sqrt(1 - beta2**t) + eps
        p = p - lr / (1 - beta1**t) * m / denom

    The state of each parameter is ``step`` (a float32 scalar tensor, as in PyTorch),
    ``exp_avg`` (m), ``exp_avg_sq`` (v) and, with AMSGrad, ``max_exp_avg_sq``.

    >>> import eager
    >>> w = eager.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = Adam([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step()
    >>> [round(v, 4) for v in w.tolist()]  # the first step moves each weight by lr
    [0.9, -1.9]
    """

    _decoupled_weight_decay = False

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, maximize: bool = False):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize)
        self._check_group(defaults)
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        _check_number(group, "eps", "epsilon value")
        betas = group["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        for index, beta in enumerate(betas):
            _check_number({"beta": beta}, "beta", f"beta parameter at index {index}", 0.0, 1.0,
                          high_inclusive=False)

    updates_on_device = True

    def _update_group(self, group: dict) -> None:
        lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        amsgrad = bool(group["amsgrad"])
        for param in group["params"]:
            if param.grad is None:
                continue
            value = param._array
            scalar = value.dtype.type  # hyper-parameters rounded to the parameter's dtype
            state = self.state[param]
            if not state:
                # The step count stays on the CPU, as PyTorch keeps it by default.
                state["step"] = Tensor(np.zeros((), np.float32))
                state["exp_avg"] = state_zeros(value)
                state["exp_avg_sq"] = state_zeros(value)
            if amsgrad and "max_exp_avg_sq" not in state:  # also when switched on later
                state["max_exp_avg_sq"] = state_zeros(value)
            step_tensor = state["step"]
            step_tensor._array[...] += 1
            step = float(step_tensor._array)
            # Python floats (double precision) here, as in PyTorch's update.
            step_size = lr / (1 - beta1 ** step)
            bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
            lerp_weight = scalar(1 - beta1)
            if on_device(value):
                self._update_on_device(param, group, state, step_size, bias_correction2_sqrt)
                continue
            grad = flat_gradient(self._gradient(param), value.dtype)

            written = [step_tensor, state["exp_avg"], state["exp_avg_sq"], param]
            maximum = unused(value.dtype)
            if amsgrad:
                written.append(state["max_exp_avg_sq"])
                maximum = state_view(state["max_exp_avg_sq"])
            work = FlatParameter(value)
            adam_update(work.work, grad, state_view(state["exp_avg"]),
                        state_view(state["exp_avg_sq"]), maximum, amsgrad,
                        bool(group["maximize"]), scalar(weight_decay),
                        self._decoupled_weight_decay, scalar(1 - lr * weight_decay),
                        lerp_weight, scalar(1) - lerp_weight, scalar(beta2), scalar(1 - beta2),
                        scalar(bias_correction2_sqrt), scalar(eps), scalar(-step_size))
            work.write_back()
            for tensor in written:
                bump_version(tensor)


    def _update_on_device(self, param: Tensor, group: dict, state: dict, step_size: float,
                          bias_correction2_sqrt: float) -> None:
        """The step of `adam_update`, as ops on the parameter's GPU (m and v stay there)."""
        lr, weight_decay = group["lr"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        value = param._array
        g = device_gradient(param, bool(group["maximize"]))
        if weight_decay != 0:
            if self._decoupled_weight_decay:
                value = F.mul(value, 1 - lr * weight_decay)
            else:
                g = F.add(g, F.mul(value, weight_decay))
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        m = exp_avg._array
        write_on_device(exp_avg, F.add(m, F.mul(F.sub(g, m), 1 - beta1)))
        v = F.add(F.mul(exp_avg_sq._array, beta2), F.mul(F.mul(g, g), 1 - beta2))
        write_on_device(exp_avg_sq, v)
        written = [state["step"], exp_avg, exp_avg_sq, param]
        if group["amsgrad"]:
            largest = state["max_exp_avg_sq"]
            v = F.maximum(largest._array, v)
            write_on_device(largest, v)
            written.append(largest)
        denominator = F.add(F.div(F.sqrt(v), bias_correction2_sqrt), group["eps"])
        write_on_device(param, F.sub(value, F.mul(F.div(exp_avg._array, denominator),
                                                  step_size)))
        for tensor in written:
            bump_version(tensor)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), `torch.optim.AdamW`.

    Instead of adding ``weight_decay * p`` to the gradient, each step first shrinks the
    parameter, ``p = p * (1 - lr * weight_decay)``, then applies the Adam update to the raw
    gradient. The default weight decay is 1e-2.

    >>> import eager
    >>> w = eager.tensor([1.0], requires_grad=True)
    >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
    >>> w.grad = eager.zeros(1)  # no gradient signal: only the decay acts
    >>> opt.step(); w.tolist()
    [0.949999988079071]
    """

    _decoupled_weight_decay = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
