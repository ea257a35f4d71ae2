//! The frame loop of an open connection: headers are parsed (resumably), checked against
//! the connection's state, and payloads are unmasked in place and handed on as they
//! arrive. All state here is small and fixed-size; what is rare is boxed.

use super::Counts;
use super::control::{self, ControlBuf, ControlOutcome};
use super::deflate::DeflateSession;
use super::emit;
use super::in_frame::{self, Frame, InFrame};
use super::message::{Echo, Held, Message};
use super::output::Output;
use super::small_echo::{Run, SMALL_BOUND, echo_small_frames, small_frames_fit};
use crate::config::Config;
use crate::error::ProtocolError;
use crate::frame::header::parse_client_header;
use crate::frame::mask::apply_mask;
use crate::frame::{CloseCode, FrameHeader, MAX_CLIENT_HEADER_LEN, Opcode};
use crate::handshake::behaviour::End;

use crate::event::Location;

/// Why the receiver stopped.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Stop {
    /// The client broke a rule in the current frame; nothing has been sent for it yet.
    Fail(ProtocolError),
    /// Invalid UTF-8 in an uncompressed text message, at this offset of the
    /// connection's input and of the message.
    BadUtf8 { stream: u64, message: u64 },
    /// The echo frame a close of ours waited for is complete (or the messages the
    /// request asked for are echoed): send the close now. The offset of the first byte
    /// of the input not read: what follows is the client's, for the close wait.
    Due(Box<End>, u64),
    /// The client sent a valid close frame; our reply is queued.
    PeerClosed { code: Option<CloseCode> },
}

impl From<ProtocolError> for Stop {
    fn from(e: ProtocolError) -> Self {
        Stop::Fail(e)
    }
}

/// What the fast path found at the front of the input.
enum Front {
    /// A whole message, echoed; this many bytes taken.
    Echoed(usize),
    /// Any other frame: its parsed header and the header's length.
    Header(FrameHeader, usize),
    /// Not even a whole header: the general path stashes it.
    Short,
}

/// What the receiver has counted (see [`Counts`]).
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    messages: u64,
    text_messages: u64,
    bytes: u64,
    pings: u32,
    pongs: u32,
}

/// What few connections need, boxed so that the others pay 8 bytes for it. Made when
/// first needed (at the upgrade, for a connection that agreed permessage-deflate); the parts that last only while a frame straddles reads (`control`,
/// `held`) free the box with them when nothing else is left in it.
#[derive(Default)]
struct Rare {
    /// permessage-deflate state, when it was agreed (here rather than in a field of
    /// the receiver's own: 8 bytes less on every connection, one more load on a
    /// compressed message's path).
    deflate: Option<Box<DeflateSession>>,
    /// A close of our own asked for while an echo frame was going out: sent once the
    /// frame is complete, since a close cannot go inside a frame.
    deferred_close: Option<(CloseCode, String)>,
    /// `?close=CODE&after=N` or `?abort&after=N`: the end due once N messages are
    /// echoed.
    end_after: Option<(u64, End)>,
    /// `?fragment=N`: echoes go out in fragments of at most N bytes (with a ping
    /// between them, `?ping-between`).
    fragment: Option<(usize, bool)>,
    /// `?ping=SECONDS`: the data of our last ping, and what came back for it.
    pong: Option<PongWatch>,
    /// A control frame's payload split across reads.
    control: Option<ControlBuf>,
    /// A text frame held until it is whole (see [`Echo::Hold`]); empty while none is.
    held: Vec<u8>,
}

impl Rare {
    fn is_empty(&self) -> bool {
        self.deflate.is_none()
            && self.deferred_close.is_none()
            && self.end_after.is_none()
            && self.fragment.is_none()
            && self.pong.is_none()
            && self.control.is_none()
            && self.held.capacity() == 0
    }
}

/// Frees the rare box once nothing is left in it.
fn tidy(rare: &mut Option<Box<Rare>>) {
    if rare.as_deref().is_some_and(Rare::is_empty) {
        *rare = None;
    }
}

/// The held text frame's bytes live in the rare box, made for them and freed with them.
impl Held for Option<Box<Rare>> {
    fn take(&mut self) -> Option<Vec<u8>> {
        let rare = self.as_deref_mut()?;
        if rare.held.capacity() == 0 {
            return None;
        }
        let bytes = std::mem::take(&mut rare.held);
        tidy(self);
        Some(bytes)
    }

    fn buffer(&mut self, len: usize) -> &mut Vec<u8> {
        let held = &mut self.get_or_insert_with(Box::default).held;
        if held.capacity() == 0 {
            // Reserved at the frame's length (at most `--max-held-frame`) once: no
            // doubling past it.
            held.reserve_exact(len);
        }
        held
    }
}

/// The answer to our last `?ping=` ping, looked for among the client's pongs.
#[derive(Debug)]
struct PongWatch {
    /// The ping's data.
    wanted: Vec<u8>,
    /// A pong with the same data came.
    answered: bool,
    /// Pongs with other data since (unsolicited ones, §5.5.3, or wrong answers).
    others: u32,
}

#[derive(Default)]
pub(super) struct Receiver {
    /// A header, frame or message that straddles reads (see [`InFrame`]); `None` between
    /// frames, so that the small-frame echo's test is one null check.
    in_frame: Option<Box<InFrame>>,
    /// What few connections need (see [`Rare`]), a control frame or a held text frame
    /// that straddles reads included.
    rare: Option<Box<Rare>>,
    /// Whether the small-frame path is on (see [`small_frames_fit`]; off too once a
    /// behaviour needs every message on the general path). A `bool`, not the path's
    /// bound in a `u8`: its spare values are where [`Phase`](super::Phase) keeps its
    /// tag, which saves the 8 bytes a tag of its own would take on every connection.
    small_frames: bool,
    tally: Tally,
    /// Bytes of the connection's input up to the end of the current read, the HTTP
    /// request included. Every slice the frame loop holds ends where the read ended, so
    /// the offset of its first byte is `total` less its length.
    total: u64,
    /// Frames begun (whole or not), for locating a violation.
    frames: u64,
    /// The offset of the current (or last) frame's first byte.
    frame_at: u64,
}

impl Receiver {
    /// `total`: the connection's input so far, through the end of the read that
    /// completed the handshake.
    pub(super) fn new(deflate: Option<Box<DeflateSession>>, config: &Config, total: u64) -> Self {
        Receiver {
            rare: deflate.map(|deflate| {
                Box::new(Rare {
                    deflate: Some(deflate),
                    ..Rare::default()
                })
            }),
            small_frames: small_frames_fit(config),
            total,
            ..Receiver::default()
        }
    }

    /// The input bytes after `offset` up to the end of the current read.
    pub(super) fn unread_after(&self, offset: u64) -> usize {
        usize::try_from(self.total.saturating_sub(offset)).unwrap_or(usize::MAX)
    }

    /// Where the current frame is, for a violation found in it.
    pub(super) fn location(&self) -> Location {
        Location {
            frame: self.frames,
            frame_offset: self.frame_at,
            byte: None,
        }
    }

    /// The offset of `rest`'s first byte, `rest` being the end of the current read.
    #[inline]
    fn offset_of(&self, rest: &[u8]) -> u64 {
        self.total - rest.len() as u64
    }

    /// The small frame at `input[run.taken..]` is text that is not UTF-8 (see
    /// [`echo_small_frames`]): its payload, unmasked, now lies after its echo's header
    /// at `input[run.echoed..]`. Cold: it finds the bad byte to say where it was.
    #[cold]
    pub(super) fn bad_small_frame(&mut self, input: &[u8], run: &Run) -> Stop {
        self.frames += 1;
        self.frame_at = self.total - (input.len() - run.taken) as u64;
        let len = input.get(run.echoed + 1).map_or(0, |&b| usize::from(b));
        let payload = input
            .get(run.echoed + 2..run.echoed + 2 + len)
            .unwrap_or(&[]);
        let valid = simdutf8::compat::from_utf8(payload).map_or_else(|e| e.valid_up_to(), |_| len);
        // A small frame's header is 6 bytes: two, then the mask key.
        Stop::BadUtf8 {
            stream: self.frame_at + 6 + valid as u64,
            message: valid as u64,
        }
    }

    /// Processes every byte of `input`, appending echoes, pongs and a close reply to
    /// `out`. Stops at the first violation or at the peer's close; bytes after that are
    /// not looked at (RFC 6455 §5.5.1: after a Close, "the endpoint ... MUST NOT send
    /// any more data frames", and frames after it are not processed).
    #[inline(always)]
    pub(super) fn receive(
        &mut self,
        input: &mut [u8],
        config: &Config,
        out: &mut Output,
    ) -> Result<(), Stop> {
        // The frame loop takes runs of small whole messages first whenever it is between
        // frames (and the driver has usually echoed those in place already).
        if input.is_empty() {
            return Ok(());
        }
        self.receive_frames(input, config, out)
    }

    #[inline]
    fn between_frames(&self) -> bool {
        self.in_frame.is_none()
    }

    /// Between frames after all: the frame or message that just ended left its box
    /// empty, which goes back to the spares.
    #[inline]
    fn settled(&mut self) -> bool {
        match self.in_frame.take_if(|state| state.is_empty()) {
            Some(state) => {
                in_frame::give(state);
                true
            }
            None => false,
        }
    }

    /// Whether a frame's payload is being received.
    #[inline]
    fn in_payload(&self) -> bool {
        self.in_frame.as_ref().is_some_and(|s| s.frame.is_some())
    }

    #[inline(never)]
    fn receive_frames(
        &mut self,
        mut input: &mut [u8],
        config: &Config,
        out: &mut Output,
    ) -> Result<(), Stop> {
        loop {
            if self.between_frames() || self.settled() {
                let taken = self.small_messages(input, out)?;
                advance(&mut input, taken);
                if input.is_empty() {
                    return Ok(());
                }
                match self.whole_message(input, config, out)? {
                    Front::Echoed(consumed) => {
                        advance(&mut input, consumed);
                        continue;
                    }
                    // Parsed once here; the general path takes it from this header on.
                    Front::Header(header, header_len) => {
                        advance(&mut input, header_len);
                        self.start_frame(header, config, out)?;
                        if !self.in_payload() {
                            continue;
                        }
                    }
                    Front::Short => {}
                }
            }
            if !self.in_payload() {
                let Some(header) = self.next_header(&mut input)? else {
                    return Ok(());
                };
                self.start_frame(header, config, out)?;
                if !self.in_payload() {
                    continue;
                }
            }
            if input.is_empty() {
                return Ok(());
            }
            let rest = self.payload(input, config, out)?;
            input = rest;
        }
    }

    /// The hottest case: when between frames, the run of small whole data frames at the
    /// front of `input` is echoed in place (see [`small_echo`](super::small_echo)). The
    /// caller records the echoes and judges the frame the run stopped at.
    #[inline(always)]
    pub(super) fn echo_small_in_place(&mut self, input: &mut [u8]) -> Run {
        if !self.small_frames || !self.between_frames() {
            return Run::default();
        }
        let run = echo_small_frames(input, SMALL_BOUND);
        self.count(run.messages, run.payload_bytes());
        self.tally.text_messages += run.text_messages;
        // Each small message is one frame.
        self.frames += run.messages;
        run
    }

    /// A new read: `input` is all of it.
    #[inline(always)]
    pub(super) fn note_read(&mut self, input: &[u8]) {
        self.total += input.len() as u64;
    }

    /// [`Receiver::echo_small_in_place`] inside the frame loop, with the echoes recorded
    /// in `out`.
    #[inline(always)]
    fn small_messages(&mut self, input: &mut [u8], out: &mut Output) -> Result<usize, Stop> {
        let run = self.echo_small_in_place(input);
        out.in_place(&input[..run.echoed]);
        if run.invalid_utf8 {
            return Err(self.bad_small_frame(input, &run));
        }
        Ok(run.taken)
    }

    #[inline(always)]
    fn count(&mut self, messages: u64, payload_bytes: u64) {
        self.tally.messages += messages;
        self.tally.bytes += payload_bytes;
    }

    /// The common case, taken without the per-frame state: a whole unfragmented,
    /// uncompressed data message at the front of `input`. It is unmasked in place,
    /// validated and echoed as the same frame. Any other frame's header is handed back
    /// parsed, for the general path to continue from.
    fn whole_message(
        &mut self,
        input: &mut [u8],
        config: &Config,
        out: &mut Output,
    ) -> Result<Front, Stop> {
        let frame_at = self.offset_of(input);
        let parsed = parse_client_header(input);
        if !matches!(parsed, Ok(None)) {
            // A header, or a broken one: either way a frame begins here.
            self.frames += 1;
            self.frame_at = frame_at;
        }
        let Some((header, header_len)) = parsed? else {
            return Ok(Front::Short);
        };
        let whole = header.fin
            && header.rsv == 0
            && self.fragment().is_none()
            && matches!(header.opcode, Opcode::Text | Opcode::Binary)
            && header.payload_len <= config.max_frame_size
            && header.payload_len <= config.max_message_size
            && header.payload_len <= (input.len() - header_len) as u64;
        if !whole {
            return Ok(Front::Header(header, header_len));
        }
        let end = header_len + header.payload_len as usize;
        let payload = &mut input[header_len..end];
        apply_mask(payload, header.mask_key, 0);
        if header.opcode == Opcode::Text
            && simdutf8::basic::from_utf8(payload).is_err()
            && let Err(e) = simdutf8::compat::from_utf8(payload)
        {
            let valid = e.valid_up_to() as u64;
            return Err(Stop::BadUtf8 {
                stream: frame_at + header_len as u64 + valid,
                message: valid,
            });
        }
        emit::echo(out, true, header.opcode, payload);
        self.count(1, header.payload_len);
        self.tally.text_messages += u64::from(header.opcode == Opcode::Text);
        if self.rare.is_some()
            && let Some(close) = self.due_close()
        {
            return Err(Stop::Due(close, frame_at + end as u64));
        }
        Ok(Front::Echoed(end))
    }

    /// Parses the next header from the stashed bytes and/or `input`, advancing `input`
    /// past it. `None` when more bytes are needed (they are stashed).
    fn next_header(&mut self, input: &mut &mut [u8]) -> Result<Option<FrameHeader>, ProtocolError> {
        let have = self
            .in_frame
            .as_ref()
            .map_or(0, |s| usize::from(s.header_len));
        if have == 0 {
            if input.is_empty() {
                return Ok(None);
            }
            self.frame_at = self.offset_of(input);
            let parsed = parse_client_header(input);
            if !matches!(parsed, Ok(None)) {
                self.frames += 1;
            }
            return match parsed? {
                Some((header, len)) => {
                    advance(input, len);
                    Ok(Some(header))
                }
                None => {
                    // Short of a whole header: fewer than 14 bytes, kept for the next read.
                    let state = self.in_frame.get_or_insert_with(in_frame::take);
                    state.header_buf[..input.len()].copy_from_slice(input);
                    state.header_len = input.len() as u8;
                    advance(input, input.len());
                    Ok(None)
                }
            };
        }
        // A header was begun (`have` > 0): the box holds it.
        let state = self.in_frame.get_or_insert_with(in_frame::take);
        let take = (MAX_CLIENT_HEADER_LEN - have).min(input.len());
        state.header_buf[have..have + take].copy_from_slice(&input[..take]);
        let parsed = parse_client_header(&state.header_buf[..have + take]);
        if !matches!(parsed, Ok(None)) {
            self.frames += 1;
        }
        match parsed? {
            Some((header, len)) => {
                state.header_len = 0;
                advance(input, len - have);
                Ok(Some(header))
            }
            None => {
                state.header_len = (have + take) as u8;
                advance(input, take);
                Ok(None)
            }
        }
    }

    /// Applies the rules that depend on the connection's state, then begins the frame.
    fn start_frame(
        &mut self,
        header: FrameHeader,
        config: &Config,
        out: &mut Output,
    ) -> Result<(), Stop> {
        self.check_rsv(&header)?;
        // Control frames are never over 125 bytes (the header parser saw to that) and
        // are not subject to the data limits, however low: a ping is still answered.
        if !header.opcode.is_control() && header.payload_len > config.max_frame_size {
            // Limits are judged from the header alone, before any payload is held.
            return Err(ProtocolError::FrameTooBig {
                payload_len: header.payload_len,
                max: config.max_frame_size,
            }
            .into());
        }
        if header.opcode.is_control() {
            if header.payload_len == 0 {
                return self.control_frame(header.opcode, &[], out.bytes_mut());
            }
            self.in_frame.get_or_insert_with(in_frame::take).frame = Some(Frame {
                header,
                received: 0,
                echo: Echo::Pieces,
            });
            return Ok(());
        }
        let message = self.in_frame.as_ref().and_then(|s| s.message.as_ref());
        match (header.opcode, message) {
            // §5.4: a continuation needs a message to continue...
            (Opcode::Continuation, None) => {
                return Err(ProtocolError::UnexpectedContinuation.into());
            }
            // ...and a new message may not start inside one.
            (Opcode::Text | Opcode::Binary, Some(_)) => {
                return Err(ProtocolError::ExpectedContinuation.into());
            }
            (Opcode::Text | Opcode::Binary, None) => {
                self.in_frame.get_or_insert_with(in_frame::take).message =
                    Some(Message::new(header.opcode, header.rsv1()));
            }
            _ => {}
        }
        let Some(state) = self.in_frame.as_deref_mut() else {
            return Err(ProtocolError::UnexpectedContinuation.into());
        };
        let Some(message) = state.message.as_mut() else {
            return Err(ProtocolError::UnexpectedContinuation.into());
        };
        if !message.compressed {
            let total = message.len.saturating_add(header.payload_len);
            if total > config.max_message_size {
                return Err(ProtocolError::MessageTooBig {
                    max: config.max_message_size,
                }
                .into());
            }
            message.len = total;
        }
        let echo = if message.compressed {
            Echo::Pieces
        } else {
            let fragment = self.rare.as_ref().and_then(|r| r.fragment);
            message.start_plain_frame(
                (header.fin, header.payload_len),
                (config.max_held_frame, fragment),
                out,
            )
        };
        state.frame = Some(Frame {
            header,
            received: 0,
            echo,
        });
        if header.payload_len == 0 {
            // An empty frame still carries FIN (and may end the message). Its (empty)
            // payload would start where the header ended: the end of what was read.
            self.data_chunk(&mut [], self.total, config, out)?;
        }
        Ok(())
    }

    /// RSV bits "MUST be 0 unless an extension is negotiated that defines meanings for
    /// non-zero values" (§5.2); permessage-deflate defines RSV1 on a message's first frame.
    fn check_rsv(&self, header: &FrameHeader) -> Result<(), ProtocolError> {
        if header.rsv == 0 {
            return Ok(());
        }
        if header.rsv != 0b100 || !self.has_deflate() {
            return Err(ProtocolError::ReservedBits { rsv: header.rsv });
        }
        match header.opcode {
            Opcode::Text | Opcode::Binary => Ok(()),
            Opcode::Continuation => Err(ProtocolError::Rsv1OnContinuation),
            _ => Err(ProtocolError::Rsv1OnControlFrame),
        }
    }

    /// Takes the current frame's share of `input`, returns the rest.
    fn payload<'a>(
        &mut self,
        input: &'a mut [u8],
        config: &Config,
        out: &mut Output,
    ) -> Result<&'a mut [u8], Stop> {
        let Some(frame) = self.in_frame.as_ref().and_then(|s| s.frame.as_ref()) else {
            return Ok(input);
        };
        let remaining = frame.header.payload_len - frame.received;
        let n = usize::try_from(remaining).map_or(input.len(), |r| r.min(input.len()));
        let chunk_at = self.offset_of(input);
        let (chunk, rest) = input.split_at_mut(n);
        if frame.header.opcode.is_control() {
            self.control_chunk(chunk, out)?;
        } else {
            self.data_chunk(chunk, chunk_at, config, out)?;
        }
        Ok(rest)
    }

    fn control_chunk(&mut self, chunk: &mut [u8], out: &mut Output) -> Result<(), Stop> {
        let Some(state) = self.in_frame.as_deref_mut() else {
            return Ok(());
        };
        let Some(frame) = state.frame.as_mut() else {
            return Ok(());
        };
        apply_mask(chunk, frame.header.mask_key, frame.received);
        frame.received += chunk.len() as u64;
        let opcode = frame.header.opcode;
        if frame.received < frame.header.payload_len {
            let rare = self.rare.get_or_insert_with(Box::default);
            rare.control
                .get_or_insert_with(ControlBuf::new)
                .extend(chunk);
            return Ok(());
        }
        state.frame = None;
        let buf = self.rare.as_deref_mut().and_then(|r| r.control.take());
        match buf {
            // The usual case: the whole payload arrived in one read, no copy.
            None => self.control_frame(opcode, chunk, out.bytes_mut()),
            Some(mut buf) => {
                tidy(&mut self.rare);
                buf.extend(chunk);
                self.control_frame(opcode, buf.as_slice(), out.bytes_mut())
            }
        }
    }

    fn control_frame(
        &mut self,
        opcode: Opcode,
        payload: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Stop> {
        match opcode {
            Opcode::Ping => self.tally.pings = self.tally.pings.wrapping_add(1),
            Opcode::Pong => {
                self.tally.pongs = self.tally.pongs.wrapping_add(1);
                if let Some(watch) = self.rare.as_mut().and_then(|r| r.pong.as_mut()) {
                    // §5.5.3: "A Pong frame sent in response to a Ping frame must have
                    // identical "Application data" as found in the message body of the
                    // Ping frame being replied to."
                    if payload == watch.wanted {
                        watch.answered = true;
                    } else {
                        watch.others = watch.others.saturating_add(1);
                    }
                }
            }
            _ => {}
        }
        match control::handle(opcode, payload, out)? {
            ControlOutcome::Continue => Ok(()),
            ControlOutcome::PeerClosed { code } => Err(Stop::PeerClosed { code }),
        }
    }

    /// The next `chunk` of a data frame's payload; `chunk_at` is the offset of its
    /// first byte in the connection's input.
    fn data_chunk(
        &mut self,
        chunk: &mut [u8],
        chunk_at: u64,
        config: &Config,
        out: &mut Output,
    ) -> Result<(), Stop> {
        let Some(state) = self.in_frame.as_deref_mut() else {
            return Ok(());
        };
        let (Some(frame), Some(message)) = (state.frame.as_mut(), state.message.as_mut()) else {
            return Ok(());
        };
        // The message's bytes before this chunk: `message.len` counts the current frame
        // whole from its header on (for an uncompressed message; the value is not used
        // for a compressed one, whose length counts inflated bytes).
        let message_at = message
            .len
            .saturating_sub(frame.header.payload_len - frame.received);
        apply_mask(chunk, frame.header.mask_key, frame.received);
        frame.received += chunk.len() as u64;
        let frame_done = frame.received == frame.header.payload_len;
        let last = frame_done && frame.header.fin;
        if message.compressed {
            let session = self
                .rare
                .as_deref_mut()
                .and_then(|r| r.deflate.as_deref_mut());
            let Some(session) = session else {
                return Err(ProtocolError::ReservedBits { rsv: 0b100 }.into());
            };
            message.on_compressed_chunk(
                chunk,
                last,
                (config.max_message_size, config.max_backpressure),
                session,
                out.bytes_mut(),
            )?;
        } else if let Err(e) = message.on_plain_chunk(
            chunk,
            (
                frame.echo,
                frame.header.payload_len,
                frame_done,
                frame.header.fin,
            ),
            &mut self.rare,
            out,
        ) {
            // `at` may reach back into earlier chunks (a code point begun there): this
            // frame's payload is contiguous, the frame before it ended at `data_end`.
            let received_before = frame.received - chunk.len() as u64;
            let back = e.at.unsigned_abs();
            let stream = if e.at >= 0 || back <= received_before {
                chunk_at.saturating_add_signed(e.at)
            } else {
                state.data_end.saturating_sub(back - received_before)
            };
            return Err(Stop::BadUtf8 {
                stream,
                message: message_at.saturating_add_signed(e.at),
            });
        }
        self.tally.bytes += chunk.len() as u64;
        if frame_done {
            if !chunk.is_empty() {
                state.data_end = chunk_at + chunk.len() as u64;
            }
            state.frame = None;
        }
        if last {
            let text = message.is_text();
            state.message = None;
            self.tally.messages += 1;
            self.tally.text_messages += u64::from(text);
        }
        if frame_done && let Some(close) = self.due_close() {
            return Err(Stop::Due(close, chunk_at + chunk.len() as u64));
        }
        Ok(())
    }

    /// Between frames: a close of ours that waited for the echo frame's end, or the one
    /// the request asked for once enough messages are echoed.
    fn due_close(&mut self) -> Option<Box<End>> {
        let rare = self.rare.as_deref_mut()?;
        if let Some((code, reason)) = rare.deferred_close.take() {
            return Some(Box::new(End::Close(code, reason)));
        }
        match rare.end_after.take() {
            Some((n, end)) if self.tally.messages >= n => Some(Box::new(end)),
            pending => {
                rare.end_after = pending;
                None
            }
        }
    }

    /// `?fragment=N`: every echo goes out in fragments of at most `n` bytes (the
    /// small-frame run, which echoes each frame whole, is turned off).
    /// With `ping_between` (`?ping-between`), a ping goes between the fragments.
    pub(super) fn fragment_echoes(&mut self, n: usize, ping_between: bool) {
        self.general_path_only();
        self.rare.get_or_insert_with(Box::default).fragment = Some((n, ping_between));
    }

    fn fragment(&self) -> Option<(usize, bool)> {
        self.rare.as_ref().and_then(|r| r.fragment)
    }

    /// `?close=CODE&after=N` (or `?abort&after=N`): ends the connection so once `n`
    /// messages are echoed. Counting each message takes the general path: the
    /// small-frame run, which echoes many at once, is turned off for this connection.
    pub(super) fn end_after(&mut self, n: u64, end: End) {
        self.general_path_only();
        self.rare.get_or_insert_with(Box::default).end_after = Some((n, end));
    }

    /// Turns the small-frame run off: every input takes the general path (where each
    /// message is counted and framed on its own, and held output, `?delay=`, is taken
    /// out of the input).
    pub(super) fn general_path_only(&mut self) {
        self.small_frames = false;
    }

    /// Our `?ping=` ping with `payload` went out: its pong is looked for.
    pub(super) fn expect_pong(&mut self, payload: Vec<u8>) {
        self.rare.get_or_insert_with(Box::default).pong = Some(PongWatch {
            wanted: payload,
            answered: false,
            others: 0,
        });
    }

    /// Whether our last `?ping=` ping was answered, and how many pongs with other data
    /// came meanwhile.
    pub(super) fn pong_answered(&self) -> (bool, u32) {
        match self.rare.as_ref().and_then(|r| r.pong.as_ref()) {
            Some(watch) => (watch.answered, watch.others),
            None => (true, 0),
        }
    }

    /// An echo message is going out (its first frame is sent, its last is not): a
    /// message of ours may not start now (§5.4: fragments of different messages must
    /// not interleave).
    pub(super) fn mid_message(&self) -> bool {
        self.in_frame.as_ref().is_some_and(|s| s.message.is_some()) || self.echo_in_flight()
    }

    /// Our echo of the current frame is going out: its header is sent and its payload
    /// is not complete, so nothing else may be sent until it is.
    pub(super) fn echo_in_flight(&self) -> bool {
        self.in_frame
            .as_ref()
            .and_then(|s| s.frame.as_ref())
            .is_some_and(|f| f.echo == Echo::Stream)
    }

    /// Sends `code` and `reason` once the echo frame in flight is complete.
    pub(super) fn defer_close(&mut self, code: CloseCode, reason: &str) {
        let rare = self.rare.get_or_insert_with(Box::default);
        if rare.deferred_close.is_none() {
            rare.deferred_close = Some((code, reason.to_string()));
        }
    }

    /// A close of ours waits for the echo frame in flight.
    pub(super) fn close_deferred(&self) -> bool {
        self.rare
            .as_ref()
            .is_some_and(|r| r.deferred_close.is_some())
    }

    pub(super) fn counts(&self) -> Counts {
        let t = &self.tally;
        Counts {
            messages: t.messages,
            text_messages: t.text_messages,
            bytes: t.bytes,
            pings_in: u64::from(t.pings),
            pongs_in: u64::from(t.pongs),
            wire_in: self.total,
            ..Counts::default()
        }
    }

    /// Where the client is in its stream of frames: the front of a header that straddles
    /// reads, and the payload bytes of the current frame still to come.
    pub(super) fn frame_position(&self) -> (&[u8], u64) {
        let Some(state) = self.in_frame.as_deref() else {
            return (&[], 0);
        };
        let rest = state
            .frame
            .as_ref()
            .map_or(0, |f| f.header.payload_len - f.received);
        (&state.header_buf[..usize::from(state.header_len)], rest)
    }

    pub(super) fn has_deflate(&self) -> bool {
        self.rare.as_ref().is_some_and(|r| r.deflate.is_some())
    }
}

fn advance(input: &mut &mut [u8], n: usize) {
    let taken = std::mem::take(input);
    *input = &mut taken[n..];
}
