"""Spec table of the scans, cumsum and cumprod.

NumPy's cumsum and cumprod give the dtypes ours must (int64 for bool and int32 inputs). Ours
accumulate float32 in float64 where NumPy stays in float32; the float32 tolerance covers the
difference at these sizes.
"""

from functools import partial

import numpy as np

from framework import dtypes
from framework.ops import F
from tests.framework.opspec import OpSpec
from tests.framework.specs_movement import values

ALL = dtypes.ALL
F32 = dtypes.float32


def one_zero_per_lane(axis):
    """make_input: values with one exact zero in each lane along `axis` (cumprod's gradient
    divides by no zero, and is exact to second order there)."""

    def make(rng, shape, dtype, i):
        data = values(rng, shape, dtype)
        lanes = np.moveaxis(data, axis, 0)
        for lane in np.ndindex(lanes.shape[1:]):
            lanes[(rng.integers(lanes.shape[0]),) + lane] = 0
        return data

    return make


def several_zeros(rng, shape, dtype, i):
    """make_input: about half the values exactly zero, several to a lane."""
    data = values(rng, shape, dtype)
    data[rng.random(size=shape) < 0.5] = 0
    return data


def scan_reference(numpy_scan, axis, reverse=False):
    def reference(x):
        if x.ndim == 0:
            return numpy_scan(x).reshape(())
        if reverse:
            return np.flip(numpy_scan(np.flip(x, axis), axis), axis)
        return numpy_scan(x, axis)

    return reference


SPECS = [
    OpSpec("cumsum_1", partial(F.cumsum, axis=1), scan_reference(np.cumsum, 1),
           [((3, 4),), ((2, 3, 4),), ((0, 3),), ((2, 1),)], dtypes=ALL,
           bad=[(((3,),), F32, "cumsum: axis 1 is out of range for a 1-d input")]),
    OpSpec("cumsum_first_reverse", partial(F.cumsum, axis=-2, reverse=True),
           scan_reference(np.cumsum, -2, reverse=True), [((5, 3),), ((2, 4, 2),), ((1, 1),)],
           dtypes=dtypes.NUMERIC),
    OpSpec("cumsum_0d", partial(F.cumsum, axis=0), scan_reference(np.cumsum, 0), [((),)],
           dtypes=ALL),
    OpSpec("cumprod_last", partial(F.cumprod, axis=-1), scan_reference(np.cumprod, -1),
           [((3, 4),), ((2, 3, 5),), ((6,),), ((),), ((0, 2),)], dtypes=ALL),
    OpSpec("cumprod_one_zero", partial(F.cumprod, axis=0), scan_reference(np.cumprod, 0),
           [((6, 4),), ((5,),), ((4, 3, 2),)], make_input=one_zero_per_lane(0)),
    OpSpec("cumprod_several_zeros", partial(F.cumprod, axis=1), scan_reference(np.cumprod, 1),
           [((3, 8),), ((2, 6, 2),)], make_input=several_zeros, second_order=False),
]
