//! The 9-octet frame header (RFC 9113 §4.1).

use super::flags::Flags;
use super::kind::FrameType;
use super::stream_id::StreamId;

/// Length of every frame header.
pub(crate) const FRAME_HEADER_LEN: usize = 9;
/// §4.2: "The size of a frame payload is limited by the maximum size that a receiver
/// advertises in the SETTINGS_MAX_FRAME_SIZE setting": 2^14 until it says more.
pub(crate) const DEFAULT_MAX_FRAME_SIZE: u32 = 1 << 14;
/// §6.5.2: the largest SETTINGS_MAX_FRAME_SIZE, 2^24−1 (the length field's range).
pub(crate) const MAX_MAX_FRAME_SIZE: u32 = (1 << 24) - 1;

/// A parsed frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    /// The payload length (24 bits), the header not included.
    pub length: u32,
    /// The type.
    pub kind: FrameType,
    /// The flags, to be read according to the type.
    pub flags: Flags,
    /// The stream, or 0 for the connection.
    pub stream: StreamId,
}

impl FrameHeader {
    /// Parses the header at the front of `buf`, or `None` until all 9 octets are here.
    /// Any header is well formed; the length is judged by the caller against its limit.
    pub(crate) fn parse(buf: &[u8]) -> Option<FrameHeader> {
        let bytes: &[u8; FRAME_HEADER_LEN] = buf.get(..FRAME_HEADER_LEN)?.try_into().ok()?;
        let [l0, l1, l2, kind, flags, s0, s1, s2, s3] = *bytes;
        Some(FrameHeader {
            length: u32::from_be_bytes([0, l0, l1, l2]),
            kind: FrameType::from_u8(kind),
            flags: Flags(flags),
            // §4.1: the reserved bit "MUST remain unset (0x00) when sending and MUST be
            // ignored when receiving".
            stream: StreamId::new(u32::from_be_bytes([s0, s1, s2, s3])),
        })
    }

    /// Appends this header to `out`. `length` must fit in 24 bits: every caller frames
    /// at most [`MAX_MAX_FRAME_SIZE`] octets.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bytes());
    }

    /// This header's nine octets. `length` must fit in 24 bits, as for
    /// [`FrameHeader::write`].
    pub(crate) fn to_bytes(self) -> [u8; FRAME_HEADER_LEN] {
        debug_assert!(self.length <= MAX_MAX_FRAME_SIZE);
        let [_, l0, l1, l2] = self.length.to_be_bytes();
        let [s0, s1, s2, s3] = self.stream.value().to_be_bytes();
        [l0, l1, l2, self.kind.to_u8(), self.flags.0, s0, s1, s2, s3]
    }
}

/// Appends a frame header.
pub(crate) fn write_header(
    out: &mut Vec<u8>,
    length: usize,
    kind: FrameType,
    flags: Flags,
    stream: StreamId,
) {
    let length = u32::try_from(length)
        .unwrap_or(u32::MAX)
        .min(MAX_MAX_FRAME_SIZE);
    FrameHeader {
        length,
        kind,
        flags,
        stream,
    }
    .write(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_waits_for_nine_octets() {
        let mut out = Vec::new();
        write_header(
            &mut out,
            0x01_02_03,
            FrameType::Headers,
            Flags::END_HEADERS,
            StreamId::new(7),
        );
        assert_eq!(out, [1, 2, 3, 1, 4, 0, 0, 0, 7]);
        for cut in 0..FRAME_HEADER_LEN {
            assert_eq!(FrameHeader::parse(&out[..cut]), None);
        }
        let h = FrameHeader::parse(&out).unwrap();
        assert_eq!(h.length, 0x01_02_03);
        assert_eq!(h.kind, FrameType::Headers);
        assert_eq!(h.flags, Flags::END_HEADERS);
        assert_eq!(h.stream, StreamId::new(7));
    }

    #[test]
    fn the_reserved_bit_is_ignored() {
        let h = FrameHeader::parse(&[0, 0, 0, 0, 0, 0x80, 0, 0, 3]).unwrap();
        assert_eq!(h.stream.value(), 3);
    }
}
