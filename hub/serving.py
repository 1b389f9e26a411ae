"""Serve the hub with waitress in one or several processes (``python app.py --processes N``).

One waitress process runs Python code on one core at a time (the interpreter lock), however
many threads it has. With ``processes > 1`` the parent binds the listening socket once and
starts that many server processes (``python -m hub.serving``) that inherit it and accept
connections from it in turn, each with its own app, database connections and caches: the
pre-fork model of other WSGI servers, with waitress in every process. The parent restarts a
server process that dies and stops them all on SIGINT/SIGTERM.

Everything the hub shares between requests works across processes: the database, the blob
store and the job queue are shared; page and board caches are per process and keyed by
content or by a generation read from the database. Rate-limit counters are per process when
they live in memory (the default): set ``RATELIMIT_STORAGE_URI`` (or a Redis ``QUEUE_URL``)
to share them, as :func:`serve` warns.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket that child processes can inherit."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    sock.set_inheritable(True)
    return sock


class Supervisor:
    """``count`` child processes running ``command``: one that dies is started again (within
    a few seconds), :meth:`stop` sends them ``stop_signal`` and waits up to
    ``stop_timeout`` seconds before killing them. Used for the server processes and for the
    job worker that ``python app.py`` runs next to the web server."""

    def __init__(self, command: list[str], label: str, count: int = 1, *,
                 stop_signal: int = signal.SIGTERM, stop_timeout: float = 10.0,
                 pass_fds: tuple[int, ...] = ()) -> None:
        self.command, self.label, self.count = command, label, count
        self.stop_signal, self.stop_timeout, self.pass_fds = stop_signal, stop_timeout, pass_fds
        self.processes: list[subprocess.Popen] = []
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name=label, daemon=True)

    def _spawn(self) -> subprocess.Popen:
        return subprocess.Popen(self.command, pass_fds=self.pass_fds)

    def start(self) -> None:
        self.processes = [self._spawn() for _ in range(self.count)]
        self._watcher.start()

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def _watch(self) -> None:
        while not self._stopping.wait(1.0):
            for i, process in enumerate(self.processes):
                code = process.poll()
                # A moment's grace first: a child that exits because the whole process group
                # got Ctrl-C is not restarted while this process is stopping too.
                if code is not None and not self._stopping.wait(2.0):
                    print(f"{self.label} {process.pid} exited with status {code}; restarting",
                          flush=True)
                    self.processes[i] = self._spawn()

    def stop(self) -> None:
        self._stopping.set()
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(self.stop_signal)
        deadline = time.monotonic() + self.stop_timeout
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class ServerProcesses(Supervisor):
    """``count`` server processes sharing ``sock``; a process that dies is started again.
    :meth:`stop` stops them and closes ``sock``."""

    def __init__(self, sock: socket.socket, count: int, threads: int,
                 config: dict[str, Any] | None = None, quiet: bool = False) -> None:
        command = [sys.executable, "-m", "hub.serving", "--fd", str(sock.fileno()),
                   "--threads", str(threads)]
        if config is not None:
            command += ["--config", json.dumps(config)]
        if quiet:
            command.append("--quiet")
        super().__init__(command, "Skiff server process", count, pass_fds=(sock.fileno(),))
        self.sock = sock

    def stop(self) -> None:
        super().stop()
        self.sock.close()


def serve(make_app: Callable[[], Any], *, host: str, port: int, threads: int,
          processes: int = 1) -> None:
    """Serve ``make_app()`` on ``host:port`` until interrupted: in this process with
    waitress when ``processes`` is 1, else in ``processes`` server processes."""
    if processes <= 1:
        from waitress import serve as waitress_serve

        waitress_serve(make_app(), host=host, port=port, threads=threads)
        return
    app = make_app()
    if str(app.config.get("RATELIMIT_STORAGE_URI", "memory://")).startswith("memory"):
        print("note: rate-limit counters are kept per server process (memory://); set "
              "RATELIMIT_STORAGE_URI to a Redis URL to share them", flush=True)
    sock = listening_socket(host, port)
    servers = ServerProcesses(sock, processes, threads)
    servers.start()
    print(f"Skiff hub: {processes} server processes with {threads} threads each "
          f"(pids {', '.join(map(str, servers.pids))})", flush=True)
    stopped = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        servers.stop()


def _child(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="One hub server process on an inherited "
                                     "listening socket (started by hub.serving.serve).")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--config", help="app configuration as JSON (benchmarks, tests)")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    import logging

    from waitress import serve as waitress_serve

    from hub import create_app

    sock = socket.socket(fileno=args.fd)
    sock.setblocking(False)
    app = create_app(json.loads(args.config) if args.config else None)
    # SIGTERM from the parent ends this process like Ctrl-C would.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if args.quiet:
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    waitress_serve(app, sockets=[sock], threads=args.threads, channel_timeout=60,
                   _quiet=args.quiet)


if __name__ == "__main__":
    _child()
