//! HTTP/2 spoken byte for byte, as a hostile client would: frames built and parsed by
//! hand (RFC 9113 §4.1), header blocks of HPACK representations chosen one by one
//! (RFC 7541 §6), and a reader that takes frames off a socket within a timeout. Nothing
//! here refuses to build a frame the protocol forbids: that is what it is for.
//!
//! Responses are judged by the first octets of their header block, not by an HPACK
//! decoder: a server that indexes `:status 200` sends the static entry 8 (`0x88`), and
//! any other status as a literal with the indexed name `:status` (`0x08`, RFC 7541
//! §6.2.2) and three digits, or with incremental indexing (`0x48`, §6.2.1).

use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// RFC 9113 §3.4: "the connection preface starts with the string
/// "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"".
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// The length of a frame header (RFC 9113 §4.1).
pub const FRAME_HEADER_LEN: usize = 9;

/// DATA (RFC 9113 §6.1).
pub const DATA: u8 = 0x0;
/// HEADERS (§6.2).
pub const HEADERS: u8 = 0x1;
/// PRIORITY (§6.3).
pub const PRIORITY: u8 = 0x2;
/// RST_STREAM (§6.4).
pub const RST_STREAM: u8 = 0x3;
/// SETTINGS (§6.5).
pub const SETTINGS: u8 = 0x4;
/// PUSH_PROMISE (§6.6).
pub const PUSH_PROMISE: u8 = 0x5;
/// PING (§6.7).
pub const PING: u8 = 0x6;
/// GOAWAY (§6.8).
pub const GOAWAY: u8 = 0x7;
/// WINDOW_UPDATE (§6.9).
pub const WINDOW_UPDATE: u8 = 0x8;
/// CONTINUATION (§6.10).
pub const CONTINUATION: u8 = 0x9;

/// END_STREAM, on DATA and HEADERS.
pub const END_STREAM: u8 = 0x1;
/// ACK, on SETTINGS and PING.
pub const ACK: u8 = 0x1;
/// END_HEADERS, on HEADERS, PUSH_PROMISE and CONTINUATION.
pub const END_HEADERS: u8 = 0x4;
/// PADDED, on DATA, HEADERS and PUSH_PROMISE.
pub const PADDED: u8 = 0x8;
/// PRIORITY, on HEADERS.
pub const PRIORITY_FLAG: u8 = 0x20;

/// NO_ERROR (RFC 9113 §7).
pub const NO_ERROR: u32 = 0x0;
/// PROTOCOL_ERROR.
pub const PROTOCOL_ERROR: u32 = 0x1;
/// INTERNAL_ERROR.
pub const INTERNAL_ERROR: u32 = 0x2;
/// FLOW_CONTROL_ERROR.
pub const FLOW_CONTROL_ERROR: u32 = 0x3;
/// SETTINGS_TIMEOUT.
pub const SETTINGS_TIMEOUT: u32 = 0x4;
/// STREAM_CLOSED.
pub const STREAM_CLOSED: u32 = 0x5;
/// FRAME_SIZE_ERROR.
pub const FRAME_SIZE_ERROR: u32 = 0x6;
/// REFUSED_STREAM.
pub const REFUSED_STREAM: u32 = 0x7;
/// CANCEL.
pub const CANCEL: u32 = 0x8;
/// COMPRESSION_ERROR.
pub const COMPRESSION_ERROR: u32 = 0x9;
/// CONNECT_ERROR.
pub const CONNECT_ERROR: u32 = 0xa;
/// ENHANCE_YOUR_CALM.
pub const ENHANCE_YOUR_CALM: u32 = 0xb;

/// SETTINGS_HEADER_TABLE_SIZE (RFC 9113 §6.5.2).
pub const SETTINGS_HEADER_TABLE_SIZE: u16 = 0x1;
/// SETTINGS_MAX_CONCURRENT_STREAMS.
pub const SETTINGS_MAX_CONCURRENT_STREAMS: u16 = 0x3;
/// SETTINGS_INITIAL_WINDOW_SIZE.
pub const SETTINGS_INITIAL_WINDOW_SIZE: u16 = 0x4;
/// SETTINGS_MAX_FRAME_SIZE.
pub const SETTINGS_MAX_FRAME_SIZE: u16 = 0x5;
/// SETTINGS_MAX_HEADER_LIST_SIZE.
pub const SETTINGS_MAX_HEADER_LIST_SIZE: u16 = 0x6;
/// SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3).
pub const SETTINGS_ENABLE_CONNECT_PROTOCOL: u16 = 0x8;

/// The first index of the HPACK dynamic table: the entry added last (RFC 7541 §2.3.3).
pub const FIRST_DYNAMIC_INDEX: usize = 62;

/// The fields of an RFC 8441 extended CONNECT that opens a WebSocket on `/`.
pub const WEBSOCKET_CONNECT: [(&str, &str); 6] = [
    (":method", "CONNECT"),
    (":protocol", "websocket"),
    (":scheme", "http"),
    (":path", "/"),
    (":authority", "x"),
    ("sec-websocket-version", "13"),
];

/// One frame, as read or to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The type.
    pub kind: u8,
    /// The flags.
    pub flags: u8,
    /// The stream identifier, its reserved bit cleared.
    pub stream: u32,
    /// The payload.
    pub payload: Vec<u8>,
}

/// What a GOAWAY says (RFC 9113 §6.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoAway {
    /// The last stream the sender may have acted on.
    pub last_stream: u32,
    /// The error code.
    pub code: u32,
    /// The debug data, as text.
    pub debug: String,
}

impl Frame {
    /// Whether all of `flags` are set.
    pub fn has(&self, flags: u8) -> bool {
        self.flags & flags == flags
    }

    /// The frame's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        frame(self.kind, self.flags, self.stream, &self.payload)
    }

    /// What a GOAWAY says; `None` for other frames or a payload too short.
    pub fn goaway(&self) -> Option<GoAway> {
        if self.kind != GOAWAY {
            return None;
        }
        Some(GoAway {
            last_stream: be32(self.payload.get(0..4)?) & 0x7fff_ffff,
            code: be32(self.payload.get(4..8)?),
            debug: String::from_utf8_lossy(self.payload.get(8..)?).into_owned(),
        })
    }

    /// A RST_STREAM's error code.
    pub fn rst_code(&self) -> Option<u32> {
        match (self.kind, self.payload.as_slice()) {
            (RST_STREAM, [a, b, c, d]) => Some(u32::from_be_bytes([*a, *b, *c, *d])),
            _ => None,
        }
    }

    /// A SETTINGS frame's parameters, in order.
    pub fn settings(&self) -> Option<Vec<(u16, u32)>> {
        if self.kind != SETTINGS || !self.payload.len().is_multiple_of(6) {
            return None;
        }
        Some(
            self.payload
                .chunks_exact(6)
                .map(|p| (u16::from_be_bytes([p[0], p[1]]), be32(&p[2..6])))
                .collect(),
        )
    }

    /// The header block fragment of a HEADERS frame, without padding and priority.
    pub fn fragment(&self) -> Option<&[u8]> {
        if self.kind != HEADERS {
            return None;
        }
        let mut rest = self.payload.as_slice();
        let mut pad = 0;
        if self.has(PADDED) {
            let (&len, tail) = rest.split_first()?;
            pad = usize::from(len);
            rest = tail;
        }
        if self.has(PRIORITY_FLAG) {
            rest = rest.get(5..)?;
        }
        rest.get(..rest.len().checked_sub(pad)?)
    }

    /// The `:status` of a response HEADERS frame whose block starts with it.
    pub fn status(&self) -> Option<u16> {
        status_of(self.fragment()?)
    }
}

fn be32(b: &[u8]) -> u32 {
    b.iter().fold(0, |acc, &x| acc << 8 | u32::from(x))
}

/// A frame's bytes. Panics on a payload of 2^24 octets or more, which a frame header
/// cannot say.
pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|&n| n < 1 << 24)
        .expect("a payload under 2^24 octets");
    let mut out = Vec::with_capacity(FRAME_HEADER_LEN + payload.len());
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// SETTINGS with these parameters.
pub fn settings(params: &[(u16, u32)]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(6 * params.len());
    for (id, value) in params {
        payload.extend_from_slice(&id.to_be_bytes());
        payload.extend_from_slice(&value.to_be_bytes());
    }
    frame(SETTINGS, 0, 0, &payload)
}

/// SETTINGS with ACK.
pub fn settings_ack() -> Vec<u8> {
    frame(SETTINGS, ACK, 0, &[])
}

/// PING with `data` (no ACK).
pub fn ping(data: [u8; 8]) -> Vec<u8> {
    frame(PING, 0, 0, &data)
}

/// RST_STREAM with `code`.
pub fn rst_stream(stream: u32, code: u32) -> Vec<u8> {
    frame(RST_STREAM, 0, stream, &code.to_be_bytes())
}

/// GOAWAY naming `last_stream`, with `code` and `debug`.
pub fn goaway(last_stream: u32, code: u32, debug: &[u8]) -> Vec<u8> {
    let mut payload = last_stream.to_be_bytes().to_vec();
    payload.extend_from_slice(&code.to_be_bytes());
    payload.extend_from_slice(debug);
    frame(GOAWAY, 0, 0, &payload)
}

/// WINDOW_UPDATE of `increment` on `stream` (0: the connection).
pub fn window_update(stream: u32, increment: u32) -> Vec<u8> {
    frame(WINDOW_UPDATE, 0, stream, &increment.to_be_bytes())
}

/// DATA on `stream`, with END_STREAM if `end_stream`.
pub fn data(stream: u32, payload: &[u8], end_stream: bool) -> Vec<u8> {
    frame(
        DATA,
        if end_stream { END_STREAM } else { 0 },
        stream,
        payload,
    )
}

/// HEADERS on `stream` carrying a whole block (END_HEADERS), without END_STREAM: how
/// an extended CONNECT opens its stream.
pub fn headers(stream: u32, block: &[u8]) -> Vec<u8> {
    frame(HEADERS, END_HEADERS, stream, block)
}

/// What a client sends first: the preface and SETTINGS with `params`.
pub fn client_preface(params: &[(u16, u32)]) -> Vec<u8> {
    let mut out = PREFACE.to_vec();
    out.extend(settings(params));
    out
}

/// Opens a connection: sends the preface and an empty SETTINGS, reads until both the
/// server's SETTINGS and its acknowledgement of ours came (RFC 9113 §3.4, §6.5.3),
/// acknowledges the server's, and returns its parameters. Other frames before them
/// (a WINDOW_UPDATE, say) are passed over.
pub fn handshake(s: &mut (impl Read + Write)) -> io::Result<Vec<(u16, u32)>> {
    s.write_all(&client_preface(&[]))?;
    let mut theirs = None;
    let mut acked = false;
    while theirs.is_none() || !acked {
        let f = read_frame(s)?;
        if f.kind != SETTINGS {
            continue;
        }
        if f.has(ACK) {
            acked = true;
        } else {
            theirs = Some(
                f.settings()
                    .ok_or_else(|| invalid("a malformed SETTINGS"))?,
            );
        }
    }
    s.write_all(&settings_ack())?;
    Ok(theirs.unwrap_or_default())
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(ErrorKind::InvalidData, what.to_owned())
}

/// An RFC 7541 §5.1 integer with a `prefix`-bit prefix, the octet's other bits `flags`.
pub fn hpack_int(out: &mut Vec<u8>, value: usize, prefix: u8, flags: u8) {
    let max = (1usize << prefix) - 1;
    if value < max {
        out.push(flags | value as u8);
        return;
    }
    out.push(flags | max as u8);
    let mut rest = value - max;
    while rest >= 0x80 {
        out.push(0x80 | (rest & 0x7f) as u8);
        rest >>= 7;
    }
    out.push(rest as u8);
}

/// A string literal without Huffman coding (RFC 7541 §5.2).
pub fn hpack_string(out: &mut Vec<u8>, s: &[u8]) {
    hpack_int(out, s.len(), 7, 0);
    out.extend_from_slice(s);
}

/// An indexed field (RFC 7541 §6.1): the entry at `index` of the static or dynamic
/// table.
pub fn push_indexed(out: &mut Vec<u8>, index: usize) {
    hpack_int(out, index, 7, 0x80);
}

/// A literal field without indexing whose name is entry `index` of the static or
/// dynamic table (RFC 7541 §6.2.2: a 4-bit prefix, 0000 above it).
pub fn push_literal_indexed_name(out: &mut Vec<u8>, index: usize, value: &[u8]) {
    hpack_int(out, index, 4, 0x00);
    hpack_string(out, value);
}

/// A literal field without indexing, with a literal name (RFC 7541 §6.2.2).
pub fn push_literal(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.push(0x00);
    hpack_string(out, name);
    hpack_string(out, value);
}

/// A literal field with incremental indexing and a literal name (RFC 7541 §6.2.1): it
/// becomes entry [`FIRST_DYNAMIC_INDEX`] of the decoder's table.
pub fn push_indexing(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.push(0x40);
    hpack_string(out, name);
    hpack_string(out, value);
}

/// A header block of literal fields without indexing, literal names too: it leaves the
/// decoder's table as it was.
pub fn literal_block(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in fields {
        push_literal(&mut out, name.as_bytes(), value.as_bytes());
    }
    out
}

/// The `:status` a response block starts with: the static entry for 200 (`0x88`), or a
/// literal whose name is the static `:status` (index 8) and whose value is three
/// digits, without or with indexing (`0x08`, `0x48`) or never indexed (`0x18`).
pub fn status_of(block: &[u8]) -> Option<u16> {
    match block {
        [0x88, ..] => Some(200),
        [0x08 | 0x18 | 0x48, 3, digits @ ..] => {
            std::str::from_utf8(digits.get(..3)?).ok()?.parse().ok()
        }
        _ => None,
    }
}

/// Parses the frame at the start of `bytes`: the frame and the octets it took, or
/// `None` while it is incomplete.
pub fn parse_frame(bytes: &[u8]) -> Option<(Frame, usize)> {
    let head = bytes.get(..FRAME_HEADER_LEN)?;
    let len = be32(&head[0..3]) as usize;
    let payload = bytes.get(FRAME_HEADER_LEN..FRAME_HEADER_LEN + len)?;
    let frame = Frame {
        kind: head[3],
        flags: head[4],
        stream: be32(&head[5..9]) & 0x7fff_ffff,
        payload: payload.to_vec(),
    };
    Some((frame, FRAME_HEADER_LEN + len))
}

/// Every whole frame in `bytes`, and the octets left after them.
pub fn parse_frames(mut bytes: &[u8]) -> (Vec<Frame>, &[u8]) {
    let mut frames = Vec::new();
    while let Some((f, n)) = parse_frame(bytes) {
        frames.push(f);
        bytes = &bytes[n..];
    }
    (frames, bytes)
}

/// Reads one frame (the reader's own timeout applies); `UnexpectedEof` at the end.
pub fn read_frame(r: &mut impl Read) -> io::Result<Frame> {
    let mut head = [0u8; FRAME_HEADER_LEN];
    r.read_exact(&mut head)?;
    let mut payload = vec![0; be32(&head[0..3]) as usize];
    r.read_exact(&mut payload)?;
    Ok(Frame {
        kind: head[3],
        flags: head[4],
        stream: be32(&head[5..9]) & 0x7fff_ffff,
        payload,
    })
}

/// Reads one frame off `s` within `timeout` (`WouldBlock` or `TimedOut` past it).
pub fn read_frame_within(s: &mut TcpStream, timeout: Duration) -> io::Result<Frame> {
    s.set_read_timeout(Some(timeout))?;
    read_frame(s)
}

/// Reads frames until `wanted` accepts one, and returns it with the frames before it.
pub fn read_until(
    r: &mut impl Read,
    mut wanted: impl FnMut(&Frame) -> bool,
) -> io::Result<(Frame, Vec<Frame>)> {
    let mut before = Vec::new();
    loop {
        let f = read_frame(r)?;
        if wanted(&f) {
            return Ok((f, before));
        }
        before.push(f);
    }
}

/// Reads frames until the peer closes the connection (an EOF, or a reset, which a
/// peer that closes with input unread sends), returning them. A timeout, or a frame cut
/// short by the end, is an error.
pub fn read_to_close(r: &mut impl Read) -> io::Result<Vec<Frame>> {
    let mut frames = Vec::new();
    loop {
        let mut first = [0u8; 1];
        match r.read(&mut first) {
            Ok(0) => return Ok(frames),
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return Ok(frames),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        let mut rest = io::Cursor::new(first).chain(&mut *r);
        frames.push(read_frame(&mut rest)?);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let mut bytes = goaway(7, ENHANCE_YOUR_CALM, b"calm");
        bytes.extend(rst_stream(3, CANCEL));
        bytes.push(0);
        let (frames, rest) = parse_frames(&bytes);
        assert_eq!(rest, &[0]);
        let g = frames[0].goaway().unwrap();
        assert_eq!((g.last_stream, g.code, g.debug.as_str()), (7, 0xb, "calm"));
        assert_eq!((frames[1].stream, frames[1].rst_code()), (3, Some(CANCEL)));
        assert_eq!(frames[1].to_bytes(), rst_stream(3, CANCEL));
        let s = parse_frame(&settings(&[(SETTINGS_MAX_CONCURRENT_STREAMS, 100)]))
            .unwrap()
            .0;
        assert_eq!(s.settings(), Some(vec![(3, 100)]));
    }

    #[test]
    fn integers_follow_rfc_7541_c_1() {
        let mut out = Vec::new();
        hpack_int(&mut out, 10, 5, 0);
        hpack_int(&mut out, 1337, 5, 0);
        assert_eq!(out, [0x0a, 0x1f, 0x9a, 0x0a]);
        let mut out = Vec::new();
        push_indexed(&mut out, FIRST_DYNAMIC_INDEX);
        assert_eq!(out, [0xbe]);
    }

    #[test]
    fn reads_status_and_frames_to_the_close() {
        let mut padded = vec![2, 0x08, 3];
        padded.extend_from_slice(b"431\0\0");
        let f = Frame {
            kind: HEADERS,
            flags: END_HEADERS | PADDED,
            stream: 1,
            payload: padded,
        };
        assert_eq!(f.status(), Some(431));
        assert_eq!(status_of(&[0x88, 0x5f]), Some(200));
        let mut wire = f.to_bytes();
        wire.extend(ping([1; 8]));
        let frames = read_to_close(&mut wire.as_slice()).unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].payload, [1; 8]);
        let cut = &wire[..wire.len() - 1];
        assert!(read_to_close(&mut &cut[..]).is_err());
    }
}
