//! Deadlines for all connections in one min-heap. Entries are never removed early:
//! a connection whose deadline moved simply ignores the stale entry when it pops,
//! because the connection itself re-checks its deadline.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

#[derive(Default)]
pub struct Timers {
    heap: BinaryHeap<Reverse<(Instant, usize)>>,
}

impl Timers {
    pub fn schedule(&mut self, at: Instant, key: usize) {
        self.heap.push(Reverse((at, key)));
    }

    /// The earliest deadline, if any.
    pub fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }

    /// Removes and returns one entry due at or before `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<usize> {
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
        assert_eq!(t.next(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(t.pop_due(t0), None);
        assert_eq!(t.pop_due(t0 + Duration::from_secs(5)), Some(1));
        assert_eq!(t.pop_due(t0 + Duration::from_secs(5)), Some(2));
        assert_eq!(t.pop_due(t0 + Duration::from_secs(5)), None);
    }
}
