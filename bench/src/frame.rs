//! WebSocket frame headers: the masked client frames the load generator sends and the
//! unmasked server frames it reads back (RFC 6455 §5.2).

pub use wsecho_test_support::frames::{
    MAX_CLIENT_HEADER as MAX_HEADER, OP_BINARY, OP_CLOSE, OP_CONT as OP_CONTINUATION, OP_TEXT,
    client_header_len,
};

/// Writes the header of a final (FIN) masked frame into `dst` (at least `MAX_HEADER` long)
/// and returns its length.
#[inline]
pub fn encode_client_header(dst: &mut [u8], opcode: u8, len: u64, key: [u8; 4]) -> usize {
    wsecho_test_support::frames::write_client_header(dst, true, 0, opcode, len, key)
}

/// A parsed frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub fin: bool,
    pub opcode: u8,
    pub len: u64,
    pub mask: Option<[u8; 4]>,
    /// Bytes the header took in the stream.
    pub header_len: usize,
}

/// Parses the frame header at the start of `buf`: `Ok(None)` if more bytes are needed.
/// Rejects what a plain echo server must never send to a client that offered no extension.
pub fn parse_header(buf: &[u8]) -> Result<Option<Header>, String> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let (b0, b1) = (buf[0], buf[1]);
    if b0 & 0x70 != 0 {
        return Err(format!(
            "server frame has RSV bits set (first byte {b0:#04x}) though no extension was negotiated"
        ));
    }
    let masked = b1 & 0x80 != 0;
    let (len, mut n) = match b1 & 0x7f {
        126 if buf.len() < 4 => return Ok(None),
        126 => (u16::from_be_bytes([buf[2], buf[3]]) as u64, 4),
        127 if buf.len() < 10 => return Ok(None),
        127 => (
            u64::from_be_bytes(buf[2..10].try_into().expect("8 bytes")),
            10,
        ),
        l => (l as u64, 2),
    };
    let mask = if masked {
        if buf.len() < n + 4 {
            return Ok(None);
        }
        n += 4;
        Some(buf[n - 4..n].try_into().expect("4 bytes"))
    } else {
        None
    };
    Ok(Some(Header {
        fin: b0 & 0x80 != 0,
        opcode: b0 & 0x0f,
        len,
        mask,
        header_len: n,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_at_each_length_form() {
        for len in [0u64, 125, 126, 65535, 65536, 16 << 20] {
            let mut buf = [0u8; MAX_HEADER];
            let n = encode_client_header(&mut buf, OP_BINARY, len, [9, 8, 7, 6]);
            assert_eq!(n, client_header_len(len));
            for short in 0..n {
                assert_eq!(parse_header(&buf[..short]), Ok(None));
            }
            let h = parse_header(&buf[..n]).unwrap().unwrap();
            assert_eq!(
                h,
                Header {
                    fin: true,
                    opcode: OP_BINARY,
                    len,
                    mask: Some([9, 8, 7, 6]),
                    header_len: n
                }
            );
        }
    }

    #[test]
    fn unmasked_server_header_and_rsv_rejection() {
        assert_eq!(
            parse_header(&[0x81, 5]).unwrap().unwrap(),
            Header {
                fin: true,
                opcode: OP_TEXT,
                len: 5,
                mask: None,
                header_len: 2
            }
        );
        assert!(parse_header(&[0xc1, 5]).is_err());
    }
}
