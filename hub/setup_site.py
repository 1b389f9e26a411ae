"""Prepare the hub's instance folder, database and seed content (``make run`` calls this)."""

from __future__ import annotations

from pathlib import Path


def main() -> None:
    Path("instance").mkdir(exist_ok=True)


if __name__ == "__main__":
    main()
