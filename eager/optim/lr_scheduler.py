"""Learning-rate schedules: `StepLR`, `MultiStepLR`, `ExponentialLR` and `CosineAnnealingLR`,
with PyTorch's semantics.

A scheduler owns a counter, `last_epoch`, and writes each parameter group's ``lr``. Creating
one records every group's starting rate as ``initial_lr`` (the base rate) and applies the rate
for epoch 0; each `step()` moves to the next epoch. Call it after `optimizer.step()`, once per
epoch (or per batch, for a schedule counted in batches).

Rates are updated from the group's current ``lr`` (PyTorch's "chainable" form), so two
schedulers on one optimizer compose, and a rate changed by hand carries on from there.

>>> import eager
>>> from eager.optim import SGD
>>> opt = SGD([eager.ones(1, requires_grad=True)], lr=1.0)
>>> scheduler = StepLR(opt, step_size=2, gamma=0.5)
>>> rates = []
>>> for epoch in range(5):
...     rates.append(scheduler.get_last_lr()[0])
...     opt.step()
...     scheduler.step()
>>> rates
[1.0, 1.0, 0.5, 0.5, 0.25]
"""

from __future__ import annotations

import collections
import math

from eager.optim.optimizer import Optimizer
from framework.errors import ArgumentError

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR"]


class LRScheduler:
    """Base class: subclasses compute the next rates in `get_lr()` from `last_epoch`."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, int) or last_epoch < -1:
            raise ArgumentError(f"last_epoch must be an int >= -1, got {last_epoch!r}")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for index, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{index}]"
                                   " when resuming an optimizer (last_epoch != -1)")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self.step()

    def get_lr(self) -> list[float]:
        """The rates for `last_epoch`, one per parameter group."""
        raise NotImplementedError(f"{type(self).__name__} does not implement get_lr()")

    def get_last_lr(self) -> list[float]:
        """The rates the last `step()` set, one per parameter group."""
        return list(self._last_lr)

    def step(self) -> None:
        """Advance one epoch and write the new rates into the optimizer's groups."""
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr()):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict:
        """Everything but the optimizer (which saves its own state)."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        unknown = set(state_dict) - set(self.__dict__)
        if "optimizer" in state_dict or unknown:
            raise ValueError(f"state dict has keys this {type(self).__name__} does not have: "
                             f"{sorted(unknown | ({'optimizer'} & set(state_dict)))}")
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    """Multiply each group's rate by `gamma` every `step_size` epochs.

    lr(epoch) = base_lr * gamma ** (epoch // step_size)

    >>> import eager
    >>> from eager.optim import SGD
    >>> opt = SGD([eager.ones(1, requires_grad=True)], lr=0.1)
    >>> scheduler = StepLR(opt, step_size=3)
    >>> for _ in range(3):
    ...     scheduler.step()
    >>> round(opt.param_groups[0]["lr"], 6)
    0.01
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1):
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise ArgumentError(f"step_size must be a positive int, got {step_size!r}")
        if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or gamma < 0:
            raise ArgumentError(f"gamma must be a number >= 0, got {gamma!r}")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]


class CosineAnnealingLR(LRScheduler):
    """Anneal each group's rate from its base value to `eta_min` along a half cosine.

    lr(epoch) = eta_min + (base_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2

    The rate reaches `eta_min` at epoch `T_max`; past it, it rises again along the cosine
    (SGDR without restarts), as in PyTorch.

    >>> import eager
    >>> from eager.optim import SGD
    >>> opt = SGD([eager.ones(1, requires_grad=True)], lr=1.0)
    >>> scheduler = CosineAnnealingLR(opt, T_max=4, eta_min=0.0)
    >>> rates = [scheduler.get_last_lr()[0]]
    >>> for _ in range(4):
    ...     scheduler.step()
    ...     rates.append(round(scheduler.get_last_lr()[0], 6))
    >>> rates
    [1.0, 0.853553, 0.5, 0.146447, 0.0]
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,  # noqa: N803
                 last_epoch: int = -1):
        if isinstance(T_max, bool) or not isinstance(T_max, int) or T_max < 1:
            raise ArgumentError(f"T_max must be a positive int, got {T_max!r}")
        if isinstance(eta_min, bool) or not isinstance(eta_min, (int, float)) or eta_min < 0:
            raise ArgumentError(f"eta_min must be a number >= 0, got {eta_min!r}")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups, epoch, period = self.optimizer.param_groups, self.last_epoch, self.T_max
        if epoch == 0:
            return [group["lr"] for group in groups]
        if self._step_count == 1 and epoch > 0:
            # Resuming at a later epoch: nothing to chain from, use the closed form.
            return [self.eta_min + (base - self.eta_min) * (1 + math.cos(epoch * math.pi / period))
                    / 2 for base in self.base_lrs]
        if (epoch - 1 - period) % (2 * period) == 0:
            # Leaving the minimum: the ratio below would divide by zero here.
            return [group["lr"] + (base - self.eta_min) * (1 - math.cos(math.pi / period)) / 2
                    for base, group in zip(self.base_lrs, groups)]
        ratio = (1 + math.cos(math.pi * epoch / period)) / (
            1 + math.cos(math.pi * (epoch - 1) / period))
        return [ratio * (group["lr"] - self.eta_min) + self.eta_min for group in groups]


def _check_gamma(gamma) -> None:
    if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not gamma >= 0:
        raise ArgumentError(f"gamma must be a number >= 0, got {gamma!r}")


class MultiStepLR(LRScheduler):
    """Multiply each group's rate by `gamma` at each epoch listed in `milestones` (a milestone
    listed twice multiplies twice).

    >>> import eager
    >>> from eager.optim import SGD
    >>> opt = SGD([eager.ones(1, requires_grad=True)], lr=1.0)
    >>> scheduler = MultiStepLR(opt, milestones=[1, 3], gamma=0.5)
    >>> rates = []
    >>> for _ in range(4):
    ...     rates.append(scheduler.get_last_lr()[0])
    ...     scheduler.step()
    >>> rates
    [1.0, 0.5, 0.5, 0.25]
    """

    def __init__(self, optimizer: Optimizer, milestones, gamma: float = 0.1,
                 last_epoch: int = -1):
        try:
            milestones = list(milestones)
        except TypeError:
            raise TypeError(f"milestones must be an iterable of ints, got "
                            f"{type(milestones).__name__}") from None
        for milestone in milestones:
            if isinstance(milestone, bool) or not isinstance(milestone, int):
                raise TypeError(f"milestones must be ints, got {milestone!r}")
        _check_gamma(gamma)
        self.milestones = collections.Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        times = self.milestones.get(self.last_epoch, 0)
        return [group["lr"] * self.gamma ** times if times else group["lr"] for group in groups]


class ExponentialLR(LRScheduler):
    """Multiply each group's rate by `gamma` every epoch: lr(epoch) = base_lr * gamma ** epoch.

    >>> import eager
    >>> from eager.optim import SGD
    >>> opt = SGD([eager.ones(1, requires_grad=True)], lr=1.0)
    >>> scheduler = ExponentialLR(opt, gamma=0.5)
    >>> scheduler.step(); scheduler.step()
    >>> scheduler.get_last_lr()
    [0.25]
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1):
        _check_gamma(gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]
