"""``python -m hub.bench`` (``make bench-hub``): the hub's performance benchmarks.

Each feature may provide ``hub/<feature>/bench.py`` with ``run(argv) -> int``; this command
runs every one it finds (in ``hub.FEATURES`` order), or only those named::

    python -m hub.bench                 # all of them
    python -m hub.bench zoo             # the model zoo's list and page benchmark
    python -m hub.bench zoo --models 1000 --versions 10000   # options go to the one named

Benchmarks serve a real app with waitress in a process of its own on localhost and measure
it under concurrent clients; they print their figures (record them in BENCHMARKS.md with
the command). The load generator, :func:`hammer`, runs every client as a separate process
with one keep-alive connection (a closed loop: the next request leaves when the previous
response has been read), the way native tools such as wrk do, so the clients neither share
an interpreter lock with each other nor spend much CPU themselves; :func:`cpu_seconds` gives
the server's own CPU time, reported per request next to the latencies.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
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


# One closed-loop HTTP client, run as its own Python process (stdlib only, started with -S so
# it costs milliseconds): it opens one keep-alive connection, says "ready", waits for "go",
# then sends its GETs one after another, timing each from the request to the last byte of
# the response with perf_counter, and prints its latencies and errors as JSON.
CLIENT = r"""
import http.client, json, sys, time
job = json.loads(sys.stdin.readline())
paths, first, count = job["paths"], job["first"], job["count"]

def connect():
    conn = http.client.HTTPConnection(job["host"], job["port"], timeout=job["timeout"])
    conn.connect()
    return conn

conn = connect()
sys.stdout.write("ready\n")
sys.stdout.flush()
sys.stdin.readline()
latencies, errors = [], []
start = time.perf_counter()
for i in range(count):
    path = paths[(first + i) % len(paths)]
    t0 = time.perf_counter()
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
    except (OSError, http.client.HTTPException) as err:
        errors.append(f"{path}: {type(err).__name__}: {err}")
        conn.close()
        conn = connect()
        continue
    latencies.append(round((time.perf_counter() - t0) * 1000, 4))
    if response.status != 200:
        errors.append(f"{path}: {response.status}")
end = time.perf_counter()
conn.close()
json.dump({"latencies": latencies, "errors": errors, "start": start, "end": end}, sys.stdout)
"""


def hammer(base: str, paths: list[str], clients: int, requests_per_client: int,
           timeout: float = 30.0):
    """Load ``base`` with ``clients`` concurrent closed-loop clients; return (latencies in
    ms, wall seconds, errors).

    Every client is a separate Python process with its own keep-alive connection (so no
    client waits for another's interpreter lock, and the load generator's own cost stays
    small: ``http.client`` on a raw connection, as native tools like wrk do). Client ``k``
    sends ``requests_per_client`` GETs one after another, cycling through ``paths`` from
    position ``k * requests_per_client``, so the clients spread over many different pages.
    All clients connect first and start together; the wall time runs from the first
    client's start to the last one's end. A response other than 200, or a failed request,
    counts as an error (a failed request's connection is reopened).
    """
    import json
    import subprocess
    import sys
    from urllib.parse import urlsplit

    url = urlsplit(base)
    processes = [subprocess.Popen([sys.executable, "-S", "-c", CLIENT], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
                 for _ in range(clients)]
    try:
        for k, process in enumerate(processes):
            process.stdin.write(json.dumps({
                "host": url.hostname, "port": url.port or 80, "paths": paths,
                "first": k * requests_per_client, "count": requests_per_client,
                "timeout": timeout}) + "\n")
            process.stdin.flush()
        for process in processes:
            if process.stdout.readline().strip() != "ready":
                raise RuntimeError("a benchmark client could not connect to " + base)
        for process in processes:
            process.stdin.write("go\n")
            process.stdin.flush()
        reports = [json.loads(process.communicate()[0]) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    latencies = [ms for report in reports for ms in report["latencies"]]
    errors = [error for report in reports for error in report["errors"]]
    wall = max(r["end"] for r in reports) - min(r["start"] for r in reports)
    return latencies, wall, errors


def add_load_options(parser) -> None:
    """The options every page benchmark takes: clients, requests, server threads, processes."""
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=40,
                        help="requests per client and endpoint")
    parser.add_argument("--threads", type=int, default=8,
                        help="waitress worker threads (default 8, as `python app.py` serves)")
    parser.add_argument("--processes", type=int, default=1,
                        help="server processes sharing the socket (`python app.py "
                             "--processes N`; default 1)")


def site_config(folder) -> dict:
    """A benchmark site's configuration: SQLite database, blobs and queue under ``folder``,
    rate limits off (16 clients on one address would hit them)."""
    return {
        "SECRET_KEY": "bench", "INSTANCE_PATH": str(folder / "instance"),
        "DATABASE_URL": f"sqlite:///{folder / 'hub.db'}",
        "STORAGE_URL": str(folder / "blobs"), "QUEUE_URL": f"sqlite:///{folder / 'q.db'}",
        "RATELIMIT_ENABLED": False,
    }


def measure(base: str, servers, suites: list[tuple[str, list[str]]], args, data: str) -> int:
    """Print the header and one table row per ``(label, paths)`` of ``suites`` (p50, p99,
    requests/s, the server processes' CPU ms per request); 1 if any request failed."""
    import os
    import statistics

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{args.clients} concurrent clients, {args.requests} requests each per row, "
          f"{args.processes} waitress server process(es) with {args.threads} threads, "
          f"SQLite, {data}; {os.cpu_count()} CPUs, load average {load}")
    print("| endpoint | p50 ms | p99 ms | requests/s | server CPU ms/request |")
    print("|---|---:|---:|---:|---:|")
    failed = 0
    for label, paths in suites:
        cpu0 = cpu_seconds(*servers.pids)
        latencies, wall, errors = hammer(base, paths, args.clients, args.requests)
        cpu = (cpu_seconds(*servers.pids) - cpu0) * 1000 / len(latencies)
        if errors:
            failed = 1
            print(f"errors on {label}: {errors[:3]}")
        print(f"| {label} | {statistics.median(latencies):.1f} | "
              f"{percentile(latencies, 0.99):.1f} | {len(latencies) / wall:.0f} | "
              f"{cpu:.1f} |", flush=True)
    return failed


def warm_up(base: str, paths: list[str], processes: int = 1) -> None:
    """Request every path as in steady use before measuring (templates compiled, database
    pages and rendered pieces cached). One server process: each path once over 4
    connections. Several: a connection stays with the process that accepted it and each
    process keeps its own caches, so 4 connections per process each request every path
    (every process then has very likely seen every path, as on a site that has run a while).
    """
    if processes <= 1:
        hammer(base, paths, 4, -(-len(paths) // 4))
    else:
        hammer(base, paths, 4 * processes, len(paths))


def cpu_seconds(*pids: int) -> float:
    """CPU time (user + system) the processes ``pids`` have used so far, from /proc
    (Linux)."""
    import os

    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def serve_in_process(config: dict, threads: int, processes: int = 1):
    """Serve the hub in ``processes`` waitress server processes of its own (as
    ``python app.py --processes N`` does) on a free localhost port; (base URL, the
    :class:`hub.serving.ServerProcesses`) once it answers. Stop it with ``.stop()``."""
    import requests

    from hub.serving import ServerProcesses, listening_socket

    sock = listening_socket("127.0.0.1", 0)
    servers = ServerProcesses(sock, max(1, processes), threads, config=config, quiet=True)
    servers.start()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/healthz", timeout=2).status_code == 200:
                return base, servers
        except (requests.ConnectionError, requests.Timeout):
            # A server process still importing the app can take longer than the timeout.
            time.sleep(0.2)
    servers.stop()
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
