"""Serve the Skiff hub: ``python app.py`` (see ``python app.py --help``)."""

from __future__ import annotations

import argparse
import os


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Serve the Skiff hub with a production WSGI server (waitress).",
    )
    parser.add_argument(
        "--host",
        default=os.environ.get("HOST", "127.0.0.1"),
        help="address to listen on (default: $HOST or 127.0.0.1)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT", "5000")),
        help="port to listen on (default: $PORT or 5000)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=int(os.environ.get("THREADS", "8")),
        help="WSGI worker threads (default: $THREADS or 8)",
    )
    return parser


def create_app():
    """The hub application; ``flask --app app <command>`` finds it here."""
    from hub import create_app as build

    return build()


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    from waitress import serve

    from hub import create_app

    app = create_app()
    print(f"Skiff hub on http://{args.host}:{args.port}", flush=True)
    serve(app, host=args.host, port=args.port, threads=args.threads)


if __name__ == "__main__":
    main()
