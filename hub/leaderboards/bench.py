"""Benchmark of a leaderboard page and its JSON API (``python -m hub.bench leaderboards``).

Fills a fresh SQLite database with ``--results`` benchmark results (default 10,000: one
submission per ten results, spread over 200 systems of 20 vendors, most verified), serves
the hub with waitress on localhost in a process of its own, and drives it with
``--clients`` concurrent closed-loop clients (default 16), each a separate process with its
own keep-alive connection (:func:`hub.bench.hammer`), ``--requests`` requests per client and
row, cycling through the row's paths (30 filter combinations, 500 result pages, ...). Every
path is requested once before measuring, as in steady use. It reports p50/p99 latency,
requests per second and the server process's CPU time per request of ``/healthz`` (the
baseline, in the same run), the board page (first page, filtered, sorted and paged), the
board's JSON API, and a result page. Target: p99 under 100 ms for the board page and its
API."""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from hub.bench import add_load_options, hammer, measure, serve_in_process, site_config, warm_up

BENCHMARKS = (("gemm-256", "gemm", None, "throughput", "GFLOP/s", True),
              ("gemm-512", "gemm", None, "throughput", "GFLOP/s", True),
              ("gemm-1024", "gemm", None, "throughput", "GFLOP/s", True),
              ("gemm-2048", "gemm", None, "throughput", "GFLOP/s", True),
              ("train-mlp", "training", "mlp", "throughput", "samples/s", True),
              ("train-cnn", "training", "cnn", "throughput", "samples/s", True),
              ("train-transformer", "training", "transformer", "throughput", "samples/s",
               True),
              ("infer-latency-mlp", "inference_latency", "mlp", "p90_latency", "ms", False),
              ("infer-latency-cnn", "inference_latency", "cnn", "p90_latency", "ms", False),
              ("infer-throughput-mlp", "inference_throughput", "mlp", "throughput",
               "samples/s", True))
CHIPS = ("Example X1", "Example X2", "Nimbus N4", "Tern T7", "Skua S3")
BACKENDS = ("numpy", "numexpr", "vendor")


def fill(app, results: int, seed: int = 0) -> list[str]:
    """Insert the rows in bulk; return the submissions' result IDs."""
    from sqlalchemy import insert

    from hub import db
    from hub.accounts.models import Organization, User
    from hub.db import utcnow
    from hub.leaderboards.models import BenchmarkResult, HardwareSystem, Submission

    rng = random.Random(seed)
    now = utcnow()
    submissions = max(1, results // len(BENCHMARKS))
    with app.app_context():
        session = db.session()
        session.execute(insert(User), [{
            "id": i + 1, "username": f"vendor{i:02d}", "email": f"v{i}@example.org",
            "password_hash": "-", "display_name": "", "bio": "", "role": "partner",
            "is_active": True, "auth_epoch": 0, "created_at": now} for i in range(20)])
        session.execute(insert(Organization), [{
            "id": i + 1, "slug": f"vendor-{i:02d}", "name": f"Vendor {i:02d}",
            "description": "", "is_vendor": True, "owner_id": i + 1, "created_at": now}
            for i in range(20)])
        systems = []
        for i in range(200):
            chip = CHIPS[i % len(CHIPS)]
            systems.append({
                "id": i + 1, "organization_id": i % 20 + 1, "created_by_id": i % 20 + 1,
                "system_name": f"{chip} box {i:03d}", "submitter": f"Vendor {i % 20:02d}",
                "status": ("available", "preview", "research")[i % 3],
                "accelerator_model_name": chip, "accelerators_per_node": 1 + i % 8,
                "accelerator_memory_capacity": "32 GB",
                "host_processor_model_name": "Example Host CPU", "host_processors_per_node": 2,
                "host_memory_capacity": "512 GB", "framework": "Skiff 0.1.0",
                "other_software_stack": "", "operating_system": "Linux", "notes": "",
                "peak_gflops": None, "created_at": now, "updated_at": now})
        session.execute(insert(HardwareSystem), systems)
        subs, rows, ids = [], [], []
        for n in range(submissions):
            system = systems[n % len(systems)]
            verified = rng.random() > 0.1
            public_id = f"v1.0-{n + 1:04d}"
            ids.append(public_id)
            created = now - timedelta(minutes=rng.randrange(500_000))
            subs.append({
                "id": n + 1, "public_id": public_id, "suite_version": "1.0",
                "sequence": n + 1, "system_id": system["id"],
                "organization_id": system["organization_id"],
                "submitted_by_id": system["created_by_id"],
                "status": "verified" if verified else "needs_review", "mode": "full",
                "backend_name": rng.choice(BACKENDS), "backend_version": "1.0",
                "bundle_digest": f"{n:064x}", "bundle_bytes": 40_000, "bundle_system": {},
                "review_reason": "", "reviewed_by_id": None, "reviewed_at": None,
                "created_at": created, "verified_at": created if verified else None})
            scale = system["accelerators_per_node"] * rng.uniform(0.5, 2.0)
            for bench_id, scenario, model, metric, unit, higher in BENCHMARKS:
                value = (100 * scale) if higher else (5 / scale)
                rows.append({
                    "submission_id": n + 1, "benchmark": bench_id, "scenario": scenario,
                    "model": model, "metric": metric, "value": value, "unit": unit,
                    "higher_is_better": higher, "visible": True, "secondary": {},
                    "stats": {"iterations": 20, "duration_s": 2.5}})
        session.execute(insert(Submission), subs)
        for start in range(0, len(rows), 20_000):
            session.execute(insert(BenchmarkResult), rows[start:start + 20_000])
        session.commit()
    return ids


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hub.bench leaderboards")
    parser.add_argument("--results", type=int, default=10_000)
    add_load_options(parser)
    args = parser.parse_args(argv)


    from hub import create_app, db

    folder = Path(tempfile.mkdtemp(prefix="skiff-bench-leaderboards-"))
    try:
        config = site_config(folder)
        app = create_app(config)
        db.migrate(app)
        t0 = time.perf_counter()
        ids = fill(app, args.results)
        print(f"filled {len(ids) * len(BENCHMARKS):,} results ({len(ids):,} submissions) "
              f"in {time.perf_counter() - t0:.1f} s", flush=True)
        # The server runs in its own process, so the clients do not compete for its GIL.
        base, process = serve_in_process(config, args.threads, args.processes)
        rng = random.Random(1)
        boards = [b[0] for b in BENCHMARKS]
        suites = [
            ("/healthz (baseline)", ["/healthz"]),
            ("board page, first page", ["/leaderboards/boards/train-mlp"]),
            ("board page, filtered", [
                f"/leaderboards/boards/{b}?status={s}&accelerator=x1&verified=0"
                for b in boards for s in ("available", "preview", "research")]),
            ("board page, by date, page 5", [f"/leaderboards/boards/{b}?sort=date&page=5"
                                             for b in boards]),
            ("board JSON API", [f"/api/v1/boards/{b}?per_page=50" for b in boards]),
            ("board JSON API, filtered", [f"/api/v1/boards/{b}?backend={k}&status=preview"
                                          for b in boards for k in BACKENDS]),
            ("result page", [f"/leaderboards/results/{i}"
                             for i in rng.sample(ids, min(500, len(ids)))]),
        ]
        # Warm up as in steady use: every path of every row is requested (templates
        # compiled, connections opened, boards cached; in every server process).
        for _label, paths in suites:
            warm_up(base, paths * (5 if len(paths) < 4 else 1), args.processes)
        failed = measure(base, process, suites, args,
                         f"{len(ids) * len(BENCHMARKS):,} results")
        # One more row: the cost of recomputing a board after an invalidation.
        from hub.leaderboards import services

        with app.app_context():
            services.invalidate_boards()
            db.session().commit()
        time.sleep(1.1)  # other processes re-read the invalidation counter once a second
        t0 = time.perf_counter()
        hammer(base, ["/api/v1/boards/train-mlp?per_page=50"], 1, 1)
        print(f"first board request after an invalidation: "
              f"{(time.perf_counter() - t0) * 1000:.1f} ms")
        process.stop()
        return failed
    finally:
        shutil.rmtree(folder, ignore_errors=True)
