"""Server memory per idle HTTP/2 connection and per further idle WebSocket stream on it
(RFC 8441), as the server's resident set grows: `conns` h2c connections open one
WebSocket each and echo one message; then each opens `streams - 1` more, each echoing
one message. Run by scripts/bench-h2-streams.sh, which starts the server.

    python3 bench/python/h2_streams.py --port PORT --pid PID --conns C --streams S

Prints one line: h2-streams: conns=.. streams=.. rss_per_conn_b=.. rss_per_further_stream_b=..
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "python"))

from h2ws import H2Connection  # noqa: E402
from wsproto.events import TextMessage  # noqa: E402

SETTLE = 0.5  # seconds for the server to go quiet before its memory is read


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def echo_once(ws):
    ws.send(TextMessage("idle soon"))
    message, _ = ws.message()
    if message != "idle soon":
        raise AssertionError(f"echo differs: {message!r}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--conns", type=int, required=True)
    parser.add_argument("--streams", type=int, required=True)
    args = parser.parse_args()
    if args.conns < 1 or args.streams < 2:
        parser.error("--conns must be at least 1 and --streams at least 2")

    time.sleep(SETTLE)
    before = rss_kb(args.pid)
    conns = [H2Connection.connect("127.0.0.1", args.port) for _ in range(args.conns)]
    websockets = []
    for conn in conns:
        if not conn.extended_connect_enabled():
            raise AssertionError("the server does not offer RFC 8441")
        ws = conn.open_websocket("/")
        echo_once(ws)
        websockets.append(ws)
    time.sleep(SETTLE)
    one = rss_kb(args.pid)
    for conn in conns:
        for _ in range(args.streams - 1):
            ws = conn.open_websocket("/")
            echo_once(ws)
            websockets.append(ws)
    time.sleep(SETTLE)
    full = rss_kb(args.pid)
    per_conn = (one - before) * 1024 / args.conns
    per_stream = (full - one) * 1024 / (args.conns * (args.streams - 1))
    print(
        f"h2-streams: conns={args.conns} streams={args.streams} "
        f"rss_per_conn_b={per_conn:.0f} rss_per_further_stream_b={per_stream:.0f}"
    )
    for conn in conns:
        conn.close()


if __name__ == "__main__":
    main()
