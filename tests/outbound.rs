//! The client role proved against wsecho itself: the real binary, and an outbound
//! connection through wsecho's own layers (TCP, TLS client with ALPN http/1.1, the
//! HTTP/1.1 upgrade request, masked frames), over `ws://` and `wss://`. Each echoes a
//! text and a 70 KiB binary message, then closes with 1000: the server answers, closes
//! TCP first (RFC 6455 §7.1.1), and logs that the client closed with 1000.

mod common;

use std::time::Duration;

use common::tls::TlsServer;
use common::*;
use rustls::pki_types::ServerName;
use wsecho::fuzzing::client::{ClientEvent, ClientOptions, Outbound, Target, connect};
use wsecho::fuzzing::frame::{CloseCode, Opcode};
use wsecho::fuzzing::tls::setup::client_config;

/// Bound on each wait for an event.
const WAIT: Duration = Duration::from_secs(10);

fn next(client: &mut Outbound) -> ClientEvent {
    client
        .next_event(WAIT)
        .expect("an event in time")
        .expect("the connection is not over yet")
}

/// The exchange both tests make once the upgrade is done: echo a text and a 70 KiB
/// binary message, close with 1000, see the server's close and its TCP close, and the
/// server's log line for the connection.
fn echo_and_close(mut client: Outbound, server: &Server) {
    let text = utf8_text(300);
    client
        .send(Opcode::Text, text.as_bytes())
        .expect("send text");
    assert_eq!(
        next(&mut client),
        ClientEvent::Message {
            opcode: Opcode::Text,
            data: text.into_bytes()
        }
    );
    let binary = pattern(70 << 10);
    client.send(Opcode::Binary, &binary).expect("send binary");
    match next(&mut client) {
        ClientEvent::Message { opcode, data } => {
            assert_eq!(opcode, Opcode::Binary);
            assert!(
                data == binary,
                "the 70 KiB echo differs ({} bytes)",
                data.len()
            );
        }
        other => panic!("expected the binary echo, got {other:?}"),
    }
    client.close(CloseCode::NORMAL, "done").expect("close");
    assert_eq!(
        next(&mut client),
        ClientEvent::Closed {
            code: Some(CloseCode::NORMAL),
            reason: String::new()
        }
    );
    assert_eq!(
        next(&mut client),
        ClientEvent::Ended { server_first: true },
        "§7.1.1: the server closes TCP first"
    );
    assert_eq!(client.next_event(WAIT).expect("no error"), None);
    let log = server.wait_for_log("client closed with 1000, answered", 1, WAIT);
    assert!(
        log.lines()
            .any(|l| l.contains(": ended after ")
                && l.ends_with("client closed with 1000, answered")),
        "{log}"
    );
}

#[test]
fn a_client_through_the_layers_echoes_and_closes_over_ws() {
    let server = Server::start(&[]);
    let target = Target {
        addr: server.addr(),
        options: ClientOptions::new(server.host(), "/"),
        tls: None,
    };
    let mut client = connect(target, WAIT).expect("connect");
    assert_eq!(next(&mut client), ClientEvent::Opened { protocol: None });
    assert_eq!(client.tls_negotiated(), None);
    echo_and_close(client, &server);
}

#[test]
fn a_client_through_the_layers_echoes_and_closes_over_wss() {
    let tls = TlsServer::start(&[]);
    // Trusting exactly the certificate the server wrote: verification stays on.
    let config = client_config([tls.cert.clone()]).expect("a client configuration");
    let target = Target {
        addr: tls.server.addr(),
        options: ClientOptions::new(tls.server.host(), "/"),
        tls: Some((
            config.into(),
            ServerName::try_from("localhost").expect("a name"),
        )),
    };
    let mut client = connect(target, WAIT).expect("connect");
    assert_eq!(next(&mut client), ClientEvent::Opened { protocol: None });
    let negotiated = client.tls_negotiated().expect("TLS");
    assert!(negotiated.ends_with("ALPN http/1.1"), "{negotiated}");
    echo_and_close(client, &tls.server);
}
