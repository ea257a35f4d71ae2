//! Hostile HTTP/2 clients against the real binary, over raw TCP (h2c with prior
//! knowledge), one test per attack: what the `h2` crate's client never sends, written
//! byte for byte with `wsecho_test_support::h2_frames`. Each test asserts the frames
//! wsecho answers with (GOAWAY's last stream, code and debug text, RST_STREAM's code,
//! `:status`), that its memory stays bounded where the attack aims at it, and that a
//! fresh connection is served afterwards.
//!
//! The limits are wsecho's own constants (`wsecho::fuzzing::h2::session`), so that a test
//! follows a limit that moves; the protocol's codes come from the test support, so that
//! a wrong code in the server is caught.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::tls::TlsServer;
use common::{Server, rss_kib, wait_server_read_all};
use wsecho::fuzzing::config::defaults::MAX_HEADER_BYTES;
use wsecho::fuzzing::h2::session::{
    DEFAULT_MAX_CONCURRENT_STREAMS, DEFAULT_MAX_OVERHEAD_FRAMES, DEFAULT_MAX_PEER_RESETS,
    HEADER_BLOCK_SLACK,
};
use wsecho_test_support::frames::{OP_TEXT, client_frame, server_frame};
use wsecho_test_support::h2_frames::*;

const WAIT: Duration = Duration::from_secs(5);
/// The server's resident memory after an attack on it: a few MiB at rest.
const RSS_BOUND_KIB: u64 = 64 << 10;

/// A connection past both prefaces, the server's SETTINGS checked.
fn open(server: &Server) -> TcpStream {
    let mut s = server.connect();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let theirs = handshake(&mut s).unwrap();
    assert!(
        theirs.contains(&(SETTINGS_ENABLE_CONNECT_PROTOCOL, 1))
            && theirs.contains(&(
                SETTINGS_MAX_CONCURRENT_STREAMS,
                DEFAULT_MAX_CONCURRENT_STREAMS
            )),
        "{theirs:?}"
    );
    s
}

/// The extended CONNECT block (RFC 8441 §4), literals without indexing.
fn connect_block() -> Vec<u8> {
    literal_block(&WEBSOCKET_CONNECT)
}

/// Opens a WebSocket on `stream` and returns the response's HEADERS.
fn connect(s: &mut TcpStream, stream: u32) -> Frame {
    s.write_all(&headers(stream, &connect_block())).unwrap();
    response(s, stream)
}

/// The HEADERS answering `stream`.
fn response(s: &mut TcpStream, stream: u32) -> Frame {
    let (f, before) = read_until(s, |f| f.kind == HEADERS && f.stream == stream).unwrap();
    assert!(
        before.iter().all(|f| f.kind != GOAWAY),
        "a GOAWAY before {stream}'s answer: {before:?}"
    );
    f
}

/// A text message echoed on `stream`, an open WebSocket.
fn echoes(s: &mut TcpStream, stream: u32, text: &[u8]) {
    let message = client_frame(true, 0, OP_TEXT, [1, 2, 3, 4], text);
    s.write_all(&data(stream, &message, false)).unwrap();
    let (echo, _) = read_until(s, |f| f.kind == DATA && f.stream == stream).unwrap();
    assert_eq!(echo.payload, server_frame(true, 0, OP_TEXT, text));
}

/// A fresh connection opens a WebSocket that echoes.
fn still_served(server: &Server) {
    let mut s = open(server);
    let answer = connect(&mut s, 1);
    assert_eq!(answer.status(), Some(200), "{answer:?}");
    echoes(&mut s, 1, b"still served");
}

/// Reads to the GOAWAY, which must be the last frame before the connection closes;
/// returns it and the frames before it.
fn goaway_then_close(s: &mut TcpStream) -> (GoAway, Vec<Frame>) {
    let (f, before) = read_until(s, |f| f.kind == GOAWAY).unwrap();
    let g = f.goaway().unwrap();
    let after = read_to_close(s).unwrap_or_else(|e| panic!("no close after {g:?}: {e}"));
    assert!(after.is_empty(), "frames after {g:?}: {after:?}");
    (g, before)
}

/// The end of an attack: GOAWAY naming `last_stream`, with `code` and `debug`, as the
/// last frame before the close, and a fresh connection still served. Returns the
/// frames that came before the GOAWAY.
fn ends_in_goaway(
    server: &Server,
    s: &mut TcpStream,
    last_stream: u32,
    code: u32,
    debug: &str,
) -> Vec<Frame> {
    let (g, before) = goaway_then_close(s);
    let expected = GoAway {
        last_stream,
        code,
        debug: debug.into(),
    };
    assert_eq!(g, expected);
    still_served(server);
    before
}

const FLOOD: &str = "RFC 9113 §10.5: too many frames without data (flood)";

fn assert_rss_bounded(server: &Server, after: &str) {
    let rss = rss_kib(server.pid());
    assert!(rss < RSS_BOUND_KIB, "{rss} KiB after {after}");
}

/// A preface that goes wrong after a first read that was a prefix of it (so the
/// connection was taken for HTTP/2): GOAWAY PROTOCOL_ERROR naming §3.4, last stream 0,
/// then the close.
#[test]
fn a_bad_preface_gets_goaway_protocol_error() {
    let server = Server::start(&[]);
    let mut s = server.connect();
    s.write_all(b"PRI * HTTP/2.0\r\n").unwrap();
    assert!(
        wait_server_read_all(&s, WAIT),
        "the server never read the preface's first part"
    );
    s.write_all(b"\r\nXX\r\n\r\n").unwrap();
    let debug = "RFC 9113 §3.4: invalid connection preface";
    ends_in_goaway(&server, &mut s, 0, PROTOCOL_ERROR, debug);
}

/// The same bad preface in one read is no HTTP/2 client's (its 24 octets are not the
/// preface): the port's HTTP/1.1 side answers it, 400 for its version "HTTP/2.0".
#[test]
fn a_bad_preface_in_one_read_is_answered_in_http1() {
    let server = Server::start(&[]);
    let mut s = server.connect();
    s.write_all(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.ends_with("invalid HTTP version\n"), "{answer}");
    still_served(&server);
}

/// A preface followed by something other than SETTINGS (a PING): GOAWAY PROTOCOL_ERROR,
/// §3.4.
#[test]
fn a_preface_without_settings_gets_goaway_protocol_error() {
    let server = Server::start(&[]);
    let mut s = server.connect();
    let mut bytes = PREFACE.to_vec();
    bytes.extend(ping([0; 8]));
    s.write_all(&bytes).unwrap();
    let debug = "RFC 9113 §3.4: the client preface must be followed by SETTINGS";
    ends_in_goaway(&server, &mut s, 0, PROTOCOL_ERROR, debug);
}

/// CVE-2023-44487: extended CONNECTs each reset (CANCEL) at once, past the limit of
/// resets a window. The reset after the limit ends the connection with GOAWAY
/// ENHANCE_YOUR_CALM naming the last stream opened, the one whose reset was too many.
#[test]
fn rapid_reset_gets_goaway_enhance_your_calm() {
    let server = Server::start(&[]);
    let mut s = open(&server);
    let block = connect_block();
    let mut burst = Vec::new();
    let attempts = DEFAULT_MAX_PEER_RESETS + 200;
    for i in 0..attempts {
        let id = 2 * i + 1;
        burst.extend(headers(id, &block));
        burst.extend(rst_stream(id, CANCEL));
    }
    // The server stops reading at its GOAWAY: the end of the burst may not be taken.
    let _ = s.write_all(&burst);
    let last = 2 * DEFAULT_MAX_PEER_RESETS + 1;
    let debug = "CVE-2023-44487: too many streams reset by the peer (rapid reset)";
    ends_in_goaway(&server, &mut s, last, ENHANCE_YOUR_CALM, debug);
}

/// An HPACK bomb: a 4000-octet field put in the dynamic table, then named 3000 times
/// in one short block (12 MB decoded from 7 KB). The stream is answered 431 and ended;
/// the table stays in step, so the same connection opens a WebSocket whose block names
/// the entry once, and it echoes.
#[test]
fn an_hpack_bomb_gets_431_on_its_stream_only() {
    let server = Server::start(&[]);
    let mut s = open(&server);
    let mut bomb = connect_block();
    push_indexing(&mut bomb, b"x-big", &[b'a'; 4000]);
    for _ in 0..3000 {
        push_indexed(&mut bomb, FIRST_DYNAMIC_INDEX);
    }
    assert!(bomb.len() < 16 << 10, "one frame");
    s.write_all(&headers(1, &bomb)).unwrap();
    let answer = response(&mut s, 1);
    assert_eq!(answer.status(), Some(431), "{answer:?}");
    if !answer.has(END_STREAM) {
        let (end, _) = read_until(&mut s, |f| f.stream == 1 && f.has(END_STREAM)).unwrap();
        assert_eq!(end.kind, DATA, "{end:?}");
    }
    let mut once = connect_block();
    push_indexed(&mut once, FIRST_DYNAMIC_INDEX);
    s.write_all(&headers(3, &once)).unwrap();
    let answer = response(&mut s, 3);
    assert_eq!(answer.status(), Some(200), "{answer:?}");
    echoes(&mut s, 3, b"after the bomb");
    assert_rss_bounded(&server, "the bomb");
    still_served(&server);
}

/// A field block that never ends: HEADERS without END_HEADERS, then CONTINUATIONs of
/// 1000 octets. Past what wsecho buffers of a block (twice the header list limit and
/// a slack) comes GOAWAY ENHANCE_YOUR_CALM; the block's stream was never acted on, so
/// the last stream is 0.
#[test]
fn a_continuation_flood_gets_goaway_enhance_your_calm() {
    let server = Server::start(&[]);
    let mut s = open(&server);
    let first = connect_block();
    s.write_all(&frame(HEADERS, 0, 1, &first)).unwrap();
    let piece = frame(CONTINUATION, 0, 1, &[0x40; 1000]);
    let buffered = 2 * MAX_HEADER_BYTES + HEADER_BLOCK_SLACK;
    // Ten times what it takes: the rest finds the connection closed.
    for _ in 0..10 * (buffered / 1000 + 1) {
        if s.write_all(&piece).is_err() {
            break;
        }
    }
    let debug = "RFC 9113 §10.5.1: a field block larger than we buffer (CONTINUATION flood)";
    ends_in_goaway(&server, &mut s, 0, ENHANCE_YOUR_CALM, debug);
    assert_rss_bounded(&server, "the CONTINUATION flood");
}

/// The same flood of empty CONTINUATIONs, which grow no buffer: they count as frames
/// without data, and past that limit comes GOAWAY ENHANCE_YOUR_CALM (§10.5).
#[test]
fn an_empty_continuation_flood_gets_goaway_enhance_your_calm() {
    let server = Server::start(&[]);
    let mut s = open(&server);
    let mut burst = frame(HEADERS, 0, 1, &connect_block());
    let piece = frame(CONTINUATION, 0, 1, &[]);
    for _ in 0..DEFAULT_MAX_OVERHEAD_FRAMES + 100 {
        burst.extend_from_slice(&piece);
    }
    let _ = s.write_all(&burst);
    ends_in_goaway(&server, &mut s, 0, ENHANCE_YOUR_CALM, FLOOD);
    assert_rss_bounded(&server, "the empty CONTINUATION flood");
}

/// PINGs from a client that reads nothing until it has sent them all: each is answered
/// until the limit of frames without data (the client's SETTINGS and SETTINGS ack
/// count too), then GOAWAY ENHANCE_YOUR_CALM; what waits for the client stays bounded.
#[test]
fn a_ping_flood_that_reads_nothing_gets_goaway_enhance_your_calm() {
    let server = Server::start(&[]);
    let mut s = open(&server);
    let mut burst = Vec::new();
    for i in 0..2 * DEFAULT_MAX_OVERHEAD_FRAMES {
        burst.extend(ping(u64::from(i).to_be_bytes()));
    }
    let _ = s.write_all(&burst);
    assert_rss_bounded(&server, "the PING flood, unread");
    let before = ends_in_goaway(&server, &mut s, 0, ENHANCE_YOUR_CALM, FLOOD);
    let acks: Vec<&Frame> = before.iter().filter(|f| f.kind == PING).collect();
    assert!(acks.iter().all(|f| f.has(ACK)));
    assert_eq!(acks.len() as u32, DEFAULT_MAX_OVERHEAD_FRAMES - 2);
    assert_eq!(acks[0].payload, 0u64.to_be_bytes());
}

/// SETTINGS after SETTINGS: each acknowledged until the limit of frames without data,
/// then GOAWAY ENHANCE_YOUR_CALM.
#[test]
fn a_settings_flood_gets_goaway_enhance_your_calm() {
    let server = Server::start(&[]);
    let mut s = open(&server);
    let one = settings(&[(SETTINGS_INITIAL_WINDOW_SIZE, 65_535)]);
    let burst: Vec<u8> = std::iter::repeat_n(one, 2 * DEFAULT_MAX_OVERHEAD_FRAMES as usize)
        .flatten()
        .collect();
    let _ = s.write_all(&burst);
    let before = ends_in_goaway(&server, &mut s, 0, ENHANCE_YOUR_CALM, FLOOD);
    let acks = before
        .iter()
        .filter(|f| f.kind == SETTINGS && f.has(ACK))
        .count();
    // The handshake's SETTINGS and ack were the first two frames counted.
    assert_eq!(acks as u32, DEFAULT_MAX_OVERHEAD_FRAMES - 2);
}

/// One extended CONNECT more than SETTINGS_MAX_CONCURRENT_STREAMS: that stream gets
/// RST_STREAM REFUSED_STREAM (§5.1.2), the others keep echoing, and once one is reset a
/// new one opens.
#[test]
fn a_stream_past_max_concurrent_streams_is_refused() {
    let server = Server::start(&[]);
    let mut s = open(&server);
    let block = connect_block();
    let n = DEFAULT_MAX_CONCURRENT_STREAMS;
    let mut burst = Vec::new();
    for i in 0..=n {
        burst.extend(headers(2 * i + 1, &block));
    }
    s.write_all(&burst).unwrap();
    let extra = 2 * n + 1;
    let mut answered = 0;
    let refusal = loop {
        let f = read_frame(&mut s).unwrap();
        assert_ne!(f.kind, GOAWAY, "{:?}", f.goaway());
        if f.kind == HEADERS {
            assert!(f.stream < extra, "{f:?}");
            assert_eq!(f.status(), Some(200), "{f:?}");
            answered += 1;
        }
        if f.kind == RST_STREAM {
            break f;
        }
    };
    assert_eq!(
        (refusal.stream, refusal.rst_code()),
        (extra, Some(REFUSED_STREAM))
    );
    while answered < n {
        let f = read_frame(&mut s).unwrap();
        assert!(f.kind != RST_STREAM && f.kind != GOAWAY, "{f:?}");
        answered += u32::from(f.kind == HEADERS && f.status() == Some(200));
    }
    echoes(&mut s, 1, b"first");
    echoes(&mut s, extra - 2, b"last");
    s.write_all(&rst_stream(1, CANCEL)).unwrap();
    let answer = connect(&mut s, extra + 2);
    assert_eq!(answer.status(), Some(200), "{answer:?}");
    echoes(&mut s, extra + 2, b"one more");
}

/// DATA on a stream the client reset itself: §5.1, "An endpoint that receives any frame
/// other than PRIORITY after receiving a RST_STREAM MUST treat that as a stream error
/// ... of type STREAM_CLOSED": RST_STREAM STREAM_CLOSED on it, and the connection goes
/// on.
#[test]
fn data_after_the_client_reset_its_stream_gets_stream_closed() {
    let server = Server::start(&[]);
    let mut s = open(&server);
    assert_eq!(connect(&mut s, 1).status(), Some(200));
    let mut bytes = rst_stream(1, CANCEL);
    bytes.extend(data(1, b"late", false));
    s.write_all(&bytes).unwrap();
    let (rst, before) = read_until(&mut s, |f| f.kind == RST_STREAM).unwrap();
    assert!(before.iter().all(|f| f.kind != GOAWAY), "{before:?}");
    assert_eq!((rst.stream, rst.rst_code()), (1, Some(STREAM_CLOSED)));
    assert_eq!(connect(&mut s, 3).status(), Some(200));
    echoes(&mut s, 3, b"after STREAM_CLOSED");
}

/// DATA on a stream never opened (idle): §5.1, a connection error PROTOCOL_ERROR. The
/// GOAWAY names the last stream opened (1); a PING sent after it is not answered, and
/// the connection closes.
#[test]
fn data_on_an_idle_stream_gets_goaway_then_nothing_more() {
    let server = Server::start(&[]);
    let mut s = open(&server);
    assert_eq!(connect(&mut s, 1).status(), Some(200));
    s.write_all(&data(5, b"never opened", false)).unwrap();
    let (f, _) = read_until(&mut s, |f| f.kind == GOAWAY).unwrap();
    assert_eq!(
        f.goaway(),
        Some(GoAway {
            last_stream: 1,
            code: PROTOCOL_ERROR,
            debug: "RFC 9113 §5.1: DATA on an idle stream".into()
        })
    );
    // Frames after the GOAWAY: ignored (the connection may already be gone).
    let _ = s.write_all(&ping([9; 8]));
    assert_eq!(read_to_close(&mut s).unwrap(), []);
    still_served(&server);
}

/// A stream opened below the last one (RFC 9113 §5.1.1: identifiers only grow): a
/// connection error, GOAWAY PROTOCOL_ERROR naming the last stream, then the close.
#[test]
fn a_stream_opened_below_the_last_gets_goaway_protocol_error() {
    let server = Server::start(&[]);
    let mut s = open(&server);
    assert_eq!(connect(&mut s, 5).status(), Some(200));
    s.write_all(&headers(3, &connect_block())).unwrap();
    ends_in_goaway(
        &server,
        &mut s,
        5,
        PROTOCOL_ERROR,
        "RFC 9113 §5.1.1: HEADERS on a stream identifier below the last one",
    );
}

/// The client's GOAWAY (NO_ERROR) while a WebSocket is open: the stream goes on
/// echoing; once it is gone the server closes the connection.
#[test]
fn a_client_goaway_lets_its_open_stream_finish() {
    let server = Server::start(&[]);
    let mut s = open(&server);
    assert_eq!(connect(&mut s, 1).status(), Some(200));
    s.write_all(&goaway(0, NO_ERROR, b"leaving")).unwrap();
    echoes(&mut s, 1, b"after our GOAWAY");
    s.write_all(&rst_stream(1, CANCEL)).unwrap();
    assert_eq!(read_to_close(&mut s).unwrap(), []);
    still_served(&server);
}

/// A stream the client opens after its own GOAWAY, when it had no stream open: wsecho
/// answers it 200 (the WebSocket is open, for the client) and then drops TCP with no
/// GOAWAY and no end of the stream. It should either refuse the stream (RST_STREAM
/// REFUSED_STREAM) or serve it; §6.8: "Endpoints SHOULD always send a GOAWAY frame
/// before closing a connection".
#[test]
fn a_stream_opened_after_the_client_goaway_is_not_dropped() {
    let server = Server::start(&[]);
    let mut s = open(&server);
    let mut bytes = goaway(0, NO_ERROR, b"leaving");
    bytes.extend(headers(1, &connect_block()));
    s.write_all(&bytes).unwrap();
    let f = read_frame(&mut s).unwrap();
    if f.kind == RST_STREAM {
        assert_eq!((f.stream, f.rst_code()), (1, Some(REFUSED_STREAM)));
    } else {
        assert_eq!((f.kind, f.stream, f.status()), (HEADERS, 1, Some(200)));
        echoes(&mut s, 1, b"served");
    }
}

/// A client that resets its TCP connection (it closes with the server's echo unread,
/// so its kernel sends RST): the connection's log line still names it, though the
/// socket can no longer say who it was once reset.
#[test]
fn a_connection_the_client_resets_is_logged_with_its_address() {
    let server = Server::start(&[]);
    let mut s = open(&server);
    let client = s.local_addr().unwrap();
    let answer = connect(&mut s, 1);
    assert_eq!(answer.status(), Some(200), "{answer:?}");
    echoes(&mut s, 1, b"before the reset");
    let message = client_frame(true, 0, OP_TEXT, [1, 2, 3, 4], &[b'x'; 1000]);
    s.write_all(&data(1, &message, false)).unwrap();
    // The echo arrived and stays unread: closing now makes the kernel send RST.
    let mut first = [0u8; 1];
    assert_eq!(s.peek(&mut first).unwrap(), 1, "the echo never came");
    drop(s);
    let log = server.wait_for_log("(HTTP/2, 1 streams)", 1, WAIT);
    let line = log
        .lines()
        .find(|l| l.contains("(HTTP/2, 1 streams)"))
        .unwrap_or_default();
    assert!(
        line.contains(&client.to_string()),
        "the line should name {client}: {line}"
    );
    still_served(&server);
}

/// The worst round trip an echo client on another connection may see while one client
/// floods the server (issue 25's target).
const ECHO_RTT_BOUND: Duration = Duration::from_millis(50);
/// The most the server's memory may grow under one flooding client.
const FLOOD_RSS_GROWTH_KIB: u64 = 32 << 10;
/// How long the echo client measures while the flood goes on: one window.
const FLOOD_MEASURE: Duration = Duration::from_millis(1500);
/// Windows measured at most. A loaded machine may deschedule the server or the echo
/// client now and then, for longer than the bound: the server passes once a whole
/// window stays under it. A server that stalls under the flood stalls in every one.
const FLOOD_WINDOWS: usize = 5;
/// The requests a flooder writes at a time.
const FLOOD_BATCH: u32 = 2048;

/// A flooding client's transport: cleartext (h2c) or TLS with ALPN h2, its socket
/// non-blocking once connected.
enum FloodWire {
    Plain(TcpStream),
    Tls(Box<rustls::ClientConnection>, TcpStream),
}

impl FloodWire {
    /// Connects and sends the client preface and SETTINGS, with the ack of the server's
    /// SETTINGS (which an HTTP/2 peer may send before it sees them).
    fn open(
        addr: SocketAddr,
        tls: Option<&Arc<rustls::ClientConfig>>,
        reads: bool,
    ) -> std::io::Result<FloodWire> {
        let mut hello = client_preface(&[]);
        hello.extend(settings_ack());
        let socket = TcpStream::connect(addr)?;
        socket.set_read_timeout(Some(WAIT))?;
        if !reads {
            // What the server sends waits in the kernel: a little of it, so that a
            // connection the server stops reading is seen soon.
            small_buffers(&socket);
        }
        let mut wire = match tls {
            None => FloodWire::Plain(socket),
            Some(config) => {
                let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
                let mut conn = rustls::ClientConnection::new(Arc::clone(config), name).unwrap();
                let mut socket = socket;
                while conn.is_handshaking() {
                    conn.complete_io(&mut socket)?;
                }
                assert_eq!(conn.alpn_protocol(), Some(&b"h2"[..]));
                FloodWire::Tls(Box::new(conn), socket)
            }
        };
        wire.socket().set_nonblocking(true)?;
        let mut at = 0;
        while at < hello.len() {
            at += wire.send(&hello[at..])?;
        }
        Ok(wire)
    }

    fn socket(&self) -> &TcpStream {
        match self {
            FloodWire::Plain(s) | FloodWire::Tls(_, s) => s,
        }
    }

    /// Writes what the socket takes of `bytes` (over TLS: all of it is encrypted once
    /// the previous records went out); the count taken.
    fn send(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        match self {
            FloodWire::Plain(s) => match s.write(bytes) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(0),
                other => other,
            },
            FloodWire::Tls(conn, s) => {
                while conn.wants_write() {
                    match conn.write_tls(s) {
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(0),
                        Err(e) => return Err(e),
                        Ok(_) => {}
                    }
                }
                conn.writer().write_all(bytes)?;
                Ok(bytes.len())
            }
        }
    }

    /// Reads and drops what the server sent; `false` once it closed.
    fn discard(&mut self, buf: &mut [u8]) -> bool {
        loop {
            let read = match self {
                FloodWire::Plain(s) => s.read(buf),
                FloodWire::Tls(conn, s) => match conn.read_tls(s) {
                    Ok(0) => Ok(0),
                    Ok(n) => {
                        if conn.process_new_packets().is_err() {
                            return false;
                        }
                        while matches!(conn.reader().read(buf), Ok(n) if n > 0) {}
                        Ok(n)
                    }
                    Err(e) => Err(e),
                },
            };
            match read {
                Ok(0) => return false,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
                Err(_) => return false,
            }
        }
    }
}

/// Shrinks the kernel's buffers of `socket` both ways.
fn small_buffers(socket: &TcpStream) {
    use std::os::fd::AsRawFd;
    let size: libc::c_int = 16 << 10;
    for option in [libc::SO_RCVBUF, libc::SO_SNDBUF] {
        // SAFETY: a valid socket and a c_int option value of the size given.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                option,
                (&raw const size).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        assert_eq!(rc, 0, "setsockopt: {}", std::io::Error::last_os_error());
    }
}

/// `FLOOD_BATCH` HEAD requests from stream `first` on, each ending its stream: after
/// the first, whose fields are indexed, 13 octets each.
fn head_requests(first: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..FLOOD_BATCH {
        let stream = first + 2 * i;
        let mut block = Vec::new();
        if stream == 1 {
            push_indexing(&mut block, b":authority", b"flood");
            push_indexing(&mut block, b":method", b"HEAD");
        } else {
            // The table's newest entry comes first: :method HEAD, then :authority.
            push_indexed(&mut block, FIRST_DYNAMIC_INDEX);
            push_indexed(&mut block, FIRST_DYNAMIC_INDEX + 1);
        }
        push_indexed(&mut block, 6); // :scheme http
        push_indexed(&mut block, 4); // :path /
        out.extend(frame(HEADERS, END_HEADERS | END_STREAM, stream, &block));
    }
    out
}

/// How long a client that reads nothing keeps a connection the server no longer takes
/// bytes from, before it closes it and floods on a fresh one.
const FLOOD_STUCK: Duration = Duration::from_millis(200);

/// A client that sends HEAD requests as fast as the server takes them, reading every
/// answer (`reads`) or none, on one connection after another (a connection the server
/// ends, or that takes no more, is replaced) until stopped. Returns the requests it
/// sent.
fn flood(
    addr: SocketAddr,
    tls: Option<Arc<rustls::ClientConfig>>,
    reads: bool,
    stop: Arc<AtomicBool>,
    sent_bytes: Arc<AtomicU64>,
) -> thread::JoinHandle<u64> {
    thread::spawn(move || {
        let mut wire = FloodWire::open(addr, tls.as_ref(), reads).unwrap();
        let mut sent = 0u64;
        let mut next = 1u32;
        let mut batch = head_requests(next);
        let mut at = 0;
        let mut buf = vec![0u8; 64 << 10];
        let mut progress = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            let (taken, mut open) = match wire.send(&batch[at..]) {
                Ok(n) => (n, true),
                Err(_) => (0, false),
            };
            at += taken;
            sent_bytes.fetch_add(taken as u64, Ordering::Relaxed);
            if at == batch.len() {
                sent += u64::from(FLOOD_BATCH);
                next += 2 * FLOOD_BATCH;
                batch = head_requests(next);
                at = 0;
            }
            if taken > 0 {
                progress = Instant::now();
            }
            if reads {
                open &= wire.discard(&mut buf);
            } else if progress.elapsed() > FLOOD_STUCK {
                open = false;
            }
            if !open {
                // The server ended the connection, or it takes nothing more: another
                // takes its place.
                match FloodWire::open(addr, tls.as_ref(), reads) {
                    Ok(fresh) => wire = fresh,
                    Err(_) => break,
                }
                progress = Instant::now();
                next = 1;
                batch = head_requests(next);
                at = 0;
            } else if taken == 0 {
                // Pacing while the server takes nothing, not a wait for an event.
                thread::sleep(Duration::from_millis(1));
            }
        }
        sent
    })
}

/// What one flood did to an echo client beside it.
struct FloodOutcome {
    /// The worst round trip of each window measured.
    worst_rtts: Vec<Duration>,
    round_trips: u32,
    rss_growth_kib: u64,
    requests: u64,
}

/// Floods `server` with one client (over TLS with `tls`) while a WebSocket client on
/// another connection echoes a short message again and again; the echo's worst round
/// trip and the server's memory growth.
fn echo_beside_flood(
    server: &Server,
    tls: Option<Arc<rustls::ClientConfig>>,
    reads: bool,
) -> FloodOutcome {
    let mut echo = server.open();
    // Long enough to measure a stalled server's delay rather than fail on it.
    echo.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let message = client_frame(true, 0, OP_TEXT, [1, 2, 3, 4], b"beside the flood");
    let round_trip = |echo: &mut TcpStream| {
        let start = Instant::now();
        echo.write_all(&message).unwrap();
        let frame = common::read_frame(echo);
        assert_eq!(frame.payload, b"beside the flood");
        start.elapsed()
    };
    round_trip(&mut echo);
    let rss_before = rss_kib(server.pid());
    let stop = Arc::new(AtomicBool::new(false));
    let sent_bytes = Arc::new(AtomicU64::new(0));
    let flooder = flood(
        server.addr(),
        tls,
        reads,
        Arc::clone(&stop),
        Arc::clone(&sent_bytes),
    );
    // The flood is on once a few batches went.
    let on = Instant::now();
    while sent_bytes.load(Ordering::Relaxed) < 4 * head_requests(3).len() as u64 {
        assert!(on.elapsed() < WAIT, "the flood never reached the server");
        round_trip(&mut echo);
    }
    let mut worst_rtts = Vec::new();
    let mut round_trips = 0;
    while worst_rtts.len() < FLOOD_WINDOWS && !worst_rtts.iter().any(|&w| w < ECHO_RTT_BOUND) {
        let mut worst = Duration::ZERO;
        let start = Instant::now();
        while start.elapsed() < FLOOD_MEASURE {
            worst = worst.max(round_trip(&mut echo));
            round_trips += 1;
        }
        worst_rtts.push(worst);
    }
    let rss_growth_kib = rss_kib(server.pid()).saturating_sub(rss_before);
    stop.store(true, Ordering::Relaxed);
    let requests = flooder.join().unwrap();
    FloodOutcome {
        worst_rtts,
        round_trips,
        rss_growth_kib,
        requests,
    }
}

/// Checks one flood's outcome against issue 25's targets, and shows it.
fn assert_flood_contained(what: &str, outcome: &FloodOutcome) {
    eprintln!(
        "{what}: worst echo round trip of each window {:?} ({} round trips), RSS +{} KiB, \
         {} requests written",
        outcome.worst_rtts, outcome.round_trips, outcome.rss_growth_kib, outcome.requests
    );
    assert!(
        outcome.worst_rtts.iter().any(|&w| w < ECHO_RTT_BOUND),
        "{what}: an echo waited longer than {ECHO_RTT_BOUND:?} in every window: {:?}",
        outcome.worst_rtts
    );
    assert!(
        outcome.rss_growth_kib < FLOOD_RSS_GROWTH_KIB,
        "{what}: RSS grew by {} KiB",
        outcome.rss_growth_kib
    );
}

/// A client asking HEAD after HEAD, each answer ending its stream in the same read, and
/// reading every answer: the server serves an echo client beside it at once.
#[test]
fn a_head_flood_that_reads_does_not_stall_other_clients() {
    let server = Server::start(&[]);
    let outcome = echo_beside_flood(&server, None, true);
    assert_flood_contained("h2c, reading", &outcome);
    still_served(&server);
}

/// The same flood from a client that reads nothing, on a fresh connection each time
/// the server stops taking its bytes: its answers wait, bounded.
#[test]
fn a_head_flood_that_reads_nothing_does_not_stall_other_clients() {
    let server = Server::start(&[]);
    let outcome = echo_beside_flood(&server, None, false);
    assert_flood_contained("h2c, not reading", &outcome);
    still_served(&server);
}

/// A TLS client configuration offering only h2 and trusting `tls`'s certificate.
fn h2_over_tls(tls: &TlsServer) -> Arc<rustls::ClientConfig> {
    let mut config = (*tls.client_config()).clone();
    config.alpn_protocols = vec![b"h2".to_vec()];
    Arc::new(config)
}

/// The reading HEAD flood over TLS (ALPN h2).
#[test]
fn a_head_flood_over_tls_that_reads_does_not_stall_other_clients() {
    let tls = TlsServer::start(&[]);
    let outcome = echo_beside_flood(&tls.server, Some(h2_over_tls(&tls)), true);
    assert_flood_contained("h2 over TLS, reading", &outcome);
    still_served(&tls.server);
}

/// The HEAD flood over TLS from a client that reads nothing.
#[test]
fn a_head_flood_over_tls_that_reads_nothing_does_not_stall_other_clients() {
    let tls = TlsServer::start(&[]);
    let outcome = echo_beside_flood(&tls.server, Some(h2_over_tls(&tls)), false);
    assert_flood_contained("h2 over TLS, not reading", &outcome);
    still_served(&tls.server);
}
