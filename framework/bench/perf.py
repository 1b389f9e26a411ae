"""Eager framework vs hand-written NumPy (and PyTorch, when the ``peers`` extra is
installed): ``python -m framework.bench.perf``, part of ``make bench``.

Each figure is a ratio against the same computation written by hand in NumPy — forward,
manual backward and SGD update — run in the same process, interleaved, as CPU time of this
process with BLAS pinned to one thread (steady on a shared, busy machine). That hand-written
NumPy is the limit a NumPy framework can reach. The NumPy baselines and the timing helper are
shared with the dynamic-to-static benchmarks (:mod:`framework.bench.static`).

Targets (issue 3): MLP step <= 1.15x NumPy; CNN step <= 1.0x a NumPy im2col version;
transformer block forward + backward <= 1.0x NumPy; a tiny add with gradient recording under
1.5 us.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import framework as fw
from framework.bench.static import (
    EncoderBlock,
    NumpyCNN,
    NumpyEncoderBlock,
    NumpyMLP,
    _cnn_model,
    _compare,
    _mlp_model,
    _train_step,
)


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def _torch_copy(model: fw.nn.Module, torch_model: Any) -> Any:
    """``torch_model`` with ``model``'s parameters (matching names)."""
    torch = _torch()
    with torch.no_grad():
        for name, p in model.named_parameters():
            torch_model.get_parameter(name).copy_(torch.from_numpy(p.detach().numpy()))
    return torch_model


def _torch_step(torch: Any, model: Any, loss_fn: Callable) -> Callable:
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def step(*args: Any) -> Any:
        loss = loss_fn(model, *args)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss
    return step


def bench_mlp(batch: int = 128) -> dict:
    rng = np.random.default_rng(0)
    xa = rng.standard_normal((batch, 784)).astype(np.float32)
    ya = rng.integers(0, 10, batch)
    x, y = fw.from_numpy(xa), fw.from_numpy(ya)
    model = _mlp_model()
    hand = NumpyMLP(_mlp_model(), 0.01)
    fns = {"numpy": lambda: hand.step(xa, ya),
           "skiff": (lambda s: lambda: s(x, y))(_train_step(model, fw.optim.SGD(
               model.parameters(), lr=0.01)))}
    torch = _torch()
    if torch is not None:
        tn = torch.nn
        tm = _torch_copy(_mlp_model(), tn.Sequential(tn.Linear(784, 256), tn.ReLU(),
                                                     tn.Linear(256, 128), tn.ReLU(),
                                                     tn.Linear(128, 10)))
        tstep = _torch_step(torch, tm, lambda m, a, b: tn.functional.cross_entropy(m(a), b))
        tx, ty = torch.from_numpy(xa), torch.from_numpy(ya)
        fns["torch"] = lambda: tstep(tx, ty)
    return {"name": f"MLP 784-256-128-10 training step, batch {batch}", "target": 1.15,
            **_compare(fns)}


def bench_cnn(batch: int = 64) -> dict:
    rng = np.random.default_rng(0)
    xa = rng.standard_normal((batch, 1, 28, 28)).astype(np.float32)
    ya = rng.integers(0, 10, batch)
    x, y = fw.from_numpy(xa), fw.from_numpy(ya)
    model = _cnn_model()
    step = _train_step(model, fw.optim.SGD(model.parameters(), lr=0.01))
    hand = NumpyCNN(0.01)
    fns = {"numpy": lambda: hand.step(xa, ya), "skiff": lambda: step(x, y)}
    torch = _torch()
    if torch is not None:
        tn = torch.nn
        tm = tn.Sequential(tn.Conv2d(1, 8, 3), tn.ReLU(), tn.MaxPool2d(2), tn.Conv2d(8, 16, 3),
                           tn.ReLU(), tn.MaxPool2d(2), tn.Flatten(), tn.Linear(16 * 5 * 5, 10))
        tstep = _torch_step(torch, tm, lambda m, a, b: tn.functional.cross_entropy(m(a), b))
        tx, ty = torch.from_numpy(xa), torch.from_numpy(ya)
        fns["torch"] = lambda: tstep(tx, ty)
    return {"name": f"CNN training step (conv 1-8, pool, conv 8-16, pool, linear), 28x28, "
                    f"batch {batch}", "target": 1.0, **_compare(fns)}


def bench_transformer(batch: int = 16, seq: int = 64, dim: int = 128) -> dict:
    rng = np.random.default_rng(0)
    xa = rng.standard_normal((batch, seq, dim)).astype(np.float32)
    x = fw.from_numpy(xa)
    fw.manual_seed(0)
    model = EncoderBlock(dim)
    opt = fw.optim.SGD(model.parameters(), lr=0.01)

    def step() -> Any:
        loss = (model(x) ** 2).mean()
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss

    hand = NumpyEncoderBlock(dim, 4, 4 * dim, 0.01)
    fns = {"numpy": lambda: hand.step(xa), "skiff": step}
    torch = _torch()
    if torch is not None:
        tn = torch.nn

        class TorchBlock(tn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.norm1 = tn.LayerNorm(dim)
                self.attn = tn.MultiheadAttention(dim, 4, batch_first=True)
                self.norm2 = tn.LayerNorm(dim)
                self.ff = tn.Sequential(tn.Linear(dim, 4 * dim), tn.GELU(),
                                        tn.Linear(4 * dim, dim))

            def forward(self, h: Any) -> Any:
                a = self.norm1(h)
                h = h + self.attn(a, a, a, need_weights=False)[0]
                return h + self.ff(self.norm2(h))

        tm = _torch_copy(model, TorchBlock())
        tstep = _torch_step(torch, tm, lambda m, a: (m(a) ** 2).mean())
        tx = torch.from_numpy(xa)
        fns["torch"] = lambda: tstep(tx)
    return {"name": f"Transformer encoder block fwd+bwd+update (d={dim}, 4 heads, seq {seq}, "
                    f"batch {batch})", "target": 1.0, **_compare(fns)}


def bench_op_overhead() -> dict:
    """Microseconds per tiny ``a + b`` recording a gradient, against a bare NumPy add."""
    a = fw.tensor([1.0], requires_grad=True)
    b = fw.tensor([2.0])
    an, bn = np.ones(1, np.float32), np.ones(1, np.float32)
    add = np.add

    def loop(fn: Callable[[], Any], n: int = 2000) -> Callable[[], None]:
        def run() -> None:
            for _ in range(n):
                fn()
        return run

    fns = {"numpy": loop(lambda: add(an, bn)), "skiff": loop(lambda: a + b)}
    torch = _torch()
    if torch is not None:
        ta = torch.ones(1, requires_grad=True)
        tb = torch.ones(1)
        fns["torch"] = loop(lambda: ta + tb)
    best = _compare(fns)
    return {"name": "tiny add with gradient recording (us per op)", "target_us": 1.5,
            **{k: v / 2000 for k, v in best.items()}}


def run(quick: bool = False) -> dict:
    results = {
        "mlp": bench_mlp(),
        "cnn": bench_cnn(16 if quick else 64),
        "transformer": bench_transformer(4 if quick else 16),
        "op_overhead": bench_op_overhead(),
    }
    for r in results.values():
        r["skiff_vs_numpy"] = r["skiff"] / r["numpy"]
        if "torch" in r:
            r["skiff_vs_torch"] = r["skiff"] / r["torch"]
    return results


def _setup_line() -> str:
    """The BLAS, its OpenBLAS settings and the machine's load: what the figures depend on."""
    import os
    import platform

    from threadpoolctl import threadpool_info

    blas = [f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture', '?')})"
            for i in threadpool_info() if i.get("user_api") == "blas"]
    env = ", ".join(f"{k}={os.environ[k]}" for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
                    if k in os.environ) or "OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"Python {platform.python_version()}, NumPy {np.__version__}, BLAS "
            f"{'; '.join(blas) or 'unknown'}, {env}, {os.cpu_count()} CPUs, "
            f"1-minute load {load:.1f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m framework.bench.perf",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller batches (a smoke run)")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--threads", type=int, default=1,
                    help="BLAS threads (default 1: steady figures on a shared machine)")
    args = ap.parse_args(argv)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(args.threads):
        t0 = time.perf_counter()
        results = run(args.quick)
    print(f"Skiff eager benchmarks (CPU time, best of interleaved rounds, {args.threads} BLAS "
          f"thread(s), {time.perf_counter() - t0:.0f} s)")
    print(_setup_line())
    print(f"{'benchmark':88s} {'numpy':>9s} {'skiff':>9s} {'torch':>9s} {'skiff/np':>9s} "
          f"{'skiff/torch':>11s}  target")
    for key, r in results.items():
        unit, scale = ("us", 1e6) if key == "op_overhead" else ("ms", 1e3)
        torch_t = f"{r['torch'] * scale:9.3f}" if "torch" in r else f"{'-':>9s}"
        vs_torch = f"{r['skiff_vs_torch']:10.2f}x" if "torch" in r else f"{'-':>11s}"
        if key == "op_overhead":
            met = r["skiff"] * 1e6 < r["target_us"]
            target = f"< {r['target_us']} us: {'met' if met else 'NOT met'}"
        else:
            met = r["skiff_vs_numpy"] <= r["target"]
            target = f"<= {r['target']}x NumPy: {'met' if met else 'NOT met'}"
        print(f"{r['name'] + ' [' + unit + ']':88s} {r['numpy'] * scale:9.3f} "
              f"{r['skiff'] * scale:9.3f} {torch_t} {r['skiff_vs_numpy']:8.2f}x {vs_torch}  "
              f"{target}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
