//! What a client offered in its ClientHello, for the log line when its handshake fails:
//! "no cipher suites in common" helps nobody unless it says what the client had.
//!
//! A best-effort reader of the first handshake record (RFC 8446 §4.1.2, RFC 5246
//! §7.4.1.2): it never fails, it reads what is there and stops at the first thing that
//! does not fit. rustls is the one that judges the hello; this only describes it.

use std::fmt;

use rustls::{CipherSuite, ProtocolVersion};

use crate::escape::EscapedBytes;

/// RFC 8446 §4.2: `supported_versions(43)`.
const SUPPORTED_VERSIONS: u16 = 43;
/// RFC 7301 §3.1: `application_layer_protocol_negotiation(16)`.
const ALPN: u16 = 16;
/// RFC 6066 §3: `server_name(0)`.
const SERVER_NAME: u16 = 0;
/// RFC 8446 §4: `client_hello(1)`.
const CLIENT_HELLO: u8 = 1;

/// The parts of a ClientHello that decide whether a handshake can succeed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Offer {
    /// `legacy_version` of the hello (the version offered when there is no
    /// `supported_versions` extension, as before TLS 1.3).
    pub legacy_version: Option<u16>,
    /// The `supported_versions` extension, if any.
    pub versions: Vec<u16>,
    /// Cipher suites, in the client's order.
    pub cipher_suites: Vec<u16>,
    /// ALPN protocol names.
    pub alpn: Vec<Vec<u8>>,
    /// SNI host name, as sent (it may be anything).
    pub server_name: Option<Vec<u8>>,
}

/// A cursor over big-endian TLS vectors; every read is checked.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    /// A vector with a length prefix of `len_bytes` bytes; cut short if the bytes end.
    fn vector(&mut self, len_bytes: usize) -> Option<Cursor<'a>> {
        let len = self
            .take(len_bytes)?
            .iter()
            .fold(0usize, |n, &b| (n << 8) | usize::from(b));
        let n = len.min(self.0.len());
        self.take(n).map(Cursor)
    }
}

/// Reads the offer from the first bytes a client sent (TLS records); `None` when they
/// do not start with a ClientHello.
pub(crate) fn read_offer(records: &[u8]) -> Option<Offer> {
    // The record header: type, legacy version, length. The hello may span records; the
    // first carries enough of it for the parts read here in any real client.
    let mut record = Cursor(records);
    if record.u8()? != super::sniff::TLS_HANDSHAKE_RECORD {
        return None;
    }
    record.u16()?;
    let mut body = record.vector(2)?;
    if body.u8()? != CLIENT_HELLO {
        return None;
    }
    let mut hello = body.vector(3)?;
    let mut offer = Offer {
        legacy_version: Some(hello.u16()?),
        ..Offer::default()
    };
    hello.take(32)?; // random
    hello.vector(1)?; // legacy_session_id
    let mut suites = hello.vector(2)?;
    while let Some(suite) = suites.u16() {
        offer.cipher_suites.push(suite);
    }
    hello.vector(1)?; // legacy_compression_methods
    let Some(mut extensions) = hello.vector(2) else {
        return Some(offer);
    };
    while let (Some(kind), Some(mut data)) = (extensions.u16(), extensions.vector(2)) {
        match kind {
            SUPPORTED_VERSIONS => {
                let mut list = data.vector(1).unwrap_or(Cursor(&[]));
                while let Some(v) = list.u16() {
                    offer.versions.push(v);
                }
            }
            ALPN => {
                let mut list = data.vector(2).unwrap_or(Cursor(&[]));
                while let Some(name) = list.vector(1) {
                    offer.alpn.push(name.0.to_vec());
                }
            }
            SERVER_NAME => {
                let mut list = data.vector(2).unwrap_or(Cursor(&[]));
                // name_type host_name(0), then the name.
                if list.u8() == Some(0)
                    && let Some(name) = list.vector(2)
                {
                    offer.server_name = Some(name.0.to_vec());
                }
            }
            _ => {}
        }
    }
    Some(offer)
}

/// GREASE values (RFC 8701) are noise a client adds on purpose: left out of the log.
fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

impl fmt::Display for Offer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("client offered ")?;
        let versions: Vec<u16> = if self.versions.is_empty() {
            self.legacy_version.into_iter().collect()
        } else {
            self.versions
                .iter()
                .copied()
                .filter(|v| !is_grease(*v))
                .collect()
        };
        f.write_str("versions ")?;
        list(
            f,
            versions
                .iter()
                .map(|&v| name(v, format!("{:?}", ProtocolVersion::from(v)))),
        )?;
        f.write_str("; cipher suites ")?;
        let suites = self.cipher_suites.iter().filter(|s| !is_grease(**s));
        list(
            f,
            suites.map(|&s| name(s, format!("{:?}", CipherSuite::from(s)))),
        )?;
        if !self.alpn.is_empty() {
            f.write_str("; ALPN ")?;
            list(f, self.alpn.iter().map(|p| EscapedBytes(p).to_string()))?;
        }
        if let Some(name) = &self.server_name {
            write!(f, "; SNI {}", EscapedBytes(name))?;
        }
        Ok(())
    }
}

/// rustls' name for a code point it knows; the number in hex for one it does not (its
/// `Debug` then shows a type name around the number).
fn name(code: u16, debug: String) -> String {
    if debug.contains('(') {
        format!("0x{code:04x}")
    } else {
        debug
    }
}

fn list(f: &mut fmt::Formatter<'_>, items: impl Iterator<Item = String>) -> fmt::Result {
    let mut any = false;
    for (i, item) in items.enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        f.write_str(&item)?;
        any = true;
    }
    if !any {
        f.write_str("none")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ClientHello record built field by field.
    fn hello(versions: &[u16], suites: &[u16], alpn: &[&str]) -> Vec<u8> {
        fn vec16(body: &[u8]) -> Vec<u8> {
            let mut v = (body.len() as u16).to_be_bytes().to_vec();
            v.extend_from_slice(body);
            v
        }
        let mut ext = Vec::new();
        if !versions.is_empty() {
            let mut list = vec![(versions.len() * 2) as u8];
            versions.iter().for_each(|v| list.extend(v.to_be_bytes()));
            ext.extend(SUPPORTED_VERSIONS.to_be_bytes());
            ext.extend(vec16(&list));
        }
        if !alpn.is_empty() {
            let mut names = Vec::new();
            for name in alpn {
                names.push(name.len() as u8);
                names.extend(name.as_bytes());
            }
            ext.extend(ALPN.to_be_bytes());
            ext.extend(vec16(&vec16(&names)));
        }
        let mut body = vec![0x03, 0x03];
        body.extend([7u8; 32]);
        body.push(0);
        let suite_bytes: Vec<u8> = suites.iter().flat_map(|s| s.to_be_bytes()).collect();
        body.extend(vec16(&suite_bytes));
        body.extend([1, 0]);
        body.extend(vec16(&ext));
        let mut handshake = vec![CLIENT_HELLO];
        handshake.extend(&(body.len() as u32).to_be_bytes()[1..]);
        handshake.extend(body);
        let mut record = vec![0x16, 0x03, 0x01];
        record.extend(vec16(&handshake));
        record
    }

    #[test]
    fn an_old_client_is_described_by_its_versions_and_suites() {
        let suites = [0x002f, 0x0a0a, 0xc02f];
        let offer = read_offer(&hello(&[0x0302, 0x0301], &suites, &["h2"])).unwrap();
        assert_eq!(offer.versions, [0x0302, 0x0301]);
        assert_eq!(offer.cipher_suites, suites);
        let text = offer.to_string();
        assert_eq!(
            text,
            "client offered versions TLSv1_1, TLSv1_0; \
             cipher suites 0x002f, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256; ALPN h2"
        );
    }

    #[test]
    fn without_supported_versions_the_legacy_version_is_the_offer() {
        let offer = read_offer(&hello(&[], &[0x1301], &[])).unwrap();
        assert!(
            offer
                .to_string()
                .starts_with("client offered versions TLSv1_2; ")
        );
    }

    #[test]
    fn names_the_client_chose_are_escaped() {
        let mut offer = read_offer(&hello(&[0x0304], &[0x1301], &["h2\nFORGED\u{1b}[2J"])).unwrap();
        offer.server_name = Some(b"a\r\nFORGED\xff".to_vec());
        let text = offer.to_string();
        assert!(
            text.ends_with(r"; ALPN h2\nFORGED\u{1b}[2J; SNI a\r\nFORGED\xff"),
            "{text}"
        );
    }

    #[test]
    fn any_prefix_of_a_hello_is_read_without_panicking() {
        let full = hello(&[0x0304], &[0x1301, 0x1302], &["http/1.1"]);
        for cut in 0..=full.len() {
            let _ = read_offer(&full[..cut]).map(|o| o.to_string());
        }
        assert!(read_offer(b"GET / HTTP/1.1\r\n").is_none());
        assert_eq!(read_offer(&full).unwrap().alpn, [b"http/1.1".to_vec()]);
    }
}
