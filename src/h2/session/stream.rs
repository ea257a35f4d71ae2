//! One stream's state (RFC 9113 §5.1) and its two flow-control windows (§5.2, §6.9).
//! Only open and half-closed streams are kept: idle ones have no state yet, and a
//! closed one is freed at once.

use std::collections::VecDeque;

use crate::h2::frame::MAX_WINDOW;

/// A stream the client opened and that is not closed yet.
#[derive(Debug)]
pub(super) struct Stream {
    /// The credit the peer has left on this stream: our window (§6.9.1). Signed, as
    /// settings changes are applied to it (§6.9.2).
    pub(super) recv_window: i64,
    /// DATA handed to the application and not yet consumed.
    pub(super) recv_held: u32,
    /// Consumed (or padding) and not yet returned by a WINDOW_UPDATE.
    pub(super) recv_unacked: u32,
    /// The credit we have left: the peer's window, which §6.9.2 lets go negative.
    pub(super) send_window: i64,
    /// Content octets still due by the request's content-length (§8.1.1).
    pub(super) content_left: Option<u64>,
    /// DATA queued by the application, not yet framed.
    pub(super) queue: VecDeque<u8>,
    /// A trailer section to send once the queue is empty (its frames, ready to go).
    #[allow(clippy::box_collection)]
    pub(super) trailers: Option<Box<Vec<u8>>>,
    /// The peer sent END_STREAM: half-closed (remote).
    pub(super) remote_closed: bool,
    /// We sent END_STREAM: half-closed (local).
    pub(super) local_closed: bool,
    /// END_STREAM goes with the last of the queue (or the trailers).
    pub(super) end_pending: bool,
    /// In the round-robin of streams with something to send.
    pub(super) in_ready: bool,
    /// The queue reached half of `max_send_queue`: report when it drains below.
    pub(super) drain_armed: bool,
}

impl Stream {
    /// A stream just opened with the given initial windows.
    pub(super) fn new(recv_window: u32, send_window: u32, remote_closed: bool) -> Stream {
        Stream {
            recv_window: i64::from(recv_window),
            recv_held: 0,
            recv_unacked: 0,
            send_window: i64::from(send_window),
            content_left: None,
            queue: VecDeque::new(),
            trailers: None,
            remote_closed,
            local_closed: false,
            end_pending: false,
            in_ready: false,
            drain_armed: false,
        }
    }

    /// Whether it belongs in the turn of streams to send: something its own window
    /// lets go. A stream blocked only by the connection's window keeps its turn (the
    /// output loop passes over it), so that the connection's WINDOW_UPDATE, which
    /// names no stream, finds it there.
    pub(super) fn wants_turn(&self) -> bool {
        if self.queue.is_empty() {
            self.end_pending
        } else {
            self.send_window > 0
        }
    }

    /// Something could be framed now, given the connection's send window.
    pub(super) fn sendable(&self, connection_window: i64) -> bool {
        if self.queue.is_empty() {
            self.end_pending
        } else {
            self.send_window > 0 && connection_window > 0
        }
    }
}

/// The open and half-closed streams, in the order they opened (which is the order of
/// their ids: §5.1.1 has a client open them in increasing order).
///
/// A vector searched from the end rather than a map: there are at most
/// `max_concurrent_streams` (100) of them, a connection mostly carries one, and a map's
/// first node costs about a kilobyte where one stream here costs its own size.
#[derive(Debug, Default)]
pub(super) struct Streams(Vec<(u32, Stream)>);

impl Streams {
    fn position(&self, id: u32) -> Option<usize> {
        self.0.iter().rposition(|(key, _)| *key == id)
    }

    pub(super) fn get(&self, id: &u32) -> Option<&Stream> {
        self.position(*id).map(|at| &self.0[at].1)
    }

    pub(super) fn get_mut(&mut self, id: &u32) -> Option<&mut Stream> {
        self.position(*id).map(|at| &mut self.0[at].1)
    }

    pub(super) fn contains_key(&self, id: &u32) -> bool {
        self.position(*id).is_some()
    }

    /// Adds a stream newer than every one kept (the caller checked that it is new).
    pub(super) fn insert(&mut self, id: u32, stream: Stream) {
        debug_assert!(self.0.last().is_none_or(|(last, _)| *last < id));
        // Room for one more only: most connections carry one stream.
        self.0.reserve_exact(1);
        self.0.push((id, stream));
    }

    pub(super) fn remove(&mut self, id: &u32) -> Option<Stream> {
        let at = self.position(*id)?;
        let (_, stream) = self.0.remove(at);
        if self.0.is_empty() {
            self.0 = Vec::new();
        }
        Some(stream)
    }

    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &Stream> {
        self.0.iter().map(|(_, stream)| stream)
    }

    pub(super) fn values_mut(&mut self) -> impl Iterator<Item = &mut Stream> {
        self.0.iter_mut().map(|(_, stream)| stream)
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = (&u32, &mut Stream)> {
        self.0.iter_mut().map(|(id, stream)| (&*id, stream))
    }
}

#[cfg(test)]
impl std::ops::Index<&u32> for Streams {
    type Output = Stream;

    fn index(&self, id: &u32) -> &Stream {
        match self.get(id) {
            Some(stream) => stream,
            None => panic!("no stream {id}"),
        }
    }
}

/// Adds `delta` to a window, or `None` past 2^31−1: §6.9.1, "A sender MUST NOT allow a
/// flow-control window to exceed 2^31-1 octets."
pub(super) fn grow(window: i64, delta: i64) -> Option<i64> {
    let grown = window.checked_add(delta)?;
    (grown <= i64::from(MAX_WINDOW)).then_some(grown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_grow_up_to_two_to_the_31_minus_one() {
        assert_eq!(grow(1, 2), Some(3));
        assert_eq!(
            grow(i64::from(MAX_WINDOW) - 1, 1),
            Some(i64::from(MAX_WINDOW))
        );
        assert_eq!(grow(i64::from(MAX_WINDOW), 1), None);
        assert_eq!(grow(-5, 3), Some(-2));
    }

    #[test]
    fn sendable_needs_both_windows_unless_only_the_end_is_left() {
        let mut s = Stream::new(10, 0, false);
        assert!(!s.sendable(100));
        s.end_pending = true;
        assert!(s.sendable(0), "an empty END_STREAM needs no window");
        s.queue.extend(b"x");
        assert!(!s.sendable(100));
        s.send_window = 1;
        assert!(s.sendable(100) && !s.sendable(0));
    }
}
