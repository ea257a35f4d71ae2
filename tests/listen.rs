//! Where wsecho listens: names resolved to each address, Unix sockets beside or instead
//! of TCP, and a port in use named with what to do. The real binary, real clients.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use common::*;
use tungstenite::Message;

/// A fresh socket path in a directory of its own.
fn socket_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wsecho-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("wsecho.sock")
}

/// `wsecho ARGS` (no --host/--port of its own).
fn wsecho(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wsecho"));
    command.args(args).env_remove("RUST_LOG");
    command
}

/// An upgrade and one echo over `stream` with tungstenite.
fn echo_over(stream: UnixStream) {
    let (mut ws, response) =
        tungstenite::client("ws://localhost/over-unix", stream).expect("handshake over unix");
    assert_eq!(response.status().as_u16(), 101);
    ws.send(Message::text("over a unix socket")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("over a unix socket"));
    ws.close(None).unwrap();
    while ws.read().is_ok() {}
}

#[test]
fn a_unix_socket_serves_instead_of_tcp_and_is_removed_on_exit() {
    let path = socket_path("only");
    let mut command = wsecho(&["--unix", path.to_str().unwrap(), "--unix-mode", "600"]);
    command.env("RUST_LOG", "wsecho=debug");
    let mut server = Server::start_command(command);
    assert_eq!(
        server.listening,
        format!("wsecho listening on ws+unix:{}", path.display())
    );
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    echo_over(UnixStream::connect(&path).unwrap());
    // The connection's line names the transport, having no address.
    let line = server.wait_for_log(" unix: ended after", 1, Duration::from_secs(5));
    assert!(line.contains("c1 unix: ended after"), "{line}");
    server.signal(libc::SIGTERM);
    assert!(
        server
            .wait_exit(Duration::from_secs(5))
            .is_some_and(|s| s.success())
    );
    assert!(!path.exists(), "the socket file is removed on exit");
}

#[test]
fn on_exit_a_file_that_replaced_the_socket_is_left_alone() {
    let path = socket_path("replaced");
    let mut server = Server::start_command(wsecho(&["--unix", path.to_str().unwrap()]));
    echo_over(UnixStream::connect(&path).unwrap());
    // Someone put another file at the path while wsecho ran.
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, b"not wsecho's").unwrap();
    server.signal(libc::SIGTERM);
    assert!(
        server
            .wait_exit(Duration::from_secs(5))
            .is_some_and(|s| s.success())
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"not wsecho's");
}

/// The modes the file at `path` had, each time it was seen to change, until `done` and
/// one is seen (or a timeout).
fn watch_modes(path: PathBuf, done: Arc<AtomicBool>) -> thread::JoinHandle<Vec<u32>> {
    thread::spawn(move || {
        let mut seen: Vec<u32> = Vec::new();
        let deadline = std::time::Instant::now() + IO_TIMEOUT;
        while (seen.is_empty() || !done.load(Ordering::Relaxed))
            && std::time::Instant::now() < deadline
        {
            if let Ok(meta) = std::fs::symlink_metadata(&path) {
                let mode = meta.permissions().mode() & 0o777;
                if seen.last() != Some(&mode) {
                    seen.push(mode);
                }
            }
        }
        seen
    })
}

#[test]
fn the_socket_file_has_its_mode_from_the_moment_it_appears() {
    // Under umask 0 a socket bound in place appears with mode 777 until its mode is set;
    // a watcher that polls the path sees that window when there is one (not always:
    // it is short).
    for round in 0..20 {
        let path = socket_path(&format!("mode-{round}"));
        let done = Arc::new(AtomicBool::new(false));
        let watcher = watch_modes(path.clone(), done.clone());
        let mut command = wsecho(&["--unix", path.to_str().unwrap(), "--unix-mode", "600"]);
        // SAFETY: umask(2) is async-signal-safe and cannot fail.
        unsafe {
            command.pre_exec(|| {
                libc::umask(0);
                Ok(())
            });
        }
        let server = Server::start_command(command);
        done.store(true, Ordering::Relaxed);
        let seen = watcher.join().unwrap();
        assert_eq!(
            seen,
            [0o600],
            "round {round}: modes seen (octal) {:?}",
            seen.iter().map(|m| format!("{m:o}")).collect::<Vec<_>>()
        );
        drop(server);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}

#[test]
fn unix_beside_tcp_when_a_port_is_given_too() {
    let path = socket_path("beside");
    let server = Server::start(&["--unix", path.to_str().unwrap()]);
    assert!(
        server
            .listening
            .ends_with(&format!(" and ws+unix:{}", path.display())),
        "{}",
        server.listening
    );
    echo_over(UnixStream::connect(&path).unwrap());
    let mut ws = server.client();
    ws.send(Message::text("over tcp")).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text("over tcp"));
}

#[test]
fn a_stale_socket_is_replaced_and_a_live_one_or_a_file_refused() {
    let path = socket_path("stale");
    // Left behind by a server that died.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let live = Server::start_command(wsecho(&["--unix", path.to_str().unwrap()]));
    echo_over(UnixStream::connect(&path).unwrap());
    // A second wsecho on the same path: refused, the first one untouched.
    let out = wsecho(&["--unix", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("another server listens on this socket"),
        "{err}"
    );
    echo_over(UnixStream::connect(&path).unwrap());
    drop(live);
    // A path that is no socket.
    let file = socket_path("file");
    std::fs::write(&file, b"data").unwrap();
    let out = wsecho(&["--unix", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("exists and is not a socket"), "{err}");
    assert_eq!(
        std::fs::read(&file).unwrap(),
        b"data",
        "the file is left alone"
    );
}

#[test]
fn a_port_in_use_is_a_one_line_error_naming_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = wsecho(&["--port", &port]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!("wsecho: cannot listen on 127.0.0.1:{port}: ")),
        "{err}"
    );
    assert!(last.contains("--port 0 picks a free one"), "{err}");
}

#[test]
fn a_host_name_is_resolved_and_each_address_listened_on() {
    let server = Server::try_start("localhost", &[]).expect("wsecho --host localhost");
    let port = server.addr().port();
    let want: Vec<String> = std::net::ToSocketAddrs::to_socket_addrs(&("localhost", port))
        .unwrap()
        .map(|a| format!("ws://{a}"))
        .fold(Vec::new(), |mut v, a| {
            if !v.contains(&a) {
                v.push(a);
            }
            v
        });
    assert_eq!(
        server.listening,
        format!("wsecho listening on {}", want.join(" and "))
    );
    for url in &want {
        let addr: std::net::SocketAddr = url.trim_start_matches("ws://").parse().unwrap();
        let stream = std::net::TcpStream::connect(addr).unwrap();
        let (mut ws, _) = tungstenite::client(url.as_str(), stream).expect("handshake");
        ws.send(Message::text(url.as_str())).unwrap();
        assert_eq!(ws.read().unwrap(), Message::text(url.as_str()));
    }
    let out = wsecho(&["--host", "no-such-host.invalid"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot resolve it"));
}
