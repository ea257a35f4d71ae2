//! `Utf8Validator` against `std::str::from_utf8`, fed in chunks the input chooses.
//!
//! It must accept exactly what std accepts, and fail fast: in the very chunk that holds
//! the byte which makes the stream invalid whatever follows — not earlier (a valid
//! prefix is not an error) and not later (RFC 6455 §8.1 has the connection failed as
//! soon as the text is known to be invalid; Autobahn 6.4.x checks this).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsecho::fuzzing::utf8::Utf8Validator;
use wsecho_fuzz::schedule::Schedule;

/// The index of the first byte after which `data` can no longer be the start of valid
/// UTF-8, if there is one.
fn first_decisive_byte(data: &[u8]) -> Option<usize> {
    let e = std::str::from_utf8(data).err()?;
    e.error_len()?;
    // std reports the maximal valid subpart; the byte that rules it out is the first
    // one whose prefix std calls definitively invalid (within four bytes of it).
    let start = e.valid_up_to();
    (start..data.len())
        .find(|&i| std::str::from_utf8(&data[start..=i]).is_err_and(|e| e.error_len().is_some()))
}

/// Whether `prefix` ends inside a code point that may still complete.
fn ends_mid_code_point(prefix: &[u8]) -> bool {
    std::str::from_utf8(prefix).is_err_and(|e| e.error_len().is_none())
}

fuzz_target!(|data: &[u8]| {
    let (mut schedule, text) = Schedule::take(data);
    let decisive = first_decisive_byte(text);
    let mut v = Utf8Validator::default();
    let mut end = 0;
    for chunk in schedule.chunks(text) {
        let start = end;
        end += chunk.len();
        let fed = v.feed(chunk);
        match decisive {
            Some(d) if d < end => {
                assert!(
                    fed.is_err(),
                    "byte {d} is invalid but chunk {start}..{end} passed"
                );
                return;
            }
            _ => assert!(
                fed.is_ok(),
                "chunk {start}..{end} refused, yet a valid prefix"
            ),
        }
        assert_eq!(
            v.is_mid_code_point(),
            ends_mid_code_point(&text[..end]),
            "mid code point after {end} bytes"
        );
    }
    assert_eq!(
        decisive, None,
        "every chunk passed, yet byte {decisive:?} is invalid"
    );
    let ok = std::str::from_utf8(text).is_ok();
    assert_eq!(v.finish().is_ok(), ok, "finish disagrees with std");
});
