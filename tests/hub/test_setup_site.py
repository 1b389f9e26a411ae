"""``python -m hub.setup_site`` prepares a fresh instance; ``make run`` serves it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, inspect

ROOT = Path(__file__).resolve().parents[2]


def test_setup_site_creates_the_instance_and_migrates(tmp_path):
    instance = tmp_path / "instance"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
    env["SKIFF_INSTANCE"] = str(instance)
    out = subprocess.run([sys.executable, "-m", "hub.setup_site"], env=env, cwd=ROOT,
                         check=True, capture_output=True, text=True).stdout
    assert "database ready" in out
    from hub import create_app, setup_site

    app = create_app({"INSTANCE_PATH": str(instance)})
    setup_site.setup(app, seed=False, echo=lambda _m: None)  # running it again is harmless
    key = instance / "secret_key"
    assert key.stat().st_mode & 0o777 == 0o600 and len(key.read_text().strip()) == 64
    engine = create_engine(f"sqlite:///{instance / 'skiff.db'}")
    assert {"users", "audit_events", "search_documents"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_seed_steps_follow_the_feature_order(monkeypatch, app):
    import hub
    from hub import setup_site

    calls = []
    # Only these features here: other features' real seed steps are theirs to test.
    monkeypatch.setattr(setup_site, "FEATURES", ("infra", "accounts", "admin", "search"))
    monkeypatch.setattr(hub.search, "seed", lambda a: calls.append(("search", a)), raising=False)
    monkeypatch.setattr(hub.accounts, "seed", lambda a: calls.append(("accounts", a)),
                        raising=False)
    names = [name for name, _ in setup_site.seed_steps()]
    assert names.index("accounts") < names.index("search")
    setup_site.setup(app, echo=lambda _m: None)
    assert [c[0] for c in calls] == ["accounts", "search"] and calls[0][1] is app
