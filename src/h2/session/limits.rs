//! What one connection may cost us, each bound with its default.

use std::time::Duration;

use crate::h2::frame::DEFAULT_MAX_FRAME_SIZE;

/// Streams a client may have open at once. RFC 9113 §6.5.2: "It is recommended that
/// this value be no smaller than 100".
pub const DEFAULT_MAX_CONCURRENT_STREAMS: u32 = 100;
/// Our receive window per stream: 1 MiB. What a stream may have in flight toward us
/// before the application takes it; a WebSocket echo holds at most this much per stream.
pub const DEFAULT_STREAM_WINDOW: u32 = 1 << 20;
/// Our receive window for the whole connection: 16 MiB. The session reopens it itself
/// as DATA arrives (the stream windows are what bound memory), so it only needs to be
/// large enough not to throttle many streams at once.
pub(crate) const DEFAULT_CONNECTION_WINDOW: u32 = 16 << 20;
/// The largest frame payload we accept: the protocol's minimum, 16 KiB, which needs no
/// SETTINGS_MAX_FRAME_SIZE. The receive buffer holds one such frame and its header.
pub(crate) const DEFAULT_MAX_FRAME_SIZE_ACCEPTED: u32 = DEFAULT_MAX_FRAME_SIZE;
/// The largest request header list (RFC 9113 §6.5.2's measure: names, values and 32
/// octets a field), 16 KiB; past it the application answers 431.
pub(crate) const DEFAULT_MAX_HEADER_LIST_SIZE: u32 = 16 << 10;
/// Our HPACK decoder's dynamic table: RFC 7541's default, 4 KiB.
pub(crate) const DEFAULT_HEADER_TABLE_SIZE: u32 = 4096;
/// Bytes of DATA the application may queue on a stream, 1 MiB: beyond it the
/// application stops feeding the stream (see [`Limits::max_send_queue`]).
pub(crate) const DEFAULT_MAX_SEND_QUEUE: usize = 1 << 20;
/// Streams the peer may reset within one [`Limits::flood_window`] (CVE-2023-44487,
/// "rapid reset"): 1000 a 10 s window, far above what a browser closing tabs does.
pub const DEFAULT_MAX_PEER_RESETS: u32 = 1000;
/// Frames that carry no application data (PING, SETTINGS, PRIORITY, empty DATA and
/// CONTINUATION, frames of unknown types, frames on closed streams) the peer may send
/// within one [`Limits::flood_window`]: 2000 a 10 s window.
pub const DEFAULT_MAX_OVERHEAD_FRAMES: u32 = 2000;
/// The window over which resets and overhead frames are counted.
pub(crate) const DEFAULT_FLOOD_WINDOW: Duration = Duration::from_secs(10);
/// Bytes of frames of ours (acks, resets, responses' HEADERS) waiting for the peer to
/// read them, past which its PINGs, SETTINGS and errors are no longer answered but end
/// the connection: 64 KiB. Input is not read while half of it is waiting.
pub(crate) const DEFAULT_MAX_CONTROL_BACKLOG: usize = 64 << 10;
/// Frames of a connection processed in one turn of the driver's loop (see
/// [`Session::new_turn`](super::Session::new_turn)): what one client may make the loop
/// do before the others are served, whatever the frames are. The rest of its input
/// waits for the next turn.
pub(crate) const DEFAULT_MAX_FRAMES_PER_TURN: u32 = 32;
/// Time for the client to send its preface and first SETTINGS.
pub(crate) const DEFAULT_PREFACE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time for the client to acknowledge our SETTINGS (RFC 9113 §6.5.3).
pub(crate) const DEFAULT_SETTINGS_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection with no stream for this long is closed with GOAWAY NO_ERROR.
pub(crate) const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Time a closing connection gets to flush its last frames before it is dropped.
pub(crate) const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// What a field block may grow to across CONTINUATION frames beyond twice
/// `max_header_list_size`: room for HPACK's own overhead on small lists.
pub const HEADER_BLOCK_SLACK: usize = 4096;

/// The bounds of one connection. The defaults are the constants of this module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// SETTINGS_MAX_CONCURRENT_STREAMS we announce and enforce (REFUSED_STREAM past it).
    pub max_concurrent_streams: u32,
    /// Our receive window per stream, announced as SETTINGS_INITIAL_WINDOW_SIZE.
    pub stream_window: u32,
    /// Our receive window for the connection, opened by a WINDOW_UPDATE in the preface.
    /// It cannot be below the protocol's initial 65,535.
    pub connection_window: u32,
    /// The largest frame payload we accept, 2^14 to 2^24−1.
    pub max_frame_size: u32,
    /// SETTINGS_MAX_HEADER_LIST_SIZE we announce; a larger request is reported as
    /// [`Event::RequestTooLarge`](super::Event::RequestTooLarge).
    pub max_header_list_size: u32,
    /// Our HPACK decoder's dynamic table size, announced as SETTINGS_HEADER_TABLE_SIZE.
    pub header_table_size: u32,
    /// Bytes of DATA a stream may hold queued for lack of flow-control window. The
    /// session queues what it is given; the application keeps each stream under this
    /// by pausing a stream whose [`Session::queued`](super::Session::queued) reaches
    /// it, until [`Event::Drained`](super::Event::Drained). A peer that never opens its
    /// window thus holds at most this much per stream.
    pub max_send_queue: usize,
    /// Announce SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441) and accept `:protocol`.
    pub connect_protocol: bool,
    /// Streams the peer may reset within `flood_window`.
    pub max_peer_resets: u32,
    /// Frames carrying no application data the peer may send within `flood_window`.
    pub max_overhead_frames: u32,
    /// The window over which resets and overhead frames are counted.
    pub flood_window: Duration,
    /// Bytes of our own frames that may wait for the peer to read them.
    pub max_control_backlog: usize,
    /// Frames processed in one turn; at least 1.
    pub max_frames_per_turn: u32,
    /// Time for the client's preface and first SETTINGS.
    pub preface_timeout: Duration,
    /// Time for the client to acknowledge our SETTINGS.
    pub settings_timeout: Duration,
    /// Time a connection may stay without streams; `None`: forever.
    pub idle_timeout: Option<Duration>,
    /// Time a closing connection gets to flush.
    pub close_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_concurrent_streams: DEFAULT_MAX_CONCURRENT_STREAMS,
            stream_window: DEFAULT_STREAM_WINDOW,
            connection_window: DEFAULT_CONNECTION_WINDOW,
            max_frame_size: DEFAULT_MAX_FRAME_SIZE_ACCEPTED,
            max_header_list_size: DEFAULT_MAX_HEADER_LIST_SIZE,
            header_table_size: DEFAULT_HEADER_TABLE_SIZE,
            max_send_queue: DEFAULT_MAX_SEND_QUEUE,
            connect_protocol: true,
            max_peer_resets: DEFAULT_MAX_PEER_RESETS,
            max_overhead_frames: DEFAULT_MAX_OVERHEAD_FRAMES,
            flood_window: DEFAULT_FLOOD_WINDOW,
            max_control_backlog: DEFAULT_MAX_CONTROL_BACKLOG,
            max_frames_per_turn: DEFAULT_MAX_FRAMES_PER_TURN,
            preface_timeout: DEFAULT_PREFACE_TIMEOUT,
            settings_timeout: DEFAULT_SETTINGS_TIMEOUT,
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            close_timeout: DEFAULT_CLOSE_TIMEOUT,
        }
    }
}

impl Limits {
    /// The most a field block may grow to across CONTINUATION frames before it is
    /// refused as a flood.
    pub fn max_header_block(&self) -> usize {
        (self.max_header_list_size as usize)
            .saturating_mul(2)
            .saturating_add(HEADER_BLOCK_SLACK)
    }

    /// The most unprocessed input held: one frame of our largest size and its header.
    pub fn max_buffered_input(&self) -> usize {
        crate::h2::frame::FRAME_HEADER_LEN + self.max_frame_size as usize
    }
}
