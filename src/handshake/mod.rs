//! The opening handshake (RFC 6455 §4): collect the request head without re-scanning it
//! as bytes trickle in, judge it once it is whole, and answer.

use std::net::SocketAddr;

mod accept;
mod answer;
pub(crate) mod behaviour;
mod page;
mod request;
mod subprotocol;

pub use crate::http::is_token;
pub(crate) use crate::http::{HttpReply, HttpStatus};
pub use accept::accept_value;
pub use answer::AnswerError;
pub(crate) use answer::check_answer;
pub use behaviour::Behaviour;
pub use request::{Decision, decide};
pub(crate) use request::{decide_for, judge};

/// The request head collected so far; dropped once the handshake is decided.
#[derive(Debug, Default)]
pub struct HeadBuffer {
    buf: Vec<u8>,
    /// Bytes already searched for the blank line, so each arrival is scanned once.
    scanned: usize,
    /// The client's address, for a request that asks to see what wsecho received
    /// (`?headers`). Kept only while the handshake lasts.
    peer: Option<SocketAddr>,
}

/// The outcome of feeding bytes to a [`HeadBuffer`].
pub enum Head<'a> {
    /// The blank line has not arrived yet.
    Incomplete,
    /// The head is longer than allowed (431).
    TooLarge,
    /// A whole head, and the bytes the client sent after it (pipelined frames).
    Complete {
        /// The request head, blank line included.
        head: &'a [u8],
        /// What followed it in the same input.
        rest: &'a mut [u8],
    },
}

impl HeadBuffer {
    /// Adds `input` and looks for the end of the head. When nothing was buffered and
    /// the head is whole in `input`, it is judged in place without a copy.
    pub fn feed<'a>(&'a mut self, input: &'a mut [u8], max_len: usize) -> Head<'a> {
        if self.buf.is_empty() {
            if let Some(end) = find_head_end(input, 0) {
                return split(input, end, max_len);
            }
            if input.len() > max_len {
                return Head::TooLarge;
            }
            self.buf.extend_from_slice(input);
            self.scanned = input.len();
            return Head::Incomplete;
        }
        let from = self.scanned.saturating_sub(3);
        self.buf.extend_from_slice(input);
        match find_head_end(&self.buf, from) {
            Some(end) => split(&mut self.buf, end, max_len),
            None if self.buf.len() > max_len => Head::TooLarge,
            None => {
                self.scanned = self.buf.len();
                Head::Incomplete
            }
        }
    }

    /// Whether the client has started sending a request (for logging a timeout).
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The bytes of the request collected so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Notes the client's address.
    pub fn set_peer(&mut self, peer: SocketAddr) {
        self.peer = Some(peer);
    }

    /// The client's address, if the driver said it.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.peer
    }
}

fn split(bytes: &mut [u8], end: usize, max_len: usize) -> Head<'_> {
    if end > max_len {
        return Head::TooLarge;
    }
    let (head, rest) = bytes.split_at_mut(end);
    Head::Complete { head, rest }
}

/// The index just past the blank line that ends the head: the first LF followed by
/// an optional CR and another LF, at or after `from`. A bare LF as line end is
/// recognized (RFC 9112 §2.2 allows it) so such a client gets an answer, not a timeout.
fn find_head_end(bytes: &[u8], from: usize) -> Option<usize> {
    let tail = bytes.get(from..)?;
    tail.iter().enumerate().find_map(|(i, &b)| {
        if b != b'\n' {
            return None;
        }
        match tail.get(i + 1..) {
            Some([b'\n', ..]) => Some(from + i + 2),
            Some([b'\r', b'\n', ..]) => Some(from + i + 3),
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQ: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

    #[test]
    fn whole_head_in_one_read_is_split_from_pipelined_bytes() {
        let mut input = [REQ, b"\x81\x80abcd"].concat();
        let mut hb = HeadBuffer::default();
        match hb.feed(&mut input, 8192) {
            Head::Complete { head, rest } => {
                assert_eq!(head, REQ);
                assert_eq!(rest, b"\x81\x80abcd");
            }
            _ => panic!("expected a complete head"),
        }
    }

    #[test]
    fn head_fed_one_byte_at_a_time_completes_on_the_last_byte() {
        let mut hb = HeadBuffer::default();
        for (i, &b) in REQ.iter().enumerate() {
            let mut one = [b];
            let done = matches!(hb.feed(&mut one, 8192), Head::Complete { .. });
            assert_eq!(done, i == REQ.len() - 1, "byte {i}");
        }
    }

    #[test]
    fn each_byte_is_scanned_a_bounded_number_of_times() {
        // The scan restarts at most three bytes back, so feeding byte by byte is linear.
        let mut hb = HeadBuffer::default();
        for _ in 0..1000 {
            let mut one = [b'a'];
            assert!(matches!(hb.feed(&mut one, 1 << 20), Head::Incomplete));
            assert_eq!(hb.scanned, hb.buf.len());
        }
    }

    #[test]
    fn bare_lf_line_ends_also_end_the_head() {
        let mut hb = HeadBuffer::default();
        let mut input = b"GET / HTTP/1.1\nHost: x\n\nrest".to_vec();
        match hb.feed(&mut input, 8192) {
            Head::Complete { rest, .. } => assert_eq!(rest, b"rest"),
            _ => panic!("expected a complete head"),
        }
    }

    #[test]
    fn oversized_head_is_refused_with_or_without_its_end() {
        let mut hb = HeadBuffer::default();
        let mut big = vec![b'a'; 100];
        assert!(matches!(hb.feed(&mut big, 64), Head::TooLarge));
        let mut hb = HeadBuffer::default();
        let mut long = [
            b"GET / HTTP/1.1\r\nX: ".as_slice(),
            &[b'a'; 100],
            b"\r\n\r\n",
        ]
        .concat();
        assert!(matches!(hb.feed(&mut long, 64), Head::TooLarge));
    }
}
