//! One accepted socket: the protocol core plus the bytes waiting to be written.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::Instant;

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

use crate::connection::{Connection, Status};

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
    pub fn read(&mut self, buf: &mut [u8], high_water: usize, now: Instant) -> ReadOutcome {
        loop {
            if self.pending_out() > high_water {
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
