//! Control frames (RFC 6455 §5.5): ping, pong and close, answered as soon as they are
//! whole, even in the middle of a fragmented message.

use super::emit;
use crate::error::ProtocolError;
use crate::frame::{CloseCode, Opcode};

/// The payload of a control frame that arrived split across reads. Kept in the
/// receiver's rare box only while such a frame is in flight, so idle connections do not
/// carry it.
#[derive(Debug)]
pub(super) struct ControlBuf {
    len: u8,
    bytes: [u8; 125],
}

impl ControlBuf {
    pub(super) fn new() -> Self {
        ControlBuf {
            len: 0,
            bytes: [0; 125],
        }
    }

    /// Appends unmasked payload bytes; the header parser already capped the total at 125.
    pub(super) fn extend(&mut self, chunk: &[u8]) {
        let start = usize::from(self.len);
        let end = (start + chunk.len()).min(self.bytes.len());
        self.bytes[start..end].copy_from_slice(&chunk[..end - start]);
        self.len = end as u8;
    }

    pub(super) fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// What a whole control frame asks of the connection.
pub(super) enum ControlOutcome {
    /// Keep going (a pong was queued, or a pong was ignored).
    Continue,
    /// The peer closed; our close reply is queued.
    PeerClosed { code: Option<CloseCode> },
}

/// Handles one whole control frame with its unmasked payload.
pub(super) fn handle(
    opcode: Opcode,
    payload: &[u8],
    out: &mut Vec<u8>,
) -> Result<ControlOutcome, ProtocolError> {
    match opcode {
        // §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in
        // response ... The Pong frame ... MUST have identical "Application data"".
        Opcode::Ping => {
            emit::frame(out, true, false, Opcode::Pong, payload);
            Ok(ControlOutcome::Continue)
        }
        // §5.5.3: "A response to an unsolicited Pong frame is not expected."
        Opcode::Pong => Ok(ControlOutcome::Continue),
        Opcode::Close => {
            let code = validate_close(payload)?;
            // §5.5.1: "the endpoint MUST send a Close frame in response ... typically
            // echoing the status code it received."
            match code {
                Some(code) => emit::close(out, code, ""),
                None => emit::frame(out, true, false, Opcode::Close, &[]),
            }
            Ok(ControlOutcome::PeerClosed { code })
        }
        // Data opcodes never reach here: the receiver routes by `is_control`.
        Opcode::Continuation | Opcode::Text | Opcode::Binary => Ok(ControlOutcome::Continue),
    }
}

/// Checks a close payload: empty, or a valid code followed by a UTF-8 reason (§5.5.1).
pub(super) fn validate_close(payload: &[u8]) -> Result<Option<CloseCode>, ProtocolError> {
    match payload {
        [] => Ok(None),
        [_] => Err(ProtocolError::CloseOneByte),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            let Some(code) = CloseCode::received(code) else {
                return Err(ProtocolError::InvalidCloseCode { code });
            };
            if simdutf8::basic::from_utf8(reason).is_err() {
                return Err(ProtocolError::InvalidCloseReason);
            }
            Ok(Some(code))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_payload_rules() {
        assert_eq!(validate_close(&[]), Ok(None));
        assert_eq!(validate_close(&[3]), Err(ProtocolError::CloseOneByte));
        assert_eq!(validate_close(&[0x03, 0xe8]), Ok(CloseCode::received(1000)));
        assert_eq!(
            validate_close(b"\x03\xe8bye"),
            Ok(CloseCode::received(1000))
        );
        assert_eq!(
            validate_close(&[0x03, 0xed]),
            Err(ProtocolError::InvalidCloseCode { code: 1005 })
        );
        assert_eq!(
            validate_close(b"\x03\xe8\xff"),
            Err(ProtocolError::InvalidCloseReason)
        );
    }

    #[test]
    fn ping_is_answered_with_an_identical_pong() {
        let mut out = Vec::new();
        assert!(matches!(
            handle(Opcode::Ping, b"abc", &mut out),
            Ok(ControlOutcome::Continue)
        ));
        assert_eq!(out, b"\x8a\x03abc");
    }

    #[test]
    fn close_is_answered_with_the_same_code_or_empty() {
        let mut out = Vec::new();
        assert!(matches!(
            handle(Opcode::Close, b"\x0b\xb8why", &mut out),
            Ok(ControlOutcome::PeerClosed { code: Some(code) }) if code.as_u16() == 3000
        ));
        assert_eq!(out, b"\x88\x02\x0b\xb8");
        let mut out = Vec::new();
        assert!(matches!(
            handle(Opcode::Close, b"", &mut out),
            Ok(ControlOutcome::PeerClosed { code: None })
        ));
        assert_eq!(out, b"\x88\x00");
    }

    #[test]
    fn control_buf_collects_split_payload() {
        let mut b = ControlBuf::new();
        b.extend(b"ab");
        b.extend(b"c");
        assert_eq!(b.as_slice(), b"abc");
    }
}
