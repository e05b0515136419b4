"""Convolution and pooling behaviour the spec table cannot express."""

import numpy as np
import pytest

from framework.device import allocator
from framework.errors import ShapeError
from framework.ops import F
from framework.ops import conv as conv_module
from framework.ops.conv import Conv2d, Conv2dInputGrad, MaxPool2d
from framework.ops.registry import Spec
from tests.framework import tracer
from tests.framework.specs_conv import (
    reference_avg_pool2d,
    reference_conv2d,
    reference_conv2d_input_grad,
    reference_conv2d_weight_grad,
    reference_max_pool2d,
    reference_max_pool2d_backward,
)

CONV = dict(stride=(2, 1), padding=1, dilation=(1, 2), groups=2)


@pytest.fixture(params=["one image per chunk", "chunks of two, parallel", "one chunk"])
def chunking(request, monkeypatch):
    """Run the conv drivers with several chunkings of the batch, serial and parallel."""
    if request.param == "one image per chunk":
        monkeypatch.setattr(conv_module, "CHUNK_BYTES", 1)
    elif request.param == "chunks of two, parallel":
        monkeypatch.setattr(conv_module, "CHUNK_BYTES", 2 * 4 * 18 * 15 * 8)
        monkeypatch.setattr(conv_module, "PARALLEL_MIN_WORK", 0)
    return request.param


def test_conv_kernels_match_references_for_every_chunking(chunking):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4, 6, 7))  # 5 images: the last chunk is partial
    w = rng.standard_normal((6, 2, 3, 3))  # per image: 4 * 9 rows (2 groups) x 3 * 5 columns
    out = F.conv2d(x, w, **CONV)
    np.testing.assert_allclose(out, reference_conv2d(x, w, **CONV), rtol=1e-12, atol=1e-12)
    g = rng.standard_normal(out.shape)
    np.testing.assert_allclose(F.conv2d_input_grad(g, w, (6, 7), **CONV),
                               reference_conv2d_input_grad(g, w, (6, 7), **CONV),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(F.conv2d_weight_grad(x, g, (3, 3), **CONV),
                               reference_conv2d_weight_grad(x, g, (3, 3), **CONV),
                               rtol=1e-12, atol=1e-12)


def test_conv_column_buffer_is_bounded(monkeypatch):
    monkeypatch.setattr(conv_module, "CHUNK_BYTES", 1 << 16)
    x = np.ones((32, 8, 16, 16), np.float32)
    w = np.ones((8, 8, 3, 3), np.float32)
    full_columns = x.shape[0] * 8 * 9 * 16 * 16 * 4
    stats = allocator().stats
    live = stats.live_bytes
    allocator().reset_peak()
    out = F.conv2d(x, w, padding=1)
    assert stats.peak_bytes - live < out.nbytes + full_columns // 4
    np.testing.assert_allclose(out[:, :, 1:-1, 1:-1], 72.0)


def test_pool_parallel_kernels_match_references(monkeypatch):
    monkeypatch.setattr(conv_module, "PARALLEL_MIN_WORK", 0)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 2, 7, 6))
    np.testing.assert_array_equal(F.max_pool2d(x, 3, 2, 1), reference_max_pool2d(x, 3, 2, 1))
    np.testing.assert_allclose(F.avg_pool2d(x, 3, 2, 1), reference_avg_pool2d(x, 3, 2, 1),
                               rtol=1e-12)
    g = rng.standard_normal((3, 2, 4, 3))
    np.testing.assert_array_equal(F.max_pool2d_backward(x, g, 3, 2, 1),
                                  reference_max_pool2d_backward(x, g, 3, 2, 1))


def test_max_pool_routes_ties_to_the_first_maximum():
    x = np.array([[[[1.0, 3.0], [3.0, 3.0]]]])
    g = F.max_pool2d_backward(x, np.array([[[[5.0]]]]), 2)
    np.testing.assert_array_equal(g[0, 0], [[0.0, 5.0], [0.0, 0.0]])


def test_max_pool_pads_with_minus_infinity_and_propagates_nan():
    x = -np.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # all negative: zero padding would win
    np.testing.assert_array_equal(F.max_pool2d(x, 2, padding=1)[0, 0], [[-1.0, -2.0],
                                                                        [-4.0, -5.0]])
    x[0, 0, 1, 1] = np.nan
    pooled = F.max_pool2d(x, 2, stride=1)
    assert np.isnan(pooled).all()


def test_avg_pool_counts_padding_in_the_divisor():
    x = np.ones((1, 1, 2, 2))
    np.testing.assert_allclose(F.avg_pool2d(x, 3, stride=1, padding=1)[0, 0], 4 / 9)


def test_conv_double_backward_by_tape_matches_explicit_ops():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((2, 3, 5, 5)), rng.standard_normal((4, 3, 3, 3))
    v = rng.standard_normal(x.shape)
    leaf_x, leaf_w = tracer.leaf(x), tracer.leaf(w)
    y = F.conv2d(leaf_x, leaf_w, stride=2, padding=1)
    ones = np.ones(y.shape)
    grad_x, _ = tracer.grad([y], [leaf_x, leaf_w], [ones])
    inner = F.sum(F.mul(grad_x, v))
    second_x, second_w = tracer.grad([inner], [leaf_x, leaf_w], [np.float64(1.0)])
    # grad_x = conv2d_input_grad(ones, w) is linear in w: d/dw <grad_x, v> = weight grad of v
    expected = F.conv2d_weight_grad(v, ones, (3, 3), stride=2, padding=1)
    np.testing.assert_allclose(second_w.value, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(second_x.value, 0.0)  # grad_x does not depend on x


def test_attributes_are_normalized_pairs_and_ops_hash_alike():
    y = F.conv2d(tracer.leaf(np.ones((1, 2, 5, 5))), np.ones((4, 1, 3, 3)), stride=2,
                 padding=(1, 0), groups=2)
    op = y.node.op
    assert op == Conv2d(stride=(2, 2), padding=(1, 0), dilation=(1, 1), groups=2)
    assert hash(op) == hash(Conv2d((2, 2), (1, 0), (1, 1), 2))
    pooled = F.max_pool2d(tracer.leaf(np.ones((1, 1, 4, 4))), 2)
    assert pooled.node.op == MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))


@pytest.mark.parametrize("value", [0, -1, (1, 2, 3), 1.5, True])
def test_bad_strides_are_refused(value):
    with pytest.raises(ShapeError, match="stride must be an int or a pair"):
        F.conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2)), stride=value)


def test_shape_rules_keep_unknown_dimensions():
    spec = Conv2d((2, 2), (1, 1), (1, 1), 1).infer(Spec((None, 3, None, 8), np.float32),
                                                    Spec((4, 3, 3, 3), np.float32))
    assert spec.shape == (None, 4, None, 4)
    pooled = MaxPool2d((2, 2), (2, 2), (0, 0)).infer(Spec((None, 3, 6, None), np.float64))
    assert pooled.shape == (None, 3, 3, None)
    grad = Conv2dInputGrad((None, None), (1, 1), (0, 0), (1, 1), 1).infer(
        Spec((2, 4, 3, 3), np.float32), Spec((4, 3, 3, 3), np.float32))
    assert grad.shape == (2, 3, 5, 5)  # stride 1: the input size follows from the output's


def test_unknown_input_size_with_stride_is_refused_in_the_gradient():
    op = Conv2d((2, 2), (0, 0), (1, 1), 1)
    with pytest.raises(ShapeError, match="must be known"):
        op.vjp(np.ones((1, 4, 2, 2)), (Spec((1, 3, None, None), np.float64),
                                       np.ones((4, 3, 3, 3))), None)


def test_input_grad_of_unknown_size_with_stride_one_is_exact():
    rng = np.random.default_rng(3)
    g, w = rng.standard_normal((2, 4, 3, 4)), rng.standard_normal((4, 3, 3, 2))
    np.testing.assert_allclose(F.conv2d_input_grad(g, w, (None, None), padding=1),
                               reference_conv2d_input_grad(g, w, (3, 3), padding=1),
                               rtol=1e-12, atol=1e-12)


def test_errors_name_the_user_line():
    with pytest.raises(ShapeError, match="test_conv.py"):
        F.conv2d(np.ones((1, 3, 5, 5)), np.ones((2, 2, 3, 3)))


def test_ops_built_directly_need_normalized_attributes():
    with pytest.raises(ShapeError, match="stride must be a pair"):
        Conv2d(stride=2).infer(Spec((1, 1, 4, 4), np.float32), Spec((1, 1, 2, 2), np.float32))
    with pytest.raises(ShapeError, match="padding must be a pair"):
        MaxPool2d((2, 2), (2, 2), 0).infer(Spec((1, 1, 4, 4), np.float32))
