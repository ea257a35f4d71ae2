//! The load generator's command line.

use std::net::IpAddr;

use clap::{Parser, ValueEnum};

use crate::payload::Kind;

/// Load generator for WebSocket echo servers: one thread, masks every frame it sends and
/// verifies every byte echoed back, then prints one `key=value` line describing the run.
#[derive(Parser, Debug, Clone)]
#[command(version)]
pub struct Args {
    /// What to measure.
    #[arg(value_enum)]
    pub mode: Mode,

    /// Server address.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,

    /// Server port.
    #[arg(long, short)]
    pub port: u16,

    /// Pid of the server process, for its CPU time (/proc/PID/task/*/schedstat, else
    /// /proc/PID/stat) and memory (/proc/PID/status).
    #[arg(long)]
    pub server_pid: Option<u32>,

    /// The server echoes raw bytes (the raw peer): accept our own masked frames coming back.
    #[arg(long)]
    pub raw: bool,

    /// Speak TLS (wss://): TLS 1.3, ALPN http/1.1 (h2 with --h2), the server's certificate
    /// not verified.
    #[arg(long)]
    pub tls: bool,

    /// Carry each connection's WebSocket over HTTP/2 (RFC 8441 extended CONNECT), one
    /// stream per connection: h2c with prior knowledge, or with --tls ALPN h2 (required).
    #[arg(long, conflicts_with = "raw")]
    pub h2: bool,

    /// Connections (pingpong, bulk, rate, idle; idle defaults to 10000 when not given).
    #[arg(long, short)]
    pub conns: Option<usize>,

    /// Messages in flight on each connection (pingpong, bulk).
    #[arg(long, short = 'k', default_value_t = 1)]
    pub inflight: u64,

    /// Message payload size in bytes.
    #[arg(long, short, default_value_t = 20)]
    pub size: usize,

    /// Message type.
    #[arg(long, value_enum, default_value_t = Kind::Binary)]
    pub kind: Kind,

    /// Seconds measured, after the warm-up.
    #[arg(long, short, default_value_t = 5.0)]
    pub duration: f64,

    /// Seconds run before measuring, so every server is in its steady state.
    #[arg(long, default_value_t = 1.0)]
    pub warmup: f64,

    /// Pingpong/bulk: stop after exactly this many echoes instead of after a duration (no
    /// warm-up); used to count instructions per message under callgrind.
    #[arg(long)]
    pub messages: Option<u64>,

    /// Rate mode: messages per second offered across all connections.
    #[arg(long, default_value_t = 50_000.0)]
    pub rate: f64,

    /// Connect and idle modes: handshakes in progress at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,

    /// Idle mode: round trips each connection makes before it goes idle, so servers that
    /// allocate lazily on the first message are measured as they will be in use.
    #[arg(long, default_value_t = 1)]
    pub idle_echo: u64,

    /// Idle mode: seconds to wait after the last echo before reading the server's memory.
    #[arg(long, default_value_t = 0.5)]
    pub settle: f64,

    /// Seconds allowed for setup (connecting, upgrading) and, with --messages, for the whole run.
    #[arg(long, default_value_t = 60.0)]
    pub timeout: f64,

    /// Text printed at the start of the result line (e.g. `workload=x server=y`).
    #[arg(long, default_value = "")]
    pub tag: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Closed loop: each echo triggers the next message; msgs/s and latency percentiles.
    Pingpong,
    /// Fixed offered rate: the server's CPU seconds per million messages.
    Rate,
    /// Large messages (pingpong with throughput in MB/s and the server's peak RSS).
    Bulk,
    /// Handshake churn: open, upgrade, close, drop; handshakes/s and server CPU per connection.
    Connect,
    /// Many idle upgraded connections: server RSS per connection.
    Idle,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Pingpong => "pingpong",
            Mode::Rate => "rate",
            Mode::Bulk => "bulk",
            Mode::Connect => "connect",
            Mode::Idle => "idle",
        }
    }
}
