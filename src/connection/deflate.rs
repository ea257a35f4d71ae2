//! permessage-deflate for one connection: inflate the client's compressed messages
//! as they arrive and compress the echo as it goes, in step, so that neither the
//! compressed nor the inflated message is ever held whole.

use crate::config::Config;
use crate::deflate::{DeflateParams, Deflater, InflateError, Inflater, RECOMMENDED_SCRATCH_LEN};
use crate::error::ProtocolError;

/// Compressed echo bytes are framed as soon as this many have gathered, so the buffer
/// that holds them stays small however far one chunk of input inflates.
const ECHO_PIECE_LEN: usize = 64 << 10;

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
        let (params, level) = (self.params, self.level);
        let codecs = self.codecs.get_or_insert_with(|| {
            Box::new(Codecs {
                inflater: Inflater::from_params(&params),
                deflater: Deflater::from_params(&params, level),
                scratch: vec![0; RECOMMENDED_SCRATCH_LEN].into_boxed_slice(),
                plain: Vec::new(),
                compressed: Vec::new(),
                compressing: false,
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
    /// After a message's echo is framed: with no context takeover agreed both ways
    /// nothing carries over to the next message, so the codecs are freed and an idle
    /// connection holds no compression memory.
    pub(super) fn end_message(&mut self) {
        if self.params.server_no_context_takeover && self.params.client_no_context_takeover {
            self.codecs = None;
        }
    }
}

fn map_inflate(e: InflateError<ProtocolError>) -> ProtocolError {
    match e {
        InflateError::Corrupt => ProtocolError::InvalidDeflateData,
        InflateError::Sink(e) => e,
    }
}
