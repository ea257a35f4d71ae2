#!/usr/bin/env python3
"""WebSockets over HTTP/2 (RFC 8441) with an independent client: Python's `h2` and
`wsproto` (tests/python/h2ws.py), over h2c with prior knowledge and over TLS.

    H2_PEER=127.0.0.1:PORT [H2_TLS_PEER=127.0.0.1:PORT H2_TLS_CERT=cert.pem] \\
    H2_PEER_KIND=wsecho|hypercorn python tests/python/test_h2.py

or the same as options (--h2c, --tls, --cert, --name, --kind). Cases: the
SETTINGS_ENABLE_CONNECT_PROTOCOL setting, text and binary echo (small, 70000 B,
fragmented), ping/pong, the close handshake and END_STREAM both ways (client first,
client first with END_STREAM on its close frame, server first), a subprotocol and
permessage-deflate negotiated in the CONNECT headers, eight WebSockets on one
connection, a reset stream leaving the connection working, GET / over h2.

--kind hypercorn (scripts/test-h2-clients.sh --peer hypercorn, the test of this test
client) tolerates hypercorn 0.18.0's known departures, each where it matters and no
more, and asserts that the departure is the known one:
- after a close handshake the client started, hypercorn never sends END_STREAM
  (RFC 8441 §5 likens END_STREAM to TCP's FIN; wsecho sends it after its close);
- DATA on a WebSocket stream hypercorn has finished with (END_STREAM after the close
  handshake, or the answer to hypercorn's own close frame) makes it drop the whole
  connection, with no GOAWAY (a KeyError in its h2 event loop); so against hypercorn
  a client-first close puts END_STREAM on the close frame itself, and nothing is
  checked on the connection after answering a server-first close.
--kind wsecho (the default) checks all of it.

The last line is the tally `python-h2: N passed, M failed`.
"""

import argparse
import os
import random
import ssl
import sys
import time
import traceback

import h2
import wsproto
from h2ws import H2Connection
from wsproto.events import BytesMessage, Ping, Pong, TextMessage

QUIET = 0.5  # seconds in which something must not come


def options():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    env = os.environ.get
    p.add_argument("--h2c", default=env("H2_PEER"), help="HOST:PORT, h2c")
    p.add_argument("--tls", default=env("H2_TLS_PEER"), help="HOST:PORT, TLS")
    p.add_argument("--cert", default=env("H2_TLS_CERT"), help="PEM to trust")
    p.add_argument("--name", default=env("H2_TLS_NAME", "localhost"), help="TLS name")
    p.add_argument(
        "--kind",
        default=env("H2_PEER_KIND", "wsecho"),
        choices=["wsecho", "hypercorn"],
    )
    return p.parse_args()


OPT = options()
STRICT = OPT.kind == "wsecho"


def host_port(s):
    host, _, port = s.rpartition(":")
    return host, int(port)


def h2c():
    return H2Connection.connect(*host_port(OPT.h2c))


def tls():
    ctx = ssl.create_default_context(cafile=OPT.cert)
    return H2Connection.connect(*host_port(OPT.tls), tls=ctx, server_name=OPT.name)


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def text_of(size, seed):
    """Text of exactly `size` UTF-8 bytes, with 2-, 3- and 4-byte characters."""
    rng = random.Random(seed)
    words = ["echo", "grüße", "данные", "数据", "😀", "frame", "κόσμε"]
    out, n = [], 0
    while n < size:
        w = rng.choice(words) + " "
        if n + len(w.encode()) > size:
            w = "." * (size - n)
        out.append(w)
        n += len(w.encode())
    return "".join(out)


def bytes_of(size, seed):
    return random.Random(seed).randbytes(size)


# ---------------------------------------------------------------------------
# Cases: each takes a connect function, returns a detail string
# ---------------------------------------------------------------------------


def echo(ws, message):
    ws.send(TextMessage(message) if isinstance(message, str) else BytesMessage(message))
    got, _ = ws.message()
    assert type(got) is type(message), f"{type(message)} echoed as {type(got)}"
    assert got == message, f"{len(message)}-unit message echoed wrong ({len(got)})"


def check_live(conn):
    """The connection still carries a new WebSocket."""
    conn.ping()
    ws = conn.open_websocket("/")
    echo(ws, "still here")
    ws.close(1000, end_stream=True)
    ws.expect_close()


def case_settings(connect):
    conn = connect()
    assert conn.extended_connect_enabled(), "no SETTINGS_ENABLE_CONNECT_PROTOCOL=1"
    return f"SETTINGS_ENABLE_CONNECT_PROTOCOL=1, PING {conn.ping() * 1000:.1f} ms"


def case_echo_small(connect):
    ws = connect().open_websocket("/")
    for m in ["", "héllo wörld 😀", b"", bytes(range(256))]:
        echo(ws, m)
    return "4 messages"


def case_echo_70000(connect):
    ws = connect().open_websocket("/")
    echo(ws, text_of(70000, 1))
    echo(ws, bytes_of(70000, 2))
    return "text and binary, 70000 B each"


def case_fragmented(connect):
    ws = connect().open_websocket("/")
    parts = ["frag-", "mént-", "😀", ""]
    for i, p in enumerate(parts):
        ws.send(TextMessage(p, message_finished=i == len(parts) - 1))
    got, _ = ws.message()
    assert got == "".join(parts), got
    chunks = [bytes_of(30000, i) for i in range(3)]
    for i, c in enumerate(chunks):
        ws.send(BytesMessage(c, message_finished=i == len(chunks) - 1))
    got, _ = ws.message()
    assert got == b"".join(chunks), len(got)
    return "4 text fragments, 3 x 30000 B binary fragments"


def case_ping_pong(connect):
    ws = connect().open_websocket("/")
    ws.send(TextMessage("before", message_finished=False))
    ws.send(Ping(b"ping-1"))  # between two fragments, as RFC 6455 §5.4 allows
    ws.send(TextMessage("-after"))
    events = [ws.next_event() for _ in range(2)]
    pongs = [e for e in events if isinstance(e, Pong)]
    assert [p.payload for p in pongs] == [b"ping-1"], events
    rest = [e for e in events if not isinstance(e, Pong)]
    parts = [e.data for e in rest]
    while not rest or not rest[-1].message_finished:
        rest.append(ws.next_event())
        parts.append(rest[-1].data)
    assert "".join(parts) == "before-after", parts
    return "pong with the ping's payload, mid-message"


def case_close_client_first(connect):
    conn = connect()
    ws = conn.open_websocket("/")
    echo(ws, "x")
    ws.close(1000, "bye")
    close = ws.expect_close()
    assert close.code == 1000, close
    if not STRICT:
        # hypercorn: no END_STREAM after a client-first close; and our END_STREAM
        # now would drop its connection (see the module doc).
        assert not ws.expect_end(QUIET), "hypercorn sent END_STREAM after all"
        return "close 1000 answered; hypercorn: no END_STREAM (known), none sent"
    assert ws.expect_end(), "no END_STREAM after the close reply"
    ws.end_stream()
    check_live(conn)
    return "close 1000 answered, END_STREAM both ways, connection lives"


def case_close_with_end_stream(connect):
    conn = connect()
    ws = conn.open_websocket("/")
    echo(ws, "x")
    ws.close(1001, "going", end_stream=True)
    close = ws.expect_close()
    assert close.code == 1001, close
    ended = ws.expect_end(None if STRICT else QUIET)
    if STRICT:
        assert ended, "no END_STREAM after the close reply"
    else:
        assert not ended, "hypercorn sent END_STREAM after all"
    check_live(conn)
    return f"close 1001 + END_STREAM answered; END_STREAM from the server: {ended}"


def case_close_server_first(connect):
    conn = connect()
    ws = conn.open_websocket("/?close=4000&reason=bye")
    close = ws.expect_close()
    assert (close.code, close.reason) == (4000, "bye"), close
    assert ws.expect_end(), "no END_STREAM after the server's close"
    ws.reply_close(close, end_stream=True)
    if not STRICT:
        return "close 4000 'bye' then END_STREAM; answered (hypercorn then drops)"
    check_live(conn)
    return "close 4000 'bye' then END_STREAM; answered, connection lives"


def case_subprotocol(connect):
    ws = connect().open_websocket("/", subprotocols=["chat", "superchat"])
    assert ws.header("sec-websocket-protocol") == "chat", ws.response_headers
    echo(ws, "chat message")
    return "offered chat, superchat: chat"


def case_deflate(connect):
    ws = connect().open_websocket("/", deflate=True)
    answer = ws.header("sec-websocket-extensions") or ""
    assert answer.startswith("permessage-deflate"), ws.response_headers
    assert [e.name for e in ws.extensions] == ["permessage-deflate"], ws.extensions
    message = "compress me " * 2000
    before = ws.data_received
    echo(ws, message)
    wire = ws.data_received - before
    assert wire < len(message) // 4, f"{len(message)} B echoed in {wire} B of DATA"
    echo(ws, bytes_of(5000, 3))
    return f"{answer!r}; 24000 B of text came in {wire} B of DATA"


def case_many(connect):
    conn = connect()
    sockets = [conn.open_websocket("/") for _ in range(8)]
    ids = [ws.stream_id for ws in sockets]
    assert len(set(ids)) == 8, ids
    for round_ in range(2):
        for i, ws in enumerate(sockets):
            ws.send(TextMessage(f"{round_}:{i}:" + "x" * (1000 * i)))
        for i, ws in reversed(list(enumerate(sockets))):
            got, _ = ws.message()
            assert got == f"{round_}:{i}:" + "x" * (1000 * i), got[:20]
    for ws in sockets:
        ws.close(1000, end_stream=True)
    for ws in sockets:
        assert ws.expect_close().code == 1000
    conn.ping()
    return f"8 WebSockets on streams {ids[0]}..{ids[-1]}, 2 rounds interleaved"


def case_reset(connect):
    conn = connect()
    ws = conn.open_websocket("/")
    echo(ws, "x")
    conn.reset(ws.stream_id)
    time.sleep(0.1)
    check_live(conn)
    return "RST_STREAM CANCEL, the connection carries on"


def case_get(connect):
    conn = connect()
    status, headers, body = conn.get("/")
    ctype = dict(headers).get("content-type", "")
    assert status == 200 and ctype.startswith("text/html") and body, (status, headers)
    detail = f"GET / 200 {ctype}, {len(body)} B"
    if STRICT:
        status, headers, body = conn.get("/metrics")
        assert status == 200 and b"wsecho_" in body, (status, headers, body[:200])
        detail += f"; GET /metrics 200, {len(body)} B"
    return detail


CASES = [
    ("settings", case_settings),
    ("echo small", case_echo_small),
    ("echo 70000 B", case_echo_70000),
    ("echo fragmented", case_fragmented),
    ("ping/pong", case_ping_pong),
    ("close, client first", case_close_client_first),
    ("close + END_STREAM, client first", case_close_with_end_stream),
    ("close, server first", case_close_server_first),
    ("subprotocol", case_subprotocol),
    ("permessage-deflate", case_deflate),
    ("8 WebSockets on one connection", case_many),
    ("reset stream", case_reset),
    ("GET over h2", case_get),
]


def run_checks(work, tally):
    """Runs (name, check) pairs, prints PASS/FAIL lines and the tally line
    `TALLY: N passed, M failed`; returns the exit status. (test_deflate.py has the
    same; importing it would need `websockets` in this venv.)"""
    passed = failed = 0
    for name, fn in work:
        start = time.monotonic()
        try:
            detail = fn()
            passed += 1
            print(f"PASS {name} ({time.monotonic() - start:.2f}s): {detail}", flush=True)
        except Exception as e:
            failed += 1
            print(f"FAIL {name}: {e!r}", flush=True)
            traceback.print_exc()
    print(f"{tally}: {passed} passed, {failed} failed")
    return 1 if failed else 0


def main():
    print(
        f"h2 {h2.__version__}, wsproto {wsproto.__version__} against {OPT.kind}: "
        f"h2c {OPT.h2c}, TLS {OPT.tls}"
    )
    transports = [(label, fn) for label, fn, addr in
                  [("h2c", h2c, OPT.h2c), ("tls", tls, OPT.tls)] if addr]
    if not transports:
        print("no peer: set H2_PEER and/or H2_TLS_PEER (or --h2c / --tls)")
        print("python-h2: 0 passed, 1 failed")
        return 1
    work = [
        (f"{label}: {name}", lambda c=connect, f=fn: f(c))
        for label, connect in transports
        for name, fn in CASES
    ]
    return run_checks(work, "python-h2")


if __name__ == "__main__":
    sys.exit(main())
