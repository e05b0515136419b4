"""Spec table of the elementwise ops."""

import numpy as np

from framework import dtypes
from framework.ops import F
from tests.framework.opspec import OpSpec

UNARY_SHAPES = [((3, 4),), ((),), ((0, 3),), ((1,),), ((2, 1, 5),)]
BINARY_SHAPES = [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((2, 3, 4), (4,)), ((), (5,)),
                 ((0, 4), (1, 4)), ((1,), (1,))]

SPECS = [
    OpSpec("exp", F.exp, np.exp, UNARY_SHAPES),
    OpSpec("neg", F.neg, np.negative, UNARY_SHAPES, dtypes=dtypes.NUMERIC),
    OpSpec("add", F.add, np.add, BINARY_SHAPES, dtypes=dtypes.NUMERIC,
           bad=[(((2, 3), (4,)), dtypes.float32, "cannot be broadcast")]),
    OpSpec("mul", F.mul, np.multiply, BINARY_SHAPES, dtypes=dtypes.NUMERIC,
           bad=[(((2, 3), (3, 2)), dtypes.float32, "cannot be broadcast")]),
    OpSpec("cast_f64", lambda x: F.cast(x, "float64"), lambda x: x.astype(np.float64),
           UNARY_SHAPES, dtypes=dtypes.ALL),
]
