//! Group 1, framing: text (1.1) and binary (1.2) messages of 0 to 65536 bytes, sent
//! whole or, in x.8, written 997 bytes at a time; each must be echoed.

use super::{End, Simple};
use crate::suite::case::Obs;
use crate::suite::peer::{Frame, Script};

pub(super) fn script(id: &str) -> Option<Box<dyn Script>> {
    let (binary, n) = match id.strip_prefix("1.1.") {
        Some(n) => (false, n),
        None => (true, id.strip_prefix("1.2.")?),
    };
    let n: usize = n.parse().ok()?;
    let len = *[0, 125, 126, 127, 128, 65535, 65536, 65536].get(n.checked_sub(1)?)?;
    let payload = vec![if binary { 0xFE } else { b'*' }; len];
    let expected = if binary {
        Obs::binary(&payload)
    } else {
        Obs::text(&payload)
    };
    let chop = (n == 8).then_some(997);
    let frame = Frame::new(if binary { 2 } else { 1 }, payload).chop(chop);
    let kill = if n <= 5 { 1.0 } else { 10.0 };
    Some(Simple::echo(vec![frame], vec![expected], End::Kill(kill)))
}
