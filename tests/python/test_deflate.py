#!/usr/bin/env python3
"""permessage-deflate against a real client: Python's `websockets` (pinned by
scripts/test-deflate-clients.sh).

    WSECHO_URL=ws://127.0.0.1:PORT/ python tests/python/test_deflate.py

For each way of configuring the client (its default offer, explicit
ClientPerMessageDeflateFactory parameters, no offer at all) it checks the
exact Sec-WebSocket-Extensions answer and what the client made of it, then
echoes text and binary messages of 0, 1, 100, 10 KiB, 1 MiB and 8 MiB (those
from 100 B to 1 MiB also in fragments), and checks that every non-empty echo
came back compressed (RSV1) when deflate was agreed, uncompressed when not.

The last line is the tally: `python-deflate: N passed, M failed`; the exit
status is non-zero if anything failed.
"""

import functools
import os
import random
import sys
import threading
import time
import traceback

import websockets
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    PerMessageDeflate,
)
from websockets.sync.client import connect

URL = os.environ.get("WSECHO_URL", "ws://127.0.0.1:5050/")
KIB = 1024
MIB = 1024 * KIB
SIZES = [0, 1, 100, 10 * KIB, 1 * MIB, 8 * MIB]
TIMEOUT = 30  # seconds for any single receive


# ---------------------------------------------------------------------------
# Test data
# ---------------------------------------------------------------------------

_WORDS = [
    "echo",
    "ŵebsocket",
    "deflate",
    "grüße",
    "данные",
    "数据",
    "😀",
    "frame",
    "κόσμε",
]


@functools.cache
def text_of(size: int, seed: int) -> str:
    """Non-ASCII text of exactly `size` UTF-8 bytes (compressible, not trivially)."""
    rng = random.Random(seed)
    parts, n = [], 0
    while n < size:
        w = rng.choice(_WORDS) + " "
        b = len(w.encode())
        if n + b > size:
            w, b = "." * (size - n), size - n
        parts.append(w)
        n += b
    s = "".join(parts)
    assert len(s.encode()) == size
    return s


@functools.cache
def binary_of(size: int, seed: int) -> bytes:
    """Half random bytes, half a repeating pattern: exercises stored and Huffman blocks."""
    rng = random.Random(seed)
    half = size // 2
    pattern = bytes(range(256)) * (size // 256 + 1)
    return rng.randbytes(half) + pattern[: size - half]


# ---------------------------------------------------------------------------
# Counting compressed frames both ways
# ---------------------------------------------------------------------------


class Counts:
    """Frames with RSV1 set, counted at the negotiated extension."""

    def __init__(self, ws):
        self.rsv1_in = 0  # received (first frames of compressed echoes)
        self.rsv1_out = 0  # sent
        exts = ws.protocol.extensions
        if not exts:
            return
        (ext,) = exts
        decode, encode = ext.decode, ext.encode

        def counting_decode(frame, **kw):
            if frame.rsv1:
                self.rsv1_in += 1
            return decode(frame, **kw)

        def counting_encode(frame):
            out = encode(frame)
            if out.rsv1:
                self.rsv1_out += 1
            return out

        # The connection looks these up on the instance for every frame.
        ext.decode, ext.encode = counting_decode, counting_encode


# ---------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------


def open_client(factory_kwargs):
    """factory_kwargs None: no extension offered; "default": websockets' defaults;
    else ClientPerMessageDeflateFactory(**factory_kwargs)."""
    common = dict(
        max_size=16 * MIB, open_timeout=10, close_timeout=10, ping_interval=None
    )
    if factory_kwargs is None:
        return connect(URL, compression=None, **common)
    if factory_kwargs == "default":
        return connect(URL, **common)  # compression="deflate" is the default
    factory = ClientPerMessageDeflateFactory(**factory_kwargs)
    return connect(URL, extensions=[factory], compression=None, **common)


def echo_all(ws, counts, compressed: bool, sizes=SIZES):
    """Echoes text and binary messages of every size, whole and fragmented."""
    sent_compressed = 0
    for i, size in enumerate(sizes):
        for kind in ("text", "binary"):
            msg = text_of(size, i) if kind == "text" else binary_of(size, i)
            before = counts.rsv1_in
            ws.send(msg)
            got = ws.recv(timeout=TIMEOUT)
            assert type(got) is type(msg), (
                f"{kind} {size}: echo is {type(got).__name__}"
            )
            assert got == msg, (
                f"{kind} {size}: echo differs (len {len(got)} vs {len(msg)})"
            )
            if compressed and size > 0:
                assert counts.rsv1_in == before + 1, (
                    f"{kind} {size}: echo not compressed"
                )
                sent_compressed += 1
            if not compressed:
                assert counts.rsv1_in == 0
        # Fragmented: websockets sends an iterable as one message in several frames.
        if 100 <= size <= MIB:
            msg = binary_of(size, 100 + i)
            step = max(1, size // 5)
            ws.send([msg[j : j + step] for j in range(0, size, step)])
            got = ws.recv(timeout=TIMEOUT)
            assert got == msg, f"fragmented binary {size}: echo differs"
            text = text_of(size, 200 + i)
            # Split on characters: websockets encodes each fragment separately.
            chars = max(1, len(text) // 4)
            ws.send([text[j : j + chars] for j in range(0, len(text), chars)])
            got = ws.recv(timeout=TIMEOUT)
            assert got == text, f"fragmented text {size}: echo differs"
    if compressed:
        assert counts.rsv1_out > 0, "the client never sent a compressed frame"
    return sent_compressed


def check_case(name, factory_kwargs, expected_header, expected_params):
    """expected_params: (remote_nct, local_nct, remote_bits, local_bits) as the client
    sees them (remote = server), or None when no extension is expected."""
    with open_client(factory_kwargs) as ws:
        counts = Counts(ws)
        offered = ws.request.headers.get("Sec-WebSocket-Extensions")
        answer = ws.response.headers.get("Sec-WebSocket-Extensions")
        assert answer == expected_header, (
            f"offered {offered!r}: answer {answer!r}, expected {expected_header!r}"
        )
        if expected_params is None:
            assert not ws.protocol.extensions, ws.protocol.extensions
        else:
            (ext,) = ws.protocol.extensions
            assert isinstance(ext, PerMessageDeflate), ext
            got = (
                ext.remote_no_context_takeover,
                ext.local_no_context_takeover,
                ext.remote_max_window_bits,
                ext.local_max_window_bits,
            )
            assert got == expected_params, f"agreed {got}, expected {expected_params}"
        echo_all(ws, counts, compressed=expected_params is not None)
        ws.close()
        assert (
            ws.protocol.close_rcvd is not None and ws.protocol.close_rcvd.code == 1000
        ), ws.protocol.close_rcvd
    return f"offered {offered!r} -> {answer!r}"


def check_concurrent():
    """Four connections with different parameters, interleaved."""
    configs = [
        {},
        {"server_no_context_takeover": True},
        {"server_max_window_bits": 9, "client_max_window_bits": 10},
        {"client_no_context_takeover": True},
    ]
    errors = []

    def run(kwargs):
        try:
            with open_client(kwargs) as ws:
                counts = Counts(ws)
                echo_all(
                    ws, counts, compressed=True, sizes=[0, 1, 100, 10 * KIB, 100 * KIB]
                )
        except Exception as e:  # reported below
            errors.append(f"{kwargs}: {e!r}")

    threads = [threading.Thread(target=run, args=(k,)) for k in configs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
        assert not t.is_alive(), "a concurrent client hung"
    assert not errors, errors
    return "4 clients"


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------


def cases():
    # (name, factory kwargs, exact answer, (remote_nct, local_nct, remote_bits, local_bits))
    out = [
        # websockets' default offer: "permessage-deflate; client_max_window_bits".
        ("default offer", "default", "permessage-deflate", (False, False, 15, 15)),
        ("factory without arguments", {}, "permessage-deflate", (False, False, 15, 15)),
        (
            "server_no_context_takeover",
            {"server_no_context_takeover": True},
            "permessage-deflate; server_no_context_takeover",
            (True, False, 15, 15),
        ),
        (
            "client_no_context_takeover",
            {"client_no_context_takeover": True},
            "permessage-deflate; client_no_context_takeover",
            (False, True, 15, 15),
        ),
        (
            "both no_context_takeover",
            {"server_no_context_takeover": True, "client_no_context_takeover": True},
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
            (True, True, 15, 15),
        ),
        (
            "client_max_window_bits not offered",
            {"client_max_window_bits": None},
            "permessage-deflate",
            (False, False, 15, 15),
        ),
    ]
    for bits in range(9, 16):
        out.append(
            (
                f"server_max_window_bits={bits}",
                {"server_max_window_bits": bits},
                f"permessage-deflate; server_max_window_bits={bits}",
                (False, False, bits, 15),
            )
        )
    for bits in range(9, 16):
        answer = "permessage-deflate" + (
            f"; client_max_window_bits={bits}" if bits < 15 else ""
        )
        out.append(
            (
                f"client_max_window_bits={bits}",
                {"client_max_window_bits": bits},
                answer,
                (False, False, 15, bits),
            )
        )
    out.append(
        (
            "every parameter",
            {
                "server_no_context_takeover": True,
                "client_no_context_takeover": True,
                "server_max_window_bits": 10,
                "client_max_window_bits": 11,
            },
            (
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
                "server_max_window_bits=10; client_max_window_bits=11"
            ),
            (True, True, 10, 11),
        )
    )
    out.append(("no deflate offered", None, None, None))
    return out


def run_checks(work, tally):
    """Runs (name, check) pairs, prints PASS/FAIL lines and the tally line
    `TALLY: N passed, M failed`; returns the exit status."""
    passed = failed = 0
    for name, fn in work:
        start = time.monotonic()
        try:
            detail = fn()
            passed += 1
            print(
                f"PASS {name} ({time.monotonic() - start:.2f}s): {detail}", flush=True
            )
        except Exception as e:
            failed += 1
            print(f"FAIL {name}: {e!r}", flush=True)
            traceback.print_exc()
    print(f"{tally}: {passed} passed, {failed} failed")
    return 1 if failed else 0


def check_trace():
    """The wire trace of a compressed echo (issue 26): with the server started with
    --trace-on-request --trace-file WSECHO_TRACE_FILE, a `?trace` connection sending
    `hello` with the client's default permessage-deflate is shown compressed, with the
    message inflated under it, and never as text that is "not UTF-8"."""
    path = os.environ.get("WSECHO_TRACE_FILE")
    if not path:
        return "skipped: WSECHO_TRACE_FILE not set"
    with connect(URL + "?trace", open_timeout=TIMEOUT) as ws:
        ws.send("hello")
        echo = ws.recv(timeout=TIMEOUT)
    assert echo == "hello", f"echo {echo!r}"
    deadline = time.monotonic() + 5
    trace = ""
    while time.monotonic() < deadline:
        with open(path, encoding="utf-8") as f:
            trace = f.read()
        if trace.count("message inflated: 5 bytes") >= 2:
            break
        time.sleep(0.05)
    assert "not UTF-8" not in trace, trace
    rx = [l for l in trace.splitlines() if "RX FRAME : OPCODE=1" in l]
    tx = [l for l in trace.splitlines() if "TX FRAME : OPCODE=1" in l]
    assert rx and tx, trace
    assert all("RSV=4" in l and l.endswith(", COMPRESSED") for l in rx + tx), trace
    assert trace.count("message inflated: 5 bytes") == 2, trace
    assert trace.count(': "hello"\n') == 2, trace
    return "shown COMPRESSED, with the message inflated: \"hello\" both ways"


def main():
    print(f"websockets {websockets.__version__} against {URL}")
    work = [(case[0], functools.partial(check_case, *case)) for case in cases()]
    work.append(("4 concurrent clients", check_concurrent))
    work.append(("the trace of a compressed echo", check_trace))
    return run_checks(work, "python-deflate")


if __name__ == "__main__":
    sys.exit(main())
