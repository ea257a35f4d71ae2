//! The load generator's single-threaded event loop: a slab of connections on one mio `Poll`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};

use crate::Result;
use crate::conn::{Conn, Progress, Shared};
use crate::hist::Histogram;

/// What the workload wants done with a connection after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Keep,
    Drop,
}

pub struct Driver {
    poll: Poll,
    events: Events,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    addr: SocketAddr,
    buf_len: usize,
    pub shared: Shared,
    /// Connections opened so far, which also seeds each one's mask keys.
    opened: usize,
}

impl Driver {
    /// `buf_len` sizes each connection's read and write buffers.
    pub fn new(addr: SocketAddr, shared: Shared, buf_len: usize) -> Result<Driver> {
        Ok(Driver {
            poll: Poll::new().map_err(|e| format!("creating poll: {e}"))?,
            events: Events::with_capacity(1024),
            conns: Vec::new(),
            free: Vec::new(),
            addr,
            buf_len,
            shared,
            opened: 0,
        })
    }

    /// Starts a new connection and returns its id.
    pub fn open(&mut self) -> Result<usize> {
        let id = self.free.pop().unwrap_or_else(|| {
            self.conns.push(None);
            self.conns.len() - 1
        });
        self.opened += 1;
        let mut conn = Conn::connect(self.opened, self.addr, self.buf_len, &self.shared)?;
        // Edge-triggered both ways: one registration for the connection's whole life.
        self.poll
            .registry()
            .register(
                conn.stream(),
                Token(id),
                Interest::READABLE | Interest::WRITABLE,
            )
            .map_err(|e| format!("registering connection: {e}"))?;
        self.conns[id] = Some(conn);
        Ok(id)
    }

    pub fn conn(&mut self, id: usize) -> Option<&mut Conn> {
        self.conns.get_mut(id).and_then(Option::as_mut)
    }

    /// Ids of every live connection, in order.
    pub fn ids(&self) -> impl Iterator<Item = usize> + '_ {
        self.conns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.is_some())
            .map(|(i, _)| i)
    }

    /// Queues `n` messages on connection `id` and writes them out.
    pub fn send(&mut self, id: usize, n: u64, at: Instant) -> Result<()> {
        let sh = &self.shared;
        if let Some(conn) = self.conns[id].as_mut() {
            conn.queue(n, at);
            conn.flush(sh)?;
        }
        Ok(())
    }

    /// Waits up to `timeout` for readiness, handles it, and tells `on_progress` what each
    /// connection achieved; after the workload reacts, pending output is written.
    pub fn turn(
        &mut self,
        timeout: Duration,
        hist: &mut Histogram,
        mut on_progress: impl FnMut(usize, &mut Conn, Progress, Instant) -> Result<Next>,
    ) -> Result<()> {
        match self.poll.poll(&mut self.events, Some(timeout)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(format!("poll: {e}")),
        }
        for ev in self.events.iter() {
            // Read the clock per connection, not once per turn: with one time for the whole
            // batch, an echo handled late in a long batch (and the message sent in reply)
            // were stamped with the batch's start, so latencies came out in whole turns and
            // the fastest servers, which leave the client the longest batches, got the
            // widest spread.
            let now = Instant::now();
            let id = ev.token().0;
            let Some(conn) = self.conns.get_mut(id).and_then(Option::as_mut) else {
                continue;
            };
            let progress = conn.on_event(
                ev.is_readable() || ev.is_read_closed(),
                &self.shared,
                now,
                hist,
            )?;
            match on_progress(id, conn, progress, now)? {
                Next::Keep => conn.flush(&self.shared)?,
                Next::Drop => {
                    // mio asks that sources be deregistered before they are dropped.
                    let mut conn = self.conns[id].take().expect("present");
                    let _ = self.poll.registry().deregister(conn.stream());
                    self.free.push(id);
                }
            }
        }
        Ok(())
    }
}
