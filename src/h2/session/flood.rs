//! Counting what a peer can make us do cheaply: resets of streams it opened
//! (CVE-2023-44487, "rapid reset") and frames that carry no application data (RFC 9113
//! §10.5), over fixed windows of time.

use std::time::Instant;

use super::limits::Limits;
use crate::h2::frame::{ErrorCode, FrameError};

/// The counts of the current window.
#[derive(Debug, Clone, Copy)]
pub(super) struct Flood {
    since: Instant,
    resets: u32,
    overhead: u32,
}

impl Flood {
    /// Counting from `now`.
    pub(super) fn new(now: Instant) -> Flood {
        Flood {
            since: now,
            resets: 0,
            overhead: 0,
        }
    }

    /// Starts a new window once the current one is over.
    fn roll(&mut self, now: Instant, limits: &Limits) {
        if now.saturating_duration_since(self.since) >= limits.flood_window {
            *self = Flood::new(now);
        }
    }

    /// The peer reset a stream it had opened.
    pub(super) fn peer_reset(&mut self, now: Instant, limits: &Limits) -> Result<(), FrameError> {
        self.roll(now, limits);
        self.resets = self.resets.saturating_add(1);
        if self.resets > limits.max_peer_resets {
            return Err(FrameError::connection(
                ErrorCode::EnhanceYourCalm,
                "CVE-2023-44487: too many streams reset by the peer (rapid reset)",
            ));
        }
        Ok(())
    }

    /// The peer sent a frame that carries no application data.
    pub(super) fn overhead(&mut self, now: Instant, limits: &Limits) -> Result<(), FrameError> {
        self.roll(now, limits);
        self.overhead = self.overhead.saturating_add(1);
        // §10.5: "An endpoint MAY treat activity that is suspicious as a connection
        // error of type ENHANCE_YOUR_CALM."
        if self.overhead > limits.max_overhead_frames {
            return Err(FrameError::connection(
                ErrorCode::EnhanceYourCalm,
                "RFC 9113 §10.5: too many frames without data (flood)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn counts_reset_with_each_window() {
        let limits = Limits {
            max_peer_resets: 2,
            max_overhead_frames: 1,
            flood_window: Duration::from_secs(1),
            ..Limits::default()
        };
        let t0 = Instant::now();
        let mut f = Flood::new(t0);
        assert!(f.peer_reset(t0, &limits).is_ok());
        assert!(f.peer_reset(t0, &limits).is_ok());
        let e = f.peer_reset(t0, &limits).unwrap_err();
        assert_eq!(e.code, ErrorCode::EnhanceYourCalm);
        let t1 = t0 + Duration::from_secs(1);
        assert!(f.peer_reset(t1, &limits).is_ok());
        assert!(f.overhead(t1, &limits).is_ok());
        assert!(f.overhead(t1, &limits).is_err());
    }
}
