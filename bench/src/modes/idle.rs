//! Idle: many upgraded connections that exchanged a message and went quiet; the server's
//! resident memory before and after, per connection.

use std::time::{Duration, Instant};

use super::{driver, open_all, secs};
use crate::Result;
use crate::cli::Args;
use crate::driver::Next;
use crate::hist::Histogram;
use crate::procfs;
use crate::report::Line;

pub fn run(args: &Args, line: &mut Line) -> Result<()> {
    let conns = args.conns.unwrap_or(10_000);
    let fd_limit = procfs::raise_nofile_limit();
    line.put("conns", conns).put("client_fd_limit", fd_limit);
    let before = args.server_pid.map(procfs::memory).transpose()?;
    let start = Instant::now();
    let mut d = driver(args, args.size, args.idle_echo)?;
    let ids = open_all(&mut d, conns, args.concurrency, secs(args.timeout))?;
    line.num("open_secs", start.elapsed().as_secs_f64());

    let mut hist = Histogram::default();
    let now = Instant::now();
    for &id in &ids {
        d.send(id, args.idle_echo, now)?;
    }
    let want = args.idle_echo * conns as u64;
    let mut echoed = 0u64;
    let deadline = start + secs(args.timeout);
    while echoed < want {
        if Instant::now() > deadline {
            return Err(format!(
                "only {echoed} of {want} idle echoes within {}s",
                args.timeout
            ));
        }
        d.turn(Duration::from_millis(10), &mut hist, |_, _, p, _| {
            echoed += p.echoes as u64;
            Ok(Next::Keep)
        })?;
    }
    // Let the server finish whatever it does after the last echo (e.g. shrink buffers).
    let quiet_end = Instant::now() + secs(args.settle);
    while Instant::now() < quiet_end {
        d.turn(Duration::from_millis(50), &mut hist, |_, _, _, _| {
            Ok(Next::Keep)
        })?;
    }
    if let (Some(pid), Some(before)) = (args.server_pid, before) {
        let after = procfs::memory(pid)?;
        line.put("server_rss_before_kb", before.rss_kb)
            .put("server_rss_kb", after.rss_kb);
        line.put("server_hwm_kb", after.hwm_kb);
        let grown = after.rss_kb.saturating_sub(before.rss_kb) as f64 * 1024.0;
        line.num("rss_per_conn_b", grown / conns as f64);
    }
    line.put("idle_conns", d.ids().count());
    Ok(())
}
