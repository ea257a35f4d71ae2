//! Writes the seed corpus: `cargo run --example gen_corpus` (from `fuzz/`).
//!
//! Seeds are small, meaningful inputs in each target's input format: real handshakes
//! (Autobahn's among them), frames of each kind, fragmented and compressed messages,
//! the invalid UTF-8 families of Autobahn's section 6, and the HTTP/2 floods of issue
//! 25 (many requests, resets, pings or settings in one input). Files are named `seed-*`
//! and overwritten; other files in the corpus (found by fuzzing) are left alone.

use std::fs;
use std::path::PathBuf;

use wsecho_fuzz::client::{
    self, ClientDeflate, OP_BINARY, OP_CONT, OP_PING, OP_PONG, OP_TEXT, UPGRADES, close,
    deflate_message, frame, simple,
};

/// Schedule bytes (see `Schedule`): low five bits pick a chunk length.
const ONE_BYTE: u8 = 1;
const THREE_BYTES: u8 = 3;
const SEVEN_BYTES: u8 = 7;
const WHOLE: u8 = 31;
/// High bits pick a clock step: 5 = one second, 7 = eleven seconds.
const ONE_SECOND: u8 = 5 << 5;

struct Corpus {
    dir: PathBuf,
    count: usize,
}

impl Corpus {
    fn new(target: &str) -> Self {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("corpus")
            .join(target);
        fs::create_dir_all(&dir).expect("create corpus dir");
        Corpus { dir, count: 0 }
    }

    fn put(&mut self, name: &str, bytes: &[u8]) {
        fs::write(self.dir.join(format!("seed-{name}")), bytes).expect("write seed");
        self.count += 1;
    }

    /// A seed behind a schedule prefix (one count byte, then the schedule).
    fn put_scheduled(&mut self, name: &str, prefix: &[u8], schedule: &[u8], body: &[u8]) {
        let mut v = prefix.to_vec();
        v.push(schedule.len() as u8);
        v.extend_from_slice(schedule);
        v.extend_from_slice(body);
        self.put(name, &v);
    }
}

fn frame_header() -> usize {
    let mut c = Corpus::new("frame_header");
    let key = [0xa1, 0xb2, 0xc3, 0xd4];
    for (name, bytes) in [
        ("text-7bit", frame(true, 0, OP_TEXT, key, b"hi")),
        ("binary-16bit", frame(true, 0, OP_BINARY, key, &[0; 126])),
        ("binary-64bit", frame(true, 0, OP_BINARY, key, &[0; 65536])),
        ("continuation", frame(false, 0, OP_CONT, key, b"x")),
        ("ping-125", frame(true, 0, OP_PING, key, &[7; 125])),
        ("pong-empty", frame(true, 0, OP_PONG, key, b"")),
        ("close", close(1000, "bye")),
        ("rsv1-text", frame(true, 0b100, OP_TEXT, key, b"c")),
        ("rsv-all", frame(true, 0b111, OP_BINARY, key, b"")),
    ] {
        c.put(name, &bytes[..bytes.len().min(14)]);
    }
    for (name, bytes) in [
        ("unmasked", &[0x81, 0x05][..]),
        ("reserved-opcode-3", &[0x83, 0x80]),
        ("reserved-opcode-b", &[0x8b, 0x80]),
        ("fragmented-ping", &[0x09, 0x80]),
        ("control-too-long", &[0x88, 0xfe, 0x00, 0x7e]),
        ("nonminimal-16", &[0x82, 0xfe, 0x00, 0x7d, 1, 2, 3, 4]),
        (
            "nonminimal-64",
            &[0x82, 0xff, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4],
        ),
        (
            "top-bit-64",
            &[0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4],
        ),
        (
            "max-64",
            &[
                0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4,
            ],
        ),
        ("partial-16", &[0x82, 0xfe, 0x01]),
        ("partial-key", &[0x81, 0x85, 1, 2]),
    ] {
        c.put(name, bytes);
    }
    c.count
}

/// Autobahn section 6 families: valid text, and invalid sequences of every kind.
fn utf8_samples() -> Vec<(&'static str, Vec<u8>)> {
    let kosme = "κόσμε".as_bytes();
    let mut v: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        (
            "ascii",
            b"Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!".to_vec(),
        ),
        ("kosme", kosme.to_vec()),
        (
            "boundaries",
            "\u{0}\u{7f}\u{80}\u{7ff}\u{800}\u{ffff}\u{10000}\u{10ffff}"
                .as_bytes()
                .to_vec(),
        ),
        (
            "noncharacters",
            "\u{fffe}\u{ffff}\u{fdd0}\u{1fffe}\u{10fffe}"
                .as_bytes()
                .to_vec(),
        ),
        (
            "bom-and-replacement",
            "\u{feff}\u{fffd}".as_bytes().to_vec(),
        ),
        (
            "above-10ffff",
            [kosme, b"\xf4\x90\x80\x80", b"edited"].concat(),
        ),
        ("surrogate", [kosme, b"\xed\xa0\x80", b"edited"].concat()),
        ("paired-surrogates", b"\xed\xa0\x80\xed\xb0\x80".to_vec()),
        ("continuation-alone", b"\x80\xbf".to_vec()),
        ("lonely-starts", b"\xc0 \xe0 \xf0 \xf8 \xfc ".to_vec()),
        (
            "missing-last-continuation",
            b"\xc0\xe0\x80\xf0\x80\x80".to_vec(),
        ),
        ("truncated-at-end", [kosme, b"\xf0\x9f\x98"].concat()),
        ("impossible", b"\xfe\xff\xfe\xfe\xff\xff".to_vec()),
        (
            "overlong-slash",
            b"\xc0\xaf\xe0\x80\xaf\xf0\x80\x80\xaf".to_vec(),
        ),
        (
            "overlong-max",
            b"\xc1\xbf\xe0\x9f\xbf\xf0\x8f\xbf\xbf".to_vec(),
        ),
        ("overlong-nul", b"\xc0\x80\xe0\x80\x80".to_vec()),
        ("f5-and-up", b"\xf5\x80\x80\x80".to_vec()),
    ];
    // Autobahn 6.4.x: the invalid byte arrives in a later fragment than the lead.
    v.push((
        "fail-fast-split",
        [kosme, b"\xf4", b"\x90\x80\x80", b"edited"].concat(),
    ));
    v
}

fn utf8() -> usize {
    let mut c = Corpus::new("utf8");
    for (name, text) in utf8_samples() {
        c.put_scheduled(&format!("{name}-whole"), &[], &[], &text);
        c.put_scheduled(&format!("{name}-bytewise"), &[], &[ONE_BYTE], &text);
        c.put_scheduled(
            &format!("{name}-mixed"),
            &[],
            &[SEVEN_BYTES, 2, THREE_BYTES],
            &text,
        );
    }
    c.count
}

fn handshake() -> usize {
    let mut c = Corpus::new("handshake");
    let upgrade = |extra: &str| client::upgrade_request(extra);
    let mut pipelined = upgrade("");
    pipelined.extend(simple(true, OP_TEXT, b"early"));
    let requests: Vec<(&str, Vec<u8>)> = vec![
        ("rfc", upgrade("")),
        ("autobahn", client::autobahn_request()),
        ("deflate-offers", upgrade(UPGRADES[2])),
        ("deflate-two-lines", upgrade(&[UPGRADES[1], UPGRADES[3]].concat())),
        ("pipelined-frame", pipelined),
        ("lowercase", b"GET / HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: keep-alive, upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n".to_vec()),
        ("bare-lf", b"GET / HTTP/1.1\nHost: x\nUpgrade: websocket\nConnection: Upgrade\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\r\n\r\n".to_vec()),
        ("landing-page", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        ("post", b"POST / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        ("http10", b"GET / HTTP/1.0\r\nHost: x\r\nUpgrade: websocket\r\n\r\n".to_vec()),
        ("version-8", b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n".to_vec()),
        ("short-key", b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n\r\n".to_vec()),
        ("duplicate-key", upgrade(&format!("Sec-WebSocket-Key: {}\r\n", client::KEY))),
        ("no-end", b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec()),
        ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n".to_vec()),
    ];
    for (name, req) in &requests {
        c.put_scheduled(&format!("{name}-whole"), &[0], &[], req);
        c.put_scheduled(&format!("{name}-bytewise"), &[0], &[ONE_BYTE], req);
    }
    let mut long = upgrade("").to_vec();
    long.splice(
        16..16,
        b"X-Filler: "
            .iter()
            .chain([b'a'; 300].iter())
            .chain(b"\r\n")
            .copied(),
    );
    c.put_scheduled("too-large-small-limit", &[1], &[SEVEN_BYTES], &long);
    c.count
}

fn deflate_offer() -> usize {
    let mut c = Corpus::new("deflate_offer");
    let default_policy = [15, 15, 0, 0];
    let small_policy = [10, 9, 1, 1];
    let offers: [(&str, &[u8]); 14] = [
        ("bare", b"permessage-deflate"),
        ("all-params", b"permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12"),
        ("client-bits-novalue", b"permessage-deflate; client_max_window_bits"),
        ("client-bits-8", b"permessage-deflate; client_max_window_bits=8"),
        ("server-bits-8", b"permessage-deflate; server_max_window_bits=8, permessage-deflate"),
        ("quoted", b"permessage-deflate; client_max_window_bits=\"10\""),
        ("quoted-escape", b"permessage-deflate; server_max_window_bits=\"1\\5\""),
        ("duplicate-param", b"permessage-deflate; server_no_context_takeover; server_no_context_takeover, permessage-deflate"),
        ("unknown-param", b"permessage-deflate; foo=bar, permessage-deflate; client_no_context_takeover"),
        ("other-extensions", b"x-webkit-deflate-frame, foo; bar=\"a,b\", permessage-deflate"),
        ("leading-zero", b"permessage-deflate; server_max_window_bits=09"),
        ("empty-elements", b" , ,permessage-deflate ;\tclient_max_window_bits , "),
        ("malformed-then-good", b"permessage-deflate; =\npermessage-deflate; server_no_context_takeover"),
        ("unterminated-quote", b"permessage-deflate; server_max_window_bits=\"10"),
    ];
    for (name, offer) in offers {
        c.put(
            &format!("{name}-default"),
            &[&default_policy[..], offer].concat(),
        );
        c.put(
            &format!("{name}-small"),
            &[&small_policy[..], offer].concat(),
        );
    }
    c.count
}

/// Connection input: two flag bytes, a schedule, then the stream. These flags mirror
/// the target's (bit 0: prefix the upgrade picked by bits 1-2; bit 3: deflate on).
fn connection() -> usize {
    let mut c = Corpus::new("connection");
    let plain = 0b0000_0001; // RFC request, deflate off
    let deflate = 0b0000_1011; // "permessage-deflate" offered and allowed
    let deflate_nct = 0b0010_1101; // offer with client_max_window_bits, no takeover

    let text = "Hello, κόσμε 𝄞!".as_bytes();
    let binary: Vec<u8> = (0..=255).collect();
    let mut fragmented = simple(false, OP_TEXT, &text[..5]);
    fragmented.extend(simple(true, OP_PING, b"between"));
    fragmented.extend(simple(false, OP_CONT, &text[5..9]));
    fragmented.extend(simple(true, OP_PONG, b""));
    fragmented.extend(simple(true, OP_CONT, &text[9..]));
    fragmented.extend(close(1000, ""));

    let streams: Vec<(&str, Vec<u8>)> = vec![
        (
            "text",
            [simple(true, OP_TEXT, text), close(1000, "done")].concat(),
        ),
        (
            "binary-16bit",
            [simple(true, OP_BINARY, &binary), close(1001, "")].concat(),
        ),
        ("fragmented-with-pings", fragmented),
        (
            "empty-frames",
            [
                simple(false, OP_BINARY, b""),
                simple(true, OP_CONT, b""),
                simple(true, OP_TEXT, b""),
            ]
            .concat(),
        ),
        ("close-empty", simple(true, client::OP_CLOSE, b"")),
        ("close-bad-code", close(1005, "")),
        (
            "close-bad-reason",
            [simple(true, client::OP_CLOSE, b"\x03\xe8\xff")].concat(),
        ),
        (
            "invalid-utf8-fail-fast",
            [
                simple(false, OP_TEXT, "κόσμε".as_bytes()),
                simple(false, OP_CONT, b"\xf4"),
                simple(true, OP_CONT, b"\x90\x80\x80"),
            ]
            .concat(),
        ),
        ("unmasked", [0x81, 0x02, b'h', b'i'].to_vec()),
        ("continuation-first", simple(true, OP_CONT, b"x")),
        ("reserved-opcode", simple(true, 0x3, b"")),
        (
            "big-frame-header",
            [0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4].to_vec(),
        ),
    ];
    for (name, s) in &streams {
        c.put_scheduled(&format!("{name}-whole"), &[plain, 0], &[], s);
        c.put_scheduled(&format!("{name}-bytewise"), &[plain, 0], &[ONE_BYTE], s);
    }

    let mut d = ClientDeflate::default();
    let hello = d.message(b"Hello, Hello, Hello");
    let again = d.message(b"Hello, Hello, Hello"); // refers back to the first
    let big = deflate_message(&"wsecho ".repeat(2000).into_bytes());
    let (first, rest) = big.split_at(big.len() / 2);
    let bomb = deflate_message(&vec![0u8; 200_000]);
    let compressed: Vec<(&str, u8, Vec<u8>)> = vec![
        (
            "deflate-takeover",
            deflate,
            [
                frame(true, 0b100, OP_TEXT, [1, 2, 3, 4], &hello),
                frame(true, 0b100, OP_TEXT, [5, 6, 7, 8], &again),
                close(1000, ""),
            ]
            .concat(),
        ),
        (
            "deflate-fragmented",
            deflate,
            [
                frame(false, 0b100, OP_BINARY, [9; 4], first),
                simple(true, OP_PING, b"p"),
                simple(true, OP_CONT, rest),
            ]
            .concat(),
        ),
        (
            "deflate-mixed-plain",
            deflate,
            [
                simple(true, OP_TEXT, b"plain"),
                frame(true, 0b100, OP_TEXT, [0; 4], &deflate_message(b"packed")),
            ]
            .concat(),
        ),
        (
            "deflate-bomb",
            deflate,
            frame(true, 0b100, OP_BINARY, [3; 4], &bomb),
        ),
        (
            "deflate-corrupt",
            deflate,
            frame(true, 0b100, OP_BINARY, [3; 4], &[0xff, 0xff, 0xff]),
        ),
        (
            "deflate-rsv1-continuation",
            deflate,
            [
                frame(false, 0b100, OP_TEXT, [1; 4], &deflate_message(b"ab")),
                frame(true, 0b100, OP_CONT, [1; 4], b""),
            ]
            .concat(),
        ),
        (
            "deflate-bad-utf8",
            deflate_nct,
            frame(
                true,
                0b100,
                OP_TEXT,
                [7; 4],
                &deflate_message(b"ok \xed\xa0\x80"),
            ),
        ),
        (
            "deflate-empty",
            deflate_nct,
            [
                frame(true, 0b100, OP_BINARY, [7; 4], &[0x00]),
                frame(true, 0b100, OP_TEXT, [7; 4], b""),
            ]
            .concat(),
        ),
    ];
    for (name, flags, s) in &compressed {
        c.put_scheduled(&format!("{name}-whole"), &[*flags, 0], &[], s);
        c.put_scheduled(
            &format!("{name}-mixed"),
            &[*flags, 0],
            &[THREE_BYTES, SEVEN_BYTES, 20, 1],
            s,
        );
    }

    // The handshake itself in the stream, chunked; Autobahn's request with its offer.
    let mut autobahn = client::autobahn_request();
    autobahn.extend(simple(true, OP_TEXT, text));
    c.put_scheduled(
        "autobahn-handshake",
        &[0b0000_1000, 0],
        &[THREE_BYTES, WHOLE],
        &autobahn,
    );
    // The clock: a handshake that never completes; keepalive pings and an idle close.
    c.put_scheduled(
        "slow-handshake",
        &[0, 0],
        &[ONE_BYTE | (7 << 5)],
        b"GET / HTTP/1.1\r\n",
    );
    c.put_scheduled(
        "keepalive",
        &[plain, 0b011],
        &[WHOLE | ONE_SECOND, ONE_BYTE | ONE_SECOND],
        &simple(true, OP_TEXT, text),
    );
    // Behaviours on request, the timed ones fed as the clock moves.
    for (name, query) in [
        ("behaviour-ping", "ping=1&ping-payload=hi"),
        ("behaviour-delay", "delay=0.5&handshake-delay=1"),
        ("behaviour-send", "send=300&count=3"),
        ("behaviour-abort", "abort&after=1"),
        (
            "behaviour-fragment",
            "fragment=2&ping-between&close=4000&reason=x&after=2",
        ),
    ] {
        let mut s = String::from_utf8(client::upgrade_request("")).expect("ASCII");
        s = s.replacen("GET /chat ", &format!("GET /chat?{query} "), 1);
        let mut bytes = s.into_bytes();
        bytes.extend(simple(true, OP_TEXT, text));
        bytes.extend(simple(true, OP_PONG, b"1"));
        bytes.extend(simple(true, OP_BINARY, &binary));
        c.put_scheduled(
            name,
            &[0, 0],
            &[WHOLE | ONE_SECOND, ONE_BYTE | ONE_SECOND, WHOLE],
            &bytes,
        );
    }
    c.put_scheduled(
        "shutdown-mid-message",
        &[plain | 0x40, 0b100],
        &[],
        &simple(false, OP_TEXT, b"unfinished"),
    );
    c.count
}

/// The `tls` target: real ClientHellos on the wire (raw mode, flag 0), and streams sent
/// through the target's own client (flag 1), one with a flipped ciphertext byte (flag 3).
fn tls() -> usize {
    use std::sync::Arc;

    use rustls::pki_types::ServerName;
    use rustls::{ClientConfig, ClientConnection, RootCertStore};

    let mut c = Corpus::new("tls");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let versions: [&[&rustls::SupportedProtocolVersion]; 3] = [
        &[&rustls::version::TLS13, &rustls::version::TLS12],
        &[&rustls::version::TLS13],
        &[&rustls::version::TLS12],
    ];
    for (i, versions) in versions.into_iter().enumerate() {
        let mut config = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(versions)
            .expect("versions")
            .with_root_certificates(RootCertStore::empty())
            .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let name = ServerName::try_from("localhost").expect("name");
        let mut client = ClientConnection::new(Arc::new(config), name).expect("client");
        let mut hello = Vec::new();
        client.write_tls(&mut hello).expect("hello");
        for (label, schedule) in [("whole", vec![0u8]), ("bytes", vec![1, ONE_BYTE])] {
            let mut input = vec![0u8];
            input.extend(&schedule);
            input.extend(&hello);
            c.put(&format!("client-hello-{i}-{label}"), &input);
        }
    }
    let echo = [simple(true, OP_TEXT, b"Hello"), close(1000, "")].concat();
    c.put(
        "through-client-echo",
        &[&[1u8, 1, WHOLE][..], &echo].concat(),
    );
    c.put(
        "through-client-split",
        &[&[1u8, 2, THREE_BYTES, SEVEN_BYTES][..], &echo].concat(),
    );
    c.put(
        "through-client-flip",
        &[&[3u8, 1, WHOLE, 0x01, 0x40][..], &echo].concat(),
    );
    c.count
}

/// The floods of issue 25 as one client's byte stream after the preface: many short
/// requests, each ending its stream (HEAD: the answer ends it too), extended CONNECTs
/// reset at once, PINGs, SETTINGS, and CONNECTs asking for `?send` at window 0. Each
/// is far more than a turn's frames, so the fuzzers reach the held input.
fn h2_floods() -> Vec<(&'static str, Vec<u8>)> {
    use wsecho_test_support::h2_frames::{
        END_HEADERS, END_STREAM, HEADERS, client_preface, frame, headers, literal_block, ping,
        rst_stream, settings, settings_ack,
    };
    let head = literal_block(&[
        (":method", "HEAD"),
        (":scheme", "http"),
        (":path", "/"),
        (":authority", "x"),
    ]);
    let connect = |path: &str| {
        literal_block(&[
            (":method", "CONNECT"),
            (":protocol", "websocket"),
            (":scheme", "http"),
            (":path", path),
            (":authority", "x"),
            ("sec-websocket-version", "13"),
        ])
    };
    let opened = |params: &[(u16, u32)]| {
        let mut v = client_preface(params);
        v.extend(settings_ack());
        v
    };
    let mut heads = opened(&[]);
    for i in 0..300u32 {
        heads.extend(frame(HEADERS, END_HEADERS | END_STREAM, 1 + 2 * i, &head));
    }
    let mut resets = opened(&[]);
    let ws = connect("/");
    for i in 0..200u32 {
        resets.extend(headers(1 + 2 * i, &ws));
        resets.extend(rst_stream(1 + 2 * i, 8));
    }
    let mut pings = opened(&[]);
    for i in 0..500u64 {
        pings.extend(ping(i.to_be_bytes()));
    }
    let mut settings_flood = opened(&[]);
    for i in 0..300u32 {
        // INITIAL_WINDOW_SIZE, repeated in each, and ENABLE_PUSH.
        settings_flood.extend(settings(&[(4, 1000 + i), (4, 2000 + i), (2, 0)]));
    }
    // Window 0 for every stream, then 100 WebSockets asking to be sent 1 MB each.
    let mut sends = opened(&[(4, 0)]);
    let send = connect("/?send=1000000");
    for i in 0..100u32 {
        sends.extend(headers(1 + 2 * i, &send));
    }
    vec![
        ("flood-head-300", heads),
        ("flood-rapid-reset-200", resets),
        ("flood-ping-500", pings),
        ("flood-settings-300", settings_flood),
        ("flood-send-window0-100", sends),
    ]
}

/// The floods for `target`: `h2_frames` (the session alone) or `h2_connection` (the
/// whole HTTP/2 path: session, requests, WebSocket cores). Flags 0 (no preface added:
/// the flood brings its own), a seed byte, then an empty schedule (all in one read) or
/// one of 16-byte reads.
fn h2(target: &str) -> usize {
    let mut c = Corpus::new(target);
    for (name, stream) in h2_floods() {
        c.put_scheduled(name, &[0, 7], &[], &stream);
        c.put_scheduled(&format!("{name}-reads"), &[0, 7], &[16], &stream);
    }
    c.count
}

/// The `server` target: the whole server, fed by a client over a socket. Flags (bit 0
/// through TLS, bit 1 ALPN h2, bit 2 half-close), a schedule, then the bytes.
fn server() -> usize {
    use wsecho_test_support::h2_frames::{client_preface, headers, literal_block, settings_ack};
    let mut c = Corpus::new("server");
    let echo = [
        client::upgrade_request(""),
        simple(true, OP_TEXT, b"Hello"),
        simple(true, OP_PING, b"p"),
        close(1000, ""),
    ]
    .concat();
    let deflated = [
        client::upgrade_request(UPGRADES[1]),
        simple(true, OP_BINARY, &[7; 3000]),
        close(1000, ""),
    ]
    .concat();
    let mut h2 = client_preface(&[]);
    h2.extend(settings_ack());
    let connect = |path: &str| {
        literal_block(&[
            (":method", "CONNECT"),
            (":protocol", "websocket"),
            (":scheme", "https"),
            (":path", path),
            (":authority", "x"),
            ("sec-websocket-version", "13"),
        ])
    };
    h2.extend(headers(1, &connect("/?headers")));
    h2.extend(headers(3, &connect("/?fragment=2&hello=hi")));
    let page = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
    const HALF_CLOSE: u8 = 4;
    for (name, flags, bytes) in [
        ("plain-echo", HALF_CLOSE, &echo),
        ("plain-deflate", HALF_CLOSE, &deflated),
        ("plain-page", 0, &page),
        ("h2c-two-websockets", HALF_CLOSE, &h2),
        ("tls-echo", 1 | HALF_CLOSE, &echo),
        ("tls-h2-two-websockets", 1 | 2 | HALF_CLOSE, &h2),
    ] {
        c.put_scheduled(name, &[flags], &[], bytes);
        c.put_scheduled(
            &format!("{name}-split"),
            &[flags],
            &[THREE_BYTES, SEVEN_BYTES],
            bytes,
        );
    }
    c.count
}

/// The client role's core: a server's frames after the 101 the target writes (mode byte
/// even), or bytes where a 101 should be (odd).
fn client_core() -> usize {
    use wsecho_test_support::frames::{OP_CLOSE, server_frame};
    let mut c = Corpus::new("client_core");
    let after_101 = |frames: &[Vec<u8>]| {
        let mut v = vec![0u8];
        v.extend(frames.concat());
        v
    };
    let echo = [
        server_frame(true, 0, OP_TEXT, "héllo".as_bytes()),
        server_frame(false, 0, OP_BINARY, &[1; 200]),
        server_frame(true, 0, OP_PING, b"ping"),
        server_frame(true, 0, OP_CONT, &[2; 70]),
        server_frame(true, 0, OP_PONG, b""),
        server_frame(true, 0, OP_CLOSE, b"\x03\xe8bye"),
    ];
    for (name, schedule) in [("whole", &[][..]), ("bytewise", &[ONE_BYTE][..])] {
        c.put_scheduled(&format!("echo-{name}"), &[], schedule, &after_101(&echo));
    }
    for (name, frames) in [
        ("masked", vec![frame(true, 0, OP_TEXT, [1, 2, 3, 4], b"hi")]),
        (
            "bad-utf8",
            vec![server_frame(true, 0, OP_TEXT, b"\xc3\x28")],
        ),
        ("rsv1", vec![server_frame(true, 0b100, OP_TEXT, b"x")]),
        (
            "lone-continuation",
            vec![server_frame(true, 0, OP_CONT, b"x")],
        ),
        (
            "close-1005",
            vec![server_frame(true, 0, OP_CLOSE, b"\x03\xed")],
        ),
        ("close-empty", vec![server_frame(true, 0, OP_CLOSE, b"")]),
        (
            "too-big",
            vec![server_frame(true, 0, OP_BINARY, &[0; 70000])],
        ),
    ] {
        c.put_scheduled(
            name,
            &[],
            &[THREE_BYTES, SEVEN_BYTES, WHOLE],
            &after_101(&frames),
        );
    }
    for (name, answer) in [
        ("refused", &b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"[..]),
        ("not-http", b"SSH-2.0-OpenSSH_9.6\r\n\r\n"),
        ("wrong-accept", b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"),
    ] {
        let mut v = vec![1u8];
        v.extend_from_slice(answer);
        c.put_scheduled(name, &[], &[SEVEN_BYTES | ONE_SECOND], &v);
    }
    c.count
}

fn main() {
    let counts = [
        ("frame_header", frame_header()),
        ("utf8", utf8()),
        ("handshake", handshake()),
        ("deflate_offer", deflate_offer()),
        ("connection", connection()),
        ("tls", tls()),
        ("h2_frames", h2("h2_frames")),
        ("h2_connection", h2("h2_connection")),
        ("server", server()),
        ("client_core", client_core()),
    ];
    for (target, n) in counts {
        println!("{target}: {n} seeds");
    }
}
