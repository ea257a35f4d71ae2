//! The workloads, each a loop over the shared `Driver`, plus what they have in common:
//! opening connections, and the CPU and memory accounting around a measured window.

mod connect;
mod echo;
mod idle;
mod rate;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::Result;
use crate::cli::{Args, Mode};
use crate::conn::Shared;
use crate::driver::{Driver, Next};
use crate::hist::Histogram;
use crate::payload::Payload;
use crate::procfs;
use crate::report::Line;

/// Runs the workload `args` asks for and returns its result line.
pub fn run(args: &Args) -> Result<Line> {
    let mut line = Line::new(&args.tag);
    line.put("mode", args.mode.name());
    match args.mode {
        Mode::Pingpong | Mode::Bulk => echo::run(args, &mut line)?,
        Mode::Rate => rate::run(args, &mut line)?,
        Mode::Connect => connect::run(args, &mut line)?,
        Mode::Idle => idle::run(args, &mut line)?,
    }
    Ok(line)
}

/// A driver for `args`' server, with per-connection buffers sized for the messages in flight
/// (capped, since frames stream through them in pieces anyway).
fn driver(args: &Args, size: usize, in_flight: u64) -> Result<Driver> {
    let addr = SocketAddr::new(args.host, args.port);
    let shared = Shared {
        payload: Payload::new(args.kind, size),
        host: addr.to_string(),
        raw: args.raw,
        tls: args.tls.then(|| {
            crate::tls::client_config(if args.h2 {
                crate::tls::ALPN_H2
            } else {
                crate::tls::ALPN_HTTP1
            })
        }),
        h2: args.h2,
    };
    let per_frame = size + crate::frame::MAX_HEADER;
    let buf_len = per_frame
        .saturating_mul(in_flight as usize)
        .clamp(4096, 256 << 10);
    Driver::new(addr, shared, buf_len)
}

/// Opens `n` connections, at most `concurrency` handshakes at a time, and returns their ids
/// once all are upgraded.
fn open_all(d: &mut Driver, n: usize, concurrency: usize, timeout: Duration) -> Result<Vec<usize>> {
    let deadline = Instant::now() + timeout;
    let mut hist = Histogram::default();
    let (mut started, mut ready) = (0usize, 0usize);
    let mut ids = Vec::with_capacity(n);
    while ready < n {
        while started < n && started - ready < concurrency.max(1) {
            ids.push(d.open()?);
            started += 1;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "only {ready} of {n} connections upgraded within {timeout:?}"
            ));
        }
        d.turn(Duration::from_millis(10), &mut hist, |_, _, p, _| {
            ready += p.upgraded as usize;
            Ok(Next::Keep)
        })?;
    }
    Ok(ids)
}

/// CPU and wall-clock readings at the edges of a measured window.
struct Snapshot {
    at: Instant,
    client_cpu: f64,
    server_cpu: Option<f64>,
}

impl Snapshot {
    fn take(server_pid: Option<u32>) -> Result<Snapshot> {
        Ok(Snapshot {
            at: Instant::now(),
            client_cpu: procfs::self_cpu_seconds(),
            server_cpu: server_pid.map(procfs::cpu_seconds).transpose()?,
        })
    }
}

/// What happened between two snapshots.
struct Window {
    secs: f64,
    client_cpu: f64,
    server_cpu: Option<f64>,
}

impl Window {
    fn between(a: &Snapshot, b: &Snapshot) -> Window {
        Window {
            secs: b.at.duration_since(a.at).as_secs_f64(),
            client_cpu: b.client_cpu - a.client_cpu,
            server_cpu: a.server_cpu.zip(b.server_cpu).map(|(x, y)| y - x),
        }
    }

    /// Puts the window's length and both processes' CPU use on the line.
    fn put(&self, line: &mut Line) {
        line.num("secs", self.secs);
        line.num("client_cpu_pct", 100.0 * self.client_cpu / self.secs);
        if let Some(s) = self.server_cpu {
            line.num("server_cpu_pct", 100.0 * s / self.secs);
        }
    }
}

/// Puts the server's current and peak resident memory on the line.
fn put_server_memory(line: &mut Line, server_pid: Option<u32>) -> Result<()> {
    if let Some(pid) = server_pid {
        let m = procfs::memory(pid)?;
        line.put("server_rss_kb", m.rss_kb)
            .put("server_hwm_kb", m.hwm_kb);
    }
    Ok(())
}

/// Puts latency percentiles (microseconds) on the line.
fn put_latency(line: &mut Line, hist: &Histogram) {
    for (key, q) in [("p50_us", 0.5), ("p99_us", 0.99), ("p999_us", 0.999)] {
        line.num(key, hist.quantile(q) as f64 / 1000.0);
    }
    line.num("max_us", hist.max() as f64 / 1000.0);
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}
