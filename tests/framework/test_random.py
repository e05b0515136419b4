"""Random ops and Generator: the exact stream, its statistics, and independence of the path.

The spec table (specs_random.py) checks dropout's forward and gradient; here: the sampling ops
against the NumPy reference of the stream, statistics on 1e6 samples, seeds, the serial and
parallel kernels agreeing, errors, and the Generator's sequence of seeds.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from scipy import stats

from framework import dtypes
from framework.errors import DTypeError, DualgraphError, ShapeError
from framework.ops import REGISTRY, F
from framework.ops import random as R
from framework.ops.autodiff import apply_vjp
from framework.ops.registry import Spec
from tests.framework import tracer
from tests.framework.specs_random import (
    reference_bernoulli,
    reference_bits,
    reference_normal,
    reference_uniform,
)

MILLION = 1_000_000
# Sizes around the serial/parallel switch and the block size, odd ones for Box-Muller's pairs.
SIZES = [0, 1, 2, 7, R.PARALLEL_MIN_SIZE_NORMAL + 1, R.BLOCK_SIZE + 3, R.PARALLEL_MIN_SIZE + 5]
SEEDS = [0, 1, 123456789, 2**63 - 1, 2**63, 2**64 - 1]


@pytest.fixture(scope="module")
def million_uniform():
    return F.uniform((MILLION,), seed=2024, dtype="float64")


@pytest.fixture(scope="module")
def million_normal():
    return F.normal((MILLION,), seed=2024, dtype="float64")


# ---------------------------------------------------------------------------------------------
# The exact stream


@pytest.mark.parametrize("seed", SEEDS)
def test_bits_match_reference(seed):
    key = R.key_of(seed)
    ours = np.array([R.counter_bits(key, np.uint64(i)) for i in range(5)], np.uint64)
    np.testing.assert_array_equal(ours, reference_bits(seed, 5))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dtype", dtypes.FLOATS)
def test_uniform_matches_reference(size, dtype):
    ours = F.uniform((size,), seed=99, low=-3.0, high=5.0, dtype=dtype)
    assert ours.dtype == dtype and ours.shape == (size,)
    np.testing.assert_array_equal(ours, reference_uniform((size,), 99, -3.0, 5.0, dtype))


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dtype", dtypes.FLOATS)
def test_normal_matches_reference(size, dtype):
    ours = F.normal((size,), seed=99, mean=1.5, std=2.0, dtype=dtype)
    assert ours.dtype == dtype and ours.shape == (size,)
    # libm and NumPy may differ in the last bit of log/cos/sin.
    rtol = 1e-6 if dtype == dtypes.float32 else 1e-13
    np.testing.assert_allclose(ours, reference_normal((size,), 99, 1.5, 2.0, dtype),
                               rtol=rtol, atol=rtol)


@pytest.mark.parametrize("size", SIZES)
def test_bernoulli_matches_reference(size):
    ours = F.bernoulli((size,), 0.3, seed=99)
    assert ours.dtype == dtypes.bool_
    np.testing.assert_array_equal(ours, reference_bernoulli((size,), 0.3, 99))


@pytest.mark.parametrize("seed", SEEDS)
def test_seeds_of_the_full_64_bit_range(seed):
    np.testing.assert_array_equal(F.uniform((4, 3), seed, dtype="float64"),
                                  reference_uniform((4, 3), seed, 0.0, 1.0, np.float64))


def test_negative_seeds_wrap_like_pytorch():
    np.testing.assert_array_equal(F.uniform((5,), -1), F.uniform((5,), 2**64 - 1))
    np.testing.assert_array_equal(F.normal((5,), np.int64(-7)), F.normal((5,), 2**64 - 7))


def test_an_element_depends_only_on_seed_and_flat_index():
    small = F.normal((3, 5), seed=8)  # serial path
    large = F.normal((R.PARALLEL_MIN_SIZE + 1,), seed=8)  # parallel path
    np.testing.assert_array_equal(small.reshape(-1), large[:15])
    np.testing.assert_array_equal(F.uniform((2, 3), 4), F.uniform((6,), 4).reshape(2, 3))
    np.testing.assert_array_equal(F.bernoulli((5, 2), 0.5, 4),
                                  F.bernoulli((10,), 0.5, 4).reshape(5, 2))


def test_float32_is_the_float64_draw_rounded():
    for sample in (F.uniform, F.normal):
        single = sample((1000,), 17, dtype="float32")
        double = sample((1000,), 17, dtype="float64")
        np.testing.assert_array_equal(single, double.astype(np.float32))


@pytest.mark.parametrize("size", [1, 5, R.BLOCK_SIZE - 1, 3 * R.BLOCK_SIZE + 7])
@pytest.mark.parametrize("dtype", dtypes.FLOATS)
def test_parallel_and_serial_kernels_agree(size, dtype):
    def both(fill, dtype, *arguments):
        results = []
        for parallel in (False, True):
            out = np.full(size, 7, dtype)
            fill(out, *arguments, parallel)
            results.append(out)
        return results

    for fill, arguments in [(R._fill_uniform, (5, -1.0, 2.0)), (R._fill_normal, (5, 0.5, 3.0))]:
        serial, parallel = both(fill, dtype, *arguments)
        np.testing.assert_array_equal(serial, parallel)
    serial, parallel = both(R._fill_bernoulli, np.bool_, 5, 0.4)
    np.testing.assert_array_equal(serial, parallel)
    x = np.linspace(-1, 1, size).astype(dtype)
    outputs = []
    for parallel in (False, True):
        out = np.full(size, 7, dtype)
        R._apply_dropout(x, out, 5, 0.4, parallel)
        outputs.append(out)
    np.testing.assert_array_equal(*outputs)


# ---------------------------------------------------------------------------------------------
# Statistics on 1e6 samples (fixed seeds: deterministic, so the tolerances cannot flake)


def test_uniform_statistics(million_uniform):
    u = million_uniform
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / MILLION)
    assert abs(u.var() - 1 / 12) < 1e-3
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    counts = np.bincount((u * 100).astype(np.int64), minlength=100)
    assert stats.chisquare(counts).pvalue > 1e-3


def test_uniform_range_and_moments_with_low_high():
    u = F.uniform((MILLION,), seed=5, low=-2.0, high=6.0)
    assert u.dtype == np.float32
    assert u.min() >= -2.0 and u.max() < 6.0
    assert abs(u.mean() - 2.0) < 0.02 and abs(u.std() - 8 / np.sqrt(12)) < 0.01


def test_uniform_never_reaches_high_after_rounding():
    # float32 is 8 apart near 1e8: most draws round to 1e8 + 8 or up onto `high` itself.
    low, high = 1.0e8, 1.0e8 + 16.0
    u = F.uniform((10_000,), seed=1, low=low, high=high, dtype="float32")
    assert u.max() < np.float32(high) and u.min() >= np.float32(low)
    assert set(np.unique(u).tolist()) == {1.0e8, 1.0e8 + 8.0}


def test_normal_statistics(million_normal):
    z = million_normal
    assert abs(z.mean()) < 5 / np.sqrt(MILLION)
    assert abs(z.std() - 1.0) < 5 / np.sqrt(2 * MILLION)
    assert abs(stats.kurtosis(z, fisher=False) - 3.0) < 0.03
    assert abs(stats.skew(z)) < 0.01
    assert abs(np.mean(np.abs(z) > 3) - 0.0026998) < 3e-4
    assert np.isfinite(z).all()
    assert stats.kstest(z, "norm").pvalue > 1e-3


def test_normal_mean_std_float32():
    z = F.normal((MILLION,), seed=11, mean=-3.0, std=0.25)
    assert z.dtype == np.float32
    assert abs(z.mean() + 3.0) < 5 * 0.25 / np.sqrt(MILLION)
    assert abs(z.std() - 0.25) < 5 * 0.25 / np.sqrt(2 * MILLION)


def test_box_muller_pairs_are_independent(million_normal):
    first, second = million_normal[0::2], million_normal[1::2]
    assert abs(np.corrcoef(first, second)[0, 1]) < 5e-3
    # Independence, not only no correlation: squares of a shared radius would correlate.
    assert abs(np.corrcoef(first**2, second**2)[0, 1]) < 5e-3


@pytest.mark.parametrize("p", [0.1, 0.5, 0.93])
def test_bernoulli_frequency(p):
    mask = F.bernoulli((MILLION,), p, seed=3)
    assert abs(mask.mean() - p) < 5 * np.sqrt(p * (1 - p) / MILLION)


def test_bernoulli_extremes():
    assert not F.bernoulli((1000,), 0.0, seed=3).any()
    assert F.bernoulli((1000,), 1.0, seed=3).all()


def test_streams_of_neighbouring_seeds_are_uncorrelated():
    for seed in (0, 1, 1000, 2**63 - 1):
        a = F.uniform((MILLION,), seed, dtype="float64")
        b = F.uniform((MILLION,), seed + 1, dtype="float64")
        assert abs(np.corrcoef(a, b)[0, 1]) < 5e-3
        assert np.mean(a < b) == pytest.approx(0.5, abs=5e-3)


def test_neighbouring_elements_are_uncorrelated(million_uniform):
    u = million_uniform
    for lag in (1, 2, 64):
        assert abs(np.corrcoef(u[:-lag], u[lag:])[0, 1]) < 5e-3


def test_every_bit_is_fair():
    # Through the reference, which agrees with the kernel bit for bit (tested above).
    for seed in (0, 77, 2**40):
        bits = reference_bits(seed, 100_000)
        ones = np.unpackbits(bits.view(np.uint8)).reshape(-1, 64).mean(axis=0)
        assert np.all(np.abs(ones - 0.5) < 5 * 0.5 / np.sqrt(100_000)), ones


def test_seed_determinism_and_difference():
    np.testing.assert_array_equal(F.normal((50,), 1), F.normal((50,), 1))
    assert not np.array_equal(F.normal((50,), 1), F.normal((50,), 2))
    assert not np.array_equal(F.uniform((50,), 1), F.uniform((50,), 2))


# ---------------------------------------------------------------------------------------------
# Dropout


def test_dropout_mask_is_bernoulli_of_keep_probability():
    x = np.arange(1, 10_001, dtype=np.float64).reshape(100, 100)
    y = F.dropout(x, 0.3, seed=42)
    kept = F.bernoulli(x.shape, 0.7, seed=42)
    np.testing.assert_array_equal(y != 0, kept)
    np.testing.assert_allclose(y[kept], x[kept] / 0.7, rtol=1e-15)


def test_dropout_statistics():
    x = np.ones(MILLION, np.float32)
    y = F.dropout(x, 0.25, seed=9)
    assert abs(np.mean(y == 0) - 0.25) < 5 * np.sqrt(0.25 * 0.75 / MILLION)
    assert set(np.unique(y).tolist()) == {0.0, np.float32(1 / 0.75)}
    assert abs(y.mean() - 1.0) < 0.005  # inverted dropout keeps the expectation


def test_dropout_p_zero_is_the_input_itself_and_p_one_gives_zeros():
    x = np.arange(6, dtype=np.float32)
    assert F.dropout(x, 0.0, seed=1) is x
    y = F.dropout(x, 1.0, seed=1)
    assert y.dtype == x.dtype and not y.any()


def test_dropout_drops_non_finite_values_to_zero():
    x = np.array([np.inf, np.nan, -np.inf] * 1000, np.float32)
    y = F.dropout(x, 0.5, seed=2)
    dropped = ~F.bernoulli(x.shape, 0.5, seed=2)
    assert dropped.any() and (y[dropped] == 0).all()


def test_dropout_of_a_strided_view_uses_logical_indices():
    base = np.arange(200, dtype=np.float32).reshape(10, 20)
    view = base[:, ::2].T  # non-contiguous, transposed
    np.testing.assert_array_equal(F.dropout(view, 0.5, 3),
                                  F.dropout(np.ascontiguousarray(view), 0.5, 3))


def test_dropout_gradient_is_dropout_of_the_cotangent_with_the_same_seed():
    x = tracer.leaf(np.linspace(-1, 1, 40).reshape(5, 8))
    y = F.dropout(x, 0.4, seed=6)
    g = np.random.default_rng(0).standard_normal((5, 8))
    (grad,) = tracer.grad([y], [x], [g])
    np.testing.assert_array_equal(grad.value, F.dropout(g, 0.4, seed=6))


def test_dropout_gradient_needs_no_saved_values():
    op = R.Dropout(0.5, 13)
    assert op.vjp_needs_inputs is False and op.vjp_needs_outputs is False
    g = np.ones((4, 4), np.float32)
    spec = Spec((4, 4), np.float32)
    (grad,) = apply_vjp(op, [g], [spec], [None], [spec], [spec])
    np.testing.assert_array_equal(grad, F.dropout(g, 0.5, 13))


def test_dropout_same_values_through_a_front_end():
    x = np.linspace(0, 1, 30, dtype=np.float32)
    traced = F.dropout(tracer.Traced(x), 0.5, seed=4)
    np.testing.assert_array_equal(traced.value, F.dropout(x, 0.5, seed=4))


# ---------------------------------------------------------------------------------------------
# Ops and errors


def test_registered_without_gradients_and_hashable():
    for name in ("uniform", "normal", "bernoulli"):
        assert REGISTRY[name].no_gradient == "no inputs"
    assert REGISTRY["dropout"].vjp is not None
    assert R.Uniform((2,), 1) == R.Uniform((2,), 1)
    assert hash(R.Normal((2,), 1)) == hash(R.Normal((2,), 1))
    assert R.Uniform((2,), 1) != R.Uniform((2,), 2)


def test_size_zero_and_scalar_shapes():
    assert F.uniform((0, 3), 1).shape == (0, 3)
    assert F.normal((), 1).shape == ()
    assert F.bernoulli(4, 0.5, 1).shape == (4,)


@pytest.mark.parametrize("call, error, match", [
    (lambda: F.uniform((2,), 1, low=1.0, high=1.0), R.ArgumentError, "needs low < high"),
    (lambda: F.uniform((2,), 1, low=0.0, high=float("inf")), R.ArgumentError, "must be finite"),
    (lambda: F.uniform((2,), 1, dtype="int32"), DTypeError, "uniform: samples floats"),
    (lambda: F.uniform((2,), 1, dtype="float16"), DTypeError, "unsupported dtype"),
    (lambda: F.uniform((None, 2), 1), ShapeError, "must be fully known"),
    (lambda: F.uniform((-1,), 1), ShapeError, "invalid dimension"),
    (lambda: F.uniform((2,), 1.5), R.ArgumentError, "seed must be an integer"),
    (lambda: F.uniform((2,), True), R.ArgumentError, "seed must be an integer"),
    (lambda: F.normal((2,), 1, std=-1.0), R.ArgumentError, "std must be >= 0"),
    (lambda: F.normal((2,), 1, mean=float("nan")), R.ArgumentError, "mean must be finite"),
    (lambda: F.normal((2,), 1, dtype="bool"), DTypeError, "normal: samples floats"),
    (lambda: F.bernoulli((2,), 1.01, 1), R.ArgumentError, r"p must be in \[0, 1\]"),
    (lambda: F.bernoulli((2,), "half", 1), R.ArgumentError, "p must be a number"),
    (lambda: F.dropout(np.ones(2, np.int64), 0.5, 1), DTypeError, "dropout: input has dtype"),
])
def test_bad_arguments_raise_our_errors_before_any_kernel(call, error, match, monkeypatch):
    from framework.ops.registry import Op

    def no_kernel(self, device):
        raise AssertionError(f"{self.name}: a kernel was reached with invalid input")

    monkeypatch.setattr(Op, "kernel", no_kernel)
    with pytest.raises(error, match=match) as info:
        call()
    assert isinstance(info.value, DualgraphError)
    assert __file__ in str(info.value)


def test_shape_rules_check_attributes_that_bypass_the_functions():
    with pytest.raises(R.ArgumentError, match="seed must be an int in"):
        R.Uniform((2,), 2**64).infer()
    with pytest.raises(R.ArgumentError, match="p must be in"):
        R.Dropout(2.0, 1).infer(Spec((3,), np.float32))
    assert R.Dropout(0.5, 1).infer(Spec((None, 3), np.float32)) == Spec((None, 3), np.float32)


# ---------------------------------------------------------------------------------------------
# Generator


def test_generator_sequence_is_fixed_by_its_seed():
    a, b = R.Generator(5), R.Generator(5)
    seeds = [a.next_seed() for _ in range(100)]
    assert seeds == [b.next_seed() for _ in range(100)]
    assert len(set(seeds)) == 100 and all(0 <= s < 2**64 for s in seeds)
    assert seeds != [R.Generator(6).next_seed() for _ in range(100)]
    key = R.key_of(5)
    assert seeds[3] == int(R.counter_bits(key, np.uint64(3)))


def test_manual_seed_restarts_the_sequence():
    generator = R.Generator(1)
    first = [generator.next_seed() for _ in range(3)]
    assert generator.manual_seed(1) is generator and generator.counter == 0
    assert [generator.next_seed() for _ in range(3)] == first
    assert generator.initial_seed() == 1


def test_generator_methods_take_one_seed_each():
    generator = R.Generator(3)
    u = generator.uniform((4,), -1.0, 1.0, "float64")
    z = generator.normal((4,), 2.0, 0.5)
    m = generator.bernoulli((4,), 0.2)
    assert generator.counter == 3
    replay = R.Generator(3)
    np.testing.assert_array_equal(u, F.uniform((4,), replay.next_seed(), -1.0, 1.0, "float64"))
    np.testing.assert_array_equal(z, F.normal((4,), replay.next_seed(), 2.0, 0.5))
    np.testing.assert_array_equal(m, F.bernoulli((4,), 0.2, replay.next_seed()))


def test_generator_state_round_trip():
    generator = R.Generator(9)
    generator.next_seed()
    state = generator.get_state()
    expected = [generator.next_seed() for _ in range(3)]
    resumed = R.Generator()
    resumed.set_state(state)
    assert [resumed.next_seed() for _ in range(3)] == expected
    with pytest.raises(R.ArgumentError, match="counter"):
        resumed.set_state((1, -1))


def test_default_generator_and_manual_seed():
    R.manual_seed(123)
    first = (R.next_seed(), R.default_generator.uniform((3,)))
    assert R.initial_seed() == 123
    R.manual_seed(123)
    second = (R.next_seed(), R.default_generator.uniform((3,)))
    assert first[0] == second[0]
    np.testing.assert_array_equal(first[1], second[1])
    R.manual_seed(R.DEFAULT_SEED)


def test_generator_hands_out_distinct_seeds_across_threads():
    generator = R.Generator(0)
    found: list[list[int]] = [[] for _ in range(4)]

    def draw(index):
        found[index].extend(generator.next_seed() for _ in range(2000))

    threads = [threading.Thread(target=draw, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [seed for seeds in found for seed in seeds]
    assert generator.counter == 8000
    replay = R.Generator(0)
    assert sorted(everything) == sorted(replay.next_seed() for _ in range(8000))


def test_bad_seeds():
    with pytest.raises(R.ArgumentError, match="seed must be an integer"):
        R.Generator("seven")
    with pytest.raises(R.ArgumentError, match="seed must be an integer"):
        R.manual_seed(2.0)
    assert R.Generator(-1).initial_seed() == 2**64 - 1


def test_unit_floats_stay_in_their_intervals_at_the_extreme_bits():
    lowest, highest = np.uint64(0), np.uint64(2**64 - 1)
    assert R.unit_float(lowest) == 0.0 and R.unit_float(highest) < 1.0
    # Box-Muller takes log of this one: it must never be 0.
    assert R.unit_float_open_zero(lowest) > 0.0 and R.unit_float_open_zero(highest) == 1.0


def test_unit_circle_point_matches_sin_and_cos():
    quadrant_edges = [q << 62 for q in range(4)] + [(q << 62) - 1 for q in range(1, 4)]
    octant_edges = [(q << 62) | (1 << 61) for q in range(4)]
    drawn = np.random.default_rng(0).integers(0, 2**64, 5000, dtype=np.uint64).tolist()
    for bits in quadrant_edges + octant_edges + [2**64 - 1] + drawn:
        angle = 2 * np.pi * (bits >> 11) / 2**53
        cosine, sine = R.unit_circle_point(np.uint64(bits))
        assert abs(cosine - np.cos(angle)) < 2e-15 and abs(sine - np.sin(angle)) < 2e-15
        assert cosine**2 + sine**2 == pytest.approx(1.0, abs=1e-15)
