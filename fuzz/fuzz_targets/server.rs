//! The whole server as it runs: wsecho's own event loop (`wsecho::run`, the entry point
//! of the binary) serving a Unix socket in this process, and a client that sends it the
//! input. Where the other targets drive one layer, this one drives the driver: the
//! first byte choosing the stack, the one read loop and its budget, the write path with
//! the socket refusing output, TLS and HTTP/2 joined to the cores, timers, and the ends
//! of connections.
//!
//! Input: one flag byte, a feeding schedule (see `Schedule::take`; its clock steps are
//! ignored, the server runs on real time), then the bytes, written one chunk a `write`.
//! - bit 0: through a TLS client (rustls), the bytes as application data after the
//!   handshake, one record a chunk; bit 1: the client offers ALPN `h2` (else
//!   `http/1.1`). Without bit 0 the bytes are what a client sent on the wire.
//! - bit 2: the client half-closes after its bytes (else it only stops writing).
//!
//! Between chunks the client reads what the server sent, so a server that stops reading
//! a client that does not read (backpressure) is not a hang of the target. What it checks:
//! the loop panics on no input (a panic on its thread aborts the process), and after each
//! input a new client is answered 101 to a valid upgrade within 5 s (the loop did not
//! hang or stop).
#![no_main]

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};
use wsecho::{Config, Endpoint};
use wsecho_fuzz::client::upgrade_request;
use wsecho_fuzz::schedule::Schedule;

const THROUGH_TLS: u8 = 1 << 0;
const ALPN_H2: u8 = 1 << 1;
const HALF_CLOSE: u8 = 1 << 2;

/// How long the client waits for the server's last bytes after its own.
const LINGER: Duration = Duration::from_millis(10);
/// A write the server does not take in this long ends the input's writing.
const WRITE_WAIT: Duration = Duration::from_millis(500);
/// The liveness check's limit.
const ANSWER_WAIT: Duration = Duration::from_secs(5);

struct Fixture {
    socket: PathBuf,
    /// Client configurations: ALPN `http/1.1`, and `h2` first.
    tls: [Arc<ClientConfig>; 2],
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        // A write to a socket the peer closed is an error to handle, not a signal that
        // ends the process: what Rust's runtime sets up for the wsecho binary, and
        // libFuzzer's C `main` does not.
        // SAFETY: SIG_IGN installs no handler code; nothing else in the process
        // depends on SIGPIPE's disposition.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
        let dir = std::env::temp_dir().join(format!("wsecho-fuzz-server-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("socket directory");
        let socket = dir.join("wsecho.sock");
        let _ = std::fs::remove_file(&socket);
        let (setup, h1) = wsecho_fuzz::tls::self_signed(&[b"http/1.1"]);
        let mut h2 = h1.clone();
        h2.alpn_protocols.insert(0, b"h2".to_vec());
        let config = Config {
            // Short limits, so that connections an input leaves behind go soon.
            handshake_timeout: Duration::from_secs(1),
            close_timeout: Duration::from_millis(200),
            ..Config::default()
        };
        let endpoints = vec![Endpoint::Unix {
            path: socket.clone(),
            mode: None,
        }];
        std::thread::spawn(move || {
            let ended = wsecho::run(&endpoints, config, Some(setup), None, 1);
            panic!("the server loop ended: {ended:?}");
        });
        let started = Instant::now();
        while UnixStream::connect(&socket).is_err() {
            assert!(started.elapsed() < ANSWER_WAIT, "the server did not start");
            std::thread::sleep(Duration::from_millis(5));
        }
        let tls = [Arc::new(h1), Arc::new(h2)];
        Fixture { socket, tls }
    })
}

/// The client's side of the socket: the bytes, and reading the answer.
trait Client {
    /// Sends one chunk; `false` when the server will not take it.
    fn send(&mut self, chunk: &[u8]) -> bool;
    /// Reads what has come, without waiting; `false` at the end of the stream.
    fn drain(&mut self) -> bool;
    /// Sends what ends the client's writing (a close_notify over TLS).
    fn finish(&mut self) {}
    fn socket(&self) -> &UnixStream;
}

/// Writes with `write` until all of `bytes` is taken: while the socket refuses, what the
/// server sent is read (`drain`), for at most [`WRITE_WAIT`]. `false` when it is not
/// taken.
fn write_all(
    bytes: &[u8],
    mut write: impl FnMut(&[u8]) -> std::io::Result<usize>,
    mut drain: impl FnMut() -> bool,
) -> bool {
    let until = Instant::now() + WRITE_WAIT;
    let mut at = 0;
    while at < bytes.len() {
        match write(&bytes[at..]) {
            Ok(0) => return false,
            Ok(n) => at += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                if !drain() || Instant::now() > until {
                    return false;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(_) => return false,
        }
    }
    true
}

/// The client's socket, non-blocking.
struct Raw(UnixStream);

impl Client for Raw {
    fn send(&mut self, chunk: &[u8]) -> bool {
        let socket = &self.0;
        write_all(chunk, |b| (&*socket).write(b), || drain_raw(socket))
    }

    fn drain(&mut self) -> bool {
        drain_raw(&self.0)
    }

    fn socket(&self) -> &UnixStream {
        &self.0
    }
}

/// Reads and drops what has come; `false` at the end of the stream.
fn drain_raw(mut socket: &UnixStream) -> bool {
    let mut buf = [0u8; 16384];
    loop {
        match socket.read(&mut buf) {
            Ok(0) => return false,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return e.kind() == ErrorKind::WouldBlock,
        }
    }
}

struct Tls {
    conn: ClientConnection,
    socket: UnixStream,
}

impl Tls {
    /// Writes the records rustls has ready.
    fn flush(&mut self) -> bool {
        let until = Instant::now() + WRITE_WAIT;
        while self.conn.wants_write() {
            match self.conn.write_tls(&mut self.socket) {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    if !self.drain() || Instant::now() > until {
                        return false;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(_) => return false,
            }
        }
        true
    }
}

impl Client for Tls {
    fn send(&mut self, chunk: &[u8]) -> bool {
        self.conn.writer().write_all(chunk).is_ok() && self.flush()
    }

    fn drain(&mut self) -> bool {
        let mut buf = [0u8; 16384];
        loop {
            match self.conn.read_tls(&mut self.socket) {
                Ok(0) => return false,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return e.kind() == ErrorKind::WouldBlock,
            }
            if self.conn.process_new_packets().is_err() {
                return false;
            }
            while let Ok(n) = self.conn.reader().read(&mut buf) {
                if n == 0 {
                    break;
                }
            }
        }
    }

    fn finish(&mut self) {
        self.conn.send_close_notify();
        self.flush();
    }

    fn socket(&self) -> &UnixStream {
        &self.socket
    }
}

fn connect(flags: u8) -> Option<Box<dyn Client>> {
    let f = fixture();
    let socket = UnixStream::connect(&f.socket).expect("the server accepts");
    if flags & THROUGH_TLS == 0 {
        socket.set_nonblocking(true).ok()?;
        return Some(Box::new(Raw(socket)));
    }
    let config = Arc::clone(&f.tls[usize::from(flags & ALPN_H2 != 0)]);
    let name = ServerName::try_from("localhost").expect("name");
    let mut conn = ClientConnection::new(config, name).expect("client");
    let mut socket = socket;
    socket.set_read_timeout(Some(ANSWER_WAIT)).ok()?;
    while conn.is_handshaking() {
        // The server's handshake must complete: it is rustls against rustls.
        match conn.complete_io(&mut socket) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => panic!("the TLS handshake failed: {e}"),
        }
    }
    socket.set_nonblocking(true).ok()?;
    Some(Box::new(Tls { conn, socket }))
}

/// A new client's upgrade is answered 101.
fn still_answers() {
    let mut s = UnixStream::connect(&fixture().socket).expect("the server accepts");
    s.set_read_timeout(Some(ANSWER_WAIT)).expect("timeout");
    s.write_all(&upgrade_request("")).expect("request sent");
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            // libFuzzer's timer (SIGALRM) interrupts reads.
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => panic!("the server stopped answering: {e}"),
        }
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101 "),
        "a valid upgrade was answered {:?}",
        String::from_utf8_lossy(&head)
    );
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (mut schedule, bytes) = Schedule::take(rest);
    if let Some(mut client) = connect(flags) {
        for chunk in schedule.chunks(bytes) {
            if !client.send(chunk) || !client.drain() {
                break;
            }
        }
        client.finish();
        if flags & HALF_CLOSE != 0 {
            let _ = client.socket().shutdown(Shutdown::Write);
        }
        let until = Instant::now() + LINGER;
        while Instant::now() < until && client.drain() {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    still_answers();
});
