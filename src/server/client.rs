//! One accepted socket: the protocol core plus the bytes the socket has not taken yet.
//!
//! Small echoes are rebuilt in place in the loop's receive buffer and written from there;
//! everything else is produced into one output buffer shared by the loop and written at
//! once. Only what the socket refuses is copied into the connection's own buffer, which
//! is freed again once drained. An idle connection therefore holds no buffers at all.

use std::io;
use std::time::Instant;

use mio::net::TcpStream;
use mio::{Registry, Token};

use super::socket::{Received, Socket};
use super::verdict::{Ended, H2Ended, PeerAddr, Stamp, Verdict};
use crate::connection::{Connection, Output, Status};
use crate::frame::CloseCode;
use crate::handshake::HttpStatus;
use crate::tls::TlsLayer;
use crate::trace::Item;
use crate::trace::tap::Tap;

pub(super) struct Client {
    /// The socket and what it has not taken yet: the one way out.
    pub(super) socket: Socket,
    pub(super) conn: Connection,
    /// Reading stopped because too much output is pending (backpressure).
    read_paused: bool,
    /// The peer has shut down its side: read until EOF, not just until a short read.
    read_to_eof: bool,
    /// Reading stopped at the per-event budget with the socket perhaps not drained: no
    /// new edge will come, so the loop resumes it on its next turn.
    read_yielded: bool,
    /// The connection's key is in the loop's list of those to drive again. A key goes
    /// in once, whatever marked it how often: a connection that kept a backlog and got
    /// events too was once queued again on each, and drove itself once per entry (200
    /// drives a turn of one HEAD flooder after 30 s, a 50 ms turn for everyone else).
    queued: bool,
    /// The deadline last handed to the timer heap.
    scheduled: Option<Instant>,
    /// Not plain TCP: the first byte is still to tell TLS from cleartext, or TLS it is.
    /// Only such connections leave the plain read path.
    layered: bool,
    /// While sniffing: the server was full at accept, so the client gets its 503 once
    /// it is known how to speak to it (over TLS, after the TLS handshake).
    full: bool,
    /// The TLS layer, for a `wss://` client.
    tls: Option<Box<TlsLayer>>,
    /// The first byte was seen: cleartext, or TLS (then `tls` is set).
    sniffed: bool,
    /// The wire trace of this connection, when traced. A traced connection stays on
    /// the layered read path, which shows the tap the bytes before the core sees them.
    trace: Option<Box<Tap>>,
    /// The connection's number: the count of connections accepted when it came.
    id: u64,
    /// When it was accepted (see [`Stamp`]).
    started: Stamp,
    /// How it is ending, from its events (see [`Verdict`]).
    verdict: Option<Box<Verdict>>,
    /// The client's address, taken at accept.
    peer: PeerAddr,
    /// The HTTP/2 layer, for a client that spoke HTTP/2 (`conn` is then unused).
    h2: Option<Box<crate::stack::h2::H2Connection>>,
}

/// Full reads (of the loop's 256 KiB buffer) one readiness event may do before the
/// connection yields to the others.
pub(super) const MAX_READS_PER_EVENT: usize = 16;

/// After one read: read again, or stop with this outcome.
pub(super) enum Step {
    More,
    Stop(ReadOutcome),
}

/// What reading found.
pub(super) enum ReadOutcome {
    /// Keep the connection.
    Ok,
    /// A socket error: drop it.
    Error(io::Error),
    /// Drop it: why was logged already (a TLS failure, a TLS client on a cleartext port).
    Dropped,
}

impl Client {
    /// Connection number `id`, accepted at `started`.
    pub(super) fn new(stream: TcpStream, conn: Connection, (id, started): (u64, Instant)) -> Self {
        let started = Stamp::of(started);
        Client {
            socket: Socket::new(stream),
            conn,
            read_paused: false,
            read_to_eof: false,
            read_yielded: false,
            queued: false,
            scheduled: None,
            layered: false,
            full: false,
            tls: None,
            sniffed: false,
            trace: None,
            id,
            started,
            verdict: None,
            peer: PeerAddr::Unknown,
            h2: None,
        }
    }

    /// A connection whose first byte will tell whether it speaks TLS (or, on a server
    /// without TLS, a TLS client that must be told where it is). `full`: the server was
    /// at its connection limit, so the client is to be refused with 503.
    pub(super) fn sniffing(
        stream: TcpStream,
        conn: Connection,
        full: bool,
        accepted: (u64, Instant),
    ) -> Self {
        Client {
            layered: true,
            full,
            ..Client::new(stream, conn, accepted)
        }
    }

    /// The peer's FIN (or an error) is waiting behind its data: the next read must go on
    /// to EOF rather than stop at a short read, or no edge is left to report it.
    #[inline]
    pub(super) fn note_read_closed(&mut self) {
        self.read_to_eof = true;
    }

    /// Reading was paused by backpressure and the core says it may resume now.
    #[inline(always)]
    pub(super) fn may_resume(&self) -> bool {
        // Asked on every readiness event: the usual answer (not paused) inline.
        self.read_paused && self.may_resume_now()
    }

    /// [`Client::may_resume`] for a paused reader.
    #[inline(never)]
    fn may_resume_now(&self) -> bool {
        self.conn.may_resume(self.pending_out())
            && self
                .h2
                .as_deref()
                .is_none_or(|h2| h2.wants_read() || h2.has_backlog())
    }

    /// Whether reading stopped at the per-event budget (or is to resume): the loop must
    /// drive this connection again on its next turn, since no new edge will come.
    #[inline]
    pub(super) fn has_yielded(&self) -> bool {
        self.read_yielded
    }

    /// Marks the connection to be driven again on the loop's next turn.
    #[inline]
    pub(super) fn yield_turn(&mut self) {
        self.read_yielded = true;
    }

    /// Notes that the connection's key goes into the loop's list of those to drive
    /// again: `true` when it was not there yet (the caller pushes it), `false` when it
    /// is, so that a connection is driven at most once a turn from that list.
    #[inline]
    pub(super) fn enqueue(&mut self) -> bool {
        !std::mem::replace(&mut self.queued, true)
    }

    /// The loop takes the connection's key out of its list: `true` when it is to be
    /// driven (it was queued, and still has reading to resume). A second entry for the
    /// key in the same list (a slot reused by a new connection) finds it dequeued.
    #[inline]
    pub(super) fn dequeue(&mut self) -> bool {
        std::mem::take(&mut self.queued) && std::mem::take(&mut self.read_yielded)
    }

    /// The deadline last handed to the timer heap.
    #[inline]
    pub(super) fn scheduled(&self) -> Option<Instant> {
        self.scheduled
    }

    /// Records the deadline handed to the timer heap.
    #[inline]
    pub(super) fn set_scheduled(&mut self, at: Option<Instant>) {
        self.scheduled = at;
    }

    /// Not (yet) plain TCP: its reads go through [`Client::read_layered`].
    #[inline]
    pub(super) fn is_layered(&self) -> bool {
        self.layered
    }

    /// Nothing to flush, log, reschedule or resume: the common state after echoing.
    #[inline]
    pub(super) fn is_settled(&self) -> bool {
        self.socket.is_clear()
            && !self.socket.wants_writable()
            && !self.read_paused
            && self.conn.is_settled(self.scheduled)
    }

    pub(super) fn pending_out(&self) -> usize {
        self.socket.pending()
    }

    /// Reads and processes until the socket is drained, a short read says it is, the
    /// connection is done, or backpressure stops us.
    /// `out` is the loop's output buffer: what the core produces for one read is written
    /// from it (and from `buf`, where large echoes stay) before the next read.
    #[inline]
    pub(super) fn read(&mut self, buf: &mut [u8], out: &mut Output, now: Instant) -> ReadOutcome {
        // Usually one read does it (a short read drains the socket); the loop for more
        // is out of line so that this path stays straight.
        match self.read_once(buf, out, now) {
            Step::More => self.read_more(buf, out, now),
            Step::Stop(outcome) => outcome,
        }
    }

    #[inline(never)]
    pub(super) fn read_more(
        &mut self,
        buf: &mut [u8],
        out: &mut Output,
        now: Instant,
    ) -> ReadOutcome {
        // The first read was the caller's.
        for _ in 1..MAX_READS_PER_EVENT {
            if let Step::Stop(outcome) = self.read_once(buf, out, now) {
                return outcome;
            }
        }
        // A client that keeps the socket full must not hold the loop: the others, the
        // timers and the signals get their turn first.
        self.read_yielded = true;
        ReadOutcome::Ok
    }

    /// One read and what it produced, written.
    #[inline(always)]
    fn read_once(&mut self, buf: &mut [u8], out: &mut Output, now: Instant) -> Step {
        if !self.socket.is_clear() && self.backpressure(now) {
            self.read_paused = true;
            return Step::Stop(ReadOutcome::Ok);
        }
        self.read_paused = false;
        match self.socket.read(buf) {
            Received::Data(n) => self.take_read(buf, n, out, now),
            Received::Eof => {
                self.conn.handle_eof();
                Step::Stop(ReadOutcome::Ok)
            }
            Received::Blocked => Step::Stop(ReadOutcome::Ok),
            Received::Failed(e) => Step::Stop(ReadOutcome::Error(e)),
        }
    }

    /// Processes and writes what one read of `n` bytes into `buf` brought.
    #[inline(always)]
    pub(super) fn take_read(
        &mut self,
        buf: &mut [u8],
        n: usize,
        out: &mut Output,
        now: Instant,
    ) -> Step {
        // A short read drained the socket: the next arrival raises a new edge.
        let drained = n < buf.len() && !self.read_to_eof;
        let input = &mut buf[..n];
        // The rule that keeps output in order: bytes go to the socket directly only while
        // nothing is queued; otherwise they queue behind what is.
        // `echo_in_place` then `handle_input_after` is `Connection::handle_input` split
        // in two, so that a read of small echoes only needs the first half.
        let run = self.conn.echo_in_place(input, now);
        if run.taken == n && self.socket.is_clear() {
            // The common case: small echoes only, built in place; write them now.
            if let Err(e) = self.socket.send(&input[..run.echoed]) {
                return Step::Stop(ReadOutcome::Error(e));
            }
            return if drained {
                Step::Stop(ReadOutcome::Ok)
            } else {
                Step::More
            };
        }
        // Anything else: the general path, into the loop's output buffer.
        out.clear();
        self.conn.handle_input_after(input, &run, now, out);
        self.send_output(out, input, drained)
    }

    /// Writes what one input produced (`out`, which refers into `input`): now, keeping
    /// what the socket refuses, or behind output already queued. Then says whether to
    /// read on: not after a short read (`drained`) nor once the connection is finishing.
    #[inline(always)]
    pub(super) fn send_output(&mut self, out: &Output, input: &[u8], drained: bool) -> Step {
        if self.socket.is_clear() {
            // Write it now; keep only what the socket refuses.
            let sent = match out.contiguous(input) {
                // Nothing to send (input discarded while closing, say): no call.
                Some([]) => Ok(()),
                Some(data) if matches!(self.conn.status(), Status::Closing | Status::Finishing) => {
                    self.send_last(data)
                }
                Some(data) => self.socket.send(data),
                None => self.socket.send_vectored(out, input),
            };
            if let Err(e) = sent {
                return Step::Stop(ReadOutcome::Error(e));
            }
        } else {
            // Output is already queued: append behind it, in order.
            out.flatten_into(input, self.socket.queue());
        }
        self.step_after(drained)
    }

    /// After a read: stop when it drained the socket (`drained`) or the connection is
    /// finishing, read again otherwise.
    #[inline(always)]
    pub(super) fn step_after(&self, drained: bool) -> Step {
        let finished = matches!(
            self.conn.status(),
            Status::Finishing | Status::Done | Status::Reset
        );
        if drained || finished {
            Step::Stop(ReadOutcome::Ok)
        } else {
            Step::More
        }
    }

    /// With output pending: whether reading must pause, as the core decides
    /// ([`Connection::may_read`]; a 1008 it sends on the way is queued like any output).
    #[cold]
    #[inline(never)]
    pub(super) fn backpressure(&mut self, now: Instant) -> bool {
        let pending = self.pending_out();
        if self.h2.is_some() {
            // Each stream's core judges its own backpressure, by flow control.
            return !self.conn.may_resume(pending);
        }
        // Only a 1008 writes anything: the queue is not touched (nor compacted) for a
        // check that merely pauses, and an empty Vec allocates nothing.
        let mut close = Vec::new();
        let may_read = self.conn.may_read(pending, now, &mut close);
        if !close.is_empty() {
            self.produce(|_, out| out.extend_from_slice(&close));
        }
        !may_read
    }

    /// Writes our last bytes (a close frame, an HTTP error) with nothing queued, so that
    /// the FIN leaves with them: at once from a half-close when closing, or from closing
    /// the socket, which the loop does next, when finishing. What the socket does not
    /// take is queued; `flush` half-closes later.
    #[cold]
    #[inline(never)]
    fn send_last(&mut self, data: &[u8]) -> io::Result<()> {
        if self.socket.send_last(data)? && self.conn.status() == Status::Closing {
            self.socket.shut_write();
        }
        Ok(())
    }

    /// The socket has room again. Output is pending only because the socket refused it
    /// (what else is queued is written in the same turn), so any of it taken now means the
    /// peer's TCP window opened: the peer is reading, which the keepalive counts.
    // Out of line: writable edges come only while output is pending, and inlined into the
    // loop's per-event code it made the small-echo path slower (the README's instruction
    // counts say by how much).
    #[inline(never)]
    pub(super) fn on_writable(&mut self, now: Instant) -> io::Result<()> {
        let before = self.pending_out();
        self.flush()?;
        if self.pending_out() < before {
            self.conn.handle_output_taken(now);
        }
        Ok(())
    }

    /// Writes pending output until done or the socket is full; half-closes once a
    /// closing connection has sent everything.
    #[inline]
    pub(super) fn flush(&mut self) -> io::Result<()> {
        // The usual case, kept cheap: nothing queued and no half-close due.
        if self.socket.is_clear()
            && (self.socket.write_shut() || self.conn.status() != Status::Closing)
        {
            return Ok(());
        }
        self.flush_pending()
    }

    #[inline(never)]
    fn flush_pending(&mut self) -> io::Result<()> {
        let drained = self.socket.flush()?;
        if !self.socket.is_clear() {
            return Ok(());
        }
        if drained {
            if self.h2.is_some() {
                // The HTTP/2 layer keeps what did not fit: its turn now.
                return self.h2_pump();
            }
            self.conn.handle_output_drained();
        }
        // Over TLS, the FIN follows the close_notify (which waits while we read on).
        let goodbye_said = self.tls.as_ref().is_none_or(|tls| tls.close_notify_sent());
        if self.conn.status() == Status::Closing && !self.socket.write_shut() && goodbye_said {
            self.socket.shut_write();
        }
        Ok(())
    }

    /// Whether the socket should be closed now. A finishing one has written its last
    /// bytes; what the peer sent after its close is discarded first.
    pub(super) fn finished(&mut self, buf: &mut [u8]) -> bool {
        let status = self.h2_status().unwrap_or_else(|| self.conn.status());
        match status {
            Status::Done => true,
            Status::Finishing if self.pending_out() == 0 => {
                self.discard_unread(buf);
                true
            }
            Status::Reset
                if self.pending_out() == 0
                    && (self.unacknowledged() == 0 || self.conn.reset_overdue(Instant::now())) =>
            {
                self.set_reset_on_close();
                true
            }
            Status::Finishing | Status::Open | Status::Closing | Status::Reset => false,
        }
    }

    /// Bytes written to the socket that the peer has not acknowledged yet (0 where that
    /// cannot be asked). A reset discards what the peer's kernel received but its
    /// application has not read: `?abort` waits for our last bytes to be acknowledged
    /// first, so that the client reads them before it sees the reset.
    fn unacknowledged(&self) -> usize {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let mut n: libc::c_int = 0;
            // SAFETY: SIOCOUTQ (TIOCOUTQ on sockets) writes one int through the pointer,
            // which points to `n`.
            let r = unsafe { libc::ioctl(self.socket.stream.as_raw_fd(), libc::TIOCOUTQ, &mut n) };
            if r == 0 {
                return usize::try_from(n).unwrap_or(0);
            }
        }
        0
    }

    /// Closing the socket will send a reset (SO_LINGER with a zero timeout), not a FIN.
    fn set_reset_on_close(&self) {
        use std::os::fd::AsRawFd;
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        // SAFETY: setsockopt reads `size_of::<linger>()` bytes from a struct we own.
        let r = unsafe {
            libc::setsockopt(
                self.socket.stream.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&raw const linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            )
        };
        if r != 0 {
            log::debug!(
                "{}: SO_LINGER for the reset failed: {}",
                self.peer,
                io::Error::last_os_error()
            );
        }
    }

    /// Before a finished socket is closed: reads and discards what the peer sent after
    /// its close frame (a Pong that crossed it, say). Closing a socket with unread input
    /// sends a reset, and a reset discards our close reply where it still waits in the
    /// send queue (corked by MSG_MORE to leave with the FIN). A peer that keeps sending
    /// gets the reset, but only after a half-close has pushed out the reply and the FIN.
    fn discard_unread(&mut self, buf: &mut [u8]) {
        for _ in 0..4 {
            match self.socket.read(buf) {
                Received::Data(n) if n == buf.len() => {}
                // Drained (WouldBlock, a short read or EOF), or broken: close either way.
                _ => return,
            }
        }
        // The server closes TCP first (RFC 6455 §7.1.1): FIN after our last bytes.
        self.socket.shut_write();
    }

    pub(super) fn handle_timeout(&mut self, now: Instant) {
        if self.h2.is_some() {
            return self.h2_call(|h2| h2.handle_timeout(now));
        }
        self.produce(|conn, out| conn.handle_timeout(now, out));
    }

    /// Answers the handshake with an HTTP error and closes.
    pub(super) fn reject(&mut self, status: HttpStatus, body: &str, now: Instant) {
        self.produce(|conn, out| conn.reject(status, body, now, out));
    }

    /// Starts a server-side close handshake.
    pub(super) fn close(&mut self, code: CloseCode, reason: &str, now: Instant) {
        if self.h2.is_some() {
            return self.h2_close(code, reason, now);
        }
        self.produce(|conn, out| conn.close(code, reason, now, out));
    }

    /// Runs a call into the core that produces output outside a read (a timer, a close
    /// of our own, a refusal) and queues what it wrote: as it is over TCP, encrypted
    /// over TLS. The loop's `flush` writes it.
    fn produce(&mut self, call: impl FnOnce(&mut Connection, &mut Vec<u8>)) {
        match &mut self.tls {
            None => {
                let queue = self.socket.queue();
                let before = queue.len();
                call(&mut self.conn, queue);
                if let Some(tap) = self.trace.as_deref_mut() {
                    tap.tx(&queue[before..]);
                }
            }
            Some(tls) => {
                let mut plain = Vec::new();
                call(&mut self.conn, &mut plain);
                if let Some(tap) = self.trace.as_deref_mut() {
                    tap.tx(&plain);
                }
                tls.encrypt(&plain);
                crate::stack::say_goodbye(&self.conn, tls);
                // Writing into a vector cannot fail.
                let _ = tls.write_ciphertext(self.socket.queue());
            }
        }
    }

    /// Whether the connection speaks TLS.
    pub(super) fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Answers a `GET /metrics` with `body`.
    pub(super) fn answer_metrics(&mut self, body: String, now: Instant) {
        if self.h2.is_some() {
            return self.h2_call(|h2| h2.answer_metrics(&body, now));
        }
        self.produce(|conn, out| conn.answer_metrics(body, now, out));
    }

    /// Traces this connection from now on.
    pub(super) fn set_trace(&mut self, tap: Box<Tap>) {
        self.trace = Some(tap);
    }

    /// Takes note of a core event: for the connection's last log line, and in the
    /// trace, if traced.
    /// `on`: the HTTP/2 stream it came from.
    pub(super) fn note_event(&mut self, on: Option<u32>, event: &crate::connection::Event) {
        Verdict::record(&mut self.verdict, on, event);
        // An HTTP/2 stream's events are in that stream's trace already.
        if let Some(tap) = self.trace.as_deref_mut()
            && self.h2.is_none()
        {
            tap.event(event);
        }
    }

    /// Takes note of a failed socket call.
    pub(super) fn note_socket_failure(&mut self, what: String) {
        if let Some(tap) = self.trace.as_deref_mut() {
            tap.note(Item::TcpError(what.clone()));
        }
        Verdict::socket_failed(&mut self.verdict, what);
    }

    /// The line the log gets when the connection ends.
    pub(super) fn ended(&self, now: Instant) -> Ended<'_> {
        Ended {
            id: self.id,
            peer: self.peer,
            lasted: self.started.until(now),
            counts: self.counts(),
            verdict: self.verdict.as_deref(),
            h2: self.h2.as_deref().map(|h2| H2Ended {
                streams: h2.requests(),
                websockets: h2.websockets(),
                ending: h2.ending(),
            }),
        }
    }

    /// Moves the trace's new lines to `into`. A connection whose request did not ask to
    /// be traced loses its tap here, and a cleartext one goes back to the plain path.
    pub(super) fn take_trace_lines(&mut self, into: &mut String) {
        let Some(tap) = self.trace.as_deref_mut() else {
            return;
        };
        tap.take_lines(into);
        if let Some(h2) = self.h2.as_deref_mut() {
            h2.take_trace_lines(into);
        }
        if tap.unwanted() {
            self.trace = None;
            if self.sniffed && self.tls.is_none() {
                self.layered = false;
            }
        }
    }

    /// Shows in the trace that wsecho closes the socket, if traced.
    pub(super) fn trace_closed_by_us(&mut self) {
        if let Some(tap) = self.trace.as_deref_mut() {
            tap.closed_by_us();
        }
    }

    /// The client's address as `accept` gave it (`None`: over a Unix socket). Taken
    /// then, since a client that reset the connection can no longer be asked.
    pub(super) fn set_peer(&mut self, peer: Option<std::net::SocketAddr>) {
        self.peer = PeerAddr::accepted(peer);
    }

    /// The client, for log lines.
    pub(super) fn peer(&self) -> PeerAddr {
        self.peer
    }

    /// The peer shut down its side of TCP (EOF, or TLS close_notify).
    pub(super) fn peer_eof(&mut self) {
        if let Some(tap) = self.trace.as_deref_mut() {
            let clean = self.conn.status() != Status::Open;
            tap.note(Item::TcpClosedByPeer { clean });
        }
        self.transport_ended();
    }

    /// Registers WRITABLE only while output is pending.
    pub(super) fn update_interest(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        self.socket.update_interest(registry, token)
    }
}

// The TLS half of `Client` lives beside it, as a child so that the fields stay private.
#[path = "client_tls.rs"]
mod tls;
// And the HTTP/2 half.
#[path = "client_h2.rs"]
mod http2;
pub(super) use tls::{TlsBuffers, full_body};

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
