//! The HTTP responses the server writes during the opening handshake.

use std::io::Write;

use super::HttpStatus;

/// A refused or non-WebSocket request: status, a short text body saying why, and any
/// extra header lines (each ending in CRLF).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpReply {
    /// The status.
    pub status: HttpStatus,
    /// The Connection header's value: "close", with "Upgrade" added when the extra
    /// headers name an Upgrade (RFC 9110 §7.8).
    pub connection: &'static str,
    /// Header lines beyond the usual ones, each ending in CRLF.
    pub extra_headers: &'static str,
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
            connection: "close",
            extra_headers: "",
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
            head_only: false,
        }
    }

    /// Writes the whole response; the connection is closed after it.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let _ = write!(
            out,
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: {}\r\nServer: wsecho\r\n{}\r\n{}",
            self.status.code(),
            self.status.reason(),
            self.content_type,
            self.body.len(),
            self.connection,
            self.extra_headers,
            if self.head_only { "" } else { &self.body }
        );
    }
}

/// Writes the 101 answer that completes the upgrade (§4.2.2 item 5).
pub(crate) fn write_switching_protocols(
    out: &mut Vec<u8>,
    accept: &[u8; 28],
    subprotocol: Option<&str>,
    extensions: Option<&[u8]>,
) {
    out.extend_from_slice(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ",
    );
    out.extend_from_slice(accept);
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
        write_switching_protocols(
            &mut out,
            b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
            Some("chat"),
            Some(b"permessage-deflate"),
        );
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        assert!(text.contains("\r\nSec-WebSocket-Protocol: chat\r\n"));
        assert!(text.ends_with("Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"));
    }
}
