//! Summary counters for the whole server, logged at shutdown and on SIGUSR1.

use std::collections::BTreeMap;
use std::fmt;

use crate::connection::{Counts, Event};
use crate::frame::CloseCode;

#[derive(Default)]
pub(super) struct Stats {
    pub accepted: u64,
    pub upgraded: u64,
    pub refused: u64,
    /// Plain GETs answered with the landing page (not refusals).
    pub pages: u64,
    /// Messages and payload bytes of connections that have ended.
    pub finished: Counts,
    /// Close codes the server sent when it failed or closed a connection.
    pub closes_sent: BTreeMap<CloseCode, u64>,
    pub closed_by_client: u64,
    pub dropped: u64,
    pub timed_out: u64,
}

impl Stats {
    pub(super) fn record(&mut self, event: &Event) {
        match event {
            Event::Opened { .. } => self.upgraded += 1,
            Event::Refused { .. } => self.refused += 1,
            Event::ServedPage => self.pages += 1,
            Event::Failed { error, .. } => {
                *self.closes_sent.entry(error.close_code()).or_default() += 1
            }
            Event::ServerClosed { code, .. } => *self.closes_sent.entry(*code).or_default() += 1,
            Event::PeerClosed { .. } => self.closed_by_client += 1,
            Event::Dropped { .. } => self.dropped += 1,
            Event::TimedOut { .. } => self.timed_out += 1,
        }
    }

    pub(super) fn add_finished(&mut self, counts: Counts) {
        self.finished.messages += counts.messages;
        self.finished.bytes += counts.bytes;
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
