//! One client connection: connect, upgrade, then stream masked frames out and verify every
//! echoed byte as it streams back in. Both directions go through fixed buffers, so a 16 MiB
//! message costs the same memory as a 20-byte one and nothing is allocated per message.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use mio::net::TcpStream;
use rustls::ClientConfig;

use crate::Result;
use crate::frame::{self, MAX_HEADER, OP_CLOSE, OP_CONTINUATION};
use crate::h2::H2Io;
use crate::handshake::{self, ACCEPT_LEN};
use crate::hist::Histogram;
use crate::mask::{Rng, apply_mask};
use crate::payload::Payload;
use crate::stream::Stream as Io;
use crate::tls::TlsIo;

/// Settings every connection of a run shares.
#[derive(Debug)]
pub struct Shared {
    pub payload: Payload,
    /// The `Host` header value.
    pub host: String,
    /// Accept masked frames from the server: the raw peer echoes our masked frames byte for byte.
    pub raw: bool,
    /// Speak TLS (wss://) with this configuration.
    pub tls: Option<Arc<ClientConfig>>,
    /// Carry the WebSocket over HTTP/2 (RFC 8441), one stream per connection.
    pub h2: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Connecting,
    Upgrading,
    Open,
}

/// Where the reader is in the frame stream.
#[derive(Debug, Clone, Copy)]
enum Rx {
    Header,
    /// Inside a frame's payload; `offset` counts from the frame's start (for the mask).
    Payload {
        opcode: u8,
        fin: bool,
        remaining: u64,
        offset: u64,
        mask: Option<[u8; 4]>,
    },
}

/// The message being written out.
#[derive(Debug, Clone, Copy)]
struct TxMessage {
    key: [u8; 4],
    offset: usize,
}

/// What a readiness event led to, for the workload to act on.
#[derive(Debug, Default, Clone, Copy)]
pub struct Progress {
    /// The upgrade completed during this event.
    pub upgraded: bool,
    /// Echoes fully received and verified during this event.
    pub echoes: u32,
    /// The server's close frame arrived.
    pub closed: bool,
}

pub struct Conn {
    id: usize,
    io: Io,
    phase: Phase,
    accept: [u8; ACCEPT_LEN],
    rng: Rng,
    wbuf: Box<[u8]>,
    wstart: usize,
    wend: usize,
    /// Messages queued but not yet started.
    queued: u64,
    tx_seq: u64,
    tx: Option<TxMessage>,
    close_queued: bool,
    close_sent: bool,
    rbuf: Box<[u8]>,
    rstart: usize,
    rend: usize,
    rx: Rx,
    rx_seq: u64,
    /// Bytes of message `rx_seq` received so far: servers may echo a message in fragments.
    rx_msg_off: usize,
    /// A fragmented echo has begun, so continuation frames are due.
    rx_in_msg: bool,
    /// When the messages not yet echoed were queued (or, at a fixed rate, were due), oldest
    /// first, run-length encoded: a batch queued at one instant is one entry, so a whole
    /// batch of echoes costs one latency computation and one histogram update.
    sent_at: VecDeque<(Instant, u64)>,
}

impl Conn {
    /// Starts a non-blocking connect; the upgrade request goes out once it is writable.
    pub fn connect(id: usize, addr: SocketAddr, buf_len: usize, sh: &Shared) -> Result<Conn> {
        let stream = TcpStream::connect(addr).map_err(|e| format!("connect to {addr}: {e}"))?;
        let mut io = match &sh.tls {
            None => Io::Plain(stream),
            Some(config) => Io::Tls(Box::new(
                TlsIo::client(stream, Arc::clone(config)).map_err(|e| format!("TLS: {e}"))?,
            )),
        };
        if sh.h2 {
            io = Io::H2(Box::new(H2Io::client(io, &sh.host)));
        }
        let buf_len = buf_len.max(4096);
        Ok(Conn {
            id,
            io,
            phase: Phase::Connecting,
            accept: [0; ACCEPT_LEN],
            rng: Rng::new(id as u64 + 1),
            wbuf: vec![0; buf_len].into_boxed_slice(),
            wstart: 0,
            wend: 0,
            queued: 0,
            tx_seq: 0,
            tx: None,
            close_queued: false,
            close_sent: false,
            rbuf: vec![0; buf_len].into_boxed_slice(),
            rstart: 0,
            rend: 0,
            rx: Rx::Header,
            rx_seq: 0,
            rx_msg_off: 0,
            rx_in_msg: false,
            sent_at: VecDeque::new(),
        })
    }

    pub fn stream(&mut self) -> &mut TcpStream {
        self.io.tcp()
    }

    pub fn is_open(&self) -> bool {
        self.phase == Phase::Open
    }

    /// Messages sent or queued whose echo has not arrived yet.
    pub fn outstanding(&self) -> u64 {
        self.tx_seq + self.queued - self.rx_seq
    }

    /// Queues `n` messages stamped with `at`, the time their latency counts from.
    pub fn queue(&mut self, n: u64, at: Instant) {
        if n == 0 {
            return;
        }
        self.queued += n;
        match self.sent_at.back_mut() {
            Some((last, count)) if *last == at => *count += n,
            _ => self.sent_at.push_back((at, n)),
        }
    }

    /// Records the latencies of the `done` oldest outstanding messages, all echoed by `now`.
    fn record_echoes(&mut self, mut done: u64, now: Instant, hist: &mut Histogram) {
        while done > 0 {
            let (sent, count) = self.sent_at.front_mut().expect("checked in check_header");
            let k = (*count).min(done);
            hist.record_n(now.saturating_duration_since(*sent).as_nanos() as u64, k);
            *count -= k;
            done -= k;
            if *count == 0 {
                self.sent_at.pop_front();
            }
        }
    }

    /// Queues a close frame (code 1000) after the queued messages.
    pub fn queue_close(&mut self) {
        self.close_queued = true;
    }

    /// Handles one readiness event, then writes whatever is pending.
    pub fn on_event(
        &mut self,
        readable: bool,
        sh: &Shared,
        now: Instant,
        hist: &mut Histogram,
    ) -> Result<Progress> {
        let mut progress = Progress::default();
        if self.phase == Phase::Connecting && !self.finish_connect(sh)? {
            return Ok(progress);
        }
        if readable && self.phase == Phase::Upgrading && !self.h2_upgrade(&mut progress)? {
            return Ok(progress);
        }
        if readable {
            self.read(sh, now, hist, &mut progress)?;
        }
        Ok(progress)
    }

    /// Whether the connect completed (and the request was queued); errors if it failed.
    fn finish_connect(&mut self, sh: &Shared) -> Result<bool> {
        if let Some(e) = self
            .io
            .tcp()
            .take_error()
            .map_err(|e| self.fail("connect", e))?
        {
            return Err(self.fail("connect", e));
        }
        match self.io.tcp().peer_addr() {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotConnected => return Ok(false),
            Err(e) => return Err(self.fail("connect", e)),
        }
        self.io
            .tcp()
            .set_nodelay(true)
            .map_err(|e| self.fail("set TCP_NODELAY", e))?;
        self.phase = Phase::Upgrading;
        if matches!(self.io, Io::H2(_)) {
            // The preface is queued already; the request waits for the server's SETTINGS.
            return Ok(true);
        }
        let key = handshake::new_key(&mut self.rng);
        self.accept = handshake::accept_for(&key);
        let mut req = Vec::with_capacity(192);
        handshake::write_request(&mut req, &sh.host, &key);
        self.wbuf[..req.len()].copy_from_slice(&req);
        self.wend = req.len();
        Ok(true)
    }

    /// Over HTTP/2, reads the server's frames until the extended CONNECT is answered; true
    /// once the stream is open (or when this is no HTTP/2 connection).
    fn h2_upgrade(&mut self, progress: &mut Progress) -> Result<bool> {
        let Io::H2(h2) = &mut self.io else {
            return Ok(true);
        };
        if !h2.handshake().map_err(|e| self.fail("HTTP/2", e))? {
            return Ok(false);
        }
        self.phase = Phase::Open;
        progress.upgraded = true;
        Ok(true)
    }

    fn fail(&self, what: &str, e: io::Error) -> String {
        format!("connection {}: {what}: {e}", self.id)
    }

    /// Reads until the socket is drained, handling every complete piece as it arrives.
    fn read(
        &mut self,
        sh: &Shared,
        now: Instant,
        hist: &mut Histogram,
        progress: &mut Progress,
    ) -> Result<()> {
        loop {
            let space = self.rbuf.len() - self.rend;
            let n = match self.io.read(&mut self.rbuf[self.rend..]) {
                Ok(0) if progress.closed => return Ok(()),
                Ok(0) => {
                    return Err(format!(
                        "connection {}: server closed the connection unexpectedly",
                        self.id
                    ));
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.fail("read", e)),
            };
            self.rend += n;
            if self.phase == Phase::Upgrading {
                match handshake::parse_response(&self.rbuf[..self.rend], &self.accept)
                    .map_err(|e| format!("connection {}: {e}", self.id))?
                {
                    Some(head) => {
                        self.rstart = head;
                        self.phase = Phase::Open;
                        progress.upgraded = true;
                    }
                    None if self.rend == self.rbuf.len() => {
                        return Err(format!("connection {}: upgrade response too long", self.id));
                    }
                    None => continue,
                }
            }
            self.parse(sh, now, hist, progress)?;
            // A short read means the kernel buffer was emptied: edge-triggered readiness will
            // fire again when more arrives, so the extra read that returns EAGAIN is skipped.
            // Not over TLS: a short read of plaintext says nothing about the socket.
            let drained = n < space && self.io.short_read_drains();
            if drained || progress.closed {
                return Ok(());
            }
        }
    }

    /// Consumes frames from `rbuf`; payload bytes are verified as they stream through, so
    /// only an incomplete header (under 14 bytes) is ever kept for the next read.
    fn parse(
        &mut self,
        sh: &Shared,
        now: Instant,
        hist: &mut Histogram,
        progress: &mut Progress,
    ) -> Result<()> {
        // Echoes completed here: all share `now`, so they are recorded together at the end.
        let mut done = 0u64;
        loop {
            match self.rx {
                Rx::Header => {
                    if self.whole_echo(sh)? {
                        done += 1;
                        continue;
                    }
                    let Some(h) = frame::parse_header(&self.rbuf[self.rstart..self.rend])
                        .map_err(|e| format!("connection {}: {e}", self.id))?
                    else {
                        break;
                    };
                    self.check_header(&h, sh)?;
                    self.rstart += h.header_len;
                    self.rx = Rx::Payload {
                        opcode: h.opcode,
                        fin: h.fin,
                        remaining: h.len,
                        offset: 0,
                        mask: h.mask,
                    };
                }
                Rx::Payload {
                    opcode,
                    fin,
                    remaining,
                    offset,
                    mask,
                } => {
                    let n = (remaining as usize).min(self.rend - self.rstart);
                    if n == 0 && remaining > 0 {
                        break;
                    }
                    let chunk = &mut self.rbuf[self.rstart..self.rstart + n];
                    if let Some(key) = mask {
                        apply_mask(chunk, key, offset);
                    }
                    if opcode != OP_CLOSE {
                        if !sh.payload.matches(self.rx_seq, self.rx_msg_off, chunk) {
                            return Err(format!(
                                "connection {}: echo of message {} differs from what was sent, within bytes {}..{}",
                                self.id,
                                self.rx_seq,
                                self.rx_msg_off,
                                self.rx_msg_off + n
                            ));
                        }
                        self.rx_msg_off += n;
                    }
                    self.rstart += n;
                    let remaining = remaining - n as u64;
                    self.rx = Rx::Payload {
                        opcode,
                        fin,
                        remaining,
                        offset: offset + n as u64,
                        mask,
                    };
                    if remaining > 0 {
                        continue;
                    }
                    self.rx = Rx::Header;
                    if opcode == OP_CLOSE {
                        progress.closed = true;
                        break;
                    }
                    self.rx_in_msg = !fin;
                    if fin {
                        self.rx_seq += 1;
                        self.rx_msg_off = 0;
                        done += 1;
                    }
                }
            }
        }
        progress.echoes += done as u32;
        self.record_echoes(done, now, hist);
        // Keep the partial header (if any) at the front so the next read has room.
        self.rbuf.copy_within(self.rstart..self.rend, 0);
        self.rend -= self.rstart;
        self.rstart = 0;
        Ok(())
    }

    /// The common case in one step: the next frame is a whole, unfragmented echo of the next
    /// message, entirely in `rbuf`. Checks what `check_header` would, verifies the payload,
    /// consumes it and returns true; returns false (consuming nothing) for anything else, which
    /// the general path then handles, rejecting whatever is wrong with it.
    fn whole_echo(&mut self, sh: &Shared) -> Result<bool> {
        let size = sh.payload.size;
        if size >= 126 || self.rx_in_msg || self.rx_seq >= self.tx_seq + self.tx.is_some() as u64 {
            return Ok(false);
        }
        let buf = &mut self.rbuf[self.rstart..self.rend];
        let [b0, b1, ..] = *buf else {
            return Ok(false);
        };
        let masked = b1 & 0x80 != 0;
        if b0 != 0x80 | sh.payload.kind.opcode()
            || (b1 & 0x7f) as usize != size
            || (masked && !sh.raw)
        {
            return Ok(false);
        }
        let head = if masked { 6 } else { 2 };
        let Some(frame) = buf.get_mut(..head + size) else {
            return Ok(false);
        };
        let (h, body) = frame.split_at_mut(head);
        if masked {
            apply_mask(body, [h[2], h[3], h[4], h[5]], 0);
        }
        if !sh.payload.matches_whole(self.rx_seq, body) {
            return Err(format!(
                "connection {}: echo of message {} differs from what was sent, within bytes 0..{size}",
                self.id, self.rx_seq
            ));
        }
        self.rstart += head + size;
        self.rx_seq += 1;
        Ok(true)
    }

    /// Rejects any frame an echo of our traffic cannot be. Echoes may come fragmented
    /// (RFC 6455 §5.4 lets any sender fragment), but must add up to the message sent.
    fn check_header(&self, h: &frame::Header, sh: &Shared) -> Result<()> {
        let bad = |why: String| Err(format!("connection {}: {why}", self.id));
        if h.mask.is_some() && !sh.raw {
            return bad("server sent a masked frame".into());
        }
        if h.opcode == OP_CLOSE {
            if !self.close_sent {
                return bad("server closed the connection before the client did".into());
            }
            return Ok(());
        }
        let want = if self.rx_in_msg {
            OP_CONTINUATION
        } else {
            sh.payload.kind.opcode()
        };
        if h.opcode != want {
            return bad(format!(
                "echo frame has opcode {:#x}, expected {want:#x} ({} message{})",
                h.opcode,
                sh.payload.kind.name(),
                if self.rx_in_msg { ", continued" } else { "" }
            ));
        }
        let end = self.rx_msg_off as u64 + h.len;
        let size = sh.payload.size as u64;
        if end > size || (h.fin && end < size) {
            return bad(format!(
                "echo of message {} reaches {} bytes{}, but {size} were sent",
                self.rx_seq,
                end,
                if h.fin { " in all" } else { " so far" }
            ));
        }
        // A message still being written can already be echoing back through the raw peer.
        if self.rx_seq >= self.tx_seq + self.tx.is_some() as u64 {
            return bad(format!(
                "echo of message {} arrived before it was sent",
                self.rx_seq
            ));
        }
        Ok(())
    }

    /// Writes pending bytes until done or the socket is full, generating frames as room frees up.
    pub fn flush(&mut self, sh: &Shared) -> Result<()> {
        if self.phase == Phase::Connecting {
            return Ok(());
        }
        if let Err(e) = self.io.send_pending() {
            // Ciphertext the socket refused last time (handshake messages too).
            return Err(self.fail("write", e));
        }
        loop {
            if self.wstart == self.wend {
                self.wstart = 0;
                self.wend = 0;
                if self.phase == Phase::Open {
                    self.generate(sh);
                }
                if self.wend == 0 {
                    return Ok(());
                }
            }
            let want = self.wend - self.wstart;
            match self.io.write(&self.wbuf[self.wstart..self.wend]) {
                Ok(n) => {
                    self.wstart += n;
                    // A short write means the socket buffer is full; the writable edge resumes us.
                    if n < want {
                        return Ok(());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.fail("write", e)),
            }
        }
    }

    /// Fills `wbuf` with masked frames: queued messages, then the close frame if asked for.
    fn generate(&mut self, sh: &Shared) {
        let size = sh.payload.size;
        while self.wend < self.wbuf.len() {
            let Some(tx) = self.tx.as_mut() else {
                if self.wbuf.len() - self.wend < MAX_HEADER + 2 {
                    break;
                }
                let space = self.wbuf.len() - self.wend;
                if self.queued > 0 && space >= frame::client_header_len(size as u64) + size {
                    // The whole frame fits: write it in one go, with no streaming state.
                    self.queued -= 1;
                    let key = self.rng.mask_key();
                    let dst = &mut self.wbuf[self.wend..];
                    let head = frame::encode_client_header(
                        dst,
                        sh.payload.kind.opcode(),
                        size as u64,
                        key,
                    );
                    sh.payload
                        .write_masked(self.tx_seq, &mut dst[head..head + size], key);
                    self.wend += head + size;
                    self.tx_seq += 1;
                    continue;
                }
                if self.queued > 0 {
                    self.queued -= 1;
                    let key = self.rng.mask_key();
                    self.wend += frame::encode_client_header(
                        &mut self.wbuf[self.wend..],
                        sh.payload.kind.opcode(),
                        size as u64,
                        key,
                    );
                    self.tx = Some(TxMessage { key, offset: 0 });
                    if size == 0 {
                        self.end_message();
                    }
                    continue;
                }
                if self.close_queued && !self.close_sent {
                    let key = self.rng.mask_key();
                    self.wend +=
                        frame::encode_client_header(&mut self.wbuf[self.wend..], OP_CLOSE, 2, key);
                    let body = &mut self.wbuf[self.wend..self.wend + 2];
                    body.copy_from_slice(&1000u16.to_be_bytes());
                    apply_mask(body, key, 0);
                    self.wend += 2;
                    self.close_sent = true;
                }
                break;
            };
            let n = (size - tx.offset).min(self.wbuf.len() - self.wend);
            let dst = &mut self.wbuf[self.wend..self.wend + n];
            sh.payload.fill(self.tx_seq, tx.offset, dst);
            apply_mask(dst, tx.key, tx.offset as u64);
            tx.offset += n;
            self.wend += n;
            if tx.offset == size {
                self.end_message();
            }
        }
    }

    fn end_message(&mut self) {
        self.tx = None;
        self.tx_seq += 1;
    }
}
