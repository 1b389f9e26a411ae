"""RNN, LSTM and GRU against PyTorch 2.13.0: same weights in, same outputs and gradients out."""

import numpy as np
import pytest

import framework as fw
from framework.nn.rnn import GRU, LSTM, RNN

torch = pytest.importorskip("torch", reason="the peers extra (torch==2.13.0) is not installed")

CASES = [
    (RNN, torch.nn.RNN, dict(num_layers=2)),
    (RNN, torch.nn.RNN, dict(nonlinearity="relu", batch_first=True)),
    (LSTM, torch.nn.LSTM, dict(num_layers=2, bidirectional=True)),
    (LSTM, torch.nn.LSTM, dict(batch_first=True, bias=False)),
    (GRU, torch.nn.GRU, dict(num_layers=2, batch_first=True, bidirectional=True)),
    (GRU, torch.nn.GRU, dict()),
]


@pytest.mark.parametrize("ours_cls,theirs_cls,kwargs", CASES)
def test_matches_torch(ours_cls, theirs_cls, kwargs):
    fw.manual_seed(0)
    ours = ours_cls(5, 7, **kwargs)
    theirs = theirs_cls(5, 7, **kwargs).double()
    with torch.no_grad():
        for name, p in ours.named_parameters():
            getattr(theirs, name).copy_(torch.from_numpy(p.detach().numpy().astype(np.float64)))
    ours = ours.to(fw.float64)
    rng = np.random.default_rng(1)
    shape = (3, 6, 5) if kwargs.get("batch_first") else (6, 3, 5)
    x = rng.standard_normal(shape)
    out, state = ours(fw.tensor(x, dtype=fw.float64))
    tout, tstate = theirs(torch.from_numpy(x))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-7,
                               atol=1e-9)
    if isinstance(state, tuple):
        for a, b in zip(state, tstate, strict=True):
            np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=1e-9)
        loss, tloss = out.sum() + state[1].sum(), tout.sum() + tstate[1].sum()
    else:
        np.testing.assert_allclose(state.detach().numpy(), tstate.detach().numpy(), atol=1e-9)
        loss, tloss = out.sum() + state.sum(), tout.sum() + tstate.sum()
    loss.backward()
    tloss.backward()
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), getattr(theirs, name).grad.numpy(),
                                   rtol=1e-6, atol=1e-9, err_msg=name)
