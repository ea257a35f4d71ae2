//! The wire trace (`--trace`) of the real binary: a golden trace of Autobahn case 2.10,
//! then one test per kind of line, the selection flags, JSON lines and bad flags.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::tls::{TlsServer, temp_path};
use common::*;

/// How long the trace writer has to get a line to the file.
const TRACE_WAIT: Duration = Duration::from_secs(5);

/// A server tracing to a file of its own, and that file.
struct Traced {
    server: Server,
    path: PathBuf,
}

impl Traced {
    fn start(args: &[&str]) -> Traced {
        let path = temp_path("trace");
        let path_arg = path.to_str().expect("temp path is UTF-8").to_string();
        let mut all = vec!["--trace-file", &path_arg];
        all.extend_from_slice(args);
        Traced {
            server: Server::start(&all),
            path,
        }
    }

    /// The trace once `needle` occurs in it `times` times (or as it is after a while),
    /// with the peer's address (its port changes from run to run) written as PEER.
    fn wait_for(&self, needle: &str, times: usize) -> String {
        let deadline = Instant::now() + TRACE_WAIT;
        loop {
            let trace = normalized(&self.path, &self.server);
            if trace.matches(needle).count() >= times || Instant::now() > deadline {
                return trace;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Traced {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The trace file with every `127.0.0.1:PORT` but the server's own written as PEER.
fn normalized(path: &Path, server: &Server) -> String {
    let trace = std::fs::read_to_string(path).unwrap_or_default();
    let ours = server.addr().to_string();
    let mut out = String::with_capacity(trace.len());
    let mut rest = &trace[..];
    while let Some(at) = rest.find("127.0.0.1:") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "127.0.0.1:".len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let addr = &rest[at..at + "127.0.0.1:".len() + digits];
        out.push_str(if addr == ours { addr } else { "PEER" });
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// An upgrade request with nothing in it that changes from run to run.
fn fixed_upgrade(target: &str) -> Vec<u8> {
    format!(
        "GET {target} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {SAMPLE_KEY}\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes()
}

fn open_fixed(server: &Server, target: &str) -> std::net::TcpStream {
    let mut stream = server.connect();
    stream.write_all(&fixed_upgrade(target)).unwrap();
    let response = read_response_head(&mut stream);
    assert_eq!(response.status, 101);
    stream
}

/// A frame with a fixed mask key.
fn masked(frame: RawFrame, key: [u8; 4]) -> RawFrame {
    RawFrame {
        mask: Some(key),
        ..frame
    }
}

const GOLDEN: &str = "tests/golden/trace-autobahn-2.10.txt";

/// Autobahn case 2.10 ("Send 10 Pings with payload"), each ping answered before the
/// next, then a close with 1000: the trace must be the committed one, line for line.
/// `UPDATE_GOLDEN=1 cargo test --test trace` rewrites the file after a deliberate change.
#[test]
fn the_trace_of_autobahn_case_2_10_is_the_committed_one() {
    let traced = Traced::start(&["--trace"]);
    let mut stream = open_fixed(&traced.server, "/case/2.10");
    for i in 0..10u8 {
        let payload = format!("payload-{i}");
        send(
            &mut stream,
            &[masked(RawFrame::ping(&payload), [0x95, 0x72, 0x8a, i])],
        );
        let pong = read_frame(&mut stream);
        assert_eq!((pong.opcode, pong.payload), (OP_PONG, payload.into_bytes()));
    }
    send(
        &mut stream,
        &[masked(RawFrame::close(1000, ""), [1, 2, 3, 4])],
    );
    assert_eq!(expect_close(&mut stream).code, Some(1000));
    let trace = traced.wait_for("TCP CLOSED BY US", 1);
    let golden_path = Path::new(env!("CARGO_MANIFEST_DIR")).join(GOLDEN);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        // Rewritten, not compared: the comparison would be with itself.
        std::fs::write(&golden_path, &trace).expect("write the golden trace");
        eprintln!("UPDATE_GOLDEN: {GOLDEN} rewritten, not compared");
        return;
    }
    let golden = std::fs::read_to_string(&golden_path).expect("the golden trace");
    assert_eq!(
        trace, golden,
        "the trace differs from {GOLDEN} (UPDATE_GOLDEN=1 rewrites it after a deliberate change)"
    );
}

#[test]
fn a_client_that_breaks_a_rule_is_shown_failing_with_the_reason_it_was_sent() {
    let traced = Traced::start(&["--trace"]);
    let mut stream = traced.server.open();
    send(&mut stream, &[RawFrame::text(b"ok\xff")]);
    assert_eq!(expect_close(&mut stream).code, Some(1007));
    let trace = traced.wait_for("FAILED", 1);
    assert!(
        trace.contains(": \"ok\u{fffd}\" (not UTF-8)\n"),
        "the bad text is shown as such:\n{trace}"
    );
    assert!(
        trace.contains("TX FRAME : OPCODE=8, FIN=True, RSV=0, PAYLOAD-LEN=33, CLOSE=1007 \"text message is not valid UTF-8\""),
        "{trace}"
    );
    // The bad byte: after the request, the 6-byte header and "ok".
    let request = Request::upgrade(&traced.server.host()).to_bytes().len();
    assert!(
        trace.contains(&format!(
            " FAILED: 1007 text message is not valid UTF-8 (offset 2 of the message, \
             offset {} of the connection, frame #1)\n",
            request + 6 + 2
        )),
        "{trace}"
    );
}

#[test]
fn a_peer_that_drops_tcp_without_a_close_is_shown_dropping_it() {
    let traced = Traced::start(&["--trace"]);
    let mut stream = traced.server.open();
    send(&mut stream, &[RawFrame::binary([1, 2, 3])]);
    assert_eq!(read_message(&mut stream), (OP_BINARY, vec![1, 2, 3]));
    drop(stream);
    let trace = traced.wait_for("TCP CLOSED BY US", 1);
    let lines: Vec<&str> = trace.lines().collect();
    let n = lines.len();
    assert!(n >= 2, "{trace}");
    assert!(lines[n - 2].ends_with(" TCP DROPPED BY PEER"), "{trace}");
    assert!(
        lines[n - 1].ends_with(" TCP CLOSED BY US (after the peer)"),
        "{trace}"
    );
}

#[test]
fn a_refused_request_is_shown_with_the_status_and_body_it_got() {
    let traced = Traced::start(&["--trace"]);
    let request = Request::upgrade(&traced.server.host()).set("Sec-WebSocket-Version", "8");
    let response = expect_refused(&traced.server, &request.to_bytes());
    let trace = traced.wait_for("TX BODY", 1);
    assert!(
        trace.contains(&format!(" TX HTTP  : HTTP/1.1 {} ", response.status)),
        "{trace}"
    );
    let body_hex: String = response
        .body_text()
        .bytes()
        .take(64)
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(trace.contains(&body_hex), "the body is shown:\n{trace}");
}

#[test]
fn octets_and_the_payload_cut_are_as_asked() {
    let traced = Traced::start(&["--trace", "--trace-octets", "--trace-payload-bytes", "4"]);
    let mut stream = traced.server.open();
    send(&mut stream, &[RawFrame::text("hello, world")]);
    assert_eq!(read_message(&mut stream).1, b"hello, world");
    let trace = traced.wait_for("TX FRAME", 1);
    assert!(trace.contains(" RX OCTETS: 18 bytes\n"), "{trace}");
    assert!(trace.contains(" TX OCTETS: 14 bytes\n"), "{trace}");
    assert!(
        trace.contains(": 68656c6c ... (8 more bytes)\n"),
        "the payload is cut at 4 bytes:\n{trace}"
    );
    assert!(trace.contains(": \"hell\"\n"), "{trace}");
}

#[test]
fn a_handshake_that_times_out_is_shown_timing_out() {
    let traced = Traced::start(&["--trace", "--handshake-timeout", "0.2"]);
    let mut stream = traced.server.connect();
    stream.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    let trace = traced.wait_for("TIMED OUT", 1);
    assert!(trace.contains(" TIMED OUT: handshake\n"), "{trace}");
}

#[test]
fn jsonl_gives_one_json_object_per_line_with_every_field() {
    let traced = Traced::start(&["--trace", "--trace-format", "jsonl"]);
    let mut stream = open_fixed(&traced.server, "/");
    send(
        &mut stream,
        &[masked(RawFrame::text("héllo"), [9, 9, 9, 9])],
    );
    assert_eq!(read_message(&mut stream).1, "héllo".as_bytes());
    send(&mut stream, &[RawFrame::close(1000, "done")]);
    expect_close(&mut stream);
    let trace = traced.wait_for("tcp_closed_by_us", 1);
    let objects: Vec<serde_json::Value> = trace
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let items: Vec<&str> = objects
        .iter()
        .map(|o| o["item"].as_str().expect("item"))
        .collect();
    assert_eq!(
        items,
        [
            "tcp_opened",
            "rx_http",
            "tx_http",
            "rx_frame",
            "tx_frame",
            "rx_frame",
            "tx_frame",
            "tcp_closed_by_us"
        ]
    );
    let rx = &objects[3];
    assert_eq!(rx["conn"], 1);
    assert_eq!(rx["seq"], 4);
    assert_eq!(rx["peer"], "PEER");
    assert_eq!(rx["mask"], "09090909");
    assert_eq!(rx["payload_text"], "héllo");
    assert_eq!(rx["payload_hex"], "68c3a96c6c6f");
    assert_eq!(rx["len"], 6);
    assert_eq!(objects[5]["close_code"], 1000);
    assert_eq!(objects[5]["close_reason"], "done");
    assert_eq!(objects[6]["close_code"], 1000, "the reply echoes the code");
    assert_eq!(objects[1]["head"][0], "GET / HTTP/1.1");
}

#[test]
fn trace_peer_traces_only_the_address_it_names() {
    let mut other = Traced::start(&["--trace-peer", "10.9.8.7"]);
    let mut stream = other.server.open();
    send(&mut stream, &[RawFrame::text("x")]);
    assert_eq!(read_message(&mut stream).1, b"x");
    drop(stream);
    let ours = Traced::start(&["--trace-peer", "127.0.0.1"]);
    let mut stream = ours.server.open();
    send(&mut stream, &[RawFrame::text("x")]);
    assert_eq!(read_message(&mut stream).1, b"x");
    drop(stream);
    assert!(ours.wait_for("TCP CLOSED BY US", 1).contains("RX FRAME"));
    // The other server has exited once its trace writer wrote everything it was given:
    // what its file holds then is all it will ever hold.
    other.server.signal(libc::SIGTERM);
    let status = other.server.wait_exit(Duration::from_secs(10));
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    assert_eq!(
        normalized(&other.path, &other.server),
        "",
        "another peer's connection was traced"
    );
}

#[test]
fn on_request_only_connections_that_ask_are_traced() {
    let traced = Traced::start(&["--trace-on-request"]);
    let mut plain = open_fixed(&traced.server, "/plain");
    let mut asked = open_fixed(&traced.server, "/asked?trace");
    for stream in [&mut plain, &mut asked] {
        send(stream, &[RawFrame::text("echo")]);
        assert_eq!(read_message(stream).1, b"echo");
    }
    drop(asked);
    let trace = traced.wait_for("TCP CLOSED BY US", 1);
    assert!(
        trace.contains("RX HTTP  : GET /asked?trace HTTP/1.1"),
        "{trace}"
    );
    assert!(
        !trace.contains("/plain"),
        "an unasked connection was traced:\n{trace}"
    );
    // The unasked connection went back to the plain path and still echoes.
    send(&mut plain, &[RawFrame::binary(vec![5; 70_000])]);
    assert_eq!(read_message(&mut plain).1, vec![5; 70_000]);
}

/// A TLS server tracing every connection to a file of its own, and that file.
fn traced_tls() -> (TlsServer, PathBuf) {
    let path = temp_path("trace");
    let path_arg = path.to_str().expect("temp path is UTF-8").to_string();
    (
        TlsServer::start(&["--trace", "--trace-file", &path_arg]),
        path,
    )
}

/// The trace file once `needle` is in it (or as it is after a while); then removed.
fn trace_once(path: &Path, needle: &str) -> String {
    let deadline = Instant::now() + TRACE_WAIT;
    let trace = loop {
        let trace = std::fs::read_to_string(path).unwrap_or_default();
        if trace.contains(needle) || Instant::now() > deadline {
            break trace;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let _ = std::fs::remove_file(path);
    trace
}

#[test]
fn a_wss_connection_is_traced_in_cleartext() {
    let (tls, path) = traced_tls();
    let mut stream = tls.open();
    send(&mut stream, &[RawFrame::text("secret")]);
    assert_eq!(read_message(&mut stream).1, b"secret");
    let trace = trace_once(&path, "TX FRAME");
    assert!(trace.contains("RX HTTP  : GET / HTTP/1.1"), "{trace}");
    assert!(trace.contains(": \"secret\"\n"), "{trace}");
}

/// An HTTP/2 connection (h2c with prior knowledge) past both prefaces, with a
/// WebSocket opened on each of `paths` (streams 1, 3, ...).
fn open_h2(server: &Server, paths: &[&str]) -> std::net::TcpStream {
    use wsecho_test_support::h2_frames::*;
    let mut s = server.connect();
    s.set_read_timeout(Some(TRACE_WAIT)).unwrap();
    handshake(&mut s).unwrap();
    for (i, path) in paths.iter().enumerate() {
        let stream = 2 * i as u32 + 1;
        let mut fields = WEBSOCKET_CONNECT;
        fields[3] = (":path", path);
        s.write_all(&headers(stream, &literal_block(&fields)))
            .unwrap();
        let (answer, _) = read_until(&mut s, |f| f.kind == HEADERS && f.stream == stream).unwrap();
        assert_eq!(answer.status(), Some(200), "{path}: {answer:?}");
    }
    s
}

/// A text message on an HTTP/2 WebSocket `stream`, and its echo read back.
fn h2_echo(s: &mut std::net::TcpStream, stream: u32, text: &str) {
    use wsecho_test_support::h2_frames::*;
    let message = masked(RawFrame::text(text), [1, 2, 3, 4]).encode();
    s.write_all(&data(stream, &message, false)).unwrap();
    let (echo, _) = read_until(s, |f| f.kind == DATA && f.stream == stream).unwrap();
    assert_eq!(echo.payload.len(), 2 + text.len(), "{echo:?}");
}

/// Over HTTP/2 every stream is traced on its own, its lines marked `sN`: the request
/// and response as their HTTP/2 fields, the WebSocket frames each way, and the ends of
/// the stream (END_STREAM, RST_STREAM); the connection's own lines say it is HTTP/2.
#[test]
fn an_http2_connection_is_traced_stream_by_stream() {
    use wsecho_test_support::h2_frames::{data, read_until, rst_stream};
    let traced = Traced::start(&["--trace"]);
    let mut s = open_h2(&traced.server, &["/", "/?abort&after=1"]);
    h2_echo(&mut s, 1, "on one");
    // The client closes stream 1's WebSocket and ends the stream.
    let close = masked(RawFrame::close(1000, "done"), [9, 9, 9, 9]).encode();
    s.write_all(&data(1, &close, true)).unwrap();
    read_until(&mut s, |f| f.stream == 1 && f.flags & 0x1 != 0).unwrap();
    // Stream 3 asked to be reset after one echo.
    let message = masked(RawFrame::text("on three"), [5, 6, 7, 8]).encode();
    s.write_all(&data(3, &message, false)).unwrap();
    read_until(&mut s, |f| f.kind == 0x3 && f.stream == 3).unwrap();
    // And a stream the client resets.
    let mut more = open_h2(&traced.server, &["/"]);
    more.write_all(&rst_stream(1, 0x8)).unwrap();
    let trace = traced.wait_for("RX RST_STREAM", 1);
    for line in [
        "c1 PEER 002 HTTP/2: h2c, with prior knowledge; each stream traced as sN\n",
        "c1 PEER s1 001 RX HTTP  : :method: CONNECT\n",
        "c1 PEER s1 001          : :protocol: websocket\n",
        "c1 PEER s1 001          : :path: /\n",
        "c1 PEER s1 001          : sec-websocket-version: 13\n",
        "c1 PEER s1 002 TX HTTP  : :status: 200\n",
        "c1 PEER s1 003 RX FRAME : OPCODE=1, FIN=True, RSV=0, PAYLOAD-LEN=6, MASK=01020304\n",
        "c1 PEER s1 003          : \"on one\"\n",
        "c1 PEER s1 004 TX FRAME : OPCODE=1, FIN=True, RSV=0, PAYLOAD-LEN=6\n",
        "c1 PEER s1 005 RX FRAME : OPCODE=8, FIN=True, RSV=0, PAYLOAD-LEN=6, MASK=09090909, \
         CLOSE=1000 \"done\"\n",
        "c1 PEER s1 006 RX END_STREAM\n",
        "c1 PEER s1 007 TX FRAME : OPCODE=8, FIN=True, RSV=0, PAYLOAD-LEN=2, CLOSE=1000 \"\"\n",
        "c1 PEER s1 008 TX END_STREAM\n",
        "c1 PEER s3 001          : :path: /?abort&after=1\n",
        "c1 PEER s3 003 RX FRAME : OPCODE=1, FIN=True, RSV=0, PAYLOAD-LEN=8, MASK=05060708\n",
        "c1 PEER s3 004 TX FRAME : OPCODE=1, FIN=True, RSV=0, PAYLOAD-LEN=8\n",
        "c1 PEER s3 005 ABORT: stream reset with no close frame (?abort)\n",
        "c1 PEER s3 006 TX RST_STREAM: Cancel\n",
        "c2 PEER s1 003 RX RST_STREAM: Cancel\n",
    ] {
        assert!(trace.contains(line), "no {line:?} in:\n{trace}");
    }
}

/// With `--trace-on-request`, each HTTP/2 stream is traced when its own `:path` asks.
#[test]
fn on_request_only_http2_streams_that_ask_are_traced() {
    let traced = Traced::start(&["--trace-on-request"]);
    let mut s = open_h2(&traced.server, &["/plain", "/asked?trace"]);
    h2_echo(&mut s, 1, "not shown");
    h2_echo(&mut s, 3, "shown");
    let trace = traced.wait_for("TX FRAME", 1);
    assert!(
        trace.contains("s3 001          : :path: /asked?trace\n"),
        "{trace}"
    );
    assert!(trace.contains(": \"shown\"\n"), "{trace}");
    assert!(
        !trace.contains("/plain") && !trace.contains(" s1 "),
        "an unasked stream was traced:\n{trace}"
    );
}

/// HTTP/2 chosen by ALPN over TLS: the streams are traced in cleartext as over h2c.
#[test]
fn an_http2_connection_over_tls_is_traced_in_cleartext() {
    use wsecho_test_support::h2_client::H2Connection;
    let (tls, path) = traced_tls();
    let conn =
        H2Connection::connect_tls(tls.server.addr(), "localhost", tls.client_config()).unwrap();
    let (response, mut ws) = conn
        .open_websocket("/", &[("sec-websocket-version", "13")])
        .unwrap();
    assert_eq!(response.status, 200);
    ws.send_frame(&RawFrame::text("secret")).unwrap();
    let echo = ws.recv_frame(TRACE_WAIT).unwrap().expect("the echo");
    assert_eq!(echo.payload, b"secret");
    let trace = trace_once(&path, "TX FRAME");
    assert!(
        trace.contains(" 002 HTTP/2: h2, chosen by ALPN; each stream traced as sN\n"),
        "{trace}"
    );
    assert!(
        trace.contains(" s1 001 RX HTTP  : :method: CONNECT\n"),
        "{trace}"
    );
    assert!(trace.contains(" s1 004          : \"secret\"\n"), "{trace}");
}

/// Runs wsecho with `args`, which must make it exit at once; returns (code, stderr).
fn refused_start(args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_wsecho"))
        .args(["--port", "0"])
        .args(args)
        .output()
        .expect("run wsecho");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn bad_trace_flags_stop_the_server_with_exit_code_2() {
    let (code, err) = refused_start(&["--trace", "--trace-file", "/nonexistent/dir/trace"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.starts_with("wsecho: --trace-file /nonexistent/dir/trace: "),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let (code, err) = refused_start(&["--trace-file", "/tmp/x"]);
    assert_eq!(code, Some(2), "a trace file without anything traced: {err}");
    let (code, err) = refused_start(&["--trace-peer", "nonsense"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("neither an IP address nor IP:PORT"), "{err}");
}

/// A permessage-deflate echo (issue 26): each frame is shown compressed (its RSV1, its
/// DEFLATE bytes in hex, no text line, `COMPRESSED`), and under a message's last frame
/// what it inflates to, as text for text: valid text is never called "not UTF-8". Two
/// messages with context takeover (the second refers back to the first) and one cut in
/// frames, both ways.
#[test]
fn a_compressed_echo_is_shown_compressed_with_the_message_inflated() {
    use common::deflate::{Client, Cut, FULL};
    let traced = Traced::start(&["--trace"]);
    let mut c = Client::open(
        &traced.server,
        &["permessage-deflate"],
        "permessage-deflate",
        FULL,
    );
    let text = "héllo, compressed wörld";
    c.roundtrip(1, text.as_bytes(), Cut::Whole);
    c.roundtrip(1, text.as_bytes(), Cut::Whole);
    c.roundtrip(1, text.repeat(2).as_bytes(), Cut::Every(4));
    c.close();
    let trace = traced.wait_for("message inflated", 6);
    assert!(!trace.contains("not UTF-8"), "{trace}");
    assert!(!trace.contains("not inflated"), "{trace}");
    let shown = format!("          : \"{text}\"\n");
    assert_eq!(trace.matches(&shown).count(), 4, "{trace}");
    let two = format!("          : \"{}\"\n", text.repeat(2));
    assert_eq!(trace.matches(&two).count(), 2, "{trace}");
    let lines: Vec<&str> = trace.lines().collect();
    let first_rx = lines
        .iter()
        .position(|l| l.contains("RX FRAME : OPCODE=1"))
        .expect("a text frame from the client");
    assert!(
        lines[first_rx].contains("RSV=4") && lines[first_rx].ends_with(", COMPRESSED"),
        "{trace}"
    );
    // Hex of the compressed bytes, then the message: its length, hex and text.
    let len = text.len();
    assert!(
        lines[first_rx + 2].ends_with(&format!(": message inflated: {len} bytes")),
        "{trace}"
    );
    assert!(
        lines[first_rx + 4].ends_with(&shown[..shown.len() - 1]),
        "{trace}"
    );
}

/// `--trace-format jsonl` carries the same: `compressed` and the `inflated_*` fields.
#[test]
fn jsonl_shows_a_compressed_message_inflated() {
    use common::deflate::{Client, Cut, FULL};
    let traced = Traced::start(&["--trace", "--trace-format", "jsonl"]);
    let mut c = Client::open(
        &traced.server,
        &["permessage-deflate"],
        "permessage-deflate",
        FULL,
    );
    c.roundtrip(1, b"hello", Cut::Whole);
    c.close();
    let trace = traced.wait_for("\"inflated_text\"", 2);
    let frames: Vec<serde_json::Value> = trace
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .filter(|v: &serde_json::Value| v["item"] == "rx_frame" && v["opcode"] == 1)
        .collect();
    assert_eq!(frames.len(), 1, "{trace}");
    let f = &frames[0];
    assert_eq!(f["compressed"], true, "{f}");
    assert!(f.get("payload_text").is_none(), "{f}");
    assert_eq!(f["inflated_len"], 5, "{f}");
    assert_eq!(f["inflated_text"], "hello", "{f}");
    assert_eq!(f["inflated_utf8"], true, "{f}");
    assert_eq!(f["inflated_truncated"], false, "{f}");
}

/// With the trace on stderr, where the log goes too, a connection's "ended" log line
/// comes after its whole trace, not in the middle of it: the log goes behind the trace,
/// through its writer.
#[test]
fn on_stderr_a_connections_ended_line_follows_its_trace() {
    use tungstenite::Message;
    let server = Server::start(&["--trace"]);
    for i in 0..3 {
        let mut ws = server.client();
        ws.send(Message::text(format!("m{i}"))).unwrap();
        assert_eq!(ws.read().unwrap(), Message::text(format!("m{i}")));
        close_cleanly(&mut ws);
    }
    let log = server.wait_for_log(": ended after", 3, TRACE_WAIT);
    for n in 1..=3 {
        let ended = log
            .find(&format!("] c{n} 127.0.0.1:"))
            .unwrap_or_else(|| panic!("no ended line of c{n}: {log}"));
        assert!(
            log[ended..]
                .lines()
                .next()
                .unwrap()
                .contains(": ended after")
        );
        let last_trace = log
            .rfind(&format!("\nc{n} 127.0.0.1:"))
            .unwrap_or_else(|| panic!("no trace of c{n}: {log}"));
        assert!(
            last_trace < ended,
            "c{n}'s trace goes on after its ended line:\n{log}"
        );
        let last = log[last_trace + 1..].lines().next().unwrap();
        assert!(last.contains(" TCP CLOSED BY "), "{last}");
    }
    // The trace's writer still ends at shutdown (the log no longer holds its queue open),
    // and the summary line comes last.
    let mut server = server;
    server.signal(libc::SIGTERM);
    let status = server.wait_exit(Duration::from_secs(5));
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    assert!(
        server
            .log()
            .trim_end()
            .lines()
            .last()
            .unwrap()
            .contains("shut down; ")
    );
}
