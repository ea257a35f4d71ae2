//! The opening handshake (RFC 6455 §4.2) and the HTTP answers around it.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use tungstenite::Message;
use tungstenite::handshake::derive_accept_key;

/// Sends a request on a fresh connection and asserts a 101 whose accept key matches.
fn expect_upgrade(server: &Server, request: &Request) -> std::net::TcpStream {
    let mut stream = server.connect();
    stream.write_all(&request.to_bytes()).unwrap();
    let response = read_response_head(&mut stream);
    assert_eq!(response.status, 101, "for {request:?}: {response:?}");
    let key = request
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("Sec-WebSocket-Key"))
        .map(|(_, v)| v.as_str())
        .unwrap();
    assert_eq!(
        response.header("Sec-WebSocket-Accept"),
        Some(derive_accept_key(key.as_bytes()).as_str())
    );
    stream
}

/// Asserts an upgraded raw connection echoes a text frame.
fn assert_echoes(stream: &mut std::net::TcpStream, text: &str) {
    send(stream, &[RawFrame::text(text)]);
    assert_eq!(read_message(stream), (OP_TEXT, text.as_bytes().to_vec()));
}

#[test]
fn valid_upgrade_gets_101_with_accept_key() {
    let server = Server::start(&[]);
    let mut stream = server.connect();
    stream
        .write_all(&Request::upgrade(&server.host()).to_bytes())
        .unwrap();
    let response = read_response_head(&mut stream);
    assert_eq!(response.status, 101, "{response:?}");
    assert_eq!(response.version, "HTTP/1.1");
    assert_eq!(derive_accept_key(SAMPLE_KEY.as_bytes()), SAMPLE_ACCEPT);
    assert_eq!(response.header("Sec-WebSocket-Accept"), Some(SAMPLE_ACCEPT));
    assert_eq!(response.tokens("Upgrade"), ["websocket"]);
    assert!(
        response
            .tokens("Connection")
            .contains(&"upgrade".to_string())
    );
    assert_eq!(
        response.header("Sec-WebSocket-Extensions"),
        None,
        "no extension was offered, none may be accepted"
    );
    assert_echoes(&mut stream, "after the handshake");

    // A second, different key gets its own accept value.
    let key = "AQIDBAUGBwgJCgsMDQ4PEA==";
    let request = Request::upgrade(&server.host()).set("Sec-WebSocket-Key", key);
    let mut other = expect_upgrade(&server, &request);
    assert_echoes(&mut other, "second key");
}

#[test]
fn upgrade_token_is_case_insensitive() {
    let server = Server::start(&[]);
    for value in ["WebSocket", "WEBSOCKET", "websocket", "webSocket"] {
        let request = Request::upgrade(&server.host()).set("Upgrade", value);
        let mut stream = expect_upgrade(&server, &request);
        assert_echoes(&mut stream, value);
    }
}

#[test]
fn connection_header_token_list_is_accepted() {
    let server = Server::start(&[]);
    for value in [
        "keep-alive, Upgrade",
        "Upgrade, keep-alive",
        "keep-alive,upgrade",
        "UPGRADE",
    ] {
        let request = Request::upgrade(&server.host()).set("Connection", value);
        let mut stream = expect_upgrade(&server, &request);
        assert_echoes(&mut stream, value);
    }
}

#[test]
fn missing_host_is_400() {
    let server = Server::start(&[]);
    let request = Request::upgrade(&server.host()).remove("Host");
    let response = expect_refused(&server, &request.to_bytes());
    assert_eq!(response.status, 400, "{response:?}");
}

#[test]
fn post_is_refused_with_4xx_and_body() {
    let server = Server::start(&[]);
    let request = Request::upgrade(&server.host())
        .method("POST")
        .set("Content-Length", "0");
    let response = expect_refused(&server, &request.to_bytes());
    assert!(
        response.status == 405 || response.status == 400,
        "{response:?}"
    );
    assert!(!response.body.is_empty(), "refusal without a body");
    if response.status == 405 {
        // RFC 9110 §15.5.6: a 405 must carry Allow.
        assert!(
            response.tokens("Allow").contains(&"get".to_string()),
            "405 without `Allow: GET`: {response:?}"
        );
    }
}

#[test]
fn http_1_0_is_400() {
    let server = Server::start(&[]);
    let request = Request::upgrade(&server.host()).version("HTTP/1.0");
    let response = expect_refused(&server, &request.to_bytes());
    assert_eq!(response.status, 400, "{response:?}");
}

#[test]
fn missing_key_is_400() {
    let server = Server::start(&[]);
    let request = Request::upgrade(&server.host()).remove("Sec-WebSocket-Key");
    let response = expect_refused(&server, &request.to_bytes());
    assert_eq!(response.status, 400, "{response:?}");
}

#[test]
fn key_that_is_not_base64_of_16_bytes_is_400() {
    let server = Server::start(&[]);
    for key in [
        "",
        "not base64 at all!",
        "dGhlIHNhbXBsZSBub25j!Q==",         // invalid character
        "AAAAAAAAAAAAAAAAAAAA",             // 15 bytes
        "AAAAAAAAAAAAAAAAAAAAAAA=",         // 17 bytes
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", // 24 bytes
    ] {
        let request = Request::upgrade(&server.host()).set("Sec-WebSocket-Key", key);
        let response = expect_refused(&server, &request.to_bytes());
        assert_eq!(response.status, 400, "key {key:?}: {response:?}");
    }
}

#[test]
fn version_8_is_426_naming_version_13() {
    let server = Server::start(&[]);
    let request = Request::upgrade(&server.host()).set("Sec-WebSocket-Version", "8");
    let response = expect_refused(&server, &request.to_bytes());
    assert_eq!(response.status, 426, "{response:?}");
    assert_eq!(response.tokens("Sec-WebSocket-Version"), ["13"]);
}

#[test]
fn plain_get_gets_200_page_mentioning_websocket() {
    let server = Server::start(&[]);
    let mut stream = server.connect();
    stream
        .write_all(&Request::plain_get(&server.host()).to_bytes())
        .unwrap();
    let response = read_response(&mut stream);
    assert_eq!(response.status, 200, "{response:?}");
    let content_type = response.header("Content-Type").unwrap_or_default();
    assert!(
        content_type.starts_with("text/"),
        "Content-Type {content_type:?}"
    );
    assert!(
        response.body_text().to_lowercase().contains("websocket"),
        "body does not mention WebSocket: {:?}",
        response.body_text()
    );
}

/// What a plain request (no upgrade) for `target` by `method` gets.
fn plain(server: &Server, method: &str, target: &str) -> Response {
    let mut stream = server.connect();
    let mut request = Request::plain_get(&server.host()).method(method);
    request.target = target.into();
    stream.write_all(&request.to_bytes()).unwrap();
    // The body is what comes before the server closes (none for HEAD).
    let mut response = read_response_head(&mut stream);
    std::io::Read::read_to_end(&mut stream, &mut response.body).expect("the body, then EOF");
    response
}

#[test]
fn unknown_paths_get_404_and_healthz_answers_ok() {
    let server = Server::start(&[]);
    for target in ["/nope", "/favicon.ico", "/metricsx"] {
        let response = plain(&server, "GET", target);
        assert_eq!(response.status, 404, "{target}");
        assert!(
            response
                .body_text()
                .contains(&format!("nothing at {target}")),
            "{target}: {}",
            response.body_text()
        );
    }
    let health = plain(&server, "GET", "/healthz");
    assert_eq!((health.status, health.body_text().as_str()), (200, "ok\n"));
    // WebSocket clients still upgrade on any path.
    let mut request = Request::upgrade(&server.host());
    request.target = "/nope".into();
    expect_upgrade(&server, &request);
}

#[test]
fn head_is_answered_like_get_without_a_body() {
    let server = Server::start(&[]);
    for (target, status) in [
        ("/", 200),
        ("/healthz", 200),
        ("/metrics", 200),
        ("/x", 404),
    ] {
        let get = plain(&server, "GET", target);
        let head = plain(&server, "HEAD", target);
        assert_eq!((head.status, get.status), (status, status), "{target}");
        assert!(head.body.is_empty(), "{target}: a HEAD answer has no body");
        let length: usize = head.header("Content-Length").unwrap().parse().unwrap();
        if target != "/metrics" {
            // (The metrics change between the two requests.)
            assert_eq!(length, get.body.len(), "{target}");
        }
    }
    // A handshake must still be a GET.
    let request = Request::upgrade(&server.host()).method("HEAD");
    let response = expect_refused(&server, &request.to_bytes());
    assert_eq!(response.status, 405);
    assert_eq!(response.header("Allow"), Some("GET, HEAD"));
}

/// A valid upgrade request padded with an `X-Pad` header to exactly `total` bytes of head.
fn padded_request(server: &Server, total: usize) -> Request {
    let base = Request::upgrade(&server.host())
        .set("X-Pad", "")
        .to_bytes()
        .len();
    let request = Request::upgrade(&server.host()).set("X-Pad", &"x".repeat(total - base));
    assert_eq!(request.to_bytes().len(), total);
    request
}

#[test]
fn header_over_max_header_size_is_431() {
    let server = Server::start(&["--max-header-size", "1024"]);
    // A head of exactly the limit is fine...
    let mut stream = expect_upgrade(&server, &padded_request(&server, 1024));
    assert_echoes(&mut stream, "at the header limit");
    // ...one byte more is 431, and so is much more.
    for total in [1025, 2000] {
        let over = padded_request(&server, total);
        let response = expect_refused(&server, &over.to_bytes());
        assert_eq!(response.status, 431, "{total}-byte head: {response:?}");
    }
}

#[test]
fn default_max_header_size_is_8192() {
    let server = Server::start(&[]);
    expect_upgrade(&server, &padded_request(&server, 8192));
    let over = padded_request(&server, 8193);
    let response = expect_refused(&server, &over.to_bytes());
    assert_eq!(response.status, 431, "{response:?}");
}

#[test]
fn header_names_are_case_insensitive() {
    let server = Server::start(&[]);
    let mut request = Request::upgrade(&server.host());
    for (name, _) in &mut request.headers {
        *name = name.to_ascii_lowercase();
    }
    let mut stream = expect_upgrade(&server, &request);
    assert_echoes(&mut stream, "lowercase names");
}

#[test]
fn repeated_singleton_headers_are_400() {
    // RFC 6455 §11.3.1 and §11.3.5 (key, version), RFC 9112 §3.2 (Host).
    let server = Server::start(&[]);
    for (name, value) in [
        ("Sec-WebSocket-Key", "AQIDBAUGBwgJCgsMDQ4PEA=="),
        ("Sec-WebSocket-Version", "13"),
        ("Host", "elsewhere.example"),
    ] {
        let mut request = Request::upgrade(&server.host());
        request.headers.push((name.into(), value.into()));
        let response = expect_refused(&server, &request.to_bytes());
        assert_eq!(response.status, 400, "second {name}: {response:?}");
    }
}

#[test]
fn request_sent_one_byte_at_a_time_is_accepted() {
    let server = Server::start(&[]);
    let mut stream = server.connect();
    for byte in Request::upgrade(&server.host()).to_bytes() {
        stream.write_all(&[byte]).unwrap();
        thread::sleep(Duration::from_millis(1));
    }
    let response = read_response_head(&mut stream);
    assert_eq!(response.status, 101, "{response:?}");
    assert_eq!(response.header("Sec-WebSocket-Accept"), Some(SAMPLE_ACCEPT));
    assert_echoes(&mut stream, "slowly");
}

#[test]
fn frames_pipelined_after_request_are_echoed() {
    let server = Server::start(&[]);
    let mut stream = server.connect();
    let mut bytes = Request::upgrade(&server.host()).to_bytes();
    bytes.extend(concat(&[
        RawFrame::text("right behind the request"),
        RawFrame::binary([0u8, 1, 2, 255]),
    ]));
    stream.write_all(&bytes).unwrap();
    let response = read_response_head(&mut stream);
    assert_eq!(response.status, 101, "{response:?}");
    assert_eq!(
        read_message(&mut stream),
        (OP_TEXT, b"right behind the request".to_vec())
    );
    assert_eq!(read_message(&mut stream), (OP_BINARY, vec![0, 1, 2, 255]));
}

#[test]
fn malformed_request_is_answered_400_then_closed() {
    let server = Server::start(&[]);
    let response = expect_refused(&server, b"THIS IS NOT HTTP\r\n\r\n");
    assert_eq!(response.status, 400, "{response:?}");
}

#[test]
fn handshake_timeout_drops_half_request_while_others_work() {
    let server = Server::start(&["--handshake-timeout", "0.5"]);
    let mut slow = server.connect();
    let full = Request::upgrade(&server.host()).to_bytes();
    slow.write_all(&full[..full.len() / 2]).unwrap();
    let start = Instant::now();

    // While the half request is pending, another client is served.
    let mut ws = server.client();
    ws.send(Message::text("meanwhile")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("meanwhile"));

    // The half request is dropped after about 0.5 s; a 408 before the close is tolerated.
    slow.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut rest = Vec::new();
    match slow.read_to_end(&mut rest) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("half request not dropped within 3 s: {e}"),
    }
    let elapsed = start.elapsed();
    assert!(
        elapsed >= Duration::from_millis(400),
        "dropped too early: {elapsed:?}"
    );
    assert!(
        elapsed <= Duration::from_millis(2500),
        "dropped too late: {elapsed:?}"
    );
    if !rest.is_empty() {
        let text = String::from_utf8_lossy(&rest);
        assert!(
            text.starts_with("HTTP/1.1 408"),
            "unexpected answer: {text:?}"
        );
    }

    // The established connection outlives the handshake timeout.
    ws.send(Message::text("still here")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("still here"));
}

#[test]
fn handshake_timeout_bounds_the_whole_request_not_each_read() {
    let server = Server::start(&["--handshake-timeout", "0.5"]);
    let mut stream = server.connect();
    let request = padded_request(&server, 1000).to_bytes();
    let start = Instant::now();
    // One byte every 10 ms keeps every read short but the request would take 10 s.
    let mut write_failed = false;
    for byte in request {
        if stream.write_all(&[byte]).is_err() {
            write_failed = true;
            break;
        }
        thread::sleep(Duration::from_millis(10));
        if start.elapsed() > Duration::from_millis(2500) {
            break;
        }
    }
    if !write_failed {
        // The kernel may still accept writes after the peer closed; then reading tells.
        assert_server_closes(&mut stream, Duration::from_millis(100));
    }
    let elapsed = start.elapsed();
    assert!(
        elapsed <= Duration::from_millis(2500),
        "trickling client kept for {elapsed:?}"
    );
    // Not dropped at once either: the client had its 0.5 s.
    assert!(
        elapsed >= Duration::from_millis(400),
        "trickling client dropped after only {elapsed:?}"
    );
}

/// A machine without IPv6 loopback fails this test unless it says so with
/// `WSECHO_SKIP_IPV6=1`: a skip is chosen, never taken silently as a pass.
#[test]
fn ipv6_loopback_works() {
    if TcpListener::bind("[::1]:0").is_err() {
        assert!(
            std::env::var_os("WSECHO_SKIP_IPV6").is_some(),
            "no IPv6 loopback on this machine: set WSECHO_SKIP_IPV6=1 to skip this test"
        );
        eprintln!("skipped: no IPv6 loopback (WSECHO_SKIP_IPV6 is set)");
        return;
    }
    let server = Server::try_start("::1", &[]).unwrap_or_else(|e| panic!("{e}"));
    assert!(server.addr().is_ipv6(), "listening on {}", server.addr());
    assert!(server.url().starts_with("ws://[::1]:"), "{}", server.url());
    let mut ws = server.client();
    ws.send(Message::binary(vec![6u8; 6])).unwrap();
    assert_eq!(ws.read().unwrap(), Message::binary(vec![6u8; 6]));
}

#[test]
fn no_deflate_declines_permessage_deflate_offer() {
    let server = Server::start(&["--no-deflate"]);
    let request =
        Request::upgrade(&server.host()).set("Sec-WebSocket-Extensions", "permessage-deflate");
    let mut stream = server.connect();
    stream.write_all(&request.to_bytes()).unwrap();
    let response = read_response_head(&mut stream);
    assert_eq!(response.status, 101);
    assert_eq!(response.header("Sec-WebSocket-Extensions"), None);
    // With no extension negotiated, RSV1 is a protocol error.
    send(&mut stream, &[RawFrame::text("x").rsv(0b100)]);
    expect_fail(&mut stream, 1002, &["rsv", "reserved"]);
}

/// The Sec-WebSocket-Protocol answer to `offer` (a 101 is asserted), if any.
fn chosen_subprotocol(server: &Server, offer: &[&str]) -> Option<String> {
    let mut request = Request::upgrade(&server.host());
    for value in offer {
        // Each value on a header line of its own (§4.1 allows several).
        request
            .headers
            .push(("Sec-WebSocket-Protocol".into(), value.to_string()));
    }
    let mut stream = server.connect();
    stream.write_all(&request.to_bytes()).unwrap();
    let response = read_response_head(&mut stream);
    assert_eq!(response.status, 101, "for {offer:?}: {response:?}");
    assert_echoes(&mut stream, "with a subprotocol or without");
    response.header("Sec-WebSocket-Protocol").map(str::to_owned)
}

#[test]
fn the_clients_first_subprotocol_is_chosen_by_default() {
    let server = Server::start(&[]);
    assert_eq!(chosen_subprotocol(&server, &[]), None);
    assert_eq!(
        chosen_subprotocol(&server, &["chat, superchat"]).as_deref(),
        Some("chat")
    );
    assert_eq!(
        chosen_subprotocol(&server, &["v2.bin", "v1.bin"]).as_deref(),
        Some("v2.bin")
    );
    // tungstenite checks the answer is one it offered.
    let mut request =
        tungstenite::client::IntoClientRequest::into_client_request(server.url()).unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", "graphql-ws".parse().unwrap());
    let (mut ws, response) = tungstenite::client(request, server.connect()).unwrap();
    assert_eq!(response.headers()["Sec-WebSocket-Protocol"], "graphql-ws");
    ws.send(Message::text("subscribed")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("subscribed"));
}

#[test]
fn listed_subprotocols_are_chosen_in_the_servers_order_or_none() {
    let server = Server::start(&["--subprotocol", "mqtt", "--subprotocol", "chat"]);
    assert_eq!(
        chosen_subprotocol(&server, &["chat, mqtt"]).as_deref(),
        Some("mqtt")
    );
    assert_eq!(
        chosen_subprotocol(&server, &["chat"]).as_deref(),
        Some("chat")
    );
    // None of ours: the upgrade still succeeds, with no subprotocol (§4.2.2 allows it).
    assert_eq!(chosen_subprotocol(&server, &["stomp"]), None);
    assert_eq!(chosen_subprotocol(&server, &[]), None);
}

#[test]
fn a_malformed_subprotocol_offer_is_400_naming_it() {
    let server = Server::start(&[]);
    for (offer, words) in [
        (
            "chat, super chat",
            "\"super chat\" is not a subprotocol name",
        ),
        ("chat;v=2", "\"chat;v=2\" is not a subprotocol name"),
        ("chat, chat", "\"chat\" is offered twice"),
        (" , ", "names no subprotocol"),
    ] {
        let response = expect_refused(
            &server,
            &Request::upgrade(&server.host())
                .set("Sec-WebSocket-Protocol", offer)
                .to_bytes(),
        );
        assert_eq!(response.status, 400, "{offer}");
        assert!(
            response.body_text().contains(words),
            "{offer}: {}",
            response.body_text()
        );
    }
}
