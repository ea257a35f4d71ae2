//! TLS clients for the integration tests: a wsecho started with a certificate the test
//! trusts (exactly that one: verification stays on), and rustls client streams on which
//! the frame helpers of the parent module work unchanged.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use super::{IO_TIMEOUT, Request, Server, read_response_head};

/// A TLS client stream over a blocking socket with the usual timeouts.
pub type TlsStream = StreamOwned<ClientConnection, TcpStream>;

/// A fresh path in the temp dir, unique to this process and call.
pub fn temp_path(name: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("wsecho-test-{}-{n}-{name}", std::process::id()))
}

/// A wsecho serving `wss://` with a self-signed certificate, and that certificate.
pub struct TlsServer {
    pub server: Server,
    pub cert: CertificateDer<'static>,
}

impl TlsServer {
    /// `wsecho --tls-self-signed --tls-write-cert TEMP ARGS...`
    pub fn start(args: &[&str]) -> TlsServer {
        TlsServer::start_command(|command| {
            command.args(args);
        })
    }

    /// Like [`TlsServer::start`], with the command adjusted (environment, say) first.
    pub fn start_command(adjust: impl FnOnce(&mut Command)) -> TlsServer {
        let path = temp_path("cert.pem");
        let path_arg = path.to_str().expect("UTF-8 temp path");
        let mut command = Server::command(
            "127.0.0.1",
            &["--tls-self-signed", "--tls-write-cert", path_arg],
        );
        adjust(&mut command);
        let server = Server::start_command(command);
        let cert = CertificateDer::from_pem_file(&path).expect("the written certificate");
        let _ = std::fs::remove_file(&path);
        TlsServer { server, cert }
    }

    /// A client configuration that trusts this server's certificate only.
    pub fn client_config(&self) -> Arc<ClientConfig> {
        client_config(std::slice::from_ref(&self.cert), None)
    }

    /// A TLS connection to the server, handshake done.
    pub fn connect(&self) -> TlsStream {
        connect(&self.server, self.client_config())
    }

    /// A TLS connection that has completed a valid upgrade (asserted).
    pub fn open(&self) -> TlsStream {
        let mut stream = self.connect();
        upgrade(&self.server, &mut stream);
        stream
    }
}

/// A client configuration trusting `roots`, with the default provider or `provider`.
pub fn client_config(
    roots: &[CertificateDer<'static>],
    provider: Option<CryptoProvider>,
) -> Arc<ClientConfig> {
    client_config_versions(roots, provider, rustls::DEFAULT_VERSIONS)
}

/// [`client_config`] offering only `versions`.
pub fn client_config_versions(
    roots: &[CertificateDer<'static>],
    provider: Option<CryptoProvider>,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<ClientConfig> {
    let mut store = RootCertStore::empty();
    for root in roots {
        store.add(root.clone()).expect("a usable trust anchor");
    }
    let provider = provider.unwrap_or_else(rustls::crypto::aws_lc_rs::default_provider);
    let mut config = ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)
        .expect("versions the provider supports")
        .with_root_certificates(store)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// A TLS client on a fresh socket to `server`, its handshake completed (asserted).
pub fn connect(server: &Server, config: Arc<ClientConfig>) -> TlsStream {
    let mut stream = try_connect(server, config).unwrap_or_else(|e| panic!("TLS handshake: {e}"));
    assert_eq!(
        stream.conn.alpn_protocol(),
        Some(&b"http/1.1"[..]),
        "ALPN must choose http/1.1"
    );
    stream.flush().expect("flush");
    stream
}

/// A TLS client whose handshake may fail: the error says why.
pub fn try_connect(server: &Server, config: Arc<ClientConfig>) -> std::io::Result<TlsStream> {
    let socket = server.connect();
    let name = ServerName::try_from("localhost").expect("name");
    let conn = ClientConnection::new(config, name).expect("client connection");
    let mut stream = StreamOwned::new(conn, socket);
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock)?;
    }
    Ok(stream)
}

/// Sends a valid upgrade request over `stream` and asserts the 101.
pub fn upgrade(server: &Server, stream: &mut TlsStream) {
    stream
        .write_all(&Request::upgrade(&server.host()).to_bytes())
        .expect("send the upgrade");
    let response = read_response_head(stream);
    assert_eq!(response.status, 101, "upgrade refused: {response:?}");
}

/// How the TLS session ended, read after everything else.
#[derive(Debug, PartialEq, Eq)]
pub enum TlsEnd {
    /// close_notify, then EOF.
    Clean,
    /// TCP closed without close_notify.
    Unclean,
    /// More bytes came.
    Data(Vec<u8>),
    /// Nothing within the read timeout.
    Silent,
}

/// Reads once more and says how the session ended.
pub fn read_end(stream: &mut TlsStream) -> TlsEnd {
    stream
        .sock
        .set_read_timeout(Some(IO_TIMEOUT))
        .expect("timeout");
    let mut buf = [0u8; 256];
    match stream.read(&mut buf) {
        Ok(0) => TlsEnd::Clean,
        Ok(n) => TlsEnd::Data(buf[..n].to_vec()),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => TlsEnd::Unclean,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            TlsEnd::Silent
        }
        Err(_) => TlsEnd::Unclean,
    }
}

/// The ciphertext of a ClientHello for this configuration, as a client's first flight.
pub fn client_hello(config: Arc<ClientConfig>) -> Vec<u8> {
    let name = ServerName::try_from("localhost").expect("name");
    let mut conn = ClientConnection::new(config, name).expect("client connection");
    let mut hello = Vec::new();
    conn.write_tls(&mut hello).expect("a vector takes it");
    hello
}
