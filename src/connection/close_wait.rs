//! After a close we started for our own reasons (shutdown, idle timeout, backpressure):
//! the peer's frames are skipped unread until its close frame answers ours. The exchange
//! is then complete, and TCP can go at once rather than when the peer closes it or the
//! close timeout passes: §5.5.1, "After both sending and receiving a Close message, an
//! endpoint considers the WebSocket connection closed and MUST close the underlying TCP
//! connection". (After a failure nothing is parsed: §7.1.7 forbids even reading the
//! reply.) Skipping costs no allocation: a header's bytes are kept until it is whole, and
//! a payload is only counted down. The close frame's own payload is waited for too: closing
//! the socket with part of it still in flight would answer those bytes with a reset, which
//! can destroy our close frame before the peer has read it.

use crate::frame::Opcode;
use crate::frame::header::{MAX_CLIENT_HEADER_LEN, parse_client_header};

#[derive(Default)]
pub(super) struct CloseWait {
    /// The front of a header that straddles reads.
    header: [u8; MAX_CLIENT_HEADER_LEN],
    header_len: u8,
    /// Payload bytes of the current frame still to skip.
    skip: u64,
    /// The current frame is the peer's close: the wait ends once its payload is in.
    in_close: bool,
}

/// What the peer's bytes showed.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Seen {
    /// No close frame yet.
    Nothing,
    /// The peer's whole close frame (its payload is skipped, not parsed).
    Close,
    /// Bytes that are no frame: there is nothing more to wait for.
    Garbage,
}

impl CloseWait {
    /// Starts where the receiver stopped, which may be inside a frame: `header_front` of
    /// a header that straddles reads, or `payload_rest` bytes of a payload still to come
    /// (a close for backpressure, say, lands wherever a read ended).
    pub(super) fn resume(header_front: &[u8], payload_rest: u64) -> Self {
        let mut wait = CloseWait {
            skip: payload_rest,
            ..CloseWait::default()
        };
        let len = header_front.len().min(MAX_CLIENT_HEADER_LEN);
        wait.header[..len].copy_from_slice(&header_front[..len]);
        wait.header_len = len as u8;
        wait
    }

    pub(super) fn feed(&mut self, mut input: &[u8]) -> Seen {
        loop {
            let skipped = input
                .len()
                .min(usize::try_from(self.skip).unwrap_or(usize::MAX));
            self.skip -= skipped as u64;
            input = &input[skipped..];
            if self.in_close && self.skip == 0 {
                return Seen::Close;
            }
            if input.is_empty() {
                return Seen::Nothing;
            }
            let have = usize::from(self.header_len);
            let take = input.len().min(MAX_CLIENT_HEADER_LEN - have);
            self.header[have..have + take].copy_from_slice(&input[..take]);
            match parse_client_header(&self.header[..have + take]) {
                // Short: all of `input` is kept (with 14 bytes a header is whole).
                Ok(None) => {
                    self.header_len = (have + take) as u8;
                    return Seen::Nothing;
                }
                Ok(Some((header, len))) => {
                    input = &input[len - have..];
                    self.header_len = 0;
                    self.skip = header.payload_len;
                    self.in_close = header.opcode == Opcode::Close;
                }
                Err(_) => return Seen::Garbage,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame with a zero mask key.
    fn frame(first: u8, payload_len: usize) -> Vec<u8> {
        let mut v = vec![first];
        match payload_len {
            0..126 => v.push(0x80 | payload_len as u8),
            126..=0xffff => {
                v.push(0x80 | 126);
                v.extend_from_slice(&(payload_len as u16).to_be_bytes());
            }
            _ => {
                v.push(0x80 | 127);
                v.extend_from_slice(&(payload_len as u64).to_be_bytes());
            }
        }
        v.extend_from_slice(&[0; 4]);
        v.resize(v.len() + payload_len, 0x88);
        v
    }

    /// Resumed inside a payload or a header: the rest of that frame is skipped, however
    /// much it looks like a close (0x88 bytes), and the real close is found.
    #[test]
    fn resuming_mid_frame_skips_the_rest_of_that_frame() {
        let mut stream = frame(0x82, 300);
        let close_at = stream.len();
        stream.extend(frame(0x88, 2));
        for cut in 1..close_at {
            let (header_len, payload_rest) = if cut < 8 {
                (cut, 0)
            } else {
                (0, (close_at - cut) as u64)
            };
            let mut wait = CloseWait::resume(&stream[..header_len], payload_rest);
            let rest = &stream[cut..];
            let at = (1..=rest.len()).find(|&n| {
                let mut w = CloseWait::resume(&stream[..header_len], payload_rest);
                w.feed(&rest[..n]) == Seen::Close
            });
            assert_eq!(at, Some(close_at + 8 - cut), "cut at {cut}");
            assert_eq!(wait.feed(rest), Seen::Close, "cut at {cut}");
        }
    }

    /// Data and control frames, then the close: seen once its last byte is in, whatever
    /// the reads' sizes, and not before. (Payloads of 0x88 bytes look like close headers.)
    #[test]
    fn the_close_is_found_behind_any_frames_at_any_read_size() {
        let mut stream = Vec::new();
        stream.extend(frame(0x02, 70_000)); // binary, not final
        stream.extend(frame(0x89, 5)); // ping
        stream.extend(frame(0x80, 300)); // continuation, final
        stream.extend(frame(0x8A, 0)); // pong
        let close_at = stream.len();
        stream.extend(frame(0x88, 2));
        for chunk in [1, 2, 3, 7, 13, 14, 64, 4096, stream.len()] {
            let mut wait = CloseWait::default();
            let mut fed = 0;
            let seen = stream.chunks(chunk).find_map(|piece| {
                fed += piece.len();
                match wait.feed(piece) {
                    Seen::Nothing => None,
                    seen => Some(seen),
                }
            });
            assert_eq!(seen, Some(Seen::Close), "chunk {chunk}");
            let close_end = close_at + 8;
            assert!(
                fed >= close_end,
                "chunk {chunk}: seen before the whole close arrived"
            );
            assert!(fed < close_end + chunk, "chunk {chunk}: seen late");
        }
    }

    /// A close whose status code comes in a later segment: closing the socket before it
    /// arrived would answer it with a reset.
    #[test]
    fn the_close_payload_is_waited_for() {
        let close = frame(0x88, 2);
        let mut wait = CloseWait::default();
        assert_eq!(wait.feed(&close[..6]), Seen::Nothing);
        assert_eq!(wait.feed(&close[6..7]), Seen::Nothing);
        assert_eq!(wait.feed(&close[7..]), Seen::Close);
        // Without a payload the header is the whole frame.
        let mut wait = CloseWait::default();
        assert_eq!(wait.feed(&frame(0x88, 0)), Seen::Close);
        // A payload that is no control frame's is not waited for: §5.5 caps it at 125.
        let mut wait = CloseWait::default();
        assert_eq!(wait.feed(&frame(0x88, 126)[..8]), Seen::Garbage);
    }

    #[test]
    fn bytes_that_are_no_frame_end_the_wait() {
        let mut wait = CloseWait::default();
        assert_eq!(wait.feed(&frame(0x81, 3)), Seen::Nothing);
        // Unmasked: no client frame.
        assert_eq!(wait.feed(&[0x88, 0x00]), Seen::Garbage);
        let mut wait = CloseWait::default();
        assert_eq!(wait.feed(b"GET / HTTP/1.1\r\n"), Seen::Garbage);
    }

    #[test]
    fn a_huge_payload_length_is_only_counted_down() {
        let mut wait = CloseWait::default();
        let mut header = vec![0x82, 0xFF];
        header.extend_from_slice(&(u64::MAX >> 1).to_be_bytes());
        header.extend_from_slice(&[0; 4]);
        assert_eq!(wait.feed(&header), Seen::Nothing);
        assert_eq!(wait.feed(&[0x88; 1 << 16]), Seen::Nothing);
        assert_eq!(wait.skip, (u64::MAX >> 1) - (1 << 16));
    }
}
