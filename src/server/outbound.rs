//! One outbound connection, driven by its own one-connection mio poll: the client role's
//! driver. It is the server's driver in miniature and reuses its I/O: the [`Socket`]
//! (the one write path: direct while nothing is queued, queued behind otherwise, WRITABLE
//! interest only while output waits) and its reads (EINTR retried, WouldBlock as
//! `Blocked`, in `nonblock.rs`). The layers are the same too: an optional
//! [`TlsLayer<ClientConnection>`] under the I/O-free [`ClientCore`].
//!
//! What is new is only what a client does and a server does not: the non-blocking
//! connect, complete on the socket's first WRITABLE edge, whose outcome `take_error`
//! says. Tests (and later the conformance suite's client side) use it through
//! `wsecho::fuzzing::client`.

use std::io::{self, ErrorKind};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};

use super::socket::{Received, Socket};
use crate::connection::client::{ClientCore, ClientEvent, ClientOptions, ClientStatus};
use crate::frame::{CloseCode, Opcode};
use crate::tls::TlsLayer;

/// The poll's one registration.
const TOKEN: Token = Token(0);

/// The receive buffer: a 70 KiB message takes two reads.
const READ_BUF: usize = 64 << 10;

/// The plaintext buffer: rustls gives at most 16 KiB of plaintext a record.
const PLAIN_BUF: usize = 16 << 10;

/// Where to connect, what to ask for, and over what.
pub struct Target {
    /// The server's address.
    pub addr: SocketAddr,
    /// The request and the client's limits.
    pub options: ClientOptions,
    /// `wss://`: the TLS configuration (see `tls::setup::client_config`) and the name
    /// the certificate must be valid for.
    pub tls: Option<(Arc<ClientConfig>, ServerName<'static>)>,
}

/// An outbound WebSocket connection with its own poll.
pub struct Outbound {
    poll: Poll,
    events: Events,
    socket: Socket,
    tls: Option<TlsLayer<ClientConnection>>,
    core: ClientCore,
    /// What the socket read (ciphertext, over TLS).
    buf: Vec<u8>,
    /// Plaintext from TLS.
    plain: Vec<u8>,
    /// What the core wrote, to go out (encrypted, over TLS).
    out: Vec<u8>,
    /// The socket is shut down: no more events but those the core holds.
    closed: bool,
}

/// Connects to `target` (within `within`) and sends the upgrade request; the answer
/// comes as [`ClientEvent::Opened`] (or a failure) from [`Outbound::next_event`].
pub fn connect(target: Target, within: Duration) -> io::Result<Outbound> {
    let give_up = Instant::now() + within;
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(4);
    let mut stream = TcpStream::connect(target.addr)?;
    poll.registry()
        .register(&mut stream, TOKEN, Interest::READABLE | Interest::WRITABLE)?;
    // A non-blocking connect completes on the first WRITABLE edge: then the socket's
    // pending error says whether it failed, and `peer_addr` whether it is connected
    // (mio's documented procedure for `TcpStream::connect`).
    loop {
        poll_until(&mut poll, &mut events, give_up)?;
        if !events.iter().any(|e| e.is_writable() || e.is_error()) {
            continue;
        }
        if let Some(e) = stream.take_error()? {
            return Err(e);
        }
        match stream.peer_addr() {
            Ok(_) => break,
            Err(e) if e.kind() == ErrorKind::NotConnected => continue,
            Err(e) => return Err(e),
        }
    }
    stream.set_nodelay(true)?;
    // From here on as the server's sockets: READABLE, and WRITABLE only while output
    // waits (`Socket::update_interest`).
    poll.registry()
        .reregister(&mut stream, TOKEN, Interest::READABLE)?;
    let tls = match target.tls {
        Some((config, name)) => Some(TlsLayer::client(&config, name).map_err(io::Error::other)?),
        None => None,
    };
    let mut out = Vec::new();
    let core =
        ClientCore::new(&target.options, Instant::now(), &mut out).map_err(io::Error::other)?;
    let mut outbound = Outbound {
        poll,
        events,
        socket: Socket::new(stream),
        tls,
        core,
        buf: vec![0; READ_BUF],
        plain: vec![0; PLAIN_BUF],
        out,
        closed: false,
    };
    outbound.emit()?;
    Ok(outbound)
}

/// One `poll` until `until` at the latest (`TimedOut` once it has passed); a signal's
/// interruption is an empty turn.
fn poll_until(poll: &mut Poll, events: &mut Events, until: Instant) -> io::Result<()> {
    let now = Instant::now();
    if now >= until {
        // No stale readiness from the last turn is taken for new.
        events.clear();
        return Err(ErrorKind::TimedOut.into());
    }
    match poll.poll(events, Some(until - now)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::Interrupted => Ok(()),
        Err(e) => Err(e),
    }
}

impl Outbound {
    /// Sends a whole message (or a ping or pong), masked.
    pub fn send(&mut self, opcode: Opcode, payload: &[u8]) -> io::Result<()> {
        self.core
            .send(opcode, payload, &mut self.out)
            .map_err(io::Error::other)?;
        self.emit()
    }

    /// Starts the close handshake; the server's close and then the end of TCP come as
    /// events.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> io::Result<()> {
        self.core
            .close(code, reason, Instant::now(), &mut self.out)
            .map_err(io::Error::other)?;
        self.emit()
    }

    /// What TLS agreed (version, cipher suite, ALPN), over `wss://`.
    pub fn tls_negotiated(&self) -> Option<String> {
        self.tls.as_ref().map(TlsLayer::negotiated)
    }

    /// The next event, waiting for it up to `within` (`TimedOut` then): `None` once the
    /// connection is over and every event was taken.
    pub fn next_event(&mut self, within: Duration) -> io::Result<Option<ClientEvent>> {
        let give_up = Instant::now() + within;
        loop {
            if let Some(event) = self.core.poll_event() {
                return Ok(Some(event));
            }
            if self.closed {
                return Ok(None);
            }
            let until = self.core.deadline().map_or(give_up, |at| at.min(give_up));
            match poll_until(&mut self.poll, &mut self.events, until) {
                Err(e) if e.kind() == ErrorKind::TimedOut && until < give_up => {}
                other => other?,
            }
            let (mut readable, mut writable) = (false, false);
            for event in self.events.iter() {
                readable |= event.is_readable() || event.is_read_closed() || event.is_error();
                writable |= event.is_writable();
            }
            let now = Instant::now();
            if writable {
                self.socket.flush()?;
            }
            if readable {
                self.read(now)?;
            }
            self.core.handle_timeout(now);
            self.emit()?;
            self.settle();
        }
    }

    /// Reads until the socket would block (edge-triggered: no new edge comes before),
    /// the server closed TCP, or the core reads no more.
    fn read(&mut self, now: Instant) -> io::Result<()> {
        while self.core.status() == ClientStatus::Open {
            match self.socket.read(&mut self.buf) {
                Received::Data(n) => self.take(n, now)?,
                Received::Blocked => break,
                // A reset is an end too: the core says whether the close handshake was
                // done by then.
                Received::Eof | Received::Failed(_) => self.core.handle_eof(),
            }
        }
        Ok(())
    }

    /// Hands `n` bytes read to the layers: through TLS (until its plaintext is taken),
    /// then to the core.
    fn take(&mut self, n: usize, now: Instant) -> io::Result<()> {
        let Outbound {
            buf,
            plain,
            tls,
            core,
            out,
            ..
        } = self;
        let Some(tls) = tls else {
            core.handle_input(&mut buf[..n], now, out);
            return self.emit();
        };
        let mut input = &buf[..n];
        loop {
            let got = tls
                .decrypt(&mut input, plain)
                .map_err(|e| io::Error::other(e.to_string()))?;
            core.handle_input(&mut plain[..got.len], now, out);
            if got.closed {
                // The server's close_notify: it closes TCP next.
                core.handle_eof();
                break;
            }
            if got.len < plain.len() {
                break;
            }
        }
        self.emit()
    }

    /// Writes what the core produced: encrypted over TLS (with the handshake's records
    /// and our close_notify once the core is done), through the socket's one write path.
    fn emit(&mut self) -> io::Result<()> {
        let status = self.core.status();
        let written = match &mut self.tls {
            Some(tls) => {
                tls.encrypt(&self.out);
                if status != ClientStatus::Open {
                    tls.close_notify();
                }
                tls.write_ciphertext(&mut self.socket)
            }
            None if self.out.is_empty() => Ok(()),
            None if self.socket.is_clear() => self.socket.send(&self.out),
            None => {
                self.socket.queue().extend_from_slice(&self.out);
                Ok(())
            }
        };
        self.out.clear();
        match written {
            // The server closed first (§7.1.1): our goodbye may find no one.
            Err(_) if status == ClientStatus::Done => Ok(()),
            Err(e) => Err(e),
            Ok(()) if self.closed => Ok(()),
            Ok(()) => self.socket.update_interest(self.poll.registry(), TOKEN),
        }
    }

    /// Shuts the socket down once the core is done with it: at once when the server
    /// ended TCP (or the client gave up waiting for that), after our last bytes when it
    /// failed.
    fn settle(&mut self) {
        let finished = match self.core.status() {
            ClientStatus::Open => false,
            ClientStatus::Finishing => self.socket.pending() == 0,
            ClientStatus::Done => true,
        };
        if finished && !self.closed {
            self.closed = true;
            let _ = self.poll.registry().deregister(&mut self.socket.stream);
            let _ = self.socket.stream.shutdown(Shutdown::Both);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::client::ClientError;

    fn plain(addr: SocketAddr, timeout: Duration) -> Target {
        let mut options = ClientOptions::new(addr.to_string(), "/");
        options.timeout = timeout;
        Target {
            addr,
            options,
            tls: None,
        }
    }

    #[test]
    fn a_refused_connect_is_the_error_the_writable_edge_brings() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let err = connect(plain(addr, Duration::from_secs(1)), Duration::from_secs(5))
            .err()
            .expect("nothing listens there");
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    }

    #[test]
    fn a_silent_server_times_the_handshake_out_through_the_poll() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut client = connect(
            plain(addr, Duration::from_millis(100)),
            Duration::from_secs(5),
        )
        .expect("the kernel accepts for the listener");
        let (mut peer, _) = listener.accept().unwrap();
        let started = Instant::now();
        let event = client.next_event(Duration::from_secs(5)).unwrap();
        assert_eq!(
            event,
            Some(ClientEvent::Failed(ClientError::TimedOut {
                during: "handshake"
            }))
        );
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(client.next_event(Duration::from_secs(5)).unwrap(), None);
        // The request had gone out, and the client then closed TCP.
        let mut request = Vec::new();
        std::io::Read::read_to_end(&mut peer, &mut request).unwrap();
        assert!(request.starts_with(b"GET / HTTP/1.1\r\n"));
    }
}
