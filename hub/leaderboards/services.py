"""What the leaderboard pages, the API, the CLI and the seed share: registering systems,
receiving bundles, the automatic checks, review, and the cached board queries.

A submission goes through :func:`submit`: the upload is spooled to a temporary file under a
size limit, unpacked safely (:func:`extract_archive`) and verified with the benchmark suite's
own verifier (JSON Schema, manifest hashes, consistency). Only then is the archive stored as a
blob and the rows written, in one transaction; a refused bundle leaves nothing behind. The
checks (:func:`run_checks`) run in a background job because the correctness check needs the
reference backend's evidence, which the hub computes once per suite version and keeps in
``lb_reference``.
"""

from __future__ import annotations

import csv
import functools
import io
import os
import re
import shutil
import statistics
import tarfile
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from threading import Lock
from typing import Any, BinaryIO

from flask import current_app, has_app_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub import audit, db
from hub.accounts.models import Membership, Organization, User
from hub.db import utcnow
from hub.leaderboards.models import (
    SYSTEM_STATUSES,
    BenchmarkResult,
    BoardGeneration,
    HardwareSystem,
    ReferenceEvidence,
    Reviewer,
    Submission,
    SubmissionCheck,
)

#: Reference backend whose evidence every submission is compared with.
REFERENCE_BACKEND = "numpy"

#: Scenarios of the suite, as the boards group them.
SCENARIOS = {
    "training": _l("Training throughput"),
    "inference_latency": _l("Inference latency"),
    "inference_throughput": _l("Inference throughput"),
    "gemm": _l("GEMM throughput"),
}

#: The automatic checks, in the order the result page shows them.
CHECKS = {
    "integrity": _l("Bundle schema and manifest hashes"),
    "suite_version": _l("Suite version accepted"),
    "seeds": _l("Fixed seeds"),
    "protocol": _l("Minimum duration and iterations"),
    "correctness": _l("Correctness against the reference backend"),
    "peak": _l("Plausible against the declared peak"),
    "outlier": _l("Not an outlier for this accelerator"),
    "system": _l("Matches the registered system"),
}

STATUS_LABELS = {
    "checking": _l("Checking"),
    "verified": _l("Verified"),
    "needs_review": _l("Needs review"),
    "rejected": _l("Rejected"),
    "failed": _l("Failed checks"),
    "withdrawn": _l("Withdrawn"),
    "passed": _l("Passed"),
    "available": _l("Available"),
    "preview": _l("Preview"),
    "research": _l("Research"),
}

#: Fields compared between the bundle's system.json and the registered system.
MATCHED_FIELDS = ("system_name", "submitter", "status", "accelerator_model_name",
                  "accelerators_per_node", "host_processor_model_name",
                  "host_processors_per_node")

#: Submission states anyone may see; the others only the organization and reviewers.
PUBLIC_STATUSES = ("verified", "needs_review", "withdrawn")
#: Most zoo models one submission may name.
MAX_MODELS = 10


class LeaderboardError(Exception):
    """A refused request: ``message`` for the person, ``status`` and ``code`` for the API."""

    def __init__(self, message: str, status: int = 400, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


def setting(name: str, default: Any) -> Any:
    return current_app.config.get(name, default)


def accepted_suite_versions() -> tuple[str, ...]:
    from framework.bench import SUITE_VERSION

    return tuple(setting("LEADERBOARDS_SUITE_VERSIONS", (SUITE_VERSION,)))


# --- people and permissions -------------------------------------------------------------------


def is_reviewer(user: Any) -> bool:
    """Admins and people an admin made reviewers may approve or reject submissions."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if user.is_admin:
        return True
    return db.session().scalar(select(Reviewer.id).where(Reviewer.user_id == user.id)) is not None


def vendor_orgs(user: Any) -> list[Organization]:
    """The vendor organizations ``user`` may register systems for (admins: every one)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    stmt = select(Organization).where(Organization.is_vendor.is_(True)).order_by(
        Organization.name)
    if not user.is_admin:
        if user.role != "partner":
            return []
        stmt = stmt.join(Membership, Membership.organization_id == Organization.id).where(
            Membership.user_id == user.id)
    return list(db.session().scalars(stmt))


def is_member(user: Any, organization_id: int) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return db.session().scalar(select(Membership.id).where(
        Membership.user_id == user.id, Membership.organization_id == organization_id)
    ) is not None


def can_submit(user: Any, system: HardwareSystem) -> bool:
    """Only members of the system's organization submit results for it."""
    return is_member(user, system.organization_id)


def can_edit_system(user: Any, system: HardwareSystem) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False)
                and (user.is_admin or can_submit(user, system)))


def can_see(user: Any, submission: Submission) -> bool:
    """Public states are visible to all; the rest to the organization and reviewers."""
    return (submission.status in PUBLIC_STATUSES or is_member(user, submission.organization_id)
            or is_reviewer(user))


# --- systems ----------------------------------------------------------------------------------


def clean_system_fields(data: dict[str, Any], partial: bool = False) -> dict[str, Any]:
    """Check the MLPerf fields of a system; raise :class:`LeaderboardError` naming the field."""
    out: dict[str, Any] = {}
    limits = {"system_name": 200, "submitter": 200, "accelerator_model_name": 200,
              "accelerator_memory_capacity": 100, "host_processor_model_name": 200,
              "host_memory_capacity": 100, "framework": 300, "other_software_stack": 500,
              "operating_system": 300, "notes": 5000}
    for name, limit in limits.items():
        if name not in data:
            continue
        value = data[name]
        value = "" if value is None else str(value).strip()
        if len(value) > limit:
            raise LeaderboardError(_("%(field)s is longer than %(limit)s characters.",
                                     field=name, limit=limit), 422, "validation_error")
        out[name] = value
    for name in ("accelerators_per_node", "host_processors_per_node"):
        if name in data and data[name] not in (None, ""):
            try:
                number = int(data[name])
            except (TypeError, ValueError):
                raise LeaderboardError(_("%(field)s must be a whole number.", field=name),
                                       422, "validation_error") from None
            if isinstance(data[name], float) or not 0 <= number <= 1_000_000:
                raise LeaderboardError(_("%(field)s must be a whole number from 0 to "
                                         "1000000.", field=name), 422, "validation_error")
            out[name] = number
    if "status" in data:
        if data["status"] not in SYSTEM_STATUSES:
            raise LeaderboardError(_("status must be one of: %(choices)s.",
                                     choices=", ".join(SYSTEM_STATUSES)), 422,
                                   "validation_error")
        out["status"] = data["status"]
    if "peak_gflops" in data:
        raw = data["peak_gflops"]
        if raw in (None, ""):
            out["peak_gflops"] = None
        else:
            try:
                peak = float(raw)
            except (TypeError, ValueError):
                peak = -1.0
            if not (0 < peak < 1e12):
                raise LeaderboardError(_("The declared peak must be a positive number of "
                                         "GFLOP/s."), 422, "validation_error")
            out["peak_gflops"] = peak
    if not partial:
        for name in ("system_name", "submitter"):
            if not out.get(name):
                raise LeaderboardError(_("%(field)s is required.", field=name), 422,
                                       "validation_error")
    elif any(name in out and not out[name] for name in ("system_name", "submitter")):
        raise LeaderboardError(_("system_name and submitter cannot be empty."), 422,
                               "validation_error")
    return out


def register_system(user: User, organization: Organization, data: dict[str, Any]
                    ) -> HardwareSystem:
    """Register a system for a vendor organization ``user`` belongs to (as a partner)."""
    if organization not in vendor_orgs(user):
        raise LeaderboardError(_("Only partners who belong to a vendor organization can "
                                 "register systems for it."), 403, "forbidden")
    fields = clean_system_fields(data)
    system = HardwareSystem(organization_id=organization.id, created_by_id=user.id, **fields)
    db.session().add(system)
    db.session().flush()
    audit.record("leaderboards.system_create", target=system, actor=user,
                 details={"system_name": system.system_name})
    index_system(system)
    return system


def index_system(system: HardwareSystem) -> None:
    """Keep the system's entry in the site search (saved with the caller's commit)."""
    from hub import search

    accelerator = system.accelerator_model_name or system.host_processor_model_name
    search.index("system", system.id, title=system.system_name,
                 url=f"/leaderboards/systems/{system.id}",
                 description=f"{system.submitter} · {accelerator} · {system.notes}"[:500],
                 tags=[system.status])


def update_system(user: User, system: HardwareSystem, data: dict[str, Any]) -> HardwareSystem:
    if not can_edit_system(user, system):
        raise LeaderboardError(_("You cannot change this system."), 404, "not_found")
    for name, value in clean_system_fields(data, partial=True).items():
        setattr(system, name, value)
    audit.record("leaderboards.system_update", target=system, actor=user)
    index_system(system)
    invalidate_boards()
    return system


def system_to_dict(system: HardwareSystem) -> dict[str, Any]:
    return {"id": system.id, "organization": system.organization.slug,
            **system.to_fields(), "peak_gflops": system.peak_gflops,
            "created_at": system.created_at.isoformat()}


# --- receiving bundles ------------------------------------------------------------------------


@dataclass
class Limits:
    upload_bytes: int
    unpacked_bytes: int
    members: int

    @classmethod
    def current(cls) -> Limits:
        return cls(upload_bytes=int(setting("LEADERBOARDS_MAX_UPLOAD", 32 * 2**20)),
                   unpacked_bytes=int(setting("LEADERBOARDS_MAX_UNPACKED", 64 * 2**20)),
                   members=int(setting("LEADERBOARDS_MAX_MEMBERS", 16)))


def spool(source: BinaryIO, dest: Path, limit: int) -> int:
    """Copy an upload stream into ``dest``, refusing more than ``limit`` bytes."""
    total = 0
    with open(dest, "wb") as out:
        while True:
            chunk = source.read(1 << 16)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                raise LeaderboardError(_("The bundle is larger than the limit of %(limit)s "
                                         "bytes.", limit=limit), 413, "too_large")
            out.write(chunk)
    if total == 0:
        raise LeaderboardError(_("The upload is empty: send the bundle's .tar.gz archive."),
                               400, "empty")
    return total


def extract_archive(archive: Path, dest: Path, limits: Limits) -> None:
    """Unpack a bundle archive into ``dest`` safely.

    Refused: absolute paths, ``..``, links and device files, more than ``limits.members``
    entries, more than ``limits.unpacked_bytes`` unpacked, nesting deeper than one folder,
    and a file appearing twice. Only regular files are written, by name, into ``dest``.
    """
    def refuse(message: str) -> None:
        raise LeaderboardError(_("The archive was refused: %(problem)s", problem=message),
                               400, "bad_archive")

    total = 0
    seen: set[str] = set()
    top: str | None = None
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            for count, member in enumerate(tar, 1):
                if count > limits.members:
                    refuse(f"more than {limits.members} entries")
                name = member.name
                if name.startswith("/") or "\\" in name or (len(name) > 1 and name[1] == ":"):
                    refuse(f"absolute path {name!r}")
                parts = [p for p in PurePosixPath(name).parts if p != "."]
                if ".." in parts:
                    refuse(f"path {name!r} leaves the bundle folder")
                if member.issym() or member.islnk():
                    refuse(f"link {name!r}")
                if member.isdir():
                    if len(parts) > 1:
                        refuse(f"nested folder {name!r}")
                    continue
                if not member.isfile():
                    refuse(f"special file {name!r}")
                if len(parts) == 2:
                    if top is not None and parts[0] != top:
                        refuse("files in more than one folder")
                    top = parts[0]
                elif len(parts) != 1:
                    refuse(f"nested file {name!r}")
                base = parts[-1]
                if base in seen:
                    refuse(f"{base} appears twice")
                seen.add(base)
                total += member.size
                if total > limits.unpacked_bytes:
                    refuse(f"more than {limits.unpacked_bytes} bytes unpacked")
                src = tar.extractfile(member)
                with src, open(dest / base, "xb") as out:
                    shutil.copyfileobj(src, out)
    except LeaderboardError:
        raise
    except (tarfile.TarError, EOFError, OSError, zlib.error) as err:
        refuse(f"not a readable .tar.gz ({err})")


@dataclass
class ReceivedBundle:
    """A verified upload, still in a temporary folder (see :func:`receive_bundle`)."""

    archive: Path
    size: int
    bundle: Any
    tmp: Path = field(repr=False)

    def cleanup(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def receive_bundle(source: BinaryIO) -> ReceivedBundle:
    """Spool, unpack and verify an uploaded archive; the caller must ``cleanup()``."""
    from framework.bench import BundleError, verify_bundle

    limits = Limits.current()
    tmp = Path(tempfile.mkdtemp(prefix="skiff-bundle-"))
    try:
        archive = tmp / "bundle.tar.gz"
        size = spool(source, archive, limits.upload_bytes)
        unpacked = tmp / "bundle"
        unpacked.mkdir()
        extract_archive(archive, unpacked, limits)
        try:
            bundle = verify_bundle(unpacked)
        except BundleError as err:
            raise LeaderboardError(_("The bundle was refused: %(problem)s", problem=str(err)),
                                   400, "invalid_bundle") from None
        return ReceivedBundle(archive, size, bundle, tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def bundle_archive_from_dir(directory: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Pack a bundle directory as the suite does (``write_archive``) after verifying it."""
    from framework.bench import verify_bundle, write_archive

    verify_bundle(directory)
    return write_archive(directory, dest)


def _next_sequence(suite_version: str) -> int:
    current = db.session().scalar(select(func.max(Submission.sequence)).where(
        Submission.suite_version == suite_version))
    return (current or 0) + 1


def clean_models(user: Any, names: Any) -> list[str]:
    """The zoo models a submission says it ran, as ``owner/name``: from a list of names (each
    may hold several, separated by commas or spaces). Every one must be a model ``user`` can
    see; :class:`LeaderboardError` (400) names the first that is not."""
    from hub.zoo import services as zoo

    wanted: list[str] = []
    for raw in [names] if isinstance(names, str) else list(names or []):
        for name in re.split(r"[,\s]+", str(raw)):
            if name and name not in wanted:
                wanted.append(name)
    if len(wanted) > MAX_MODELS:
        raise LeaderboardError(_("A result can name at most %(n)s models.", n=MAX_MODELS),
                               400, "invalid_models")
    found = []
    for name in wanted:
        namespace, sep, model_name = name.partition("/")
        model = zoo.find_model(namespace, model_name) if sep else None
        if model is None or not zoo.can_view(model, user):
            raise LeaderboardError(_("There is no model %(name)s on the hub: name models as "
                                     "owner/name, as on their pages.", name=name[:200]),
                                   400, "unknown_model")
        if model.full_name not in found:
            found.append(model.full_name)
    return found


def models_seen_by(submission: Submission, viewer: Any) -> list[str]:
    """The zoo models of ``submission`` that ``viewer`` may see (a private model's name is not
    shown to others)."""
    from hub.zoo import services as zoo

    shown = []
    for name in submission.models or []:
        namespace, _sep, model_name = name.partition("/")
        if zoo.can_view(zoo.find_model(namespace, model_name), viewer):
            shown.append(name)
    return shown


def result_title(submission: Submission) -> str:
    """How a result is named elsewhere on the hub: its benchmarks, result ID and system."""
    benchmarks = [r.benchmark for r in submission.results]
    names = ", ".join(benchmarks[:3]) + (f" +{len(benchmarks) - 3}" if len(benchmarks) > 3
                                         else "")
    return " · ".join(p for p in (names, submission.public_id, submission.system.system_name)
                      if p)


def sync_model_references(submission: Submission) -> None:
    """Link a verified result (ranked on the boards) from the pages of the zoo models it
    names ("Used in"); any other state removes the links. Joins the caller's transaction."""
    if not submission.models:
        return
    from hub.zoo import services as zoo

    if submission.status != "verified":
        zoo.remove_references("leaderboard", submission.public_id)
        return
    title = result_title(submission)
    for name in submission.models:
        zoo.add_reference(name, "leaderboard", submission.public_id, title=title,
                          url=f"/leaderboards/results/{submission.public_id}")


def submit(user: User, system: HardwareSystem, source: BinaryIO, *,
           models: Any = None, check_now: bool = False) -> Submission:
    """Receive a bundle for ``system`` from ``user`` and start its checks.

    ``models`` names the zoo models (``owner/name``) the result ran, if any (see
    :func:`clean_models`); once the result is verified their pages link to it. The checks
    run in a background job (``check_now=True`` runs them here, for the seed). Raises
    :class:`LeaderboardError` for a refused bundle or model; nothing is stored then.
    """
    from hub.infra.storage import get_storage

    if not can_submit(user, system):
        raise LeaderboardError(_("Only members of %(org)s can submit results for this "
                                 "system.", org=system.organization.name), 403, "forbidden")
    model_names = clean_models(user, models)
    system_id, org_id, user_id = system.id, system.organization_id, user.id
    db.session().rollback()  # no transaction stays open while the upload streams in
    received = receive_bundle(source)
    try:
        with open(received.archive, "rb") as fh:
            digest = get_storage().put(fh)
        bundle = received.bundle
        results = bundle.results
        for attempt in range(5):
            session = db.session()
            version = results["suite_version"]
            sequence = _next_sequence(version)
            submission = Submission(
                public_id=f"v{version}-{sequence:04d}", suite_version=version,
                sequence=sequence, system_id=system_id, organization_id=org_id,
                submitted_by_id=user_id, status="checking", mode=results["mode"],
                backend_name=results["backend"]["name"][:100],
                backend_version=results["backend"]["version"][:100], bundle_digest=digest,
                bundle_bytes=received.size, models=model_names,
                bundle_system={k: v for k, v in bundle.system.items() if k != "detected"}
                | {"detected": bundle.system["detected"]})
            for b in results["benchmarks"]:
                submission.results.append(BenchmarkResult(
                    benchmark=b["id"], scenario=b["scenario"], model=b["model"],
                    metric=b["metric"]["name"], value=float(b["metric"]["value"]),
                    unit=b["metric"]["unit"], higher_is_better=b["metric"]["higher_is_better"],
                    visible=False, secondary=b["secondary"], stats=b["stats"]))
            session.add(submission)
            audit.record("leaderboards.submit", target=submission, actor=user,
                         details={"public_id": submission.public_id, "digest": digest,
                                  "system_id": system_id, "models": model_names})
            try:
                session.commit()
                break
            except IntegrityError:
                session.rollback()  # another submission took this number: take the next
                if attempt == 4:
                    raise
    finally:
        received.cleanup()
    if check_now:
        run_checks(submission.id)
        db.session().refresh(submission)
    else:
        from hub.infra import jobs

        jobs.enqueue("leaderboards.check", {"submission_id": submission.id}, owner=user_id)
        db.session().refresh(submission)
        db.session().commit()
    return submission


# --- the checks -------------------------------------------------------------------------------

_reference_memo: dict[tuple[str, str, str], dict[str, Any]] = {}
_reference_lock = Lock()


def reference_evidence(suite_version: str, bench_ids: list[str] | None = None
                       ) -> dict[str, Any] | None:
    """The reference backend's evidence for ``suite_version`` (by benchmark id): read from
    ``lb_reference``; benchmarks it lacks are computed once (only for the suite version
    installed here) and added to it. ``bench_ids`` limits what must be present (default:
    every benchmark of the suite). None for a suite version this hub cannot compute.
    """
    from framework.bench import SUITE_VERSION, all_benchmark_ids, evidence_for

    session = db.session()
    row = session.scalar(select(ReferenceEvidence).where(
        ReferenceEvidence.suite_version == suite_version,
        ReferenceEvidence.backend == REFERENCE_BACKEND))
    have = dict(row.evidence) if row is not None else {}
    if suite_version != SUITE_VERSION:
        return have or None
    known = all_benchmark_ids()
    missing = [i for i in (bench_ids or known) if i in known and i not in have]
    if not missing:
        return have
    with _reference_lock:  # one computation per process, however many jobs ask at once
        todo = [i for i in missing if (suite_version, REFERENCE_BACKEND, i)
                not in _reference_memo]
        if todo:
            for bench_id, evidence in evidence_for(REFERENCE_BACKEND, todo).items():
                _reference_memo[(suite_version, REFERENCE_BACKEND, bench_id)] = evidence
    for bench_id in missing:
        have[bench_id] = _reference_memo[(suite_version, REFERENCE_BACKEND, bench_id)]
    if row is None:
        session.add(ReferenceEvidence(suite_version=suite_version, backend=REFERENCE_BACKEND,
                                      evidence=have))
    else:
        row.evidence = have
    try:
        session.commit()
    except IntegrityError:
        session.rollback()  # another job stored it first; the content is the same
    return have


def load_bundle(submission: Submission):
    """The stored bundle of ``submission``, verified again (raises BundleError)."""
    from framework.bench import verify_archive
    from hub.infra.storage import get_storage

    with get_storage().open(submission.bundle_digest) as fh:
        return verify_archive(fh.read(), submission.public_id)


def accelerator_key(system_fields: dict[str, Any]) -> str:
    """Which chip a result measures: the accelerator, or the host CPU on CPU-only systems."""
    if int(system_fields.get("accelerators_per_node") or 0) > 0:
        chip = system_fields.get("accelerator_model_name") or ""
        count = int(system_fields.get("accelerators_per_node") or 0)
    else:
        chip = system_fields.get("host_processor_model_name") or ""
        count = int(system_fields.get("host_processors_per_node") or 0)
    return f"{chip.strip().lower()} x{count}"


def _norm(value: Any) -> str:
    return " ".join(str(value).split()).lower()


def evaluate(submission: Submission, bundle) -> list[tuple[str, str, str]]:
    """Run every automatic check; ``[(name, status, reason)]`` in :data:`CHECKS` order."""
    from framework.bench import LOSS_STEPS, SEEDS, check_results_correctness, protocol_problems

    results = bundle.results
    system = submission.system
    out: list[tuple[str, str, str]] = [
        ("integrity", "passed", "schema, SHA-256 hashes and consistency verified on upload")]
    accepted = accepted_suite_versions()
    version_ok = results["suite_version"] in accepted
    out.append(("suite_version", "passed" if version_ok else "failed",
                f"suite {results['suite_version']} is accepted" if version_ok else
                f"suite {results['suite_version']} is not accepted; this hub accepts "
                f"{', '.join(accepted)}"))
    if results["seeds"] == SEEDS and results["loss_steps"] == LOSS_STEPS:
        out.append(("seeds", "passed", f"seeds {SEEDS}, {LOSS_STEPS} loss steps"))
    else:
        wrong = sorted(k for k in set(SEEDS) | set(results["seeds"])
                       if results["seeds"].get(k) != SEEDS.get(k))
        detail = ", ".join(f"{k}={results['seeds'].get(k)} (suite: {SEEDS.get(k)})"
                           for k in wrong)
        if results["loss_steps"] != LOSS_STEPS:
            detail = (detail + "; " if detail else "") + \
                f"{results['loss_steps']} loss steps (suite: {LOSS_STEPS})"
        out.append(("seeds", "failed", f"not the suite's fixed seeds: {detail}"))
    problems = protocol_problems(results)
    out.append(("protocol", "failed" if problems else "passed",
                "; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)"
                                           if len(problems) > 5 else "")
                if problems else f"every measurement met the {results['mode']} protocol"))
    reference = reference_evidence(results["suite_version"],
                                   [b["id"] for b in results["benchmarks"]]
                                   ) if version_ok else None
    if reference is None:
        out.append(("correctness", "failed", "no reference evidence for suite "
                    f"{results['suite_version']}"))
    else:
        verdicts = check_results_correctness(results, reference)
        bad = [(bid, reason) for bid, (ok, reason) in verdicts.items() if not ok]
        out.append(("correctness", "failed" if bad else "passed",
                    "; ".join(f"{bid}: {reason}" for bid, reason in bad) if bad else
                    f"{len(verdicts)} benchmarks match the {REFERENCE_BACKEND} reference "
                    "within the suite's tolerance"))
    gemm = [b for b in results["benchmarks"] if b["scenario"] == "gemm"]
    if system.peak_gflops:
        over = [b for b in gemm if b["metric"]["value"] > system.peak_gflops]
        out.append(("peak", "failed" if over else "passed",
                    "; ".join(f"{b['id']}: {b['metric']['value']:.4g} GFLOP/s exceeds the "
                              f"declared peak of {system.peak_gflops:.4g} GFLOP/s"
                              for b in over) if over else
                    f"GEMM throughput within the declared peak of {system.peak_gflops:.4g} "
                    "GFLOP/s"))
    else:
        out.append(("peak", "passed", "no peak declared for this system; GEMM throughput "
                    "not compared"))
    out.append(outlier_check(submission, results))
    mismatched = []
    for name in MATCHED_FIELDS:
        got, want = bundle.system.get(name), getattr(system, name)
        if _norm(got) != _norm(want):
            mismatched.append(f"{name}: bundle {got!r}, registered {want!r}")
    out.append(("system", "failed" if mismatched else "passed",
                "; ".join(mismatched) if mismatched else
                "the bundle's system description matches the registered system"))
    return out


def outlier_check(submission: Submission, results: dict[str, Any]) -> tuple[str, str, str]:
    """Robust outlier test per benchmark among verified results for the same chip: more
    than ``LEADERBOARDS_OUTLIER_Z`` scaled median absolute deviations from their median."""
    min_peers = int(setting("LEADERBOARDS_OUTLIER_MIN_PEERS", 5))
    limit = float(setting("LEADERBOARDS_OUTLIER_Z", 6.0))
    key = accelerator_key(submission.system.to_fields())
    session = db.session()
    rows = session.execute(
        select(BenchmarkResult.benchmark, BenchmarkResult.value, HardwareSystem)
        .join(Submission, Submission.id == BenchmarkResult.submission_id)
        .join(HardwareSystem, HardwareSystem.id == Submission.system_id)
        .where(Submission.status == "verified", Submission.id != submission.id,
               BenchmarkResult.benchmark.in_([b["id"] for b in results["benchmarks"]]))
    ).all()
    peers: dict[str, list[float]] = {}
    for bench, value, system in rows:
        if accelerator_key(system.to_fields()) == key:
            peers.setdefault(bench, []).append(value)
    flagged, compared = [], 0
    for b in results["benchmarks"]:
        values = peers.get(b["id"], [])
        if len(values) < min_peers:
            continue
        compared += 1
        median = statistics.median(values)
        mad = statistics.median(abs(v - median) for v in values) * 1.4826
        scale = max(mad, abs(median) * 0.01, 1e-12)
        z = abs(b["metric"]["value"] - median) / scale
        if z > limit:
            flagged.append(f"{b['id']}: {b['metric']['value']:.4g} {b['metric']['unit']} is "
                           f"{z:.1f} MADs from the median {median:.4g} of {len(values)} "
                           "verified results")
    if flagged:
        return ("outlier", "needs_review", "; ".join(flagged))
    if not compared:
        return ("outlier", "passed", f"fewer than {min_peers} verified results for this chip "
                "to compare with")
    return ("outlier", "passed", f"{compared} benchmarks within {limit:g} MADs of verified "
            "results for this chip")


def run_checks(submission_id: int) -> Submission:
    """Evaluate a submission, store every check and set its state (verified, needs review
    or failed); boards are invalidated when it becomes visible."""
    from framework.bench import BundleError

    session = db.session()
    submission = session.get(Submission, submission_id)
    if submission is None or submission.status != "checking":
        return submission
    try:
        bundle = load_bundle(submission)
        checks = evaluate(submission, bundle)
    except BundleError as err:
        checks = [("integrity", "failed", f"the stored bundle no longer verifies: {err}")]
    submission = session.get(Submission, submission_id)
    for check in list(submission.checks):
        session.delete(check)
    for name, status, reason in checks:
        submission.checks.append(SubmissionCheck(name=name, status=status, reason=reason))
    statuses = {status for _name, status, _reason in checks}
    new = "failed" if "failed" in statuses else (
        "needs_review" if "needs_review" in statuses else "verified")
    set_status(submission, new)
    session.commit()
    return submission


def set_status(submission: Submission, status: str) -> None:
    """Change a submission's state, keep its results' visibility in step, and invalidate
    the cached boards when anything they show changes."""
    was_visible = submission.status in ("verified", "needs_review")
    submission.status = status
    if status == "verified" and submission.verified_at is None:
        submission.verified_at = utcnow()
    visible = status in ("verified", "needs_review")
    db.session().execute(update(BenchmarkResult).where(
        BenchmarkResult.submission_id == submission.id).values(visible=visible))
    if was_visible or visible:
        invalidate_boards()
    sync_model_references(submission)


def review(reviewer: User, submission: Submission, approve: bool, reason: str) -> Submission:
    """Approve (verified, ranked) or reject a submission that needs review; audit-logged."""
    if not is_reviewer(reviewer):
        raise LeaderboardError(_("Only reviewers can approve or reject results."), 403,
                               "forbidden")
    if submission.status != "needs_review":
        raise LeaderboardError(_("Only results that need review can be approved or "
                                 "rejected."), 409, "conflict")
    reason = (reason or "").strip()
    if not reason:
        raise LeaderboardError(_("Give a reason for the decision."), 422, "validation_error")
    submission.review_reason = reason[:5000]
    submission.reviewed_by_id = reviewer.id
    submission.reviewed_at = utcnow()
    set_status(submission, "verified" if approve else "rejected")
    audit.record("leaderboards.review", target=submission, actor=reviewer,
                 details={"public_id": submission.public_id,
                          "decision": "approve" if approve else "reject", "reason": reason})
    return submission


def withdraw(user: User, submission: Submission) -> Submission:
    """Take a result off the boards (members of its organization, or admins)."""
    if not (user.is_admin or is_member(user, submission.organization_id)):
        raise LeaderboardError(_("You cannot withdraw this result."), 404, "not_found")
    if submission.status in ("withdrawn", "checking"):
        raise LeaderboardError(_("This result cannot be withdrawn now."), 409, "conflict")
    set_status(submission, "withdrawn")
    audit.record("leaderboards.withdraw", target=submission, actor=user,
                 details={"public_id": submission.public_id})
    return submission


def submission_to_dict(submission: Submission, *, url: str | None = None,
                       viewer: Any = None) -> dict[str, Any]:
    """A result for the API; ``models`` lists the zoo models ``viewer`` may see."""
    return {
        "id": submission.public_id,
        "status": submission.status,
        "system_id": submission.system_id,
        "system_name": submission.system.system_name,
        "organization": submission.system.organization.slug,
        "suite_version": submission.suite_version,
        "mode": submission.mode,
        "backend": {"name": submission.backend_name, "version": submission.backend_version},
        "created_at": submission.created_at.isoformat(),
        "verified_at": submission.verified_at.isoformat() if submission.verified_at else None,
        "review_reason": submission.review_reason,
        "bundle_sha256": submission.bundle_digest,
        "models": models_seen_by(submission, viewer),
        "checks": [{"name": c.name, "status": c.status, "reason": c.reason}
                   for c in submission.checks],
        "results": [{"benchmark": r.benchmark, "scenario": r.scenario, "metric": r.metric,
                     "value": r.value, "unit": r.unit, "higher_is_better": r.higher_is_better}
                    for r in submission.results],
        **({"url": url} if url else {}),
    }


def find_submission(public_id: str) -> Submission | None:
    """The submission with this result ID, with what its page shows loaded in one go."""
    return db.session().scalar(_submission_statement(), {"public_id": public_id})


@functools.cache
def _submission_statement():
    """:func:`find_submission`'s SELECT, built once (with its loader options, building it
    cost as much as running it)."""
    from sqlalchemy import bindparam
    from sqlalchemy.orm import joinedload, selectinload

    return (select(Submission).where(Submission.public_id == bindparam("public_id"))
            .options(selectinload(Submission.results), selectinload(Submission.checks),
                     joinedload(Submission.system).joinedload(HardwareSystem.organization),
                     joinedload(Submission.submitted_by)))


# --- boards -----------------------------------------------------------------------------------


def board_ids() -> list[tuple[str, str]]:
    """(benchmark id, scenario) of every board: the suite's benchmarks, plus any benchmark a
    stored result has (so an older suite version's boards stay reachable). Cached with the
    boards."""
    ids, generation = _cache_get(("board ids",))
    if ids is None:
        ids = _compute_board_ids()
        _cache_put(("board ids",), ids, generation)
    return ids


def _compute_board_ids() -> list[tuple[str, str]]:
    from framework.bench import plan

    boards: dict[str, str] = {}
    for quick in (False, True):
        for bench_id, _run in plan(quick):
            boards.setdefault(bench_id, scenario_of(bench_id))
    for bench_id, scenario in db.session().execute(
            select(BenchmarkResult.benchmark, BenchmarkResult.scenario).distinct()):
        boards.setdefault(bench_id, scenario)
    order = list(SCENARIOS)
    return sorted(boards.items(), key=lambda kv: (order.index(kv[1]) if kv[1] in order
                                                  else 99, _natural(kv[0])))


def _natural(bench_id: str) -> tuple:
    head, _, tail = bench_id.rpartition("-")
    return (head, int(tail)) if tail.isdigit() else (bench_id, 0)


def scenario_of(bench_id: str) -> str:
    if bench_id.startswith("gemm-"):
        return "gemm"
    if bench_id.startswith("train-"):
        return "training"
    if bench_id.startswith("infer-latency-"):
        return "inference_latency"
    return "inference_throughput"


@dataclass(frozen=True)
class BoardFilters:
    """What a board shows: filters and sort order (from a query string)."""

    status: str = ""
    accelerator: str = ""
    submitter: str = ""
    backend: str = ""
    verified_only: bool = True
    sort: str = "result"
    order: str = ""

    SORTS = ("result", "date", "submitter", "system", "accelerator")

    @classmethod
    def from_args(cls, args) -> BoardFilters:
        def text(name: str) -> str:
            return (args.get(name) or "").strip()[:200]

        status = text("status")
        sort = text("sort")
        order = text("order")
        verified = text("verified")
        return cls(status=status if status in SYSTEM_STATUSES else "",
                   accelerator=text("accelerator"), submitter=text("submitter"),
                   backend=text("backend"),
                   verified_only=verified not in ("0", "false", "no", "off"),
                   sort=sort if sort in cls.SORTS else "result",
                   order=order if order in ("asc", "desc") else "")

    def query_args(self) -> dict[str, str]:
        out = {k: v for k, v in (("status", self.status), ("accelerator", self.accelerator),
                                 ("submitter", self.submitter), ("backend", self.backend))
               if v}
        if not self.verified_only:
            out["verified"] = "0"
        if self.sort != "result":
            out["sort"] = self.sort
        if self.order:
            out["order"] = self.order
        return out


class BoardCache:
    """Computed boards by (board, filters), valid for one board generation.

    Every change that a board shows bumps the generation row (:func:`invalidate_boards`) in
    the same transaction as the change, so every process drops its copies on its next read;
    between changes a board is served from here without running its query again.
    """

    def __init__(self) -> None:
        self.generation = -1
        self.boards: dict[tuple, list[dict[str, Any]]] = {}
        self.computed = 0
        self.lock = Lock()
        # The generation last read from the database, and when (time.monotonic()).
        self.seen: int | None = None
        self.seen_at = 0.0


def board_cache() -> BoardCache:
    ext = current_app.extensions
    if "lb_board_cache" not in ext:
        ext["lb_board_cache"] = BoardCache()
    return ext["lb_board_cache"]


def current_generation() -> int:
    """The board generation: read once per request, and from the database at most every
    ``LEADERBOARDS_GENERATION_TTL`` seconds (1 by default) per process. A change committed
    in this process is seen at once (see :func:`_after_commit`); one committed by another
    process (a job worker elsewhere) within that many seconds."""
    import time

    from flask import g, has_request_context

    if has_request_context() and "lb_generation" in g:
        return g.lb_generation
    cache = board_cache()
    now = time.monotonic()
    ttl = float(setting("LEADERBOARDS_GENERATION_TTL", 1.0))
    with cache.lock:
        known = cache.seen if cache.seen is not None and now - cache.seen_at < ttl else None
    if known is None:
        known = db.session().scalar(select(BoardGeneration.generation).where(
            BoardGeneration.id == 1)) or 0
        with cache.lock:
            cache.seen, cache.seen_at = known, now
    if has_request_context() and request_is_read():
        g.lb_generation = known
    return known


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    """A committed board change makes this process read the generation again at once."""
    if session.info.pop("lb_boards_changed", False) and has_app_context():
        cache = board_cache()
        with cache.lock:
            cache.seen = None


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop("lb_boards_changed", None)


def request_is_read() -> bool:
    from flask import request

    return request.method in ("GET", "HEAD")


def invalidate_boards() -> None:
    """Mark every cached board stale (joins the caller's transaction)."""
    session = db.session()
    session.info["lb_boards_changed"] = True
    bumped = session.execute(update(BoardGeneration).where(BoardGeneration.id == 1).values(
        generation=BoardGeneration.generation + 1)).rowcount
    if not bumped:
        try:
            with session.begin_nested():  # the very first change: create the counter row
                session.add(BoardGeneration(id=1, generation=1))
        except IntegrityError:  # another transaction created it meanwhile: bump that one
            session.execute(update(BoardGeneration).where(BoardGeneration.id == 1).values(
                generation=BoardGeneration.generation + 1))


def board(bench_id: str, filters: BoardFilters) -> list[dict[str, Any]]:
    """The rows of one board, best first (or as ``filters.sort`` says), from the cache."""
    key = (bench_id, filters)
    rows, generation = _cache_get(key)
    if rows is not None:
        return rows
    rows = compute_board(bench_id, filters)
    cache = board_cache()
    with cache.lock:
        cache.computed += 1
    _cache_put(key, rows, generation)
    return rows


def _cache_get(key: tuple) -> tuple[Any, int]:
    """(what the board cache holds under ``key`` or None, the generation it was read for);
    entries of an older generation are dropped first."""
    cache = board_cache()
    generation = current_generation()
    with cache.lock:
        if cache.generation != generation:
            cache.boards.clear()
            cache.generation = generation
        return cache.boards.get(key), generation


def _cache_put(key: tuple, value: Any, generation: int) -> None:
    """Keep ``value`` under ``key`` if the cache is still at ``generation`` (what was worked
    out from older data is not kept); the oldest entry goes beyond the size bound."""
    cache = board_cache()
    with cache.lock:
        if cache.generation == generation:
            cache.boards[key] = value
            if len(cache.boards) > int(setting("LEADERBOARDS_CACHE_SIZE", 2000)):
                cache.boards.pop(next(iter(cache.boards)))


def cached_fragment(key: tuple) -> Any:
    """A rendered piece of a board page (or a value worked out from the boards) cached for
    the current board generation."""
    return _cache_get(key)[0]


def store_fragment(key: tuple, html: Any) -> None:
    _cache_put(key, html, current_generation())


def compute_board(bench_id: str, filters: BoardFilters) -> list[dict[str, Any]]:
    """Run a board's query (what :func:`board` caches)."""
    statuses = ("verified",) if filters.verified_only else ("verified", "needs_review")
    stmt = (select(BenchmarkResult.value, BenchmarkResult.unit, BenchmarkResult.higher_is_better,
                   BenchmarkResult.secondary, Submission.public_id, Submission.status,
                   Submission.backend_name, Submission.backend_version, Submission.mode,
                   Submission.created_at, Submission.verified_at, HardwareSystem.id,
                   HardwareSystem.system_name, HardwareSystem.submitter, HardwareSystem.status,
                   HardwareSystem.accelerator_model_name, HardwareSystem.accelerators_per_node,
                   HardwareSystem.host_processor_model_name,
                   HardwareSystem.host_processors_per_node, HardwareSystem.framework,
                   HardwareSystem.other_software_stack)
            .join(Submission, Submission.id == BenchmarkResult.submission_id)
            .join(HardwareSystem, HardwareSystem.id == Submission.system_id)
            .where(BenchmarkResult.benchmark == bench_id, BenchmarkResult.visible.is_(True),
                   Submission.status.in_(statuses)))
    if filters.status:
        stmt = stmt.where(HardwareSystem.status == filters.status)
    if filters.accelerator:
        stmt = stmt.where(func.lower(HardwareSystem.accelerator_model_name).contains(
            filters.accelerator.lower(), autoescape=True)
            | func.lower(HardwareSystem.host_processor_model_name).contains(
                filters.accelerator.lower(), autoescape=True))
    if filters.submitter:
        stmt = stmt.where(func.lower(HardwareSystem.submitter).contains(
            filters.submitter.lower(), autoescape=True))
    if filters.backend:
        stmt = stmt.where(func.lower(Submission.backend_name) == filters.backend.lower())
    rows = []
    for r in db.session().execute(stmt):
        accel = (f"{r.accelerator_model_name} × {r.accelerators_per_node}"
                 if r.accelerators_per_node else r.accelerator_model_name or "")
        rows.append({
            "id": r.public_id, "status": r.status, "verified": r.status == "verified",
            "system_id": r[11], "system": r.system_name, "submitter": r.submitter,
            "availability": r[14], "accelerator": accel,
            "accelerator_model_name": r.accelerator_model_name,
            "accelerators_per_node": r.accelerators_per_node,
            "host_cpu": f"{r.host_processor_model_name} × {r.host_processors_per_node}",
            "software": f"{r.framework}; backend {r.backend_name} {r.backend_version}".strip(),
            "backend": r.backend_name, "mode": r.mode, "value": r.value, "unit": r.unit,
            "higher_is_better": r.higher_is_better, "secondary": r.secondary or {},
            "date": (r.verified_at or r.created_at).date().isoformat(),
        })
    higher = rows[0]["higher_is_better"] if rows else True
    best_first = sorted(rows, key=lambda x: (-x["value"] if higher else x["value"], x["id"]))
    rank = 0
    for row in best_first:
        if row["verified"]:
            rank += 1
            row["rank"] = rank
        else:
            row["rank"] = None
    if filters.sort == "result":
        out = best_first if filters.order != ("asc" if higher else "desc") else best_first[::-1]
    else:
        key = {"date": "date", "submitter": "submitter", "system": "system",
               "accelerator": "accelerator"}[filters.sort]
        reverse = (filters.order or ("desc" if filters.sort == "date" else "asc")) == "desc"
        out = sorted(rows, key=lambda x: (str(x[key]).lower(), x["id"]), reverse=reverse)
    return out


EXPORT_COLUMNS = ("rank", "id", "submitter", "system", "availability", "accelerator",
                  "host_cpu", "software", "backend", "mode", "value", "unit", "status", "date")


def board_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        cells = ["" if row.get(c) is None else row.get(c) for c in EXPORT_COLUMNS]
        # Spreadsheets run cells starting with these as formulas: quote them as text.
        writer.writerow(["'" + c if isinstance(c, str) and c[:1] in "=+-@\t\r" else c
                         for c in cells])
    return buf.getvalue()


def board_summary() -> list[dict[str, Any]]:
    """Every board with its scenario and how many verified results it has."""
    counts = dict(db.session().execute(
        select(BenchmarkResult.benchmark, func.count())
        .join(Submission, Submission.id == BenchmarkResult.submission_id)
        .where(Submission.status == "verified").group_by(BenchmarkResult.benchmark)).all())
    return [{"id": bench_id, "scenario": scenario, "results": counts.get(bench_id, 0)}
            for bench_id, scenario in board_ids()]


def compare(submissions: list[Submission]) -> list[dict[str, Any]]:
    """Per benchmark, each submission's value and its ratio to the first one (above 1 means
    better than the first, for throughput and latency alike)."""
    benches: dict[str, dict[str, Any]] = {}
    for index, sub in enumerate(submissions):
        for r in sub.results:
            entry = benches.setdefault(r.benchmark, {
                "benchmark": r.benchmark, "scenario": r.scenario, "unit": r.unit,
                "higher_is_better": r.higher_is_better, "values": [None] * len(submissions)})
            entry["values"][index] = r.value
    out = []
    for bench_id, _scenario in board_ids():
        entry = benches.get(bench_id)
        if entry is None:
            continue
        base = entry["values"][0]
        entry["ratios"] = [
            None if v is None or not base else
            (v / base if entry["higher_is_better"] else base / v)
            for v in entry["values"]]
        out.append(entry)
    return out


def system_history(system: HardwareSystem, viewer: Any) -> list[Submission]:
    stmt = select(Submission).where(Submission.system_id == system.id).order_by(
        Submission.created_at.desc(), Submission.id.desc())
    subs = list(db.session().scalars(stmt))
    return [s for s in subs if can_see(viewer, s)]
