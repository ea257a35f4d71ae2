//! RFC 8441 §4–5: a request on an HTTP/2 stream, checked for what only HTTP/2 can get
//! wrong, and handed to the WebSocket core as a parsed [`Request`].
//!
//! The core judges one request type for every transport. An extended CONNECT is the
//! upgrade of RFC 6455 in other clothes: `:protocol websocket` stands for `Upgrade:
//! websocket` and `Connection: Upgrade`, `:authority` for `Host`, and
//! `Sec-WebSocket-Key` is not used (RFC 8441 §5). So this layer checks the
//! pseudo-header fields and the CONNECT rules; versions, subprotocols,
//! permessage-deflate, behaviours and every other refusal are judged by the code path
//! every transport shares. Plain requests (`GET /`, `/metrics`) come the same way,
//! without `:protocol`.

use crate::escape::EscapedBytes;
use crate::handshake::HttpStatus;
use crate::http::{Field, Request, Via};

/// A request's pseudo-header fields (RFC 9113 §8.3.1, RFC 8441 §4), as the client sent
/// them.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Pseudo<'a> {
    /// `:method`.
    pub(crate) method: &'a [u8],
    /// `:scheme`.
    pub(crate) scheme: Option<&'a [u8]>,
    /// `:path`.
    pub(crate) path: Option<&'a [u8]>,
    /// `:authority`.
    pub(crate) authority: Option<&'a [u8]>,
    /// `:protocol` (RFC 8441 §4).
    pub(crate) protocol: Option<&'a [u8]>,
}

/// A stream's request that passed HTTP/2's own checks.
#[derive(Debug)]
pub(crate) struct StreamRequest<'a> {
    method: &'a str,
    target: &'a str,
    protocol: Option<&'a [u8]>,
    authority: Option<&'a [u8]>,
    fields: Vec<Field<'a>>,
}

impl StreamRequest<'_> {
    /// The request, for the core to judge.
    pub(crate) fn request(&self) -> Request<'_> {
        Request {
            method: self.method,
            target: self.target,
            fields: &self.fields,
            via: Via::H2 {
                protocol: self.protocol,
                authority: self.authority,
            },
        }
    }
}

/// A request refused for what only HTTP/2 can get wrong: the status and a one-line
/// reason.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Refusal(pub(crate) HttpStatus, pub(crate) String);

/// Reads the request of one stream: its pseudo-header fields, its regular fields
/// (names in lowercase, as RFC 9113 §8.2.1 has them), and whether its HEADERS ended the
/// stream.
pub(crate) fn read<'a>(
    pseudo: &Pseudo<'a>,
    fields: impl Iterator<Item = (&'a [u8], &'a [u8])>,
    end_stream: bool,
) -> Result<StreamRequest<'a>, Refusal> {
    let path = match pseudo.protocol {
        Some(protocol) => extended_connect(pseudo, protocol, end_stream)?,
        None if pseudo.method == b"CONNECT" => {
            return Err(refuse(
                HttpStatus::MethodNotAllowed,
                "a CONNECT without :protocol asks for a tunnel, which wsecho does not serve; \
                 a WebSocket is asked for with :protocol websocket (RFC 8441 §4)",
            ));
        }
        None => plain(pseudo)?,
    };
    // Both checked as tokens or ASCII above, so both are text.
    let (Ok(method), Ok(target)) = (
        std::str::from_utf8(pseudo.method),
        std::str::from_utf8(path),
    ) else {
        return Err(refuse(
            HttpStatus::BadRequest,
            "request target must be ASCII (percent-encode other bytes)",
        ));
    };
    Ok(StreamRequest {
        method,
        target,
        protocol: pseudo.protocol,
        authority: pseudo.authority,
        fields: checked_fields(fields)?,
    })
}

/// The checks of an extended CONNECT; its `:path`.
fn extended_connect<'a>(
    pseudo: &Pseudo<'a>,
    protocol: &[u8],
    end_stream: bool,
) -> Result<&'a [u8], Refusal> {
    // RFC 8441 §4: "A new pseudo-header field :protocol MAY be included on request
    // HEADERS indicating the desired protocol to be spoken on the tunnel created by
    // CONNECT."
    if pseudo.method != b"CONNECT" {
        return Err(refuse(
            HttpStatus::BadRequest,
            format!(
                ":protocol is only allowed with :method CONNECT (RFC 8441 §4), got :method {}",
                shown(pseudo.method)
            ),
        ));
    }
    // RFC 8441 §5: the value is "websocket"; upgrade tokens compare without case
    // (RFC 9110 §7.8), and proxies pass on a client's "WebSocket".
    if !protocol.eq_ignore_ascii_case(b"websocket") {
        return Err(refuse(
            HttpStatus::Asked(501),
            format!(
                "wsecho serves :protocol websocket only (RFC 8441 §5), got :protocol {}",
                shown(protocol)
            ),
        ));
    }
    // RFC 8441 §4: "On requests bearing the :protocol pseudo-header field, the :scheme
    // and :path pseudo-header fields of the target URI MUST also be included."
    let (Some(_), Some(path)) = (pseudo.scheme, pseudo.path) else {
        return Err(refuse(
            HttpStatus::BadRequest,
            "an extended CONNECT must carry :scheme and :path (RFC 8441 §4)",
        ));
    };
    // RFC 9113 §8.5 (to which RFC 8441 §4 defers): CONNECT carries :authority.
    if pseudo.authority.is_none_or(<[u8]>::is_empty) {
        return Err(refuse(
            HttpStatus::BadRequest,
            "an extended CONNECT must carry :authority (RFC 9113 §8.5, RFC 8441 §4)",
        ));
    }
    // RFC 8441 §5: the stream is the WebSocket's byte stream; a request that ended it
    // leaves the client no way to send a single frame.
    if end_stream {
        return Err(refuse(
            HttpStatus::BadRequest,
            "the extended CONNECT ended its stream (END_STREAM): no WebSocket frames could follow",
        ));
    }
    if let Some(code) = asked_success(path) {
        return Err(refuse(
            HttpStatus::BadRequest,
            format!(
                "status={code}: over HTTP/2 a 2xx answer to an extended CONNECT accepts the \
                 WebSocket (RFC 8441 §5, RFC 9110 §9.3.6), so it cannot stand for a refused \
                 upgrade; ask for a status from 300 to 599"
            ),
        ));
    }
    Ok(path)
}

/// The 2xx status the query of `path` asks to be answered with (`?status=2xx`), if it
/// is otherwise a query the core accepts. Over HTTP/1.1 a 2xx instead of 101 is a
/// refused upgrade; to an extended CONNECT it is the acceptance (RFC 8441 §5: "a
/// response with a 2xx status code"), which a client would take as an open WebSocket
/// whose frames are the body. A query the core refuses is left to it, so its error is
/// the one said over every transport.
fn asked_success(path: &[u8]) -> Option<u16> {
    let target = std::str::from_utf8(path).ok()?;
    let query = crate::handshake::behaviour::read(target).ok()?;
    query
        .behaviour?
        .status
        .filter(|code| (200..300).contains(code))
}

/// The checks of a request without `:protocol` (the page, the metrics, the health
/// check, or what the core answers any other request with); its `:path`.
fn plain<'a>(pseudo: &Pseudo<'a>) -> Result<&'a [u8], Refusal> {
    // RFC 9113 §8.3.1: all requests other than CONNECT "MUST include exactly one valid
    // value for the :method, :scheme, and :path pseudo-header fields".
    let Some(path) = pseudo.path.filter(|p| !p.is_empty()) else {
        return Err(refuse(
            HttpStatus::BadRequest,
            "a request without :path (RFC 9113 §8.3.1)",
        ));
    };
    if pseudo.authority.is_none() {
        // Without :authority the core would refuse it for a missing Host, which the
        // client did not send: say what is missing in HTTP/2's terms.
        return Err(refuse(
            HttpStatus::BadRequest,
            "a request without :authority (RFC 9113 §8.3.1: clients SHOULD send it)",
        ));
    }
    if !pseudo.method.iter().all(|&b| crate::http::is_tchar(b)) || pseudo.method.is_empty() {
        return Err(refuse(
            HttpStatus::BadRequest,
            "a :method that is not a token",
        ));
    }
    Ok(path)
}

/// The regular fields, each checked: RFC 9113 §8.2.1 makes a field malformed whose
/// name is not a token or whose value holds CR, LF or NUL.
fn checked_fields<'a>(
    fields: impl Iterator<Item = (&'a [u8], &'a [u8])>,
) -> Result<Vec<Field<'a>>, Refusal> {
    let mut checked = Vec::new();
    for (name, value) in fields {
        if name.is_empty() || !name.iter().all(|&b| crate::http::is_tchar(b)) {
            return Err(refuse(
                HttpStatus::BadRequest,
                format!(
                    "field name {} is not a token (RFC 9113 §8.2.1)",
                    shown(name)
                ),
            ));
        }
        if value.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)) {
            return Err(refuse(
                HttpStatus::BadRequest,
                format!(
                    "the value of {} holds CR, LF or NUL (RFC 9113 §8.2.1)",
                    shown(name)
                ),
            ));
        }
        checked.push(Field { name, value });
    }
    Ok(checked)
}

fn refuse(status: HttpStatus, reason: impl Into<String>) -> Refusal {
    Refusal(status, reason.into())
}

/// A client's bytes in a reason: quoted, escaped, cut at 64 bytes.
fn shown(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(64)];
    format!("\"{}\"", EscapedBytes(cut))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::handshake::{Decision, judge};

    fn websocket<'a>(path: &'a [u8]) -> Pseudo<'a> {
        Pseudo {
            method: b"CONNECT",
            scheme: Some(b"https"),
            path: Some(path),
            authority: Some(b"example.test"),
            protocol: Some(b"websocket"),
        }
    }

    /// What the core decides on the request of a stream with `pseudo` and `fields`.
    fn decided(pseudo: &Pseudo<'_>, fields: &[(&[u8], &[u8])], end_stream: bool) -> Decision {
        match read(pseudo, fields.iter().copied(), end_stream) {
            Ok(request) => judge(&request.request(), &Config::default(), None),
            Err(Refusal(status, reason)) => panic!("refused {status:?}: {reason}"),
        }
    }

    fn reason_of(
        pseudo: &Pseudo<'_>,
        fields: &[(&[u8], &[u8])],
        end_stream: bool,
    ) -> (u16, String) {
        match read(pseudo, fields.iter().copied(), end_stream) {
            Err(Refusal(s, r)) => (s.code(), r),
            Ok(request) => panic!("accepted: {request:?}"),
        }
    }

    const V13: (&[u8], &[u8]) = (b"sec-websocket-version", b"13");

    #[test]
    fn an_extended_connect_is_an_upgrade_the_core_accepts_without_a_key() {
        let fields = [
            V13,
            (
                b"sec-websocket-protocol".as_slice(),
                b"chat, superchat".as_slice(),
            ),
            (b"sec-websocket-extensions", b"permessage-deflate"),
        ];
        let Decision::Upgrade {
            accept,
            subprotocol,
            deflate,
            ..
        } = decided(&websocket(b"/"), &fields, false)
        else {
            panic!("the core did not upgrade");
        };
        // RFC 8441 §5: no Sec-WebSocket-Accept over HTTP/2.
        assert_eq!(accept, None);
        assert_eq!(subprotocol.as_deref(), Some("chat"));
        assert!(deflate.is_some());
        // The query's behaviours reach the core with the path.
        let Decision::Upgrade { behaviour, .. } =
            decided(&websocket(b"/?fragment=2"), &[V13], false)
        else {
            panic!("the core did not upgrade");
        };
        assert_eq!(behaviour.and_then(|b| b.fragment), Some(2));
    }

    #[test]
    fn the_core_still_judges_the_version() {
        match decided(&websocket(b"/"), &[], false) {
            Decision::Reply(reply) => assert_eq!(reply.status.code(), 426),
            other => panic!("expected 426, got {other:?}"),
        }
    }

    #[test]
    fn a_client_key_and_host_are_not_used() {
        let fields = [
            V13,
            (b"sec-websocket-key".as_slice(), b"not base64".as_slice()),
            (b"host", b""),
        ];
        assert!(matches!(
            decided(&websocket(b"/"), &fields, false),
            Decision::Upgrade { accept: None, .. }
        ));
    }

    #[test]
    fn the_fields_of_an_http1_upgrade_on_a_plain_request_are_refused_with_the_way() {
        let p = Pseudo {
            method: b"GET",
            scheme: Some(b"https"),
            path: Some(b"/"),
            authority: Some(b"example.test"),
            protocol: None,
        };
        let Decision::Reply(reply) = decided(&p, &[V13], true) else {
            panic!("not refused");
        };
        assert_eq!(reply.status.code(), 400);
        assert!(reply.body.contains("extended CONNECT"), "{}", reply.body);
    }

    #[test]
    fn protocol_case_is_ignored() {
        let mut p = websocket(b"/");
        p.protocol = Some(b"WebSocket");
        assert!(matches!(
            decided(&p, &[V13], false),
            Decision::Upgrade { .. }
        ));
    }

    #[test]
    fn what_only_http2_gets_wrong_is_refused_with_the_rule() {
        let mut p = websocket(b"/");
        p.protocol = Some(b"chat");
        let (code, why) = reason_of(&p, &[], false);
        assert_eq!(code, 501);
        assert!(why.contains("\"chat\""), "{why}");

        let mut p = websocket(b"/");
        p.method = b"GET";
        let (code, why) = reason_of(&p, &[], false);
        assert_eq!(code, 400);
        assert!(why.contains("only allowed with :method CONNECT"), "{why}");

        let mut p = websocket(b"/");
        p.path = None;
        assert!(reason_of(&p, &[], false).1.contains(":scheme and :path"));

        let mut p = websocket(b"/");
        p.authority = None;
        assert!(reason_of(&p, &[], false).1.contains(":authority"));

        let (code, why) = reason_of(&websocket(b"/"), &[], true);
        assert_eq!(code, 400);
        assert!(why.contains("END_STREAM"), "{why}");

        let p = Pseudo {
            method: b"CONNECT",
            authority: Some(b"example.test:443"),
            ..Pseudo::default()
        };
        let (code, why) = reason_of(&p, &[], false);
        assert_eq!(code, 405);
        assert!(why.contains("tunnel"), "{why}");

        let (code, why) = reason_of(&websocket(b"/caf\xe9"), &[V13], false);
        assert_eq!(code, 400);
        assert!(why.contains("ASCII"), "{why}");
    }

    #[test]
    fn a_2xx_status_asked_for_is_refused_as_it_would_accept_the_websocket() {
        for path in [&b"/?status=200"[..], b"/x?hello=a&status=204"] {
            let (code, why) = reason_of(&websocket(path), &[V13], false);
            assert_eq!(code, 400, "{}", path.escape_ascii());
            assert!(why.contains("accepts the WebSocket"), "{why}");
        }
        // Other statuses are the core's to answer, as over HTTP/1.1, and so is a query
        // the core refuses.
        for path in [
            &b"/?status=300"[..],
            b"/?status=401",
            b"/?status=200&close=1",
        ] {
            match decided(&websocket(path), &[V13], false) {
                Decision::Reply(reply) => assert!(reply.status.code() >= 300),
                other => panic!("{}: {other:?}", path.escape_ascii()),
            }
        }
    }

    #[test]
    fn malformed_fields_are_refused() {
        let fields = [(b"x-a".as_slice(), b"1\r\nUpgrade: no".as_slice())];
        let (code, why) = reason_of(&websocket(b"/"), &fields, false);
        assert_eq!(code, 400);
        assert!(why.contains("CR, LF or NUL"), "{why}");
        let fields = [(b"x a".as_slice(), b"1".as_slice())];
        assert!(
            reason_of(&websocket(b"/"), &fields, false)
                .1
                .contains("not a token")
        );
    }

    #[test]
    fn a_get_of_the_metrics_asks_for_them() {
        let p = Pseudo {
            method: b"GET",
            scheme: Some(b"https"),
            path: Some(b"/metrics"),
            authority: Some(b"example.test"),
            protocol: None,
        };
        let fields = [(b"accept".as_slice(), b"*/*".as_slice())];
        let request = read(&p, fields.iter().copied(), true).expect("read");
        let request = request.request();
        assert_eq!((request.method, request.target), ("GET", "/metrics"));
        assert_eq!(request.fields.len(), 1);
        assert!(matches!(
            judge(&request, &Config::default(), None),
            Decision::Metrics { head: false }
        ));
    }
}
