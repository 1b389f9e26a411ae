"""Static vs eager vs hand-written NumPy (``python -m framework.bench.static``).

Times are the best of several interleaved rounds (robust to a busy machine).

The dynamic-to-static benchmarks of ``make bench``: the same training steps and inference
runs timed eagerly, as ``fw.jit.to_static`` programs, and as hand-written NumPy, in one
process. Prints each figure, the ratios the targets are stated in, and the trace times.

Targets (docs/jit.md): static MLP training step <= 1.05x hand-written NumPy; static CNN and
transformer training steps >= 1.25x faster than eager; batch-1 MLP inference <= 1.5x a bare
NumPy forward pass.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

import framework as fw
import framework.nn.functional as F
from framework import nn


def _compare(fns: dict[str, Callable[[], Any]], budget: float = 1.5,
             rounds: int = 7) -> dict[str, float]:
    """Seconds per call of each function: the best of ``rounds`` rounds, the functions
    interleaved within each round so that they share the machine's conditions."""
    for fn in fns.values():
        fn()
    counts = {}
    for name, fn in fns.items():
        t0 = time.perf_counter()
        fn()
        once = max(time.perf_counter() - t0, 1e-7)
        counts[name] = max(1, int(budget / len(fns) / rounds / once))
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for name, fn in fns.items():
            n = counts[name]
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            best[name] = min(best[name], (time.perf_counter() - t0) / n)
    return best


def _traced(step: Callable, *args: Any) -> tuple[Any, float]:
    """``to_static(step)`` and the seconds its first (tracing) call took."""
    static = fw.jit.to_static(step)
    t0 = time.perf_counter()
    static(*args)
    trace = time.perf_counter() - t0
    if static.last_program is None:
        raise RuntimeError(f"benchmark step did not trace: {static.fallbacks}")
    return static, trace


# ----- MLP ----------------------------------------------------------------------------------------

def _mlp_model() -> nn.Module:
    fw.manual_seed(0)
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                         nn.Linear(128, 10))


class NumpyMLP:
    """The MLP by hand: forward, backward of softmax cross-entropy, SGD update."""

    def __init__(self, model: nn.Module, lr: float) -> None:
        self.w = [m.weight.detach().numpy().copy() for m in model if isinstance(m, nn.Linear)]
        self.b = [m.bias.detach().numpy().copy() for m in model if isinstance(m, nn.Linear)]
        self.lr = np.float32(lr)

    def forward(self, x: np.ndarray) -> np.ndarray:
        w1, w2, w3 = self.w
        b1, b2, b3 = self.b
        h1 = np.maximum(x @ w1.T + b1, 0)
        h2 = np.maximum(h1 @ w2.T + b2, 0)
        return h2 @ w3.T + b3

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        w1, w2, w3 = self.w
        b1, b2, b3 = self.b
        h1 = x @ w1.T
        h1 += b1
        np.maximum(h1, 0, out=h1)
        h2 = h1 @ w2.T
        h2 += b2
        np.maximum(h2, 0, out=h2)
        z = h2 @ w3.T
        z += b3
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        n = x.shape[0]
        loss = float(np.log(s).mean() - z[np.arange(n), y].mean())
        g = e / s
        g[np.arange(n), y] -= 1
        g /= n
        gw3, gb3 = g.T @ h2, g.sum(0)
        g2 = g @ w3
        g2 *= h2 > 0
        gw2, gb2 = g2.T @ h1, g2.sum(0)
        g1 = g2 @ w2
        g1 *= h1 > 0
        gw1, gb1 = g1.T @ x, g1.sum(0)
        lr = self.lr
        for p, gp in ((w1, gw1), (b1, gb1), (w2, gw2), (b2, gb2), (w3, gw3), (b3, gb3)):
            gp *= -lr
            p += gp
        return loss


def _train_step(model: nn.Module, opt: Any) -> Callable:
    def step(x: Any, y: Any) -> Any:
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss
    return step


def bench_mlp_training(batch: int = 128) -> dict:
    rng = np.random.default_rng(0)
    xa = rng.standard_normal((batch, 784)).astype(np.float32)
    ya = rng.integers(0, 10, batch)
    x, y = fw.from_numpy(xa), fw.from_numpy(ya)
    eager_model, static_model = _mlp_model(), _mlp_model()
    hand = NumpyMLP(eager_model, 0.01)
    eager = _train_step(eager_model, fw.optim.SGD(eager_model.parameters(), lr=0.01))
    static, trace = _traced(_train_step(static_model,
                                        fw.optim.SGD(static_model.parameters(), lr=0.01)), x, y)
    t = _compare({"numpy": lambda: hand.step(xa, ya), "eager": lambda: eager(x, y),
                  "static": lambda: static(x, y)})
    return {"name": f"MLP 784-256-128-10 training step, batch {batch}", **t, "trace": trace}


def bench_mlp_inference(batch: int) -> dict:
    rng = np.random.default_rng(0)
    xa = rng.standard_normal((batch, 784)).astype(np.float32)
    x = fw.from_numpy(xa)
    model = _mlp_model().eval()
    hand = NumpyMLP(model, 0.0)

    def eager() -> Any:
        with fw.no_grad():
            return model(x)

    static_fn = fw.jit.to_static(model.forward)

    def static() -> Any:
        with fw.no_grad():
            return static_fn(x)

    t0 = time.perf_counter()
    static()
    trace = time.perf_counter() - t0
    np.testing.assert_allclose(static().numpy(), hand.forward(xa), rtol=1e-4, atol=1e-5)
    t = _compare({"numpy": lambda: hand.forward(xa), "eager": eager, "static": static})
    return {"name": f"MLP inference, batch {batch}", **t, "trace": trace}


# ----- CNN ----------------------------------------------------------------------------------------

def _cnn_model() -> nn.Module:
    fw.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 5 * 5, 10))


def bench_cnn_training(batch: int = 64) -> dict:
    rng = np.random.default_rng(0)
    x = fw.from_numpy(rng.standard_normal((batch, 1, 28, 28)).astype(np.float32))
    y = fw.from_numpy(rng.integers(0, 10, batch))
    em, sm = _cnn_model(), _cnn_model()
    eager = _train_step(em, fw.optim.SGD(em.parameters(), lr=0.01))
    static, trace = _traced(_train_step(sm, fw.optim.SGD(sm.parameters(), lr=0.01)), x, y)
    t = _compare({"eager": lambda: eager(x, y), "static": lambda: static(x, y)})
    return {"name": f"CNN training step, batch {batch}", "numpy": None, **t, "trace": trace}


# ----- transformer block ------------------------------------------------------------------------

class EncoderBlock(nn.Module):
    """Pre-norm transformer encoder block: attention and feed-forward with residuals."""

    def __init__(self, dim: int = 128, heads: int = 4, hidden: int = 512) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: Any) -> Any:
        h = self.norm1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.ff(self.norm2(x))


def bench_transformer_training(batch: int = 16, seq: int = 64, dim: int = 128) -> dict:
    rng = np.random.default_rng(0)
    x = fw.from_numpy(rng.standard_normal((batch, seq, dim)).astype(np.float32))
    models = []
    for _ in range(2):
        fw.manual_seed(0)
        models.append(EncoderBlock(dim))

    def make(model: nn.Module) -> Callable:
        opt = fw.optim.SGD(model.parameters(), lr=0.01)

        def step(x: Any) -> Any:
            loss = (model(x) ** 2).mean()
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss
        return step

    eager = make(models[0])
    static, trace = _traced(make(models[1]), x)
    return {"name": f"Transformer block training step (d={dim}, 4 heads, seq {seq}, "
                    f"batch {batch})", "numpy": None,
            **_compare({"eager": lambda: eager(x), "static": lambda: static(x)}),
            "trace": trace}


# ----- report ----------------------------------------------------------------------------------

TARGETS = {
    "mlp_train": ("static / numpy", 1.05, "<="),
    "cnn_train": ("eager / static", 1.25, ">="),
    "transformer_train": ("eager / static", 1.25, ">="),
    "mlp_infer_1": ("static / numpy", 1.5, "<="),
}


def run(quick: bool = False) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("error", fw.jit.JitWarning)  # a benchmark must not fall back
        results = {
            "mlp_train": bench_mlp_training(),
            "cnn_train": bench_cnn_training(16 if quick else 64),
            "transformer_train": bench_transformer_training(4 if quick else 16),
            "mlp_infer_1": bench_mlp_inference(1),
            "mlp_infer_256": bench_mlp_inference(256),
        }
    for key, r in results.items():
        r["static_vs_numpy"] = r["static"] / r["numpy"] if r["numpy"] else None
        r["eager_vs_static"] = r["eager"] / r["static"]
        target = TARGETS.get(key)
        if target:
            what, bound, cmp = target
            value = r["static_vs_numpy"] if what == "static / numpy" else r["eager_vs_static"]
            r["target"] = f"{what} {cmp} {bound}"
            r["met"] = bool(value <= bound if cmp == "<=" else value >= bound)
    return results


def _ms(t: float | None) -> str:
    return "-" if t is None else f"{t * 1e3:9.3f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m framework.bench.static",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller batches (a smoke run)")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--threads", type=int, default=1,
                    help="BLAS threads (default 1: steady figures on a shared machine)")
    args = ap.parse_args(argv)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with the bench extra
        limits = None
    else:
        limits = threadpool_limits(args.threads)
    try:
        results = run(args.quick)
    finally:
        if limits is not None:
            limits.restore_original_limits()
    print(f"Skiff dynamic-to-static benchmarks (ms per call, best of interleaved rounds, "
          f"{args.threads} BLAS thread(s))")
    print(f"{'benchmark':70s} {'numpy':>9s} {'eager':>9s} {'static':>9s} {'trace':>9s} "
          f"{'static/np':>9s} {'eager/st':>9s}  target")
    for r in results.values():
        snp = "-" if r["static_vs_numpy"] is None else f"{r['static_vs_numpy']:.2f}x"
        tgt = ""
        if "target" in r:
            tgt = f"{r['target']}: {'met' if r['met'] else 'NOT met'}"
        print(f"{r['name']:70s} {_ms(r['numpy'])} {_ms(r['eager'])} {_ms(r['static'])} "
              f"{_ms(r['trace'])} {snp:>9s} {r['eager_vs_static']:8.2f}x  {tgt}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
