//! The HTTP/2 half of [`Client`]: a connection that spoke the HTTP/2 preface (h2c with
//! prior knowledge) or chose `h2` by ALPN over TLS. Its bytes go to the HTTP/2 layer
//! ([`H2Connection`]), which runs a WebSocket core per stream; what the layer has to
//! send is pulled from it a chunk at a time, and only while the socket takes it, so that
//! the layer's flow control, not this queue, is where a slow reader's data waits.

use std::io;
use std::sync::Arc;
use std::time::Instant;

use super::Client;
use crate::config::Config;
use crate::h2::session::Sink;
use crate::h2::spare;
use crate::handshake::HttpStatus;
use crate::server::socket::Frames;
use crate::stack::Stack;
use crate::stack::h2::H2Connection;
use crate::trace::Item;
use crate::trace::tap::Tap;

/// The most bytes taken from the HTTP/2 layer at a time.
const CHUNK: usize = 256 << 10;

impl Client {
    /// The HTTP/2 layer of this connection, whose client spoke the preface (h2c) or
    /// chose `h2` by ALPN (`tls`): told the client's address for `?headers`, answering
    /// every stream with `refuse` (the server was full), and tracing each stream when
    /// the connection is traced (its own trace says that HTTP/2 was chosen).
    pub(in crate::server) fn h2_layer(
        &self,
        config: &Arc<Config>,
        refuse: Option<(HttpStatus, String)>,
        trace: Option<&mut Tap>,
        tls: bool,
        now: Instant,
    ) -> H2Connection {
        let mut h2 = H2Connection::new(Arc::clone(config), now);
        if let Ok(peer) = self.socket.stream.peer_addr() {
            h2.set_peer(peer);
        }
        if let Some((status, body)) = refuse {
            h2.refuse_all(status, body);
        }
        if let Some(tap) = trace {
            tap.note(Item::Http2 { tls });
            h2.set_trace(tap);
        }
        h2
    }

    /// A new turn of the loop for the HTTP/2 layer (see [`H2Connection::new_turn`]):
    /// the input it held is processed and what that wrote is sent.
    pub(in crate::server) fn new_turn(&mut self, now: Instant) -> io::Result<()> {
        let held = match &mut self.stack {
            Stack::H2(l) => l.h2.new_turn(now),
            _ => false,
        };
        if held { self.h2_pump() } else { Ok(()) }
    }

    /// Writes what the HTTP/2 layer has to send while the socket takes it (through TLS
    /// when the connection has it); the rest stays in the layer until the socket's queue
    /// drained. Over TLS, the close_notify follows the layer's last bytes.
    pub(in crate::server) fn h2_pump(&mut self) -> io::Result<()> {
        let Client { socket, stack, .. } = self;
        let Stack::H2(l) = stack else {
            return Ok(());
        };
        let crate::stack::H2 { tls, h2, .. } = &mut **l;
        match tls.as_mut() {
            // Cleartext: DATA goes from the streams' queues into `writev` as it lies.
            None => {
                let mut frames = Frames {
                    socket,
                    error: None,
                };
                while !frames.blocked() && h2.write_to(&mut frames, CHUNK) > 0 {}
                if let Some(e) = frames.error {
                    return Err(e);
                }
            }
            // TLS: gathered into one buffer first, so that it becomes full records
            // (rustls makes a record of each write).
            Some(tls) => {
                let mut chunk = spare::take();
                while socket.is_clear() {
                    chunk.clear();
                    h2.write_output(&mut chunk, CHUNK);
                    if chunk.is_empty() {
                        break;
                    }
                    tls.encrypt(&chunk);
                    tls.write_ciphertext(socket)?;
                }
                spare::give(chunk);
            }
        }
        if let Some(tls) = tls.as_mut()
            && h2.status() != crate::connection::Status::Open
            && !h2.has_output()
        {
            tls.close_notify();
            tls.write_ciphertext(socket)?;
        }
        Ok(())
    }

    /// [`Client::handle_timeout`], [`Client::close`] and [`Client::answer_metrics`]
    /// for HTTP/2: the layer acts, and what it wrote is sent.
    pub(in crate::server) fn h2_call(&mut self, call: impl FnOnce(&mut H2Connection)) {
        if let Stack::H2(l) = &mut self.stack {
            call(&mut l.h2);
            if let Err(e) = self.h2_pump() {
                log::debug!("{}: write failed: {e}", self.socket.peer);
                self.transport_ended();
            }
        }
    }
}
