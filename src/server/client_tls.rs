//! The layered half of [`Client`]: connections whose first byte is still to be seen,
//! `wss://` connections, whose bytes pass through the TLS layer on their way to and from
//! the same protocol core as plain ones, and traced connections, whose bytes pass the
//! trace's tap. Plain connections never come here.

use std::io;
use std::time::Instant;

use log::{debug, warn};

use super::{Client, MAX_READS_PER_EVENT, ReadOutcome, Step};
use crate::config::Config;
use crate::connection::{Output, Status};
use crate::handshake::HttpStatus;
use crate::server::socket::Received;
use crate::stack::say_goodbye;
use crate::tls::sniff::{FirstByte, classify};
use crate::tls::{TlsLayer, TlsSetup};
use crate::trace::Item;

/// The body of the 400 a cleartext client gets with `--tls-only`.
pub(super) const TLS_ONLY_BODY: &str =
    "this port speaks TLS only: connect with wss:// (or https:// for the page)\n";

/// What the log says when a TLS client reaches a server without TLS.
pub(super) const TLS_ON_CLEARTEXT_PORT: &str =
    "TLS handshake on a cleartext port: start wsecho with --tls-cert/--tls-self-signed";

/// The loop's buffers for TLS connections, allocated only when TLS is configured.
#[derive(Default)]
pub(in crate::server) struct TlsBuffers {
    /// Ciphertext as read from the socket.
    pub cipher: Vec<u8>,
    /// The core's output made contiguous, to be encrypted in one go.
    pub flat: Vec<u8>,
}

impl TlsBuffers {
    /// Ciphertext reads this large: rustls deframes 4 KiB at a time from it, so it is
    /// the system calls that a big buffer saves.
    const CIPHER_LEN: usize = 64 << 10;

    pub(in crate::server) fn new() -> Self {
        TlsBuffers {
            cipher: vec![0; Self::CIPHER_LEN],
            flat: Vec::new(),
        }
    }
}

impl Client {
    /// [`Client::read`] for a layered connection: the first read tells TLS from
    /// cleartext; TLS connections then read through the TLS layer.
    #[inline(never)]
    pub(in crate::server) fn read_layered(
        &mut self,
        buf: &mut [u8],
        tls_bufs: &mut TlsBuffers,
        out: &mut Output,
        config: &std::sync::Arc<Config>,
        setup: Option<&TlsSetup>,
        now: Instant,
    ) -> ReadOutcome {
        if self.tls.is_none() {
            if self.h2.is_some() {
                return self.read_h2(buf, now);
            }
            if self.sniffed {
                return self.read_traced(buf, out, now);
            }
            return self.read_first(buf, tls_bufs, out, config, setup, now);
        }
        if let Err(e) = self.h2_turn(now) {
            return ReadOutcome::Error(e);
        }
        for _ in 0..MAX_READS_PER_EVENT {
            if let Step::Stop(outcome) = self.read_tls_once(buf, tls_bufs, out, config, now) {
                return outcome;
            }
        }
        self.read_yielded = true;
        ReadOutcome::Ok
    }

    /// The connection's first bytes: TLS, cleartext, or a TLS client on a server
    /// without TLS.
    fn read_first(
        &mut self,
        buf: &mut [u8],
        tls_bufs: &mut TlsBuffers,
        out: &mut Output,
        config: &std::sync::Arc<Config>,
        setup: Option<&TlsSetup>,
        now: Instant,
    ) -> ReadOutcome {
        // With TLS set up, read into the ciphertext buffer, where a TLS client's bytes
        // belong (a cleartext client's are copied once).
        let tls_ready = setup.is_some() && !tls_bufs.cipher.is_empty();
        let target: &mut [u8] = if tls_ready { &mut tls_bufs.cipher } else { buf };
        let n = match self.socket.read(target) {
            Received::Eof => {
                self.peer_eof();
                return ReadOutcome::Ok;
            }
            Received::Data(n) => n,
            Received::Blocked => return ReadOutcome::Ok,
            Received::Failed(e) => return ReadOutcome::Error(e),
        };
        self.sniffed = true;
        match (classify(target[0]), setup) {
            (FirstByte::Tls, Some(setup)) if tls_ready => {
                let layer = match TlsLayer::new(&setup.config) {
                    Ok(layer) => layer,
                    Err(e) => return ReadOutcome::Error(io::Error::other(e)),
                };
                self.tls = Some(Box::new(layer));
                if let Err(outcome) = self.tls_input(n, buf, tls_bufs, out, config, now) {
                    return outcome;
                }
                self.read_layered(buf, tls_bufs, out, config, Some(setup), now)
            }
            (FirstByte::Tls, _) => {
                warn!("{}: {TLS_ON_CLEARTEXT_PORT}", self.peer);
                ReadOutcome::Dropped
            }
            (FirstByte::Cleartext, setup)
                if config.http2
                    && crate::h2::sniff::is_preface_start(&target[..n])
                    && !setup.is_some_and(|s| s.only) =>
            {
                // HTTP/2 with prior knowledge (h2c): its bytes belong in `buf`.
                if tls_ready {
                    buf[..n].copy_from_slice(&tls_bufs.cipher[..n]);
                }
                let refuse = std::mem::take(&mut self.full).then(|| {
                    (
                        HttpStatus::ServiceUnavailable,
                        full_body(config.max_connections),
                    )
                });
                self.start_h2(config, refuse, now);
                self.h2_input(&buf[..n], now);
                if let Err(e) = self.h2_pump() {
                    return ReadOutcome::Error(e);
                }
                self.read_h2(buf, now)
            }
            (FirstByte::Cleartext, setup) => {
                // Only a traced connection stays off the plain path.
                self.layered = self.trace.is_some();
                if std::mem::take(&mut self.full) {
                    self.reject(
                        HttpStatus::ServiceUnavailable,
                        &full_body(config.max_connections),
                        now,
                    );
                } else if setup.is_some_and(|s| s.only) {
                    self.reject(HttpStatus::BadRequest, TLS_ONLY_BODY, now);
                }
                // Cleartext from here on: its bytes belong in `buf`.
                if tls_ready {
                    buf[..n].copy_from_slice(&tls_bufs.cipher[..n]);
                }
                if self.layered {
                    return match self.traced_input(buf, n, out, now) {
                        Step::More => self.read_traced(buf, out, now),
                        Step::Stop(outcome) => outcome,
                    };
                }
                match self.take_read(buf, n, out, now) {
                    Step::More => self.read_more(buf, out, now),
                    Step::Stop(outcome) => outcome,
                }
            }
        }
    }

    /// One read of ciphertext and what it decrypted to, processed and written.
    fn read_tls_once(
        &mut self,
        buf: &mut [u8],
        tls_bufs: &mut TlsBuffers,
        out: &mut Output,
        config: &std::sync::Arc<Config>,
        now: Instant,
    ) -> Step {
        if self.pending_out() > 0 && self.backpressure(now) {
            self.read_paused = true;
            return Step::Stop(ReadOutcome::Ok);
        }
        if self.h2_holds_reads() {
            return Step::Stop(ReadOutcome::Ok);
        }
        self.read_paused = false;
        match self.socket.read(&mut tls_bufs.cipher) {
            Received::Eof => {
                debug!(
                    "{}: TCP closed by client without a TLS close_notify",
                    self.peer
                );
                self.peer_eof();
                // A half-closed client still reads: what is queued for it goes out
                // before the socket closes, and our close_notify after it.
                if let Some(tls) = self.tls.as_deref_mut() {
                    say_goodbye(&self.conn, tls);
                    if let Err(e) = tls.write_ciphertext(&mut self.socket) {
                        return Step::Stop(ReadOutcome::Error(e));
                    }
                }
                Step::Stop(ReadOutcome::Ok)
            }
            Received::Data(n) => {
                let drained = n < tls_bufs.cipher.len() && !self.read_to_eof;
                if let Err(outcome) = self.tls_input(n, buf, tls_bufs, out, config, now) {
                    return Step::Stop(outcome);
                }
                if self.h2.is_some() {
                    if let Err(e) = self.h2_pump() {
                        return Step::Stop(ReadOutcome::Error(e));
                    }
                    let open = self.h2_status() == Some(Status::Open);
                    return if self.h2_holds_reads() || drained || !open {
                        Step::Stop(ReadOutcome::Ok)
                    } else {
                        Step::More
                    };
                }
                self.step_after(drained)
            }
            Received::Blocked => Step::Stop(ReadOutcome::Ok),
            Received::Failed(e) => Step::Stop(ReadOutcome::Error(e)),
        }
    }

    /// `tls_bufs.cipher[..n]` through TLS, its plaintext through the core (`buf` holds
    /// it), the core's output back through TLS, and the ciphertext out. A TLS failure is
    /// logged here, its alert written, and the connection is to be dropped.
    fn tls_input(
        &mut self,
        n: usize,
        buf: &mut [u8],
        tls_bufs: &mut TlsBuffers,
        out: &mut Output,
        config: &std::sync::Arc<Config>,
        now: Instant,
    ) -> Result<(), ReadOutcome> {
        let Client {
            socket,
            conn,
            peer,
            tls,
            full,
            trace,
            h2,
            ..
        } = self;
        let Some(tls) = tls.as_deref_mut() else {
            return Ok(());
        };
        if tls.close_notify_sent() {
            // We said goodbye: what the client still sends is not read (see `say_goodbye`).
            return Ok(());
        }
        let mut cipher = &tls_bufs.cipher[..n];
        let mut failed = false;
        loop {
            let handshaking = tls.is_handshaking();
            let decrypted = match tls.decrypt(&mut cipher, buf) {
                Ok(d) => d,
                Err(e) => {
                    debug!("{}: dropped: {e}", peer);
                    failed = true;
                    break;
                }
            };
            if handshaking && !tls.is_handshaking() {
                debug!("{}: TLS handshake done: {}", peer, tls.negotiated());
                if tls.alpn_is_h2() {
                    // The client chose HTTP/2 by ALPN (RFC 9113 §3.2).
                    let refuse = std::mem::take(full).then(|| {
                        let body = full_body(config.max_connections);
                        (HttpStatus::ServiceUnavailable, body)
                    });
                    let tap = trace.as_deref_mut();
                    *h2 = Some(super::http2::h2_layer(
                        config,
                        &socket.stream,
                        refuse,
                        tap,
                        true,
                        now,
                    ));
                }
                if std::mem::take(full) {
                    // The server was full at accept: now the 503 can be read.
                    let mut plain = Vec::new();
                    conn.reject(
                        HttpStatus::ServiceUnavailable,
                        &full_body(config.max_connections),
                        now,
                        &mut plain,
                    );
                    if let Some(tap) = trace.as_deref_mut() {
                        tap.tx(&plain);
                    }
                    tls.encrypt(&plain);
                }
            }
            if decrypted.len > 0
                && let Some(h2) = h2.as_deref_mut()
            {
                h2.handle_input(&buf[..decrypted.len], now);
            } else if decrypted.len > 0 {
                out.clear();
                let input = &mut buf[..decrypted.len];
                if let Some(tap) = trace.as_deref_mut() {
                    tap.rx(input);
                }
                conn.handle_input(input, now, out);
                let plain = match out.contiguous(input) {
                    Some(plain) => plain,
                    None => {
                        tls_bufs.flat.clear();
                        out.flatten_into(input, &mut tls_bufs.flat);
                        &tls_bufs.flat
                    }
                };
                if let Some(tap) = trace.as_deref_mut() {
                    tap.tx(plain);
                }
                tls.encrypt(plain);
            }
            if decrypted.closed {
                debug!("{}: TLS close_notify from client", peer);
                if let Some(tap) = trace.as_deref_mut() {
                    let clean = conn.status() != Status::Open;
                    tap.note(Item::TcpClosedByPeer { clean });
                }
                match h2.as_deref_mut() {
                    Some(h2) => h2.handle_eof(),
                    None => conn.handle_eof(),
                }
                break;
            }
            if cipher.is_empty() && decrypted.len < buf.len() {
                break;
            }
        }
        if h2.is_none() {
            say_goodbye(conn, tls);
        }
        // The alert of a failure goes out too, before the socket is dropped.
        let written = tls.write_ciphertext(socket);
        match (failed, written) {
            (true, _) => Err(ReadOutcome::Dropped),
            (false, Err(e)) => Err(ReadOutcome::Error(e)),
            (false, Ok(())) => Ok(()),
        }
    }
}

impl Client {
    /// Reads a traced cleartext connection until the socket is drained, the connection
    /// is done, backpressure stops it or the per-event budget is spent.
    fn read_traced(&mut self, buf: &mut [u8], out: &mut Output, now: Instant) -> ReadOutcome {
        for _ in 0..MAX_READS_PER_EVENT {
            if self.pending_out() > 0 && self.backpressure(now) {
                self.read_paused = true;
                return ReadOutcome::Ok;
            }
            self.read_paused = false;
            let step = match self.socket.read(buf) {
                Received::Eof => {
                    self.peer_eof();
                    return ReadOutcome::Ok;
                }
                Received::Data(n) => self.traced_input(buf, n, out, now),
                Received::Blocked => return ReadOutcome::Ok,
                Received::Failed(e) => return ReadOutcome::Error(e),
            };
            if let Step::Stop(outcome) = step {
                return outcome;
            }
        }
        self.read_yielded = true;
        ReadOutcome::Ok
    }

    /// `buf[..n]` of a traced cleartext connection: shown to the tap, through the core
    /// (the one entry every transport uses), its output shown and sent as a plain
    /// connection's is.
    fn traced_input(&mut self, buf: &mut [u8], n: usize, out: &mut Output, now: Instant) -> Step {
        let drained = n < buf.len() && !self.read_to_eof;
        let input = &mut buf[..n];
        if let Some(tap) = self.trace.as_deref_mut() {
            tap.rx(input);
        }
        out.clear();
        self.conn.handle_input(input, now, out);
        if let Some(tap) = self.trace.as_deref_mut() {
            tap.tx_pieces(|| out.segments(input));
        }
        self.send_output(out, input, drained)
    }
}

/// The body of the 503 a client gets when the server is full.
pub(in crate::server) fn full_body(limit: usize) -> String {
    format!("server is at its limit of {limit} connections; try again later\n")
}
