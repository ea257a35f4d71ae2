//! Pingpong and bulk: a closed loop where every verified echo sends the next message, so
//! each connection keeps exactly `inflight` messages outstanding.

use std::time::{Duration, Instant};

use super::{Snapshot, Window, driver, open_all, put_latency, put_server_memory, secs};
use crate::Result;
use crate::cli::Args;
use crate::driver::Next;
use crate::hist::Histogram;
use crate::report::Line;

pub fn run(args: &Args, line: &mut Line) -> Result<()> {
    let conns = args.conns.unwrap_or(100);
    let inflight = args.inflight.max(1);
    line.put("conns", conns)
        .put("inflight", inflight)
        .put("size", args.size)
        .put("kind", args.kind.name());
    let mut d = driver(args, args.size, inflight)?;
    let ids = open_all(&mut d, conns, args.concurrency, secs(args.timeout))?;
    let mut hist = Histogram::default();

    // With a message budget, send no more than it; otherwise the loop refills forever.
    let budget = args.messages.unwrap_or(u64::MAX);
    let mut queued = 0u64;
    let start = Instant::now();
    for &id in &ids {
        let n = inflight.min(budget - queued);
        queued += n;
        d.send(id, n, start)?;
    }

    let poll = Duration::from_millis(5);
    let mut echoed = 0u64;
    let mut refill = |conn: &mut crate::conn::Conn, echoes: u32, now: Instant, echoed: &mut u64| {
        *echoed += echoes as u64;
        let n = (echoes as u64).min(budget - queued);
        queued += n;
        conn.queue(n, now);
    };

    let (a, b) = if args.messages.is_some() {
        let deadline = start + secs(args.timeout);
        let a = Snapshot::take(args.server_pid)?;
        while echoed < budget {
            if Instant::now() > deadline {
                return Err(format!(
                    "only {echoed} of {budget} echoes within {}s",
                    args.timeout
                ));
            }
            d.turn(poll, &mut hist, |_, conn, p, now| {
                refill(conn, p.echoes, now, &mut echoed);
                Ok(Next::Keep)
            })?;
        }
        (a, Snapshot::take(args.server_pid)?)
    } else {
        let warm_end = start + secs(args.warmup);
        while Instant::now() < warm_end {
            d.turn(poll, &mut hist, |_, conn, p, now| {
                refill(conn, p.echoes, now, &mut echoed);
                Ok(Next::Keep)
            })?;
        }
        hist.reset();
        echoed = 0;
        let a = Snapshot::take(args.server_pid)?;
        let end = a.at + secs(args.duration);
        while Instant::now() < end {
            d.turn(poll, &mut hist, |_, conn, p, now| {
                refill(conn, p.echoes, now, &mut echoed);
                Ok(Next::Keep)
            })?;
        }
        (a, Snapshot::take(args.server_pid)?)
    };

    let w = Window::between(&a, &b);
    line.put("msgs", echoed);
    line.num("msgs_per_s", echoed as f64 / w.secs);
    line.num("mb_per_s", echoed as f64 * args.size as f64 / w.secs / 1e6);
    w.put(line);
    if let Some(s) = w.server_cpu {
        line.num("server_cpu_s_per_M", s / echoed.max(1) as f64 * 1e6);
    }
    put_latency(line, &hist);
    put_server_memory(line, args.server_pid)
}
