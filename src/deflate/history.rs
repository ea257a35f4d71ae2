//! The last 32 KiB the client's compressed messages inflated to, for the one case zlib
//! cannot carry its window across: a DEFLATE block with BFINAL set ends zlib's stream,
//! yet RFC 7692 lets a sender go on afterwards with the same sliding window (§7.2.3.3
//! allows BFINAL blocks; §7.2.2: with context takeover the server "MUST decompress each
//! new message using the LZ77 sliding window used to process the last compressed
//! message"). A new stream is primed with these bytes as a stored block whose output is
//! discarded: the same window, with only the stable zlib-rs API.

/// The largest DEFLATE window (15 bits).
pub(super) const WINDOW: usize = 1 << 15;

/// A ring of the most recent inflated bytes, up to [`WINDOW`].
pub(super) struct History {
    ring: Box<[u8]>,
    /// Where the next byte goes.
    next: usize,
    /// Bytes held (at most `WINDOW`).
    len: usize,
}

impl History {
    pub(super) fn new() -> Self {
        History {
            ring: vec![0; WINDOW].into_boxed_slice(),
            next: 0,
            len: 0,
        }
    }

    /// Records bytes the inflater produced.
    pub(super) fn push(&mut self, mut bytes: &[u8]) {
        if bytes.len() >= WINDOW {
            bytes = &bytes[bytes.len() - WINDOW..];
        }
        // At most two copies: up to the ring's end, then from its start.
        let first = bytes.len().min(WINDOW - self.next);
        self.ring[self.next..self.next + first].copy_from_slice(&bytes[..first]);
        let rest = &bytes[first..];
        self.ring[..rest.len()].copy_from_slice(rest);
        self.next = (self.next + bytes.len()) % WINDOW;
        self.len = (self.len + bytes.len()).min(WINDOW);
    }

    pub(super) fn clear(&mut self) {
        self.next = 0;
        self.len = 0;
    }

    /// A non-final stored DEFLATE block (RFC 1951 §3.2.4) holding the history, oldest
    /// byte first; empty when there is none. It starts on a byte boundary, as a fresh
    /// stream does.
    pub(super) fn stored_block(&self) -> Vec<u8> {
        if self.len == 0 {
            return Vec::new();
        }
        // `len` is at most 32 KiB, within a stored block's 16-bit LEN.
        let len = self.len as u16;
        let mut block = Vec::with_capacity(5 + self.len);
        // BFINAL = 0, BTYPE = 00, then padding to the byte boundary.
        block.push(0);
        block.extend_from_slice(&len.to_le_bytes());
        block.extend_from_slice(&(!len).to_le_bytes());
        let start = (self.next + WINDOW - self.len) % WINDOW;
        if start + self.len <= WINDOW {
            block.extend_from_slice(&self.ring[start..start + self.len]);
        } else {
            block.extend_from_slice(&self.ring[start..]);
            block.extend_from_slice(&self.ring[..self.next]);
        }
        block
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(h: &History) -> Vec<u8> {
        let block = h.stored_block();
        if block.is_empty() {
            return Vec::new();
        }
        let len = u16::from_le_bytes([block[1], block[2]]);
        assert_eq!(!len, u16::from_le_bytes([block[3], block[4]]), "NLEN");
        assert_eq!(block[0], 0, "a non-final stored block header");
        assert_eq!(block.len(), 5 + usize::from(len));
        block[5..].to_vec()
    }

    #[test]
    fn keeps_the_last_window_in_order_across_wraps() {
        let mut h = History::new();
        assert!(held(&h).is_empty());
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut fed = 0;
        for piece in [1, 5000, 30_000, 2, 40_000, 24_997] {
            h.push(&data[fed..fed + piece]);
            fed += piece;
            let start = fed.saturating_sub(WINDOW);
            assert_eq!(held(&h), &data[start..fed], "after {fed} bytes");
        }
        h.clear();
        assert!(held(&h).is_empty());
    }
}
