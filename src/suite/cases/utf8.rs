//! Group 6, UTF-8 handling: text messages valid or not, whole or in fragments cut on
//! code points and within them; each valid one must be echoed, each invalid one must
//! make the client fail the connection with 1007.
//!
//! RFC 6455 section 8.1: "When an endpoint is to interpret a byte stream as UTF-8 but
//! finds that the byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST
//! _Fail the WebSocket Connection_." Autobahn also asks that the client find out as soon
//! as the text goes wrong (6.4.x, "fail fast"), and grades finding out only at the
//! message's end NON-STRICT; a client that never finds out fails the case (its
//! `closedByWrongEndpointIsFatal`).

use super::{End, INVALID_PAYLOAD, Simple, utf8_data};
use crate::suite::case::{ExpectedClose, Grade, Obs};
use crate::suite::peer::{Ctx, Frame, Script, State};

const TEXT: u8 = 1;
const CONTINUATION: u8 = 0;

/// Autobahn's 6.2.x message: "Hello-µ@ßöäüàá-UTF-8!!", its file's UTF-8.
const HELLO: &str = "Hello-\u{b5}@\u{df}\u{f6}\u{e4}\u{fc}\u{e0}\u{e1}-UTF-8!!";
/// "κόσμε" (Greek, kosme), of 2- and 3-byte code points: Autobahn's valid start of
/// 6.2.4, 6.3.x and 6.4.x.
const KOSME: &[u8] = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";
/// 6.3.x: KOSME, then a lone surrogate (U+D800: invalid at its second byte, the
/// message's byte 12 counted from 0), then "edited".
const KOSME_SURROGATE: &[u8] = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited";
/// 6.4.x: KOSME, then U+110000 in the UTF-8 scheme (out of range: invalid at its
/// second byte, the message's byte 12 counted from 0), then "edited".
const KOSME_TOO_BIG: &[u8] = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80edited";

pub(super) fn script(id: &str) -> Option<Box<dyn Script>> {
    let text = |payload: &[u8]| Frame::new(TEXT, payload.to_vec());
    let more = |payload: &[u8]| Frame::new(CONTINUATION, payload.to_vec());
    Some(match id {
        "6.1.1" => Simple::echo(vec![text(b"")], vec![Obs::text(b"")], End::Close(1.0)),
        "6.1.2" => Simple::echo(
            vec![text(b"").fin(false), more(b"").fin(false), more(b"")],
            vec![Obs::text(b"")],
            End::Close(1.0),
        ),
        "6.1.3" => {
            let middle = b"middle frame payload";
            Simple::echo(
                vec![text(b"").fin(false), more(middle).fin(false), more(b"")],
                vec![Obs::text(middle)],
                End::Close(1.0),
            )
        }
        "6.2.1" => echoed(
            fragments(HELLO.as_bytes(), None),
            HELLO.as_bytes(),
            End::Close(1.0),
        ),
        "6.2.2" => {
            // Cut on a code point: after "ä".
            let (first, second) = HELLO.split_at(HELLO.find('\u{fc}')?);
            echoed(
                vec![text(first.as_bytes()).fin(false), more(second.as_bytes())],
                HELLO.as_bytes(),
                End::Close(1.0),
            )
        }
        "6.2.3" => echoed(
            fragments(HELLO.as_bytes(), Some(1)),
            HELLO.as_bytes(),
            End::Close(1.0),
        ),
        "6.2.4" => echoed(fragments(KOSME, Some(1)), KOSME, End::Close(1.0)),
        "6.3.1" => refused(fragments(KOSME_SURROGATE, None), 1.0),
        "6.3.2" => refused(fragments(KOSME_SURROGATE, Some(1)), 1.0),
        "6.4.1" => FailFast::boxed(split3(KOSME_TOO_BIG, 11, 15), false),
        "6.4.2" => FailFast::boxed(split3(KOSME_TOO_BIG, 12, 13), false),
        "6.4.3" => FailFast::boxed(split3(KOSME_TOO_BIG, 11, 15), true),
        "6.4.4" => FailFast::boxed(split3(KOSME_TOO_BIG, 12, 13), true),
        _ => {
            let &(_, valid, payload) = utf8_data::SEQUENCES.iter().find(|(i, _, _)| *i == id)?;
            let frames = fragments(payload, None);
            if valid {
                echoed(frames, payload, End::Kill(0.5))
            } else {
                refused(frames, 0.5)
            }
        }
    })
}

/// A valid text message sent as `frames`, to be echoed whole as `payload`, and the
/// case's timer.
fn echoed(frames: Vec<Frame>, payload: &[u8], end: End) -> Box<dyn Script> {
    Simple::echo(frames, vec![Obs::text(payload)], end)
}

/// What an invalid text message must get: nothing back, and the client failing the
/// connection with 1007. A client that lets the case's timer end it never saw that
/// the text was invalid: the case fails.
fn refused(frames: Vec<Frame>, kill: f64) -> Box<dyn Script> {
    Box::new(Simple {
        frames,
        expected: vec![(Grade::Ok, vec![])],
        close: invalid_payload_close(),
        end: End::Kill(kill),
    })
}

fn invalid_payload_close() -> ExpectedClose {
    ExpectedClose {
        wrong_side_is_fatal: true,
        ..ExpectedClose::by_peer(&[INVALID_PAYLOAD])
    }
}

/// A text message as Autobahn's `sendMessage` frames it: one frame, or with a
/// `fragment_size` frames of that many bytes. Its loop stops at the first cut past the
/// end, so that a length that is a multiple of the size ends with an empty frame.
fn fragments(payload: &[u8], fragment_size: Option<usize>) -> Vec<Frame> {
    let size = match fragment_size {
        Some(size) if size > 0 && payload.len() > size => size,
        _ => return vec![Frame::new(TEXT, payload.to_vec())],
    };
    let mut frames = Vec::new();
    let mut at = 0;
    loop {
        let end = at + size;
        let done = end > payload.len();
        let piece = payload[at..end.min(payload.len())].to_vec();
        let opcode = if at == 0 { TEXT } else { CONTINUATION };
        frames.push(Frame::new(opcode, piece).fin(done));
        if done {
            return frames;
        }
        at = end;
    }
}

/// `payload` cut at `a` and `b`.
fn split3(payload: &[u8], a: usize, b: usize) -> [Vec<u8>; 3] {
    [
        payload[..a].to_vec(),
        payload[a..b].to_vec(),
        payload[b..].to_vec(),
    ]
}

/// The 6.4.x cases: a text message invalid in its second part, sent in three parts a
/// second apart, as three frames or as three pieces of one frame. A client that fails
/// fast fails the connection on the second part, before the case marks the second
/// wait ("B"); one that waits for the message's end gets the third part and fails it
/// then (NON-STRICT).
struct FailFast {
    parts: [Vec<u8>; 3],
    /// The parts are pieces of one frame's payload (Autobahn's `beginMessageFrame`
    /// and `sendMessageFrameData`), not frames of their own.
    one_frame: bool,
}

impl FailFast {
    fn boxed(parts: [Vec<u8>; 3], one_frame: bool) -> Box<dyn Script> {
        Box::new(FailFast { parts, one_frame })
    }

    /// Sends part `i` (0, 1, 2).
    fn send_part(&mut self, c: &mut Ctx<'_>, i: usize) {
        let part = std::mem::take(&mut self.parts[i]);
        if self.one_frame {
            c.send_data(part);
            if i == 2 {
                // Autobahn's `endMessage`: an empty final continuation frame.
                c.send_frame(Frame::new(CONTINUATION, Vec::new()));
            }
        } else {
            let opcode = if i == 0 { TEXT } else { CONTINUATION };
            c.send_frame(Frame::new(opcode, part).fin(i == 2));
        }
    }
}

impl Script for FailFast {
    fn open(&mut self, c: &mut Ctx<'_>) {
        c.case.expected = vec![
            (Grade::Ok, vec![Obs::Timeout("A")]),
            (Grade::NonStrict, vec![Obs::Timeout("A"), Obs::Timeout("B")]),
        ];
        c.case.expected_close = invalid_payload_close();
        if self.one_frame {
            // Autobahn's `beginMessageFrame`, unmasked from the server: a text frame
            // without FIN, its length the whole message's (under 126 here).
            let len: usize = self.parts.iter().map(Vec::len).sum();
            c.send_data(vec![TEXT, len as u8]);
        }
        self.send_part(c, 0);
        c.later(1.0, 1);
    }

    fn step(&mut self, c: &mut Ctx<'_>, step: u8) {
        // Autobahn's steps act only while the connection is open.
        if c.state() != State::Open {
            return;
        }
        match step {
            1 => {
                c.case.received.push(Obs::Timeout("A"));
                self.send_part(c, 1);
                c.later(1.0, 2);
            }
            _ => {
                c.case.received.push(Obs::Timeout("B"));
                self.send_part(c, 2);
                c.kill_after(1.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_of_the_group_has_a_script() {
        let ids = crate::suite::catalog::CASES
            .iter()
            .map(|c| c.id)
            .filter(|id| id.starts_with("6."));
        let mut n = 0;
        for id in ids {
            assert!(script(id).is_some(), "{id}");
            n += 1;
        }
        assert_eq!(n, 145);
    }

    #[test]
    fn the_table_judges_validity_as_rust_does() {
        for (id, valid, payload) in utf8_data::SEQUENCES {
            assert_eq!(std::str::from_utf8(payload).is_ok(), valid, "{id}");
        }
        // Both are valid up to the bad code point at byte 11, which its next byte
        // makes invalid.
        let valid_up_to = |b: &[u8]| {
            std::str::from_utf8(b)
                .map(str::len)
                .map_err(|e| e.valid_up_to())
        };
        assert_eq!(valid_up_to(KOSME_SURROGATE), Err(11));
        assert_eq!(valid_up_to(KOSME_TOO_BIG), Err(11));
        assert_eq!(
            std::str::from_utf8(&KOSME_TOO_BIG[..12]).map_err(|e| e.error_len()),
            Err(None),
            "6.4.2's first part ends within a code point"
        );
    }

    #[test]
    fn fragments_end_with_an_empty_frame_when_the_size_divides_the_length() {
        let frames = fragments(b"abc", Some(1));
        let shape: Vec<(u8, bool, usize)> = frames
            .iter()
            .map(|f| (f.opcode, f.fin, f.payload.len()))
            .collect();
        assert_eq!(
            shape,
            vec![(1, false, 1), (0, false, 1), (0, false, 1), (0, true, 0)]
        );
        let frames = fragments(b"abcde", Some(2));
        let shape: Vec<(bool, usize)> = frames.iter().map(|f| (f.fin, f.payload.len())).collect();
        assert_eq!(shape, vec![(false, 2), (false, 2), (true, 1)]);
        assert_eq!(fragments(b"ab", Some(2)).len(), 1);
    }
}
