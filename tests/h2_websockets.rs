//! WebSockets over HTTP/2 (RFC 8441) against the real binary, one test per behaviour,
//! with the Rust h2 client (`wsecho_test_support::h2_client`): many WebSockets on one
//! connection, a failure that resets nothing but its stream, refusals said in HTTP/2,
//! behaviours on request, flow control as backpressure, shutdown, and the metrics.

mod common;

use std::thread;
use std::time::Duration;

use common::*;
use wsecho_test_support::h2_client::{H2Connection, H2WebSocket, Reason, StreamEnd};

const WAIT: Duration = Duration::from_secs(5);
const VERSION: (&str, &str) = ("sec-websocket-version", "13");

fn open(conn: &H2Connection, path: &str) -> H2WebSocket {
    let (response, ws) = conn.open_websocket(path, &[VERSION]).unwrap();
    assert_eq!(response.status, 200, "{path}: {response:?}");
    ws
}

fn expect_frame(ws: &mut H2WebSocket, opcode: u8, payload: &[u8]) {
    let frame = ws
        .recv_frame(WAIT)
        .unwrap()
        .expect("a frame, not END_STREAM");
    assert_eq!(
        (frame.opcode, frame.payload.as_slice()),
        (opcode, payload),
        "frame {frame:?}"
    );
}

/// The close handshake the client starts, then END_STREAM both ways.
fn close(ws: &mut H2WebSocket) {
    ws.send_frame(&RawFrame::close(1000, "")).unwrap();
    expect_frame(ws, OP_CLOSE, &1000u16.to_be_bytes());
    assert_eq!(ws.recv_end(WAIT).unwrap(), StreamEnd::End);
    ws.send_end().unwrap();
}

fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason.as_bytes());
    p
}

#[test]
fn many_websockets_share_one_connection_each_with_its_own_echoes() {
    let server = Server::start(&[]);
    let mut conn = H2Connection::connect(server.addr()).unwrap();
    let mut sockets: Vec<H2WebSocket> = (0..20).map(|_| open(&conn, "/")).collect();
    for round in 0..3 {
        for (i, ws) in sockets.iter_mut().enumerate() {
            ws.send_frame(&RawFrame::text(format!("ws {i} round {round}")))
                .unwrap();
        }
        for (i, ws) in sockets.iter_mut().enumerate() {
            expect_frame(ws, OP_TEXT, format!("ws {i} round {round}").as_bytes());
        }
    }
    // Large messages on several streams at once, from several threads.
    let handles: Vec<_> = sockets
        .into_iter()
        .enumerate()
        .map(|(i, mut ws)| {
            thread::spawn(move || {
                let payload: Vec<u8> = (0..200_000).map(|b| (b * 7 + i) as u8).collect();
                ws.send_frame(&RawFrame::binary(&payload)).unwrap();
                let mut got = Vec::new();
                while got.len() < payload.len() {
                    let f = ws.recv_frame(WAIT).unwrap().expect("echo");
                    got.extend_from_slice(&f.payload);
                }
                assert_eq!(got, payload);
                close(&mut ws);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    conn.ping(WAIT).unwrap();
}

#[test]
fn a_failed_websocket_closes_only_its_own_stream() {
    let server = Server::start(&[]);
    let conn = H2Connection::connect(server.addr()).unwrap();
    let mut good = open(&conn, "/");
    let mut bad = open(&conn, "/");
    // RFC 6455 §5.1: a client frame must be masked; the close names the rule, as over
    // HTTP/1.1, and END_STREAM follows it.
    bad.send_frame(&RawFrame::text("no mask").unmasked())
        .unwrap();
    let frame = bad.recv_frame(WAIT).unwrap().expect("the close frame");
    assert_eq!(frame.opcode, OP_CLOSE);
    assert_eq!(&frame.payload[..2], &1002u16.to_be_bytes());
    assert!(
        String::from_utf8_lossy(&frame.payload[2..]).contains("mask"),
        "{frame:?}"
    );
    assert_eq!(bad.recv_end(WAIT).unwrap(), StreamEnd::End);
    bad.send_end().unwrap();
    // The other WebSocket goes on.
    good.send_frame(&RawFrame::text("still here")).unwrap();
    expect_frame(&mut good, OP_TEXT, b"still here");
    close(&mut good);
}

#[test]
fn a_stream_reset_by_the_client_leaves_the_others_open() {
    let server = Server::start(&[]);
    let conn = H2Connection::connect(server.addr()).unwrap();
    let mut kept = open(&conn, "/");
    let mut gone = open(&conn, "/");
    gone.send_frame(&RawFrame::text("half")).unwrap();
    expect_frame(&mut gone, OP_TEXT, b"half");
    gone.reset();
    kept.send_frame(&RawFrame::text("after the reset")).unwrap();
    expect_frame(&mut kept, OP_TEXT, b"after the reset");
    // The reset stream counts as a WebSocket whose transport ended without a close
    // handshake, like a TCP connection that did.
    let (_, metrics) = conn.get("/metrics").unwrap();
    let metrics = String::from_utf8_lossy(&metrics);
    assert!(metrics.contains("wsecho_dropped_total 1\n"), "{metrics}");
    close(&mut kept);
}

#[test]
fn subprotocol_and_permessage_deflate_are_negotiated_in_the_headers() {
    let server = Server::start(&[]);
    let conn = H2Connection::connect(server.addr()).unwrap();
    let (response, mut ws) = conn
        .open_websocket(
            "/",
            &[
                VERSION,
                ("sec-websocket-protocol", "chat, superchat"),
                ("sec-websocket-extensions", "permessage-deflate"),
            ],
        )
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.header("sec-websocket-protocol"), Some("chat"));
    assert_eq!(
        response.header("sec-websocket-extensions"),
        Some("permessage-deflate")
    );
    // RFC 8441 §5 and RFC 9113 §8.2.2: no accept value, no connection-specific fields.
    for name in ["sec-websocket-accept", "connection", "upgrade"] {
        assert_eq!(response.header(name), None, "{name} in {response:?}");
    }
    close(&mut ws);
}

#[test]
fn refusals_are_answered_on_their_stream_with_the_rule() {
    let server = Server::start(&[]);
    let conn = H2Connection::connect(server.addr()).unwrap();
    // The core judges the version, as over HTTP/1.1: 426, without HTTP/1.1's Upgrade.
    let (response, mut ws) = conn.open_websocket("/", &[]).unwrap();
    assert_eq!(response.status, 426, "{response:?}");
    assert_eq!(response.header("sec-websocket-version"), Some("13"));
    assert_eq!(response.header("upgrade"), None);
    let body = body_of(&mut ws);
    assert!(body.contains("Sec-WebSocket-Version must be 13"), "{body}");

    let (response, mut ws) = conn
        .request("CONNECT", "/", Some("chat"), &[VERSION], false)
        .unwrap();
    assert_eq!(response.status, 501, "{response:?}");
    assert!(body_of(&mut ws).contains("RFC 8441"));

    let (response, mut ws) = conn.request("CONNECT", "/", None, &[], false).unwrap();
    assert_eq!(response.status, 405, "{response:?}");
    assert!(body_of(&mut ws).contains("tunnel"));

    // A behaviour's mistake is a 400 naming it, as over HTTP/1.1.
    let (response, mut ws) = conn
        .open_websocket("/?close=1000&nonsense=1", &[VERSION])
        .unwrap();
    assert_eq!(response.status, 400, "{response:?}");
    assert!(body_of(&mut ws).contains("nonsense"));

    // A 2xx would accept the WebSocket (RFC 8441 §5): `?status=200` cannot be said.
    let (response, mut ws) = conn.open_websocket("/?status=200", &[VERSION]).unwrap();
    assert_eq!(response.status, 400, "{response:?}");
    assert!(body_of(&mut ws).contains("accepts the WebSocket"));
    let (response, mut ws) = conn.open_websocket("/?status=401", &[VERSION]).unwrap();
    assert_eq!(response.status, 401, "{response:?}");
    assert!(body_of(&mut ws).contains("?status=401"));

    // The connection is unharmed.
    let mut ws = open(&conn, "/");
    ws.send_frame(&RawFrame::text("fine")).unwrap();
    expect_frame(&mut ws, OP_TEXT, b"fine");
    close(&mut ws);
}

/// A refused stream's body, to its END_STREAM.
fn body_of(ws: &mut H2WebSocket) -> String {
    String::from_utf8_lossy(&ws.recv_body(WAIT).unwrap()).into_owned()
}

#[test]
fn the_page_and_the_metrics_are_served_over_http2() {
    let server = Server::start(&[]);
    let conn = H2Connection::connect(server.addr()).unwrap();
    let (response, page) = conn.get("/").unwrap();
    assert_eq!(response.status, 200);
    assert!(String::from_utf8_lossy(&page).contains("<html"));
    let mut ws = open(&conn, "/");
    ws.send_frame(&RawFrame::text("count me")).unwrap();
    expect_frame(&mut ws, OP_TEXT, b"count me");
    let (response, metrics) = conn.get("/metrics").unwrap();
    assert_eq!(response.status, 200);
    let metrics = String::from_utf8_lossy(&metrics);
    for line in [
        "wsecho_http2_connections_total 1\n",
        "wsecho_http2_websockets_total 1\n",
    ] {
        assert!(metrics.contains(line), "{line} missing in {metrics}");
    }
    close(&mut ws);
}

#[test]
fn behaviours_work_over_http2() {
    let server = Server::start(&[]);
    let mut conn = H2Connection::connect(server.addr()).unwrap();

    // ?close: wsecho closes at once with the asked code and reason, then END_STREAM.
    let mut ws = open(&conn, "/?close=4000&reason=bye");
    expect_frame(&mut ws, OP_CLOSE, &close_payload(4000, "bye"));
    ws.send_frame(&RawFrame::close(4000, "")).unwrap();
    assert_eq!(ws.recv_end(WAIT).unwrap(), StreamEnd::End);

    // ?fragment: echoes in fragments of at most that many bytes.
    let mut ws = open(&conn, "/?fragment=3");
    ws.send_frame(&RawFrame::text("abcdef")).unwrap();
    let first = ws.recv_frame(WAIT).unwrap().expect("a fragment");
    let second = ws.recv_frame(WAIT).unwrap().expect("a fragment");
    assert_eq!(
        (first.opcode, first.fin, &first.payload[..]),
        (OP_TEXT, false, &b"abc"[..])
    );
    assert_eq!(
        (second.opcode, second.fin, &second.payload[..]),
        (OP_CONT, true, &b"def"[..])
    );
    close(&mut ws);

    // ?send: messages wsecho makes up, paced by the stream's flow control.
    let mut ws = open(&conn, "/?send=100000&count=20");
    let mut total = 0;
    while total < 2_000_000 {
        let f = ws.recv_frame(WAIT).unwrap().expect("a sent message");
        total += f.payload.len();
    }
    assert_eq!(total, 2_000_000);
    close(&mut ws);

    // ?abort: the stream is reset (RST_STREAM, RFC 8441 §5's TCP RST) after what was
    // asked is sent.
    let mut ws = open(&conn, "/?abort&after=1");
    ws.send_frame(&RawFrame::text("last")).unwrap();
    expect_frame(&mut ws, OP_TEXT, b"last");
    assert_eq!(ws.recv_end(WAIT).unwrap(), StreamEnd::Reset(Reason::CANCEL));
    conn.ping(WAIT).unwrap();
}

#[test]
fn headers_shows_the_http2_request_as_received_without_an_http1_upgrade() {
    let server = Server::start(&[]);
    let conn = H2Connection::connect(server.addr()).unwrap();
    let (response, mut ws) = conn
        .open_websocket(
            "/x?headers&token=1",
            &[VERSION, ("x-app", "a \"quoted\" value")],
        )
        .unwrap();
    assert_eq!(response.status, 200, "{response:?}");
    let json = ws.recv_frame(WAIT).unwrap().expect("the request as JSON");
    let v: serde_json::Value = serde_json::from_slice(&json.payload).expect("JSON");
    assert_eq!(v["method"], "CONNECT");
    assert_eq!(v["target"], "/x?headers&token=1");
    assert_eq!(v["version"], "HTTP/2");
    assert_eq!(v["ignored"], serde_json::json!(["token"]));
    let headers = v["headers"].as_array().expect("headers");
    assert_eq!(
        headers[0],
        serde_json::json!([":protocol", "websocket"]),
        "{headers:?}"
    );
    assert_eq!(headers[1][0], ":authority", "{headers:?}");
    for field in [
        serde_json::json!(["sec-websocket-version", "13"]),
        serde_json::json!(["x-app", "a \"quoted\" value"]),
    ] {
        assert!(headers.contains(&field), "{field} not in {headers:?}");
    }
    // What the client did not send is not shown: no key, no HTTP/1.1 upgrade fields.
    for name in ["sec-websocket-key", "upgrade", "connection", "host"] {
        assert!(
            !headers
                .iter()
                .any(|h| h[0].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name))),
            "{name} in {headers:?}"
        );
    }
    ws.send_frame(&RawFrame::text("echo")).unwrap();
    expect_frame(&mut ws, OP_TEXT, b"echo");
    close(&mut ws);
}

#[test]
fn a_handshake_delay_holds_the_http2_answer_and_what_follows() {
    let server = Server::start(&[]);
    let conn = H2Connection::connect(server.addr()).unwrap();
    let delay = Duration::from_millis(400);
    // The WebSocket's 200, and the greeting behind it.
    let asked = std::time::Instant::now();
    let (response, mut ws) = conn
        .open_websocket("/?handshake-delay=0.4&hello=hi", &[VERSION])
        .unwrap();
    assert_eq!(response.status, 200, "{response:?}");
    assert!(
        asked.elapsed() >= delay,
        "answered after {:?}",
        asked.elapsed()
    );
    expect_frame(&mut ws, OP_TEXT, b"hi");
    ws.send_frame(&RawFrame::text("echo")).unwrap();
    expect_frame(&mut ws, OP_TEXT, b"echo");
    close(&mut ws);
    // A refusal asked for, with its body.
    let asked = std::time::Instant::now();
    let (response, mut ws) = conn
        .open_websocket("/?status=404&handshake-delay=0.4", &[VERSION])
        .unwrap();
    assert_eq!(response.status, 404, "{response:?}");
    assert!(
        asked.elapsed() >= delay,
        "answered after {:?}",
        asked.elapsed()
    );
    assert!(body_of(&mut ws).contains("?status=404"));
}

#[test]
fn a_client_that_does_not_read_is_held_back_by_flow_control() {
    let server = Server::start(&[]);
    let conn = H2Connection::connect(server.addr()).unwrap();
    let mut ws = open(&conn, "/");
    // Send without reading: the echoes fill our receive window, wsecho stops
    // reopening the client's, and the client's sending stalls.
    let message = RawFrame::binary(vec![7u8; 64 << 10]).encode();
    let mut sent = 0;
    let stalled = loop {
        match ws.send_within(&message, Duration::from_secs(1)) {
            Ok(()) => sent += 1,
            Err(e) => break e,
        }
        assert!(sent < 2000, "wsecho took 128 MiB without anyone reading");
    };
    assert_eq!(stalled.kind(), std::io::ErrorKind::TimedOut, "{stalled}");
    let rss = rss_kib(server.pid());
    assert!(
        rss < 64 << 10,
        "wsecho holds {rss} KiB for a stalled stream"
    );
    // Reading lets the whole messages through (the one the stall cut stays cut).
    let mut echoed = 0;
    while echoed < sent * (64 << 10) {
        echoed += ws.recv_frame(WAIT).unwrap().expect("echo").payload.len();
    }
    ws.reset();
    // The connection is fine, and a new WebSocket on it.
    let mut ws = open(&conn, "/");
    ws.send_frame(&RawFrame::text("moving")).unwrap();
    expect_frame(&mut ws, OP_TEXT, b"moving");
    close(&mut ws);
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn a_full_server_answers_an_http2_client_503_on_its_stream() {
    let server = Server::start(&["--max-connections", "1"]);
    let mut first = server.client();
    first
        .send(tungstenite::Message::text("holding the only slot"))
        .unwrap();
    first.read().unwrap();
    let conn = H2Connection::connect(server.addr()).unwrap();
    let (response, mut ws) = conn.open_websocket("/", &[VERSION]).unwrap();
    assert_eq!(response.status, 503, "{response:?}");
    assert!(body_of(&mut ws).contains("limit of 1 connections"));
}

#[test]
fn shutdown_closes_every_websocket_with_1001_and_says_goaway() {
    let mut server = Server::start(&[]);
    let conn = H2Connection::connect(server.addr()).unwrap();
    let mut sockets: Vec<H2WebSocket> = (0..3).map(|_| open(&conn, "/")).collect();
    server.signal(libc_sigterm());
    for ws in &mut sockets {
        expect_frame(ws, OP_CLOSE, &close_payload(1001, "server shutting down"));
        ws.send_frame(&RawFrame::close(1001, "")).unwrap();
        assert_eq!(ws.recv_end(WAIT).unwrap(), StreamEnd::End);
        ws.send_end().unwrap();
    }
    assert!(server.wait_exit(WAIT).is_some_and(|s| s.success()));
}

fn libc_sigterm() -> i32 {
    15
}

#[test]
fn the_last_log_line_sums_up_the_connection_not_its_last_stream() {
    let server = Server::start(&[]);
    let conn = H2Connection::connect(server.addr()).unwrap();
    let mut sockets = [open(&conn, "/"), open(&conn, "/")];
    for (i, ws) in sockets.iter_mut().enumerate() {
        let text = format!("ws {i}");
        ws.send_frame(&RawFrame::text(&text)).unwrap();
        expect_frame(ws, OP_TEXT, text.as_bytes());
        close(ws);
    }
    // The last stream is a refusal: it is not how the connection ended.
    let (response, _) = conn.get("/nope").unwrap();
    assert_eq!(response.status, 404);
    drop(sockets);
    drop(conn);
    let log = server.wait_for_log("ended after", 1, WAIT);
    let line = log
        .lines()
        .find(|l| l.contains("ended after"))
        .expect("the connection's last line");
    for words in [
        "(HTTP/2, 3 streams): ended after",
        ", 2 messages echoed",
        " bytes; 2 WebSockets, 1 refused (with HTTP 404); client closed TCP",
    ] {
        assert!(line.contains(words), "{words:?} is not in {line}");
    }
    assert!(!line.contains("nothing at"), "{line}");
}
