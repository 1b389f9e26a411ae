"""The eager fast paths give the same values and gradients as the general code they bypass:
max pooling over tiling windows, a stride-1 convolution's input gradient, the one-op
attention, cross-entropy's plain gradient and linear on N-d inputs."""

from __future__ import annotations

import numpy as np
import pytest

import framework as fw
import framework.nn.functional as F
from framework import ops
from framework.nn import _ops


def _grads(fn, *arrays, g=None):
    ts = [fw.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*ts)
    out.backward(fw.tensor(g if g is not None else np.ones(out.shape, out.dtype)))
    return out.detach().numpy(), [t.grad.numpy() for t in ts]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kernel,size", [(2, (6, 8)), ((2, 3), (7, 7)), (3, (9, 5)), (1, (3, 4))])
def test_tiling_max_pool_matches_the_general_scan(dtype, kernel, size):
    rng = np.random.default_rng(0)
    # small integers make ties; NaNs must win their window (the gradient goes to the last)
    x = rng.integers(-2, 3, (2, 3) + size).astype(dtype)
    x[rng.random(x.shape) < 0.1] = np.nan
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    g = rng.standard_normal((2, 3, size[0] // kh, size[1] // kw)).astype(dtype)
    fast = _grads(lambda t: F.max_pool2d(t, kernel), x, g=g)
    # return_indices=True takes the general scan
    general = _grads(lambda t: F.max_pool2d(t, kernel, return_indices=True)[0], x, g=g)
    np.testing.assert_array_equal(fast[0], general[0])
    np.testing.assert_array_equal(fast[1][0], general[1][0])


def test_tiling_max_pool_gradient_is_differentiable_again():
    x = fw.tensor(np.random.default_rng(1).standard_normal((1, 2, 4, 6)), requires_grad=True)
    assert fw.autograd.gradgradcheck(lambda t: F.max_pool2d(t, 2), (x,))


@pytest.mark.parametrize("padding,dilation", [(0, 1), (1, 1), ((1, 2), (2, 1)), ("same", 1)])
def test_stride_one_conv_input_gradient_matches_col2im(padding, dilation):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 7, 6)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 2)).astype(np.float32)
    out, (gx, _) = _grads(lambda a, b: F.conv2d(a, b, padding=padding, dilation=dilation), x, w)
    bk = fw.get_backend()
    # the reference: col2im of wᵀ · g on the padded image, cropped
    pad = {0: (0, 0, 0, 0), 1: (1, 1, 1, 1), (1, 2): (1, 1, 2, 2), "same": (1, 1, 0, 1)}[
        padding if not isinstance(padding, tuple) else (1, 2)]
    dil = (dilation, dilation) if isinstance(dilation, int) else dilation
    g = np.ones(out.shape, np.float32)
    dcols = np.matmul(w.reshape(4, -1).T, g.reshape(2, 4, -1))
    hp, wp = 7 + pad[0] + pad[1], 6 + pad[2] + pad[3]
    full = bk.col2im(dcols, (2, 3, hp, wp), 3, 2, (1, 1), (0, 0), dil)
    np.testing.assert_array_equal(gx, full[:, :, pad[0]:pad[0] + 7, pad[2]:pad[2] + 6])


def _composed_attention(q, k, v, scale, masks):
    s = ops.matmul(q, k.transpose(-2, -1)) * scale
    for kind, m in masks:
        s = ops.masked_fill(s, fw.tensor(m), float("-inf")) if kind == "fill" else s + fw.tensor(m)
    return ops.matmul(ops.softmax(s, -1), v)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_attention_op_matches_the_composed_ops(dtype):
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal(s).astype(dtype) for s in [(2, 3, 4, 5), (2, 3, 6, 5),
                                                              (2, 3, 6, 2)])
    blocked = rng.random((4, 6)) < 0.3
    blocked[1] = True  # a fully masked row: NaN output, zero gradient, as the ops give
    bias = rng.standard_normal((2, 1, 1, 6)).astype(dtype)
    g = rng.standard_normal((2, 3, 4, 2)).astype(dtype)
    for masks in [(), (("fill", blocked),), (("add", bias), ("fill", blocked))]:
        fused = _grads(lambda a, b, c, m=masks: _ops.attention(a, b, c, 0.4, m), q, k, v, g=g)
        composed = _grads(lambda a, b, c, m=masks: _composed_attention(a, b, c, 0.4, m),
                          q, k, v, g=g)
        np.testing.assert_array_equal(fused[0], composed[0])
        for a, b in zip(fused[1], composed[1], strict=True):
            np.testing.assert_array_equal(a, b)


def test_attention_op_gradient_is_differentiable_again():
    rng = np.random.default_rng(4)
    q, k, v = (fw.tensor(rng.standard_normal(s), requires_grad=True)
               for s in [(2, 3, 4), (2, 5, 4), (2, 5, 3)])
    masks = (("fill", rng.random((3, 5)) < 0.3),)
    fn = lambda a, b, c: _ops.attention(a, b, c, 0.5, masks)  # noqa: E731
    assert fw.autograd.gradcheck(fn, (q, k, v))
    assert fw.autograd.gradgradcheck(fn, (q, k, v))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_plain_gradient_is_softmax_minus_onehot(reduction):
    rng = np.random.default_rng(5)
    z = (rng.standard_normal((7, 4)) * 3).astype(np.float32)
    y = rng.integers(0, 4, 7)
    y[2] = -100  # ignored
    g = np.ones((), np.float32) if reduction != "none" else rng.standard_normal(7).astype(
        np.float32)
    _, (gz,) = _grads(lambda t: F.cross_entropy(t, fw.tensor(y), reduction=reduction), z, g=g)
    lsm = z - z.max(1, keepdims=True)
    lsm = lsm - np.log(np.exp(lsm).sum(1, keepdims=True))
    valid = (y != -100).astype(np.float32)
    scale = valid * (np.float32(1) / valid.sum()) if reduction == "mean" else valid
    onehot = (np.arange(4) == np.where(y == -100, 0, y)[:, None]).astype(np.float32)
    want = (np.exp(lsm) - onehot) * (scale[:, None] * (g[:, None] if g.ndim else g))
    np.testing.assert_allclose(gz, want, rtol=1e-6, atol=1e-7)


def test_linear_on_nd_input_matches_row_by_row():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    w = rng.standard_normal((2, 5)).astype(np.float32)
    b = rng.standard_normal(2).astype(np.float32)
    g = rng.standard_normal((3, 4, 2)).astype(np.float32)
    out, (gx, gw, gb) = _grads(lambda a, c, d: F.linear(a * 1.0, c, d), x, w, b, g=g)
    np.testing.assert_allclose(out, x @ w.T + b, rtol=1e-6)
    np.testing.assert_allclose(gx, g @ w, rtol=1e-6)
    np.testing.assert_allclose(gw, g.reshape(-1, 2).T @ x.reshape(-1, 5), rtol=1e-5)
    np.testing.assert_allclose(gb, g.reshape(-1, 2).sum(0), rtol=1e-5)
