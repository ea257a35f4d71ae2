//! Where trace lines go: a writer thread behind a bounded queue, so that a slow trace
//! file never holds up the event loop. Past the bound, lines are dropped and counted,
//! and the count is written in their place once the writer catches up.

use std::io::{self, BufWriter, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use super::TraceFormat;
use super::item::{Item, Origin, write_json, write_text};

/// Trace bytes waiting for the writer at most; more are dropped.
pub(crate) const MAX_QUEUED_BYTES: usize = 8 << 20;
/// Batches waiting for the writer at most (one is sent per loop turn).
const MAX_QUEUED_BATCHES: usize = 4096;

/// The loop's end of the trace output.
pub struct TraceSink {
    tx: Option<SyncSender<String>>,
    /// Bytes sent to the writer and not yet written.
    queued: Arc<AtomicUsize>,
    /// Lines written this loop turn, sent at its end.
    batch: String,
    /// Lines dropped since the last batch that got through.
    dropped: u64,
    format: TraceFormat,
    writer: Option<JoinHandle<()>>,
    /// The log, when it goes behind the trace (see [`LogPipe`]).
    log: Option<LogPipe>,
}

/// The log's output when the trace shares stderr with it: each record goes to the trace's
/// writer, behind the lines the loop handed it before, so that on a terminal the two
/// never cross (a connection's "ended" line came in the middle of its trace, written at
/// once while its last lines waited in the queue). Until a trace takes it, and once that
/// trace has finished, records go straight to stderr, as when the writer is full.
#[derive(Clone, Default)]
pub struct LogPipe(Arc<Mutex<Option<Behind>>>);

/// Where a [`LogPipe`] sends records: the trace writer's queue and its byte count.
type Behind = (SyncSender<String>, Arc<AtomicUsize>);

impl LogPipe {
    fn set(&self, to: Option<Behind>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = to;
    }
}

impl Write for LogPipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        {
            let behind = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((tx, queued)) = behind.as_ref() {
                let record = String::from_utf8_lossy(buf).into_owned();
                let len = record.len();
                queued.fetch_add(len, Ordering::Relaxed);
                match tx.try_send(record) {
                    Ok(()) => return Ok(buf.len()),
                    Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                        queued.fetch_sub(len, Ordering::Relaxed);
                    }
                }
            }
        }
        io::stderr().write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

impl TraceSink {
    /// Starts the writer thread on `out` (stderr, or the `--trace-file`).
    pub fn start(out: Box<dyn Write + Send>, format: TraceFormat) -> io::Result<Self> {
        let (tx, rx) = sync_channel(MAX_QUEUED_BATCHES);
        let queued = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&queued);
        let writer = std::thread::Builder::new()
            .name("wsecho-trace".into())
            .spawn(move || write_batches(rx, out, &counter))?;
        Ok(TraceSink {
            tx: Some(tx),
            queued,
            batch: String::new(),
            dropped: 0,
            format,
            writer: Some(writer),
            log: None,
        })
    }

    /// Carries the log records written to `pipe` from now on, behind the trace lines
    /// already flushed (the trace and the log share stderr).
    pub fn carry_log(&mut self, pipe: &LogPipe) {
        if let Some(tx) = &self.tx {
            pipe.set(Some((tx.clone(), Arc::clone(&self.queued))));
            self.log = Some(pipe.clone());
        }
    }

    /// The buffer lines are appended to until [`TraceSink::flush`].
    pub(crate) fn batch(&mut self) -> &mut String {
        &mut self.batch
    }

    /// Hands this turn's lines to the writer, or drops them (counted) if it is behind.
    pub fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let Some(tx) = &self.tx else {
            return;
        };
        let mut batch = std::mem::take(&mut self.batch);
        let len = batch.len();
        if self.queued.load(Ordering::Relaxed) + len > MAX_QUEUED_BYTES {
            self.dropped += batch.matches('\n').count() as u64;
            batch.clear();
            self.batch = batch;
            return;
        }
        if self.dropped > 0 {
            let mut note = String::new();
            let item = Item::Dropped {
                lines: std::mem::take(&mut self.dropped),
            };
            let origin = Origin {
                conn: 0,
                peer: "",
                stream: None,
            };
            match self.format {
                TraceFormat::Text => write_text(&mut note, &origin, 0, &item),
                TraceFormat::Jsonl => write_json(&mut note, &origin, 0, &item),
            }
            batch.insert_str(0, &note);
        }
        let len = batch.len();
        self.queued.fetch_add(len, Ordering::Relaxed);
        match tx.try_send(batch) {
            Ok(()) => {}
            Err(TrySendError::Full(batch) | TrySendError::Disconnected(batch)) => {
                self.queued.fetch_sub(len, Ordering::Relaxed);
                self.dropped += batch.matches('\n').count() as u64;
            }
        }
    }

    /// Writes what is left and waits for the writer (at shutdown).
    pub fn finish(&mut self) {
        self.flush();
        // The log's sender too, or the writer would wait for it forever.
        if let Some(log) = self.log.take() {
            log.set(None);
        }
        self.tx = None;
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl Drop for TraceSink {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The writer thread: writes batches as they come, flushing whenever it has caught up.
fn write_batches(rx: Receiver<String>, out: Box<dyn Write + Send>, queued: &AtomicUsize) {
    let mut out = BufWriter::with_capacity(64 << 10, out);
    let mut failed = false;
    while let Ok(batch) = rx.recv() {
        let mut next = Some(batch);
        while let Some(batch) = next {
            if !failed && let Err(e) = out.write_all(batch.as_bytes()) {
                log::warn!("trace output failed: {e}; tracing stops");
                failed = true;
            }
            queued.fetch_sub(batch.len(), Ordering::Relaxed);
            next = rx.try_recv().ok();
        }
        if !failed && let Err(e) = out.flush() {
            log::warn!("trace output failed: {e}; tracing stops");
            failed = true;
        }
    }
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// A writer that blocks until the test lets it go, then records.
    #[derive(Clone)]
    struct Gate {
        open: Arc<Mutex<()>>,
        written: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for Gate {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let _open = self.open.lock().unwrap();
            self.written.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Log records written to a carried pipe come out behind the trace lines flushed
    /// before them; finishing the trace still ends its writer, and the pipe writes to
    /// stderr again.
    #[test]
    fn the_log_goes_behind_the_trace_until_it_finishes() {
        let gate = Gate {
            open: Arc::new(Mutex::new(())),
            written: Arc::new(Mutex::new(Vec::new())),
        };
        let mut sink = TraceSink::start(Box::new(gate.clone()), TraceFormat::Text).unwrap();
        let pipe = LogPipe::default();
        sink.carry_log(&pipe);
        sink.batch().push_str("trace 1\n");
        sink.flush();
        pipe.clone().write_all(b"log 1\n").unwrap();
        sink.batch().push_str("trace 2\n");
        sink.finish();
        assert!(pipe.0.lock().unwrap().is_none());
        pipe.clone().write_all(b"").unwrap();
        let written = String::from_utf8(gate.written.lock().unwrap().clone()).unwrap();
        assert_eq!(written, "trace 1\nlog 1\ntrace 2\n");
    }

    #[test]
    fn a_writer_that_cannot_keep_up_costs_lines_not_time_and_says_how_many() {
        let gate = Gate {
            open: Arc::new(Mutex::new(())),
            written: Arc::new(Mutex::new(Vec::new())),
        };
        let closed = gate.open.lock().unwrap();
        let mut sink = TraceSink::start(Box::new(gate.clone()), TraceFormat::Text).unwrap();
        // Far more than the queue holds, while the writer is stuck: flush never blocks.
        let line = format!("{}\n", "x".repeat(1023));
        let turns = 3 * MAX_QUEUED_BYTES / (64 * line.len());
        for _ in 0..turns {
            for _ in 0..64 {
                sink.batch().push_str(&line);
            }
            sink.flush();
        }
        assert!(sink.dropped > 0, "nothing was dropped");
        let dropped = sink.dropped;
        drop(closed);
        // Once the writer caught up, the next batch gets through with the count first.
        while sink.queued.load(Ordering::Relaxed) > 0 {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        sink.batch().push_str("last\n");
        sink.finish();
        let written = String::from_utf8(gate.written.lock().unwrap().clone()).unwrap();
        let kept = written.matches(&line[..]).count() as u64;
        assert_eq!(kept + dropped, (turns * 64) as u64);
        assert!(
            written.ends_with(&format!(
                "TRACE DROPPED: {dropped} lines (the trace output could not keep up)\nlast\n"
            )),
            "{}",
            &written[written.len().saturating_sub(200)..]
        );
    }
}
