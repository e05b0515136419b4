"""eager's save / load: state dicts of Tensors through the shared checkpoint format."""

from __future__ import annotations

import numpy as np
import pytest

import eager
from eager import optim
from eager.serialization import CheckpointError, load, save
from eager.tensor import Tensor
from framework.checkpoint import load_state


def test_model_state_round_trip(tmp_path):
    weight = eager.randn(4, 3, requires_grad=True)
    state = {"fc.weight": weight, "fc.bias": eager.zeros(4), "steps": eager.tensor(12),
             "config": {"hidden": 4, "activation": "relu", "dropout": 0.1}}
    path = tmp_path / "model.npz"
    save(state, path)
    loaded = load(path)
    assert isinstance(loaded["fc.weight"], Tensor) and not loaded["fc.weight"].requires_grad
    np.testing.assert_array_equal(loaded["fc.weight"].numpy(), weight.detach().numpy())
    assert loaded["fc.weight"].dtype == np.float32 and loaded["steps"].dtype == np.int64
    assert loaded["config"] == {"hidden": 4, "activation": "relu", "dropout": 0.1}
    # The loaded tensors own their memory.
    loaded["fc.bias"]._array[0] = 5.0
    assert state["fc.bias"].tolist()[0] == 0.0


def test_optimizer_state_dict_round_trip(tmp_path):
    w = eager.tensor([1.0, -2.0], requires_grad=True)
    opt = optim.Adam([w], lr=0.1, amsgrad=True)
    (w * w).sum().backward()
    opt.step()
    path = tmp_path / "opt.npz"
    save(opt.state_dict(), path)
    loaded = load(path)
    assert list(loaded["state"]) == [0]  # int keys stay ints
    assert loaded["param_groups"][0]["betas"] == (0.9, 0.999)  # tuples stay tuples
    assert isinstance(loaded["state"][0]["exp_avg"], Tensor)
    assert loaded["state"][0]["step"].item() == 1.0


def test_the_file_is_the_framework_checkpoint(tmp_path):
    save({"w": eager.ones(2)}, tmp_path / "a.npz")
    raw = load_state(tmp_path / "a.npz")
    assert isinstance(raw["w"], np.ndarray) and raw["w"].tolist() == [1.0, 1.0]


def test_errors(tmp_path):
    with pytest.raises(TypeError, match="got a Tensor; save \\{'tensor': t\\}"):
        save(eager.ones(2), tmp_path / "x.npz")
    with pytest.raises(TypeError, match="expects a dict"):
        save([eager.ones(2)], tmp_path / "x.npz")
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(CheckpointError, match="broken.npz.*truncated or not a checkpoint"):
        load(tmp_path / "broken.npz")
    save({"w": eager.ones(1)}, tmp_path / "ok.npz")
    assert load(tmp_path / "ok.npz", map_location="cpu")["w"].tolist() == [1.0]
    with pytest.raises(ValueError, match="only be loaded on 'cpu'"):
        load(tmp_path / "ok.npz", map_location="cuda:0")
