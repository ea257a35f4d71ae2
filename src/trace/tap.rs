//! One traced connection: the bytes each way go in, numbered lines come out. It sits
//! between the transport (TCP, or TLS once decrypted) and the protocol core, sees the
//! client's bytes before the core unmasks them in place and the core's output before it
//! is encrypted, and does no I/O: the driver hands its lines to the [`TraceSink`].
//!
//! [`TraceSink`]: super::TraceSink

use std::sync::Arc;

use super::TraceOptions;
use super::item::{Dir, Item, Origin, Shown, write_json, write_text};
use super::wire::{AfterHead, Wire};
use crate::event::Event;

/// The trace of one connection.
pub(crate) struct Tap {
    conn: u64,
    peer: String,
    options: Arc<TraceOptions>,
    /// The number of the last item.
    seq: u64,
    rx: Wire,
    tx: Wire,
    /// Lines not yet handed to the sink.
    out: String,
    /// Waiting for the request to carry `?trace`: lines are held until it is seen.
    pending: bool,
    /// The request did not ask to be traced: the driver drops the tap.
    unwanted: bool,
    /// Scratch for the items one feed completes.
    items: Vec<Item>,
    /// The peer shut down its side of TCP.
    peer_closed: bool,
    /// The HTTP/2 stream traced, when this is a stream's tap.
    stream: Option<u32>,
}

impl Tap {
    /// A tap for connection number `conn` from `peer`; `on_request`: traced only if the
    /// request target asks for it with `?trace`.
    pub(crate) fn new(
        conn: u64,
        peer: String,
        options: Arc<TraceOptions>,
        on_request: bool,
    ) -> Self {
        let mut tap = Tap::fresh(conn, peer, options, on_request, None);
        tap.note(Item::TcpOpened);
        tap
    }

    /// A tap for `stream` of this HTTP/2 connection (RFC 8441), its lines marked with
    /// the stream; with `--trace-on-request` it waits for that stream's request.
    pub(crate) fn for_stream(&self, stream: u32) -> Tap {
        let options = Arc::clone(&self.options);
        Tap::fresh(
            self.conn,
            self.peer.clone(),
            options,
            self.pending,
            Some(stream),
        )
    }

    /// A tap that has shown nothing yet.
    fn fresh(
        conn: u64,
        peer: String,
        options: Arc<TraceOptions>,
        pending: bool,
        stream: Option<u32>,
    ) -> Tap {
        let show = options.payload_bytes;
        Tap {
            conn,
            peer,
            options,
            seq: 0,
            rx: Wire::new(Dir::Rx, show),
            tx: Wire::new(Dir::Tx, show),
            out: String::new(),
            pending,
            unwanted: false,
            items: Vec::new(),
            peer_closed: false,
            stream,
        }
    }

    /// A head that came as HTTP/2 fields, one `name: value` line each (pseudo-fields
    /// first); `after` says whether frames follow. A request's `target` (its `:path`)
    /// says whether it asks to be traced.
    pub(crate) fn fields(
        &mut self,
        dir: Dir,
        lines: Vec<String>,
        target: Option<&str>,
        after: AfterHead,
    ) {
        if self.pending
            && let Some(target) = target
        {
            if target_asks_for_trace(target) {
                self.pending = false;
            } else {
                self.unwanted = true;
            }
        }
        match dir {
            Dir::Rx => self.rx.after_head(after),
            Dir::Tx => self.tx.after_head(after),
        }
        self.note(Item::HttpHead { dir, lines });
    }

    /// The stream's END_STREAM, either way.
    pub(crate) fn stream_ended(&mut self, dir: Dir) {
        self.note(Item::StreamEnded { dir });
    }

    /// The stream's RST_STREAM, either way, with its code.
    pub(crate) fn stream_reset(&mut self, dir: Dir, code: String) {
        self.note(Item::StreamReset { dir, code });
    }

    /// Bytes from the client, as the transport delivered them (before the core).
    pub(crate) fn rx(&mut self, bytes: &[u8]) {
        self.octets(Dir::Rx, bytes);
        let mut items = std::mem::take(&mut self.items);
        let pending = self.pending;
        let mut asked = None;
        self.rx.feed(bytes, &mut items, |lines| {
            if pending {
                asked = Some(asks_for_trace(lines));
            }
            if is_upgrade_request(lines) {
                AfterHead::Frames
            } else {
                AfterHead::Body
            }
        });
        match asked {
            Some(true) => self.pending = false,
            Some(false) => self.unwanted = true,
            None => {}
        }
        self.emit_all(&mut items);
        self.items = items;
    }

    /// Bytes the core produced for the client (before the transport encrypts them).
    pub(crate) fn tx(&mut self, bytes: &[u8]) {
        self.tx_pieces(|| std::iter::once(bytes));
    }

    /// [`Tap::tx`] for output in pieces that go out in one write (a `writev`): one
    /// octets line for the write, the pieces taken apart in order, with no copy of them.
    /// `pieces` gives the pieces afresh each time it is called.
    pub(crate) fn tx_pieces<'a, I: Iterator<Item = &'a [u8]>>(&mut self, pieces: impl Fn() -> I) {
        let total: usize = pieces().map(<[u8]>::len).sum();
        if total == 0 {
            return;
        }
        if self.options.octets {
            let mut shown = Vec::with_capacity(total.min(self.options.payload_bytes));
            for piece in pieces() {
                let room = self.options.payload_bytes - shown.len();
                shown.extend_from_slice(&piece[..piece.len().min(room)]);
            }
            self.note(Item::Octets {
                dir: Dir::Tx,
                shown: Shown {
                    bytes: shown,
                    total: total as u64,
                    text: false,
                },
            });
        }
        for piece in pieces() {
            self.tx_decode(piece);
        }
    }

    /// Takes one piece of output apart.
    fn tx_decode(&mut self, bytes: &[u8]) {
        let mut items = std::mem::take(&mut self.items);
        self.tx.feed(bytes, &mut items, |lines| {
            let upgraded = lines
                .first()
                .is_some_and(|status| status.starts_with("HTTP/1.1 101 "));
            if upgraded {
                AfterHead::Frames
            } else {
                AfterHead::Body
            }
        });
        self.emit_all(&mut items);
        self.items = items;
    }

    /// What the core reported that the frames do not show.
    pub(crate) fn event(&mut self, event: &Event) {
        match event {
            Event::Failed { error, at } => self.note(Item::Failed {
                code: error.close_code().as_u16(),
                reason: error.to_string(),
                at: *at,
            }),
            Event::TimedOut { during } => self.note(Item::TimedOut {
                during: (*during).to_string(),
            }),
            // The rest shows in the heads and frames themselves.
            Event::Opened { .. }
            | Event::Refused { .. }
            | Event::ServedPage
            | Event::MetricsAsked
            | Event::PeerClosed { .. }
            | Event::ServerClosed { .. }
            | Event::Dropped { .. } => {}
            Event::Aborted => self.note(Item::Aborted),
        }
    }

    /// wsecho closes the socket.
    pub(crate) fn closed_by_us(&mut self) {
        self.note(Item::TcpClosedByUs {
            after_peer: self.peer_closed,
        });
    }

    /// A transport event.
    pub(crate) fn note(&mut self, item: Item) {
        if matches!(item, Item::TcpClosedByPeer { .. }) {
            self.peer_closed = true;
        }
        self.seq += 1;
        let origin = Origin {
            conn: self.conn,
            peer: &self.peer,
            stream: self.stream,
        };
        match self.options.format {
            super::TraceFormat::Text => write_text(&mut self.out, &origin, self.seq, &item),
            super::TraceFormat::Jsonl => write_json(&mut self.out, &origin, self.seq, &item),
        }
    }

    /// The lines written since the last call (none while it waits for `?trace`).
    pub(crate) fn take_lines(&mut self, into: &mut String) {
        if !self.pending && !self.unwanted {
            into.push_str(&self.out);
            self.out.clear();
        }
    }

    /// The request did not ask for a trace: nothing of this connection is shown.
    pub(crate) fn unwanted(&self) -> bool {
        self.unwanted
    }

    fn octets(&mut self, dir: Dir, bytes: &[u8]) {
        if self.options.octets && !bytes.is_empty() {
            let n = bytes.len().min(self.options.payload_bytes);
            self.note(Item::Octets {
                dir,
                shown: Shown {
                    bytes: bytes[..n].to_vec(),
                    total: bytes.len() as u64,
                    text: false,
                },
            });
        }
    }

    fn emit_all(&mut self, items: &mut Vec<Item>) {
        for item in items.drain(..) {
            self.note(item);
        }
    }
}

/// Whether a request head asks for the WebSocket upgrade (frames follow it).
fn is_upgrade_request(lines: &[String]) -> bool {
    lines.iter().skip(1).any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("upgrade")
                && value.trim().eq_ignore_ascii_case("websocket")
        })
    })
}

/// Whether the request target's query has a `trace` parameter (`?trace`, `?a=1&trace=1`).
fn asks_for_trace(lines: &[String]) -> bool {
    lines
        .first()
        .and_then(|l| l.split(' ').nth(1))
        .is_some_and(target_asks_for_trace)
}

/// Whether a request target's query has a `trace` parameter.
fn target_asks_for_trace(target: &str) -> bool {
    let Some((_, query)) = target.split_once('?') else {
        return false;
    };
    query
        .split('&')
        .any(|param| param.split('=').next() == Some("trace"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::TraceFormat;

    fn options() -> Arc<TraceOptions> {
        Arc::new(TraceOptions {
            format: TraceFormat::Text,
            payload_bytes: 64,
            octets: false,
        })
    }

    fn lines(tap: &mut Tap) -> String {
        let mut s = String::new();
        tap.take_lines(&mut s);
        s
    }

    const UPGRADE: &str = "GET /?trace HTTP/1.1\r\nUpgrade: websocket\r\n\r\n";

    #[test]
    fn lines_are_numbered_per_connection_and_name_it() {
        let mut tap = Tap::new(3, "10.0.0.1:9".into(), options(), false);
        tap.rx(UPGRADE.as_bytes());
        tap.tx(b"HTTP/1.1 101 Switching Protocols\r\n\r\n\x81\x02hi");
        let text = lines(&mut tap);
        let numbered: Vec<&str> = text
            .lines()
            .map(|l| l.split(' ').nth(2).unwrap_or(""))
            .collect();
        assert_eq!(
            numbered,
            ["001", "002", "002", "003", "004", "004", "004"],
            "{text}"
        );
        assert!(text.lines().all(|l| l.starts_with("c3 10.0.0.1:9 ")));
        assert!(text.contains("004 TX FRAME : OPCODE=1, FIN=True, RSV=0, PAYLOAD-LEN=2\n"));
    }

    #[test]
    fn on_request_a_connection_is_shown_only_if_its_target_asks() {
        let mut asked = Tap::new(1, "p".into(), options(), true);
        assert_eq!(lines(&mut asked), "", "held until the request is seen");
        asked.rx(UPGRADE.as_bytes());
        assert!(lines(&mut asked).contains("TCP OPENED"));
        assert!(!asked.unwanted());
        for target in ["/", "/?tracer", "/?a=trace"] {
            let mut tap = Tap::new(1, "p".into(), options(), true);
            tap.rx(format!("GET {target} HTTP/1.1\r\n\r\n").as_bytes());
            assert!(tap.unwanted(), "{target}");
            assert_eq!(lines(&mut tap), "");
        }
        for target in ["/x?trace", "/?a=1&trace=yes"] {
            assert!(
                asks_for_trace(&[format!("GET {target} HTTP/1.1")]),
                "{target}"
            );
        }
    }

    #[test]
    fn octets_come_before_what_they_carry_when_asked_for() {
        let options = Arc::new(TraceOptions {
            octets: true,
            ..(*options()).clone()
        });
        let mut tap = Tap::new(1, "p".into(), options, false);
        tap.rx(b"GET / HTTP/1.1\r\n\r\n");
        let text = lines(&mut tap);
        assert!(text.contains("002 RX OCTETS: 18 bytes\n"), "{text}");
        assert!(text.contains("003 RX HTTP  : GET / HTTP/1.1\n"), "{text}");
    }
}
