//! A case run's wire log, in wsecho's trace format (the text lines of `--trace`): the
//! frames each way and how the connection ended, as Autobahn's reports show its wire
//! log. Bounded: past [`MAX_BYTES`] only a count of the lines left out is kept.

use crate::trace::{Dir, Item, Origin, Shown, write_text};

/// The most of a run's log kept.
pub(crate) const MAX_BYTES: usize = 8 << 10;
/// The most payload bytes shown per frame.
const SHOW: usize = 32;

/// One run's log.
#[derive(Debug, Default, Clone)]
pub(crate) struct WireLog {
    text: String,
    seq: u64,
    left_out: u64,
}

impl WireLog {
    /// Whether more lines would still be kept.
    pub(crate) fn has_room(&self) -> bool {
        self.text.len() < MAX_BYTES
    }

    fn note(&mut self, item: &Item) {
        self.seq += 1;
        if !self.has_room() {
            self.left_out += 1;
            return;
        }
        let origin = Origin {
            conn: 0,
            peer: "case",
            stream: None,
        };
        write_text(&mut self.text, &origin, self.seq, item);
    }

    /// A frame, sent (`tx`) or received, with the start of its payload (unmasked).
    pub(crate) fn frame(
        &mut self,
        tx: bool,
        (fin, rsv, opcode): (bool, u8, u8),
        len: u64,
        mask: Option<[u8; 4]>,
        start: &[u8],
    ) {
        if !self.has_room() {
            self.seq += 1;
            self.left_out += 1;
            return;
        }
        let close = (opcode == 8 && start.len() >= 2).then(|| {
            let code = u16::from_be_bytes([start[0], start[1]]);
            (code, String::from_utf8_lossy(&start[2..]).into_owned())
        });
        self.note(&Item::Frame {
            dir: if tx { Dir::Tx } else { Dir::Rx },
            fin,
            rsv,
            opcode,
            len,
            mask,
            close,
            shown: Shown {
                bytes: start[..start.len().min(SHOW)].to_vec(),
                total: len,
                text: opcode == 1,
            },
            compressed: false,
            inflated: None,
        });
    }

    /// Bytes written as they are (Autobahn's `sendData`).
    pub(crate) fn octets(&mut self, tx: bool, bytes: &[u8]) {
        self.note(&Item::Octets {
            dir: if tx { Dir::Tx } else { Dir::Rx },
            shown: Shown {
                bytes: bytes[..bytes.len().min(SHOW)].to_vec(),
                total: bytes.len() as u64,
                text: false,
            },
        });
    }

    /// `n` more lines that were not written, not even counted one by one.
    pub(crate) fn more(&mut self, n: usize) {
        self.seq += n as u64;
        self.left_out += n as u64;
    }

    /// The connection ended: by the other side (`clean` after a close handshake) or by us.
    pub(crate) fn ended(&mut self, by_peer: bool, clean: bool) {
        let item = if by_peer {
            Item::TcpClosedByPeer { clean }
        } else {
            Item::TcpClosedByUs { after_peer: false }
        };
        self.note(&item);
    }

    /// The log, with a last line saying how many were left out.
    pub(crate) fn text(&self) -> String {
        let mut out = self.text.clone();
        if self.left_out > 0 {
            out.push_str(&format!("({} more lines not kept)\n", self.left_out));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_logged_as_the_trace_shows_them_and_the_log_is_bounded() {
        let mut log = WireLog::default();
        log.frame(true, (true, 0, 1), 5, None, b"hello");
        log.frame(false, (true, 0, 8), 2, Some([1, 2, 3, 4]), &[0x03, 0xe8]);
        let text = log.text();
        assert!(
            text.contains("TX FRAME : OPCODE=1, FIN=True, RSV=0, PAYLOAD-LEN=5"),
            "{text}"
        );
        assert!(text.contains("hello"), "{text}");
        assert!(
            text.contains("RX FRAME : OPCODE=8") && text.contains("CLOSE=1000"),
            "{text}"
        );
        for _ in 0..10_000 {
            log.frame(true, (true, 0, 2), 1000, None, &[0xfe; 32]);
        }
        let text = log.text();
        assert!(text.len() < MAX_BYTES + 1024);
        assert!(
            text.ends_with("more lines not kept)\n"),
            "{}",
            &text[text.len() - 100..]
        );
    }
}
