//! A connection's byte stream, whatever carries it: the socket itself or a TLS session over
//! it. The load generator and the raw peer read and write it like the socket.

use std::io::{self, Read, Write};

use mio::net::TcpStream;

use crate::tls::TlsIo;

/// A connection's byte stream: the socket, or a TLS session over it.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsIo>),
}

impl Stream {
    /// The socket, for registration and socket options.
    pub fn tcp(&mut self) -> &mut TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(t) => &mut t.sock,
        }
    }

    /// Ciphertext is waiting for the socket (never for a plain stream).
    pub fn has_pending(&self) -> bool {
        matches!(self, Stream::Tls(t) if t.has_pending())
    }

    /// Writes waiting ciphertext, if any, until done or the socket is full.
    pub fn send_pending(&mut self) -> io::Result<()> {
        match self {
            Stream::Plain(_) => Ok(()),
            Stream::Tls(t) => t.send_pending(),
        }
    }

    /// Whether a short read says the socket is drained (for edge-triggered readiness): a
    /// short read of plaintext says nothing about the socket behind it.
    pub fn short_read_drains(&self) -> bool {
        matches!(self, Stream::Plain(_))
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.read(buf),
            Stream::Tls(t) => t.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write(buf),
            Stream::Tls(t) => t.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_pending()
    }
}
