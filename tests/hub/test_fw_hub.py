"""``fw.hub.load``: models published through the zoo's service, fetched over real HTTP from
a served hub, cached with SHA-256 checks, and loaded offline once cached."""

from __future__ import annotations

import shutil
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest

import framework as fw
from framework.hub import MANIFEST, HubError

ROOT = Path(__file__).resolve().parents[2]
MLP = ROOT / "contrib" / "models" / "digits_mlp"
CNN = ROOT / "contrib" / "models" / "digits_cnn"


class Server:
    """The app served over HTTP in a thread; ``stop()`` takes it off the network."""

    def __init__(self, app):
        from werkzeug.serving import make_server

        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.running = True

    def stop(self):
        if self.running:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
            self.running = False


@pytest.fixture
def hub_server(app):
    server = Server(app)
    yield server
    server.stop()


def publish(app, folder: Path, repo: str, message: str = "published", tag: str | None = None):
    from hub.zoo import services

    owner, name = repo.split("/")
    with app.test_request_context(method="POST"):
        return services.publish_model_dir(owner, name, folder, message, tag=tag).number


def downloads(app, repo: str) -> int:
    from hub.zoo import services

    with app.app_context():
        return services.find_model(*repo.split("/")).downloads


def digits_batch() -> fw.Tensor:
    return fw.data.Digits(train=False, flatten=True).data[:16]


def test_load_downloads_verifies_caches_and_returns_the_program(app, make_user, hub_server,
                                                                tmp_path):
    make_user(username="ada")
    assert publish(app, MLP, "ada/digits-mlp") == 1
    cache = tmp_path / "cache"
    model = fw.hub.load("ada/digits-mlp", endpoint=hub_server.url, cache_dir=cache)
    expected = fw.jit.load(str(MLP / "program"))(digits_batch()).numpy()
    np.testing.assert_allclose(model(digits_batch()).numpy(), expected, rtol=1e-6)
    folder = cache / "ada" / "digits-mlp" / "1"
    assert (folder / MANIFEST).is_file()
    for rel in ("README.md", "model.py", "model.safetensors", "program/graph.json",
                "program/weights.safetensors"):
        assert (folder / rel).read_bytes() == (MLP / rel).read_bytes()
    assert downloads(app, "ada/digits-mlp") == 2  # the two weight files


def test_pinned_cached_version_loads_with_the_hub_stopped(app, make_user, hub_server, tmp_path):
    make_user(username="ada")
    publish(app, MLP, "ada/digits-mlp", tag="v1.0")
    cache = tmp_path / "cache"
    fw.hub.load("ada/digits-mlp", version="v1.0", endpoint=hub_server.url, cache_dir=cache)
    hub_server.stop()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a pinned, cached version needs no hub and no warning
        by_number = fw.hub.load("ada/digits-mlp", version=1, endpoint=hub_server.url,
                                cache_dir=cache)
        by_tag = fw.hub.load("ada/digits-mlp", version="v1.0", endpoint=hub_server.url,
                             cache_dir=cache)
    np.testing.assert_array_equal(by_number(digits_batch()).numpy(),
                                  by_tag(digits_batch()).numpy())
    with pytest.raises(HubError, match="not in the cache"):
        fw.hub.load("ada/digits-mlp", version=2, endpoint=hub_server.url, cache_dir=cache)


def test_latest_falls_back_to_the_newest_cached_version_offline(app, make_user, hub_server,
                                                                tmp_path):
    make_user(username="ada")
    cache = tmp_path / "cache"
    publish(app, MLP, "ada/digits", "an MLP")
    fw.hub.load("ada/digits", endpoint=hub_server.url, cache_dir=cache)
    publish(app, CNN, "ada/digits", "a CNN")
    cnn = fw.hub.load("ada/digits", endpoint=hub_server.url, cache_dir=cache)
    assert sorted(p.name for p in (cache / "ada" / "digits").iterdir() if p.is_dir()) == \
        ["1", "2"]
    hub_server.stop()
    with pytest.warns(UserWarning, match="version 2, the newest in the cache"):
        offline = fw.hub.load("ada/digits", endpoint=hub_server.url, cache_dir=cache)
    images = fw.data.Digits(train=False).data[:8]
    np.testing.assert_array_equal(offline(images).numpy(), cnn(images).numpy())
    with pytest.raises(HubError, match="no version in the cache"):
        fw.hub.load("ada/other", endpoint=hub_server.url, cache_dir=cache)


def test_damaged_cache_is_downloaded_again_and_etags_spare_intact_files(app, make_user,
                                                                        hub_server, tmp_path):
    make_user(username="ada")
    publish(app, MLP, "ada/digits-mlp")
    cache = tmp_path / "cache"
    fw.hub.load("ada/digits-mlp", version=1, endpoint=hub_server.url, cache_dir=cache)
    assert downloads(app, "ada/digits-mlp") == 2
    folder = cache / "ada" / "digits-mlp" / "1"
    damaged = folder / "program" / "weights.safetensors"
    damaged.write_bytes(damaged.read_bytes()[:-8] + b"\0" * 8)
    model = fw.hub.load("ada/digits-mlp", version=1, endpoint=hub_server.url, cache_dir=cache)
    assert damaged.read_bytes() == (MLP / "program" / "weights.safetensors").read_bytes()
    # The intact model.safetensors was revalidated with If-None-Match (304, not counted);
    # only the damaged file came again.
    assert downloads(app, "ada/digits-mlp") == 3
    expected = fw.jit.load(str(MLP / "program"))(digits_batch()).numpy()
    np.testing.assert_allclose(model(digits_batch()).numpy(), expected, rtol=1e-6)
    # Damaged while the hub is away: refused, never loaded.
    damaged.write_bytes(b"\0" * damaged.stat().st_size)
    hub_server.stop()
    with pytest.raises(HubError, match="not in the cache"):
        fw.hub.load("ada/digits-mlp", version=1, endpoint=hub_server.url, cache_dir=cache)


def test_model_py_runs_only_with_trust_code(app, make_user, hub_server, tmp_path):
    make_user(username="ada")
    folder = tmp_path / "module-only"
    shutil.copytree(MLP, folder, ignore=shutil.ignore_patterns("program", "__pycache__"))
    publish(app, folder, "ada/mlp-code")
    cache = tmp_path / "cache"
    with pytest.raises(HubError, match="trust_code=True"):
        fw.hub.load("ada/mlp-code", endpoint=hub_server.url, cache_dir=cache)
    net = fw.hub.load("ada/mlp-code", endpoint=hub_server.url, cache_dir=cache,
                      trust_code=True)
    assert isinstance(net, fw.nn.Module) and not net.training
    expected = fw.jit.load(str(MLP / "program"))(digits_batch()).numpy()
    with fw.no_grad():
        np.testing.assert_allclose(net(digits_batch()).numpy(), expected, rtol=1e-5,
                                   atol=1e-6)


def test_unknown_models_and_bad_addresses_are_clear_errors(app, make_user, hub_server,
                                                          tmp_path, monkeypatch):
    make_user(username="ada")
    publish(app, MLP, "ada/digits-mlp")
    with pytest.raises(HubError, match="not found or not allowed"):
        fw.hub.load("ada/missing", endpoint=hub_server.url, cache_dir=tmp_path)
    with pytest.raises(HubError, match="not found or not allowed"):
        fw.hub.load("ada/digits-mlp", version=7, endpoint=hub_server.url, cache_dir=tmp_path)
    with pytest.raises(HubError, match="not a model address"):
        fw.hub.load("../etc", endpoint=hub_server.url, cache_dir=tmp_path)
    with pytest.raises(HubError, match="not a version"):
        fw.hub.load("ada/digits-mlp", version="../1", endpoint=hub_server.url,
                    cache_dir=tmp_path)
    # SKIFF_CACHE and SKIFF_ENDPOINT are the defaults.
    monkeypatch.setenv("SKIFF_CACHE", str(tmp_path / "env"))
    monkeypatch.setenv("SKIFF_ENDPOINT", hub_server.url)
    fw.hub.load("ada/digits-mlp")
    assert (tmp_path / "env" / "models" / "ada" / "digits-mlp" / "1" / MANIFEST).is_file()
    assert not list((tmp_path / "env" / "models" / "ada" / "digits-mlp").glob(".*-*"))


def test_private_model_needs_its_owners_token(app, make_user, hub_server, tmp_path):
    from hub import db
    from hub.api import tokens
    from hub.zoo import services

    ada = make_user(username="ada")
    bob = make_user(username="bob")
    with app.test_request_context(method="POST"):
        services.publish_model_dir("ada", "secret-mlp", MLP, "private", is_public=False)
        secret = tokens.create_token(ada, "fw.hub", ["read"]).secret
        other = tokens.create_token(bob, "fw.hub", ["read"]).secret
        db.session().commit()
    cache = tmp_path / "cache"
    with pytest.raises(HubError, match="not found or not allowed.*SKIFF_TOKEN"):
        fw.hub.load("ada/secret-mlp", endpoint=hub_server.url, cache_dir=cache)
    with pytest.raises(HubError, match="not found or not allowed"):
        fw.hub.load("ada/secret-mlp", endpoint=hub_server.url, cache_dir=cache, token=other)
    assert not (cache / "ada" / "secret-mlp" / "1").exists()
    model = fw.hub.load("ada/secret-mlp", endpoint=hub_server.url, cache_dir=cache,
                        token=secret)
    assert model(digits_batch()).shape == (16, 10)
