//! Telling an HTTP/2 client with prior knowledge from an HTTP/1.1 one on a cleartext
//! port, by its first bytes (RFC 9113 §3.3: "the client MUST send the connection preface
//! ... and then MAY immediately send HTTP/2 frames").
//!
//! The preface starts `PRI * HTTP/2.0`: a method no HTTP/1.1 server serves, so no
//! HTTP/1.1 client sends it. The first read almost always holds all 24 bytes; a shorter
//! one that is a prefix of the preface is taken as HTTP/2 too, and the session judges
//! the rest (an HTTP/1.1 `P...` request cut after its first byte or two would then be
//! refused by HTTP/2's bad-preface GOAWAY, a cost only for clients that send a method
//! byte by byte).

use super::session::CLIENT_PREFACE as PREFACE;

/// Whether a cleartext connection's first bytes start the HTTP/2 preface.
pub(crate) fn is_preface_start(first: &[u8]) -> bool {
    let n = first.len().min(PREFACE.len());
    n > 0 && first[..n] == PREFACE[..n]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preface_and_its_prefixes_are_http2() {
        assert!(is_preface_start(PREFACE));
        assert!(is_preface_start(
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x12\x04"
        ));
        assert!(is_preface_start(b"PR"));
    }

    #[test]
    fn http1_methods_are_not() {
        for first in [
            &b"GET / HTTP/1.1\r\n"[..],
            b"POST /",
            b"PUT /",
            b"PRIX",
            b"",
        ] {
            assert!(!is_preface_start(first), "{}", first.escape_ascii());
        }
    }
}
