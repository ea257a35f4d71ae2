//! The thread that keeps one HTTP/2 connection moving: a current-thread tokio runtime
//! blocked on a stop signal, so that the h2 crate's connection task (spawned on it)
//! answers PINGs and SETTINGS and flushes frames while the test thread does something
//! else, and so that the blocking calls of the test thread (`Handle::block_on`, which
//! on a current-thread runtime needs another thread inside `Runtime::block_on` to drive
//! I/O and timers) have their I/O and timers driven.

use std::future::Future;
use std::io;
use std::sync::Mutex;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use tokio::runtime::{Builder, Handle};
use tokio::sync::{oneshot, watch};

use super::errors::timed_out;

/// How the h2 crate's connection task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionEnd {
    /// Closed cleanly: a GOAWAY with NO_ERROR, or the transport closed at a frame
    /// boundary with no stream open.
    Closed,
    /// A GOAWAY with an error code; `remote` when the server sent it, not the h2
    /// crate on finding the server at fault.
    GoAway {
        /// The error code.
        reason: h2::Reason,
        /// Sent by the server.
        remote: bool,
    },
    /// The transport failed, or the h2 crate ended the connection another way.
    Error(String),
}

impl ConnectionEnd {
    pub(super) fn of(result: Result<(), h2::Error>) -> ConnectionEnd {
        match result {
            Ok(()) => ConnectionEnd::Closed,
            Err(e) if e.is_go_away() => match e.reason() {
                Some(h2::Reason::NO_ERROR) => ConnectionEnd::Closed,
                Some(reason) => ConnectionEnd::GoAway {
                    reason,
                    remote: e.is_remote(),
                },
                None => ConnectionEnd::Error(e.to_string()),
            },
            Err(e) => ConnectionEnd::Error(e.to_string()),
        }
    }
}

/// The runtime thread of one connection, shared by the connection and its streams: it
/// stops when the last of them is dropped.
pub(super) struct Driver {
    handle: Handle,
    stop: Mutex<Option<oneshot::Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// `None` while the connection task runs, then how it ended.
    end_tx: watch::Sender<Option<ConnectionEnd>>,
}

impl Driver {
    /// Starts the runtime thread.
    pub(super) fn start() -> io::Result<Driver> {
        let runtime = Builder::new_current_thread().enable_all().build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = thread::Builder::new()
            .name("h2-client".into())
            .spawn(move || {
                // A dropped sender is a stop too.
                let _ = runtime.block_on(stopped);
            })?;
        Ok(Driver {
            handle,
            stop: Mutex::new(Some(stop)),
            thread: Mutex::new(Some(thread)),
            end_tx: watch::Sender::new(None),
        })
    }

    /// Runs `future` to completion on the calling thread, its I/O and timers driven by
    /// the runtime thread, with tasks spawned from it running there.
    pub(super) fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.handle.block_on(future)
    }

    /// [`Driver::block_on`] bounded by `timeout`: a `TimedOut` error names `what`.
    pub(super) fn within<T>(
        &self,
        timeout: Duration,
        what: &str,
        future: impl Future<Output = io::Result<T>>,
    ) -> io::Result<T> {
        self.block_on(async {
            tokio::time::timeout(timeout, future)
                .await
                .map_err(|_| timed_out(what, timeout))?
        })
    }

    /// Spawns the h2 crate's connection task; its end is kept for [`Driver::ended`].
    pub(super) fn spawn_connection(
        &self,
        connection: impl Future<Output = Result<(), h2::Error>> + Send + 'static,
    ) {
        let end_tx = self.end_tx.clone();
        self.handle.spawn(async move {
            let end = ConnectionEnd::of(connection.await);
            end_tx.send_replace(Some(end));
        });
    }

    /// How the connection ended, waiting up to `timeout` for it to end.
    pub(super) fn ended(&self, timeout: Duration) -> io::Result<ConnectionEnd> {
        let mut end_rx = self.end_tx.subscribe();
        self.within(timeout, "the connection's end", async move {
            let end = end_rx
                .wait_for(Option::is_some)
                .await
                .map_err(|_| io::Error::other("the connection task vanished"))?;
            end.clone()
                .ok_or_else(|| io::Error::other("woken with no end"))
        })
    }

    /// How the connection ended, if it has.
    pub(super) fn end_now(&self) -> Option<ConnectionEnd> {
        self.end_tx.borrow().clone()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Ok(mut stop) = self.stop.lock()
            && let Some(stop) = stop.take()
        {
            let _ = stop.send(());
        }
        if let Ok(mut thread) = self.thread.lock()
            && let Some(thread) = thread.take()
        {
            // Dropping the runtime there drops the connection task and its socket.
            let _ = thread.join();
        }
    }
}
