//! `GET /metrics` on the real binary: the counters follow the traffic a raw client makes,
//! and a WebSocket client that asks for /metrics still gets a WebSocket.

mod common;

use std::io::Write;

use common::*;

#[test]
fn the_counters_follow_the_traffic() {
    let server = Server::start(&[]);
    let mut stream = server.open();
    send(
        &mut stream,
        &[
            RawFrame::text("one"),
            RawFrame::binary([1, 2]),
            RawFrame::ping("p"),
        ],
    );
    assert_eq!(read_message(&mut stream).1, b"one");
    assert_eq!(read_message(&mut stream).1, [1, 2]);
    assert_eq!(read_frame(&mut stream).opcode, OP_PONG);
    send(&mut stream, &[RawFrame::close(4000, "done")]);
    assert_eq!(expect_close(&mut stream).code, Some(4000));
    drop(stream);
    let mut bad = server.open();
    send(&mut bad, &[RawFrame::text("x").unmasked()]);
    assert_eq!(expect_close(&mut bad).code, Some(1002));
    drop(bad);
    let refused = Request::upgrade(&server.host()).set("Sec-WebSocket-Version", "12");
    expect_refused(&server, &refused.to_bytes());
    // The closed connections' counts are added when the server drops them; the scrape
    // is then the one connection open.
    let log = server.wait_for_log(": ended after", 3, CLOSE_BOUND);
    assert_eq!(log.matches(": ended after").count(), 3, "{log}");

    let (status, ctype, body) = scrape_metrics(&server);
    assert_eq!(status, 200);
    assert_eq!(
        ctype,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(body.ends_with("# EOF\n"), "{body}");
    for (sample, want) in [
        ("wsecho_connections_total", 4),
        ("wsecho_connections_open", 1),
        ("wsecho_handshakes_total{outcome=\"upgraded\"}", 2),
        ("wsecho_handshakes_total{outcome=\"refused\"}", 1),
        ("wsecho_handshakes_total{outcome=\"metrics\"}", 1),
        ("wsecho_handshakes_refused_total{status=\"426\"}", 1),
        ("wsecho_messages_total{opcode=\"text\"}", 1),
        ("wsecho_messages_total{opcode=\"binary\"}", 1),
        ("wsecho_payload_bytes_total", 5),
        (
            "wsecho_control_frames_total{opcode=\"ping\",direction=\"in\"}",
            1,
        ),
        ("wsecho_closes_total{code=\"4000\",initiator=\"client\"}", 1),
        ("wsecho_closes_total{code=\"1002\",initiator=\"server\"}", 1),
        ("wsecho_failures_total{violation=\"unmasked_frame\"}", 1),
    ] {
        assert_eq!(metric_value(&body, sample), want, "{sample} in:\n{body}");
    }
    assert!(metric_value(&body, "wsecho_bytes_total{direction=\"in\"}") > 0);
}

#[test]
fn a_websocket_client_asking_for_metrics_gets_a_websocket() {
    let server = Server::start(&[]);
    let mut stream = server.connect();
    let mut request = Request::upgrade(&server.host()).to_bytes();
    let text = String::from_utf8(request.clone()).unwrap();
    request = text.replacen("GET / ", "GET /metrics ", 1).into_bytes();
    stream.write_all(&request).unwrap();
    assert_eq!(read_response_head(&mut stream).status, 101);
    send(&mut stream, &[RawFrame::text("hi")]);
    assert_eq!(read_message(&mut stream).1, b"hi");
}
