"""What the nn spec table cannot express: index values out of range, mixed dtypes, -inf rows,
the parallel and blocked kernel paths, and linear's bits."""

import numpy as np
import pytest

from framework import dtypes
from framework.errors import DTypeError, DualgraphError, ShapeError
from framework.kernels import cpu
from framework.ops import F, nn
from framework.ops.dispatch import bind
from framework.ops.nn import Linear as LinearOp
from framework.ops.nn import LinearGrad, LinearWeightGrad
from tests.framework import tracer
from tests.framework.specs_nn import np_cross_entropy, np_log_softmax, np_softmax

RNG = np.random.default_rng(7)


@pytest.fixture
def no_kernels(monkeypatch):
    """Fail the test if any nn kernel driver runs."""

    def refuse(*args, **kwargs):
        raise AssertionError("an nn kernel ran on input its checks should have refused")

    monkeypatch.setattr(cpu, "run_along_axis", refuse)
    monkeypatch.setattr(cpu, "run_rows", refuse)
    monkeypatch.setattr(cpu, "axis_drivers", refuse)


# ---------------------------------------------------------------------------------------------
# Values the shape rules cannot see


@pytest.mark.parametrize("bad_label", [5, 7, -1])
def test_out_of_range_label_names_the_label_and_the_class_count(bad_label, no_kernels):
    logits = np.zeros((4, 5), np.float32)
    labels = np.array([0, 1, bad_label, 2])
    with pytest.raises(IndexError, match=rf"class label {bad_label} at position \(2,\) is out "
                                         rf"of range for 5 classes") as info:
        F.cross_entropy(logits, labels)
    assert isinstance(info.value, DualgraphError)
    assert __file__ in str(info.value)


def test_out_of_range_label_in_a_spatial_loss(no_kernels):
    labels = np.zeros((2, 3, 3), np.int32)
    labels[1, 2, 0] = 4
    with pytest.raises(IndexError, match=r"class label 4 at position \(1, 2, 0\)"):
        F.cross_entropy(np.zeros((2, 4, 3, 3)), labels, reduction="none")


@pytest.mark.parametrize("bad_index", [6, -2])
def test_out_of_range_embedding_index(bad_index, no_kernels):
    with pytest.raises(IndexError, match=rf"embedding: index {bad_index} .* a weight of 6 rows"):
        F.embedding(np.ones((6, 2)), np.array([[0, 5], [bad_index, 1]]))


# ---------------------------------------------------------------------------------------------
# dtypes and arguments


def test_probability_targets_must_have_the_logits_dtype(no_kernels):
    with pytest.raises(DTypeError, match="probability targets have dtype float64 but logits "
                                         "have float32"):
        F.cross_entropy(np.zeros((2, 3), np.float32), np.full((2, 3), 1 / 3))


@pytest.mark.parametrize("labels", [np.array([True, False]), np.array([1.0, 0.0])])
def test_labels_must_be_integers(labels, no_kernels):
    # A float (N,) target is read as probabilities and refused by shape; bools by dtype.
    with pytest.raises(DualgraphError, match="class labels has dtype bool|probability targets "
                                             "must have the logits' shape"):
        F.cross_entropy(np.zeros((2, 3)), labels)


def test_embedding_indices_must_be_integers(no_kernels):
    with pytest.raises(DTypeError, match="embedding: indices has dtype float64"):
        F.embedding(np.ones((4, 2)), np.array([0.0, 1.0]))


@pytest.mark.parametrize("loss, args", [
    (F.cross_entropy, (np.zeros((2, 3)), np.array([0, 1]))),
    (F.mse, (np.zeros(3), np.zeros(3))),
])
def test_unknown_reduction_is_refused(loss, args, no_kernels):
    with pytest.raises(DualgraphError, match="reduction must be one of mean, sum, none; got "
                                             "'avg'"):
        loss(*args, reduction="avg")


def test_mse_promotes_mixed_float_dtypes():
    result = F.mse(np.ones(3, np.float32), np.zeros(3, np.float64))
    assert result.dtype == np.float64 and result == 1.0


def test_softmax_of_a_scalar_along_axis_zero():
    assert F.softmax(np.float32(3.0), axis=0) == 1.0
    assert F.log_softmax(np.float64(-2.0), axis=0) == 0.0


# ---------------------------------------------------------------------------------------------
# Numerical behaviour


def test_huge_logits_do_not_overflow():
    logits = np.array([[1e4, 1e4 - 1.0, -1e4], [3e38, 3e38, 0.0]], np.float32)
    expected = np_softmax(logits.astype(np.float64), axis=1)
    np.testing.assert_allclose(F.softmax(logits), expected, rtol=1e-6, atol=1e-30)
    np.testing.assert_allclose(F.log_softmax(logits)[0], np_log_softmax(
        logits[0].astype(np.float64)), rtol=1e-6)
    loss = F.cross_entropy(logits, np.array([1, 0]), reduction="none")
    np.testing.assert_allclose(loss, [1.0 + np.log1p(np.exp(-1.0)), np.log(2.0)], rtol=1e-6)


def test_minus_infinity_logits_behave_as_in_pytorch():
    inf = np.inf
    logits = np.array([[0.0, -inf, 0.0], [-inf, -inf, -inf]])
    probs = F.softmax(logits)
    np.testing.assert_array_equal(probs[0], [0.5, 0.0, 0.5])
    assert np.isnan(probs[1]).all()  # nothing to normalize: NaN, as torch.softmax gives
    log_probs = F.log_softmax(logits)
    np.testing.assert_array_equal(log_probs[0], [-np.log(2), -inf, -np.log(2)])
    assert np.isnan(log_probs[1]).all()
    losses = F.cross_entropy(logits[:1].repeat(2, 0), np.array([0, 1]), reduction="none")
    np.testing.assert_array_equal(losses, [np.log(2), inf])


def test_nan_spreads_over_its_row_only():
    logits = np.array([[0.0, np.nan, 1.0], [0.0, 1.0, 2.0]], np.float32)
    probs = F.softmax(logits)
    assert np.isnan(probs[0]).all() and np.isfinite(probs[1]).all()


# ---------------------------------------------------------------------------------------------
# Kernel paths: many rows (parallel), reduced axis not last (blocks), strided views


@pytest.mark.parametrize("dtype", dtypes.FLOATS)
@pytest.mark.parametrize("shape, axis", [((300, 70), -1), ((3, 50, 300), 1), ((70, 300), 0),
                                         ((2, 129, 5), 1), ((4, 3, 2, 100), 2)])
def test_large_and_blocked_softmax_match_numpy(shape, axis, dtype):
    x = RNG.uniform(-10, 10, size=shape).astype(dtype)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    expected = np_softmax(x.astype(np.float64), axis)
    np.testing.assert_allclose(F.softmax(x, axis), expected, rtol=rtol, atol=1e-7)
    np.testing.assert_allclose(F.log_softmax(x, axis), np_log_softmax(x.astype(np.float64), axis),
                               rtol=rtol, atol=1e-6)


def test_serial_and_parallel_kernels_agree(monkeypatch):
    x = RNG.standard_normal((64, 33, 3)).astype(np.float32)
    labels = RNG.integers(0, 33, size=(64, 3))
    serial = [F.softmax(x, 1), F.cross_entropy(x, labels, reduction="none"), F.softmax(x[:, :, 0])]
    monkeypatch.setattr(cpu, "AXIS_PARALLEL_MIN_SIZE", 0)
    parallel = [F.softmax(x, 1), F.cross_entropy(x, labels, reduction="none"),
                F.softmax(x[:, :, 0])]
    for one, other in zip(serial, parallel):
        np.testing.assert_array_equal(one, other)


@pytest.mark.parametrize("soft", [False, True])
def test_large_cross_entropy_matches_numpy(soft):
    logits = RNG.uniform(-5, 5, size=(2000, 37)).astype(np.float32)
    target = RNG.uniform(0, 1, size=logits.shape).astype(np.float32) if soft else \
        RNG.integers(0, 37, size=2000)
    for reduction in ("none", "mean", "sum"):
        expected = np_cross_entropy(logits.astype(np.float64), target, reduction)
        np.testing.assert_allclose(F.cross_entropy(logits, target, reduction), expected,
                                   rtol=2e-5)


def test_transposed_and_strided_views_are_read_correctly():
    x = RNG.standard_normal((40, 30))
    np.testing.assert_allclose(F.softmax(x.T, axis=0), np_softmax(x, 1).T, rtol=1e-12)
    np.testing.assert_allclose(F.softmax(x[::3, ::2], axis=1), np_softmax(x[::3, ::2], 1),
                               rtol=1e-12)
    weight = RNG.standard_normal((8, 50))
    indices = RNG.integers(0, 8, size=(40, 20))
    np.testing.assert_array_equal(F.embedding(weight.T.copy().T[:, ::5], indices[::2, ::3]),
                                  weight[:, ::5][indices[::2, ::3]])


def test_large_embedding_lookup():
    weight = RNG.standard_normal((1000, 64)).astype(np.float32)
    indices = RNG.integers(0, 1000, size=(25, 20))
    np.testing.assert_array_equal(F.embedding(weight, indices), weight[indices])


# ---------------------------------------------------------------------------------------------
# Gradients


def test_embedding_gradient_sums_repeated_rows():
    weight = tracer.leaf(np.zeros((4, 2)))
    out = F.embedding(weight, np.array([[1, 1], [3, 1]]))
    (grad,) = tracer.grad([out], [weight], [np.ones((2, 2, 2))])
    np.testing.assert_array_equal(grad.value, [[0, 0], [3, 3], [0, 0], [1, 1]])


def test_label_cross_entropy_gradient_is_softmax_minus_one_hot():
    logits_value = RNG.standard_normal((3, 4))
    labels = np.array([2, 0, 3])
    logits = tracer.leaf(logits_value)
    loss = F.cross_entropy(logits, labels, reduction="sum")
    (grad,) = tracer.grad([loss], [logits], [np.float64(2.0)])
    expected = np_softmax(logits_value, 1) - np.eye(4)[labels]
    np.testing.assert_allclose(grad.value, 2.0 * expected, rtol=1e-12)
    op_grads = nn.LabelCrossEntropy().vjp(np.ones(3), (logits_value, labels), None)
    assert op_grads[1] is None  # integer labels get no gradient


def test_probability_target_gradient_is_minus_log_softmax():
    logits_value = RNG.standard_normal((3, 4))
    target_value = RNG.uniform(0, 1, size=(3, 4))
    logits, target = tracer.leaf(logits_value), tracer.leaf(target_value)
    loss = F.cross_entropy(logits, target, reduction="none")
    cotangent = np.array([1.0, -2.0, 0.5])
    grad_logits, grad_target = tracer.grad([loss], [logits, target], [cotangent])
    np.testing.assert_allclose(grad_target.value,
                               -np_log_softmax(logits_value, 1) * cotangent[:, None], rtol=1e-12)
    mass = target_value.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(
        grad_logits.value, (np_softmax(logits_value, 1) * mass - target_value) * cotangent[:, None],
        rtol=1e-12)


def test_cross_entropy_second_order_gradient_needs_the_number_of_classes():
    # The first-order gradient is one kernel that reads the classes at run time; the second
    # order builds a one-hot, which needs their number before it runs.
    from framework.ops.registry import Spec

    with pytest.raises(ShapeError, match="number of classes"):
        nn.LabelCrossEntropyGrad().vjp(
            np.ones((2, 3)), (Spec((2, None), np.float32), Spec((2,), np.int64),
                              Spec((2,), np.float32)), None)


@pytest.mark.bits
@pytest.mark.parametrize("dtype", dtypes.FLOATS)
@pytest.mark.parametrize("x_shape", [(33, 65), (3, 5, 65), (65,)])
def test_linear_has_the_bits_of_matmul_then_add(dtype, x_shape):
    # linear's fast path and the general one (matmul, add) issue the same GEMM on the same
    # layouts, so they agree bit for bit on every CPU.
    rng = np.random.default_rng(7)
    x = rng.standard_normal(x_shape).astype(dtype)
    weight = rng.standard_normal((17, 65)).astype(dtype)
    bias = rng.standard_normal(17).astype(dtype)
    product = F.matmul(x, F.transpose(weight))
    np.testing.assert_array_equal(F.linear(x, weight, bias), F.add(product, bias))
    np.testing.assert_array_equal(F.linear(x, weight), product)


@pytest.mark.bits
@pytest.mark.parametrize("dtype", dtypes.FLOATS)
def test_linear_bits_do_not_depend_on_the_operands_layouts(dtype):
    # A weight held transposed (the graph's (in, out) kernel, read as (out, in)) is copied to
    # the layout eager's nn.Linear holds before BLAS runs: BLAS kernels may round the two
    # forms of a product differently (OpenBLAS's SkylakeX kernels do), so both front-ends
    # must issue one form. Gradients likewise.
    rng = np.random.default_rng(9)
    x = rng.standard_normal((33, 65)).astype(dtype)
    weight = rng.standard_normal((17, 65)).astype(dtype)
    bias = rng.standard_normal(17).astype(dtype)
    g = rng.standard_normal((33, 17)).astype(dtype)
    transposed_weight = np.ascontiguousarray(weight.T).T  # the same values, Fortran order
    expected = F.linear(x, weight, bias)
    np.testing.assert_array_equal(F.linear(x, transposed_weight, bias), expected)
    np.testing.assert_array_equal(F.linear(np.asfortranarray(x), weight, bias), expected)
    expected_grads = bind(LinearGrad(), x, weight, g)
    for operands in [(x, transposed_weight, g), (np.asfortranarray(x), weight, g),
                     (x, weight, np.asfortranarray(g))]:
        for got, want in zip(bind(LinearGrad(), *operands), expected_grads):
            np.testing.assert_array_equal(got, want)


@pytest.mark.bits
@pytest.mark.parametrize("dtype", dtypes.FLOATS)
def test_linear_weight_gradient_is_one_gemm_whatever_the_layouts(dtype):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((33, 65)).astype(dtype)
    g = rng.standard_normal((33, 17)).astype(dtype)
    result = bind(LinearWeightGrad(), x, g)
    assert result.shape == (17, 65) and result.dtype == dtype
    np.testing.assert_array_equal(result, F.transpose(F.matmul(F.transpose(x), g)))
    np.testing.assert_array_equal(bind(LinearWeightGrad(), np.asfortranarray(x), g), result)
    np.testing.assert_array_equal(bind(LinearWeightGrad(), x, np.asfortranarray(g)), result)


def test_linear_with_no_input_features_gives_the_bias():
    bias = np.array([1.0, 2.0], np.float32)
    result = F.linear(np.ones((3, 0), np.float32), np.ones((2, 0), np.float32), bias)
    np.testing.assert_array_equal(result, np.tile(bias, (3, 1)))


def test_shape_errors_come_on_every_call():
    # The shape rules remember shapes they accepted, never ones they refused.
    for _ in range(2):
        with pytest.raises(ShapeError, match="in_features is 2"):
            F.linear(np.ones((2, 3), np.float32), np.ones((4, 2), np.float32))
        with pytest.raises(ShapeError, match=r"bias must have shape \(4,\)"):
            LinearOp(True).infer(np.ones((2, 3), np.float32), np.ones((4, 3), np.float32),
                                 np.ones(3, np.float32))
        with pytest.raises(ShapeError, match="class labels must have shape"):
            F.cross_entropy(np.ones((2, 3), np.float32), np.array([0, 1, 2]))
