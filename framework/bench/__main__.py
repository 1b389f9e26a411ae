"""Command line: ``python -m framework.bench run|compare|verify ...``."""

from __future__ import annotations

import argparse
import sys

from . import BundleError, run, verify_bundle
from .compare import compare_paths
from .system import SystemDescriptionError


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m framework.bench",
                                 description="Skiff's standard benchmark suite.")
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run the suite and write a result bundle")
    r.add_argument("--backend", default="numpy", help="registered backend name")
    r.add_argument("--out", required=True, help="bundle directory to write")
    r.add_argument("--quick", action="store_true", help="short measurements (well under a "
                   "minute); for tests and demos, not for leaderboards")
    r.add_argument("--system-yaml", help="vendor system fields (MLPerf names) as YAML")
    r.add_argument("--archive", action="store_true", help="also write OUT.tar.gz")
    r.add_argument("--only", action="append", metavar="ID", help="run only these benchmarks")
    c = sub.add_parser("compare", help="compare two bundles as ratios")
    c.add_argument("a")
    c.add_argument("b")
    v = sub.add_parser("verify", help="check a bundle's schema, hashes and consistency")
    v.add_argument("bundle")
    args = ap.parse_args(argv)
    try:
        if args.command == "run":
            bundle = run(args.backend, args.out, quick=args.quick, system_yaml=args.system_yaml,
                         archive=args.archive, only=args.only,
                         progress=lambda m: print(m, file=sys.stderr, flush=True))
            print(f"wrote {args.out} ({len(bundle.results['benchmarks'])} benchmarks, "
                  f"backend {bundle.backend}, suite {bundle.suite_version})")
        elif args.command == "compare":
            print(compare_paths(args.a, args.b))
        else:
            bundle = verify_bundle(args.bundle)
            print(f"{args.bundle}: valid bundle (suite {bundle.suite_version}, backend "
                  f"{bundle.backend}, {len(bundle.results['benchmarks'])} benchmarks)")
    except (BundleError, SystemDescriptionError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
