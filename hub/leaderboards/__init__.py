"""Hardware leaderboards: vendors register systems and submit benchmark-suite bundles; the
hub checks every submission automatically (suite version, seeds, protocol, correctness
against the reference backend, plausibility, system description), ranks verified results on
one board per benchmark, and sends doubtful ones to reviewers.

Services in :mod:`hub.leaderboards.services`, pages in :mod:`hub.leaderboards.views`, the
JSON API in :mod:`hub.leaderboards.api`, jobs in :mod:`hub.leaderboards.tasks`, the
``skiff bench`` commands in :mod:`hub.leaderboards.cli`, the ``make run`` seed in
:func:`seed`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from flask import Flask
from flask_babel import lazy_gettext as _l

#: The seed vendor and its system (what a newcomer sees on a fresh site).
SEED_ORG = "skiff-lab"
SEED_USER = "skiff-lab-bot"
SEED_BACKENDS = ("numpy", "numexpr")


def _profile_items(user, viewer):
    from flask import url_for
    from sqlalchemy import select

    from hub import db
    from hub.accounts.profile import ProfileItem
    from hub.leaderboards.models import Submission
    from hub.leaderboards.services import can_see

    subs = db.session().scalars(select(Submission).where(
        Submission.submitted_by_id == user.id).order_by(Submission.id.desc()).limit(50))
    return [ProfileItem(f"{s.public_id} · {s.system.system_name}",
                        url_for("leaderboards.result", public_id=s.public_id),
                        f"{s.backend_name} · {s.status}")
            for s in subs if can_see(viewer, s)]


def init_app(app: Flask) -> None:
    """Register the pages, the API endpoints, systems in the site search, the profile
    section and the results' "Used in" links on model pages."""
    from hub import search
    from hub.accounts.profile import register_section
    from hub.leaderboards import api  # noqa: F401 - registers the /api/v1 endpoints
    from hub.leaderboards.views import bp
    from hub.site import register_account_link

    app.register_blueprint(bp)
    search.register_kind("system", _l("Hardware systems"))
    register_section("results", _l("Benchmark results"), _profile_items, order=40)
    register_account_link(_l("Hardware systems"), "leaderboards.systems")
    try:
        from hub.zoo.services import register_reference_kind
    except ImportError:  # a site without the model zoo has no model pages to link from
        return
    # Links are added when a result is verified and removed when it leaves that state.
    register_reference_kind("leaderboard", _l("Leaderboard result"))


def _run_suites(backends: list[str], tmp: Path, system_yaml: Path) -> list[Path]:
    """Run the suite (quick settings) on each backend at once; returns the archives."""
    env = {k: v for k, v in os.environ.items() if k != "SKIFF_BACKEND"}
    procs = []
    for backend in backends:
        out = tmp / backend
        procs.append((backend, out, subprocess.Popen(
            [sys.executable, "-m", "framework.bench", "run", "--backend", backend, "--quick",
             "--out", str(out), "--archive", "--system-yaml", str(system_yaml)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)))
    archives = []
    for backend, out, proc in procs:
        _out, err = proc.communicate()
        if proc.returncode:
            raise RuntimeError(f"the benchmark suite failed on the {backend} backend: "
                               f"{err.strip()[-2000:]}")
        archives.append(out.with_name(out.name + ".tar.gz"))
    return archives


def seed(app: Flask, echo=print) -> None:
    """Give a fresh site real results: run the suite (quick settings) on the reference
    backend and on the in-tree numexpr plug-in, and submit both through the vendor path for
    a seed vendor's system. Does nothing once the seed system has results."""
    from sqlalchemy import select

    import framework as fw
    from hub import db
    from hub.accounts import services as accounts
    from hub.accounts.models import Membership, Organization, User
    from hub.leaderboards import services
    from hub.leaderboards.models import HardwareSystem, Submission

    session = db.session()
    org = session.scalar(select(Organization).where(Organization.slug == SEED_ORG))
    if org is not None:
        system = session.scalar(select(HardwareSystem).where(
            HardwareSystem.organization_id == org.id))
        if system is not None and session.scalar(select(Submission.id).where(
                Submission.system_id == system.id).limit(1)) is not None:
            return
    user = session.scalar(select(User).where(User.username == SEED_USER))
    if user is None:
        user = accounts.create_user(SEED_USER, f"{SEED_USER}@example.org",
                                    os.urandom(24).hex(), role="partner",
                                    display_name="Skiff Lab")
        session.flush()
    if org is None:
        org = Organization(slug=SEED_ORG, name="Skiff Lab", is_vendor=True, owner_id=user.id,
                           description="Reference results measured on this hub's own machine.")
        session.add(org)
        session.flush()
        session.add(Membership(user_id=user.id, organization_id=org.id, role="owner"))
    session.commit()
    available = [b for b in SEED_BACKENDS if b in fw.backend.available()]
    with tempfile.TemporaryDirectory(prefix="skiff-seed-") as tmp:
        system_yaml = _write_yaml(Path(tmp) / "system.yaml", seed_system_fields())
        bundles = _run_suites(available, Path(tmp), system_yaml)
        echo(f"leaderboards: ran the suite on {', '.join(available)}")
        if not bundles:
            return
        system = session.scalar(select(HardwareSystem).where(
            HardwareSystem.organization_id == org.id))
        if system is None:
            system = services.register_system(user, org, seed_system_fields())
            session.commit()
        for path in bundles:
            with open(path, "rb") as fh:
                sub = services.submit(user, system, fh, check_now=True)
            echo(f"leaderboards: submitted {sub.public_id} ({sub.backend_name}): {sub.status}")


def seed_system_fields() -> dict:
    """The seed system: this machine as the suite describes it, under the seed vendor."""
    import framework as fw
    from framework.bench.system import describe
    from hub.leaderboards.models import HardwareSystem

    described = describe(fw.backend.get("numpy"))
    fields = {k: described[k] for k in HardwareSystem.FIELDS}
    fields.update(submitter="Skiff Lab", framework=f"Skiff {fw.__version__}",
                  system_name=f"Skiff Lab CPU ({described['host_processor_model_name']})",
                  other_software_stack=f"Python {described['detected']['python']}, "
                                       f"NumPy {described['detected']['numpy']}",
                  notes="This hub's own machine, measured at setup with the suite's quick "
                        "settings (reference numpy backend and the numexpr plug-in).")
    return fields


def _write_yaml(path: Path, fields: dict) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(fields or {}, sort_keys=True), encoding="utf-8")
    return path
