//! The little JSON wsecho writes (trace lines, the `headers` behaviour's message):
//! strings escaped as RFC 8259 §7 requires.

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

#[cfg(test)]
mod tests {
    #[test]
    fn quotes_backslashes_and_control_characters_are_escaped() {
        let mut out = String::new();
        super::string(&mut out, "a\"b\\c\nd\u{1}é\u{1b}\u{7f}\u{85}\u{2028}");
        assert_eq!(out, r#""a\"b\\c\nd\u0001é\u001b\u007f\u0085\u2028""#);
    }
}
