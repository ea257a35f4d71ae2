//! Frame opcodes (RFC 6455 §5.2, §11.8).

/// The opcodes RFC 6455 defines; the reserved ones are not representable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Opcode {
    /// Continues a fragmented message.
    Continuation = 0x0,
    /// A text message (UTF-8).
    Text = 0x1,
    /// A binary message.
    Binary = 0x2,
    /// Close (§5.5.1).
    Close = 0x8,
    /// Ping (§5.5.2).
    Ping = 0x9,
    /// Pong (§5.5.3).
    Pong = 0xA,
}

impl Opcode {
    /// Decodes the low four bits of a frame's first byte; `None` for a reserved opcode
    /// (%x3-7 and %xB-F), which "MUST" fail the connection (§5.2).
    pub fn from_bits(bits: u8) -> Option<Opcode> {
        match bits {
            0x0 => Some(Opcode::Continuation),
            0x1 => Some(Opcode::Text),
            0x2 => Some(Opcode::Binary),
            0x8 => Some(Opcode::Close),
            0x9 => Some(Opcode::Ping),
            0xA => Some(Opcode::Pong),
            _ => None,
        }
    }

    /// The four-bit wire value.
    pub fn bits(self) -> u8 {
        self as u8
    }

    /// "Control frames are identified by opcodes where the most significant bit of the
    /// opcode is 1" (§5.5).
    pub fn is_control(self) -> bool {
        self.bits() & 0x8 != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_four_bit_value_round_trips_or_is_reserved() {
        for bits in 0..16u8 {
            match Opcode::from_bits(bits) {
                Some(op) => assert_eq!(op.bits(), bits),
                None => assert!(matches!(bits, 3..=7 | 0xB..=0xF), "{bits:#x}"),
            }
        }
    }

    #[test]
    fn control_opcodes_are_close_ping_pong() {
        assert!(
            Opcode::Close.is_control() && Opcode::Ping.is_control() && Opcode::Pong.is_control()
        );
        assert!(!Opcode::Text.is_control() && !Opcode::Binary.is_control());
        assert!(!Opcode::Continuation.is_control());
    }
}
