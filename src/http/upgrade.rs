//! The HTTP/1.1 upgrade request, as the client role writes it (RFC 6455 §4.1), and the
//! comma-separated token lists both roles read in its headers.

/// Why a request could not be written: a field would not survive as one header line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    /// The host is empty or not visible ASCII.
    Host,
    /// The path does not start with `/` or is not visible ASCII.
    Path,
    /// A subprotocol offered is not a token (RFC 6455 §4.1: "each of which MUST be a
    /// non-empty string with characters in the range U+0021 to U+007E not including
    /// separator characters").
    Protocol,
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RequestError::Host => "the host is empty or not visible ASCII",
            RequestError::Path => "the path does not start with / or is not visible ASCII",
            RequestError::Protocol => "a subprotocol offered is not a token",
        })
    }
}

/// Writes the opening handshake's request into `out`: "The method of the request MUST
/// be GET, and the HTTP version MUST be at least 1.1" with the "/resource name/" as the
/// target, `Host` (/host/ and the port), `Upgrade: websocket`, `Connection: Upgrade`,
/// `Sec-WebSocket-Key` (`key`: "a nonce consisting of a randomly selected 16-byte value
/// that has been base64-encoded"), `Sec-WebSocket-Version: 13`, and the subprotocols
/// offered, if any (§4.1). Nothing is written when a field would not be one header line.
pub(crate) fn write_upgrade_request(
    out: &mut Vec<u8>,
    host: &str,
    path: &str,
    key: &[u8; 24],
    protocols: &[String],
) -> Result<(), RequestError> {
    let visible = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic());
    if !visible(host) {
        return Err(RequestError::Host);
    }
    if !path.starts_with('/') || !visible(path) {
        return Err(RequestError::Path);
    }
    if !protocols.iter().all(|p| super::is_token(p)) {
        return Err(RequestError::Protocol);
    }
    out.extend_from_slice(b"GET ");
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    out.extend_from_slice(host.as_bytes());
    out.extend_from_slice(b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
    out.extend_from_slice(key);
    out.extend_from_slice(b"\r\nSec-WebSocket-Version: 13\r\n");
    if !protocols.is_empty() {
        out.extend_from_slice(b"Sec-WebSocket-Protocol: ");
        out.extend_from_slice(protocols.join(", ").as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

/// Whether a comma-separated header value (RFC 9110 §5.6.1) holds `token`, ASCII
/// case-insensitive.
pub(crate) fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8; 24] = b"dGhlIHNhbXBsZSBub25jZQ==";

    #[test]
    fn the_request_is_rfc_6455s_example_with_the_version_line() {
        let mut out = Vec::new();
        let protocols = ["chat".to_string(), "superchat".to_string()];
        write_upgrade_request(&mut out, "server.example.com", "/chat", KEY, &protocols).unwrap();
        // §1.2's request, less Origin (browsers only, §4.1 item 8).
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "GET /chat HTTP/1.1\r\n\
             Host: server.example.com\r\n\
             Upgrade: websocket\r\n\
             Connection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Protocol: chat, superchat\r\n\r\n"
        );
    }

    #[test]
    fn a_field_that_is_not_one_header_line_writes_nothing() {
        let mut out = Vec::new();
        let none: &[String] = &[];
        let cases = [
            ("", "/", none, RequestError::Host),
            ("a\r\nX: y", "/", none, RequestError::Host),
            ("a", "chat", none, RequestError::Path),
            ("a", "/a b", none, RequestError::Path),
            ("a", "/", &["a b".to_string()][..], RequestError::Protocol),
        ];
        for (host, path, protocols, error) in cases {
            assert_eq!(
                write_upgrade_request(&mut out, host, path, KEY, protocols),
                Err(error)
            );
        }
        assert!(out.is_empty());
    }

    #[test]
    fn tokens_are_found_in_lists_whatever_their_case_and_spacing() {
        assert!(has_token(b"keep-alive, Upgrade", "upgrade"));
        assert!(has_token(b"UPGRADE", "upgrade"));
        assert!(!has_token(b"upgraded", "upgrade"));
        assert!(!has_token(b"", "upgrade"));
    }
}
