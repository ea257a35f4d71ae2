//! An HTTP/2 client for WebSockets over extended CONNECT (RFC 8441), with a blocking
//! API for tests: one [`H2Connection`] (h2c with prior knowledge, or TLS with ALPN
//! `h2`), on it any number of [`H2WebSocket`] streams used at once, and plain `GET`s.
//!
//! The HTTP/2 side is the h2 crate's client, independent of wsecho's own HTTP/2 layer,
//! so that a misreading of RFC 9113 in one shows up against the other. The WebSocket
//! side is this crate's frame builders and strict server-frame reader. tokio stays
//! inside: each connection has a thread running a current-thread runtime (see
//! `driver.rs`), and every call blocks, bounded by a timeout.
//!
//! ```no_run
//! # fn main() -> std::io::Result<()> {
//! use std::time::Duration;
//! use wsecho_test_support::frames::RawFrame;
//! use wsecho_test_support::h2_client::H2Connection;
//!
//! let conn = H2Connection::connect("127.0.0.1:8080".parse().unwrap())?;
//! assert!(conn.extended_connect_enabled());
//! let (response, mut ws) = conn.open_websocket("/", &[("sec-websocket-version", "13")])?;
//! assert_eq!(response.status, 200);
//! ws.send_frame(&RawFrame::text("hi"))?;
//! let echo = ws.recv_frame(Duration::from_secs(5))?.expect("a frame");
//! assert_eq!(echo.payload, b"hi");
//! # Ok(())
//! # }
//! ```

mod driver;
mod errors;
mod websocket;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use h2::client::{ResponseFuture, SendRequest};
use h2::{PingPong, SendStream};
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

pub use driver::ConnectionEnd;
use driver::Driver;
use errors::from_h2;
pub use errors::stream_end_of;
pub use h2::Reason;
pub use websocket::{H2WebSocket, Received, StreamEnd};

/// Bound on each blocking step that has no timeout of its own: connecting, the
/// handshakes, a response's headers, a send waiting for window.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest WebSocket frame payload this client buffers: wsecho's default
/// message limit (64 MiB) with room to spare, and bounded memory for a server that
/// announces an absurd length.
pub const MAX_FRAME_PAYLOAD: u64 = 256 << 20;

/// The longest response body [`H2Connection::get`] buffers.
pub const MAX_BODY: usize = 16 << 20;

/// A response's head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// `:status`.
    pub status: u16,
    /// The header fields in order, names lowercase (as HTTP/2 has them), values
    /// decoded as UTF-8 with any invalid byte replaced.
    pub headers: Vec<(String, String)>,
}

impl Response {
    fn of<T>(response: &http::Response<T>) -> Response {
        Response {
            status: response.status().as_u16(),
            headers: response
                .headers()
                .iter()
                .map(|(name, value)| {
                    let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                    (name.as_str().to_owned(), value)
                })
                .collect(),
        }
    }

    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One HTTP/2 connection.
pub struct H2Connection {
    driver: Arc<Driver>,
    send_request: SendRequest<Bytes>,
    ping_pong: PingPong,
    /// `:scheme` of every request: `http` for h2c, `https` over TLS.
    scheme: &'static str,
    /// `:authority` of every request.
    authority: String,
}

impl H2Connection {
    /// HTTP/2 over cleartext TCP with prior knowledge (RFC 9113 §3.3), the server's
    /// SETTINGS received before this returns.
    pub fn connect(addr: SocketAddr) -> io::Result<H2Connection> {
        let driver = Arc::new(Driver::start()?);
        let tcp = driver.within(IO_TIMEOUT, "TCP connect", tcp_connect(addr))?;
        H2Connection::handshake(driver, tcp, "http", addr.to_string())
    }

    /// HTTP/2 over TLS (RFC 9113 §3.2): `config` with its ALPN list replaced by `h2`
    /// alone, and the server's choice of `h2` checked; `server_name` is verified
    /// against the certificate and sent as SNI and in `:authority`.
    pub fn connect_tls(
        addr: SocketAddr,
        server_name: &str,
        config: Arc<rustls::ClientConfig>,
    ) -> io::Result<H2Connection> {
        let mut config = (*config).clone();
        config.alpn_protocols = vec![b"h2".to_vec()];
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let name = ServerName::try_from(server_name.to_owned())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let driver = Arc::new(Driver::start()?);
        let tls = driver.within(IO_TIMEOUT, "TLS handshake", async move {
            connector.connect(name, tcp_connect(addr).await?).await
        })?;
        // RFC 9113 §3.2: "The "h2" string identifies the protocol where HTTP/2 uses
        // Transport Layer Security (TLS)"; a server that picked nothing speaks 1.1.
        let alpn = tls.get_ref().1.alpn_protocol();
        if alpn != Some(b"h2") {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the server chose ALPN {:?}, not h2",
                    alpn.map(String::from_utf8_lossy)
                ),
            ));
        }
        let authority = format!("{server_name}:{}", addr.port());
        H2Connection::handshake(driver, tls, "https", authority)
    }

    fn handshake<T>(
        driver: Arc<Driver>,
        io: T,
        scheme: &'static str,
        authority: String,
    ) -> io::Result<H2Connection>
    where
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (send_request, mut connection) =
            driver.within(IO_TIMEOUT, "HTTP/2 handshake", async move {
                h2::client::Builder::new()
                    .handshake::<T, Bytes>(io)
                    .await
                    .map_err(|e| from_h2("HTTP/2 handshake", e))
            })?;
        let ping_pong = connection
            .ping_pong()
            .ok_or_else(|| io::Error::other("the h2 crate gave no PingPong"))?;
        driver.spawn_connection(connection);
        let mut conn = H2Connection {
            driver,
            send_request,
            ping_pong,
            scheme,
            authority,
        };
        // RFC 9113 §3.4: "The server connection preface consists of a potentially
        // empty SETTINGS frame that MUST be the first frame the server sends": once
        // a PING is answered, the server's settings are known.
        conn.ping(IO_TIMEOUT)?;
        Ok(conn)
    }

    /// Whether the server sent SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441 §3).
    pub fn extended_connect_enabled(&self) -> bool {
        self.send_request.is_extended_connect_protocol_enabled()
    }

    /// The server's SETTINGS_MAX_CONCURRENT_STREAMS as the h2 crate keeps it.
    pub fn max_send_streams(&self) -> usize {
        self.send_request.current_max_send_streams()
    }

    /// Sends a PING and waits for its ACK; the round trip.
    pub fn ping(&mut self, timeout: Duration) -> io::Result<Duration> {
        let start = Instant::now();
        let ping_pong = &mut self.ping_pong;
        self.driver.within(timeout, "the PING's ACK", async move {
            ping_pong
                .ping(h2::Ping::opaque())
                .await
                .map_err(|e| from_h2("PING", e))
        })?;
        Ok(start.elapsed())
    }

    /// Opens a WebSocket (RFC 8441 §4): `:method CONNECT`, `:protocol websocket`,
    /// `:scheme`, `:authority`, `:path` = `path` (query included), and `headers`,
    /// which should hold `sec-websocket-version: 13` (§5) unless a test leaves it out
    /// on purpose; subprotocols and extensions go there too. Whatever the status, the
    /// response and the stream are returned: a test of a refusal reads both.
    pub fn open_websocket(
        &self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> io::Result<(Response, H2WebSocket)> {
        self.request("CONNECT", path, Some("websocket"), headers, false)
    }

    /// Any request: `method` and `path`, `:protocol` if given, `headers`, and
    /// END_STREAM on the HEADERS frame if `end_of_stream`. Waits for the response's
    /// head; a stream reset instead is an error that [`stream_end_of`] reads.
    /// A CONNECT without `protocol` is the plain kind (RFC 9113 §8.5): no `:scheme`,
    /// no `:path`.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        protocol: Option<&str>,
        headers: &[(&str, &str)],
        end_of_stream: bool,
    ) -> io::Result<(Response, H2WebSocket)> {
        let (response, send) =
            self.start_request(method, path, protocol, headers, end_of_stream)?;
        let response = self
            .driver
            .within(IO_TIMEOUT, "the response's headers", async move {
                response
                    .await
                    .map_err(|e| from_h2("awaiting the response", e))
            })?;
        let head = Response::of(&response);
        let ws = H2WebSocket::new(self.driver.clone(), send, response.into_body());
        Ok((head, ws))
    }

    /// `GET path`: the response and its whole body (at most [`MAX_BODY`]).
    pub fn get(&self, path: &str) -> io::Result<(Response, Vec<u8>)> {
        let (response, _send) = self.start_request("GET", path, None, &[], true)?;
        self.driver
            .within(IO_TIMEOUT, "the GET response", async move {
                let response = response.await.map_err(|e| from_h2("GET", e))?;
                let head = Response::of(&response);
                let mut recv = response.into_body();
                let mut body = Vec::new();
                while let Some(data) = recv.data().await {
                    let data = data.map_err(|e| from_h2("the GET body", e))?;
                    if body.len() + data.len() > MAX_BODY {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("a body over {MAX_BODY} bytes"),
                        ));
                    }
                    body.extend_from_slice(&data);
                    recv.flow_control()
                        .release_capacity(data.len())
                        .map_err(|e| from_h2("releasing capacity", e))?;
                }
                Ok((head, body))
            })
    }

    /// How the connection ended, waiting up to `timeout` for it to end (a GOAWAY, the
    /// server closing the transport).
    pub fn ended(&self, timeout: Duration) -> io::Result<ConnectionEnd> {
        self.driver.ended(timeout)
    }

    /// How the connection ended, if it has.
    pub fn end_now(&self) -> Option<ConnectionEnd> {
        self.driver.end_now()
    }

    fn start_request(
        &self,
        method: &str,
        path: &str,
        protocol: Option<&str>,
        headers: &[(&str, &str)],
        end_of_stream: bool,
    ) -> io::Result<(ResponseFuture, SendStream<Bytes>)> {
        let invalid_input = |e: http::Error| io::Error::new(io::ErrorKind::InvalidInput, e);
        let mut builder = http::Request::builder()
            .method(method)
            .uri(format!("{}://{}{path}", self.scheme, self.authority));
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let mut request = builder.body(()).map_err(invalid_input)?;
        if let Some(protocol) = protocol {
            request
                .extensions_mut()
                .insert(h2::ext::Protocol::from(protocol));
        }
        let send_request = self.send_request.clone();
        self.driver
            .within(IO_TIMEOUT, "room for another stream", async move {
                let mut ready = send_request
                    .ready()
                    .await
                    .map_err(|e| from_h2("opening a stream", e))?;
                ready
                    .send_request(request, end_of_stream)
                    .map_err(|e| from_h2("sending the request", e))
            })
    }
}

async fn tcp_connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

#[cfg(test)]
mod tests;
