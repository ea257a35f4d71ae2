//! What wsecho's tests, fuzz targets and benchmarks need to speak RFC 6455 as a client
//! does, written once. It does not depend on wsecho: a helper that shared the server's
//! code could not catch the server's mistakes.

#![deny(missing_docs)]

pub mod deflate;
pub mod frames;
#[cfg(feature = "h2")]
pub mod h2_client;
/// Raw HTTP/2 for hostile clients and the session's tests: frames, HPACK
/// representations one by one, and a frame reader with a timeout. Like the rest, it
/// shares nothing with the server it checks.
pub mod h2_frames;
pub mod text;
