//! The client suite's cases on arbitrary client bytes: the same entry as production (a
//! connection whose request is `/runCase`), the case picked by the input, the clock
//! moving by the schedule so that the cases' timers (kills, closes, pauses) fire.
//!
//! Input: two bytes picking the case, a feeding schedule (see `Schedule::take`), then
//! what the client sends after its request. With the pick's top bit set, the case is a
//! compression case (12.x, 13.x) and the request offers permessage-deflate, one of
//! [`OFFERS`] (or none): the case's acceptance, then our compressed messages and the
//! client's bytes inflated. The driver's rules must hold (see
//! `drive`): status only forward, nothing written once the connection ends, timers
//! acting only when due; and the output stays bounded by what the case sends.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use wsecho::fuzzing::config::Config;
use wsecho_fuzz::drive::{Ending, drive};
use wsecho_fuzz::schedule::Schedule;

/// Cases 1 to 246 (groups 1 to 7) and 301 (10.1.1): group 9's messages of megabytes
/// would make each run slow without reaching other code.
fn case_number(pick: u16) -> u16 {
    match pick % 247 {
        246 => 301,
        n => n + 1,
    }
}

/// The compression case and offer a pick with its top bit set names: the first three
/// cases of each of the twelve subgroups (messages of 16, 64 and 256 bytes, so that a
/// run stays short), and an offer each case accepts or refuses in its own way.
fn compression_case(pick: u16) -> (u16, &'static str) {
    let pick = pick & 0x7fff;
    let n = 302 + (pick % 12) * 18 + (pick / 12) % 3;
    (n, OFFERS[usize::from(pick / 36) % OFFERS.len()])
}

/// The permessage-deflate offers a compression case may get (the empty one: none).
const OFFERS: [&str; 7] = [
    "",
    "permessage-deflate",
    "permessage-deflate; client_max_window_bits",
    "permessage-deflate; client_no_context_takeover; client_max_window_bits=9",
    "permessage-deflate; server_max_window_bits=10, permessage-deflate",
    "permessage-deflate; server_no_context_takeover; client_max_window_bits=8",
    "x-webkit-deflate-frame, permessage-deflate; client_max_window_bits=15",
];

/// The most a case sends: 10.1.1's and 7.1.6's 256 KiB, group 1's 64 KiB, a compression
/// case's 1000 messages of at most 256 bytes, with headers.
const MAX_OUTPUT: usize = 300 << 10;

fn fuzz(data: &[u8]) -> Result<(), String> {
    let Some((pick, rest)) = data.split_first_chunk::<2>() else {
        return Ok(());
    };
    let (mut schedule, body) = Schedule::take(rest);
    let pick16 = u16::from_le_bytes(*pick);
    let (n, offer) = if pick16 & 0x8000 != 0 {
        compression_case(pick16)
    } else {
        (case_number(pick16), "")
    };
    let extensions = if offer.is_empty() {
        String::new()
    } else {
        format!("Sec-WebSocket-Extensions: {offer}\r\n")
    };
    let mut stream = format!(
        "GET /runCase?case={n}&agent=fuzz HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         {extensions}Sec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes();
    stream.extend_from_slice(body);
    let cfg = Arc::new(Config::default());
    let ending = Ending {
        eof: pick[0] & 1 != 0,
        ..Ending::default()
    };
    let run = drive(&cfg, &stream, &mut schedule, ending)?;
    // Pongs answered, and each close reply, come from the client's bytes too.
    let bound = MAX_OUTPUT + 2 * stream.len();
    if run.out.len() > bound {
        return Err(format!(
            "case {n}: {} bytes of output, bound {bound}",
            run.out.len()
        ));
    }
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    if let Err(e) = fuzz(data) {
        panic!("{e}");
    }
});
