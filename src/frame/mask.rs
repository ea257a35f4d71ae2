//! Client-to-server masking (RFC 6455 §5.3).
//!
//! "Octet i of the transformed data is the XOR of octet i of the original data with
//! octet at index i modulo 4 of the masking key." Payloads are unmasked in place as
//! they stream in, so a chunk may start at any offset into the payload.

/// XORs `buf` with `mask_key`, where `buf[0]` is payload octet number `offset`.
/// Returns nothing; the caller advances its offset by `buf.len()`.
#[inline]
pub fn apply_mask(buf: &mut [u8], mask_key: [u8; 4], offset: u64) {
    // Rotate the key so that its first octet lines up with buf[0]: in memory order,
    // which is a right rotation of the native integer on little-endian machines.
    let shift = (offset % 4) as u32 * 8;
    let key32 = u32::from_ne_bytes(mask_key);
    let key32 = if cfg!(target_endian = "little") {
        key32.rotate_right(shift)
    } else {
        key32.rotate_left(shift)
    };
    // The key twice over: one XOR covers eight payload octets, whatever the endianness.
    let key64 = u64::from(key32) | (u64::from(key32) << 32);

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
    fn rfc_example_hello() {
        // RFC 6455 §5.7: a masked "Hello".
        let mut payload = [0x7f, 0x9f, 0x4d, 0x51, 0x58];
        apply_mask(&mut payload, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(&payload, b"Hello");
    }
}
