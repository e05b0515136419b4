"""`Tensor.data` as PyTorch has it, and the conversions and constructors PyTorch code calls.

`x.data` is a Tensor sharing x's memory, outside autograd, so the idioms of PyTorch's tutorials
(`m.weight.data.fill_(0.01)`, `p.data.add_(-lr * p.grad.data)`, `nn.init.*_(p.data)`) change the
parameter itself; assigning to `.data` swaps the memory. Conversions return `self` when nothing
changes, as PyTorch's do.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import eager
from eager import nn
from framework.errors import ArgumentError, DeviceError, DTypeError, ShapeError


def _parameter(*values):
    return nn.Parameter(eager.tensor(list(values)))


def test_data_is_a_tensor_that_shares_memory_and_is_outside_autograd():
    weight = nn.Parameter(eager.tensor([[1.0, 2.0], [3.0, 4.0]]))
    non_leaf = weight * 2
    for source in (weight, non_leaf):
        data = source.data
        assert type(data) is eager.Tensor  # a Parameter's data is a plain Tensor
        assert not data.requires_grad and data.is_leaf and data.grad_fn is None
        assert np.shares_memory(data.numpy(), source.detach().numpy())
        assert data.shape == source.shape and data.dtype == source.dtype
    assert weight.requires_grad and non_leaf.requires_grad  # unchanged by reading .data


@pytest.mark.parametrize(("update", "expected"), [
    (lambda d: d.fill_(0.5), [0.5, 0.5, 0.5]),
    (lambda d: d.zero_(), [0.0, 0.0, 0.0]),
    (lambda d: d.copy_(eager.tensor([7.0, 8.0, 9.0])), [7.0, 8.0, 9.0]),
    (lambda d: d.add_(eager.tensor([1.0, 1.0, 1.0]), alpha=-2), [-1.0, 0.0, 1.0]),
    (lambda d: d.mul_(10), [10.0, 20.0, 30.0]),
    (lambda d: d.clamp_(1.5, 2.5), [1.5, 2.0, 2.5]),
    (lambda d: d.__setitem__(1, -4.0), [1.0, -4.0, 3.0]),
    (lambda d: d.__isub__(1), [0.0, 1.0, 2.0]),
], ids=["fill_", "zero_", "copy_", "add_", "mul_", "clamp_", "setitem", "-="])
def test_in_place_ops_through_data_change_the_parameter(update, expected):
    param = _parameter(1.0, 2.0, 3.0)
    update(param.data)  # with grad mode on: .data does not require grad
    assert param.tolist() == expected
    assert param.requires_grad and param.is_leaf and type(param) is nn.Parameter


def test_random_fills_through_data_change_the_parameter_reproducibly():
    param = nn.Parameter(eager.zeros(200))
    eager.manual_seed(3)
    param.data.normal_(1.0, 0.1)
    drawn = param.tolist()
    assert abs(float(np.mean(drawn)) - 1.0) < 0.05 and 0.05 < float(np.std(drawn)) < 0.2
    eager.manual_seed(3)
    assert eager.zeros(200).normal_(1.0, 0.1).tolist() == drawn
    eager.manual_seed(3)
    assert nn.init.normal_(eager.zeros(200), 1.0, 0.1).tolist() == drawn  # the same draw
    param.data.uniform_(-0.25, 0.25)
    assert param.abs().max().item() <= 0.25 and param.tolist() != drawn
    eager.manual_seed(4)
    first = eager.empty(50).uniform_(**{"from": 2.0, "to": 3.0}).tolist()
    eager.manual_seed(4)
    assert eager.empty(50).uniform_(2.0, 3.0).tolist() == first
    assert all(2.0 <= v < 3.0 for v in first)


def test_model_apply_with_an_init_function_through_data():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))

    def init_weights(module):
        if isinstance(module, nn.Linear):
            module.weight.data.fill_(0.01)
            module.bias.data.zero_()

    model.apply(init_weights)
    for layer in (model[0], model[2]):
        assert set(layer.weight.detach().numpy().ravel()) == {np.float32(0.01)}
        assert layer.bias.tolist() == [0.0] * layer.out_features
    out = model(eager.ones(1, 4))
    np.testing.assert_allclose(out.detach().numpy(), [[3 * 0.04 * 0.01] * 2], rtol=1e-5)


def test_nn_init_works_on_parameters_and_on_their_data():
    layer = nn.Linear(20, 30)
    nn.init.xavier_uniform_(layer.weight)
    bound = math.sqrt(6 / 50)
    weights = layer.weight.detach().numpy()
    assert np.abs(weights).max() <= bound and np.abs(weights).max() > 0.8 * bound
    nn.init.constant_(layer.bias.data, 0.25)
    assert layer.bias.tolist() == [0.25] * 30
    nn.init.kaiming_normal_(layer.weight.data, nonlinearity="relu", generator=eager.Generator(1))
    twin = nn.init.kaiming_normal_(eager.empty(30, 20), nonlinearity="relu",
                                   generator=eager.Generator(1))
    np.testing.assert_array_equal(layer.weight.detach().numpy(), twin.numpy())


def test_a_manual_sgd_loop_through_data_trains():
    eager.manual_seed(0)
    x = eager.randn(64, 3)
    y = x @ eager.tensor([[1.5], [-2.0], [0.5]]) + 0.3
    model = nn.Linear(3, 1)
    lr = 0.1
    first = None
    for _ in range(100):
        loss = ((model(x) - y) ** 2).mean()
        first = loss.item() if first is None else first
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data.add_(-lr * p.grad.data)
    assert loss.item() < 1e-3 * first
    np.testing.assert_allclose(model.weight.detach().numpy(), [[1.5, -2.0, 0.5]], atol=0.02)


def test_in_place_changes_through_data_escape_the_version_check():
    # PyTorch's documented pitfall, kept: the gradient uses the new values, silently.
    w = eager.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    w.data.mul_(3)
    loss.backward()
    assert w.grad.tolist() == [6.0, 12.0]  # 2 * the new w, not 2 * the w the loss saw
    # detach() shares the version counter, so the same change through it is caught.
    v = eager.tensor([1.0, 2.0], requires_grad=True)
    loss = (v * v).sum()
    v.detach().mul_(3)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        loss.backward()


def test_assigning_data_swaps_the_memory_and_keeps_the_parameter():
    param = _parameter(1.0, 2.0)
    version = param._version[0]
    replacement = eager.zeros(3, 2)
    param.data = replacement
    assert param.shape == (3, 2) and type(param) is nn.Parameter and param.requires_grad
    assert np.shares_memory(param.detach().numpy(), replacement.numpy())
    assert param._version[0] == version
    (param * eager.ones(3, 2)).sum().backward()
    assert param.grad.shape == (3, 2)
    plain = eager.tensor([1, 2])
    plain.data = eager.tensor([0.5])  # a tensor that does not require grad may change dtype
    assert plain.dtype == eager.float32 and plain.tolist() == [0.5]


def test_assigning_data_refuses_what_is_no_tensor_or_cannot_require_grad():
    param = _parameter(1.0, 2.0)
    with pytest.raises(TypeError, match="Variable data has to be a tensor, but got ndarray"):
        param.data = np.zeros(2, np.float32)
    with pytest.raises(RuntimeError, match="only floating point tensors can require gradients"):
        param.data = eager.tensor([1, 2])
    assert param.tolist() == [1.0, 2.0] and param.dtype == eager.float32


@pytest.mark.parametrize(("convert", "dtype"), [
    (lambda x: x.double(), eager.float64),
    (lambda x: x.long(), eager.int64),
    (lambda x: x.int(), eager.int32),
    (lambda x: x.bool(), eager.bool),
    (lambda x: x.to(eager.float64), eager.float64),
    (lambda x: x.to("cpu", eager.int64), eager.int64),
    (lambda x: x.to(device="cpu", dtype=eager.int32), eager.int32),
    (lambda x: x.to(eager.tensor([True])), eager.bool),
    (lambda x: x.type(eager.float64), eager.float64),
    (lambda x: x.type("torch.LongTensor"), eager.int64),
    (lambda x: x.type_as(eager.tensor([1], dtype=eager.int32)), eager.int32),
], ids=["double", "long", "int", "bool", "to-dtype", "to-device-dtype", "to-keywords",
        "to-tensor", "type-dtype", "type-name", "type_as"])
def test_conversions_give_the_dtype_asked_for(convert, dtype):
    x = eager.tensor([1.5, 0.0, -2.0])
    result = convert(x)
    assert result.dtype == dtype and result is not x
    np.testing.assert_array_equal(result.numpy(), x.numpy().astype(dtype))


def test_conversions_that_change_nothing_return_the_tensor_itself():
    x = eager.tensor([1.5, 2.0], requires_grad=True)
    assert x.float() is x and x.to(eager.float32) is x and x.to("cpu") is x
    assert x.to(eager.ones(1)) is x and x.type(eager.float32) is x and x.cpu() is x
    assert x.type_as(eager.zeros(1)) is x
    copied = x.to(eager.float32, copy=True)
    assert copied is not x and not np.shares_memory(copied.detach().numpy(), x.detach().numpy())
    copied.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]  # a copy is recorded like any op


def test_type_without_arguments_names_the_tensor_type():
    assert eager.zeros(1).type() == "torch.FloatTensor"
    assert eager.zeros(1, dtype=eager.float64).type() == "torch.DoubleTensor"
    assert eager.tensor([1]).type() == "torch.LongTensor"
    assert eager.tensor([1], dtype=eager.int32).type() == "torch.IntTensor"
    assert eager.tensor([True]).type() == "torch.BoolTensor"


def test_conversions_refuse_what_they_cannot_do():
    x = eager.tensor([1.0])
    with pytest.raises(DTypeError, match="float16 is not supported"):
        x.half()
    with pytest.raises(DeviceError, match="'cuda' is not available"):
        x.to("cuda")
    with pytest.raises(DeviceError, match="not available"):
        x.cuda()
    with pytest.raises(DTypeError, match="invalid tensor type 'torch.HalfTensor'"):
        x.type("torch.HalfTensor")
    with pytest.raises(TypeError, match="must be Tensor, not list"):
        x.type_as([1])
    with pytest.raises(TypeError, match="unexpected keyword argument 'dtpye'"):
        x.to(dtpye=eager.float64)


def test_numpy_refuses_a_tensor_that_requires_grad_with_pytorchs_message():
    x = eager.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError) as caught:
        x.numpy()
    assert str(caught.value) == ("Can't call numpy() on Tensor that requires grad. Use "
                                 "tensor.detach().numpy() instead.")
    assert np.shares_memory(x.detach().numpy(), x.data.numpy())


def test_sizes_and_layout():
    x = eager.zeros(2, 3, dtype=eager.float64)
    assert x.size() == (2, 3) and x.size(1) == 3 and x.size(-2) == 2 and x.dim() == 2
    assert x.numel() == x.nelement() == 6 and x.element_size() == 8
    assert eager.zeros(1, dtype=eager.int32).element_size() == 4
    assert x.is_contiguous() and not x.t().is_contiguous()
    assert x.t().contiguous().is_contiguous() and x.contiguous() is x
    with pytest.raises(IndexError, match=r"expected to be in range of \[-2, 1\], but got 2"):
        x.size(2)
    with pytest.raises(IndexError, match="tensor has no dimensions"):
        eager.tensor(1.0).size(0)


def test_new_tensors_take_this_tensors_dtype_unless_told():
    x = eager.zeros(1, dtype=eager.float64)
    assert x.new_zeros(2, 3).dtype == eager.float64 and x.new_zeros((2, 3)).shape == (2, 3)
    assert x.new_ones([2]).tolist() == [1.0, 1.0] and x.new_ones(2).dtype == eager.float64
    assert x.new_full((2,), 7).tolist() == [7.0, 7.0] and x.new_empty(0, 4).shape == (0, 4)
    made = x.new_tensor([1, 2])
    assert made.dtype == eager.float64 and made.tolist() == [1.0, 2.0]
    assert x.new_zeros(2, dtype=eager.int64).dtype == eager.int64
    grad_ready = x.new_ones(3, requires_grad=True)
    assert grad_ready.requires_grad and grad_ready.is_leaf
    source = eager.tensor([1.0, 2.0])
    copied = x.new_tensor(source)
    assert not np.shares_memory(copied.numpy(), source.numpy())


def test_new_tensors_refuse_bad_sizes_and_values():
    x = eager.tensor([1, 2])
    with pytest.raises(ShapeError, match="invalid dimension -1"):
        x.new_zeros(2, -1)
    with pytest.raises(OverflowError):
        x.new_full((2,), 2**70)
    with pytest.raises(RuntimeError, match="only floating point tensors can require"):
        x.new_ones(2, requires_grad=True)
    with pytest.raises(DeviceError):
        x.new_zeros(2, device="cuda")


def test_random_fills_refuse_bad_arguments_before_writing():
    values = eager.tensor([1.0, 2.0])
    with pytest.raises(ArgumentError, match="std >= 0.0"):
        values.normal_(0.0, -1.0)
    with pytest.raises(ArgumentError, match="from=2.0 > to=1.0"):
        values.uniform_(2.0, 1.0)
    with pytest.raises(ArgumentError, match="must be finite"):
        values.uniform_(0.0, float("inf"))
    with pytest.raises(DTypeError, match="floating point"):
        eager.tensor([1, 2]).normal_()
    with pytest.raises(TypeError, match="unexpected keyword argument 'high'"):
        values.uniform_(high=2.0)
    assert values.tolist() == [1.0, 2.0]
    leaf = eager.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        leaf.uniform_()
    with eager.no_grad():
        leaf.uniform_(5.0, 5.0)
    assert leaf.tolist() == [5.0, 5.0] and leaf.requires_grad


def test_fill_refuses_a_value_tensor_with_dimensions():
    x = eager.zeros(3)
    with pytest.raises(ShapeError, match="0-dimension value tensor but got tensor with 1"):
        x.fill_(eager.tensor([1.0]))
    with pytest.raises(TypeError, match="must be a number, not str"):
        x.fill_("1")
    assert x.fill_(eager.tensor(2.0)).tolist() == [2.0, 2.0, 2.0]


def test_requires_grad_flag_changes_as_in_pytorch():
    x = eager.tensor([1.0, 2.0])
    assert x.requires_grad_() is x and x.requires_grad
    y = x * 2
    assert y.requires_grad_() is y  # a non-leaf already requires grad: allowed
    with pytest.raises(RuntimeError, match="leaf variables.*var.detach"):
        y.requires_grad_(False)
    assert y.requires_grad
    with pytest.raises(RuntimeError, match="only floating point tensors can require"):
        eager.tensor([1, 2]).requires_grad_()
    z = y.detach_()
    assert z is y and not y.requires_grad and y.is_leaf
