//! Frames (RFC 6455 §5.2): client frames built with every header field choosable, and
//! frame headers read back, one byte stream or one slice at a time.

use std::sync::atomic::{AtomicU32, Ordering};

/// Opcode of a continuation frame.
pub const OP_CONT: u8 = 0x0;
/// Opcode of a text frame.
pub const OP_TEXT: u8 = 0x1;
/// Opcode of a binary frame.
pub const OP_BINARY: u8 = 0x2;
/// Opcode of a close frame.
pub const OP_CLOSE: u8 = 0x8;
/// Opcode of a ping frame.
pub const OP_PING: u8 = 0x9;
/// Opcode of a pong frame.
pub const OP_PONG: u8 = 0xA;

/// Longest frame header: 2 bytes, 8 of extended length, 4 of mask key.
pub const MAX_CLIENT_HEADER: usize = 14;

/// How a frame encodes its payload length; anything but `Auto` may lie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Len {
    /// The true length in the minimal encoding.
    Auto,
    /// This 7-bit value (0..=125) whatever the payload.
    Short(u8),
    /// Marker 126 and this 16-bit value.
    Medium(u16),
    /// Marker 127 and this 64-bit value.
    Long(u64),
}

impl Len {
    /// The minimal encoding of `len`.
    pub fn minimal(len: u64) -> Len {
        match len {
            0..126 => Len::Short(len as u8),
            126..=0xffff => Len::Medium(len as u16),
            _ => Len::Long(len),
        }
    }
}

/// Writes a frame header into `dst` (at least [`MAX_CLIENT_HEADER`] long) and returns its
/// length: FIN, the three RSV bits (RSV1 = 0b100), the opcode's four bits, the length in
/// the form `len` (`Len::Auto`: the minimal form of `payload_len`) and the mask key if any.
#[inline]
pub fn write_header(
    dst: &mut [u8],
    fin: bool,
    rsv: u8,
    opcode: u8,
    mask: Option<[u8; 4]>,
    len: Len,
    payload_len: u64,
) -> usize {
    let len = match len {
        Len::Auto => Len::minimal(payload_len),
        given => given,
    };
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    dst[0] = (u8::from(fin) << 7) | ((rsv & 0b111) << 4) | (opcode & 0x0f);
    let n = match len {
        Len::Short(n) => {
            dst[1] = mask_bit | (n & 0x7f);
            2
        }
        Len::Medium(n) => {
            dst[1] = mask_bit | 126;
            dst[2..4].copy_from_slice(&n.to_be_bytes());
            4
        }
        Len::Long(n) => {
            dst[1] = mask_bit | 127;
            dst[2..10].copy_from_slice(&n.to_be_bytes());
            10
        }
        Len::Auto => unreachable!("resolved above"),
    };
    match mask {
        Some(key) => {
            dst[n..n + 4].copy_from_slice(&key);
            n + 4
        }
        None => n,
    }
}

/// Writes a masked client frame's header into `dst` (at least [`MAX_CLIENT_HEADER`]
/// long), the payload length in its minimal form, and returns its length. `rsv` is the
/// three RSV bits (RSV1 = 0b100), `opcode` its four bits.
#[inline]
pub fn write_client_header(
    dst: &mut [u8],
    fin: bool,
    rsv: u8,
    opcode: u8,
    len: u64,
    key: [u8; 4],
) -> usize {
    write_header(dst, fin, rsv, opcode, Some(key), Len::Auto, len)
}

/// The length of the header [`write_client_header`] writes for a `len`-byte payload.
#[inline]
pub fn client_header_len(len: u64) -> usize {
    header_len(0x80 | len_marker(len))
}

/// The 7-bit length field of the minimal form of `len`.
#[inline]
fn len_marker(len: u64) -> u8 {
    match Len::minimal(len) {
        Len::Short(n) => n,
        Len::Medium(_) => 126,
        _ => 127,
    }
}

/// XORs `payload` with `key` as RFC 6455 §5.3 masks and unmasks.
pub fn apply_mask(payload: &mut [u8], key: [u8; 4]) {
    for (i, b) in payload.iter_mut().enumerate() {
        *b ^= key[i % 4];
    }
}

/// One masked client frame with the payload length in its minimal form. `rsv` is the
/// three RSV bits (RSV1 = 0b100), `opcode` its four bits; `key` masks the payload.
pub fn client_frame(fin: bool, rsv: u8, opcode: u8, key: [u8; 4], payload: &[u8]) -> Vec<u8> {
    RawFrame {
        fin,
        rsv,
        opcode,
        mask: Some(key),
        len: Len::Auto,
        payload: payload.to_vec(),
    }
    .encode()
}

/// One frame as a server sends it: unmasked, the length in its minimal form.
pub fn server_frame(fin: bool, rsv: u8, opcode: u8, payload: &[u8]) -> Vec<u8> {
    RawFrame {
        fin,
        rsv,
        opcode,
        mask: None,
        len: Len::Auto,
        payload: payload.to_vec(),
    }
    .encode()
}

/// A client frame with every header field under the caller's control.
#[derive(Clone, Debug)]
pub struct RawFrame {
    /// FIN.
    pub fin: bool,
    /// RSV1..RSV3 as the low three bits (RSV1 = 0b100).
    pub rsv: u8,
    /// The opcode's four bits.
    pub opcode: u8,
    /// The mask key; `None` sends the frame unmasked, which a server must refuse.
    pub mask: Option<[u8; 4]>,
    /// How the header states the payload length.
    pub len: Len,
    /// The payload, unmasked.
    pub payload: Vec<u8>,
}

static MASK_SEED: AtomicU32 = AtomicU32::new(0x9E37_79B9);

/// A varying mask key, never with a zero byte, so a server that skips unmasking is caught.
pub fn next_mask() -> [u8; 4] {
    let n = MASK_SEED.fetch_add(0x6D2B_79F5, Ordering::Relaxed) | 0x0101_0101;
    n.to_be_bytes()
}

impl RawFrame {
    /// A final frame masked with [`next_mask`], its true length in the minimal form.
    pub fn new(opcode: u8, payload: impl AsRef<[u8]>) -> RawFrame {
        RawFrame {
            fin: true,
            rsv: 0,
            opcode,
            mask: Some(next_mask()),
            len: Len::Auto,
            payload: payload.as_ref().to_vec(),
        }
    }

    /// A text frame.
    pub fn text(payload: impl AsRef<[u8]>) -> RawFrame {
        RawFrame::new(OP_TEXT, payload)
    }

    /// A binary frame.
    pub fn binary(payload: impl AsRef<[u8]>) -> RawFrame {
        RawFrame::new(OP_BINARY, payload)
    }

    /// A continuation frame.
    pub fn cont(payload: impl AsRef<[u8]>) -> RawFrame {
        RawFrame::new(OP_CONT, payload)
    }

    /// A ping.
    pub fn ping(payload: impl AsRef<[u8]>) -> RawFrame {
        RawFrame::new(OP_PING, payload)
    }

    /// A pong.
    pub fn pong(payload: impl AsRef<[u8]>) -> RawFrame {
        RawFrame::new(OP_PONG, payload)
    }

    /// A close frame with a status code (any number, valid or not) and reason.
    pub fn close(code: u16, reason: impl AsRef<[u8]>) -> RawFrame {
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(reason.as_ref());
        RawFrame::new(OP_CLOSE, payload)
    }

    /// A close frame with an empty payload.
    pub fn close_empty() -> RawFrame {
        RawFrame::new(OP_CLOSE, [])
    }

    /// With FIN set or clear.
    pub fn fin(mut self, fin: bool) -> RawFrame {
        self.fin = fin;
        self
    }

    /// With these RSV bits (RSV1 = 0b100).
    pub fn rsv(mut self, rsv: u8) -> RawFrame {
        self.rsv = rsv;
        self
    }

    /// Without a mask.
    pub fn unmasked(mut self) -> RawFrame {
        self.mask = None;
        self
    }

    /// With the length stated as `len`.
    pub fn len(mut self, len: Len) -> RawFrame {
        self.len = len;
        self
    }

    /// The header alone: first byte, length, mask key.
    pub fn header(&self) -> Vec<u8> {
        let mut buf = [0u8; MAX_CLIENT_HEADER];
        let n = write_header(
            &mut buf,
            self.fin,
            self.rsv,
            self.opcode,
            self.mask,
            self.len,
            self.payload.len() as u64,
        );
        buf[..n].to_vec()
    }

    /// Header plus (masked) payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.header();
        let start = out.len();
        out.extend_from_slice(&self.payload);
        if let Some(key) = self.mask {
            apply_mask(&mut out[start..], key);
        }
        out
    }
}

/// Encodes several frames into one buffer, to send them in a single write.
pub fn concat(frames: &[RawFrame]) -> Vec<u8> {
    frames.iter().flat_map(RawFrame::encode).collect()
}

/// A frame header as read off the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// FIN.
    pub fin: bool,
    /// RSV1..RSV3 as the low three bits (RSV1 = 0b100).
    pub rsv: u8,
    /// The opcode's four bits.
    pub opcode: u8,
    /// The payload length.
    pub len: u64,
    /// The mask key, if the frame is masked.
    pub mask: Option<[u8; 4]>,
    /// Bytes the header takes: 2 to 14.
    pub header_len: usize,
}

/// The length of a frame header whose second byte is `b1`.
#[inline]
pub fn header_len(b1: u8) -> usize {
    let ext = match b1 & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    2 + ext + if b1 & 0x80 != 0 { 4 } else { 0 }
}

/// Parses the frame header at the start of `buf`: `Ok(None)` while more bytes are
/// needed. It refuses only a length with the top bit set (§5.2: "the most significant
/// bit MUST be 0"); [`check_server_header`] adds what a server must keep.
#[inline]
pub fn parse_header(buf: &[u8]) -> Result<Option<FrameHeader>, String> {
    let Some(&b1) = buf.get(1) else {
        return Ok(None);
    };
    let n = header_len(b1);
    let Some(head) = buf.get(..n) else {
        return Ok(None);
    };
    let len = match b1 & 0x7f {
        126 => u64::from(u16::from_be_bytes([head[2], head[3]])),
        127 => u64::from_be_bytes(head[2..10].try_into().expect("8 bytes")),
        short => u64::from(short),
    };
    if len >> 63 != 0 {
        return Err(format!("64-bit length {len:#x} has its top bit set"));
    }
    Ok(Some(FrameHeader {
        fin: head[0] & 0x80 != 0,
        rsv: (head[0] >> 4) & 0b111,
        opcode: head[0] & 0x0f,
        len,
        mask: (b1 & 0x80 != 0).then(|| head[n - 4..n].try_into().expect("4 bytes")),
        header_len: n,
    }))
}

/// Checks what every server header must be, whatever was negotiated: unmasked (§5.1)
/// with its length in the minimal form (§5.2).
pub fn check_server_header(h: &FrameHeader) -> Result<(), String> {
    if h.mask.is_some() {
        return Err("server frame is masked (RFC 6455 §5.1)".into());
    }
    if h.header_len != client_header_len(h.len) - 4 {
        return Err(format!(
            "{}-byte payload with a non-minimal length form ({}-byte header; RFC 6455 §5.2)",
            h.len, h.header_len
        ));
    }
    Ok(())
}

/// A frame as a server sent it.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerFrame {
    /// FIN.
    pub fin: bool,
    /// RSV1-RSV3 as the three low bits (RSV1 = 0b100).
    pub rsv: u8,
    /// The opcode's four bits.
    pub opcode: u8,
    /// The payload.
    pub payload: Vec<u8>,
}

impl std::fmt::Debug for ServerFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = &self.payload[..self.payload.len().min(64)];
        f.debug_struct("ServerFrame")
            .field("fin", &self.fin)
            .field("rsv", &self.rsv)
            .field("opcode", &self.opcode)
            .field("len", &self.payload.len())
            .field("payload_head", &String::from_utf8_lossy(shown))
            .finish()
    }
}

impl ServerFrame {
    fn new(h: &FrameHeader, payload: Vec<u8>) -> ServerFrame {
        ServerFrame {
            fin: h.fin,
            rsv: h.rsv,
            opcode: h.opcode,
            payload,
        }
    }
}

/// Reads one server frame from a byte stream and checks its header with
/// [`check_server_header`]; a departure is an `InvalidData` error.
pub fn read_server_frame(
    stream: &mut (impl std::io::Read + ?Sized),
) -> std::io::Result<ServerFrame> {
    let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidData, e);
    let mut head = [0u8; MAX_CLIENT_HEADER];
    stream.read_exact(&mut head[..2])?;
    let n = header_len(head[1]);
    stream.read_exact(&mut head[2..n])?;
    let h = parse_header(&head[..n])
        .map_err(invalid)?
        .expect("a whole header was read");
    check_server_header(&h).map_err(invalid)?;
    let len = usize::try_from(h.len)
        .ok()
        .filter(|&l| l < 1 << 31)
        .ok_or_else(|| invalid(format!("server frame claims an absurd length {}", h.len)))?;
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload)?;
    Ok(ServerFrame::new(&h, payload))
}

/// Parses server frames as a strict client reads them: unmasked, lengths in their
/// minimal form, every byte in a whole frame; the first departure is the error.
pub fn parse_server_frames(rest: &[u8]) -> Result<Vec<ServerFrame>, String> {
    match parse_server_stream(rest)? {
        (frames, None) => Ok(frames),
        (_, Some(_)) => Err("a partial frame payload at the end".into()),
    }
}

/// A frame whose header was sent whole and whose payload is still coming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartialFrame {
    /// The frame as far as it went: its header's fields and the payload so far.
    pub frame: ServerFrame,
    /// The payload length its header announced.
    pub len: u64,
}

/// [`parse_server_frames`] for output that may stop inside a frame's payload (a server
/// streaming an echo frame whose client has not sent the rest yet): the frame cut short
/// is returned apart. A header cut short is still an error.
pub fn parse_server_stream(
    mut rest: &[u8],
) -> Result<(Vec<ServerFrame>, Option<PartialFrame>), String> {
    let mut frames = Vec::new();
    while !rest.is_empty() {
        let h = parse_header(rest)?.ok_or("a partial frame header at the end")?;
        check_server_header(&h)?;
        let end = usize::try_from(h.len)
            .ok()
            .and_then(|l| l.checked_add(h.header_len))
            .filter(|&e| e <= rest.len());
        let Some(end) = end else {
            let frame = ServerFrame::new(&h, rest[h.header_len..].to_vec());
            return Ok((frames, Some(PartialFrame { frame, len: h.len })));
        };
        frames.push(ServerFrame::new(&h, rest[h.header_len..end].to_vec()));
        rest = &rest[end..];
    }
    Ok((frames, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_length_takes_its_minimal_form_and_the_payload_is_masked() {
        let key = [1, 2, 3, 4];
        assert_eq!(
            client_frame(true, 0, OP_TEXT, key, b"Hi"),
            [0x81, 0x82, 1, 2, 3, 4, b'H' ^ 1, b'i' ^ 2]
        );
        assert_eq!(
            client_frame(false, 0b100, OP_BINARY, key, &[0; 126])[..4],
            [0x42, 0xfe, 0, 126]
        );
        let big = client_frame(true, 0, OP_BINARY, key, &[0; 65536]);
        assert_eq!(big[1], 0xff);
        assert_eq!(big[2..10], 65536u64.to_be_bytes());
        for len in [0, 125, 126, 65535, 65536] {
            let frame = client_frame(true, 0, OP_BINARY, key, &vec![0; len]);
            assert_eq!(frame.len(), client_header_len(len as u64) + len);
        }
    }

    #[test]
    fn server_frames_are_read_strictly() {
        let frames = parse_server_frames(&[0x81, 2, b'h', b'i', 0x88, 0]).unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(
            (frames[0].fin, frames[0].opcode, &frames[0].payload[..]),
            (true, OP_TEXT, &b"hi"[..])
        );
        assert!(
            parse_server_frames(&[0x82, 0x80 | 1, 0, 0, 0, 0, 7]).is_err(),
            "masked"
        );
        assert!(
            parse_server_frames(&[0x82, 126, 0, 5, 1, 2, 3, 4, 5]).is_err(),
            "non-minimal"
        );
        assert!(parse_server_frames(&[0x82, 3, 1]).is_err(), "partial");
        let (whole, partial) = parse_server_stream(&[0x81, 1, b'a', 0x82, 3, 1]).unwrap();
        assert_eq!(whole.len(), 1);
        let partial = partial.expect("the frame cut short");
        assert_eq!((partial.frame.payload, partial.len), (vec![1], 3));
        assert!(
            parse_server_stream(&[0x82, 126, 0]).is_err(),
            "a header cut short"
        );
    }

    #[test]
    fn headers_round_trip_in_every_length_form_and_wait_for_their_last_byte() {
        let key = [9, 8, 7, 6];
        for (len, form) in [
            (5, Len::Auto),
            (5, Len::Medium(5)),
            (5, Len::Long(5)),
            (126, Len::Auto),
            (65536, Len::Auto),
            (3, Len::Short(100)),
        ] {
            for mask in [Some(key), None] {
                let mut buf = [0u8; MAX_CLIENT_HEADER];
                let n = write_header(&mut buf, false, 0b010, OP_PING, mask, form, len);
                assert_eq!(n, header_len(buf[1]));
                for short in 0..n {
                    assert_eq!(
                        parse_header(&buf[..short]),
                        Ok(None),
                        "{form:?} cut at {short}"
                    );
                }
                let stated = match form {
                    Len::Auto => len,
                    Len::Short(v) => u64::from(v),
                    Len::Medium(v) => u64::from(v),
                    Len::Long(v) => v,
                };
                let h = parse_header(&buf[..n]).unwrap().unwrap();
                assert_eq!(
                    h,
                    FrameHeader {
                        fin: false,
                        rsv: 0b010,
                        opcode: OP_PING,
                        len: stated,
                        mask,
                        header_len: n
                    }
                );
            }
        }
        let mut top_bit = [0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1];
        assert!(parse_header(&top_bit).is_err());
        top_bit[2] = 0;
        assert!(parse_header(&top_bit).is_ok());
    }

    #[test]
    fn a_stream_reader_and_the_slice_reader_agree() {
        let wire = [0x81, 2, b'h', b'i', 0x02, 126, 0, 200]
            .into_iter()
            .chain([7; 200])
            .chain([0x88, 0])
            .collect::<Vec<u8>>();
        let from_slice = parse_server_frames(&wire).unwrap();
        let mut stream = &wire[..];
        let from_stream: Vec<ServerFrame> = (0..3)
            .map(|_| read_server_frame(&mut stream).unwrap())
            .collect();
        assert_eq!(from_slice, from_stream);
        assert_eq!(from_slice[1].payload, [7; 200]);
        assert!(!from_slice[1].fin);
        let non_minimal = [0x82, 126, 0, 3, 1, 2, 3];
        let err = read_server_frame(&mut &non_minimal[..]).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("non-minimal"), "{err}");
    }
}
