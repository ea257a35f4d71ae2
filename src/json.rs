//! The little JSON wsecho writes (trace lines, the `headers` behaviour's message, the
//! reports' `index.json`): strings escaped as RFC 8259 §7 requires.

use std::fmt::Write as _;

/// Appends `s` as a JSON string literal: quote, backslash, control characters (C0,
/// DEL and C1) and the line and paragraph separators escaped.
pub(crate) fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Controls, and the separators JavaScript once took for line ends.
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends `s` as a JSON string literal the way Python's `json.dumps` writes it by
/// default (`ensure_ascii`), which is how Autobahn writes its reports: quote and
/// backslash escaped, `\b \f \n \r \t` by name, every other character outside
/// printable ASCII as `\u` and four lower-case hex digits (a surrogate pair above
/// U+FFFF). The output is pure ASCII.
pub(crate) fn ascii_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            ' '..='~' => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    #[test]
    fn quotes_backslashes_and_control_characters_are_escaped() {
        let mut out = String::new();
        super::string(&mut out, "a\"b\\c\nd\u{1}é\u{1b}\u{7f}\u{85}\u{2028}");
        assert_eq!(out, r#""a\"b\\c\nd\u0001é\u001b\u007f\u0085\u2028""#);
    }

    #[test]
    fn ascii_strings_are_escaped_as_pythons_json_dumps_escapes_them() {
        // json.dumps(u"a\"b\\c\nd\x01\x08\x0c\x7f\xe9\u2028\U0001f389 ~")
        let mut out = String::new();
        super::ascii_string(&mut out, "a\"b\\c\nd\u{1}\u{8}\u{c}\u{7f}é\u{2028}🎉 ~");
        assert_eq!(
            out,
            r#""a\"b\\c\nd\u0001\b\f\u007f\u00e9\u2028\ud83c\udf89 ~""#
        );
        assert!(out.is_ascii());
    }
}
