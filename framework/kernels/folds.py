"""How a reduction is declared from scalar bodies, for any backend's reduce template.

A fold is acc = combine(acc, term(value, param)) over the reduced values, then
finish(acc, param, count) for each output element. The reduction ops declare their folds with
their own bodies; `cpu.run_fold` (and a later CUDA backend's) turns a declaration into kernels.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numba


@dataclasses.dataclass(frozen=True, eq=False)  # one object per fold: hashed by identity, fast
class Fold:
    """A fold reduction's scalar bodies and what its kernels may assume about them.

    `takes_param`: the term and finish read one float64 per output element (the shift of
    logsumexp, the mean of var); other folds are compiled without it. `scan`: an intrinsic that
    folds a contiguous row with explicit vectors, `(values) -> (result, elements scanned)`, for
    a fold whose term is `value_term` and whose combine LLVM cannot vectorize (NaN-keeping max
    and min).
    """

    name: str
    term: Callable
    combine: Callable
    finish: Callable
    takes_param: bool = False
    scan: Callable | None = None


@numba.njit(inline="always")
def value_term(value, param):
    """The term of a plain fold: the value itself. Float32 rows folded with it are combined in
    float32 first, in short groups (twice the vector lanes), then into the float64 sum."""
    return value
