//! The server side of one HTTP/2 connection (RFC 9113), with no I/O in it: fed the
//! bytes read and the time, it returns the bytes to write and [`Event`]s, in the style
//! of the WebSocket core in [`crate::connection`].
//!
//! The driver calls [`Session::receive`] with what it read (while
//! [`Session::wants_read`]), then [`Session::poll`] until it returns `None`, answering
//! events with [`Session::send_headers`], [`Session::send_data`],
//! [`Session::consumed`] and [`Session::reset`]; then [`Session::write_output`] while
//! [`Session::has_output`] (and poll again: output sent makes [`Event::Drained`] and
//! [`Event::Closed`]), and [`Session::status`] says when to close. Time moves by
//! [`Session::handle_timeout`] at [`Session::deadline`] (poll afterwards: a timeout can
//! fail the connection).
//!
//! Work is bounded per turn of the driver's loop: at most `max_frames_per_turn` frames
//! are processed between two calls of [`Session::new_turn`]; the rest of the input is
//! held ([`Session::has_backlog`]), and no more is read, until the next turn. Nor is
//! input processed while half of `max_control_backlog` of our frames waits.
//!
//! Memory is bounded by [`Limits`]: one frame of input, one field block, the stream
//! windows the application has not consumed, the send queues the application keeps
//! under `max_send_queue`, and `max_control_backlog` of our own frames. An idle session
//! holds no buffer.

mod event;
mod flood;
mod input;
mod limits;
mod output;
mod recent;
mod request;
mod stream;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::ops::Range;
use std::time::Instant;

pub use event::{Event, SessionStatus};
pub use limits::*;
pub use output::Sink;
pub(crate) use request::Request;

use flood::Flood;
use recent::RecentResets;
use stream::Streams;

use crate::h2::frame::{
    DEFAULT_MAX_FRAME_SIZE, ErrorCode, FRAME_HEADER_LEN, FrameHeader, MAX_MAX_FRAME_SIZE,
    MAX_WINDOW, PrioritySpec, Setting, StreamId, write_goaway, write_settings, write_window_update,
};
use crate::h2::hpack::Decoder;
use crate::h2::spare;

/// RFC 9113 §3.4: "the connection preface starts with the string
/// "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"".
pub const CLIENT_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// §6.9.2: "When an HTTP/2 connection is first established, new streams are created
/// with an initial flow-control window size of 65,535 octets. The connection
/// flow-control window is also 65,535 octets."
const INITIAL_WINDOW: u32 = 65_535;

/// Where the connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Matching the client preface; this many octets matched so far.
    Preface(usize),
    /// The preface matched: the next frame must be SETTINGS (§3.4).
    FirstSettings,
    /// Frames flow.
    Open,
    /// A connection error (or our GOAWAY with an error): GOAWAY queued, input ignored.
    Failed,
    /// Nothing more to do.
    Done,
}

/// A field block being received across CONTINUATION frames.
#[derive(Debug)]
struct PendingBlock {
    stream: StreamId,
    end_stream: bool,
    priority: Option<PrioritySpec>,
    fragments: Vec<u8>,
}

/// An event waiting to be returned, its borrowed parts as locations.
#[derive(Debug)]
enum Pending {
    Request {
        stream: u32,
        request: Box<Request>,
        end_stream: bool,
    },
    RequestTooLarge {
        stream: u32,
    },
    Data {
        stream: u32,
        range: Range<usize>,
        end_stream: bool,
    },
    Reset {
        stream: u32,
        code: ErrorCode,
        by_peer: bool,
        reason: &'static str,
    },
    Drained {
        stream: u32,
    },
    Closed {
        stream: u32,
    },
    GoAway {
        code: ErrorCode,
        debug: Range<usize>,
    },
    Failed {
        code: ErrorCode,
        reason: &'static str,
    },
}

/// One HTTP/2 connection, server side: see the module documentation.
#[derive(Debug)]
pub struct Session {
    limits: Limits,
    phase: Phase,
    /// The time of the last call that told it.
    now: Instant,
    started: Instant,
    /// Frames that may still be processed in this turn.
    frames_left: u32,
    /// Input received; `input[pos..]` is not processed yet.
    input: Vec<u8>,
    pos: usize,
    /// Our frames other than DATA, in order, waiting for `write_output`.
    ctrl: Vec<u8>,
    /// Open and half-closed streams, in the order they opened (which makes runs
    /// reproducible).
    streams: Streams,
    /// Streams with something to send, served in turn.
    ready: VecDeque<u32>,
    events: VecDeque<Pending>,
    decoder: Decoder,
    block: Option<Box<PendingBlock>>,
    /// The request of the last [`Event::Request`], dropped at the next poll.
    request: Option<Box<Request>>,
    /// The highest stream the client opened (or tried to).
    last_peer_stream: u32,
    /// We sent GOAWAY NO_ERROR: no new streams.
    going_away: bool,
    /// The last stream our GOAWAY named: frames of later streams are ignored.
    goaway_last: Option<u32>,
    /// The peer sent GOAWAY.
    peer_went_away: bool,
    recent: RecentResets,
    flood: Flood,
    /// The connection credit the peer has left, and what it consumed that we have not
    /// returned yet.
    conn_recv_window: i64,
    conn_unacked: u32,
    /// The initial stream window the peer may assume: ours once it acknowledged our
    /// SETTINGS, and at least the protocol's 65,535 before.
    recv_initial: u32,
    conn_send_window: i64,
    peer_initial_window: u32,
    peer_max_frame_size: u32,
    /// When our unacknowledged SETTINGS went out.
    settings_sent: Option<Instant>,
    /// Since when there has been no stream.
    idle_since: Option<Instant>,
    /// Since when the connection has been closing.
    closing: Option<Instant>,
    /// The peer closed its side.
    eof: bool,
    /// Walks of every stream's send window for an INITIAL_WINDOW_SIZE change.
    #[cfg(test)]
    window_walks: usize,
}

impl Session {
    /// A session for a freshly accepted connection, its server preface queued at once:
    /// SETTINGS with SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 first (RFC 8441 §3; HAProxy
    /// answers 502 otherwise), MAX_CONCURRENT_STREAMS, INITIAL_WINDOW_SIZE,
    /// MAX_HEADER_LIST_SIZE (and HEADER_TABLE_SIZE, MAX_FRAME_SIZE when not the
    /// protocol's defaults), then a connection WINDOW_UPDATE when `connection_window`
    /// is above 65,535. Out-of-range limits are brought into the protocol's ranges.
    pub fn new(mut limits: Limits, now: Instant) -> Self {
        limits.max_frame_size = limits
            .max_frame_size
            .clamp(DEFAULT_MAX_FRAME_SIZE, MAX_MAX_FRAME_SIZE);
        limits.stream_window = limits.stream_window.min(MAX_WINDOW);
        limits.connection_window = limits.connection_window.clamp(INITIAL_WINDOW, MAX_WINDOW);
        let mut settings = Vec::with_capacity(6);
        if limits.connect_protocol {
            settings.push(Setting::EnableConnectProtocol(true));
        }
        settings.push(Setting::MaxConcurrentStreams(limits.max_concurrent_streams));
        settings.push(Setting::InitialWindowSize(limits.stream_window));
        settings.push(Setting::MaxHeaderListSize(limits.max_header_list_size));
        if limits.header_table_size != DEFAULT_HEADER_TABLE_SIZE {
            settings.push(Setting::HeaderTableSize(limits.header_table_size));
        }
        if limits.max_frame_size != DEFAULT_MAX_FRAME_SIZE {
            settings.push(Setting::MaxFrameSize(limits.max_frame_size));
        }
        let mut ctrl = Vec::new();
        write_settings(&mut ctrl, &settings);
        if let Some(more) = limits.connection_window.checked_sub(INITIAL_WINDOW)
            && more > 0
        {
            write_window_update(&mut ctrl, StreamId::CONNECTION, more);
        }
        Session {
            decoder: Decoder::new(limits.header_table_size as usize),
            phase: Phase::Preface(0),
            now,
            started: now,
            frames_left: limits.max_frames_per_turn.max(1),
            input: Vec::new(),
            pos: 0,
            ctrl,
            streams: Streams::default(),
            ready: VecDeque::new(),
            events: VecDeque::new(),
            block: None,
            request: None,
            last_peer_stream: 0,
            going_away: false,
            goaway_last: None,
            peer_went_away: false,
            recent: RecentResets::default(),
            flood: Flood::new(now),
            conn_recv_window: i64::from(limits.connection_window),
            conn_unacked: 0,
            recv_initial: limits.stream_window.max(INITIAL_WINDOW),
            conn_send_window: i64::from(INITIAL_WINDOW),
            peer_initial_window: INITIAL_WINDOW,
            peer_max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            settings_sent: Some(now),
            idle_since: Some(now),
            closing: None,
            eof: false,
            #[cfg(test)]
            window_walks: 0,
            limits,
        }
    }

    /// Bytes the session holds: input not processed yet, our frames waiting, a field
    /// block in progress, the streams' send queues and trailers. The input and the
    /// send queues are counted by what they hold, not by their capacity, which comes
    /// from and goes back to the thread's spare buffers (`h2::spare`, bounded) when
    /// they empty. Not counted: the HPACK table (bounded by `header_table_size`) and
    /// the fixed state of each stream. 0 for an idle session.
    pub fn buffered(&self) -> usize {
        let streams: usize = self
            .streams
            .values()
            .map(|s| s.queue.len() + s.trailers.as_ref().map_or(0, |t| t.capacity()))
            .sum();
        self.unread().len()
            + self.ctrl.capacity()
            + self.block.as_ref().map_or(0, |b| b.fragments.capacity())
            + streams
    }

    /// The limits in force (after [`Session::new`] brought them into range).
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Whether the connection still reads: not after it failed or the peer closed, nor
    /// while a frame's worth of input waits to be processed (held, or incomplete), nor
    /// while our answers wait (see [`Session::answers_wait`]).
    pub fn wants_read(&self) -> bool {
        matches!(
            self.phase,
            Phase::Preface(_) | Phase::FirstSettings | Phase::Open
        ) && !self.eof
            && self.unread().len() < self.limits.max_buffered_input()
            && !self.answers_wait()
            && !self.frame_waiting()
    }

    /// A new turn of the driver's loop: up to `max_frames_per_turn` more frames may be
    /// processed (poll afterwards: held input is processed then).
    pub fn new_turn(&mut self) {
        self.frames_left = self.limits.max_frames_per_turn.max(1);
    }

    /// Whether input is held that a new turn would process: a whole frame waits, and
    /// our answers do not (the driver comes back after [`Session::new_turn`] without
    /// waiting to read more). While they wait, neither input is processed nor more
    /// read: the driver resumes once they went out.
    pub fn has_backlog(&self) -> bool {
        self.frame_waiting() && !self.answers_wait()
    }

    /// Half of `max_control_backlog` of our frames waits for the peer to read them:
    /// its input is left unprocessed until they went out, so that the answers to a
    /// client that does not read stay bounded.
    fn answers_wait(&self) -> bool {
        self.ctrl.len() >= self.limits.max_control_backlog / 2
    }

    /// Whether a whole frame (or part of the preface) is buffered, unprocessed.
    fn frame_waiting(&self) -> bool {
        let unread = self.unread();
        match self.phase {
            Phase::Preface(_) => !unread.is_empty(),
            Phase::FirstSettings | Phase::Open => FrameHeader::parse(unread).is_some_and(|h| {
                h.length > self.limits.max_frame_size
                    || unread.len() >= FRAME_HEADER_LEN + h.length as usize
            }),
            Phase::Failed | Phase::Done => false,
        }
    }

    /// The peer closed its side of the transport: what is buffered is still
    /// processed, then the connection closes (every stream is gone).
    pub fn handle_eof(&mut self) {
        self.eof = true;
        if self.unread().is_empty() {
            self.closing.get_or_insert(self.now);
        }
    }

    /// What the driver should do with the connection.
    pub fn status(&self) -> SessionStatus {
        if self.phase == Phase::Done {
            SessionStatus::Done
        } else if self.closing.is_some() {
            if self.has_output() {
                SessionStatus::Closing
            } else {
                SessionStatus::Done
            }
        } else {
            SessionStatus::Open
        }
    }

    /// When [`Session::handle_timeout`] is due, if anything waits on time: the preface,
    /// the ack of our SETTINGS, the idle timeout, or the end of closing.
    pub fn deadline(&self) -> Option<Instant> {
        if self.phase == Phase::Done {
            return None;
        }
        if let Some(since) = self.closing {
            return since.checked_add(self.limits.close_timeout);
        }
        let preface = matches!(self.phase, Phase::Preface(_) | Phase::FirstSettings)
            .then(|| self.started.checked_add(self.limits.preface_timeout))
            .flatten();
        let settings = self
            .settings_sent
            .and_then(|t| t.checked_add(self.limits.settings_timeout));
        let idle = self
            .idle_since
            .zip(self.limits.idle_timeout)
            .and_then(|(since, timeout)| since.checked_add(timeout));
        [preface, settings, idle].into_iter().flatten().min()
    }

    /// Acts on what is due at `now`; poll afterwards for a [`Event::Failed`].
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        let due = |t: Option<Instant>| t.is_some_and(|t| now >= t);
        if let Some(since) = self.closing {
            if due(since.checked_add(self.limits.close_timeout)) {
                self.enter_failed();
                self.phase = Phase::Done;
                self.ctrl = Vec::new();
            }
            return;
        }
        if matches!(self.phase, Phase::Preface(_) | Phase::FirstSettings)
            && due(self.started.checked_add(self.limits.preface_timeout))
        {
            self.write_goaway(ErrorCode::NoError, b"no HTTP/2 preface within the timeout");
            self.enter_failed();
            return;
        }
        if due(self
            .settings_sent
            .and_then(|t| t.checked_add(self.limits.settings_timeout)))
        {
            // §6.5.3: "If the sender of a SETTINGS frame does not receive an
            // acknowledgment within a reasonable amount of time, it MAY issue a
            // connection error of type SETTINGS_TIMEOUT."
            self.fail(
                ErrorCode::SettingsTimeout,
                "RFC 9113 §6.5.3: our SETTINGS went unacknowledged",
            );
            return;
        }
        let idle = self
            .idle_since
            .zip(self.limits.idle_timeout)
            .and_then(|(since, timeout)| since.checked_add(timeout));
        if due(idle) {
            self.go_away(
                ErrorCode::NoError,
                "idle: no stream within the idle timeout",
            );
        }
    }

    /// Sends GOAWAY. NO_ERROR is graceful: the open streams finish, new ones are
    /// ignored (§6.8), and the connection closes once none is left. Any other code
    /// ends every stream and closes once the GOAWAY is written.
    pub fn go_away(&mut self, code: ErrorCode, debug: &str) {
        if matches!(self.phase, Phase::Failed | Phase::Done) {
            return;
        }
        if code == ErrorCode::NoError {
            if self.going_away {
                return;
            }
            self.going_away = true;
            self.write_goaway(code, debug.as_bytes());
            self.after_stream_gone();
            if !matches!(self.phase, Phase::Open) {
                self.closing.get_or_insert(self.now);
            }
        } else {
            self.write_goaway(code, debug.as_bytes());
            self.enter_failed();
        }
    }

    /// Resets `stream` (RST_STREAM with `code`); its queued data is dropped. Nothing
    /// happens for a stream that is already gone.
    pub fn reset(&mut self, stream: u32, code: ErrorCode) {
        if self.streams.remove(&stream).is_none() {
            return;
        }
        crate::h2::frame::write_rst_stream(&mut self.ctrl, StreamId::new(stream), code);
        self.recent.push(stream);
        self.after_stream_gone();
    }

    /// The connection has an error: GOAWAY with `code` and `reason`, everything
    /// dropped, [`Event::Failed`] queued.
    fn fail(&mut self, code: ErrorCode, reason: &'static str) {
        if matches!(self.phase, Phase::Failed | Phase::Done) {
            return;
        }
        self.write_goaway(code, reason.as_bytes());
        self.enter_failed();
        self.events.push_back(Pending::Failed { code, reason });
    }

    fn write_goaway(&mut self, code: ErrorCode, debug: &[u8]) {
        self.goaway_last.get_or_insert(self.last_peer_stream);
        write_goaway(
            &mut self.ctrl,
            StreamId::new(self.last_peer_stream),
            code,
            debug,
            self.peer_max_frame_size as usize,
        );
    }

    /// Drops every stream and all input; from now on only our queued frames go out.
    fn enter_failed(&mut self) {
        self.phase = Phase::Failed;
        self.streams = Streams::default();
        self.ready = VecDeque::new();
        self.events = VecDeque::new();
        self.block = None;
        spare::give(std::mem::take(&mut self.input));
        self.pos = 0;
        self.settings_sent = None;
        self.idle_since = None;
        self.closing.get_or_insert(self.now);
    }

    /// A stream closed: the connection may now be idle, or done going away.
    fn after_stream_gone(&mut self) {
        if !self.streams.is_empty() {
            return;
        }
        self.idle_since.get_or_insert(self.now);
        if self.going_away || self.peer_went_away {
            self.closing.get_or_insert(self.now);
        }
    }

    /// Frees `stream` if it is closed both ways (§5.1), and reports it.
    fn close_if_done(&mut self, stream: u32) {
        if self
            .streams
            .get(&stream)
            .is_some_and(|s| s.local_closed && s.remote_closed)
        {
            self.streams.remove(&stream);
            self.events.push_back(Pending::Closed { stream });
            self.after_stream_gone();
        }
    }

    /// Input not processed yet (`pos` never passes the end of `input`).
    fn unread(&self) -> &[u8] {
        self.input.get(self.pos..).unwrap_or(&[])
    }

    /// Turns a pending event into the event, lending what it refers to.
    fn lend(&mut self, pending: Pending) -> Event<'_> {
        match pending {
            Pending::Request {
                stream,
                request,
                end_stream,
            } => Event::Request {
                stream,
                headers: self.request.insert(request),
                end_stream,
            },
            Pending::RequestTooLarge { stream } => Event::RequestTooLarge { stream },
            Pending::Data {
                stream,
                range,
                end_stream,
            } => {
                debug_assert!(range.end <= self.input.len());
                // The range was taken from the frame just parsed in `input`, which
                // nothing moves before the next call: it is always there.
                let data = match self.input.get_mut(range) {
                    Some(data) => data,
                    None => &mut [],
                };
                Event::Data {
                    stream,
                    data,
                    end_stream,
                }
            }
            Pending::Reset {
                stream,
                code,
                by_peer,
                reason,
            } => Event::Reset {
                stream,
                code,
                by_peer,
                reason,
            },
            Pending::Drained { stream } => Event::Drained { stream },
            Pending::Closed { stream } => Event::Closed { stream },
            Pending::GoAway { code, debug } => {
                debug_assert!(debug.end <= self.input.len());
                // As for DATA: the GOAWAY frame was just parsed in `input`.
                let debug = self.input.get(debug).unwrap_or(&[]);
                Event::GoAway { code, debug }
            }
            Pending::Failed { code, reason } => Event::Failed { code, reason },
        }
    }
}
