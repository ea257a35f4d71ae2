//! Behaviours on request: the query of the upgrade request asks wsecho to close with a
//! code, answer with an HTTP status or speak first; every mistake is refused with 400
//! naming the parameter, and an app's own parameters are let pass. Raw sockets and tungstenite against the real binary.

mod common;

use std::io::Write;

use common::*;
use tungstenite::Message;
use tungstenite::protocol::frame::coding::CloseCode as TCloseCode;

/// An upgrade request for `target`.
fn upgrade_to(server: &Server, target: &str) -> Vec<u8> {
    let request = String::from_utf8(Request::upgrade(&server.host()).to_bytes()).unwrap();
    request
        .replacen("GET / ", &format!("GET {target} "), 1)
        .into_bytes()
}

#[test]
fn close_asks_for_a_close_with_that_code_and_reason_right_after_the_upgrade() {
    let server = Server::start(&[]);
    let mut stream = server.connect();
    stream
        .write_all(&upgrade_to(&server, "/?close=4000&reason=bye%20now"))
        .unwrap();
    assert_eq!(read_response_head(&mut stream).status, 101);
    let close = expect_close(&mut stream);
    assert_eq!(
        close,
        Close {
            code: Some(4000),
            reason: "bye now".into()
        }
    );
    reply_close(&mut stream, &close);
    assert_server_closes(&mut stream, CLOSE_BOUND);
}

#[test]
fn a_browser_like_client_sees_the_close_it_asked_for() {
    let server = Server::start(&[]);
    let url = format!("{}?close=3001&reason=asked", server.url());
    let (mut ws, _) = tungstenite::client(url, server.connect()).expect("handshake");
    expect_close_frame(&mut ws, 3001, "asked");
}

#[test]
fn status_asks_for_that_http_status_instead_of_101() {
    let server = Server::start(&[]);
    for code in [401, 404, 500] {
        let response = expect_refused(&server, &upgrade_to(&server, &format!("/?status={code}")));
        assert_eq!(response.status, code);
        assert!(
            response.body_text().contains(&format!("?status={code}")),
            "{}",
            response.body_text()
        );
    }
}

#[test]
fn hello_makes_wsecho_speak_first_and_then_echo() {
    let server = Server::start(&[]);
    let mut stream = server.connect();
    stream
        .write_all(&upgrade_to(&server, "/?hello=h%C3%A9llo+there"))
        .unwrap();
    assert_eq!(read_response_head(&mut stream).status, 101);
    assert_eq!(
        read_message(&mut stream),
        (OP_TEXT, "héllo there".as_bytes().to_vec())
    );
    send(&mut stream, &[RawFrame::binary([1, 2, 3])]);
    assert_eq!(read_message(&mut stream), (OP_BINARY, vec![1, 2, 3]));
}

#[test]
fn hello_then_close_come_in_that_order() {
    let server = Server::start(&[]);
    let mut stream = server.connect();
    stream
        .write_all(&upgrade_to(&server, "/?hello=first&close=1000"))
        .unwrap();
    assert_eq!(read_response_head(&mut stream).status, 101);
    assert_eq!(read_message(&mut stream), (OP_TEXT, b"first".to_vec()));
    assert_eq!(expect_close(&mut stream).code, Some(1000));
}

#[test]
fn every_mistake_in_the_query_is_refused_with_400_naming_it() {
    let server = Server::start(&[]);
    for (target, words) in [
        (
            "/?clsoe=1000",
            "unknown parameter clsoe; did you mean close?",
        ),
        (
            "/?close=1000&token=x",
            "unknown parameter token beside close",
        ),
        ("/?close=1006", "close=1006"),
        ("/?status=99", "status=99"),
        ("/?reason=x", "reason needs close=CODE"),
        ("/?hello=%zz", "\"hello\""),
        ("/?headers=yes", "\"headers\" takes no value"),
        ("/?ping=0", "ping=0: not a time in seconds"),
        ("/?ping=1&ping-payload=%ff", "\"ping-payload\": not UTF-8"),
        ("/?ping-payload=x", "ping-payload needs ping=SECONDS"),
        ("/?delay=soon", "delay=soon: not a time in seconds"),
        ("/?handshake-delay=4000", "handshake-delay=4000: not a time"),
        ("/?abort=now", "\"abort\" takes no value"),
        ("/?abort&close=1000", "close and abort exclude each other"),
        ("/?send=-1", "send=-1: not a message size"),
        ("/?count=2", "count needs send=BYTES"),
        ("/?send=1&count=0", "count=0: not a number of messages"),
        ("/?ping-between", "ping-between needs fragment=N"),
        ("/?fragment=0", "fragment=0: not a fragment size"),
    ] {
        let response = expect_refused(&server, &upgrade_to(&server, target));
        assert_eq!(response.status, 400, "{target}");
        assert!(
            response.body_text().contains(words),
            "{target}: {}",
            response.body_text()
        );
    }
}

#[test]
fn with_no_behaviour_asked_for_wsecho_only_echoes() {
    let server = Server::start(&[]);
    for target in ["/", "/path/x", "/?trace"] {
        let mut stream = server.connect();
        stream.write_all(&upgrade_to(&server, target)).unwrap();
        assert_eq!(read_response_head(&mut stream).status, 101);
        send(&mut stream, &[RawFrame::text("only an echo")]);
        assert_eq!(
            read_message(&mut stream),
            (OP_TEXT, b"only an echo".to_vec())
        );
    }
}

#[test]
fn an_apps_url_with_a_query_of_its_own_is_echoed() {
    let mut command = Server::command("127.0.0.1", &[]);
    command.env("RUST_LOG", "wsecho=debug");
    let server = Server::start_command(command);
    let url = format!("{}chat?token=abc123&room=7&_=1700000000", server.url());
    let (mut ws, response) = tungstenite::client(url, server.connect()).expect("handshake");
    assert_eq!(response.status().as_u16(), 101);
    ws.send(Message::text("the query is sent")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("the query is sent"));
    let needle = "query parameters not wsecho's, ignored: token, room, _";
    let log = server.wait_for_log(needle, 1, IO_TIMEOUT);
    assert!(log.contains(needle), "{log}");
}

#[test]
fn a_misspelt_parameter_is_refused_with_a_suggestion() {
    let server = Server::start(&[]);
    for (target, words) in [
        (
            "/?clsoe=4000",
            "unknown parameter clsoe; did you mean close?",
        ),
        (
            "/?token=1&hedaers",
            "unknown parameter hedaers; did you mean headers?",
        ),
    ] {
        let response = expect_refused(&server, &upgrade_to(&server, target));
        assert_eq!(response.status, 400, "{target}");
        assert!(
            response.body_text().contains(words),
            "{target}: {}",
            response.body_text()
        );
    }
}

#[test]
fn a_parameter_not_wsechos_beside_a_behaviour_is_refused() {
    let server = Server::start(&[]);
    let response = expect_refused(&server, &upgrade_to(&server, "/?close=4000&token=abc123"));
    assert_eq!(response.status, 400);
    assert!(
        response
            .body_text()
            .contains("unknown parameter token beside close"),
        "{}",
        response.body_text()
    );
}

#[test]
fn headers_lists_the_parameters_it_let_pass() {
    let server = Server::start(&[]);
    let mut stream = server.connect();
    stream
        .write_all(&upgrade_to(&server, "/chat?token=abc123&headers&room=7"))
        .unwrap();
    assert_eq!(read_response_head(&mut stream).status, 101);
    let (opcode, json) = read_message(&mut stream);
    assert_eq!(opcode, OP_TEXT);
    let v: serde_json::Value = serde_json::from_slice(&json).expect("JSON");
    assert_eq!(v["ignored"], serde_json::json!(["token", "room"]));
    assert_eq!(v["target"], "/chat?token=abc123&headers&room=7");
    send(&mut stream, &[RawFrame::text("echo")]);
    assert_eq!(read_message(&mut stream), (OP_TEXT, b"echo".to_vec()));
}

/// The README's table of behaviours is a copy of `behaviour::PARAMETERS`.
#[test]
fn the_readme_lists_every_behaviour_as_the_server_knows_it() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let section = readme
        .split("\n## Behaviours on request\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("a Behaviours on request section");
    let rows: Vec<(String, String, String)> = section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let strip = |c: &str| c.trim_matches('`').to_string();
            (strip(cells[1]), cells[2].to_string(), strip(cells[3]))
        })
        .collect();
    let known: Vec<(String, String, String)> = wsecho::fuzzing::handshake::behaviour::PARAMETERS
        .iter()
        .map(|(form, what, example)| {
            (
                form.to_string(),
                what.to_string(),
                format!("ws://localhost:5050/{example}"),
            )
        })
        .collect();
    assert_eq!(rows, known);
}

#[test]
fn subprotocol_forces_the_answer_whatever_the_offer() {
    let server = Server::start(&[]);
    // Answered with a name the client did not offer (a client must fail that).
    let mut stream = server.connect();
    stream
        .write_all(&upgrade_to(&server, "/?subprotocol=chat"))
        .unwrap();
    let response = read_response_head(&mut stream);
    assert_eq!(response.status, 101);
    assert_eq!(response.header("Sec-WebSocket-Protocol"), Some("chat"));
    // And with none, though the client offered one.
    let mut stream = server.connect();
    let request = String::from_utf8(upgrade_to(&server, "/?subprotocol="))
        .unwrap()
        .replacen("\r\n\r\n", "\r\nSec-WebSocket-Protocol: echo\r\n\r\n", 1);
    stream.write_all(request.as_bytes()).unwrap();
    let response = read_response_head(&mut stream);
    assert_eq!(response.status, 101);
    assert_eq!(response.header("Sec-WebSocket-Protocol"), None);
}

#[test]
fn deflate_off_declines_the_offer() {
    let server = Server::start(&[]);
    for (target, agreed) in [("/", true), ("/?deflate=off", false)] {
        let mut stream = server.connect();
        let request = String::from_utf8(upgrade_to(&server, target))
            .unwrap()
            .replacen(
                "\r\n\r\n",
                "\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
                1,
            );
        stream.write_all(request.as_bytes()).unwrap();
        let response = read_response_head(&mut stream);
        assert_eq!(response.status, 101);
        assert_eq!(
            response.header("Sec-WebSocket-Extensions").is_some(),
            agreed,
            "{target}"
        );
    }
}

#[test]
fn after_delays_the_close_until_that_many_messages_are_echoed() {
    let server = Server::start(&[]);
    let url = format!("{}?close=4001&reason=enough&after=2", server.url());
    let (mut ws, _) = tungstenite::client(url, server.connect()).expect("handshake");
    for m in ["one", "two"] {
        ws.send(Message::text(m)).unwrap();
        assert_eq!(ws.read().unwrap(), Message::text(m));
    }
    expect_close_frame(&mut ws, 4001, "enough");
}

#[test]
fn headers_sends_the_request_as_received_as_json_first() {
    let server = Server::start(&[]);
    let mut stream = server.connect();
    let local = stream.local_addr().unwrap();
    let request = String::from_utf8(upgrade_to(&server, "/x?headers&hello=after"))
        .unwrap()
        .replacen("\r\n\r\n", "\r\nX-Test: a \"quoted\" value\r\n\r\n", 1);
    stream.write_all(request.as_bytes()).unwrap();
    assert_eq!(read_response_head(&mut stream).status, 101);
    let (opcode, json) = read_message(&mut stream);
    assert_eq!(opcode, OP_TEXT);
    let v: serde_json::Value = serde_json::from_slice(&json).expect("JSON");
    assert_eq!(v["method"], "GET");
    assert_eq!(v["target"], "/x?headers&hello=after");
    assert_eq!(v["version"], "HTTP/1.1");
    assert_eq!(v["client"], local.to_string());
    let headers = v["headers"].as_array().expect("headers");
    assert!(
        headers.contains(&serde_json::json!(["X-Test", "a \"quoted\" value"])),
        "{headers:?}"
    );
    assert_eq!(headers[0][0], "Host");
    // Then the greeting, then the echo.
    assert_eq!(read_message(&mut stream), (OP_TEXT, b"after".to_vec()));
    send(&mut stream, &[RawFrame::text("echo")]);
    assert_eq!(read_message(&mut stream), (OP_TEXT, b"echo".to_vec()));
}

#[test]
fn fragment_echoes_in_pieces_a_client_reassembles() {
    let server = Server::start(&[]);
    let mut stream = server.connect();
    stream
        .write_all(&upgrade_to(&server, "/?fragment=4"))
        .unwrap();
    assert_eq!(read_response_head(&mut stream).status, 101);
    send(&mut stream, &[RawFrame::text("fragment me, please")]);
    let mut pieces = Vec::new();
    loop {
        let f = read_frame(&mut stream);
        assert!(f.payload.len() <= 4, "{f:?}");
        let fin = f.fin;
        pieces.push(f);
        if fin {
            break;
        }
    }
    assert_eq!(pieces.len(), 5);
    assert_eq!(pieces[0].opcode, OP_TEXT);
    assert!(pieces[1..].iter().all(|f| f.opcode == OP_CONT));
    let text: Vec<u8> = pieces.into_iter().flat_map(|f| f.payload).collect();
    assert_eq!(text, b"fragment me, please");
    // tungstenite reassembles them into the message sent.
    let url = format!("{}?fragment=2", server.url());
    let (mut ws, _) = tungstenite::client(url, server.connect()).expect("handshake");
    ws.send(Message::binary(vec![7; 9])).unwrap();
    assert_eq!(ws.read().unwrap(), Message::binary(vec![7; 9]));
}

/// The next message tungstenite reads is a close frame with `code` and `reason`.
fn expect_close_frame(
    ws: &mut tungstenite::WebSocket<std::net::TcpStream>,
    code: u16,
    reason: &str,
) {
    match ws.read() {
        Ok(Message::Close(Some(frame))) => {
            assert_eq!(frame.code, TCloseCode::from(code));
            assert_eq!(frame.reason.as_str(), reason);
        }
        other => panic!("expected a close {code} {reason:?}, got {other:?}"),
    }
}

/// Opens `target` with a raw socket and reads the 101.
fn open_raw(server: &Server, target: &str) -> std::net::TcpStream {
    let mut stream = server.connect();
    stream.write_all(&upgrade_to(server, target)).unwrap();
    assert_eq!(read_response_head(&mut stream).status, 101, "{target}");
    stream
}

#[test]
fn ping_pings_on_a_beat_and_a_client_that_answers_stays_open() {
    let server = Server::start(&[]);
    let mut stream = open_raw(&server, "/?ping=0.1&ping-payload=are%20you%20there");
    for _ in 0..3 {
        let ping = read_frame(&mut stream);
        assert_eq!(
            (ping.opcode, &ping.payload[..]),
            (OP_PING, &b"are you there"[..])
        );
        send(&mut stream, &[RawFrame::pong(&ping.payload)]);
    }
    send(&mut stream, &[RawFrame::text("still here")]);
    loop {
        let f = read_frame(&mut stream);
        if f.opcode == OP_PING {
            send(&mut stream, &[RawFrame::pong(&f.payload)]);
            continue;
        }
        assert_eq!((f.opcode, &f.payload[..]), (OP_TEXT, &b"still here"[..]));
        break;
    }
    // tungstenite answers pings by itself, when it next reads: the connection stays
    // open across beats. The client idles 120 ms between messages against a 200 ms
    // beat, so a ping comes while it idles and its pong leaves at least about 80 ms
    // before the next beat judges it (room for a loaded machine).
    let url = format!("{}?ping=0.2", server.url());
    let (mut ws, _) = tungstenite::client(url, server.connect()).expect("handshake");
    let mut pings = 0;
    for i in 0..6 {
        std::thread::sleep(std::time::Duration::from_millis(120));
        ws.send(Message::text(format!("m{i}"))).unwrap();
        loop {
            match ws.read().expect("still open") {
                Message::Ping(_) => pings += 1,
                Message::Pong(_) => {}
                m => {
                    assert_eq!(m, Message::text(format!("m{i}")));
                    break;
                }
            }
        }
    }
    assert!(pings >= 2, "{pings} pings came in 720 ms at a 200 ms beat");
}

#[test]
fn a_ping_left_unanswered_closes_with_1008_naming_it() {
    let server = Server::start(&[]);
    let mut stream = open_raw(&server, "/?ping=0.1");
    let ping = read_frame(&mut stream);
    // The pings are numbered; a pong with other data is no answer.
    assert_eq!((ping.opcode, &ping.payload[..]), (OP_PING, &b"1"[..]));
    send(&mut stream, &[RawFrame::pong("2")]);
    let close = expect_close(&mut stream);
    assert_close(
        &close,
        &[1008],
        &[
            "no pong answered ping 1 within 0.1 s",
            "1 pongs with other data came",
        ],
    );
    reply_close(&mut stream, &close);
    assert_server_closes(&mut stream, CLOSE_BOUND);
}

#[test]
fn abort_resets_the_connection_with_no_close_frame() {
    let server = Server::start(&[]);
    // At once, after the greeting, which the client still reads first.
    let mut stream = open_raw(&server, "/?abort&hello=bye");
    assert_eq!(read_message(&mut stream), (OP_TEXT, b"bye".to_vec()));
    expect_reset(&mut stream);
    // After two echoes.
    let mut stream = open_raw(&server, "/?abort&after=2");
    for m in ["one", "two"] {
        send(&mut stream, &[RawFrame::text(m)]);
        assert_eq!(read_message(&mut stream), (OP_TEXT, m.as_bytes().to_vec()));
    }
    expect_reset(&mut stream);
    let reset = "reset the connection, as the request asked (?abort)";
    let log = server.wait_for_log(reset, 2, CLOSE_BOUND);
    assert_eq!(log.matches(reset).count(), 2, "{log}");
}

/// The next read fails with a reset (no close frame, no clean EOF).
fn expect_reset(stream: &mut std::net::TcpStream) {
    let mut byte = [0u8; 1];
    match std::io::Read::read(stream, &mut byte) {
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("expected a TCP reset, got {other:?} {byte:?}"),
    }
}

#[test]
fn delay_holds_each_echo_and_the_close_reply_in_order() {
    use std::time::{Duration, Instant};
    let server = Server::start(&[]);
    let mut stream = open_raw(&server, "/?delay=0.3");
    let sent = Instant::now();
    send(
        &mut stream,
        &[
            RawFrame::text("a"),
            RawFrame::ping("p"),
            RawFrame::binary([1, 2]),
        ],
    );
    assert_eq!(read_message(&mut stream), (OP_TEXT, b"a".to_vec()));
    let waited = sent.elapsed();
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    let pong = read_frame(&mut stream);
    assert_eq!((pong.opcode, &pong.payload[..]), (OP_PONG, &b"p"[..]));
    assert_eq!(read_message(&mut stream), (OP_BINARY, vec![1, 2]));
    // The close reply is held too, behind an echo sent just before it.
    let sent = Instant::now();
    send(
        &mut stream,
        &[RawFrame::text("last"), RawFrame::close(1000, "")],
    );
    assert_eq!(read_message(&mut stream), (OP_TEXT, b"last".to_vec()));
    let close = expect_close(&mut stream);
    assert!(sent.elapsed() >= Duration::from_millis(300));
    assert_eq!(close.code, Some(1000));
    assert_server_closes(&mut stream, CLOSE_BOUND);
}

#[test]
fn handshake_delay_holds_the_101() {
    use std::time::{Duration, Instant};
    let server = Server::start(&[]);
    let started = Instant::now();
    let mut stream = open_raw(&server, "/?handshake-delay=0.3");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    // A refusal asked for is held the same way.
    let started = Instant::now();
    let response = expect_refused(
        &server,
        &upgrade_to(&server, "/?status=503&handshake-delay=0.3"),
    );
    assert_eq!(response.status, 503);
    assert!(started.elapsed() >= Duration::from_millis(300));
    // Echoes after it are not delayed.
    let sent = Instant::now();
    send(&mut stream, &[RawFrame::text("quick")]);
    assert_eq!(read_message(&mut stream), (OP_TEXT, b"quick".to_vec()));
    assert!(sent.elapsed() < Duration::from_millis(300));
}

#[test]
fn send_sends_that_many_messages_of_that_size_then_echoes() {
    let server = Server::start(&[]);
    let url = format!("{}?send=100000&count=40", server.url());
    let (mut ws, _) = tungstenite::client(url, server.connect()).expect("handshake");
    let want: Vec<u8> = (0..100_000).map(|i| b'a' + (i % 26) as u8).collect();
    for i in 0..40 {
        match ws.read().unwrap() {
            Message::Binary(b) => assert!(b[..] == want[..], "message {i} differs"),
            other => panic!("message {i}: expected binary, got {other:?}"),
        }
    }
    ws.send(Message::text("and now an echo")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("and now an echo"));
    // Nothing more was sent than asked for.
    close_cleanly(&mut ws);
}

#[test]
fn ping_between_puts_a_ping_between_fragments() {
    let server = Server::start(&[]);
    let mut stream = open_raw(&server, "/?fragment=2&ping-between");
    send(&mut stream, &[RawFrame::text("abcde")]);
    let frames: Vec<_> = (0..5).map(|_| read_frame(&mut stream)).collect();
    let kinds: Vec<(u8, &[u8], bool)> = frames
        .iter()
        .map(|f| (f.opcode, &f.payload[..], f.fin))
        .collect();
    assert_eq!(
        kinds,
        [
            (OP_TEXT, &b"ab"[..], false),
            (OP_PING, &b"between"[..], true),
            (OP_CONT, &b"cd"[..], false),
            (OP_PING, &b"between"[..], true),
            (OP_CONT, &b"e"[..], true),
        ]
    );
    // tungstenite answers the pings and reassembles the message.
    let url = format!("{}?fragment=3&ping-between", server.url());
    let (mut ws, _) = tungstenite::client(url, server.connect()).expect("handshake");
    ws.send(Message::binary(vec![9; 10])).unwrap();
    loop {
        match ws.read().unwrap() {
            Message::Ping(_) => continue,
            m => {
                assert_eq!(m, Message::binary(vec![9; 10]));
                break;
            }
        }
    }
}
