//! Behaviours on request: the query of an upgrade request asks wsecho to do more than
//! echo (close with a given code, answer with an HTTP status, speak first), so a client
//! library can be tried against a server that does what its users' servers do. With no
//! query wsecho is a pure echo server. Every one of wsecho's parameters is validated: a
//! bad value is refused with 400 naming it. Other parameters are an app's own (a token,
//! a room, a cache-buster) and are let pass, except where they are likely a misspelt
//! wsecho parameter (see [`read`]), so that a typo never silently gives a plain echo.

use std::time::Duration;

use crate::escape::Escaped;
use crate::frame::CloseCode;
use crate::http::is_token;
use crate::http::query::decode;

/// How the connection ends, when the request asks it to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// `close=CODE[&reason=TEXT]`: a close frame with this code and reason.
    Close(CloseCode, String),
    /// `abort`: a TCP reset, with no close frame.
    Abort,
}

/// What the request asked for, parsed and validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Behaviour {
    /// `close=CODE[&reason=TEXT]` or `abort`: end the connection right after the
    /// upgrade (after `hello`), or once `end_after` messages are echoed.
    pub end: Option<End>,
    /// `after=N`: the messages echoed before that end (0: at once).
    pub end_after: u64,
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
    /// `ping-between`: a ping goes between those fragments.
    pub ping_between: bool,
    /// `ping=SECONDS[&ping-payload=TEXT]`: ping this often, with this payload (else the
    /// ping's number), and close with 1008 when a ping is not answered by the next.
    pub ping: Option<(Duration, Option<String>)>,
    /// `delay=SECONDS`: hold everything sent in answer to the client this long.
    pub delay: Option<Duration>,
    /// `handshake-delay=SECONDS`: hold the answer to the upgrade request this long.
    pub handshake_delay: Option<Duration>,
    /// `send=BYTES[&count=N]`: send N binary messages of BYTES bytes, as fast as the
    /// client reads them.
    pub send: Option<(usize, u64)>,
    /// `headers`: the first message is the request as wsecho received it.
    pub headers: bool,
    /// That message, JSON, once the handshake is judged.
    pub head_json: Option<String>,
}

/// A request target's query, read: the behaviour it asks for, and the parameters that
/// are not wsecho's, which it let pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Query {
    /// The behaviour asked for; `None` for none (no query, or only `trace` and
    /// parameters that are not wsecho's).
    pub behaviour: Option<Behaviour>,
    /// The names of the parameters that are not wsecho's, ignored, in the order sent
    /// (as sent: not decoded). The client's text: escape it before it reaches a log.
    pub ignored: Vec<String>,
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
        "send that close (or abort) once N messages are echoed instead of at once",
        "?close=1000&after=3",
    ),
    (
        "abort",
        "drop the connection with a TCP reset and no close frame, right after the upgrade (or after=N messages)",
        "?abort&after=1",
    ),
    (
        "status=CODE",
        "answer the upgrade with HTTP status CODE (200-599; over HTTP/2 300-599) and a body, instead of 101",
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
        "ping-between",
        "with fragment=N: a ping goes between the fragments of each echo",
        "?fragment=2&ping-between",
    ),
    (
        "ping=SECONDS",
        "ping every SECONDS (0.001-3600); a ping not answered by a pong with the same data before the next is due closes the connection with 1008",
        "?ping=1",
    ),
    (
        "ping-payload=TEXT",
        "the data of those pings (at most 125 bytes; else the ping's number)",
        "?ping=1&ping-payload=are%20you%20there",
    ),
    (
        "delay=SECONDS",
        "hold everything sent in answer to the client (echoes, pongs, the close reply) SECONDS (0.001-3600), in order; the loop never blocks",
        "?delay=0.5",
    ),
    (
        "handshake-delay=SECONDS",
        "hold the answer to the upgrade request (the 101, or the status=CODE answer) SECONDS (0.001-3600)",
        "?handshake-delay=2",
    ),
    (
        "send=BYTES",
        "send a binary message of BYTES bytes (0 to 16 MiB; letters a-z over and over), as fast as the client reads",
        "?send=1048576&count=100",
    ),
    (
        "count=N",
        "with send=BYTES: send N such messages (N >= 1; 1 if not given)",
        "?send=20&count=1000000",
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
        "the first message is the request as wsecho received it, as JSON text: method, target, version, headers in order, client address, the query parameters ignored",
        "?headers",
    ),
    (
        "trace",
        "trace this connection, when wsecho runs with --trace-on-request",
        "?trace",
    ),
];

/// The query behaviours as `wsecho --help` lists them after the options: each form of
/// [`PARAMETERS`], its description wrapped under it, and its example.
pub fn help_text() -> String {
    const INDENT: &str = "          ";
    const WIDTH: usize = 90;
    let mut out = String::from(
        "Query behaviours:\n  A client asks for one in the upgrade request's query, e.g.\n  \
         ws://127.0.0.1:5050/?close=4000&reason=bye (README: \"Behaviours on request\").\n",
    );
    for (form, what, example) in PARAMETERS {
        out.push_str("\n  ");
        out.push_str(form);
        out.push('\n');
        let mut line = String::from(INDENT);
        for word in what.split(' ') {
            if line.len() > INDENT.len() && line.len() + 1 + word.len() > WIDTH {
                out.push_str(&line);
                out.push('\n');
                line = String::from(INDENT);
            }
            if line.len() > INDENT.len() {
                line.push(' ');
            }
            line.push_str(word);
        }
        out.push_str(&line);
        out.push('\n');
        out.push_str(INDENT);
        out.push_str("e.g. ");
        out.push_str(example);
        out.push('\n');
    }
    out
}

/// wsecho's parameters that look at the connection rather than ask it to behave
/// otherwise: beside them (and them alone) a parameter that is not wsecho's is let pass,
/// so that `?headers&token=x` shows what an app's URL carries.
pub(crate) const OBSERVING: &[&str] = &["headers", "trace"];

/// Most edits (insertions, deletions, substitutions, swaps of two neighbours) between a
/// parameter that is not wsecho's and one of wsecho's for it to be taken as a typo.
const TYPO_EDITS: usize = 2;
/// Names shorter than this are typos at one edit only: two edits would turn common short
/// names of apps into wsecho's (OAuth's `state` and `code` into `status` and `close`).
const SHORT_NAME: usize = 6;

/// The edits within which `name` is taken as a typo of one of wsecho's.
fn typo_edits(name: &str) -> usize {
    if name.len() < SHORT_NAME {
        1
    } else {
        TYPO_EDITS
    }
}

/// Longest close reason: a control frame's 125 bytes less the 2-byte code (§5.5).
const MAX_REASON: usize = 123;
/// Longest ping data: a control frame's payload (§5.5).
const MAX_PING_PAYLOAD: usize = 125;
/// Longest time a behaviour waits: an hour.
const MAX_SECONDS: f64 = 3600.0;
/// Largest message `send=BYTES` sends (each is made a piece at a time as the client
/// reads it, so its size costs no memory).
pub const MAX_SEND: usize = 16 << 20;

/// The behaviour the request target's query asks for (see `read`), without the
/// parameters it let pass.
pub fn parse(target: &str) -> Result<Option<Behaviour>, String> {
    read(target).map(|q| q.behaviour)
}

/// Reads the request target's query: the behaviour it asks for, or an error naming the
/// parameter for anything not understood. A parameter that is not wsecho's is refused
/// when its name is within [`typo_edits`] of one of wsecho's (`clsoe`: "did you
/// mean close?"), or when the query asks for a behaviour (any of wsecho's parameters
/// but the [`OBSERVING`] ones): then every parameter is meant for wsecho. Otherwise it
/// is an app's own, ignored and listed in [`Query::ignored`].
pub(crate) fn read(target: &str) -> Result<Query, String> {
    let Some((_, query)) = target.split_once('?') else {
        return Ok(Query::default());
    };
    let mut unknown: Vec<&str> = Vec::new();
    let mut asking: Option<&str> = None;
    let mut b = Behaviour::default();
    let mut seen: Vec<&str> = Vec::new();
    let mut reason: Option<String> = None;
    let mut after: Option<u64> = None;
    let mut close: Option<CloseCode> = None;
    let mut abort = false;
    let mut ping_payload: Option<String> = None;
    let mut count: Option<u64> = None;
    for param in query.split('&').filter(|p| !p.is_empty()) {
        let (name, raw) = match param.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (param, None),
        };
        if !names().any(|known| known == name) {
            unknown.push(name);
            continue;
        }
        if asking.is_none() && !OBSERVING.contains(&name) {
            asking = Some(name);
        }
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
                close = Some(code);
            }
            "abort" => {
                no_value(name, raw)?;
                abort = true;
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
                no_value(name, raw)?;
                b.headers = true;
            }
            "ping-between" => {
                no_value(name, raw)?;
                b.ping_between = true;
            }
            "ping" => b.ping = Some((seconds(name, &value()?)?, None)),
            "ping-payload" => {
                let v = value()?;
                if v.len() > MAX_PING_PAYLOAD {
                    return Err(format!(
                        "ping-payload: {} bytes, over the {MAX_PING_PAYLOAD} a ping may carry",
                        v.len()
                    ));
                }
                ping_payload = Some(v);
            }
            "delay" => b.delay = Some(seconds(name, &value()?)?),
            "handshake-delay" => b.handshake_delay = Some(seconds(name, &value()?)?),
            "send" => {
                let v = value()?;
                let n = v
                    .parse::<usize>()
                    .ok()
                    .filter(|&n| n <= MAX_SEND)
                    .ok_or_else(|| {
                        format!("send={v}: not a message size from 0 to {MAX_SEND} bytes")
                    })?;
                b.send = Some((n, 1));
            }
            "count" => {
                let v = value()?;
                count =
                    Some(v.parse::<u64>().ok().filter(|&n| n >= 1).ok_or_else(|| {
                        format!("count={v}: not a number of messages (1 or more)")
                    })?);
            }
            // Read by the trace (`--trace-on-request`), whatever its value.
            "trace" => {}
            _ => unreachable_name(name)?,
        }
    }
    for name in &unknown {
        if let Some(near) = nearest(name) {
            return Err(format!(
                "unknown parameter {}; did you mean {near}?",
                Escaped(name)
            ));
        }
    }
    if let (Some(name), Some(asking)) = (unknown.first(), asking) {
        return Err(format!(
            "unknown parameter {} beside {asking}: a query that asks wsecho for a behaviour \
             may hold only wsecho's parameters, so that a misspelt one is never ignored \
             (wsecho knows: {})",
            Escaped(name),
            names().collect::<Vec<_>>().join(", ")
        ));
    }
    let ignored = unknown.into_iter().map(str::to_owned).collect();
    b.end = match (close, abort) {
        (Some(_), true) => return Err("close and abort exclude each other".into()),
        (Some(code), false) => Some(End::Close(code, String::new())),
        (None, true) => Some(End::Abort),
        (None, false) => None,
    };
    match (&mut b.end, reason) {
        (Some(End::Close(_, r)), Some(reason)) => *r = reason,
        (_, Some(_)) => return Err("reason needs close=CODE".into()),
        _ => {}
    }
    match (&b.end, after) {
        (Some(_), Some(n)) => b.end_after = n,
        (None, Some(_)) => return Err("after needs close=CODE or abort".into()),
        _ => {}
    }
    match (&mut b.ping, ping_payload) {
        (Some((_, p)), Some(payload)) => *p = Some(payload),
        (None, Some(_)) => return Err("ping-payload needs ping=SECONDS".into()),
        _ => {}
    }
    match (&mut b.send, count) {
        (Some((_, c)), Some(n)) => *c = n,
        (None, Some(_)) => return Err("count needs send=BYTES".into()),
        _ => {}
    }
    if b.ping_between && b.fragment.is_none() {
        return Err("ping-between needs fragment=N".into());
    }
    let behaviour = (b != Behaviour::default()).then_some(b);
    Ok(Query { behaviour, ignored })
}

/// The names of wsecho's parameters, in [`PARAMETERS`]' order.
fn names() -> impl Iterator<Item = &'static str> {
    PARAMETERS
        .iter()
        .map(|(form, _, _)| form.split_once('=').map_or(*form, |(name, _)| name))
}

/// A name in [`PARAMETERS`] that [`read`] has no arm for: wsecho's mistake, refused
/// rather than ignored (a test reads every name).
fn unreachable_name(name: &str) -> Result<(), String> {
    Err(format!("query parameter {name:?} is listed but not served"))
}

/// The first of wsecho's parameters within [`typo_edits`] of `name`, the closest.
fn nearest(name: &str) -> Option<&'static str> {
    let max = typo_edits(name);
    names()
        .filter_map(|known| {
            edits_within(name.as_bytes(), known.as_bytes(), max).map(|d| (d, known))
        })
        .min_by_key(|&(d, _)| d)
        .map(|(_, known)| known)
}

/// The edit distance between `a` and `b` if it is at most `max`: insertions, deletions,
/// substitutions and swaps of two neighbouring bytes (Damerau-Levenshtein, optimal
/// string alignment), each one edit. Names far apart in length are told apart without
/// the table, so a long name costs no more than a short one.
fn edits_within(a: &[u8], b: &[u8], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    // A cell outside the table: farther than any edit count.
    const FAR: usize = usize::MAX / 2;
    let at = |row: &[usize], j: usize| row.get(j).copied().unwrap_or(FAR);
    // Three rows of the table: two back (for a swap), the last, and this one.
    let mut before: Vec<usize> = vec![FAR; b.len() + 1];
    let mut last: Vec<usize> = (0..=b.len()).collect();
    let mut row: Vec<usize> = Vec::with_capacity(b.len() + 1);
    let mut prev_a = None;
    for (i, &ca) in a.iter().enumerate() {
        row.clear();
        row.push(i + 1);
        let mut prev_b = None;
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            let mut d = (at(&last, j) + cost)
                .min(at(&last, j + 1) + 1)
                .min(at(&row, j) + 1);
            if prev_a == Some(cb) && prev_b == Some(ca) {
                d = d.min(at(&before, j.wrapping_sub(1)) + 1);
            }
            row.push(d);
            prev_b = Some(cb);
        }
        prev_a = Some(ca);
        std::mem::swap(&mut before, &mut last);
        std::mem::swap(&mut last, &mut row);
    }
    let d = at(&last, b.len());
    (d <= max).then_some(d)
}

/// A parameter that takes no value (a bare name, or `name=`).
fn no_value(name: &str, raw: Option<&str>) -> Result<(), String> {
    if raw.is_some_and(|v| !v.is_empty()) {
        return Err(format!("query parameter {name:?} takes no value"));
    }
    Ok(())
}

/// A time in seconds, decimals allowed, from a millisecond to an hour.
fn seconds(name: &str, v: &str) -> Result<Duration, String> {
    v.parse::<f64>()
        .ok()
        .filter(|s| (0.001..=MAX_SECONDS).contains(s))
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("{name}={v}: not a time in seconds from 0.001 to {MAX_SECONDS}"))
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
                end: CloseCode::sendable(4000).map(|c| End::Close(c, "bye now".to_string())),
                status: Some(404),
                hello: Some("héllo world".into()),
                ..Behaviour::default()
            }
        );
    }

    #[test]
    fn the_timed_behaviours_are_parsed() {
        let b = parse("/?abort&after=2&ping=0.5&ping-payload=hi&delay=0.25&handshake-delay=1")
            .unwrap()
            .unwrap();
        assert_eq!(b.end, Some(End::Abort));
        assert_eq!(b.end_after, 2);
        assert_eq!(
            b.ping,
            Some((Duration::from_millis(500), Some("hi".into())))
        );
        assert_eq!(b.delay, Some(Duration::from_millis(250)));
        assert_eq!(b.handshake_delay, Some(Duration::from_secs(1)));
        let b = parse("/?send=20&count=7&fragment=3&ping-between")
            .unwrap()
            .unwrap();
        assert_eq!(b.send, Some((20, 7)));
        assert_eq!((b.fragment, b.ping_between), (Some(3), true));
        assert_eq!(parse("/?send=0").unwrap().unwrap().send, Some((0, 1)));
    }

    #[test]
    fn every_mistake_is_refused_with_the_parameter_named() {
        for (target, words) in [
            (
                "/?clsoe=1000",
                "unknown parameter clsoe; did you mean close?",
            ),
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
            ("/?after=2", "after needs close=CODE or abort"),
            ("/?abort=1", "\"abort\" takes no value"),
            ("/?abort&close=1000", "close and abort exclude each other"),
            ("/?abort&reason=x", "reason needs close=CODE"),
            (
                "/?ping=0",
                "ping=0: not a time in seconds from 0.001 to 3600",
            ),
            ("/?ping=inf", "ping=inf: not a time"),
            ("/?ping=NaN", "ping=NaN: not a time"),
            ("/?delay=3601", "delay=3601: not a time"),
            ("/?handshake-delay=-1", "handshake-delay=-1: not a time"),
            ("/?ping-payload=x", "ping-payload needs ping=SECONDS"),
            ("/?send=16777217", "send=16777217: not a message size"),
            ("/?count=3", "count needs send=BYTES"),
            ("/?send=1&count=0", "count=0: not a number of messages"),
            ("/?ping-between", "ping-between needs fragment=N"),
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
        let unknown = parse("/?close=1000&x").unwrap_err();
        assert!(unknown.starts_with("unknown parameter x beside close: "));
        assert!(unknown.ends_with(
            "(wsecho knows: close, reason, after, abort, status, hello, fragment, ping-between, ping, ping-payload, delay, handshake-delay, send, count, subprotocol, deflate, headers, trace)"
        ));
        let long = format!("/?ping=1&ping-payload={}", "p".repeat(126));
        assert!(
            parse(&long)
                .unwrap_err()
                .contains("126 bytes, over the 125")
        );
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

    #[test]
    fn an_apps_own_parameters_are_let_pass_and_listed() {
        for (target, ignored) in [
            ("/chat?token=abc123&room=7", vec!["token", "room"]),
            ("/?_=1700000000&v=2", vec!["_", "v"]),
            // Given twice, as an app's list may be; values need not decode.
            ("/?tag=a&tag=b&blob=%ff", vec!["tag", "tag", "blob"]),
            ("/?trace&token=x", vec!["token"]),
            // OAuth's names: two edits from `status` and `close`, but short.
            ("/cb?state=xyz&code=abc", vec!["state", "code"]),
        ] {
            assert_eq!(
                read(target),
                Ok(Query {
                    behaviour: None,
                    ignored: ignored.into_iter().map(String::from).collect(),
                }),
                "{target}"
            );
        }
    }

    #[test]
    fn headers_reports_an_apps_parameters_rather_than_refusing_them() {
        let q = read("/?token=x&headers&room=7").unwrap();
        assert!(q.behaviour.is_some_and(|b| b.headers));
        assert_eq!(q.ignored, ["token", "room"]);
    }

    #[test]
    fn a_name_near_one_of_wsechos_is_refused_with_a_suggestion() {
        for (target, words) in [
            (
                "/?clsoe=4000",
                "unknown parameter clsoe; did you mean close?",
            ),
            (
                "/?Close=4000",
                "unknown parameter Close; did you mean close?",
            ),
            (
                "/?token=1&hedaers",
                "unknown parameter hedaers; did you mean headers?",
            ),
            ("/?pingpayload=x", "did you mean ping-payload?"),
            ("/?delya=1", "did you mean delay?"),
            ("/?trcae", "did you mean trace?"),
            // A short name is a typo at one edit.
            ("/?end=1", "did you mean send?"),
            ("/?pong=1", "did you mean ping?"),
            // Next to `headers`, which alone lets an app's parameters pass.
            ("/?headers&sned=1", "did you mean send?"),
        ] {
            let err = parse(target).expect_err(target);
            assert!(err.contains(words), "{target}: {err}");
        }
    }

    #[test]
    fn an_unknown_name_beside_a_behaviour_is_refused() {
        for (target, words) in [
            (
                "/?close=4000&token=x",
                "unknown parameter token beside close",
            ),
            (
                "/?token=x&headers&hello=hi",
                "unknown parameter token beside hello",
            ),
            (
                "/?status=401&room=7",
                "unknown parameter room beside status",
            ),
        ] {
            let err = parse(target).expect_err(target);
            assert!(err.contains(words), "{target}: {err}");
        }
        // Escaped: the name is the client's text.
        let err = parse("/?close=4000&a%0Ab").unwrap_err();
        assert!(err.starts_with("unknown parameter a%0Ab "), "{err}");
        // A quote is printable, kept; a backslash is doubled, so every escape is ours.
        let err = parse("/?close=4000&a\"b\\").unwrap_err();
        assert!(err.starts_with("unknown parameter a\"b\\\\ "), "{err}");
    }

    #[test]
    fn every_listed_name_is_served() {
        for name in names() {
            let err = parse(&format!("/?{name}")).err().unwrap_or_default();
            assert!(!err.contains("not served"), "{name}: {err}");
        }
    }

    /// The converse of [`every_listed_name_is_served`]: every name `read` has an arm for
    /// is listed, so the two lists are one (an arm for an unlisted name could never be
    /// reached: `read` refuses unlisted names before its match).
    #[test]
    fn every_served_name_is_listed() {
        let source = include_str!("behaviour.rs");
        let start = source
            .find("        match name {")
            .expect("read's match on the name");
        let end = start
            + source[start..]
                .find("_ => unreachable_name(name)?")
                .expect("the match's last arm");
        let served: Vec<&str> = source[start..end]
            .lines()
            .filter_map(|line| line.trim().strip_prefix('"'))
            .filter_map(|rest| rest.split_once("\" =>").map(|(name, _)| name))
            .collect();
        let listed: Vec<&str> = names().collect();
        assert_eq!(
            served.len(),
            listed.len(),
            "served {served:?}, listed {listed:?}"
        );
        for name in &served {
            assert!(
                listed.contains(name),
                "{name} is served but not in PARAMETERS"
            );
        }
    }

    #[test]
    fn edits_are_counted_as_damerau_levenshtein() {
        for (a, b, d) in [
            ("close", "close", Some(0)),
            ("clsoe", "close", Some(1)),
            ("clos", "close", Some(1)),
            ("xclose", "close", Some(1)),
            ("cl0se", "close", Some(1)),
            ("lcoes", "close", Some(2)),
            // Optimal string alignment: no edit of a swapped pair (unrestricted
            // Damerau-Levenshtein counts 2).
            ("ca", "abc", None),
            ("ab", "ba", Some(1)),
            ("abcd", "badc", Some(2)),
            ("", "ab", Some(2)),
            ("", "abc", None),
            ("token", "close", None),
            ("room", "ping", None),
            ("abcdefghij", "close", None),
        ] {
            assert_eq!(edits_within(a.as_bytes(), b.as_bytes(), 2), d, "{a} {b}");
            assert_eq!(edits_within(b.as_bytes(), a.as_bytes(), 2), d, "{b} {a}");
        }
    }
}
