//! Streaming UTF-8 validation: text is judged as its bytes arrive, so a connection is
//! failed on the first invalid byte even in the middle of a frame (RFC 6455 §8.1:
//! "When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte
//! stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket
//! Connection_"), not after the whole message.

use simdutf8::compat::from_utf8;

/// Carries at most one incomplete code point (three bytes) across chunk boundaries.
#[derive(Debug, Default, Clone, Copy)]
pub struct Utf8Validator {
    partial: [u8; 4],
    partial_len: u8,
}

/// The bytes seen so far cannot be the start of valid UTF-8.
#[derive(Debug, PartialEq, Eq)]
pub struct InvalidUtf8 {
    /// Where the first invalid sequence starts, relative to the start of the chunk just
    /// fed (to the end of the stream, for [`Utf8Validator::finish`]): negative when it
    /// began with bytes carried from earlier chunks.
    pub at: i64,
}

impl Utf8Validator {
    /// Validates the next chunk of the stream. An error means some byte so far is
    /// invalid whatever follows; an incomplete but so-far-valid code point at the end is
    /// kept for the next chunk.
    pub fn feed(&mut self, mut chunk: &[u8]) -> Result<(), InvalidUtf8> {
        if self.partial_len > 0 {
            let have = usize::from(self.partial_len);
            let need = sequence_len(self.partial[0]) - have;
            let take = need.min(chunk.len());
            let mut seq = self.partial;
            seq[have..have + take].copy_from_slice(&chunk[..take]);
            match from_utf8(&seq[..have + take]) {
                Ok(_) => self.partial_len = 0,
                Err(e) if e.error_len().is_none() => {
                    // Still a valid prefix: only possible when the chunk ran out.
                    self.partial = seq;
                    self.partial_len = (have + take) as u8;
                    return Ok(());
                }
                Err(_) => return Err(InvalidUtf8 { at: -(have as i64) }),
            }
            chunk = &chunk[take..];
            return self.feed_whole(chunk).map_err(|e| InvalidUtf8 {
                at: e.at + take as i64,
            });
        }
        self.feed_whole(chunk)
    }

    /// [`Utf8Validator::feed`] with nothing carried from earlier chunks.
    fn feed_whole(&mut self, chunk: &[u8]) -> Result<(), InvalidUtf8> {
        match from_utf8(chunk) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                // A truncated sequence at the very end: at most three bytes, all plausible.
                let tail = &chunk[e.valid_up_to()..];
                self.partial[..tail.len()].copy_from_slice(tail);
                self.partial_len = tail.len() as u8;
                Ok(())
            }
            Err(e) => Err(InvalidUtf8 {
                at: e.valid_up_to() as i64,
            }),
        }
    }

    /// Ends the stream: an incomplete code point left over is an error.
    pub fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let carried = i64::from(self.partial_len);
        self.partial_len = 0;
        if carried == 0 {
            Ok(())
        } else {
            Err(InvalidUtf8 { at: -carried })
        }
    }

    /// Whether an incomplete code point is being carried.
    pub fn is_mid_code_point(&self) -> bool {
        self.partial_len > 0
    }
}

/// The length of the sequence a lead byte starts. Only called on bytes that were a
/// valid-prefix lead, so 0x80–0xC1 and 0xF5–0xFF never reach it; they map to 1 anyway.
fn sequence_len(lead: u8) -> usize {
    match lead {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate_split(bytes: &[u8], splits: &[usize]) -> Result<(), InvalidUtf8> {
        let mut v = Utf8Validator::default();
        let mut start = 0;
        for &s in splits {
            v.feed(&bytes[start..s])?;
            start = s;
        }
        v.feed(&bytes[start..])?;
        v.finish()
    }

    const SAMPLES: &[&[u8]] = &[
        b"",
        b"hello",
        "κόσμε".as_bytes(),
        "\u{10FFFF}\u{0800}\u{07FF}\u{0080}\u{FFFF}".as_bytes(),
        "a€b𝄞c".as_bytes(),
        b"\xf4\x90\x80\x80",     // above U+10FFFF
        b"\xed\xa0\x80",         // surrogate
        b"\xc0\xaf",             // overlong
        b"\xe0\x80\xaf",         // overlong
        b"\xce\xba\xe1\xbd",     // truncated at end
        b"\xff",                 // never valid
        b"ok\x80",               // stray continuation
        b"\xf0\x9f\x98",         // truncated emoji
        b"\xf0\x9f\x98\x80\xf0", // emoji then truncated
    ];

    #[test]
    fn every_two_and_three_way_split_agrees_with_std() {
        for &sample in SAMPLES {
            let expected = std::str::from_utf8(sample).is_ok();
            for i in 0..=sample.len() {
                assert_eq!(
                    validate_split(sample, &[i]).is_ok(),
                    expected,
                    "{sample:x?} at {i}"
                );
                for j in i..=sample.len() {
                    assert_eq!(
                        validate_split(sample, &[i, j]).is_ok(),
                        expected,
                        "{sample:x?} at {i},{j}"
                    );
                }
            }
        }
    }

    /// Where the validator, fed `bytes` split at `i`, says the stream went wrong.
    fn error_position(bytes: &[u8], i: usize) -> Option<i64> {
        let mut v = Utf8Validator::default();
        if let Err(e) = v.feed(&bytes[..i]) {
            return Some(e.at);
        }
        if let Err(e) = v.feed(&bytes[i..]) {
            return Some(i as i64 + e.at);
        }
        v.finish().err().map(|e| bytes.len() as i64 + e.at)
    }

    #[test]
    fn the_error_names_where_the_bad_sequence_starts_as_std_does() {
        for &sample in SAMPLES {
            let expected = std::str::from_utf8(sample)
                .err()
                .map(|e| e.valid_up_to() as i64);
            for i in 0..=sample.len() {
                assert_eq!(error_position(sample, i), expected, "{sample:x?} at {i}");
            }
        }
    }

    #[test]
    fn one_byte_at_a_time_agrees_with_std() {
        for &sample in SAMPLES {
            let splits: Vec<usize> = (1..sample.len()).collect();
            assert_eq!(
                validate_split(sample, &splits).is_ok(),
                std::str::from_utf8(sample).is_ok()
            );
        }
    }

    #[test]
    fn fails_on_the_first_invalid_byte_not_at_the_end() {
        // Autobahn 6.4.2: a fragment ending in F4, then a fragment holding 0x90 alone.
        let mut v = Utf8Validator::default();
        assert!(v.feed("κόσμε".as_bytes()).is_ok());
        assert!(v.feed(b"\xf4").is_ok());
        // The bad sequence began with the byte carried from the fragment before.
        assert_eq!(v.feed(b"\x90"), Err(InvalidUtf8 { at: -1 }));
        // Autobahn 6.4.3: the invalid sequence inside one chunk, more text to follow.
        let mut v = Utf8Validator::default();
        assert_eq!(v.feed(b"abc\xf4\x90\x80\x80"), Err(InvalidUtf8 { at: 3 }));
        let mut v = Utf8Validator::default();
        assert_eq!(v.feed(b"\xf4\x90"), Err(InvalidUtf8 { at: 0 }));
        // A completed carried sequence, then a bad byte later in the same chunk.
        let mut v = Utf8Validator::default();
        assert!(v.feed(b"a\xe2\x82").is_ok());
        assert_eq!(v.feed(b"\xacxy\xff"), Err(InvalidUtf8 { at: 3 }));
    }

    #[test]
    fn a_truncated_code_point_at_the_end_of_the_message_is_an_error() {
        let mut v = Utf8Validator::default();
        assert!(v.feed(b"\xe2\x82").is_ok());
        assert!(v.is_mid_code_point());
        assert_eq!(v.finish(), Err(InvalidUtf8 { at: -2 }));
    }
}
