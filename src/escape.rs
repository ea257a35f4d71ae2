//! Text a client sent, made safe for a log line or a text trace line: the one place
//! that escapes it.
//!
//! The rule: printable characters stay as they are (any script, so lines stay
//! readable); a backslash is doubled, so that every escape in a line is one of ours;
//! control characters (`\n`, `\r`, `\t`, ESC, C1, ...) and characters that print as
//! nothing or move text around (line and paragraph separators, bidirectional
//! overrides, zero-width characters, combining marks, unassigned code points) are
//! shown as `\n`, `\r`, `\t`, `\0` or `\u{1b}`; bytes that are not UTF-8 as `\xff`.
//! A line in the log is then one line, and its start is ours.
//!
//! [`Quoted`] also escapes `"`, for text shown between double quotes. JSON output does
//! not go through here: it has its own escaping (`json.rs`).

use std::fmt::{self, Display, Formatter, Write};

/// `str` shown with the rule above.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Escaped<'a>(pub(crate) &'a str);

/// Bytes shown with the rule above: their UTF-8 as text, the rest as `\xNN`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EscapedBytes<'a>(pub(crate) &'a [u8]);

/// `str` in double quotes, shown with the rule above and `"` escaped as well.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Quoted<'a>(pub(crate) &'a str);

impl Display for Escaped<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_escaped(f, self.0, false)
    }
}

impl Display for EscapedBytes<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            write_escaped(f, chunk.valid(), false)?;
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        Ok(())
    }
}

impl Display for Quoted<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        write_escaped(f, self.0, true)?;
        f.write_char('"')
    }
}

fn write_escaped(f: &mut Formatter<'_>, s: &str, quote: bool) -> fmt::Result {
    // Runs of characters that need nothing are written whole.
    let mut plain = 0;
    for (i, c) in s.char_indices() {
        let escape = match c {
            '\\' => true,
            '"' => quote,
            // `escape_debug` escapes quotes, which need nothing here.
            '\'' => false,
            c => c.escape_debug().len() > 1,
        };
        if !escape {
            continue;
        }
        f.write_str(s.get(plain..i).unwrap_or_default())?;
        match c {
            '\\' => f.write_str("\\\\")?,
            '"' => f.write_str("\\\"")?,
            c => {
                for e in c.escape_debug() {
                    f.write_char(e)?;
                }
            }
        }
        plain = i + c.len_utf8();
    }
    f.write_str(s.get(plain..).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(s: &str) -> String {
        Escaped(s).to_string()
    }

    #[test]
    fn printable_text_stays_as_it_is() {
        for s in [
            "",
            "nothing at /favicon.ico",
            "héllo wörld, 日本語, emoji 🎉",
            "quotes \" and ' stay",
            "two  spaces",
        ] {
            assert_eq!(e(s), s);
        }
    }

    #[test]
    fn a_newline_cannot_start_a_line_of_the_clients() {
        let s = e("a\nFORGED line\r\n");
        assert_eq!(s, r"a\nFORGED line\r\n");
        assert!(!s.contains('\n') && !s.contains('\r'));
    }

    #[test]
    fn controls_and_invisible_characters_are_escaped() {
        let cases = [
            ("\u{1b}[31mred", r"\u{1b}[31mred"),
            ("tab\there", r"tab\there"),
            ("nul\0", r"nul\0"),
            ("del\u{7f}", r"del\u{7f}"),
            ("c1 \u{85} nel", r"c1 \u{85} nel"),
            ("ls\u{2028}ps\u{2029}", r"ls\u{2028}ps\u{2029}"),
            ("bidi \u{202e}txt.exe", r"bidi \u{202e}txt.exe"),
            ("zero\u{200b}width", r"zero\u{200b}width"),
            ("bom\u{feff}", r"bom\u{feff}"),
            ("no\u{a0}break", r"no\u{a0}break"),
        ];
        for (raw, shown) in cases {
            assert_eq!(e(raw), shown, "{raw:?}");
        }
    }

    #[test]
    fn a_backslash_is_doubled_so_escapes_are_ours() {
        assert_eq!(e(r"a\nb"), r"a\\nb");
        assert_eq!(e("a\\\nb"), r"a\\\nb");
    }

    #[test]
    fn bytes_that_are_not_utf8_are_shown_in_hex() {
        let shown = EscapedBytes(b"ok \xff\xfe\n \xc3\xa9 \xe6\x97").to_string();
        assert_eq!(shown, r"ok \xff\xfe\n é \xe6\x97");
    }

    #[test]
    fn quoted_text_escapes_its_quotes() {
        assert_eq!(Quoted("say \"hi\"\n").to_string(), r#""say \"hi\"\n""#);
    }

    #[test]
    fn no_output_holds_a_control_character() {
        // Every code point below U+0800 (and a few above), alone and in text.
        let all: String = (0u32..0x800)
            .chain([0x2028, 0x2029, 0x202e, 0x2066, 0xfeff, 0xfff9])
            .filter_map(char::from_u32)
            .collect();
        for shown in [e(&all), Quoted(&all).to_string()] {
            assert!(
                !shown.chars().any(|c| c.is_control()
                    || ['\u{2028}', '\u{2029}', '\u{202e}', '\u{2066}', '\u{feff}'].contains(&c)),
                "{shown}"
            );
        }
    }
}
