//! RST_STREAM frames (RFC 9113 §6.4).

use super::error::FrameError;
use super::error_code::ErrorCode;
use super::flags::Flags;
use super::header::{FrameHeader, write_header};
use super::kind::FrameType;
use super::stream_id::StreamId;

/// A RST_STREAM frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RstStream {
    /// The stream ended.
    pub stream: StreamId,
    /// Why.
    pub code: ErrorCode,
}

/// Parses a RST_STREAM frame's payload.
pub(crate) fn parse(header: &FrameHeader, payload: &[u8]) -> Result<RstStream, FrameError> {
    // §6.4: "If a RST_STREAM frame is received with a stream identifier of 0x00, the
    // recipient MUST treat this as a connection error of type PROTOCOL_ERROR."
    if header.stream.is_connection() {
        return Err(FrameError::connection(
            ErrorCode::ProtocolError,
            "RFC 9113 §6.4: RST_STREAM on stream 0",
        ));
    }
    // §6.4: "A RST_STREAM frame with a length other than 4 octets MUST be treated as a
    // connection error of type FRAME_SIZE_ERROR."
    let Ok(code) = <[u8; 4]>::try_from(payload) else {
        return Err(FrameError::connection(
            ErrorCode::FrameSizeError,
            "RFC 9113 §6.4: RST_STREAM with a length other than 4 octets",
        ));
    };
    Ok(RstStream {
        stream: header.stream,
        code: ErrorCode::from_u32(u32::from_be_bytes(code)),
    })
}

/// Appends a RST_STREAM frame.
pub(crate) fn write_rst_stream(out: &mut Vec<u8>, stream: StreamId, code: ErrorCode) {
    write_header(out, 4, FrameType::RstStream, Flags::NONE, stream);
    out.extend_from_slice(&code.to_u32().to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h2::frame::{FRAME_HEADER_LEN, Scope};

    #[test]
    fn round_trips_and_checks_length_and_stream() {
        let mut out = Vec::new();
        write_rst_stream(&mut out, StreamId::new(9), ErrorCode::Cancel);
        let h = FrameHeader::parse(&out).unwrap();
        assert_eq!(
            parse(&h, &out[FRAME_HEADER_LEN..]).unwrap(),
            RstStream {
                stream: StreamId::new(9),
                code: ErrorCode::Cancel
            }
        );
        let e = parse(&h, &out[FRAME_HEADER_LEN + 1..]).unwrap_err();
        assert_eq!(
            (e.scope, e.code),
            (Scope::Connection, ErrorCode::FrameSizeError)
        );
        let zero = FrameHeader {
            stream: StreamId::CONNECTION,
            ..h
        };
        let e = parse(&zero, &out[FRAME_HEADER_LEN..]).unwrap_err();
        assert_eq!(e.code, ErrorCode::ProtocolError);
    }
}
