//! The state machine driven byte by byte, with no socket: what goes out for what comes in.

use super::*;
use std::time::Duration;

const REQUEST: &[u8] =
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

fn config() -> Arc<Config> {
    Arc::new(Config {
        deflate: None,
        ..Config::default()
    })
}

/// A masked client frame.
fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let key = [0x11, 0x22, 0x33, 0x44];
    let mut v = vec![(u8::from(fin) << 7) | opcode];
    let len = payload.len();
    if len < 126 {
        v.push(0x80 | len as u8);
    } else if len <= 0xffff {
        v.push(0x80 | 126);
        v.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        v.push(0x80 | 127);
        v.extend_from_slice(&(len as u64).to_be_bytes());
    }
    v.extend_from_slice(&key);
    v.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    v
}

/// Splits server output into (fin, opcode, payload) frames after the 101 response.
fn server_frames(out: &[u8]) -> Vec<(bool, u8, Vec<u8>)> {
    let start = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(0, |i| i + 4);
    let mut rest = &out[start..];
    let mut frames = Vec::new();
    while rest.len() >= 2 {
        let (fin, opcode) = (rest[0] & 0x80 != 0, rest[0] & 0x0f);
        assert_eq!(rest[1] & 0x80, 0, "server frames are never masked");
        let (len, hdr) = match rest[1] & 0x7f {
            126 => (u16::from_be_bytes([rest[2], rest[3]]) as usize, 4),
            127 => (
                u64::from_be_bytes(rest[2..10].try_into().unwrap()) as usize,
                10,
            ),
            n => (n as usize, 2),
        };
        frames.push((fin, opcode, rest[hdr..hdr + len].to_vec()));
        rest = &rest[hdr + len..];
    }
    assert!(rest.is_empty(), "trailing partial frame");
    frames
}

/// Messages reassembled from server frames: (opcode, payload); control frames as-is.
fn messages(frames: &[(bool, u8, Vec<u8>)]) -> Vec<(u8, Vec<u8>)> {
    let mut msgs = Vec::new();
    let mut current: Option<(u8, Vec<u8>)> = None;
    for (fin, opcode, payload) in frames {
        if opcode & 0x8 != 0 {
            msgs.push((*opcode, payload.clone()));
            continue;
        }
        let entry = current.get_or_insert_with(|| (*opcode, Vec::new()));
        entry.1.extend_from_slice(payload);
        if *fin {
            msgs.push(current.take().unwrap());
        }
    }
    msgs
}

/// Feeds `stream` in pieces of `chunk` bytes and returns everything written.
fn run(stream: &[u8], chunk: usize) -> (Connection, Vec<u8>) {
    let now = Instant::now();
    let mut conn = Connection::new(config(), now);
    let mut out = Vec::new();
    for piece in stream.chunks(chunk.max(1)) {
        let mut piece = piece.to_vec();
        conn.handle_input_flat(&mut piece, now, &mut Output::default(), &mut out);
    }
    (conn, out)
}

fn sample_stream() -> (Vec<u8>, Vec<(u8, Vec<u8>)>) {
    let text = "κόσμε: hello 𝄞".as_bytes().to_vec();
    let binary: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
    let mut s = REQUEST.to_vec();
    s.extend(frame(true, 1, &text));
    s.extend(frame(false, 2, &binary[..100]));
    s.extend(frame(true, 9, b"ping!"));
    s.extend(frame(false, 0, &binary[100..]));
    s.extend(frame(true, 0, b""));
    s.extend(frame(true, 1, b""));
    s.extend(frame(true, 8, &1000u16.to_be_bytes()));
    let expected = vec![
        (1, text),
        // The pong leaves at once, before the fragmented binary message ends.
        (0xA, b"ping!".to_vec()),
        (2, binary),
        (1, Vec::new()),
        (8, 1000u16.to_be_bytes().to_vec()),
    ];
    (s, expected)
}

#[test]
fn every_chunking_of_a_stream_yields_the_same_echoes() {
    let (stream, expected) = sample_stream();
    for chunk in [1, 2, 3, 5, 7, 13, 64, 200, stream.len()] {
        let (conn, out) = run(&stream, chunk);
        assert!(
            out.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"),
            "chunk {chunk}"
        );
        assert_eq!(messages(&server_frames(&out)), expected, "chunk {chunk}");
        // The client closed: once the reply is written the socket is closed.
        assert_eq!(conn.status(), Status::Finishing, "chunk {chunk}");
    }
}

#[test]
fn a_message_in_one_read_is_echoed_as_the_same_frame() {
    let mut stream = REQUEST.to_vec();
    stream.extend(frame(true, 2, b"abc"));
    let (_, out) = run(&stream, stream.len());
    assert_eq!(server_frames(&out), vec![(true, 2, b"abc".to_vec())]);
}

#[test]
fn invalid_utf8_fails_mid_frame_before_the_frame_ends() {
    let mut stream = REQUEST.to_vec();
    let mut payload = b"valid text ".to_vec();
    payload.extend_from_slice(b"\xf4\x90\x80\x80 and more that never arrives");
    let whole = frame(true, 1, &payload);
    // Send only the header and the bytes up to the bad sequence.
    stream.extend_from_slice(&whole[..6 + 15]);
    let (conn, out) = run(&stream, stream.len());
    let frames = server_frames(&out);
    let (fin, opcode, close) = frames.last().unwrap();
    assert_eq!((*fin, *opcode), (true, 8));
    assert_eq!(u16::from_be_bytes([close[0], close[1]]), 1007);
    assert_eq!(conn.status(), Status::Closing);
}

#[test]
fn valid_message_before_a_bad_frame_is_echoed_first() {
    let mut stream = REQUEST.to_vec();
    stream.extend(frame(true, 1, b"hello"));
    stream.extend([0x81, 0x05]); // unmasked
    let (_, out) = run(&stream, stream.len());
    let frames = server_frames(&out);
    assert_eq!(frames[0], (true, 1, b"hello".to_vec()));
    let close = &frames[1].2;
    assert_eq!(u16::from_be_bytes([close[0], close[1]]), 1002);
    assert!(String::from_utf8_lossy(&close[2..]).contains("not masked"));
}

#[test]
fn nothing_after_the_peer_close_is_echoed() {
    let mut stream = REQUEST.to_vec();
    stream.extend(frame(true, 8, &[]));
    stream.extend(frame(true, 1, b"late"));
    let (conn, out) = run(&stream, stream.len());
    assert_eq!(server_frames(&out), vec![(true, 8, Vec::new())]);
    assert_eq!(conn.status(), Status::Finishing);
}

#[test]
fn oversized_frame_is_refused_from_its_header() {
    let now = Instant::now();
    let config = Arc::new(Config {
        deflate: None,
        max_frame_size: 1000,
        ..Config::default()
    });
    let mut conn = Connection::new(config, now);
    let mut out = Vec::new();
    let mut stream = REQUEST.to_vec();
    stream.extend([0x82, 0xff]);
    stream.extend((1u64 << 62).to_be_bytes());
    stream.extend([1, 2, 3, 4]);
    conn.handle_input_flat(&mut stream, now, &mut Output::default(), &mut out);
    let frames = server_frames(&out);
    assert_eq!(u16::from_be_bytes([frames[0].2[0], frames[0].2[1]]), 1009);
    assert!(matches!(conn.poll_event(), Some(Event::Opened { .. })));
    assert!(matches!(
        conn.poll_event(),
        Some(Event::Failed(ProtocolError::FrameTooBig { .. }))
    ));
}

#[test]
fn message_limit_counts_all_fragments() {
    let now = Instant::now();
    let config = Arc::new(Config {
        deflate: None,
        max_message_size: 10,
        ..Config::default()
    });
    let mut conn = Connection::new(config, now);
    let mut out = Vec::new();
    let mut stream = REQUEST.to_vec();
    stream.extend(frame(false, 2, &[0; 6]));
    stream.extend(frame(true, 0, &[0; 6]));
    conn.handle_input_flat(&mut stream, now, &mut Output::default(), &mut out);
    let frames = server_frames(&out);
    assert_eq!(frames[0], (false, 2, vec![0; 6]));
    assert_eq!(u16::from_be_bytes([frames[1].2[0], frames[1].2[1]]), 1009);
}

#[test]
fn handshake_and_close_deadlines() {
    let t0 = Instant::now();
    let cfg = config();
    let mut conn = Connection::new(Arc::clone(&cfg), t0);
    assert_eq!(conn.deadline(), Some(t0 + cfg.handshake_timeout));
    conn.handle_timeout(t0 + Duration::from_millis(1), &mut Vec::new());
    assert_eq!(conn.status(), Status::Open, "not yet due");
    conn.handle_timeout(t0 + cfg.handshake_timeout, &mut Vec::new());
    assert_eq!(conn.status(), Status::Done);

    let mut conn = Connection::new(Arc::clone(&cfg), t0);
    let mut out = Vec::new();
    let mut stream = REQUEST.to_vec();
    conn.handle_input_flat(&mut stream, t0, &mut Output::default(), &mut out);
    assert_eq!(conn.deadline(), None, "an open connection has no deadline");
    conn.close(1001, "bye", t0, &mut out);
    assert_eq!(conn.status(), Status::Closing);
    assert_eq!(conn.deadline(), Some(t0 + cfg.close_timeout));
    conn.handle_timeout(t0 + cfg.close_timeout, &mut out);
    assert_eq!(conn.status(), Status::Done);
}

#[test]
fn bad_request_is_answered_and_closed() {
    let (conn, out) = run(
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n",
        4,
    );
    assert!(out.starts_with(b"HTTP/1.1 400 Bad Request\r\n"));
    assert_eq!(conn.status(), Status::Closing);
}

#[test]
fn eof_ends_the_connection() {
    let (mut conn, _) = run(REQUEST, REQUEST.len());
    conn.handle_eof();
    assert_eq!(conn.status(), Status::Done);
    assert!(matches!(
        conn.poll_event(),
        Some(Event::Opened { deflate: false })
    ));
    assert!(matches!(conn.poll_event(), Some(Event::Dropped { .. })));
}

#[test]
fn eof_while_closing_or_finishing_still_sends_the_last_bytes() {
    // A client that half-closes right after its close frame (or after breaking a rule)
    // still gets our reply: the driver writes what is queued, then closes.
    let mut answered = REQUEST.to_vec();
    answered.extend(frame(true, 8, &1000u16.to_be_bytes()));
    let mut failed = REQUEST.to_vec();
    failed.extend([0x81, 0x05]); // unmasked: 1002
    for (stream, before) in [(answered, Status::Finishing), (failed, Status::Closing)] {
        let (mut conn, _) = run(&stream, stream.len());
        assert_eq!(conn.status(), before);
        let deadline = conn.deadline();
        assert!(deadline.is_some());
        conn.handle_eof();
        assert_eq!(conn.status(), Status::Finishing, "after {before:?}");
        // Still bounded: the close timeout stands if the socket never takes the bytes.
        assert_eq!(conn.deadline(), deadline);
        conn.handle_timeout(deadline.unwrap(), &mut Vec::new());
        assert_eq!(conn.status(), Status::Done);
    }
}

#[test]
fn large_echoes_are_sent_from_the_input_not_copied() {
    let now = Instant::now();
    let mut conn = Connection::new(config(), now);
    let mut out = Output::default();
    let mut request = REQUEST.to_vec();
    conn.handle_input(&mut request, now, &mut out);
    assert!(!out.has_splices());
    out.clear();

    // Two whole messages and the start of a third, then the third's continuation in
    // a later read: every payload chunk of 1 KiB or more stays in the input.
    let big: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
    let mut stream = frame(true, 0x2, &big);
    stream.extend(frame(true, 0x2, b"small"));
    stream.extend(frame(true, 0x2, &big[..3000]));
    let cut = stream.len() - 1500;
    let (mut first, mut second) = (stream[..cut].to_vec(), stream[cut..].to_vec());

    conn.handle_input(&mut first, now, &mut out);
    assert!(out.has_splices());
    assert!(
        out.bytes().len() < 64,
        "payloads were copied: {}",
        out.bytes().len()
    );
    let mut wire = out.to_vec(&first);
    out.clear();
    conn.handle_input(&mut second, now, &mut out);
    assert!(out.has_splices());
    wire.extend(out.to_vec(&second));

    let msgs = messages(&server_frames(&wire));
    assert_eq!(
        msgs,
        vec![
            (0x2, big.clone()),
            (0x2, b"small".to_vec()),
            (0x2, big[..3000].to_vec())
        ]
    );
}

#[test]
fn small_echoes_are_built_in_the_input_and_keep_their_place_among_other_output() {
    let now = Instant::now();
    let mut conn = Connection::new(config(), now);
    let mut out = Output::default();
    let mut request = REQUEST.to_vec();
    conn.handle_input(&mut request, now, &mut out);
    out.clear();

    // Small messages, a ping, more small messages and a close, all in one read.
    let mut input = frame(true, 0x1, b"one");
    input.extend(frame(true, 0x2, &[7; 125]));
    input.extend(frame(true, 0x9, b"p"));
    input.extend(frame(true, 0x1, "drei €".as_bytes()));
    input.extend(frame(true, 0x8, &1000u16.to_be_bytes()));
    conn.handle_input(&mut input, now, &mut out);
    assert!(out.has_splices());
    // Only the pong and the close reply are owned bytes: every echo stayed in the input.
    assert_eq!(out.bytes().len(), (2 + 1) + (2 + 2));
    assert_eq!(
        messages(&server_frames(&out.to_vec(&input))),
        vec![
            (0x1, b"one".to_vec()),
            (0x2, vec![7; 125]),
            (0xA, b"p".to_vec()),
            (0x1, "drei €".as_bytes().to_vec()),
            (0x8, 1000u16.to_be_bytes().to_vec()),
        ]
    );
    assert_eq!(conn.status(), Status::Finishing);
    assert_eq!(conn.counts().messages, 3);
}
