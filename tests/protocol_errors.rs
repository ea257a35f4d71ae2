//! Protocol violations: the server fails the connection with the right close code and a
//! reason that names the violation (RFC 6455 §5, §7.4.1, §8.1).

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::*;

/// Opens a fresh connection, sends `frames` in one write, and expects the failure. A
/// streaming echo of the unfinished message under way may precede the close (RFC 6455
/// lets an endpoint forward fragments early); nothing else may.
fn expect_violation(server: &Server, frames: &[RawFrame], code: u16, words: &[&str]) -> Close {
    let mut stream = server.open();
    send(&mut stream, frames);
    let close = expect_close_after_partial_echo(&mut stream);
    assert_close(&close, &[code], words);
    reply_close(&mut stream, &close);
    assert_server_closes(&mut stream, CLOSE_BOUND);
    close
}

#[test]
fn unmasked_client_frame_is_1002() {
    let server = Server::start(&[]);
    expect_violation(
        &server,
        &[RawFrame::text("naked").unmasked()],
        1002,
        &["mask"],
    );
}

#[test]
fn rsv_bits_without_extension_are_1002() {
    let server = Server::start(&[]);
    for rsv in [0b100, 0b010, 0b001] {
        let close = expect_violation(
            &server,
            &[RawFrame::text("rsv").rsv(rsv)],
            1002,
            &["rsv", "reserved"],
        );
        eprintln!("rsv {rsv:03b}: {close:?}");
    }
}

#[test]
fn reserved_opcodes_are_1002() {
    let server = Server::start(&[]);
    for opcode in (0x3..=0x7).chain(0xB..=0xF) {
        let close = expect_violation(
            &server,
            &[RawFrame::new(opcode, "reserved")],
            1002,
            &["opcode"],
        );
        eprintln!("opcode {opcode:#x}: {close:?}");
    }
}

#[test]
fn fragmented_control_frame_is_1002() {
    let server = Server::start(&[]);
    for frame in [
        RawFrame::ping("p"),
        RawFrame::pong("p"),
        RawFrame::close(1000, ""),
    ] {
        let opcode = frame.opcode;
        let close = expect_violation(&server, &[frame.fin(false)], 1002, &["fragment", "fin"]);
        eprintln!("opcode {opcode:#x}: {close:?}");
    }
}

#[test]
fn control_frame_payload_over_125_bytes_is_1002() {
    let server = Server::start(&[]);
    for opcode in [OP_PING, OP_PONG] {
        let mut stream = server.open();
        send(&mut stream, &[RawFrame::new(opcode, pattern(126))]);
        let close = expect_close(&mut stream);
        assert_close(&close, &[1002], &["125", "control"]);
        reply_close(&mut stream, &close);
        assert_server_closes(&mut stream, CLOSE_BOUND);
    }
}

#[test]
fn length_with_most_significant_bit_set_is_1002() {
    let server = Server::start(&[]);
    let frame = RawFrame::binary([1, 2, 3, 4, 5]).len(Len::Long((1 << 63) | 5));
    expect_violation(&server, &[frame], 1002, &["length", "bit"]);
}

#[test]
fn continuation_without_started_message_is_1002() {
    let server = Server::start(&[]);
    expect_violation(
        &server,
        &[RawFrame::cont("orphan")],
        1002,
        &["continuation"],
    );
    // Also after a message that was properly finished (and is echoed first).
    let mut stream = server.open();
    send(
        &mut stream,
        &[RawFrame::text("done"), RawFrame::cont("orphan")],
    );
    assert_eq!(read_message(&mut stream), (OP_TEXT, b"done".to_vec()));
    expect_fail(&mut stream, 1002, &["continuation"]);
}

#[test]
fn new_data_frame_inside_fragmented_message_is_1002() {
    let server = Server::start(&[]);
    for interloper in [RawFrame::text("new"), RawFrame::binary("new")] {
        let mut stream = server.open();
        send(
            &mut stream,
            &[RawFrame::text("started").fin(false), interloper],
        );
        // A streaming echo may have forwarded the unfinished "started" first.
        let close = expect_close_after_partial_echo(&mut stream);
        assert_close(&close, &[1002], &["continuation", "fragment"]);
        reply_close(&mut stream, &close);
        assert_server_closes(&mut stream, CLOSE_BOUND);
    }
}

#[test]
fn frame_over_max_frame_size_is_1009_right_after_header() {
    let server = Server::start(&["--max-frame-size", "1024"]);
    let mut stream = server.open();
    // Only the header, claiming 2^62 bytes: the server must refuse without the payload.
    let header = RawFrame::binary([]).len(Len::Long(1 << 62)).header();
    let start = Instant::now();
    stream.write_all(&header).unwrap();
    let close = expect_close(&mut stream);
    let elapsed = start.elapsed();
    assert_close(&close, &[1009], &["frame"]);
    assert!(
        elapsed < Duration::from_millis(900),
        "1009 came only after {elapsed:?}"
    );
    reply_close(&mut stream, &close);
    assert_server_closes(&mut stream, CLOSE_BOUND);

    // A 1025-byte frame, sent whole, is refused too.
    expect_violation(
        &server,
        &[RawFrame::binary(pattern(1025))],
        1009,
        &["frame"],
    );
}

#[test]
fn message_over_max_message_size_across_fragments_is_1009() {
    let server = Server::start(&["--max-message-size", "1000"]);
    let mut stream = server.open();
    send(
        &mut stream,
        &[
            RawFrame::binary(pattern(600)).fin(false),
            RawFrame::cont(pattern(600)),
        ],
    );
    // A streaming echo may have forwarded the first fragment before the close, but
    // nothing past the limit.
    let (close, partial) = expect_close_and_partial_echo(&mut stream);
    assert_close(&close, &[1009], &["message"]);
    let sent = [pattern(600), pattern(600)].concat();
    assert_partial_echo_within(partial, &sent, 1000);
    reply_close(&mut stream, &close);
    assert_server_closes(&mut stream, CLOSE_BOUND);
}

#[test]
fn invalid_utf8_in_text_message_is_1007() {
    let server = Server::start(&[]);
    expect_violation(
        &server,
        &[RawFrame::text(b"valid, then \xff")],
        1007,
        &["utf"],
    );
}

#[test]
fn invalid_utf8_forms_are_1007() {
    let server = Server::start(&[]);
    for bad in [
        &b"\xc0\xaf"[..],         // overlong '/'
        &b"\xe0\x80\xaf"[..],     // overlong, 3 bytes
        &b"\xed\xa0\x80"[..],     // UTF-16 surrogate
        &b"\xf4\x90\x80\x80"[..], // above U+10FFFF
        &b"\x80"[..],             // lone continuation byte
        &b"\xf8\x88\x80\x80\x80"[..],
    ] {
        let close = expect_violation(&server, &[RawFrame::text(bad)], 1007, &["utf"]);
        eprintln!("{bad:02x?}: {close:?}");
    }
}

#[test]
fn invalid_utf8_fails_fast_mid_frame() {
    let server = Server::start(&["--close-timeout", "1"]);
    let mut stream = server.open();
    let mut payload = b"ok ok ok ok ".repeat(9);
    payload.truncate(100);
    payload[5] = 0xFF;
    let frame = RawFrame::text(&payload).encode();
    let header_len = frame.len() - 100;
    let start = Instant::now();
    // Header and the first 10 payload bytes only; the rest never comes.
    stream.write_all(&frame[..header_len + 10]).unwrap();
    let close = expect_close_after_partial_echo(&mut stream);
    let elapsed = start.elapsed();
    assert_close(&close, &[1007], &["utf"]);
    assert!(
        elapsed < Duration::from_millis(900),
        "1007 came only after {elapsed:?}"
    );
    reply_close(&mut stream, &close);
    assert_server_closes(&mut stream, CLOSE_BOUND);
}

#[test]
fn code_point_split_across_fragments_that_turns_out_invalid_is_1007() {
    let server = Server::start(&[]);
    // "a" then the first two bytes of €, then a byte that cannot continue it.
    expect_violation(
        &server,
        &[
            RawFrame::text(b"a\xe2\x82").fin(false),
            RawFrame::cont(b"(rest"),
        ],
        1007,
        &["utf"],
    );
}

#[test]
fn text_message_ending_inside_code_point_is_1007() {
    let server = Server::start(&[]);
    expect_violation(&server, &[RawFrame::text(b"ab\xe2\x82")], 1007, &["utf"]);
    // Three of the four bytes of 😀, split over fragments, then the message ends.
    expect_violation(
        &server,
        &[
            RawFrame::text(b"a\xf0\x9f").fin(false),
            RawFrame::cont(b"\x98"),
        ],
        1007,
        &["utf"],
    );
}

#[test]
fn valid_message_before_bad_frame_is_echoed_first() {
    let server = Server::start(&[]);
    let mut stream = server.open();
    send(
        &mut stream,
        &[
            RawFrame::text("valid first"),
            RawFrame::text("unmasked").unmasked(),
        ],
    );
    assert_eq!(
        read_message(&mut stream),
        (OP_TEXT, b"valid first".to_vec())
    );
    expect_fail(&mut stream, 1002, &["mask"]);
}

#[test]
fn default_limit_refuses_one_byte_over_64_mib_from_the_header() {
    // The default --max-message-size is 64 MiB: a frame announcing one byte more is
    // refused before any of its payload is sent; one announcing exactly 64 MiB is not.
    let server = Server::start(&[]);
    let mut over = server.open();
    over.write_all(&RawFrame::binary([]).len(Len::Long((64 << 20) + 1)).header())
        .unwrap();
    let close = expect_close(&mut over);
    assert_close(&close, &[1009], &["frame"]);

    let mut at = server.open();
    let sent = RawFrame::binary([]).len(Len::Long(64 << 20)).header();
    at.write_all(&sent).unwrap();
    // Accepted: the echo frame's header comes back at once (the same FIN, opcode and
    // length), and the first payload bytes stream behind it.
    at.write_all(&pattern(1000)).unwrap();
    let mut header = [0u8; 10];
    at.read_exact(&mut header).unwrap();
    let mut expected = vec![0x82, 127];
    expected.extend_from_slice(&(64u64 << 20).to_be_bytes());
    assert_eq!(header[..], expected[..], "the echo frame's header");
    let mut payload = vec![0u8; 1000];
    at.read_exact(&mut payload).unwrap();
    // What was written is the masked payload: the echo is it unmasked.
    let key = &sent[sent.len() - 4..];
    let unmasked: Vec<u8> = (pattern(1000).iter().enumerate())
        .map(|(i, b)| b ^ key[i % 4])
        .collect();
    assert!(payload == unmasked, "the first payload bytes");
}
