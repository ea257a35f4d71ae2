//! One connection's TLS layer: ciphertext in, plaintext out, and back. No I/O.
//!
//! The layer serves both roles: [`TlsLayer<ServerConnection>`] (the default, what every
//! `wss://` connection the server accepts has) and [`TlsLayer<ClientConnection>`] (an
//! outbound `wss://` connection). Everything after the construction is one generic code
//! over rustls' `ConnectionCommon`, monomorphic in each role: the server's layer is the
//! same type, of the same size, as before there was a client role.
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
use std::ops::DerefMut;
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, ConnectionCommon, ServerConfig, ServerConnection};

use super::hello::{Offer, read_offer};
use crate::escape::{Escaped, EscapedBytes};

/// The most of a client's first bytes kept, while its handshake runs, to describe its
/// offer should the handshake fail: a ClientHello with a post-quantum key share is about
/// 1.8 KiB.
const HELLO_KEPT: usize = 4 << 10;

/// A TLS connection with what the driver needs around it: a server's
/// (`ServerConnection`, the default) or an outbound client's (`ClientConnection`).
pub struct TlsLayer<C = ServerConnection> {
    conn: C,
    /// The client's first bytes, until its handshake completes (the server role only:
    /// always `None` for a client, whose own hello needs no describing).
    hello: Option<Vec<u8>>,
    close_notify_sent: bool,
}

/// What [`TlsLayer::decrypt`] produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decrypted {
    /// Plaintext bytes at the front of the buffer.
    pub len: usize,
    /// The peer sent its close_notify: no more plaintext will come.
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

impl TlsLayer<ServerConnection> {
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
}

impl TlsLayer<ClientConnection> {
    /// An outbound connection to `name`, its ClientHello queued (the first
    /// [`TlsLayer::write_ciphertext`] sends it).
    pub fn client(
        config: &Arc<ClientConfig>,
        name: ServerName<'static>,
    ) -> Result<Self, rustls::Error> {
        let mut conn = ClientConnection::new(Arc::clone(config), name)?;
        // As for the server: the upgrade request is written before the handshake is
        // done, and rustls keeps it until it can be sent.
        conn.set_buffer_limit(None);
        Ok(TlsLayer {
            conn,
            hello: None,
            close_notify_sent: false,
        })
    }
}

impl<C, D> TlsLayer<C>
where
    C: DerefMut<Target = ConnectionCommon<D>>,
{
    /// Feeds ciphertext from the front of `input` and decrypts into `plain` until
    /// `plain` is full (call again with the rest of `input`), `input` is used up, or the
    /// peer's close_notify arrived.
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

    /// Queues `plain` for the peer, encrypted.
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
    /// driver discards what the peer still sends.
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

    /// Whether HTTP/2 was chosen by ALPN (by the client, for the server role).
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

#[cfg(test)]
mod tests {
    use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};

    use super::super::setup::{ALPN_HTTP_1_1, client_config, server_config};
    use super::*;

    /// A server layer and a client layer that trusts its certificate.
    fn pair() -> (TlsLayer, TlsLayer<ClientConnection>) {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let cert: CertificateDer<'static> = made.cert.der().clone();
        let key = PrivatePkcs8KeyDer::from(made.signing_key.serialize_der());
        let server = server_config(vec![cert.clone()], key.into(), true).unwrap();
        let client = client_config([cert]).unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        (
            TlsLayer::new(&Arc::new(server)).unwrap(),
            TlsLayer::client(&Arc::new(client), name).unwrap(),
        )
    }

    /// Moves what `from` has to send into `to`: the plaintext `to` decrypted, and whether
    /// `from`'s close_notify arrived.
    fn carry<A, B, X, Y>(from: &mut TlsLayer<A>, to: &mut TlsLayer<B>) -> (Vec<u8>, bool)
    where
        A: DerefMut<Target = ConnectionCommon<X>>,
        B: DerefMut<Target = ConnectionCommon<Y>>,
    {
        let mut wire = Vec::new();
        from.write_ciphertext(&mut wire).unwrap();
        let mut input = &wire[..];
        let mut plain = Vec::new();
        let mut closed = false;
        loop {
            let mut buf = [0u8; 4096];
            let got = to.decrypt(&mut input, &mut buf).unwrap();
            plain.extend_from_slice(&buf[..got.len]);
            closed |= got.closed;
            if got.len < buf.len() || got.closed {
                return (plain, closed);
            }
        }
    }

    #[test]
    fn the_server_layer_is_as_large_as_before_the_client_role() {
        // 1200 bytes with rustls 0.23.46: its connection, the kept hello, the flag.
        assert_eq!(
            std::mem::size_of::<TlsLayer>(),
            std::mem::size_of::<ServerConnection>()
                + std::mem::size_of::<Option<Vec<u8>>>()
                + std::mem::size_of::<usize>()
        );
    }

    #[test]
    fn a_client_layer_and_a_server_layer_talk_and_say_goodbye() {
        let (mut server, mut client) = pair();
        // Written before the handshake: the upgrade request is, by the client role.
        client.encrypt(b"GET / HTTP/1.1\r\n\r\n");
        let mut heard = Vec::new();
        for _ in 0..4 {
            heard.extend(carry(&mut client, &mut server).0);
            carry(&mut server, &mut client);
        }
        assert!(!client.is_handshaking() && !server.is_handshaking());
        assert_eq!(heard, b"GET / HTTP/1.1\r\n\r\n");
        // The client offered http/1.1 only, though the server would rather speak h2.
        assert_eq!(client.conn.alpn_protocol(), Some(ALPN_HTTP_1_1));
        assert!(!client.alpn_is_h2() && !server.alpn_is_h2());
        server.encrypt(b"HTTP/1.1 101 Switching Protocols\r\n\r\n");
        server.close_notify();
        let (plain, closed) = carry(&mut server, &mut client);
        assert_eq!(plain, b"HTTP/1.1 101 Switching Protocols\r\n\r\n");
        assert!(closed, "the server's close_notify reaches the client");
    }

    #[test]
    fn a_client_refuses_a_certificate_it_does_not_trust() {
        let (mut server, _) = pair();
        let (_, mut stranger) = pair();
        carry(&mut stranger, &mut server);
        let mut wire = Vec::new();
        server.write_ciphertext(&mut wire).unwrap();
        let mut buf = [0u8; 64];
        let err = stranger.decrypt(&mut &wire[..], &mut buf).unwrap_err();
        assert!(
            matches!(err.error, rustls::Error::InvalidCertificate(_)),
            "{err}"
        );
        assert!(err.offer.is_none(), "a client keeps no hello to describe");
    }
}
