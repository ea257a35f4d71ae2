//! The client's messages, inflated chunk by chunk as they arrive.

use std::fmt;

use zlib_rs::{Inflate, InflateFlush, Status};

use super::{InflateError, MIN_SCRATCH_LEN, PROBED_TRAILER, TRAILER};
use crate::deflate::history::History;
use crate::deflate::offer::DeflateParams;
use crate::deflate::{MAX_WINDOW_BITS, MIN_USABLE_WINDOW_BITS as MIN_WINDOW_BITS};

/// Raw-DEFLATE decompressor for the client's messages.
///
/// Per message: any number of [`inflate_chunk`](Inflater::inflate_chunk)
/// calls (the payload bytes, unmasked, split anyhow), then one
/// [`finish_message`](Inflater::finish_message). After an error the
/// inflater is mid-stream: the core closes the connection (or calls
/// [`reset`](Inflater::reset) before any reuse).
///
/// Built on zlib-rs' own `Inflate` (the backend flate2 uses) rather than
/// `flate2::Decompress`: checking that a message ends on a block boundary
/// needs `Z_BLOCK` ([`InflateFlush::Block`]), which flate2 does not offer.
pub(crate) struct Inflater {
    inner: Inflate,
    window_bits: u8,
    no_context_takeover: bool,
    /// With context takeover: the window, to carry across a block with BFINAL set.
    pub(super) history: Option<Box<History>>,
    /// No input consumed since the stream (re)started or since the last
    /// message ended: the decoder sits on a block boundary.
    at_boundary: bool,
}

impl fmt::Debug for Inflater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inflater")
            .field("no_context_takeover", &self.no_context_takeover)
            .field("at_boundary", &self.at_boundary)
            .finish_non_exhaustive()
    }
}

impl Inflater {
    /// A decompressor with an LZ77 window of `2^window_bits` bytes (clamped
    /// to 9..=15: zlib has no raw window of 8, and a window of 9 decodes
    /// anything a window of 8 made). With `no_context_takeover` each message
    /// starts from an empty window (after [`finish_message`](Self::finish_message)).
    pub(crate) fn new(window_bits: u8, no_context_takeover: bool) -> Self {
        let bits = window_bits.clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS);
        Inflater {
            inner: Inflate::new(false, bits),
            window_bits: bits,
            no_context_takeover,
            history: (!no_context_takeover).then(|| Box::new(History::new())),
            at_boundary: true,
        }
    }

    /// The inflater for the client's messages under the agreed parameters.
    ///
    /// Always a 15-bit window, whatever `client_max_window_bits` says: a
    /// bigger window decodes any smaller-window stream; zlib-rs 0.6 allocates
    /// and keeps a 32 KiB window regardless, so a smaller one saves nothing
    /// and enforces nothing (zlib checks distances only against the history
    /// it holds plus the current call's output, so even there acceptance of
    /// an over-reaching client would depend on how the network split its
    /// payload); and a 15-bit state resets in place (smaller ones are
    /// re-allocated on every reset, see [`reset`](Self::reset)).
    pub(crate) fn from_params(params: &DeflateParams) -> Self {
        Self::new(MAX_WINDOW_BITS, params.client_no_context_takeover)
    }

    /// Forgets the LZ77 window and any partial message.
    pub(crate) fn reset(&mut self) {
        self.restart_stream();
        if let Some(history) = &mut self.history {
            history.clear();
        }
        self.at_boundary = true;
    }

    /// After a block with BFINAL set ended zlib's stream: a new stream that still has
    /// the window, by inflating the history as a stored block whose output is dropped.
    fn restart_with_window<E>(&mut self, scratch: &mut [u8]) -> Result<(), InflateError<E>> {
        self.restart_stream();
        let Some(history) = self.history.as_deref() else {
            return Ok(());
        };
        let block = history.stored_block();
        let mut input = &block[..];
        while !input.is_empty() {
            let (result, consumed, produced) = self.step(input, scratch, InflateFlush::NoFlush);
            input = input.get(consumed..).unwrap_or_default();
            if result.is_err() || (consumed == 0 && produced == 0) {
                return Err(InflateError::Corrupt);
            }
        }
        Ok(())
    }

    /// A fresh raw DEFLATE stream with the same window size. zlib-rs' reset
    /// always restores the default window (15 bits), so like flate2 this uses
    /// it for window 15 and makes a fresh state (one allocation) otherwise.
    fn restart_stream(&mut self) {
        if self.window_bits == MAX_WINDOW_BITS {
            self.inner.reset(false);
        } else {
            self.inner = Inflate::new(false, self.window_bits);
        }
    }

    /// One call into zlib: the result and the input consumed and output
    /// produced by it.
    fn step(
        &mut self,
        input: &[u8],
        out: &mut [u8],
        flush: InflateFlush,
    ) -> (Result<Status, zlib_rs::InflateError>, usize, usize) {
        let in_before = self.inner.total_in();
        let out_before = self.inner.total_out();
        let result = self.inner.decompress(input, out, flush);
        let consumed = (self.inner.total_in() - in_before) as usize;
        let produced = (self.inner.total_out() - out_before) as usize;
        if consumed > 0 {
            self.at_boundary = false;
        }
        (result, consumed, produced)
    }

    /// Decompresses one chunk of a message's payload, handing every piece of
    /// output (at most `scratch.len()` bytes each) to `sink` before
    /// decompressing any further. Stops at the first sink error.
    ///
    /// # Panics
    /// If `scratch` is empty (a caller bug, never client data).
    pub(crate) fn inflate_chunk<E, F>(
        &mut self,
        input: &[u8],
        scratch: &mut [u8],
        sink: &mut F,
    ) -> Result<(), InflateError<E>>
    where
        F: FnMut(&[u8]) -> Result<(), E>,
    {
        self.run(input, scratch, sink)
    }

    /// Ends the message: feeds the `00 00 ff ff` tail, checking that the
    /// payload ended as RFC 7692 §7.2.1 makes it end (else
    /// [`InflateError::Corrupt`]); then, if the client agreed to no context
    /// takeover, forgets the window.
    ///
    /// `sink` is not called: a payload that ends correctly has nothing left
    /// to inflate by then (the parameters stay for symmetry with
    /// [`inflate_chunk`](Self::inflate_chunk)).
    pub(crate) fn finish_message<E, F>(
        &mut self,
        scratch: &mut [u8],
        _sink: &mut F,
    ) -> Result<(), InflateError<E>>
    where
        F: FnMut(&[u8]) -> Result<(), E>,
    {
        // RFC 7692 §7.2.2: "1. Append 4 octets of 0x00 0x00 0xff 0xff to the
        // tail end of the payload of the message. 2. Decompress the resulting
        // data using DEFLATE."
        // When the decoder is on a block boundary with nothing consumed (an
        // empty payload, or one whose last block had BFINAL set with no padding
        // octet after it) the tail would only open a stored block it can never
        // close, poisoning the next message; nothing is pending, so skip it.
        if !self.at_boundary {
            self.check_trailer(scratch)?;
        }
        // RFC 7692 §7.2.2: "If the "agreed parameters" contain the
        // "client_no_context_takeover" extension parameter, the server MAY
        // decompress each new message with an empty LZ77 sliding window.
        // Otherwise, the server MUST decompress each new message using the LZ77
        // sliding window used to process the last compressed message."
        if self.no_context_takeover {
            self.reset();
        }
        self.at_boundary = true;
        Ok(())
    }

    /// Feeds the tail and checks that it ends the message the way RFC 7692
    /// §7.2.1 builds a payload: "If the resulting data does not end with an
    /// empty DEFLATE block with no compression (the "BTYPE" bits are set to
    /// 00), append an empty DEFLATE block with no compression to the tail
    /// end. [...] Remove 4 octets (that are 0x00 0x00 0xff 0xff) from the
    /// tail end." So a payload ends with the 3-bit header (and padding) of an
    /// empty stored block, the tail is that block's LEN/NLEN, and payload +
    /// tail ends on a block boundary. A payload cut short (inside a stored
    /// block the tail then becomes data of, or inside a Huffman block) or one
    /// that kept its own `00 00 ff ff` (ours then opens a stored block that
    /// only the next message would end) does not; inflating it anyway echoes
    /// bytes the client never sent or garbles the next message: corrupt.
    ///
    /// How: one zlib call with [`InflateFlush::Block`] (`Z_BLOCK`) on the tail and a
    /// probe byte after it; the tail is accepted iff zlib stops having read exactly its
    /// 4 bytes (a block ended on the last one) and produced nothing (the tail was the
    /// LEN/NLEN of an empty stored block, not data). That this accepts the RFC's payloads
    /// and never takes the tail as data nor stops mid-block is checked by
    /// `tests::an_accepted_payload_inflates_as_a_reference_decoder_reads_it`.
    fn check_trailer<E>(&mut self, scratch: &mut [u8]) -> Result<(), InflateError<E>> {
        assert!(
            scratch.len() >= MIN_SCRATCH_LEN,
            "inflate scratch buffer must not be empty"
        );
        let (result, consumed, produced) = self.step(&PROBED_TRAILER, scratch, InflateFlush::Block);
        let at_block_end = result == Ok(Status::Ok) && consumed == TRAILER.len() && produced == 0;
        if at_block_end {
            return Ok(());
        }
        match result {
            Err(e) => log::debug!(
                "permessage-deflate: corrupt payload: {}",
                self.inner.error_message().unwrap_or(e.as_str())
            ),
            Ok(_) => log::debug!(
                "permessage-deflate: payload does not end as RFC 7692 §7.2.1 says \
                 (zlib read {consumed} of the tail + probe bytes, inflated {produced})"
            ),
        }
        Err(InflateError::Corrupt)
    }

    fn run<E, F>(
        &mut self,
        mut input: &[u8],
        scratch: &mut [u8],
        sink: &mut F,
    ) -> Result<(), InflateError<E>>
    where
        F: FnMut(&[u8]) -> Result<(), E>,
    {
        assert!(
            scratch.len() >= MIN_SCRATCH_LEN,
            "inflate scratch buffer must not be empty"
        );
        loop {
            let (result, consumed, produced) = self.step(input, scratch, InflateFlush::NoFlush);
            input = input.get(consumed..).unwrap_or_default();
            // Hand the output over before decompressing any more: the sink
            // decides whether we go on.
            if produced > 0 {
                let output = scratch.get(..produced).unwrap_or_default();
                if let Some(history) = &mut self.history {
                    history.push(output);
                }
                sink(output).map_err(InflateError::Sink)?;
            }
            match result {
                Err(e) => {
                    log::debug!(
                        "permessage-deflate: corrupt payload: {}",
                        self.inner.error_message().unwrap_or(e.as_str())
                    );
                    return Err(InflateError::Corrupt);
                }
                Ok(Status::StreamEnd) => {
                    // A block with BFINAL set ended the DEFLATE stream. RFC
                    // 7692 §7.2.1: "An endpoint MAY use both DEFLATE blocks with
                    // the "BFINAL" bit set to 0 and DEFLATE blocks with the
                    // "BFINAL" bit set to 1." ... "The next DEFLATE block
                    // follows the padded data if any." zlib will not read past
                    // a final block, so start a new stream for what follows,
                    // with the window so far (a later block may refer back
                    // across the final one: §7.2.2).
                    self.restart_with_window(scratch)?;
                    self.at_boundary = true;
                    if input.is_empty() {
                        return Ok(());
                    }
                }
                Ok(Status::Ok | Status::BufError) => {
                    if produced == scratch.len() {
                        // Output may be pending inside zlib.
                        continue;
                    }
                    if input.is_empty() {
                        return Ok(());
                    }
                    if consumed == 0 && produced == 0 {
                        // Input and output room but no progress: zlib never
                        // does this on valid data; refuse rather than spin.
                        return Err(InflateError::Corrupt);
                    }
                }
            }
        }
    }
}
