//! Writing server frames into the output buffer.

use super::output::Output;
use crate::frame::header::write_server_header;
use crate::frame::{CloseCode, MAX_SERVER_HEADER_LEN, Opcode};

/// Appends one unmasked frame with `payload`.
#[inline]
pub(super) fn frame(out: &mut Vec<u8>, fin: bool, rsv1: bool, opcode: Opcode, payload: &[u8]) {
    out.reserve(MAX_SERVER_HEADER_LEN + payload.len());
    header(out, fin, rsv1, opcode, payload.len());
    out.extend_from_slice(payload);
}

/// Appends the echo of an uncompressed data payload: its header is written, the payload
/// itself is referenced in the input when it is large.
#[inline]
pub(super) fn echo(out: &mut Output, fin: bool, opcode: Opcode, payload: &[u8]) {
    header(out.bytes_mut(), fin, false, opcode, payload.len());
    out.payload(payload);
}

/// Appends the header of an uncompressed echo frame whose payload follows later.
pub(super) fn echo_header(out: &mut Vec<u8>, fin: bool, opcode: Opcode, payload_len: u64) {
    let mut header = [0u8; MAX_SERVER_HEADER_LEN];
    let n = write_server_header(&mut header, fin, false, opcode, payload_len);
    out.extend_from_slice(&header[..n]);
}

#[inline]
fn header(out: &mut Vec<u8>, fin: bool, rsv1: bool, opcode: Opcode, payload_len: usize) {
    let mut header = [0u8; MAX_SERVER_HEADER_LEN];
    let n = write_server_header(&mut header, fin, rsv1, opcode, payload_len as u64);
    // Copy the whole fixed-size header array (a few register moves, no memcpy call)
    // and drop the unused tail.
    let start = out.len();
    out.extend_from_slice(&header);
    out.truncate(start + n);
}

/// Appends a close frame with `code` and `reason` (the reason is cut to the 123 bytes a
/// control frame leaves for it, at a character boundary).
pub(super) fn close(out: &mut Vec<u8>, code: CloseCode, reason: &str) {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut payload = [0u8; 125];
    payload[..2].copy_from_slice(&code.as_u16().to_be_bytes());
    payload[2..2 + end].copy_from_slice(&reason.as_bytes()[..end]);
    frame(out, true, false, Opcode::Close, &payload[..2 + end]);
}
