//! One accepted socket: the protocol core plus the bytes waiting to be written.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::Instant;

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

use crate::config::Config;
use crate::connection::{Connection, Status};
use crate::frame::close_code;

/// Output capacity kept after a flush; larger buffers are freed so that idle
/// connections stay small.
const KEEP_OUT_CAPACITY: usize = 16 << 10;

pub struct Client {
    pub stream: TcpStream,
    pub peer: SocketAddr,
    pub conn: Connection,
    /// Bytes queued for the socket; `out[written..]` is still pending.
    out: Vec<u8>,
    written: usize,
    /// WRITABLE interest is registered only while output is pending.
    wants_writable: bool,
    write_shut: bool,
    /// Reading stopped because too much output is pending (backpressure).
    pub read_paused: bool,
    /// The deadline last handed to the timer heap.
    pub scheduled: Option<Instant>,
}

/// What reading found.
pub enum ReadOutcome {
    /// Keep the connection.
    Ok,
    /// A socket error: drop it.
    Error(io::Error),
}

impl Client {
    pub fn new(stream: TcpStream, peer: SocketAddr, conn: Connection) -> Self {
        Client {
            stream,
            peer,
            conn,
            out: Vec::new(),
            written: 0,
            wants_writable: false,
            write_shut: false,
            read_paused: false,
            scheduled: None,
        }
    }

    pub fn pending_out(&self) -> usize {
        self.out.len() - self.written
    }

    /// Reads and processes until the socket is drained, a short read says it is, the
    /// connection is done, or backpressure stops us.
    pub fn read(&mut self, buf: &mut [u8], config: &Config, now: Instant) -> ReadOutcome {
        loop {
            if self.pending_out() > config.max_backpressure {
                // A safety net: reading pauses at the high-water mark, so only output that
                // one read multiplied (e.g. inflated) gets here.
                let reason = format!(
                    "client is not reading: {} bytes of echoes pending",
                    self.pending_out()
                );
                self.conn
                    .close(close_code::POLICY_VIOLATION, &reason, now, &mut self.out);
            }
            if self.pending_out() > config.write_high_water {
                self.read_paused = true;
                return ReadOutcome::Ok;
            }
            self.read_paused = false;
            match self.stream.read(buf) {
                Ok(0) => {
                    self.conn.handle_eof();
                    return ReadOutcome::Ok;
                }
                Ok(n) => {
                    self.conn.handle_input(&mut buf[..n], now, &mut self.out);
                    // A short read drained the socket: the next arrival raises a new edge.
                    if n < buf.len() || self.conn.status() == Status::Done {
                        return ReadOutcome::Ok;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return ReadOutcome::Ok,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return ReadOutcome::Error(e),
            }
        }
    }

    /// Writes pending output until done or the socket is full; half-closes once a
    /// closing connection has sent everything.
    pub fn flush(&mut self) -> io::Result<()> {
        while self.written < self.out.len() {
            match self.stream.write(&self.out[self.written..]) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        if self.written == self.out.len() {
            self.out.clear();
            self.written = 0;
            if self.out.capacity() > KEEP_OUT_CAPACITY {
                self.out = Vec::new();
            }
            if self.conn.status() == Status::Closing && !self.write_shut {
                // The server closes TCP first (RFC 6455 §7.1.1): FIN after our last bytes,
                // then read until the peer closes so that unread input cannot turn our
                // close into a reset.
                self.write_shut = true;
                let _ = self.stream.shutdown(Shutdown::Write);
            }
        }
        Ok(())
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.conn.handle_timeout(now, &mut self.out);
    }

    /// Answers the handshake with an HTTP error and closes.
    pub fn reject(&mut self, status: u16, body: &str, now: Instant) {
        self.conn.reject(status, body, now, &mut self.out);
    }

    /// Starts a server-side close handshake.
    pub fn close(&mut self, code: u16, reason: &str, now: Instant) {
        self.conn.close(code, reason, now, &mut self.out);
    }

    /// Registers WRITABLE only while output is pending.
    pub fn update_interest(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        let want = self.pending_out() > 0;
        if want != self.wants_writable {
            self.wants_writable = want;
            let interest = if want {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            registry.reregister(&mut self.stream, token, interest)?;
        }
        Ok(())
    }
}
