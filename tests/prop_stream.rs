//! Property: any valid client byte stream — an upgrade request, then messages (random
//! unicode text, binary), each fragmented into random frame sizes with pings between
//! the fragments, then a close — yields exactly the echoes and pongs it asks for, and
//! the same ones however the stream is cut into reads. With permessage-deflate agreed,
//! the client compresses some messages (raw DEFLATE, sync flush, tail removed, the
//! window carried over) and the echoes, inflated, must equal the originals.
//!
//! Drives `Connection` directly, with no socket, so each case takes microseconds.

use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

use flate2::write::DeflateEncoder;
use flate2::{Compression, Decompress, FlushDecompress};
use proptest::prelude::*;
use proptest::sample::Index;
use wsecho::fuzzing::config::Config;
use wsecho::fuzzing::connection::{Connection, Output, Status};

const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CONTINUATION: u8 = 0x0;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

/// What the client sends, and what it must get back, as whole items.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Message { opcode: u8, payload: Vec<u8> },
    Pong(Vec<u8>),
    Close(Vec<u8>),
}

/// One message of a session: its data, where its payload is cut into frames, and the
/// pings sent after each frame but the last (between its fragments).
#[derive(Debug, Clone)]
struct Message {
    opcode: u8,
    data: Vec<u8>,
    /// Cut points into the payload as sent (compressed or not).
    cuts: Vec<Index>,
    /// A ping after fragment `i` (if there is a fragment `i + 1`).
    pings: Vec<Option<Vec<u8>>>,
    /// Sent compressed (only when deflate is agreed).
    compress: bool,
    mask: [u8; 4],
}

#[derive(Debug, Clone)]
struct Session {
    messages: Vec<Message>,
    close_code: u16,
    close_reason: String,
    /// Where the byte stream is cut into reads.
    reads: Vec<Index>,
    /// Feed one byte per read instead.
    bytewise: bool,
}

fn message() -> impl Strategy<Value = Message> {
    let text = any::<String>().prop_map(|s| (TEXT, s.into_bytes()));
    let binary = prop::collection::vec(any::<u8>(), 0..300).prop_map(|b| (BINARY, b));
    // Large enough that the server echoes whole chunks straight from its input buffer.
    let large_text = prop::collection::vec(any::<char>(), 400..2000)
        .prop_map(|c| (TEXT, c.into_iter().collect::<String>().into_bytes()));
    let large_binary = prop::collection::vec(any::<u8>(), 1024..6000).prop_map(|b| (BINARY, b));
    (
        prop_oneof![4 => text, 4 => binary, 1 => large_text, 1 => large_binary],
        prop::collection::vec(any::<Index>(), 0..6),
        prop::collection::vec(
            prop::option::weighted(0.4, prop::collection::vec(any::<u8>(), 0..=125)),
            0..6,
        ),
        any::<bool>(),
        any::<[u8; 4]>(),
    )
        .prop_map(|((opcode, data), cuts, pings, compress, mask)| Message {
            opcode,
            data,
            cuts,
            pings,
            compress,
            mask,
        })
}

fn session() -> impl Strategy<Value = Session> {
    (
        prop::collection::vec(message(), 0..8),
        prop::sample::select(vec![1000u16, 1001, 1003, 1011, 3000, 4999]),
        "[a-z κόσμε]{0,20}",
        prop::collection::vec(any::<Index>(), 0..24),
        prop::bool::weighted(0.1),
    )
        .prop_map(
            |(messages, close_code, close_reason, reads, bytewise)| Session {
                messages,
                close_code,
                close_reason,
                reads,
                bytewise,
            },
        )
}

/// A masked client frame.
fn frame(fin: bool, rsv1: bool, opcode: u8, mask: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let rsv = if rsv1 { 0b100 } else { 0 };
    wsecho_test_support::frames::client_frame(fin, rsv, opcode, mask, payload)
}

fn request(deflate: bool) -> Vec<u8> {
    let ext = if deflate {
        "Sec-WebSocket-Extensions: permessage-deflate\r\n"
    } else {
        ""
    };
    format!(
        "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{ext}\r\n"
    )
    .into_bytes()
}

/// The client's compressor: one window for the whole session (context takeover).
struct ClientDeflate(DeflateEncoder<Vec<u8>>);

impl ClientDeflate {
    /// RFC 7692 §7.2.1: compress, sync-flush, remove the `00 00 ff ff` tail.
    fn message(&mut self, data: &[u8]) -> Vec<u8> {
        self.0.write_all(data).unwrap();
        self.0.flush().unwrap();
        let mut p = std::mem::take(self.0.get_mut());
        if p.is_empty() {
            // A repeated flush with nothing new writes nothing: an empty message is 0x00.
            return vec![0x00];
        }
        assert!(p.ends_with(&[0, 0, 0xff, 0xff]));
        p.truncate(p.len() - 4);
        p
    }
}

/// The byte stream for `session`, and the items it must be answered with.
fn build(session: &Session, deflate: bool) -> (Vec<u8>, Vec<Item>) {
    let mut stream = request(deflate);
    let mut expected = Vec::new();
    let mut compressor = ClientDeflate(DeflateEncoder::new(Vec::new(), Compression::new(6)));
    for m in &session.messages {
        let compress = deflate && m.compress;
        let payload = if compress {
            compressor.message(&m.data)
        } else {
            m.data.clone()
        };
        let mut cuts: Vec<usize> = m.cuts.iter().map(|i| i.index(payload.len() + 1)).collect();
        cuts.push(payload.len());
        cuts.sort_unstable();
        let mut start = 0;
        for (n, &end) in cuts.iter().enumerate() {
            let last = n + 1 == cuts.len();
            let opcode = if n == 0 { m.opcode } else { CONTINUATION };
            let rsv1 = compress && n == 0;
            stream.extend(frame(last, rsv1, opcode, m.mask, &payload[start..end]));
            start = end;
            if let (false, Some(Some(ping))) = (last, m.pings.get(n)) {
                stream.extend(frame(true, false, PING, m.mask, ping));
                expected.push(Item::Pong(ping.clone()));
            }
        }
        expected.push(Item::Message {
            opcode: m.opcode,
            payload: m.data.clone(),
        });
    }
    let mut close = session.close_code.to_be_bytes().to_vec();
    close.extend_from_slice(session.close_reason.as_bytes());
    stream.extend(frame(true, false, CLOSE, [1, 2, 3, 4], &close));
    // §5.5.1: the reply echoes the status code.
    expected.push(Item::Close(session.close_code.to_be_bytes().to_vec()));
    (stream, expected)
}

/// Feeds `stream` in the given reads and returns the output.
fn feed(config: &Arc<Config>, stream: &[u8], cuts: &[usize]) -> Vec<u8> {
    let now = Instant::now();
    let mut conn = Connection::new(Arc::clone(config), now);
    let mut out = Vec::new();
    let mut scratch = Output::default();
    let mut start = 0;
    for &end in cuts.iter().chain([&stream.len()]) {
        let mut read = stream[start..end].to_vec();
        scratch.clear();
        conn.handle_input(&mut read, now, &mut scratch);
        scratch.flatten_into(&read, &mut out);
        start = end;
    }
    assert_eq!(conn.status(), Status::Finishing, "the close was answered");
    out
}

/// Inflates a compressed echo with the client's persistent inflater.
fn inflate(d: &mut Decompress, payload: &[u8]) -> Vec<u8> {
    let mut input = [payload, &[0, 0, 0xff, 0xff]].concat();
    let mut out = Vec::with_capacity(4 * payload.len() + 64);
    loop {
        let before = d.total_in();
        d.decompress_vec(&input, &mut out, FlushDecompress::Sync)
            .expect("the echo inflates");
        input.drain(..(d.total_in() - before) as usize);
        if input.is_empty() && out.len() < out.capacity() {
            return out;
        }
        out.reserve(out.capacity());
    }
}

/// Takes the server's output apart into whole items, checking the 101 comes first.
fn items(out: &[u8], deflate: bool) -> Vec<Item> {
    let head_end = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head")
        + 4;
    assert!(out.starts_with(b"HTTP/1.1 101 "), "upgraded");
    let mut rest = &out[head_end..];
    let mut items = Vec::new();
    let mut open: Option<(u8, bool, Vec<u8>)> = None;
    let mut inflater = Decompress::new_with_window_bits(false, 15);
    while !rest.is_empty() {
        let (fin, rsv1, opcode) = (rest[0] & 0x80 != 0, rest[0] & 0x40 != 0, rest[0] & 0x0f);
        assert_eq!(rest[0] & 0x30, 0, "RSV2/RSV3 are never set");
        assert_eq!(rest[1] & 0x80, 0, "server frames are not masked");
        let (len, hdr) = match rest[1] & 0x7f {
            126 => (u16::from_be_bytes([rest[2], rest[3]]) as usize, 4),
            127 => (
                u64::from_be_bytes(rest[2..10].try_into().unwrap()) as usize,
                10,
            ),
            n => (usize::from(n), 2),
        };
        let payload = &rest[hdr..hdr + len];
        rest = &rest[hdr + len..];
        // RFC 7692 §6: RSV1 means compressed only where the extension was agreed.
        assert!(deflate || !rsv1, "RSV1 set without permessage-deflate");
        match opcode {
            PONG => items.push(Item::Pong(payload.to_vec())),
            CLOSE => items.push(Item::Close(payload.to_vec())),
            TEXT | BINARY | CONTINUATION => {
                let (op, compressed, data) = match (&mut open, opcode) {
                    (None, TEXT | BINARY) => open.insert((opcode, rsv1, Vec::new())),
                    (Some(m), CONTINUATION) if !rsv1 => m,
                    _ => panic!("bad fragmentation: opcode {opcode} rsv1 {rsv1}"),
                };
                data.extend_from_slice(payload);
                if fin {
                    let payload = if *compressed {
                        inflate(&mut inflater, data)
                    } else {
                        std::mem::take(data)
                    };
                    items.push(Item::Message {
                        opcode: *op,
                        payload,
                    });
                    open = None;
                }
            }
            other => panic!("unexpected opcode {other}"),
        }
    }
    assert!(open.is_none(), "a message left unfinished");
    items
}

fn check(session: &Session, deflate: bool) -> Result<(), TestCaseError> {
    let config = Arc::new(Config {
        deflate: deflate.then(Default::default),
        ..Config::default()
    });
    let (stream, expected) = build(session, deflate);
    let whole = items(&feed(&config, &stream, &[]), deflate);
    prop_assert_eq!(&whole, &expected);
    let cuts: Vec<usize> = if session.bytewise {
        (1..stream.len()).collect()
    } else {
        let mut c: Vec<usize> = session
            .reads
            .iter()
            .map(|i| i.index(stream.len() + 1))
            .collect();
        c.sort_unstable();
        c
    };
    let split = items(&feed(&config, &stream, &cuts), deflate);
    prop_assert_eq!(&split, &expected, "cut at {:?}", cuts);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn echoes_do_not_depend_on_how_the_stream_is_read(session in session()) {
        check(&session, false)?;
    }

    #[test]
    fn compressed_echoes_inflate_to_the_originals(session in session()) {
        check(&session, true)?;
    }
}
