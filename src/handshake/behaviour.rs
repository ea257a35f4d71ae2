//! Behaviours on request: the query of an upgrade request asks wsecho to do more than
//! echo (close with a given code, answer with an HTTP status, speak first), so a client
//! library can be tried against a server that does what its users' servers do. With no
//! query wsecho is a pure echo server. Every parameter is validated: an unknown one or a
//! bad value is refused with 400 naming it, so that a typo never silently gives a plain
//! echo.

use super::token::is_token;
use crate::frame::CloseCode;

/// What the request asked for, parsed and validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Behaviour {
    /// `close=CODE[&reason=TEXT]`: close with this code and reason right after the
    /// upgrade (after `hello`), or once `close_after` messages are echoed.
    pub close: Option<(CloseCode, String)>,
    /// `after=N`: the messages echoed before the close (0: at once).
    pub close_after: u64,
    /// `status=CODE`: answer the upgrade request with this HTTP status instead of 101.
    pub status: Option<u16>,
    /// `hello=TEXT`: a text message wsecho sends first, right after the upgrade.
    pub hello: Option<String>,
    /// `subprotocol=NAME`: the subprotocol to answer with whatever the client offered
    /// (`Some(None)`, from `subprotocol=` with no name: answer with none).
    pub subprotocol: Option<Option<String>>,
    /// `deflate=off`: do not agree permessage-deflate, even when it is offered.
    pub deflate_off: bool,
    /// `fragment=N`: echo each message in fragments of at most N bytes.
    pub fragment: Option<usize>,
    /// `headers`: the first message is the request as wsecho received it.
    pub headers: bool,
    /// That message, JSON, once the handshake is judged.
    pub head_json: Option<String>,
}

/// Every parameter: its form, what it does, and an example query. The error for an
/// unknown parameter, the landing page and the README's table (checked by a test) are
/// made from this list.
pub const PARAMETERS: &[(&str, &str, &str)] = &[
    (
        "close=CODE",
        "close with CODE (one an endpoint may send: 1000-1003, 1007-1014, 3000-4999) right after the upgrade",
        "?close=4000",
    ),
    (
        "reason=TEXT",
        "the reason of that close (UTF-8, at most 123 bytes)",
        "?close=4000&reason=bye",
    ),
    (
        "after=N",
        "send that close once N messages are echoed instead of at once",
        "?close=1000&after=3",
    ),
    (
        "status=CODE",
        "answer the upgrade with HTTP status CODE (200-599) and a body, instead of 101",
        "?status=401",
    ),
    (
        "hello=TEXT",
        "send TEXT as a text message first, right after the upgrade",
        "?hello=hi%20there",
    ),
    (
        "fragment=N",
        "echo each message in fragments of at most N bytes (N >= 1; permessage-deflate is then not agreed)",
        "?fragment=3",
    ),
    (
        "subprotocol=NAME",
        "answer with subprotocol NAME whatever the client offered (a client must then fail the connection if it did not offer it); empty: answer with none",
        "?subprotocol=chat",
    ),
    (
        "deflate=off",
        "do not agree permessage-deflate, even when the client offers it",
        "?deflate=off",
    ),
    (
        "headers",
        "the first message is the request as wsecho received it, as JSON text: method, target, version, headers in order, client address",
        "?headers",
    ),
    (
        "trace",
        "trace this connection, when wsecho runs with --trace-on-request",
        "?trace",
    ),
];

/// Longest close reason: a control frame's 125 bytes less the 2-byte code (§5.5).
const MAX_REASON: usize = 123;

/// The behaviour the request target's query asks for: `None` for no query (or one with
/// only `trace`), an error naming the parameter for anything not understood.
pub fn parse(target: &str) -> Result<Option<Behaviour>, String> {
    let Some((_, query)) = target.split_once('?') else {
        return Ok(None);
    };
    let mut b = Behaviour::default();
    let mut seen: Vec<&str> = Vec::new();
    let mut reason: Option<String> = None;
    let mut after: Option<u64> = None;
    for param in query.split('&').filter(|p| !p.is_empty()) {
        let (name, raw) = match param.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (param, None),
        };
        if seen.contains(&name) {
            return Err(format!("query parameter {name:?} is given twice"));
        }
        seen.push(name);
        let value = || -> Result<String, String> {
            let raw = raw.ok_or_else(|| format!("query parameter {name:?} needs a value"))?;
            decode(raw).map_err(|e| format!("query parameter {name:?}: {e}"))
        };
        match name {
            "close" => {
                let v = value()?;
                let code = v
                    .parse::<u16>()
                    .ok()
                    .and_then(CloseCode::sendable)
                    .ok_or_else(|| {
                        format!(
                            "close={v}: not a close code an endpoint may send \
                             (1000-1003, 1007-1014, 3000-4999)"
                        )
                    })?;
                b.close = Some((code, String::new()));
            }
            "reason" => {
                let v = value()?;
                if v.len() > MAX_REASON {
                    return Err(format!(
                        "reason: {} bytes, over the {MAX_REASON} a close reason may hold",
                        v.len()
                    ));
                }
                reason = Some(v);
            }
            "after" => {
                let v = value()?;
                after = Some(
                    v.parse::<u64>()
                        .map_err(|_| format!("after={v}: not a number of messages"))?,
                );
            }
            "status" => {
                let v = value()?;
                let code = v
                    .parse::<u16>()
                    .ok()
                    .filter(|c| (200..=599).contains(c))
                    .ok_or_else(|| format!("status={v}: not an HTTP status from 200 to 599"))?;
                b.status = Some(code);
            }
            "hello" => b.hello = Some(value()?),
            "fragment" => {
                let v = value()?;
                let n = v.parse::<u32>().ok().filter(|&n| n >= 1).ok_or_else(|| {
                    format!("fragment={v}: not a fragment size of 1 byte or more")
                })?;
                b.fragment = Some(n as usize);
                // A compressed message's echo is recompressed in frames of its own.
                b.deflate_off = true;
            }
            "subprotocol" => {
                let v = value()?;
                if !v.is_empty() && !is_token(&v) {
                    return Err(format!(
                        "subprotocol={v}: not a subprotocol name (a token: visible ASCII, \
                         no separators)"
                    ));
                }
                b.subprotocol = Some((!v.is_empty()).then_some(v));
            }
            "deflate" => {
                let v = value()?;
                if v != "off" {
                    return Err(format!("deflate={v}: the one value is \"off\""));
                }
                b.deflate_off = true;
            }
            "headers" => {
                if raw.is_some_and(|v| !v.is_empty()) {
                    return Err("query parameter \"headers\" takes no value".into());
                }
                b.headers = true;
            }
            // Read by the trace (`--trace-on-request`), whatever its value.
            "trace" => {}
            _ => {
                let known: Vec<&str> = PARAMETERS
                    .iter()
                    .map(|(form, _, _)| form.split('=').next().unwrap_or(form))
                    .collect();
                return Err(format!(
                    "unknown query parameter {name:?} (wsecho knows: {})",
                    known.join(", ")
                ));
            }
        }
    }
    match (&mut b.close, reason) {
        (Some((_, r)), Some(reason)) => *r = reason,
        (None, Some(_)) => return Err("reason needs close=CODE".into()),
        _ => {}
    }
    match (&b.close, after) {
        (Some(_), Some(n)) => b.close_after = n,
        (None, Some(_)) => return Err("after needs close=CODE".into()),
        _ => {}
    }
    if b == Behaviour::default() {
        return Ok(None);
    }
    Ok(Some(b))
}

/// A query value with its percent-escapes (and `+` for a space, as HTML forms and
/// `URLSearchParams` write it) decoded; it must then be UTF-8.
fn decode(raw: &str) -> Result<String, String> {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut rest = raw.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        match b {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex = rest
                    .get(..2)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or("a % not followed by two hex digits")?;
                bytes.push(hex);
                rest = &rest[2..];
            }
            _ => bytes.push(b),
        }
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8 once decoded".to_string())
}

/// The behaviours as HTML list items, each with its example as a link (for the landing
/// page).
pub(super) fn html_list() -> String {
    PARAMETERS
        .iter()
        .map(|(form, what, example)| {
            let example = example.replace('&', "&amp;");
            format!(
                "<li><code>{form}</code>: {what}, e.g. <code>ws://this-host/{example}</code></li>\n"
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_query_or_only_trace_is_a_plain_echo() {
        for target in ["/", "/chat", "/?", "/?trace", "/?&&trace=1&"] {
            assert_eq!(parse(target), Ok(None), "{target}");
        }
    }

    #[test]
    fn each_parameter_is_parsed_and_decoded() {
        let b = parse("/?close=4000&reason=bye%20now&hello=h%C3%A9llo+world&status=404")
            .unwrap()
            .unwrap();
        assert_eq!(
            b,
            Behaviour {
                close: CloseCode::sendable(4000).map(|c| (c, "bye now".to_string())),
                status: Some(404),
                hello: Some("héllo world".into()),
                ..Behaviour::default()
            }
        );
    }

    #[test]
    fn every_mistake_is_refused_with_the_parameter_named() {
        for (target, words) in [
            ("/?clsoe=1000", "unknown query parameter \"clsoe\""),
            ("/?close=1005", "close=1005: not a close code"),
            ("/?close=999", "close=999"),
            ("/?close=abc", "close=abc"),
            ("/?close", "\"close\" needs a value"),
            ("/?reason=x", "reason needs close=CODE"),
            (
                "/?status=101",
                "status=101: not an HTTP status from 200 to 599",
            ),
            ("/?status=600", "status=600"),
            ("/?hello=%ff", "\"hello\": not UTF-8"),
            (
                "/?hello=%4",
                "\"hello\": a % not followed by two hex digits",
            ),
            ("/?close=1000&close=1001", "\"close\" is given twice"),
            ("/?after=2", "after needs close=CODE"),
            ("/?fragment=0", "fragment=0: not a fragment size"),
            (
                "/?close=1000&after=-1",
                "after=-1: not a number of messages",
            ),
        ] {
            let err = parse(target).expect_err(target);
            assert!(err.contains(words), "{target}: {err}");
        }
        let long = format!("/?close=1000&reason={}", "r".repeat(124));
        assert!(parse(&long).unwrap_err().contains("124 bytes"));
        let unknown = parse("/?x").unwrap_err();
        assert!(unknown.ends_with(
            "(wsecho knows: close, reason, after, status, hello, fragment, subprotocol, deflate, headers, trace)"
        ));
        let forced = parse("/?subprotocol=chat&deflate=off").unwrap().unwrap();
        assert_eq!(forced.subprotocol, Some(Some("chat".to_string())));
        assert!(forced.deflate_off);
        let none = parse("/?subprotocol=").unwrap().unwrap();
        assert_eq!(none.subprotocol, Some(None));
        for (target, words) in [
            (
                "/?subprotocol=a,b",
                "subprotocol=a,b: not a subprotocol name",
            ),
            ("/?deflate=on", "deflate=on: the one value is \"off\""),
        ] {
            assert!(parse(target).unwrap_err().contains(words), "{target}");
        }
    }
}
