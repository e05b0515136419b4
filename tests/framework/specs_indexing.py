"""Spec table of the ops that index along one axis (take_along_axis, put_along_axis, nonzero)
and the composites built from basic indexing (flip, roll, tril, triu).

Calls with fixed arguments are `functools.partial`s of the neutral functions, so an error's
"user line" is the test's own line. Index inputs are drawn in range by each row's
`make_input`; the rows named `[...]` only hold bad cases, with indices drawn out of range.
"""

from functools import partial

import numpy as np

from framework import dtypes
from framework.ops import F
from tests.framework.opspec import OpSpec
from tests.framework.specs_movement import values

ALL = dtypes.ALL
F32 = dtypes.float32


def indices_below(high, index_input=1):
    """make_input: data for every input but `index_input`, which holds indices in [0, high)."""

    def make(rng, shape, dtype, i):
        if i == index_input:
            return rng.integers(0, high, size=shape).astype(np.int64)
        return values(rng, shape, dtype)

    return make


def indices_equal_to(value):
    """make_input: input 1 holds `value` everywhere (out of range, for the bad cases)."""

    def make(rng, shape, dtype, i):
        if i == 1:
            return np.full(shape, value, np.int64)
        return values(rng, shape, dtype)

    return make


def distinct_indices_below(high, axis):
    """make_input for put_along_axis: input 1 holds indices that never repeat along `axis`
    within a lane (so writes do not overwrite one another), each in [0, high)."""

    def make(rng, shape, dtype, i):
        if i != 1:
            return values(rng, shape, dtype)
        if not shape:
            return np.array(0, np.int64)
        where = axis % len(shape)
        if shape[where] > high:  # the fuzzer's arbitrary shapes: more writes than places
            raise ValueError(f"no {shape[where]} distinct indices below {high}")
        lanes = np.argsort(rng.random(shape[:where] + (high,) + shape[where + 1:]), axis=where)
        return np.take(lanes, np.arange(shape[where]), axis=where).astype(np.int64)

    return make


def with_zeros(rng, shape, dtype, i):
    """Values of which about a third are exactly zero (nonzero's and cumprod's hard case)."""
    data = values(rng, shape, dtype)
    if np.dtype(dtype).kind == "f":
        data[rng.random(size=shape) < 1 / 3] = 0
    return np.asarray(data)


def _positions(indices, axis):
    """Each position p of `indices` with its coordinate along `axis` replaced by indices[p]."""
    for p in np.ndindex(indices.shape):
        target = list(p)
        if target:
            target[axis] = int(indices[p])
        yield p, tuple(target)


def take_reference(axis):
    def reference(x, indices):
        out = np.empty(indices.shape, x.dtype)
        for p, target in _positions(indices, axis):
            out[p] = x[target]
        return out

    return reference


def put_reference(axis, accumulate):
    def reference(x, indices, updates):
        out = x.copy()
        for p, target in _positions(indices, axis):  # in C order: the last write wins
            out[target] = out[target] + updates[p] if accumulate else updates[p]
        return out

    return reference


SPECS = [
    OpSpec("take_along_axis_1", partial(F.take_along_axis, axis=1), take_reference(1),
           [((3, 4), (3, 2)), ((2, 3, 4), (2, 5, 4)), ((3, 4), (2, 6)), ((3, 4), (0, 2)),
            ((2, 3, 2), (1, 2, 1))],
           dtypes=ALL, make_input=indices_below(3),
           bad=[(((3, 4), (3,)), F32, r"indices of shape \(3,\) must have as many dimensions "
                                      r"as the input of shape \(3, 4\)"),
                (((3, 4), (4, 2)), F32, r"indices of shape \(4, 2\) are larger than the input "
                                        r"of shape \(3, 4\) along axis 0")]),
    OpSpec("take_along_axis_first", partial(F.take_along_axis, axis=-2), take_reference(0),
           [((4, 3), (2, 3)), ((5, 2), (7, 1)), ((2, 4), (3, 0))], make_input=indices_below(2)),
    OpSpec("take_along_axis_0d", partial(F.take_along_axis, axis=0), take_reference(0),
           [((), ())], dtypes=ALL, make_input=indices_below(1)),
    OpSpec("take_along_axis[index 7]", partial(F.take_along_axis, axis=1), None, [],
           make_input=indices_equal_to(7), grad=False,
           bad=[(((2, 1), (2, 3)), F32, r"take_along_axis: index 7 at position \(0, 0\) of the "
                                        r"indices is out of range for axis 1 \(size 1\) of "
                                        r"shape \(2, 1\)\n")]),
    OpSpec("put_along_axis[index -1]", partial(F.put_along_axis, axis=0), None, [],
           make_input=indices_equal_to(-1), grad=False,
           bad=[(((3,), (2,), (2,)), F32, r"index -1 at position \(0,\) of the indices is out "
                                          r"of range for axis 0 \(size 3\) of shape \(3,\); "
                                          r"negative indices are not wrapped")]),
    OpSpec("put_along_axis_1", partial(F.put_along_axis, axis=1), put_reference(1, False),
           [((3, 4), (3, 2), (3, 2)), ((2, 5, 3), (2, 2, 1), (2, 2, 1)),
            ((2, 4), (1, 4), (1, 4)), ((0, 3), (0, 2), (0, 2))],
           dtypes=ALL, make_input=distinct_indices_below(4, 1), wrt=(0, 2),
           bad=[(((3, 4), (3, 2), (3, 3)), F32, r"values of shape \(3, 3\) must have the "
                                                r"shape of the indices, \(3, 2\)")]),
    OpSpec("put_along_axis_0d", partial(F.put_along_axis, axis=-1), put_reference(0, False),
           [((), (), ())], make_input=distinct_indices_below(1, 0)),
    OpSpec("put_along_axis_add", partial(F.put_along_axis, axis=0, accumulate=True),
           put_reference(0, True),
           [((3, 2), (5, 2), (5, 2)), ((4, 3, 2), (6, 2, 2), (6, 2, 2)), ((3,), (0,), (0,))],
           dtypes=dtypes.NUMERIC, make_input=indices_below(3), wrt=(0, 2),
           bad=[(((3, 2), (5, 2), (5, 2)), dtypes.bool_, "input has dtype bool")]),
    OpSpec("nonzero", F.nonzero, np.argwhere,
           [((3, 4),), ((),), ((0, 3),), ((6,),), ((2, 3, 2),)], dtypes=ALL,
           make_input=with_zeros, grad=False),
    OpSpec("flip_two_axes", partial(F.flip, axes=(0, -1)), partial(np.flip, axis=(0, -1)),
           [((2, 3, 4),), ((3, 2),), ((0, 2),)], dtypes=ALL,
           bad=[(((3,),), F32, r"axes \(0, 0\) name an axis more than once")]),
    OpSpec("flip_middle", partial(F.flip, axes=1), partial(np.flip, axis=1),
           [((2, 3, 4),), ((1, 5),)],
           bad=[(((4,),), F32, "axis 1 is out of range for a 1-d input")]),
    OpSpec("roll_axes", partial(F.roll, shifts=(1, -5), axes=(0, 1)),
           partial(np.roll, shift=(1, -5), axis=(0, 1)),
           [((3, 4),), ((2, 3, 2),), ((1, 2),), ((0, 3),)], dtypes=ALL),
    OpSpec("roll_flat", partial(F.roll, shifts=4), partial(np.roll, shift=4),
           [((2, 3),), ((5,),), ((),), ((3, 0),)], dtypes=ALL),
    OpSpec("tril_below", partial(F.tril, diagonal=-1), partial(np.tril, k=-1),
           [((3, 4),), ((2, 3, 3),), ((0, 2),), ((4, 1),)], dtypes=ALL,
           bad=[(((3,),), F32, r"at least 2 dimensions, got shape \(3,\)")]),
    OpSpec("triu_above", partial(F.triu, diagonal=1), partial(np.triu, k=1),
           [((3, 4),), ((2, 4, 3),), ((1, 1),)], dtypes=ALL),
]
