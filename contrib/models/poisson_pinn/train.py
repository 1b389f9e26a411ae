"""Train the physics-informed network for -u'' = pi^2 sin(pi x) on [0, 1], u(0) = u(1) = 0.

Run from the repository root: ``.venv/bin/python contrib/models/poisson_pinn/train.py``.
The loss is the mean squared residual of the equation at 64 fixed collocation points, with
u'' from ``fw.grad(..., create_graph=True)`` taken twice; no solution values are used in
training. The metric is the largest absolute error against the exact solution sin(pi x) on
1,001 evenly spaced points of [0, 1]. Seeds are fixed; re-running reproduces the error within
a factor of 1.5. Writes ``model.safetensors``, ``program/`` (``fw.jit.save``) and
``metrics.json``. Takes about a minute on 2 cores.
"""

import os

# One BLAS thread: faster for these small matrices, and sums come out the same every run.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import json  # noqa: E402
import math
import sys
from pathlib import Path

import numpy as np

import framework as fw

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from model import INPUT_SPEC, build_model  # noqa: E402

STEPS = 3000
POINTS = 64


def evaluate(model) -> dict:
    """Largest and root-mean-square error of ``model`` (a module or a loaded program) against
    sin(pi x) on 1,001 evenly spaced points of [0, 1]."""
    x = np.linspace(0.0, 1.0, 1001, dtype=np.float32).reshape(-1, 1)
    with fw.no_grad():
        u = model(fw.from_numpy(x)).numpy().astype(np.float64)
    err = np.abs(u - np.sin(math.pi * x.astype(np.float64)))
    return {"max_abs_error": float(err.max()), "rms_error": float(np.sqrt((err ** 2).mean()))}


def residual_loss(model, x):
    u = model(x)
    (du,) = fw.grad(u.sum(), x, create_graph=True)
    (d2u,) = fw.grad(du.sum(), x, create_graph=True)
    residual = d2u + (math.pi ** 2) * fw.sin(math.pi * x)
    return (residual * residual).mean()


def train() -> dict:
    fw.manual_seed(0)
    model = build_model()
    # Collocation points: the midpoints of 64 equal cells (fixed, so runs are reproducible).
    x = fw.from_numpy(((np.arange(POINTS) + 0.5) / POINTS).astype(np.float32).reshape(-1, 1))
    x.requires_grad_(True)
    opt = fw.optim.Adam(model.parameters(), lr=1e-2)
    sched = fw.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=STEPS, eta_min=1e-4)
    for step in range(STEPS):
        opt.zero_grad()
        loss = residual_loss(model, x)
        loss.backward()
        opt.step()
        sched.step()
        if step % 500 == 0:
            print(f"step {step}: residual {float(loss.item()):.3e}", flush=True)
    model.eval()
    fw.save(model.state_dict(), str(HERE / "model.safetensors"))
    fw.jit.save(model, str(HERE / "program"), INPUT_SPEC)
    metrics = {"test": evaluate(model)}
    (HERE / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    return metrics


if __name__ == "__main__":
    print(json.dumps(train(), indent=1))
