//! GOAWAY frames (RFC 9113 §6.8).

use std::ops::Range;

use super::error::FrameError;
use super::error_code::ErrorCode;
use super::flags::Flags;
use super::header::{FrameHeader, write_header};
use super::kind::FrameType;
use super::stream_id::StreamId;

/// The fixed part of a GOAWAY payload: last stream identifier and error code.
const FIXED_LEN: usize = 8;

/// A GOAWAY frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GoAway {
    /// The last stream the sender might have processed.
    pub last_stream: StreamId,
    /// Why the connection ends.
    pub code: ErrorCode,
    /// Where the debug data lies in the payload.
    pub debug: Range<usize>,
}

/// Parses a GOAWAY frame's payload.
pub(crate) fn parse(header: &FrameHeader, payload: &[u8]) -> Result<GoAway, FrameError> {
    // §6.8: "An endpoint MUST treat a GOAWAY frame with a stream identifier other than
    // 0x00 as a connection error of type PROTOCOL_ERROR."
    if !header.stream.is_connection() {
        return Err(FrameError::connection(
            ErrorCode::ProtocolError,
            "RFC 9113 §6.8: GOAWAY on a stream other than 0",
        ));
    }
    // §4.2: FRAME_SIZE_ERROR for a frame "too small to contain mandatory frame data".
    let Some((fixed, _)) = payload.split_first_chunk::<FIXED_LEN>() else {
        return Err(FrameError::connection(
            ErrorCode::FrameSizeError,
            "RFC 9113 §4.2: GOAWAY shorter than 8 octets",
        ));
    };
    let [s0, s1, s2, s3, c0, c1, c2, c3] = *fixed;
    Ok(GoAway {
        last_stream: StreamId::new(u32::from_be_bytes([s0, s1, s2, s3])),
        code: ErrorCode::from_u32(u32::from_be_bytes([c0, c1, c2, c3])),
        debug: FIXED_LEN..payload.len(),
    })
}

/// Appends a GOAWAY frame with `debug` as its debug data, cut to `max_frame_size`.
pub(crate) fn write_goaway(
    out: &mut Vec<u8>,
    last_stream: StreamId,
    code: ErrorCode,
    debug: &[u8],
    max_frame_size: usize,
) {
    let debug = debug
        .get(..max_frame_size.saturating_sub(FIXED_LEN))
        .unwrap_or(debug);
    write_header(
        out,
        FIXED_LEN + debug.len(),
        FrameType::GoAway,
        Flags::NONE,
        StreamId::CONNECTION,
    );
    out.extend_from_slice(&last_stream.value().to_be_bytes());
    out.extend_from_slice(&code.to_u32().to_be_bytes());
    out.extend_from_slice(debug);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h2::frame::FRAME_HEADER_LEN;

    #[test]
    fn round_trips_with_debug_data() {
        let mut out = Vec::new();
        write_goaway(
            &mut out,
            StreamId::new(7),
            ErrorCode::EnhanceYourCalm,
            b"calm",
            16384,
        );
        let h = FrameHeader::parse(&out).unwrap();
        let payload = &out[FRAME_HEADER_LEN..];
        let g = parse(&h, payload).unwrap();
        assert_eq!(g.last_stream, StreamId::new(7));
        assert_eq!(g.code, ErrorCode::EnhanceYourCalm);
        assert_eq!(&payload[g.debug], b"calm");
    }

    #[test]
    fn debug_data_is_cut_to_the_frame_size() {
        let mut out = Vec::new();
        write_goaway(
            &mut out,
            StreamId::new(1),
            ErrorCode::NoError,
            &[b'x'; 40],
            10,
        );
        assert_eq!(FrameHeader::parse(&out).unwrap().length, 10);
        assert_eq!(out.len(), FRAME_HEADER_LEN + 10);
    }

    #[test]
    fn short_or_on_a_stream_is_a_connection_error() {
        let h = FrameHeader {
            length: 7,
            kind: FrameType::GoAway,
            flags: Flags::NONE,
            stream: StreamId::CONNECTION,
        };
        assert_eq!(
            parse(&h, &[0; 7]).unwrap_err().code,
            ErrorCode::FrameSizeError
        );
        let on_stream = FrameHeader {
            stream: StreamId::new(1),
            ..h
        };
        assert_eq!(
            parse(&on_stream, &[0; 8]).unwrap_err().code,
            ErrorCode::ProtocolError
        );
    }
}
