"""Spec table of the linear algebra ops."""

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
