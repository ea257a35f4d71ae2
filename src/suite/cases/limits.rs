//! Group 9, limits and performance: single messages of 64 KiB to 16 MiB (9.1 text,
//! 9.2 binary), 4 MiB messages cut into frames of 64 bytes to 4 MiB (9.3, 9.4), 1 MiB
//! frames written 64 to 2048 bytes at a time (9.5, 9.6), and 1000 messages of 0 to
//! 4096 bytes, each sent when the last came back (9.7 text, 9.8 binary). These cases
//! grade themselves (type and length of the echo) and report their duration.

use crate::suite::case::{ExpectedClose, Grade, Payload};
use crate::suite::peer::{Ctx, Frame, Script};

use super::NORMAL;

const TEXT_PATTERN: &[u8] = b"BAsd7&jh23";
const BINARY_PATTERN: &[u8] = b"\x00\xfe\x23\xfa\xf0";
const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;

/// How the message goes out.
#[derive(Clone, Copy)]
enum Send {
    /// One frame (`sendFrame` with `payload_len`), written `chop` bytes at a time.
    Frame { chop: Option<usize> },
    /// A message cut into frames of this size (`sendMessage` with `fragmentSize`).
    Cut(usize),
}

/// One big message, echoed within `wait` seconds.
struct Big {
    binary: bool,
    pattern: &'static [u8],
    len: usize,
    send: Send,
    wait: f64,
}

impl Script for Big {
    fn open(&mut self, c: &mut Ctx<'_>) {
        c.case.report_time = true;
        c.case.behavior = Grade::Failed;
        c.case.expected_close = ExpectedClose::by_me(NORMAL);
        c.case.result = format!("Did not receive message within {} seconds.", self.wait);
        match self.send {
            Send::Frame { chop } => c.send_frame(
                Frame::new(if self.binary { 2 } else { 1 }, self.pattern.to_vec())
                    .repeat_to(self.len)
                    .chop(chop),
            ),
            Send::Cut(size) => c.send_message(self.binary, self.pattern, self.len, Some(size)),
        }
        c.close_after(self.wait);
    }

    fn message(&mut self, c: &mut Ctx<'_>, payload: Payload, binary: bool) {
        let kind = if self.binary { "binary" } else { "text" };
        c.case.result = if binary != self.binary {
            // (Autobahn's texts, its slip in 9.4 included.)
            match (self.binary, matches!(self.send, Send::Cut(_))) {
                (false, _) => "Expected text message with payload, but got binary.".to_string(),
                (true, true) => "Expected binary message with payload, but got binary.".to_string(),
                (true, false) => "Expected binary message with payload, but got text.".to_string(),
            }
        } else if payload.len != self.len as u64 {
            format!(
                "Expected {kind} message with payload of length {}, but got {}.",
                self.len, payload.len
            )
        } else {
            c.case.behavior = Grade::Ok;
            format!("Received {kind} message of length {}.", payload.len)
        };
        c.send_close(Some(NORMAL), None);
    }
}

/// `count` messages of `len` bytes, each sent once the last came back, within `wait`
/// seconds in all.
struct Many {
    binary: bool,
    len: usize,
    count: u32,
    sent: u32,
    wait: f64,
}

impl Many {
    fn send_one(&mut self, c: &mut Ctx<'_>) {
        let (opcode, pattern) = if self.binary {
            (2, &b"\xfe"[..])
        } else {
            (1, &b"*"[..])
        };
        c.send_frame(Frame::new(opcode, pattern.to_vec()).repeat_to(self.len));
        self.sent += 1;
    }
}

impl Script for Many {
    fn open(&mut self, c: &mut Ctx<'_>) {
        c.case.report_time = true;
        c.case.behavior = Grade::Failed;
        c.case.expected_close = ExpectedClose::by_me(NORMAL);
        c.case.result = format!("Case did not finish within {} seconds.", self.wait);
        c.close_after(self.wait);
        self.send_one(c);
    }

    fn message(&mut self, c: &mut Ctx<'_>, payload: Payload, binary: bool) {
        if binary != self.binary || payload.len != self.len as u64 {
            c.case.behavior = Grade::Failed;
            c.case.result = format!(
                "Echo'ed message type or length differs from what I sent (got binary = {}, \
                 payload length = {}).",
                if binary { "True" } else { "False" },
                payload.len
            );
            c.send_close(Some(NORMAL), None);
        } else if self.sent < self.count {
            self.send_one(c);
        } else {
            c.case.behavior = Grade::Ok;
            c.case.result = "Ok, received all echo'ed messages in time.".to_string();
            c.send_close(Some(NORMAL), None);
        }
    }
}

pub(super) fn script(id: &str) -> Option<Box<dyn Script>> {
    let mut parts = id.split('.').skip(1);
    let sub: usize = parts.next()?.parse().ok()?;
    let n: usize = parts.next()?.parse().ok()?;
    let i = n.checked_sub(1)?;
    let big = |binary, pattern, len, send, wait| -> Option<Box<dyn Script>> {
        Some(Box::new(Big {
            binary,
            pattern,
            len,
            send,
            wait,
        }))
    };
    let one_frame = Send::Frame { chop: None };
    let sizes = [64 * KIB, 256 * KIB, MIB, 4 * MIB, 8 * MIB, 16 * MIB];
    let frag_sizes = [
        64,
        256,
        KIB,
        4 * KIB,
        16 * KIB,
        64 * KIB,
        256 * KIB,
        MIB,
        4 * MIB,
    ];
    let chops = [64, 128, 256, 512, 1024, 2048];
    match sub {
        1 => {
            let wait = [10.0, 10.0, 100.0, 100.0, 100.0, 100.0][i.min(5)];
            big(false, TEXT_PATTERN, *sizes.get(i)?, one_frame, wait)
        }
        2 => {
            let wait = [10.0, 10.0, 10.0, 10.0, 100.0, 100.0][i.min(5)];
            big(true, BINARY_PATTERN, *sizes.get(i)?, one_frame, wait)
        }
        3 => big(false, b"*", 4 * MIB, Send::Cut(*frag_sizes.get(i)?), 100.0),
        4 => big(
            true,
            b"\xfe",
            4 * MIB,
            Send::Cut(*frag_sizes.get(i)?),
            100.0,
        ),
        5 => {
            let chop = Some(*chops.get(i)?);
            big(false, TEXT_PATTERN, MIB, Send::Frame { chop }, 1000.0)
        }
        6 => {
            let chop = Some(*chops.get(i)?);
            big(true, BINARY_PATTERN, MIB, Send::Frame { chop }, 1000.0)
        }
        7 | 8 => {
            let (len, wait) = *[
                (0, 60.0),
                (16, 60.0),
                (64, 60.0),
                (256, 120.0),
                (1024, 240.0),
                (4096, 480.0),
            ]
            .get(i)?;
            Some(Box::new(Many {
                binary: sub == 8,
                len,
                count: 1000,
                sent: 0,
                wait,
            }))
        }
        _ => None,
    }
}
