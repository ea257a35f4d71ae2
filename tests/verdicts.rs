//! The line each connection leaves in the log when it ends (info level): who, how long,
//! what went each way and how it ended, checked against what the client did.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::*;

/// The log line of connection `c{id}` once it is there.
fn ended_line(server: &Server, id: u64) -> String {
    let needle = format!("c{id} ");
    let log = server.wait_for_log(": ended after", id as usize, Duration::from_secs(5));
    log.lines()
        .find(|l| l.contains(&needle) && l.contains(": ended after"))
        .unwrap_or_else(|| panic!("no line for c{id}:\n{log}"))
        .to_string()
}

#[test]
fn a_clean_close_is_logged_with_the_bytes_each_way_and_the_codes() {
    let server = Server::start(&[]);
    let mut stream = server.connect();
    let local = stream.local_addr().unwrap();
    let request = Request::upgrade(&server.host()).to_bytes();
    stream.write_all(&request).unwrap();
    let mut sent = request.len();
    let frames = [RawFrame::text("hello"), RawFrame::binary(vec![7; 300])];
    send(&mut stream, &frames);
    sent += concat(&frames).len();
    let close = RawFrame::close(1000, "bye");
    send(&mut stream, std::slice::from_ref(&close));
    sent += close.encode().len();
    let mut received = Vec::new();
    stream.read_to_end(&mut received).unwrap();
    let line = ended_line(&server, 1);
    assert!(
        line.contains(&format!("c1 {local}: ended after ")),
        "{line}"
    );
    assert!(
        line.contains(&format!(
            "; in {sent} bytes, 2 messages echoed (305 payload bytes), out {} bytes; ",
            received.len()
        )),
        "{line}"
    );
    assert!(
        line.ends_with("client closed with 1000, answered"),
        "{line}"
    );
}

#[test]
fn a_failure_is_logged_with_its_rule_and_place() {
    let server = Server::start(&[]);
    let mut stream = server.open();
    send(&mut stream, &[RawFrame::text(b"\xc3\x28")]);
    assert_eq!(expect_close(&mut stream).code, Some(1007));
    drop(stream);
    let line = ended_line(&server, 1);
    assert!(
        line.contains("failed with 1007 text message is not valid UTF-8 (offset 0 of the message"),
        "{line}"
    );
}

#[test]
fn a_dropped_connection_keeps_its_peer_address_in_the_line() {
    let server = Server::start(&[]);
    let stream = server.open();
    let local = stream.local_addr().unwrap();
    drop(stream);
    let line = ended_line(&server, 1);
    assert!(line.contains(&format!("c1 {local}:")), "{line}");
    assert!(
        line.contains("client dropped TCP during open connection"),
        "{line}"
    );
}

#[test]
fn a_refusal_is_logged_with_its_status() {
    let server = Server::start(&[]);
    let request = Request::upgrade(&server.host()).remove("Sec-WebSocket-Key");
    let response = expect_refused(&server, &request.to_bytes());
    assert_eq!(response.status, 400);
    let line = ended_line(&server, 1);
    assert!(line.contains("refused with HTTP 400"), "{line}");
    assert!(
        line.contains(&format!(
            "; in {} bytes, 0 messages",
            request.to_bytes().len()
        )),
        "{line}"
    );
}

/// A client that resets the connection can no longer be asked for its address (curl
/// reading a refusal did that at times): the line names it all the same, from accept.
#[test]
fn a_connection_reset_by_the_client_is_logged_with_its_address() {
    let server = Server::start(&[]);
    let mut locals = Vec::new();
    for _ in 0..3 {
        let mut stream = server.open();
        locals.push(stream.local_addr().unwrap());
        send(&mut stream, &[RawFrame::text("hi")]);
        assert_eq!(read_message(&mut stream), (OP_TEXT, b"hi".to_vec()));
        reset_on_close(&stream);
    }
    for (i, local) in locals.iter().enumerate() {
        let line = ended_line(&server, i as u64 + 1);
        assert!(line.contains(&format!("c{} {local}:", i + 1)), "{line}");
    }
}

/// Closing `stream` will send a reset (SO_LINGER with a zero timeout).
fn reset_on_close(stream: &std::net::TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt reads `size_of::<linger>()` bytes from a struct we own.
    let r = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(r, 0, "SO_LINGER: {}", std::io::Error::last_os_error());
}
