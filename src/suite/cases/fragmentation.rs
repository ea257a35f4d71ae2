//! Group 5, fragmentation: fragmented text messages, sent whole, `sync` (each frame in
//! a turn of its own) or an octet at a time, must be echoed as one message, with pings
//! between the fragments answered at once: "Control frames MAY be injected in the
//! middle of a fragmented message" (RFC 6455, 5.4). Fragmented control frames, a
//! continuation with no message begun, and a new message inside one must fail the
//! connection with 1002 ("Control frames themselves MUST NOT be fragmented"; "the
//! fragments of one message MUST NOT be interleaved between the fragments of another
//! message"). 5.19 and 5.20 pause a second in the middle of the message.

use super::{End, NORMAL, PROTOCOL_ERROR, Simple};
use crate::suite::case::{ExpectedClose, Grade, Obs};
use crate::suite::peer::{Ctx, Frame, Script};

const CONTINUATION: u8 = 0;
const TEXT: u8 = 1;
const PING: u8 = 9;
const PONG: u8 = 10;

/// A frame with `fin` as given.
fn frag(opcode: u8, fin: bool, payload: &[u8]) -> Frame {
    Frame::new(opcode, payload.to_vec()).fin(fin)
}

/// How a case writes its frames: as they come, `sync`, or an octet at a time.
#[derive(Clone, Copy)]
enum Pace {
    Plain,
    Sync,
    Octets,
}

impl Pace {
    /// The pace of the second (`Sync`) and third (`Octets`) of three cases from `first`.
    fn of(id: &str, first: u32) -> Option<Pace> {
        let n: u32 = id.strip_prefix("5.")?.parse().ok()?;
        Some(match n.checked_sub(first)? {
            0 => Pace::Plain,
            1 => Pace::Sync,
            _ => Pace::Octets,
        })
    }

    fn apply(self, f: Frame) -> Frame {
        match self {
            Pace::Plain => f,
            Pace::Sync => f.sync(),
            Pace::Octets => f.chop(Some(1)),
        }
    }
}

/// The script of case `id` of group 5, if it is one.
pub(super) fn script(id: &str) -> Option<Box<dyn Script>> {
    let failed = |frames: Vec<Frame>| Simple::failed_with(frames, PROTOCOL_ERROR, End::Kill(1.0));
    let (f1, f2, f3) = (b"fragment1", b"fragment2", b"fragment3");
    Some(match id {
        "5.1" => failed(vec![frag(PING, false, f1), frag(CONTINUATION, true, f2)]),
        "5.2" => failed(vec![frag(PONG, false, f1), frag(CONTINUATION, true, f2)]),
        "5.3" | "5.4" | "5.5" => {
            let pace = Pace::of(id, 3)?;
            Simple::echo(
                vec![
                    pace.apply(frag(TEXT, false, f1)),
                    pace.apply(frag(CONTINUATION, true, f2)),
                ],
                vec![Obs::text(b"fragment1fragment2")],
                End::Close(1.0),
            )
        }
        "5.6" | "5.7" | "5.8" => {
            let pace = Pace::of(id, 6)?;
            let ping = b"ping payload";
            Simple::echo(
                vec![
                    pace.apply(frag(TEXT, false, f1)),
                    pace.apply(frag(PING, true, ping)),
                    pace.apply(frag(CONTINUATION, true, f2)),
                ],
                vec![Obs::pong(ping), Obs::text(b"fragment1fragment2")],
                End::Close(1.0),
            )
        }
        "5.9" | "5.10" | "5.11" | "5.12" | "5.13" | "5.14" => {
            let n: u32 = id.strip_prefix("5.")?.parse().ok()?;
            let (fin, first) = if n <= 11 { (true, 9) } else { (false, 12) };
            let pace = Pace::of(id, first)?;
            failed(vec![
                pace.apply(frag(CONTINUATION, fin, b"non-continuation payload")),
                pace.apply(frag(TEXT, true, b"Hello, world!")),
            ])
        }
        "5.15" => Box::new(Simple {
            frames: vec![
                frag(TEXT, false, f1),
                frag(CONTINUATION, true, f2),
                frag(CONTINUATION, false, f3),
                frag(TEXT, true, b"fragment4"),
            ],
            expected: vec![
                (Grade::Ok, vec![Obs::text(b"fragment1fragment2")]),
                (Grade::NonStrict, vec![]),
            ],
            close: ExpectedClose::by_peer(&[PROTOCOL_ERROR]),
            end: End::Kill(1.0),
        }),
        "5.16" | "5.17" => {
            let fin = id == "5.17";
            let three = [
                frag(CONTINUATION, fin, f1),
                frag(TEXT, false, f2),
                frag(CONTINUATION, true, f3),
            ];
            failed(three.iter().chain(three.iter()).cloned().collect())
        }
        "5.18" => failed(vec![frag(TEXT, false, f1), frag(TEXT, true, f2)]),
        "5.19" => Box::new(Paused { sync: false }),
        "5.20" => Box::new(Paused { sync: true }),
        _ => return None,
    })
}

/// 5.19 and 5.20: two fragments and a ping, a second's pause, two fragments, a ping
/// and the last fragment; then the close a second later. Each ping must be answered
/// when it comes, and the five fragments echoed as one message.
struct Paused {
    /// Each frame written in a turn of its own (5.20).
    sync: bool,
}

impl Paused {
    const FRAGMENTS: [&'static [u8]; 5] = [
        b"fragment1",
        b"fragment2",
        b"fragment3",
        b"fragment4",
        b"fragment5",
    ];
    const PINGS: [&'static [u8]; 2] = [b"pongme 1!", b"pongme 2!"];

    fn send(&self, c: &mut Ctx<'_>, f: Frame) {
        c.send_frame(if self.sync { f.sync() } else { f });
    }
}

impl Script for Paused {
    fn open(&mut self, c: &mut Ctx<'_>) {
        let [a, b, ..] = Self::FRAGMENTS;
        c.case.expected = vec![(
            Grade::Ok,
            vec![
                Obs::pong(Self::PINGS[0]),
                Obs::pong(Self::PINGS[1]),
                Obs::text(&Self::FRAGMENTS.concat()),
            ],
        )];
        c.case.expected_close = ExpectedClose::by_me(NORMAL);
        self.send(c, frag(TEXT, false, a));
        self.send(c, frag(CONTINUATION, false, b));
        self.send(c, frag(PING, true, Self::PINGS[0]));
        c.later(1.0, 0);
    }

    fn step(&mut self, c: &mut Ctx<'_>, _step: u8) {
        let [_, _, x, y, z] = Self::FRAGMENTS;
        self.send(c, frag(CONTINUATION, false, x));
        self.send(c, frag(CONTINUATION, false, y));
        self.send(c, frag(PING, true, Self::PINGS[1]));
        self.send(c, frag(CONTINUATION, true, z));
        c.close_after(1.0);
    }
}
