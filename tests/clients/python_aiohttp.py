#!/usr/bin/env python3
"""aiohttp's client (ClientSession.ws_connect) as the client under test of an
Autobahn fuzzingserver (`wstest -m fuzzingserver`, or any server speaking its
driver protocol).

    python_aiohttp.py ws://127.0.0.1:9001 python-aiohttp [--cases 1-517] [--case-timeout 200]

The driver protocol: one connection to BASE/getCaseCount (one text message, the
count), then for each case BASE/runCase?case=N&agent=AGENT, echoing every text and
binary message as it came until the connection ends, then
BASE/updateReports?agent=AGENT.

Offers permessage-deflate (compress=15, aiohttp's only knob: its offer is
"permessage-deflate; client_max_window_bits"). No size limit on messages
(max_msg_size=0), no heartbeat pings of its own (heartbeat=None), pings answered
and the server's close echoed by aiohttp itself (autoping, autoclose).

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

import aiohttp
from aiohttp import WSMsgType

import autobahn_driver


def open_case(session, url):
    return session.ws_connect(
        url,
        compress=15,
        max_msg_size=0,
        heartbeat=None,
        autoping=True,
        autoclose=True,
    )


async def echo(session, url):
    """One connection: echo text and binary messages until it ends."""
    async with open_case(session, url) as ws:
        # The iteration ends on the close (aiohttp has answered it by then).
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await ws.send_str(msg.data)
            elif msg.type == WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
            elif msg.type == WSMsgType.ERROR:
                break  # the library failed the connection: how many cases end


async def run_case(session, url, timeout):
    """None when the case ran to its end, else what went wrong."""
    try:
        await asyncio.wait_for(echo(session, url), timeout)
    except asyncio.TimeoutError:
        return "TIMEOUT after %gs (connection abandoned)" % timeout
    except (aiohttp.WSServerHandshakeError, aiohttp.ClientConnectorError, aiohttp.InvalidURL) as e:
        return "FAILED %s: %s" % (type(e).__name__, e)
    except (aiohttp.ClientError, ConnectionError):
        pass  # the library failed the connection: the case ran
    return None


async def case_count(session, base, timeout):
    async def get():
        async with open_case(session, base + "/getCaseCount") as ws:
            msg = await ws.receive()
            if msg.type != WSMsgType.TEXT:
                raise ValueError("no count message: %r" % (msg,))
            await ws.receive()  # the server's close
            return int(msg.data)

    return await asyncio.wait_for(get(), timeout)


async def main():
    async with aiohttp.ClientSession() as session:
        return await drive(session)


async def drive(session):
    run = autobahn_driver.Run(__doc__)
    try:
        count = await case_count(session, run.base, run.timeout)
    except Exception as e:  # noqa: BLE001 - any failure here ends the run
        return run.no_count(repr(e))
    cases = run.cases(count, "aiohttp %s" % aiohttp.__version__)
    if cases is None:
        return 2
    for case in cases:
        started = time.monotonic()
        run.record(case, await run_case(session, run.case_url(case), run.timeout), started)
    return run.finish(await run_case(session, run.update_url(), run.timeout))


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
