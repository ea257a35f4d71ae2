//! `wsecho`: a strict RFC 6455 WebSocket echo server on one mio event loop.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{ArgGroup, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use wsecho::{
    Bytes, Config, DeflatePolicy, Endpoint, LogPipe, MAX_WINDOW_BITS, MIN_USABLE_WINDOW_BITS,
    PeerFilter, RunError, TlsOptions, Trace, TraceFormat, TraceOptions, TraceSelect, TraceSink,
    backpressure_floor, defaults, fit_to_fd_limit, is_token, resolve,
};

/// A strict, fast RFC 6455 WebSocket echo server: the known-good peer for testing
/// WebSocket clients, proxies and gateways.
///
/// Every text and binary message is echoed with the same opcode and payload, pings are
/// answered, and a client that breaks the protocol is failed with the close code and a
/// reason naming the rule it broke. Set RUST_LOG=wsecho=debug to log each connection.
#[derive(Parser, Debug)]
#[command(version, about, long_about)]
// `wsecho verdict ...` beside the server's own flags, which a subcommand cannot follow.
#[command(args_conflicts_with_subcommands = true, disable_help_subcommand = true)]
#[command(group(ArgGroup::new("trace_select").multiple(true).args(["trace", "trace_peer", "trace_on_request"])))]
struct Cli {
    /// Address to listen on: an IPv4 or IPv6 address (`0.0.0.0` or `::` for all
    /// interfaces), or a name, resolved, wsecho listening on each of its addresses
    /// (`localhost`: 127.0.0.1 and ::1).
    #[arg(long, default_value = "127.0.0.1", value_name = "HOST")]
    host: String,

    /// TCP port to listen on; 0 picks a free port (the listening line prints it).
    #[arg(long, short, default_value_t = 5050)]
    port: u16,

    /// Listen on a Unix stream socket at PATH (repeatable): instead of TCP, or beside it
    /// when --host or --port is given too. A stale socket file left by a wsecho that
    /// died is replaced; the file is removed on exit.
    #[arg(long, value_name = "PATH")]
    unix: Vec<PathBuf>,

    /// Event loops to run, each single-threaded on a thread of its own, with its own
    /// listening socket per address (SO_REUSEPORT: the kernel spreads connections);
    /// 0 for one per available core. Counters, /metrics and --max-connections cover all.
    #[arg(long, default_value_t = 1, value_name = "N")]
    threads: usize,

    /// Mode bits of the --unix socket files, in octal (e.g. 660: owner and group may
    /// connect). Default: as the umask leaves them.
    #[arg(long, value_name = "OCTAL", value_parser = octal_mode, requires = "unix")]
    unix_mode: Option<u32>,

    /// Largest message accepted, in bytes (after decompression); bigger ones are refused with close code 1009.
    #[arg(long, default_value_t = Bytes(defaults::MAX_MESSAGE_SIZE), value_name = "BYTES")]
    max_message_size: Bytes,

    /// Largest single frame payload accepted, in bytes; bigger frames are refused with 1009.
    /// Defaults to --max-message-size.
    #[arg(long, value_name = "BYTES")]
    max_frame_size: Option<Bytes>,

    /// A text frame up to this many bytes is held until it is whole (its UTF-8 checked
    /// as it arrives) and echoed as one frame; a longer one is echoed in pieces as it
    /// arrives. Binary frames are always echoed as one frame.
    #[arg(long, default_value_t = Bytes(defaults::MAX_HELD_FRAME as u64), value_name = "BYTES")]
    max_held_frame: Bytes,

    /// Largest HTTP upgrade request head, in bytes; bigger requests get 431.
    #[arg(long, default_value_t = Bytes(defaults::MAX_HEADER_BYTES as u64), value_name = "BYTES")]
    max_header_size: Bytes,

    /// Seconds a client has to send its complete upgrade request before the connection is dropped.
    #[arg(long, default_value_t = defaults::HANDSHAKE_TIMEOUT_SECS, value_name = "SECONDS")]
    handshake_timeout: f64,

    /// Seconds the peer has to close TCP once the connection is closing: after our close
    /// frame (and FIN), after our reply to its close frame, or after an HTTP refusal. When
    /// wsecho started the close for its own reasons, the client's close frame also ends it.
    #[arg(long, default_value_t = defaults::CLOSE_TIMEOUT_SECS, value_name = "SECONDS")]
    close_timeout: f64,

    /// Pending output per connection, in bytes, past which wsecho stops reading from that
    /// client until it reads its echoes (backpressure). Small by default: the socket's
    /// send buffer is the queue, and reading ahead of it only costs memory and copies.
    #[arg(long, default_value_t = Bytes(defaults::WRITE_HIGH_WATER as u64), value_name = "BYTES")]
    write_high_water: Bytes,

    /// Pending output per connection, in bytes, past which the client is closed with 1008
    /// (a safety net above --write-high-water for output one read can multiply).
    #[arg(long, default_value_t = Bytes(defaults::MAX_BACKPRESSURE as u64), value_name = "BYTES")]
    max_backpressure: Bytes,

    /// Close (1001) a connection that sends nothing for this many seconds. Any frame
    /// counts, pongs to --ping-interval pings included, and so does the client taking
    /// echoes that were waiting for it (backpressure). Off by default.
    #[arg(long, value_name = "SECONDS")]
    idle_timeout: Option<f64>,

    /// Ping a connection that sends nothing (nor takes echoes that waited for it) for this
    /// many seconds. Off by default.
    #[arg(long, value_name = "SECONDS")]
    ping_interval: Option<f64>,

    /// Drop a connection that sends nothing (nor takes echoes that waited for it) for this
    /// many seconds after a keepalive ping.
    #[arg(long, default_value_t = defaults::PING_TIMEOUT_SECS, value_name = "SECONDS")]
    ping_timeout: f64,

    /// A subprotocol wsecho speaks (repeat for more, in order of preference): the first
    /// of them the client offers is chosen, none if it offers none. Without this option
    /// the client's first offer is chosen.
    #[arg(long = "subprotocol", value_name = "NAME", value_parser = subprotocol_name)]
    subprotocols: Vec<String>,

    /// Connections served at once; clients past it get HTTP 503. Default: 100000, or
    /// fewer if the file-descriptor limit (raised to its hard limit at start) allows fewer
    /// (a sixteenth of it, at least 64, is kept for the server and its 503s); a larger
    /// explicit value is lowered to fit it, with a warning.
    #[arg(long, value_name = "N")]
    max_connections: Option<usize>,

    /// Do not negotiate permessage-deflate (RFC 7692), even when the client offers it.
    #[arg(long)]
    no_deflate: bool,

    /// Do not speak HTTP/2: no `h2` in TLS's ALPN, and an HTTP/2 preface on a cleartext
    /// port is read as a bad HTTP/1.1 request. Without this flag WebSockets are served
    /// over HTTP/2 too (RFC 8441), on the same port.
    #[arg(long)]
    no_http2: bool,

    /// Compression level for echoed compressed messages, 0 (none) to 9 (smallest).
    #[arg(long, default_value_t = defaults::DEFLATE_LEVEL, value_name = "0-9",
          value_parser = clap::value_parser!(u32).range(0..=9))]
    deflate_level: u32,

    /// Echoed messages shorter than this many bytes are sent uncompressed (at most 65536:
    /// a message is held until it is known to reach it).
    #[arg(long, default_value_t = Bytes(0), value_name = "BYTES")]
    deflate_min_size: Bytes,

    /// Largest LZ77 window (9–15) of wsecho's compressor: a smaller window costs less
    /// memory per compressing connection (the README gives the measured sizes).
    #[arg(long, default_value_t = MAX_WINDOW_BITS, value_name = "BITS",
          value_parser = clap::value_parser!(u8).range(i64::from(MIN_USABLE_WINDOW_BITS)..=i64::from(MAX_WINDOW_BITS)))]
    deflate_max_window_bits: u8,

    /// Negotiate no context takeover both ways, so compression state is freed between
    /// messages: idle deflate connections then cost nothing, at some CPU and ratio.
    #[arg(long)]
    deflate_no_context_takeover: bool,

    /// Serve wss:// (TLS 1.2 and 1.3) on the same port as ws:// with this certificate
    /// chain: a PEM file, the server's certificate first, then its intermediates.
    #[arg(long, value_name = "FILE", help_heading = "TLS")]
    tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert: a PEM file (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "FILE", help_heading = "TLS")]
    tls_key: Option<PathBuf>,

    /// Serve wss:// with a certificate made at start for localhost, 127.0.0.1 and ::1;
    /// the listening line shows its SHA-256 fingerprint.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"], help_heading = "TLS")]
    tls_self_signed: bool,

    /// Write the --tls-self-signed certificate to FILE (PEM), for clients to trust.
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_self_signed",
        help_heading = "TLS"
    )]
    tls_write_cert: Option<PathBuf>,

    /// Refuse cleartext: ws:// requests get HTTP 400 saying to use wss://.
    #[arg(long, help_heading = "TLS")]
    tls_only: bool,

    /// Trace every connection: its handshake heads, every frame both ways and its TCP
    /// events, one numbered line per item (the README shows an example).
    #[arg(long, help_heading = "Trace")]
    trace: bool,

    /// Trace the connections from this address (an IP, or IP:PORT); repeatable.
    #[arg(long, value_name = "ADDR", help_heading = "Trace")]
    trace_peer: Vec<PeerFilter>,

    /// Trace the connections whose request target asks for it with a `trace` query
    /// parameter (`ws://host:port/?trace`).
    #[arg(long, help_heading = "Trace")]
    trace_on_request: bool,

    /// Write the trace to FILE (created or truncated) instead of stderr.
    #[arg(
        long,
        value_name = "FILE",
        requires = "trace_select",
        help_heading = "Trace"
    )]
    trace_file: Option<PathBuf>,

    /// How trace lines are written: `text` (Autobahn's wire-log style) or `jsonl` (one
    /// JSON object per line).
    #[arg(long, value_enum, default_value_t = Format::Text, value_name = "FORMAT",
          requires = "trace_select", help_heading = "Trace")]
    trace_format: Format,

    /// Payload bytes shown per traced frame (in hex, and as text for text frames).
    #[arg(long, default_value_t = Bytes(defaults::TRACE_PAYLOAD_BYTES as u64), value_name = "BYTES",
          requires = "trace_select", help_heading = "Trace")]
    trace_payload_bytes: Bytes,

    /// Also trace the raw bytes of each read and write (RX/TX OCTETS).
    #[arg(long, requires = "trace_select", help_heading = "Trace")]
    trace_octets: bool,

    /// Autobahn's spec file choosing the client suite's cases: its `cases`,
    /// `exclude-cases` and `exclude-agent-cases` (all 517 cases without it).
    #[arg(long, value_name = "FILE", help_heading = "Client suite")]
    suite_spec: Option<std::path::PathBuf>,

    /// Also write the client suite's reports to DIR (index.json, one JSON per case run,
    /// AGENT_junit.xml) each time a driver asks for /updateReports. They are served at
    /// /reports/ either way.
    #[arg(long, value_name = "DIR", help_heading = "Client suite")]
    reports: Option<std::path::PathBuf>,

    #[command(subcommand)]
    command: Option<Command>,
}

/// What wsecho does besides serving.
#[derive(Subcommand, Debug)]
enum Command {
    /// Gate on an Autobahn report: exit 1 unless every case passes (or matches a baseline)
    ///
    /// Reads an index.json (wsecho's, or Autobahn's own report of clients or of servers),
    /// prints per agent how many cases got each grade, then every case whose behavior or
    /// behaviorClose is not OK, NON-STRICT or INFORMATIONAL; with --baseline, instead
    /// every case whose grades differ from the baseline's, and every case only one side
    /// has. Exit status: 0 when nothing is listed, 1 when something is, 2 when the input
    /// is unusable (a missing file, a document that is not a report, an unknown agent).
    Verdict(VerdictArgs),
}

/// `wsecho verdict`'s arguments.
#[derive(Args, Debug)]
struct VerdictArgs {
    /// A report directory (its index.json is read) or an index.json file.
    #[arg(value_name = "DIR_OR_INDEX_JSON")]
    report: PathBuf,

    /// Judge only this agent (the client's or server's name in the report). Default: all.
    #[arg(long, value_name = "AGENT")]
    agent: Option<String>,

    /// Compare with this index.json (a report directory, or results per case such as
    /// autobahn/expected-results.json) instead of requiring every case to pass.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,

    /// Also write the judged agents' results as JUnit XML to FILE (a failure for each
    /// case that does not pass, whatever the baseline).
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

/// `wsecho verdict`: the verdict on stdout and exit 0 or 1, or one line on stderr and 2.
fn verdict(args: &VerdictArgs) -> ExitCode {
    let options = wsecho::VerdictOptions {
        report: args.report.clone(),
        agent: args.agent.clone(),
        baseline: args.baseline.clone(),
        junit: args.junit.clone(),
    };
    match wsecho::verdict(&options) {
        Ok(verdict) => {
            // A closed stdout loses the text, not the verdict: the exit status still says it.
            let _ = std::io::stdout().write_all(verdict.text.as_bytes());
            if verdict.clean {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("wsecho verdict: {e}");
            ExitCode::from(2)
        }
    }
}

/// `--trace-format`.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Jsonl,
}

/// The connections the trace flags select.
fn trace_select(cli: &Cli) -> TraceSelect {
    TraceSelect {
        all: cli.trace,
        peers: cli.trace_peer.clone(),
        on_request: cli.trace_on_request,
    }
}

/// The trace goes to stderr, where the log goes.
fn trace_on_stderr(cli: &Cli) -> bool {
    !trace_select(cli).is_off() && cli.trace_file.is_none()
}

/// The trace the flags ask for, its file opened, carrying `log` when both go to stderr:
/// `None` when no connection is selected.
fn trace_from(cli: &Cli, log: &LogPipe) -> Result<Option<Trace>, String> {
    let select = trace_select(cli);
    if select.is_off() {
        return Ok(None);
    }
    let format = match cli.trace_format {
        Format::Text => TraceFormat::Text,
        Format::Jsonl => TraceFormat::Jsonl,
    };
    let out: Box<dyn std::io::Write + Send> = match &cli.trace_file {
        None => Box::new(std::io::stderr()),
        Some(path) => Box::new(
            std::fs::File::create(path)
                .map_err(|e| format!("--trace-file {}: {e}", path.display()))?,
        ),
    };
    let mut sink = TraceSink::start(out, format).map_err(|e| format!("trace writer: {e}"))?;
    if trace_on_stderr(cli) {
        sink.carry_log(log);
    }
    Ok(Some(Trace {
        select,
        options: std::sync::Arc::new(TraceOptions {
            format,
            payload_bytes: cli.trace_payload_bytes.to_usize("trace-payload-bytes")?,
            octets: cli.trace_octets,
        }),
        sink,
    }))
}

/// Largest `--deflate-min-size`: below it, a message's inflated bytes are held until it
/// reaches the size, so the bound is per connection memory.
const MAX_DEFLATE_MIN_SIZE: u64 = 64 << 10;

/// Longest time limit accepted: deadlines are instants, and an absurd limit would
/// overflow one instead of meaning "never".
const MAX_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

/// A time limit: more than 0 (a limit of 0, or one that rounds to 0 ns, would end every
/// connection at once; a limit that is off is an option left out) and at most a year.
/// Negative and NaN values fail the conversion.
fn seconds(s: f64, name: &str) -> Result<Duration, String> {
    match Duration::try_from_secs_f64(s) {
        Ok(d) if !d.is_zero() && s <= MAX_SECONDS => Ok(d),
        _ => Err(format!(
            "--{name} must be more than 0 and at most {MAX_SECONDS} seconds (one year)"
        )),
    }
}

/// A `--unix-mode` value: permission bits in octal, at most 777.
fn octal_mode(s: &str) -> Result<u32, String> {
    u32::from_str_radix(s, 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| format!("{s:?} is not a mode: octal permission bits such as 660"))
}

/// Where to listen: the --unix sockets; and TCP at --host and --port unless only
/// --unix was given.
fn endpoints(cli: &Cli, tcp_asked: bool) -> Result<Vec<Endpoint>, String> {
    let mut endpoints = Vec::new();
    if cli.unix.is_empty() || tcp_asked {
        endpoints.extend(resolve(&cli.host, cli.port)?.into_iter().map(Endpoint::Tcp));
    }
    endpoints.extend(cli.unix.iter().map(|path| Endpoint::Unix {
        path: path.clone(),
        mode: cli.unix_mode,
    }));
    Ok(endpoints)
}

/// A `--subprotocol` value: an HTTP token, as RFC 6455 §4.1 requires of the names.
fn subprotocol_name(name: &str) -> Result<String, String> {
    if is_token(name) {
        Ok(name.to_string())
    } else {
        Err(
            "a subprotocol name is a token: visible ASCII, no separators like , ; / or spaces"
                .into(),
        )
    }
}

fn config_from(cli: &Cli) -> Result<Config, String> {
    let deflate = (!cli.no_deflate).then(|| DeflatePolicy {
        server_max_window_bits: cli.deflate_max_window_bits,
        server_no_context_takeover: cli.deflate_no_context_takeover,
        client_no_context_takeover: cli.deflate_no_context_takeover,
        ..DeflatePolicy::default()
    });
    let optional = |s: Option<f64>, name: &str| s.map(|s| seconds(s, name)).transpose();
    let write_high_water = cli.write_high_water.to_usize("write-high-water")?;
    let max_backpressure = cli.max_backpressure.to_usize("max-backpressure")?;
    let floor = backpressure_floor(write_high_water);
    if max_backpressure < floor {
        return Err(format!(
            "--max-backpressure ({}) must be at least --write-high-water ({}) plus one \
             read's echoes ({} KiB): {floor}",
            cli.max_backpressure,
            cli.write_high_water,
            backpressure_floor(0) >> 10
        ));
    }
    if cli.deflate_min_size.0 > MAX_DEFLATE_MIN_SIZE {
        return Err(format!(
            "--deflate-min-size {} is over its limit of {}",
            cli.deflate_min_size,
            Bytes(MAX_DEFLATE_MIN_SIZE)
        ));
    }
    Ok(Config {
        max_message_size: cli.max_message_size.0,
        max_frame_size: cli.max_frame_size.unwrap_or(cli.max_message_size).0,
        max_header_bytes: cli.max_header_size.to_usize("max-header-size")?,
        handshake_timeout: seconds(cli.handshake_timeout, "handshake-timeout")?,
        close_timeout: seconds(cli.close_timeout, "close-timeout")?,
        write_high_water,
        max_backpressure,
        idle_timeout: optional(cli.idle_timeout, "idle-timeout")?,
        ping_interval: optional(cli.ping_interval, "ping-interval")?,
        ping_timeout: seconds(cli.ping_timeout, "ping-timeout")?,
        subprotocols: cli.subprotocols.clone(),
        max_connections: cli.max_connections.unwrap_or(defaults::MAX_CONNECTIONS),
        deflate,
        deflate_level: cli.deflate_level,
        deflate_min_size: cli.deflate_min_size.to_usize("deflate-min-size")?,
        max_held_frame: cli.max_held_frame.to_usize("max-held-frame")?,
        http2: !cli.no_http2,
        suite: std::sync::Arc::new(suite_from(cli)?),
    })
}

/// The client suite: the spec's cases (all without one), and where reports go.
fn suite_from(cli: &Cli) -> Result<wsecho::Suite, String> {
    let mut suite = match &cli.suite_spec {
        None => wsecho::Suite::default(),
        Some(path) => {
            let text =
                std::fs::read(path).map_err(|e| format!("--suite-spec {}: {e}", path.display()))?;
            wsecho::Suite::from_spec(&text)
                .map_err(|e| format!("--suite-spec {}: {e}", path.display()))?
        }
    };
    if let Some(dir) = &cli.reports {
        std::fs::create_dir_all(dir).map_err(|e| format!("--reports {}: {e}", dir.display()))?;
        suite.set_reports_dir(dir.clone());
    }
    Ok(suite)
}

/// A bad flag or file: one line, exit code 2.
fn startup_error(e: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("wsecho: {e}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    // The query behaviours, listed from the one table the page and the errors use too.
    let matches = Cli::command()
        .after_help("Query behaviours (ws://HOST:PORT/?close=4000 and more): see --help.")
        .after_long_help(wsecho::behaviours_help())
        .get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    if let Some(Command::Verdict(args)) = &cli.command {
        return verdict(args);
    }
    // With the trace on stderr too, the log goes behind it (see LogPipe).
    let log_pipe = LogPipe::default();
    let mut logger =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("wsecho=info"));
    if trace_on_stderr(&cli) {
        logger.target(env_logger::Target::Pipe(Box::new(log_pipe.clone())));
    }
    logger.init();
    let given = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
    let endpoints = match endpoints(&cli, given("host") || given("port")) {
        Ok(value) => value,
        Err(e) => return startup_error(&e),
    };
    let mut config = match config_from(&cli) {
        Ok(value) => value,
        Err(e) => return startup_error(&e),
    };
    let tls = TlsOptions {
        cert: cli.tls_cert.clone(),
        key: cli.tls_key.clone(),
        self_signed: cli.tls_self_signed,
        write_cert: cli.tls_write_cert.clone(),
        only: cli.tls_only,
        http2: !cli.no_http2,
    };
    let tls = match tls.build() {
        Ok(value) => value,
        Err(e) => return startup_error(&e),
    };
    let trace = match trace_from(&cli, &log_pipe) {
        Ok(value) => value,
        Err(e) => return startup_error(&e),
    };
    fit_to_fd_limit(&mut config, cli.max_connections.is_some());
    let threads = match cli.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    match wsecho::run(&endpoints, config, tls, trace, threads) {
        Ok(()) => ExitCode::SUCCESS,
        Err(RunError::Listen(e)) => startup_error(&e),
        Err(e) => {
            eprintln!("wsecho: {e}");
            ExitCode::FAILURE
        }
    }
}
