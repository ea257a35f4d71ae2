//! DATA frames (RFC 9113 §6.1).

use std::ops::Range;

use super::error::FrameError;
use super::error_code::ErrorCode;
use super::flags::Flags;
use super::header::{FRAME_HEADER_LEN, FrameHeader, write_header};
use super::kind::FrameType;
use super::padding;
use super::stream_id::StreamId;

/// A DATA frame, its content located in the payload so the caller can hand it out
/// mutably.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Data {
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
pub fn parse(header: &FrameHeader, payload: &[u8]) -> Result<Data, FrameError> {
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

/// Appends the header of an unpadded DATA frame whose `len` octets of content the
/// caller appends next, without a copy through an intermediate buffer.
pub fn write_data_header(out: &mut Vec<u8>, stream: StreamId, len: usize, end_stream: bool) {
    out.reserve(FRAME_HEADER_LEN + len);
    write_header(
        out,
        len,
        FrameType::Data,
        Flags::when(end_stream, Flags::END_STREAM),
        stream,
    );
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
        let mut out = Vec::new();
        write_data_header(&mut out, StreamId::new(3), 5, true);
        out.extend_from_slice(b"hello");
        let h = FrameHeader::parse(&out).unwrap();
        let d = parse(&h, &out[FRAME_HEADER_LEN..]).unwrap();
        assert_eq!(&out[FRAME_HEADER_LEN..][d.data], b"hello");
        assert!(d.end_stream);
    }
}
