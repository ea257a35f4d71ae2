//! TLS for the harness: the load generator's client configuration, the peers' server
//! configuration (a self-signed certificate made at start), and [`TlsIo`], a
//! non-blocking TLS stream over a mio socket that the load generator and the raw peer
//! read and write like the socket itself.
//!
//! Reads are big socket reads (64 KiB) fed to rustls from a slice, as wsecho does, so
//! neither side pays for rustls' 4 KiB reads; writes are refused (`WouldBlock`) while
//! ciphertext of an earlier write is still waiting for the socket, which bounds it.

use std::io::{self, ErrorKind, Read, Write};
use std::sync::Arc;

use mio::net::TcpStream;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, aws_lc_rs};
use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, ServerConfig, SignatureScheme,
};

/// Ciphertext read from the socket at a time.
const CIPHER_BUF: usize = 64 << 10;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(aws_lc_rs::default_provider())
}

/// A server configuration with a certificate made now for localhost and 127.0.0.1,
/// TLS 1.2 and 1.3, ALPN http/1.1: what wsecho's `--tls-self-signed` serves.
pub fn server_config() -> Arc<ServerConfig> {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("a self-signed certificate");
    let key = PrivatePkcs8KeyDer::from(made.signing_key.serialize_der());
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![made.cert.der().clone()], key.into())
        .expect("certificate and key");
    config.alpn_protocols = vec![ALPN_HTTP1.to_vec()];
    Arc::new(config)
}

/// ALPN protocol names (RFC 7301; RFC 9113 §3.2 names HTTP/2 over TLS "h2").
pub const ALPN_HTTP1: &[u8] = b"http/1.1";
pub const ALPN_H2: &[u8] = b"h2";

/// The load generator's client configuration: TLS 1.3, ALPN `alpn` alone, and no
/// certificate verification (a benchmark client on loopback, against self-signed
/// certificates).
pub fn client_config(alpn: &[u8]) -> Arc<ClientConfig> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider())))
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    Arc::new(config)
}

/// Accepts any certificate (signatures are still checked, with the provider's algorithms).
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A TLS session over a non-blocking socket, read and written like the socket.
pub struct TlsIo {
    pub sock: TcpStream,
    conn: rustls::Connection,
    cipher: Box<[u8]>,
    /// `cipher[start..end]` is read from the socket but not yet given to rustls.
    start: usize,
    end: usize,
    eof: bool,
}

impl TlsIo {
    pub fn client(sock: TcpStream, config: Arc<ClientConfig>) -> io::Result<TlsIo> {
        let name = ServerName::try_from("localhost").map_err(io::Error::other)?;
        let conn = ClientConnection::new(config, name).map_err(io::Error::other)?;
        Ok(TlsIo::new(sock, conn.into()))
    }

    pub fn server(sock: TcpStream, config: &Arc<ServerConfig>) -> io::Result<TlsIo> {
        let conn = rustls::ServerConnection::new(Arc::clone(config)).map_err(io::Error::other)?;
        Ok(TlsIo::new(sock, conn.into()))
    }

    fn new(sock: TcpStream, mut conn: rustls::Connection) -> TlsIo {
        conn.set_buffer_limit(None);
        TlsIo {
            sock,
            conn,
            cipher: vec![0; CIPHER_BUF].into_boxed_slice(),
            start: 0,
            end: 0,
            eof: false,
        }
    }

    /// The protocol ALPN settled on, once the handshake got that far.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.conn.alpn_protocol()
    }

    /// Whether ciphertext is waiting for the socket.
    pub fn has_pending(&self) -> bool {
        self.conn.wants_write()
    }

    /// Writes waiting ciphertext until done or the socket is full.
    pub fn send_pending(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut self.sock) {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Gives rustls the next piece of buffered ciphertext, reading the socket when none
    /// is left; `WouldBlock` when the socket has nothing either.
    fn feed(&mut self) -> io::Result<()> {
        if self.start == self.end {
            let n = self.sock.read(&mut self.cipher)?;
            if n == 0 {
                self.eof = true;
                return Ok(());
            }
            self.start = 0;
            self.end = n;
        }
        let mut slice = &self.cipher[self.start..self.end];
        let before = slice.len();
        self.conn.read_tls(&mut slice)?;
        self.start += before - slice.len();
        self.conn
            .process_new_packets()
            .map_err(|e| io::Error::new(ErrorKind::InvalidData, e))?;
        // Handshake messages and alerts may be due.
        self.send_pending()
    }
}

impl Read for TlsIo {
    /// Plaintext, `Ok(0)` at the end (close_notify or EOF), `WouldBlock` when none is
    /// there yet.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.conn.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            if self.eof {
                return Ok(0);
            }
            self.feed()?;
        }
    }
}

impl Write for TlsIo {
    /// Takes all of `data` unless ciphertext of earlier writes is still waiting for the
    /// socket (`WouldBlock`: the writable edge resumes the caller).
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.send_pending()?;
        if self.conn.wants_write() {
            return Err(ErrorKind::WouldBlock.into());
        }
        let n = self.conn.writer().write(data)?;
        self.send_pending()?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_pending()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// Reads what `io` has, retrying `WouldBlock` until `want` bytes or a deadline.
    fn read_exactly(io: &mut TlsIo, peer: &mut TlsIo, want: usize) -> Vec<u8> {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while got.len() < want {
            assert!(
                Instant::now() < deadline,
                "only {} of {want} bytes",
                got.len()
            );
            // The peer may have handshake messages or ciphertext waiting.
            peer.send_pending().expect("peer sends");
            let mut none = [0u8; 64];
            match peer.read(&mut none) {
                Ok(0) | Err(_) => {}
                Ok(n) => panic!("{n} unexpected bytes at the peer"),
            }
            match io.read(&mut buf) {
                Ok(0) => panic!("end of stream after {} bytes", got.len()),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                Err(e) => panic!("read: {e}"),
            }
        }
        got
    }

    #[test]
    fn a_message_and_a_large_reply_cross_a_tls_session() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        client.set_nonblocking(true).unwrap();
        server.set_nonblocking(true).unwrap();
        let mut client =
            TlsIo::client(TcpStream::from_std(client), client_config(ALPN_HTTP1)).expect("client");
        let mut server =
            TlsIo::server(TcpStream::from_std(server), &server_config()).expect("server");
        // Written before the handshake: buffered, then sent once it completes.
        assert_eq!(client.write(b"hello").unwrap(), 5);
        assert_eq!(read_exactly(&mut server, &mut client, 5), b"hello");
        // A reply bigger than one socket buffer and one ciphertext read: written as the
        // socket takes it, refused while earlier ciphertext waits.
        let reply: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut sent = 0;
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buf = vec![0u8; 1 << 16];
        while got.len() < reply.len() {
            assert!(Instant::now() < deadline, "stalled at {} bytes", got.len());
            if sent < reply.len() {
                let end = (sent + 100_000).min(reply.len());
                match server.write(&reply[sent..end]) {
                    Ok(n) => sent += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => panic!("write: {e}"),
                }
            } else {
                server.send_pending().unwrap();
            }
            match client.read(&mut buf) {
                Ok(0) => panic!("end of stream"),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("read: {e}"),
            }
        }
        assert!(got == reply, "the reply arrived changed");
    }
}
