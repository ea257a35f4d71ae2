//! The client's `permessage-deflate` offers on a suite path, read as Autobahn's fuzzing
//! server reads them, and the response a case accepts one with.
//!
//! This is not wsecho's own negotiation ([`crate::deflate::negotiate`], strict RFC 7692
//! grammar, an offer it cannot take declined): the cases of groups 12 and 13 grade what
//! Autobahn 0.10.9 agrees to, so its rules are the ones kept here. Its
//! `_parseExtensionsHeader` splits the one header on `,`, `;` and `=`, trims, lowercases
//! the names and drops one quote at each end of a value; `PerMessageDeflateOffer.parse`
//! refuses a repeated parameter, an unknown one, a flag with a value, or a window size
//! outside 8 to 15, and `processHandshake` fails the whole handshake on any of these
//! (and on more than one `Sec-WebSocket-Extensions` header), whatever the path.

/// Why Autobahn fails a handshake with two `Sec-WebSocket-Extensions` headers.
pub(crate) const REPEATED: &str =
    "HTTP Sec-WebSocket-Extensions header appears more than once in opening handshake request";
/// The extension's name, as Autobahn matches it (after lowercasing).
const DEFLATE: &str = "permessage-deflate";
/// Window sizes an offer may name (Autobahn's `WINDOW_SIZE_PERMISSIBLE_VALUES`).
const WINDOW_BITS: std::ops::RangeInclusive<u8> = 8..=15;

/// One `permessage-deflate` offer, as Autobahn's `PerMessageDeflateOffer` keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offer {
    /// The client lets the server ask for `client_no_context_takeover` (Autobahn
    /// assumes every client does: its parser sets this whatever the offer says).
    pub accept_no_context_takeover: bool,
    /// The client offered `client_max_window_bits`, so the server may name one.
    pub accept_max_window_bits: bool,
    /// The client asked for `server_no_context_takeover`.
    pub request_no_context_takeover: bool,
    /// The client asked for `server_max_window_bits` (0: it did not).
    pub request_max_window_bits: u8,
}

/// How a case accepts an offer (Autobahn's `PerMessageDeflateOfferAccept`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Accept {
    pub(crate) offer: Offer,
    /// Ask the client for `client_no_context_takeover`.
    pub(crate) request_no_context_takeover: bool,
    /// Ask the client for `client_max_window_bits` (0: do not).
    pub(crate) request_max_window_bits: u8,
}

impl Accept {
    /// The offer taken as it is.
    pub(crate) fn plain(offer: Offer) -> Accept {
        Accept {
            offer,
            request_no_context_takeover: false,
            request_max_window_bits: 0,
        }
    }

    /// The `Sec-WebSocket-Extensions` value of the 101 (Autobahn's
    /// `getExtensionString`, its parameters in its order).
    pub(crate) fn response(&self) -> String {
        let mut s = DEFLATE.to_string();
        if self.offer.request_no_context_takeover {
            s.push_str("; server_no_context_takeover");
        }
        if self.offer.request_max_window_bits != 0 {
            s.push_str(&format!(
                "; server_max_window_bits={}",
                self.offer.request_max_window_bits
            ));
        }
        if self.request_no_context_takeover {
            s.push_str("; client_no_context_takeover");
        }
        if self.request_max_window_bits != 0 {
            s.push_str(&format!(
                "; client_max_window_bits={}",
                self.request_max_window_bits
            ));
        }
        s
    }

    /// What the compression runs with (Autobahn's `createFromOfferAccept`): our
    /// messages with the window the client asked for, from an empty one each time if it
    /// asked so; the client's with the window we asked for (15 when none was named).
    pub(crate) fn params(&self) -> Params {
        let bits = |b: u8| if b == 0 { 15 } else { b };
        Params {
            server_no_context_takeover: self.offer.request_no_context_takeover,
            client_no_context_takeover: self.request_no_context_takeover,
            server_max_window_bits: bits(self.offer.request_max_window_bits),
            client_max_window_bits: bits(self.request_max_window_bits),
        }
    }
}

/// The agreed parameters, as the peer's compressor and decompressor use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Params {
    pub(crate) server_no_context_takeover: bool,
    pub(crate) client_no_context_takeover: bool,
    pub(crate) server_max_window_bits: u8,
    pub(crate) client_max_window_bits: u8,
}

/// A parameter's value: none (`True` in Autobahn's parser), or the text after `=`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Flag,
    Text(String),
}

/// The `permessage-deflate` offers in the `Sec-WebSocket-Extensions` header values
/// `headers`, in order; other extensions are ignored. An error is why Autobahn fails
/// the handshake.
pub(crate) fn parse(headers: &[&[u8]]) -> Result<Vec<Offer>, String> {
    let header = match headers {
        [] => return Ok(Vec::new()),
        [one] => String::from_utf8_lossy(one),
        _ => return Err(REPEATED.to_string()),
    };
    let mut offers = Vec::new();
    for element in header.split(',').map(str::trim) {
        if element.is_empty() {
            continue;
        }
        let mut parts = element.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default().to_lowercase();
        let mut params: Vec<(String, Vec<Value>)> = Vec::new();
        for p in parts {
            let mut kv = p.split('=').map(str::trim);
            let key = kv.next().unwrap_or_default().to_lowercase();
            let rest: Vec<&str> = kv.collect();
            let value = if rest.is_empty() {
                Value::Flag
            } else {
                let v = rest.join("=");
                let v = v.strip_prefix('"').unwrap_or(&v);
                let v = v.strip_suffix('"').unwrap_or(v);
                Value::Text(v.to_string())
            };
            match params.iter_mut().find(|(k, _)| *k == key) {
                Some((_, values)) => values.push(value),
                None => params.push((key, vec![value])),
            }
        }
        if name == DEFLATE {
            offers.push(parse_offer(&params)?);
        }
    }
    Ok(offers)
}

/// Autobahn's `PerMessageDeflateOffer.parse`.
fn parse_offer(params: &[(String, Vec<Value>)]) -> Result<Offer, String> {
    let mut offer = Offer {
        accept_no_context_takeover: true,
        accept_max_window_bits: false,
        request_no_context_takeover: false,
        request_max_window_bits: 0,
    };
    for (name, values) in params {
        if values.len() > 1 {
            return Err(format!(
                "multiple occurrence of extension parameter '{name}' for extension '{DEFLATE}'"
            ));
        }
        let value = &values[0];
        let illegal = || {
            let shown = match value {
                Value::Flag => "True".to_string(),
                Value::Text(t) => t.clone(),
            };
            format!(
                "illegal extension parameter value '{shown}' for parameter '{name}' of \
                 extension '{DEFLATE}'"
            )
        };
        match (name.as_str(), value) {
            ("client_max_window_bits", Value::Flag) => offer.accept_max_window_bits = true,
            ("client_max_window_bits", Value::Text(t)) => {
                window_bits(t).ok_or_else(illegal)?;
                offer.accept_max_window_bits = true;
            }
            ("client_no_context_takeover", Value::Flag) => offer.accept_no_context_takeover = true,
            ("server_max_window_bits", Value::Text(t)) => {
                offer.request_max_window_bits = window_bits(t).ok_or_else(illegal)?;
            }
            ("server_no_context_takeover", Value::Flag) => {
                offer.request_no_context_takeover = true;
            }
            (
                "client_no_context_takeover"
                | "server_max_window_bits"
                | "server_no_context_takeover",
                _,
            ) => return Err(illegal()),
            _ => {
                return Err(format!(
                    "illegal extension parameter '{name}' for extension '{DEFLATE}'"
                ));
            }
        }
    }
    Ok(offer)
}

/// A window size as Python's `int()` reads it (sign and surrounding space allowed),
/// if it is one Autobahn permits.
fn window_bits(text: &str) -> Option<u8> {
    let t = text.trim();
    let t = t.strip_prefix('+').unwrap_or(t);
    let n: i64 = t.parse().ok()?;
    u8::try_from(n).ok().filter(|b| WINDOW_BITS.contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(h: &str) -> Result<Vec<Offer>, String> {
        parse(&[h.as_bytes()])
    }

    #[test]
    fn the_default_offers_of_the_drivers() {
        let o = one("permessage-deflate; client_max_window_bits").unwrap();
        assert_eq!(o.len(), 1);
        assert!(o[0].accept_max_window_bits && o[0].accept_no_context_takeover);
        assert_eq!(o[0].request_max_window_bits, 0);
        assert_eq!(Accept::plain(o[0]).response(), "permessage-deflate");
    }

    #[test]
    fn names_are_lowercased_values_unquoted_and_other_extensions_ignored() {
        let o = one(
            "x-webkit-deflate-frame, PerMessage-Deflate; Server_Max_Window_Bits=\"10\"; \
             server_no_context_takeover",
        )
        .unwrap();
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].request_max_window_bits, 10);
        let a = Accept {
            offer: o[0],
            request_no_context_takeover: true,
            request_max_window_bits: 9,
        };
        assert_eq!(
            a.response(),
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; \
             client_no_context_takeover; client_max_window_bits=9"
        );
        assert_eq!(
            a.params(),
            Params {
                server_no_context_takeover: true,
                client_no_context_takeover: true,
                server_max_window_bits: 10,
                client_max_window_bits: 9,
            }
        );
    }

    #[test]
    fn what_fails_the_handshake() {
        assert!(one("permessage-deflate; foo").is_err());
        assert!(one("permessage-deflate; server_max_window_bits").is_err());
        assert!(one("permessage-deflate; server_max_window_bits=16").is_err());
        assert!(one("permessage-deflate; client_max_window_bits=7").is_err());
        assert!(one("permessage-deflate; server_no_context_takeover=1").is_err());
        assert!(one("permessage-deflate; client_max_window_bits; client_max_window_bits").is_err());
        assert!(parse(&[b"permessage-deflate", b"permessage-deflate"]).is_err());
        assert_eq!(one("foo; bar=baz, ,").unwrap(), vec![]);
    }
}
