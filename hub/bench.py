"""``python -m hub.bench`` (``make bench-hub``): the hub's performance benchmarks.

Each feature may provide ``hub/<feature>/bench.py`` with ``run(argv) -> int``; this command
runs every one it finds (in ``hub.FEATURES`` order), or only those named::

    python -m hub.bench                 # all of them
    python -m hub.bench zoo             # the model zoo's list and page benchmark
    python -m hub.bench zoo --models 1000 --versions 10000   # options go to the one named

Benchmarks serve a real app with waitress on localhost and measure it under concurrent
clients; they print their figures (record them in BENCHMARKS.md with the command).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys


def available() -> list[str]:
    """Features that have a benchmark module."""
    from hub import FEATURES

    found = []
    for name in FEATURES:
        try:
            if importlib.util.find_spec(f"hub.{name}.bench") is not None:
                found.append(name)
        except ModuleNotFoundError:
            continue
    return found


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    names = available()
    if args and not args[0].startswith("-"):
        if args[0] not in names:
            print(f"no benchmark called {args[0]!r}; available: {', '.join(names)}",
                  file=sys.stderr)
            return 2
        names, args = [args[0]], args[1:]
    status = 0
    for name in names:
        print(f"== hub.{name}.bench ==", flush=True)
        status |= int(importlib.import_module(f"hub.{name}.bench").run(args) or 0)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
