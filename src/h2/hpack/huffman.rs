//! The Huffman code of RFC 7541 Appendix B, decoded (§5.2).
//!
//! The code is canonical: within each length, codes count up in symbol order, and
//! each length starts where the shorter ones ended, shifted. So the code lengths alone
//! define it (checked in the tests against codes the RFC lists), and decoding needs,
//! per length, the first code and where its symbols start in symbol order.

/// Code lengths in bits of symbols 0 to 255 and EOS (256), RFC 7541 Appendix B.
const LENGTHS: [u8; 257] = [
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28,
    28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5,
    5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6,
    6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22,
    23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22,
    21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20,
    22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19,
    21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22,
    22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
];

/// EOS, which must never appear in a string (§5.2).
const EOS: u16 = 256;
/// The longest code, EOS's.
const MAX_LEN: usize = 30;

/// Why a Huffman-coded string does not decode (each a COMPRESSION_ERROR).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HuffmanError {
    /// §5.2: "A Huffman-encoded string literal containing the EOS symbol MUST be
    /// treated as a decoding error."
    Eos,
    /// §5.2: "A padding strictly longer than 7 bits MUST be treated as a decoding
    /// error."
    LongPadding,
    /// §5.2: "A padding not corresponding to the most significant bits of the code
    /// for the EOS symbol MUST be treated as a decoding error."
    BadPadding,
}

/// The canonical decoding tables, built once from [`LENGTHS`].
struct Tables {
    /// Per length: the first code of that length (as a value of that many bits).
    first: [u32; MAX_LEN + 1],
    /// Per length: how many symbols have it.
    count: [u16; MAX_LEN + 1],
    /// Per length: where its symbols start in `symbols`.
    start: [u16; MAX_LEN + 1],
    /// Symbols by (length, symbol).
    symbols: [u16; 257],
}

const fn tables() -> Tables {
    let mut count = [0u16; MAX_LEN + 1];
    let mut i = 0;
    while i < 257 {
        count[LENGTHS[i] as usize] += 1;
        i += 1;
    }
    let mut first = [0u32; MAX_LEN + 1];
    let mut start = [0u16; MAX_LEN + 1];
    let mut code = 0u32;
    let mut at = 0u16;
    let mut len = 1;
    while len <= MAX_LEN {
        code = (code + count[len - 1] as u32) << 1;
        first[len] = code;
        start[len] = at;
        at += count[len];
        len += 1;
    }
    let mut symbols = [0u16; 257];
    let mut next = start;
    let mut s = 0;
    while s < 257 {
        let l = LENGTHS[s] as usize;
        symbols[next[l] as usize] = s as u16;
        next[l] += 1;
        s += 1;
    }
    Tables {
        first,
        count,
        start,
        symbols,
    }
}

static TABLES: Tables = tables();

/// Appends the decoding of `bytes` to `out`.
pub(crate) fn decode(bytes: &[u8], out: &mut Vec<u8>) -> Result<(), HuffmanError> {
    let t = &TABLES;
    // The code read so far, and its length in bits.
    let mut code = 0u32;
    let mut len = 0usize;
    for &byte in bytes {
        for shift in (0..8).rev() {
            code = (code << 1) | u32::from((byte >> shift) & 1);
            len += 1;
            // A code of this length, if `code` falls in its range.
            let offset = code.wrapping_sub(t.first[len]);
            if offset < u32::from(t.count[len]) {
                let symbol = t.symbols[usize::from(t.start[len]) + offset as usize];
                if symbol == EOS {
                    return Err(HuffmanError::Eos);
                }
                out.push(symbol as u8);
                code = 0;
                len = 0;
            } else if len == MAX_LEN {
                // Every 30-bit pattern is EOS's or starts a shorter code: unreachable
                // for this table, kept as an error rather than an index past it.
                return Err(HuffmanError::Eos);
            }
        }
    }
    if len > 7 {
        return Err(HuffmanError::LongPadding);
    }
    // The padding is the top bits of EOS: all ones.
    if code != (1 << len) - 1 {
        return Err(HuffmanError::BadPadding);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The code of `symbol`, from the canonical tables.
    fn code_of(symbol: u16) -> (u32, usize) {
        let t = &TABLES;
        let len = LENGTHS[usize::from(symbol)] as usize;
        let range = usize::from(t.start[len])..usize::from(t.start[len] + t.count[len]);
        let pos = t.symbols[range.clone()]
            .iter()
            .position(|&s| s == symbol)
            .unwrap();
        (t.first[len] + pos as u32, len)
    }

    #[test]
    fn the_tables_give_the_codes_the_rfc_lists() {
        // RFC 7541 Appendix B, a few rows.
        assert_eq!(code_of(0), (0x1ff8, 13));
        assert_eq!(code_of(u16::from(b' ')), (0x14, 6));
        assert_eq!(code_of(u16::from(b'0')), (0x0, 5));
        assert_eq!(code_of(u16::from(b'a')), (0x3, 5));
        assert_eq!(code_of(u16::from(b'z')), (0x7b, 7));
        assert_eq!(code_of(255), (0x3ffffee, 26));
        assert_eq!(code_of(EOS), (0x3fffffff, 30));
    }

    #[test]
    fn rfc_examples_decode() {
        // RFC 7541 C.4.1: "www.example.com".
        let mut out = Vec::new();
        decode(
            &[
                0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff,
            ],
            &mut out,
        )
        .unwrap();
        assert_eq!(out, b"www.example.com");
        // C.4.2: "no-cache".
        out.clear();
        decode(&[0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf], &mut out).unwrap();
        assert_eq!(out, b"no-cache");
    }

    #[test]
    fn eos_and_bad_padding_are_errors() {
        // EOS, 30 ones, then two padding ones.
        let mut out = Vec::new();
        assert_eq!(decode(&[0xff; 4], &mut out), Err(HuffmanError::Eos));
        // 'a' (00011) then 11 ones of padding: more than 7 bits.
        assert_eq!(
            decode(&[0b0001_1111, 0xff], &mut out),
            Err(HuffmanError::LongPadding)
        );
        // 'a' then padding 000: not EOS's prefix.
        assert_eq!(
            decode(&[0b0001_1000], &mut out),
            Err(HuffmanError::BadPadding)
        );
        // 'a' then 111: fine.
        out.clear();
        decode(&[0b0001_1111], &mut out).unwrap();
        assert_eq!(out, b"a");
    }
}
