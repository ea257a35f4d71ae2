//! Behaviours that act over time (`?ping=`, `?delay=`, `?handshake-delay=`, `?send=`):
//! what they hold and when they are next due. The connection boxes this only when the
//! request asked for one, so a plain echo connection pays 8 bytes for it and its paths
//! one test.
//!
//! Nothing here blocks or sleeps: each act says when it is next due, the connection
//! folds that into its deadline, and the driver's timer calls back.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::emit;
use crate::frame::Opcode;
use crate::handshake::Behaviour;

/// A ping's data by default: its number, so that each answer can be told apart.
fn numbered(n: u64) -> Vec<u8> {
    n.to_string().into_bytes()
}

/// `?ping=SECONDS[&ping-payload=TEXT]`: pings on a fixed beat. Each must be answered
/// (a pong with the same data, RFC 6455 §5.5.3) before the next is due.
pub(super) struct Pinger {
    every: Duration,
    payload: Option<Box<[u8]>>,
    next: Instant,
    /// Pings sent so far.
    sent: u64,
}

impl Pinger {
    /// The data of ping number `n`.
    pub(super) fn payload(&self, n: u64) -> Vec<u8> {
        match &self.payload {
            Some(p) => p.to_vec(),
            None => numbered(n),
        }
    }
}

/// What the pinger asks for when it is due.
pub(super) enum Beat {
    /// Send a ping with this data; the receiver is to look for its pong.
    Ping { payload: Vec<u8> },
    /// Ping `n` went unanswered for `waited`: close.
    Unanswered { n: u64, waited: Duration },
}

/// `?delay=`/`?handshake-delay=`: output held until its time, in order.
#[derive(Default)]
pub(super) struct Hold {
    /// `?delay=`: how long each output is held.
    by: Duration,
    /// `?handshake-delay=`: how long the first output (the answer to the upgrade) is
    /// held; taken by the first hold.
    first: Option<Duration>,
    queue: VecDeque<(Instant, Vec<u8>)>,
    bytes: usize,
}

/// `?send=BYTES&count=N`: messages the server sends of its own, a batch at a time, the
/// next batch only once the driver has written the last (it calls
/// [`super::Connection::handle_output_drained`]).
pub(super) struct Source {
    size: usize,
    left: u64,
    /// A batch may be built: the last one was written.
    ready: bool,
    /// When it may next be built (in the past once ready: due at once).
    at: Instant,
}

/// Each batch of `?send=` messages is at least this many bytes (or one message).
const SOURCE_BATCH: usize = 256 << 10;
/// When a batch must wait (an echo message is going out, and ours may not go inside
/// it), it is tried again this much later.
const SOURCE_RETRY: Duration = Duration::from_millis(5);

/// The timed behaviours of one connection.
#[derive(Default)]
pub(super) struct Acts {
    pinger: Option<Pinger>,
    hold: Option<Hold>,
    source: Option<Source>,
}

impl Acts {
    /// The acts `behaviour` asks for, from `now` (the upgrade); `None` if it asks for
    /// none of them.
    pub(super) fn wanted(behaviour: &Behaviour, now: Instant) -> Option<Box<Acts>> {
        let pinger = behaviour.ping.as_ref().map(|(every, payload)| Pinger {
            every: *every,
            payload: payload.as_ref().map(|p| p.as_bytes().into()),
            next: now + *every,
            sent: 0,
        });
        let hold =
            (behaviour.delay.is_some() || behaviour.handshake_delay.is_some()).then(|| Hold {
                by: behaviour.delay.unwrap_or_default(),
                first: behaviour.handshake_delay,
                ..Hold::default()
            });
        let source = behaviour.send.map(|(size, count)| Source {
            size,
            left: count,
            ready: true,
            at: now,
        });
        (pinger.is_some() || hold.is_some() || source.is_some()).then(|| {
            Box::new(Acts {
                pinger,
                hold,
                source,
            })
        })
    }

    /// Only a hold of the first output, for `delay` (an HTTP answer asked for with
    /// `?status=` and `?handshake-delay=`).
    pub(super) fn holding_first(delay: Duration) -> Box<Acts> {
        Box::new(Acts {
            hold: Some(Hold {
                first: Some(delay),
                ..Hold::default()
            }),
            ..Acts::default()
        })
    }

    /// When something is next due. Pings and messages of ours are only due while the
    /// connection is `open`; held output is released in any phase.
    pub(super) fn deadline(&self, open: bool) -> Option<Instant> {
        let ping = self.pinger.as_ref().filter(|_| open).map(|p| p.next);
        let release = self
            .hold
            .as_ref()
            .and_then(|h| h.queue.front())
            .map(|(at, _)| *at);
        let source = self
            .source
            .as_ref()
            .filter(|s| open && s.ready)
            .map(|s| s.at);
        [ping, release, source].into_iter().flatten().min()
    }

    /// Whether output is being held (then every new output queues behind it).
    pub(super) fn holds(&self) -> bool {
        self.hold.is_some()
    }

    /// Bytes held, not yet released.
    pub(super) fn held_bytes(&self) -> usize {
        self.hold.as_ref().map_or(0, |h| h.bytes)
    }

    /// Whether held output is still waiting to go out.
    pub(super) fn holding(&self) -> bool {
        self.hold.as_ref().is_some_and(|h| !h.queue.is_empty())
    }

    /// Holds `bytes` for `by` (when `None`: the handshake delay the first time, the
    /// delay after), and never less than what is already held: output leaves in the
    /// order it was made.
    pub(super) fn hold(&mut self, bytes: Vec<u8>, by: Option<Duration>, now: Instant) {
        let Some(hold) = self.hold.as_mut() else {
            return;
        };
        let first = hold.first.take();
        if bytes.is_empty() {
            return;
        }
        let mut at = now + by.or(first).unwrap_or(hold.by);
        if let Some((last, _)) = hold.queue.back() {
            at = at.max(*last);
        }
        hold.bytes += bytes.len();
        hold.queue.push_back((at, bytes));
    }

    /// Appends to `out` what is held and due by `now`.
    pub(super) fn release(&mut self, now: Instant, out: &mut Vec<u8>) {
        let Some(hold) = self.hold.as_mut() else {
            return;
        };
        while hold.queue.front().is_some_and(|(at, _)| *at <= now) {
            if let Some((_, bytes)) = hold.queue.pop_front() {
                hold.bytes -= bytes.len();
                out.extend_from_slice(&bytes);
            }
        }
    }

    /// What the pinger asks for at `now`, if it is due; `answered` says whether the
    /// last ping's pong came, `in_frame` that an echo frame is going out (a ping cannot
    /// go inside it: it goes one beat later).
    pub(super) fn beat(&mut self, now: Instant, answered: bool, in_frame: bool) -> Option<Beat> {
        let pinger = self.pinger.as_mut().filter(|p| p.next <= now)?;
        if pinger.sent > 0 && !answered {
            return Some(Beat::Unanswered {
                n: pinger.sent,
                waited: pinger.every,
            });
        }
        if in_frame {
            pinger.next = now + pinger.every;
            return None;
        }
        pinger.sent += 1;
        pinger.next = now + pinger.every;
        Some(Beat::Ping {
            payload: pinger.payload(pinger.sent),
        })
    }

    /// Stops pinging (the connection is closing).
    pub(super) fn stop_pinging(&mut self) {
        self.pinger = None;
    }

    /// Pings sent so far.
    pub(super) fn pings_sent(&self) -> u64 {
        self.pinger.as_ref().map_or(0, |p| p.sent)
    }

    /// Appends the next batch of `?send=` messages to `out` if one is due; `mid_message`
    /// says an echo message is going out, which ours may not go inside.
    pub(super) fn send_batch(&mut self, now: Instant, mid_message: bool, out: &mut Vec<u8>) {
        let Some(source) = self.source.as_mut().filter(|s| s.ready && s.at <= now) else {
            return;
        };
        if mid_message {
            source.at = now + SOURCE_RETRY;
            return;
        }
        let start = out.len();
        while source.left > 0 && (out.len() == start || out.len() - start < SOURCE_BATCH) {
            emit::echo_header(out, true, Opcode::Binary, source.size as u64);
            letters(out, source.size);
            source.left -= 1;
        }
        if source.left == 0 {
            self.source = None;
        } else {
            source.ready = false;
            source.at = now;
        }
    }

    /// The driver wrote everything it had queued: the next batch may be built.
    pub(super) fn drained(&mut self) {
        if let Some(source) = self.source.as_mut() {
            source.ready = true;
        }
    }
}

/// Appends `n` bytes of `abc…xyzabc…`: a pattern a client can check, valid as text too.
fn letters(out: &mut Vec<u8>, n: usize) {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
    let start = out.len();
    out.reserve(n);
    out.extend_from_slice(&ALPHABET[..n.min(ALPHABET.len())]);
    // Doubling what is there keeps the pattern: each copy starts at a multiple of 26.
    while out.len() - start < n {
        let have = out.len() - start;
        let take = (have / ALPHABET.len() * ALPHABET.len()).min(n - have);
        out.extend_from_within(start..start + take);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::behaviour;

    fn acts(query: &str, now: Instant) -> Box<Acts> {
        let b = behaviour::parse(query).unwrap().unwrap();
        Acts::wanted(&b, now).expect("acts")
    }

    #[test]
    fn letters_repeat_the_alphabet() {
        for n in [0, 1, 25, 26, 27, 100, 1000] {
            let mut out = b"x".to_vec();
            letters(&mut out, n);
            let want: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
            assert_eq!(&out[1..], &want[..], "{n}");
        }
    }

    #[test]
    fn only_timed_behaviours_make_acts() {
        let b = behaviour::parse("/?close=1000&hello=x").unwrap().unwrap();
        assert!(Acts::wanted(&b, Instant::now()).is_none());
    }

    #[test]
    fn pings_beat_and_an_unanswered_one_is_reported() {
        let t0 = Instant::now();
        let mut a = acts("/?ping=2", t0);
        let s = Duration::from_secs;
        assert_eq!(a.deadline(true), Some(t0 + s(2)));
        assert_eq!(
            a.deadline(false),
            None,
            "no pings once the connection is closing"
        );
        assert!(a.beat(t0 + s(1), false, false).is_none(), "not due yet");
        assert!(
            matches!(a.beat(t0 + s(2), false, false), Some(Beat::Ping { payload }) if payload == b"1")
        );
        assert!(
            matches!(a.beat(t0 + s(4), true, false), Some(Beat::Ping { payload }) if payload == b"2")
        );
        assert!(matches!(
            a.beat(t0 + s(6), false, false),
            Some(Beat::Unanswered { n: 2, waited }) if waited == s(2)
        ));
        let mut a = acts("/?ping=1&ping-payload=hey", t0);
        assert!(
            matches!(a.beat(t0 + s(1), false, false), Some(Beat::Ping { payload }) if payload == b"hey")
        );
    }

    #[test]
    fn held_output_leaves_in_order_when_due() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut a = acts("/?delay=0.1&handshake-delay=0.5", t0);
        a.hold(b"101".to_vec(), None, t0);
        // Made later with a shorter delay: still not before what was held first.
        a.hold(b"echo".to_vec(), None, t0 + ms(10));
        assert_eq!(a.held_bytes(), 7);
        assert_eq!(a.deadline(true), Some(t0 + ms(500)));
        let mut out = Vec::new();
        a.release(t0 + ms(499), &mut out);
        assert!(out.is_empty());
        a.release(t0 + ms(500), &mut out);
        assert_eq!(out, b"101echo");
        assert!(!a.holding());
        assert_eq!(a.held_bytes(), 0);
    }

    #[test]
    fn the_source_sends_a_batch_then_waits_for_the_drain() {
        let t0 = Instant::now();
        let mut a = acts("/?send=100000&count=5", t0);
        let mut out = Vec::new();
        a.send_batch(t0, true, &mut out);
        assert!(out.is_empty(), "not inside an echo message");
        assert_eq!(a.deadline(true), Some(t0 + SOURCE_RETRY));
        a.send_batch(t0 + SOURCE_RETRY, false, &mut out);
        // Three messages pass the batch size; each is one binary frame, 64-bit length.
        let each = 100_000 + 10;
        assert_eq!(out.len(), 3 * each);
        assert_eq!(&out[..2], &[0x82, 127]);
        assert_eq!(&out[2..10], &100_000u64.to_be_bytes());
        assert_eq!(&out[10..13], b"abc");
        assert_eq!(out[10 + 26], b'a');
        assert_eq!(a.deadline(true), None, "waits for the drain");
        a.drained();
        a.send_batch(t0 + SOURCE_RETRY, false, &mut out);
        assert_eq!(out.len(), 5 * each);
        assert!(a.source.is_none(), "all sent");
    }
}
