"""Every pass keeps outputs and gradients: random programs and real models, before and after."""

from __future__ import annotations

import numpy as np
import pytest

import framework as fw
import framework.nn.functional as F
from framework import nn
from framework.jit import passes
from framework.jit.executor import Executable

from ._programs import traced

PASSES = dict(passes.PIPELINE)
PREREQUISITES = {"simplify": ("constant_folding",), "decompose": ("constant_folding",),
                 "xent": ("constant_folding", "simplify"), "memory": ("fusion",)}


def _program(fn, *args):
    """Trace ``fn`` without optimization; return (graph, input arrays, state arrays)."""
    prog, inputs, state = traced(fn, *args)
    return prog.raw_graph, inputs, state


def _run(graph, inputs, state, times=2):
    exe = Executable(graph, fw.get_backend())
    out = None
    for _ in range(times):  # twice: planned buffers are reused on the second run
        out = [np.array(o, copy=True) for o in exe.run(inputs, state)]
    return out


def _check_all_passes(graph, inputs, state, rtol=1e-5, atol=1e-6):
    want = _run(graph, inputs, state)
    stats = {}
    for name, fn in passes.PIPELINE:
        g = graph.copy()
        for before in PREREQUISITES.get(name, ()):  # the pipeline's order where it matters
            PASSES[before](g)
        stats[name] = fn(g)
        got = _run(g, inputs, state)
        assert len(got) == len(want)
        for a, b in zip(got, want, strict=True):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=name)
    g = graph.copy()
    passes.optimize(g)
    for a, b in zip(_run(g, inputs, state), want, strict=True):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg="pipeline")
    assert len(g.nodes) <= len(graph.nodes)
    return stats


def _random_fn(rng, params):
    """A random differentiable program over ``params``: returns (loss, grads)."""
    unary = [fw.exp, fw.tanh, fw.sigmoid, F.relu, lambda t: t * 1.0, lambda t: t + 0.0,
             lambda t: fw.neg(fw.neg(t)), lambda t: t.reshape(-1).reshape(t.shape), lambda t: t.T.T,
             lambda t: t * 0.5 + 0.25, lambda t: fw.sqrt(t * t + 1.0)]
    binary = [fw.add, fw.sub, fw.mul, lambda a, b: a / (b * b + 1.0), fw.maximum]
    plan = [(int(rng.integers(len(unary))), int(rng.integers(len(binary))),
             int(rng.integers(len(params)))) for _ in range(int(rng.integers(4, 9)))]

    def fn(x):
        h = x
        for u, b, p in plan:
            h = unary[u](h)
            h = binary[b](h, params[p])
            h = binary[b](h, params[p])  # the same expression twice: CSE material
        loss = (h * h).mean() + h.sum() * 0.0 + sum((p * p).sum() for p in params) * 0.01
        grads = fw.grad(loss, params)
        return (loss, *grads)

    return fn


@pytest.mark.parametrize("seed", range(6))
def test_random_programs_keep_outputs_and_gradients(seed):
    rng = np.random.default_rng(seed)
    params = [fw.tensor(rng.standard_normal((4, 5)) * 0.5, dtype=fw.float64,
                        requires_grad=True) for _ in range(3)]
    x = fw.tensor(rng.standard_normal((4, 5)), dtype=fw.float64)
    graph, inputs, state = _program(_random_fn(rng, params), x)
    _check_all_passes(graph, inputs, state, rtol=1e-10, atol=1e-12)


def test_each_pass_does_its_job_on_a_known_program():
    w = fw.randn(6, 6, requires_grad=True)

    def fn(x):
        a = (x @ w) * 1.0 + 0.0           # simplification
        b = fw.tanh(x @ w)                # x @ w again: CSE
        c = fw.ones(6) * 3.0 + 1.0        # constant folding
        unused = fw.exp(a) * 2.0          # dead code  # noqa: F841
        d = fw.sigmoid(a * 2.0 + b * c - 1.0)  # a fusable chain
        loss = (d * d).sum()
        (g,) = fw.grad(loss, [w])
        return loss, g

    graph, inputs, state = _program(fn, fw.randn(5, 6))
    stats = _check_all_passes(graph, inputs, state)
    assert stats["simplify"]["simplified"] >= 2
    assert stats["cse"]["merged"] >= 1
    assert stats["constant_folding"]["folded"] >= 2
    assert stats["dce"]["removed"] >= 1
    assert stats["fusion"]["fused_kernels"] >= 1
    assert stats["memory"]["planned"] >= 1


def _loss_and_grads(model, loss_of):
    params = list(model.parameters())

    def fn(*inputs):
        loss = loss_of(model, *inputs)
        return (loss, *fw.grad(loss, params))

    return fn


def test_mlp_keeps_outputs_and_gradients():
    fw.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 32), nn.GELU(),
                          nn.Linear(32, 4))
    fn = _loss_and_grads(model, lambda m, x, y: F.cross_entropy(m(x), y))
    graph, inputs, state = _program(fn, fw.randn(16, 20), fw.randint(0, 4, (16,)))
    _check_all_passes(graph, inputs, state)
    # eager GELU keeps its forward's erf for the gradient: one erf for both directions
    assert sum(n.op == "erf" for n in graph.nodes) == 1


def test_decompose_shares_the_erf_of_a_fused_gelu():
    def fn(x):  # the fused GELU kernel and an erf of the same scaled input
        return F.gelu(x), fw.erf(x * 0.7071067811865476)

    graph, inputs, state = _program(fn, fw.randn(8, 16))
    stats = _check_all_passes(graph, inputs, state)
    assert stats["decompose"]["shared"] == 1


def test_cnn_keeps_outputs_and_gradients():
    fw.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(4, 8, 3), nn.ReLU(), nn.Flatten(),
                          nn.Linear(8 * 2 * 2, 3))
    fn = _loss_and_grads(model, lambda m, x, y: F.cross_entropy(m(x), y))
    graph, inputs, state = _program(fn, fw.randn(4, 1, 8, 8), fw.randint(0, 3, (4,)))
    stats = _check_all_passes(graph, inputs, state, rtol=1e-4, atol=1e-5)
    assert stats["pool"]["fused"] == 1  # the max-pool's gradient masks: one kernel
    assert stats["xent"]["fused"] == 1


class EncoderBlock(nn.Module):
    """A pre-norm transformer encoder block (attention + feed-forward, residuals)."""

    def __init__(self, dim: int = 16, heads: int = 2, hidden: int = 32) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x):
        h = self.norm1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.ff(self.norm2(x))


def test_transformer_encoder_keeps_outputs_and_gradients():
    fw.manual_seed(0)
    model = EncoderBlock()
    fn = _loss_and_grads(model, lambda m, x: (m(x) ** 2).mean())
    graph, inputs, state = _program(fn, fw.randn(4, 8, 16))
    stats = _check_all_passes(graph, inputs, state, rtol=1e-4, atol=1e-5)
    # the projections and the feed-forward (and their input gradients) are one 2-D product
    # each: eager linear already folds them, so no N-d @ 2-d product is left to fold
    shape = lambda a: graph.values[a.id].shape  # noqa: E731
    products = [n for n in graph.nodes if n.op == "matmul"]
    assert len([n for n in products if len(shape(n.args[0])) == 2]) >= 6
    assert not [n for n in products if len(shape(n.args[0])) > 2 and len(shape(n.args[1])) == 2]
    # bias gradients and layer norm's row sums run as matrix-vector products
    assert stats["reduce_blas"]["rewritten"] >= 4
    # the query/key/value gradients are concatenated as (B, T, H, D) views: one copy
    assert stats["copies"]["merged"] == 1


def test_batch_fold_makes_one_2d_product_of_an_nd_by_2d_product():
    graph, inputs, state = _program(lambda x, w: fw.matmul(x, w), fw.randn(4, 8, 16),
                                    fw.randn(16, 5))
    folded = graph.copy()
    assert PASSES["batch_fold"](folded) == {"folded": 1}
    assert [n.op for n in folded.nodes] == ["reshape", "matmul", "reshape"]
    for a, b in zip(_run(folded, inputs, state), _run(graph, inputs, state), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_concatenated_reshapes_read_elsewhere_stay():
    from framework.jit.passes import copies

    def fn(a, b):
        ra = a.transpose(1, 2).reshape(2, 5, 12)
        rb = b.transpose(1, 2).reshape(2, 5, 12)
        joined = fw.cat([ra, rb], dim=2)
        return joined * 2.0, fw.cat([ra, rb * 1.5], dim=2) + ra.sum()

    graph, inputs, state = _program(fn, fw.randn(2, 3, 5, 4), fw.randn(2, 3, 5, 4))
    _check_all_passes(graph, inputs, state)
    g = graph.copy()
    assert copies.run(g)["merged"] == 0  # ra is read by a sum and a second cat


@pytest.mark.parametrize("axis,keepdims", [(0, False), ((0, 1), False), ((0, 1), True),
                                           (-1, True), ((1, 2), False), (2, False)])
def test_reduce_blas_kernel_sums_like_numpy(axis, keepdims):
    from framework.jit.ir import Graph, Node, Ref
    from framework.jit.passes import reduce_blas

    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 36, 34))
    g = Graph()
    vx = g.new_value(x.shape, "float64", kind="input")
    want = x.sum(axis=axis, keepdims=keepdims)
    vo = g.new_value(want.shape, "float64")
    g.inputs.append(vx)
    g.nodes.append(Node("sum", (Ref(vx),), {"axis": axis, "keepdims": keepdims}, [vo]))
    g.outputs.append(vo)
    assert reduce_blas.run(g)["rewritten"] == 1
    assert g.nodes[0].op == "sum_blas"
    exe = Executable(g, fw.get_backend())
    np.testing.assert_allclose(exe.run([x], [])[0], want, rtol=1e-12)
    # a strided view cannot be seen as 2-D for free: the kernel sums it the plain way
    xt = np.ascontiguousarray(x[::-1])[::-1]
    view = np.concatenate([x, x], axis=2)[:, :, :34]
    assert not view.flags.c_contiguous
    np.testing.assert_allclose(exe.run([view], [])[0], want, rtol=1e-12)
    np.testing.assert_allclose(exe.run([xt], [])[0], want, rtol=1e-12)


def test_reduce_blas_leaves_other_sums_alone():
    from framework.jit.ir import Graph, Node, Ref
    from framework.jit.passes import reduce_blas

    g = Graph()
    vx = g.new_value((4, 50, 3), "float32", kind="input")
    g.inputs.append(vx)
    for axis in [(0, 2), None, 1]:  # not a block of axes, everything, too short a sum
        out = g.new_value((50,) if axis == (0, 2) else () if axis is None else (4, 3),
                          "float32")
        g.nodes.append(Node("sum", (Ref(vx),), {"axis": axis}, [out]))
    g.nodes.append(Node("sum", (Ref(vx),), {"axis": 0, "dtype": np.float64},
                        [g.new_value((50, 3), "float64")]))
    assert reduce_blas.run(g)["rewritten"] == 0


def test_memory_plan_never_shares_a_buffer_between_live_values():
    fw.manual_seed(1)
    w = fw.randn(8, 8)

    def fn(x):
        a = fw.tanh(x @ w)
        b = fw.exp(a * 0.1)
        c = (a + b) @ w
        d = fw.sigmoid(c) * a
        return d.sum(), a, d

    graph, inputs, state = _program(fn, fw.randn(8, 8))
    g = graph.copy()
    passes.optimize(g)
    exe = Executable(g, fw.get_backend())
    first = [np.array(o, copy=True) for o in exe.run(inputs, state)]
    second = exe.run(inputs, state)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_allclose(a, b)
    # outputs never live in planned (reused) buffers
    assert all(o is not buf for o in second for buf in exe.scratch.values())


def test_reshapes_of_one_array_share_the_first_reshape():
    from framework.jit.passes import simplify

    w = fw.randn(4, 6, requires_grad=True)

    def fn(x):
        t = x.transpose(1, 2)            # a view: reshaping it copies
        a = t.reshape(2, 24) @ fw.ones(24, 3)
        b = t.reshape(8, 6) @ w.T        # the same data again: no second copy
        c = t.reshape(2, 24).sum()
        loss = a.sum() + b.sum() + c
        return loss, *fw.grad(loss, [w])

    graph, inputs, state = _program(fn, fw.randn(2, 3, 8))
    _check_all_passes(graph, inputs, state)
    g = graph.copy()
    stats = simplify.run(g)
    assert stats["rules"].get("reshape of an earlier reshape", 0) >= 1
    sources = [n.args[0].id for n in g.nodes if n.op == "reshape"]
    transposed = [n.outputs[0] for n in g.nodes if n.op == "transpose"
                  and n.args[0].id in g.inputs]
    assert sum(1 for s in sources if s in transposed) == 1


def test_gelu_gradient_reuses_the_forward_cdf_bit_for_bit():
    fw.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 40), nn.GELU(), nn.Linear(40, 3))
    params = list(model.parameters())

    def fn(x):
        loss = (model(x) ** 2).mean()
        return (loss, *fw.grad(loss, params))

    static = fw.jit.to_static(fn, passes=False)
    x = fw.randn(50, 6) * 3
    static(x)
    prog = static.last_program
    state = [t.data if attr == "data" else t.grad.data for t, attr in prog.state_bind]
    plain, shared = prog.raw_graph.copy(), prog.raw_graph.copy()
    passes.optimize(plain, skip=("decompose",))
    report = dict(passes.optimize(shared))
    assert report["decompose"].get("cdf_shared") == 1
    want = Executable(plain, fw.get_backend()).run([x.data], state)
    got = Executable(shared, fw.get_backend()).run([x.data], state)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
