//! Connect: handshake churn with bounded concurrency. Each connection opens, upgrades, sends
//! a close frame, waits for the server's close frame, and is dropped; a new one replaces it.

use std::time::{Duration, Instant};

use super::{Snapshot, Window, driver, put_server_memory, secs};
use crate::Result;
use crate::cli::Args;
use crate::driver::{Driver, Next};
use crate::hist::Histogram;
use crate::report::Line;

pub fn run(args: &Args, line: &mut Line) -> Result<()> {
    let concurrency = args.concurrency.max(1);
    line.put("concurrency", concurrency);
    let mut d = driver(args, 0, 1)?;
    // The histogram times nothing here: no messages are exchanged.
    let mut hist = Histogram::default();
    let mut live = 0usize;
    let mut done = 0u64;
    let mut cycle = |d: &mut Driver, hist: &mut Histogram, end: Instant, done: &mut u64| {
        while Instant::now() < end {
            while live < concurrency {
                d.open()?;
                live += 1;
            }
            d.turn(Duration::from_millis(5), hist, |_, conn, p, _| {
                if p.upgraded {
                    conn.queue_close();
                }
                if p.closed {
                    live -= 1;
                    *done += 1;
                    return Ok(Next::Drop);
                }
                Ok(Next::Keep)
            })?;
        }
        Ok::<_, String>(())
    };
    let start = Instant::now();
    cycle(&mut d, &mut hist, start + secs(args.warmup), &mut done)?;
    done = 0;
    let a = Snapshot::take(args.server_pid)?;
    cycle(&mut d, &mut hist, a.at + secs(args.duration), &mut done)?;
    let b = Snapshot::take(args.server_pid)?;

    let w = Window::between(&a, &b);
    line.put("conns", done)
        .num("conns_per_s", done as f64 / w.secs);
    w.put(line);
    if let Some(s) = w.server_cpu {
        line.num("server_cpu_us_per_conn", s / done.max(1) as f64 * 1e6);
    }
    put_server_memory(line, args.server_pid)
}
