//! The server process: start the real binary on a free port, read its listening
//! line and its log, signal it, wait for it.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tungstenite::WebSocket;

use super::*;

/// A running `wsecho`; killed when dropped. Its stderr is kept and printed if the test
/// panics, so failures come with the server's log.
pub struct Server {
    child: Child,
    addr: SocketAddr,
    /// The line wsecho printed when it was ready.
    pub listening: String,
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
            listening: String::new(),
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
        if !line.starts_with("wsecho listening on ") {
            return Err(format!("unexpected listening line from wsecho: {line:?}"));
        }
        // (A server listening only on Unix sockets has no TCP address.)
        if let Some(addr) = parse_listening_line(&line) {
            server.addr = addr;
        }
        server.listening = line;
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

    /// The log once `needle` occurs in it `times` times, or as it is after `within` (the
    /// log pipe may lag what the server did): the caller asserts on what it gets, so the
    /// result must be used.
    #[must_use = "assert on the log: it is returned as it is when the wait timed out"]
    pub fn wait_for_log(&self, needle: &str, times: usize, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let log = self.log();
            if log.matches(needle).count() >= times || Instant::now() > deadline {
                return log;
            }
            thread::sleep(Duration::from_millis(10));
        }
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

/// Closes `ws` and reads until the close handshake completes: no data message may come
/// after the close, and the connection must end cleanly.
pub fn close_cleanly(ws: &mut WebSocket<TcpStream>) {
    ws.close(None).unwrap();
    loop {
        match ws.read() {
            Ok(tungstenite::Message::Close(_)) => continue,
            Ok(other) => panic!("unexpected message after close: {other:?}"),
            Err(tungstenite::Error::ConnectionClosed) => break,
            Err(e) => panic!("close handshake did not complete cleanly: {e}"),
        }
    }
}
