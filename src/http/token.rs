//! RFC 9110 §5.6.2 `token`, the one grammar shared by header names, subprotocol names
//! (RFC 6455 §4.1) and extension tokens and parameters (RFC 6455 §9.1).

/// `tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" /
/// "`" / "|" / "~" / DIGIT / ALPHA`: visible ASCII except the delimiters
/// `"(),/:;<=>?@[\]{}`.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// `token = 1*tchar`.
pub fn is_token(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(is_tchar)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tchar_is_visible_ascii_except_the_delimiters() {
        const DELIMITERS: &[u8] = b"\"(),/:;<=>?@[\\]{}";
        for b in 0..=u8::MAX {
            let expected = (0x21..=0x7e).contains(&b) && !DELIMITERS.contains(&b);
            assert_eq!(is_tchar(b), expected, "byte {b:#04x}");
        }
        assert!(is_token("chat.v2"));
        assert!(!is_token("") && !is_token("a b") && !is_token("a,b"));
    }
}
