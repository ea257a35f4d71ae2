//! A request as every transport delivers it, parsed: the handshake judges this, not the
//! bytes of one transport. HTTP/1.1 fills it from its request line and header lines;
//! HTTP/2 from a stream's pseudo-header and regular fields (RFC 9113 §8.3, RFC 8441
//! §4), with no HTTP/1.1 text made in between.

/// One header field: its name and value as the client sent them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Field<'a> {
    /// The name (any case over HTTP/1.1, lowercase over HTTP/2).
    pub(crate) name: &'a [u8],
    /// The value.
    pub(crate) value: &'a [u8],
}

impl Field<'_> {
    /// A field with no name and no value, to fill an array with.
    pub(crate) const EMPTY: Field<'static> = Field {
        name: b"",
        value: b"",
    };
}

/// The transport a request came on, and what only that transport says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via<'a> {
    /// HTTP/1.x: the minor version of its request line.
    H1 {
        /// 1 for HTTP/1.1.
        minor: u8,
    },
    /// An HTTP/2 stream (RFC 9113).
    H2 {
        /// `:protocol`: an extended CONNECT (RFC 8441 §4) asks for this protocol.
        protocol: Option<&'a [u8]>,
        /// `:authority` (RFC 9113 §8.3.1), which stands for `Host`.
        authority: Option<&'a [u8]>,
    },
}

/// A request head, parsed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request<'a> {
    /// The method (`:method` over HTTP/2).
    pub(crate) method: &'a str,
    /// The request target: origin form `/path?query`, or absolute form over HTTP/1.1
    /// (`:path` over HTTP/2).
    pub(crate) target: &'a str,
    /// The regular header fields, in the order they came.
    pub(crate) fields: &'a [Field<'a>],
    /// The transport.
    pub(crate) via: Via<'a>,
}

impl<'a> Request<'a> {
    /// The fields named `name` (compared without case), in order.
    pub(crate) fn all(&self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + Clone + 'a {
        self.fields
            .iter()
            .filter(move |f| f.name.eq_ignore_ascii_case(name.as_bytes()))
            .map(|f| f.value)
    }

    /// The one field named `name`, if it came; an error naming it if it came twice.
    pub(crate) fn one(&self, name: &'a str) -> Result<Option<&'a [u8]>, String> {
        let mut it = self.all(name);
        let first = it.next();
        if it.next().is_some() {
            return Err(format!("more than one {name} header"));
        }
        Ok(first)
    }

    /// The HTTP version, as a request line or `?headers` shows it.
    pub(crate) fn version(&self) -> &'static str {
        match self.via {
            Via::H1 { minor: 0 } => "HTTP/1.0",
            Via::H1 { .. } => "HTTP/1.1",
            Via::H2 { .. } => "HTTP/2",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_found_without_case_and_a_repeat_is_named() {
        let fields = [
            Field {
                name: b"Host",
                value: b"a",
            },
            Field {
                name: b"x-Two",
                value: b"1",
            },
            Field {
                name: b"X-TWO",
                value: b"2",
            },
        ];
        let req = Request {
            method: "GET",
            target: "/",
            fields: &fields,
            via: Via::H1 { minor: 1 },
        };
        assert_eq!(req.one("host"), Ok(Some(&b"a"[..])));
        assert_eq!(req.one("absent"), Ok(None));
        assert_eq!(req.one("X-Two"), Err("more than one X-Two header".into()));
        assert_eq!(req.all("x-two").collect::<Vec<_>>(), [b"1", b"2"]);
        assert_eq!(req.version(), "HTTP/1.1");
    }
}
