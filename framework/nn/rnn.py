"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` (multi-layer, batch_first, bidirectional)
and their single-step cells, with PyTorch's parameter names, gate order and initialization.

The input projection of every time step is one matrix product over the whole sequence;
only the hidden-to-hidden product runs step by step.

>>> import framework as fw
>>> lstm = fw.nn.LSTM(input_size=8, hidden_size=16, num_layers=2, batch_first=True)
>>> out, (h, c) = lstm(fw.randn(4, 10, 8))
>>> out.shape, h.shape
((4, 10, 16), (2, 4, 16))
"""

from __future__ import annotations

import math
from typing import Any

from .. import creation as _creation
from .. import ops
from ..tensor import Tensor
from . import _ops, init
from .module import Module
from .parameter import Parameter

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _dropout(x: Tensor, p: float, training: bool) -> Tensor:
    from . import functional as F

    return F.dropout(x, p, training)


def _rnn_step(mode: str, xp: Tensor, h: Any, w_hh: Tensor, b_hh: Tensor | None) -> Any:
    """One time step. ``xp`` is the precomputed input projection ``x W_ihᵀ + b_ih``."""
    if mode == "LSTM":
        hx, cx = h
        gates = xp + _ops.linear(hx, w_hh, b_hh)
        i, f, g, o = ops.chunk(gates, 4, -1)
        c = ops.sigmoid(f) * cx + ops.sigmoid(i) * ops.tanh(g)
        return ops.sigmoid(o) * ops.tanh(c), c
    if mode == "GRU":
        hp = _ops.linear(h, w_hh, b_hh)
        xr, xz, xn = ops.chunk(xp, 3, -1)
        hr, hz, hn = ops.chunk(hp, 3, -1)
        r = ops.sigmoid(xr + hr)
        z = ops.sigmoid(xz + hz)
        n = ops.tanh(xn + r * hn)
        return (1.0 - z) * n + z * h
    pre = xp + _ops.linear(h, w_hh, b_hh)
    return ops.tanh(pre) if mode == "RNN_TANH" else ops.relu(pre)


class RNNBase(Module):
    """Shared machinery of ``RNN``, ``LSTM`` and ``GRU``."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, dtype: Any = None) -> None:
        super().__init__()
        if not 0 <= dropout <= 1:
            raise ValueError(f"dropout should be a number in [0, 1], got {dropout}")
        if hidden_size <= 0 or num_layers <= 0:
            raise ValueError("hidden_size and num_layers must be positive")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        gate = _GATES[mode] * hidden_size
        dirs = 2 if bidirectional else 1
        self._flat_names: list[list[str]] = []
        for layer in range(num_layers):
            in_size = input_size if layer == 0 else hidden_size * dirs
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d == 1 else "")
                names = [f"weight_ih{sfx}", f"weight_hh{sfx}"]
                setattr(self, names[0], Parameter(_creation.empty(gate, in_size, dtype=dtype)))
                setattr(self, names[1],
                        Parameter(_creation.empty(gate, hidden_size, dtype=dtype)))
                if bias:
                    names += [f"bias_ih{sfx}", f"bias_hh{sfx}"]
                    setattr(self, names[2], Parameter(_creation.empty(gate, dtype=dtype)))
                    setattr(self, names[3], Parameter(_creation.empty(gate, dtype=dtype)))
                self._flat_names.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -stdv, stdv)

    def _weights(self, layer: int, direction: int) -> tuple:
        names = self._flat_names[layer * (2 if self.bidirectional else 1) + direction]
        w = [getattr(self, n) for n in names]
        return (w[0], w[1], w[2], w[3]) if self.bias else (w[0], w[1], None, None)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s

    def forward(self, input: Tensor, hx: Any = None) -> Any:  # noqa: A002
        is_lstm = self.mode == "LSTM"
        if input.ndim not in (2, 3):
            raise ValueError(f"{type(self).__name__}: expected a 2-D (unbatched) or 3-D input, "
                             f"got shape {tuple(input.shape)}")
        if input.shape[-1] != self.input_size:
            raise ValueError(f"{type(self).__name__}: input has {input.shape[-1]} features, "
                             f"expected input_size={self.input_size}")
        unbatched = input.ndim == 2
        x = input.unsqueeze(1) if unbatched else (
            input.transpose(0, 1) if self.batch_first else input)
        seq_len, batch = x.shape[0], x.shape[1]
        dirs = 2 if self.bidirectional else 1
        state_shape = (self.num_layers * dirs, batch, self.hidden_size)
        if hx is None:
            zeros = _creation.zeros(state_shape, dtype=x.dtype)
            h0 = (zeros, zeros) if is_lstm else zeros
        else:
            if is_lstm:
                h0 = tuple(h.unsqueeze(1) if unbatched else h for h in hx)
            else:
                h0 = hx.unsqueeze(1) if unbatched else hx
            for h in (h0 if is_lstm else (h0,)):
                if tuple(h.shape) != state_shape:
                    raise RuntimeError(f"{type(self).__name__}: expected hidden state of shape "
                                       f"{state_shape}, got {tuple(h.shape)}")
        h_last: list = []
        c_last: list = []
        layer_in = x
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                w_ih, w_hh, b_ih, b_hh = self._weights(layer, d)
                k = layer * dirs + d
                h = (h0[0][k], h0[1][k]) if is_lstm else h0[k]
                xp = _ops.linear(layer_in, w_ih, b_ih)  # (seq, batch, gates): one product
                steps = ops.unbind(xp, 0)
                order = range(seq_len - 1, -1, -1) if d == 1 else range(seq_len)
                ys: list = [None] * seq_len
                for t in order:
                    h = _rnn_step(self.mode, steps[t], h, w_hh, b_hh)
                    ys[t] = h[0] if is_lstm else h
                outs.append(ops.stack(ys, 0) if seq_len else
                            _creation.zeros((0, batch, self.hidden_size), dtype=x.dtype))
                if is_lstm:
                    h_last.append(h[0])
                    c_last.append(h[1])
                else:
                    h_last.append(h)
            layer_in = outs[0] if dirs == 1 else ops.cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_in = _dropout(layer_in, self.dropout, True)
        output = layer_in
        h_n = ops.stack(h_last, 0)
        c_n = ops.stack(c_last, 0) if is_lstm else None
        if unbatched:
            output = output.squeeze(1)
            h_n = h_n.squeeze(1)
            c_n = c_n.squeeze(1) if is_lstm else None
        elif self.batch_first:
            output = output.transpose(0, 1)
        return (output, (h_n, c_n)) if is_lstm else (output, h_n)


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh)``."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, dtype: Any = None) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"unknown nonlinearity {nonlinearity!r}; use 'tanh' or 'relu'")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype)


class LSTM(RNNBase):
    """Long short-term memory; gates in PyTorch's order (input, forget, cell, output)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, dtype: Any = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, dtype)


class GRU(RNNBase):
    """Gated recurrent unit; gates in PyTorch's order (reset, update, new)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, dtype: Any = None) -> None:
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, dtype)


class _CellBase(Module):
    def __init__(self, mode: str, input_size: int, hidden_size: int, bias: bool,
                 dtype: Any) -> None:
        super().__init__()
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        gate = _GATES[mode] * hidden_size
        self.weight_ih = Parameter(_creation.empty(gate, input_size, dtype=dtype))
        self.weight_hh = Parameter(_creation.empty(gate, hidden_size, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(_creation.empty(gate, dtype=dtype))
            self.bias_hh = Parameter(_creation.empty(gate, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        stdv = 1.0 / math.sqrt(hidden_size)
        for p in self.parameters():
            init.uniform_(p, -stdv, stdv)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")

    def _step(self, input: Tensor, hx: Any) -> Any:  # noqa: A002
        unbatched = input.ndim == 1
        x = input.unsqueeze(0) if unbatched else input
        zeros = _creation.zeros((x.shape[0], self.hidden_size), dtype=x.dtype)
        if hx is None:
            h = (zeros, zeros) if self.mode == "LSTM" else zeros
        elif self.mode == "LSTM":
            h = tuple(t.unsqueeze(0) if unbatched else t for t in hx)
        else:
            h = hx.unsqueeze(0) if unbatched else hx
        xp = _ops.linear(x, self.weight_ih, self.bias_ih)
        out = _rnn_step(self.mode, xp, h, self.weight_hh, self.bias_hh)
        if unbatched:
            out = tuple(t.squeeze(0) for t in out) if self.mode == "LSTM" else out.squeeze(0)
        return out


class RNNCell(_CellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", dtype: Any = None) -> None:
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, bias, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:  # noqa: A002
        return self._step(input, hx)


class LSTMCell(_CellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 dtype: Any = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, bias, dtype)

    def forward(self, input: Tensor, hx: Any = None) -> tuple:  # noqa: A002
        return self._step(input, hx)


class GRUCell(_CellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 dtype: Any = None) -> None:
        super().__init__("GRU", input_size, hidden_size, bias, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:  # noqa: A002
        return self._step(input, hx)
