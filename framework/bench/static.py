"""Static vs eager vs hand-written NumPy (``python -m framework.bench.static``).

Times are CPU time of the benchmarking process with BLAS pinned to one thread
(``--threads``), the best of several interleaved rounds: steady on a shared, busy machine.
Each benchmark runs in a fresh process, as a training script does: in one long process the
allocator state one benchmark leaves (with glibc, freed large arrays raise the size below
which later ones reuse heap memory instead of faulting on fresh pages) changes the next
one's eager and NumPy figures. ``--keep-freed-memory`` starts those processes with glibc
keeping freed memory, so no version faults (compute alone); ``--same-process`` runs them
all in this one.

The dynamic-to-static benchmarks of ``make bench``: the same training steps and inference
runs timed eagerly, as ``fw.jit.to_static`` programs, and as hand-written NumPy, in one
process per benchmark, plus a physics-informed step (eager and static only). Prints each
figure, the ratios the targets are stated in, and the trace times.

Targets (docs/jit.md, "Speed"; figures in BENCHMARKS.md): static MLP training step <= 1.05x
hand-written NumPy; static CNN and transformer training steps >= 1.25x faster than eager;
batch-1 MLP inference <= 1.5x a bare NumPy forward pass.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

import framework as fw
import framework.nn.functional as F
from framework import nn

_clock = time.process_time


def _compare(fns: dict[str, Callable[[], Any]], budget: float = 1.5,
             rounds: int = 7) -> dict[str, float]:
    """CPU seconds per call of each function (this process's CPU time, so other programs
    on a shared machine do not count; BLAS is pinned to one thread by :func:`main`): the
    best of ``rounds`` rounds, the functions interleaved within each round."""
    for fn in fns.values():
        fn()
    counts = {}
    for name, fn in fns.items():
        t0 = _clock()
        fn()
        once = max(_clock() - t0, 1e-7)
        counts[name] = max(1, int(budget / len(fns) / rounds / once))
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for name, fn in fns.items():
            n = counts[name]
            t0 = _clock()
            for _ in range(n):
                fn()
            best[name] = min(best[name], (_clock() - t0) / n)
    return best


def _faults(fns: dict[str, Callable[[], Any]], calls: int = 5) -> dict[str, float] | None:
    """Minor page faults per call of each function (``None`` where the OS does not count
    them). A function that allocates fresh large arrays on every call pays the kernel for
    each new page when the allocator has handed memory back; these faults are CPU time of
    the process, so they are part of the timed figures."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return None
    out = {}
    for name, fn in fns.items():
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(calls):
            fn()
        out[name] = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls
    return out


def _timed(fns: dict[str, Callable[[], Any]]) -> dict:
    """:func:`_compare`'s figures plus the page faults per call (``faults``)."""
    return {**_compare(fns), "faults": _faults(fns)}


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
    t = _timed({"numpy": lambda: hand.step(xa, ya), "eager": lambda: eager(x, y),
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
    t = _timed({"numpy": lambda: hand.forward(xa), "eager": eager, "static": static})
    return {"name": f"MLP inference, batch {batch}", **t, "trace": trace}


# ----- CNN ----------------------------------------------------------------------------------------

def _cnn_model() -> nn.Module:
    fw.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 3),
                         nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 5 * 5, 10))


class NumpyCNN:
    """The CNN by hand, im2col in channels-last layout (no transposes between layers):
    forward, backward of softmax cross-entropy, SGD. Same shapes and work as the model."""

    def __init__(self, lr: float, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        f = np.float32
        self.w1 = (rng.standard_normal((8, 9)) / 3).astype(f)
        self.b1 = np.zeros(8, f)
        self.w2 = (rng.standard_normal((16, 72)) / 8.5).astype(f)
        self.b2 = np.zeros(16, f)
        self.w3 = (rng.standard_normal((10, 400)) / 20).astype(f)
        self.b3 = np.zeros(10, f)
        self.lr = f(lr)

    @staticmethod
    def _cols(x: np.ndarray) -> np.ndarray:  # (N, H, W, C) -> (N*OH*OW, C*9)
        win = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(1, 2))
        n, oh, ow = win.shape[:3]
        return win.reshape(n * oh * ow, -1), (n, oh, ow)

    @staticmethod
    def _pool(h: np.ndarray) -> tuple:
        n, hh, ww, c = h.shape
        hh2, ww2 = hh // 2, ww // 2
        v = h[:, :hh2 * 2, :ww2 * 2].reshape(n, hh2, 2, ww2, 2, c)
        p = v.max(axis=(2, 4))
        mask = v == p[:, :, None, :, None]
        return p, mask

    @staticmethod
    def _unpool(g: np.ndarray, mask: np.ndarray, shape: tuple) -> np.ndarray:
        n, hh2, _, ww2, _, c = mask.shape
        out = np.zeros(shape, g.dtype)
        out[:, :hh2 * 2, :ww2 * 2] = (mask * g[:, :, None, :, None]).reshape(
            n, hh2 * 2, ww2 * 2, c)
        return out

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        n = x.shape[0]
        c1, (_, oh1, ow1) = self._cols(x.reshape(n, 28, 28, 1))
        h1 = c1 @ self.w1.T
        h1 += self.b1
        np.maximum(h1, 0, out=h1)
        h1 = h1.reshape(n, oh1, ow1, 8)
        p1, m1 = self._pool(h1)
        c2, (_, oh2, ow2) = self._cols(p1)
        h2 = c2 @ self.w2.T
        h2 += self.b2
        np.maximum(h2, 0, out=h2)
        h2 = h2.reshape(n, oh2, ow2, 16)
        p2, m2 = self._pool(h2)
        f = p2.reshape(n, 400)
        z = f @ self.w3.T
        z += self.b3
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        loss = float(np.log(s).mean() - z[np.arange(n), y].mean())
        g = e / s
        g[np.arange(n), y] -= 1
        g /= n
        gw3, gb3 = g.T @ f, g.sum(0)
        gp2 = (g @ self.w3).reshape(p2.shape)
        gh2 = self._unpool(gp2, m2, h2.shape)
        gh2 *= h2 > 0
        gh2 = gh2.reshape(-1, 16)
        gw2, gb2 = gh2.T @ c2, gh2.sum(0)
        gc2 = (gh2 @ self.w2).reshape(n, oh2, ow2, 8, 3, 3)
        gp1 = np.zeros(p1.shape, p1.dtype)
        for i in range(3):
            for j in range(3):
                gp1[:, i:i + oh2, j:j + ow2, :] += gc2[..., i, j]
        gh1 = self._unpool(gp1, m1, h1.shape)
        gh1 *= h1 > 0
        gh1 = gh1.reshape(-1, 8)
        gw1, gb1 = gh1.T @ c1, gh1.sum(0)
        lr = self.lr
        for p, gp in ((self.w1, gw1), (self.b1, gb1), (self.w2, gw2), (self.b2, gb2),
                      (self.w3, gw3), (self.b3, gb3)):
            gp *= -lr
            p += gp
        return loss


def bench_cnn_training(batch: int = 64) -> dict:
    rng = np.random.default_rng(0)
    x = fw.from_numpy(rng.standard_normal((batch, 1, 28, 28)).astype(np.float32))
    y = fw.from_numpy(rng.integers(0, 10, batch))
    em, sm = _cnn_model(), _cnn_model()
    eager = _train_step(em, fw.optim.SGD(em.parameters(), lr=0.01))
    static, trace = _traced(_train_step(sm, fw.optim.SGD(sm.parameters(), lr=0.01)), x, y)
    hand = NumpyCNN(0.01)
    xa, ya = x.numpy(), y.numpy()
    t = _timed({"numpy": lambda: hand.step(xa, ya), "eager": lambda: eager(x, y),
                "static": lambda: static(x, y)})
    return {"name": f"CNN training step, batch {batch}", **t, "trace": trace}


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


class NumpyEncoderBlock:
    """The pre-norm encoder block by hand: layer norms, 4-head attention, exact-GELU
    feed-forward, residuals; loss mean(y**2); full backward; SGD."""

    def __init__(self, dim: int, heads: int, hidden: int, lr: float, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        f = np.float32

        def w(o: int, i: int) -> np.ndarray:
            return (rng.standard_normal((o, i)) / np.sqrt(i)).astype(f)

        self.heads = heads
        self.p = {"g1": np.ones(dim, f), "be1": np.zeros(dim, f), "win": w(3 * dim, dim),
                  "bin": np.zeros(3 * dim, f), "wo": w(dim, dim), "bo": np.zeros(dim, f),
                  "g2": np.ones(dim, f), "be2": np.zeros(dim, f), "w1": w(hidden, dim),
                  "b1": np.zeros(hidden, f), "w2": w(dim, hidden), "b2": np.zeros(dim, f)}
        self.lr = f(lr)

    @staticmethod
    def _ln(x: np.ndarray, g: np.ndarray, b: np.ndarray) -> tuple:
        mu = x.mean(-1, keepdims=True)
        d = x - mu
        inv = 1.0 / np.sqrt((d * d).mean(-1, keepdims=True) + np.float32(1e-5))
        xh = d * inv
        return xh * g + b, (xh, inv)

    @staticmethod
    def _ln_back(dy: np.ndarray, g: np.ndarray, cache: tuple) -> tuple:
        xh, inv = cache
        dxh = dy * g
        dx = (dxh - dxh.mean(-1, keepdims=True)
              - xh * (dxh * xh).mean(-1, keepdims=True)) * inv
        return dx, (dy * xh).reshape(-1, xh.shape[-1]).sum(0), dy.reshape(
            -1, xh.shape[-1]).sum(0)

    def step(self, x: np.ndarray) -> float:
        from ..backend.numpy_backend import erf

        p, hN = self.p, self.heads
        bsz, t, d = x.shape
        dh = d // hN
        scale = np.float32(1 / np.sqrt(dh))
        h, c1 = self._ln(x, p["g1"], p["be1"])
        qkv = h @ p["win"].T + p["bin"]
        q, k, v = (qkv[..., i * d:(i + 1) * d].reshape(bsz, t, hN, dh).transpose(0, 2, 1, 3)
                   for i in range(3))
        sc = (q @ k.transpose(0, 1, 3, 2)) * scale
        sc -= sc.max(-1, keepdims=True)
        pr = np.exp(sc)
        pr /= pr.sum(-1, keepdims=True)
        a = (pr @ v).transpose(0, 2, 1, 3).reshape(bsz, t, d)
        x1 = x + a @ p["wo"].T + p["bo"]
        h2, c2 = self._ln(x1, p["g2"], p["be2"])
        f1 = h2 @ p["w1"].T + p["b1"]
        cdf = np.float32(0.5) * (1 + erf(f1 * np.float32(0.7071067811865476)))
        gl = f1 * cdf
        y = x1 + gl @ p["w2"].T + p["b2"]
        loss = float((y * y).mean())
        dy = y * np.float32(2.0 / y.size)
        g = {}
        g["w2"], g["b2"] = dy.reshape(-1, d).T @ gl.reshape(-1, gl.shape[-1]), dy.reshape(
            -1, d).sum(0)
        dgl = dy @ p["w2"]
        pdf = np.exp(np.float32(-0.5) * f1 * f1) * np.float32(0.3989422804014327)
        df1 = dgl * (cdf + f1 * pdf)
        g["w1"], g["b1"] = df1.reshape(-1, df1.shape[-1]).T @ h2.reshape(-1, d), df1.reshape(
            -1, df1.shape[-1]).sum(0)
        dx1, g["g2"], g["be2"] = self._ln_back(df1 @ p["w1"], p["g2"], c2)
        dx1 += dy
        g["wo"], g["bo"] = dx1.reshape(-1, d).T @ a.reshape(-1, d), dx1.reshape(-1, d).sum(0)
        da = (dx1 @ p["wo"]).reshape(bsz, t, hN, dh).transpose(0, 2, 1, 3)
        dpr = da @ v.transpose(0, 1, 3, 2)
        dv = pr.transpose(0, 1, 3, 2) @ da
        ds = pr * (dpr - (dpr * pr).sum(-1, keepdims=True)) * scale
        dq = ds @ k
        dk = ds.transpose(0, 1, 3, 2) @ q
        dqkv = np.concatenate([z.transpose(0, 2, 1, 3).reshape(bsz, t, d)
                               for z in (dq, dk, dv)], axis=-1)
        g["win"] = dqkv.reshape(-1, 3 * d).T @ h.reshape(-1, d)
        g["bin"] = dqkv.reshape(-1, 3 * d).sum(0)
        _, g["g1"], g["be1"] = self._ln_back(dqkv @ p["win"], p["g1"], c1)
        lr = self.lr
        for name, gp in g.items():
            gp *= -lr
            p[name] += gp
        return loss


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
    hand = NumpyEncoderBlock(dim, 4, 4 * dim, 0.01)
    xa = x.numpy()
    return {"name": f"Transformer block training step (d={dim}, 4 heads, seq {seq}, "
                    f"batch {batch})",
            **_timed({"numpy": lambda: hand.step(xa), "eager": lambda: eager(x),
                        "static": lambda: static(x)}),
            "trace": trace}


# ----- physics-informed step ---------------------------------------------------------------------

def bench_pinn_training(points: int = 256) -> dict:
    """A physics-informed step (no target, no NumPy column): the residual of ``u'' = -1``
    needs second derivatives with respect to the input (``fw.grad(..., create_graph=True)``)
    before ``backward()``; Adam runs as a host call. Small arrays, many ops: the step is
    bookkeeping-bound, which is where a static program gains most."""
    xs = np.linspace(0.0, 1.0, points, dtype=np.float32).reshape(-1, 1)

    def make() -> Callable:
        fw.manual_seed(0)
        model = nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(),
                              nn.Linear(32, 1))
        opt = fw.optim.Adam(model.parameters(), lr=1e-3)

        def step(x: Any) -> Any:
            (du,) = fw.grad(model(x).sum(), x, create_graph=True)
            (d2u,) = fw.grad(du.sum(), x, create_graph=True)
            loss = ((d2u + 1.0) ** 2).mean()
            loss.backward()
            opt.step()
            opt.zero_grad()
            return loss
        return step

    def fresh() -> Any:
        return fw.tensor(xs, requires_grad=True)

    eager = make()
    static, trace = _traced(make(), fresh())
    t = _timed({"eager": lambda: eager(fresh()), "static": lambda: static(fresh())})
    return {"name": f"Physics-informed step (u'' = -1, {points} points, Adam)", "numpy": None,
            **t, "trace": trace}


# ----- report ----------------------------------------------------------------------------------

TARGETS = {
    "mlp_train": ("static / numpy", 1.05, "<="),
    "cnn_train": ("eager / static", 1.25, ">="),
    "transformer_train": ("eager / static", 1.25, ">="),
    "mlp_infer_1": ("static / numpy", 1.5, "<="),
}


BENCHMARKS: dict[str, Callable[[bool], dict]] = {
    "mlp_train": lambda quick: bench_mlp_training(),
    "cnn_train": lambda quick: bench_cnn_training(16 if quick else 64),
    "transformer_train": lambda quick: bench_transformer_training(4 if quick else 16),
    "mlp_infer_1": lambda quick: bench_mlp_inference(1),
    "mlp_infer_256": lambda quick: bench_mlp_inference(256),
    "pinn_train": lambda quick: bench_pinn_training(64 if quick else 256),
}

# glibc's allocator told to keep freed memory (read at process start, so set for the child
# processes): no version of a step then faults on fresh pages, so the ratios are those of
# compute alone (BENCHMARKS.md gives both kinds of figures).
KEEP_FREED_MEMORY = {"MALLOC_TRIM_THRESHOLD_": "4000000000",
                     "MALLOC_MMAP_THRESHOLD_": "1000000000",
                     "MALLOC_TOP_PAD_": "268435456"}


def run_one(key: str, quick: bool = False) -> dict:
    """One benchmark in this process: its figures, this process's id and the allocator
    settings it started with."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", fw.jit.JitWarning)  # a benchmark must not fall back
        result = BENCHMARKS[key](quick)
    return {**result, "pid": os.getpid(),
            "allocator": {k: os.environ[k] for k in KEEP_FREED_MEMORY if k in os.environ}}


def _run_child(key: str, quick: bool, threads: int, keep_freed_memory: bool) -> dict:
    """:func:`run_one` in a fresh Python process, so no benchmark inherits the allocator
    state (heap size, mmap threshold) that the ones before it left: with glibc, a process
    that has freed large arrays keeps later ones of that size from faulting on fresh pages,
    which would change another benchmark's eager and NumPy figures by who ran first."""
    env = dict(os.environ)
    for name in KEEP_FREED_MEMORY:
        env.pop(name, None)
    if keep_freed_memory:
        env.update(KEEP_FREED_MEMORY)
    with tempfile.TemporaryDirectory(prefix="skiff-bench-") as tmp:
        out = os.path.join(tmp, "result.json")
        cmd = [sys.executable, "-m", "framework.bench.static", "--one", key,
               "--threads", str(threads), "--json", out] + (["--quick"] if quick else [])
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"benchmark {key} failed (exit {proc.returncode}):\n"
                               f"{proc.stderr.strip()}")
        with open(out, encoding="utf-8") as fh:
            return json.load(fh)


def _clash(keep_freed_memory: bool, same_process: bool) -> str | None:
    """Why these options do not go together, or ``None``."""
    if keep_freed_memory and same_process:
        return ("keeping freed memory needs fresh processes (glibc reads the settings when a "
                "process starts): drop the same-process option")
    return None


def run(quick: bool = False, keys: list[str] | None = None, threads: int = 1,
        keep_freed_memory: bool = False, same_process: bool = False) -> dict:
    """The benchmarks named by ``keys`` (all by default), each in a fresh process unless
    ``same_process``, with their ratios and targets."""
    keys = list(BENCHMARKS) if keys is None else keys
    unknown = [k for k in keys if k not in BENCHMARKS]
    if unknown:
        raise ValueError(f"unknown benchmark(s) {unknown}; known: {list(BENCHMARKS)}")
    clash = _clash(keep_freed_memory, same_process)
    if clash:
        raise ValueError(clash)
    if same_process:
        results = {k: run_one(k, quick) for k in keys}
    else:
        results = {k: _run_child(k, quick, threads, keep_freed_memory) for k in keys}
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
    return f"{'-':>9s}" if t is None else f"{t * 1e3:9.3f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m framework.bench.static",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller batches (a smoke run)")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--threads", type=int, default=1,
                    help="BLAS threads (default 1: steady figures on a shared machine)")
    ap.add_argument("--only", metavar="NAME", action="append", choices=list(BENCHMARKS),
                    help="run only this benchmark (repeatable)")
    ap.add_argument("--keep-freed-memory", action="store_true",
                    help="tell glibc's allocator to keep freed memory, so no version of a "
                         "step faults on fresh pages (compute alone)")
    ap.add_argument("--same-process", action="store_true",
                    help="run every benchmark in this process instead of a fresh one each "
                         "(the figures then depend on which benchmarks ran before)")
    ap.add_argument("--one", metavar="NAME", choices=list(BENCHMARKS),
                    help=argparse.SUPPRESS)  # a child process of the suite: one benchmark
    args = ap.parse_args(argv)
    clash = _clash(args.keep_freed_memory, args.same_process)
    if clash:
        ap.error(clash)
    if args.one and not args.json:
        ap.error("--one writes its figures to the --json file")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with the bench extra
        limits = None
    else:
        limits = threadpool_limits(args.threads)
    try:
        if args.one:
            result = run_one(args.one, args.quick)
        else:
            results = run(args.quick, args.only, args.threads, args.keep_freed_memory,
                          args.same_process)
    finally:
        if limits is not None:
            limits.restore_original_limits()
    if args.one:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh)
        return 0
    where = ("all in one process" if args.same_process else
             "each benchmark in a fresh process"
             + (", allocator keeping freed memory" if args.keep_freed_memory else ""))
    print(f"Skiff dynamic-to-static benchmarks (CPU ms per call, best of interleaved rounds, "
          f"{args.threads} BLAS thread(s), {where})")
    print(f"{'benchmark':70s} {'numpy':>9s} {'eager':>9s} {'static':>9s} {'trace':>9s} "
          f"{'static/np':>9s} {'eager/st':>9s}  target")
    for r in results.values():
        snp = "-" if r["static_vs_numpy"] is None else f"{r['static_vs_numpy']:.2f}x"
        tgt = ""
        if "target" in r:
            tgt = f"{r['target']}: {'met' if r['met'] else 'NOT met'}"
        print(f"{r['name']:70s} {_ms(r['numpy'])} {_ms(r['eager'])} {_ms(r['static'])} "
              f"{_ms(r['trace'])} {snp:>9s} {r['eager_vs_static']:8.2f}x  {tgt}")
    faults = [(r["name"], r["faults"]) for r in results.values() if r.get("faults")]
    if faults:
        print("minor page faults per call (numpy / eager / static; counted in the CPU times):")
        for name, f in faults:
            cols = "".join(f" {f[k]:9.0f}" if k in f else f" {'-':>9s}"
                           for k in ("numpy", "eager", "static"))
            print(f"  {name:68s}{cols}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
