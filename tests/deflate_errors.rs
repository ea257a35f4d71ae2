//! permessage-deflate protocol errors against the real binary: RSV bits where RFC 7692
//! forbids them, data that does not inflate, text that inflates to invalid UTF-8.

mod common;

use common::deflate::*;
use common::*;

// ---------------------------------------------------------------------------------------
// Protocol errors
// ---------------------------------------------------------------------------------------

#[test]
fn rsv1_on_a_continuation_frame_is_1002() {
    let server = Server::start(&[]);
    let mut c = deflate_client(&server);
    let payload = c.compress(&utf8_text(3000).into_bytes());
    let (head, rest) = payload.split_at(payload.len() / 2);
    send(
        &mut c.stream,
        &[
            RawFrame::text(head).rsv(RSV1).fin(false),
            RawFrame::cont(rest).rsv(RSV1),
        ],
    );
    expect_fail_mid_message(&mut c.stream, 1002, &["continuation"]);
}

#[test]
fn rsv1_on_a_control_frame_is_1002() {
    let server = Server::start(&[]);
    for frame in [
        RawFrame::ping("p").rsv(RSV1),
        RawFrame::pong("p").rsv(RSV1),
        RawFrame::close(1000, "").rsv(RSV1),
    ] {
        let mut c = deflate_client(&server);
        c.roundtrip(OP_TEXT, b"before", Cut::Whole);
        send(&mut c.stream, &[frame]);
        expect_fail(&mut c.stream, 1002, &["control frame"]);
    }
    // Also in the middle of a compressed message.
    let mut c = deflate_client(&server);
    let payload = c.compress(b"some compressed text");
    send(
        &mut c.stream,
        &[
            RawFrame::text(&payload[..4]).rsv(RSV1).fin(false),
            RawFrame::ping("p").rsv(RSV1),
        ],
    );
    expect_fail_mid_message(&mut c.stream, 1002, &["control frame"]);
}

#[test]
fn rsv2_and_rsv3_stay_reserved_with_deflate() {
    let server = Server::start(&[]);
    for rsv in [0b010, 0b001, 0b110, 0b111] {
        let mut c = deflate_client(&server);
        let payload = c.compress(b"hello");
        send(&mut c.stream, &[RawFrame::text(payload).rsv(rsv)]);
        expect_fail(&mut c.stream, 1002, &["reserved bits"]);
    }
}

#[test]
fn rsv1_with_no_deflate_is_1002() {
    let server = Server::start(&["--no-deflate"]);
    let (mut stream, response) = upgrade(&server, &["permessage-deflate"]);
    assert_eq!(response.header("Sec-WebSocket-Extensions"), None);
    let payload = compress_message(&mut deflater(15), b"hello");
    send(&mut stream, &[RawFrame::text(payload).rsv(RSV1)]);
    expect_fail(&mut stream, 1002, &["reserved bits"]);
    // Without any offer, on a server with deflate on, the same.
    let server = Server::start(&[]);
    let mut stream = server.open();
    let payload = compress_message(&mut deflater(15), b"hello");
    send(&mut stream, &[RawFrame::binary(payload).rsv(RSV1)]);
    expect_fail(&mut stream, 1002, &["reserved bits"]);
}

#[test]
fn corrupt_deflate_data_is_1007() {
    let server = Server::start(&[]);
    // A back-reference into a previous message the server never saw.
    let mut d = deflater(15);
    let block = noise(1000, 5);
    compress_message(&mut d, &block);
    let dangling = compress_message(&mut d, &block);
    // A complete sync-flushed chunk, then a block header with the reserved type 11.
    let mut head = compress_message(&mut deflater(15), &utf8_text(5000).into_bytes());
    head.extend_from_slice(&TAIL);
    for (what, payload) in [
        ("reserved block type 11", vec![0xff; 16]),
        (
            "stored block with LEN != ~NLEN",
            vec![0x00, 0x05, 0x00, 0x00, 0x00],
        ),
        ("reference before the stream start", dangling),
    ] {
        let mut c = deflate_client(&server);
        c.roundtrip(OP_BINARY, b"warm-up", Cut::Whole);
        send(&mut c.stream, &[RawFrame::binary(&payload).rsv(RSV1)]);
        let close = expect_close_after_partial_echo(&mut c.stream);
        assert!(close.code == Some(1007), "{what}: {close:?}");
        assert_close(&close, &[1007], &["inflate"]);
        reply_close(&mut c.stream, &close);
        assert_server_closes(&mut c.stream, CLOSE_BOUND);
    }
    // Garbage in a later fragment of a fragmented message (fresh connection, so the
    // compressed stream starts clean).
    let mut c = deflate_client(&server);
    send(
        &mut c.stream,
        &[
            RawFrame::binary(&head).rsv(RSV1).fin(false),
            RawFrame::cont([0xff; 16]),
        ],
    );
    expect_fail_mid_message(&mut c.stream, 1007, &["inflate"]);
}

#[test]
fn compressed_text_that_inflates_to_invalid_utf8_is_1007() {
    let server = Server::start(&[]);
    for (what, text, cut) in [
        (
            "stray continuation byte",
            b"valid, then \x80".to_vec(),
            Cut::Whole,
        ),
        ("overlong encoding", b"\xc0\xaf".to_vec(), Cut::Whole),
        ("surrogate", b"ab\xed\xa0\x80cd".to_vec(), Cut::Every(2)),
        (
            "truncated at the end",
            b"euro: \xe2\x82".to_vec(),
            Cut::Whole,
        ),
        (
            "0xFF deep inside",
            {
                let mut t = utf8_text(50_000).into_bytes();
                t[40_000] = 0xff;
                t
            },
            Cut::Every(1000),
        ),
    ] {
        let mut c = deflate_client(&server);
        c.roundtrip(OP_TEXT, "warm-up €".as_bytes(), Cut::Whole);
        let payload = c.compress(&text);
        let writer = send_in_background(&c.stream, frames(OP_TEXT, &payload, cut, true));
        let close = expect_close_after_partial_echo(&mut c.stream);
        assert!(close.code == Some(1007), "{what}: {close:?}");
        assert_close(&close, &[1007], &["utf-8"]);
        reply_close(&mut c.stream, &close);
        assert_server_closes(&mut c.stream, CLOSE_BOUND);
        let _ = writer.join();
    }
    // The same bytes as binary are fine.
    let mut c = deflate_client(&server);
    c.roundtrip(OP_BINARY, b"valid, then \x80", Cut::Whole);
    c.close();
}

#[test]
fn zero_byte_compressed_payload_is_an_empty_message() {
    // zlib emits nothing for an empty message right after a flush, so a client that
    // just strips the tail sends RSV1 with a 0-byte payload (Chromium and Python's
    // websockets send 0x00 instead). It must read as an empty message and leave the
    // inflater in step: with the tail it is an unfinished stored block header, which
    // must not swallow the next message.
    let server = Server::start(&[]);
    let mut c = deflate_client(&server);
    c.roundtrip(OP_TEXT, b"before", Cut::Whole);
    for opcode in [OP_TEXT, OP_BINARY] {
        send(&mut c.stream, &[RawFrame::new(opcode, []).rsv(RSV1)]);
        let echo = read_echo(&mut c.stream);
        assert_eq!(echo.opcode, opcode);
        let got = if echo.compressed {
            c.inflate(&echo.payload).unwrap()
        } else {
            echo.payload
        };
        assert!(got.is_empty(), "empty message echoed as {got:?}");
    }
    c.roundtrip(OP_TEXT, b"before", Cut::Whole);
    c.close();
}

#[test]
fn message_whose_deflate_data_ends_inside_a_block_is_1007() {
    // RFC 7692 §7.2.1: the sender strips exactly the 00 00 ff ff of the empty stored block
    // a sync flush ends with, so payload + tail always ends on a block boundary. If it
    // does not, the data is broken; accepting it echoes bytes the client never sent (the
    // tail as stored data) and reads the next message as the rest of the block.
    let server = Server::start(&[]);
    // Truncated inside a stored block.
    let mut c = deflate_client(&server);
    let payload = c.compress(&noise(3000, 21));
    assert_eq!(payload[0] & 0b111, 0, "expected a stored block");
    send(
        &mut c.stream,
        &[RawFrame::binary(&payload[..1500]).rsv(RSV1)],
    );
    expect_fail_mid_message(&mut c.stream, 1007, &["inflate"]);
    // The tail left on (a second tail then starts an unfinished stored block).
    let mut c = deflate_client(&server);
    let mut payload = c.compress(b"tail not stripped");
    payload.extend_from_slice(&TAIL);
    send(&mut c.stream, &[RawFrame::text(&payload).rsv(RSV1)]);
    expect_fail_mid_message(&mut c.stream, 1007, &["inflate"]);
}
