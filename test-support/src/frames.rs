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

/// One masked client frame with the payload length in its minimal form. `rsv` is the
/// three RSV bits (RSV1 = 0b100), `opcode` its four bits; `key` masks the payload.
pub fn client_frame(fin: bool, rsv: u8, opcode: u8, key: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut v = vec![(u8::from(fin) << 7) | ((rsv & 0b111) << 4) | (opcode & 0x0f)];
    let len = payload.len();
    if len < 126 {
        v.push(0x80 | len as u8);
    } else if len <= 0xffff {
        v.push(0x80 | 126);
        v.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        v.push(0x80 | 127);
        v.extend_from_slice(&(len as u64).to_be_bytes());
    }
    v.extend_from_slice(&key);
    v.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    v
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
    }
}
