//! What happened on a connection, for the driver to log and count, and for the trace to
//! show: the core reports it, the layers above read it.

use crate::error::ProtocolError;
use crate::frame::CloseCode;
use crate::http::HttpStatus;

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
    /// `GET /metrics`: the driver is to answer with [`Connection::answer_metrics`].
    ///
    /// [`Connection::answer_metrics`]: crate::connection::Connection::answer_metrics
    MetricsAsked,
    /// The client broke the protocol; we sent this error's close code and reason.
    Failed {
        /// The rule broken.
        error: ProtocolError,
        /// Where in the client's bytes.
        at: Location,
    },
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
    /// As the request asked (`?abort`), the connection is being reset, with no close
    /// frame.
    Aborted,
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

/// Where in the client's bytes a violation was found. Offsets count the bytes the client
/// sent on the connection from 0, its HTTP request included; frames count from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Location {
    /// The frame it is in (or whose header broke the rule).
    pub frame: u64,
    /// The offset of that frame's first byte.
    pub frame_offset: u64,
    /// The offending byte, when one is to blame (invalid UTF-8 in an uncompressed text
    /// message): its offset in the connection's input and in the message.
    pub byte: Option<(u64, u64)>,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.byte {
            Some((stream, message)) => write!(
                f,
                "offset {message} of the message, offset {stream} of the connection, frame #{}",
                self.frame
            ),
            None => write!(
                f,
                "frame #{}, at offset {} of the connection",
                self.frame, self.frame_offset
            ),
        }
    }
}
