//! Frame types (RFC 9113 §6, §11.2, and §4.1's rule for the ones we do not know).

/// The type octet of a frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameType {
    /// DATA (0x0, §6.1).
    Data,
    /// HEADERS (0x1, §6.2).
    Headers,
    /// PRIORITY (0x2, §6.3), deprecated but still parsed.
    Priority,
    /// RST_STREAM (0x3, §6.4).
    RstStream,
    /// SETTINGS (0x4, §6.5).
    Settings,
    /// PUSH_PROMISE (0x5, §6.6): never from a client.
    PushPromise,
    /// PING (0x6, §6.7).
    Ping,
    /// GOAWAY (0x7, §6.8).
    GoAway,
    /// WINDOW_UPDATE (0x8, §6.9).
    WindowUpdate,
    /// CONTINUATION (0x9, §6.10).
    Continuation,
    /// Any other type. §4.1: "Implementations MUST ignore and discard frames of
    /// unknown types."
    Unknown(u8),
}

impl FrameType {
    /// Decodes the type octet.
    pub(crate) fn from_u8(byte: u8) -> FrameType {
        match byte {
            0x0 => FrameType::Data,
            0x1 => FrameType::Headers,
            0x2 => FrameType::Priority,
            0x3 => FrameType::RstStream,
            0x4 => FrameType::Settings,
            0x5 => FrameType::PushPromise,
            0x6 => FrameType::Ping,
            0x7 => FrameType::GoAway,
            0x8 => FrameType::WindowUpdate,
            0x9 => FrameType::Continuation,
            other => FrameType::Unknown(other),
        }
    }

    /// The type octet.
    pub(crate) fn to_u8(self) -> u8 {
        match self {
            FrameType::Data => 0x0,
            FrameType::Headers => 0x1,
            FrameType::Priority => 0x2,
            FrameType::RstStream => 0x3,
            FrameType::Settings => 0x4,
            FrameType::PushPromise => 0x5,
            FrameType::Ping => 0x6,
            FrameType::GoAway => 0x7,
            FrameType::WindowUpdate => 0x8,
            FrameType::Continuation => 0x9,
            FrameType::Unknown(other) => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_octet_round_trips_and_only_ten_are_known() {
        let mut known = 0;
        for byte in 0..=u8::MAX {
            let kind = FrameType::from_u8(byte);
            assert_eq!(kind.to_u8(), byte);
            if !matches!(kind, FrameType::Unknown(_)) {
                known += 1;
            }
        }
        assert_eq!(known, 10);
    }
}
