//! permessage-deflate traffic against the real binary: large and concurrent messages,
//! compressed bombs and the limits, control frames inside compressed messages, and
//! `--deflate-min-size`.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use flate2::{Compress, Compression};

use common::deflate::*;
use common::*;

// ---------------------------------------------------------------------------------------
// Larger messages and many connections
// ---------------------------------------------------------------------------------------

#[test]
fn one_mib_messages_fragmented_and_whole() {
    let server = Server::start(&[]);
    let mut c = Client::open(&server, &["permessage-deflate"], "permessage-deflate", FULL);
    let text = utf8_text(1 << 20).into_bytes();
    c.roundtrip(OP_TEXT, &text, Cut::Every(64 << 10));
    c.roundtrip(OP_TEXT, &text, Cut::Whole);
    let data = noise(1 << 20, 99);
    c.roundtrip(OP_BINARY, &data, Cut::Every(64 << 10));
    c.roundtrip(OP_BINARY, &data, Cut::Whole);
    c.close();
}

#[test]
fn concurrent_connections_keep_their_own_contexts() {
    let server = Server::start(&["--deflate-max-window-bits", "12"]);
    let cases: Vec<(&str, &str, Agreed)> = vec![
        (
            "permessage-deflate",
            "permessage-deflate; server_max_window_bits=12",
            FULL.server_bits(12),
        ),
        (
            "permessage-deflate; server_no_context_takeover",
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=12",
            FULL.snct().server_bits(12),
        ),
        (
            "permessage-deflate; server_max_window_bits=9; client_max_window_bits=10",
            "permessage-deflate; server_max_window_bits=9; client_max_window_bits=10",
            FULL.server_bits(9).client_bits(10),
        ),
        (
            "permessage-deflate; client_no_context_takeover",
            "permessage-deflate; client_no_context_takeover; server_max_window_bits=12",
            FULL.cnct().server_bits(12),
        ),
    ];
    thread::scope(|s| {
        for (i, (offer, expected, agreed)) in cases.iter().enumerate() {
            let server = &server;
            s.spawn(move || {
                let mut c = Client::open(server, &[offer], expected, *agreed);
                for round in 0..40u64 {
                    let seed = round * 10 + i as u64;
                    let msg = repeated_noise(300, 3, seed);
                    c.roundtrip(OP_BINARY, &msg, Cut::Whole);
                    c.roundtrip(OP_TEXT, utf8_text(500 + i).as_bytes(), Cut::Every(97));
                }
                c.close();
            });
        }
    });
}

// ---------------------------------------------------------------------------------------
// Limits: a compressed bomb
// ---------------------------------------------------------------------------------------

/// Peak resident set size of a process (VmHWM), in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM line");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmHWM value");
    kib * 1024
}

/// `mibs` MiB of zero bytes as one message's compressed data. Compressing 64 MiB in a
/// debug build is slow, so: the first MiB, then the second MiB (which, following zeros,
/// only refers back into zeros) repeated. Each piece ends with a sync flush, so it is
/// byte-aligned and ends on a block boundary: the pieces concatenate.
fn zero_bomb(mibs: usize) -> Vec<u8> {
    let mut c = Compress::new_with_window_bits(Compression::best(), false, 15);
    let zeros = vec![0u8; MIB];
    let mut first = compress_message(&mut c, &zeros);
    first.extend_from_slice(&TAIL);
    let mut next = compress_message(&mut c, &zeros);
    next.extend_from_slice(&TAIL);
    let mut bomb = first;
    for _ in 1..mibs {
        bomb.extend_from_slice(&next);
    }
    bomb.truncate(bomb.len() - TAIL.len());
    // The bomb is what it claims to be.
    let inflated = inflate_message(&mut inflater(15), &bomb).expect("bomb inflates");
    assert!(inflated.len() == mibs * MIB && inflated.iter().all(|&b| b == 0));
    bomb
}

const MIB: usize = 1 << 20;

#[test]
fn compressed_bomb_is_refused_with_1009_and_memory_stays_small() {
    let server = Server::start(&["--max-message-size", "1048576"]);
    let bomb = zero_bomb(64);
    assert!(
        bomb.len() < 128 << 10,
        "bomb is {} bytes compressed",
        bomb.len()
    );

    // Exactly at the limit: accepted.
    let mut c = Client::open(&server, &["permessage-deflate"], "permessage-deflate", FULL);
    c.roundtrip(OP_BINARY, &vec![0u8; MIB], Cut::Whole);
    c.close();

    for (what, opcode, cut) in [
        ("one binary frame", OP_BINARY, Cut::Whole),
        ("4 KiB text frames", OP_TEXT, Cut::Every(4096)),
    ] {
        let (mut stream, response) = upgrade(&server, &["permessage-deflate"]);
        assert_eq!(
            response.header("Sec-WebSocket-Extensions"),
            Some("permessage-deflate")
        );
        let start = Instant::now();
        let mut writer = stream.try_clone().unwrap();
        let wire = concat(&frames(opcode, &bomb, cut, true));
        // The server may close before it has read everything: write errors are fine.
        let w = thread::spawn(move || {
            let _ = std::io::Write::write_all(&mut writer, &wire);
        });
        let close = expect_close_after_partial_echo(&mut stream);
        let took = start.elapsed();
        assert_close(&close, &[1009], &["exceeds the limit"]);
        assert!(
            took < Duration::from_secs(2),
            "bomb as {what}: 1009 took {took:?}"
        );
        reply_close(&mut stream, &close);
        assert_server_closes(&mut stream, CLOSE_BOUND);
        w.join().unwrap();
    }

    let peak = peak_rss(server.pid());
    eprintln!("wsecho peak RSS after the bombs: {} KiB", peak / 1024);
    assert!(
        peak < 32 * MIB as u64,
        "wsecho peaked at {} MiB of RSS",
        peak / MIB as u64
    );
}

#[test]
fn message_one_byte_over_the_limit_after_inflation_is_1009() {
    let server = Server::start(&["--max-message-size", "1000"]);
    let mut c = Client::open(&server, &["permessage-deflate"], "permessage-deflate", FULL);
    c.roundtrip(OP_TEXT, &vec![b'a'; 1000], Cut::Whole);
    let payload = c.compress(&[b'a'; 1001]);
    assert!(payload.len() < 100);
    send(&mut c.stream, &[RawFrame::text(payload).rsv(RSV1)]);
    let close = expect_close_after_partial_echo(&mut c.stream);
    assert_close(&close, &[1009], &["exceeds the limit"]);
    reply_close(&mut c.stream, &close);
    assert_server_closes(&mut c.stream, CLOSE_BOUND);
}

// ---------------------------------------------------------------------------------------
// Control frames inside a compressed message
// ---------------------------------------------------------------------------------------

#[test]
fn pings_between_fragments_of_a_compressed_message_are_answered_at_once() {
    let server = Server::start(&[]);
    let mut c = Client::open(&server, &["permessage-deflate"], "permessage-deflate", FULL);
    let text = utf8_text(60_000).into_bytes();
    let payload = c.compress(&text);
    let third = payload.len() / 3;
    let parts = [
        &payload[..third],
        &payload[third..2 * third],
        &payload[2 * third..],
    ];

    let mut asm = Assembler::default();
    for (i, part) in parts.iter().enumerate() {
        let frame = if i == 0 {
            RawFrame::text(part).rsv(RSV1).fin(false)
        } else {
            RawFrame::cont(part).fin(i == 2)
        };
        let ping = format!("ping-{i}");
        let start = Instant::now();
        send(&mut c.stream, &[frame, RawFrame::ping(&ping)]);
        // The pong must come before we send the rest of the message.
        while asm.pongs.len() <= i {
            asm.take(read_frame(&mut c.stream));
        }
        assert_eq!(asm.pongs[i], ping.as_bytes(), "pong payload");
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "pong took {:?}",
            start.elapsed()
        );
    }
    while !asm.done {
        asm.take(read_frame(&mut c.stream));
    }
    let echo = asm.finish();
    assert!(echo.compressed, "echo not compressed");
    assert_eq!(c.inflate(&echo.payload).unwrap(), text);
    // The connection is still in step afterwards.
    c.roundtrip(OP_TEXT, &text, Cut::Whole);
    c.close();
}

// ---------------------------------------------------------------------------------------
// --deflate-min-size
// ---------------------------------------------------------------------------------------

#[test]
fn deflate_min_size_sends_short_echoes_uncompressed() {
    let server = Server::start(&["--deflate-min-size", "100"]);
    let mut c = deflate_client(&server);

    let long = utf8_text(500).into_bytes();
    let first = c.roundtrip(OP_TEXT, &long, Cut::Whole);

    for (len, cut) in [
        (0, Cut::Whole),
        (1, Cut::Whole),
        (50, Cut::Every(1)),
        (99, Cut::Whole),
    ] {
        let short = &long[..len];
        let payload = c.compress(short);
        send(&mut c.stream, &frames(OP_TEXT, &payload, cut, true));
        let echo = read_echo(&mut c.stream);
        assert!(
            !echo.compressed,
            "a {len}-byte echo is compressed despite --deflate-min-size 100"
        );
        assert_eq!(echo.opcode, OP_TEXT);
        assert!(echo.payload == short, "{len}-byte echo differs");
    }

    // At the threshold: compressed, also when the message arrives in 1-byte frames.
    c.roundtrip(OP_BINARY, &noise(100, 1), Cut::Whole);
    c.roundtrip(OP_TEXT, utf8_text(150).as_bytes(), Cut::Every(1));
    // The uncompressed echoes did not enter the server's compression context: the
    // long message again compresses against its first copy and inflates in step.
    let again = c.roundtrip(OP_TEXT, &long, Cut::Whole);
    assert!(
        again < first,
        "no context takeover across short messages ({first} -> {again})"
    );
    c.close();
}
