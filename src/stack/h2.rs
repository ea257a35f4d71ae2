//! One HTTP/2 connection with its WebSockets, no I/O: the driver feeds it the bytes it
//! read and the time, and takes the bytes to write.
//!
//! Each stream that asks for a WebSocket (RFC 8441), or for a page, gets its own
//! WebSocket core ([`Connection`]), the same one an HTTP/1.1 client gets. The stream's
//! request is handed to it parsed (`h2_request.rs`), its DATA as the bytes a socket
//! would have read; the core's answer comes back as a value, sent as the stream's
//! HEADERS ([`Answer::fields`]), and what the core writes after it as DATA. Where the core would act on the
//! socket, the stream acts instead (RFC 8441 §5: "END_STREAM ... corresponds to the
//! TCP FIN, and RST_STREAM ... to the TCP RST"):
//! - the core half-closes (a close frame of ours, an HTTP refusal): END_STREAM;
//! - the peer's END_STREAM: the core sees EOF;
//! - the core is done before both sides ended: RST_STREAM, this stream only;
//! - `?abort`: RST_STREAM once the stream's queued data is framed.
//!
//! Backpressure is flow control: a stream's window is reopened only while the data its
//! core produced has left the stream's queue, so a peer that does not read stops its
//! own sending, on that stream alone. The core's own limit (`--max-backpressure`)
//! closes it with 1008 as on a socket.
//!
//! The driver keeps these rules:
//! - at each turn of its loop it calls [`H2Connection::new_turn`] before anything
//!   else: a turn processes a bounded number of frames, the rest of the input is held
//!   ([`H2Connection::has_backlog`]) and the driver comes back on its next turn, without
//!   waiting for the socket;
//! - after [`H2Connection::handle_input`], [`H2Connection::handle_timeout`],
//!   [`H2Connection::answer_metrics`] or [`H2Connection::close`], it takes the output
//!   with [`H2Connection::write_output`], as much as its queue may hold;
//! - when its queue drained, it calls [`H2Connection::write_output`] again (the session
//!   may hold frames that did not fit);
//! - it collects [`H2Connection::poll_event`] after each call, and answers
//!   [`Event::MetricsAsked`] with [`H2Connection::answer_metrics`];
//! - it acts on [`H2Connection::status`] as on a WebSocket core's.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use super::h2_request::{self, Pseudo, Refusal};
use crate::config::Config;
use crate::connection::{AnswerAs, Connection, Counts, Event, Output, Status};
use crate::frame::CloseCode;
use crate::h2::frame::ErrorCode;
use crate::h2::session::{self, Limits, Session, SessionStatus, Sink};
use crate::h2::spare;
use crate::handshake::{HttpReply, HttpStatus};
use crate::http::Answer;
use crate::trace::tap::Tap;
use crate::trace::{AfterHead, Dir};

/// The most of a client's GOAWAY debug data kept for the log.
const KEPT_GOAWAY_DEBUG: usize = 128;

/// How an HTTP/2 connection came to its end, for the log's last line: what each side
/// said and did, whichever came first.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Ending {
    /// The client's GOAWAY: its code and the start of its debug data.
    pub goaway_received: Option<(ErrorCode, Vec<u8>)>,
    /// Our GOAWAY: its code and why (a connection error's rule, a shutdown's reason).
    pub goaway_sent: Option<(ErrorCode, String)>,
    /// The session ended itself on a time limit (idle, or no preface).
    pub timed_out: bool,
    /// The client closed the transport.
    pub eof: bool,
    /// Our GOAWAY came before the client's (or without one).
    pub sent_first: bool,
}

/// The ending of a connection that has not begun to end.
static NOT_ENDING: Ending = Ending {
    goaway_received: None,
    goaway_sent: None,
    timed_out: false,
    eof: false,
    sent_first: false,
};

impl Ending {
    /// Our GOAWAY, if it is the first.
    fn sent(&mut self, code: ErrorCode, why: &str) {
        if self.goaway_sent.is_none() {
            self.goaway_sent = Some((code, why.to_string()));
            self.sent_first = self.goaway_received.is_none();
        }
    }
}

/// One HTTP/2 connection: the session and its streams' cores.
pub struct H2Connection {
    config: Arc<Config>,
    session: Session,
    /// Open streams, in the order they opened: a few, bounded by
    /// [`Limits::max_concurrent_streams`], so a scan finds one.
    streams: Vec<Stream>,
    /// Core events, with their stream, for the driver, oldest first.
    events: VecDeque<(u32, Event)>,
    /// The work of the streams that are gone.
    finished: Counts,
    /// Streams whose request came (at most 2^30: client stream ids are odd and below
    /// 2^31).
    requests: u32,
    /// WebSockets opened on those streams, for the log's last line.
    websockets: u32,
    /// Bytes read from and written to the transport, HTTP/2's own included.
    wire_in: u64,
    wire_out: u64,
    /// The client's address, for `?headers`.
    peer: Option<SocketAddr>,
    /// Scratch for one call's output of a core.
    scratch: Vec<u8>,
    /// Scratch for the core's segmented output.
    output: Output,
    /// Every request is answered with this (the server was full at accept).
    refuse_all: Option<Box<HttpReply>>,
    /// The wire trace, when the connection is traced.
    trace: Option<Box<Traced>>,
    /// How it is ending, for the log: made by the first sign of the end, so that a
    /// connection that is not ending holds none.
    ending: Option<Box<Ending>>,
    /// The deadline the driver last scheduled: the connection's is a minimum over its
    /// streams and session, which no one field holds, so the driver's test for a
    /// moved deadline compares with this.
    scheduled: Option<Instant>,
}

/// The trace of a traced connection's streams.
struct Traced {
    /// Each stream's tap is made from this one.
    template: Tap,
    /// Lines of streams that are gone, not yet taken.
    lines: String,
}

/// One stream and its core.
struct Stream {
    id: u32,
    core: Connection,
    /// The core's answer went as HEADERS: the stream carries the answer's body or the
    /// WebSocket's frames.
    head_sent: bool,
    /// Our END_STREAM is queued.
    end_sent: bool,
    /// The peer's END_STREAM came.
    end_received: bool,
    /// DATA the core took whose window is not reopened yet (backpressure).
    unconsumed: usize,
    /// Output of the core waits in the session: the core hears when it has left (a
    /// `?send=` source makes its next batch then).
    sending: bool,
    /// The core asked for the metrics.
    wants_metrics: bool,
    /// The stream's wire trace, when traced.
    tap: Option<Box<Tap>>,
}

/// The stream the core of which is at `index`, and what to do with it after a call.
enum Next {
    Keep,
    Remove,
}

impl H2Connection {
    /// A connection whose client sent (or is about to send) the HTTP/2 preface; our
    /// SETTINGS are queued at once.
    pub fn new(config: Arc<Config>, now: Instant) -> Self {
        let limits = limits(&config);
        H2Connection {
            session: Session::new(limits, now),
            config,
            streams: Vec::new(),
            events: VecDeque::new(),
            finished: Counts::default(),
            requests: 0,
            websockets: 0,
            wire_in: 0,
            wire_out: 0,
            peer: None,
            scratch: Vec::new(),
            output: Output::default(),
            refuse_all: None,
            trace: None,
            ending: None,
            scheduled: None,
        }
    }

    /// Traces every stream of the connection (`tap` is the connection's own): its
    /// request and response fields, its frames both ways, END_STREAM and RST_STREAM.
    pub(crate) fn set_trace(&mut self, tap: &Tap) {
        self.trace = Some(Box::new(Traced {
            template: tap.for_stream(0),
            lines: String::new(),
        }));
    }

    /// Moves the streams' new trace lines to `into`; a stream whose request did not
    /// ask to be traced (`--trace-on-request`) loses its tap.
    pub(crate) fn take_trace_lines(&mut self, into: &mut String) {
        let Some(traced) = self.trace.as_deref_mut() else {
            return;
        };
        into.push_str(&traced.lines);
        traced.lines.clear();
        for s in &mut self.streams {
            if let Some(tap) = s.tap.as_deref_mut() {
                tap.take_lines(into);
                if tap.unwanted() {
                    s.tap = None;
                }
            }
        }
    }

    /// The client's address, which `?headers` reports.
    pub fn set_peer(&mut self, peer: SocketAddr) {
        self.peer = Some(peer);
    }

    /// The client's address, if the driver gave it.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }

    /// Answers every request with `status` and `body`: the server was full when the
    /// client came.
    pub fn refuse_all(&mut self, status: HttpStatus, body: String) {
        self.refuse_all = Some(Box::new(HttpReply::error(status, body)));
    }

    /// Processes bytes read from the transport.
    pub fn handle_input(&mut self, input: &[u8], now: Instant) {
        self.wire_in += input.len() as u64;
        if self.scratch.capacity() == 0 {
            self.scratch = spare::take();
        }
        self.session.receive(input);
        self.run(now);
        self.release_scratch();
    }

    /// Hands the scratch buffer back to the thread's spares at the end of every call,
    /// whatever its size: a quiet connection holds none, and the next call takes one
    /// from the spares (an event loop runs one connection at a time).
    fn release_scratch(&mut self) {
        if self.scratch.capacity() > 0 {
            spare::give(std::mem::take(&mut self.scratch));
        }
    }

    /// Whether the driver may read more: the session has room for it.
    pub fn wants_read(&self) -> bool {
        self.session.wants_read()
    }

    /// A new turn of the driver's loop: input held by the last turn is processed, up
    /// to the turn's bound. Returns whether there was any (take the output then).
    pub fn new_turn(&mut self, now: Instant) -> bool {
        let held = self.session.has_backlog();
        self.session.new_turn();
        if held {
            if self.scratch.capacity() == 0 {
                self.scratch = spare::take();
            }
            self.run(now);
            self.release_scratch();
        }
        held
    }

    /// Whether the socket's queue of this connection's bytes is so long (past
    /// `--write-high-water`) that reading should pause until it drains.
    pub(crate) fn over_high_water(&self, pending: usize) -> bool {
        pending > self.config.write_high_water
    }

    /// Whether input is held for the next turn (see [`H2Connection::new_turn`]): the
    /// driver must come back to this connection without waiting to read.
    pub fn has_backlog(&self) -> bool {
        self.session.has_backlog()
    }

    /// Drives the session's events through the streams' cores.
    fn run(&mut self, now: Instant) {
        while let Some(event) = self.session.poll(now) {
            match event {
                session::Event::Request {
                    stream,
                    headers,
                    end_stream,
                } => {
                    let tap = tap_request(self.trace.as_deref(), stream, headers);
                    self.requests = self.requests.saturating_add(1);
                    if let Some(reply) = self.refuse_all.take() {
                        self.refuse(stream, &reply, tap, now);
                        self.refuse_all = Some(reply);
                        continue;
                    }
                    let pseudo = Pseudo {
                        method: headers.method(),
                        scheme: headers.scheme(),
                        path: headers.path(),
                        authority: headers.authority(),
                        protocol: headers.protocol(),
                    };
                    let opened =
                        h2_request::read(&pseudo, headers.fields(), end_stream).map(|request| {
                            // (The fields this uses are not the session, which the
                            // request borrows.)
                            let mut core = Connection::new(Arc::clone(&self.config), now);
                            if let Some(peer) = self.peer {
                                core.set_peer(peer);
                            }
                            self.output.clear();
                            let request = request.request();
                            core.handle_request(&request, AnswerAs::Fields, now, &mut self.output);
                            self.scratch.clear();
                            self.output.flatten_into(&[], &mut self.scratch);
                            core
                        });
                    match opened {
                        // A request that ended its stream (a GET) is whole, not a client
                        // gone: unlike a TCP EOF, it leaves the core its answer to give
                        // (the metrics wait for the driver).
                        Ok(core) => self.add_stream(stream, core, end_stream, tap, now),
                        Err(Refusal(status, reason)) => {
                            let reply = HttpReply::error(status, format!("{reason}\n"));
                            self.refuse(stream, &reply, tap, now);
                        }
                    }
                }
                session::Event::RequestTooLarge { stream } => {
                    let reply = HttpReply::error(
                        HttpStatus::RequestHeaderFieldsTooLarge,
                        format!(
                            "the request's header list exceeds {} bytes (RFC 9113 §6.5.2)\n",
                            self.config.max_header_bytes
                        ),
                    );
                    let tap = self.trace.as_deref().map(|traced| {
                        let mut tap = traced.template.for_stream(stream);
                        let lines = vec!["(a header list too large to show)".to_string()];
                        tap.fields(Dir::Rx, lines, None, AfterHead::Body);
                        Box::new(tap)
                    });
                    self.refuse(stream, &reply, tap, now);
                }
                session::Event::Data {
                    stream,
                    data,
                    end_stream,
                } => {
                    let n = data.len();
                    let Some(index) = self.streams.iter().position(|s| s.id == stream) else {
                        // A stream we reset or finished: its window is the session's.
                        continue;
                    };
                    let s = &mut self.streams[index];
                    if let Some(tap) = s.tap.as_deref_mut() {
                        // Before the core unmasks the frames in place.
                        tap.rx(data);
                        if end_stream {
                            tap.stream_ended(Dir::Rx);
                        }
                    }
                    self.output.clear();
                    s.core.handle_input(data, now, &mut self.output);
                    self.scratch.clear();
                    self.output.flatten_into(data, &mut self.scratch);
                    if end_stream {
                        s.end_received = true;
                        s.core.handle_eof();
                    }
                    s.unconsumed += n;
                    self.after_core(index, now);
                }
                session::Event::Reset {
                    stream,
                    code,
                    by_peer,
                    reason,
                } => {
                    if let Some(index) = self.index(stream) {
                        let s = &mut self.streams[index];
                        if let Some(tap) = s.tap.as_deref_mut() {
                            if by_peer {
                                tap.stream_reset(Dir::Rx, format!("{code:?}"));
                            } else {
                                tap.stream_reset(Dir::Tx, format!("{code:?}: {reason}"));
                            }
                        }
                        s.end_received = true;
                        s.end_sent = true;
                        s.core.handle_eof();
                        // The core is done now: `after_core` forgets the stream.
                        self.scratch.clear();
                        self.after_core(index, now);
                    }
                }
                session::Event::Drained { stream } => {
                    if let Some(index) = self.index(stream) {
                        self.streams[index].core.handle_output_drained();
                        self.scratch.clear();
                        self.after_core(index, now);
                    }
                }
                session::Event::Closed { stream } => {
                    if let Some(index) = self.index(stream) {
                        self.remove(index);
                    }
                }
                session::Event::GoAway { code, debug } => {
                    let kept = debug.get(..KEPT_GOAWAY_DEBUG).unwrap_or(debug);
                    self.ending
                        .get_or_insert_default()
                        .goaway_received
                        .get_or_insert_with(|| (code, kept.to_vec()));
                    log::debug!(
                        "{}: HTTP/2 GOAWAY from the client: {code:?} {}",
                        shown_peer(self.peer),
                        crate::escape::EscapedBytes(debug)
                    );
                }
                session::Event::Failed { code, reason } => {
                    self.ending.get_or_insert_default().sent(code, reason);
                    log::debug!(
                        "{}: HTTP/2 connection error {code:?}: {reason}",
                        shown_peer(self.peer)
                    );
                    self.drop_streams();
                }
            }
        }
    }

    /// Answers a stream with `reply` and ends it: what HTTP/2 alone refuses, said by
    /// a core that never saw a request, as any answer.
    fn refuse(&mut self, id: u32, reply: &HttpReply, tap: Option<Box<Tap>>, now: Instant) {
        let mut core = Connection::new(Arc::clone(&self.config), now);
        self.scratch.clear();
        core.reject_with(reply.clone(), AnswerAs::Fields, now, &mut self.scratch);
        self.add_stream(id, core, false, tap, now);
    }

    /// Keeps a new stream's core, whose first output is in `self.scratch`, and sends it.
    fn add_stream(
        &mut self,
        id: u32,
        core: Connection,
        end_received: bool,
        tap: Option<Box<Tap>>,
        now: Instant,
    ) {
        // Room for one more only: most connections carry one WebSocket, and a Stream
        // is a few hundred bytes (at most `max_concurrent_streams` pushes).
        self.streams.reserve_exact(1);
        self.streams.push(Stream {
            id,
            core,
            head_sent: false,
            end_sent: false,
            end_received,
            unconsumed: 0,
            sending: false,
            wants_metrics: false,
            tap,
        });
        let index = self.streams.len() - 1;
        self.after_core(index, now);
    }

    /// Streams whose request came, answered or not.
    pub fn requests(&self) -> u64 {
        u64::from(self.requests)
    }

    /// WebSockets opened on the connection's streams.
    pub fn websockets(&self) -> u32 {
        self.websockets
    }

    /// How the connection is ending, so far.
    pub fn ending(&self) -> &Ending {
        self.ending.as_deref().unwrap_or(&NOT_ENDING)
    }

    /// After a call into the core at `index`, whose output is in `self.scratch`: its
    /// events collected, its output sent on the stream, its status acted on.
    fn after_core(&mut self, index: usize, now: Instant) {
        let Some(s) = self.streams.get_mut(index) else {
            return;
        };
        let out = std::mem::take(&mut self.scratch);
        let next = send(&mut self.session, s, &out, now);
        self.scratch = out;
        // After the output, so that the trace shows an echo before the event it led to
        // (as over HTTP/1.1), and the events of a 1008 that `send` had the core write.
        while let Some(event) = s.core.poll_event() {
            s.wants_metrics |= event == Event::MetricsAsked;
            if let Some(tap) = s.tap.as_deref_mut() {
                tap.event(&event);
            }
            count_websocket(&mut self.websockets, &event);
            self.events.push_back((s.id, event));
        }
        if let Next::Remove = next {
            self.remove(index);
        }
    }

    /// Forgets the stream at `index`, keeping its work.
    fn remove(&mut self, index: usize) {
        if index < self.streams.len() {
            let mut s = self.streams.swap_remove(index);
            self.finished.add(&s.core.counts());
            keep_trace_lines(self.trace.as_deref_mut(), &mut s);
        }
    }

    /// The connection failed or ended: every stream's core sees the end of its
    /// transport.
    fn drop_streams(&mut self) {
        for mut s in self.streams.drain(..) {
            s.core.handle_eof();
            while let Some(event) = s.core.poll_event() {
                if let Some(tap) = s.tap.as_deref_mut() {
                    tap.event(&event);
                }
                count_websocket(&mut self.websockets, &event);
                self.events.push_back((s.id, event));
            }
            self.finished.add(&s.core.counts());
            keep_trace_lines(self.trace.as_deref_mut(), &mut s);
        }
    }

    fn index(&self, id: u32) -> Option<usize> {
        self.streams.iter().position(|s| s.id == id)
    }

    /// Moves bytes ready to send into `out`, at most about `max` of them.
    pub fn write_output(&mut self, out: &mut Vec<u8>, max: usize) {
        self.write_to(out, max);
    }

    /// Puts bytes ready to send into `sink`, at most about `max` of them, stopping
    /// early once the sink is blocked (see [`Session::write_to`]: DATA content goes
    /// from where it is queued).
    pub fn write_to(&mut self, sink: &mut impl Sink, max: usize) -> usize {
        let put = self.session.write_to(sink, max);
        self.wire_out += put as u64;
        // As the socket takes a stream's output, its core may read more (its window
        // reopens) and hears that its output drained, as on a socket of its own.
        for s in &mut self.streams {
            if !s.sending && s.unconsumed == 0 {
                continue;
            }
            let queued = self.session.queued(s.id);
            if s.unconsumed > 0 && s.core.may_resume(queued) {
                self.session
                    .consumed(s.id, std::mem::take(&mut s.unconsumed));
            }
            if s.sending && queued == 0 {
                s.sending = false;
                s.core.handle_output_drained();
            }
        }
        put
    }

    /// Whether the session holds bytes to send.
    pub fn has_output(&self) -> bool {
        self.session.has_output()
    }

    /// The next instant [`H2Connection::handle_timeout`] should be called at.
    pub fn deadline(&self) -> Option<Instant> {
        self.streams
            .iter()
            .filter_map(|s| s.core.deadline())
            .chain(self.session.deadline())
            .min()
    }

    /// The deadline, when it moved since the driver last took it; from then on it is
    /// the one scheduled. `None` too when it moved to none.
    pub fn take_moved_deadline(&mut self) -> Option<Instant> {
        let deadline = self.deadline();
        if deadline == self.scheduled {
            return None;
        }
        self.scheduled = deadline;
        deadline
    }

    /// The deadline the driver last scheduled.
    pub fn scheduled(&self) -> Option<Instant> {
        self.scheduled
    }

    /// The driver's timer fired: whatever the deadline is next, it is to be scheduled
    /// anew.
    pub fn forget_scheduled(&mut self) {
        self.scheduled = None;
    }

    /// Time passed: each core whose deadline came acts, and the session.
    pub fn handle_timeout(&mut self, now: Instant) {
        let was_open = self.session.status() == SessionStatus::Open;
        self.session.handle_timeout(now);
        let mut index = 0;
        while index < self.streams.len() {
            let due = self.streams[index]
                .core
                .deadline()
                .is_some_and(|d| d <= now);
            let before = self.streams.len();
            if due {
                self.scratch.clear();
                let s = &mut self.streams[index];
                s.core.handle_timeout(now, &mut self.scratch);
                self.after_core(index, now);
            }
            // A removal swapped another stream into `index`: look at it next.
            if self.streams.len() == before {
                index += 1;
            }
        }
        self.run(now);
        // A time limit ended the session: an error says so (in `run`); an idle
        // connection, or one with no preface, gets a GOAWAY of the session's own.
        if was_open
            && self.session.status() != SessionStatus::Open
            && self.ending().goaway_sent.is_none()
        {
            self.ending.get_or_insert_default().timed_out = true;
        }
        self.release_scratch();
    }

    /// The peer closed the transport.
    pub fn handle_eof(&mut self) {
        self.ending.get_or_insert_default().eof = true;
        self.session.handle_eof();
        self.drop_streams();
    }

    /// Closes every WebSocket with `code` (a shutdown's 1001) and tells the client
    /// no more streams are taken (GOAWAY with NO_ERROR).
    pub fn close(&mut self, code: CloseCode, reason: &str, now: Instant) {
        self.session.go_away(ErrorCode::NoError, reason);
        self.ending
            .get_or_insert_default()
            .sent(ErrorCode::NoError, reason);
        for index in (0..self.streams.len()).rev() {
            self.scratch.clear();
            let s = &mut self.streams[index];
            s.core.close(code, reason, now, &mut self.scratch);
            self.after_core(index, now);
        }
        self.release_scratch();
    }

    /// Answers every stream that asked for the metrics.
    pub fn answer_metrics(&mut self, body: &str, now: Instant) {
        for index in (0..self.streams.len()).rev() {
            if !self.streams[index].wants_metrics {
                continue;
            }
            self.scratch.clear();
            let s = &mut self.streams[index];
            s.wants_metrics = false;
            s.core
                .answer_metrics(body.to_string(), now, &mut self.scratch);
            self.after_core(index, now);
        }
        self.release_scratch();
    }

    /// What the driver should do with the socket.
    pub fn status(&self) -> Status {
        match self.session.status() {
            SessionStatus::Open => Status::Open,
            SessionStatus::Closing => Status::Finishing,
            SessionStatus::Done => Status::Done,
        }
    }

    /// The next core event, with its stream, oldest first.
    pub fn poll_event(&mut self) -> Option<(u32, Event)> {
        let event = self.events.pop_front();
        // Events come when a stream opens or ends, not with each message: an emptied
        // queue gives its buffer back, so that a quiet connection holds none.
        if event.is_none() && self.events.capacity() > 0 {
            self.events = VecDeque::new();
        }
        event
    }

    /// The work of every stream, open or gone; the bytes are the connection's, HTTP/2's
    /// frames and fields included, as a TCP connection's are.
    pub fn counts(&self) -> Counts {
        let mut counts = self.finished;
        for s in &self.streams {
            counts.add(&s.core.counts());
        }
        counts.wire_in = self.wire_in;
        counts.wire_out = self.wire_out;
        counts
    }
}

/// Counts a WebSocket that opened, from its core's event.
fn count_websocket(websockets: &mut u32, event: &Event) {
    if matches!(event, Event::Opened { .. }) {
        *websockets = websockets.saturating_add(1);
    }
}

/// Sends what a stream's core wrote (`out`) on the stream, and acts on the core's
/// status.
fn send(session: &mut Session, s: &mut Stream, out: &[u8], now: Instant) -> Next {
    if !s.head_sent {
        match s.core.take_answer() {
            Some(answer) => send_head(session, s, &answer, out.is_empty()),
            None if out.is_empty() => {}
            None => {
                // The core gives its answer before any output: it is wrong, and the
                // stream is reset.
                log::warn!("HTTP/2 stream {}: the core wrote before its answer", s.id);
                reset(session, s, ErrorCode::InternalError);
                return Next::Remove;
            }
        }
    }
    if !out.is_empty() && !s.end_sent {
        session.send_data(s.id, out, false);
        s.sending = true;
        if let Some(tap) = s.tap.as_deref_mut() {
            tap.tx(out);
        }
    }
    // Backpressure: the window reopens only while the stream's queue is low; past
    // `--max-backpressure` the core closes the WebSocket with 1008.
    if s.unconsumed > 0 {
        let queued = session.queued(s.id);
        let mut close = Vec::new();
        if s.core.may_read(queued, now, &mut close) {
            session.consumed(s.id, std::mem::take(&mut s.unconsumed));
        }
        if !close.is_empty() && !s.end_sent {
            session.send_data(s.id, &close, false);
            if let Some(tap) = s.tap.as_deref_mut() {
                tap.tx(&close);
            }
        }
    }
    match s.core.status() {
        Status::Open => {}
        Status::Closing | Status::Finishing => {
            if s.head_sent && !s.end_sent {
                session.send_data(s.id, &[], true);
                s.end_sent = true;
                if let Some(tap) = s.tap.as_deref_mut() {
                    tap.stream_ended(Dir::Tx);
                }
            }
        }
        Status::Reset => {
            if session.queued(s.id) == 0 {
                reset(session, s, ErrorCode::Cancel);
                return Next::Remove;
            }
        }
        Status::Done => {
            if !(s.end_sent && s.end_received) {
                let code = if s.end_sent {
                    ErrorCode::NoError
                } else {
                    ErrorCode::Cancel
                };
                reset(session, s, code);
            }
            return Next::Remove;
        }
    }
    if s.end_sent && s.end_received {
        return Next::Remove;
    }
    Next::Keep
}

/// Sends the core's answer as the stream's HEADERS, ending the stream when no output
/// follows (`nothing_follows`) and the core is done with it.
fn send_head(session: &mut Session, s: &mut Stream, answer: &Answer, nothing_follows: bool) {
    let (status, fields) = answer.fields();
    let status = status.to_string();
    let mut all: Vec<(&[u8], &[u8])> = vec![(b":status", status.as_bytes())];
    all.extend(fields.iter().map(|(n, v)| (n.as_slice(), v.as_slice())));
    let ends = nothing_follows && !matches!(s.core.status(), Status::Open);
    session.send_headers(s.id, &all, ends);
    if let Some(tap) = s.tap.as_deref_mut() {
        let lines = all
            .iter()
            .map(|(n, v)| {
                let (n, v) = (String::from_utf8_lossy(n), String::from_utf8_lossy(v));
                format!("{n}: {v}")
            })
            .collect();
        let after = if answer.is_upgrade() {
            AfterHead::Frames
        } else {
            AfterHead::Body
        };
        tap.fields(Dir::Tx, lines, None, after);
        if ends {
            tap.stream_ended(Dir::Tx);
        }
    }
    s.end_sent |= ends;
    s.head_sent = true;
}

/// A tap for a new stream whose request came as `headers`, when traced.
fn tap_request(
    traced: Option<&Traced>,
    stream: u32,
    headers: &session::Request,
) -> Option<Box<Tap>> {
    let traced = traced?;
    let mut tap = traced.template.for_stream(stream);
    let pseudo = [
        (&b":method"[..], Some(headers.method())),
        (b":protocol", headers.protocol()),
        (b":scheme", headers.scheme()),
        (b":path", headers.path()),
        (b":authority", headers.authority()),
    ];
    let lines = pseudo
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
        .chain(headers.fields())
        .map(|(name, value)| {
            format!(
                "{}: {}",
                String::from_utf8_lossy(name),
                String::from_utf8_lossy(value)
            )
        })
        .collect();
    let after = if headers.protocol().is_some() {
        AfterHead::Frames
    } else {
        AfterHead::Body
    };
    let path = headers.path().map(String::from_utf8_lossy);
    tap.fields(Dir::Rx, lines, Some(path.as_deref().unwrap_or("")), after);
    Some(Box::new(tap))
}

/// Resets the stream (RST_STREAM with `code`), in its trace too.
fn reset(session: &mut Session, s: &mut Stream, code: ErrorCode) {
    session.reset(s.id, code);
    if let Some(tap) = s.tap.as_deref_mut() {
        tap.stream_reset(Dir::Tx, format!("{code:?}"));
    }
}

/// Keeps the trace lines of a stream that is going, for the driver's next take.
fn keep_trace_lines(traced: Option<&mut Traced>, s: &mut Stream) {
    if let (Some(traced), Some(tap)) = (traced, s.tap.as_deref_mut()) {
        tap.take_lines(&mut traced.lines);
    }
}

fn shown_peer(peer: Option<SocketAddr>) -> String {
    peer.map_or_else(|| "unix".to_string(), |p| p.to_string())
}

/// The session's limits, from the server's configuration.
fn limits(config: &Config) -> Limits {
    Limits {
        max_header_list_size: u32::try_from(config.max_header_bytes).unwrap_or(u32::MAX),
        ..Limits::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h2::session::DEFAULT_MAX_FRAMES_PER_TURN;
    use wsecho_test_support::frames::{OP_BINARY, client_frame};
    use wsecho_test_support::h2_frames::{
        END_HEADERS, END_STREAM, HEADERS, WEBSOCKET_CONNECT, client_preface, data, frame, headers,
        literal_block, parse_frames, settings_ack,
    };

    /// Many requests in one read, each ending its stream: a call takes a turn's worth,
    /// the next turns the rest, and the events come out in the order of the streams.
    #[test]
    fn a_read_of_many_requests_is_served_a_turn_at_a_time() {
        let now = Instant::now();
        let mut conn = H2Connection::new(Arc::new(Config::default()), now);
        let mut bytes = client_preface(&[]);
        bytes.extend(settings_ack());
        let block = literal_block(&[
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/nothing-here"),
            (":authority", "x"),
        ]);
        let turn = DEFAULT_MAX_FRAMES_PER_TURN as usize;
        // The SETTINGS and its ack take two frames of the first turn.
        let total = 3 * turn;
        for i in 0..total {
            let stream = 1 + 2 * i as u32;
            bytes.extend(frame(HEADERS, END_HEADERS | END_STREAM, stream, &block));
        }
        conn.new_turn(now);
        conn.handle_input(&bytes, now);
        assert_eq!(conn.requests() as usize, turn - 2);
        assert!(conn.has_backlog());
        assert!(!conn.wants_read());
        let mut turns = 1;
        while conn.new_turn(now) {
            turns += 1;
            assert!(turns < 10, "the held input never ends");
        }
        assert_eq!(conn.requests() as usize, total);
        assert_eq!(turns, 4);
        assert!(conn.wants_read());
        let mut streams = Vec::new();
        while let Some((stream, _)) = conn.poll_event() {
            if streams.last() != Some(&stream) {
                streams.push(stream);
            }
        }
        let expected: Vec<u32> = (0..total as u32).map(|i| 1 + 2 * i).collect();
        assert_eq!(streams, expected);
    }

    /// An open WebSocket that echoed one short message, its output written and its
    /// events taken, as the bench's idle connections are.
    fn idle_after_one_echo(config: Arc<Config>, now: Instant) -> H2Connection {
        let mut conn = H2Connection::new(config, now);
        let mut bytes = client_preface(&[]);
        bytes.extend(settings_ack());
        bytes.extend(headers(1, &literal_block(&WEBSOCKET_CONNECT)));
        let message = client_frame(true, 0, OP_BINARY, [1, 2, 3, 4], &[7; 20]);
        bytes.extend(data(1, &message, false));
        conn.new_turn(now);
        conn.handle_input(&bytes, now);
        let mut out = Vec::new();
        while conn.has_output() {
            conn.write_output(&mut out, usize::MAX);
        }
        let (frames, _) = parse_frames(&out);
        assert!(
            frames.iter().any(|f| f.kind == 0x0 && f.stream == 1),
            "the echo went out"
        );
        let mut events = 0;
        while conn.poll_event().is_some() {
            events += 1;
        }
        assert_eq!(events, 1, "the WebSocket opened");
        conn
    }

    /// What each idle HTTP/2 connection costs the server, held inline (the driver
    /// boxes the connection) and on the heap; the bounds are the figures measured when
    /// they were set (see the commit that set them), with little room: a field or a
    /// buffer kept after a turn fails them.
    #[test]
    fn an_idle_connection_stays_small() {
        let inline = std::mem::size_of::<H2Connection>();
        let session = std::mem::size_of::<Session>();
        let config = Arc::new(Config::default());
        let now = Instant::now();
        let conn = idle_after_one_echo(Arc::clone(&config), now);
        assert_eq!(conn.events.capacity(), 0, "the events' queue is given back");
        assert_eq!(conn.scratch.capacity(), 0, "the scratch is given back");
        let held = crate::test_alloc::live();
        drop(conn);
        let heap = held - crate::test_alloc::live();
        println!("H2Connection: {inline} B inline (Session {session} B), {heap} B on the heap");
        assert!(inline <= INLINE_BOUND, "{inline} B inline");
        assert!(session <= SESSION_BOUND, "{session} B for the session");
        assert!(heap <= HEAP_BOUND, "{heap} B on the heap");
    }

    // 864: the deadline last scheduled moved here from every client (16 B).
    const INLINE_BOUND: usize = 864;
    const SESSION_BOUND: usize = 552;
    const HEAP_BOUND: isize = 704;

    #[test]
    fn an_idle_connection_keeps_no_large_buffer_after_a_big_echo() {
        let now = Instant::now();
        let mut conn = H2Connection::new(Arc::new(Config::default()), now);
        let mut bytes = client_preface(&[]);
        bytes.extend(settings_ack());
        bytes.extend(headers(1, &literal_block(&WEBSOCKET_CONNECT)));
        // One 12000-byte message in one DATA frame: its echo goes through the scratch.
        let message = client_frame(true, 0, OP_BINARY, [1, 2, 3, 4], &[7; 12_000]);
        bytes.extend(data(1, &message, false));
        conn.handle_input(&bytes, now);
        let mut out = Vec::new();
        while conn.has_output() {
            conn.write_output(&mut out, usize::MAX);
        }
        let (frames, rest) = parse_frames(&out);
        assert!(rest.is_empty());
        let echoed: usize = frames
            .iter()
            .filter(|f| f.kind == 0x0 && f.stream == 1)
            .map(|f| f.payload.len())
            .sum();
        assert_eq!(echoed, 4 + 12_000, "the echo, header and payload");
        assert_eq!(conn.scratch.capacity(), 0, "the scratch is given back");
        assert_eq!(conn.session.buffered(), 0);
    }
}
