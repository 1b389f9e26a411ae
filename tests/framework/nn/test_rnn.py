"""Recurrent layers: shapes, initial states, gradients and second derivatives."""

import numpy as np
import pytest

import framework as fw
from framework.autograd import gradcheck, gradgradcheck
from framework.nn.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_shapes_batch_first_bidirectional_and_unbatched(cls):
    m = cls(4, 6, num_layers=2, batch_first=True, bidirectional=True)
    out, state = m(fw.randn(3, 5, 4))
    h = state[0] if cls is LSTM else state
    assert out.shape == (3, 5, 12)
    assert h.shape == (4, 3, 6)
    out1, _ = m(fw.randn(5, 4))
    assert out1.shape == (5, 12)


def test_parameter_names_follow_pytorch():
    names = sorted(n for n, _ in LSTM(2, 3, num_layers=2, bidirectional=True).named_parameters())
    assert "weight_ih_l0" in names and "bias_hh_l1_reverse" in names
    assert len(names) == 16


def test_given_initial_state_is_used_and_checked():
    m = GRU(2, 3)
    x = fw.randn(4, 1, 2)
    h0 = fw.ones(1, 1, 3)
    a, _ = m(x, h0)
    b, _ = m(x)
    assert not np.allclose(a.detach().numpy(), b.detach().numpy())
    with pytest.raises(RuntimeError, match="hidden state of shape"):
        m(x, fw.ones(2, 1, 3))


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_gradients_match_finite_differences(cls):
    fw.manual_seed(0)
    m = cls(2, 3).to(fw.float64)
    x = fw.randn(3, 2, 2, dtype=fw.float64, requires_grad=True)

    def f(x):
        return m(x)[0]

    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))


@pytest.mark.parametrize("cls", [RNNCell, LSTMCell, GRUCell])
def test_cells_match_one_step_of_the_layer(cls):
    fw.manual_seed(1)
    cell = cls(3, 4)
    x = fw.randn(2, 3)
    out = cell(x)
    h = out[0] if isinstance(out, tuple) else out
    assert h.shape == (2, 4)
    h.sum().backward()
    assert cell.weight_ih.grad is not None
