"""The hand-written NumPy references of framework.bench.static compute what they claim
(so the static-vs-NumPy ratios compare equal work). No timing here."""

from __future__ import annotations

import copy

import numpy as np

import framework as fw
import framework.nn.functional as F
from framework.bench import static as B


def test_numpy_mlp_step_matches_the_framework():
    model = B._mlp_model()
    hand = B.NumpyMLP(model, 0.01)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 784)).astype(np.float32)
    y = rng.integers(0, 10, 16)
    opt = fw.optim.SGD(model.parameters(), lr=0.01)
    loss = F.cross_entropy(model(fw.from_numpy(x)), fw.from_numpy(y))
    loss.backward()
    opt.step()
    assert np.isclose(hand.step(x, y), loss.item(), rtol=1e-5)
    linears = [m for m in model if isinstance(m, fw.nn.Linear)]
    for w, m in zip(hand.w, linears, strict=True):
        np.testing.assert_allclose(w, m.weight.detach().numpy(), rtol=1e-4, atol=1e-6)


def _finite_difference(step, params, name, idx, eps):
    def loss(delta):
        p = copy.deepcopy(params)
        p[name][idx] += delta
        return step(p)
    return (loss(eps) - loss(-eps)) / (2 * eps)


def test_numpy_encoder_block_gradients_match_finite_differences():
    block = B.NumpyEncoderBlock(8, 2, 16, 1.0)
    rng = np.random.default_rng(0)
    for k in block.p:
        block.p[k] = block.p[k].astype(np.float64) + rng.standard_normal(block.p[k].shape) * 0.1
    x = rng.standard_normal((2, 3, 8))

    def step(params):
        b = copy.deepcopy(block)
        b.p = params
        return b.step(x)

    for name in ("win", "bin", "wo", "g1", "w1", "b2", "be2"):
        before = copy.deepcopy(block.p)
        b = copy.deepcopy(block)
        b.step(x)
        grad = before[name] - b.p[name]  # lr = 1
        idx = (0,) * before[name].ndim
        fd = _finite_difference(step, before, name, idx, 1e-6)
        np.testing.assert_allclose(grad[idx], fd, rtol=1e-5, atol=1e-9, err_msg=name)


def test_numpy_cnn_gradients_match_finite_differences():
    cnn = B.NumpyCNN(1.0)
    for name in ("w1", "b1", "w2", "b2", "w3", "b3"):  # float64 for finite differences
        setattr(cnn, name, getattr(cnn, name).astype(np.float64))
    cnn.lr = 1.0
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 1, 28, 28))
    y = rng.integers(0, 10, 2)
    names = ("w1", "w2", "w3", "b2")
    for name in names:
        before = copy.deepcopy(cnn)
        after = copy.deepcopy(cnn)
        after.step(x, y)
        grad = getattr(before, name) - getattr(after, name)
        idx = np.unravel_index(np.argmax(np.abs(grad)), grad.shape)

        def loss(delta, name=name, idx=idx, before=before):
            c = copy.deepcopy(before)
            getattr(c, name)[idx] += delta
            return c.step(x, y)

        fd = (loss(1e-6) - loss(-1e-6)) / 2e-6
        np.testing.assert_allclose(grad[idx], fd, rtol=1e-4, atol=1e-8, err_msg=name)
