"""Recurrent cells: RNNCell and LSTMCell, one time step each, with PyTorch's parameter layout.

Both hold weight_ih (G * hidden, input), weight_hh (G * hidden, hidden), bias_ih and bias_hh
(G * hidden), G = 1 for RNNCell and 4 for LSTMCell (gate rows in the order i, f, g, o), all
initialized U(-1 / sqrt(hidden), 1 / sqrt(hidden)) in that order.
"""

from __future__ import annotations

import math

import numpy as np

from eager.nn import functional, init
from eager.nn.layers import _empty_parameter, _float_dtype, _size
from eager.nn.module import Module
from eager.tensor import Tensor
from framework.errors import ArgumentError, ShapeError


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
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound)

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
            return Tensor(np.zeros((input.shape[0], self.hidden_size), self.weight_ih.dtype))
        expected = (self.hidden_size,) if unbatched else (input.shape[0], self.hidden_size)
        if state.shape != expected:
            raise ShapeError(f"{type(self).__name__}: {what} must have shape {expected} for an "
                             f"input of shape {input.shape[1:] if unbatched else input.shape}, "
                             f"got {state.shape}")
        return state.unsqueeze(0) if unbatched else state

    def _gates(self, input, hidden):
        return (functional.linear(input, self.weight_ih, self.bias_ih)
                + functional.linear(hidden, self.weight_hh, self.bias_hh))

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            text += ", bias=False"
        if self.nonlinearity != "tanh":
            text += f", nonlinearity={self.nonlinearity}"
        return text


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
        if nonlinearity not in ("tanh", "relu"):
            raise ArgumentError(f"RNNCell: unknown nonlinearity {nonlinearity!r}; expected "
                                "'tanh' or 'relu'")
        super().__init__(input_size, hidden_size, bias, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        input, unbatched = self._batched_input(input)
        hx = self._batched_state(hx, input, unbatched, "hx")
        pre_activation = self._gates(input, hx)
        hidden = pre_activation.tanh() if self.nonlinearity == "tanh" else pre_activation.relu()
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
        gates = self._gates(input, hidden)
        size = self.hidden_size
        # Slices rather than chunk(4, 1): the backward of a multi-output split currently fails
        # in framework.ops.autodiff.apply_vjp when its outputs are not saved.
        in_gate, forget_gate, cell_gate, out_gate = (gates[:, k * size:(k + 1) * size]
                                                     for k in range(4))
        cell = forget_gate.sigmoid() * cell + in_gate.sigmoid() * cell_gate.tanh()
        hidden = out_gate.sigmoid() * cell.tanh()
        if unbatched:
            return hidden.squeeze(0), cell.squeeze(0)
        return hidden, cell
