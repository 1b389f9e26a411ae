"""Benchmark of the model list and a model page with many models (``python -m hub.bench zoo``).

Fills a fresh SQLite database with ``--models`` models (default 10,000; each with a card of
its own about as long as a bundled model's) and ``--versions`` versions (default 100,000,
spread evenly, two files each), serves the hub with waitress on localhost in a process of
its own, and drives it with ``--clients`` concurrent closed-loop clients (default 16), each
a separate process with its own keep-alive connection (:func:`hub.bench.hammer`). Each row
sends ``--requests`` requests per client, cycling through its paths: 2,000 random model
pages, 40 search and filter combinations, 8 API filters. Before measuring, every path of
every row is requested once, as in steady use (rendered pieces of pages are cached by
content, see :mod:`hub.zoo.fragments`); the row "model page, first view" then opens pages
nobody opened before, one per request. It reports p50/p99 latency, requests per second and
the server process's CPU time per request for the trivial ``/healthz`` (the baseline), the
model list (first page, a later page, a search with filters), a model page, and the API
list, measured in the same run. Target: p99 < 100 ms for the list and the model page on
SQLite."""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from hub.bench import add_load_options, measure, serve_in_process, site_config, warm_up

TASKS = ("image-classification", "text-generation", "text-classification", "regression",
         "physics")
LICENSES = ("mit", "apache-2.0", "bsd-3-clause", "cc-by-4.0")
TAGS = ("digits", "mlp", "cnn", "lstm", "transformer", "pinn", "tiny", "baseline")
#: A model card's README like the bundled models' (contrib/models/*/README.md).
README = """---
license: mit
task: image-classification
tags: [digits, mlp]
datasets: [digits]
metrics:
  - {{name: accuracy, value: 0.97, dataset: digits, split: test}}
inputs:
  - {{name: x, shape: [null, 64], dtype: float32}}
outputs:
  - {{name: y, shape: [null, 10], dtype: float32}}
---
# {name}

Model number {number}: a three-layer perceptron that classifies the bundled 8x8 handwritten
digits (97.0% test accuracy).

| | |
|---|---|
| Architecture | 64 → 128 → 64 → 10, ReLU (`model.py`); 17,226 parameters |
| Input | `x`: a batch of flattened 8×8 images, pixels 0–16 divided by 16 (float32 in [0, 1]) |
| Output | `y`: one score per digit 0–9 (argmax is the prediction) |
| Training | Adam (lr 2e-3), batch 64, 40 epochs, cross-entropy, seed {number} |
| Data | the bundled UCI digits, training split (1,442 images) |

## Evaluation

Measured by `train.py` on the bundled test split (355 images; the `k`-th image of each digit
class is a test image when `k % 5 == 4`):

| split | accuracy |
|---|---|
| test | 0.9700 (344 / 355) |
| train | 1.0000 |

Re-running `train.py` reproduces the test accuracy within 0.01 (seeds are fixed and BLAS
runs on one thread).

## Files

- `model.py` — `build_model()`; `model.safetensors` — its trained `state_dict`.
- `train.py` — the script that produced the weights and the metrics (`metrics.json`).

## Use

```python
import framework as fw
model = fw.hub.load("{name}")
test = fw.data.Digits(train=False, flatten=True)
predicted = model(test.data).argmax(1)
```

See [the digits data set](https://archive.ics.uci.edu/dataset/80) for its licence (CC BY 4.0).
"""


def fill(app, models: int, versions: int, seed: int = 0) -> list[str]:
    """Insert the rows in bulk; return the models' addresses."""
    from sqlalchemy import insert

    from hub import db
    from hub.accounts.models import User
    from hub.db import utcnow
    from hub.zoo.card import stored_html
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
                "readme": ""}
        version_id, file_id = 0, 0
        batch_v, batch_f = [], []
        for m in range(models):
            # Every model has a card of its own, as long as a bundled model's (about 2 KB):
            # rendering it is part of a model page's cost, so no two pages share one.
            model_card = {**card, "readme": README.format(name=names[m], number=m)}
            # Rendered as publishing renders it (hub.zoo.services.publish).
            readme_html = stored_html(model_card["readme"])
            for n in range(1, per_model + 1):
                version_id += 1
                batch_v.append({
                    "id": version_id, "model_id": m + 1, "number": n, "message": f"v{n}",
                    "card": model_card, "readme_html": readme_html,
                    "architecture": "module", "program_dir": "",
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
    add_load_options(parser)
    args = parser.parse_args(argv)

    from hub import create_app, db

    folder = Path(tempfile.mkdtemp(prefix="skiff-bench-zoo-"))
    try:
        config = site_config(folder)
        app = create_app(config)
        db.migrate(app)
        t0 = time.perf_counter()
        names = fill(app, args.models, args.versions)
        print(f"filled {args.models:,} models and {args.versions:,} versions "
              f"in {time.perf_counter() - t0:.1f} s", flush=True)
        app.extensions["skiff_db"].dispose()
        base, server = serve_in_process(config, args.threads, args.processes)
        from sqlalchemy import select

        from hub.zoo.models import ZooModel

        with app.app_context():
            hidden = {tuple(row) for row in db.session().execute(
                select(ZooModel.namespace, ZooModel.name).where(ZooModel.is_public.is_(False)))}
        public = [n for n in names if tuple(n.split("/")) not in hidden]  # others answer 404
        rng = random.Random(1)
        rng.shuffle(public)
        pages = [f"/models/{n}" for n in public[:2000]]
        # Pages nobody has opened yet, one per request of the row: nothing of them is cached.
        first_views = [f"/models/{n}"
                       for n in public[2000:2000 + args.clients * args.requests]]
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
        # Warm up as in steady use: every path of every row is requested (templates
        # compiled, connections opened, SQLite pages and rendered pieces cached; in every
        # server process). The "first view" row below measures pages never requested.
        for _label, paths in suites:
            warm_up(base, paths, args.processes)
        if first_views:
            suites.insert(5, ("model page, first view", first_views))
        failed = measure(base, server, suites, args,
                         f"{args.models:,} models, {args.versions:,} versions")
        server.stop()
        return failed
    finally:
        shutil.rmtree(folder, ignore_errors=True)
