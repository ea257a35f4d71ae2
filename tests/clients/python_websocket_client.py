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

import socket
import sys
import time

import websocket
from websocket import ABNF

import autobahn_driver


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


def main():
    run = autobahn_driver.Run(__doc__)
    got = []
    err = connection(run.count_url(), run.timeout, got.append)
    try:
        count = int(got[0])
    except (IndexError, ValueError):
        return run.no_count(err or got)
    cases = run.cases(count, "websocket-client %s" % websocket.__version__)
    if cases is None:
        return 2
    for case in cases:
        started = time.monotonic()
        run.record(case, connection(run.case_url(case), run.timeout), started)
    return run.finish(connection(run.update_url(), run.timeout))


if __name__ == "__main__":
    sys.exit(main())
