//! The layers under the WebSocket core, put together for one connection: what joins
//! a transport to the cores it carries, above the transports themselves ([`crate::tls`],
//! [`crate::h2`]) and the core ([`crate::connection`]), below the driver.
//!
//! - [`h2`]: an HTTP/2 session with a WebSocket core per stream;
//! - `h2_request`: RFC 8441 requests, translated for the core into the HTTP/1.1 heads
//!   they stand for, so that one code path judges every transport's upgrade;
//! - `h2_response`: the core's HTTP/1.1 answers, said in HTTP/2 fields;
//! - [`say_goodbye`]: when a core is done with TLS.

pub(crate) mod h2;
mod h2_request;
mod h2_response;

use crate::connection::{Connection, Status};
use crate::tls::TlsLayer;

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
