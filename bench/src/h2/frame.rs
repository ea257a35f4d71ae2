//! HTTP/2 frames as the load generator sees them (RFC 9113 §4.1, §6): the 9-byte header,
//! the types and flags it uses, error codes, and writers for the few frames a client that
//! opens one stream ever sends.

/// The client preface (RFC 9113 §3.4) and the 9-octet frame header's length (§4.1),
/// from the test-support crate every client here shares.
pub use wsecho_test_support::h2_frames::{FRAME_HEADER_LEN as HEADER_LEN, PREFACE};

/// RFC 9113 §6.5.2: SETTINGS_MAX_FRAME_SIZE "initial value is 2^14 (16,384) octets";
/// we never raise ours, so no frame the server sends may be longer (§4.2).
pub const DEFAULT_MAX_FRAME: u32 = 1 << 14;

/// RFC 9113 §6.5.2: "The value advertised by an endpoint MUST be between this initial
/// value and the maximum allowed frame size (2^24-1 or 16,777,215 octets), inclusive."
pub const MAX_MAX_FRAME: u32 = (1 << 24) - 1;

/// RFC 9113 §6.9.1: "A sender MUST NOT allow a flow-control window to exceed 2^31-1 octets."
pub const MAX_WINDOW: i64 = (1 << 31) - 1;

/// RFC 9113 §6.9.2: "the initial value for the connection flow-control window is 65,535
/// octets" (and the initial stream window until SETTINGS says otherwise).
pub const DEFAULT_WINDOW: u32 = 65_535;

/// The one stream the load generator opens: RFC 9113 §5.1.1, "Streams initiated by a
/// client MUST use odd-numbered stream identifiers", and the first is 1.
pub const STREAM: u32 = 1;

/// Flag bits (RFC 9113 §6): END_STREAM and ACK share bit 0, on different frame types.
pub mod flags {
    pub const END_STREAM: u8 = 0x01;
    pub const ACK: u8 = 0x01;
    pub const END_HEADERS: u8 = 0x04;
    pub const PADDED: u8 = 0x08;
    pub const PRIORITY: u8 = 0x20;
}

/// Frame types (RFC 9113 §6, §11.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Data,
    Headers,
    Priority,
    RstStream,
    Settings,
    PushPromise,
    Ping,
    GoAway,
    WindowUpdate,
    Continuation,
    /// RFC 9113 §4.1: "Implementations MUST ignore and discard frames of unknown types."
    Unknown(u8),
}

impl Kind {
    fn from_u8(t: u8) -> Kind {
        match t {
            0x0 => Kind::Data,
            0x1 => Kind::Headers,
            0x2 => Kind::Priority,
            0x3 => Kind::RstStream,
            0x4 => Kind::Settings,
            0x5 => Kind::PushPromise,
            0x6 => Kind::Ping,
            0x7 => Kind::GoAway,
            0x8 => Kind::WindowUpdate,
            0x9 => Kind::Continuation,
            other => Kind::Unknown(other),
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            Kind::Data => 0x0,
            Kind::Headers => 0x1,
            Kind::Priority => 0x2,
            Kind::RstStream => 0x3,
            Kind::Settings => 0x4,
            Kind::PushPromise => 0x5,
            Kind::Ping => 0x6,
            Kind::GoAway => 0x7,
            Kind::WindowUpdate => 0x8,
            Kind::Continuation => 0x9,
            Kind::Unknown(t) => t,
        }
    }
}

/// A frame header (RFC 9113 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Payload length, 24 bits.
    pub len: u32,
    pub kind: Kind,
    pub flags: u8,
    /// Stream identifier, the reserved bit cleared.
    pub stream: u32,
}

impl Header {
    /// Parses the header at the start of `buf`; `None` until 9 bytes are there.
    pub fn parse(buf: &[u8]) -> Option<Header> {
        let [l0, l1, l2, t, flags, s0, s1, s2, s3, ..] = *buf else {
            return None;
        };
        Some(Header {
            len: u32::from_be_bytes([0, l0, l1, l2]),
            kind: Kind::from_u8(t),
            flags,
            // RFC 9113 §4.1: the reserved bit "MUST be ignored when receiving".
            stream: u32::from_be_bytes([s0, s1, s2, s3]) & 0x7fff_ffff,
        })
    }

    /// Writes the header into `dst[..9]`.
    pub fn write(&self, dst: &mut [u8; HEADER_LEN]) {
        let [_, l0, l1, l2] = self.len.to_be_bytes();
        let [s0, s1, s2, s3] = (self.stream & 0x7fff_ffff).to_be_bytes();
        *dst = [l0, l1, l2, self.kind.to_u8(), self.flags, s0, s1, s2, s3];
    }

    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// SETTINGS parameters the client sends or reads (RFC 9113 §6.5.2, RFC 8441 §3).
pub mod setting {
    pub const HEADER_TABLE_SIZE: u16 = 0x1;
    pub const ENABLE_PUSH: u16 = 0x2;
    pub const MAX_CONCURRENT_STREAMS: u16 = 0x3;
    pub const INITIAL_WINDOW_SIZE: u16 = 0x4;
    pub const MAX_FRAME_SIZE: u16 = 0x5;
    /// RFC 8441 §3: "SETTINGS_ENABLE_CONNECT_PROTOCOL (0x08)".
    pub const ENABLE_CONNECT_PROTOCOL: u16 = 0x8;
}

/// Error codes (RFC 9113 §7), named in what the load generator reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    NoError,
    Protocol,
    Internal,
    FlowControl,
    SettingsTimeout,
    StreamClosed,
    FrameSize,
    RefusedStream,
    Cancel,
    Compression,
    Connect,
    EnhanceYourCalm,
    InadequateSecurity,
    Http11Required,
    /// RFC 9113 §7: "Unknown or unsupported error codes MUST NOT trigger any special
    /// behavior"; kept for the report.
    Unknown(u32),
}

impl ErrorCode {
    pub fn from_u32(code: u32) -> ErrorCode {
        match code {
            0x0 => ErrorCode::NoError,
            0x1 => ErrorCode::Protocol,
            0x2 => ErrorCode::Internal,
            0x3 => ErrorCode::FlowControl,
            0x4 => ErrorCode::SettingsTimeout,
            0x5 => ErrorCode::StreamClosed,
            0x6 => ErrorCode::FrameSize,
            0x7 => ErrorCode::RefusedStream,
            0x8 => ErrorCode::Cancel,
            0x9 => ErrorCode::Compression,
            0xa => ErrorCode::Connect,
            0xb => ErrorCode::EnhanceYourCalm,
            0xc => ErrorCode::InadequateSecurity,
            0xd => ErrorCode::Http11Required,
            other => ErrorCode::Unknown(other),
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            ErrorCode::NoError => "NO_ERROR",
            ErrorCode::Protocol => "PROTOCOL_ERROR",
            ErrorCode::Internal => "INTERNAL_ERROR",
            ErrorCode::FlowControl => "FLOW_CONTROL_ERROR",
            ErrorCode::SettingsTimeout => "SETTINGS_TIMEOUT",
            ErrorCode::StreamClosed => "STREAM_CLOSED",
            ErrorCode::FrameSize => "FRAME_SIZE_ERROR",
            ErrorCode::RefusedStream => "REFUSED_STREAM",
            ErrorCode::Cancel => "CANCEL",
            ErrorCode::Compression => "COMPRESSION_ERROR",
            ErrorCode::Connect => "CONNECT_ERROR",
            ErrorCode::EnhanceYourCalm => "ENHANCE_YOUR_CALM",
            ErrorCode::InadequateSecurity => "INADEQUATE_SECURITY",
            ErrorCode::Http11Required => "HTTP_1_1_REQUIRED",
            ErrorCode::Unknown(code) => return write!(f, "error code {code:#x}"),
        };
        f.write_str(name)
    }
}

/// Length of a SETTINGS frame carrying `n` parameters.
pub const fn settings_len(n: usize) -> usize {
    HEADER_LEN + 6 * n
}

/// Writes a SETTINGS frame with `params` into `dst` (exactly `settings_len(params.len())`).
pub fn write_settings(dst: &mut [u8], params: &[(u16, u32)]) {
    let (head, body) = dst.split_at_mut(HEADER_LEN);
    put_header(head, body.len(), Kind::Settings, 0, 0);
    for (slot, &(id, value)) in body.chunks_exact_mut(6).zip(params) {
        slot[..2].copy_from_slice(&id.to_be_bytes());
        slot[2..].copy_from_slice(&value.to_be_bytes());
    }
}

/// RFC 9113 §6.5: "ACK ... the frame's payload MUST be empty".
pub const SETTINGS_ACK: [u8; HEADER_LEN] = [0, 0, 0, 0x4, flags::ACK, 0, 0, 0, 0];

/// Length of a WINDOW_UPDATE frame.
pub const WINDOW_UPDATE_LEN: usize = HEADER_LEN + 4;

/// Writes a WINDOW_UPDATE frame (RFC 9113 §6.9) into `dst`.
pub fn write_window_update(dst: &mut [u8; WINDOW_UPDATE_LEN], stream: u32, increment: u32) {
    let (head, body) = dst.split_at_mut(HEADER_LEN);
    put_header(head, 4, Kind::WindowUpdate, 0, stream);
    body.copy_from_slice(&(increment & 0x7fff_ffff).to_be_bytes());
}

/// Length of a PING frame.
pub const PING_LEN: usize = HEADER_LEN + 8;

/// Writes the PING ACK answering `opaque` (RFC 9113 §6.7: "PING responses ... MUST set
/// the ACK flag ... with an identical frame payload").
pub fn write_ping_ack(dst: &mut [u8; PING_LEN], opaque: [u8; 8]) {
    let (head, body) = dst.split_at_mut(HEADER_LEN);
    put_header(head, 8, Kind::Ping, flags::ACK, 0);
    body.copy_from_slice(&opaque);
}

/// Writes the header of a DATA frame of `len` bytes on `stream` (no END_STREAM).
pub fn write_data_header(dst: &mut [u8; HEADER_LEN], len: usize, stream: u32) {
    Header {
        len: len as u32,
        kind: Kind::Data,
        flags: 0,
        stream,
    }
    .write(dst);
}

/// Writes a frame header into the first 9 bytes of `dst` (callers size it).
fn put_header(dst: &mut [u8], len: usize, kind: Kind, flags: u8, stream: u32) {
    if let Some(head) = dst.first_chunk_mut::<HEADER_LEN>() {
        Header {
            len: len as u32,
            kind,
            flags,
            stream,
        }
        .write(head);
    }
}

/// Writes a HEADERS frame carrying the whole `block` (END_HEADERS, no END_STREAM: the
/// stream stays open for the WebSocket) into `dst`, which is `HEADER_LEN + block.len()`.
pub fn write_headers(dst: &mut [u8], block: &[u8], stream: u32) {
    let (head, body) = dst.split_at_mut(HEADER_LEN);
    put_header(head, block.len(), Kind::Headers, flags::END_HEADERS, stream);
    body.copy_from_slice(block);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_survives_a_round_trip_and_drops_the_reserved_bit() {
        let h = Header {
            len: 0x01_02_03,
            kind: Kind::Headers,
            flags: flags::END_HEADERS | flags::PADDED,
            stream: 7,
        };
        let mut b = [0u8; HEADER_LEN];
        h.write(&mut b);
        assert_eq!(b, [1, 2, 3, 1, 0x0c, 0, 0, 0, 7]);
        assert_eq!(Header::parse(&b), Some(h));
        // RFC 9113 §4.1: the reserved bit is ignored on receipt.
        b[5] |= 0x80;
        assert_eq!(Header::parse(&b).map(|h| h.stream), Some(7));
        assert_eq!(Header::parse(&b[..8]), None);
        b[3] = 0xfa;
        assert_eq!(Header::parse(&b).map(|h| h.kind), Some(Kind::Unknown(0xfa)));
    }

    #[test]
    fn control_frames_are_laid_out_as_rfc_9113_says() {
        let mut s = [0u8; settings_len(2)];
        write_settings(
            &mut s,
            &[
                (setting::ENABLE_PUSH, 0),
                (setting::INITIAL_WINDOW_SIZE, 1 << 24),
            ],
        );
        assert_eq!(
            s,
            [
                0, 0, 12, 4, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0
            ]
        );
        let mut w = [0u8; WINDOW_UPDATE_LEN];
        write_window_update(&mut w, 1, 0x8000_0010);
        assert_eq!(w, [0, 0, 4, 8, 0, 0, 0, 0, 1, 0, 0, 0, 0x10]);
        let mut p = [0u8; PING_LEN];
        write_ping_ack(&mut p, *b"12345678");
        assert_eq!(&p[..HEADER_LEN], &[0, 0, 8, 6, 1, 0, 0, 0, 0]);
        assert_eq!(&p[HEADER_LEN..], b"12345678");
        let mut d = [0u8; HEADER_LEN];
        write_data_header(&mut d, 16_384, 1);
        assert_eq!(d, [0, 0x40, 0, 0, 0, 0, 0, 0, 1]);
        let mut h = [0u8; HEADER_LEN + 3];
        write_headers(&mut h, b"abc", 1);
        assert_eq!(h, [0, 0, 3, 1, 4, 0, 0, 0, 1, b'a', b'b', b'c']);
        assert_eq!(
            Header::parse(&SETTINGS_ACK).map(|h| (h.kind, h.has(flags::ACK))),
            Some((Kind::Settings, true))
        );
    }

    #[test]
    fn error_codes_name_themselves() {
        assert_eq!(ErrorCode::from_u32(0x3).to_string(), "FLOW_CONTROL_ERROR");
        assert_eq!(ErrorCode::from_u32(0xb).to_string(), "ENHANCE_YOUR_CALM");
        assert_eq!(ErrorCode::from_u32(0x42).to_string(), "error code 0x42");
    }
}
