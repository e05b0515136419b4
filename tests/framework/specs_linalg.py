"""Spec table of the linear algebra ops, and of the composites einsum and the norms."""

from functools import partial

import numpy as np

from framework import dtypes
from framework.ops import F
from tests.framework.opspec import OpSpec

MATMUL_SHAPES = [
    ((3,), (3,)),  # vector . vector -> scalar
    ((3,), (3, 4)),  # row-vector promotion
    ((2, 3), (3,)),  # column-vector promotion
    ((2, 3), (3, 4)),
    ((5, 2, 3), (3, 4)),  # a stack times one matrix
    ((2, 3), (5, 3, 4)),  # one matrix times a stack
    ((5, 2, 3), (5, 3, 4)),
    ((4, 1, 2, 3), (3, 3, 2)),  # batch dimensions broadcast against each other
    ((3,), (2, 3, 4)),  # vector times a stack
    ((2, 4, 3), (3,)),  # stack times a vector
    ((1, 1), (1, 1)),
    ((0, 3), (3, 4)),  # size-0 rows
    ((2, 0), (0, 4)),  # size-0 inner dimension: zeros
    ((2, 3), (3, 0)),
    ((0, 2, 3), (3, 4)),  # size-0 batch
]

SPECS = [
    OpSpec("matmul", F.matmul, np.matmul, MATMUL_SHAPES, dtypes=dtypes.NUMERIC,
           tolerance={dtypes.float32: (1e-5, 1e-5)},
           bad=[(((2, 3), (4, 5)), dtypes.float32, r"\(2, 3\) and \(4, 5\) are not aligned.*3"
                 r".*4"),
                (((3,), (4,)), dtypes.float64, "not aligned"),
                (((2, 2, 3), (3, 3, 4)), dtypes.float32, r"batch dimensions.*\(2,\) and \(3,\)"),
                (((), (3,)), dtypes.float32, "at least one dimension"),
                (((2, 3), (3, 2)), dtypes.bool_, "dtype bool")]),
]


def _einsum(equation, shapes, **options):
    """A row for one einsum equation: np.einsum is the reference."""
    return OpSpec(f"einsum[{equation}]", partial(F.einsum, equation),
                  partial(np.einsum, equation), shapes, dtypes=dtypes.NUMERIC,
                  tolerance={dtypes.float32: (1e-5, 1e-5)}, **options)


def _np_vector_norm(x, ord=2, axis=None, keepdims=False):
    """The vector norm over any axes (np.linalg.norm takes a pair of axes for a matrix norm)."""
    magnitude = np.abs(x.astype(np.float64))
    if ord == np.inf:
        result = magnitude.max(axis, keepdims=keepdims)
    elif ord == -np.inf:
        result = magnitude.min(axis, keepdims=keepdims)
    elif ord == 0:
        result = (x != 0).sum(axis, keepdims=keepdims)
    else:
        result = (magnitude ** ord).sum(axis, keepdims=keepdims) ** (1 / ord)
    return np.asarray(result).astype(x.dtype)


def _vector_norm(name, ord, axis=None, keepdims=False, shapes=None):
    return OpSpec(name, partial(F.vector_norm, ord=ord, axis=axis, keepdims=keepdims),
                  partial(_np_vector_norm, ord=ord, axis=axis, keepdims=keepdims),
                  shapes or [((3, 4),), ((2, 3, 4),), ((1, 5),)],
                  bad=[(((3, 4),), dtypes.int64, "vector_norm: expected a floating point")])


def _matrix_norm(ord):
    return OpSpec(f"matrix_norm[{ord}]", partial(F.matrix_norm, ord=ord),
                  partial(np.linalg.norm, ord=ord, axis=(-2, -1)),
                  [((3, 4),), ((2, 3, 4),), ((1, 1),)],
                  bad=[(((3,),), dtypes.float32, "2 or more dimensions")])


SPECS += [
    _einsum("ij,jk->ik", [((2, 3), (3, 4)), ((2, 0), (0, 4)), ((1, 3), (3, 1))],
            bad=[(((2, 3), (4, 5)), dtypes.float32, "subscript 'j' has size 4")]),
    # The batch label broadcasts (size 1 against 4), as in PyTorch and NumPy.
    _einsum("bij,bkj->bki", [((4, 2, 3), (4, 5, 3)), ((1, 2, 3), (4, 5, 3))]),
    _einsum("...ij,...j->...i", [((5, 2, 3), (3,)), ((2, 3), (2, 3)), ((2, 1, 2, 3), (4, 3))]),
    _einsum("ii->i", [((3, 3),), ((0, 0),)]),
    _einsum("ii", [((3, 3),)]),
    _einsum("i,j->ij", [((3,), (4,)), ((0,), (2,))]),
    _einsum("bi,bi->b", [((5, 3), (5, 3)), ((5, 3), (1, 3))]),
    _einsum("ij,jk,kl->il", [((2, 3), (3, 4), (4, 5))]),
    _einsum("bhqd,bhkd->bhqk", [((2, 3, 4, 5), (2, 3, 6, 5))]),
    _einsum("ijj,jk->ki", [((2, 3, 3), (3, 4))]),
    _vector_norm("vector_norm[2]", 2),
    _vector_norm("vector_norm[2, axis=1]", 2, axis=1, keepdims=True),
    _vector_norm("vector_norm[1]", 1, axis=-1),
    _vector_norm("vector_norm[inf]", np.inf, axis=(0, 1)),
    _vector_norm("vector_norm[-inf]", -np.inf, axis=0),
    _vector_norm("vector_norm[0]", 0, axis=1),
    _vector_norm("vector_norm[3]", 3, axis=1),
    _vector_norm("vector_norm[0.5]", 0.5),
    _matrix_norm("fro"),
    _matrix_norm(1),
    _matrix_norm(-1),
    _matrix_norm(np.inf),
    _matrix_norm(-np.inf),
]
