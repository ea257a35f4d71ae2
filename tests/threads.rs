//! `--threads N`: several event loops behind one port. Connections land on several
//! loops, every echo is right, the counters and `--max-connections` cover all loops,
//! and SIGTERM closes every client of every loop.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::*;
use tungstenite::Message;
use tungstenite::protocol::frame::coding::CloseCode as TCloseCode;

/// Starts `wsecho --threads 4 ARGS` logging each connection.
fn four_loops(args: &[&str]) -> Server {
    let mut command = Server::command("127.0.0.1", &[&["--threads", "4"], args].concat());
    command.env("RUST_LOG", "wsecho=debug");
    Server::start_command(command)
}

#[test]
fn connections_spread_over_the_loops_and_every_echo_is_right() {
    let server = four_loops(&[]);
    assert!(
        server.listening.ends_with("(4 event loops)"),
        "{}",
        server.listening
    );
    let mut clients: Vec<_> = (0..40).map(|_| server.client()).collect();
    for round in 0..3 {
        for (i, ws) in clients.iter_mut().enumerate() {
            let text = format!("client {i} round {round}");
            ws.send(Message::text(text.clone())).unwrap();
            let data = pattern(1000 + i);
            ws.send(Message::binary(data.clone())).unwrap();
            assert_eq!(ws.read().unwrap(), Message::text(text));
            assert_eq!(ws.read().unwrap(), Message::binary(data));
        }
    }
    let log = server.wait_for_log(": accepted on loop ", 40, Duration::from_secs(5));
    let loops: BTreeSet<&str> = log
        .lines()
        .filter_map(|l| l.split(": accepted on loop ").nth(1))
        .collect();
    assert!(
        loops.len() >= 2,
        "all 40 connections on one loop: {loops:?}"
    );
    // Connection numbers are unique across the loops.
    let ids: BTreeSet<&str> = log
        .lines()
        .filter(|l| l.contains(": ended after"))
        .filter_map(|l| l.split_whitespace().find(|w| w.starts_with('c')))
        .collect();
    drop(clients);
    let log = server.wait_for_log(": ended after", 40, Duration::from_secs(5));
    let ended: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(": ended after"))
        .filter_map(|l| {
            l.split("INFO  wsecho::server] ")
                .nth(1)?
                .split_whitespace()
                .next()
        })
        .collect();
    let unique: BTreeSet<&&str> = ended.iter().collect();
    assert_eq!(
        unique.len(),
        ended.len(),
        "repeated connection numbers: {ended:?}"
    );
    assert!(ids.len() <= ended.len());
}

#[test]
fn metrics_and_the_connection_limit_cover_every_loop() {
    let server = four_loops(&["--max-connections", "6"]);
    let mut clients: Vec<_> = (0..6).map(|_| server.client()).collect();
    for ws in &mut clients {
        ws.send(Message::text("hi")).unwrap();
        assert_eq!(ws.read().unwrap(), Message::text("hi"));
    }
    // A seventh, on whichever loop, finds the server full.
    let response = expect_refused(&server, &Request::upgrade(&server.host()).to_bytes());
    assert_eq!(response.status, 503);
    drop(clients);
    // Every loop publishes within 100 ms of its last work: scrape until every loop's
    // share is in. Each scrape is a connection of its own, counted too; until the
    // loops have seen the six clients go, a scrape may still find the server full
    // (503, counted as well).
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut scrapes = 0;
    let body = loop {
        let (status, _, body) = scrape_metrics(&server);
        scrapes += 1;
        assert!(
            status == 200 || (status == 503 && Instant::now() < deadline),
            "scrape {scrapes}: {status}"
        );
        // 6 clients, the refused one, and the scrapes so far.
        let whole = status == 200
            && metric_value(&body, "wsecho_connections_total") == 7 + scrapes
            && metric_value(&body, "wsecho_messages_total{opcode=\"text\"}") == 6;
        if whole || (status == 200 && Instant::now() > deadline) {
            break body;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        metric_value(&body, "wsecho_connections_total"),
        7 + scrapes,
        "{body}"
    );
    assert_eq!(
        metric_value(&body, "wsecho_messages_total{opcode=\"text\"}"),
        6,
        "{body}"
    );
}

#[test]
fn sigterm_closes_the_clients_of_every_loop_with_1001() {
    let mut server = four_loops(&[]);
    let mut clients: Vec<_> = (0..12).map(|_| server.client()).collect();
    for ws in &mut clients {
        ws.send(Message::text("before")).unwrap();
        assert_eq!(ws.read().unwrap(), Message::text("before"));
    }
    server.signal(libc::SIGTERM);
    for ws in &mut clients {
        match ws.read() {
            Ok(Message::Close(Some(frame))) => assert_eq!(frame.code, TCloseCode::Away),
            other => panic!("expected a 1001 close, got {other:?}"),
        }
        let _ = ws.close(None);
        while ws.read().is_ok() {}
    }
    let status = server.wait_exit(Duration::from_secs(5)).expect("exits");
    assert!(status.success(), "{status:?}");
    let log = server.log();
    assert!(
        log.contains("shut down; connections: 12 accepted, 12 upgraded"),
        "{log}"
    );
}

#[test]
fn the_trace_asks_for_one_loop() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_wsecho"))
        .args(["--port", "0", "--threads", "2", "--trace"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("use it with --threads 1"));
}
