//! Turning the front of a fuzz input into a feeding schedule: how many bytes each
//! `handle_input` call gets and how far the clock moves after it. Tables rather than
//! raw byte values, so that one mutated byte jumps between interesting sizes (a header
//! split mid-length, a payload split mid-code-point, a read bigger than the frame)
//! instead of crawling through 256 neighbouring values.

use std::time::Duration;

/// Chunk lengths a schedule byte's low five bits select. Zero-length reads are legal
/// calls for a driver to make, so they are in; `usize::MAX` means "all the rest".
const CHUNK_LENS: [usize; 32] = [
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    12,
    13,
    14,
    15,
    16,
    17,
    20,
    31,
    32,
    33,
    64,
    100,
    127,
    200,
    256,
    1000,
    4096,
    16384,
    65536,
    usize::MAX,
];

/// Clock steps the high three bits select: mostly none or small, sometimes past the
/// close timeout (3 s) or the handshake timeout (10 s).
const STEPS_MS: [u64; 8] = [0, 0, 0, 1, 100, 1_000, 3_000, 11_000];

/// Most schedule bytes an input may spend; the schedule is cycled.
const MAX_SCHEDULE: usize = 32;

/// A cyclic schedule of (chunk length, clock step).
#[derive(Debug, Clone)]
pub struct Schedule<'a> {
    steps: &'a [u8],
    next: usize,
}

impl<'a> Schedule<'a> {
    /// Takes the schedule off the front of `data`: one count byte, then that many
    /// (mod 33) schedule bytes. Returns the schedule and the rest of the input.
    /// An empty schedule feeds everything in one call.
    pub fn take(data: &'a [u8]) -> (Self, &'a [u8]) {
        let Some((&count, rest)) = data.split_first() else {
            return (Schedule::whole(), data);
        };
        let n = (usize::from(count) % (MAX_SCHEDULE + 1)).min(rest.len());
        let (steps, rest) = rest.split_at(n);
        (Schedule { steps, next: 0 }, rest)
    }

    /// The schedule that feeds everything at once and never moves the clock.
    pub fn whole() -> Self {
        Schedule {
            steps: &[],
            next: 0,
        }
    }

    /// The next chunk length and clock step.
    pub fn next_step(&mut self) -> (usize, Duration) {
        let Some(&b) = self.steps.get(self.next % self.steps.len().max(1)) else {
            return (usize::MAX, Duration::ZERO);
        };
        self.next += 1;
        let len = CHUNK_LENS[usize::from(b & 0x1f)];
        let step = Duration::from_millis(STEPS_MS[usize::from(b >> 5)]);
        (len, step)
    }

    /// Splits `data` into the schedule's chunks (clock steps ignored).
    pub fn chunks<'d>(&mut self, mut data: &'d [u8]) -> Vec<&'d [u8]> {
        let mut chunks = Vec::new();
        // An all-zero schedule would loop forever on empty chunks: cap the count.
        let mut budget = data.len() + 64;
        while !data.is_empty() && budget > 0 {
            budget -= 1;
            let (len, _) = self.next_step();
            let (chunk, rest) = data.split_at(len.min(data.len()));
            chunks.push(chunk);
            data = rest;
        }
        if !data.is_empty() {
            chunks.push(data);
        }
        chunks
    }
}
