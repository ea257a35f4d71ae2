//! Group 3, reserved bits: a frame with RSV bits set, when no extension gave them a
//! meaning, must fail the connection with 1002. "MUST be 0 unless an extension is
//! negotiated that defines meanings for non-zero values. If a nonzero value is
//! received and none of the negotiated extensions defines the meaning of such a
//! nonzero value, the receiving endpoint MUST _Fail the WebSocket Connection_"
//! (RFC 6455, 5.2). In 3.2 to 3.4 a good text message goes first, to be echoed, and a
//! ping after, which must not be answered; a client that fails the connection before
//! it echoed is NON-STRICT.

use super::{End, PROTOCOL_ERROR, Simple};
use crate::suite::case::{ExpectedClose, Grade, Obs};
use crate::suite::peer::{Frame, Script};

const TEXT: u8 = 1;
const BINARY: u8 = 2;
const CLOSE: u8 = 8;
const PING: u8 = 9;

/// The script of case `id` of group 3, if it is one.
pub(super) fn script(id: &str) -> Option<Box<dyn Script>> {
    let hello = b"Hello, world!";
    let alone = |frame: Frame| Simple::failed_with(vec![frame], PROTOCOL_ERROR, End::Kill(1.0));
    Some(match id {
        "3.1" => alone(Frame::new(TEXT, hello.to_vec()).rsv(1)),
        "3.2" => echo_then_bad(hello, 2, |f| f),
        "3.3" => echo_then_bad(hello, 3, Frame::sync),
        "3.4" => echo_then_bad(hello, 4, |f| f.chop(Some(1))),
        "3.5" => alone(Frame::new(BINARY, b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff".to_vec()).rsv(5)),
        // Autobahn's description says a ping, but its case sends a binary frame.
        "3.6" => alone(Frame::new(BINARY, hello.to_vec()).rsv(6)),
        "3.7" => alone(Frame::new(CLOSE, vec![]).rsv(7)),
        _ => return None,
    })
}

/// A text message, the same with RSV = `rsv`, then an empty ping, each sent as `how`
/// says: the echo of the first is OK, none NON-STRICT; the connection must be failed.
fn echo_then_bad(hello: &[u8], rsv: u8, how: fn(Frame) -> Frame) -> Box<dyn Script> {
    Box::new(Simple {
        frames: vec![
            how(Frame::new(TEXT, hello.to_vec())),
            how(Frame::new(TEXT, hello.to_vec()).rsv(rsv)),
            how(Frame::new(PING, vec![])),
        ],
        expected: vec![
            (Grade::Ok, vec![Obs::text(hello)]),
            (Grade::NonStrict, vec![]),
        ],
        close: ExpectedClose::by_peer(&[PROTOCOL_ERROR]),
        end: End::Kill(1.0),
    })
}
