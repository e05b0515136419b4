"""Spec table of the neural-network ops: softmax, log_softmax, cross_entropy, embedding, mse,
linear. The NumPy references are the textbook stable formulas, written out here."""

import numpy as np

from framework import dtypes
from framework.ops import F, bind
from framework.ops.nn import (
    LabelCrossEntropyGrad,
    LabelCrossEntropyMeanGrad,
    LinearGrad,
    LinearWeightGrad,
)
from tests.framework.opspec import OpSpec

# ---------------------------------------------------------------------------------------------
# NumPy references


def np_softmax(x, axis=-1):
    shifted = x - np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    exps = np.exp(shifted)
    return exps / np.sum(exps, axis=axis, keepdims=True)


def np_log_softmax(x, axis=-1):
    shifted = x - np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    with np.errstate(divide="ignore"):  # log(0) of an empty row, broadcast into nothing
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def np_reduce(loss, reduction):
    if reduction == "mean":
        return np.mean(loss)
    if reduction == "sum":
        return np.sum(loss)
    return loss


def np_cross_entropy(logits, target, reduction="mean"):
    log_probs = np_log_softmax(logits, axis=1)
    if target.dtype.kind == "f":
        loss = -np.sum(target * log_probs, axis=1)
    else:
        picked = np.take_along_axis(log_probs, np.expand_dims(target, 1), axis=1)
        loss = -np.squeeze(picked, axis=1)
    return np_reduce(loss, reduction)


def np_mse(x, y, reduction="mean"):
    return np_reduce(np.square(x - y), reduction)


def np_linear(x, weight, bias=None):
    y = x @ weight.T
    return y if bias is None else y + bias


# ---------------------------------------------------------------------------------------------
# Inputs


class IndicesWithin:
    """make_input for (values, integer indices): indices valid for input 0's `axis`.

    Input 0 is drawn first, so its size along `axis` is known when the indices are drawn.
    Non-float dtypes of input 0 (the fuzzer tries them all) come out as small integers / bools.
    """

    def __init__(self, axis: int, index_dtype=dtypes.int64):
        self.axis = axis
        self.index_dtype = np.dtype(index_dtype)
        self.size = 0

    def __call__(self, rng, shape, dtype, i):
        if i == 0:
            # Too few axes: any index will do, the op must refuse the shapes anyway.
            self.size = shape[self.axis] if self.axis < len(shape) else 1
            if np.dtype(dtype).kind == "f":
                return rng.uniform(-3, 3, size=shape).astype(dtype)
            return rng.integers(0, 2, size=shape).astype(dtype)
        return rng.integers(0, self.size, size=shape).astype(self.index_dtype)


class LabelGradInputs(IndicesWithin):
    """make_input for (logits, labels, g): valid class labels, then a float loss gradient."""

    def __call__(self, rng, shape, dtype, i):
        if i == 2:
            return rng.uniform(-2, 2, size=shape).astype(dtype)
        return super().__call__(rng, shape, dtype, i)


def np_label_grad(logits, labels, g):
    """(softmax - one_hot) * g along axis 1, written out."""
    probabilities = np_softmax(logits, axis=1)
    one_hot = np.moveaxis(np.eye(logits.shape[1], dtype=logits.dtype)[labels], -1, 1)
    return ((probabilities - one_hot) * np.expand_dims(g, 1)).astype(logits.dtype)


def probability_targets(rng, shape, dtype, i):
    """Logits, then non-negative targets that need not sum to 1 (PyTorch accepts those too)."""
    if i == 0:
        return rng.uniform(-3, 3, size=shape).astype(dtype)
    return rng.uniform(0, 1, size=shape).astype(dtype)


# ---------------------------------------------------------------------------------------------
# The table

ROW_SHAPES = [((3, 4),), ((2, 3, 5),), ((1,),), ((4, 1),), ((0, 3),), ((3, 0),)]
LABEL_SHAPES = [((4, 5), (4,)), ((1, 1), (1,)), ((3, 2), (3,))]
SPATIAL_LABEL_SHAPES = [((2, 4, 3), (2, 3)), ((2, 3, 2, 2), (2, 2, 2)), ((1, 2, 1), (1, 1))]
# Forward-only where reducing an empty batch ("mean" of nothing is NaN in PyTorch too).
EMPTY_LABEL_SHAPES = [((0, 5), (0,)), ((0, 3, 2), (0, 2))]

LOGITS_NOT_2D = [(((5,), (5,)), dtypes.float32, "logits must have shape"),
                 (((), ()), dtypes.float64, "logits must have shape")]
WRONG_LABEL_SHAPE = [(((4, 5), (3,)), dtypes.float32, r"class labels must have shape \(4,\)"),
                     (((4, 5), (4, 1)), dtypes.float32, r"class labels must have shape \(4,\)"),
                     (((2, 3, 4), (2, 3)), dtypes.float64, r"must have shape \(2, 4\)")]
INTEGER_LOGITS = [(((4, 5), (4,)), dtypes.int32, "logits has dtype int32")]


def _cross_entropy(reduction):
    return lambda logits, target: F.cross_entropy(logits, target, reduction=reduction)


SPECS = [
    OpSpec("softmax", F.softmax, np_softmax, ROW_SHAPES,
           bad=[(((2, 3),), dtypes.int64, "softmax: input has dtype int64")]),
    OpSpec("softmax_axis0", lambda x: F.softmax(x, axis=0), lambda x: np_softmax(x, axis=0),
           [((3, 4),), ((4, 2, 3),), ((1, 5),), ((0, 2),)]),
    OpSpec("softmax_axis1", lambda x: F.softmax(x, axis=1), lambda x: np_softmax(x, axis=1),
           [((2, 3, 4),), ((2, 1, 4),), ((3, 4),)],
           bad=[(((3,),), dtypes.float32, "softmax: axis 1 is out of range for a 1-d input")]),
    OpSpec("softmax_axis_neg2", lambda x: F.softmax(x, axis=-2),
           lambda x: np_softmax(x, axis=-2), [((3, 4, 2),), ((5, 1),)]),
    OpSpec("log_softmax", F.log_softmax, np_log_softmax, ROW_SHAPES,
           bad=[(((2, 3),), dtypes.int32, "log_softmax: input has dtype int32")]),
    OpSpec("log_softmax_axis0", lambda x: F.log_softmax(x, axis=0),
           lambda x: np_log_softmax(x, axis=0), [((3, 4),), ((4, 2, 3),)]),
    OpSpec("log_softmax_axis1", lambda x: F.log_softmax(x, axis=1),
           lambda x: np_log_softmax(x, axis=1), [((2, 3, 4),), ((2, 1, 4),)],
           bad=[(((4,),), dtypes.float64, "log_softmax: axis 1 is out of range for a 1-d")]),

    OpSpec("cross_entropy_labels_mean", _cross_entropy("mean"), np_cross_entropy,
           LABEL_SHAPES + SPATIAL_LABEL_SHAPES, make_input=IndicesWithin(axis=1),
           bad=LOGITS_NOT_2D + WRONG_LABEL_SHAPE + INTEGER_LOGITS),
    OpSpec("cross_entropy_labels_grad",
           lambda logits, labels, g: bind(LabelCrossEntropyGrad(), logits, labels, g),
           np_label_grad, [((4, 5), (4,), (4,)), ((2, 4, 3), (2, 3), (2, 3)), ((1, 1), (1,), (1,))],
           make_input=LabelGradInputs(axis=1),
           bad=[(((4, 5), (4,), (3,)), dtypes.float32,
                 r"the loss gradient must have the loss's shape \(4,\)")]),
    OpSpec("cross_entropy_labels_mean_grad",
           lambda logits, labels, g: bind(LabelCrossEntropyMeanGrad(), logits, labels, g),
           lambda logits, labels, g: np_label_grad(
               logits, labels, np.full(labels.shape, g / labels.size, logits.dtype)),
           [((4, 5), (4,), ()), ((2, 4, 3), (2, 3), ()), ((1, 1), (1,), ())],
           make_input=LabelGradInputs(axis=1),
           bad=[(((4, 5), (4,), (4,)), dtypes.float32,
                 r"cross_entropy_labels_mean_grad: the loss gradient must be a scalar")]),
    OpSpec("cross_entropy_labels_sum", _cross_entropy("sum"),
           lambda x, t: np_cross_entropy(x, t, "sum"), LABEL_SHAPES + EMPTY_LABEL_SHAPES,
           make_input=IndicesWithin(axis=1)),
    OpSpec("cross_entropy_labels_none", _cross_entropy("none"),
           lambda x, t: np_cross_entropy(x, t, "none"),
           LABEL_SHAPES + SPATIAL_LABEL_SHAPES + EMPTY_LABEL_SHAPES,
           make_input=IndicesWithin(axis=1)),
    OpSpec("cross_entropy_labels_int32", _cross_entropy("mean"), np_cross_entropy,
           [((4, 5), (4,)), ((2, 3, 2), (2, 2))],
           make_input=IndicesWithin(axis=1, index_dtype=dtypes.int32), second_order=False),
    OpSpec("cross_entropy_probs_mean", _cross_entropy("mean"), np_cross_entropy,
           [((4, 5), (4, 5)), ((1, 1), (1, 1)), ((2, 3, 2), (2, 3, 2))],
           make_input=probability_targets,
           bad=[(((4, 5), (4, 4)), dtypes.float32, r"probability targets must have the "
                 r"logits' shape \(4, 5\), got \(4, 4\)"),
                (((4,), (4,)), dtypes.float64, "logits must have shape")]),
    OpSpec("cross_entropy_probs_none", _cross_entropy("none"),
           lambda x, t: np_cross_entropy(x, t, "none"),
           [((4, 5), (4, 5)), ((2, 3, 2), (2, 3, 2)), ((0, 3), (0, 3)), ((3, 0), (3, 0))],
           make_input=probability_targets),

    OpSpec("embedding", F.embedding, lambda w, i: w[i],
           [((6, 3), (4,)), ((6, 3), (2, 3)), ((6, 3), ()), ((1, 2), (3,)), ((6, 0), (4,)),
            ((6, 3), (0,)), ((5, 4), (2, 1, 3))],
           make_input=IndicesWithin(axis=0),
           bad=[(((6,), (4,)), dtypes.float32, r"weight must be 2-D .* got shape \(6,\)"),
                (((2, 6, 3), (4,)), dtypes.float64, "weight must be 2-D")]),

    OpSpec("mse_mean", F.mse, np_mse, [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((), ()),
                                       ((5,), ())],
           bad=[(((2, 3), (3, 2)), dtypes.float32, "cannot be broadcast"),
                (((2, 3), (2, 3)), dtypes.int64, "mse: inputs must be floating point")]),
    OpSpec("mse_sum", lambda x, y: F.mse(x, y, reduction="sum"),
           lambda x, y: np_mse(x, y, "sum"), [((3, 4), (3, 4)), ((0, 2), (0, 2))]),
    OpSpec("mse_none", lambda x, y: F.mse(x, y, reduction="none"),
           lambda x, y: np_mse(x, y, "none"), [((3, 4), (3, 4)), ((2, 1), (3,))]),

    OpSpec("linear", F.linear, np_linear, [((4, 3), (5, 3), (5,)), ((2, 4, 3), (2, 3), (2,)),
                                           ((1, 3), (1, 3), (1,))],
           bad=[(((4, 3), (5, 2), (5,)), dtypes.float32,
                 r"input of shape \(4, 3\) does not match weight of shape \(5, 2\)"),
                (((4, 3), (3,), (3,)), dtypes.float64, "weight must be 2-D"),
                (((4, 3), (5, 3), (4,)), dtypes.float32, "cannot be broadcast")]),
    OpSpec("linear_weight_grad", lambda x, g: bind(LinearWeightGrad(), x, g),
           lambda x, g: g.T @ x, [((4, 3), (4, 5)), ((1, 2), (1, 1)), ((0, 3), (0, 2))],
           bad=[(((4, 3), (5, 2)), dtypes.float32, r"with one N, got shapes \(4, 3\) and"),
                (((4, 3), (4, 2)), dtypes.int64, "linear_weight_grad: input has dtype int64")]),
    OpSpec("linear_grad", lambda x, w, g: bind(LinearGrad(True, True), x, w, g),
           lambda x, w, g: (g @ w, g.T @ x, g.sum(0, dtype=g.dtype)),
           [((4, 3), (5, 3), (4, 5)), ((1, 2), (1, 2), (1, 1)), ((0, 3), (2, 3), (0, 2))],
           bad=[(((4, 3), (5, 2), (4, 5)), dtypes.float32,
                 r"linear_grad: needs x \(N, in\), weight \(out, in\) and g \(N, out\)"),
                (((4, 3), (5, 3), (4, 5)), dtypes.int32, "linear_grad: input has dtype int32")]),
    OpSpec("linear_grad_no_input", lambda x, w, g: bind(LinearGrad(False, True), x, w, g),
           lambda x, w, g: (g.T @ x, g.sum(0, dtype=g.dtype)), [((4, 3), (5, 3), (4, 5))]),
    OpSpec("linear_grad_no_bias", lambda x, w, g: bind(LinearGrad(True, False), x, w, g),
           lambda x, w, g: (g @ w, g.T @ x), [((4, 3), (5, 3), (4, 5))]),
    OpSpec("linear_no_bias", lambda x, w: F.linear(x, w), np_linear,
           [((4, 3), (5, 3)), ((3,), (2, 3))]),
]
