//! The header grammar offers are written in (RFC 6455 §9.1 over RFC 7230's token,
//! quoted-string and OWS), read by a small cursor that never panics.

use super::builder::{OfferBuilder, RawValue};
use super::{EXTENSION_NAME, Offer};
use crate::http::is_tchar;

/// RFC 7230 §3.2.6 `qdtext` (obs-text included).
fn is_qdtext(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21 | 0x23..=0x5b | 0x5d..=0x7e | 0x80..=0xff)
}

/// RFC 7230 §3.2.6: `quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )`.
fn is_quoted_pair_char(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21..=0x7e | 0x80..=0xff)
}

pub(super) struct SyntaxError;

struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    fn bump(&mut self) {
        self.rest = self.rest.get(1..).unwrap_or_default();
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.bump();
        }
    }

    fn token(&mut self) -> Result<&'a [u8], SyntaxError> {
        let len = self.rest.iter().take_while(|&&b| is_tchar(b)).count();
        if len == 0 {
            return Err(SyntaxError);
        }
        let (tok, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(tok)
    }

    /// Parses a quoted-string, the cursor being on the opening quote;
    /// returns the contents between the quotes (escapes kept).
    fn quoted(&mut self) -> Result<&'a [u8], SyntaxError> {
        let start = self.rest.get(1..).ok_or(SyntaxError)?;
        let mut i = 0;
        loop {
            match start.get(i).copied() {
                Some(b'"') => {
                    let inner = start.get(..i).ok_or(SyntaxError)?;
                    self.rest = start.get(i + 1..).ok_or(SyntaxError)?;
                    return Ok(inner);
                }
                Some(b'\\') => match start.get(i + 1) {
                    Some(&c) if is_quoted_pair_char(c) => i += 2,
                    _ => return Err(SyntaxError),
                },
                Some(c) if is_qdtext(c) => i += 1,
                _ => return Err(SyntaxError),
            }
        }
    }
}

/// Parses one header field value, pushing every valid `permessage-deflate`
/// offer (in order). On a syntax error the caller discards `offers`.
pub(super) fn parse_line(line: &[u8], offers: &mut Vec<Offer>) -> Result<(), SyntaxError> {
    let mut c = Cursor { rest: line };
    c.skip_ows();
    loop {
        // Empty list elements (", ,") are allowed: RFC 7230 §7 "a recipient
        // MUST accept empty list elements".
        if c.eat(b',') {
            c.skip_ows();
            continue;
        }
        if c.peek().is_none() {
            return Ok(());
        }
        let name = c.token()?;
        let mut builder = (name == EXTENSION_NAME).then(OfferBuilder::default);
        c.skip_ows();
        while c.eat(b';') {
            c.skip_ows();
            let param = c.token()?;
            c.skip_ows();
            let value = if c.eat(b'=') {
                c.skip_ows();
                Some(if c.peek() == Some(b'"') {
                    RawValue::Quoted(c.quoted()?)
                } else {
                    RawValue::Token(c.token()?)
                })
            } else {
                None
            };
            c.skip_ows();
            if let Some(b) = builder.as_mut() {
                b.add(param, value);
            }
        }
        if let Some(offer) = builder.and_then(OfferBuilder::finish) {
            offers.push(offer);
        }
        match c.peek() {
            None => return Ok(()),
            Some(b',') => {
                c.bump();
                c.skip_ows();
            }
            Some(_) => return Err(SyntaxError),
        }
    }
}
