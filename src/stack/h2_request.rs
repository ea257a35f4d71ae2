//! RFC 8441 §4–5: a request on an HTTP/2 stream, presented to the WebSocket core as the
//! HTTP/1.1 request it stands for.
//!
//! The core judges one grammar, HTTP/1.1's (RFC 6455 §4.2.1), and speaks its answers in
//! it. An extended CONNECT is that same upgrade in other clothes: `:protocol websocket`
//! stands for `Upgrade: websocket` and `Connection: Upgrade`, `:authority` for `Host`,
//! and `Sec-WebSocket-Key` is not used (RFC 8441 §5). So this layer checks what only
//! HTTP/2 can get wrong, and hands the core the equivalent HTTP/1.1 head: versions,
//! subprotocols, permessage-deflate, behaviours and every refusal are then judged by
//! the one code path every transport shares. Plain requests (`GET /`, `/metrics`) are
//! translated the same way, without the upgrade.

use crate::escape::EscapedBytes;
use crate::handshake::HttpStatus;

/// The key the translated upgrade carries. RFC 8441 §5: "The Sec-WebSocket-Key and
/// Sec-WebSocket-Accept header fields are not used"; the core still wants one, and its
/// accept value is dropped with the rest of the 101 (see `h2_response.rs`). It is RFC 6455
/// §1.3's example key, valid by construction.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

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

/// What a stream's request becomes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Translated {
    /// The HTTP/1.1 head to feed the core; `upgrade` when it asks for a WebSocket.
    Head {
        /// The head, ending with its blank line.
        head: Vec<u8>,
        /// An extended CONNECT for `websocket`.
        upgrade: bool,
    },
    /// Refused here, with this status and one-line reason: what only HTTP/2 can get
    /// wrong.
    Refuse(HttpStatus, String),
}

/// Translates the request of one stream: its pseudo-header fields, its regular fields
/// (names in lowercase, as RFC 9113 §8.2.1 has them), and whether its HEADERS ended the
/// stream.
pub(crate) fn translate<'a>(
    pseudo: &Pseudo<'_>,
    fields: impl Iterator<Item = (&'a [u8], &'a [u8])>,
    end_stream: bool,
) -> Translated {
    match pseudo.protocol {
        Some(protocol) => extended_connect(pseudo, protocol, fields, end_stream),
        None if pseudo.method == b"CONNECT" => refuse(
            HttpStatus::MethodNotAllowed,
            "a CONNECT without :protocol asks for a tunnel, which wsecho does not serve; \
             a WebSocket is asked for with :protocol websocket (RFC 8441 §4)",
        ),
        None => plain(pseudo, fields),
    }
}

fn extended_connect<'a>(
    pseudo: &Pseudo<'_>,
    protocol: &[u8],
    fields: impl Iterator<Item = (&'a [u8], &'a [u8])>,
    end_stream: bool,
) -> Translated {
    // RFC 8441 §4: "A new pseudo-header field :protocol MAY be included on request
    // HEADERS indicating the desired protocol to be spoken on the tunnel created by
    // CONNECT."
    if pseudo.method != b"CONNECT" {
        return refuse(
            HttpStatus::BadRequest,
            format!(
                ":protocol is only allowed with :method CONNECT (RFC 8441 §4), got :method {}",
                shown(pseudo.method)
            ),
        );
    }
    // RFC 8441 §5: the value is "websocket"; upgrade tokens compare without case
    // (RFC 9110 §7.8), and proxies pass on a client's "WebSocket".
    if !protocol.eq_ignore_ascii_case(b"websocket") {
        return refuse(
            HttpStatus::Asked(501),
            format!(
                "wsecho serves :protocol websocket only (RFC 8441 §5), got :protocol {}",
                shown(protocol)
            ),
        );
    }
    // RFC 8441 §4: "On requests bearing the :protocol pseudo-header field, the :scheme
    // and :path pseudo-header fields of the target URI MUST also be included."
    let (Some(_), Some(path)) = (pseudo.scheme, pseudo.path) else {
        return refuse(
            HttpStatus::BadRequest,
            "an extended CONNECT must carry :scheme and :path (RFC 8441 §4)",
        );
    };
    // RFC 9113 §8.5 (to which RFC 8441 §4 defers): CONNECT carries :authority.
    let Some(authority) = pseudo.authority.filter(|a| !a.is_empty()) else {
        return refuse(
            HttpStatus::BadRequest,
            "an extended CONNECT must carry :authority (RFC 9113 §8.5, RFC 8441 §4)",
        );
    };
    // RFC 8441 §5: the stream is the WebSocket's byte stream; a request that ended it
    // leaves the client no way to send a single frame.
    if end_stream {
        return refuse(
            HttpStatus::BadRequest,
            "the extended CONNECT ended its stream (END_STREAM): no WebSocket frames could follow",
        );
    }
    if let Some(code) = asked_success(path) {
        return refuse(
            HttpStatus::BadRequest,
            format!(
                "status={code}: over HTTP/2 a 2xx answer to an extended CONNECT accepts the \
                 WebSocket (RFC 8441 §5, RFC 9110 §9.3.6), so it cannot stand for a refused \
                 upgrade; ask for a status from 300 to 599"
            ),
        );
    }
    let mut head = Vec::with_capacity(256);
    head.extend_from_slice(b"GET ");
    head.extend_from_slice(path);
    head.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    head.extend_from_slice(authority);
    head.extend_from_slice(b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
    head.extend_from_slice(KEY.as_bytes());
    head.extend_from_slice(b"\r\n");
    match copy_fields(&mut head, fields, &[b"host", b"sec-websocket-key"]) {
        Ok(()) => Translated::Head {
            head,
            upgrade: true,
        },
        Err(refusal) => refusal,
    }
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

/// A request without `:protocol`: the page, the metrics, the health check, or what the
/// core answers any other request with.
fn plain<'a>(
    pseudo: &Pseudo<'_>,
    fields: impl Iterator<Item = (&'a [u8], &'a [u8])>,
) -> Translated {
    // RFC 9113 §8.3.1: all requests other than CONNECT "MUST include exactly one valid
    // value for the :method, :scheme, and :path pseudo-header fields".
    let Some(path) = pseudo.path.filter(|p| !p.is_empty()) else {
        return refuse(
            HttpStatus::BadRequest,
            "a request without :path (RFC 9113 §8.3.1)",
        );
    };
    let Some(host) = pseudo.authority else {
        // Without :authority the core would refuse it for a missing Host, which the
        // client did not send: say what is missing in HTTP/2's terms.
        return refuse(
            HttpStatus::BadRequest,
            "a request without :authority (RFC 9113 §8.3.1: clients SHOULD send it)",
        );
    };
    if !pseudo.method.iter().all(|&b| crate::http::is_tchar(b)) || pseudo.method.is_empty() {
        return refuse(HttpStatus::BadRequest, "a :method that is not a token");
    }
    let mut head = Vec::with_capacity(128);
    head.extend_from_slice(pseudo.method);
    head.push(b' ');
    head.extend_from_slice(path);
    head.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    head.extend_from_slice(host);
    head.extend_from_slice(b"\r\n");
    match copy_fields(&mut head, fields, &[b"host"]) {
        Ok(()) => Translated::Head {
            head,
            upgrade: false,
        },
        Err(refusal) => refusal,
    }
}

/// Appends the regular fields as HTTP/1.1 header lines (leaving out `skip`), then the
/// blank line. A byte that would end or split a line is refused rather than copied:
/// RFC 9113 §8.2.1 makes such fields malformed, and copied they would forge lines of
/// the head.
fn copy_fields<'a>(
    head: &mut Vec<u8>,
    fields: impl Iterator<Item = (&'a [u8], &'a [u8])>,
    skip: &[&[u8]],
) -> Result<(), Translated> {
    for (name, value) in fields {
        if skip.contains(&name) {
            continue;
        }
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
        head.extend_from_slice(name);
        head.extend_from_slice(b": ");
        head.extend_from_slice(value);
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    Ok(())
}

fn refuse(status: HttpStatus, reason: impl Into<String>) -> Translated {
    Translated::Refuse(status, reason.into())
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
    use crate::handshake::{Decision, decide};

    fn websocket<'a>(path: &'a [u8]) -> Pseudo<'a> {
        Pseudo {
            method: b"CONNECT",
            scheme: Some(b"https"),
            path: Some(path),
            authority: Some(b"example.test"),
            protocol: Some(b"websocket"),
        }
    }

    fn head_of(t: Translated) -> Vec<u8> {
        match t {
            Translated::Head { head, .. } => head,
            Translated::Refuse(s, r) => panic!("refused {s:?}: {r}"),
        }
    }

    fn reason_of(t: Translated) -> (u16, String) {
        match t {
            Translated::Refuse(s, r) => (s.code(), r),
            Translated::Head { head, .. } => panic!("accepted: {}", head.escape_ascii()),
        }
    }

    const V13: (&[u8], &[u8]) = (b"sec-websocket-version", b"13");

    #[test]
    fn extended_connect_becomes_an_upgrade_the_core_accepts() {
        let fields = [
            V13,
            (
                b"sec-websocket-protocol".as_slice(),
                b"chat, superchat".as_slice(),
            ),
            (b"sec-websocket-extensions", b"permessage-deflate"),
        ];
        let t = translate(&websocket(b"/"), fields.into_iter(), false);
        let Translated::Head { head, upgrade } = t else {
            panic!("refused: {t:?}");
        };
        assert!(upgrade);
        let text = String::from_utf8(head.clone()).unwrap();
        assert!(text.starts_with("GET / HTTP/1.1\r\nHost: example.test\r\n"));
        assert!(text.ends_with("sec-websocket-extensions: permessage-deflate\r\n\r\n"));
        let Decision::Upgrade {
            subprotocol,
            deflate,
            ..
        } = decide(&head, &Config::default())
        else {
            panic!("the core did not upgrade {text}");
        };
        assert_eq!(subprotocol.as_deref(), Some("chat"));
        assert!(deflate.is_some());
        // The query's behaviours reach the core with the path.
        let head = head_of(translate(
            &websocket(b"/?fragment=2"),
            [V13].into_iter(),
            false,
        ));
        let Decision::Upgrade { behaviour, .. } = decide(&head, &Config::default()) else {
            panic!("the core did not upgrade");
        };
        assert_eq!(behaviour.and_then(|b| b.fragment), Some(2));
    }

    #[test]
    fn the_core_still_judges_the_version() {
        let head = head_of(translate(&websocket(b"/"), std::iter::empty(), false));
        match decide(&head, &Config::default()) {
            Decision::Reply(reply) => assert_eq!(reply.status.code(), 426),
            other => panic!("expected 426, got {other:?}"),
        }
    }

    #[test]
    fn a_client_key_is_replaced_and_host_left_to_authority() {
        let fields = [
            V13,
            (b"sec-websocket-key".as_slice(), b"not base64".as_slice()),
            (b"host", b"other.test"),
        ];
        let head = head_of(translate(&websocket(b"/"), fields.into_iter(), false));
        let text = String::from_utf8(head.clone()).unwrap();
        assert!(!text.contains("not base64"));
        assert!(!text.contains("other.test"));
        assert!(matches!(
            decide(&head, &Config::default()),
            Decision::Upgrade { .. }
        ));
    }

    #[test]
    fn protocol_case_is_ignored() {
        let mut p = websocket(b"/");
        p.protocol = Some(b"WebSocket");
        assert!(matches!(
            translate(&p, [V13].into_iter(), false),
            Translated::Head { upgrade: true, .. }
        ));
    }

    #[test]
    fn what_only_http2_gets_wrong_is_refused_with_the_rule() {
        let mut p = websocket(b"/");
        p.protocol = Some(b"chat");
        let (code, why) = reason_of(translate(&p, std::iter::empty(), false));
        assert_eq!(code, 501);
        assert!(why.contains("\"chat\""), "{why}");

        let mut p = websocket(b"/");
        p.method = b"GET";
        let (code, why) = reason_of(translate(&p, std::iter::empty(), false));
        assert_eq!(code, 400);
        assert!(why.contains("only allowed with :method CONNECT"), "{why}");

        let mut p = websocket(b"/");
        p.path = None;
        assert!(
            reason_of(translate(&p, std::iter::empty(), false))
                .1
                .contains(":scheme and :path")
        );

        let mut p = websocket(b"/");
        p.authority = None;
        assert!(
            reason_of(translate(&p, std::iter::empty(), false))
                .1
                .contains(":authority")
        );

        let (code, why) = reason_of(translate(&websocket(b"/"), std::iter::empty(), true));
        assert_eq!(code, 400);
        assert!(why.contains("END_STREAM"), "{why}");

        let p = Pseudo {
            method: b"CONNECT",
            authority: Some(b"example.test:443"),
            ..Pseudo::default()
        };
        let (code, why) = reason_of(translate(&p, std::iter::empty(), false));
        assert_eq!(code, 405);
        assert!(why.contains("tunnel"), "{why}");
    }

    #[test]
    fn a_2xx_status_asked_for_is_refused_as_it_would_accept_the_websocket() {
        for path in [&b"/?status=200"[..], b"/x?hello=a&status=204"] {
            let (code, why) = reason_of(translate(&websocket(path), [V13].into_iter(), false));
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
            let head = head_of(translate(&websocket(path), [V13].into_iter(), false));
            match decide(&head, &Config::default()) {
                Decision::Reply(reply) => assert!(reply.status.code() >= 300),
                other => panic!("{}: {other:?}", path.escape_ascii()),
            }
        }
    }

    #[test]
    fn bytes_that_would_forge_a_line_are_refused() {
        let fields = [(b"x-a".as_slice(), b"1\r\nUpgrade: no".as_slice())];
        let (code, why) = reason_of(translate(&websocket(b"/"), fields.into_iter(), false));
        assert_eq!(code, 400);
        assert!(why.contains("CR, LF or NUL"), "{why}");
        let fields = [(b"x a".as_slice(), b"1".as_slice())];
        assert!(
            reason_of(translate(&websocket(b"/"), fields.into_iter(), false))
                .1
                .contains("not a token")
        );
    }

    #[test]
    fn a_get_becomes_the_same_get() {
        let p = Pseudo {
            method: b"GET",
            scheme: Some(b"https"),
            path: Some(b"/metrics"),
            authority: Some(b"example.test"),
            protocol: None,
        };
        let fields = [(b"accept".as_slice(), b"*/*".as_slice())];
        let t = translate(&p, fields.into_iter(), true);
        assert_eq!(
            t,
            Translated::Head {
                head: b"GET /metrics HTTP/1.1\r\nHost: example.test\r\naccept: */*\r\n\r\n"
                    .to_vec(),
                upgrade: false
            }
        );
        let head = head_of(t);
        assert!(matches!(
            decide(&head, &Config::default()),
            Decision::Metrics { head: false }
        ));
    }
}
