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
}

impl PeerArgs {
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }
}

/// Largest message the peers accept, the same as wsecho's default, so 16 MiB messages fit.
pub const MAX_MESSAGE: usize = 64 << 20;

/// Announces readiness on stdout, flushed, as `NAME listening on ws://ADDR`.
pub fn announce(name: &str, addr: SocketAddr) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{name} listening on ws://{addr}");
    let _ = out.flush();
}
