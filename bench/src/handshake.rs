//! The client side of the HTTP upgrade (RFC 6455 §4.1): request, key, and response checks.

use base64::prelude::{BASE64_STANDARD, Engine};
use sha1::{Digest, Sha1};

use crate::mask::Rng;

const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Length of a base64 SHA-1 digest, the form of `Sec-WebSocket-Accept`.
pub const ACCEPT_LEN: usize = 28;

/// A fresh `Sec-WebSocket-Key`: 16 random bytes in base64.
pub fn new_key(rng: &mut Rng) -> String {
    let mut raw = [0u8; 16];
    raw[..8].copy_from_slice(&rng.next_u64().to_ne_bytes());
    raw[8..].copy_from_slice(&rng.next_u64().to_ne_bytes());
    BASE64_STANDARD.encode(raw)
}

/// The `Sec-WebSocket-Accept` a server must answer `key` with.
pub fn accept_for(key: &str) -> [u8; ACCEPT_LEN] {
    let digest = Sha1::new()
        .chain_update(key.as_bytes())
        .chain_update(GUID.as_bytes())
        .finalize();
    let mut out = [0u8; ACCEPT_LEN];
    let n = BASE64_STANDARD
        .encode_slice(digest, &mut out)
        .expect("28 bytes hold a SHA-1 in base64");
    debug_assert_eq!(n, ACCEPT_LEN);
    out
}

/// Appends a minimal upgrade request. No extensions are offered, so servers that support
/// permessage-deflate must answer with plain frames and every server does the same work.
pub fn write_request(dst: &mut Vec<u8>, host: &str, key: &str) {
    dst.extend_from_slice(b"GET / HTTP/1.1\r\nHost: ");
    dst.extend_from_slice(host.as_bytes());
    dst.extend_from_slice(b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
    dst.extend_from_slice(key.as_bytes());
    dst.extend_from_slice(b"\r\nSec-WebSocket-Version: 13\r\n\r\n");
}

/// Parses the response head at the start of `buf`: `Ok(None)` if incomplete, else the
/// number of bytes it took. Anything but a correct 101 ends the run.
pub fn parse_response(buf: &[u8], accept: &[u8; ACCEPT_LEN]) -> Result<Option<usize>, String> {
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut resp = httparse::Response::new(&mut headers);
    let n = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("bad upgrade response: {e}")),
    };
    if resp.code != Some(101) {
        return Err(format!(
            "upgrade answered with status {:?} {:?}",
            resp.code, resp.reason
        ));
    }
    let header = |name: &str| {
        resp.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value)
    };
    let has_token = |name: &str, token: &str| {
        header(name).is_some_and(|v| {
            v.split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
        })
    };
    if !has_token("upgrade", "websocket") || !has_token("connection", "upgrade") {
        return Err("101 response lacks Upgrade: websocket or Connection: Upgrade".into());
    }
    if header("sec-websocket-accept").map(<[u8]>::trim_ascii) != Some(&accept[..]) {
        return Err("101 response has a wrong or missing Sec-WebSocket-Accept".into());
    }
    if header("sec-websocket-extensions").is_some() {
        return Err("server accepted an extension the client never offered".into());
    }
    Ok(Some(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_matches_the_rfc_example() {
        assert_eq!(
            &accept_for("dGhlIHNhbXBsZSBub25jZQ=="),
            b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn response_checks() {
        let accept = accept_for("dGhlIHNhbXBsZSBub25jZQ==");
        let ok = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\nxx";
        assert_eq!(parse_response(ok, &accept), Ok(Some(ok.len() - 2)));
        assert_eq!(parse_response(&ok[..40], &accept), Ok(None));
        let wrong = b"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: AAAA\r\n\r\n";
        assert!(parse_response(wrong, &accept).is_err());
        assert!(parse_response(b"HTTP/1.1 400 Bad\r\n\r\n", &accept).is_err());
    }
}
