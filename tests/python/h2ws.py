"""A WebSocket-over-HTTP/2 client (RFC 8441) on blocking sockets: Python's `h2` for
HTTP/2 and `wsproto` for the WebSocket frames on a stream's DATA, both independent of
wsecho and of the Rust client in test-support. Pinned by scripts/test-h2-clients.sh.

    conn = H2Connection.connect("127.0.0.1", 8080)             # h2c, prior knowledge
    conn = H2Connection.connect(host, port, tls=ssl_context)   # TLS, ALPN h2
    assert conn.extended_connect_enabled()
    ws = conn.open_websocket("/", subprotocols=["chat"], deflate=True)
    ws.send(TextMessage("hi"))
    event = ws.next_event()                                    # wsproto events
    ws.close(1000); ws.expect_close(); ws.end_stream(); ws.expect_end()

One thread drives a connection: every wait reads the socket and files what comes by
stream, so many WebSockets on one connection are used in turn from one thread. Each
stream's received DATA is acknowledged (its window given back) when the reader takes
it, not when it arrives, so an unread stream keeps its window closed as a real client
would.
"""

import collections
import socket
import ssl
import time

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import CloseConnection, Ping
from wsproto.extensions import PerMessageDeflate
from wsproto.handshake import client_extensions_handshake

TIMEOUT = 10.0  # seconds for any single wait
READ_SIZE = 65536


class StreamEnded(Exception):
    """The stream ended (END_STREAM) where more was awaited."""


class StreamReset(Exception):
    """The server reset the stream: `.code` is its RST_STREAM error code."""

    def __init__(self, stream_id, code):
        super().__init__(f"stream {stream_id} reset with {code!r}")
        self.code = code


class ConnectionEnded(Exception):
    """The connection ended (GOAWAY or the socket closed): `.code` is GOAWAY's error
    code, None if the socket closed without one."""

    def __init__(self, code, detail=b""):
        super().__init__(f"connection ended: GOAWAY {code!r} {detail!r}")
        self.code = code
        self.detail = detail


class _Stream:
    """What has come on one stream and not yet been taken."""

    def __init__(self):
        self.response = None  # [(name, value)] of the response's head, str
        self.data = collections.deque()  # (bytes, flow-controlled length)
        self.ended = False  # END_STREAM received (after the data queued)
        self.reset = None  # RST_STREAM's error code


class H2Connection:
    """One HTTP/2 connection (client side)."""

    def __init__(self, sock, authority, scheme, timeout=TIMEOUT):
        self.sock = sock
        self.authority = authority
        self.scheme = scheme
        self.timeout = timeout
        self.h2 = h2.connection.H2Connection(
            config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        )
        self.streams = {}
        self.ended = None  # ConnectionEnded once it has
        self.settings_seen = False
        self.pongs = 0
        self.h2.initiate_connection()
        self._flush()
        # RFC 9113 §3.4: the server's preface is a SETTINGS frame, its first frame.
        self._wait(lambda: self.settings_seen, "the server's SETTINGS")

    @classmethod
    def connect(cls, host, port, tls=None, server_name=None, timeout=TIMEOUT):
        """h2c with prior knowledge, or over TLS with `tls` (an ssl.SSLContext whose
        ALPN list is set here to h2 alone; the server must choose it)."""
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        scheme = "http"
        if tls is not None:
            tls.set_alpn_protocols(["h2"])
            sock = tls.wrap_socket(sock, server_hostname=server_name or host)
            if sock.selected_alpn_protocol() != "h2":
                raise AssertionError(
                    f"ALPN chose {sock.selected_alpn_protocol()!r}, not h2"
                )
            scheme = "https"
        return cls(sock, f"{server_name or host}:{port}", scheme, timeout)

    def extended_connect_enabled(self):
        """SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 from the server (RFC 8441 §3)."""
        return self.h2.remote_settings.enable_connect_protocol == 1

    def close(self):
        try:
            self.h2.close_connection()
            self._flush()
        except (OSError, h2.exceptions.ProtocolError):
            pass
        self.sock.close()

    # -- requests ---------------------------------------------------------------

    def request(self, method, path, headers=(), protocol=None, end_stream=False):
        """Sends a request's HEADERS; returns its stream id."""
        stream_id = self.h2.get_next_available_stream_id()
        pseudo = [(":method", method)]
        if protocol is not None:
            pseudo.append((":protocol", protocol))
        pseudo += [
            (":scheme", self.scheme),
            (":authority", self.authority),
            (":path", path),
        ]
        self.streams[stream_id] = _Stream()
        self.h2.send_headers(stream_id, pseudo + list(headers), end_stream=end_stream)
        self._flush()
        return stream_id

    def response(self, stream_id):
        """The response's head: (status, [(name, value)]) without pseudo-headers."""
        s = self.streams[stream_id]
        self._wait(lambda: s.response is not None or s.reset is not None, "a response")
        if s.response is None:
            raise StreamReset(stream_id, s.reset)
        status = int(dict(s.response)[":status"])
        return status, [(n, v) for n, v in s.response if not n.startswith(":")]

    def get(self, path):
        """GET `path`: (status, headers, body)."""
        stream_id = self.request("GET", path, end_stream=True)
        status, headers = self.response(stream_id)
        body = bytearray()
        while (chunk := self.read(stream_id)) is not None:
            body += chunk
        return status, headers, bytes(body)

    def open_websocket(self, path="/", subprotocols=(), deflate=False, headers=()):
        """Extended CONNECT (RFC 8441 §4) with `sec-websocket-version: 13` (§5); on
        a 200, an H2WebSocket whose wsproto side has the extensions the server
        accepted. Any other status is an AssertionError naming it."""
        extra = [("sec-websocket-version", "13")]
        if subprotocols:
            extra.append(("sec-websocket-protocol", ", ".join(subprotocols)))
        offered = []
        if deflate:
            pmd = PerMessageDeflate()
            offered.append(pmd)
            extra.append(("sec-websocket-extensions", f"{pmd.name}; {pmd.offer()}"))
        stream_id = self.request(
            "CONNECT", path, extra + list(headers), protocol="websocket"
        )
        status, response = self.response(stream_id)
        if status != 200:
            raise AssertionError(f"CONNECT {path} answered {status}: {response}")
        accepted = [v for n, v in response if n == "sec-websocket-extensions"]
        extensions = client_extensions_handshake(
            [e.strip() for v in accepted for e in v.split(",")], offered
        )
        return H2WebSocket(self, stream_id, response, extensions)

    # -- one stream's DATA ------------------------------------------------------

    def send(self, stream_id, data, end_stream=False):
        """Sends `data` as DATA within the server's flow-control windows, waiting
        for WINDOW_UPDATEs as needed; with `end_stream`, END_STREAM is set on the
        last DATA frame (an empty one if `data` is)."""
        view = memoryview(data)
        if not view and not end_stream:
            return
        while True:
            # RFC 9113 §6.9: "A sender MUST NOT send a flow-controlled frame with
            # a length that exceeds the space available in either of the
            # flow-control windows advertised by the receiver."
            if view:
                self._wait(
                    lambda: self.h2.local_flow_control_window(stream_id) > 0,
                    "flow-control window",
                )
            n = min(
                len(view),
                self.h2.local_flow_control_window(stream_id),
                self.h2.max_outbound_frame_size,
            )
            last = n == len(view)
            self.h2.send_data(
                stream_id, view[:n].tobytes(), end_stream=end_stream and last
            )
            view = view[n:]
            self._flush()
            if last:
                return

    def end_stream(self, stream_id):
        self.h2.end_stream(stream_id)
        self._flush()

    def reset(self, stream_id, code=h2.errors.ErrorCodes.CANCEL):
        self.h2.reset_stream(stream_id, code)
        self._flush()

    def read(self, stream_id, timeout=None):
        """The next DATA bytes of the stream (acknowledged now), None at
        END_STREAM; StreamReset if reset, TimeoutError if nothing came."""
        s = self.streams[stream_id]
        self._wait(lambda: s.data or s.ended or s.reset is not None, "DATA", timeout)
        if s.data:
            data, flow = s.data.popleft()
            if flow and self.ended is None:
                # On a stream already closed h2 gives back the connection's
                # window alone.
                self.h2.acknowledge_received_data(flow, stream_id)
                self._flush()
            return data
        if s.reset is not None:
            raise StreamReset(stream_id, s.reset)
        return None

    def ping(self):
        """A PING answered: the round trip in seconds."""
        start, before = time.monotonic(), self.pongs
        self.h2.ping(b"h2ws-png")
        self._flush()
        self._wait(lambda: self.pongs > before, "PING's ACK")
        return time.monotonic() - start

    # -- the socket -------------------------------------------------------------

    def _flush(self):
        out = self.h2.data_to_send()
        if out:
            self.sock.sendall(out)

    def _wait(self, done, what, timeout=None):
        """Reads and files frames until done() is true; TimeoutError after the
        timeout, ConnectionEnded if the connection ends first."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not done():
            if self.ended is not None:
                raise self.ended
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"waiting for {what}")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(READ_SIZE)
            except socket.timeout:
                raise TimeoutError(f"waiting for {what}") from None
            except (ConnectionResetError, ssl.SSLError) as e:
                self.ended = ConnectionEnded(None, repr(e).encode())
                continue
            if not data:
                self.ended = ConnectionEnded(None, b"the socket closed")
                continue
            for event in self.h2.receive_data(data):
                self._file(event)
            self._flush()

    def _file(self, event):
        s = self.streams.get(getattr(event, "stream_id", None))
        if isinstance(event, h2.events.RemoteSettingsChanged):
            self.settings_seen = True
        elif isinstance(event, h2.events.PingAckReceived):
            self.pongs += 1
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.ended = ConnectionEnded(event.error_code, event.additional_data or b"")
        elif s is None:
            return
        elif isinstance(event, h2.events.ResponseReceived):
            s.response = list(event.headers)
        elif isinstance(event, h2.events.DataReceived):
            s.data.append((event.data, event.flow_controlled_length))
        elif isinstance(event, h2.events.StreamEnded):
            s.ended = True
        elif isinstance(event, h2.events.StreamReset):
            s.reset = event.error_code


class H2WebSocket:
    """One WebSocket on one stream: wsproto (client side, handshake skipped: it only
    frames) over the stream's DATA."""

    def __init__(self, conn, stream_id, response_headers, extensions):
        self.conn = conn
        self.stream_id = stream_id
        self.response_headers = response_headers
        self.extensions = extensions
        self.ws = Connection(ConnectionType.CLIENT, extensions=extensions)
        self.pending = collections.deque()
        self.stream_ended = False
        self.end_sent = False
        self.data_received = 0  # DATA payload bytes, as the server sent them

    def header(self, name):
        return next((v for n, v in self.response_headers if n == name), None)

    def send(self, event, end_stream=False):
        """Sends a wsproto event (TextMessage, BytesMessage, Ping, ...); with
        `end_stream`, END_STREAM on its last DATA frame."""
        self.conn.send(self.stream_id, self.ws.send(event), end_stream)
        self.end_sent |= end_stream

    def send_raw(self, data):
        self.conn.send(self.stream_id, data)

    def next_event(self, timeout=None):
        """The next wsproto event; StreamEnded at END_STREAM, StreamReset if reset.
        Pings are answered as they come and returned too."""
        while not self.pending:
            if self.stream_ended:
                raise StreamEnded(f"stream {self.stream_id} ended")
            data = self.conn.read(self.stream_id, timeout)
            if data is None:
                self.stream_ended = True
                continue
            self.data_received += len(data)
            self.ws.receive_data(data)
            for event in self.ws.events():
                if isinstance(event, Ping):
                    self.send(event.response())
                self.pending.append(event)
        return self.pending.popleft()

    def message(self, timeout=None):
        """A whole message (str or bytes) and the number of wsproto events it came
        in (one a frame or less: wsproto hands over a frame's payload as it
        arrives); control frames on the way are skipped (pings answered)."""
        parts, pieces = [], 0
        while True:
            event = self.next_event(timeout)
            if isinstance(event, CloseConnection):
                raise AssertionError(f"a close ({event.code}) inside a message")
            if not hasattr(event, "message_finished"):
                continue
            parts.append(event.data)
            pieces += 1
            if event.message_finished:
                return (parts[0][:0]).join(parts), pieces

    def close(self, code=1000, reason="", end_stream=False):
        """Sends a close frame, with END_STREAM on it if `end_stream`."""
        self.send(CloseConnection(code=code, reason=reason), end_stream)

    def expect_close(self, timeout=None):
        """The server's close frame (a CloseConnection event), messages before it
        skipped. A close the server started is left to the caller to answer
        (`reply_close`)."""
        while True:
            event = self.next_event(timeout)
            if isinstance(event, CloseConnection):
                return event

    def reply_close(self, close, end_stream=False):
        """Answers the server's close frame `close` with the same code."""
        assert self.ws.state == ConnectionState.REMOTE_CLOSING, self.ws.state
        self.send(close.response(), end_stream)

    def end_stream(self):
        """END_STREAM from our side: after the close handshake, like TCP's FIN."""
        self.conn.end_stream(self.stream_id)
        self.end_sent = True

    def expect_end(self, timeout=None):
        """END_STREAM from the server, with nothing before it: True. False if
        nothing came within the timeout (a server that leaves the stream open)."""
        try:
            data = self.conn.read(self.stream_id, timeout)
        except TimeoutError:
            return False
        if data not in (None, b""):
            raise AssertionError(f"{len(data)} bytes of DATA where the end was awaited")
        if data == b"":
            return self.expect_end(timeout)
        self.stream_ended = True
        return True
