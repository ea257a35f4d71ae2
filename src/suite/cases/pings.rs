//! Group 2, pings and pongs: each ping must be answered by a pong with its payload;
//! unsolicited pongs are ignored; a ping of 126 bytes fails the connection.

use super::{End, PROTOCOL_ERROR, Simple};
use crate::suite::case::Obs;
use crate::suite::peer::{Frame, Script};

const PING: u8 = 9;
const PONG: u8 = 10;

pub(super) fn script(id: &str) -> Option<Box<dyn Script>> {
    let ping = |payload: &[u8]| Frame::new(PING, payload.to_vec());
    let answered = |payload: &[u8], end: f64| {
        Simple::echo(
            vec![ping(payload)],
            vec![Obs::pong(payload)],
            End::Close(end),
        )
    };
    let unsolicited = b"unsolicited pong payload";
    Some(match id {
        "2.1" => answered(b"", 1.0),
        "2.2" => answered(b"Hello, world!", 1.0),
        "2.3" => answered(b"\x00\xff\xfe\xfd\xfc\xfb\x00\xff", 1.0),
        "2.4" => answered(&[0xFE; 125], 1.0),
        "2.5" => Simple::failed_with(vec![ping(&[0xFE; 126])], PROTOCOL_ERROR, End::Kill(1.0)),
        "2.6" => Simple::echo(
            vec![ping(&[0xFE; 125]).chop(Some(1))],
            vec![Obs::pong(&[0xFE; 125])],
            End::Close(2.0),
        ),
        // An unsolicited pong, then our close at once.
        "2.7" => Simple::echo(vec![Frame::new(PONG, vec![])], vec![], End::CloseNow(1.0)),
        "2.8" => Simple::echo(
            vec![Frame::new(PONG, unsolicited.to_vec())],
            vec![],
            End::CloseNow(1.0),
        ),
        "2.9" => Simple::echo(
            vec![
                Frame::new(PONG, unsolicited.to_vec()),
                ping(b"ping payload"),
            ],
            vec![Obs::pong(b"ping payload")],
            End::Close(1.0),
        ),
        "2.10" | "2.11" => {
            let chop = (id == "2.11").then_some(1);
            let payloads: Vec<Vec<u8>> = (0..10)
                .map(|i| format!("payload-{i}").into_bytes())
                .collect();
            Simple::echo(
                payloads.iter().map(|p| ping(p).chop(chop)).collect(),
                payloads.iter().map(|p| Obs::pong(p)).collect(),
                End::Close(3.0),
            )
        }
        _ => return None,
    })
}
