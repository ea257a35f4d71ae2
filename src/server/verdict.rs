//! How a connection ended, gathered from its events, and the one line the log gets for
//! it when it goes (at info level): who it was, how long it lasted, what went each way,
//! and how it ended. An HTTP/2 connection's line sums up its streams and says how the
//! connection itself ended; each stream's own end is in its debug lines.

use std::fmt;
use std::net::{Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::time::{Duration, Instant};

use crate::connection::{Counts, Event, Location};
use crate::error::ProtocolError;
use crate::escape::{Escaped, EscapedBytes};
use crate::frame::CloseCode;
use crate::h2::frame::ErrorCode;
use crate::handshake::HttpStatus;
use crate::stack::h2::Ending;

/// What a connection's events said about its end. Boxed in the client and made only
/// when the first such event comes: idle connections hold none.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Verdict {
    /// The client's close frame: `Some(None)` for one without a code.
    client_closed: Option<Option<CloseCode>>,
    /// wsecho's own close (shutdown, idle, backpressure) and its reason.
    server_closed: Option<(CloseCode, String)>,
    failed: Option<(ProtocolError, Location)>,
    refused: Option<(HttpStatus, String)>,
    page: bool,
    metrics: bool,
    /// TCP ended with no close handshake, in this phase.
    dropped: Option<&'static str>,
    timed_out: Option<&'static str>,
    /// Reset as the request asked (`?abort`).
    aborted: bool,
    /// A socket call failed.
    socket: Option<String>,
    /// Over HTTP/2: its streams' events, summed.
    streams: Streams,
}

/// What an HTTP/2 connection's streams came to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Streams {
    /// From the HTTP/2 layer's count, when the line is written.
    websockets: u32,
    refused: u32,
    /// The last refusal's status.
    last_refusal: Option<HttpStatus>,
    pages: u32,
    metrics: u32,
    failed: u32,
    aborted: u32,
    timed_out: u32,
}

impl Streams {
    fn record(&mut self, event: &Event) {
        let n = match event {
            Event::Refused { status, .. } => {
                self.last_refusal = Some(*status);
                &mut self.refused
            }
            Event::ServedPage => &mut self.pages,
            Event::MetricsAsked => &mut self.metrics,
            Event::Failed { .. } => &mut self.failed,
            Event::Aborted => &mut self.aborted,
            Event::TimedOut { .. } => &mut self.timed_out,
            // How each WebSocket closed is in its debug lines; the HTTP/2 layer counts
            // those that opened.
            Event::Opened { .. }
            | Event::PeerClosed { .. }
            | Event::ServerClosed { .. }
            | Event::Dropped { .. } => {
                return;
            }
        };
        *n = n.saturating_add(1);
    }
}

impl fmt::Display for Streams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        let mut count = |n: u32, one: &str, many: &str| {
            if n > 0 {
                parts.push(format!("{n} {}", if n == 1 { one } else { many }));
            }
        };
        count(self.websockets, "WebSocket", "WebSockets");
        count(self.pages, "landing page", "landing pages");
        count(self.metrics, "metrics request", "metrics requests");
        count(
            self.failed,
            "failed (a rule broken)",
            "failed (a rule broken)",
        );
        count(self.timed_out, "timed out", "timed out");
        count(
            self.aborted,
            "reset as asked (?abort)",
            "reset as asked (?abort)",
        );
        if let Some(status) = self.last_refusal {
            let last = if self.refused > 1 { "the last " } else { "" };
            parts.push(format!(
                "{} refused ({last}with HTTP {status})",
                self.refused
            ));
        }
        f.write_str(&parts.join(", "))
    }
}

/// Who a client is, taken at accept (once it has gone, its socket can no longer say),
/// in 18 bytes where a `SocketAddr` takes 32: an IPv4 address is kept as IPv4-mapped
/// IPv6, and an IPv6 address's scope id and flow label are not kept. No tag: a TCP
/// peer's port is never 0, so port 0 marks the two cases without an address
/// ([`PeerAddr::UNIX`], [`PeerAddr::UNKNOWN`]), told apart by the address bytes. (A
/// tag would cost 2 bytes, which is what lets the client's small fields share 8.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PeerAddr {
    /// The IPv6 (or IPv4-mapped) address of a TCP client.
    ip: [u8; 16],
    /// Its port; 0 for a client without an address.
    port: u16,
}

impl Default for PeerAddr {
    fn default() -> Self {
        PeerAddr::UNKNOWN
    }
}

impl PeerAddr {
    /// Not known (a connection made without an accept, in tests).
    pub(super) const UNKNOWN: PeerAddr = PeerAddr {
        ip: [0; 16],
        port: 0,
    };
    /// Over a Unix socket, which has no peer address.
    pub(super) const UNIX: PeerAddr = PeerAddr {
        ip: [1; 16],
        port: 0,
    };

    /// The address `accept` gave (`None`: a Unix socket's client).
    pub(super) fn accepted(peer: Option<SocketAddr>) -> PeerAddr {
        let (ip, port) = match peer {
            None => return PeerAddr::UNIX,
            Some(SocketAddr::V4(a)) => (a.ip().to_ipv6_mapped().octets(), a.port()),
            Some(SocketAddr::V6(a)) => (a.ip().octets(), a.port()),
        };
        match port {
            // Not from TCP's accept; kept apart from the marks all the same.
            0 => PeerAddr::UNKNOWN,
            _ => PeerAddr { ip, port },
        }
    }

    /// The client's address, for a TCP client.
    pub(super) fn get(self) -> Option<SocketAddr> {
        if self.port == 0 {
            return None;
        }
        let ip = Ipv6Addr::from(self.ip);
        Some(match ip.to_ipv4_mapped() {
            Some(v4) => SocketAddr::V4(SocketAddrV4::new(v4, self.port)),
            None => SocketAddr::V6(SocketAddrV6::new(ip, self.port, 0, 0)),
        })
    }
}

impl fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.get() {
            Some(addr) => write!(f, "{addr}"),
            None if *self == PeerAddr::UNIX => f.write_str("unix"),
            None => f.write_str("(peer unknown)"),
        }
    }
}

/// An instant in 8 bytes (an `Instant` takes 16): milliseconds since the first one
/// taken.
#[derive(Debug, Clone, Copy)]
pub(super) struct Stamp(u64);

/// The instant stamps count from.
static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

impl Stamp {
    pub(super) fn of(t: Instant) -> Stamp {
        let epoch = *EPOCH.get_or_init(|| t);
        let ms = t.saturating_duration_since(epoch).as_millis();
        Stamp(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    /// The time from the stamp to `now`.
    pub(super) fn until(self, now: Instant) -> Duration {
        let now = Stamp::of(now).0;
        Duration::from_millis(now.saturating_sub(self.0))
    }
}

impl Verdict {
    /// Notes what `event` says about the end; `Opened` says nothing of it. An HTTP/2
    /// stream's (`stream`) events are counted, but for `Opened`, which the HTTP/2
    /// layer counts (see [`H2Ended`]): a connection with open WebSockets and nothing
    /// else to say holds no verdict.
    pub(super) fn record(verdict: &mut Option<Box<Verdict>>, stream: Option<u32>, event: &Event) {
        if matches!(event, Event::Opened { .. }) {
            return;
        }
        if stream.is_some() {
            verdict.get_or_insert_default().streams.record(event);
            return;
        }
        let v = verdict.get_or_insert_default();
        match event {
            Event::Opened { .. } => {}
            Event::Refused { status, reason } => v.refused = Some((*status, reason.clone())),
            Event::ServedPage => v.page = true,
            Event::MetricsAsked => v.metrics = true,
            Event::Failed { error, at } => v.failed = Some((*error, *at)),
            Event::PeerClosed { code } => v.client_closed = Some(*code),
            Event::ServerClosed { code, reason } => {
                v.server_closed = Some((*code, reason.clone()));
            }
            Event::Dropped { during } => v.dropped = Some(during),
            Event::TimedOut { during } => v.timed_out = Some(during),
            Event::Aborted => v.aborted = true,
        }
    }

    /// Notes a failed socket call.
    pub(super) fn socket_failed(verdict: &mut Option<Box<Verdict>>, what: String) {
        verdict.get_or_insert_default().socket = Some(what);
    }
}

/// The line logged when a connection ends.
pub(super) struct Ended<'a> {
    pub(super) id: u64,
    pub(super) peer: PeerAddr,
    pub(super) lasted: Duration,
    pub(super) counts: Counts,
    pub(super) verdict: Option<&'a Verdict>,
    /// Over HTTP/2: what its layer says of it.
    pub(super) h2: Option<H2Ended<'a>>,
}

/// What an HTTP/2 connection's layer says of it at its end.
pub(super) struct H2Ended<'a> {
    /// Requests (streams) it carried.
    pub(super) streams: u64,
    /// WebSockets opened on them.
    pub(super) websockets: u32,
    /// How it ended.
    pub(super) ending: &'a Ending,
}

impl fmt::Display for Ended<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.counts;
        write!(f, "c{} {}", self.id, self.peer)?;
        if let Some(h2) = &self.h2 {
            write!(f, " (HTTP/2, {} streams)", h2.streams)?;
        }
        write!(
            f,
            ": ended after {:.3} s; in {} bytes, {} messages echoed ({} payload bytes), out {} bytes; ",
            self.lasted.as_secs_f64(),
            c.wire_in,
            c.messages,
            c.bytes,
            c.wire_out
        )?;
        if let Some(h2) = &self.h2 {
            return h2_ending(f, h2, self.verdict);
        }
        let Some(v) = self.verdict else {
            return f.write_str("TCP closed with nothing said");
        };
        let mut parts: Vec<String> = Vec::new();
        if let Some((status, reason)) = &v.refused {
            parts.push(format!("refused with HTTP {status}: {}", Escaped(reason)));
        }
        if v.page {
            parts.push("served the landing page".into());
        }
        if v.metrics {
            parts.push("served the metrics".into());
        }
        if let Some((error, at)) = &v.failed {
            parts.push(format!("failed with {} {error} ({at})", error.close_code()));
        }
        if let Some((code, reason)) = &v.server_closed {
            parts.push(format!("wsecho closed with {code} {}", Escaped(reason)));
        }
        match v.client_closed {
            Some(Some(code)) => parts.push(format!("client closed with {code}, answered")),
            Some(None) => parts.push("client closed with no code, answered".into()),
            None => {}
        }
        if let Some(during) = v.dropped {
            parts.push(format!("client dropped TCP during {during}"));
        }
        if let Some(during) = v.timed_out {
            parts.push(format!("timed out during {during}"));
        }
        if v.aborted {
            parts.push("wsecho reset the connection, as the request asked (?abort)".into());
        }
        if let Some(what) = &v.socket {
            parts.push(Escaped(what).to_string());
        }
        f.write_str(&parts.join("; "))
    }
}

/// What an HTTP/2 connection's streams came to, and how the connection ended.
fn h2_ending(f: &mut fmt::Formatter<'_>, h2: &H2Ended, verdict: Option<&Verdict>) -> fmt::Result {
    let mut streams = verdict.map(|v| v.streams.clone()).unwrap_or_default();
    streams.websockets = h2.websockets;
    if streams != Streams::default() {
        write!(f, "{streams}; ")?;
    }
    let ending = h2.ending;
    let received = ending.goaway_received.as_ref().map(|(code, debug)| {
        let mut part = format!("client sent GOAWAY {code}");
        if !debug.is_empty() {
            part.push_str(&format!(" ({})", EscapedBytes(debug)));
        }
        part
    });
    let sent = ending.goaway_sent.as_ref().map(|(code, why)| match code {
        ErrorCode::NoError => format!("wsecho sent GOAWAY NO_ERROR ({})", Escaped(why)),
        code => format!(
            "connection error: wsecho sent GOAWAY {code} ({})",
            Escaped(why)
        ),
    });
    // The GOAWAYs in the order they went.
    let mut parts: Vec<String> = if ending.sent_first {
        [sent, received]
    } else {
        [received, sent]
    }
    .into_iter()
    .flatten()
    .collect();
    if ending.timed_out {
        parts.push("wsecho ended it on a time limit (GOAWAY)".into());
    }
    if ending.eof {
        parts.push("client closed TCP".into());
    }
    if let Some(what) = verdict.and_then(|v| v.socket.as_deref()) {
        parts.push(Escaped(what).to_string());
    }
    if parts.is_empty() {
        parts.push("wsecho closed TCP".into());
    }
    f.write_str(&parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(events: &[Event]) -> String {
        let mut verdict = None;
        for e in events {
            Verdict::record(&mut verdict, None, e);
        }
        Ended {
            id: 4,
            peer: PeerAddr::accepted("127.0.0.1:9".parse().ok()),
            lasted: Duration::from_millis(1250),
            counts: Counts {
                messages: 2,
                bytes: 10,
                wire_in: 230,
                wire_out: 150,
                ..Counts::default()
            },
            verdict: verdict.as_deref(),
            h2: None,
        }
        .to_string()
    }

    #[test]
    fn the_line_says_who_how_long_how_much_and_how_it_ended() {
        let l = line(&[
            Event::Opened { deflate: false },
            Event::PeerClosed {
                code: Some(CloseCode::NORMAL),
            },
        ]);
        assert_eq!(
            l,
            "c4 127.0.0.1:9: ended after 1.250 s; in 230 bytes, 2 messages echoed \
             (10 payload bytes), out 150 bytes; client closed with 1000, answered"
        );
    }

    #[test]
    fn a_failure_names_the_rule_and_where() {
        let l = line(&[Event::Failed {
            error: ProtocolError::InvalidUtf8,
            at: Location {
                frame: 2,
                frame_offset: 200,
                byte: Some((210, 4)),
            },
        }]);
        assert!(
            l.ends_with(
                "failed with 1007 text message is not valid UTF-8 (offset 4 of the message, \
                 offset 210 of the connection, frame #2)"
            ),
            "{l}"
        );
    }

    /// The line of an HTTP/2 connection that carried `events` on its streams.
    fn h2_line(streams: u64, events: &[Event], ending: &Ending) -> String {
        let mut verdict = None;
        for (i, e) in events.iter().enumerate() {
            Verdict::record(&mut verdict, Some(2 * i as u32 + 1), e);
        }
        Ended {
            id: 9,
            peer: PeerAddr::accepted("127.0.0.1:9".parse().ok()),
            lasted: Duration::from_millis(2500),
            counts: Counts {
                messages: 23,
                bytes: 230,
                wire_in: 4000,
                wire_out: 3000,
                ..Counts::default()
            },
            verdict: verdict.as_deref(),
            h2: Some(H2Ended {
                streams,
                websockets: events
                    .iter()
                    .filter(|e| matches!(e, Event::Opened { .. }))
                    .count() as u32,
                ending,
            }),
        }
        .to_string()
    }

    #[test]
    fn an_http2_websocket_opening_makes_no_verdict() {
        let mut verdict = None;
        Verdict::record(&mut verdict, Some(1), &Event::Opened { deflate: false });
        assert!(
            verdict.is_none(),
            "an idle HTTP/2 connection holds no verdict"
        );
        Verdict::record(&mut verdict, Some(3), &Event::ServedPage);
        assert!(verdict.is_some());
    }

    #[test]
    fn an_http2_line_sums_up_its_streams_not_its_last_one() {
        let opened = || Event::Opened { deflate: false };
        let mut events = vec![opened(), opened(), opened(), opened()];
        // A WebSocket's end, then a refusal last: neither is the connection's end.
        events.push(Event::PeerClosed {
            code: Some(CloseCode::NORMAL),
        });
        events.push(Event::Refused {
            status: HttpStatus::NotFound,
            reason: "nothing at /favicon.ico".into(),
        });
        let ending = Ending {
            goaway_received: Some((ErrorCode::NoError, Vec::new())),
            eof: true,
            ..Ending::default()
        };
        let l = h2_line(5, &events, &ending);
        assert_eq!(
            l,
            "c9 127.0.0.1:9 (HTTP/2, 5 streams): ended after 2.500 s; in 4000 bytes, 23 \
             messages echoed (230 payload bytes), out 3000 bytes; 4 WebSockets, 1 refused \
             (with HTTP 404); client sent GOAWAY NO_ERROR, client closed TCP"
        );
    }

    #[test]
    fn an_http2_line_says_how_the_connection_ended() {
        let shutdown = Ending {
            goaway_sent: Some((ErrorCode::NoError, "server shutting down".into())),
            goaway_received: Some((ErrorCode::NoError, Vec::new())),
            sent_first: true,
            ..Ending::default()
        };
        let error = Ending {
            goaway_sent: Some((
                ErrorCode::ProtocolError,
                "RFC 9113 §5.1.1: a stream id went backwards".into(),
            )),
            ..Ending::default()
        };
        let debug = Ending {
            goaway_received: Some((ErrorCode::EnhanceYourCalm, b"slow\ndown".to_vec())),
            ..Ending::default()
        };
        let idle = Ending {
            timed_out: true,
            ..Ending::default()
        };
        let cases = [
            (
                shutdown,
                " bytes; wsecho sent GOAWAY NO_ERROR (server shutting down), client sent \
                 GOAWAY NO_ERROR",
            ),
            (
                error,
                " bytes; connection error: wsecho sent GOAWAY PROTOCOL_ERROR (RFC 9113",
            ),
            (
                debug,
                r" bytes; client sent GOAWAY ENHANCE_YOUR_CALM (slow\ndown)",
            ),
            (idle, " bytes; wsecho ended it on a time limit (GOAWAY)"),
            (Ending::default(), " bytes; wsecho closed TCP"),
        ];
        for (ending, words) in cases {
            let l = h2_line(0, &[], &ending);
            assert!(l.contains(words), "{l} lacks {words}");
        }
        let mixed = h2_line(
            3,
            &[
                Event::Opened { deflate: true },
                Event::Failed {
                    error: ProtocolError::InvalidUtf8,
                    at: Location::default(),
                },
                Event::Refused {
                    status: HttpStatus::BadRequest,
                    reason: "no key".into(),
                },
                Event::Refused {
                    status: HttpStatus::NotFound,
                    reason: "nothing at /x".into(),
                },
            ],
            &Ending::default(),
        );
        assert!(
            mixed.contains(
                " bytes; 1 WebSocket, 1 failed (a rule broken), 2 refused (the last with \
                 HTTP 404); "
            ),
            "{mixed}"
        );
        let one = h2_line(1, &[Event::ServedPage], &Ending::default());
        assert!(
            one.ends_with(" bytes; 1 landing page; wsecho closed TCP"),
            "{one}"
        );
    }

    #[test]
    fn text_from_the_client_is_escaped() {
        let l = line(&[
            Event::Refused {
                status: HttpStatus::BadRequest,
                reason: "after=\nFORGED: not a number".into(),
            },
            Event::ServerClosed {
                code: CloseCode::sendable(4000).unwrap(),
                reason: "a\nFORGED\u{1b}[2J".into(),
            },
        ]);
        assert!(!l.contains(['\n', '\u{1b}']), "{l}");
        assert!(
            l.contains(r"refused with HTTP 400: after=\nFORGED: not a number")
                && l.contains(r"wsecho closed with 4000 a\nFORGED\u{1b}[2J"),
            "{l}"
        );
    }

    #[test]
    fn every_ending_has_its_words() {
        let cases = [
            (
                Event::Refused {
                    status: HttpStatus::BadRequest,
                    reason: "no key".into(),
                },
                "refused with HTTP 400",
            ),
            (Event::ServedPage, "served the landing page"),
            (
                Event::ServerClosed {
                    code: CloseCode::GOING_AWAY,
                    reason: "server shutting down".into(),
                },
                "wsecho closed with 1001 server shutting down",
            ),
            (
                Event::PeerClosed { code: None },
                "client closed with no code",
            ),
            (
                Event::Dropped {
                    during: "open connection, no close frame",
                },
                "client dropped TCP during open connection",
            ),
            (
                Event::TimedOut {
                    during: "handshake",
                },
                "timed out during handshake",
            ),
        ];
        for (event, words) in cases {
            let l = line(&[event]);
            assert!(l.contains(words), "{l} lacks {words}");
        }
        assert!(line(&[]).ends_with("TCP closed with nothing said"));
    }
}

#[cfg(test)]
mod peer_tests {
    use super::*;

    #[test]
    fn an_address_is_kept_whole_in_18_bytes() {
        assert!(std::mem::size_of::<PeerAddr>() <= 18);
        for addr in [
            "127.0.0.1:9",
            "[::1]:443",
            "[2001:db8::7]:65535",
            "10.0.0.1:1",
        ] {
            let addr: SocketAddr = addr.parse().unwrap();
            let kept = PeerAddr::accepted(Some(addr));
            assert_eq!(kept.get(), Some(addr));
            assert_eq!(kept.to_string(), addr.to_string());
        }
        assert_eq!(PeerAddr::accepted(None).to_string(), "unix");
        assert_eq!(PeerAddr::UNKNOWN.to_string(), "(peer unknown)");
        assert_eq!(PeerAddr::default(), PeerAddr::UNKNOWN);
        // Port 0 is no TCP peer's: such an address is not taken for a Unix client.
        let zero = PeerAddr::accepted("[::1]:0".parse().ok());
        assert_eq!(zero.to_string(), "(peer unknown)");
    }
}

#[cfg(test)]
mod stamp_tests {
    use super::*;

    #[test]
    fn a_stamp_measures_to_the_millisecond() {
        // The epoch is the first stamp's instant (in any test): at or before `t`.
        let _ = Stamp::of(Instant::now());
        let t = Instant::now();
        let stamp = Stamp::of(t);
        assert_eq!(
            stamp.until(t + Duration::from_millis(1250)).as_millis(),
            1250
        );
        assert_eq!(stamp.until(t), Duration::ZERO);
    }
}
