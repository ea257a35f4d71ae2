//! PUSH_PROMISE frames (RFC 9113 §6.6): only a server may send them.

use super::error::FrameError;
use super::error_code::ErrorCode;

/// The answer to a PUSH_PROMISE from a client: §8.4, "A client cannot push. Thus,
/// servers MUST treat the receipt of a PUSH_PROMISE frame as a connection error of type
/// PROTOCOL_ERROR."
pub(crate) fn refuse() -> FrameError {
    FrameError::connection(
        ErrorCode::ProtocolError,
        "RFC 9113 §8.4: a client cannot push (PUSH_PROMISE)",
    )
}
