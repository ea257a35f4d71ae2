//! `wsecho`: a strict RFC 6455 WebSocket echo server on one mio event loop.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use wsecho::config::Config;
use wsecho::deflate::DeflatePolicy;

/// A strict, fast RFC 6455 WebSocket echo server: the known-good peer for testing
/// WebSocket clients, proxies and gateways.
///
/// Every text and binary message is echoed with the same opcode and payload, pings are
/// answered, and a client that breaks the protocol is failed with the close code and a
/// reason naming the rule it broke. Set RUST_LOG=wsecho=debug to log each connection.
#[derive(Parser, Debug)]
#[command(version, about, long_about)]
struct Cli {
    /// Address to listen on: an IPv4 or IPv6 address (`0.0.0.0` or `::` for all interfaces).
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,

    /// TCP port to listen on; 0 picks a free port (the listening line prints it).
    #[arg(long, short, default_value_t = 5050)]
    port: u16,

    /// Largest message accepted, in bytes (after decompression); bigger ones are refused with close code 1009.
    #[arg(long, default_value_t = 64 << 20, value_name = "BYTES")]
    max_message_size: u64,

    /// Largest single frame payload accepted, in bytes; bigger frames are refused with 1009.
    /// Defaults to --max-message-size.
    #[arg(long, value_name = "BYTES")]
    max_frame_size: Option<u64>,

    /// Largest HTTP upgrade request head, in bytes; bigger requests get 431.
    #[arg(long, default_value_t = 8 << 10, value_name = "BYTES")]
    max_header_size: usize,

    /// Seconds a client has to send its complete upgrade request before the connection is dropped.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    handshake_timeout: f64,

    /// Seconds to wait for the peer's close frame after ours before dropping TCP.
    #[arg(long, default_value_t = 3.0, value_name = "SECONDS")]
    close_timeout: f64,

    /// Pending output per connection, in bytes, past which wsecho stops reading from that
    /// client until it reads its echoes (backpressure).
    #[arg(long, default_value_t = 4 << 20, value_name = "BYTES")]
    write_high_water: usize,

    /// Do not negotiate permessage-deflate (RFC 7692), even when the client offers it.
    #[arg(long)]
    no_deflate: bool,

    /// Compression level for echoed compressed messages, 0 (none) to 9 (smallest).
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(0..=9))]
    deflate_level: u32,

    /// Echoed messages shorter than this many bytes are sent uncompressed.
    #[arg(long, default_value_t = 0, value_name = "BYTES")]
    deflate_min_size: usize,

    /// Largest LZ77 window (9–15) wsecho uses and asks clients to use; bounds per-connection
    /// compression memory.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u8).range(9..=15))]
    deflate_max_window_bits: u8,
}

fn seconds(s: f64, name: &str) -> Result<Duration, String> {
    Duration::try_from_secs_f64(s)
        .map_err(|_| format!("--{name} must be a non-negative number of seconds"))
}

fn config_from(cli: &Cli) -> Result<Config, String> {
    let deflate = (!cli.no_deflate).then(|| DeflatePolicy {
        server_max_window_bits: cli.deflate_max_window_bits,
        client_max_window_bits: cli.deflate_max_window_bits,
        ..DeflatePolicy::default()
    });
    Ok(Config {
        max_message_size: cli.max_message_size,
        max_frame_size: cli.max_frame_size.unwrap_or(cli.max_message_size),
        max_header_bytes: cli.max_header_size,
        handshake_timeout: seconds(cli.handshake_timeout, "handshake-timeout")?,
        close_timeout: seconds(cli.close_timeout, "close-timeout")?,
        write_high_water: cli.write_high_water,
        deflate,
        deflate_level: cli.deflate_level,
        deflate_min_size: cli.deflate_min_size,
    })
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("wsecho=info"))
        .init();
    let cli = Cli::parse();
    let config = match config_from(&cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("wsecho: {e}");
            return ExitCode::from(2);
        }
    };
    let addr = SocketAddr::new(cli.host, cli.port);
    match wsecho::server::run(addr, config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wsecho: {e}");
            ExitCode::FAILURE
        }
    }
}
