"""The eager core's contract on a handful of ops: values, gradients, second derivatives."""

import numpy as np
import pytest

import framework as fw
from framework.autograd import gradcheck, gradgradcheck

rng = np.random.default_rng(0)


def t64(*shape):
    return fw.tensor(rng.standard_normal(shape), dtype=fw.float64, requires_grad=True)


OPS = {
    "add": lambda x, y: x + y,
    "mul": lambda x, y: x * y,
    "div": lambda x, y: x / (y * y + 1),
    "exp": lambda x, y: (x - y).exp(),
    "tanh": lambda x, y: fw.tanh(x * y),
    "sigmoid": lambda x, y: fw.sigmoid(x) * y,
    "maximum": lambda x, y: fw.maximum(x, y),
    "matmul": lambda x, y: (x @ y.reshape(1, 4)).sum(dim=1),
    "erf": lambda x, y: fw.erf(x + y),
    "sqrt_log": lambda x, y: (x * x + 1).sqrt().log() * y,
    "amax": lambda x, y: fw.amax(x * y, dim=1),
    "slice": lambda x, y: (x * y)[1:, ::2],
    "where": lambda x, y: fw.where(x > 0, x, y).mean(),
    "pow": lambda x, y: (x.abs() + 1) ** y,
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_gradcheck_and_gradgradcheck_over_broadcasting(name):
    a, b = t64(3, 1), t64(4)
    assert gradcheck(OPS[name], (a, b))
    assert gradgradcheck(OPS[name], (a, b))


def test_third_derivative_of_cube():
    x = fw.tensor(2.0, requires_grad=True)
    (d1,) = fw.grad(x**3, x, create_graph=True)
    (d2,) = fw.grad(d1, x, create_graph=True)
    (d3,) = fw.grad(d2, x)
    assert (d1.item(), d2.item(), d3.item()) == (12.0, 12.0, 6.0)


def test_grad_accumulates_and_backward_twice_needs_retain_graph():
    x = fw.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, 8.0])
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_inplace_change_of_saved_tensor_is_an_error():
    w = fw.tensor([1.0, 2.0], requires_grad=True)
    a = fw.tensor([3.0, 4.0])
    y = (w * a).sum()
    a.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_backward_on_non_scalar_needs_gradient():
    x = fw.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar outputs"):
        (x * 2).backward()


def test_promotion_follows_pytorch():
    f = fw.ones(2)
    assert (f * 2.5).dtype == fw.float32
    assert (fw.tensor([1, 2]) * 2.5).dtype == fw.float32
    assert (fw.tensor([1, 2], dtype=fw.int32) + fw.ones(2)).dtype == fw.float32
    assert (fw.ones(2, dtype=fw.float64) + f).dtype == fw.float64


def test_custom_function_with_second_derivative():
    class Cube(fw.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x**2

    x = t64(5)
    assert gradcheck(Cube.apply, (x,))
    assert gradgradcheck(Cube.apply, (x,))
