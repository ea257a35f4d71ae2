//! Close status codes (RFC 6455 §7.4 and the IANA "WebSocket Close Code Number" registry).

/// Normal closure: the purpose of the connection has been fulfilled.
pub const NORMAL: u16 = 1000;
/// The server is going away (shutdown).
pub const GOING_AWAY: u16 = 1001;
/// The peer broke the protocol.
pub const PROTOCOL_ERROR: u16 = 1002;
/// The peer broke a policy of this server (e.g. it does not read its echoes).
pub const POLICY_VIOLATION: u16 = 1008;
/// A text message (or close reason) was not valid UTF-8, or deflate data was corrupt.
pub const INVALID_PAYLOAD: u16 = 1007;
/// A message or frame was larger than this server accepts.
pub const MESSAGE_TOO_BIG: u16 = 1009;

/// The server hit an unexpected condition.
pub const INTERNAL_ERROR: u16 = 1011;

/// Whether `code` may appear in a Close frame received from a peer.
///
/// §7.4.1 defines 1000–1003 and 1007–1011; the IANA registry adds 1012–1014. 1004, 1005,
/// 1006 and 1015 are reserved or "MUST NOT be set as a status code in a Close control
/// frame by an endpoint"; 0–999 are "not used"; 1016–2999 are reserved for future
/// revisions of the protocol and extensions; 3000–4999 belong to libraries,
/// frameworks and applications (§7.4.2).
pub fn is_valid_received(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_table_matches_rfc_and_iana_registry() {
        for code in 0..=u16::MAX {
            let expected = matches!(
                code,
                1000 | 1001 | 1002 | 1003 | 1007 | 1008 | 1009 | 1010 | 1011 | 1012 | 1013 | 1014
            ) || (3000..=4999).contains(&code);
            assert_eq!(is_valid_received(code), expected, "code {code}");
        }
    }

    #[test]
    fn autobahn_invalid_codes_are_refused() {
        for code in [
            0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            assert!(!is_valid_received(code), "code {code}");
        }
    }
}
