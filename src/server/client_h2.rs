//! The HTTP/2 half of [`Client`]: a connection that spoke the HTTP/2 preface (h2c with
//! prior knowledge) or chose `h2` by ALPN over TLS. Its bytes go to the HTTP/2 layer
//! ([`H2Connection`]), which runs a WebSocket core per stream; what the layer has to
//! send is pulled from it a chunk at a time, and only while the socket takes it, so that
//! the layer's flow control, not this queue, is where a slow reader's data waits.

use std::io;

use mio::net::TcpStream;
use std::sync::Arc;
use std::time::Instant;

use super::{Client, MAX_READS_PER_EVENT, ReadOutcome};
use crate::config::Config;
use crate::connection::{Counts, Event, Status};
use crate::frame::CloseCode;
use crate::h2::session::Sink;
use crate::h2::spare;
use crate::handshake::HttpStatus;
use crate::server::socket::{Frames, Received};
use crate::stack::h2::H2Connection;
use crate::trace::Item;
use crate::trace::tap::Tap;

/// The HTTP/2 layer of a connection whose client spoke the preface (h2c) or chose `h2`
/// by ALPN (`tls`): told the client's address for `?headers`, answering every stream
/// with `refuse` (the server was full), and tracing each stream when the connection is
/// traced (its own trace says that HTTP/2 was chosen).
pub(in crate::server) fn h2_layer(
    config: &Arc<Config>,
    stream: &TcpStream,
    refuse: Option<(HttpStatus, String)>,
    trace: Option<&mut Tap>,
    tls: bool,
    now: Instant,
) -> Box<H2Connection> {
    let mut h2 = H2Connection::new(Arc::clone(config), now);
    if let Ok(peer) = stream.peer_addr() {
        h2.set_peer(peer);
    }
    if let Some((status, body)) = refuse {
        h2.refuse_all(status, body);
    }
    if let Some(tap) = trace {
        tap.note(Item::Http2 { tls });
        h2.set_trace(tap);
    }
    Box::new(h2)
}

/// The most bytes taken from the HTTP/2 layer at a time.
const CHUNK: usize = 256 << 10;

impl Client {
    /// Makes this connection an HTTP/2 one; `refuse` answers every stream with that
    /// status and body (the server is full, say).
    pub(in crate::server) fn start_h2(
        &mut self,
        config: &Arc<Config>,
        refuse: Option<(HttpStatus, String)>,
        now: Instant,
    ) {
        let trace = self.trace.as_deref_mut();
        let h2 = h2_layer(config, &self.socket.stream, refuse, trace, false, now);
        self.h2 = Some(h2);
        self.layered = true;
    }

    /// Whether the connection speaks HTTP/2.
    pub(in crate::server) fn is_h2(&self) -> bool {
        self.h2.is_some()
    }

    /// Reads an HTTP/2 cleartext connection until the socket is drained, the
    /// connection ends, backpressure stops it or the per-event budget is spent (the
    /// reads', or the layer's per turn).
    pub(in crate::server) fn read_h2(&mut self, buf: &mut [u8], now: Instant) -> ReadOutcome {
        if let Err(e) = self.h2_turn(now) {
            return ReadOutcome::Error(e);
        }
        for _ in 0..MAX_READS_PER_EVENT {
            let Some(h2) = self.h2.as_deref() else {
                return ReadOutcome::Ok;
            };
            if h2.status() != Status::Open || self.h2_holds_reads() {
                return ReadOutcome::Ok;
            }
            if !self.conn.may_resume(self.pending_out()) {
                self.read_paused = true;
                return ReadOutcome::Ok;
            }
            self.read_paused = false;
            match self.socket.read(buf) {
                Received::Eof => {
                    self.peer_eof();
                    return self.pump_outcome();
                }
                Received::Data(n) => {
                    let drained = n < buf.len() && !self.read_to_eof;
                    self.h2_input(&buf[..n], now);
                    if let Err(e) = self.h2_pump() {
                        return ReadOutcome::Error(e);
                    }
                    if self.h2_holds_reads() || drained {
                        return ReadOutcome::Ok;
                    }
                }
                Received::Blocked => return ReadOutcome::Ok,
                Received::Failed(e) => return ReadOutcome::Error(e),
            }
        }
        self.read_yielded = true;
        ReadOutcome::Ok
    }

    fn pump_outcome(&mut self) -> ReadOutcome {
        match self.h2_pump() {
            Ok(()) => ReadOutcome::Ok,
            Err(e) => ReadOutcome::Error(e),
        }
    }

    /// A new turn of the loop for the HTTP/2 layer (see [`H2Connection::new_turn`]):
    /// the input it held is processed and what that wrote is sent.
    pub(in crate::server) fn h2_turn(&mut self, now: Instant) -> io::Result<()> {
        let held = self.h2.as_deref_mut().is_some_and(|h2| h2.new_turn(now));
        if held { self.h2_pump() } else { Ok(()) }
    }

    /// Whether the HTTP/2 layer must not be read now: it holds input for the next turn
    /// (the loop drives the connection again then, as no new edge may come), or has no
    /// room (its answers wait for the socket: resumed once they went out).
    pub(in crate::server) fn h2_holds_reads(&mut self) -> bool {
        let Some(h2) = self.h2.as_deref() else {
            return false;
        };
        if h2.has_backlog() {
            self.read_yielded = true;
            return true;
        }
        if h2.status() == Status::Open && !h2.wants_read() {
            self.read_paused = true;
            return true;
        }
        false
    }

    /// Plaintext for the HTTP/2 layer (read from the socket, or decrypted).
    pub(in crate::server) fn h2_input(&mut self, input: &[u8], now: Instant) {
        if let Some(h2) = self.h2.as_deref_mut() {
            h2.handle_input(input, now);
        }
    }

    /// Writes what the HTTP/2 layer has to send while the socket takes it (through TLS
    /// when the connection has it); the rest stays in the layer until the socket's queue
    /// drained. Over TLS, the close_notify follows the layer's last bytes.
    pub(in crate::server) fn h2_pump(&mut self) -> io::Result<()> {
        let Client {
            socket, tls, h2, ..
        } = self;
        let Some(h2) = h2.as_deref_mut() else {
            return Ok(());
        };
        match tls.as_deref_mut() {
            // Cleartext: DATA goes from the streams' queues into `writev` as it lies.
            None => {
                let mut frames = Frames {
                    socket,
                    error: None,
                };
                while !frames.blocked() && h2.write_to(&mut frames, CHUNK) > 0 {}
                if let Some(e) = frames.error {
                    return Err(e);
                }
            }
            // TLS: gathered into one buffer first, so that it becomes full records
            // (rustls makes a record of each write).
            Some(tls) => {
                let mut chunk = spare::take();
                while socket.is_clear() {
                    chunk.clear();
                    h2.write_output(&mut chunk, CHUNK);
                    if chunk.is_empty() {
                        break;
                    }
                    tls.encrypt(&chunk);
                    tls.write_ciphertext(socket)?;
                }
                spare::give(chunk);
            }
        }
        if let Some(tls) = tls.as_deref_mut()
            && h2.status() != Status::Open
            && !h2.has_output()
        {
            tls.close_notify();
            tls.write_ciphertext(socket)?;
        }
        Ok(())
    }

    /// The next core event, with the HTTP/2 stream it happened on.
    pub(in crate::server) fn poll_event(&mut self) -> Option<(Option<u32>, Event)> {
        match self.h2.as_deref_mut() {
            None => self.conn.poll_event().map(|e| (None, e)),
            Some(h2) => h2.poll_event().map(|(id, e)| (Some(id), e)),
        }
    }

    /// When the connection's timer should fire.
    pub(in crate::server) fn deadline(&self) -> Option<Instant> {
        match self.h2.as_deref() {
            None => self.conn.deadline(),
            Some(h2) => h2.deadline(),
        }
    }

    /// The work done on the connection, every stream's for HTTP/2.
    pub(in crate::server) fn counts(&self) -> Counts {
        match self.h2.as_deref() {
            None => self.conn.counts(),
            Some(h2) => h2.counts(),
        }
    }

    /// The socket failed or the peer went: the core (or every stream's) sees the end.
    pub(in crate::server) fn transport_ended(&mut self) {
        match self.h2.as_deref_mut() {
            None => self.conn.handle_eof(),
            Some(h2) => h2.handle_eof(),
        }
    }

    /// [`Client::handle_timeout`], [`Client::close`] and [`Client::answer_metrics`]
    /// for HTTP/2: the layer acts, and what it wrote is sent.
    pub(in crate::server) fn h2_call(&mut self, call: impl FnOnce(&mut H2Connection)) {
        if let Some(h2) = self.h2.as_deref_mut() {
            call(h2);
            if let Err(e) = self.h2_pump() {
                log::debug!("{}: write failed: {e}", self.peer);
                self.transport_ended();
            }
        }
    }

    /// An HTTP/2 connection's status, for the socket's end.
    pub(in crate::server) fn h2_status(&self) -> Option<Status> {
        self.h2.as_deref().map(H2Connection::status)
    }

    /// Starts the close of every WebSocket with `code` (a shutdown).
    pub(in crate::server) fn h2_close(&mut self, code: CloseCode, reason: &str, now: Instant) {
        self.h2_call(|h2| h2.close(code, reason, now));
    }
}
