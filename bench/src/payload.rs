//! What every message carries, so echoes can be checked byte for byte without keeping a
//! copy of each message sent: a fixed pattern with the message's sequence number in front.

use crate::mask::Rng;

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
