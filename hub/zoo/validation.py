"""Validation of a model version in the sandbox, and re-measuring the metrics its card claims.

The job copies the version's files into a fresh job directory, runs
:mod:`hub.zoo.sandbox_check` there under :func:`hub.infra.sandbox.run_python` (no network,
read-only system, resource limits), reads back ``result.json`` and records on the version:
``validation_status`` (``passed`` or ``failed`` with ``validation_error``) and ``validation``
(the outputs seen and each re-measured metric with ``claimed``, ``measured`` and ``ok``).
The model row's ``verified`` badge is set when the latest version passed and no re-measured
metric is off by more than the tolerance.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select

from hub import db
from hub.db import utcnow
from hub.infra import sandbox
from hub.zoo import card as cards
from hub.zoo.models import ModelVersion, ZooModel

SCRIPT = Path(__file__).with_name("sandbox_check.py")
#: Largest difference between a claimed and a re-measured metric that still verifies it:
#: absolute for accuracy (a fraction), relative for losses and perplexity.
DEFAULT_TOLERANCE = {"accuracy": 0.01, "loss": 0.05, "cross_entropy": 0.05, "perplexity": 0.05}


def verifiable_metrics(card: dict[str, Any]) -> list[dict[str, Any]]:
    """The card's metrics that the sandbox can re-measure, with the hub's dataset names."""
    out = []
    for metric in card.get("metrics", []):
        dataset = cards.known_dataset(metric["dataset"])
        if dataset and metric["name"] in cards.VERIFIABLE_METRICS[dataset]:
            out.append({"name": metric["name"], "dataset": dataset, "split": metric["split"],
                        "claimed": metric["value"], "claimed_dataset": metric["dataset"]})
    return out


def normalize_claim(name: str, value: float) -> float:
    """Accuracy claimed in percent (98.0) becomes a fraction (0.98)."""
    return value / 100.0 if name == "accuracy" and value > 1.0 else value


def compare(metric: dict[str, Any]) -> dict[str, Any]:
    """Add ``ok`` (within tolerance) to one re-measured metric."""
    tolerance = {**DEFAULT_TOLERANCE, **current_app.config.get("ZOO_METRIC_TOLERANCE", {})}
    measured = metric.get("measured")
    claimed = normalize_claim(metric["name"], float(metric["claimed"]))
    if measured is None:
        return {**metric, "claimed": claimed, "ok": False}
    limit = tolerance.get(metric["name"], 0.01)
    if metric["name"] == "accuracy":
        ok = abs(measured - claimed) <= limit
    else:
        ok = abs(measured - claimed) <= limit * max(abs(claimed), 1e-9)
    return {**metric, "claimed": claimed, "ok": bool(ok)}


def sandbox_limits() -> sandbox.Limits:
    cfg = current_app.config
    return sandbox.Limits(
        memory_bytes=int(cfg.get("ZOO_VALIDATION_MEMORY", 3 * 1024 * sandbox.MiB)),
        cpu_seconds=int(cfg.get("ZOO_VALIDATION_CPU_SECONDS", 300)),
        wall_seconds=float(cfg.get("ZOO_VALIDATION_WALL_SECONDS", 360)),
        processes=64,
        job_dir_bytes=2048 * sandbox.MiB,
    )


def validate_version(version_id: int, job_id: int | None = None) -> dict[str, Any]:
    """Validate one version in the sandbox and record the outcome (commits)."""
    from hub.infra import jobs
    from hub.infra.storage import get_storage

    session = db.session(write=True)  # a job writes, whatever request context it started in
    version = session.get(ModelVersion, version_id)
    if version is None:
        raise jobs.JobError("The model version no longer exists.")
    card = version.card or {}
    files = [(f.path, f.digest, f.kind) for f in version.files]
    metrics = verifiable_metrics(card)
    spec = {
        "architecture": version.architecture,
        "program_dir": version.program_dir,
        "weights": [p for p, _d, kind in files if kind == "weights" and "/" not in p],
        "inputs": card.get("inputs", []),
        "outputs": card.get("outputs", []),
        "metrics": [{"name": m["name"], "dataset": m["dataset"], "split": m["split"],
                     "claimed": m["claimed"]} for m in metrics],
    }
    version.validation_status = "running"
    if job_id is not None:
        version.validation_job_id = job_id
    _sync_model(version)
    session.commit()  # no transaction stays open while the sandbox runs
    storage = get_storage()
    if version.architecture == "module":
        # The uploaded Python runs in a first sandbox that may only check the forward pass and
        # save the model as a static program; metrics are measured on that program.
        first = _sandbox_run({**spec, "metrics": [], "export": True},
                             [(p, storage, d) for p, d, _k in files], job_id)
        if isinstance(first, str):
            return _finish(version, False, first, None)
        result, export = first
        if not result.get("ok") or not spec["metrics"]:
            result.pop("exported", None)
            return _finish_result(version, result)
        if export is None:
            why = result.get("export_error") or "the model could not be saved as a program"
            result["metrics"] = [{**m, "measured": None, "why": why} for m in spec["metrics"]]
            return _finish_result(version, result)
        second = _sandbox_run({**spec, "architecture": "program", "program_dir": ""},
                              [(name, None, data) for name, data in export.items()], job_id)
        if isinstance(second, str):
            return _finish(version, False, second, None)
        return _finish_result(version, second[0])
    outcome = _sandbox_run(spec, [(p, storage, d) for p, d, _k in files], job_id)
    if isinstance(outcome, str):
        return _finish(version, False, outcome, None)
    return _finish_result(version, outcome[0])


def _sandbox_run(spec: dict[str, Any], files: list, job_id: int | None):
    """Run the check program once in a fresh job directory holding ``files`` (``(path,
    store, digest)`` from the blob store, or ``(path, None, bytes)``). Returns an error
    message, or ``(result, exported files or None)``."""
    from hub.infra import jobs

    job_dir = sandbox.new_job_dir()
    try:
        model_dir = job_dir / "model"
        model_dir.mkdir()
        for path, storage, ref in files:
            target = model_dir / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if storage is None:
                target.write_bytes(ref)
                continue
            with storage.open(ref) as src, open(target, "wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
        (job_dir / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
        if job_id is not None:
            jobs.progress(job_id, 20, jobs.N_("Loading the model in the sandbox"))
        try:
            run = sandbox.run_python(SCRIPT.read_text(encoding="utf-8"), job_dir,
                                     limits=sandbox_limits())
        except sandbox.SandboxUnavailable as err:
            return f"The sandbox is unavailable: {err}"
        try:
            result = json.loads(sandbox.read_job_file(job_dir, "result.json", max_bytes=1 << 20))
        except (OSError, ValueError):
            why = run.killed_by or f"exit status {run.exit_code}"
            tail = run.stderr_text.strip().splitlines()[-3:]
            return f"The validation stopped ({why}). " + " ".join(tail)[:1500]
        if not isinstance(result, dict):
            return "The validation wrote no result."
        export = None
        if spec.get("export") and result.get("exported"):
            limit = int(current_app.config.get("ZOO_MAX_VERSION_BYTES", 1 << 30))
            try:
                export = {name: sandbox.read_job_file(job_dir, f"export/{name}", max_bytes=limit)
                          for name in ("graph.json", "weights.safetensors")}
            except (OSError, ValueError):
                export = None
        return result, export
    finally:
        sandbox.remove_job_dir(job_dir)


def _finish_result(version: ModelVersion, result: dict[str, Any]) -> dict[str, Any]:
    checked = [compare(m) for m in result.get("metrics", []) if isinstance(m, dict)]
    details = {"outputs": result.get("outputs", []), "metrics": checked,
               "framework_version": result.get("framework_version", "")}
    if not result.get("ok"):
        return _finish(version, False, str(result.get("error") or "The model failed.")[:2000],
                       details)
    return _finish(version, True, "", details)


def _finish(version: ModelVersion, passed: bool, error: str,
            details: dict[str, Any] | None) -> dict[str, Any]:
    session = db.session()
    version.validation_status = "passed" if passed else "failed"
    version.validation_error = error
    version.validation = details
    version.validated_at = utcnow()
    _sync_model(version)
    session.commit()
    return {"status": version.validation_status, "error": error, **(details or {})}


def _sync_model(version: ModelVersion) -> None:
    """Copy the latest version's state onto the model row (list pages filter on it)."""
    model = db.session().scalar(select(ZooModel).where(ZooModel.id == version.model_id))
    if model is None or model.latest_number != version.number:
        return
    model.validation_status = version.validation_status
    metrics = (version.validation or {}).get("metrics", [])
    model.verified = version.validation_status == "passed" and all(m.get("ok") for m in metrics)


def metric_lines(version: ModelVersion) -> list[dict[str, Any]]:
    """The card's metrics joined with what validation re-measured, for the page and API."""
    measured = {(m["name"], m.get("claimed_dataset", m["dataset"]), m["split"]): m
                for m in (version.validation or {}).get("metrics", [])}
    by_key = {(m["name"], m["dataset"], m["split"]): m for m in measured.values()}
    lines = []
    for metric in (version.card or {}).get("metrics", []):
        dataset = cards.known_dataset(metric["dataset"])
        found = by_key.get((metric["name"], dataset, metric["split"])) if dataset else None
        lines.append({
            "name": metric["name"], "dataset": metric["dataset"], "split": metric["split"],
            "claimed": metric["value"],
            "verifiable": bool(dataset and metric["name"] in cards.VERIFIABLE_METRICS[dataset]),
            "measured": found.get("measured") if found else None,
            "ok": found.get("ok") if found else None,
            "why": found.get("why", "") if found else "",
        })
    return lines


def format_metric(name: str, value: float | None, *, claimed: bool = False) -> str:
    """``97.8%`` for accuracy (given as a fraction, or as claimed in percent), else 4 digits."""
    if value is None:
        return "—"
    if name == "accuracy":
        fraction = normalize_claim(name, value) if claimed else value
        return f"{fraction * 100:.1f}%"
    return f"{value:.4g}"
