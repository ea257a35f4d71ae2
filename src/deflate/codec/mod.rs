//! Streaming per-message codec for `permessage-deflate` (RFC 7692 §7.2).
//!
//! * [`Inflater`] decompresses a message's payload chunk by chunk, as the
//!   network delivers it, into a caller-provided scratch buffer, handing each
//!   piece to a sink before decompressing further. A sink error stops at once:
//!   that is how the core enforces its message size limit (1009) and UTF-8
//!   (1007) with at most one scratch buffer inflated past the point of refusal.
//! * [`Deflater`] compresses an outgoing message chunk by chunk into a
//!   `Vec<u8>` and ends it with a sync flush minus the `00 00 ff ff` tail.
//!
//! Both are created with their window and context-takeover setting; see
//! [`Inflater::from_params`] and [`Deflater::from_params`].
//!
//! Both allocate their zlib state when created and nothing per message: create
//! them lazily, on the first compressed message. With no context takeover they
//! hold nothing between messages that matters, so the core may also drop them
//! when idle and re-create them. What they cost is measured by `memory_tests`
//! and stated in the README (permessage-deflate).
//!
//! Files: [`inflater`] and [`deflater`], one for each direction; the errors and
//! constants both share are here.

mod deflater;
mod inflater;

use std::fmt;

pub(crate) use deflater::Deflater;
pub(crate) use inflater::Inflater;

/// The tail of an empty non-final stored block: a sync-flushed DEFLATE stream
/// ends with it. RFC 7692 §7.2.1 has the sender remove it; §7.2.2 has the
/// receiver put it back.
pub(crate) const TRAILER: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// [`TRAILER`] and one probe byte after it, see [`Inflater::finish_message`].
/// The probe's value does not matter: a payload that ends as RFC 7692 says
/// never lets the decoder read it.
const PROBED_TRAILER: [u8; 5] = [0x00, 0x00, 0xff, 0xff, 0x00];

/// A good size for the shared inflate scratch buffer: large enough that a
/// bulk message needs few calls into zlib, small enough that the core
/// inflates at most this much past a limit before its sink refuses.
pub(crate) const RECOMMENDED_SCRATCH_LEN: usize = 32 * 1024;

/// The inflate scratch buffer must hold at least this many bytes.
pub(crate) const MIN_SCRATCH_LEN: usize = 1;

/// Why [`Inflater::inflate_chunk`] / [`Inflater::finish_message`] stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InflateError<E> {
    /// The payload is not valid DEFLATE data (or refers to more window than
    /// was agreed), or does not end the way RFC 7692 §7.2.1 makes a payload
    /// end (with the `00 00 ff ff` tail appended, on the end of an empty
    /// stored block). Close with 1007, see [`InflateError::close_code`].
    Corrupt,
    /// The sink refused a piece of output; its error, untouched.
    Sink(E),
}

impl<E: fmt::Display> fmt::Display for InflateError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InflateError::Corrupt => f.write_str("invalid compressed data"),
            InflateError::Sink(e) => e.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for InflateError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            InflateError::Corrupt => None,
            InflateError::Sink(e) => Some(e),
        }
    }
}

/// The compressor failed. zlib only reports this for misuse of its API, which
/// this module does not do, so it is not expected in practice; close with
/// 1011 (internal error) if it ever happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CompressError(&'static str);

impl fmt::Display for CompressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "deflate failed: {}", self.0)
    }
}

impl std::error::Error for CompressError {}

#[cfg(test)]
mod tests;
