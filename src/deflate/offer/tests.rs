use super::builder::{RawValue, window_bits};
use super::*;

fn neg(headers: &[&str]) -> Option<DeflateParams> {
    neg_with(headers, &DeflatePolicy::default())
}

fn neg_with(headers: &[&str], policy: &DeflatePolicy) -> Option<DeflateParams> {
    negotiate(headers.iter().map(|h| h.as_bytes()), policy)
}

fn response(p: &DeflateParams) -> String {
    let mut out = Vec::new();
    p.write_response(&mut out);
    String::from_utf8(out).expect("ascii")
}

fn neg_response(headers: &[&str]) -> Option<String> {
    neg(headers).map(|p| response(&p))
}

#[test]
fn bare_offer() {
    let p = neg(&["permessage-deflate"]).expect("accepted");
    assert_eq!(p, DeflateParams::default());
    assert_eq!(response(&p), "permessage-deflate");
}

#[test]
fn no_header_or_no_offer() {
    assert_eq!(neg(&[]), None);
    assert_eq!(neg(&[""]), None);
    assert_eq!(neg(&["   "]), None);
    assert_eq!(neg(&["x-webkit-deflate-frame"]), None);
    assert_eq!(neg(&["foo; bar=1, baz"]), None);
}

#[test]
fn browser_default_offer() {
    // What Chrome and Firefox send.
    let p = neg(&["permessage-deflate; client_max_window_bits"]).expect("accepted");
    assert_eq!(p, DeflateParams::default());
    assert_eq!(response(&p), "permessage-deflate");
    // With a policy limit we state the client window.
    let policy = DeflatePolicy {
        client_max_window_bits: 10,
        ..DeflatePolicy::default()
    };
    let p = neg_with(&["permessage-deflate; client_max_window_bits"], &policy).expect("ok");
    assert_eq!(p.client_max_window_bits, 10);
    assert_eq!(
        response(&p),
        "permessage-deflate; client_max_window_bits=10"
    );
}

#[test]
fn client_window_not_offered_is_never_answered() {
    let policy = DeflatePolicy {
        client_max_window_bits: 9,
        ..DeflatePolicy::default()
    };
    let p = neg_with(&["permessage-deflate"], &policy).expect("accepted");
    assert_eq!(p.client_max_window_bits, 15);
    assert_eq!(response(&p), "permessage-deflate");
}

#[test]
fn client_window_value() {
    let p = neg(&["permessage-deflate; client_max_window_bits=12"]).expect("ok");
    assert_eq!(p.client_max_window_bits, 12);
    assert_eq!(
        response(&p),
        "permessage-deflate; client_max_window_bits=12"
    );
    let policy = DeflatePolicy {
        client_max_window_bits: 10,
        ..DeflatePolicy::default()
    };
    let p = neg_with(&["permessage-deflate; client_max_window_bits=12"], &policy).unwrap();
    assert_eq!(p.client_max_window_bits, 10);
    let p = neg_with(&["permessage-deflate; client_max_window_bits=9"], &policy).unwrap();
    assert_eq!(p.client_max_window_bits, 9);
    let p = neg(&["permessage-deflate; client_max_window_bits=15"]).unwrap();
    assert_eq!(response(&p), "permessage-deflate");
}

#[test]
fn client_window_8_is_echoed() {
    let p = neg(&["permessage-deflate; client_max_window_bits=8"]).expect("ok");
    assert_eq!(p.client_max_window_bits, 8);
    assert_eq!(response(&p), "permessage-deflate; client_max_window_bits=8");
}

#[test]
fn server_window() {
    let p = neg(&["permessage-deflate; server_max_window_bits=10"]).expect("ok");
    assert_eq!(p.server_max_window_bits, 10);
    assert_eq!(p.deflate_window_bits(), 10);
    assert_eq!(
        response(&p),
        "permessage-deflate; server_max_window_bits=10"
    );
    // Offered 15: must still be stated when accepting.
    let p = neg(&["permessage-deflate; server_max_window_bits=15"]).expect("ok");
    assert_eq!(
        response(&p),
        "permessage-deflate; server_max_window_bits=15"
    );
    // Our own limit, stated unasked.
    let policy = DeflatePolicy {
        server_max_window_bits: 11,
        ..DeflatePolicy::default()
    };
    let p = neg_with(&["permessage-deflate"], &policy).expect("ok");
    assert_eq!(
        response(&p),
        "permessage-deflate; server_max_window_bits=11"
    );
    let p = neg_with(&["permessage-deflate; server_max_window_bits=13"], &policy).unwrap();
    assert_eq!(p.server_max_window_bits, 11);
    let p = neg_with(&["permessage-deflate; server_max_window_bits=9"], &policy).unwrap();
    assert_eq!(p.server_max_window_bits, 9);
}

#[test]
fn server_window_8_declined_never_answered_with_9() {
    assert_eq!(neg(&["permessage-deflate; server_max_window_bits=8"]), None);
    // ... and the next offer is used instead.
    let p = neg(&[
        "permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits=9",
    ])
    .expect("second offer");
    assert_eq!(p.server_max_window_bits, 9);
}

#[test]
fn policy_is_clamped() {
    let policy = DeflatePolicy {
        server_max_window_bits: 3,
        client_max_window_bits: 200,
        ..DeflatePolicy::default()
    };
    let p = neg_with(&["permessage-deflate; client_max_window_bits"], &policy).unwrap();
    assert_eq!(p.server_max_window_bits, 9);
    assert_eq!(p.client_max_window_bits, 15);
    let policy = DeflatePolicy {
        client_max_window_bits: 8,
        ..DeflatePolicy::default()
    };
    let p = neg_with(&["permessage-deflate; client_max_window_bits"], &policy).unwrap();
    assert_eq!(p.client_max_window_bits, 9, "we never ask for 8");
}

#[test]
fn context_takeover_flags() {
    let p = neg(&["permessage-deflate; server_no_context_takeover"]).unwrap();
    assert!(p.server_no_context_takeover && !p.client_no_context_takeover);
    assert_eq!(
        response(&p),
        "permessage-deflate; server_no_context_takeover"
    );
    let p = neg(&["permessage-deflate; client_no_context_takeover"]).unwrap();
    assert!(!p.server_no_context_takeover && p.client_no_context_takeover);
    assert_eq!(
        response(&p),
        "permessage-deflate; client_no_context_takeover"
    );
    let policy = DeflatePolicy {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        ..DeflatePolicy::default()
    };
    let p = neg_with(&["permessage-deflate"], &policy).unwrap();
    assert_eq!(
        response(&p),
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
    );
}

#[test]
fn everything_at_once() {
    let p = neg(&[
        "permessage-deflate; client_no_context_takeover; client_max_window_bits=10; \
         server_no_context_takeover; server_max_window_bits=12",
    ])
    .unwrap();
    assert_eq!(
        p,
        DeflateParams {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: 12,
            client_max_window_bits: 10,
            server_max_window_bits_offered: true,
        }
    );
    assert_eq!(
        response(&p),
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=12; client_max_window_bits=10"
    );
}

#[test]
fn autobahn_13_7() {
    let h = "permessage-deflate; client_no_context_takeover; client_max_window_bits; \
             server_no_context_takeover; server_max_window_bits=9, permessage-deflate; \
             client_no_context_takeover; client_max_window_bits; server_no_context_takeover, \
             permessage-deflate; client_no_context_takeover; client_max_window_bits";
    let p = neg(&[h]).unwrap();
    assert_eq!(
        p,
        DeflateParams {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            server_max_window_bits: 9,
            client_max_window_bits: 15,
            server_max_window_bits_offered: true,
        }
    );
    assert_eq!(
        response(&p),
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=9"
    );
    // Autobahn 13.x with server_max_window_bits=8 first: falls through.
    let h8 = h.replace("server_max_window_bits=9", "server_max_window_bits=8");
    let p = neg(&[h8.as_str()]).unwrap();
    assert_eq!(p.server_max_window_bits, 15);
    assert!(p.server_no_context_takeover && !p.server_max_window_bits_offered);
}

#[test]
fn malformed_params_decline_that_offer_only() {
    let bad = [
        // duplicates
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
        "permessage-deflate; client_max_window_bits; client_max_window_bits",
        "permessage-deflate; client_max_window_bits=10; client_max_window_bits",
        // unknown
        "permessage-deflate; foo",
        "permessage-deflate; client_max_window_bits; x=1",
        "permessage-deflate; Server_No_Context_Takeover",
        // flags with values
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_no_context_takeover=\"\"",
        "permessage-deflate; client_no_context_takeover=true",
        // value missing
        "permessage-deflate; server_max_window_bits",
        // bad values
        "permessage-deflate; server_max_window_bits=0",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=08",
        "permessage-deflate; server_max_window_bits=015",
        "permessage-deflate; server_max_window_bits=abc",
        "permessage-deflate; server_max_window_bits=1a",
        "permessage-deflate; server_max_window_bits=\"\"",
        "permessage-deflate; server_max_window_bits=\"1 0\"",
        "permessage-deflate; server_max_window_bits=\" 10\"",
        "permessage-deflate; server_max_window_bits=+9",
        "permessage-deflate; server_max_window_bits=99999999999999999999",
        "permessage-deflate; client_max_window_bits=0",
        "permessage-deflate; client_max_window_bits=16",
        "permessage-deflate; client_max_window_bits=08",
        "permessage-deflate; client_max_window_bits=abc",
        "permessage-deflate; client_max_window_bits=\"\"",
        "permessage-deflate; client_max_window_bits=\"1 0\"",
    ];
    for b in bad {
        assert_eq!(neg(&[b]), None, "{b}");
        // The next offer in the same header is still considered.
        let two = format!("{b}, permessage-deflate; server_max_window_bits=11");
        let p = neg(&[two.as_str()]).unwrap_or_else(|| panic!("fallback for {b}"));
        assert_eq!(p.server_max_window_bits, 11, "{b}");
        // And so is the next header.
        let p = neg(&[b, "permessage-deflate; server_max_window_bits=12"])
            .unwrap_or_else(|| panic!("next header for {b}"));
        assert_eq!(p.server_max_window_bits, 12, "{b}");
    }
}

#[test]
fn syntax_errors_discard_the_whole_line() {
    let broken = [
        "permessage-deflate; server_max_window_bits=",
        "permessage-deflate; =10",
        "permessage-deflate;",
        "permessage-deflate; server_max_window_bits=\"10",
        "permessage-deflate server_no_context_takeover",
        "permessage-deflate; server_max_window_bits=1 0",
        "permessage-deflate; a=b=c",
        "permessage-deflate; \"x\"",
        "permessage-deflate, ;",
        "; permessage-deflate",
        "permessage-deflate; client_max_window_bits=\"1\\\"",
        "permessage-deflate; server_max_window_bits=10\u{1}",
        "permessage-deflate; x=\"\u{7f}\"",
        "permessage-déflate",
        "permessage-deflate; x=(10)",
        "permessage-deflate; x=a/b",
    ];
    for b in broken {
        assert_eq!(neg(&[b]), None, "{b}");
        // Offers before the error on the same line are discarded too.
        let line = format!("permessage-deflate; server_max_window_bits=11, {b}");
        assert_eq!(neg(&[line.as_str()]), None, "{line}");
        // Other lines still count.
        let p = neg(&[b, "permessage-deflate; server_max_window_bits=12"])
            .unwrap_or_else(|| panic!("next header for {b}"));
        assert_eq!(p.server_max_window_bits, 12);
    }
}

#[test]
fn quoted_values() {
    let p = neg(&["permessage-deflate; server_max_window_bits=\"10\""]).unwrap();
    assert_eq!(p.server_max_window_bits, 10);
    let p = neg(&["permessage-deflate; client_max_window_bits=\"9\""]).unwrap();
    assert_eq!(p.client_max_window_bits, 9);
    // quoted-pair unescaping: "\1\2" is 12.
    let p = neg(&["permessage-deflate; server_max_window_bits=\"\\1\\2\""]).unwrap();
    assert_eq!(p.server_max_window_bits, 12);
    // A comma or semicolon inside an (ignored) quoted value is not a separator.
    let p = neg(&["foo; bar=\"a, permessage-deflate; b\", permessage-deflate"]).unwrap();
    assert_eq!(p, DeflateParams::default());
    assert_eq!(
        neg(&["foo; bar=\"a, permessage-deflate; b\""]),
        None,
        "quoted text is not an offer"
    );
}

#[test]
fn whitespace() {
    let p = neg(&[
        " \t permessage-deflate \t;\tserver_max_window_bits = 10 ;client_no_context_takeover\t ",
    ])
    .unwrap();
    assert_eq!(p.server_max_window_bits, 10);
    assert!(p.client_no_context_takeover);
    let p =
        neg(&["permessage-deflate;server_max_window_bits=\"11\";client_max_window_bits"]).unwrap();
    assert_eq!(p.server_max_window_bits, 11);
}

#[test]
fn empty_list_elements() {
    let p = neg(&[", ,permessage-deflate; server_max_window_bits=10 , ,"]).unwrap();
    assert_eq!(p.server_max_window_bits, 10);
    assert_eq!(neg(&[",,,"]), None);
}

#[test]
fn other_extensions_mixed_in() {
    let p = neg(&[
        "x-webkit-deflate-frame; no_context_takeover, foo; a=\"b\"; c, \
         permessage-deflate; server_max_window_bits=13, bar",
    ])
    .unwrap();
    assert_eq!(p.server_max_window_bits, 13);
    // Same-name parameters on other extensions are not our business.
    let p = neg(&["foo; server_max_window_bits=99; x; x, permessage-deflate"]).unwrap();
    assert_eq!(p, DeflateParams::default());
}

#[test]
fn multiple_headers_first_acceptable_wins() {
    let p = neg(&[
        "foo",
        "permessage-deflate; server_max_window_bits=8",
        "permessage-deflate; server_max_window_bits=10, permessage-deflate",
        "permessage-deflate; server_max_window_bits=12",
    ])
    .unwrap();
    assert_eq!(p.server_max_window_bits, 10);
}

#[test]
fn name_is_exact() {
    assert_eq!(neg(&["Permessage-Deflate"]), None);
    assert_eq!(neg(&["permessage-deflatex"]), None);
    assert_eq!(neg(&["permessage"]), None);
}

#[test]
fn response_round_trips_through_the_parser() {
    // Our answer is itself a well-formed element with valid parameters.
    for h in [
        "permessage-deflate",
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        "permessage-deflate; server_max_window_bits=9; client_max_window_bits=8",
        "permessage-deflate; client_max_window_bits=10",
    ] {
        let p = neg(&[h]).unwrap();
        let r = neg_response(&[h]).unwrap();
        let back = neg(&[r.as_str()]).unwrap();
        assert_eq!(
            back.server_no_context_takeover,
            p.server_no_context_takeover
        );
        assert_eq!(
            back.client_no_context_takeover,
            p.client_no_context_takeover
        );
        assert_eq!(back.server_max_window_bits, p.server_max_window_bits);
        assert_eq!(back.client_max_window_bits, p.client_max_window_bits);
    }
}

#[test]
fn window_bits_values() {
    for v in 8..=15u8 {
        let s = v.to_string();
        assert_eq!(window_bits(RawValue::Token(s.as_bytes())), Some(v));
        assert_eq!(window_bits(RawValue::Quoted(s.as_bytes())), Some(v));
    }
    for bad in ["", "0", "1", "7", "16", "08", "010", "a", "\\9"] {
        assert_eq!(window_bits(RawValue::Token(bad.as_bytes())), None, "{bad}");
    }
    assert_eq!(window_bits(RawValue::Quoted(b"\\9")), Some(9));
}

/// Deterministic pseudo-random generator for the no-panic test.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn never_panics_on_garbage() {
    let alphabet: &[u8] =
        b"permessage-deflate;,=\" \t\\server_max_window_bits0189client_no\x00\xff";
    let mut s = 0x1234_5678_9abc_def0u64;
    for _ in 0..20_000 {
        let len = (xorshift(&mut s) % 64) as usize;
        let line: Vec<u8> = (0..len)
            .map(|_| alphabet[(xorshift(&mut s) % alphabet.len() as u64) as usize])
            .collect();
        let _ = negotiate([line.as_slice()], &DeflatePolicy::default());
        let mut prefixed = b"permessage-deflate; ".to_vec();
        prefixed.extend_from_slice(&line);
        if let Some(p) = negotiate([prefixed.as_slice()], &DeflatePolicy::default()) {
            assert!((9..=15).contains(&p.server_max_window_bits));
            assert!((8..=15).contains(&p.client_max_window_bits));
            let mut out = Vec::new();
            p.write_response(&mut out);
            assert!(negotiate([out.as_slice()], &DeflatePolicy::default()).is_some());
        }
    }
}
