//! Running one `Connection` over a byte stream the way the mio driver does — reads of
//! some size, the clock moving, `handle_timeout` at every tick, now and then the socket
//! taking refused output — and checking the rules that hold call by call.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wsecho::fuzzing::config::Config;
use wsecho::fuzzing::connection::{Connection, Event, Output, Status};
use wsecho::fuzzing::frame::CloseCode;

use crate::schedule::Schedule;

/// What one run produced.
#[derive(Debug)]
pub struct Run {
    pub out: Vec<u8>,
    pub events: Vec<Event>,
    /// `handle_input` and `handle_timeout` calls made (each may write a frame header).
    pub calls: usize,
    /// A deadline ended an open connection before the whole stream was read (handshake
    /// timeout, idle close, unanswered ping), or the server closed it midway, so only a
    /// prefix of it counted.
    pub cut_by_clock: bool,
    pub status: Status,
}

/// What to do after the stream.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ending {
    /// The server shuts down: `Connection::close(1001, ..)`, midway through the stream
    /// (at a read the schedule picks, wherever it cut a frame; the rest is still fed) or
    /// after it.
    pub server_close: bool,
    /// The peer shuts down its side of TCP.
    pub eof: bool,
    /// The request asks for output to be held (`?delay=`, `?handshake-delay=`, behind a
    /// `?send=` message partway out): a close of ours may be held too, and the status
    /// reads open until held bytes are out, so the checks that expect them at once do
    /// not apply.
    pub output_may_be_held: bool,
}

fn rank(s: Status) -> u8 {
    match s {
        Status::Open => 0,
        Status::Closing | Status::Finishing | Status::Reset => 1,
        Status::Done => 2,
    }
}

/// Tracks the status across calls: it only ever moves forward, and once the
/// connection is no longer open nothing more may be written.
struct Watch {
    status: Status,
}

impl Watch {
    fn after(&mut self, conn: &Connection, what: &str, wrote: usize) -> Result<(), String> {
        if self.status != Status::Open && wrote > 0 {
            return Err(format!(
                "{what} wrote {wrote} bytes while {:?}",
                self.status
            ));
        }
        let next = conn.status();
        if rank(next) < rank(self.status) {
            return Err(format!(
                "{what}: status went back from {:?} to {next:?}",
                self.status
            ));
        }
        self.status = next;
        Ok(())
    }
}

/// Feeds `stream` by `schedule`, then ends as `ending` says. Errors name the rule broken.
pub fn drive(
    config: &Arc<Config>,
    stream: &[u8],
    schedule: &mut Schedule<'_>,
    ending: Ending,
) -> Result<Run, String> {
    let start = Instant::now();
    let mut now = start;
    let mut conn = Connection::new(Arc::clone(config), start);
    let mut out = Vec::new();
    let mut scratch = Output::default();
    let mut watch = Watch {
        status: conn.status(),
    };
    let mut events = Vec::new();
    let mut calls = 0;
    let mut cut_by_clock = false;
    let mut closed = false;
    let mut rest = stream;
    // Zero-length reads are allowed but must not go on forever: past this many calls
    // the rest goes in one read.
    let mut budget = stream.len() + 64;
    loop {
        let (len, step) = match budget.checked_sub(1) {
            Some(left) => {
                budget = left;
                schedule.next_step()
            }
            None => (usize::MAX, Duration::ZERO),
        };
        let (chunk, r) = rest.split_at(len.min(rest.len()));
        rest = r;
        let mut buf = chunk.to_vec();
        let before = out.len();
        // The production entry, split as the plain driver splits it
        // (`server/client.rs`): the small echoes built in place, and the general path
        // only when input remains or output is queued (every other read, here); the
        // output flattened.
        let run = conn.echo_in_place(&mut buf, now);
        if run.taken == buf.len() && len % 2 == 0 {
            out.extend_from_slice(&buf[..run.echoed]);
        } else {
            scratch.clear();
            conn.handle_input_after(&mut buf, &run, now, &mut scratch);
            scratch.flatten_into(&buf, &mut out);
        }
        calls += 1;
        watch.after(&conn, "handle_input", out.len() - before)?;
        drain(&mut conn, &mut events);
        if ending.server_close && !closed && len % 5 == 4 && !rest.is_empty() {
            closed = true;
            cut_by_clock = true;
            let before = out.len();
            conn.close(CloseCode::GOING_AWAY, "shutting down", now, &mut out);
            watch.after(&conn, "close", out.len() - before)?;
            drain(&mut conn, &mut events);
        }

        now += step;
        // The socket taking refused output, now and then: it may move the keepalive's
        // deadline but must write nothing and change no status.
        if len % 3 == 0 {
            let (was, queued, deadline) = (watch.status, events.len(), conn.deadline());
            conn.handle_output_taken(now);
            watch.after(&conn, "handle_output_taken", 0)?;
            drain(&mut conn, &mut events);
            if watch.status != was || events.len() != queued {
                return Err("handle_output_taken changed the status or made an event".into());
            }
            if conn.deadline() != deadline && conn.deadline().is_none_or(|d| d <= now) {
                return Err("handle_output_taken moved the deadline to the past or off".into());
            }
        }
        let due = conn.deadline().is_some_and(|d| d <= now);
        let (was, handshaking) = (watch.status, handshaking(&events));
        // Called at every tick, due or not, as a coarse timer would: an early call must
        // change nothing.
        let before = out.len();
        conn.handle_timeout(now, &mut out);
        calls += 1;
        watch.after(&conn, "handle_timeout", out.len() - before)?;
        drain(&mut conn, &mut events);
        if !due && (out.len() != before || watch.status != was) {
            return Err("handle_timeout acted before the deadline".into());
        }
        // A passed handshake or close deadline ends the connection; an open one's may
        // just ping.
        if due
            && (handshaking || matches!(was, Status::Closing | Status::Finishing))
            && watch.status != Status::Done
        {
            return Err(format!(
                "a passed deadline left the connection {:?}",
                watch.status
            ));
        }
        // A close the clock started counts even while it waits for an echo frame's end.
        cut_by_clock |=
            due && was == Status::Open && (watch.status != Status::Open || conn.close_pending());
        if rest.is_empty() || watch.status == Status::Done {
            break;
        }
    }
    if ending.server_close && !closed {
        let before = out.len();
        let was_open = watch.status == Status::Open && !handshaking(&events);
        conn.close(CloseCode::GOING_AWAY, "shutting down", now, &mut out);
        watch.after(&conn, "close", out.len() - before)?;
        if was_open && conn.close_pending() {
            // Our echo frame is going out: the close waits for its end, sending nothing.
            if out.len() != before || watch.status != Status::Open {
                return Err("a deferred close() sent something or left the open state".into());
            }
        } else if was_open
            && !ending.output_may_be_held
            && (watch.status != Status::Closing || out.len() == before)
        {
            return Err("close() on an open connection sent no close frame".into());
        }
    }
    if ending.eof {
        let was = watch.status;
        conn.handle_eof();
        watch.after(&conn, "handle_eof", 0)?;
        // Our last bytes still go out after a half-close: closing or finishing, the
        // connection finishes; otherwise it ends.
        // A connection ending with a reset (`?abort`) resets now.
        let expected = match was {
            Status::Closing | Status::Finishing => Status::Finishing,
            Status::Open | Status::Done | Status::Reset => Status::Done,
        };
        if watch.status != expected && !ending.output_may_be_held {
            return Err(format!("EOF left a {was:?} connection {:?}", watch.status));
        }
    }
    drain(&mut conn, &mut events);
    Ok(Run {
        out,
        events,
        calls,
        cut_by_clock,
        status: watch.status,
    })
}

/// Whether the upgrade has not happened yet (nor been refused).
fn handshaking(events: &[Event]) -> bool {
    !events.iter().any(|e| {
        matches!(
            e,
            Event::Opened { .. } | Event::Refused { .. } | Event::ServedPage
        )
    })
}

fn drain(conn: &mut Connection, events: &mut Vec<Event>) {
    while let Some(e) = conn.poll_event() {
        events.push(e);
    }
}
