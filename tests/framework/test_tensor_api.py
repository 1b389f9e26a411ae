"""The Tensor API a learner meets first: creation, conversion, properties, printing, grad
mode, hooks and reproducible random numbers."""

import numpy as np
import pytest

import framework as fw


def test_tensor_from_data_infers_pytorch_dtypes_and_copies():
    assert fw.tensor([1.0, 2.0]).dtype == fw.float32
    assert fw.tensor([1, 2]).dtype == fw.int64
    assert fw.tensor([True, False]).dtype == fw.bool
    assert fw.tensor(np.array([1.0, 2.0])).dtype == fw.float64
    assert fw.tensor(np.float64(2.0)).dtype == fw.float64
    assert fw.tensor([[1, 2]], dtype=fw.float16).dtype == fw.float16
    assert fw.tensor([fw.tensor(1.0), fw.tensor(2.0)]).tolist() == [1.0, 2.0]
    a = np.zeros(2)
    t = fw.tensor(a)
    a[0] = 5
    assert t.tolist() == [0.0, 0.0]  # fw.tensor copies ...
    s = fw.from_numpy(a)
    a[1] = 7
    assert s.tolist() == [5.0, 7.0]  # ... from_numpy shares memory
    with pytest.raises(TypeError, match="rectangular"):
        fw.tensor([[1, 2], [3]])
    with pytest.raises(TypeError, match="numpy.ndarray"):
        fw.from_numpy([1, 2])


def test_filled_and_range_constructors():
    assert fw.zeros(2, 3).tolist() == [[0] * 3] * 2 and fw.zeros((2, 3)).shape == (2, 3)
    assert fw.ones([2]).dtype == fw.float32
    assert fw.full((2,), 1.5).tolist() == [1.5, 1.5] and fw.full((1,), 3).dtype == fw.int64
    assert fw.full(2, True).dtype == fw.bool
    assert fw.empty(3, 0).shape == (3, 0)
    assert fw.arange(4).tolist() == [0, 1, 2, 3] and fw.arange(4).dtype == fw.int64
    assert fw.arange(1, 2, 0.25).tolist() == [1.0, 1.25, 1.5, 1.75]
    assert fw.arange(3, dtype=fw.float64).dtype == fw.float64
    assert fw.linspace(0, 1, 5).tolist() == [0, 0.25, 0.5, 0.75, 1]
    np.testing.assert_array_equal(fw.eye(2, 3).numpy(), np.eye(2, 3))
    x = fw.tensor([1, 2])
    assert fw.zeros_like(x).dtype == fw.int64 and fw.zeros_like(x).tolist() == [0, 0]
    assert fw.ones_like(x, dtype=fw.float64).dtype == fw.float64
    assert fw.full_like(x, 7).tolist() == [7, 7] and fw.empty_like(x).shape == (2,)
    assert fw.zeros(2, requires_grad=True).requires_grad


def test_random_numbers_are_reproducible_with_manual_seed():
    def draw():
        return (fw.rand(3), fw.randn(2, 2), fw.randint(0, 10, (4,)), fw.normal(1.0, 2.0, (3,)),
                fw.uniform(-1, 1, (3,)), fw.randperm(5))

    fw.manual_seed(123)
    first = draw()
    fw.manual_seed(123)
    second = draw()
    for a, b in zip(first, second, strict=True):
        assert a.tolist() == b.tolist()
    assert first[0].dtype == fw.float32 and first[2].dtype == fw.int64
    r = fw.rand(1000)
    assert 0 <= r.min().item() and r.max().item() < 1
    assert sorted(first[5].tolist()) == [0, 1, 2, 3, 4]
    g1, g2 = fw.Generator().manual_seed(7), fw.Generator().manual_seed(7)
    assert fw.randn(3, generator=g1).tolist() == fw.randn(3, generator=g2).tolist()
    n = fw.normal(5.0, 0.5, (20000,), dtype=fw.float64)
    assert abs(n.mean().item() - 5.0) < 0.02 and abs(n.std().item() - 0.5) < 0.02


def test_conversions_and_properties():
    x = fw.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert x.shape == (2, 3) and x.ndim == 2 and x.dim() == 2 and x.numel() == 6
    assert x.size() == (2, 3) and x.size(-1) == 3 and len(x) == 2
    assert x.T.tolist() == [[1, 4], [2, 5], [3, 6]]
    assert x.dtype == fw.float32 and x.to(fw.float64).dtype == fw.float64
    assert x.to("float16").dtype == fw.float16 and x.astype(fw.int64).tolist()[1] == [4, 5, 6]
    assert x.double().dtype == fw.float64 and x.long().dtype == fw.int64
    assert x.int().dtype == fw.int32 and x.bool().dtype == fw.bool and x.half().dtype == fw.float16
    assert isinstance(x.numpy(), np.ndarray) and x.tolist()[0] == [1.0, 2.0, 3.0]
    assert fw.tensor(3).item() == 3 and isinstance(fw.tensor(3).item(), int)
    assert fw.tensor([2.5]).item() == 2.5 and float(fw.tensor(1.5)) == 1.5
    with pytest.raises(ValueError, match="one-element"):
        x.item()
    w = fw.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        w.numpy()
    assert w.detach().numpy().tolist() == [1.0, 1.0]


def test_cast_between_floats_is_differentiable():
    x = fw.tensor([1.0, 2.0], requires_grad=True)
    y = x.to(fw.float64) * 3
    assert y.dtype == fw.float64
    y.sum().backward()
    assert x.grad.dtype == fw.float32 and x.grad.tolist() == [3.0, 3.0]


def test_detach_and_clone():
    x = fw.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf
    assert np.shares_memory(d.numpy(), x.detach().numpy())
    c = x.clone()
    assert c.requires_grad and not c.is_leaf
    (c * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]
    c2 = d.clone()
    c2.add_(1.0)
    assert x.tolist() == [1.0, 2.0]


def test_printing_shows_values_dtype_shape_and_grad_status():
    assert repr(fw.tensor([1.0, 2.5])) == "tensor([1. , 2.5])"
    assert repr(fw.tensor(3)) == "tensor(3)"
    assert "dtype=float64" in repr(fw.tensor([1.0], dtype=fw.float64))
    assert "dtype=int32" in repr(fw.tensor([1], dtype=fw.int32))
    assert repr(fw.ones(2, requires_grad=True)) == "tensor([1., 1.], requires_grad=True)"
    y = fw.ones(2, requires_grad=True) * 2
    assert repr(y) == "tensor([2., 2.], grad_fn=<MulBackward>)"
    big = repr(fw.zeros(30, 30))
    assert "..." in big and "shape=(30, 30)" in big
    assert repr(fw.zeros(0, 3)) == "tensor([], shape=(0, 3))"
    assert str(fw.tensor([0.12345678])) == "tensor([0.1235])"


def test_requires_grad_rules():
    x = fw.zeros(2)
    assert x.requires_grad_() is x and x.requires_grad
    with pytest.raises(RuntimeError, match="floating dtype"):
        fw.tensor([1, 2]).requires_grad_()
    y = x * 2
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)


def test_grad_mode_contexts_and_decorators():
    x = fw.ones(2, requires_grad=True)
    with fw.no_grad():
        assert not (x * 2).requires_grad
        with fw.enable_grad():
            assert (x * 2).requires_grad
    assert (x * 2).requires_grad

    @fw.no_grad()
    def infer(t):
        return t * 2

    @fw.no_grad
    def infer_bare(t):
        return t * 2

    @fw.set_grad_enabled(False)
    def infer_set(t):
        return t * 2

    assert fw.is_grad_enabled()
    assert not infer(x).requires_grad and not infer_bare(x).requires_grad
    assert not infer_set(x).requires_grad and fw.is_grad_enabled()
    with fw.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert fw.is_grad_enabled()
    fw.set_grad_enabled(False)
    try:
        assert not fw.is_grad_enabled()
    finally:
        fw.set_grad_enabled(True)
    with pytest.raises(ValueError):
        with fw.no_grad():
            raise ValueError("grad mode is restored on errors")
    assert fw.is_grad_enabled()


def test_hooks_and_retain_grad():
    x = fw.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    h = x.register_hook(lambda g: seen.append(g.tolist()))
    y = x * 3
    y.retain_grad()
    y.register_hook(lambda g: g * 10)  # replaces the gradient flowing on
    (y * y).sum().backward()
    assert y.grad.tolist() == [6.0, 12.0]  # retain_grad registered first: sees the original
    assert seen == [[180.0, 360.0]] and x.grad.tolist() == [180.0, 360.0]
    h.remove()
    x.grad = None
    (x * 1).sum().backward()
    assert seen == [[180.0, 360.0]] and x.grad.tolist() == [1.0, 1.0]
    with pytest.raises(RuntimeError, match="doesn't require grad"):
        fw.zeros(1).register_hook(lambda g: g)


def test_format_iterate_and_contains():
    loss = fw.tensor(0.123456)
    assert f"{loss:.3f}" == "0.123" and f"{fw.tensor(7):03d}" == "007"
    assert f"{fw.ones(2)}" == "tensor([1., 1.])"
    with pytest.raises(TypeError, match="format"):
        f"{fw.ones(2):.2f}"
    x = fw.arange(6.0).reshape(3, 2).requires_grad_()
    rows = list(x)
    assert [r.tolist() for r in rows] == [[0, 1], [2, 3], [4, 5]]
    (rows[0] * 2 + rows[2]).sum().backward()
    assert x.grad.tolist() == [[2, 2], [0, 0], [1, 1]]
    with pytest.raises(TypeError, match="0-d"):
        iter(fw.tensor(1.0))
    assert 3.0 in x.detach() and 7.0 not in x.detach()


def test_deepcopy_copies_leaves_and_keeps_the_backend():
    import copy

    w = fw.tensor([1.0, 2.0], requires_grad=True)
    (w * 3).sum().backward()
    c = copy.deepcopy(w)
    assert c is not w and c.requires_grad and c.is_leaf and c.grad.tolist() == [3.0, 3.0]
    assert c._bk is w._bk and (c + w).tolist() == [2.0, 4.0]
    with fw.no_grad():
        c.add_(1.0)
    assert w.tolist() == [1.0, 2.0]
    pair = copy.deepcopy({"a": w, "b": w})
    assert pair["a"] is pair["b"]
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(w * 2)


def test_new_constructors_contiguous_and_small_conversions():
    x = fw.ones(2, 3, dtype=fw.float64)
    assert x.new_zeros(2, 2).dtype == fw.float64 and x.new_zeros((4,)).shape == (4,)
    assert x.new_ones(3).tolist() == [1.0, 1.0, 1.0]
    assert x.new_full((2,), 5.0).tolist() == [5.0, 5.0] and x.new_empty(0).shape == (0,)
    assert x.new_tensor([1, 2]).dtype == fw.float64
    assert x.new_zeros(2, dtype=fw.int64).dtype == fw.int64
    assert x.new_ones(1, requires_grad=True).requires_grad
    t = x.T
    assert not t.is_contiguous()
    c = t.contiguous()
    assert c.is_contiguous() and c.tolist() == t.tolist() and x.contiguous() is x
    assert x.type() == "float64" and x.type(fw.float32).dtype == fw.float32
    assert x.to(fw.tensor([1])).dtype == fw.int64 and x.cpu() is x
    assert x.is_floating_point() and not fw.tensor([1]).is_floating_point()


def test_inference_mode_and_autograd_backward_of_several_outputs():
    x = fw.ones(2, requires_grad=True)
    with fw.inference_mode():
        assert not (x * 2).requires_grad
    with fw.inference_mode(False):
        assert (x * 2).requires_grad

    @fw.inference_mode
    def predict(t):
        return t * 2

    assert not predict(x).requires_grad and fw.is_grad_enabled()
    a, b = (x * x).sum(), x * 3
    fw.autograd.backward([a, b], [None, fw.tensor([1.0, 0.0])])
    assert x.grad.tolist() == [5.0, 2.0]
    with pytest.raises(RuntimeError, match="scalar outputs"):
        fw.autograd.backward(x * 2)


def test_random_fill_methods_follow_the_seed_and_inplace_rules():
    fw.manual_seed(3)
    a = fw.empty(4).uniform_(-2.0, 2.0)
    fw.manual_seed(3)
    b = fw.empty(4).uniform_(-2.0, 2.0)
    assert a.tolist() == b.tolist() and all(-2 <= v < 2 for v in a.tolist())
    n = fw.empty(20000, dtype=fw.float64).normal_(3.0, 0.5)
    assert abs(n.mean().item() - 3.0) < 0.02 and abs(n.std().item() - 0.5) < 0.02
    assert fw.zeros(2, 3).nelement() == 6
    w = fw.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        w.uniform_()
    with fw.no_grad():
        w.normal_()
    assert w.requires_grad and w._version >= 1
