//! The protocol core: one connection's state machine, with no I/O in it.
//!
//! The driver feeds it the bytes it read and the current time; it appends the bytes to
//! write to an output buffer and reports what happened as [`Event`]s. It never blocks,
//! never allocates per message on the plain path, and tells the driver when to half-close
//! and when to drop the socket. That keeps it deterministic: tests and fuzzers drive it
//! byte by byte without a socket.

mod acts;
pub(crate) mod client;
mod close_wait;
mod control;
mod deflate;
mod emit;
mod in_frame;
mod keepalive;
mod message;
mod output;
mod receiver;
mod small_echo;
mod tick;

use std::sync::Arc;
use std::time::{Duration, Instant};

use acts::{Acts, Beat};

pub use crate::event::Event;
pub(crate) use crate::event::Location;
use close_wait::{CloseWait, Seen};
use keepalive::Keepalive;
pub(crate) use output::MAX_SEGMENTS;
pub use output::Output;
use receiver::{Receiver, Stop};
pub(crate) use small_echo::Run;
use tick::Tick;

use crate::config::Config;
use crate::error::ProtocolError;
use crate::frame::{CloseCode, Opcode};
use crate::handshake::behaviour::End;
use crate::handshake::{Decision, Head, HeadBuffer, HttpReply, HttpStatus, decide_for, judge};
use crate::http::{Answer, Request, Upgraded};
use crate::suite::session::Session;

/// Where the connection is in its life.
enum Phase {
    /// Collecting the HTTP upgrade request.
    Handshake(HeadBuffer),
    /// The request asked for the metrics: waiting for the driver to hand them over
    /// ([`Connection::answer_metrics`]); what the client sends meanwhile is discarded.
    /// (`bool`: a HEAD request, answered with the head only.)
    MetricsAsked(Counts, bool, AnswerAs),
    /// Upgraded: frames flow.
    Open(Receiver),
    /// Upgraded on a path of the client suite: a case (or a driver command) speaks,
    /// as Autobahn's fuzzing server does, instead of the echo.
    Suite(Box<Session>, Counts),
    /// Our last bytes (a close frame we started with, or an HTTP error) are queued:
    /// flush them, half-close, then wait for the peer to close TCP or for the deadline,
    /// so that what the peer still sends (its close frame, the rest of a request) cannot
    /// turn our close into a reset. After failing, input is discarded: RFC 6455 §7.1.7
    /// says the endpoint "MUST NOT continue to attempt to process data (including a
    /// responding Close frame)". After a close of our own (shutdown, idle, backpressure)
    /// the peer's close frame is looked for: it completes the exchange (Finishing).
    Closing(Counts, Option<Box<CloseWait>>),
    /// The close handshake is complete: the peer's close frame is answered by the one
    /// queued. Once it is written the socket is closed, its FIN leaving with it: §5.5.1,
    /// "After both sending and receiving a Close message, an endpoint considers the
    /// WebSocket connection closed and MUST close the underlying TCP connection", and
    /// §7.1.1, the server "SHOULD initiate a TCP Close immediately". The peer may send
    /// nothing more; input until then is discarded.
    Finishing(Counts),
    /// As the request asked (`?abort`): once our last bytes are written and the peer
    /// has them, reset the connection, with no close frame. The instant is when the
    /// wait for the peer ends and the reset goes regardless.
    Resetting(Counts, Tick),
    /// Drop the socket now.
    Done(Counts),
}

/// What the driver should do with the socket, asked after each call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Keep reading and writing.
    Open,
    /// Write what is queued, then shut down the write side; keep reading until EOF.
    Closing,
    /// Write what is queued, then close the socket.
    Finishing,
    /// Close the socket.
    Done,
    /// Write what is queued; once the peer has acknowledged all of it (or
    /// [`Connection::reset_overdue`]), close the socket with a TCP reset.
    Reset,
}

/// Work done, for the server's summary counters and metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Data messages echoed in full.
    pub messages: u64,
    /// How many of them were text (the rest binary).
    pub text_messages: u64,
    /// Payload bytes of data frames received (as sent on the wire).
    pub bytes: u64,
    /// Pings the client sent (each answered with a pong).
    pub pings_in: u64,
    /// Pongs the client sent.
    pub pongs_in: u64,
    /// Keepalive pings wsecho sent.
    pub pings_out: u64,
    /// Bytes the client sent that the protocol read, its HTTP request included (after
    /// the close handshake or a failure, what is discarded is not counted).
    pub wire_in: u64,
    /// Bytes the protocol wrote for the client: the HTTP response and every frame.
    pub wire_out: u64,
}

/// One connection's protocol state machine: see the module documentation.
pub struct Connection {
    config: Arc<Config>,
    phase: Phase,
    /// When the current phase times out, if it can (in 8 B, not an `Instant`'s 16).
    deadline: Option<Tick>,
    /// What few connections need, in one box (see [`Extra`]): `None` on an idle plain
    /// connection, so that the echo's tests of it are one null check.
    extra: Option<Box<Extra>>,
    /// Bytes produced for the client so far, and in the top bit ([`DEADLINE_MOVED`])
    /// whether `deadline` moved since the driver last scheduled it. (The bit is folded
    /// in here because a field of its own would grow the connection by 8 B: a counter
    /// of bytes never reaches 2^63, and the echo's `+=` leaves the bit alone.)
    wire_out: u64,
}

/// The bit of [`Connection::wire_out`] that says the deadline moved (see
/// [`Connection::take_deadline_moved`]).
const DEADLINE_MOVED: u64 = 1 << 63;

/// The parts of a connection's state that most connections lack, boxed together: the
/// box exists while any of them does and is freed when none is left, so a connection
/// without keepalive or timed behaviours holds none once its events are collected.
#[derive(Default)]
struct Extra {
    /// Only when an idle timeout or keepalive pings are configured.
    keepalive: Option<Keepalive>,
    /// Only when the request asked for a behaviour that acts over time (see [`Acts`]).
    acts: Option<Box<Acts>>,
    /// Events not yet collected; the buffer is freed once they are.
    events: Vec<Event>,
    /// The answer to the request, for a transport that takes it as a value
    /// ([`AnswerAs::Fields`]), until it takes it ([`Connection::take_answer`]).
    answer: Option<Box<Answer>>,
}

/// How the transport under a core carries the core's answer to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AnswerAs {
    /// HTTP/1.1: written as text in the output, ahead of the body or the frames.
    Text,
    /// A transport with a head of its own (an HTTP/2 stream's HEADERS): the answer is
    /// kept for it to take ([`Connection::take_answer`]), and the output holds only
    /// what follows the head.
    Fields,
}

impl Extra {
    /// Nothing left in it: the box may go.
    fn is_empty(&self) -> bool {
        self.keepalive.is_none()
            && self.acts.is_none()
            && self.events.is_empty()
            && self.answer.is_none()
    }
}

impl Counts {
    /// Adds `other`, field by field.
    pub fn add(&mut self, other: &Counts) {
        self.messages += other.messages;
        self.text_messages += other.text_messages;
        self.bytes += other.bytes;
        self.pings_in += other.pings_in;
        self.pongs_in += other.pongs_in;
        self.pings_out += other.pings_out;
        self.wire_in += other.wire_in;
        self.wire_out += other.wire_out;
    }
}

impl Connection {
    /// A freshly accepted connection, waiting for its upgrade request.
    pub fn new(config: Arc<Config>, now: Instant) -> Self {
        let deadline = Some(Tick::of(now + config.handshake_timeout));
        Connection {
            config,
            phase: Phase::Handshake(HeadBuffer::default()),
            deadline,
            extra: None,
            // The handshake's deadline is yet to be scheduled.
            wire_out: DEADLINE_MOVED,
        }
    }

    /// Processes bytes read from the socket. `input` is scratch: payloads are unmasked
    /// in place, and echoes are built or left there: everything to send is appended to
    /// `out`, which refers into `input` (see [`Output`]).
    #[inline]
    pub fn handle_input(&mut self, input: &mut [u8], now: Instant, out: &mut Output) {
        let run = self.echo_in_place(input, now);
        self.handle_input_after(input, &run, now, out);
    }

    /// The first half of [`Connection::handle_input`], the whole of it in the common case:
    /// the run of small whole data frames at the front of `input` is echoed in place. When
    /// the run took all of `input`, `input[..run.echoed]` is everything to send; otherwise
    /// [`Connection::handle_input_after`] processes the rest.
    ///
    /// Public for the fuzz targets, which drive the same split as the driver.
    #[inline(always)]
    pub fn echo_in_place(&mut self, input: &mut [u8], now: Instant) -> Run {
        let Phase::Open(receiver) = &mut self.phase else {
            return Run::default();
        };
        receiver.note_read(input);
        // Only a store: the keepalive deadline is re-derived lazily when it fires, except
        // when this input answers our ping (the driver sees the deadline move), and not
        // while a close of ours waits on its own deadline.
        if let Some(extra) = self.extra.as_deref_mut()
            && let Some(keepalive) = &mut extra.keepalive
            && keepalive.saw_activity(now)
            && !receiver.close_deferred()
        {
            // (`set_deadline` by hand: parts of `self` are still borrowed.)
            self.deadline = keepalive.deadline(&self.config).map(Tick::of);
            self.wire_out |= DEADLINE_MOVED;
        }
        let run = receiver.echo_small_in_place(input);
        self.wire_out += run.echoed as u64;
        run
    }

    /// The socket took output it had refused before: the peer's TCP window opened, so the
    /// peer is reading. For the keepalive that is activity, like input: a client that
    /// reads its echoes slowly is neither idle nor dead while backpressure stops us from
    /// reading it (and its pong with it).
    pub fn handle_output_taken(&mut self, now: Instant) {
        let keepalive = self.extra.as_deref_mut().and_then(|e| e.keepalive.as_mut());
        if let (Phase::Open(receiver), Some(keepalive)) = (&self.phase, keepalive)
            && keepalive.saw_activity(now)
            && !receiver.close_deferred()
        {
            // (`set_deadline` by hand: parts of `self` are still borrowed.)
            self.deadline = keepalive.deadline(&self.config).map(Tick::of);
            self.wire_out |= DEADLINE_MOVED;
        }
    }

    /// The second half of [`Connection::handle_input`]: records the echoes of `run` in
    /// `out` and processes the input after it. `run` is what
    /// [`Connection::echo_in_place`] returned for this same input (which also noted the
    /// input for the keepalive).
    pub fn handle_input_after(
        &mut self,
        input: &mut [u8],
        run: &Run,
        now: Instant,
        out: &mut Output,
    ) {
        let before = out.len() + run.echoed;
        out.begin_input(input);
        out.in_place(&input[..run.echoed]);
        if run.invalid_utf8 {
            let stop = match &mut self.phase {
                Phase::Open(receiver) => receiver.bad_small_frame(input, run),
                _ => Stop::Fail(ProtocolError::InvalidUtf8),
            };
            self.stopped(stop, now, out.bytes_mut());
        } else if let Some(rest) = input.get_mut(run.taken..) {
            self.process(rest, now, out);
        }
        // `run.echoed` was counted by `echo_in_place`.
        self.wire_out += out.len().saturating_sub(before) as u64;
        if self.acts().is_some() {
            self.hold_input_output(input, now, out);
        }
        out.end_input();
    }

    /// Output is held (`?delay=`, `?handshake-delay=`, behind a `?send=` message
    /// partway out): what this input produced is taken out of `out` (copied out of the
    /// input it may refer to) and held; what is due goes out in its place.
    #[cold]
    fn hold_input_output(&mut self, input: &[u8], now: Instant, out: &mut Output) {
        if !self.acts().is_some_and(|a| a.holds()) {
            return;
        }
        let mut fresh = Vec::with_capacity(out.len());
        out.flatten_into(input, &mut fresh);
        out.clear();
        self.pass_out(fresh, None, now, out.bytes_mut());
        // Held output is bounded like output the socket refuses: a client that sends
        // faster than the delay (or its reading of our message) lets it out is closed
        // (the close goes behind it).
        let held = self.acts().map_or(0, |a| a.held_bytes());
        if held > self.config.max_backpressure && matches!(self.phase, Phase::Open(_)) {
            let reason = format!("{held} bytes of echoes held back, over --max-backpressure");
            self.close(CloseCode::POLICY_VIOLATION, &reason, now, out.bytes_mut());
        }
    }

    /// Appends `fresh` output to `out`, or, while output is held, holds it (for `by`,
    /// else the request's delay) behind what is held and appends what is due.
    fn pass_out(&mut self, fresh: Vec<u8>, by: Option<Duration>, now: Instant, out: &mut Vec<u8>) {
        let Some(acts) = self.acts_mut().filter(|a| a.holds()) else {
            out.extend_from_slice(&fresh);
            return;
        };
        let was_holding = acts.holding();
        acts.hold(fresh, by, now);
        acts.release(now, out);
        if was_holding && !acts.holding() {
            self.last_bytes_out(now);
        }
    }

    /// The last of what was held went out at `now`: the close handshake's time limit,
    /// and a reset's wait for the peer to take our last bytes, run from then.
    fn last_bytes_out(&mut self, now: Instant) {
        match &mut self.phase {
            Phase::Closing(..) | Phase::Finishing(_) => {
                self.set_deadline(Some(now + self.config.close_timeout));
            }
            Phase::Resetting(_, until) => {
                *until = Tick::of(now + self.config.close_timeout);
                self.set_deadline(Some(now));
            }
            _ => {}
        }
    }

    #[inline(always)]
    fn process(&mut self, input: &mut [u8], now: Instant, out: &mut Output) {
        match &mut self.phase {
            Phase::Open(receiver) => {
                // (The input was already seen by the keepalive in `echo_in_place`.)
                if let Err(stop) = receiver.receive(input, &self.config, out) {
                    let unread = self.stopped(stop, now, out.bytes_mut());
                    self.wait_on(tail(input, unread));
                }
            }
            Phase::Handshake(_) => self.handshake_input(input, now, out),
            Phase::Suite(..) => self.suite_call(now, |s| s.input(input, now, out.bytes_mut())),
            Phase::Closing(counts, Some(wait)) => {
                // Its close frame, or bytes that are no frames: nothing more will come.
                if wait.feed(input) != Seen::Nothing {
                    self.phase = Phase::Finishing(*counts);
                }
            }
            Phase::MetricsAsked(..)
            | Phase::Closing(..)
            | Phase::Finishing(_)
            | Phase::Resetting(..)
            | Phase::Done(_) => {}
        }
    }

    /// Input while the upgrade request is still being collected: kept out of line so
    /// that the open connection's path stays small.
    #[inline(never)]
    fn handshake_input(&mut self, input: &mut [u8], now: Instant, out: &mut Output) {
        let Phase::Handshake(buffer) = &mut self.phase else {
            return;
        };
        // Taken out of the phase while it is judged: what followed the head may lie in
        // it, and the judgement changes the phase.
        let mut buffer = std::mem::take(buffer);
        // The connection's input so far: what was buffered, and this read.
        let total = (buffer.len() + input.len()) as u64;
        let peer = buffer.peer();
        match buffer.feed(input, self.config.max_header_bytes) {
            Head::Incomplete => self.phase = Phase::Handshake(buffer),
            Head::TooLarge => {
                let reply = HttpReply::error(
                    HttpStatus::RequestHeaderFieldsTooLarge,
                    format!(
                        "request head exceeds {} bytes\n",
                        self.config.max_header_bytes
                    ),
                );
                self.refuse(reply, AnswerAs::Text, now, out.bytes_mut());
                self.count_request(total);
            }
            Head::Complete { head, rest } => {
                let decision = decide_for(head, &self.config, peer);
                let head_len = head.len();
                self.decided(decision, AnswerAs::Text, (head_len, total), rest, now, out);
            }
        }
    }

    /// Takes a request a transport parsed (an HTTP/2 stream's), as
    /// [`Connection::handle_input`] takes the bytes of one: judged, and answered as
    /// `answer_as` says. A connection that is past its handshake ignores it.
    pub(crate) fn handle_request(
        &mut self,
        req: &Request<'_>,
        answer_as: AnswerAs,
        now: Instant,
        out: &mut Output,
    ) {
        let Phase::Handshake(buffer) = &self.phase else {
            return;
        };
        let decision = judge(req, &self.config, buffer.peer());
        let before = out.len();
        out.begin_input(&[]);
        self.decided(decision, answer_as, (0, 0), &mut [], now, out);
        self.wire_out += out.len().saturating_sub(before) as u64;
        if self.acts().is_some() {
            self.hold_input_output(&[], now, out);
        }
        out.end_input();
    }

    /// Acts on the judgement of a request: `sizes` are the request head's length and
    /// the connection's input so far; `rest` is what followed the head in this input.
    fn decided(
        &mut self,
        decision: Decision,
        answer_as: AnswerAs,
        (head_len, total): (usize, u64),
        rest: &mut [u8],
        now: Instant,
        out: &mut Output,
    ) {
        let (receiver, result) = match decision {
            Decision::Reply(reply) => {
                self.refuse(reply, answer_as, now, out.bytes_mut());
                return self.count_request(total);
            }
            Decision::DelayedReply(reply, delay) => {
                // Held like a delayed 101: taken at the end of this input.
                self.extra().acts = Some(Acts::holding_first(delay));
                self.refuse(reply, answer_as, now, out.bytes_mut());
                return self.count_request(total);
            }
            Decision::Suite {
                accept,
                command,
                offers,
            } => {
                let counts = Counts {
                    wire_in: total,
                    ..Counts::default()
                };
                let suite = std::sync::Arc::clone(&self.config.suite);
                let upgraded = |extensions: Option<String>| {
                    Answer::Upgrade(Upgraded {
                        accept,
                        subprotocol: None,
                        extensions: extensions.map(String::into_bytes),
                    })
                };
                let Some(mut session) = Session::new(*command, suite, now) else {
                    self.answer(upgraded(None), answer_as, now, out.bytes_mut());
                    self.set_done();
                    return;
                };
                // The case accepts a permessage-deflate offer as Autobahn's does.
                let extension = session.negotiate(&offers);
                let before = out.bytes_mut().len();
                self.answer(upgraded(extension), answer_as, now, out.bytes_mut());
                session.preopen(head_len, out.bytes_mut().len() - before);
                // It speaks first; frames the client pipelined behind its request
                // come after.
                session.open(now, out.bytes_mut());
                session.input(rest, now, out.bytes_mut());
                self.event(Event::Opened { deflate: false });
                self.phase = Phase::Suite(Box::new(session), counts);
                self.set_deadline(None);
                self.suite_call(now, |_| {});
                return;
            }
            Decision::Metrics { head } => {
                let counts = Counts {
                    wire_in: total,
                    ..Counts::default()
                };
                self.phase = Phase::MetricsAsked(counts, head, answer_as);
                self.event(Event::MetricsAsked);
                return;
            }
            Decision::Upgrade {
                accept,
                subprotocol,
                deflate,
                behaviour,
            } => {
                let extensions = deflate.as_ref().map(|params| {
                    let mut ext = Vec::new();
                    params.write_response(&mut ext);
                    ext
                });
                let answer = Answer::Upgrade(Upgraded {
                    accept,
                    subprotocol,
                    extensions,
                });
                // Timed behaviours; output held (the answer for the handshake delay)
                // is taken at the end of this input.
                let acts = behaviour.as_ref().and_then(|b| Acts::wanted(b, now));
                let holds = acts.as_ref().is_some_and(|a| a.holds());
                if acts.is_some() {
                    self.extra().acts = acts;
                }
                self.answer(answer, answer_as, now, out.bytes_mut());
                // Behaviours asked for in the query: wsecho speaks first, the request
                // it received, then a greeting...
                if let Some(json) = behaviour.as_ref().and_then(|b| b.head_json.as_deref()) {
                    emit::frame(out.bytes_mut(), true, false, Opcode::Text, json.as_bytes());
                }
                if let Some(hello) = behaviour.as_ref().and_then(|b| b.hello.as_deref()) {
                    emit::frame(out.bytes_mut(), true, false, Opcode::Text, hello.as_bytes());
                }
                // ...or ends at once (or after some messages: see below).
                let (end, after) = match &behaviour {
                    Some(b) => (b.end.clone(), b.end_after),
                    None => (None, 0),
                };
                let (end_now, end_later) = match end {
                    Some(end) if after == 0 => (Some(end), None),
                    end => (None, end),
                };
                if let Some(end) = end_now {
                    let agreed = deflate.is_some();
                    // The client's close may be in the rest of this read.
                    let mut wait = CloseWait::resume(&[], 0);
                    let seen = wait.feed(rest);
                    return self.ended_as_asked(end, (wait, seen), (total, agreed), now, out);
                }
                let config = &self.config;
                let session = deflate.map(|p| Box::new(deflate::DeflateSession::new(p, config)));
                let mut receiver = Receiver::new(session, config, total);
                if let Some(end) = end_later {
                    receiver.end_after(after, end);
                }
                if let Some(b) = &behaviour
                    && let Some(n) = b.fragment
                {
                    receiver.fragment_echoes(n, b.ping_between);
                }
                if holds {
                    // Held output is taken out of the input: no echo is built there.
                    receiver.general_path_only();
                }
                // Frames the client pipelined behind its request.
                let result = receiver.receive(rest, config, out);
                (receiver, result)
            }
        };
        self.event(Event::Opened {
            deflate: receiver.has_deflate(),
        });
        self.phase = Phase::Open(receiver);
        if Keepalive::wanted(&self.config) {
            self.extra().keepalive = Some(Keepalive::new(now));
        }
        self.set_deadline(self.keepalive_deadline());
        if let Err(stop) = result {
            let unread = self.stopped(stop, now, out.bytes_mut());
            // What followed the request is the end of this read.
            self.wait_on(tail(rest, unread));
        }
    }

    /// A refused request's bytes count as the connection's input.
    fn count_request(&mut self, total: u64) {
        if let Phase::Closing(counts, _) = &mut self.phase {
            counts.wire_in = total;
        }
    }

    /// Gives `answer` to the transport as it takes it: as HTTP/1.1 text in `out`, or
    /// kept for it with its body in `out`. While output is held (`?handshake-delay=`),
    /// a kept answer is held as long as the text would be.
    fn answer(&mut self, answer: Answer, answer_as: AnswerAs, now: Instant, out: &mut Vec<u8>) {
        match answer_as {
            AnswerAs::Text => answer.write_h1(out),
            AnswerAs::Fields => {
                out.extend_from_slice(answer.body());
                if let Some(acts) = self.acts_mut() {
                    acts.hold_head(now);
                }
                self.extra().answer = Some(Box::new(answer));
            }
        }
    }

    /// The answer kept for a transport that carries it as fields ([`AnswerAs::Fields`]),
    /// once it may go: the transport sends it before any output that follows.
    pub(crate) fn take_answer(&mut self) -> Option<Box<Answer>> {
        let extra = self.extra.as_deref_mut()?;
        if extra.acts.as_deref().is_some_and(Acts::holds_head) {
            return None;
        }
        let answer = extra.answer.take();
        if extra.is_empty() {
            self.extra = None;
        }
        answer
    }

    /// Input that came after a close of ours in the same read: the client's close frame
    /// may be in it.
    fn wait_on(&mut self, rest: &[u8]) {
        if rest.is_empty() {
            return;
        }
        if let Phase::Closing(counts, Some(wait)) = &mut self.phase
            && wait.feed(rest) != Seen::Nothing
        {
            self.phase = Phase::Finishing(*counts);
        }
    }

    /// The upgrade is done and, as the request asked, the connection ends at once:
    /// `?close=CODE`, our close frame queued behind the answer, the client's close
    /// looked for by `wait` (`seen` in the rest of this read); or `?abort`, a reset
    /// once the answer is written.
    #[cold]
    fn ended_as_asked(
        &mut self,
        end: End,
        (wait, seen): (CloseWait, Seen),
        (total, deflate): (u64, bool),
        now: Instant,
        out: &mut Output,
    ) {
        self.event(Event::Opened { deflate });
        self.end(end, now, out.bytes_mut());
        match &mut self.phase {
            Phase::Closing(counts, looking) => {
                counts.wire_in = total;
                *looking = Some(Box::new(wait));
                if seen != Seen::Nothing {
                    self.phase = Phase::Finishing(*counts);
                }
            }
            Phase::Resetting(counts, _) => counts.wire_in = total,
            _ => {}
        }
    }

    /// Ends the connection as the request asked: a close frame and the wait for the
    /// client's, or a reset.
    fn end(&mut self, end: End, now: Instant, out: &mut Vec<u8>) {
        match end {
            End::Close(code, reason) => {
                emit::close(out, code, &reason);
                self.event(Event::ServerClosed { code, reason });
                self.enter_closing(now, Some(CloseWait::resume(&[], 0)));
            }
            End::Abort => {
                self.event(Event::Aborted);
                let until = Tick::of(now + self.config.close_timeout);
                self.phase = Phase::Resetting(self.counts(), until);
                self.set_deadline(Some(now));
            }
        }
    }

    /// The client's address, for a request that asks to see what wsecho received
    /// (`?headers`); kept only until the handshake is decided.
    pub fn set_peer(&mut self, peer: std::net::SocketAddr) {
        if let Phase::Handshake(head) = &mut self.phase {
            head.set_peer(peer);
        }
    }

    /// The peer shut down its side of TCP (a read returned 0).
    pub fn handle_eof(&mut self) {
        match self.phase {
            Phase::Handshake(ref head) if !head.is_empty() => {
                self.event(Event::Dropped {
                    during: "handshake",
                });
            }
            Phase::Open(_) => self.event(Event::Dropped {
                during: "open connection, no close frame",
            }),
            Phase::Suite(..) => return self.suite_call(Instant::now(), |s| s.eof(Instant::now())),
            // A half-close still reads: our last bytes (the close reply, the close frame
            // naming what the client did wrong, echoes queued before them) go out before
            // the socket is closed. `close_timeout` bounds the wait.
            Phase::Closing(counts, _) | Phase::Finishing(counts) => {
                self.phase = Phase::Finishing(counts);
                return;
            }
            _ => {}
        }
        self.set_done();
        self.set_deadline(None);
    }

    /// Called when [`Connection::deadline`] has passed; may queue a ping or a close.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Vec<u8>) {
        if let Phase::Suite(..) = self.phase {
            let before = out.len();
            self.suite_call(now, |s| s.timeout(now, out));
            self.wire_out += (out.len() - before) as u64;
            return;
        }
        self.own_output(now, out, |conn, buf| {
            conn.act(now, buf);
            // Phase limits wait while output is held for its time: they run from when
            // it goes out.
            if !conn.acts().is_some_and(|a| a.waits_on_time()) {
                conn.timeout(now, buf);
            }
        });
        if self.acts().is_some() {
            self.send_turn(now, out);
        }
    }

    /// Output of our own, not an answer to the client's bytes (a timer's, a close of
    /// ours): `make` writes it, it is counted, and appended to `out`; while output is
    /// held (`?delay=`) it is not delayed itself but kept behind what is held, never
    /// before it.
    fn own_output(
        &mut self,
        now: Instant,
        out: &mut Vec<u8>,
        make: impl FnOnce(&mut Self, &mut Vec<u8>),
    ) {
        if self.acts().is_none() {
            let before = out.len();
            make(self, out);
            self.wire_out += (out.len() - before) as u64;
            return;
        }
        let mut fresh = Vec::new();
        make(self, &mut fresh);
        self.wire_out += fresh.len() as u64;
        self.pass_out(fresh, Some(Duration::ZERO), now, out);
    }

    /// The timed behaviours' turn: a `?ping=` beat.
    #[cold]
    fn act(&mut self, now: Instant, out: &mut Vec<u8>) {
        let acts = self
            .extra
            .as_deref_mut()
            .and_then(|e| e.acts.as_deref_mut());
        let (Some(acts), Phase::Open(receiver)) = (acts, &mut self.phase) else {
            return;
        };
        let (answered, others) = receiver.pong_answered();
        match acts.beat(now, answered, receiver.echo_in_flight()) {
            Some(Beat::Ping { payload }) => {
                emit::frame(out, true, false, Opcode::Ping, &payload);
                receiver.expect_pong(payload);
            }
            Some(Beat::Unanswered { n, waited }) => {
                acts.stop_pinging();
                let mut reason = format!(
                    "no pong answered ping {n} within {} s (?ping=)",
                    waited.as_secs_f64()
                );
                if others > 0 {
                    reason += &format!("; {others} pongs with other data came");
                }
                self.start_close(CloseCode::POLICY_VIOLATION, &reason, now, out);
            }
            None => {}
        }
    }

    /// The `?send=` source's turn (see [`Acts::send_turn`]): after anything else made
    /// in this call, which goes before our message begins, or behind it if it is
    /// partway out.
    #[cold]
    fn send_turn(&mut self, now: Instant, out: &mut Vec<u8>) {
        let (open, mid_message) = match &self.phase {
            Phase::Open(receiver) => (true, receiver.mid_message()),
            Phase::Done(_) => return,
            _ => (false, false),
        };
        let Some(acts) = self
            .extra
            .as_deref_mut()
            .and_then(|e| e.acts.as_deref_mut())
        else {
            return;
        };
        let made = acts.send_turn(now, open, mid_message, out);
        if made == 0 {
            return;
        }
        self.wire_out += made as u64;
        if !acts.holding() {
            self.last_bytes_out(now);
        } else if matches!(self.phase, Phase::Closing(..) | Phase::Finishing(_)) {
            // Our message goes on while the close waits behind it: the time limit runs
            // from each piece the client takes, so only one that stops reading is cut.
            self.set_deadline(Some(now + self.config.close_timeout));
        }
    }

    /// The driver has written everything it had queued (a `?send=` source may go on).
    pub fn handle_output_drained(&mut self) {
        if let Some(acts) = self.acts_mut() {
            acts.drained();
        }
        if let Phase::Suite(session, _) = &mut self.phase {
            session.drained();
        }
    }

    /// A connection ending with a reset (`?abort`, [`Status::Reset`]): whether to reset
    /// it without waiting any longer for the peer to acknowledge our last bytes.
    pub fn reset_overdue(&self, now: Instant) -> bool {
        matches!(self.phase, Phase::Resetting(_, until) if now >= until.instant())
    }

    fn timeout(&mut self, now: Instant, out: &mut Vec<u8>) {
        if self.phase_deadline().is_none_or(|d| d > now) {
            return;
        }
        let during = match self.phase {
            Phase::Handshake(_) | Phase::MetricsAsked(..) => "handshake",
            Phase::Closing(..) | Phase::Finishing(_) => "close handshake",
            Phase::Done(_) | Phase::Suite(..) => return,
            Phase::Resetting(_, until) => {
                let until = until.instant();
                // The driver looks at the socket again after this turn (see
                // [`Status::Reset`]).
                if now < until {
                    self.set_deadline(Some((now + RESET_POLL).min(until)));
                } else {
                    self.set_deadline(None);
                }
                return;
            }
            Phase::Open(ref receiver) if receiver.close_deferred() => {
                "close (an echo frame was still going out)"
            }
            Phase::Open(ref receiver) => {
                let in_flight = receiver.echo_in_flight();
                let keepalive = self.extra.as_deref_mut().and_then(|e| e.keepalive.as_mut());
                let Some(keepalive) = keepalive else {
                    return;
                };
                match keepalive.on_deadline(now, &self.config) {
                    keepalive::Action::Wait => {}
                    // A ping cannot go inside our echo frame either: it is left out, and
                    // a client stalled mid-frame is dropped when the pong does not come.
                    keepalive::Action::Ping if in_flight => {}
                    keepalive::Action::Ping => {
                        emit::frame(out, true, false, Opcode::Ping, b"wsecho")
                    }
                    keepalive::Action::Idle => {
                        self.start_close(CloseCode::GOING_AWAY, "idle timeout", now, out);
                        return;
                    }
                    keepalive::Action::NoPong => {
                        self.event(Event::TimedOut {
                            during: "keepalive (no answer to ping)",
                        });
                        self.set_done();
                        self.set_deadline(None);
                        return;
                    }
                }
                self.set_deadline(self.keepalive_deadline());
                return;
            }
        };
        self.event(Event::TimedOut { during });
        self.set_done();
        self.set_deadline(None);
    }

    /// The next instant [`Connection::handle_timeout`] should be called at.
    pub fn deadline(&self) -> Option<Instant> {
        if let Phase::Suite(session, _) = &self.phase {
            return session.deadline();
        }
        let Some(acts) = self.acts() else {
            return self.phase_deadline();
        };
        let open = matches!(self.phase, Phase::Open(_));
        if acts.waits_on_time() {
            // The phase's limits wait for the held output.
            return acts.deadline(open);
        }
        [self.phase_deadline(), acts.deadline(open)]
            .into_iter()
            .flatten()
            .min()
    }

    /// Whether [`Connection::deadline`] may differ from the one the driver last
    /// scheduled (see [`Connection::take_deadline_moved`]): every change of the phase's
    /// deadline says so, and a connection whose deadline is not only the phase's (timed
    /// behaviours, a suite session) always does.
    #[inline]
    pub fn deadline_moved(&self) -> bool {
        self.wire_out & DEADLINE_MOVED != 0
            || self.acts().is_some()
            || matches!(self.phase, Phase::Suite(..))
    }

    /// [`Connection::deadline_moved`], which the driver asks when it is about to
    /// schedule [`Connection::deadline`]: from then on it is the one scheduled.
    #[inline]
    pub fn take_deadline_moved(&mut self) -> bool {
        let moved = self.deadline_moved();
        self.wire_out &= !DEADLINE_MOVED;
        moved
    }

    /// The driver's timer for the deadline fired (or was dropped): whatever the deadline
    /// is next, it is to be scheduled anew.
    #[inline]
    pub fn forget_scheduled(&mut self) {
        self.wire_out |= DEADLINE_MOVED;
    }

    /// Sets the phase's deadline, which the driver is then to schedule.
    #[inline]
    fn set_deadline(&mut self, at: Option<Instant>) {
        self.deadline = at.map(Tick::of);
        self.wire_out |= DEADLINE_MOVED;
    }

    /// The phase's deadline.
    #[inline]
    fn phase_deadline(&self) -> Option<Instant> {
        self.deadline.map(Tick::instant)
    }

    /// Open, with no event to collect and the deadline still the one scheduled: after
    /// input, the driver has nothing to do but send. (A connection with timed
    /// behaviours never is: its deadline moves with its output.)
    #[inline]
    pub fn is_settled(&self) -> bool {
        matches!(self.phase, Phase::Open(_))
            && self.wire_out & DEADLINE_MOVED == 0
            && self
                .extra
                .as_deref()
                .is_none_or(|e| e.events.is_empty() && e.acts.is_none())
    }

    /// What the driver should do with the socket now.
    pub fn status(&self) -> Status {
        let ending = match self.phase {
            Phase::Handshake(_) | Phase::MetricsAsked(..) | Phase::Open(_) | Phase::Suite(..) => {
                return Status::Open;
            }
            Phase::Closing(..) => Status::Closing,
            Phase::Finishing(_) => Status::Finishing,
            Phase::Resetting(..) => Status::Reset,
            Phase::Done(_) => return Status::Done,
        };
        // Our last bytes are still held (`?delay=`, behind our `?send=` message): the
        // socket stays open for them.
        if self.acts().is_some_and(|a| a.holding()) {
            return Status::Open;
        }
        ending
    }

    /// Backpressure, for a client with `pending` bytes of our output that its socket has
    /// not taken: whether the driver may read more from it. Past `--write-high-water`
    /// (output held counted too: `?delay=`, behind our `?send=` message) reading pauses
    /// until the client reads its echoes; past `--max-backpressure` (a safety net for
    /// output one read multiplied, inflated data say) the client is also closed with
    /// 1008, its close frame appended to `out`.
    pub fn may_read(&mut self, pending: usize, now: Instant, out: &mut Vec<u8>) -> bool {
        if pending > self.config.max_backpressure {
            let reason = format!("client is not reading: {pending} bytes of echoes pending");
            self.close(CloseCode::POLICY_VIOLATION, &reason, now, out);
        }
        self.may_resume(pending)
    }

    /// Whether a client whose reading paused may be read again, with `pending` bytes of
    /// our output still waiting (see [`Connection::may_read`]).
    #[inline]
    pub fn may_resume(&self, pending: usize) -> bool {
        let held = self.acts().map_or(0, |a| a.held_bytes());
        pending.saturating_add(held) <= self.config.write_high_water
    }

    /// A close of our own waits for the end of the echo frame going out (a close cannot
    /// go inside a frame): nothing is sent until the client completes its frame, or the
    /// connection is dropped at [`Connection::deadline`].
    pub fn close_pending(&self) -> bool {
        matches!(&self.phase, Phase::Open(receiver) if receiver.close_deferred())
    }

    /// Closing after a close of our own (shutdown, idle, backpressure): the peer's close
    /// frame is still to be read, and ends the wait. A transport that must stop reading
    /// once it says goodbye (TLS, after its close_notify) says it only after that.
    pub fn awaits_close_frame(&self) -> bool {
        matches!(self.phase, Phase::Closing(_, Some(_)))
    }

    /// The next thing that happened, oldest first.
    pub fn poll_event(&mut self) -> Option<Event> {
        let extra = self.extra.as_deref_mut()?;
        let event = (!extra.events.is_empty()).then(|| extra.events.remove(0));
        if extra.events.is_empty() {
            // Idle connections hold no event buffer, nor an empty box.
            extra.events = Vec::new();
            if extra.is_empty() {
                self.extra = None;
            }
        }
        event
    }

    fn event(&mut self, event: Event) {
        self.extra().events.push(event);
    }

    /// The connection's [`Extra`], made if it has none.
    fn extra(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }

    #[inline]
    fn acts(&self) -> Option<&Acts> {
        self.extra.as_deref()?.acts.as_deref()
    }

    fn acts_mut(&mut self) -> Option<&mut Acts> {
        self.extra.as_deref_mut()?.acts.as_deref_mut()
    }

    fn keepalive_deadline(&self) -> Option<Instant> {
        let keepalive = self.extra.as_deref()?.keepalive.as_ref()?;
        keepalive.deadline(&self.config)
    }

    /// Messages and bytes handled so far.
    pub fn counts(&self) -> Counts {
        let counts = match &self.phase {
            Phase::Handshake(head) => Counts {
                wire_in: head.len() as u64,
                ..Counts::default()
            },
            Phase::Open(receiver) => receiver.counts(),
            Phase::MetricsAsked(counts, ..)
            | Phase::Suite(_, counts)
            | Phase::Closing(counts, _)
            | Phase::Finishing(counts)
            | Phase::Resetting(counts, _)
            | Phase::Done(counts) => *counts,
        };
        let keepalive = self.extra.as_deref().and_then(|e| e.keepalive.as_ref());
        let keepalive = keepalive.map_or(0, |k| k.pings_sent());
        let behaviour = self.acts().map_or(0, |a| a.pings_sent());
        Counts {
            wire_out: self.wire_out & !DEADLINE_MOVED,
            pings_out: keepalive + behaviour,
            ..counts
        }
    }

    fn set_done(&mut self) {
        self.phase = Phase::Done(self.counts());
    }

    /// Starts the server-side close (shutdown, idle, backpressure): sends a close with
    /// `code` and `reason` and waits for the peer as after any close. A connection still
    /// in its handshake is simply dropped.
    pub fn close(&mut self, code: CloseCode, reason: &str, now: Instant, out: &mut Vec<u8>) {
        self.own_output(now, out, |conn, buf| {
            conn.start_close(code, reason, now, buf)
        });
    }

    fn start_close(&mut self, code: CloseCode, reason: &str, now: Instant, out: &mut Vec<u8>) {
        match &mut self.phase {
            Phase::Open(receiver) if receiver.echo_in_flight() => {
                // A close cannot go inside our echo frame: it waits for the frame's end,
                // and the connection is dropped if that does not come in time.
                // (`Event::ServerClosed` comes when the close is sent.)
                receiver.defer_close(code, reason);
                self.set_deadline(Some(now + self.config.close_timeout));
            }
            Phase::Open(receiver) => {
                // The client may be inside a frame: the wait starts where it is.
                let (header_front, payload_rest) = receiver.frame_position();
                let wait = CloseWait::resume(header_front, payload_rest);
                emit::close(out, code, reason);
                self.event(Event::ServerClosed {
                    code,
                    reason: reason.to_string(),
                });
                self.enter_closing(now, Some(wait));
            }
            Phase::Handshake(_) | Phase::MetricsAsked(..) => {
                self.set_done();
                self.set_deadline(None);
            }
            // A case runs to its end (its own timers bound it); the driver's grace
            // period at shutdown bounds the wait.
            Phase::Suite(..) => {}
            Phase::Closing(..) | Phase::Finishing(_) | Phase::Resetting(..) | Phase::Done(_) => {}
        }
    }

    /// Answers a `GET /metrics` ([`Event::MetricsAsked`]) with `body`, the metrics in
    /// the OpenMetrics text format, and closes.
    pub fn answer_metrics(&mut self, body: String, now: Instant, out: &mut Vec<u8>) {
        if let Phase::MetricsAsked(_, head, answer_as) = self.phase {
            let before = out.len();
            let reply = HttpReply {
                content_type: "application/openmetrics-text; version=1.0.0; charset=utf-8",
                head_only: head,
                ..HttpReply::error(HttpStatus::Ok, body)
            };
            self.answer(Answer::Reply(reply), answer_as, now, out);
            self.wire_out += (out.len() - before) as u64;
            self.enter_closing(now, None);
        }
    }

    /// Answers the handshake with an HTTP error before reading it (e.g. 503 when the
    /// server is full).
    pub fn reject(&mut self, status: HttpStatus, body: &str, now: Instant, out: &mut Vec<u8>) {
        self.reject_with(HttpReply::error(status, body), AnswerAs::Text, now, out);
    }

    /// [`Connection::reject`] with a whole reply, answered as `answer_as` says.
    pub(crate) fn reject_with(
        &mut self,
        reply: HttpReply,
        answer_as: AnswerAs,
        now: Instant,
        out: &mut Vec<u8>,
    ) {
        if matches!(self.phase, Phase::Handshake(_)) {
            let before = out.len();
            self.refuse(reply, answer_as, now, out);
            self.wire_out += (out.len() - before) as u64;
        }
    }

    /// The receiver stopped: the peer closed, or broke a rule, or a close of ours is
    /// due. Returns how many bytes at the end of the input it did not read, which a
    /// close of ours leaves to the close wait (0 otherwise).
    #[cold]
    fn stopped(&mut self, stop: Stop, now: Instant, out: &mut Vec<u8>) -> usize {
        let mut unread = 0;
        match stop {
            Stop::PeerClosed { code } => {
                self.event(Event::PeerClosed { code });
                // The deadline only matters if the socket will not take our reply.
                self.phase = Phase::Finishing(self.counts());
                self.set_deadline(Some(now + self.config.close_timeout));
            }
            Stop::Fail(error) => {
                let at = self.location();
                self.fail(error, at, now, out);
            }
            Stop::Due(end, read_to) => {
                // Between frames now: the wait for the client's close starts here (the
                // caller feeds it the `unread` rest).
                if let Phase::Open(receiver) = &self.phase {
                    unread = receiver.unread_after(read_to);
                }
                self.end(*end, now, out);
            }
            Stop::BadUtf8 { stream, message } => {
                let at = Location {
                    byte: Some((stream, message)),
                    ..self.location()
                };
                self.fail(ProtocolError::InvalidUtf8, at, now, out);
            }
        }
        unread
    }

    /// Where the frame being received is.
    fn location(&self) -> Location {
        match &self.phase {
            Phase::Open(receiver) => receiver.location(),
            _ => Location::default(),
        }
    }

    /// §7.1.7: "the endpoint SHOULD send a Close frame with an appropriate status code"
    /// — with a reason naming the rule the client broke.
    fn fail(&mut self, error: ProtocolError, at: Location, now: Instant, out: &mut Vec<u8>) {
        debug_assert_ne!(error.close_code(), CloseCode::NORMAL);
        emit::close(out, error.close_code(), &error.to_string());
        self.event(Event::Failed { error, at });
        self.enter_closing(now, None);
    }

    fn refuse(&mut self, reply: HttpReply, answer_as: AnswerAs, now: Instant, out: &mut Vec<u8>) {
        // The landing page is the one 200 wsecho answers on its own (its body is no
        // reason); any other status, one a request asked for included, is a refusal.
        let event = if reply.status == HttpStatus::Ok {
            Event::ServedPage
        } else {
            Event::Refused {
                status: reply.status,
                reason: reply.body.trim_end().to_string(),
            }
        };
        self.answer(Answer::Reply(reply), answer_as, now, out);
        self.event(event);
        self.enter_closing(now, None);
    }

    /// `wait` looks for the peer's close frame, when we may read it.
    /// Runs `call` on the suite session, then follows it: once the session says the
    /// connection ends, the phase ends it as any other (the queued bytes written first,
    /// or not), and the session, its verdict recorded, goes.
    #[cold]
    fn suite_call(&mut self, now: Instant, call: impl FnOnce(&mut Session)) {
        let Phase::Suite(session, counts) = &mut self.phase else {
            return;
        };
        call(session);
        let counts = *counts;
        match session.status() {
            crate::suite::peer::Status::Open => {}
            crate::suite::peer::Status::Finishing => {
                self.phase = Phase::Finishing(counts);
                self.set_deadline(Some(now + self.config.close_timeout));
            }
            crate::suite::peer::Status::Abort => {
                // Autobahn's `dropConnection(abort=True)` is Twisted's abortConnection:
                // a TCP reset (SO_LINGER 0), which clients see after the close
                // handshake of every case we close. The reset is due now.
                self.phase = Phase::Resetting(counts, Tick::of(now));
                self.set_deadline(None);
            }
            crate::suite::peer::Status::Done => {
                self.phase = Phase::Done(counts);
                self.set_deadline(None);
            }
        }
    }

    fn enter_closing(&mut self, now: Instant, wait: Option<CloseWait>) {
        self.phase = Phase::Closing(self.counts(), wait.map(Box::new));
        self.set_deadline(Some(now + self.config.close_timeout));
    }
}

/// How often a connection ending with a reset has the driver look whether the peer has
/// acknowledged our last bytes.
const RESET_POLL: Duration = Duration::from_millis(2);

/// The last `n` bytes of `input` (all of it if `n` is more).
fn tail(input: &[u8], n: usize) -> &[u8] {
    &input[input.len().saturating_sub(n)..]
}

#[cfg(test)]
mod tests;
