//! The load generator's HTTP/2 client: one connection carrying one WebSocket, opened by an
//! RFC 8441 extended CONNECT. [`H2Io`] sits under `Conn` like `TlsIo` does, and is read and
//! written like the socket: reads give the bytes of the stream's DATA frames, writes are
//! framed into DATA within the server's flow-control windows and MAX_FRAME_SIZE. Control
//! frames are answered inside (SETTINGS ACK, PING ACK, WINDOW_UPDATE), so the WebSocket
//! workloads run over it unchanged.
//!
//! Input is read 64 KiB at a time into a fixed buffer and DATA payload is copied out as it
//! streams through; output is framed into a fixed buffer. Nothing is allocated per message.

pub mod flow;
pub mod frame;
pub mod hpack;

use std::io::{self, ErrorKind, Read, Write};

use mio::net::TcpStream;

use crate::stream::Stream;
use flow::{FlowControlError, RecvWindow, SendWindow};
use frame::{
    DEFAULT_MAX_FRAME, DEFAULT_WINDOW, ErrorCode, HEADER_LEN, Header, Kind, MAX_MAX_FRAME,
    MAX_WINDOW, PING_LEN, PREFACE, STREAM, WINDOW_UPDATE_LEN, flags, setting,
};
use hpack::StatusError;

/// Bytes read from the layer below at a time; a control frame must fit whole, and none may
/// exceed our SETTINGS_MAX_FRAME_SIZE (the default, 16 KiB).
pub const IN_BUF: usize = 64 << 10;

/// Output framed but not yet taken by the layer below.
pub const OUT_BUF: usize = 64 << 10;

/// Output space DATA leaves free for the control frames the client answers with (a SETTINGS
/// ACK, PING ACKs, two WINDOW_UPDATEs), so they never wait behind a window's worth of DATA.
const CONTROL_RESERVE: usize = 512;

/// The stream and connection windows the client advertises, 16 MiB: a 16 MiB echo never
/// waits for a WINDOW_UPDATE, and small echoes cost one per 4 MiB (see `RecvWindow`).
pub const RECV_WINDOW: u32 = 16 << 20;

/// Why the HTTP/2 connection or its stream failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The server broke RFC 9113 or RFC 8441; the code is the GOAWAY an endpoint would send.
    Protocol(ErrorCode, &'static str),
    /// The server closed the connection with GOAWAY.
    GoAway { code: ErrorCode, debug: String },
    /// The server reset the WebSocket's stream.
    Reset(ErrorCode),
    /// The extended CONNECT was answered with another status than 200.
    Refused(u16),
    /// The response's `:status` could not be read.
    Status(StatusError),
    /// RFC 8441 §3: the server's first SETTINGS lack SETTINGS_ENABLE_CONNECT_PROTOCOL = 1.
    NoConnectProtocol,
    /// The server allows no concurrent stream (SETTINGS_MAX_CONCURRENT_STREAMS = 0).
    NoStreams,
    /// TLS was negotiated without ALPN `h2`.
    NotH2,
    /// The server sends control frames to answer faster than it reads the answers.
    OutputFull,
    /// The server ended the connection before answering the extended CONNECT.
    Eof,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Protocol(code, why) => write!(f, "HTTP/2 {code}: {why}"),
            Error::GoAway { code, debug } => write!(f, "server sent GOAWAY {code} {debug:?}"),
            Error::Reset(code) => write!(f, "server reset the WebSocket stream: {code}"),
            Error::Refused(status) => write!(f, "extended CONNECT answered with :status {status}"),
            Error::Status(e) => write!(f, "extended CONNECT response: {e}"),
            Error::NoConnectProtocol => f.write_str(
                "server SETTINGS lack SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441 §3)",
            ),
            Error::NoStreams => f.write_str("server allows no stream (MAX_CONCURRENT_STREAMS 0)"),
            Error::NotH2 => f.write_str("TLS negotiated no ALPN h2"),
            Error::OutputFull => f.write_str("server sends control frames faster than it reads"),
            Error::Eof => f.write_str("server closed the connection before answering"),
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for io::Error {
    fn from(e: Error) -> io::Error {
        io::Error::new(ErrorKind::InvalidData, e)
    }
}

impl From<FlowControlError> for Error {
    fn from(_: FlowControlError) -> Error {
        Error::Protocol(
            ErrorCode::FlowControl,
            "a flow-control window went past its bounds (RFC 9113 §6.9)",
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Preface and SETTINGS sent; RFC 8441 §3 has the client wait for the server's SETTINGS.
    AwaitSettings,
    /// HEADERS sent, the response not yet read.
    AwaitResponse,
    /// `:status 200`: the stream carries the WebSocket.
    Open,
}

/// Where the reader is in the server's frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rx {
    Header,
    /// Inside a DATA frame: payload left, then padding left.
    Data {
        left: u32,
        pad: u32,
        end_stream: bool,
    },
    /// Inside a frame that is read past (unknown types, PRIORITY).
    Skip {
        left: u32,
    },
}

/// One HTTP/2 connection carrying one WebSocket stream, over a socket or TLS.
pub struct H2Io {
    inner: Stream,
    /// The request's header block, sent once the server's SETTINGS allow it.
    request: Vec<u8>,
    state: State,
    /// END_STREAM arrived: the WebSocket's byte stream has ended.
    ended: bool,
    /// A header block continues in CONTINUATION frames.
    continuation: bool,
    inb: Box<[u8]>,
    /// `inb[istart..iend]` is read but not yet handled.
    istart: usize,
    iend: usize,
    /// The last read from below came back short or would have blocked.
    below_drained: bool,
    rx: Rx,
    out: Box<[u8]>,
    /// `out[ostart..oend]` is framed but not yet taken by the layer below.
    ostart: usize,
    oend: usize,
    send_conn: SendWindow,
    send_stream: SendWindow,
    /// The server's SETTINGS_INITIAL_WINDOW_SIZE, SETTINGS_MAX_FRAME_SIZE,
    /// SETTINGS_MAX_CONCURRENT_STREAMS and SETTINGS_ENABLE_CONNECT_PROTOCOL.
    peer_initial_window: u32,
    peer_max_frame: u32,
    peer_max_streams: Option<u32>,
    connect_protocol: bool,
    recv_conn: RecvWindow,
    recv_stream: RecvWindow,
}

impl H2Io {
    /// A client over `inner` (TLS must offer ALPN h2), for a WebSocket at `/` on
    /// `authority`; the preface and SETTINGS are queued at once.
    pub fn client(inner: Stream, authority: &str) -> H2Io {
        let https = matches!(inner, Stream::Tls(_));
        let mut io = H2Io {
            inner,
            request: hpack::connect_request(https, authority),
            state: State::AwaitSettings,
            ended: false,
            continuation: false,
            inb: vec![0; IN_BUF].into_boxed_slice(),
            istart: 0,
            iend: 0,
            below_drained: false,
            rx: Rx::Header,
            out: vec![0; OUT_BUF].into_boxed_slice(),
            ostart: 0,
            oend: 0,
            send_conn: SendWindow::new(DEFAULT_WINDOW),
            send_stream: SendWindow::new(DEFAULT_WINDOW),
            peer_initial_window: DEFAULT_WINDOW,
            peer_max_frame: DEFAULT_MAX_FRAME,
            peer_max_streams: None,
            connect_protocol: false,
            // RFC 9113 §6.9.2: the connection window starts at 65,535 whatever SETTINGS say;
            // the stream's starts at our SETTINGS_INITIAL_WINDOW_SIZE, which the server has
            // applied before it reads our HEADERS.
            recv_conn: RecvWindow::new(DEFAULT_WINDOW, RECV_WINDOW),
            recv_stream: RecvWindow::new(RECV_WINDOW, RECV_WINDOW),
        };
        io.queue_preface();
        io
    }

    fn queue_preface(&mut self) {
        let params = [
            // No dynamic table: the response's :status is then a static or literal field.
            (setting::HEADER_TABLE_SIZE, 0),
            (setting::ENABLE_PUSH, 0),
            (setting::INITIAL_WINDOW_SIZE, RECV_WINDOW),
        ];
        let mut settings = [0u8; frame::settings_len(3)];
        frame::write_settings(&mut settings, &params);
        // 24 + 27 + 13 bytes into an empty 64 KiB buffer: these cannot fail.
        let _ = self.queue(PREFACE);
        let _ = self.queue(&settings);
        let _ = self.queue_window_updates();
    }

    /// The socket, for registration and socket options.
    pub fn tcp(&mut self) -> &mut TcpStream {
        self.inner.tcp()
    }

    /// Whether the socket is known to be drained: over plain TCP, the last socket read came
    /// back short and all of it has been handled. The load generator then skips the read
    /// that would only return `WouldBlock`, as it does without HTTP/2 (edge-triggered
    /// readiness fires again when more arrives).
    pub fn drained(&self) -> bool {
        self.below_drained && self.istart == self.iend && self.inner.short_read_drains()
    }

    /// Whether output is waiting for the socket.
    pub fn has_pending(&self) -> bool {
        self.ostart < self.oend || self.inner.has_pending()
    }

    /// Writes waiting output until done or the socket is full.
    pub fn send_pending(&mut self) -> io::Result<()> {
        self.inner.send_pending()?;
        while self.ostart < self.oend {
            match self.inner.write(&self.out[self.ostart..self.oend]) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => self.ostart += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.ostart = 0;
        self.oend = 0;
        Ok(())
    }

    /// Reads and handles the server's frames until the stream is open (`Ok(true)`) or the
    /// socket has nothing more (`Ok(false)`).
    pub fn handshake(&mut self) -> io::Result<bool> {
        loop {
            self.process(&mut [])?;
            if self.state == State::Open {
                return Ok(true);
            }
            match self.fill() {
                Ok(true) => {}
                Ok(false) => return Err(Error::Eof.into()),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads more from the layer below: `Ok(false)` at its end.
    fn fill(&mut self) -> io::Result<bool> {
        if self.istart > 0 {
            self.inb.copy_within(self.istart..self.iend, 0);
            self.iend -= self.istart;
            self.istart = 0;
        }
        if self.iend == self.inb.len() {
            // Frames are bounded well below the buffer, so `process` always makes room.
            return Err(Error::Protocol(ErrorCode::Internal, "input buffer stuck full").into());
        }
        let space = self.inb.len() - self.iend;
        loop {
            match self.inner.read(&mut self.inb[self.iend..]) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.iend += n;
                    self.below_drained = n < space;
                    return Ok(true);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    self.below_drained = e.kind() == ErrorKind::WouldBlock;
                    return Err(e);
                }
            }
        }
    }

    /// The bytes DATA may carry now, within both send windows.
    fn window(&self) -> usize {
        self.send_conn.available().min(self.send_stream.available())
    }

    /// Appends control output; fails only when the reserve is used up.
    fn queue(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if self.out.len() - self.oend < bytes.len() && self.ostart > 0 {
            self.out.copy_within(self.ostart..self.oend, 0);
            self.oend -= self.ostart;
            self.ostart = 0;
        }
        let dst = self
            .out
            .get_mut(self.oend..self.oend + bytes.len())
            .ok_or(Error::OutputFull)?;
        dst.copy_from_slice(bytes);
        self.oend += bytes.len();
        Ok(())
    }

    /// Queues the WINDOW_UPDATEs that are due, connection first.
    fn queue_window_updates(&mut self) -> Result<(), Error> {
        for (stream, update) in [
            (0, self.recv_conn.take_update()),
            (STREAM, self.recv_stream.take_update()),
        ] {
            if let Some(increment) = update {
                let mut f = [0u8; WINDOW_UPDATE_LEN];
                frame::write_window_update(&mut f, stream, increment);
                self.queue(&f)?;
            }
        }
        Ok(())
    }

    /// Frames as much of `data` as the windows and the output buffer allow into DATA frames
    /// of at most the server's MAX_FRAME_SIZE; returns how much it took.
    fn frame_data(&mut self, data: &[u8]) -> usize {
        if self.ostart == self.oend {
            self.ostart = 0;
            self.oend = 0;
        } else if self.ostart > self.out.len() / 2 {
            self.out.copy_within(self.ostart..self.oend, 0);
            self.oend -= self.ostart;
            self.ostart = 0;
        }
        let mut taken = 0;
        while let Some(rest) = data.get(taken..).filter(|r| !r.is_empty()) {
            let room = self
                .out
                .len()
                .saturating_sub(self.oend + CONTROL_RESERVE + HEADER_LEN);
            let n = rest
                .len()
                .min(room)
                .min(self.window())
                .min(self.peer_max_frame as usize);
            let Some(dst) = self.out.get_mut(self.oend..self.oend + HEADER_LEN + n) else {
                break;
            };
            if n == 0 {
                break;
            }
            let (head, body) = dst.split_at_mut(HEADER_LEN);
            if let Some(head) = head.first_chunk_mut() {
                frame::write_data_header(head, n, STREAM);
            }
            body.copy_from_slice(&rest[..n]);
            self.oend += HEADER_LEN + n;
            self.send_conn.consume(n);
            self.send_stream.consume(n);
            taken += n;
        }
        taken
    }

    /// Handles buffered input, copying stream data into `dst`; returns the bytes copied.
    /// Data is handed over before any control frame behind it is acted on, so an error
    /// such as a GOAWAY after the server's close frame is reported only if read on.
    fn process(&mut self, dst: &mut [u8]) -> Result<usize, Error> {
        let mut copied = 0;
        loop {
            let avail = self.iend - self.istart;
            match self.rx {
                Rx::Data {
                    left,
                    pad,
                    end_stream,
                } => {
                    if left > 0 {
                        let n = (left as usize).min(avail).min(dst.len() - copied);
                        if n == 0 {
                            break;
                        }
                        dst[copied..copied + n]
                            .copy_from_slice(&self.inb[self.istart..self.istart + n]);
                        copied += n;
                        self.istart += n;
                        self.rx = Rx::Data {
                            left: left - n as u32,
                            pad,
                            end_stream,
                        };
                    } else if pad > 0 {
                        let n = (pad as usize).min(avail);
                        if n == 0 {
                            break;
                        }
                        self.istart += n;
                        self.rx = Rx::Data {
                            left,
                            pad: pad - n as u32,
                            end_stream,
                        };
                    } else {
                        self.rx = Rx::Header;
                        if end_stream {
                            self.ended = true;
                            break;
                        }
                    }
                }
                Rx::Skip { left } => {
                    let n = (left as usize).min(avail);
                    if n == 0 && left > 0 {
                        break;
                    }
                    self.istart += n;
                    self.rx = match left - n as u32 {
                        0 => Rx::Header,
                        left => Rx::Skip { left },
                    };
                }
                Rx::Header => {
                    // Nothing after END_STREAM reaches the WebSocket.
                    if self.ended {
                        break;
                    }
                    let Some(h) = Header::parse(&self.inb[self.istart..self.iend]) else {
                        break;
                    };
                    // RFC 9113 §4.2: "An endpoint MUST send an error code of
                    // FRAME_SIZE_ERROR if a frame exceeds the size defined in
                    // SETTINGS_MAX_FRAME_SIZE".
                    if h.len > DEFAULT_MAX_FRAME {
                        return Err(Error::Protocol(
                            ErrorCode::FrameSize,
                            "a frame exceeds SETTINGS_MAX_FRAME_SIZE",
                        ));
                    }
                    // RFC 9113 §6.10: "Any number of CONTINUATION frames can be sent, as
                    // long as the preceding frame is on the same stream and is a HEADERS,
                    // PUSH_PROMISE, or CONTINUATION frame without the END_HEADERS flag set."
                    if self.continuation && h.kind != Kind::Continuation {
                        return Err(Error::Protocol(
                            ErrorCode::Protocol,
                            "a header block was interrupted before END_HEADERS",
                        ));
                    }
                    match h.kind {
                        Kind::Data => {
                            if !self.start_data(h, avail)? {
                                break;
                            }
                            continue;
                        }
                        Kind::Unknown(_) | Kind::Priority => {
                            self.istart += HEADER_LEN;
                            self.rx = Rx::Skip { left: h.len };
                            continue;
                        }
                        _ => {}
                    }
                    let total = HEADER_LEN + h.len as usize;
                    if copied > 0 || avail < total {
                        break;
                    }
                    let start = self.istart + HEADER_LEN;
                    self.istart += total;
                    self.control(h, start)?;
                }
            }
        }
        Ok(copied)
    }

    /// Enters a DATA frame whose header is at `istart`; false if its Pad Length byte is not
    /// read yet.
    fn start_data(&mut self, h: Header, avail: usize) -> Result<bool, Error> {
        // RFC 9113 §6.1: "If a DATA frame is received whose Stream Identifier field is
        // 0x00, the recipient MUST respond with a connection error of type PROTOCOL_ERROR."
        if h.stream != STREAM || self.state != State::Open {
            return Err(Error::Protocol(
                ErrorCode::Protocol,
                "DATA outside the open WebSocket stream",
            ));
        }
        let padded = h.has(flags::PADDED);
        let pad = if padded {
            let Some(&pad) = self
                .inb
                .get(self.istart + HEADER_LEN)
                .filter(|_| avail > HEADER_LEN)
            else {
                return Ok(false);
            };
            // RFC 9113 §6.1: "If the length of the padding is the length of the frame
            // payload or greater, the recipient MUST treat this as a connection error".
            if u32::from(pad) >= h.len {
                return Err(Error::Protocol(
                    ErrorCode::Protocol,
                    "DATA padding as long as the frame",
                ));
            }
            u32::from(pad)
        } else {
            0
        };
        self.recv_conn.receive(h.len)?;
        self.recv_stream.receive(h.len)?;
        self.queue_window_updates()?;
        self.istart += HEADER_LEN + usize::from(padded);
        self.rx = Rx::Data {
            left: h.len - u32::from(padded) - pad,
            pad,
            end_stream: h.has(flags::END_STREAM),
        };
        Ok(true)
    }

    /// Acts on a whole control frame whose payload starts at `inb[start]`.
    fn control(&mut self, h: Header, start: usize) -> Result<(), Error> {
        let payload = start..start + h.len as usize;
        let bad = |code, why| Err(Error::Protocol(code, why));
        if self.state == State::AwaitSettings && h.kind != Kind::Settings {
            // RFC 9113 §3.4: the server's preface "MUST be the first frame the server sends".
            return bad(
                ErrorCode::Protocol,
                "the server's first frame is not SETTINGS",
            );
        }
        match h.kind {
            Kind::Settings => {
                // RFC 9113 §6.5: "If an endpoint receives a SETTINGS frame whose Stream
                // Identifier field is anything other than 0x00, ... PROTOCOL_ERROR."
                if h.stream != 0 {
                    return bad(ErrorCode::Protocol, "SETTINGS on a stream");
                }
                if h.has(flags::ACK) {
                    // RFC 9113 §6.5: "Receipt of a SETTINGS frame with the ACK flag set and a
                    // length field value other than 0 MUST be treated as ... FRAME_SIZE_ERROR".
                    return match h.len {
                        0 => Ok(()),
                        _ => bad(ErrorCode::FrameSize, "SETTINGS ACK with a payload"),
                    };
                }
                // RFC 9113 §6.5: "A SETTINGS frame with a length other than a multiple of 6
                // octets MUST be treated as a connection error ... FRAME_SIZE_ERROR."
                if !h.len.is_multiple_of(6) {
                    return bad(ErrorCode::FrameSize, "SETTINGS not a multiple of 6 octets");
                }
                for at in payload.step_by(6) {
                    let Some(&[i0, i1, v0, v1, v2, v3]) = self.inb.get(at..at + 6) else {
                        return bad(ErrorCode::FrameSize, "SETTINGS cut short");
                    };
                    self.apply_setting(
                        u16::from_be_bytes([i0, i1]),
                        u32::from_be_bytes([v0, v1, v2, v3]),
                    )?;
                }
                // RFC 9113 §6.5.3: "Upon receiving and processing ... the receiver MUST
                // immediately emit a SETTINGS frame with the ACK flag set."
                self.queue(&frame::SETTINGS_ACK)?;
                if self.state == State::AwaitSettings {
                    self.send_request()?;
                }
                Ok(())
            }
            Kind::Ping => {
                // RFC 9113 §6.7: "If a PING frame is received with a Stream Identifier field
                // value other than 0x00, the recipient MUST respond with ... PROTOCOL_ERROR";
                // "a length field value other than 8 MUST be treated as ... FRAME_SIZE_ERROR".
                if h.stream != 0 {
                    return bad(ErrorCode::Protocol, "PING on a stream");
                }
                let Some(&opaque) = self
                    .inb
                    .get(payload)
                    .filter(|_| h.len == 8)
                    .and_then(|p| p.first_chunk::<8>())
                else {
                    return bad(ErrorCode::FrameSize, "PING not 8 octets");
                };
                if !h.has(flags::ACK) {
                    let mut f = [0u8; PING_LEN];
                    frame::write_ping_ack(&mut f, opaque);
                    self.queue(&f)?;
                }
                Ok(())
            }
            Kind::WindowUpdate => {
                // RFC 9113 §6.9: "A WINDOW_UPDATE frame with a length other than 4 octets
                // MUST be treated as a connection error of type FRAME_SIZE_ERROR."
                let Some(&[a, b, c, d]) = self.inb.get(payload).filter(|_| h.len == 4) else {
                    return bad(ErrorCode::FrameSize, "WINDOW_UPDATE not 4 octets");
                };
                let increment = u32::from_be_bytes([a, b, c, d]) & 0x7fff_ffff;
                // RFC 9113 §6.9: "A receiver MUST treat the receipt of a WINDOW_UPDATE frame
                // with a flow-control window increment of 0 as ... PROTOCOL_ERROR".
                if increment == 0 {
                    return bad(ErrorCode::Protocol, "WINDOW_UPDATE of 0");
                }
                match h.stream {
                    0 => self.send_conn.grow(increment)?,
                    STREAM => self.send_stream.grow(increment)?,
                    // Streams the client never opened have no window to grow.
                    _ => {}
                }
                Ok(())
            }
            Kind::Headers => self.response(h, payload),
            Kind::Continuation => {
                // RFC 9113 §6.10: "A CONTINUATION frame MUST be preceded by a HEADERS,
                // PUSH_PROMISE or CONTINUATION frame without the END_HEADERS flag set."
                if !self.continuation || h.stream != STREAM {
                    return bad(ErrorCode::Protocol, "CONTINUATION without a header block");
                }
                // The status came in the HEADERS frame; the rest of the block is not read.
                self.continuation = !h.has(flags::END_HEADERS);
                Ok(())
            }
            Kind::RstStream => {
                // RFC 9113 §6.4: "A RST_STREAM frame with a length other than 4 octets MUST
                // be treated as a connection error of type FRAME_SIZE_ERROR."
                let Some(&[a, b, c, d]) = self.inb.get(payload).filter(|_| h.len == 4) else {
                    return bad(ErrorCode::FrameSize, "RST_STREAM not 4 octets");
                };
                match h.stream {
                    STREAM => Err(Error::Reset(ErrorCode::from_u32(u32::from_be_bytes([
                        a, b, c, d,
                    ])))),
                    // RFC 9113 §6.4: "If a RST_STREAM frame is received with a stream
                    // identifier of 0x00, the recipient MUST treat this as ... PROTOCOL_ERROR."
                    0 => bad(ErrorCode::Protocol, "RST_STREAM on stream 0"),
                    _ => Ok(()),
                }
            }
            Kind::GoAway => {
                let Some((head, debug)) = self.payload(payload)?.split_first_chunk::<8>() else {
                    return bad(ErrorCode::FrameSize, "GOAWAY shorter than 8 octets");
                };
                let [_, _, _, _, c0, c1, c2, c3] = *head;
                Err(Error::GoAway {
                    code: ErrorCode::from_u32(u32::from_be_bytes([c0, c1, c2, c3])),
                    debug: String::from_utf8_lossy(debug).into_owned(),
                })
            }
            // RFC 9113 §8.4: "A client cannot push. ... A client MUST treat receipt of a
            // PUSH_PROMISE frame as a connection error of type PROTOCOL_ERROR" once it has
            // set SETTINGS_ENABLE_PUSH to 0, as this one does.
            Kind::PushPromise => bad(ErrorCode::Protocol, "PUSH_PROMISE though push is off"),
            // Handled by `process` before it gets here.
            Kind::Data | Kind::Priority | Kind::Unknown(_) => Ok(()),
        }
    }

    /// A whole frame's payload, which `process` has checked is buffered.
    fn payload(&self, range: std::ops::Range<usize>) -> Result<&[u8], Error> {
        self.inb.get(range).ok_or(Error::Protocol(
            ErrorCode::Internal,
            "a frame's payload is not buffered",
        ))
    }

    fn apply_setting(&mut self, id: u16, value: u32) -> Result<(), Error> {
        let bad = |code, why| Err(Error::Protocol(code, why));
        match id {
            setting::INITIAL_WINDOW_SIZE => {
                // RFC 9113 §6.5.2: "Values above the maximum flow-control window size of
                // 2^31-1 MUST be treated as a connection error ... FLOW_CONTROL_ERROR."
                if i64::from(value) > MAX_WINDOW {
                    return bad(ErrorCode::FlowControl, "INITIAL_WINDOW_SIZE above 2^31-1");
                }
                self.send_stream
                    .shift(i64::from(value) - i64::from(self.peer_initial_window))?;
                self.peer_initial_window = value;
            }
            setting::MAX_FRAME_SIZE => {
                // RFC 9113 §6.5.2: "Values outside this range MUST be treated as a
                // connection error ... of type PROTOCOL_ERROR."
                if !(DEFAULT_MAX_FRAME..=MAX_MAX_FRAME).contains(&value) {
                    return bad(ErrorCode::Protocol, "MAX_FRAME_SIZE out of range");
                }
                self.peer_max_frame = value;
            }
            // RFC 9113 §6.5.2: "A client MUST treat receipt of a SETTINGS frame with
            // SETTINGS_ENABLE_PUSH set to 1 as a connection error of type PROTOCOL_ERROR."
            setting::ENABLE_PUSH if value != 0 => {
                return bad(ErrorCode::Protocol, "a server set ENABLE_PUSH");
            }
            setting::MAX_CONCURRENT_STREAMS => self.peer_max_streams = Some(value),
            setting::ENABLE_CONNECT_PROTOCOL => {
                // RFC 8441 §3: "A sender MUST NOT send a SETTINGS_ENABLE_CONNECT_PROTOCOL
                // parameter with the value of 0 after previously sending a value of 1."
                match (value, self.connect_protocol) {
                    (0, true) => {
                        return bad(ErrorCode::Protocol, "ENABLE_CONNECT_PROTOCOL 1, then 0");
                    }
                    (0 | 1, _) => self.connect_protocol = value == 1,
                    _ => {
                        return bad(
                            ErrorCode::Protocol,
                            "ENABLE_CONNECT_PROTOCOL neither 0 nor 1",
                        );
                    }
                }
            }
            // RFC 9113 §6.5.2: "An endpoint that receives a SETTINGS frame with any unknown
            // or unsupported identifier MUST ignore that setting."
            _ => {}
        }
        Ok(())
    }

    /// Sends the extended CONNECT, now that the server's SETTINGS are known.
    fn send_request(&mut self) -> Result<(), Error> {
        if let Stream::Tls(tls) = &self.inner
            && tls.alpn_protocol() != Some(crate::tls::ALPN_H2)
        {
            return Err(Error::NotH2);
        }
        // RFC 8441 §3: "a client ... MUST NOT send a CONNECT request with the :protocol
        // pseudo-header unless it has received this setting with a value of 1".
        if !self.connect_protocol {
            return Err(Error::NoConnectProtocol);
        }
        if self.peer_max_streams == Some(0) {
            return Err(Error::NoStreams);
        }
        let block = std::mem::take(&mut self.request);
        if block.len() > self.peer_max_frame as usize {
            return Err(Error::Protocol(
                ErrorCode::FrameSize,
                "request larger than a frame",
            ));
        }
        let mut f = vec![0u8; HEADER_LEN + block.len()];
        frame::write_headers(&mut f, &block, STREAM);
        self.queue(&f)?;
        self.state = State::AwaitResponse;
        Ok(())
    }

    /// The response HEADERS: `:status 200` opens the WebSocket.
    fn response(&mut self, h: Header, payload: std::ops::Range<usize>) -> Result<(), Error> {
        let bad = |code, why| Err(Error::Protocol(code, why));
        if h.stream != STREAM || self.state != State::AwaitResponse {
            return bad(ErrorCode::Protocol, "HEADERS other than the one response");
        }
        let mut body = self.payload(payload)?;
        // RFC 9113 §6.2: Pad Length, then (with PRIORITY) 5 octets, then the fragment,
        // then the padding.
        let mut pad = 0;
        if h.has(flags::PADDED) {
            let Some((&p, rest)) = body.split_first() else {
                return bad(ErrorCode::FrameSize, "HEADERS too short for its padding");
            };
            pad = usize::from(p);
            body = rest;
        }
        if h.has(flags::PRIORITY) {
            let Some(rest) = body.get(5..) else {
                return bad(ErrorCode::FrameSize, "HEADERS too short for its priority");
            };
            body = rest;
        }
        // RFC 9113 §6.2: "If the length of the padding is the length of the frame payload
        // or greater, the recipient MUST treat this as a connection error".
        let Some(block) = body.len().checked_sub(pad).and_then(|end| body.get(..end)) else {
            return bad(ErrorCode::Protocol, "HEADERS padding longer than the frame");
        };
        let status = hpack::response_status(block).map_err(Error::Status)?;
        if status != 200 {
            return Err(Error::Refused(status));
        }
        if h.has(flags::END_STREAM) {
            return bad(ErrorCode::Protocol, "the 200 response ended the stream");
        }
        self.continuation = !h.has(flags::END_HEADERS);
        self.state = State::Open;
        Ok(())
    }
}

impl Read for H2Io {
    /// The WebSocket's bytes; `Ok(0)` once END_STREAM (or the connection's end) is reached,
    /// `WouldBlock` when none is there yet.
    fn read(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        if dst.is_empty() {
            return Ok(0);
        }
        loop {
            let n = self.process(dst)?;
            if n > 0 {
                return Ok(n);
            }
            if self.ended || !self.fill()? {
                return Ok(0);
            }
        }
    }
}

impl Write for H2Io {
    /// Frames `data` into DATA as far as the server's windows allow: `WouldBlock` when
    /// nothing could be taken (a full socket, whose writable edge resumes the caller, or a
    /// closed window, which a WINDOW_UPDATE read later reopens).
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.state != State::Open {
            return Err(io::Error::new(
                ErrorKind::NotConnected,
                "the WebSocket stream is not open",
            ));
        }
        self.send_pending()?;
        let mut taken = 0;
        loop {
            taken += self.frame_data(&data[taken..]);
            self.send_pending()?;
            if taken == data.len() || self.ostart < self.oend || self.window() == 0 {
                break;
            }
        }
        match taken {
            0 => Err(ErrorKind::WouldBlock.into()),
            n => Ok(n),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_pending()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream as StdStream};
    use std::time::{Duration, Instant};

    /// The server's end: a blocking socket the test writes frames to and reads them from.
    struct Peer(StdStream);

    impl Peer {
        fn send(&mut self, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
            let len = (payload.len() as u32).to_be_bytes();
            let mut f = vec![len[1], len[2], len[3], kind, flags];
            f.extend_from_slice(&stream.to_be_bytes());
            f.extend_from_slice(payload);
            self.0.write_all(&f).unwrap();
        }

        fn settings(&mut self, params: &[(u16, u32)]) {
            let body: Vec<u8> = params
                .iter()
                .flat_map(|&(id, v)| id.to_be_bytes().into_iter().chain(v.to_be_bytes()))
                .collect();
            self.send(0x4, 0, 0, &body);
        }

        fn frame(&mut self) -> (Header, Vec<u8>) {
            let mut head = [0u8; HEADER_LEN];
            self.0.read_exact(&mut head).unwrap();
            let h = Header::parse(&head).unwrap();
            let mut body = vec![0; h.len as usize];
            self.0.read_exact(&mut body).unwrap();
            (h, body)
        }
    }

    /// Retries `f` while it would block, flushing the client's output in between.
    fn pump<T>(io: &mut H2Io, mut f: impl FnMut(&mut H2Io) -> io::Result<Option<T>>) -> T {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            io.send_pending().unwrap();
            match f(io) {
                Ok(Some(v)) => return v,
                Ok(None) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("{e}"),
            }
            assert!(Instant::now() < deadline, "timed out");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn connect() -> (H2Io, Peer) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = StdStream::connect(listener.local_addr().unwrap()).unwrap();
        client.set_nonblocking(true).unwrap();
        let (server, _) = listener.accept().unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let io = H2Io::client(Stream::Plain(TcpStream::from_std(client)), "example:80");
        (io, Peer(server))
    }

    fn handshake_error(io: &mut H2Io) -> Error {
        let e = pump(io, |io| match io.handshake() {
            Ok(_) => Ok(None),
            Err(e) => Ok(Some(e)),
        });
        *e.into_inner().unwrap().downcast::<Error>().unwrap()
    }

    /// Connects and opens the stream: the server sends `settings`, acks ours, and answers
    /// the extended CONNECT with `:status 200`.
    fn open(settings: &[(u16, u32)]) -> (H2Io, Peer) {
        let (mut io, mut peer) = connect();
        io.send_pending().unwrap();
        let mut preface = [0u8; 24];
        peer.0.read_exact(&mut preface).unwrap();
        assert_eq!(&preface, PREFACE);
        let (h, body) = peer.frame();
        assert_eq!((h.kind, h.flags, h.stream), (Kind::Settings, 0, 0));
        assert_eq!(
            body,
            [0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0],
            "HEADER_TABLE_SIZE 0, ENABLE_PUSH 0, INITIAL_WINDOW_SIZE 16 MiB"
        );
        let (h, body) = peer.frame();
        assert_eq!((h.kind, h.stream), (Kind::WindowUpdate, 0));
        assert_eq!(body, (RECV_WINDOW - DEFAULT_WINDOW).to_be_bytes());
        // RFC 8441 §3: no request before the server's SETTINGS.
        assert!(!io.handshake().unwrap());
        assert!(!io.has_pending());
        peer.settings(settings);
        peer.send(0x4, flags::ACK, 0, &[]);
        pump(&mut io, |io| {
            assert!(!io.handshake()?, "open before the response");
            Ok((io.state == State::AwaitResponse && !io.has_pending()).then_some(()))
        });
        let (h, _) = peer.frame();
        assert_eq!((h.kind, h.flags), (Kind::Settings, flags::ACK));
        let (h, block) = peer.frame();
        assert_eq!(
            (h.kind, h.flags, h.stream),
            (Kind::Headers, flags::END_HEADERS, 1)
        );
        assert_eq!(block, hpack::connect_request(false, "example:80"));
        peer.send(0x1, flags::END_HEADERS, 1, &[0x88]);
        pump(&mut io, |io| Ok(io.handshake()?.then_some(())));
        (io, peer)
    }

    const CONNECT_OK: (u16, u32) = (setting::ENABLE_CONNECT_PROTOCOL, 1);

    #[test]
    fn the_stream_opens_after_settings_and_a_200() {
        let (mut io, _peer) = open(&[CONNECT_OK]);
        assert_eq!(io.state, State::Open);
        assert_eq!(io.window(), DEFAULT_WINDOW as usize);
        let mut buf = [0u8; 16];
        assert_eq!(io.read(&mut buf).unwrap_err().kind(), ErrorKind::WouldBlock);
    }

    #[test]
    fn writes_respect_both_windows_and_the_frame_size() {
        let (mut io, mut peer) = open(&[CONNECT_OK, (setting::INITIAL_WINDOW_SIZE, 100)]);
        let data: Vec<u8> = (0..40_000u32).map(|i| i as u8).collect();
        assert_eq!(io.write(&data).unwrap(), 100);
        assert_eq!(
            io.write(&data[100..]).unwrap_err().kind(),
            ErrorKind::WouldBlock
        );
        let (h, body) = peer.frame();
        assert_eq!((h.kind, h.flags, h.stream, h.len), (Kind::Data, 0, 1, 100));
        assert_eq!(body, &data[..100]);
        // The stream window opens wide; the connection's still holds 65,435.
        peer.send(0x8, 0, 1, &1_000_000u32.to_be_bytes());
        let mut buf = [0u8; 16];
        assert_eq!(
            io.read(&mut buf).map_err(|e| e.kind()),
            Err(ErrorKind::WouldBlock)
        );
        pump(&mut io, |io| {
            let _ = io.read(&mut buf);
            Ok((io.window() > 100).then_some(()))
        });
        assert_eq!(io.window(), 65_435);
        let mut sent = 100;
        while sent < data.len() {
            sent += pump(&mut io, |io| io.write(&data[sent..]).map(Some));
        }
        // SETTINGS_MAX_FRAME_SIZE is 16,384 by default: 16,384 + 16,384 + 7,132.
        let lens: Vec<u32> = (0..3).map(|_| peer.frame().0.len).collect();
        assert_eq!(lens, [16_384, 16_384, 7_132]);
        assert_eq!(io.window(), 65_435 - 39_900);
        // A SETTINGS change shifts the stream window by the difference (RFC 9113 §6.9.2):
        // 100 + 1,000,000 - 39,900 sent, then 100 less.
        assert_eq!(io.send_stream.available(), 960_100);
        peer.settings(&[(setting::INITIAL_WINDOW_SIZE, 0)]);
        pump(&mut io, |io| {
            let _ = io.read(&mut buf);
            Ok((io.send_stream.available() == 960_000).then_some(()))
        });
    }

    #[test]
    fn reads_give_data_only_and_answer_ping() {
        let (mut io, mut peer) = open(&[CONNECT_OK]);
        // Padded DATA, an unknown frame, a PING, then plain DATA in two pieces.
        let mut padded = vec![3];
        padded.extend_from_slice(b"hello");
        padded.extend_from_slice(&[0, 0, 0]);
        peer.send(0x0, flags::PADDED, 1, &padded);
        peer.send(0xee, 0, 0, b"ignored");
        peer.send(0x6, 0, 0, b"pingpong");
        peer.0
            .write_all(&[0, 0, 6, 0, 0, 0, 0, 0, 1, b' '])
            .unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        let mut read_some = |io: &mut H2Io, got: &mut Vec<u8>, want: usize| {
            pump(io, |io| {
                let n = io.read(&mut buf)?;
                got.extend_from_slice(&buf[..n]);
                Ok((got.len() >= want).then_some(()))
            })
        };
        read_some(&mut io, &mut got, 6);
        peer.0.write_all(b"world").unwrap();
        read_some(&mut io, &mut got, 11);
        assert_eq!(got, b"hello world");
        let (h, body) = peer.frame();
        assert_eq!((h.kind, h.flags), (Kind::Ping, flags::ACK));
        assert_eq!(body, b"pingpong");
        // END_STREAM: the byte stream ends.
        peer.send(0x0, flags::END_STREAM, 1, b"!");
        read_some(&mut io, &mut got, 12);
        assert_eq!(io.read(&mut buf).unwrap(), 0);
    }

    #[test]
    fn a_short_socket_read_handled_whole_drains() {
        let (mut io, mut peer) = open(&[CONNECT_OK]);
        let mut buf = [0u8; 64];
        // A whole frame and three bytes of the next header: the socket is read short, but
        // input is left over.
        peer.0
            .write_all(&[0, 0, 2, 0, 0, 0, 0, 0, 1, b'h', b'i', 0, 0, 1])
            .unwrap();
        assert_eq!(pump(&mut io, |io| io.read(&mut buf).map(Some)), 2);
        assert!(!io.drained(), "a partial frame header is still buffered");
        peer.0.write_all(&[0, 0, 0, 0, 0, 1, b'!']).unwrap();
        assert_eq!(pump(&mut io, |io| io.read(&mut buf).map(Some)), 1);
        assert!(io.drained());
    }

    #[test]
    fn data_comes_before_a_goaway_behind_it_and_reset_is_an_error() {
        let (mut io, mut peer) = open(&[CONNECT_OK]);
        peer.send(0x0, 0, 1, b"bye");
        let mut goaway = 1u32.to_be_bytes().to_vec();
        goaway.extend_from_slice(&0xbu32.to_be_bytes());
        goaway.extend_from_slice(b"calm");
        peer.send(0x7, 0, 0, &goaway);
        let mut buf = [0u8; 64];
        assert_eq!(pump(&mut io, |io| io.read(&mut buf).map(Some)), 3);
        let e = pump(&mut io, |io| match io.read(&mut buf) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(None),
            other => Ok(Some(other)),
        });
        assert_eq!(
            e.unwrap_err().to_string(),
            "server sent GOAWAY ENHANCE_YOUR_CALM \"calm\""
        );
        let (mut io, mut peer) = open(&[CONNECT_OK]);
        peer.send(0x3, 0, 1, &8u32.to_be_bytes());
        let e = pump(&mut io, |io| match io.read(&mut buf) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(None),
            other => Ok(Some(other)),
        });
        assert_eq!(
            e.unwrap_err().to_string(),
            "server reset the WebSocket stream: CANCEL"
        );
    }

    #[test]
    fn the_server_must_offer_extended_connect_and_answer_200() {
        let (mut io, mut peer) = connect();
        peer.settings(&[]);
        assert_eq!(handshake_error(&mut io), Error::NoConnectProtocol);

        let (mut io, mut peer) = connect();
        peer.send(0x6, 0, 0, b"pingpong");
        assert_eq!(
            handshake_error(&mut io),
            Error::Protocol(
                ErrorCode::Protocol,
                "the server's first frame is not SETTINGS"
            )
        );

        let (mut io, mut peer) = connect();
        peer.settings(&[CONNECT_OK]);
        peer.send(0x1, flags::END_HEADERS | flags::END_STREAM, 1, &[0x8d]);
        assert_eq!(handshake_error(&mut io), Error::Refused(404));

        let (mut io, mut peer) = connect();
        peer.settings(&[CONNECT_OK, (setting::MAX_FRAME_SIZE, 100)]);
        assert_eq!(
            handshake_error(&mut io),
            Error::Protocol(ErrorCode::Protocol, "MAX_FRAME_SIZE out of range")
        );

        let (mut io, mut peer) = connect();
        peer.settings(&[CONNECT_OK]);
        peer.send(0x0, 0, 1, b"early");
        assert_eq!(
            handshake_error(&mut io),
            Error::Protocol(
                ErrorCode::Protocol,
                "DATA outside the open WebSocket stream"
            )
        );
    }

    #[test]
    fn the_client_returns_the_window_a_quarter_at_a_time() {
        let (mut io, mut peer) = open(&[CONNECT_OK]);
        // A quarter of the 16 MiB window in full-size frames: one WINDOW_UPDATE for the
        // connection and one for the stream, once the last frame's header is read.
        let chunk = vec![7u8; DEFAULT_MAX_FRAME as usize];
        let quarter = RECV_WINDOW / 4;
        let writer = std::thread::spawn(move || {
            for _ in 0..quarter / DEFAULT_MAX_FRAME {
                peer.send(0x0, 0, 1, &chunk);
            }
            peer
        });
        let mut buf = vec![0u8; 1 << 16];
        let mut got = 0usize;
        while got < quarter as usize {
            if got + (DEFAULT_MAX_FRAME as usize) < quarter as usize {
                assert!(!io.has_pending(), "an update before a quarter was read");
            }
            got += pump(&mut io, |io| io.read(&mut buf).map(Some));
        }
        io.send_pending().unwrap();
        let mut peer = writer.join().unwrap();
        for stream in [0, 1] {
            let (h, body) = peer.frame();
            assert_eq!((h.kind, h.stream), (Kind::WindowUpdate, stream));
            assert_eq!(u32::from_be_bytes(body.try_into().unwrap()), quarter);
        }
    }

    #[test]
    fn more_data_than_the_window_is_a_flow_control_error() {
        let (mut io, mut peer) = open(&[CONNECT_OK]);
        io.recv_stream = RecvWindow::new(10, 10);
        peer.send(0x0, 0, 1, b"0123456789!");
        let mut buf = [0u8; 64];
        let e = pump(&mut io, |io| match io.read(&mut buf) {
            Err(e) if e.kind() == ErrorKind::WouldBlock => Ok(None),
            other => Ok(Some(other)),
        });
        assert_eq!(
            e.unwrap_err().to_string(),
            Error::from(FlowControlError).to_string()
        );
    }
}
