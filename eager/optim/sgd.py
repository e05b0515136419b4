"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

import numpy as np

from eager.optim._kernels import FlatParameter, flat_gradient, sgd_update, unused
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

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, `torch.optim.SGD`'s algorithm and arguments.

    For each parameter p with gradient g, at step t (``b`` is the momentum buffer)::

        g = -g                                  if maximize
        g = g + weight_decay * p                if weight_decay != 0
        b = g  (first step),  b = momentum * b + (1 - dampening) * g  (later steps)
        g = g + momentum * b  if nesterov,  else  g = b              if momentum != 0
        p = p - lr * g

    >>> import eager
    >>> w = eager.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.zero_grad()
    ...     (w * w).sum().backward()  # gradient 2 w
    ...     opt.step()
    >>> [round(v, 4) for v in w.tolist()]
    [0.46, -0.92]
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        self._check_group(defaults)
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        _check_number(group, "momentum", "momentum value")
        _check_number(group, "dampening", "dampening value")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening "
                             f"(got momentum={group['momentum']}, "
                             f"dampening={group['dampening']})")

    updates_on_device = True

    def _update_group(self, group: dict) -> None:
        momentum = group["momentum"]
        hyper_values = (group["lr"], momentum, 1 - group["dampening"], group["weight_decay"])
        hypers = {}  # per dtype: the hyper-parameters rounded to the parameter's dtype
        for param in group["params"]:
            if param.grad is None:
                continue
            value = param._array
            if on_device(value):
                self._update_on_device(param, group)
                continue
            hyper = hypers.get(value.dtype)
            if hyper is None:
                hyper = hypers[value.dtype] = np.array(hyper_values, value.dtype)
            grad = flat_gradient(self._gradient(param), value.dtype)
            buffer, first_step = None, False
            if momentum != 0:
                state = self.state[param]
                buffer = state.get("momentum_buffer")
                first_step = buffer is None
                if first_step:
                    buffer = state_zeros(value)
                    state["momentum_buffer"] = buffer
                buffer_view = state_view(buffer)
            else:
                buffer_view = unused(value.dtype)
            work = FlatParameter(value)
            sgd_update(work.work, grad, buffer_view, hyper, bool(group["nesterov"]),
                       bool(group["maximize"]), first_step)
            work.write_back()
            bump_version(param)
            if buffer is not None:
                bump_version(buffer)

    def _update_on_device(self, param: Tensor, group: dict) -> None:
        """The step of `sgd_update`, as ops on the parameter's GPU (state stays there too)."""
        momentum, lr = group["momentum"], group["lr"]
        value = param._array
        g = device_gradient(param, bool(group["maximize"]))
        if group["weight_decay"] != 0:
            g = F.add(g, F.mul(value, group["weight_decay"]))
        if momentum != 0:
            state = self.state[param]
            buffer = state.get("momentum_buffer")
            if buffer is None:  # the first step's buffer is the gradient itself, copied
                buffer = state["momentum_buffer"] = state_zeros(value)
                write_on_device(buffer, g)
            else:
                write_on_device(buffer, F.add(F.mul(buffer._array, momentum),
                                              F.mul(g, 1 - group["dampening"])))
                bump_version(buffer)
            g = (F.add(g, F.mul(buffer._array, momentum)) if group["nesterov"]
                 else buffer._array)
        write_on_device(param, F.sub(value, F.mul(g, lr)))
        bump_version(param)

