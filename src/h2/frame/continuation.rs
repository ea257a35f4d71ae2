//! CONTINUATION frames (RFC 9113 §6.10). They are written by
//! [`write_headers`](super::write_headers), which splits a field block.

use super::error::FrameError;
use super::error_code::ErrorCode;
use super::flags::Flags;
use super::header::FrameHeader;
use super::stream_id::StreamId;

/// A CONTINUATION frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Continuation<'a> {
    /// The stream.
    pub stream: StreamId,
    /// The next fragment of the field block.
    pub fragment: &'a [u8],
    /// END_HEADERS: the field block is now whole.
    pub end_headers: bool,
}

/// Parses a CONTINUATION frame's payload. Whether one may come at all is the
/// session's to judge (§6.10: only after a HEADERS without END_HEADERS).
pub(crate) fn parse<'a>(
    header: &FrameHeader,
    payload: &'a [u8],
) -> Result<Continuation<'a>, FrameError> {
    // §6.10: "If a CONTINUATION frame is received with a Stream Identifier field of
    // 0x00, the recipient MUST respond with a connection error of type PROTOCOL_ERROR."
    if header.stream.is_connection() {
        return Err(FrameError::connection(
            ErrorCode::ProtocolError,
            "RFC 9113 §6.10: CONTINUATION on stream 0",
        ));
    }
    Ok(Continuation {
        stream: header.stream,
        fragment: payload,
        end_headers: header.flags.contains(Flags::END_HEADERS),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h2::frame::FrameType;

    #[test]
    fn carries_its_fragment_and_refuses_stream_zero() {
        let mut h = FrameHeader {
            length: 2,
            kind: FrameType::Continuation,
            flags: Flags::END_HEADERS,
            stream: StreamId::new(1),
        };
        let c = parse(&h, b"ab").unwrap();
        assert_eq!((c.fragment, c.end_headers), (&b"ab"[..], true));
        h.stream = StreamId::CONNECTION;
        assert_eq!(parse(&h, b"ab").unwrap_err().code, ErrorCode::ProtocolError);
    }
}
