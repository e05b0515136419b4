"""torch.linalg's norms for eager Tensors: `eager.linalg.norm`, `vector_norm`, `matrix_norm`.

PyTorch's names, argument names (`ord`, `dim`, `keepdim`, `dtype`) and dispatch rules; the
arithmetic is the op layer's (`F.vector_norm`, `F.matrix_norm`), so the norms differentiate and
the graph front-end has them too. Matrix norms that need singular values (ord 2, -2 and 'nuc')
are refused with `UnsupportedNormError`, a NotImplementedError.
"""

from __future__ import annotations

import numpy as np

from eager.tensor import Tensor
from framework.errors import ArgumentError, ShapeError
from framework.ops import F
from framework.ops.linalg import UnsupportedNormError

__all__ = ["matrix_norm", "norm", "vector_norm", "UnsupportedNormError"]


def _tensor(value) -> Tensor:
    return value if isinstance(value, Tensor) else Tensor(value)


def refuse_out(function: str, out) -> None:
    if out is not None:
        raise TypeError(f"{function}(): out= is not supported; use the returned tensor")


def _dim(dim):
    """PyTorch's dim (an int, a sequence of ints, or None) as the op layer's axis."""
    if dim is None or isinstance(dim, (int, np.integer)):
        return dim
    return tuple(dim)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None, out=None):  # noqa: A002
    """The ord-norm of x seen as a vector over `dim` (None: all of it): (sum |x|**ord)**(1/ord);
    inf the largest |x|, -inf the smallest, 0 the number of non-zero entries. Floats only;
    `dtype` converts x first. The gradient is 0 where the norm is 0, as in PyTorch.

    >>> import eager
    >>> eager.linalg.vector_norm(eager.tensor([[3.0, 4.0], [6.0, 8.0]]), dim=1).tolist()
    [5.0, 10.0]
    """
    refuse_out("linalg.vector_norm", out)
    return F.vector_norm(_tensor(x), ord, _dim(dim), keepdim, dtype)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None, out=None):  # noqa: N803
    """A matrix norm over the two dimensions `dim` of A: 'fro' (the default), 1 and -1 (the
    largest and smallest column sum of |A|), inf and -inf (the largest and smallest row sum).

    >>> import eager
    >>> eager.linalg.matrix_norm(eager.tensor([[1.0, -2.0], [3.0, 4.0]]), ord=1).item()
    6.0
    """
    refuse_out("linalg.matrix_norm", out)
    return F.matrix_norm(_tensor(A), ord, _dim(dim), keepdim, dtype)


def norm(A, ord=None, dim=None, keepdim=False, *, out=None, dtype=None):  # noqa: A002, N803
    """PyTorch's linalg.norm: a vector norm when `dim` is one dimension, a matrix norm when it
    is two; without `dim`, the 2-norm of all of A when `ord` is None, else a vector norm of a
    1-D A or a matrix norm of a 2-D A.

    >>> import eager
    >>> A = eager.tensor([[1.0, -2.0], [3.0, 4.0]])
    >>> round(eager.linalg.norm(A).item(), 4), eager.linalg.norm(A, float("inf")).item()
    (5.4772, 7.0)
    """
    refuse_out("linalg.norm", out)
    A = _tensor(A)
    dims = _dim(dim)
    if isinstance(dims, tuple) and len(dims) == 1:
        dims = dims[0]
    if dims is None and ord is not None:
        if A.ndim not in (1, 2):
            raise ShapeError(f"linalg.norm: if dim is not given but ord is, the input must be "
                             f"1-D or 2-D; got {A.ndim}-D (shape {A.shape})")
        dims = 0 if A.ndim == 1 else (0, 1)
    if isinstance(dims, tuple):
        if len(dims) != 2:
            raise ShapeError(f"linalg.norm: dim must be one or two dimensions, got {dim!r}")
        return matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
    if isinstance(ord, str):
        raise ArgumentError(f"linalg.norm: ord {ord!r} is a matrix norm, but dim names one "
                            "dimension (or none)")
    return vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
