"""Recurrent layers with PyTorch's parameter layout: the cells RNNCell, LSTMCell and GRUCell
(one time step each) and the sequence layers RNN, LSTM and GRU (a whole sequence, any number of
layers, one or two directions).

Every weight_ih is (G * hidden, input), weight_hh (G * hidden, hidden), bias_ih and bias_hh
(G * hidden): G = 1 for RNN, 3 for GRU (gate rows r, z, n) and 4 for LSTM (i, f, g, o). All are
initialized U(-1 / sqrt(hidden), 1 / sqrt(hidden)) in registration order, as PyTorch does, so a
state dict moves between the two unchanged.

One step of each kind is a function of the step's projected input `x @ W_ih.T + b_ih`: a cell
projects its one input, a sequence layer projects every time step of a layer with one GEMM
before its loop and then runs the same step function.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from eager.nn import functional, init
from eager.nn.layers import _empty_parameter, _float_dtype, _size
from eager.nn.module import Module
from eager.tensor import Tensor, placed
from framework.errors import ArgumentError, DualgraphError, ShapeError
from framework.ops import F


class RecurrentShapeError(ShapeError, RuntimeError):
    """A sequence or state of the wrong size. A `ShapeError`, and a `RuntimeError` as the one
    PyTorch raises for the same mistake."""


class RecurrentNotSupportedError(DualgraphError, NotImplementedError):
    """A PyTorch option the recurrent layers do not implement (yet)."""


# -- one time step ------------------------------------------------------------------------------
#
# `projected` is the step's input already multiplied by W_ih (plus b_ih); the hidden-to-hidden
# product runs here because it needs the previous step's state.


def _rnn_step(projected, hidden, weight_hh, bias_hh, nonlinearity: str):
    pre_activation = projected + functional.linear(hidden, weight_hh, bias_hh)
    return pre_activation.tanh() if nonlinearity == "tanh" else pre_activation.relu()


def _lstm_step(projected, hidden, cell, weight_hh, bias_hh):
    gates = projected + functional.linear(hidden, weight_hh, bias_hh)
    in_gate, forget_gate, cell_gate, out_gate = gates.chunk(4, 1)
    cell = forget_gate.sigmoid() * cell + in_gate.sigmoid() * cell_gate.tanh()
    return out_gate.sigmoid() * cell.tanh(), cell


def _gru_step(projected, hidden, weight_hh, bias_hh):
    input_reset, input_update, input_new = projected.chunk(3, 1)
    hidden_reset, hidden_update, hidden_new = (
        functional.linear(hidden, weight_hh, bias_hh).chunk(3, 1))
    reset = (input_reset + hidden_reset).sigmoid()
    update = (input_update + hidden_update).sigmoid()
    new = (input_new + reset * hidden_new).tanh()
    return new + update * (hidden - new)  # (1 - update) * new + update * hidden


def _initialize_uniformly(module: Module, hidden_size: int) -> None:
    bound = 1.0 / math.sqrt(hidden_size)
    for weight in module.parameters():
        init.uniform_(weight, -bound, bound)


def _as_tensor(value) -> Tensor:
    return value if isinstance(value, Tensor) else Tensor(np.asarray(value))


# -- cells --------------------------------------------------------------------------------------


class _CellBase(Module):
    gates = 1  # blocks of hidden_size rows in each weight
    nonlinearity = "tanh"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, dtype=None):
        super().__init__()
        dtype = _float_dtype(dtype)
        name = type(self).__name__
        self.input_size = _size(name, "input_size", input_size)
        self.hidden_size = _size(name, "hidden_size", hidden_size)
        self.bias = bias
        rows = self.gates * hidden_size
        self.weight_ih = _empty_parameter((rows, input_size), dtype)
        self.weight_hh = _empty_parameter((rows, hidden_size), dtype)
        if bias:
            self.bias_ih = _empty_parameter((rows,), dtype)
            self.bias_hh = _empty_parameter((rows,), dtype)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _initialize_uniformly(self, self.hidden_size)

    def _batched_input(self, input):
        """The input as (N, input_size), and whether it came unbatched as (input_size,)."""
        name = type(self).__name__
        if input.ndim not in (1, 2):
            raise ShapeError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D input "
                             f"of shape {input.shape}")
        if input.shape[-1] != self.input_size:
            raise ShapeError(f"{name}: input has {input.shape[-1]} features (shape "
                             f"{input.shape}), expected input_size={self.input_size}")
        unbatched = input.ndim == 1
        return (input.unsqueeze(0) if unbatched else input), unbatched

    def _batched_state(self, state, input, unbatched: bool, what: str):
        """A state as (N, hidden_size): zeros when None, else checked against the input."""
        if state is None:
            return placed(Tensor(np.zeros((input.shape[0], self.hidden_size),
                                          self.weight_ih.dtype)), self.weight_ih.device)
        expected = (self.hidden_size,) if unbatched else (input.shape[0], self.hidden_size)
        if state.shape != expected:
            raise ShapeError(f"{type(self).__name__}: {what} must have shape {expected} for an "
                             f"input of shape {input.shape[1:] if unbatched else input.shape}, "
                             f"got {state.shape}")
        return state.unsqueeze(0) if unbatched else state

    def _projected(self, input):
        return functional.linear(input, self.weight_ih, self.bias_ih)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            text += ", bias=False"
        if self.nonlinearity != "tanh":
            text += f", nonlinearity={self.nonlinearity}"
        return text


def _check_nonlinearity(layer: str, nonlinearity) -> None:
    if nonlinearity not in ("tanh", "relu"):
        raise ArgumentError(f"{layer}: unknown nonlinearity {nonlinearity!r}; expected "
                            "'tanh' or 'relu'")


class RNNCell(_CellBase):
    """h' = tanh(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh) (or relu, with nonlinearity="relu").

    `hx` defaults to zeros; an unbatched (input_size,) input gives an unbatched state.

    >>> import eager
    >>> cell = RNNCell(3, 5)
    >>> h = cell(eager.ones(2, 3))
    >>> cell(eager.ones(2, 3), h).shape
    (2, 5)
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", dtype=None):
        _check_nonlinearity("RNNCell", nonlinearity)
        super().__init__(input_size, hidden_size, bias, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        input, unbatched = self._batched_input(input)
        hx = self._batched_state(hx, input, unbatched, "hx")
        hidden = _rnn_step(self._projected(input), hx, self.weight_hh, self.bias_hh,
                           self.nonlinearity)
        return hidden.squeeze(0) if unbatched else hidden


class LSTMCell(_CellBase):
    """One LSTM step: returns (h', c') from input x and state (h, c) (zeros by default).

        i, f, g, o = split(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh, 4 chunks)
        c' = sigmoid(f) * c + sigmoid(i) * tanh(g)      h' = sigmoid(o) * tanh(c')

    >>> import eager
    >>> cell = LSTMCell(3, 5)
    >>> h, c = cell(eager.ones(2, 3))
    >>> cell.weight_ih.shape, h.shape, c.shape
    ((20, 3), (2, 5), (2, 5))
    """

    gates = 4

    def forward(self, input, hx=None):
        if hx is None:
            hidden = cell = None
        elif isinstance(hx, (tuple, list)) and len(hx) == 2:
            hidden, cell = hx
        else:
            raise ArgumentError("LSTMCell: hx must be a pair (h, c) of tensors, or None")
        input, unbatched = self._batched_input(input)
        hidden = self._batched_state(hidden, input, unbatched, "h")
        cell = self._batched_state(cell, input, unbatched, "c")
        hidden, cell = _lstm_step(self._projected(input), hidden, cell, self.weight_hh,
                                  self.bias_hh)
        if unbatched:
            return hidden.squeeze(0), cell.squeeze(0)
        return hidden, cell


class GRUCell(_CellBase):
    """One GRU step: returns h' from input x and state h (zeros by default).

        r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)     z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r * (W_hn h + b_hn))  h' = (1 - z) * n + z * h

    The weights hold the r, z, n rows in that order, as PyTorch's do.

    >>> import eager
    >>> cell = GRUCell(3, 5)
    >>> cell.weight_hh.shape, cell(eager.ones(2, 3)).shape
    ((15, 5), (2, 5))
    """

    gates = 3

    def forward(self, input, hx=None):
        input, unbatched = self._batched_input(input)
        hx = self._batched_state(hx, input, unbatched, "hx")
        hidden = _gru_step(self._projected(input), hx, self.weight_hh, self.bias_hh)
        return hidden.squeeze(0) if unbatched else hidden


# -- sequence layers ----------------------------------------------------------------------------


class _RecurrentBase(Module):
    """The shared part of RNN, LSTM and GRU: parameters, argument and shape checks, and the loop
    over layers, directions and time steps. A subclass says how many gate blocks it has, how to
    read `hx`, and what one step is."""

    gates = 1
    has_cell_state = False

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 dtype=None):
        super().__init__()
        name = type(self).__name__
        dtype = _float_dtype(dtype)
        if (isinstance(dropout, bool) or not isinstance(dropout, numbers.Real)
                or not 0 <= dropout <= 1):
            raise ArgumentError(f"{name}: dropout should be a number in range [0, 1] "
                                "representing the probability of an element being zeroed, "
                                f"got {dropout!r}")
        self.input_size = _size(name, "input_size", input_size)
        self.hidden_size = _size(name, "hidden_size", hidden_size)
        self.num_layers = _size(name, "num_layers", num_layers)
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", UserWarning,
                          stacklevel=3)
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        directions = 2 if bidirectional else 1
        rows = self.gates * hidden_size
        # Names per (layer, direction), in PyTorch's order: the state dicts line up.
        self._all_weights = []
        for layer in range(num_layers):
            layer_input_size = input_size if layer == 0 else hidden_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                names = [f"weight_ih{suffix}", f"weight_hh{suffix}"]
                setattr(self, names[0], _empty_parameter((rows, layer_input_size), dtype))
                setattr(self, names[1], _empty_parameter((rows, hidden_size), dtype))
                if self.bias:
                    names += [f"bias_ih{suffix}", f"bias_hh{suffix}"]
                    setattr(self, names[2], _empty_parameter((rows,), dtype))
                    setattr(self, names[3], _empty_parameter((rows,), dtype))
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _initialize_uniformly(self, self.hidden_size)

    @property
    def all_weights(self) -> list:
        """The parameters per layer and direction: [[weight_ih, weight_hh(, bias_ih, bias_hh)]]."""
        return [[self._parameters[name] for name in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """Kept for PyTorch code that calls it: PyTorch packs the weights for cuDNN here; these
        weights need no packing, so there is nothing to do."""

    # -- checks --------------------------------------------------------------------------------

    def _check_input(self, input) -> None:
        name = type(self).__name__
        if input.ndim not in (2, 3):
            raise ShapeError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D tensor "
                             f"instead (shape {input.shape})")
        dtype = self.weight_ih_l0.dtype
        if input.dtype != dtype:
            raise ArgumentError(f"{name}: input must have the type {dtype}, got type "
                                f"{input.dtype}")
        if input.shape[-1] != self.input_size:
            raise RecurrentShapeError(f"{name}: input.size(-1) must be equal to input_size. "
                                      f"Expected {self.input_size}, got {input.shape[-1]}")
        if input.shape[1 if self.batch_first and input.ndim == 3 else 0] == 0:
            raise RecurrentShapeError(f"{name}: Expected sequence length to be larger than 0, "
                                      f"got input of shape {input.shape}")

    def _check_state(self, state, what: str, batch: int | None):
        """`state` as a Tensor of shape (layers * directions, [batch,] hidden), `what` naming
        it in the message ('hidden', 'hidden[0]', ...)."""
        name = type(self).__name__
        state = _as_tensor(state)
        rank = 2 if batch is None else 3
        if state.ndim != rank:
            kind = "unbatched 2-D" if batch is None else "batched 3-D"
            raise RecurrentShapeError(f"{name}: For {kind} input, hx should also be {rank}-D "
                                      f"but got {state.ndim}-D tensor")
        leading = self.num_layers * (2 if self.bidirectional else 1)
        expected = ((leading, self.hidden_size) if batch is None
                    else (leading, batch, self.hidden_size))
        if state.shape != expected:
            raise RecurrentShapeError(f"{name}: Expected {what} size {expected}, got "
                                      f"{list(state.shape)}")
        dtype = self.weight_ih_l0.dtype
        if state.dtype != dtype:
            raise ArgumentError(f"{name}: hx must have the type {dtype}, got type {state.dtype}")
        return state

    def _states(self, hx, batch: int | None) -> list:
        """The checked initial states, as a list of per-state Tensors (one for RNN and GRU,
        h and c for LSTM)."""
        name = type(self).__name__
        if hx is None:
            return [None] * (2 if self.has_cell_state else 1)
        if not self.has_cell_state:
            if isinstance(hx, (tuple, list)):
                raise ArgumentError(f"{name}: hx must be one tensor (h_0), got a "
                                    f"{type(hx).__name__}")
            return [self._check_state(hx, "hidden", batch)]
        if not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise ArgumentError(f"{name}: hx must be a pair (h_0, c_0) of tensors, or None")
        return [self._check_state(state, f"hidden[{k}]", batch) for k, state in enumerate(hx)]

    # -- the loop ------------------------------------------------------------------------------

    def forward(self, input, hx=None):
        input = _as_tensor(input)
        self._check_input(input)
        batched = input.ndim == 3
        batch_axis, time_axis = (0, 1) if self.batch_first else (1, 0)
        batch = input.shape[batch_axis] if batched else None
        states = self._states(hx, batch)  # every check done: nothing below can refuse
        if not batched:
            input = input.unsqueeze(batch_axis)
            states = [s if s is None else s.unsqueeze(1) for s in states]
        batch = input.shape[batch_axis]
        directions = 2 if self.bidirectional else 1
        zeros = placed(Tensor(np.zeros((batch, self.hidden_size), self.weight_ih_l0.dtype)),
                       self.weight_ih_l0.device)  # on the parameters' device
        # Per (layer, direction): the state as one Tensor or (h, c), each (batch, hidden).
        per_layer = [s.split(1, 0) if s is not None else None for s in states]
        initial = [tuple(zeros if parts is None else parts[k].squeeze(0) for parts in per_layer)
                   for k in range(self.num_layers * directions)]

        layer_input, finals = input, []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                index = layer * directions + direction
                weights = [self._parameters[name] for name in self._all_weights[index]]
                weight_ih, weight_hh = weights[0], weights[1]
                bias_ih, bias_hh = (weights[2], weights[3]) if self.bias else (None, None)
                # Every time step's input projection in one GEMM, then one slice per step.
                projected = functional.linear(layer_input, weight_ih, bias_ih)
                steps = [part.squeeze(time_axis) for part in projected.split(1, time_axis)]
                if direction:
                    steps.reverse()
                state = initial[index]
                hiddens = []
                for step in steps:
                    state = self._step(step, state, weight_hh, bias_hh)
                    hiddens.append(state[0])
                if direction:
                    hiddens.reverse()
                outputs.append(F.stack(hiddens, time_axis))
                finals.append(state)
            layer_input = outputs[0] if directions == 1 else F.concat(outputs, 2)
            if self.training and self.dropout > 0 and layer < self.num_layers - 1:
                layer_input = functional.dropout(layer_input, self.dropout)

        output = layer_input if batched else layer_input.squeeze(batch_axis)
        final_states = []
        for k in range(len(finals[0])):
            stacked = F.stack([state[k] for state in finals], 0)
            final_states.append(stacked if batched else stacked.squeeze(1))
        if self.has_cell_state:
            return output, tuple(final_states)
        return output, final_states[0]

    def _step(self, projected, state: tuple, weight_hh, bias_hh) -> tuple:
        raise NotImplementedError

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        if self.dropout:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += ", bidirectional=True"
        return text


class RNN(_RecurrentBase):
    """A multi-layer Elman RNN: h_t = tanh(x_t @ W_ih.T + b_ih + h_(t-1) @ W_hh.T + b_hh) (or
    relu), x_t being the input for the first layer and the previous layer's output after that.

    `forward(input, h_0=None)` takes input (L, N, input_size) ((N, L, input_size) with
    batch_first, (L, input_size) unbatched) and h_0 (layers * directions, N, hidden) (zeros by
    default) and returns (output, h_n): output (L, N, directions * hidden), the last layer's
    states at every step, and h_n the final state of every layer and direction. Dropout
    (training mode only) applies to each layer's output except the last.

    >>> import eager
    >>> rnn = RNN(3, 5, num_layers=2, bidirectional=True)
    >>> output, h_n = rnn(eager.ones(7, 2, 3))
    >>> output.shape, h_n.shape
    ((7, 2, 10), (4, 2, 5))
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, dtype=None):
        _check_nonlinearity("RNN", nonlinearity)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype)
        self.nonlinearity = nonlinearity

    def _step(self, projected, state, weight_hh, bias_hh):
        return (_rnn_step(projected, state[0], weight_hh, bias_hh, self.nonlinearity),)

    def extra_repr(self) -> str:
        text = super().extra_repr()
        return text if self.nonlinearity == "tanh" else f"{text}, nonlinearity={self.nonlinearity}"


class LSTM(_RecurrentBase):
    """A multi-layer LSTM; each layer runs LSTMCell's step over the sequence.

    `forward(input, (h_0, c_0)=None)` returns (output, (h_n, c_n)), shaped as RNN's output and
    h_n. PyTorch's proj_size (an LSTM with projections) is not implemented.

    >>> import eager
    >>> lstm = LSTM(3, 5, batch_first=True)
    >>> output, (h_n, c_n) = lstm(eager.ones(2, 7, 3))
    >>> output.shape, h_n.shape, lstm.weight_ih_l0.shape
    ((2, 7, 5), (1, 2, 5), (20, 3))
    """

    gates = 4
    has_cell_state = True

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 proj_size: int = 0, dtype=None):
        if isinstance(proj_size, bool) or not isinstance(proj_size, int) or proj_size < 0:
            raise ArgumentError("LSTM: proj_size should be a positive integer or zero to disable "
                                f"projections, got {proj_size!r}")
        if proj_size:
            raise RecurrentNotSupportedError(f"LSTM: proj_size={proj_size} (an LSTM with "
                                             "projections) is not implemented; use "
                                             "proj_size=0, or follow the LSTM with a Linear")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, dtype)
        self.proj_size = 0

    def _step(self, projected, state, weight_hh, bias_hh):
        return _lstm_step(projected, state[0], state[1], weight_hh, bias_hh)


class GRU(_RecurrentBase):
    """A multi-layer GRU; each layer runs GRUCell's step over the sequence.

    `forward(input, h_0=None)` returns (output, h_n), shaped as RNN's.

    >>> import eager
    >>> gru = GRU(3, 5, num_layers=2)
    >>> output, h_n = gru(eager.ones(4, 3))  # unbatched: (L, input_size)
    >>> output.shape, h_n.shape
    ((4, 5), (2, 5))
    """

    gates = 3

    def _step(self, projected, state, weight_hh, bias_hh):
        return (_gru_step(projected, state[0], weight_hh, bias_hh),)
