"""Serve the Skiff hub: ``python app.py`` (see ``python app.py --help``)."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading


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


class JobWorker:
    """The background job worker (``python -m hub.infra.jobs worker``) as a child process.

    Restarted if it dies; stopped gracefully (SIGINT: running jobs finish) with the server.
    """

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="job-worker", daemon=True)

    def _spawn(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "hub.infra.jobs", "worker"])
        print(f"Skiff job worker started (pid {self.process.pid})", flush=True)

    def start(self) -> None:
        self._spawn()
        self._watcher.start()

    def _watch(self) -> None:
        while not self._stopping.is_set():
            code = self.process.wait()
            if self._stopping.wait(2.0):
                return
            print(f"Skiff job worker exited with status {code}; restarting", flush=True)
            self._spawn()

    def stop(self) -> None:
        self._stopping.set()
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


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
        worker = JobWorker()
        worker.start()
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
