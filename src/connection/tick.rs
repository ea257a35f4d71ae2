//! An instant in 8 bytes: a connection's deadline is held as one, since an `Instant`
//! (and so an `Option<Instant>`) takes 16 on every idle connection.

use std::num::NonZeroU64;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Nanoseconds from a process-wide epoch, offset by 2^63 so that instants before the
/// epoch fit too (and zero is left for `None`): lossless for ±292 years around it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(super) struct Tick(NonZeroU64);

const BIAS: u64 = 1 << 63;

/// The epoch: the first instant ever converted.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

impl Tick {
    /// `at`, exactly (a deadline beyond 292 years from the epoch is held as 292 years).
    pub(super) fn of(at: Instant) -> Tick {
        let epoch = epoch();
        let biased = match at.checked_duration_since(epoch) {
            Some(after) => BIAS.saturating_add(nanos(after)),
            None => BIAS.saturating_sub(nanos(epoch.duration_since(at))),
        };
        Tick(NonZeroU64::new(biased).unwrap_or(NonZeroU64::MIN))
    }

    /// The instant it holds.
    pub(super) fn instant(self) -> Instant {
        let epoch = epoch();
        let biased = self.0.get();
        if biased >= BIAS {
            epoch + Duration::from_nanos(biased - BIAS)
        } else {
            epoch - Duration::from_nanos(BIAS - biased)
        }
    }
}

/// `d` in nanoseconds, at most `u64::MAX`.
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_go_and_come_back_exactly() {
        let now = Instant::now();
        for at in [
            now,
            now + Duration::from_nanos(1),
            now + Duration::from_secs(86_400 * 365),
            now.checked_sub(Duration::from_nanos(12_345)).unwrap_or(now),
        ] {
            assert_eq!(Tick::of(at).instant(), at);
        }
        assert!(Tick::of(now) < Tick::of(now + Duration::from_nanos(1)));
    }
}
