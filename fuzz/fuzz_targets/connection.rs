//! The whole connection state machine on an arbitrary byte stream.
//!
//! Input: two flag bytes, a feeding schedule (see `Schedule::take`), then the stream.
//! The stream is fed twice — by the schedule with the clock moving, and in one read —
//! and both runs are checked against what a strict client would accept. The runs must
//! agree on every settled message, pong and close; where a deadline ended the first
//! run early, what it said must be the start of what the second said.
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use wsecho::fuzzing::config::Config;
use wsecho::fuzzing::connection::{Event, Status};
use wsecho::fuzzing::deflate::DeflatePolicy;
use wsecho::fuzzing::handshake::{Decision, decide};
use wsecho_fuzz::client::{UPGRADES, upgrade_request};
use wsecho_fuzz::drive::{Ending, Run, drive};
use wsecho_fuzz::output::{self, Http, Item};
use wsecho_fuzz::schedule::Schedule;

// First flag byte.
/// The stream starts with a valid request (bits 1-2 pick which), so the frame path is
/// reached without the fuzzer having to find a handshake.
const PREFIX_UPGRADE: u8 = 1 << 0;
/// The server allows permessage-deflate (the other mode: deflate off).
const DEFLATE: u8 = 1 << 3;
/// Echoes under 64 bytes go back uncompressed.
const MIN_SIZE: u8 = 1 << 4;
/// The server insists on no context takeover both ways.
const NO_TAKEOVER: u8 = 1 << 5;
/// The peer shuts down its side after the stream.
const EOF: u8 = 1 << 6;
/// 1 KiB messages and 512-byte frames instead of 64 KiB for both.
const TINY_LIMITS: u8 = 1 << 7;
// Second flag byte.
/// Keepalive pings after 1 s of silence, dropped 2 s after an unanswered one.
const KEEPALIVE: u8 = 1 << 0;
/// Closed with 1001 after 5 s of silence.
const IDLE: u8 = 1 << 1;
/// The server shuts down after the stream.
const SHUTDOWN: u8 = 1 << 2;

fn config(flags: u8, flags2: u8) -> Config {
    let tiny = flags & TINY_LIMITS != 0;
    let no_takeover = flags & NO_TAKEOVER != 0;
    Config {
        max_message_size: if tiny { 1 << 10 } else { 64 << 10 },
        max_frame_size: if tiny { 512 } else { 64 << 10 },
        max_header_bytes: 2048,
        handshake_timeout: Duration::from_secs(10),
        close_timeout: Duration::from_secs(3),
        idle_timeout: (flags2 & IDLE != 0).then_some(Duration::from_secs(5)),
        ping_interval: (flags2 & KEEPALIVE != 0).then_some(Duration::from_secs(1)),
        ping_timeout: Duration::from_secs(2),
        deflate: (flags & DEFLATE != 0).then_some(DeflatePolicy {
            server_no_context_takeover: no_takeover,
            client_no_context_takeover: no_takeover,
            ..DeflatePolicy::default()
        }),
        deflate_level: 6,
        deflate_min_size: if flags & MIN_SIZE != 0 { 64 } else { 0 },
        ..Config::default()
    }
}

/// The size of the page a plain GET gets, measured once.
fn landing_page_len() -> usize {
    static LEN: OnceLock<usize> = OnceLock::new();
    *LEN.get_or_init(|| {
        let get = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        let Decision::Reply(page) = decide(get, &Config::default()) else {
            panic!("a plain GET is not upgraded");
        };
        let mut out = Vec::new();
        page.write_to(&mut out);
        out.len()
    })
}

/// The most output `input_len` bytes fed in `calls` calls can produce.
fn output_bound(cfg: &Config, input_len: usize, calls: usize) -> usize {
    // The HTTP answer: a 101 with its extension header, the fixed landing page, or an
    // error whose body may quote a header value (at most the whole head).
    let http = landing_page_len().max(1024 + cfg.max_header_bytes);
    // Every client frame costs at least 6 bytes (2 of header, 4 of mask key).
    let frames = input_len / 6 + 1;
    // Each call can cut each frame once, and each piece is echoed as a frame of its own
    // (header at most 10 bytes); the payload bytes themselves are echoed once; a
    // keepalive ping per call at most.
    let pieces = frames + calls;
    let plain = input_len + 10 * pieces + 127 * calls;
    let close = 2 + 125;
    let mut bound = http + plain + close;
    if cfg.deflate.is_some() {
        let max_msg = usize::try_from(cfg.max_message_size).unwrap_or(usize::MAX);
        // Inflation stops at the message limit; and DEFLATE cannot expand more than
        // 258 bytes per 2 bits (1032x), counting the 4-byte tail appended per message.
        let inflated = (frames * max_msg).min(1032 * (input_len + 4 * frames));
        // Re-compressing costs at most a stored-block header per 16 KiB plus a flush.
        bound += inflated + inflated / 64 + 64 * frames + 10 * pieces;
    }
    bound
}

/// Checks one run's output and events; returns what a client would make of them.
fn check(run: &Run, cfg: &Config, input_len: usize) -> Result<(Http, Vec<Item>), String> {
    let bound = output_bound(cfg, input_len, run.calls);
    if run.out.len() > bound {
        return Err(format!("{} bytes of output, bound {bound}", run.out.len()));
    }
    let (http, frames) = output::split_http(&run.out)?;
    let frames = output::parse_frames(frames)?;
    let deflate = match &http {
        Http::Upgraded { extensions } => extensions.is_some(),
        _ => false,
    };
    if deflate && cfg.deflate.is_none() {
        return Err("deflate agreed while disabled".into());
    }
    let items = output::items(&frames, deflate, cfg.max_message_size)?;
    check_events(run, &http, &items)?;
    Ok((http, items))
}

/// The events must tell the same story as the bytes.
fn check_events(run: &Run, http: &Http, items: &[Item]) -> Result<(), String> {
    let opened = run.events.iter().any(|e| matches!(e, Event::Opened { .. }));
    if opened != matches!(http, Http::Upgraded { .. }) {
        return Err(format!("Opened event {opened} but HTTP {http:?}"));
    }
    let close = items.iter().find_map(|i| match i {
        Item::Close(p) => Some(p.as_slice()),
        _ => None,
    });
    let close_code = close.map(|p| p.get(..2).map(|c| u16::from_be_bytes([c[0], c[1]])));
    for e in &run.events {
        let expected = match e {
            Event::Refused { status, .. }
                if *http
                    != Http::Refused {
                        status: status.code(),
                    } =>
            {
                return Err(format!("Refused {status} but HTTP {http:?}"));
            }
            Event::ServedPage if *http != Http::Refused { status: 200 } => {
                return Err(format!("ServedPage but HTTP {http:?}"));
            }
            Event::Failed { error, at } => {
                // A violation is always inside a frame the client began.
                if at.frame == 0 {
                    return Err(format!("{error:?} located before any frame: {at:?}"));
                }
                Some(Some(error.close_code().as_u16()))
            }
            Event::PeerClosed { code } => Some(code.map(|c| c.as_u16())),
            Event::ServerClosed { code, .. } => Some(Some(code.as_u16())),
            _ => continue,
        };
        if close_code != expected {
            return Err(format!("{e:?} but close payload {close:?}"));
        }
    }
    if close.is_some() && run.status == Status::Open {
        return Err("close frame sent but the connection is still open".into());
    }
    Ok(())
}

/// Compares the scheduled run with the one-read run.
fn compare(chunked: (&Run, Http, Vec<Item>), whole: (Http, Vec<Item>)) -> Result<(), String> {
    let (run, http, items) = chunked;
    let (whole_http, whole_items) = whole;
    let (mut a, b) = (output::settled(&items), output::settled(&whole_items));
    if !run.cut_by_clock {
        if http != whole_http || a != b {
            return Err(format!(
                "runs differ:\nchunked {http:?} {a:?}\nwhole   {whole_http:?} {b:?}"
            ));
        }
        return Ok(());
    }
    // Only a prefix of the stream counted; the server's own idle close is not an echo.
    if http == Http::Nothing {
        return Ok(());
    }
    if run
        .events
        .iter()
        .any(|e| matches!(e, Event::ServerClosed { .. }))
    {
        a.pop_if(|i| matches!(i, Item::Close(_)));
    }
    if http != whole_http || !b.starts_with(&a) {
        return Err(format!(
            "cut run is no prefix:\nchunked {http:?} {a:?}\nwhole   {whole_http:?} {b:?}"
        ));
    }
    Ok(())
}

fn fuzz(data: &[u8]) -> Result<(), String> {
    let Some((&[flags, flags2], rest)) = data.split_first_chunk::<2>() else {
        return Ok(());
    };
    let (mut schedule, body) = Schedule::take(rest);
    let mut stream = Vec::new();
    if flags & PREFIX_UPGRADE != 0 {
        stream = upgrade_request(UPGRADES[usize::from((flags >> 1) & 0b11)]);
    }
    stream.extend_from_slice(body);
    let cfg = Arc::new(config(flags, flags2));
    if request_target(&stream).is_some_and(wsecho::fuzzing::suite::request::is_suite_path) {
        // The client suite speaks there, not the echo: the oracle below does not apply
        // (the `suite` target fuzzes it).
        drive(&cfg, &stream, &mut schedule, Ending::default())?;
        return Ok(());
    }
    let asked = asked_behaviour(&stream);
    let ending = Ending {
        server_close: flags2 & SHUTDOWN != 0,
        eof: flags & EOF != 0,
        output_may_be_held: asked.as_ref().is_some_and(holds_output),
    };

    let chunked = drive(&cfg, &stream, &mut schedule, ending)?;
    if asked.as_ref().is_some_and(is_timed) {
        // Output made by the clock (pings, `send=` messages, held echoes, a reset) differs
        // between runs fed differently and is not bounded by the input: each run is
        // checked for what a client would accept, not compared.
        let whole = drive(&cfg, &stream, &mut Schedule::whole(), ending)?;
        for (run, name) in [(&chunked, "scheduled"), (&whole, "one-read")] {
            let (http, frames) =
                output::split_http(&run.out).map_err(|e| format!("{name}: {e}"))?;
            let deflate = matches!(
                http,
                Http::Upgraded {
                    extensions: Some(_)
                }
            );
            let frames = output::parse_frames(frames).map_err(|e| format!("{name}: {e}"))?;
            output::items(&frames, deflate, u64::MAX).map_err(|e| format!("{name}: {e}"))?;
        }
        return Ok(());
    }
    let (http, items) =
        check(&chunked, &cfg, stream.len()).map_err(|e| format!("scheduled run: {e}"))?;
    let whole = drive(&cfg, &stream, &mut Schedule::whole(), ending)?;
    let whole = check(&whole, &cfg, stream.len()).map_err(|e| format!("one-read run: {e}"))?;
    compare((&chunked, http, items), whole)
}

/// The request target of the stream's first line, if it is text.
fn request_target(stream: &[u8]) -> Option<&str> {
    let line = stream.split(|&b| b == b'\n').next().unwrap_or_default();
    let target = line.split(|&b| b == b' ').nth(1)?;
    std::str::from_utf8(target).ok()
}

/// The behaviour the stream's request asks for, if it is one that parses.
fn asked_behaviour(stream: &[u8]) -> Option<wsecho::fuzzing::handshake::Behaviour> {
    wsecho::fuzzing::handshake::behaviour::parse(request_target(stream)?)
        .ok()
        .flatten()
}

/// Whether `b` may hold output back: for its time (`?delay=`, `?handshake-delay=`), or
/// behind a `?send=` message partway out.
fn holds_output(b: &wsecho::fuzzing::handshake::Behaviour) -> bool {
    b.delay.is_some() || b.handshake_delay.is_some() || b.send.is_some()
}

/// Whether `b` acts over time or ends the connection by itself (`?ping=`, `?delay=`,
/// `?send=`, `?abort`, ...).
fn is_timed(b: &wsecho::fuzzing::handshake::Behaviour) -> bool {
    b.ping.is_some()
        || b.delay.is_some()
        || b.handshake_delay.is_some()
        || b.send.is_some()
        || b.end.is_some()
        || b.ping_between
}

fuzz_target!(|data: &[u8]| {
    if let Err(e) = fuzz(data) {
        panic!("{e}");
    }
});
