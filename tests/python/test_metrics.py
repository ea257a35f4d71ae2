#!/usr/bin/env python3
"""GET /metrics read by a real Prometheus-format parser: the OpenMetrics parser of
Python's `prometheus_client`, which refuses anything malformed. Scrapes, makes known
traffic with `websockets` (text and binary messages, a ping, a close with 1000, a
client that breaks a rule), scrapes again and checks each counter moved by exactly
that much.

    WSECHO_URL=ws://127.0.0.1:PORT/ python tests/python/test_metrics.py

The last line is the tally `python-metrics: N passed, M failed`.
"""

import os
import socket
import sys
import urllib.request

from prometheus_client.openmetrics.parser import text_string_to_metric_families
from websockets.sync.client import connect

sys.path.insert(0, os.path.dirname(__file__))
from test_deflate import run_checks  # noqa: E402

URL = os.environ["WSECHO_URL"]
HTTP = URL.replace("ws://", "http://").rstrip("/") + "/metrics"


def scrape():
    """{(name, frozenset(labels)): value} of every sample, parsed strictly."""
    with urllib.request.urlopen(HTTP, timeout=10) as response:
        assert response.status == 200, response.status
        ctype = response.headers["Content-Type"]
        assert ctype.startswith("application/openmetrics-text"), ctype
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0)


def check_parse():
    samples = scrape()
    names = {name for name, _ in samples}
    for needed in ["wsecho_connections_open", "wsecho_connections_total",
                   "wsecho_handshakes_total", "wsecho_messages_total",
                   "wsecho_bytes_total", "wsecho_control_frames_total"]:
        assert needed in names, f"{needed} missing from {sorted(names)}"
    return f"{len(samples)} samples parsed"


def bad_client():
    """Sends an unmasked frame after a valid handshake: a 1002 'unmasked_frame'."""
    host, port = URL.split("//")[1].rstrip("/").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            b"\x81\x02hi"
        )
        while s.recv(4096):
            pass


def check_counters():
    before = scrape()
    with connect(URL, compression=None, ping_interval=None, close_timeout=10) as ws:
        for m in ["a", "bb", "ccc"]:
            ws.send(m)
            assert ws.recv(timeout=10) == m
        for m in [b"\x00", b"\x01\x02"]:
            ws.send(m)
            assert ws.recv(timeout=10) == m
        ws.ping(b"p").wait(timeout=10)
    bad_client()
    after = scrape()

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    expected = [
        (("wsecho_messages_total",), {"opcode": "text"}, 3),
        (("wsecho_messages_total",), {"opcode": "binary"}, 2),
        (("wsecho_control_frames_total",), {"opcode": "ping", "direction": "in"}, 1),
        (("wsecho_control_frames_total",), {"opcode": "pong", "direction": "out"}, 1),
        (("wsecho_closes_total",), {"code": "1000", "initiator": "client"}, 1),
        (("wsecho_closes_total",), {"code": "1002", "initiator": "server"}, 1),
        (("wsecho_failures_total",), {"violation": "unmasked_frame"}, 1),
        (("wsecho_handshakes_total",), {"outcome": "upgraded"}, 2),
        # The first scrape was counted when it was asked for; the second too.
        (("wsecho_handshakes_total",), {"outcome": "metrics"}, 1),
        (("wsecho_connections_total",), {}, 3),
    ]
    for (name,), labels, want in expected:
        got = moved(name, **labels)
        assert got == want, f"{name}{labels} moved by {got}, expected {want}"
    grew = moved("wsecho_bytes_total", direction="in")
    assert grew > 0, "no bytes in"
    return f"{len(expected)} counters moved as the traffic says"


def main():
    work = [
        ("metrics parse as OpenMetrics", check_parse),
        ("counters follow the traffic", check_counters),
    ]
    return run_checks(work, "python-metrics")


if __name__ == "__main__":
    sys.exit(main())
