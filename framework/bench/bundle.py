"""Result bundles: write them, archive them, and verify them (the hub reuses the verifier).

A bundle is a directory holding exactly these files (or a ``.tar.gz`` of that directory):

- ``system.json``   MLPerf system fields plus ``detected`` facts (schema ``$defs/system``)
- ``results.json``  suite version, backend, seeds, protocol, one entry per benchmark with its
  metric, timing statistics and correctness evidence (``$defs/results``)
- ``log.jsonl``     one line per timed iteration, warm-up included (``$defs/log_entry``)
- ``manifest.json`` format version, suite version and the SHA-256 and size of each other
  file (``$defs/manifest``)

The JSON Schema is ``framework/bench/schema/bundle-v1.json`` (:data:`SCHEMA_PATH`).

>>> from framework.bench import verify_bundle
>>> bundle = verify_bundle("out/numpy")            # doctest: +SKIP
>>> bundle.results["benchmarks"][0]["metric"]      # doctest: +SKIP
{'name': 'throughput', 'value': 61.2, 'unit': 'GFLOP/s', 'higher_is_better': True}
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, BinaryIO

FORMAT = "skiff-bench-bundle"
FORMAT_VERSION = 1
SCHEMA_PATH = Path(__file__).with_name("schema") / "bundle-v1.json"
DATA_FILES = ("system.json", "results.json", "log.jsonl")
FILES = (*DATA_FILES, "manifest.json")
MAX_FILE_BYTES = 32 * 2**20
MAX_BUNDLE_BYTES = 64 * 2**20


class BundleError(ValueError):
    """The bundle is malformed, oversized, tampered with or inconsistent; the message says
    which file and what."""


@dataclass
class Bundle:
    """A verified bundle's parsed contents."""

    system: dict[str, Any]
    results: dict[str, Any]
    log: list[dict[str, Any]]
    manifest: dict[str, Any]
    raw: dict[str, bytes]

    @property
    def suite_version(self) -> str:
        return self.results["suite_version"]

    @property
    def backend(self) -> str:
        return self.results["backend"]["name"]

    def benchmark(self, bench_id: str) -> dict[str, Any]:
        for b in self.results["benchmarks"]:
            if b["id"] == bench_id:
                return b
        raise KeyError(bench_id)


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The bundle JSON Schema (format version 1)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@cache
def _validator(definition: str):
    try:
        import jsonschema
    except ImportError as err:  # pragma: no cover - the bench extra brings jsonschema
        raise BundleError("validating bundles needs jsonschema (pip install 'skiff[bench]')"
                          ) from err
    root = schema()
    sub = {"$schema": root["$schema"], "$defs": root["$defs"],
           "$ref": f"#/$defs/{definition}"}
    return jsonschema.Draft202012Validator(sub)


def validate_document(doc: Any, definition: str, where: str) -> None:
    """Validate one parsed document against ``$defs/<definition>``; raise BundleError."""
    validator = _validator(definition)  # imports jsonschema lazily, with a clear error
    from jsonschema.exceptions import best_match

    err = best_match(validator.iter_errors(doc))
    if err is not None:
        loc = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        raise BundleError(f"{where}: {loc}: {err.message}")


def _dumps(doc: Any) -> bytes:
    return (json.dumps(doc, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_output_dir(out_dir: str | os.PathLike) -> None:
    """Refuse an output path that is a file or a non-empty directory other than an earlier
    bundle (which is replaced); called before a run so no time is wasted."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise BundleError(f"{out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()):
        extra = sorted(p.name for p in out.iterdir() if p.name not in FILES)
        if extra or not (out / "manifest.json").exists():
            raise BundleError(f"{out} exists and is not a bundle directory; choose an empty "
                              "or new directory")


def write_bundle(out_dir: str | os.PathLike, system: dict[str, Any], results: dict[str, Any],
                 log: list[dict[str, Any]], archive: bool = False) -> Path:
    """Write a bundle directory (validated before anything is written); optionally also
    ``<out_dir>.tar.gz``. Returns the directory path.

    Files are written to a temporary directory next to ``out_dir`` and moved into place, so
    a failure leaves no half-written bundle.
    """
    out = Path(out_dir)
    raw = {
        "system.json": _dumps(system),
        "results.json": _dumps(results),
        "log.jsonl": b"".join(json.dumps(e, sort_keys=True, allow_nan=False).encode() + b"\n"
                              for e in log),
    }
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "suite_version": results["suite_version"],
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "files": {name: {"sha256": _sha256(data), "bytes": len(data)}
                  for name, data in raw.items()},
    }
    raw["manifest.json"] = _dumps(manifest)
    check_bundle_bytes(raw)  # the suite validates its own output
    check_output_dir(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".bundle-", dir=out.parent))
    try:
        for name, data in raw.items():
            (tmp / name).write_bytes(data)
        if out.exists():
            for name in FILES:
                (out / name).unlink(missing_ok=True)
            out.rmdir()
        tmp.rename(out)
    except BaseException:
        for p in tmp.glob("*"):
            p.unlink()
        tmp.rmdir()
        raise
    if archive:
        write_archive(out, out.with_name(out.name + ".tar.gz"))
    return out


def write_archive(bundle_dir: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Pack a bundle directory into a single ``.tar.gz`` (files at the archive's root)."""
    src = Path(bundle_dir)
    dest = Path(dest)
    tmp = dest.with_name(dest.name + ".part")
    with tarfile.open(tmp, "w:gz") as tar:
        for name in FILES:
            data = (src / name).read_bytes()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = int(datetime.now(UTC).timestamp())
            tar.addfile(info, io.BytesIO(data))
    tmp.replace(dest)
    return dest


def read_bundle_bytes(path: str | os.PathLike) -> dict[str, bytes]:
    """The raw files of a bundle directory or ``.tar.gz``, size-limited; nothing else in it
    is allowed."""
    p = Path(path)
    raw: dict[str, bytes] = {}
    if p.is_dir():
        for child in p.iterdir():
            if child.name not in FILES or not child.is_file() or child.is_symlink():
                raise BundleError(f"unexpected entry {child.name!r} in the bundle; a bundle "
                                  f"holds only {', '.join(FILES)}")
            if child.stat().st_size > MAX_FILE_BYTES:
                raise BundleError(f"{child.name} is larger than {MAX_FILE_BYTES} bytes")
            raw[child.name] = child.read_bytes()
    elif p.is_file():
        with open(p, "rb") as f:
            raw = _read_tar(f, p.name)
    else:
        raise BundleError(f"no bundle at {p}")
    missing = [n for n in FILES if n not in raw]
    if missing:
        raise BundleError(f"the bundle lacks {', '.join(missing)}")
    return raw


def _read_tar(fileobj: BinaryIO, label: str) -> dict[str, bytes]:
    raw: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=fileobj, mode="r:gz") as tar:
            total = 0
            for count, member in enumerate(tar):
                if count >= 16:
                    raise BundleError("the archive holds too many entries for a bundle")
                parts = [s for s in member.name.split("/") if s not in ("", ".")]
                if member.isdir() and len(parts) <= 1:
                    continue  # the bundle's own folder
                if len(parts) == 2:
                    parts = parts[1:]  # files inside one top-level folder are fine
                name = parts[0] if len(parts) == 1 else ""
                if name not in FILES or not member.isfile():
                    raise BundleError(f"unexpected entry {member.name!r} in the archive")
                if name in raw:
                    raise BundleError(f"{name} appears twice in the archive")
                total += member.size
                if member.size > MAX_FILE_BYTES or total > MAX_BUNDLE_BYTES:
                    raise BundleError(f"the archive is larger than {MAX_BUNDLE_BYTES} bytes "
                                      "unpacked")
                f = tar.extractfile(member)
                raw[name] = f.read() if f else b""
    except (tarfile.TarError, EOFError, OSError, zlib.error) as err:
        raise BundleError(f"{label} is not a readable .tar.gz bundle: {err}") from None
    return raw


def verify_archive(data: bytes | BinaryIO, label: str = "the upload") -> Bundle:
    """Verify a ``.tar.gz`` bundle held in memory or an open binary file (an upload), without
    writing anything to disk; same checks as :func:`verify_bundle`."""
    fileobj = io.BytesIO(data) if isinstance(data, (bytes, bytearray)) else data
    raw = _read_tar(fileobj, label)
    missing = [n for n in FILES if n not in raw]
    if missing:
        raise BundleError(f"the bundle lacks {', '.join(missing)}")
    return check_bundle_bytes(raw)


def _parse_json(data: bytes, name: str) -> Any:
    def reject(c: str) -> Any:
        raise BundleError(f"{name}: {c} is not valid JSON")

    try:
        return json.loads(data.decode("utf-8"), parse_constant=reject)
    except UnicodeDecodeError:
        raise BundleError(f"{name} is not UTF-8 text") from None
    except json.JSONDecodeError as err:
        raise BundleError(f"{name} is not valid JSON: {err}") from None


def check_bundle_bytes(raw: dict[str, bytes]) -> Bundle:
    """Verify raw bundle files: schema, manifest hashes and sizes, internal consistency."""
    manifest = _parse_json(raw["manifest.json"], "manifest.json")
    validate_document(manifest, "manifest", "manifest.json")
    for name in DATA_FILES:
        entry = manifest["files"][name]
        data = raw[name]
        if len(data) != entry["bytes"] or _sha256(data) != entry["sha256"]:
            raise BundleError(f"{name} does not match its SHA-256 in manifest.json (the file "
                              "was changed after the run)")
    system = _parse_json(raw["system.json"], "system.json")
    validate_document(system, "system", "system.json")
    results = _parse_json(raw["results.json"], "results.json")
    validate_document(results, "results", "results.json")
    log = []
    for i, line in enumerate(raw["log.jsonl"].splitlines(), 1):
        if not line.strip():
            continue
        entry = _parse_json(line, f"log.jsonl line {i}")
        validate_document(entry, "log_entry", f"log.jsonl line {i}")
        log.append(entry)
    _check_consistency(manifest, system, results, log)
    return Bundle(system, results, log, manifest, raw)


def _check_consistency(manifest, system, results, log) -> None:
    if manifest["suite_version"] != results["suite_version"]:
        raise BundleError(f"manifest.json says suite {manifest['suite_version']}, "
                          f"results.json says {results['suite_version']}")
    if system["detected"]["backend"]["name"] != results["backend"]["name"]:
        raise BundleError("system.json and results.json name different backends")
    ids = [b["id"] for b in results["benchmarks"]]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise BundleError(f"results.json: benchmark {dupes[0]!r} appears twice")
    measured: dict[str, int] = {}
    for e in log:
        if e["benchmark"] not in ids:
            raise BundleError(f"log.jsonl names benchmark {e['benchmark']!r}, which is not "
                              "in results.json")
        if e["phase"] == "measure":
            measured[e["benchmark"]] = measured.get(e["benchmark"], 0) + 1
    for b in results["benchmarks"]:
        if measured.get(b["id"], 0) != b["stats"]["iterations"]:
            raise BundleError(f"results.json: {b['id']} claims {b['stats']['iterations']} "
                              f"iterations, log.jsonl has {measured.get(b['id'], 0)}")


def verify_bundle(path: str | os.PathLike) -> Bundle:
    """Read and verify a bundle directory or ``.tar.gz``; raises :class:`BundleError`.

    Checks: only the four files, size limits, valid JSON without NaN/inf, each document
    against the versioned JSON Schema, each data file against its SHA-256 and size in the
    manifest, and consistency (same suite version and backend throughout, unique benchmark
    ids, the log holding exactly the timed iterations each benchmark claims).
    """
    return check_bundle_bytes(read_bundle_bytes(path))


def protocol_problems(results: dict[str, Any]) -> list[str]:
    """Where a results document departs from the suite's protocol (for the hub): a declared
    protocol other than the suite's for its mode, or a measurement short of its minimum
    iterations or duration. An empty list means every measurement followed the protocol."""
    from .suite import FULL, QUICK

    problems = []
    official = (QUICK if results.get("mode") == "quick" else FULL).to_dict()
    if results.get("protocol") != official:
        problems.append(f"the declared protocol {results.get('protocol')} is not the suite's "
                        f"{results.get('mode')} protocol {official}")
    for b in results["benchmarks"]:
        s = b["stats"]
        for key in ("warmup_iterations", "min_iterations", "min_duration_s"):
            if s[key] != official[key]:
                problems.append(f"{b['id']}: {key} {s[key]} is not the suite's {official[key]}")
        if s["iterations"] < s["min_iterations"]:
            problems.append(f"{b['id']}: {s['iterations']} iterations < minimum "
                            f"{s['min_iterations']}")
        if s["duration_s"] < s["min_duration_s"]:
            problems.append(f"{b['id']}: ran {s['duration_s']:.3f} s < minimum "
                            f"{s['min_duration_s']} s")
    return problems
