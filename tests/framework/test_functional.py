"""fw.autograd.functional: vjp, jvp, jacobian, hessian, hvp, vhp against closed forms and
finite differences, plus a physics-informed loss that contains d2u/dx2 of a small network."""

import numpy as np
import pytest

import framework as fw
from framework.autograd import gradcheck
from framework.autograd.functional import hessian, hvp, jacobian, jvp, vhp, vjp

rng = np.random.default_rng(3)


def f64(*shape):
    return fw.tensor(rng.standard_normal(shape), dtype=fw.float64)


def numeric_jacobian(fn, x, eps=1e-6):
    """d fn / d x by central differences, shaped out.shape + x.shape."""
    a = x.numpy().copy()
    out0 = fn(fw.tensor(a)).numpy()
    jac = np.zeros(out0.shape + a.shape)
    for k in np.ndindex(a.shape):
        p, m = a.copy(), a.copy()
        p[k] += eps
        m[k] -= eps
        jac[(...,) + k] = (fn(fw.tensor(p)).numpy() - fn(fw.tensor(m)).numpy()) / (2 * eps)
    return jac


def field(x):
    return fw.tanh(x) * x.roll(1) + (x ** 2).sum()


def test_jacobian_matches_finite_differences():
    x = f64(4)
    jac = jacobian(field, x)
    assert jac.shape == (4, 4) and not jac.requires_grad
    np.testing.assert_allclose(jac.numpy(), numeric_jacobian(field, x), rtol=1e-6, atol=1e-8)


def test_jacobian_of_several_inputs_and_outputs_has_pytorch_nesting():
    x, y = f64(2, 3), f64(3)
    jac = jacobian(lambda a, b: (a * b, (a @ b).sum()), (x, y))
    assert len(jac) == 2 and len(jac[0]) == 2
    assert jac[0][0].shape == (2, 3, 2, 3) and jac[0][1].shape == (2, 3, 3)
    assert jac[1][0].shape == (2, 3) and jac[1][1].shape == (3,)
    np.testing.assert_allclose(jac[1][0].numpy(), np.broadcast_to(y.numpy(), (2, 3)))
    np.testing.assert_allclose(jac[1][1].numpy(), x.numpy().sum(0))


def test_vjp_and_jvp_agree_with_the_jacobian():
    x, v, u = f64(4), f64(4), f64(4)
    jac = jacobian(field, x).numpy()
    out, vj = vjp(field, x, v)
    np.testing.assert_allclose(out.numpy(), field(x).numpy())
    np.testing.assert_allclose(vj.numpy(), v.numpy() @ jac, rtol=1e-10)
    out2, jv = jvp(field, x, u)
    np.testing.assert_allclose(jv.numpy(), jac @ u.numpy(), rtol=1e-10)
    assert not jv.requires_grad and not vj.requires_grad


def test_hessian_hvp_vhp_of_a_scalar_function():
    def energy(x):
        return (x ** 3).sum() + (x[0] * x[1] * x[2])

    x, v = f64(3), f64(3)
    a = x.numpy()
    want = np.diag(6 * a)
    want[0, 1] = want[1, 0] = a[2]
    want[0, 2] = want[2, 0] = a[1]
    want[1, 2] = want[2, 1] = a[0]
    h = hessian(energy, x)
    np.testing.assert_allclose(h.numpy(), want, rtol=1e-12)
    val, hv = hvp(energy, x, v)
    np.testing.assert_allclose(val.numpy(), energy(x).numpy())
    np.testing.assert_allclose(hv.numpy(), want @ v.numpy(), rtol=1e-12)
    _, vh = vhp(energy, x, v)
    np.testing.assert_allclose(vh.numpy(), v.numpy() @ want, rtol=1e-12)


def test_hessian_of_two_inputs():
    x, y = f64(2), f64(1)
    h = hessian(lambda a, b: (a * a * b).sum(), (x, y))
    np.testing.assert_allclose(h[0][0].numpy(), 2 * y.item() * np.eye(2))
    np.testing.assert_allclose(h[0][1].numpy(), 2 * x.numpy()[:, None])
    np.testing.assert_allclose(h[1][0].numpy(), 2 * x.numpy()[None, :])
    np.testing.assert_allclose(h[1][1].numpy(), [[0.0]])


def test_create_graph_makes_results_differentiable():
    w = fw.tensor([0.5, -1.0], dtype=fw.float64, requires_grad=True)
    jac = jacobian(lambda x: x ** 3, w, create_graph=True)
    assert jac.requires_grad
    (g,) = fw.grad(jac.sum(), w)  # d/dw sum(diag(3 w^2)) = 6 w
    np.testing.assert_allclose(g.numpy(), 6 * w.detach().numpy())
    _, hv = hvp(lambda x: (x ** 4).sum(), w, fw.ones(2, dtype=fw.float64), create_graph=True)
    (g2,) = fw.grad(hv.sum(), w)  # d/dw 12 w^2 = 24 w
    np.testing.assert_allclose(g2.numpy(), 24 * w.detach().numpy())


def test_unused_inputs_give_zeros_or_an_error_in_strict_mode():
    x, y = f64(2), f64(2)
    _, (gx, gy) = vjp(lambda a, b: a * 2, (x, y), fw.ones(2, dtype=fw.float64))
    assert gy.tolist() == [0.0, 0.0] and gx.tolist() == [2.0, 2.0]
    with pytest.raises(RuntimeError, match="independent of input 1"):
        vjp(lambda a, b: a * 2, (x, y), fw.ones(2, dtype=fw.float64), strict=True)
    jac = jacobian(lambda a: fw.ones(3, dtype=fw.float64), x)
    assert jac.shape == (3, 2) and not jac.numpy().any()


def test_v_must_match_and_may_be_omitted_only_for_one_element():
    x = f64(3)
    with pytest.raises(RuntimeError, match="v can be omitted only"):
        vjp(lambda a: a * 2, x)
    with pytest.raises(RuntimeError, match=r"v\[0\] has shape \(2,\)"):
        jvp(lambda a: a * 2, x, f64(2))
    out, g = vjp(lambda a: (a * a).sum(), x)
    np.testing.assert_allclose(g.numpy(), 2 * x.numpy())
    with pytest.raises(RuntimeError, match="one element"):
        hessian(lambda a: a * 2, x)
    with pytest.raises(TypeError, match="tuple of tensors"):
        jacobian(lambda a: a, [1.0, 2.0])


# ----- physics-informed example: u'' + sin(x) = 0 as a loss ---------------------------------


def mlp(x, w1, b1, w2):
    return fw.tanh(x @ w1 + b1) @ w2


def second_derivative(x, w1, b1, w2):
    """d2u/dx2 at each collocation point, differentiable in the weights."""
    xr = x.detach().requires_grad_(True)
    u = mlp(xr, w1, b1, w2)
    (du,) = fw.grad(u.sum(), xr, create_graph=True)
    (d2u,) = fw.grad(du.sum(), xr, create_graph=True)
    return d2u


def test_pinn_second_derivative_matches_closed_form_and_finite_differences():
    x = fw.linspace(-1, 1, 5, dtype=fw.float64).reshape(5, 1)
    w1, b1, w2 = f64(1, 6), f64(6), f64(6, 1)
    d2u = second_derivative(x, w1, b1, w2)
    # closed form: u = sum_k w2_k tanh(a_k), a = x w1 + b1 -> u'' = sum w2 * -2 t (1-t^2) w1^2
    t = np.tanh(x.numpy() @ w1.numpy() + b1.numpy())
    want = (-2 * t * (1 - t ** 2) * w1.numpy() ** 2) @ w2.numpy()
    np.testing.assert_allclose(d2u.detach().numpy(), want, rtol=1e-10)
    h = 1e-4
    u = [mlp(x + s, w1, b1, w2).numpy() for s in (-h, 0.0, h)]
    np.testing.assert_allclose(d2u.detach().numpy(), (u[0] - 2 * u[1] + u[2]) / h ** 2, rtol=1e-5,
                               atol=1e-6)


def test_pinn_loss_gradient_in_the_weights_passes_gradcheck():
    x = fw.linspace(-1, 1, 4, dtype=fw.float64).reshape(4, 1)
    w1 = f64(1, 3).requires_grad_()
    b1 = f64(3).requires_grad_()
    w2 = f64(3, 1).requires_grad_()

    def loss(w1, b1, w2):
        residual = second_derivative(x, w1, b1, w2) + fw.sin(x)
        return (residual ** 2).mean()

    assert gradcheck(loss, (w1, b1, w2))
    # and the same derivative through autograd.functional.hessian of u at one point
    x0 = fw.tensor([[0.3]], dtype=fw.float64)
    h = hessian(lambda z: mlp(z, w1.detach(), b1.detach(), w2.detach()).sum(), x0)
    np.testing.assert_allclose(h.reshape(1).numpy(),
                               second_derivative(x0, w1, b1, w2).detach().reshape(1).numpy())


def test_create_graph_results_pass_gradcheck():
    def energy(x):
        return (fw.sin(x) * x ** 2).sum()

    x = f64(3).requires_grad_()
    v = f64(3)
    assert gradcheck(lambda t: hvp(energy, t, v, create_graph=True)[1], (x,))
    assert gradcheck(lambda t: jvp(field, t, v, create_graph=True)[1], (x,))
    assert gradcheck(lambda t: vjp(field, t, v, create_graph=True)[1], (x,))
    assert gradcheck(lambda t: hessian(energy, t, create_graph=True), (x,))
