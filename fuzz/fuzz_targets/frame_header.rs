//! `parse_client_header` on arbitrary bytes, checked against the RFC 6455 §5.2 layout
//! read independently here, and for resumability: the parser is called again on every
//! prefix as bytes trickle in, so a prefix must never say anything the whole does not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wsecho::fuzzing::error::ProtocolError;
use wsecho::fuzzing::frame::header::{
    MAX_SERVER_HEADER_LEN, parse_client_header, write_server_header,
};
use wsecho::fuzzing::frame::{FrameHeader, MAX_CLIENT_HEADER_LEN, Opcode};

/// Bytes after which every rule is judged: the 64-bit length's last byte (byte 10)
/// completes the minimality check; only the mask key follows.
const JUDGED_BY: usize = 10;

/// The rules the bytes present break, judged independently of the parser.
fn violations(b: &[u8]) -> Vec<ProtocolError> {
    let mut v = Vec::new();
    let (Some(&b0), Some(&b1)) = (b.first(), b.get(1)) else {
        return v;
    };
    let bits = b0 & 0x0f;
    let control = bits & 0x8 != 0;
    if matches!(bits, 3..=7 | 0xb..=0xf) {
        v.push(ProtocolError::ReservedOpcode { bits });
    }
    if b1 & 0x80 == 0 {
        v.push(ProtocolError::UnmaskedFrame);
    }
    let len7 = b1 & 0x7f;
    if control && b0 & 0x80 == 0 {
        v.push(ProtocolError::FragmentedControlFrame);
    }
    if control && len7 > 125 {
        v.push(ProtocolError::ControlFrameTooLong {
            payload_len: u64::from(len7),
        });
    }
    if len7 == 126 && b.len() >= 4 && u16::from_be_bytes([b[2], b[3]]) < 126 {
        v.push(ProtocolError::NonMinimalPayloadLength);
    }
    if len7 == 127 && b.len() >= 3 && b[2] & 0x80 != 0 {
        v.push(ProtocolError::PayloadLengthTopBit);
    }
    if len7 == 127 && b.len() >= 10 && b[2] & 0x80 == 0 && b[2..8] == [0; 6] {
        v.push(ProtocolError::NonMinimalPayloadLength);
    }
    v
}

/// The header's length for its 7-bit length field.
fn header_len(b1: u8) -> usize {
    match b1 & 0x7f {
        126 => 8,
        127 => 14,
        _ => 6,
    }
}

fn check_header(data: &[u8], h: &FrameHeader, n: usize) {
    assert_eq!(n, header_len(data[1]), "header length");
    assert!(n <= data.len() && n <= MAX_CLIENT_HEADER_LEN);
    assert_eq!(h.fin, data[0] & 0x80 != 0);
    assert_eq!(h.rsv, (data[0] >> 4) & 0b111);
    assert_eq!(h.opcode.bits(), data[0] & 0x0f);
    assert_eq!(
        h.mask_key,
        data[n - 4..n],
        "mask key is the last four bytes"
    );
    let len = match n {
        6 => u64::from(data[1] & 0x7f),
        8 => u64::from(u16::from_be_bytes([data[2], data[3]])),
        _ => u64::from_be_bytes(data[2..10].try_into().unwrap()),
    };
    assert_eq!(h.payload_len, len);
    if h.opcode.is_control() {
        assert!(h.fin && h.payload_len <= 125, "control frame rules");
    }
    // The server's writer encodes the same length in the same (minimal) form.
    let mut out = [0u8; MAX_SERVER_HEADER_LEN];
    let w = write_server_header(&mut out, h.fin, h.rsv1(), h.opcode, h.payload_len);
    assert_eq!(w + 4, n, "server header form");
    assert_eq!(out[0], data[0] & !0x30, "RSV2/RSV3 are never written");
    assert_eq!(out[1] | 0x80, data[1]);
    assert_eq!(out[2..w], data[2..w]);
}

fuzz_target!(|data: &[u8]| {
    let data = &data[..data.len().min(2 * MAX_CLIENT_HEADER_LEN)];
    let whole = parse_client_header(data);
    // The first prefix the parser says anything definite about.
    let first = (0..=data.len()).find(|&k| !matches!(parse_client_header(&data[..k]), Ok(None)));
    match &whole {
        Ok(None) => {
            assert_eq!(first, None, "a prefix decided what the whole did not");
            assert!(data.len() < header_len(data.get(1).copied().unwrap_or(0)));
            assert!(violations(data).is_empty(), "missed {:?}", violations(data));
        }
        Ok(Some((h, n))) => {
            assert_eq!(first, Some(*n), "complete exactly at its own length");
            assert!(
                violations(data).is_empty(),
                "accepted {:?}",
                violations(data)
            );
            check_header(data, h, *n);
            // Resumable: the header alone parses the same, whatever follows it.
            assert_eq!(parse_client_header(&data[..*n]), whole);
            let _ = Opcode::from_bits(h.opcode.bits()).expect("round-trips");
        }
        Err(e) => {
            let k = first.expect("the whole is an error, so some prefix is");
            // Judged on the byte that breaks the rule, never waiting for the mask key.
            assert!(k <= JUDGED_BY, "error {e:?} only reported at {k} bytes");
            for j in k..=data.len() {
                assert_eq!(
                    &parse_client_header(&data[..j]),
                    &whole,
                    "error changed at {j}"
                );
            }
            let found = violations(&data[..k]);
            assert!(found.contains(e), "reported {e:?}, rules broken {found:?}");
            // ...and on the first byte that breaks one: one byte less broke nothing.
            assert!(violations(&data[..k - 1]).is_empty());
        }
    }
});
