//! One direction of a connection's bytes, taken apart for the trace: an HTTP head, then
//! frames (or, when no upgrade happened, a body). It judges nothing: a frame the core
//! will refuse (masked the wrong way, reserved opcode, bad length) is shown as it was
//! sent, since that is what the trace's reader wants to see.

use super::item::{Dir, Inflated, Item, Shown};
use crate::deflate::MAX_WINDOW_BITS;
use crate::deflate::codec::{InflateError, Inflater};
use crate::frame::mask::apply_mask;

/// A head longer than this is not shown (the core refuses it with 431 long before).
const MAX_HEAD: usize = 64 << 10;
/// Control payloads are at most 125 bytes (RFC 6455 §5.5); a close frame's are kept
/// whole to decode its code and reason.
const CONTROL_MAX: usize = 125;
/// The trace inflates a compressed message this far at most: past it, the direction's
/// messages are no longer inflated (a bomb costs the trace no more than this).
pub(crate) const MAX_INFLATED: u64 = 64 << 20;
/// The trace's inflate output buffer.
const INFLATE_SCRATCH: usize = 8 << 10;

enum State {
    /// Collecting the head, up to its blank line.
    Head(Vec<u8>),
    /// Frames follow.
    Frames,
    /// Anything after a head that does not lead to frames.
    Body,
    /// Nothing more is shown (a head too long to be one).
    Off,
}

/// The frame being taken apart.
struct Frame {
    fin: bool,
    rsv: u8,
    opcode: u8,
    len: u64,
    mask: Option<[u8; 4]>,
    /// Payload bytes seen so far.
    seen: u64,
    /// The first bytes, unmasked.
    kept: Vec<u8>,
}

/// The decoder of one direction.
pub(crate) struct Wire {
    dir: Dir,
    state: State,
    /// A frame header that arrived split.
    header: Vec<u8>,
    frame: Option<Frame>,
    /// The data message in progress is text (so its continuations are text too).
    text_message: bool,
    /// The data message in progress is compressed (RSV1 on its first frame: the
    /// permessage-deflate bit, RFC 7692 §6), so are its continuations.
    compressed: bool,
    /// This direction's compressed messages inflated for the trace alone, made at the
    /// first one: the trace shows what they say, not only their compressed bytes.
    inflation: Option<Box<Inflation>>,
    /// How many payload bytes a line shows.
    show: usize,
}

/// What a head decides for what follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterHead {
    /// Frames follow (a request asking to upgrade, a 101).
    Frames,
    /// A body or nothing follows.
    Body,
}

impl Wire {
    pub(crate) fn new(dir: Dir, show: usize) -> Self {
        Wire {
            dir,
            state: State::Head(Vec::new()),
            header: Vec::new(),
            frame: None,
            text_message: false,
            compressed: false,
            inflation: None,
            show,
        }
    }

    /// A head that came some other way (HTTP/2 fields) was shown: what follows is
    /// `after`.
    pub(crate) fn after_head(&mut self, after: AfterHead) {
        self.state = match after {
            AfterHead::Frames => State::Frames,
            AfterHead::Body => State::Body,
        };
    }

    /// Takes `bytes` apart, appending what they complete to `items`. `decide` says,
    /// from a head's lines, what follows it.
    pub(crate) fn feed(
        &mut self,
        mut bytes: &[u8],
        items: &mut Vec<Item>,
        mut decide: impl FnMut(&[String]) -> AfterHead,
    ) {
        while !bytes.is_empty() {
            match &mut self.state {
                State::Head(head) => {
                    let before = head.len();
                    head.extend_from_slice(bytes);
                    // The blank line may straddle feeds: look from a little before.
                    let from = before.saturating_sub(3);
                    let Some(end) = head[from..]
                        .windows(4)
                        .position(|w| w == b"\r\n\r\n")
                        .map(|p| from + p + 4)
                    else {
                        if head.len() > MAX_HEAD {
                            items.push(Item::HttpHead {
                                dir: self.dir,
                                lines: vec![format!("(no end of head in {} bytes)", head.len())],
                            });
                            self.state = State::Off;
                        }
                        return;
                    };
                    let lines: Vec<String> = String::from_utf8_lossy(&head[..end - 4])
                        .split("\r\n")
                        .map(str::to_string)
                        .collect();
                    let taken = end - before;
                    self.state = match decide(&lines) {
                        AfterHead::Frames => State::Frames,
                        AfterHead::Body => State::Body,
                    };
                    items.push(Item::HttpHead {
                        dir: self.dir,
                        lines,
                    });
                    bytes = &bytes[taken..];
                }
                State::Frames => {
                    let used = self.frames(bytes, items);
                    bytes = &bytes[used..];
                }
                State::Body => {
                    let n = bytes.len().min(self.show);
                    items.push(Item::HttpBody {
                        dir: self.dir,
                        shown: Shown {
                            bytes: bytes[..n].to_vec(),
                            total: bytes.len() as u64,
                            text: true,
                        },
                    });
                    return;
                }
                State::Off => return,
            }
        }
    }

    /// Takes frame bytes from the front of `bytes`; returns how many it used.
    fn frames(&mut self, bytes: &[u8], items: &mut Vec<Item>) -> usize {
        let Some(frame) = self.frame.as_mut() else {
            // A header: its length is known from its second byte.
            let have = self.header.len();
            let second = match have {
                0 => bytes.get(1),
                1 => bytes.first(),
                _ => self.header.get(1),
            };
            let Some(&b1) = second else {
                self.header.extend_from_slice(bytes);
                return bytes.len();
            };
            let need = header_len(b1);
            let take = (need - have).min(bytes.len());
            self.header.extend_from_slice(&bytes[..take]);
            if self.header.len() == need {
                let frame = parse(&self.header);
                self.header.clear();
                if frame.opcode < 8 && frame.opcode != 0 {
                    self.text_message = frame.opcode == 1;
                    self.compressed = frame.rsv & 0b100 != 0;
                    if self.compressed {
                        self.inflation
                            .get_or_insert_with(|| Box::new(Inflation::new()))
                            .start_message();
                    }
                }
                self.frame = Some(frame);
                self.finish_if_empty(items);
            }
            return take;
        };
        let left = frame.len - frame.seen;
        let take = usize::try_from(left).map_or(bytes.len(), |l| l.min(bytes.len()));
        let keep_max = if frame.opcode == 8 {
            CONTROL_MAX
        } else {
            self.show
        };
        let room = keep_max.saturating_sub(frame.kept.len()).min(take);
        let start = frame.kept.len();
        frame.kept.extend_from_slice(&bytes[..room]);
        if let Some(key) = frame.mask {
            apply_mask(&mut frame.kept[start..], key, start as u64);
        }
        if self.compressed
            && frame.opcode < 8
            && let Some(inflation) = self.inflation.as_deref_mut()
        {
            inflation.feed(&bytes[..take], frame.mask, frame.seen, self.show);
        }
        frame.seen += take as u64;
        self.finish_if_empty(items);
        take
    }

    /// Emits the current frame once all its payload is in.
    fn finish_if_empty(&mut self, items: &mut Vec<Item>) {
        let Some(frame) = self.frame.take_if(|f| f.seen == f.len) else {
            return;
        };
        let data = frame.opcode < 8;
        let compressed = data && self.compressed;
        // A compressed payload is DEFLATE data, text message or not: what it says is shown
        // inflated under the message's last frame.
        let text = !compressed && (frame.opcode == 1 || (frame.opcode == 0 && self.text_message));
        let inflated = match self.inflation.as_deref_mut() {
            Some(inflation) if compressed && frame.fin => {
                Some(inflation.finish_message(self.text_message))
            }
            _ => None,
        };
        let close = (frame.opcode == 8 && frame.kept.len() >= 2).then(|| {
            let code = u16::from_be_bytes([frame.kept[0], frame.kept[1]]);
            (code, String::from_utf8_lossy(&frame.kept[2..]).into_owned())
        });
        let mut kept = frame.kept;
        kept.truncate(self.show);
        items.push(Item::Frame {
            dir: self.dir,
            fin: frame.fin,
            rsv: frame.rsv,
            opcode: frame.opcode,
            len: frame.len,
            mask: frame.mask,
            close,
            shown: Shown {
                bytes: kept,
                total: frame.len,
                text,
            },
            compressed,
            inflated,
        });
    }
}

/// A direction's compressed messages, inflated as they pass: the message in progress's
/// first bytes and length. Always a 15-bit window with context takeover: a bigger
/// window decodes any smaller one's stream, and a sender without context takeover
/// simply never refers back.
struct Inflation {
    inflater: Inflater,
    scratch: Vec<u8>,
    /// The payload chunk, unmasked.
    unmasked: Vec<u8>,
    /// The message's first inflated bytes (as many as a line shows).
    kept: Vec<u8>,
    /// Its inflated length so far.
    total: u64,
    /// Why the message in progress is not shown inflated.
    failed: Option<String>,
    /// The stream could not be followed: later messages cannot be inflated either.
    lost: bool,
}

impl Inflation {
    fn new() -> Self {
        Inflation {
            inflater: Inflater::new(MAX_WINDOW_BITS, false),
            scratch: vec![0; INFLATE_SCRATCH],
            unmasked: Vec::new(),
            kept: Vec::new(),
            total: 0,
            failed: None,
            lost: false,
        }
    }

    fn start_message(&mut self) {
        self.kept.clear();
        self.total = 0;
        self.failed = self
            .lost
            .then(|| "not inflated: an earlier message of this direction could not be".to_string());
    }

    /// Inflates the payload bytes `chunk` (masked with `mask` from payload offset `at`).
    fn feed(&mut self, chunk: &[u8], mask: Option<[u8; 4]>, at: u64, show: usize) {
        if self.failed.is_some() || chunk.is_empty() {
            return;
        }
        let input = match mask {
            Some(key) => {
                self.unmasked.clear();
                self.unmasked.extend_from_slice(chunk);
                apply_mask(&mut self.unmasked, key, at);
                &self.unmasked[..]
            }
            None => chunk,
        };
        let (kept, total) = (&mut self.kept, &mut self.total);
        let mut sink = |piece: &[u8]| {
            let room = show.saturating_sub(kept.len()).min(piece.len());
            kept.extend_from_slice(&piece[..room]);
            *total += piece.len() as u64;
            if *total > MAX_INFLATED {
                Err(())
            } else {
                Ok(())
            }
        };
        if let Err(e) = self
            .inflater
            .inflate_chunk(input, &mut self.scratch, &mut sink)
        {
            self.fail(&e);
        }
    }

    /// The message is complete: what it inflated to.
    fn finish_message(&mut self, text: bool) -> Inflated {
        if self.failed.is_none()
            && let Err(e) = self
                .inflater
                .finish_message(&mut self.scratch, &mut |_: &[u8]| Ok::<(), ()>(()))
        {
            self.fail(&e);
        }
        Inflated {
            shown: Shown {
                bytes: std::mem::take(&mut self.kept),
                total: self.total,
                text,
            },
            failed: self.failed.take(),
        }
    }

    fn fail(&mut self, e: &InflateError<()>) {
        self.failed = Some(match e {
            InflateError::Sink(()) => format!(
                "more than {} MiB inflated: the trace inflates no further",
                MAX_INFLATED >> 20
            ),
            InflateError::Corrupt => "not inflated: invalid compressed data".to_string(),
        });
        self.lost = true;
    }
}

/// The length of a frame header whose second byte is `b1` (RFC 6455 §5.2).
fn header_len(b1: u8) -> usize {
    let ext = match b1 & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    2 + ext + if b1 & 0x80 != 0 { 4 } else { 0 }
}

/// A whole header, as sent.
fn parse(h: &[u8]) -> Frame {
    let (len, at) = match h[1] & 0x7f {
        126 => (u64::from(u16::from_be_bytes([h[2], h[3]])), 4),
        127 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&h[2..10]);
            (u64::from_be_bytes(b), 10)
        }
        n => (u64::from(n), 2),
    };
    let mask = (h[1] & 0x80 != 0).then(|| [h[at], h[at + 1], h[at + 2], h[at + 3]]);
    Frame {
        fin: h[0] & 0x80 != 0,
        rsv: (h[0] >> 4) & 0b111,
        opcode: h[0] & 0x0f,
        len,
        mask,
        seen: 0,
        kept: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wsecho_test_support::frames::{RawFrame, server_frame};

    fn frames_follow(_: &[String]) -> AfterHead {
        AfterHead::Frames
    }

    /// Every way of cutting `wire` in two gives the same items as one feed.
    fn items_at_every_split(dir: Dir, wire: &[u8]) -> Vec<Item> {
        let mut whole = Vec::new();
        Wire::new(dir, 64).feed(wire, &mut whole, frames_follow);
        for cut in 0..=wire.len() {
            let mut w = Wire::new(dir, 64);
            let mut items = Vec::new();
            w.feed(&wire[..cut], &mut items, frames_follow);
            w.feed(&wire[cut..], &mut items, frames_follow);
            assert_eq!(items, whole, "cut at {cut}");
        }
        whole
    }

    #[test]
    fn a_head_then_masked_frames_are_taken_apart_however_they_are_cut() {
        let mut wire = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
        let mut ping = RawFrame::ping("payload-0");
        ping.mask = Some([0x37, 0xfa, 0x21, 0x3d]);
        wire.extend(ping.encode());
        wire.extend(RawFrame::text("héllo").fin(false).encode());
        wire.extend(RawFrame::cont(vec![b'x'; 300]).encode());
        wire.extend(RawFrame::close(1000, "bye").encode());
        let items = items_at_every_split(Dir::Rx, &wire);
        assert_eq!(items.len(), 5);
        assert_eq!(
            items[0],
            Item::HttpHead {
                dir: Dir::Rx,
                lines: vec!["GET / HTTP/1.1".into(), "Host: x".into()]
            }
        );
        let Item::Frame {
            opcode: 9,
            mask: Some(key),
            shown,
            ..
        } = &items[1]
        else {
            panic!("{:?}", items[1]);
        };
        assert_eq!(
            (key, &shown.bytes[..]),
            (&[0x37, 0xfa, 0x21, 0x3d], &b"payload-0"[..])
        );
        let Item::Frame { shown, fin, .. } = &items[3] else {
            panic!("{:?}", items[3]);
        };
        // A continuation of a text message is text; the display stops at 64 bytes.
        assert!(shown.text && *fin);
        assert_eq!((shown.bytes.len(), shown.total), (64, 300));
        let Item::Frame { close, .. } = &items[4] else {
            panic!("{:?}", items[4]);
        };
        assert_eq!(close, &Some((1000, "bye".to_string())));
    }

    #[test]
    fn server_frames_of_every_length_form_are_read() {
        let mut wire = b"HTTP/1.1 101 Switching Protocols\r\n\r\n".to_vec();
        for len in [0usize, 125, 126, 65536] {
            wire.extend(server_frame(true, 0, 2, &vec![7; len]));
        }
        let mut items = Vec::new();
        Wire::new(Dir::Tx, 16).feed(&wire, &mut items, frames_follow);
        let lens: Vec<u64> = items
            .iter()
            .filter_map(|i| match i {
                Item::Frame {
                    len, mask: None, ..
                } => Some(*len),
                _ => None,
            })
            .collect();
        assert_eq!(lens, [0, 125, 126, 65536]);
    }

    #[test]
    fn a_refused_head_is_followed_by_its_body() {
        let wire = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 4\r\n\r\nbad\n";
        let mut items = Vec::new();
        Wire::new(Dir::Tx, 64).feed(wire, &mut items, |_| AfterHead::Body);
        assert_eq!(items.len(), 2);
        assert!(matches!(&items[1], Item::HttpBody { shown, .. } if shown.bytes == b"bad\n"));
    }

    /// A compressed text message is no text to show as such: its frames are marked, and
    /// the message is shown inflated under its last frame, or why it could not be.
    #[test]
    fn a_compressed_message_is_shown_inflated_or_why_not() {
        use flate2::{Compress, Compression, FlushCompress};
        let mut c = Compress::new(Compression::default(), false);
        let mut payload = Vec::with_capacity(64);
        c.compress_vec(b"hello", &mut payload, FlushCompress::Sync)
            .unwrap();
        payload.truncate(payload.len() - 4);
        let mut wire = b"HTTP/1.1 101 Switching Protocols\r\n\r\n".to_vec();
        wire.extend(server_frame(false, 0b100, 1, &payload[..2]));
        wire.extend(server_frame(true, 0, 0, &payload[2..]));
        wire.extend(server_frame(true, 0b100, 1, b"\xff\xff\xff"));
        let mut items = Vec::new();
        Wire::new(Dir::Tx, 64).feed(&wire, &mut items, frames_follow);
        let frames: Vec<_> = items
            .iter()
            .filter_map(|i| match i {
                Item::Frame {
                    shown,
                    compressed,
                    inflated,
                    ..
                } => Some((shown, *compressed, inflated)),
                _ => None,
            })
            .collect();
        assert_eq!(frames.len(), 3);
        assert!(
            frames
                .iter()
                .all(|(shown, compressed, _)| *compressed && !shown.text)
        );
        assert_eq!(frames[0].2, &None);
        let Some(Inflated { shown, failed }) = frames[1].2 else {
            panic!("{items:?}");
        };
        assert_eq!(
            (&shown.bytes[..], shown.total, shown.text),
            (&b"hello"[..], 5, true)
        );
        assert_eq!(failed, &None);
        let Some(Inflated { failed, .. }) = frames[2].2 else {
            panic!("{items:?}");
        };
        assert_eq!(
            failed.as_deref(),
            Some("not inflated: invalid compressed data")
        );
    }

    #[test]
    fn a_head_that_never_ends_is_cut_off() {
        let mut items = Vec::new();
        let mut w = Wire::new(Dir::Rx, 64);
        for _ in 0..100 {
            w.feed(&[b'a'; 1024], &mut items, frames_follow);
        }
        assert_eq!(items.len(), 1, "{items:?}");
    }
}
