//! The TLS front as the driver strings it: the first byte's verdict, the TLS layer, and
//! the protocol core behind it, fed in chunks the input chooses.
//!
//! Input: one flag byte, a feeding schedule (see `Schedule::take`), then the bytes.
//! - Raw (flag bit 0 clear): the bytes are what a client sent on the wire. Whatever they
//!   are, nothing panics, the layer either hands on plaintext or fails, and after a
//!   failure it has an alert or nothing to send.
//! - Through a real client (bit 0 set): a rustls client does the handshake with the
//!   layer in memory, then sends an upgrade request and the bytes as application data,
//!   one record per schedule chunk. What the layer hands the core is a prefix of what the
//!   client wrote; unless a ciphertext byte was flipped (bit 1; the two bytes after the
//!   schedule say where), it is all of it (or the core closed and the layer stopped
//!   reading after its close_notify), nothing fails, and the client can decrypt the
//!   101 and what follows.
#![no_main]

use std::io::{Read, Write};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};
use wsecho::fuzzing::config::Config;
use wsecho::fuzzing::connection::{Connection, Output};
use wsecho::fuzzing::stack::say_goodbye;
use wsecho::fuzzing::tls::sniff::{FirstByte, classify};
use wsecho::fuzzing::tls::{TlsLayer, TlsSetup};
use wsecho_fuzz::client::{UPGRADES, upgrade_request};
use wsecho_fuzz::schedule::Schedule;

const THROUGH_CLIENT: u8 = 1 << 0;
const FLIP: u8 = 1 << 1;
/// A small plaintext buffer, so that a full one (the call-again path) is common.
const PLAIN_LEN: usize = 1500;

struct Fixture {
    setup: TlsSetup,
    client: Arc<ClientConfig>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let (setup, client) = wsecho_fuzz::tls::self_signed(&[]);
        Fixture {
            setup,
            client: Arc::new(client),
        }
    })
}

/// The server side: the layer and the core, and what the layer handed on.
struct Server {
    layer: TlsLayer,
    conn: Connection,
    plain: Vec<u8>,
    out: Output,
    /// Plaintext the layer handed to the core, before the core touched it.
    handed_on: Vec<u8>,
    failed: bool,
}

impl Server {
    fn new(setup: &TlsSetup) -> Self {
        Server {
            layer: TlsLayer::new(&setup.config).expect("layer"),
            conn: Connection::new(Arc::new(Config::default()), Instant::now()),
            plain: vec![0; PLAIN_LEN],
            out: Output::default(),
            handed_on: Vec::new(),
            failed: false,
        }
    }

    /// What the driver does with one read of ciphertext; returns the ciphertext to send.
    fn feed(&mut self, mut cipher: &[u8]) -> Vec<u8> {
        let mut sent = Vec::new();
        // As the driver: nothing is fed after a failure or after our close_notify.
        if self.failed || self.layer.close_notify_sent() {
            return sent;
        }
        loop {
            match self.layer.decrypt(&mut cipher, &mut self.plain) {
                Err(_) => {
                    self.failed = true;
                    break;
                }
                Ok(d) => {
                    assert!(d.len <= PLAIN_LEN);
                    let input = &mut self.plain[..d.len];
                    self.handed_on.extend_from_slice(input);
                    if d.len > 0 {
                        self.out.clear();
                        self.conn.handle_input(input, Instant::now(), &mut self.out);
                        let flat = self.out.to_vec(input);
                        self.layer.encrypt(&flat);
                    }
                    if d.closed {
                        self.conn.handle_eof();
                        break;
                    }
                    if cipher.is_empty() && d.len < PLAIN_LEN {
                        break;
                    }
                }
            }
        }
        say_goodbye(&self.conn, &mut self.layer);
        self.layer
            .write_ciphertext(&mut sent)
            .expect("a vector takes all");
        sent
    }
}

fn raw(setup: &TlsSetup, mut schedule: Schedule<'_>, bytes: &[u8]) {
    if bytes.first().map(|&b| classify(b)) != Some(FirstByte::Tls) {
        return;
    }
    let mut server = Server::new(setup);
    for chunk in schedule.chunks(bytes) {
        server.feed(chunk);
    }
}

fn through_client(setup: &Fixture, flags: u8, mut schedule: Schedule<'_>, data: &[u8]) {
    let (flip_at, data) = match data {
        [hi, lo, rest @ ..] if flags & FLIP != 0 => {
            (Some(usize::from(*hi) << 8 | usize::from(*lo)), rest)
        }
        _ => (None, data),
    };
    let name = ServerName::try_from("localhost").expect("name");
    let mut client = ClientConnection::new(Arc::clone(&setup.client), name).expect("client");
    // All the input is written before any of it is sent.
    client.set_buffer_limit(None);
    let mut server = Server::new(&setup.setup);
    // The handshake, in memory.
    let mut to_client = Vec::new();
    for _ in 0..8 {
        let mut hello = Vec::new();
        while client.wants_write() {
            client.write_tls(&mut hello).expect("vector");
        }
        to_client.extend(server.feed(&hello));
        if !to_client.is_empty() {
            client.read_tls(&mut &to_client[..]).expect("read");
            to_client.clear();
            client
                .process_new_packets()
                .expect("the server's handshake is valid");
        }
        if !client.is_handshaking() && !server.layer.is_handshaking() {
            break;
        }
    }
    assert!(!client.is_handshaking(), "handshake did not complete");
    let mut sent_plain = upgrade_request(UPGRADES[0]);
    client.writer().write_all(&sent_plain).expect("write");
    for chunk in schedule.chunks(data) {
        client.writer().write_all(chunk).expect("write");
        sent_plain.extend_from_slice(chunk);
    }
    let mut wire = Vec::new();
    while client.wants_write() {
        client.write_tls(&mut wire).expect("vector");
    }
    let flipped = flip_at.filter(|&at| at < wire.len());
    if let Some(at) = flipped {
        wire[at] ^= 0x80;
    }
    let mut back = Vec::new();
    for chunk in schedule.chunks(&wire) {
        back.extend(server.feed(chunk));
    }
    let handed = &server.handed_on;
    let prefix_len = handed.len().min(sent_plain.len());
    assert_eq!(
        &handed[..prefix_len],
        &sent_plain[..prefix_len],
        "plaintext altered"
    );
    if flipped.is_none() {
        assert!(!server.failed, "an untouched stream failed");
        // All of it, unless the core closed and the layer stopped reading after its
        // close_notify.
        if !server.layer.close_notify_sent() {
            assert_eq!(handed.len(), sent_plain.len(), "plaintext lost");
        }
        // What the server sent back decrypts.
        client.read_tls(&mut &back[..]).expect("read");
        client
            .process_new_packets()
            .expect("the server's records are valid");
        let mut echoed = Vec::new();
        let _ = client.reader().read_to_end(&mut echoed);
        assert!(echoed.starts_with(b"HTTP/1.1 101 "), "no upgrade over TLS");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (schedule, bytes) = Schedule::take(rest);
    let fixture = fixture();
    if flags & THROUGH_CLIENT == 0 {
        raw(&fixture.setup, schedule, bytes);
    } else {
        through_client(fixture, flags, schedule, bytes);
    }
});
