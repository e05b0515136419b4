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
