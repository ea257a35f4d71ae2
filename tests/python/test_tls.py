#!/usr/bin/env python3
"""wss:// against a real client: Python's `websockets` over the standard `ssl`
module, trusting exactly the certificate wsecho wrote (no verification off).

    WSECHO_WSS_URL=wss://127.0.0.1:PORT/ WSECHO_CERT=cert.pem WSECHO_PID=PID \
        python tests/python/test_tls.py

Echoes text and binary at several sizes with permessage-deflate and without,
checks the client's close (1000 answered with 1000), the ALPN choice
(h2 preferred, http/1.1 served, nothing else), and last sends wsecho SIGTERM and checks the client gets 1001. The last line is
the tally `python-tls: N passed, M failed`.
"""

import os
import signal
import ssl
import sys

import websockets
from websockets.sync.client import connect

sys.path.insert(0, os.path.dirname(__file__))
from test_deflate import KIB, MIB, Counts, echo_all, run_checks  # noqa: E402

URL = os.environ["WSECHO_WSS_URL"].replace("127.0.0.1", "localhost")
CERT = os.environ["WSECHO_CERT"]
PID = int(os.environ["WSECHO_PID"])
SIZES = [0, 1, 100, 10 * KIB, 1 * MIB]


def context():
    ctx = ssl.create_default_context(cafile=CERT)
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    return ctx


def open_client(**kwargs):
    return connect(
        URL,
        ssl=context(),
        max_size=16 * MIB,
        open_timeout=10,
        close_timeout=10,
        ping_interval=None,
        **kwargs,
    )


def tls_of(ws):
    sock = ws.socket
    return f"{sock.version()} {sock.cipher()[0]}, ALPN {sock.selected_alpn_protocol()}"


def check_echo(compression):
    with open_client(compression=compression) as ws:
        counts = Counts(ws)
        echo_all(ws, counts, compressed=compression is not None, sizes=SIZES)
        return tls_of(ws)


def check_client_close():
    with open_client() as ws:
        ws.send("bye")
        assert ws.recv(timeout=10) == "bye"
        ws.close(code=1000, reason="done")
        assert ws.protocol.close_rcvd is not None, "no close frame from the server"
        assert ws.protocol.close_rcvd.code == 1000, ws.protocol.close_rcvd
    return "1000 answered with 1000"


def check_alpn():
    """wsecho serves HTTP/2 and HTTP/1.1, preferring h2 (RFC 9113 §3.2): of a
    client offering h2 and http/1.1 it picks h2, of one offering http/1.1 alone
    http/1.1, and a client offering only protocols it does not serve gets RFC 7301's
    no_application_protocol alert rather than one it does not speak."""
    import socket
    from urllib.parse import urlsplit

    u = urlsplit(URL)

    def picked(offer):
        ctx = context()
        ctx.set_alpn_protocols(offer)
        with socket.create_connection((u.hostname, u.port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname=u.hostname) as tls:
                return tls.selected_alpn_protocol()

    got = picked(["http/1.1", "h2"])
    assert got == "h2", f"ALPN picked {got!r} of http/1.1, h2"
    got = picked(["http/1.1"])
    assert got == "http/1.1", f"ALPN picked {got!r} of http/1.1 alone"
    try:
        got = picked(["spdy/3.1"])
        raise AssertionError(f"a handshake offering only spdy/3.1 succeeded, ALPN {got!r}")
    except ssl.SSLError as e:
        assert "no application protocol" in str(e), f"spdy/3.1 alone: {e}"
    return "h2 of http/1.1, h2; http/1.1 alone; spdy/3.1 alone: no_application_protocol alert"


def check_sigterm():
    with open_client() as ws:
        ws.send(b"before")
        assert ws.recv(timeout=10) == b"before"
        os.kill(PID, signal.SIGTERM)
        try:
            while True:
                ws.recv(timeout=10)
        except websockets.exceptions.ConnectionClosed as e:
            assert e.rcvd is not None and e.rcvd.code == 1001, f"closed with {e.rcvd}"
    return "1001 on SIGTERM"


def main():
    print(f"websockets {websockets.__version__} against {URL}")
    work = [
        ("echo with permessage-deflate", lambda: check_echo("deflate")),
        ("echo without deflate", lambda: check_echo(None)),
        ("client close", check_client_close),
        ("ALPN", check_alpn),
        ("server SIGTERM", check_sigterm),  # last: the server exits
    ]
    return run_checks(work, "python-tls")


if __name__ == "__main__":
    sys.exit(main())
