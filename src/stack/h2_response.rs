//! The core's HTTP/1.1 answer, said in HTTP/2: the status line and header lines become a
//! HEADERS frame's fields, and what follows the head is the stream's DATA.
//!
//! RFC 8441 §5: a successful extended CONNECT is answered with `:status 200`, where
//! HTTP/1.1 has `101 Switching Protocols` (which RFC 9113 §8.6 forbids: "The 101
//! (Switching Protocols) informational status code MUST NOT be used"). The fields that
//! belong to the HTTP/1.1 connection, which RFC 9113 §8.2.2 forbids, are left out, and so
//! is `Sec-WebSocket-Accept`, which RFC 8441 §5 says "is not used".

/// Most header lines the core writes in one answer.
const MAX_FIELDS: usize = 16;

/// Fields of an HTTP/1.1 answer that have no place in HTTP/2.
const DROPPED: [&str; 6] = [
    // RFC 9113 §8.2.2: "An endpoint MUST NOT generate an HTTP/2 message containing
    // connection-specific header fields": Connection and the fields it names.
    "connection",
    "upgrade",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    // RFC 8441 §5.
    "sec-websocket-accept",
];

/// A translated answer head.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Head {
    /// The `:status` value.
    pub(crate) status: u16,
    /// The regular fields, names lowercased (RFC 9113 §8.2.1).
    pub(crate) fields: Vec<(Vec<u8>, Vec<u8>)>,
    /// How many bytes of the core's output the head took, its blank line included.
    pub(crate) len: usize,
    /// A 101: the WebSocket is open and the stream carries its frames.
    pub(crate) upgraded: bool,
}

/// What the core's output holds so far.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// The head is not complete yet (the core writes heads whole, but a delayed answer
    /// arrives later).
    Partial,
    /// A complete head.
    Head(Head),
    /// Not an HTTP/1.1 answer the layer can translate: the core is wrong, and the
    /// stream is reset with INTERNAL_ERROR.
    Invalid(&'static str),
}

/// Reads the answer head at the front of the core's output.
pub(crate) fn parse(output: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_FIELDS];
    let mut response = httparse::Response::new(&mut headers);
    let len = match response.parse(output) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(_) => return Parsed::Invalid("the core's answer is not an HTTP/1.1 response head"),
    };
    let Some(code) = response.code else {
        return Parsed::Invalid("the core's answer has no status");
    };
    let upgraded = code == 101;
    let fields = response
        .headers
        .iter()
        .map(|h| h.name.to_ascii_lowercase())
        .zip(response.headers.iter().map(|h| h.value.to_vec()))
        .filter(|(name, _)| !DROPPED.contains(&name.as_str()))
        .map(|(name, value)| (name.into_bytes(), value))
        .collect();
    Parsed::Head(Head {
        status: if upgraded { 200 } else { code },
        fields,
        len,
        upgraded,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::{HttpReply, HttpStatus, write_switching_protocols};

    #[test]
    fn a_101_becomes_200_without_accept_or_connection_fields() {
        let mut out = Vec::new();
        write_switching_protocols(
            &mut out,
            &[b'a'; 28],
            Some("chat"),
            Some(b"permessage-deflate"),
        );
        let head_len = out.len();
        out.extend_from_slice(b"\x81\x02hi");
        let Parsed::Head(head) = parse(&out) else {
            panic!("not parsed");
        };
        assert_eq!(head.status, 200);
        assert!(head.upgraded);
        assert_eq!(head.len, head_len);
        let names: Vec<&[u8]> = head.fields.iter().map(|(n, _)| n.as_slice()).collect();
        assert!(
            names.contains(&b"sec-websocket-protocol".as_slice()),
            "{names:?}"
        );
        assert!(names.contains(&b"sec-websocket-extensions".as_slice()));
        for dropped in DROPPED {
            assert!(!names.contains(&dropped.as_bytes()), "{dropped} kept");
        }
        assert_eq!(&out[head.len..], b"\x81\x02hi");
    }

    #[test]
    fn a_refusal_keeps_its_status_and_body_fields() {
        let mut out = Vec::new();
        let mut reply = HttpReply::error(HttpStatus::UpgradeRequired, "version 13\n");
        reply.extra_headers = "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n";
        reply.connection = "Upgrade, close";
        reply.write_to(&mut out);
        let Parsed::Head(head) = parse(&out) else {
            panic!("not parsed");
        };
        assert_eq!(head.status, 426);
        assert!(!head.upgraded);
        assert_eq!(&out[head.len..], b"version 13\n");
        assert!(
            head.fields
                .contains(&(b"sec-websocket-version".to_vec(), b"13".to_vec()))
        );
        assert!(
            head.fields
                .contains(&(b"content-length".to_vec(), b"11".to_vec()))
        );
        assert!(
            !head
                .fields
                .iter()
                .any(|(n, _)| n == b"upgrade" || n == b"connection")
        );
    }

    #[test]
    fn partial_and_invalid_heads() {
        assert_eq!(parse(b"HTTP/1.1 200 OK\r\nContent-Le"), Parsed::Partial);
        assert!(matches!(parse(b"\x81\x02hi"), Parsed::Invalid(_)));
    }
}
