"""Elementwise math, activations, clamping, logic and matrix products: values, first and
second derivatives (float64 finite differences) over broadcasting, 0-d and empty shapes."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import framework as fw
from framework.autograd import gradcheck, gradgradcheck

rng = np.random.default_rng(1)


def t64(*shape, low=None, high=None):
    if low is None:
        data = rng.standard_normal(shape)
    else:
        data = rng.uniform(low, high, shape)
    return fw.tensor(data, dtype=fw.float64, requires_grad=True)


def positive(*shape):
    return t64(*shape, low=0.5, high=2.0)


def away_from(*shape, points=(0.0,), gap=0.05):
    """Normal samples kept ``gap`` away from the kinks at ``points``."""
    data = rng.standard_normal(shape) * 1.5
    for p in points:
        close = np.abs(data - p) < gap
        data = np.where(close, p + np.sign(data - p + 1e-12) * (gap + 0.1), data)
    return fw.tensor(data, dtype=fw.float64, requires_grad=True)


# name -> (function, input makers); shapes broadcast against each other
UNARY = {
    "exp": (fw.exp, t64),
    "log": (fw.log, positive),
    "log1p": (fw.log1p, positive),
    "expm1": (fw.expm1, t64),
    "sqrt": (fw.sqrt, positive),
    "rsqrt": (fw.rsqrt, positive),
    "reciprocal": (fw.reciprocal, positive),
    "sin": (fw.sin, t64),
    "cos": (fw.cos, t64),
    "tan": (lambda x: fw.tan(x * 0.5), t64),
    "tanh": (fw.tanh, t64),
    "sigmoid": (fw.sigmoid, t64),
    "abs": (fw.abs, away_from),
    "erf": (fw.erf, t64),
    "relu": (fw.relu, away_from),
    "leaky_relu": (lambda x: fw.leaky_relu(x, 0.2), away_from),
    "elu": (lambda x: fw.elu(x, alpha=1.5), away_from),
    "gelu": (fw.gelu, t64),
    "gelu_tanh": (lambda x: fw.gelu(x, approximate="tanh"), t64),
    "silu": (fw.silu, t64),
    "softplus": (fw.softplus, t64),
    "softplus_beta": (lambda x: fw.softplus(x * 4, beta=2.0, threshold=5.0), t64),
    "square": (fw.square, t64),
    "asin": (fw.asin, lambda *s: t64(*s, low=-0.9, high=0.9)),
    "acos": (fw.acos, lambda *s: t64(*s, low=-0.9, high=0.9)),
    "atan": (fw.atan, t64),
    "log2": (fw.log2, positive),
    "log10": (fw.log10, positive),
    "exp2": (fw.exp2, t64),
    "sinh": (fw.sinh, t64),
    "cosh": (fw.cosh, t64),
    "clamp_min_fn": (lambda x: fw.clamp_min(x, 0.1), lambda *s: away_from(*s, points=(0.1,))),
    "clamp_max_fn": (lambda x: x.clamp_max(0.1), lambda *s: away_from(*s, points=(0.1,))),
    "neg": (fw.neg, t64),
    "pow_scalar": (lambda x: x ** 3.0, t64),
    "clamp_scalar": (lambda x: fw.clamp(x, -0.5, 0.7), lambda *s: away_from(
        *s, points=(-0.5, 0.7))),
    "clamp_min": (lambda x: x.clamp(min=0.3), lambda *s: away_from(*s, points=(0.3,))),
    "clip_max": (lambda x: fw.clip(x, max=0.3), lambda *s: away_from(*s, points=(0.3,))),
}

SHAPES = [(3, 1), (), (2, 0)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_gradients(name, shape):
    fn, make = UNARY[name]
    x = make(*shape)
    assert gradcheck(fn, (x,))
    if x.numel():
        assert gradgradcheck(fn, (x,))


BINARY = {
    "add": (lambda a, b: a + b, t64, t64),
    "sub": (lambda a, b: a - b, t64, t64),
    "mul": (lambda a, b: a * b, t64, t64),
    "div": (lambda a, b: a / b, t64, positive),
    "pow": (lambda a, b: a ** b, positive, t64),
    "maximum": (fw.maximum, t64, t64),
    "minimum": (fw.minimum, t64, t64),
    "where": (lambda a, b: fw.where(a > b, a * 2, b), t64, t64),
    "fmod": (lambda a, b: fw.fmod(a * 3, b), t64, positive),
    "atan2": (fw.atan2, t64, t64),
    "remainder": (lambda a, b: fw.remainder(a * 3, b), t64, positive),
    "clamp_tensors": (lambda a, b: fw.clamp(a, min=b, max=b + 1.0), t64, t64),
    "clamp_min_tensor": (lambda a, b: fw.clamp(a, min=b), t64, t64),
    "clamp_max_tensor": (lambda a, b: a.clamp(max=b), t64, t64),
}


@pytest.mark.parametrize("shapes", [((3, 1), (4,)), ((), (2, 3)), ((2, 0), (1,))], ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_gradients_over_broadcasting(name, shapes):
    fn, make_a, make_b = BINARY[name]
    a, b = make_a(*shapes[0]), make_b(*shapes[1])
    assert gradcheck(fn, (a, b))
    if a.numel() and b.numel():
        assert gradgradcheck(fn, (a, b))


def test_activation_values_match_formulas():
    x = np.linspace(-30, 30, 121)
    t = fw.tensor(x, dtype=fw.float64)
    erf = np.vectorize(math.erf)
    np.testing.assert_allclose(fw.relu(t).numpy(), np.maximum(x, 0))
    np.testing.assert_allclose(fw.leaky_relu(t).numpy(), np.where(x > 0, x, 0.01 * x))
    np.testing.assert_allclose(fw.elu(t, 0.5).numpy(), np.where(x > 0, x, 0.5 * np.expm1(x)))
    np.testing.assert_allclose(fw.gelu(t).numpy(), 0.5 * x * (1 + erf(x / np.sqrt(2))),
                               rtol=1e-12, atol=1e-15)
    tanh_gelu = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    np.testing.assert_allclose(fw.gelu(t, approximate="tanh").numpy(), tanh_gelu, rtol=1e-12,
                               atol=1e-15)
    np.testing.assert_allclose(fw.silu(t).numpy(), x / (1 + np.exp(-x)), rtol=1e-12)
    np.testing.assert_allclose(fw.softplus(t).numpy(),
                               np.where(x > 20, x, np.log1p(np.exp(x))), rtol=1e-12)
    np.testing.assert_allclose(fw.softplus(t, beta=2, threshold=4).numpy(),
                               np.where(2 * x > 4, x, np.log1p(np.exp(2 * x)) / 2), rtol=1e-12)
    np.testing.assert_allclose(fw.sigmoid(t).numpy(), 1 / (1 + np.exp(-x)), rtol=1e-12)
    np.testing.assert_allclose(fw.rsqrt(fw.tensor([4.0, 0.25])).numpy(), [0.5, 2.0])
    np.testing.assert_allclose(fw.reciprocal(fw.tensor([4, 2])).numpy(), [0.25, 0.5])
    assert fw.reciprocal(fw.tensor([4, 2])).dtype == fw.float32


@pytest.mark.parametrize("dtype", [fw.float64, fw.float32, fw.float16])
def test_erf_limits(dtype):
    x = fw.tensor([-math.inf, -40.0, -9.0, 0.0, 9.0, 40.0, math.inf, math.nan, -math.nan],
                  dtype=dtype)
    np.testing.assert_array_equal(fw.erf(x).numpy(),
                                  [-1, -1, -1, 0, 1, 1, 1, math.nan, math.nan])
    assert fw.gelu(fw.tensor([math.inf])).item() == math.inf


def test_activations_do_not_overflow():
    x = fw.tensor([-1000.0, 1000.0], requires_grad=True)
    for fn in (fw.sigmoid, fw.silu, fw.softplus, fw.elu, fw.gelu):
        y = fn(x)
        y.sum().backward()
        assert np.isfinite(y.detach().numpy()).all(), fn.__name__
        assert np.isfinite(x.grad.numpy()).all(), fn.__name__
        x.grad = None


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        fw.gelu(fw.ones(2), approximate="fast")


def test_clamp_gradient_passes_on_the_boundary_and_where_inside():
    x = fw.tensor([-2.0, -1.0, 0.0, 1.0, 2.0], requires_grad=True)
    fw.clamp(x, -1.0, 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 1, 1, 1, 0])


def test_clamp_tensor_bounds_take_the_gradient_where_they_win():
    x = fw.tensor([0.0, 5.0, 2.0, 3.0], requires_grad=True)
    lo = fw.tensor([1.0, 1.0, 1.0, 4.0], requires_grad=True)
    hi = fw.tensor([3.0, 3.0, 3.0, 2.0], requires_grad=True)
    out = fw.clamp(x, lo, hi)
    # min > max in the last column: the result is max
    np.testing.assert_array_equal(out.detach().numpy(), [1, 3, 2, 2])
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0, 1, 0])
    np.testing.assert_array_equal(lo.grad.numpy(), [1, 0, 0, 0])
    np.testing.assert_array_equal(hi.grad.numpy(), [0, 1, 0, 1])


def test_clamp_promotes_like_pytorch():
    ints = fw.tensor([1, 2, 3])
    assert fw.clamp(ints, min=2).dtype == fw.int64
    out = fw.clamp(ints, min=1.5)
    assert out.dtype == fw.float32
    np.testing.assert_allclose(out.numpy(), [1.5, 2, 3])
    with pytest.raises(RuntimeError, match="at least one of min and max"):
        fw.clamp(ints)


def test_maximum_and_minimum_split_ties_evenly():
    a = fw.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = fw.tensor([2.0, 2.0, 2.0], requires_grad=True)
    (fw.maximum(a, b).sum() + 10 * fw.minimum(a, b).sum()).backward()
    np.testing.assert_allclose(a.grad.numpy(), [10, 5.5, 1])
    np.testing.assert_allclose(b.grad.numpy(), [1, 5.5, 10])
    nan = fw.tensor([float("nan"), 1.0])
    assert np.isnan(fw.maximum(nan, fw.zeros(2)).numpy()[0])
    assert np.isnan(fw.minimum(nan, fw.zeros(2)).numpy()[0])


def test_piecewise_constant_ops_have_zero_gradient():
    x = fw.tensor([-1.5, -0.4, 0.5, 2.5], requires_grad=True)
    for fn in (fw.floor, fw.ceil, fw.round, fw.trunc, fw.sign):
        (g,) = fw.grad(fn(x).sum(), x)
        np.testing.assert_array_equal(g.numpy(), 0)
    np.testing.assert_array_equal(fw.round(x).detach().numpy(), [-2, -0, 0, 2])  # half to even
    np.testing.assert_array_equal(fw.sign(x).detach().numpy(), [-1, -1, 1, 1])
    np.testing.assert_allclose(fw.round(fw.tensor([1.234, 5.678]), decimals=1).numpy(),
                               [1.2, 5.7], rtol=1e-6)


def test_fmod_and_remainder_follow_their_sign_rules():
    a = fw.tensor([-3.0, 3.0, -3.5])
    np.testing.assert_allclose(fw.fmod(a, 2).numpy(), [-1, 1, -1.5])
    np.testing.assert_allclose(fw.remainder(a, 2).numpy(), [1, 1, 0.5])
    np.testing.assert_allclose((a % 2).numpy(), [1, 1, 0.5])
    np.testing.assert_array_equal((fw.tensor([7, -7]) % 3).numpy(), [1, 2])


def test_where_checks_condition_and_promotes_scalars():
    x = fw.tensor([1.0, -2.0])
    out = fw.where(x > 0, x, 0.0)
    assert out.dtype == fw.float32
    np.testing.assert_array_equal(out.numpy(), [1, 0])
    np.testing.assert_array_equal(x.where(x > 0, -1.0).numpy(), [1, -1])
    assert fw.where(x > 0, 1.0, 0.0).dtype == fw.float32
    with pytest.raises(TypeError, match="condition must be a bool tensor"):
        fw.where(fw.tensor([1, 0]), x, x)


def test_logic_and_special_values():
    a = fw.tensor([True, True, False])
    b = fw.tensor([True, False, False])
    np.testing.assert_array_equal((a & b).numpy(), [True, False, False])
    np.testing.assert_array_equal((a | b).numpy(), [True, True, False])
    np.testing.assert_array_equal((a ^ b).numpy(), [False, True, False])
    np.testing.assert_array_equal((~a).numpy(), [False, False, True])
    np.testing.assert_array_equal(fw.logical_and(fw.tensor([1.0, 0.0]), 1).numpy(),
                                  [True, False])
    np.testing.assert_array_equal(fw.logical_not(fw.tensor([0, 3])).numpy(), [True, False])
    np.testing.assert_array_equal(fw.logical_or(a, b).numpy(), [True, True, False])
    np.testing.assert_array_equal(fw.logical_xor(a, b).numpy(), [False, True, False])
    x = fw.tensor([1.0, float("nan"), float("inf"), -float("inf")])
    np.testing.assert_array_equal(fw.isnan(x).numpy(), [False, True, False, False])
    np.testing.assert_array_equal(fw.isinf(x).numpy(), [False, False, True, True])
    np.testing.assert_array_equal(x.isfinite().numpy(), [True, False, False, False])
    with pytest.raises(TypeError, match="only bool and integer tensors"):
        fw.ones(2) & fw.ones(2)
    assert fw.isnan(fw.ones(2, dtype=fw.int64)).dtype == fw.bool


def test_float16_storage_and_compute():
    x = fw.tensor([0.5, -1.0, 2.0], dtype=fw.float16)
    for fn in (fw.exp, fw.sigmoid, fw.tanh, fw.gelu, fw.silu, fw.softplus, fw.erf,
               fw.rsqrt, fw.relu, fw.elu, fw.leaky_relu, lambda t: t * 2.5, lambda t: t + t):
        y = fn(x.abs() if fn is fw.rsqrt else x)
        assert y.dtype == fw.float16
    assert (x + fw.ones(3)).dtype == fw.float32
    assert fw.sum(x).dtype == fw.float16
    assert (x @ x).dtype == fw.float16


# ----- matrix products ---------------------------------------------------------------------

MATMUL_SHAPES = [
    ((3,), (3,)),
    ((3,), (3, 2)),
    ((2, 3), (3,)),
    ((2, 3), (3, 4)),
    ((2, 1, 2, 3), (3, 3, 2)),
    ((4,), (2, 4, 3)),
    ((2, 3, 4), (4,)),
    ((0, 3), (3, 2)),
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul_values_and_gradients(shapes):
    a, b = t64(*shapes[0]), t64(*shapes[1])
    want = np.matmul(a.detach().numpy(), b.detach().numpy())
    np.testing.assert_allclose(fw.matmul(a, b).detach().numpy(), want, rtol=1e-12)
    assert gradcheck(fw.matmul, (a, b))
    if a.numel():
        assert gradgradcheck(fw.matmul, (a, b))


def test_matmul_errors_name_both_shapes():
    with pytest.raises(RuntimeError, match=r"\(2, 3\) and \(4, 2\).*3 != 4"):
        fw.ones(2, 3) @ fw.ones(4, 2)
    with pytest.raises(RuntimeError, match="batch dimensions do not broadcast"):
        fw.ones(2, 2, 3) @ fw.ones(3, 3, 2)
    with pytest.raises(RuntimeError, match="at least 1 dimension"):
        fw.matmul(fw.tensor(1.0), fw.ones(2))


def test_bmm_mm_mv_dot_outer():
    a, b = t64(2, 3, 4), t64(2, 4, 5)
    np.testing.assert_allclose(fw.bmm(a, b).detach().numpy(),
                               a.detach().numpy() @ b.detach().numpy())
    assert gradcheck(fw.bmm, (a, b))
    m, v = t64(3, 4), t64(4)
    np.testing.assert_allclose(fw.mv(m, v).detach().numpy(),
                               m.detach().numpy() @ v.detach().numpy())
    np.testing.assert_allclose(fw.mm(m, m.T).detach().numpy(),
                               m.detach().numpy() @ m.detach().numpy().T)
    np.testing.assert_allclose(fw.dot(v, v).item(), float(v.detach().numpy() @ v.detach().numpy()))
    u, w = t64(3), t64(2)
    np.testing.assert_allclose(fw.outer(u, w).detach().numpy(),
                               np.outer(u.detach().numpy(), w.detach().numpy()))
    assert gradcheck(fw.outer, (u, w))
    assert gradgradcheck(fw.outer, (u, w))
    assert gradgradcheck(fw.dot, (v, t64(4)))
    with pytest.raises(RuntimeError, match=r"bmm: shapes \(2, 3, 4\) and \(3, 4, 5\)"):
        fw.bmm(a, t64(3, 4, 5))
    with pytest.raises(RuntimeError, match="bmm: input must be a 3-D tensor"):
        fw.bmm(m, b)
    with pytest.raises(RuntimeError, match="mm: shapes"):
        fw.mm(m, m)
    with pytest.raises(RuntimeError, match="different lengths"):
        fw.dot(v, u)
    with pytest.raises(RuntimeError, match="same dtype"):
        fw.dot(fw.ones(2), fw.ones(2, dtype=fw.float64))


EINSUM = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->ji", [(2, 3)]),
    ("i,j->ij", [(2,), (3,)]),
    ("ijk,k->ij", [(2, 2, 3), (3,)]),
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (3, 3, 2)]),
    ("...i,i", [(2, 3), (3,)]),
    ("i...->...", [(2, 3, 2)]),
    ("ab,bc,cd->ad", [(2, 3), (3, 2), (2, 2)]),
    ("iij->j", [(2, 2, 3)]),
    ("ij,ij->i", [(2, 3), (2, 3)]),
    ("Ab,ba", [(3, 2), (2, 3)]),
    (",ij->ij", [(), (2, 3)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM, ids=[e for e, _ in EINSUM])
def test_einsum_values_and_gradients(eq, shapes):
    ops = [t64(*s) for s in shapes]
    want = np.einsum(eq, *[o.detach().numpy() for o in ops])
    got = fw.einsum(eq, *ops)
    assert got.shape == want.shape
    np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-12, atol=1e-12)
    fn = lambda *xs: fw.einsum(eq, *xs)  # noqa: E731
    assert gradcheck(fn, tuple(ops))
    assert gradgradcheck(fn, tuple(ops))


def test_einsum_takes_a_list_and_reports_bad_equations():
    a = fw.ones(2, 3)
    assert fw.einsum("ij->j", [a]).shape == (3,)
    with pytest.raises(ValueError, match="names 2 operands but 1 were given"):
        fw.einsum("ij,jk->ik", a)
    with pytest.raises(ValueError, match="label 'j' has sizes 3 and 2"):
        fw.einsum("ij,jk->ik", a, a)
    with pytest.raises(ValueError, match="name 3 dimensions"):
        fw.einsum("ijk->i", a)
    with pytest.raises(ValueError, match="do not appear in any operand"):
        fw.einsum("ij->iz", a)
    with pytest.raises(ValueError, match="invalid subscripts"):
        fw.einsum("i1->i", a)


def test_trace_and_tensordot():
    m = t64(3, 4)
    np.testing.assert_allclose(fw.trace(m).item(), np.trace(m.detach().numpy()))
    assert gradcheck(fw.trace, (m,))
    a, b = t64(2, 3, 4), t64(3, 4, 2)
    for dims in (2, ([1, 2], [0, 1]), ([2], [1]), 0):
        want = np.tensordot(a.detach().numpy(), b.detach().numpy(), axes=dims)
        got = fw.tensordot(a, b, dims=dims)
        np.testing.assert_allclose(got.detach().numpy(), want, rtol=1e-12)
    assert gradcheck(lambda x, y: fw.tensordot(x, y, dims=([1], [0])), (a, b))
    with pytest.raises(RuntimeError, match="tensordot: dimension 2 of"):
        fw.tensordot(a, b, dims=([2], [2]))
    with pytest.raises(RuntimeError, match="trace: input must be a 2-D tensor"):
        fw.trace(a)


def test_log_and_hyperbolic_values():
    x = fw.tensor([0.5, 1.0, 8.0], dtype=fw.float64)
    np.testing.assert_allclose(fw.log2(x).numpy(), np.log2(x.numpy()), rtol=1e-14)
    np.testing.assert_allclose(fw.log10(x).numpy(), np.log10(x.numpy()), rtol=1e-14)
    np.testing.assert_allclose(fw.exp2(x).numpy(), np.exp2(x.numpy()), rtol=1e-14)
    y = fw.tensor([-3.0, 1e-10, 2.0], dtype=fw.float64)
    np.testing.assert_allclose(fw.sinh(y).numpy(), np.sinh(y.numpy()), rtol=1e-14)
    np.testing.assert_allclose(fw.cosh(y).numpy(), np.cosh(y.numpy()), rtol=1e-14)


def test_rounded_division_keeps_integers_and_has_zero_gradient():
    ints = fw.tensor([7, -7])
    assert (ints // 2).tolist() == [3, -4] and (ints // 2).dtype == fw.int64
    assert fw.div(ints, 2, rounding_mode="trunc").tolist() == [3, -3]
    assert (7 // fw.tensor([2])).tolist() == [3]
    np.testing.assert_array_equal((fw.tensor([7.5, -7.5]) // 2).numpy(), [3, -4])
    x = t64(4)
    (g,) = fw.grad(fw.floor_divide(x, 0.3).sum(), x)
    np.testing.assert_array_equal(g.numpy(), 0)
    with pytest.raises(ZeroDivisionError, match="integer division by zero"):
        ints // 0
    with pytest.raises(ValueError, match="rounding_mode must be"):
        fw.div(ints, 2, rounding_mode="round")


# ----- property: broadcasting of binary ops agrees with NumPy ------------------------------

_NUMPY_BINARY = {
    "add": (fw.add, np.add), "sub": (fw.sub, np.subtract), "mul": (fw.mul, np.multiply),
    "div": (fw.div, np.divide), "maximum": (fw.maximum, np.maximum),
    "minimum": (fw.minimum, np.minimum), "fmod": (fw.fmod, np.fmod),
    "remainder": (fw.remainder, np.remainder),
}


def _reduce_to(g, shape):
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead))) if lead else g
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


@settings(max_examples=40, deadline=None)
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=3),
       name=st.sampled_from(sorted(_NUMPY_BINARY)), seed=st.integers(0, 2**16))
def test_binary_broadcasting_matches_numpy(shapes, name, seed):
    r = np.random.default_rng(seed)
    (sa, sb), _ = shapes
    a = r.standard_normal(sa)
    b = r.uniform(0.5, 2.0, sb) * r.choice([-1, 1], sb)
    ours, ref = _NUMPY_BINARY[name]
    x = fw.tensor(a, dtype=fw.float64, requires_grad=True)
    y = fw.tensor(b, dtype=fw.float64, requires_grad=True)
    out = ours(x, y)
    np.testing.assert_allclose(out.detach().numpy(), ref(a, b), rtol=1e-12)
    up = r.standard_normal(out.shape)
    gx, gy = fw.grad([out], [x, y], [fw.tensor(up, dtype=fw.float64)])
    assert gx.shape == sa and gy.shape == sb
    if name in ("add", "mul"):
        bb = np.broadcast_to(b, out.shape) if name == "mul" else 1.0
        aa = np.broadcast_to(a, out.shape) if name == "mul" else 1.0
        np.testing.assert_allclose(gx.numpy(), _reduce_to(up * bb, sa), rtol=1e-12)
        np.testing.assert_allclose(gy.numpy(), _reduce_to(up * aa, sb), rtol=1e-12)


def test_broadcasting_errors_name_the_op_shapes_and_dimension():
    with pytest.raises(RuntimeError, match=r"add: shapes \(2, 3\) and \(4,\) do not broadcast: "
                       r"sizes 3 and 4 at dimension -1"):
        fw.ones(2, 3) + fw.ones(4)
    with pytest.raises(RuntimeError, match=r"mul: shapes \(5, 3\) and \(4, 1, 2\)"):
        fw.ones(5, 3) * fw.ones(4, 1, 2)
    for fn in (fw.maximum, fw.minimum, fw.fmod, fw.lt, fw.logical_and, fw.pow, fw.div):
        with pytest.raises(RuntimeError, match=f"{fn.__name__}: shapes"):
            fn(fw.ones(2, 3), fw.ones(2))
    with pytest.raises(RuntimeError, match="where: shapes"):
        fw.where(fw.ones(2, 3) > 0, fw.ones(4), 0.0)
    with pytest.raises(RuntimeError, match="clamp: shapes"):
        fw.clamp(fw.ones(3), fw.ones(2))


@pytest.mark.parametrize("dtype", [fw.float32, fw.float16], ids=str)
def test_ops_keep_float32_and_float16_in_values_and_gradients(dtype):
    """No silent upcast: each op's result and each gradient keep the input's dtype."""
    extra = {
        "softmax": lambda t: fw.softmax(t, 1), "log_softmax": lambda t: fw.log_softmax(t, 0),
        "logsumexp": lambda t: fw.logsumexp(t, 1), "var": lambda t: t.var(1),
        "std": lambda t: t.std(0), "norm": lambda t: t.norm(), "norm3": lambda t: t.norm(3),
        "norm_inf": lambda t: t.norm(math.inf, dim=1), "prod": lambda t: t.prod(1),
        "cumsum": lambda t: t.cumsum(1), "cumprod": lambda t: t.cumprod(0),
        "max_dim": lambda t: t.max(1).values, "amin": lambda t: t.amin(0),
        "mean": lambda t: t.mean(), "matmul": lambda t: t @ t.T,
        "einsum": lambda t: fw.einsum("ij,kj->ik", t, t),
    }
    fns = {name: fn for name, (fn, _) in UNARY.items()} | extra
    data = rng.uniform(0.3, 0.9, (2, 3)) * rng.choice([-1, 1], (2, 3))
    for name, fn in sorted(fns.items()):
        x = fw.tensor(np.abs(data) if name in ("log", "log1p", "log2", "log10", "sqrt", "rsqrt",
                                               "reciprocal") else data,
                      dtype=dtype, requires_grad=True)
        y = fn(x)
        assert y.dtype == dtype, name
        (g,) = fw.grad([y.sum()], [x])
        assert g.dtype == dtype, name
