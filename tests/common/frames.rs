//! WebSocket frames: client frames built with every field choosable, server frames
//! read and checked, close frames, data patterns.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::*;

/// Sends frames in a single write.
pub fn send(stream: &mut (impl Write + ?Sized), frames: &[RawFrame]) {
    stream
        .write_all(&concat(frames))
        .unwrap_or_else(|e| panic!("sending frames failed: {e}"));
}

/// A frame as the server sent it.
pub use wsecho_test_support::frames::ServerFrame as Frame;

/// Reads one server frame, checked as [`wsecho_test_support::frames::read_server_frame`]
/// does; errors (including timeouts, EOF and a malformed header) are returned.
pub use wsecho_test_support::frames::read_server_frame as try_read_frame;

/// Reads one server frame, panicking on timeout, EOF or error.
pub fn read_frame(stream: &mut (impl Read + ?Sized)) -> Frame {
    try_read_frame(stream).unwrap_or_else(|e| match e.kind() {
        ErrorKind::UnexpectedEof => panic!("server closed TCP where a frame was expected"),
        ErrorKind::WouldBlock | ErrorKind::TimedOut => {
            panic!("no frame from the server within the read timeout")
        }
        ErrorKind::InvalidData => panic!("malformed frame from the server: {e}"),
        _ => panic!("expected a frame from the server: {e}"),
    })
}

/// Reads data frames until one has FIN set and returns the opcode of the first and the
/// concatenated payload. Any control frame in between fails the test.
pub fn read_message(stream: &mut (impl Read + ?Sized)) -> (u8, Vec<u8>) {
    let first = read_frame(stream);
    assert!(
        first.opcode == OP_TEXT || first.opcode == OP_BINARY,
        "expected the start of a data message, got {first:?}"
    );
    assert_eq!(first.rsv, 0, "unexpected RSV bits in {first:?}");
    let opcode = first.opcode;
    let mut payload = first.payload;
    let mut fin = first.fin;
    while !fin {
        let next = read_frame(stream);
        assert_eq!(
            next.opcode, OP_CONT,
            "expected a continuation frame, got {next:?}"
        );
        assert_eq!(next.rsv, 0, "unexpected RSV bits in {next:?}");
        payload.extend_from_slice(&next.payload);
        fin = next.fin;
    }
    (opcode, payload)
}

/// The content of a close frame from the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Close {
    pub code: Option<u16>,
    pub reason: String,
}

/// Reads the next frame, which must be a well-formed close frame.
pub fn expect_close(stream: &mut (impl Read + ?Sized)) -> Close {
    parse_close(read_frame(stream))
}

/// Like [`expect_close`], but first skips unfinished fragments of a message the server may
/// have been streaming back when it failed the connection (RFC 6455 allows an endpoint to
/// forward fragments before the message is complete). A finished message is not skipped.
/// The skipped fragments are checked as in [`expect_close_and_partial_echo`].
pub fn expect_close_after_partial_echo(stream: &mut (impl Read + ?Sized)) -> Close {
    expect_close_and_partial_echo(stream).0
}

/// The unfinished message a server forwarded before it failed the connection.
#[derive(Debug)]
pub struct PartialEcho {
    pub opcode: u8,
    /// RSV1: the fragments are compressed (permessage-deflate).
    pub compressed: bool,
    pub payload: Vec<u8>,
}

/// Reads the unfinished fragments that precede a close frame, and the close frame. The
/// fragments must form the start of one message (a data frame, then continuations), and
/// uncompressed text must be valid UTF-8 as far as it goes: a server that fails on a bad
/// byte must not have forwarded it.
pub fn expect_close_and_partial_echo(
    stream: &mut (impl Read + ?Sized),
) -> (Close, Option<PartialEcho>) {
    let mut partial: Option<PartialEcho> = None;
    let mut frame = read_frame(stream);
    while matches!(frame.opcode, OP_TEXT | OP_BINARY | OP_CONT) && !frame.fin {
        match (&mut partial, frame.opcode) {
            (None, OP_TEXT | OP_BINARY) => {
                partial = Some(PartialEcho {
                    opcode: frame.opcode,
                    compressed: frame.rsv & 0b100 != 0,
                    payload: frame.payload,
                })
            }
            (Some(p), OP_CONT) => p.payload.extend_from_slice(&frame.payload),
            (p, opcode) => panic!("opcode {opcode} where {p:?} continues a partial echo"),
        }
        frame = read_frame(stream);
    }
    if let Some(p) = &partial
        && p.opcode == OP_TEXT
        && !p.compressed
        && let Err(e) = std::str::from_utf8(&p.payload)
    {
        // An error with no length is a code point cut at the end: a valid prefix.
        assert!(
            e.error_len().is_none(),
            "the partial text echo forwards invalid UTF-8 at byte {}: {:02x?}",
            e.valid_up_to(),
            &p.payload[e.valid_up_to()..]
        );
    }
    (parse_close(frame), partial)
}

/// Asserts that a partial echo, if any, is uncompressed, starts `sent`, and holds at
/// most `limit` bytes.
pub fn assert_partial_echo_within(partial: Option<PartialEcho>, sent: &[u8], limit: usize) {
    let Some(p) = partial else { return };
    assert!(!p.compressed, "compressed partial echo: {p:?}");
    assert!(
        p.payload.len() <= limit && sent.starts_with(&p.payload),
        "partial echo of {} bytes is not the first {limit} or fewer bytes sent",
        p.payload.len()
    );
}

/// Checks that `frame` is a well-formed close frame and decodes it.
pub fn parse_close(frame: Frame) -> Close {
    assert_eq!(
        frame.opcode, OP_CLOSE,
        "expected a close frame, got {frame:?}"
    );
    assert!(frame.fin, "close frame without FIN");
    assert_eq!(frame.rsv, 0, "close frame with RSV bits");
    let p = &frame.payload;
    assert_ne!(p.len(), 1, "server sent a 1-byte close payload");
    assert!(
        p.len() <= 125,
        "server sent a {}-byte close payload",
        p.len()
    );
    if p.is_empty() {
        return Close {
            code: None,
            reason: String::new(),
        };
    }
    let code = u16::from_be_bytes([p[0], p[1]]);
    let reason = String::from_utf8(p[2..].to_vec())
        .unwrap_or_else(|_| panic!("server close reason is not UTF-8: {:?}", &p[2..]));
    Close {
        code: Some(code),
        reason,
    }
}

/// Sends our close reply (echoing the server's code, or empty); write errors are ignored
/// because the server may already be gone.
pub fn reply_close(stream: &mut (impl Write + ?Sized), close: &Close) {
    let frame = match close.code {
        Some(code) => RawFrame::close(code, ""),
        None => RawFrame::close_empty(),
    };
    let _ = stream.write_all(&frame.encode());
}

/// Asserts the server fails the connection: the next frame is a close with `code` whose
/// reason contains one of `words` (case-insensitive); then we reply and the server must
/// drop TCP promptly.
pub fn expect_fail(stream: &mut TcpStream, code: u16, words: &[&str]) -> Close {
    let close = expect_close(stream);
    assert_close(&close, &[code], words);
    reply_close(stream, &close);
    assert_server_closes(stream, CLOSE_BOUND);
    close
}

/// Asserts the close code is one of `codes` and the reason names the violation.
pub fn assert_close(close: &Close, codes: &[u16], words: &[&str]) {
    assert!(
        close.code.is_some_and(|c| codes.contains(&c)),
        "expected close code in {codes:?}, got {close:?}"
    );
    let reason = close.reason.to_lowercase();
    assert!(
        words.is_empty() || words.iter().any(|w| reason.contains(&w.to_lowercase())),
        "close reason {:?} names none of {words:?}",
        close.reason
    );
}

/// Asserts the server closes the TCP connection within `within`, sending nothing more.
/// A reset counts as closed (the kernel sends one when unread data is discarded).
pub fn assert_server_closes(stream: &mut TcpStream, within: Duration) {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        let left = within.saturating_sub(start.elapsed());
        assert!(
            !left.is_zero(),
            "server did not close TCP within {within:?}"
        );
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => panic!(
                "server sent {n} more bytes where it should have closed TCP: {:02x?}",
                &buf[..n.min(32)]
            ),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
                ) =>
            {
                break;
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("server did not close TCP within {within:?}")
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => panic!("unexpected read error while waiting for EOF: {e}"),
        }
    }
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
}

/// Deterministic test data: `len` bytes of a repeating non-trivial pattern.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + i / 251) as u8).collect()
}

/// Deterministic valid UTF-8 of exactly `len` bytes, mixing 1- to 4-byte code points so
/// that frame boundaries fall inside code points.
pub fn utf8_text(len: usize) -> String {
    const PIECES: [&str; 5] = ["a", "é", "€", "😀", "z"];
    let mut s = String::with_capacity(len);
    let mut i = 0;
    while s.len() < len {
        let piece = PIECES[i % PIECES.len()];
        if s.len() + piece.len() <= len {
            s.push_str(piece);
        } else {
            s.push('.');
        }
        i += 1;
    }
    s
}
