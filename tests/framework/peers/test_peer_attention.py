"""Attention and the transformer encoder against PyTorch 2.13.0."""

import numpy as np
import pytest

import framework as fw
from framework.nn.attention import MultiheadAttention, scaled_dot_product_attention

torch = pytest.importorskip("torch", reason="the peers extra (torch==2.13.0) is not installed")
F = torch.nn.functional


def _copy_params(ours, theirs):
    with torch.no_grad():
        for name, p in ours.named_parameters():
            theirs.get_parameter(name).copy_(torch.from_numpy(p.detach().numpy()))


@pytest.mark.parametrize("mask_kind", ["none", "causal", "bool", "float"])
def test_sdpa_matches_torch(mask_kind):
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((2, 3, 5, 4)) for _ in range(3))
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    fq, fk, fv = (fw.tensor(a, dtype=fw.float64, requires_grad=True) for a in (q, k, v))
    kwargs, tkwargs = {}, {}
    if mask_kind == "causal":
        kwargs = tkwargs = {"is_causal": True}
    elif mask_kind == "bool":
        m = rng.random((5, 5)) > 0.3
        np.fill_diagonal(m, True)
        kwargs, tkwargs = {"attn_mask": fw.tensor(m)}, {"attn_mask": torch.tensor(m)}
    elif mask_kind == "float":
        m = rng.standard_normal((5, 5))
        kwargs, tkwargs = ({"attn_mask": fw.tensor(m, dtype=fw.float64)},
                           {"attn_mask": torch.tensor(m)})
    ours = scaled_dot_product_attention(fq, fk, fv, **kwargs)
    theirs = F.scaled_dot_product_attention(tq, tk, tv, **tkwargs)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), atol=1e-10)
    ours.sum().backward()
    theirs.sum().backward()
    for a, b in ((fq, tq), (fk, tk), (fv, tv)):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-10)


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("masks", ["none", "padding", "causal"])
def test_multihead_attention_matches_torch(batch_first, masks):
    fw.manual_seed(0)
    ours = MultiheadAttention(8, 2, batch_first=batch_first).to(fw.float64)
    theirs = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first).double()
    _copy_params(ours, theirs)
    rng = np.random.default_rng(3)
    shape = (3, 5, 8) if batch_first else (5, 3, 8)
    x = rng.standard_normal(shape)
    fx = fw.tensor(x, dtype=fw.float64, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    kw, tkw = {}, {}
    if masks == "padding":
        pad = np.zeros((3, 5), dtype=bool)
        pad[0, 3:] = True
        pad[2, 4] = True
        kw, tkw = {"key_padding_mask": fw.tensor(pad)}, {"key_padding_mask": torch.tensor(pad)}
    elif masks == "causal":
        causal = np.triu(np.ones((5, 5), dtype=bool), 1)
        kw = {"attn_mask": fw.tensor(causal), "is_causal": True}
        tkw = {"attn_mask": torch.tensor(causal), "is_causal": True}
    out, w = ours(fx, fx, fx, **kw)
    tout, tw = theirs(tx, tx, tx, **tkw)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(w.detach().numpy(), tw.detach().numpy(), atol=1e-10)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(fx.grad.numpy(), tx.grad.numpy(), atol=1e-9)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs.get_parameter(name).grad.numpy(),
                                   atol=1e-9, err_msg=name)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_transformer_encoder_matches_torch(norm_first, activation):
    from framework.nn.transformer import TransformerEncoder, TransformerEncoderLayer

    fw.manual_seed(0)
    layer = TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0,
                                    activation=activation, batch_first=True,
                                    norm_first=norm_first)
    ours = TransformerEncoder(layer, 2).to(fw.float64)
    tlayer = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0,
                                              activation=activation, batch_first=True,
                                              norm_first=norm_first)
    theirs = torch.nn.TransformerEncoder(tlayer, 2, enable_nested_tensor=False).double()
    _copy_params(ours, theirs)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 6, 8))
    pad = np.zeros((3, 6), dtype=bool)
    pad[1, 4:] = True
    fx = fw.tensor(x, dtype=fw.float64, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    out = ours(fx, src_key_padding_mask=fw.tensor(pad))
    tout = theirs(tx, src_key_padding_mask=torch.tensor(pad))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), atol=1e-9)
    (out * out).sum().backward()
    (tout * tout).sum().backward()
    np.testing.assert_allclose(fx.grad.numpy(), tx.grad.numpy(), atol=1e-8)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs.get_parameter(name).grad.numpy(),
                                   atol=1e-8, err_msg=name)
