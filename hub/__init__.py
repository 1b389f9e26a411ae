"""Skiff's community hub: notebooks, courses, models and leaderboards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, jsonify, render_template

__version__ = "0.1.0"


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the hub application.

    ``config`` overrides the defaults; tests pass a dict with their own settings.
    """
    app = Flask(__name__, instance_path=str(Path.cwd() / "instance"))
    app.config.from_mapping(SKIFF_VERSION=__version__)
    if config:
        app.config.update(config)

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok", version=__version__)

    @app.get("/")
    def home():
        return render_template("home.html")

    return app
