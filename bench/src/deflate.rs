//! permessage-deflate cost (`scripts/bench.sh --deflate-cost`): the compressed messages a
//! client sends, built once and shared by the client that sends them through wsecho
//! (`deflate-client`) and by the program that does the same codec work with nothing
//! around it (`deflate-limit`), so both measure the same bytes.
//!
//! The limit is what any permessage-deflate echo must do per message, done with
//! flate2 on its zlib-rs backend exactly as wsecho configures zlib-rs: raw DEFLATE,
//! a 15-bit window both ways, level 6 (`--deflate-level`'s default), the client's
//! payload inflated with `00 00 ff ff` appended, the echo compressed with a sync flush
//! and those four bytes removed (RFC 7692 §7.2.1–2); with no context takeover both
//! streams reset after every message, with it neither does.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The tail a sync flush ends with; RFC 7692 §7.2.1 has the sender remove it and
/// §7.2.2 has the receiver put it back.
pub const TRAILER: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// wsecho's default `--deflate-level`, and zlib's default: what the client uses too.
pub const LEVEL: u32 = 6;

/// The window both sides use when neither asks for less (RFC 7692 §7.1.2).
pub const WINDOW_BITS: u8 = 15;

/// How many different messages a run cycles through: at least 64 KiB of text, so that
/// with context takeover the 32 KiB window never holds the message about to be sent.
pub fn distinct_messages(size: usize) -> usize {
    (128 * 1024 / size.max(1)).clamp(4, 128)
}

/// The messages of one workload: the text of each and the payload a client sends for it.
#[derive(Debug, Clone)]
pub struct Messages {
    pub texts: Vec<String>,
    /// Compressed as a client compresses them (level 6, window 15, sync flush, tail
    /// removed), in order, with context takeover when `takeover`: then message `i` may
    /// refer back into messages before it, so they must be sent in order. Cycling back
    /// to message 0 stays valid, since message 0 refers to nothing before it.
    pub payloads: Vec<Vec<u8>>,
}

impl Messages {
    /// `count` messages of `size` bytes of prose (`wsecho_test_support::text::prose`, one
    /// seed per message).
    pub fn new(size: usize, count: usize, takeover: bool) -> Messages {
        let texts: Vec<String> = (0..count)
            .map(|i| wsecho_test_support::text::prose(i as u64 + 1, size))
            .collect();
        let mut client =
            Compress::new_with_window_bits(Compression::new(LEVEL), false, WINDOW_BITS);
        let payloads = texts
            .iter()
            .map(|t| {
                let mut out = Vec::with_capacity(t.len() + 64);
                compress_message(&mut client, t.as_bytes(), &mut out);
                if !takeover {
                    client.reset();
                }
                out
            })
            .collect();
        Messages { texts, payloads }
    }

    /// Mean compressed size of a message, in bytes.
    pub fn mean_payload(&self) -> usize {
        self.payloads.iter().map(Vec::len).sum::<usize>() / self.payloads.len().max(1)
    }
}

/// Compresses one whole message into `out` (cleared first): sync flush, tail removed.
pub fn compress_message(c: &mut Compress, input: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let start_in = c.total_in();
    loop {
        if out.capacity() - out.len() < 64 {
            out.reserve(out.capacity().max(1024));
        }
        let done = (c.total_in() - start_in) as usize;
        c.compress_vec(&input[done..], out, FlushCompress::Sync)
            .expect("compress");
        // A sync flush is complete when all input is in and room was left over.
        if (c.total_in() - start_in) as usize == input.len() && out.len() < out.capacity() {
            break;
        }
    }
    assert!(
        out.ends_with(&TRAILER),
        "a sync flush ends with 00 00 ff ff"
    );
    out.truncate(out.len() - TRAILER.len());
}

/// Inflates one whole message payload (the tail appended as a second input) into `out`,
/// which is cleared first and must have room for all of it. `Err` if it does not
/// inflate or does not fit.
pub fn inflate_message(
    d: &mut Decompress,
    payload: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), String> {
    out.clear();
    for (input, flush) in [
        (payload, FlushDecompress::None),
        (&TRAILER[..], FlushDecompress::Sync),
    ] {
        let before = d.total_in();
        let status = d
            .decompress_vec(input, out, flush)
            .map_err(|e| format!("inflate: {e}"))?;
        if (d.total_in() - before) as usize != input.len() || status == Status::StreamEnd {
            return Err(format!(
                "inflate stopped early: {} of {} bytes read, {} out ({status:?})",
                d.total_in() - before,
                input.len(),
                out.len()
            ));
        }
    }
    Ok(())
}

/// The codec work of a permessage-deflate echo server and nothing else.
pub struct Limit {
    inflate: Decompress,
    deflate: Compress,
    takeover: bool,
    /// Validate the inflated text as UTF-8, as RFC 6455 §8.1 makes a server do.
    utf8: bool,
    plain: Vec<u8>,
    echo: Vec<u8>,
}

impl Limit {
    /// A limit for messages up to `size` bytes inflated.
    pub fn new(size: usize, takeover: bool, utf8: bool) -> Limit {
        Limit {
            inflate: Decompress::new_with_window_bits(false, WINDOW_BITS),
            deflate: Compress::new_with_window_bits(Compression::new(LEVEL), false, WINDOW_BITS),
            takeover,
            utf8,
            // A little room past the message: inflating stops when the output is full.
            plain: Vec::with_capacity(size + 64),
            echo: Vec::with_capacity(size + 64),
        }
    }

    /// Inflates a client's message and compresses its echo; returns the echo's payload.
    pub fn echo(&mut self, payload: &[u8]) -> Result<&[u8], String> {
        inflate_message(&mut self.inflate, payload, &mut self.plain)?;
        if self.utf8 {
            simdutf8::basic::from_utf8(&self.plain).map_err(|_| "invalid UTF-8".to_string())?;
        }
        compress_message(&mut self.deflate, &self.plain, &mut self.echo);
        if !self.takeover {
            self.inflate.reset(false);
            self.deflate.reset();
        }
        Ok(&self.echo)
    }

    /// The last message as inflated.
    pub fn inflated(&self) -> &[u8] {
        &self.plain
    }
}

/// The client's side of the echo: inflates the server's compressed echoes, keeping the
/// window across messages unless the server agreed to no context takeover.
pub struct EchoChecker {
    inflate: Decompress,
    takeover: bool,
    out: Vec<u8>,
}

impl EchoChecker {
    pub fn new(size: usize, takeover: bool) -> EchoChecker {
        EchoChecker {
            inflate: Decompress::new_with_window_bits(false, WINDOW_BITS),
            takeover,
            out: Vec::with_capacity(size + 64),
        }
    }

    /// Whether `payload` (a compressed echo, tail removed) inflates to `text`.
    pub fn check(&mut self, payload: &[u8], text: &[u8]) -> Result<(), String> {
        inflate_message(&mut self.inflate, payload, &mut self.out)?;
        if !self.takeover {
            self.inflate.reset(false);
        }
        if self.out != text {
            return Err(format!(
                "echo inflates to {} bytes that differ from the {} sent",
                self.out.len(),
                text.len()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_echoes_what_the_client_sent() {
        for size in [1024, 65_536] {
            for takeover in [true, false] {
                let m = Messages::new(size, distinct_messages(size).min(6), takeover);
                // English-like prose: 40–55 % of its size at level 6.
                assert!(
                    m.mean_payload() < size * 3 / 5,
                    "compressible: {}",
                    m.mean_payload()
                );
                let mut limit = Limit::new(size, takeover, true);
                let mut checker = EchoChecker::new(size, takeover);
                // Twice round: the cycle stays valid across its wrap.
                for i in 0..2 * m.texts.len() {
                    let i = i % m.texts.len();
                    let echo = limit.echo(&m.payloads[i]).unwrap().to_vec();
                    assert_eq!(limit.inflated(), m.texts[i].as_bytes());
                    checker.check(&echo, m.texts[i].as_bytes()).unwrap();
                }
            }
        }
    }
}
