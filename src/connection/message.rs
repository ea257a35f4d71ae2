//! A data message in flight (RFC 6455 §5.4, §5.6): its payload streams back out as it
//! arrives, so no message is ever held whole in memory.
//!
//! An uncompressed frame is echoed as one frame with the same FIN, opcode and payload
//! length, so that what goes out reads one to one with what came in ([`Echo`]): a binary
//! frame's echo header goes out as soon as the client's header is in and its payload
//! streams behind it; a text frame is held until it is whole (UTF-8 is checked as its
//! bytes arrive, so a bad byte still fails at once), up to `--max-held-frame`, past which
//! it is echoed in pieces as they arrive, as §5.4 permits ("intermediaries MAY change
//! the fragmentation of a message"). Compressed messages are echoed in pieces too.

use super::deflate::DeflateSession;
use super::emit;
use super::output::Output;
use crate::error::ProtocolError;
use crate::frame::Opcode;
use crate::utf8::{InvalidUtf8, Utf8Validator};

/// How one uncompressed frame is echoed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Echo {
    /// As one frame, its header already sent: the payload follows as it arrives.
    Stream,
    /// As one frame once it is whole (a text frame, checked before it goes out).
    Hold,
    /// In pieces as they arrive (a text frame over `--max-held-frame`).
    Pieces,
    /// In fragments of at most this many bytes (`?fragment=N`), with a ping between
    /// them when the flag is set (`?ping-between`).
    Fragments(usize, bool),
}

/// Where a text frame held until it is whole keeps its bytes (see [`Echo::Hold`]).
pub(super) trait Held {
    /// The bytes held so far, taken: `None` when none are.
    fn take(&mut self) -> Option<Vec<u8>>;
    /// The buffer to add to, made for a frame of `len` payload bytes if none is there.
    fn buffer(&mut self, len: usize) -> &mut Vec<u8>;
}

/// The data of the pings `?ping-between` puts between fragments.
const PING_BETWEEN: &[u8] = b"between";

#[derive(Debug)]
pub(super) struct Message {
    /// Text or Binary.
    opcode: Opcode,
    /// Payload bytes so far: wire bytes, or inflated bytes when compressed.
    pub len: u64,
    utf8: Utf8Validator,
    /// Whether the first echo frame (the one carrying the opcode) has gone out.
    echo_started: bool,
    /// RSV1 was set on the first frame: the payload is permessage-deflate data.
    pub compressed: bool,
}

impl Message {
    pub(super) fn new(opcode: Opcode, compressed: bool) -> Self {
        Message {
            opcode,
            len: 0,
            utf8: Utf8Validator::default(),
            echo_started: false,
            compressed,
        }
    }

    /// Whether it is a text message.
    pub(super) fn is_text(&self) -> bool {
        self.opcode == Opcode::Text
    }

    /// How the uncompressed frame with this header is to be echoed; a [`Echo::Stream`]
    /// frame's echo header is written to `out` now.
    pub(super) fn start_plain_frame(
        &mut self,
        (fin, payload_len): (bool, u64),
        (max_held, fragment): (usize, Option<(usize, bool)>),
        out: &mut Output,
    ) -> Echo {
        if let Some((n, ping)) = fragment {
            return Echo::Fragments(n, ping);
        }
        if self.opcode == Opcode::Text {
            return if payload_len <= max_held as u64 {
                Echo::Hold
            } else {
                Echo::Pieces
            };
        }
        let (opcode, _) = next_echo_opcode(self.opcode, &mut self.echo_started);
        emit::echo_header(out.bytes_mut(), fin, opcode, payload_len);
        Echo::Stream
    }

    /// Handles the next unmasked `chunk` of an uncompressed frame echoed as `echo`:
    /// `frame_len` is the frame's payload length, `frame_done` marks its end, `fin` is
    /// its FIN. A held
    /// frame's bytes so far are in `held`. Invalid UTF-8 is reported relative to `chunk`.
    pub(super) fn on_plain_chunk(
        &mut self,
        chunk: &[u8],
        (echo, frame_len, frame_done, fin): (Echo, u64, bool, bool),
        held: &mut impl Held,
        out: &mut Output,
    ) -> Result<(), InvalidUtf8> {
        let last = frame_done && fin;
        if self.opcode == Opcode::Text {
            self.utf8.feed(chunk)?;
            if last {
                // Its position is from the end of the stream: after this chunk.
                self.utf8.finish().map_err(|e| InvalidUtf8 {
                    at: e.at + chunk.len() as i64,
                })?;
            }
        }
        match echo {
            // The header went out with the frame's start.
            Echo::Stream => out.payload(chunk),
            Echo::Hold if frame_done => {
                let (opcode, _) = next_echo_opcode(self.opcode, &mut self.echo_started);
                match held.take() {
                    // Whole in one read: echoed from where it lies, no copy.
                    None => emit::echo(out, fin, opcode, chunk),
                    Some(mut bytes) => {
                        bytes.extend_from_slice(chunk);
                        emit::frame(out.bytes_mut(), fin, false, opcode, &bytes);
                    }
                }
            }
            Echo::Hold => held.buffer(frame_len as usize).extend_from_slice(chunk),
            Echo::Pieces => {
                let (opcode, _) = next_echo_opcode(self.opcode, &mut self.echo_started);
                emit::echo(out, last, opcode, chunk);
            }
            // An empty chunk sends nothing, unless it ends the message.
            Echo::Fragments(_, ping) if chunk.is_empty() => {
                if last {
                    self.fragment(out, ping, true, chunk);
                }
            }
            Echo::Fragments(n, ping) => {
                let pieces = chunk.len().div_ceil(n);
                for (i, piece) in chunk.chunks(n).enumerate() {
                    self.fragment(out, ping, last && i + 1 == pieces, piece);
                }
            }
        }
        Ok(())
    }

    /// Appends one `?fragment=N` echo frame, after a ping when `ping_between` and it is
    /// not the message's first: §5.4, "control frames MAY be injected in the middle of
    /// a fragmented message".
    fn fragment(&mut self, out: &mut Output, ping_between: bool, fin: bool, piece: &[u8]) {
        let (opcode, first) = next_echo_opcode(self.opcode, &mut self.echo_started);
        if ping_between && !first {
            emit::frame(out.bytes_mut(), true, false, Opcode::Ping, PING_BETWEEN);
        }
        emit::echo(out, fin, opcode, piece);
    }

    /// Handles the next unmasked `chunk` of a compressed message: inflate it, judge the
    /// inflated bytes (size limit, UTF-8) as they come out, and echo them compressed.
    /// The echo may not take `out` past `max_echo` bytes: data built to inflate far more
    /// than it recompresses (with the small window a client may ask us to use) would
    /// otherwise turn one read into an unbounded amount of output.
    pub(super) fn on_compressed_chunk(
        &mut self,
        chunk: &[u8],
        last: bool,
        (max_message_size, max_echo): (u64, usize),
        session: &mut DeflateSession,
        out: &mut Vec<u8>,
    ) -> Result<(), ProtocolError> {
        let text = self.opcode == Opcode::Text;
        let (len, utf8) = (&mut self.len, &mut self.utf8);
        let mut judge = |inflated: &[u8]| -> Result<(), ProtocolError> {
            // Refused the moment the inflated size passes the limit: a small compressed
            // bomb is never inflated beyond one scratch buffer. The bytes of this piece
            // that are within the limit come first, though: invalid UTF-8 among them is
            // the earlier violation, whatever size of pieces the inflater hands out.
            let room = max_message_size.saturating_sub(*len);
            if inflated.len() as u64 > room {
                if text {
                    // `room` is less than the piece's length, so it fits a usize.
                    let within = &inflated[..room as usize];
                    utf8.feed(within).map_err(|_| ProtocolError::InvalidUtf8)?;
                }
                return Err(ProtocolError::MessageTooBig {
                    max: max_message_size,
                });
            }
            *len += inflated.len() as u64;
            if text {
                utf8.feed(inflated)
                    .map_err(|_| ProtocolError::InvalidUtf8)?;
            }
            Ok(())
        };
        let (opcode, echo_started) = (self.opcode, &mut self.echo_started);
        let mut emit_piece = |payload: &[u8]| {
            echo_frame(out, (opcode, echo_started), false, true, payload, max_echo)
        };
        session.inflate(chunk, last, &mut judge, &mut emit_piece)?;
        if last && text {
            self.utf8.finish().map_err(|_| ProtocolError::InvalidUtf8)?;
        }
        if let Some(echo) = session.take_echo(last) {
            let started = (self.opcode, &mut self.echo_started);
            echo_frame(out, started, last, echo.compressed, echo.payload, max_echo)?;
        }
        if last {
            session.end_message();
        }
        Ok(())
    }
}

/// The opcode for the next echo frame of a message, and whether it is the first: the
/// message's own opcode once, then continuations.
fn next_echo_opcode(opcode: Opcode, echo_started: &mut bool) -> (Opcode, bool) {
    if std::mem::replace(echo_started, true) {
        (Opcode::Continuation, false)
    } else {
        (opcode, true)
    }
}

/// Appends one frame of a compressed message's echo: the message's opcode and RSV1 (when
/// `compressed`) on its first frame only (RFC 7692 §6.1), continuations after. The
/// output may not pass `max_echo` bytes.
fn echo_frame(
    out: &mut Vec<u8>,
    (opcode, echo_started): (Opcode, &mut bool),
    fin: bool,
    compressed: bool,
    payload: &[u8],
    max_echo: usize,
) -> Result<(), ProtocolError> {
    let (opcode, first) = next_echo_opcode(opcode, echo_started);
    emit::frame(out, fin, first && compressed, opcode, payload);
    if out.len() > max_echo {
        return Err(ProtocolError::EchoTooLarge { max: max_echo });
    }
    Ok(())
}
