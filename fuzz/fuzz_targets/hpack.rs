//! The HPACK decoder on arbitrary header blocks, one decoder for a connection's worth.
//!
//! Input: a flag byte (a small table and list limit, or the defaults), then blocks,
//! each prefixed by its length byte.
//!
//! Checked: no panic; what a block keeps stays within the list limit; a block that
//! decodes, encoded again by our encoder, decodes to the same fields on a fresh
//! decoder (the encoder's output is always valid and means what it says).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsecho::fuzzing::h2::hpack::{Decoder, HeaderList, encode_field};

fuzz_target!(|data: &[u8]| {
    let Some((flags, mut rest)) = data.split_first() else {
        return;
    };
    let (table, limit) = if flags & 1 != 0 {
        (64, 200)
    } else {
        (4096, 16 << 10)
    };
    let mut decoder = Decoder::new(table);
    let mut list = HeaderList::default();
    let mut again = HeaderList::default();
    while let Some((len, tail)) = rest.split_first() {
        let (block, next) = tail.split_at(usize::from(*len).min(tail.len()));
        rest = next;
        if decoder.decode(block, limit, &mut list).is_err() {
            // A connection error: HTTP/2 goes no further with this decoder.
            return;
        }
        let kept: usize = list.iter().map(|(n, v)| n.len() + v.len() + 32).sum();
        assert!(kept <= limit);
        assert!(list.too_large() || list.list_size() == kept);
        let mut wire = Vec::new();
        for (n, v) in list.iter() {
            encode_field(&mut wire, n, v);
        }
        Decoder::new(0)
            .decode(&wire, usize::MAX, &mut again)
            .expect("our encoding decodes");
        assert!(list.iter().eq(again.iter()));
    }
});
