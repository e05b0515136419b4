"""PyTorch's functions that index, sort and scan along a dimension, for eager Tensors.

gather, scatter, scatter_add, index_select, masked_fill, where, nonzero, topk, sort, argsort,
cumsum, cumprod, flip, roll, tril and triu, with PyTorch's names, argument names, defaults and
return types. Each is a module function (`eager.gather(x, 1, index)`) and a Tensor method
(`x.gather(1, index)`); scatter_, scatter_add_ and masked_fill_ change a tensor in place.

They are thin: the neutral functions of the op layer (`F.take_along_axis`, `F.sort`, ...) do the
work, so results are differentiable and the graph front-end has the same ops. What this module
adds is PyTorch's conventions, checked before anything runs, with errors that name the function
the user called. Where PyTorch leaves a result unspecified, the docstring says what happens here.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from eager.tensor import Tensor
from framework import dtypes
from framework.errors import ArgumentError, DTypeError, IndexingError, ShapeError
from framework.ops import F
from framework.shapes import broadcast_shapes, normalize_axis

__all__ = ["argsort", "cumprod", "cumsum", "flip", "gather", "index_select", "masked_fill",
           "nonzero", "roll", "scatter", "scatter_add", "sort", "topk", "tril", "triu", "where"]

# What torch.return_types holds: tuples whose fields are also named.
SortResult = namedtuple("sort", ["values", "indices"])
TopkResult = namedtuple("topk", ["values", "indices"])


def _tensor(value) -> Tensor:
    return value if isinstance(value, Tensor) else Tensor(value)


def _dim(function: str, dim, ndim: int) -> int:
    """`dim` made non-negative; a 0-d tensor has dim 0 (or -1), as in PyTorch."""
    if isinstance(dim, np.integer):
        dim = int(dim)
    return normalize_axis(dim, ndim, function)


def _index(function: str, index) -> Tensor:
    index = _tensor(index)
    if index.dtype not in dtypes.INTS:
        raise DTypeError(f"{function}: index has dtype {index.dtype}; it must be int64 "
                         "(or int32)")
    return index


def _is_number(value) -> bool:
    return isinstance(value, (bool, int, float, np.number, np.bool_))


# -- gather and scatter ---------------------------------------------------------------------------


def gather(input, dim, index, *, sparse_grad=False):  # noqa: A002  (PyTorch's names)
    """Values of `input` picked along `dim` by `index` (torch.gather): for dim=1,
    out[i][j][k] = input[i][index[i][j][k]][k].

    `index` is an integer tensor with input's number of dimensions, no larger than input along
    the others; the result has index's shape. An index outside [0, input.size(dim)) raises
    IndexValueError naming it and its position; negative ones are refused, as in PyTorch.
    Differentiable with respect to input. `sparse_grad` is accepted; gradients are dense.

    >>> import eager
    >>> eager.gather(eager.tensor([[1, 2], [3, 4]]), 1, eager.tensor([[0, 0], [1, 0]]))
    tensor([[1, 1],
            [4, 3]])
    """
    input, index = _tensor(input), _index("gather", index)
    return F.take_along_axis(input, index, _dim("gather", dim, input.ndim))


def scatter(input, dim, index, src=None, *, value=None, reduce=None):  # noqa: A002
    """A copy of `input` with the elements of `src` (or the number `value`) written along
    `dim` at the places `index` names (torch.scatter): for dim=0,
    out[index[i][j]][j] = src[i][j].

    `index` has input's number of dimensions, is no larger than input along the others and no
    larger than src along any; src has input's dtype. `reduce="add"` adds instead of writing
    (scatter_add). Where `index` repeats a place, PyTorch leaves the result unspecified; here
    the last value in index order wins, and the gradient reaches every src element written
    there, as PyTorch's does.

    >>> import eager
    >>> eager.zeros(2, 3).scatter(1, eager.tensor([[2], [0]]), 5.0).tolist()
    [[0.0, 0.0, 5.0], [5.0, 0.0, 0.0]]
    """
    if reduce is not None and reduce != "add":
        raise ArgumentError(f"scatter: reduce must be None or 'add', got {reduce!r}; for other "
                            "reductions there is no scatter_reduce yet")
    return _scatter("scatter", input, dim, index, src, value, accumulate=reduce == "add")


def scatter_add(input, dim, index, src):  # noqa: A002
    """A copy of `input` with the elements of `src` added along `dim` at the places `index`
    names (torch.scatter_add): for dim=0, out[index[i][j]][j] += src[i][j]. Repeated places
    sum, in index order (deterministic). Shapes as for `scatter`.

    >>> import eager
    >>> eager.zeros(3).scatter_add(0, eager.tensor([0, 2, 0]), eager.ones(3)).tolist()
    [2.0, 0.0, 1.0]
    """
    if not isinstance(src, (Tensor, np.ndarray)):
        raise TypeError(f"scatter_add: src must be a tensor, got {type(src).__name__}")
    return _scatter("scatter_add", input, dim, index, src, None, accumulate=True)


def _scatter(function: str, input, dim, index, src, value, accumulate: bool):  # noqa: A002
    input, index = _tensor(input), _index(function, index)
    dim = _dim(function, dim, input.ndim)
    if src is not None and value is not None:
        raise TypeError(f"{function}: give src or value, not both")
    if src is None and value is None:
        raise TypeError(f"{function}: missing src (a tensor) or value (a number)")
    fill = value if src is None else src
    if isinstance(fill, (Tensor, np.ndarray)):
        fill = _tensor(fill)
        if fill.dtype != input.dtype:
            raise DTypeError(f"{function}: src has dtype {fill.dtype} but input has dtype "
                             f"{input.dtype}; they must be the same")
        if fill.ndim != index.ndim or any(i > s for i, s in zip(index.shape, fill.shape)):
            raise ShapeError(f"{function}: index of shape {index.shape} must have the number of "
                             f"dimensions of src, of shape {fill.shape}, and be no larger "
                             "along any of them")
        if fill.shape != index.shape:  # only the corner the index covers is read
            fill = fill[tuple(slice(0, n) for n in index.shape)]
    elif _is_number(fill):
        fill = F.full(index.shape, dtypes.checked_scalar(fill, input.dtype), input.dtype)
    else:
        raise TypeError(f"{function}: value must be a number, got {type(fill).__name__}")
    return F.put_along_axis(input, index, fill, dim, accumulate)


def scatter_(self, dim, index, src=None, *, value=None, reduce=None):
    """In-place `scatter`: the same checks, all before this tensor changes."""
    return self._inplace(lambda original: scatter(original, dim, index, src, value=value,
                                                  reduce=reduce))


def scatter_add_(self, dim, index, src):
    """In-place `scatter_add`: the same checks, all before this tensor changes."""
    return self._inplace(lambda original: scatter_add(original, dim, index, src))


def index_select(input, dim, index):  # noqa: A002
    """The slices of `input` along `dim` at the positions in `index`, a 1-d (or 0-d) integer
    tensor, in that order (torch.index_select). Positions outside [0, input.size(dim)) raise
    IndexError naming the position; negative ones too, as in PyTorch.

    >>> import eager
    >>> eager.index_select(eager.tensor([[1, 2], [3, 4], [5, 6]]), 0, eager.tensor([2, 0]))
    tensor([[5, 6],
            [1, 2]])
    """
    input, index = _tensor(input), _index("index_select", index)
    if index.ndim > 1:
        raise IndexingError(f"index_select: index must be a vector (0-d or 1-d), got a tensor "
                            f"of shape {index.shape}")
    dim = _dim("index_select", dim, input.ndim)
    return F.gather(input, index.reshape(1) if index.ndim == 0 else index, dim)


# -- masks ----------------------------------------------------------------------------------------


def _bool_mask(function: str, mask) -> Tensor:
    mask = _tensor(mask)
    if mask.dtype != dtypes.bool_:
        raise DTypeError(f"{function}: mask has dtype {mask.dtype}; it must be bool")
    return mask


def _fill_value(function: str, value, input: Tensor):  # noqa: A002
    """`value` as an operand of input's dtype: a number the dtype can hold, or a 0-d tensor
    (through which gradients flow)."""
    if isinstance(value, Tensor):
        if value.ndim:
            raise ShapeError(f"{function}: value must be a number or a 0-d tensor, got a tensor "
                             f"of shape {value.shape}")
        return value if value.dtype == input.dtype else F.cast(value, input.dtype)
    if not _is_number(value):
        raise TypeError(f"{function}: value must be a number, got {type(value).__name__}")
    return np.asarray(dtypes.checked_scalar(value, input.dtype))


def masked_fill(input, mask, value):  # noqa: A002
    """`input` with `value` where the bool `mask` is True (torch.masked_fill); mask and input
    broadcast together. `value` is a number input's dtype can hold, or a 0-d tensor.

    >>> import eager
    >>> eager.tensor([1.0, 2.0, 3.0]).masked_fill(eager.tensor([True, False, True]), 0).tolist()
    [0.0, 2.0, 0.0]
    """
    input = _tensor(input)
    mask = _bool_mask("masked_fill", mask)
    return F.where(mask, _fill_value("masked_fill", value, input), input)


def masked_fill_(self, mask, value):
    """In-place `masked_fill`; the mask must broadcast to this tensor's shape."""
    mask = _bool_mask("masked_fill_", mask)
    if broadcast_shapes(self.shape, mask.shape, op="masked_fill_") != self.shape:
        raise ShapeError(f"masked_fill_: a mask of shape {mask.shape} would enlarge the tensor "
                         f"of shape {self.shape}")
    _fill_value("masked_fill_", value, self)
    return self._inplace(masked_fill, mask, value)


def where(condition, input=None, other=None):  # noqa: A002
    """`input` where the bool `condition` holds, else `other` (torch.where); all three
    broadcast, and input and other may be numbers. With the condition alone, the indices of its
    non-zero elements, one tensor per dimension: `nonzero(condition, as_tuple=True)`.

    >>> import eager
    >>> x = eager.tensor([-1.0, 2.0])
    >>> eager.where(x > 0, x, 0.0).tolist(), eager.where(x > 0)[0].tolist()
    ([0.0, 2.0], [1])
    """
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    if input is None or other is None:
        raise TypeError("where: give a condition alone, or a condition, input and other")
    return F.where(_tensor(condition), input, other)


def _where_method(self, condition, other):
    """`x.where(condition, y)` is `where(condition, x, y)`, as in PyTorch."""
    return where(condition, self, other)


def nonzero(input, *, as_tuple=False):  # noqa: A002
    """The indices of the non-zero elements of `input`, in row-major order (torch.nonzero): an
    int64 tensor of shape (count, input.dim()), or with `as_tuple` one 1-d tensor per dimension
    (a 0-d input counts as 1-d there, as in PyTorch).

    >>> import eager
    >>> eager.nonzero(eager.tensor([[0, 3], [4, 0]])).tolist()
    [[0, 1], [1, 0]]
    """
    input = _tensor(input)
    coordinates = F.nonzero(input)
    if not as_tuple:
        return coordinates
    if input.ndim == 0:
        return (Tensor(np.zeros(coordinates.shape[0], np.int64)),)
    return tuple(F.contiguous_copy(coordinates[:, d]) for d in range(input.ndim))


# -- sorting --------------------------------------------------------------------------------------


def sort(input, dim=-1, descending=False, stable=False):  # noqa: A002
    """(values, indices): `input` sorted along `dim`, and where each value came from
    (torch.sort). The sort is always stable, whatever `stable` says: equal values keep their
    order. NaN sorts above every number, as in PyTorch.

    >>> import eager
    >>> eager.tensor([2, 1, 2, 0]).sort(descending=True)
    sort(values=tensor([2, 2, 1, 0]), indices=tensor([0, 2, 1, 3]))
    """
    input = _tensor(input)
    values, indices = F.sort(input, _dim("sort", dim, input.ndim), descending)
    return SortResult(values, indices)


def argsort(input, dim=-1, descending=False, stable=False):  # noqa: A002
    """The indices that sort `input` along `dim` (torch.argsort); stable, as `sort`.

    >>> import eager
    >>> eager.argsort(eager.tensor([3, 1, 2])).tolist()
    [1, 2, 0]
    """
    return sort(input, dim, descending, stable).indices


def topk(input, k, dim=None, largest=True, sorted=True):  # noqa: A002
    """(values, indices) of the `k` largest (or smallest) elements along `dim`, the last one by
    default (torch.topk). They come sorted whatever `sorted` says. Among equal values the lower
    index comes first (PyTorch leaves the choice unspecified); NaN counts as the largest.

    >>> import eager
    >>> eager.tensor([1.0, 3.0, 2.0, 3.0]).topk(2)
    topk(values=tensor([3., 3.]), indices=tensor([1, 3]))
    """
    input = _tensor(input)
    dim = _dim("topk", -1 if dim is None else dim, input.ndim)
    if isinstance(k, (np.integer, Tensor)):
        k = int(k)
    values, indices = F.topk(input, k, dim, largest)
    return TopkResult(values, indices)


# -- scans and reorderings ------------------------------------------------------------------------


def cumsum(input, dim, *, dtype=None):  # noqa: A002
    """Running sums along `dim` (torch.cumsum). Integer and bool tensors sum as int64, as in
    PyTorch; `dtype` converts the input first.

    >>> import eager
    >>> eager.tensor([[1, 2], [3, 4]]).cumsum(1).tolist()
    [[1, 3], [3, 7]]
    """
    input = _tensor(input)
    dim = _dim("cumsum", dim, input.ndim)
    return F.cumsum(input if dtype is None else F.cast(input, dtypes.as_dtype(dtype)), dim)


def cumprod(input, dim, *, dtype=None):  # noqa: A002
    """Running products along `dim` (torch.cumprod). Integer and bool tensors multiply as
    int64; `dtype` converts the input first. The gradient is exact where input holds zeros.

    >>> import eager
    >>> eager.tensor([1.0, 2.0, 0.0, 3.0]).cumprod(0).tolist()
    [1.0, 2.0, 0.0, 0.0]
    """
    input = _tensor(input)
    dim = _dim("cumprod", dim, input.ndim)
    return F.cumprod(input if dtype is None else F.cast(input, dtypes.as_dtype(dtype)), dim)


def flip(input, dims=None, *more_dims):  # noqa: A002
    """A copy of `input` with the order of elements reversed along `dims` (torch.flip):
    `flip(x, (0, 1))`, `x.flip([0, 1])` or `x.flip(0, 1)`.

    >>> import eager
    >>> eager.arange(6).reshape(2, 3).flip(1).tolist()
    [[2, 1, 0], [5, 4, 3]]
    """
    if dims is None:
        raise TypeError("flip: missing dims, the dimensions to reverse")
    if isinstance(dims, (int, np.integer)):
        dims = (dims,)
    return F.flip(_tensor(input), tuple(dims) + more_dims)


def roll(input, shifts, dims=None):  # noqa: A002
    """`input` rotated by `shifts` along `dims` (torch.roll): elements pushed past the end come
    back at the start. Without dims the flattened tensor rolls and keeps its shape.

    >>> import eager
    >>> eager.arange(5).roll(2).tolist()
    [3, 4, 0, 1, 2]
    """
    return F.roll(_tensor(input), shifts, dims)


def tril(input, diagonal=0):  # noqa: A002
    """The lower triangle of the last two dimensions (torch.tril): elements on and below the
    `diagonal`-th diagonal (0 the main one, positive above it) are kept, the others are 0.

    >>> import eager
    >>> eager.ones(2, 3).tril().tolist()
    [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]]
    """
    return F.tril(_tensor(input), diagonal)


def triu(input, diagonal=0):  # noqa: A002
    """The upper triangle of the last two dimensions (torch.triu): elements on and above the
    `diagonal`-th diagonal are kept, the others are 0.

    >>> import eager
    >>> eager.ones(2, 3).triu(1).tolist()
    [[0.0, 1.0, 1.0], [0.0, 0.0, 1.0]]
    """
    return F.triu(_tensor(input), diagonal)


# The Tensor methods: the functions above, with the tensor as `self`.
_METHODS = {
    "gather": gather, "scatter": scatter, "scatter_": scatter_, "scatter_add": scatter_add,
    "scatter_add_": scatter_add_, "index_select": index_select, "masked_fill": masked_fill,
    "masked_fill_": masked_fill_, "where": _where_method, "nonzero": nonzero, "sort": sort,
    "argsort": argsort, "topk": topk, "cumsum": cumsum, "cumprod": cumprod, "flip": flip,
    "roll": roll, "tril": tril, "triu": triu,
}
for _name, _function in _METHODS.items():
    setattr(Tensor, _name, _function)
