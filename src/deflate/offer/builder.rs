//! One `permessage-deflate` offer's parameters, checked as RFC 7692 §7.1 defines them.

use super::{
    CLIENT_MAX_WINDOW_BITS, CLIENT_NO_CONTEXT_TAKEOVER, MAX_WINDOW_BITS, Offer,
    SERVER_MAX_WINDOW_BITS, SERVER_NO_CONTEXT_TAKEOVER,
};

/// A raw parameter value as it appears on the wire.
#[derive(Debug, Clone, Copy)]
pub(super) enum RawValue<'a> {
    Token(&'a [u8]),
    /// Contents between the quotes, escapes (`\x`) not yet removed.
    Quoted(&'a [u8]),
}

/// Collects the parameters of one `permessage-deflate` element.
#[derive(Default)]
pub(super) struct OfferBuilder {
    offer: Offer,
    /// Set when RFC 7692 §5.1 requires declining this offer.
    invalid: bool,
}

impl OfferBuilder {
    pub(super) fn add(&mut self, name: &[u8], value: Option<RawValue<'_>>) {
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
                "declining permessage-deflate offer: bad parameter \"{}\"",
                crate::escape::EscapedBytes(name)
            );
            self.invalid = true;
        }
    }

    pub(super) fn finish(self) -> Option<Offer> {
        (!self.invalid).then_some(self.offer)
    }
}

/// Parses a `server_max_window_bits` / `client_max_window_bits` value.
///
/// RFC 7692 §7.1.2.1: "This parameter has a decimal integer value without
/// leading zeroes between 8 to 15, inclusive". RFC 6455 §9.1: "When using the
/// quoted-string syntax variant, the value after quoted-string unescaping MUST
/// conform to the 'token' ABNF" — so `"10"` is fine, `"1 0"` is not.
pub(super) fn window_bits(value: RawValue<'_>) -> Option<u8> {
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
