"""Learning-rate schedules: the sequences they produce, their state dicts, their errors."""

import math

import pytest

import framework as fw
from framework import optim
from framework.optim import lr_scheduler as S


def _opt(lr=1.0, cls=optim.SGD, **kw):
    return cls([fw.zeros(2, requires_grad=True)], lr=lr, **kw)


def _run(opt, sched, n, metric=None):
    lrs = [opt.param_groups[0]["lr"]]
    for k in range(n):
        opt.step()
        sched.step() if metric is None else sched.step(metric(k))
        lrs.append(opt.param_groups[0]["lr"])
    return lrs


def _sched(make, n, lr=1.0):
    o = _opt(lr)
    return _run(o, make(o), n)


def test_step_and_multistep():
    assert _sched(lambda o: S.StepLR(o, 2, gamma=0.5), 5) == [1, 1, 0.5, 0.5, 0.25, 0.25]
    lrs = _sched(lambda o: S.MultiStepLR(o, [1, 3], gamma=0.1), 4)
    assert lrs == pytest.approx([1, 0.1, 0.1, 0.01, 0.01])


def test_exponential_lambda_linear():
    assert _sched(lambda o: S.ExponentialLR(o, 0.5), 3) == [1, 0.5, 0.25, 0.125]
    lrs = _sched(lambda o: S.LambdaLR(o, lambda e: 1 / (e + 1)), 3, lr=2.0)
    assert lrs == pytest.approx([2, 1, 2 / 3, 0.5])
    lrs = _sched(lambda o: S.LinearLR(o, start_factor=0.25, total_iters=3), 5)
    assert lrs == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0, 1.0])


def test_cosine_reaches_eta_min_at_t_max():
    lrs = _sched(lambda o: S.CosineAnnealingLR(o, T_max=4, eta_min=0.1), 4)
    expect = [0.1 + 0.9 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(5)]
    assert lrs == pytest.approx(expect)


def test_sequential_warmup_then_decay():
    o = _opt()
    warm = S.LinearLR(o, start_factor=0.5, total_iters=2)
    decay = S.ExponentialLR(o, gamma=0.5)
    lrs = _run(o, S.SequentialLR(o, [warm, decay], milestones=[2]), 4)
    assert lrs == pytest.approx([0.5, 0.75, 1.0, 0.5, 0.25])


def test_one_cycle_warms_up_to_max_then_anneals_and_cycles_momentum():
    o = _opt(cls=optim.SGD, momentum=0.9)
    s = S.OneCycleLR(o, max_lr=1.0, total_steps=10, pct_start=0.3)
    lrs = [o.param_groups[0]["lr"]]
    moms = [o.param_groups[0]["momentum"]]
    for _ in range(9):
        o.step()
        s.step()
        lrs.append(o.param_groups[0]["lr"])
        moms.append(o.param_groups[0]["momentum"])
    assert lrs[0] == pytest.approx(1.0 / 25) and max(lrs) == pytest.approx(1.0)
    assert lrs.index(max(lrs)) == 2 and lrs[-1] == pytest.approx(1.0 / 25 / 1e4)
    assert moms[0] == pytest.approx(0.95) and moms[2] == pytest.approx(0.85)
    o.step()
    s.step()  # the 10th step is the last one
    with pytest.raises(ValueError, match="total_steps=10"):
        s.step()


def test_one_cycle_cycles_adam_beta1():
    o = _opt(cls=optim.Adam)
    S.OneCycleLR(o, max_lr=0.1, total_steps=5)
    assert o.param_groups[0]["betas"][0] == pytest.approx(0.95)


def test_reduce_on_plateau_waits_for_patience_and_cooldown():
    o = _opt()
    s = S.ReduceLROnPlateau(o, factor=0.5, patience=1, cooldown=1, min_lr=0.2)
    metrics = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    lrs = _run(o, s, 8, metric=lambda k: fw.tensor(metrics[k]))
    assert lrs == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]
    for _ in range(6):
        s.step(1.0)
    assert o.param_groups[0]["lr"] == 0.2  # floored at min_lr


def test_state_dict_round_trip_resumes_the_schedule():
    o1 = _opt()
    s1 = S.CosineAnnealingLR(o1, T_max=10)
    _run(o1, s1, 4)
    sd = s1.state_dict()
    assert "optimizer" not in sd and sd["last_epoch"] == 4
    o2 = _opt()
    s2 = S.CosineAnnealingLR(o2, T_max=10)
    s2.load_state_dict(sd)
    o2.param_groups[0]["lr"] = o1.param_groups[0]["lr"]
    assert _run(o1, s1, 3) == pytest.approx(_run(o2, s2, 3))


def test_sequential_state_dict_holds_inner_schedulers():
    o = _opt()
    seq = S.SequentialLR(o, [S.LinearLR(o, total_iters=2), S.ExponentialLR(o, 0.9)], [2])
    sd = seq.state_dict()
    assert len(sd["_schedulers"]) == 2 and "optimizer" not in sd["_schedulers"][0]


@pytest.mark.parametrize("bad,match", [
    (lambda o: S.StepLR(object(), 2), "is not an Optimizer"),
    (lambda o: S.LinearLR(o, start_factor=0), "start_factor"),
    (lambda o: S.SequentialLR(o, [S.StepLR(o, 2)], milestones=[3]), "one milestone fewer"),
    (lambda o: S.SequentialLR(o, [S.ExponentialLR(_opt(), 0.9)], milestones=[]),
     "same optimizer"),
    (lambda o: S.OneCycleLR(o, max_lr=1.0), "total_steps"),
    (lambda o: S.OneCycleLR(_opt(cls=optim.Adagrad), max_lr=1.0, total_steps=3),
     "momentum or beta1"),
    (lambda o: S.ReduceLROnPlateau(o, mode="up"), "mode"),
    (lambda o: S.LambdaLR(o, [lambda e: 1, lambda e: 1]), "expected 1 lr_lambdas"),
    (lambda o: S.StepLR(o, 2, last_epoch=3), "initial_lr"),
])
def test_bad_arguments_are_refused_clearly(bad, match):
    with pytest.raises((ValueError, TypeError, KeyError), match=match):
        bad(_opt())
