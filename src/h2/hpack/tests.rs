//! The decoder against real encoders' blocks (hpack-test-case), the RFC's examples,
//! one case per error, and loona-hpack as an independent oracle.

use std::io::Read;

use super::decoder::DecodeError;
use super::{Decoder, HeaderList, encode_field};

/// Large enough for any story: the stories set their own sizes by updates.
const STORY_TABLE: usize = 65536;
const NO_LIMIT: usize = usize::MAX;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn fields(list: &HeaderList) -> Vec<(Vec<u8>, Vec<u8>)> {
    list.iter().map(|(n, v)| (n.to_vec(), v.to_vec())).collect()
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    pairs
        .iter()
        .map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

#[test]
fn every_hpack_test_case_story_decodes_exactly() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/hpack");
    let mut stories = 0;
    let mut blocks = 0;
    for file in [
        "nghttp2",
        "nghttp2-change-table-size",
        "go-hpack",
        "haskell-http2-linear-huffman",
        "python-hpack",
    ] {
        let gz = std::fs::read(format!("{dir}/{file}.json.gz")).unwrap();
        let mut json = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut json)
            .unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
        for story in parsed.as_array().unwrap() {
            let name = story[0].as_str().unwrap();
            let mut decoder = Decoder::new(STORY_TABLE);
            let mut list = HeaderList::default();
            for (seq, case) in story[1].as_array().unwrap().iter().enumerate() {
                let wire = hex(case[1].as_str().unwrap());
                decoder
                    .decode(&wire, NO_LIMIT, &mut list)
                    .unwrap_or_else(|e| panic!("{file}/{name} #{seq}: {e}"));
                let want: Vec<(Vec<u8>, Vec<u8>)> = case[2]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| {
                        let s = |i: usize| f[i].as_str().unwrap().as_bytes().to_vec();
                        (s(0), s(1))
                    })
                    .collect();
                assert_eq!(fields(&list), want, "{file}/{name} #{seq}");
                blocks += 1;
            }
            stories += 1;
        }
    }
    assert_eq!((stories, blocks), (159, 16803));
}

#[test]
fn rfc_7541_c3_requests_share_the_dynamic_table() {
    let mut d = Decoder::new(4096);
    let mut list = HeaderList::default();
    // C.3.1.
    d.decode(
        &hex("828684410f7777772e6578616d706c652e636f6d"),
        NO_LIMIT,
        &mut list,
    )
    .unwrap();
    assert_eq!(
        fields(&list),
        owned(&[
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/"),
            (":authority", "www.example.com"),
        ])
    );
    // C.3.2: :authority from the dynamic table (index 62).
    d.decode(&hex("828684be58086e6f2d6361636865"), NO_LIMIT, &mut list)
        .unwrap();
    assert_eq!(
        fields(&list),
        owned(&[
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/"),
            (":authority", "www.example.com"),
            ("cache-control", "no-cache"),
        ])
    );
    // C.4.1, the same first request Huffman-coded, on a fresh decoder.
    let mut d = Decoder::new(4096);
    d.decode(
        &hex("828684418cf1e3c2e5f23a6ba0ab90f4ff"),
        NO_LIMIT,
        &mut list,
    )
    .unwrap();
    assert_eq!(
        list.iter().nth(3),
        Some((&b":authority"[..], &b"www.example.com"[..]))
    );
}

/// One block per error, each with the variant it must give.
#[test]
fn every_rule_broken_is_its_own_error() {
    for (block, error) in [
        (&[0x82, 0x41][..], DecodeError::Truncated),
        (
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            DecodeError::IntegerOverflow,
        ),
        (&[0x80], DecodeError::IndexZero),
        (&[0xbe], DecodeError::IndexTooLarge),
        (&[0x4f], DecodeError::Truncated),
        (&[0x00, 0x05, b'a'], DecodeError::StringTooLong),
        (
            &[0x00, 0x84, 0xff, 0xff, 0xff, 0xff, 0x00],
            DecodeError::HuffmanEos,
        ),
        (
            &[0x00, 0x82, 0b0001_1111, 0xff, 0x00],
            DecodeError::HuffmanLongPadding,
        ),
        (
            &[0x00, 0x81, 0b0001_1000, 0x00],
            DecodeError::HuffmanBadPadding,
        ),
        (&[0x82, 0x20], DecodeError::SizeUpdateAfterField),
        // 4097: 31 + 0x62 + (0x1f << 7).
        (&[0x3f, 0xe2, 0x1f], DecodeError::SizeUpdateTooLarge),
        // A literal's name index past the tables, even for a field not kept.
        (&[0x0f, 0x30, 0x00], DecodeError::IndexTooLarge),
    ] {
        let mut list = HeaderList::default();
        assert_eq!(
            Decoder::new(4096).decode(block, NO_LIMIT, &mut list),
            Err(error),
            "{block:02x?}"
        );
        assert!(!error.to_string().is_empty());
    }
    // A size update up to the maximum, at the start, is fine; two in a row too (§4.2).
    let mut list = HeaderList::default();
    Decoder::new(4096)
        .decode(&[0x3f, 0xe1, 0x1f, 0x20, 0x82], NO_LIMIT, &mut list)
        .unwrap();
    assert_eq!(fields(&list), owned(&[(":method", "GET")]));
}

/// A short block that names a big dynamic entry again and again (a decompression
/// bomb): past the limit nothing is kept, and the table stays in step.
#[test]
fn a_decompression_bomb_is_bounded_and_the_table_stays_in_step() {
    let mut d = Decoder::new(4096);
    let mut list = HeaderList::default();
    // Insert x-big: 4000 × 'a' (literal with incremental indexing, new name).
    let mut block = vec![0x40, 0x05];
    block.extend_from_slice(b"x-big");
    block.extend_from_slice(&[0x7f, 0xa1, 0x1e]); // 127 + 0x21 + (0x1e << 7) = 4000
    block.extend_from_slice(&[b'a'; 4000]);
    // Then index 62 (x-big) 10000 times: 10000 bytes referencing 40 MB.
    block.extend(std::iter::repeat_n(0xbe, 10_000));
    let limit = 16 << 10;
    d.decode(&block, limit, &mut list).unwrap();
    assert!(list.too_large());
    assert_eq!(list.len(), 4, "fields kept until the limit");
    assert!(list.iter().map(|(n, v)| n.len() + v.len()).sum::<usize>() <= limit);
    assert_eq!(list.list_size(), 10_001 * (5 + 4000 + 32));
    // The next block still sees the entry.
    d.decode(&[0xbe], limit, &mut list).unwrap();
    assert!(!list.too_large());
    assert_eq!(
        list.iter().next().map(|(n, v)| (n.to_vec(), v.len())),
        Some((b"x-big".to_vec(), 4000))
    );
}

#[test]
fn our_fields_decode_to_themselves() {
    let mut block = Vec::new();
    for (n, v) in [
        (":status", "200"),
        (":status", "426"),
        ("content-type", "text/plain; charset=utf-8"),
        ("sec-websocket-extensions", "permessage-deflate"),
    ] {
        encode_field(&mut block, n.as_bytes(), v.as_bytes());
    }
    // :status 200 is static entry 8, one byte.
    assert_eq!(block[0], 0x88);
    let mut list = HeaderList::default();
    Decoder::new(4096)
        .decode(&block, NO_LIMIT, &mut list)
        .unwrap();
    assert_eq!(
        fields(&list),
        owned(&[
            (":status", "200"),
            (":status", "426"),
            ("content-type", "text/plain; charset=utf-8"),
            ("sec-websocket-extensions", "permessage-deflate"),
        ])
    );
}

mod oracle {
    use super::*;
    use proptest::prelude::*;

    fn field() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
        (
            prop_oneof![
                Just(b":path".to_vec()),
                Just(b"cookie".to_vec()),
                Just(b"user-agent".to_vec()),
                "[a-z][a-z0-9-]{0,20}".prop_map(String::into_bytes),
            ],
            proptest::collection::vec(any::<u8>(), 0..300),
        )
    }

    proptest! {
        /// loona-hpack encodes (Huffman, dynamic table, evictions), we decode.
        #[test]
        fn blocks_from_another_encoder_decode_to_what_it_encoded(
            blocks in proptest::collection::vec(proptest::collection::vec(field(), 0..12), 1..6)
        ) {
            let mut encoder = loona_hpack::Encoder::new();
            let mut decoder = Decoder::new(4096);
            let mut list = HeaderList::default();
            for fields_in in &blocks {
                let wire = encoder.encode(fields_in.iter().map(|(n, v)| (&n[..], &v[..])));
                decoder.decode(&wire, NO_LIMIT, &mut list).unwrap();
                prop_assert_eq!(&fields(&list), fields_in);
            }
        }

        /// We encode, loona-hpack decodes.
        #[test]
        fn our_blocks_decode_elsewhere(fields_in in proptest::collection::vec(field(), 0..12)) {
            let mut wire = Vec::new();
            for (n, v) in &fields_in {
                encode_field(&mut wire, n, v);
            }
            let mut decoder = loona_hpack::Decoder::new();
            let decoded: Vec<(Vec<u8>, Vec<u8>)> = decoder
                .decode(&wire)
                .unwrap()
                .into_iter()
                .collect();
            prop_assert_eq!(&decoded, &fields_in);
        }
    }
}
