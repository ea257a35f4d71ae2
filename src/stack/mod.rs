//! The layers under the WebSocket core, put together for one connection: what joins
//! a transport to the cores it carries, above the transports themselves ([`crate::tls`],
//! [`crate::h2`]) and the core ([`crate::connection`]), below the driver.
//!
//! - [`h2`]: an HTTP/2 session with a WebSocket core per stream;
//! - `h2_request`: RFC 8441 requests, checked for HTTP/2's own rules and handed to the
//!   core parsed, so that one code path judges every transport's upgrade (the core's
//!   answer comes back as a value, said in HTTP/2 fields);
//! - [`say_goodbye`]: when a core is done with TLS;
//! - [`Stack`]: the layers one connection has, chosen once by its first byte and ALPN.

pub(crate) mod h2;
mod h2_request;

use std::time::Instant;

use crate::connection::{Connection, Counts, Event, Status};
use crate::tls::TlsLayer;
use crate::trace::tap::Tap;

use h2::H2Connection;

/// The layers between one connection's socket and its WebSocket core(s), as a type: the
/// first byte (TLS or cleartext, the HTTP/2 preface or not) and then ALPN choose the
/// variant, and after that no flag is tested. Each layer is I/O-free; the driver reads
/// and writes the socket for them.
///
/// | variant | layers, from the socket up |
/// |---|---|
/// | `Plain` | HTTP/1.1 → core (no trace): the hot path, its core inline |
/// | `Sniffing` | the first byte is still to come |
/// | `H1` | [TLS] → [tap] → HTTP/1.1 → core |
/// | `H2` | [TLS] → HTTP/2 → a core (and a tap) per stream |
// The plain core is inline on purpose: it is what nearly every connection is, and the
// hot path reaches it without a pointer; the rarer stacks pay for a box.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Stack {
    /// Cleartext HTTP/1.1 without a tap.
    Plain(Connection),
    /// Every accepted connection starts here.
    Sniffing(Box<Sniffing>),
    /// HTTP/1.1 over TLS, or traced cleartext.
    H1(Box<H1>),
    /// HTTP/2: prior knowledge (h2c) or `h2` by ALPN.
    H2(Box<H2>),
    /// For the moment a stack's parts move into another ([`Stack::change`]); the driver
    /// never sees it.
    Gone,
}

/// A connection whose first byte is not seen yet.
pub(crate) struct Sniffing {
    /// Its core, made at accept (its handshake timer runs). (Whether the server was
    /// full at accept, so that a 503 waits to know how to speak to the client, is the
    /// driver's flag: a `bool` here would grow [`H1`], where it lasts until the TLS
    /// handshake is done, by an allocator step of 16 bytes on every TLS connection.)
    pub(crate) core: Connection,
    /// The connection's trace, if it is traced.
    pub(crate) tap: Option<Box<Tap>>,
}

/// HTTP/1.1 with a layer under the core: TLS, a tap, or both.
pub(crate) struct H1 {
    pub(crate) tls: Option<TlsLayer>,
    pub(crate) core: Connection,
    pub(crate) tap: Option<Box<Tap>>,
}

/// HTTP/2, with a core per stream.
pub(crate) struct H2 {
    /// Boxed, unlike [`H1::tls`]: most HTTP/2 connections are h2c (behind a proxy), and an
    /// empty `Option` of rustls' connection is as large as a full one.
    pub(crate) tls: Option<Box<TlsLayer>>,
    pub(crate) h2: H2Connection,
    /// The connection's trace (each stream has its own, made from it).
    pub(crate) tap: Option<Box<Tap>>,
}

impl Stack {
    /// A connection just accepted: its first byte will choose its stack.
    pub(crate) fn sniffing(core: Connection) -> Self {
        Stack::Sniffing(Box::new(Sniffing { core, tap: None }))
    }

    /// Replaces the stack with what `change` makes of it.
    pub(crate) fn change(&mut self, change: impl FnOnce(Stack) -> Stack) {
        let old = std::mem::replace(self, Stack::Gone);
        *self = change(old);
    }

    /// The HTTP/1.1 core, unless the connection speaks HTTP/2.
    #[inline]
    pub(crate) fn core(&self) -> Option<&Connection> {
        match self {
            Stack::Plain(core) => Some(core),
            Stack::Sniffing(s) => Some(&s.core),
            Stack::H1(l) => Some(&l.core),
            Stack::H2(_) | Stack::Gone => None,
        }
    }

    /// [`Stack::core`], mutably.
    #[inline]
    pub(crate) fn core_mut(&mut self) -> Option<&mut Connection> {
        match self {
            Stack::Plain(core) => Some(core),
            Stack::Sniffing(s) => Some(&mut s.core),
            Stack::H1(l) => Some(&mut l.core),
            Stack::H2(_) | Stack::Gone => None,
        }
    }

    /// The TLS layer, if the connection has one.
    pub(crate) fn tls(&self) -> Option<&TlsLayer> {
        match self {
            Stack::H1(l) => l.tls.as_ref(),
            Stack::H2(l) => l.tls.as_deref(),
            Stack::Plain(_) | Stack::Sniffing(_) | Stack::Gone => None,
        }
    }

    /// The connection's trace, if it is traced.
    pub(crate) fn tap_mut(&mut self) -> Option<&mut Tap> {
        match self {
            Stack::Sniffing(s) => s.tap.as_deref_mut(),
            Stack::H1(l) => l.tap.as_deref_mut(),
            Stack::H2(l) => l.tap.as_deref_mut(),
            Stack::Plain(_) | Stack::Gone => None,
        }
    }

    /// Traces the connection from now on (set at accept, while it is sniffing).
    pub(crate) fn set_tap(&mut self, tap: Box<Tap>) {
        match self {
            Stack::Sniffing(s) => s.tap = Some(tap),
            Stack::H1(l) => l.tap = Some(tap),
            Stack::H2(l) => l.tap = Some(tap),
            Stack::Plain(_) => self.change(|stack| match stack {
                Stack::Plain(core) => Stack::H1(Box::new(H1 {
                    tls: None,
                    core,
                    tap: Some(tap),
                })),
                other => other,
            }),
            Stack::Gone => {}
        }
    }

    /// Drops the trace: traced cleartext HTTP/1.1 goes back to the plain path.
    pub(crate) fn drop_tap(&mut self) {
        match self {
            Stack::Sniffing(s) => s.tap = None,
            Stack::H2(l) => l.tap = None,
            Stack::H1(l) if l.tls.is_some() => l.tap = None,
            Stack::H1(_) => self.change(|stack| match stack {
                Stack::H1(l) => Stack::Plain(l.core),
                other => other,
            }),
            Stack::Plain(_) | Stack::Gone => {}
        }
    }

    /// What the driver should do with the socket now.
    pub(crate) fn status(&self) -> Status {
        match self {
            Stack::H2(l) => l.h2.status(),
            Stack::Gone => Status::Done,
            Stack::Plain(core) => core.status(),
            Stack::Sniffing(s) => s.core.status(),
            Stack::H1(l) => l.core.status(),
        }
    }

    /// When the connection's timer should fire.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        match self {
            Stack::H2(l) => l.h2.deadline(),
            Stack::Gone => None,
            Stack::Plain(core) => core.deadline(),
            Stack::Sniffing(s) => s.core.deadline(),
            Stack::H1(l) => l.core.deadline(),
        }
    }

    /// The deadline, when it moved since the driver last took it (see
    /// [`Connection::take_deadline_moved`]): the driver puts it on its timer heap. `None`
    /// too when it moved to none.
    #[inline]
    pub(crate) fn take_moved_deadline(&mut self) -> Option<Instant> {
        let core = match self {
            Stack::H2(l) => return l.h2.take_moved_deadline(),
            Stack::Gone => return None,
            Stack::Plain(core) => core,
            Stack::Sniffing(s) => &mut s.core,
            Stack::H1(l) => &mut l.core,
        };
        if core.take_deadline_moved() {
            core.deadline()
        } else {
            None
        }
    }

    /// The deadline the driver scheduled last: a timer heap entry for another instant is
    /// stale. (Outside the driver's processing a core's deadline is the one scheduled.)
    pub(crate) fn scheduled(&self) -> Option<Instant> {
        match self {
            Stack::H2(l) => l.h2.scheduled(),
            stack => stack.deadline(),
        }
    }

    /// The driver's timer fired: whatever the deadline is next, it is to be scheduled
    /// anew.
    pub(crate) fn forget_scheduled(&mut self) {
        match self {
            Stack::H2(l) => l.h2.forget_scheduled(),
            Stack::Gone => {}
            Stack::Plain(core) => core.forget_scheduled(),
            Stack::Sniffing(s) => s.core.forget_scheduled(),
            Stack::H1(l) => l.core.forget_scheduled(),
        }
    }

    /// The work done on the connection, every stream's for HTTP/2.
    pub(crate) fn counts(&self) -> Counts {
        match self {
            Stack::H2(l) => l.h2.counts(),
            Stack::Gone => Counts::default(),
            Stack::Plain(core) => core.counts(),
            Stack::Sniffing(s) => s.core.counts(),
            Stack::H1(l) => l.core.counts(),
        }
    }

    /// The next core event, with the HTTP/2 stream it happened on.
    pub(crate) fn poll_event(&mut self) -> Option<(Option<u32>, Event)> {
        match self {
            Stack::H2(l) => l.h2.poll_event().map(|(id, e)| (Some(id), e)),
            Stack::Gone => None,
            Stack::Plain(core) => core.poll_event().map(|e| (None, e)),
            Stack::Sniffing(s) => s.core.poll_event().map(|e| (None, e)),
            Stack::H1(l) => l.core.poll_event().map(|e| (None, e)),
        }
    }

    /// The transport ended (EOF, a failed socket): the core, or every stream's, sees it.
    pub(crate) fn transport_ended(&mut self) {
        match self {
            Stack::H2(l) => l.h2.handle_eof(),
            Stack::Gone => {}
            Stack::Plain(core) => core.handle_eof(),
            Stack::Sniffing(s) => s.core.handle_eof(),
            Stack::H1(l) => l.core.handle_eof(),
        }
    }
}

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
