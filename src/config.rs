//! Runtime limits and timeouts shared by every connection.

use std::time::Duration;

/// The defaults of the limits, in one place: the command line's defaults and
/// [`Config::default`] are both these.
pub mod defaults {
    /// `--max-message-size` (and so `--max-frame-size`).
    pub const MAX_MESSAGE_SIZE: u64 = 64 << 20;
    /// `--max-header-size`.
    pub const MAX_HEADER_BYTES: usize = 8 << 10;
    /// `--handshake-timeout`, seconds.
    pub const HANDSHAKE_TIMEOUT_SECS: f64 = 10.0;
    /// `--close-timeout`, seconds.
    pub const CLOSE_TIMEOUT_SECS: f64 = 3.0;
    /// `--write-high-water`.
    pub const WRITE_HIGH_WATER: usize = 64 << 10;
    /// `--max-backpressure`.
    pub const MAX_BACKPRESSURE: usize = 16 << 20;
    /// `--ping-timeout`, seconds.
    pub const PING_TIMEOUT_SECS: f64 = 10.0;
    /// `--max-connections`, before it is fitted to the file-descriptor limit.
    pub const MAX_CONNECTIONS: usize = 100_000;
    /// `--deflate-level`.
    pub const DEFLATE_LEVEL: u32 = 6;
    /// `--trace-payload-bytes`.
    pub const TRACE_PAYLOAD_BYTES: usize = 64;
    /// `--max-held-frame`.
    pub const MAX_HELD_FRAME: usize = 64 << 10;
}

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
    /// A text frame up to this long is held until it is whole and echoed as one frame;
    /// a longer one is echoed in pieces as it arrives.
    pub max_held_frame: usize,
    /// Speak HTTP/2 (RFC 8441 WebSockets): `h2` offered by ALPN, and the HTTP/2
    /// preface taken on a cleartext port (h2c with prior knowledge).
    pub http2: bool,
    /// The client suite served on its paths (Autobahn's cases and their results).
    pub suite: std::sync::Arc<crate::suite::Suite>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_message_size: defaults::MAX_MESSAGE_SIZE,
            max_frame_size: defaults::MAX_MESSAGE_SIZE,
            max_header_bytes: defaults::MAX_HEADER_BYTES,
            handshake_timeout: Duration::from_secs_f64(defaults::HANDSHAKE_TIMEOUT_SECS),
            close_timeout: Duration::from_secs_f64(defaults::CLOSE_TIMEOUT_SECS),
            write_high_water: defaults::WRITE_HIGH_WATER,
            max_backpressure: defaults::MAX_BACKPRESSURE,
            idle_timeout: None,
            ping_interval: None,
            ping_timeout: Duration::from_secs_f64(defaults::PING_TIMEOUT_SECS),
            subprotocols: Vec::new(),
            max_connections: defaults::MAX_CONNECTIONS,
            deflate: Some(crate::deflate::DeflatePolicy::default()),
            deflate_level: defaults::DEFLATE_LEVEL,
            deflate_min_size: 0,
            max_held_frame: defaults::MAX_HELD_FRAME,
            http2: true,
            suite: std::sync::Arc::default(),
        }
    }
}
