//! permessage-deflate for one connection: inflate the client's compressed messages
//! as they arrive and compress the echo as it goes, in step, so that neither the
//! compressed nor the inflated message is ever held whole.

use std::cell::RefCell;

use crate::config::Config;
use crate::deflate::{DeflateParams, Deflater, InflateError, Inflater, RECOMMENDED_SCRATCH_LEN};
use crate::error::ProtocolError;

/// Compressed echo bytes are framed as soon as this many have gathered, so the buffer
/// that holds them stays small however far one chunk of input inflates.
const ECHO_PIECE_LEN: usize = 64 << 10;

/// Spare codecs for connections that agreed no context takeover both ways (at most this
/// many per event loop, so at most about half a MiB each): such a connection hands its
/// codecs back after every message, so that it holds no compression memory while idle,
/// and takes them back (or another connection takes them) on its next compressed
/// message. Creating them instead costs more than compressing a 1 KiB message does:
/// zlib-rs allocates and clears about 450 KiB of state and a fresh scratch buffer is
/// zeroed, where a reset only clears the deflater's 128 KiB hash table.
const MAX_SPARE: usize = 2;

thread_local! {
    /// The spare codecs of this thread's event loop: every loop is single-threaded and
    /// shares nothing, so each has its own. They are always between messages, reset.
    /// Boxed as a session holds them, so that they move in and out without allocating.
    #[allow(clippy::vec_box)]
    static SPARE: RefCell<Vec<Box<Codecs>>> = const { RefCell::new(Vec::new()) };
}

/// Spare codecs made for `key`, if this loop has some.
fn take_spare(key: CodecKey) -> Option<Box<Codecs>> {
    SPARE
        .try_with(|spare| {
            let mut spare = spare.borrow_mut();
            let at = spare.iter().position(|c| c.key == key)?;
            Some(spare.swap_remove(at))
        })
        .ok()
        .flatten()
}

/// Keeps `codecs`, reset after the message they ended, for the next message that needs
/// the same kind; drops them if this loop holds enough spares already.
fn give_spare(mut codecs: Box<Codecs>) {
    codecs.compressed.clear();
    // Framed echoes of a big message may have grown it; keep a typical piece's worth.
    codecs.compressed.shrink_to(ECHO_PIECE_LEN);
    let _ = SPARE.try_with(|spare| {
        let mut spare = spare.borrow_mut();
        if spare.len() < MAX_SPARE {
            spare.push(codecs);
        }
    });
}

/// What makes codecs interchangeable between connections that reset them after every
/// message: the deflater's window bits and level (the inflater always has a 15-bit
/// window, see `Inflater::from_params`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CodecKey {
    deflate_window_bits: u8,
    level: u32,
}

/// Codec state of a connection that agreed permessage-deflate. The codecs and the
/// scratch buffer are created on the first compressed message, so a connection that
/// negotiates deflate but never uses it costs almost nothing.
pub(super) struct DeflateSession {
    params: DeflateParams,
    level: u32,
    /// Echoes smaller than this are sent uncompressed (RFC 7692 §6: "An endpoint MAY
    /// send a message uncompressed" even when the extension is in use).
    min_size: usize,
    codecs: Option<Box<Codecs>>,
}

struct Codecs {
    key: CodecKey,
    inflater: Inflater,
    deflater: Deflater,
    /// Where inflated bytes land, one bounded piece at a time.
    scratch: Box<[u8]>,
    /// Inflated bytes held while the echo is still below `min_size`.
    plain: Vec<u8>,
    /// Compressed echo bytes waiting to be framed.
    compressed: Vec<u8>,
    /// Whether this message's echo is being compressed (decided at `min_size`).
    compressing: bool,
}

/// A piece of echo ready to be framed.
pub(super) struct Echo<'a> {
    pub compressed: bool,
    pub payload: &'a [u8],
}

impl DeflateSession {
    pub(super) fn new(params: DeflateParams, config: &Config) -> Self {
        DeflateSession {
            params,
            level: config.deflate_level,
            min_size: config.deflate_min_size,
            codecs: None,
        }
    }

    /// Inflates `chunk` (ending the message if `last`), passing every inflated piece to
    /// `judge` before inflating further, and feeding the echo: each time a piece of
    /// compressed echo passes `ECHO_PIECE_LEN` it goes to `emit` (a non-final frame).
    pub(super) fn inflate(
        &mut self,
        chunk: &[u8],
        last: bool,
        judge: &mut impl FnMut(&[u8]) -> Result<(), ProtocolError>,
        emit: &mut impl FnMut(&[u8]) -> Result<(), ProtocolError>,
    ) -> Result<(), ProtocolError> {
        let (params, level, recycles) = (self.params, self.level, self.recycles());
        let codecs = self.codecs.get_or_insert_with(|| {
            let key = CodecKey {
                deflate_window_bits: params.deflate_window_bits(),
                level,
            };
            let spare = if recycles { take_spare(key) } else { None };
            spare.unwrap_or_else(|| {
                Box::new(Codecs {
                    key,
                    inflater: Inflater::from_params(&params),
                    deflater: Deflater::from_params(&params, level),
                    scratch: vec![0; RECOMMENDED_SCRATCH_LEN].into_boxed_slice(),
                    plain: Vec::new(),
                    compressed: Vec::new(),
                    compressing: false,
                })
            })
        });
        // What the previous call handed out has been framed by now.
        codecs.compressed.clear();
        let Codecs {
            inflater,
            deflater,
            scratch,
            plain,
            compressed,
            compressing,
            ..
        } = &mut **codecs;
        let min_size = self.min_size;
        let mut sink = |inflated: &[u8]| -> Result<(), ProtocolError> {
            judge(inflated)?;
            if !*compressing && plain.len() + inflated.len() < min_size {
                plain.extend_from_slice(inflated);
                return Ok(());
            }
            if !*compressing {
                *compressing = true;
                deflater
                    .compress_chunk(plain, compressed)
                    .map_err(|_| ProtocolError::CompressionFailed)?;
                plain.clear();
            }
            deflater
                .compress_chunk(inflated, compressed)
                .map_err(|_| ProtocolError::CompressionFailed)?;
            if compressed.len() >= ECHO_PIECE_LEN {
                emit(compressed)?;
                compressed.clear();
            }
            Ok(())
        };
        inflater
            .inflate_chunk(chunk, scratch, &mut sink)
            .map_err(map_inflate)?;
        if last {
            inflater
                .finish_message(scratch, &mut sink)
                .map_err(map_inflate)?;
            // A message that inflated to nothing never reached the sink: it is at least
            // `min_size` long only when that is 0, and then it is echoed compressed too.
            if !*compressing && plain.len() >= min_size {
                *compressing = true;
                deflater
                    .compress_chunk(plain, compressed)
                    .map_err(|_| ProtocolError::CompressionFailed)?;
                plain.clear();
            }
            if *compressing {
                deflater
                    .finish_message(compressed)
                    .map_err(|_| ProtocolError::CompressionFailed)?;
            }
        }
        Ok(())
    }

    /// The echo bytes ready after [`DeflateSession::inflate`]: compressed bytes as they
    /// come, or the whole small message uncompressed at its end.
    pub(super) fn take_echo(&mut self, last: bool) -> Option<Echo<'_>> {
        let codecs = self.codecs.as_deref_mut()?;
        if codecs.compressing {
            if last {
                codecs.compressing = false;
            } else if codecs.compressed.is_empty() {
                return None;
            }
            return Some(Echo {
                compressed: true,
                payload: &codecs.compressed,
            });
        }
        if !last {
            return None;
        }
        // Below the size threshold: the whole message goes back uncompressed. The
        // buffer is swapped into `compressed` so the next call's clear() recycles it.
        std::mem::swap(&mut codecs.plain, &mut codecs.compressed);
        codecs.plain.clear();
        Some(Echo {
            compressed: false,
            payload: &codecs.compressed,
        })
    }
}

impl DeflateSession {
    /// With no context takeover agreed both ways nothing carries over from one message
    /// to the next: the codecs reset after every message, so any connection can use them.
    fn recycles(&self) -> bool {
        self.params.server_no_context_takeover && self.params.client_no_context_takeover
    }

    /// After a message's echo is framed: with no context takeover agreed both ways the
    /// codecs, reset by the end of the message, go back to the loop's spares, and an idle
    /// connection holds no compression memory.
    pub(super) fn end_message(&mut self) {
        if self.recycles()
            && let Some(codecs) = self.codecs.take()
        {
            give_spare(codecs);
        }
    }
}

fn map_inflate(e: InflateError<ProtocolError>) -> ProtocolError {
    match e {
        InflateError::Corrupt => ProtocolError::InvalidDeflateData,
        InflateError::Sink(e) => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};

    fn spares() -> usize {
        SPARE.with(|s| s.borrow().len())
    }

    /// A client's payload for `text`: raw deflate, sync flush, the tail removed.
    fn client_payload(text: &[u8]) -> Vec<u8> {
        let mut c = Compress::new(Compression::default(), false);
        let mut out = Vec::with_capacity(text.len() + 64);
        c.compress_vec(text, &mut out, FlushCompress::Sync)
            .expect("compress");
        out.truncate(out.len() - 4);
        out
    }

    /// Sends one whole message through `session`, returning the echo as `client`, the
    /// client's inflater (which keeps the window unless told otherwise), inflates it.
    fn echo(session: &mut DeflateSession, client: &mut Decompress, text: &[u8]) -> Vec<u8> {
        let mut emitted = Vec::new();
        session
            .inflate(&client_payload(text), true, &mut |_| Ok(()), &mut |piece| {
                emitted.extend_from_slice(piece);
                Ok(())
            })
            .expect("inflate");
        let echo = session.take_echo(true).expect("an echo");
        assert!(echo.compressed);
        emitted.extend_from_slice(echo.payload);
        session.end_message();
        emitted.extend_from_slice(&crate::deflate::codec::TRAILER);
        let mut plain = Vec::with_capacity(text.len() + 64);
        client
            .decompress_vec(&emitted, &mut plain, FlushDecompress::Sync)
            .expect("the echo inflates");
        plain
    }

    fn session(server_nct: bool, client_nct: bool, level: u32) -> DeflateSession {
        let params = DeflateParams {
            server_no_context_takeover: server_nct,
            client_no_context_takeover: client_nct,
            ..DeflateParams::default()
        };
        let config = Config {
            deflate_level: level,
            ..Config::default()
        };
        DeflateSession::new(params, &config)
    }

    #[test]
    fn codecs_without_context_takeover_are_shared_between_messages_and_connections() {
        // Each test runs on a thread of its own: the spares start empty.
        assert_eq!(spares(), 0);
        let (mut a, mut b) = (session(true, true, 6), session(true, true, 6));
        let fresh = || Decompress::new(false);
        let texts: [&[u8]; 3] = [b"hello hello hello", b"", b"the quick brown fox, the fox"];
        for text in texts {
            assert_eq!(echo(&mut a, &mut fresh(), text), text);
            // Idle between messages: the connection holds no codecs, the loop one set.
            assert!(a.codecs.is_none());
            assert_eq!(spares(), 1);
            assert_eq!(echo(&mut b, &mut fresh(), text), text);
            assert!(b.codecs.is_none());
            assert_eq!(spares(), 1, "b took a's codecs and gave them back");
        }
        // Another level makes other codecs; the spares stay bounded.
        let mut c = session(true, true, 1);
        assert_eq!(echo(&mut c, &mut fresh(), b"level one"), b"level one");
        assert_eq!(spares(), 2);
        let mut d = session(true, true, 9);
        assert_eq!(echo(&mut d, &mut fresh(), b"level nine"), b"level nine");
        assert_eq!(spares(), MAX_SPARE);
    }

    #[test]
    fn codecs_with_context_takeover_either_way_stay_with_their_connection() {
        assert_eq!(spares(), 0);
        for (server_nct, client_nct) in [(false, false), (true, false), (false, true)] {
            let mut s = session(server_nct, client_nct, 6);
            let mut client = Decompress::new(false);
            for text in [&b"abcabcabc"[..], b"abcabcabc again"] {
                assert_eq!(echo(&mut s, &mut client, text), text);
                assert!(s.codecs.is_some());
            }
        }
        assert_eq!(spares(), 0);
    }
}
