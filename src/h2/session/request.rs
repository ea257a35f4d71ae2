//! A request's header section, checked as RFC 9113 §8.2 and §8.3 (and RFC 8441 §4 for
//! `:protocol`) require. A request that breaks a rule is malformed: §8.1.1, "Malformed
//! requests or responses that are detected MUST be treated as a stream error of type
//! PROTOCOL_ERROR".

use crate::h2::hpack::HeaderList;

/// A request header section, pseudo-header fields apart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    method: Vec<u8>,
    scheme: Option<Vec<u8>>,
    path: Option<Vec<u8>>,
    authority: Option<Vec<u8>>,
    protocol: Option<Vec<u8>>,
    content_length: Option<u64>,
    fields: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Request {
    /// `:method`.
    pub fn method(&self) -> &[u8] {
        &self.method
    }

    /// `:scheme` (absent on a plain CONNECT).
    pub fn scheme(&self) -> Option<&[u8]> {
        self.scheme.as_deref()
    }

    /// `:path` (absent on a plain CONNECT).
    pub fn path(&self) -> Option<&[u8]> {
        self.path.as_deref()
    }

    /// `:authority`.
    pub fn authority(&self) -> Option<&[u8]> {
        self.authority.as_deref()
    }

    /// `:protocol` (RFC 8441 extended CONNECT), e.g. `websocket`.
    pub fn protocol(&self) -> Option<&[u8]> {
        self.protocol.as_deref()
    }

    /// The content-length field's value, checked (the session holds the stream's DATA
    /// to it, RFC 9113 §8.1.1).
    pub fn content_length(&self) -> Option<u64> {
        self.content_length
    }

    /// The regular fields, in order (names are lowercase, §8.2.1).
    pub fn fields(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.fields
            .iter()
            .map(|(n, v)| (n.as_slice(), v.as_slice()))
    }

    /// The first value of the field `name` (lowercase).
    pub fn field(&self, name: &[u8]) -> Option<&[u8]> {
        self.fields().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

/// §8.2.1's checks of every field line. Pseudo-header names are told by their colon.
fn check_field(name: &[u8], value: &[u8]) -> Result<(), &'static str> {
    let bare = name.strip_prefix(b":").unwrap_or(name);
    if bare.is_empty() {
        return Err("RFC 9113 §8.2.1: an empty field name");
    }
    // §8.2.1: "A field name MUST NOT contain characters in the ranges 0x00-0x20,
    // 0x41-0x5a, or 0x7f-0xff (all ranges inclusive)."
    if bare
        .iter()
        .any(|&b| matches!(b, 0x00..=0x20 | 0x41..=0x5a | 0x7f..=0xff))
    {
        return Err("RFC 9113 §8.2.1: a field name with an uppercase or non-visible character");
    }
    // §8.2.1: "With the exception of pseudo-header fields, which have a name that starts
    // with a single colon, field names MUST NOT include a colon".
    if bare.contains(&b':') {
        return Err("RFC 9113 §8.2.1: a colon inside a field name");
    }
    // §8.2.1: "A field value MUST NOT contain the zero value (ASCII NUL, 0x00), line
    // feed (ASCII LF, 0x0a), or carriage return (ASCII CR, 0x0d) at any position."
    if value.iter().any(|&b| matches!(b, 0x00 | 0x0a | 0x0d)) {
        return Err("RFC 9113 §8.2.1: NUL, CR or LF in a field value");
    }
    // §8.2.1: "A field value MUST NOT start or end with an ASCII whitespace character".
    let space = |b: Option<&u8>| matches!(b, Some(b' ' | b'\t'));
    if space(value.first()) || space(value.last()) {
        return Err("RFC 9113 §8.2.1: a field value starting or ending with whitespace");
    }
    Ok(())
}

/// §8.2.2's connection-specific fields.
fn check_regular(name: &[u8], value: &[u8]) -> Result<(), &'static str> {
    // §8.2.2: "Any message containing connection-specific header fields MUST be treated
    // as malformed."
    if matches!(
        name,
        b"connection" | b"proxy-connection" | b"keep-alive" | b"transfer-encoding" | b"upgrade"
    ) {
        return Err("RFC 9113 §8.2.2: a connection-specific header field");
    }
    // §8.2.2: TE "MUST NOT contain any value other than "trailers"".
    if name == b"te" && !value.eq_ignore_ascii_case(b"trailers") {
        return Err("RFC 9113 §8.2.2: TE other than \"trailers\"");
    }
    Ok(())
}

/// Reads a content-length value, which must agree with any earlier one.
fn content_length(value: &[u8], earlier: Option<u64>) -> Result<u64, &'static str> {
    // RFC 9110 §8.6: "Content-Length = 1*DIGIT".
    let parsed = (!value.is_empty() && value.iter().all(u8::is_ascii_digit))
        .then(|| {
            value.iter().try_fold(0u64, |n, &d| {
                n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
            })
        })
        .flatten();
    match (parsed, earlier) {
        (None, _) => Err("RFC 9110 §8.6: a content-length that is not a number"),
        (Some(n), Some(m)) if n != m => Err("RFC 9110 §8.6: content-length values that differ"),
        (Some(n), _) => Ok(n),
    }
}

/// Sets a pseudo-header field once.
fn once(slot: &mut Option<Vec<u8>>, value: &[u8]) -> Result<(), &'static str> {
    // §8.3: "The same pseudo-header field name MUST NOT appear more than once in a
    // field block."
    if slot.is_some() {
        return Err("RFC 9113 §8.3: a repeated pseudo-header field");
    }
    *slot = Some(value.to_vec());
    Ok(())
}

/// Checks a request header section and collects it. `connect_protocol`: we announced
/// SETTINGS_ENABLE_CONNECT_PROTOCOL, so `:protocol` is defined.
pub(super) fn parse_request(
    list: &HeaderList,
    connect_protocol: bool,
) -> Result<Request, &'static str> {
    let mut method = None;
    let mut request = Request::default();
    let mut regular_seen = false;
    for (name, value) in list.iter() {
        check_field(name, value)?;
        if name.starts_with(b":") {
            // §8.3: "All pseudo-header fields MUST appear in a field block before all
            // regular field lines."
            if regular_seen {
                return Err("RFC 9113 §8.3: a pseudo-header field after a regular field");
            }
            match name {
                b":method" => once(&mut method, value)?,
                b":scheme" => once(&mut request.scheme, value)?,
                b":path" => once(&mut request.path, value)?,
                b":authority" => once(&mut request.authority, value)?,
                b":protocol" if connect_protocol => once(&mut request.protocol, value)?,
                // §8.3: "Endpoints MUST treat a request or response that contains
                // undefined or invalid pseudo-header fields as malformed."
                _ => return Err("RFC 9113 §8.3: an undefined pseudo-header field"),
            }
        } else {
            regular_seen = true;
            check_regular(name, value)?;
            if name == b"content-length" {
                request.content_length = Some(content_length(value, request.content_length)?);
            }
            request.fields.push((name.to_vec(), value.to_vec()));
        }
    }
    // §8.3.1: "All HTTP/2 requests MUST include exactly one valid value for the
    // ":method", ":scheme", and ":path" pseudo-header fields, unless they are CONNECT
    // requests".
    let Some(method) = method.filter(|m| !m.is_empty()) else {
        return Err("RFC 9113 §8.3.1: a request without :method");
    };
    let connect = method == b"CONNECT";
    if connect && request.protocol.is_none() {
        // §8.5: "The ":scheme" and ":path" pseudo-header fields MUST be omitted."
        if request.scheme.is_some() || request.path.is_some() {
            return Err("RFC 9113 §8.5: CONNECT with :scheme or :path");
        }
        // §8.5: "The ":authority" pseudo-header field contains the host and port to
        // connect to".
        if request.authority.is_none() {
            return Err("RFC 9113 §8.5: CONNECT without :authority");
        }
    } else {
        // RFC 8441 §4: ":protocol ... indicating the desired protocol to be spoken on
        // the tunnel created by CONNECT".
        if !connect && request.protocol.is_some() {
            return Err("RFC 8441 §4: :protocol on a request other than CONNECT");
        }
        // RFC 8441 §4: "the :scheme and :path pseudo-header fields of the target URI
        // MUST also be included"; §8.3.1 for other methods.
        let (Some(scheme), Some(path)) = (&request.scheme, &request.path) else {
            return Err("RFC 9113 §8.3.1: a request without :scheme or :path");
        };
        let http = scheme == b"http" || scheme == b"https";
        // §8.3.1: ":path" "MUST NOT be empty for "http" or "https" URIs".
        if http && path.is_empty() {
            return Err("RFC 9113 §8.3.1: an empty :path");
        }
        // §8.3.1: ":authority" "MUST NOT include the deprecated userinfo subcomponent
        // for "http" or "https" schemed URIs".
        if http
            && request
                .authority
                .as_ref()
                .is_some_and(|a| a.contains(&b'@'))
        {
            return Err("RFC 9113 §8.3.1: userinfo in :authority");
        }
    }
    // §8.3.1: "A server SHOULD treat a request as malformed if it contains a Host header
    // field that identifies an entity that differs from the entity in the ":authority"
    // pseudo-header field."
    if let (Some(authority), Some(host)) = (&request.authority, request.field(b"host"))
        && !authority.eq_ignore_ascii_case(host)
    {
        return Err("RFC 9113 §8.3.1: Host differs from :authority");
    }
    request.method = method;
    Ok(request)
}

/// Checks a trailer section: valid field lines, and §8.1: "Pseudo-header fields MUST
/// NOT appear in a trailer section" (§8.3).
pub(super) fn check_trailers(list: &HeaderList) -> Result<(), &'static str> {
    for (name, value) in list.iter() {
        check_field(name, value)?;
        if name.starts_with(b":") {
            return Err("RFC 9113 §8.3: a pseudo-header field in a trailer section");
        }
        check_regular(name, value)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h2::hpack::{Decoder, encode_field};

    fn list(fields: &[(&str, &str)]) -> HeaderList {
        let mut block = Vec::new();
        for (n, v) in fields {
            encode_field(&mut block, n.as_bytes(), v.as_bytes());
        }
        let mut out = HeaderList::default();
        Decoder::new(4096)
            .decode(&block, 1 << 20, &mut out)
            .unwrap();
        out
    }

    const WS: &[(&str, &str)] = &[
        (":method", "CONNECT"),
        (":protocol", "websocket"),
        (":scheme", "https"),
        (":path", "/chat"),
        (":authority", "example.com"),
        ("sec-websocket-version", "13"),
    ];

    #[test]
    fn an_extended_connect_is_collected() {
        let r = parse_request(&list(WS), true).unwrap();
        assert_eq!(r.method(), b"CONNECT");
        assert_eq!(r.protocol(), Some(&b"websocket"[..]));
        assert_eq!(r.scheme(), Some(&b"https"[..]));
        assert_eq!(r.path(), Some(&b"/chat"[..]));
        assert_eq!(r.authority(), Some(&b"example.com"[..]));
        assert_eq!(r.field(b"sec-websocket-version"), Some(&b"13"[..]));
        assert_eq!(r.fields().count(), 1);
    }

    #[test]
    fn protocol_is_undefined_unless_we_enabled_it() {
        assert_eq!(
            parse_request(&list(WS), false),
            Err("RFC 9113 §8.3: an undefined pseudo-header field")
        );
    }

    #[test]
    fn plain_get_and_plain_connect() {
        let get = [(":method", "GET"), (":scheme", "https"), (":path", "/")];
        assert!(parse_request(&list(&get), true).is_ok());
        let connect = [(":method", "CONNECT"), (":authority", "h:443")];
        assert!(parse_request(&list(&connect), true).is_ok());
    }

    #[test]
    fn each_malformed_request_names_its_rule() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[(":scheme", "https"), (":path", "/")], "without :method"),
            (
                &[(":method", "GET"), (":path", "/")],
                "without :scheme or :path",
            ),
            (
                &[(":method", "GET"), (":scheme", "https"), (":path", "")],
                "an empty :path",
            ),
            (
                &[
                    (":method", "GET"),
                    (":method", "GET"),
                    (":scheme", "https"),
                    (":path", "/"),
                ],
                "repeated pseudo-header",
            ),
            (
                &[
                    (":method", "GET"),
                    (":scheme", "https"),
                    ("x", "1"),
                    (":path", "/"),
                ],
                "after a regular field",
            ),
            (
                &[
                    (":method", "GET"),
                    (":scheme", "https"),
                    (":path", "/"),
                    (":status", "200"),
                ],
                "undefined pseudo-header",
            ),
            (
                &[
                    (":method", "GET"),
                    (":protocol", "websocket"),
                    (":scheme", "https"),
                    (":path", "/"),
                ],
                ":protocol on a request other than CONNECT",
            ),
            (
                &[(":method", "CONNECT"), (":authority", "h"), (":path", "/")],
                "CONNECT with :scheme or :path",
            ),
            (&[(":method", "CONNECT")], "CONNECT without :authority"),
            (
                &[
                    (":method", "GET"),
                    (":scheme", "https"),
                    (":path", "/"),
                    (":authority", "u@h"),
                ],
                "userinfo",
            ),
            (
                &[
                    (":method", "GET"),
                    (":scheme", "https"),
                    (":path", "/"),
                    ("Host", "h"),
                ],
                "uppercase",
            ),
            (
                &[
                    (":method", "GET"),
                    (":scheme", "https"),
                    (":path", "/"),
                    ("x", "a\nb"),
                ],
                "NUL, CR or LF",
            ),
            (
                &[
                    (":method", "GET"),
                    (":scheme", "https"),
                    (":path", "/"),
                    ("x", " a"),
                ],
                "whitespace",
            ),
            (
                &[
                    (":method", "GET"),
                    (":scheme", "https"),
                    (":path", "/"),
                    ("connection", "close"),
                ],
                "connection-specific",
            ),
            (
                &[
                    (":method", "GET"),
                    (":scheme", "https"),
                    (":path", "/"),
                    ("te", "gzip"),
                ],
                "TE other than",
            ),
            (
                &[
                    (":method", "GET"),
                    (":scheme", "https"),
                    (":path", "/"),
                    ("a:b", "1"),
                ],
                "colon inside",
            ),
            (
                &[
                    (":method", "GET"),
                    (":scheme", "https"),
                    (":path", "/"),
                    (":authority", "a.example"),
                    ("host", "b.example"),
                ],
                "Host differs",
            ),
            (
                &[
                    (":method", "POST"),
                    (":scheme", "https"),
                    (":path", "/"),
                    ("content-length", "1x"),
                ],
                "not a number",
            ),
            (
                &[
                    (":method", "POST"),
                    (":scheme", "https"),
                    (":path", "/"),
                    ("content-length", "3"),
                    ("content-length", "4"),
                ],
                "values that differ",
            ),
            (
                &[
                    (":method", "POST"),
                    (":scheme", "https"),
                    (":path", "/"),
                    ("content-length", "99999999999999999999999"),
                ],
                "not a number",
            ),
        ];
        for (fields, rule) in cases {
            let e = parse_request(&list(fields), true).unwrap_err();
            assert!(e.contains(rule), "{fields:?}: {e}");
        }
    }

    #[test]
    fn content_length_is_read_and_host_may_repeat_the_authority() {
        let fields = [
            (":method", "POST"),
            (":scheme", "https"),
            (":path", "/"),
            (":authority", "Example.com"),
            ("host", "example.COM"),
            ("content-length", "12"),
            ("content-length", "12"),
        ];
        let r = parse_request(&list(&fields), true).unwrap();
        assert_eq!(r.content_length(), Some(12));
    }

    #[test]
    fn trailers_refuse_pseudo_headers() {
        assert!(check_trailers(&list(&[("x-sum", "1")])).is_ok());
        assert_eq!(
            check_trailers(&list(&[(":path", "/")])),
            Err("RFC 9113 §8.3: a pseudo-header field in a trailer section")
        );
    }
}
