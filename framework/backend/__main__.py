"""``python -m framework.backend``: list backends, or regenerate the primitive tables.

    python -m framework.backend                         # registered backends and versions
    python -m framework.backend --sync-docs docs/backends.md
"""

from __future__ import annotations

import argparse
import sys

from . import available, get
from .primitives import sync_docs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m framework.backend")
    ap.add_argument("--sync-docs", metavar="FILE",
                    help="rewrite the generated primitive tables inside FILE")
    args = ap.parse_args(argv)
    if args.sync_docs:
        changed = sync_docs(args.sync_docs)
        print(f"{args.sync_docs}: {'updated' if changed else 'already in sync'}")
        return 0
    for name in available():
        try:
            bk = get(name)
        except Exception as err:  # a broken plug-in must not hide the others
            print(f"{name:12s} failed to load: {type(err).__name__}: {err}")
            continue
        missing = len(bk.missing_primitives()) if hasattr(bk, "missing_primitives") else 0
        print(f"{name:12s} {getattr(bk, 'version', '')}  "
              f"{getattr(bk, 'device', '') or ''}  missing primitives: {missing}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
