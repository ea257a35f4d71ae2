//! Shared helpers for the integration tests: run the real `wsecho` binary on an ephemeral
//! port, speak raw HTTP and raw WebSocket frames to it, and read back what it says.
//!
//! Every socket read is bounded by a timeout so that a broken server fails a test instead
//! of hanging it.

#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tungstenite::WebSocket;

pub mod deflate;
pub mod tls;

/// Bound on every blocking socket read.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the server has to print its listening line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the server has to drop TCP once nothing more should happen on a connection.
pub const CLOSE_BOUND: Duration = Duration::from_secs(2);

/// The example key from RFC 6455 §1.3 and its known accept value.
pub const SAMPLE_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
pub const SAMPLE_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

pub use wsecho_test_support::frames::{OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT};

// ---------------------------------------------------------------------------------------
// The server process
// ---------------------------------------------------------------------------------------

/// A running `wsecho`; killed when dropped. Its stderr is kept and printed if the test
/// panics, so failures come with the server's log.
pub struct Server {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<u8>>>,
    log_thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts `wsecho --host 127.0.0.1 --port 0 ARGS...`.
    pub fn start(args: &[&str]) -> Server {
        Server::try_start("127.0.0.1", args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts `wsecho --host HOST --port 0 ARGS...` and waits for its listening line.
    pub fn try_start(host: &str, args: &[&str]) -> Result<Server, String> {
        Server::spawn(Server::command(host, args))
    }

    /// `wsecho --host HOST --port 0 ARGS...`, not started yet. Tests read its info lines
    /// (the summary, the limits), so RUST_LOG is cleared: the default filter applies.
    pub fn command(host: &str, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_wsecho"));
        command
            .args(["--host", host, "--port", "0"])
            .args(args)
            .env_remove("RUST_LOG");
        command
    }

    /// Starts `command` (from [`Server::command`]) and waits for its listening line.
    pub fn start_command(command: Command) -> Server {
        Server::spawn(command).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`Server::start`], with the open-file limit (soft and hard) set to `nofile`.
    pub fn start_with_fd_limit(nofile: u64, args: &[&str]) -> Server {
        use std::os::unix::process::CommandExt;
        let mut command = Server::command("127.0.0.1", args);
        let limit = libc::rlimit {
            rlim_cur: nofile,
            rlim_max: nofile,
        };
        // SAFETY: setrlimit is async-signal-safe and only reads a struct we copied in.
        unsafe {
            command.pre_exec(move || {
                if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        Server::start_command(command)
    }

    fn spawn(mut command: Command) -> Result<Server, String> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot spawn wsecho: {e}"))?;

        let log = Arc::new(Mutex::new(Vec::new()));
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let sink = Arc::clone(&log);
        let log_thread = thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });

        // Read the first stdout line on a thread so a silent server cannot hang us, then
        // keep draining stdout so the server never blocks on a full pipe.
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(first)) = lines.next() {
                let _ = tx.send(first);
            }
            for _ in lines {}
        });

        let mut server = Server {
            child,
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            log,
            log_thread: Some(log_thread),
        };
        let line = match rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(line) => line,
            Err(_) => {
                server.stop();
                return Err(format!(
                    "wsecho printed no listening line within {STARTUP_TIMEOUT:?}; stderr:\n{}",
                    server.log()
                ));
            }
        };
        server.addr = parse_listening_line(&line)
            .ok_or_else(|| format!("unexpected listening line from wsecho: {line:?}"))?;
        Ok(server)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's process id (e.g. to read `/proc/PID/status`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The `Host` header value for this server.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// Everything the server wrote to stderr so far.
    pub fn log(&self) -> String {
        String::from_utf8_lossy(&self.log.lock().unwrap()).into_owned()
    }

    /// A raw TCP connection with read/write timeouts and Nagle off.
    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(self.addr).expect("connect to wsecho");
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        stream
    }

    /// A raw TCP connection that has completed a valid upgrade (asserted), ready for frames.
    pub fn open(&self) -> TcpStream {
        let mut stream = self.connect();
        let request = Request::upgrade(&self.host());
        stream.write_all(&request.to_bytes()).unwrap();
        let response = read_response_head(&mut stream);
        assert_eq!(response.status, 101, "upgrade refused: {response:?}");
        stream
    }

    /// A tungstenite client connected to this server.
    pub fn client(&self) -> WebSocket<TcpStream> {
        let (ws, response) = tungstenite::client(self.url(), self.connect())
            .unwrap_or_else(|e| panic!("tungstenite handshake failed: {e}"));
        assert_eq!(response.status().as_u16(), 101);
        ws
    }

    /// Sends `signal` (e.g. `libc::SIGTERM`) to the server process.
    pub fn signal(&self, signal: i32) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits pid_t");
        // SAFETY: kill(2) with a pid we spawned and still own (not yet reaped).
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(
            rc,
            0,
            "kill({pid}, {signal}) failed: {}",
            io::Error::last_os_error()
        );
    }

    /// The server's exit status if it has exited, without waiting.
    pub fn try_exit_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("waitpid on wsecho")
    }

    /// Waits up to `within` for the server to exit and returns its status, or `None` if it
    /// is still running then.
    pub fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.try_exit_status() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(t) = self.log_thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        if thread::panicking() {
            eprintln!("---- wsecho stderr ----\n{}", self.log());
        }
    }
}

/// `wsecho listening on ws://127.0.0.1:PORT` (or `ws://[::1]:PORT`, or with TLS
/// `… ws://ADDR and wss://ADDR (…)`, or `wss://ADDR` alone) → the socket address of the
/// first URL.
fn parse_listening_line(line: &str) -> Option<SocketAddr> {
    let rest = line.strip_prefix("wsecho listening on ")?;
    let url = rest.split_whitespace().next()?;
    let addr = url
        .strip_prefix("ws://")
        .or_else(|| url.strip_prefix("wss://"))?;
    addr.trim_end_matches('/').parse().ok()
}

// ---------------------------------------------------------------------------------------
// HTTP
// ---------------------------------------------------------------------------------------

/// An HTTP request built header by header, so tests can break exactly one thing.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    pub target: String,
    pub version: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// A valid RFC 6455 upgrade request using [`SAMPLE_KEY`].
    pub fn upgrade(host: &str) -> Request {
        Request {
            method: "GET".into(),
            target: "/".into(),
            version: "HTTP/1.1".into(),
            headers: vec![
                ("Host".into(), host.into()),
                ("Upgrade".into(), "websocket".into()),
                ("Connection".into(), "Upgrade".into()),
                ("Sec-WebSocket-Key".into(), SAMPLE_KEY.into()),
                ("Sec-WebSocket-Version".into(), "13".into()),
            ],
        }
    }

    /// A plain `GET /` with only a Host header.
    pub fn plain_get(host: &str) -> Request {
        Request {
            method: "GET".into(),
            target: "/".into(),
            version: "HTTP/1.1".into(),
            headers: vec![("Host".into(), host.into())],
        }
    }

    pub fn method(mut self, method: &str) -> Request {
        self.method = method.into();
        self
    }

    pub fn version(mut self, version: &str) -> Request {
        self.version = version.into();
        self
    }

    /// Replaces the header (case-insensitive name) or appends it.
    pub fn set(mut self, name: &str, value: &str) -> Request {
        match self
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(h) => h.1 = value.into(),
            None => self.headers.push((name.into(), value.into())),
        }
        self
    }

    pub fn remove(mut self, name: &str) -> Request {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("{} {} {}\r\n", self.method, self.target, self.version);
        for (name, value) in &self.headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str("\r\n");
        out.into_bytes()
    }
}

#[derive(Clone, Debug)]
pub struct Response {
    pub version: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Comma-separated tokens of every header of that name, trimmed and lowercased.
    pub fn tokens(&self, name: &str) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .map(|t| t.trim().to_ascii_lowercase())
            .filter(|t| !t.is_empty())
            .collect()
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads a response head byte by byte (so no frame bytes after it are consumed).
pub fn read_response_head(stream: &mut (impl Read + ?Sized)) -> Response {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(0) => panic!(
                "connection closed inside the response head; got {:?}",
                String::from_utf8_lossy(&head)
            ),
            Ok(_) => head.push(byte[0]),
            Err(e) => panic!(
                "reading the response head failed ({e}); got {:?}",
                String::from_utf8_lossy(&head)
            ),
        }
        assert!(head.len() <= 64 * 1024, "response head over 64 KiB");
    }
    parse_head(&head)
}

fn parse_head(head: &[u8]) -> Response {
    let text = std::str::from_utf8(head).expect("response head is not UTF-8");
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default().to_string();
    let status = parts
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    assert!(
        version.starts_with("HTTP/1."),
        "bad status line {status_line:?}"
    );
    let headers = lines
        .take_while(|l| !l.is_empty())
        .map(|l| {
            let (n, v) = l
                .split_once(':')
                .unwrap_or_else(|| panic!("bad header line {l:?}"));
            (n.trim().to_string(), v.trim().to_string())
        })
        .collect();
    Response {
        version,
        status,
        headers,
        body: Vec::new(),
    }
}

/// Reads a whole response: the head, then a `Content-Length` body, or the body up to EOF
/// when there is no `Content-Length`.
pub fn read_response(stream: &mut (impl Read + ?Sized)) -> Response {
    let mut response = read_response_head(stream);
    match response.header("Content-Length") {
        Some(len) => {
            let len: usize = len.parse().expect("numeric Content-Length");
            response.body = vec![0; len];
            stream
                .read_exact(&mut response.body)
                .unwrap_or_else(|e| panic!("reading a {len}-byte body failed: {e}"));
        }
        None => {
            stream
                .read_to_end(&mut response.body)
                .unwrap_or_else(|e| panic!("reading the body up to EOF failed: {e}"));
        }
    }
    response
}

/// Sends `request`, reads the full response, and asserts that the server then closes the
/// connection (the rule for every refused handshake).
pub fn expect_refused(server: &Server, request: &[u8]) -> Response {
    let mut stream = server.connect();
    stream.write_all(request).unwrap();
    let response = read_response(&mut stream);
    assert!(
        response.status >= 400,
        "expected a refusal, got {}: {response:?}",
        response.status
    );
    assert_server_closes(&mut stream, CLOSE_BOUND);
    response
}

// ---------------------------------------------------------------------------------------
// Frames
// ---------------------------------------------------------------------------------------

/// How a client frame encodes its payload length; anything but `Auto` may lie.
#[derive(Clone, Copy, Debug)]
pub enum Len {
    /// The true length in the minimal encoding.
    Auto,
    /// This 7-bit value (0..=125) whatever the payload.
    Short(u8),
    /// Marker 126 and this 16-bit value.
    Medium(u16),
    /// Marker 127 and this 64-bit value.
    Long(u64),
}

/// A client frame with every header field under the test's control.
#[derive(Clone, Debug)]
pub struct RawFrame {
    pub fin: bool,
    /// RSV1..RSV3 as the low three bits (RSV1 = 0b100).
    pub rsv: u8,
    pub opcode: u8,
    pub mask: Option<[u8; 4]>,
    pub len: Len,
    pub payload: Vec<u8>,
}

static MASK_SEED: AtomicU32 = AtomicU32::new(0x9E37_79B9);

fn next_mask() -> [u8; 4] {
    // A cheap varying key, never all zeroes, so a server that skips unmasking is caught.
    let n = MASK_SEED.fetch_add(0x6D2B_79F5, Ordering::Relaxed) | 0x0101_0101;
    n.to_be_bytes()
}

impl RawFrame {
    /// A final, masked frame with the true length.
    pub fn new(opcode: u8, payload: impl AsRef<[u8]>) -> RawFrame {
        RawFrame {
            fin: true,
            rsv: 0,
            opcode,
            mask: Some(next_mask()),
            len: Len::Auto,
            payload: payload.as_ref().to_vec(),
        }
    }

    pub fn text(payload: impl AsRef<[u8]>) -> RawFrame {
        RawFrame::new(OP_TEXT, payload)
    }

    pub fn binary(payload: impl AsRef<[u8]>) -> RawFrame {
        RawFrame::new(OP_BINARY, payload)
    }

    pub fn cont(payload: impl AsRef<[u8]>) -> RawFrame {
        RawFrame::new(OP_CONT, payload)
    }

    pub fn ping(payload: impl AsRef<[u8]>) -> RawFrame {
        RawFrame::new(OP_PING, payload)
    }

    pub fn pong(payload: impl AsRef<[u8]>) -> RawFrame {
        RawFrame::new(OP_PONG, payload)
    }

    /// A close frame with a status code and reason.
    pub fn close(code: u16, reason: impl AsRef<[u8]>) -> RawFrame {
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(reason.as_ref());
        RawFrame::new(OP_CLOSE, payload)
    }

    /// A close frame with an empty payload.
    pub fn close_empty() -> RawFrame {
        RawFrame::new(OP_CLOSE, [])
    }

    pub fn fin(mut self, fin: bool) -> RawFrame {
        self.fin = fin;
        self
    }

    pub fn rsv(mut self, rsv: u8) -> RawFrame {
        self.rsv = rsv;
        self
    }

    pub fn unmasked(mut self) -> RawFrame {
        self.mask = None;
        self
    }

    pub fn len(mut self, len: Len) -> RawFrame {
        self.len = len;
        self
    }

    /// The header alone: first byte, length, mask key.
    pub fn header(&self) -> Vec<u8> {
        let mut out = vec![(u8::from(self.fin) << 7) | ((self.rsv & 7) << 4) | (self.opcode & 0xF)];
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let len = match self.len {
            Len::Auto => match self.payload.len() {
                n if n <= 125 => Len::Short(n as u8),
                n if n <= 0xFFFF => Len::Medium(n as u16),
                n => Len::Long(n as u64),
            },
            other => other,
        };
        match len {
            Len::Short(n) => out.push(mask_bit | (n & 0x7F)),
            Len::Medium(n) => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&n.to_be_bytes());
            }
            Len::Long(n) => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&n.to_be_bytes());
            }
            Len::Auto => unreachable!(),
        }
        if let Some(key) = self.mask {
            out.extend_from_slice(&key);
        }
        out
    }

    /// Header plus (masked) payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.header();
        match self.mask {
            Some(key) => out.extend(self.payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4])),
            None => out.extend_from_slice(&self.payload),
        }
        out
    }
}

/// Encodes several frames into one buffer, to send them in a single write.
pub fn concat(frames: &[RawFrame]) -> Vec<u8> {
    frames.iter().flat_map(RawFrame::encode).collect()
}

/// Sends frames in a single write.
pub fn send(stream: &mut (impl Write + ?Sized), frames: &[RawFrame]) {
    stream
        .write_all(&concat(frames))
        .unwrap_or_else(|e| panic!("sending frames failed: {e}"));
}

/// A frame as the server sent it.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    pub rsv: u8,
    pub opcode: u8,
    /// Bytes of extended length: 0, 2 or 8.
    pub ext_len_bytes: u8,
    pub payload: Vec<u8>,
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = &self.payload[..self.payload.len().min(64)];
        f.debug_struct("Frame")
            .field("fin", &self.fin)
            .field("rsv", &self.rsv)
            .field("opcode", &self.opcode)
            .field("len", &self.payload.len())
            .field("payload_head", &String::from_utf8_lossy(shown))
            .finish()
    }
}

/// Reads one server frame; errors (including timeouts and EOF) are returned.
pub fn try_read_frame(stream: &mut (impl Read + ?Sized)) -> io::Result<Frame> {
    let mut head = [0u8; 2];
    stream.read_exact(&mut head)?;
    let fin = head[0] & 0x80 != 0;
    let rsv = (head[0] >> 4) & 7;
    let opcode = head[0] & 0xF;
    assert_eq!(
        head[1] & 0x80,
        0,
        "server frames must not be masked (RFC 6455 §5.1)"
    );
    let (len, ext_len_bytes) = match head[1] & 0x7F {
        126 => {
            let mut b = [0u8; 2];
            stream.read_exact(&mut b)?;
            (u64::from(u16::from_be_bytes(b)), 2)
        }
        127 => {
            let mut b = [0u8; 8];
            stream.read_exact(&mut b)?;
            (u64::from_be_bytes(b), 8)
        }
        n => (u64::from(n), 0),
    };
    assert!(
        len < 1 << 31,
        "server frame claims an absurd length {len} (opcode {opcode})"
    );
    let mut payload = vec![0u8; len as usize];
    stream.read_exact(&mut payload)?;
    Ok(Frame {
        fin,
        rsv,
        opcode,
        ext_len_bytes,
        payload,
    })
}

/// Reads one server frame, panicking on timeout, EOF or error.
pub fn read_frame(stream: &mut (impl Read + ?Sized)) -> Frame {
    try_read_frame(stream).unwrap_or_else(|e| match e.kind() {
        ErrorKind::UnexpectedEof => panic!("server closed TCP where a frame was expected"),
        ErrorKind::WouldBlock | ErrorKind::TimedOut => {
            panic!("no frame from the server within the read timeout")
        }
        _ => panic!("expected a frame from the server: {e}"),
    })
}

/// Reads data frames until one has FIN set and returns the opcode of the first and the
/// concatenated payload. Any control frame in between fails the test.
pub fn read_message(stream: &mut (impl Read + ?Sized)) -> (u8, Vec<u8>) {
    let first = read_frame(stream);
    assert!(
        first.opcode == OP_TEXT || first.opcode == OP_BINARY,
        "expected the start of a data message, got {first:?}"
    );
    assert_eq!(first.rsv, 0, "unexpected RSV bits in {first:?}");
    let opcode = first.opcode;
    let mut payload = first.payload;
    let mut fin = first.fin;
    while !fin {
        let next = read_frame(stream);
        assert_eq!(
            next.opcode, OP_CONT,
            "expected a continuation frame, got {next:?}"
        );
        assert_eq!(next.rsv, 0, "unexpected RSV bits in {next:?}");
        payload.extend_from_slice(&next.payload);
        fin = next.fin;
    }
    (opcode, payload)
}

/// The content of a close frame from the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Close {
    pub code: Option<u16>,
    pub reason: String,
}

/// Reads the next frame, which must be a well-formed close frame.
pub fn expect_close(stream: &mut (impl Read + ?Sized)) -> Close {
    parse_close(read_frame(stream))
}

/// Like [`expect_close`], but first skips unfinished fragments of a message the server may
/// have been streaming back when it failed the connection (RFC 6455 allows an endpoint to
/// forward fragments before the message is complete). A finished message is not skipped.
/// The skipped fragments are checked as in [`expect_close_and_partial_echo`].
pub fn expect_close_after_partial_echo(stream: &mut (impl Read + ?Sized)) -> Close {
    expect_close_and_partial_echo(stream).0
}

/// The unfinished message a server forwarded before it failed the connection.
#[derive(Debug)]
pub struct PartialEcho {
    pub opcode: u8,
    /// RSV1: the fragments are compressed (permessage-deflate).
    pub compressed: bool,
    pub payload: Vec<u8>,
}

/// Reads the unfinished fragments that precede a close frame, and the close frame. The
/// fragments must form the start of one message (a data frame, then continuations), and
/// uncompressed text must be valid UTF-8 as far as it goes: a server that fails on a bad
/// byte must not have forwarded it.
pub fn expect_close_and_partial_echo(
    stream: &mut (impl Read + ?Sized),
) -> (Close, Option<PartialEcho>) {
    let mut partial: Option<PartialEcho> = None;
    let mut frame = read_frame(stream);
    while matches!(frame.opcode, OP_TEXT | OP_BINARY | OP_CONT) && !frame.fin {
        match (&mut partial, frame.opcode) {
            (None, OP_TEXT | OP_BINARY) => {
                partial = Some(PartialEcho {
                    opcode: frame.opcode,
                    compressed: frame.rsv & 0b100 != 0,
                    payload: frame.payload,
                })
            }
            (Some(p), OP_CONT) => p.payload.extend_from_slice(&frame.payload),
            (p, opcode) => panic!("opcode {opcode} where {p:?} continues a partial echo"),
        }
        frame = read_frame(stream);
    }
    if let Some(p) = &partial
        && p.opcode == OP_TEXT
        && !p.compressed
        && let Err(e) = std::str::from_utf8(&p.payload)
    {
        // An error with no length is a code point cut at the end: a valid prefix.
        assert!(
            e.error_len().is_none(),
            "the partial text echo forwards invalid UTF-8 at byte {}: {:02x?}",
            e.valid_up_to(),
            &p.payload[e.valid_up_to()..]
        );
    }
    (parse_close(frame), partial)
}

/// Asserts that a partial echo, if any, is uncompressed, starts `sent`, and holds at
/// most `limit` bytes.
pub fn assert_partial_echo_within(partial: Option<PartialEcho>, sent: &[u8], limit: usize) {
    let Some(p) = partial else { return };
    assert!(!p.compressed, "compressed partial echo: {p:?}");
    assert!(
        p.payload.len() <= limit && sent.starts_with(&p.payload),
        "partial echo of {} bytes is not the first {limit} or fewer bytes sent",
        p.payload.len()
    );
}

/// Checks that `frame` is a well-formed close frame and decodes it.
pub fn parse_close(frame: Frame) -> Close {
    assert_eq!(
        frame.opcode, OP_CLOSE,
        "expected a close frame, got {frame:?}"
    );
    assert!(frame.fin, "close frame without FIN");
    assert_eq!(frame.rsv, 0, "close frame with RSV bits");
    let p = &frame.payload;
    assert_ne!(p.len(), 1, "server sent a 1-byte close payload");
    assert!(
        p.len() <= 125,
        "server sent a {}-byte close payload",
        p.len()
    );
    if p.is_empty() {
        return Close {
            code: None,
            reason: String::new(),
        };
    }
    let code = u16::from_be_bytes([p[0], p[1]]);
    let reason = String::from_utf8(p[2..].to_vec())
        .unwrap_or_else(|_| panic!("server close reason is not UTF-8: {:?}", &p[2..]));
    Close {
        code: Some(code),
        reason,
    }
}

/// Sends our close reply (echoing the server's code, or empty); write errors are ignored
/// because the server may already be gone.
pub fn reply_close(stream: &mut (impl Write + ?Sized), close: &Close) {
    let frame = match close.code {
        Some(code) => RawFrame::close(code, ""),
        None => RawFrame::close_empty(),
    };
    let _ = stream.write_all(&frame.encode());
}

/// Asserts the server fails the connection: the next frame is a close with `code` whose
/// reason contains one of `words` (case-insensitive); then we reply and the server must
/// drop TCP promptly.
pub fn expect_fail(stream: &mut TcpStream, code: u16, words: &[&str]) -> Close {
    let close = expect_close(stream);
    assert_close(&close, &[code], words);
    reply_close(stream, &close);
    assert_server_closes(stream, CLOSE_BOUND);
    close
}

/// Asserts the close code is one of `codes` and the reason names the violation.
pub fn assert_close(close: &Close, codes: &[u16], words: &[&str]) {
    assert!(
        close.code.is_some_and(|c| codes.contains(&c)),
        "expected close code in {codes:?}, got {close:?}"
    );
    let reason = close.reason.to_lowercase();
    assert!(
        words.is_empty() || words.iter().any(|w| reason.contains(&w.to_lowercase())),
        "close reason {:?} names none of {words:?}",
        close.reason
    );
}

/// Asserts the server closes the TCP connection within `within`, sending nothing more.
/// A reset counts as closed (the kernel sends one when unread data is discarded).
pub fn assert_server_closes(stream: &mut TcpStream, within: Duration) {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        let left = within.saturating_sub(start.elapsed());
        assert!(
            !left.is_zero(),
            "server did not close TCP within {within:?}"
        );
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => panic!(
                "server sent {n} more bytes where it should have closed TCP: {:02x?}",
                &buf[..n.min(32)]
            ),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
                ) =>
            {
                break;
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("server did not close TCP within {within:?}")
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => panic!("unexpected read error while waiting for EOF: {e}"),
        }
    }
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
}

/// Deterministic test data: `len` bytes of a repeating non-trivial pattern.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + i / 251) as u8).collect()
}

/// Deterministic valid UTF-8 of exactly `len` bytes, mixing 1- to 4-byte code points so
/// that frame boundaries fall inside code points.
pub fn utf8_text(len: usize) -> String {
    const PIECES: [&str; 5] = ["a", "é", "€", "😀", "z"];
    let mut s = String::with_capacity(len);
    let mut i = 0;
    while s.len() < len {
        let piece = PIECES[i % PIECES.len()];
        if s.len() + piece.len() <= len {
            s.push_str(piece);
        } else {
            s.push('.');
        }
        i += 1;
    }
    s
}

// ---------------------------------------------------------------------------------------
// The server's memory
// ---------------------------------------------------------------------------------------

/// A `kB` field of `/proc/PID/status` (`VmRSS`, `VmHWM`, `VmSize`, ...), in KiB; `None`
/// once the process is gone.
pub fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        value.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// The resident memory of `pid` in KiB (`VmRSS`), panicking if it cannot be read.
pub fn rss_kib(pid: u32) -> u64 {
    proc_status_kib(pid, "VmRSS").unwrap_or_else(|| panic!("no VmRSS for pid {pid}"))
}

/// How many file descriptors `pid` has open (entries of `/proc/PID/fd`).
pub fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/fd: {e}"))
        .count()
}

/// Waits up to `within` for `pid` to hold at most `target` descriptors; returns how long
/// that took, or `None` if it did not happen in time.
pub fn wait_fd_count_at_most(pid: u32, target: usize, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if fd_count(pid) <= target {
            return Some(start.elapsed());
        }
        if start.elapsed() >= within {
            return None;
        }
        thread::sleep(Duration::from_millis(5));
    }
}
