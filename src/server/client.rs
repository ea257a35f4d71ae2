//! One accepted socket: its stack of layers (see [`Stack`]) plus the bytes the socket has
//! not taken yet.
//!
//! Small echoes are rebuilt in place in the loop's receive buffer and written from there;
//! everything else is produced into one output buffer shared by the loop and written at
//! once. Only what the socket refuses is copied into the connection's own buffer, which
//! is freed again once drained. An idle connection therefore holds no buffers at all.
//!
//! Reading has one loop ([`Client::read`]), one budget, one rule for pausing
//! ([`Client::gate`]) and one test for a drained socket, whatever the stack. Only the
//! step after a read differs by layer: the plain path echoes in place
//! ([`Client::take_read`]); the others are in `client_tls.rs` and `client_h2.rs`.

use std::io;
use std::sync::Arc;
use std::time::Instant;

use mio::net::TcpStream;
use mio::{Registry, Token};

use super::socket::{Flag, Received, Socket};
use super::verdict::{Ended, H2Ended, PeerAddr, Stamp, Verdict};
use crate::config::Config;
use crate::connection::{Connection, Output, Status};
use crate::frame::CloseCode;
use crate::handshake::HttpStatus;
use crate::stack::{Stack, say_goodbye};
use crate::tls::TlsSetup;
use crate::trace::tap::Tap;
use crate::trace::{Item, Trace};

pub(super) struct Client {
    /// The socket and what it has not taken yet: the one way out.
    pub(super) socket: Socket,
    /// The layers between the socket and the core(s), chosen by the first byte.
    pub(super) stack: Stack,
    // The reader's yes/no state (paused, to EOF, yielded, queued) is in the socket's
    // flags byte (see `Flags`), and so is the peer's address: both fill what would be
    // padding there.
    /// The connection's number: the count of connections accepted when it came.
    id: u64,
    /// When it was accepted (see [`Stamp`]).
    started: Stamp,
    /// How it is ending, from its events (see [`Verdict`]).
    verdict: Option<Box<Verdict>>,
}

/// What reading uses of the loop's, one per loop: its buffers, the settings and TLS.
/// (Handed over as one pointer: the plain path loads only the first two.)
pub(super) struct Reading {
    /// The receive buffer (plaintext), shared by every connection of the loop.
    pub(super) buf: Vec<u8>,
    /// Output produced during one read, written at once; shared too.
    pub(super) out: Output,
    /// Ciphertext and flattening buffers, used by TLS only.
    pub(super) tls_bufs: TlsBuffers,
    pub(super) config: Arc<Config>,
    /// `wss://`, when configured.
    pub(super) setup: Option<TlsSetup>,
    /// The wire trace, when on.
    pub(super) trace: Option<Trace>,
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

/// Whether to read now: the one rule, said by [`Client::gate`].
enum Gate {
    Read,
    /// Output waits for the socket: reading resumes once it drained.
    Pause,
    /// Input is held for the next turn (the HTTP/2 backlog): the loop comes back.
    Yield,
    /// Nothing more is read (HTTP/2 connection ended).
    Stop,
}

impl Client {
    /// Connection number `id`, accepted at `started`, on the plain path from the start.
    #[cfg(test)]
    pub(super) fn new(stream: TcpStream, conn: Connection, accepted: (u64, Instant)) -> Self {
        Client::with_stack(stream, Stack::Plain(conn), accepted)
    }

    fn with_stack(stream: TcpStream, stack: Stack, (id, started): (u64, Instant)) -> Self {
        Client {
            socket: Socket::new(stream),
            stack,
            id,
            started: Stamp::of(started),
            verdict: None,
        }
    }

    /// A connection whose first byte will tell whether it speaks TLS (or, on a server
    /// without TLS, a TLS client that must be told where it is). `full`: the server was
    /// at its connection limit, so the client is to be refused with 503 (see
    /// [`Flag::Full`]).
    pub(super) fn sniffing(
        stream: TcpStream,
        conn: Connection,
        full: bool,
        accepted: (u64, Instant),
    ) -> Self {
        let mut client = Client::with_stack(stream, Stack::sniffing(conn), accepted);
        if full {
            client.socket.flags.set(Flag::Full);
        }
        client
    }

    /// The core of an HTTP/1.1 connection (tests look at it).
    #[cfg(test)]
    pub(super) fn core(&self) -> &Connection {
        self.stack.core().expect("an HTTP/1.1 connection")
    }

    /// The peer's FIN (or an error) is waiting behind its data: the next read must go on
    /// to EOF rather than stop at a short read, or no edge is left to report it.
    #[inline]
    pub(super) fn note_read_closed(&mut self) {
        self.socket.flags.set(Flag::ReadToEof);
    }

    /// Reading was paused by backpressure and may resume now.
    #[inline(always)]
    pub(super) fn may_resume(&self) -> bool {
        // Asked on every readiness event: the usual answer (not paused) inline.
        self.socket.flags.has(Flag::ReadPaused) && self.may_resume_now()
    }

    /// [`Client::may_resume`] for a paused reader: its output is back under the high
    /// water mark (and an HTTP/2 layer has room or held input).
    #[inline(never)]
    fn may_resume_now(&self) -> bool {
        let pending = self.socket.pending();
        match &self.stack {
            Stack::H2(l) => {
                !l.h2.over_high_water(pending) && (l.h2.wants_read() || l.h2.has_backlog())
            }
            stack => stack.core().is_some_and(|core| core.may_resume(pending)),
        }
    }

    /// Whether reading stopped at the per-event budget (or is to resume): the loop must
    /// drive this connection again on its next turn, since no new edge will come.
    #[inline]
    pub(super) fn has_yielded(&self) -> bool {
        self.socket.flags.has(Flag::ReadYielded)
    }

    /// Marks the connection to be driven again on the loop's next turn.
    #[inline]
    pub(super) fn yield_turn(&mut self) {
        self.socket.flags.set(Flag::ReadYielded);
    }

    /// Notes that the connection's key goes into the loop's list of those to drive
    /// again: `true` when it was not there yet (the caller pushes it), `false` when it
    /// is, so that a connection is driven at most once a turn from that list.
    #[inline]
    pub(super) fn enqueue(&mut self) -> bool {
        !self.socket.flags.replace(Flag::Queued)
    }

    /// The loop takes the connection's key out of its list: `true` when it is to be
    /// driven (it was queued, and still has reading to resume). A second entry for the
    /// key in the same list (a slot reused by a new connection) finds it dequeued.
    #[inline]
    pub(super) fn dequeue(&mut self) -> bool {
        let flags = &mut self.socket.flags;
        flags.take(Flag::Queued) && flags.take(Flag::ReadYielded)
    }

    /// The deadline last handed to the timer heap: an entry for another instant is
    /// stale.
    #[inline]
    pub(super) fn scheduled(&self) -> Option<Instant> {
        self.stack.scheduled()
    }

    /// The deadline to hand to the timer heap: `Some` when it moved to an instant since
    /// it was last handed over.
    #[inline]
    pub(super) fn take_moved_deadline(&mut self) -> Option<Instant> {
        self.stack.take_moved_deadline()
    }

    /// The connection's timer fired: its next deadline is to be scheduled, whatever it is.
    #[inline]
    pub(super) fn forget_scheduled(&mut self) {
        self.stack.forget_scheduled();
    }

    /// Cleartext HTTP/1.1 without a trace: the path most connections take.
    #[inline]
    pub(super) fn is_plain(&self) -> bool {
        matches!(self.stack, Stack::Plain(_))
    }

    /// Nothing to flush, log, reschedule or resume: the common state after echoing.
    #[inline]
    pub(super) fn is_settled(&self) -> bool {
        if !self.socket.is_clear()
            || self.socket.flags.has(Flag::WantsWritable)
            || self.socket.flags.has(Flag::ReadPaused)
        {
            return false;
        }
        match &self.stack {
            Stack::Plain(core) => core.is_settled(),
            stack => stack.core().is_some_and(Connection::is_settled),
        }
    }

    pub(super) fn pending_out(&self) -> usize {
        self.socket.pending()
    }

    /// Reads and processes until the socket is drained, a short read says it is, the
    /// connection is done, backpressure stops it or the per-event budget is spent.
    /// What one read produces is written before the next read.
    #[inline]
    pub(super) fn read(&mut self, reading: &mut Reading, now: Instant) -> ReadOutcome {
        if !self.is_plain() {
            return self.read_layered(reading, now);
        }
        // Usually one read does it (a short read drains the socket); the loop for more
        // is out of line so that this path stays straight.
        match self.read_plain(&mut reading.buf, &mut reading.out, now) {
            Step::More => self.read_more(reading, now, 1),
            Step::Stop(outcome) => outcome,
        }
    }

    /// [`Client::read`] for any stack but the plain one: an HTTP/2 layer's held input
    /// first, then the loop.
    #[inline(never)]
    fn read_layered(&mut self, reading: &mut Reading, now: Instant) -> ReadOutcome {
        let outcome = match self.new_turn(now) {
            Ok(()) => self.read_more(reading, now, 0),
            Err(e) => ReadOutcome::Error(e),
        };
        // A traced connection's lines go out with each read, settled or not.
        if let Some(trace) = &mut reading.trace {
            self.take_trace_lines(trace.sink.batch());
        }
        outcome
    }

    /// The read loop, `done` reads of the budget already spent.
    #[inline(never)]
    fn read_more(&mut self, reading: &mut Reading, now: Instant, done: usize) -> ReadOutcome {
        for _ in done..MAX_READS_PER_EVENT {
            let step = if self.is_plain() {
                self.read_plain(&mut reading.buf, &mut reading.out, now)
            } else {
                self.read_once_layered(reading, now)
            };
            if let Step::Stop(outcome) = step {
                return outcome;
            }
        }
        // A client that keeps the socket full must not hold the loop: the others, the
        // timers and the signals get their turn first.
        self.socket.flags.set(Flag::ReadYielded);
        ReadOutcome::Ok
    }

    /// One read of a plain connection and what it produced, written.
    #[inline(always)]
    fn read_plain(&mut self, buf: &mut [u8], out: &mut Output, now: Instant) -> Step {
        if !self.socket.is_clear() && self.backpressure(now) {
            self.socket.flags.set(Flag::ReadPaused);
            return Step::Stop(ReadOutcome::Ok);
        }
        self.socket.flags.clear(Flag::ReadPaused);
        match self.socket.read(buf) {
            Received::Data(n) => self.take_read(buf, n, out, now),
            Received::Eof => {
                self.stack.transport_ended();
                Step::Stop(ReadOutcome::Ok)
            }
            Received::Blocked => Step::Stop(ReadOutcome::Ok),
            Received::Failed(e) => Step::Stop(ReadOutcome::Error(e)),
        }
    }

    /// Processes and writes what one read of `n` bytes into `buf` brought, on the plain
    /// path.
    #[inline(always)]
    fn take_read(&mut self, buf: &mut [u8], n: usize, out: &mut Output, now: Instant) -> Step {
        let drained = self.drained(n, buf.len());
        let Client { socket, stack, .. } = self;
        let Stack::Plain(core) = stack else {
            return Step::Stop(ReadOutcome::Ok);
        };
        let input = &mut buf[..n];
        // The rule that keeps output in order: bytes go to the socket directly only while
        // nothing is queued; otherwise they queue behind what is.
        // `echo_in_place` then `handle_input_after` is `Connection::handle_input` split
        // in two, so that a read of small echoes only needs the first half.
        let run = core.echo_in_place(input, now);
        if run.taken == n && socket.is_clear() {
            // The common case: small echoes only, built in place; write them now.
            if let Err(e) = socket.send(&input[..run.echoed]) {
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
        core.handle_input_after(input, &run, now, out);
        if let Err(e) = self.write_output(out, input) {
            return Step::Stop(ReadOutcome::Error(e));
        }
        self.step_after(drained)
    }

    /// A read of `n` bytes into a buffer of `len` drained the socket: the next arrival
    /// raises a new edge. (Not when the peer's FIN waits behind the data: then only EOF
    /// says it is drained.)
    #[inline(always)]
    fn drained(&self, n: usize, len: usize) -> bool {
        n < len && !self.socket.flags.has(Flag::ReadToEof)
    }

    /// After a read: stop when it drained the socket (`drained`) or the connection is
    /// done reading, read again otherwise.
    #[inline(always)]
    fn step_after(&self, drained: bool) -> Step {
        if drained || self.done_reading() {
            Step::Stop(ReadOutcome::Ok)
        } else {
            Step::More
        }
    }

    /// Whether the connection reads no more in this turn: its core is finishing or done,
    /// or its HTTP/2 layer has ended.
    #[inline]
    fn done_reading(&self) -> bool {
        match &self.stack {
            Stack::H2(l) => l.h2.status() != Status::Open,
            stack => matches!(
                stack.status(),
                Status::Finishing | Status::Done | Status::Reset
            ),
        }
    }

    /// One read of a layered connection (sniffing, TLS, traced, HTTP/2) and what it
    /// produced, written.
    #[inline(never)]
    fn read_once_layered(&mut self, reading: &mut Reading, now: Instant) -> Step {
        if let Some(stop) = self.held(now) {
            return stop;
        }
        // TLS bytes are read into the ciphertext buffer; a first byte too, with TLS set
        // up (a cleartext client's bytes are then copied once).
        let ciphertext = match &self.stack {
            Stack::Sniffing(_) => reading.setup.is_some() && !reading.tls_bufs.cipher.is_empty(),
            stack => stack.tls().is_some(),
        };
        let target: &mut [u8] = if ciphertext {
            &mut reading.tls_bufs.cipher
        } else {
            &mut reading.buf
        };
        let n = match self.socket.read(target) {
            Received::Data(n) => n,
            Received::Eof => {
                return Step::Stop(match self.layered_eof() {
                    Ok(()) => ReadOutcome::Ok,
                    Err(e) => ReadOutcome::Error(e),
                });
            }
            Received::Blocked => return Step::Stop(ReadOutcome::Ok),
            Received::Failed(e) => return Step::Stop(ReadOutcome::Error(e)),
        };
        let drained = self.drained(n, target.len());
        let taken = match &self.stack {
            Stack::Sniffing(_) => self.sniffed(n, reading, now),
            Stack::H1(l) if l.tls.is_none() => self.traced_input(n, reading, now),
            Stack::H1(_) => self.tls_input(n, reading, now),
            Stack::H2(l) if l.tls.is_none() => {
                if let Stack::H2(l) = &mut self.stack {
                    l.h2.handle_input(&reading.buf[..n], now);
                }
                Ok(())
            }
            Stack::H2(_) => self.tls_input(n, reading, now),
            Stack::Plain(_) | Stack::Gone => Ok(()),
        };
        // What the HTTP/2 layer has to send now: the input may also have made the stack
        // HTTP/2 (the first byte, or the end of a TLS handshake that chose `h2`).
        let taken = taken.and_then(|()| self.h2_pump().map_err(ReadOutcome::Error));
        match taken {
            // An HTTP/2 layer may hold input now, or have no room: said before the next
            // read, or no edge may come to resume it.
            Ok(()) if matches!(self.stack, Stack::H2(_)) => match self.held(now) {
                Some(stop) => stop,
                None => self.step_after(drained),
            },
            Ok(()) => self.step_after(drained),
            Err(outcome) => Step::Stop(outcome),
        }
    }

    /// What [`Client::gate`] says, noted: `None` to read; otherwise reading stops, paused
    /// (resumed once output drained) or yielded (driven again next turn).
    fn held(&mut self, now: Instant) -> Option<Step> {
        match self.gate(now) {
            Gate::Read => {
                self.socket.flags.clear(Flag::ReadPaused);
                return None;
            }
            Gate::Pause => self.socket.flags.set(Flag::ReadPaused),
            Gate::Yield => self.socket.flags.set(Flag::ReadYielded),
            Gate::Stop => {}
        }
        Some(Step::Stop(ReadOutcome::Ok))
    }

    /// Whether to read now, the same rule for every stack: output over the high water
    /// mark pauses (an HTTP/1.1 core may close with 1008 past `--max-backpressure`);
    /// an HTTP/2 layer also pauses without room for more, yields while it holds input,
    /// and stops once ended (over cleartext: over TLS it reads on for the close_notify).
    fn gate(&mut self, now: Instant) -> Gate {
        let pending = self.socket.pending();
        match &self.stack {
            Stack::H2(l) => {
                let open = l.h2.status() == Status::Open;
                if !open && l.tls.is_none() {
                    Gate::Stop
                } else if l.h2.has_backlog() {
                    Gate::Yield
                } else if (open && !l.h2.wants_read()) || l.h2.over_high_water(pending) {
                    Gate::Pause
                } else {
                    Gate::Read
                }
            }
            Stack::Sniffing(_) => Gate::Read,
            Stack::Gone => Gate::Stop,
            Stack::Plain(_) | Stack::H1(_) => {
                if pending > 0 && self.backpressure(now) {
                    Gate::Pause
                } else {
                    Gate::Read
                }
            }
        }
    }

    /// With output pending: whether reading must pause, as the core decides
    /// ([`Connection::may_read`]; a 1008 it sends on the way is queued like any output).
    #[cold]
    #[inline(never)]
    fn backpressure(&mut self, now: Instant) -> bool {
        let pending = self.socket.pending();
        let Some(core) = self.stack.core_mut() else {
            return false;
        };
        // Only a 1008 writes anything: the queue is not touched (nor compacted) for a
        // check that merely pauses, and an empty Vec allocates nothing.
        let mut close = Vec::new();
        let may_read = core.may_read(pending, now, &mut close);
        if !close.is_empty() {
            self.produce(|_, out| out.extend_from_slice(&close));
        }
        !may_read
    }

    /// The peer closed TCP on a layered connection.
    fn layered_eof(&mut self) -> io::Result<()> {
        let tls = self.stack.tls().is_some();
        if tls {
            log::debug!(
                "{}: TCP closed by client without a TLS close_notify",
                self.socket.peer
            );
        }
        self.peer_eof();
        match &mut self.stack {
            // A half-closed client still reads: what is queued for it goes out before
            // the socket closes, and our close_notify after it.
            Stack::H1(l) => {
                if let Some(tls) = l.tls.as_mut() {
                    say_goodbye(&l.core, tls);
                    tls.write_ciphertext(&mut self.socket)?;
                }
                Ok(())
            }
            Stack::H2(l) => match l.tls.as_mut() {
                Some(tls) => tls.write_ciphertext(&mut self.socket),
                None => self.h2_pump(),
            },
            Stack::Plain(_) | Stack::Sniffing(_) | Stack::Gone => Ok(()),
        }
    }

    /// Writes what one input produced (`out`, which refers into `input`): now, keeping
    /// what the socket refuses, or behind output already queued.
    #[inline(always)]
    fn write_output(&mut self, out: &Output, input: &[u8]) -> io::Result<()> {
        if !self.socket.is_clear() {
            // Output is already queued: append behind it, in order.
            out.flatten_into(input, self.socket.queue());
            return Ok(());
        }
        // Write it now; keep only what the socket refuses.
        match out.contiguous(input) {
            // Nothing to send (input discarded while closing, say): no call.
            Some([]) => Ok(()),
            Some(data) if matches!(self.stack.status(), Status::Closing | Status::Finishing) => {
                self.send_last(data)
            }
            Some(data) => self.socket.send(data),
            None => self.socket.send_vectored(out, input),
        }
    }

    /// Writes our last bytes (a close frame, an HTTP error) with nothing queued, so that
    /// the FIN leaves with them: at once from a half-close when closing, or from closing
    /// the socket, which the loop does next, when finishing. What the socket does not
    /// take is queued; `flush` half-closes later.
    #[cold]
    #[inline(never)]
    fn send_last(&mut self, data: &[u8]) -> io::Result<()> {
        if self.socket.send_last(data)? && self.stack.status() == Status::Closing {
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
        if self.pending_out() < before
            && let Some(core) = self.stack.core_mut()
        {
            core.handle_output_taken(now);
        }
        Ok(())
    }

    /// Whether an HTTP/1.1 core is closing (its close sent, the peer's awaited).
    fn closing(&self) -> bool {
        self.stack
            .core()
            .is_some_and(|core| core.status() == Status::Closing)
    }

    /// Writes pending output until done or the socket is full; half-closes once a
    /// closing connection has sent everything.
    #[inline]
    pub(super) fn flush(&mut self) -> io::Result<()> {
        // The usual case, kept cheap: nothing queued and no half-close due.
        if self.socket.is_clear() && (self.socket.write_shut() || !self.closing()) {
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
            if let Stack::H2(_) = self.stack {
                // The HTTP/2 layer keeps what did not fit: its turn now.
                return self.h2_pump();
            }
            if let Some(core) = self.stack.core_mut() {
                core.handle_output_drained();
            }
        }
        // Over TLS, the FIN follows the close_notify (which waits while we read on).
        let goodbye_said = self.stack.tls().is_none_or(|tls| tls.close_notify_sent());
        if self.closing() && !self.socket.write_shut() && goodbye_said {
            self.socket.shut_write();
        }
        Ok(())
    }

    /// Whether the socket should be closed now. A finishing one has written its last
    /// bytes; what the peer sent after its close is discarded first.
    pub(super) fn finished(&mut self, buf: &mut [u8]) -> bool {
        match self.stack.status() {
            Status::Done => true,
            Status::Finishing if self.pending_out() == 0 => {
                self.discard_unread(buf);
                true
            }
            Status::Reset
                if self.pending_out() == 0
                    && (self.unacknowledged() == 0
                        || self
                            .stack
                            .core()
                            .is_some_and(|core| core.reset_overdue(Instant::now()))) =>
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
                self.socket.peer,
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
        if let Stack::H2(_) = self.stack {
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
        if let Stack::H2(_) = self.stack {
            return self.h2_call(|h2| h2.close(code, reason, now));
        }
        self.produce(|conn, out| conn.close(code, reason, now, out));
    }

    /// Runs a call into an HTTP/1.1 core that produces output outside a read (a timer, a
    /// close of our own, a refusal) and queues what it wrote: as it is over TCP,
    /// encrypted over TLS. The loop's `flush` writes it.
    fn produce(&mut self, call: impl FnOnce(&mut Connection, &mut Vec<u8>)) {
        let (core, tls, tap) = match &mut self.stack {
            Stack::Plain(core) => (core, None, None),
            Stack::Sniffing(s) => (&mut s.core, None, s.tap.as_deref_mut()),
            Stack::H1(l) => (&mut l.core, l.tls.as_mut(), l.tap.as_deref_mut()),
            Stack::H2(_) | Stack::Gone => return,
        };
        match tls {
            None => {
                let queue = self.socket.queue();
                let before = queue.len();
                call(core, queue);
                if let Some(tap) = tap {
                    tap.tx(&queue[before..]);
                }
            }
            Some(tls) => {
                let mut plain = Vec::new();
                call(core, &mut plain);
                if let Some(tap) = tap {
                    tap.tx(&plain);
                }
                tls.encrypt(&plain);
                say_goodbye(core, tls);
                // Writing into a vector cannot fail.
                let _ = tls.write_ciphertext(self.socket.queue());
            }
        }
    }

    /// Whether the connection speaks TLS.
    pub(super) fn is_tls(&self) -> bool {
        self.stack.tls().is_some()
    }

    /// Whether the connection speaks HTTP/2.
    pub(super) fn is_h2(&self) -> bool {
        matches!(self.stack, Stack::H2(_))
    }

    /// Answers a `GET /metrics` with `body`.
    pub(super) fn answer_metrics(&mut self, body: String, now: Instant) {
        if let Stack::H2(_) = self.stack {
            return self.h2_call(|h2| h2.answer_metrics(&body, now));
        }
        self.produce(|conn, out| conn.answer_metrics(body, now, out));
    }

    /// Traces this connection from now on.
    pub(super) fn set_trace(&mut self, tap: Box<Tap>) {
        self.stack.set_tap(tap);
    }

    /// Takes note of a core event: for the connection's last log line, and in the
    /// trace, if traced.
    /// `on`: the HTTP/2 stream it came from.
    pub(super) fn note_event(&mut self, on: Option<u32>, event: &crate::connection::Event) {
        Verdict::record(&mut self.verdict, on, event);
        // An HTTP/2 stream's events are in that stream's trace already.
        if !self.is_h2()
            && let Some(tap) = self.stack.tap_mut()
        {
            tap.event(event);
        }
    }

    /// Takes note of a failed socket call.
    pub(super) fn note_socket_failure(&mut self, what: String) {
        if let Some(tap) = self.stack.tap_mut() {
            tap.note(Item::TcpError(what.clone()));
        }
        Verdict::socket_failed(&mut self.verdict, what);
    }

    /// The line the log gets when the connection ends.
    pub(super) fn ended(&self, now: Instant) -> Ended<'_> {
        Ended {
            id: self.id,
            peer: self.socket.peer,
            lasted: self.started.until(now),
            counts: self.stack.counts(),
            verdict: self.verdict.as_deref(),
            h2: match &self.stack {
                Stack::H2(l) => Some(H2Ended {
                    streams: l.h2.requests(),
                    websockets: l.h2.websockets(),
                    ending: l.h2.ending(),
                }),
                _ => None,
            },
        }
    }

    /// Moves the trace's new lines to `into`. A connection whose request did not ask to
    /// be traced loses its tap here, and a cleartext one goes back to the plain path.
    pub(super) fn take_trace_lines(&mut self, into: &mut String) {
        let Some(tap) = self.stack.tap_mut() else {
            return;
        };
        tap.take_lines(into);
        let unwanted = tap.unwanted();
        if let Stack::H2(l) = &mut self.stack {
            l.h2.take_trace_lines(into);
        }
        if unwanted {
            self.stack.drop_tap();
        }
    }

    /// Shows in the trace that wsecho closes the socket, if traced.
    pub(super) fn trace_closed_by_us(&mut self) {
        if let Some(tap) = self.stack.tap_mut() {
            tap.closed_by_us();
        }
    }

    /// The client's address as `accept` gave it (`None`: over a Unix socket). Taken
    /// then, since a client that reset the connection can no longer be asked.
    pub(super) fn set_peer(&mut self, peer: Option<std::net::SocketAddr>) {
        self.socket.peer = PeerAddr::accepted(peer);
    }

    /// The client, for log lines.
    pub(super) fn peer(&self) -> PeerAddr {
        self.socket.peer
    }

    /// The peer shut down its side of TCP (EOF, or TLS close_notify).
    pub(super) fn peer_eof(&mut self) {
        // Clean: after the WebSocket's close (an HTTP/2 connection's streams each say
        // their own).
        let clean = self
            .stack
            .core()
            .is_some_and(|core| core.status() != Status::Open);
        if let Some(tap) = self.stack.tap_mut() {
            tap.note(Item::TcpClosedByPeer { clean });
        }
        self.transport_ended();
    }

    /// The socket failed or the peer went: the core (or every stream's) sees the end.
    pub(super) fn transport_ended(&mut self) {
        self.stack.transport_ended();
    }

    /// The next core event, with the HTTP/2 stream it happened on.
    pub(super) fn poll_event(&mut self) -> Option<(Option<u32>, crate::connection::Event)> {
        self.stack.poll_event()
    }

    /// The work done on the connection, every stream's for HTTP/2.
    pub(super) fn counts(&self) -> crate::connection::Counts {
        self.stack.counts()
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
