//! Frame header parsing (RFC 6455 §5.2), resumable: a header that is not all here yet
//! consumes nothing, and every rule that can be judged from the bytes present is judged
//! at once, so a client's mistake is reported on its first byte where possible.

use super::opcode::Opcode;
use crate::error::ProtocolError;

/// The longest header a client can send: 2 bytes, 8 of extended length, 4 of mask key.
pub const MAX_CLIENT_HEADER_LEN: usize = 14;
/// The longest header the server sends (unmasked): 2 bytes and 8 of extended length.
pub const MAX_SERVER_HEADER_LEN: usize = 10;

/// A parsed client frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// The frame ends its message.
    pub fin: bool,
    /// RSV1, RSV2, RSV3 as the three low bits (RSV1 is 0b100).
    pub rsv: u8,
    /// What the frame carries.
    pub opcode: Opcode,
    /// The client's masking key (all frames from a client are masked, §5.3).
    pub mask_key: [u8; 4],
    /// The payload length, in its minimal encoding (checked).
    pub payload_len: u64,
}

impl FrameHeader {
    /// RSV1: a compressed message's first frame under permessage-deflate (RFC 7692).
    pub fn rsv1(&self) -> bool {
        self.rsv & 0b100 != 0
    }
}

/// Parses a client frame header from the front of `buf`.
///
/// Returns `Ok(Some((header, header_len)))` when the whole header is present,
/// `Ok(None)` when more bytes are needed (nothing is consumed), or the first rule broken.
pub fn parse_client_header(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
    let (Some(&b0), Some(&b1)) = (buf.first(), buf.get(1)) else {
        return Ok(None);
    };
    let fin = b0 & 0x80 != 0;
    let rsv = (b0 >> 4) & 0b111;
    let opcode =
        Opcode::from_bits(b0 & 0x0f).ok_or(ProtocolError::ReservedOpcode { bits: b0 & 0x0f })?;
    // §5.1: "The server MUST close the connection upon receiving a frame that is not masked."
    if b1 & 0x80 == 0 {
        return Err(ProtocolError::UnmaskedFrame);
    }
    let len7 = b1 & 0x7f;
    if opcode.is_control() {
        // §5.5: "Control frames themselves MUST NOT be fragmented."
        if !fin {
            return Err(ProtocolError::FragmentedControlFrame);
        }
        // §5.5: "All control frames MUST have a payload length of 125 bytes or less."
        if len7 > 125 {
            return Err(ProtocolError::ControlFrameTooLong {
                payload_len: u64::from(len7),
            });
        }
    }
    let (payload_len, len_end) = match len7 {
        126 => {
            let Some(ext) = buf.get(2..4) else {
                return Ok(None);
            };
            let len = u64::from(u16::from_be_bytes([ext[0], ext[1]]));
            // §5.2: "the minimal number of bytes MUST be used to encode the length".
            if len < 126 {
                return Err(ProtocolError::NonMinimalPayloadLength);
            }
            (len, 4)
        }
        127 => {
            // The top bit is in the first extended byte: judge it before the rest arrives.
            let Some(&first) = buf.get(2) else {
                return Ok(None);
            };
            // §5.2: "the most significant bit MUST be 0".
            if first & 0x80 != 0 {
                return Err(ProtocolError::PayloadLengthTopBit);
            }
            let Some(ext) = buf.get(2..10) else {
                return Ok(None);
            };
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(ext);
            let len = u64::from_be_bytes(bytes);
            if len <= 0xffff {
                return Err(ProtocolError::NonMinimalPayloadLength);
            }
            (len, 10)
        }
        n => (u64::from(n), 2),
    };
    let Some(key) = buf.get(len_end..len_end + 4) else {
        return Ok(None);
    };
    let header = FrameHeader {
        fin,
        rsv,
        opcode,
        mask_key: [key[0], key[1], key[2], key[3]],
        payload_len,
    };
    Ok(Some((header, len_end + 4)))
}

/// Writes an unmasked server frame header into `out` and returns its length
/// (servers "MUST NOT mask any frames", §5.1).
#[inline]
pub fn write_server_header(
    out: &mut [u8; MAX_SERVER_HEADER_LEN],
    fin: bool,
    rsv1: bool,
    opcode: Opcode,
    payload_len: u64,
) -> usize {
    out[0] = (u8::from(fin) << 7) | (u8::from(rsv1) << 6) | opcode.bits();
    if payload_len < 126 {
        out[1] = payload_len as u8;
        2
    } else if payload_len <= 0xffff {
        out[1] = 126;
        out[2..4].copy_from_slice(&(payload_len as u16).to_be_bytes());
        4
    } else {
        out[1] = 127;
        out[2..10].copy_from_slice(&payload_len.to_be_bytes());
        10
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client_frame(b0: u8, len: u64, key: [u8; 4]) -> Vec<u8> {
        let mut v = vec![b0];
        if len < 126 {
            v.push(0x80 | len as u8);
        } else if len <= 0xffff {
            v.push(0x80 | 126);
            v.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            v.push(0x80 | 127);
            v.extend_from_slice(&len.to_be_bytes());
        }
        v.extend_from_slice(&key);
        v
    }

    #[test]
    fn parses_each_length_form_fed_one_byte_at_a_time() {
        for len in [0u64, 1, 125, 126, 65535, 65536, 1 << 40] {
            let bytes = client_frame(0x82, len, [9, 8, 7, 6]);
            for cut in 0..bytes.len() {
                assert_eq!(
                    parse_client_header(&bytes[..cut]),
                    Ok(None),
                    "len {len} cut {cut}"
                );
            }
            let (h, n) = parse_client_header(&bytes).unwrap().unwrap();
            assert_eq!(n, bytes.len());
            assert_eq!(
                h,
                FrameHeader {
                    fin: true,
                    rsv: 0,
                    opcode: Opcode::Binary,
                    mask_key: [9, 8, 7, 6],
                    payload_len: len
                }
            );
        }
    }

    #[test]
    fn trailing_bytes_are_not_consumed() {
        let mut bytes = client_frame(0x81, 5, [1, 2, 3, 4]);
        bytes.extend_from_slice(b"hello");
        assert_eq!(parse_client_header(&bytes).unwrap().unwrap().1, 6);
    }

    #[test]
    fn unmasked_frame_is_refused_from_two_bytes() {
        assert_eq!(
            parse_client_header(&[0x81, 0x05]),
            Err(ProtocolError::UnmaskedFrame)
        );
    }

    #[test]
    fn reserved_opcodes_are_refused() {
        for bits in [3u8, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf] {
            assert_eq!(
                parse_client_header(&[0x80 | bits, 0x80]),
                Err(ProtocolError::ReservedOpcode { bits })
            );
        }
    }

    #[test]
    fn control_frame_rules() {
        assert_eq!(
            parse_client_header(&[0x09, 0x80]),
            Err(ProtocolError::FragmentedControlFrame)
        );
        assert_eq!(
            parse_client_header(&[0x89, 0x80 | 126]),
            Err(ProtocolError::ControlFrameTooLong { payload_len: 126 })
        );
        assert!(
            parse_client_header(&client_frame(0x89, 125, [0; 4]))
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn top_bit_of_64_bit_length_is_refused_on_its_first_byte() {
        assert_eq!(
            parse_client_header(&[0x82, 0xff, 0x80]),
            Err(ProtocolError::PayloadLengthTopBit)
        );
        let ok = client_frame(0x82, 1 << 62, [0; 4]);
        assert_eq!(
            parse_client_header(&ok).unwrap().unwrap().0.payload_len,
            1 << 62
        );
    }

    #[test]
    fn non_minimal_lengths_are_refused() {
        assert_eq!(
            parse_client_header(&[0x82, 0xfe, 0, 125]),
            Err(ProtocolError::NonMinimalPayloadLength)
        );
        let mut v = vec![0x82, 0xff];
        v.extend_from_slice(&65535u64.to_be_bytes());
        assert_eq!(
            parse_client_header(&v),
            Err(ProtocolError::NonMinimalPayloadLength)
        );
    }

    #[test]
    fn rsv_bits_are_reported_not_judged() {
        let (h, _) = parse_client_header(&client_frame(0xf1, 0, [0; 4]))
            .unwrap()
            .unwrap();
        assert_eq!(h.rsv, 0b111);
        assert!(h.rsv1());
    }

    #[test]
    fn server_header_round_trips_through_the_length_forms() {
        for len in [0u64, 125, 126, 65535, 65536, u32::MAX as u64 + 1] {
            let mut out = [0u8; MAX_SERVER_HEADER_LEN];
            let n = write_server_header(&mut out, true, false, Opcode::Text, len);
            // Re-parse as a client frame by setting the mask bit and appending a key.
            let mut v = out[..n].to_vec();
            v[1] |= 0x80;
            v.extend_from_slice(&[0; 4]);
            let (h, _) = parse_client_header(&v).unwrap().unwrap();
            assert_eq!((h.payload_len, h.fin, h.opcode), (len, true, Opcode::Text));
        }
    }
}
