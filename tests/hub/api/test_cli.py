"""The ``skiff`` command against a live hub: login stores the token 0600, whoami, logout."""

import json
import os
import stat
import subprocess
import sys

import pytest

from hub import db as hub_db
from hub.api import tokens
from hub.client import SkiffClient, SkiffError


def skiff(*args, config_dir, endpoint=None, input=None):
    env = {**os.environ, "SKIFF_CONFIG_DIR": str(config_dir)}
    env.pop("SKIFF_TOKEN", None)
    if endpoint:
        env["SKIFF_ENDPOINT"] = endpoint
    return subprocess.run([sys.executable, "-m", "hub.cli", *args], capture_output=True,
                          text=True, env=env, input=input, timeout=60)


@pytest.fixture
def secret(live_server, make_user):
    with live_server.app.app_context():
        user = make_user(username="grace")
        new = tokens.create_token(user, "cli", ["read", "write"])
        hub_db.session().commit()
        return new.secret


def test_login_whoami_logout_round_trip(live_server, secret, tmp_path):
    url = live_server.url
    out = skiff("--endpoint", url, "login", input=secret + "\n", config_dir=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "grace" in out.stdout
    cfg = tmp_path / "config.json"
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o600
    assert json.loads(cfg.read_text())["tokens"][url] == secret

    who = skiff("whoami", config_dir=tmp_path)  # the endpoint was remembered
    assert who.returncode == 0 and "grace" in who.stdout

    assert skiff("logout", config_dir=tmp_path).returncode == 0
    who = skiff("whoami", config_dir=tmp_path)
    assert who.returncode != 0 and "not logged in" in who.stderr


def test_login_with_a_bad_token_fails_and_saves_nothing(live_server, tmp_path):
    out = skiff("login", "--token", "skf_wrong", config_dir=tmp_path, endpoint=live_server.url)
    assert out.returncode != 0
    assert "login failed" in out.stderr
    assert not (tmp_path / "config.json").exists()


def test_unreachable_endpoint_is_a_clear_error(tmp_path):
    out = skiff("--endpoint", "http://127.0.0.1:9", "login", "--token", "skf_x",
                config_dir=tmp_path)
    assert out.returncode != 0 and "cannot reach the hub" in out.stderr


def test_feature_commands_work_under_python_m(tmp_path):
    # Feature groups (here `model`) take the group's context like the core commands do.
    out = skiff("--endpoint", "http://127.0.0.1:9", "model", "pull", "someone/model",
                str(tmp_path / "out"), config_dir=tmp_path)
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr and "cannot reach the hub" in out.stderr


def test_client_download_is_atomic_and_pages_iterate(live_server, secret, tmp_path):
    tmp_path = tmp_path / "downloads"
    client = SkiffClient(live_server.url, token=secret)
    for i in range(3):
        client.post("tokens", {"name": f"t{i}"})
    names = [t["name"] for t in client.iter_pages("tokens", per_page=2)]
    assert sorted(names) == ["cli", "t0", "t1", "t2"]
    dest = tmp_path / "spec.json"
    client.download("openapi.json", dest)
    assert json.loads(dest.read_text())["openapi"].startswith("3.")
    with pytest.raises(SkiffError) as err:
        client.download("no/such/thing", tmp_path / "missing.bin")
    assert err.value.status == 404
    assert list(tmp_path.iterdir()) == [dest]
