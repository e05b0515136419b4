"""Spec table of the movement and indexing ops.

Calls with fixed arguments are `functools.partial`s of the neutral functions rather than
lambdas, so an error's "user line" is the test's own line (a lambda here would be named
instead). Ops whose inputs are a list (concat, stack) check their bad input in
test_movement.py for that reason.
"""

from functools import partial

import numpy as np

from framework import dtypes
from framework.ops import F
from tests.framework.opspec import OpSpec

ALL = dtypes.ALL
F32 = dtypes.float32


def values(rng, shape, dtype):
    """Data drawn the way OpSpec draws it by default."""
    kind = np.dtype(dtype).kind
    if kind == "f":
        return rng.uniform(-2.0, 2.0, size=shape).astype(dtype)
    if kind == "b":
        return rng.random(size=shape) < 0.5
    return rng.integers(-3, 4, size=shape).astype(dtype)


def indices_below(high, index_dtype=np.int64):
    """make_input: data for input 0, integer indices in [0, high) for input 1."""

    def make(rng, shape, dtype, i):
        if i == 1:
            return rng.integers(0, high, size=shape).astype(index_dtype)
        return values(rng, shape, dtype)

    return make


def labels_below(high):
    """make_input: labels in [0, high) in the case's dtype (a float dtype makes a bad case)."""

    def make(rng, shape, dtype, i):
        return rng.integers(0, high, size=shape).astype(dtype)

    return make


def split_reference(sections_or_sizes, axis):
    def reference(x):
        if isinstance(sections_or_sizes, int):
            return tuple(np.split(x, sections_or_sizes, axis))
        sizes = list(sections_or_sizes)
        if -1 in sizes:
            sizes[sizes.index(-1)] = x.shape[axis] - sum(s for s in sizes if s != -1)
        return tuple(np.split(x, np.cumsum(sizes)[:-1], axis))

    return reference


def slice_grad_reference(index, shape):
    def reference(g):
        out = np.zeros(shape, g.dtype)
        out[index] = g
        return out

    return reference


def scatter_add_reference(axis, dim_size):
    def reference(updates, indices):
        ndim = updates.ndim - indices.ndim + 1
        where = axis % ndim
        shape = updates.shape[:where] + (dim_size,) + updates.shape[where + indices.ndim:]
        out = np.zeros(shape, updates.dtype)
        np.add.at(out, (slice(None),) * where + (indices,), updates)
        return out

    return reference


def one_hot_reference(num_classes, dtype):
    return lambda labels: np.eye(num_classes, dtype=dtype)[labels]


def getitem_spec(name, index, shapes, bad=(), dtypes_=dtypes.FLOATS):
    return OpSpec(name, partial(F.getitem, index=index), lambda x: x[index], shapes,
                  dtypes=dtypes_, bad=list(bad))


def pad_spec(name, pad_width, value, shapes, bad=()):
    return OpSpec(name, partial(F.pad, pad_width=pad_width, value=value),
                  lambda x: np.pad(x, pad_width, constant_values=value), shapes, dtypes=ALL,
                  bad=list(bad))


SPECS = [
    # reshape and broadcast_to
    OpSpec("reshape_flat", partial(F.reshape, shape=(-1,)), lambda x: x.reshape(-1),
           [((2, 3, 4),), ((),), ((0, 3),), ((1,),)], dtypes=ALL),
    OpSpec("reshape_3x2", partial(F.reshape, shape=(3, 2)), lambda x: x.reshape(3, 2),
           [((6,),), ((2, 3),), ((1, 6, 1),)], dtypes=ALL,
           bad=[(((5,),), F32, r"cannot reshape \(5,\) \(5 elements\) into \(3, 2\)"),
                (((2, 4),), F32, r"\(8 elements\)")]),
    OpSpec("reshape_infer", partial(F.reshape, shape=(2, -1, 1)),
           lambda x: x.reshape(2, -1, 1), [((2, 3),), ((4,),), ((2, 0),)],
           bad=[(((3,),), F32, r"cannot reshape \(3,\) into \(2, -1, 1\)")]),
    OpSpec("broadcast_to", partial(F.broadcast_to, shape=(2, 3, 4)),
           lambda x: np.broadcast_to(x, (2, 3, 4)), [((3, 4),), ((1, 4),), ((2, 1, 1),), ((),)],
           dtypes=ALL, bad=[(((3, 5),), F32, "cannot be broadcast")]),
    # transpose and friends
    OpSpec("transpose_reverse", F.transpose, np.transpose,
           [((2, 3, 4),), ((),), ((0, 3),), ((5,),), ((1, 2, 1, 3),)], dtypes=ALL),
    OpSpec("transpose_axes", partial(F.transpose, axes=(1, -1, 0)),
           lambda x: np.transpose(x, (1, -1, 0)), [((2, 3, 4),), ((1, 0, 2),)],
           bad=[(((2, 3),), F32, r"axes \(1, -1, 0\) are not a permutation of the 2 axes"),
                (((2, 3, 4, 5),), F32, "not a permutation")]),
    OpSpec("transpose_swapaxes", partial(F.swapaxes, axis1=0, axis2=-1),
           lambda x: np.swapaxes(x, 0, -1), [((2, 3, 4),), ((3,),)],
           bad=[(((),), F32, "axis 0 is out of range for a 0-d input")]),
    OpSpec("transpose_moveaxis", partial(F.moveaxis, source=0, destination=-1),
           lambda x: np.moveaxis(x, 0, -1), [((2, 3, 4),), ((2,),)],
           bad=[(((),), F32, "out of range for a 0-d input")]),
    OpSpec("contiguous_copy", F.contiguous_copy, lambda x: np.array(x, order="C"),
           [((2, 3, 4),), ((),), ((0, 3),), ((5,),)], dtypes=ALL),
    # squeeze and unsqueeze
    OpSpec("squeeze_all", F.squeeze, np.squeeze,
           [((1, 3, 1),), ((1,),), ((2, 3),), ((0, 1),), ((),)], dtypes=ALL),
    OpSpec("squeeze_axis", partial(F.squeeze, axis=-1), lambda x: np.squeeze(x, -1),
           [((2, 1),), ((1, 1),), ((0, 1),)],
           bad=[(((2, 3),), F32, r"axis 1 of shape \(2, 3\) has size 3, not 1"),
                (((),), F32, "out of range for a 0-d input")]),
    OpSpec("unsqueeze_axis", partial(F.unsqueeze, axis=1), lambda x: np.expand_dims(x, 1),
           [((2, 3),), ((0,),), ((4,),)], dtypes=ALL,
           bad=[(((),), F32, "axis 1 is out of range for a 1-d input")]),
    OpSpec("unsqueeze_axes", partial(F.unsqueeze, axis=(0, -1)),
           lambda x: np.expand_dims(x, (0, -1)), [((),), ((2, 3),)]),
    # concat, stack, split
    OpSpec("concat_axis1", lambda *xs: F.concat(xs, axis=1),
           lambda *xs: np.concatenate(xs, axis=1),
           [((2, 3), (2, 1), (2, 0)), ((4, 2, 3), (4, 5, 3)), ((1, 1),)], dtypes=ALL),
    OpSpec("concat_last", lambda *xs: F.concat(xs, axis=-1),
           lambda *xs: np.concatenate(xs, axis=-1),
           [((2, 3), (2, 4)), ((5,), (1,)), ((0,), (0,))]),
    OpSpec("concat_axis0", lambda *xs: F.concat(xs, axis=0),
           lambda *xs: np.concatenate(xs, axis=0), [((3, 2, 2), (1, 2, 2)), ((2,), (0,))]),
    OpSpec("stack_axis0", lambda *xs: F.stack(xs, axis=0), lambda *xs: np.stack(xs, axis=0),
           [((2, 3), (2, 3)), ((), ()), ((0, 2), (0, 2), (0, 2))], dtypes=ALL),
    OpSpec("stack_last", lambda *xs: F.stack(xs, axis=-1), lambda *xs: np.stack(xs, axis=-1),
           [((2, 3), (2, 3), (2, 3)), ((4,), (4,))]),
    OpSpec("split_sizes", partial(F.split, sections_or_sizes=(1, 2, 0), axis=1),
           split_reference((1, 2, 0), 1), [((2, 3),), ((0, 3),), ((1, 3, 2),)], dtypes=ALL,
           bad=[(((2, 4),), F32, r"sizes \(1, 2, 0\) \(sum 3\) do not fit axis 1")]),
    OpSpec("split_sections", partial(F.split, sections_or_sizes=2, axis=-1),
           split_reference(2, -1), [((4, 6),), ((2,),), ((3, 0),)],
           bad=[(((3, 5),), F32, "does not divide into 2 equal sections"),
                (((),), F32, "cannot split a 0-d value")]),
    OpSpec("split_rest", partial(F.split, sections_or_sizes=(2, -1), axis=0),
           split_reference((2, -1), 0), [((5, 3),), ((2,),)],
           bad=[(((1,),), F32, r"sizes \(2, -1\) \(sum 2\) do not fit")]),
    # basic indexing and its adjoint
    getitem_spec("getitem_reverse_pick", (slice(None, None, -1), 1),
                 [((3, 4),), ((1, 2, 5),), ((0, 2),)],
                 bad=[(((3, 1),), F32, r"index 1 is out of range for axis 1 of size 1 "
                                       r"\(shape \(3, 1\)\)")]),
    getitem_spec("getitem_steps", (Ellipsis, slice(None, None, 2), None),
                 [((5,),), ((2, 3, 4),), ((0,),)], dtypes_=ALL,
                 bad=[(((),), F32, "too many indices for a 0-d value")]),
    getitem_spec("getitem_negative", (-1, slice(-3, None)), [((2, 5),), ((4, 2),)],
                 bad=[(((0, 5),), F32, "index -1 is out of range for axis 0 of size 0")]),
    getitem_spec("getitem_scalar", (0, -1), [((2, 3),), ((1, 1),)], dtypes_=ALL,
                 bad=[(((2, 0),), F32, "index -1 is out of range for axis 1 of size 0")]),
    getitem_spec("getitem_mixed", (slice(1, None, 2), None, Ellipsis, slice(-1, 0, -2)),
                 [((5, 4),), ((3, 2, 6),), ((1, 1),)]),
    OpSpec("slice_grad", partial(F.slice_grad, index=(slice(None, None, -2), 1), like=(5, 3)),
           slice_grad_reference((slice(None, None, -2), 1), (5, 3)), [((3,),)],
           bad=[(((4,),), F32, r"gradient of shape \(4,\) does not fit")]),
    OpSpec("slice_grad_newaxis", partial(F.slice_grad, index=(None, slice(1, 3)), like=(4,)),
           slice_grad_reference((None, slice(1, 3)), (4,)), [((1, 2),)], dtypes=ALL),
    # gather and scatter_add
    OpSpec("gather_axis0", partial(F.gather, axis=0), partial(np.take, axis=0),
           [((5, 3), (4,)), ((5,), (2, 3)), ((5, 2), ()), ((5, 0), (3,)), ((5, 2), (0,))],
           dtypes=ALL, make_input=indices_below(5)),
    OpSpec("gather_last", partial(F.gather, axis=-1), partial(np.take, axis=-1),
           [((2, 3), (4,)), ((2, 2, 3), (2, 2)), ((0, 3), (2,))], make_input=indices_below(3),
           bad=[(((), (2,)), F32, "cannot gather from a 0-d value")]),
    OpSpec("gather_int32_indices", partial(F.gather, axis=1), partial(np.take, axis=1),
           [((2, 4, 3), (5,))], make_input=indices_below(4, np.int32)),
    OpSpec("scatter_add_axis0", partial(F.scatter_add, axis=0, dim_size=4),
           scatter_add_reference(0, 4), [((6, 3), (6,)), ((2, 3, 2), (2, 3)), ((0, 2), (0,))],
           dtypes=dtypes.NUMERIC, make_input=indices_below(4),
           bad=[(((6, 3), (5,)), F32, r"do not hold indices' shape \(5,\) at axis 0")]),
    OpSpec("scatter_add_axis1", partial(F.scatter_add, axis=1, dim_size=3),
           scatter_add_reference(1, 3), [((2, 5, 4), (5,)), ((2, 2, 2), (2, 2))],
           make_input=indices_below(3)),
    # pad and one_hot
    pad_spec("pad_pairs", ((1, 2), (0, 3)), 1.5, [((2, 3),), ((0, 2),), ((1, 1),)],
             bad=[(((2, 3, 4),), F32, r"must hold one pair of non-negative ints per axis "
                                      r"of shape \(2, 3, 4\)")]),
    pad_spec("pad_int", 1, 0.0, [((3,),), ((2, 1, 2),), ((),)]),
    pad_spec("pad_one_pair", (0, 2), -1, [((2, 3),), ((4,),)]),
    OpSpec("one_hot", partial(F.one_hot, num_classes=4), one_hot_reference(4, np.float32),
           [((5,),), ((2, 3),), ((),), ((0,),)], dtypes=dtypes.INTS,
           make_input=labels_below(4), grad=False,
           bad=[(((3,),), F32, "labels has dtype float32")]),
    OpSpec("one_hot_float64", partial(F.one_hot, num_classes=3, dtype="float64"),
           one_hot_reference(3, np.float64), [((2, 5),)], dtypes=(dtypes.int32,),
           make_input=labels_below(3), grad=False),
    # shape_of (tf.shape)
    OpSpec("shape_of", F.shape_of, lambda x: np.array(x.shape, np.int32),
           [((2, 3, 4),), ((),), ((0, 5),), ((7,),)], dtypes=ALL, grad=False),
    OpSpec("shape_of_int64", partial(F.shape_of, dtype="int64"),
           lambda x: np.array(x.shape, np.int64), [((3, 1),), ((),)], grad=False),
    OpSpec("shape_of[float result]", partial(F.shape_of, dtype="float32"), None, [],
           grad=False, bad=[(((2,),), F32, "the result dtype must be int32 or int64, got "
                                           "float32")]),
]


SPECS += [
    OpSpec("tile", partial(F.tile, reps=(2, 1, 3)), partial(np.tile, reps=(2, 1, 3)),
           [((2, 3),), ((3,),), ((2, 1, 2),), ((),), ((0, 2),), ((2, 2, 2, 2),)], dtypes=ALL),
    OpSpec("tile_negative", partial(F.tile, reps=(2, -1)), None, [], dtypes=(), grad=False,
           bad=[(((2,),), F32, r"reps must not be negative, got \(2, -1\)")]),
]
