//! Flow control (RFC 9113 §5.2, §6.9): what the server lets the client send, and what the
//! client lets the server send, with the client's WINDOW_UPDATEs batched.

use super::frame::MAX_WINDOW;

/// A window was pushed past 2^31-1 (RFC 9113 §6.9.1: "the sender MUST ... send a GOAWAY
/// frame with an error code of FLOW_CONTROL_ERROR"), or the server sent more DATA than the
/// client's window allowed (§6.9: "A receiver MAY respond with a stream error or connection
/// error of type FLOW_CONTROL_ERROR").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowControlError;

/// What the server lets the client send on the connection or on the stream. Signed: RFC
/// 9113 §6.9.2, a SETTINGS change "can cause the available space in a flow-control window
/// to become negative".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendWindow(i64);

impl SendWindow {
    pub fn new(initial: u32) -> SendWindow {
        SendWindow(i64::from(initial))
    }

    /// Bytes of DATA that may be sent now.
    pub fn available(&self) -> usize {
        self.0.max(0) as usize
    }

    /// Spends `n` bytes (at most `available()`).
    pub fn consume(&mut self, n: usize) {
        self.0 -= n as i64;
    }

    /// A WINDOW_UPDATE's increment (RFC 9113 §6.9).
    pub fn grow(&mut self, increment: u32) -> Result<(), FlowControlError> {
        self.shift(i64::from(increment))
    }

    /// RFC 9113 §6.9.2: "When the value of SETTINGS_INITIAL_WINDOW_SIZE changes, a receiver
    /// MUST adjust the size of all stream flow-control windows that it maintains by the
    /// difference between the new value and the old value."
    pub fn shift(&mut self, delta: i64) -> Result<(), FlowControlError> {
        let next = self.0 + delta;
        if next > MAX_WINDOW {
            return Err(FlowControlError);
        }
        self.0 = next;
        Ok(())
    }
}

/// What the client lets the server send: the window it has advertised, shrinking with every
/// DATA frame, and topped back up to `target` by one WINDOW_UPDATE once a quarter of it is
/// used, so a stream of small echoes costs a WINDOW_UPDATE per `target / 4` bytes, not one
/// per frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvWindow {
    /// What the server may still send.
    left: i64,
    target: u32,
}

impl RecvWindow {
    /// A window that starts at `initial` (what RFC 9113 or our SETTINGS set) and is kept
    /// near `target`.
    pub fn new(initial: u32, target: u32) -> RecvWindow {
        RecvWindow {
            left: i64::from(initial),
            target,
        }
    }

    /// Counts a DATA frame's whole payload, padding included (RFC 9113 §6.1: "The entire
    /// DATA frame payload is included in flow control, including the Pad Length and
    /// Padding fields if present").
    pub fn receive(&mut self, len: u32) -> Result<(), FlowControlError> {
        if i64::from(len) > self.left {
            return Err(FlowControlError);
        }
        self.left -= i64::from(len);
        Ok(())
    }

    /// The increment to send now, if a quarter of the target (or more) has been used; the
    /// window counts as restored once it is returned.
    pub fn take_update(&mut self) -> Option<u32> {
        let owed = i64::from(self.target) - self.left;
        if owed <= 0 || owed < i64::from(self.target / 4) {
            return None;
        }
        self.left = i64::from(self.target);
        u32::try_from(owed).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h2::frame::DEFAULT_WINDOW;

    #[test]
    fn the_send_window_spends_grows_and_can_go_negative() {
        let mut w = SendWindow::new(DEFAULT_WINDOW);
        w.consume(65_000);
        assert_eq!(w.available(), 535);
        // The server lowers SETTINGS_INITIAL_WINDOW_SIZE from 65,535 to 0.
        w.shift(-65_535).unwrap();
        assert_eq!(w.available(), 0);
        w.grow(1000).unwrap();
        assert_eq!(w.available(), 0, "still 64,000 short of zero");
        w.grow(64_100).unwrap();
        assert_eq!(w.available(), 100);
        // RFC 9113 §6.9.1: never past 2^31-1.
        assert_eq!(w.grow(0x7fff_ffff), Err(FlowControlError));
        assert_eq!(w.available(), 100, "a refused update changes nothing");
        let mut full = SendWindow::new(0);
        full.grow(0x7fff_ffff).unwrap();
        assert_eq!(full.available(), 0x7fff_ffff);
    }

    #[test]
    fn the_receive_window_refuses_overruns_and_batches_updates() {
        // The connection window: 65,535 by RFC 9113, topped up to 16 MiB at once.
        let mut conn = RecvWindow::new(DEFAULT_WINDOW, 16 << 20);
        assert_eq!(conn.take_update(), Some((16 << 20) - 65_535));
        assert_eq!(conn.take_update(), None);
        // Small frames owe nothing until a quarter (4 MiB) is used.
        for _ in 0..1000 {
            conn.receive(1000).unwrap();
        }
        assert_eq!(conn.take_update(), None);
        conn.receive((4 << 20) - 1_000_000).unwrap();
        assert_eq!(conn.take_update(), Some(4 << 20));
        // More than the window allows.
        let mut stream = RecvWindow::new(100, 100);
        stream.receive(60).unwrap();
        assert_eq!(stream.receive(41), Err(FlowControlError));
        stream.receive(40).unwrap();
        assert_eq!(stream.take_update(), Some(100));
        stream.receive(100).unwrap();
    }
}
