"""The softmax cross-entropy pass: one kernel for the loss and its gradient, same bits."""

from __future__ import annotations

import numpy as np
import pytest

import framework as fw
import framework.nn.functional as F
from framework import nn
from framework.jit.executor import Executable

from ._programs import assert_plain_backend_matches, train_step, with_and_without


def _graphs(fn, *args):
    return with_and_without("xent", fn, *args)


def _step(model, ignore_index=-100):
    params = list(model.parameters())

    def fn(x, y):
        loss = F.cross_entropy(model(x), y, ignore_index=ignore_index)
        return (loss, *fw.grad(loss, params))

    return fn


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_loss_and_gradients_are_bitwise_the_same(dtype):
    fw.manual_seed(0)
    model = nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 5)).to(dtype)
    x = fw.randn(9, 12).to(dtype)
    y = fw.randint(0, 5, (9,))
    plain, fused, stats, inputs, state = _graphs(_step(model), x, y)
    assert stats["fused"] == 1
    assert [n.op for n in fused.nodes].count("softmax_xent") == 1
    assert "log_softmax" not in [n.op for n in fused.nodes]
    assert len(fused.nodes) < len(plain.nodes)
    for _ in range(2):
        want = Executable(plain, fw.get_backend()).run(inputs, state)
        got = Executable(fused, fw.get_backend()).run(inputs, state)
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(a, b)
            assert a.dtype == b.dtype and a.shape == b.shape


def test_ignored_targets_and_an_all_ignored_batch():
    fw.manual_seed(1)
    model = nn.Linear(6, 4)
    x = fw.randn(5, 6)
    fn = _step(model, ignore_index=2)
    for y in (fw.tensor([0, 2, 1, 2, 3]), fw.tensor([2, 2, 2, 2, 2])):
        plain, fused, stats, inputs, state = _graphs(fn, x, y)
        assert stats["fused"] == 1
        want = Executable(plain, fw.get_backend()).run(inputs, state)
        got = Executable(fused, fw.get_backend()).run(inputs, state)
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(a, b)  # NaN loss when every target is ignored
    assert np.isnan(got[0])


def test_static_training_step_matches_eager():
    def make():
        fw.manual_seed(0)
        model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
        return model, train_step(model, fw.optim.SGD(model.parameters(), lr=0.1))

    (me, eager), (ms, step) = make(), make()
    static = fw.jit.to_static(step)
    x, y = fw.randn(10, 8), fw.randint(0, 3, (10,))
    # the first loss is bit for bit eager's; the SGD update is folded into the gradient
    # products (update_fold), which rounds the parameters differently in the last bits
    assert eager(x, y).item() == static(x, y).item()
    for _ in range(3):
        np.testing.assert_allclose(static(x, y).item(), eager(x, y).item(), rtol=1e-6)
    assert "softmax_xent" in [n.op for n in static.last_program.graph.nodes]
    for a, b in zip(me.parameters(), ms.parameters(), strict=True):
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-5,
                                   atol=1e-7)


def test_other_losses_are_left_alone():
    fw.manual_seed(0)
    model = nn.Linear(6, 4)
    weight = fw.tensor([1.0, 2.0, 0.5, 1.0])
    params = list(model.parameters())

    def weighted(x, y):
        loss = F.cross_entropy(model(x), y, weight=weight)
        return (loss, *fw.grad(loss, params))

    def summed(x, y):
        loss = F.cross_entropy(model(x), y, reduction="sum")
        return (loss, *fw.grad(loss, params))

    def scaled(x, y):  # the gradient flows in scaled by 3
        loss = F.cross_entropy(model(x), y) * 3.0
        return (loss, *fw.grad(loss, params))

    x, y = fw.randn(5, 6), fw.randint(0, 4, (5,))
    for fn in (weighted, summed, scaled):
        plain, fused, stats, inputs, state = _graphs(fn, x, y)
        assert stats["fused"] == 0
        want = Executable(plain, fw.get_backend()).run(inputs, state)
        got = Executable(fused, fw.get_backend()).run(inputs, state)
        for a, b in zip(got, want, strict=True):
            np.testing.assert_array_equal(a, b)


def test_a_plug_in_backend_runs_the_recognised_primitives():
    fw.manual_seed(0)
    model = nn.Linear(6, 4)
    x, y = fw.randn(7, 6), fw.tensor([0, 1, 3, -100, 2, 1, 0])
    plain, fused, stats, inputs, state = _graphs(_step(model), x, y)
    assert stats["fused"] == 1
    assert_plain_backend_matches(plain, fused, inputs, state)


def test_malformed_kernel_attributes_are_refused():
    from framework.jit.ir import Node, Ref
    from framework.jit.passes.xent import build_kernel

    for extra in ({}, {"ignore_index": -100, "rows": "4", "classes": 3},
                  {"ignore_index": -100, "rows": 0, "classes": 3}):
        with pytest.raises(ValueError, match="softmax_xent"):
            build_kernel(Node("softmax_xent", (Ref(0), Ref(1)), {}, [2, 3], [], None, extra),
                         fw.get_backend())
