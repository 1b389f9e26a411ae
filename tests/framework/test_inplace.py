"""In-place ops and ``__setitem__``: values, the version counter, the errors that stop a
wrong gradient, and the allowed cases (parameter updates under no_grad)."""

import numpy as np
import pytest

import framework as fw


def test_inplace_ops_compute_and_bump_the_version():
    x = fw.tensor([1.0, 2.0, 4.0])
    assert x._version == 0
    assert x.add_(1) is x and x.tolist() == [2, 3, 5] and x._version == 1
    x.add_(fw.tensor([1.0, 1.0, 1.0]), alpha=2)
    assert x.tolist() == [4, 5, 7]
    x.sub_(fw.tensor(1.0), alpha=2)
    assert x.tolist() == [2, 3, 5]
    x.mul_(fw.tensor([[2.0, 2.0, 2.0]])[0])
    assert x.tolist() == [4, 6, 10]
    x.div_(2)
    assert x.tolist() == [2, 3, 5]
    x.clamp_(min=2.5, max=4.0)
    assert x.tolist() == [2.5, 3, 4]
    x.fill_(fw.tensor(7.0))
    assert x.tolist() == [7, 7, 7]
    x.copy_(fw.tensor([1, 2, 3]))  # copy_ converts the dtype
    assert x.tolist() == [1, 2, 3] and x.dtype == fw.float32
    x.copy_(fw.tensor(9.0))  # and broadcasts
    assert x.tolist() == [9, 9, 9]
    x.masked_fill_(fw.tensor([True, False, True]), 0.0)
    assert x.tolist() == [0, 9, 0]
    x.zero_()
    assert x.tolist() == [0, 0, 0]
    assert x._version == 11


def test_views_and_detached_aliases_share_the_counter():
    x = fw.zeros(2, 3)
    v = x[0]
    p = x.permute(1, 0)
    d = x.detach()
    v.add_(1.0)
    assert x._version == v._version == p._version == d._version == 1
    d[1, 1] = 5.0
    assert x[1, 1].item() == 5.0 and v._version == 2


def test_modifying_a_saved_input_raises_at_backward():
    w = fw.tensor([1.0, 2.0], requires_grad=True)
    a = fw.tensor([3.0, 4.0])
    y = (w * a).sum()
    a[0] = 10.0
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_modifying_a_parameter_through_a_view_after_forward_raises():
    w = fw.tensor([[1.0, 2.0]], requires_grad=True)
    x = fw.tensor([[3.0], [4.0]])
    y = (w @ x).sum() + (w * w).sum()
    with fw.no_grad():
        w[0].mul_(0.5)  # a view of w: shares its counter
    with pytest.raises(RuntimeError, match="version 0 then, 1 now"):
        y.backward()


def test_modifying_the_saved_output_of_exp_raises():
    x = fw.tensor([0.0, 1.0], requires_grad=True)
    y = x.exp()
    with fw.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match="gradient of Exp"):
        y.sum().backward()
    x2 = fw.tensor([0.0, 1.0], requires_grad=True)
    y2 = x2.exp()
    y2.detach().add_(1.0)  # a detached alias is the same memory
    with pytest.raises(RuntimeError, match="gradient of Exp"):
        y2.sum().backward()


def test_modifying_an_unsaved_tensor_is_fine():
    w = fw.tensor([1.0, 2.0], requires_grad=True)
    b = fw.tensor([1.0, 1.0])
    y = (w + b).sum()  # add's gradient needs neither operand
    b.mul_(100)
    y.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [1, 1])


def test_parameter_update_under_no_grad_then_train_again():
    w = fw.tensor([1.0, -1.0], requires_grad=True)
    for _ in range(3):
        loss = ((w - 3.0) ** 2).sum()
        loss.backward()
        with fw.no_grad():
            w.sub_(w.grad, alpha=0.25)
            w -= 0.0 * w.grad  # augmented assignment is in place too: w stays the leaf
        w.grad.zero_()
    assert w.is_leaf and w.requires_grad
    np.testing.assert_allclose(w.detach().numpy(), [3 - 2 * 0.5 ** 3, 3 - 4 * 0.5 ** 3])


def test_inplace_on_a_tensor_that_requires_grad_needs_no_grad():
    w = fw.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        w.add_(1)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        w += 1
    h = w * 2
    with pytest.raises(RuntimeError, match="part of a graph"):
        h.mul_(2)
    with pytest.raises(RuntimeError, match="requires grad is not supported"):
        w[0] = 3.0


def test_augmented_assignment_on_a_graph_tensor_is_out_of_place():
    w = fw.ones(2, requires_grad=True)
    h = w * 2
    before = h
    h += w  # rebinds h to a new node, keeps the graph correct
    assert h is not before and before.tolist() == [2, 2]
    h.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3, 3])
    x = fw.zeros(2)
    alias = x
    x += 1
    assert x is alias and alias.tolist() == [1, 1]


def test_setitem_values_broadcasting_and_masks():
    x = fw.zeros(3, 4)
    x[0] = 1.0
    x[1, 1:3] = fw.tensor([2.0, 3.0])
    x[:, 3] = fw.tensor([7, 8, 9])  # int values into a float tensor
    x[x == 0] = -1.0
    x[fw.tensor([2, 2])] = fw.tensor([[5.0, 5.0, 5.0, 5.0]])
    assert x.tolist() == [[1, 1, 1, 7], [-1, 2, 3, 8], [5, 5, 5, 5]]
    assert x._version == 5
    i = fw.zeros(2, dtype=fw.int64)
    i[0] = 3
    assert i.tolist() == [3, 0]


def test_setitem_under_no_grad_on_a_parameter():
    w = fw.zeros(2, requires_grad=True)
    with fw.no_grad():
        w[1] = 4.0
    assert w.tolist() == [0, 4] and w._version == 1


@pytest.mark.parametrize("call, error, message", [
    (lambda: fw.zeros(2, 3).add_(fw.ones(4)), RuntimeError, r"shape \(4,\) doesn't broadcast"),
    (lambda: fw.zeros(3).add_(fw.ones(2, 3)), RuntimeError, r"\(2, 3\) doesn't broadcast"),
    (lambda: fw.zeros(2, dtype=fw.int64).mul_(2.5), RuntimeError, "can't be cast"),
    (lambda: fw.zeros(2, dtype=fw.int64).add_(fw.ones(2)), RuntimeError, "can't be cast"),
    (lambda: fw.zeros(2, dtype=fw.int64).div_(2), RuntimeError, "can't be cast"),
    (lambda: fw.zeros(2).fill_(fw.ones(2)), RuntimeError, "0-dimensional"),
    (lambda: fw.zeros(3).expand(2, 3).add_(1), RuntimeError, "read-only"),
    (lambda: fw.zeros(3).__setitem__(5, 1.0), IndexError, r"shape \(3,\)"),
    (lambda: fw.zeros(3).__setitem__(slice(0, 2), fw.ones(3)), RuntimeError,
     r"value of shape \(3,\)"),
    (lambda: fw.zeros(3).__setitem__(0, fw.ones(()).requires_grad_()), RuntimeError,
     "gradient would be lost"),
])
def test_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_failed_inplace_op_changes_nothing():
    x = fw.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError):
        x.add_(fw.ones(3))
    with pytest.raises(RuntimeError):
        x[0:2] = fw.ones(3)
    assert x.tolist() == [1.0, 2.0] and x._version == 0


@pytest.mark.parametrize("op", [
    fw.exp, fw.tanh, fw.sigmoid, fw.reciprocal, fw.rsqrt,
    lambda x: fw.softmax(x, dim=0), lambda x: fw.amax(x, dim=0, keepdim=True),
])
def test_every_rule_that_reuses_its_output_is_protected(op):
    x = fw.tensor([0.5, 1.0, 2.0], requires_grad=True)
    y = op(x)
    with fw.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()


def test_accumulating_losses_with_plus_equals_keeps_the_graph():
    w = fw.tensor([1.0, 2.0], requires_grad=True)
    total = fw.zeros(())
    for k in range(3):
        total += (w * k).sum()
    assert total.requires_grad
    total.backward()
    assert w.grad.tolist() == [3.0, 3.0]


def test_inplace_with_an_operand_that_requires_grad_is_an_error_in_grad_mode():
    y = fw.ones(2, requires_grad=True)
    x = fw.zeros(2)
    for call in (lambda: x.add_(y), lambda: x.mul_(y), lambda: x.copy_(y),
                 lambda: x.fill_(y.sum()), lambda: x.masked_fill_(x == 0, y.sum())):
        with pytest.raises(RuntimeError, match="gradient would be lost"):
            call()
    assert x.tolist() == [0.0, 0.0] and x._version == 0
    with fw.no_grad():
        x.add_(y)
    assert x.tolist() == [1.0, 1.0]
