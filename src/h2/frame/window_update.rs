//! WINDOW_UPDATE frames (RFC 9113 §6.9).

use super::error::FrameError;
use super::error_code::ErrorCode;
use super::flags::Flags;
use super::header::{FrameHeader, write_header};
use super::kind::FrameType;
use super::stream_id::StreamId;

/// The largest flow-control window, and the largest increment: 2^31−1 (§6.9.1).
pub(crate) const MAX_WINDOW: u32 = 0x7fff_ffff;

/// A WINDOW_UPDATE frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WindowUpdate {
    /// The stream, or 0 for the connection window.
    pub stream: StreamId,
    /// The increment, 1 to 2^31−1.
    pub increment: u32,
}

/// Parses a WINDOW_UPDATE frame's payload.
pub(crate) fn parse(header: &FrameHeader, payload: &[u8]) -> Result<WindowUpdate, FrameError> {
    // §6.9: "A WINDOW_UPDATE frame with a length other than 4 octets MUST be treated
    // as a connection error of type FRAME_SIZE_ERROR."
    let Ok(bytes) = <[u8; 4]>::try_from(payload) else {
        return Err(FrameError::connection(
            ErrorCode::FrameSizeError,
            "RFC 9113 §6.9: WINDOW_UPDATE with a length other than 4 octets",
        ));
    };
    // One reserved bit, then 31 bits of increment.
    let increment = u32::from_be_bytes(bytes) & MAX_WINDOW;
    // §6.9: "A receiver MUST treat the receipt of a WINDOW_UPDATE frame with a
    // flow-control window increment of 0 as a stream error of type PROTOCOL_ERROR;
    // errors on the connection flow-control window MUST be treated as a connection
    // error."
    if increment == 0 {
        let reason = "RFC 9113 §6.9: WINDOW_UPDATE with an increment of 0";
        return Err(if header.stream.is_connection() {
            FrameError::connection(ErrorCode::ProtocolError, reason)
        } else {
            FrameError::stream(header.stream, ErrorCode::ProtocolError, reason)
        });
    }
    Ok(WindowUpdate {
        stream: header.stream,
        increment,
    })
}

/// Appends a WINDOW_UPDATE frame; `increment` must be 1 to 2^31−1.
pub(crate) fn write_window_update(out: &mut Vec<u8>, stream: StreamId, increment: u32) {
    debug_assert!((1..=MAX_WINDOW).contains(&increment));
    write_header(out, 4, FrameType::WindowUpdate, Flags::NONE, stream);
    out.extend_from_slice(&(increment & MAX_WINDOW).to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h2::frame::{FRAME_HEADER_LEN, Scope};

    #[test]
    fn round_trips_and_ignores_the_reserved_bit() {
        let mut out = Vec::new();
        write_window_update(&mut out, StreamId::new(3), MAX_WINDOW);
        let h = FrameHeader::parse(&out).unwrap();
        let w = parse(&h, &out[FRAME_HEADER_LEN..]).unwrap();
        assert_eq!((w.stream.value(), w.increment), (3, MAX_WINDOW));
        let w = parse(&h, &[0x80, 0, 0, 5]).unwrap();
        assert_eq!(w.increment, 5);
    }

    #[test]
    fn a_zero_increment_is_a_stream_or_connection_error() {
        let mut h = FrameHeader {
            length: 4,
            kind: FrameType::WindowUpdate,
            flags: Flags::NONE,
            stream: StreamId::new(5),
        };
        let e = parse(&h, &[0x80, 0, 0, 0]).unwrap_err();
        assert_eq!(
            (e.scope, e.code),
            (Scope::Stream(StreamId::new(5)), ErrorCode::ProtocolError)
        );
        h.stream = StreamId::CONNECTION;
        let e = parse(&h, &[0, 0, 0, 0]).unwrap_err();
        assert_eq!(
            (e.scope, e.code),
            (Scope::Connection, ErrorCode::ProtocolError)
        );
        let e = parse(&h, &[0, 0, 1]).unwrap_err();
        assert_eq!(
            (e.scope, e.code),
            (Scope::Connection, ErrorCode::FrameSizeError)
        );
    }
}
