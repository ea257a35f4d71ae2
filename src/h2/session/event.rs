//! What the session reports to the application.

use super::request::Request;
use crate::h2::frame::ErrorCode;

/// Something that happened on the connection, returned by
/// [`Session::poll`](super::Session::poll). Borrowed data lives until the next call.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// A complete request header section on a new stream, its pseudo-header fields
    /// checked (RFC 9113 §8.3; `:protocol` only with CONNECT and only when enabled, RFC
    /// 8441 §4). A malformed request is a stream error handled inside and reported as
    /// [`Event::Reset`], never as a request.
    Request {
        /// The stream.
        stream: u32,
        /// The request.
        headers: &'a Request,
        /// The client sends no content (half-closed remote).
        end_stream: bool,
    },
    /// A request whose header list exceeded `max_header_list_size` (HPACK is still in
    /// sync): the stream is open, and the application answers 431 on it.
    RequestTooLarge {
        /// The stream.
        stream: u32,
    },
    /// DATA of a stream, padding removed, mutable so the WebSocket core can unmask in
    /// place. The connection window is reopened by the session; the stream's by
    /// [`Session::consumed`](super::Session::consumed). END_STREAM on a trailer section
    /// or on an empty DATA frame comes as empty `data`.
    Data {
        /// The stream.
        stream: u32,
        /// The content.
        data: &'a mut [u8],
        /// The client sends nothing more on this stream.
        end_stream: bool,
    },
    /// The stream is gone: the peer reset it (`by_peer`), or the session did for a
    /// stream error (RST_STREAM sent). Also reported for streams the application never
    /// saw a request of (a malformed or refused request, a frame on a closed stream):
    /// an identifier it does not know is only for its logs.
    Reset {
        /// The stream.
        stream: u32,
        /// The error code sent or received.
        code: ErrorCode,
        /// The peer sent RST_STREAM.
        by_peer: bool,
        /// The rule broken, or what the peer did.
        reason: &'static str,
    },
    /// Queued DATA of this stream went out and its queue is below half of
    /// `max_send_queue` again (reported once the queue had reached that half).
    Drained {
        /// The stream.
        stream: u32,
    },
    /// The stream is closed both ways (END_STREAM sent and received, §5.1), its state
    /// freed.
    Closed {
        /// The stream.
        stream: u32,
    },
    /// The peer sent GOAWAY: it opens no more streams. The connection closes once the
    /// open ones are done.
    GoAway {
        /// The peer's error code.
        code: ErrorCode,
        /// The peer's debug data.
        debug: &'a [u8],
    },
    /// A connection error: GOAWAY (last stream, code, the reason as debug data) is
    /// queued, every stream is gone, and [`status`](super::Session::status) says
    /// Closing. Nothing more is read.
    Failed {
        /// The error code sent.
        code: ErrorCode,
        /// The rule broken.
        reason: &'static str,
    },
}

/// What the driver should do with the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStatus {
    /// Read and write.
    Open,
    /// Write what is queued, then close; read only to discard.
    Closing,
    /// Nothing more will be written: close once the driver's own buffer is flushed.
    Done,
}
