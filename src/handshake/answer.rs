//! The server's answer to an upgrade, judged by the client role: RFC 6455 §4.1, "the
//! client MUST validate the server's response as follows", one check per item.

use std::fmt;

use super::accept::accept_value;
use crate::escape::Escaped;
use crate::http::has_token;

/// Header lines a response may have before it is refused.
const MAX_HEADERS: usize = 64;

/// Why the client fails the connection on the server's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerError {
    /// Not an HTTP/1.1 response head.
    Malformed(String),
    /// "If the status code received from the server is not 101" (item 1).
    NotSwitching {
        /// The status received.
        status: u16,
    },
    /// No `Upgrade: websocket` (item 2).
    Upgrade,
    /// No `Upgrade` token in `Connection` (item 3).
    Connection,
    /// `Sec-WebSocket-Accept` missing, repeated or wrong (item 4).
    Accept,
    /// An extension the client did not offer (item 5; this client offers none).
    Extension,
    /// A subprotocol the client did not offer (item 6), or more than one.
    Protocol,
}

impl fmt::Display for AnswerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnswerError::Malformed(why) => {
                write!(f, "not an HTTP/1.1 response: {}", Escaped(why))
            }
            AnswerError::NotSwitching { status } => {
                write!(f, "the server answered {status}, not 101")
            }
            AnswerError::Upgrade => f.write_str("the 101 lacks Upgrade: websocket"),
            AnswerError::Connection => f.write_str("the 101's Connection lacks Upgrade"),
            AnswerError::Accept => {
                f.write_str("the 101's Sec-WebSocket-Accept is missing or does not match the key")
            }
            AnswerError::Extension => f.write_str("the 101 names an extension not offered"),
            AnswerError::Protocol => f.write_str("the 101 names a subprotocol not offered"),
        }
    }
}

/// Judges the head of the server's answer (blank line included) to a request that sent
/// `key` and offered `protocols`: the subprotocol the server chose, if any.
pub(crate) fn check_answer(
    head: &[u8],
    key: &[u8; 24],
    protocols: &[String],
) -> Result<Option<String>, AnswerError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    match response.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => {
            return Err(AnswerError::Malformed("the head is incomplete".into()));
        }
        Err(e) => return Err(AnswerError::Malformed(e.to_string())),
    }
    // Item 1: "If the status code received from the server is not 101, the client
    // handles the response per HTTP [RFC2616] procedures." This client follows no
    // redirect and answers no authentication challenge: it fails.
    let status = response.code.unwrap_or(0);
    if status != 101 {
        return Err(AnswerError::NotSwitching { status });
    }
    let find = |name: &'static str| {
        response
            .headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    };
    // Item 2: "If the response lacks an |Upgrade| header field or the |Upgrade| header
    // field contains a value that is not an ASCII case-insensitive match for the value
    // "websocket", the client MUST _Fail the WebSocket Connection_."
    let mut upgrade = find("Upgrade");
    match (upgrade.next(), upgrade.next()) {
        (Some(value), None) if value.trim_ascii().eq_ignore_ascii_case(b"websocket") => {}
        _ => return Err(AnswerError::Upgrade),
    }
    // Item 3: "If the response lacks a |Connection| header field or the |Connection|
    // header field doesn't contain a token that is an ASCII case-insensitive match for
    // the value "Upgrade", the client MUST _Fail the WebSocket Connection_."
    if !find("Connection").any(|value| has_token(value, "upgrade")) {
        return Err(AnswerError::Connection);
    }
    // Item 4: "If the response lacks a |Sec-WebSocket-Accept| header field or the
    // |Sec-WebSocket-Accept| contains a value other than the base64-encoded SHA-1 of the
    // concatenation of the |Sec-WebSocket-Key| (as a string, not base64-decoded) with the
    // string "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" but ignoring any leading and trailing
    // whitespace, the client MUST _Fail the WebSocket Connection_."
    let mut accept = find("Sec-WebSocket-Accept");
    match (accept.next(), accept.next()) {
        (Some(value), None) if value.trim_ascii() == accept_value(key) => {}
        _ => return Err(AnswerError::Accept),
    }
    // Item 5: "If the response includes a |Sec-WebSocket-Extensions| header field and
    // this header field indicates the use of an extension that was not present in the
    // client's handshake [...], the client MUST _Fail the WebSocket Connection_." None is
    // offered, so any named is one not requested.
    if find("Sec-WebSocket-Extensions").any(|value| !value.trim_ascii().is_empty()) {
        return Err(AnswerError::Extension);
    }
    // Item 6: "If the response includes a |Sec-WebSocket-Protocol| header field and this
    // header field indicates the use of a subprotocol that was not present in the
    // client's handshake [...], the client MUST _Fail the WebSocket Connection_." The
    // server selects "one or none" (§4.2.2): exactly one of those offered.
    let mut chosen = find("Sec-WebSocket-Protocol");
    match (chosen.next(), chosen.next()) {
        (None, _) => Ok(None),
        (Some(value), None) => {
            let value = value.trim_ascii();
            protocols
                .iter()
                .find(|p| p.as_bytes() == value)
                .map(|p| Some(p.clone()))
                .ok_or(AnswerError::Protocol)
        }
        (Some(_), Some(_)) => Err(AnswerError::Protocol),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8; 24] = b"dGhlIHNhbXBsZSBub25jZQ==";

    /// An answer with `lines` to §1.2's request (its key), with `chat` offered.
    fn judge<S: AsRef<str>>(status_line: &str, lines: &[S]) -> Result<Option<String>, AnswerError> {
        let mut head = format!("{status_line}\r\n");
        for line in lines {
            head.push_str(line.as_ref());
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        check_answer(head.as_bytes(), KEY, &["chat".to_string()])
    }

    const GOOD: [&str; 3] = [
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
    ];
    const SWITCHING: &str = "HTTP/1.1 101 Switching Protocols";

    /// §1.3's answer (`GOOD`) with line `i` replaced by `line` (or dropped, for `""`),
    /// then `extra`.
    fn with(i: usize, line: &str, extra: &[&str]) -> Vec<String> {
        let mut lines: Vec<String> = GOOD.iter().map(|s| s.to_string()).collect();
        lines[i] = line.to_string();
        lines.extend(extra.iter().map(|s| s.to_string()));
        lines.retain(|l| !l.is_empty());
        lines
    }

    #[test]
    fn rfc_6455s_example_answer_is_accepted_with_or_without_the_subprotocol() {
        assert_eq!(judge(SWITCHING, &GOOD), Ok(None));
        let chose = with(0, "upgrade:  WebSocket ", &["Sec-WebSocket-Protocol: chat"]);
        assert_eq!(judge(SWITCHING, &chose), Ok(Some("chat".into())));
        let listed = with(1, "Connection: keep-alive, upgrade", &[]);
        assert_eq!(judge(SWITCHING, &listed), Ok(None));
    }

    #[test]
    fn each_item_of_section_4_1_fails_the_connection() {
        assert_eq!(
            judge("HTTP/1.1 200 OK", &GOOD),
            Err(AnswerError::NotSwitching { status: 200 })
        );
        assert!(matches!(
            check_answer(b"SSH-2.0-OpenSSH\r\n\r\n", KEY, &[]),
            Err(AnswerError::Malformed(_))
        ));
        let cases = [
            (with(0, "", &[]), AnswerError::Upgrade),
            (with(0, "Upgrade: websocket2", &[]), AnswerError::Upgrade),
            (with(1, "", &[]), AnswerError::Connection),
            (
                with(1, "Connection: keep-alive", &[]),
                AnswerError::Connection,
            ),
            (with(2, "", &[]), AnswerError::Accept),
            (
                with(2, "Sec-WebSocket-Accept: dGhlIHNhbXBsZSBub25jZQ==", &[]),
                AnswerError::Accept,
            ),
            (
                with(1, "Connection: Upgrade", &[GOOD[2]]),
                AnswerError::Accept,
            ),
            (
                with(
                    1,
                    "Connection: Upgrade",
                    &["Sec-WebSocket-Extensions: permessage-deflate"],
                ),
                AnswerError::Extension,
            ),
            (
                with(
                    1,
                    "Connection: Upgrade",
                    &["Sec-WebSocket-Protocol: superchat"],
                ),
                AnswerError::Protocol,
            ),
            (
                with(
                    1,
                    "Connection: Upgrade",
                    &[
                        "Sec-WebSocket-Protocol: chat",
                        "Sec-WebSocket-Protocol: chat",
                    ],
                ),
                AnswerError::Protocol,
            ),
        ];
        for (lines, error) in cases {
            assert_eq!(judge(SWITCHING, &lines), Err(error.clone()), "{lines:?}");
        }
    }
}
