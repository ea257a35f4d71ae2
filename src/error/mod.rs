//! Every way a client can break the protocol, each mapped to one close code and a reason
//! that names the rule, so a user can see exactly what their client did wrong. (And the
//! one rule only a server can break, for the client role: a masked frame.)

use std::fmt;

mod close_code;

pub use close_code::CloseCode;

/// A violation that fails the WebSocket connection (RFC 6455 §7.1.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolError {
    /// §5.1: "a server MUST close the connection upon receiving a frame that is not masked".
    UnmaskedFrame,
    /// §5.1: "A client MUST close a connection if it detects a masked frame" (the client
    /// role: the server broke this rule).
    MaskedFrame,
    /// §5.2: RSV bits set with no extension negotiated that defines them.
    ReservedBits {
        /// RSV1–RSV3 as the three low bits.
        rsv: u8,
    },
    /// §5.2: a reserved opcode.
    ReservedOpcode {
        /// The opcode's four bits.
        bits: u8,
    },
    /// §5.5: "Control frames themselves MUST NOT be fragmented".
    FragmentedControlFrame,
    /// §5.5: "All control frames MUST have a payload length of 125 bytes or less".
    ControlFrameTooLong {
        /// The length the header announced.
        payload_len: u64,
    },
    /// §5.2: "the most significant bit MUST be 0" in a 64-bit payload length.
    PayloadLengthTopBit,
    /// §5.2: "the minimal number of bytes MUST be used to encode the length".
    NonMinimalPayloadLength,
    /// §5.4: a continuation frame with no fragmented message in progress.
    UnexpectedContinuation,
    /// §5.4: a new text or binary frame while a fragmented message is in progress.
    ExpectedContinuation,
    /// RFC 7692 §6.1: RSV1 on a continuation frame.
    Rsv1OnContinuation,
    /// RFC 7692 §6.1: RSV1 on a control frame.
    Rsv1OnControlFrame,
    /// A frame payload larger than `--max-frame-size`.
    FrameTooBig {
        /// The length the header announced.
        payload_len: u64,
        /// `--max-frame-size`.
        max: u64,
    },
    /// A message larger than `--max-message-size`.
    MessageTooBig {
        /// `--max-message-size`.
        max: u64,
    },
    /// §8.1: a text message that is not valid UTF-8.
    InvalidUtf8,
    /// §5.5.1: a close payload of exactly one byte cannot hold a status code.
    CloseOneByte,
    /// §7.4: a close code no endpoint may send.
    InvalidCloseCode {
        /// The code as received.
        code: u16,
    },
    /// §5.5.1: the close reason "is not guaranteed to be human readable" but MUST be UTF-8.
    InvalidCloseReason,
    /// RFC 7692 §6.2: compressed data that does not inflate.
    InvalidDeflateData,
    /// Our own compressor failed: not the client's fault (1011).
    CompressionFailed,
    /// Compressed input whose echo, recompressed with the window the client allowed us,
    /// would queue more than `--max-backpressure` bytes from one read (1008): data built
    /// to inflate far more than it recompresses.
    EchoTooLarge {
        /// `--max-backpressure`.
        max: usize,
    },
}

impl ProtocolError {
    /// The close code sent to the client for this violation.
    /// Exhaustive on purpose: a new violation does not compile until it has its code.
    pub fn close_code(&self) -> CloseCode {
        match self {
            ProtocolError::UnmaskedFrame
            | ProtocolError::MaskedFrame
            | ProtocolError::ReservedBits { .. }
            | ProtocolError::ReservedOpcode { .. }
            | ProtocolError::FragmentedControlFrame
            | ProtocolError::ControlFrameTooLong { .. }
            | ProtocolError::PayloadLengthTopBit
            | ProtocolError::NonMinimalPayloadLength
            | ProtocolError::UnexpectedContinuation
            | ProtocolError::ExpectedContinuation
            | ProtocolError::Rsv1OnContinuation
            | ProtocolError::Rsv1OnControlFrame
            | ProtocolError::CloseOneByte
            | ProtocolError::InvalidCloseCode { .. } => CloseCode::PROTOCOL_ERROR,
            ProtocolError::FrameTooBig { .. } | ProtocolError::MessageTooBig { .. } => {
                CloseCode::MESSAGE_TOO_BIG
            }
            ProtocolError::InvalidUtf8
            | ProtocolError::InvalidCloseReason
            | ProtocolError::InvalidDeflateData => CloseCode::INVALID_PAYLOAD,
            ProtocolError::CompressionFailed => CloseCode::INTERNAL_ERROR,
            ProtocolError::EchoTooLarge { .. } => CloseCode::POLICY_VIOLATION,
        }
    }
}

impl ProtocolError {
    /// A stable snake_case name for the violation, for metric labels.
    /// Exhaustive on purpose, like [`ProtocolError::close_code`].
    pub fn name(&self) -> &'static str {
        match self {
            ProtocolError::UnmaskedFrame => "unmasked_frame",
            ProtocolError::MaskedFrame => "masked_frame",
            ProtocolError::ReservedBits { .. } => "reserved_bits",
            ProtocolError::ReservedOpcode { .. } => "reserved_opcode",
            ProtocolError::FragmentedControlFrame => "fragmented_control_frame",
            ProtocolError::ControlFrameTooLong { .. } => "control_frame_too_long",
            ProtocolError::PayloadLengthTopBit => "payload_length_top_bit",
            ProtocolError::NonMinimalPayloadLength => "non_minimal_payload_length",
            ProtocolError::UnexpectedContinuation => "unexpected_continuation",
            ProtocolError::ExpectedContinuation => "expected_continuation",
            ProtocolError::Rsv1OnContinuation => "rsv1_on_continuation",
            ProtocolError::Rsv1OnControlFrame => "rsv1_on_control_frame",
            ProtocolError::FrameTooBig { .. } => "frame_too_big",
            ProtocolError::MessageTooBig { .. } => "message_too_big",
            ProtocolError::InvalidUtf8 => "invalid_utf8",
            ProtocolError::CloseOneByte => "close_one_byte",
            ProtocolError::InvalidCloseCode { .. } => "invalid_close_code",
            ProtocolError::InvalidCloseReason => "invalid_close_reason",
            ProtocolError::InvalidDeflateData => "invalid_deflate_data",
            ProtocolError::CompressionFailed => "compression_failed",
            ProtocolError::EchoTooLarge { .. } => "echo_too_large",
        }
    }
}

/// The close reason: the rule that was broken. Kept well under the 123 bytes a close
/// reason may hold (§5.5: 125 minus the 2-byte code).
impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::UnmaskedFrame => f.write_str("client frame is not masked"),
            ProtocolError::MaskedFrame => f.write_str("server frame is masked"),
            ProtocolError::ReservedBits { rsv } => {
                write!(
                    f,
                    "reserved bits set (rsv={rsv:03b}) without a negotiated extension"
                )
            }
            ProtocolError::ReservedOpcode { bits } => write!(f, "reserved opcode {bits:#x}"),
            ProtocolError::FragmentedControlFrame => f.write_str("control frame without fin"),
            ProtocolError::ControlFrameTooLong { payload_len } => {
                write!(
                    f,
                    "control frame payload of {payload_len} bytes exceeds 125"
                )
            }
            ProtocolError::PayloadLengthTopBit => {
                f.write_str("64-bit payload length has its most significant bit set")
            }
            ProtocolError::NonMinimalPayloadLength => {
                f.write_str("payload length not encoded in the minimal number of bytes")
            }
            ProtocolError::UnexpectedContinuation => {
                f.write_str("continuation frame without a fragmented message to continue")
            }
            ProtocolError::ExpectedContinuation => {
                f.write_str("new data frame inside a fragmented message; expected continuation")
            }
            ProtocolError::Rsv1OnContinuation => {
                f.write_str("rsv1 (compressed) set on a continuation frame")
            }
            ProtocolError::Rsv1OnControlFrame => {
                f.write_str("rsv1 (compressed) set on a control frame")
            }
            ProtocolError::FrameTooBig { payload_len, max } => {
                write!(
                    f,
                    "frame payload of {payload_len} bytes exceeds the limit of {max}"
                )
            }
            ProtocolError::MessageTooBig { max } => {
                write!(f, "message exceeds the limit of {max} bytes")
            }
            ProtocolError::InvalidUtf8 => f.write_str("text message is not valid UTF-8"),
            ProtocolError::CloseOneByte => f.write_str("close frame payload of 1 byte"),
            ProtocolError::InvalidCloseCode { code } => write!(f, "invalid close code {code}"),
            ProtocolError::InvalidCloseReason => f.write_str("close reason is not valid UTF-8"),
            ProtocolError::InvalidDeflateData => f.write_str("compressed data does not inflate"),
            ProtocolError::CompressionFailed => {
                f.write_str("server error: compressing the echo failed")
            }
            ProtocolError::EchoTooLarge { max } => write!(
                f,
                "compressed data inflates to more echo than the {max} bytes one read may queue"
            ),
        }
    }
}

impl std::error::Error for ProtocolError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_fits_in_a_close_frame() {
        let all = [
            ProtocolError::UnmaskedFrame,
            ProtocolError::MaskedFrame,
            ProtocolError::ReservedBits { rsv: 7 },
            ProtocolError::ReservedOpcode { bits: 0xf },
            ProtocolError::FragmentedControlFrame,
            ProtocolError::ControlFrameTooLong {
                payload_len: u64::MAX,
            },
            ProtocolError::PayloadLengthTopBit,
            ProtocolError::NonMinimalPayloadLength,
            ProtocolError::UnexpectedContinuation,
            ProtocolError::ExpectedContinuation,
            ProtocolError::Rsv1OnContinuation,
            ProtocolError::Rsv1OnControlFrame,
            ProtocolError::FrameTooBig {
                payload_len: u64::MAX,
                max: u64::MAX,
            },
            ProtocolError::MessageTooBig { max: u64::MAX },
            ProtocolError::InvalidUtf8,
            ProtocolError::CloseOneByte,
            ProtocolError::InvalidCloseCode { code: u16::MAX },
            ProtocolError::InvalidCloseReason,
            ProtocolError::InvalidDeflateData,
            ProtocolError::CompressionFailed,
            ProtocolError::EchoTooLarge { max: usize::MAX },
        ];
        for e in all {
            assert!(e.to_string().len() <= 123, "{e}");
        }
        // Metric label values: distinct, and in the Prometheus label grammar.
        let names: std::collections::BTreeSet<&str> = all.iter().map(|e| e.name()).collect();
        assert_eq!(names.len(), all.len());
        for name in names {
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{name}"
            );
        }
    }

    #[test]
    fn codes_map_one_to_one() {
        // RFC 6455 §7.4.1: 1002 protocol error, 1007 data inconsistent with the message
        // type, 1008 policy, 1009 too big, 1011 an unexpected condition on our side.
        let table = [
            (ProtocolError::UnmaskedFrame, 1002),
            (ProtocolError::MaskedFrame, 1002),
            (ProtocolError::ReservedBits { rsv: 7 }, 1002),
            (ProtocolError::ReservedOpcode { bits: 3 }, 1002),
            (ProtocolError::FragmentedControlFrame, 1002),
            (
                ProtocolError::ControlFrameTooLong { payload_len: 126 },
                1002,
            ),
            (ProtocolError::PayloadLengthTopBit, 1002),
            (ProtocolError::NonMinimalPayloadLength, 1002),
            (ProtocolError::UnexpectedContinuation, 1002),
            (ProtocolError::ExpectedContinuation, 1002),
            (ProtocolError::Rsv1OnContinuation, 1002),
            (ProtocolError::Rsv1OnControlFrame, 1002),
            (
                ProtocolError::FrameTooBig {
                    payload_len: 2,
                    max: 1,
                },
                1009,
            ),
            (ProtocolError::MessageTooBig { max: 1 }, 1009),
            (ProtocolError::InvalidUtf8, 1007),
            (ProtocolError::CloseOneByte, 1002),
            (ProtocolError::InvalidCloseCode { code: 1005 }, 1002),
            (ProtocolError::InvalidCloseReason, 1007),
            (ProtocolError::InvalidDeflateData, 1007),
            (ProtocolError::CompressionFailed, 1011),
            (ProtocolError::EchoTooLarge { max: 1 }, 1008),
        ];
        for (error, code) in table {
            assert_eq!(error.close_code().as_u16(), code, "{error:?}");
        }
    }
}
