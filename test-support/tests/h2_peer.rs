//! The Rust RFC 8441 client (`h2_client`) against a running HTTP/2 WebSocket echo
//! server, over h2c and TLS: the same cases as tests/python/test_h2.py, so that the two
//! clients are checked against one independent server (hypercorn) before either is
//! trusted to check wsecho. Ignored by default; scripts/test-h2-clients.sh runs them:
//!
//! ```text
//! H2_PEER=127.0.0.1:PORT H2_TLS_PEER=127.0.0.1:PORT H2_TLS_CERT=cert.pem \
//! H2_TLS_NAME=localhost H2_PEER_KIND=wsecho|hypercorn \
//! cargo test -p wsecho-test-support --features h2 --test h2_peer -- --ignored
//! ```
//!
//! `H2_PEER_KIND=hypercorn` tolerates hypercorn 0.18.0's two known close departures,
//! asserting they are exactly those (see tests/python/test_h2.py's doc): no END_STREAM
//! after a close handshake the client started, and a dropped connection on DATA after
//! a close handshake (so END_STREAM rides on the close frame, and nothing is checked
//! on the connection after answering its own close). `wsecho` (the default) checks
//! all of it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use wsecho_test_support::frames::{
    OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, RawFrame, ServerFrame,
};
use wsecho_test_support::h2_client::{H2Connection, H2WebSocket, StreamEnd};

const WAIT: Duration = Duration::from_secs(10);
/// How long something must not come.
const QUIET: Duration = Duration::from_millis(500);
const VERSION: (&str, &str) = ("sec-websocket-version", "13");

/// One way to reach the peer.
enum Transport {
    H2c(SocketAddr),
    Tls(SocketAddr, String, Arc<rustls::ClientConfig>),
}

impl Transport {
    fn connect(&self) -> H2Connection {
        match self {
            Transport::H2c(addr) => H2Connection::connect(*addr),
            Transport::Tls(addr, name, config) => {
                H2Connection::connect_tls(*addr, name, config.clone())
            }
        }
        .unwrap_or_else(|e| panic!("connecting to {}: {e}", self.label()))
    }

    fn label(&self) -> String {
        match self {
            Transport::H2c(addr) => format!("h2c {addr}"),
            Transport::Tls(addr, name, _) => format!("TLS {addr} ({name})"),
        }
    }
}

/// The peer the environment names: its transports, and whether it is held to every
/// check (wsecho) or to hypercorn's known departures.
struct Peer {
    transports: Vec<Transport>,
    strict: bool,
}

fn peer() -> Peer {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let addr = |v: String| v.parse::<SocketAddr>().expect("HOST:PORT, an IP address");
    let mut transports = Vec::new();
    if let Some(h2c) = env("H2_PEER") {
        transports.push(Transport::H2c(addr(h2c)));
    }
    if let Some(tls) = env("H2_TLS_PEER") {
        let cert_path = env("H2_TLS_CERT").expect("H2_TLS_CERT with H2_TLS_PEER");
        let cert = CertificateDer::from_pem_file(&cert_path).expect("H2_TLS_CERT's PEM");
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert).expect("a certificate rustls takes");
        let config = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = env("H2_TLS_NAME").unwrap_or_else(|| "localhost".into());
        transports.push(Transport::Tls(addr(tls), name, Arc::new(config)));
    }
    assert!(!transports.is_empty(), "set H2_PEER and/or H2_TLS_PEER");
    let kind = env("H2_PEER_KIND").unwrap_or_else(|| "wsecho".into());
    assert!(
        kind == "wsecho" || kind == "hypercorn",
        "H2_PEER_KIND {kind:?}"
    );
    Peer {
        transports,
        strict: kind == "wsecho",
    }
}

/// Runs `case` once a transport.
fn each(case: impl Fn(&Transport, bool)) {
    let peer = peer();
    for t in &peer.transports {
        eprintln!("-- over {}", t.label());
        case(t, peer.strict);
    }
}

fn open(conn: &H2Connection, path: &str, extra: &[(&str, &str)]) -> H2WebSocket {
    let mut headers = vec![VERSION];
    headers.extend_from_slice(extra);
    let (response, ws) = conn.open_websocket(path, &headers).unwrap();
    assert_eq!(response.status, 200, "{response:?}");
    ws
}

/// The next whole message: its opcode, first frame's RSV bits and payload; pongs
/// on the way are skipped.
fn message(ws: &mut H2WebSocket) -> (u8, u8, Vec<u8>) {
    let first = next_data_frame(ws);
    assert!(matches!(first.opcode, OP_TEXT | OP_BINARY), "{first:?}");
    let (opcode, rsv, mut payload) = (first.opcode, first.rsv, first.payload);
    let mut fin = first.fin;
    while !fin {
        let next = next_data_frame(ws);
        assert_eq!(next.opcode, OP_CONT, "{next:?}");
        payload.extend(next.payload);
        fin = next.fin;
    }
    (opcode, rsv, payload)
}

fn next_data_frame(ws: &mut H2WebSocket) -> ServerFrame {
    loop {
        let frame = ws
            .recv_frame(WAIT)
            .unwrap()
            .expect("a frame, not END_STREAM");
        if frame.opcode != OP_PONG {
            return frame;
        }
    }
}

fn echo(ws: &mut H2WebSocket, opcode: u8, payload: &[u8]) {
    ws.send_frame(&RawFrame::new(opcode, payload)).unwrap();
    let (got_opcode, rsv, got) = message(ws);
    assert_eq!((got_opcode, rsv), (opcode, 0));
    assert!(
        got == payload,
        "{}-byte echo of {} bytes",
        got.len(),
        payload.len()
    );
}

/// The server's close frame: code and reason.
fn expect_close(ws: &mut H2WebSocket) -> (u16, String) {
    let frame = ws.recv_frame(WAIT).unwrap().expect("a close frame");
    assert_eq!(frame.opcode, OP_CLOSE, "{frame:?}");
    let code = u16::from_be_bytes([frame.payload[0], frame.payload[1]]);
    (
        code,
        String::from_utf8(frame.payload[2..].to_vec()).unwrap(),
    )
}

/// The connection still carries a new WebSocket and answers a PING.
fn check_live(conn: &mut H2Connection) {
    conn.ping(WAIT).unwrap();
    let mut ws = open(conn, "/", &[]);
    echo(&mut ws, OP_TEXT, b"still here");
}

#[test]
#[ignore = "needs a peer: scripts/test-h2-clients.sh"]
fn the_peer_offers_extended_connect() {
    each(|t, _| {
        let mut conn = t.connect();
        assert!(conn.extended_connect_enabled());
        conn.ping(WAIT).unwrap();
    });
}

#[test]
#[ignore = "needs a peer: scripts/test-h2-clients.sh"]
fn text_and_binary_echo_small_large_and_fragmented() {
    each(|t, _| {
        let conn = t.connect();
        let mut ws = open(&conn, "/", &[]);
        echo(&mut ws, OP_TEXT, "héllo wörld 😀".as_bytes());
        echo(&mut ws, OP_BINARY, &(0..=255).collect::<Vec<u8>>());
        echo(&mut ws, OP_TEXT, b"");
        // 70000 bytes of UTF-8 with 2- and 3-byte characters, whole ones only.
        let unit = "grüße 数据 ";
        let mut text = unit.repeat(70000 / unit.len());
        text.push_str(&".".repeat(70000 - text.len()));
        let text = text.into_bytes();
        echo(&mut ws, OP_TEXT, &text);
        let binary: Vec<u8> = (0..70000u32).map(|i| (i * 7 % 251) as u8).collect();
        echo(&mut ws, OP_BINARY, &binary);
        // Fragmented: 3 binary frames of 30000 bytes.
        let parts = [vec![1u8; 30000], vec![2; 30000], vec![3; 30000]];
        ws.send_frame(&RawFrame::binary(&parts[0]).fin(false))
            .unwrap();
        ws.send_frame(&RawFrame::cont(&parts[1]).fin(false))
            .unwrap();
        ws.send_frame(&RawFrame::cont(&parts[2])).unwrap();
        let (opcode, _, got) = message(&mut ws);
        assert_eq!((opcode, got), (OP_BINARY, parts.concat()));
    });
}

#[test]
#[ignore = "needs a peer: scripts/test-h2-clients.sh"]
fn a_ping_between_fragments_is_answered_with_its_payload() {
    each(|t, _| {
        let conn = t.connect();
        let mut ws = open(&conn, "/", &[]);
        ws.send_frame(&RawFrame::text("before").fin(false)).unwrap();
        ws.send_frame(&RawFrame::new(OP_PING, "ping-1")).unwrap();
        ws.send_frame(&RawFrame::cont("-after")).unwrap();
        let mut pongs = Vec::new();
        let mut text = Vec::new();
        while text != b"before-after" {
            let f = ws.recv_frame(WAIT).unwrap().expect("a frame");
            match f.opcode {
                OP_PONG => pongs.push(f.payload),
                OP_TEXT | OP_CONT => text.extend(f.payload),
                other => panic!("opcode {other} ({f:?})"),
            }
        }
        if pongs.is_empty() {
            let f = ws.recv_frame(WAIT).unwrap().expect("the pong");
            assert_eq!(f.opcode, OP_PONG, "{f:?}");
            pongs.push(f.payload);
        }
        assert_eq!(pongs, [b"ping-1".to_vec()]);
    });
}

#[test]
#[ignore = "needs a peer: scripts/test-h2-clients.sh"]
fn a_close_the_client_starts_is_answered_then_the_stream_ends_both_ways() {
    each(|t, strict| {
        let mut conn = t.connect();
        let mut ws = open(&conn, "/", &[]);
        echo(&mut ws, OP_TEXT, b"x");
        ws.send_frame(&RawFrame::close(1000, "bye")).unwrap();
        assert_eq!(expect_close(&mut ws).0, 1000);
        if !strict {
            // hypercorn: no END_STREAM after a client-first close, and our END_STREAM
            // now would drop its connection.
            ws.expect_nothing(QUIET).unwrap();
            return;
        }
        assert_eq!(ws.recv_end(WAIT).unwrap(), StreamEnd::End);
        ws.send_end().unwrap();
        check_live(&mut conn);
    });
}

#[test]
#[ignore = "needs a peer: scripts/test-h2-clients.sh"]
fn a_close_sent_with_end_stream_is_answered() {
    each(|t, strict| {
        let mut conn = t.connect();
        let mut ws = open(&conn, "/", &[]);
        ws.send_last(&RawFrame::close(1001, "going").encode())
            .unwrap();
        assert_eq!(expect_close(&mut ws).0, 1001);
        if strict {
            assert_eq!(ws.recv_end(WAIT).unwrap(), StreamEnd::End);
        } else {
            ws.expect_nothing(QUIET).unwrap();
        }
        check_live(&mut conn);
    });
}

#[test]
#[ignore = "needs a peer: scripts/test-h2-clients.sh"]
fn a_close_the_server_starts_comes_with_end_stream() {
    each(|t, strict| {
        let mut conn = t.connect();
        let mut ws = open(&conn, "/?close=4000&reason=bye", &[]);
        assert_eq!(expect_close(&mut ws), (4000, "bye".into()));
        assert_eq!(ws.recv_end(WAIT).unwrap(), StreamEnd::End);
        ws.send_last(&RawFrame::close(4000, "").encode()).unwrap();
        if strict {
            check_live(&mut conn);
        }
    });
}

#[test]
#[ignore = "needs a peer: scripts/test-h2-clients.sh"]
fn the_first_subprotocol_offered_is_chosen() {
    each(|t, _| {
        let conn = t.connect();
        let (response, mut ws) = conn
            .open_websocket(
                "/",
                &[VERSION, ("sec-websocket-protocol", "chat, superchat")],
            )
            .unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.header("sec-websocket-protocol"), Some("chat"));
        echo(&mut ws, OP_TEXT, b"chat message");
    });
}

/// A message compressed as permessage-deflate sends it (RFC 7692 §7.2.1): raw DEFLATE,
/// sync-flushed, the final 00 00 ff ff taken off.
fn deflate(data: &[u8]) -> Vec<u8> {
    let mut c = Compress::new(Compression::default(), false);
    let mut out = Vec::with_capacity(data.len() + 64);
    c.compress_vec(data, &mut out, FlushCompress::Sync).unwrap();
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
    out.truncate(out.len() - 4);
    out
}

fn inflate(data: &[u8], limit: usize) -> Vec<u8> {
    let mut d = Decompress::new(false);
    let mut input = data.to_vec();
    input.extend_from_slice(&[0, 0, 0xff, 0xff]);
    let mut out = Vec::with_capacity(limit);
    d.decompress_vec(&input, &mut out, FlushDecompress::Sync)
        .unwrap();
    out
}

#[test]
#[ignore = "needs a peer: scripts/test-h2-clients.sh"]
fn permessage_deflate_is_negotiated_in_the_connect_headers() {
    each(|t, _| {
        let conn = t.connect();
        let (response, mut ws) = conn
            .open_websocket(
                "/",
                &[VERSION, ("sec-websocket-extensions", "permessage-deflate")],
            )
            .unwrap();
        assert_eq!(response.status, 200);
        let answer = response.header("sec-websocket-extensions").unwrap_or("");
        assert!(answer.starts_with("permessage-deflate"), "{response:?}");
        let text = "compress me ".repeat(2000);
        let compressed = deflate(text.as_bytes());
        ws.send_frame(&RawFrame::text(&compressed).rsv(0b100))
            .unwrap();
        let (opcode, rsv, got) = message(&mut ws);
        assert_eq!((opcode, rsv), (OP_TEXT, 0b100), "the echo is compressed");
        assert!(got.len() < text.len() / 4, "{} bytes", got.len());
        assert_eq!(inflate(&got, text.len() + 1), text.as_bytes());
    });
}

#[test]
#[ignore = "needs a peer: scripts/test-h2-clients.sh"]
fn many_websockets_share_one_connection_across_threads() {
    each(|t, _| {
        let mut conn = t.connect();
        let sockets: Vec<H2WebSocket> = (0..8).map(|_| open(&conn, "/", &[])).collect();
        let ids: Vec<u32> = sockets.iter().map(H2WebSocket::stream_id).collect();
        assert_eq!(ids, [1, 3, 5, 7, 9, 11, 13, 15]);
        let threads: Vec<_> = sockets
            .into_iter()
            .enumerate()
            .map(|(i, mut ws)| {
                std::thread::spawn(move || {
                    for round in 0..3 {
                        let payload = vec![i as u8 ^ round; 1000 * i + round as usize];
                        echo(&mut ws, OP_BINARY, &payload);
                    }
                    ws.send_last(&RawFrame::close(1000, "").encode()).unwrap();
                    assert_eq!(expect_close(&mut ws).0, 1000);
                })
            })
            .collect();
        for th in threads {
            th.join().unwrap();
        }
        conn.ping(WAIT).unwrap();
    });
}

#[test]
#[ignore = "needs a peer: scripts/test-h2-clients.sh"]
fn a_reset_stream_leaves_the_connection_working() {
    each(|t, _| {
        let mut conn = t.connect();
        let mut ws = open(&conn, "/", &[]);
        echo(&mut ws, OP_TEXT, b"x");
        ws.reset();
        std::thread::sleep(Duration::from_millis(100));
        check_live(&mut conn);
    });
}

#[test]
#[ignore = "needs a peer: scripts/test-h2-clients.sh"]
fn get_works_over_h2() {
    each(|t, strict| {
        let conn = t.connect();
        let (response, body) = conn.get("/").unwrap();
        assert_eq!(response.status, 200);
        let ctype = response.header("content-type").unwrap_or("");
        assert!(ctype.starts_with("text/html"), "{response:?}");
        assert!(!body.is_empty());
        if strict {
            let (response, body) = conn.get("/metrics").unwrap();
            assert_eq!(response.status, 200);
            assert!(String::from_utf8_lossy(&body).contains("wsecho_"));
        }
    });
}
