//! `ClientCore`, the client role's core, on a hostile server's bytes: after a valid 101
//! (or, with the mode byte odd, with no 101 at all), in the chunks and clock steps the
//! schedule picks.
//!
//! Checked: the client writes only whole masked frames (pongs of at most 125 bytes, and
//! at most one close, last); the events keep their order (`Opened` first and once,
//! nothing after `Failed` or `Ended`); messages are within the limit and text is valid
//! UTF-8; a failure for a broken rule ends in a close frame with that rule's code, and a
//! server's close is echoed with its code; without a 101 nothing opens and nothing is
//! written; after a failure the core writes nothing more and wants the socket closed.
#![no_main]

use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use wsecho::fuzzing::client::{ClientCore, ClientError, ClientEvent, ClientOptions, ClientStatus};
use wsecho::fuzzing::frame::Opcode;
use wsecho::fuzzing::handshake::accept_value;
use wsecho_fuzz::schedule::Schedule;
use wsecho_test_support::frames::{OP_CLOSE, OP_PONG, apply_mask, parse_header};

/// The client's message limit here: small, so that inputs reach it.
const MAX_MESSAGE: usize = 1 << 16;

/// The `Sec-WebSocket-Key` of the request the client wrote.
fn key_of(request: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(request).expect("an ASCII request");
    text.lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .expect("a key")
        .as_bytes()
        .to_vec()
}

/// The client's frames, unmasked: (opcode, payload). Each must be whole, final and
/// masked.
fn written(mut out: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut frames = Vec::new();
    while !out.is_empty() {
        let h = parse_header(out)
            .expect("a valid header")
            .expect("a whole header");
        let key = h.mask.expect("§5.3: a client masks every frame");
        assert!(h.fin, "the client sends whole messages");
        let end = h.header_len + usize::try_from(h.len).expect("a length that fits");
        assert!(end <= out.len(), "a frame cut short");
        let mut payload = out[h.header_len..end].to_vec();
        apply_mask(&mut payload, key);
        frames.push((h.opcode, payload));
        out = &out[end..];
    }
    frames
}

fuzz_target!(|data: &[u8]| {
    let (mut schedule, rest) = Schedule::take(data);
    let (upgraded, body) = match rest.split_first() {
        Some((&mode, body)) => (mode & 1 == 0, body),
        None => (true, rest),
    };
    let mut now = Instant::now();
    let options = ClientOptions {
        max_message: MAX_MESSAGE,
        ..ClientOptions::new("fuzz.example", "/")
    };
    let mut out = Vec::new();
    let mut core = ClientCore::new(&options, now, &mut out).expect("the request is written");
    let key = key_of(&out);
    out.clear();
    let mut input = Vec::new();
    if upgraded {
        let accept = accept_value(&key);
        input.extend_from_slice(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ",
        );
        input.extend_from_slice(&accept);
        input.extend_from_slice(b"\r\n\r\n");
    }
    input.extend_from_slice(body);

    let mut events = Vec::new();
    let mut remaining = &input[..];
    // An all-zero schedule would feed empty chunks forever: cap the calls.
    let mut calls = input.len() + 64;
    let mut ended_at = None;
    while calls > 0 {
        calls -= 1;
        let (len, step) = schedule.next_step();
        let (chunk, rest) = remaining.split_at(len.min(remaining.len()));
        remaining = rest;
        let before = out.len();
        core.handle_input(&mut chunk.to_vec(), now, &mut out);
        if ended_at.is_some() {
            assert_eq!(out.len(), before, "nothing written after the end");
        }
        now += step;
        core.handle_timeout(now);
        events.extend(std::iter::from_fn(|| core.poll_event()));
        if ended_at.is_none()
            && events
                .iter()
                .any(|e| matches!(e, ClientEvent::Failed(_) | ClientEvent::Ended { .. }))
        {
            ended_at = Some(events.len());
            assert_ne!(
                core.status(),
                ClientStatus::Open,
                "an end closes the socket"
            );
        }
        if remaining.is_empty() {
            break;
        }
    }

    // The events' order.
    if let Some(end) = ended_at {
        assert_eq!(events.len(), end, "no event after the end: {events:?}");
    }
    for (i, event) in events.iter().enumerate() {
        match event {
            ClientEvent::Opened { protocol } => {
                assert!(upgraded, "only a valid 101 opens");
                assert_eq!((i, protocol), (0, &None), "{events:?}");
            }
            ClientEvent::Message { opcode, data } => {
                assert!(data.len() <= MAX_MESSAGE);
                match opcode {
                    Opcode::Text => assert!(std::str::from_utf8(data).is_ok()),
                    Opcode::Binary => {}
                    other => panic!("a message of opcode {other:?}"),
                }
            }
            ClientEvent::Pong(payload) => assert!(payload.len() <= 125),
            ClientEvent::Closed { .. } | ClientEvent::Ended { .. } | ClientEvent::Failed(_) => {}
        }
    }
    if !upgraded {
        assert!(out.is_empty(), "nothing is written before a 101");
    }

    // What the client wrote.
    let frames = written(&out);
    let closes = frames.iter().filter(|(op, _)| *op == OP_CLOSE).count();
    assert!(closes <= 1, "one close frame at most");
    for (i, (opcode, payload)) in frames.iter().enumerate() {
        assert!(payload.len() <= 125, "a control frame over 125 bytes");
        match *opcode {
            OP_PONG => {}
            OP_CLOSE => assert_eq!(i, frames.len() - 1, "the close frame is the last"),
            other => panic!("the client wrote opcode {other:#x} on its own"),
        }
    }
    let close_code = frames
        .last()
        .filter(|(op, _)| *op == OP_CLOSE)
        .map(|(_, payload)| payload.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]])));
    let failed = events.iter().find_map(|e| match e {
        ClientEvent::Failed(ClientError::Protocol(e)) => Some(*e),
        _ => None,
    });
    let closed = events.iter().find_map(|e| match e {
        ClientEvent::Closed { code, .. } => Some(*code),
        _ => None,
    });
    match (failed, closed) {
        (Some(error), None) => assert_eq!(
            close_code,
            Some(Some(error.close_code().as_u16())),
            "{error:?} fails with its code"
        ),
        // §5.5.1: the server's close is answered, its code echoed.
        (None, Some(code)) => assert_eq!(close_code, Some(code.map(|c| c.as_u16()))),
        (None, None) => assert_eq!(close_code, None, "a close frame with no reason"),
        (Some(_), Some(_)) => panic!("a failure after the close handshake: {events:?}"),
    }
});
