//! What every message carries, so echoes can be checked byte for byte without keeping a
//! copy of each message sent: a fixed pattern with the message's sequence number in front.

use crate::mask::{Rng, key_word, mask_copy};

/// Frame opcodes the harness sends as messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Binary,
    Text,
}

impl Kind {
    pub fn opcode(self) -> u8 {
        match self {
            Kind::Binary => crate::frame::OP_BINARY,
            Kind::Text => crate::frame::OP_TEXT,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Binary => "binary",
            Kind::Text => "text",
        }
    }
}

/// Bytes of the sequence number at the start of every message (fewer if the message is shorter).
const PREFIX: usize = 8;

/// The content of message number `seq`: `prefix(seq)` then `pattern[PREFIX..]`.
#[derive(Debug)]
pub struct Payload {
    pub kind: Kind,
    pub size: usize,
    pattern: Vec<u8>,
}

impl Payload {
    pub fn new(kind: Kind, size: usize) -> Payload {
        let mut rng = Rng::new(size as u64 + 17);
        let pattern = (0..size)
            .map(|_| {
                let r = rng.next_u64();
                match kind {
                    Kind::Binary => (r >> 24) as u8,
                    // Printable ASCII keeps every message valid UTF-8 wherever it is cut.
                    Kind::Text => b' ' + ((r >> 24) % 95) as u8,
                }
            })
            .collect();
        Payload {
            kind,
            size,
            pattern,
        }
    }

    fn prefix_len(&self) -> usize {
        PREFIX.min(self.size)
    }

    /// The sequence number as it appears in the message, least significant part first:
    /// raw little-endian for binary, lowercase hex digits for text.
    fn prefix(&self, seq: u64) -> [u8; PREFIX] {
        match self.kind {
            Kind::Binary => seq.to_le_bytes(),
            Kind::Text => {
                std::array::from_fn(|i| b"0123456789abcdef"[((seq >> (4 * i)) & 15) as usize])
            }
        }
    }

    /// Writes bytes `offset..offset + dst.len()` of message `seq` into `dst`.
    pub fn fill(&self, seq: u64, offset: usize, dst: &mut [u8]) {
        let split = self.prefix_len().saturating_sub(offset).min(dst.len());
        if split > 0 {
            dst[..split].copy_from_slice(&self.prefix(seq)[offset..offset + split]);
        }
        let (from, rest) = (offset + split, dst.len() - split);
        dst[split..].copy_from_slice(&self.pattern[from..from + rest]);
    }

    /// Writes all of message `seq` into `dst` (exactly `size` long), masked with `key`.
    pub fn write_masked(&self, seq: u64, dst: &mut [u8], key: [u8; 4]) {
        if let Some((head, tail)) = dst.split_first_chunk_mut::<PREFIX>() {
            // The whole prefix is one masked word; the pattern after it starts at key phase 0.
            let k64 = key_word(key, 0);
            *head = (u64::from_ne_bytes(self.prefix(seq)) ^ k64).to_ne_bytes();
            mask_copy(tail, &self.pattern[PREFIX..], key, 0);
            return;
        }
        let p = self.prefix_len();
        let (head, tail) = dst.split_at_mut(p);
        mask_copy(head, &self.prefix(seq)[..p], key, 0);
        mask_copy(tail, &self.pattern[p..], key, p as u64);
    }

    /// Whether `got` is all of message `seq`, compared a word at a time with no call out:
    /// for the short messages whose per-message cost matters.
    pub fn matches_whole(&self, seq: u64, got: &[u8]) -> bool {
        if got.len() != self.size {
            return false;
        }
        let Some((head, tail)) = got.split_first_chunk::<PREFIX>() else {
            return self.matches(seq, 0, got);
        };
        let mut diff = u64::from_ne_bytes(*head) ^ u64::from_ne_bytes(self.prefix(seq));
        let want = &self.pattern[PREFIX..];
        let mut g = tail.chunks_exact(8);
        let mut w = want.chunks_exact(8);
        for (a, b) in (&mut g).zip(&mut w) {
            diff |= u64::from_ne_bytes(a.try_into().expect("8"))
                ^ u64::from_ne_bytes(b.try_into().expect("8"));
        }
        for (a, b) in g.remainder().iter().zip(w.remainder()) {
            diff |= (a ^ b) as u64;
        }
        diff == 0
    }

    /// Whether `got` equals bytes `offset..offset + got.len()` of message `seq`; the pattern
    /// part is a plain slice comparison (memcmp), so checking costs about as much as copying.
    pub fn matches(&self, seq: u64, offset: usize, got: &[u8]) -> bool {
        let split = self.prefix_len().saturating_sub(offset).min(got.len());
        if split > 0 && got[..split] != self.prefix(seq)[offset..offset + split] {
            return false;
        }
        let from = offset + split;
        got[split..] == self.pattern[from..from + got.len() - split]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_and_matches_agree_across_chunkings() {
        for kind in [Kind::Binary, Kind::Text] {
            for size in [0, 3, 8, 20, 100] {
                let p = Payload::new(kind, size);
                let mut whole = vec![0; size];
                p.fill(0x1234_5678_9abc, 0, &mut whole);
                for cut in 0..=size {
                    let mut a = vec![0; cut];
                    let mut b = vec![0; size - cut];
                    p.fill(0x1234_5678_9abc, 0, &mut a);
                    p.fill(0x1234_5678_9abc, cut, &mut b);
                    assert_eq!([a.clone(), b.clone()].concat(), whole);
                    assert!(p.matches(0x1234_5678_9abc, 0, &a));
                    assert!(p.matches(0x1234_5678_9abc, cut, &b));
                }
                assert!(p.matches_whole(0x1234_5678_9abc, &whole));
                for i in 0..size {
                    let mut bad = whole.clone();
                    bad[i] ^= 0x40;
                    assert!(!p.matches_whole(0x1234_5678_9abc, &bad), "byte {i}");
                }
                if size > 0 {
                    assert!(!p.matches_whole(0x1234_5678_9abc, &whole[1..]));
                }
                let key = [0x11, 0x22, 0x33, 0x44];
                let mut masked = vec![0; size];
                p.write_masked(0x1234_5678_9abc, &mut masked, key);
                crate::mask::apply_mask(&mut masked, key, 0);
                assert_eq!(masked, whole);
                if size > 0 {
                    assert!(!p.matches(0x1234_5678_9abd, 0, &whole));
                }
                if kind == Kind::Text {
                    assert!(std::str::from_utf8(&whole).is_ok());
                }
            }
        }
    }
}
