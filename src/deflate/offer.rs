//! `permessage-deflate` negotiation (RFC 7692 §5–7, RFC 6455 §9.1).
//!
//! The client sends zero or more `Sec-WebSocket-Extensions` header fields;
//! each holds a comma-separated list of offers, each offer an extension token
//! followed by `;`-separated parameters. [`negotiate`] returns the parameters
//! of the first acceptable `permessage-deflate` offer, or `None` (answer
//! without the extension: the connection then runs uncompressed).
//!
//! Grammar (RFC 6455 §9.1 with RFC 7230 token / quoted-string / OWS):
//!
//! ```text
//! field-value = [ element ] *( OWS "," OWS [ element ] )   ; empty elements allowed (RFC 7230 §7)
//! element     = token *( OWS ";" OWS param )
//! param       = token [ OWS "=" OWS ( token / quoted-string ) ]
//! ```
//!
//! Error policy (strict, never panics):
//! * A header field line that does not match the grammar contributes **no**
//!   offers at all, not even those before the error: after a syntax error we
//!   cannot know where the broken element ends (a quoted string may hold a
//!   comma), so we don't guess. The other header lines still count.
//! * A well-formed `permessage-deflate` offer with an unknown parameter, a
//!   duplicate parameter, a value on a flag parameter, or a missing / invalid
//!   / out-of-range window value is declined; the next offer is tried
//!   (RFC 7692 §5.1).
//! * Offers of other extensions are ignored (we accept none of them).
//! * Names are matched exactly (case-sensitive), like the registered tokens.

/// The extension token (RFC 7692 §7).
pub const EXTENSION_NAME: &[u8] = b"permessage-deflate";

const SERVER_NO_CONTEXT_TAKEOVER: &[u8] = b"server_no_context_takeover";
const CLIENT_NO_CONTEXT_TAKEOVER: &[u8] = b"client_no_context_takeover";
const SERVER_MAX_WINDOW_BITS: &[u8] = b"server_max_window_bits";
const CLIENT_MAX_WINDOW_BITS: &[u8] = b"client_max_window_bits";

use super::{MAX_WINDOW_BITS, MIN_USABLE_WINDOW_BITS};

/// What the server is willing to do. Out-of-range values are clamped to
/// 9..=15 (never a panic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflatePolicy {
    /// Largest LZ77 window our compressor may use (9..=15, default 15).
    /// Below 15 we tell the client with `server_max_window_bits=N`.
    pub server_max_window_bits: u8,
    /// Largest window we ask the client to compress with (9..=15, default
    /// 15). Only takes effect when the client offered
    /// `client_max_window_bits` (RFC 7692 §7.1.2.2 forbids it otherwise).
    pub client_max_window_bits: u8,
    /// Always use `server_no_context_takeover` (each message compressed from
    /// an empty window: lets the core drop the `Deflater` between messages).
    pub server_no_context_takeover: bool,
    /// Always request `client_no_context_takeover` (lets the core drop the
    /// `Inflater` between messages).
    pub client_no_context_takeover: bool,
}

impl Default for DeflatePolicy {
    fn default() -> Self {
        DeflatePolicy {
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
        }
    }
}

/// The parameters in force for a connection (RFC 7692 "agreed parameters").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateParams {
    /// We start each message we send from an empty window.
    pub server_no_context_takeover: bool,
    /// The client starts each message from an empty window, so we may reset
    /// our inflater after each message.
    pub client_no_context_takeover: bool,
    /// Window our compressor uses (9..=15).
    pub server_max_window_bits: u8,
    /// Largest window the client compresses with (8..=15; 15 when the client
    /// did not offer `client_max_window_bits`). Informational: our inflater
    /// always uses 15 (see [`Inflater::from_params`](super::Inflater::from_params)).
    pub client_max_window_bits: u8,
    /// The client's offer named `server_max_window_bits`, so the response
    /// must state it (RFC 7692 §7.1.2.1).
    pub server_max_window_bits_offered: bool,
}

impl Default for DeflateParams {
    /// Full windows, context takeover both ways: what a bare
    /// `permessage-deflate` offer negotiates under the default policy.
    fn default() -> Self {
        DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
            server_max_window_bits_offered: false,
        }
    }
}

impl DeflateParams {
    /// Window for our [`Deflater`](super::Deflater).
    pub fn deflate_window_bits(&self) -> u8 {
        self.server_max_window_bits
            .clamp(MIN_USABLE_WINDOW_BITS, MAX_WINDOW_BITS)
    }

    /// Appends the `Sec-WebSocket-Extensions` response value, e.g.
    /// `permessage-deflate; server_no_context_takeover; server_max_window_bits=10`
    /// (without the header name or CRLF).
    pub fn write_response(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(EXTENSION_NAME);
        // RFC 7692 §7.1.1.1: "A server accepts an extension negotiation offer
        // that includes the "server_no_context_takeover" extension parameter by
        // including the "server_no_context_takeover" extension parameter in the
        // corresponding extension negotiation response" (and MAY include it
        // unasked).
        if self.server_no_context_takeover {
            out.extend_from_slice(b"; ");
            out.extend_from_slice(SERVER_NO_CONTEXT_TAKEOVER);
        }
        // RFC 7692 §7.1.1.2: "A server MAY include the
        // "client_no_context_takeover" extension parameter in an extension
        // negotiation response." Stating it is what makes it an agreed
        // parameter, which is what allows us to reset our inflater.
        if self.client_no_context_takeover {
            out.extend_from_slice(b"; ");
            out.extend_from_slice(CLIENT_NO_CONTEXT_TAKEOVER);
        }
        // RFC 7692 §7.1.2.1: "A server accepts an extension negotiation offer
        // with this parameter by including the "server_max_window_bits"
        // extension parameter in the extension negotiation response ... with
        // the same or smaller value as the offer." and "A server MAY include
        // the "server_max_window_bits" extension parameter in an extension
        // negotiation response even if the extension negotiation offer being
        // accepted by the response didn't include" it.
        let server_bits = self.deflate_window_bits();
        if self.server_max_window_bits_offered || server_bits < MAX_WINDOW_BITS {
            out.extend_from_slice(b"; ");
            out.extend_from_slice(SERVER_MAX_WINDOW_BITS);
            out.push(b'=');
            push_decimal(out, server_bits);
        }
        // RFC 7692 §7.1.2.2: "A server MUST NOT include the
        // "client_max_window_bits" extension parameter in an extension
        // negotiation response if the extension negotiation offer being
        // accepted by the response doesn't include the "client_max_window_bits"
        // extension parameter." `negotiate` only lowers the value below 15
        // when the client offered the parameter.
        if self.client_max_window_bits < MAX_WINDOW_BITS {
            out.extend_from_slice(b"; ");
            out.extend_from_slice(CLIENT_MAX_WINDOW_BITS);
            out.push(b'=');
            push_decimal(out, self.client_max_window_bits);
        }
    }
}

fn push_decimal(out: &mut Vec<u8>, v: u8) {
    if v >= 10 {
        out.push(b'0' + v / 10);
    }
    out.push(b'0' + v % 10);
}

/// Picks the first acceptable `permessage-deflate` offer among all
/// `Sec-WebSocket-Extensions` header values (in request order) and returns
/// the agreed parameters, or `None` to run without compression.
pub fn negotiate<'a, I>(headers: I, policy: &DeflatePolicy) -> Option<DeflateParams>
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let mut offers = Vec::new();
    for line in headers {
        offers.clear();
        if parse_line(line, &mut offers).is_err() {
            log::debug!(
                "ignoring malformed Sec-WebSocket-Extensions value {:?}",
                String::from_utf8_lossy(line)
            );
            continue;
        }
        for offer in &offers {
            if let Some(params) = accept(offer, policy) {
                return Some(params);
            }
        }
    }
    None
}

/// A syntactically and semantically valid `permessage-deflate` offer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Offer {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    /// `Some(bits)` when offered (the value is mandatory).
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: offered without a value; `Some(Some(bits))`: with one.
    client_max_window_bits: Option<Option<u8>>,
}

/// Applies the server policy to a valid offer.
fn accept(offer: &Offer, policy: &DeflatePolicy) -> Option<DeflateParams> {
    let server_limit = policy
        .server_max_window_bits
        .clamp(MIN_USABLE_WINDOW_BITS, MAX_WINDOW_BITS);
    let client_limit = policy
        .client_max_window_bits
        .clamp(MIN_USABLE_WINDOW_BITS, MAX_WINDOW_BITS);

    let server_max_window_bits = match offer.server_max_window_bits {
        // RFC 7692 §7.1.2.1: the response must carry "the same or smaller
        // value as the offer. Otherwise, the server declines the extension
        // negotiation offer." We cannot compress a raw stream with a window
        // of 256 bytes (8), and answering 9 would break the client's limit.
        Some(offered) if offered < MIN_USABLE_WINDOW_BITS => {
            log::debug!("declining permessage-deflate offer: server_max_window_bits={offered}");
            return None;
        }
        Some(offered) => offered.min(server_limit),
        None => server_limit,
    };

    let client_max_window_bits = match offer.client_max_window_bits {
        // Not offered: the client may use up to 15 and we must not say
        // otherwise (RFC 7692 §7.1.2.2).
        None => MAX_WINDOW_BITS,
        // RFC 7692 §7.1.2.2: "If a received extension negotiation offer has the
        // "client_max_window_bits" extension parameter, the server MAY include
        // the "client_max_window_bits" extension parameter in the corresponding
        // extension negotiation response to the offer."
        Some(None) => client_limit,
        // "... the server may either ignore this value or use this value to
        // avoid allocating an unnecessarily big LZ77 sliding window by
        // including the "client_max_window_bits" extension parameter in the
        // corresponding extension negotiation response to the offer with a
        // value equal to or smaller than the received value." An offered 8 is
        // echoed as 8 (the client said it can), never lowered by us to 8.
        Some(Some(offered)) => offered.min(client_limit),
    };

    Some(DeflateParams {
        server_no_context_takeover: offer.server_no_context_takeover
            || policy.server_no_context_takeover,
        client_no_context_takeover: offer.client_no_context_takeover
            || policy.client_no_context_takeover,
        server_max_window_bits,
        client_max_window_bits,
        server_max_window_bits_offered: offer.server_max_window_bits.is_some(),
    })
}

/// A raw parameter value as it appears on the wire.
#[derive(Debug, Clone, Copy)]
enum RawValue<'a> {
    Token(&'a [u8]),
    /// Contents between the quotes, escapes (`\x`) not yet removed.
    Quoted(&'a [u8]),
}

/// Collects the parameters of one `permessage-deflate` element.
#[derive(Default)]
struct OfferBuilder {
    offer: Offer,
    /// Set when RFC 7692 §5.1 requires declining this offer.
    invalid: bool,
}

impl OfferBuilder {
    fn add(&mut self, name: &[u8], value: Option<RawValue<'_>>) {
        if self.invalid {
            return;
        }
        let o = &mut self.offer;
        // RFC 7692 §5.1: "A server MUST decline an extension negotiation offer
        // for this extension if any of the following conditions are met:
        // o The negotiation offer contains an extension parameter not defined
        //   for use in an offer.
        // o The negotiation offer contains an extension parameter with an
        //   invalid value.
        // o The negotiation offer contains multiple extension parameters with
        //   the same name."
        let ok = match name {
            // §7.1.1.1 / §7.1.1.2: "This extension parameter has no value."
            SERVER_NO_CONTEXT_TAKEOVER => {
                let fresh = !o.server_no_context_takeover;
                o.server_no_context_takeover = true;
                fresh && value.is_none()
            }
            CLIENT_NO_CONTEXT_TAKEOVER => {
                let fresh = !o.client_no_context_takeover;
                o.client_no_context_takeover = true;
                fresh && value.is_none()
            }
            // §7.1.2.1: a value is required.
            SERVER_MAX_WINDOW_BITS => {
                let fresh = o.server_max_window_bits.is_none();
                match value.and_then(window_bits) {
                    Some(bits) if fresh => {
                        o.server_max_window_bits = Some(bits);
                        true
                    }
                    _ => false,
                }
            }
            // §7.1.2.2: "This parameter has no value or a decimal integer
            // value ..."
            CLIENT_MAX_WINDOW_BITS => {
                let fresh = o.client_max_window_bits.is_none();
                match value {
                    None if fresh => {
                        o.client_max_window_bits = Some(None);
                        true
                    }
                    Some(v) if fresh => match window_bits(v) {
                        Some(bits) => {
                            o.client_max_window_bits = Some(Some(bits));
                            true
                        }
                        None => false,
                    },
                    _ => false,
                }
            }
            _ => false,
        };
        if !ok {
            log::debug!(
                "declining permessage-deflate offer: bad parameter {:?}",
                String::from_utf8_lossy(name)
            );
            self.invalid = true;
        }
    }

    fn finish(self) -> Option<Offer> {
        (!self.invalid).then_some(self.offer)
    }
}

/// Parses a `server_max_window_bits` / `client_max_window_bits` value.
///
/// RFC 7692 §7.1.2.1: "This parameter has a decimal integer value without
/// leading zeroes between 8 to 15, inclusive". RFC 6455 §9.1: "When using the
/// quoted-string syntax variant, the value after quoted-string unescaping MUST
/// conform to the 'token' ABNF" — so `"10"` is fine, `"1 0"` is not.
fn window_bits(value: RawValue<'_>) -> Option<u8> {
    let mut digits = [0u8; 2];
    let mut len = 0usize;
    let mut push = |b: u8| -> Option<()> {
        let slot = digits.get_mut(len)?;
        *slot = b;
        len += 1;
        Some(())
    };
    match value {
        RawValue::Token(t) => {
            for &b in t {
                push(b)?;
            }
        }
        RawValue::Quoted(q) => {
            let mut escaped = false;
            for &b in q {
                if !escaped && b == b'\\' {
                    escaped = true;
                    continue;
                }
                escaped = false;
                push(b)?;
            }
        }
    }
    let digits = digits.get(..len)?;
    // No leading zero: this also rejects "0" and "08".
    match digits {
        [d @ b'1'..=b'9'] => Some(d - b'0'),
        [b'1', d @ b'0'..=b'9'] => Some(10 + (d - b'0')),
        _ => None,
    }
    .filter(|bits| (8..=MAX_WINDOW_BITS).contains(bits))
}

/// RFC 7230 §3.2.6 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// RFC 7230 §3.2.6 `qdtext` (obs-text included).
fn is_qdtext(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21 | 0x23..=0x5b | 0x5d..=0x7e | 0x80..=0xff)
}

/// RFC 7230 §3.2.6: `quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )`.
fn is_quoted_pair_char(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21..=0x7e | 0x80..=0xff)
}

struct SyntaxError;

struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    fn bump(&mut self) {
        self.rest = self.rest.get(1..).unwrap_or_default();
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.bump();
        }
    }

    fn token(&mut self) -> Result<&'a [u8], SyntaxError> {
        let len = self.rest.iter().take_while(|&&b| is_tchar(b)).count();
        if len == 0 {
            return Err(SyntaxError);
        }
        let (tok, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(tok)
    }

    /// Parses a quoted-string, the cursor being on the opening quote;
    /// returns the contents between the quotes (escapes kept).
    fn quoted(&mut self) -> Result<&'a [u8], SyntaxError> {
        let start = self.rest.get(1..).ok_or(SyntaxError)?;
        let mut i = 0;
        loop {
            match start.get(i).copied() {
                Some(b'"') => {
                    let inner = start.get(..i).ok_or(SyntaxError)?;
                    self.rest = start.get(i + 1..).ok_or(SyntaxError)?;
                    return Ok(inner);
                }
                Some(b'\\') => match start.get(i + 1) {
                    Some(&c) if is_quoted_pair_char(c) => i += 2,
                    _ => return Err(SyntaxError),
                },
                Some(c) if is_qdtext(c) => i += 1,
                _ => return Err(SyntaxError),
            }
        }
    }
}

/// Parses one header field value, pushing every valid `permessage-deflate`
/// offer (in order). On a syntax error the caller discards `offers`.
fn parse_line(line: &[u8], offers: &mut Vec<Offer>) -> Result<(), SyntaxError> {
    let mut c = Cursor { rest: line };
    c.skip_ows();
    loop {
        // Empty list elements (", ,") are allowed: RFC 7230 §7 "a recipient
        // MUST accept empty list elements".
        if c.eat(b',') {
            c.skip_ows();
            continue;
        }
        if c.peek().is_none() {
            return Ok(());
        }
        let name = c.token()?;
        let mut builder = (name == EXTENSION_NAME).then(OfferBuilder::default);
        c.skip_ows();
        while c.eat(b';') {
            c.skip_ows();
            let param = c.token()?;
            c.skip_ows();
            let value = if c.eat(b'=') {
                c.skip_ows();
                Some(if c.peek() == Some(b'"') {
                    RawValue::Quoted(c.quoted()?)
                } else {
                    RawValue::Token(c.token()?)
                })
            } else {
                None
            };
            c.skip_ows();
            if let Some(b) = builder.as_mut() {
                b.add(param, value);
            }
        }
        if let Some(offer) = builder.and_then(OfferBuilder::finish) {
            offers.push(offer);
        }
        match c.peek() {
            None => return Ok(()),
            Some(b',') => {
                c.bump();
                c.skip_ows();
            }
            Some(_) => return Err(SyntaxError),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn neg(headers: &[&str]) -> Option<DeflateParams> {
        neg_with(headers, &DeflatePolicy::default())
    }

    fn neg_with(headers: &[&str], policy: &DeflatePolicy) -> Option<DeflateParams> {
        negotiate(headers.iter().map(|h| h.as_bytes()), policy)
    }

    fn response(p: &DeflateParams) -> String {
        let mut out = Vec::new();
        p.write_response(&mut out);
        String::from_utf8(out).expect("ascii")
    }

    fn neg_response(headers: &[&str]) -> Option<String> {
        neg(headers).map(|p| response(&p))
    }

    #[test]
    fn bare_offer() {
        let p = neg(&["permessage-deflate"]).expect("accepted");
        assert_eq!(p, DeflateParams::default());
        assert_eq!(response(&p), "permessage-deflate");
    }

    #[test]
    fn no_header_or_no_offer() {
        assert_eq!(neg(&[]), None);
        assert_eq!(neg(&[""]), None);
        assert_eq!(neg(&["   "]), None);
        assert_eq!(neg(&["x-webkit-deflate-frame"]), None);
        assert_eq!(neg(&["foo; bar=1, baz"]), None);
    }

    #[test]
    fn browser_default_offer() {
        // What Chrome and Firefox send.
        let p = neg(&["permessage-deflate; client_max_window_bits"]).expect("accepted");
        assert_eq!(p, DeflateParams::default());
        assert_eq!(response(&p), "permessage-deflate");
        // With a policy limit we state the client window.
        let policy = DeflatePolicy {
            client_max_window_bits: 10,
            ..DeflatePolicy::default()
        };
        let p = neg_with(&["permessage-deflate; client_max_window_bits"], &policy).expect("ok");
        assert_eq!(p.client_max_window_bits, 10);
        assert_eq!(
            response(&p),
            "permessage-deflate; client_max_window_bits=10"
        );
    }

    #[test]
    fn client_window_not_offered_is_never_answered() {
        let policy = DeflatePolicy {
            client_max_window_bits: 9,
            ..DeflatePolicy::default()
        };
        let p = neg_with(&["permessage-deflate"], &policy).expect("accepted");
        assert_eq!(p.client_max_window_bits, 15);
        assert_eq!(response(&p), "permessage-deflate");
    }

    #[test]
    fn client_window_value() {
        let p = neg(&["permessage-deflate; client_max_window_bits=12"]).expect("ok");
        assert_eq!(p.client_max_window_bits, 12);
        assert_eq!(
            response(&p),
            "permessage-deflate; client_max_window_bits=12"
        );
        let policy = DeflatePolicy {
            client_max_window_bits: 10,
            ..DeflatePolicy::default()
        };
        let p = neg_with(&["permessage-deflate; client_max_window_bits=12"], &policy).unwrap();
        assert_eq!(p.client_max_window_bits, 10);
        let p = neg_with(&["permessage-deflate; client_max_window_bits=9"], &policy).unwrap();
        assert_eq!(p.client_max_window_bits, 9);
        let p = neg(&["permessage-deflate; client_max_window_bits=15"]).unwrap();
        assert_eq!(response(&p), "permessage-deflate");
    }

    #[test]
    fn client_window_8_is_echoed() {
        let p = neg(&["permessage-deflate; client_max_window_bits=8"]).expect("ok");
        assert_eq!(p.client_max_window_bits, 8);
        assert_eq!(response(&p), "permessage-deflate; client_max_window_bits=8");
    }

    #[test]
    fn server_window() {
        let p = neg(&["permessage-deflate; server_max_window_bits=10"]).expect("ok");
        assert_eq!(p.server_max_window_bits, 10);
        assert_eq!(p.deflate_window_bits(), 10);
        assert_eq!(
            response(&p),
            "permessage-deflate; server_max_window_bits=10"
        );
        // Offered 15: must still be stated when accepting.
        let p = neg(&["permessage-deflate; server_max_window_bits=15"]).expect("ok");
        assert_eq!(
            response(&p),
            "permessage-deflate; server_max_window_bits=15"
        );
        // Our own limit, stated unasked.
        let policy = DeflatePolicy {
            server_max_window_bits: 11,
            ..DeflatePolicy::default()
        };
        let p = neg_with(&["permessage-deflate"], &policy).expect("ok");
        assert_eq!(
            response(&p),
            "permessage-deflate; server_max_window_bits=11"
        );
        let p = neg_with(&["permessage-deflate; server_max_window_bits=13"], &policy).unwrap();
        assert_eq!(p.server_max_window_bits, 11);
        let p = neg_with(&["permessage-deflate; server_max_window_bits=9"], &policy).unwrap();
        assert_eq!(p.server_max_window_bits, 9);
    }

    #[test]
    fn server_window_8_declined_never_answered_with_9() {
        assert_eq!(neg(&["permessage-deflate; server_max_window_bits=8"]), None);
        // ... and the next offer is used instead.
        let p = neg(&[
            "permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits=9",
        ])
        .expect("second offer");
        assert_eq!(p.server_max_window_bits, 9);
    }

    #[test]
    fn policy_is_clamped() {
        let policy = DeflatePolicy {
            server_max_window_bits: 3,
            client_max_window_bits: 200,
            ..DeflatePolicy::default()
        };
        let p = neg_with(&["permessage-deflate; client_max_window_bits"], &policy).unwrap();
        assert_eq!(p.server_max_window_bits, 9);
        assert_eq!(p.client_max_window_bits, 15);
        let policy = DeflatePolicy {
            client_max_window_bits: 8,
            ..DeflatePolicy::default()
        };
        let p = neg_with(&["permessage-deflate; client_max_window_bits"], &policy).unwrap();
        assert_eq!(p.client_max_window_bits, 9, "we never ask for 8");
    }

    #[test]
    fn context_takeover_flags() {
        let p = neg(&["permessage-deflate; server_no_context_takeover"]).unwrap();
        assert!(p.server_no_context_takeover && !p.client_no_context_takeover);
        assert_eq!(
            response(&p),
            "permessage-deflate; server_no_context_takeover"
        );
        let p = neg(&["permessage-deflate; client_no_context_takeover"]).unwrap();
        assert!(!p.server_no_context_takeover && p.client_no_context_takeover);
        assert_eq!(
            response(&p),
            "permessage-deflate; client_no_context_takeover"
        );
        let policy = DeflatePolicy {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            ..DeflatePolicy::default()
        };
        let p = neg_with(&["permessage-deflate"], &policy).unwrap();
        assert_eq!(
            response(&p),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        );
    }

    #[test]
    fn everything_at_once() {
        let p = neg(&[
            "permessage-deflate; client_no_context_takeover; client_max_window_bits=10; \
             server_no_context_takeover; server_max_window_bits=12",
        ])
        .unwrap();
        assert_eq!(
            p,
            DeflateParams {
                server_no_context_takeover: true,
                client_no_context_takeover: true,
                server_max_window_bits: 12,
                client_max_window_bits: 10,
                server_max_window_bits_offered: true,
            }
        );
        assert_eq!(
            response(&p),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=12; client_max_window_bits=10"
        );
    }

    #[test]
    fn autobahn_13_7() {
        let h = "permessage-deflate; client_no_context_takeover; client_max_window_bits; \
                 server_no_context_takeover; server_max_window_bits=9, permessage-deflate; \
                 client_no_context_takeover; client_max_window_bits; server_no_context_takeover, \
                 permessage-deflate; client_no_context_takeover; client_max_window_bits";
        let p = neg(&[h]).unwrap();
        assert_eq!(
            p,
            DeflateParams {
                server_no_context_takeover: true,
                client_no_context_takeover: true,
                server_max_window_bits: 9,
                client_max_window_bits: 15,
                server_max_window_bits_offered: true,
            }
        );
        assert_eq!(
            response(&p),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=9"
        );
        // Autobahn 13.x with server_max_window_bits=8 first: falls through.
        let h8 = h.replace("server_max_window_bits=9", "server_max_window_bits=8");
        let p = neg(&[h8.as_str()]).unwrap();
        assert_eq!(p.server_max_window_bits, 15);
        assert!(p.server_no_context_takeover && !p.server_max_window_bits_offered);
    }

    #[test]
    fn malformed_params_decline_that_offer_only() {
        let bad = [
            // duplicates
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
            "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
            "permessage-deflate; client_max_window_bits; client_max_window_bits",
            "permessage-deflate; client_max_window_bits=10; client_max_window_bits",
            // unknown
            "permessage-deflate; foo",
            "permessage-deflate; client_max_window_bits; x=1",
            "permessage-deflate; Server_No_Context_Takeover",
            // flags with values
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; client_no_context_takeover=\"\"",
            "permessage-deflate; client_no_context_takeover=true",
            // value missing
            "permessage-deflate; server_max_window_bits",
            // bad values
            "permessage-deflate; server_max_window_bits=0",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=08",
            "permessage-deflate; server_max_window_bits=015",
            "permessage-deflate; server_max_window_bits=abc",
            "permessage-deflate; server_max_window_bits=1a",
            "permessage-deflate; server_max_window_bits=\"\"",
            "permessage-deflate; server_max_window_bits=\"1 0\"",
            "permessage-deflate; server_max_window_bits=\" 10\"",
            "permessage-deflate; server_max_window_bits=+9",
            "permessage-deflate; server_max_window_bits=99999999999999999999",
            "permessage-deflate; client_max_window_bits=0",
            "permessage-deflate; client_max_window_bits=16",
            "permessage-deflate; client_max_window_bits=08",
            "permessage-deflate; client_max_window_bits=abc",
            "permessage-deflate; client_max_window_bits=\"\"",
            "permessage-deflate; client_max_window_bits=\"1 0\"",
        ];
        for b in bad {
            assert_eq!(neg(&[b]), None, "{b}");
            // The next offer in the same header is still considered.
            let two = format!("{b}, permessage-deflate; server_max_window_bits=11");
            let p = neg(&[two.as_str()]).unwrap_or_else(|| panic!("fallback for {b}"));
            assert_eq!(p.server_max_window_bits, 11, "{b}");
            // And so is the next header.
            let p = neg(&[b, "permessage-deflate; server_max_window_bits=12"])
                .unwrap_or_else(|| panic!("next header for {b}"));
            assert_eq!(p.server_max_window_bits, 12, "{b}");
        }
    }

    #[test]
    fn syntax_errors_discard_the_whole_line() {
        let broken = [
            "permessage-deflate; server_max_window_bits=",
            "permessage-deflate; =10",
            "permessage-deflate;",
            "permessage-deflate; server_max_window_bits=\"10",
            "permessage-deflate server_no_context_takeover",
            "permessage-deflate; server_max_window_bits=1 0",
            "permessage-deflate; a=b=c",
            "permessage-deflate; \"x\"",
            "permessage-deflate, ;",
            "; permessage-deflate",
            "permessage-deflate; client_max_window_bits=\"1\\\"",
            "permessage-deflate; server_max_window_bits=10\u{1}",
            "permessage-deflate; x=\"\u{7f}\"",
            "permessage-déflate",
            "permessage-deflate; x=(10)",
            "permessage-deflate; x=a/b",
        ];
        for b in broken {
            assert_eq!(neg(&[b]), None, "{b}");
            // Offers before the error on the same line are discarded too.
            let line = format!("permessage-deflate; server_max_window_bits=11, {b}");
            assert_eq!(neg(&[line.as_str()]), None, "{line}");
            // Other lines still count.
            let p = neg(&[b, "permessage-deflate; server_max_window_bits=12"])
                .unwrap_or_else(|| panic!("next header for {b}"));
            assert_eq!(p.server_max_window_bits, 12);
        }
    }

    #[test]
    fn quoted_values() {
        let p = neg(&["permessage-deflate; server_max_window_bits=\"10\""]).unwrap();
        assert_eq!(p.server_max_window_bits, 10);
        let p = neg(&["permessage-deflate; client_max_window_bits=\"9\""]).unwrap();
        assert_eq!(p.client_max_window_bits, 9);
        // quoted-pair unescaping: "\1\2" is 12.
        let p = neg(&["permessage-deflate; server_max_window_bits=\"\\1\\2\""]).unwrap();
        assert_eq!(p.server_max_window_bits, 12);
        // A comma or semicolon inside an (ignored) quoted value is not a separator.
        let p = neg(&["foo; bar=\"a, permessage-deflate; b\", permessage-deflate"]).unwrap();
        assert_eq!(p, DeflateParams::default());
        assert_eq!(
            neg(&["foo; bar=\"a, permessage-deflate; b\""]),
            None,
            "quoted text is not an offer"
        );
    }

    #[test]
    fn whitespace() {
        let p = neg(&[
            " \t permessage-deflate \t;\tserver_max_window_bits = 10 ;client_no_context_takeover\t ",
        ])
        .unwrap();
        assert_eq!(p.server_max_window_bits, 10);
        assert!(p.client_no_context_takeover);
        let p = neg(&["permessage-deflate;server_max_window_bits=\"11\";client_max_window_bits"])
            .unwrap();
        assert_eq!(p.server_max_window_bits, 11);
    }

    #[test]
    fn empty_list_elements() {
        let p = neg(&[", ,permessage-deflate; server_max_window_bits=10 , ,"]).unwrap();
        assert_eq!(p.server_max_window_bits, 10);
        assert_eq!(neg(&[",,,"]), None);
    }

    #[test]
    fn other_extensions_mixed_in() {
        let p = neg(&[
            "x-webkit-deflate-frame; no_context_takeover, foo; a=\"b\"; c, \
             permessage-deflate; server_max_window_bits=13, bar",
        ])
        .unwrap();
        assert_eq!(p.server_max_window_bits, 13);
        // Same-name parameters on other extensions are not our business.
        let p = neg(&["foo; server_max_window_bits=99; x; x, permessage-deflate"]).unwrap();
        assert_eq!(p, DeflateParams::default());
    }

    #[test]
    fn multiple_headers_first_acceptable_wins() {
        let p = neg(&[
            "foo",
            "permessage-deflate; server_max_window_bits=8",
            "permessage-deflate; server_max_window_bits=10, permessage-deflate",
            "permessage-deflate; server_max_window_bits=12",
        ])
        .unwrap();
        assert_eq!(p.server_max_window_bits, 10);
    }

    #[test]
    fn name_is_exact() {
        assert_eq!(neg(&["Permessage-Deflate"]), None);
        assert_eq!(neg(&["permessage-deflatex"]), None);
        assert_eq!(neg(&["permessage"]), None);
    }

    #[test]
    fn response_round_trips_through_the_parser() {
        // Our answer is itself a well-formed element with valid parameters.
        for h in [
            "permessage-deflate",
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
            "permessage-deflate; server_max_window_bits=9; client_max_window_bits=8",
            "permessage-deflate; client_max_window_bits=10",
        ] {
            let p = neg(&[h]).unwrap();
            let r = neg_response(&[h]).unwrap();
            let back = neg(&[r.as_str()]).unwrap();
            assert_eq!(
                back.server_no_context_takeover,
                p.server_no_context_takeover
            );
            assert_eq!(
                back.client_no_context_takeover,
                p.client_no_context_takeover
            );
            assert_eq!(back.server_max_window_bits, p.server_max_window_bits);
            assert_eq!(back.client_max_window_bits, p.client_max_window_bits);
        }
    }

    #[test]
    fn window_bits_values() {
        for v in 8..=15u8 {
            let s = v.to_string();
            assert_eq!(window_bits(RawValue::Token(s.as_bytes())), Some(v));
            assert_eq!(window_bits(RawValue::Quoted(s.as_bytes())), Some(v));
        }
        for bad in ["", "0", "1", "7", "16", "08", "010", "a", "\\9"] {
            assert_eq!(window_bits(RawValue::Token(bad.as_bytes())), None, "{bad}");
        }
        assert_eq!(window_bits(RawValue::Quoted(b"\\9")), Some(9));
    }

    /// Deterministic pseudo-random generator for the no-panic test.
    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn never_panics_on_garbage() {
        let alphabet: &[u8] =
            b"permessage-deflate;,=\" \t\\server_max_window_bits0189client_no\x00\xff";
        let mut s = 0x1234_5678_9abc_def0u64;
        for _ in 0..20_000 {
            let len = (xorshift(&mut s) % 64) as usize;
            let line: Vec<u8> = (0..len)
                .map(|_| alphabet[(xorshift(&mut s) % alphabet.len() as u64) as usize])
                .collect();
            let _ = negotiate([line.as_slice()], &DeflatePolicy::default());
            let mut prefixed = b"permessage-deflate; ".to_vec();
            prefixed.extend_from_slice(&line);
            if let Some(p) = negotiate([prefixed.as_slice()], &DeflatePolicy::default()) {
                assert!((9..=15).contains(&p.server_max_window_bits));
                assert!((8..=15).contains(&p.client_max_window_bits));
                let mut out = Vec::new();
                p.write_response(&mut out);
                assert!(negotiate([out.as_slice()], &DeflatePolicy::default()).is_some());
            }
        }
    }
}
