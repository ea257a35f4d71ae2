//! Telling a TLS client from a cleartext one by the first byte it sends, so that one port
//! serves `ws://` and `wss://`.
//!
//! RFC 8446 §5.1: every TLS record starts with its content type, and a client's first
//! record carries its ClientHello: `handshake(22)`, byte 0x16 (TLS 1.0 to 1.3 alike; SSL
//! 2.0's hello is not accepted by any server wsecho could be). An HTTP/1.1 request starts
//! with its method, a token (RFC 9110 §9.1), never a control character. So one byte is
//! enough, and a client never has to send more than it would anyway.

/// The content type of a TLS handshake record (RFC 8446 §5.1, `handshake(22)`).
pub(crate) const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// What a connection's first byte says it speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstByte {
    /// A TLS handshake record: a ClientHello is coming.
    Tls,
    /// Anything else: HTTP in the clear (the HTTP layer judges what it really is).
    Cleartext,
}

/// Classifies a connection by the first byte it sent.
pub fn classify(first: u8) -> FirstByte {
    if first == TLS_HANDSHAKE_RECORD {
        FirstByte::Tls
    } else {
        FirstByte::Cleartext
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handshake_record_is_tls_and_a_method_is_not() {
        assert_eq!(classify(0x16), FirstByte::Tls);
        for request in [
            &b"GET / HTTP/1.1\r\n"[..],
            b"POST /",
            b"\x80\x01",
            b"\x15\x03",
        ] {
            assert_eq!(classify(request[0]), FirstByte::Cleartext, "{request:?}");
        }
    }
}
