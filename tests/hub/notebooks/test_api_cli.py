"""The notebook API and ``skiff notebook push/pull`` against a live hub."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from hub import db as hub_db
from hub.api import tokens
from hub.client import SkiffClient, SkiffError
from hub.notebooks.models import Notebook, NotebookVersion
from tests.hub.notebooks.conftest import make_notebook

LESSON = make_notebook("# md\n# Broadcasting\nShapes $(3, 1)$ and $(1, 4)$.", "x = 1")


def skiff(*args, config_dir, token, endpoint, cwd=None):
    env = {**os.environ, "SKIFF_CONFIG_DIR": str(config_dir), "SKIFF_TOKEN": token,
           "SKIFF_ENDPOINT": endpoint}
    return subprocess.run([sys.executable, "-m", "hub.cli", *args], capture_output=True,
                          text=True, env=env, timeout=120, cwd=cwd)


def new_token(app, make_user, username, scopes=("read", "write")):
    with app.app_context():
        user = make_user(username=username)
        secret = tokens.create_token(user, "cli", list(scopes)).secret
        hub_db.session().commit()
        return secret


@pytest.fixture
def writer(live_server, make_user):
    return new_token(live_server.app, make_user, "grace")


@pytest.mark.parametrize("app_config", [{"JOBS_IMMEDIATE": False}], indirect=True)
def test_cli_push_and_pull_round_trip(live_server, writer, tmp_path):
    source = tmp_path / "broadcasting.ipynb"
    source.write_bytes(LESSON)
    out = skiff("notebook", "push", str(source), "--title", "Broadcasting", "--tag", "basics",
                "--tag", "tensors", config_dir=tmp_path, token=writer, endpoint=live_server.url)
    assert out.returncode == 0, out.stderr
    assert "Pushed grace/broadcasting version 1" in out.stdout

    # Pushing again adds a version; pull fetches the newest or a given one, byte for byte.
    changed = make_notebook("# md\n# Broadcasting, revised", "x = 2")
    source.write_bytes(changed)
    out = skiff("notebook", "push", str(source), config_dir=tmp_path, token=writer,
                endpoint=live_server.url)
    assert "version 2" in out.stdout, out.stderr
    out = skiff("notebook", "pull", "grace/broadcasting", "-o", str(tmp_path / "new.ipynb"),
                config_dir=tmp_path, token=writer, endpoint=live_server.url)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "new.ipynb").read_bytes() == changed
    out = skiff("notebook", "pull", "grace/broadcasting", "--version", "1", config_dir=tmp_path,
                token=writer, endpoint=live_server.url, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "broadcasting.ipynb").read_bytes() == LESSON

    out = skiff("notebook", "list", config_dir=tmp_path, token=writer, endpoint=live_server.url)
    assert "grace/broadcasting\tBroadcasting" in out.stdout

    # An invalid file: a clear error, exit status 1, nothing stored.
    bad = tmp_path / "bad.ipynb"
    bad.write_text('{"cells": [')
    out = skiff("notebook", "push", str(bad), config_dir=tmp_path, token=writer,
                endpoint=live_server.url)
    assert out.returncode == 1
    assert "not valid JSON" in out.stderr
    with live_server.app.app_context():
        assert hub_db.session().scalar(select(func.count()).select_from(Notebook)) == 1


def test_api_upload_show_download_and_delete(live_server, writer, make_user):
    client = SkiffClient(live_server.url, token=writer)
    response = client.request("POST", "notebooks", params={"title": "Autograd", "tags": "grad",
                                                           "public": "false"}, data=LESSON)
    body = response.json()
    assert response.status_code == 201
    assert body["owner"] == "grace" and body["slug"] == "autograd" and body["public"] is False
    assert body["versions"][0]["sha256"] and body["versions"][0]["render_state"] == "done"

    shown = client.get("notebooks/grace/autograd")
    assert shown["tags"] == ["grad"] and len(shown["versions"]) == 1
    raw = client.request("GET", "notebooks/grace/autograd/download")
    assert raw.content == LESSON
    assert raw.headers["Content-Disposition"].startswith("attachment")
    assert raw.headers["X-Content-Type-Options"] == "nosniff"
    etag = raw.headers["ETag"]
    cached = client.session.get(client.url("notebooks/grace/autograd/download"),
                                headers={"Authorization": f"Bearer {writer}",
                                         "If-None-Match": etag})
    assert cached.status_code == 304

    # Private: others (another token, or no token) get 404 everywhere.
    stranger = SkiffClient(live_server.url, token=new_token(live_server.app, make_user, "eve"))
    anonymous = SkiffClient(live_server.url, token=None)
    anonymous.token = None
    for other in (stranger, anonymous):
        for path in ("notebooks/grace/autograd", "notebooks/grace/autograd/download",
                     "notebooks/grace/autograd/runs/latest"):
            with pytest.raises(SkiffError) as caught:
                other.get(path)
            assert caught.value.status == 404, path
        assert all(item["slug"] != "autograd" for item in other.iter_pages("notebooks"))
    with pytest.raises(SkiffError) as caught:
        stranger.delete("notebooks/grace/autograd")
    assert caught.value.status == 404
    with pytest.raises(SkiffError) as caught:
        stranger.post("notebooks/grace/autograd/runs")
    assert caught.value.status == 404

    assert client.delete("notebooks/grace/autograd") == {"deleted": "grace/autograd"}
    with live_server.app.app_context():
        assert hub_db.session().scalar(select(func.count()).select_from(NotebookVersion)) == 0


def test_api_upload_needs_write_scope_and_valid_bodies(live_server, make_user):
    reader = SkiffClient(live_server.url,
                         token=new_token(live_server.app, make_user, "reader", ("read",)))
    with pytest.raises(SkiffError) as caught:
        reader.request("POST", "notebooks", data=LESSON)
    assert caught.value.status == 403
    writer = SkiffClient(live_server.url, token=new_token(live_server.app, make_user, "writer"))
    for data, code in ((b"", "empty_body"), (b"not json", "invalid_json"),
                       (json.dumps({"cells": 3}).encode(), "invalid_notebook")):
        with pytest.raises(SkiffError) as caught:
            writer.request("POST", "notebooks", data=data)
        assert caught.value.status == 400 and caught.value.code == code
    anonymous = SkiffClient(live_server.url, token=None)
    anonymous.token = None
    with pytest.raises(SkiffError) as caught:
        anonymous.request("POST", "notebooks", data=LESSON)
    assert caught.value.status == 401
    with live_server.app.app_context():
        assert hub_db.session().scalar(select(func.count()).select_from(Notebook)) == 0


@pytest.mark.parametrize("app_config", [{"JOBS_IMMEDIATE": True, "NOTEBOOK_MAX_BYTES": 4096}],
                         indirect=True)
def test_api_upload_size_limit(live_server, writer, tmp_path):
    big = tmp_path / "big.ipynb"
    big.write_bytes(make_notebook("x = '" + "a" * 10_000 + "'"))
    client = SkiffClient(live_server.url, token=writer)
    with pytest.raises(SkiffError) as caught:
        client.upload("notebooks", big)
    assert caught.value.status == 413
    with live_server.app.app_context():
        assert hub_db.session().scalar(select(func.count()).select_from(Notebook)) == 0


def test_api_run_and_latest_run(live_server, writer):
    client = SkiffClient(live_server.url, token=writer)
    client.request("POST", "notebooks", params={"title": "Runs"},
                   data=make_notebook("import framework", "print(framework.__version__)"))
    run = client.post("notebooks/grace/runs/runs")
    assert run["status"] == "passed", run
    latest = client.get("notebooks/grace/runs/runs/latest")
    assert latest["id"] == run["id"] and latest["result_version"] == 2
    assert latest["framework_version"]
