//! The receiver's state inside a frame: what lasts only while a frame (its header, its
//! payload) or a fragmented message straddles reads. Between frames, which is where an
//! idle connection and the small-frame echo are, the receiver holds none of it, only a
//! null pointer; a box is made when a read ends inside a frame or message and given up
//! when that ends.
//!
//! The boxes are recycled through a few spares per thread, as the driver's one read
//! buffer serves all of a loop's connections: a busy connection whose frames straddle
//! reads takes one from here and gives it back, without the allocator. Bounded: at most
//! [`KEPT`] spares per thread.

use std::cell::RefCell;

use super::message::{Echo, Message};
use crate::frame::{FrameHeader, MAX_CLIENT_HEADER_LEN};

/// Spares kept per thread.
const KEPT: usize = 8;

/// The frame whose payload is being received.
#[derive(Debug)]
pub(super) struct Frame {
    pub(super) header: FrameHeader,
    /// Payload bytes received (and unmasked) so far.
    pub(super) received: u64,
    /// How an uncompressed data frame is echoed.
    pub(super) echo: Echo,
}

/// See the module documentation.
#[derive(Debug, Default)]
pub(super) struct InFrame {
    /// A header that arrived split across reads: its first `header_len` bytes.
    pub(super) header_buf: [u8; MAX_CLIENT_HEADER_LEN],
    pub(super) header_len: u8,
    pub(super) frame: Option<Frame>,
    /// The data message in progress, fragmented or not.
    pub(super) message: Option<Message>,
    /// The offset just past the payload of the message's last data frame completed
    /// that had one: a code point split across frames began before it. (Only read
    /// while the message goes on, which keeps the box: a value left by an earlier
    /// message, or by another connection in a spare, is never read.)
    pub(super) data_end: u64,
}

impl InFrame {
    /// Between frames: no header begun, no frame, no message.
    pub(super) fn is_empty(&self) -> bool {
        self.header_len == 0 && self.frame.is_none() && self.message.is_none()
    }
}

thread_local! {
    // The boxes themselves are the spares: handed out and back without a move or a copy.
    #[allow(clippy::vec_box)]
    static SPARES: RefCell<Vec<Box<InFrame>>> = const { RefCell::new(Vec::new()) };
}

/// An empty box, a spare one when there is one.
pub(super) fn take() -> Box<InFrame> {
    SPARES.with_borrow_mut(Vec::pop).unwrap_or_default()
}

/// Hands an emptied box back: kept when there is room, else freed.
pub(super) fn give(state: Box<InFrame>) {
    debug_assert!(state.is_empty());
    SPARES.with_borrow_mut(|spares| {
        if spares.len() < KEPT {
            spares.push(state);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_box_given_back_is_taken_again_and_the_spares_are_bounded() {
        // Tests run on threads of their own: this thread's spares start empty.
        let state = take();
        let ptr: *const InFrame = &*state;
        give(state);
        let again = take();
        assert_eq!(
            &*again as *const InFrame, ptr,
            "the same allocation comes back"
        );
        assert!(again.is_empty());
        for _ in 0..KEPT + 3 {
            give(Box::default());
        }
        assert_eq!(SPARES.with_borrow(Vec::len), KEPT);
    }
}
