"""Benchmark of the model list and a model page with many models (``python -m hub.bench zoo``).

Fills a fresh SQLite database with ``--models`` models (default 10,000) and ``--versions``
versions (default 100,000, spread evenly, two files each), serves the hub with waitress on
localhost in a process of its own (so the clients do not share its interpreter lock), and
drives it with ``--clients`` concurrent client threads (default 16), each with its own HTTP
connection. It reports p50/p99 latency and requests per second for the
trivial ``/healthz`` (the baseline), the model list (first page, a later page, a search and
a filter), a model page, and the API list, measured in the same run. Target: p99 < 100 ms
for the list and the model page on SQLite.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from hub.bench import cpu_seconds, hammer, percentile, serve_in_process

TASKS = ("image-classification", "text-generation", "text-classification", "regression",
         "physics")
LICENSES = ("mit", "apache-2.0", "bsd-3-clause", "cc-by-4.0")
TAGS = ("digits", "mlp", "cnn", "lstm", "transformer", "pinn", "tiny", "baseline")


def fill(app, models: int, versions: int, seed: int = 0) -> list[str]:
    """Insert the rows in bulk; return the models' addresses."""
    from sqlalchemy import insert

    from hub import db
    from hub.accounts.models import User
    from hub.db import utcnow
    from hub.zoo.models import ModelFile, ModelVersion, ZooModel

    rng = random.Random(seed)
    now = utcnow()
    per_model = max(1, versions // models)
    with app.app_context():
        session = db.session()
        owners = [{"id": i + 1, "username": f"owner{i:03d}", "email": f"o{i}@example.org",
                   "password_hash": "-", "display_name": "", "bio": "", "role": "member",
                   "is_active": True, "auth_epoch": 0, "created_at": now} for i in range(100)]
        session.execute(insert(User), owners)
        rows, names = [], []
        for i in range(models):
            owner = owners[i % len(owners)]
            tags = rng.sample(TAGS, 2)
            name = f"model-{i:05d}"
            names.append(f"{owner['username']}/{name}")
            rows.append({
                "id": i + 1, "namespace": owner["username"], "name": name,
                "owner_id": owner["id"], "organization_id": None,
                "summary": f"A {tags[0]} {tags[1]} model number {i}",
                "task": rng.choice(TASKS), "license": rng.choice(LICENSES),
                "tags": f" {tags[0]} {tags[1]} ", "is_public": rng.random() > 0.05,
                "is_hidden": False, "latest_number": per_model,
                "verified": rng.random() > 0.3, "validation_status": "passed",
                "downloads": rng.randrange(10_000), "likes": rng.randrange(500),
                "trend": rng.random() * 30, "created_at": now - timedelta(days=400),
                "updated_at": now - timedelta(minutes=rng.randrange(500_000)),
            })
        session.execute(insert(ZooModel), rows)
        card = {"license": "mit", "task": "image-classification", "tags": ["digits"],
                "metrics": [{"name": "accuracy", "value": 0.97, "dataset": "digits",
                             "split": "test"}],
                "inputs": [{"name": "x", "shape": [None, 64], "dtype": "float32"}],
                "outputs": [{"name": "y", "shape": [None, 10], "dtype": "float32"}],
                "readme": "# A model\n\nTrained on the bundled digits.\n"}
        version_id, file_id = 0, 0
        batch_v, batch_f = [], []
        for m in range(models):
            for n in range(1, per_model + 1):
                version_id += 1
                batch_v.append({
                    "id": version_id, "model_id": m + 1, "number": n, "message": f"v{n}",
                    "card": card, "architecture": "module", "program_dir": "",
                    "total_size": 3000, "created_by_id": owners[m % 100]["id"],
                    "created_at": now - timedelta(days=per_model - n),
                    "validation_status": "passed", "validation_error": "",
                    "validation": {"outputs": [], "metrics": [
                        {"name": "accuracy", "dataset": "digits", "split": "test",
                         "claimed": 0.97, "measured": 0.969, "ok": True}]},
                    "validation_job_id": None, "validated_at": now})
                for path, kind in (("README.md", "card"), ("model.safetensors", "weights")):
                    file_id += 1
                    batch_f.append({"id": file_id, "version_id": version_id, "path": path,
                                    "digest": f"{file_id:064x}", "size": 1500, "kind": kind})
            if len(batch_v) >= 20_000 or m == models - 1:
                session.execute(insert(ModelVersion), batch_v)
                session.execute(insert(ModelFile), batch_f)
                batch_v, batch_f = [], []
        session.commit()
    return names


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hub.bench zoo")
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--versions", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=40,
                        help="requests per client and endpoint")
    parser.add_argument("--threads", type=int, default=16, help="waitress worker threads")
    args = parser.parse_args(argv)

    from hub import create_app, db

    folder = Path(tempfile.mkdtemp(prefix="skiff-bench-zoo-"))
    try:
        config = {
            "SECRET_KEY": "bench", "INSTANCE_PATH": str(folder / "instance"),
            "DATABASE_URL": f"sqlite:///{folder / 'hub.db'}",
            "STORAGE_URL": str(folder / "blobs"), "QUEUE_URL": f"sqlite:///{folder / 'q.db'}",
            "RATELIMIT_ENABLED": False,
        }
        app = create_app(config)
        db.migrate(app)
        t0 = time.perf_counter()
        names = fill(app, args.models, args.versions)
        print(f"filled {args.models:,} models and {args.versions:,} versions "
              f"in {time.perf_counter() - t0:.1f} s", flush=True)
        app.extensions["skiff_db"].dispose()
        base, server = serve_in_process(config, args.threads)
        rng = random.Random(1)
        public = names  # private ones answer 404 and are skipped below
        pages = [f"/models/{n}" for n in rng.sample(public, min(2000, len(public)))]
        suites = [
            ("/healthz (baseline)", ["/healthz"]),
            ("model list, first page", ["/models"]),
            ("model list, page 20, by downloads", ["/models?sort=downloads&page=20"]),
            ("model list, search + filters", [
                f"/models?q={t}&task={task}&verified=1&sort=recent"
                for t in TAGS for task in TASKS]),
            ("model page", pages),
            ("API list, filtered", [f"/api/v1/models?tag={t}&license=mit&sort=likes"
                                    for t in TAGS]),
        ]
        from hub.zoo.models import ZooModel

        with app.app_context():
            from sqlalchemy import select

            hidden = {f"{m.namespace}/{m.name}" for m in db.session().scalars(
                select(ZooModel).where(ZooModel.is_public.is_(False)))}
        suites[4] = ("model page", [p for p in pages if p[len("/models/"):] not in hidden])
        # Warm up: templates compiled, connections opened, SQLite pages cached.
        for _label, paths in suites:
            hammer(base, paths, 4, 5)
        import os

        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"{args.clients} concurrent clients, {args.requests} requests each per row, "
              f"waitress with {args.threads} threads, SQLite; {os.cpu_count()} CPUs, "
              f"load average {load}")
        print("| endpoint | p50 ms | p99 ms | requests/s | server CPU ms/request |")
        print("|---|---:|---:|---:|---:|")
        failed = 0
        for label, paths in suites:
            cpu0 = cpu_seconds(server.pid)
            latencies, wall, errors = hammer(base, paths, args.clients, args.requests)
            cpu = (cpu_seconds(server.pid) - cpu0) * 1000 / len(latencies)
            if errors:
                failed = 1
                print(f"errors on {label}: {errors[:3]}")
            print(f"| {label} | {statistics.median(latencies):.1f} | "
                  f"{percentile(latencies, 0.99):.1f} | {len(latencies) / wall:.0f} | "
                  f"{cpu:.1f} |",
                  flush=True)
        server.terminate()
        server.wait(timeout=30)
        return failed
    finally:
        shutil.rmtree(folder, ignore_errors=True)
