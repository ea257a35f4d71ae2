//! Client-to-server masking (RFC 6455 §5.3).
//!
//! "Octet i of the transformed data is the XOR of octet i of the original data with
//! octet at index i modulo 4 of the masking key." Payloads are unmasked in place as
//! they stream in, so a chunk may start at any offset into the payload.

/// XORs `buf` with `mask_key`, where `buf[0]` is payload octet number `offset`.
/// Returns nothing; the caller advances its offset by `buf.len()`.
#[inline]
pub fn apply_mask(buf: &mut [u8], mask_key: [u8; 4], offset: u64) {
    // The key lined up with buf[0]; as a word of two keys, one XOR covers eight octets.
    let key64 = rotate_key(key_word(mask_key), offset as usize);
    let key32 = key64 as u32;

    let mut rest = buf;
    if rest.len() >= 64 {
        // Wide chunks let the compiler vectorize; 32 bytes keep every chunk key-aligned.
        let mut chunks = rest.chunks_exact_mut(32);
        for chunk in &mut chunks {
            for word in chunk.chunks_exact_mut(8) {
                xor_word(word, key64);
            }
        }
        rest = chunks.into_remainder();
    }
    let mut words = rest.chunks_exact_mut(8);
    for word in &mut words {
        xor_word(word, key64);
    }
    // At most seven octets left: one 4-octet step (still key-aligned), then single octets.
    let tail = words.into_remainder();
    let tail = match tail.split_first_chunk_mut::<4>() {
        Some((four, tail)) => {
            *four = (u32::from_ne_bytes(*four) ^ key32).to_ne_bytes();
            tail
        }
        None => tail,
    };
    for (b, k) in tail.iter_mut().zip(key32.to_ne_bytes()) {
        *b ^= k;
    }
}

/// Unmasks a whole payload of `len` octets at `src` into `dst`, which may overlap it
/// from below: this is how a small echo is rebuilt in place, each frame a few octets
/// before where it arrived. Returns the OR of the unmasked octets spread over a word:
/// where no octet has its high bit set the payload is ASCII.
///
/// # Safety
/// `src..src + len` must be readable and `dst..dst + len` writable, in one allocation,
/// with `dst <= src`.
#[inline(always)]
pub(crate) unsafe fn unmask_move(
    src: *const u8,
    dst: *mut u8,
    len: usize,
    mask_key: [u8; 4],
) -> u64 {
    let key64 = key_word(mask_key);
    let key32 = key64 as u32;
    // The last octets are read first and written last, as one (or two) words that may
    // overlap the words before them: no loop handles a remainder. Copying front to back
    // with dst <= src, every other word is read before the word it becomes is written,
    // and no write reaches octets not yet read. Writing an octet twice writes it twice
    // with the same value.
    // SAFETY: every access is below `len` octets past `src` or `dst`, as the caller
    // guarantees.
    unsafe {
        if len >= 16 {
            let tail = len - 16;
            let key = rotate_key(key64, tail);
            let last = [read64(src, tail) ^ key, read64(src, tail + 8) ^ key];
            let mut seen = last[0] | last[1];
            let mut at = 0;
            while at < tail {
                let pair = [read64(src, at) ^ key64, read64(src, at + 8) ^ key64];
                write64(dst, at, pair[0]);
                write64(dst, at + 8, pair[1]);
                seen |= pair[0] | pair[1];
                at += 16;
            }
            write64(dst, tail, last[0]);
            write64(dst, tail + 8, last[1]);
            seen
        } else if len >= 8 {
            let tail = len - 8;
            let first = read64(src, 0) ^ key64;
            let last = read64(src, tail) ^ rotate_key(key64, tail);
            write64(dst, 0, first);
            write64(dst, tail, last);
            first | last
        } else if len >= 4 {
            let tail = len - 4;
            let first = src.cast::<u32>().read_unaligned() ^ key32;
            let last =
                src.add(tail).cast::<u32>().read_unaligned() ^ rotate_key(key64, tail) as u32;
            dst.cast::<u32>().write_unaligned(first);
            dst.add(tail).cast::<u32>().write_unaligned(last);
            u64::from(first | last)
        } else {
            let mut seen = 0;
            for (i, k) in mask_key.into_iter().enumerate().take(len) {
                let octet = *src.add(i) ^ k;
                *dst.add(i) = octet;
                seen |= u64::from(octet);
            }
            seen
        }
    }
}

/// The mask key twice over, in memory order: one XOR unmasks eight octets that start at
/// a multiple of 4 into the payload, whatever the endianness. Its low 32 bits are the key.
#[inline(always)]
fn key_word(mask_key: [u8; 4]) -> u64 {
    let key32 = u32::from_ne_bytes(mask_key);
    u64::from(key32) | (u64::from(key32) << 32)
}

/// The key word for a word starting at payload octet `offset`: the key rotated so that
/// its octet `offset % 4` comes first in memory (a right rotation of the native integer
/// on little-endian machines). Both halves stay equal, so the low 32 bits are the
/// rotated key.
#[inline(always)]
fn rotate_key(key64: u64, offset: usize) -> u64 {
    let shift = (offset % 4) as u32 * 8;
    if cfg!(target_endian = "little") {
        key64.rotate_right(shift)
    } else {
        key64.rotate_left(shift)
    }
}

/// # Safety
/// `p + at .. p + at + 8` must be readable.
#[inline(always)]
unsafe fn read64(p: *const u8, at: usize) -> u64 {
    // SAFETY: the caller guarantees the 8 octets are readable; no alignment is assumed.
    unsafe { p.add(at).cast::<u64>().read_unaligned() }
}

/// # Safety
/// `p + at .. p + at + 8` must be writable.
#[inline(always)]
unsafe fn write64(p: *mut u8, at: usize, word: u64) {
    // SAFETY: the caller guarantees the 8 octets are writable; no alignment is assumed.
    unsafe { p.add(at).cast::<u64>().write_unaligned(word) }
}

#[inline(always)]
fn xor_word(word: &mut [u8], key64: u64) {
    if let Ok(w) = <&mut [u8; 8]>::try_from(word) {
        *w = (u64::from_ne_bytes(*w) ^ key64).to_ne_bytes();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(buf: &mut [u8], key: [u8; 4], offset: u64) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[((offset + i as u64) % 4) as usize];
        }
    }

    #[test]
    fn matches_the_rfc_definition_at_every_alignment_offset_and_length() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for start in 0..16 {
            for len in 0..(data.len() - start) {
                for offset in 0..8u64 {
                    let mut fast = data.clone();
                    let mut slow = data.clone();
                    apply_mask(&mut fast[start..start + len], key, offset);
                    naive(&mut slow[start..start + len], key, offset);
                    assert_eq!(fast, slow, "start {start} len {len} offset {offset}");
                }
            }
        }
    }

    #[test]
    fn unmasking_in_chunks_equals_unmasking_whole() {
        let key = [1, 2, 3, 4];
        let data: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        let mut whole = data.clone();
        apply_mask(&mut whole, key, 0);
        for split in [1usize, 3, 5, 7, 33, 999] {
            let mut parts = data.clone();
            let mut off = 0u64;
            for chunk in parts.chunks_mut(split) {
                apply_mask(chunk, key, off);
                off += chunk.len() as u64;
            }
            assert_eq!(parts, whole, "split {split}");
        }
    }

    #[test]
    fn unmask_move_matches_unmask_then_move_for_every_gap_and_length() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        for gap in 0..12 {
            for len in 0..140 {
                let mut region: Vec<u8> = (0..gap + len).map(|i| (i * 13 + 5) as u8).collect();
                let mut expected = region[gap..].to_vec();
                naive(&mut expected, key, 0);
                let base = region.as_mut_ptr();
                // SAFETY: both ranges lie in `region`, and dst <= src.
                let seen = unsafe { unmask_move(base.add(gap), base, len, key) };
                assert_eq!(&region[..len], &expected[..], "gap {gap} len {len}");
                let high = expected.iter().any(|b| b & 0x80 != 0);
                assert_eq!(
                    seen & 0x8080_8080_8080_8080 != 0,
                    high,
                    "gap {gap} len {len}"
                );
            }
        }
    }

    #[test]
    fn rfc_example_hello() {
        // RFC 6455 §5.7: a masked "Hello".
        let mut payload = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
        apply_mask(&mut payload, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(&payload, b"Hello");
    }
}
