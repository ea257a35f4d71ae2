//! How a connection ended, gathered from its events, and the one line the log gets for
//! it when it goes (at info level): who it was, how long it lasted, what went each way,
//! and how it ended.

use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::connection::{Counts, Event, Location};
use crate::error::ProtocolError;
use crate::escape::Escaped;
use crate::frame::CloseCode;
use crate::handshake::HttpStatus;

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
    /// The client's address, asked when the first such event came: once the client
    /// has gone, the socket can no longer say it.
    peer: Option<SocketAddr>,
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
    /// Notes what `event` says about the end; `Opened` says nothing of it.
    /// `peer` asks the socket for the client's address.
    pub(super) fn record(
        verdict: &mut Option<Box<Verdict>>,
        event: &Event,
        peer: impl FnOnce() -> Option<SocketAddr>,
    ) {
        if matches!(event, Event::Opened { .. }) {
            return;
        }
        let v = Verdict::made(verdict, peer);
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
    pub(super) fn socket_failed(
        verdict: &mut Option<Box<Verdict>>,
        what: String,
        peer: impl FnOnce() -> Option<SocketAddr>,
    ) {
        Verdict::made(verdict, peer).socket = Some(what);
    }

    /// The verdict, made (with the client's address) if there is none yet.
    fn made(
        verdict: &mut Option<Box<Verdict>>,
        peer: impl FnOnce() -> Option<SocketAddr>,
    ) -> &mut Verdict {
        verdict.get_or_insert_with(|| {
            Box::new(Verdict {
                peer: peer(),
                ..Verdict::default()
            })
        })
    }

    /// The client's address, if it was known.
    pub(super) fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }
}

/// The line logged when a connection ends.
pub(super) struct Ended<'a> {
    pub(super) id: u64,
    pub(super) peer: Option<SocketAddr>,
    /// Over a Unix socket (which has no peer address).
    pub(super) unix: bool,
    pub(super) lasted: Duration,
    pub(super) counts: Counts,
    pub(super) verdict: Option<&'a Verdict>,
    /// Over HTTP/2: how many requests (streams) it carried.
    pub(super) h2_requests: Option<u64>,
}

impl fmt::Display for Ended<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.counts;
        match self.peer {
            Some(peer) => write!(f, "c{} {peer}", self.id)?,
            None if self.unix => write!(f, "c{} unix", self.id)?,
            None => write!(f, "c{} (peer unknown)", self.id)?,
        }
        if let Some(n) = self.h2_requests {
            write!(f, " (HTTP/2, {n} streams)")?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn line(events: &[Event]) -> String {
        let mut verdict = None;
        for e in events {
            Verdict::record(&mut verdict, e, || None);
        }
        Ended {
            id: 4,
            peer: "127.0.0.1:9".parse().ok(),
            unix: false,
            lasted: Duration::from_millis(1250),
            counts: Counts {
                messages: 2,
                bytes: 10,
                wire_in: 230,
                wire_out: 150,
                ..Counts::default()
            },
            verdict: verdict.as_deref(),
            h2_requests: None,
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
