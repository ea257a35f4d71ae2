//! One client's socket and the bytes it has not taken yet: the driver's one write path.
//!
//! The rule that keeps output in order: bytes go to the socket directly only while
//! nothing is queued; otherwise they queue behind what is. Every writer keeps it by
//! writing through [`Socket`]: the plain path's echoes ([`Socket::send`],
//! [`Socket::send_vectored`], [`Socket::send_last`]), rustls' records (`io::Write`) and
//! the HTTP/2 layer's frames ([`Sink`]). What the socket refuses is copied into the
//! connection's own queue, which exists only while it holds bytes, and which
//! [`Socket::flush`] drains when the socket has room again. WRITABLE interest is
//! registered only while that queue holds bytes ([`Socket::update_interest`]).

use std::io::{self, ErrorKind, IoSlice, Read, Write};
use std::net::Shutdown;

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

use super::nonblock::{Io, retry, settle, write_until_blocked};
use super::verdict::PeerAddr;
use crate::connection::{MAX_SEGMENTS, Output};
use crate::h2::session::Sink;

/// A client's socket with its pending output, and who is at the other end.
///
/// Laid out to fill 32 bytes (release): the queue pointer, the 4-byte descriptor, the
/// 18-byte peer address and one byte of flags, the client's as well as the socket's
/// (see [`Flags`]). Any field more, or a flag in a `bool` of its own, costs the client
/// 8 bytes in the loop's slab.
pub(super) struct Socket {
    pub(super) stream: TcpStream,
    /// Bytes the socket has not taken yet; only while there are any.
    out: Option<Box<Pending>>,
    /// The client's address, taken at accept: kept for the log line at the end, when a
    /// client that reset the connection can no longer be asked.
    pub(super) peer: PeerAddr,
    /// The socket's yes/no state and the client's, one bit each.
    pub(super) flags: Flags,
}

/// One bit of a client's yes/no state (see [`Flags`]).
#[derive(Clone, Copy)]
#[repr(u8)]
pub(super) enum Flag {
    /// WRITABLE interest is registered (only while output is pending). The socket's.
    WantsWritable = 1,
    /// Our side of TCP is shut down (the FIN is sent). The socket's.
    WriteShut = 1 << 1,
    /// Reading stopped because too much output is pending (backpressure).
    ReadPaused = 1 << 2,
    /// The peer has shut down its side: read until EOF, not just until a short read.
    ReadToEof = 1 << 3,
    /// Reading stopped at the per-event budget with the socket perhaps not drained: no
    /// new edge will come, so the loop resumes it on its next turn.
    ReadYielded = 1 << 4,
    /// The connection's key is in the loop's list of those to drive again. A key goes
    /// in once, whatever marked it how often: a connection that kept a backlog and got
    /// events too was once queued again on each, and drove itself once per entry (200
    /// drives a turn of one HEAD flooder after 30 s, a 50 ms turn for everyone else).
    Queued = 1 << 5,
    /// The server was at its connection limit at accept: the client is refused with 503
    /// once it is known how to speak to it (after the first byte, or after the TLS
    /// handshake). Cleared when the answer is made.
    Full = 1 << 6,
}

/// A client's yes/no state in one byte: the socket's two flags, the reader's four and
/// the stack's one (see [`Flag`]). They share the socket's byte, not one of the client's own, because
/// the socket's struct is where a spare byte is: six `bool`s cost the client 8 bytes.
/// Setting, clearing and testing a bit is one instruction, as with a `bool`.
#[derive(Clone, Copy, Default)]
pub(super) struct Flags(u8);

impl Flags {
    #[inline(always)]
    pub(super) fn has(self, flag: Flag) -> bool {
        self.0 & flag as u8 != 0
    }

    #[inline(always)]
    pub(super) fn set(&mut self, flag: Flag) {
        self.0 |= flag as u8;
    }

    #[inline(always)]
    pub(super) fn clear(&mut self, flag: Flag) {
        self.0 &= !(flag as u8);
    }

    /// Clears `flag`, saying whether it was set.
    #[inline(always)]
    pub(super) fn take(&mut self, flag: Flag) -> bool {
        let was = self.has(flag);
        self.clear(flag);
        was
    }

    /// Sets `flag`, saying whether it was set already.
    #[inline(always)]
    pub(super) fn replace(&mut self, flag: Flag) -> bool {
        let was = self.has(flag);
        self.set(flag);
        was
    }
}

/// What one read found.
pub(super) enum Received {
    /// This many bytes (never 0).
    Data(usize),
    /// The end of the stream: the peer shut down its side.
    Eof,
    /// Nothing now: wait for the next readiness edge.
    Blocked,
    /// The socket failed.
    Failed(io::Error),
}

/// Output the socket has not taken yet.
#[derive(Default)]
struct Pending {
    bytes: Vec<u8>,
    /// `bytes[written..]` is still to be written.
    written: usize,
}

/// Frames of the HTTP/2 layer up to this size are copied together and sent with one
/// `send`, which costs less than a `writev` of their pieces.
const SMALL: usize = 1024;

/// Pieces written with one `writev` (a larger put takes several).
const MAX_PARTS: usize = 64;

impl Socket {
    pub(super) fn new(stream: TcpStream) -> Self {
        Socket {
            stream,
            out: None,
            peer: PeerAddr::UNKNOWN,
            flags: Flags::default(),
        }
    }

    /// One `read`, retried when a signal interrupts it.
    #[inline(always)]
    pub(super) fn read(&mut self, buf: &mut [u8]) -> Received {
        // The usual outcomes (data, EOF) inline, matched as the call returns them; the
        // rest out of line.
        match self.stream.read(buf) {
            Ok(0) => Received::Eof,
            Ok(n) => Received::Data(n),
            Err(e) => self.read_failed(e, buf),
        }
    }

    /// [`Socket::read`] after a read that did not succeed.
    #[cold]
    #[inline(never)]
    fn read_failed(&mut self, error: io::Error, buf: &mut [u8]) -> Received {
        let result = match settle(Err(error)) {
            Some(result) => result,
            None => {
                let stream = &mut self.stream;
                retry(|| stream.read(buf))
            }
        };
        match result {
            Ok(Io::Done(0)) => Received::Eof,
            Ok(Io::Done(n)) => Received::Data(n),
            Ok(Io::Blocked) => Received::Blocked,
            Err(e) => Received::Failed(e),
        }
    }

    /// Whether nothing is queued: bytes may go to the socket directly.
    #[inline(always)]
    pub(super) fn is_clear(&self) -> bool {
        self.out.is_none()
    }

    /// Bytes queued that the socket has not taken.
    #[inline]
    pub(super) fn pending(&self) -> usize {
        self.out.as_ref().map_or(0, |p| p.bytes.len() - p.written)
    }

    /// Whether our FIN is sent.
    pub(super) fn write_shut(&self) -> bool {
        self.flags.has(Flag::WriteShut)
    }

    /// Whether WRITABLE interest is registered.
    pub(super) fn wants_writable(&self) -> bool {
        self.flags.has(Flag::WantsWritable)
    }

    /// The queue, for bytes that must go behind pending ones (or that are produced
    /// outside a read, which [`Socket::flush`] writes). Bytes already written are
    /// dropped from its front once they are half of it, so a steady trickle does not
    /// grow it.
    pub(super) fn queue(&mut self) -> &mut Vec<u8> {
        let pending = self.out.get_or_insert_with(Box::default);
        if pending.written > 0 && pending.written >= pending.bytes.len() / 2 {
            pending.bytes.drain(..pending.written);
            pending.written = 0;
        }
        &mut pending.bytes
    }

    /// Writes `data` (with nothing queued, and not empty: that would be a wasted system
    /// call); what the socket does not take is queued.
    #[inline(always)]
    pub(super) fn send(&mut self, data: &[u8]) -> io::Result<()> {
        debug_assert!(
            self.is_clear(),
            "a direct write would overtake queued output"
        );
        // Usually one write takes it all; anything else is out of line.
        match self.stream.write(data) {
            Ok(n) if n == data.len() => Ok(()),
            first => self.send_rest(data, first),
        }
    }

    /// [`Socket::send`] after a first write that did not take everything.
    #[cold]
    #[inline(never)]
    fn send_rest(&mut self, data: &[u8], first: io::Result<usize>) -> io::Result<()> {
        let done = match settle(first) {
            Some(Ok(Io::Done(0))) if !data.is_empty() => return Err(ErrorKind::WriteZero.into()),
            Some(Ok(Io::Done(n))) => n,
            Some(Ok(Io::Blocked)) => {
                self.queue().extend_from_slice(data);
                return Ok(());
            }
            // Interrupted: `write_until_blocked` makes the call again.
            None => 0,
            Some(Err(e)) => return Err(e),
        };
        // A write reports at most what it was given.
        let rest = &data[done.min(data.len())..];
        let stream = &mut self.stream;
        let written = write_until_blocked(rest, |rest| stream.write(rest))?;
        if written < rest.len() {
            self.queue().extend_from_slice(&rest[written..]);
        }
        Ok(())
    }

    /// Writes `out` (with nothing queued) in one `writev`: echoes built in place in
    /// `input` and large payloads sent straight from it, around the core's own bytes.
    /// What the socket does not take is queued.
    #[inline(never)]
    pub(super) fn send_vectored(&mut self, out: &Output, input: &[u8]) -> io::Result<()> {
        let mut slices = [IoSlice::new(&[]); MAX_SEGMENTS];
        let n = out.io_slices(input, &mut slices);
        let mut bufs = &mut slices[..n];
        while !bufs.is_empty() {
            let stream = &mut self.stream;
            match retry(|| stream.write_vectored(bufs))? {
                Io::Done(0) => return Err(ErrorKind::WriteZero.into()),
                Io::Done(written) => IoSlice::advance_slices(&mut bufs, written),
                Io::Blocked => break,
            }
        }
        if !bufs.is_empty() {
            let pending = self.queue();
            for piece in bufs.iter() {
                pending.extend_from_slice(piece);
            }
        }
        Ok(())
    }

    /// Writes our last bytes (a close frame, an HTTP error) with nothing queued, with
    /// MSG_MORE, so that the FIN leaves in the same segment as the bytes (one packet, not
    /// two). What the socket does not take is queued. Whether all of it went out.
    #[cold]
    #[inline(never)]
    pub(super) fn send_last(&mut self, data: &[u8]) -> io::Result<bool> {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let fd = self.stream.as_raw_fd();
            let written = write_until_blocked(data, |rest| {
                // SAFETY: send reads `rest.len()` bytes from a slice we borrow.
                let n = unsafe {
                    libc::send(
                        fd,
                        rest.as_ptr().cast(),
                        rest.len(),
                        libc::MSG_MORE | libc::MSG_NOSIGNAL,
                    )
                };
                usize::try_from(n).map_err(|_| io::Error::last_os_error())
            })?;
            if written < data.len() {
                self.queue().extend_from_slice(&data[written..]);
            }
            Ok(written == data.len())
        }
        #[cfg(not(target_os = "linux"))]
        {
            self.send(data)?;
            Ok(self.is_clear())
        }
    }

    /// Writes queued output until done or the socket is full: whether the queue was
    /// drained by this call (its memory is then given back).
    #[inline(never)]
    pub(super) fn flush(&mut self) -> io::Result<bool> {
        let Some(pending) = self.out.as_deref_mut() else {
            return Ok(false);
        };
        let stream = &mut self.stream;
        let rest = &pending.bytes[pending.written..];
        pending.written += write_until_blocked(rest, |rest| stream.write(rest))?;
        if pending.written < pending.bytes.len() {
            return Ok(false);
        }
        // Drained: give the memory back (this buffer is only used under backpressure).
        self.out = None;
        Ok(true)
    }

    /// Sends our FIN (once).
    pub(super) fn shut_write(&mut self) {
        self.flags.set(Flag::WriteShut);
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// Registers WRITABLE only while output is pending.
    pub(super) fn update_interest(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        let want = self.pending() > 0;
        if want != self.wants_writable() {
            if want {
                self.flags.set(Flag::WantsWritable);
            } else {
                self.flags.clear(Flag::WantsWritable);
            }
            let interest = if want {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            registry.reregister(&mut self.stream, token, interest)?;
        }
        Ok(())
    }

    /// One write call while nothing is queued: the bytes it took, 0 when the socket is
    /// full (or output is queued, which must go first).
    fn try_write(
        &mut self,
        mut write: impl FnMut(&mut TcpStream) -> io::Result<usize>,
    ) -> io::Result<usize> {
        if !self.is_clear() {
            return Ok(0);
        }
        match retry(|| write(&mut self.stream))? {
            Io::Done(n) => Ok(n),
            Io::Blocked => Ok(0),
        }
    }
}

/// rustls' records (and any other writer's bytes): into the socket while nothing is
/// queued, the rest behind what is. Takes every byte, so that rustls never holds output
/// the driver does not count.
impl Write for Socket {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        // One buffer: `send`, which costs less than a one-element `writev`.
        let written = self.try_write(|stream| stream.write(data))?;
        if let Some(rest) = data.get(written..).filter(|rest| !rest.is_empty()) {
            self.queue().extend_from_slice(rest);
        }
        Ok(data.len())
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let total = bufs.iter().map(|b| b.len()).sum();
        let written = self.try_write(|stream| stream.write_vectored(bufs))?;
        if written < total {
            let mut skip = written;
            for buf in bufs {
                let from = skip.min(buf.len());
                skip -= from;
                self.queue().extend_from_slice(&buf[from..]);
            }
        }
        Ok(total)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The HTTP/2 layer's frames into a [`Socket`]: written while nothing is queued, the
/// rest queued behind; the layer stops at the first frame the socket refused
/// ([`Sink::blocked`]).
pub(super) struct Frames<'a> {
    pub(super) socket: &'a mut Socket,
    /// The socket failed: nothing more is taken.
    pub(super) error: Option<io::Error>,
}

impl Sink for Frames<'_> {
    fn put(&mut self, parts: &[&[u8]]) {
        if self.error.is_some() {
            return;
        }
        let total: usize = parts.iter().map(|part| part.len()).sum();
        if total <= SMALL {
            // A small frame (an echo of a short message): one `send` of a copy.
            let mut buf = [0u8; SMALL];
            let mut at = 0;
            for part in parts {
                buf[at..at + part.len()].copy_from_slice(part);
                at += part.len();
            }
            if let Err(e) = self.socket.write(&buf[..at]) {
                self.error = Some(e);
            }
            return;
        }
        let mut slices = [IoSlice::new(&[]); MAX_PARTS];
        for group in parts.chunks(MAX_PARTS) {
            for (slot, part) in slices.iter_mut().zip(group) {
                *slot = IoSlice::new(part);
            }
            if let Err(e) = self.socket.write_vectored(&slices[..group.len()]) {
                self.error = Some(e);
                return;
            }
        }
    }

    fn blocked(&self) -> bool {
        !self.socket.is_clear() || self.error.is_some()
    }
}
