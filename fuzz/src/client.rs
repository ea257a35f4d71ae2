//! The client side, built independently of the server's own code: masked frames,
//! upgrade requests, permessage-deflate payloads.

use std::io::Write;

use flate2::Compression;
use flate2::write::DeflateEncoder;

pub use wsecho_test_support::frames::{OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT};

/// The RFC 6455 §1.3 sample key.
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// The upgrade requests a connection seed may start with, indexed by the two bits the
/// `connection` target reads: no extension, and three permessage-deflate offers.
pub const UPGRADES: [&str; 4] = [
    "",
    "Sec-WebSocket-Extensions: permessage-deflate\r\n",
    // What Autobahn's fuzzingclient offers, among others.
    "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits; \
     server_no_context_takeover\r\n",
    "Sec-WebSocket-Extensions: x-webkit-deflate-frame, permessage-deflate; \
     client_no_context_takeover; server_max_window_bits=10\r\n",
];

/// A valid upgrade request carrying `extra` header lines (each ending in CRLF).
pub fn upgrade_request(extra: &str) -> Vec<u8> {
    format!(
        "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\
         {extra}\r\n"
    )
    .into_bytes()
}

/// The request Autobahn's fuzzingclient sends (note `Upgrade: WebSocket`).
pub fn autobahn_request() -> Vec<u8> {
    b"GET / HTTP/1.1\r\nUser-Agent: AutobahnTestSuite/0.8.2-0.10.9\r\n\
Host: 127.0.0.1:9001\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n\
Pragma: no-cache\r\nCache-Control: no-cache\r\n\
Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\nSec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; \
client_max_window_bits\r\n\r\n"
        .to_vec()
}

/// One masked client frame (the shared builder). `rsv` is the three RSV bits.
pub use wsecho_test_support::frames::client_frame as frame;

/// A frame with a fixed, non-trivial mask: enough for seeds.
pub fn simple(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    frame(fin, 0, opcode, [0x37, 0xfa, 0x21, 0x3d], payload)
}

/// A close frame with `code` and `reason`.
pub fn close(code: u16, reason: &str) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason.as_bytes());
    simple(true, OP_CLOSE, &p)
}

/// A client's permessage-deflate compressor: raw DEFLATE, sync-flushed per message
/// with the `00 00 ff ff` tail removed (RFC 7692 §7.2.1). The window carries over
/// from message to message (context takeover) unless `reset` is called.
pub struct ClientDeflate {
    enc: DeflateEncoder<Vec<u8>>,
}

impl Default for ClientDeflate {
    fn default() -> Self {
        ClientDeflate {
            enc: DeflateEncoder::new(Vec::new(), Compression::new(6)),
        }
    }
}

impl ClientDeflate {
    /// The payload of one compressed message.
    pub fn message(&mut self, data: &[u8]) -> Vec<u8> {
        self.enc.write_all(data).expect("write to a Vec");
        self.enc.flush().expect("sync flush to a Vec");
        let mut p = std::mem::take(self.enc.get_mut());
        if p.is_empty() {
            // zlib writes nothing for a flush with nothing new; RFC 7692 §7.2.3.6 gives
            // the payload of an empty message as one 0x00 byte.
            return vec![0x00];
        }
        assert!(
            p.ends_with(&[0, 0, 0xff, 0xff]),
            "sync flush ends in the tail"
        );
        p.truncate(p.len() - 4);
        p
    }
}

/// One message compressed from an empty window.
pub fn deflate_message(data: &[u8]) -> Vec<u8> {
    ClientDeflate::default().message(data)
}
