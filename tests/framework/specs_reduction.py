"""Spec table of the reductions: sum, mean, prod, max, min, argmax, argmin, logsumexp, var.

Each reduction appears with several `axis` / `keepdims` settings; the shapes of each entry cover
size-0 and size-1 dimensions, negative axes, and axes that interleave with kept ones (which take
the copying path). Calls are `functools.partial`s of the neutral functions, so an error names
the test's own line. Behaviour the table cannot express (NaN, ties, accuracy, zeros in prod)
is tested in test_reduction.py.
"""

import warnings
from functools import partial

import numpy as np

from framework import dtypes
from framework.ops import F
from tests.framework.opspec import OpSpec

ALL = dtypes.ALL
FLOATS = dtypes.FLOATS
F32 = dtypes.float32


def numpy_logsumexp(x, axis=None, keepdims=False):
    """The stable formula in float64, with non-finite maxima shifted by 0 (as scipy does)."""
    wide = x.astype(np.float64)
    top = np.max(wide, axis=axis, keepdims=True, initial=-np.inf)
    shift = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        result = np.log(np.sum(np.exp(wide - shift), axis=axis, keepdims=True)) + shift
    if not keepdims:
        result = np.squeeze(result, axis=axis) if axis is not None else result.reshape(())
    return result.astype(x.dtype)


def numpy_quietly(function, **keywords):
    """A NumPy reference with its empty-slice and degrees-of-freedom warnings silenced."""

    def reference(x):
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.asarray(function(x, **keywords))

    return reference


def int64_reference(function, **keywords):
    """NumPy's argmax/argmin give intp, which is int64 on the 64-bit Linux we test."""

    def reference(x):
        return np.asarray(function(x, **keywords), dtype=np.int64)

    return reference


def distinct(rng, shape, dtype, i):
    """Values with no ties (a permutation, shuffled), so max/min gradients are unambiguous."""
    size = int(np.prod(shape))
    values = rng.permutation(size).reshape(shape) - size / 2
    if np.dtype(dtype).kind == "f":
        return (values * 0.37).astype(dtype)
    if np.dtype(dtype).kind == "b":
        return values > 0
    return values.astype(dtype)


# (axis, keepdims, input shapes) for reductions that accept any set of axes. Each entry gives
# the ways the layout step can see it: rows (last axes), columns (first axes), a middle run
# (outer, reduced, inner), interleaved axes (the copy), and everything.
AXES_CASES = [
    (None, False, [((3, 4),), ((),), ((0, 3),), ((1,),), ((2, 3, 4),)]),
    (None, True, [((3, 4),), ((2, 1, 3),)]),
    (-1, False, [((3, 4),), ((5,),), ((3, 0),), ((0, 4),), ((2, 3, 1),)]),
    (0, True, [((3, 4),), ((1, 4),), ((4, 1, 3),), ((0, 3),)]),
    (1, False, [((2, 3, 4),), ((2, 1, 4),), ((3, 5),)]),
    ((0, 2), False, [((2, 3, 4),), ((2, 3, 1, 4),)]),
    ((-1, -3), True, [((2, 3, 4),), ((2, 1, 1, 4),)]),
    ((), False, [((3, 4),)]),
]

# No identity: the shapes must not reduce over a zero-size axis.
EXTREMUM_AXES_CASES = [
    (None, False, [((3, 4),), ((),), ((1,),), ((2, 3, 4),)]),
    (-1, False, [((3, 4),), ((5,),), ((0, 4),), ((2, 3, 1),)]),
    (0, True, [((3, 4),), ((1, 4),), ((4, 1, 3),), ((3, 0),)]),
    ((0, 2), False, [((2, 3, 4),), ((2, 3, 1, 4),)]),
    ((-1, -3), True, [((2, 3, 4),)]),
]


def _label(axis, keepdims) -> str:
    return f"axis={axis}{',keepdims' if keepdims else ''}"


def _reduction_specs(name, function, reference, cases, **options):
    return [OpSpec(f"{name}[{_label(axis, keepdims)}]",
                   partial(function, axis=axis, keepdims=keepdims),
                   reference(axis=axis, keepdims=keepdims), shapes, **options)
            for axis, keepdims, shapes in cases]


def _numpy(function):
    return lambda axis, keepdims: numpy_quietly(function, axis=axis, keepdims=keepdims)


SPECS = [
    *_reduction_specs("sum", F.sum, _numpy(np.sum), AXES_CASES, dtypes=ALL),
    *_reduction_specs("mean", F.mean, _numpy(np.mean), AXES_CASES, dtypes=ALL),
    *_reduction_specs("prod", F.prod, _numpy(np.prod), AXES_CASES, dtypes=ALL),
    *_reduction_specs("max", F.max, _numpy(np.max), EXTREMUM_AXES_CASES, dtypes=ALL,
                      make_input=distinct),
    *_reduction_specs("min", F.min, _numpy(np.min), EXTREMUM_AXES_CASES, dtypes=ALL,
                      make_input=distinct),
    *_reduction_specs(
        "logsumexp", F.logsumexp,
        lambda axis, keepdims: partial(numpy_logsumexp, axis=axis, keepdims=keepdims),
        AXES_CASES),
    *_reduction_specs("var", F.var, _numpy(np.var), AXES_CASES),
    OpSpec("var[axis=1,correction=1]", partial(F.var, axis=1, correction=1),
           numpy_quietly(np.var, axis=1, ddof=1), [((3, 4),), ((2, 5, 3),), ((4, 1),)]),
    OpSpec("var[ddof=2,keepdims]", partial(F.var, ddof=2, keepdims=True),
           numpy_quietly(np.var, ddof=2, keepdims=True), [((3, 4),), ((5,),)]),
    # argmax/argmin: one axis or None; ties and NaN are tested in test_reduction.py.
    *[OpSpec(f"{name}[{_label(axis, keepdims)}]", partial(function, axis=axis, keepdims=keepdims),
             int64_reference(reference, axis=axis, keepdims=keepdims), shapes, dtypes=ALL,
             grad=False)
      for name, function, reference in [("argmax", F.argmax, np.argmax),
                                        ("argmin", F.argmin, np.argmin)]
      for axis, keepdims, shapes in [
          (None, False, [((3, 4),), ((),), ((2, 3, 4),), ((70,),)]),
          (None, True, [((3, 4),), ((2, 1, 3),)]),
          (-1, False, [((3, 4),), ((2, 3, 40),), ((0, 5),), ((4, 1),)]),
          (0, True, [((3, 4),), ((50, 3),), ((3, 0),), ((1, 6),)]),
          (1, False, [((2, 3, 4),), ((2, 70, 3),)]),
      ]],
]

# Input that must be refused before any kernel runs.
SPECS += [
    OpSpec("sum[bad axis]", partial(F.sum, axis=2), np.sum, [], dtypes=ALL, grad=False,
           bad=[(((3, 4),), F32, "axis 2 is out of range"),
                (((),), F32, "axis 2 is out of range")]),
    OpSpec("mean[repeated axis]", partial(F.mean, axis=(0, -2)), np.mean, [], grad=False,
           bad=[(((3, 4),), F32, "repeats an axis")]),
    OpSpec("prod[axis not an int]", partial(F.prod, axis=1.0), np.prod, [], grad=False,
           bad=[(((3, 4),), F32, "axis must be an int")]),
    OpSpec("max[empty axis]", partial(F.max, axis=1), np.max, [], dtypes=ALL, grad=False,
           bad=[(((3, 0),), F32, "max: cannot reduce over axis 1 of shape \\(3, 0\\)"),
                (((0, 0),), dtypes.int32, "size 0")]),
    OpSpec("min[empty input]", F.min, np.min, [], grad=False,
           bad=[(((0,),), F32, "min: cannot reduce over axis 0")]),
    OpSpec("argmax[empty axis]", partial(F.argmax, axis=0), np.argmax, [], grad=False,
           bad=[(((0, 3),), F32, "argmax: cannot take the maximum over a zero-size axis"),
                (((0,),), dtypes.bool_, "zero-size")]),
    OpSpec("argmin[empty input]", F.argmin, np.argmin, [], grad=False,
           bad=[(((2, 0, 3),), F32, "argmin: cannot take the minimum")]),
    OpSpec("argmax[tuple axis]", partial(F.argmax, axis=(0, 1)), np.argmax, [], grad=False,
           bad=[(((2, 3),), F32, "argmax: axis must be one int or None")]),
    OpSpec("argmin[bad axis]", partial(F.argmin, axis=-3), np.argmin, [], grad=False,
           bad=[(((2, 3),), F32, "axis -3 is out of range")]),
    OpSpec("logsumexp[ints]", F.logsumexp, np.sum, [], grad=False,
           bad=[(((3,),), dtypes.int32, "logsumexp: input has dtype int32"),
                (((3,),), dtypes.bool_, "dtype bool")]),
    OpSpec("var[ints]", partial(F.var, axis=0), np.var, [], grad=False,
           bad=[(((3, 2),), dtypes.int64, "var: input has dtype int64")]),
]
