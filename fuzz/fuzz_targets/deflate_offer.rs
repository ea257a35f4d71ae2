//! `negotiate` on arbitrary `Sec-WebSocket-Extensions` values under an arbitrary policy.
//!
//! Input: four policy bytes, then header values separated by `\n`. Checked: no panic;
//! the agreed parameters keep RFC 7692's limits; header lines are independent (the
//! first line with an acceptable offer decides); and the response we write, read back
//! as an offer, is accepted with the same parameters — which the RFC makes hold: every
//! value we answer is one the server itself would accept in an offer (§7.1.2: windows
//! 8..=15, flags without values), and re-applying the policy to values already within
//! it changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsecho::fuzzing::deflate::{DeflateParams, DeflatePolicy, negotiate};

fn policy(b: &[u8; 4]) -> DeflatePolicy {
    DeflatePolicy {
        // Out-of-range values on purpose: the policy clamps.
        server_max_window_bits: b[0] % 20,
        client_max_window_bits: b[1] % 20,
        server_no_context_takeover: b[2] & 1 != 0,
        client_no_context_takeover: b[3] & 1 != 0,
    }
}

fn check_limits(p: &DeflateParams, policy: &DeflatePolicy, lines: &[&[u8]]) {
    let server_limit = policy.server_max_window_bits.clamp(9, 15);
    let client_limit = policy.client_max_window_bits.clamp(9, 15);
    assert!(
        (9..=server_limit).contains(&p.server_max_window_bits),
        "{p:?}"
    );
    // 15 when the client did not offer the parameter (nothing may be said then),
    // otherwise within the policy (an offered 8 is kept: the client said it can).
    let client = p.client_max_window_bits;
    assert!(
        client == 15 || (8..=client_limit).contains(&client),
        "{p:?}"
    );
    assert!(p.server_no_context_takeover || !policy.server_no_context_takeover);
    assert!(p.client_no_context_takeover || !policy.client_no_context_takeover);
    // RFC 7692 §7.1.2.2: client_max_window_bits is only answered when offered.
    let offered = lines
        .iter()
        .any(|l| l.windows(22).any(|w| w == b"client_max_window_bits"));
    assert!(p.client_max_window_bits == 15 || offered, "{p:?}");
}

fuzz_target!(|data: &[u8]| {
    let Some((policy_bytes, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let policy = policy(policy_bytes);
    let lines: Vec<&[u8]> = rest.split(|&b| b == b'\n').collect();
    let agreed = negotiate(lines.iter().copied(), &policy);

    // The first line that yields an agreement alone yields the same one.
    let per_line = lines.iter().find_map(|l| negotiate([*l], &policy));
    assert_eq!(agreed, per_line, "lines are not independent");

    let Some(p) = agreed else {
        return;
    };
    check_limits(&p, &policy, &lines);
    let mut response = Vec::new();
    p.write_response(&mut response);
    assert!(response.starts_with(b"permessage-deflate"));
    let again = negotiate([&response[..]], &policy).unwrap_or_else(|| {
        panic!(
            "response {:?} is not acceptable",
            String::from_utf8_lossy(&response)
        )
    });
    // Only "did the client name server_max_window_bits" may change: the response names
    // it whenever the window is below 15.
    let strip = |p: DeflateParams| DeflateParams {
        server_max_window_bits_offered: false,
        ..p
    };
    assert_eq!(
        strip(again),
        strip(p),
        "response {:?}",
        String::from_utf8_lossy(&response)
    );
    // And writing the re-read parameters gives the same response.
    let mut twice = Vec::new();
    again.write_response(&mut twice);
    assert_eq!(twice, response);
});
