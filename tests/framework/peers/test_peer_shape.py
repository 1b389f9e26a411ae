"""Shape, indexing, sorting ops and autograd.functional against PyTorch 2.13: forward values
and gradients of every op (float64), indices of sort/topk/unique, and the functional API."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the peers extra (torch==2.13.0) is not installed")

import torch.nn.functional as TF  # noqa: E402

import framework as fw  # noqa: E402
from framework.autograd import functional as fwf  # noqa: E402

pytestmark = pytest.mark.peers


def _idx(lib, values):
    return lib.tensor(values) if lib is fw else torch.tensor(values, dtype=torch.int64)


def _mask(lib, values):
    return lib.tensor(values) if lib is fw else torch.tensor(values, dtype=torch.bool)


def _pad(lib, x, p, **kw):
    return fw.pad(x, p, **kw) if lib is fw else TF.pad(x, p, **kw)


M34 = [[True, False, True, True], [False, False, True, False], [True, True, True, False]]

# name -> (function of (lib, *tensors), input shapes); lib is framework or torch
CASES = {
    "reshape": (lambda L, x: x.reshape(-1, 6), [(2, 3, 2)]),
    "view": (lambda L, x: x.view(3, 4), [(2, 6)]),
    "flatten": (lambda L, x: L.flatten(x, 1), [(2, 3, 2)]),
    "unflatten": (lambda L, x: x.unflatten(1, (3, 2)), [(2, 6)]),
    "squeeze": (lambda L, x: x.squeeze(1), [(3, 1, 2)]),
    "squeeze_all": (lambda L, x: x.squeeze(), [(1, 3, 1)]),
    "unsqueeze": (lambda L, x: x.unsqueeze(-1), [(3, 2)]),
    "transpose": (lambda L, x: x.transpose(0, 2), [(2, 3, 4)]),
    "permute": (lambda L, x: x.permute(1, 2, 0), [(2, 3, 4)]),
    "swapaxes": (lambda L, x: L.swapaxes(x, 0, 1), [(2, 3)]),
    "movedim": (lambda L, x: L.movedim(x, (0, 2), (1, 0)), [(2, 3, 4)]),
    "T": (lambda L, x: x.T, [(2, 3)]),
    "expand": (lambda L, x: x.expand(4, -1, 3), [(2, 1)]),
    "broadcast_to": (lambda L, x: L.broadcast_to(x, (2, 3, 4)), [(3, 1)]),
    "repeat": (lambda L, x: x.repeat(2, 1, 3), [(3, 2)]),
    "tile": (lambda L, x: L.tile(x, (2,)), [(2, 3)]),
    "repeat_interleave": (lambda L, x: x.repeat_interleave(3, dim=0), [(2, 3)]),
    "cat": (lambda L, x, y: L.cat([x, y, x], dim=1), [(2, 3), (2, 2)]),
    "stack": (lambda L, x, y: L.stack([x, y], dim=1), [(2, 3), (2, 3)]),
    "split_int": (lambda L, x: L.cat(L.split(x, 2, dim=1)[::-1], 1), [(2, 5)]),
    "split_sizes": (lambda L, x: x.split([1, 3], 0)[1] * 2, [(4, 2)]),
    "chunk": (lambda L, x: L.chunk(x, 3)[1], [(7, 2)]),
    "unbind": (lambda L, x: L.unbind(x, 1)[2], [(2, 3)]),
    "flip": (lambda L, x: L.flip(x, (0, 2)), [(2, 3, 2)]),
    "roll": (lambda L, x: L.roll(x, (1, -2), (0, 1)), [(3, 4)]),
    "roll_flat": (lambda L, x: L.roll(x, 4), [(3, 4)]),
    "pad_constant": (lambda L, x: _pad(L, x, (1, 2, 0, 1), value=0.5), [(2, 3)]),
    "pad_negative": (lambda L, x: _pad(L, x, (-1, 2)), [(2, 4)]),
    "pad_reflect": (lambda L, x: _pad(L, x, (2, 1, 1, 2), mode="reflect"), [(1, 3, 4)]),
    "pad_replicate": (lambda L, x: _pad(L, x, (2, 1), mode="replicate"), [(1, 2, 3)]),
    "pad_circular": (lambda L, x: _pad(L, x, (1, 2), mode="circular"), [(1, 2, 3)]),
    "tril": (lambda L, x: L.tril(x, diagonal=-1), [(2, 3, 4)]),
    "triu": (lambda L, x: x.triu(1), [(4, 3)]),
    "narrow": (lambda L, x: x.narrow(1, 1, 2), [(2, 4)]),
    "select": (lambda L, x: x.select(0, -1), [(2, 4)]),
    "slice": (lambda L, x: x[1:, ::2], [(3, 5)]),
    "int_and_none": (lambda L, x: x[-1, None, 1:3], [(3, 4)]),
    "repeated_index": (lambda L, x: x[_idx(L, [0, 0, 2, 0])], [(3, 2)]),
    "two_index_arrays": (lambda L, x: x[_idx(L, [0, 2, 2]), _idx(L, [1, 1, 3])], [(3, 4)]),
    "bool_mask": (lambda L, x: x[_mask(L, M34)], [(3, 4)]),
    "gather": (lambda L, x: L.gather(x, 1, _idx(L, [[0, 2, 2], [1, 1, 0]])), [(2, 4)]),
    "gather_small_index": (lambda L, x: x.gather(0, _idx(L, [[2, 0], [2, 2]])), [(3, 3)]),
    "scatter_add": (lambda L, x, s: L.scatter_add(x, 1, _idx(L, [[0, 2, 2], [1, 1, 0]]), s),
                    [(2, 4), (2, 3)]),
    "scatter_add_small_index": (lambda L, x, s: x.scatter_add(0, _idx(L, [[2, 0]]), s),
                                [(3, 4), (1, 2)]),
    "scatter": (lambda L, x, s: L.scatter(x, 1, _idx(L, [[3, 0], [1, 2]]), s),
                [(2, 4), (2, 2)]),
    "scatter_value": (lambda L, x: x.scatter(0, _idx(L, [[1, 0, 1]]), 2.0), [(2, 3)]),
    "index_select": (lambda L, x: L.index_select(x, 1, _idx(L, [3, 0, 3])), [(2, 4)]),
    "masked_fill": (lambda L, x: x.masked_fill(_mask(L, M34[0]), -1.5), [(3, 4)]),
    "masked_select": (lambda L, x: L.masked_select(x, _mask(L, M34)), [(3, 4)]),
    "take_along_dim": (lambda L, x: L.take_along_dim(x, _idx(L, [[[2, 0]]]), 2), [(2, 3, 3)]),
    "take_along_dim_flat": (lambda L, x: L.take_along_dim(x, _idx(L, [5, 0, 5])), [(2, 3)]),
    "sort": (lambda L, x: L.sort(x, dim=0, descending=True).values, [(4, 3)]),
    "topk": (lambda L, x: L.topk(x, 2, dim=1).values, [(3, 5)]),
    "topk_smallest": (lambda L, x: x.topk(3, largest=False)[0], [(6,)]),
    "kthvalue": (lambda L, x: L.kthvalue(x, 2, dim=0).values, [(3, 2)]),
    "msort": (lambda L, x: L.msort(x), [(4, 2)]),
    "index_add": (lambda L, x, s: L.index_add(x, 1, _idx(L, [2, 0, 2]), s, alpha=1.5),
                  [(2, 4), (2, 3)]),
    "index_fill": (lambda L, x: x.index_fill(0, _idx(L, [1, 1]), -2.0), [(3, 2)]),
    "take": (lambda L, x: L.take(x, _idx(L, [[5, 0], [5, 1]])), [(2, 3)]),
    "diagonal": (lambda L, x: L.diagonal(x, offset=-1, dim1=2, dim2=0), [(3, 2, 4)]),
    "diag_vector": (lambda L, x: L.diag(x, 1), [(3,)]),
    "diag_matrix": (lambda L, x: x.diag(-1), [(3, 4)]),
    "meshgrid": (lambda L, x, y: L.stack(L.meshgrid(x, y, indexing="xy")), [(3,), (2,)]),
}


def _run(lib, fn, arrays, grads):
    xs = [lib.tensor(a, dtype=lib.float64, requires_grad=True) for a in arrays]
    out = fn(lib, *xs)
    g = lib.tensor(grads(out.shape), dtype=lib.float64)
    (out * g).sum().backward()
    return out.detach().numpy(), [x.grad.numpy() if x.grad is not None else None for x in xs]


@pytest.mark.parametrize("name", sorted(CASES))
def test_forward_and_gradients_match_torch(name):
    fn, shapes = CASES[name]
    rng = np.random.default_rng(abs(hash(name)) % 2 ** 32)
    arrays = [rng.standard_normal(s) for s in shapes]
    grad_rng = np.random.default_rng(0)
    upstream = {}

    def grads(shape):
        key = tuple(shape)
        if key not in upstream:
            upstream[key] = grad_rng.standard_normal(key)
        return upstream[key]

    want, want_grads = _run(torch, fn, arrays, grads)
    got, got_grads = _run(fw, fn, arrays, grads)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    for g, w in zip(got_grads, want_grads, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


def test_sort_topk_argsort_indices_match_torch():
    a = np.random.default_rng(5).standard_normal((4, 6))
    x, t = fw.tensor(a), torch.tensor(a)
    for dim in (0, 1, -1):
        for desc in (False, True):
            np.testing.assert_array_equal(fw.sort(x, dim, desc).indices.numpy(),
                                          torch.sort(t, dim, desc).indices.numpy())
            np.testing.assert_array_equal(fw.argsort(x, dim, desc).numpy(),
                                          torch.argsort(t, dim, desc).numpy())
    for largest in (True, False):
        got, want = fw.topk(x, 3, 1, largest), torch.topk(t, 3, 1, largest)
        np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
        np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
    ties = [2.0, 1.0, 2.0, 3.0, 1.0]
    for desc in (False, True):
        np.testing.assert_array_equal(
            fw.sort(fw.tensor(ties), descending=desc, stable=True).indices.numpy(),
            torch.sort(torch.tensor(ties), descending=desc, stable=True).indices.numpy())


def test_unique_matches_torch():
    a = np.array([[3, 1, 3], [2, 1, 7]])
    got = fw.unique(fw.tensor(a), return_inverse=True, return_counts=True)
    want = torch.unique(torch.tensor(a), return_inverse=True, return_counts=True)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g.numpy(), w.numpy())
    rows = np.array([[1, 2], [0, 1], [1, 2]])
    np.testing.assert_array_equal(fw.unique(fw.tensor(rows), dim=0).numpy(),
                                  torch.unique(torch.tensor(rows), dim=0).numpy())


def test_split_chunk_piece_shapes_match_torch():
    for n in range(0, 9):
        for k in range(1, 5):
            assert [p.shape for p in fw.arange(n).chunk(k)] == \
                [tuple(p.shape) for p in torch.arange(n).chunk(k)]
            if n:
                assert [p.shape for p in fw.arange(n).split(k)] == \
                    [tuple(p.shape) for p in torch.arange(n).split(k)]


def _energy(lib):
    def f(x, y):
        return (x.sin() * y).sum() + (x ** 2 * y ** 3).sum()

    return f


def _field(lib):
    def f(x, y):
        return (x.tanh() * y, (x * y).sum().reshape(1))

    return f


@pytest.mark.parametrize("create_graph", [False, True])
def test_autograd_functional_matches_torch(create_graph):
    rng = np.random.default_rng(11)
    a, b = rng.standard_normal(3), rng.standard_normal(3)
    va, vb = rng.standard_normal(3), rng.standard_normal(3)
    wo, wt = rng.standard_normal(3), rng.standard_normal(1)

    def both(lib):
        return (lib.tensor(a, dtype=lib.float64), lib.tensor(b, dtype=lib.float64))

    def vec(lib, *arrs):
        return tuple(lib.tensor(v, dtype=lib.float64) for v in arrs)

    tf = torch.autograd.functional
    pairs = [
        (fwf.jacobian(_field(fw), both(fw), create_graph=create_graph),
         tf.jacobian(_field(torch), both(torch), create_graph=create_graph)),
        (fwf.hessian(_energy(fw), both(fw), create_graph=create_graph),
         tf.hessian(_energy(torch), both(torch), create_graph=create_graph)),
        (fwf.vjp(_field(fw), both(fw), vec(fw, wo, wt), create_graph=create_graph),
         tf.vjp(_field(torch), both(torch), vec(torch, wo, wt), create_graph=create_graph)),
        (fwf.jvp(_field(fw), both(fw), vec(fw, va, vb), create_graph=create_graph),
         tf.jvp(_field(torch), both(torch), vec(torch, va, vb), create_graph=create_graph)),
        (fwf.hvp(_energy(fw), both(fw), vec(fw, va, vb), create_graph=create_graph),
         tf.hvp(_energy(torch), both(torch), vec(torch, va, vb), create_graph=create_graph)),
        (fwf.vhp(_energy(fw), both(fw), vec(fw, va, vb), create_graph=create_graph),
         tf.vhp(_energy(torch), both(torch), vec(torch, va, vb), create_graph=create_graph)),
    ]

    def flat(x):
        if isinstance(x, (tuple, list)):
            return [y for item in x for y in flat(item)]
        return [x]

    for got, want in pairs:
        g, w = flat(got), flat(want)
        assert len(g) == len(w)
        for gi, wi in zip(g, w, strict=True):
            assert tuple(gi.shape) == tuple(wi.shape)
            np.testing.assert_allclose(gi.detach().numpy(), wi.detach().numpy(), rtol=1e-10,
                                       atol=1e-12)


def _inplace_program(L, x):
    x.add_(L.ones(3, dtype=x.dtype), alpha=2)
    x.sub_(0.5)
    x.mul_(L.tensor([[1.0], [2.0]], dtype=x.dtype)[0])
    x.div_(3)
    x.clamp_(min=-0.5, max=1.5)
    x[0] = 9.0
    x[1, 1:] = L.tensor([7.0, 8.0], dtype=x.dtype)
    x[x < 0] = -3.0
    x[:, 0] += 1.0
    x.masked_fill_(x > 8.5, 0.25)
    x[_idx(L, [1, 1])] = L.tensor([4.0, 5.0, 6.0], dtype=x.dtype)
    y = x.clone()
    y.copy_(L.tensor([1.0, 2.0, 3.0], dtype=x.dtype))
    y.fill_(L.tensor(2.0, dtype=x.dtype))
    return x, y


def test_inplace_ops_and_setitem_match_torch():
    a = np.random.default_rng(4).standard_normal((3, 3))
    got = _inplace_program(fw, fw.tensor(a))
    want = _inplace_program(torch, torch.tensor(a))
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g.numpy(), w.numpy())


def test_parameter_update_under_no_grad_matches_torch():
    a = np.random.default_rng(5).standard_normal(4)

    def train(L):
        w = L.tensor(a, requires_grad=True)
        for _ in range(5):
            loss = (L.tanh(w) * w).sum()
            loss.backward()
            with L.no_grad():
                w -= 0.1 * w.grad
                w.clamp_(-1.0, 1.0)
            w.grad.zero_()
        return w.detach().numpy()

    np.testing.assert_allclose(train(fw), train(torch), rtol=1e-12)


@pytest.mark.parametrize("reduce", ["sum", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("ties", [False, True])
def test_scatter_reduce_matches_torch(reduce, include_self, ties):
    rng = np.random.default_rng(6)
    a, s = rng.standard_normal((3, 4)), rng.standard_normal((2, 5))
    if ties:  # whole numbers: many equal values, so the tie rule of amax/amin matters
        a, s = np.round(a), np.round(s)
    idx = [[0, 2, 2, 1, 0], [3, 3, 0, 3, 3]]
    upstream = rng.standard_normal((3, 4))
    results = []
    for L in (fw, torch):
        x = L.tensor(a, requires_grad=True)
        y = L.tensor(s, requires_grad=True)
        out = L.scatter_reduce(x, 1, _idx(L, idx), y, reduce, include_self=include_self)
        (out * L.tensor(upstream)).sum().backward()
        results.append((out.detach().numpy(), x.grad.numpy(), y.grad.numpy()))
    for got, want in zip(*results, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
