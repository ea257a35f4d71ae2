//! `wss://`: TLS as a transport layer between the socket and the HTTP upgrade.
//!
//! The layer has no I/O, like the WebSocket core above it: the driver feeds it the
//! ciphertext it read and gets plaintext back for the core, hands it the core's output
//! and gets ciphertext to write. rustls' [`rustls::ServerConnection`] does the protocol;
//! this module adds what the server needs around it: the configuration from the command
//! line ([`setup`]), telling TLS from cleartext by the first byte ([`sniff`]), and saying
//! what a client offered when its handshake fails ([`hello`]).

pub(crate) mod hello;
mod layer;
pub(crate) mod setup;
pub(crate) mod sniff;

pub use layer::TlsLayer;
pub use setup::{TlsOptions, TlsSetup};
