"""Skiff's community hub: notebooks, courses, models and leaderboards.

``create_app`` builds the application: configuration (``hub.config``), the database
(``hub.db``), security (``hub.security``), languages (``hub.i18n``), the site pages, then every
package named in :data:`FEATURES` that exists: ``hub.<name>`` is imported and its
``init_app(app)`` called (register blueprints, CLI commands, hooks there). A new feature adds
its package and its name here; its tables go into ``hub/<name>/models.py`` (see
``hub/migrations/README.md``).
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter

__version__ = "0.1.0"

#: Feature packages, in the order they are set up (navigation order follows it too).
FEATURES = (
    "infra",
    "accounts",
    "admin",
    "search",
    "notebooks",
    "courses",
    "zoo",
    "leaderboards",
    "api",
)


class _DatabaseId(IntegerConverter):
    """``<int:…>`` in URLs: ids beyond a database integer are simply not found (404), instead
    of overflowing the database driver. Primary keys are ``Integer``: 32 bits on PostgreSQL."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002 - werkzeug's name
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def _feature_module(name: str):
    try:
        spec = importlib.util.find_spec(f"hub.{name}")
    except ModuleNotFoundError:
        return None
    return importlib.import_module(f"hub.{name}") if spec is not None else None


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the hub application.

    ``config`` overrides the defaults and the environment (see ``hub.config``); tests pass a
    dict with their own ``DATABASE_URL``, ``INSTANCE_PATH`` and ``SECRET_KEY``.
    """
    from hub import db, errors, i18n, security, site
    from hub.config import load_config

    settings = load_config(config)
    app = Flask(__name__, instance_path=settings["INSTANCE_PATH"])
    app.url_map.converters["int"] = _DatabaseId
    app.config.update(settings)
    app.config["SKIFF_VERSION"] = __version__

    db.load_models()
    db.init_app(app)
    security.init_app(app)
    i18n.init_app(app)
    errors.init_app(app)
    site.init_app(app)
    for name in FEATURES:
        module = _feature_module(name)
        init = getattr(module, "init_app", None)
        if init is not None:
            init(app)
    return app
