//! Subprotocol selection (RFC 6455 §4.2.2 item 5.4, §11.3.4). Without a list of its own
//! the server takes the client's first offer, as an echo would: a client that asks for a
//! subprotocol gets one, and browsers fail a connection whose request named subprotocols
//! when the answer names none. With `--subprotocol` names, the first of them (in the
//! server's order) that the client offers is chosen, and none if it offers none of them.

use crate::http::is_token;

/// The subprotocol to answer with, or a 400 reason naming what is wrong with the offer.
/// `offers` are the values of every Sec-WebSocket-Protocol header line.
pub(super) fn select<'a>(
    offers: impl Iterator<Item = &'a [u8]>,
    accepted: &[String],
) -> Result<Option<&'a str>, String> {
    let mut offered: Vec<&str> = Vec::new();
    let mut present = false;
    for value in offers {
        present = true;
        for item in value.split(|&b| b == b',') {
            let item = item.trim_ascii();
            // RFC 9110 §5.6.1: a recipient accepts and ignores empty list elements.
            if item.is_empty() {
                continue;
            }
            let name = std::str::from_utf8(item)
                .ok()
                .filter(|name| is_token(name))
                .ok_or_else(|| {
                    // §4.1 item 10: the elements "MUST be non-empty strings with characters
                    // in the range U+0021 to U+007E not including separator characters"
                    // (empty ones are list syntax, skipped above).
                    format!(
                        "Sec-WebSocket-Protocol: {:?} is not a subprotocol name (a token: \
                         visible ASCII, no separators)",
                        String::from_utf8_lossy(item)
                    )
                })?;
            offered.push(name);
        }
    }
    // §4.1 item 10: the header lists "one or more" subprotocols (`1#token`): lines that
    // together hold only empty elements offer nothing, which is no valid offer.
    if present && offered.is_empty() {
        return Err(
            "Sec-WebSocket-Protocol is present but names no subprotocol (RFC 6455 \
                    §4.1: one or more names, comma-separated; leave the header out to \
                    offer none)"
                .to_string(),
        );
    }
    // §4.1 item 10: "and MUST all be unique strings". (Sorted: a head full of names must
    // not cost the loop quadratic time.)
    let mut sorted = offered.clone();
    sorted.sort_unstable();
    if let Some(pair) = sorted.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(format!(
            "Sec-WebSocket-Protocol: {:?} is offered twice",
            pair[0]
        ));
    }
    Ok(match accepted {
        [] => offered.first().copied(),
        _ => accepted
            .iter()
            .find_map(|ours| offered.iter().copied().find(|name| name == ours)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(offers: &[&str], accepted: &[&str]) -> Result<Option<String>, String> {
        let accepted: Vec<String> = accepted.iter().map(|s| s.to_string()).collect();
        select(offers.iter().map(|o| o.as_bytes()), &accepted).map(|p| p.map(str::to_owned))
    }

    #[test]
    fn without_a_list_the_first_offer_is_taken() {
        assert_eq!(pick(&[], &[]), Ok(None));
        assert_eq!(pick(&["chat, superchat"], &[]), Ok(Some("chat".into())));
        assert_eq!(
            pick(&["v2.json", "v1.json"], &[]),
            Ok(Some("v2.json".into()))
        );
    }

    #[test]
    fn with_a_list_the_servers_order_decides() {
        let ours = ["mqtt", "chat"];
        assert_eq!(pick(&["chat, mqtt"], &ours), Ok(Some("mqtt".into())));
        assert_eq!(pick(&["chat"], &ours), Ok(Some("chat".into())));
        assert_eq!(pick(&["stomp"], &ours), Ok(None));
        assert_eq!(pick(&[], &ours), Ok(None));
        // Names are compared exactly.
        assert_eq!(pick(&["Chat"], &ours), Ok(None));
    }

    #[test]
    fn malformed_offers_are_named() {
        for bad in [
            "chat, {x}",
            "a b",
            "chat;q=1",
            "caf\u{e9}",
            "\"chat\"",
            "x/y",
        ] {
            let err = pick(&[bad], &[]).expect_err(bad);
            assert!(err.contains("not a subprotocol name"), "{bad}: {err}");
        }
        let err = pick(&["chat", "mqtt, chat"], &[]).unwrap_err();
        assert!(err.contains("\"chat\" is offered twice"), "{err}");
    }

    #[test]
    fn empty_list_elements_are_ignored() {
        assert_eq!(pick(&["", " , chat,,mqtt,"], &[]), Ok(Some("chat".into())));
    }

    #[test]
    fn a_header_with_only_empty_elements_is_refused() {
        for lines in [&[""][..], &[","], &[" , ,", ""]] {
            let err = pick(lines, &[]).expect_err("no name offered");
            assert!(err.contains("names no subprotocol"), "{lines:?}: {err}");
        }
    }
}
