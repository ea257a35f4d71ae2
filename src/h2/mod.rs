//! HTTP/2 (RFC 9113) under the WebSocket core, for RFC 8441's extended CONNECT: each
//! WebSocket is one stream, its DATA carrying RFC 6455 frames through the same core.
//!
//! Layers, each fed bytes and returning bytes and events, with no I/O:
//! - [`hpack`]: header compression (RFC 7541);
//! - [`frame`]: the frame format (RFC 9113 §4, §6), one frame type a file;
//! - [`session`]: one connection's state machine, server side (RFC 9113 §5, §6.9);
//! - [`sniff`]: an HTTP/2 client with prior knowledge told from an HTTP/1.1 one.
//!
//! It knows nothing of WebSockets: [`crate::stack`] puts a core on each stream.

pub(crate) mod frame;
pub(crate) mod hpack;
pub(crate) mod session;
pub(crate) mod sniff;

pub(crate) mod spare;
