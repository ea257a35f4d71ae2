//! One WebSocket on one HTTP/2 stream (RFC 8441 §5): RFC 6455 frames sent as DATA
//! and read back out of the server's DATA, which may split and join frames anywhere;
//! the stream's end (END_STREAM, or RST_STREAM with its code) read apart from them.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use h2::{RecvStream, SendStream};

use super::driver::Driver;
use super::errors::from_h2;
use super::{IO_TIMEOUT, MAX_BODY, MAX_FRAME_PAYLOAD};
use crate::frames::{RawFrame, ServerFrame, check_server_header, parse_header};

/// How a stream ended, as the server (or the h2 crate, finding the server at fault)
/// ended it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEnd {
    /// END_STREAM: the orderly end (RFC 8441 §5 likens it to TCP's FIN).
    End,
    /// The server sent RST_STREAM with this code.
    Reset(h2::Reason),
    /// The h2 crate reset the stream itself (sending this code), for something the
    /// server did wrong or for a local reset ([`H2WebSocket::reset`]).
    LocalReset(h2::Reason),
    /// The connection ended (GOAWAY with this code) before the stream did.
    GoAway(h2::Reason),
    /// The connection broke otherwise.
    Lost(String),
}

impl StreamEnd {
    /// What an h2 error says about the stream it came on, if it says anything.
    pub(super) fn of_error(e: &h2::Error) -> Option<StreamEnd> {
        let reason = e.reason();
        Some(if e.is_reset() {
            match (reason, e.is_remote()) {
                (Some(r), true) => StreamEnd::Reset(r),
                (Some(r), false) => StreamEnd::LocalReset(r),
                (None, _) => return None,
            }
        } else if e.is_go_away() {
            StreamEnd::GoAway(reason?)
        } else if e.is_io() {
            StreamEnd::Lost(e.to_string())
        } else {
            return None;
        })
    }
}

/// What came next on a stream: a whole WebSocket frame, or the stream's end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A frame, its header checked as every server frame must be (unmasked, minimal
    /// length: [`check_server_header`]).
    Frame(ServerFrame),
    /// The stream ended, at a frame boundary.
    End(StreamEnd),
}

/// One WebSocket (or any other request's stream) on an [`super::H2Connection`]. Several
/// may be used at once, from one thread or several.
pub struct H2WebSocket {
    driver: Arc<Driver>,
    send: SendStream<Bytes>,
    recv: RecvStream,
    /// Bytes of DATA received and not yet taken as a whole frame: at most one frame
    /// and one DATA frame's worth, as more is only read when no frame is whole.
    pending: Vec<u8>,
    /// How the stream ended, once it has.
    end: Option<StreamEnd>,
    end_sent: bool,
}

impl H2WebSocket {
    pub(super) fn new(driver: Arc<Driver>, send: SendStream<Bytes>, recv: RecvStream) -> Self {
        H2WebSocket {
            driver,
            send,
            recv,
            pending: Vec::new(),
            end: None,
            end_sent: false,
        }
    }

    /// The stream's identifier.
    pub fn stream_id(&self) -> u32 {
        self.send.stream_id().as_u32()
    }

    /// Sends `bytes` as DATA, waiting (up to [`IO_TIMEOUT`]) for the server's flow
    /// control windows to let it all go.
    pub fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.send_within(bytes, IO_TIMEOUT)
    }

    /// [`H2WebSocket::send`] with the wait for window bounded by `timeout`: `TimedOut`
    /// if the server's windows stay closed, part of `bytes` perhaps sent.
    pub fn send_within(&mut self, bytes: &[u8], timeout: Duration) -> io::Result<()> {
        self.send_data(bytes, false, timeout)
    }

    /// Sends `bytes` with END_STREAM on the last DATA frame: a close frame and the
    /// end of our half of the stream in one, as a client that closes and will send
    /// nothing more may.
    pub fn send_last(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.send_data(bytes, true, IO_TIMEOUT)?;
        self.end_sent = true;
        Ok(())
    }

    fn send_data(&mut self, bytes: &[u8], end: bool, timeout: Duration) -> io::Result<()> {
        let empty = bytes.is_empty();
        let mut data = Bytes::copy_from_slice(bytes);
        let send = &mut self.send;
        self.driver
            .within(timeout, "flow-control window to send in", async move {
                while !data.is_empty() {
                    // RFC 9113 §6.9: "A sender MUST NOT send a flow-controlled frame
                    // with a length that exceeds the space available in either of the
                    // flow-control windows advertised by the receiver."
                    send.reserve_capacity(data.len());
                    let granted = std::future::poll_fn(|cx| send.poll_capacity(cx))
                        .await
                        .ok_or_else(|| {
                            io::Error::new(io::ErrorKind::BrokenPipe, "the stream is closed")
                        })?
                        .map_err(|e| from_h2("waiting for window", e))?;
                    let chunk = data.split_to(granted.min(data.len()));
                    let last = end && data.is_empty();
                    if !chunk.is_empty() {
                        send.send_data(chunk, last)
                            .map_err(|e| from_h2("sending DATA", e))?;
                    }
                }
                if end && empty {
                    // No payload to carry END_STREAM: an empty DATA frame does.
                    send.send_data(Bytes::new(), true)
                        .map_err(|e| from_h2("sending END_STREAM", e))?;
                }
                Ok(())
            })
    }

    /// Sends one frame (masked as the builder says).
    pub fn send_frame(&mut self, frame: &RawFrame) -> io::Result<()> {
        self.send(&frame.encode())
    }

    /// Ends our half of the stream: an empty DATA frame with END_STREAM.
    pub fn send_end(&mut self) -> io::Result<()> {
        self.send
            .send_data(Bytes::new(), true)
            .map_err(|e| from_h2("sending END_STREAM", e))?;
        self.end_sent = true;
        Ok(())
    }

    /// Whether [`H2WebSocket::send_end`] was called.
    pub fn end_sent(&self) -> bool {
        self.end_sent
    }

    /// Resets the stream with CANCEL, as a client that gives up does.
    pub fn reset(&mut self) {
        self.reset_with(h2::Reason::CANCEL);
    }

    /// Resets the stream with `reason`.
    pub fn reset_with(&mut self, reason: h2::Reason) {
        self.send.send_reset(reason);
    }

    /// The next frame or the stream's end, waiting up to `timeout`. Flow-control
    /// capacity is given back as DATA is taken in, so the server can go on sending.
    /// END_STREAM inside a frame is an `InvalidData` error (a reset there is just the
    /// reset), and so is a frame header no server may send, or a payload over
    /// [`MAX_FRAME_PAYLOAD`].
    pub fn recv(&mut self, timeout: Duration) -> io::Result<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(frame) = self.take_frame()? {
                return Ok(Received::Frame(frame));
            }
            if let Some(end) = &self.end {
                // An orderly end must fall between frames; a reset may cut one short
                // (RFC 8441 §5 likens it to TCP's RST), the rest of it then moot.
                if *end == StreamEnd::End && !self.pending.is_empty() {
                    return Err(invalid(format!(
                        "END_STREAM {} bytes into a frame",
                        self.pending.len()
                    )));
                }
                return Ok(Received::End(end.clone()));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let recv = &mut self.recv;
            let next = self
                .driver
                .within(left, "a frame or the stream's end", async move {
                    Ok(recv.data().await)
                })?;
            match next {
                Some(Ok(data)) => {
                    self.pending.extend_from_slice(&data);
                    self.recv
                        .flow_control()
                        .release_capacity(data.len())
                        .map_err(|e| from_h2("releasing capacity", e))?;
                }
                Some(Err(e)) => {
                    self.end = Some(
                        StreamEnd::of_error(&e).unwrap_or_else(|| StreamEnd::Lost(e.to_string())),
                    );
                }
                None => self.end = Some(StreamEnd::End),
            }
        }
    }

    /// The next frame, or `None` at END_STREAM. A reset or a lost connection is an
    /// error (`ConnectionReset`, naming how it ended).
    pub fn recv_frame(&mut self, timeout: Duration) -> io::Result<Option<ServerFrame>> {
        match self.recv(timeout)? {
            Received::Frame(frame) => Ok(Some(frame)),
            Received::End(StreamEnd::End) => Ok(None),
            Received::End(end) => Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                format!("the stream ended with {end:?} where a frame was awaited"),
            )),
        }
    }

    /// The stream's end, which must come next: a frame instead is an `InvalidData`
    /// error.
    pub fn recv_end(&mut self, timeout: Duration) -> io::Result<StreamEnd> {
        match self.recv(timeout)? {
            Received::End(end) => Ok(end),
            Received::Frame(frame) => Err(invalid(format!(
                "{frame:?} where the stream's end was awaited"
            ))),
        }
    }

    /// Waits `quiet` and checks that nothing came meanwhile: no frame, no end.
    pub fn expect_nothing(&mut self, quiet: Duration) -> io::Result<()> {
        match self.recv(quiet) {
            Err(e) if e.kind() == io::ErrorKind::TimedOut => Ok(()),
            Err(e) => Err(e),
            Ok(got) => Err(invalid(format!("{got:?} where nothing was awaited"))),
        }
    }

    /// Every byte of DATA to END_STREAM, unparsed: the body of a refused request.
    pub fn recv_body(&mut self, timeout: Duration) -> io::Result<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        let mut body = std::mem::take(&mut self.pending);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let recv = &mut self.recv;
            let next = self
                .driver
                .within(left, "the body's end", async move { Ok(recv.data().await) })?;
            match next {
                Some(Ok(data)) => {
                    body.extend_from_slice(&data);
                    if body.len() > MAX_BODY {
                        return Err(invalid(format!("a body over {MAX_BODY} bytes")));
                    }
                    self.recv
                        .flow_control()
                        .release_capacity(data.len())
                        .map_err(|e| from_h2("releasing capacity", e))?;
                }
                Some(Err(e)) => return Err(from_h2("reading the body", e)),
                None => {
                    self.end = Some(StreamEnd::End);
                    return Ok(body);
                }
            }
        }
    }

    /// Takes the frame at the head of `pending` if it is whole.
    fn take_frame(&mut self) -> io::Result<Option<ServerFrame>> {
        let Some(h) = parse_header(&self.pending).map_err(invalid)? else {
            return Ok(None);
        };
        check_server_header(&h).map_err(invalid)?;
        if h.len > MAX_FRAME_PAYLOAD {
            return Err(invalid(format!(
                "a {}-byte frame payload, over this client's {MAX_FRAME_PAYLOAD}",
                h.len
            )));
        }
        let end = usize::try_from(h.len)
            .ok()
            .and_then(|len| len.checked_add(h.header_len))
            .ok_or_else(|| invalid(format!("a {}-byte frame does not fit", h.len)))?;
        if self.pending.len() < end {
            return Ok(None);
        }
        let mut whole: Vec<u8> = self.pending.drain(..end).collect();
        let payload = whole.split_off(h.header_len);
        Ok(Some(ServerFrame {
            fin: h.fin,
            rsv: h.rsv,
            opcode: h.opcode,
            payload,
        }))
    }
}

/// An `InvalidData` error: the server sent something no server may.
fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}
