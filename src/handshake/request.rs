//! Judging a complete HTTP request head against RFC 6455 §4.2.1 ("Reading the Client's
//! Opening Handshake"): either the upgrade is accepted or the client is told, in an
//! HTTP status and a one-line body, what its request got wrong.

use super::HttpStatus;
use super::accept::{accept_value, is_valid_key};
use super::behaviour::{self, Behaviour};
use super::page::landing_page;
use super::subprotocol;
use crate::escape::Escaped;
use crate::http::{Field, HttpReply, Request, Via, has_token};
use std::net::SocketAddr;

use crate::config::Config;
use crate::deflate::{DeflateParams, negotiate};
use crate::json;

/// Most headers a request may carry; more is answered with 431.
const MAX_HEADERS: usize = 64;

/// What to do with a request.
#[derive(Debug)]
pub enum Decision {
    /// Answer 101: the accept value, the subprotocol chosen and the permessage-deflate
    /// parameters agreed, if any.
    Upgrade {
        /// `Sec-WebSocket-Accept` (§4.2.2 item 5.4); over HTTP/2 none (RFC 8441 §5).
        accept: Option<[u8; 28]>,
        /// The subprotocol chosen, if any.
        subprotocol: Option<String>,
        /// The permessage-deflate parameters agreed, if any.
        deflate: Option<DeflateParams>,
        /// What the request's query asked for beyond the echo.
        behaviour: Option<Box<Behaviour>>,
    },
    /// Answer with this response and close the connection.
    Reply(HttpReply),
    /// Answer with this response, held this long first (`?status=CODE` with
    /// `?handshake-delay=SECONDS`), and close the connection.
    DelayedReply(HttpReply, std::time::Duration),
    /// Answer 101 and run a path of the client suite (a case, or a driver command).
    Suite {
        /// `Sec-WebSocket-Accept` (§4.2.2 item 5.4); over HTTP/2 none (RFC 8441 §5).
        accept: Option<[u8; 28]>,
        /// What the driver asked for.
        command: Box<crate::suite::request::Command>,
        /// The client's permessage-deflate offers, as Autobahn reads them (the case
        /// decides which to accept).
        offers: Vec<crate::suite::offer::Offer>,
    },
    /// `GET /metrics`: the server's metrics, which only the driver knows, are asked for
    /// (`head`: by a HEAD request, which gets the headers only).
    Metrics {
        /// A HEAD request.
        head: bool,
    },
}

/// The path the metrics are served at.
pub(crate) const METRICS_PATH: &str = "/metrics";
/// The path of the health check: 200 `ok` while the server runs.
pub(super) const HEALTH_PATH: &str = "/healthz";

/// Judges the HTTP/1.1 request head `head` (which ends with the blank line).
pub fn decide(head: &[u8], config: &Config) -> Decision {
    decide_for(head, config, None)
}

/// [`decide`], for a client at `peer` (which the `headers` behaviour reports).
pub(crate) fn decide_for(head: &[u8], config: &Config, peer: Option<SocketAddr>) -> Decision {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return bad("incomplete HTTP request head"),
        Err(httparse::Error::TooManyHeaders) => {
            return Decision::Reply(HttpReply::error(
                HttpStatus::RequestHeaderFieldsTooLarge,
                format!("more than {MAX_HEADERS} header fields\n"),
            ));
        }
        Err(e) => return bad(format!("malformed HTTP request: {e}")),
    }
    let mut fields = [Field::EMPTY; MAX_HEADERS];
    for (field, h) in fields.iter_mut().zip(req.headers.iter()) {
        *field = Field {
            name: h.name.as_bytes(),
            value: h.value,
        };
    }
    let request = Request {
        method: req.method.unwrap_or_default(),
        target: req.path.unwrap_or_default(),
        fields: &fields[..req.headers.len()],
        via: Via::H1 {
            minor: req.version.unwrap_or_default(),
        },
    };
    judge(&request, config, peer)
}

/// Judges a parsed request, whichever transport it came on: the rules of RFC 6455
/// §4.2.1 over HTTP/1.1, those of RFC 8441 §5 over HTTP/2 (where the stream's own rules,
/// `:protocol` and the CONNECT, were checked by its layer).
pub(crate) fn judge(req: &Request<'_>, config: &Config, peer: Option<SocketAddr>) -> Decision {
    let h2_protocol = match req.via {
        // §4.2.1 item 1: "An HTTP/1.1 or higher GET request".
        Via::H1 { minor } if minor < 1 => {
            return bad("a WebSocket handshake needs HTTP/1.1 or later");
        }
        Via::H1 { .. } => None,
        Via::H2 { protocol, .. } => protocol,
    };
    // HEAD is served too, for the plain pages (what health checks send), and refused
    // below for a handshake. RFC 8441 §4: over HTTP/2 the upgrade is a CONNECT with
    // :protocol (its layer checked the pairing).
    let head = req.method == "HEAD";
    if h2_protocol.is_none() && req.method != "GET" && !head {
        return not_get();
    }
    if let Err(why) = check_target(req.target) {
        return bad(why);
    }
    // §4.2.1 item 2: "A |Host| header field containing the server's authority." Over
    // HTTP/2, :authority stands for it (RFC 9113 §8.3.1).
    let host = match req.via {
        Via::H1 { .. } => req.one("Host"),
        Via::H2 { authority, .. } => Ok(authority),
    };
    match host {
        Ok(Some(host)) if !host.is_empty() => {}
        Ok(_) => return bad("missing Host header"),
        Err(e) => return bad(e),
    }

    // A body would be read as WebSocket frames: refuse it rather than let a proxy and
    // this server disagree on where the request ends.
    let has_body = req.all("Transfer-Encoding").next().is_some()
        || req.all("Content-Length").any(|v| v.trim_ascii() != b"0");
    if has_body {
        return bad("a WebSocket handshake request must not have a body");
    }

    let asks_to_upgrade = h2_protocol.is_some()
        || req.all("Upgrade").next().is_some()
        || req.all("Sec-WebSocket-Key").next().is_some()
        || req.all("Sec-WebSocket-Version").next().is_some()
        || req.all("Connection").any(|v| has_token(v, "upgrade"));
    if !asks_to_upgrade {
        // Not a WebSocket client at all (a browser, curl, a health check).
        return plain(req.target, head, config);
    }
    if head {
        return not_get();
    }
    match req.via {
        Via::H1 { .. } => {
            if let Err(refusal) = h1_upgrade(req) {
                return refusal;
            }
        }
        Via::H2 { .. } if h2_protocol.is_none() => {
            return bad(
                "a WebSocket over HTTP/2 is asked for with an extended CONNECT \
                 (:method CONNECT, :protocol websocket; RFC 8441 §4), not with the \
                 fields of an HTTP/1.1 upgrade",
            );
        }
        Via::H2 { .. } => {}
    }
    // §4.2.1 item 6: version 13; otherwise §4.4: answer with the versions we speak
    // (RFC 8441 §5 keeps the field).
    match req.one("Sec-WebSocket-Version") {
        Ok(Some(b"13")) => {}
        Ok(v) => {
            let got = v.map_or("missing".to_string(), |v| {
                format!("\"{}\"", String::from_utf8_lossy(v))
            });
            // RFC 9110 §15.5.22: a 426 "MUST send an Upgrade header field".
            return Decision::Reply(HttpReply {
                offers_upgrade: true,
                extra: &[("Sec-WebSocket-Version", "13")],
                ..HttpReply::error(
                    HttpStatus::UpgradeRequired,
                    format!("Sec-WebSocket-Version must be 13 (got {got})\n"),
                )
            });
        }
        Err(e) => return bad(e),
    }
    let accept = match req.via {
        // §4.2.1 item 5: "A |Sec-WebSocket-Key| header field with a base64-encoded
        // value that, when decoded, is 16 bytes in length."
        Via::H1 { .. } => match req.one("Sec-WebSocket-Key") {
            Ok(Some(key)) if is_valid_key(key) => Some(accept_value(key)),
            Ok(Some(_)) => return bad("Sec-WebSocket-Key must be base64 of 16 bytes"),
            Ok(None) => return bad("missing Sec-WebSocket-Key header"),
            Err(e) => return bad(e),
        },
        // RFC 8441 §5: "The Sec-WebSocket-Key and Sec-WebSocket-Accept header fields
        // are not used".
        Via::H2 { .. } => None,
    };
    // The client suite's paths (Autobahn's fuzzing server): its own rules from here.
    let target = req.target;
    if crate::suite::request::is_suite_path(target) {
        // Autobahn's `processHandshake`, whatever the path: two extension headers fail
        // the handshake first, then the path (its `onConnect`), then an offer it cannot
        // parse.
        let extensions: Vec<&[u8]> = req.all("Sec-WebSocket-Extensions").collect();
        if extensions.len() > 1 {
            return bad(crate::suite::offer::REPEATED);
        }
        let command = match crate::suite::request::parse(target, &config.suite) {
            Err(why) => return bad(why),
            Ok(command) => command,
        };
        let offers = match crate::suite::offer::parse(&extensions) {
            Ok(offers) => offers,
            Err(why) => return bad(why),
        };
        return match crate::suite::session::unavailable(&command) {
            Some(why) => Decision::Reply(HttpReply::error(HttpStatus::NotImplemented, why)),
            None => Decision::Suite {
                accept,
                command: Box::new(command),
                offers,
            },
        };
    }
    let mut subprotocol =
        match subprotocol::select(req.all("Sec-WebSocket-Protocol"), &config.subprotocols) {
            Ok(chosen) => chosen.map(str::to_owned),
            Err(e) => return bad(e),
        };
    let mut deflate = config
        .deflate
        .as_ref()
        .and_then(|policy| negotiate(req.all("Sec-WebSocket-Extensions"), policy));
    // Behaviours on request: judged last, so that a request that is no valid handshake
    // is told that first.
    let (mut behaviour, ignored) = match behaviour::read(target) {
        Ok(query) => (query.behaviour, query.ignored),
        Err(e) => return bad(e),
    };
    if !ignored.is_empty() {
        log::debug!(
            "{}: query parameters not wsecho's, ignored: {}",
            peer.map_or_else(|| "client".to_string(), |p| p.to_string()),
            ignored
                .iter()
                .map(|name| Escaped(name).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if let Some(b) = &mut behaviour {
        if b.headers {
            b.head_json = Some(head_json(req, peer, &ignored));
        }
        if let Some(forced) = &b.subprotocol {
            subprotocol = forced.clone();
        }
        if b.deflate_off {
            deflate = None;
        }
    }
    if let Some(b) = &behaviour
        && let Some(code) = b.status
    {
        let reply = HttpReply::error(
            HttpStatus::Asked(code),
            format!("status {code}, as the request asked (?status={code})\n"),
        );
        return match b.handshake_delay {
            Some(delay) => Decision::DelayedReply(reply, delay),
            None => Decision::Reply(reply),
        };
    }
    Decision::Upgrade {
        accept,
        subprotocol,
        deflate,
        behaviour: behaviour.map(Box::new),
    }
}

/// HTTP/1.1's own fields of the upgrade (§4.2.1 items 3 and 4), which HTTP/2 replaces
/// with its extended CONNECT.
fn h1_upgrade(req: &Request<'_>) -> Result<(), Decision> {
    // §4.2.1 item 3: "An |Upgrade| header field containing the value "websocket",
    // treated as an ASCII case-insensitive value."
    if !req.all("Upgrade").any(|v| has_token(v, "websocket")) {
        return Err(bad("Upgrade header must contain \"websocket\""));
    }
    // §4.2.1 item 4: "A |Connection| header field that includes the token "Upgrade"".
    if !req.all("Connection").any(|v| has_token(v, "upgrade")) {
        return Err(bad("Connection header must contain the token \"Upgrade\""));
    }
    Ok(())
}

/// 405 for a handshake by another method than GET.
fn not_get() -> Decision {
    Decision::Reply(HttpReply {
        extra: &[("Allow", "GET, HEAD")],
        ..HttpReply::error(
            HttpStatus::MethodNotAllowed,
            "a WebSocket handshake must use the GET method (HEAD is served for the plain pages)\n",
        )
    })
}

/// A plain request (no upgrade asked for) for `target`: the landing page at `/`, the
/// metrics, the health check, the suite's reports and its in-browser driver, 404
/// elsewhere; `head` for a HEAD request.
fn plain(target: &str, head: bool, config: &Config) -> Decision {
    let path = target.split_once('?').map_or(target, |(p, _)| p);
    let reply = match path {
        METRICS_PATH => return Decision::Metrics { head },
        p if let Some(reply) = crate::suite::reports::serve(p, &config.suite) => reply,
        // The client suite run by the browser that asks.
        crate::suite::page::PATH => crate::suite::page::suite_page(),
        // Say what this server is.
        "/" => landing_page(),
        HEALTH_PATH => HttpReply::error(HttpStatus::Ok, "ok\n"),
        _ => HttpReply::error(
            HttpStatus::NotFound,
            format!(
                "nothing at {path}: wsecho serves / (what it is), {HEALTH_PATH}, \
                 {METRICS_PATH}, {} (the client suite in a browser) and {} (its \
                 reports); WebSocket clients upgrade on any path\n",
                crate::suite::page::PATH,
                crate::suite::reports::PREFIX
            ),
        ),
    };
    Decision::Reply(HttpReply {
        head_only: head,
        ..reply
    })
}

/// §4.2.1 item 1: the Request-URI is "a /resource name/ [...] (or an absolute
/// HTTP/HTTPS URI containing the /resource name/)"; §3: "Fragment identifiers are
/// meaningless in the context of WebSocket URIs and MUST NOT be used".
fn check_target(target: &str) -> Result<(), &'static str> {
    let scheme = |s: &str| {
        target
            .get(..s.len())
            .is_some_and(|t| t.eq_ignore_ascii_case(s))
    };
    if !(target.starts_with('/') || scheme("http://") || scheme("https://")) {
        return Err("request target must be a path (/...) or an absolute http(s) URI");
    }
    if target.contains('#') {
        return Err("request target must not have a fragment (#...)");
    }
    if !target.is_ascii() {
        return Err("request target must be ASCII (percent-encode other bytes)");
    }
    Ok(())
}

/// The request as wsecho received it, as JSON: method, target, version, the header
/// lines in order (values that are not UTF-8 shown lossily), the client's address, and
/// the query parameters wsecho let pass as not its own.
fn head_json(req: &Request<'_>, peer: Option<SocketAddr>, ignored: &[String]) -> String {
    let mut out = String::from("{\"method\":");
    json::string(&mut out, req.method);
    out.push_str(",\"target\":");
    json::string(&mut out, req.target);
    out.push_str(",\"version\":");
    json::string(&mut out, req.version());
    out.push_str(",\"headers\":[");
    // Over HTTP/2 the pseudo-header fields that are no method or target come first, as
    // on the wire (RFC 9113 §8.3).
    let pseudo = match req.via {
        Via::H1 { .. } => [None, None],
        Via::H2 {
            protocol,
            authority,
        } => [
            protocol.map(|p| (&b":protocol"[..], p)),
            authority.map(|a| (&b":authority"[..], a)),
        ],
    };
    let fields = pseudo
        .into_iter()
        .flatten()
        .chain(req.fields.iter().map(|f| (f.name, f.value)));
    for (i, (name, value)) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        json::string(&mut out, &String::from_utf8_lossy(name));
        out.push(',');
        json::string(&mut out, &String::from_utf8_lossy(value));
        out.push(']');
    }
    out.push_str("],\"client\":");
    match peer {
        Some(addr) => json::string(&mut out, &addr.to_string()),
        None => out.push_str("null"),
    }
    out.push_str(",\"ignored\":[");
    for (i, name) in ignored.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json::string(&mut out, name);
    }
    out.push_str("]}");
    out
}

fn bad(why: impl Into<String>) -> Decision {
    let mut body = why.into();
    body.push('\n');
    Decision::Reply(HttpReply::error(HttpStatus::BadRequest, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn request(lines: &[&str]) -> Vec<u8> {
        let mut s = String::new();
        for l in lines {
            s.push_str(l);
            s.push_str("\r\n");
        }
        s.push_str("\r\n");
        s.into_bytes()
    }

    fn valid_lines() -> Vec<String> {
        vec![
            "GET /chat HTTP/1.1".into(),
            "Host: server.example.com".into(),
            "Upgrade: websocket".into(),
            "Connection: Upgrade".into(),
            format!("Sec-WebSocket-Key: {KEY}"),
            "Sec-WebSocket-Version: 13".into(),
        ]
    }

    fn decide_lines(lines: &[String], config: &Config) -> Decision {
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        decide(&request(&refs), config)
    }

    fn status_of(lines: &[String]) -> u16 {
        match decide_lines(
            lines,
            &Config {
                deflate: None,
                ..Config::default()
            },
        ) {
            Decision::Upgrade { .. } | Decision::Suite { .. } => 101,
            Decision::Reply(r) | Decision::DelayedReply(r, _) => r.status.code(),
            // The metrics are answered by the driver, with 200.
            Decision::Metrics { .. } => 200,
        }
    }

    fn without(name: &str) -> Vec<String> {
        valid_lines()
            .into_iter()
            .filter(|l| !l.starts_with(name))
            .collect()
    }

    fn with(prefix: &str, replacement: &str) -> Vec<String> {
        valid_lines()
            .into_iter()
            .map(|l| {
                if l.starts_with(prefix) {
                    replacement.to_string()
                } else {
                    l
                }
            })
            .collect()
    }

    #[test]
    fn rfc_example_request_is_upgraded() {
        match decide_lines(&valid_lines(), &Config::default()) {
            Decision::Upgrade {
                accept,
                subprotocol,
                deflate,
                ..
            } => {
                assert_eq!(accept.as_ref(), Some(b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
                assert!(subprotocol.is_none());
                assert!(deflate.is_none());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn header_names_and_tokens_are_case_insensitive() {
        let mut lines = with("Upgrade", "upgrade: WebSocket");
        lines = lines
            .into_iter()
            .map(|l| {
                if l.starts_with("Connection") {
                    "connection: keep-alive, UPGRADE".into()
                } else {
                    l
                }
            })
            .collect();
        assert_eq!(status_of(&lines), 101);
    }

    #[test]
    fn each_missing_or_wrong_field_gets_its_status() {
        assert_eq!(status_of(&without("Host")), 400);
        assert_eq!(status_of(&with("Upgrade", "Upgrade: h2c")), 400);
        assert_eq!(status_of(&without("Connection")), 400);
        assert_eq!(
            status_of(&with("Connection", "Connection: keep-alive")),
            400
        );
        assert_eq!(status_of(&without("Sec-WebSocket-Key")), 400);
        assert_eq!(
            status_of(&with("Sec-WebSocket-Key", "Sec-WebSocket-Key: c2hvcnQ=")),
            400
        );
        assert_eq!(
            status_of(&with("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8")),
            426
        );
        assert_eq!(status_of(&without("Sec-WebSocket-Version")), 426);
        assert_eq!(status_of(&with("GET", "POST /chat HTTP/1.1")), 405);
        assert_eq!(status_of(&with("GET", "GET /chat HTTP/1.0")), 400);
        let mut dup = valid_lines();
        dup.push(format!("Sec-WebSocket-Key: {KEY}"));
        assert_eq!(status_of(&dup), 400);
    }

    #[test]
    fn a_request_with_a_body_is_refused() {
        let mut lines = valid_lines();
        lines.push("Content-Length: 5".into());
        assert_eq!(status_of(&lines), 400);
        let mut lines = valid_lines();
        lines.push("Transfer-Encoding: chunked".into());
        assert_eq!(status_of(&lines), 400);
        let mut lines = valid_lines();
        lines.push("Content-Length: 0".into());
        assert_eq!(status_of(&lines), 101);
    }

    #[test]
    fn get_metrics_asks_for_the_metrics_and_an_upgrade_to_it_does_not() {
        let config = Config::default();
        let get = |target: &str| {
            let line = format!("GET {target} HTTP/1.1");
            decide(&request(&[line.as_str(), "Host: x"]), &config)
        };
        assert!(matches!(get("/metrics"), Decision::Metrics { head: false }));
        assert!(matches!(
            get("/metrics?x=1"),
            Decision::Metrics { head: false }
        ));
        assert!(matches!(get("/metricsx"), Decision::Reply(_)));
        assert!(matches!(get("/"), Decision::Reply(_)));
        // A WebSocket client that asks for /metrics gets a WebSocket.
        let lines = with("GET ", "GET /metrics HTTP/1.1");
        assert_eq!(status_of(&lines), 101);
    }

    #[test]
    fn plain_get_gets_the_landing_page() {
        let lines: Vec<String> = vec!["GET / HTTP/1.1".into(), "Host: x".into()];
        assert_eq!(status_of(&lines), 200);
        // A WebSocket client that forgot Upgrade and the key is told so, not served a page.
        for sign in [
            "Connection: keep-alive, Upgrade",
            "Sec-WebSocket-Version: 13",
        ] {
            let lines: Vec<String> = vec!["GET / HTTP/1.1".into(), "Host: x".into(), sign.into()];
            assert_eq!(status_of(&lines), 400, "{sign}");
        }
    }

    #[test]
    fn plain_get_of_suite_gets_the_in_browser_driver_with_its_query() {
        let lines: Vec<String> = vec![
            "GET /suite?agent=x&cases=1-3 HTTP/1.1".into(),
            "Host: x".into(),
        ];
        let Decision::Reply(reply) = decide_lines(&lines, &Config::default()) else {
            panic!("no page");
        };
        assert_eq!(reply.status.code(), 200);
        assert!(reply.body.contains("/runCase"));
        // A WebSocket upgrade on /suite is no suite path: it echoes.
        let lines = with("GET ", "GET /suite HTTP/1.1");
        assert_eq!(status_of(&lines), 101);
    }

    #[test]
    fn the_request_target_is_a_path_or_an_absolute_http_uri_without_fragment() {
        for ok in [
            "/",
            "/chat?trace",
            "http://server.example.com/chat",
            "HTTPS://h/",
        ] {
            assert_eq!(
                status_of(&with("GET", &format!("GET {ok} HTTP/1.1"))),
                101,
                "{ok}"
            );
        }
        for bad in ["chat", "*", "ws://h/x", "/chat#frag", "/caf\u{e9}"] {
            let line = format!("GET {bad} HTTP/1.1");
            assert_eq!(status_of(&with("GET", &line)), 400, "{bad}");
        }
    }

    #[test]
    fn too_many_headers_is_431() {
        let mut lines = valid_lines();
        for i in 0..MAX_HEADERS {
            lines.push(format!("X-Filler-{i}: y"));
        }
        assert_eq!(status_of(&lines), 431);
    }

    #[test]
    fn version_426_names_the_supported_version() {
        match decide_lines(
            &with("Sec-WebSocket-Version", "Sec-WebSocket-Version: 7"),
            &Config::default(),
        ) {
            Decision::Reply(r) => {
                assert_eq!(r.extra, [("Sec-WebSocket-Version", "13")]);
                // RFC 9110 §15.5.22 and §7.8: Upgrade, and "upgrade" in Connection.
                let mut bytes = Vec::new();
                r.write_to(&mut bytes);
                let text = String::from_utf8(bytes).unwrap();
                assert!(text.contains("\r\nUpgrade: websocket\r\n"), "{text}");
                assert!(
                    text.contains("\r\nConnection: Upgrade, close\r\n"),
                    "{text}"
                );
            }
            other => panic!("{other:?}"),
        }
    }
}
