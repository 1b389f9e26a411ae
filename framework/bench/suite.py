"""The standard benchmark suite: GEMM, training and inference, with correctness evidence.

Every measurement follows one protocol (see :class:`Protocol`): a fixed seed, warm-up
iterations, then timed iterations until both a minimum duration and a minimum iteration
count are met. Every timed iteration is logged. Each benchmark also records correctness
evidence that the hub compares with the reference backend: outputs on a fixed input
(a SHA-256 digest of the exact bytes, summary statistics and a few values) or the loss after
K training steps from a seeded initialization.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

import framework as fw

SUITE_VERSION = "1.0"
"""Changes whenever a benchmark's definition changes; the hub accepts versions it knows."""

SEEDS = {"init": 1234, "data": 5678, "gemm": 42}
"""The suite's fixed seeds (model initialization, synthetic data, GEMM operands)."""

LOSS_STEPS = 5
"""K: training steps from the seeded initialization whose losses are the evidence."""

# Relative tolerance within which another backend's evidence must match the reference's.
CORRECTNESS_RTOL = {"outputs": 1e-3, "loss": 1e-3}
CORRECTNESS_ATOL = {"outputs": 1e-4, "loss": 1e-5}
SAMPLE_VALUES = 8


@dataclass(frozen=True)
class Protocol:
    """How long each measurement runs."""

    warmup_iterations: int
    min_iterations: int
    min_duration_s: float
    max_duration_s: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


FULL = Protocol(warmup_iterations=3, min_iterations=20, min_duration_s=2.0,
                max_duration_s=30.0)
QUICK = Protocol(warmup_iterations=1, min_iterations=3, min_duration_s=0.1,
                 max_duration_s=2.0)

# Benchmark sizes per mode.
GEMM_SIZES = {"full": (256, 512, 1024, 2048), "quick": (128, 256, 512)}
TRAIN_BATCH = {"mlp": 128, "cnn": 32, "transformer": 16}
INFER_THROUGHPUT_BATCH = 256
INFER_MODELS = ("mlp", "cnn")


def evidence_from_array(arr: np.ndarray) -> dict[str, Any]:
    """Compact, comparable evidence of an output array."""
    a = np.ascontiguousarray(arr)
    flat = a.astype(np.float64).ravel()
    idx = np.linspace(0, flat.size - 1, num=min(SAMPLE_VALUES, flat.size)).astype(int) \
        if flat.size else np.zeros(0, int)
    return {
        "kind": "outputs",
        "shape": list(a.shape),
        "dtype": str(a.dtype),
        "sha256": hashlib.sha256(a.tobytes()).hexdigest(),
        "sum": float(flat.sum()),
        "abs_sum": float(np.abs(flat).sum()),
        "sample_index": [int(i) for i in idx],
        "sample": [float(flat[i]) for i in idx],
        "rtol": CORRECTNESS_RTOL["outputs"],
        "atol": CORRECTNESS_ATOL["outputs"],
    }


def evidence_from_losses(losses: list[float]) -> dict[str, Any]:
    return {"kind": "loss", "steps": len(losses), "losses": [float(v) for v in losses],
            "final_loss": float(losses[-1]), "rtol": CORRECTNESS_RTOL["loss"],
            "atol": CORRECTNESS_ATOL["loss"]}


def _close(a: float, b: float, rtol: float, atol: float) -> bool:
    return abs(a - b) <= atol + rtol * abs(b)


def check_evidence(got: dict[str, Any], reference: dict[str, Any]) -> tuple[bool, str]:
    """Does one benchmark's correctness evidence match the reference's? ``(ok, reason)``.

    Outputs match when shape and dtype agree and the sum, absolute sum and sampled values
    are within the reference's tolerance (``abs(got - ref) <= atol + rtol * scale``, scale
    being the mean absolute output times the element count for sums, or the largest
    absolute sample for samples); identical digests match trivially. Losses match when
    every step's loss is within tolerance.
    """
    if got.get("kind") != reference.get("kind"):
        return False, f"evidence kind {got.get('kind')!r}, reference {reference.get('kind')!r}"
    rtol, atol = reference["rtol"], reference["atol"]
    if reference["kind"] == "loss":
        if got["steps"] != reference["steps"]:
            return False, f"{got['steps']} loss steps, reference {reference['steps']}"
        for i, (g, r) in enumerate(zip(got["losses"], reference["losses"], strict=True)):
            if not (np.isfinite(g) and _close(g, r, rtol, atol)):
                return False, f"loss at step {i + 1} is {g:.6g}, reference {r:.6g}"
        return True, "losses match the reference"
    if got["shape"] != reference["shape"] or got["dtype"] != reference["dtype"]:
        return False, (f"output {got['dtype']}{got['shape']}, reference "
                       f"{reference['dtype']}{reference['shape']}")
    if got["sha256"] == reference["sha256"]:
        return True, "outputs are bit-identical to the reference"
    scale = max(abs(v) for v in reference["sample"]) if reference["sample"] else 0.0
    if not _close(got["abs_sum"], reference["abs_sum"], rtol, atol):
        return False, f"output abs-sum {got['abs_sum']:.6g}, reference {reference['abs_sum']:.6g}"
    if abs(got["sum"] - reference["sum"]) > atol + rtol * reference["abs_sum"]:
        return False, f"output sum {got['sum']:.6g}, reference {reference['sum']:.6g}"
    for i, g, r in zip(reference["sample_index"], got["sample"], reference["sample"],
                       strict=True):
        if not (np.isfinite(g) and abs(g - r) <= atol + rtol * max(scale, abs(r))):
            return False, f"output element {i} is {g:.6g}, reference {r:.6g}"
    return True, "outputs match the reference within tolerance"


class Recorder:
    """Collects every timed iteration (the bundle's log.jsonl)."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.t0 = time.perf_counter()

    def add(self, entry: dict[str, Any]) -> None:
        entry["t"] = round(time.perf_counter() - self.t0, 6)
        self.entries.append(entry)


def measure(bench_id: str, step: Callable[[], Any], protocol: Protocol,
            recorder: Recorder) -> dict[str, Any]:
    """Run ``step`` per the protocol; returns timing statistics (seconds per iteration)."""
    for i in range(protocol.warmup_iterations):
        t = time.perf_counter()
        step()
        recorder.add({"benchmark": bench_id, "phase": "warmup", "iteration": i,
                      "seconds": time.perf_counter() - t})
    times: list[float] = []
    total = 0.0
    start = time.perf_counter()
    while True:
        t = time.perf_counter()
        step()
        dt = time.perf_counter() - t
        times.append(dt)
        total += dt
        recorder.add({"benchmark": bench_id, "phase": "measure", "iteration": len(times) - 1,
                      "seconds": dt})
        elapsed = time.perf_counter() - start
        # the minimum duration counts timed work only, so the hub can check it from stats
        done = len(times) >= protocol.min_iterations and total >= protocol.min_duration_s
        if done or (elapsed >= protocol.max_duration_s and len(times) >= protocol.min_iterations):
            break
    arr = np.array(times)
    return {
        "iterations": len(times),
        "duration_s": float(arr.sum()),
        "warmup_iterations": protocol.warmup_iterations,
        "min_iterations": protocol.min_iterations,
        "min_duration_s": protocol.min_duration_s,
        "mean_s": float(arr.mean()),
        "median_s": float(np.median(arr)),
        "min_s": float(arr.min()),
        "p50_ms": float(np.percentile(arr, 50) * 1e3),
        "p90_ms": float(np.percentile(arr, 90) * 1e3),
        "p99_ms": float(np.percentile(arr, 99) * 1e3),
    }


def _result(bench_id: str, scenario: str, model: str | None, params: dict[str, Any],
            metric: str, value: float, unit: str, higher: bool, stats: dict[str, Any],
            evidence: dict[str, Any], extra: dict[str, float] | None = None) -> dict[str, Any]:
    return {
        "id": bench_id,
        "scenario": scenario,
        "model": model,
        "params": params,
        "metric": {"name": metric, "value": float(value), "unit": unit,
                   "higher_is_better": higher},
        "secondary": extra or {},
        "stats": stats,
        "correctness": evidence,
    }


# ----- the benchmarks -----------------------------------------------------------------------

def bench_gemm(n: int, protocol: Protocol | None, rec: Recorder | None) -> dict[str, Any]:
    rng = np.random.default_rng(SEEDS["gemm"] + n)
    a = fw.tensor(rng.standard_normal((n, n)).astype(np.float32))
    b = fw.tensor(rng.standard_normal((n, n)).astype(np.float32))
    evidence = evidence_from_array((a @ b).numpy())
    bench_id = f"gemm-{n}"
    if protocol is None:
        return {"id": bench_id, "correctness": evidence}
    stats = measure(bench_id, lambda: a @ b, protocol, rec)
    gflops = 2.0 * n ** 3 / stats["median_s"] / 1e9
    return _result(bench_id, "gemm", None, {"m": n, "n": n, "k": n, "dtype": "float32"},
                   "throughput", gflops, "GFLOP/s", True, stats, evidence)


def _fresh_model(model: str):
    from .models import build_model

    fw.manual_seed(SEEDS["init"])
    return build_model(model)


def bench_training(model: str, protocol: Protocol | None, rec: Recorder | None
                   ) -> dict[str, Any]:
    from .models import training_batch

    batch = TRAIN_BATCH[model]
    net, loss_fn = _fresh_model(model)
    x, y = training_batch(model, batch, SEEDS["data"])
    opt = fw.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

    def step() -> float:
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        return loss

    losses = [float(step().item()) for _ in range(LOSS_STEPS)]
    bench_id = f"train-{model}"
    if protocol is None:
        return {"id": bench_id, "correctness": evidence_from_losses(losses)}
    stats = measure(bench_id, step, protocol, rec)
    return _result(bench_id, "training", model, {"batch": batch, "optimizer": "SGD",
                                                 "lr": 0.01, "momentum": 0.9},
                   "throughput", batch / stats["median_s"], "samples/s", True, stats,
                   evidence_from_losses(losses))


def bench_inference(model: str, batch: int, protocol: Protocol | None, rec: Recorder | None
                    ) -> dict[str, Any]:
    from .models import fixed_input

    net, _ = _fresh_model(model)
    net.eval()
    evidence_x = fixed_input(model, 4, SEEDS["data"])
    x = fixed_input(model, batch, SEEDS["data"] + batch)
    with fw.no_grad():
        evidence = evidence_from_array(net(evidence_x).numpy())
        if protocol is None:
            kind = "latency" if batch == 1 else "throughput"
            return {"id": f"infer-{kind}-{model}", "correctness": evidence}
        if batch == 1:
            bench_id = f"infer-latency-{model}"
            stats = measure(bench_id, lambda: net(x), protocol, rec)
            return _result(bench_id, "inference_latency", model, {"batch": 1}, "p90_latency",
                           stats["p90_ms"], "ms", False, stats, evidence,
                           {"p50_ms": stats["p50_ms"], "p99_ms": stats["p99_ms"]})
        bench_id = f"infer-throughput-{model}"
        stats = measure(bench_id, lambda: net(x), protocol, rec)
        return _result(bench_id, "inference_throughput", model, {"batch": batch},
                       "throughput", batch / stats["median_s"], "samples/s", True, stats,
                       evidence)


def plan(quick: bool) -> list[tuple[str, Callable[[Protocol, Recorder], dict[str, Any]]]]:
    """The suite's benchmarks, in run order: (id, run(protocol, recorder))."""
    mode = "quick" if quick else "full"
    items: list[tuple[str, Callable[[Protocol, Recorder], dict[str, Any]]]] = []
    for n in GEMM_SIZES[mode]:
        items.append((f"gemm-{n}", lambda p, r, n=n: bench_gemm(n, p, r)))
    for m in ("mlp", "cnn", "transformer"):
        items.append((f"train-{m}", lambda p, r, m=m: bench_training(m, p, r)))
    for m in INFER_MODELS:
        items.append((f"infer-latency-{m}", lambda p, r, m=m: bench_inference(m, 1, p, r)))
        items.append((f"infer-throughput-{m}",
                      lambda p, r, m=m: bench_inference(m, INFER_THROUGHPUT_BATCH, p, r)))
    return items


def all_benchmark_ids() -> list[str]:
    """Every benchmark id of the suite version, full and quick modes together."""
    ids = [i for i, _ in plan(False)]
    return ids + [i for i, _ in plan(True) if i not in ids]


def evidence_for(backend: str = "numpy", bench_ids: list[str] | None = None
                 ) -> dict[str, dict[str, Any]]:
    """Correctness evidence of benchmarks computed on ``backend`` without any timing.

    The evidence does not depend on the mode, so the hub computes the reference once per
    suite version (``evidence_for("numpy")``) and compares every submission's
    ``correctness`` entries with it through :func:`check_evidence`.
    """
    runs = dict(plan(False))
    runs.update({i: f for i, f in plan(True) if i not in runs})
    wanted = bench_ids or list(runs)
    unknown = sorted(set(wanted) - set(runs))
    if unknown:
        raise ValueError(f"unknown benchmark(s): {', '.join(unknown)}")
    with fw.backend.use(backend):
        return {i: runs[i](None, None)["correctness"] for i in wanted}


def check_results_correctness(results: dict[str, Any],
                              reference: dict[str, dict[str, Any]]
                              ) -> dict[str, tuple[bool, str]]:
    """``{benchmark id: (ok, reason)}`` for every benchmark of a results document against
    reference evidence (from :func:`evidence_for` or another bundle's results)."""
    if "benchmarks" in reference:  # a results document
        reference = {b["id"]: b["correctness"] for b in reference["benchmarks"]}
    out = {}
    for b in results["benchmarks"]:
        ref = reference.get(b["id"])
        out[b["id"]] = (False, "no reference evidence for this benchmark") if ref is None \
            else check_evidence(b["correctness"], ref)
    return out


def run_suite(backend: str, quick: bool = False, only: list[str] | None = None,
              progress: Callable[[str], Any] | None = None) -> tuple[dict[str, Any],
                                                                    list[dict[str, Any]]]:
    """Run the suite on ``backend``; returns (results document, log entries)."""
    protocol = QUICK if quick else FULL
    rec = Recorder()
    started = datetime.now(UTC)
    benchmarks = []
    bk = fw.backend.get(backend)
    selected = [(i, f) for i, f in plan(quick) if not only or i in only]
    if only:
        unknown = sorted(set(only) - {i for i, _ in plan(quick)})
        if unknown:
            raise ValueError(f"unknown benchmark(s): {', '.join(unknown)}")
    with fw.backend.use(backend):
        for bench_id, run in selected:
            if progress:
                progress(f"{bench_id} ...")
            result = run(protocol, rec)
            benchmarks.append(result)
            if progress:
                m = result["metric"]
                progress(f"{bench_id}: {m['value']:.4g} {m['unit']}")
    results = {
        "suite_version": SUITE_VERSION,
        "mode": "quick" if quick else "full",
        "backend": {"name": bk.name, "version": str(getattr(bk, "version", ""))},
        "seeds": dict(SEEDS),
        "loss_steps": LOSS_STEPS,
        "protocol": protocol.to_dict(),
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "fallbacks": fw.backend.fallback_report().get(bk.name, {}),
        "benchmarks": benchmarks,
    }
    return results, rec.entries
