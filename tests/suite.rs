//! The client suite (Autobahn's fuzzing server protocol) against the real binary, with
//! tungstenite as the client under test and raw requests for the refusals.

mod common;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use tungstenite::{Message, WebSocket};

/// Connects to `path` (query included) and returns the socket, upgraded.
fn open(server: &Server, path: &str) -> WebSocket<TcpStream> {
    let stream = server.connect();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let url = format!("ws://{}{path}", server.addr());
    let (ws, _) = tungstenite::client(url, stream).expect("upgrade");
    ws
}

/// The text messages that come on `path` until the server closes.
fn texts(server: &Server, path: &str) -> Vec<String> {
    let mut ws = open(server, path);
    let mut got = Vec::new();
    loop {
        match ws.read() {
            Ok(Message::Text(t)) => got.push(t.to_string()),
            Ok(_) => {}
            Err(tungstenite::Error::ConnectionClosed) => return got,
            Err(e) => panic!("{path}: {e}"),
        }
    }
}

/// Runs case number `n` as an echoing client would, until the connection ends (the
/// server closes, or the client fails it on what the case sent).
fn run_echoing(server: &Server, n: usize, agent: &str) {
    let mut ws = open(server, &format!("/runCase?case={n}&agent={agent}"));
    loop {
        match ws.read() {
            Ok(m @ (Message::Text(_) | Message::Binary(_))) => {
                if ws.send(m).is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(_) => return,
        }
    }
}

fn status(server: &Server, n: usize, agent: &str) -> String {
    let got = texts(server, &format!("/getCaseStatus?case={n}&agent={agent}"));
    assert_eq!(got.len(), 1, "{got:?}");
    got[0].clone()
}

#[test]
fn the_driver_protocol_counts_describes_runs_and_grades_cases() {
    let server = Server::start(&[]);
    assert_eq!(texts(&server, "/getCaseCount"), vec!["517"]);
    assert_eq!(
        texts(&server, "/getCaseInfo?case=17"),
        vec![r#"{"id":"2.1","description":"Send ping without payload."}"#]
    );
    // 1.1.1 to 2.11, echoed by a correct client.
    for n in 1..=27 {
        run_echoing(&server, n, "tungstenite");
        assert_eq!(
            status(&server, n, "tungstenite"),
            r#"{"behavior":"OK"}"#,
            "case {n}"
        );
    }
    assert_eq!(
        texts(&server, "/updateReports?agent=tungstenite"),
        Vec::<String>::new()
    );
    // The log pipe may lag the status.
    let line = "suite: case 2.11 for agent tungstenite: OK / OK";
    let log = server.wait_for_log(line, 1, Duration::from_secs(10));
    assert!(log.contains(line), "{log}");
}

#[test]
fn a_client_that_does_not_echo_fails_the_case() {
    let server = Server::start(&[]);
    // Case 1 (1.1.1): the empty text message is not echoed; the server fails the
    // connection after its second and closes with 1001.
    let started = Instant::now();
    let mut ws = open(&server, "/runCase?case=1&agent=silent");
    let first = ws.read().unwrap();
    assert_eq!(first, Message::text(""));
    loop {
        match ws.read() {
            Ok(Message::Close(Some(frame))) => {
                assert_eq!(u16::from(frame.code), 1001, "{frame:?}");
            }
            Ok(_) => {}
            Err(tungstenite::Error::ConnectionClosed) => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(status(&server, 1, "silent"), r#"{"behavior":"FAILED"}"#);
}

#[test]
fn a_status_asked_before_the_case_ends_comes_when_it_ends() {
    let server = Server::start(&[]);
    let addr = server.addr();
    // 1.1.1 with a client that does not echo: the case fails the connection after a
    // second; the status asked meanwhile waits for the case's end.
    let runner = std::thread::spawn(move || {
        let stream = TcpStream::connect(addr).unwrap();
        let url = format!("ws://{addr}/runCase?case=1&agent=early");
        let (mut ws, _) = tungstenite::client(url, stream).unwrap();
        while ws.read().is_ok() {}
    });
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    assert_eq!(status(&server, 1, "early"), r#"{"behavior":"FAILED"}"#);
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "answered before the case ended"
    );
    runner.join().unwrap();
}

#[test]
fn bad_driver_requests_are_refused_with_the_reason() {
    let server = Server::start(&[]);
    let refused = |target: &str| {
        let mut request = Request::upgrade(&server.host());
        request.target = target.to_string();
        expect_refused(&server, &request.to_bytes())
    };
    let r = refused("/runCase?case=0&agent=a");
    assert_eq!(r.status, 400);
    assert!(
        r.body_text()
            .contains("case \"0\" not found (cases are 1 to 517)"),
        "{}",
        r.body_text()
    );
    let r = refused("/runCase?case=1");
    assert_eq!(r.status, 400);
    assert!(r.body_text().contains("needs agent=NAME"));
    let r = refused("/getCaseStatus?case=1&agent=%ZZ");
    assert_eq!(r.status, 400);
    // An offer Autobahn's parser refuses fails the handshake, whatever the path.
    let mut request = Request::upgrade(&server.host());
    request.target = "/runCase?casetuple=13.7.18&agent=a".into();
    request.headers.push((
        "Sec-WebSocket-Extensions".into(),
        "permessage-deflate; server_max_window_bits=16".into(),
    ));
    let r = expect_refused(&server, &request.to_bytes());
    assert_eq!(r.status, 400);
    assert!(
        r.body_text().contains(
            "illegal extension parameter value '16' for parameter 'server_max_window_bits'"
        ),
        "{}",
        r.body_text()
    );
}

/// Upgrades a raw connection on `/runCase?case=N&agent=raw`.
fn run_raw(server: &Server, n: usize) -> TcpStream {
    let mut request = Request::upgrade(&server.host());
    request.target = format!("/runCase?case={n}&agent=raw");
    let mut stream = server.connect();
    std::io::Write::write_all(&mut stream, &request.to_bytes()).unwrap();
    assert_eq!(read_response_head(&mut stream).status, 101);
    stream
}

#[test]
fn a_case_ends_tcp_as_autobahns_endpoint_does() {
    use std::io::{ErrorKind, Read};
    let server = Server::start(&[]);
    let ended = |stream: &mut TcpStream| {
        let mut buf = [0u8; 16];
        match stream.read(&mut buf) {
            Ok(0) => "FIN".to_string(),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => "RST".to_string(),
            other => format!("{other:?}"),
        }
    };
    // 1.1.1 echoed: the case closes, the client answers, and Autobahn's endpoint then
    // aborts the connection (Twisted's abortConnection: SO_LINGER 0, a reset).
    let mut stream = run_raw(&server, 1);
    assert_eq!(read_frame(&mut stream).opcode, OP_TEXT);
    send(&mut stream, &[RawFrame::text("")]);
    assert_eq!(expect_close(&mut stream).code, Some(1000));
    send(&mut stream, &[RawFrame::close(1000, "")]);
    assert_eq!(ended(&mut stream), "RST");

    // The client closes first: the endpoint answers and closes in order (a FIN).
    let mut stream = run_raw(&server, 1);
    assert_eq!(read_frame(&mut stream).opcode, OP_TEXT);
    send(&mut stream, &[RawFrame::close(1000, "")]);
    assert_eq!(expect_close(&mut stream).code, Some(1000));
    assert_eq!(ended(&mut stream), "FIN");
}

#[test]
fn other_paths_still_echo() {
    let server = Server::start(&[]);
    let mut ws = open(&server, "/runCaseX?case=1&agent=a");
    ws.send(Message::text("hello")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("hello"));
}

/// The case number (in all 517) of case `id`.
fn number(server: &Server, id: &str) -> usize {
    (1..=517)
        .find(|&n| {
            texts(server, &format!("/getCaseInfo?case={n}"))[0]
                .contains(&format!("\"id\":\"{id}\""))
        })
        .unwrap_or_else(|| panic!("no case {id}"))
}

#[test]
fn close_handling_cases_grade_tungstenite_as_autobahn_does() {
    let server = Server::start(&[]);
    let first = number(&server, "7.1.1");
    // Group 7: 37 cases. tungstenite passes all; 7.1.6 and 7.13.x are informational
    // whatever the client does (Autobahn's grades for python websockets, websocket-client
    // and node ws agree with wsecho's on all 37).
    for n in first..first + 37 {
        run_echoing(&server, n, "tungstenite");
        let got = status(&server, n, "tungstenite");
        let info = texts(&server, &format!("/getCaseInfo?case={n}"))[0].clone();
        let informational = info.contains("\"7.1.6\"") || info.contains("\"7.13.");
        let want = if informational { "INFORMATIONAL" } else { "OK" };
        assert_eq!(got, format!("{{\"behavior\":\"{want}\"}}"), "{info}");
    }
}

#[test]
fn limits_and_misc_cases_grade_tungstenite_as_autobahn_does() {
    let server = Server::start(&[]);
    // A sample of group 9 (each way of sending: one 16 MiB frame, a 4 MiB message in
    // 65537 frames, 1 MiB written 2048 bytes at a time, 1000 messages one after the
    // other) and 10.1.1 (auto-fragmented); Autobahn grades tungstenite OK on all.
    for id in [
        "9.1.6", "9.2.1", "9.3.1", "9.4.4", "9.5.6", "9.6.6", "9.7.1", "9.8.3", "10.1.1",
    ] {
        let n = number(&server, id);
        run_echoing(&server, n, "tungstenite");
        assert_eq!(
            status(&server, n, "tungstenite"),
            r#"{"behavior":"OK"}"#,
            "case {id}"
        );
    }
}

/// `GET path` as a browser sends it: the response.
fn get(server: &Server, path: &str) -> Response {
    let mut request = Request::plain_get(&server.host());
    request.target = path.to_string();
    let mut stream = server.connect();
    std::io::Write::write_all(&mut stream, &request.to_bytes()).unwrap();
    read_response(&mut stream)
}

#[test]
fn reports_are_served_in_autobahns_formats_and_written_on_update() {
    let dir = std::env::temp_dir().join(format!("wsecho-suite-reports-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let spec = dir.with_extension("spec.json");
    std::fs::write(
        &spec,
        r#"{"url": "ws://x", "cases": ["1.1.*", "2.5"], "exclude-cases": ["1.1.8"]}"#,
    )
    .unwrap();
    let server = Server::start(&[
        "--suite-spec",
        spec.to_str().unwrap(),
        "--reports",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(texts(&server, "/getCaseCount"), vec!["8"]);
    // An agent whose name is markup and a path: it names files and fills the page.
    let evil = "%3Cscript%3E..%2Fx%22";
    for n in 1..=8 {
        run_echoing(&server, n, "good");
    }
    run_echoing(&server, 1, evil);
    assert_eq!(
        texts(&server, &format!("/updateReports?agent={evil}")),
        Vec::<String>::new()
    );

    let page = get(&server, "/reports/");
    assert_eq!(page.status, 200);
    let html = page.body_text();
    assert!(
        html.contains("&lt;script&gt;..%2Fx&quot;") || html.contains("&lt;script&gt;../x&quot;"),
        "{html}"
    );
    assert!(!html.contains("<script>"));

    let index: serde_json::Value =
        serde_json::from_slice(&get(&server, "/reports/index.json").body).unwrap();
    assert_eq!(index["good"]["2.5"]["behavior"], "OK");
    assert_eq!(index["good"].as_object().unwrap().len(), 8);
    let file = index["<script>../x\""]["1.1.1"]["reportfile"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(file, "script____x_case_1_1_1.json");
    let case: serde_json::Value =
        serde_json::from_slice(&get(&server, &format!("/reports/{file}")).body).unwrap();
    assert_eq!(case["id"], "1.1.1");
    assert_eq!(
        case["received"],
        serde_json::json!([["message", "", false]])
    );
    // Only the compression cases count what went each way, as Autobahn's do.
    assert_eq!(case["trafficStats"], serde_json::Value::Null);
    assert_eq!(case["reportCompressionRatio"], false);
    assert_eq!(get(&server, "/reports/nothing.json").status, 404);

    // On disk, as wsecho verdict reads them.
    for name in [
        "index.json",
        "good_case_2_5.json",
        "good_junit.xml",
        "script____x_junit.xml",
    ] {
        assert!(dir.join(name).is_file(), "{name} not written");
    }
    let verdict = std::process::Command::new(env!("CARGO_BIN_EXE_wsecho"))
        .args(["verdict", dir.to_str().unwrap(), "--agent", "good"])
        .output()
        .unwrap();
    assert_eq!(
        verdict.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verdict.stdout)
    );
}

#[test]
fn a_bad_spec_file_stops_the_server_with_one_line() {
    let spec = std::env::temp_dir().join(format!("wsecho-bad-spec-{}.json", std::process::id()));
    std::fs::write(&spec, r#"{"cases": ["1.1.99"]}"#).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wsecho"))
        .args(["--port", "0", "--suite-spec", spec.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no case matches \"1.1.99\""), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn the_utf8_cases_grade_tungstenite_as_autobahn_does() {
    let server = Server::start(&[]);
    // Group 6 is cases 65 (6.1.1) to 209 (6.23.7). Autobahn's fuzzingserver grades
    // tungstenite 0.30 OK on all but 6.4.3 and 6.4.4 (cases 76 and 77): there the
    // invalid text is in one frame that comes in three pieces a second apart, and
    // tungstenite checks a frame's text only once the frame is whole, so it fails the
    // connection after the case's second wait, not at once: NON-STRICT. It checks
    // fragmented text frame by frame, so 6.4.1 and 6.4.2 are OK.
    for n in 65..=209 {
        run_echoing(&server, n, "tungstenite");
        let want = if matches!(n, 76 | 77) {
            "NON-STRICT"
        } else {
            "OK"
        };
        assert_eq!(
            status(&server, n, "tungstenite"),
            format!(r#"{{"behavior":"{want}"}}"#),
            "case {n}"
        );
    }
    // The status comes once the case is recorded, just after its line is logged; the
    // log pipe may lag.
    for line in [
        "suite: case 6.4.4 for agent tungstenite: NON-STRICT / OK",
        "suite: case 6.23.7 for agent tungstenite: OK / OK",
    ] {
        let log = server.wait_for_log(line, 1, Duration::from_secs(10));
        assert!(log.contains(line), "{line}\n{log}");
    }
}

/// Runs the cases numbered from `first` on, in order, as tungstenite echoing, and asserts
/// each case's grades, `behavior / behaviorClose` as wsecho logs them, by its id.
fn assert_grades(server: &Server, first: usize, want: &[(&str, &str)]) {
    for (i, (id, grades)) in want.iter().enumerate() {
        let n = first + i;
        run_echoing(server, n, "tungstenite");
        let behavior = grades.split(" / ").next().unwrap();
        assert_eq!(
            status(server, n, "tungstenite"),
            format!(r#"{{"behavior":"{behavior}"}}"#),
            "case {id} (number {n})"
        );
    }
    for (id, grades) in want {
        // The status comes once the case is recorded, just after its line is logged; the
        // log pipe may lag.
        let line = format!("suite: case {id} for agent tungstenite: {grades} in");
        let log = server.wait_for_log(&line, 1, Duration::from_secs(10));
        assert!(log.contains(&line), "{line}\n{log}");
    }
}

#[test]
fn the_reserved_bits_cases_grade_tungstenite_as_autobahn_does() {
    // Autobahn's fuzzingserver (wstest 25.10.1) grades tungstenite 0.30 OK / OK in all of
    // group 3: it echoes the good message (it reads one frame at a time, so the echo goes
    // before it sees the next), and fails the connection with 1002 on the RSV bits.
    let server = Server::start(&[]);
    let ids = ["3.1", "3.2", "3.3", "3.4", "3.5", "3.6", "3.7"];
    assert_grades(&server, 28, &ids.map(|id| (id, "OK / OK")));
}

#[test]
fn the_opcode_cases_grade_tungstenite_as_autobahn_does() {
    // Autobahn's fuzzingserver (wstest 25.10.1) grades tungstenite 0.30 OK / OK in all of
    // group 4: it echoes the good message before it reads the reserved opcode, and fails
    // the connection with 1002 on it.
    let server = Server::start(&[]);
    let ids = [
        "4.1.1", "4.1.2", "4.1.3", "4.1.4", "4.1.5", "4.2.1", "4.2.2", "4.2.3", "4.2.4", "4.2.5",
    ];
    assert_grades(&server, 35, &ids.map(|id| (id, "OK / OK")));
}

#[test]
fn the_fragmentation_cases_grade_tungstenite_as_autobahn_does() {
    // Autobahn's fuzzingserver (wstest 25.10.1) grades tungstenite 0.30 OK / OK in all of
    // group 5: fragmented messages echoed whole, pings between fragments answered (5.19
    // and 5.20 across a second's pause), and fragmented control frames, continuations
    // out of place and a message inside another failed with 1002 (in 5.15 after it
    // echoed the first message).
    let server = Server::start(&[]);
    let ids: Vec<String> = (1..=20).map(|n| format!("5.{n}")).collect();
    let want: Vec<(&str, &str)> = ids.iter().map(|id| (id.as_str(), "OK / OK")).collect();
    let started = Instant::now();
    assert_grades(&server, 45, &want);
    // 5.19 and 5.20 wait a second in the middle of the message.
    assert!(started.elapsed() >= Duration::from_secs(2));
}

/// Case 1.1.1 on `ws` (an RFC 8441 stream): the empty text message, echoed; our close,
/// answered.
fn run_first_case_over_h2(ws: &mut wsecho_test_support::h2_client::H2WebSocket) {
    let wait = Duration::from_secs(5);
    let frame = ws.recv_frame(wait).unwrap().expect("the case's message");
    assert_eq!(
        (frame.opcode, frame.payload.as_slice()),
        (OP_TEXT, &b""[..])
    );
    ws.send_frame(&RawFrame::text("")).unwrap();
    let close = ws.recv_frame(wait).unwrap().expect("the case's close");
    assert_eq!(
        (close.opcode, close.payload.as_slice()),
        (OP_CLOSE, &1000u16.to_be_bytes()[..])
    );
    ws.send_frame(&RawFrame::close(1000, "")).unwrap();
}

#[test]
fn the_cases_run_over_tls_and_http2_too() {
    use wsecho_test_support::h2_client::H2Connection;
    let version = ("sec-websocket-version", "13");
    // h2c (prior knowledge): cases on the server's cleartext port.
    let server = Server::start(&[]);
    let conn = H2Connection::connect(server.addr()).unwrap();
    let (response, mut ws) = conn
        .open_websocket("/runCase?case=1&agent=h2c", &[version])
        .unwrap();
    assert_eq!(response.status, 200, "{response:?}");
    run_first_case_over_h2(&mut ws);
    assert_eq!(status(&server, 1, "h2c"), r#"{"behavior":"OK"}"#);

    // wss:// over HTTP/1.1, and h2 over TLS (ALPN).
    let tls = common::tls::TlsServer::start(&[]);
    let stream = tls.connect();
    let url = format!(
        "wss://localhost:{}/runCase?case=17&agent=wss",
        tls.server.addr().port()
    );
    let (mut ws, _) = tungstenite::client(url, stream).unwrap();
    // 2.1: an empty ping, which tungstenite answers; then our close after a second.
    while ws.read().is_ok() {}
    let conn =
        H2Connection::connect_tls(tls.server.addr(), "localhost", tls.client_config()).unwrap();
    let (response, mut h2ws) = conn
        .open_websocket("/runCase?case=1&agent=h2", &[version])
        .unwrap();
    assert_eq!(response.status, 200, "{response:?}");
    run_first_case_over_h2(&mut h2ws);
    let index = |agent: &str, id: &str| {
        let line = format!("suite: case {id} for agent {agent}: OK / OK");
        tls.server
            .wait_for_log(&line, 1, Duration::from_secs(10))
            .contains(&line)
    };
    assert!(index("wss", "2.1"), "{}", tls.server.log());
    assert!(index("h2", "1.1.1"), "{}", tls.server.log());
}

/// The parameters a response's `Sec-WebSocket-Extensions` agreed (no server_* parameter
/// is offered by these clients).
fn agreed_by(response: &str) -> common::deflate::Agreed {
    let mut agreed = common::deflate::FULL;
    for p in response.split(';').map(str::trim).skip(1) {
        match p.split_once('=') {
            Some(("client_max_window_bits", v)) => agreed = agreed.client_bits(v.parse().unwrap()),
            None if p == "client_no_context_takeover" => agreed = agreed.cnct(),
            _ => panic!("unexpected parameter {p}"),
        }
    }
    agreed
}

/// Plays a permessage-deflate client through case `n` on an upgraded connection: every
/// message the case sends is inflated and echoed compressed as agreed; the case's close
/// is answered. `recv` and `send` move frames over whichever transport it came on.
/// Returns how many messages it echoed.
fn echo_compressed<S>(
    client: &mut common::deflate::Client<S>,
    n: usize,
    recv: impl Fn(&mut S) -> Frame,
    send: impl Fn(&mut S, &[RawFrame]),
) -> usize {
    use common::deflate::{Cut, frames};
    let mut echoed = 0;
    let mut message: Option<(u8, bool, Vec<u8>)> = None;
    loop {
        let frame = recv(&mut client.stream);
        match frame.opcode {
            OP_CLOSE => {
                send(&mut client.stream, &[RawFrame::close(1000, "")]);
                return echoed;
            }
            OP_TEXT | OP_BINARY => {
                assert!(message.is_none(), "case {n}: a message inside a message");
                message = Some((frame.opcode, frame.rsv == 0b100, frame.payload));
            }
            OP_CONT => {
                assert_eq!(frame.rsv, 0, "case {n}: RSV on a continuation");
                message.as_mut().expect("a message").2.extend(frame.payload);
            }
            op => panic!("case {n}: opcode {op}"),
        }
        if !frame.fin {
            continue;
        }
        let (opcode, compressed, payload) = message.take().unwrap();
        assert!(
            compressed,
            "case {n}: the server's message is not compressed"
        );
        let data = client.inflate(&payload).unwrap();
        let echo = client.compress(&data);
        send(&mut client.stream, &frames(opcode, &echo, Cut::Whole, true));
        echoed += 1;
    }
}

/// Runs case number `n` as a permessage-deflate client that offers `offer` and echoes
/// every message (compressed as agreed), asserting the server's response is
/// `response`. Returns how many messages it echoed.
fn run_deflate_echoing(
    server: &Server,
    n: usize,
    agent: &str,
    offer: &str,
    response: &str,
) -> usize {
    let mut request = Request::upgrade(&server.host());
    request.target = format!("/runCase?case={n}&agent={agent}");
    request
        .headers
        .push(("Sec-WebSocket-Extensions".into(), offer.into()));
    let mut stream = server.connect();
    std::io::Write::write_all(&mut stream, &request.to_bytes()).unwrap();
    let head = read_response_head(&mut stream);
    assert_eq!(head.status, 101, "{head:?}");
    assert_eq!(
        head.header("Sec-WebSocket-Extensions"),
        Some(response),
        "case {n}"
    );
    let mut client = common::deflate::Client::on(stream, agreed_by(response));
    echo_compressed(&mut client, n, read_frame, send)
}

#[test]
fn the_compression_cases_negotiate_as_autobahn_and_grade_echoes() {
    // Autobahn's fuzzingserver (wstest 25.10.1) answers the offer python websockets,
    // node ws and aiohttp make ("permessage-deflate; client_max_window_bits") with
    // plain "permessage-deflate" in 12.x and 13.1, and with what 13.2 to 13.7 ask for;
    // every message goes compressed, and a client that echoes each one passes. A sample:
    // text and binary data, a compressed payload cut into frames of 256 bytes, client
    // window 9, no context takeover.
    let server = Server::start(&[]);
    let offer = "permessage-deflate; client_max_window_bits";
    let cases = [
        (302, "12.1.1", "permessage-deflate"),
        (330, "12.2.11", "permessage-deflate"),
        (357, "12.4.2", "permessage-deflate"),
        (
            410,
            "13.2.1",
            "permessage-deflate; client_no_context_takeover",
        ),
        (
            429,
            "13.3.2",
            "permessage-deflate; client_max_window_bits=9",
        ),
        (
            510,
            "13.7.11",
            "permessage-deflate; client_no_context_takeover; client_max_window_bits=9",
        ),
    ];
    for (n, id, response) in cases {
        assert_eq!(
            run_deflate_echoing(&server, n, "deflater", offer, response),
            1000,
            "{id}"
        );
        assert_eq!(
            status(&server, n, "deflater"),
            r#"{"behavior":"OK"}"#,
            "{id}"
        );
        let line = format!("suite: case {id} for agent deflater: OK / OK in");
        let log = server.wait_for_log(&line, 1, Duration::from_secs(10));
        assert!(log.contains(&line), "{line}\n{log}");
    }
    // The report counts the exchange as Autobahn's trafficStats do. 12.1.1: 1000
    // messages of 16 bytes each way, a frame each; the echoes, compressed by this
    // client, are what it sent back.
    let report = get(&server, "/reports/deflater_case_12_1_1.json");
    let case: serde_json::Value = serde_json::from_slice(&report.body).unwrap();
    let t = &case["trafficStats"];
    assert_eq!(case["reportCompressionRatio"], true, "{case}");
    for dir in ["outgoing", "incoming"] {
        assert_eq!(t[format!("{dir}WebSocketMessages")], 1000, "{t}");
        assert_eq!(t[format!("{dir}WebSocketFrames")], 1000, "{t}");
        assert_eq!(t[format!("{dir}OctetsAppLevel")], 16_000, "{t}");
        let ws = t[format!("{dir}OctetsWebSocketLevel")].as_u64().unwrap();
        let wire = t[format!("{dir}OctetsWireLevel")].as_u64().unwrap();
        // Compressed payloads, and frame headers of 2 bytes out, 6 (masked) in.
        let header = if dir == "outgoing" { 2 } else { 6 };
        assert!(ws > 0 && ws < 16_000, "{t}");
        assert!(wire >= ws + 1000 * header, "{t}");
        let ratio = t[format!("{dir}CompressionRatio")].as_f64().unwrap();
        assert!((ratio - ws as f64 / 16_000.0).abs() < 1e-9, "{t}");
    }
    assert!(
        t["preopenIncomingOctetsWireLevel"].as_u64().unwrap() > 100,
        "{t}"
    );
    assert!(
        t["preopenOutgoingOctetsWireLevel"].as_u64().unwrap() > 100,
        "{t}"
    );
    let page = String::from_utf8(get(&server, "/reports/").body).unwrap();
    let ratios = format!(
        "[{:.3}/{:.3}]",
        t["incomingCompressionRatio"].as_f64().unwrap(),
        t["outgoingCompressionRatio"].as_f64().unwrap()
    );
    assert!(page.contains(&ratios), "{ratios} not on the page");
    // 13.3 asks for a client window, which an offer without client_max_window_bits does
    // not allow: no extension, so UNIMPLEMENTED (Autobahn's accept3 returns None).
    let (mut stream, head) = {
        let mut request = Request::upgrade(&server.host());
        request.target = "/runCase?case=429&agent=bare".into();
        request.headers.push((
            "Sec-WebSocket-Extensions".into(),
            "permessage-deflate".into(),
        ));
        let mut stream = server.connect();
        std::io::Write::write_all(&mut stream, &request.to_bytes()).unwrap();
        let head = read_response_head(&mut stream);
        (stream, head)
    };
    assert_eq!(head.status, 101);
    assert_eq!(head.header("Sec-WebSocket-Extensions"), None);
    assert_eq!(expect_close(&mut stream).code, Some(1000));
    send(&mut stream, &[RawFrame::close(1000, "")]);
    assert_eq!(
        status(&server, 429, "bare"),
        r#"{"behavior":"UNIMPLEMENTED"}"#
    );
}

/// Runs case number `n` on `conn` as [`run_deflate_echoing`] does, on an RFC 8441
/// stream.
fn run_deflate_echoing_over_h2(
    conn: &wsecho_test_support::h2_client::H2Connection,
    n: usize,
    agent: &str,
    offer: &str,
    response: &str,
) -> usize {
    let headers = [
        ("sec-websocket-version", "13"),
        ("sec-websocket-extensions", offer),
    ];
    let (head, ws) = conn
        .open_websocket(&format!("/runCase?case={n}&agent={agent}"), &headers)
        .unwrap();
    assert_eq!(head.status, 200, "{head:?}");
    assert_eq!(
        head.header("sec-websocket-extensions"),
        Some(response),
        "case {n}"
    );
    let mut client = common::deflate::Client::on(ws, agreed_by(response));
    let wait = Duration::from_secs(10);
    let echoed = echo_compressed(
        &mut client,
        n,
        |ws| {
            ws.recv_frame(wait)
                .unwrap()
                .expect("a frame, not the stream's end")
        },
        |ws, frames| {
            ws.send(&wsecho_test_support::frames::concat(frames))
                .unwrap()
        },
    );
    // Once it has our close, Autobahn's endpoint aborts the connection (Twisted's
    // abortConnection), which over HTTP/2 is RST_STREAM (RFC 8441 §5). Dropping the
    // stream before that would reset it from our side, which the case grades UNCLEAN.
    assert_eq!(
        client.stream.recv_end(wait).unwrap(),
        wsecho_test_support::h2_client::StreamEnd::Reset(
            wsecho_test_support::h2_client::Reason::CANCEL
        ),
        "case {n}"
    );
    echoed
}

#[test]
fn the_compression_cases_run_over_tls_and_http2_too() {
    use wsecho_test_support::h2_client::H2Connection;
    // 12.2.11: binary, its compressed payload cut into frames of 256 bytes; 13.3.2: the
    // client's window asked down to 9. The same cases as over ws://, on the three other
    // transports: wss:// (HTTP/1.1), h2 over TLS and h2c.
    let offer = "permessage-deflate; client_max_window_bits";
    let cases = [
        (330, "12.2.11", "permessage-deflate"),
        (
            429,
            "13.3.2",
            "permessage-deflate; client_max_window_bits=9",
        ),
    ];
    let tls = common::tls::TlsServer::start(&[]);
    for (n, id, response) in cases {
        let mut stream = tls.connect();
        let mut request = Request::upgrade(&tls.server.host());
        request.target = format!("/runCase?case={n}&agent=wss");
        request
            .headers
            .push(("Sec-WebSocket-Extensions".into(), offer.into()));
        std::io::Write::write_all(&mut stream, &request.to_bytes()).unwrap();
        let head = read_response_head(&mut stream);
        assert_eq!(head.status, 101, "{head:?}");
        assert_eq!(head.header("Sec-WebSocket-Extensions"), Some(response));
        let mut client = common::deflate::Client::on(stream, agreed_by(response));
        let echoed = echo_compressed(&mut client, n, read_frame, send);
        assert_eq!(echoed, 1000, "{id} over wss://");

        // Each HTTP/2 connection is opened when its case starts: one left without a
        // stream while another case runs may reach the server's idle timeout.
        let h2 =
            H2Connection::connect_tls(tls.server.addr(), "localhost", tls.client_config()).unwrap();
        assert_eq!(
            run_deflate_echoing_over_h2(&h2, n, "h2", offer, response),
            1000,
            "{id} over h2"
        );
        let h2c = H2Connection::connect(tls.server.addr()).unwrap();
        assert_eq!(
            run_deflate_echoing_over_h2(&h2c, n, "h2c", offer, response),
            1000,
            "{id} over h2c"
        );
        for agent in ["wss", "h2", "h2c"] {
            let line = format!("suite: case {id} for agent {agent}: OK / OK in");
            let log = tls.server.wait_for_log(&line, 1, Duration::from_secs(10));
            assert!(log.contains(&line), "{line}\n{log}");
        }
    }
}

#[test]
fn the_compression_cases_grade_tungstenite_unimplemented_as_autobahn_does() {
    // tungstenite offers no permessage-deflate: Autobahn's fuzzingserver grades every
    // case of groups 12 and 13 UNIMPLEMENTED / OK (it closes with 1000 at once).
    let server = Server::start(&[]);
    let ids: Vec<String> = (1..=5)
        .flat_map(|s| (1..=18).map(move |c| format!("12.{s}.{c}")))
        .chain((1..=7).flat_map(|s| (1..=18).map(move |c| format!("13.{s}.{c}"))))
        .collect();
    let want: Vec<(&str, &str)> = ids
        .iter()
        .map(|id| (id.as_str(), "UNIMPLEMENTED / OK"))
        .collect();
    assert_grades(&server, 302, &want);
}
