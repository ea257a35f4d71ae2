//! The driver half of a connection against a real loopback peer, with the socket
//! buffers made small so that output backs up: what reaches the peer at the end.

use super::*;
use crate::config::Config;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener as StdListener, TcpStream as StdStream};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

const REQUEST: &[u8] =
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

fn set_buffer(socket: &impl AsRawFd, option: libc::c_int, bytes: libc::c_int) {
    // SAFETY: setsockopt reads the int we pass by pointer, with its size.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            (&raw const bytes).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "setsockopt");
}

/// A blocking peer and the server's side of an upgraded connection, both with small
/// buffers, so that a few KiB of echoes are enough to leave output pending.
fn upgraded_pair(config: &Arc<Config>, buf: &mut [u8], out: &mut Output) -> (StdStream, Client) {
    connect_and_upgrade(config, buf, out, true)
}

fn connect_and_upgrade(
    config: &Arc<Config>,
    buf: &mut [u8],
    out: &mut Output,
    small_buffers: bool,
) -> (StdStream, Client) {
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    let mut peer = StdStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    if small_buffers {
        set_buffer(&server, libc::SO_SNDBUF, 4096);
        set_buffer(&peer, libc::SO_RCVBUF, 4096);
    }
    peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    server.set_nonblocking(true).unwrap();
    let now = Instant::now();
    let conn = Connection::new(config.clone(), now);
    let mut client = Client::new(TcpStream::from_std(server), conn, (1, Instant::now()));
    peer.write_all(REQUEST).unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        read_available(&mut client, buf, out);
        let mut byte = [0u8];
        peer.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101 "), "upgrade failed");
    (peer, client)
}

/// Limits by default, no permessage-deflate.
fn plain_config() -> Arc<Config> {
    Arc::new(Config {
        deflate: None,
        ..Config::default()
    })
}

/// What a readable event does: read (and write) what has arrived.
fn read_available(client: &mut Client, buf: &mut [u8], out: &mut Output) {
    if let ReadOutcome::Error(e) = read_at(client, buf, out, Instant::now()) {
        panic!("read failed: {e}");
    }
}

/// [`Client::read`] at `now`, with a receive buffer as long as `buf` (and no TLS).
fn read_at(client: &mut Client, buf: &mut [u8], out: &mut Output, now: Instant) -> ReadOutcome {
    let mut reading = Reading {
        buf: vec![0; buf.len()],
        out: std::mem::take(out),
        tls_bufs: TlsBuffers::default(),
        config: plain_config(),
        setup: None,
        trace: None,
    };
    let outcome = client.read(&mut reading, now);
    *out = reading.out;
    outcome
}

/// How long the loops below may wait for the socket before the test fails (instead of
/// hanging).
const LOOP_LIMIT: Duration = Duration::from_secs(10);

/// Reads until the connection leaves the open state (the peer's close frame arrived).
fn read_until_closing(client: &mut Client, buf: &mut [u8], out: &mut Output) {
    let deadline = Instant::now() + LOOP_LIMIT;
    while client.core().status() == Status::Open {
        assert!(
            Instant::now() < deadline,
            "no close frame in {LOOP_LIMIT:?}"
        );
        read_available(client, buf, out);
    }
}

/// Waits until bytes have arrived on the socket (loopback delivers them a little later).
fn wait_readable(socket: &impl AsRawFd) {
    let mut fds = libc::pollfd {
        fd: socket.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: poll writes only `revents` of the one pollfd we pass.
    let ready = unsafe { libc::poll(&raw mut fds, 1, 5000) };
    assert_eq!(ready, 1, "nothing arrived within 5 s");
}

/// A masked client frame.
fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    wsecho_test_support::frames::client_frame(true, 0, opcode, [1, 2, 3, 4], payload)
}

/// (opcode, payload) of the server frames in `bytes`, all whole.
fn frames(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    wsecho_test_support::frames::parse_server_frames(bytes)
        .unwrap_or_else(|e| panic!("server output: {e}"))
        .into_iter()
        .map(|f| (f.opcode, f.payload))
        .collect()
}

/// Reads everything the server sends until it closes the connection.
fn read_to_end(mut peer: StdStream) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut received = Vec::new();
        peer.read_to_end(&mut received)
            .unwrap_or_else(|e| panic!("after {} bytes: {e}", received.len()));
        received
    })
}

#[test]
fn a_half_close_after_the_close_frame_loses_no_queued_echo_nor_the_reply() {
    let config = plain_config();
    let (mut buf, mut out) = (vec![0; 256 << 10], Output::default());
    let (mut peer, mut client) = upgraded_pair(&config, &mut buf, &mut out);
    let payload: Vec<u8> = (0..16 << 10).map(|i| i as u8).collect();
    for _ in 0..2 {
        peer.write_all(&frame(0x2, &payload)).unwrap();
    }
    peer.write_all(&frame(0x8, &1000u16.to_be_bytes())).unwrap();
    peer.shutdown(Shutdown::Write).unwrap();
    // The peer is not reading yet: the echoes back up in the server.
    read_until_closing(&mut client, &mut buf, &mut out);
    assert_eq!(client.core().status(), Status::Finishing);
    assert!(
        client.pending_out() > 0,
        "the setup must leave output pending"
    );
    // A later event finds the peer's EOF; the connection must stay until all is written.
    read_available(&mut client, &mut buf, &mut out);
    assert_eq!(client.core().status(), Status::Finishing);
    assert!(!client.finished(&mut buf));
    let reader = read_to_end(peer);
    let deadline = Instant::now() + LOOP_LIMIT;
    while !client.finished(&mut buf) {
        assert!(Instant::now() < deadline, "not finished in {LOOP_LIMIT:?}");
        client.flush().unwrap();
        thread::sleep(Duration::from_millis(1));
    }
    drop(client);
    let received = frames(&reader.join().unwrap());
    let opcodes: Vec<u8> = received.iter().map(|(op, _)| *op).collect();
    assert_eq!(opcodes, [0x2, 0x2, 0x8]);
    assert!(received[..2].iter().all(|(_, p)| *p == payload));
    assert_eq!(received[2].1, 1000u16.to_be_bytes());
}

#[test]
fn bytes_after_the_close_frame_do_not_turn_the_reply_into_a_reset() {
    let config = plain_config();
    let (mut buf, mut out) = (vec![0; 256 << 10], Output::default());
    let (mut peer, mut client) = upgraded_pair(&config, &mut buf, &mut out);
    peer.write_all(&frame(0x8, &1000u16.to_be_bytes())).unwrap();
    read_until_closing(&mut client, &mut buf, &mut out);
    assert_eq!(client.core().status(), Status::Finishing);
    assert_eq!(client.pending_out(), 0);
    // A Pong that crossed our reply (allowed after a close: it is no data frame) is
    // unread when the socket is closed.
    peer.write_all(&frame(0xA, b"late pong")).unwrap();
    wait_readable(&client.socket.stream);
    assert!(client.finished(&mut buf));
    drop(client);
    let received = frames(&read_to_end(peer).join().unwrap());
    assert_eq!(received, [(0x8, 1000u16.to_be_bytes().to_vec())]);
}

/// A connection marked to be driven again twice before the loop's list is served (by
/// an event's read and by its own drive from the list) is in that list once, and a
/// second entry for its key does not drive it again: entries once multiplied, each
/// turn driving a flooder once per entry.
#[test]
fn a_connection_is_driven_again_once_a_turn_however_often_it_is_marked() {
    let config = plain_config();
    let (mut big, mut out) = (vec![0; 256 << 10], Output::default());
    let (_peer, mut client) = connect_and_upgrade(&config, &mut big, &mut out, false);
    assert!(!client.dequeue(), "never queued: nothing to drive");
    client.yield_turn();
    assert!(client.enqueue(), "the first mark puts the key in the list");
    client.yield_turn();
    assert!(!client.enqueue(), "the second finds it there");
    assert!(client.dequeue(), "its entry drives it");
    assert!(!client.dequeue(), "a second entry does not");
    client.yield_turn();
    assert!(
        client.enqueue(),
        "driven, it may be queued for the next turn"
    );
}

#[test]
fn reading_yields_after_its_budget_and_resumes_where_it_stopped() {
    let config = plain_config();
    let (mut big, mut out) = (vec![0; 256 << 10], Output::default());
    let (mut peer, mut client) = connect_and_upgrade(&config, &mut big, &mut out, false);
    let messages: Vec<Vec<u8>> = (0..100u8).map(|i| vec![i; 1000]).collect();
    let stream: Vec<u8> = messages.iter().flat_map(|m| frame(0x2, m)).collect();
    peer.write_all(&stream).unwrap();
    wait_readable(&client.socket.stream);
    thread::sleep(Duration::from_millis(20));
    // A 4 KiB buffer: the budget of full reads is used up after 64 KiB of the ~100 KiB.
    let mut buf = vec![0; 4096];
    read_available(&mut client, &mut buf, &mut out);
    assert!(client.has_yielded(), "the budget must stop reading");
    // 16 reads of 4 KiB: 65 whole frames of 1008 bytes (8 of header), then 16 bytes of
    // the next (its header and 8 bytes of payload).
    let (read, frame_len) = (16 * 4096, 1008);
    let payload = read / frame_len * 1000 + (read % frame_len - 8);
    assert_eq!(client.core().counts().bytes, payload as u64);
    // The loop's next turn: the rest, with nothing lost or reordered.
    let mut turns = 1;
    while client
        .socket
        .flags
        .take(crate::server::socket::Flag::ReadYielded)
    {
        read_available(&mut client, &mut buf, &mut out);
        turns += 1;
    }
    assert_eq!(turns, 2);
    assert_eq!(client.core().counts().messages, 100);
    drop(client);
    // Messages that straddled reads come back fragmented (§5.4 allows it): reassemble.
    let received = reassemble(&read_to_end(peer).join().unwrap());
    let expected: Vec<(u8, Vec<u8>)> = messages.into_iter().map(|m| (0x2, m)).collect();
    assert!(received == expected, "echoes differ");
}

/// (opcode, payload) of each data message in `bytes`, its fragments joined.
fn reassemble(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut messages: Vec<(u8, Vec<u8>)> = Vec::new();
    let mut open = false;
    while bytes.len() >= 2 {
        let (fin, opcode) = (bytes[0] & 0x80 != 0, bytes[0] & 0x0f);
        let (len, head) = match bytes[1] {
            126 => (usize::from(u16::from_be_bytes([bytes[2], bytes[3]])), 4),
            n => (usize::from(n), 2),
        };
        let payload = &bytes[head..head + len];
        if open {
            assert_eq!(opcode, 0, "a continuation was due");
            messages.last_mut().unwrap().1.extend_from_slice(payload);
        } else {
            messages.push((opcode, payload.to_vec()));
        }
        open = !fin;
        bytes = &bytes[head + len..];
    }
    assert!(bytes.is_empty() && !open, "a torn message at the end");
    messages
}

/// Waits until the socket has room for output again (the peer read some).
fn wait_writable(socket: &impl AsRawFd) {
    let mut fds = libc::pollfd {
        fd: socket.as_raw_fd(),
        events: libc::POLLOUT,
        revents: 0,
    };
    // SAFETY: poll writes only `revents` of the one pollfd we pass.
    let ready = unsafe { libc::poll(&raw mut fds, 1, 5000) };
    assert_eq!(ready, 1, "no room for output within 5 s");
}

/// A client that reads its echoes slowly leaves output pending, and while it does the
/// loop reads nothing from it (backpressure): its pong may wait unread behind the rest.
/// The socket taking refused output shows the peer reading, so the keepalive counts it
/// as activity; a peer that stops reading is still dropped at the pong timeout.
#[test]
fn output_taken_from_a_slow_reader_keeps_the_keepalive_satisfied() {
    let config = Arc::new(Config {
        ping_interval: Some(Duration::from_secs(1)),
        ping_timeout: Duration::from_secs(1),
        idle_timeout: Some(Duration::from_secs(3)),
        ..(*plain_config()).clone()
    });
    let (mut buf, mut out) = (vec![0; 256 << 10], Output::default());
    let (mut peer, mut client) = upgraded_pair(&config, &mut buf, &mut out);
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let payload = vec![7u8; 16 << 10];
    peer.write_all(&[frame(0x2, &payload), frame(0x2, &payload)].concat())
        .unwrap();
    let deadline = Instant::now() + LOOP_LIMIT;
    while client.core().counts().messages < 2 {
        assert!(Instant::now() < deadline, "echoes not produced");
        wait_readable(&client.socket.stream);
        if let ReadOutcome::Error(e) = read_at(&mut client, &mut buf, &mut out, t0) {
            panic!("read failed: {e}");
        }
    }
    assert!(
        client.pending_out() > 0,
        "the setup must leave output pending"
    );
    // The deadline set at the upgrade fires first and moves to an interval after input.
    client.handle_timeout(client.core().deadline().expect("keepalive deadline"));
    assert_eq!(client.core().deadline(), Some(at(1000)), "a ping is due");
    client.handle_timeout(at(1000));
    assert_eq!(client.core().deadline(), Some(at(2000)), "the pong is due");

    // The peer reads some of its echoes: the socket takes more of what it refused.
    let mut chunk = vec![0; 8 << 10];
    peer.read_exact(&mut chunk).unwrap();
    wait_writable(&client.socket.stream);
    let pending = client.pending_out();
    client.on_writable(at(1500)).unwrap();
    assert!(client.pending_out() < pending, "the socket took nothing");
    assert_eq!(
        client.core().deadline(),
        Some(at(2500)),
        "output taken counts as the answer: the next ping is an interval later"
    );
    client.handle_timeout(at(2000));
    assert_eq!(client.core().status(), Status::Open);

    // The peer stops reading: the next ping goes unanswered and the connection is dropped.
    client.handle_timeout(at(2500));
    assert_eq!(client.core().deadline(), Some(at(3500)));
    client.handle_timeout(at(3500));
    assert_eq!(client.core().status(), Status::Done);
}

/// What an idle plain connection holds in the loop's slab: the socket with its queue,
/// the stack (the core inline) and the driver's state. Bounds to lower, not targets.
#[test]
fn an_idle_plain_client_stays_small() {
    use std::mem::size_of;
    let sizes = [
        ("Client", size_of::<Client>()),
        ("Option<Client>", size_of::<Option<Client>>()),
        ("Stack", size_of::<Stack>()),
        ("Connection", size_of::<Connection>()),
        ("Socket", size_of::<crate::server::socket::Socket>()),
    ];
    println!("{sizes:?}");
    assert_eq!(size_of::<Stack>(), size_of::<Connection>(), "{sizes:?}");
    assert_eq!(
        size_of::<Option<Client>>(),
        size_of::<Client>(),
        "{sizes:?}"
    );
    // Debug builds add 8 B to the stream (mio's selector id), 16 with the padding:
    // release has 168 B, the socket 32.
    let bound = if cfg!(debug_assertions) { 184 } else { 168 };
    assert!(size_of::<Client>() <= bound, "{sizes:?}");
    // A TLS connection's box is its layer, its core and the tap's pointer, with no
    // padding: a flag more would move it up an allocator step (16 B).
    let parts = size_of::<Option<crate::tls::TlsLayer>>() + size_of::<Connection>() + 8;
    assert_eq!(size_of::<crate::stack::H1>(), parts, "{sizes:?}");
}
