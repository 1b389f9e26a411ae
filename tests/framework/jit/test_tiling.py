"""Tiled composite kernels: the same bits as the whole-array call."""

from __future__ import annotations

import numpy as np
import pytest

import framework as fw
from framework.jit.executor import Executable
from framework.jit.ir import Graph, Node, Ref
from framework.jit.passes import tiling


def _graph(op, shape, kwargs=None, dtype="float32"):
    g = Graph()
    x = g.new_value(shape, dtype, kind="input")
    out = g.new_value(shape, dtype)
    g.inputs.append(x)
    g.nodes.append(Node(op, (Ref(x),), kwargs or {}, [out]))
    g.outputs.append(out)
    return g


@pytest.mark.parametrize("op,kwargs", [("erf", {}), ("gelu", {}), ("softmax", {"axis": 2}),
                                       ("log_softmax", {"axis": -1})])
@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # GELU(-inf) is NaN
def test_tiled_kernels_give_the_same_bits(op, kwargs):
    shape = (3, 70, 700)  # 147000 elements: more than two blocks, not a multiple of one
    x = (np.random.default_rng(0).standard_normal(shape) * 3).astype(np.float32)
    x[0, 0, :5] = [np.nan, np.inf, -np.inf, 0.0, -0.0]
    bk = fw.get_backend()
    want = Executable(_graph(op, shape, kwargs), bk).run([x], [])[0]
    g = _graph(op, shape, kwargs)
    assert tiling.run(g)["tiled"] == 1
    exe = Executable(g, bk)
    got = exe.run([x], [])[0]
    np.testing.assert_array_equal(got, want)
    assert got.dtype == want.dtype
    # a view that is not contiguous runs whole, with the same result
    wide = np.concatenate([x, x], axis=2)[:, :, ::2]
    np.testing.assert_array_equal(exe.run([wide], [])[0],
                                  Executable(_graph(op, shape, kwargs), bk).run([wide], [])[0])


def test_small_arrays_and_other_axes_are_not_tiled():
    assert tiling.run(_graph("erf", (100, 100)))["tiled"] == 0  # one block's worth
    assert tiling.run(_graph("softmax", (3, 70, 700), {"axis": 1}))["tiled"] == 0
    assert tiling.run(_graph("erf", (3, 70, 700), dtype="float64"))["tiled"] == 1
