//! Deadlines for all connections in one min-heap. Entries are never removed early:
//! a connection whose deadline moved simply ignores the stale entry when it pops,
//! because the connection itself re-checks its deadline.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

#[derive(Default)]
pub(super) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, usize)>>,
}

impl Timers {
    pub(super) fn schedule(&mut self, at: Instant, key: usize) {
        self.heap.push(Reverse((at, key)));
    }

    /// The earliest deadline that `is_current` still accepts; stale entries on top are
    /// dropped on the way, so a loop with no live deadline waits without a timeout (an
    /// armed kernel timer on every wait costs more than a heap pop, once).
    pub(super) fn next_current(
        &mut self,
        is_current: impl Fn(Instant, usize) -> bool,
    ) -> Option<Instant> {
        while let Some(&Reverse((at, key))) = self.heap.peek() {
            if is_current(at, key) {
                return Some(at);
            }
            self.heap.pop();
        }
        None
    }

    /// Drops every stale entry, and every copy of a current one, once they outnumber
    /// the live connections well: entries are otherwise only dropped when they reach
    /// the top, so churn under a long timeout would grow the heap with closed
    /// connections' deadlines. (Copies: a connection whose deadline is not its phase's
    /// alone hands over its deadline after each turn, moved or not; see
    /// `Connection::deadline_moved`.)
    pub(super) fn compact(&mut self, live: usize, is_current: impl Fn(Instant, usize) -> bool) {
        if self.heap.len() > 2 * live + 1024 {
            let mut entries = std::mem::take(&mut self.heap).into_vec();
            entries.retain(|&Reverse((at, key))| is_current(at, key));
            entries.sort_unstable();
            entries.dedup();
            self.heap = BinaryHeap::from(entries);
        }
    }

    /// Removes and returns one entry due at or before `now`.
    pub(super) fn pop_due(&mut self, now: Instant) -> Option<usize> {
        match self.heap.peek() {
            Some(Reverse((at, _))) if *at <= now => self.heap.pop().map(|Reverse((_, key))| key),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pops_in_deadline_order_and_only_when_due() {
        let t0 = Instant::now();
        let mut t = Timers::default();
        t.schedule(t0 + Duration::from_secs(2), 2);
        t.schedule(t0 + Duration::from_secs(1), 1);
        assert_eq!(
            t.next_current(|_, _| true),
            Some(t0 + Duration::from_secs(1))
        );
        assert_eq!(t.pop_due(t0), None);
        assert_eq!(t.pop_due(t0 + Duration::from_secs(5)), Some(1));
        assert_eq!(t.pop_due(t0 + Duration::from_secs(5)), Some(2));
        assert_eq!(t.pop_due(t0 + Duration::from_secs(5)), None);
    }

    #[test]
    fn stale_entries_on_top_are_dropped_when_looking_for_the_next() {
        let t0 = Instant::now();
        let mut t = Timers::default();
        for key in 0..4 {
            t.schedule(t0 + Duration::from_secs(key as u64 + 1), key);
        }
        // Keys 0 and 1 moved their deadlines away; key 2's is still current.
        let current = |_: Instant, key: usize| key >= 2;
        assert_eq!(t.next_current(current), Some(t0 + Duration::from_secs(3)));
        assert_eq!(t.heap.len(), 2);
        assert_eq!(t.next_current(|_, _| false), None);
        assert!(t.heap.is_empty());
    }

    #[test]
    fn stale_entries_beneath_the_top_are_dropped_once_they_pile_up() {
        let t0 = Instant::now();
        let mut t = Timers::default();
        // One live connection (key 0, due first); 3000 closed ones left entries behind.
        for key in 0..3001 {
            t.schedule(t0 + Duration::from_secs(key as u64 + 1), key);
        }
        let current = |_: Instant, key: usize| key == 0;
        t.compact(1, current);
        assert_eq!(t.heap.len(), 1);
        assert_eq!(t.next_current(current), Some(t0 + Duration::from_secs(1)));
        // Below the threshold nothing is scanned.
        for key in 1..100 {
            t.schedule(t0 + Duration::from_secs(key as u64 + 1), key);
        }
        t.compact(1, current);
        assert_eq!(t.heap.len(), 100);
    }

    #[test]
    fn copies_of_a_current_entry_are_dropped_once_they_pile_up() {
        let t0 = Instant::now();
        let mut t = Timers::default();
        // A connection that hands over the same deadline after every turn.
        for _ in 0..3000 {
            t.schedule(t0, 0);
        }
        let current = |at: Instant, key: usize| key == 0 && at == t0;
        t.compact(1, current);
        assert_eq!(t.heap.len(), 1);
        assert_eq!(t.pop_due(t0), Some(0));
        assert_eq!(t.pop_due(t0), None);
    }
}
