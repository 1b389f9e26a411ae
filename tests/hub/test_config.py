"""Configuration: embedded defaults, the environment, explicit overrides."""

from __future__ import annotations

import os

from hub.config import instance_secret_key, load_config


def test_defaults_keep_everything_under_the_instance_folder(tmp_path, monkeypatch):
    for name in ("DATABASE_URL", "STORAGE_URL", "QUEUE_URL", "SECRET_KEY",
                 "RATELIMIT_STORAGE_URI", "PREFERRED_URL_SCHEME", "SESSION_COOKIE_SECURE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SKIFF_INSTANCE", str(tmp_path))
    config = load_config()
    assert config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'skiff.db'}"
    assert config["STORAGE_URL"] == str(tmp_path / "blobs")
    assert config["QUEUE_URL"] == f"sqlite:///{tmp_path / 'jobs.db'}"
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert config["SESSION_COOKIE_HTTPONLY"] and config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["SESSION_COOKIE_SECURE"] is False
    assert config["SECRET_KEY"] == (tmp_path / "secret_key").read_text().strip()
    assert load_config()["SECRET_KEY"] == config["SECRET_KEY"]  # generated once, then kept


def test_environment_scales_out_and_overrides_win(tmp_path, monkeypatch):
    monkeypatch.setenv("SKIFF_INSTANCE", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://db/skiff")
    monkeypatch.setenv("STORAGE_URL", "s3://bucket/prefix")
    monkeypatch.setenv("QUEUE_URL", "redis://cache:6379/0")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    monkeypatch.setenv("PREFERRED_URL_SCHEME", "https")
    monkeypatch.setenv("MAX_CONTENT_LENGTH", "1048576")
    config = load_config()
    assert config["DATABASE_URL"] == "postgresql+psycopg://db/skiff"
    assert config["STORAGE_URL"] == "s3://bucket/prefix"
    # Rate-limit counters are shared through the same Redis.
    assert config["RATELIMIT_STORAGE_URI"] == "redis://cache:6379/0"
    assert config["SECRET_KEY"] == "from-env"
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["MAX_CONTENT_LENGTH"] == 1048576
    assert not (tmp_path / "secret_key").exists()
    config = load_config({"DATABASE_URL": "sqlite:///x.db", "SECRET_KEY": "given"})
    assert config["DATABASE_URL"] == "sqlite:///x.db" and config["SECRET_KEY"] == "given"


def test_secret_key_file_is_private(tmp_path):
    key = instance_secret_key(tmp_path / "new")
    path = tmp_path / "new" / "secret_key"
    assert len(key) == 64 and os.stat(path).st_mode & 0o777 == 0o600
    assert instance_secret_key(tmp_path / "new") == key
    assert [p.name for p in (tmp_path / "new").iterdir()] == ["secret_key"]  # no temp files left
