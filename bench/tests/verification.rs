//! The load generator against a tiny in-test echo server: it must accept echoes split into
//! fragments, and must fail the run when a single echoed byte is wrong.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

use clap::Parser;
use wsecho_bench::cli::Args;
use wsecho_bench::frame::parse_header;
use wsecho_bench::handshake::accept_for;
use wsecho_bench::mask::apply_mask;

/// How the test server answers each message.
#[derive(Clone, Copy)]
enum Echo {
    /// Two frames: the first half (opcode kept, no FIN), then a FIN continuation.
    Fragmented,
    /// One frame with the last payload byte flipped.
    Corrupt,
    /// One frame with payload byte `n` flipped (when the message has one).
    CorruptAt(usize),
    /// The client's frame byte for byte, still masked, as the raw peer echoes it.
    Masked,
    /// One frame one byte short of the message.
    Short,
    /// One frame of the other data opcode (text for binary and the reverse).
    OtherOpcode,
}

/// Serves connections one thread each until the listener is dropped with the process.
fn server(echo: Echo) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || serve(stream, echo));
        }
    });
    port
}

fn serve(mut s: TcpStream, echo: Echo) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    // The request head, then a 101 with the right accept key.
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let key = head
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
        .unwrap()
        .trim();
    let accept = String::from_utf8(accept_for(key).to_vec()).unwrap();
    let resp = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    s.write_all(resp.as_bytes()).unwrap();
    buf.drain(..head_end);
    loop {
        while let Ok(Some(h)) = parse_header(&buf) {
            let total = h.header_len + h.len as usize;
            if buf.len() < total {
                break;
            }
            let mut payload = buf[h.header_len..total].to_vec();
            apply_mask(&mut payload, h.mask.unwrap(), 0);
            let raw: Vec<u8> = buf.drain(..total).collect();
            let out = match echo {
                Echo::Fragmented => {
                    let (a, b) = payload.split_at(payload.len() / 2);
                    [frame(h.opcode, false, a), frame(0, true, b)].concat()
                }
                Echo::Corrupt => {
                    *payload.last_mut().unwrap() ^= 1;
                    frame(h.opcode, true, &payload)
                }
                Echo::CorruptAt(n) => {
                    if let Some(b) = payload.get_mut(n) {
                        *b ^= 0x20;
                    }
                    frame(h.opcode, true, &payload)
                }
                Echo::Masked => raw,
                Echo::Short => frame(h.opcode, true, &payload[..payload.len() - 1]),
                Echo::OtherOpcode => frame(h.opcode ^ 3, true, &payload),
            };
            if s.write_all(&out).is_err() {
                return;
            }
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// An unmasked server frame (payloads here stay under 64 KiB).
fn frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![(fin as u8) << 7 | opcode];
    if payload.len() < 126 {
        f.push(payload.len() as u8);
    } else {
        f.push(126);
        f.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    }
    f.extend_from_slice(payload);
    f
}

fn loadgen(port: u16, extra: &[&str]) -> Result<String, String> {
    let port = port.to_string();
    let mut argv = vec![
        "loadgen",
        "pingpong",
        "--port",
        &port,
        "-c",
        "4",
        "-k",
        "3",
        "--timeout",
        "10",
    ];
    argv.extend_from_slice(extra);
    let args = Args::parse_from(argv);
    wsecho_bench::modes::run(&args).map(|l| l.as_str().to_string())
}

#[test]
fn fragmented_echoes_are_reassembled_and_verified() {
    let port = server(Echo::Fragmented);
    for kind in ["binary", "text"] {
        for size in ["0", "1", "20", "300", "20000"] {
            let line = loadgen(port, &["--messages", "60", "--kind", kind, "-s", size]).unwrap();
            assert!(line.contains("msgs=60 "), "{line}");
        }
    }
}

#[test]
fn one_wrong_byte_fails_the_run() {
    let port = server(Echo::Corrupt);
    let err = loadgen(port, &["--messages", "10", "-s", "100"]).unwrap_err();
    assert!(err.contains("differs from what was sent"), "{err}");
}

#[test]
fn any_wrong_byte_of_a_short_message_fails_the_run() {
    // Short messages take the loadgen's whole-frame fast path: the sequence-number prefix
    // (bytes 0..8) and the pattern after it must both be checked, in both kinds.
    for at in [0, 7, 8, 19] {
        let port = server(Echo::CorruptAt(at));
        for kind in ["binary", "text"] {
            let err = loadgen(port, &["--messages", "10", "-s", "20", "--kind", kind]).unwrap_err();
            assert!(
                err.contains("differs from what was sent"),
                "byte {at}: {err}"
            );
        }
    }
}

#[test]
fn wrong_length_or_opcode_fails_the_run() {
    let port = server(Echo::Short);
    for size in ["20", "300"] {
        let err = loadgen(port, &["--messages", "10", "-s", size]).unwrap_err();
        assert!(err.contains("were sent"), "{err}");
    }
    let port = server(Echo::OtherOpcode);
    for size in ["20", "300"] {
        let err = loadgen(port, &["--messages", "10", "-s", size]).unwrap_err();
        assert!(err.contains("opcode"), "{err}");
    }
}

#[test]
fn masked_echoes_pass_only_with_raw() {
    let port = server(Echo::Masked);
    for size in ["0", "5", "20", "300", "20000"] {
        let line = loadgen(port, &["--messages", "60", "--raw", "-s", size]).unwrap();
        assert!(line.contains("msgs=60 "), "{line}");
        let err = loadgen(port, &["--messages", "10", "-s", size]).unwrap_err();
        assert!(err.contains("masked frame"), "{err}");
    }
}
