//! PRIORITY frames and the priority fields of HEADERS (RFC 9113 §5.3, §6.3): parsed,
//! checked, and otherwise ignored, as §5.3.2 allows of the deprecated scheme.

use super::error::FrameError;
use super::error_code::ErrorCode;
use super::header::FrameHeader;
use super::stream_id::StreamId;

/// Length of the priority fields: exclusive bit and dependency (4), weight (1).
pub(crate) const PRIORITY_LEN: usize = 5;

/// The priority fields of a PRIORITY or HEADERS frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PrioritySpec {
    /// The stream this one depends on.
    pub dependency: StreamId,
    /// The exclusive flag.
    pub exclusive: bool,
    /// The weight, minus one.
    pub weight: u8,
}

impl PrioritySpec {
    /// Decodes the 5 octets of priority fields.
    pub(crate) fn parse(fields: [u8; PRIORITY_LEN]) -> PrioritySpec {
        let [d0, d1, d2, d3, weight] = fields;
        PrioritySpec {
            dependency: StreamId::new(u32::from_be_bytes([d0, d1, d2, d3])),
            exclusive: d0 & 0x80 != 0,
            weight,
        }
    }

    /// The stream error for a stream that depends on itself, if `stream` does.
    pub(crate) fn check(&self, stream: StreamId) -> Result<(), FrameError> {
        // RFC 7540 §5.3.1: "A stream cannot depend on itself. An endpoint MUST treat
        // this as a stream error of type PROTOCOL_ERROR." RFC 9113 dropped the rule
        // with the scheme (§5.3.2); it is kept, as RFC 7540 peers and h2spec expect.
        if self.dependency == stream {
            return Err(FrameError::stream(
                stream,
                ErrorCode::ProtocolError,
                "RFC 7540 §5.3.1: a stream cannot depend on itself",
            ));
        }
        Ok(())
    }
}

/// Parses a PRIORITY frame: only its errors matter.
pub(crate) fn parse(header: &FrameHeader, payload: &[u8]) -> Result<PrioritySpec, FrameError> {
    // §6.3: "If a PRIORITY frame is received with a stream identifier of 0x00, the
    // recipient MUST respond with a connection error of type PROTOCOL_ERROR."
    if header.stream.is_connection() {
        return Err(FrameError::connection(
            ErrorCode::ProtocolError,
            "RFC 9113 §6.3: PRIORITY on stream 0",
        ));
    }
    // §6.3: "A PRIORITY frame with a length other than 5 octets MUST be treated as a
    // stream error of type FRAME_SIZE_ERROR."
    let Ok(fields) = <[u8; PRIORITY_LEN]>::try_from(payload) else {
        return Err(FrameError::stream(
            header.stream,
            ErrorCode::FrameSizeError,
            "RFC 9113 §6.3: PRIORITY with a length other than 5 octets",
        ));
    };
    let spec = PrioritySpec::parse(fields);
    spec.check(header.stream)?;
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h2::frame::{Flags, FrameType, Scope};

    fn header(stream: u32, length: u32) -> FrameHeader {
        FrameHeader {
            length,
            kind: FrameType::Priority,
            flags: Flags::NONE,
            stream: StreamId::new(stream),
        }
    }

    #[test]
    fn fields_decode_and_the_rules_are_checked() {
        let spec = parse(&header(3, 5), &[0x80, 0, 0, 1, 15]).unwrap();
        assert_eq!(
            spec,
            PrioritySpec {
                dependency: StreamId::new(1),
                exclusive: true,
                weight: 15
            }
        );
        let e = parse(&header(3, 5), &[0, 0, 0, 3, 0]).unwrap_err();
        assert_eq!(
            (e.scope, e.code),
            (Scope::Stream(StreamId::new(3)), ErrorCode::ProtocolError)
        );
        let e = parse(&header(3, 4), &[0, 0, 0, 1]).unwrap_err();
        assert_eq!(
            (e.scope, e.code),
            (Scope::Stream(StreamId::new(3)), ErrorCode::FrameSizeError)
        );
        let e = parse(&header(0, 5), &[0, 0, 0, 1, 0]).unwrap_err();
        assert_eq!(
            (e.scope, e.code),
            (Scope::Connection, ErrorCode::ProtocolError)
        );
    }
}
