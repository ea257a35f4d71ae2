//! RFC 7692 `permessage-deflate`: the I/O-free building blocks the protocol
//! core calls.
//!
//! * [`offer`]: parse the client's `Sec-WebSocket-Extensions` offers, pick the
//!   first acceptable `permessage-deflate` one under a server [`DeflatePolicy`]
//!   and write the response header value ([`DeflateParams::write_response`]).
//! * [`codec`]: a streaming per-message [`Inflater`] (client → server) that
//!   never decompresses ahead of its sink, and a [`Deflater`] (server → client).
//! * `history`: the window an inflater carries across a block with BFINAL set.
//!
//! Close codes the core should use (RFC 6455 §7.4.1):
//! * corrupt compressed data, including a payload that does not end on a
//!   block boundary once the tail is appended ([`InflateError::Corrupt`]) →
//!   **1007**, the same choice as other servers (RFC 7692 names no code; the
//!   payload is "not consistent with the type of the message").
//! * the sink refusing (size limit → 1009, bad UTF-8 → 1007) is the core's own
//!   error, handed back untouched in [`InflateError::Sink`].
//! * [`CompressError`] (never seen in practice) → **1011**.

/// Largest LZ77 window, as the base-2 logarithm of its size (RFC 7692 §7.1.2: 8 to 15).
pub const MAX_WINDOW_BITS: u8 = 15;
/// Smallest window zlib can compress or decompress a raw stream with: it refuses
/// `windowBits = 8` for raw deflate, so wsecho never uses 8 and never asks a client to.
pub const MIN_USABLE_WINDOW_BITS: u8 = 9;

pub(crate) mod codec;
mod history;
#[cfg(test)]
mod memory_tests;
pub(crate) mod offer;

pub(crate) use codec::{Deflater, InflateError, Inflater, RECOMMENDED_SCRATCH_LEN};
pub use offer::{DeflateParams, DeflatePolicy, negotiate};
