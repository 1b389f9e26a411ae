"""The hub's configuration: embedded defaults, then the environment, then explicit overrides.

Every setting has a default that works on a laptop with no servers (SQLite, local blobs, a
SQLite-backed job queue, in-memory rate limits). Scaling out is configuration only:

==========================  ==============================================================
environment variable        meaning (default)
==========================  ==============================================================
``SKIFF_INSTANCE``          folder for the database, blobs, queue and secret (``./instance``)
``DATABASE_URL``            SQLAlchemy URL (``sqlite:///<instance>/skiff.db``);
                            ``postgresql+psycopg://…`` for PostgreSQL
``STORAGE_URL``             blob store: a local folder (``<instance>/blobs``) or ``s3://bucket/prefix``
``QUEUE_URL``               job queue: ``sqlite:///<instance>/jobs.db`` or ``redis://…``
``SECRET_KEY``              signs sessions; generated once into ``<instance>/secret_key`` (0600)
``MAX_CONTENT_LENGTH``      largest request body in bytes (512 MiB)
``RATELIMIT_STORAGE_URI``   rate-limit counters (``memory://``, or ``QUEUE_URL`` when that is Redis)
``PREFERRED_URL_SCHEME``    ``https`` behind a TLS proxy makes session cookies ``Secure``
``SESSION_COOKIE_SECURE``   ``1`` forces ``Secure`` cookies even for plain-HTTP requests
==========================  ==============================================================

``hub.create_app(config)`` takes a dict that overrides all of these (tests pass their own
``DATABASE_URL``, ``INSTANCE_PATH`` and ``SECRET_KEY``).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: Languages the interface is translated into (code -> name shown in the switcher).
LANGUAGES = {"en": "English", "zh": "简体中文"}

_TRUE = {"1", "true", "yes", "on"}


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in _TRUE


def instance_secret_key(instance_path: Path) -> str:
    """Return the secret key kept in ``instance_path/secret_key``, creating it (mode 0600) once."""
    path = instance_path / "secret_key"
    try:
        key = path.read_text().strip()
        if key:
            return key
    except FileNotFoundError:
        pass
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    tmp = path.with_name(f".secret_key.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    # Two processes starting at once must agree on one key: the first link wins.
    try:
        os.link(tmp, path)
    except FileExistsError:
        key = path.read_text().strip()
    finally:
        os.unlink(tmp)
    return key


def load_config(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Merge defaults, environment and ``overrides`` into one settings dict."""
    overrides = dict(overrides or {})
    instance = overrides.get("INSTANCE_PATH") or os.environ.get("SKIFF_INSTANCE")
    instance = Path(instance or Path.cwd() / "instance").resolve()

    queue_url = os.environ.get("QUEUE_URL", f"sqlite:///{instance / 'jobs.db'}")
    queue_url = overrides.get("QUEUE_URL", queue_url)
    default_limits_store = queue_url if str(queue_url).startswith(("redis://", "rediss://")) else (
        "memory://"
    )
    scheme = os.environ.get("PREFERRED_URL_SCHEME", "http")

    config: dict[str, Any] = {
        "INSTANCE_PATH": str(instance),
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{instance / 'skiff.db'}"),
        "STORAGE_URL": os.environ.get("STORAGE_URL", str(instance / "blobs")),
        "QUEUE_URL": queue_url,
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", 512 * 1024 * 1024)),
        "PREFERRED_URL_SCHEME": scheme,
        "SESSION_COOKIE_NAME": "skiff_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # False still means Secure on HTTPS requests: see hub.security.SkiffSessionInterface.
        "SESSION_COOKIE_SECURE": _env_bool("SESSION_COOKIE_SECURE", scheme == "https"),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", default_limits_store),
        "RATELIMIT_ENABLED": _env_bool("RATELIMIT_ENABLED", True),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Named limits other teams reuse with hub.security.limiter.limit(...).
        "RATELIMIT_LOGIN": os.environ.get("RATELIMIT_LOGIN", "10 per minute;100 per hour"),
        "RATELIMIT_REGISTER": os.environ.get("RATELIMIT_REGISTER", "5 per minute;30 per hour"),
        "RATELIMIT_TOKENS": os.environ.get("RATELIMIT_TOKENS", "10 per minute;60 per hour"),
        "RATELIMIT_UPLOADS": os.environ.get("RATELIMIT_UPLOADS", "20 per minute;200 per hour"),
        "WTF_CSRF_TIME_LIMIT": None,
        # werkzeug's scrypt defaults (n=2**15, r=8, p=1); tests use cheaper parameters.
        "PASSWORD_HASH_METHOD": "scrypt",
        "BABEL_DEFAULT_LOCALE": "en",
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "LANGUAGES": dict(LANGUAGES),
        "SEARCH_PAGE_SIZE": 20,
        "ADMIN_PAGE_SIZE": 50,
    }
    config.update(overrides)
    config["INSTANCE_PATH"] = str(instance)
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = os.environ.get("SECRET_KEY") or instance_secret_key(instance)
    return config
