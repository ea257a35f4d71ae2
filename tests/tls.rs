//! wss://: the real binary with real TLS clients (rustls, tungstenite over it), one test
//! per behaviour that TLS touches. Every client trusts exactly the certificate the server
//! wrote; verification is never switched off.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::tls::{
    TlsEnd, TlsServer, client_config, client_config_versions, client_hello, connect, read_end,
    temp_path, try_connect, upgrade,
};
use common::*;
use rustls::pki_types::CertificateDer;
use tungstenite::Message;

/// Our close handshake's end: the close reply, then close_notify, then EOF.
fn assert_clean_tls_end(stream: &mut common::tls::TlsStream) {
    assert_eq!(
        read_end(stream),
        TlsEnd::Clean,
        "after the close the server must send close_notify, then close TCP"
    );
}

#[test]
fn every_size_class_echoes_over_tls_with_tungstenite() {
    let tls = TlsServer::start(&[]);
    let stream = tls.connect();
    let (mut ws, response) =
        tungstenite::client(tls.server.url(), stream).expect("tungstenite over TLS");
    assert_eq!(response.status().as_u16(), 101);
    for len in [0, 125, 126, 65535, 65536, 1 << 20] {
        let text = utf8_text(len);
        ws.send(Message::text(text.clone())).expect("send text");
        assert_eq!(
            ws.read().expect("text echo"),
            Message::text(text),
            "{len} B text"
        );
        let data = pattern(len);
        ws.send(Message::binary(data.clone())).expect("send binary");
        assert_eq!(
            ws.read().expect("binary echo"),
            Message::binary(data),
            "{len} B binary"
        );
    }
    ws.close(None).expect("close");
    while ws.read().is_ok() {}
}

/// One frame sent one plaintext byte per TLS record: the echo is the frame's message.
#[test]
fn records_split_at_every_byte_of_a_frame_echo_exactly() {
    let tls = TlsServer::start(&[]);
    let mut stream = tls.open();
    let payload = utf8_text(300);
    let wire = RawFrame::text(&payload).encode();
    for byte in &wire {
        stream
            .conn
            .writer()
            .write_all(&[*byte])
            .expect("one-byte record");
        while stream.conn.wants_write() {
            stream
                .conn
                .write_tls(&mut stream.sock)
                .expect("write the record");
        }
    }
    let (opcode, echoed) = read_message(&mut stream);
    assert_eq!((opcode, echoed), (OP_TEXT, payload.into_bytes()));
    // And a frame whose records reach the socket one ciphertext byte at a time.
    let data = pattern(1000);
    stream
        .conn
        .writer()
        .write_all(&RawFrame::binary(&data).encode())
        .expect("buffer the frame");
    let mut ciphertext = Vec::new();
    while stream.conn.wants_write() {
        stream.conn.write_tls(&mut ciphertext).expect("encrypt");
    }
    for byte in &ciphertext {
        stream
            .sock
            .write_all(&[*byte])
            .expect("one ciphertext byte");
    }
    assert_eq!(read_message(&mut stream), (OP_BINARY, data));
}

#[test]
fn a_client_close_is_answered_then_close_notify_and_eof() {
    let tls = TlsServer::start(&[]);
    let mut stream = tls.open();
    send(&mut stream, &[RawFrame::close(1000, "bye")]);
    let close = expect_close(&mut stream);
    assert_eq!(close.code, Some(1000));
    assert_clean_tls_end(&mut stream);
}

#[test]
fn sigterm_closes_tls_clients_with_1001_then_close_notify() {
    let mut tls = TlsServer::start(&[]);
    let mut stream = tls.open();
    // The connection is open: an echo proves it before the signal.
    send(&mut stream, &[RawFrame::text("before")]);
    assert_eq!(read_message(&mut stream), (OP_TEXT, b"before".to_vec()));
    tls.server.signal(libc::SIGTERM);
    let close = expect_close(&mut stream);
    assert_close(&close, &[1001], &["shutting down"]);
    reply_close(&mut stream, &close);
    assert_clean_tls_end(&mut stream);
    let status = tls.server.wait_exit(Duration::from_secs(5));
    assert!(status.is_some_and(|s| s.success()), "exit: {status:?}");
}

/// Waits for the server to drop `socket`; returns how long that took from `since`.
fn time_until_closed(socket: &mut TcpStream, since: Instant, within: Duration) -> Duration {
    socket.set_read_timeout(Some(within)).expect("timeout");
    let mut buf = [0u8; 4096];
    loop {
        match socket.read(&mut buf) {
            Ok(0) => return since.elapsed(),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return since.elapsed(),
            Err(e) => panic!("the server did not close within {within:?}: {e}"),
        }
    }
}

#[test]
fn the_tls_handshake_counts_against_the_handshake_timeout() {
    let tls = TlsServer::start(&["--handshake-timeout", "1"]);
    // Half a ClientHello, then silence.
    let hello = client_hello(tls.client_config());
    let mut half = tls.server.connect();
    let start = Instant::now();
    half.write_all(&hello[..hello.len() / 2])
        .expect("half a hello");
    let took = time_until_closed(&mut half, start, Duration::from_secs(5));
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "half a ClientHello dropped after {took:?}, not at the 1 s handshake timeout"
    );
    // A complete TLS handshake but no HTTP request: the same limit.
    let start = Instant::now();
    let mut quiet = tls.connect();
    let took = time_until_closed(&mut quiet.sock, start, Duration::from_secs(5));
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "a silent TLS client dropped after {took:?}"
    );
}

fn debug_server() -> TlsServer {
    TlsServer::start_command(|command| {
        command.env("RUST_LOG", "wsecho=debug");
    })
}

#[test]
fn garbage_in_tls_is_dropped_with_the_tls_error_logged() {
    let tls = debug_server();
    // A valid ClientHello, then bytes that are no TLS record.
    let mut socket = tls.server.connect();
    let mut hello = client_hello(tls.client_config());
    hello.extend_from_slice(b"\x17\x03\x03\x00\x10not a real record and more");
    socket.write_all(&hello).expect("hello and garbage");
    time_until_closed(&mut socket, Instant::now(), CLOSE_BOUND);
    // A record header announcing a handshake, then nonsense.
    let mut socket = tls.server.connect();
    socket
        .write_all(b"\x16\x03\x01\x00\x05garbage, more garbage")
        .expect("garbage");
    time_until_closed(&mut socket, Instant::now(), CLOSE_BOUND);
    let log = tls
        .server
        .wait_for_log("dropped: TLS error", 2, Duration::from_secs(2));
    assert!(
        log.matches("dropped: TLS error").count() >= 2,
        "the TLS errors are not logged:\n{log}"
    );
    // A corrupt record mid-message on an open connection.
    let mut stream = tls.open();
    send(&mut stream, &[RawFrame::text("fine")]);
    assert_eq!(read_message(&mut stream), (OP_TEXT, b"fine".to_vec()));
    stream
        .conn
        .writer()
        .write_all(&RawFrame::text("x".repeat(100)).encode())
        .unwrap();
    let mut record = Vec::new();
    stream.conn.write_tls(&mut record).unwrap();
    let last = record.len() - 1;
    record[last] ^= 1;
    stream.sock.write_all(&record).unwrap();
    // The server answers with an alert (bad_record_mac) and closes.
    let mut rest = Vec::new();
    stream.sock.set_read_timeout(Some(CLOSE_BOUND)).unwrap();
    let _ = stream.sock.read_to_end(&mut rest);
    assert!(
        rest.starts_with(b"\x15") || rest.starts_with(b"\x17"),
        "no alert record before the close: {rest:02x?}"
    );
    let log = tls
        .server
        .wait_for_log("decrypt", 1, Duration::from_secs(2));
    assert!(log.contains("decrypt"), "no decrypt error logged:\n{log}");
    // The server keeps serving.
    let mut other = tls.open();
    send(&mut other, &[RawFrame::binary(pattern(70_000))]);
    assert_eq!(read_message(&mut other), (OP_BINARY, pattern(70_000)));
}

#[test]
fn a_tls_client_on_a_cleartext_server_is_told_to_configure_tls() {
    let mut command = Server::command("127.0.0.1", &[]);
    command.env("RUST_LOG", "wsecho=warn");
    let server = Server::start_command(command);
    let roots: [CertificateDer<'static>; 0] = [];
    let result = try_connect(&server, client_config(&roots, None));
    assert!(
        result.is_err(),
        "a TLS handshake succeeded on a cleartext server"
    );
    let log = server.wait_for_log(
        "TLS handshake on a cleartext port",
        1,
        Duration::from_secs(2),
    );
    assert!(
        log.contains(
            "TLS handshake on a cleartext port: start wsecho with --tls-cert/--tls-self-signed"
        ),
        "{log}"
    );
    // Cleartext still works there.
    let mut ws = server.client();
    ws.send(Message::text("plain")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("plain"));
}

#[test]
fn tls_only_refuses_cleartext_with_400_naming_wss() {
    let tls = TlsServer::start(&["--tls-only"]);
    let response = expect_refused(
        &tls.server,
        &Request::upgrade(&tls.server.host()).to_bytes(),
    );
    assert_eq!(response.status, 400);
    assert!(response.body_text().contains("wss://"), "{response:?}");
    let mut stream = tls.open();
    send(&mut stream, &[RawFrame::text("secure")]);
    assert_eq!(read_message(&mut stream), (OP_TEXT, b"secure".to_vec()));
}

#[test]
fn ws_and_wss_share_one_port() {
    let tls = TlsServer::start(&[]);
    let mut plain = tls.server.open();
    let mut secure = tls.open();
    for i in 0..20 {
        let text = format!("message {i}");
        send(&mut plain, &[RawFrame::text(&text)]);
        send(&mut secure, &[RawFrame::binary(&text)]);
        assert_eq!(
            read_message(&mut secure),
            (OP_BINARY, text.clone().into_bytes())
        );
        assert_eq!(read_message(&mut plain), (OP_TEXT, text.into_bytes()));
    }
}

#[test]
fn tls12_and_tls13_clients_are_served() {
    let tls = TlsServer::start(&[]);
    for (version, name) in [
        (&rustls::version::TLS12, rustls::ProtocolVersion::TLSv1_2),
        (&rustls::version::TLS13, rustls::ProtocolVersion::TLSv1_3),
    ] {
        let config = client_config_versions(std::slice::from_ref(&tls.cert), None, &[version]);
        let mut stream = connect(&tls.server, config);
        assert_eq!(stream.conn.protocol_version(), Some(name));
        upgrade(&tls.server, &mut stream);
        send(&mut stream, &[RawFrame::text("v")]);
        assert_eq!(read_message(&mut stream), (OP_TEXT, b"v".to_vec()));
    }
}

#[test]
fn a_client_with_no_suite_in_common_gets_an_alert_and_its_offer_is_logged() {
    let tls = debug_server();
    // RSA key exchange suites only, over TLS 1.2: the server's key is ECDSA.
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    provider.cipher_suites =
        vec![rustls::crypto::aws_lc_rs::cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256];
    let config = client_config_versions(
        std::slice::from_ref(&tls.cert),
        Some(provider),
        &[&rustls::version::TLS12],
    );
    let error = try_connect(&tls.server, config).expect_err("no suite in common");
    assert!(
        error.to_string().to_lowercase().contains("alert"),
        "the client got no alert: {error}"
    );
    let log = tls
        .server
        .wait_for_log("client offered", 1, Duration::from_secs(2));
    assert!(
        log.contains("client offered versions TLSv1_2; cipher suites")
            && log.contains("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
        "the offer is not logged:\n{log}"
    );
}

/// A CA, and a leaf for localhost signed by it: PEM files `(chain, key, ca)`.
fn chain_files() -> (String, String, CertificateDer<'static>) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf_params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
    let chain = temp_path("chain.pem");
    let key = temp_path("key.pem");
    std::fs::write(&chain, format!("{}{}", leaf.pem(), ca_cert.pem())).unwrap();
    std::fs::write(&key, leaf_key.serialize_pem()).unwrap();
    (
        chain.to_string_lossy().into_owned(),
        key.to_string_lossy().into_owned(),
        ca_cert.der().clone(),
    )
}

#[test]
fn a_certificate_chain_from_files_is_served() {
    let (chain, key, ca) = chain_files();
    let server = Server::start(&["--tls-cert", &chain, "--tls-key", &key]);
    let mut stream = connect(&server, client_config(&[ca], None));
    let presented = stream.conn.peer_certificates().map_or(0, |c| c.len());
    assert_eq!(presented, 2, "the chain (leaf and CA) must be sent");
    upgrade(&server, &mut stream);
    send(&mut stream, &[RawFrame::text("chained")]);
    assert_eq!(read_message(&mut stream), (OP_TEXT, b"chained".to_vec()));
}

/// Runs wsecho with `args`, expecting it to refuse to start.
fn refused_start(args: &[&str]) -> String {
    let output = Server::command("127.0.0.1", args)
        .output()
        .expect("run wsecho");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr:?}");
    stderr
}

/// A certificate without its key (or the reverse) is one line naming the flag that is
/// missing, exit 2: not clap's generic "required arguments" block with the usage.
#[test]
fn a_certificate_without_its_key_names_the_missing_flag() {
    let (chain, key, _) = chain_files();
    let stderr = refused_start(&["--tls-cert", &chain]);
    assert!(
        stderr.starts_with("wsecho: --tls-cert needs --tls-key FILE too"),
        "{stderr}"
    );
    let stderr = refused_start(&["--tls-key", &key]);
    assert!(
        stderr.starts_with("wsecho: --tls-key needs --tls-cert FILE too"),
        "{stderr}"
    );
}

#[test]
fn bad_certificate_files_stop_the_server_with_exit_code_2() {
    let (chain, key, _) = chain_files();
    let missing = temp_path("missing.pem");
    let missing = missing.to_str().unwrap();
    let stderr = refused_start(&["--tls-cert", missing, "--tls-key", &key]);
    assert!(
        stderr.contains(missing) && stderr.contains("--tls-cert"),
        "{stderr}"
    );

    let garbage = temp_path("garbage.pem");
    std::fs::write(&garbage, "not PEM at all\n").unwrap();
    let garbage = garbage.to_str().unwrap();
    let stderr = refused_start(&["--tls-cert", garbage, "--tls-key", &key]);
    assert!(stderr.contains(garbage), "{stderr}");
    let stderr = refused_start(&["--tls-cert", &chain, "--tls-key", garbage]);
    assert!(
        stderr.contains(garbage) && stderr.contains("--tls-key"),
        "{stderr}"
    );

    let (_, other_key, _) = chain_files();
    let stderr = refused_start(&["--tls-cert", &chain, "--tls-key", &other_key]);
    assert!(
        stderr.contains(&other_key),
        "the mismatched key is not named: {stderr}"
    );

    let stderr = refused_start(&["--tls-only"]);
    assert!(stderr.contains("--tls-only"), "{stderr}");
}

#[test]
fn a_tls_client_that_does_not_read_is_paused_and_then_gets_every_echo() {
    let tls = TlsServer::start(&[]);
    let pid = tls.server.pid();
    let mut stream = tls.open();
    let idle_kib = rss_kib(pid);
    // 48 MiB of messages, encrypted up front, pushed by a thread that never reads.
    let message = pattern(256 << 10);
    let count = 192;
    let frame = RawFrame::binary(&message).encode();
    let mut ciphertext = Vec::new();
    stream.conn.set_buffer_limit(None);
    for _ in 0..count {
        stream.conn.writer().write_all(&frame).unwrap();
        while stream.conn.wants_write() {
            stream.conn.write_tls(&mut ciphertext).unwrap();
        }
    }
    let total = ciphertext.len();
    let written = Arc::new(AtomicUsize::new(0));
    let pusher = {
        let mut sock = stream.sock.try_clone().unwrap();
        sock.set_write_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let written = Arc::clone(&written);
        thread::spawn(move || {
            for chunk in ciphertext.chunks(64 << 10) {
                sock.write_all(chunk).expect("push");
                written.fetch_add(chunk.len(), Ordering::Relaxed);
            }
        })
    };
    // Wait until the push stalls: the server stopped reading.
    let mut peak_kib = idle_kib;
    let mut last = usize::MAX;
    let start = Instant::now();
    loop {
        thread::sleep(Duration::from_millis(300));
        peak_kib = peak_kib.max(rss_kib(pid));
        let now = written.load(Ordering::Relaxed);
        if now == last || now == total || start.elapsed() > Duration::from_secs(20) {
            break;
        }
        last = now;
    }
    let stalled_at = written.load(Ordering::Relaxed);
    assert!(
        stalled_at < total,
        "all {total} bytes went in without the server pausing"
    );
    assert!(
        peak_kib < idle_kib + 24 * 1024,
        "server RSS grew from {idle_kib} to {peak_kib} KiB while the client did not read"
    );
    // Reading now: every message comes back whole and in order.
    for i in 0..count {
        let (opcode, echoed) = read_message(&mut stream);
        assert!(opcode == OP_BINARY && echoed == message, "echo {i} differs");
    }
    pusher
        .join()
        .expect("the push completes once the client reads");
}

#[test]
fn keepalive_pings_and_the_idle_close_go_over_tls() {
    let tls = TlsServer::start(&["--ping-interval", "0.2", "--idle-timeout", "0.6"]);
    let mut stream = tls.open();
    // Silence: a ping comes first, encrypted like everything else.
    let ping = read_frame(&mut stream);
    assert_eq!(ping.opcode, OP_PING, "{ping:?}");
    // Answered, the connection is alive until the idle timeout closes it with 1001.
    send(&mut stream, &[RawFrame::pong(&ping.payload)]);
    let mut frame = read_frame(&mut stream);
    while frame.opcode == OP_PING {
        frame = read_frame(&mut stream);
    }
    let close = parse_close(frame);
    assert_close(&close, &[1001], &["idle"]);
    // Our reply completes the close: then close_notify and EOF.
    reply_close(&mut stream, &close);
    assert_clean_tls_end(&mut stream);
}

/// The timed behaviours and the reset go through the TLS layer like any output.
#[test]
fn behaviours_on_request_work_over_tls() {
    let tls = TlsServer::start(&[]);
    // A source of messages, then an echo, with delayed output.
    let url = format!("{}?send=70000&count=5&delay=0.05", tls.server.url());
    let (mut ws, _) = tungstenite::client(url, tls.connect()).expect("tungstenite over TLS");
    let want: Vec<u8> = (0..70_000).map(|i| b'a' + (i % 26) as u8).collect();
    for i in 0..5 {
        assert_eq!(
            ws.read().expect("message"),
            Message::binary(want.clone()),
            "{i}"
        );
    }
    ws.send(Message::text("echo")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("echo"));
    // An abort: the greeting arrives, then a reset with no close_notify.
    let url = format!("{}?abort&hello=hi", tls.server.url());
    let (mut ws, _) = tungstenite::client(url, tls.connect()).expect("tungstenite over TLS");
    assert_eq!(ws.read().expect("greeting"), Message::text("hi"));
    match ws.read() {
        Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("expected a reset, got {other:?}"),
    }
}

/// A server at its connection limit refuses a TLS client with 503 once the TLS
/// handshake lets it speak to it (and a cleartext one on the same port at once); the
/// client already in is still served.
#[test]
fn a_full_server_answers_a_tls_client_503_over_tls() {
    let tls = TlsServer::start(&["--max-connections", "1"]);
    let mut first = tls.open();
    let mut refused = tls.connect();
    refused
        .write_all(&Request::upgrade(&tls.server.host()).to_bytes())
        .unwrap();
    let response = read_response_head(&mut refused);
    assert_eq!(response.status, 503, "{response:?}");
    let response = expect_refused(
        &tls.server,
        &Request::upgrade(&tls.server.host()).to_bytes(),
    );
    assert_eq!(response.status, 503, "{response:?}");
    send(&mut first, &[RawFrame::text("still in")]);
    assert_eq!(read_message(&mut first), (OP_TEXT, b"still in".to_vec()));
}
