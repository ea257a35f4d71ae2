//! HTTP/2 (RFC 9113) under the WebSocket core, for RFC 8441's extended CONNECT: each
//! WebSocket is one stream, its DATA carrying RFC 6455 frames through the same core.
//!
//! Layers, each fed bytes and returning bytes and events, with no I/O:
//! - [`hpack`]: header compression (RFC 7541);
//! - [`frame`]: the frame format (RFC 9113 §4, §6), one frame type a file.

pub mod frame;
pub mod hpack;
