//! A connection's byte stream, whatever carries it: the socket itself, a TLS session over
//! it, or one HTTP/2 stream over either. The load generator and the raw peer read and write
//! it like the socket.

use std::io::{self, Read, Write};

use mio::net::TcpStream;

use crate::h2::H2Io;
use crate::tls::TlsIo;

/// A connection's byte stream: the socket, a TLS session over it, or the one WebSocket
/// stream of an HTTP/2 connection over either.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsIo>),
    H2(Box<H2Io>),
}

impl Stream {
    /// The socket, for registration and socket options.
    pub fn tcp(&mut self) -> &mut TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(t) => &mut t.sock,
            Stream::H2(h) => h.tcp(),
        }
    }

    /// Ciphertext or HTTP/2 frames are waiting for the socket (never for a plain stream).
    pub fn has_pending(&self) -> bool {
        match self {
            Stream::Plain(_) => false,
            Stream::Tls(t) => t.has_pending(),
            Stream::H2(h) => h.has_pending(),
        }
    }

    /// Writes waiting ciphertext or frames, if any, until done or the socket is full.
    pub fn send_pending(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(_) => Ok(()),
            Stream::Tls(t) => t.send_pending(),
            Stream::H2(h) => h.send_pending(),
        }
    }

    /// Whether a short read says the socket is drained (for edge-triggered readiness): a
    /// short read of plaintext says nothing about the socket; HTTP/2 knows whether its own
    /// last socket read was short and all of it handled.
    pub fn short_read_drains(&self) -> bool {
        match self {
            Stream::Plain(_) => true,
            Stream::Tls(_) => false,
            Stream::H2(h) => h.drained(),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(t) => t.read(buf),
            Stream::H2(h) => h.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(t) => t.write(buf),
            Stream::H2(h) => h.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_pending()
    }
}
