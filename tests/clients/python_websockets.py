#!/usr/bin/env python3
"""Python `websockets` (asyncio client) as the client under test of an Autobahn
fuzzingserver (`wstest -m fuzzingserver`, or any server speaking its driver protocol).

    python_websockets.py ws://127.0.0.1:9001 python-websockets [--cases 1-517] [--case-timeout 200]

The driver protocol: one connection to BASE/getCaseCount (one text message, the
count), then for each case BASE/runCase?case=N&agent=AGENT, echoing every text and
binary message as it came until the connection ends, then
BASE/updateReports?agent=AGENT.

Offers permessage-deflate as the library does by default (compression="deflate":
the offer "permessage-deflate; client_max_window_bits", so the server may ask for
any client window). No size limit on messages (max_size=None: the suite's largest is 16 MiB),
no keepalive pings of its own (ping_interval=None: an unsolicited ping would be
recorded by the case and change its grade). The limit of 4096 fragments a message
(WEBSOCKETS_MAX_FRAGMENTS) is left as the library sets it: 9.3.1-9.3.3 and
9.4.1-9.4.3 send 4 MiB in smaller fragments, and websockets fails them with 1009,
which Autobahn grades FAILED. Kept on purpose: it is the library's default, and a
client that gives up mid-message is a grading path of its own.

A case that has not ended after --case-timeout seconds (default 200: twice the 100 s
the 9.x cases wait for an echo) is abandoned with a line 'case N: TIMEOUT ...'; a
case whose connection cannot be opened gets 'case N: FAILED ...'. Errors the library
raises while a case runs (protocol errors, invalid UTF-8, a dropped connection) are
how many cases end and are not failures. The last line is
'AGENT: N cases run, N timed out, N failed'; the exit status is 0 only if none timed
out or failed (2 if the case count or the report update failed).
"""

import argparse
import asyncio
import sys
import time
import urllib.parse

import websockets
from websockets.asyncio.client import connect


def open_case(url):
    # open_timeout and close_timeout stay at the library's 10 s: the close timeout
    # also bounds how long an abandoned case takes to let go.
    return connect(
        url,
        compression="deflate",
        max_size=None,
        max_queue=None,
        ping_interval=None,
    )


async def echo(url):
    """One connection: echo text and binary messages until it ends."""
    async with open_case(url) as ws:
        try:
            async for msg in ws:
                await ws.send(msg)  # str is sent as text, bytes as binary
        except websockets.ConnectionClosed:
            pass  # failed by either side: how many cases end


async def run_case(url, timeout):
    """None when the case ran to its end, else what went wrong."""
    try:
        await asyncio.wait_for(echo(url), timeout)
    except asyncio.TimeoutError:
        return "TIMEOUT after %gs (connection abandoned)" % timeout
    except (OSError, websockets.InvalidHandshake, websockets.InvalidURI) as e:
        return "FAILED %s: %s" % (type(e).__name__, e)
    except websockets.WebSocketException:
        pass  # the library failed the connection: the case ran
    return None


async def case_count(base, timeout):
    async def get():
        async with open_case(base + "/getCaseCount") as ws:
            count = int(await ws.recv())
            try:
                await ws.recv()  # the server's close
            except websockets.ConnectionClosed:
                pass
            return count

    return await asyncio.wait_for(get(), timeout)


def case_range(spec, count):
    if spec is None:
        return 1, count
    first, _, last = spec.partition("-")
    first, last = int(first), int(last or first)
    if not 1 <= first <= last <= count:
        raise ValueError("--cases %s is not within the server's 1-%d" % (spec, count))
    return first, last


async def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base", help="the fuzzingserver's base URL, ws://HOST:PORT")
    ap.add_argument("agent", help="the agent name the cases are reported under")
    ap.add_argument("--cases", help="N or FIRST-LAST (1-based); default all")
    ap.add_argument("--case-timeout", type=float, default=200.0, help="seconds per case (default 200)")
    args = ap.parse_args()
    base = args.base.rstrip("/")
    agent = urllib.parse.quote(args.agent, safe="")

    try:
        count = await case_count(base, args.case_timeout)
    except Exception as e:  # noqa: BLE001 - any failure here ends the run
        print("%s: FAILED to get the case count from %s: %r" % (args.agent, base, e), file=sys.stderr)
        return 2
    try:
        first, last = case_range(args.cases, count)
    except ValueError as e:
        print("%s: %s" % (args.agent, e), file=sys.stderr)
        return 2
    print("%s: the server has %d cases; running %d-%d (websockets %s)"
          % (args.agent, count, first, last, websockets.__version__), flush=True)

    run = timed_out = failed = 0
    for case in range(first, last + 1):
        started = time.monotonic()
        err = await run_case("%s/runCase?case=%d&agent=%s" % (base, case, agent), args.case_timeout)
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
    err = await run_case("%s/updateReports?agent=%s" % (base, agent), args.case_timeout)
    if err is not None:
        print("%s: FAILED to update the reports: %s" % (args.agent, err), file=sys.stderr)
        status = 2
    print("%s: %d cases run, %d timed out, %d failed" % (args.agent, run, timed_out, failed), flush=True)
    if status == 0 and (timed_out or failed):
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
