"""A tiny ASGI echo app for hypercorn: the independent RFC 8441 server that the
HTTP/2 test clients are checked against (scripts/test-h2-clients.sh --peer hypercorn),
doing what wsecho does for the cases they run.

    hypercorn tests/python/h2_echo_app.py:app --bind 127.0.0.1:PORT

- a WebSocket echoes each message, text as text, bytes as bytes, and accepts the
  client's first offered subprotocol (as wsecho does without --subprotocol);
  hypercorn itself answers pings and negotiates permessage-deflate;
- `?close=CODE&reason=TEXT` on the WebSocket's path closes it with that code right
  after the handshake, like wsecho's behaviour of the same name;
- any HTTP request gets 200 with a small HTML page.
"""

from urllib.parse import parse_qs

PAGE = b"<!doctype html><title>h2 echo</title><p>hypercorn echo peer\n"


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    elif scope["type"] == "http":
        while (await receive()).get("more_body"):
            pass
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(PAGE)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": PAGE})
    elif scope["type"] == "websocket":
        await websocket(scope, receive, send)


async def websocket(scope, receive, send):
    assert (await receive())["type"] == "websocket.connect"
    offered = scope.get("subprotocols") or []
    await send(
        {"type": "websocket.accept", "subprotocol": offered[0] if offered else None}
    )
    query = parse_qs(scope["query_string"].decode())
    if "close" in query:
        await send(
            {
                "type": "websocket.close",
                "code": int(query["close"][0]),
                "reason": query.get("reason", [""])[0],
            }
        )
        return
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("bytes") is not None:
            await send({"type": "websocket.send", "bytes": message["bytes"]})
        else:
            await send({"type": "websocket.send", "text": message["text"]})
