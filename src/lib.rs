//! wsecho: a strict RFC 6455 WebSocket echo server.
//!
//! Layout, from the wire up:
//! - [`server`]: the thin mio driver — accept, read, write, timers. No protocol logic.
//! - [`tls`]: `wss://`, rustls as an I/O-free layer between the socket and the upgrade.
//! - [`connection`]: the I/O-free state machine of one connection, fed bytes and time.
//! - [`handshake`]: the HTTP upgrade (RFC 6455 §4) and its answers.
//! - [`http`]: HTTP's vocabulary (the token grammar), under every layer that speaks it.
//! - [`frame`]: the frame format (§5): header, opcode, mask, close codes.
//! - [`h2`]: HTTP/2 (frames, HPACK, the session), a layer under the core.
//! - [`stack`]: the layers under the core joined for one connection: TLS, HTTP/2 streams.
//! - [`utf8`]: streaming UTF-8 validation for text, failing on the first bad byte.
//! - [`deflate`]: permessage-deflate (RFC 7692) negotiation and codec.
//! - [`trace`]: the wire trace, a tap between the transport and the core.
//! - [`error`]: every protocol violation, each with its close code and reason.
//! - [`event`]: what happened on a connection, from the core to the driver and the trace.
//! - [`suite`]: Autobahn's cases for WebSocket clients, served on their own paths.
//! - [`report`]: case results in Autobahn's formats, and the `wsecho verdict` gate.

#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(unreachable_pub)]
#![deny(missing_docs)]

pub mod config;
pub mod connection;
pub mod deflate;
pub mod error;
mod escape;
pub mod event;
pub mod frame;
pub mod h2;
pub mod handshake;
pub mod http;
mod json;
pub mod report;
pub mod server;
pub mod size;
pub mod stack;
pub mod suite;
#[cfg(test)]
mod test_alloc;
pub mod tls;
pub mod trace;
pub mod utf8;
