//! The session driven as a client would: frames written here byte by byte (not with
//! the session's own encoders), and the output read back frame by frame.

use std::time::{Duration, Instant};

use super::*;
use crate::h2::frame::MAX_WINDOW;
use crate::h2::hpack::HeaderList;

// Frame types and flags, as numbers: the client side does not use the frame module.
const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const PRIORITY: u8 = 0x2;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const PUSH_PROMISE: u8 = 0x5;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const WINDOW_UPDATE: u8 = 0x8;
const CONTINUATION: u8 = 0x9;
const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY_FLAG: u8 = 0x20;

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut v = len.to_be_bytes()[1..].to_vec();
    v.push(kind);
    v.push(flags);
    v.extend_from_slice(&stream.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// An HPACK integer with a 7-bit prefix (RFC 7541 §5.1), the H bit clear.
fn int7(out: &mut Vec<u8>, n: usize) {
    if n < 127 {
        out.push(n as u8);
        return;
    }
    out.push(127);
    let mut rest = n - 127;
    while rest >= 128 {
        out.push((rest % 128) as u8 | 0x80);
        rest /= 128;
    }
    out.push(rest as u8);
}

/// A field block of literals without indexing, new names, no Huffman (RFC 7541 §6.2.2).
fn block(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in fields {
        out.push(0x00);
        int7(&mut out, name.len());
        out.extend_from_slice(name.as_bytes());
        int7(&mut out, value.len());
        out.extend_from_slice(value.as_bytes());
    }
    out
}

fn settings(entries: &[(u16, u32)]) -> Vec<u8> {
    let mut p = Vec::new();
    for (id, value) in entries {
        p.extend_from_slice(&id.to_be_bytes());
        p.extend_from_slice(&value.to_be_bytes());
    }
    frame(SETTINGS, 0, 0, &p)
}

fn window_update(stream: u32, increment: u32) -> Vec<u8> {
    frame(WINDOW_UPDATE, 0, stream, &increment.to_be_bytes())
}

fn rst(stream: u32, code: u32) -> Vec<u8> {
    frame(RST_STREAM, 0, stream, &code.to_be_bytes())
}

fn data(stream: u32, bytes: &[u8], end_stream: bool) -> Vec<u8> {
    frame(DATA, if end_stream { END_STREAM } else { 0 }, stream, bytes)
}

const GET: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "https"),
    (":path", "/"),
    (":authority", "example.com"),
];

const WEBSOCKET: &[(&str, &str)] = &[
    (":method", "CONNECT"),
    (":protocol", "websocket"),
    (":scheme", "https"),
    (":path", "/echo"),
    (":authority", "example.com"),
    ("sec-websocket-version", "13"),
];

fn headers(stream: u32, fields: &[(&str, &str)], end_stream: bool) -> Vec<u8> {
    let flags = END_HEADERS | if end_stream { END_STREAM } else { 0 };
    frame(HEADERS, flags, stream, &block(fields))
}

/// An event, owned, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Request {
        stream: u32,
        method: Vec<u8>,
        protocol: Option<Vec<u8>>,
        end_stream: bool,
    },
    TooLarge(u32),
    Data {
        stream: u32,
        data: Vec<u8>,
        end_stream: bool,
    },
    Reset {
        stream: u32,
        code: ErrorCode,
        by_peer: bool,
    },
    Drained(u32),
    Closed(u32),
    GoAway(ErrorCode, Vec<u8>),
    Failed(ErrorCode, &'static str),
}

/// A frame the session wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Out {
    kind: u8,
    flags: u8,
    stream: u32,
    payload: Vec<u8>,
}

impl Out {
    fn u32_at(&self, at: usize) -> u32 {
        u32::from_be_bytes(self.payload[at..at + 4].try_into().unwrap())
    }
}

fn read_frames(mut bytes: &[u8]) -> Vec<Out> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        assert!(bytes.len() >= 9, "a truncated frame header");
        let len = u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]]) as usize;
        assert!(bytes.len() >= 9 + len, "a truncated frame");
        frames.push(Out {
            kind: bytes[3],
            flags: bytes[4],
            stream: u32::from_be_bytes(bytes[5..9].try_into().unwrap()) & 0x7fff_ffff,
            payload: bytes[9..9 + len].to_vec(),
        });
        bytes = &bytes[9 + len..];
    }
    frames
}

fn goaway_of(frames: &[Out]) -> Option<(u32, ErrorCode, String)> {
    frames.iter().find(|f| f.kind == GOAWAY).map(|f| {
        (
            f.u32_at(0),
            ErrorCode::from_u32(f.u32_at(4)),
            String::from_utf8_lossy(&f.payload[8..]).into_owned(),
        )
    })
}

fn rst_of(frames: &[Out], stream: u32) -> Option<ErrorCode> {
    frames
        .iter()
        .find(|f| f.kind == RST_STREAM && f.stream == stream)
        .map(|f| ErrorCode::from_u32(f.u32_at(0)))
}

fn data_sent(frames: &[Out], stream: u32) -> usize {
    frames
        .iter()
        .filter(|f| f.kind == DATA && f.stream == stream)
        .map(|f| f.payload.len())
        .sum()
}

/// A client on the other end of a session.
struct Peer {
    s: Session,
    now: Instant,
}

impl Peer {
    /// A session that has just sent its preface (not read yet).
    fn new(limits: Limits) -> Peer {
        let now = Instant::now();
        Peer {
            s: Session::new(limits, now),
            now,
        }
    }

    /// A session past the prefaces both ways and the SETTINGS acks, output drained.
    fn open(limits: Limits) -> Peer {
        let mut p = Peer::new(limits);
        let mut bytes = CLIENT_PREFACE.to_vec();
        bytes.extend(settings(&[]));
        bytes.extend(frame(SETTINGS, ACK, 0, &[]));
        assert_eq!(p.feed(&bytes), []);
        let out = p.out();
        assert!(out.iter().any(|f| f.kind == SETTINGS && f.flags == ACK));
        p
    }

    /// Feeds `bytes` and polls, turn after turn, as the driver does until no input
    /// is held.
    fn feed(&mut self, bytes: &[u8]) -> Vec<Ev> {
        self.s.new_turn();
        self.s.receive(bytes);
        let mut events = self.events();
        while self.s.has_backlog() {
            self.s.new_turn();
            events.extend(self.events());
        }
        events
    }

    fn events(&mut self) -> Vec<Ev> {
        let mut events = Vec::new();
        while let Some(e) = self.s.poll(self.now) {
            events.push(match e {
                Event::Request {
                    stream,
                    headers,
                    end_stream,
                } => Ev::Request {
                    stream,
                    method: headers.method().to_vec(),
                    protocol: headers.protocol().map(<[u8]>::to_vec),
                    end_stream,
                },
                Event::RequestTooLarge { stream } => Ev::TooLarge(stream),
                Event::Data {
                    stream,
                    data,
                    end_stream,
                } => Ev::Data {
                    stream,
                    data: data.to_vec(),
                    end_stream,
                },
                Event::Reset {
                    stream,
                    code,
                    by_peer,
                    reason,
                } => {
                    assert!(!reason.is_empty());
                    Ev::Reset {
                        stream,
                        code,
                        by_peer,
                    }
                }
                Event::Drained { stream } => Ev::Drained(stream),
                Event::Closed { stream } => Ev::Closed(stream),
                Event::GoAway { code, debug } => Ev::GoAway(code, debug.to_vec()),
                Event::Failed { code, reason } => Ev::Failed(code, reason),
            });
            assert!(events.len() < 100_000, "poll never ends");
        }
        events
    }

    fn out(&mut self) -> Vec<Out> {
        let mut bytes = Vec::new();
        while self.s.has_output() {
            let before = bytes.len();
            self.s.write_output(&mut bytes, usize::MAX);
            assert!(bytes.len() > before, "has_output but wrote nothing");
        }
        read_frames(&bytes)
    }

    /// Feeds a connection error's cause and returns its code and reason.
    fn failure(&mut self, bytes: &[u8]) -> (ErrorCode, &'static str) {
        let events = self.feed(bytes);
        let Some(Ev::Failed(code, reason)) = events.last().cloned() else {
            panic!("no failure: {events:?}");
        };
        let out = self.out();
        let (_, sent, debug) = goaway_of(&out).expect("a GOAWAY");
        assert_eq!(sent, code);
        assert_eq!(debug, reason);
        assert!(!self.s.wants_read());
        assert_eq!(self.s.status(), SessionStatus::Done);
        assert_eq!(
            self.feed(&settings(&[])),
            [],
            "nothing is read after failing"
        );
        (code, reason)
    }

    fn opened(&mut self, stream: u32) {
        let events = self.feed(&headers(stream, WEBSOCKET, false));
        assert!(
            matches!(events.as_slice(), [Ev::Request { stream: s, .. }] if *s == stream),
            "{events:?}"
        );
    }
}

fn tiny() -> Limits {
    Limits {
        stream_window: 100,
        ..Limits::default()
    }
}

#[test]
fn the_server_preface_announces_extended_connect_first() {
    let mut p = Peer::new(Limits::default());
    let out = p.out();
    assert_eq!(out[0].kind, SETTINGS);
    assert_eq!(out[0].flags, 0);
    let entries: Vec<(u16, u32)> = out[0]
        .payload
        .chunks(6)
        .map(|e| {
            (
                u16::from_be_bytes([e[0], e[1]]),
                u32::from_be_bytes([e[2], e[3], e[4], e[5]]),
            )
        })
        .collect();
    assert_eq!(entries[0], (0x8, 1), "ENABLE_CONNECT_PROTOCOL first");
    assert!(entries.contains(&(0x3, DEFAULT_MAX_CONCURRENT_STREAMS)));
    assert!(entries.contains(&(0x4, DEFAULT_STREAM_WINDOW)));
    assert!(entries.contains(&(0x6, DEFAULT_MAX_HEADER_LIST_SIZE)));
    assert_eq!(out[1].kind, WINDOW_UPDATE);
    assert_eq!(out[1].stream, 0);
    assert_eq!(out[1].u32_at(0), DEFAULT_CONNECTION_WINDOW - 65_535);
    assert_eq!(out.len(), 2);
}

#[test]
fn the_client_preface_is_accepted_one_octet_at_a_time() {
    let mut p = Peer::new(Limits::default());
    p.out();
    let mut bytes = CLIENT_PREFACE.to_vec();
    bytes.extend(settings(&[(0x4, 1000)]));
    for b in &bytes {
        assert_eq!(p.feed(&[*b]), []);
    }
    let out = p.out();
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].kind, out[0].flags), (SETTINGS, ACK));
    assert_eq!(p.s.status(), SessionStatus::Open);
    assert_eq!(p.s.peer_initial_window, 1000);
}

#[test]
fn a_bad_preface_fails_on_its_first_wrong_octet() {
    let mut p = Peer::new(Limits::default());
    p.out();
    assert_eq!(p.feed(b"PRI * HTTP/2.0\r\n"), []);
    let (code, reason) = p.failure(b"\r\nXX");
    assert_eq!(code, ErrorCode::ProtocolError);
    assert!(reason.contains("§3.4"));
}

#[test]
fn http1_is_not_a_preface() {
    let mut p = Peer::new(Limits::default());
    p.out();
    assert_eq!(p.failure(b"GET / HTTP/1.1\r\n").0, ErrorCode::ProtocolError);
}

#[test]
fn the_preface_must_be_followed_by_settings() {
    let mut p = Peer::new(Limits::default());
    p.out();
    let mut bytes = CLIENT_PREFACE.to_vec();
    bytes.extend(frame(PING, 0, 0, &[0; 8]));
    assert_eq!(p.failure(&bytes).0, ErrorCode::ProtocolError);
}

#[test]
fn requests_are_reported_with_their_pseudo_headers() {
    let mut p = Peer::open(Limits::default());
    assert_eq!(
        p.feed(&headers(1, WEBSOCKET, false)),
        [Ev::Request {
            stream: 1,
            method: b"CONNECT".to_vec(),
            protocol: Some(b"websocket".to_vec()),
            end_stream: false
        }]
    );
    assert_eq!(
        p.feed(&headers(3, GET, true)),
        [Ev::Request {
            stream: 3,
            method: b"GET".to_vec(),
            protocol: None,
            end_stream: true
        }]
    );
}

#[test]
fn a_malformed_request_is_reset_not_reported() {
    let mut p = Peer::open(Limits::default());
    let bad = [(":method", "GET"), (":path", "/")];
    assert_eq!(
        p.feed(&headers(1, &bad, true)),
        [Ev::Reset {
            stream: 1,
            code: ErrorCode::ProtocolError,
            by_peer: false
        }]
    );
    assert_eq!(rst_of(&p.out(), 1), Some(ErrorCode::ProtocolError));
    // The connection goes on.
    p.opened(3);
}

#[test]
fn protocol_is_refused_unless_we_enabled_extended_connect() {
    let mut p = Peer::open(Limits {
        connect_protocol: false,
        ..Limits::default()
    });
    let events = p.feed(&headers(1, WEBSOCKET, false));
    assert!(matches!(events[..], [Ev::Reset { stream: 1, .. }]));
    assert_eq!(rst_of(&p.out(), 1), Some(ErrorCode::ProtocolError));
}

#[test]
fn an_even_stream_from_the_client_fails_the_connection() {
    let mut p = Peer::open(Limits::default());
    let (code, reason) = p.failure(&headers(2, GET, true));
    assert_eq!(code, ErrorCode::ProtocolError);
    assert!(reason.contains("even"));
}

#[test]
fn a_lower_stream_identifier_fails_the_connection() {
    let mut p = Peer::open(Limits::default());
    p.opened(5);
    // Stream 3 was skipped, which closed it (§5.1.1): it cannot be opened now.
    let (code, reason) = p.failure(&headers(3, GET, true));
    assert_eq!(code, ErrorCode::ProtocolError);
    assert!(reason.contains("§5.1.1"), "{reason}");
}

#[test]
fn headers_again_on_a_stream_that_ended_fails_the_connection() {
    let mut p = Peer::open(Limits::default());
    assert!(matches!(
        p.feed(&headers(1, GET, true))[..],
        [Ev::Request { stream: 1, .. }]
    ));
    p.s.send_headers(1, &[(b":status", b"204")], true);
    assert_eq!(p.feed(&[]), [Ev::Closed(1)]);
    let (code, _) = p.failure(&headers(1, GET, true));
    assert_eq!(code, ErrorCode::ProtocolError);
}

#[test]
fn headers_on_a_stream_we_reset_are_ignored() {
    let mut p = Peer::open(Limits::default());
    p.opened(3);
    p.s.reset(3, ErrorCode::Cancel);
    assert_eq!(p.feed(&headers(3, GET, true)), []);
    assert!(p.s.wants_read());
}

#[test]
fn data_on_an_idle_stream_fails_the_connection() {
    let mut p = Peer::open(Limits::default());
    assert_eq!(p.failure(&data(1, b"x", false)).0, ErrorCode::ProtocolError);
}

#[test]
fn content_after_end_stream_is_stream_closed() {
    let mut p = Peer::open(Limits::default());
    assert!(matches!(
        p.feed(&headers(1, GET, true))[..],
        [Ev::Request { .. }]
    ));
    assert_eq!(
        p.feed(&data(1, b"late", false)),
        [Ev::Reset {
            stream: 1,
            code: ErrorCode::StreamClosed,
            by_peer: false
        }]
    );
    assert_eq!(rst_of(&p.out(), 1), Some(ErrorCode::StreamClosed));
}

#[test]
fn frames_on_a_stream_we_reset_are_ignored_but_count_against_the_connection() {
    let mut p = Peer::open(Limits::default());
    p.opened(1);
    p.s.reset(1, ErrorCode::Cancel);
    assert_eq!(rst_of(&p.out(), 1), Some(ErrorCode::Cancel));
    let window = p.s.conn_recv_window;
    assert_eq!(p.feed(&data(1, &[0; 100], false)), []);
    assert_eq!(p.feed(&headers(1, GET, true)), []);
    assert_eq!(p.feed(&window_update(1, 5)), []);
    assert_eq!(p.feed(&rst(1, 8)), []);
    assert_eq!(p.out(), []);
    assert_eq!(p.s.conn_recv_window, window - 100);
}

#[test]
fn data_on_a_stream_closed_both_ways_is_stream_closed() {
    let mut p = Peer::open(Limits::default());
    assert!(matches!(
        p.feed(&headers(1, GET, true))[..],
        [Ev::Request { .. }]
    ));
    p.s.send_headers(1, &[(b":status", b"200")], true);
    assert_eq!(p.events(), [Ev::Closed(1)]);
    p.out();
    // WINDOW_UPDATE and RST_STREAM may cross our END_STREAM: ignored.
    assert_eq!(p.feed(&window_update(1, 1)), []);
    assert_eq!(p.feed(&rst(1, 0)), []);
    assert_eq!(p.out(), []);
    let events = p.feed(&data(1, b"x", false));
    assert!(matches!(
        events[..],
        [Ev::Reset {
            stream: 1,
            code: ErrorCode::StreamClosed,
            ..
        }]
    ));
}

#[test]
fn rst_stream_on_an_idle_stream_fails_and_on_an_open_one_is_reported() {
    let mut p = Peer::open(Limits::default());
    p.opened(1);
    assert_eq!(
        p.feed(&rst(1, 8)),
        [Ev::Reset {
            stream: 1,
            code: ErrorCode::Cancel,
            by_peer: true
        }]
    );
    assert_eq!(p.out(), [], "no answer to a reset");
    assert_eq!(p.failure(&rst(3, 8)).0, ErrorCode::ProtocolError);
}

#[test]
fn window_update_on_an_idle_stream_fails_the_connection() {
    let mut p = Peer::open(Limits::default());
    assert_eq!(p.failure(&window_update(7, 1)).0, ErrorCode::ProtocolError);
}

#[test]
fn data_comes_without_padding_and_the_padding_credit_returns_at_once() {
    let mut p = Peer::open(tiny());
    p.opened(1);
    let mut padded = vec![60u8];
    padded.extend_from_slice(b"hello");
    padded.extend_from_slice(&[0; 60]);
    assert_eq!(
        p.feed(&frame(DATA, PADDED, 1, &padded)),
        [Ev::Data {
            stream: 1,
            data: b"hello".to_vec(),
            end_stream: false
        }]
    );
    // 61 octets of padding credit reached half the 100-octet window: returned.
    let out = p.out();
    let update = out
        .iter()
        .find(|f| f.kind == WINDOW_UPDATE && f.stream == 1)
        .unwrap();
    assert_eq!(update.u32_at(0), 61);
    // The 5 octets of data come back once consumed past half the window.
    p.s.consumed(1, 5);
    assert!(p.out().is_empty());
    assert_eq!(p.feed(&data(1, &[1; 50], false)).len(), 1);
    p.s.consumed(1, 1000);
    let out = p.out();
    let update = out
        .iter()
        .find(|f| f.kind == WINDOW_UPDATE && f.stream == 1)
        .unwrap();
    assert_eq!(update.u32_at(0), 55, "no more than was delivered");
}

#[test]
fn the_data_event_is_mutable_in_place() {
    let mut p = Peer::open(Limits::default());
    p.opened(1);
    p.s.receive(&data(1, b"abc", false));
    match p.s.poll(p.now) {
        Some(Event::Data { data, .. }) => data.copy_from_slice(b"xyz"),
        other => panic!("{other:?}"),
    }
    assert!(p.s.poll(p.now).is_none());
}

#[test]
fn more_than_the_stream_window_is_a_stream_flow_control_error() {
    let mut p = Peer::open(tiny());
    p.opened(1);
    assert_eq!(p.feed(&data(1, &[0; 100], false)).len(), 1);
    assert_eq!(
        p.feed(&data(1, &[0; 1], false)),
        [Ev::Reset {
            stream: 1,
            code: ErrorCode::FlowControlError,
            by_peer: false
        }]
    );
}

#[test]
fn more_than_the_connection_window_fails_the_connection() {
    let mut p = Peer::open(Limits {
        connection_window: 65_535,
        max_frame_size: 1 << 20,
        ..Limits::default()
    });
    p.opened(1);
    assert_eq!(p.feed(&data(1, &[0; 30_000], false)).len(), 1);
    assert_eq!(
        p.failure(&data(1, &[0; 40_000], false)).0,
        ErrorCode::FlowControlError
    );
}

#[test]
fn the_connection_window_is_reopened_by_the_session() {
    let mut p = Peer::open(Limits {
        connection_window: 65_535,
        ..Limits::default()
    });
    p.opened(1);
    for _ in 0..2 {
        assert_eq!(p.feed(&data(1, &[0; 16_384], false)).len(), 1);
    }
    let out = p.out();
    let update = out
        .iter()
        .find(|f| f.kind == WINDOW_UPDATE && f.stream == 0)
        .unwrap();
    assert_eq!(update.u32_at(0), 32_768);
}

#[test]
fn a_zero_window_increment_is_a_stream_or_connection_error() {
    let mut p = Peer::open(Limits::default());
    p.opened(1);
    assert!(matches!(
        p.feed(&window_update(1, 0))[..],
        [Ev::Reset {
            stream: 1,
            code: ErrorCode::ProtocolError,
            ..
        }]
    ));
    assert_eq!(p.failure(&window_update(0, 0)).0, ErrorCode::ProtocolError);
}

#[test]
fn a_window_past_two_to_the_31_is_a_flow_control_error() {
    let mut p = Peer::open(Limits::default());
    p.opened(1);
    assert!(matches!(
        p.feed(&window_update(1, MAX_WINDOW))[..],
        [Ev::Reset {
            stream: 1,
            code: ErrorCode::FlowControlError,
            ..
        }]
    ));
    assert_eq!(p.feed(&window_update(0, MAX_WINDOW - 65_535)), []);
    assert_eq!(
        p.failure(&window_update(0, 1)).0,
        ErrorCode::FlowControlError
    );
}

#[test]
fn data_goes_out_as_windows_and_frame_size_allow() {
    let mut p = Peer::open(Limits::default());
    p.opened(1);
    p.s.send_headers(1, &[(b":status", b"200")], false);
    p.s.send_data(1, &vec![7u8; 100_000], true);
    let out = p.out();
    assert_eq!(out[0].kind, HEADERS);
    assert_eq!(data_sent(&out, 1), 65_535);
    assert!(
        out.iter()
            .filter(|f| f.kind == DATA)
            .all(|f| f.payload.len() <= 16_384)
    );
    assert!(out.iter().all(|f| f.flags & END_STREAM == 0));
    assert_eq!(p.s.queued(1), 100_000 - 65_535);
    // The stream window opens: still blocked on the connection's.
    assert_eq!(p.feed(&window_update(1, 100_000)), []);
    assert_eq!(p.out(), []);
    assert!(!p.s.has_output());
    assert_eq!(p.feed(&window_update(0, 100_000)), []);
    let out = p.out();
    assert_eq!(data_sent(&out, 1), 100_000 - 65_535);
    assert_eq!(out.last().unwrap().flags, END_STREAM);
    assert_eq!(p.s.queued(1), 0);
    // Half-closed (local); the client's END_STREAM closes it.
    assert_eq!(
        p.feed(&data(1, b"", true)),
        [
            Ev::Data {
                stream: 1,
                data: vec![],
                end_stream: true
            },
            Ev::Closed(1)
        ]
    );
}

/// Records each `put` as one piece; blocked after `room` puts.
struct Puts {
    pieces: Vec<Vec<u8>>,
    room: usize,
}

impl Sink for Puts {
    fn put(&mut self, parts: &[&[u8]]) {
        self.pieces.push(parts.concat());
    }

    fn blocked(&self) -> bool {
        self.pieces.len() >= self.room
    }
}

#[test]
fn a_lone_stream_puts_its_frames_together_and_shares_turns_with_others() {
    let mut p = Peer::open(Limits::default());
    p.opened(1);
    p.opened(3);
    p.out();
    for stream in [0, 1, 3] {
        assert_eq!(p.feed(&window_update(stream, 1 << 20)), []);
    }
    p.s.send_data(1, &vec![1u8; 40_000], false);
    let mut sink = Puts {
        pieces: Vec::new(),
        room: usize::MAX,
    };
    // Alone in turn: its three frames (16384 + 16384 + 7232) in one put.
    assert_eq!(p.s.write_to(&mut sink, usize::MAX), 40_000 + 3 * 9);
    assert_eq!(sink.pieces.len(), 1);
    let frames = read_frames(&sink.pieces[0]);
    assert_eq!(
        frames.iter().map(|f| f.payload.len()).collect::<Vec<_>>(),
        [16_384, 16_384, 7_232]
    );
    // Two streams in turn: a frame each, alternating, until one is alone.
    sink.pieces.clear();
    p.s.send_data(1, &vec![1u8; 40_000], false);
    p.s.send_data(3, &vec![3u8; 20_000], false);
    p.s.write_to(&mut sink, usize::MAX);
    let streams: Vec<Vec<(u32, usize)>> = sink
        .pieces
        .iter()
        .map(|piece| {
            read_frames(piece)
                .iter()
                .map(|f| (f.stream, f.payload.len()))
                .collect()
        })
        .collect();
    assert_eq!(
        streams,
        [
            vec![(1, 16_384)],
            vec![(3, 16_384)],
            vec![(1, 16_384)],
            vec![(3, 3_616)],
            vec![(1, 7_232)],
        ]
    );
    // The budget is spent in whole frames, the last one going past it, and a blocked
    // sink stops the session at a frame boundary, the rest kept queued.
    sink.pieces.clear();
    p.s.send_data(1, &vec![1u8; 400_000], false);
    assert_eq!(p.s.write_to(&mut sink, 20_000), 2 * (16_384 + 9));
    let mut one = Puts {
        pieces: Vec::new(),
        room: 1,
    };
    assert_eq!(p.s.write_to(&mut one, usize::MAX), 16 * (16_384 + 9));
    assert_eq!(p.s.queued(1), 400_000 - 18 * 16_384);
}

#[test]
fn a_stream_given_data_while_the_connection_window_is_shut_goes_when_it_opens() {
    let mut p = Peer::open(Limits::default());
    p.opened(1);
    p.opened(3);
    p.s.send_headers(1, &[(b":status", b"200")], false);
    p.s.send_headers(3, &[(b":status", b"200")], false);
    // Stream 1 takes the whole connection window.
    p.s.send_data(1, &vec![1u8; 65_535], false);
    assert_eq!(data_sent(&p.out(), 1), 65_535);
    // Stream 3's data comes while the connection window is 0, its own open.
    p.s.send_data(3, b"waiting", false);
    assert_eq!(p.out().iter().filter(|f| f.kind == DATA).count(), 0);
    // The connection's WINDOW_UPDATE alone lets it go.
    assert_eq!(p.feed(&window_update(0, 1000)), []);
    assert_eq!(data_sent(&p.out(), 3), 7);
    // Likewise for a stream whose own WINDOW_UPDATE came while the connection's
    // window was shut: stream 1 (its own window spent) has data, stream 3 takes
    // the rest of the connection's window.
    p.s.send_data(1, &vec![1u8; 2000], false);
    p.s.send_data(3, &vec![3u8; 993], false);
    assert_eq!(data_sent(&p.out(), 3), 993);
    assert_eq!(p.feed(&window_update(1, 5000)), []);
    assert_eq!(data_sent(&p.out(), 1), 0);
    assert_eq!(p.feed(&window_update(0, 5000)), []);
    assert_eq!(data_sent(&p.out(), 1), 2000);
}

#[test]
fn a_settings_window_change_applies_to_open_streams_and_may_go_negative() {
    let mut p = Peer::open(Limits::default());
    assert_eq!(p.feed(&settings(&[(0x4, 10)])), []);
    p.out();
    p.opened(1);
    p.s.send_data(1, &[1; 100], false);
    assert_eq!(data_sent(&p.out(), 1), 10);
    assert_eq!(p.feed(&settings(&[(0x4, 5)])), []);
    assert_eq!(p.s.streams[&1].send_window, -5);
    p.out();
    assert_eq!(p.feed(&window_update(1, 10)), []);
    assert_eq!(data_sent(&p.out(), 1), 5);
    assert_eq!(p.feed(&settings(&[(0x4, 100)])), []);
    assert_eq!(data_sent(&p.out(), 1), 85);
}

#[test]
fn a_settings_window_change_past_two_to_the_31_fails() {
    let mut p = Peer::open(Limits::default());
    p.opened(1);
    assert_eq!(p.feed(&window_update(1, MAX_WINDOW - 65_535)), []);
    assert_eq!(
        p.failure(&settings(&[(0x4, 65_536)])).0,
        ErrorCode::FlowControlError
    );
}

/// A SETTINGS frame full of INITIAL_WINDOW_SIZE entries: processed in order, the last
/// value is in force, and the windows move by its difference from the old value.
#[test]
fn many_initial_window_entries_apply_as_the_last_one() {
    let mut p = Peer::open(Limits::default());
    p.opened(1);
    p.opened(3);
    p.s.send_data(1, &[1; 1000], false);
    assert_eq!(data_sent(&p.out(), 1), 1000);
    let entries: Vec<(u16, u32)> = (0..2000u32)
        .map(|i| (0x4, if i % 2 == 0 { 1 << 30 } else { i }))
        .chain([(0x4, 300)])
        .collect();
    let walks = p.s.window_walks;
    assert_eq!(p.feed(&settings(&entries)), []);
    assert_eq!(p.s.window_walks, walks + 1, "the streams are walked once");
    assert_eq!(p.s.peer_initial_window, 300);
    assert_eq!(p.s.streams[&1].send_window, 300 - 1000);
    assert_eq!(p.s.streams[&3].send_window, 300);
    assert!(p.out().iter().any(|f| f.kind == SETTINGS && f.flags == ACK));
    p.opened(5);
    assert_eq!(p.s.streams[&5].send_window, 300);
}

/// The windows pass through every value of the frame, in order: one that would take a
/// window past 2^31-1 fails the connection even when a later one brings it back.
#[test]
fn an_initial_window_entry_past_two_to_the_31_fails_even_if_a_later_one_is_lower() {
    let mut p = Peer::open(Limits::default());
    p.opened(1);
    assert_eq!(p.feed(&window_update(1, MAX_WINDOW - 65_535)), []);
    assert_eq!(
        p.failure(&settings(&[(0x4, 65_536), (0x4, 0)])).0,
        ErrorCode::FlowControlError
    );
}

#[test]
fn invalid_settings_values_fail_with_their_codes() {
    for (entry, code) in [
        ((0x2, 2), ErrorCode::ProtocolError),
        ((0x4, 1 << 31), ErrorCode::FlowControlError),
        ((0x5, 100), ErrorCode::ProtocolError),
        ((0x8, 3), ErrorCode::ProtocolError),
    ] {
        let mut p = Peer::open(Limits::default());
        assert_eq!(p.failure(&settings(&[entry])).0, code, "{entry:?}");
    }
    let mut p = Peer::open(Limits::default());
    assert_eq!(
        p.failure(&frame(SETTINGS, ACK, 0, &[0; 6])).0,
        ErrorCode::FrameSizeError
    );
}

#[test]
fn unknown_settings_and_frame_types_are_ignored() {
    let mut p = Peer::open(Limits::default());
    assert_eq!(p.feed(&settings(&[(0x99, 1)])), []);
    assert_eq!(p.feed(&frame(0xfa, 0xff, 0, b"whatever")), []);
    assert_eq!(p.feed(&frame(0xfa, 0, 3, b"")), []);
    let out = p.out();
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].kind, out[0].flags), (SETTINGS, ACK));
}

#[test]
fn the_peers_frame_size_sets_data_frames_and_splits_field_blocks() {
    let mut p = Peer::open(Limits::default());
    assert_eq!(p.feed(&settings(&[(0x5, 20_000), (0x4, 100_000)])), []);
    p.feed(&window_update(0, 100_000));
    p.out();
    p.opened(1);
    let long = "x".repeat(30_000);
    p.s.send_headers(
        1,
        &[(b":status", b"200"), (b"x-long", long.as_bytes())],
        false,
    );
    p.s.send_data(1, &[0; 50_000], false);
    let out = p.out();
    let kinds: Vec<(u8, u8)> = out.iter().map(|f| (f.kind, f.flags)).collect();
    assert_eq!(
        kinds[..2],
        [(HEADERS, 0), (CONTINUATION, END_HEADERS)],
        "{kinds:?}"
    );
    let sizes: Vec<usize> = out
        .iter()
        .filter(|f| f.kind == DATA)
        .map(|f| f.payload.len())
        .collect();
    assert_eq!(sizes, [20_000, 20_000, 10_000]);
    let mut blockbytes = out[0].payload.clone();
    blockbytes.extend_from_slice(&out[1].payload);
    let mut list = HeaderList::default();
    crate::h2::hpack::Decoder::new(4096)
        .decode(&blockbytes, usize::MAX, &mut list)
        .unwrap();
    let fields: Vec<_> = list.iter().map(|(n, v)| (n.to_vec(), v.len())).collect();
    assert_eq!(
        fields,
        [(b":status".to_vec(), 3), (b"x-long".to_vec(), 30_000)]
    );
}

#[test]
fn streams_take_turns() {
    let mut p = Peer::open(Limits::default());
    assert_eq!(p.feed(&settings(&[(0x4, 1 << 20)])), []);
    p.feed(&window_update(0, 1 << 20));
    p.out();
    p.opened(1);
    p.opened(3);
    p.s.send_data(1, &[1; 100_000], false);
    p.s.send_data(3, &[3; 100_000], false);
    let order: Vec<u32> = p
        .out()
        .iter()
        .filter(|f| f.kind == DATA)
        .map(|f| f.stream)
        .collect();
    assert_eq!(order[..6], [1, 3, 1, 3, 1, 3]);
}

#[test]
fn ping_is_answered_with_its_payload_and_acks_are_not() {
    let mut p = Peer::open(Limits::default());
    assert_eq!(p.feed(&frame(PING, 0, 0, b"12345678")), []);
    assert_eq!(p.feed(&frame(PING, ACK, 0, b"abcdefgh")), []);
    let out = p.out();
    assert_eq!(
        out,
        [Out {
            kind: PING,
            flags: ACK,
            stream: 0,
            payload: b"12345678".to_vec()
        }]
    );
    assert_eq!(
        p.failure(&frame(PING, 0, 1, b"12345678")).0,
        ErrorCode::ProtocolError
    );
}

#[test]
fn goaway_from_the_peer_is_reported_and_the_connection_ends_with_its_streams() {
    let mut p = Peer::open(Limits::default());
    p.opened(1);
    let mut payload = 1u32.to_be_bytes().to_vec();
    payload.extend_from_slice(&0u32.to_be_bytes());
    payload.extend_from_slice(b"bye");
    assert_eq!(
        p.feed(&frame(GOAWAY, 0, 0, &payload)),
        [Ev::GoAway(ErrorCode::NoError, b"bye".to_vec())]
    );
    assert_eq!(p.s.status(), SessionStatus::Open);
    p.s.reset(1, ErrorCode::Cancel);
    assert_eq!(p.s.status(), SessionStatus::Closing);
    p.out();
    assert_eq!(p.s.status(), SessionStatus::Done);
}

#[test]
fn our_graceful_goaway_lets_open_streams_finish_and_ignores_new_ones() {
    let mut p = Peer::open(Limits::default());
    p.opened(1);
    p.s.go_away(ErrorCode::NoError, "shutting down");
    let (last, code, debug) = goaway_of(&p.out()).unwrap();
    assert_eq!(
        (last, code, debug.as_str()),
        (1, ErrorCode::NoError, "shutting down")
    );
    assert_eq!(
        p.feed(&headers(3, GET, true)),
        [],
        "a new stream is ignored"
    );
    assert_eq!(p.out(), []);
    assert_eq!(p.s.status(), SessionStatus::Open);
    assert_eq!(p.feed(&data(1, b"still here", true)).len(), 1);
    p.s.send_data(1, b"", true);
    assert_eq!(p.events(), []);
    p.out();
    assert_eq!(p.events(), [Ev::Closed(1)]);
    assert_eq!(p.s.status(), SessionStatus::Done);
}

#[test]
fn our_goaway_with_an_error_ends_everything() {
    let mut p = Peer::open(Limits::default());
    p.opened(1);
    p.s.send_data(1, b"dropped", false);
    p.s.go_away(ErrorCode::InternalError, "bug");
    assert_eq!(p.s.status(), SessionStatus::Closing);
    let out = p.out();
    assert_eq!(goaway_of(&out).unwrap().1, ErrorCode::InternalError);
    assert_eq!(data_sent(&out, 1), 0);
    assert_eq!(p.s.status(), SessionStatus::Done);
    assert!(!p.s.wants_read());
}

#[test]
fn continuation_completes_a_field_block() {
    let mut p = Peer::open(Limits::default());
    let b = block(WEBSOCKET);
    let (a, rest) = b.split_at(10);
    let (m, z) = rest.split_at(10);
    assert_eq!(p.feed(&frame(HEADERS, 0, 1, a)), []);
    assert_eq!(p.feed(&frame(CONTINUATION, 0, 1, m)), []);
    let events = p.feed(&frame(CONTINUATION, END_HEADERS, 1, z));
    assert!(matches!(events[..], [Ev::Request { stream: 1, .. }]));
}

#[test]
fn anything_but_continuation_inside_a_field_block_fails() {
    let b = block(GET);
    for interloper in [
        frame(PING, 0, 0, &[0; 8]),
        frame(CONTINUATION, END_HEADERS, 3, &b[5..]),
        frame(0xfa, 0, 0, b""),
        data(1, b"x", false),
    ] {
        let mut p = Peer::open(Limits::default());
        assert_eq!(p.feed(&frame(HEADERS, 0, 1, &b[..5])), []);
        assert_eq!(p.failure(&interloper).0, ErrorCode::ProtocolError);
    }
    let mut p = Peer::open(Limits::default());
    assert_eq!(
        p.failure(&frame(CONTINUATION, END_HEADERS, 1, &b)).0,
        ErrorCode::ProtocolError
    );
}

#[test]
fn a_continuation_flood_is_refused_with_enhance_your_calm() {
    let mut p = Peer::open(Limits::default());
    let max = p.s.limits().max_header_block();
    assert_eq!(p.feed(&frame(HEADERS, 0, 1, &[0; 16_000])), []);
    let mut sent = 16_000;
    let mut last = Vec::new();
    while sent <= max {
        last = p.feed(&frame(CONTINUATION, 0, 1, &[0; 16_000]));
        sent += 16_000;
        if !last.is_empty() {
            break;
        }
    }
    assert!(
        matches!(last[..], [Ev::Failed(ErrorCode::EnhanceYourCalm, _)]),
        "{last:?}"
    );
    assert!(p.s.block.is_none(), "the block is freed");
}

#[test]
fn empty_continuation_frames_count_as_a_flood() {
    let mut p = Peer::open(Limits {
        max_overhead_frames: 50,
        ..Limits::default()
    });
    assert_eq!(p.feed(&frame(HEADERS, 0, 1, &block(GET)[..3])), []);
    let mut flood = Vec::new();
    for _ in 0..60 {
        flood.extend(frame(CONTINUATION, 0, 1, b""));
    }
    assert_eq!(p.failure(&flood).0, ErrorCode::EnhanceYourCalm);
}

#[test]
fn rapid_reset_is_refused_with_enhance_your_calm() {
    let mut p = Peer::open(Limits {
        max_peer_resets: 10,
        ..Limits::default()
    });
    let mut flood = Vec::new();
    for i in 0..20u32 {
        flood.extend(headers(2 * i + 1, GET, false));
        flood.extend(rst(2 * i + 1, 8));
    }
    let events = p.feed(&flood);
    let resets = events
        .iter()
        .filter(|e| matches!(e, Ev::Reset { by_peer: true, .. }))
        .count();
    assert_eq!(resets, 10, "the eleventh reset fails the connection");
    let Some(Ev::Failed(code, reason)) = events.last() else {
        panic!("{events:?}");
    };
    assert_eq!(*code, ErrorCode::EnhanceYourCalm);
    assert!(reason.contains("CVE-2023-44487"));
    assert_eq!(goaway_of(&p.out()).unwrap().0, 21);
}

#[test]
fn resets_are_counted_per_window_of_time() {
    let mut p = Peer::open(Limits {
        max_peer_resets: 2,
        flood_window: Duration::from_secs(1),
        ..Limits::default()
    });
    for i in 0..6u32 {
        let mut bytes = headers(2 * i + 1, GET, false);
        bytes.extend(rst(2 * i + 1, 8));
        let events = p.feed(&bytes);
        assert!(
            matches!(
                events[..],
                [Ev::Request { .. }, Ev::Reset { by_peer: true, .. }]
            ),
            "{i}: {events:?}"
        );
        // Two resets a window at most.
        p.now += Duration::from_millis(600);
    }
    assert_eq!(p.s.status(), SessionStatus::Open);
}

#[test]
fn settings_and_ping_floods_are_refused() {
    for one in [settings(&[(0x4, 100)]), frame(PING, 0, 0, &[1; 8])] {
        let mut p = Peer::open(Limits {
            max_overhead_frames: 100,
            ..Limits::default()
        });
        let flood: Vec<u8> = (0..101).flat_map(|_| one.clone()).collect();
        let (code, reason) = p.failure(&flood);
        assert_eq!(code, ErrorCode::EnhanceYourCalm);
        assert!(reason.contains("flood"));
    }
}

#[test]
fn answers_not_read_stop_the_reading_and_the_processing() {
    let mut p = Peer::open(Limits {
        max_overhead_frames: u32::MAX,
        max_control_backlog: 1000,
        ..Limits::default()
    });
    let ping = frame(PING, 0, 0, &[1; 8]);
    // 30 answers (510 octets) are more than half the backlog: no more reading.
    let thirty: Vec<u8> = (0..30).flat_map(|_| ping.clone()).collect();
    assert_eq!(p.feed(&thirty), []);
    assert!(!p.s.wants_read());
    // A client that sends anyway (a driver that read a lot at once): what it sent is
    // held, unanswered, until the answers went out.
    let more: Vec<u8> = (0..40).flat_map(|_| ping.clone()).collect();
    assert_eq!(p.feed(&more), []);
    assert!(
        !p.s.has_backlog(),
        "nothing to do until the answers went out"
    );
    assert!(p.s.ctrl.len() < 1000 / 2 + 17, "{}", p.s.ctrl.len());
    let answered = |out: Vec<Out>| out.iter().filter(|f| f.kind == PING).count();
    assert_eq!(answered(p.out()), 30);
    // The held PINGs are processed now, as many as there is room for each time.
    assert!(p.s.has_backlog());
    assert_eq!(p.feed(&[]), []);
    assert_eq!(answered(p.out()), 30);
    assert!(p.s.has_backlog());
    assert_eq!(p.feed(&[]), []);
    assert_eq!(answered(p.out()), 10);
    assert!(p.s.wants_read());
}

#[test]
fn an_empty_data_flood_is_refused() {
    let mut p = Peer::open(Limits {
        max_overhead_frames: 100,
        ..Limits::default()
    });
    p.opened(1);
    let flood: Vec<u8> = (0..101).flat_map(|_| data(1, b"", false)).collect();
    let events = p.feed(&flood);
    assert!(matches!(
        events.last(),
        Some(Ev::Failed(ErrorCode::EnhanceYourCalm, _))
    ));
}

#[test]
fn a_peer_that_never_opens_its_window_holds_only_the_queue() {
    let mut p = Peer::open(Limits {
        max_send_queue: 1000,
        ..Limits::default()
    });
    assert_eq!(p.feed(&settings(&[(0x4, 0)])), []);
    p.out();
    p.opened(1);
    // The application feeds until the queue reaches max_send_queue, then pauses.
    while p.s.queued(1) < p.s.limits().max_send_queue {
        p.s.send_data(1, &[9; 100], false);
        assert_eq!(data_sent(&p.out(), 1), 0);
    }
    assert_eq!(p.s.queued(1), 1000);
    assert!(!p.s.has_output());
    // The window opens a little: not drained below half yet.
    assert_eq!(p.feed(&window_update(1, 400)), []);
    assert_eq!(data_sent(&p.out(), 1), 400);
    assert_eq!(p.events(), []);
    assert_eq!(p.feed(&window_update(1, 200)), []);
    assert_eq!(data_sent(&p.out(), 1), 200);
    assert_eq!(p.events(), [Ev::Drained(1)]);
    assert_eq!(p.s.queued(1), 400);
}

#[test]
fn an_hpack_error_is_a_compression_error() {
    let mut p = Peer::open(Limits::default());
    assert_eq!(
        p.failure(&frame(HEADERS, END_HEADERS, 1, &[0x00, 0x7f])).0,
        ErrorCode::CompressionError
    );
}

#[test]
fn a_frame_larger_than_our_maximum_is_a_frame_size_error() {
    let mut p = Peer::open(Limits::default());
    p.opened(1);
    assert_eq!(
        p.failure(&data(1, &[0; 16_385], false)).0,
        ErrorCode::FrameSizeError
    );
}

#[test]
fn the_input_held_is_one_frame_and_an_idle_session_holds_no_buffer() {
    let mut p = Peer::open(Limits::default());
    p.opened(1);
    let frame = data(1, &[0; 16_384], false);
    p.s.receive(&frame[..16_000]);
    assert!(p.s.wants_read());
    assert_eq!(p.events(), []);
    p.s.receive(&frame[16_000..]);
    assert!(!p.s.wants_read(), "a whole frame waits");
    assert_eq!(p.events().len(), 1);
    assert!(p.s.wants_read());
    assert_eq!(p.s.input.capacity(), 0);
    p.out();
    assert_eq!(p.s.ctrl.capacity(), 0);
    assert_eq!(p.s.streams[&1].queue.capacity(), 0);
    assert_eq!(p.s.buffered(), 0);
    p.s.send_data(1, &[0; 10], false);
    p.out();
    assert_eq!(p.s.buffered(), 0, "a drained queue is freed");
}

#[test]
fn streams_past_the_concurrency_limit_are_refused() {
    let mut p = Peer::open(Limits {
        max_concurrent_streams: 2,
        ..Limits::default()
    });
    p.opened(1);
    p.opened(3);
    assert_eq!(
        p.feed(&headers(5, GET, true)),
        [Ev::Reset {
            stream: 5,
            code: ErrorCode::RefusedStream,
            by_peer: false
        }]
    );
    assert_eq!(rst_of(&p.out(), 5), Some(ErrorCode::RefusedStream));
    assert_eq!(p.feed(&rst(1, 8)).len(), 1);
    p.opened(7);
}

#[test]
fn a_header_list_too_large_is_reported_for_a_431() {
    let mut p = Peer::open(Limits {
        max_header_list_size: 400,
        ..Limits::default()
    });
    let big = "v".repeat(500);
    let mut fields = GET.to_vec();
    fields.push(("x-big", &big));
    assert_eq!(p.feed(&headers(1, &fields, true)), [Ev::TooLarge(1)]);
    p.s.send_headers(1, &[(b":status", b"431")], true);
    assert_eq!(p.events(), [Ev::Closed(1)]);
    let out = p.out();
    assert_eq!(out[0].kind, HEADERS);
    // HPACK stays in sync: the next request decodes.
    p.opened(3);
}

#[test]
fn trailers_end_the_stream_and_are_checked() {
    let mut p = Peer::open(Limits::default());
    p.opened(1);
    assert_eq!(
        p.feed(&headers(1, &[("x-checksum", "1")], true)),
        [Ev::Data {
            stream: 1,
            data: vec![],
            end_stream: true
        }]
    );
    p.opened(3);
    assert!(matches!(
        p.feed(&headers(3, &[("x-checksum", "1")], false))[..],
        [Ev::Reset {
            stream: 3,
            code: ErrorCode::ProtocolError,
            ..
        }]
    ));
    p.opened(5);
    assert!(matches!(
        p.feed(&headers(5, &[(":path", "/")], true))[..],
        [Ev::Reset {
            stream: 5,
            code: ErrorCode::ProtocolError,
            ..
        }]
    ));
}

#[test]
fn our_trailers_follow_the_queued_data() {
    let mut p = Peer::open(Limits::default());
    assert_eq!(p.feed(&settings(&[(0x4, 10)])), []);
    p.out();
    p.opened(1);
    p.s.send_data(1, &[1; 20], false);
    p.s.send_headers(1, &[(b"x-sum", b"20")], true);
    let out = p.out();
    assert_eq!(data_sent(&out, 1), 10);
    assert!(out.iter().all(|f| f.kind != HEADERS));
    p.feed(&window_update(1, 10));
    let out = p.out();
    let kinds: Vec<(u8, u8)> = out.iter().map(|f| (f.kind, f.flags)).collect();
    assert_eq!(kinds, [(DATA, 0), (HEADERS, END_STREAM | END_HEADERS)]);
}

#[test]
fn push_promise_from_a_client_fails_the_connection() {
    let mut p = Peer::open(Limits::default());
    p.opened(1);
    assert_eq!(
        p.failure(&frame(PUSH_PROMISE, END_HEADERS, 1, &[0, 0, 0, 2]))
            .0,
        ErrorCode::ProtocolError
    );
}

#[test]
fn priority_is_ignored_but_a_self_dependency_is_a_stream_error() {
    let mut p = Peer::open(Limits::default());
    assert_eq!(p.feed(&frame(PRIORITY, 0, 9, &[0, 0, 0, 1, 16])), []);
    assert!(matches!(
        p.feed(&frame(PRIORITY, 0, 9, &[0, 0, 0, 9, 16]))[..],
        [Ev::Reset {
            stream: 9,
            code: ErrorCode::ProtocolError,
            ..
        }]
    ));
    let mut payload = vec![0, 0, 0, 11, 16];
    payload.extend(block(GET));
    assert!(matches!(
        p.feed(&frame(HEADERS, END_HEADERS | PRIORITY_FLAG, 11, &payload))[..],
        [Ev::Reset {
            stream: 11,
            code: ErrorCode::ProtocolError,
            ..
        }]
    ));
    // PRIORITY on stream 0 is a connection error.
    assert_eq!(
        p.failure(&frame(PRIORITY, 0, 0, &[0, 0, 0, 1, 16])).0,
        ErrorCode::ProtocolError
    );
}

#[test]
fn unacknowledged_settings_time_out() {
    let mut p = Peer::new(Limits::default());
    p.out();
    let mut bytes = CLIENT_PREFACE.to_vec();
    bytes.extend(settings(&[]));
    p.feed(&bytes);
    let deadline = p.s.deadline().unwrap();
    assert_eq!(deadline, p.now + DEFAULT_SETTINGS_TIMEOUT);
    p.now = deadline;
    p.s.handle_timeout(p.now);
    let events = p.events();
    assert!(matches!(
        events[..],
        [Ev::Failed(ErrorCode::SettingsTimeout, _)]
    ));
}

#[test]
fn a_silent_client_is_closed_after_the_preface_timeout() {
    let mut p = Peer::new(Limits::default());
    p.out();
    p.now = p.s.deadline().unwrap();
    p.s.handle_timeout(p.now);
    assert_eq!(p.s.status(), SessionStatus::Closing);
    assert_eq!(goaway_of(&p.out()).unwrap().1, ErrorCode::NoError);
    assert_eq!(p.s.status(), SessionStatus::Done);
}

#[test]
fn an_idle_connection_goes_away_and_a_stuck_close_is_dropped() {
    let mut p = Peer::open(Limits::default());
    p.opened(1);
    assert_eq!(p.s.deadline(), None, "no timer while a stream is open");
    assert_eq!(p.feed(&rst(1, 8)).len(), 1);
    p.now += Duration::from_secs(1);
    assert_eq!(
        p.s.deadline().unwrap(),
        p.now - Duration::from_secs(1) + DEFAULT_IDLE_TIMEOUT
    );
    p.now = p.s.deadline().unwrap();
    p.s.handle_timeout(p.now);
    assert_eq!(p.s.status(), SessionStatus::Closing);
    // The peer reads nothing: the close times out.
    p.now = p.s.deadline().unwrap();
    p.s.handle_timeout(p.now);
    assert_eq!(p.s.status(), SessionStatus::Done);
    assert!(!p.s.has_output());
}

#[test]
fn eof_with_nothing_buffered_ends_the_connection_at_once() {
    let mut p = Peer::open(Limits::default());
    p.opened(1);
    p.s.handle_eof();
    assert_eq!(p.s.status(), SessionStatus::Done);
}

#[test]
fn eof_ends_the_connection_after_the_frames_buffered() {
    let mut p = Peer::open(Limits::default());
    p.opened(1);
    p.s.receive(&data(1, b"last", true));
    p.s.handle_eof();
    assert!(!p.s.wants_read());
    assert_eq!(p.events().len(), 1);
    assert_eq!(p.s.status(), SessionStatus::Done);
}

#[test]
fn the_application_resets_a_stream() {
    let mut p = Peer::open(Limits::default());
    p.opened(1);
    p.s.send_data(1, b"queued", false);
    p.s.reset(1, ErrorCode::Cancel);
    let out = p.out();
    assert_eq!(rst_of(&out, 1), Some(ErrorCode::Cancel));
    assert_eq!(data_sent(&out, 1), 0);
    assert_eq!(p.s.queued(1), 0);
    p.s.send_data(1, b"ignored", true);
    assert_eq!(p.out(), []);
}

#[test]
fn an_end_of_stream_needs_no_window_even_behind_a_blocked_stream() {
    let mut p = Peer::open(Limits::default());
    p.opened(1);
    p.opened(3);
    p.s.send_data(1, &[0; 70_000], false);
    assert_eq!(data_sent(&p.out(), 1), 65_535);
    // The connection window is spent: stream 1 waits, stream 3's end does not.
    p.s.send_data(3, b"", true);
    let out = p.out();
    assert_eq!(out.len(), 1);
    assert_eq!(
        (out[0].kind, out[0].flags, out[0].stream),
        (DATA, END_STREAM, 3)
    );
    assert!(!p.s.has_output());
    let mut updates = window_update(1, 100);
    updates.extend(window_update(0, 10));
    assert_eq!(p.feed(&updates), []);
    assert_eq!(data_sent(&p.out(), 1), 10);
}

#[test]
fn data_must_add_up_to_the_content_length() {
    let post = |length: &'static str| {
        [
            (":method", "POST"),
            (":scheme", "https"),
            (":path", "/"),
            ("content-length", length),
        ]
    };
    let mut p = Peer::open(Limits::default());
    assert!(matches!(
        p.feed(&headers(1, &post("5"), false))[..],
        [Ev::Request { .. }]
    ));
    assert_eq!(p.feed(&data(1, b"abc", false)).len(), 1);
    assert_eq!(p.feed(&data(1, b"de", true)).len(), 1);
    // Too much.
    assert!(matches!(
        p.feed(&headers(3, &post("2"), false))[..],
        [Ev::Request { .. }]
    ));
    assert!(matches!(
        p.feed(&data(3, b"abc", false))[..],
        [Ev::Reset {
            stream: 3,
            code: ErrorCode::ProtocolError,
            ..
        }]
    ));
    // Too little, by DATA, by trailers, or by no content at all.
    assert!(matches!(
        p.feed(&headers(5, &post("2"), false))[..],
        [Ev::Request { .. }]
    ));
    assert!(matches!(
        p.feed(&data(5, b"a", true))[..],
        [Ev::Reset {
            stream: 5,
            code: ErrorCode::ProtocolError,
            ..
        }]
    ));
    assert!(matches!(
        p.feed(&headers(7, &post("2"), false))[..],
        [Ev::Request { .. }]
    ));
    assert!(matches!(
        p.feed(&headers(7, &[("x-t", "1")], true))[..],
        [Ev::Reset {
            stream: 7,
            code: ErrorCode::ProtocolError,
            ..
        }]
    ));
    assert!(matches!(
        p.feed(&headers(9, &post("2"), true))[..],
        [Ev::Reset {
            stream: 9,
            code: ErrorCode::ProtocolError,
            ..
        }]
    ));
    assert!(matches!(
        p.feed(&headers(11, &post("0"), true))[..],
        [Ev::Request { .. }]
    ));
}

#[test]
fn headers_after_end_stream_are_stream_closed() {
    let mut p = Peer::open(Limits::default());
    assert!(matches!(
        p.feed(&headers(1, GET, true))[..],
        [Ev::Request { .. }]
    ));
    assert!(matches!(
        p.feed(&headers(1, &[("x-t", "1")], true))[..],
        [Ev::Reset {
            stream: 1,
            code: ErrorCode::StreamClosed,
            ..
        }]
    ));
    // HPACK stayed in sync.
    p.opened(3);
}

#[test]
fn frames_of_streams_refused_by_our_goaway_are_ignored() {
    let mut p = Peer::open(Limits::default());
    p.opened(1);
    p.s.go_away(ErrorCode::NoError, "draining");
    p.out();
    assert_eq!(p.feed(&headers(3, GET, false)), []);
    assert_eq!(p.feed(&data(3, b"body", true)), []);
    assert_eq!(p.out(), []);
}

#[test]
fn a_stream_costs_little() {
    assert!(
        std::mem::size_of::<super::stream::Stream>() <= 96,
        "{}",
        std::mem::size_of::<super::stream::Stream>()
    );
}

#[test]
fn a_small_stream_window_applies_once_our_settings_are_acknowledged() {
    let mut p = Peer::new(tiny());
    p.out();
    let mut bytes = CLIENT_PREFACE.to_vec();
    bytes.extend(settings(&[]));
    bytes.extend(headers(1, WEBSOCKET, false));
    // Before the ack the client may count on the protocol's 65,535.
    bytes.extend(data(1, &[0; 1000], false));
    let events = p.feed(&bytes);
    assert!(
        matches!(events[..], [Ev::Request { .. }, Ev::Data { .. }]),
        "{events:?}"
    );
    assert_eq!(p.feed(&frame(SETTINGS, ACK, 0, &[])), []);
    // Now 100 - 1000: nothing more fits until the application consumes.
    assert_eq!(p.s.streams[&1].recv_window, 100 - 1000);
    assert!(matches!(
        p.feed(&data(1, b"x", false))[..],
        [Ev::Reset {
            stream: 1,
            code: ErrorCode::FlowControlError,
            ..
        }]
    ));
}

/// Requests that each end their stream, many in one read: a turn processes at most
/// `max_frames_per_turn` of them, holds the rest without reading more, and the next
/// turns take them in order.
#[test]
fn a_turn_processes_a_bounded_number_of_frames() {
    let mut p = Peer::open(Limits {
        max_frames_per_turn: 4,
        ..Limits::default()
    });
    let burst: Vec<u8> = (0..10u32)
        .flat_map(|i| headers(1 + 2 * i, GET, true))
        .collect();
    p.s.new_turn();
    p.s.receive(&burst);
    let mut turns = Vec::new();
    loop {
        let opened: Vec<u32> = p
            .events()
            .into_iter()
            .filter_map(|e| match e {
                Ev::Request { stream, .. } => Some(stream),
                _ => None,
            })
            .collect();
        turns.push(opened);
        if !p.s.has_backlog() {
            break;
        }
        assert!(!p.s.wants_read(), "input is held: no reading");
        p.s.new_turn();
    }
    assert_eq!(
        turns,
        [vec![1, 3, 5, 7], vec![9, 11, 13, 15], vec![17, 19]],
        "four frames a turn, in order"
    );
    assert!(p.s.wants_read());
}

/// Frames of any kind count: PINGs are answered a turn's worth at a time.
#[test]
fn frames_without_events_count_toward_the_turn() {
    let mut p = Peer::open(Limits {
        max_frames_per_turn: 3,
        ..Limits::default()
    });
    let pings: Vec<u8> = (0..5u8).flat_map(|i| frame(PING, 0, 0, &[i; 8])).collect();
    p.s.new_turn();
    p.s.receive(&pings);
    assert_eq!(p.events(), []);
    assert!(p.s.has_backlog());
    let acks = p.out().iter().filter(|f| f.kind == PING).count();
    assert_eq!(acks, 3);
    p.s.new_turn();
    assert_eq!(p.events(), []);
    assert!(!p.s.has_backlog());
    let acks = p.out().iter().filter(|f| f.kind == PING).count();
    assert_eq!(acks, 2);
}

/// An incomplete frame is no backlog: the driver reads on.
#[test]
fn a_partial_frame_left_after_the_turn_is_read_for() {
    let mut p = Peer::open(Limits {
        max_frames_per_turn: 1,
        ..Limits::default()
    });
    let mut bytes = frame(PING, 0, 0, &[1; 8]);
    let second = frame(PING, 0, 0, &[2; 8]);
    bytes.extend_from_slice(&second[..5]);
    p.s.new_turn();
    p.s.receive(&bytes);
    assert_eq!(p.events(), []);
    assert!(!p.s.has_backlog());
    assert!(p.s.wants_read());
    p.s.receive(&second[5..]);
    assert_eq!(p.events(), []);
    assert!(p.s.has_backlog(), "the turn's frame is spent");
    p.s.new_turn();
    assert_eq!(p.events(), []);
    assert_eq!(p.out().iter().filter(|f| f.kind == PING).count(), 2);
}

/// The peer's EOF behind held input: the input is still processed, turn by turn,
/// then the connection closes.
#[test]
fn input_held_at_eof_is_processed_before_the_close() {
    let mut p = Peer::open(Limits {
        max_frames_per_turn: 2,
        ..Limits::default()
    });
    let burst: Vec<u8> = (0..5u32)
        .flat_map(|i| headers(1 + 2 * i, GET, true))
        .collect();
    p.s.new_turn();
    p.s.receive(&burst);
    p.s.handle_eof();
    let mut requests = 0;
    loop {
        requests += p
            .events()
            .iter()
            .filter(|e| matches!(e, Ev::Request { .. }))
            .count();
        if !p.s.has_backlog() {
            break;
        }
        assert_eq!(p.s.status(), SessionStatus::Open);
        p.s.new_turn();
    }
    assert_eq!(requests, 5);
    assert_ne!(p.s.status(), SessionStatus::Open);
}
