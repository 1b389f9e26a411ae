"""Optimizers: parameter groups, zero_grad, state dicts, closures, and update rules checked
against the formulas written out in NumPy."""

import numpy as np
import pytest

import framework as fw
from framework import optim


def _param(values, dtype=fw.float64):
    return fw.tensor(np.asarray(values, dtype=np.float64), dtype=dtype, requires_grad=True)


def _quadratic_step(opt, params):
    opt.zero_grad()
    loss = sum(((p * p).sum() for p in params), fw.tensor(0.0, dtype=fw.float64))
    loss.backward()
    return opt.step()


def test_sgd_momentum_matches_formula():
    w = _param([1.0, -2.0, 3.0])
    opt = optim.SGD([w], lr=0.1, momentum=0.9, weight_decay=0.01)
    x = np.array([1.0, -2.0, 3.0])
    buf = None
    for _ in range(4):
        _quadratic_step(opt, [w])
        g = 2 * x + 0.01 * x
        buf = g.copy() if buf is None else 0.9 * buf + g
        x = x - 0.1 * buf
        np.testing.assert_allclose(w.detach().numpy(), x, rtol=1e-12)


def test_adam_matches_formula():
    w = _param([0.5, -1.5])
    opt = optim.Adam([w], lr=0.01, betas=(0.9, 0.99), eps=1e-8)
    x = np.array([0.5, -1.5])
    m = np.zeros(2)
    v = np.zeros(2)
    for t in range(1, 6):
        _quadratic_step(opt, [w])
        g = 2 * x
        m = 0.9 * m + 0.1 * g
        v = 0.99 * v + 0.01 * g * g
        x = x - 0.01 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.99 ** t)) + 1e-8)
        np.testing.assert_allclose(w.detach().numpy(), x, rtol=1e-10)
    assert opt.state[w]["step"] == 5


@pytest.mark.parametrize("make", [
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    lambda p: optim.Adam(p, lr=0.1, amsgrad=True),
    lambda p: optim.AdamW(p, lr=0.1),
    lambda p: optim.RMSprop(p, lr=0.01, centered=True, momentum=0.5),
    lambda p: optim.Adagrad(p, lr=0.5),
    lambda p: optim.Lamb(p, lr=0.1, weight_decay=0.01),
], ids=["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Lamb"])
def test_every_optimizer_minimizes_a_quadratic(make):
    w = _param([2.0, -3.0, 1.0])
    opt = make([w])
    start = float((w * w).sum().item())
    for _ in range(60):
        _quadratic_step(opt, [w])
    assert float((w * w).sum().item()) < 0.2 * start


def test_step_keeps_dtype_runs_without_recording_and_bumps_version():
    w = _param([1.0, 2.0], dtype=fw.float32)
    opt = optim.Adam([w], lr=0.1)
    _quadratic_step(opt, [w])
    assert w.dtype == fw.float32 and w.is_leaf and w.requires_grad
    assert opt.state[w]["exp_avg"].dtype == fw.float32
    # a graph that saved w before the update can no longer run backward through it
    w.grad = None
    y = (w * w).sum()
    w.grad = fw.ones(2)
    opt.step()
    with pytest.raises(RuntimeError, match="modified"):
        y.backward()


def test_zero_grad_to_none_and_to_zeros():
    w = _param([1.0, 2.0])
    opt = optim.SGD([w], lr=0.1)
    (w * 3).sum().backward()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(w.grad.numpy(), [0.0, 0.0])
    w.grad = fw.tensor([float("nan"), float("inf")], dtype=fw.float64)
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(w.grad.numpy(), [0.0, 0.0])
    opt.zero_grad()
    assert w.grad is None


def test_parameters_without_grad_are_left_alone():
    a, b = _param([1.0]), _param([5.0])
    opt = optim.Adam([a, b], lr=0.1)
    (a * a).sum().backward()
    opt.step()
    assert b.item() == 5.0 and b not in opt.state


def test_param_groups_take_their_own_options_and_defaults():
    a, b = _param([1.0]), _param([1.0])
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert opt.param_groups[0]["lr"] == 0.1 and opt.param_groups[0]["momentum"] == 0.0
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["momentum"] == 0.9
    _quadratic_step(opt, [a, b])
    assert a.item() == pytest.approx(0.8) and b.item() == pytest.approx(0.0)
    c = _param([2.0])
    opt.add_param_group({"params": [c], "lr": 0.25})
    _quadratic_step(opt, [a, b, c])
    assert c.item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})


@pytest.mark.parametrize("bad,match", [
    (lambda: optim.SGD([], lr=0.1), "empty parameter list"),
    (lambda: optim.SGD(_param([1.0]), lr=0.1), "iterable"),
    (lambda: optim.SGD([_param([1.0]) * 2], lr=0.1), "non-leaf"),
    (lambda: optim.SGD([np.zeros(2)], lr=0.1), "only optimize Tensors"),
    (lambda: optim.SGD([_param([1.0])], lr=-1), "learning rate"),
    (lambda: optim.Adam([_param([1.0])], betas=(1.0, 0.9)), "beta parameter at index 0"),
    (lambda: optim.SGD([_param([1.0])], lr=0.1, nesterov=True), "Nesterov"),
])
def test_bad_construction_is_refused_clearly(bad, match):
    with pytest.raises((ValueError, TypeError), match=match):
        bad()


def test_closure_is_called_with_grad_enabled_and_its_loss_returned():
    w = _param([3.0])
    opt = optim.SGD([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with fw.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 9.0 and w.item() == pytest.approx(2.4)


@pytest.mark.parametrize("make", [
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
    lambda p: optim.Adam(p, lr=0.05, amsgrad=True),
    lambda p: optim.AdamW(p, lr=0.05, weight_decay=0.1),
    lambda p: optim.RMSprop(p, lr=0.01, momentum=0.9, centered=True),
    lambda p: optim.Adagrad(p, lr=0.1),
    lambda p: optim.Lamb(p, lr=0.05),
], ids=["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Lamb"])
def test_state_dict_round_trip_continues_the_same_trajectory(make):
    def params():
        return [_param([1.0, -2.0]), _param([[0.5, 0.25], [3.0, -1.0]])]

    ref = params()
    opt = make([{"params": ref[:1]}, {"params": ref[1:], "lr": 0.02}])
    for _ in range(3):
        _quadratic_step(opt, ref)
    saved = opt.state_dict()
    resumed = [fw.tensor(p.detach().numpy(), dtype=fw.float64, requires_grad=True)
               for p in ref]
    opt2 = make([{"params": resumed[:1]}, {"params": resumed[1:]}])
    opt2.load_state_dict(saved)
    assert opt2.param_groups[1]["lr"] == 0.02
    for _ in range(3):
        _quadratic_step(opt, ref)
        _quadratic_step(opt2, resumed)
    for a, b in zip(ref, resumed, strict=True):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    # the loaded state is a copy, not shared with the first optimizer
    s1 = opt.state[ref[0]]
    s2 = opt2.state[resumed[0]]
    for key, value in s1.items():
        if isinstance(value, fw.Tensor):
            assert value.data is not s2[key].data


def test_state_dict_holds_only_tensors_and_plain_data():
    w = _param([1.0, 2.0])
    opt = optim.Adam([w], lr=0.1)
    _quadratic_step(opt, [w])
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert sd["param_groups"][0]["params"] == [0]
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}

    def plain(x):
        if isinstance(x, dict):
            return all(plain(k) and plain(v) for k, v in x.items())
        if isinstance(x, (list, tuple)):
            return all(plain(v) for v in x)
        return isinstance(x, (fw.Tensor, int, float, str, bool, type(None)))

    assert plain(sd)


@pytest.mark.parametrize("mutate,match", [
    (lambda sd: sd["param_groups"].append(dict(sd["param_groups"][0])), "parameter groups"),
    (lambda sd: sd["param_groups"][0]["params"].append(7), "has 2 parameters"),
    (lambda sd: sd.pop("state"), "not an optimizer state dict"),
])
def test_load_state_dict_rejects_a_mismatched_dict(mutate, match):
    w = _param([1.0])
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    _quadratic_step(opt, [w])
    sd = opt.state_dict()
    mutate(sd)
    with pytest.raises(ValueError, match=match):
        optim.SGD([_param([1.0])], lr=0.1).load_state_dict(sd)


def test_repr_lists_groups_and_options():
    opt = optim.SGD([_param([1.0])], lr=0.1, momentum=0.9)
    text = repr(opt)
    assert "SGD" in text and "lr: 0.1" in text and "momentum: 0.9" in text
