use super::deflater::MAX_RESERVE_AHEAD;
use super::*;
use crate::deflate::offer::DeflateParams;
use flate2::{Compress, Compression, FlushCompress};
use std::io::Write;

fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut s = seed | 1;
    (0..len).map(|_| xorshift(&mut s) as u8).collect()
}

/// Compressible text with some variety.
fn text(len: usize, seed: u64) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "the ",
        "quick ",
        "brown ",
        "fox ",
        "jumps ",
        "over ",
        "lazy ",
        "dog ",
        "WebSocket ",
        "frame ",
        "deflate ",
        "héllo ",
        "wörld ",
        "\n",
        "0123 ",
        "€ ",
    ];
    let mut s = seed | 1;
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        out.extend_from_slice(WORDS[(xorshift(&mut s) % WORDS.len() as u64) as usize].as_bytes());
    }
    out.truncate(len);
    out
}

fn compress(d: &mut Deflater, data: &[u8], chunk: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for c in data.chunks(chunk.max(1)) {
        d.compress_chunk(c, &mut out).expect("compress");
    }
    d.finish_message(&mut out).expect("finish");
    out
}

fn inflate_split(inf: &mut Inflater, payload: &[u8], chunk: usize, scratch_len: usize) -> Vec<u8> {
    let mut scratch = vec![0u8; scratch_len];
    let mut out = Vec::new();
    let mut sink = |b: &[u8]| -> Result<(), ()> {
        assert!(b.len() <= scratch_len);
        out.extend_from_slice(b);
        Ok(())
    };
    for c in payload.chunks(chunk.max(1)) {
        inf.inflate_chunk(c, &mut scratch, &mut sink)
            .expect("inflate");
    }
    inf.finish_message(&mut scratch, &mut sink).expect("finish");
    out
}

fn inflate(inf: &mut Inflater, payload: &[u8]) -> Result<Vec<u8>, InflateError<()>> {
    let mut scratch = vec![0u8; RECOMMENDED_SCRATCH_LEN];
    let mut out = Vec::new();
    let mut sink = |b: &[u8]| -> Result<(), ()> {
        out.extend_from_slice(b);
        Ok(())
    };
    inf.inflate_chunk(payload, &mut scratch, &mut sink)?;
    inf.finish_message(&mut scratch, &mut sink)?;
    Ok(out)
}

const SIZES: &[usize] = &[0, 1, 125, 126, 65535, 65536, 1 << 20];

#[test]
fn round_trip_sizes_and_kinds() {
    for &size in SIZES {
        for (kind, data) in [("random", random_bytes(size, 7)), ("text", text(size, 9))] {
            let mut d = Deflater::new(6, 15, false);
            let mut i = Inflater::new(15, false);
            let payload = compress(&mut d, &data, 4096);
            assert!(!payload.is_empty(), "{kind} {size}");
            assert_eq!(
                inflate_split(&mut i, &payload, 1000, RECOMMENDED_SCRATCH_LEN),
                data
            );
            // Again through the same (context-taking-over) pair.
            let payload = compress(&mut d, &data, 3333);
            assert_eq!(
                inflate_split(&mut i, &payload, 777, 1024),
                data,
                "{kind} {size}"
            );
        }
    }
}

#[test]
fn round_trip_every_small_chunking() {
    for &size in &[0usize, 1, 2, 5, 125, 126, 300] {
        for data in [random_bytes(size, 3), text(size, 4)] {
            for in_chunk in [1usize, 2, 3, 7, 64, usize::MAX] {
                for comp_chunk in [1usize, 2, 3, 5, 8, 13, usize::MAX] {
                    for scratch in [1usize, 2, 7, 64, RECOMMENDED_SCRATCH_LEN] {
                        let mut d = Deflater::new(9, 15, false);
                        let mut i = Inflater::new(15, false);
                        // Three messages to exercise the shared window.
                        for _ in 0..3 {
                            let p = compress(&mut d, &data, in_chunk.min(1 << 20));
                            let got = inflate_split(&mut i, &p, comp_chunk.min(1 << 20), scratch);
                            assert_eq!(got, data, "size {size} in {in_chunk} comp {comp_chunk}");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn round_trip_1mib_small_chunks() {
    let data = text(1 << 20, 11);
    let mut d = Deflater::new(1, 15, false);
    let mut i = Inflater::new(15, false);
    let p = compress(&mut d, &data, 1);
    assert!(p.len() < data.len() / 2);
    assert_eq!(inflate_split(&mut i, &p, 3, 4096), data);
}

#[test]
fn all_windows_and_levels() {
    let data = text(40_000, 5);
    let rnd = random_bytes(20_000, 5);
    for bits in 9..=15u8 {
        for level in [0u32, 1, 6, 9] {
            for nct in [false, true] {
                let mut d = Deflater::new(level, bits, nct);
                let mut i = Inflater::new(bits, nct);
                for msg in [&data, &rnd, &data] {
                    let p = compress(&mut d, msg, 10_000);
                    assert_eq!(
                        &inflate_split(&mut i, &p, 5000, 8192),
                        msg,
                        "w{bits} l{level}"
                    );
                }
            }
        }
    }
}

#[test]
fn smaller_window_decoded_by_larger() {
    let data = text(100_000, 6);
    for bits in 9..=15u8 {
        let mut d = Deflater::new(9, bits, false);
        let mut i = Inflater::new(15, false);
        for _ in 0..2 {
            let p = compress(&mut d, &data, 9000);
            assert_eq!(inflate(&mut i, &p).expect("ok"), data);
        }
    }
}

#[test]
fn window_15_decodes_regardless_of_split() {
    // A stream that refers 20000 bytes back. zlib checks a distance
    // against the history it holds plus what it wrote in the current
    // call, so with a small window, acceptance could depend on how the
    // network split the payload; a window-15 inflater always decodes it.
    // That is why `Inflater::from_params` always uses 15.
    let mut data = random_bytes(20_000, 1);
    data.extend_from_within(..20_000);
    let mut d = Deflater::new(9, 15, false);
    let p = compress(&mut d, &data, usize::MAX);
    assert!(p.len() < 30_000, "match found");
    for (chunk, scratch) in [(usize::MAX, 64 * 1024), (7, 100), (1, 1)] {
        let mut i = Inflater::new(15, false);
        assert_eq!(inflate_split(&mut i, &p, chunk, scratch), data);
    }
    // Clamping never panics: 0 and 8 act as 9, 200 as 15.
    for bits in [0u8, 8, 200] {
        let mut i = Inflater::new(bits, false);
        assert_eq!(
            inflate(
                &mut i,
                &compress(&mut Deflater::new(100, bits, false), b"abc", 1)
            )
            .unwrap(),
            b"abc"
        );
    }
}

/// A raw DEFLATE stream with a window-256 style back-reference (distance
/// exactly 256), as a peer allowed `client_max_window_bits=8` may send,
/// is decoded by our window-9 inflater.
#[test]
fn window_8_stream_decodes_with_9() {
    // 256 distinct-ish bytes then a copy of them at distance 256: built
    // with flate2 at window 9 and checked for a distance-256 match is
    // not possible through its API, so hand-assemble a fixed-Huffman
    // block: literals 0..=255 then <length 258, distance 256>.
    let mut w = BitWriter::default();
    w.bits(0, 1); // BFINAL = 0
    w.bits(1, 2); // BTYPE = 01 (fixed Huffman)
    for lit in 0u16..=255 {
        w.fixed_litlen(lit);
    }
    w.fixed_litlen(285); // length 258
    // distance 256: code 15 (base 193, 6 extra bits) -> 256 - 193 = 63
    w.huffman(15, 5);
    w.bits(63, 6);
    w.fixed_litlen(256); // end of block
    let p = w.finish_with_sync_block();
    let mut want: Vec<u8> = (0..=255u8).collect();
    for k in 0..258 {
        want.push(want[k]);
    }
    assert_eq!(inflate(&mut Inflater::new(9, false), &p).unwrap(), want);
    assert_eq!(inflate(&mut Inflater::new(8, false), &p).unwrap(), want);
}

/// Minimal LSB-first bit writer for hand-made DEFLATE test streams.
#[derive(Default)]
struct BitWriter {
    out: Vec<u8>,
    acc: u32,
    n: u32,
}

impl BitWriter {
    fn bits(&mut self, v: u32, count: u32) {
        self.acc |= v << self.n;
        self.n += count;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }
    /// Huffman codes are sent MSB first.
    fn huffman(&mut self, code: u32, len: u32) {
        let mut rev = 0;
        for k in 0..len {
            rev |= ((code >> k) & 1) << (len - 1 - k);
        }
        self.bits(rev, len);
    }
    fn fixed_litlen(&mut self, sym: u16) {
        let s = u32::from(sym);
        match s {
            0..=143 => self.huffman(0x30 + s, 8),
            144..=255 => self.huffman(0x190 + (s - 144), 9),
            256..=279 => self.huffman(s - 256, 7),
            _ => self.huffman(0xc0 + (s - 280), 8),
        }
    }
    /// Appends the header of an empty stored block, pads, and returns the
    /// bytes: the RFC 7692 payload (the `00 00 ff ff` being implied).
    fn finish_with_sync_block(mut self) -> Vec<u8> {
        self.bits(0, 3);
        if self.n > 0 {
            self.bits(0, 8 - self.n);
        }
        self.out
    }
}

#[test]
fn trailer_is_stripped_exactly() {
    // Our payload + TRAILER must equal what a plain sync flush produces.
    for data in [
        Vec::new(),
        b"Hello".to_vec(),
        text(5000, 2),
        random_bytes(70_000, 2),
    ] {
        let mut d = Deflater::new(6, 15, false);
        let p = compress(&mut d, &data, usize::MAX);
        let mut c = Compress::new(Compression::new(6), false);
        let mut reference = Vec::with_capacity(data.len() * 2 + 64);
        c.compress_vec(&data, &mut reference, FlushCompress::Sync)
            .unwrap();
        assert!(reference.ends_with(&TRAILER));
        let mut ours = p.clone();
        ours.extend_from_slice(&TRAILER);
        assert!(
            ours == reference,
            "payload + trailer differs from a plain sync flush"
        );
    }
}

#[test]
fn rfc_examples() {
    // §7.2.3.1: "Hello" in a single compressed block.
    let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let mut i = Inflater::new(15, false);
    assert_eq!(inflate(&mut i, &hello).unwrap(), b"Hello");
    // §7.2.3.2: the second "Hello" sharing the window.
    assert_eq!(
        inflate(&mut i, &[0xf2, 0x00, 0x11, 0x00, 0x00]).unwrap(),
        b"Hello"
    );
    // ... which without the window is corrupt.
    assert_eq!(
        inflate(
            &mut Inflater::new(15, false),
            &[0xf2, 0x00, 0x11, 0x00, 0x00]
        ),
        Err(InflateError::Corrupt)
    );
    // And with client_no_context_takeover the window is gone after a message.
    let mut i = Inflater::new(15, true);
    assert_eq!(inflate(&mut i, &hello).unwrap(), b"Hello");
    assert_eq!(
        inflate(&mut i, &[0xf2, 0x00, 0x11, 0x00, 0x00]),
        Err(InflateError::Corrupt)
    );
    // §7.2.3.3: a stored block.
    let stored = [
        0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
    ];
    assert_eq!(
        inflate(&mut Inflater::new(15, false), &stored).unwrap(),
        b"Hello"
    );
    // §7.2.3.4: BFINAL set, followed by the padding octet.
    let fin = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
    let mut i = Inflater::new(15, false);
    assert_eq!(inflate(&mut i, &fin).unwrap(), b"Hello");
    assert_eq!(
        inflate(&mut i, &hello).unwrap(),
        b"Hello",
        "usable after BFINAL"
    );
    // §7.2.3.5: two blocks in one message.
    let two = [
        0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00,
    ];
    assert_eq!(
        inflate(&mut Inflater::new(15, false), &two).unwrap(),
        b"Hello"
    );
    // §7.2.3.6: an empty payload "0x00".
    let mut i = Inflater::new(15, false);
    assert_eq!(inflate(&mut i, &[0x00]).unwrap(), b"");
    assert_eq!(inflate(&mut i, &hello).unwrap(), b"Hello");
}

/// Inflates `payload` cut into `chunk`-byte pieces: the message, or why not.
fn try_inflate_split(
    inf: &mut Inflater,
    payload: &[u8],
    chunk: usize,
    scratch_len: usize,
) -> Result<Vec<u8>, InflateError<()>> {
    let mut scratch = vec![0u8; scratch_len];
    let mut out = Vec::new();
    let mut sink = |b: &[u8]| -> Result<(), ()> {
        out.extend_from_slice(b);
        Ok(())
    };
    for c in payload.chunks(chunk.max(1)) {
        inf.inflate_chunk(c, &mut scratch, &mut sink)?;
    }
    inf.finish_message(&mut scratch, &mut |_: &[u8]| -> Result<(), ()> {
        panic!("finish_message handed output to the sink")
    })?;
    Ok(out)
}

#[test]
fn payload_must_end_on_a_block_boundary() {
    // RFC 7692 §7.2.1: the payload ends with the header of an empty
    // stored block whose LEN/NLEN are the 00 00 ff ff the sender removed.
    let rnd = random_bytes(3000, 21);
    let txt = text(3000, 21);
    for (kind, data) in [("stored", &rnd), ("huffman", &txt)] {
        let p = compress(&mut Deflater::new(6, 15, false), data, usize::MAX);
        if kind == "stored" {
            assert_eq!(p[0] & 0b111, 0, "expected one stored block");
            // Cut inside the stored block, and cut exactly 4 bytes short,
            // where the tail would fill the block and end it on a boundary
            // (zlib's data_type alone would accept that, echoing 00 00 ff ff).
            for cut in [1500, p.len() - 1 - 4] {
                let r = inflate(&mut Inflater::new(15, false), &p[..cut]);
                assert_eq!(r, Err(InflateError::Corrupt), "{kind} cut at {cut}");
            }
        }
        // The payload cut anywhere: refused, or (where the cut happens to
        // fall right after an empty stored block's header) a prefix of
        // the message, never bytes the client did not send.
        for cut in 1..p.len() {
            // Every cut whole; some also split into small pieces.
            let splits: &[(usize, usize)] = if cut % 97 == 0 || cut + 8 > p.len() {
                &[(usize::MAX, RECOMMENDED_SCRATCH_LEN), (1, 1), (7, 5)]
            } else {
                &[(usize::MAX, RECOMMENDED_SCRATCH_LEN)]
            };
            for &(chunk, scratch) in splits {
                let mut i = Inflater::new(15, false);
                if let Ok(got) = try_inflate_split(&mut i, &p[..cut], chunk, scratch) {
                    assert!(data.starts_with(&got), "{kind} cut at {cut}: not a prefix");
                }
            }
        }
        // The sender left its own 00 00 ff ff on: ours then starts a stored
        // block that never ends. Refused, however the payload is split, on
        // a fresh inflater and in the middle of a context-taking-over one.
        let mut tail_on = p.clone();
        tail_on.extend_from_slice(&TRAILER);
        for (chunk, scratch) in [(usize::MAX, RECOMMENDED_SCRATCH_LEN), (1, 1), (3, 64)] {
            let r = try_inflate_split(&mut Inflater::new(15, false), &tail_on, chunk, scratch);
            assert_eq!(r, Err(InflateError::Corrupt), "{kind} tail on");
            let mut d = Deflater::new(6, 15, false);
            let mut i = Inflater::new(15, false);
            let first = compress(&mut d, b"first message", 4);
            assert_eq!(inflate(&mut i, &first).unwrap(), b"first message");
            let mut second = compress(&mut d, data, 1000);
            second.extend_from_slice(&TRAILER);
            let r = try_inflate_split(&mut i, &second, chunk, scratch);
            assert_eq!(
                r,
                Err(InflateError::Corrupt),
                "{kind} tail on, second message"
            );
        }
        // Complete, it inflates under every split.
        for (chunk, scratch) in [(usize::MAX, RECOMMENDED_SCRATCH_LEN), (1, 1), (3, 64)] {
            let got = try_inflate_split(&mut Inflater::new(15, false), &p, chunk, scratch);
            assert_eq!(got.as_ref(), Ok(data), "{kind}");
        }
    }
    // Tails left on small and empty messages.
    for msg in [&b""[..], b"x", b"Hello"] {
        let mut p = compress(&mut Deflater::new(6, 15, false), msg, 1);
        p.extend_from_slice(&TRAILER);
        let r = inflate(&mut Inflater::new(15, false), &p);
        assert_eq!(r, Err(InflateError::Corrupt), "{msg:?}");
    }
    // RFC 7692 §7.2.3.3's stored block, cut at every point.
    let stored = [
        0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
    ];
    // (Cut after its first byte it is the empty message, §7.2.3.6.)
    for cut in 2..stored.len() {
        let r = inflate(&mut Inflater::new(15, false), &stored[..cut]);
        assert_eq!(r, Err(InflateError::Corrupt), "stored cut at {cut}");
    }
    // The last payload byte missing (the end of the block and the empty
    // stored block's header): refused.
    let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    for cut in 1..hello.len() {
        let r = inflate(&mut Inflater::new(15, false), &hello[..cut]);
        assert_eq!(r, Err(InflateError::Corrupt), "hello cut at {cut}");
    }
    // The empty stored block may have BFINAL set (a final "00" with BFINAL
    // is 0x01): an empty message, and the inflater goes on with a new
    // stream.
    let mut i = Inflater::new(15, false);
    assert_eq!(inflate(&mut i, &[0x01]).unwrap(), b"");
    assert_eq!(inflate(&mut i, &hello).unwrap(), b"Hello");
    // "Hello" ends at bit 50 (3 + 5 * 8 + 7), so BFINAL of the stored
    // block header after it is bit 2 of the last byte.
    let mut fin = hello.to_vec();
    *fin.last_mut().unwrap() = 0x04;
    assert_eq!(inflate(&mut i, &fin).unwrap(), b"Hello");
    assert_eq!(inflate(&mut i, &hello).unwrap(), b"Hello");
    assert_eq!(inflate(&mut i, &[0x01]).unwrap(), b"");
    assert_eq!(inflate(&mut i, &[0x01]).unwrap(), b"");
    assert_eq!(inflate(&mut i, &hello).unwrap(), b"Hello");
}

#[test]
fn bfinal_variants() {
    // BFINAL without the padding octet (not what the RFC says to send, but
    // what a sender that uses Z_FINISH and strips nothing produces).
    let fin = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    let mut i = Inflater::new(15, false);
    assert_eq!(inflate(&mut i, &fin).unwrap(), b"Hello");
    assert_eq!(inflate(&mut i, &fin).unwrap(), b"Hello");
    let mut d = Deflater::new(6, 15, false);
    let next = compress(&mut d, b"after", 100);
    assert_eq!(inflate(&mut i, &next).unwrap(), b"after");
    // An empty final fixed block, as PHP's zlib makes for "": an empty
    // message, and the inflater stays usable.
    assert_eq!(inflate(&mut i, &[0x03, 0x00]).unwrap(), b"");
    assert_eq!(inflate(&mut i, &fin).unwrap(), b"Hello");
    // A final block followed by more blocks in the same message.
    let mut d = Deflater::new(6, 15, false);
    let mut p = fin.to_vec();
    p.extend_from_slice(&compress(&mut d, b", world", 100));
    let mut i = Inflater::new(15, false);
    for chunk in [1, 2, 5, 100] {
        let got = inflate_split(&mut i, &p, chunk, 3);
        assert_eq!(got, b"Hello, world");
    }
    // Final-block streams back to back, one byte at a time. (Not after
    // the RFC's padding octet: that octet opens a stored block whose
    // LEN/NLEN are the 00 00 ff ff tail, so nothing may follow it.)
    let p = fin.repeat(3);
    assert_eq!(inflate_split(&mut i, &p, 1, 1), b"HelloHelloHello");
    let mut bad = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00].repeat(2);
    bad.pop();
    assert_eq!(
        inflate(&mut Inflater::new(15, false), &bad),
        Err(InflateError::Corrupt)
    );
}

#[test]
fn the_window_carries_across_a_final_block() {
    // A sender that ends each message with Z_FINISH (BFINAL set) and keeps its
    // context by priming the next stream with what it sent, as deflaters without a
    // sync flush do: the next message refers back across the final block.
    let first = b"Hello, WebSocket world! ".repeat(3);
    let second = b"Hello again, WebSocket world!";
    let mut c = flate2::Compress::new(flate2::Compression::default(), false);
    let mut p1 = Vec::with_capacity(256);
    c.compress_vec(&first, &mut p1, flate2::FlushCompress::Finish)
        .unwrap();
    let mut c = flate2::Compress::new(flate2::Compression::default(), false);
    c.set_dictionary(&first).unwrap();
    let mut p2 = Vec::with_capacity(256);
    c.compress_vec(second, &mut p2, flate2::FlushCompress::Sync)
        .unwrap();
    p2.truncate(p2.len() - 4);
    // Without the window the second message does not inflate at all.
    let mut fresh = Inflater::new(15, false);
    assert_eq!(inflate(&mut fresh, &p2), Err(InflateError::Corrupt));
    for (chunk, scratch) in [(1, 1), (3, 7), (1000, RECOMMENDED_SCRATCH_LEN)] {
        let mut i = Inflater::new(15, false);
        assert_eq!(inflate_split(&mut i, &p1, chunk, scratch), first);
        assert_eq!(inflate_split(&mut i, &p2, chunk, scratch), second);
    }
    // More than a window before the final block: only the last 32 KiB count.
    let long = text(100_000, 3);
    let mut c = flate2::Compress::new(flate2::Compression::default(), false);
    let mut p1 = Vec::with_capacity(long.len());
    c.compress_vec(&long, &mut p1, flate2::FlushCompress::Finish)
        .unwrap();
    let mut c = flate2::Compress::new(flate2::Compression::default(), false);
    c.set_dictionary(&long[long.len() - 32768..]).unwrap();
    let again = &long[long.len() - 20_000..];
    let mut p2 = Vec::with_capacity(again.len());
    c.compress_vec(again, &mut p2, flate2::FlushCompress::Sync)
        .unwrap();
    p2.truncate(p2.len() - 4);
    let mut i = Inflater::new(15, false);
    assert_eq!(inflate(&mut i, &p1).unwrap(), long);
    assert_eq!(inflate(&mut i, &p2).unwrap(), again);
    // With client_no_context_takeover nothing carries over (and none is kept).
    let mut i = Inflater::new(15, true);
    assert!(i.history.is_none());
    assert_eq!(inflate(&mut i, &p1).unwrap(), long);
    assert_eq!(inflate(&mut i, &p2), Err(InflateError::Corrupt));
}

#[test]
fn empty_messages() {
    // Compress: a fresh deflater, after a message, and without takeover.
    for nct in [false, true] {
        let mut d = Deflater::new(6, 15, nct);
        let mut i = Inflater::new(15, nct);
        assert_eq!(compress(&mut d, b"", 1), [0x00]);
        assert_eq!(inflate(&mut i, &[0x00]).unwrap(), b"");
        let p = compress(&mut d, b"abcabcabc", 4);
        assert_eq!(inflate(&mut i, &p).unwrap(), b"abcabcabc");
        let e = compress(&mut d, b"", 1);
        assert_eq!(e, [0x00]);
        assert_eq!(inflate(&mut i, &e).unwrap(), b"");
        // compress_chunk with empty input changes nothing.
        let mut out = Vec::new();
        d.compress_chunk(b"", &mut out).unwrap();
        assert!(out.is_empty());
        d.finish_message(&mut out).unwrap();
        assert_eq!(out, [0x00]);
        assert_eq!(inflate(&mut i, &out).unwrap(), b"");
        // The shared window still works afterwards.
        let p = compress(&mut d, b"abcabcabc", 4);
        assert_eq!(inflate(&mut i, &p).unwrap(), b"abcabcabc");
    }
    // Decompress: a zero-length payload with RSV1 is an empty message
    // and leaves the window intact.
    let mut d = Deflater::new(6, 15, false);
    let mut i = Inflater::new(15, false);
    let p = compress(&mut d, b"hello hello", 100);
    assert_eq!(inflate(&mut i, &p).unwrap(), b"hello hello");
    assert_eq!(inflate(&mut i, b"").unwrap(), b"");
    assert_eq!(inflate(&mut i, b"").unwrap(), b"");
    let p = compress(&mut d, b"hello hello", 100);
    assert_eq!(inflate(&mut i, &p).unwrap(), b"hello hello");
}

#[test]
fn context_takeover_vs_none() {
    let msg = text(2000, 8);
    let mut d = Deflater::new(6, 15, false);
    let first = compress(&mut d, &msg, 500);
    let second = compress(&mut d, &msg, 500);
    assert!(
        second.len() * 4 < first.len(),
        "{} vs {}",
        second.len(),
        first.len()
    );
    let mut i = Inflater::new(15, false);
    assert_eq!(inflate(&mut i, &first).unwrap(), msg);
    assert_eq!(inflate(&mut i, &second).unwrap(), msg);
    // The second alone refers to the first: undecodable on its own.
    assert_eq!(
        inflate(&mut Inflater::new(15, false), &second),
        Err(InflateError::Corrupt)
    );

    let mut d = Deflater::new(6, 15, true);
    let first = compress(&mut d, &msg, 500);
    let second = compress(&mut d, &msg, 500);
    assert_eq!(first, second);
    // Each decodes independently.
    assert_eq!(
        inflate(&mut Inflater::new(15, false), &second).unwrap(),
        msg
    );
    let mut i = Inflater::new(15, true);
    assert_eq!(inflate(&mut i, &first).unwrap(), msg);
    assert_eq!(inflate(&mut i, &second).unwrap(), msg);
}

#[test]
fn explicit_reset() {
    let mut d = Deflater::new(6, 12, false);
    let mut i = Inflater::new(12, false);
    let p = compress(&mut d, b"repeat repeat repeat", 100);
    assert_eq!(inflate(&mut i, &p).unwrap(), b"repeat repeat repeat");
    d.reset();
    i.reset();
    let p = compress(&mut d, b"repeat repeat repeat", 100);
    assert_eq!(
        inflate(&mut Inflater::new(12, false), &p).unwrap(),
        b"repeat repeat repeat"
    );
    assert_eq!(inflate(&mut i, &p).unwrap(), b"repeat repeat repeat");
    // Reset mid-message discards the partial message.
    let mut s = [0u8; 16];
    assert!(
        i.inflate_chunk(&p[..p.len() / 2], &mut s, &mut |_: &[u8]| Ok::<(), ()>(()))
            .is_ok()
    );
    i.reset();
    assert_eq!(inflate(&mut i, &p).unwrap(), b"repeat repeat repeat");
}

#[test]
fn bomb_stops_at_the_sink() {
    // 64 MiB of zeros in about 64 KiB: 1 MiB of zeros compressed (a
    // literal 0 and then copies at distance 1), sync-flushed, repeated 64
    // times. Each copy decodes to the same 1 MiB of zeros since its back
    // references only reach zeros. (Compressing 64 MiB for real takes
    // seconds in a debug build.)
    let mut d = Deflater::new(6, 15, true);
    let mut one = Vec::new();
    d.compress_message(&vec![0u8; 1 << 20], &mut one).unwrap();
    one.extend_from_slice(&TRAILER);
    let bomb = |copies: usize| {
        let mut p = one.repeat(copies);
        p.truncate(p.len() - TRAILER.len());
        p
    };
    let small = bomb(4);
    let got = inflate(&mut Inflater::new(15, false), &small).unwrap();
    assert!(got.len() == 4 << 20 && got.iter().all(|&b| b == 0));
    let p = bomb(64);
    assert!(p.len() < 80 * 1024, "{}", p.len());

    const LIMIT: usize = 1 << 20;
    for scratch_len in [1024, RECOMMENDED_SCRATCH_LEN, 64 * 1024] {
        for chunk in [p.len(), 4096, 1] {
            let mut scratch = vec![0u8; scratch_len];
            let mut seen = 0usize;
            let mut refused = false;
            let mut sink = |b: &[u8]| {
                assert!(!refused, "sink called after refusing");
                seen += b.len();
                if seen > LIMIT {
                    refused = true;
                    Err("too big")
                } else {
                    Ok(())
                }
            };
            let mut i = Inflater::new(15, false);
            let mut result = Ok(());
            for c in p.chunks(chunk) {
                result = i.inflate_chunk(c, &mut scratch, &mut sink);
                if result.is_err() {
                    break;
                }
            }
            assert_eq!(result, Err(InflateError::Sink("too big")));
            assert!(seen <= LIMIT + scratch_len, "inflated {seen}");
        }
    }
}

#[test]
fn sink_error_in_finish_propagates() {
    let mut d = Deflater::new(6, 15, false);
    // Short message: all output only comes out with the trailer.
    let p = compress(&mut d, b"x", 1);
    let mut i = Inflater::new(15, false);
    let mut scratch = [0u8; 64];
    let mut sink = |_: &[u8]| Err::<(), u8>(7);
    let r = i.inflate_chunk(&p, &mut scratch, &mut sink);
    let r = r.and_then(|()| i.finish_message(&mut scratch, &mut sink));
    assert_eq!(r, Err(InflateError::Sink(7)));
}

#[test]
fn corrupt_input_is_typed() {
    let cases: &[&[u8]] = &[
        &[0xff, 0xff, 0xff],                   // BTYPE 11 (reserved)
        &[0x07],                               // BTYPE 11 too
        &[0x00, 0x05, 0x00, 0x00, 0x00, b'a'], // stored LEN/NLEN mismatch
        &[0xf2, 0x00, 0x11, 0x00, 0x00],       // distance too far back on a fresh window
        &[0x04, 0xff, 0xff, 0xff, 0xff, 0xff], // bad dynamic header
    ];
    for &c in cases {
        let r = inflate(&mut Inflater::new(15, false), c);
        assert_eq!(r, Err(InflateError::Corrupt), "{c:02x?}");
    }
    // A corruption in the middle of a good stream.
    let mut d = Deflater::new(6, 15, false);
    let mut p = compress(&mut d, &text(10_000, 1), 10_000);
    let mid = p.len() / 2;
    p[mid] ^= 0xff;
    p[mid + 1] ^= 0x55;
    let r = inflate(&mut Inflater::new(15, false), &p);
    // Flipped bits may still decode to other data; they must not panic.
    if let Err(e) = r {
        assert_eq!(e, InflateError::Corrupt);
    }
}

#[test]
fn garbage_never_panics() {
    let mut s = 99u64;
    let mut scratch = [0u8; 300];
    for round in 0..3000 {
        let len = (xorshift(&mut s) % 200) as usize;
        let g = random_bytes(len, xorshift(&mut s));
        let mut i = Inflater::new(9 + (round % 7) as u8, round % 2 == 0);
        let mut total = 0usize;
        let mut sink = |b: &[u8]| {
            total += b.len();
            if total > 1 << 20 { Err(()) } else { Ok(()) }
        };
        for c in g.chunks(1 + round % 13) {
            if i.inflate_chunk(c, &mut scratch, &mut sink).is_err() {
                break;
            }
        }
        let _ = i.finish_message(&mut scratch, &mut sink);
    }
}

#[test]
fn interop_with_flate2_streams() {
    for data in [
        text(100_000, 3),
        random_bytes(10_000, 3),
        b"x".to_vec(),
        Vec::new(),
    ] {
        // flate2's raw encoder: flush() is a sync flush.
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), Compression::new(5));
        enc.write_all(&data).unwrap();
        enc.flush().unwrap();
        let mut p = enc.get_ref().clone();
        assert!(p.ends_with(&TRAILER));
        p.truncate(p.len() - 4);
        assert_eq!(inflate(&mut Inflater::new(15, false), &p).unwrap(), data);

        // The reverse: our payload + trailer through flate2's raw decoder.
        let mut d = Deflater::new(6, 15, false);
        let mut ours = compress(&mut d, &data, 999);
        ours.extend_from_slice(&TRAILER);
        let mut dec = flate2::write::DeflateDecoder::new(Vec::new());
        dec.write_all(&ours).unwrap();
        dec.flush().unwrap();
        assert_eq!(dec.get_ref(), &data);
    }
    // flate2 ending the stream with finish() (BFINAL set) is accepted too.
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), Compression::new(5));
    enc.write_all(b"final block").unwrap();
    let p = enc.finish().unwrap();
    let mut i = Inflater::new(15, false);
    assert_eq!(inflate(&mut i, &p).unwrap(), b"final block");
    assert_eq!(inflate(&mut i, &p).unwrap(), b"final block");
}

#[test]
fn output_growth_is_bounded() {
    // Highly compressible input must not make `out` reserve its size.
    let zeros = vec![0u8; 8 << 20];
    let mut d = Deflater::new(6, 15, false);
    let mut out = Vec::new();
    d.compress_chunk(&zeros, &mut out).unwrap();
    d.finish_message(&mut out).unwrap();
    assert!(
        out.capacity() <= 2 * out.len() + 2 * MAX_RESERVE_AHEAD,
        "{}",
        out.capacity()
    );
    // Incompressible input: capacity within 2x of the output.
    let rnd = random_bytes(1 << 20, 1);
    let mut out = Vec::new();
    d.compress_message(&rnd, &mut out).unwrap();
    assert!(out.len() > rnd.len());
    assert!(out.capacity() <= 2 * out.len() + 2 * MAX_RESERVE_AHEAD);
    // Appends after existing content.
    let mut out = b"hdr".to_vec();
    Deflater::new(6, 15, false)
        .compress_message(b"abc", &mut out)
        .unwrap();
    assert_eq!(&out[..3], b"hdr");
    assert_eq!(
        inflate(&mut Inflater::new(15, false), &out[3..]).unwrap(),
        b"abc"
    );
}

#[test]
fn from_params() {
    let p = DeflateParams {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        server_max_window_bits: 10,
        client_max_window_bits: 8,
        server_max_window_bits_offered: true,
    };
    let mut d = Deflater::from_params(&p, 6);
    let mut i = Inflater::from_params(&p);
    let msg = text(5000, 1);
    for _ in 0..3 {
        let payload = compress(&mut d, &msg, 1000);
        assert_eq!(
            inflate(&mut Inflater::new(10, false), &payload).unwrap(),
            msg
        );
        assert_eq!(inflate(&mut i, &payload).unwrap(), msg);
    }
}

/// What a reference decoder (flate2's raw inflate, one call) makes of `payload` with the
/// tail put back: its output if it took every byte without error, else `None`.
fn reference_inflate(payload: &[u8]) -> Option<Vec<u8>> {
    let mut input = payload.to_vec();
    input.extend_from_slice(&TRAILER);
    let mut d = flate2::Decompress::new(false);
    let mut out = Vec::with_capacity(input.len() * 8 + 1024);
    loop {
        out.reserve(64 << 10);
        let before_in = d.total_in();
        let before_out = d.total_out();
        let at = d.total_in() as usize;
        d.decompress_vec(&input[at..], &mut out, flate2::FlushDecompress::Sync)
            .ok()?;
        if d.total_in() as usize == input.len() {
            return Some(out);
        }
        if d.total_in() == before_in && d.total_out() == before_out {
            return None;
        }
    }
}

/// The property `check_trailer` stands for (its doc argues it; this checks it): a
/// payload built as RFC 7692 §7.2.1 says inflates to its message, and whatever prefix
/// of it is accepted (the payload cut anywhere, or with its `00 00 ff ff` kept)
/// inflates to exactly what a reference decoder makes of it with the tail put back (the
/// tail is never taken as message data, whatever block it lands in) and leaves the
/// inflater on a block boundary (the next message reads). A cut is a valid payload of a
/// shorter message where it ends right after a stored block's header.
#[test]
fn an_accepted_payload_inflates_as_a_reference_decoder_reads_it() {
    let mut seed = 1u64;
    for &size in &[0usize, 1, 3, 40, 300, 5000] {
        for level in [0, 1, 6, 9] {
            for window in [9, 15] {
                seed += 1;
                let data = if seed.is_multiple_of(2) {
                    text(size, seed)
                } else {
                    random_bytes(size, seed)
                };
                let mut d = Deflater::new(level, window, true);
                let payload = compress(&mut d, &data, 700);
                let fresh = || Inflater::new(15, true);
                let case = format!("{size} B, level {level}, window {window}");
                assert_eq!(
                    inflate(&mut fresh(), &payload).ok(),
                    Some(data.clone()),
                    "{case}"
                );
                let mut kept = payload.clone();
                kept.extend_from_slice(&TRAILER);
                // A message that needs nothing of the window, to follow an accepted one.
                let next_data = text(100, seed + 1000);
                let next = compress(&mut Deflater::new(6, 15, true), &next_data, 700);
                for cut in (0..payload.len()).map(|c| &payload[..c]).chain([&kept[..]]) {
                    let mut takeover = Inflater::new(15, false);
                    if let Ok(out) = inflate(&mut takeover, cut) {
                        // Accepted, it ended on a block boundary: the next message reads.
                        assert_eq!(
                            inflate(&mut takeover, &next).ok().as_ref(),
                            Some(&next_data),
                            "{case}: after {} of {} bytes accepted, the next message garbled",
                            cut.len(),
                            payload.len()
                        );
                        assert!(data.starts_with(&out), "{case}: bytes not sent");
                        assert_eq!(
                            Some(&out),
                            reference_inflate(cut).as_ref(),
                            "{case}: {} of {} bytes accepted, inflated otherwise than a \
                             reference decoder reads it",
                            cut.len(),
                            payload.len()
                        );
                    }
                }
            }
        }
    }
}
