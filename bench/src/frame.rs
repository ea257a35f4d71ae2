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
pub use wsecho_test_support::frames::FrameHeader as Header;

/// Parses the frame header at the start of `buf`: `Ok(None)` if more bytes are needed.
/// Rejects what a plain echo server must never send to a client that offered no extension.
pub fn parse_header(buf: &[u8]) -> Result<Option<Header>, String> {
    let header = wsecho_test_support::frames::parse_header(buf)?;
    if let Some(h) = &header
        && h.rsv != 0
    {
        return Err(format!(
            "server frame has RSV bits set (first byte {:#04x}) though no extension was negotiated",
            buf[0]
        ));
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmasked_server_header_and_rsv_rejection() {
        assert_eq!(
            parse_header(&[0x81, 5]).unwrap().unwrap(),
            Header {
                fin: true,
                rsv: 0,
                opcode: OP_TEXT,
                len: 5,
                mask: None,
                header_len: 2
            }
        );
        assert!(parse_header(&[0xc1, 5]).is_err());
    }
}
