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
pub(crate) const EXTENSION_NAME: &[u8] = b"permessage-deflate";

const SERVER_NO_CONTEXT_TAKEOVER: &[u8] = b"server_no_context_takeover";
const CLIENT_NO_CONTEXT_TAKEOVER: &[u8] = b"client_no_context_takeover";
const SERVER_MAX_WINDOW_BITS: &[u8] = b"server_max_window_bits";
const CLIENT_MAX_WINDOW_BITS: &[u8] = b"client_max_window_bits";

mod builder;
mod grammar;

use super::{MAX_WINDOW_BITS, MIN_USABLE_WINDOW_BITS};
use grammar::parse_line;

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
    /// always uses 15 (see `Inflater::from_params`).
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
                "ignoring malformed Sec-WebSocket-Extensions value \"{}\"",
                crate::escape::EscapedBytes(line)
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

#[cfg(test)]
mod tests;
