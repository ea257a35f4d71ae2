//! The closing handshake (RFC 6455 §5.5.1, §7) and invalid close frames.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use common::*;
use tungstenite::Message;

#[test]
fn empty_close_is_answered_then_server_closes_tcp_first() {
    // A long close timeout, so only a prompt close after the handshake passes.
    let server = Server::start(&["--close-timeout", "10"]);
    let mut stream = server.open();
    send(&mut stream, &[RawFrame::close_empty()]);
    let close = expect_close(&mut stream);
    assert!(
        close.code.is_none() || close.code == Some(1000),
        "reply to an empty close: {close:?}"
    );
    // We never close our side: the server must drop TCP on its own (§7.1.1).
    assert_server_closes(&mut stream, CLOSE_BOUND);
}

#[test]
fn after_the_close_handshake_the_server_closes_its_socket_at_once() {
    // Not a half-close that goes on reading until --close-timeout: the socket is closed
    // once our reply is written, so bytes sent after the close handshake (which RFC 6455
    // forbids) meet no socket, and the client's TCP gets a reset.
    let server = Server::start(&["--close-timeout", "10"]);
    let mut stream = server.open();
    send(&mut stream, &[RawFrame::close(1000, "bye")]);
    let close = expect_close(&mut stream);
    assert_eq!(close.code, Some(1000), "reply: {close:?}");
    assert_server_closes(&mut stream, CLOSE_BOUND);
    let start = Instant::now();
    let mut buf = [0u8; 16];
    loop {
        assert!(
            start.elapsed() < CLOSE_BOUND,
            "no reset: the server still holds the socket"
        );
        let refused = stream
            .write_all(&RawFrame::text("after close").encode())
            .and_then(|()| stream.read(&mut buf));
        match refused {
            Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) => {
                break;
            }
            Err(e) => panic!("unexpected error: {e}"),
            Ok(0) => std::thread::sleep(Duration::from_millis(10)),
            Ok(n) => panic!("server sent {n} bytes after closing"),
        }
    }
}

#[test]
fn close_code_and_reason_get_matching_reply() {
    let server = Server::start(&["--close-timeout", "10"]);
    // Every code RFC 6455 lets a peer send, plus the ends of the registered and private
    // ranges, with reasons up to the 123-byte maximum.
    let codes = [
        1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
    ];
    for (i, code) in codes.into_iter().enumerate() {
        let reason = "going away now ".repeat(9)[..[0, 14, 123][i % 3]].to_string();
        let mut stream = server.open();
        send(&mut stream, &[RawFrame::close(code, &reason)]);
        let close = expect_close(&mut stream);
        // The reply carries the code back, without the reason (§5.5.1: "typically echoes
        // the status code it received").
        assert_eq!(close.code, Some(code), "sent {code}, got {close:?}");
        assert_eq!(close.reason, "", "sent {code}, got {close:?}");
        assert_server_closes(&mut stream, CLOSE_BOUND);
    }
}

#[test]
fn one_byte_close_payload_is_1002() {
    let server = Server::start(&[]);
    let mut stream = server.open();
    send(&mut stream, &[RawFrame::new(OP_CLOSE, [0x03])]);
    expect_fail(&mut stream, 1002, &["close", "payload", "byte"]);
}

#[test]
fn invalid_close_codes_are_1002() {
    let server = Server::start(&[]);
    // 1015 is reserved and must never be sent in a close frame (§7.4.1).
    for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999] {
        let mut stream = server.open();
        send(&mut stream, &[RawFrame::close(code, "")]);
        let close = expect_close(&mut stream);
        assert_close(&close, &[1002], &["code"]);
        eprintln!("{code}: {close:?}");
        assert_server_closes(&mut stream, CLOSE_BOUND);
    }
}

#[test]
fn close_reason_with_invalid_utf8_is_1007() {
    let server = Server::start(&[]);
    let mut stream = server.open();
    send(
        &mut stream,
        &[RawFrame::close(1000, b"bad \xff\xfe reason")],
    );
    let close = expect_close(&mut stream);
    assert_close(&close, &[1007], &["utf"]);
    assert_server_closes(&mut stream, CLOSE_BOUND);
}

#[test]
fn close_payload_over_125_bytes_is_1002_and_not_echoed() {
    let server = Server::start(&[]);
    let mut stream = server.open();
    let reason = "r".repeat(124); // 2 + 124 = 126 bytes of payload
    send(&mut stream, &[RawFrame::close(1000, &reason)]);
    let close = expect_close(&mut stream);
    assert_close(&close, &[1002], &["125", "control"]);
    assert!(
        !close.reason.contains(&reason[..20]),
        "the oversized close was echoed: {close:?}"
    );
    assert_server_closes(&mut stream, CLOSE_BOUND);
}

#[test]
fn frames_after_our_close_are_not_echoed() {
    let server = Server::start(&[]);
    let mut stream = server.open();
    send(
        &mut stream,
        &[
            RawFrame::close(1000, "done"),
            RawFrame::text("too late"),
            RawFrame::ping("too late"),
        ],
    );
    let close = expect_close(&mut stream);
    assert!(
        close.code == Some(1000) || close.code.is_none(),
        "reply: {close:?}"
    );
    // Anything but EOF here (an echo, a pong) fails.
    assert_server_closes(&mut stream, CLOSE_BOUND);
}

#[test]
fn close_inside_fragmented_message_is_answered() {
    // Control frames may come between fragments (§5.4); the unfinished message is dropped.
    let server = Server::start(&["--close-timeout", "10"]);
    let mut stream = server.open();
    send(
        &mut stream,
        &[
            RawFrame::text("never finished").fin(false),
            RawFrame::close(1000, "bye"),
        ],
    );
    let close = expect_close_after_partial_echo(&mut stream);
    assert!(close.code == Some(1000), "reply: {close:?}");
    assert_server_closes(&mut stream, CLOSE_BOUND);
}

#[test]
fn server_half_closes_with_its_close_frame_and_releases_the_socket_once_we_close() {
    // A close the server starts (here, for an unmasked frame) goes out with a FIN at
    // once; the server then reads until we close TCP, and our close must free the
    // socket right away, not after the 10 s close timeout.
    let server = Server::start(&["--close-timeout", "10"]);
    let before = fd_count(server.pid());
    let mut stream = server.open();
    send(&mut stream, &[RawFrame::text("unmasked").unmasked()]);
    let close = expect_close(&mut stream);
    assert_close(&close, &[1002], &["mask"]);
    assert_server_closes(&mut stream, CLOSE_BOUND);
    assert_eq!(
        fd_count(server.pid()),
        before + 1,
        "the socket is still held"
    );
    reply_close(&mut stream, &close);
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let released = wait_fd_count_at_most(server.pid(), before, Duration::from_secs(1));
    assert!(
        released.is_some(),
        "the server still holds the socket 1 s after we closed ours"
    );
}

#[test]
fn the_reply_to_a_close_the_server_started_releases_the_socket_at_once() {
    // A close the server starts for its own reasons (here the idle timeout), unlike one
    // for a broken rule, may be answered: our close frame completes the exchange, and
    // the server closes TCP without waiting for us to (nor for the 10 s close timeout).
    let server = Server::start(&["--idle-timeout", "0.3", "--close-timeout", "10"]);
    let before = fd_count(server.pid());
    let mut stream = server.open();
    let close = expect_close(&mut stream);
    assert_close(&close, &[1001], &["idle"]);
    assert_server_closes(&mut stream, CLOSE_BOUND);
    assert_eq!(
        fd_count(server.pid()),
        before + 1,
        "the socket is released before the reply"
    );
    reply_close(&mut stream, &close);
    let released = wait_fd_count_at_most(server.pid(), before, Duration::from_secs(1));
    assert!(
        released.is_some(),
        "the server still holds the socket 1 s after our reply, though we did not close"
    );
}

#[test]
fn server_drops_tcp_by_close_timeout_when_peer_never_replies() {
    let server = Server::start(&["--close-timeout", "0.5"]);
    let before = fd_count(server.pid());
    let mut stream = server.open();
    // Before the frame that starts the close: the server's timeout starts later.
    let start = Instant::now();
    send(&mut stream, &[RawFrame::text("unmasked").unmasked()]);
    let close = expect_close(&mut stream);
    assert_close(&close, &[1002], &["mask"]);
    // The FIN comes with the close frame; the socket itself is held for the peer's close.
    assert_server_closes(&mut stream, CLOSE_BOUND);
    // No reply and no close from us: the 0.5 s close timeout (not the 3 s default) must
    // release the socket, and not before it.
    let released = wait_fd_count_at_most(server.pid(), before, Duration::from_millis(1500))
        .map(|_| start.elapsed());
    eprintln!("released after {released:?}");
    let released = released.expect("socket still held 1.5 s after the close frame");
    assert!(
        released >= Duration::from_millis(500),
        "socket released after {released:?}, before the 0.5 s close timeout"
    );
}

#[test]
fn tungstenite_client_close_handshake_completes() {
    let server = Server::start(&[]);
    let mut ws = server.client();
    ws.send(Message::text("before close")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("before close"));
    close_cleanly(&mut ws);
}

#[test]
fn bytes_sent_after_a_close_do_not_cost_the_client_its_reply() {
    // Unread input makes closing a socket send a reset, and the reset discards the
    // close reply if it is still in the send queue. The client keeps sending after its
    // close frame; it must still read the reply before the connection ends.
    let server = Server::start(&["--close-timeout", "10"]);
    let stream = server.open();
    let mut writer = stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let mut bytes = RawFrame::close(1000, "bye").encode();
        bytes.extend(concat(&vec![RawFrame::pong(pattern(125)); 8 * 1024]));
        // The server may reset the connection part-way: that is allowed.
        let _ = writer.write_all(&bytes);
    });
    let mut stream = stream;
    let close = expect_close(&mut stream);
    assert_eq!(close.code, Some(1000), "reply: {close:?}");
    sender.join().unwrap();
}

/// SIGTERM while wsecho's echo of a binary frame is going out: the 1001 close waits for
/// the frame's end (a close cannot go inside a frame), then follows it.
#[test]
fn a_shutdown_close_waits_for_the_echo_frame_in_flight() {
    let server = Server::start(&[]);
    let mut stream = server.open();
    let whole = RawFrame::binary(vec![9; 10_000]).encode();
    stream.write_all(&whole[..5000]).unwrap();
    // The echo's header and the payload so far come back at once.
    let mut head = [0u8; 4];
    stream.read_exact(&mut head).unwrap();
    assert_eq!(head, [0x82, 126, 0x27, 0x10]);
    server.signal(libc::SIGTERM);
    // The server logs this before it starts each close, in the same turn: the close is
    // asked for before the rest of the frame can arrive.
    let shutting = "shutting down: closing 1 connections with 1001";
    let log = server.wait_for_log(shutting, 1, std::time::Duration::from_secs(5));
    assert!(log.contains(shutting), "{log}");
    stream.write_all(&whole[5000..]).unwrap();
    let mut payload = vec![0u8; 10_000];
    stream.read_exact(&mut payload).unwrap();
    assert!(payload.iter().all(|&b| b == 9), "the echo's payload");
    let close = expect_close(&mut stream);
    assert_close(&close, &[1001], &["shutting down"]);
}
