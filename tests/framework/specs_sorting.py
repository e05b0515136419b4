"""Spec table of sort and topk.

The references sort each lane with Python's `sorted`, which is stable (also with
reverse=True): equal values keep their order, the order the kernels promise. Integer and bool
draws hold many ties, so the tie order is checked on every row with those dtypes.
"""

from functools import partial

import numpy as np

from framework import dtypes
from framework.ops import F
from tests.framework.opspec import OpSpec

ALL = dtypes.ALL
F32 = dtypes.float32


def stable_order(x, axis, descending):
    """The positions that sort `x` along `axis`, ties in their original order."""
    if x.ndim == 0:
        return np.zeros((), np.int64)
    lanes = np.moveaxis(x, axis, -1)
    order = np.empty(lanes.shape, np.int64)
    for lane in np.ndindex(lanes.shape[:-1]):
        row = lanes[lane]
        order[lane] = sorted(range(row.size), key=lambda j: row[j], reverse=descending)
    return np.moveaxis(order, -1, axis)


def sort_reference(axis, descending, k=None):
    def reference(x):
        order = stable_order(x, axis, descending)
        if k is not None and x.ndim:
            order = np.take(order, np.arange(k), axis=axis)
        picked = np.take_along_axis(x, order, axis) if x.ndim else x.copy()
        return picked, order

    return reference


SPECS = [
    OpSpec("sort_last", F.sort, sort_reference(-1, False),
           [((3, 5),), ((2, 3, 4),), ((7,),), ((),), ((0, 3),), ((40,),)], dtypes=ALL),
    OpSpec("sort_descending_first", partial(F.sort, axis=0, descending=True),
           sort_reference(0, True), [((5, 3),), ((4, 2, 3),), ((1,),), ((33, 2),)],
           dtypes=ALL),
    OpSpec("argsort_descending", partial(F.argsort, axis=1, descending=True),
           lambda x: stable_order(x, 1, True), [((3, 6),), ((2, 5, 2),), ((2, 0),)],
           dtypes=ALL, grad=False,
           bad=[(((4,),), F32, "axis 1 is out of range for a 1-d input")]),
    OpSpec("topk_largest", partial(F.topk, k=2), sort_reference(-1, True, 2),
           [((3, 5),), ((2, 4, 3),), ((4, 2),), ((0, 2),), ((1, 50),)], dtypes=ALL,
           bad=[(((3, 1),), F32, r"topk: k=2 is out of range for axis 1 \(size 1\) of shape "
                                 r"\(3, 1\); k must lie in \[0, 1\]"),
                (((),), F32, "be 1 for a 0-d value")]),
    OpSpec("topk_smallest_first", partial(F.topk, k=3, axis=0, largest=False),
           sort_reference(0, False, 3), [((4, 3),), ((3,),), ((5, 2, 2),)], dtypes=ALL),
    OpSpec("topk_0d", partial(F.topk, k=1), sort_reference(-1, True, 1), [((),)]),
]
