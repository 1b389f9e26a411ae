"""Serve the Skiff hub: ``python app.py`` (see ``python app.py --help``)."""

from __future__ import annotations

import argparse
import os
import signal
import sys


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
        help="WSGI worker threads per server process (default: $THREADS or 8)",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=int(os.environ.get("PROCESSES", "1")),
        help="server processes sharing the port, each with its own threads: one process runs "
        "Python on one core at a time, so use about one per core (default: $PROCESSES or 1; "
        "with more than one, share rate limits through RATELIMIT_STORAGE_URI)",
    )
    parser.add_argument(
        "--no-worker",
        action="store_true",
        help="do not start a background job worker next to the web server "
        "(run `python -m hub.infra.jobs worker` elsewhere)",
    )
    parser.add_argument(
        "--no-migrate",
        action="store_true",
        help="do not bring the database to the newest schema before serving (for several "
        "servers sharing one database: run `python -m hub.setup_site --no-seed` once instead)",
    )
    return parser


def job_worker():
    """The background job worker (``python -m hub.infra.jobs worker``) as a supervised child
    process: restarted if it dies; stopped gracefully with the server (SIGINT: running jobs
    finish, for up to 30 seconds)."""
    from hub.serving import Supervisor

    return Supervisor([sys.executable, "-m", "hub.infra.jobs", "worker"], "Skiff job worker",
                      stop_signal=signal.SIGINT, stop_timeout=30)


def create_app():
    """The hub application; ``flask --app app <command>`` finds it here."""
    from hub import create_app as build

    return build()


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    from hub import create_app, db
    from hub.serving import serve

    app = create_app()
    if not args.no_migrate:
        # A fresh instance gets its tables here instead of serving errors; a database that
        # is already at the newest schema is left as it is.
        db.migrate(app)
    worker = None
    if not args.no_worker and not app.config.get("JOBS_IMMEDIATE"):
        worker = job_worker()
        worker.start()
        print(f"Skiff job worker started (pid {worker.pids[0]})", flush=True)
        # Stop the worker on SIGTERM too (service managers), not only on Ctrl-C.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"Skiff hub on http://{args.host}:{args.port}", flush=True)
    try:
        serve(lambda: app, host=args.host, port=args.port, threads=args.threads,
              processes=args.processes)
    finally:
        if worker is not None:
            worker.stop()


if __name__ == "__main__":
    main()
