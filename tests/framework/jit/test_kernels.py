"""Allocating primitives written into planned buffers: the same arrays as the primitives."""

from __future__ import annotations

import numpy as np
import pytest

import framework as fw
from framework.backend import fused
from framework.jit.kernels import into

from ._programs import Plain


@pytest.mark.parametrize("stride,padding,dilation", [((1, 1), (0, 0), (1, 1)),
                                                     ((2, 1), (1, 2), (1, 1)),
                                                     ((1, 2), (0, 1), (2, 1))])
def test_im2col_into_a_buffer(stride, padding, dilation):
    x = np.random.default_rng(0).standard_normal((3, 2, 9, 11)).astype(np.float32)
    want = fused.im2col(x, 3, 2, stride, padding, dilation)
    buf = np.full(want.shape, np.nan, np.float32)
    fn = into("im2col", fw.get_backend(), buf)
    got = fn(x, 3, 2, stride, padding, dilation)
    assert got is buf
    np.testing.assert_array_equal(got, want)
    # a buffer of another shape is not used: the primitive's own result comes back
    other = np.empty((1, 1), np.float32)
    np.testing.assert_array_equal(into("im2col", fw.get_backend(), other)(x, 3, 2, stride,
                                                                          padding, dilation),
                                  want)


def test_pad_zeros_and_empty_into_buffers():
    bk = fw.get_backend()
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    widths = ((0, 0), (1, 2), (0, 3))
    want = np.pad(x, widths, constant_values=-1.5)
    buf = np.full(want.shape, 7.0, np.float32)
    got = into("pad", bk, buf)(x, widths, constant_values=-1.5)
    assert got is buf
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(into("pad", bk, buf)(x, widths), np.pad(x, widths))
    # anything but a constant pad of the buffer's shape is np.pad's own result
    np.testing.assert_array_equal(into("pad", bk, buf)(x, widths, mode="edge"),
                                  np.pad(x, widths, mode="edge"))
    z = np.full((4, 5), 3.0)
    assert into("zeros", bk, z)((4, 5), np.float64) is z and not z.any()
    e = np.empty((2, 2))
    assert into("empty", bk, e)((2, 2), np.float64) is e


def test_other_backends_call_their_primitives():
    buf = np.empty((2, 2))
    assert into("zeros", Plain(), buf) is None
    assert into("matmul", fw.get_backend(), buf) is None


def test_a_cnn_step_reuses_its_buffers_and_matches_eager():
    def make():
        fw.manual_seed(0)
        model = fw.nn.Sequential(fw.nn.Conv2d(1, 4, 3, padding=1), fw.nn.ReLU(),
                                 fw.nn.MaxPool2d(2), fw.nn.Conv2d(4, 6, 3), fw.nn.ReLU(),
                                 fw.nn.Flatten(), fw.nn.Linear(6 * 2 * 2, 3))
        opt = fw.optim.SGD(model.parameters(), lr=0.1)

        def step(x, y):
            loss = fw.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss
        return model, step

    (me, eager), (ms, step) = make(), make()
    static = fw.jit.to_static(step)
    x, y = fw.randn(5, 1, 8, 8), fw.randint(0, 3, (5,))
    for _ in range(3):
        np.testing.assert_allclose(static(x, y).item(), eager(x, y).item(), rtol=1e-6)
    ops = {n.op for n in static.last_program.graph.nodes if n.extra.get("buffer") is not None}
    assert {"im2col", "pad"} <= ops
    for a, b in zip(me.parameters(), ms.parameters(), strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)
