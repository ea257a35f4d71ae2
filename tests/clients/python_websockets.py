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

import asyncio
import sys
import time

import websockets
from websockets.asyncio.client import connect

import autobahn_driver


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


async def main():
    run = autobahn_driver.Run(__doc__)
    try:
        count = await case_count(run.base, run.timeout)
    except Exception as e:  # noqa: BLE001 - any failure here ends the run
        return run.no_count(repr(e))
    cases = run.cases(count, "websockets %s" % websockets.__version__)
    if cases is None:
        return 2
    for case in cases:
        started = time.monotonic()
        run.record(case, await run_case(run.case_url(case), run.timeout), started)
    return run.finish(await run_case(run.update_url(), run.timeout))


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
