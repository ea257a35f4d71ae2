//! The HTTP/2 session on an arbitrary byte stream, driven as the server drives it.
//!
//! Input: a flag byte, a byte seeding the application's choices, a feeding schedule
//! (see `Schedule::take`), then the stream. With `PREFACE` the stream follows a valid
//! client preface, SETTINGS and SETTINGS ack, so the frame layer is reached at once.
//! The application answers requests with HEADERS and DATA, echoes, consumes, resets
//! and goes away as the seed says; output is written in pieces of varying size.
//!
//! Each round of the drive is a turn of the server's loop (`new_turn` first), so an
//! input of many frames is served a turn's worth at a time, as in production.
//!
//! Checked: no panic; poll and write_output always end; the output is a sequence of
//! whole frames no larger than the peer may receive; the buffers stay within what
//! the limits allow; after `Failed` nothing more is read, and the session ends.
#![no_main]

use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use wsecho::fuzzing::h2::frame::ErrorCode;
use wsecho::fuzzing::h2::session::{CLIENT_PREFACE, Event, Limits, Session, SessionStatus};
use wsecho_fuzz::h2::{BlockingSocket, Choices, check_frames};
use wsecho_fuzz::schedule::Schedule;

/// The stream starts after a valid preface, SETTINGS and ack.
const PREFACE: u8 = 1 << 0;
/// Small windows, queues and limits, so that every bound is reached.
const TINY: u8 = 1 << 1;
/// The peer closes its side after the stream.
const EOF: u8 = 1 << 2;
/// Extended CONNECT not announced.
const NO_CONNECT: u8 = 1 << 3;

/// Steps of the drive loop before it gives up waiting for the session to settle.
const MAX_ROUNDS: usize = 100_000;
/// Deadlines the clock is moved to once the stream is all fed.
const MAX_TIMER_JUMPS: usize = 4;

fn limits(flags: u8) -> Limits {
    let mut limits = Limits {
        connect_protocol: flags & NO_CONNECT == 0,
        ..Limits::default()
    };
    if flags & TINY != 0 {
        limits.max_concurrent_streams = 3;
        limits.stream_window = 300;
        limits.connection_window = 70_000;
        limits.max_header_list_size = 300;
        limits.max_send_queue = 1000;
        limits.max_peer_resets = 5;
        limits.max_overhead_frames = 30;
        limits.max_control_backlog = 2000;
    }
    limits
}

fuzz_target!(|data: &[u8]| {
    let [flags, seed, rest @ ..] = data else {
        return;
    };
    let (mut schedule, stream) = Schedule::take(rest);
    let limits = limits(*flags);
    let mut now = Instant::now();
    let mut s = Session::new(limits.clone(), now);
    let mut input = Vec::new();
    if flags & PREFACE != 0 {
        input.extend_from_slice(CLIENT_PREFACE);
        input.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
        input.extend_from_slice(&[0, 0, 0, 4, 1, 0, 0, 0, 0]);
    }
    input.extend_from_slice(stream);
    let mut choices = Choices::new(*seed);
    let mut fed = 0;
    let mut out = Vec::new();
    let mut checked = 0;
    let mut failed = false;
    let mut streams: Vec<u32> = Vec::new();
    let mut eof_sent = false;
    let mut timer_jumps = 0;
    let body = [b'e'; 2048];

    for _ in 0..MAX_ROUNDS {
        let (len, step) = schedule.next_step();
        now += step;
        // Each round is a turn of the server's loop: a turn's worth of frames more may
        // be processed (the rest of a long input is held for the next rounds).
        s.new_turn();
        if s.deadline().is_some_and(|d| d <= now) {
            s.handle_timeout(now);
        }
        let before = s.buffered();
        let mut took = 0;
        if s.wants_read() && fed < input.len() {
            let end = fed + len.min(input.len() - fed);
            s.receive(&input[fed..end]);
            took = end - fed;
            fed = end;
        } else if fed < input.len() && failed {
            // Nothing is read after a failure.
            let held = s.buffered();
            s.receive(&input[fed..]);
            assert_eq!(s.buffered(), held);
        }
        // Every event, acted on as the application might.
        let mut polls = 0;
        while let Some(event) = s.poll(now) {
            polls += 1;
            assert!(polls < 1_000_000, "poll never ends");
            assert!(!failed, "an event after Failed");
            match event {
                Event::Request {
                    stream,
                    headers,
                    end_stream,
                } => {
                    assert!(!headers.method().is_empty());
                    streams.push(stream);
                    match choices.pick() % 8 {
                        0 => s.reset(stream, ErrorCode::Cancel),
                        1 => s.send_headers(stream, &[(b":status", b"404")], true),
                        _ => {
                            s.send_headers(stream, &[(b":status", b"200")], false);
                            let n = choices.pick() as usize % body.len();
                            s.send_data(stream, &body[..n], end_stream && n.is_multiple_of(2));
                        }
                    }
                }
                Event::RequestTooLarge { stream } => {
                    s.send_headers(stream, &[(b":status", b"431")], true);
                }
                Event::Data {
                    stream,
                    data,
                    end_stream,
                } => {
                    assert!(data.len() <= limits.max_frame_size as usize);
                    // The WebSocket core unmasks in place.
                    for b in data.iter_mut() {
                        *b ^= 0x5a;
                    }
                    let n = data.len();
                    let echo = data.to_vec();
                    match choices.pick() % 6 {
                        0 => s.reset(stream, ErrorCode::Cancel),
                        1 => {} // backpressure: not consumed
                        _ => {
                            s.consumed(stream, n);
                            if s.queued(stream) < limits.max_send_queue {
                                s.send_data(stream, &echo, end_stream);
                            }
                        }
                    }
                }
                Event::Drained { stream } => {
                    assert!(s.queued(stream) < limits.max_send_queue / 2 + 1);
                }
                Event::Reset { reason, .. } => assert!(!reason.is_empty()),
                Event::Closed { stream } => assert_eq!(s.queued(stream), 0),
                Event::GoAway { debug, .. } => {
                    assert!(debug.len() <= limits.max_frame_size as usize)
                }
                Event::Failed { reason, .. } => {
                    assert!(!reason.is_empty());
                    failed = true;
                }
            }
        }
        if failed {
            assert!(!s.wants_read());
            assert_ne!(s.status(), SessionStatus::Open);
        }
        if choices.pick().is_multiple_of(64) {
            s.go_away(ErrorCode::NoError, "fuzz");
        }
        // Output in pieces of varying size.
        let max = 1 + (choices.pick() as usize % 70_000);
        let mut writes = 0;
        while s.has_output() && writes < 4 {
            let at = out.len();
            // Into a socket that may fill after a few puts, as the driver's does: the
            // session stops at a frame boundary, and what it says it put was put.
            let mut socket = BlockingSocket {
                out: &mut out,
                puts_left: 1 + choices.pick() as usize % 8,
            };
            let put = s.write_to(&mut socket, max);
            assert!(out.len() > at, "has_output but nothing written");
            assert_eq!(put, out.len() - at, "write_to miscounted what it put");
            writes += 1;
        }
        check_frames(&out, &mut checked, (1 << 24) - 1);
        if out.len() > 1 << 20 {
            out.drain(..checked);
            checked = 0;
        }
        // Bounded memory: input is one frame plus one read, our frames the backlog
        // plus one round of answers, queues what the application was allowed.
        let bound = before.max(limits.max_buffered_input())
            + took
            + limits.max_control_backlog
            + 64 * 1024
            + limits.max_header_block()
            + streams.len() * (limits.max_send_queue + body.len() + 256);
        assert!(s.buffered() <= bound, "{} > {bound}", s.buffered());
        // Input held for the next turn is waited for while the session is open.
        let held = s.status() == SessionStatus::Open && s.has_backlog();
        if fed >= input.len() && !s.has_output() && !held {
            if flags & EOF != 0 && !eof_sent {
                s.handle_eof();
                eof_sent = true;
                continue;
            }
            // All is said: let the timers run out, a few of them.
            match s.deadline() {
                Some(deadline) if timer_jumps < MAX_TIMER_JUMPS => {
                    timer_jumps += 1;
                    now = now.max(deadline);
                    s.handle_timeout(now);
                }
                _ => break,
            }
        }
        if s.status() == SessionStatus::Done && !s.has_output() {
            break;
        }
    }
    if eof_sent {
        while s.poll(now).is_some() {}
        let mut sink = Vec::new();
        s.write_output(&mut sink, usize::MAX);
        assert_ne!(s.status(), SessionStatus::Open);
    }
});
