//! DATA frames (RFC 9113 §6.1).

use std::ops::Range;

use super::error::FrameError;
use super::error_code::ErrorCode;
use super::flags::Flags;
use super::header::{FRAME_HEADER_LEN, FrameHeader};
use super::kind::FrameType;
use super::padding;
use super::stream_id::StreamId;

/// A DATA frame, its content located in the payload so the caller can hand it out
/// mutably.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Data {
    /// The stream.
    pub stream: StreamId,
    /// The content within the payload, padding excluded.
    pub data: Range<usize>,
    /// END_STREAM: the last frame the peer sends on the stream.
    pub end_stream: bool,
    /// What the frame counts against flow control: §6.1, "The entire DATA frame payload
    /// is included in flow control, including the Pad Length and Padding fields".
    pub flow_len: u32,
}

/// Parses a DATA frame's payload.
pub(crate) fn parse(header: &FrameHeader, payload: &[u8]) -> Result<Data, FrameError> {
    // §6.1: "If a DATA frame is received whose Stream Identifier field is 0x00, the
    // recipient MUST respond with a connection error of type PROTOCOL_ERROR."
    if header.stream.is_connection() {
        return Err(FrameError::connection(
            ErrorCode::ProtocolError,
            "RFC 9113 §6.1: DATA on stream 0",
        ));
    }
    let (content, start) = padding::strip(header.flags, payload)?;
    Ok(Data {
        stream: header.stream,
        data: start..start + content.len(),
        end_stream: header.flags.contains(Flags::END_STREAM),
        flow_len: header.length,
    })
}

/// The header of an unpadded DATA frame whose `len` octets of content (at most
/// [`MAX_MAX_FRAME_SIZE`](super::MAX_MAX_FRAME_SIZE)) follow it: written beside the
/// content, which needs no copy into a frame buffer.
pub(crate) fn data_header(
    stream: StreamId,
    len: usize,
    end_stream: bool,
) -> [u8; FRAME_HEADER_LEN] {
    FrameHeader {
        length: u32::try_from(len)
            .unwrap_or(u32::MAX)
            .min(super::MAX_MAX_FRAME_SIZE),
        kind: FrameType::Data,
        flags: Flags::when(end_stream, Flags::END_STREAM),
        stream,
    }
    .to_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(flags: Flags, stream: u32, length: usize) -> FrameHeader {
        FrameHeader {
            length: length as u32,
            kind: FrameType::Data,
            flags,
            stream: StreamId::new(stream),
        }
    }

    #[test]
    fn padded_data_counts_its_padding_against_flow_control() {
        let payload = [3, b'h', b'i', 0, 0, 0];
        let d = parse(
            &header(Flags::PADDED.with(Flags::END_STREAM), 1, 6),
            &payload,
        )
        .unwrap();
        assert_eq!(&payload[d.data.clone()], b"hi");
        assert!(d.end_stream);
        assert_eq!(d.flow_len, 6);
    }

    #[test]
    fn data_on_stream_zero_is_a_connection_error() {
        let e = parse(&header(Flags::NONE, 0, 0), &[]).unwrap_err();
        assert_eq!(e.scope, super::super::Scope::Connection);
        assert_eq!(e.code, ErrorCode::ProtocolError);
    }

    #[test]
    fn the_header_written_announces_the_content_that_follows() {
        let mut out = data_header(StreamId::new(3), 5, true).to_vec();
        out.extend_from_slice(b"hello");
        let h = FrameHeader::parse(&out).unwrap();
        let d = parse(&h, &out[FRAME_HEADER_LEN..]).unwrap();
        assert_eq!(&out[FRAME_HEADER_LEN..][d.data], b"hello");
        assert!(d.end_stream);
    }
}
