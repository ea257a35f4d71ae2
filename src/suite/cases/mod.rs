//! The cases' behaviour, one file per Autobahn group: what each sends, when, and what
//! it expects. The facts are Autobahn's (`autobahntestsuite/case/`); the code is ours.
//! Most cases have one shape, [`Simple`]: frames sent at open, a list expected, a
//! close expected, and a timer that ends the case.

mod close;
mod compression;
mod fragmentation;
mod framing;
mod limits;
mod misc;
mod opcodes;
mod pings;
mod reserved;
mod utf8;
mod utf8_data;

use super::case::{ExpectedClose, Grade, Obs};
use super::peer::{Ctx, Frame, Script};

/// The script of case `id`, if wsecho implements it.
pub(crate) fn script(id: &str) -> Option<Box<dyn Script>> {
    let group = id.split('.').next()?;
    match group {
        "1" => framing::script(id),
        "2" => pings::script(id),
        "3" => reserved::script(id),
        "4" => opcodes::script(id),
        "5" => fragmentation::script(id),
        "6" => utf8::script(id),
        "7" => close::script(id),
        "9" => limits::script(id),
        "10" => misc::script(id),
        "12" | "13" => compression::script(id),
        _ => None,
    }
}

/// Close codes, by Autobahn's names.
pub(crate) const NORMAL: u16 = 1000;
pub(crate) const PROTOCOL_ERROR: u16 = 1002;
pub(crate) const INVALID_PAYLOAD: u16 = 1007;

/// How a [`Simple`] case ends if the other side does not end it first.
#[derive(Debug, Clone, Copy)]
pub(crate) enum End {
    /// `killAfter`: fail the connection after this many seconds.
    Kill(f64),
    /// `closeAfter`: start the close handshake after this many seconds.
    Close(f64),
    /// `sendClose(1000)` at once, then `closeAfter` (which finds the close begun).
    CloseNow(f64),
}

/// A case that sends `frames` at open, expects `expected`, and ends by `end`.
pub(crate) struct Simple {
    pub(crate) frames: Vec<Frame>,
    pub(crate) expected: Vec<(Grade, Vec<Obs>)>,
    pub(crate) close: ExpectedClose,
    pub(crate) end: End,
}

impl Simple {
    /// Expects `ok` (graded OK) and a clean close started by us with 1000.
    pub(crate) fn echo(frames: Vec<Frame>, ok: Vec<Obs>, end: End) -> Box<dyn Script> {
        Box::new(Simple {
            frames,
            expected: vec![(Grade::Ok, ok)],
            close: ExpectedClose::by_me(NORMAL),
            end,
        })
    }

    /// Expects nothing back, and the other side to fail the connection with `code`.
    pub(crate) fn failed_with(frames: Vec<Frame>, code: u16, end: End) -> Box<dyn Script> {
        Box::new(Simple {
            frames,
            expected: vec![(Grade::Ok, vec![])],
            close: ExpectedClose::by_peer(&[code]),
            end,
        })
    }
}

impl Script for Simple {
    fn open(&mut self, c: &mut Ctx<'_>) {
        c.case.expected = self.expected.clone();
        c.case.expected_close = self.close.clone();
        for f in std::mem::take(&mut self.frames) {
            c.send_frame(f);
        }
        match self.end {
            End::Kill(secs) => c.kill_after(secs),
            End::Close(secs) => c.close_after(secs),
            End::CloseNow(secs) => {
                c.send_close(Some(NORMAL), None);
                c.close_after(secs);
            }
        }
    }
}
