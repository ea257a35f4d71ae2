//! Our echoes, compressed chunk by chunk and ended with a sync flush.

use std::fmt;

use flate2::{Compress, Compression, FlushCompress};

use super::{CompressError, TRAILER};
use crate::deflate::offer::DeflateParams;
use crate::deflate::{MAX_WINDOW_BITS, MIN_USABLE_WINDOW_BITS as MIN_WINDOW_BITS};

/// Raw-DEFLATE compressor for the server's messages.
///
/// Per message: any number of [`compress_chunk`](Deflater::compress_chunk)
/// calls, then one [`finish_message`](Deflater::finish_message); the bytes
/// appended to `out` across those calls are the message payload (RSV1 set on
/// its first frame).
pub(crate) struct Deflater {
    inner: Compress,
    no_context_takeover: bool,
}

impl fmt::Debug for Deflater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deflater")
            .field("no_context_takeover", &self.no_context_takeover)
            .finish_non_exhaustive()
    }
}

/// Spare room kept in `out` before each call into zlib.
const MIN_SPARE: usize = 256;
/// Cap on the room reserved ahead of output actually produced.
pub(super) const MAX_RESERVE_AHEAD: usize = 64 * 1024;

/// Makes room in `out` for the output of about `pending_input` more bytes,
/// without reserving far ahead of what compression actually produces
/// (compressed data is usually much smaller than its input; `Vec` doubling
/// covers the incompressible case in a few rounds).
fn reserve_for(out: &mut Vec<u8>, pending_input: usize) {
    let spare = out.capacity() - out.len();
    if spare < MIN_SPARE {
        out.reserve((pending_input / 4).clamp(MIN_SPARE, MAX_RESERVE_AHEAD));
    }
}

impl Deflater {
    /// A compressor at `level` (0..=9, clamped; 0 = stored, 1 = fastest,
    /// 9 = smallest) with a window of `2^window_bits` bytes (clamped to
    /// 9..=15: zlib cannot make a raw stream with window 8). With
    /// `no_context_takeover` each message starts from an empty window.
    pub(crate) fn new(level: u32, window_bits: u8, no_context_takeover: bool) -> Self {
        let bits = window_bits.clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS);
        Deflater {
            inner: Compress::new_with_window_bits(Compression::new(level.min(9)), false, bits),
            no_context_takeover,
        }
    }

    /// The compressor for our messages under the agreed parameters.
    pub(crate) fn from_params(params: &DeflateParams, level: u32) -> Self {
        Self::new(
            level,
            params.deflate_window_bits(),
            params.server_no_context_takeover,
        )
    }

    /// Forgets the LZ77 window and any partial message.
    #[cfg(test)]
    pub(crate) fn reset(&mut self) {
        self.inner.reset();
    }

    /// Compresses a chunk of the message, appending whatever compressed bytes
    /// are ready to `out` (possibly none: deflate buffers until a block is
    /// full or the message ends).
    pub(crate) fn compress_chunk(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), CompressError> {
        let mut input = input;
        while !input.is_empty() {
            reserve_for(out, input.len());
            let in_before = self.inner.total_in();
            let out_before = self.inner.total_out();
            self.inner
                .compress_vec(input, out, FlushCompress::None)
                .map_err(|_| CompressError("compress"))?;
            let consumed = (self.inner.total_in() - in_before) as usize;
            let produced = self.inner.total_out() - out_before;
            input = input.get(consumed..).unwrap_or_default();
            if consumed == 0 && produced == 0 {
                return Err(CompressError("no progress"));
            }
        }
        Ok(())
    }

    /// Ends the message: sync-flushes and removes the `00 00 ff ff` tail, so
    /// `out` now ends with a complete message payload. Then, with no context
    /// takeover, forgets the window.
    pub(crate) fn finish_message(&mut self, out: &mut Vec<u8>) -> Result<(), CompressError> {
        // RFC 7692 §7.2.1: "1. Compress all the octets of the payload of the
        // message using DEFLATE. 2. If the resulting data does not end with an
        // empty DEFLATE block with no compression (the "BTYPE" bits are set to
        // 00), append an empty DEFLATE block with no compression to the tail
        // end." A sync flush ends with exactly such a block.
        let flush_start = out.len();
        loop {
            reserve_for(out, 0);
            self.inner
                .compress_vec(&[], out, FlushCompress::Sync)
                .map_err(|_| CompressError("flush"))?;
            // zlib: room left over means the flush is complete.
            if out.len() < out.capacity() {
                break;
            }
        }
        let flushed = out.len() - flush_start;
        if flushed == 0 {
            // Nothing since the previous sync point (an empty message): zlib
            // writes nothing for a repeated flush. A lone empty stored block
            // header is the RFC 7692 §7.2.3.6 payload for no data: "0x00".
            out.push(0x00);
        } else if flushed >= TRAILER.len() && out.ends_with(&TRAILER) {
            // RFC 7692 §7.2.1: "3. Remove 4 octets (that are 0x00 0x00 0xff
            // 0xff) from the tail end."
            out.truncate(out.len() - TRAILER.len());
        } else {
            return Err(CompressError("sync flush did not end with 00 00 ff ff"));
        }
        // RFC 7692 §7.2.1: "If the "agreed parameters" contain the
        // "server_no_context_takeover" extension parameter, the server MUST
        // start compressing each new message with an empty LZ77 sliding
        // window."
        if self.no_context_takeover {
            self.inner.reset();
        }
        Ok(())
    }

    /// Compresses a whole message into `out` (appending).
    #[cfg(test)]
    pub(crate) fn compress_message(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), CompressError> {
        self.compress_chunk(input, out)?;
        self.finish_message(out)
    }
}
