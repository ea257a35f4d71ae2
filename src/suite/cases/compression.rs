//! Groups 12 and 13, permessage-deflate: 1000 messages cut from a test text or file,
//! each sent compressed once the last came back, the echo compared by type, length and
//! SHA-1. 12.1 to 12.5 take the default offer with five kinds of data; 13.1 to 13.7
//! take one kind with seven ways of accepting the client's offer. Each group's 18 cases
//! are the same sizes: 16 bytes to 128 KiB, then 8 KiB to 128 KiB with the compressed
//! payload cut into frames of 256 bytes to 32 KiB. A client that offers no
//! permessage-deflate (or none the case accepts) is graded UNIMPLEMENTED at once.
//!
//! The data: Autobahn's cases use five files it ships (a JSON file, a bitmap, Goethe's
//! Faust from Project Gutenberg, an HTML page, a PDF). wsecho does not carry those
//! third-party files; it makes data of the same kinds and about the same sizes instead,
//! the same every run: JSON text, an 8-bit bitmap, German text (sent as binary, as
//! Autobahn sends Faust), HTML with some non-ASCII letters, and incompressible bytes
//! for the PDF. The grades depend on the echo only, not on which bytes are echoed;
//! compression ratios differ from Autobahn's.

use std::sync::OnceLock;

use crate::suite::case::{ExpectedClose, Grade, Payload};
use crate::suite::offer::{Accept, Offer};
use crate::suite::peer::{Ctx, Script};

use super::NORMAL;

/// (payload length, case timeout in seconds, auto-fragment size) of the 18 cases of
/// each subgroup (Autobahn's `MSG_SIZES`; 1000 messages each).
const SIZES: [(usize, f64, usize); 18] = [
    (16, 60.0, 0),
    (64, 60.0, 0),
    (256, 120.0, 0),
    (1024, 240.0, 0),
    (4096, 480.0, 0),
    (8192, 480.0, 0),
    (16384, 480.0, 0),
    (32768, 480.0, 0),
    (65536, 480.0, 0),
    (131072, 480.0, 0),
    (8192, 480.0, 256),
    (16384, 480.0, 256),
    (32768, 480.0, 256),
    (65536, 480.0, 256),
    (131072, 480.0, 256),
    (131072, 480.0, 1024),
    (131072, 480.0, 4096),
    (131072, 480.0, 32768),
];
/// Messages per case.
const COUNT: u32 = 1000;

/// The kinds of test data (Autobahn's `WS_COMPRESSION_TESTDATA`, in the order of
/// 12.1 to 12.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Data {
    /// "Large JSON data file" (text; Autobahn's is 194056 bytes).
    Json,
    /// "Lena Picture, Bitmap 512x512 bw" (binary, 263222 bytes).
    Bitmap,
    /// "Human readable text, Goethe's Faust I (German)" (binary, 222218 bytes).
    Faust,
    /// "Large HTML file" (text, 263647 bytes).
    Html,
    /// "A larger PDF" (binary, 1042328 bytes).
    Pdf,
}

impl Data {
    /// Sent as text (and cut by characters, as Autobahn cuts a decoded string) or as
    /// binary (cut by bytes).
    fn binary(self) -> bool {
        !matches!(self, Data::Json | Data::Html)
    }

    fn bytes(self) -> &'static [u8] {
        static DATA: [OnceLock<Vec<u8>>; 5] = [const { OnceLock::new() }; 5];
        DATA[self as usize].get_or_init(|| make(self))
    }
}

/// A small, fixed pseudo-random sequence (xorshift64), so that the data is the same
/// every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Cuts `s` to at most `len` bytes, on a character boundary.
fn truncate_text(mut s: String, len: usize) -> Vec<u8> {
    let mut end = len.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    s.into_bytes()
}

fn make(kind: Data) -> Vec<u8> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (kind as u64 + 1));
    match kind {
        Data::Json => {
            const WORDS: &[&str] = &[
                "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
                "juliet", "kilo", "lima", "mike", "november", "oscar", "papa",
            ];
            let mut s = String::from("[\n");
            let mut id = 0u64;
            while s.len() < 194_056 {
                id += 1;
                let (a, b, c) = (rng.pick(WORDS), rng.pick(WORDS), rng.pick(WORDS));
                let score = rng.below(100_000);
                s.push_str(&format!(
                    "  {{\"id\": {id}, \"name\": \"{a} {b}\", \"tags\": [\"{c}\", \"{a}\"], \
                     \"score\": {}.{:03}, \"active\": {}}},\n",
                    score / 1000,
                    score % 1000,
                    rng.below(2) == 0
                ));
            }
            truncate_text(s, 194_056)
        }
        Data::Bitmap => {
            // A BMP header and palette (1078 bytes), then 512x512 grey pixels: smooth
            // shapes with noise, as a photograph has.
            let mut v = Vec::with_capacity(263_222);
            v.extend_from_slice(b"BM");
            v.extend_from_slice(&263_222u32.to_le_bytes());
            v.extend_from_slice(&[0, 0, 0, 0]);
            v.extend_from_slice(&1078u32.to_le_bytes());
            v.extend_from_slice(&40u32.to_le_bytes());
            v.extend_from_slice(&512u32.to_le_bytes());
            v.extend_from_slice(&512u32.to_le_bytes());
            v.extend_from_slice(&[1, 0, 8, 0]);
            v.resize(54, 0);
            for i in 0..=255u8 {
                v.extend_from_slice(&[i, i, i, 0]);
            }
            for y in 0..512usize {
                for x in 0..512usize {
                    let (dx, dy) = (x as i64 - 256, y as i64 - 200);
                    let shape = ((dx * dx + dy * dy) / 300) as usize + x / 4 + y / 8;
                    v.push(((shape + rng.below(12)) % 256) as u8);
                }
            }
            v
        }
        Data::Faust => {
            const WORDS: &[&str] = &[
                "Habe",
                "nun",
                "ach",
                "Philosophie",
                "Juristerei",
                "und",
                "Medizin",
                "leider",
                "auch",
                "Theologie",
                "durchaus",
                "studiert",
                "mit",
                "heißem",
                "Bemühn",
                "da",
                "steh",
                "ich",
                "armer",
                "Tor",
                "bin",
                "so",
                "klug",
                "als",
                "wie",
                "zuvor",
                "Geist",
                "Mephistopheles",
                "Gretchen",
                "Straße",
                "Nacht",
                "Kerker",
                "Wald",
                "Höhle",
                "Schülers",
                "Träume",
                "über",
                "Fäuste",
            ];
            let mut s = String::from("\u{feff}Faust: Der Tragödie erster Teil\r\n\r\n");
            while s.len() < 222_218 {
                let words = 4 + rng.below(6);
                for i in 0..words {
                    if i > 0 {
                        s.push(' ');
                    }
                    s.push_str(rng.pick(WORDS));
                }
                s.push_str([",\r\n", ".\r\n", "!\r\n", ";\r\n\r\n"][rng.below(4)]);
            }
            truncate_text(s, 222_218)
        }
        Data::Html => {
            const WORDS: &[&str] = &[
                "the",
                "server",
                "client",
                "message",
                "frame",
                "window",
                "deflate",
                "echo",
                "protocol",
                "handshake",
                "close",
                "status",
                "payload",
                "binary",
                "text",
            ];
            const RARE: &[&str] = &["café", "naïve", "Zürich", "—", "€"];
            let mut s = String::from(
                "<!DOCTYPE html>\n<html>\n<head><title>Test page</title></head>\n<body>\n",
            );
            while s.len() < 263_647 {
                let tag = ["p", "li", "td", "h2"][rng.below(4)];
                s.push_str(&format!("<{tag} class=\"c{}\">", rng.below(20)));
                for i in 0..(5 + rng.below(15)) {
                    if i > 0 {
                        s.push(' ');
                    }
                    // About one non-ASCII word in every 4000, as in Autobahn's page
                    // (27 characters in 263620).
                    if rng.below(4000) == 0 {
                        s.push_str(rng.pick(RARE));
                    } else {
                        s.push_str(rng.pick(WORDS));
                    }
                }
                s.push_str(&format!("</{tag}>\n"));
            }
            truncate_text(s, 263_647)
        }
        Data::Pdf => {
            // A PDF is mostly compressed streams: bytes that do not compress, with some
            // text between them.
            let mut v = Vec::with_capacity(1_042_328);
            v.extend_from_slice(b"%PDF-1.2\n");
            let mut n = 1;
            while v.len() < 1_042_328 {
                v.extend_from_slice(
                    format!("{n} 0 obj\n<< /Length 4096 /Filter /FlateDecode >>\nstream\n")
                        .as_bytes(),
                );
                for _ in 0..512 {
                    v.extend_from_slice(&rng.next().to_le_bytes());
                }
                v.extend_from_slice(b"\nendstream\nendobj\n");
                n += 1;
            }
            v.truncate(1_042_328);
            v
        }
    }
}

/// Which offer a case accepts, and how (Autobahn's `accept1` to `accept7`; 12.x use
/// the first).
#[derive(Debug, Clone, Copy)]
enum Acceptance {
    /// The first offer, as it is.
    First,
    /// The first offer that lets us ask for `client_no_context_takeover`, asking so.
    NoContextTakeover,
    /// The first that lets us name `client_max_window_bits`, naming this.
    WindowBits(u8),
    /// The first that lets us ask both, asking both.
    Both(u8),
    /// `Both(9)`, else `NoContextTakeover`, else `First`.
    Fallback,
}

impl Acceptance {
    fn accept(self, offers: &[Offer]) -> Option<Accept> {
        let ask = |offer: Offer, nct: bool, bits: u8| Accept {
            offer,
            request_no_context_takeover: nct,
            request_max_window_bits: bits,
        };
        match self {
            Acceptance::First => offers.first().map(|&o| Accept::plain(o)),
            Acceptance::NoContextTakeover => offers
                .iter()
                .find(|o| o.accept_no_context_takeover)
                .map(|&o| ask(o, true, 0)),
            Acceptance::WindowBits(bits) => offers
                .iter()
                .find(|o| o.accept_max_window_bits)
                .map(|&o| ask(o, false, bits)),
            Acceptance::Both(bits) => offers
                .iter()
                .find(|o| o.accept_no_context_takeover && o.accept_max_window_bits)
                .map(|&o| ask(o, true, bits)),
            Acceptance::Fallback => Acceptance::Both(9)
                .accept(offers)
                .or_else(|| Acceptance::NoContextTakeover.accept(offers))
                .or_else(|| Acceptance::First.accept(offers)),
        }
    }
}

/// One case: `COUNT` messages of `len` (characters for text, else bytes), each sent
/// when the last came back.
struct Compressed {
    data: Data,
    acceptance: Acceptance,
    len: usize,
    wait: f64,
    auto_fragment: usize,
    /// Where the next message starts in the data (a byte offset).
    at: usize,
    sent: u32,
    /// The message the echo must equal.
    expected: Option<Payload>,
}

impl Compressed {
    /// A run from the start of `data`, nothing sent yet.
    fn new(
        data: Data,
        acceptance: Acceptance,
        len: usize,
        wait: f64,
        auto_fragment: usize,
    ) -> Compressed {
        Compressed {
            data,
            acceptance,
            len,
            wait,
            auto_fragment,
            at: 0,
            sent: 0,
            expected: None,
        }
    }

    /// The next message: `len` characters (or bytes) on from the last, round the end
    /// of the data to its start (Autobahn's `sendOne`).
    fn next_message(&mut self) -> Vec<u8> {
        let data = self.data.bytes();
        let mut msg = Vec::with_capacity(self.len + self.len / 2);
        let mut at = self.at;
        for _ in 0..self.len {
            if at >= data.len() {
                at = 0;
            }
            // A character's bytes: one, or (text) up to the next boundary. The data is
            // valid UTF-8 when it is text.
            let mut end = at + 1;
            if !self.data.binary() {
                while end < data.len() && data[end] & 0xC0 == 0x80 {
                    end += 1;
                }
            }
            msg.extend_from_slice(&data[at..end]);
            at = end;
        }
        self.at = at % data.len();
        msg
    }

    fn send_one(&mut self, c: &mut Ctx<'_>) {
        let msg = self.next_message();
        self.expected = Some(Payload::of(&msg));
        c.send_message(self.data.binary(), &msg, msg.len(), None);
        self.sent += 1;
    }
}

impl Script for Compressed {
    fn accept(&mut self, offers: &[Offer]) -> Option<Accept> {
        self.acceptance.accept(offers)
    }

    fn open(&mut self, c: &mut Ctx<'_>) {
        c.case.report_time = true;
        c.case.report_compression_ratio = true;
        c.case.expected_close = ExpectedClose::by_me(NORMAL);
        if self.auto_fragment > 0 {
            c.set_auto_fragment(self.auto_fragment);
        }
        if !c.compressing() {
            c.case.behavior = Grade::Unimplemented;
            c.send_close(Some(NORMAL), None);
            return;
        }
        c.case.behavior = Grade::Failed;
        c.case.result = format!("Case did not finish within {} seconds.", self.wait);
        c.close_after(self.wait);
        self.send_one(c);
    }

    fn message(&mut self, c: &mut Ctx<'_>, payload: Payload, binary: bool) {
        let Some(expected) = self.expected.take() else {
            return;
        };
        let python = |b: bool| if b { "True" } else { "False" };
        if binary != self.data.binary() {
            c.case.behavior = Grade::Failed;
            c.case.result = format!(
                "Echo'ed message type differs from what I sent (got binary {}, expected \
                 binary {}).",
                python(binary),
                python(self.data.binary())
            );
            c.send_close(Some(NORMAL), None);
        } else if payload.len != expected.len {
            c.case.behavior = Grade::Failed;
            c.case.result = format!(
                "Echo'ed message length differs from what I sent (got length {}, expected \
                 length {}).",
                payload.len, expected.len
            );
            c.send_close(Some(NORMAL), None);
        } else if payload.digest != expected.digest {
            let hex = |d: &[u8]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
            c.case.behavior = Grade::Failed;
            c.case.result = format!(
                "Echo'ed message contents differs from what I sent (got SHA1 {}, expected \
                 SHA1 {}).",
                hex(&payload.digest),
                hex(&expected.digest)
            );
            c.send_close(Some(NORMAL), None);
        } else if self.sent < COUNT {
            self.send_one(c);
        } else {
            c.case.behavior = Grade::Ok;
            c.case.result = "Ok, received all echo'ed messages in time.".to_string();
            c.case.traffic = Some(c.traffic());
            c.send_close(Some(NORMAL), None);
        }
    }
}

pub(super) fn script(id: &str) -> Option<Box<dyn Script>> {
    let mut parts = id.split('.');
    let group = parts.next()?;
    let sub: usize = parts.next()?.parse().ok()?;
    let n: usize = parts.next()?.parse().ok()?;
    let &(len, wait, auto_fragment) = SIZES.get(n.checked_sub(1)?)?;
    let (data, acceptance) = match group {
        "12" => {
            let data = *[Data::Json, Data::Bitmap, Data::Faust, Data::Html, Data::Pdf]
                .get(sub.checked_sub(1)?)?;
            (data, Acceptance::First)
        }
        "13" => {
            let acceptance = *[
                Acceptance::First,
                Acceptance::NoContextTakeover,
                Acceptance::WindowBits(9),
                Acceptance::WindowBits(15),
                Acceptance::Both(9),
                Acceptance::Both(15),
                Acceptance::Fallback,
            ]
            .get(sub.checked_sub(1)?)?;
            (Data::Json, acceptance)
        }
        _ => return None,
    };
    Some(Box::new(Compressed::new(
        data,
        acceptance,
        len,
        wait,
        auto_fragment,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_has_the_kinds_and_sizes_of_autobahns() {
        for (kind, len) in [
            (Data::Json, 194_056),
            (Data::Bitmap, 263_222),
            (Data::Faust, 222_218),
            (Data::Pdf, 1_042_328),
        ] {
            assert_eq!(kind.bytes().len(), len, "{kind:?}");
        }
        let html = std::str::from_utf8(Data::Html.bytes()).unwrap();
        assert!(html.len() > 263_600 && html.chars().count() < html.len());
        assert!(std::str::from_utf8(Data::Json.bytes()).unwrap().is_ascii());
        assert!(std::str::from_utf8(Data::Faust.bytes()).is_ok());
    }

    #[test]
    fn text_is_cut_by_characters_round_the_end() {
        let mut case = Compressed::new(Data::Html, Acceptance::First, 131_072, 1.0, 0);
        let chars = std::str::from_utf8(Data::Html.bytes())
            .unwrap()
            .chars()
            .count();
        let mut total = 0;
        for _ in 0..3 {
            let m = case.next_message();
            let text = std::str::from_utf8(&m).unwrap();
            assert_eq!(text.chars().count(), 131_072);
            total += 131_072;
        }
        assert_eq!(
            std::str::from_utf8(&Data::Html.bytes()[..case.at])
                .unwrap()
                .chars()
                .count(),
            total % chars
        );
    }

    #[test]
    fn a_client_that_echoes_what_it_did_not_read_is_cut_off() {
        use crate::suite::peer::{Peer, Status};
        use std::time::Instant;
        let t0 = Instant::now();
        let mut peer = Peer::server(script("12.5.10").unwrap(), t0);
        let offers = crate::suite::offer::parse(&[b"permessage-deflate"]).unwrap();
        assert_eq!(
            peer.negotiate(&offers).as_deref(),
            Some("permessage-deflate")
        );
        let mut out = Vec::new();
        peer.open(t0, &mut out);
        // The case's messages, which a client can know without reading them, echoed all
        // at once (uncompressed, which permessage-deflate allows; masked with 0).
        let mut same = Compressed::new(Data::Pdf, Acceptance::First, 131_072, 1.0, 0);
        let mut input = Vec::new();
        for _ in 0..100 {
            let m = same.next_message();
            input.extend_from_slice(&[0x82, 0x80 | 127]);
            input.extend_from_slice(&(m.len() as u64).to_be_bytes());
            input.extend_from_slice(&[0; 4]);
            input.extend_from_slice(&m);
        }
        peer.input(&mut input, t0, &mut out);
        assert_eq!(peer.status(), Status::Abort);
        assert!(out.len() < 1 << 20, "{} bytes written", out.len());
    }

    #[test]
    fn the_acceptances_are_autobahns() {
        let plain = Offer {
            accept_no_context_takeover: true,
            accept_max_window_bits: false,
            request_no_context_takeover: false,
            request_max_window_bits: 0,
        };
        let bits = Offer {
            accept_max_window_bits: true,
            ..plain
        };
        assert!(Acceptance::WindowBits(9).accept(&[plain]).is_none());
        assert_eq!(
            Acceptance::Fallback
                .accept(&[plain, bits])
                .unwrap()
                .response(),
            "permessage-deflate; client_no_context_takeover; client_max_window_bits=9"
        );
        assert_eq!(
            Acceptance::Fallback.accept(&[plain]).unwrap().response(),
            "permessage-deflate; client_no_context_takeover"
        );
        assert!(Acceptance::First.accept(&[]).is_none());
    }
}
