//! Runtime limits and timeouts shared by every connection.

use std::time::Duration;

/// Settings the protocol core enforces; built once from the command line.
#[derive(Debug, Clone)]
pub struct Config {
    /// Largest message (sum of its frames' payloads, after decompression) accepted; larger gets 1009.
    pub max_message_size: u64,
    /// Largest single frame payload accepted; larger gets 1009.
    pub max_frame_size: u64,
    /// Largest HTTP upgrade request head, in bytes; larger gets 431.
    pub max_header_bytes: usize,
    /// Time a client has to complete its upgrade request.
    pub handshake_timeout: Duration,
    /// Time the peer has to answer our close frame before TCP is dropped.
    pub close_timeout: Duration,
    /// Pending output past which we stop reading from a connection until it drains.
    pub write_high_water: usize,
    /// Pending output past which the connection is closed with 1008.
    pub max_backpressure: usize,
    /// Close a connection that has sent nothing for this long (1001).
    pub idle_timeout: Option<Duration>,
    /// Ping a connection that has sent nothing for this long.
    pub ping_interval: Option<Duration>,
    /// Drop a connection that sends nothing for this long after our keepalive ping.
    pub ping_timeout: Duration,
    /// Subprotocols the server speaks, in its order of preference; empty: take the
    /// client's first offer.
    pub subprotocols: Vec<String>,
    /// Connections served at once; more are answered 503.
    pub max_connections: usize,
    /// permessage-deflate policy; `None` when deflate is disabled.
    pub deflate: Option<crate::deflate::DeflatePolicy>,
    /// Compression level for outgoing compressed messages (0–9).
    pub deflate_level: u32,
    /// Outgoing messages shorter than this are sent uncompressed (RFC 7692 allows it).
    pub deflate_min_size: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_message_size: 64 << 20,
            max_frame_size: 64 << 20,
            max_header_bytes: 8 << 10,
            handshake_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(3),
            write_high_water: 64 << 10,
            max_backpressure: 16 << 20,
            idle_timeout: None,
            ping_interval: None,
            ping_timeout: Duration::from_secs(10),
            subprotocols: Vec::new(),
            max_connections: 100_000,
            deflate: Some(crate::deflate::DeflatePolicy::default()),
            deflate_level: 6,
            deflate_min_size: 0,
        }
    }
}
