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
import threading
import time


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


# ----- shared load tools of the feature benchmarks ----------------------------------------

def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def hammer(base: str, paths: list[str], clients: int, requests_per_client: int):
    """Send ``requests_per_client`` GETs from each of ``clients`` threads (cycling through
    ``paths``); return (latencies in ms, wall seconds, errors)."""
    import requests

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def client(k: int) -> None:
        session = requests.Session()
        mine, bad = [], []
        start.wait()
        for i in range(requests_per_client):
            path = paths[(k * requests_per_client + i) % len(paths)]
            t0 = time.perf_counter()
            response = session.get(base + path, timeout=30)
            mine.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200:
                bad.append(f"{path}: {response.status_code}")
        session.close()
        with lock:
            latencies.extend(mine)
            errors.extend(bad)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - t0, errors


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc (Linux)."""
    import os

    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


SERVE = """
import json, logging, sys
from waitress import serve
from hub import create_app
logging.getLogger("waitress.queue").setLevel(logging.ERROR)
config, port, threads = json.loads(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
serve(create_app(config), host="127.0.0.1", port=port, threads=threads, channel_timeout=60,
      _quiet=True)
"""


def serve_in_process(config: dict, threads: int):
    """Serve the hub with waitress in a child process; (base URL, process) once it answers."""
    import json
    import socket
    import subprocess
    import sys

    import requests

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-c", SERVE, json.dumps(config), str(port),
                                str(threads)])
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/healthz", timeout=2).status_code == 200:
                return base, process
        except requests.ConnectionError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the benchmark server did not start")


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
