//! What happened on a connection, for the driver to log and count.

use crate::error::ProtocolError;
use crate::frame::CloseCode;
use crate::handshake::HttpStatus;

/// A notable moment in a connection's life. Per-message work is not reported here:
/// events are rare, so the hot path never touches them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The upgrade succeeded; `deflate` says whether permessage-deflate was agreed.
    Opened {
        /// permessage-deflate is in use.
        deflate: bool,
    },
    /// The request was refused with an HTTP error status (not upgraded), and why.
    Refused {
        /// The status answered.
        status: HttpStatus,
        /// The body's one-line reason.
        reason: String,
    },
    /// A plain GET (no upgrade asked for) was answered with the landing page.
    ServedPage,
    /// The client broke the protocol; we sent this error's close code and reason.
    Failed(ProtocolError),
    /// The client sent a close frame (its code, if any); we answered it.
    PeerClosed {
        /// The code in the client's close frame; `None` for an empty one.
        code: Option<CloseCode>,
    },
    /// The server closed (shutdown, idle timeout, backpressure).
    ServerClosed {
        /// The code sent.
        code: CloseCode,
        /// The reason sent.
        reason: String,
    },
    /// TCP ended without a close handshake (close code 1006 in RFC terms).
    Dropped {
        /// The phase TCP ended in.
        during: &'static str,
    },
    /// A time limit passed.
    TimedOut {
        /// The phase whose limit passed.
        during: &'static str,
    },
}
