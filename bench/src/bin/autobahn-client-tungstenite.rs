//! `autobahn-client-tungstenite`: tungstenite (blocking) as the client under test of an
//! Autobahn fuzzingserver (`wstest -m fuzzingserver`, or any server speaking its driver
//! protocol).
//!
//! ```text
//! autobahn-client-tungstenite ws://127.0.0.1:9001 tungstenite [--cases 1-517] [--case-timeout 200]
//! ```
//!
//! The driver protocol: one connection to `BASE/getCaseCount` (one text message, the count),
//! then for each case `BASE/runCase?case=N&agent=AGENT`, echoing every text and binary message
//! as it came until the connection ends, then `BASE/updateReports?agent=AGENT`.
//!
//! Offers no extension: tungstenite 0.30 has no permessage-deflate, so the 12.x and 13.x
//! cases grade it UNIMPLEMENTED. Message and frame limits are raised to 64 MiB (the suite's
//! largest message is 16 MiB; tungstenite's default frame limit is exactly that).
//!
//! A case that has not ended after `--case-timeout` seconds (default 200: twice the 100 s
//! the 9.x cases wait for an echo) is abandoned with a line `case N: TIMEOUT ...`; a case
//! whose connection cannot be opened gets `case N: FAILED ...`. Errors the library raises
//! while a case runs (protocol errors, invalid UTF-8, a dropped connection) are how many
//! cases end and are not failures. The last line is
//! `AGENT: N cases run, N timed out, N failed`; the exit status is 0 only if none timed out
//! or failed (2 if the case count or the report update failed).

use std::io::ErrorKind;
use std::net::{TcpStream, ToSocketAddrs};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use tokio_tungstenite::tungstenite::client::client_with_config;
use tokio_tungstenite::tungstenite::handshake::HandshakeError;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error, Message, WebSocket};

const LIMIT: usize = 64 << 20;

#[derive(Parser)]
#[command(about = "tungstenite as the client under test of an Autobahn fuzzingserver")]
struct Args {
    /// The fuzzingserver's base URL, ws://HOST:PORT
    base: String,
    /// The agent name the cases are reported under
    agent: String,
    /// Cases to run: N or FIRST-LAST (1-based, as the server numbers them); default all
    #[arg(long)]
    cases: Option<String>,
    /// Seconds a case may take before it is abandoned
    #[arg(long, default_value_t = 200)]
    case_timeout: u64,
}

/// How a case's connection ended.
enum End {
    /// The connection closed or the library failed it: the case ran.
    Done,
    /// The deadline passed first.
    Timeout,
    /// The connection could not be opened.
    Failed(String),
}

fn main() -> ExitCode {
    let args = Args::parse();
    let base = args.base.trim_end_matches('/').to_string();
    let agent = encode(&args.agent);
    let timeout = Duration::from_secs(args.case_timeout);

    let count = match case_count(&base, timeout) {
        Ok(n) => n,
        Err(e) => {
            eprintln!(
                "{}: FAILED to get the case count from {base}: {e}",
                args.agent
            );
            return ExitCode::from(2);
        }
    };
    let (first, last) = match range(args.cases.as_deref(), count) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}: {e}", args.agent);
            return ExitCode::from(2);
        }
    };
    println!(
        "{}: the server has {count} cases; running {first}-{last}",
        args.agent
    );

    let (mut run, mut timed_out, mut failed) = (0, 0, 0);
    for case in first..=last {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        let started = Instant::now();
        match run_case(&url, timeout) {
            End::Done => {}
            End::Timeout => {
                timed_out += 1;
                println!(
                    "case {case}: TIMEOUT after {}s (connection abandoned)",
                    args.case_timeout
                );
            }
            End::Failed(e) => {
                failed += 1;
                println!("case {case}: FAILED {e}");
            }
        }
        run += 1;
        let took = started.elapsed();
        if took > Duration::from_secs(5) {
            println!("case {case}: took {:.1}s", took.as_secs_f64());
        }
    }

    let mut status = ExitCode::SUCCESS;
    let url = format!("{base}/updateReports?agent={agent}");
    if let End::Timeout | End::Failed(_) = run_case(&url, timeout) {
        eprintln!("{}: FAILED to update the reports at {url}", args.agent);
        status = ExitCode::from(2);
    }
    println!(
        "{}: {run} cases run, {timed_out} timed out, {failed} failed",
        args.agent
    );
    if status == ExitCode::SUCCESS && (timed_out > 0 || failed > 0) {
        status = ExitCode::from(1);
    }
    status
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `--cases` as an inclusive range within 1..=count.
fn range(spec: Option<&str>, count: u32) -> Result<(u32, u32), String> {
    let Some(spec) = spec else {
        return Ok((1, count));
    };
    let parse = |s: &str| {
        s.trim()
            .parse::<u32>()
            .map_err(|_| format!("--cases wants N or FIRST-LAST, not '{spec}'"))
    };
    let (first, last) = match spec.split_once('-') {
        Some((a, b)) => (parse(a)?, parse(b)?),
        None => (parse(spec)?, parse(spec)?),
    };
    if first < 1 || first > last || last > count {
        return Err(format!(
            "--cases {spec} is not within the server's 1-{count}"
        ));
    }
    Ok((first, last))
}

/// Opens a WebSocket to `url` within `deadline`, with the raised limits.
fn open(url: &str, deadline: Instant) -> Result<WebSocket<TcpStream>, String> {
    let rest = url
        .strip_prefix("ws://")
        .ok_or_else(|| format!("only ws:// URLs: {url}"))?;
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    let addr = authority
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("no address for {authority}"))?;
    let left = deadline.saturating_duration_since(Instant::now());
    let stream = TcpStream::connect_timeout(&addr, left.max(Duration::from_millis(1)))
        .map_err(|e| format!("connect {addr}: {e}"))?;
    let _ = stream.set_nodelay(true);
    set_timeouts(&stream, deadline);
    let config = WebSocketConfig::default()
        .max_message_size(Some(LIMIT))
        .max_frame_size(Some(LIMIT));
    match client_with_config(url, stream, Some(config)) {
        Ok((ws, _)) => Ok(ws),
        Err(HandshakeError::Interrupted(_)) => Err("opening handshake timed out".into()),
        Err(HandshakeError::Failure(e)) => Err(format!("opening handshake: {e}")),
    }
}

/// Socket read and write timeouts that end at `deadline`.
fn set_timeouts(stream: &TcpStream, deadline: Instant) {
    let left = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1));
    let _ = stream.set_read_timeout(Some(left));
    let _ = stream.set_write_timeout(Some(left));
}

/// Runs one connection: echoes text and binary messages until it ends.
fn run_case(url: &str, timeout: Duration) -> End {
    let deadline = Instant::now() + timeout;
    let mut ws = match open(url, deadline) {
        Ok(ws) => ws,
        Err(e) if e.contains("timed out") => return End::Timeout,
        Err(e) => return End::Failed(e),
    };
    loop {
        set_timeouts(ws.get_ref(), deadline);
        let result = match ws.read() {
            Ok(msg @ (Message::Text(_) | Message::Binary(_))) => ws.send(msg),
            // Pings are answered and a close is echoed by tungstenite itself.
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => {}
            Err(Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                if Instant::now() >= deadline {
                    return End::Timeout;
                }
            }
            // Closed, or failed by the library (as many cases want): the case ran.
            Err(_) => return End::Done,
        }
    }
}

/// The server's case count: one text message on `/getCaseCount`.
fn case_count(base: &str, timeout: Duration) -> Result<u32, String> {
    let deadline = Instant::now() + timeout;
    let mut ws = open(&format!("{base}/getCaseCount"), deadline)?;
    loop {
        set_timeouts(ws.get_ref(), deadline);
        match ws.read() {
            Ok(Message::Text(t)) => {
                let n = t
                    .trim()
                    .parse::<u32>()
                    .map_err(|_| format!("not a count: '{}'", t.as_str()))?;
                // Read on until the server's close, so it sees a clean close.
                while ws.read().is_ok() {}
                return Ok(n);
            }
            Ok(_) => {}
            Err(e) => return Err(format!("no count message: {e}")),
        }
    }
}
