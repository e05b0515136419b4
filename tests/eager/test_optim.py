"""Optimizers and schedulers against NumPy re-implementations of PyTorch's algorithms.

Each optimizer runs several steps on a small quadratic with gradients from the eager autograd;
the reference recomputes the same trajectory in float64 NumPy, written from the algorithms in
PyTorch's documentation (SGD, Adam, AdamW, with their option variants).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

import eager
from eager import optim
from eager.optim.lr_scheduler import CosineAnnealingLR, StepLR
from eager.tensor import Tensor

# loss(w) = 0.5 * sum(curvature * (w - target)**2), gradient curvature * (w - target)
CURVATURE = np.array([[1.0, 3.0, 0.5], [2.0, 0.25, 4.0]])
TARGET = np.array([[0.5, -1.0, 2.0], [-0.3, 0.8, 0.1]])
START = np.array([[1.5, 0.2, -1.0], [0.7, -2.0, 1.3]])
STEPS = 8


def quadratic_gradient(w):
    return CURVATURE * (w - TARGET)


def quadratic_loss(w: Tensor) -> Tensor:
    return (((w - TARGET) ** 2) * CURVATURE).sum() * 0.5


def run_optimizer(make, dtype="float64", steps=STEPS):
    w = eager.tensor(START.astype(dtype), requires_grad=True)
    opt = make([w])
    trajectory = []
    for _ in range(steps):
        opt.zero_grad()
        quadratic_loss(w).backward()
        opt.step()
        trajectory.append(w.detach().numpy().copy())
    return np.array(trajectory), opt, w


def sgd_reference(lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
                  maximize=False, steps=STEPS):
    w, buffer, trajectory = START.copy(), None, []
    for _ in range(steps):
        g = quadratic_gradient(w)
        if maximize:
            g = -g
        if weight_decay:
            g = g + weight_decay * w
        if momentum:
            buffer = g.copy() if buffer is None else momentum * buffer + (1 - dampening) * g
            g = g + momentum * buffer if nesterov else buffer
        w = w - lr * g
        trajectory.append(w)
    return np.array(trajectory)


def adam_reference(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
                   decoupled=False, maximize=False, steps=STEPS):
    beta1, beta2 = betas
    w = START.copy()
    m, v, v_max = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    trajectory = []
    for t in range(1, steps + 1):
        g = quadratic_gradient(w)
        if maximize:
            g = -g
        if weight_decay and decoupled:
            w = w * (1 - lr * weight_decay)
        elif weight_decay:
            g = g + weight_decay * w
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m / (1 - beta1**t)
        if amsgrad:
            v_max = np.maximum(v_max, v)
        v_hat = (v_max if amsgrad else v) / (1 - beta2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
        trajectory.append(w)
    return np.array(trajectory)


SGD_CASES = {
    "plain": dict(lr=0.1),
    "momentum": dict(lr=0.05, momentum=0.9),
    "dampening": dict(lr=0.05, momentum=0.8, dampening=0.3),
    "nesterov": dict(lr=0.05, momentum=0.9, nesterov=True),
    "weight_decay": dict(lr=0.1, weight_decay=0.2),
    "everything": dict(lr=0.03, momentum=0.7, weight_decay=0.1, nesterov=True),
    "maximize": dict(lr=0.01, momentum=0.5, maximize=True),
}


@pytest.mark.parametrize("case", SGD_CASES, ids=list(SGD_CASES))
def test_sgd_follows_pytorchs_algorithm(case):
    kwargs = SGD_CASES[case]
    trajectory, _, _ = run_optimizer(lambda p: optim.SGD(p, **kwargs))
    np.testing.assert_allclose(trajectory, sgd_reference(**kwargs), rtol=1e-12, atol=1e-14)


ADAM_CASES = {
    "default": dict(lr=0.1),
    "betas_eps": dict(lr=0.05, betas=(0.8, 0.99), eps=1e-3),
    "low_beta1": dict(lr=0.05, betas=(0.3, 0.9)),  # lerp's other branch (weight >= 0.5)
    "weight_decay": dict(lr=0.1, weight_decay=0.3),
    "amsgrad": dict(lr=0.2, amsgrad=True),
    "amsgrad_weight_decay": dict(lr=0.1, betas=(0.5, 0.6), weight_decay=0.1, amsgrad=True),
    "maximize": dict(lr=0.01, maximize=True),
}


@pytest.mark.parametrize("case", ADAM_CASES, ids=list(ADAM_CASES))
def test_adam_follows_pytorchs_algorithm(case):
    kwargs = ADAM_CASES[case]
    trajectory, _, _ = run_optimizer(lambda p: optim.Adam(p, **kwargs))
    np.testing.assert_allclose(trajectory, adam_reference(**kwargs), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kwargs", [dict(lr=0.1), dict(lr=0.1, weight_decay=0.5),
                                    dict(lr=0.05, weight_decay=0.2, amsgrad=True)])
def test_adamw_decays_the_weights_decoupled(kwargs):
    trajectory, _, _ = run_optimizer(lambda p: optim.AdamW(p, **kwargs))
    reference = adam_reference(**{"weight_decay": 1e-2, **kwargs}, decoupled=True)
    np.testing.assert_allclose(trajectory, reference, rtol=1e-12, atol=1e-14)
    # ...which is not Adam's coupled L2 decay.
    coupled = adam_reference(**{"weight_decay": 1e-2, **kwargs})
    assert np.abs(trajectory - coupled).max() > 1e-6


def test_adamw_default_weight_decay():
    w = eager.ones(1, requires_grad=True)
    assert optim.AdamW([w]).defaults["weight_decay"] == 1e-2
    assert optim.Adam([w]).defaults["weight_decay"] == 0


@pytest.mark.parametrize("make", [
    lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1),
    lambda p: optim.Adam(p, lr=0.05, amsgrad=True, weight_decay=0.1),
    lambda p: optim.AdamW(p, lr=0.05),
], ids=["sgd", "adam", "adamw"])
def test_float32_parameters_stay_float32_and_close(make):
    low, _, w = run_optimizer(make, "float32")
    high, _, _ = run_optimizer(make, "float64")
    assert w.dtype == np.float32 and low.dtype == np.float32
    np.testing.assert_allclose(low, high, rtol=2e-5, atol=2e-6)


def float32_steps(opt, w, gradients):
    for gradient in gradients:
        w.grad = eager.tensor(gradient)
        opt.step()
    return w.detach().numpy()


def sgd_float32_reference(w, gradients, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
                          nesterov=False):
    """PyTorch's SGD op by op in float32 NumPy, hyper-parameters rounded to float32 first."""
    f, buffer = np.float32, None
    for g in gradients:
        if weight_decay:
            g = g + f(weight_decay) * w
        if momentum:
            buffer = g.copy() if buffer is None else f(momentum) * buffer + f(1 - dampening) * g
            g = g + f(momentum) * buffer if nesterov else buffer
        w = w - f(lr) * g
    return w


def adam_float32_reference(w, gradients, lr, betas, eps=1e-8, weight_decay=0.0, amsgrad=False,
                           decoupled=False):
    """PyTorch's Adam op by op in float32 NumPy: lerp, addcmul, sqrt / bias, addcdiv."""
    f, (beta1, beta2) = np.float32, betas
    m, v, v_max = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(gradients, start=1):
        if weight_decay and decoupled:
            w = w * f(1 - lr * weight_decay)
        elif weight_decay:
            g = g + f(weight_decay) * w
        weight = f(1 - beta1)
        m = m + weight * (g - m) if weight < 0.5 else g - (g - m) * (f(1) - weight)
        v = v * f(beta2) + f(1 - beta2) * g * g
        v_max = np.maximum(v_max, v)
        denominator = np.sqrt(v_max if amsgrad else v) / f((1 - beta2**t) ** 0.5) + f(eps)
        w = w + (m / denominator) * f(-lr / (1 - beta1**t))
    return w


@pytest.mark.parametrize("kwargs", [dict(lr=0.1), dict(lr=0.03, momentum=0.9, weight_decay=0.1),
                                    dict(lr=0.03, momentum=0.7, dampening=0.2),
                                    dict(lr=0.02, momentum=0.9, nesterov=True)])
def test_sgd_float32_arithmetic_is_float32_op_by_op(kwargs):
    rng = np.random.default_rng(1)
    start = rng.standard_normal((3, 5)).astype(np.float32)
    gradients = [rng.standard_normal((3, 5)).astype(np.float32) for _ in range(5)]
    w = eager.tensor(start, requires_grad=True)
    result = float32_steps(optim.SGD([w], **kwargs), w, gradients)
    np.testing.assert_array_equal(result, sgd_float32_reference(start, gradients, **kwargs))


@pytest.mark.parametrize("kwargs", [dict(betas=(0.9, 0.999)), dict(betas=(0.3, 0.9)),
                                    dict(betas=(0.9, 0.99), weight_decay=0.1, amsgrad=True),
                                    dict(betas=(0.8, 0.9), weight_decay=0.2, decoupled=True)])
def test_adam_float32_arithmetic_is_float32_op_by_op(kwargs):
    rng = np.random.default_rng(2)
    start = rng.standard_normal((4, 3)).astype(np.float32)
    gradients = [rng.standard_normal((4, 3)).astype(np.float32) for _ in range(5)]
    w = eager.tensor(start, requires_grad=True)
    options = {k: v for k, v in kwargs.items() if k != "decoupled"}
    make = optim.AdamW if kwargs.get("decoupled") else optim.Adam
    result = float32_steps(make([w], lr=0.05, **options), w, gradients)
    np.testing.assert_array_equal(result,
                                  adam_float32_reference(start, gradients, lr=0.05, **kwargs))


@pytest.mark.parametrize("make", [lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
                                  lambda p: optim.Adam(p, lr=0.1, amsgrad=True)],
                         ids=["sgd", "adam"])
def test_non_contiguous_parameters_and_gradients(make):
    rng = np.random.default_rng(3)
    start = rng.standard_normal((4, 3))
    gradients = [rng.standard_normal((4, 3)) for _ in range(3)]
    contiguous = eager.tensor(start, requires_grad=True)
    transposed = eager.tensor(np.asfortranarray(start), requires_grad=True)  # same values
    assert not transposed._array.flags.c_contiguous
    buffer = transposed._array
    for w in (contiguous, transposed):
        opt = make([w])
        for gradient in gradients:
            w.grad = eager.tensor(np.asfortranarray(gradient))
            opt.step()
    assert transposed._array is buffer
    np.testing.assert_array_equal(transposed.detach().numpy(), contiguous.detach().numpy())


def test_optimizers_converge_on_the_quadratic():
    for make in (lambda p: optim.SGD(p, lr=0.1, momentum=0.5),
                 lambda p: optim.Adam(p, lr=0.05)):
        trajectory, _, _ = run_optimizer(make, steps=400)
        np.testing.assert_allclose(trajectory[-1], TARGET, atol=1e-3)


# -- parameter groups, state, in-place semantics -----------------------------------------------


def test_param_groups_use_their_own_hyper_parameters():
    a = eager.tensor([1.0], dtype="float64", requires_grad=True)
    b = eager.tensor([1.0], dtype="float64", requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    (a * 2.0 + b * 2.0).sum().backward()
    opt.step()
    assert a.item() == pytest.approx(1.0 - 0.1 * 2.0)
    assert b.item() == pytest.approx(1.0 - 0.5 * 2.0)
    assert opt.param_groups[1]["momentum"] == 0  # filled from the defaults


def test_add_param_group_and_its_checks():
    a, b = eager.ones(2, requires_grad=True), eager.ones(3, requires_grad=True)
    opt = optim.Adam([a], lr=0.1)
    opt.add_param_group({"params": b, "betas": (0.5, 0.9)})
    assert opt.param_groups[1]["betas"] == (0.5, 0.9) and opt.param_groups[1]["lr"] == 0.1
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="Invalid learning rate"):
        opt.add_param_group({"params": [eager.ones(1, requires_grad=True)], "lr": -1.0})
    assert len(opt.param_groups) == 2  # failed additions change nothing


def test_parameters_without_gradient_are_skipped():
    a, b = eager.ones(2, requires_grad=True), eager.ones(2, requires_grad=True)
    opt = optim.Adam([a, b], lr=0.1)
    (a * 3.0).sum().backward()
    opt.step()
    assert b.tolist() == [1.0, 1.0] and b not in opt.state
    assert a in opt.state and opt.state[a]["step"].item() == 1.0


def test_step_updates_in_place_and_bumps_versions():
    w = eager.tensor([1.0, 2.0], requires_grad=True)
    buffer_before = w._array
    opt = optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    version = w._version[0]
    opt.step()
    assert w._array is buffer_before and w._version[0] == version + 1
    assert w.is_leaf and w.requires_grad and w.grad_fn is None


def test_version_bump_catches_a_parameter_changed_under_a_saved_graph():
    w = eager.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    loss = (w * w).sum()  # saves w for backward
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match="has been modified by an in-place operation"):
        loss.backward()


def test_closure_is_evaluated_with_grad_enabled():
    w = eager.tensor([2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with eager.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 4.0 and w.item() == pytest.approx(2.0 - 0.25 * 4.0)


def test_zero_grad():
    w = eager.ones(2, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (w * 3).sum().backward()
    grad = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is grad and w.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert w.grad is None


def test_gradient_of_the_wrong_shape_is_a_clear_error():
    w = eager.ones(2, requires_grad=True)
    w.grad = eager.ones(3)
    with pytest.raises(RuntimeError, match=r"shape \(2,\) has a gradient of shape \(3,\)"):
        optim.SGD([w], lr=0.1).step()


@pytest.mark.parametrize("make, message", [
    (lambda p: optim.SGD(p, lr=-0.1), "Invalid learning rate: -0.1"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=-0.5), "Invalid momentum value"),
    (lambda p: optim.SGD(p, lr=0.1, weight_decay=-1), "Invalid weight_decay value"),
    (lambda p: optim.SGD(p, lr=0.1, nesterov=True), "Nesterov momentum requires a momentum"),
    (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
     "zero dampening"),
    (lambda p: optim.SGD(p, lr="0.1"), r"Invalid learning rate: '0.1' \(expected a number\)"),
    (lambda p: optim.Adam(p, lr=float("nan")), "Invalid learning rate"),
    (lambda p: optim.Adam(p, eps=-1e-8), "Invalid epsilon value"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), "Invalid beta parameter at index 0"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), "Invalid beta parameter at index 1"),
    (lambda p: optim.Adam(p, betas=0.9), "betas must be a pair"),
    (lambda p: optim.AdamW(p, weight_decay=-0.01), "Invalid weight_decay value"),
])
def test_bad_hyper_parameters(make, message):
    with pytest.raises(ValueError, match=message):
        make([eager.ones(1, requires_grad=True)])


def test_bad_params():
    w = eager.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts, but got a Tensor"):
        optim.SGD(w, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD({w}, lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors, but one of the params is "
                                        "ndarray"):
        optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([w * 2], lr=0.1)
    with pytest.raises(TypeError, match="floating point"):
        optim.SGD([eager.tensor([1, 2])], lr=0.1)
    with pytest.raises(ValueError, match="same Tensor twice"):
        optim.SGD([w, w], lr=0.1)


def test_repr_lists_the_groups():
    text = repr(optim.SGD([eager.ones(1, requires_grad=True)], lr=0.1, momentum=0.9))
    assert text.startswith("SGD (\nParameter Group 0\n") and "    momentum: 0.9" in text


# -- state dicts ---------------------------------------------------------------------------------


OPTIMIZERS = {
    "sgd": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    "adam": lambda p: optim.Adam(p, lr=0.1, amsgrad=True, weight_decay=0.01),
    "adamw": lambda p: optim.AdamW(p, lr=0.1, betas=(0.8, 0.9)),
}


def train(w, opt, steps):
    for _ in range(steps):
        opt.zero_grad()
        quadratic_loss(w).backward()
        opt.step()


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_dict_round_trip_continues_identically(name, tmp_path):
    make = OPTIMIZERS[name]
    w = eager.tensor(START, requires_grad=True)
    opt = make([w])
    train(w, opt, 3)
    saved_weights, saved_state = w.detach().numpy().copy(), opt.state_dict()
    train(w, opt, 4)
    expected = w.detach().numpy().copy()

    # In memory, and through a checkpoint file.
    for state in (saved_state, _through_file(saved_state, tmp_path)):
        resumed = eager.tensor(saved_weights, requires_grad=True)
        opt2 = make([resumed])
        opt2.load_state_dict(state)
        train(resumed, opt2, 4)
        np.testing.assert_array_equal(resumed.detach().numpy(), expected)


def _through_file(state, tmp_path):
    from eager import serialization

    path = tmp_path / "optimizer.npz"
    serialization.save(state, path)
    return serialization.load(path)


def test_state_dict_layout_follows_pytorch():
    a, b = eager.ones(2, requires_grad=True), eager.ones(3, requires_grad=True)
    opt = optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    (a.sum() + b.sum()).backward()
    opt.step()
    state = opt.state_dict()
    assert state["param_groups"][0]["params"] == [0]
    assert state["param_groups"][1]["params"] == [1]
    assert state["param_groups"][1]["lr"] == 0.5 and state["param_groups"][0]["betas"] == (
        0.9, 0.999)
    assert set(state["state"][1]) == {"step", "exp_avg", "exp_avg_sq"}
    assert state["state"][1]["step"].dtype == np.float32 and state["state"][1]["step"].item() == 1
    # A snapshot: later steps do not change it.
    before = state["state"][0]["exp_avg"].numpy().copy()
    opt.step()
    np.testing.assert_array_equal(state["state"][0]["exp_avg"].numpy(), before)


def test_load_state_dict_copies_and_casts_to_the_parameter_dtype():
    w64 = eager.tensor(START, requires_grad=True)
    opt = optim.SGD([w64], lr=0.1, momentum=0.9)
    train(w64, opt, 2)
    state = opt.state_dict()
    w32 = eager.tensor(START.astype(np.float32), requires_grad=True)
    opt32 = optim.SGD([w32], lr=0.1, momentum=0.9)
    opt32.load_state_dict(state)
    buffer = opt32.state[w32]["momentum_buffer"]
    assert buffer.dtype == np.float32
    assert buffer._array is not state["state"][0]["momentum_buffer"]._array


def test_load_state_dict_restores_hyper_parameters():
    w = eager.ones(2, requires_grad=True)
    source = optim.SGD([w], lr=0.3, momentum=0.5)
    target = optim.SGD([eager.ones(2, requires_grad=True)], lr=0.1)
    target.load_state_dict(source.state_dict())
    assert target.param_groups[0]["lr"] == 0.3 and target.param_groups[0]["momentum"] == 0.5


def test_load_state_dict_mismatches_are_clear_and_change_nothing():
    w = eager.ones(2, requires_grad=True)
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    train_once = lambda: ((w * w).sum().backward(), opt.step())  # noqa: E731
    train_once()
    good = opt.state_dict()

    two_groups = optim.SGD([{"params": [eager.ones(2, requires_grad=True)]},
                            {"params": [eager.ones(2, requires_grad=True)]}], lr=0.1)
    with pytest.raises(ValueError, match="1 parameter groups, but the optimizer has 2"):
        two_groups.load_state_dict(good)
    bigger = optim.SGD([eager.ones(2, requires_grad=True), eager.ones(2, requires_grad=True)],
                       lr=0.1)
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        bigger.load_state_dict(good)
    other_shape = optim.SGD([eager.ones(5, requires_grad=True)], lr=0.1)
    with pytest.raises(ValueError, match=r"'momentum_buffer' of parameter 0 has shape \(2,\)"):
        other_shape.load_state_dict(good)
    assert not other_shape.state
    bad = copy.deepcopy(good)
    bad["param_groups"][0]["lr"] = -1.0
    with pytest.raises(ValueError, match="Invalid learning rate"):
        opt.load_state_dict(bad)
    assert opt.param_groups[0]["lr"] == 0.1
    with pytest.raises(ValueError, match="exactly the keys"):
        opt.load_state_dict({"state": {}})


# -- schedulers ----------------------------------------------------------------------------------


def make_optimizer(lrs=(0.1, 0.02)):
    groups = [{"params": [eager.ones(1, requires_grad=True)], "lr": lr} for lr in lrs]
    return optim.SGD(groups, lr=1.0)


def run_schedule(scheduler, epochs):
    rates = []
    for _ in range(epochs):
        rates.append(scheduler.get_last_lr())
        scheduler.optimizer.step()
        scheduler.step()
    return np.array(rates)


def test_step_lr_matches_its_closed_form():
    opt = make_optimizer()
    rates = run_schedule(StepLR(opt, step_size=3, gamma=0.5), 12)
    for epoch, row in enumerate(rates):
        np.testing.assert_allclose(row, [0.1 * 0.5 ** (epoch // 3), 0.02 * 0.5 ** (epoch // 3)],
                                   rtol=1e-14)
    assert opt.param_groups[0]["initial_lr"] == 0.1


@pytest.mark.parametrize("eta_min", [0.0, 0.005])
def test_cosine_annealing_matches_its_closed_form(eta_min):
    opt = make_optimizer()
    t_max, epochs = 5, 23  # past T_max the rate climbs back: several half periods
    rates = run_schedule(CosineAnnealingLR(opt, T_max=t_max, eta_min=eta_min), epochs)
    for epoch, row in enumerate(rates):
        expected = [eta_min + (base - eta_min) * (1 + math.cos(math.pi * epoch / t_max)) / 2
                    for base in (0.1, 0.02)]
        np.testing.assert_allclose(row, expected, rtol=1e-12, atol=1e-15)


def test_schedulers_chain_on_one_optimizer():
    opt = make_optimizer((1.0,))
    step, cosine = StepLR(opt, step_size=2, gamma=0.1), CosineAnnealingLR(opt, T_max=10)
    for epoch in range(1, 6):
        opt.step()
        step.step()
        cosine.step()
        expected = 0.1 ** (epoch // 2) * (1 + math.cos(math.pi * epoch / 10)) / 2
        assert opt.param_groups[0]["lr"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("make", [lambda o: StepLR(o, step_size=2, gamma=0.3),
                                  lambda o: CosineAnnealingLR(o, T_max=4, eta_min=0.001)],
                         ids=["step", "cosine"])
def test_scheduler_state_dict_round_trip(make, tmp_path):
    opt = make_optimizer()
    scheduler = make(opt)
    run_schedule(scheduler, 3)
    saved_opt, saved = opt.state_dict(), _through_file(scheduler.state_dict(), tmp_path)
    assert "optimizer" not in saved and saved["last_epoch"] == 3
    expected = run_schedule(scheduler, 6)

    opt2 = make_optimizer()
    opt2.load_state_dict(saved_opt)
    scheduler2 = make(opt2)
    scheduler2.load_state_dict(saved)
    for group, lr in zip(opt2.param_groups, saved["_last_lr"]):
        group["lr"] = lr  # as a resumed optimizer would have it
    np.testing.assert_allclose(run_schedule(scheduler2, 6), expected, rtol=1e-15)


def test_scheduler_checks():
    opt = make_optimizer()
    with pytest.raises(ValueError, match="step_size must be a positive int"):
        StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="T_max must be a positive int"):
        CosineAnnealingLR(opt, T_max=0)
    with pytest.raises(ValueError, match="eta_min must be a number >= 0"):
        CosineAnnealingLR(opt, T_max=3, eta_min=-1)
    with pytest.raises(KeyError, match="initial_lr"):
        StepLR(make_optimizer(), step_size=2, last_epoch=4)
    with pytest.raises(TypeError, match="not an Optimizer"):
        StepLR(object(), step_size=2)


def test_resuming_a_schedule_from_last_epoch():
    opt = make_optimizer((1.0,))
    CosineAnnealingLR(opt, T_max=8)  # records initial_lr
    resumed = CosineAnnealingLR(opt, T_max=8, last_epoch=2)
    assert resumed.get_last_lr()[0] == pytest.approx((1 + math.cos(math.pi * 3 / 8)) / 2)


@pytest.mark.parametrize("make", [
    lambda p: optim.SGD(p, lr=0.1),
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
    lambda p: optim.Adam(p, lr=0.1),
    lambda p: optim.AdamW(p, lr=0.1, amsgrad=True),
], ids=["sgd", "momentum", "adam", "adamw"])
def test_a_step_that_fails_changes_nothing(make):
    # The third parameter's gradient is of the wrong shape: the step must refuse before it
    # updates the first two, or their state and step counts.
    params = [eager.tensor(np.full(2, 1.0 + k), requires_grad=True) for k in range(3)]
    opt = make(params)
    for p in params:
        p.grad = eager.ones(2)
    opt.step()  # a good step first, so there is state to keep
    before = [p.detach().numpy().copy() for p in params]
    state_before = copy.deepcopy(opt.state_dict())
    params[2].grad = eager.ones(3)
    with pytest.raises(RuntimeError, match=r"parameter 2 of parameter group 0: a parameter of "
                                           r"shape \(2,\) has a gradient of shape \(3,\)"):
        opt.step()
    for p, value in zip(params, before):
        np.testing.assert_array_equal(p.detach().numpy(), value)
    state_after = opt.state_dict()
    for index, state in state_before["state"].items():
        for key, value in state.items():
            np.testing.assert_array_equal(np.asarray(state_after["state"][index][key].numpy()
                                                     if isinstance(value, Tensor) else
                                                     state_after["state"][index][key]),
                                          np.asarray(value.numpy() if isinstance(value, Tensor)
                                                     else value), err_msg=f"{index}/{key}")


def test_a_gradient_that_is_not_a_tensor_is_refused_before_any_update():
    params = [eager.tensor(np.ones(2), requires_grad=True) for _ in range(2)]
    params[0].grad = eager.ones(2)
    params[1].grad = np.ones(2)
    with pytest.raises(TypeError, match="parameter 1 of parameter group 0 has a .grad of type "
                                        "ndarray"):
        optim.SGD(params, lr=0.1).step()
    assert params[0].tolist() == [1.0, 1.0]
