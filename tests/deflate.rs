//! permessage-deflate (RFC 7692) end to end against the real binary: a raw-TCP client
//! negotiates every parameter combination, checks the exact `Sec-WebSocket-Extensions`
//! answer, then compresses its messages itself (flate2 raw deflate, sync flush, the
//! `00 00 ff ff` tail stripped) and inflates the echoes the way the agreement says.
//!
//! flate2's inflater (zlib-rs) always keeps a 32 KiB window, so it cannot tell whether the
//! server kept to an agreed `server_max_window_bits` below 15. Every echo therefore also
//! goes through [`audit`], a small DEFLATE block walker (RFC 1951) that reports the
//! longest back-reference; `window_checks_can_fail` proves both checks bite.

mod common;

use std::net::TcpStream;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};

use common::*;

/// What a sync flush ends with and RFC 7692 §7.2.1 has the sender remove.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// RSV1 in [`RawFrame::rsv`] / [`Frame::rsv`] terms: "this message is compressed".
const RSV1: u8 = 0b100;

// ---------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------

/// Deterministic incompressible bytes (xorshift64).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

/// Incompressible block of `block` bytes repeated `times`: a compressor whose window is
/// at least `block` (plus zlib's 262-byte margin) encodes the repeats as back-references
/// that far back; one limited to a smaller window cannot.
fn repeated_noise(block: usize, times: usize, seed: u64) -> Vec<u8> {
    noise(block, seed).repeat(times)
}

// ---------------------------------------------------------------------------------------
// Raw deflate, as an RFC 7692 client does it
// ---------------------------------------------------------------------------------------

/// A raw-deflate compressor whose output is valid under a `bits` window. zlib cannot
/// compress a raw stream with an 8-bit window, so for 8 we store (level 0 emits only
/// stored blocks, which hold no back-references at all).
fn deflater(bits: u8) -> Compress {
    if bits == 8 {
        Compress::new_with_window_bits(Compression::none(), false, 9)
    } else {
        Compress::new_with_window_bits(Compression::default(), false, bits)
    }
}

/// Compresses one message: all of `data`, then a sync flush, tail stripped.
fn compress_message(c: &mut Compress, data: &[u8]) -> Vec<u8> {
    let start = c.total_in();
    let mut out = Vec::with_capacity(data.len() + data.len() / 8 + 64);
    loop {
        let done = (c.total_in() - start) as usize;
        c.compress_vec(&data[done..], &mut out, FlushCompress::Sync)
            .expect("flate2 compress");
        let done = (c.total_in() - start) as usize;
        // The flush is complete once all input is in and zlib left output room unused.
        if done == data.len() && out.len() < out.capacity() {
            break;
        }
        out.reserve(out.capacity().max(64));
    }
    // zlib skips a flush right after a flush, so an empty message compresses to nothing;
    // RFC 7692 §7.2.3.6 has it sent as a single 0x00 (with the tail: an empty stored
    // block). A 0-byte payload plus the tail would be a truncated stored block header.
    if data.is_empty() && out.is_empty() {
        return vec![0x00];
    }
    assert!(
        out.ends_with(&TAIL),
        "sync flush did not end with 00 00 ff ff"
    );
    out.truncate(out.len() - TAIL.len());
    out
}

/// Inflates one message (the tail appended back).
fn inflate_message(d: &mut Decompress, payload: &[u8]) -> Result<Vec<u8>, String> {
    let mut input = payload.to_vec();
    input.extend_from_slice(&TAIL);
    let mut out = Vec::with_capacity(payload.len() * 4 + 64);
    let mut pos = 0;
    loop {
        let (in0, out0) = (d.total_in(), d.total_out());
        d.decompress_vec(&input[pos..], &mut out, FlushDecompress::Sync)
            .map_err(|e| format!("inflate failed after {} bytes: {e}", out.len()))?;
        let used = (d.total_in() - in0) as usize;
        let made = (d.total_out() - out0) as usize;
        pos += used;
        if pos == input.len() && out.len() < out.capacity() {
            return Ok(out);
        }
        if used == 0 && made == 0 && out.len() < out.capacity() {
            return Err(format!(
                "inflate stalled at input byte {pos} of {}",
                input.len()
            ));
        }
        out.reserve(out.capacity().max(4096));
    }
}

/// Checks with [`audit::walk`] that no back-reference in `payload` reaches further than a
/// `bits` window, and that the walk agrees with flate2 on the inflated length.
fn check_window(payload: &[u8], bits: u8, inflated_len: usize) -> Result<(), String> {
    let mut data = payload.to_vec();
    data.extend_from_slice(&TAIL);
    let report = audit::walk(&data)?;
    if report.len != inflated_len {
        return Err(format!(
            "block walk found {} bytes, flate2 inflated {inflated_len}",
            report.len
        ));
    }
    if report.max_distance > 1 << bits {
        return Err(format!(
            "back-reference of {} bytes exceeds the agreed {bits}-bit window",
            report.max_distance
        ));
    }
    Ok(())
}

fn inflater(bits: u8) -> Decompress {
    Decompress::new_with_window_bits(false, bits)
}

/// A DEFLATE (RFC 1951) block walker that decodes symbols without producing output:
/// enough to measure what a compressor did.
mod audit {
    /// What one message's compressed data contains.
    #[derive(Debug, Default, PartialEq, Eq)]
    pub struct Report {
        /// Bytes it inflates to.
        pub len: usize,
        /// Longest back-reference distance (0 if none).
        pub max_distance: usize,
    }

    const LEN_BASE: [u16; 29] = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
        131, 163, 195, 227, 258,
    ];
    const LEN_EXTRA: [u8; 29] = [
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
    ];
    const DIST_BASE: [u16; 30] = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
        2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
    ];
    const DIST_EXTRA: [u8; 30] = [
        0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12,
        13, 13,
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
}

// ---------------------------------------------------------------------------------------
// Handshake
// ---------------------------------------------------------------------------------------

/// Upgrades with one `Sec-WebSocket-Extensions` header line per entry of `offers`.
fn upgrade(server: &Server, offers: &[&str]) -> (TcpStream, Response) {
    let mut request = Request::upgrade(&server.host());
    for offer in offers {
        request
            .headers
            .push(("Sec-WebSocket-Extensions".into(), (*offer).into()));
    }
    let mut stream = server.connect();
    std::io::Write::write_all(&mut stream, &request.to_bytes()).unwrap();
    let response = read_response_head(&mut stream);
    assert_eq!(
        response.status, 101,
        "upgrade with {offers:?} refused: {response:?}"
    );
    let count = response
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Sec-WebSocket-Extensions"))
        .count();
    assert!(
        count <= 1,
        "{count} Sec-WebSocket-Extensions lines in {response:?}"
    );
    (stream, response)
}

/// The parameters a response agreed (RFC 7692 §7.1), as the test expects them.
#[derive(Clone, Copy, Debug)]
struct Agreed {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    /// Window the server compresses with (15 when unstated).
    server_bits: u8,
    /// Window we must compress with (15 when unstated).
    client_bits: u8,
}

const FULL: Agreed = Agreed {
    server_no_context_takeover: false,
    client_no_context_takeover: false,
    server_bits: 15,
    client_bits: 15,
};

impl Agreed {
    fn snct(self) -> Agreed {
        Agreed {
            server_no_context_takeover: true,
            ..self
        }
    }
    fn cnct(self) -> Agreed {
        Agreed {
            client_no_context_takeover: true,
            ..self
        }
    }
    fn server_bits(self, bits: u8) -> Agreed {
        Agreed {
            server_bits: bits,
            ..self
        }
    }
    fn client_bits(self, bits: u8) -> Agreed {
        Agreed {
            client_bits: bits,
            ..self
        }
    }
}

// ---------------------------------------------------------------------------------------
// A compressing client
// ---------------------------------------------------------------------------------------

/// An echo as it came off the wire.
#[derive(Debug)]
struct Echo {
    opcode: u8,
    /// RSV1 on the first frame.
    compressed: bool,
    payload: Vec<u8>,
    frames: usize,
}

/// Gathers one data message from frames; pongs are kept aside, anything else fails.
#[derive(Default)]
struct Assembler {
    first: Option<Frame>,
    payload: Vec<u8>,
    frames: usize,
    done: bool,
    pongs: Vec<Vec<u8>>,
}

impl Assembler {
    fn take(&mut self, frame: Frame) {
        if frame.opcode == OP_PONG {
            assert!(frame.fin && frame.rsv == 0, "bad pong {frame:?}");
            self.pongs.push(frame.payload);
            return;
        }
        assert!(!self.done, "frame after the final one: {frame:?}");
        match &self.first {
            None => {
                assert!(
                    frame.opcode == OP_TEXT || frame.opcode == OP_BINARY,
                    "expected the start of an echo, got {frame:?}"
                );
                assert_eq!(frame.rsv & 0b011, 0, "RSV2/RSV3 set on {frame:?}");
            }
            Some(_) => {
                assert_eq!(
                    frame.opcode, OP_CONT,
                    "expected a continuation, got {frame:?}"
                );
                assert_eq!(
                    frame.rsv, 0,
                    "RSV bits on a continuation frame (RFC 7692 §6: RSV1 on the first frame only): {frame:?}"
                );
            }
        }
        self.payload.extend_from_slice(&frame.payload);
        self.frames += 1;
        self.done = frame.fin;
        if self.first.is_none() {
            self.first = Some(Frame {
                payload: Vec::new(),
                ..frame
            });
        }
    }

    fn finish(self) -> Echo {
        assert!(self.done, "echo not finished");
        let first = self.first.expect("an echo frame");
        Echo {
            opcode: first.opcode,
            compressed: first.rsv & RSV1 != 0,
            payload: self.payload,
            frames: self.frames,
        }
    }
}

fn read_echo(stream: &mut TcpStream) -> Echo {
    let mut asm = Assembler::default();
    while !asm.done {
        asm.take(read_frame(stream));
    }
    assert!(asm.pongs.is_empty(), "unexpected pong {:?}", asm.pongs);
    asm.finish()
}

/// How a message is cut into frames.
#[derive(Clone, Copy, Debug)]
enum Cut {
    Whole,
    /// Frames of this many (compressed) bytes, with an empty continuation in the middle.
    Every(usize),
}

/// Frames one message: RSV1 (if `compressed`) on the first frame only.
fn frames(opcode: u8, payload: &[u8], cut: Cut, compressed: bool) -> Vec<RawFrame> {
    let rsv = if compressed { RSV1 } else { 0 };
    let size = match cut {
        Cut::Whole => return vec![RawFrame::new(opcode, payload).rsv(rsv)],
        Cut::Every(size) => size.max(1),
    };
    let mut pieces: Vec<&[u8]> = payload.chunks(size).collect();
    if pieces.is_empty() {
        pieces.push(&[]);
    }
    // An empty continuation frame is legal and must not disturb the inflater.
    pieces.insert(pieces.len().div_ceil(2).max(1), &[]);
    let last = pieces.len() - 1;
    pieces
        .into_iter()
        .enumerate()
        .map(|(i, piece)| {
            if i == 0 {
                RawFrame::new(opcode, piece).rsv(rsv).fin(false)
            } else {
                RawFrame::cont(piece).fin(i == last)
            }
        })
        .collect()
}

/// Writes frames from a thread, so a big message can be echoed while it is still going.
fn send_in_background(stream: &TcpStream, frames: Vec<RawFrame>) -> JoinHandle<()> {
    let mut writer = stream.try_clone().unwrap();
    writer
        .set_write_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    thread::spawn(move || {
        for chunk in frames.chunks(64) {
            send(&mut writer, chunk);
        }
    })
}

/// A client that agreed permessage-deflate and keeps both contexts the way it was agreed.
struct Client {
    stream: TcpStream,
    agreed: Agreed,
    deflater: Compress,
    inflater: Decompress,
}

impl Client {
    /// Upgrades with `offers`, asserts the response header is exactly `expected`.
    fn open(server: &Server, offers: &[&str], expected: &str, agreed: Agreed) -> Client {
        let (stream, response) = upgrade(server, offers);
        assert_eq!(
            response.header("Sec-WebSocket-Extensions"),
            Some(expected),
            "offers {offers:?}: {response:?}"
        );
        Client {
            stream,
            agreed,
            deflater: deflater(agreed.client_bits),
            inflater: inflater(agreed.server_bits),
        }
    }

    fn compress(&mut self, data: &[u8]) -> Vec<u8> {
        if self.agreed.client_no_context_takeover {
            self.deflater = deflater(self.agreed.client_bits);
        }
        compress_message(&mut self.deflater, data)
    }

    /// Inflates an echo as agreed, and checks it kept to the agreed window.
    fn inflate(&mut self, payload: &[u8]) -> Result<Vec<u8>, String> {
        if self.agreed.server_no_context_takeover {
            // The server promised an empty window per message: a fresh inflater fails
            // on any reference into an earlier message.
            self.inflater = inflater(self.agreed.server_bits);
        }
        let inflated = inflate_message(&mut self.inflater, payload)?;
        check_window(payload, self.agreed.server_bits, inflated.len())?;
        Ok(inflated)
    }

    /// Sends `data` compressed, reads the echo, asserts it is compressed (RSV1 on the
    /// first frame) and inflates to `data`. Returns the echo's compressed size.
    fn roundtrip(&mut self, opcode: u8, data: &[u8], cut: Cut) -> usize {
        let compressed = self.compress(data);
        let writer = send_in_background(&self.stream, frames(opcode, &compressed, cut, true));
        let echo = read_echo(&mut self.stream);
        writer.join().expect("writer thread");
        assert_eq!(echo.opcode, opcode, "echo opcode");
        if !echo.compressed && data.is_empty() {
            // RFC 7692 §6 lets the server send any message uncompressed; wsecho does so
            // for empty messages (nothing to compress).
            assert!(echo.payload.is_empty(), "empty message echoed as {echo:?}");
            return 0;
        }
        assert!(
            echo.compressed,
            "echo of a {}-byte compressed message has RSV1 clear ({} frames)",
            data.len(),
            echo.frames
        );
        let inflated = self.inflate(&echo.payload).unwrap_or_else(|e| {
            panic!(
                "echo of a {}-byte message does not inflate with {:?}: {e}",
                data.len(),
                self.agreed
            )
        });
        assert_eq!(inflated.len(), data.len(), "inflated echo length");
        assert!(inflated == data, "inflated echo differs from what was sent");
        echo.payload.len()
    }

    /// Sends `data` uncompressed (RSV1 clear) on the deflate connection; the echo may be
    /// either, and must carry `data`.
    fn roundtrip_plain(&mut self, opcode: u8, data: &[u8]) {
        send(&mut self.stream, &[RawFrame::new(opcode, data)]);
        let echo = read_echo(&mut self.stream);
        assert_eq!(echo.opcode, opcode);
        let got = if echo.compressed {
            self.inflate(&echo.payload).expect("inflate echo")
        } else {
            echo.payload
        };
        assert!(got == data, "echo of an uncompressed message differs");
    }

    /// A clean close: we send 1000, the server answers 1000 and drops TCP.
    fn close(mut self) {
        send(&mut self.stream, &[RawFrame::close(1000, "bye")]);
        let close = expect_close(&mut self.stream);
        assert_eq!(close.code, Some(1000), "close answer {close:?}");
        assert_server_closes(&mut self.stream, CLOSE_BOUND);
    }
}

/// Messages that together exercise contexts, windows, fragmentation and sizes.
fn exercise(c: &mut Client) {
    let a = c.agreed;
    c.roundtrip(OP_TEXT, b"Hello, permessage-deflate!", Cut::Whole);
    c.roundtrip(OP_BINARY, b"", Cut::Whole);
    c.roundtrip(OP_TEXT, b"", Cut::Every(1));
    c.roundtrip(OP_BINARY, b"x", Cut::Whole);

    // The same incompressible 200 bytes twice: with context takeover the second echo
    // is a back-reference to the first; without, it must stand alone.
    let r = noise(200, 7);
    let first = c.roundtrip(OP_BINARY, &r, Cut::Whole);
    let second = c.roundtrip(OP_BINARY, &r, Cut::Whole);
    if a.server_no_context_takeover {
        assert!(
            second * 2 >= first,
            "server_no_context_takeover agreed, yet the repeat shrank {first} -> {second}"
        );
    } else {
        assert!(
            second * 4 < first,
            "context takeover: the repeat should compress against the previous message ({first} -> {second})"
        );
    }

    // An uncompressed message in between touches no context (RFC 7692 §6.1).
    c.roundtrip_plain(OP_TEXT, "plain text between compressed ones".as_bytes());
    c.roundtrip(OP_BINARY, &r, Cut::Whole);

    // Text whose multi-byte code points straddle frames, cut into 1000-byte frames.
    let text = utf8_text(20_000).into_bytes();
    let size = c.roundtrip(OP_TEXT, &text, Cut::Every(1000));
    assert!(
        size * 4 < text.len(),
        "the server barely compressed repetitive text ({} -> {size})",
        text.len()
    );
    // One compressed byte per frame.
    c.roundtrip(
        OP_TEXT,
        "fragmented to single bytes: €😀é".as_bytes(),
        Cut::Every(1),
    );

    // Repeats at a distance just beyond the agreed server window: the echo must not
    // refer back that far (checked by the block walk in `Client::inflate`).
    let probe = repeated_noise((1 << a.server_bits) + 300, 3, 11);
    c.roundtrip(OP_BINARY, &probe, Cut::Every(16 << 10));
    // And repeats well inside the window must be found.
    let inside = repeated_noise((1 << a.server_bits) / 4, 4, 13);
    let size = c.roundtrip(OP_BINARY, &inside, Cut::Whole);
    assert!(
        size * 4 < inside.len() * 3,
        "repeats inside the {}-bit window were not compressed ({} -> {size})",
        a.server_bits,
        inside.len()
    );

    c.roundtrip(OP_BINARY, &noise(48 << 10, 17), Cut::Every(16 << 10));
    c.roundtrip(OP_BINARY, &pattern(64 << 10), Cut::Whole);
    for i in 0..50 {
        let msg = format!(
            "{{\"seq\":{i},\"kind\":\"tick\",\"payload\":\"{}\"}}",
            i * 7919
        );
        c.roundtrip(OP_TEXT, msg.as_bytes(), Cut::Whole);
    }
}

/// Negotiates with `offers`, expects exactly `expected`, then exercises the connection.
fn accepted(server: &Server, offers: &[&str], expected: &str, agreed: Agreed) {
    let mut c = Client::open(server, offers, expected, agreed);
    exercise(&mut c);
    c.close();
}

/// The offer is declined: 101 without `Sec-WebSocket-Extensions`, plain echoes work and a
/// frame with RSV1 set is a protocol error.
fn declined(server: &Server, offers: &[&str]) {
    let (mut stream, response) = upgrade(server, offers);
    assert_eq!(
        response.header("Sec-WebSocket-Extensions"),
        None,
        "offers {offers:?} should be declined: {response:?}"
    );
    send(&mut stream, &[RawFrame::text("uncompressed")]);
    assert_eq!(
        read_message(&mut stream),
        (OP_TEXT, b"uncompressed".to_vec())
    );
    let compressed = compress_message(&mut deflater(15), b"compressed");
    send(&mut stream, &[RawFrame::text(compressed).rsv(RSV1)]);
    expect_fail(&mut stream, 1002, &["reserved bits"]);
}

// ---------------------------------------------------------------------------------------
// The checker itself
// ---------------------------------------------------------------------------------------

#[test]
fn window_checks_can_fail() {
    // Repeats 2100 bytes apart compressed with a 15-bit window: the block walk sees
    // 2100-byte references, so a 9..11-bit agreement fails and 12 passes.
    let data = repeated_noise(2100, 2, 3);
    let payload = compress_message(&mut deflater(15), &data);
    assert!(payload.len() < data.len() * 3 / 4, "repeats were not found");
    assert_eq!(inflate_message(&mut inflater(15), &payload).unwrap(), data);
    for bits in 9..=11 {
        let err = check_window(&payload, bits, data.len()).unwrap_err();
        assert!(err.contains("exceeds the agreed"), "{err}");
    }
    check_window(&payload, 12, data.len()).unwrap();
    // The same data compressed with a 9-bit window passes a 9-bit check.
    let small = compress_message(&mut deflater(9), &data);
    check_window(&small, 9, data.len()).unwrap();
    assert_eq!(inflate_message(&mut inflater(9), &small).unwrap(), data);
    // A wrong length is caught too (the walk and flate2 must agree).
    assert!(check_window(&small, 15, data.len() + 1).is_err());
    // Stored, fixed and dynamic blocks all walk.
    for level in [0, 1, 9] {
        let mut c = Compress::new_with_window_bits(Compression::new(level), false, 15);
        for msg in [
            &b""[..],
            b"a",
            b"abcabcabcabc",
            &utf8_text(70_000).into_bytes(),
        ] {
            let p = compress_message(&mut c, msg);
            let mut d = inflater(15);
            let n = inflate_message(&mut d, &p).unwrap().len();
            assert_eq!(n, msg.len());
            check_window(&p, 15, n).unwrap();
        }
    }
    // A message relying on the previous one fails on a fresh inflater, which is how
    // server_no_context_takeover is checked.
    let mut d = deflater(15);
    let one = compress_message(&mut d, &data[..2100]);
    let two = compress_message(&mut d, &data[..2100]);
    let mut shared = inflater(15);
    assert_eq!(inflate_message(&mut shared, &one).unwrap(), &data[..2100]);
    assert_eq!(inflate_message(&mut shared, &two).unwrap(), &data[..2100]);
    assert!(inflate_message(&mut inflater(15), &two).is_err());
}

// ---------------------------------------------------------------------------------------
// Negotiation: accepted offers, exact answers, then real traffic
// ---------------------------------------------------------------------------------------

#[test]
fn bare_offer() {
    let server = Server::start(&[]);
    accepted(&server, &["permessage-deflate"], "permessage-deflate", FULL);
}

#[test]
fn server_no_context_takeover() {
    let server = Server::start(&[]);
    accepted(
        &server,
        &["permessage-deflate; server_no_context_takeover"],
        "permessage-deflate; server_no_context_takeover",
        FULL.snct(),
    );
}

#[test]
fn client_no_context_takeover() {
    let server = Server::start(&[]);
    accepted(
        &server,
        &["permessage-deflate; client_no_context_takeover"],
        "permessage-deflate; client_no_context_takeover",
        FULL.cnct(),
    );
}

#[test]
fn both_no_context_takeover() {
    let server = Server::start(&[]);
    accepted(
        &server,
        &["permessage-deflate; client_no_context_takeover; server_no_context_takeover"],
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        FULL.snct().cnct(),
    );
}

#[test]
fn server_max_window_bits_9_to_15() {
    let server = Server::start(&[]);
    for bits in 9..=15u8 {
        let offer = format!("permessage-deflate; server_max_window_bits={bits}");
        let expected = format!("permessage-deflate; server_max_window_bits={bits}");
        accepted(&server, &[&offer], &expected, FULL.server_bits(bits));
    }
}

#[test]
fn client_max_window_bits_without_value() {
    // The server may leave it out: we then compress with up to 15 bits.
    let server = Server::start(&[]);
    accepted(
        &server,
        &["permessage-deflate; client_max_window_bits"],
        "permessage-deflate",
        FULL,
    );
}

#[test]
fn client_max_window_bits_8_to_15() {
    let server = Server::start(&[]);
    for bits in 8..=15u8 {
        let offer = format!("permessage-deflate; client_max_window_bits={bits}");
        // 15 is the default and need not be stated.
        let expected = if bits == 15 {
            "permessage-deflate".to_string()
        } else {
            format!("permessage-deflate; client_max_window_bits={bits}")
        };
        accepted(&server, &[&offer], &expected, FULL.client_bits(bits));
    }
}

#[test]
fn every_parameter_at_once() {
    let server = Server::start(&[]);
    accepted(
        &server,
        &[
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
           server_max_window_bits=10; client_max_window_bits=11",
        ],
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=10; client_max_window_bits=11",
        FULL.snct().cnct().server_bits(10).client_bits(11),
    );
    // Whitespace around `;` and `=` and quoted values are fine (RFC 6455 §9.1).
    accepted(
        &server,
        &["permessage-deflate ;server_max_window_bits = \"12\";\tclient_max_window_bits=\"9\""],
        "permessage-deflate; server_max_window_bits=12; client_max_window_bits=9",
        FULL.server_bits(12).client_bits(9),
    );
}

#[test]
fn autobahn_13_7_three_offers() {
    // What Autobahn's fuzzingclient sends for cases 13.7.*: the first offer is taken.
    let server = Server::start(&[]);
    accepted(
        &server,
        &[
            "permessage-deflate; client_no_context_takeover; client_max_window_bits; \
           server_no_context_takeover; server_max_window_bits=9, \
           permessage-deflate; client_no_context_takeover; client_max_window_bits; \
           server_no_context_takeover, \
           permessage-deflate; client_no_context_takeover; client_max_window_bits",
        ],
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=9",
        FULL.snct().cnct().server_bits(9),
    );
    // The same with a first offer we must decline (8 bits): the second one is taken.
    accepted(
        &server,
        &[
            "permessage-deflate; client_no_context_takeover; client_max_window_bits; \
           server_no_context_takeover; server_max_window_bits=8, \
           permessage-deflate; client_no_context_takeover; client_max_window_bits; \
           server_no_context_takeover, \
           permessage-deflate; client_no_context_takeover; client_max_window_bits",
        ],
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        FULL.snct().cnct(),
    );
}

#[test]
fn unknown_extensions_are_ignored() {
    let server = Server::start(&[]);
    accepted(
        &server,
        &["x-webkit-deflate-frame, permessage-deflate; client_max_window_bits"],
        "permessage-deflate",
        FULL,
    );
    accepted(
        &server,
        &[
            "foo; bar=1; baz=\"a, b\"",
            "permessage-deflate; server_max_window_bits=11",
        ],
        "permessage-deflate; server_max_window_bits=11",
        FULL.server_bits(11),
    );
    declined(&server, &["x-webkit-deflate-frame"]);
    declined(&server, &["foo; bar=1, baz"]);
}

#[test]
fn a_declined_offer_falls_through_to_the_next() {
    let server = Server::start(&[]);
    // Duplicate parameter in the first offer, on the same line.
    accepted(
        &server,
        &["permessage-deflate; client_max_window_bits; client_max_window_bits, permessage-deflate"],
        "permessage-deflate",
        FULL,
    );
    // A malformed line contributes nothing; the next line still counts.
    accepted(
        &server,
        &[
            "permessage-deflate; server_max_window_bits=\"10",
            "permessage-deflate; server_no_context_takeover",
        ],
        "permessage-deflate; server_no_context_takeover",
        FULL.snct(),
    );
}

#[test]
fn deflate_max_window_bits_option() {
    let server = Server::start(&["--deflate-max-window-bits", "10"]);
    accepted(
        &server,
        &["permessage-deflate"],
        "permessage-deflate; server_max_window_bits=10",
        FULL.server_bits(10),
    );
    accepted(
        &server,
        &["permessage-deflate; server_max_window_bits=12"],
        "permessage-deflate; server_max_window_bits=10",
        FULL.server_bits(10),
    );
    accepted(
        &server,
        &["permessage-deflate; server_max_window_bits=9"],
        "permessage-deflate; server_max_window_bits=9",
        FULL.server_bits(9),
    );
}

#[test]
fn deflate_no_context_takeover_option() {
    let server = Server::start(&["--deflate-no-context-takeover"]);
    accepted(
        &server,
        &["permessage-deflate"],
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        FULL.snct().cnct(),
    );
}

// ---------------------------------------------------------------------------------------
// Negotiation: declined offers
// ---------------------------------------------------------------------------------------

#[test]
fn server_max_window_bits_8_is_declined() {
    let server = Server::start(&[]);
    declined(&server, &["permessage-deflate; server_max_window_bits=8"]);
    declined(
        &server,
        &["permessage-deflate; server_no_context_takeover; server_max_window_bits=8"],
    );
}

#[test]
fn malformed_or_duplicate_parameters_are_declined() {
    let server = Server::start(&[]);
    for offer in [
        // Duplicates (RFC 7692 §5.1).
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
        "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
        // Unknown parameters.
        "permessage-deflate; foo",
        "permessage-deflate; server_max_window_bits=10; x=1",
        // Values where none is allowed, or a missing / bad value.
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_no_context_takeover=\"\"",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=0",
        "permessage-deflate; server_max_window_bits=09",
        "permessage-deflate; server_max_window_bits=abc",
        "permessage-deflate; server_max_window_bits=\"1 0\"",
        "permessage-deflate; client_max_window_bits=16",
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; client_max_window_bits=010",
        // Syntax errors.
        "permessage-deflate;",
        "permessage-deflate; ;",
        "permessage-deflate; server_max_window_bits=",
        "permessage-deflate; server_max_window_bits=\"10",
        "permessage-deflate server_no_context_takeover",
        "permessage-deflate; =10",
        // A syntax error anywhere voids the whole line, valid offers before it included.
        "permessage-deflate, permessage-deflate; ;",
    ] {
        declined(&server, &[offer]);
    }
}

#[test]
fn no_deflate_option_declines_everything() {
    let server = Server::start(&["--no-deflate"]);
    declined(&server, &["permessage-deflate"]);
    declined(
        &server,
        &["permessage-deflate; client_max_window_bits; server_no_context_takeover"],
    );
}

// ---------------------------------------------------------------------------------------
// Larger messages and many connections
// ---------------------------------------------------------------------------------------

#[test]
fn one_mib_messages_fragmented_and_whole() {
    let server = Server::start(&[]);
    let mut c = Client::open(&server, &["permessage-deflate"], "permessage-deflate", FULL);
    let text = utf8_text(1 << 20).into_bytes();
    c.roundtrip(OP_TEXT, &text, Cut::Every(64 << 10));
    c.roundtrip(OP_TEXT, &text, Cut::Whole);
    let data = noise(1 << 20, 99);
    c.roundtrip(OP_BINARY, &data, Cut::Every(64 << 10));
    c.roundtrip(OP_BINARY, &data, Cut::Whole);
    c.close();
}

#[test]
fn concurrent_connections_keep_their_own_contexts() {
    let server = Server::start(&["--deflate-max-window-bits", "12"]);
    let cases: Vec<(&str, &str, Agreed)> = vec![
        (
            "permessage-deflate",
            "permessage-deflate; server_max_window_bits=12",
            FULL.server_bits(12),
        ),
        (
            "permessage-deflate; server_no_context_takeover",
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=12",
            FULL.snct().server_bits(12),
        ),
        (
            "permessage-deflate; server_max_window_bits=9; client_max_window_bits=10",
            "permessage-deflate; server_max_window_bits=9; client_max_window_bits=10",
            FULL.server_bits(9).client_bits(10),
        ),
        (
            "permessage-deflate; client_no_context_takeover",
            "permessage-deflate; client_no_context_takeover; server_max_window_bits=12",
            FULL.cnct().server_bits(12),
        ),
    ];
    thread::scope(|s| {
        for (i, (offer, expected, agreed)) in cases.iter().enumerate() {
            let server = &server;
            s.spawn(move || {
                let mut c = Client::open(server, &[offer], expected, *agreed);
                for round in 0..40u64 {
                    let seed = round * 10 + i as u64;
                    let msg = repeated_noise(300, 3, seed);
                    c.roundtrip(OP_BINARY, &msg, Cut::Whole);
                    c.roundtrip(OP_TEXT, utf8_text(500 + i).as_bytes(), Cut::Every(97));
                }
                c.close();
            });
        }
    });
}

// ---------------------------------------------------------------------------------------
// Limits: a compressed bomb
// ---------------------------------------------------------------------------------------

/// Peak resident set size of a process (VmHWM), in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM line");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmHWM value");
    kib * 1024
}

/// `mibs` MiB of zero bytes as one message's compressed data. Compressing 64 MiB in a
/// debug build is slow, so: the first MiB, then the second MiB (which, following zeros,
/// only refers back into zeros) repeated. Each piece ends with a sync flush, so it is
/// byte-aligned and ends on a block boundary: the pieces concatenate.
fn zero_bomb(mibs: usize) -> Vec<u8> {
    let mut c = Compress::new_with_window_bits(Compression::best(), false, 15);
    let zeros = vec![0u8; MIB];
    let mut first = compress_message(&mut c, &zeros);
    first.extend_from_slice(&TAIL);
    let mut next = compress_message(&mut c, &zeros);
    next.extend_from_slice(&TAIL);
    let mut bomb = first;
    for _ in 1..mibs {
        bomb.extend_from_slice(&next);
    }
    bomb.truncate(bomb.len() - TAIL.len());
    // The bomb is what it claims to be.
    let inflated = inflate_message(&mut inflater(15), &bomb).expect("bomb inflates");
    assert!(inflated.len() == mibs * MIB && inflated.iter().all(|&b| b == 0));
    bomb
}

const MIB: usize = 1 << 20;

#[test]
fn compressed_bomb_is_refused_with_1009_and_memory_stays_small() {
    let server = Server::start(&["--max-message-size", "1048576"]);
    let bomb = zero_bomb(64);
    assert!(
        bomb.len() < 128 << 10,
        "bomb is {} bytes compressed",
        bomb.len()
    );

    // Exactly at the limit: accepted.
    let mut c = Client::open(&server, &["permessage-deflate"], "permessage-deflate", FULL);
    c.roundtrip(OP_BINARY, &vec![0u8; MIB], Cut::Whole);
    c.close();

    for (what, opcode, cut) in [
        ("one binary frame", OP_BINARY, Cut::Whole),
        ("4 KiB text frames", OP_TEXT, Cut::Every(4096)),
    ] {
        let (mut stream, response) = upgrade(&server, &["permessage-deflate"]);
        assert_eq!(
            response.header("Sec-WebSocket-Extensions"),
            Some("permessage-deflate")
        );
        let start = Instant::now();
        let mut writer = stream.try_clone().unwrap();
        let wire = concat(&frames(opcode, &bomb, cut, true));
        // The server may close before it has read everything: write errors are fine.
        let w = thread::spawn(move || {
            let _ = std::io::Write::write_all(&mut writer, &wire);
        });
        let close = expect_close_after_partial_echo(&mut stream);
        let took = start.elapsed();
        assert_close(&close, &[1009], &["exceeds the limit"]);
        assert!(
            took < Duration::from_secs(2),
            "bomb as {what}: 1009 took {took:?}"
        );
        reply_close(&mut stream, &close);
        assert_server_closes(&mut stream, CLOSE_BOUND);
        w.join().unwrap();
    }

    let peak = peak_rss(server.pid());
    eprintln!("wsecho peak RSS after the bombs: {} KiB", peak / 1024);
    assert!(
        peak < 32 * MIB as u64,
        "wsecho peaked at {} MiB of RSS",
        peak / MIB as u64
    );
}

#[test]
fn message_one_byte_over_the_limit_after_inflation_is_1009() {
    let server = Server::start(&["--max-message-size", "1000"]);
    let mut c = Client::open(&server, &["permessage-deflate"], "permessage-deflate", FULL);
    c.roundtrip(OP_TEXT, &vec![b'a'; 1000], Cut::Whole);
    let payload = c.compress(&[b'a'; 1001]);
    assert!(payload.len() < 100);
    send(&mut c.stream, &[RawFrame::text(payload).rsv(RSV1)]);
    let close = expect_close_after_partial_echo(&mut c.stream);
    assert_close(&close, &[1009], &["exceeds the limit"]);
    reply_close(&mut c.stream, &close);
    assert_server_closes(&mut c.stream, CLOSE_BOUND);
}

// ---------------------------------------------------------------------------------------
// Control frames inside a compressed message
// ---------------------------------------------------------------------------------------

#[test]
fn pings_between_fragments_of_a_compressed_message_are_answered_at_once() {
    let server = Server::start(&[]);
    let mut c = Client::open(&server, &["permessage-deflate"], "permessage-deflate", FULL);
    let text = utf8_text(60_000).into_bytes();
    let payload = c.compress(&text);
    let third = payload.len() / 3;
    let parts = [
        &payload[..third],
        &payload[third..2 * third],
        &payload[2 * third..],
    ];

    let mut asm = Assembler::default();
    for (i, part) in parts.iter().enumerate() {
        let frame = if i == 0 {
            RawFrame::text(part).rsv(RSV1).fin(false)
        } else {
            RawFrame::cont(part).fin(i == 2)
        };
        let ping = format!("ping-{i}");
        let start = Instant::now();
        send(&mut c.stream, &[frame, RawFrame::ping(&ping)]);
        // The pong must come before we send the rest of the message.
        while asm.pongs.len() <= i {
            asm.take(read_frame(&mut c.stream));
        }
        assert_eq!(asm.pongs[i], ping.as_bytes(), "pong payload");
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "pong took {:?}",
            start.elapsed()
        );
    }
    while !asm.done {
        asm.take(read_frame(&mut c.stream));
    }
    let echo = asm.finish();
    assert!(echo.compressed, "echo not compressed");
    assert_eq!(c.inflate(&echo.payload).unwrap(), text);
    // The connection is still in step afterwards.
    c.roundtrip(OP_TEXT, &text, Cut::Whole);
    c.close();
}

// ---------------------------------------------------------------------------------------
// Protocol errors
// ---------------------------------------------------------------------------------------

/// Expects the server to fail the connection with `code` (possibly after forwarding some
/// fragments of the message in progress), then to drop TCP once we answer.
fn expect_fail_mid_message(stream: &mut TcpStream, code: u16, words: &[&str]) {
    let close = expect_close_after_partial_echo(stream);
    assert_close(&close, &[code], words);
    reply_close(stream, &close);
    assert_server_closes(stream, CLOSE_BOUND);
}

fn deflate_client(server: &Server) -> Client {
    Client::open(server, &["permessage-deflate"], "permessage-deflate", FULL)
}

#[test]
fn rsv1_on_a_continuation_frame_is_1002() {
    let server = Server::start(&[]);
    let mut c = deflate_client(&server);
    let payload = c.compress(&utf8_text(3000).into_bytes());
    let (head, rest) = payload.split_at(payload.len() / 2);
    send(
        &mut c.stream,
        &[
            RawFrame::text(head).rsv(RSV1).fin(false),
            RawFrame::cont(rest).rsv(RSV1),
        ],
    );
    expect_fail_mid_message(&mut c.stream, 1002, &["continuation"]);
}

#[test]
fn rsv1_on_a_control_frame_is_1002() {
    let server = Server::start(&[]);
    for frame in [
        RawFrame::ping("p").rsv(RSV1),
        RawFrame::pong("p").rsv(RSV1),
        RawFrame::close(1000, "").rsv(RSV1),
    ] {
        let mut c = deflate_client(&server);
        c.roundtrip(OP_TEXT, b"before", Cut::Whole);
        send(&mut c.stream, &[frame]);
        expect_fail(&mut c.stream, 1002, &["control frame"]);
    }
    // Also in the middle of a compressed message.
    let mut c = deflate_client(&server);
    let payload = c.compress(b"some compressed text");
    send(
        &mut c.stream,
        &[
            RawFrame::text(&payload[..4]).rsv(RSV1).fin(false),
            RawFrame::ping("p").rsv(RSV1),
        ],
    );
    expect_fail_mid_message(&mut c.stream, 1002, &["control frame"]);
}

#[test]
fn rsv2_and_rsv3_stay_reserved_with_deflate() {
    let server = Server::start(&[]);
    for rsv in [0b010, 0b001, 0b110, 0b111] {
        let mut c = deflate_client(&server);
        let payload = c.compress(b"hello");
        send(&mut c.stream, &[RawFrame::text(payload).rsv(rsv)]);
        expect_fail(&mut c.stream, 1002, &["reserved bits"]);
    }
}

#[test]
fn rsv1_with_no_deflate_is_1002() {
    let server = Server::start(&["--no-deflate"]);
    let (mut stream, response) = upgrade(&server, &["permessage-deflate"]);
    assert_eq!(response.header("Sec-WebSocket-Extensions"), None);
    let payload = compress_message(&mut deflater(15), b"hello");
    send(&mut stream, &[RawFrame::text(payload).rsv(RSV1)]);
    expect_fail(&mut stream, 1002, &["reserved bits"]);
    // Without any offer, on a server with deflate on, the same.
    let server = Server::start(&[]);
    let mut stream = server.open();
    let payload = compress_message(&mut deflater(15), b"hello");
    send(&mut stream, &[RawFrame::binary(payload).rsv(RSV1)]);
    expect_fail(&mut stream, 1002, &["reserved bits"]);
}

#[test]
fn corrupt_deflate_data_is_1007() {
    let server = Server::start(&[]);
    // A back-reference into a previous message the server never saw.
    let mut d = deflater(15);
    let block = noise(1000, 5);
    compress_message(&mut d, &block);
    let dangling = compress_message(&mut d, &block);
    // A complete sync-flushed chunk, then a block header with the reserved type 11.
    let mut head = compress_message(&mut deflater(15), &utf8_text(5000).into_bytes());
    head.extend_from_slice(&TAIL);
    for (what, payload) in [
        ("reserved block type 11", vec![0xff; 16]),
        (
            "stored block with LEN != ~NLEN",
            vec![0x00, 0x05, 0x00, 0x00, 0x00],
        ),
        ("reference before the stream start", dangling),
    ] {
        let mut c = deflate_client(&server);
        c.roundtrip(OP_BINARY, b"warm-up", Cut::Whole);
        send(&mut c.stream, &[RawFrame::binary(&payload).rsv(RSV1)]);
        let close = expect_close_after_partial_echo(&mut c.stream);
        assert!(close.code == Some(1007), "{what}: {close:?}");
        assert_close(&close, &[1007], &["inflate"]);
        reply_close(&mut c.stream, &close);
        assert_server_closes(&mut c.stream, CLOSE_BOUND);
    }
    // Garbage in a later fragment of a fragmented message (fresh connection, so the
    // compressed stream starts clean).
    let mut c = deflate_client(&server);
    send(
        &mut c.stream,
        &[
            RawFrame::binary(&head).rsv(RSV1).fin(false),
            RawFrame::cont([0xff; 16]),
        ],
    );
    expect_fail_mid_message(&mut c.stream, 1007, &["inflate"]);
}

#[test]
fn compressed_text_that_inflates_to_invalid_utf8_is_1007() {
    let server = Server::start(&[]);
    for (what, text, cut) in [
        (
            "stray continuation byte",
            b"valid, then \x80".to_vec(),
            Cut::Whole,
        ),
        ("overlong encoding", b"\xc0\xaf".to_vec(), Cut::Whole),
        ("surrogate", b"ab\xed\xa0\x80cd".to_vec(), Cut::Every(2)),
        (
            "truncated at the end",
            b"euro: \xe2\x82".to_vec(),
            Cut::Whole,
        ),
        (
            "0xFF deep inside",
            {
                let mut t = utf8_text(50_000).into_bytes();
                t[40_000] = 0xff;
                t
            },
            Cut::Every(1000),
        ),
    ] {
        let mut c = deflate_client(&server);
        c.roundtrip(OP_TEXT, "warm-up €".as_bytes(), Cut::Whole);
        let payload = c.compress(&text);
        let writer = send_in_background(&c.stream, frames(OP_TEXT, &payload, cut, true));
        let close = expect_close_after_partial_echo(&mut c.stream);
        assert!(close.code == Some(1007), "{what}: {close:?}");
        assert_close(&close, &[1007], &["utf-8"]);
        reply_close(&mut c.stream, &close);
        assert_server_closes(&mut c.stream, CLOSE_BOUND);
        let _ = writer.join();
    }
    // The same bytes as binary are fine.
    let mut c = deflate_client(&server);
    c.roundtrip(OP_BINARY, b"valid, then \x80", Cut::Whole);
    c.close();
}

#[test]
fn zero_byte_compressed_payload_is_an_empty_message() {
    // zlib emits nothing for an empty message right after a flush, so a client that
    // just strips the tail sends RSV1 with a 0-byte payload (Chromium and Python's
    // websockets send 0x00 instead). It must read as an empty message and leave the
    // inflater in step: with the tail it is an unfinished stored block header, which
    // must not swallow the next message.
    let server = Server::start(&[]);
    let mut c = deflate_client(&server);
    c.roundtrip(OP_TEXT, b"before", Cut::Whole);
    for opcode in [OP_TEXT, OP_BINARY] {
        send(&mut c.stream, &[RawFrame::new(opcode, []).rsv(RSV1)]);
        let echo = read_echo(&mut c.stream);
        assert_eq!(echo.opcode, opcode);
        let got = if echo.compressed {
            c.inflate(&echo.payload).unwrap()
        } else {
            echo.payload
        };
        assert!(got.is_empty(), "empty message echoed as {got:?}");
    }
    c.roundtrip(OP_TEXT, b"before", Cut::Whole);
    c.close();
}

#[test]
fn message_whose_deflate_data_ends_inside_a_block_is_1007() {
    // RFC 7692 §7.2.1: the sender strips exactly the 00 00 ff ff of the empty stored block
    // a sync flush ends with, so payload + tail always ends on a block boundary. If it
    // does not, the data is broken; accepting it echoes bytes the client never sent (the
    // tail as stored data) and reads the next message as the rest of the block.
    let server = Server::start(&[]);
    // Truncated inside a stored block.
    let mut c = deflate_client(&server);
    let payload = c.compress(&noise(3000, 21));
    assert_eq!(payload[0] & 0b111, 0, "expected a stored block");
    send(
        &mut c.stream,
        &[RawFrame::binary(&payload[..1500]).rsv(RSV1)],
    );
    expect_fail_mid_message(&mut c.stream, 1007, &["inflate"]);
    // The tail left on (a second tail then starts an unfinished stored block).
    let mut c = deflate_client(&server);
    let mut payload = c.compress(b"tail not stripped");
    payload.extend_from_slice(&TAIL);
    send(&mut c.stream, &[RawFrame::text(&payload).rsv(RSV1)]);
    expect_fail_mid_message(&mut c.stream, 1007, &["inflate"]);
}

// ---------------------------------------------------------------------------------------
// --deflate-min-size
// ---------------------------------------------------------------------------------------

#[test]
fn deflate_min_size_sends_short_echoes_uncompressed() {
    let server = Server::start(&["--deflate-min-size", "100"]);
    let mut c = deflate_client(&server);

    let long = utf8_text(500).into_bytes();
    let first = c.roundtrip(OP_TEXT, &long, Cut::Whole);

    for (len, cut) in [
        (0, Cut::Whole),
        (1, Cut::Whole),
        (50, Cut::Every(1)),
        (99, Cut::Whole),
    ] {
        let short = &long[..len];
        let payload = c.compress(short);
        send(&mut c.stream, &frames(OP_TEXT, &payload, cut, true));
        let echo = read_echo(&mut c.stream);
        assert!(
            !echo.compressed,
            "a {len}-byte echo is compressed despite --deflate-min-size 100"
        );
        assert_eq!(echo.opcode, OP_TEXT);
        assert!(echo.payload == short, "{len}-byte echo differs");
    }

    // At the threshold: compressed, also when the message arrives in 1-byte frames.
    c.roundtrip(OP_BINARY, &noise(100, 1), Cut::Whole);
    c.roundtrip(OP_TEXT, utf8_text(150).as_bytes(), Cut::Every(1));
    // The uncompressed echoes did not enter the server's compression context: the
    // long message again compresses against its first copy and inflates in step.
    let again = c.roundtrip(OP_TEXT, &long, Cut::Whole);
    assert!(
        again < first,
        "no context takeover across short messages ({first} -> {again})"
    );
    c.close();
}
