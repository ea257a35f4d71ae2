//! Stream identifiers (RFC 9113 §5.1.1).

/// A 31-bit stream identifier; 0 names the connection itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub(crate) struct StreamId(u32);

impl StreamId {
    /// The connection (§5.1.1: "A stream identifier of zero (0x00) is used for
    /// connection control messages").
    pub(crate) const CONNECTION: StreamId = StreamId(0);
    /// The largest identifier, 2^31−1.
    #[cfg(test)]
    pub(crate) const MAX: StreamId = StreamId(0x7fff_ffff);

    /// An identifier from its 31 bits; the reserved top bit is dropped (§4.1: it "MUST
    /// be ignored when receiving").
    pub(crate) fn new(value: u32) -> StreamId {
        StreamId(value & 0x7fff_ffff)
    }

    /// The identifier as a number.
    pub(crate) fn value(self) -> u32 {
        self.0
    }

    /// Whether this names the connection rather than a stream.
    pub(crate) fn is_connection(self) -> bool {
        self.0 == 0
    }

    /// §5.1.1: "Streams initiated by a client MUST use odd-numbered stream identifiers".
    pub(crate) fn is_client_initiated(self) -> bool {
        !self.0.is_multiple_of(2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserved_bit_is_dropped_and_parity_tells_the_initiator() {
        assert_eq!(StreamId::new(0x8000_0001).value(), 1);
        assert_eq!(StreamId::new(u32::MAX), StreamId::MAX);
        assert!(StreamId::new(1).is_client_initiated());
        assert!(!StreamId::new(2).is_client_initiated());
        assert!(StreamId::new(0x8000_0000).is_connection());
    }
}
