"""Optimizers and lr schedules against PyTorch 2.13: the same parameter trajectories over
several steps, for every optimizer and option set, and the same lr sequences."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the peers extra (torch==2.13.0) is not installed")

import framework as fw  # noqa: E402
from framework import optim  # noqa: E402
from framework.optim import lr_scheduler as fw_sched  # noqa: E402

pytestmark = pytest.mark.peers

SHAPES = [(3, 4), (5,), ()]
STEPS = 8


def _grad(i, k, w):
    """A parameter-dependent gradient (so trajectories diverge if an update is wrong), with a
    step-dependent term that changes sign and scale (so state like v_max matters)."""
    rng = np.random.default_rng(1000 * i + k)
    g = w ** 3 - 0.5 * w + rng.standard_normal(w.shape) * (2.0 if k % 3 == 0 else 0.3)
    return np.asarray(g, dtype=w.dtype)


def _start(dtype):
    rng = np.random.default_rng(7)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def _run_fw(make, dtype, steps=STEPS, groups=None):
    ws = [fw.tensor(a, requires_grad=True) for a in _start(dtype)]
    params = ws if groups is None else [dict(g, params=[ws[i] for i in g["params"]])
                                        for g in groups]
    opt = make(params)
    out = []
    for k in range(steps):
        for i, w in enumerate(ws):
            # parameter 1 has no gradient on odd steps: it must be left alone then
            w.grad = None if (i == 1 and k % 2) else fw.tensor(_grad(i, k, w.detach().numpy()))
        opt.step()
        out.append([w.detach().numpy().copy() for w in ws])
    return out


def _run_torch(make, dtype, steps=STEPS, groups=None):
    ws = [torch.tensor(a, requires_grad=True) for a in _start(dtype)]
    params = ws if groups is None else [dict(g, params=[ws[i] for i in g["params"]])
                                        for g in groups]
    opt = make(params)
    out = []
    for k in range(steps):
        for i, w in enumerate(ws):
            w.grad = None if (i == 1 and k % 2) else torch.from_numpy(
                _grad(i, k, w.detach().numpy()))
        opt.step()
        out.append([w.detach().numpy().copy() for w in ws])
    return out


CASES = [
    ("SGD", dict(lr=0.05)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.8, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.02, weight_decay=0.05, amsgrad=True, maximize=True)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.2, amsgrad=True)),
    ("AdamW", dict(lr=0.05, betas=(0.5, 0.9), maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.1, eps=1e-4)),
    ("RMSprop", dict(lr=0.01, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5, eps=1e-6, maximize=True)),
]


@pytest.mark.parametrize("name,options", CASES, ids=[f"{n}-{i}" for i, (n, _) in
                                                     enumerate(CASES)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_trajectory_matches_torch(name, options, dtype):
    ours = _run_fw(lambda p: getattr(optim, name)(p, **options), dtype)
    theirs = _run_torch(lambda p: getattr(torch.optim, name)(p, **options), dtype)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-6)
    for k, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert x.dtype == y.dtype
            np.testing.assert_allclose(x, y, **tol, err_msg=f"{name} step {k} param {i}")


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_param_groups_with_own_options_match_torch(name):
    extra = {"momentum": 0.9} if name in ("SGD", "RMSprop") else {}
    groups = [{"params": [0, 2], "lr": 0.03}, {"params": [1], "lr": 0.1, "weight_decay": 0.2}]
    ours = _run_fw(lambda p: getattr(optim, name)(p, **extra), np.float64, groups=groups)
    theirs = _run_torch(lambda p: getattr(torch.optim, name)(p, **extra), np.float64,
                        groups=groups)
    np.testing.assert_allclose(np.concatenate([w.ravel() for w in ours[-1]]),
                               np.concatenate([w.ravel() for w in theirs[-1]]), rtol=1e-10)


class _TorchLamb(torch.optim.Optimizer):
    """LAMB written directly from the paper's equations in torch, as the reference."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                st = self.state[p]
                if not st:
                    st["t"] = 0
                    st["m"] = torch.zeros_like(p)
                    st["v"] = torch.zeros_like(p)
                st["t"] += 1
                t = st["t"]
                st["m"] = b1 * st["m"] + (1 - b1) * p.grad
                st["v"] = b2 * st["v"] + (1 - b2) * p.grad ** 2
                m_hat = st["m"] / (1 - b1 ** t)
                v_hat = st["v"] / (1 - b2 ** t)
                u = m_hat / (v_hat.sqrt() + group["eps"]) + group["weight_decay"] * p
                wn, un = p.norm().item(), u.norm().item()
                r = wn / un if wn > 0 and un > 0 else 1.0
                p -= group["lr"] * r * u


@pytest.mark.parametrize("options", [dict(lr=0.05), dict(lr=0.02, weight_decay=0.1,
                                                         betas=(0.8, 0.95), eps=1e-4)])
def test_lamb_matches_reference_formula(options):
    ours = _run_fw(lambda p: optim.Lamb(p, **options), np.float64)
    theirs = _run_torch(lambda p: _TorchLamb(p, **options), np.float64)
    for a, b in zip(ours, theirs, strict=True):
        for x, y in zip(a, b, strict=True):
            np.testing.assert_allclose(x, y, rtol=1e-10, atol=1e-12)


# ----- lr schedules ---------------------------------------------------------------------------

def _lrs(lib, opt_cls, make_sched, steps=30, opt_kwargs=None, metrics=None, n_groups=2):
    params = [[lib.zeros(2, requires_grad=True)] for _ in range(n_groups)]
    groups = [{"params": p, "lr": 0.1 * (i + 1)} for i, p in enumerate(params)]
    opt = opt_cls(groups, **(opt_kwargs or {}))
    sched = make_sched(lib, opt)
    seq = [[g["lr"] for g in opt.param_groups]]
    moms = []
    for k in range(steps):
        opt.step()
        if metrics is not None:
            sched.step(metrics[k])
        else:
            sched.step()
        seq.append([g["lr"] for g in opt.param_groups])
        g0 = opt.param_groups[0]
        moms.append(g0.get("momentum", g0.get("betas", (None,))[0]))
    return seq, sched.get_last_lr(), moms


SCHEDULES = {
    "StepLR": lambda lib, o: lib.optim.lr_scheduler.StepLR(o, step_size=4, gamma=0.5),
    "MultiStepLR": lambda lib, o: lib.optim.lr_scheduler.MultiStepLR(
        o, milestones=[3, 7, 7, 20], gamma=0.3),
    "ExponentialLR": lambda lib, o: lib.optim.lr_scheduler.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda lib, o: lib.optim.lr_scheduler.CosineAnnealingLR(
        o, T_max=10, eta_min=0.001),
    "LinearLR": lambda lib, o: lib.optim.lr_scheduler.LinearLR(
        o, start_factor=0.1, end_factor=0.9, total_iters=6),
    "LambdaLR": lambda lib, o: lib.optim.lr_scheduler.LambdaLR(
        o, [lambda e: 0.95 ** e, lambda e: 1 / (1 + e)]),
    "MultiplicativeLR": lambda lib, o: lib.optim.lr_scheduler.MultiplicativeLR(
        o, lambda e: 0.9 if e % 2 else 0.99),
    "ConstantLR": lambda lib, o: lib.optim.lr_scheduler.ConstantLR(o, factor=0.25,
                                                                    total_iters=4),
    "PolynomialLR": lambda lib, o: lib.optim.lr_scheduler.PolynomialLR(o, total_iters=20,
                                                                        power=2.0),
    "SequentialLR-constant-poly": lambda lib, o: lib.optim.lr_scheduler.SequentialLR(
        o, [lib.optim.lr_scheduler.ConstantLR(o, factor=0.5, total_iters=3),
            lib.optim.lr_scheduler.PolynomialLR(o, total_iters=10, power=0.5)],
        milestones=[4]),
    "SequentialLR": lambda lib, o: lib.optim.lr_scheduler.SequentialLR(
        o, [lib.optim.lr_scheduler.LinearLR(o, start_factor=0.2, total_iters=5),
            lib.optim.lr_scheduler.CosineAnnealingLR(o, T_max=12, eta_min=0.0),
            lib.optim.lr_scheduler.ExponentialLR(o, gamma=0.8)],
        milestones=[5, 17]),
    "OneCycleLR": lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(
        o, max_lr=[1.0, 2.0], total_steps=30),
    "OneCycleLR-linear-3phase": lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(
        o, max_lr=0.5, epochs=3, steps_per_epoch=10, anneal_strategy="linear",
        three_phase=True, pct_start=0.25),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
@pytest.mark.parametrize("opt", ["SGD", "Adam"])
def test_lr_sequence_matches_torch(name, opt):
    kwargs = {"momentum": 0.9} if opt == "SGD" else {}
    ours = _lrs(fw, getattr(optim, opt), SCHEDULES[name], opt_kwargs=kwargs)
    theirs = _lrs(torch, getattr(torch.optim, opt), SCHEDULES[name], opt_kwargs=kwargs)
    np.testing.assert_allclose(np.array(ours[0]), np.array(theirs[0]), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-12)
    if name.startswith("OneCycle"):
        np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-12)


@pytest.mark.parametrize("options", [
    dict(),
    dict(mode="max", factor=0.5, patience=2, threshold=0.1, threshold_mode="abs",
         cooldown=2, min_lr=[0.01, 0.05]),
    dict(factor=0.3, patience=1, cooldown=1, min_lr=0.02),
])
def test_reduce_on_plateau_matches_torch(options):
    rng = np.random.default_rng(3)
    metrics = list(np.cumsum(rng.standard_normal(40)) * 0.1 + np.linspace(2, 1, 40))

    def make(lib, o):
        return lib.optim.lr_scheduler.ReduceLROnPlateau(o, **options)

    ours = _lrs(fw, optim.SGD, make, steps=40, metrics=metrics)
    theirs = _lrs(torch, torch.optim.SGD, make, steps=40, metrics=metrics)
    np.testing.assert_allclose(np.array(ours[0]), np.array(theirs[0]), rtol=1e-12)
    assert len({tuple(x) for x in ours[0]}) > 1 or not options  # the lr did change


def test_cosine_matches_closed_form_within_t_max():
    w = fw.zeros(1, requires_grad=True)
    opt = optim.SGD([w], lr=1.0)
    s = fw_sched.CosineAnnealingLR(opt, T_max=8)
    for e in range(1, 9):
        opt.step()
        s.step()
        assert s.get_last_lr()[0] == pytest.approx((1 + math.cos(math.pi * e / 8)) / 2,
                                                   abs=1e-12)
