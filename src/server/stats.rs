//! Summary counters for the whole server, logged at shutdown and on SIGUSR1.

use std::collections::BTreeMap;
use std::fmt;

use crate::connection::{Counts, Event};
use crate::frame::CloseCode;

/// Who started a close.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Initiator {
    /// The client's close frame (its code; 1005 for one without).
    Client,
    /// wsecho: a failure, or its own close (shutdown, idle, backpressure).
    Server,
}

#[derive(Default, Clone)]
pub(super) struct Stats {
    pub accepted: u64,
    pub upgraded: u64,
    pub refused: u64,
    /// Refusals by HTTP status.
    pub refused_by_status: BTreeMap<u16, u64>,
    /// Plain GETs answered with the landing page (not refusals).
    pub pages: u64,
    /// `GET /metrics` requests.
    pub metrics: u64,
    /// The work of connections that have ended.
    pub finished: Counts,
    /// Close codes the server sent when it failed or closed a connection.
    pub closes_sent: BTreeMap<CloseCode, u64>,
    /// Closes by who started them and the code.
    pub closes: BTreeMap<(Initiator, u16), u64>,
    /// Failures by the rule broken ([`ProtocolError::name`]).
    ///
    /// [`ProtocolError::name`]: crate::error::ProtocolError::name
    pub failures: BTreeMap<&'static str, u64>,
    pub closed_by_client: u64,
    pub dropped: u64,
    pub timed_out: u64,
    /// Connections reset as their request asked (`?abort`).
    pub aborted: u64,
    /// Upgrades that agreed permessage-deflate.
    pub deflate: u64,
    /// Ended connections that spoke TLS.
    pub tls_finished: u64,
    /// Ended connections that spoke HTTP/2.
    pub h2_finished: u64,
    /// WebSockets opened over HTTP/2 (RFC 8441).
    pub h2_websockets: u64,
}

/// The code a close frame without one stands for (RFC 6455 §7.1.5).
const NO_STATUS: u16 = 1005;

impl Stats {
    pub(super) fn record(&mut self, event: &Event) {
        match event {
            Event::Opened { deflate } => {
                self.upgraded += 1;
                self.deflate += u64::from(*deflate);
            }
            Event::Refused { status, .. } => {
                self.refused += 1;
                *self.refused_by_status.entry(status.code()).or_default() += 1;
            }
            Event::ServedPage => self.pages += 1,
            Event::MetricsAsked => self.metrics += 1,
            Event::Failed { error, .. } => {
                let code = error.close_code();
                *self.closes_sent.entry(code).or_default() += 1;
                *self
                    .closes
                    .entry((Initiator::Server, code.as_u16()))
                    .or_default() += 1;
                *self.failures.entry(error.name()).or_default() += 1;
            }
            Event::ServerClosed { code, .. } => {
                *self.closes_sent.entry(*code).or_default() += 1;
                *self
                    .closes
                    .entry((Initiator::Server, code.as_u16()))
                    .or_default() += 1;
            }
            Event::PeerClosed { code } => {
                self.closed_by_client += 1;
                let code = code.map_or(NO_STATUS, |c| c.as_u16());
                *self.closes.entry((Initiator::Client, code)).or_default() += 1;
            }
            Event::Dropped { .. } => self.dropped += 1,
            Event::TimedOut { .. } => self.timed_out += 1,
            Event::Aborted => self.aborted += 1,
        }
    }

    /// Adds another loop's counters (`--threads`), field by field.
    pub(super) fn add(&mut self, other: &Stats) {
        fn merge<K: Ord + Clone>(into: &mut BTreeMap<K, u64>, from: &BTreeMap<K, u64>) {
            for (k, n) in from {
                *into.entry(k.clone()).or_default() += n;
            }
        }
        // Destructured, so that a new field cannot be left out of the sum.
        let Stats {
            accepted,
            upgraded,
            refused,
            refused_by_status,
            pages,
            metrics,
            finished,
            closes_sent,
            closes,
            failures,
            closed_by_client,
            dropped,
            timed_out,
            aborted,
            deflate,
            tls_finished,
            h2_finished,
            h2_websockets,
        } = other;
        self.accepted += accepted;
        self.upgraded += upgraded;
        self.refused += refused;
        merge(&mut self.refused_by_status, refused_by_status);
        self.pages += pages;
        self.metrics += metrics;
        self.finished.add(finished);
        merge(&mut self.closes_sent, closes_sent);
        merge(&mut self.closes, closes);
        merge(&mut self.failures, failures);
        self.closed_by_client += closed_by_client;
        self.dropped += dropped;
        self.timed_out += timed_out;
        self.aborted += aborted;
        self.deflate += deflate;
        self.tls_finished += tls_finished;
        self.h2_finished += h2_finished;
        self.h2_websockets += h2_websockets;
    }

    pub(super) fn add_finished(&mut self, counts: Counts) {
        self.finished.add(&counts);
    }

    /// A one-line summary, with the live connections' work added in.
    pub(super) fn summary(&self, open: usize, live: Counts) -> Summary<'_> {
        Summary {
            stats: self,
            open,
            live,
        }
    }
}

pub(super) struct Summary<'a> {
    stats: &'a Stats,
    open: usize,
    live: Counts,
}

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.stats;
        write!(
            f,
            "connections: {} accepted, {} upgraded, {} refused, {} landing pages, {} open; messages: {}; payload bytes: {}; \
             closed by client: {}; dropped without close: {}; timed out: {}; close codes sent:",
            s.accepted,
            s.upgraded,
            s.refused,
            s.pages,
            self.open,
            s.finished.messages + self.live.messages,
            s.finished.bytes + self.live.bytes,
            s.closed_by_client,
            s.dropped,
            s.timed_out,
        )?;
        if s.closes_sent.is_empty() {
            f.write_str(" none")?;
        }
        for (code, n) in &s.closes_sent {
            write!(f, " {code}×{n}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::Location;
    use crate::error::ProtocolError;
    use crate::handshake::HttpStatus;

    #[test]
    fn failures_are_counted_by_close_code() {
        let mut s = Stats::default();
        s.record(&Event::Failed {
            error: ProtocolError::UnmaskedFrame,
            at: Location::default(),
        });
        s.record(&Event::Failed {
            error: ProtocolError::InvalidUtf8,
            at: Location::default(),
        });
        s.record(&Event::Failed {
            error: ProtocolError::ReservedOpcode { bits: 3 },
            at: Location::default(),
        });
        s.add_finished(Counts {
            messages: 2,
            bytes: 10,
            ..Counts::default()
        });
        let line = s
            .summary(
                1,
                Counts {
                    messages: 1,
                    bytes: 5,
                    ..Counts::default()
                },
            )
            .to_string();
        assert!(line.contains("messages: 3; payload bytes: 15"), "{line}");
        assert!(line.contains("1002×2 1007×1"), "{line}");
    }

    #[test]
    fn the_loops_counters_add_up() {
        let mut one = Stats::default();
        one.record(&Event::ServedPage);
        one.record(&Event::Failed {
            error: ProtocolError::UnmaskedFrame,
            at: Location::default(),
        });
        one.add_finished(Counts {
            messages: 3,
            ..Counts::default()
        });
        let mut sum = one.clone();
        sum.add(&one);
        let line = sum.summary(0, Counts::default()).to_string();
        assert!(line.contains("2 landing pages"), "{line}");
        assert!(line.contains("messages: 6"), "{line}");
        assert!(line.contains("1002×2"), "{line}");
        assert_eq!(sum.failures.values().sum::<u64>(), 2);
    }

    #[test]
    fn landing_pages_are_not_refusals() {
        let mut s = Stats::default();
        s.record(&Event::ServedPage);
        s.record(&Event::Refused {
            status: HttpStatus::BadRequest,
            reason: String::new(),
        });
        s.record(&Event::ServedPage);
        let line = s.summary(0, Counts::default()).to_string();
        assert!(line.contains("1 refused, 2 landing pages"), "{line}");
    }
}
