//! The flags octet of a frame header (RFC 9113 §4.1): its meaning depends on the type.

/// The flags octet. Flags a frame type does not define are ignored: §4.1, "Unused flags
/// MUST be ignored on receipt and MUST be left unset (0x00) when sending".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Flags(pub u8);

impl Flags {
    /// No flag.
    pub(crate) const NONE: Flags = Flags(0);
    /// END_STREAM (DATA, HEADERS).
    pub(crate) const END_STREAM: Flags = Flags(0x1);
    /// ACK (SETTINGS, PING), the same bit as END_STREAM.
    pub(crate) const ACK: Flags = Flags(0x1);
    /// END_HEADERS (HEADERS, PUSH_PROMISE, CONTINUATION).
    pub(crate) const END_HEADERS: Flags = Flags(0x4);
    /// PADDED (DATA, HEADERS, PUSH_PROMISE).
    pub(crate) const PADDED: Flags = Flags(0x8);
    /// PRIORITY (HEADERS).
    pub(crate) const PRIORITY: Flags = Flags(0x20);

    /// Every bit of `other` is set.
    pub(crate) fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Both sets of bits.
    pub(crate) fn with(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    /// `other` when `on`, none otherwise.
    pub(crate) fn when(on: bool, other: Flags) -> Flags {
        if on { other } else { Flags::NONE }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_every_bit_of_a_combination() {
        let f = Flags::END_STREAM.with(Flags::PADDED);
        assert!(f.contains(Flags::END_STREAM) && f.contains(Flags::PADDED));
        assert!(!f.contains(Flags::END_HEADERS));
        assert!(!f.contains(Flags::END_HEADERS.with(Flags::PADDED)));
        assert_eq!(Flags::when(false, Flags::ACK), Flags::NONE);
        assert_eq!(Flags::when(true, Flags::ACK), Flags::ACK);
    }
}
