"""Attention and transformer layers: masks, shapes, dropout, second derivatives."""

import numpy as np
import pytest

import framework as fw
from framework.autograd import gradcheck, gradgradcheck
from framework.nn.attention import MultiheadAttention, scaled_dot_product_attention
from framework.nn.transformer import TransformerEncoder, TransformerEncoderLayer


def test_causal_attention_ignores_the_future():
    q = fw.randn(1, 4, 3)
    k = fw.randn(1, 4, 3)
    v = fw.randn(1, 4, 3)
    out = scaled_dot_product_attention(q, k, v, is_causal=True)
    v2 = v.clone()
    v2[0, 3] = 100.0  # changing the last position must not change earlier outputs
    out2 = scaled_dot_product_attention(q, k, v2, is_causal=True)
    np.testing.assert_allclose(out[0, :3].numpy(), out2[0, :3].numpy(), rtol=1e-6)
    assert not np.allclose(out[0, 3].numpy(), out2[0, 3].numpy())


def test_key_padding_mask_hides_padded_keys():
    mha = MultiheadAttention(4, 2, batch_first=True)
    x = fw.randn(1, 3, 4)
    pad = fw.tensor([[False, False, True]])
    _, w = mha(x, x, x, key_padding_mask=pad)
    np.testing.assert_allclose(w[0, :, 2].detach().numpy(), 0.0)
    np.testing.assert_allclose(w.sum(-1).detach().numpy(), 1.0, rtol=1e-6)
    with pytest.raises(RuntimeError, match="key_padding_mask should have shape"):
        mha(x, x, x, key_padding_mask=fw.tensor([[False, True]]))


def test_embed_dim_must_divide_into_heads():
    with pytest.raises(ValueError, match="divisible"):
        MultiheadAttention(6, 4)


def test_sdpa_second_derivatives():
    q, k, v = (fw.randn(2, 3, 2, dtype=fw.float64, requires_grad=True) for _ in range(3))
    assert gradcheck(lambda q, k, v: scaled_dot_product_attention(q, k, v, is_causal=True),
                     (q, k, v))
    assert gradgradcheck(lambda q, k, v: scaled_dot_product_attention(q, k, v), (q, k, v))


def test_encoder_layers_are_independent_copies_and_dropout_only_trains():
    layer = TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.5, batch_first=True)
    enc = TransformerEncoder(layer, 2)
    assert enc.layers[0].linear1.weight is not enc.layers[1].linear1.weight
    x = fw.randn(2, 5, 8)
    enc.eval()
    a, b = enc(x), enc(x)
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy())
    enc.train()
    assert not np.allclose(enc(x).detach().numpy(), enc(x).detach().numpy())


def test_unbatched_attention():
    mha = MultiheadAttention(4, 1)
    x = fw.randn(5, 4)
    out, w = mha(x, x, x)
    assert out.shape == (5, 4) and w.shape == (5, 5)
