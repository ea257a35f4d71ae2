//! `peer-raw`: the practical limit for an echo server on one mio loop. It answers the upgrade
//! (a real 101 with the right accept key, so clients need no special handshake) and then
//! echoes bytes as they come, with no framing at all: the same reads and writes a WebSocket
//! server makes, minus the protocol work. The load generator runs with `--raw` against it,
//! since its own masked frames come back still masked. With `--tls` it is the limit for a
//! `wss://` server: rustls on the same loop, the same reads and writes plus the crypto.

use std::io::{self, Read, Write};
use std::sync::Arc;

use clap::Parser;
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};
use wsecho_bench::handshake::accept_for;
use wsecho_bench::peer::{PeerArgs, announce};
use wsecho_bench::stream::Stream;
use wsecho_bench::tls::{TlsIo, server_config};

const LISTENER: Token = Token(usize::MAX);
/// Upgrade requests longer than this are refused, as a real server would.
const MAX_HEAD: usize = 8 << 10;

struct Conn {
    stream: Stream,
    /// The upgrade request as it accumulates; empty once upgraded.
    head: Vec<u8>,
    upgraded: bool,
    /// Echo bytes the socket did not take yet; reading pauses until they drain.
    pending: Vec<u8>,
}

fn main() -> io::Result<()> {
    let args = PeerArgs::parse();
    let mut listener = TcpListener::bind(args.addr())?;
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    announce("peer-raw", listener.local_addr()?, args.tls);
    let tls = args.tls.then(server_config);

    let mut events = Events::with_capacity(1024);
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    // One read buffer for all connections: bytes are written back before the next read.
    let mut buf = vec![0u8; 64 << 10];
    loop {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        for ev in events.iter() {
            if ev.token() == LISTENER {
                accept_all(&listener, &poll, &mut conns, &mut free, tls.as_ref())?;
                continue;
            }
            let id = ev.token().0;
            let Some(conn) = conns.get_mut(id).and_then(Option::as_mut) else {
                continue;
            };
            let alive = (!ev.is_writable() || drain(conn)) && pump(conn, &mut buf);
            if !alive {
                let mut conn = conns[id].take().expect("present");
                let _ = poll.registry().deregister(conn.stream.tcp());
                free.push(id);
            }
        }
    }
}

fn accept_all(
    listener: &TcpListener,
    poll: &Poll,
    conns: &mut Vec<Option<Conn>>,
    free: &mut Vec<usize>,
    tls: Option<&Arc<rustls::ServerConfig>>,
) -> io::Result<()> {
    loop {
        let (mut stream, _) = match listener.accept() {
            Ok(s) => s,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // Out of descriptors or similar: keep serving the connections we have.
            Err(_) => return Ok(()),
        };
        let _ = stream.set_nodelay(true);
        let id = free.pop().unwrap_or_else(|| {
            conns.push(None);
            conns.len() - 1
        });
        poll.registry().register(
            &mut stream,
            Token(id),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        let stream = match tls {
            None => Stream::Plain(stream),
            Some(config) => Stream::Tls(Box::new(TlsIo::server(stream, config)?)),
        };
        conns[id] = Some(Conn {
            stream,
            head: Vec::new(),
            upgraded: false,
            pending: Vec::new(),
        });
    }
}

/// Writes pending echo bytes; false if the connection failed.
fn drain(conn: &mut Conn) -> bool {
    if conn.stream.send_pending().is_err() {
        return false;
    }
    while !conn.pending.is_empty() {
        match conn.stream.write(&conn.pending) {
            Ok(n) => {
                conn.pending.drain(..n);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    true
}

/// Reads and echoes until the socket is drained or the peer stops taking our writes;
/// false once the connection is finished.
fn pump(conn: &mut Conn, buf: &mut [u8]) -> bool {
    while conn.pending.is_empty() && !conn.stream.has_pending() {
        let n = match conn.stream.read(buf) {
            Ok(0) => return false,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        };
        let data = &buf[..n];
        let ok = if conn.upgraded {
            echo(conn, data)
        } else {
            upgrade(conn, data)
        };
        // A short read emptied the socket; the next edge brings us back.
        if !ok || (n < buf.len() && conn.stream.short_read_drains()) {
            return ok;
        }
    }
    true
}

/// Writes `data` back, keeping what the socket does not take.
fn echo(conn: &mut Conn, data: &[u8]) -> bool {
    let mut done = 0;
    while done < data.len() {
        match conn.stream.write(&data[done..]) {
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    conn.pending.extend_from_slice(&data[done..]);
    true
}

/// Collects the request head; once complete, answers 101 and echoes whatever followed it.
fn upgrade(conn: &mut Conn, data: &[u8]) -> bool {
    conn.head.extend_from_slice(data);
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req.parse(&conn.head) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return conn.head.len() <= MAX_HEAD,
        Err(_) => return false,
    };
    let Some(key) = req
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("sec-websocket-key"))
    else {
        return false;
    };
    let accept = accept_for(std::str::from_utf8(key.value).unwrap_or("").trim());
    let mut resp = Vec::with_capacity(160);
    resp.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ");
    resp.extend_from_slice(&accept);
    resp.extend_from_slice(b"\r\n\r\n");
    let rest = conn.head.split_off(head_len);
    conn.head = Vec::new();
    conn.upgraded = true;
    echo(conn, &resp) && echo(conn, &rest)
}
