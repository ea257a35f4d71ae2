//! One connection's TLS layer: ciphertext in, plaintext out, and back. No I/O.
//!
//! The driver keeps these rules:
//! - every read's ciphertext goes to [`TlsLayer::decrypt`], called again with the rest
//!   while it returns a full plaintext buffer, and each plaintext slice goes to the
//!   WebSocket core before the next call (rustls holds at most 16 KiB of plaintext);
//! - after feeding it, and after [`TlsLayer::encrypt`] or [`TlsLayer::close_notify`],
//!   [`TlsLayer::write_ciphertext`] drains what is to be sent into a sink that takes it
//!   all (the driver's socket, or its queue behind bytes the socket refused), so rustls
//!   itself never holds output and the driver's backpressure sees every byte;
//! - after an error, the alert rustls queued is written out and the socket dropped;
//! - after [`TlsLayer::close_notify`], no more ciphertext is fed in.

use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::sync::Arc;

use rustls::{ServerConfig, ServerConnection};

use super::hello::{Offer, read_offer};
use crate::escape::{Escaped, EscapedBytes};

/// The most of a client's first bytes kept, while its handshake runs, to describe its
/// offer should the handshake fail: a ClientHello with a post-quantum key share is about
/// 1.8 KiB.
const HELLO_KEPT: usize = 4 << 10;

/// A TLS server connection with what the driver needs around it.
pub struct TlsLayer {
    conn: ServerConnection,
    /// The client's first bytes, until its handshake completes.
    hello: Option<Vec<u8>>,
    close_notify_sent: bool,
}

/// What [`TlsLayer::decrypt`] produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decrypted {
    /// Plaintext bytes at the front of the buffer.
    pub len: usize,
    /// The client sent its close_notify: no more plaintext will come.
    pub closed: bool,
}

/// A TLS failure: the connection cannot go on.
#[derive(Debug)]
pub struct TlsError {
    /// What rustls found.
    pub error: rustls::Error,
    /// During the handshake: what the client offered, as far as its first bytes tell.
    pub offer: Option<Box<Offer>>,
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // rustls' words, which may quote what the client sent.
        write!(f, "TLS error: {}", Escaped(&self.error.to_string()))?;
        if let Some(offer) = &self.offer {
            write!(f, " ({offer})")?;
        }
        Ok(())
    }
}

impl TlsLayer {
    /// A connection about to receive its ClientHello.
    pub fn new(config: &Arc<ServerConfig>) -> Result<Self, rustls::Error> {
        let mut conn = ServerConnection::new(Arc::clone(config))?;
        // The driver drains ciphertext at once and bounds what waits for the socket
        // itself; plaintext written before the handshake completes must not be cut.
        conn.set_buffer_limit(None);
        Ok(TlsLayer {
            conn,
            hello: Some(Vec::new()),
            close_notify_sent: false,
        })
    }

    /// Feeds ciphertext from the front of `input` and decrypts into `plain` until
    /// `plain` is full (call again with the rest of `input`), `input` is used up, or the
    /// client's close_notify arrived.
    pub fn decrypt(&mut self, input: &mut &[u8], plain: &mut [u8]) -> Result<Decrypted, TlsError> {
        let mut len = 0;
        loop {
            if len == plain.len() {
                return Ok(Decrypted { len, closed: false });
            }
            match self.conn.reader().read(&mut plain[len..]) {
                Ok(0) => return Ok(Decrypted { len, closed: true }),
                Ok(n) => {
                    len += n;
                    continue;
                }
                // WouldBlock: nothing decrypted yet. (UnexpectedEof cannot come: the end
                // of `input` is never shown to rustls as the end of the stream.)
                Err(_) => {}
            }
            if input.is_empty() {
                return Ok(Decrypted { len, closed: false });
            }
            self.keep_hello(input);
            // An empty read would tell rustls the stream ended: `input` is not empty.
            if let Err(e) = self.conn.read_tls(input) {
                // Only its buffers' bounds fail a read: a record longer than TLS allows
                // is caught by the deframer before that, so this is a peer that sent
                // bytes rustls cannot take.
                return Err(self.error(rustls::Error::General(e.to_string())));
            }
            if let Err(e) = self.conn.process_new_packets() {
                return Err(self.error(e));
            }
            if !self.conn.is_handshaking() {
                self.hello = None;
            }
        }
    }

    /// Queues `plain` for the client, encrypted.
    pub fn encrypt(&mut self, plain: &[u8]) {
        if plain.is_empty() {
            return;
        }
        // Unbounded (see `new`): the writer takes everything.
        let _ = self.conn.writer().write_all(plain);
    }

    /// Queues our close_notify (once): no more application data will follow.
    pub fn close_notify(&mut self) {
        if !self.close_notify_sent {
            self.close_notify_sent = true;
            self.conn.send_close_notify();
        }
    }

    /// Whether our close_notify is queued: from then on rustls must not be fed (it
    /// would answer a bad record with a second alert, which it does not allow), so the
    /// driver discards what the client still sends.
    pub fn close_notify_sent(&self) -> bool {
        self.close_notify_sent
    }

    /// Writes what TLS has to send into `sink`, until it is drained or `sink` would
    /// block.
    pub fn write_ciphertext(&mut self, sink: &mut dyn Write) -> io::Result<()> {
        while self.conn.wants_write() {
            match self.conn.write_tls(sink) {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Whether the client chose HTTP/2 by ALPN.
    pub fn alpn_is_h2(&self) -> bool {
        self.conn.alpn_protocol() == Some(super::setup::ALPN_H2)
    }

    /// Whether the handshake is still running.
    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// What was agreed, for the log: version, cipher suite, ALPN protocol.
    pub fn negotiated(&self) -> String {
        let version = self
            .conn
            .protocol_version()
            .map_or_else(|| "?".to_string(), |v| format!("{v:?}"));
        let suite = self
            .conn
            .negotiated_cipher_suite()
            .map_or_else(|| "?".to_string(), |s| format!("{:?}", s.suite()));
        let alpn = self
            .conn
            .alpn_protocol()
            .map_or_else(|| "none".into(), |p| EscapedBytes(p).to_string());
        format!("{version} {suite}, ALPN {alpn}")
    }

    fn keep_hello(&mut self, input: &[u8]) {
        if let Some(kept) = &mut self.hello {
            let room = HELLO_KEPT - kept.len();
            kept.extend_from_slice(&input[..input.len().min(room)]);
        }
    }

    fn error(&mut self, error: rustls::Error) -> TlsError {
        let offer = self
            .hello
            .take()
            .and_then(|bytes| read_offer(&bytes))
            .map(Box::new);
        TlsError { error, offer }
    }
}
