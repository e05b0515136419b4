"""eager.nn recurrent layers (RNN, LSTM, GRU and GRUCell): PyTorch's shapes, parameter names and
init, values against a NumPy transcription of PyTorch's equations, gradients against finite
differences, errors, and a small training run."""

from __future__ import annotations

import math

import numpy as np
import pytest

import eager
from eager import nn
from framework import init as framework_init
from framework.errors import ShapeError
from tests.eager.test_nn import as_float64, check_gradients, leaf, projection

LAYERS = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}


# -- a NumPy transcription of PyTorch's equations -------------------------------------------------


def sigmoid_np(x):
    return 1 / (1 + np.exp(-x))


def step_np(kind, x, h, c, w_ih, w_hh, b_ih, b_hh, nonlinearity="tanh"):
    """One time step for a (N, input) x and (N, hidden) states; returns (h', c')."""
    projected, recurrent = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    if kind == "RNN":
        pre = projected + recurrent
        return (np.tanh(pre) if nonlinearity == "tanh" else np.maximum(pre, 0)), c
    if kind == "LSTM":
        i, f, g, o = np.split(projected + recurrent, 4, axis=1)
        c = sigmoid_np(f) * c + sigmoid_np(i) * np.tanh(g)
        return sigmoid_np(o) * np.tanh(c), c
    x_r, x_z, x_n = np.split(projected, 3, axis=1)
    h_r, h_z, h_n = np.split(recurrent, 3, axis=1)
    r, z = sigmoid_np(x_r + h_r), sigmoid_np(x_z + h_z)
    n = np.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h, c


def recurrent_np(kind, weights, x, h0=None, c0=None, *, num_layers, bidirectional,
                 batch_first, nonlinearity="tanh"):
    """PyTorch's multi-layer recurrence over a whole input; returns (output, h_n, c_n)."""
    batched = x.ndim == 3
    x = (x.transpose(1, 0, 2) if batch_first else x) if batched else x[:, None]
    steps, batch = x.shape[:2]
    directions = 2 if bidirectional else 1
    hidden = weights["weight_hh_l0"].shape[1]
    states = [np.zeros((num_layers * directions, batch, hidden)) if s is None
              else (s if batched else s[:, None]) for s in (h0, c0)]
    layer_input, h_n, c_n = x, [], []
    for layer in range(num_layers):
        outputs = []
        for direction in range(directions):
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            w_ih, w_hh = weights["weight_ih" + suffix], weights["weight_hh" + suffix]
            b_ih = weights.get("bias_ih" + suffix, np.zeros(w_ih.shape[0]))
            b_hh = weights.get("bias_hh" + suffix, np.zeros(w_ih.shape[0]))
            index = layer * directions + direction
            h, c = states[0][index], states[1][index]
            sequence = np.empty((steps, batch, hidden))
            for t in (range(steps) if direction == 0 else reversed(range(steps))):
                h, c = step_np(kind, layer_input[t], h, c, w_ih, w_hh, b_ih, b_hh, nonlinearity)
                sequence[t] = h
            outputs.append(sequence)
            h_n.append(h)
            c_n.append(c)
        layer_input = np.concatenate(outputs, axis=-1)
    output, h_n, c_n = layer_input, np.stack(h_n), np.stack(c_n)
    if not batched:
        return output[:, 0], h_n[:, 0], c_n[:, 0]
    return (output.transpose(1, 0, 2) if batch_first else output), h_n, c_n


def numpy_weights(layer):
    return {name: value.numpy() for name, value in layer.state_dict().items()}


def final_states(kind, states):
    """(h_n, c_n) from a layer's second result (c_n is None for RNN and GRU)."""
    return states if kind == "LSTM" else (states, None)


def call(layer, kind, x, h0=None, c0=None):
    if kind == "LSTM":
        return layer(x, None if h0 is None else (h0, c0))
    return layer(x, h0)


# -- shapes, names, init --------------------------------------------------------------------------


@pytest.mark.parametrize("batched", [True, False], ids=["batched", "unbatched"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["one-way", "bidirectional"])
@pytest.mark.parametrize("batch_first", [False, True], ids=["time-first", "batch-first"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("kind", LAYERS)
def test_output_and_state_shapes(kind, num_layers, batch_first, bidirectional, batched):
    layer = LAYERS[kind](3, 4, num_layers=num_layers, batch_first=batch_first,
                         bidirectional=bidirectional)
    steps, batch, directions = 5, 2, 2 if bidirectional else 1
    if batched:
        x = eager.randn(batch, steps, 3) if batch_first else eager.randn(steps, batch, 3)
        expected_output = ((batch, steps, directions * 4) if batch_first
                           else (steps, batch, directions * 4))
        state_shape = (num_layers * directions, batch, 4)
    else:
        x = eager.randn(steps, 3)
        expected_output, state_shape = (steps, directions * 4), (num_layers * directions, 4)
    for h0 in (None, eager.randn(*state_shape)):
        output, states = call(layer, kind, x, h0, None if h0 is None else eager.randn(*state_shape))
        h_n, c_n = final_states(kind, states)
        assert output.shape == expected_output
        assert h_n.shape == state_shape
        if kind == "LSTM":
            assert c_n.shape == state_shape
        assert output.dtype == h_n.dtype == eager.float32


def test_state_dict_names_and_shapes_are_pytorch_s():
    lstm = nn.LSTM(3, 5, num_layers=2, bidirectional=True)
    assert [(name, value.shape) for name, value in lstm.state_dict().items()] == [
        ("weight_ih_l0", (20, 3)), ("weight_hh_l0", (20, 5)), ("bias_ih_l0", (20,)),
        ("bias_hh_l0", (20,)), ("weight_ih_l0_reverse", (20, 3)),
        ("weight_hh_l0_reverse", (20, 5)), ("bias_ih_l0_reverse", (20,)),
        ("bias_hh_l0_reverse", (20,)), ("weight_ih_l1", (20, 10)), ("weight_hh_l1", (20, 5)),
        ("bias_ih_l1", (20,)), ("bias_hh_l1", (20,)), ("weight_ih_l1_reverse", (20, 10)),
        ("weight_hh_l1_reverse", (20, 5)), ("bias_ih_l1_reverse", (20,)),
        ("bias_hh_l1_reverse", (20,))]
    gru = nn.GRU(3, 5, num_layers=2, bias=False)
    assert [(name, value.shape) for name, value in gru.state_dict().items()] == [
        ("weight_ih_l0", (15, 3)), ("weight_hh_l0", (15, 5)), ("weight_ih_l1", (15, 5)),
        ("weight_hh_l1", (15, 5))]
    rnn = nn.RNN(3, 5, bidirectional=True, nonlinearity="relu")
    assert [(name, value.shape) for name, value in rnn.named_parameters()] == [
        ("weight_ih_l0", (5, 3)), ("weight_hh_l0", (5, 5)), ("bias_ih_l0", (5,)),
        ("bias_hh_l0", (5,)), ("weight_ih_l0_reverse", (5, 3)), ("weight_hh_l0_reverse", (5, 5)),
        ("bias_ih_l0_reverse", (5,)), ("bias_hh_l0_reverse", (5,))]
    assert [[p.shape for p in weights] for weights in gru.all_weights] == [
        [(15, 3), (15, 5)], [(15, 5), (15, 5)]]
    # A state dict saved from one layer loads into another of the same configuration.
    copy = nn.LSTM(3, 5, num_layers=2, bidirectional=True)
    copy.load_state_dict(lstm.state_dict())
    assert all(np.array_equal(a._array, b._array)
               for a, b in zip(copy.parameters(), lstm.parameters()))


@pytest.mark.parametrize("kind", LAYERS)
def test_init_is_pytorch_s_uniform_drawn_from_the_seeded_generator(kind):
    eager.manual_seed(5)
    layer = LAYERS[kind](3, 16, num_layers=2, bidirectional=True)
    bound = 1 / math.sqrt(16)
    eager.manual_seed(5)
    for name, param in layer.named_parameters():
        expected = framework_init.uniform(param.shape, -bound, bound, dtype=np.float32)
        np.testing.assert_array_equal(param._array, expected, err_msg=name)
    assert all(p.requires_grad for p in layer.parameters())
    layer.reset_parameters()
    assert all(np.abs(p._array).max() <= bound for p in layer.parameters())
    assert nn.LSTM(3, 4, dtype=eager.float64).weight_hh_l0.dtype == eager.float64


def test_repr_shows_the_options_that_differ_from_the_defaults():
    assert repr(nn.LSTM(10, 20)) == "LSTM(10, 20)"
    assert repr(nn.GRU(10, 20, num_layers=2, bias=False, batch_first=True, dropout=0.5,
                       bidirectional=True)) == ("GRU(10, 20, num_layers=2, bias=False, "
                                                "batch_first=True, dropout=0.5, "
                                                "bidirectional=True)")
    assert repr(nn.RNN(1, 2, nonlinearity="relu")) == "RNN(1, 2, nonlinearity=relu)"


# -- values ---------------------------------------------------------------------------------------


CONFIGURATIONS = [("RNN", "tanh"), ("RNN", "relu"), ("LSTM", "tanh"), ("GRU", "tanh")]


@pytest.mark.parametrize("batch_first", [False, True], ids=["time-first", "batch-first"])
@pytest.mark.parametrize("kind, nonlinearity", CONFIGURATIONS,
                         ids=["rnn-tanh", "rnn-relu", "lstm", "gru"])
def test_values_match_a_numpy_transcription_of_pytorch_s_equations(kind, nonlinearity,
                                                                   batch_first):
    options = {"nonlinearity": nonlinearity} if kind == "RNN" else {}
    layer = LAYERS[kind](3, 4, num_layers=2, batch_first=batch_first, bidirectional=True,
                         **options).double()
    weights = numpy_weights(layer)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 5, 3) if batch_first else (5, 2, 3))
    h0, c0 = rng.normal(size=(4, 2, 4)), rng.normal(size=(4, 2, 4))
    config = {"num_layers": 2, "bidirectional": True, "batch_first": batch_first,
              "nonlinearity": nonlinearity}

    output, states = call(layer, kind, as_float64(x), as_float64(h0), as_float64(c0))
    h_n, c_n = final_states(kind, states)
    expected_output, expected_h, expected_c = recurrent_np(kind, weights, x, h0, c0, **config)
    np.testing.assert_allclose(output.detach().numpy(), expected_output, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h_n.detach().numpy(), expected_h, rtol=1e-12, atol=1e-14)
    if kind == "LSTM":
        np.testing.assert_allclose(c_n.detach().numpy(), expected_c, rtol=1e-12, atol=1e-14)

    # No initial state means zeros.
    output, states = call(layer, kind, as_float64(x))
    expected_output, expected_h, _ = recurrent_np(kind, weights, x, **config)
    np.testing.assert_allclose(output.detach().numpy(), expected_output, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(final_states(kind, states)[0].detach().numpy(), expected_h,
                               rtol=1e-12, atol=1e-14)

    # An unbatched (L, input_size) sequence is the batch of one, without the batch axis.
    single = x[0] if batch_first else x[:, 0]
    output, states = call(layer, kind, as_float64(single), as_float64(h0[:, 0]),
                          as_float64(c0[:, 0]))
    expected_output, expected_h, _ = recurrent_np(kind, weights, single, h0[:, 0], c0[:, 0],
                                                  **config)
    assert output.shape == expected_output.shape == (5, 8)
    np.testing.assert_allclose(output.detach().numpy(), expected_output, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(final_states(kind, states)[0].detach().numpy(), expected_h,
                               rtol=1e-12, atol=1e-14)


def test_a_layer_without_bias_and_a_sequence_of_one_step():
    layer = nn.GRU(3, 2, bias=False).double()
    x = np.random.default_rng(2).normal(size=(1, 4, 3))
    output, h_n = layer(as_float64(x))
    expected_output, expected_h, _ = recurrent_np("GRU", numpy_weights(layer), x, num_layers=1,
                                                  bidirectional=False, batch_first=False)
    np.testing.assert_allclose(output.detach().numpy(), expected_output, rtol=1e-12)
    np.testing.assert_allclose(h_n.detach().numpy(), expected_h, rtol=1e-12)


def test_gru_cell_matches_numpy_and_the_gru_layer():
    cell = nn.GRUCell(3, 4).double()
    assert [(n, p.shape) for n, p in cell.named_parameters()] == [
        ("weight_ih", (12, 3)), ("weight_hh", (12, 4)), ("bias_ih", (12,)), ("bias_hh", (12,))]
    rng = np.random.default_rng(3)
    x, h = rng.normal(size=(2, 3)), rng.normal(size=(2, 4))
    weights = [p._array for p in cell.parameters()]
    expected, _ = step_np("GRU", x, h, None, *weights)
    np.testing.assert_allclose(cell(as_float64(x), as_float64(h)).detach().numpy(), expected,
                               rtol=1e-12)
    np.testing.assert_allclose(cell(as_float64(x[0]), as_float64(h[0])).detach().numpy(),
                               expected[0], rtol=1e-12)
    # The same weights in a one-layer GRU give the same step.
    layer = nn.GRU(3, 4).double()
    layer.load_state_dict({name + "_l0": value for name, value in cell.state_dict().items()})
    output, _ = layer(as_float64(x[None]), as_float64(h[None]))
    np.testing.assert_allclose(output.detach().numpy()[0], expected, rtol=1e-12)
    assert repr(nn.GRUCell(3, 4, bias=False)) == "GRUCell(3, 4, bias=False)"

    xs, hs = leaf(x), leaf(h)
    weight = projection((2, 4), 4)
    check_gradients(lambda: (cell(xs, hs) * weight).sum(),
                    [xs, hs, cell.weight_ih, cell.weight_hh, cell.bias_hh])


# -- gradients ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, batch_first", [("RNN", False), ("LSTM", True), ("GRU", False)])
def test_gradients_match_finite_differences(kind, batch_first):
    layer = LAYERS[kind](3, 2, num_layers=2, batch_first=batch_first,
                         bidirectional=True).double()
    rng = np.random.default_rng(4)
    x = leaf(rng.normal(size=(2, 3, 3) if batch_first else (3, 2, 3)))  # 2 sequences of 3
    h0, c0 = leaf(rng.normal(size=(4, 2, 2))), leaf(rng.normal(size=(4, 2, 2)))
    output_weight, state_weight = projection((2, 3, 4) if batch_first else (3, 2, 4), 5), \
        projection((4, 2, 2), 6)

    def loss():
        output, states = call(layer, kind, x, h0, c0)
        h_n, c_n = final_states(kind, states)
        total = (output * output_weight).sum() + (h_n * state_weight).sum()
        return total + (c_n * state_weight).sum() if kind == "LSTM" else total

    wrt = [x, h0, layer.weight_ih_l0, layer.weight_hh_l0_reverse, layer.bias_hh_l0,
           layer.weight_ih_l1_reverse, layer.bias_ih_l1]
    check_gradients(loss, wrt + [c0] if kind == "LSTM" else wrt)


# -- dropout and training -------------------------------------------------------------------------


def test_dropout_applies_between_layers_in_training_mode_only():
    x = eager.randn(6, 3, 4)
    eager.manual_seed(0)
    layer = nn.LSTM(4, 8, num_layers=2, dropout=0.5)
    eager.manual_seed(0)
    plain = nn.LSTM(4, 8, num_layers=2)
    layer.eval()
    np.testing.assert_array_equal(layer(x)[0].detach().numpy(), plain(x)[0].detach().numpy())
    layer.train()
    eager.manual_seed(1)
    first = layer(x)[0].detach().numpy()
    assert not np.allclose(first, plain(x)[0].detach().numpy())
    eager.manual_seed(1)
    np.testing.assert_array_equal(layer(x)[0].detach().numpy(), first)  # the masks follow the seed

    # After the last layer there is no dropout: a one-layer network is unaffected (and warns).
    eager.manual_seed(0)
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        single = nn.GRU(4, 8, dropout=0.5)
    eager.manual_seed(0)
    reference = nn.GRU(4, 8)
    np.testing.assert_array_equal(single(x)[0].detach().numpy(), reference(x)[0].detach().numpy())


@pytest.mark.parametrize("kind", LAYERS)
def test_a_recurrent_layer_learns_to_sum_a_sequence(kind):
    eager.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (32, 6, 1)).astype(np.float32)
    inputs, targets = eager.tensor(x), eager.tensor(x.sum(1) / 2)
    recurrent, head = LAYERS[kind](1, 8, batch_first=True), nn.Linear(8, 1)
    params = list(recurrent.parameters()) + list(head.parameters())
    loss_fn = nn.MSELoss()
    losses = []
    for _ in range(200):
        for param in params:
            param.grad = None
        _, states = recurrent(inputs)
        h_n, _ = final_states(kind, states)
        loss = loss_fn(head(h_n[-1]), targets)
        loss.backward()
        with eager.no_grad():
            for param in params:
                param -= 0.1 * param.grad
        losses.append(loss.item())
    # Predicting the mean (zero) costs Var(sum) / 4 = 0.5: the layer has to carry the sum.
    assert losses[-1] < 0.1 and losses[-1] < losses[0] / 5


# -- errors ---------------------------------------------------------------------------------------


def test_wrong_input_rank_size_and_dtype_are_refused_naming_the_line():
    layer = nn.LSTM(3, 4)
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D, got 4D") as caught:
        layer(eager.ones(2, 2, 2, 3))
    assert isinstance(caught.value, ShapeError) and caught.value.site.filename == __file__
    with pytest.raises(RuntimeError, match=r"input.size\(-1\) must be equal to input_size. "
                                           r"Expected 3, got 4") as caught:
        layer(eager.ones(5, 2, 4))
    assert isinstance(caught.value, ShapeError)
    assert caught.value.site.filename == __file__ and caught.value.site.name == \
        "test_wrong_input_rank_size_and_dtype_are_refused_naming_the_line"
    with pytest.raises(ValueError, match="input must have the type float32, got type float64"):
        layer(eager.ones(5, 2, 3, dtype=eager.float64))
    with pytest.raises(RuntimeError, match="sequence length to be larger than 0"):
        nn.GRU(3, 4, batch_first=True)(eager.ones(2, 0, 3))


def test_wrong_initial_states_are_refused():
    rnn = nn.RNN(3, 20, num_layers=2)
    x = eager.ones(5, 3, 3)
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(2, 3, 20\), got \[1, 3, 20\]"):
        rnn(x, eager.zeros(1, 3, 20))
    with pytest.raises(RuntimeError, match="For batched 3-D input, hx should also be 3-D but "
                                           "got 2-D tensor"):
        rnn(x, eager.zeros(3, 20))
    with pytest.raises(RuntimeError, match="For unbatched 2-D input, hx should also be 2-D"):
        rnn(eager.ones(5, 3), eager.zeros(2, 1, 20))
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(2, 20\), got \[2, 21\]"):
        rnn(eager.ones(5, 3), eager.zeros(2, 21))
    with pytest.raises(ValueError, match="hx must have the type float32, got type float64"):
        rnn(x, eager.zeros(2, 3, 20, dtype=eager.float64))
    with pytest.raises(ValueError, match="hx must be one tensor"):
        rnn(x, (eager.zeros(2, 3, 20), eager.zeros(2, 3, 20)))

    lstm = nn.LSTM(3, 20, num_layers=2, bidirectional=True)
    h0 = eager.zeros(4, 3, 20)
    with pytest.raises(RuntimeError, match=r"Expected hidden\[1\] size \(4, 3, 20\), got "
                                           r"\[4, 2, 20\]") as caught:
        lstm(x, (h0, eager.zeros(4, 2, 20)))
    assert caught.value.site.filename == __file__
    with pytest.raises(ValueError, match=r"hx must be a pair \(h_0, c_0\)"):
        lstm(x, h0)


def test_bad_constructor_arguments_are_refused():
    with pytest.raises(ValueError, match="unknown nonlinearity 'gelu'"):
        nn.RNN(3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match=r"dropout should be a number in range \[0, 1\]"):
        nn.GRU(3, 4, num_layers=2, dropout=1.5)
    with pytest.raises(ValueError, match="hidden_size must be an int >= 1"):
        nn.LSTM(3, 0)
    with pytest.raises(ValueError, match="num_layers must be an int >= 1"):
        nn.LSTM(3, 4, num_layers=0)
    with pytest.raises(NotImplementedError, match="proj_size=2") as caught:
        nn.LSTM(3, 4, proj_size=2)
    assert caught.value.site.filename == __file__
    with pytest.raises(ValueError, match="proj_size should be a positive integer or zero"):
        nn.LSTM(3, 4, proj_size=-1)


# -- optional comparison with PyTorch -------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("kind", LAYERS)
def test_layers_match_pytorch_given_pytorch_s_weights(kind):
    torch = pytest.importorskip("torch")
    reference = getattr(torch.nn, kind)(3, 4, num_layers=2, batch_first=True,
                                        bidirectional=True).double()
    layer = LAYERS[kind](3, 4, num_layers=2, batch_first=True, bidirectional=True).double()
    layer.load_state_dict({name: value.detach().numpy().copy()
                           for name, value in reference.state_dict().items()})
    rng = np.random.default_rng(9)
    x, h0, c0 = rng.normal(size=(2, 5, 3)), rng.normal(size=(4, 2, 4)), rng.normal(size=(4, 2, 4))
    ours_x = leaf(x)
    theirs_x = torch.tensor(x, requires_grad=True)
    output, states = call(layer, kind, ours_x, as_float64(h0), as_float64(c0))
    theirs_states = (torch.from_numpy(h0), torch.from_numpy(c0)) if kind == "LSTM" \
        else torch.from_numpy(h0)
    expected_output, expected_states = reference(theirs_x, theirs_states)
    np.testing.assert_allclose(output.detach().numpy(), expected_output.detach().numpy(),
                               rtol=1e-10, atol=1e-12)
    h_n, _ = final_states(kind, states)
    expected_h, _ = final_states(kind, expected_states)
    np.testing.assert_allclose(h_n.detach().numpy(), expected_h.detach().numpy(), rtol=1e-10,
                               atol=1e-12)

    weight = rng.normal(size=output.shape)
    (output * as_float64(weight)).sum().backward()
    (expected_output * torch.from_numpy(weight)).sum().backward()
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), rtol=1e-10,
                               atol=1e-12)
    theirs = dict(reference.named_parameters())
    for name, param in layer.named_parameters():
        np.testing.assert_allclose(param.grad.numpy(), theirs[name].grad.numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=name)
