"""Real result bundles for the leaderboard tests: the suite's quick mode runs once per test
session (a few benchmarks, one per scenario), and tests craft variants by editing copies."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

#: The registered system every test bundle describes.
SYSTEM = {
    "system_name": "Testbox 1",
    "submitter": "Example Chips",
    "status": "preview",
    "accelerator_model_name": "Example X1",
    "accelerators_per_node": 2,
    "accelerator_memory_capacity": "16 GB",
    "host_processor_model_name": "Example Host CPU",
    "host_processors_per_node": 1,
    "host_memory_capacity": "64 GB",
    "framework": "Skiff",
    "other_software_stack": "",
    "operating_system": "Linux",
    "notes": "",
}
#: One benchmark per scenario keeps the session's suite run to a few seconds.
BENCHMARKS = ["gemm-128", "train-mlp", "infer-latency-mlp", "infer-throughput-mlp"]


@pytest.fixture(scope="session")
def bundle_dir(tmp_path_factory) -> Path:
    """A real bundle (reference backend, quick mode) describing :data:`SYSTEM`."""
    import yaml

    import framework.bench as bench

    root = tmp_path_factory.mktemp("bundles")
    system_yaml = root / "system.yaml"
    system_yaml.write_text(yaml.safe_dump(SYSTEM), encoding="utf-8")
    out = root / "numpy"
    bench.run("numpy", str(out), quick=True, system_yaml=str(system_yaml), only=BENCHMARKS)
    return out


def files_of(bundle: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in bundle.iterdir()}


def archive(files: dict[str, bytes], dest: Path) -> Path:
    """Pack raw bundle files into a .tar.gz, as the suite's --archive does."""
    with tarfile.open(dest, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return dest


def rehash(files: dict[str, bytes]) -> dict[str, bytes]:
    """Rewrite the manifest so edited files are consistent again (a consistent-but-wrong
    bundle, which only the hub's checks can catch)."""
    manifest = json.loads(files["manifest.json"])
    for name in ("system.json", "results.json", "log.jsonl"):
        manifest["files"][name] = {"sha256": hashlib.sha256(files[name]).hexdigest(),
                                   "bytes": len(files[name])}
    files["manifest.json"] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    return files


@pytest.fixture
def make_bundle(bundle_dir, tmp_path):
    """``make_bundle(edit=None, rehash_manifest=True)``: a .tar.gz of a copy of the session
    bundle; ``edit(system, results, log)`` changes the parsed documents in place."""
    counter = iter(range(10_000))

    def make(edit=None, rehash_manifest: bool = True) -> Path:
        files = files_of(bundle_dir)
        if edit is not None:
            system = json.loads(files["system.json"])
            results = json.loads(files["results.json"])
            log = [json.loads(line) for line in files["log.jsonl"].splitlines()]
            edit(system, results, log)
            files["system.json"] = (json.dumps(system, indent=2, sort_keys=True) + "\n").encode()
            files["results.json"] = (json.dumps(results, indent=2, sort_keys=True)
                                     + "\n").encode()
            files["log.jsonl"] = b"".join(json.dumps(e, sort_keys=True).encode() + b"\n"
                                          for e in log)
            if rehash_manifest:
                rehash(files)
        return archive(files, tmp_path / f"bundle-{next(counter)}.tar.gz")

    return make


@pytest.fixture
def vendor(app, make_user):
    """A partner in the vendor organization 'example-chips' with the registered system."""
    from hub import db
    from hub.accounts.models import Membership, Organization
    from hub.leaderboards import services

    partner = make_user(role="partner", username="vendorpartner")
    with app.app_context():
        session = db.session()
        org = Organization(slug="example-chips", name="Example Chips", is_vendor=True,
                           owner_id=partner.id)
        session.add(org)
        session.flush()
        session.add(Membership(user_id=partner.id, organization_id=org.id, role="owner"))
        system = services.register_system(partner, org, dict(SYSTEM, peak_gflops=None))
        session.commit()
        ids = {"org_id": org.id, "system_id": system.id}
    return type("Vendor", (), {"user": partner, **ids})


@pytest.fixture
def app_config(request):
    """Checks run inside the request (huey's immediate mode); tests add their own settings
    with ``@pytest.mark.parametrize("app_config", [{...}], indirect=True)``."""
    return {"JOBS_IMMEDIATE": True, **getattr(request, "param", {})}


def submit_file(app, user, system_id: int, path: Path):
    """Submit a bundle archive through the service a vendor's upload uses."""
    from hub import db
    from hub.accounts.models import User
    from hub.leaderboards import services
    from hub.leaderboards.models import HardwareSystem

    with app.app_context():
        session = db.session()
        person = session.get(User, user.id)
        system = session.get(HardwareSystem, system_id)
        with open(path, "rb") as fh:
            sub = services.submit(person, system, fh)
        return sub.public_id


def copy_dir(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    return dest
