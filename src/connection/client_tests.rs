//! The client core driven byte by byte, with test-support's independent frame code
//! speaking the server's side.

use std::time::{Duration, Instant};

use wsecho_test_support::frames::{self as wire, OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_TEXT};

use super::*;
use crate::handshake::accept_value;

/// A frame the client wrote, unmasked: (fin, opcode, payload).
type Sent = (bool, u8, Vec<u8>);

/// Reads the client's frames back with test-support's parser: each must be masked.
fn sent_frames(mut bytes: &[u8]) -> Vec<Sent> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        let h = wire::parse_header(bytes).unwrap().expect("a whole header");
        let key = h.mask.expect("§5.3: every client frame is masked");
        let end = h.header_len + h.len as usize;
        let mut payload = bytes[h.header_len..end].to_vec();
        wire::apply_mask(&mut payload, key);
        frames.push((h.fin, h.opcode, payload));
        bytes = &bytes[end..];
    }
    frames
}

/// The `Sec-WebSocket-Key` of a request the client wrote.
fn key_of(request: &[u8]) -> [u8; 24] {
    let text = std::str::from_utf8(request).unwrap();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .expect("a key header");
    line.as_bytes().try_into().expect("24 characters")
}

fn answer_to(request: &[u8]) -> Vec<u8> {
    let accept = accept_value(&key_of(request));
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        std::str::from_utf8(&accept).unwrap()
    )
    .into_bytes()
}

fn events(core: &mut ClientCore) -> Vec<ClientEvent> {
    std::iter::from_fn(|| core.poll_event()).collect()
}

/// A core that has sent its request and read a valid 101 followed by `after`.
fn open_with(after: &[u8]) -> (ClientCore, Vec<ClientEvent>, Vec<u8>, Instant) {
    let now = Instant::now();
    let mut out = Vec::new();
    let mut core = ClientCore::new(&ClientOptions::new("example.com", "/"), now, &mut out).unwrap();
    let mut input = answer_to(&out);
    input.extend_from_slice(after);
    out.clear();
    core.handle_input(&mut input, now, &mut out);
    let seen = events(&mut core);
    (core, seen, out, now)
}

fn opened() -> ClientEvent {
    ClientEvent::Opened { protocol: None }
}

#[test]
fn the_request_carries_a_fresh_key_and_the_answer_opens_the_connection() {
    let now = Instant::now();
    let (mut one, mut two) = (Vec::new(), Vec::new());
    let options = ClientOptions::new("example.com:8080", "/chat?x=1");
    ClientCore::new(&options, now, &mut one).unwrap();
    ClientCore::new(&options, now, &mut two).unwrap();
    let text = String::from_utf8(one.clone()).unwrap();
    assert!(
        text.starts_with("GET /chat?x=1 HTTP/1.1\r\nHost: example.com:8080\r\n"),
        "{text}"
    );
    // §4.1: "a randomly selected 16-byte value that has been base64-encoded".
    assert_eq!(STANDARD.decode(key_of(&one)).unwrap().len(), 16);
    assert_ne!(
        key_of(&one),
        key_of(&two),
        "each connection has its own nonce"
    );

    let (core, seen, out, _) = open_with(b"");
    assert_eq!(seen, [opened()]);
    assert!(out.is_empty());
    assert_eq!(core.deadline(), None, "no wait while open");
}

#[test]
fn an_answer_that_fails_section_4_1_ends_the_connection_without_a_frame() {
    let now = Instant::now();
    let mut out = Vec::new();
    let mut core = ClientCore::new(&ClientOptions::new("h", "/"), now, &mut out).unwrap();
    out.clear();
    let mut answer = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec();
    core.handle_input(&mut answer, now, &mut out);
    assert_eq!(
        events(&mut core),
        [ClientEvent::Failed(ClientError::Answer(
            AnswerError::NotSwitching { status: 404 }
        ))]
    );
    assert_eq!(core.status(), ClientStatus::Done);
    assert!(out.is_empty());
}

#[test]
fn the_answer_and_frames_arrive_one_byte_at_a_time() {
    let now = Instant::now();
    let mut out = Vec::new();
    let mut core = ClientCore::new(&ClientOptions::new("h", "/"), now, &mut out).unwrap();
    let mut input = answer_to(&out);
    out.clear();
    input.extend(wire::server_frame(false, 0, OP_TEXT, "hé".as_bytes()));
    input.extend(wire::server_frame(true, 0, OP_CONT, "llo".as_bytes()));
    input.extend(wire::server_frame(true, 0, OP_BINARY, &[0, 255]));
    for byte in &input {
        core.handle_input(&mut [*byte], now, &mut out);
    }
    assert_eq!(
        events(&mut core),
        [
            opened(),
            ClientEvent::Message {
                opcode: Opcode::Text,
                data: "héllo".into()
            },
            ClientEvent::Message {
                opcode: Opcode::Binary,
                data: vec![0, 255]
            },
        ]
    );
}

#[test]
fn messages_go_out_masked_and_pings_are_answered() {
    let (mut core, _, _, _) = open_with(b"");
    let mut out = Vec::new();
    core.send(Opcode::Text, b"hello", &mut out).unwrap();
    let big = vec![7u8; 70 << 10];
    core.send(Opcode::Binary, &big, &mut out).unwrap();
    core.handle_input(
        &mut wire::server_frame(true, 0, OP_PING, b"p!"),
        Instant::now(),
        &mut out,
    );
    assert_eq!(
        sent_frames(&out),
        [
            (true, OP_TEXT, b"hello".to_vec()),
            (true, OP_BINARY, big),
            (true, 0xA, b"p!".to_vec()),
        ]
    );
    assert_eq!(
        core.send(Opcode::Ping, &[0; 126], &mut out),
        Err(SendError::TooLong)
    );
    assert_eq!(
        core.send(Opcode::Close, b"", &mut out),
        Err(SendError::NotOpen),
        "a close goes through close()"
    );
}

#[test]
fn our_close_then_the_servers_then_its_fin_end_the_connection_cleanly() {
    let (mut core, _, _, now) = open_with(b"");
    let mut out = Vec::new();
    core.close(CloseCode::NORMAL, "bye", now, &mut out).unwrap();
    assert_eq!(
        sent_frames(&out),
        [(true, OP_CLOSE, b"\x03\xe8bye".to_vec())]
    );
    assert_eq!(
        core.send(Opcode::Text, b"late", &mut out),
        Err(SendError::NotOpen),
        "§5.5.1: no data frame after our close"
    );
    assert_eq!(core.deadline(), Some(now + Duration::from_secs(10)));
    // The server's data sent before it saw our close still arrives, then its close.
    let mut input = wire::server_frame(true, 0, OP_TEXT, b"echo");
    input.extend(wire::server_frame(true, 0, OP_CLOSE, b"\x03\xe8"));
    out.clear();
    core.handle_input(&mut input, now, &mut out);
    assert!(out.is_empty(), "a close that answers ours is not answered");
    assert_eq!(
        events(&mut core),
        [
            ClientEvent::Message {
                opcode: Opcode::Text,
                data: b"echo".to_vec()
            },
            ClientEvent::Closed {
                code: Some(CloseCode::NORMAL),
                reason: String::new()
            },
        ]
    );
    // §7.1.1: the server closes TCP first; the client reads until it does.
    assert_eq!(core.status(), ClientStatus::Open);
    core.handle_eof();
    assert_eq!(
        events(&mut core),
        [ClientEvent::Ended { server_first: true }]
    );
    assert_eq!(core.status(), ClientStatus::Done);
}

#[test]
fn a_servers_close_is_echoed_and_a_server_that_keeps_tcp_open_is_left() {
    let mut close = wire::server_frame(true, 0, OP_CLOSE, b"\x03\xe9going");
    // Bytes after the close (a frame's start) are not read, nor kept.
    close.extend_from_slice(&wire::server_frame(true, 0, OP_TEXT, b"late")[..3]);
    let (mut core, seen, out, now) = open_with(&close);
    assert!(core.input.is_empty());
    assert_eq!(
        seen,
        [
            opened(),
            ClientEvent::Closed {
                code: Some(CloseCode::GOING_AWAY),
                reason: "going".into()
            }
        ]
    );
    assert_eq!(sent_frames(&out), [(true, OP_CLOSE, b"\x03\xe9".to_vec())]);
    let at = core.deadline().expect("a wait for the server's FIN");
    core.handle_timeout(at - Duration::from_millis(1));
    assert_eq!(core.status(), ClientStatus::Open);
    core.handle_timeout(at);
    assert_eq!(
        events(&mut core),
        [ClientEvent::Ended {
            server_first: false
        }]
    );
    assert_eq!(core.status(), ClientStatus::Done);
    let _ = now;
}

#[test]
fn a_server_breaking_a_rule_is_failed_with_its_code_in_a_masked_close() {
    let cases: [(Vec<u8>, ProtocolError); 6] = [
        // §5.1: "A client MUST close a connection if it detects a masked frame."
        (
            wire::client_frame(true, 0, OP_TEXT, [1, 2, 3, 4], b"hi"),
            ProtocolError::MaskedFrame,
        ),
        (
            wire::server_frame(true, 0, OP_TEXT, b"\xc3\x28"),
            ProtocolError::InvalidUtf8,
        ),
        (
            wire::server_frame(true, 0b100, OP_TEXT, b"x"),
            ProtocolError::ReservedBits { rsv: 0b100 },
        ),
        (
            wire::server_frame(true, 0, OP_CONT, b"x"),
            ProtocolError::UnexpectedContinuation,
        ),
        (
            [
                wire::server_frame(false, 0, OP_TEXT, b"x"),
                wire::server_frame(true, 0, OP_BINARY, b"y"),
            ]
            .concat(),
            ProtocolError::ExpectedContinuation,
        ),
        (
            wire::server_frame(true, 0, OP_CLOSE, b"\x03\xed"),
            ProtocolError::InvalidCloseCode { code: 1005 },
        ),
    ];
    for (frames, error) in cases {
        let (mut core, seen, out, _) = open_with(&frames);
        assert_eq!(
            seen,
            [opened(), ClientEvent::Failed(ClientError::Protocol(error))],
            "{error:?}"
        );
        let sent = sent_frames(&out);
        assert_eq!(sent.len(), 1, "{error:?}");
        let code = u16::from_be_bytes([sent[0].2[0], sent[0].2[1]]);
        assert_eq!(
            (sent[0].1, code),
            (OP_CLOSE, error.close_code().as_u16()),
            "{error:?}"
        );
        assert_eq!(core.status(), ClientStatus::Finishing);
        // §7.1.7: nothing more is read, not even a close frame.
        let mut more = wire::server_frame(true, 0, OP_CLOSE, b"");
        let mut after = Vec::new();
        core.handle_input(&mut more, Instant::now(), &mut after);
        assert!(events(&mut core).is_empty() && after.is_empty());
    }
}

#[test]
fn a_message_over_the_limit_fails_with_1009_before_its_payload_arrives() {
    let now = Instant::now();
    let mut out = Vec::new();
    let options = ClientOptions {
        max_message: 10,
        ..ClientOptions::new("h", "/")
    };
    let mut core = ClientCore::new(&options, now, &mut out).unwrap();
    let mut input = answer_to(&out);
    input.extend(wire::server_frame(false, 0, OP_BINARY, &[1; 6]));
    // The second fragment's header alone: 6 + 5 > 10.
    input.extend(&wire::server_frame(true, 0, OP_CONT, &[2; 5])[..2]);
    core.handle_input(&mut input, now, &mut out);
    assert_eq!(
        events(&mut core),
        [
            opened(),
            ClientEvent::Failed(ClientError::Protocol(ProtocolError::MessageTooBig {
                max: 10
            }))
        ]
    );
}

#[test]
fn tcp_ending_early_or_a_silent_server_fail_the_connection() {
    let (mut core, _, _, _) = open_with(b"");
    core.handle_eof();
    assert_eq!(
        events(&mut core),
        [ClientEvent::Failed(ClientError::Dropped {
            during: "open connection"
        })]
    );
    let now = Instant::now();
    let mut out = Vec::new();
    let mut core = ClientCore::new(&ClientOptions::new("h", "/"), now, &mut out).unwrap();
    core.handle_timeout(now + Duration::from_secs(10));
    assert_eq!(
        events(&mut core),
        [ClientEvent::Failed(ClientError::TimedOut {
            during: "handshake"
        })]
    );
    assert_eq!(core.status(), ClientStatus::Done);
}
