//! Frame header parsing (RFC 6455 §5.2), resumable: a header that is not all here yet
//! consumes nothing, and every rule that can be judged from the bytes present is judged
//! at once, so a client's mistake is reported on its first byte where possible.
//!
//! Both directions, one code: the server reads masked client frames
//! ([`parse_client_header`]) and writes unmasked ones ([`write_server_header`]); the
//! client role reads unmasked server frames ([`parse_server_header`]) and writes masked
//! ones ([`write_client_header`]). Only the mask bit's rule differs (§5.1).

use super::opcode::Opcode;
use crate::error::ProtocolError;

/// The longest header a client can send: 2 bytes, 8 of extended length, 4 of mask key.
pub const MAX_CLIENT_HEADER_LEN: usize = 14;
/// The longest header the server sends (unmasked): 2 bytes and 8 of extended length.
pub const MAX_SERVER_HEADER_LEN: usize = 10;

/// A parsed frame header (a client's, or for the client role a server's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// The frame ends its message.
    pub fin: bool,
    /// RSV1, RSV2, RSV3 as the three low bits (RSV1 is 0b100).
    pub rsv: u8,
    /// What the frame carries.
    pub opcode: Opcode,
    /// The client's masking key (all frames from a client are masked, §5.3); all zero
    /// for a server's frame, which is not masked (and which a zero key leaves as it is).
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
    parse_header::<true>(buf)
}

/// Parses a server frame header from the front of `buf`, as the client role reads it:
/// as [`parse_client_header`], but the frame must not be masked. Its
/// [`FrameHeader::mask_key`] is all zero.
pub fn parse_server_header(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
    parse_header::<false>(buf)
}

/// [`parse_client_header`] (`MASKED`) or [`parse_server_header`]: one body, so that the
/// two directions cannot drift apart, compiled apart, so that the server's hot path
/// keeps its code.
#[inline(always)]
fn parse_header<const MASKED: bool>(
    buf: &[u8],
) -> Result<Option<(FrameHeader, usize)>, ProtocolError> {
    let (Some(&b0), Some(&b1)) = (buf.first(), buf.get(1)) else {
        return Ok(None);
    };
    let fin = b0 & 0x80 != 0;
    let rsv = (b0 >> 4) & 0b111;
    let opcode =
        Opcode::from_bits(b0 & 0x0f).ok_or(ProtocolError::ReservedOpcode { bits: b0 & 0x0f })?;
    // §5.1: "The server MUST close the connection upon receiving a frame that is not masked."
    if MASKED && b1 & 0x80 == 0 {
        return Err(ProtocolError::UnmaskedFrame);
    }
    // §5.1: "A client MUST close a connection if it detects a masked frame."
    if !MASKED && b1 & 0x80 != 0 {
        return Err(ProtocolError::MaskedFrame);
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
    if !MASKED {
        let header = FrameHeader {
            fin,
            rsv,
            opcode,
            mask_key: [0; 4],
            payload_len,
        };
        return Ok(Some((header, len_end)));
    }
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

/// Writes a masked client frame header into `out` and returns its length: the
/// server's header with the mask bit set and `mask_key` after the length (§5.2, "All
/// frames sent from client to server have this bit set to 1"). The payload is to be
/// masked with the same key ([`super::mask::apply_mask`]).
pub fn write_client_header(
    out: &mut [u8; MAX_CLIENT_HEADER_LEN],
    fin: bool,
    opcode: Opcode,
    payload_len: u64,
    mask_key: [u8; 4],
) -> usize {
    let mut head = [0u8; MAX_SERVER_HEADER_LEN];
    let n = write_server_header(&mut head, fin, false, opcode, payload_len);
    out[..n].copy_from_slice(&head[..n]);
    out[1] |= 0x80;
    out[n..n + 4].copy_from_slice(&mask_key);
    n + 4
}

#[cfg(test)]
mod tests {
    use super::*;
    use wsecho_test_support::frames::{self as oracle, Len};

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

    #[test]
    fn a_server_header_parses_as_the_independent_writer_wrote_it() {
        for len in [0u64, 1, 125, 126, 65535, 65536, 1 << 40] {
            for (fin, rsv, opcode) in [(true, 0, Opcode::Text), (false, 0b100, Opcode::Binary)] {
                let mut bytes = [0u8; 14];
                let n =
                    oracle::write_header(&mut bytes, fin, rsv, opcode.bits(), None, Len::Auto, len);
                for cut in 0..n {
                    assert_eq!(parse_server_header(&bytes[..cut]), Ok(None), "{len} {cut}");
                }
                let (h, used) = parse_server_header(&bytes[..n]).unwrap().unwrap();
                let expected = FrameHeader {
                    fin,
                    rsv,
                    opcode,
                    mask_key: [0; 4],
                    payload_len: len,
                };
                assert_eq!((h, used), (expected, n), "len {len}");
            }
        }
        // What a server sends in full, with its payload after the header.
        let frame = oracle::server_frame(true, 0, 0x9, b"ping!");
        let (h, n) = parse_server_header(&frame).unwrap().unwrap();
        assert_eq!(
            (h.opcode, h.payload_len, &frame[n..]),
            (Opcode::Ping, 5, &b"ping!"[..])
        );
    }

    #[test]
    fn a_masked_server_frame_is_refused_from_two_bytes_and_the_other_rules_hold() {
        // §5.1: "A client MUST close a connection if it detects a masked frame."
        assert_eq!(
            parse_server_header(&[0x81, 0x85]),
            Err(ProtocolError::MaskedFrame)
        );
        assert_eq!(ProtocolError::MaskedFrame.close_code().as_u16(), 1002);
        assert_eq!(
            parse_server_header(&[0x83, 0x00]),
            Err(ProtocolError::ReservedOpcode { bits: 3 })
        );
        assert_eq!(
            parse_server_header(&[0x09, 0x00]),
            Err(ProtocolError::FragmentedControlFrame)
        );
        assert_eq!(
            parse_server_header(&[0x82, 126, 0, 125]),
            Err(ProtocolError::NonMinimalPayloadLength)
        );
        assert_eq!(
            parse_server_header(&[0x82, 127, 0x80]),
            Err(ProtocolError::PayloadLengthTopBit)
        );
    }

    #[test]
    fn a_client_header_is_what_the_independent_reader_and_our_server_read() {
        for len in [0u64, 1, 125, 126, 65535, 65536, 1 << 40] {
            let key = [0x37, 0xfa, 0x21, 0x3d];
            let mut out = [0u8; MAX_CLIENT_HEADER_LEN];
            let n = write_client_header(&mut out, true, Opcode::Binary, len, key);
            let theirs = oracle::parse_header(&out[..n]).unwrap().unwrap();
            assert_eq!(
                (
                    theirs.fin,
                    theirs.rsv,
                    theirs.opcode,
                    theirs.len,
                    theirs.mask
                ),
                (true, 0, 0x2, len, Some(key)),
                "len {len}"
            );
            assert_eq!(theirs.header_len, n);
            assert_eq!(n, oracle::client_header_len(len));
            let (ours, used) = parse_client_header(&out[..n]).unwrap().unwrap();
            assert_eq!((ours.payload_len, ours.mask_key, used), (len, key, n));
        }
    }
}
