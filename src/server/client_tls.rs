//! The layered half of [`Client`]'s reading: a connection's first byte, which chooses
//! its stack, and the input of `wss://` connections, whose bytes pass through the TLS
//! layer on their way to and from the same protocol core as plain ones, and of traced
//! connections, whose bytes pass the trace's tap. Plain connections never come here.

use std::io;
use std::time::Instant;

use log::{debug, warn};

use super::{Client, ReadOutcome, Reading};
use crate::config::Config;
use crate::handshake::HttpStatus;
use crate::server::socket::Flag;
use crate::stack::{H1, H2, Stack, say_goodbye};
use crate::tls::TlsLayer;
use crate::tls::sniff::{FirstByte, classify};

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
    /// The connection's first `n` bytes (in the ciphertext buffer with TLS set up, else
    /// in the receive buffer) choose its stack: TLS, HTTP/2 with prior knowledge, or
    /// cleartext HTTP/1.1 (plain, or traced); a TLS client on a server without TLS is
    /// dropped. The bytes then go to the stack they chose.
    #[cold]
    #[inline(never)]
    pub(super) fn sniffed(
        &mut self,
        n: usize,
        reading: &mut Reading,
        now: Instant,
    ) -> Result<(), ReadOutcome> {
        let Stack::Sniffing(sniffing) = &mut self.stack else {
            return Ok(());
        };
        let tls_ready = reading.setup.is_some() && !reading.tls_bufs.cipher.is_empty();
        let first: &[u8] = if tls_ready {
            &reading.tls_bufs.cipher[..n]
        } else {
            &reading.buf[..n]
        };
        let only_tls = reading.setup.as_ref().is_some_and(|s| s.only);
        match (classify(first[0]), reading.setup.as_ref()) {
            (FirstByte::Tls, Some(setup)) if tls_ready => {
                let layer = TlsLayer::new(&setup.config)
                    .map_err(|e| ReadOutcome::Error(io::Error::other(e)))?;
                self.stack.change(|stack| match stack {
                    Stack::Sniffing(s) => Stack::H1(Box::new(H1 {
                        tls: Some(layer),
                        core: s.core,
                        tap: s.tap,
                    })),
                    other => other,
                });
                self.tls_input(n, reading, now)
            }
            (FirstByte::Tls, _) => {
                warn!("{}: {TLS_ON_CLEARTEXT_PORT}", self.socket.peer);
                Err(ReadOutcome::Dropped)
            }
            (FirstByte::Cleartext, _)
                if reading.config.http2
                    && crate::h2::sniff::is_preface_start(first)
                    && !only_tls =>
            {
                // HTTP/2 with prior knowledge (h2c): its bytes belong in `buf`.
                if tls_ready {
                    reading.buf[..n].copy_from_slice(&reading.tls_bufs.cipher[..n]);
                }
                let refuse = self.socket.flags.take(Flag::Full).then(|| {
                    (
                        HttpStatus::ServiceUnavailable,
                        full_body(reading.config.max_connections),
                    )
                });
                let mut tap = sniffing.tap.take();
                let h2 = self.h2_layer(&reading.config, refuse, tap.as_deref_mut(), false, now);
                self.stack = Stack::H2(Box::new(H2 { tls: None, h2, tap }));
                let Stack::H2(l) = &mut self.stack else {
                    return Ok(());
                };
                l.h2.handle_input(&reading.buf[..n], now);
                Ok(())
            }
            (FirstByte::Cleartext, _) => {
                let full = self.socket.flags.take(Flag::Full);
                // Only a traced connection stays off the plain path.
                self.stack.change(|stack| match stack {
                    Stack::Sniffing(s) => match s.tap {
                        None => Stack::Plain(s.core),
                        Some(tap) => Stack::H1(Box::new(H1 {
                            tls: None,
                            core: s.core,
                            tap: Some(tap),
                        })),
                    },
                    other => other,
                });
                if full {
                    self.reject(
                        HttpStatus::ServiceUnavailable,
                        &full_body(reading.config.max_connections),
                        now,
                    );
                } else if only_tls {
                    self.reject(HttpStatus::BadRequest, TLS_ONLY_BODY, now);
                }
                // Cleartext from here on: its bytes belong in `buf`.
                if tls_ready {
                    reading.buf[..n].copy_from_slice(&reading.tls_bufs.cipher[..n]);
                }
                if self.is_plain() {
                    self.plain_input(n, reading, now)
                } else {
                    self.traced_input(n, reading, now)
                }
            }
        }
    }

    /// `buf[..n]` on the plain path, after its first byte was seen.
    fn plain_input(
        &mut self,
        n: usize,
        reading: &mut Reading,
        now: Instant,
    ) -> Result<(), ReadOutcome> {
        match self.take_read(&mut reading.buf, n, &mut reading.out, now) {
            super::Step::More | super::Step::Stop(ReadOutcome::Ok) => Ok(()),
            super::Step::Stop(outcome) => Err(outcome),
        }
    }

    /// `tls_bufs.cipher[..n]` through TLS, its plaintext through the core (`buf` holds
    /// it) or the HTTP/2 layer, the core's output back through TLS, and the ciphertext
    /// out. A TLS failure is logged here, its alert written, and the connection is to be
    /// dropped. The TLS handshake's end may make the stack HTTP/2 (ALPN `h2`): the
    /// caller then writes what the HTTP/2 layer has to send.
    pub(super) fn tls_input(
        &mut self,
        n: usize,
        reading: &mut Reading,
        now: Instant,
    ) -> Result<(), ReadOutcome> {
        let Reading {
            buf,
            out,
            tls_bufs,
            config,
            ..
        } = reading;
        let mut cipher = &tls_bufs.cipher[..n];
        let mut failed = false;
        loop {
            let tls = match &mut self.stack {
                Stack::H1(l) => l.tls.as_mut(),
                Stack::H2(l) => l.tls.as_deref_mut(),
                _ => None,
            };
            let Some(tls) = tls else {
                return Ok(());
            };
            if tls.close_notify_sent() {
                // We said goodbye: what the client still sends is not read (see
                // `say_goodbye`).
                return Ok(());
            }
            let handshaking = tls.is_handshaking();
            let decrypted = match tls.decrypt(&mut cipher, buf) {
                Ok(d) => d,
                Err(e) => {
                    debug!("{}: dropped: {e}", self.socket.peer);
                    failed = true;
                    break;
                }
            };
            if handshaking && !tls.is_handshaking() {
                debug!(
                    "{}: TLS handshake done: {}",
                    self.socket.peer,
                    tls.negotiated()
                );
                if tls.alpn_is_h2() {
                    // The client chose HTTP/2 by ALPN (RFC 9113 §3.2).
                    self.become_h2(config, now);
                } else {
                    self.refuse_if_full(config, now);
                }
            }
            match &mut self.stack {
                Stack::H2(l) if decrypted.len > 0 => {
                    l.h2.handle_input(&buf[..decrypted.len], now);
                }
                Stack::H1(l) if decrypted.len > 0 => {
                    out.clear();
                    let input = &mut buf[..decrypted.len];
                    if let Some(tap) = l.tap.as_deref_mut() {
                        tap.rx(input);
                    }
                    l.core.handle_input(input, now, out);
                    let plain = match out.contiguous(input) {
                        Some(plain) => plain,
                        None => {
                            tls_bufs.flat.clear();
                            out.flatten_into(input, &mut tls_bufs.flat);
                            &tls_bufs.flat
                        }
                    };
                    if let Some(tap) = l.tap.as_deref_mut() {
                        tap.tx(plain);
                    }
                    if let Some(tls) = l.tls.as_mut() {
                        tls.encrypt(plain);
                    }
                }
                _ => {}
            }
            if decrypted.closed {
                debug!("{}: TLS close_notify from client", self.socket.peer);
                self.peer_eof();
                break;
            }
            if cipher.is_empty() && decrypted.len < buf.len() {
                break;
            }
        }
        let written = match &mut self.stack {
            Stack::H1(l) => match l.tls.as_mut() {
                Some(tls) => {
                    say_goodbye(&l.core, tls);
                    // The alert of a failure goes out too, before the socket is dropped.
                    tls.write_ciphertext(&mut self.socket)
                }
                None => Ok(()),
            },
            Stack::H2(l) => match l.tls.as_mut() {
                Some(tls) => tls.write_ciphertext(&mut self.socket),
                None => Ok(()),
            },
            _ => Ok(()),
        };
        match (failed, written) {
            (true, _) => Err(ReadOutcome::Dropped),
            (false, Err(e)) => Err(ReadOutcome::Error(e)),
            (false, Ok(())) => Ok(()),
        }
    }

    /// After the TLS handshake chose HTTP/2: the stack becomes HTTP/2 over the same TLS
    /// layer, its streams refused if the server was full at accept.
    fn become_h2(&mut self, config: &std::sync::Arc<Config>, now: Instant) {
        let Stack::H1(l) = &mut self.stack else {
            return;
        };
        let refuse = self.socket.flags.take(Flag::Full).then(|| {
            let body = full_body(config.max_connections);
            (HttpStatus::ServiceUnavailable, body)
        });
        let mut tap = l.tap.take();
        let h2 = self.h2_layer(config, refuse, tap.as_deref_mut(), true, now);
        self.stack.change(|stack| match stack {
            Stack::H1(l) => Stack::H2(Box::new(H2 {
                tls: l.tls.map(Box::new),
                h2,
                tap,
            })),
            other => other,
        });
    }

    /// After the TLS handshake: a server full at accept answers 503 now that it can be
    /// read.
    fn refuse_if_full(&mut self, config: &Config, now: Instant) {
        let Stack::H1(l) = &mut self.stack else {
            return;
        };
        if !self.socket.flags.take(Flag::Full) {
            return;
        }
        let mut plain = Vec::new();
        l.core.reject(
            HttpStatus::ServiceUnavailable,
            &full_body(config.max_connections),
            now,
            &mut plain,
        );
        if let Some(tap) = l.tap.as_deref_mut() {
            tap.tx(&plain);
        }
        if let Some(tls) = l.tls.as_mut() {
            tls.encrypt(&plain);
        }
    }

    /// `buf[..n]` of a traced cleartext connection: shown to the tap, through the core
    /// (the one entry every transport uses), its output shown and sent as a plain
    /// connection's is.
    pub(super) fn traced_input(
        &mut self,
        n: usize,
        reading: &mut Reading,
        now: Instant,
    ) -> Result<(), ReadOutcome> {
        let Stack::H1(l) = &mut self.stack else {
            return Ok(());
        };
        let out = &mut reading.out;
        let input = &mut reading.buf[..n];
        if let Some(tap) = l.tap.as_deref_mut() {
            tap.rx(input);
        }
        out.clear();
        l.core.handle_input(input, now, out);
        if let Some(tap) = l.tap.as_deref_mut() {
            tap.tx_pieces(|| out.segments(input));
        }
        self.write_output(out, input).map_err(ReadOutcome::Error)
    }
}

/// The body of the 503 a client gets when the server is full.
pub(in crate::server) fn full_body(limit: usize) -> String {
    format!("server is at its limit of {limit} connections; try again later\n")
}
