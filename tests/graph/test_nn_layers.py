"""graph.nn and graph.layers: values against NumPy, gradients against float64 finite
differences, TensorFlow 1's conventions (HWIO filters, SAME padding, per-example losses), layer
variables and their errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import graph as tf
from framework import init as framework_init
from framework.ops import random as framework_random

# -- helpers -----------------------------------------------------------------------------------


def _run(build, *inputs):
    """Build `build(*placeholders)` in a fresh graph and run it on `inputs`."""
    with tf.Graph().as_default():
        holders = [tf.placeholder(x.dtype, x.shape) for x in inputs]
        outputs = build(*holders)
        with tf.Session() as sess:
            return sess.run(outputs, dict(zip(holders, inputs)))


def _check_gradients(build, inputs, wrt=None, eps=1e-6, rtol=1e-5, atol=1e-7):
    """tf.gradients of sum(build(...) * c) against central differences of the same graph."""
    rng = np.random.default_rng(7)
    wrt = range(len(inputs)) if wrt is None else wrt
    with tf.Graph().as_default():
        holders = [tf.placeholder(x.dtype, x.shape) for x in inputs]
        out = build(*holders)
        cotangent = rng.standard_normal(out.shape)
        loss = tf.reduce_sum(out * tf.constant(cotangent))
        grads = tf.gradients(loss, [holders[i] for i in wrt])
        assert all(g is not None for g in grads)
        with tf.Session() as sess:
            feed = dict(zip(holders, inputs))
            got = sess.run(grads, feed)
            for k, i in enumerate(wrt):
                x = inputs[i]
                expected = np.zeros_like(x)
                for index in np.ndindex(x.shape):
                    original = x[index]
                    x[index] = original + eps
                    up = sess.run(loss, feed)
                    x[index] = original - eps
                    down = sess.run(loss, feed)
                    x[index] = original
                    expected[index] = (up - down) / (2 * eps)
                np.testing.assert_allclose(got[k], expected, rtol=rtol, atol=atol)


def _np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _np_conv(x, w_hwio, stride, pads, dilation=(1, 1)):
    """NCHW x, HWIO w, explicit ((top, bottom), (left, right)) zero padding."""
    (top, bottom), (left, right) = pads
    x = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    kh, kw, _, out_channels = w_hwio.shape
    n, _, h, w = x.shape
    oh = (h - (kh - 1) * dilation[0] - 1) // stride[0] + 1
    ow = (w - (kw - 1) * dilation[1] - 1) // stride[1] + 1
    out = np.zeros((n, out_channels, oh, ow))
    for i in range(oh):
        for j in range(ow):
            rows = i * stride[0] + np.arange(kh) * dilation[0]
            cols = j * stride[1] + np.arange(kw) * dilation[1]
            window = x[:, :, rows][:, :, :, cols]  # (n, c, kh, kw)
            out[:, :, i, j] = np.einsum("ncpq,pqco->no", window, w_hwio)
    return out


def _tf_same(size, kernel, stride, dilation=1):
    """TensorFlow's SAME padding, written from its documentation: out = ceil(size / stride)."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def _np_pool(x, kernel, stride, pads, kind):
    (top, bottom), (left, right) = pads
    n, c, h, w = x.shape
    oh = (h + top + bottom - kernel[0]) // stride[0] + 1
    ow = (w + left + right - kernel[1]) // stride[1] + 1
    out = np.zeros((n, c, oh, ow), x.dtype)
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * stride[0] - top, j * stride[1] - left
            window = x[:, :, max(r0, 0):min(r0 + kernel[0], h), max(c0, 0):min(c0 + kernel[1], w)]
            out[:, :, i, j] = window.max(axis=(2, 3)) if kind == "max" else \
                window.mean(axis=(2, 3))
    return out


RNG = np.random.default_rng(0)


# -- activations -------------------------------------------------------------------------------


ACTIVATIONS = [
    ("relu", tf.nn.relu, lambda x: np.maximum(x, 0)),
    ("relu6", tf.nn.relu6, lambda x: np.clip(x, 0, 6)),
    ("leaky_relu", tf.nn.leaky_relu, lambda x: np.where(x > 0, x, 0.2 * x)),
    ("elu", tf.nn.elu, lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0)))),
    ("softplus", tf.nn.softplus, lambda x: np.logaddexp(0, x)),
    ("sigmoid", tf.nn.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    ("tanh", tf.nn.tanh, np.tanh),
    ("gelu", tf.nn.gelu,
     lambda x: 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))),
    ("gelu_tanh", lambda x: tf.nn.gelu(x, approximate=True),
     lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))),
]


@pytest.mark.parametrize("name, function, reference", ACTIVATIONS,
                         ids=[a[0] for a in ACTIVATIONS])
def test_activations_match_numpy_and_finite_differences(name, function, reference):
    x = np.array([[-7.3, -2.1, -0.4, 0.3], [1.7, 5.2, 6.6, 9.0]])  # away from every kink
    np.testing.assert_allclose(_run(function, x), reference(x), rtol=1e-12, atol=1e-12)
    _check_gradients(function, [x.copy()])


def test_softplus_and_elu_do_not_overflow():
    x = np.array([-1000.0, 1000.0], np.float32)
    np.testing.assert_allclose(_run(tf.nn.softplus, x), [0.0, 1000.0])
    np.testing.assert_allclose(_run(tf.nn.elu, x), [-1.0, 1000.0])


def test_relu6_gradient_is_zero_at_both_ends_as_in_tensorflow():
    with tf.Graph().as_default():
        x = tf.constant([0.0, 3.0, 6.0])
        (g,) = tf.gradients(tf.reduce_sum(tf.nn.relu6(x)), [x])
        with tf.Session() as sess:
            np.testing.assert_array_equal(sess.run(g), [0.0, 1.0, 0.0])


# -- softmax and losses ------------------------------------------------------------------------


@pytest.mark.parametrize("axis", [None, -1, 0, 1])
def test_softmax_and_log_softmax_along_an_axis(axis):
    x = RNG.standard_normal((3, 4, 5))
    numpy_axis = -1 if axis is None else axis
    probs, logs = _run(lambda t: [tf.nn.softmax(t, axis), tf.nn.log_softmax(t, axis)], x)
    np.testing.assert_allclose(probs, _np_softmax(x, numpy_axis), rtol=1e-12)
    np.testing.assert_allclose(logs, np.log(_np_softmax(x, numpy_axis)), rtol=1e-12)
    _check_gradients(lambda t: tf.nn.softmax(t, axis), [x[:2, :2].copy()])
    _check_gradients(lambda t: tf.nn.log_softmax(t, axis), [x[:2, :2].copy()])


def _np_probability_xent(labels, logits, axis):
    return -(labels * np.log(_np_softmax(logits, axis))).sum(axis=axis)


@pytest.mark.parametrize("shape, axis", [((4, 3), -1), ((2, 3, 4), -1), ((3, 4), 0),
                                         ((2, 3, 4), 1), ((5,), -1)])
def test_softmax_cross_entropy_is_per_example_along_the_class_axis(shape, axis):
    logits = RNG.standard_normal(shape)
    labels = _np_softmax(RNG.standard_normal(shape), axis)
    loss = _run(lambda y, x: tf.nn.softmax_cross_entropy_with_logits_v2(
        labels=y, logits=x, axis=axis), labels, logits)
    expected = _np_probability_xent(labels, logits, axis)
    assert loss.shape == expected.shape
    np.testing.assert_allclose(loss, expected, rtol=1e-12)
    v1 = _run(lambda y, x: tf.nn.softmax_cross_entropy_with_logits(
        labels=y, logits=x, axis=axis), labels, logits)
    np.testing.assert_allclose(v1, expected, rtol=1e-12)


def test_softmax_cross_entropy_v2_gradients_reach_logits_and_labels():
    logits = RNG.standard_normal((3, 4))
    labels = _np_softmax(RNG.standard_normal((3, 4)), -1)
    build = lambda y, x: tf.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=x)
    _check_gradients(build, [labels, logits])
    build_axis0 = lambda y, x: tf.nn.softmax_cross_entropy_with_logits_v2(
        labels=y, logits=x, axis=0)
    _check_gradients(build_axis0, [labels.copy(), logits.copy()])


def test_softmax_cross_entropy_v1_sends_no_gradient_to_labels():
    with tf.Graph().as_default():
        logits = tf.constant(RNG.standard_normal((2, 3)))
        labels = tf.constant(_np_softmax(RNG.standard_normal((2, 3)), -1))
        loss = tf.reduce_sum(tf.nn.softmax_cross_entropy_with_logits(labels=labels,
                                                                     logits=logits))
        grad_labels, grad_logits = tf.gradients(loss, [labels, logits])
    assert grad_labels is None and grad_logits is not None


@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (4,)])
def test_sparse_softmax_cross_entropy(shape):
    logits = RNG.standard_normal(shape)
    labels = RNG.integers(0, shape[-1], shape[:-1])
    loss = _run(lambda y, x: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=x),
                labels, logits)
    log_probs = np.log(_np_softmax(logits, -1))
    expected = -np.take_along_axis(log_probs, labels[..., None], axis=-1)[..., 0]
    assert loss.shape == labels.shape
    np.testing.assert_allclose(loss, expected, rtol=1e-12)
    build = lambda x: tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.constant(labels), logits=x)
    _check_gradients(build, [logits.copy()])


def test_sparse_softmax_cross_entropy_rejects_bad_labels():
    with tf.Graph().as_default():
        logits = tf.placeholder(tf.float32, (None, 3))
        with pytest.raises(tf.GraphError, match="integer class indices"):
            tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=tf.placeholder(tf.float32, (None,)), logits=logits)
        with pytest.raises(tf.GraphError, match="without the last"):
            tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=tf.placeholder(tf.int64, (None, 3)), logits=logits)
        with pytest.raises(tf.GraphError, match="named arguments"):
            tf.nn.sparse_softmax_cross_entropy_with_logits([0], logits)
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=[0, 5], logits=logits)
        with tf.Session() as sess, pytest.raises(Exception, match="class label"):
            sess.run(loss, {logits: np.zeros((2, 3))})


def test_sigmoid_cross_entropy_is_stable_and_exact_at_zero():
    logits = np.array([[-800.0, -3.0, 0.0], [0.5, 4.0, 800.0]])
    labels = np.array([[0.0, 1.0, 0.3], [1.0, 0.0, 1.0]])
    loss = _run(lambda z, x: tf.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x),
                labels, logits)
    expected = np.maximum(logits, 0) - logits * labels + np.log1p(np.exp(-abs(logits)))
    np.testing.assert_allclose(loss, expected, rtol=1e-12)
    assert np.isfinite(loss).all()
    smaller = [logits[:, 1:].copy(), labels[:, 1:].copy()]
    build = lambda x, z: tf.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x)
    _check_gradients(build, smaller)
    # At x = 0 the gradient is sigmoid(0) - z = 0.5 - z, which relu / abs would get wrong.
    with tf.Graph().as_default():
        x = tf.constant([0.0, 0.0])
        loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=[0.0, 1.0], logits=x)
        (g,) = tf.gradients(tf.reduce_sum(loss), [x])
        with tf.Session() as sess:
            np.testing.assert_allclose(sess.run(g), [0.5, -0.5])


def test_l2_loss_moments_and_bias_add():
    x = RNG.standard_normal((2, 3, 2, 2))
    np.testing.assert_allclose(_run(tf.nn.l2_loss, x), (x**2).sum() / 2, rtol=1e-12)
    mean, variance = _run(lambda t: list(tf.nn.moments(t, axes=[0, 2, 3])), x)
    np.testing.assert_allclose(mean, x.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(variance, x.var(axis=(0, 2, 3)), rtol=1e-12)
    kept = _run(lambda t: tf.nn.moments(t, axes=[1], keepdims=True)[1], x)
    assert kept.shape == (2, 1, 2, 2)
    bias = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(_run(lambda t, b: tf.nn.bias_add(t, b, data_format="NCHW"),
                                    x, bias), x + bias[:, None, None])
    rows = RNG.standard_normal((4, 3))
    np.testing.assert_allclose(_run(tf.nn.bias_add, rows, bias), rows + bias)
    _check_gradients(tf.nn.l2_loss, [x[:1, :2].copy()])
    _check_gradients(lambda t: tf.nn.moments(t, axes=[0])[1], [rows.copy()])
    _check_gradients(lambda t, b: tf.nn.bias_add(t, b, data_format="NCHW"),
                     [x[:1].copy(), bias.copy()])
    with tf.Graph().as_default(), pytest.raises(tf.GraphError, match="channel axis"):
        tf.nn.bias_add(tf.zeros((2, 4)), [1.0, 2.0])


# -- convolution and pooling -------------------------------------------------------------------


CONV_CASES = [
    # (input NCHW, filter HWIO, strides, padding, dilations)
    ((2, 3, 5, 5), (3, 3, 3, 4), 1, "SAME", 1),
    ((1, 2, 6, 7), (2, 3, 2, 3), 2, "SAME", 1),  # uneven padding: the extra row goes after
    ((1, 2, 4, 4), (2, 2, 2, 1), [1, 1, 2, 2], "SAME", 1),
    ((2, 1, 7, 6), (3, 2, 1, 2), (2, 1), "VALID", 1),
    ((1, 2, 7, 7), (3, 3, 2, 2), 1, "SAME", 2),
    ((1, 1, 5, 5), (2, 2, 1, 1), 1, [[0, 0], [0, 0], [1, 0], [2, 1]], 1),
]


def _conv_pads(x_shape, w_shape, strides, padding, dilations):
    stride = (strides, strides) if isinstance(strides, int) else tuple(strides)[-2:]
    dilation = (dilations, dilations)
    if padding == "VALID":
        return stride, ((0, 0), (0, 0)), dilation
    if padding == "SAME":
        pads = tuple(_tf_same(s, k, st, d) for s, k, st, d in
                     zip(x_shape[2:], w_shape[:2], stride, dilation))
        return stride, pads, dilation
    return stride, (tuple(padding[2]), tuple(padding[3])), dilation


@pytest.mark.parametrize("x_shape, w_shape, strides, padding, dilations", CONV_CASES)
def test_conv2d_with_hwio_filters_matches_numpy(x_shape, w_shape, strides, padding, dilations):
    x = RNG.standard_normal(x_shape)
    w = RNG.standard_normal(w_shape)
    build = lambda a, b: tf.nn.conv2d(a, b, strides=strides, padding=padding,
                                      dilations=dilations, data_format="NCHW")
    out = _run(build, x, w)
    stride, pads, dilation = _conv_pads(x_shape, w_shape, strides, padding, dilations)
    expected = _np_conv(x, w, stride, pads, dilation)
    if padding == "SAME":
        assert out.shape[2:] == tuple(math.ceil(s / st) for s, st in zip(x_shape[2:], stride))
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)
    _check_gradients(build, [x[:1].copy(), w.copy()], rtol=1e-5, atol=1e-6)


def test_conv2d_same_padding_by_hand():
    # A 4x4 image, 3x3 kernel, stride 2: TensorFlow pads 0 rows before and 1 after.
    with tf.Graph().as_default(), tf.Session() as sess:
        image = tf.constant(np.arange(16.0).reshape(1, 1, 4, 4))
        kernel = tf.constant(np.ones((3, 3, 1, 1)))
        out = sess.run(tf.nn.conv2d(image, kernel, strides=2, padding="SAME",
                                    data_format="NCHW"))
    np.testing.assert_array_equal(out[0, 0], [[45.0, 39.0], [66.0, 50.0]])


def test_conv2d_defaults_to_nhwc_and_takes_tensorflow_1_filter_keyword():
    x = RNG.standard_normal((2, 5, 6, 3))  # NHWC, TensorFlow's default layout
    w = RNG.standard_normal((3, 2, 3, 4))
    out = _run(lambda a, b: tf.nn.conv2d(a, filter=b, strides=[1, 2, 2, 1], padding="SAME"),
               x, w)
    pads = (_tf_same(5, 3, 2), _tf_same(6, 2, 2))
    expected = _np_conv(x.transpose(0, 3, 1, 2), w, (2, 2), pads).transpose(0, 2, 3, 1)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)


def test_conv2d_errors_name_the_layout():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 8, 8, 3))  # NHWC, the default
        with pytest.raises(tf.GraphError, match=r"height, width, in_channels, out_channels"):
            tf.nn.conv2d(x, tf.zeros((4, 3, 5, 5)), strides=1, padding="SAME")  # OIHW: wrong
        with pytest.raises(tf.GraphError, match="batch and channel"):
            tf.nn.conv2d(x, tf.zeros((3, 3, 3, 4)), strides=[2, 1, 1, 1], padding="SAME")
        with pytest.raises(tf.GraphError, match="padding must be"):
            tf.nn.conv2d(x, tf.zeros((3, 3, 3, 4)), strides=1, padding="FULL")
        with pytest.raises(tf.GraphError, match="data_format"):
            tf.nn.conv2d(x, tf.zeros((3, 3, 3, 4)), strides=1, padding="SAME",
                         data_format="NCWH")
        unknown = tf.placeholder(tf.float32, (None, None, 8, 3))
        with pytest.raises(tf.GraphError, match="known height and width"):
            tf.nn.conv2d(unknown, tf.zeros((3, 3, 3, 4)), strides=1, padding="SAME")


POOL_CASES = [((2, 3, 5, 5), 2, 2, "SAME"), ((1, 2, 6, 7), 3, 2, "SAME"),
              ((1, 2, 6, 7), (3, 2), (1, 2), "VALID"), ((1, 1, 4, 4), [1, 1, 3, 3], 1, "SAME")]


def _pool_pairs(value):
    return (value, value) if isinstance(value, int) else tuple(value)[-2:]


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("x_shape, ksize, strides, padding", POOL_CASES)
def test_pools_match_numpy(kind, x_shape, ksize, strides, padding):
    x = RNG.standard_normal(x_shape)
    pool = tf.nn.max_pool2d if kind == "max" else tf.nn.avg_pool2d
    build = lambda a: pool(a, ksize, strides, padding, data_format="NCHW")
    kernel, stride = _pool_pairs(ksize), _pool_pairs(strides)
    pads = ((0, 0), (0, 0)) if padding == "VALID" else tuple(
        _tf_same(s, k, st) for s, k, st in zip(x_shape[2:], kernel, stride))
    expected = _np_pool(x, kernel, stride, pads, kind)
    np.testing.assert_allclose(_run(build, x), expected, rtol=1e-12)
    _check_gradients(build, [x[:1].copy()])


def test_pools_default_to_nhwc_with_tensorflow_1_names():
    x = RNG.standard_normal((2, 5, 4, 3))
    out = _run(lambda a: tf.nn.max_pool(a, [1, 2, 2, 1], [1, 2, 2, 1], "SAME"), x)
    expected = _np_pool(x.transpose(0, 3, 1, 2), (2, 2), (2, 2), ((0, 1), (0, 0)), "max")
    np.testing.assert_allclose(out, expected.transpose(0, 2, 3, 1))
    with tf.Graph().as_default(), pytest.raises(tf.GraphError, match="batch and channel"):
        tf.nn.max_pool(tf.zeros((1, 4, 4, 3)), [1, 1, 2, 2], [1, 2, 2, 1], "SAME")  # NCHW list
    x = RNG.standard_normal((2, 5, 5, 3))
    out = _run(lambda a: tf.nn.avg_pool(a, 2, 2, "SAME"), x)
    expected = _np_pool(x.transpose(0, 3, 1, 2), (2, 2), (2, 2), ((0, 1), (0, 1)), "avg")
    np.testing.assert_allclose(out, expected.transpose(0, 2, 3, 1), rtol=1e-12)


# -- dropout -----------------------------------------------------------------------------------


def test_dropout_keeps_with_probability_one_minus_rate_and_scales():
    x = np.ones((100, 100), np.float32)
    out = _run(lambda t: tf.nn.dropout(t, rate=0.25, seed=3), x)
    assert set(np.unique(out).tolist()) == {0.0, np.float32(1 / 0.75)}
    assert abs((out > 0).mean() - 0.75) < 0.02
    same = _run(lambda t: tf.nn.dropout(t, keep_prob=0.75, seed=3), x)
    np.testing.assert_array_equal(out, same)
    # Each run draws a new mask, so finite differences across runs cannot check the
    # gradient; within one run it must be the cotangent through that run's own mask.
    values = RNG.standard_normal((3, 4)) + 3.0  # no zeros: kept elements are != 0
    cotangent = RNG.standard_normal((3, 4))
    with tf.Graph().as_default():
        t = tf.placeholder(tf.float64, (3, 4))
        y = tf.nn.dropout(t, rate=0.5, seed=5)
        (g,) = tf.gradients(tf.reduce_sum(y * tf.constant(cotangent)), [t])
        with tf.Session() as sess:
            for _ in range(3):
                out, grad = sess.run([y, g], {t: values})
                np.testing.assert_allclose(grad, cotangent * (out != 0) / 0.5, rtol=1e-12)


def test_dropout_seeds_come_from_the_default_generator_at_build_time():
    x = np.ones((50,), np.float32)
    framework_random.manual_seed(11)
    first = _run(lambda t: [tf.nn.dropout(t, 0.5), tf.nn.dropout(t, 0.5)], x)
    framework_random.manual_seed(11)
    again = _run(lambda t: [tf.nn.dropout(t, 0.5), tf.nn.dropout(t, 0.5)], x)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], first[1])  # two ops, two seeds
    state = framework_random.default_generator.get_state()
    np.testing.assert_array_equal(_run(lambda t: tf.nn.dropout(t, rate=0.0), x), x)
    assert framework_random.default_generator.get_state() == state  # rate 0 draws no seed


def test_dropout_second_argument_is_tensorflow_1_keep_prob():
    out = _run(lambda t: tf.nn.dropout(t, 0.25, seed=3), np.ones((100, 100), np.float32))
    assert set(np.unique(out).tolist()) == {0.0, 4.0}
    assert abs((out > 0).mean() - 0.25) < 0.02


def test_dropout_with_a_fed_keep_prob_as_in_the_tutorials():
    values = RNG.standard_normal((40, 50)) + 3.0  # no zeros: kept elements are != 0
    cotangent = RNG.standard_normal((40, 50))
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float64, (None, 50))
        keep_prob = tf.placeholder(tf.float32, ())
        y = tf.nn.dropout(x, keep_prob, seed=4)
        (g,) = tf.gradients(tf.reduce_sum(y * tf.constant(cotangent)), [x])
        rate = tf.placeholder(tf.float64, ())
        shared = tf.nn.dropout(x, rate=rate, noise_shape=[1, 50], seed=5)
        with tf.Session() as sess:
            np.testing.assert_array_equal(sess.run(y, {x: values, keep_prob: 1.0}), values)
            first, grad = sess.run([y, g], {x: values, keep_prob: 0.5})
            second = sess.run(y, {x: values, keep_prob: 0.5})
            kept = sess.run(shared, {x: values, rate: 0.75})
            for bad in (0.0, 1.5, float("nan")):
                with pytest.raises(tf.GraphError, match=r"keep_prob must be in \(0, 1\]") as error:
                    sess.run(y, {x: values, keep_prob: bad})
                assert "test_nn_layers.py" in str(error.value)
            with pytest.raises(tf.GraphError, match=r"rate must be in \[0, 1\)"):
                sess.run(shared, {x: values, rate: 1.0})
    assert first.dtype == np.float64
    np.testing.assert_allclose(first[first != 0], 2 * values[first != 0], rtol=1e-15)
    assert abs((first != 0).mean() - 0.5) < 0.05
    assert not np.array_equal(first != 0, second != 0)  # each run draws a new mask
    np.testing.assert_allclose(grad, cotangent * (first != 0) * 2, rtol=1e-15)
    assert ((kept != 0) == (kept[0] != 0)).all() and abs((kept[0] != 0).mean() - 0.25) < 0.2
    np.testing.assert_allclose(kept[:, kept[0] != 0], 4 * values[:, kept[0] != 0], rtol=1e-15)


def test_dropout_noise_shape_shares_decisions():
    x = np.ones((4, 50), np.float32)
    out = _run(lambda t: tf.nn.dropout(t, rate=0.5, noise_shape=[1, 50], seed=2), x)
    assert (out == out[0]).all() and 0 < (out[0] > 0).sum() < 50


def test_dropout_argument_errors():
    with tf.Graph().as_default():
        x = tf.ones((3,))
        with pytest.raises(tf.GraphError, match="exactly one"):
            tf.nn.dropout(x)
        with pytest.raises(tf.GraphError, match="exactly one"):
            tf.nn.dropout(x, rate=0.5, keep_prob=0.5)
        with pytest.raises(tf.GraphError, match=r"\[0, 1\)"):
            tf.nn.dropout(x, rate=1.0)
        with pytest.raises(tf.GraphError, match="scalar float tensor"):
            tf.nn.dropout(x, keep_prob=tf.placeholder(tf.float32, (2,)))
        with pytest.raises(tf.GraphError, match="scalar float tensor"):
            tf.nn.dropout(x, rate=tf.placeholder(tf.int32, ()))
        with pytest.raises(tf.GraphError, match="does not broadcast"):
            tf.nn.dropout(x, 0.5, noise_shape=[2])


# -- embeddings --------------------------------------------------------------------------------


def test_embedding_lookup_gathers_rows_and_sends_gradients_back_to_them():
    table = RNG.standard_normal((5, 3))
    ids = np.array([[4, 0], [4, 2]])
    with tf.Graph().as_default():
        params = tf.Variable(table)
        fed = tf.placeholder(tf.int32, (None, 2))
        rows = tf.nn.embedding_lookup(params, fed)
        listed = tf.nn.embedding_lookup([params], fed, max_norm=1.0)
        (grad,) = tf.gradients(tf.reduce_sum(rows * 2.0), [params])
        assert rows.shape == (None, 2, 3)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            got, clipped, g = sess.run([rows, listed, grad], {fed: ids})
            with pytest.raises(IndexError, match="out of range"):
                sess.run(rows, {fed: [[5, 0]]})
        with pytest.raises(tf.GraphError, match="integers"):
            tf.nn.embedding_lookup(params, tf.constant([0.0]))
        with pytest.raises(tf.GraphError, match="2 shards is not supported"):
            tf.nn.embedding_lookup([params, params], fed)
    np.testing.assert_array_equal(got, table[ids])
    norms = np.linalg.norm(table[ids], axis=-1, keepdims=True)
    np.testing.assert_allclose(clipped, table[ids] / np.maximum(norms, 1.0), rtol=1e-12)
    np.testing.assert_array_equal(g, 2.0 * np.bincount(ids.ravel(), minlength=5)[:, None]
                                  * np.ones(3))


# -- initializers and layers -------------------------------------------------------------------


def test_glorot_uniform_draws_in_the_eager_layout():
    for shape in [(5, 3), (3, 2, 4, 6)]:
        ours = tf.glorot_uniform_initializer(seed=4)(shape)
        eager_shape = (shape[-1], shape[-2]) + shape[:-2]
        eager = framework_init.xavier_uniform(eager_shape,
                                              generator=framework_random.Generator(4))
        np.testing.assert_array_equal(ours, np.moveaxis(np.moveaxis(eager, 0, -1), 0, -2))
        fan_in = shape[-2] * math.prod(shape[:-2])
        fan_out = shape[-1] * math.prod(shape[:-2])
        assert abs(ours).max() <= math.sqrt(6 / (fan_in + fan_out))


def test_other_initializers():
    assert tf.zeros_initializer()((2, 3)).sum() == 0
    np.testing.assert_array_equal(tf.ones_initializer()((2,), dtype=tf.float64),
                                  np.ones(2))
    np.testing.assert_array_equal(tf.constant_initializer(0.5)((2,)), [0.5, 0.5])
    with pytest.raises(tf.GraphError, match="shape"):
        tf.constant_initializer([1.0, 2.0])((3,))
    normal = tf.random_normal_initializer(1.0, 0.1, seed=1)((2000,))
    assert abs(normal.mean() - 1.0) < 0.01 and abs(normal.std() - 0.1) < 0.01
    uniform = tf.random_uniform_initializer(seed=1)((2000,))
    assert uniform.min() >= 0 and uniform.max() < 1 and uniform.dtype == np.float32


def test_dense_variables_values_and_names():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 4))
        y = tf.layers.dense(x, 3, activation=tf.nn.relu)
        z = tf.layers.dense(y, 2, use_bias=False, name="logits")
        names = [v.op.name for v in tf.trainable_variables()]
        assert names == ["dense/kernel", "dense/bias", "logits/kernel"]
        kernel, bias, kernel2 = tf.trainable_variables()
        assert kernel.shape == (4, 3) and bias.shape == (3,) and kernel2.shape == (3, 2)
        assert y.shape == (None, 3) and z.shape == (None, 2)
        data = RNG.standard_normal((5, 4)).astype(np.float32)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            got, k, b, k2 = sess.run([z, kernel, bias, kernel2], {x: data})
    np.testing.assert_array_equal(b, 0)
    np.testing.assert_allclose(got, np.maximum(data @ k + b, 0) @ k2, rtol=1e-5, atol=1e-6)


def test_dense_is_reproducible_with_a_seed_and_follows_the_input_dtype():
    def kernel_value():
        framework_random.manual_seed(123)
        with tf.Graph().as_default():
            tf.layers.dense(tf.placeholder(tf.float64, (None, 6)), 4)
            kernel = tf.trainable_variables()[0]
            assert kernel.dtype == np.float64
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                return sess.run(kernel)

    np.testing.assert_array_equal(kernel_value(), kernel_value())


def test_dense_on_rank_3_inputs_and_custom_initializers():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 2, 3))
        y = tf.layers.dense(x, 2, kernel_initializer=tf.ones_initializer(),
                            bias_initializer=tf.constant_initializer([0.5, -0.5]))
        assert y.shape == (None, 2, 2)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            out = sess.run(y, {x: np.ones((1, 2, 3))})
    np.testing.assert_allclose(out, [[[3.5, 2.5], [3.5, 2.5]]])


def test_layer_names_reuse_and_errors():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, (None, 4))
        a = tf.layers.dense(x, 2, name="shared")
        with pytest.raises(tf.GraphError, match="reuse=True"):
            tf.layers.dense(x, 2, name="shared")
        b = tf.layers.dense(x, 2, name="shared", reuse=True)
        assert len(tf.trainable_variables()) == 2
        with pytest.raises(tf.GraphError, match=r"specified shape \(4, 5\) and found shape "
                                                r"\(4, 2\)"):
            tf.layers.dense(x, 5, name="shared", reuse=True)
        with pytest.raises(tf.GraphError, match="Variable other/kernel does not exist"):
            tf.layers.dense(x, 2, name="other", reuse=True)
        tf.layers.dense(x, 2)
        tf.layers.dense(x, 2)
        assert [v.op.name for v in tf.trainable_variables()][-2:] == ["dense_1/kernel",
                                                                      "dense_1/bias"]
        # Variable names follow variable scopes (a name scope leaves them alone, as in TF1).
        with tf.variable_scope("model"):
            tf.layers.dense(x, 2, name="fc")
            tf.layers.dense(x, 2, name="fc", reuse=True)
        assert [v.op.name for v in tf.trainable_variables()][-2:] == ["model/fc/kernel",
                                                                      "model/fc/bias"]
        with pytest.raises(tf.GraphError, match="last dimension"):
            tf.layers.dense(tf.placeholder(tf.float32, (3, None)), 2)
        with pytest.raises(tf.GraphError, match="floating point"):
            tf.layers.dense(tf.placeholder(tf.int32, (3, 2)), 2)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            data = RNG.standard_normal((3, 4))
            first, second = sess.run([a, b], {x: data})
    np.testing.assert_array_equal(first, second)


def test_conv2d_layer_pooling_and_flatten():
    nchw = "channels_first"
    with tf.Graph().as_default():
        images = tf.placeholder(tf.float32, (None, 1, 8, 8))
        features = tf.layers.conv2d(images, 4, 3, padding="same", activation=tf.nn.relu,
                                    data_format=nchw)
        valid = tf.layers.conv2d(features, 2, (3, 2), strides=(1, 2), name="valid",
                                 data_format=nchw)
        pooled = tf.layers.max_pooling2d(features, 2, 2, data_format=nchw)
        averaged = tf.layers.average_pooling2d(features, 3, 2, padding="same",
                                               data_format=nchw)
        flat = tf.layers.flatten(pooled)
        kernel, bias = tf.trainable_variables()[:2]
        assert kernel.op.name == "conv2d/kernel" and kernel.shape == (3, 3, 1, 4)
        assert bias.shape == (4,)
        assert features.shape == (None, 4, 8, 8) and valid.shape == (None, 2, 6, 4)
        assert pooled.shape == (None, 4, 4, 4) and averaged.shape == (None, 4, 4, 4)
        assert flat.shape == (None, 64)
        data = RNG.random((2, 1, 8, 8)).astype(np.float32)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(bias.initializer)
            bias.load(np.array([0.1, -0.1, 0.2, 0.0], np.float32), sess)
            got, k, pooled_value, flat_value = sess.run([features, kernel, pooled, flat],
                                                        {images: data})
    pads = ((1, 1), (1, 1))
    expected = np.maximum(_np_conv(data, k, (1, 1), pads) +
                          np.array([0.1, -0.1, 0.2, 0.0])[:, None, None], 0)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(flat_value, pooled_value.reshape(2, -1))


def test_conv_and_pooling_layers_default_to_channels_last_as_tensorflow():
    # A TensorFlow 1 CNN feeds NHWC images and names no data_format.
    with tf.Graph().as_default():
        images = tf.placeholder(tf.float32, (None, 8, 8, 3))
        out = tf.layers.conv2d(images, 5, 3, padding="same")
        pooled = tf.layers.max_pooling2d(out, 2, 2)
        averaged = tf.layers.average_pooling2d(out, 2, 2)
        assert out.shape == (None, 8, 8, 5) and pooled.shape == (None, 4, 4, 5)
        assert averaged.shape == (None, 4, 4, 5)
        kernel, bias = tf.trainable_variables()
        assert kernel.shape == (3, 3, 3, 5) and bias.shape == (5,)
        data = RNG.random((2, 8, 8, 3)).astype(np.float32)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            bias.load(np.arange(5, dtype=np.float32) / 10, sess)
            got, k, pooled_value, averaged_value = sess.run([out, kernel, pooled, averaged],
                                                            {images: data})
        with pytest.raises(tf.GraphError, match="channels_first"):
            tf.layers.conv2d(images, 5, 3, data_format="NHWC")
    expected = _np_conv(data.transpose(0, 3, 1, 2), k, (1, 1), ((1, 1), (1, 1)))
    expected = expected.transpose(0, 2, 3, 1) + np.arange(5) / 10
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    blocks = got.reshape(2, 4, 2, 4, 2, 5)
    np.testing.assert_array_equal(pooled_value, blocks.max(axis=(2, 4)))
    np.testing.assert_allclose(averaged_value, blocks.mean(axis=(2, 4)), rtol=1e-6)


def test_layers_dropout_with_python_bools():
    with tf.Graph().as_default():
        x = tf.ones((1000,))
        off = tf.layers.dropout(x, 0.5)
        on = tf.layers.dropout(x, 0.5, training=True, seed=1)
        with tf.Session() as sess:
            off_value, on_value = sess.run([off, on])
        with pytest.raises(tf.GraphError, match="training must be"):
            tf.layers.dropout(x, 0.5, training="yes")
    np.testing.assert_array_equal(off_value, 1.0)
    assert set(np.unique(on_value).tolist()) == {0.0, 2.0}


def test_layers_dropout_with_a_bool_tensor():
    pytest.importorskip("graph.control_flow", reason="graph.cond is not available yet")
    with tf.Graph().as_default():
        x = tf.ones((1000,))
        training = tf.placeholder(tf.bool, ())
        y = tf.layers.dropout(x, 0.5, training=training, seed=3)
        (grad,) = tf.gradients(tf.reduce_sum(y * 3.0), [x])
        with tf.Session() as sess:
            np.testing.assert_array_equal(sess.run(y, {training: False}), 1.0)
            np.testing.assert_array_equal(sess.run(grad, {training: False}), 3.0)
            dropped, dropped_grad = sess.run([y, grad], {training: True})
    assert set(np.unique(dropped).tolist()) == {0.0, 2.0}
    np.testing.assert_array_equal(dropped_grad, dropped * 3.0)  # the same mask both ways
