"""PyTorch's maths, reduction and shape functions that are not plain neutral functions.

floor_divide, remainder and fmod (and the operators `//` and `%`), clamp and clip with tensor
bounds, isnan, isinf, isfinite, nan_to_num, the logical ops (and `&`, `|`, `^` on bool
tensors), isclose and allclose, norm, einsum, outer, bmm and baddbmm, unbind, tile and repeat,
view_as and reshape_as, numel: each a module function (`eager.remainder(x, 3)`) and, where
PyTorch has one, a Tensor method (`x.remainder(3)`), with PyTorch's argument names, defaults,
return types and sign conventions. `eager.linalg` has the norms under PyTorch's linalg names.

The work is the op layer's (`F.floor_divide`, `F.einsum`, `F.vector_norm`, ...), so results are
differentiable and the graph front-end has the same ops; this module adds PyTorch's
conventions, checked before anything runs, with errors naming the function the user called.
"""

from __future__ import annotations

import builtins

import numpy as np

from eager.tensor import Tensor, _shape_args
from framework import dtypes
from framework.errors import ArgumentError, DTypeError, IndexingError, ShapeError
from framework.ops import F
from framework.shapes import broadcast_shapes, normalize_axis

__all__ = ["allclose", "baddbmm", "bmm", "clip", "einsum", "floor_divide", "fmod", "isclose",
           "isfinite", "isinf", "isnan", "logical_and", "logical_not", "logical_or",
           "logical_xor", "nan_to_num", "norm", "numel", "outer", "remainder", "tile", "unbind",
           "all", "any"]


def _tensor(value) -> Tensor:
    return value if isinstance(value, Tensor) else Tensor(value)


def _result(value) -> Tensor:
    """A neutral function's result as a Tensor (it is a NumPy array when no input was one)."""
    return value if isinstance(value, Tensor) else Tensor(value)


# -- rounding division ------------------------------------------------------------------------


def floor_divide(input, other):  # noqa: A002  (PyTorch's names)
    """input / other rounded toward minus infinity, as Python's `//` (PyTorch 1.13 on).

    Integers stay integers (a zero divisor raises IntegerDivisionByZeroError, a RuntimeError
    and a ZeroDivisionError); floats give IEEE results for a zero divisor. Piecewise constant:
    it records no gradient.

    >>> import eager
    >>> eager.floor_divide(eager.tensor([7, -7]), 2).tolist()
    [3, -4]
    """
    return _result(F.floor_divide(input, other))


def remainder(input, other):  # noqa: A002
    """input - other * floor(input / other): the sign of the divisor, as Python's `%`.

    >>> import eager
    >>> eager.remainder(eager.tensor([7, -7]), 3).tolist(), (eager.tensor([7.5]) % -2).tolist()
    ([1, 2], [-0.5])
    """
    return _result(F.remainder(input, other))


def fmod(input, other):  # noqa: A002
    """input - other * trunc(input / other) (C's fmod): the sign of the dividend.

    >>> import eager
    >>> eager.fmod(eager.tensor([7, -7]), 3).tolist()
    [1, -1]
    """
    return _result(F.fmod(input, other))


def _inplace_division(name: str, function):
    def method(self, other):
        self._check_result_dtype(name, other)
        return self._inplace(function, other)

    method.__name__ = name
    method.__doc__ = f"In-place {name[:-1]}: `x.{name}(y)` is `x = x.{name[:-1]}(y)` in x."
    return method


# -- clamp ------------------------------------------------------------------------------------


def clip(input, min=None, max=None):  # noqa: A002
    """PyTorch's alias of clamp: `eager.clip(x, 0, 1)` is `x.clamp(0, 1)`."""
    return _tensor(input).clamp(min, max)


# -- float predicates, nan_to_num, logical ops ------------------------------------------------


def isnan(input):  # noqa: A002
    """True where input is NaN (never for integers and bool).

    >>> import eager
    >>> eager.isnan(eager.tensor([1.0, float("nan")])).tolist()
    [False, True]
    """
    return _result(F.isnan(_tensor(input)))


def isinf(input):  # noqa: A002
    """True where input is +inf or -inf."""
    return _result(F.isinf(_tensor(input)))


def isfinite(input):  # noqa: A002
    """True where input is neither infinite nor NaN (always for integers and bool)."""
    return _result(F.isfinite(_tensor(input)))


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):  # noqa: A002
    """input with NaN replaced by `nan`, +inf by `posinf` and -inf by `neginf`; None means the
    dtype's largest (lowest) finite value. Integer and bool tensors come back as a copy.
    Gradients pass where input is finite.

    >>> import eager
    >>> eager.nan_to_num(eager.tensor([float("nan"), float("inf"), 1.0]), posinf=9.0).tolist()
    [0.0, 9.0, 1.0]
    """
    return _result(F.nan_to_num(_tensor(input), nan, posinf, neginf))


def _nan_to_num_(self, nan=0.0, posinf=None, neginf=None):
    """In-place nan_to_num."""
    return self._inplace(lambda x: F.nan_to_num(x, nan, posinf, neginf))


def logical_and(input, other):  # noqa: A002
    """input and other (non-zero is true, NaN included), elementwise, as bool.

    >>> import eager
    >>> eager.logical_and(eager.tensor([0.0, 1.0, 2.0]), eager.tensor([1, 0, 3])).tolist()
    [False, False, True]
    """
    return _result(F.logical_and(_tensor(input), other))


def logical_or(input, other):  # noqa: A002
    """input or other, elementwise, as bool."""
    return _result(F.logical_or(_tensor(input), other))


def logical_xor(input, other):  # noqa: A002
    """Exactly one of input and other true, elementwise, as bool."""
    return _result(F.logical_xor(_tensor(input), other))


def logical_not(input):  # noqa: A002
    """True where input is zero (or False), as bool."""
    return _result(F.logical_not(_tensor(input)))


def _bitwise(name: str, function, reflected: bool = False):
    """`&`, `|` and `^`: on bool tensors (and Python bools) PyTorch's logical ops; on integers
    they are bitwise in PyTorch, which has no op here yet, so they are refused rather than
    answered with truth values."""

    def method(self, other):
        operands = (other, self) if reflected else (self, other)
        for operand in operands:
            dtype = operand.dtype if hasattr(operand, "dtype") else np.asarray(operand).dtype
            if dtype != dtypes.bool_:
                raise DTypeError(f"{name}: defined here for bool tensors (the logical op); on "
                                 f"{dtype} it is PyTorch's bitwise op, which is not supported "
                                 "yet")
        return _result(function(*operands))

    method.__name__ = name
    return method


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):  # noqa: A002
    """|input - other| <= atol + rtol * |other| elementwise, as bool; equal values (infinities
    too) are close, NaN only to NaN and only with `equal_nan`. Both must have one dtype.

    >>> import eager
    >>> eager.isclose(eager.tensor([1.0, 1.1]), eager.tensor([1.0 + 1e-9, 1.0])).tolist()
    [True, False]
    """
    return _result(F.isclose(_tensor(input), _tensor(other), rtol, atol, equal_nan))


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:  # noqa: A002
    """Whether every element of input is close to other's (see isclose): a Python bool.

    >>> import eager
    >>> eager.allclose(eager.tensor([1.0, 2.0]), eager.tensor([1.0, 2.0 + 1e-7]))
    True
    """
    return bool(isclose(input, other, rtol, atol, equal_nan).all())


def any(input, dim=None, keepdim=False):  # noqa: A001, A002
    """True where some element (along `dim`) is non-zero; False for no elements."""
    return _tensor(input).any(dim, keepdim)


def all(input, dim=None, keepdim=False):  # noqa: A001, A002
    """True where every element (along `dim`) is non-zero; True for no elements."""
    return _tensor(input).all(dim, keepdim)


# -- norms and products -----------------------------------------------------------------------


def norm(input, p="fro", dim=None, keepdim=False, out=None, dtype=None):  # noqa: A002
    """PyTorch's torch.norm: the vector p-norm of input over `dim` (None: all of it). 'fro'
    (the default) is the 2-norm over those dims; 'nuc' needs singular values and is refused.
    See eager.linalg.vector_norm for the p that may be given (inf, -inf and 0 included).

    >>> import eager
    >>> eager.tensor([[3.0, 4.0]]).norm().item(), eager.norm(eager.tensor([3.0, -4.0]), 1).item()
    (5.0, 7.0)
    """
    from eager import linalg

    linalg.refuse_out("norm", out)
    if p == "nuc":
        return linalg.matrix_norm(input, "nuc", (-2, -1) if dim is None else dim, keepdim,
                                  dtype=dtype)
    if isinstance(p, str) and p != "fro":
        raise ArgumentError(f"norm: p must be a number, 'fro' or 'nuc', got {p!r}")
    order = 2 if p is None or p == "fro" else p
    return linalg.vector_norm(input, order, dim, keepdim, dtype=dtype)


def einsum(equation, *operands):
    """Einstein summation over tensors, as torch.einsum: 'ij,jk->ik' is a matrix product,
    'bij,bjk->bik' a batched one, 'ii' a trace. Every equation works, '...' and PyTorch's list
    and sublist spellings included; see framework.ops.linalg.einsum for how it is computed.

    >>> import eager
    >>> a = eager.arange(6.0).reshape(2, 3)
    >>> eager.einsum("ij,ij->i", a, a).tolist()
    [5.0, 50.0]
    """
    return _result(F.einsum(equation, *operands))


def outer(input, vec2):  # noqa: A002
    """The outer product of two 1-D tensors: out[i, j] = input[i] * vec2[j].

    >>> import eager
    >>> eager.outer(eager.tensor([1, 2]), eager.tensor([1, 10, 100])).tolist()
    [[1, 10, 100], [2, 20, 200]]
    """
    input, vec2 = _tensor(input), _tensor(vec2)
    for name, x in (("self", input), ("vec2", vec2)):
        if x.ndim != 1:
            raise ShapeError(f"outer: expected a 1-D argument {name}, but got {x.ndim}-D "
                             f"(shape {x.shape})")
    return F.mul(F.reshape(input, (-1, 1)), vec2)


def bmm(input, mat2):  # noqa: A002
    """Batched matrix product of (b, n, m) and (b, m, p) tensors: (b, n, p). No broadcasting
    and one dtype, as in PyTorch (matmul broadcasts and promotes).

    >>> import eager
    >>> eager.bmm(eager.ones(2, 3, 4), eager.ones(2, 4, 5)).shape
    (2, 3, 5)
    """
    input, mat2 = _tensor(input), _tensor(mat2)
    _check_batches("bmm", input, mat2)
    return F.matmul(input, mat2)


def _check_batches(function: str, batch1: Tensor, batch2: Tensor) -> None:
    for name, x in (("batch1", batch1), ("batch2", batch2)):
        if x.ndim != 3:
            raise ShapeError(f"{function}: {name} must be a 3D tensor, got shape {x.shape}")
    expected = (batch1.shape[0], batch1.shape[2])
    if batch2.shape[:2] != expected:
        raise ShapeError(f"{function}: expected size for first two dimensions of batch2 tensor "
                         f"to be: {list(expected)} but got: {list(batch2.shape[:2])} (batch1 "
                         f"has shape {batch1.shape})")
    if batch1.dtype != batch2.dtype:
        raise DTypeError(f"{function}: expected both batches to have one dtype, got "
                         f"{batch1.dtype} and {batch2.dtype}")


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):  # noqa: A002
    """beta * input + alpha * (batch1 @ batch2) for (b, n, m) and (b, m, p) batches; input
    broadcasts to (b, n, p). With beta=0 input is ignored: NaN and inf in it do not spread.

    >>> import eager
    >>> eager.baddbmm(eager.ones(1, 2), eager.ones(3, 2, 4), eager.ones(3, 4, 2), beta=0.5,
    ...               alpha=2).tolist()[0]
    [[8.5, 8.5], [8.5, 8.5]]
    """
    input, batch1, batch2 = _tensor(input), _tensor(batch1), _tensor(batch2)
    _check_batches("baddbmm", batch1, batch2)
    for name, value in (("beta", beta), ("alpha", alpha)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise DTypeError(f"baddbmm: {name} must be a number, got {value!r}")
    shape = (batch1.shape[0], batch1.shape[1], batch2.shape[2])
    try:
        fits = broadcast_shapes(input.shape, shape) == shape
    except ShapeError:
        fits = False
    if not fits:
        raise ShapeError(f"baddbmm: input of shape {input.shape} does not broadcast to the "
                         f"product's shape {shape}")
    product = F.matmul(batch1, batch2)
    if alpha != 1:
        product = F.mul(product, alpha)
    if beta == 0:
        return product
    return F.add(input if beta == 1 else F.mul(input, beta), product)


# -- shapes -----------------------------------------------------------------------------------


def unbind(input, dim=0):  # noqa: A002
    """The slices of input along `dim`, without that dimension: a tuple of views.

    >>> import eager
    >>> [t.tolist() for t in eager.unbind(eager.tensor([[1, 2], [3, 4]]), 1)]
    [[1, 3], [2, 4]]
    """
    input = _tensor(input)
    if input.ndim == 0:
        raise IndexingError("unbind: dimension specified as 0 but tensor has no dimensions")
    if isinstance(dim, np.integer):
        dim = int(dim)
    axis = normalize_axis(dim, input.ndim, "unbind")
    count = input.shape[axis]
    if count == 0:
        return ()
    parts = F.split(input, [1] * count, axis)
    return tuple(F.squeeze(part, axis) for part in parts)


def tile(input, dims):  # noqa: A002
    """input repeated dims[i] times along each dimension; fewer dims than input has leave the
    leading ones as they are, more add leading dimensions (torch.tile, NumPy's tile).

    >>> import eager
    >>> eager.tile(eager.tensor([1, 2]), (2, 2)).tolist()
    [[1, 2, 1, 2], [1, 2, 1, 2]]
    """
    return _result(F.tile(_tensor(input), _reps("tile", dims)))


def _reps(function: str, reps) -> tuple:
    reps = tuple(reps)
    if builtins.any(isinstance(r, bool) or not isinstance(r, (int, np.integer)) for r in reps):
        raise DTypeError(f"{function}: repeats must be ints, got {reps}")
    if builtins.any(r < 0 for r in reps):
        raise ArgumentError(f"{function}: trying to create tensor with negative dimension: "
                            f"repeats {reps}")
    return reps


def _repeat(self, *sizes):
    """This tensor repeated sizes[i] times along each dimension (Tensor.repeat), with at least
    as many sizes as dimensions; extra sizes add leading dimensions. A copy, never a view.

    >>> import eager
    >>> eager.tensor([1, 2]).repeat(2, 2).tolist()
    [[1, 2, 1, 2], [1, 2, 1, 2]]
    """
    sizes = _reps("repeat", _shape_args(sizes))
    if len(sizes) < self.ndim:
        raise ShapeError(f"repeat: number of dimensions of repeat dims ({len(sizes)}) can not "
                         f"be smaller than number of dimensions of tensor ({self.ndim})")
    return F.tile(self, sizes)


def _view_as(self, other):
    """A view of this tensor with other's shape."""
    return self.view(_tensor(other).shape)


def _reshape_as(self, other):
    """This tensor reshaped to other's shape (a view where the layout allows)."""
    return self.reshape(_tensor(other).shape)


def numel(input) -> int:  # noqa: A002
    """The number of elements of input."""
    return _tensor(input).numel()


# The Tensor methods: the functions above with the tensor as `self`, the in-place forms and
# the operators.
_METHODS = {
    "floor_divide": floor_divide, "remainder": remainder, "fmod": fmod,
    "floor_divide_": _inplace_division("floor_divide_", F.floor_divide),
    "remainder_": _inplace_division("remainder_", F.remainder),
    "fmod_": _inplace_division("fmod_", F.fmod),
    "isnan": isnan, "isinf": isinf, "isfinite": isfinite, "nan_to_num": nan_to_num,
    "nan_to_num_": _nan_to_num_, "logical_and": logical_and, "logical_or": logical_or,
    "logical_xor": logical_xor, "logical_not": logical_not, "isclose": isclose,
    "allclose": allclose, "norm": norm, "outer": outer, "bmm": bmm, "baddbmm": baddbmm,
    "unbind": unbind, "tile": tile, "repeat": _repeat, "view_as": _view_as,
    "reshape_as": _reshape_as, "clip_": Tensor.clamp_,
    "__floordiv__": floor_divide,
    "__rfloordiv__": lambda self, other: floor_divide(other, self),
    "__ifloordiv__": lambda self, other: self.floor_divide_(other),
    "__mod__": remainder,
    "__rmod__": lambda self, other: remainder(other, self),
    "__imod__": lambda self, other: self.remainder_(other),
    "__and__": _bitwise("__and__", F.logical_and),
    "__rand__": _bitwise("__rand__", F.logical_and, reflected=True),
    "__or__": _bitwise("__or__", F.logical_or),
    "__ror__": _bitwise("__ror__", F.logical_or, reflected=True),
    "__xor__": _bitwise("__xor__", F.logical_xor),
    "__rxor__": _bitwise("__rxor__", F.logical_xor, reflected=True),
}
for _name, _function in _METHODS.items():
    setattr(Tensor, _name, _function)


# -- the maths tutorials use first --------------------------------------------------------------
# Matrix products with PyTorch's shape checks, rounding (exact values, zero gradient as in
# PyTorch), and the remaining transcendental functions. log2, log10, tan, sinh and cosh are
# composites of exact-enough ops; expm1, atan and atan2 are primitives of the op layer.

__all__ += ["mm", "t", "dot", "mv", "addmm", "floor", "ceil", "round", "trunc", "erf", "expm1",
            "log2", "log10", "tan", "atan", "arctan", "atan2", "arctan2", "sinh", "cosh",
            "clamp_min", "clamp_max", "amax", "amin"]

_LN2, _LN10 = float(np.log(2.0)), float(np.log(10.0))


class _ShapeRuntimeError(ShapeError, RuntimeError):
    """A shape PyTorch refuses with RuntimeError (catchable as either)."""


def _check_ndim(function: str, name: str, x: Tensor, ndim: int, what: str) -> None:
    if x.ndim != ndim:
        raise _ShapeRuntimeError(f"{function}: {name} must be a {what}, but got a {x.ndim}-D "
                                 f"tensor of shape {x.shape}")


def _check_same_dtype(function: str, a: Tensor, b: Tensor) -> None:
    if a.dtype != b.dtype:
        raise DTypeError(f"{function}: expected both arguments to have the same dtype, but got "
                         f"{a.dtype} and {b.dtype}")


def mm(input, mat2):  # noqa: A002
    """The matrix product of an (n, m) and an (m, p) tensor: no broadcasting, one dtype.

    >>> import eager
    >>> eager.mm(eager.ones(2, 3), eager.ones(3, 4)).shape
    (2, 4)
    """
    input, mat2 = _tensor(input), _tensor(mat2)
    _check_ndim("mm", "self", input, 2, "matrix")
    _check_ndim("mm", "mat2", mat2, 2, "matrix")
    if input.shape[1] != mat2.shape[0]:
        raise _ShapeRuntimeError(f"mm: mat1 and mat2 shapes cannot be multiplied "
                                 f"({input.shape[0]}x{input.shape[1]} and "
                                 f"{mat2.shape[0]}x{mat2.shape[1]})")
    _check_same_dtype("mm", input, mat2)
    return F.matmul(input, mat2)


def t(input):  # noqa: A002
    """A matrix transposed; 0-D and 1-D tensors come back as they are (as views).

    >>> import eager
    >>> eager.t(eager.tensor([[1, 2]])).tolist()
    [[1], [2]]
    """
    input = _tensor(input)
    if input.ndim > 2:
        raise _ShapeRuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                                 f"{input.ndim}-D (shape {input.shape})")
    return F.swapaxes(input, 0, 1) if input.ndim == 2 else F.reshape(input, input.shape)


def dot(input, tensor):  # noqa: A002
    """The inner product of two 1-D tensors of the same size and dtype.

    >>> import eager
    >>> eager.dot(eager.tensor([1, 2]), eager.tensor([3, 4])).item()
    11
    """
    input, tensor = _tensor(input), _tensor(tensor)
    _check_ndim("dot", "self", input, 1, "1-D tensor")
    _check_ndim("dot", "tensor", tensor, 1, "1-D tensor")
    if input.shape != tensor.shape:
        raise _ShapeRuntimeError(f"dot: inconsistent tensor size, expected tensor "
                                 f"[{input.shape[0]}] and src [{tensor.shape[0]}] to have the "
                                 "same number of elements")
    _check_same_dtype("dot", input, tensor)
    return F.matmul(input, tensor)


def mv(input, vec):  # noqa: A002
    """The product of an (n, m) matrix and an (m,) vector: an (n,) vector.

    >>> import eager
    >>> eager.mv(eager.ones(2, 3), eager.ones(3)).tolist()
    [3.0, 3.0]
    """
    input, vec = _tensor(input), _tensor(vec)
    _check_ndim("mv", "self", input, 2, "matrix")
    _check_ndim("mv", "vec", vec, 1, "1-D tensor")
    if input.shape[1] != vec.shape[0]:
        raise _ShapeRuntimeError(f"mv: size mismatch, got input ({input.shape[0]}x"
                                 f"{input.shape[1]}) and vec ({vec.shape[0]})")
    _check_same_dtype("mv", input, vec)
    return F.matmul(input, vec)


def addmm(input, mat1, mat2, *, beta=1, alpha=1):  # noqa: A002
    """beta * input + alpha * (mat1 @ mat2), input broadcasting to the product's shape; with
    beta = 0, input is ignored (NaN in it does not propagate), as in PyTorch.

    >>> import eager
    >>> eager.addmm(eager.ones(3), eager.ones(2, 4), eager.ones(4, 3), beta=2).tolist()
    [[6.0, 6.0, 6.0], [6.0, 6.0, 6.0]]
    """
    input = _tensor(input)
    for name, value in (("beta", beta), ("alpha", alpha)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"addmm(): argument '{name}' must be a number, not "
                            f"{type(value).__name__}")
    product = mm(mat1, mat2)
    try:
        fits = broadcast_shapes(input.shape, product.shape) == product.shape
    except ShapeError:
        fits = False
    if not fits:
        raise _ShapeRuntimeError(f"addmm: input of shape {input.shape} cannot be broadcast to "
                                 f"the product's shape {product.shape}")
    if alpha != 1:
        product = F.mul(product, alpha)
    if beta == 0:
        return product
    return F.add(F.mul(input, beta) if beta != 1 else input, product)


def _zero_gradient(x: Tensor, values) -> Tensor:
    """`values` (computed without gradient), recorded so x's gradient through them is 0, as
    PyTorch defines it for the piecewise constant rounding functions. Infinities and NaN pass
    through unchanged."""
    with_specials = F.where(F.isfinite(x), values, x.detach())
    if not x.requires_grad:
        return with_specials
    return F.where(F.ones_like(x, dtype=dtypes.bool_), with_specials, x)


def _floor_values(x: Tensor):
    return F.floor_divide(x.detach(), 1)


def floor(input):  # noqa: A002
    """The largest integer value <= each element (integer tensors come back as copies).

    >>> import eager
    >>> eager.floor(eager.tensor([-1.5, 2.5])).tolist()
    [-2.0, 2.0]
    """
    input = _tensor(input)
    if input.dtype.kind != "f":
        return input.clone()
    return _zero_gradient(input, _floor_values(input))


def ceil(input):  # noqa: A002
    """The smallest integer value >= each element.

    >>> import eager
    >>> eager.ceil(eager.tensor([-1.5, 2.5])).tolist()
    [-1.0, 3.0]
    """
    input = _tensor(input)
    if input.dtype.kind != "f":
        return input.clone()
    return _zero_gradient(input, F.neg(_floor_values(F.neg(input.detach()))))


def trunc(input):  # noqa: A002
    """Each element rounded toward zero.

    >>> import eager
    >>> eager.trunc(eager.tensor([-1.5, 2.5])).tolist()
    [-1.0, 2.0]
    """
    input = _tensor(input)
    if input.dtype.kind != "f":
        return input.clone()
    x = input.detach()
    values = F.where(F.lt(x, 0), F.neg(_floor_values(F.neg(x))), _floor_values(x))
    return _zero_gradient(input, values)


def round(input, *, decimals: int = 0):  # noqa: A001, A002
    """Each element rounded to the nearest integer, halves to the even one (as PyTorch and
    NumPy); with `decimals`, to that many decimal places (negative: to tens, hundreds...).

    >>> import eager
    >>> eager.round(eager.tensor([0.5, 1.5, 2.5, -0.5])).tolist()
    [0.0, 2.0, 2.0, -0.0]
    >>> eager.round(eager.tensor([1.2345]), decimals=2).tolist()
    [1.2300000190734863]
    """
    input = _tensor(input)
    if isinstance(decimals, bool) or not isinstance(decimals, int):
        raise TypeError(f"round(): argument 'decimals' must be int, not "
                        f"{type(decimals).__name__}")
    if input.dtype.kind != "f":
        if decimals:
            raise DTypeError(f"round: decimals={decimals} is only supported for floating point "
                             f"tensors, got {input.dtype}")
        return input.clone()
    x = input.detach()
    if decimals > 0:
        x = F.mul(x, 10.0 ** decimals)
    elif decimals < 0:
        x = F.div(x, 10.0 ** -decimals)
    below = _floor_values(x)
    fraction = F.sub(x, below)  # exact: floor(x) and x share their leading bits
    odd = F.eq(F.remainder(below, 2), 1)
    up = F.logical_or(F.gt(fraction, 0.5), F.logical_and(F.eq(fraction, 0.5), odd))
    values = F.where(up, F.add(below, 1), below)
    values = F.where(F.eq(values, 0), F.mul(x, 0), values)  # keeps the sign of -0.4 -> -0.0
    if decimals > 0:
        values = F.div(values, 10.0 ** decimals)
    elif decimals < 0:
        values = F.mul(values, 10.0 ** -decimals)
    return _zero_gradient(input, values)


def erf(input):  # noqa: A002
    """The error function. `eager.erf(eager.tensor([0.0])).tolist()` is `[0.0]`."""
    return _result(F.erf(input))


def expm1(input):  # noqa: A002
    """e**x - 1, exact for tiny x. `eager.expm1(eager.tensor([0.0])).tolist()` is `[0.0]`."""
    return _result(F.expm1(input))


def log2(input):  # noqa: A002
    """The base-2 logarithm.

    >>> import eager
    >>> eager.log2(eager.tensor([8.0])).tolist()
    [3.0]
    """
    return _result(F.div(F.log(input), _LN2))


def log10(input):  # noqa: A002
    """The base-10 logarithm. `eager.log10(eager.tensor([1.0])).tolist()` is `[0.0]`."""
    return _result(F.div(F.log(input), _LN10))


def tan(input):  # noqa: A002
    """The tangent, sin(x) / cos(x). `eager.tan(eager.tensor([0.0])).tolist()` is `[0.0]`."""
    return _result(F.div(F.sin(input), F.cos(input)))


def atan(input):  # noqa: A002
    """The arctangent, in (-pi/2, pi/2). `eager.atan(eager.tensor([0.0])).tolist()` is
    `[0.0]`."""
    return _result(F.atan(input))


def atan2(input, other):  # noqa: A002
    """The angle of the point (other, input), in [-pi, pi]: the quadrant from both signs.

    >>> import eager
    >>> eager.atan2(eager.tensor([1.0, -1.0]), eager.tensor([0.0, 0.0])).tolist()
    [1.5707963705062866, -1.5707963705062866]
    """
    return _result(F.atan2(input, other))


def sinh(input):  # noqa: A002
    """The hyperbolic sine, (expm1(x) - expm1(-x)) / 2: exact for tiny x, where
    (e**x - e**-x) / 2 would cancel.

    >>> import eager
    >>> eager.sinh(eager.tensor([1e-30], dtype=eager.float64)).tolist()
    [1e-30]
    """
    return _result(F.mul(F.sub(F.expm1(input), F.expm1(F.neg(input))), 0.5))


def cosh(input):  # noqa: A002
    """The hyperbolic cosine, (e**x + e**-x) / 2. `eager.cosh(eager.tensor([0.0])).tolist()`
    is `[1.0]`."""
    return _result(F.mul(F.add(F.exp(input), F.exp(F.neg(input))), 0.5))


arctan, arctan2 = atan, atan2


def clamp_min(input, min):  # noqa: A002
    """`input.clamp(min=min)`."""
    return _tensor(input).clamp(min=min)


def clamp_max(input, max):  # noqa: A002
    """`input.clamp(max=max)`."""
    return _tensor(input).clamp(max=max)


def amax(input, dim=(), keepdim: bool = False):  # noqa: A002
    """The largest values over `dim` (every dimension when empty); ties share the gradient.

    >>> import eager
    >>> eager.amax(eager.tensor([[1, 5], [7, 2]]), dim=1).tolist()
    [5, 7]
    """
    return _tensor(input).amax(None if dim == () else dim, keepdim)


def amin(input, dim=(), keepdim: bool = False):  # noqa: A002
    """The smallest values over `dim` (every dimension when empty)."""
    return _tensor(input).amin(None if dim == () else dim, keepdim)


for _name in ("mm", "dot", "mv", "floor", "ceil", "trunc", "round", "erf", "expm1", "log2",
              "log10", "tan", "atan", "arctan", "atan2", "arctan2", "sinh", "cosh", "clamp_min",
              "clamp_max"):
    setattr(Tensor, _name, globals()[_name])


def _addmm_method(self, mat1, mat2, *, beta=1, alpha=1):
    return addmm(self, mat1, mat2, beta=beta, alpha=alpha)


Tensor.addmm = _addmm_method
