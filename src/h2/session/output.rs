//! The sending side: responses' field blocks, DATA framed as both flow-control windows
//! (RFC 9113 §5.2, §6.9) and the peer's frame size allow, in turn among streams, and
//! the receive windows reopened as the application consumes.

use super::input::reopen_stream_window;
use super::{Pending, Phase, Session};
use crate::h2::frame::{FRAME_HEADER_LEN, StreamId, data_header, write_headers};
use crate::h2::hpack::encode_field;
use crate::h2::spare;

impl Session {
    /// Sends a field block on `stream` (a response, or with data queued before it, a
    /// trailer section, which always ends the stream). Ignored for a stream that is
    /// gone or that we ended.
    pub fn send_headers(&mut self, stream: u32, fields: &[(&[u8], &[u8])], end_stream: bool) {
        let max_frame = self.peer_max_frame_size as usize;
        let Some(s) = self.streams.get_mut(&stream) else {
            return;
        };
        if s.local_closed || s.end_pending {
            return;
        }
        let mut block = Vec::new();
        for (name, value) in fields {
            encode_field(&mut block, name, value);
        }
        if s.queue.is_empty() {
            write_headers(
                &mut self.ctrl,
                StreamId::new(stream),
                &block,
                end_stream,
                max_frame,
            );
            if end_stream {
                s.local_closed = true;
                self.close_if_done(stream);
            }
            return;
        }
        // §8.1: the trailer section comes after the content, and ends the stream.
        let mut frames = Vec::new();
        write_headers(&mut frames, StreamId::new(stream), &block, true, max_frame);
        s.trailers = Some(Box::new(frames));
        s.end_pending = true;
    }

    /// Copies `data` into the stream's send queue; DATA frames go out as both windows
    /// and the peer's frame size allow. `end_stream` ends the stream after it (an empty
    /// `data` with `end_stream` sends an empty DATA frame with END_STREAM). Ignored for
    /// a stream that is gone or that we ended. The application keeps [`Session::queued`]
    /// under `max_send_queue` (see [`Limits::max_send_queue`](super::Limits)).
    pub fn send_data(&mut self, stream: u32, data: &[u8], end_stream: bool) {
        let half = self.limits.max_send_queue / 2;
        let Some(s) = self.streams.get_mut(&stream) else {
            return;
        };
        if s.local_closed || s.end_pending {
            return;
        }
        if s.queue.capacity() == 0 && !data.is_empty() {
            s.queue = spare::take_queue();
        }
        s.queue.extend(data);
        s.end_pending = end_stream;
        if s.queue.len() >= half.max(1) {
            s.drain_armed = true;
        }
        if !s.in_ready && s.wants_turn() {
            s.in_ready = true;
            self.ready.push_back(stream);
        }
    }

    /// Bytes of `stream` queued and not framed yet for lack of window (0 for a stream
    /// that is gone).
    pub fn queued(&self, stream: u32) -> usize {
        self.streams.get(&stream).map_or(0, |s| s.queue.len())
    }

    /// The application took `n` bytes of DATA of `stream`: once half the stream window
    /// is consumed, a WINDOW_UPDATE returns it. Not calling it is the application's
    /// backpressure: the peer cannot send more than the window. More than was delivered
    /// is not counted.
    pub fn consumed(&mut self, stream: u32, n: usize) {
        let threshold = self.stream_update_threshold();
        let Some(s) = self.streams.get_mut(&stream) else {
            return;
        };
        let n = u32::try_from(n).unwrap_or(u32::MAX).min(s.recv_held);
        s.recv_held -= n;
        s.recv_unacked = s.recv_unacked.saturating_add(n);
        reopen_stream_window(&mut self.ctrl, stream, s, threshold);
    }

    /// Whether [`Session::write_output`] has anything to write.
    pub fn has_output(&self) -> bool {
        if !self.ctrl.is_empty() {
            return true;
        }
        self.phase == Phase::Open
            && self.ready.iter().any(|id| {
                self.streams
                    .get(id)
                    .is_some_and(|s| s.sendable(self.conn_send_window))
            })
    }

    /// Moves frames ready to send into `out`: see [`Session::write_to`].
    pub fn write_output(&mut self, out: &mut Vec<u8>, max: usize) {
        self.write_to(out, max);
    }

    /// Puts frames ready to send into `sink`: ours first (acks, resets, field blocks,
    /// window updates), then DATA, a frame from each stream in turn, until about `max`
    /// bytes went (one DATA frame may go past it; `max` 0 writes nothing) or the sink
    /// is [blocked](Sink::blocked). A DATA frame goes as its header and its content
    /// where it lies in the stream's queue, so a sink that writes vectored copies
    /// nothing. Returns the bytes put.
    pub fn write_to(&mut self, sink: &mut impl Sink, max: usize) -> usize {
        let n = self.ctrl.len().min(max);
        let mut put = n;
        if n > 0 {
            sink.put(&[&self.ctrl[..n]]);
            self.ctrl.drain(..n);
        }
        if self.ctrl.is_empty() {
            self.ctrl = Vec::new();
        }
        if self.phase != Phase::Open {
            return put;
        }
        let half = self.limits.max_send_queue / 2;
        let max_frame = self.peer_max_frame_size as usize;
        // Streams passed over for lack of connection window in this round: when every
        // stream in turn was passed over, nothing more can go.
        let mut passed = 0;
        while put < max && passed < self.ready.len() && !sink.blocked() {
            let Some(id) = self.ready.pop_front() else {
                break;
            };
            let Some(s) = self.streams.get_mut(&id) else {
                continue;
            };
            s.in_ready = false;
            if s.queue.is_empty() {
                if !s.end_pending {
                    continue;
                }
                // Only the end is left: trailers, or an empty DATA with END_STREAM.
                match s.trailers.take() {
                    Some(frames) => {
                        sink.put(&[&frames]);
                        put += frames.len();
                    }
                    None => {
                        sink.put(&[&data_header(StreamId::new(id), 0, true)]);
                        put += FRAME_HEADER_LEN;
                    }
                }
                s.local_closed = true;
                self.close_if_done(id);
                passed = 0;
                continue;
            }
            if self.conn_send_window <= 0 {
                // Blocked on the connection: it keeps its place for the next
                // WINDOW_UPDATE, while streams with only their end to send go on.
                s.in_ready = true;
                self.ready.push_back(id);
                passed += 1;
                continue;
            }
            if s.send_window <= 0 {
                // Blocked on its own window: back in turn with its WINDOW_UPDATE.
                continue;
            }
            let window = s.send_window.min(self.conn_send_window);
            let allowed = s
                .queue
                .len()
                .min(usize::try_from(window).unwrap_or(usize::MAX));
            // Alone in turn, a stream sends up to BATCH frames in one put (one system
            // call for a socket); with others waiting, one frame, for fairness.
            let batch = if self.ready.is_empty() { BATCH } else { 1 };
            // At least a frame, more while the call's budget lasts, in whole frames.
            let whole = (max.saturating_sub(put) / max_frame).max(1) * max_frame;
            let len = allowed.min(batch * max_frame).min(whole);
            let last = len == s.queue.len() && s.end_pending && s.trailers.is_none();
            let mut headers = [[0u8; FRAME_HEADER_LEN]; BATCH];
            let mut parts: [&[u8]; 3 * BATCH] = [&[]; 3 * BATCH];
            let mut n = 0;
            let (front, back) = s.queue.as_slices();
            let mut offset = 0;
            for header in headers.iter_mut() {
                if offset >= len {
                    break;
                }
                let frame = (len - offset).min(max_frame);
                let end = offset + frame;
                *header = data_header(StreamId::new(id), frame, last && end == len);
                parts[n] = header;
                n += 1;
                // The content from the queue's two halves, with no copy here: this
                // is the bulk path.
                for (from, to) in [
                    (offset, end.min(front.len())),
                    (offset.max(front.len()), end),
                ] {
                    if from < to {
                        parts[n] = if to <= front.len() {
                            &front[from..to]
                        } else {
                            &back[from - front.len()..to - front.len()]
                        };
                        n += 1;
                    }
                }
                offset = end;
            }
            sink.put(&parts[..n]);
            put += len + FRAME_HEADER_LEN * len.div_ceil(max_frame);
            s.queue.drain(..len);
            let sent = i64::try_from(len).unwrap_or(i64::MAX);
            s.send_window -= sent;
            self.conn_send_window -= sent;
            if s.queue.is_empty() {
                spare::give_queue(std::mem::take(&mut s.queue));
            }
            if s.drain_armed && s.queue.len() < half {
                s.drain_armed = false;
                self.events.push_back(Pending::Drained { stream: id });
            }
            passed = 0;
            if last {
                s.local_closed = true;
                self.close_if_done(id);
            } else if s.sendable(self.conn_send_window) || !s.queue.is_empty() {
                // In turn again: fairness among streams (blocked ones wait at the back).
                s.in_ready = true;
                self.ready.push_back(id);
            }
        }
        put
    }
}

/// The most DATA frames of one stream put at once.
const BATCH: usize = 16;

/// Where [`Session::write_to`] puts its frames: a buffer, or a socket that keeps what
/// it cannot write yet.
pub trait Sink {
    /// Takes every byte of `parts`, in order, as one piece of the stream of frames.
    fn put(&mut self, parts: &[&[u8]]);

    /// Whether the sink would rather take nothing more for now (its socket is full):
    /// the session then stops at a frame boundary, keeping the rest.
    fn blocked(&self) -> bool {
        false
    }
}

impl Sink for Vec<u8> {
    fn put(&mut self, parts: &[&[u8]]) {
        for part in parts {
            self.extend_from_slice(part);
        }
    }
}
