//! `?send=` against the real binary: messages are made as the socket and the stream
//! window take them, so clients that ask for the largest messages and never read them
//! hold little of the server's memory, and a client that reads gets every byte, its
//! other traffic (a pong) after the message, never inside it. Over HTTP/1.1 and over
//! h2c (raw frames where the window must stay shut, the h2 crate's client where data
//! is read).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::*;
use wsecho::fuzzing::h2::session::DEFAULT_STREAM_WINDOW;
use wsecho::fuzzing::handshake::behaviour::MAX_SEND;
use wsecho_test_support::h2_client::{H2Connection, H2WebSocket};
use wsecho_test_support::h2_frames::{self as h2f, SETTINGS_INITIAL_WINDOW_SIZE};

const WAIT: Duration = Duration::from_secs(10);
/// How much the server's resident memory may grow for all the clients of one test.
const GROWTH_BOUND_KIB: u64 = 32 << 10;

/// The upgrade request for `target`.
fn upgrade_to(server: &Server, target: &str) -> Vec<u8> {
    let request = String::from_utf8(Request::upgrade(&server.host()).to_bytes()).unwrap();
    request
        .replacen("GET / ", &format!("GET {target} "), 1)
        .into_bytes()
}

/// What `?send=` sends: `abc…xyzabc…`.
fn letters(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + (i % 26) as u8).collect()
}

fn assert_growth_bounded(server: &Server, before: u64, what: &str) {
    let after = rss_kib(server.pid());
    let grown = after.saturating_sub(before);
    assert!(
        grown < GROWTH_BOUND_KIB,
        "{what}: RSS grew by {grown} KiB ({before} -> {after} KiB)"
    );
}

/// A WebSocket over HTTP/1.1 asking for `target`, the answer read; the server's first
/// bytes of a message of `MAX_SEND` bytes read too (its 10-byte header): the message
/// has been begun.
fn open_and_see_the_message_begin(server: &Server) -> TcpStream {
    let mut s = server.connect();
    s.write_all(&upgrade_to(server, &format!("/?send={MAX_SEND}")))
        .unwrap();
    assert_eq!(read_response_head(&mut s).status, 101);
    let mut head = [0u8; 10];
    s.read_exact(&mut head).unwrap();
    assert_eq!(head[..2], [0x82, 127], "one binary frame, 64-bit length");
    assert_eq!(head[2..], (MAX_SEND as u64).to_be_bytes());
    s
}

#[test]
fn twenty_http1_clients_that_never_read_the_largest_messages_hold_little_memory() {
    let server = Server::start(&[]);
    let before = rss_kib(server.pid());
    let clients: Vec<TcpStream> = (0..20)
        .map(|_| open_and_see_the_message_begin(&server))
        .collect();
    assert_growth_bounded(&server, before, "20 HTTP/1.1 clients not reading");
    // The server is still there for others.
    let mut ws = server.client();
    close_cleanly(&mut ws);
    drop(clients);
}

/// An h2c connection whose client announced SETTINGS_INITIAL_WINDOW_SIZE 0: the
/// server may send no DATA at all until a WINDOW_UPDATE, which never comes.
fn h2c_with_a_shut_window(server: &Server) -> TcpStream {
    let mut s = server.connect();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(&h2f::client_preface(&[(SETTINGS_INITIAL_WINDOW_SIZE, 0)]))
        .unwrap();
    let (mut theirs, mut acked) = (false, false);
    while !(theirs && acked) {
        let f = h2f::read_frame(&mut s).unwrap();
        if f.kind == h2f::SETTINGS {
            if f.has(h2f::ACK) {
                acked = true;
            } else {
                theirs = true;
            }
        }
    }
    s.write_all(&h2f::settings_ack()).unwrap();
    s
}

#[test]
fn a_hundred_h2c_streams_at_window_zero_asking_for_the_largest_messages_hold_little_memory() {
    let server = Server::start(&[]);
    let before = rss_kib(server.pid());
    let mut s = h2c_with_a_shut_window(&server);
    let path = format!("/?send={MAX_SEND}");
    let fields = h2f::WEBSOCKET_CONNECT.map(|(n, v)| (n, if n == ":path" { &path } else { v }));
    let block = h2f::literal_block(&fields);
    let streams: Vec<u32> = (0..100).map(|i| 1 + 2 * i).collect();
    let mut opens = Vec::new();
    for &id in &streams {
        opens.extend(h2f::headers(id, &block));
    }
    s.write_all(&opens).unwrap();
    let mut answered = 0;
    while answered < streams.len() {
        let f = h2f::read_frame(&mut s).unwrap();
        assert_ne!(f.kind, h2f::GOAWAY, "{f:?}");
        assert_ne!(f.kind, h2f::RST_STREAM, "{f:?}");
        assert_ne!(f.kind, h2f::DATA, "DATA through a shut window: {f:?}");
        if f.kind == h2f::HEADERS {
            assert_eq!(f.status(), Some(200), "{f:?}");
            answered += 1;
        }
    }
    // A PING's answer comes after the loop turn that began the messages (each is due
    // the moment its stream is answered).
    s.write_all(&h2f::ping(*b"sendmem!")).unwrap();
    let (ack, _) = h2f::read_until(&mut s, |f| f.kind == h2f::PING).unwrap();
    assert!(ack.has(h2f::ACK) && ack.payload == b"sendmem!", "{ack:?}");
    assert_growth_bounded(&server, before, "100 h2c streams at window 0");
    let mut ws = server.client();
    close_cleanly(&mut ws);
}

/// Reads the rest of a payload of `len` bytes whose first bytes, `payload`, were read
/// already, and returns it whole.
fn read_payload(s: &mut TcpStream, len: usize, mut payload: Vec<u8>) -> Vec<u8> {
    let taken = payload.len();
    payload.resize(len, 0);
    s.read_exact(&mut payload[taken..]).unwrap();
    payload
}

#[test]
fn an_http1_client_that_reads_gets_every_byte_and_its_pong_after_the_message() {
    let server = Server::start(&[]);
    let mut s = open_and_see_the_message_begin(&server);
    // A little of the message, then a ping: the server is partway through it.
    let mut part = vec![0u8; 1000];
    s.read_exact(&mut part).unwrap();
    send(&mut s, &[RawFrame::ping(b"mid-message")]);
    let payload = read_payload(&mut s, MAX_SEND, part);
    assert!(payload == letters(MAX_SEND), "the message differs");
    let pong = read_frame(&mut s);
    assert_eq!(
        (pong.opcode, &pong.payload[..]),
        (OP_PONG, &b"mid-message"[..])
    );
    send(&mut s, &[RawFrame::close(1000, "")]);
    assert_eq!(expect_close(&mut s).code, Some(1000));

    // A series of small messages, each whole and in one frame.
    let mut s = server.connect();
    s.write_all(&upgrade_to(&server, "/?send=1000&count=3000"))
        .unwrap();
    assert_eq!(read_response_head(&mut s).status, 101);
    let want = letters(1000);
    for i in 0..3000 {
        let f = read_frame(&mut s);
        assert!(f.fin && f.opcode == OP_BINARY, "message {i}: {f:?}");
        assert!(f.payload == want, "message {i} differs");
    }
    send(&mut s, &[RawFrame::text("and now an echo")]);
    assert_eq!(read_message(&mut s), (OP_TEXT, b"and now an echo".to_vec()));
}

fn open_h2(conn: &H2Connection, path: &str) -> H2WebSocket {
    let (response, ws) = conn
        .open_websocket(path, &[("sec-websocket-version", "13")])
        .unwrap();
    assert_eq!(response.status, 200, "{path}: {response:?}");
    ws
}

#[test]
fn an_h2c_client_that_reads_gets_every_byte_and_its_pong_after_the_message() {
    let server = Server::start(&[]);
    let conn = H2Connection::connect(server.addr()).unwrap();
    let mut ws = open_h2(&conn, &format!("/?send={MAX_SEND}"));
    // Sent before anything is read: the stream's window lets the server get no further
    // than the message's first 64 KiB, so the ping comes in the middle of it.
    ws.send_frame(&RawFrame::ping(b"mid-message")).unwrap();
    let f = ws.recv_frame(WAIT).unwrap().expect("the message");
    assert!(f.fin && f.opcode == OP_BINARY, "{} bytes", f.payload.len());
    assert!(f.payload == letters(MAX_SEND), "the message differs");
    let pong = ws.recv_frame(WAIT).unwrap().expect("the pong");
    assert_eq!(
        (pong.opcode, &pong.payload[..]),
        (OP_PONG, &b"mid-message"[..])
    );

    let mut ws = open_h2(&conn, "/?send=1000&count=3000");
    let want = letters(1000);
    for i in 0..3000 {
        let f = ws.recv_frame(WAIT).unwrap().expect("a message");
        assert!(f.fin && f.opcode == OP_BINARY, "message {i}: {f:?}");
        assert!(f.payload == want, "message {i} differs");
    }
    ws.send_frame(&RawFrame::text("and now an echo")).unwrap();
    let echo = ws.recv_frame(WAIT).unwrap().expect("the echo");
    assert_eq!(
        (echo.opcode, &echo.payload[..]),
        (OP_TEXT, &b"and now an echo"[..])
    );
}

#[test]
fn an_h2c_client_that_sends_without_reading_our_message_is_held_back_by_flow_control() {
    let server = Server::start(&[]);
    let conn = H2Connection::connect(server.addr()).unwrap();
    let mut ws = open_h2(&conn, &format!("/?send={MAX_SEND}"));
    // Its echoes wait behind our message, which waits for the client to read: they
    // count as echoes the client has not read, and the stream's window stays shut.
    let message = RawFrame::binary(vec![7u8; 64 << 10]).encode();
    let bound = 2 * DEFAULT_STREAM_WINDOW as usize / message.len();
    let mut sent = 0;
    let stalled = loop {
        match ws.send_within(&message, Duration::from_secs(1)) {
            Ok(()) => sent += 1,
            Err(e) => break e,
        }
        assert!(
            sent <= bound,
            "wsecho took {sent} messages of 64 KiB while its own waited"
        );
    };
    assert_eq!(stalled.kind(), std::io::ErrorKind::TimedOut, "{stalled}");
}
