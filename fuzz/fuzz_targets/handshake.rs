//! The opening handshake: `HeadBuffer` fed in chunks the input chooses, then `decide`.
//! Chunking must not matter: the head, the pipelined rest and the decision are the same
//! as for one read. The decision is checked for consistency with the request and its
//! reply for well-formed HTTP.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsecho::fuzzing::config::Config;
use wsecho::fuzzing::deflate::negotiate;
use wsecho::fuzzing::handshake::{Decision, Head, HeadBuffer, accept_value, decide, is_token};
use wsecho_fuzz::output::{Http, split_http};
use wsecho_fuzz::schedule::Schedule;

/// What feeding produced, owned, so two feedings can be compared.
#[derive(Debug, PartialEq, Eq)]
enum Fed {
    Incomplete,
    TooLarge,
    Complete { head: Vec<u8>, rest: Vec<u8> },
}

fn feed(chunks: &[&[u8]], max_len: usize) -> Fed {
    let mut hb = HeadBuffer::default();
    for (i, chunk) in chunks.iter().enumerate() {
        let mut buf = chunk.to_vec();
        match hb.feed(&mut buf, max_len) {
            Head::Incomplete => {}
            Head::TooLarge => return Fed::TooLarge,
            Head::Complete { head, rest } => {
                let mut rest = rest.to_vec();
                rest.extend(chunks[i + 1..].concat());
                return Fed::Complete {
                    head: head.to_vec(),
                    rest,
                };
            }
        }
    }
    Fed::Incomplete
}

/// Just past the first empty line (LF or CRLF ended, RFC 7230 §3.5), if any.
fn blank_line_end(bytes: &[u8]) -> Option<usize> {
    (0..bytes.len()).find_map(|i| match &bytes[i..] {
        [b'\n', b'\n', ..] => Some(i + 2),
        [b'\n', b'\r', b'\n', ..] => Some(i + 3),
        _ => None,
    })
}

/// The value of the single header `name` in `head`, for cross-checking the decision.
/// Lines end at LF (a CR before it is dropped) and the head at the first empty line, as
/// RFC 7230 §3.5 lets a recipient read them — and as the HTTP parser does.
fn header<'a>(head: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let mut found = head
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .skip(1)
        .take_while(|line| !line.is_empty())
        .filter_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            line[..colon]
                .eq_ignore_ascii_case(name.as_bytes())
                .then(|| line[colon + 1..].trim_ascii())
        });
    let first = found.next();
    if found.next().is_some() { None } else { first }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (mut schedule, request) = Schedule::take(rest);
    // A small limit sometimes, so 431 is reachable.
    let max_len = if flags & 1 != 0 { 256 } else { 8192 };
    let chunked = feed(&schedule.chunks(request), max_len);
    let whole = feed(&[request], max_len);
    assert_eq!(chunked, whole, "chunking changed the head");

    let Fed::Complete { head, .. } = &whole else {
        return;
    };
    assert_eq!(
        Some(head.len()),
        blank_line_end(request),
        "head ends at the first blank line"
    );
    assert!(head.len() <= max_len);
    let config = Config::default();
    let decision = decide(head, &config);
    let plain = decide(
        head,
        &Config {
            deflate: None,
            ..Config::default()
        },
    );
    match (&decision, &plain) {
        (
            Decision::Upgrade {
                accept,
                subprotocol,
                deflate,
                behaviour,
            },
            Decision::Upgrade {
                accept: a2,
                subprotocol: s2,
                deflate: None,
                ..
            },
        ) => {
            assert_eq!(accept, a2);
            assert_eq!(subprotocol, s2);
            // A subprotocol the query forced (`?subprotocol=NAME`) is answered as it is.
            let forced = behaviour.as_ref().and_then(|b| b.subprotocol.as_ref());
            if let Some(forced) = forced {
                assert_eq!(subprotocol, forced, "the forced subprotocol");
            }
            // Otherwise the subprotocol chosen is a token the client offered.
            if let Some(name) = subprotocol.as_ref().filter(|_| forced.is_none()) {
                assert!(is_token(name), "chose {name:?}");
                let offered = head
                    .split(|&b| b == b'\n')
                    .filter_map(|line| {
                        let colon = line.iter().position(|&b| b == b':')?;
                        line[..colon]
                            .eq_ignore_ascii_case(b"Sec-WebSocket-Protocol")
                            .then(|| &line[colon + 1..])
                    })
                    .flat_map(|value| value.split(|&b| b == b','))
                    .any(|item| item.trim_ascii() == name.as_bytes());
                assert!(offered, "chose {name:?}, which the client did not offer");
            }
            // The accept value is computed from the request's one key.
            let key = header(head, "Sec-WebSocket-Key").expect("upgraded without one key");
            assert_eq!(accept, &Some(accept_value(key)));
            if let Some(params) = deflate {
                // What we answer must be an offer we would accept with the same result.
                let mut resp = Vec::new();
                params.write_response(&mut resp);
                let again = negotiate([&resp[..]], config.deflate.as_ref().unwrap());
                assert_eq!(
                    again.map(|p| (
                        p.server_no_context_takeover,
                        p.client_no_context_takeover,
                        p.server_max_window_bits,
                        p.client_max_window_bits
                    )),
                    Some((
                        params.server_no_context_takeover,
                        params.client_no_context_takeover,
                        params.server_max_window_bits,
                        params.client_max_window_bits
                    ))
                );
            }
        }
        (Decision::Reply(a), Decision::Reply(b)) => {
            assert_eq!(a, b, "deflate policy changed a refusal");
            let mut out = Vec::new();
            a.write_to(&mut out);
            match split_http(&out) {
                Ok((Http::Refused { status }, _)) => assert_eq!(status, a.status.code()),
                other => panic!("reply does not parse: {other:?}"),
            }
        }
        _ => panic!("deflate policy changed the decision: {decision:?} vs {plain:?}"),
    }
});
