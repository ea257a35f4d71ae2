//! Hostile HTTP/2 clients against the real binary over raw TCP (h2c with prior
//! knowledge), sending what the `h2` crate's client never would: each is refused with
//! the code RFC 9113 gives it and a debug text naming the rule, the server's memory
//! stays bounded, and a fresh connection is served afterwards.

mod common;

use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::Server;
use wsecho_test_support::h2_raw::*;

const WAIT: Duration = Duration::from_secs(5);

/// A connection past both prefaces: our SETTINGS sent, theirs acknowledged.
fn open(server: &Server) -> TcpStream {
    let mut s = server.connect();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(&client_start()).unwrap();
    let settings = read_until(&mut s, |f| f.kind == SETTINGS && f.flags & ACK == 0).unwrap();
    assert_eq!(settings.stream, 0);
    s.write_all(&frame(SETTINGS, ACK, 0, &[])).unwrap();
    s
}

/// The connection still serves a WebSocket.
fn still_served(server: &Server) {
    let mut s = open(server);
    s.write_all(&frame(HEADERS, END_HEADERS, 1, &literal_block(&WEBSOCKET)))
        .unwrap();
    let response = read_until(&mut s, |f| f.kind == HEADERS).unwrap();
    assert_eq!(status_of(&response.payload), Some(200), "{response:?}");
}

/// Reads to the GOAWAY, then checks the connection is closed after it.
fn goaway(s: &mut TcpStream) -> (u32, String) {
    let f = read_until(s, |f| f.kind == GOAWAY).unwrap();
    let got = f.goaway().unwrap();
    loop {
        match read_frame(s) {
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => break,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("no close after GOAWAY {got:?}: {e}"),
            Ok(_) => {}
        }
    }
    got
}

/// A preface that goes wrong after its first read (which was a prefix of it, so the
/// connection is HTTP/2's): GOAWAY PROTOCOL_ERROR (RFC 9113 §3.4). One that is wrong
/// within the first read is no HTTP/2 client: HTTP/1.1 answers it.
#[test]
fn a_bad_preface_gets_goaway_protocol_error() {
    let server = Server::start(&[]);
    let mut s = server.connect();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(b"PRI * HTTP/2.0\r\n").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    s.write_all(b"\r\nXX\r\n\r\n").unwrap();
    let (code, debug) = goaway(&mut s);
    assert_eq!(code, PROTOCOL_ERROR, "{debug}");
    assert!(debug.contains("preface"), "{debug}");

    let mut s = server.connect();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    let _ = std::io::Read::read_to_end(&mut s, &mut answer);
    assert!(
        answer.starts_with(b"HTTP/1.1 4"),
        "{}",
        answer.escape_ascii()
    );
    still_served(&server);
}

/// CVE-2023-44487: streams opened and reset at once, faster than any client needs.
#[test]
fn rapid_reset_gets_goaway_enhance_your_calm() {
    let server = Server::start(&[]);
    let mut s = open(&server);
    let block = literal_block(&WEBSOCKET);
    let mut burst = Vec::new();
    for i in 0..1200u32 {
        let id = 2 * i + 1;
        burst.extend(frame(HEADERS, END_HEADERS, id, &block));
        burst.extend(rst_stream(id, CANCEL));
    }
    // The server stops reading at the GOAWAY: part of the burst may be refused.
    let _ = s.write_all(&burst);
    let (code, debug) = goaway(&mut s);
    assert_eq!(code, ENHANCE_YOUR_CALM, "{debug}");
    assert!(debug.to_lowercase().contains("reset"), "{debug}");
    still_served(&server);
}

/// A short header block that names a 4000-byte table entry again and again: the stream
/// gets 431, the connection (whose HPACK table stays in step) goes on.
#[test]
fn a_decompression_bomb_gets_431_on_its_stream_only() {
    let server = Server::start(&[]);
    let mut s = open(&server);
    let mut block = literal_block(&WEBSOCKET);
    // Literal with incremental indexing, new name: x-big = 4000 × 'a' (index 62).
    block.push(0x40);
    hpack_string(&mut block, b"x-big");
    hpack_string(&mut block, &[b'a'; 4000]);
    block.extend(std::iter::repeat_n(0xbe, 3000));
    s.write_all(&frame(HEADERS, END_HEADERS, 1, &block))
        .unwrap();
    let response = read_until(&mut s, |f| f.kind == HEADERS && f.stream == 1).unwrap();
    assert_eq!(status_of(&response.payload), Some(431), "{response:?}");
    // Index 62 is still x-big: a request that names it once is within the limit.
    let mut next = literal_block(&WEBSOCKET);
    next.push(0xbe);
    s.write_all(&frame(HEADERS, END_HEADERS, 3, &next)).unwrap();
    let response = read_until(&mut s, |f| f.kind == HEADERS && f.stream == 3).unwrap();
    assert_eq!(status_of(&response.payload), Some(200), "{response:?}");
    let rss = rss_kib(server.pid());
    assert!(rss < 32 << 10, "{rss} KiB after the bomb");
}

/// A field block that never ends: CONTINUATION after CONTINUATION.
#[test]
fn a_continuation_flood_gets_goaway_with_memory_bounded() {
    let server = Server::start(&[]);
    let mut s = open(&server);
    s.write_all(&frame(HEADERS, 0, 1, &literal_block(&WEBSOCKET)))
        .unwrap();
    let piece = frame(CONTINUATION, 0, 1, &[0x40; 1000]);
    let mut sent = 0;
    while sent < 100_000 {
        if s.write_all(&piece).is_err() {
            break;
        }
        sent += 1;
    }
    let (code, debug) = goaway(&mut s);
    assert_eq!(code, ENHANCE_YOUR_CALM, "{debug}");
    assert!(debug.contains("CONTINUATION"), "{debug}");
    let rss = rss_kib(server.pid());
    assert!(rss < 32 << 10, "{rss} KiB after the flood");
    still_served(&server);
}

/// PINGs from a client that never reads its socket: the answers are bounded.
#[test]
fn a_ping_flood_that_reads_nothing_is_stopped() {
    let server = Server::start(&[]);
    let mut s = open(&server);
    let ping = frame(PING, 0, 0, &[7; 8]);
    let burst: Vec<u8> = std::iter::repeat_n(ping, 5000).flatten().collect();
    let _ = s.write_all(&burst);
    let (code, debug) = goaway(&mut s);
    assert_eq!(code, ENHANCE_YOUR_CALM, "{debug}");
    let rss = rss_kib(server.pid());
    assert!(rss < 32 << 10, "{rss} KiB after the flood");
    still_served(&server);
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}
