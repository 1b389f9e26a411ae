"""Where is a plug-in backend faster than the reference, and by how much?

``python -m framework.bench.backends [--backend NAME ...] [--quick]`` (part of ``make bench``)
times primitives on large arrays and a few of the suite's model benchmarks on the reference
NumPy backend and on each plug-in, and prints the ratios (above 1: the plug-in is faster).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

N = 1 << 20  # elements of the elementwise operands (4 MiB in float32)

# (label, primitive, argument builder) on float32 data
MICRO: list[tuple[str, str, Callable[[np.random.Generator], tuple]]] = [
    ("exp 1M", "exp", lambda r: (r.standard_normal(N, np.float32),)),
    ("tanh 1M", "tanh", lambda r: (r.standard_normal(N, np.float32),)),
    ("log 1M", "log", lambda r: (r.random(N, np.float32) + 0.5,)),
    ("sin 1M", "sin", lambda r: (r.standard_normal(N, np.float32),)),
    ("sqrt 1M", "sqrt", lambda r: (r.random(N, np.float32),)),
    ("add 1M", "add", lambda r: (r.standard_normal(N, np.float32),
                                 r.standard_normal(N, np.float32))),
    ("multiply 1M", "multiply", lambda r: (r.standard_normal(N, np.float32),
                                           r.standard_normal(N, np.float32))),
    ("divide 1M", "divide", lambda r: (r.standard_normal(N, np.float32),
                                       r.random(N, np.float32) + 0.5)),
    ("power 1M", "power", lambda r: (r.random(N, np.float32) + 0.5,
                                     r.standard_normal(N, np.float32))),
    ("maximum (relu) 1M", "maximum", lambda r: (r.standard_normal(N, np.float32), 0.0)),
    ("add broadcast row 1024x1024", "add", lambda r: (
        r.standard_normal((1024, 1024), np.float32), r.standard_normal(1024, np.float32))),
    ("softmax 1024x1024", "softmax", lambda r: (r.standard_normal((1024, 1024), np.float32),)),
    ("log_softmax 1024x1024", "log_softmax",
     lambda r: (r.standard_normal((1024, 1024), np.float32),)),
    ("layer_norm 4096x256", "layer_norm", lambda r: (
        r.standard_normal((4096, 256), np.float32), r.standard_normal(256, np.float32),
        r.standard_normal(256, np.float32))),
    ("matmul 512", "matmul", lambda r: (r.standard_normal((512, 512), np.float32),
                                        r.standard_normal((512, 512), np.float32))),
]
SUITE_BENCHMARKS = ("train-mlp", "train-transformer", "infer-throughput-mlp",
                    "infer-throughput-cnn")


def time_pair(f: Callable[[], Any], g: Callable[[], Any], min_seconds: float,
              min_iters: int = 5) -> tuple[float, float]:
    """Median seconds per call of ``f`` and of ``g``, timed alternately so that both see the
    same machine load; one warm-up call each."""
    f()
    g()
    tf: list[float] = []
    tg: list[float] = []
    while len(tf) < min_iters or sum(tf) + sum(tg) < 2 * min_seconds:
        t = time.perf_counter()
        f()
        tf.append(time.perf_counter() - t)
        t = time.perf_counter()
        g()
        tg.append(time.perf_counter() - t)
    return float(np.median(tf)), float(np.median(tg))


def micro_ratios(backend: str, min_seconds: float) -> list[dict[str, Any]]:
    from framework import backend as fb

    ref = fb.get("numpy")
    other = fb.get(backend)
    rows = []
    for label, prim, build in MICRO:
        args = build(np.random.default_rng(0))
        native = tuple(other.from_numpy(a) if isinstance(a, np.ndarray) else a for a in args)
        f_ref, f_oth = getattr(ref, prim), getattr(other, prim)
        t_ref, t_oth = time_pair(lambda f=f_ref, a=args: f(*a),
                                 lambda f=f_oth, a=native: f(*a), min_seconds)
        rows.append({"what": label, "reference_ms": t_ref * 1e3, "backend_ms": t_oth * 1e3,
                     "speedup": t_ref / t_oth})
    return rows


def suite_ratios(backend: str, quick: bool) -> list[dict[str, Any]]:
    from .suite import run_suite

    ref, _ = run_suite("numpy", quick=True, only=list(SUITE_BENCHMARKS))
    oth, _ = run_suite(backend, quick=True, only=list(SUITE_BENCHMARKS))
    rows = []
    for a, b in zip(ref["benchmarks"], oth["benchmarks"], strict=True):
        va, vb = a["metric"]["value"], b["metric"]["value"]
        rows.append({"what": f"{a['id']} ({a['metric']['unit']})", "reference": va,
                     "backend": vb, "speedup": vb / va if a["metric"]["higher_is_better"]
                     else va / vb})
    return rows


def report(backend: str, quick: bool = False, out: Callable[[str], Any] = print) -> None:
    min_seconds = 0.1 if quick else 0.5
    out(f"\nBackend {backend!r} against the reference (numpy); speedup > 1: {backend} faster")
    rows = micro_ratios(backend, min_seconds)
    out(f"{'primitive':32s} {'numpy ms':>10s} {backend + ' ms':>14s} {'speedup':>8s}")
    for r in rows:
        out(f"{r['what']:32s} {r['reference_ms']:10.3f} {r['backend_ms']:14.3f} "
            f"{r['speedup']:7.2f}x")
    out("")
    out(f"{'suite benchmark (quick settings)':40s} {'numpy':>12s} {backend:>12s} "
        f"{'speedup':>8s}")
    for r in suite_ratios(backend, quick):
        out(f"{r['what']:40s} {r['reference']:12.4g} {r['backend']:12.4g} "
            f"{r['speedup']:7.2f}x")


def main(argv: list[str] | None = None) -> int:
    from framework import backend as fb

    ap = argparse.ArgumentParser(prog="python -m framework.bench.backends",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("--backend", action="append",
                    help="plug-in to compare (default: every registered one but numpy)")
    ap.add_argument("--quick", action="store_true", help="shorter timings")
    args = ap.parse_args(argv)
    names = args.backend or [n for n in fb.available() if n != "numpy"]
    if not names:
        print("no plug-in backend is installed (pip install -e "
              "contrib/backends/skiff-backend-numexpr)", file=sys.stderr)
        return 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fb.FallbackWarning)
        for name in names:
            report(name, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
