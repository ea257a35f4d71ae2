//! Group 7, close handling: what the client does with frames after our close (7.1),
//! close frames of every payload length and content (7.3, 7.5), valid and invalid close
//! codes (7.7, 7.9), and codes the spec leaves undefined (7.13, informational).
//!
//! Every case but 7.1.6 and 7.13.x counts a wrong close code from the client as a
//! failure of the case itself (Autobahn's `onConnectionLost` there).

use super::{NORMAL, PROTOCOL_ERROR};
use crate::suite::case::{ExpectedClose, Grade, Obs, Verdict};
use crate::suite::peer::{Ctx, Facts, Frame, Script};

const INVALID_PAYLOAD: u16 = 1007;

/// Valid close codes the cases 7.7.1 to 7.7.13 send.
const VALID_CODES: [u16; 13] = [
    1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999,
];
/// Invalid close codes the cases 7.9.1 to 7.9.9 send.
const INVALID_CODES: [u16; 9] = [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999];

/// A reason that is not UTF-8 (U+D800, a surrogate, in the middle: `ed a0 80`).
const BAD_REASON: &[u8] =
    b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64";

/// One thing a close case sends, in order.
enum Act {
    Frame(Frame),
    /// Autobahn's `sendClose(code, reason)`.
    Close(u16, Option<String>),
    /// Autobahn's `sendCloseFrame(code, reason)`, as given.
    CloseFrame(Option<u16>, Option<Vec<u8>>),
}

/// How the case amends Autobahn's grading once the connection is gone.
#[derive(Clone, Copy)]
enum Amend {
    /// A wrong close code fails the case.
    WrongCodeFails,
    /// 7.1.6: whichever came first is informational.
    EchoOrClose,
    /// 7.13.x: what happens is undefined by the spec.
    Undefined,
}

struct CloseCase {
    acts: Vec<Act>,
    expected: Vec<(Grade, Vec<Obs>)>,
    close: ExpectedClose,
    amend: Amend,
    /// Messages received do not make us close (Autobahn's `suppressClose`: every case
    /// of the group sends its own close, but 7.7 and 7.9 do not say so).
    suppress: bool,
}

impl Script for CloseCase {
    fn open(&mut self, c: &mut Ctx<'_>) {
        c.case.expected = self.expected.clone();
        c.case.expected_close = self.close.clone();
        c.case.suppress_close = self.suppress;
        for act in std::mem::take(&mut self.acts) {
            match act {
                Act::Frame(f) => c.send_frame(f),
                Act::Close(code, reason) => c.send_close(Some(code), reason.as_deref()),
                Act::CloseFrame(code, reason) => c.send_close_frame(code, reason.as_deref()),
            }
        }
        c.kill_after(1.0);
    }

    fn amend(&mut self, v: &mut Verdict, _facts: &Facts) {
        match self.amend {
            Amend::WrongCodeFails => {
                if v.behavior_close == Grade::WrongCode {
                    v.behavior = Grade::Failed;
                    v.result = v.result_close.clone();
                }
            }
            Amend::EchoOrClose => {
                match v.behavior {
                    Grade::Ok => v.result = "Text message was processed before close.".into(),
                    Grade::NonStrict => {
                        v.result =
                            "Close was processed before text message could be returned.".into()
                    }
                    _ => {}
                }
                v.behavior = Grade::Informational;
                v.behavior_close = Grade::Informational;
            }
            Amend::Undefined => {
                v.behavior = Grade::Informational;
                v.behavior_close = Grade::Informational;
                v.result = "Actual events are undefined by the spec.".into();
            }
        }
    }
}

/// We close; the client must answer cleanly with one of `codes`.
fn clean(acts: Vec<Act>, codes: &[u16]) -> CloseCase {
    CloseCase {
        acts,
        expected: vec![(Grade::Ok, vec![])],
        close: ExpectedClose {
            codes: codes.to_vec(),
            ..ExpectedClose::by_me(NORMAL)
        },
        amend: Amend::WrongCodeFails,
        suppress: true,
    }
}

/// We send a bad close; the client must fail the connection with one of `codes` (or
/// drop TCP).
fn refused(acts: Vec<Act>, codes: &[u16]) -> CloseCase {
    CloseCase {
        acts,
        expected: vec![(Grade::Ok, vec![])],
        close: ExpectedClose {
            closed_by_me: true,
            codes: codes.to_vec(),
            require_clean: false,
            wrong_side_is_fatal: false,
        },
        amend: Amend::WrongCodeFails,
        suppress: true,
    }
}

pub(super) fn script(id: &str) -> Option<Box<dyn Script>> {
    let hello = || Frame::new(1, b"Hello World!".to_vec());
    let close = |reason: Option<&str>| Act::Close(NORMAL, reason.map(str::to_string));
    let case = match id {
        "7.1.1" => CloseCase {
            acts: vec![Act::Frame(hello())],
            expected: vec![(Grade::Ok, vec![Obs::text(b"Hello World!")])],
            close: ExpectedClose::by_me(NORMAL),
            amend: Amend::WrongCodeFails,
            suppress: false,
        },
        "7.1.2" => clean(
            vec![close(None), Act::Frame(Frame::new(8, vec![]))],
            &[NORMAL],
        ),
        "7.1.3" => clean(
            vec![close(None), Act::Frame(Frame::new(9, vec![]))],
            &[NORMAL],
        ),
        "7.1.4" => clean(vec![close(None), Act::Frame(hello())], &[NORMAL]),
        "7.1.5" => clean(
            vec![
                Act::Frame(Frame::new(1, b"fragment1".to_vec()).fin(false)),
                close(None),
                Act::Frame(Frame::new(0, b"fragment2".to_vec())),
            ],
            &[NORMAL],
        ),
        "7.1.6" => CloseCase {
            acts: vec![
                Act::Frame(Frame::new(1, b"BAsd7&jh23".to_vec()).repeat_to(256 << 10)),
                Act::Frame(hello()),
                close(None),
                Act::Frame(Frame::new(9, vec![])),
            ],
            expected: vec![
                (Grade::Ok, vec![Obs::text(b"Hello World!")]),
                (Grade::NonStrict, vec![]),
            ],
            close: ExpectedClose::by_me(NORMAL),
            amend: Amend::EchoOrClose,
            suppress: true,
        },
        "7.3.1" => clean(vec![Act::CloseFrame(None, None)], &[NORMAL]),
        "7.3.2" => refused(
            vec![Act::CloseFrame(None, Some(b"a".to_vec()))],
            &[PROTOCOL_ERROR],
        ),
        "7.3.3" => clean(vec![close(None)], &[NORMAL]),
        "7.3.4" => clean(vec![close(Some("Hello World!"))], &[NORMAL]),
        "7.3.5" => clean(vec![close(Some(&"*".repeat(123)))], &[NORMAL]),
        // A close frame of 126 bytes: over the 125 a control frame may carry.
        "7.3.6" => refused(
            vec![Act::CloseFrame(Some(NORMAL), Some(vec![b'*'; 124]))],
            &[PROTOCOL_ERROR],
        ),
        "7.5.1" => refused(
            vec![Act::CloseFrame(Some(NORMAL), Some(BAD_REASON.to_vec()))],
            &[PROTOCOL_ERROR, INVALID_PAYLOAD],
        ),
        "7.13.1" | "7.13.2" => {
            let code = if id == "7.13.1" { 5000 } else { 65535 };
            CloseCase {
                acts: vec![Act::CloseFrame(Some(code), None)],
                expected: vec![(Grade::Ok, vec![])],
                close: ExpectedClose {
                    closed_by_me: true,
                    codes: vec![NORMAL, code, PROTOCOL_ERROR],
                    require_clean: false,
                    wrong_side_is_fatal: false,
                },
                amend: Amend::Undefined,
                suppress: true,
            }
        }
        _ => {
            let nth = |prefix: &str| -> Option<usize> {
                id.strip_prefix(prefix)?
                    .parse::<usize>()
                    .ok()?
                    .checked_sub(1)
            };
            if let Some(&code) = nth("7.7.").and_then(|i| VALID_CODES.get(i)) {
                CloseCase {
                    suppress: false,
                    ..clean(vec![Act::CloseFrame(Some(code), None)], &[NORMAL, code])
                }
            } else if let Some(&code) = nth("7.9.").and_then(|i| INVALID_CODES.get(i)) {
                CloseCase {
                    suppress: false,
                    ..refused(vec![Act::CloseFrame(Some(code), None)], &[PROTOCOL_ERROR])
                }
            } else {
                return None;
            }
        }
    };
    Some(Box::new(case))
}
