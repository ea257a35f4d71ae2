//! Spare byte buffers, kept per thread for the HTTP/2 layer to reuse.
//!
//! An HTTP/2 connection needs large buffers only while bytes pass through it: the
//! session's input, a stream's send queue. Keeping them in the connection would pin
//! their memory on every quiet connection; freeing them each time they empty makes the
//! allocator hand pages back to the kernel and fault them in again on the next read,
//! which on a bulk echo cost more than the copies. So an emptied buffer comes here,
//! and the next one needed is taken from here: an event loop runs one connection at a
//! time, and a few spares serve all of its connections, as the driver's one read
//! buffer does for HTTP/1.1.
//!
//! Bounded: at most [`KEPT`] buffers of at most [`MAX_CAPACITY`] bytes each, per thread.

use std::cell::RefCell;
use std::collections::VecDeque;

/// Spares kept per thread.
const KEPT: usize = 4;
/// A larger buffer is freed rather than kept (a stream's send queue can hold up to the
/// session's `max_send_queue` plus one echo).
const MAX_CAPACITY: usize = 4 << 20;

thread_local! {
    static SPARES: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// An empty buffer, a spare one when there is one (its capacity is whatever it had).
pub(crate) fn take() -> Vec<u8> {
    SPARES
        .with_borrow_mut(Vec::pop)
        .unwrap_or_else(|| Vec::with_capacity(0))
}

/// An empty queue on a spare buffer when there is one.
pub(crate) fn take_queue() -> VecDeque<u8> {
    VecDeque::from(take())
}

/// Hands a buffer back: emptied and kept when there is room, else freed.
pub(crate) fn give(mut buf: Vec<u8>) {
    if buf.capacity() == 0 || buf.capacity() > MAX_CAPACITY {
        return;
    }
    buf.clear();
    SPARES.with_borrow_mut(|spares| {
        if spares.len() < KEPT {
            spares.push(buf);
        }
    });
}

/// Hands a queue's buffer back (an empty queue's buffer converts without a copy).
pub(crate) fn give_queue(mut queue: VecDeque<u8>) {
    queue.clear();
    give(Vec::from(queue));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_given_back_is_taken_again_and_the_spares_are_bounded() {
        // Tests run on threads of their own: this thread's spares start empty.
        assert_eq!(take().capacity(), 0);
        let mut buf = Vec::with_capacity(1000);
        buf.extend_from_slice(b"left over");
        let ptr = buf.as_ptr();
        give(buf);
        let again = take();
        assert_eq!(again.as_ptr(), ptr, "the same allocation comes back");
        assert!(again.is_empty() && again.capacity() >= 1000);

        for _ in 0..KEPT + 3 {
            give(Vec::with_capacity(10));
        }
        let kept = SPARES.with_borrow(Vec::len);
        assert_eq!(kept, KEPT);
        give(Vec::with_capacity(MAX_CAPACITY + 1));
        SPARES.with_borrow_mut(Vec::clear);
        give(Vec::with_capacity(MAX_CAPACITY + 1));
        assert_eq!(
            SPARES.with_borrow(Vec::len),
            0,
            "an oversized buffer is freed"
        );
    }

    #[test]
    fn a_queue_round_trips_through_the_spares() {
        let mut q = take_queue();
        q.extend(b"abc");
        q.drain(..2);
        give_queue(q);
        let q = take_queue();
        assert!(q.is_empty() && q.capacity() >= 3);
    }
}
