//! The streams we reset last. RFC 9113 §5.1 ("closed"): after sending RST_STREAM, an
//! endpoint "could receive any type of frame", which it "MUST minimally process and then
//! discard", since the peer may have sent them before it saw ours. Frames on other
//! closed streams are answered with STREAM_CLOSED.

/// How many resets are remembered: a peer has these many streams' frames in flight
/// after our resets at most, unless it ignores them.
pub(super) const RECENT_RESETS: usize = 32;

/// A ring of the stream identifiers we reset last, allocated on the first reset.
#[derive(Debug, Default)]
pub(super) struct RecentResets {
    ids: Option<Box<[u32; RECENT_RESETS]>>,
    next: usize,
}

impl RecentResets {
    /// Remembers `stream`, forgetting the oldest.
    pub(super) fn push(&mut self, stream: u32) {
        let ids = self.ids.get_or_insert_with(|| Box::new([0; RECENT_RESETS]));
        if let Some(slot) = ids.get_mut(self.next) {
            *slot = stream;
        }
        self.next = (self.next + 1) % RECENT_RESETS;
    }

    /// Whether we reset `stream` lately (stream 0 is never a stream we reset).
    pub(super) fn contains(&self, stream: u32) -> bool {
        stream != 0 && self.ids.as_ref().is_some_and(|ids| ids.contains(&stream))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_the_last_resets_only() {
        let mut r = RecentResets::default();
        assert!(!r.contains(1));
        for id in (1..).step_by(2).take(RECENT_RESETS + 1) {
            r.push(id);
        }
        assert!(!r.contains(1), "the oldest is forgotten");
        assert!(r.contains(3) && r.contains(2 * RECENT_RESETS as u32 + 1));
        assert!(!r.contains(0));
    }
}
