"""Serving the hub from several waitress processes on one port (hub.serving, app.py
--processes)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from hub import create_app, db
from hub.bench import site_config
from hub.serving import ServerProcesses, listening_socket


@pytest.fixture
def site(tmp_path):
    config = site_config(tmp_path)
    app = create_app(config)
    db.migrate(app)
    app.extensions["skiff_db"].dispose()
    return config


def _wait_until_serving(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(base + "/healthz", timeout=10).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or still loading the app
            time.sleep(0.2)
    raise AssertionError("the hub did not answer")


def test_processes_share_one_port_and_a_dead_one_is_replaced(site):
    sock = listening_socket("127.0.0.1", 0)
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    servers = ServerProcesses(sock, 2, threads=2, config=site, quiet=True)
    servers.start()
    try:
        _wait_until_serving(base)
        first = servers.pids
        assert len(set(first)) == 2
        # Fresh connections are accepted by whichever process is free: all are answered.
        for _ in range(20):
            assert requests.get(base + "/models", timeout=10).status_code == 200
        os.kill(first[0], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while servers.pids[0] == first[0] and time.monotonic() < deadline:
            time.sleep(0.2)
        assert servers.pids[0] != first[0] and servers.pids[1] == first[1]
        _wait_until_serving(base)
        for _ in range(10):
            assert requests.get(base + "/healthz", timeout=10).status_code == 200
    finally:
        servers.stop()
    assert all(p.poll() is not None for p in servers.processes)
    with pytest.raises(requests.ConnectionError):
        requests.get(base + "/healthz", timeout=2)


def test_app_py_serves_with_several_processes_and_stops_on_sigterm(site, tmp_path):
    sock = listening_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    sock.close()
    env = {**os.environ, "SECRET_KEY": site["SECRET_KEY"],
           "INSTANCE_PATH": site["INSTANCE_PATH"], "DATABASE_URL": site["DATABASE_URL"],
           "STORAGE_URL": site["STORAGE_URL"], "QUEUE_URL": site["QUEUE_URL"]}
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, str(root / "app.py"), "--port", str(port), "--processes", "2",
         "--threads", "2", "--no-worker"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_until_serving(f"http://127.0.0.1:{port}")
        assert requests.get(f"http://127.0.0.1:{port}/models", timeout=10).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0]
    assert process.returncode == 0, output
    assert "2 server processes with 2 threads each" in output
    # Rate-limit counters in memory are per process: the server says how to share them.
    assert "RATELIMIT_STORAGE_URI" in output
