//! `Sec-WebSocket-Key` validation and the `Sec-WebSocket-Accept` answer (RFC 6455 §4.2.2).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};

/// The GUID every server appends to the client's key (§1.3).
const WEBSOCKET_GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Whether `key` is "a base64-encoded value that, when decoded, is 16 bytes in length"
/// (§4.2.1 item 5). The encoding of 16 bytes is always 24 characters with `==` padding.
pub(crate) fn is_valid_key(key: &[u8]) -> bool {
    let mut decoded = [0u8; 18];
    key.len() == 24 && matches!(STANDARD.decode_slice(key, &mut decoded), Ok(16))
}

/// The `Sec-WebSocket-Accept` value: base64(SHA-1(key + GUID)), 28 ASCII bytes.
pub fn accept_value(key: &[u8]) -> [u8; 28] {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(WEBSOCKET_GUID);
    let digest = sha.finalize();
    let mut out = [0u8; 28];
    // 20 digest bytes always encode to exactly 28 characters.
    let written = STANDARD.encode_slice(digest, &mut out);
    debug_assert_eq!(written, Ok(28));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_example_accept_value() {
        // RFC 6455 §1.3.
        assert_eq!(
            &accept_value(b"dGhlIHNhbXBsZSBub25jZQ=="),
            b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn keys_must_be_base64_of_sixteen_bytes() {
        assert!(is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(!is_valid_key(b""));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ")); // missing padding
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZXg=")); // 17 bytes
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25j")); // 15 bytes
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ!!"));
        assert!(!is_valid_key(b" dGhlIHNhbXBsZSBub25jZQ=="));
    }
}
