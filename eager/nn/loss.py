"""Loss modules: CrossEntropyLoss, NLLLoss and MSELoss, wrapping `eager.nn.functional`."""

from __future__ import annotations

from eager.nn import functional
from eager.nn.module import Module
from framework.errors import ArgumentError


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        functional._check_reduction(reduction)
        self.reduction = reduction


class _WeightedLoss(_Loss):
    def __init__(self, weight=None, reduction: str = "mean"):
        super().__init__(reduction)
        # A buffer, as in PyTorch: it follows double()/float() and is saved in state_dict.
        self.register_buffer("weight", weight)


class CrossEntropyLoss(_WeightedLoss):
    """Cross-entropy of logits (N, C, ...) against class labels or class probabilities.

    >>> import eager
    >>> loss = CrossEntropyLoss()
    >>> round(loss(eager.tensor([[2.0, 0.0]]), eager.tensor([0])).item(), 4)
    0.1269
    """

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0):
        super().__init__(weight, reduction)
        if isinstance(label_smoothing, bool) or not 0.0 <= label_smoothing <= 1.0:
            raise ArgumentError(f"CrossEntropyLoss: label_smoothing must be between 0.0 and "
                                f"1.0, got {label_smoothing!r}")
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input, target):
        return functional.cross_entropy(input, target, self.weight, self.ignore_index,
                                        self.reduction, self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of class labels given log-probabilities (N, C, ...).

    >>> import eager
    >>> NLLLoss()(eager.tensor([[-0.5, -1.0]]), eager.tensor([1])).item()
    1.0
    """

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return functional.nll_loss(input, target, self.weight, self.ignore_index,
                                   self.reduction)


class MSELoss(_Loss):
    """Mean squared error, reduced by "mean" (default), "sum" or "none".

    >>> import eager
    >>> MSELoss(reduction="sum")(eager.tensor([1.0, 2.0]), eager.tensor([0.0, 0.0])).item()
    5.0
    """

    def forward(self, input, target):
        return functional.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error, reduced by "mean" (default), "sum" or "none"."""

    def forward(self, input, target):
        return functional.l1_loss(input, target, self.reduction)


class SmoothL1Loss(_Loss):
    """Quadratic below `beta`, linear above it (L1 when beta = 0)."""

    def __init__(self, reduction: str = "mean", beta: float = 1.0):
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input, target):
        return functional.smooth_l1_loss(input, target, self.reduction, self.beta)


class HuberLoss(_Loss):
    """Quadratic below `delta`, delta-scaled linear above it."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input, target):
        return functional.huber_loss(input, target, self.reduction, self.delta)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy of probabilities in [0, 1] (the output of a sigmoid)."""

    def forward(self, input, target):
        return functional.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """Sigmoid and binary cross-entropy in one numerically stable step; `pos_weight` weighs the
    positive examples of each class.

    >>> import eager
    >>> round(BCEWithLogitsLoss()(eager.tensor([0.0]), eager.tensor([1.0])).item(), 4)
    0.6931
    """

    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None):
        super().__init__(weight, reduction)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return functional.binary_cross_entropy_with_logits(input, target, self.weight,
                                                           self.reduction, self.pos_weight)


class KLDivLoss(_Loss):
    """KL divergence of log-probability inputs from target probabilities (or log-probabilities
    with `log_target=True`); use reduction="batchmean" for the mathematical definition."""

    def __init__(self, reduction: str = "mean", log_target: bool = False):
        Module.__init__(self)
        if reduction not in functional.REDUCTIONS + ("batchmean",):
            raise ArgumentError(f"{reduction!r} is not a valid value for reduction; use one of "
                                "'none', 'mean', 'sum', 'batchmean'")
        self.reduction, self.log_target = reduction, log_target

    def forward(self, input, target):
        return functional.kl_div(input, target, self.reduction, self.log_target)
