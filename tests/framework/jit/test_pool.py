"""The max-pool mask pass: one kernel, the same masks (ties, NaN) as the recorded scan."""

from __future__ import annotations

import numpy as np
import pytest

import framework as fw
import framework.nn.functional as F
from framework.jit.executor import Executable

from ._programs import assert_plain_backend_matches, with_and_without


def _graphs(fn, *args):
    return with_and_without("pool", fn, *args)


def _pool_grad(kernel, shape, stride=None):
    w = fw.zeros(*shape, requires_grad=True)  # x + w: w's gradient is the input gradient

    def fn(x):
        out = F.max_pool2d(x + w, kernel, stride)
        loss = (out * fw.arange(out.numel()).reshape(out.shape)).sum()
        return out, *fw.grad(loss, [w])

    return fn


@pytest.mark.parametrize("kernel", [2, 3, (2, 3)])
def test_masks_match_with_ties_and_nan(kernel):
    rng = np.random.default_rng(0)
    x = np.round(rng.standard_normal((2, 3, 12, 12)), 0).astype(np.float32)  # many ties
    x[0, 0, 0, 1] = np.nan
    x[0, 1, 3, :3] = np.nan  # several NaN in one window: the last one gets the gradient
    plain, fused, stats, inputs, state = _graphs(_pool_grad(kernel, x.shape), fw.from_numpy(x))
    assert stats["fused"] == 1
    assert "isnan" not in [n.op for n in fused.nodes]
    want = Executable(plain, fw.get_backend()).run(inputs, state)
    got = Executable(fused, fw.get_backend()).run(inputs, state)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
    clean = np.nan_to_num(x)  # and the fast path, without NaN
    got = Executable(fused, fw.get_backend()).run([clean], state)
    want = Executable(plain, fw.get_backend()).run([clean], state)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_plug_in_backend_gets_the_same_masks():
    x = np.round(np.random.default_rng(1).standard_normal((1, 2, 8, 8)), 0).astype(np.float32)
    x[0, 0, 2, 2] = np.nan
    plain, fused, stats, inputs, state = _graphs(_pool_grad(2, x.shape), fw.from_numpy(x))
    assert stats["fused"] == 1
    assert_plain_backend_matches(plain, fused, inputs, state)


def test_integer_pooling_and_overlapping_windows_are_handled():
    xi = fw.from_numpy(np.arange(64, dtype=np.int64).reshape(1, 1, 8, 8) % 5)
    plain, fused, stats, inputs, state = _graphs(lambda x: F.max_pool2d(x, 2) * 1, xi)
    assert stats["fused"] == 0  # nothing records a mask without gradients
    x = fw.randn(1, 2, 9, 9)
    plain, fused, stats, inputs, state = _graphs(_pool_grad(3, x.shape), x)
    assert stats["fused"] == 1
    for a, b in zip(Executable(fused, fw.get_backend()).run(inputs, state),
                    Executable(plain, fw.get_backend()).run(inputs, state), strict=True):
        np.testing.assert_array_equal(a, b)
    plain, fused, stats, _, _ = _graphs(_pool_grad(3, x.shape, stride=2), x)
    assert stats["fused"] == 0  # overlapping windows take the general scan


def test_malformed_kernel_nodes_are_refused():
    from framework.jit.ir import Node, Ref
    from framework.jit.passes.pool import build_kernel

    for extra, outs in (({}, [4, 5]), ({"nan_scan": "yes"}, [4, 5]), ({"nan_scan": True}, [4])):
        with pytest.raises(ValueError, match="pool_hits"):
            build_kernel(Node("pool_hits", (Ref(0), Ref(1), Ref(2)), {}, outs, [], None, extra),
                         fw.get_backend())


@pytest.mark.parametrize("kernel", [2, 3])
def test_relu_gradient_folded_into_the_pooled_gradient_gives_the_same_bits(kernel):
    rng = np.random.default_rng(2)
    x = np.round(rng.standard_normal((2, 3, 12, 12)), 0).astype(np.float32)  # ties, zeros
    x[0, 0, :2, :2] = -1.0  # a window with no positive element
    x[0, 1, 0, 0] = np.nan
    x[1, 2, 4, 4] = -0.0
    w = fw.zeros(*x.shape, requires_grad=True)
    sign = fw.from_numpy(np.where(rng.random((2, 3, 12 // kernel, 12 // kernel)) < 0.5,
                                  -1.0, 1.0).astype(np.float32))

    def fn(t):
        out = F.max_pool2d(F.relu(t + w), kernel)
        loss = (out * sign * fw.arange(out.numel()).reshape(out.shape)).sum()
        return out, *fw.grad(loss, [w])

    plain, fused, stats, inputs, state = _graphs(fn, fw.from_numpy(x))
    assert (stats["fused"], stats.get("relu_folded")) == (1, 1)
    full = [n for n in fused.nodes if n.op == "greater"
            and fused.values[n.outputs[0]].shape == x.shape]
    assert not full  # no full-size ReLU mask is left
    relus = [n for n in fused.nodes if n.op == "maximum" and n.outputs
             and fused.values[n.outputs[0]].shape == x.shape]
    assert not relus  # and the ReLU itself runs on the pooled values
    want = Executable(plain, fw.get_backend()).run(inputs, state)
    got = Executable(fused, fw.get_backend()).run(inputs, state)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(np.signbit(a), np.signbit(b))  # signed zeros too
