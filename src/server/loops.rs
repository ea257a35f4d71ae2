//! `--threads N`: N independent event loops, shared-nothing but for a few counters.
//!
//! Each loop is the single-threaded server of `--threads 1`, with its own poll, timers,
//! buffers and clients. Each TCP address gets a listening socket per loop, bound with
//! SO_REUSEPORT, so the kernel spreads connections over the loops; where that option
//! cannot be set (and for Unix sockets), the loops share one listening socket and race to
//! accept from it, the losers finding nothing. The one shared mutable state is
//! [`Shared`]: the number of open connections (for the global `--max-connections`) and
//! each loop's counters as it last published them, for `/metrics`, SIGUSR1 and the final
//! summary. Signals reach every loop (each has its own signal pipe): on SIGTERM each
//! closes its clients and ends, and the process exits once all have.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::listen::{Endpoint, Listener};
use super::metrics::Live;
use super::stats::Stats;

/// How often a busy loop publishes its counters for the others.
pub(super) const PUBLISH_EVERY: Duration = Duration::from_millis(100);

/// What the loops share.
pub(super) struct Shared {
    /// Connections open on all loops.
    open: AtomicUsize,
    /// Connections accepted on all loops: the next one's number.
    accepted: AtomicU64,
    /// Each loop's counters and live connections, as it last published them.
    published: Mutex<Vec<(Stats, Live)>>,
}

impl Shared {
    pub(super) fn new(loops: usize) -> Arc<Shared> {
        Arc::new(Shared {
            open: AtomicUsize::new(0),
            accepted: AtomicU64::new(0),
            published: Mutex::new(vec![(Stats::default(), Live::default()); loops]),
        })
    }

    /// A connection was accepted: returns how many were open before it.
    pub(super) fn opened(&self) -> usize {
        self.open.fetch_add(1, Ordering::Relaxed)
    }

    /// The number of a new connection, unique across the loops (from 1).
    pub(super) fn next_id(&self) -> u64 {
        self.accepted.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// A connection ended.
    pub(super) fn closed(&self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }

    /// Loop `id`'s counters now.
    pub(super) fn publish(&self, id: usize, stats: &Stats, live: Live) {
        let mut published = self.published.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = published.get_mut(id) {
            *slot = (stats.clone(), live);
        }
    }

    /// The sum over all loops, loop `id`'s own taken as given (current) rather than
    /// as published.
    pub(super) fn total(&self, id: usize, own: Option<(&Stats, Live)>) -> (Stats, Live) {
        let published = self.published.lock().unwrap_or_else(|p| p.into_inner());
        let mut stats = Stats::default();
        let mut live = Live::default();
        for (i, (s, l)) in published.iter().enumerate() {
            let (s, l) = match own {
                Some((own_stats, own_live)) if i == id => (own_stats, own_live),
                _ => (s, *l),
            };
            stats.add(s);
            live.add(&l);
        }
        (stats, live)
    }
}

/// The listeners of each of `loops` loops, endpoint by endpoint. Says, once, when the
/// loops of a TCP address share one listener for lack of SO_REUSEPORT.
pub(super) fn bind_loops(
    endpoints: &[Endpoint],
    loops: usize,
) -> Result<Vec<Vec<Listener>>, String> {
    let mut sets: Vec<Vec<Listener>> = (0..loops).map(|_| Vec::new()).collect();
    let mut port = None;
    for endpoint in endpoints {
        let reuseport = match endpoint {
            Endpoint::Tcp(addr) => Listener::bind_reuseport(*addr, port)?.map(|l| (*addr, l)),
            Endpoint::Unix { .. } => None,
        };
        match reuseport {
            Some((addr, first)) => {
                port = port.or(first.port());
                sets[0].push(first);
                for set in sets.iter_mut().skip(1) {
                    let more = Listener::bind_reuseport(addr, port)?.ok_or_else(|| {
                        format!("SO_REUSEPORT on {addr} worked for one loop, not for the next")
                    })?;
                    set.push(more);
                }
            }
            None => {
                let first = Listener::bind(endpoint, port)?;
                port = port.or(first.port());
                if matches!(endpoint, Endpoint::Tcp(_)) {
                    log::warn!(
                        "SO_REUSEPORT is not available for {first}: the {loops} loops share one \
                         listening socket and race to accept from it"
                    );
                }
                for set in sets.iter_mut().skip(1) {
                    set.push(first.share().map_err(|e| format!("{first}: {e}"))?);
                }
                sets[0].push(first);
            }
        }
    }
    Ok(sets)
}
