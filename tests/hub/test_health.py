import subprocess
import sys
from pathlib import Path

from hub import create_app

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_reports_status_and_version():
    client = create_app({"TESTING": True}).test_client()
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.is_json
    body = resp.get_json()
    assert body["status"] == "ok"
    import hub

    assert body["version"] == hub.__version__


def test_app_py_help_explains_options():
    out = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "--help"], capture_output=True, text=True, check=True
    ).stdout
    for option in ("--host", "--port", "--threads"):
        assert option in out
    assert "waitress" in out


def test_favicon_is_served():
    client = create_app({"TESTING": True}).test_client()
    resp = client.get("/favicon.ico")
    assert resp.status_code == 200 and resp.mimetype == "image/svg+xml"
