//! The client against a scripted server: the h2 crate's own server side on a loopback
//! port, each path a behaviour (frames cut into odd DATA sizes, more than a window's
//! worth, resets, a masked frame, END_STREAM inside a frame).

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use h2::server::SendResponse;
use h2::{RecvStream, SendStream};

use super::*;
use crate::frames::{OP_BINARY, OP_TEXT, RawFrame, server_frame};

const WAIT: Duration = Duration::from_secs(5);

/// Starts a server on its own thread and runtime, serving connections until the test
/// process ends; SETTINGS_ENABLE_CONNECT_PROTOCOL only if `connect_protocol`.
fn server(connect_protocol: bool) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                tokio::spawn(async move {
                    let mut builder = h2::server::Builder::new();
                    if connect_protocol {
                        builder.enable_connect_protocol();
                    }
                    let mut conn = builder.handshake::<_, Bytes>(tcp).await.unwrap();
                    while let Some(Ok((request, respond))) = conn.accept().await {
                        tokio::spawn(serve(request, respond));
                    }
                });
            }
        });
    });
    addr
}

/// Sends `data` as DATA in pieces of at most `piece` bytes, within the window.
async fn send_all(send: &mut SendStream<Bytes>, data: &[u8], piece: usize, end: bool) {
    for chunk in data.chunks(piece) {
        let mut chunk = Bytes::copy_from_slice(chunk);
        while !chunk.is_empty() {
            send.reserve_capacity(chunk.len());
            let granted = std::future::poll_fn(|cx| send.poll_capacity(cx))
                .await
                .unwrap()
                .unwrap();
            let part = chunk.split_to(granted.min(chunk.len()));
            send.send_data(part, false).unwrap();
        }
    }
    if end {
        send.send_data(Bytes::new(), true).unwrap();
    }
}

/// Reads the request's DATA to its end, giving back window; the byte count.
async fn drain(body: &mut RecvStream) -> usize {
    let mut total = 0;
    while let Some(Ok(data)) = body.data().await {
        total += data.len();
        body.flow_control().release_capacity(data.len()).unwrap();
    }
    total
}

async fn serve(request: http::Request<RecvStream>, mut respond: SendResponse<Bytes>) {
    let path = request.uri().path().to_owned();
    let protocol = request
        .extensions()
        .get::<h2::ext::Protocol>()
        .map(|p| p.as_str().to_owned());
    let mut body = request.into_body();
    if path == "/refuse" {
        respond.send_reset(h2::Reason::REFUSED_STREAM);
        return;
    }
    let ok = http::Response::builder()
        .status(200)
        .header("x-protocol", protocol.as_deref().unwrap_or("none"))
        .body(())
        .unwrap();
    let mut send = respond.send_response(ok, false).unwrap();
    match path.as_str() {
        "/page" => send_all(&mut send, b"<!doctype html>", 1000, true).await,
        // Two frames cut into 3-byte DATA frames.
        "/split" => {
            let mut wire = server_frame(true, 0, OP_TEXT, b"split across DATA");
            wire.extend(server_frame(true, 0, OP_BINARY, &[7; 300]));
            send_all(&mut send, &wire, 3, true).await;
        }
        // Four windows' worth in one frame: only given back window lets it through.
        "/big" => {
            let wire = server_frame(true, 0, OP_BINARY, &vec![0xab; 4 * 65535]);
            send_all(&mut send, &wire, 16384, true).await;
        }
        "/masked" => {
            let wire = RawFrame::text("x").encode();
            send_all(&mut send, &wire, 1000, true).await;
        }
        "/cut" => {
            let wire = server_frame(true, 0, OP_TEXT, b"cut short");
            send_all(&mut send, &wire[..5], 1000, true).await;
        }
        "/cut-reset" => {
            let wire = server_frame(true, 0, OP_TEXT, b"cut short");
            send_all(&mut send, &wire[..5], 1000, false).await;
            tokio::time::sleep(Duration::from_millis(50)).await;
            send.send_reset(h2::Reason::INTERNAL_ERROR);
        }
        "/reset" => {
            send_all(
                &mut send,
                &server_frame(true, 0, OP_TEXT, b"bye"),
                1000,
                false,
            )
            .await;
            // A reset drops what the h2 crate has not yet written: let it go first.
            tokio::time::sleep(Duration::from_millis(50)).await;
            send.send_reset(h2::Reason::PROTOCOL_ERROR);
        }
        // Counts what the client sends, answers the count as a text frame and ends.
        _ => {
            let total = drain(&mut body).await;
            let answer = server_frame(true, 0, OP_TEXT, total.to_string().as_bytes());
            send_all(&mut send, &answer, 1000, true).await;
        }
    }
}

fn ws(conn: &H2Connection, path: &str) -> H2WebSocket {
    let (response, ws) = conn
        .open_websocket(path, &[("sec-websocket-version", "13")])
        .unwrap();
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.header("x-protocol"), Some("websocket"));
    ws
}

#[test]
fn the_servers_setting_is_seen_before_connect_returns() {
    assert!(
        H2Connection::connect(server(true))
            .unwrap()
            .extended_connect_enabled()
    );
    assert!(
        !H2Connection::connect(server(false))
            .unwrap()
            .extended_connect_enabled()
    );
}

#[test]
fn frames_are_put_together_from_data_cut_anywhere() {
    let conn = H2Connection::connect(server(true)).unwrap();
    let mut ws = ws(&conn, "/split");
    let first = ws.recv_frame(WAIT).unwrap().unwrap();
    assert_eq!(
        (first.opcode, &first.payload[..]),
        (OP_TEXT, &b"split across DATA"[..])
    );
    let second = ws.recv_frame(WAIT).unwrap().unwrap();
    assert_eq!((second.opcode, second.payload), (OP_BINARY, vec![7; 300]));
    assert_eq!(ws.recv_end(WAIT).unwrap(), StreamEnd::End);
    assert_eq!(ws.recv_frame(WAIT).unwrap(), None, "the end stays");
}

#[test]
fn window_is_given_back_as_data_is_read() {
    let conn = H2Connection::connect(server(true)).unwrap();
    let mut ws = ws(&conn, "/big");
    let frame = ws.recv_frame(WAIT).unwrap().unwrap();
    assert_eq!(frame.payload.len(), 4 * 65535);
    assert_eq!(ws.recv_end(WAIT).unwrap(), StreamEnd::End);
}

#[test]
fn sends_wait_for_window_and_streams_run_side_by_side() {
    let conn = H2Connection::connect(server(true)).unwrap();
    let mut streams: Vec<H2WebSocket> = (0..4).map(|_| ws(&conn, "/count")).collect();
    let ids: Vec<u32> = streams.iter().map(H2WebSocket::stream_id).collect();
    assert_eq!(ids, [1, 3, 5, 7]);
    // 5 x 40000 bytes a stream, interleaved: 200000 each, well past the 65535 windows.
    for _ in 0..5 {
        for s in &mut streams {
            s.send(&[1; 40000]).unwrap();
        }
    }
    for s in &mut streams {
        s.send_end().unwrap();
    }
    for s in &mut streams {
        let count = s.recv_frame(WAIT).unwrap().unwrap();
        assert_eq!(count.payload, b"200000");
        assert_eq!(s.recv_end(WAIT).unwrap(), StreamEnd::End);
    }
}

#[test]
fn a_reset_is_read_with_its_code_after_the_frames_before_it() {
    let conn = H2Connection::connect(server(true)).unwrap();
    let mut ws = ws(&conn, "/reset");
    // The reset arrives before the frame is read: the frame is still there.
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(ws.recv_frame(WAIT).unwrap().unwrap().payload, b"bye");
    assert_eq!(
        ws.recv_end(WAIT).unwrap(),
        StreamEnd::Reset(Reason::PROTOCOL_ERROR)
    );
    let err = ws.recv_frame(WAIT).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
}

#[test]
fn a_request_reset_instead_of_answered_says_with_what() {
    let conn = H2Connection::connect(server(true)).unwrap();
    let err = conn
        .open_websocket("/refuse", &[("sec-websocket-version", "13")])
        .err()
        .expect("a reset, not a response");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
    assert_eq!(
        stream_end_of(&err),
        Some(StreamEnd::Reset(Reason::REFUSED_STREAM))
    );
    // The connection lives on.
    assert_eq!(conn.get("/page").unwrap().1, b"<!doctype html>");
}

#[test]
fn what_no_server_may_send_is_an_error() {
    let conn = H2Connection::connect(server(true)).unwrap();
    let err = ws(&conn, "/masked").recv_frame(WAIT).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("masked"), "{err}");
    let err = ws(&conn, "/cut").recv_frame(WAIT).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert!(
        err.to_string().contains("END_STREAM 5 bytes into a frame"),
        "{err}"
    );
    // A reset may cut a frame short: it is read as the reset.
    assert_eq!(
        ws(&conn, "/cut-reset").recv_end(WAIT).unwrap(),
        StreamEnd::Reset(Reason::INTERNAL_ERROR)
    );
}

#[test]
fn waiting_in_vain_times_out_and_a_get_reads_the_body() {
    let mut conn = H2Connection::connect(server(true)).unwrap();
    let mut ws = ws(&conn, "/count");
    ws.expect_nothing(Duration::from_millis(100)).unwrap();
    let (response, body) = conn.get("/page").unwrap();
    assert_eq!((response.status, &body[..]), (200, &b"<!doctype html>"[..]));
    assert_eq!(response.header("x-protocol"), Some("none"));
    assert!(conn.ping(WAIT).unwrap() < WAIT);
    assert_eq!(conn.end_now(), None);
    ws.send_end().unwrap();
    assert_eq!(ws.recv_frame(WAIT).unwrap().unwrap().payload, b"0");
}

#[test]
fn dropping_the_connection_keeps_its_streams_working() {
    let conn = H2Connection::connect(server(true)).unwrap();
    let mut ws = ws(&conn, "/count");
    drop(conn);
    ws.send(b"abc").unwrap();
    ws.send_end().unwrap();
    assert_eq!(ws.recv_frame(WAIT).unwrap().unwrap().payload, b"3");
}

#[test]
fn end_stream_rides_on_the_last_data_or_an_empty_frame() {
    let conn = H2Connection::connect(server(true)).unwrap();
    for (payload, count) in [(&[5u8; 100_000][..], &b"100000"[..]), (&[], b"0")] {
        let mut ws = ws(&conn, "/count");
        ws.send_last(payload).unwrap();
        assert!(ws.end_sent());
        assert_eq!(ws.recv_frame(WAIT).unwrap().unwrap().payload, count);
        assert_eq!(ws.recv_end(WAIT).unwrap(), StreamEnd::End);
    }
}
