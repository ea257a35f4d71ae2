//! The query of a request target (RFC 3986 §3.4), as HTML forms and `URLSearchParams`
//! write it.

/// A query value with its percent-escapes (and `+` for a space, as HTML forms and
/// `URLSearchParams` write it) decoded; it must then be UTF-8.
pub(crate) fn decode(raw: &str) -> Result<String, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_plus_are_decoded_and_the_result_must_be_utf8() {
        assert_eq!(decode("h%C3%A9llo+world").as_deref(), Ok("héllo world"));
        assert_eq!(decode("100%25").as_deref(), Ok("100%"));
        assert!(decode("a%2").is_err());
        assert!(decode("a%zz").is_err());
        assert!(decode("%FF").is_err());
    }
}
