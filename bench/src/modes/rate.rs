//! Rate: an open loop offering a fixed message rate spread evenly over the connections. With
//! the offered load equal for every server, the server's CPU time per message separates
//! servers even when the load generator could not push any of them to saturation.

use std::time::{Duration, Instant};

use super::{Snapshot, Window, driver, open_all, put_latency, put_server_memory, secs};
use crate::Result;
use crate::cli::Args;
use crate::driver::{Driver, Next};
use crate::hist::Histogram;
use crate::report::Line;

/// Outstanding messages per connection past which sends are skipped (and counted): a server
/// that cannot keep up must not make the generator queue without bound.
const MAX_OUTSTANDING: u64 = 1000;

/// Each connection's schedule: it sends one message every `interval`, starting at `next`.
struct Schedule {
    next: Vec<Instant>,
    interval: Duration,
    skipped: u64,
}

impl Schedule {
    fn new(conns: usize, rate: f64, start: Instant) -> Schedule {
        // Stagger the connections so the offered load is smooth, not a burst per interval.
        let next = (0..conns)
            .map(|i| start + Duration::from_secs_f64(i as f64 / rate))
            .collect();
        Schedule {
            next,
            interval: Duration::from_secs_f64(conns as f64 / rate),
            skipped: 0,
        }
    }

    /// Sends every message that is due and returns how long until the next one is.
    fn send_due(&mut self, d: &mut Driver, ids: &[usize]) -> Result<Duration> {
        let now = Instant::now();
        let mut earliest = now + Duration::from_millis(10);
        for (i, &id) in ids.iter().enumerate() {
            let mut due = 0;
            while self.next[i] <= now {
                due += 1;
                self.next[i] += self.interval;
            }
            if due > 0 {
                let room =
                    MAX_OUTSTANDING.saturating_sub(d.conn(id).map_or(0, |c| c.outstanding()));
                let n = due.min(room);
                self.skipped += due - n;
                // Latency counts from the actual send, not the due time, which the
                // millisecond timer granularity of epoll would blur.
                d.send(id, n, now)?;
            }
            earliest = earliest.min(self.next[i]);
        }
        Ok(earliest.saturating_duration_since(now))
    }
}

pub fn run(args: &Args, line: &mut Line) -> Result<()> {
    let conns = args.conns.unwrap_or(100);
    line.put("conns", conns)
        .put("size", args.size)
        .put("kind", args.kind.name())
        .num("offered_per_s", args.rate);
    let mut d = driver(args, args.size, 4)?;
    let ids = open_all(&mut d, conns, args.concurrency, secs(args.timeout))?;
    let mut hist = Histogram::default();
    let start = Instant::now();
    let mut sched = Schedule::new(conns, args.rate, start);
    let mut echoed = 0u64;
    let run_until = |d: &mut Driver,
                     hist: &mut Histogram,
                     sched: &mut Schedule,
                     end: Instant,
                     echoed: &mut u64| {
        while Instant::now() < end {
            let wait = sched.send_due(d, &ids)?;
            d.turn(wait, hist, |_, _, p, _| {
                *echoed += p.echoes as u64;
                Ok(Next::Keep)
            })?;
        }
        Ok::<_, String>(())
    };
    run_until(
        &mut d,
        &mut hist,
        &mut sched,
        start + secs(args.warmup),
        &mut echoed,
    )?;
    hist.reset();
    echoed = 0;
    sched.skipped = 0;
    let a = Snapshot::take(args.server_pid)?;
    run_until(
        &mut d,
        &mut hist,
        &mut sched,
        a.at + secs(args.duration),
        &mut echoed,
    )?;
    let b = Snapshot::take(args.server_pid)?;

    let w = Window::between(&a, &b);
    let achieved = echoed as f64 / w.secs;
    line.put("msgs", echoed)
        .num("msgs_per_s", achieved)
        .put("skipped", sched.skipped);
    // Below the offered rate the server (or the generator) saturated: CPU per message is
    // then not comparable with runs that kept up.
    line.put(
        "saturated",
        (achieved < 0.97 * args.rate || sched.skipped > 0) as u8,
    );
    w.put(line);
    if let Some(s) = w.server_cpu {
        line.num("server_cpu_s_per_M", s / echoed.max(1) as f64 * 1e6);
    }
    put_latency(line, &hist);
    put_server_memory(line, args.server_pid)
}
