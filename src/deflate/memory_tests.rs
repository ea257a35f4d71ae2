//! What an [`Inflater`] and a [`Deflater`] cost in heap memory, measured by the
//! crate's counting allocator for tests ([`crate::test_alloc`]).
//!
//! Run `cargo test --lib deflate::memory_tests -- --nocapture` for the table.

use super::{Deflater, Inflater, RECOMMENDED_SCRATCH_LEN};
use crate::test_alloc::measure;

fn text(len: usize) -> Vec<u8> {
    let words = [
        "alpha ",
        "beta ",
        "gamma ",
        "delta ",
        "websocket ",
        "frame ",
    ];
    let mut s = 12345u32;
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        s = s.wrapping_mul(1_103_515_245).wrapping_add(12345);
        out.extend_from_slice(words[(s >> 16) as usize % words.len()].as_bytes());
    }
    out.truncate(len);
    out
}

const KIB: isize = 1024;

#[test]
fn inflater_memory() {
    let msg = text(100_000);
    let mut payload = Vec::new();
    Deflater::new(6, 15, false)
        .compress_message(&msg, &mut payload)
        .expect("compress");
    let mut scratch = vec![0u8; RECOMMENDED_SCRATCH_LEN];
    for bits in [15u8, 9] {
        let (mut inflater, created, _) = measure(|| Inflater::new(bits, false));
        let ((), held, peak) = measure(|| {
            let mut sink = |_: &[u8]| Ok::<(), ()>(());
            inflater
                .inflate_chunk(&payload, &mut scratch, &mut sink)
                .expect("inflate");
            inflater
                .finish_message(&mut scratch, &mut sink)
                .expect("finish");
        });
        println!(
            "Inflater window {bits:2}: {} KiB on creation, +{} KiB after a 100 kB message \
             (peak +{} KiB while inflating)",
            created / KIB,
            held / KIB,
            peak / KIB
        );
        // zlib-rs 0.6 allocates state + a 32 KiB window up front, whatever
        // the window bits, and nothing per message; with context takeover we
        // keep 32 KiB more, the window carried across a final block.
        assert!(created <= 48 * KIB + 33 * KIB, "{created}");
        assert!(held <= KIB && peak <= 4 * KIB, "{held} {peak}");
        drop(inflater);
    }
    // With no context takeover a window below 15 is re-created on every
    // reset (zlib-rs resets only to window 15); the footprint stays the same.
    let mut small = Vec::new();
    let mut d = Deflater::new(6, 9, true);
    d.compress_message(&msg[..1000], &mut small)
        .expect("compress");
    let (mut inflater, _, _) = measure(|| Inflater::new(9, true));
    let ((), held, peak) = measure(|| {
        for _ in 0..10 {
            let mut sink = |_: &[u8]| Ok::<(), ()>(());
            inflater
                .inflate_chunk(&small, &mut scratch, &mut sink)
                .expect("inflate");
            inflater
                .finish_message(&mut scratch, &mut sink)
                .expect("finish");
        }
    });
    println!(
        "Inflater window  9, no context takeover: +{} KiB after 10 messages (peak +{} KiB)",
        held / KIB,
        peak / KIB
    );
    assert!(held <= KIB && peak <= 64 * KIB, "{held} {peak}");
}

#[test]
fn deflater_memory() {
    let msg = text(100_000);
    for bits in [15u8, 9] {
        for level in [1u32, 6, 9] {
            let (mut deflater, created, _) = measure(|| Deflater::new(level, bits, false));
            let mut out = Vec::with_capacity(64 * 1024);
            let ((), held, peak) = measure(|| {
                deflater.compress_message(&msg, &mut out).expect("compress");
            });
            println!(
                "Deflater window {bits:2} level {level}: {} KiB on creation, +{} KiB after a \
                 100 kB message (peak +{} KiB, output buffer excluded)",
                created / KIB,
                held / KIB,
                peak / KIB
            );
            // window (2 * 2^bits) + prev (2 * 2^bits) + head (128 KiB) +
            // pending/symbol buffers (112 KiB) + state.
            let bound = (4 << bits) + 256 * KIB;
            assert!(created <= bound, "{created} > {bound}");
            assert!(held <= KIB && peak <= 4 * KIB, "{held} {peak}");
            drop(deflater);
        }
    }
}
