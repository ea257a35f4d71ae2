//! The whole HTTP/2 path the server runs, on an arbitrary byte stream: the session,
//! the translation of each stream's request, and a WebSocket core per stream
//! (`H2Connection`, as `src/server/client_h2.rs` drives it).
//!
//! Input: a flag byte, a byte seeding the driver's choices, a feeding schedule (see
//! `Schedule::take`), then the stream. With `PREFACE` the stream follows a valid
//! client preface, SETTINGS, its ack and an extended CONNECT on stream 1 (a
//! WebSocket, or with `BEHAVIOUR` one asking for timed behaviours), so DATA frames
//! on stream 1 reach a WebSocket core at once.
//!
//! Each round of the drive is a turn of the server's loop (`new_turn` first), so an
//! input of many frames is served a turn's worth at a time, as in production.
//!
//! Checked: no panic; every call ends; the output is whole frames; the metrics asked
//! for are answered; once the connection is done it writes nothing more.
#![no_main]

use std::sync::Arc;
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use wsecho::fuzzing::config::Config;
use wsecho::fuzzing::connection::{Event, Status};
use wsecho::fuzzing::frame::CloseCode;
use wsecho::fuzzing::h2::hpack::encode_field;
use wsecho::fuzzing::h2::session::CLIENT_PREFACE;
use wsecho::fuzzing::stack::h2::H2Connection;
use wsecho_fuzz::h2::{BlockingSocket, Choices, check_frames};
use wsecho_fuzz::schedule::Schedule;

const PREFACE: u8 = 1 << 0;
const BEHAVIOUR: u8 = 1 << 1;
const EOF: u8 = 1 << 2;
/// Small limits, so that the cores' bounds are reached.
const TINY: u8 = 1 << 3;

const MAX_ROUNDS: usize = 100_000;
const MAX_TIMER_JUMPS: usize = 6;

fn frame(out: &mut Vec<u8>, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
}

fn opening(flags: u8) -> Vec<u8> {
    let mut bytes = CLIENT_PREFACE.to_vec();
    frame(&mut bytes, 4, 0, 0, &[]);
    frame(&mut bytes, 4, 1, 0, &[]);
    let path: &[u8] = if flags & BEHAVIOUR != 0 {
        b"/?delay=0.01&ping=0.02&send=3000&count=3&close=4000&after=2"
    } else {
        b"/"
    };
    let mut block = Vec::new();
    for (n, v) in [
        (&b":method"[..], &b"CONNECT"[..]),
        (b":protocol", b"websocket"),
        (b":scheme", b"https"),
        (b":path", path),
        (b":authority", b"fuzz"),
        (b"sec-websocket-version", b"13"),
        (b"sec-websocket-extensions", b"permessage-deflate"),
    ] {
        encode_field(&mut block, n, v);
    }
    // HEADERS with END_HEADERS on stream 1.
    frame(&mut bytes, 1, 4, 1, &block);
    bytes
}

fuzz_target!(|data: &[u8]| {
    let [flags, seed, rest @ ..] = data else {
        return;
    };
    let (mut schedule, stream) = Schedule::take(rest);
    let mut config = Config::default();
    if flags & TINY != 0 {
        config.max_message_size = 2000;
        config.max_frame_size = 1000;
        config.write_high_water = 500;
        config.max_backpressure = 20_000;
        config.max_header_bytes = 300;
    }
    let mut now = Instant::now();
    let mut conn = H2Connection::new(Arc::new(config), now);
    let mut input = if flags & PREFACE != 0 {
        opening(*flags)
    } else {
        Vec::new()
    };
    input.extend_from_slice(stream);
    let mut choices = Choices::new(*seed);
    let mut fed = 0;
    let mut out = Vec::new();
    let mut checked = 0;
    let mut eof_sent = false;
    let mut timer_jumps = 0;
    let mut closed = false;

    for _ in 0..MAX_ROUNDS {
        let (len, step) = schedule.next_step();
        now += step;
        // Each round is a turn of the server's loop: the input held over from the last
        // is processed first, as `Client::read_h2` starts with `h2_turn`.
        conn.new_turn(now);
        if conn.deadline().is_some_and(|d| d <= now) {
            conn.handle_timeout(now);
        }
        if conn.status() != Status::Open {
            // The driver reads no more from a connection that is ending.
            fed = input.len();
        } else if conn.wants_read() && fed < input.len() {
            let end = fed + len.min(input.len() - fed);
            conn.handle_input(&input[fed..end], now);
            fed = end;
        }
        let mut metrics = false;
        let mut events = 0;
        while let Some((_, event)) = conn.poll_event() {
            events += 1;
            assert!(events < 1_000_000, "poll_event never ends");
            metrics |= event == Event::MetricsAsked;
        }
        if metrics {
            conn.answer_metrics("# EOF\n", now);
        }
        if !closed && choices.pick().is_multiple_of(512) {
            closed = true;
            conn.close(CloseCode::GOING_AWAY, "fuzz", now);
        }
        let done = conn.status() == Status::Done;
        let before = out.len();
        let max = 1 + (choices.pick() as usize % 70_000);
        let mut writes = 0;
        while conn.has_output() && writes < 4 {
            // As the driver writes: into a socket that may fill after a few puts.
            let mut socket = BlockingSocket {
                out: &mut out,
                puts_left: 1 + choices.pick() as usize % 8,
            };
            conn.write_to(&mut socket, max);
            writes += 1;
        }
        if done {
            assert_eq!(out.len(), before, "output after the connection was done");
        }
        check_frames(&out, &mut checked, 1 << 14);
        // The client reads it all.
        if out.len() > 1 << 20 {
            out.drain(..checked);
            checked = 0;
        }
        // Input held for the next turn is waited for while the connection is open.
        let held = conn.status() == Status::Open && conn.has_backlog();
        if fed == input.len() && !held {
            if flags & EOF != 0 && !eof_sent {
                eof_sent = true;
                conn.handle_eof();
                continue;
            }
            if conn.status() == Status::Done || !conn.has_output() {
                match conn.deadline() {
                    Some(d) if timer_jumps < MAX_TIMER_JUMPS => {
                        timer_jumps += 1;
                        now = now.max(d);
                    }
                    _ => break,
                }
            }
        }
    }
    let _ = conn.counts();
});
