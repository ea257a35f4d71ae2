//! The HTTP answers the server gives during the opening handshake, said by no transport
//! yet: HTTP/1.1 writes them as text ([`Answer::write_h1`]), HTTP/2 as a HEADERS
//! frame's fields ([`Answer::fields`]) with the body as the stream's DATA.

use std::io::Write;

use super::HttpStatus;

/// A refused or non-WebSocket request: status, a short text body saying why, and any
/// extra header fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpReply {
    /// The status.
    pub status: HttpStatus,
    /// The answer offers the upgrade to WebSocket (a 426: RFC 9110 §15.5.22 "MUST send
    /// an Upgrade header field"). Over HTTP/1.1 that is `Upgrade: websocket` with
    /// "upgrade" in `Connection` (§7.8); both are HTTP/1.1's connection's own fields,
    /// which HTTP/2 does not carry (RFC 9113 §8.2.2).
    pub offers_upgrade: bool,
    /// Fields beyond the usual ones: (name in canonical case, value).
    pub extra: &'static [(&'static str, &'static str)],
    /// The body's media type.
    pub content_type: &'static str,
    /// The body: a one-line reason, or the landing page.
    pub body: String,
    /// The answer to a HEAD request: the headers only, the Content-Length still that of
    /// the body a GET would get (RFC 9110 §9.3.2).
    pub head_only: bool,
}

impl HttpReply {
    /// A plain-text reply with `status` and `body`, closing the connection.
    pub fn error(status: HttpStatus, body: impl Into<String>) -> Self {
        HttpReply {
            status,
            offers_upgrade: false,
            extra: &[],
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
            head_only: false,
        }
    }

    /// Writes the whole response as HTTP/1.1; the connection is closed after it.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let _ = write!(
            out,
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: {}\r\nServer: wsecho\r\n",
            self.status.code(),
            self.status.reason(),
            self.content_type,
            self.body.len(),
            if self.offers_upgrade {
                "Upgrade, close"
            } else {
                "close"
            },
        );
        if self.offers_upgrade {
            out.extend_from_slice(b"Upgrade: websocket\r\n");
        }
        for (name, value) in self.extra {
            let _ = write!(out, "{name}: {value}\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(self.body());
    }

    /// What follows the head: the body, or nothing for a HEAD request.
    pub fn body(&self) -> &[u8] {
        if self.head_only {
            &[]
        } else {
            self.body.as_bytes()
        }
    }
}

/// The acceptance of an upgrade (RFC 6455 §4.2.2 item 5, RFC 8441 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Upgraded {
    /// `Sec-WebSocket-Accept`: HTTP/1.1 only (RFC 8441 §5: "The Sec-WebSocket-Key and
    /// Sec-WebSocket-Accept header fields are not used").
    pub(crate) accept: Option<[u8; 28]>,
    /// `Sec-WebSocket-Protocol`, when one was chosen.
    pub(crate) subprotocol: Option<String>,
    /// `Sec-WebSocket-Extensions`, when one was agreed.
    pub(crate) extensions: Option<Vec<u8>>,
}

/// Header fields as HTTP/2 sends them: (lowercase name, value), in order.
pub(crate) type Fields = Vec<(Vec<u8>, Vec<u8>)>;

/// What a request is answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// A page, or a refusal; the exchange ends after it.
    Reply(HttpReply),
    /// The WebSocket is open: 101 over HTTP/1.1, 200 on an HTTP/2 stream.
    Upgrade(Upgraded),
}

impl Answer {
    /// Writes the answer as HTTP/1.1: the head, then the body.
    pub(crate) fn write_h1(&self, out: &mut Vec<u8>) {
        match self {
            Answer::Reply(reply) => reply.write_to(out),
            Answer::Upgrade(up) => write_switching_protocols(
                out,
                up.accept.as_ref(),
                up.subprotocol.as_deref(),
                up.extensions.as_deref(),
            ),
        }
    }

    /// The status and the fields of the answer without those that belong to an
    /// HTTP/1.1 connection (RFC 9113 §8.2.2: `Connection`, `Upgrade`) or to HTTP/1.1's
    /// upgrade (RFC 8441 §5: `Sec-WebSocket-Accept`), names in lowercase (RFC 9113
    /// §8.2.1), in the order HTTP/1.1 writes them. An accepted upgrade is a 200 (RFC
    /// 8441 §5; RFC 9113 §8.6 forbids 101).
    pub(crate) fn fields(&self) -> (u16, Fields) {
        let lower = |name: &str| name.to_ascii_lowercase().into_bytes();
        match self {
            Answer::Reply(reply) => {
                let mut fields = vec![
                    (
                        b"content-type".to_vec(),
                        reply.content_type.as_bytes().to_vec(),
                    ),
                    (
                        b"content-length".to_vec(),
                        reply.body.len().to_string().into_bytes(),
                    ),
                    (b"server".to_vec(), b"wsecho".to_vec()),
                ];
                fields.extend(
                    reply
                        .extra
                        .iter()
                        .map(|(name, value)| (lower(name), value.as_bytes().to_vec())),
                );
                (reply.status.code(), fields)
            }
            Answer::Upgrade(up) => {
                let mut fields = Vec::new();
                if let Some(name) = &up.subprotocol {
                    fields.push((b"sec-websocket-protocol".to_vec(), name.as_bytes().to_vec()));
                }
                if let Some(ext) = &up.extensions {
                    fields.push((b"sec-websocket-extensions".to_vec(), ext.clone()));
                }
                (200, fields)
            }
        }
    }

    /// What the stream carries after the head: the body of a reply.
    pub(crate) fn body(&self) -> &[u8] {
        match self {
            Answer::Reply(reply) => reply.body(),
            Answer::Upgrade(_) => &[],
        }
    }

    /// An accepted upgrade.
    pub(crate) fn is_upgrade(&self) -> bool {
        matches!(self, Answer::Upgrade(_))
    }
}

/// Writes the 101 answer that completes the upgrade (§4.2.2 item 5).
fn write_switching_protocols(
    out: &mut Vec<u8>,
    accept: Option<&[u8; 28]>,
    subprotocol: Option<&str>,
    extensions: Option<&[u8]>,
) {
    out.extend_from_slice(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade",
    );
    if let Some(accept) = accept {
        out.extend_from_slice(b"\r\nSec-WebSocket-Accept: ");
        out.extend_from_slice(accept);
    }
    if let Some(name) = subprotocol {
        out.extend_from_slice(b"\r\nSec-WebSocket-Protocol: ");
        out.extend_from_slice(name.as_bytes());
    }
    if let Some(ext) = extensions {
        out.extend_from_slice(b"\r\nSec-WebSocket-Extensions: ");
        out.extend_from_slice(ext);
    }
    out.extend_from_slice(b"\r\n\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_reply_has_length_and_body() {
        let mut out = Vec::new();
        HttpReply::error(HttpStatus::BadRequest, "missing Host header\n").write_to(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(text.contains("Content-Length: 20\r\n"));
        assert!(text.ends_with("\r\n\r\nmissing Host header\n"));
    }

    #[test]
    fn a_head_reply_has_the_length_and_no_body() {
        let mut out = Vec::new();
        let reply = HttpReply {
            head_only: true,
            ..HttpReply::error(HttpStatus::Ok, "ok\n")
        };
        reply.write_to(&mut out);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("Content-Length: 3\r\n"));
        assert!(text.ends_with("\r\n\r\n"));
    }

    #[test]
    fn switching_protocols_names_the_subprotocol_and_extension_when_agreed() {
        let mut out = Vec::new();
        let answer = Answer::Upgrade(Upgraded {
            accept: Some(*b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            subprotocol: Some("chat".into()),
            extensions: Some(b"permessage-deflate".to_vec()),
        });
        answer.write_h1(&mut out);
        assert_eq!(
            out,
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\
              Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
        );
        // Over HTTP/2: 200, without the fields of HTTP/1.1's connection and upgrade.
        let (status, fields) = answer.fields();
        assert_eq!(status, 200);
        assert_eq!(
            fields,
            [
                (b"sec-websocket-protocol".to_vec(), b"chat".to_vec()),
                (
                    b"sec-websocket-extensions".to_vec(),
                    b"permessage-deflate".to_vec()
                )
            ]
        );
        assert!(answer.body().is_empty());
    }

    #[test]
    fn a_426_offers_the_upgrade_in_http1_only() {
        let reply = HttpReply {
            offers_upgrade: true,
            extra: &[("Sec-WebSocket-Version", "13")],
            ..HttpReply::error(HttpStatus::UpgradeRequired, "version 13\n")
        };
        let answer = Answer::Reply(reply);
        let mut out = Vec::new();
        answer.write_h1(&mut out);
        assert_eq!(
            out,
            b"HTTP/1.1 426 Upgrade Required\r\nContent-Type: text/plain; charset=utf-8\r\n\
              Content-Length: 11\r\nConnection: Upgrade, close\r\nServer: wsecho\r\n\
              Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\nversion 13\n"
        );
        let (status, fields) = answer.fields();
        assert_eq!(status, 426);
        let names: Vec<&[u8]> = fields.iter().map(|(n, _)| n.as_slice()).collect();
        assert_eq!(
            names,
            [
                &b"content-type"[..],
                b"content-length",
                b"server",
                b"sec-websocket-version"
            ]
        );
        assert_eq!(fields[1].1, b"11");
        assert_eq!(answer.body(), b"version 13\n");
    }
}
