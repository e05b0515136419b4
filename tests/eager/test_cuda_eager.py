"""Eager tensors and modules on the 'cuda' device: moves, creation on a device, ops through the
device's kernels, autograd and optimizers there, and the errors PyTorch gives.

Without a GPU these tests run under numba's CUDA simulator: `make test` runs this file again with
NUMBA_ENABLE_CUDASIM=1 (numba.cuda reads it when first imported, hence a process of its own). In
a plain run on a machine without a GPU they skip, except those about the missing device. On a
machine with a GPU every test runs for real.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import eager
from eager import nn, optim
from eager.nn import functional as NF
from framework import device
from framework.errors import DeviceError
from tests.cuda_setup import CUDA_PROBLEM, needs_cuda, quick_thread_switches  # noqa: F401

# -- without a GPU ------------------------------------------------------------------------------


@pytest.mark.skipif(CUDA_PROBLEM is None, reason="a CUDA device (or the simulator) is here")
def test_without_a_gpu_cuda_is_unavailable_and_moving_there_says_why():
    assert eager.cuda.is_available() is False and eager.cuda.device_count() == 0
    assert not eager.accelerator.is_available() and eager.accelerator.current_accelerator() is None
    x = eager.ones(2)
    with pytest.raises(DeviceError, match="'cuda' is not available.*NUMBA_ENABLE_CUDASIM"):
        x.to("cuda")
    with pytest.raises(DeviceError, match="not available"):
        eager.zeros(2, device="cuda")
    net = nn.Linear(2, 2)
    with pytest.raises(DeviceError, match="not available"):
        net.cuda()
    assert net.weight.device == device.cpu and x.device == device.cpu


# -- moves and creation -------------------------------------------------------------------------


@needs_cuda
def test_cuda_is_available_with_a_gpu_or_the_simulator():
    assert eager.cuda.is_available() is True
    assert eager.cuda.device_count() >= 1
    # The quickstart's device line picks it.
    assert eager.accelerator.is_available() and eager.accelerator.device_count() >= 1
    assert eager.accelerator.current_accelerator().type == "cuda"


@needs_cuda
def test_to_cuda_and_back_copies_each_time():
    x = eager.tensor([[1.0, -2.0], [3.5, 4.0]])
    on_gpu = x.to("cuda")
    assert on_gpu.device == eager.device("cuda:0") and on_gpu.is_cuda and not x.is_cuda
    assert x.cuda().device == on_gpu.device and x.to(eager.device("cuda", 0)).is_cuda
    x.add_(1.0)  # the copy on the GPU is its own memory
    back = on_gpu.cpu()
    assert back.device == device.cpu and not back.is_cuda
    np.testing.assert_array_equal(back.numpy(), [[1.0, -2.0], [3.5, 4.0]])
    # Already there: the tensor itself, as in PyTorch (a copy only with copy=True).
    assert on_gpu.to("cuda") is on_gpu and on_gpu.cuda() is on_gpu and x.cpu() is x
    copied = on_gpu.to("cuda", copy=True)
    assert copied is not on_gpu and copied.tolist() == on_gpu.tolist()
    # A dtype and a device at once; to(other) takes other's device and dtype.
    both = x.to("cuda", eager.float64)
    assert both.is_cuda and both.dtype == np.float64
    like = eager.tensor([1, 2]).to(both)
    assert like.is_cuda and like.dtype == np.float64


@needs_cuda
def test_numpy_of_a_cuda_tensor_is_pytorchs_type_error():
    x = eager.ones(3, device="cuda")
    with pytest.raises(TypeError, match="can't convert cuda:0 device type tensor to numpy. "
                                        r"Use Tensor.cpu\(\)"):
        x.numpy()
    with pytest.raises(TypeError, match="Use Tensor.cpu"):
        np.asarray(x)
    # What reads values without a NumPy array copies them back itself.
    assert x.tolist() == [1.0, 1.0, 1.0] and x.sum().item() == 3.0
    assert "device='cuda:0'" in repr(x)
    # Strided views (a transpose, a broadcast) come back whole too.
    grid = eager.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device="cuda")
    assert grid.T.cpu().tolist() == [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]
    assert grid.T.tolist() == [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]
    assert eager.ones(1, 3, device="cuda").expand(2, 3).cpu().tolist() == [[1.0] * 3] * 2


@needs_cuda
def test_creation_functions_take_a_device():
    made = [eager.tensor([1.0, 2.0], device="cuda"), eager.zeros(2, 3, device="cuda"),
            eager.ones(4, device="cuda"), eager.empty(2, device="cuda"),
            eager.full((2,), 7, device="cuda"), eager.arange(5, device="cuda"),
            eager.rand(3, device="cuda"), eager.randn(3, device="cuda"),
            eager.zeros_like(eager.ones(2, device="cuda")),
            eager.ones(2).new_zeros(3, device="cuda"),
            eager.ones(2, device="cuda").new_ones(3)]
    assert all(t.is_cuda for t in made)
    assert made[4].tolist() == [7, 7] and made[5].tolist() == [0, 1, 2, 3, 4]
    assert made[4].dtype == np.int64 and made[1].shape == (2, 3)
    # The same seed draws the same numbers on either device.
    eager.manual_seed(3)
    on_cpu = eager.randn(5)
    eager.manual_seed(3)
    np.testing.assert_array_equal(eager.randn(5, device="cuda").cpu().numpy(), on_cpu.numpy())
    leaf = eager.zeros(2, requires_grad=True, device="cuda")
    assert leaf.is_leaf and leaf.requires_grad and leaf.grad_fn is None


# -- ops, and the mixed-device error ------------------------------------------------------------


@needs_cuda
def test_ops_run_on_the_device_of_their_inputs():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((4, 2))
    x, y = eager.tensor(a), eager.tensor(b.astype(np.float32))
    on_gpu = ((x.cuda() * 2.0 + 1) @ y.cuda()).relu().sum(dim=0)
    assert on_gpu.is_cuda
    np.testing.assert_allclose(on_gpu.cpu().numpy(), ((x * 2.0 + 1) @ y).relu().sum(dim=0)
                               .numpy(), rtol=1e-5, atol=1e-6)


@needs_cuda
def test_tensors_of_two_devices_in_one_op_name_both_devices_and_the_line():
    x, y = eager.ones(2, 2), eager.ones(2, 2, device="cuda")
    with pytest.raises(DeviceError, match=r"(?s)add: inputs are on different devices "
                                          r"\(cpu, cuda:0\).*test_cuda_eager.py.*x \+ y"):
        x + y
    with pytest.raises(DeviceError, match="different devices"):
        nn.Linear(2, 2)(y)  # parameters on the CPU, the batch on the GPU
    # Nothing half-applied: an in-place op refused for its devices leaves its target alone.
    with pytest.raises(DeviceError, match="different devices"):
        x.add_(y)
    assert x.tolist() == [[1.0, 1.0], [1.0, 1.0]] and x._version[0] == 0


# -- autograd, modules and optimizers -----------------------------------------------------------


@needs_cuda
def test_gradients_stay_on_the_device_and_flow_back_through_moves():
    w = eager.tensor([[0.5, -1.0], [2.0, 0.25]], requires_grad=True, device="cuda")
    x = eager.tensor([[1.0, 2.0]], device="cuda")
    (x @ w).tanh().sum().backward()
    assert w.grad.is_cuda
    expected = eager.tensor([[1.0, 2.0]]).T @ (1 - (eager.tensor([[1.0, 2.0]]) @ w.detach()
                                                    .cpu()).tanh() ** 2)
    np.testing.assert_allclose(w.grad.cpu().numpy(), expected.numpy(), rtol=1e-5)
    # A CPU leaf moved to the GPU by an op gets its gradient on the CPU, as in PyTorch.
    leaf = eager.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (leaf.cuda() * leaf.cuda()).sum().backward()
    assert not leaf.grad.is_cuda and leaf.grad.tolist() == [2.0, 4.0, 6.0]


@needs_cuda
def test_anomaly_mode_finds_a_nan_on_the_gpu_forward_and_backward():
    with eager.detect_anomaly():
        with pytest.raises(eager.AnomalyError, match="sqrt produced NaN"):
            eager.tensor([-1.0, 4.0], device="cuda").sqrt()
        x = eager.tensor([0.0, 4.0], requires_grad=True, device="cuda")
        loss = (x.sqrt() * 0.0).sum()  # finite; sqrt's gradient at 0 is 0 * inf = NaN
        with pytest.raises(eager.AnomalyError, match="gradient 0 of .* is NaN"):
            loss.backward()


@needs_cuda
def test_gradient_through_a_move_matches_float64_finite_differences():
    weights = np.array([0.3, -1.2, 2.0])

    def f(values):
        x = eager.tensor(values, dtype=eager.float64, requires_grad=True)
        out = (x.cuda().tanh() * eager.tensor(weights, device="cuda")).sum().cpu()
        return x, out

    point = np.array([0.1, -0.7, 1.3])
    x, out = f(point)
    out.backward()
    step = 1e-6
    numeric = [(f(point + step * e)[1].item() - f(point - step * e)[1].item()) / (2 * step)
               for e in np.eye(3)]
    np.testing.assert_allclose(x.grad.numpy(), numeric, rtol=1e-6)


def _mlp():
    eager.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))


def _train(net, make_optimizer, where: str, steps: int = 3) -> list:
    rng = np.random.default_rng(1)
    inputs = eager.tensor(rng.standard_normal((6, 4)).astype(np.float32), device=where)
    labels = eager.tensor(rng.integers(0, 3, 6), device=where)
    optimizer = make_optimizer(net.parameters())
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = NF.cross_entropy(net(inputs), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


@needs_cuda
@pytest.mark.parametrize("make_optimizer", [
    lambda params: optim.SGD(params, lr=0.1),
    lambda params: optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    lambda params: optim.Adam(params, lr=0.01, amsgrad=True),
    lambda params: optim.AdamW(params, lr=0.01),
    lambda params: optim.RMSprop(params, lr=0.01),
    lambda params: optim.RMSprop(params, lr=0.01, momentum=0.9, centered=True,
                                 weight_decay=0.01),
    lambda params: optim.Adagrad(params, lr=0.1, lr_decay=0.01, weight_decay=0.01,
                                 initial_accumulator_value=0.1),
    lambda params: optim.Adagrad(params, lr=0.1, maximize=True),
], ids=["sgd", "sgd-nesterov", "adam-amsgrad", "adamw", "rmsprop", "rmsprop-centered-momentum",
        "adagrad-decays", "adagrad-maximize"])
def test_mlp_training_on_cuda_matches_the_cpu(make_optimizer):
    on_cpu = _mlp()
    cpu_losses = _train(on_cpu, make_optimizer, "cpu")
    on_gpu = _mlp().cuda()
    gpu_losses = _train(on_gpu, make_optimizer, "cuda")
    # The GPU's kernels sum in another order: close, not equal.
    np.testing.assert_allclose(gpu_losses, cpu_losses, rtol=1e-5)
    for (name, p_cpu), p_gpu in zip(on_cpu.named_parameters(), on_gpu.parameters()):
        assert p_gpu.is_cuda and p_gpu.grad.is_cuda, name
        np.testing.assert_allclose(p_gpu.detach().cpu().numpy(), p_cpu.detach().numpy(),
                                   rtol=1e-5, atol=1e-6, err_msg=name)


@needs_cuda
def test_module_moves_its_parameters_and_buffers_in_place():
    net = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    weight = net[0].weight
    optimizer = optim.SGD(net.parameters(), lr=0.1)  # made before the move, as PyTorch allows
    assert net.to("cuda") is net
    assert net[0].weight is weight and weight.is_cuda and weight.requires_grad
    assert all(b.is_cuda for b in net.buffers())
    batch = eager.tensor(np.random.default_rng(2).standard_normal((4, 3)), eager.float32,
                         device="cuda")
    (net(batch) ** 3).sum().backward()  # a plain sum of normalized values would be constant
    before = weight.detach().cpu().numpy()
    optimizer.step()
    assert weight.is_cuda and not np.array_equal(weight.detach().cpu().numpy(), before)
    assert net.cpu() is net and not weight.is_cuda and not weight.grad.is_cuda
    assert all(not b.is_cuda for b in net.buffers())
    net.cuda().to(eager.float64)
    assert weight.is_cuda and weight.dtype == np.float64


@needs_cuda
def test_in_place_ops_write_the_device_buffer():
    x = eager.tensor([1.0, 2.0, 3.0], device="cuda")
    view = x[1:]
    x.add_(1.0).mul_(eager.tensor([2.0, 2.0, 2.0], device="cuda"))
    assert x.is_cuda and x.tolist() == [4.0, 6.0, 8.0] and view.tolist() == [6.0, 8.0]
    x.clamp_(5.0, 7.0)
    assert x.tolist() == [5.0, 6.0, 7.0]
    x.fill_(2)
    assert x.tolist() == [2.0, 2.0, 2.0]
    # copy_ is PyTorch's explicit copy across devices, both ways.
    x.copy_(eager.tensor([7.0, 8.0, 9.0]))
    on_cpu = eager.zeros(3)
    on_cpu.copy_(x)
    assert x.is_cuda and not on_cpu.is_cuda and on_cpu.tolist() == [7.0, 8.0, 9.0]
    # Assignment through an index, recorded for autograd too.
    w = eager.tensor([1.0, 2.0, 3.0], requires_grad=True, device="cuda")
    y = w * 2.0
    y[1:2] = eager.tensor([5.0], device="cuda")
    y[2] = 4.0
    (y * y).sum().backward()
    assert y.is_cuda and y.tolist() == [2.0, 5.0, 4.0] and w.grad.tolist() == [8.0, 0.0, 0.0]
    with pytest.raises(DeviceError, match="value is on cuda:0 but the tensor is on cpu"):
        on_cpu[1:] = x[1:]
    on_cpu[0] = x[0]  # a single element may cross, as in PyTorch
    assert on_cpu.tolist() == [7.0, 8.0, 9.0]
    # A view shares its base's version counter: autograd sees a change through either.
    assert x.view(3, 1)._version is x._version and x[1:]._version is x._version
    assert (x * 1).view(3, 1)._version is not x._version
    twin = copy.deepcopy(x)
    pickled = pickle.loads(pickle.dumps(x))
    x.zero_()
    assert twin.is_cuda and twin.tolist() == [7.0, 8.0, 9.0] and x.tolist() == [0.0] * 3
    assert pickled.is_cuda and pickled.tolist() == [7.0, 8.0, 9.0]


@needs_cuda
def test_state_saved_from_the_gpu_loads_into_a_model_on_either_device(tmp_path):
    net = _mlp().cuda()
    optimizer = optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    _train(net, lambda params: optimizer, "cuda", steps=1)
    eager.save(net.state_dict(), tmp_path / "model.npz")
    state = optimizer.state_dict()
    expected = [p.detach().cpu().numpy() for p in net.parameters()]
    for where in ("cpu", "cuda"):
        restored = _mlp().to(where)
        restored.load_state_dict(eager.load(tmp_path / "model.npz"))
        for p, values in zip(restored.parameters(), expected):
            assert p.device.type == where
            np.testing.assert_array_equal(p.detach().cpu().numpy(), values)
    # The optimizer's state comes back on its parameters' device, and training goes on.
    again = optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    again.load_state_dict(state)
    assert all(s["momentum_buffer"].is_cuda for s in again.state.values())
    again.zero_grad(set_to_none=False)
    assert all(p.grad.is_cuda and not p.grad.cpu().numpy().any() for p in net.parameters())
    _train(net, lambda params: again, "cuda", steps=1)


@needs_cuda
@pytest.mark.parametrize("make", [nn.RNN, nn.LSTM, nn.GRU], ids=["rnn", "lstm", "gru"])
def test_recurrent_layers_start_from_zero_states_on_their_device(make):
    eager.manual_seed(0)
    on_cpu = make(3, 2, batch_first=True)
    on_gpu = copy.deepcopy(on_cpu).cuda()
    batch = np.random.default_rng(3).standard_normal((2, 4, 3)).astype(np.float32)
    out_cpu, out_gpu = on_cpu(eager.tensor(batch))[0], on_gpu(eager.tensor(batch, device="cuda"))[0]
    assert out_gpu.is_cuda
    np.testing.assert_allclose(out_gpu.detach().cpu().numpy(), out_cpu.detach().numpy(),
                               rtol=1e-5, atol=1e-6)


@needs_cuda
def test_gradient_clipping_scales_gradients_on_their_device():
    w = eager.tensor([3.0, 4.0], requires_grad=True, device="cuda")
    (w * w).sum().backward()  # gradient [6, 8], norm 10
    assert nn.utils.clip_grad_norm_([w], max_norm=5.0).item() == pytest.approx(10.0)
    assert w.grad.is_cuda
    np.testing.assert_allclose(w.grad.cpu().numpy(), [3.0, 4.0], rtol=1e-6)
    nn.utils.clip_grad_value_([w], clip_value=3.5)
    assert w.grad.is_cuda
    np.testing.assert_allclose(w.grad.cpu().numpy(), [3.0, 3.5], rtol=1e-6)


@needs_cuda
def test_an_optimizer_step_that_cannot_run_on_the_device_changes_nothing():
    first = eager.tensor([1.0, 2.0], requires_grad=True, device="cuda")
    second = eager.tensor([3.0], requires_grad=True, device="cuda")
    (first.sum() + second.sum()).backward()  # a sum's gradient: a broadcast view, copied
    assert first.grad.is_cuda and first.grad.tolist() == [1.0, 1.0]

    class HostOnly(optim.Optimizer):  # a user's optimizer that updates NumPy buffers
        def _update_group(self, group):
            for param in group["params"]:
                param._array -= group["lr"] * param.grad._array

    with pytest.raises(DeviceError, match="HostOnly cannot update parameters on cuda:0"):
        HostOnly([first, second], {"lr": 0.1, "weight_decay": 0}).step()
    second.grad = eager.ones(1)  # a gradient left on the CPU
    sgd = optim.SGD([first, second], lr=0.1)
    with pytest.raises(DeviceError, match="is on cuda:0 but its gradient is on cpu"):
        sgd.step()
    assert first.tolist() == [1.0, 2.0] and second.tolist() == [3.0]


@needs_cuda
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make_optimizer", [
    lambda params: optim.RMSprop(params, lr=0.01, alpha=0.9, eps=1e-6, momentum=0.5,
                                 centered=True, maximize=True),
    lambda params: optim.Adagrad(params, lr=0.5, lr_decay=0.1, eps=1e-6),
], ids=["rmsprop", "adagrad"])
def test_rmsprop_and_adagrad_update_on_the_gpu_in_place_as_on_the_cpu(make_optimizer, dtype):
    rng = np.random.default_rng(4)
    start = rng.standard_normal((3, 5)).astype(dtype)
    grads = [rng.standard_normal((3, 5)).astype(dtype) for _ in range(3)]
    results = {}
    for where in ("cpu", "cuda"):
        w = eager.tensor(start, requires_grad=True, device=where)
        buffer = w._array
        optimizer = make_optimizer([w])
        for grad in grads:
            w.grad = eager.tensor(grad, device=where)
            optimizer.step()
        assert w._array is buffer  # updated in place: views and references see the step
        states = {key: value.cpu().numpy() for key, value in optimizer.state[w].items()
                  if key != "step"}
        assert all(value.is_cuda == (where == "cuda") for key, value
                   in optimizer.state[w].items() if key != "step")
        results[where] = w.detach().cpu().numpy(), states
    (w_cpu, state_cpu), (w_gpu, state_gpu) = results["cpu"], results["cuda"]
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(w_gpu, w_cpu, rtol=rtol, atol=rtol)
    assert state_gpu.keys() == state_cpu.keys()
    for key in state_cpu:
        np.testing.assert_allclose(state_gpu[key], state_cpu[key], rtol=rtol, atol=rtol,
                                   err_msg=key)


@needs_cuda
def test_adagrads_state_follows_a_model_moved_after_the_optimizer_was_made():
    net = _mlp()
    optimizer = optim.Adagrad(net.parameters(), lr=0.1)  # its sums are made here, on the CPU
    reference = _mlp()
    losses = _train(net.cuda(), lambda params: optimizer, "cuda")
    np.testing.assert_allclose(losses, _train(reference, lambda params: optim.Adagrad(
        params, lr=0.1), "cpu"), rtol=1e-5)
    assert all(state["sum"].is_cuda for state in optimizer.state.values())
