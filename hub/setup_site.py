"""Prepare a hub site: instance folder, database at the newest schema, seed content.

``make run`` calls ``python -m hub.setup_site`` before serving. It is safe to run again and
again: migrations that already ran are skipped, and each seed step checks what exists first.

Seed steps come from the features: every package named in ``hub.FEATURES`` that defines
``seed(app)`` has it called, in that order, inside an application context (for example the
course catalogue imports ``courses/``). A seed function commits its own work.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from flask import Flask

from hub import FEATURES, create_app, db


def seed_steps() -> list[tuple[str, Callable[[Flask], None]]]:
    """(feature, seed function) for every feature that has one, in ``FEATURES`` order."""
    from hub import _feature_module

    steps = []
    for name in FEATURES:
        module = _feature_module(name)
        seed = getattr(module, "seed", None)
        if callable(seed):
            steps.append((name, seed))
    return steps


def setup(app: Flask, *, seed: bool = True, echo: Callable[[str], None] = print) -> None:
    """Migrate ``app``'s database to head, then run the features' seed steps."""
    db.migrate(app)
    echo(f"database ready: {db.get_database(app).url.render_as_string(hide_password=True)}")
    if not seed:
        return
    for name, step in seed_steps():
        with app.app_context():
            step(app)
        echo(f"seeded: {name}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Prepare the Skiff hub's instance and database.")
    parser.add_argument("--no-seed", action="store_true", help="only migrate the database")
    args = parser.parse_args(argv)
    app = create_app()
    setup(app, seed=not args.no_seed)


if __name__ == "__main__":
    main()
