"""RMSprop and Adagrad: per-coordinate step sizes from running squared gradients.

The updates follow PyTorch's single-tensor formulas operation by operation, in the parameter's
dtype (hyper-parameters rounded to it), writing the parameter and its state in place: on the
host with NumPy, on a GPU with the same operations as ops there, so both give the same values.
"""

from __future__ import annotations

import numpy as np

from eager.optim.optimizer import (
    Optimizer,
    _check_number,
    bump_version,
    device_gradient,
    on_device,
    state_beside,
    state_view,
    state_zeros,
    write_on_device,
)
from eager.tensor import Tensor
from framework.ops import F

__all__ = ["Adagrad", "RMSprop"]


def _writable(tensor: Tensor) -> np.ndarray:
    """A state tensor's buffer, made writable and contiguous (a loaded one may be neither)."""
    return state_view(tensor).reshape(tensor.shape)


class RMSprop(Optimizer):
    """RMSprop (Hinton), `torch.optim.RMSprop`'s algorithm, arguments and defaults.

    For each parameter p with gradient g (v, b and a start at zero)::

        g = -g                                         if maximize
        g = g + weight_decay * p                       if weight_decay != 0
        v = alpha * v + (1 - alpha) * g * g
        a = a + (1 - alpha) * (g - a); d = sqrt(v - a * a) + eps   if centered
        d = sqrt(v) + eps                                           otherwise
        b = momentum * b + g / d; p = p - lr * b       if momentum > 0
        p = p - lr * g / d                             otherwise

    >>> import eager
    >>> w = eager.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = RMSprop([w], lr=0.01)
    >>> (w * w).sum().backward(); opt.step()
    >>> [round(v, 4) for v in w.tolist()]  # the first step moves each weight by lr / sqrt(0.01)
    [0.9, -1.9]
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, *,
                 maximize: bool = False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize)
        self._check_group(defaults)
        super().__init__(params, defaults)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        _check_number(group, "eps", "epsilon value")
        _check_number(group, "alpha", "alpha value")
        _check_number(group, "momentum", "momentum value")

    updates_on_device = True

    def _update_group(self, group: dict) -> None:
        for param in group["params"]:
            if param.grad is None:
                continue
            value = param._array
            scalar = value.dtype.type
            alpha, momentum = scalar(group["alpha"]), group["momentum"]
            state = self.state[param]
            if not state:
                state["step"] = Tensor(np.zeros((), np.float32))
                state["square_avg"] = state_zeros(value)
            if momentum > 0 and "momentum_buffer" not in state:
                state["momentum_buffer"] = state_zeros(value)
            if group["centered"] and "grad_avg" not in state:
                state["grad_avg"] = state_zeros(value)
            for key in ("square_avg", "momentum_buffer", "grad_avg"):
                if key in state:  # where the model moved since the last step, state follows
                    state_beside(state, key, value)
            state["step"]._array[...] += 1
            if on_device(value):
                self._update_on_device(param, group, state)
                continue
            written = [state["step"], state["square_avg"], param]
            grad = np.asarray(self._gradient(param), value.dtype)
            if group["maximize"]:
                grad = -grad
            if group["weight_decay"] != 0:
                grad = grad + scalar(group["weight_decay"]) * value
            square_avg = _writable(state["square_avg"])
            square_avg *= alpha
            square_avg += scalar(1 - group["alpha"]) * grad * grad
            if group["centered"]:
                grad_avg = _writable(state["grad_avg"])
                grad_avg += scalar(1 - group["alpha"]) * (grad - grad_avg)
                written.append(state["grad_avg"])
                denominator = np.sqrt(square_avg - grad_avg * grad_avg)
            else:
                denominator = np.sqrt(square_avg)
            denominator += scalar(group["eps"])
            if momentum > 0:
                buffer = _writable(state["momentum_buffer"])
                buffer *= scalar(momentum)
                buffer += grad / denominator
                written.append(state["momentum_buffer"])
                value -= scalar(group["lr"]) * buffer
            else:
                value -= scalar(group["lr"]) * (grad / denominator)
            for tensor in written:
                bump_version(tensor)

    def _update_on_device(self, param: Tensor, group: dict, state: dict) -> None:
        """The host update's operations, in its order, as ops on the parameter's GPU, where
        the state stays (the ops round each Python number to the parameter's dtype, as
        `scalar` does on the host)."""
        value = param._array
        alpha, momentum = group["alpha"], group["momentum"]
        g = device_gradient(param, bool(group["maximize"]))
        if group["weight_decay"] != 0:
            g = F.add(g, F.mul(value, group["weight_decay"]))
        square_avg = state["square_avg"]
        v = F.add(F.mul(square_avg._array, alpha), F.mul(F.mul(g, 1 - alpha), g))
        write_on_device(square_avg, v)
        written = [state["step"], square_avg, param]
        if group["centered"]:
            grad_avg = state["grad_avg"]
            average = F.add(grad_avg._array, F.mul(F.sub(g, grad_avg._array), 1 - alpha))
            write_on_device(grad_avg, average)
            written.append(grad_avg)
            denominator = F.sqrt(F.sub(v, F.mul(average, average)))
        else:
            denominator = F.sqrt(v)
        denominator = F.add(denominator, group["eps"])
        if momentum > 0:
            buffer = state["momentum_buffer"]
            step = F.add(F.mul(buffer._array, momentum), F.div(g, denominator))
            write_on_device(buffer, step)
            written.append(buffer)
        else:
            step = F.div(g, denominator)
        write_on_device(param, F.sub(value, F.mul(step, group["lr"])))
        for tensor in written:
            bump_version(tensor)


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.), `torch.optim.Adagrad`'s algorithm, arguments and defaults.

    For each parameter p with gradient g at step t = 1, 2, ... (s starts at
    initial_accumulator_value)::

        g = -g                                         if maximize
        g = g + weight_decay * p                       if weight_decay != 0
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g
        p = p - clr * g / (sqrt(s) + eps)

    >>> import eager
    >>> w = eager.tensor([1.0, -2.0], requires_grad=True)
    >>> opt = Adagrad([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step()
    >>> [round(v, 4) for v in w.tolist()]  # the first step moves each weight by lr
    [0.9, -1.9]
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, *,
                 maximize: bool = False):
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps,
                        maximize=maximize)
        self._check_group(defaults)
        super().__init__(params, defaults)
        for group in self.param_groups:  # PyTorch creates the state with the optimizer
            for param in group["params"]:
                self.state[param]["step"] = Tensor(np.zeros((), np.float32))
                self.state[param]["sum"] = state_zeros(param._array,
                                                       group["initial_accumulator_value"])

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        _check_number(group, "lr_decay", "lr_decay value")
        _check_number(group, "initial_accumulator_value", "initial_accumulator_value")
        _check_number(group, "eps", "epsilon value")

    updates_on_device = True

    def _update_group(self, group: dict) -> None:
        for param in group["params"]:
            if param.grad is None:
                continue
            value = param._array
            scalar = value.dtype.type
            state = self.state[param]
            if "sum" not in state:  # a parameter group added after construction
                state["step"] = Tensor(np.zeros((), np.float32))
                state["sum"] = state_zeros(value, group["initial_accumulator_value"])
            # Made with the optimizer: where the model moved since, the sum follows it.
            total_tensor = state_beside(state, "sum", value)
            state["step"]._array[...] += 1
            step = float(state["step"]._array)
            clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
            if on_device(value):  # the same operations, as ops on the parameter's GPU
                g = device_gradient(param, bool(group["maximize"]))
                if group["weight_decay"] != 0:
                    g = F.add(g, F.mul(value, group["weight_decay"]))
                total = F.add(total_tensor._array, F.mul(g, g))
                write_on_device(total_tensor, total)
                direction = F.div(g, F.add(F.sqrt(total), group["eps"]))
                write_on_device(param, F.sub(value, F.mul(direction, clr)))
            else:
                grad = np.asarray(self._gradient(param), value.dtype)
                if group["maximize"]:
                    grad = -grad
                if group["weight_decay"] != 0:
                    grad = grad + scalar(group["weight_decay"]) * value
                total = _writable(total_tensor)
                total += grad * grad
                value -= scalar(clr) * (grad / (np.sqrt(total) + scalar(group["eps"])))
            for tensor in (state["step"], total_tensor, param):
                bump_version(tensor)
