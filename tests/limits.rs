//! Size limits and large transfers.

mod common;

use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::*;

const FRAGMENT: usize = 64 << 10;

/// Sends `payload` as one message of `chunk`-byte fragments from a separate thread (so
/// the echo can be read at the same time) and returns the writer's handle.
fn send_fragmented(
    stream: &TcpStream,
    opcode: u8,
    payload: Vec<u8>,
    chunk: usize,
) -> thread::JoinHandle<()> {
    let mut writer = stream.try_clone().unwrap();
    writer
        .set_write_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    thread::spawn(move || {
        let chunks: Vec<&[u8]> = payload.chunks(chunk).collect();
        let last = chunks.len() - 1;
        for (i, part) in chunks.into_iter().enumerate() {
            let op = if i == 0 { opcode } else { OP_CONT };
            send(&mut writer, &[RawFrame::new(op, part).fin(i == last)]);
        }
    })
}

#[test]
fn sixteen_mib_text_in_64k_fragments_is_echoed_intact() {
    let server = Server::start(&[]);
    let mut stream = server.open();
    // Multi-byte code points straddle the fragment boundaries.
    let text = utf8_text(16 << 20).into_bytes();
    let writer = send_fragmented(&stream, OP_TEXT, text.clone(), FRAGMENT);
    let (opcode, echo) = read_message(&mut stream);
    writer.join().expect("writer thread");
    assert_eq!(opcode, OP_TEXT);
    assert_eq!(echo.len(), text.len());
    assert!(echo == text, "16 MiB text echo differs");
}

#[test]
fn sixteen_mib_binary_in_64k_fragments_is_echoed_intact() {
    let server = Server::start(&[]);
    let mut stream = server.open();
    let data = pattern(16 << 20);
    let writer = send_fragmented(&stream, OP_BINARY, data.clone(), FRAGMENT);
    let (opcode, echo) = read_message(&mut stream);
    writer.join().expect("writer thread");
    assert_eq!(opcode, OP_BINARY);
    assert_eq!(echo.len(), data.len());
    assert!(echo == data, "16 MiB binary echo differs");
}

#[test]
fn message_of_exactly_max_message_size_is_echoed() {
    let server = Server::start(&["--max-message-size", "1KiB"]);
    let mut stream = server.open();
    let data = pattern(1024);
    send(
        &mut stream,
        &[
            RawFrame::binary(&data[..400]).fin(false),
            RawFrame::cont(&data[400..]),
        ],
    );
    assert_eq!(read_message(&mut stream), (OP_BINARY, data));

    // One byte more is refused.
    let mut stream = server.open();
    send(
        &mut stream,
        &[
            RawFrame::binary(pattern(400)).fin(false),
            RawFrame::cont(pattern(625)),
        ],
    );
    let (close, partial) = expect_close_and_partial_echo(&mut stream);
    assert_close(&close, &[1009], &["message"]);
    // What was forwarded before the refusal stays within the limit.
    let sent = [pattern(400), pattern(625)].concat();
    assert_partial_echo_within(partial, &sent, 1024);
}

#[test]
fn frame_limit_caps_frames_not_messages() {
    let server = Server::start(&["--max-frame-size", "1000", "--max-message-size", "5000"]);
    let mut stream = server.open();
    let data = pattern(3000);
    send(
        &mut stream,
        &[
            RawFrame::binary(&data[..1000]).fin(false),
            RawFrame::cont(&data[1000..2000]).fin(false),
            RawFrame::cont(&data[2000..]),
        ],
    );
    assert_eq!(read_message(&mut stream), (OP_BINARY, data));

    send(&mut stream, &[RawFrame::binary(pattern(1001))]);
    expect_fail(&mut stream, 1009, &["frame"]);
}

/// Waits until `sent` stops moving for a while (or reaches `all`, or 10 s pass) and
/// returns where it stopped.
fn stalled(sent: &AtomicUsize, all: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = sent.load(Ordering::Relaxed);
    let mut since = Instant::now();
    loop {
        thread::sleep(Duration::from_millis(10));
        let now = sent.load(Ordering::Relaxed);
        if now != last {
            (last, since) = (now, Instant::now());
        }
        if now == all || since.elapsed() > Duration::from_millis(200) || Instant::now() > deadline {
            return now;
        }
    }
}

#[test]
fn slow_reader_gets_every_echo_in_order_under_backpressure() {
    let server = Server::start(&["--write-high-water", "65536"]);
    let mut stream = server.open();
    // 32 MiB: more than the kernel's socket buffers both ways hold on loopback, so the
    // writer must stall on the server's backpressure.
    const COUNT: usize = 1024;
    const SIZE: usize = 32 << 10;
    let message = |i: usize| {
        let mut m = pattern(SIZE);
        m[..4].copy_from_slice(&(i as u32).to_be_bytes());
        m
    };
    let mut writer = stream.try_clone().unwrap();
    writer
        .set_write_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let sent = Arc::new(AtomicUsize::new(0));
    let handle = thread::spawn({
        let sent = Arc::clone(&sent);
        move || {
            for i in 0..COUNT {
                send(&mut writer, &[RawFrame::binary(message(i))]);
                sent.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    // Nothing is read until the writer is stuck: the server stopped reading past its
    // high-water mark, and the kernel's buffers both ways are full.
    let stalled_at = stalled(&sent, COUNT);
    assert!(
        stalled_at < COUNT,
        "all {COUNT} messages went out unread: backpressure never engaged"
    );
    for i in 0..COUNT {
        let (opcode, echo) = read_message(&mut stream);
        assert_eq!(opcode, OP_BINARY);
        assert!(echo == message(i), "echo {i} differs or is out of order");
    }
    handle.join().expect("writer thread");
}

/// Runs wsecho with `args` and returns its exit code and stderr; a server that is still
/// running after 5 s (it accepted the arguments) is killed and reported with no code.
fn refused_at_start(args: &[&str]) -> (Option<i32>, String) {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = Server::command("127.0.0.1", args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(10));
    };
    let mut stderr = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
    (code, stderr)
}

#[test]
fn limits_that_contradict_each_other_are_refused_at_start() {
    // The echoes of the read that crosses the high-water mark are queued past it: a
    // backpressure limit without room for one 256 KiB read would close a client that only
    // reads slowly. Refused with exit code 2 and a message naming both options.
    for backpressure in ["1024", "65536", "327680", "328703"] {
        let (code, stderr) = refused_at_start(&[
            "--write-high-water",
            "65536",
            "--max-backpressure",
            backpressure,
        ]);
        assert_eq!(code, Some(2), "--max-backpressure {backpressure}: {stderr}");
        assert!(
            stderr.contains("--max-backpressure") && stderr.contains("--write-high-water"),
            "{stderr}"
        );
    }
    // The floor itself (65536 + 256 KiB + 1 KiB for headers) is fine.
    let server = Server::try_start(
        "127.0.0.1",
        &[
            "--write-high-water",
            "65536",
            "--max-backpressure",
            "328704",
        ],
    );
    assert!(server.is_ok(), "{:?}", server.err());
}

#[test]
fn time_limits_of_zero_or_less_are_refused_at_start() {
    // A limit of 0 would end every connection in the turn it starts (a limit that is off
    // is an option left out).
    for option in [
        "--handshake-timeout",
        "--close-timeout",
        "--idle-timeout",
        "--ping-interval",
        "--ping-timeout",
    ] {
        for value in ["0", "-1", "NaN", "1e12", "1e-10"] {
            let (code, stderr) = refused_at_start(&[&format!("{option}={value}")]);
            assert_eq!(code, Some(2), "{option} {value}: {stderr}");
            assert!(stderr.contains(option), "{option} {value}: {stderr}");
        }
    }
}

#[test]
fn deflate_min_size_above_64_kib_is_refused_at_start() {
    // Below the minimum size a message is held whole: the option bounds that memory.
    let (code, stderr) = refused_at_start(&["--deflate-min-size", "65537"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--deflate-min-size"), "{stderr}");
    let server = Server::try_start("127.0.0.1", &["--deflate-min-size", "65536"]);
    assert!(server.is_ok(), "{:?}", server.err());
}

#[test]
fn a_subprotocol_name_that_is_no_token_is_refused_at_start() {
    for name in ["", "a b", "chat,mqtt", "x/y"] {
        let (code, stderr) = refused_at_start(&["--subprotocol", name]);
        assert_eq!(code, Some(2), "--subprotocol {name:?}: {stderr}");
        assert!(stderr.contains("token"), "{stderr}");
    }
}
