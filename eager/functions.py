"""Module-level functions with PyTorch's names (`eager.exp(x)`, `eager.cat([a, b], dim=1)`).

Each is the neutral function of the op layer with PyTorch's argument conventions; on Tensors the
eager front-end records them, so they are differentiable like the Tensor methods.
"""

from __future__ import annotations

from eager import indexing, maths
from eager.indexing import *  # noqa: F403  (gather, scatter, sort, cumsum, where, ...)
from eager.maths import *  # noqa: F403  (remainder, isnan, norm, einsum, unbind, ...)
from eager.tensor import Tensor
from framework.ops import F

__all__ = ["abs", "add", "argmax", "argmin", "cat", "chunk", "clamp", "cos", "div", "eq",
           "exp", "flatten", "ge", "gt", "le", "log", "log1p", "log_softmax",
           "logsumexp", "lt", "matmul", "max", "maximum", "mean", "min", "minimum", "mul", "ne",
           "neg", "permute", "pow", "prod", "reciprocal", "relu", "reshape", "rsqrt", "sigmoid",
           "sign", "sin", "softmax", "split", "sqrt", "square", "squeeze", "stack", "sub",
           "sum", "tanh", "transpose", "unsqueeze", "var", "std"] + indexing.__all__ + maths.__all__


def _method(name):
    def function(x, *args, **kwargs):
        return getattr(x if isinstance(x, Tensor) else Tensor(x), name)(*args, **kwargs)

    function.__name__ = name
    function.__doc__ = f"`eager.{name}(x, ...)` is `x.{name}(...)`."
    return function


abs = _method("abs")  # noqa: A001
argmax = _method("argmax")
argmin = _method("argmin")
clamp = _method("clamp")
cos = _method("cos")
exp = _method("exp")
flatten = _method("flatten")
log = _method("log")
log1p = _method("log1p")
log_softmax = _method("log_softmax")
logsumexp = _method("logsumexp")
max = _method("max")  # noqa: A001
mean = _method("mean")
min = _method("min")  # noqa: A001
neg = _method("neg")
permute = _method("permute")
prod = _method("prod")
reciprocal = _method("reciprocal")
relu = _method("relu")
reshape = _method("reshape")
rsqrt = _method("rsqrt")
sigmoid = _method("sigmoid")
sign = _method("sign")
sin = _method("sin")
softmax = _method("softmax")
split = _method("split")
sqrt = _method("sqrt")
square = _method("square")
squeeze = _method("squeeze")
sum = _method("sum")  # noqa: A001
tanh = _method("tanh")
transpose = _method("transpose")
unsqueeze = _method("unsqueeze")
var = _method("var")
std = _method("std")
chunk = _method("chunk")
add, sub, mul, div, pow = F.add, F.sub, F.mul, F.div, F.pow  # noqa: A001
eq, ne, lt, le, gt, ge = F.eq, F.ne, F.lt, F.le, F.gt, F.ge
maximum, minimum, matmul = F.maximum, F.minimum, F.matmul


def cat(tensors, dim: int = 0):
    """Join tensors along an existing dimension (torch.cat)."""
    return F.concat(list(tensors), dim)


def stack(tensors, dim: int = 0):
    """Join tensors along a new dimension."""
    return F.stack(list(tensors), dim)
