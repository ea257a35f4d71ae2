//! permessage-deflate as a client speaks it, for the deflate tests: raw deflate with
//! flate2 (sync flush, tail stripped), a DEFLATE block walker that finds the longest
//! back-reference (flate2's inflater cannot tell whether an agreed window was kept),
//! the upgrade with offers, and a compressing client that checks every echo.

use std::net::TcpStream;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};

use super::*;

/// What a sync flush ends with and RFC 7692 §7.2.1 has the sender remove.
pub const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// RSV1 in [`RawFrame::rsv`] / [`Frame::rsv`] terms: "this message is compressed".
pub const RSV1: u8 = 0b100;

// ---------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------

/// Deterministic incompressible bytes (xorshift64).
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
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
pub fn repeated_noise(block: usize, times: usize, seed: u64) -> Vec<u8> {
    noise(block, seed).repeat(times)
}

// ---------------------------------------------------------------------------------------
// Raw deflate, as an RFC 7692 client does it
// ---------------------------------------------------------------------------------------

/// A raw-deflate compressor whose output is valid under a `bits` window. zlib cannot
/// compress a raw stream with an 8-bit window, so for 8 we store (level 0 emits only
/// stored blocks, which hold no back-references at all).
pub fn deflater(bits: u8) -> Compress {
    if bits == 8 {
        Compress::new_with_window_bits(Compression::none(), false, 9)
    } else {
        Compress::new_with_window_bits(Compression::default(), false, bits)
    }
}

/// Compresses one message: all of `data`, then a sync flush, tail stripped.
pub fn compress_message(c: &mut Compress, data: &[u8]) -> Vec<u8> {
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
pub fn inflate_message(d: &mut Decompress, payload: &[u8]) -> Result<Vec<u8>, String> {
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
pub fn check_window(payload: &[u8], bits: u8, inflated_len: usize) -> Result<(), String> {
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

pub fn inflater(bits: u8) -> Decompress {
    Decompress::new_with_window_bits(false, bits)
}

pub use wsecho_test_support::deflate as audit;

// ---------------------------------------------------------------------------------------
// Handshake
// ---------------------------------------------------------------------------------------

/// Upgrades with one `Sec-WebSocket-Extensions` header line per entry of `offers`.
pub fn upgrade(server: &Server, offers: &[&str]) -> (TcpStream, Response) {
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
pub struct Agreed {
    pub server_no_context_takeover: bool,
    pub client_no_context_takeover: bool,
    /// Window the server compresses with (15 when unstated).
    pub server_bits: u8,
    /// Window we must compress with (15 when unstated).
    pub client_bits: u8,
}

pub const FULL: Agreed = Agreed {
    server_no_context_takeover: false,
    client_no_context_takeover: false,
    server_bits: 15,
    client_bits: 15,
};

impl Agreed {
    pub fn snct(self) -> Agreed {
        Agreed {
            server_no_context_takeover: true,
            ..self
        }
    }
    pub fn cnct(self) -> Agreed {
        Agreed {
            client_no_context_takeover: true,
            ..self
        }
    }
    pub fn server_bits(self, bits: u8) -> Agreed {
        Agreed {
            server_bits: bits,
            ..self
        }
    }
    pub fn client_bits(self, bits: u8) -> Agreed {
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
pub struct Echo {
    pub opcode: u8,
    /// RSV1 on the first frame.
    pub compressed: bool,
    pub payload: Vec<u8>,
    pub frames: usize,
}

/// Gathers one data message from frames; pongs are kept aside, anything else fails.
#[derive(Default)]
pub struct Assembler {
    pub first: Option<Frame>,
    pub payload: Vec<u8>,
    pub frames: usize,
    pub done: bool,
    pub pongs: Vec<Vec<u8>>,
}

impl Assembler {
    pub fn take(&mut self, frame: Frame) {
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

    pub fn finish(self) -> Echo {
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

pub fn read_echo(stream: &mut TcpStream) -> Echo {
    let mut asm = Assembler::default();
    while !asm.done {
        asm.take(read_frame(stream));
    }
    assert!(asm.pongs.is_empty(), "unexpected pong {:?}", asm.pongs);
    asm.finish()
}

/// How a message is cut into frames.
#[derive(Clone, Copy, Debug)]
pub enum Cut {
    Whole,
    /// Frames of this many (compressed) bytes, with an empty continuation in the middle.
    Every(usize),
}

/// Frames one message: RSV1 (if `compressed`) on the first frame only.
pub fn frames(opcode: u8, payload: &[u8], cut: Cut, compressed: bool) -> Vec<RawFrame> {
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
pub fn send_in_background(stream: &TcpStream, frames: Vec<RawFrame>) -> JoinHandle<()> {
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
pub struct Client<S = TcpStream> {
    pub stream: S,
    pub agreed: Agreed,
    pub deflater: Compress,
    pub inflater: Decompress,
}

impl<S> Client<S> {
    /// Builds a client on a stream already upgraded with `agreed` parameters.
    pub fn on(stream: S, agreed: Agreed) -> Client<S> {
        Client {
            stream,
            agreed,
            deflater: deflater(agreed.client_bits),
            inflater: inflater(agreed.server_bits),
        }
    }

    pub fn compress(&mut self, data: &[u8]) -> Vec<u8> {
        if self.agreed.client_no_context_takeover {
            self.deflater = deflater(self.agreed.client_bits);
        }
        compress_message(&mut self.deflater, data)
    }

    /// Inflates an echo as agreed, and checks it kept to the agreed window.
    pub fn inflate(&mut self, payload: &[u8]) -> Result<Vec<u8>, String> {
        if self.agreed.server_no_context_takeover {
            // The server promised an empty window per message: a fresh inflater fails
            // on any reference into an earlier message.
            self.inflater = inflater(self.agreed.server_bits);
        }
        let inflated = inflate_message(&mut self.inflater, payload)?;
        check_window(payload, self.agreed.server_bits, inflated.len())?;
        Ok(inflated)
    }
}

impl Client {
    /// Upgrades with `offers`, asserts the response header is exactly `expected`.
    pub fn open(server: &Server, offers: &[&str], expected: &str, agreed: Agreed) -> Client {
        let (stream, response) = upgrade(server, offers);
        assert_eq!(
            response.header("Sec-WebSocket-Extensions"),
            Some(expected),
            "offers {offers:?}: {response:?}"
        );
        Client::on(stream, agreed)
    }

    /// Sends `data` compressed, reads the echo, asserts it is compressed (RSV1 on the
    /// first frame) and inflates to `data`. Returns the echo's compressed size.
    pub fn roundtrip(&mut self, opcode: u8, data: &[u8], cut: Cut) -> usize {
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
    pub fn roundtrip_plain(&mut self, opcode: u8, data: &[u8]) {
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
    pub fn close(mut self) {
        send(&mut self.stream, &[RawFrame::close(1000, "bye")]);
        let close = expect_close(&mut self.stream);
        assert_eq!(close.code, Some(1000), "close answer {close:?}");
        assert_server_closes(&mut self.stream, CLOSE_BOUND);
    }
}

/// Messages that together exercise contexts, windows, fragmentation and sizes.
pub fn exercise(c: &mut Client) {
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
pub fn accepted(server: &Server, offers: &[&str], expected: &str, agreed: Agreed) {
    let mut c = Client::open(server, offers, expected, agreed);
    exercise(&mut c);
    c.close();
}

/// The offer is declined: 101 without `Sec-WebSocket-Extensions`, plain echoes work and a
/// frame with RSV1 set is a protocol error.
pub fn declined(server: &Server, offers: &[&str]) {
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

/// Expects the server to fail the connection with `code` (possibly after forwarding some
/// fragments of the message in progress), then to drop TCP once we answer.
pub fn expect_fail_mid_message(stream: &mut TcpStream, code: u16, words: &[&str]) {
    let close = expect_close_after_partial_echo(stream);
    assert_close(&close, &[code], words);
    reply_close(stream, &close);
    assert_server_closes(stream, CLOSE_BOUND);
}

pub fn deflate_client(server: &Server) -> Client {
    Client::open(server, &["permessage-deflate"], "permessage-deflate", FULL)
}
