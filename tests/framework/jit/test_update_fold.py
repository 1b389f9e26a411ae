"""Update folding: SGD's scale goes into the gradient's product or sum; parameters and
observable gradients stay what eager computes."""

from __future__ import annotations

import numpy as np
import pytest

import framework as fw
import framework.nn.functional as F
from framework import nn
from framework.jit import blas, passes
from framework.jit.executor import Executable
from framework.jit.ir import Graph, Node, Ref
from framework.jit.passes import reduce_blas, update_fold

from ._programs import traced


def _sgd_step(model, opt, set_to_none=True, zero=True):
    def step(x, y):
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if zero:
            opt.zero_grad(set_to_none=set_to_none)
        return loss
    return step


def _mlp(seed, sizes, act=nn.ReLU, bias=True):
    fw.manual_seed(seed)
    layers = []
    for i, (a, b) in enumerate(zip(sizes, sizes[1:], strict=False)):
        layers.append(nn.Linear(a, b, bias=bias))
        if i < len(sizes) - 2:
            layers.append(act())
    return nn.Sequential(*layers)


def _stats(static, name):
    stats = dict(static.last_program.report)[name]
    return {k: stats[k] for k in ("products", "sums")}


def _raw(step, *args):
    return traced(step, *args)[0]


def _replay(graph, prog, args, params):
    """Run ``graph`` on fresh copies of the parameters; the parameters it leaves."""
    flat = [a for a in args if isinstance(a, fw.Tensor)]
    inputs = [flat[i].data for i in prog.input_pos]
    state = [p.copy() for p in params]
    Executable(graph, fw.get_backend()).run(inputs, state)
    return state


@pytest.mark.parametrize("seed", range(5))
def test_random_mlps_update_like_the_traced_program(seed):
    rng = np.random.default_rng(seed)
    depth = int(rng.integers(2, 5))
    sizes = [int(s) for s in rng.integers(3, 40, depth + 1)]
    batch = int(rng.integers(2, 50))  # below and above reduce_blas's MIN_REDUCED
    act = [nn.ReLU, nn.Tanh, nn.GELU][int(rng.integers(3))]
    model = _mlp(seed, sizes, act, bias=bool(rng.integers(2)) or seed == 0)
    for p in model.parameters():
        p.data = p.data.astype(np.float64)
    opt = fw.optim.SGD(model.parameters(), lr=float(rng.uniform(0.01, 0.5)))
    x = fw.tensor(rng.standard_normal((batch, sizes[0])), dtype=fw.float64)
    y = fw.tensor(rng.integers(0, sizes[-1], batch))
    before = [p.detach().numpy().copy() for p in model.parameters()]
    prog = _raw(_sgd_step(model, opt), x, y)
    state_before = [before[[id(p) for p in model.parameters()].index(id(t))]
                    for t, _ in prog.state_bind]
    want = _replay(prog.raw_graph, prog, (x, y), state_before)
    g = prog.raw_graph.copy()
    for name in ("constant_folding", "simplify", "xent", "dce", "reduce_blas"):
        dict(passes.PIPELINE)[name](g)
    stats = update_fold.run(g)
    assert stats["products"] == depth  # every weight's update is folded
    got = _replay(g, prog, (x, y), state_before)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_mlp_training_folds_every_update_and_matches_eager():
    sizes = [20, 48, 40, 5]
    me, ms = _mlp(0, sizes), _mlp(0, sizes)
    eager = _sgd_step(me, fw.optim.SGD(me.parameters(), lr=0.1))
    static = fw.jit.to_static(_sgd_step(ms, fw.optim.SGD(ms.parameters(), lr=0.1)))
    x, y = fw.randn(64, 20), fw.randint(0, 5, (64,))
    for _ in range(4):
        np.testing.assert_allclose(static(x, y).item(), eager(x, y).item(), rtol=1e-5)
    assert _stats(static, "update_fold") == {"products": 3, "sums": 3}
    graph = static.last_program.graph
    # the parameter updates add the products and sums straight in: no weight-sized
    # gradient product or scaling is left
    weights = {tuple(p.shape) for p in ms.parameters() if p.ndim == 2}
    assert [n.op for n in graph.nodes].count("matmul_add") == 3
    for n in graph.nodes:
        if n.op in ("multiply", "matmul") and not n.mutates:
            assert tuple(graph.values[n.outputs[0]].shape) not in weights
    for a, b in zip(me.parameters(), ms.parameters(), strict=True):
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)
        assert a.grad is None and b.grad is None


@pytest.mark.parametrize("zero", ["none", "keep_zeros", "no_zero_grad"])
def test_observable_gradients_keep_their_exact_values(zero):
    sizes = [12, 40, 3]
    kw = {"none": {}, "keep_zeros": {"set_to_none": False}, "no_zero_grad": {"zero": False}}[zero]
    me, ms = _mlp(1, sizes), _mlp(1, sizes)
    eager = _sgd_step(me, fw.optim.SGD(me.parameters(), lr=0.05), **kw)
    static = fw.jit.to_static(_sgd_step(ms, fw.optim.SGD(ms.parameters(), lr=0.05), **kw))
    x, y = fw.randn(40, 12), fw.randint(0, 3, (40,))
    for _ in range(3):
        static(x, y)
        eager(x, y)
    folded = _stats(static, "update_fold")
    if zero == "none":
        assert folded["products"] == 2
    else:  # the step leaves p.grad for the user: the update is left as traced
        assert folded == {"products": 0, "sums": 0}
        for a, b in zip(me.parameters(), ms.parameters(), strict=True):
            np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), rtol=1e-5, atol=1e-7)
    for a, b in zip(me.parameters(), ms.parameters(), strict=True):
        np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-5,
                                   atol=1e-6)


def test_momentum_and_weight_decay_updates_are_left_alone():
    sizes = [10, 36, 4]
    for kw in ({"momentum": 0.9}, {"weight_decay": 0.01}):
        me, ms = _mlp(2, sizes), _mlp(2, sizes)
        eager = _sgd_step(me, fw.optim.SGD(me.parameters(), lr=0.05, **kw))
        static = fw.jit.to_static(_sgd_step(ms, fw.optim.SGD(ms.parameters(), lr=0.05, **kw)))
        x, y = fw.randn(36, 10), fw.randint(0, 4, (36,))
        for _ in range(3):
            static(x, y)
            eager(x, y)
        assert _stats(static, "update_fold") == {"products": 0, "sums": 0}
        for a, b in zip(me.parameters(), ms.parameters(), strict=True):
            np.testing.assert_allclose(b.detach().numpy(), a.detach().numpy(), rtol=1e-5,
                                       atol=1e-6)


def _update_graph(a_shape, b_shape, transpose_a):
    """``p += (A @ B) * -0.5`` with ``A`` optionally a transposed view."""
    g = Graph()
    a_src = a_shape[::-1] if transpose_a else a_shape
    a0 = g.new_value(a_src, "float64", kind="input")
    b = g.new_value(b_shape, "float64", kind="input")
    p = g.new_value((a_shape[0], b_shape[1]), "float64", kind="state")
    g.inputs, g.state = [a0, b], [p]
    nodes = []
    a = a0
    if transpose_a:
        a = g.new_value(a_shape, "float64")
        nodes.append(Node("transpose", (Ref(a0), (1, 0)), {}, [a]))
    prod = g.new_value((a_shape[0], b_shape[1]), "float64")
    u = g.new_value((a_shape[0], b_shape[1]), "float64")
    nodes.append(Node("matmul", (Ref(a), Ref(b)), {}, [prod]))
    nodes.append(Node("multiply", (Ref(prod), -0.5), {}, [u]))
    nodes.append(Node("add", (Ref(p), Ref(u)), {"out": Ref(p)}, [], [p]))
    g.nodes = nodes
    return g


@pytest.mark.parametrize("a_shape, b_shape, transpose_a, fallback", [
    ((30, 4), (4, 50), True, "left"),
    ((30, 40), (40, 5), False, "product"),
    ((40, 30), (30, 2), True, "right"),
    ((128, 8), (8, 160), True, "left"),  # large enough for the BLAS gemm path
])
def test_the_update_becomes_one_matmul_add(a_shape, b_shape, transpose_a, fallback):
    rng = np.random.default_rng(0)
    g = _update_graph(a_shape, b_shape, transpose_a)
    a = rng.standard_normal(a_shape[::-1] if transpose_a else a_shape)
    b = rng.standard_normal(b_shape)
    p = rng.standard_normal((a_shape[0], b_shape[1]))
    want = p.copy()
    Executable(g, fw.get_backend()).run([a, b], [want])
    assert update_fold.run(g) == {"products": 1, "sums": 0}
    ops = [n.op for n in g.nodes]
    assert "matmul" not in ops and "multiply" not in ops and "add" not in ops
    (node,) = [n for n in g.nodes if n.op == "matmul_add"]
    assert node.mutates == g.state and node.extra == {"scale": -0.5, "fallback": fallback}
    got = p.copy()
    Executable(g, fw.get_backend()).run([a, b], [got])
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)
    # the same node without BLAS (a strided operand it does not take): the reference path
    got = p.copy()
    wide = np.zeros((a.shape[0], 2 * a.shape[1]))
    wide[:, ::2] = a
    Executable(g, fw.get_backend()).run([wide[:, ::2], b], [got])
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-13)


def test_the_update_stays_at_the_product_only_when_nothing_reads_the_weight_between():
    g = _update_graph((8, 3), (3, 9), False)
    p = g.state[0]
    mm = next(n for n in g.nodes if n.op == "matmul")
    reader = g.new_value((8, 9), "float64")
    g.nodes.insert(g.nodes.index(mm) + 1, Node("negative", (Ref(p),), {}, [reader]))
    g.outputs = [reader]  # a read of the weight after the product, before the update
    update_fold.run(g)
    assert [n.op for n in g.nodes] == ["negative", "matmul_add"]
    g2 = _update_graph((8, 3), (3, 9), False)
    update_fold.run(g2)
    assert [n.op for n in g2.nodes] == ["matmul_add"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blas_update_adds_the_scaled_product_for_every_layout(dtype):
    gemm = blas.gemm_update()
    if gemm is None:
        pytest.skip("NumPy here is not built on scipy-openblas")
    rng = np.random.default_rng(2)
    for ta in (False, True):
        for tb in (False, True):
            a = rng.standard_normal((6, 5) if ta else (5, 6)).astype(dtype)
            b = rng.standard_normal((7, 6) if tb else (6, 7)).astype(dtype)
            a, b = (a.T if ta else a), (b.T if tb else b)
            c = rng.standard_normal((5, 7)).astype(dtype)
            want = c + dtype(-0.3) * (a @ b)
            assert gemm(c, a, b, -0.3)
            np.testing.assert_allclose(c, want, rtol=1e-5)


def test_blas_update_refuses_what_it_cannot_pass_safely():
    gemm = blas.gemm_update()
    if gemm is None:
        pytest.skip("NumPy here is not built on scipy-openblas")
    a, b = np.ones((4, 3), np.float32), np.ones((3, 5), np.float32)
    c = np.zeros((4, 5), np.float32)
    refused = [
        (c.astype(np.float64), a, b),                 # dtypes differ
        (np.zeros((5, 4), np.float32).T, a, b),       # result not C-contiguous
        (c, np.ones((4, 6), np.float32)[:, ::2], b),  # strided operand
        (c, a, np.ones((4, 5), np.float32)),          # shapes do not chain
        (c, np.ones((4, 0), np.float32), np.ones((0, 5), np.float32)),  # empty
        (np.zeros((4, 4), np.float32), np.zeros((4, 4), np.float32), None),
    ]
    sq = np.zeros((4, 4), np.float32)
    refused[-1] = (sq, sq, np.ones((4, 4), np.float32))  # the result overlaps an operand
    ro = np.zeros((4, 5), np.float32)
    ro.flags.writeable = False
    refused.append((ro, a, b))
    refused.append((c, a.tolist(), b))  # not an array
    for args in refused:
        before = np.array(args[0], copy=True)
        assert gemm(*args, 1.0) is False
        np.testing.assert_array_equal(args[0], before)
    assert gemm(c, a, b, 2.0) and (c == 6.0).all()


def test_a_product_read_elsewhere_is_left_alone():
    g = _update_graph((8, 3), (3, 9), False)
    prod = next(n for n in g.nodes if n.op == "matmul").outputs[0]
    g.outputs = [prod]  # the gradient is visible outside the program
    assert update_fold.run(g) == {"products": 0, "sums": 0}


@pytest.mark.parametrize("shape, axis", [((64, 7), 0), ((5, 40, 3), (0, 1)), ((6, 50), 1)])
def test_scaled_sum_blas_is_the_sum_times_the_scale(shape, axis):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(np.float32)
    g = Graph()
    xv = g.new_value(shape, "float32", kind="input")
    out_shape = np.sum(x, axis=axis).shape
    s = g.new_value(out_shape, "float32")
    g.inputs, g.outputs = [xv], [s]
    g.nodes = [Node("sum", (Ref(xv),), {"axis": axis}, [s])]
    reduce_blas.run(g)
    assert g.nodes[0].op == "sum_blas"
    g.nodes[0].extra["scale"] = -0.25
    for arr in (x, np.asfortranarray(x)):  # the BLAS path and the plain fallback
        (got,) = Executable(g, fw.get_backend()).run([arr], [])
        np.testing.assert_allclose(got, np.sum(x, axis=axis) * np.float32(-0.25), rtol=1e-5,
                                   atol=1e-5)
        assert got.dtype == np.float32
    g.nodes[0].extra["scale"] = float("nan")
    with pytest.raises(ValueError, match="malformed"):
        Executable(g, fw.get_backend()).run([x], [])
