"""eager.nn.utils: gradient clipping and parameter/vector conversion, against NumPy."""

from __future__ import annotations

import math

import numpy as np
import pytest

import eager
import eager as torch
from eager import nn
from eager.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    parameters_to_vector,
    vector_to_parameters,
)


def params_with_grads(dtype=np.float32, seed=0):
    """Three parameters with known gradients (one with none) and the gradients as arrays."""
    rng = np.random.default_rng(seed)
    shapes = [(3, 4), (4,), (2, 2, 2)]
    params, grads = [], []
    for shape in shapes:
        param = eager.tensor(rng.standard_normal(shape).astype(dtype), requires_grad=True)
        grad = rng.standard_normal(shape).astype(dtype) * 3
        param.grad = eager.tensor(grad)
        params.append(param)
        grads.append(grad)
    params.insert(1, eager.ones(5, requires_grad=True))  # no gradient: skipped
    return params, grads


def numpy_norm(grads, p):
    flat = np.concatenate([g.astype(np.float64).ravel() for g in grads])
    if p == math.inf:
        return np.abs(flat).max()
    return (np.abs(flat) ** p).sum() ** (1 / p)


def test_reachable_under_pytorch_names():
    assert torch.nn.utils.clip_grad_norm_ is clip_grad_norm_
    assert nn.utils.parameters_to_vector is parameters_to_vector


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.0, math.inf, "inf"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_grad_norm_scales_to_max_norm(norm_type, dtype):
    params, grads = params_with_grads(dtype)
    p = float(norm_type)
    expected = numpy_norm(grads, p)
    max_norm = expected / 4
    total = clip_grad_norm_(iter(params), max_norm=max_norm, norm_type=norm_type)
    assert isinstance(total, eager.Tensor) and total.shape == () and total.dtype == dtype
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(total.item(), expected, rtol=rtol)
    coefficient = max_norm / (expected + 1e-6)
    with_grads = [param for param in params if param.grad is not None]
    for param, grad in zip(with_grads, grads):
        assert param.grad.dtype == dtype
        np.testing.assert_allclose(param.grad.numpy(), grad * coefficient, rtol=rtol * 10)
    np.testing.assert_allclose(numpy_norm([g.grad.numpy() for g in with_grads], p), max_norm,
                               rtol=1e-5)
    assert params[1].grad is None


def test_zero_norm_counts_the_gradients_with_a_nonzero_entry_as_pytorch_does():
    params, grads = params_with_grads()
    params[0].grad._array[...] = 0
    total = clip_grad_norm_(params, max_norm=1.0, norm_type=0)
    assert total.item() == 2.0  # two of the three gradients have non-zero entries
    np.testing.assert_allclose(params[2].grad.numpy(), grads[1] / (2.0 + 1e-6), rtol=1e-6)


def test_clip_grad_norm_leaves_small_gradients_and_returns_the_norm():
    w = eager.tensor([3.0, 4.0], requires_grad=True)
    (w * w).sum().backward()  # gradient [6, 8], norm 10
    total = clip_grad_norm_(w, max_norm=100.0)
    assert total.item() == pytest.approx(10.0) and w.grad.tolist() == [6.0, 8.0]
    assert clip_grad_norm_([eager.ones(2, requires_grad=True)], 1.0).tolist() == 0.0


def test_clip_grad_norm_on_a_model_inside_a_training_step():
    eager.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    optimizer = eager.optim.SGD(model.parameters(), lr=0.1)
    loss = nn.CrossEntropyLoss()(model(eager.randn(6, 4) * 50), eager.tensor([0, 1, 2] * 2))
    loss.backward()
    before = numpy_norm([p.grad.numpy() for p in model.parameters()], 2)
    total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)
    after = numpy_norm([p.grad.numpy() for p in model.parameters()], 2)
    assert total.item() == pytest.approx(before, rel=1e-5) and before > 0.5
    assert after == pytest.approx(0.5, rel=1e-4)
    old = [p.detach().numpy().copy() for p in model.parameters()]
    optimizer.step()
    for param, previous in zip(model.parameters(), old):
        np.testing.assert_allclose(previous - param.detach().numpy(), 0.1 * param.grad.numpy(),
                                   rtol=1e-4, atol=1e-7)


def test_nonfinite_total_norm():
    params, grads = params_with_grads()
    params[0].grad._array[0, 0] = np.inf
    with pytest.raises(RuntimeError, match="is non-finite, so it cannot be clipped"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(params[2].grad.numpy(), grads[1])  # untouched
    total = clip_grad_norm_(params, 1.0)  # PyTorch's default: scale anyway
    assert math.isinf(total.item()) and np.isnan(params[0].grad.numpy()[0, 0])


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(max_norm=-1.0), ValueError, "max_norm must be >= 0"),
    (dict(max_norm=float("nan")), ValueError, "max_norm must be >= 0"),
    (dict(max_norm="big"), TypeError, "max_norm must be a number"),
    (dict(max_norm=1.0, norm_type="two"), TypeError, "norm_type must be a number"),
    (dict(max_norm=1.0, foreach=True), RuntimeError, "foreach=True was passed"),
])
def test_clip_grad_norm_bad_arguments_change_nothing(kwargs, error, message):
    params, grads = params_with_grads()
    with pytest.raises(error, match=message):
        clip_grad_norm_(params, **kwargs)
    for param, grad in zip([p for p in params if p.grad is not None], grads):
        np.testing.assert_array_equal(param.grad.numpy(), grad)


def test_a_non_tensor_parameter_is_refused_before_any_gradient_changes():
    params, grads = params_with_grads()
    with pytest.raises(TypeError, match="item 4 is a ndarray"):
        clip_grad_norm_(params + [np.ones(3)], max_norm=0.1)
    np.testing.assert_array_equal(params[0].grad.numpy(), grads[0])
    with pytest.raises(ValueError, match="clip_value must be >= 0") as error:
        clip_grad_value_(params, clip_value=-1)
    assert "test_nn_utils.py" in str(error.value)


def test_clip_grad_value():
    w = eager.tensor([1.0, -2.0, 3.0, 0.5], requires_grad=True)
    w.grad = eager.tensor([2.0, -4.0, float("nan"), 6.0])
    other = eager.ones(2, requires_grad=True)
    assert clip_grad_value_([w, other], clip_value=3) is None
    np.testing.assert_array_equal(w.grad.numpy(), np.array([2.0, -3.0, np.nan, 3.0],
                                                           np.float32))
    assert other.grad is None


def test_parameters_to_vector_and_back():
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    shapes = [tuple(p.shape) for p in model.parameters()]
    vec = parameters_to_vector(model.parameters())
    assert vec.shape == (11,) and vec.requires_grad
    expected = np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])
    np.testing.assert_array_equal(vec.detach().numpy(), expected)

    (vec * eager.arange(11).float()).sum().backward()  # differentiable: d/dp = position
    np.testing.assert_array_equal(model[0].weight.grad.numpy(), [[0, 1, 2], [3, 4, 5]])

    new = eager.arange(11).float() * 0.5
    vector_to_parameters(new, model.parameters())
    assert [tuple(p.shape) for p in model.parameters()] == shapes
    np.testing.assert_array_equal(parameters_to_vector(model.parameters()).detach().numpy(),
                                  new.numpy())
    assert model[2].bias.tolist() == [5.0]
    assert all(p.requires_grad for p in model.parameters())


def test_vector_to_parameters_bad_input_changes_nothing():
    a, b = eager.zeros(2, 2, requires_grad=True), eager.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="vec has 6 elements, but the parameters need 7"):
        vector_to_parameters(eager.ones(6), [a, b])
    assert a.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    with pytest.raises(TypeError, match="expected torch.Tensor, but got: ndarray"):
        vector_to_parameters(np.ones(7), [a, b])
    with pytest.raises(ValueError, match="vec must be 1-d"):
        vector_to_parameters(eager.ones(7, 1), [a, b])
    with pytest.raises(RuntimeError, match="non-empty list"):
        parameters_to_vector([])
    vector_to_parameters(eager.arange(9).float(), [a, b])  # extra entries ignored, as PyTorch
    assert b.tolist() == [4.0, 5.0, 6.0]
