#!/usr/bin/env python3
"""websocket-client (the synchronous `websocket` module) as the client under test
of an Autobahn fuzzingserver (`wstest -m fuzzingserver`, or any server speaking its
driver protocol).

    python_websocket_client.py ws://127.0.0.1:9001 python-websocket-client [--cases 1-517] [--case-timeout 200]

The driver protocol: one connection to BASE/getCaseCount (one text message, the
count), then for each case BASE/runCase?case=N&agent=AGENT, echoing every text and
binary message as it came until the connection ends, then
BASE/updateReports?agent=AGENT.

Offers no extension: websocket-client has no permessage-deflate, so the 12.x and
13.x cases grade it UNIMPLEMENTED. Text is validated as UTF-8 by the library
(skip_utf8_validation off) and echoed as text, binary as binary; pings are answered
and the server's close echoed by the library (recv_data). No message limit.

A case that has not ended after --case-timeout seconds (default 200: twice the 100 s
the 9.x cases wait for an echo) is abandoned with a line 'case N: TIMEOUT ...'; a
case whose connection cannot be opened gets 'case N: FAILED ...'. Errors the library
raises while a case runs (protocol errors, invalid UTF-8, a dropped connection) are
how many cases end and are not failures. The last line is
'AGENT: N cases run, N timed out, N failed'; the exit status is 0 only if none timed
out or failed (2 if the case count or the report update failed).
"""

import argparse
import socket
import sys
import time
import urllib.parse

import websocket
from websocket import ABNF


class Timeout(Exception):
    pass


def left(deadline):
    t = deadline - time.monotonic()
    if t <= 0:
        raise Timeout()
    return t


def drain(ws, deadline):
    """After the close handshake: wait (briefly) for the server to drop TCP."""
    try:
        ws.sock.settimeout(min(2.0, max(0.01, deadline - time.monotonic())))
        while ws.sock.recv(65536):
            pass
    except OSError:
        pass


def connection(url, timeout, on_text=None):
    """None when the connection ran to its end, else what went wrong.

    on_text(text) sees text messages when given; otherwise every message is echoed.
    """
    deadline = time.monotonic() + timeout
    try:
        ws = websocket.create_connection(url, timeout=timeout, skip_utf8_validation=False)
    except (socket.timeout, websocket.WebSocketTimeoutException):
        return "TIMEOUT after %gs (opening handshake)" % timeout
    except (OSError, websocket.WebSocketException) as e:
        return "FAILED %s: %s" % (type(e).__name__, e)
    try:
        while True:
            ws.settimeout(left(deadline))
            opcode, data = ws.recv_data(control_frame=False)
            if opcode == ABNF.OPCODE_CLOSE:
                drain(ws, deadline)  # the library has echoed the close
                break
            if on_text is not None:
                if opcode == ABNF.OPCODE_TEXT:
                    on_text(data.decode("utf-8"))
                continue
            ws.settimeout(left(deadline))
            ws.send(data, opcode)  # OPCODE_TEXT or OPCODE_BINARY, as it came
    except (Timeout, socket.timeout, websocket.WebSocketTimeoutException):
        if time.monotonic() >= deadline:
            return "TIMEOUT after %gs (connection abandoned)" % timeout
    except (OSError, websocket.WebSocketException):
        pass  # the library failed the connection, or the server dropped it
    finally:
        ws.shutdown()
    return None


def case_range(spec, count):
    if spec is None:
        return 1, count
    first, _, last = spec.partition("-")
    first, last = int(first), int(last or first)
    if not 1 <= first <= last <= count:
        raise ValueError("--cases %s is not within the server's 1-%d" % (spec, count))
    return first, last


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base", help="the fuzzingserver's base URL, ws://HOST:PORT")
    ap.add_argument("agent", help="the agent name the cases are reported under")
    ap.add_argument("--cases", help="N or FIRST-LAST (1-based); default all")
    ap.add_argument("--case-timeout", type=float, default=200.0, help="seconds per case (default 200)")
    args = ap.parse_args()
    base = args.base.rstrip("/")
    agent = urllib.parse.quote(args.agent, safe="")

    got = []
    err = connection(base + "/getCaseCount", args.case_timeout, got.append)
    try:
        count = int(got[0])
    except (IndexError, ValueError):
        print("%s: FAILED to get the case count from %s: %s" % (args.agent, base, err or got),
              file=sys.stderr)
        return 2
    try:
        first, last = case_range(args.cases, count)
    except ValueError as e:
        print("%s: %s" % (args.agent, e), file=sys.stderr)
        return 2
    print("%s: the server has %d cases; running %d-%d (websocket-client %s)"
          % (args.agent, count, first, last, websocket.__version__), flush=True)

    run = timed_out = failed = 0
    for case in range(first, last + 1):
        started = time.monotonic()
        err = connection("%s/runCase?case=%d&agent=%s" % (base, case, agent), args.case_timeout)
        run += 1
        if err is not None:
            if err.startswith("TIMEOUT"):
                timed_out += 1
            else:
                failed += 1
            print("case %d: %s" % (case, err), flush=True)
        took = time.monotonic() - started
        if took > 5:
            print("case %d: took %.1fs" % (case, took), flush=True)

    status = 0
    err = connection("%s/updateReports?agent=%s" % (base, agent), args.case_timeout)
    if err is not None:
        print("%s: FAILED to update the reports: %s" % (args.agent, err), file=sys.stderr)
        status = 2
    print("%s: %d cases run, %d timed out, %d failed" % (args.agent, run, timed_out, failed), flush=True)
    if status == 0 and (timed_out or failed):
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
