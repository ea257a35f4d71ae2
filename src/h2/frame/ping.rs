//! PING frames (RFC 9113 §6.7).

use super::error::FrameError;
use super::error_code::ErrorCode;
use super::flags::Flags;
use super::header::{FrameHeader, write_header};
use super::kind::FrameType;
use super::stream_id::StreamId;

/// A PING frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ping {
    /// ACK: the answer to a PING of ours.
    pub ack: bool,
    /// The opaque data, echoed in the answer.
    pub data: [u8; 8],
}

/// Parses a PING frame's payload.
pub(crate) fn parse(header: &FrameHeader, payload: &[u8]) -> Result<Ping, FrameError> {
    // §6.7: "If a PING frame is received with a Stream Identifier field value other
    // than 0x00, the recipient MUST respond with a connection error of type
    // PROTOCOL_ERROR."
    if !header.stream.is_connection() {
        return Err(FrameError::connection(
            ErrorCode::ProtocolError,
            "RFC 9113 §6.7: PING on a stream other than 0",
        ));
    }
    // §6.7: "Receipt of a PING frame with a length field value other than 8 MUST be
    // treated as a connection error of type FRAME_SIZE_ERROR."
    let Ok(data) = <[u8; 8]>::try_from(payload) else {
        return Err(FrameError::connection(
            ErrorCode::FrameSizeError,
            "RFC 9113 §6.7: PING with a length other than 8",
        ));
    };
    Ok(Ping {
        ack: header.flags.contains(Flags::ACK),
        data,
    })
}

/// Appends the answer to a PING: §6.7, "a PING frame with the ACK flag set in
/// response, with an identical frame payload".
pub(crate) fn write_ping_ack(out: &mut Vec<u8>, data: [u8; 8]) {
    write_header(out, 8, FrameType::Ping, Flags::ACK, StreamId::CONNECTION);
    out.extend_from_slice(&data);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h2::frame::FRAME_HEADER_LEN;

    #[test]
    fn the_ack_echoes_the_data_and_the_rules_are_checked() {
        let mut out = Vec::new();
        write_ping_ack(&mut out, *b"12345678");
        let h = FrameHeader::parse(&out).unwrap();
        let p = parse(&h, &out[FRAME_HEADER_LEN..]).unwrap();
        assert_eq!(
            p,
            Ping {
                ack: true,
                data: *b"12345678"
            }
        );
        let e = parse(&h, b"1234567").unwrap_err();
        assert_eq!(e.code, ErrorCode::FrameSizeError);
        let on_stream = FrameHeader {
            stream: StreamId::new(1),
            ..h
        };
        let e = parse(&on_stream, b"12345678").unwrap_err();
        assert_eq!(e.code, ErrorCode::ProtocolError);
    }
}
