#!/usr/bin/env python3
"""One WebSocket echo, with nothing but Python's standard library.

    scripts/ws_echo_check.py ws://127.0.0.1:5050/
    scripts/ws_echo_check.py wss://127.0.0.1:5050/ --fingerprint AB:CD:...

Opens the connection (the handshake's Sec-WebSocket-Accept checked), sends one
masked text message, expects it back unchanged in one unmasked text frame,
closes with 1000 and expects the server's 1000. Over wss:// the certificate is
not verified against a CA: with --fingerprint, its SHA-256 must equal the one
given (wsecho --tls-self-signed prints it on its listening line). Used by
scripts/test-image.sh, against a container holding no client at all. Prints one
line; exits 0 on success, 1 otherwise.
"""

import argparse
import base64
import hashlib
import os
import socket
import ssl
import struct
import sys
import urllib.parse

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def send_frame(sock, opcode, payload):
    mask = os.urandom(4)
    head = bytes([0x80 | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    sock.sendall(head + mask + masked)


def recv_frame(sock):
    b0, b1 = recv_exact(sock, 2)
    if b1 & 0x80:
        raise ValueError("the server masked its frame")
    n = b1 & 0x7F
    if n == 126:
        (n,) = struct.unpack("!H", recv_exact(sock, 2))
    elif n == 127:
        (n,) = struct.unpack("!Q", recv_exact(sock, 8))
    return b0, recv_exact(sock, n)


def check(url, fingerprint, timeout):
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("ws", "wss"):
        raise ValueError("not a ws:// or wss:// URL: %s" % url)
    port = parts.port or (443 if parts.scheme == "wss" else 80)
    sock = socket.create_connection((parts.hostname, port), timeout=timeout)
    if parts.scheme == "wss":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        sock = ctx.wrap_socket(sock, server_hostname=parts.hostname)
        if fingerprint:
            got = hashlib.sha256(sock.getpeercert(binary_form=True)).hexdigest()
            want = fingerprint.replace(":", "").lower()
            if got != want:
                raise ValueError("certificate SHA-256 %s, expected %s" % (got, want))
    key = base64.b64encode(os.urandom(16))
    target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
    host = parts.netloc
    sock.sendall(
        b"GET " + target.encode() + b" HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
        b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += recv_exact(sock, 1)
    lines = head.decode("latin-1").split("\r\n")
    if not lines[0].startswith("HTTP/1.1 101"):
        raise ValueError("handshake answered %r" % lines[0])
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
    headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:] if l)}
    if headers.get("sec-websocket-accept") != accept:
        raise ValueError("Sec-WebSocket-Accept %r, expected %r" % (headers.get("sec-websocket-accept"), accept))
    message = "hello from test-image \u2713".encode()
    send_frame(sock, 0x1, message)
    b0, payload = recv_frame(sock)
    if b0 != 0x81 or payload != message:
        raise ValueError("echo: first byte 0x%02x, payload %r; expected 0x81, %r" % (b0, payload, message))
    send_frame(sock, 0x8, struct.pack("!H", 1000))
    b0, payload = recv_frame(sock)
    if b0 != 0x88 or payload[:2] != struct.pack("!H", 1000):
        raise ValueError("close: first byte 0x%02x, payload %r; expected 0x88 with 1000" % (b0, payload))
    sock.close()
    return len(message)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("url")
    ap.add_argument("--fingerprint", help="expected SHA-256 of the server certificate (wss://)")
    ap.add_argument("--timeout", type=float, default=10.0)
    args = ap.parse_args()
    try:
        n = check(args.url, args.fingerprint, args.timeout)
    except (OSError, ValueError, ConnectionError) as e:
        print("ws-echo: FAIL %s: %s" % (args.url, e))
        return 1
    what = " (certificate fingerprint matches)" if args.fingerprint else ""
    print("ws-echo: ok %s: %d-byte text message echoed, closed with 1000%s" % (args.url, n, what))
    return 0


if __name__ == "__main__":
    sys.exit(main())
