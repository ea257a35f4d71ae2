//! What the peer servers share: their command line and the line they print when ready, in
//! the same form as wsecho's so the bench script starts every server the same way.

use std::net::{IpAddr, SocketAddr};

use clap::Parser;

/// A single-threaded WebSocket echo server that wsecho is benchmarked against.
#[derive(Parser, Debug)]
pub struct PeerArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,

    /// TCP port to listen on; 0 picks a free port (the listening line prints it).
    #[arg(long, short, default_value_t = 0)]
    pub port: u16,

    /// Serve wss:// only, with a certificate made at start (see `tls::server_config`).
    #[arg(long)]
    pub tls: bool,
}

impl PeerArgs {
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }
}

/// Largest message the peers accept, the same as wsecho's default, so 16 MiB messages fit.
pub const MAX_MESSAGE: usize = 64 << 20;

/// Announces readiness on stdout, flushed, as `NAME listening on ws://ADDR` (`wss://`
/// with `tls`).
pub fn announce(name: &str, addr: SocketAddr, tls: bool) {
    use std::io::Write;
    let scheme = if tls { "wss" } else { "ws" };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{name} listening on {scheme}://{addr}");
    let _ = out.flush();
}
