//! permessage-deflate (RFC 7692) negotiation against the real binary: every parameter
//! combination offered, the exact `Sec-WebSocket-Extensions` answer checked, then real
//! traffic compressed and inflated the way the agreement says (with the window checked
//! by the block walker of `common::deflate`, whose test is here too).

mod common;

use flate2::{Compress, Compression};

use common::deflate::*;
use common::*;

// ---------------------------------------------------------------------------------------
// The checker itself
// ---------------------------------------------------------------------------------------

#[test]
fn window_checks_can_fail() {
    // Repeats 2100 bytes apart compressed with a 15-bit window: the block walk sees
    // 2100-byte references, so a 9..11-bit agreement fails and 12 passes.
    let data = repeated_noise(2100, 2, 3);
    let payload = compress_message(&mut deflater(15), &data);
    assert!(payload.len() < data.len() * 3 / 4, "repeats were not found");
    assert_eq!(inflate_message(&mut inflater(15), &payload).unwrap(), data);
    for bits in 9..=11 {
        let err = check_window(&payload, bits, data.len()).unwrap_err();
        assert!(err.contains("exceeds the agreed"), "{err}");
    }
    check_window(&payload, 12, data.len()).unwrap();
    // The same data compressed with a 9-bit window passes a 9-bit check.
    let small = compress_message(&mut deflater(9), &data);
    check_window(&small, 9, data.len()).unwrap();
    assert_eq!(inflate_message(&mut inflater(9), &small).unwrap(), data);
    // A wrong length is caught too (the walk and flate2 must agree).
    assert!(check_window(&small, 15, data.len() + 1).is_err());
    // Stored, fixed and dynamic blocks all walk.
    for level in [0, 1, 9] {
        let mut c = Compress::new_with_window_bits(Compression::new(level), false, 15);
        for msg in [
            &b""[..],
            b"a",
            b"abcabcabcabc",
            &utf8_text(70_000).into_bytes(),
        ] {
            let p = compress_message(&mut c, msg);
            let mut d = inflater(15);
            let n = inflate_message(&mut d, &p).unwrap().len();
            assert_eq!(n, msg.len());
            check_window(&p, 15, n).unwrap();
        }
    }
    // A message relying on the previous one fails on a fresh inflater, which is how
    // server_no_context_takeover is checked.
    let mut d = deflater(15);
    let one = compress_message(&mut d, &data[..2100]);
    let two = compress_message(&mut d, &data[..2100]);
    let mut shared = inflater(15);
    assert_eq!(inflate_message(&mut shared, &one).unwrap(), &data[..2100]);
    assert_eq!(inflate_message(&mut shared, &two).unwrap(), &data[..2100]);
    assert!(inflate_message(&mut inflater(15), &two).is_err());
}

// ---------------------------------------------------------------------------------------
// Negotiation: accepted offers, exact answers, then real traffic
// ---------------------------------------------------------------------------------------

#[test]
fn bare_offer() {
    let server = Server::start(&[]);
    accepted(&server, &["permessage-deflate"], "permessage-deflate", FULL);
}

#[test]
fn server_no_context_takeover() {
    let server = Server::start(&[]);
    accepted(
        &server,
        &["permessage-deflate; server_no_context_takeover"],
        "permessage-deflate; server_no_context_takeover",
        FULL.snct(),
    );
}

#[test]
fn client_no_context_takeover() {
    let server = Server::start(&[]);
    accepted(
        &server,
        &["permessage-deflate; client_no_context_takeover"],
        "permessage-deflate; client_no_context_takeover",
        FULL.cnct(),
    );
}

#[test]
fn both_no_context_takeover() {
    let server = Server::start(&[]);
    accepted(
        &server,
        &["permessage-deflate; client_no_context_takeover; server_no_context_takeover"],
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        FULL.snct().cnct(),
    );
}

#[test]
fn server_max_window_bits_9_to_15() {
    let server = Server::start(&[]);
    for bits in 9..=15u8 {
        let offer = format!("permessage-deflate; server_max_window_bits={bits}");
        let expected = format!("permessage-deflate; server_max_window_bits={bits}");
        accepted(&server, &[&offer], &expected, FULL.server_bits(bits));
    }
}

#[test]
fn client_max_window_bits_without_value() {
    // The server may leave it out: we then compress with up to 15 bits.
    let server = Server::start(&[]);
    accepted(
        &server,
        &["permessage-deflate; client_max_window_bits"],
        "permessage-deflate",
        FULL,
    );
}

#[test]
fn client_max_window_bits_8_to_15() {
    let server = Server::start(&[]);
    for bits in 8..=15u8 {
        let offer = format!("permessage-deflate; client_max_window_bits={bits}");
        // 15 is the default and need not be stated.
        let expected = if bits == 15 {
            "permessage-deflate".to_string()
        } else {
            format!("permessage-deflate; client_max_window_bits={bits}")
        };
        accepted(&server, &[&offer], &expected, FULL.client_bits(bits));
    }
}

#[test]
fn every_parameter_at_once() {
    let server = Server::start(&[]);
    accepted(
        &server,
        &[
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
           server_max_window_bits=10; client_max_window_bits=11",
        ],
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=10; client_max_window_bits=11",
        FULL.snct().cnct().server_bits(10).client_bits(11),
    );
    // Whitespace around `;` and `=` and quoted values are fine (RFC 6455 §9.1).
    accepted(
        &server,
        &["permessage-deflate ;server_max_window_bits = \"12\";\tclient_max_window_bits=\"9\""],
        "permessage-deflate; server_max_window_bits=12; client_max_window_bits=9",
        FULL.server_bits(12).client_bits(9),
    );
}

#[test]
fn autobahn_13_7_three_offers() {
    // What Autobahn's fuzzingclient sends for cases 13.7.*: the first offer is taken.
    let server = Server::start(&[]);
    accepted(
        &server,
        &[
            "permessage-deflate; client_no_context_takeover; client_max_window_bits; \
           server_no_context_takeover; server_max_window_bits=9, \
           permessage-deflate; client_no_context_takeover; client_max_window_bits; \
           server_no_context_takeover, \
           permessage-deflate; client_no_context_takeover; client_max_window_bits",
        ],
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=9",
        FULL.snct().cnct().server_bits(9),
    );
    // The same with a first offer we must decline (8 bits): the second one is taken.
    accepted(
        &server,
        &[
            "permessage-deflate; client_no_context_takeover; client_max_window_bits; \
           server_no_context_takeover; server_max_window_bits=8, \
           permessage-deflate; client_no_context_takeover; client_max_window_bits; \
           server_no_context_takeover, \
           permessage-deflate; client_no_context_takeover; client_max_window_bits",
        ],
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        FULL.snct().cnct(),
    );
}

#[test]
fn unknown_extensions_are_ignored() {
    let server = Server::start(&[]);
    accepted(
        &server,
        &["x-webkit-deflate-frame, permessage-deflate; client_max_window_bits"],
        "permessage-deflate",
        FULL,
    );
    accepted(
        &server,
        &[
            "foo; bar=1; baz=\"a, b\"",
            "permessage-deflate; server_max_window_bits=11",
        ],
        "permessage-deflate; server_max_window_bits=11",
        FULL.server_bits(11),
    );
    declined(&server, &["x-webkit-deflate-frame"]);
    declined(&server, &["foo; bar=1, baz"]);
}

#[test]
fn a_declined_offer_falls_through_to_the_next() {
    let server = Server::start(&[]);
    // Duplicate parameter in the first offer, on the same line.
    accepted(
        &server,
        &["permessage-deflate; client_max_window_bits; client_max_window_bits, permessage-deflate"],
        "permessage-deflate",
        FULL,
    );
    // A malformed line contributes nothing; the next line still counts.
    accepted(
        &server,
        &[
            "permessage-deflate; server_max_window_bits=\"10",
            "permessage-deflate; server_no_context_takeover",
        ],
        "permessage-deflate; server_no_context_takeover",
        FULL.snct(),
    );
}

#[test]
fn deflate_max_window_bits_option() {
    let server = Server::start(&["--deflate-max-window-bits", "10"]);
    accepted(
        &server,
        &["permessage-deflate"],
        "permessage-deflate; server_max_window_bits=10",
        FULL.server_bits(10),
    );
    accepted(
        &server,
        &["permessage-deflate; server_max_window_bits=12"],
        "permessage-deflate; server_max_window_bits=10",
        FULL.server_bits(10),
    );
    accepted(
        &server,
        &["permessage-deflate; server_max_window_bits=9"],
        "permessage-deflate; server_max_window_bits=9",
        FULL.server_bits(9),
    );
}

#[test]
fn deflate_no_context_takeover_option() {
    let server = Server::start(&["--deflate-no-context-takeover"]);
    accepted(
        &server,
        &["permessage-deflate"],
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        FULL.snct().cnct(),
    );
}

// ---------------------------------------------------------------------------------------
// Negotiation: declined offers
// ---------------------------------------------------------------------------------------

#[test]
fn server_max_window_bits_8_is_declined() {
    let server = Server::start(&[]);
    declined(&server, &["permessage-deflate; server_max_window_bits=8"]);
    declined(
        &server,
        &["permessage-deflate; server_no_context_takeover; server_max_window_bits=8"],
    );
}

#[test]
fn malformed_or_duplicate_parameters_are_declined() {
    let server = Server::start(&[]);
    for offer in [
        // Duplicates (RFC 7692 §5.1).
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
        "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
        // Unknown parameters.
        "permessage-deflate; foo",
        "permessage-deflate; server_max_window_bits=10; x=1",
        // Values where none is allowed, or a missing / bad value.
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_no_context_takeover=\"\"",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=0",
        "permessage-deflate; server_max_window_bits=09",
        "permessage-deflate; server_max_window_bits=abc",
        "permessage-deflate; server_max_window_bits=\"1 0\"",
        "permessage-deflate; client_max_window_bits=16",
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; client_max_window_bits=010",
        // Syntax errors.
        "permessage-deflate;",
        "permessage-deflate; ;",
        "permessage-deflate; server_max_window_bits=",
        "permessage-deflate; server_max_window_bits=\"10",
        "permessage-deflate server_no_context_takeover",
        "permessage-deflate; =10",
        // A syntax error anywhere voids the whole line, valid offers before it included.
        "permessage-deflate, permessage-deflate; ;",
    ] {
        declined(&server, &[offer]);
    }
}

#[test]
fn no_deflate_option_declines_everything() {
    let server = Server::start(&["--no-deflate"]);
    declined(&server, &["permessage-deflate"]);
    declined(
        &server,
        &["permessage-deflate; client_max_window_bits; server_no_context_takeover"],
    );
}
