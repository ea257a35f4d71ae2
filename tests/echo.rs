//! Echo of data messages, fragmentation, and ping/pong.

mod common;

use std::io::Write;
use std::thread;

use common::*;
use tungstenite::Message;

const SIZES: [usize; 7] = [0, 1, 125, 126, 65535, 65536, 1 << 20];

#[test]
fn text_messages_of_boundary_sizes_are_echoed() {
    let server = Server::start(&[]);
    let mut ws = server.client();
    for size in SIZES {
        let text = utf8_text(size);
        ws.send(Message::text(text.clone())).unwrap();
        match ws.read().unwrap() {
            Message::Text(echo) => assert!(echo.as_str() == text, "size {size}: wrong payload"),
            other => panic!("size {size}: expected text, got {other:?}"),
        }
    }
}

#[test]
fn binary_messages_of_boundary_sizes_are_echoed() {
    let server = Server::start(&[]);
    let mut ws = server.client();
    for size in SIZES {
        let data = pattern(size);
        ws.send(Message::binary(data.clone())).unwrap();
        match ws.read().unwrap() {
            Message::Binary(echo) => assert!(echo[..] == data[..], "size {size}: wrong payload"),
            other => panic!("size {size}: expected binary, got {other:?}"),
        }
    }
}

#[test]
fn server_frames_use_minimal_length_encoding() {
    let server = Server::start(&[]);
    let mut stream = server.open();
    for size in [0, 125, 126, 65535, 65536] {
        send(&mut stream, &[RawFrame::binary(pattern(size))]);
        // The server may refragment; `read_frame` fails the test on any frame whose
        // length is not in its minimal form (§5.2), so reading the echo is the check.
        let (opcode, echoed) = read_message(&mut stream);
        assert_eq!(opcode, OP_BINARY);
        assert!(echoed == pattern(size), "size {size}: wrong payload");
    }
}

#[test]
fn fragmented_text_is_echoed_as_one_message() {
    let server = Server::start(&[]);
    let mut stream = server.open();
    send(
        &mut stream,
        &[
            RawFrame::text("Hello").fin(false),
            RawFrame::cont(", fragmented").fin(false),
            RawFrame::cont(" world"),
        ],
    );
    assert_eq!(
        read_message(&mut stream),
        (OP_TEXT, b"Hello, fragmented world".to_vec())
    );
}

#[test]
fn fragmented_binary_with_empty_fragments_is_echoed() {
    let server = Server::start(&[]);
    let mut stream = server.open();
    send(
        &mut stream,
        &[
            RawFrame::binary([]).fin(false),
            RawFrame::cont([1, 2, 3]).fin(false),
            RawFrame::cont([]).fin(false),
            RawFrame::cont([4]),
        ],
    );
    assert_eq!(read_message(&mut stream), (OP_BINARY, vec![1, 2, 3, 4]));
}

#[test]
fn code_point_split_across_fragments_is_echoed() {
    let server = Server::start(&[]);
    let mut stream = server.open();
    let text = "a€😀b".as_bytes();
    // Split inside € (3 bytes) and inside 😀 (4 bytes).
    send(
        &mut stream,
        &[
            RawFrame::text(&text[..2]).fin(false),
            RawFrame::cont(&text[2..6]).fin(false),
            RawFrame::cont(&text[6..]),
        ],
    );
    assert_eq!(read_message(&mut stream), (OP_TEXT, text.to_vec()));
}

#[test]
fn ping_inside_fragmented_message_is_answered_at_once() {
    let server = Server::start(&[]);
    let mut stream = server.open();
    send(
        &mut stream,
        &[
            RawFrame::text("first half, ").fin(false),
            RawFrame::ping("mid"),
        ],
    );

    // The pong must come before the message is finished. A server that streams its echo
    // may send the fragments it has so far first; collect those.
    let mut echoed = Vec::new();
    let mut started = false;
    loop {
        let frame = read_frame(&mut stream);
        if frame.opcode == OP_PONG {
            assert_eq!(frame.payload, b"mid");
            break;
        }
        let expected = if started { OP_CONT } else { OP_TEXT };
        assert!(
            frame.opcode == expected && !frame.fin,
            "expected the pong before the message ends, got {frame:?}"
        );
        started = true;
        echoed.extend_from_slice(&frame.payload);
    }

    send(&mut stream, &[RawFrame::cont("second half")]);
    if started {
        loop {
            let frame = read_frame(&mut stream);
            assert_eq!(frame.opcode, OP_CONT, "{frame:?}");
            echoed.extend_from_slice(&frame.payload);
            if frame.fin {
                break;
            }
        }
    } else {
        let (opcode, payload) = read_message(&mut stream);
        assert_eq!(opcode, OP_TEXT);
        echoed = payload;
    }
    assert_eq!(echoed, b"first half, second half");
}

#[test]
fn unsolicited_pong_is_ignored() {
    let server = Server::start(&[]);
    let mut stream = server.open();
    send(
        &mut stream,
        &[RawFrame::pong("unasked"), RawFrame::text("next")],
    );
    // The first thing back is the echo: no reply to the pong.
    assert_eq!(read_message(&mut stream), (OP_TEXT, b"next".to_vec()));
    send(&mut stream, &[RawFrame::ping("p")]);
    let pong = read_frame(&mut stream);
    assert_eq!((pong.opcode, pong.payload), (OP_PONG, b"p".to_vec()));
}

#[test]
fn burst_of_ten_pings_gets_ten_pongs_in_order() {
    let server = Server::start(&[]);
    let mut stream = server.open();
    let pings: Vec<RawFrame> = (0..10)
        .map(|i| RawFrame::ping(format!("ping-{i}")))
        .collect();
    send(&mut stream, &pings);
    for i in 0..10 {
        let frame = read_frame(&mut stream);
        assert_eq!(frame.opcode, OP_PONG, "frame {i}: {frame:?}");
        assert!(frame.fin);
        assert_eq!(frame.payload, format!("ping-{i}").as_bytes(), "pong {i}");
    }
    // Nothing else is pending: the next reply is the echo of a new message.
    send(&mut stream, &[RawFrame::text("done")]);
    assert_eq!(read_message(&mut stream), (OP_TEXT, b"done".to_vec()));
}

#[test]
fn ping_payloads_of_0_and_125_bytes_come_back_in_pongs() {
    let server = Server::start(&[]);
    let mut stream = server.open();
    for size in [0, 125] {
        send(&mut stream, &[RawFrame::ping(pattern(size))]);
        let frame = read_frame(&mut stream);
        assert_eq!(frame.opcode, OP_PONG, "{frame:?}");
        assert_eq!(frame.payload, pattern(size));
    }
}

#[test]
fn back_to_back_messages_are_echoed_in_order() {
    let server = Server::start(&[]);
    let mut stream = server.open();
    let frames: Vec<RawFrame> = (0..50)
        .map(|i| {
            if i % 2 == 0 {
                RawFrame::text(format!("message {i}"))
            } else {
                RawFrame::binary(pattern(i * 100))
            }
        })
        .collect();
    send(&mut stream, &frames);
    for i in 0..50 {
        let expected = if i % 2 == 0 {
            (OP_TEXT, format!("message {i}").into_bytes())
        } else {
            (OP_BINARY, pattern(i * 100))
        };
        assert!(read_message(&mut stream) == expected, "message {i} differs");
    }
}

#[test]
fn frames_delivered_one_byte_at_a_time_are_echoed() {
    let server = Server::start(&[]);
    let mut stream = server.open();
    // A 16-bit length, a ping and a fragmented message, split at every possible point.
    let bytes = concat(&[
        RawFrame::text(utf8_text(300)),
        RawFrame::ping("mid"),
        RawFrame::binary([1, 2, 3]).fin(false),
        RawFrame::cont([4, 5]),
    ]);
    // Paced, so that the kernel does not merge the writes back into larger reads.
    stream.set_nodelay(true).unwrap();
    for byte in bytes {
        stream.write_all(&[byte]).unwrap();
        thread::sleep(std::time::Duration::from_micros(500));
    }
    assert_eq!(
        read_message(&mut stream),
        (OP_TEXT, utf8_text(300).into_bytes())
    );
    let pong = read_frame(&mut stream);
    assert_eq!((pong.opcode, pong.payload), (OP_PONG, b"mid".to_vec()));
    assert_eq!(read_message(&mut stream), (OP_BINARY, vec![1, 2, 3, 4, 5]));
}

#[test]
fn many_concurrent_clients_are_each_echoed() {
    let server = Server::start(&[]);
    let clients: Vec<_> = (0..32)
        .map(|i| {
            let mut ws = server.client();
            thread::spawn(move || {
                for j in 0..20 {
                    let message = Message::binary(pattern(i * 1000 + j));
                    ws.send(message.clone()).unwrap();
                    assert_eq!(ws.read().unwrap(), message, "client {i} message {j}");
                }
            })
        })
        .collect();
    for client in clients {
        client.join().expect("client thread");
    }
}

/// Writes `bytes` in pieces of `piece` bytes with a pause between them, so that they
/// reach the server in separate reads.
fn dribble(stream: &mut std::net::TcpStream, bytes: &[u8], piece: usize) {
    for part in bytes.chunks(piece) {
        stream.write_all(part).unwrap();
        thread::sleep(std::time::Duration::from_millis(2));
    }
}

#[test]
fn a_text_frame_sent_a_byte_at_a_time_comes_back_as_one_frame() {
    let server = Server::start(&[]);
    let mut stream = server.open();
    dribble(&mut stream, &RawFrame::text("héllo").encode(), 1);
    let echo = read_frame(&mut stream);
    assert_eq!(
        (echo.fin, echo.opcode, echo.payload),
        (true, OP_TEXT, "héllo".as_bytes().to_vec())
    );
}

#[test]
fn a_binary_frame_sent_in_pieces_comes_back_as_one_frame() {
    let server = Server::start(&[]);
    let mut stream = server.open();
    let payload = pattern(64 << 10);
    dribble(&mut stream, &RawFrame::binary(&payload).encode(), 8000);
    let echo = read_frame(&mut stream);
    assert_eq!((echo.fin, echo.opcode), (true, OP_BINARY));
    assert!(echo.payload == payload, "wrong payload");
}

#[test]
fn each_fragment_of_a_message_comes_back_as_one_frame() {
    let server = Server::start(&["--max-held-frame", "1000"]);
    let mut stream = server.open();
    let frames = [
        RawFrame::text("first ").fin(false),
        RawFrame::cont(utf8_text(900)).fin(false),
        RawFrame::ping("between"),
        RawFrame::cont("last"),
    ];
    dribble(&mut stream, &concat(&frames), 7);
    for sent in &frames {
        let echo = read_frame(&mut stream);
        let opcode = if sent.opcode == OP_PING {
            OP_PONG
        } else {
            sent.opcode
        };
        assert_eq!((echo.fin, echo.opcode), (sent.fin, opcode));
        assert!(echo.payload == sent.payload, "payload of {echo:?}");
    }
}
