"""Reductions, scans and softmax: values against NumPy, first and second derivatives
(float64 finite differences) with dim/keepdim, including 0-d and empty tensors."""

import math

import numpy as np
import pytest

import framework as fw
from framework.autograd import gradcheck, gradgradcheck

rng = np.random.default_rng(2)


def t64(*shape):
    return fw.tensor(rng.standard_normal(shape), dtype=fw.float64, requires_grad=True)


def distinct(*shape):
    """Values far apart, so max/min/norm-inf have no ties within finite-difference steps."""
    n = int(np.prod(shape))
    data = rng.permutation(n).reshape(shape) * 0.37 - n * 0.15
    return fw.tensor(data, dtype=fw.float64, requires_grad=True)


REDUCTIONS = {
    "sum": lambda x, d, k: fw.sum(x, dim=d, keepdim=k),
    "mean": lambda x, d, k: fw.mean(x, dim=d, keepdim=k),
    "var": lambda x, d, k: fw.var(x, dim=d, keepdim=k),
    "var_population": lambda x, d, k: fw.var(x, dim=d, keepdim=k, correction=0),
    "std": lambda x, d, k: fw.std(x, dim=d, keepdim=k),
    "std_unbiased_false": lambda x, d, k: x.std(d, False, k),
    "amax": lambda x, d, k: fw.amax(x, dim=d if d is not None else (), keepdim=k),
    "amin": lambda x, d, k: fw.amin(x, dim=d if d is not None else (), keepdim=k),
    "logsumexp": lambda x, d, k: fw.logsumexp(x, dim=d if d is not None else (0, 1, 2),
                                              keepdim=k),
    "norm2": lambda x, d, k: fw.norm(x, dim=d, keepdim=k),
    "norm1": lambda x, d, k: fw.norm(x, p=1, dim=d, keepdim=k),
    "norm3": lambda x, d, k: fw.norm(x, p=3, dim=d, keepdim=k),
    "norm_half": lambda x, d, k: fw.norm(x, p=0.5, dim=d, keepdim=k),
    "norm_inf": lambda x, d, k: fw.norm(x, p=math.inf, dim=d, keepdim=k),
    "norm_neg_inf": lambda x, d, k: fw.norm(x, p=-math.inf, dim=d, keepdim=k),
}

DIMS = [(None, False), (1, False), ((0, 2), True), (-1, True), (None, True)]


@pytest.mark.parametrize("dim,keepdim", DIMS, ids=str)
@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reduction_gradients(name, dim, keepdim):
    x = distinct(2, 3, 2)
    fn = lambda t: REDUCTIONS[name](t, dim, keepdim)  # noqa: E731
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


NUMPY = {
    "sum": lambda a, d, k: np.sum(a, axis=d, keepdims=k),
    "mean": lambda a, d, k: np.mean(a, axis=d, keepdims=k),
    "var": lambda a, d, k: np.var(a, axis=d, keepdims=k, ddof=1),
    "var_population": lambda a, d, k: np.var(a, axis=d, keepdims=k),
    "std": lambda a, d, k: np.std(a, axis=d, keepdims=k, ddof=1),
    "std_unbiased_false": lambda a, d, k: np.std(a, axis=d, keepdims=k),
    "amax": lambda a, d, k: np.max(a, axis=d, keepdims=k),
    "amin": lambda a, d, k: np.min(a, axis=d, keepdims=k),
    "logsumexp": lambda a, d, k: np.log(np.sum(np.exp(a), axis=d, keepdims=k)),
    "norm2": lambda a, d, k: np.sqrt(np.sum(a * a, axis=d, keepdims=k)),
    "norm1": lambda a, d, k: np.sum(np.abs(a), axis=d, keepdims=k),
    "norm3": lambda a, d, k: np.sum(np.abs(a) ** 3, axis=d, keepdims=k) ** (1 / 3),
    "norm_half": lambda a, d, k: np.sum(np.abs(a) ** 0.5, axis=d, keepdims=k) ** 2,
    "norm_inf": lambda a, d, k: np.max(np.abs(a), axis=d, keepdims=k),
    "norm_neg_inf": lambda a, d, k: np.min(np.abs(a), axis=d, keepdims=k),
}


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [d for d, _ in DIMS[:4]], ids=str)
@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_reduction_values_match_numpy(name, dim, keepdim):
    x = distinct(3, 4, 2)
    got = REDUCTIONS[name](x, dim, keepdim).detach().numpy()
    want = NUMPY[name](x.detach().numpy(), dim, keepdim)
    assert got.shape == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_reductions_of_0d_and_empty_tensors():
    s = t64()
    for fn in (fw.sum, fw.mean, fw.amax, fw.norm, fw.prod,
               lambda t: fw.logsumexp(t, 0), lambda t: fw.softmax(t, 0),
               lambda t: fw.log_softmax(t, -1), lambda t: fw.cumsum(t, 0),
               lambda t: fw.max(t, 0).values):
        assert gradcheck(fn, (s,))
    assert fw.softmax(fw.tensor(3.0), 0).item() == 1.0
    assert fw.argmax(fw.tensor(3.0), 0).item() == 0
    empty = fw.zeros(0, 3, dtype=fw.float64, requires_grad=True)
    assert math.isnan(fw.mean(empty).item())
    assert np.isnan(fw.mean(empty, dim=0).detach().numpy()).all()
    np.testing.assert_array_equal(fw.sum(empty, dim=0).detach().numpy(), [0, 0, 0])
    np.testing.assert_array_equal(fw.prod(empty, dim=0).detach().numpy(), [1, 1, 1])
    np.testing.assert_array_equal(fw.logsumexp(empty, 0).detach().numpy(), [-np.inf] * 3)
    assert fw.amax(empty, dim=1).shape == (0,)
    assert fw.softmax(empty, 1).shape == (0, 3)
    for fn in (fw.sum, fw.mean, lambda t: fw.sum(t, 0), lambda t: fw.amax(t, 1),
               lambda t: fw.softmax(t, 0), lambda t: fw.cumsum(t, 0),
               lambda t: fw.var(t, 1), lambda t: fw.norm(t, dim=1)):
        assert gradcheck(fn, (empty,))
    with pytest.raises(IndexError, match="cannot reduce over dimension 0 of size 0"):
        fw.amax(empty, dim=0)
    with pytest.raises(IndexError, match="cannot reduce"):
        fw.max(empty, 0)
    with pytest.raises(IndexError, match="argmax.*cannot reduce"):
        fw.argmax(empty)


def test_var_and_std_arguments():
    x = fw.tensor([[1.0, 2.0, 4.0], [3.0, 3.0, 3.0]])
    a = x.numpy()
    np.testing.assert_allclose(fw.var(x, 1).numpy(), np.var(a, 1, ddof=1), rtol=1e-6)
    np.testing.assert_allclose(fw.var(x, 1, correction=2).numpy(), np.var(a, 1, ddof=2),
                               rtol=1e-6)
    np.testing.assert_allclose(x.var(unbiased=False).numpy(), np.var(a), rtol=1e-6)
    np.testing.assert_allclose(x.var(False).numpy(), np.var(a), rtol=1e-6)
    np.testing.assert_allclose(x.std(dim=(0, 1)).numpy(), np.std(a, ddof=1), rtol=1e-6)
    # no degrees of freedom left: NaN for constant data, inf otherwise (as PyTorch)
    with pytest.warns(RuntimeWarning, match="degrees of freedom is <= 0"):
        assert math.isnan(fw.var(fw.ones(3), correction=3).item())
    with pytest.warns(RuntimeWarning, match="degrees of freedom is <= 0"):
        assert math.isinf(fw.var(fw.tensor([1.0, 2.0]), correction=2).item())
    with pytest.raises(TypeError, match="not both"):
        fw.var(x, correction=1, unbiased=True)
    with pytest.raises(RuntimeError, match="expected a floating tensor, got int64"):
        fw.var(fw.tensor([1, 2]))


def test_std_gradient_is_zero_for_constant_slices():
    x = fw.tensor([[2.0, 2.0, 2.0], [1.0, 2.0, 3.0]], dtype=fw.float64, requires_grad=True)
    fw.std(x, dim=1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[0], [0, 0, 0])
    np.testing.assert_allclose(x.grad.numpy()[1], [-0.5, 0, 0.5])


@pytest.mark.parametrize("dim", [None, 0, 1, -1])
@pytest.mark.parametrize("zeros", [0, 1, 2], ids=["no_zero", "one_zero", "two_zeros"])
def test_prod_gradients_are_exact_with_zeros(dim, zeros):
    data = rng.uniform(0.5, 1.5, (3, 4)) * rng.choice([-1, 1], (3, 4))
    data.reshape(-1)[[5, 9][:zeros]] = 0.0  # zeros in one row / one column
    x = fw.tensor(data, dtype=fw.float64, requires_grad=True)
    fn = lambda t: fw.prod(t, dim) if dim is not None else fw.prod(t)  # noqa: E731
    np.testing.assert_allclose(fn(x).detach().numpy(), np.prod(data, axis=dim))
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


@pytest.mark.parametrize("dim", [None, 1])
def test_prod_gradient_for_large_slices_with_zeros(monkeypatch, dim):
    """Past the size limit of the all-orders form, the zero-count form gives the same exact
    first derivative."""
    from framework.ops import reduction

    data = rng.uniform(0.5, 1.5, (3, 5))
    data[0, 1] = data[1, 1] = data[1, 3] = 0.0  # one zero in row 0, two in row 1
    x = fw.tensor(data, dtype=fw.float64, requires_grad=True)
    fn = lambda t: fw.prod(t, dim) if dim is not None else fw.prod(t)  # noqa: E731
    (exact,) = fw.grad(fn(x).sum(), x)
    monkeypatch.setattr(reduction, "_OTHERS_LIMIT", 4)
    (large,) = fw.grad(fn(x).sum(), x)
    np.testing.assert_allclose(large.numpy(), exact.numpy(), rtol=1e-12)
    assert gradcheck(fn, (x,))


def test_prod_gradient_values_with_a_zero():
    x = fw.tensor([0.0, 2.0, 0.0, 3.0], dtype=fw.float64, requires_grad=True)
    fw.prod(x).backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0, 0, 0])
    y = fw.tensor([0.0, 2.0, 5.0, 3.0], dtype=fw.float64, requires_grad=True)
    fw.prod(y).backward()
    np.testing.assert_array_equal(y.grad.numpy(), [30, 0, 0, 0])
    assert fw.prod(fw.tensor([2, 3])).dtype == fw.int64
    assert fw.prod(fw.tensor([2, 3]), dtype=fw.float64).dtype == fw.float64


def test_max_and_min_with_dim_return_values_and_indices():
    x = fw.tensor([[1.0, 5.0, 5.0], [7.0, 2.0, 7.0]], requires_grad=True)
    res = fw.max(x, dim=1)
    values, indices = res
    np.testing.assert_array_equal(values.detach().numpy(), [5, 7])
    np.testing.assert_array_equal(indices.numpy(), [1, 0])
    assert res.values is values and res.indices is indices
    assert indices.dtype == fw.int64 and not indices.requires_grad
    values.sum().backward()
    # the gradient goes to the returned index only
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1, 0], [1, 0, 0]])
    low = x.min(0, keepdim=True)
    assert low.values.shape == (1, 3) and low.indices.shape == (1, 3)
    np.testing.assert_array_equal(low.indices.numpy(), [[0, 1, 0]])
    assert fw.max(x, fw.full((2, 3), 6.0)).shape == (2, 3)
    np.testing.assert_array_equal(fw.min(x, fw.zeros(1)).detach().numpy(), 0)
    v = distinct(3, 4)
    assert gradcheck(lambda t: fw.max(t, 1).values, (v,))
    assert gradgradcheck(lambda t: fw.min(t, 0, keepdim=True).values, (v,))


def test_max_without_dim_and_amax_share_ties_evenly():
    x = fw.tensor([1.0, 3.0, 3.0, 2.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0.5, 0.5, 0])
    y = fw.tensor([[1.0, 1.0], [0.0, 2.0]], requires_grad=True)
    fw.amin(y, dim=1).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [[0.5, 0.5], [1, 0]])
    assert x.max().ndim == 0 and fw.amax(y, (0, 1), keepdim=True).shape == (1, 1)


def test_argmax_argmin():
    x = fw.tensor([[1.0, 9.0, 9.0], [4.0, 0.0, 0.0]])
    assert fw.argmax(x).item() == 1
    assert fw.argmin(x).item() == 4
    np.testing.assert_array_equal(fw.argmax(x, dim=1).numpy(), [1, 0])
    np.testing.assert_array_equal(x.argmin(1, keepdim=True).numpy(), [[0], [1]])
    assert fw.argmax(x, keepdim=True).shape == (1, 1)
    assert fw.argmax(x).dtype == fw.int64
    with pytest.raises(IndexError, match="out of range"):
        fw.argmax(x, dim=2)


def test_logsumexp_is_stable():
    x = fw.tensor([[1000.0, 1000.0], [-1000.0, -1000.0]], dtype=fw.float64, requires_grad=True)
    y = fw.logsumexp(x, dim=1)
    np.testing.assert_allclose(y.detach().numpy(), [1000 + math.log(2), -1000 + math.log(2)])
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 0.5)
    inf = fw.tensor([-math.inf, -math.inf])
    assert fw.logsumexp(inf, 0).item() == -math.inf
    assert fw.logsumexp(fw.tensor([math.inf, 0.0]), 0).item() == math.inf


def test_norm_variants_and_zero_gradient():
    x = fw.tensor([[3.0, -4.0], [0.0, 0.0]], requires_grad=True)
    np.testing.assert_allclose(fw.norm(x, dim=1).detach().numpy(), [5, 0])
    assert fw.norm(x, p="fro").item() == 5.0
    assert fw.norm(x, p=0).item() == 2.0
    assert x.norm(p=math.inf).item() == 4.0
    fw.norm(x, dim=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.6, -0.8], [0, 0]])
    z = fw.zeros(3, requires_grad=True)
    fw.norm(z, p=3).backward()
    np.testing.assert_array_equal(z.grad.numpy(), 0)
    with pytest.raises(ValueError, match="unsupported p='nuc'"):
        fw.norm(x, p="nuc")


def test_all_any():
    x = fw.tensor([[True, False], [True, True]])
    assert not fw.all(x).item() and fw.any(x).item()
    np.testing.assert_array_equal(x.all(dim=1).numpy(), [False, True])
    np.testing.assert_array_equal(fw.any(fw.tensor([[0.0, 0.0], [0.0, 2.0]]), 0,
                                         keepdim=True).numpy(), [[False, True]])
    assert fw.all(fw.zeros(0)).item() and not fw.any(fw.zeros(0)).item()


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumsum(dim):
    x = t64(3, 4)
    np.testing.assert_allclose(fw.cumsum(x, dim).detach().numpy(),
                               np.cumsum(x.detach().numpy(), axis=dim))
    assert gradcheck(lambda t: fw.cumsum(t, dim), (x,))
    assert gradgradcheck(lambda t: fw.cumsum(t * t, dim), (x,))


def test_cumsum_dtypes():
    assert fw.cumsum(fw.tensor([1, 2, 3], dtype=fw.int32), 0).dtype == fw.int64
    assert fw.cumsum(fw.tensor([True, True]), 0).tolist() == [1, 2]
    assert fw.tensor([1, 2]).cumsum(0, dtype=fw.float64).dtype == fw.float64


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_gradients_to_second_order(op, dim):
    fn = lambda t: getattr(fw, op)(t, dim)  # noqa: E731
    x = t64(3, 4)
    assert gradcheck(fn, (x,))
    assert gradgradcheck(fn, (x,))


def test_softmax_values_and_stability():
    x = fw.tensor([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]], dtype=fw.float64)
    a = x.numpy()
    e = np.exp(a - a.max(1, keepdims=True))
    want = e / e.sum(1, keepdims=True)
    np.testing.assert_allclose(fw.softmax(x, 1).numpy(), want)
    np.testing.assert_allclose(x.log_softmax(1).numpy()[1], np.log(want[1]))
    assert x.log_softmax(dim=1).numpy()[0, 2] == -2000.0
    np.testing.assert_allclose(x.softmax(0).numpy().sum(0), 1.0)
    assert fw.softmax(fw.tensor([1, 2]), 0).dtype == fw.float32
    assert fw.softmax(fw.ones(2), 0, dtype=fw.float64).dtype == fw.float64


def test_sum_and_mean_dtypes():
    assert fw.sum(fw.tensor([True, True])).item() == 2
    assert fw.sum(fw.tensor([1, 2], dtype=fw.int32)).dtype == fw.int64
    assert fw.ones(3).sum(dtype=fw.float64).dtype == fw.float64
    assert fw.mean(fw.tensor([1, 2]), dtype=fw.float64).item() == 1.5
    h = fw.full((4096,), 1.0, dtype=fw.float16)
    # float16 accumulates in float32: 4096 ones sum exactly (a float16 running sum stalls)
    assert fw.sum(h).item() == 4096.0 and fw.sum(h).dtype == fw.float16
    with pytest.raises(RuntimeError, match="could not infer output dtype"):
        fw.mean(fw.tensor([1, 2]))
    with pytest.raises(IndexError, match="sum: dimension 3 out of range"):
        fw.ones(2, 2).sum(3)


def test_var_mean_std_mean_count_nonzero():
    x = t64(3, 4)
    a = x.detach().numpy()
    v, m = fw.var_mean(x, 1)
    np.testing.assert_allclose(v.detach().numpy(), np.var(a, 1, ddof=1))
    np.testing.assert_allclose(m.detach().numpy(), np.mean(a, 1))
    s, m0 = fw.std_mean(x, correction=0, keepdim=True)
    np.testing.assert_allclose(s.detach().numpy(), np.std(a, keepdims=True))
    assert m0.shape == (1, 1)
    assert gradcheck(lambda t: fw.var_mean(t, 0), (x,))
    c = fw.count_nonzero(fw.tensor([[0.0, 1.0], [2.0, 0.0], [3.0, 4.0]]), dim=1)
    assert c.dtype == fw.int64 and c.tolist() == [1, 1, 2]
    assert fw.count_nonzero(fw.tensor([0, 5, 6])).item() == 2


def test_an_empty_dim_list_reduces_everything():
    x = t64(2, 3)
    a = x.detach().numpy()
    assert fw.sum(x, dim=()).item() == pytest.approx(a.sum())
    assert fw.mean(x, dim=[]).item() == pytest.approx(a.mean())
    assert fw.var(x, dim=()).item() == pytest.approx(a.var(ddof=1))
    assert fw.amax(x, ()).item() == a.max()
    assert fw.sum(x, dim=(), keepdim=True).shape == (1, 1)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cumprod_values_and_gradients_with_and_without_zeros(dim):
    smooth = fw.tensor(rng.uniform(0.5, 1.5, (3, 4)) * rng.choice([-1, 1], (3, 4)),
                       dtype=fw.float64, requires_grad=True)
    np.testing.assert_allclose(fw.cumprod(smooth, dim).detach().numpy(),
                               np.cumprod(smooth.detach().numpy(), axis=dim))
    assert gradcheck(lambda t: fw.cumprod(t, dim), (smooth,))
    assert gradgradcheck(lambda t: fw.cumprod(t, dim), (smooth,))
    holes = smooth.detach().numpy().copy()
    holes[0, 1] = holes[1, 0] = holes[1, 2] = holes[2, 3] = 0.0
    x = fw.tensor(holes, dtype=fw.float64, requires_grad=True)
    assert gradcheck(lambda t: fw.cumprod(t, dim), (x,))


def test_cumprod_dtypes_and_0d():
    assert fw.cumprod(fw.tensor([2, 3], dtype=fw.int32), 0).tolist() == [2, 6]
    assert fw.cumprod(fw.tensor([2, 3], dtype=fw.int32), 0).dtype == fw.int64
    assert fw.tensor([1.0, 2.0]).cumprod(0, dtype=fw.float64).dtype == fw.float64
    s = t64()
    assert gradcheck(lambda t: fw.cumprod(t, 0), (s,))
