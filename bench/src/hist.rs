//! A fixed-size log-linear latency histogram (HDR-like): recording is an index computation
//! and an increment, with no allocation per message.

/// Linear sub-buckets per power of two: 2^5 = 32, so a bucket spans at most 1/32 (~3%) of its value.
const SUB_BITS: u32 = 5;
/// Enough buckets for any u64 value.
const BUCKETS: usize = ((64 - SUB_BITS as usize) << SUB_BITS) + (2 << SUB_BITS);

/// Counts of nanosecond latencies.
#[derive(Clone)]
pub struct Histogram {
    counts: Box<[u64; BUCKETS]>,
    total: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: Box::new([0; BUCKETS]),
            total: 0,
            max: 0,
        }
    }
}

/// Values below 2^(SUB_BITS+1) get a bucket each; above, each power of two splits into
/// 2^SUB_BITS buckets, indexed by the value's top bits after dropping `shift` low ones.
fn index(v: u64) -> usize {
    let shift = (63 - (v | 1).leading_zeros()).saturating_sub(SUB_BITS);
    ((shift as usize) << SUB_BITS) + (v >> shift) as usize
}

/// The middle of the range of values that map to bucket `i`.
fn value_of(i: usize) -> u64 {
    let shift = (i >> SUB_BITS).saturating_sub(1) as u32;
    let top = (i - ((shift as usize) << SUB_BITS)) as u64;
    (top << shift) + ((1u64 << shift) >> 1)
}

impl Histogram {
    pub fn record(&mut self, nanos: u64) {
        self.record_n(nanos, 1);
    }

    /// Records `n` values of `nanos` (messages that share a send time and an arrival time).
    pub fn record_n(&mut self, nanos: u64, n: u64) {
        self.counts[index(nanos)] += n;
        self.total += n;
        if n > 0 {
            self.max = self.max.max(nanos);
        }
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    pub fn reset(&mut self) {
        self.counts.fill(0);
        self.total = 0;
        self.max = 0;
    }

    /// The value at quantile `q` (0..=1), within the bucket precision; 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return value_of(i).min(self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_monotonic() {
        let mut last = 0;
        for v in (0..100_000u64).chain([u64::MAX / 2, u64::MAX]) {
            let i = index(v);
            assert!(i >= last && i <= last + 1 || v > 100_000, "v={v}");
            assert!(i < BUCKETS);
            last = i;
        }
    }

    #[test]
    fn quantiles_are_within_precision() {
        let mut h = Histogram::default();
        for v in 1..=10_000u64 {
            h.record(v * 1000);
        }
        for (q, want) in [
            (0.5, 5_000_000.0),
            (0.99, 9_900_000.0),
            (0.999, 9_990_000.0),
        ] {
            let got = h.quantile(q) as f64;
            assert!((got - want).abs() / want < 0.035, "q={q} got={got}");
        }
        assert_eq!(h.count(), 10_000);
        let mut g = Histogram::default();
        for v in 1..=10_000u64 {
            g.record_n(v * 1000, 3);
        }
        g.record_n(u64::MAX, 0);
        assert_eq!(g.count(), 30_000);
        assert_eq!(g.max(), 10_000_000);
        assert_eq!(g.quantile(0.5), h.quantile(0.5));
        h.reset();
        assert_eq!(h.quantile(0.5), 0);
    }
}
