//! `wss://`: TLS as a transport layer between the socket and the HTTP upgrade.
//!
//! The layer has no I/O, like the WebSocket core above it: the driver feeds it the
//! ciphertext it read and gets plaintext back for the core, hands it the core's output
//! and gets ciphertext to write. rustls' [`rustls::ServerConnection`] does the protocol;
//! this module adds what the server needs around it: the configuration from the command
//! line ([`setup`]), telling TLS from cleartext by the first byte ([`sniff`]), and saying
//! what a client offered when its handshake fails ([`hello`]).

pub mod hello;
mod layer;
pub mod setup;
pub mod sniff;

pub use layer::{Decrypted, TlsError, TlsLayer};
pub use setup::{TlsOptions, TlsSetup};

use crate::connection::{Connection, Status};

/// Queues our close_notify once the core is done with the client's input: when it
/// closes after a failure or an HTTP refusal (it reads nothing more, RFC 6455 §7.1.7)
/// or the close handshake is complete. After a close of our own it still reads, for the
/// client's close frame: the close_notify (and so the FIN) waits for that frame, since
/// nothing may be fed to rustls after it.
pub fn say_goodbye(conn: &Connection, tls: &mut TlsLayer) {
    let done_reading = match conn.status() {
        // A reset says no goodbye.
        Status::Open | Status::Reset => false,
        Status::Closing => !conn.awaits_close_frame(),
        Status::Finishing | Status::Done => true,
    };
    if done_reading {
        tls.close_notify();
    }
}
