"""Initializers: fans, gains, bounds and standard deviations against the formulas; seeds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from framework import init
from framework.errors import DualgraphError, ShapeError
from framework.ops import F
from framework.ops import random as R
from framework.ops.random import ArgumentError, Generator

BIG_LINEAR = (1000, 400)  # 400k samples: std within ~0.5%
BIG_CONV = (256, 64 // 4, 5, 5)  # groups=4: in/groups = 16


@pytest.mark.parametrize("shape, fans", [
    ((20, 10), (10, 20)),
    ((16, 3, 5, 5), (75, 400)),
    (BIG_CONV, (16 * 25, 256 * 25)),
    ((8, 4, 3), (12, 24)),  # conv1d
    ((2, 3, 1, 1, 1), (3, 2)),  # conv3d with a 1x1x1 kernel
    ((5, 0), (0, 5)),
])
def test_fans_follow_pytorch(shape, fans):
    assert init.fan_in_and_fan_out(shape) == fans


@pytest.mark.parametrize("shape", [(), (5,)])
def test_fans_need_two_dimensions(shape):
    with pytest.raises(ShapeError, match="at least 2 dimensions"):
        init.fan_in_and_fan_out(shape)
    with pytest.raises(ShapeError, match="at least 2 dimensions"):
        init.xavier_uniform(shape)


@pytest.mark.parametrize("nonlinearity, param, gain", [
    ("linear", None, 1.0), ("identity", None, 1.0), ("conv2d", None, 1.0),
    ("sigmoid", None, 1.0), ("tanh", None, 5 / 3), ("relu", None, math.sqrt(2)),
    ("leaky_relu", None, math.sqrt(2 / (1 + 0.01**2))),
    ("leaky_relu", 0.2, math.sqrt(2 / 1.04)), ("leaky_relu", 0, math.sqrt(2)),
    ("leaky_relu", math.sqrt(5), math.sqrt(1 / 3)), ("selu", None, 0.75),
])
def test_gains_follow_pytorch(nonlinearity, param, gain):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(gain, rel=1e-15)


def test_bad_gains():
    with pytest.raises(ArgumentError, match="unknown nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ArgumentError, match="negative slope must be a number"):
        init.calculate_gain("leaky_relu", "0.1")


def _check_uniform(w, bound):
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.99 * bound  # the whole interval is used
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)
    assert abs(w.mean()) < 0.01 * bound


def _check_normal(w, std):
    assert w.std() == pytest.approx(std, rel=0.01)
    assert abs(w.mean()) < 0.01 * std


@pytest.mark.parametrize("shape", [BIG_LINEAR, BIG_CONV])
@pytest.mark.parametrize("gain", [1.0, 5 / 3])
def test_xavier(shape, gain):
    fan_in, fan_out = init.fan_in_and_fan_out(shape)
    bound = gain * math.sqrt(6 / (fan_in + fan_out))
    _check_uniform(init.xavier_uniform(shape, gain, generator=Generator(1)), bound)
    std = gain * math.sqrt(2 / (fan_in + fan_out))
    _check_normal(init.xavier_normal(shape, gain, generator=Generator(1)), std)


@pytest.mark.parametrize("shape", [BIG_LINEAR, BIG_CONV])
@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("a, nonlinearity", [
    (0.0, "leaky_relu"), (math.sqrt(5), "leaky_relu"), (0.0, "relu"), (0.0, "linear"),
    (0.0, "tanh"),
])
def test_kaiming(shape, mode, a, nonlinearity):
    fan_in, fan_out = init.fan_in_and_fan_out(shape)
    fan = fan_in if mode == "fan_in" else fan_out
    gain = init.calculate_gain(nonlinearity, a)
    w = init.kaiming_uniform(shape, a, mode, nonlinearity, generator=Generator(2))
    _check_uniform(w, gain * math.sqrt(3 / fan))
    w = init.kaiming_normal(shape, a, mode, nonlinearity, generator=Generator(2))
    _check_normal(w, gain / math.sqrt(fan))


def test_kaiming_default_is_he_for_relu():
    np.testing.assert_array_equal(
        init.kaiming_uniform((30, 20), generator=Generator(3)),
        init.kaiming_uniform((30, 20), nonlinearity="relu", generator=Generator(3)))


def test_kaiming_bad_mode():
    with pytest.raises(ArgumentError, match="mode must be 'fan_in' or 'fan_out', got 'fan_avg'"):
        init.kaiming_normal((3, 4), mode="fan_avg")


def test_uniform_and_normal():
    u = init.uniform((500, 400), -0.5, 1.5, generator=Generator(4))
    assert u.min() >= -0.5 and u.max() < 1.5 and u.dtype == np.float32
    assert u.mean() == pytest.approx(0.5, abs=0.01)
    z = init.normal((500, 400), 1.0, 0.02, dtype="float64", generator=Generator(4))
    assert z.dtype == np.float64
    assert z.mean() == pytest.approx(1.0, abs=1e-3) and z.std() == pytest.approx(0.02, rel=0.01)


def test_constants_draw_no_seed():
    generator = R.default_generator
    before = generator.get_state()
    np.testing.assert_array_equal(init.zeros((2, 3)), np.zeros((2, 3), np.float32))
    np.testing.assert_array_equal(init.ones(3, "float64"), np.ones(3))
    w = init.constant((2,), 0.1)
    assert w.dtype == np.float32 and (w == np.float32(0.1)).all()
    assert generator.get_state() == before


def test_each_random_initializer_takes_exactly_one_seed():
    generator = Generator(5)
    functions = [
        lambda: init.uniform((3, 2), generator=generator),
        lambda: init.normal((3, 2), generator=generator),
        lambda: init.xavier_uniform((3, 2), generator=generator),
        lambda: init.xavier_normal((3, 2), generator=generator),
        lambda: init.kaiming_uniform((3, 2), generator=generator),
        lambda: init.kaiming_normal((3, 2), generator=generator),
        lambda: init.kaiming_uniform((0, 2), generator=generator),  # nothing to draw
        lambda: init.xavier_normal((4, 0, 3), generator=generator),
    ]
    for count, function in enumerate(functions, start=1):
        function()
        assert generator.counter == count


def test_values_are_the_random_ops_with_the_generators_seeds():
    w = init.kaiming_uniform((6, 4), a=math.sqrt(5), generator=Generator(8))
    bound = init.calculate_gain("leaky_relu", math.sqrt(5)) * math.sqrt(3 / 4)
    seed = Generator(8).next_seed()
    np.testing.assert_array_equal(w, F.uniform((6, 4), seed, -bound, bound))


def test_determinism_with_explicit_and_default_generators():
    a = init.xavier_normal((7, 5), generator=Generator(11))
    b = init.xavier_normal((7, 5), generator=Generator(11))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, init.xavier_normal((7, 5), generator=Generator(12)))

    R.manual_seed(11)
    first = [init.kaiming_normal((4, 3)), init.uniform((2,))]
    R.manual_seed(11)
    second = [init.kaiming_normal((4, 3)), init.uniform((2,))]
    for x, y in zip(first, second):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(first[0], init.kaiming_normal((4, 3)))  # the sequence moved on
    R.manual_seed(R.DEFAULT_SEED)


def test_the_default_generator_is_the_module_default():
    R.manual_seed(21)
    expected = Generator(21).normal((3, 3), 0.0, 0.5)
    R.manual_seed(21)
    np.testing.assert_array_equal(init.normal((3, 3), std=0.5), expected)
    R.manual_seed(R.DEFAULT_SEED)


def test_size_zero_shapes_and_float64():
    assert init.xavier_uniform((0, 5)).shape == (0, 5)
    assert init.kaiming_normal((3, 0, 2, 2)).shape == (3, 0, 2, 2)
    assert init.uniform((0,)).shape == (0,)
    assert init.xavier_uniform((3, 4), dtype="float64").dtype == np.float64


def test_zero_gain_gives_zeros():
    assert not init.xavier_uniform((3, 4), gain=0.0, generator=Generator(0)).any()
    assert not init.xavier_normal((3, 4), gain=0.0, generator=Generator(0)).any()


@pytest.mark.parametrize("call, match", [
    (lambda: init.uniform((None, 3)), "fully known shape"),
    (lambda: init.xavier_uniform((3, 4), generator=np.random.default_rng(0)),
     "must be a framework.ops.random.Generator"),
    (lambda: init.uniform((3,), 1.0, 0.0), "needs low < high"),
    (lambda: init.normal((3,), std=-1.0), "std must be >= 0"),
    (lambda: init.constant((2,), 1.0, dtype="float16"), "unsupported dtype"),
])
def test_bad_arguments_raise_our_errors(call, match):
    with pytest.raises(DualgraphError, match=match) as info:
        call()
    assert __file__ in str(info.value)
