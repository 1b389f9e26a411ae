"""Shape ops: values against NumPy, gradients and second derivatives in float64, errors."""

import numpy as np
import pytest

import framework as fw
from framework.autograd import gradcheck, gradgradcheck

rng = np.random.default_rng(1)


def t64(*shape):
    return fw.tensor(rng.standard_normal(shape), dtype=fw.float64, requires_grad=True)


# each case: (function of one or two tensors, input shapes); outputs are multiplied by the
# input so that the second derivative is not identically zero
CASES = {
    "reshape_minus1": (lambda x: x.reshape(-1, 2) * 2, [(3, 4)]),
    "view_0d": (lambda x: x.view(1, 1), [()]),
    "flatten": (lambda x: x.flatten(1), [(2, 3, 2)]),
    "unflatten": (lambda x: x.unflatten(1, (2, -1)), [(2, 6)]),
    "squeeze_unsqueeze": (lambda x: x.unsqueeze(0).squeeze(2), [(3, 1, 2)]),
    "transpose": (lambda x: x.transpose(0, 2), [(2, 3, 2)]),
    "permute": (lambda x: x.permute(2, 0, 1), [(2, 3, 2)]),
    "swapaxes": (lambda x: fw.swapaxes(x, 0, 1), [(2, 3)]),
    "movedim": (lambda x: fw.movedim(x, (0, 1), (2, 0)), [(2, 3, 1)]),
    "T": (lambda x: x.T, [(2, 3)]),
    "expand": (lambda x: x.expand(2, -1, 3), [(3, 1)]),
    "broadcast_to": (lambda x: fw.broadcast_to(x, (2, 3)), [(3,)]),
    "repeat": (lambda x: x.repeat(2, 1, 3), [(2, 2)]),
    "repeat_0d": (lambda x: x.repeat(3), [()]),
    "tile": (lambda x: x.tile((2,)), [(2, 3)]),
    "repeat_interleave": (lambda x: x.repeat_interleave(2, dim=1), [(2, 3)]),
    "cat": (lambda x, y: fw.cat([x, y, x], dim=1), [(2, 3), (2, 1)]),
    "cat_empty": (lambda x, y: fw.cat([x, y]), [(0, 3), (2, 3)]),
    "stack": (lambda x, y: fw.stack([x, y], dim=-1), [(2, 3), (2, 3)]),
    "split_sizes": (lambda x: x.split([1, 3], dim=1)[1], [(2, 4)]),
    "split_int": (lambda x: fw.split(x, 2)[-1], [(5, 2)]),
    "chunk": (lambda x: x.chunk(3, dim=1)[0] * x.chunk(3, dim=1)[2], [(2, 6)]),
    "unbind": (lambda x: fw.unbind(x, 1)[1], [(2, 3)]),
    "flip": (lambda x: x.flip(0, 1), [(2, 3)]),
    "roll": (lambda x: fw.roll(x, (1, -2), (0, 1)), [(3, 4)]),
    "roll_flat": (lambda x: fw.roll(x, 5), [(3, 4)]),
    "pad_constant": (lambda x: fw.pad(x, (1, 2, 0, 1), value=3.0), [(2, 3)]),
    "pad_negative": (lambda x: fw.pad(x, (-1, 2)), [(2, 3)]),
    "pad_reflect": (lambda x: fw.pad(x, (2, 1, 1, 1), mode="reflect"), [(3, 4)]),
    "pad_replicate": (lambda x: fw.pad(x, (2, 1), mode="replicate"), [(2, 3)]),
    "pad_circular": (lambda x: fw.pad(x, (1, 2), mode="circular"), [(2, 3)]),
    "tril": (lambda x: fw.tril(x, diagonal=-1), [(2, 3, 3)]),
    "triu": (lambda x: x.triu(1), [(3, 4)]),
    "narrow_select": (lambda x: x.narrow(1, 1, 2).select(0, -1), [(2, 4)]),
    "meshgrid": (lambda x, y: fw.stack(fw.meshgrid(x, y, indexing="xy")), [(3,), (2,)]),
    "hstack_vstack": (lambda x, y: fw.vstack([fw.hstack([x, y]), fw.hstack([y, x])]),
                      [(2,), (3,)]),
    "t_mT": (lambda x: x.t() @ x.mT.mT, [(2, 3)]),
    "fliplr_flipud": (lambda x: fw.fliplr(x) * fw.flipud(x), [(2, 3)]),
    "clone_contiguous": (lambda x: x.T.contiguous().clone().reshape(-1), [(2, 3)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradcheck_and_gradgradcheck(name):
    fn, shapes = CASES[name]
    inputs = tuple(t64(*s) for s in shapes)

    def f(*xs):
        y = fn(*xs)
        return y * y  # nonlinear, so the second derivative means something

    assert gradcheck(f, inputs)
    assert gradgradcheck(f, inputs)


def _np(x):
    return x.detach().numpy()


def test_values_match_numpy():
    a = rng.standard_normal((2, 3, 4)).astype(np.float32)
    x = fw.tensor(a)
    np.testing.assert_array_equal(_np(x.reshape(4, -1)), a.reshape(4, -1))
    np.testing.assert_array_equal(_np(x.permute(1, 2, 0)), a.transpose(1, 2, 0))
    np.testing.assert_array_equal(_np(x.repeat(2, 1, 1, 3)), np.tile(a, (2, 1, 1, 3)))
    np.testing.assert_array_equal(_np(fw.tile(x, (2,))), np.tile(a, (1, 1, 2)))
    np.testing.assert_array_equal(_np(x.repeat_interleave(2, 1)), np.repeat(a, 2, 1))
    np.testing.assert_array_equal(_np(fw.cat([x, x], -1)), np.concatenate([a, a], -1))
    np.testing.assert_array_equal(_np(fw.stack([x, x], 1)), np.stack([a, a], 1))
    np.testing.assert_array_equal(_np(x.flip(0, 2)), a[::-1, :, ::-1])
    np.testing.assert_array_equal(_np(fw.roll(x, 3)), np.roll(a, 3))
    np.testing.assert_array_equal(_np(fw.roll(x, (1, 2), (0, 2))), np.roll(a, (1, 2), (0, 2)))
    np.testing.assert_array_equal(_np(fw.tril(x, 1)), np.tril(a, 1))
    np.testing.assert_array_equal(_np(fw.triu(x, -1)), np.triu(a, -1))
    np.testing.assert_array_equal(_np(fw.movedim(x, 0, -1)), np.moveaxis(a, 0, -1))
    np.testing.assert_array_equal(_np(x.unflatten(2, (2, 2))), a.reshape(2, 3, 2, 2))
    np.testing.assert_array_equal(_np(x.expand(5, 2, 3, 4)), np.broadcast_to(a, (5, 2, 3, 4)))
    # pad: (left, right) pairs, last dimension first
    np.testing.assert_array_equal(_np(fw.pad(x, (1, 2, 3, 0), value=7.0)),
                                  np.pad(a, ((0, 0), (3, 0), (1, 2)), constant_values=7.0))
    np.testing.assert_array_equal(_np(fw.pad(x, (2, 1), mode="reflect")),
                                  np.pad(a, ((0, 0), (0, 0), (2, 1)), mode="reflect"))
    np.testing.assert_array_equal(_np(fw.pad(x, (1, 1, 2, 2), mode="replicate")),
                                  np.pad(a, ((0, 0), (2, 2), (1, 1)), mode="edge"))
    np.testing.assert_array_equal(_np(fw.pad(x, (0, 0, 0, 0, 1, 1), mode="circular")),
                                  np.pad(a, ((1, 1), (0, 0), (0, 0)), mode="wrap"))
    np.testing.assert_array_equal(_np(fw.pad(x, (-1, -1))), a[..., 1:-1])


def test_split_and_chunk_sizes_follow_pytorch():
    x = fw.arange(10)
    assert [p.shape for p in x.split(4)] == [(4,), (4,), (2,)]
    assert [p.shape for p in x.split([3, 7])] == [(3,), (7,)]
    assert [p.shape for p in x.chunk(3)] == [(4,), (4,), (2,)]
    assert [p.shape for p in fw.arange(6).chunk(4)] == [(2,), (2,), (2,)]
    assert [p.tolist() for p in fw.arange(5).chunk(2)] == [[0, 1, 2], [3, 4]]
    assert [p.shape for p in fw.zeros(0, 2).chunk(2)] == [(0, 2), (0, 2)]


def test_split_pieces_accumulate_into_one_gradient():
    x = fw.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    a, b = x.split(2)
    (a * 2 + b.flip(0) * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2, 2, 3, 3])


def test_cat_promotes_dtypes_and_only_differentiable_inputs_get_gradients():
    x = fw.ones(2, requires_grad=True)
    y = fw.tensor([1, 2])
    z = fw.cat([x, y])
    assert z.dtype == fw.float32
    z.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1, 1])
    assert fw.cat([fw.ones(1, dtype=fw.float64), fw.ones(1)]).dtype == fw.float64


def test_views_share_memory_and_version_but_copies_do_not():
    x = fw.zeros(3, 4)
    v = x[1]
    v.fill_(5.0)
    assert x[1].tolist() == [5.0] * 4
    assert x._version == v._version == 1
    c = x.T.reshape(12)  # needs a copy: must not share the counter
    c.zero_()
    assert x._version == 1 and x.sum().item() == 20.0


@pytest.mark.parametrize("call, message", [
    (lambda: fw.zeros(2, 3).reshape(4, 2), r"\[4, 2\] is invalid for input of shape \(2, 3\)"),
    (lambda: fw.cat([fw.zeros(2, 3), fw.zeros(3, 2)]), r"tensor 1 has shape \(3, 2\)"),
    (lambda: fw.stack([fw.zeros(2), fw.zeros(3)]), r"equal size"),
    (lambda: fw.zeros(2, 3).repeat(2), r"number of repeats"),
    (lambda: fw.zeros(4).split([1, 2]), r"sum to 4"),
    (lambda: fw.zeros(2, 3).expand(3, 3), r"cannot be broadcast"),
    (lambda: fw.zeros(3).tril(), r"at least 2 dimensions"),
    (lambda: fw.pad(fw.zeros(3), (3, 0), mode="reflect"), r"smaller than the size 3"),
    (lambda: fw.pad(fw.zeros(3), (1, 1, 1)), r"even length"),
    (lambda: fw.pad(fw.zeros(3), (1, 1), mode="wrap"), r"unknown mode"),
    (lambda: fw.zeros(6).unflatten(0, (4, -1)), r"don't multiply up"),
    (lambda: fw.zeros(2, 3).permute(0, 0), r"not a permutation"),
    (lambda: fw.zeros(2).transpose(0, 2), r"out of range"),
    (lambda: fw.roll(fw.zeros(2, 2), (1, 1), 0), r"same length"),
    (lambda: fw.movedim(fw.zeros(2, 2), (0, 1), 0), r"same number"),
])
def test_errors_name_the_op_and_shapes(call, message):
    with pytest.raises((RuntimeError, IndexError), match=message):
        call()


def test_third_derivative_through_shape_ops():
    x = fw.tensor([0.5, -1.0, 2.0], dtype=fw.float64, requires_grad=True)

    def f(x):
        y = fw.stack([x, x.flip(0)], 0).repeat(1, 2)
        return (fw.pad(y, (1, 1)) ** 3).sum()

    (g1,) = fw.grad(f(x), x, create_graph=True)
    (g2,) = fw.grad(g1.sum(), x, create_graph=True)
    (g3,) = fw.grad(g2.sum(), x)
    # f = 2 * sum over two copies of x**3 = 4 * sum x**3 -> f''' = 24 per element
    np.testing.assert_allclose(g3.numpy(), [24.0, 24.0, 24.0])


def test_zero_dimensional_and_empty_inputs():
    s = fw.tensor(1.5, requires_grad=True)
    for y in (fw.flip(s, (0,)), fw.movedim(s, 0, 0), s.expand(2, 3), fw.stack([s, s]),
              s.repeat(2), fw.roll(s, 1)):
        y.sum().backward()
    assert s.grad.item() == 1 + 1 + 6 + 2 + 2 + 1
    assert fw.kthvalue(s, 1).values.item() == 1.5
    for call in (lambda: s.chunk(1), lambda: s.split(1), lambda: fw.unbind(s),
                 lambda: fw.cat([s, s])):
        with pytest.raises((RuntimeError, IndexError), match="dimension|0-d|zero-dim"):
            call()
    e = fw.zeros(0, 3, requires_grad=True)
    outs = [fw.flip(e, 0), fw.roll(e, 1, 0), fw.pad(e, (1, 1)), e.repeat(2, 3), fw.tril(e),
            fw.cat([e, e]), fw.stack([e, e]), fw.cat(e.split(1, 1), 1), e.permute(1, 0)]
    assert [o.shape for o in outs] == [(0, 3), (0, 3), (0, 5), (0, 9), (0, 3), (0, 3),
                                       (2, 0, 3), (0, 3), (3, 0)]
    sum(o.sum() for o in outs).backward()
    assert e.grad.shape == (0, 3)


def test_split_is_one_op_whose_unused_pieces_get_zero_gradient():
    x = fw.arange(6.0).requires_grad_()
    a, b, c = x.split(2)
    assert a.grad_fn is b.grad_fn
    (b * b).sum().backward()
    assert x.grad.tolist() == [0, 0, 4, 6, 0, 0]
