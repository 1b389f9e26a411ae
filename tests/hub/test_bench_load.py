"""The hub benchmarks' load generator (hub.bench.hammer) against a live server."""

import pytest

from hub.bench import hammer, percentile


def test_every_client_sends_its_requests_and_errors_are_counted(live_server):
    paths = ["/healthz", "/healthz", "/no-such-page"]
    latencies, wall, errors = hammer(live_server.url, paths, clients=3, requests_per_client=4)
    # 3 clients x 4 requests, cycling through the paths from client k's offset k * 4: 12
    # requests, of which paths[2], paths[5 % 3] ... are the missing page: 4 of them.
    assert len(latencies) == 12
    assert all(ms > 0 for ms in latencies)
    assert wall > 0
    assert len(errors) == 4
    assert all(e == "/no-such-page: 404" for e in errors)


def test_a_server_that_is_gone_is_reported():
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(RuntimeError, match="could not connect"):
        hammer(f"http://127.0.0.1:{port}", ["/healthz"], clients=1, requests_per_client=1)


def test_percentile_picks_the_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) in (50.0, 51.0)
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
