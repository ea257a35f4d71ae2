//! Group 4, opcodes: a frame with a reserved opcode, non-control (3 to 7, 4.1.x) or
//! control (11 to 15, 4.2.x), must fail the connection with 1002: "If an unknown opcode
//! is received, the receiving endpoint MUST _Fail the WebSocket Connection_" (RFC 6455,
//! 5.2). In x.3 to x.5 a good text message goes first, to be echoed, and a ping after,
//! which must not be answered; a client that fails the connection before it echoed is
//! NON-STRICT. x.5 writes every frame an octet at a time.

use super::{End, PROTOCOL_ERROR, Simple};
use crate::suite::case::{ExpectedClose, Grade, Obs};
use crate::suite::peer::{Frame, Script};

const TEXT: u8 = 1;
const PING: u8 = 9;

/// The script of case `id` of group 4, if it is one.
pub(super) fn script(id: &str) -> Option<Box<dyn Script>> {
    let (base, n) = match id.strip_prefix("4.1.") {
        Some(n) => (3, n),
        None => (11, id.strip_prefix("4.2.")?),
    };
    let n: u8 = n.parse().ok()?;
    if !(1..=5).contains(&n) {
        return None;
    }
    let opcode = base + n - 1;
    let hello = b"Hello, world!";
    Some(match n {
        1 => alone(Frame::new(opcode, vec![])),
        2 => alone(Frame::new(opcode, b"reserved opcode payload".to_vec())),
        _ => {
            let payload = if n == 3 { vec![] } else { hello.to_vec() };
            let chop = (n == 5).then_some(1);
            Box::new(Simple {
                frames: vec![
                    Frame::new(TEXT, hello.to_vec()).chop(chop),
                    Frame::new(opcode, payload).chop(chop),
                    Frame::new(PING, vec![]).chop(chop),
                ],
                expected: vec![
                    (Grade::Ok, vec![Obs::text(hello)]),
                    (Grade::NonStrict, vec![]),
                ],
                close: ExpectedClose::by_peer(&[PROTOCOL_ERROR]),
                end: End::Kill(1.0),
            })
        }
    })
}

/// The reserved frame alone: nothing may come back, the connection must be failed.
fn alone(frame: Frame) -> Box<dyn Script> {
    Simple::failed_with(vec![frame], PROTOCOL_ERROR, End::Kill(1.0))
}
