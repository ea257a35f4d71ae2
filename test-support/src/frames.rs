//! Client frames (RFC 6455 §5.2), built byte by byte.

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

/// Longest client frame header: 2 bytes, 8 of extended length, 4 of mask key.
pub const MAX_CLIENT_HEADER: usize = 14;

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
    dst[0] = (u8::from(fin) << 7) | ((rsv & 0b111) << 4) | (opcode & 0x0f);
    let n = if len < 126 {
        dst[1] = 0x80 | len as u8;
        2
    } else if len <= 0xffff {
        dst[1] = 0x80 | 126;
        dst[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        4
    } else {
        dst[1] = 0x80 | 127;
        dst[2..10].copy_from_slice(&len.to_be_bytes());
        10
    };
    dst[n..n + 4].copy_from_slice(&key);
    n + 4
}

/// The length of the header [`write_client_header`] writes for a `len`-byte payload.
pub fn client_header_len(len: u64) -> usize {
    match len {
        0..126 => 6,
        126..=0xffff => 8,
        _ => 14,
    }
}

/// One masked client frame with the payload length in its minimal form. `rsv` is the
/// three RSV bits (RSV1 = 0b100), `opcode` its four bits; `key` masks the payload.
pub fn client_frame(fin: bool, rsv: u8, opcode: u8, key: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut header = [0u8; MAX_CLIENT_HEADER];
    let n = write_client_header(&mut header, fin, rsv, opcode, payload.len() as u64, key);
    let mut v = Vec::with_capacity(n + payload.len());
    v.extend_from_slice(&header[..n]);
    v.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    v
}

/// A frame as a server sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// Parses server frames as a strict client reads them: unmasked, lengths in their
/// minimal form, every byte in a whole frame; the first departure is the error.
pub fn parse_server_frames(mut rest: &[u8]) -> Result<Vec<ServerFrame>, String> {
    let mut frames = Vec::new();
    while !rest.is_empty() {
        if rest.len() < 2 {
            return Err("a partial frame header at the end".into());
        }
        if rest[1] & 0x80 != 0 {
            return Err("server frame is masked (RFC 6455 §5.1)".into());
        }
        let (len, hdr) = match rest[1] & 0x7f {
            126 => {
                let b = rest.get(2..4).ok_or("partial 16-bit length")?;
                let len = u64::from(u16::from_be_bytes([b[0], b[1]]));
                if len < 126 {
                    return Err("non-minimal 16-bit length".into());
                }
                (len, 4)
            }
            127 => {
                let b = rest.get(2..10).ok_or("partial 64-bit length")?;
                let len = u64::from_be_bytes(b.try_into().expect("8 bytes"));
                if len <= 0xffff || len >> 63 != 0 {
                    return Err("non-minimal or top-bit 64-bit length".into());
                }
                (len, 10)
            }
            n => (u64::from(n), 2),
        };
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| l.checked_add(hdr))
            .filter(|&e| e <= rest.len())
            .ok_or("a partial frame payload at the end")?;
        frames.push(ServerFrame {
            fin: rest[0] & 0x80 != 0,
            rsv: (rest[0] >> 4) & 0b111,
            opcode: rest[0] & 0x0f,
            payload: rest[hdr..end].to_vec(),
        });
        rest = &rest[end..];
    }
    Ok(frames)
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
    }
}
