"""eager.nn: Module bookkeeping, layers against NumPy, gradients against finite differences."""

from __future__ import annotations

import copy
import math
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import eager
import eager.nn.functional as F
from eager import nn
from eager.nn import init
from framework import init as framework_init
from framework.errors import CastError
from framework.ops.random import Generator

# -- helpers --------------------------------------------------------------------------------------


def as_float64(array):
    return eager.tensor(np.asarray(array, np.float64))


def leaf(array):
    return eager.tensor(np.asarray(array, np.float64), requires_grad=True)


def check_gradients(loss_fn, tensors, eps=1e-6, rtol=1e-5, atol=1e-7):
    """Compare backward's gradients of the scalar `loss_fn()` with central differences,
    perturbing each float64 tensor's buffer in place."""
    for t in tensors:
        t.grad = None
    loss_fn().backward()
    analytic = [t.grad.numpy().copy() for t in tensors]
    for t, expected in zip(tensors, analytic):
        numeric = np.zeros_like(t._array)
        for index in np.ndindex(t.shape):
            original = t._array[index]
            with eager.no_grad():
                t._array[index] = original + eps
                plus = loss_fn().item()
                t._array[index] = original - eps
                minus = loss_fn().item()
            t._array[index] = original
            numeric[index] = (plus - minus) / (2 * eps)
        np.testing.assert_allclose(expected, numeric, rtol=rtol, atol=atol)


def projection(shape, seed=0):
    """Fixed random weights: sum(output * w) exercises every entry of the Jacobian."""
    return as_float64(np.random.default_rng(seed).normal(size=shape))


def numpy_conv2d(x, w, b, stride=1, padding=0, groups=1):
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, c, h, width = x.shape
    out_channels, group_in, kh, kw = w.shape
    oh, ow = (h - kh) // stride + 1, (width - kw) // stride + 1
    out = np.zeros((n, out_channels, oh, ow))
    per_group = out_channels // groups
    for o in range(out_channels):
        first = (o // per_group) * group_in
        for i in range(oh):
            for j in range(ow):
                window = x[:, first:first + group_in, i * stride:i * stride + kh,
                           j * stride:j * stride + kw]
                out[:, o, i, j] = (window * w[o]).sum(axis=(1, 2, 3)) + b[o]
    return out


def log_softmax_np(x, axis=1):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(eager.ones(1))
        self.encoder = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
        self.norm = nn.BatchNorm1d(2)
        self.register_buffer("steps", eager.tensor(0))
        self.register_buffer("scratch", eager.zeros(2), persistent=False)
        self.plain = eager.ones(3)  # a Tensor attribute that is not a buffer
        self.width = 4

    def forward(self, x):
        return self.norm(self.encoder(x)) * self.scale


# -- registration and naming ----------------------------------------------------------------------


def test_assignment_registers_parameters_modules_and_buffers_in_order():
    net = Net()
    assert [name for name, _ in net.named_parameters()] == [
        "scale", "encoder.0.weight", "encoder.0.bias", "encoder.2.weight", "encoder.2.bias",
        "norm.weight", "norm.bias"]
    assert [name for name, _ in net.named_buffers()] == [
        "steps", "scratch", "norm.running_mean", "norm.running_var", "norm.num_batches_tracked"]
    assert [name for name, _ in net.named_children()] == ["encoder", "norm"]
    assert [name for name, _ in net.named_modules()] == [
        "", "encoder", "encoder.0", "encoder.1", "encoder.2", "norm"]
    assert [name for name, _ in net.named_parameters(recurse=False)] == ["scale"]
    assert list(net.state_dict()) == [
        "scale", "steps", "encoder.0.weight", "encoder.0.bias", "encoder.2.weight",
        "encoder.2.bias", "norm.weight", "norm.bias", "norm.running_mean", "norm.running_var",
        "norm.num_batches_tracked"]
    assert "plain" not in dict(net.named_buffers()) and net.width == 4
    assert net.encoder[0].weight is net.get_submodule("encoder.0").weight
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in net.parameters())


def test_shared_parameters_come_once_from_parameters_but_under_each_name_in_state_dict():
    first = nn.Linear(2, 2)
    model = nn.Sequential(first, nn.Tanh(), first)
    assert len(list(model.parameters())) == 2
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert len(list(model.modules())) == 3  # Sequential, Linear (once), Tanh


def test_reassigning_and_deleting_attributes_updates_the_registries():
    net = Net()
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'scale'"):
        net.scale = eager.ones(1)
    net.scale = None
    assert "scale" not in dict(net.named_parameters())
    net.scale = nn.Parameter(eager.ones(1) * 2)
    assert dict(net.named_parameters())["scale"].tolist() == [2.0]
    net.encoder = nn.Identity()  # replacing a module drops its parameters
    assert not any(name.startswith("encoder.") for name, _ in net.named_parameters())
    with pytest.raises(TypeError, match="as buffer 'steps'"):
        net.steps = 3
    del net.norm
    assert "norm" not in dict(net.named_children())
    with pytest.raises(AttributeError, match="no attribute 'norm'"):
        net.norm  # noqa: B018


def test_registration_refuses_bad_names_and_values():
    net = Net()
    with pytest.raises(KeyError, match="attribute 'width' already exists"):
        net.register_buffer("width", eager.zeros(1))
    with pytest.raises(KeyError, match='contain "."'):
        net.register_parameter("a.b", nn.Parameter(eager.zeros(1)))
    with pytest.raises(TypeError, match="eager.nn.Parameter or None required"):
        net.register_parameter("w", eager.zeros(1))
    with pytest.raises(ValueError, match="non-leaf"):
        net.register_parameter("w", _non_leaf_parameter())
    with pytest.raises(TypeError, match="eager.Tensor or None required"):
        net.register_buffer("b", np.zeros(2))

    class Forgetful(nn.Module):
        def __init__(self):
            self.weight = nn.Parameter(eager.zeros(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Forgetful()


def _non_leaf_parameter():
    """A Parameter that records history: only reachable by an in-place op on a Parameter
    created without requires_grad, from a value that requires grad."""
    param = nn.Parameter(eager.zeros(1), requires_grad=False)
    param.copy_(eager.ones(1, requires_grad=True) * 2)
    assert not param.is_leaf
    return param


def test_missing_forward_names_the_module():
    with pytest.raises(NotImplementedError, match=r"Module \[ModuleList\]|ModuleList has no"):
        nn.ModuleList([nn.ReLU()])(eager.ones(1))


def test_sequential_indexing_slicing_and_editing():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    assert len(model) == 3 and isinstance(model[-1], nn.Linear)
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear"]
    head = model[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is model[0]
    assert head(eager.ones(1, 2)).shape == (1, 3)
    with pytest.raises(IndexError, match="index 3 is out of range"):
        model[3]
    model.append(nn.Sigmoid())
    assert list(model._modules) == ["0", "1", "2", "3"]
    del model[1]
    assert list(model._modules) == ["0", "1", "2"] and isinstance(model[1], nn.Linear)
    model.insert(1, nn.Tanh())
    assert [type(m).__name__ for m in model] == ["Linear", "Tanh", "Linear", "Sigmoid"]
    model[1] = nn.ReLU()
    assert isinstance(model[1], nn.ReLU)
    named = nn.Sequential(OrderedDict([("hidden", nn.Linear(2, 2)), ("act", nn.ReLU())]))
    assert [name for name, _ in named.named_parameters()] == ["hidden.weight", "hidden.bias"]


def test_module_list_registers_its_modules():
    blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(2)])
    blocks += [nn.Linear(2, 1)]
    blocks.extend([nn.ReLU()])
    owner = nn.Module()
    owner.blocks = blocks
    assert len(blocks) == 4 and isinstance(blocks[-1], nn.ReLU)
    assert [name for name, _ in owner.named_parameters()][-2:] == ["blocks.2.weight",
                                                                   "blocks.2.bias"]
    assert isinstance(blocks[1:], nn.ModuleList) and len(blocks[1:]) == 3
    with pytest.raises(TypeError, match="iterable"):
        blocks.extend(3)


def test_repr_nests_like_pytorch():
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, stride=2, bias=False), nn.BatchNorm2d(4), nn.ReLU(inplace=True),
        nn.Sequential(nn.Flatten(), nn.Linear(4, 2)), nn.Dropout(0.1))
    assert repr(model) == """Sequential(
  (0): Conv2d(1, 4, kernel_size=(3, 3), stride=(2, 2), bias=False)
  (1): BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)
  (2): ReLU(inplace=True)
  (3): Sequential(
    (0): Flatten(start_dim=1, end_dim=-1)
    (1): Linear(in_features=4, out_features=2, bias=True)
  )
  (4): Dropout(p=0.1, inplace=False)
)"""

    class WithExtra(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.Tanh()

        def extra_repr(self):
            return "width=3"

    assert repr(WithExtra()) == "WithExtra(\n  width=3\n  (inner): Tanh()\n)"
    assert repr(nn.Parameter(eager.tensor([1.0]))).startswith("Parameter containing:\ntensor(")


# -- modes, gradients, conversion -----------------------------------------------------------------


def test_train_eval_requires_grad_zero_grad_and_apply():
    net = Net()
    assert net.training and net.encoder[0].training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="boolean"):
        net.train("no")

    net.encoder.requires_grad_(False)
    assert [p.requires_grad for p in net.parameters()] == [True] + [False] * 4 + [True, True]
    net.requires_grad_(True)
    net(eager.randn(4, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())

    visited = []
    net.apply(lambda m: visited.append(type(m).__name__))
    assert visited == ["Linear", "ReLU", "Linear", "Sequential", "BatchNorm1d", "Net"]


def test_double_and_float_convert_floating_state_but_keep_parameter_identity():
    net = Net()
    weight = net.encoder[0].weight
    assert net.double() is net
    assert net.encoder[0].weight is weight and weight.dtype == np.float64
    assert net.norm.running_var.dtype == np.float64
    assert net.norm.num_batches_tracked.dtype == np.int64 and net.steps.dtype == np.int64
    assert net(eager.randn(4, 3, dtype="float64")).dtype == np.float64
    net.float()
    assert all(p.dtype == np.float32 for p in net.parameters())
    assert net.to("float64").scale.dtype == np.float64 and net.to("cpu") is net.cpu() is net
    with pytest.raises(RuntimeError, match="not available"):
        net.to("cuda")


def test_parameter_basics_and_deepcopy_gives_an_independent_leaf():
    data = eager.tensor([1.0, 2.0])
    param = nn.Parameter(data)
    assert param.requires_grad and param.is_leaf and param._array is data._array
    assert not nn.Parameter(data, requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)
    (param * param).sum().backward()
    twin = copy.deepcopy(param)
    assert isinstance(twin, nn.Parameter) and twin.grad.tolist() == [2.0, 4.0]
    twin.grad = None
    (twin * 3).sum().backward()
    assert twin.grad.tolist() == [3.0, 3.0] and param.grad.tolist() == [2.0, 4.0]
    restored = pickle.loads(pickle.dumps(param))
    assert isinstance(restored, nn.Parameter) and restored.tolist() == [1.0, 2.0]


def test_deepcopied_module_trains_independently():
    model = nn.Linear(2, 1)
    model(eager.ones(1, 2)).sum().backward()
    clone = copy.deepcopy(model)
    clone.zero_grad()
    (clone(eager.ones(1, 2)) * 5).sum().backward()
    assert model.weight.grad.tolist() == [[1.0, 1.0]]
    assert clone.weight.grad.tolist() == [[5.0, 5.0]]


# -- state dicts ----------------------------------------------------------------------------------


def small_convnet():
    return nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(12, 4), nn.LayerNorm(4), nn.Linear(4, 2))


def snapshot(model):
    return OrderedDict((k, v.numpy().copy()) for k, v in model.state_dict().items())


def test_state_dict_round_trip_into_a_fresh_model_gives_identical_outputs():
    eager.manual_seed(0)
    source = small_convnet()
    x = eager.randn(2, 2, 4, 4)
    source(x)  # a training step moves BatchNorm's running statistics
    state = source.state_dict()
    assert all(not v.requires_grad for v in state.values())
    assert state["0.weight"]._array is source[0].weight._array  # shares memory, as in PyTorch

    eager.manual_seed(1)
    target = small_convnet()
    assert not np.allclose(target.eval()(x).detach().numpy(), source.eval()(x).detach().numpy())
    result = target.load_state_dict(snapshot(source))
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(target(x).detach().numpy(), source(x).detach().numpy())
    assert target[1].num_batches_tracked.item() == 1
    np.testing.assert_array_equal(target.train()(x).detach().numpy(),
                                  source.train()(x).detach().numpy())


def test_load_state_dict_reports_every_problem_and_changes_nothing():
    eager.manual_seed(0)
    model = small_convnet()
    before = snapshot(model)
    state = snapshot(small_convnet())
    del state["7.bias"]
    state["extra.weight"] = np.zeros(3, np.float32)
    state["5.weight"] = np.zeros((5, 12), np.float32)
    with pytest.raises(RuntimeError) as error:
        model.load_state_dict(state)
    message = str(error.value)
    assert message.startswith("Error(s) in loading state_dict for Sequential:")
    assert 'Missing key(s) in state_dict: "7.bias".' in message
    assert 'Unexpected key(s) in state_dict: "extra.weight".' in message
    assert ("size mismatch for 5.weight: copying a param with shape (5, 12) from checkpoint, "
            "the shape in current model is (4, 12).") in message
    for key, value in snapshot(model).items():
        np.testing.assert_array_equal(value, before[key])

    # strict=False tolerates missing and unexpected keys but never a shape mismatch.
    with pytest.raises(RuntimeError, match="size mismatch for 5.weight"):
        model.load_state_dict(state, strict=False)
    for key, value in snapshot(model).items():
        np.testing.assert_array_equal(value, before[key])
    state["5.weight"] = np.ones((4, 12), np.float64)  # other dtypes are cast, as in PyTorch
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["7.bias"] and result.unexpected_keys == ["extra.weight"]
    assert model[5].weight.dtype == np.float32 and model[5].weight._array.min() == 1.0
    np.testing.assert_array_equal(model[7].bias._array, before["7.bias"])
    with pytest.raises(TypeError, match="dict-like"):
        model.load_state_dict([1, 2])


def test_non_persistent_buffers_stay_out_of_state_dict_but_follow_dtype():
    net = Net()
    assert "scratch" not in net.state_dict()
    net.double()
    assert net.scratch.dtype == np.float64


# -- hooks ----------------------------------------------------------------------------------------


def test_forward_hooks_see_and_replace_inputs_and_outputs_and_can_be_removed():
    layer = nn.Linear(2, 2)
    with eager.no_grad():
        layer.weight.copy_(np.eye(2, dtype=np.float32))
        layer.bias.zero_()
    calls = []

    def double_input(module, args):
        calls.append(("pre", module))
        return (args[0] * 2,)

    def record_output(module, args, output):
        calls.append(("post", args[0].tolist(), output.tolist()))

    def add_one(module, args, output):
        return output + 1

    pre = layer.register_forward_pre_hook(double_input)
    post = layer.register_forward_hook(record_output)
    bump = layer.register_forward_hook(add_one)
    assert layer(eager.ones(1, 2)).tolist() == [[3.0, 3.0]]
    assert calls == [("pre", layer), ("post", [[2.0, 2.0]], [[2.0, 2.0]])]

    first = layer.register_forward_hook(lambda m, a, out: out * 10, prepend=True)
    assert layer(eager.ones(1, 2)).tolist() == [[21.0, 21.0]]  # (2 * 10) + 1
    for handle in (pre, post, bump, first):
        handle.remove()
    handle.remove()  # removing twice is harmless
    calls.clear()
    assert layer(eager.ones(1, 2)).tolist() == [[1.0, 1.0]] and calls == []
    with layer.register_forward_pre_hook(lambda m, args: args[0] * 0):
        assert layer(eager.ones(1, 2)).tolist() == [[0.0, 0.0]]
    assert layer(eager.ones(1, 2)).tolist() == [[1.0, 1.0]]
    with pytest.raises(TypeError, match="callable"):
        layer.register_forward_hook(3)


def test_hooks_on_submodules_fire_inside_the_parent_forward():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    shapes = {}
    for name, module in model.named_children():
        module.register_forward_hook(lambda m, a, out, name=name: shapes.update({name: out.shape}))
    model(eager.ones(5, 3))
    assert shapes == {"0": (5, 4), "1": (5, 4), "2": (5, 2)}


# -- Dropout --------------------------------------------------------------------------------------


def test_dropout_zeroes_and_rescales_in_training_and_is_the_identity_in_eval():
    eager.manual_seed(0)
    drop = nn.Dropout(0.25)
    x = eager.ones(4000, requires_grad=True)
    y = drop(x)
    values = y.detach().numpy()
    assert set(np.unique(values).tolist()) == {0.0, np.float32(1 / 0.75)}
    assert abs((values == 0).mean() - 0.25) < 0.03
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), values)  # the gradient is the same mask
    assert not np.array_equal(drop(x).detach().numpy(), values)  # a fresh mask each call
    drop.eval()
    assert drop(x) is x
    assert nn.Dropout(0.0)(x) is x
    assert not nn.Dropout(1.0)(x).detach().numpy().any()
    for p in (-0.1, 1.5, "0.5"):
        with pytest.raises(ValueError, match="between 0 and 1"):
            nn.Dropout(p)
    z = x * 1.0
    out = nn.Dropout(0.5, inplace=True)(z)
    assert out is z and set(np.unique(z.detach().numpy()).tolist()) <= {0.0, 2.0}
    x.grad = None
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), z.detach().numpy())


def test_dropout_masks_are_reproducible_with_manual_seed():
    x = eager.ones(64)
    eager.manual_seed(5)
    first = [F.dropout(x, 0.5).numpy() for _ in range(2)]
    eager.manual_seed(5)
    second = [nn.Dropout(0.5)(x).numpy() for _ in range(2)]
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert not np.array_equal(first[0], first[1])


# -- BatchNorm ------------------------------------------------------------------------------------


def batch_norm_np(x, mean, var, weight, bias, eps=1e-5):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return ((x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) * weight.reshape(shape)
            + bias.reshape(shape))


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_running_statistics_match_numpy(momentum):
    rng = np.random.default_rng(0)
    norm = nn.BatchNorm2d(3, momentum=momentum)
    running_mean, running_var = np.zeros(3), np.ones(3)
    for step in range(1, 4):
        x = rng.normal(loc=step, scale=step, size=(4, 3, 2, 5)).astype(np.float32)
        out = norm(eager.tensor(x))
        axes = (0, 2, 3)
        mean, biased = x.mean(axis=axes, dtype=np.float64), x.var(axis=axes, dtype=np.float64)
        unbiased = biased * 40 / 39
        factor = 1 / step if momentum is None else momentum
        running_mean = (1 - factor) * running_mean + factor * mean
        running_var = (1 - factor) * running_var + factor * unbiased
        np.testing.assert_allclose(norm.running_mean.numpy(), running_mean, rtol=1e-5)
        np.testing.assert_allclose(norm.running_var.numpy(), running_var, rtol=1e-5)
        np.testing.assert_allclose(out.detach().numpy(),
                                   batch_norm_np(x, mean, biased, np.ones(3), np.zeros(3)),
                                   rtol=1e-4, atol=1e-5)
        assert norm.num_batches_tracked.item() == step

    norm.eval()
    x = rng.normal(size=(2, 3, 2, 2)).astype(np.float32)
    out = norm(eager.tensor(x)).detach()
    np.testing.assert_allclose(out.numpy(), batch_norm_np(x, running_mean, running_var,
                                                          np.ones(3), np.zeros(3)),
                               rtol=1e-4, atol=1e-5)
    assert norm.num_batches_tracked.item() == 3  # eval mode updates nothing
    np.testing.assert_allclose(norm.running_mean.numpy(), running_mean, rtol=1e-5)


def test_batch_norm_without_running_statistics_always_uses_the_batch():
    norm = nn.BatchNorm1d(2, affine=False, track_running_stats=False).eval()
    assert norm.running_mean is None and list(norm.state_dict()) == []
    x = np.array([[1.0, 10.0], [3.0, 30.0]], np.float32)
    np.testing.assert_allclose(norm(eager.tensor(x)).numpy(), [[-1, -1], [1, 1]], rtol=1e-4)


@pytest.mark.parametrize("shape", [(5, 3), (3, 3, 4)])
def test_batch_norm_1d_forward_and_gradients(shape):
    rng = np.random.default_rng(1)
    norm = nn.BatchNorm1d(3).double()
    with eager.no_grad():
        norm.weight.copy_(rng.uniform(0.5, 1.5, 3))
        norm.bias.copy_(rng.normal(size=3))
    x = leaf(rng.normal(size=shape))
    axes = (0,) if len(shape) == 2 else (0, 2)
    expected = batch_norm_np(x._array, x._array.mean(axes), x._array.var(axes), norm.weight._array,
                             norm.bias._array)
    np.testing.assert_allclose(norm(x).detach().numpy(), expected, rtol=1e-10, atol=1e-12)
    w = projection(shape)
    check_gradients(lambda: (norm(x) * w).sum(), [x, norm.weight, norm.bias])


def test_batch_norm_2d_gradients_in_training_and_eval():
    rng = np.random.default_rng(2)
    norm = nn.BatchNorm2d(2).double()
    x = leaf(rng.normal(size=(2, 2, 2, 3)))
    w = projection(x.shape)
    check_gradients(lambda: (norm(x) * w).sum(), [x, norm.weight, norm.bias])
    norm.eval()
    check_gradients(lambda: (norm(x) * w).sum(), [x, norm.weight, norm.bias])


def test_batch_norm_refuses_bad_inputs():
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(eager.ones(2, 3))
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        nn.BatchNorm1d(3)(eager.ones(2, 3, 1, 1))
    with pytest.raises(ValueError, match="expected 3 channels"):
        nn.BatchNorm1d(3)(eager.ones(2, 4))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(eager.ones(1, 3))


# -- LayerNorm ------------------------------------------------------------------------------------


def layer_norm_np(x, dims, weight, bias, eps=1e-5):
    mean = x.mean(axis=dims, keepdims=True)
    var = x.var(axis=dims, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


@pytest.mark.parametrize("normalized_shape", [4, (3, 4)])
def test_layer_norm_forward_and_gradients(normalized_shape):
    rng = np.random.default_rng(3)
    norm = nn.LayerNorm(normalized_shape).double()
    with eager.no_grad():
        norm.weight.copy_(rng.uniform(0.5, 1.5, norm.weight.shape))
        norm.bias.copy_(rng.normal(size=norm.bias.shape))
    x = leaf(rng.normal(size=(2, 3, 4)))
    dims = (-1,) if normalized_shape == 4 else (-2, -1)
    expected = layer_norm_np(x._array, dims, norm.weight._array, norm.bias._array)
    np.testing.assert_allclose(norm(x).detach().numpy(), expected, rtol=1e-10, atol=1e-12)
    w = projection(x.shape)
    check_gradients(lambda: (norm(x) * w).sum(), [x, norm.weight, norm.bias])


def test_layer_norm_checks_the_trailing_shape():
    assert list(nn.LayerNorm(3, elementwise_affine=False).state_dict()) == []
    with pytest.raises(ValueError, match=r"normalized_shape \(4,\) must match"):
        nn.LayerNorm(4)(eager.ones(2, 3))


# -- Linear, Conv2d, pooling ----------------------------------------------------------------------


def test_linear_initialization_follows_pytorch_bounds_and_the_shared_generator():
    eager.manual_seed(7)
    layer = nn.Linear(50, 40)
    bound = 1 / math.sqrt(50)  # kaiming_uniform(a=sqrt(5)) and the bias bound coincide
    assert layer.weight.shape == (40, 50) and layer.bias.shape == (40,)
    for values in (layer.weight._array, layer.bias._array):
        assert np.abs(values).max() <= bound
    assert np.abs(layer.weight._array).max() > 0.95 * bound  # spread over the whole range
    assert abs(layer.weight._array.std() - bound / math.sqrt(3)) < 0.05 * bound

    generator = Generator(7)  # the default generator's state right after manual_seed(7)
    np.testing.assert_array_equal(
        layer.weight._array,
        framework_init.kaiming_uniform((40, 50), a=math.sqrt(5), generator=generator))
    np.testing.assert_array_equal(layer.bias._array,
                                  framework_init.uniform((40,), -bound, bound,
                                                         generator=generator))
    assert nn.Linear(3, 2, bias=False).bias is None


def test_conv2d_initialization_uses_the_fan_in_of_a_group():
    eager.manual_seed(0)
    conv = nn.Conv2d(6, 8, kernel_size=(3, 2), groups=2)
    bound = 1 / math.sqrt(3 * 3 * 2)  # in_channels / groups * kH * kW
    assert conv.weight.shape == (8, 3, 3, 2)
    assert np.abs(conv.weight._array).max() <= bound
    assert np.abs(conv.bias._array).max() <= bound
    assert np.abs(conv.weight._array).max() > 0.8 * bound
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(5, 8, 3, groups=2)
    with pytest.raises(ValueError, match="kernel_size must be an int or a pair"):
        nn.Conv2d(1, 1, 0)


def test_same_seed_gives_the_same_model_and_a_different_seed_does_not():
    def build(seed):
        eager.manual_seed(seed)
        return snapshot(nn.Sequential(nn.Linear(3, 4), nn.Conv2d(1, 2, 3), nn.Embedding(5, 2),
                                      nn.LSTMCell(2, 3)))

    first, again, other = build(11), build(11), build(12)
    for key in first:
        np.testing.assert_array_equal(first[key], again[key])
    assert not np.array_equal(first["0.weight"], other["0.weight"])


def test_linear_and_conv2d_forward_match_numpy():
    rng = np.random.default_rng(4)
    layer = nn.Linear(3, 2).double()
    x = rng.normal(size=(4, 3))
    np.testing.assert_allclose(layer(as_float64(x)).detach().numpy(),
                               x @ layer.weight._array.T + layer.bias._array, rtol=1e-12)
    with pytest.raises(ValueError, match="in_features"):
        layer(eager.ones(4, 5, dtype="float64"))

    conv = nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2).double()
    images = rng.normal(size=(2, 4, 5, 5))
    expected = numpy_conv2d(images, conv.weight._array, conv.bias._array, 2, 1, 2)
    np.testing.assert_allclose(conv(as_float64(images)).detach().numpy(), expected, rtol=1e-10)
    unbatched = conv(as_float64(images[0])).detach().numpy()
    np.testing.assert_allclose(unbatched, expected[0], rtol=1e-10)


def test_conv2d_same_padding_with_an_even_kernel_pads_the_extra_pixel_after():
    rng = np.random.default_rng(5)
    conv = nn.Conv2d(1, 2, kernel_size=(2, 3), padding="same").double()
    images = rng.normal(size=(1, 1, 4, 5))
    padded = np.pad(images, ((0, 0), (0, 0), (0, 1), (1, 1)))
    out = conv(as_float64(images)).detach().numpy()
    assert out.shape == (1, 2, 4, 5)
    np.testing.assert_allclose(out, numpy_conv2d(padded, conv.weight._array, conv.bias._array),
                               rtol=1e-10)
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(1, 1, 3, stride=2, padding="same")


def test_conv2d_gradients():
    rng = np.random.default_rng(6)
    conv = nn.Conv2d(2, 2, 2, padding=1).double()
    x = leaf(rng.normal(size=(1, 2, 3, 3)))
    w = projection((1, 2, 4, 4))
    check_gradients(lambda: (conv(x) * w).sum(), [x, conv.weight, conv.bias])


def test_integer_inputs_to_float_layers_are_refused_naming_both_dtypes():
    linear, conv = nn.Linear(2, 3), nn.Conv2d(1, 1, 1)
    calls = {
        "linear": [lambda: linear(eager.tensor([[1, 2]])),
                   lambda: F.linear(eager.tensor([[1, 2]]), linear.weight),
                   lambda: F.linear(eager.ones(1, 2), linear.weight, eager.tensor([1, 2, 3]))],
        "conv2d": [lambda: conv(eager.ones(1, 1, 2, 2, dtype=eager.int64)),
                   lambda: F.conv2d(eager.ones(1, 2, 2, dtype=eager.int32), conv.weight)],
    }
    for function, attempts in calls.items():
        for attempt in attempts:
            with pytest.raises(CastError, match=rf"{function}: (input|bias) has dtype int(32|64) "
                                                r"but weight has dtype float32") as caught:
                attempt()
            assert isinstance(caught.value, RuntimeError)  # PyTorch's type
            assert caught.value.site.filename == __file__
    assert linear(eager.tensor([[1, 2]]).float()).shape == (1, 3)


def test_pooling_flatten_and_activations():
    x = eager.arange(32.0).reshape(2, 1, 4, 4)
    assert nn.MaxPool2d(2)(x)[1, 0].tolist() == [[21.0, 23.0], [29.0, 31.0]]
    assert nn.AvgPool2d(2, stride=2)(x)[0, 0].tolist() == [[2.5, 4.5], [10.5, 12.5]]
    assert nn.Flatten()(x).shape == (2, 16) and nn.Flatten(0, 2)(x).shape == (8, 4)
    with pytest.raises(IndexError, match="out of range"):
        nn.Flatten(1, 4)(x)
    values = np.linspace(-3, 3, 7)
    t = as_float64(values)
    np.testing.assert_allclose(nn.ReLU()(t).numpy(), np.maximum(values, 0))
    np.testing.assert_allclose(nn.Tanh()(t).numpy(), np.tanh(values))
    np.testing.assert_allclose(nn.Sigmoid()(t).numpy(), 1 / (1 + np.exp(-values)))
    exact = values * 0.5 * (1 + np.vectorize(math.erf)(values / math.sqrt(2)))
    np.testing.assert_allclose(nn.GELU()(t).numpy(), exact, rtol=1e-12)
    tanh_form = 0.5 * values * (1 + np.tanh(math.sqrt(2 / math.pi)
                                            * (values + 0.044715 * values ** 3)))
    np.testing.assert_allclose(nn.GELU("tanh")(t).numpy(), tanh_form, rtol=1e-12)
    np.testing.assert_allclose(nn.Softmax(dim=0)(t).numpy(), np.exp(log_softmax_np(values, 0)))


def test_gelu_tanh_gradient_and_inplace_relu():
    x = leaf([-1.5, -0.2, 0.3, 2.0])
    check_gradients(lambda: F.gelu(x, approximate="tanh").sum(), [x])
    y = x * 1.0
    out = nn.ReLU(inplace=True)(y)
    assert out is y and y.tolist() == [0.0, 0.0, 0.3, 2.0]
    x.grad = None
    out.sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0, 1.0]


# -- Embedding ------------------------------------------------------------------------------------


def test_embedding_lookup_initialization_and_gradient():
    eager.manual_seed(0)
    table = nn.Embedding(200, 50)
    values = table.weight._array
    assert abs(values.mean()) < 0.02 and abs(values.std() - 1) < 0.02
    indices = eager.tensor([[3, 1], [3, 0]])
    out = table(indices)
    np.testing.assert_array_equal(out.detach().numpy(), values[[[3, 1], [3, 0]]])
    out.sum().backward()
    counts = np.zeros(200)
    np.add.at(counts, [3, 1, 3, 0], 1)
    np.testing.assert_array_equal(table.weight.grad.numpy(), np.repeat(counts[:, None], 50, 1))
    with pytest.raises(TypeError, match="integer"):
        table(eager.tensor([1.0]))
    frozen = nn.Embedding.from_pretrained(eager.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert not frozen.weight.requires_grad and frozen(eager.tensor([1])).tolist() == [[3.0, 4.0]]


# -- recurrent cells ------------------------------------------------------------------------------


def sigmoid_np(x):
    return 1 / (1 + np.exp(-x))


def lstm_cell_np(x, h, c, w_ih, w_hh, b_ih, b_hh):
    gates = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
    i, f, g, o = np.split(gates, 4, axis=1)
    c_next = sigmoid_np(f) * c + sigmoid_np(i) * np.tanh(g)
    return sigmoid_np(o) * np.tanh(c_next), c_next


def test_lstm_cell_matches_numpy_and_pytorch_layout():
    eager.manual_seed(0)
    cell = nn.LSTMCell(3, 4).double()
    assert [(n, p.shape) for n, p in cell.named_parameters()] == [
        ("weight_ih", (16, 3)), ("weight_hh", (16, 4)), ("bias_ih", (16,)), ("bias_hh", (16,))]
    bound = 1 / math.sqrt(4)
    assert all(np.abs(p._array).max() <= bound for p in cell.parameters())
    rng = np.random.default_rng(7)
    x, h, c = rng.normal(size=(2, 3)), rng.normal(size=(2, 4)), rng.normal(size=(2, 4))
    weights = [p._array for p in cell.parameters()]
    h1, c1 = cell(as_float64(x), (as_float64(h), as_float64(c)))
    expected_h, expected_c = lstm_cell_np(x, h, c, *weights)
    np.testing.assert_allclose(h1.detach().numpy(), expected_h, rtol=1e-12)
    np.testing.assert_allclose(c1.detach().numpy(), expected_c, rtol=1e-12)

    h0, c0 = cell(as_float64(x))  # zero state by default
    zero_h, zero_c = lstm_cell_np(x, 0 * h, 0 * c, *weights)
    np.testing.assert_allclose(h0.detach().numpy(), zero_h, rtol=1e-12)
    h_single, c_single = cell(as_float64(x[0]), (as_float64(h[0]), as_float64(c[0])))
    assert h_single.shape == (4,)
    np.testing.assert_allclose(c_single.detach().numpy(), expected_c[0], rtol=1e-12)
    with pytest.raises(ValueError, match="h must have shape"):
        cell(as_float64(x), (as_float64(h[:1]), as_float64(c)))

    xs, hs, cs = leaf(x), leaf(h), leaf(c)
    wh, wc = projection((2, 4), 1), projection((2, 4), 2)

    def loss():
        h_next, c_next = cell(xs, (hs, cs))
        return (h_next * wh).sum() + (c_next * wc).sum()

    check_gradients(loss, [xs, hs, cs, cell.weight_ih, cell.bias_hh])


def test_rnn_cell_matches_numpy():
    cell = nn.RNNCell(3, 2, nonlinearity="relu").double()
    x, h = np.random.default_rng(8).normal(size=(2, 4, 3))[0], np.ones((4, 2))
    w_ih, w_hh, b_ih, b_hh = (p._array for p in cell.parameters())
    expected = np.maximum(x @ w_ih.T + b_ih + h @ w_hh.T + b_hh, 0)
    np.testing.assert_allclose(cell(as_float64(x), as_float64(h)).detach().numpy(), expected,
                               rtol=1e-12)
    tanh_cell = nn.RNNCell(3, 2, bias=False)
    assert repr(tanh_cell) == "RNNCell(3, 2, bias=False)" and tanh_cell.bias_ih is None
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNNCell(3, 2, nonlinearity="gelu")


# -- losses ---------------------------------------------------------------------------------------


def cross_entropy_np(logits, labels, weight=None, ignore_index=-100, reduction="mean",
                     smoothing=0.0):
    """PyTorch's formula, written out for (N, C) logits and integer labels."""
    classes = logits.shape[1]
    log_probs = log_softmax_np(logits)
    weight = np.ones(classes) if weight is None else weight
    kept = labels != ignore_index
    safe = np.where(kept, labels, 0)
    sample_weight = weight[safe] * kept
    nll = -log_probs[np.arange(len(labels)), safe] * sample_weight
    smooth = -(log_probs * weight).sum(1) * kept
    if reduction == "mean":
        nll, smooth = nll.sum() / sample_weight.sum(), smooth.sum() / sample_weight.sum()
    elif reduction == "sum":
        nll, smooth = nll.sum(), smooth.sum()
    return (1 - smoothing) * nll + smoothing / classes * smooth


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_matches_numpy(reduction):
    rng = np.random.default_rng(9)
    logits, labels = rng.normal(size=(6, 4)), np.array([0, 3, 1, 1, 2, 0])
    weight = rng.uniform(0.5, 2.0, 4)
    ignored = np.array([0, 3, -100, 1, 2, -100])
    cases = [
        ({}, labels, {}),
        ({"weight": as_float64(weight)}, labels, {"weight": weight}),
        ({"ignore_index": -100}, ignored, {}),
        ({"label_smoothing": 0.2}, labels, {"smoothing": 0.2}),
        ({"weight": as_float64(weight), "label_smoothing": 0.1, "ignore_index": 3}, labels,
         {"weight": weight, "smoothing": 0.1, "ignore_index": 3}),
    ]
    for options, target, expected_options in cases:
        loss = nn.CrossEntropyLoss(reduction=reduction, **options)(
            as_float64(logits), eager.tensor(target))
        expected = cross_entropy_np(logits, target, reduction=reduction, **expected_options)
        np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-10, err_msg=str(options))


def test_cross_entropy_with_probabilities_spatial_and_unbatched_inputs():
    rng = np.random.default_rng(10)
    logits = rng.normal(size=(3, 4))
    probabilities = rng.dirichlet(np.ones(4), size=3)
    expected = -(probabilities * log_softmax_np(logits)).sum(1).mean()
    np.testing.assert_allclose(
        F.cross_entropy(as_float64(logits), as_float64(probabilities)).item(), expected)
    weight = rng.uniform(0.5, 2.0, 4)
    smoothed = probabilities * 0.9 + 0.1 / 4
    expected = -(smoothed * weight * log_softmax_np(logits)).sum(1).mean()
    np.testing.assert_allclose(F.cross_entropy(as_float64(logits), as_float64(probabilities),
                                               as_float64(weight), label_smoothing=0.1).item(),
                               expected)
    images = rng.normal(size=(2, 3, 2, 2))
    labels = rng.integers(0, 3, size=(2, 2, 2))
    picked = np.take_along_axis(log_softmax_np(images), labels[:, None], 1)[:, 0]
    np.testing.assert_allclose(F.cross_entropy(as_float64(images), eager.tensor(labels),
                                               reduction="none").numpy(), -picked)
    single = F.cross_entropy(as_float64(logits[0]), eager.tensor(2))
    np.testing.assert_allclose(single.item(), -log_softmax_np(logits[:1])[0, 2])


def test_cross_entropy_and_nll_gradients():
    rng = np.random.default_rng(11)
    logits = leaf(rng.normal(size=(4, 3)))
    labels = eager.tensor([0, 2, -100, 1])
    weight = as_float64([0.5, 1.0, 2.0])
    check_gradients(lambda: F.cross_entropy(logits, labels, weight, label_smoothing=0.2),
                    [logits])
    check_gradients(lambda: F.nll_loss(F.log_softmax(logits, 1), labels, weight), [logits])
    check_gradients(lambda: F.cross_entropy(logits, eager.tensor([0, 2, 2, 1])), [logits])


def test_loss_arguments_are_checked_before_any_work():
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        nn.CrossEntropyLoss(reduction="avg")
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=1.5)
    with pytest.raises(IndexError, match="target 5 is out of bounds"):
        F.cross_entropy(eager.randn(2, 3), eager.tensor([0, 5]), ignore_index=0)
    with pytest.raises(ValueError, match="class labels must have shape"):
        F.cross_entropy(eager.randn(2, 3), eager.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="one entry per class"):
        F.cross_entropy(eager.randn(2, 3), eager.tensor([0, 1]), weight=eager.ones(2))


def test_mse_loss_and_nll_loss():
    x, y = as_float64([[1.0, 2.0], [3.0, 5.0]]), as_float64([[1.0, 0.0], [0.0, 1.0]])
    assert nn.MSELoss()(x, y).item() == pytest.approx((0 + 4 + 9 + 16) / 4)
    assert nn.MSELoss(reduction="sum")(x, y).item() == pytest.approx(29)
    assert nn.MSELoss(reduction="none")(x, y).tolist() == [[0.0, 4.0], [9.0, 16.0]]
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(x, as_float64([1.0, 2.0]))
    log_probs = as_float64([[-1.0, -2.0], [-3.0, -4.0]])
    assert nn.NLLLoss()(log_probs, eager.tensor([1, 0])).item() == pytest.approx(2.5)
    weighted = nn.NLLLoss(weight=as_float64([1.0, 3.0]))(log_probs, eager.tensor([1, 0]))
    assert weighted.item() == pytest.approx((2.0 * 3 + 3.0 * 1) / 4)


# -- functional odds and ends ---------------------------------------------------------------------


def test_functional_softmax_one_hot_and_flatten():
    x = as_float64([[1.0, 2.0, 3.0]])
    np.testing.assert_allclose(F.log_softmax(x, dim=1).numpy(), log_softmax_np(x.numpy()))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        implicit = F.softmax(x)
    np.testing.assert_allclose(implicit.numpy(), F.softmax(x, dim=1).numpy())
    hot = F.one_hot(eager.tensor([2, 0, 1]))
    assert hot.dtype == np.int64 and hot.tolist() == [[0, 0, 1], [1, 0, 0], [0, 1, 0]]
    assert F.one_hot(eager.tensor([0]), num_classes=3).tolist() == [[1, 0, 0]]
    with pytest.raises(TypeError, match="integer tensor"):
        F.one_hot(eager.tensor([1.0]))
    assert F.flatten(eager.zeros(2, 3, 4)).shape == (24,)
    assert F.flatten(eager.zeros(2, 0, 4), 1).shape == (2, 0)


# -- initializers ---------------------------------------------------------------------------------


def test_init_functions_fill_in_place_without_recording():
    param = nn.Parameter(eager.zeros(20, 10))
    assert init.xavier_uniform_(param) is param and param.is_leaf
    assert np.abs(param._array).max() <= math.sqrt(6 / 30)
    init.kaiming_normal_(param, nonlinearity="relu")
    assert param.requires_grad and param.grad_fn is None
    init.constant_(param, 0.25)
    assert set(param._array.ravel().tolist()) == {0.25}
    init.uniform_(param, 2.0, 2.0)
    assert set(param._array.ravel().tolist()) == {2.0}
    init.normal_(param, 1.0, 0.0)
    assert set(param._array.ravel().tolist()) == {1.0}
    assert init.eye_(eager.zeros(2, 2)).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    with pytest.raises(TypeError, match="floating point"):
        init.normal_(eager.zeros(2, dtype="int64"))
    with pytest.raises(ValueError, match="a <= b"):
        init.uniform_(param, 1.0, 0.0)


def test_init_draws_one_seed_per_call_from_the_given_generator():
    a, b = eager.empty(3, 4), eager.empty(3, 4)
    init.kaiming_uniform_(a, generator=Generator(3))
    init.kaiming_uniform_(b, generator=Generator(3))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(a.numpy(),
                                  framework_init.kaiming_uniform((3, 4), generator=Generator(3)))


# -- end to end -----------------------------------------------------------------------------------


def test_a_small_mlp_learns_xor_with_manual_sgd():
    eager.manual_seed(0)
    rng = np.random.default_rng(0)
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    labels = np.array([0, 1, 1, 0])
    points = np.repeat(corners, 16, axis=0) + rng.normal(0, 0.1, (64, 2)).astype(np.float32)
    x, y = eager.tensor(points - 0.5), eager.tensor(np.repeat(labels, 16))
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
    loss_fn = nn.CrossEntropyLoss()
    first = loss_fn(model(x), y).item()
    for _ in range(300):
        model.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        with eager.no_grad():
            for param in model.parameters():
                param -= 0.5 * param.grad
    assert loss.item() < 0.05 < first
    predictions = model(eager.tensor(corners - 0.5)).argmax(1)
    assert predictions.tolist() == labels.tolist()


# -- optional comparisons with PyTorch ------------------------------------------------------------


@pytest.mark.torch
def test_layers_match_pytorch_given_the_same_weights():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(12)
    x = rng.normal(size=(3, 4))
    cell = nn.LSTMCell(4, 5).double()
    reference = torch.nn.LSTMCell(4, 5).double()
    reference.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                               for k, v in cell.state_dict().items()})
    h, c = cell(as_float64(x))
    h_ref, c_ref = reference(torch.from_numpy(x))
    np.testing.assert_allclose(h.detach().numpy(), h_ref.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(c.detach().numpy(), c_ref.detach().numpy(), rtol=1e-10)

    logits, labels = rng.normal(size=(5, 3)), np.array([0, 2, 1, 1, -100])
    weight = np.array([0.5, 1.0, 2.0])
    ours = F.cross_entropy(as_float64(logits), eager.tensor(labels), as_float64(weight),
                           label_smoothing=0.1)
    theirs = torch.nn.functional.cross_entropy(torch.from_numpy(logits),
                                               torch.from_numpy(labels),
                                               torch.from_numpy(weight), label_smoothing=0.1)
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-10)

    norm, norm_ref = nn.BatchNorm1d(4).double(), torch.nn.BatchNorm1d(4).double()
    for _ in range(2):
        np.testing.assert_allclose(norm(as_float64(x)).detach().numpy(),
                                   norm_ref(torch.from_numpy(x)).detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(norm.running_var.numpy(), norm_ref.running_var.numpy(),
                               rtol=1e-10)
