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

/// Output held, in the order it was made: until its time (`?delay=`,
/// `?handshake-delay=`), or behind our `?send=` message partway out.
#[derive(Default)]
pub(super) struct Hold {
    /// `?delay=`: how long each output is held.
    by: Duration,
    /// `?handshake-delay=`: how long the first output (the answer to the upgrade) is
    /// held; taken by the first hold.
    first: Option<Duration>,
    queue: VecDeque<(Instant, Held)>,
    bytes: usize,
}

/// One entry of the [`Hold`] queue.
enum Held {
    /// Bytes made, released at their time.
    Bytes(Vec<u8>),
    /// The answer to the request, which the transport takes as a value
    /// ([`super::AnswerAs::Fields`]): it may go at this entry's time.
    Head,
    /// Our `?send=` message partway out (always first in line: it begins only when
    /// nothing is held): what comes after it waits until the [`Source`] has made all of
    /// it.
    Ours,
}

/// `?send=BYTES&count=N`: messages the server sends of its own, made as the client takes
/// them: the next output only once the driver has written the last (it calls
/// [`super::Connection::handle_output_drained`]), and never before output held. A
/// message that fits in a piece goes whole, several to a batch; a larger one is still
/// one frame, made a piece at a time, and what the connection makes meanwhile (echoes,
/// pongs, a close) is held behind it.
pub(super) struct Source {
    size: usize,
    /// Messages not begun yet.
    left: u64,
    /// Payload bytes still to make of the message partway out (its header made);
    /// `None` between messages.
    partway: Option<usize>,
    /// Output may be made: the last was written.
    ready: bool,
    /// When it may next be made (in the past once ready: due at once).
    at: Instant,
}

/// The most `?send=` output made at a time: a batch of whole messages (the one that
/// passes it ends the batch), or a piece of a larger message's payload. A client that
/// does not read holds about this much of the server's memory per WebSocket.
const SOURCE_PIECE: usize = 64 << 10;
/// When a message must wait to begin (an echo message is going out, and ours may not
/// go inside it), it is tried again this much later.
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
            partway: None,
            ready: true,
            at: now,
        });
        // A message made in pieces holds back what comes after it.
        let hold = match hold {
            None if source.as_ref().is_some_and(Source::in_pieces) => Some(Hold::default()),
            hold => hold,
        };
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

    /// When something is next due. Pings and messages of ours are only begun while the
    /// connection is `open` (a message only once nothing is held); held output is
    /// released, and our message partway out goes on, in any phase.
    pub(super) fn deadline(&self, open: bool) -> Option<Instant> {
        let ping = self.pinger.as_ref().filter(|_| open).map(|p| p.next);
        let release = match self.hold.as_ref().and_then(|h| h.queue.front()) {
            Some((at, Held::Bytes(_) | Held::Head)) => Some(*at),
            Some((_, Held::Ours)) | None => None,
        };
        let holding = self.holding();
        let source = self
            .source
            .as_ref()
            .filter(|s| s.ready && (s.partway.is_some() || (open && !holding)))
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

    /// Whether held output is still waiting to go out (or our message partway out).
    pub(super) fn holding(&self) -> bool {
        self.hold.as_ref().is_some_and(|h| !h.queue.is_empty())
    }

    /// Whether held output waits for its time (`?delay=`): the phase's limits wait for
    /// it. Behind our message partway out it waits for the client to read, and they
    /// do not.
    pub(super) fn waits_on_time(&self) -> bool {
        matches!(
            self.hold.as_ref().and_then(|h| h.queue.front()),
            Some((_, Held::Bytes(_) | Held::Head))
        )
    }

    /// Holds the answer kept for the transport ([`super::AnswerAs::Fields`]) as its
    /// text would be held: until the time the first output is held for. (Its body and
    /// what follows come after it through [`Acts::hold`].)
    pub(super) fn hold_head(&mut self, now: Instant) {
        if let Some(hold) = self.hold.as_mut() {
            let at = now + hold.first.unwrap_or(hold.by);
            hold.push(at, Held::Head);
        }
    }

    /// Whether the answer kept for the transport is still held. Its entry, when there is
    /// one, is the first: it is pushed at the handshake, before any output, and our own
    /// message is begun only when nothing is held.
    pub(super) fn holds_head(&self) -> bool {
        matches!(
            self.hold.as_ref().and_then(|h| h.queue.front()),
            Some((_, Held::Head))
        )
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
        let at = now + by.or(first).unwrap_or(hold.by);
        hold.bytes += bytes.len();
        hold.push(at, Held::Bytes(bytes));
    }

    /// Appends to `out` what is held and due by `now`, up to our message partway out.
    pub(super) fn release(&mut self, now: Instant, out: &mut Vec<u8>) {
        let Some(hold) = self.hold.as_mut() else {
            return;
        };
        while let Some((at, Held::Bytes(_) | Held::Head)) = hold.queue.front()
            && *at <= now
        {
            if let Some((_, Held::Bytes(bytes))) = hold.queue.pop_front() {
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

    /// The `?send=` source's turn at `now`, if it is due: appends to `out` the next
    /// piece of our message partway out or, while the connection is `open`, nothing is
    /// held and no echo message is going out (`mid_message`: ours may not go inside
    /// it), begins the next: a batch of whole messages, or the header and first piece of
    /// one made in pieces. The next turn waits for the driver to write this one. When
    /// our message is complete, what was held behind it and is due follows it. Returns
    /// the bytes made (what was held was counted when it was made).
    pub(super) fn send_turn(
        &mut self,
        now: Instant,
        open: bool,
        mid_message: bool,
        out: &mut Vec<u8>,
    ) -> usize {
        let holding = self.holding();
        let Some(source) = self.source.as_mut().filter(|s| s.ready && s.at <= now) else {
            return 0;
        };
        let start = out.len();
        match source.partway {
            Some(_) => {}
            None if !open || holding => return 0,
            None if mid_message => {
                source.at = now + SOURCE_RETRY;
                return 0;
            }
            None => match self.hold.as_mut() {
                Some(hold) if source.in_pieces() => {
                    source.begin(out);
                    hold.push(now, Held::Ours);
                }
                _ => source.batch(out),
            },
        }
        source.piece(out);
        let made = out.len() - start;
        source.ready = false;
        source.at = now;
        if source.partway.is_none() {
            if source.left == 0 {
                self.source = None;
            }
            // Ours is complete (if it was partway): what waited behind it may go.
            if let Some(hold) = self.hold.as_mut()
                && let Some((_, Held::Ours)) = hold.queue.front()
            {
                hold.queue.pop_front();
            }
            self.release(now, out);
        }
        made
    }

    /// The driver wrote everything it had queued: the source may make more.
    pub(super) fn drained(&mut self) {
        if let Some(source) = self.source.as_mut() {
            source.ready = true;
        }
    }
}

impl Hold {
    /// Queues `held` to go at `at`, never before what is queued already.
    fn push(&mut self, at: Instant, held: Held) {
        let at = match self.queue.back() {
            Some((last, _)) => at.max(*last),
            None => at,
        };
        self.queue.push_back((at, held));
    }
}

impl Source {
    /// Whether its messages are made in pieces.
    fn in_pieces(&self) -> bool {
        self.size > SOURCE_PIECE
    }

    /// Appends whole messages to `out`, until they pass a piece's size or none is left.
    fn batch(&mut self, out: &mut Vec<u8>) {
        let start = out.len();
        while self.left > 0 && out.len() - start < SOURCE_PIECE {
            emit::echo_header(out, true, Opcode::Binary, self.size as u64);
            letters(out, 0, self.size);
            self.left -= 1;
        }
    }

    /// Begins a message made in pieces: appends its header to `out`.
    fn begin(&mut self, out: &mut Vec<u8>) {
        emit::echo_header(out, true, Opcode::Binary, self.size as u64);
        self.left -= 1;
        self.partway = Some(self.size);
    }

    /// Appends the next piece of the message partway out, if there is one.
    fn piece(&mut self, out: &mut Vec<u8>) {
        let Some(rest) = self.partway else {
            return;
        };
        let n = rest.min(SOURCE_PIECE);
        letters(out, self.size - rest, n);
        self.partway = (rest > n).then_some(rest - n);
    }
}

/// Appends `n` bytes of `abc…xyzabc…` from its byte `from` on: a pattern a client can
/// check, valid as text too.
fn letters(out: &mut Vec<u8>, from: usize, n: usize) {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
    let start = out.len();
    out.reserve(n);
    // One turn of the alphabet from where the pattern is at `from`.
    let (before, after) = ALPHABET.split_at(from % ALPHABET.len());
    out.extend(after.iter().chain(before).take(n));
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
    fn letters_repeat_the_alphabet_from_any_byte() {
        for from in [0, 1, 25, 26, 27, 70_000] {
            for n in [0, 1, 25, 26, 27, 100, 1000] {
                let mut out = b"x".to_vec();
                letters(&mut out, from, n);
                let want: Vec<u8> = (from..from + n).map(|i| b'a' + (i % 26) as u8).collect();
                assert_eq!(&out[1..], &want[..], "{from} {n}");
            }
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
        let mut a = acts("/?send=30000&count=5", t0);
        assert!(!a.holds(), "whole messages hold nothing back");
        let mut out = Vec::new();
        assert_eq!(a.send_turn(t0, true, true, &mut out), 0);
        assert!(out.is_empty(), "not inside an echo message");
        assert_eq!(a.deadline(true), Some(t0 + SOURCE_RETRY));
        let t1 = t0 + SOURCE_RETRY;
        // Three messages pass the piece's size; each is one binary frame.
        let each = 30_000 + 4;
        assert_eq!(a.send_turn(t1, true, false, &mut out), 3 * each);
        assert_eq!(out.len(), 3 * each);
        assert_eq!(&out[..4], &[0x82, 126, 0x75, 0x30]);
        assert_eq!(&out[4..7], b"abc");
        assert_eq!(out[4 + 26], b'a');
        assert_eq!(a.deadline(true), None, "waits for the drain");
        assert_eq!(a.send_turn(t1, true, false, &mut out), 0);
        a.drained();
        assert_eq!(a.deadline(true), Some(t1));
        assert_eq!(a.deadline(false), None, "none begun once closing");
        a.send_turn(t1, true, false, &mut out);
        assert_eq!(out.len(), 5 * each);
        assert!(a.source.is_none(), "all sent");
    }

    /// Drains and takes turns until the source has nothing more to make; returns the
    /// sizes of the turns' output.
    fn turns(a: &mut Acts, now: Instant, out: &mut Vec<u8>) -> Vec<usize> {
        let mut sizes = Vec::new();
        loop {
            a.drained();
            let made = a.send_turn(now, true, false, out);
            if made == 0 {
                return sizes;
            }
            sizes.push(made);
        }
    }

    #[test]
    fn a_large_message_is_one_frame_made_a_piece_at_a_time() {
        let t0 = Instant::now();
        let size = 2 * SOURCE_PIECE + 100;
        let mut a = acts(&format!("/?send={size}&count=2"), t0);
        assert!(a.holds(), "what comes during a message waits behind it");
        let mut out = Vec::new();
        assert_eq!(a.send_turn(t0, true, false, &mut out), 10 + SOURCE_PIECE);
        assert_eq!(&out[..2], &[0x82, 127]);
        assert_eq!(&out[2..10], &(size as u64).to_be_bytes());
        assert!(a.holding(), "partway");
        assert!(!a.waits_on_time(), "on the client, not on time");
        assert_eq!(a.deadline(true), None, "waits for the drain");
        a.drained();
        assert_eq!(
            a.deadline(false),
            Some(t0),
            "a message partway out goes on while closing"
        );
        let sizes = turns(&mut a, t0, &mut out);
        assert_eq!(
            sizes,
            [SOURCE_PIECE, 100, 10 + SOURCE_PIECE, SOURCE_PIECE, 100]
        );
        assert!(a.source.is_none() && !a.holding());
        let want: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
        let one = 10 + size;
        assert_eq!(out.len(), 2 * one);
        assert!(out[10..one] == want[..] && out[one + 10..] == want[..]);
        assert_eq!(out[..10], out[one..one + 10]);
    }

    #[test]
    fn what_is_made_during_our_message_goes_after_it_in_order() {
        let t0 = Instant::now();
        let size = SOURCE_PIECE + 1;
        let mut a = acts(&format!("/?send={size}&count=2"), t0);
        let mut out = Vec::new();
        a.send_turn(t0, true, false, &mut out);
        // An echo and a pong, made while ours is partway: held, in order.
        a.hold(b"echo".to_vec(), None, t0);
        a.hold(b"pong".to_vec(), Some(Duration::ZERO), t0);
        a.release(t0, &mut out);
        assert_eq!(out.len(), 10 + SOURCE_PIECE, "nothing inside our frame");
        assert_eq!(a.held_bytes(), 8);
        a.drained();
        // The last byte of ours, then what waited behind it; the next message waits
        // for the drain.
        assert_eq!(a.send_turn(t0, true, false, &mut out), 1);
        let last = b'a' + ((size - 1) % 26) as u8;
        assert_eq!(out[10 + size - 1], last);
        assert_eq!(&out[10 + size..], b"echopong");
        assert!(!a.holding());
        // Nothing held now: the next message begins.
        a.drained();
        a.hold(b"late".to_vec(), Some(Duration::from_secs(1)), t0);
        assert_eq!(
            a.send_turn(t0, true, false, &mut out),
            0,
            "never before what is held"
        );
        assert_eq!(a.deadline(true), Some(t0 + Duration::from_secs(1)));
    }
}
