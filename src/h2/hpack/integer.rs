//! Integer representation (RFC 7541 §5.1): an N-bit prefix, then 7 bits a byte.

/// Continuation bytes read at most: 4 carry 28 bits, past any size this decoder
/// accepts (a table size, an index or a string length all stay far below 2^28), so a
/// longer integer can only be an attack (§5.1: "Integer encodings that exceed
/// implementation limits ... MUST be treated as decoding errors").
const MAX_CONTINUATIONS: usize = 4;

/// Why an integer does not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntegerError {
    /// The block ended inside it.
    Truncated,
    /// More than 28 bits of continuation.
    Overflow,
}

/// Reads an integer with a `prefix`-bit prefix from the front of `input`, advancing
/// it. The first byte's bits above the prefix are the caller's.
pub(crate) fn decode(input: &mut &[u8], prefix: u8) -> Result<usize, IntegerError> {
    let (&first, mut rest) = input.split_first().ok_or(IntegerError::Truncated)?;
    let max = (1usize << prefix) - 1;
    let mut value = usize::from(first) & max;
    if value < max {
        *input = rest;
        return Ok(value);
    }
    for i in 0..=MAX_CONTINUATIONS {
        let (&byte, tail) = rest.split_first().ok_or(IntegerError::Truncated)?;
        rest = tail;
        if i == MAX_CONTINUATIONS {
            return Err(IntegerError::Overflow);
        }
        value += usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            *input = rest;
            return Ok(value);
        }
    }
    Err(IntegerError::Overflow)
}

/// Appends `value` with a `prefix`-bit prefix; `flags` are the first byte's bits
/// above it.
pub(crate) fn encode(out: &mut Vec<u8>, value: usize, prefix: u8, flags: u8) {
    let max = (1usize << prefix) - 1;
    if value < max {
        out.push(flags | value as u8);
        return;
    }
    out.push(flags | max as u8);
    let mut rest = value - max;
    while rest >= 0x80 {
        out.push(0x80 | (rest & 0x7f) as u8);
        rest >>= 7;
    }
    out.push(rest as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_examples() {
        // C.1.1: 10 in a 5-bit prefix; C.1.2: 1337; C.1.3: 42 from a whole byte.
        for (bytes, prefix, value) in [
            (&[0b01010][..], 5, 10),
            (&[0b11111, 0b1001_1010, 0b0000_1010][..], 5, 1337),
            (&[42][..], 8, 42),
        ] {
            let mut input = bytes;
            assert_eq!(decode(&mut input, prefix), Ok(value));
            assert!(input.is_empty());
            let mut out = Vec::new();
            encode(&mut out, value, prefix, 0);
            assert_eq!(out, bytes);
        }
    }

    #[test]
    fn truncated_and_overlong_integers_are_errors() {
        assert_eq!(decode(&mut &[][..], 5), Err(IntegerError::Truncated));
        assert_eq!(
            decode(&mut &[0x1f, 0x80][..], 5),
            Err(IntegerError::Truncated)
        );
        assert_eq!(
            decode(&mut &[0x1f, 0xff, 0xff, 0xff, 0xff, 0x01][..], 5),
            Err(IntegerError::Overflow)
        );
        // Four continuation bytes are still read.
        assert_eq!(
            decode(&mut &[0x1f, 0xff, 0xff, 0xff, 0x7f][..], 5),
            Ok(31 + (1 << 28) - 1)
        );
    }
}
