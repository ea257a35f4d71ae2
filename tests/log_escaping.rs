//! Text a client controls never shapes the server's log: close reasons, query values,
//! header values, paths, GOAWAY debug data, SNI and ALPN are escaped in every line, so
//! a client cannot start a line of its own (a newline) or drive the terminal (ESC, C1
//! controls).

mod common;

use std::io::Write;
use std::time::Duration;

use common::tls::{TlsServer, client_config_versions, client_hello};
use common::*;

const WAIT: Duration = Duration::from_secs(5);

/// Characters that must never reach the log raw: they end a line or drive a terminal.
const RAW: [char; 5] = ['\r', '\u{1b}', '\u{85}', '\u{9b}', '\u{2028}'];

/// No line of `log` is the client's: none starts with `FORGED`, none holds a raw
/// control character.
fn assert_no_forged_line(log: &str) {
    for line in log.lines() {
        assert!(
            !line.trim_start().starts_with("FORGED"),
            "a client wrote a log line: {line:?}\nin\n{log}"
        );
        assert!(
            !line.contains(RAW),
            "a raw control character reached the log: {line:?}"
        );
    }
}

/// Sends `request` and reads the answer's head; the server ends the connection.
fn refused(server: &Server, request: &Request) -> u16 {
    let mut stream = server.connect();
    stream.write_all(&request.to_bytes()).unwrap();
    read_response_head(&mut stream).status
}

#[test]
fn a_close_reason_from_the_query_cannot_forge_a_log_line() {
    // The default log level: the connection's last line shows wsecho's close reason.
    let server = Server::start(&[]);
    let mut stream = server.connect();
    let request = Request::upgrade(&server.host());
    let request = Request {
        target: "/?close=4000&reason=a%0AFORGED%20line%1b[2J".into(),
        ..request
    };
    stream.write_all(&request.to_bytes()).unwrap();
    assert_eq!(read_response_head(&mut stream).status, 101);
    let close = expect_close(&mut stream);
    assert_eq!(close.code, Some(4000));
    reply_close(&mut stream, &close);
    let log = server.wait_for_log("ended after", 1, WAIT);
    assert_no_forged_line(&log);
    assert!(
        log.contains(r"wsecho closed with 4000 a\nFORGED line\u{1b}[2J"),
        "the reason is not shown escaped:\n{log}"
    );
}

#[test]
fn refusals_that_quote_the_request_cannot_forge_a_log_line() {
    let server = Server::start(&[]);
    let host = server.host();
    // A query value, decoded, quoted in the 400's reason.
    let query = Request {
        target: "/?after=%0AFORGED%0A".into(),
        ..Request::upgrade(&host)
    };
    assert_eq!(refused(&server, &query), 400);
    // A header value, quoted in the 426's reason (UTF-8 of C1 controls: obs-text to
    // HTTP/1.1, CSI and NEL to a terminal).
    let header = Request::upgrade(&host).set("Sec-WebSocket-Version", "1\u{9b}2J\u{85}FORGED");
    assert_eq!(refused(&server, &header), 426);
    let log = server.wait_for_log("ended after", 2, WAIT);
    assert_no_forged_line(&log);
    for shown in [r"after=\nFORGED\n", r#"(got "1\u{9b}2J\u{85}FORGED"#] {
        assert!(log.contains(shown), "{shown} is not in the log:\n{log}");
    }
}

/// `bytes` with the one occurrence of `from` replaced by `to` (of the same length, so
/// the record's lengths hold).
fn patched(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let at = bytes
        .windows(from.len())
        .position(|w| w == from)
        .expect("the bytes to patch");
    let mut out = bytes.to_vec();
    out[at..at + to.len()].copy_from_slice(to);
    out
}

#[test]
fn sni_and_alpn_of_a_failed_client_hello_cannot_forge_a_log_line() {
    let tls = TlsServer::start_command(|command| {
        command.env("RUST_LOG", "wsecho=debug");
    });
    // A real ClientHello whose SNI and ALPN are then given a newline and ESC: no
    // client library sends such names, a raw client can.
    let mut config = (*client_config_versions(
        std::slice::from_ref(&tls.cert),
        None,
        &[&rustls::version::TLS13],
    ))
    .clone();
    config.alpn_protocols = vec![b"alpn-xyz".to_vec()];
    let hello = client_hello(std::sync::Arc::new(config));
    let hello = patched(&hello, b"localhost", b"l\nFORGED:");
    let hello = patched(&hello, b"alpn-xyz", b"\nFORGED\x1b");
    let mut socket = tls.server.connect();
    socket.write_all(&hello).unwrap();
    let offered = tls.server.wait_for_log("client offered", 1, WAIT);
    assert!(offered.contains("client offered"), "{offered}");
    let log = tls.server.wait_for_log("ended after", 1, WAIT);
    assert_no_forged_line(&log);
    assert!(
        log.contains(r"ALPN \nFORGED\u{1b}") && log.contains(r"SNI l\nFORGED:"),
        "the offer is not shown escaped:\n{log}"
    );
}

#[test]
fn a_path_and_goaway_debug_data_over_http2_cannot_forge_a_log_line() {
    use wsecho_test_support::h2_frames::{GOAWAY, goaway, handshake, headers, literal_block};
    use wsecho_test_support::h2_frames::{read_to_close, read_until};
    let mut command = Server::command("127.0.0.1", &[]);
    command.env("RUST_LOG", "wsecho=debug");
    let server = Server::start_command(command);
    let mut s = server.connect();
    s.set_read_timeout(Some(WAIT)).unwrap();
    handshake(&mut s).unwrap();
    // HPACK carries any bytes; RFC 9113 §8.2.1 forbids only CR, LF and NUL in values.
    let authority = server.host();
    let block = literal_block(&[
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/x\u{1b}[2J\u{85}FORGED"),
        (":authority", &authority),
        ("sec-websocket-version", "\u{1b}[2J\u{9b}FORGED"),
    ]);
    s.write_all(&headers(1, &block)).unwrap();
    read_until(&mut s, |f| f.stream == 1 && f.kind != GOAWAY).unwrap();
    s.write_all(&goaway(1, 0, b"bye\nFORGED\x1b[2J\xff"))
        .unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let _ = read_to_close(&mut s);
    let log = server.wait_for_log("ended after", 1, WAIT);
    assert_no_forged_line(&log);
    assert!(
        log.contains(r"client sent GOAWAY NO_ERROR (bye\nFORGED\u{1b}[2J\xff)"),
        "the GOAWAY's debug data is not shown escaped:\n{log}"
    );
}
