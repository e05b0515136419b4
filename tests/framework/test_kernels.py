"""The kernels layer: each vectorizable function against higher-precision maths over its whole
range and at its edges, the dispatchers, and the CPU templates' layout planning and disk cache.
The ops built on them keep their own accuracy tests (test_elementwise, test_nn, test_reduction).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numba
import numpy as np
import pytest

from framework import codegen
from framework.kernels import cpu, maths

F32_TINY, F64_TINY = np.finfo(np.float32).tiny, np.finfo(np.float64).tiny
F32_STEP, F64_STEP = 2.0**-149, 2.0**-1074  # the smallest subnormals


def elementwise(function, fastmath=frozenset({"contract"})):
    """A numba loop applying `function` (a kernels-layer function) to every element."""

    @numba.njit(error_model="numpy", fastmath=set(fastmath))
    def apply(values, out):
        for i in range(values.size):
            out[i] = function(values[i])

    def run(values):
        out = np.empty_like(values)
        apply(values, out)
        return out

    return run


def float32_by_bits(low: float, high: float, step: int) -> np.ndarray:
    """Every `step`-th float32 of [low, high] (low < 0 < high), by bit pattern: as dense near 0
    (subnormals included) as near the ends."""
    magnitudes = [np.arange(0, np.float32(limit).view(np.int32), step, dtype=np.int32)
                  .view(np.float32) for limit in (-low, high)]
    return np.concatenate([-magnitudes[0], magnitudes[1]])


def ulps(ours, exact, dtype) -> np.ndarray:
    """|ours - exact| in units in the last place of `dtype` at the exact value (exact given in
    a wider type)."""
    wide = exact.dtype.type
    spacing = np.spacing(np.abs(exact).astype(dtype)).astype(wide)
    return np.abs(ours.astype(wide) - exact) / spacing


def check_exp(ours, x, exact, dtype, step):
    """Within 1 ulp where the result is normal, within one subnormal step below, and inf, 0
    and NaN exactly where they belong."""
    with np.errstate(over="ignore"):
        rounded = exact.astype(dtype)
    normal = np.isfinite(rounded) & (exact >= np.finfo(dtype).tiny)
    assert ulps(ours[normal], exact[normal], dtype).max() <= 1.0
    small = exact < np.finfo(dtype).tiny
    assert (np.abs(ours[small].astype(exact.dtype) - exact[small]) <= step).all()
    np.testing.assert_array_equal(ours[~np.isfinite(rounded)], rounded[~np.isfinite(rounded)])


# ---------------------------------------------------------------------------------------------
# exp


EXP32_EDGES = np.float32([
    0.0, -0.0, 1e-45, -1e-45, 1e-40, -1e-40, 1.0, -1.0,
    88.72283, 88.722839, 88.7228394, 89.0, 1e10, 3e38, np.inf,  # around the overflow
    -87.33654, -87.336548, -100.0, -103.27893, -103.972, -103.9721, -104.0, -1e10, -3e38,
    -np.inf, np.nan])


def test_float32_exp_is_within_one_ulp_over_its_whole_range():
    x = np.concatenate([float32_by_bits(-110, 90, 97), EXP32_EDGES])
    ours = elementwise(maths.exp_float32)(x)
    with np.errstate(over="ignore"):
        exact = np.exp(x.astype(np.float64))
    check_exp(ours, x, exact, np.float32, F32_STEP)
    assert (ours[np.abs(x) <= 1e-40] == 1.0).all()  # zeros of both signs, subnormals
    assert (ours[x < -103.98] == 0.0).all() and np.isinf(ours[x >= 88.7228394]).all()
    assert np.isnan(ours[np.isnan(x)]).all()


@pytest.mark.skipif(np.finfo(np.longdouble).nmant < 63,
                    reason="the exact values need extended precision (long double)")
def test_float64_exp_is_within_one_ulp_over_its_whole_range():
    rng = np.random.default_rng(0)
    # e**overflow is the largest float64; below e**underflow, half the smallest subnormal,
    # results round to 0.
    overflow, underflow = math.log(np.finfo(np.float64).max), -1075 * math.log(2)
    edges = np.array([0.0, -0.0, 5e-324, -5e-324, 1e-300, 1.0, -1.0, overflow,
                      np.nextafter(overflow, np.inf), 710.0, 1e300, np.inf,
                      math.log(F64_TINY), np.nextafter(math.log(F64_TINY), -np.inf),
                      np.nextafter(underflow, 0), np.nextafter(underflow, -np.inf), -746.0,
                      -1e300, -np.inf, np.nan])
    x = np.concatenate([np.linspace(-750, 712, 2_000_003), rng.uniform(-1, 1, 500_000),
                        rng.uniform(-746, -700, 500_000), edges])
    ours = elementwise(maths.exp_float64)(x)
    with np.errstate(over="ignore"):
        exact = np.exp(x.astype(np.longdouble))
    check_exp(ours, x, exact, np.float64, F64_STEP)
    assert (ours[np.abs(x) <= 1e-300] == 1.0).all() and np.isnan(ours[np.isnan(x)]).all()
    assert np.isinf(ours[x > overflow]).all() and (ours[x < underflow] == 0.0).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exp_of_nonpositive_arguments_matches_exp_where_a_sum_with_a_one_can_see_it(dtype):
    """logsumexp's cheaper exp: the same bits as the full-range exp wherever the result is a
    normal number; below, about the smallest normal number (a sum that holds a 1 rounds it
    away), and NaN stays NaN."""
    info = np.finfo(dtype)
    lowest_normal = math.log(info.tiny)
    rng = np.random.default_rng(1)
    x = np.concatenate([
        -np.abs(rng.standard_normal(200_000)) * 20, rng.uniform(lowest_normal * 1.1, 0, 200_000),
        [0.0, -0.0, -1e-30, lowest_normal, math.ceil(lowest_normal), math.floor(lowest_normal),
         -1e4, -np.inf, np.nan]]).astype(dtype)
    full = elementwise(maths.exp_float32 if dtype == np.float32 else maths.exp_float64)(x)
    cheap = elementwise(maths.exp_nonpositive_float32 if dtype == np.float32
                        else maths.exp_nonpositive_float64)(x)
    normal = full >= info.tiny
    np.testing.assert_array_equal(cheap[normal], full[normal])
    small = ~normal & ~np.isnan(x)
    assert small.any() and (cheap[small] >= 0).all() and (cheap[small] <= 2 * info.tiny).all()
    assert np.isnan(cheap[np.isnan(x)]).all()
    assert (np.float64(1.0) + cheap[small].astype(np.float64) == 1.0).all()


# ---------------------------------------------------------------------------------------------
# log and tanh (float32; float64 is the C library's)


def test_float32_log_is_within_two_ulp_over_every_positive_float32():
    x = np.arange(1, 0x7F800000, 61, dtype=np.int64).astype(np.int32).view(np.float32)
    ours = elementwise(maths.log_float32)(x)
    assert ulps(ours, np.log(x.astype(np.float64)), np.float32).max() <= 2.0
    edges = np.float32([0.0, -0.0, 1.0, np.inf, -1e-45, -1.0, -np.inf, np.nan])
    np.testing.assert_array_equal(elementwise(maths.log_float32)(edges),
                                  np.float32([-np.inf, -np.inf, 0.0, np.inf] + [np.nan] * 4))


def test_float32_tanh_is_within_three_ulp_and_keeps_the_sign_of_zero():
    x = np.concatenate([float32_by_bits(-20, 20, 101),
                        np.linspace(-1, 1, 1_000_001, dtype=np.float32)])
    ours = elementwise(maths.tanh_float32)(x)
    assert ulps(ours, np.tanh(x.astype(np.float64)), np.float32).max() <= 3.0
    edges = np.float32([0.0, -0.0, 1e-45, -1e-40, 3e38, -3e38, np.inf, -np.inf, np.nan])
    result = elementwise(maths.tanh_float32)(edges)
    np.testing.assert_array_equal(result, np.float32([0, 0, 1e-45, -1e-40, 1, -1, 1, -1,
                                                      np.nan]))
    assert np.signbit(result[:2]).tolist() == [False, True]


# ---------------------------------------------------------------------------------------------
# Dispatchers


@pytest.mark.parametrize("name", ["exp", "log", "tanh"])
def test_dispatchers_pick_the_version_of_the_argument_type(name):
    x64 = np.linspace(0.01, 5, 1001)
    dispatcher = getattr(maths, name)
    for dtype in (np.float32, np.float64):
        x = x64.astype(dtype)
        version = getattr(maths, f"{name}_{np.dtype(dtype).name}")
        np.testing.assert_array_equal(elementwise(dispatcher)(x), elementwise(version)(x))
    assert dispatcher(0.5) == getattr(math, name)(0.5)  # from Python: the math module's


@pytest.mark.parametrize("name", ["exp", "log", "tanh"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dispatchers_keep_their_rounding_in_loops_compiled_with_fastmath(name, dtype):
    # The range reductions would be undone by a caller's 'reassoc' if numba inlined them.
    x = np.linspace(-80, 80, 100_001).astype(dtype)
    if name == "log":
        x = np.abs(x)
    dispatcher = getattr(maths, name)
    np.testing.assert_array_equal(elementwise(dispatcher, fastmath={"fast"})(x),
                                  elementwise(dispatcher)(x))


# ---------------------------------------------------------------------------------------------
# CPU templates


def test_rows_layout_finds_repeated_rows_and_columns_or_gives_up():
    assert cpu.rows_layout((2, 3, 4), ((2, 3, 4), (4,))) == (2, "fr")
    assert cpu.rows_layout((2, 3, 4), ((2, 3, 4), (3, 4))) == (1, "fr")
    assert cpu.rows_layout((2, 3, 4), ((2, 3, 1), (2, 3, 4))) == (2, "cf")
    assert cpu.rows_layout((2, 3, 4), ((1, 3, 1), (2, 3, 4))) is None  # a middle axis


def test_generated_kernels_are_loaded_from_the_codegen_cache():
    module = cpu.map_kernels(maths.exp_float32, "fr", 0, "exp")
    assert module.__file__.startswith(str(codegen.cache_dir()))
    assert module.serial._cache.__class__.__name__ != "NullCache"  # numba's disk cache is on
    assert cpu.map_kernels(maths.exp_float32, "fr", 0, "exp") is module
    ufunc = cpu.map_ufunc(maths.exp_float64, ("float64(float64)",), "exp")
    assert isinstance(ufunc, np.ufunc) and ufunc.__name__ == "exp"


_SECOND_PROCESS = """
import json, sys
import numpy as np
from framework.ops import F

x = np.linspace(-1, 1, 64, dtype=np.float32).reshape(8, 8)
F.exp(x), F.exp(x[:, ::2]), F.add(x, x[0]), F.sum(x, axis=0), F.logsumexp(x, axis=1)
F.argmax(x, axis=1), F.softmax(x, axis=0), F.cross_entropy(x, np.arange(8))
F.embedding(x, np.arange(3))
hits = misses = 0
for name, module in list(sys.modules.items()):
    if name.startswith("dualgraph_generated."):
        for value in vars(module).values():
            dispatcher = getattr(value, "_dispatcher", value)  # a vectorize: its dispatcher
            if hasattr(dispatcher, "stats"):
                hits += sum(dispatcher.stats.cache_hits.values())
                misses += sum(dispatcher.stats.cache_misses.values())
print(json.dumps([hits, misses]))
"""


def test_a_second_process_loads_every_kernel_it_runs_from_the_disk_cache():
    def run():
        result = subprocess.run([sys.executable, "-c", _SECOND_PROCESS], capture_output=True,
                                text=True, env=dict(os.environ), check=True,
                                cwd=os.path.dirname(os.path.dirname(os.path.dirname(
                                    os.path.abspath(__file__)))))
        return json.loads(result.stdout.strip().splitlines()[-1])

    run()  # compiles (and caches) whatever this cache does not hold yet
    hits, misses = run()
    assert misses == 0 and hits >= 10


# -- huge pages for the large buffers numba functions allocate --------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="madvise's advice is Linux's")
def test_madvise_links_by_name_and_the_kernel_accepts_the_advice():
    from framework.kernels import intrinsics

    @numba.njit
    def advise(array, advice):
        page = 4096
        start = (array.ctypes.data + page - 1) // page * page
        return intrinsics.madvise(start, 4 * page, advice)

    buffer = np.zeros(16 * 4096, np.uint8)
    assert advise(buffer, 0) == 0  # MADV_NORMAL: valid on every Linux
    assert advise(buffer, 12345) == -1  # advice the kernel does not know: refused, not a crash


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="madvise's advice is Linux's")
def test_advising_huge_pages_keeps_every_value_and_accepts_any_size():
    @numba.njit
    def fill(n):
        out = np.empty(n, np.float32)
        cpu.advise_huge_pages(out)
        for i in range(n):
            out[i] = i
        return out

    for n in (0, 1, 1023, 1 << 22):  # empty, smaller than a page, 16 MiB
        np.testing.assert_array_equal(fill(n), np.arange(n, dtype=np.float32))
