//! The client suite's cases on arbitrary client bytes: the same entry as production (a
//! connection whose request is `/runCase`), the case picked by the input, the clock
//! moving by the schedule so that the cases' timers (kills, closes, pauses) fire.
//!
//! Input: two bytes picking the case, a feeding schedule (see `Schedule::take`), then
//! what the client sends after its request. The driver's rules must hold (see
//! `drive`): status only forward, nothing written once the connection ends, timers
//! acting only when due; and the output stays bounded by what the case sends.
#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use wsecho::config::Config;
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

/// The most a case sends: 10.1.1's and 7.1.6's 256 KiB, group 1's 64 KiB, with headers.
const MAX_OUTPUT: usize = 300 << 10;

fn fuzz(data: &[u8]) -> Result<(), String> {
    let Some((pick, rest)) = data.split_first_chunk::<2>() else {
        return Ok(());
    };
    let (mut schedule, body) = Schedule::take(rest);
    let n = case_number(u16::from_le_bytes(*pick));
    let mut stream = format!(
        "GET /runCase?case={n}&agent=fuzz HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
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
