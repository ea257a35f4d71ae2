//! The event loop: one thread, one mio `Poll`, edge-triggered. It accepts, reads into
//! one receive buffer shared by all connections, hands the bytes to each connection's
//! protocol core, writes what the core queued, and fires deadlines. No protocol logic
//! lives here.

mod client;
mod listen;
mod loops;
mod metrics;
mod nonblock;
pub(crate) mod outbound;
mod rlimit;
mod slab;
mod socket;
mod sockopt;
mod stats;
mod timers;
mod verdict;

use std::io::{self, ErrorKind, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use log::{Level, debug, info, log_enabled, warn};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
use signal_hook_mio::v1_0::Signals;

use crate::config::Config;
use crate::connection::{Connection, Counts, Event, Output};
use crate::escape::Escaped;
use crate::frame::CloseCode;
use crate::handshake::HttpStatus;
use crate::tls::TlsSetup;
use crate::trace::tap::Tap;
use crate::trace::{Selected, Trace};
use client::{Client, ReadOutcome, Reading};
use client::{TlsBuffers, full_body};
use slab::Slab;
use stats::Stats;
use timers::Timers;

const SIGNALS: Token = Token(usize::MAX - 2);
/// Listener `i` has token `FIRST_LISTENER - i`; clients count up from 0, below
/// [`LAST_CLIENT`] (a slab that large could not be allocated anyway).
const FIRST_LISTENER: usize = usize::MAX - 3;
const LAST_CLIENT: usize = usize::MAX >> 1;

/// The shared receive buffer: big enough that bulk transfers need few reads.
const READ_BUF_LEN: usize = 256 << 10;
/// What one read's echoes may add to its bytes: a frame header for a frame continued from
/// the last read, and up to 3 held-back bytes of a split code point.
const ECHO_SLACK: usize = 1 << 10;
/// How long accepting pauses when the process is out of file descriptors.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// How long a shutdown waits for clients to answer the 1001 close.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

pub use listen::{Endpoint, resolve};
pub use rlimit::fit_to_fd_limit;

/// The least `--max-backpressure` that can work with `write_high_water`: reading pauses
/// at the high-water mark, but the echoes of the read that crossed it are queued already,
/// and a client that merely reads slowly must be paused, not closed with 1008.
pub fn backpressure_floor(write_high_water: usize) -> usize {
    write_high_water.saturating_add(READ_BUF_LEN + ECHO_SLACK)
}

/// Why the server could not start or stopped.
#[derive(Debug)]
pub enum RunError {
    /// An endpoint could not be bound: the one-line message names it (exit code 2).
    Listen(String),
    /// The event loop failed.
    Io(io::Error),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Listen(e) => f.write_str(e),
            RunError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl From<io::Error> for RunError {
    fn from(e: io::Error) -> Self {
        RunError::Io(e)
    }
}

/// Binds every endpoint, prints the listening line, and serves until SIGINT or SIGTERM,
/// on `threads` event loops (see `loops.rs`; 1 is the single loop). With `tls`, the TCP
/// ports serve `wss://` too (or only, with `--tls-only`); with `trace`, the connections
/// it selects are traced (one loop only).
pub fn run(
    endpoints: &[Endpoint],
    config: Config,
    tls: Option<TlsSetup>,
    trace: Option<Trace>,
    threads: usize,
) -> Result<(), RunError> {
    if threads > 1 {
        if trace.is_some() {
            return Err(RunError::Listen(
                "the wire trace runs on one event loop: use it with --threads 1".into(),
            ));
        }
        return run_loops(endpoints, config, tls, threads);
    }
    let listeners = bind_all(endpoints).map_err(RunError::Listen)?;
    let mut server = Server::new(listeners, config, tls)?;
    server.reading.trace = trace;
    let line = listening_line(&server.listeners, server.reading.setup.as_ref());
    let mut stdout = io::stdout();
    writeln!(stdout, "{line}")?;
    stdout.flush()?;
    for listener in &server.listeners {
        info!("listening on {listener}");
    }
    Ok(server.serve()?)
}

/// `run` with `threads` loops: each on a thread of its own, the process ending when all
/// have.
fn run_loops(
    endpoints: &[Endpoint],
    config: Config,
    tls: Option<TlsSetup>,
    threads: usize,
) -> Result<(), RunError> {
    let sets = loops::bind_loops(endpoints, threads).map_err(RunError::Listen)?;
    let shared = loops::Shared::new(threads);
    let line = listening_line(&sets[0], tls.as_ref());
    let mut stdout = io::stdout();
    writeln!(stdout, "{line} ({threads} event loops)")?;
    stdout.flush()?;
    for listener in &sets[0] {
        info!("listening on {listener} with {threads} event loops");
    }
    let mut handles = Vec::new();
    for (id, listeners) in sets.into_iter().enumerate() {
        let (config, tls, shared) = (config.clone(), tls.clone(), Arc::clone(&shared));
        let handle = std::thread::Builder::new()
            .name(format!("wsecho-loop-{id}"))
            .spawn(move || -> io::Result<()> {
                let mut server = Server::new(listeners, config, tls)?;
                server.id = id;
                server.shared = Some(shared);
                server.serve()
            })?;
        handles.push(handle);
    }
    let mut result = Ok(());
    for (id, handle) in handles.into_iter().enumerate() {
        let outcome = match handle.join() {
            Ok(outcome) => outcome,
            Err(_) => Err(io::Error::other(format!("event loop {id} panicked"))),
        };
        if let Err(e) = outcome {
            warn!("event loop {id}: {e}");
            result = Err(RunError::Io(e));
        }
    }
    let (stats, live) = shared.total(usize::MAX, None);
    info!("shut down; {}", stats.summary(live.open, live.counts));
    result
}

/// Binds the endpoints in order; TCP port 0 is picked once, by the first TCP address,
/// and shared by the others.
fn bind_all(endpoints: &[Endpoint]) -> Result<Vec<listen::Listener>, String> {
    let mut listeners: Vec<listen::Listener> = Vec::new();
    let mut port = None;
    for endpoint in endpoints {
        let listener = listen::Listener::bind(endpoint, port)?;
        port = port.or(listener.port());
        listeners.push(listener);
    }
    Ok(listeners)
}

/// `wsecho listening on ws://ADDR` (each listener, joined by `and`), with TLS
/// `… and wss://ADDR (certificate, SHA-256 …)`; a Unix socket is `ws+unix:PATH`.
fn listening_line(listeners: &[listen::Listener], tls: Option<&TlsSetup>) -> String {
    let urls: Vec<String> = listeners
        .iter()
        .flat_map(|l| {
            let at = l.to_string();
            let (ws, wss) = match at.strip_prefix("unix:") {
                Some(path) => (format!("ws+unix:{path}"), format!("wss+unix:{path}")),
                None => (format!("ws://{at}"), format!("wss://{at}")),
            };
            match tls {
                None => vec![ws],
                Some(t) if t.only => vec![wss],
                Some(_) => vec![ws, wss],
            }
        })
        .collect();
    let urls = urls.join(" and ");
    let Some(tls) = tls else {
        return format!("wsecho listening on {urls}");
    };
    let cert = if tls.self_signed {
        "self-signed certificate"
    } else {
        "certificate"
    };
    format!(
        "wsecho listening on {urls} ({cert}, SHA-256 {})",
        tls.fingerprint
    )
}

struct Server {
    poll: Poll,
    listeners: Vec<listen::Listener>,
    signals: Signals,
    clients: Slab<Client>,
    timers: Timers,
    /// The receive and output buffers, the settings and TLS.
    reading: Reading,
    stats: Stats,
    accept_paused_until: Option<Instant>,
    shutdown_deadline: Option<Instant>,
    /// Accepted sockets inherit TCP_NODELAY from the listener.
    nodelay_inherited: bool,
    /// Connections that stopped reading at their budget (or whose reading may resume),
    /// driven again on the loop's next turn.
    yielded: Vec<usize>,
    /// This loop's number (`--threads`; 0 for the single loop).
    id: usize,
    /// What the loops share, with more than one.
    shared: Option<Arc<loops::Shared>>,
    /// When this loop next publishes its counters to the others: set when it has done
    /// something since it last did.
    publish_at: Option<Instant>,
}

impl Server {
    fn new(
        mut listeners: Vec<listen::Listener>,
        config: Config,
        tls: Option<TlsSetup>,
    ) -> io::Result<Self> {
        let poll = Poll::new()?;
        let mut nodelay_inherited = true;
        for (i, listener) in listeners.iter_mut().enumerate() {
            if let Some(tcp) = listener.tcp() {
                nodelay_inherited &= sockopt::tune_listener(tcp);
            }
            poll.registry().register(
                listener.source(),
                Token(FIRST_LISTENER - i),
                Interest::READABLE,
            )?;
        }
        let mut signals = Signals::new([SIGINT, SIGTERM, SIGUSR1])?;
        poll.registry()
            .register(&mut signals, SIGNALS, Interest::READABLE)?;
        Ok(Server {
            poll,
            listeners,
            signals,
            clients: Slab::new(),
            timers: Timers::default(),
            reading: Reading {
                buf: vec![0; READ_BUF_LEN],
                out: Output::with_capacity(READ_BUF_LEN + READ_BUF_LEN / 8),
                // Buffers of TLS connections (empty without TLS).
                tls_bufs: if tls.is_some() {
                    TlsBuffers::new()
                } else {
                    TlsBuffers::default()
                },
                config: Arc::new(config),
                setup: tls,
                trace: None,
            },
            stats: Stats::default(),
            accept_paused_until: None,
            shutdown_deadline: None,
            nodelay_inherited,
            yielded: Vec::new(),
            id: 0,
            shared: None,
            publish_at: None,
        })
    }

    fn serve(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        loop {
            let timeout = if self.yielded.is_empty() {
                self.next_wakeup()
                    .map(|at| at.saturating_duration_since(Instant::now()))
            } else {
                // Connections have reading left: only look for other events.
                Some(Duration::ZERO)
            };
            match self.poll.poll(&mut events, timeout) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let now = Instant::now();
            // Those that yielded last turn go after this turn's events.
            let mut yielded = std::mem::take(&mut self.yielded);
            for event in events.iter() {
                // Clients first: one comparison on the path every echo takes.
                match event.token() {
                    Token(key) if key <= LAST_CLIENT => {
                        if event.is_read_closed() || event.is_error() {
                            // The peer's FIN (or an error) is waiting behind any data: the
                            // next read must not stop at a short read, or no edge is left
                            // to tell us about it.
                            if let Some(client) = self.clients.get_mut(key) {
                                client.note_read_closed();
                            }
                        }
                        let readable =
                            event.is_readable() || event.is_read_closed() || event.is_error();
                        self.drive(key, readable, event.is_writable(), now);
                    }
                    SIGNALS => self.on_signals(now),
                    Token(t) => self.accept(FIRST_LISTENER.wrapping_sub(t), now),
                }
            }
            self.fire_timers(now);
            // All taken out before any is driven, so that each is driven at most once
            // however many entries it has (see `Client::enqueue`).
            let clients = &mut self.clients;
            yielded.retain(|&key| clients.get_mut(key).is_some_and(Client::dequeue));
            for key in yielded {
                self.drive(key, true, false, now);
            }
            if let Some(trace) = &mut self.reading.trace {
                trace.sink.flush();
            }
            if self.shared.is_some() {
                self.publish_when_due(now);
            }
            if self
                .shutdown_deadline
                .is_some_and(|d| self.clients.is_empty() || d <= now)
            {
                if let Some(trace) = &mut self.reading.trace {
                    trace.sink.finish();
                }
                match &self.shared {
                    None => info!("shut down; {}", self.summary()),
                    Some(shared) => {
                        // The process's summary sums every loop's once all have ended.
                        shared.publish(self.id, &self.stats, self.live());
                        debug!("loop {} shut down; {}", self.id, self.summary());
                    }
                }
                return Ok(());
            }
        }
    }

    fn next_wakeup(&mut self) -> Option<Instant> {
        let clients = &self.clients;
        let is_current = |at, key| {
            clients
                .get(key)
                .is_some_and(|client: &Client| client.scheduled() == Some(at))
        };
        self.timers.compact(clients.len(), is_current);
        let next_deadline = self.timers.next_current(is_current);
        let next = [
            next_deadline,
            self.accept_paused_until,
            self.shutdown_deadline,
        ]
        .into_iter()
        .flatten()
        .min();
        match self.publish_at {
            // (Only with several loops.)
            Some(at) => Some(next.map_or(at, |n| n.min(at))),
            None => next,
        }
    }

    /// Accepts on listener `index` until it has no more connections waiting.
    fn accept(&mut self, index: usize, now: Instant) {
        if self.shutdown_deadline.is_some() || self.accept_paused_until.is_some_and(|t| t > now) {
            return;
        }
        self.accept_paused_until = None;
        loop {
            let Some(listener) = self.listeners.get(index) else {
                return;
            };
            let mut accepted = None;
            let result = nonblock::retry(|| {
                let (stream, peer) = listener.accept()?;
                accepted = Some((stream, peer));
                Ok(1)
            });
            match result {
                Ok(nonblock::Io::Done(_)) => {
                    if let Some((stream, peer)) = accepted {
                        self.add_client(stream, peer, now);
                    }
                }
                Ok(nonblock::Io::Blocked) => return,
                Err(e) => {
                    // EMFILE/ENFILE and friends: the connection stays in the backlog;
                    // retry after a pause instead of spinning on an event that repeats.
                    warn!("accept failed: {e}; pausing accepts for {ACCEPT_BACKOFF:?}");
                    self.accept_paused_until = Some(now + ACCEPT_BACKOFF);
                    return;
                }
            }
        }
    }

    /// A client accepted from `peer` (`None`: over a Unix socket).
    fn add_client(&mut self, stream: TcpStream, peer: Option<SocketAddr>, now: Instant) {
        self.stats.accepted += 1;
        let shown = peer.map_or_else(|| "unix".to_string(), |p| p.to_string());
        // Echoes are small and latency-bound: never wait for Nagle.
        if peer.is_some()
            && !self.nodelay_inherited
            && let Err(e) = stream.set_nodelay(true)
        {
            debug!("{shown}: TCP_NODELAY failed: {e}");
        }
        let open = match &self.shared {
            None => self.clients.len(),
            Some(shared) => shared.opened(),
        };
        let full = open >= self.reading.config.max_connections;
        let mut conn = Connection::new(Arc::clone(&self.reading.config), now);
        if let Some(peer) = peer {
            conn.set_peer(peer);
        }
        // Every connection's first byte is looked at (to serve TLS, or to tell a TLS
        // client it reached a cleartext port) before it goes on the plain path.
        // With TLS set up, or HTTP/2, a full server's 503 waits to know how to speak to
        // the client (an HTTP/2 client gets it on its first stream).
        let defer_503 = full && (self.reading.setup.is_some() || self.reading.config.http2);
        let id = match &self.shared {
            None => self.stats.accepted,
            Some(shared) => shared.next_id(),
        };
        let key = self
            .clients
            .insert(Client::sniffing(stream, conn, defer_503, (id, now)));
        let Some(client) = self.clients.get_mut(key) else {
            return;
        };
        if let Err(e) =
            self.poll
                .registry()
                .register(&mut client.socket.stream, Token(key), Interest::READABLE)
        {
            warn!("{shown}: register failed: {e}");
            self.clients.remove(key);
            return;
        }
        client.set_peer(peer);
        debug!("{shown}: accepted on loop {}", self.id);
        if let Some(trace) = &self.reading.trace {
            let selected = trace.select.select(peer);
            if selected != Selected::No {
                let on_request = selected == Selected::IfAsked;
                let options = Arc::clone(&trace.options);
                let conn_id = id;
                client.set_trace(Box::new(Tap::new(conn_id, shown, options, on_request)));
            }
        }
        if full && !defer_503 {
            client.reject(
                HttpStatus::ServiceUnavailable,
                &full_body(self.reading.config.max_connections),
                now,
            );
        }
        self.after_io(key);
    }

    /// Handles readiness for one connection.
    fn drive(&mut self, key: usize, readable: bool, writable: bool, now: Instant) {
        let Server {
            clients,
            reading,
            yielded,
            ..
        } = self;
        let Some(client) = clients.get_mut(key) else {
            return;
        };
        if writable && let Err(e) = client.on_writable(now) {
            self.remove_broken(key, Some(("write", &e)));
            return;
        }
        // Edge-triggered: a paused reader resumes once output drained, without a new edge.
        let resume = client.may_resume();
        if readable || resume {
            let outcome = client.read(reading, now);
            match outcome {
                ReadOutcome::Ok => {}
                ReadOutcome::Error(e) => {
                    self.remove_broken(key, Some(("read", &e)));
                    return;
                }
                ReadOutcome::Dropped => {
                    self.remove_broken(key, None);
                    return;
                }
            }
        }
        if client.has_yielded() && client.enqueue() {
            yielded.push(key);
        }
        if client.is_settled() {
            return;
        }
        self.after_io(key);
    }

    /// Flushes, logs events, reschedules the deadline, and drops finished connections.
    #[inline]
    fn after_io(&mut self, key: usize) {
        let Some(client) = self.clients.get_mut(key) else {
            return;
        };
        let mut flushed = client.flush();
        let mut metrics_asked = false;
        while let Some((stream, event)) = client.poll_event() {
            log_event(&On(client.peer(), stream), &event);
            self.stats.record(&event);
            if stream.is_some() && matches!(event, Event::Opened { .. }) {
                self.stats.h2_websockets += 1;
            }
            client.note_event(stream, &event);
            metrics_asked |= event == Event::MetricsAsked;
        }
        if metrics_asked {
            let body = match &self.shared {
                None => metrics::render(&self.stats, &self.live()),
                Some(shared) => {
                    let (stats, live) = shared.total(self.id, Some((&self.stats, self.live())));
                    metrics::render(&stats, &live)
                }
            };
            let Some(again) = self.clients.get_mut(key) else {
                return;
            };
            again.answer_metrics(body, Instant::now());
            flushed = flushed.and_then(|()| again.flush());
        }
        let Some(client) = self.clients.get_mut(key) else {
            return;
        };
        if let Some(trace) = &mut self.reading.trace {
            client.take_trace_lines(trace.sink.batch());
        }
        if let Err(e) = flushed {
            self.remove_broken(key, Some(("write", &e)));
            return;
        }
        // Finishing: the close handshake is complete and our close frame written; closing
        // the socket sends the FIN.
        if client.finished(&mut self.reading.buf) {
            self.remove(key);
            return;
        }
        if let Err(e) = client.update_interest(self.poll.registry(), Token(key)) {
            warn!("{}: reregister failed: {e}", client.peer());
            self.remove(key);
            return;
        }
        if let Some(at) = client.take_moved_deadline() {
            self.timers.schedule(at, key);
        }
        // A paused reader whose output drained during this turn resumes on the next
        // (not by recursion here, which a fast reader could make deep).
        if client.may_resume() {
            client.yield_turn();
            if client.enqueue() {
                self.yielded.push(key);
            }
        }
    }

    fn fire_timers(&mut self, now: Instant) {
        while let Some(key) = self.timers.pop_due(now) {
            let Some(client) = self.clients.get_mut(key) else {
                continue;
            };
            // Entries are not removed when a deadline moves: only a current one fires.
            if client.scheduled().is_some_and(|d| d <= now) {
                client.forget_scheduled();
                client.handle_timeout(now);
                self.after_io(key);
            }
        }
        if self.accept_paused_until.is_some_and(|t| t <= now) {
            for index in 0..self.listeners.len() {
                self.accept(index, now);
            }
        }
    }

    fn on_signals(&mut self, now: Instant) {
        let signals: Vec<i32> = self.signals.pending().collect();
        if signals.contains(&SIGUSR1) {
            // Asked for: shown even when the log filter hides info lines (RUST_LOG=warn).
            // With several loops each says its own, and loop 0 the sum as well.
            let mut lines = Vec::new();
            match &self.shared {
                None => lines.push(self.summary()),
                Some(shared) => {
                    lines.push(format!("loop {}: {}", self.id, self.summary()));
                    if self.id == 0 {
                        let (stats, live) = shared.total(self.id, Some((&self.stats, self.live())));
                        let sum = stats.summary(live.open, live.counts);
                        lines.push(format!("all loops: {sum}"));
                    }
                }
            }
            for line in lines {
                if log_enabled!(Level::Info) {
                    info!("{line}");
                } else {
                    eprintln!("wsecho: {line}");
                }
            }
        }
        if !(signals.contains(&SIGINT) || signals.contains(&SIGTERM))
            || self.shutdown_deadline.is_some()
        {
            return;
        }
        info!(
            "shutting down: closing {} connections with 1001",
            self.clients.len()
        );
        for listener in &mut self.listeners {
            let _ = self.poll.registry().deregister(listener.source());
        }
        self.shutdown_deadline = Some(now + SHUTDOWN_GRACE);
        // No more accepts: a pending back-off would only keep waking the loop.
        self.accept_paused_until = None;
        for key in self.clients.keys() {
            if let Some(client) = self.clients.get_mut(key) {
                client.close(CloseCode::GOING_AWAY, "server shutting down", now);
            }
            self.after_io(key);
        }
    }

    /// Drops a connection whose socket failed (a reset, say, `failure` naming the call),
    /// or whose transport did (logged already): what its core had to report is still
    /// logged and counted, and an open connection counts as dropped without a close, as
    /// after EOF.
    #[cold]
    fn remove_broken(&mut self, key: usize, failure: Option<(&str, &io::Error)>) {
        let Some(client) = self.clients.get_mut(key) else {
            return;
        };
        if let Some((op, e)) = failure {
            debug!("{}: {op} failed: {e}", client.peer());
            client.note_socket_failure(format!("{op} failed: {e}"));
        }
        client.transport_ended();
        while let Some((stream, event)) = client.poll_event() {
            log_event(&On(client.peer(), stream), &event);
            self.stats.record(&event);
            client.note_event(stream, &event);
        }
        self.remove(key);
    }

    fn remove(&mut self, key: usize) {
        // Closing the socket (dropping it) takes it out of epoll: no deregister needed.
        if let Some(mut client) = self.clients.remove(key) {
            if let Some(shared) = &self.shared {
                shared.closed();
            }
            self.stats.add_finished(client.counts());
            self.stats.tls_finished += u64::from(client.is_tls());
            self.stats.h2_finished += u64::from(client.is_h2());
            // The trace's last lines of the connection first, handed to the writer: with
            // the log behind the trace (both on stderr) its "ended" line comes after them.
            if let Some(trace) = &mut self.reading.trace {
                client.trace_closed_by_us();
                client.take_trace_lines(trace.sink.batch());
                trace.sink.flush();
            }
            info!("{}", client.ended(Instant::now()));
        }
    }

    /// With several loops: publishes this loop's counters once [`loops::PUBLISH_EVERY`]
    /// has passed since it started doing something (an idle loop publishes nothing, and
    /// has nothing new to publish).
    #[cold]
    fn publish_when_due(&mut self, now: Instant) {
        let Some(shared) = &self.shared else {
            return;
        };
        match self.publish_at {
            None => self.publish_at = Some(now + loops::PUBLISH_EVERY),
            Some(at) if at <= now => {
                shared.publish(self.id, &self.stats, self.live());
                self.publish_at = None;
            }
            Some(_) => {}
        }
    }

    fn summary(&self) -> String {
        let live = self.live();
        self.stats.summary(live.open, live.counts).to_string()
    }

    /// The open connections and their work so far.
    fn live(&self) -> metrics::Live {
        let mut live = metrics::Live {
            open: self.clients.len(),
            counts: Counts::default(),
            tls: 0,
            h2: 0,
        };
        for key in self.clients.keys() {
            if let Some(client) = self.clients.get(key) {
                live.counts.add(&client.counts());
                live.tls += u64::from(client.is_tls());
                live.h2 += u64::from(client.is_h2());
            }
        }
        live
    }
}

/// Where an event happened: the client, and the HTTP/2 stream if it has streams.
struct On(verdict::PeerAddr, Option<u32>);

impl std::fmt::Display for On {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.1 {
            None => write!(f, "{}", self.0),
            Some(stream) => write!(f, "{} stream {stream}", self.0),
        }
    }
}

fn log_event(peer: &On, event: &Event) {
    match event {
        Event::Opened { deflate } => {
            debug!(
                "{peer}: open (permessage-deflate {})",
                if *deflate { "on" } else { "off" }
            )
        }
        Event::Refused { status, reason } => {
            debug!("{peer}: answered HTTP {status}: {}", Escaped(reason))
        }
        Event::ServedPage => debug!("{peer}: served the landing page"),
        Event::MetricsAsked => debug!("{peer}: asked for the metrics"),
        Event::Failed { error, at } => {
            debug!("{peer}: failed: {} {error} ({at})", error.close_code())
        }
        Event::ServerClosed { code, reason } => {
            debug!("{peer}: closing: {code} {}", Escaped(reason))
        }
        Event::PeerClosed { code: Some(code) } => debug!("{peer}: closed by client with {code}"),
        Event::PeerClosed { code: None } => debug!("{peer}: closed by client (no code)"),
        Event::Dropped { during } => debug!("{peer}: TCP closed by client during {during}"),
        Event::TimedOut { during } => debug!("{peer}: timed out during {during}"),
        Event::Aborted => debug!("{peer}: resetting the connection, as the request asked"),
    }
}
