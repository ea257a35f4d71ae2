//! A DEFLATE (RFC 1951) block walker that decodes symbols without producing output:
//! enough to measure what a compressor did. flate2's inflater (zlib-rs) always keeps a
//! 32 KiB window, so it cannot tell whether a server kept to an agreed
//! `server_max_window_bits` below 15; the longest back-reference this reports can.

/// What one message's compressed data contains.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Bytes it inflates to.
    pub len: usize,
    /// Longest back-reference distance (0 if none).
    pub max_distance: usize,
}

const LEN_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEN_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
/// Order of the code-length code lengths in a dynamic block header.
const CL_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

struct Bits<'a> {
    data: &'a [u8],
    /// Position in bits.
    at: usize,
}

impl Bits<'_> {
    fn bit(&mut self) -> Result<u32, String> {
        let byte = self
            .data
            .get(self.at / 8)
            .ok_or("compressed data ends inside a block")?;
        let b = (byte >> (self.at % 8)) & 1;
        self.at += 1;
        Ok(u32::from(b))
    }

    /// `n` bits, least significant first (RFC 1951 §3.1.1).
    fn int(&mut self, n: u8) -> Result<u32, String> {
        let mut v = 0;
        for i in 0..n {
            v |= self.bit()? << i;
        }
        Ok(v)
    }

    fn align(&mut self) {
        self.at = self.at.div_ceil(8) * 8;
    }

    fn at_end(&self) -> bool {
        self.at >= self.data.len() * 8
    }
}

/// A canonical Huffman code (RFC 1951 §3.2.2).
struct Code {
    /// Codes of each length 1..=15.
    count: [u16; 16],
    /// Symbols ordered by (code length, symbol value): the canonical code order.
    symbols: Vec<u16>,
}

impl Code {
    fn new(lengths: &[u8]) -> Code {
        let mut count = [0u16; 16];
        for &l in lengths {
            count[usize::from(l)] += 1;
        }
        count[0] = 0;
        let mut symbols = Vec::new();
        for len in 1..=15u8 {
            for (sym, &l) in lengths.iter().enumerate() {
                if l == len {
                    symbols.push(sym as u16);
                }
            }
        }
        Code { count, symbols }
    }

    /// Reads one symbol: codes are sent most significant bit first. Of the codes of
    /// each length, the first is the one after the last code one bit shorter.
    fn read(&self, bits: &mut Bits<'_>) -> Result<u16, String> {
        let mut code: u32 = 0;
        let mut first: u32 = 0;
        let mut index: usize = 0;
        for len in 1..=15 {
            code |= bits.bit()?;
            let n = u32::from(self.count[len]);
            if code < first + n {
                return Ok(self.symbols[index + (code - first) as usize]);
            }
            index += n as usize;
            first = (first + n) << 1;
            code <<= 1;
        }
        Err("invalid Huffman code".into())
    }
}

fn fixed() -> (Code, Code) {
    let mut lit = [8u8; 288];
    lit[144..256].fill(9);
    lit[256..280].fill(7);
    (Code::new(&lit), Code::new(&[5u8; 30]))
}

fn dynamic(bits: &mut Bits<'_>) -> Result<(Code, Code), String> {
    let hlit = bits.int(5)? as usize + 257;
    let hdist = bits.int(5)? as usize + 1;
    let hclen = bits.int(4)? as usize + 4;
    let mut cl = [0u8; 19];
    for &i in &CL_ORDER[..hclen] {
        cl[i] = bits.int(3)? as u8;
    }
    let cl = Code::new(&cl);
    let mut lengths = Vec::with_capacity(hlit + hdist);
    while lengths.len() < hlit + hdist {
        let (value, times) = match cl.read(bits)? {
            sym @ 0..=15 => (sym as u8, 1),
            16 => {
                let prev = *lengths.last().ok_or("repeat with no previous length")?;
                (prev, 3 + bits.int(2)?)
            }
            17 => (0, 3 + bits.int(3)?),
            18 => (0, 11 + bits.int(7)?),
            other => return Err(format!("bad code-length symbol {other}")),
        };
        lengths.extend(std::iter::repeat_n(value, times as usize));
    }
    if lengths.len() != hlit + hdist {
        return Err("code lengths overrun".into());
    }
    Ok((Code::new(&lengths[..hlit]), Code::new(&lengths[hlit..])))
}

/// Walks every block of one message's data (the `00 00 ff ff` tail included).
pub fn walk(data: &[u8]) -> Result<Report, String> {
    let mut bits = Bits { data, at: 0 };
    let mut report = Report::default();
    loop {
        let last = bits.bit()? == 1;
        match bits.int(2)? {
            0 => {
                bits.align();
                let len = bits.int(16)?;
                let nlen = bits.int(16)?;
                if len != !nlen & 0xffff {
                    return Err("stored block LEN != ~NLEN".into());
                }
                bits.at += 8 * len as usize;
                if bits.at > data.len() * 8 {
                    return Err("stored block overruns the data".into());
                }
                report.len += len as usize;
            }
            kind @ (1 | 2) => {
                let (lit, dist) = if kind == 1 {
                    fixed()
                } else {
                    dynamic(&mut bits)?
                };
                loop {
                    let sym = lit.read(&mut bits)? as usize;
                    if sym < 256 {
                        report.len += 1;
                        continue;
                    }
                    if sym == 256 {
                        break;
                    }
                    let i = sym - 257;
                    let len = *LEN_BASE.get(i).ok_or("bad length symbol")? as usize
                        + bits.int(LEN_EXTRA[i])? as usize;
                    let d = dist.read(&mut bits)? as usize;
                    let distance = *DIST_BASE.get(d).ok_or("bad distance symbol")? as usize
                        + bits.int(DIST_EXTRA[d])? as usize;
                    report.max_distance = report.max_distance.max(distance);
                    report.len += len;
                }
            }
            _ => return Err("reserved block type 11".into()),
        }
        if last || bits.at_end() {
            return Ok(report);
        }
    }
}
