//! The client role's WebSocket core: one outbound connection's state machine, with no
//! I/O in it, as [`super::Connection`] is the server's. The driver feeds it what it read
//! and the time; it appends what is to be written to an output buffer and reports what
//! happened as [`ClientEvent`]s.
//!
//! It writes the upgrade request (RFC 6455 §4.1), judges the server's 101, sends masked
//! frames, reads unmasked ones (a masked one fails the connection with 1002),
//! reassembles fragmented messages, checks text as UTF-8, answers pings, and closes as
//! §7.1.1 has a client close: after both close frames, the server closes TCP first.
//! Small on purpose: what the conformance suite's client side needs will grow it.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::error::ProtocolError;
use crate::frame::header::{MAX_CLIENT_HEADER_LEN, parse_server_header, write_client_header};
use crate::frame::mask::apply_mask;
use crate::frame::{CloseCode, FrameHeader, Opcode};
use crate::handshake::{AnswerError, Head, HeadBuffer, check_answer};
use crate::http::{RequestError, write_upgrade_request};
use crate::utf8::Utf8Validator;

/// The longest answer head read before the handshake fails.
const MAX_ANSWER_HEAD: usize = 16 << 10;

/// "All control frames MUST have a payload length of 125 bytes or less" (§5.5), a close
/// frame's two of them the code.
const MAX_CONTROL_PAYLOAD: usize = 125;

/// What to ask the server for, and the limits the client keeps.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The `Host` header: the server's name and, unless it is the default, its port.
    pub host: String,
    /// The request target, the "/resource name/" (`/` and the query, if any).
    pub path: String,
    /// Subprotocols offered, in order of preference.
    pub protocols: Vec<String>,
    /// The largest message accepted; a larger one fails the connection with 1009.
    pub max_message: usize,
    /// How long the server may take to answer the upgrade, to answer our close frame,
    /// and to close TCP after the close handshake.
    pub timeout: Duration,
}

impl ClientOptions {
    /// A request for `path` on `host`, no subprotocol, messages up to 64 MiB, 10 s for
    /// each wait.
    pub fn new(host: impl Into<String>, path: impl Into<String>) -> Self {
        ClientOptions {
            host: host.into(),
            path: path.into(),
            protocols: Vec::new(),
            max_message: 64 << 20,
            timeout: Duration::from_secs(10),
        }
    }
}

/// What happened on the connection, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// The server accepted the upgrade, with this subprotocol.
    Opened {
        /// The subprotocol the server chose among those offered.
        protocol: Option<String>,
    },
    /// A whole data message (text: valid UTF-8).
    Message {
        /// [`Opcode::Text`] or [`Opcode::Binary`].
        opcode: Opcode,
        /// The payload, its fragments joined.
        data: Vec<u8>,
    },
    /// A pong arrived.
    Pong(Vec<u8>),
    /// The server's close frame arrived: an answer to ours, or its own close, which was
    /// answered. The server is to close TCP next.
    Closed {
        /// Its code (`None`: an empty close frame).
        code: Option<CloseCode>,
        /// Its reason.
        reason: String,
    },
    /// TCP ended after the close handshake. `server_first`: the server closed it, as
    /// §7.1.1 asks ("the TCP connection SHOULD be closed first by the server"); if not,
    /// the client did, the server having taken longer than [`ClientOptions::timeout`].
    Ended {
        /// The server closed TCP first.
        server_first: bool,
    },
    /// The connection failed.
    Failed(ClientError),
}

/// Why the connection failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The request could not be written.
    Request(RequestError),
    /// The server's answer to the upgrade fails §4.1.
    Answer(AnswerError),
    /// The answer's head is longer than 16 KiB.
    AnswerTooLarge,
    /// The server broke a rule of §5: our close frame said so, with its code.
    Protocol(ProtocolError),
    /// TCP ended before the close handshake completed (1006).
    Dropped {
        /// The phase TCP ended in.
        during: &'static str,
    },
    /// The server took longer than [`ClientOptions::timeout`].
    TimedOut {
        /// The phase that timed out.
        during: &'static str,
    },
    /// No randomness for a key or a mask (§5.3: "the masking key MUST be derived from a
    /// strong source of entropy").
    Random,
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Request(e) => write!(f, "cannot write the request: {e}"),
            ClientError::Answer(e) => e.fmt(f),
            ClientError::AnswerTooLarge => {
                write!(f, "the answer's head exceeds {MAX_ANSWER_HEAD} bytes")
            }
            ClientError::Protocol(e) => write!(f, "failed with {}: {e}", e.close_code()),
            ClientError::Dropped { during } => write!(f, "TCP ended during the {during}"),
            ClientError::TimedOut { during } => write!(f, "timed out during the {during}"),
            ClientError::Random => f.write_str("no randomness for a key or a mask"),
        }
    }
}

impl std::error::Error for ClientError {}

/// Why a frame could not be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// Not upgraded yet, or our close frame is sent ("the endpoint MUST NOT send any
    /// further data frames", §5.5.1), or the connection failed.
    NotOpen,
    /// A control frame's payload (a close frame's code and reason) over 125 bytes.
    TooLong,
    /// No randomness for the mask.
    Random,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SendError::NotOpen => "the connection is not open for sending",
            SendError::TooLong => "a control frame's payload is over 125 bytes",
            SendError::Random => "no randomness for the mask",
        })
    }
}

impl std::error::Error for SendError {}

/// Where the connection is in its life.
enum Phase {
    /// The request is written; the answer's head is collected.
    Handshake {
        head: HeadBuffer,
        /// The `Sec-WebSocket-Key` sent.
        key: [u8; 24],
    },
    /// Frames flow; `close_sent`: our close frame is written, the server's awaited.
    Open { close_sent: bool },
    /// Both close frames went: the server is to close TCP (§7.1.1).
    Closed,
    /// Failed: our close frame, if any, is to be written, then the socket closed.
    Finishing,
    /// Close the socket.
    Done,
}

/// What the driver should do with the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientStatus {
    /// Read and write (after the close handshake: read, until the server closes TCP).
    Open,
    /// Write what is queued, then close the socket.
    Finishing,
    /// Close the socket.
    Done,
}

/// A data message arriving in fragments.
struct Partial {
    opcode: Opcode,
    data: Vec<u8>,
    utf8: Utf8Validator,
}

/// One outbound WebSocket connection, I/O-free.
pub struct ClientCore {
    phase: Phase,
    /// Input not parsed yet: the start of a frame that is not whole.
    input: Vec<u8>,
    /// The data message being reassembled.
    message: Option<Partial>,
    events: VecDeque<ClientEvent>,
    rng: SystemRandom,
    protocols: Vec<String>,
    max_message: usize,
    timeout: Duration,
    deadline: Option<Instant>,
}

impl ClientCore {
    /// A connection whose upgrade request is written into `out` (and whose wait for the
    /// answer starts at `now`).
    pub fn new(
        options: &ClientOptions,
        now: Instant,
        out: &mut Vec<u8>,
    ) -> Result<Self, ClientError> {
        let rng = SystemRandom::new();
        let mut nonce = [0u8; 16];
        rng.fill(&mut nonce).map_err(|_| ClientError::Random)?;
        let mut key = [0u8; 24];
        // 16 bytes always encode to 24 characters.
        let _ = STANDARD.encode_slice(nonce, &mut key);
        write_upgrade_request(out, &options.host, &options.path, &key, &options.protocols)
            .map_err(ClientError::Request)?;
        Ok(ClientCore {
            phase: Phase::Handshake {
                head: HeadBuffer::default(),
                key,
            },
            input: Vec::new(),
            message: None,
            events: VecDeque::new(),
            rng,
            protocols: options.protocols.clone(),
            max_message: options.max_message,
            timeout: options.timeout,
            deadline: Some(now + options.timeout),
        })
    }

    /// What the driver should do with the socket now.
    pub fn status(&self) -> ClientStatus {
        match self.phase {
            Phase::Handshake { .. } | Phase::Open { .. } | Phase::Closed => ClientStatus::Open,
            Phase::Finishing => ClientStatus::Finishing,
            Phase::Done => ClientStatus::Done,
        }
    }

    /// When [`ClientCore::handle_timeout`] is due.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// Takes bytes the server sent; answers (pongs, a close reply) go to `out`.
    pub fn handle_input(&mut self, input: &mut [u8], now: Instant, out: &mut Vec<u8>) {
        match &mut self.phase {
            Phase::Handshake { head, key } => {
                let (answer, rest) = match head.feed(input, MAX_ANSWER_HEAD) {
                    Head::Incomplete => return,
                    Head::TooLarge => return self.end(ClientError::AnswerTooLarge),
                    Head::Complete { head, rest } => {
                        (check_answer(head, key, &self.protocols), rest)
                    }
                };
                // Frames may follow the 101 in the same read.
                self.input.extend_from_slice(rest);
                match answer {
                    Ok(protocol) => {
                        self.phase = Phase::Open { close_sent: false };
                        self.deadline = None;
                        self.events.push_back(ClientEvent::Opened { protocol });
                        self.read_frames(now, out);
                    }
                    Err(e) => self.end(ClientError::Answer(e)),
                }
            }
            Phase::Open { .. } => {
                self.input.extend_from_slice(input);
                self.read_frames(now, out);
            }
            // After the close handshake the server sends nothing more (§5.5.1); after a
            // failure nothing more is read (§7.1.7).
            Phase::Closed | Phase::Finishing | Phase::Done => {}
        }
    }

    /// Sends a whole message (or a ping or pong), masked.
    pub fn send(
        &mut self,
        opcode: Opcode,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), SendError> {
        if !matches!(self.phase, Phase::Open { close_sent: false }) || opcode == Opcode::Close {
            return Err(SendError::NotOpen);
        }
        if opcode.is_control() && payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::TooLong);
        }
        self.write_frame(opcode, payload, out)
    }

    /// Starts the close handshake: our close frame with `code` and `reason`; the
    /// server's answer is awaited until `now` plus the timeout.
    pub fn close(
        &mut self,
        code: CloseCode,
        reason: &str,
        now: Instant,
        out: &mut Vec<u8>,
    ) -> Result<(), SendError> {
        if !matches!(self.phase, Phase::Open { close_sent: false }) {
            return Err(SendError::NotOpen);
        }
        if 2 + reason.len() > MAX_CONTROL_PAYLOAD {
            return Err(SendError::TooLong);
        }
        self.write_close(Some(code), reason, out)?;
        self.phase = Phase::Open { close_sent: true };
        self.deadline = Some(now + self.timeout);
        Ok(())
    }

    /// TCP ended (EOF, or the server's TLS close_notify, or a failed socket).
    pub fn handle_eof(&mut self) {
        let during = match self.phase {
            Phase::Handshake { .. } => "handshake",
            Phase::Open { close_sent: false } => "open connection",
            Phase::Open { close_sent: true } => "close handshake",
            Phase::Closed => {
                self.events
                    .push_back(ClientEvent::Ended { server_first: true });
                return self.done();
            }
            Phase::Finishing | Phase::Done => return self.done(),
        };
        self.end(ClientError::Dropped { during });
    }

    /// The deadline passed: the server did not answer the upgrade, or our close, or did
    /// not close TCP after the close handshake, in time. §7.1.1: "In abnormal cases (such
    /// as not having received a TCP Close from the server after a reasonable amount of
    /// time) a client MAY initiate the TCP Close."
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.deadline.is_none_or(|at| at > now) {
            return;
        }
        let during = match self.phase {
            Phase::Handshake { .. } => "handshake",
            Phase::Open { .. } => "close handshake",
            Phase::Closed => {
                self.events.push_back(ClientEvent::Ended {
                    server_first: false,
                });
                return self.done();
            }
            Phase::Finishing | Phase::Done => return self.done(),
        };
        self.end(ClientError::TimedOut { during });
    }

    /// Parses the whole frames in `self.input` and acts on each.
    fn read_frames(&mut self, now: Instant, out: &mut Vec<u8>) {
        let input = std::mem::take(&mut self.input);
        let mut at = 0;
        while matches!(self.phase, Phase::Open { .. }) {
            let (header, len) = match parse_server_header(&input[at..]) {
                Ok(Some(parsed)) => parsed,
                Ok(None) => break,
                Err(e) => return self.fail(e, out),
            };
            if let Err(e) = self.check(&header) {
                return self.fail(e, out);
            }
            // Checked against the limit above, which is a usize.
            let end = at + len + header.payload_len as usize;
            let Some(payload) = input.get(at + len..end) else {
                break;
            };
            if let Err(e) = self.frame(&header, payload, now, out) {
                return self.fail(e, out);
            }
            at = end;
        }
        // What follows a close frame (or a failure) is not read: only an open
        // connection keeps the start of its next frame.
        if matches!(self.phase, Phase::Open { .. }) {
            self.input = input;
            self.input.drain(..at);
        }
    }

    /// The rules a header breaks on its own, as this client reads it.
    fn check(&self, header: &FrameHeader) -> Result<(), ProtocolError> {
        // §5.2: "MUST be 0 unless an extension is negotiated that defines meanings for
        // non-zero values" (this client negotiates none).
        if header.rsv != 0 {
            return Err(ProtocolError::ReservedBits { rsv: header.rsv });
        }
        let held = self.message.as_ref().map_or(0, |m| m.data.len());
        if header.payload_len > (self.max_message - held) as u64 {
            return Err(ProtocolError::MessageTooBig {
                max: self.max_message as u64,
            });
        }
        Ok(())
    }

    /// Acts on one whole frame.
    fn frame(
        &mut self,
        header: &FrameHeader,
        payload: &[u8],
        now: Instant,
        out: &mut Vec<u8>,
    ) -> Result<(), ProtocolError> {
        match header.opcode {
            Opcode::Text | Opcode::Binary => {
                // §5.4: "fragments of one message MUST NOT be interleaved between the
                // fragments of another message".
                if self.message.is_some() {
                    return Err(ProtocolError::ExpectedContinuation);
                }
                let message = self.message.insert(Partial {
                    opcode: header.opcode,
                    data: Vec::new(),
                    utf8: Utf8Validator::default(),
                });
                append(message, payload)?;
            }
            Opcode::Continuation => {
                let Some(message) = self.message.as_mut() else {
                    return Err(ProtocolError::UnexpectedContinuation);
                };
                append(message, payload)?;
            }
            Opcode::Ping => {
                // §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong
                // frame in response, unless it already received a Close frame."
                if self.write_frame(Opcode::Pong, payload, out).is_err() {
                    self.end(ClientError::Random);
                }
                return Ok(());
            }
            Opcode::Pong => {
                self.events.push_back(ClientEvent::Pong(payload.to_vec()));
                return Ok(());
            }
            Opcode::Close => return self.close_received(payload, now, out),
        }
        if header.fin
            && let Some(mut message) = self.message.take()
        {
            // §8.1: a text message must be valid UTF-8 as a whole, so it cannot end
            // inside a code point.
            if message.opcode == Opcode::Text && message.utf8.finish().is_err() {
                return Err(ProtocolError::InvalidUtf8);
            }
            self.events.push_back(ClientEvent::Message {
                opcode: message.opcode,
                data: message.data,
            });
        }
        Ok(())
    }

    /// The server's close frame: answered unless it answers ours, then TCP is the
    /// server's to close.
    fn close_received(
        &mut self,
        payload: &[u8],
        now: Instant,
        out: &mut Vec<u8>,
    ) -> Result<(), ProtocolError> {
        // §5.5.1: "If there is a body, the first two bytes of the body MUST be a 2-byte
        // unsigned integer (in network byte order) representing a status code".
        let (code, reason) = match payload {
            [] => (None, &[][..]),
            [_] => return Err(ProtocolError::CloseOneByte),
            [high, low, reason @ ..] => {
                let code = u16::from_be_bytes([*high, *low]);
                let known =
                    CloseCode::received(code).ok_or(ProtocolError::InvalidCloseCode { code })?;
                (Some(known), reason)
            }
        };
        let reason = std::str::from_utf8(reason).map_err(|_| ProtocolError::InvalidCloseReason)?;
        // §5.5.1: "If an endpoint receives a Close frame and did not previously send a
        // Close frame, the endpoint MUST send a Close frame in response. (When sending
        // a Close frame in response, the endpoint typically echos the status code it
        // received.)"
        if matches!(self.phase, Phase::Open { close_sent: false })
            && self.write_close(code, "", out).is_err()
        {
            self.end(ClientError::Random);
            return Ok(());
        }
        self.events.push_back(ClientEvent::Closed {
            code,
            reason: reason.to_string(),
        });
        self.phase = Phase::Closed;
        self.deadline = Some(now + self.timeout);
        Ok(())
    }

    /// §7.1.7, "_Fail the WebSocket Connection_": our close frame with the rule's code
    /// (unless ours is sent already), then the socket is closed; nothing more is read.
    fn fail(&mut self, error: ProtocolError, out: &mut Vec<u8>) {
        if matches!(self.phase, Phase::Open { close_sent: false }) {
            let _ = self.write_close(Some(error.close_code()), &error.to_string(), out);
        }
        self.events
            .push_back(ClientEvent::Failed(ClientError::Protocol(error)));
        self.phase = Phase::Finishing;
        self.deadline = None;
        self.input.clear();
    }

    /// Fails without a close frame (before the upgrade, or with TCP gone).
    fn end(&mut self, error: ClientError) {
        self.events.push_back(ClientEvent::Failed(error));
        self.done();
    }

    fn done(&mut self) {
        self.phase = Phase::Done;
        self.deadline = None;
        self.message = None;
        self.input = Vec::new();
    }

    fn write_close(
        &mut self,
        code: Option<CloseCode>,
        reason: &str,
        out: &mut Vec<u8>,
    ) -> Result<(), SendError> {
        let mut payload = Vec::with_capacity(2 + reason.len());
        if let Some(code) = code {
            payload.extend_from_slice(&code.as_u16().to_be_bytes());
            payload.extend_from_slice(reason.as_bytes());
        }
        // A reason is never cut inside a code point: ours are ASCII.
        payload.truncate(MAX_CONTROL_PAYLOAD);
        self.write_frame(Opcode::Close, &payload, out)
    }

    /// One whole frame, masked with a fresh key (§5.3: "The masking key is a 32-bit
    /// value chosen at random by the client", "for each frame").
    fn write_frame(
        &self,
        opcode: Opcode,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), SendError> {
        let mut key = [0u8; 4];
        self.rng.fill(&mut key).map_err(|_| SendError::Random)?;
        let mut head = [0u8; MAX_CLIENT_HEADER_LEN];
        let n = write_client_header(&mut head, true, opcode, payload.len() as u64, key);
        out.extend_from_slice(&head[..n]);
        let start = out.len();
        out.extend_from_slice(payload);
        apply_mask(&mut out[start..], key, 0);
        Ok(())
    }
}

/// Adds a frame's payload to the message it belongs to, text checked as it comes (§8.1:
/// "When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte
/// stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket
/// Connection_").
fn append(message: &mut Partial, payload: &[u8]) -> Result<(), ProtocolError> {
    if message.opcode == Opcode::Text {
        message
            .utf8
            .feed(payload)
            .map_err(|_| ProtocolError::InvalidUtf8)?;
    }
    message.data.extend_from_slice(payload);
    Ok(())
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
