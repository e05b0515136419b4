"""The PyTorch names tutorials reach for first: devices, creation, maths, nn, optim.

Each name follows PyTorch's semantics, defaults and error types; differentiable ones are checked
against float64 central finite differences.
"""

from __future__ import annotations

import numpy as np
import pytest

import eager as torch
from eager import nn
from eager.nn import functional as F
from framework.errors import DeviceError

# -- helpers --------------------------------------------------------------------------------------


def leaf(array):
    return torch.tensor(np.asarray(array, np.float64), requires_grad=True)


def assert_gradient_matches_finite_differences(function, *arrays, eps=1e-6, tol=1e-6):
    """Compare the gradient of sum(function(*leaves)) with central differences, per input."""
    leaves = [leaf(a) for a in arrays]
    function(*leaves).sum().backward()
    for index, array in enumerate(arrays):
        array = np.asarray(array, np.float64)
        numeric = np.zeros_like(array)
        for position in np.ndindex(array.shape):
            values = []
            for step in (eps, -eps):
                moved = [np.asarray(a, np.float64).copy() for a in arrays]
                moved[index][position] += step
                tensors = [torch.tensor(m) for m in moved]
                values.append(float(function(*tensors).sum().item()))
            numeric[position] = (values[0] - values[1]) / (2 * eps)
        np.testing.assert_allclose(leaves[index].grad.numpy(), numeric, rtol=tol, atol=tol)


# -- devices --------------------------------------------------------------------------------------


def test_device_idioms_pick_the_cpu():
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    assert device == torch.device("cpu") and str(device) == "cpu" and device.type == "cpu"
    assert torch.cuda.is_available() is False and torch.cuda.device_count() == 0
    assert torch.backends.mps.is_available() is False
    assert torch.accelerator.is_available() is False
    assert torch.accelerator.current_accelerator() is None
    assert torch.ones(2).device == device


def test_device_parses_pytorch_strings_and_refuses_unknown_types():
    assert torch.device("cuda:1") == torch.device("cuda", 1)
    assert torch.device("cuda:1").index == 1
    assert torch.device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(RuntimeError, match="'gpu'"):
        torch.device("gpu")
    with pytest.raises(RuntimeError, match="non-negative"):
        torch.device("cuda", -1)
    with pytest.raises(TypeError, match="must be str"):
        torch.device(3)


def test_tensor_and_module_move_to_a_cpu_device_object():
    device = torch.device("cpu")
    x = torch.ones(2, 3)
    assert x.to(device) is x
    model = nn.Linear(3, 2)
    assert model.to(device) is model
    assert model(x.to(device)).shape == (2, 2)


def test_moving_to_cuda_device_object_is_refused_without_changing_anything():
    model = nn.Linear(3, 2)
    before = model.weight.tolist()
    with pytest.raises(RuntimeError, match="not available"):
        model.to(torch.device("cuda"))
    with pytest.raises(DeviceError, match="not available"):
        torch.ones(2).to(torch.device("cuda", 0))
    assert model.weight.tolist() == before


def test_load_accepts_weights_only_and_a_cpu_map_location(tmp_path):
    path = tmp_path / "model.pth"
    torch.save({"w": torch.arange(3)}, path)
    for kwargs in ({"weights_only": True}, {"map_location": torch.device("cpu")},
                   {"map_location": "cpu", "weights_only": False}):
        assert torch.load(path, **kwargs)["w"].tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="map_location"):
        torch.load(path, map_location=torch.device("cuda"))


# -- creation -------------------------------------------------------------------------------------


def test_as_tensor_shares_numpy_memory_and_returns_tensors_unchanged():
    array = np.arange(3, dtype=np.float64)
    shared = torch.as_tensor(array)
    array[0] = 7.0
    assert shared.tolist() == [7.0, 1.0, 2.0] and shared.dtype == torch.float64
    converted = torch.as_tensor(array, dtype=torch.float32)
    array[1] = 9.0
    assert converted.tolist() == [7.0, 1.0, 2.0] and converted.dtype == torch.float32
    x = torch.ones(2)
    assert torch.as_tensor(x) is x and torch.as_tensor(x, dtype=torch.float64).dtype == \
        torch.float64
    assert torch.as_tensor([1.5, 2]).dtype == torch.float32
    with pytest.raises(RuntimeError, match="not available"):
        torch.as_tensor([1.0], device="cuda")


def test_eye_defaults_and_errors():
    assert torch.eye(2).tolist() == [[1.0, 0.0], [0.0, 1.0]] and torch.eye(2).dtype == \
        torch.float32
    assert torch.eye(2, 3, dtype=torch.int64).tolist() == [[1, 0, 0], [0, 1, 0]]
    with pytest.raises(RuntimeError, match="n must be greater or equal to 0"):
        torch.eye(-1)
    with pytest.raises(TypeError, match="'m' must be int"):
        torch.eye(2, 2.5)


def test_randperm_is_a_seeded_permutation():
    torch.manual_seed(3)
    first = torch.randperm(20)
    torch.manual_seed(3)
    assert torch.randperm(20).tolist() == first.tolist()
    assert sorted(first.tolist()) == list(range(20)) and first.dtype == torch.int64
    assert first.tolist() != list(range(20))
    a, b = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.randperm(8, generator=a).tolist() == torch.randperm(8, generator=b).tolist()
    assert torch.randperm(0).tolist() == []
    with pytest.raises(RuntimeError, match="non-negative"):
        torch.randperm(-2)


def test_like_creators_keep_shape_and_dtype():
    x = torch.zeros(2, 3, dtype=torch.float64)
    for make in (torch.empty_like, torch.rand_like, torch.randn_like):
        made = make(x)
        assert made.shape == (2, 3) and made.dtype == torch.float64 and made is not x
    values = torch.rand_like(torch.zeros(1000)).numpy()
    assert values.min() >= 0.0 and values.max() < 1.0
    torch.manual_seed(1)
    first = torch.randn_like(x)
    torch.manual_seed(1)
    assert torch.randn_like(x).tolist() == first.tolist()
    with pytest.raises(TypeError, match="must be Tensor"):
        torch.rand_like([1.0])
    with pytest.raises(RuntimeError, match="rand_like: draws floating point values"):
        torch.rand_like(torch.tensor([1, 2]))
    assert torch.randn_like(torch.tensor([1, 2]), dtype=torch.float64).dtype == torch.float64


def test_is_tensor_and_default_dtype():
    assert torch.is_tensor(torch.ones(1)) and torch.is_tensor(nn.Parameter(torch.ones(1)))
    assert not torch.is_tensor(np.ones(1)) and not torch.is_tensor(1.0)
    assert torch.get_default_dtype() == torch.float32 == torch.tensor([0.5]).dtype


# -- maths ----------------------------------------------------------------------------------------

A = np.array([[0.3, -1.2, 2.0], [1.1, 0.4, -0.7]])
B = np.array([[0.5, 1.0], [-0.3, 0.8], [1.5, -2.0]])
V3 = np.array([0.2, -0.9, 1.3])


def test_matrix_products_match_numpy_and_finite_differences():
    a, b = torch.tensor(A), torch.tensor(B)
    np.testing.assert_allclose(torch.mm(a, b).numpy(), A @ B)
    np.testing.assert_allclose(a.mm(b).numpy(), A @ B)
    np.testing.assert_allclose(torch.mv(a, torch.tensor(V3)).numpy(), A @ V3)
    assert torch.dot(torch.tensor([1, 2]), torch.tensor([3, 4])).item() == 11
    bias = torch.tensor([1.0, -1.0])
    np.testing.assert_allclose(torch.addmm(bias, a, b, beta=0.5, alpha=2.0).numpy(),
                               0.5 * np.array([1.0, -1.0]) + 2.0 * (A @ B))
    np.testing.assert_allclose(bias.addmm(a, b).numpy(), np.array([1.0, -1.0]) + A @ B)
    nan_input = torch.full((2, 2), float("nan"), dtype=torch.float64)
    assert not np.isnan(torch.addmm(nan_input, a, b, beta=0).numpy()).any()
    assert_gradient_matches_finite_differences(torch.mm, A, B)
    assert_gradient_matches_finite_differences(torch.mv, A, V3)
    assert_gradient_matches_finite_differences(torch.dot, V3, V3[::-1])
    assert_gradient_matches_finite_differences(
        lambda c, x, y: torch.addmm(c, x, y, beta=0.5, alpha=-2.0), np.ones(2), A, B)


def test_matrix_products_refuse_bad_shapes_and_dtypes():
    with pytest.raises(RuntimeError, match=r"cannot be multiplied \(2x3 and 2x3\)"):
        torch.mm(torch.ones(2, 3), torch.ones(2, 3))
    with pytest.raises(RuntimeError, match="self must be a matrix"):
        torch.mm(torch.ones(3), torch.ones(3, 2))
    with pytest.raises(RuntimeError, match="inconsistent tensor size"):
        torch.dot(torch.ones(3), torch.ones(4))
    with pytest.raises(RuntimeError, match="size mismatch"):
        torch.mv(torch.ones(2, 3), torch.ones(2))
    with pytest.raises(TypeError, match="same dtype"):
        torch.mm(torch.ones(2, 2), torch.ones(2, 2, dtype=torch.float64))
    with pytest.raises(RuntimeError, match="cannot be broadcast"):
        torch.addmm(torch.ones(3), torch.ones(2, 4), torch.ones(4, 2))


def test_t_transposes_matrices_and_refuses_more_dimensions():
    x = torch.tensor([[1, 2, 3]])
    assert torch.t(x).tolist() == [[1], [2], [3]] and x.t().shape == (3, 1)
    assert torch.t(torch.tensor([1, 2])).tolist() == [1, 2]
    with pytest.raises(RuntimeError, match="<= 2 dimensions"):
        torch.ones(2, 2, 2).t()


def test_rounding_matches_numpy_with_zero_gradient():
    values = np.array([-2.5, -1.5, -0.5, -0.4, 0.49999999999999994, 0.5, 1.5, 2.5, 3.7,
                       np.inf, -np.inf, np.nan, 2.0**60 + 1024])
    x = torch.tensor(values)
    for name, reference in (("floor", np.floor), ("ceil", np.ceil), ("trunc", np.trunc),
                            ("round", np.round)):
        result = getattr(torch, name)(x).numpy()
        np.testing.assert_array_equal(result, reference(values))
        np.testing.assert_array_equal(np.signbit(result), np.signbit(reference(values)))
        assert getattr(x, name)().tolist()[:9] == reference(values).tolist()[:9]
        leaf_x = leaf(values[:9])
        getattr(torch, name)(leaf_x).sum().backward()
        assert leaf_x.grad.tolist() == [0.0] * 9
    np.testing.assert_allclose(torch.round(torch.tensor([1.2345, 1234.5]), decimals=2).numpy(),
                               [1.23, 1234.5], rtol=1e-6)
    assert torch.round(torch.tensor([1234.5]), decimals=-2).tolist() == [1200.0]
    assert torch.floor(torch.tensor([3, -3])).tolist() == [3, -3]


def test_transcendentals_match_numpy_and_finite_differences():
    x = np.array([-1.3, -0.2, 1e-12, 0.7, 1.4])
    for name, reference in (("erf", None), ("expm1", np.expm1), ("log2", np.log2),
                            ("log10", np.log10), ("tan", np.tan), ("atan", np.arctan),
                            ("sinh", np.sinh), ("cosh", np.cosh)):
        inputs = np.abs(x) + 0.1 if name.startswith("log") else x
        if reference is not None:
            np.testing.assert_allclose(getattr(torch, name)(torch.tensor(inputs)).numpy(),
                                       reference(inputs), rtol=1e-14, atol=0)
            np.testing.assert_allclose(getattr(torch.tensor(inputs), name)().numpy(),
                                       reference(inputs), rtol=1e-14, atol=0)
        assert_gradient_matches_finite_differences(getattr(torch, name), inputs)
    assert torch.expm1(torch.tensor([1e-10])).item() == pytest.approx(1e-10, rel=1e-6)
    assert torch.sinh(torch.tensor([1e-30], dtype=torch.float64)).item() == 1e-30
    y, w = np.array([1.0, -1.0, 0.5, -2.0]), np.array([1.0, -1.0, -3.0, 0.2])
    np.testing.assert_allclose(torch.atan2(torch.tensor(y), torch.tensor(w)).numpy(),
                               np.arctan2(y, w), rtol=1e-15)
    np.testing.assert_allclose(torch.tensor(y).atan2(torch.tensor(w)).numpy(), np.arctan2(y, w))
    assert_gradient_matches_finite_differences(torch.atan2, y, w)
    assert torch.atan(torch.tensor([1, 2])).dtype == torch.float32


def test_clamp_min_max_and_amax_amin_functions():
    x = torch.tensor([[1.0, 5.0], [7.0, -2.0]])
    assert torch.clamp_min(x, 0.0).tolist() == [[1.0, 5.0], [7.0, 0.0]]
    assert x.clamp_max(4.0).tolist() == [[1.0, 4.0], [4.0, -2.0]]
    assert torch.amax(x).item() == 7.0 and torch.amin(x, dim=0).tolist() == [1.0, -2.0]
    assert torch.amax(x, 1, keepdim=True).tolist() == [[5.0], [7.0]]
    assert_gradient_matches_finite_differences(lambda v: torch.amax(v, dim=1), A)


# -- nn: activations ------------------------------------------------------------------------------

X = np.array([[-3.0, -0.7, -1e-3], [0.2, 1.5, 30.0]])
SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _softplus_reference(x, beta=1.0, threshold=20.0):
    return np.where(beta * x > threshold, x, np.log1p(np.exp(np.minimum(beta * x, 700))) / beta)


ACTIVATIONS = [
    (nn.LeakyReLU(0.1), lambda x: F.leaky_relu(x, 0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    (nn.LeakyReLU(), F.leaky_relu, lambda x: np.where(x > 0, x, 0.01 * x)),
    (nn.ELU(alpha=0.5), lambda x: F.elu(x, 0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))),
    (nn.SELU(), F.selu,
     lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x))),
    (nn.SiLU(), F.silu, lambda x: x / (1 + np.exp(-x))),
    (nn.Softplus(), F.softplus, _softplus_reference),
    (nn.Softplus(beta=2.0, threshold=1.0), lambda x: F.softplus(x, 2.0, 1.0),
     lambda x: _softplus_reference(x, 2.0, 1.0)),
    (nn.ReLU6(), F.relu6, lambda x: np.clip(x, 0, 6)),
    (nn.Hardtanh(-2.0, 2.0), lambda x: F.hardtanh(x, -2.0, 2.0), lambda x: np.clip(x, -2, 2)),
]


@pytest.mark.parametrize("module, function, reference", ACTIVATIONS,
                         ids=[repr(a[0]) for a in ACTIVATIONS])
def test_activations_match_numpy_and_finite_differences(module, function, reference):
    np.testing.assert_allclose(module(torch.tensor(X)).numpy(), reference(X), rtol=1e-12)
    np.testing.assert_allclose(function(torch.tensor(X)).numpy(), reference(X), rtol=1e-12)
    assert_gradient_matches_finite_differences(module, X)
    assert module(torch.tensor(X, dtype=torch.float32)).dtype == torch.float32


def test_activation_gradients_stay_finite_for_large_inputs():
    x = leaf([800.0, -800.0])
    (F.elu(x) + F.selu(x) + F.softplus(x) + F.silu(x)).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
    assert F.softplus(torch.tensor([-800.0, 800.0], dtype=torch.float64)).tolist() == [0.0, 800.0]


def test_activation_inplace_writes_the_input_and_keeps_gradients():
    w = leaf([-2.0, 3.0])
    x = w * 1.0
    out = F.leaky_relu(x, 0.5, inplace=True)
    assert out is x and x.tolist() == [-1.0, 3.0]
    x.sum().backward()
    assert w.grad.tolist() == [0.5, 1.0]
    x = torch.tensor([-1.0, 9.0])
    assert nn.ReLU6(inplace=True)(x) is x and x.tolist() == [0.0, 6.0]


def test_activation_reprs_and_bad_arguments():
    assert repr(nn.LeakyReLU(0.2, inplace=True)) == "LeakyReLU(negative_slope=0.2, inplace=True)"
    assert repr(nn.ELU()) == "ELU(alpha=1.0)" and repr(nn.ReLU6()) == "ReLU6()"
    assert repr(nn.Softplus()) == "Softplus(beta=1.0, threshold=20.0)"
    assert repr(nn.Hardtanh()) == "Hardtanh(min_val=-1.0, max_val=1.0)"
    with pytest.raises(ValueError, match="cannot be greater than max_val"):
        nn.Hardtanh(2.0, 1.0)
    with pytest.raises(ValueError, match="negative_slope must be a number"):
        F.leaky_relu(torch.ones(1), "0.1")
    assert repr(nn.GELU()) == "GELU(approximate='none')"
    assert nn.Softmax(dim=1)(torch.zeros(1, 2)).tolist() == [[0.5, 0.5]]
    assert nn.LogSoftmax(dim=1)(torch.zeros(1, 1)).tolist() == [[0.0]]


# -- nn: losses -----------------------------------------------------------------------------------

P = np.array([[0.1, 0.8, 0.5], [0.99, 0.3, 0.02]])
T = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.5]])


def _smooth_l1(x, y, beta):
    d = np.abs(x - y)
    return np.where(d < beta, 0.5 * d**2 / beta, d - 0.5 * beta)


def _huber(x, y, delta):
    d = np.abs(x - y)
    return np.where(d < delta, 0.5 * d**2, delta * (d - 0.5 * delta))


def _bce(p, t):
    return -(t * np.log(p) + (1 - t) * np.log(1 - p))


def _bce_logits(x, t, pos_weight=1.0):
    sigmoid = 1 / (1 + np.exp(-x))
    return -(pos_weight * t * np.log(sigmoid) + (1 - t) * np.log(1 - sigmoid))


LOSSES = [
    (nn.L1Loss(), F.l1_loss, lambda x, y: np.abs(x - y).mean(), X, T),
    (nn.L1Loss(reduction="sum"), lambda x, y: F.l1_loss(x, y, reduction="sum"),
     lambda x, y: np.abs(x - y).sum(), X, T),
    (nn.SmoothL1Loss(beta=0.5), lambda x, y: F.smooth_l1_loss(x, y, beta=0.5),
     lambda x, y: _smooth_l1(x, y, 0.5).mean(), X, T),
    (nn.SmoothL1Loss(beta=0.0), lambda x, y: F.smooth_l1_loss(x, y, beta=0.0),
     lambda x, y: np.abs(x - y).mean(), X, T),
    (nn.HuberLoss(delta=2.0), lambda x, y: F.huber_loss(x, y, delta=2.0),
     lambda x, y: _huber(x, y, 2.0).mean(), X, T),
    (nn.BCELoss(), F.binary_cross_entropy, lambda p, t: _bce(p, t).mean(), P, T),
    (nn.BCELoss(weight=torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64), reduction="sum"),
     lambda p, t: F.binary_cross_entropy(
         p, t, torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64), reduction="sum"),
     lambda p, t: (_bce(p, t) * [1.0, 2.0, 0.5]).sum(), P, T),
    (nn.BCEWithLogitsLoss(), F.binary_cross_entropy_with_logits,
     lambda x, t: _bce_logits(x[:, :2], t[:, :2]).mean(), X[:, :2], T[:, :2]),
    (nn.BCEWithLogitsLoss(pos_weight=torch.tensor([3.0, 0.5], dtype=torch.float64)),
     lambda x, t: F.binary_cross_entropy_with_logits(
         x, t, pos_weight=torch.tensor([3.0, 0.5], dtype=torch.float64)),
     lambda x, t: _bce_logits(x[:, :2], t[:, :2], np.array([3.0, 0.5])).mean(),
     X[:, :2], T[:, :2]),
]


@pytest.mark.parametrize("module, function, reference, inputs, targets", LOSSES,
                         ids=[repr(loss[0]) for loss in LOSSES])
def test_losses_match_numpy_and_finite_differences(module, function, reference, inputs,
                                                   targets):
    expected = reference(inputs, targets)
    for loss in (module, function):
        np.testing.assert_allclose(loss(torch.tensor(inputs), torch.tensor(targets)).item(),
                                   expected, rtol=1e-12)
    assert_gradient_matches_finite_differences(module, inputs, targets)


def test_losses_reduction_none_keeps_the_shape():
    for loss in (nn.L1Loss, nn.SmoothL1Loss, nn.HuberLoss, nn.BCELoss, nn.BCEWithLogitsLoss):
        assert loss(reduction="none")(torch.tensor(P), torch.tensor(T)).shape == P.shape


def test_binary_cross_entropies_are_stable_at_the_extremes():
    logits = torch.tensor([200.0, -200.0], dtype=torch.float64, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(logits, torch.tensor([0.0, 1.0],
                                                                   dtype=torch.float64),
                                              reduction="none")
    assert loss.tolist() == [200.0, 200.0]
    loss.sum().backward()
    assert logits.grad.tolist() == [1.0, -1.0]
    clamped = F.binary_cross_entropy(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 0.0]),
                                     reduction="none")
    assert clamped.tolist() == [100.0, 100.0]


def test_loss_bad_input_is_refused_before_computing():
    with pytest.raises(RuntimeError, match="between 0 and 1"):
        F.binary_cross_entropy(torch.tensor([1.5]), torch.tensor([1.0]))
    with pytest.raises(ValueError, match="different to the input size"):
        nn.BCELoss()(torch.tensor([0.5, 0.5]), torch.tensor([1.0]))
    with pytest.raises(ValueError, match="must be the same as input size"):
        nn.BCEWithLogitsLoss()(torch.zeros(2, 1), torch.zeros(2))
    with pytest.raises(RuntimeError, match="negative values for beta"):
        F.smooth_l1_loss(torch.zeros(1), torch.zeros(1), beta=-1.0)
    with pytest.raises(RuntimeError, match="non-positive values for delta"):
        F.huber_loss(torch.zeros(1), torch.zeros(1), delta=0.0)
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        nn.L1Loss(reduction="avg")
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        nn.KLDivLoss(reduction="batch")


def test_kl_div_reductions_and_log_target():
    log_q = np.log(np.array([[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]]))
    p = np.array([[0.1, 0.0, 0.9], [0.5, 0.25, 0.25]])
    pointwise = np.where(p > 0, p * (np.log(np.where(p > 0, p, 1)) - log_q), 0.0)
    q, target = torch.tensor(log_q), torch.tensor(p)
    batchmean = nn.KLDivLoss(reduction="batchmean")
    np.testing.assert_allclose(batchmean(q, target).item(), pointwise.sum() / 2, rtol=1e-12)
    np.testing.assert_allclose(F.kl_div(q, target, reduction="sum").item(), pointwise.sum())
    np.testing.assert_allclose(F.kl_div(q, target, reduction="none").numpy(), pointwise)
    with pytest.warns(UserWarning, match="batchmean"):
        np.testing.assert_allclose(F.kl_div(q, target).item(), pointwise.mean())
    log_p = np.log(np.array([[0.1, 0.2, 0.7]]))
    by_log = nn.KLDivLoss(reduction="sum", log_target=True)(torch.tensor(log_q[:1]),
                                                            torch.tensor(log_p))
    np.testing.assert_allclose(by_log.item(), (np.exp(log_p) * (log_p - log_q[:1])).sum())
    assert_gradient_matches_finite_differences(lambda a: batchmean(a, target), log_q)
    assert_gradient_matches_finite_differences(
        lambda a, b: F.kl_div(a, b, reduction="sum", log_target=True), log_q, log_q[::-1])


# -- nn: containers -------------------------------------------------------------------------------


def test_module_dict_registers_its_modules_by_key():
    class Heads(nn.Module):
        def __init__(self):
            super().__init__()
            self.heads = nn.ModuleDict({"a": nn.Linear(2, 3)})
            self.heads["b"] = nn.Linear(2, 1)

        def forward(self, x, name):
            return self.heads[name](x)

    model = Heads()
    assert list(model.heads) == ["a", "b"] and "a" in model.heads and len(model.heads) == 2
    assert sorted(model.state_dict()) == ["heads.a.bias", "heads.a.weight", "heads.b.bias",
                                          "heads.b.weight"]
    assert model(torch.ones(4, 2), "b").shape == (4, 1)
    assert [k for k, _ in model.heads.items()] == ["a", "b"]
    model.heads.update([("c", nn.ReLU())])
    assert list(model.heads.keys()) == ["a", "b", "c"]
    assert isinstance(model.heads.pop("c"), nn.ReLU) and "c" not in model.heads
    with pytest.raises(TypeError, match="not a Module"):
        model.heads.update({"d": nn.ReLU(), "e": 3})
    assert "d" not in model.heads  # nothing half-applied
    with pytest.raises(KeyError):
        model.heads["missing"]


def test_parameter_list_registers_and_trains_its_parameters():
    class Scales(nn.Module):
        def __init__(self):
            super().__init__()
            self.scales = nn.ParameterList([nn.Parameter(torch.ones(2)) for _ in range(2)])
            self.scales.append(torch.full((2,), 3.0))

        def forward(self, x):
            for scale in self.scales:
                x = x * scale
            return x

    model = Scales()
    assert len(model.scales) == 3 and isinstance(model.scales[-1], nn.Parameter)
    assert list(model.state_dict()) == ["scales.0", "scales.1", "scales.2"]
    assert len(list(model.parameters())) == 3
    model(torch.ones(2)).sum().backward()
    assert model.scales[0].grad.tolist() == [3.0, 3.0]
    assert len(model.scales[:2]) == 2
    with pytest.raises(TypeError, match="holds tensors"):
        model.scales.extend([torch.ones(1), "x"])
    assert len(model.scales) == 3
    with pytest.raises(IndexError):
        model.scales[3]


# -- optim ----------------------------------------------------------------------------------------

GRADIENT_SCALE = np.array([1.0, -3.0, 0.5])


def _run_optimizer(make, steps=4):
    """Minimize sum(scale * w**2) from w0 for a few steps: the trajectory of w (float64)."""
    w = leaf([0.8, -0.4, 1.5])
    optimizer = make([w])
    trajectory = []
    for _ in range(steps):
        optimizer.zero_grad()
        (torch.tensor(GRADIENT_SCALE) * w * w).sum().backward()
        optimizer.step()
        trajectory.append(w.tolist())
    return np.array(trajectory), optimizer


def _rmsprop_reference(lr, alpha, eps, weight_decay, momentum, centered, steps=4):
    w, v, b, a = np.array([0.8, -0.4, 1.5]), np.zeros(3), np.zeros(3), np.zeros(3)
    out = []
    for _ in range(steps):
        g = 2 * GRADIENT_SCALE * w + weight_decay * w
        v = alpha * v + (1 - alpha) * g * g
        if centered:
            a = a + (1 - alpha) * (g - a)
            d = np.sqrt(v - a * a) + eps
        else:
            d = np.sqrt(v) + eps
        if momentum > 0:
            b = momentum * b + g / d
            w = w - lr * b
        else:
            w = w - lr * g / d
        out.append(w)
    return np.array(out)


def _adagrad_reference(lr, lr_decay, weight_decay, initial, eps, steps=4):
    w, s = np.array([0.8, -0.4, 1.5]), np.full(3, initial)
    out = []
    for t in range(1, steps + 1):
        g = 2 * GRADIENT_SCALE * w + weight_decay * w
        s = s + g * g
        w = w - lr / (1 + (t - 1) * lr_decay) * g / (np.sqrt(s) + eps)
        out.append(w)
    return np.array(out)


@pytest.mark.parametrize("kwargs", [
    {}, {"momentum": 0.9}, {"centered": True}, {"weight_decay": 0.1, "alpha": 0.9},
    {"centered": True, "momentum": 0.5, "lr": 0.05},
])
def test_rmsprop_follows_pytorch_formulas(kwargs):
    settings = dict(lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False)
    settings.update(kwargs)
    trajectory, optimizer = _run_optimizer(lambda p: torch.optim.RMSprop(p, **kwargs))
    np.testing.assert_allclose(trajectory, _rmsprop_reference(**settings), rtol=1e-12)
    state = optimizer.state[optimizer.param_groups[0]["params"][0]]
    assert state["step"].item() == 4 and "square_avg" in state
    assert ("momentum_buffer" in state) == (settings["momentum"] > 0)
    assert ("grad_avg" in state) == settings["centered"]


@pytest.mark.parametrize("kwargs", [
    {}, {"lr_decay": 0.5}, {"weight_decay": 0.2, "initial_accumulator_value": 0.3},
    {"lr": 0.5, "eps": 1e-3},
])
def test_adagrad_follows_pytorch_formulas(kwargs):
    settings = dict(lr=0.01, lr_decay=0, weight_decay=0, initial=0, eps=1e-10)
    settings.update({("initial" if k == "initial_accumulator_value" else k): v
                     for k, v in kwargs.items()})
    trajectory, optimizer = _run_optimizer(lambda p: torch.optim.Adagrad(p, **kwargs))
    np.testing.assert_allclose(trajectory, _adagrad_reference(**settings), rtol=1e-12)


def test_adaptive_optimizers_maximize_state_dict_and_bad_arguments():
    up, _ = _run_optimizer(lambda p: torch.optim.Adagrad(p, lr=0.1, maximize=True), steps=1)
    # the first Adagrad step moves each weight by lr, up its gradient
    np.testing.assert_allclose(up[0], [0.9, -0.3, 1.6], rtol=1e-9)
    _, first = _run_optimizer(lambda p: torch.optim.RMSprop(p, momentum=0.9), steps=2)
    w = leaf([0.8, -0.4, 1.5])
    second = torch.optim.RMSprop([w], momentum=0.9)
    second.load_state_dict(first.state_dict())
    assert second.state[w]["square_avg"].tolist() == \
        first.state[first.param_groups[0]["params"][0]]["square_avg"].tolist()
    for make, match in ((lambda p: torch.optim.RMSprop(p, alpha=-0.1), "alpha"),
                        (lambda p: torch.optim.RMSprop(p, eps=-1.0), "epsilon"),
                        (lambda p: torch.optim.Adagrad(p, lr_decay=-1.0), "lr_decay"),
                        (lambda p: torch.optim.Adagrad(p, lr=-0.1), "learning rate")):
        with pytest.raises(ValueError, match=match):
            make([leaf([1.0])])
    assert torch.optim.RMSprop([leaf([1.0])]).defaults["lr"] == 0.01
    assert torch.optim.Adagrad([leaf([1.0])]).defaults["eps"] == 1e-10


def _rates(scheduler, optimizer, epochs):
    rates = []
    for _ in range(epochs):
        rates.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    return rates


def test_multistep_and_exponential_lr_schedules():
    optimizer = torch.optim.SGD([leaf([1.0])], lr=1.0)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[2, 4, 4], gamma=0.5)
    assert _rates(scheduler, optimizer, 6) == [1.0, 1.0, 0.5, 0.5, 0.125, 0.125]
    optimizer = torch.optim.SGD([leaf([1.0])], lr=2.0)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.5)
    assert _rates(scheduler, optimizer, 4) == [2.0, 1.0, 0.5, 0.25]
    assert optimizer.param_groups[0]["lr"] == 0.125
    with pytest.raises(ValueError, match="gamma"):
        torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=-1.0)
    with pytest.raises(TypeError, match="milestones must be ints"):
        torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=[1.5])
