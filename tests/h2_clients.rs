//! WebSockets over HTTP/2 (RFC 8441) against the real binary with the Rust h2 client
//! (`wsecho_test_support::h2_client`): the first run of the independent client against
//! wsecho, over h2c with prior knowledge and over TLS with ALPN h2, held to every
//! check hypercorn was let off (tests/python/test_h2.py's doc). The full client cases
//! run against wsecho with `scripts/test-h2-clients.sh --peer wsecho`.

mod common;

use std::time::Duration;

use common::tls::TlsServer;
use common::*;
use wsecho_test_support::h2_client::{H2Connection, H2WebSocket, StreamEnd};

const WAIT: Duration = Duration::from_secs(5);
const VERSION: (&str, &str) = ("sec-websocket-version", "13");

/// Echo, then the close handshake the client starts, END_STREAM both ways, and the
/// connection still answering.
fn echo_and_close(mut conn: H2Connection) {
    assert!(
        conn.extended_connect_enabled(),
        "no SETTINGS_ENABLE_CONNECT_PROTOCOL"
    );
    let (response, mut ws) = conn.open_websocket("/", &[VERSION]).unwrap();
    assert_eq!(response.status, 200, "{response:?}");
    ws.send_frame(&RawFrame::text("over h2")).unwrap();
    let echo = ws.recv_frame(WAIT).unwrap().expect("the echo");
    assert_eq!((echo.opcode, &echo.payload[..]), (OP_TEXT, &b"over h2"[..]));
    close(&mut ws);
    conn.ping(WAIT).unwrap();
    let (response, body) = conn.get("/").unwrap();
    assert_eq!(response.status, 200);
    assert!(!body.is_empty());
}

fn close(ws: &mut H2WebSocket) {
    ws.send_frame(&RawFrame::close(1000, "")).unwrap();
    let close = ws.recv_frame(WAIT).unwrap().expect("the close reply");
    assert_eq!(
        (close.opcode, &close.payload[..]),
        (OP_CLOSE, &[3, 232][..])
    );
    // RFC 8441 §5: END_STREAM is the orderly close, as TCP's FIN is in RFC 6455.
    assert_eq!(ws.recv_end(WAIT).unwrap(), StreamEnd::End);
    ws.send_end().unwrap();
}

#[test]
fn a_websocket_echoes_and_closes_over_h2c() {
    let server = Server::start(&[]);
    echo_and_close(H2Connection::connect(server.addr()).unwrap());
}

#[test]
fn a_websocket_echoes_and_closes_over_tls_with_alpn_h2() {
    let tls = TlsServer::start(&[]);
    let conn =
        H2Connection::connect_tls(tls.server.addr(), "localhost", tls.client_config()).unwrap();
    echo_and_close(conn);
}

/// A client that sends its preface in the TLS handshake's last flight: rustls sends
/// plaintext written before the handshake ends right behind its Finished, so the server
/// reads both at once and becomes HTTP/2 in the middle of that read. It must still send
/// its SETTINGS and acknowledge the client's (RFC 9113 §3.4, §6.5.3), or the client
/// waits until the server gives up with SETTINGS_TIMEOUT.
#[test]
fn a_preface_in_the_tls_handshakes_last_flight_is_answered() {
    use std::io::Write;
    use wsecho_test_support::h2_frames::{ACK, SETTINGS, client_preface, read_frame};
    let tls = TlsServer::start(&[]);
    let mut config = (*tls.client_config()).clone();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut client = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
    client.writer().write_all(&client_preface(&[])).unwrap();
    let socket = std::net::TcpStream::connect(tls.server.addr()).unwrap();
    socket.set_read_timeout(Some(WAIT)).unwrap();
    let mut stream = rustls::StreamOwned::new(client, socket);
    let (mut theirs, mut acked) = (false, false);
    while !(theirs && acked) {
        let frame = read_frame(&mut stream)
            .unwrap_or_else(|e| panic!("no SETTINGS (theirs: {theirs}, our ack: {acked}): {e}"));
        assert_eq!(stream.conn.alpn_protocol(), Some(&b"h2"[..]));
        if frame.kind == SETTINGS {
            if frame.has(ACK) {
                acked = true;
            } else {
                theirs = true;
            }
        }
    }
}
