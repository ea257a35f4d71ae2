//! Close status codes (RFC 6455 §7.4 and the IANA "WebSocket Close Code Number" registry).
//!
//! A [`CloseCode`] is made in two ways only: one of the constants, the codes this server
//! sends; or [`CloseCode::received`], which accepts exactly the codes a peer may send. A
//! code can therefore not be sent by mistake from a bare number.

use std::fmt;

/// A close status code that is valid on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CloseCode(u16);

impl CloseCode {
    /// 1000: normal closure, the purpose of the connection has been fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the server is going away (shutdown, idle timeout).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: the peer broke the protocol.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1007: a text message (or close reason) was not valid UTF-8, or deflate data was
    /// corrupt: "data within a message that was not consistent with the type".
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: the peer broke a policy of this server (e.g. it does not read its echoes).
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: a message or frame was larger than this server accepts.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1011: the server hit an unexpected condition.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);

    /// `code` as read from a peer's close frame, if a peer may send it.
    ///
    /// §7.4.1 defines 1000–1003 and 1007–1011; the IANA registry adds 1012–1014. 1004,
    /// 1005, 1006 and 1015 are reserved or "MUST NOT be set as a status code in a Close
    /// control frame by an endpoint"; 0–999 are "not used"; 1016–2999 are reserved for
    /// future revisions of the protocol and extensions; 3000–4999 belong to libraries,
    /// frameworks and applications (§7.4.2).
    pub fn received(code: u16) -> Option<CloseCode> {
        matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999).then_some(CloseCode(code))
    }

    /// `code` as wsecho may put it in a close frame of its own (a behaviour asked for
    /// it): the rules of §7.4 are the same both ways, so these are the codes a peer may
    /// send.
    pub fn sendable(code: u16) -> Option<CloseCode> {
        CloseCode::received(code)
    }

    /// The number, as it goes on the wire.
    pub fn as_u16(self) -> u16 {
        self.0
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
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
            assert_eq!(CloseCode::received(code).is_some(), expected, "code {code}");
        }
    }

    #[test]
    fn autobahn_invalid_codes_are_refused() {
        for code in [
            0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            assert_eq!(CloseCode::received(code), None, "code {code}");
        }
    }

    #[test]
    fn every_code_the_server_sends_is_one_a_peer_may_send() {
        let sent = [
            CloseCode::NORMAL,
            CloseCode::GOING_AWAY,
            CloseCode::PROTOCOL_ERROR,
            CloseCode::INVALID_PAYLOAD,
            CloseCode::POLICY_VIOLATION,
            CloseCode::MESSAGE_TOO_BIG,
            CloseCode::INTERNAL_ERROR,
        ];
        for code in sent {
            assert_eq!(CloseCode::received(code.as_u16()), Some(code));
        }
    }
}
