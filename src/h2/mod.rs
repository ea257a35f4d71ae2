//! HTTP/2 (RFC 9113) under the WebSocket core, for RFC 8441's extended CONNECT: each
//! WebSocket is one stream, its DATA carrying RFC 6455 frames through the same core.
//!
//! Layers, each fed bytes and returning bytes and events, with no I/O:
//! - [`hpack`]: header compression (RFC 7541);
//! - [`frame`]: the frame format (RFC 9113 §4, §6), one frame type a file;
//! - [`session`]: one connection's state machine, server side (RFC 9113 §5, §6.9);
//! - `extended_connect`: RFC 8441 requests, translated for the core into the HTTP/1.1
//!   heads they stand for, so that one code path judges every transport's upgrade;
//! - `response`: the core's HTTP/1.1 answers, said in HTTP/2 fields;
//! - [`connection`]: the session and a WebSocket core per stream, what the driver runs;
//! - [`sniff`]: an HTTP/2 client with prior knowledge told from an HTTP/1.1 one.

pub mod connection;
pub mod frame;
pub mod hpack;
pub mod session;
pub mod sniff;

mod extended_connect;
mod response;
pub(crate) mod spare;
