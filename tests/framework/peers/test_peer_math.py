"""Elementwise, reduction and linear-algebra ops against PyTorch 2.13: forward values, first
gradients and (for a selection) second derivatives; result dtypes of type promotion."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the peers extra (torch==2.13.0) is not installed")
F = pytest.importorskip("torch.nn.functional")

import framework as fw  # noqa: E402

pytestmark = pytest.mark.peers

rng = np.random.default_rng(3)


def _data(shape, kind):
    if kind == "pos":
        return rng.uniform(0.3, 2.0, shape)
    if kind == "wide":
        return rng.standard_normal(shape) * 4
    if kind == "distinct":
        n = int(np.prod(shape))
        return (rng.permutation(n).reshape(shape) - n / 2) * 0.31
    return rng.standard_normal(shape)


# name -> (skiff fn, torch fn, [(shape, kind), ...])
U = [((3, 4), "any")]
B = [((3, 1), "any"), ((4,), "any")]
OPS = {
    "add": (lambda a, b: a + b, lambda a, b: a + b, B),
    "sub": (lambda a, b: a - b, lambda a, b: a - b, B),
    "mul": (lambda a, b: a * b, lambda a, b: a * b, B),
    "div": (lambda a, b: a / b, lambda a, b: a / b, [((3, 1), "any"), ((4,), "pos")]),
    "pow": (lambda a, b: a ** b, lambda a, b: a ** b, [((3, 1), "pos"), ((4,), "any")]),
    "pow_scalar": (lambda a: a ** 2.5, lambda a: a ** 2.5, [((5,), "pos")]),
    "neg": (lambda a: -a, lambda a: -a, U),
    "abs": (fw.abs, torch.abs, U),
    "exp": (fw.exp, torch.exp, U),
    "log": (fw.log, torch.log, [((3, 4), "pos")]),
    "log1p": (fw.log1p, torch.log1p, [((3, 4), "pos")]),
    "expm1": (fw.expm1, torch.expm1, U),
    "sqrt": (fw.sqrt, torch.sqrt, [((3, 4), "pos")]),
    "rsqrt": (fw.rsqrt, torch.rsqrt, [((3, 4), "pos")]),
    "reciprocal": (fw.reciprocal, torch.reciprocal, [((3, 4), "pos")]),
    "sin": (fw.sin, torch.sin, U),
    "cos": (fw.cos, torch.cos, U),
    "tan": (fw.tan, torch.tan, U),
    "tanh": (fw.tanh, torch.tanh, [((3, 4), "wide")]),
    "sigmoid": (fw.sigmoid, torch.sigmoid, [((3, 4), "wide")]),
    "relu": (fw.relu, torch.relu, U),
    "leaky_relu": (lambda a: fw.leaky_relu(a, 0.1), lambda a: F.leaky_relu(a, 0.1), U),
    "elu": (lambda a: fw.elu(a, 0.7), lambda a: F.elu(a, 0.7), [((3, 4), "wide")]),
    "gelu": (fw.gelu, F.gelu, [((3, 4), "wide")]),
    "gelu_tanh": (lambda a: fw.gelu(a, approximate="tanh"),
                  lambda a: F.gelu(a, approximate="tanh"), [((3, 4), "wide")]),
    "silu": (fw.silu, F.silu, [((3, 4), "wide")]),
    "softplus": (fw.softplus, F.softplus, [((3, 4), "wide")]),
    "softplus_beta": (lambda a: fw.softplus(a * 8, beta=2, threshold=6),
                      lambda a: F.softplus(a * 8, beta=2, threshold=6), [((3, 4), "wide")]),
    "erf": (fw.erf, torch.erf, [((3, 4), "wide")]),
    "asin": (lambda a: fw.asin(a * 0.3), lambda a: torch.asin(a * 0.3), U),
    "acos": (lambda a: fw.acos(a * 0.3), lambda a: torch.acos(a * 0.3), U),
    "atan": (fw.atan, torch.atan, [((3, 4), "wide")]),
    "atan2": (fw.atan2, torch.atan2, B),
    "log2": (fw.log2, torch.log2, [((3, 4), "pos")]),
    "log10": (fw.log10, torch.log10, [((3, 4), "pos")]),
    "exp2": (fw.exp2, torch.exp2, U),
    "sinh": (fw.sinh, torch.sinh, U),
    "cosh": (fw.cosh, torch.cosh, U),
    "clamp_min": (lambda a: fw.clamp_min(a, 0.2), lambda a: torch.clamp_min(a, 0.2), U),
    "clamp_max": (lambda a: a.clamp_max(0.2), lambda a: a.clamp_max(0.2), U),
    "sign": (fw.sign, torch.sign, U),
    "floor": (fw.floor, torch.floor, [((3, 4), "wide")]),
    "ceil": (fw.ceil, torch.ceil, [((3, 4), "wide")]),
    "round": (fw.round, torch.round, [((3, 4), "wide")]),
    "clamp": (lambda a: fw.clamp(a, -0.5, 0.5), lambda a: torch.clamp(a, -0.5, 0.5), U),
    "clamp_tensors": (lambda a, lo, hi: fw.clamp(a, lo, hi),
                      lambda a, lo, hi: torch.clamp(a, lo, hi),
                      [((3, 4), "wide"), ((4,), "any"), ((3, 1), "wide")]),
    "clip_min": (lambda a, lo: a.clip(min=lo), lambda a, lo: a.clip(min=lo), B),
    "maximum": (fw.maximum, torch.maximum, B),
    "minimum": (fw.minimum, torch.minimum, B),
    "where": (lambda a, b: fw.where(a > 0, a, b), lambda a, b: torch.where(a > 0, a, b), B),
    "fmod": (lambda a, b: fw.fmod(a * 4, b), lambda a, b: torch.fmod(a * 4, b),
             [((3, 1), "any"), ((4,), "pos")]),
    "remainder": (lambda a, b: fw.remainder(a * 4, b), lambda a, b: torch.remainder(a * 4, b),
                  [((3, 1), "any"), ((4,), "pos")]),
    # reductions
    "sum": (lambda a: a.sum(dim=(0, 2)), lambda a: a.sum(dim=(0, 2)), [((2, 3, 4), "any")]),
    "sum_keepdim": (lambda a: a.sum(1, keepdim=True), lambda a: a.sum(1, keepdim=True),
                    [((2, 3, 4), "any")]),
    "mean": (lambda a: a.mean(-1), lambda a: a.mean(-1), [((2, 3, 4), "any")]),
    "var": (lambda a: a.var(1), lambda a: a.var(1), [((2, 3, 4), "any")]),
    "var_correction": (lambda a: fw.var(a, (0, 2), correction=0, keepdim=True),
                       lambda a: torch.var(a, (0, 2), correction=0, keepdim=True),
                       [((2, 3, 4), "any")]),
    "std": (lambda a: a.std(), lambda a: a.std(), [((2, 3, 4), "any")]),
    "std_unbiased": (lambda a: a.std(1, unbiased=False), lambda a: a.std(1, unbiased=False),
                     [((2, 3, 4), "any")]),
    "prod": (lambda a: a.prod(1), lambda a: a.prod(1), [((3, 4), "any")]),
    "prod_all": (lambda a: a.prod(), lambda a: a.prod(), [((2, 3), "any")]),
    "max": (lambda a: a.max(), lambda a: a.max(), [((3, 4), "distinct")]),
    "max_dim": (lambda a: a.max(1).values, lambda a: a.max(1).values, [((3, 4), "distinct")]),
    "min_dim": (lambda a: a.min(0, keepdim=True).values,
                lambda a: a.min(0, keepdim=True).values, [((3, 4), "distinct")]),
    "amax": (lambda a: fw.amax(a, (0, 1)), lambda a: torch.amax(a, (0, 1)),
             [((2, 3, 4), "distinct")]),
    "amin": (lambda a: fw.amin(a, -1), lambda a: torch.amin(a, -1), [((2, 3, 4), "distinct")]),
    "logsumexp": (lambda a: fw.logsumexp(a * 50, 1), lambda a: torch.logsumexp(a * 50, 1),
                  [((3, 4), "any")]),
    "norm": (lambda a: a.norm(), lambda a: a.norm(), [((3, 4), "any")]),
    "norm_dim": (lambda a: fw.norm(a, dim=1, keepdim=True),
                 lambda a: torch.norm(a, dim=1, keepdim=True), [((3, 4), "any")]),
    "norm_p1": (lambda a: fw.norm(a, p=1, dim=0), lambda a: torch.norm(a, p=1, dim=0),
                [((3, 4), "any")]),
    "norm_p3": (lambda a: fw.norm(a, p=3, dim=0), lambda a: torch.norm(a, p=3, dim=0),
                [((3, 4), "any")]),
    "norm_inf": (lambda a: fw.norm(a, p=math.inf, dim=1),
                 lambda a: torch.norm(a, p=math.inf, dim=1), [((3, 4), "distinct")]),
    "cumsum": (lambda a: a.cumsum(1), lambda a: a.cumsum(1), [((3, 4), "any")]),
    "cumprod": (lambda a: a.cumprod(1), lambda a: a.cumprod(1), [((3, 4), "any")]),
    "var_mean": (lambda a: fw.var_mean(a, 1)[0] + fw.var_mean(a, 1)[1],
                 lambda a: torch.var_mean(a, 1)[0] + torch.var_mean(a, 1)[1],
                 [((3, 4), "any")]),
    "std_mean": (lambda a: fw.std_mean(a, 0, correction=0)[0] * fw.std_mean(a, 0)[1],
                 lambda a: torch.std_mean(a, 0, correction=0)[0] * torch.std_mean(a, 0)[1],
                 [((3, 4), "any")]),
    "softmax": (lambda a: a.softmax(1), lambda a: a.softmax(1), [((3, 4), "wide")]),
    "log_softmax": (lambda a: fw.log_softmax(a, 0), lambda a: torch.log_softmax(a, 0),
                    [((3, 4), "wide")]),
    # linear algebra
    "matmul": (fw.matmul, torch.matmul, [((2, 1, 3, 4), "any"), ((3, 4, 2), "any")]),
    "matmul_vec_mat": (fw.matmul, torch.matmul, [((4,), "any"), ((2, 4, 3), "any")]),
    "matmul_mat_vec": (fw.matmul, torch.matmul, [((2, 3, 4), "any"), ((4,), "any")]),
    "dot": (fw.dot, torch.dot, [((5,), "any"), ((5,), "any")]),
    "mv": (fw.mv, torch.mv, [((3, 5), "any"), ((5,), "any")]),
    "mm": (fw.mm, torch.mm, [((3, 5), "any"), ((5, 2), "any")]),
    "bmm": (fw.bmm, torch.bmm, [((2, 3, 5), "any"), ((2, 5, 2), "any")]),
    "outer": (fw.outer, torch.outer, [((3,), "any"), ((4,), "any")]),
    "trace": (fw.trace, torch.trace, [((3, 4), "any")]),
    "tensordot": (lambda a, b: fw.tensordot(a, b, dims=([0, 2], [1, 0])),
                  lambda a, b: torch.tensordot(a, b, dims=([0, 2], [1, 0])),
                  [((2, 3, 4), "any"), ((4, 2, 5), "any")]),
    "einsum_batch": (lambda a, b: fw.einsum("bij,bjk->bik", a, b),
                     lambda a, b: torch.einsum("bij,bjk->bik", a, b),
                     [((2, 3, 4), "any"), ((2, 4, 2), "any")]),
    "einsum_ellipsis": (lambda a, b: fw.einsum("...ij,...j", a, b),
                        lambda a, b: torch.einsum("...ij,...j", a, b),
                        [((2, 3, 4), "any"), ((4,), "any")]),
    "einsum_trace": (lambda a: fw.einsum("ii", a), lambda a: torch.einsum("ii", a),
                     [((4, 4), "any")]),
    "einsum_diag_outer": (lambda a, b: fw.einsum("ii,j->ij", a, b),
                          lambda a, b: torch.einsum("ii,j->ij", a, b),
                          [((3, 3), "any"), ((2,), "any")]),
}


def _inputs(specs):
    arrays = [_data(shape, kind) for shape, kind in specs]
    ours = [fw.tensor(a, dtype=fw.float64, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    return ours, theirs


@pytest.mark.parametrize("name", sorted(OPS))
def test_forward_and_gradient_match_pytorch(name):
    ours_fn, theirs_fn, specs = OPS[name]
    ours, theirs = _inputs(specs)
    y, ty = ours_fn(*ours), theirs_fn(*theirs)
    assert tuple(y.shape) == tuple(ty.shape)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    up = rng.standard_normal(tuple(ty.shape))
    grads = fw.grad([y], ours, [fw.tensor(up, dtype=fw.float64)], allow_unused=True)
    tgrads = torch.autograd.grad([ty], theirs, [torch.tensor(up)], allow_unused=True)
    for g, tg in zip(grads, tgrads, strict=True):
        want = np.zeros(1) if tg is None else tg.numpy()
        got = np.zeros(1) if g is None else g.numpy()
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


SECOND_ORDER = ["atan2", "asin", "div", "pow", "exp", "log", "rsqrt", "reciprocal", "tanh",
                "sigmoid", "elu",
                "gelu", "gelu_tanh", "silu", "softplus", "erf", "var", "std", "prod",
                "logsumexp", "norm_dim", "norm_p3", "softmax", "log_softmax", "matmul",
                "einsum_diag_outer", "cumsum", "cumprod", "maximum", "clamp_tensors"]


@pytest.mark.parametrize("name", SECOND_ORDER)
def test_second_derivatives_match_pytorch(name):
    """The gradient of <grad(f), v> with respect to the inputs: Hessian-vector products."""
    ours_fn, theirs_fn, specs = OPS[name]
    ours, theirs = _inputs(specs)
    y, ty = ours_fn(*ours), theirs_fn(*theirs)
    up = rng.standard_normal(tuple(ty.shape))
    g1 = fw.grad([y], ours, [fw.tensor(up, dtype=fw.float64)], create_graph=True)
    t1 = torch.autograd.grad([ty], theirs, [torch.tensor(up)], create_graph=True)
    vs = [rng.standard_normal(tuple(t.shape)) for t in theirs]
    s = sum((g * fw.tensor(v, dtype=fw.float64)).sum() for g, v in zip(g1, vs, strict=True)
            if g.requires_grad)
    ts = sum((g * torch.tensor(v)).sum() for g, v in zip(t1, vs, strict=True)
             if g.requires_grad)
    if not isinstance(ts, torch.Tensor):  # linear in every input: nothing to compare
        assert not isinstance(s, fw.Tensor) or not s.requires_grad
        return
    g2 = fw.grad([s], ours, allow_unused=True)
    t2 = torch.autograd.grad([ts], theirs, allow_unused=True)
    for g, tg in zip(g2, t2, strict=True):
        want = np.zeros(1) if tg is None else tg.numpy()
        got = np.zeros(1) if g is None else g.numpy()
        np.testing.assert_allclose(got, np.broadcast_to(want, np.shape(got)), rtol=1e-8,
                                   atol=1e-10)


def test_max_with_dim_indices_and_ties_match_pytorch():
    a = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0], [5.0, 5.0, 5.0]])
    x = fw.tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    for dim in (0, 1):
        ours, theirs = x.max(dim), t.max(dim)
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
        ours_min, theirs_min = x.min(dim), t.min(dim)
        np.testing.assert_array_equal(ours_min.indices.numpy(), theirs_min.indices.numpy())
    for ours_fn, theirs_fn in [(lambda v: v.max(), lambda v: v.max()),
                               (lambda v: v.amax(1), lambda v: v.amax(1)),
                               (lambda v: v.max(1).values, lambda v: v.max(1).values),
                               (lambda v: fw.maximum(v, v.flip(1)),
                                lambda v: torch.maximum(v, v.flip(1)))]:
        (g,) = fw.grad([ours_fn(x).sum()], [x])
        (tg,) = torch.autograd.grad([theirs_fn(t).sum()], [t])
        np.testing.assert_allclose(g.numpy(), tg.numpy())


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # amax's 0/0 where NaN is the max
def test_extremes_with_nan_match_pytorch():
    a = np.array([[1.0, np.nan, 3.0, np.nan], [2.0, 5.0, -1.0, 0.0]])
    for ours_fn, theirs_fn in [(lambda v: v.max(), lambda v: v.max()),
                               (lambda v: v.min(), lambda v: v.min()),
                               (lambda v: v.amax(1), lambda v: v.amax(1)),
                               (lambda v: v.max(1).values, lambda v: v.max(1).values),
                               (lambda v: v.min(1).values, lambda v: v.min(1).values)]:
        x = fw.tensor(a, dtype=fw.float64, requires_grad=True)
        t = torch.tensor(a, requires_grad=True)
        y, ty = ours_fn(x), theirs_fn(t)
        np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
        (g,) = fw.grad([y.sum()], [x])
        (tg,) = torch.autograd.grad([ty.sum()], [t])
        np.testing.assert_array_equal(g.numpy(), tg.numpy())


def test_cumprod_gradient_with_zeros_matches_pytorch():
    a = np.array([[0.5, 0.0, 3.0, 0.0, 2.0], [0.0, 2.0, 3.0, 1.5, -1.0],
                  [1.5, 2.0, -1.0, 0.5, 0.0]])
    up = rng.standard_normal(a.shape)
    for dim in (0, 1):
        x = fw.tensor(a, dtype=fw.float64, requires_grad=True)
        t = torch.tensor(a, requires_grad=True)
        (g,) = fw.grad([x.cumprod(dim)], [x], [fw.tensor(up, dtype=fw.float64)])
        (tg,) = torch.autograd.grad([t.cumprod(dim)], [t], [torch.tensor(up)])
        np.testing.assert_allclose(g.numpy(), tg.numpy(), rtol=1e-12)


def test_prod_gradient_with_zeros_matches_pytorch():
    a = np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 4.0], [1.5, 2.0, -1.0]])
    for dim in (None, 0, 1):
        x = fw.tensor(a, dtype=fw.float64, requires_grad=True)
        t = torch.tensor(a, requires_grad=True)
        y = x.prod() if dim is None else x.prod(dim)
        ty = t.prod() if dim is None else t.prod(dim)
        (g,) = fw.grad([y.sum()], [x])
        (tg,) = torch.autograd.grad([ty.sum()], [t])
        np.testing.assert_allclose(g.numpy(), tg.numpy())


def test_gradients_at_kinks_match_pytorch():
    a = np.array([-1.0, 0.0, 0.0, 1.0, 20.0, 2.0])
    cases = [(fw.relu, torch.relu), (fw.abs, torch.abs), (fw.leaky_relu, F.leaky_relu),
             (fw.elu, F.elu), (fw.softplus, F.softplus), (fw.sign, torch.sign),
             (lambda v: fw.clamp(v, 0.0, 1.0), lambda v: torch.clamp(v, 0.0, 1.0)),
             (lambda v: fw.norm(v * 0), lambda v: torch.norm(v * 0)),
             (lambda v: fw.norm(v * 0, p=3), lambda v: torch.norm(v * 0, p=3)),
             (lambda v: fw.std(v[1:3]), lambda v: torch.std(v[1:3])),
             (lambda v: fw.prod(v), lambda v: torch.prod(v)),
             (lambda v: fw.amax(v[1:3], 0), lambda v: torch.amax(v[1:3], 0)),
             (lambda v: fw.maximum(v, v * 0), lambda v: torch.maximum(v, v * 0))]
    for ours_fn, theirs_fn in cases:
        x = fw.tensor(a, dtype=fw.float64, requires_grad=True)
        t = torch.tensor(a, requires_grad=True)
        (g,) = fw.grad([ours_fn(x).sum()], [x])
        (tg,) = torch.autograd.grad([theirs_fn(t).sum()], [t])
        np.testing.assert_allclose(g.numpy(), tg.numpy(), err_msg=str(ours_fn))


def test_clamp_boundaries_and_crossed_bounds_match_pytorch():
    a = np.array([-1.0, 0.0, 0.5, 1.0, 2.0])
    lo = np.array([0.0, 0.0, 1.0, 0.0, 3.0])
    hi = np.array([1.0, 1.0, 0.0, 1.0, 2.5])
    xs = [fw.tensor(v, requires_grad=True) for v in (a, lo, hi)]
    ts = [torch.tensor(v, requires_grad=True) for v in (a, lo, hi)]
    y, ty = fw.clamp(*xs), torch.clamp(*ts)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy())
    for g, tg in zip(fw.grad([y.sum()], xs), torch.autograd.grad([ty.sum()], ts), strict=True):
        np.testing.assert_allclose(g.numpy(), tg.numpy())


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf - inf and friends, on purpose
def test_special_values_match_pytorch():
    a = np.array([-np.inf, -1000.0, -1.0, 0.0, 1.0, 1000.0, np.inf])
    x, t = fw.tensor(a, dtype=fw.float64), torch.tensor(a)
    for ours, theirs in [(fw.sigmoid, torch.sigmoid), (fw.softplus, F.softplus),
                         (fw.gelu, F.gelu), (fw.silu, F.silu), (fw.elu, F.elu),
                         (lambda v: fw.softmax(v, 0), lambda v: torch.softmax(v, 0)),
                         (lambda v: fw.logsumexp(v, 0), lambda v: torch.logsumexp(v, 0)),
                         (fw.sign, torch.sign), (fw.isfinite, torch.isfinite)]:
        np.testing.assert_allclose(ours(x).numpy(), theirs(t).numpy(), rtol=1e-12)
    e = np.zeros((0, 3))
    assert np.isnan(fw.tensor(e).mean().item()) and torch.tensor(e).mean().isnan()


_DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def _pair(name, n=2):
    if name == "bool":
        v = np.array([True, False][:n])
    elif name.startswith("float"):
        v = np.array([1.5, -2.0][:n])
    else:
        v = np.array([1, 3][:n])
    return fw.tensor(v, dtype=name), torch.tensor(v.astype(name))


@pytest.mark.filterwarnings("ignore:invalid value encountered in sqrt:RuntimeWarning")
@pytest.mark.parametrize("left", _DTYPES)
def test_type_promotion_matches_pytorch(left):
    a, ta = _pair(left)
    for right in _DTYPES:
        b, tb = _pair(right)
        got = (a + b).dtype if left != "bool" or right != "bool" else fw.maximum(a, b).dtype
        want = (ta + tb).dtype if left != "bool" or right != "bool" else \
            torch.maximum(ta, tb).dtype
        assert str(got) == str(want).replace("torch.", ""), (left, right)
        assert str(fw.where(a > b, a, b).dtype) == str(torch.where(ta > tb, ta, tb).dtype)[6:]
        # a 0-d tensor acts like a scalar of its dtype beside a dimensioned tensor
        zero_d = fw.tensor(b.numpy()[0]), torch.tensor(tb.numpy()[0])
        assert str((a * zero_d[0]).dtype) == str((ta * zero_d[1]).dtype)[6:], (left, right)
        assert str((zero_d[0] + a).dtype) == str((zero_d[1] + ta).dtype)[6:], (left, right)
        both = fw.tensor(a.numpy()[0]) + zero_d[0]
        assert str(both.dtype) == str((torch.tensor(ta.numpy()[0]) + zero_d[1]).dtype)[6:]
    for scalar in (True, 2, 2.5):
        assert str((a * scalar).dtype) == str((ta * scalar).dtype)[6:], (left, scalar)
        assert str((scalar + a).dtype) == str((scalar + ta).dtype)[6:], (left, scalar)
    if left != "bool":
        assert str((a / a).dtype) == str((ta / ta).dtype)[6:]
        assert str(a.sum().dtype) == str(ta.sum().dtype)[6:]
    if left not in ("bool", "float16"):
        for mode in ("floor", "trunc"):
            got, want = fw.div(a, b, rounding_mode=mode), torch.div(ta, tb, rounding_mode=mode)
            assert str(got.dtype) == str(want.dtype)[6:]
            np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert str(fw.exp(a).dtype) == str(torch.exp(ta).dtype)[6:]
    assert str(fw.sqrt(a).dtype) == str(torch.sqrt(ta).dtype)[6:]


def test_non_differentiable_ops_match_pytorch():
    a = np.array([[1.0, 3.0, 3.0, -1.0], [np.nan, 0.0, 2.0, np.inf], [2.0, 2.0, 0.0, -np.inf]])
    b = np.array([0.0, 3.0, 1.0, -np.inf])
    x, t = fw.tensor(a, dtype=fw.float32), torch.tensor(a, dtype=torch.float32)
    y, u = fw.tensor(b, dtype=fw.float32), torch.tensor(b, dtype=torch.float32)
    cases = [
        (lambda v, w: v.argmax(), lambda v, w: v.argmax()),
        (lambda v, w: v[2:].argmax(1), lambda v, w: v[2:].argmax(1)),
        (lambda v, w: v[::2].argmin(0, keepdim=True), lambda v, w: v[::2].argmin(0, keepdim=True)),
        (lambda v, w: fw.argmax(v[0], 0), lambda v, w: torch.argmax(v[0], 0)),
        (lambda v, w: (v > w).all(1), lambda v, w: (v > w).all(1)),
        (lambda v, w: (v >= w).any(0), lambda v, w: (v >= w).any(0)),
        (lambda v, w: fw.logical_xor(v, w), lambda v, w: torch.logical_xor(v, w)),
        (lambda v, w: fw.logical_and(v, w), lambda v, w: torch.logical_and(v, w)),
        (lambda v, w: (v < w) | (v == w), lambda v, w: (v < w) | (v == w)),
        (lambda v, w: (v != w) & ~(v > 1), lambda v, w: (v != w) & ~(v > 1)),
        (lambda v, w: v.isnan() ^ v.isinf(), lambda v, w: v.isnan() ^ v.isinf()),
        (lambda v, w: fw.count_nonzero(v, 1), lambda v, w: torch.count_nonzero(v, 1)),
        (lambda v, w: fw.sign(v), lambda v, w: torch.sign(v)),
        (lambda v, w: fw.tensor([5, -3, 7]) & 6, lambda v, w: torch.tensor([5, -3, 7]) & 6),
        (lambda v, w: ~fw.tensor([5, -3]), lambda v, w: ~torch.tensor([5, -3])),
    ]
    for ours_fn, theirs_fn in cases:
        got, want = ours_fn(x, y), theirs_fn(t, u)
        assert str(got.dtype) == str(want.dtype)[6:]
        np.testing.assert_array_equal(got.numpy(), want.numpy())
