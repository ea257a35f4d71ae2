//! Client-side masking (RFC 6455 §5.3) and the cheap generator behind mask keys.

/// xorshift64: mask keys only need to vary per frame here. RFC 6455 wants them unpredictable
/// to stop cache poisoning through proxies, which cannot happen on loopback, and a cheap
/// generator keeps the load generator off the critical path.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // Zero is xorshift's one fixed point; mix the seed so neighbouring seeds diverge.
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn mask_key(&mut self) -> [u8; 4] {
        (self.next_u64() as u32).to_ne_bytes()
    }
}

/// Eight bytes of mask in memory order, starting at the key byte for payload `offset`.
pub fn key_word(key: [u8; 4], offset: u64) -> u64 {
    let k = u32::from_le_bytes(key).rotate_right(8 * (offset % 4) as u32);
    u64::from_ne_bytes(((k as u64) | (k as u64) << 32).to_le_bytes())
}

/// XORs `buf` with `key`, where `buf[0]` is the payload byte at `offset`: frames are masked
/// and unmasked in chunks as they stream through fixed buffers, so the key phase must follow
/// the offset. Works eight bytes at a time (the compiler widens it further).
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: u64) {
    let k64 = key_word(key, offset);
    let mut words = buf.chunks_exact_mut(8);
    for w in &mut words {
        let v = u64::from_ne_bytes((&*w).try_into().expect("chunk of 8")) ^ k64;
        w.copy_from_slice(&v.to_ne_bytes());
    }
    // The tail starts at a multiple of 8 from `buf[0]`, so the rotated key lines up again.
    let mut kt = u64::from_le_bytes(k64.to_ne_bytes());
    for b in words.into_remainder() {
        *b ^= kt as u8;
        kt >>= 8;
    }
}

/// Writes `src` masked with `key` into `dst` (same length), where `src[0]` is the payload
/// byte at `offset`: a copy and a mask in one pass, eight bytes at a time.
pub fn mask_copy(dst: &mut [u8], src: &[u8], key: [u8; 4], offset: u64) {
    assert_eq!(dst.len(), src.len());
    let k64 = key_word(key, offset);
    let mut d = dst.chunks_exact_mut(8);
    let mut s = src.chunks_exact(8);
    for (dw, sw) in (&mut d).zip(&mut s) {
        let v = u64::from_ne_bytes(sw.try_into().expect("chunk of 8")) ^ k64;
        dw.copy_from_slice(&v.to_ne_bytes());
    }
    let mut kt = u64::from_le_bytes(k64.to_ne_bytes());
    for (db, sb) in d.into_remainder().iter_mut().zip(s.remainder()) {
        *db = sb ^ kt as u8;
        kt >>= 8;
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
    fn matches_bytewise_masking_at_every_phase_and_length() {
        let key = [0x12, 0x34, 0x56, 0x78];
        for offset in 0..8u64 {
            for len in 0..40usize {
                let data: Vec<u8> = (0..len as u8).collect();
                let (mut a, mut b) = (data.clone(), data.clone());
                apply_mask(&mut a, key, offset);
                naive(&mut b, key, offset);
                assert_eq!(a, b, "offset {offset} len {len}");
            }
        }
    }

    #[test]
    fn mask_copy_equals_copy_then_mask() {
        let key = [0x9a, 0xbc, 0xde, 0xf0];
        for offset in 0..8u64 {
            for len in 0..40usize {
                let src: Vec<u8> = (0..len as u8).map(|b| b.wrapping_mul(37)).collect();
                let mut a = src.clone();
                apply_mask(&mut a, key, offset);
                let mut b = vec![0; len];
                mask_copy(&mut b, &src, key, offset);
                assert_eq!(a, b, "offset {offset} len {len}");
            }
        }
    }

    #[test]
    fn chunked_masking_equals_whole_masking() {
        let key = [1, 2, 3, 4];
        let data: Vec<u8> = (0..100u8).collect();
        let mut whole = data.clone();
        apply_mask(&mut whole, key, 0);
        let mut parts = data.clone();
        let (a, b) = parts.split_at_mut(37);
        apply_mask(a, key, 0);
        apply_mask(b, key, 37);
        assert_eq!(whole, parts);
    }
}
