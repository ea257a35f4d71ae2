//! HEADERS frames (RFC 9113 §6.2), and the writing of a field block split into
//! CONTINUATION frames (§6.10).

use super::error::FrameError;
use super::error_code::ErrorCode;
use super::flags::Flags;
use super::header::{FRAME_HEADER_LEN, FrameHeader, write_header};
use super::kind::FrameType;
use super::padding;
use super::priority::{PRIORITY_LEN, PrioritySpec};
use super::stream_id::StreamId;

/// A HEADERS frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Headers<'a> {
    /// The stream.
    pub stream: StreamId,
    /// The first fragment of the field block, padding and priority fields removed.
    pub fragment: &'a [u8],
    /// END_STREAM: the peer sends nothing more on the stream after this field block.
    pub end_stream: bool,
    /// END_HEADERS: the field block is whole; else CONTINUATION frames follow.
    pub end_headers: bool,
    /// The priority fields, when the PRIORITY flag is set.
    pub priority: Option<PrioritySpec>,
}

/// Parses a HEADERS frame's payload.
pub(crate) fn parse<'a>(
    header: &FrameHeader,
    payload: &'a [u8],
) -> Result<Headers<'a>, FrameError> {
    // §6.2: "If a HEADERS frame is received whose Stream Identifier field is 0x00, the
    // recipient MUST respond with a connection error of type PROTOCOL_ERROR."
    if header.stream.is_connection() {
        return Err(FrameError::connection(
            ErrorCode::ProtocolError,
            "RFC 9113 §6.2: HEADERS on stream 0",
        ));
    }
    let (mut rest, _) = padding::strip(header.flags, payload)?;
    let mut priority = None;
    if header.flags.contains(Flags::PRIORITY) {
        // §4.2: FRAME_SIZE_ERROR for a frame "too small to contain mandatory frame data",
        // a connection error for "any frame carrying a field block".
        let Some((fields, fragment)) = rest.split_first_chunk::<PRIORITY_LEN>() else {
            return Err(FrameError::connection(
                ErrorCode::FrameSizeError,
                "RFC 9113 §4.2: HEADERS too short for its priority fields",
            ));
        };
        priority = Some(PrioritySpec::parse(*fields));
        rest = fragment;
    }
    Ok(Headers {
        stream: header.stream,
        fragment: rest,
        end_stream: header.flags.contains(Flags::END_STREAM),
        end_headers: header.flags.contains(Flags::END_HEADERS),
        priority,
    })
}

/// Appends a field block as one HEADERS frame, or as HEADERS and CONTINUATION frames
/// when it is longer than `max_frame_size` (the peer's SETTINGS_MAX_FRAME_SIZE).
/// §4.3: "Field blocks MUST be transmitted as a contiguous sequence of frames, with no
/// interleaved frames of any other type or from any other stream": the caller appends
/// the whole sequence in one call.
pub(crate) fn write_headers(
    out: &mut Vec<u8>,
    stream: StreamId,
    block: &[u8],
    end_stream: bool,
    max_frame_size: usize,
) {
    let max = max_frame_size.max(1);
    let mut chunks = block.chunks(max);
    // An empty block is one HEADERS frame with an empty fragment.
    let first = chunks.next().unwrap_or(&[]);
    let frames = block.len().div_ceil(max).max(1);
    out.reserve(block.len() + frames * FRAME_HEADER_LEN);
    let only = frames == 1;
    write_header(
        out,
        first.len(),
        FrameType::Headers,
        Flags::when(end_stream, Flags::END_STREAM).with(Flags::when(only, Flags::END_HEADERS)),
        stream,
    );
    out.extend_from_slice(first);
    let mut left = frames - 1;
    for chunk in chunks {
        left -= 1;
        write_header(
            out,
            chunk.len(),
            FrameType::Continuation,
            Flags::when(left == 0, Flags::END_HEADERS),
            stream,
        );
        out.extend_from_slice(chunk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h2::frame::Scope;

    fn header(flags: Flags, stream: u32, length: usize) -> FrameHeader {
        FrameHeader {
            length: length as u32,
            kind: FrameType::Headers,
            flags,
            stream: StreamId::new(stream),
        }
    }

    #[test]
    fn padding_and_priority_are_removed_from_the_fragment() {
        let payload = [2, 0x80, 0, 0, 1, 9, b'a', b'b', 0, 0];
        let flags = Flags::PADDED.with(Flags::PRIORITY).with(Flags::END_HEADERS);
        let h = parse(&header(flags, 3, payload.len()), &payload).unwrap();
        assert_eq!(h.fragment, b"ab");
        assert!(h.end_headers && !h.end_stream);
        let p = h.priority.unwrap();
        assert_eq!((p.dependency.value(), p.exclusive, p.weight), (1, true, 9));
    }

    #[test]
    fn too_short_for_priority_or_on_stream_zero_are_connection_errors() {
        let e = parse(&header(Flags::PRIORITY, 1, 4), &[0, 0, 0, 0]).unwrap_err();
        assert_eq!(
            (e.scope, e.code),
            (Scope::Connection, ErrorCode::FrameSizeError)
        );
        let e = parse(&header(Flags::NONE, 0, 0), &[]).unwrap_err();
        assert_eq!(
            (e.scope, e.code),
            (Scope::Connection, ErrorCode::ProtocolError)
        );
    }

    /// Reads back a sequence of frames as (type, flags, payload).
    fn frames(mut bytes: &[u8]) -> Vec<(FrameType, Flags, Vec<u8>)> {
        let mut v = Vec::new();
        while let Some(h) = FrameHeader::parse(bytes) {
            let end = FRAME_HEADER_LEN + h.length as usize;
            v.push((h.kind, h.flags, bytes[FRAME_HEADER_LEN..end].to_vec()));
            bytes = &bytes[end..];
        }
        v
    }

    #[test]
    fn a_long_block_is_split_into_continuation_frames() {
        let block: Vec<u8> = (0..10).collect();
        let mut out = Vec::new();
        write_headers(&mut out, StreamId::new(5), &block, true, 4);
        let f = frames(&out);
        assert_eq!(f.len(), 3);
        assert_eq!(
            (f[0].0, f[0].1, f[0].2.as_slice()),
            (FrameType::Headers, Flags::END_STREAM, &block[..4])
        );
        assert_eq!(
            (f[1].0, f[1].1, f[1].2.as_slice()),
            (FrameType::Continuation, Flags::NONE, &block[4..8])
        );
        assert_eq!(
            (f[2].0, f[2].1, f[2].2.as_slice()),
            (FrameType::Continuation, Flags::END_HEADERS, &block[8..])
        );
    }

    #[test]
    fn a_block_that_fits_is_one_frame_even_when_empty() {
        for len in [0usize, 1, 4] {
            let block = vec![7u8; len];
            let mut out = Vec::new();
            write_headers(&mut out, StreamId::new(1), &block, false, 4);
            let f = frames(&out);
            assert_eq!(f.len(), 1);
            assert_eq!((f[0].0, f[0].1), (FrameType::Headers, Flags::END_HEADERS));
            assert_eq!(f[0].2, block);
        }
    }
}
