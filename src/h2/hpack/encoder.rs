//! Encoding our responses' fields (RFC 7541 §6): stateless, never touching the
//! dynamic table, so no table size update is ever owed (§4.2) whatever the client's
//! SETTINGS_HEADER_TABLE_SIZE, and strings as raw octets (§5.2 leaves Huffman coding
//! to the encoder's choice). Responses are few and short: one HEADERS per stream.

use super::integer;
use super::table::STATIC;

/// Appends one field: the static table's index when name and value are an entry
/// (`:status 200`), else a literal without indexing (§6.2.2), its name by static
/// index when the table has it.
pub fn encode_field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    if let Some(i) = STATIC.iter().position(|&(n, v)| n == name && v == value) {
        // §6.1: indexed header field, pattern 1xxxxxxx.
        integer::encode(out, i + 1, 7, 0x80);
        return;
    }
    match STATIC.iter().position(|&(n, _)| n == name) {
        // §6.2.2: literal without indexing, indexed name, pattern 0000xxxx.
        Some(i) => integer::encode(out, i + 1, 4, 0x00),
        None => {
            out.push(0x00);
            string(out, name);
        }
    }
    string(out, value);
}

/// §5.2: a string literal, not Huffman-coded.
fn string(out: &mut Vec<u8>, bytes: &[u8]) {
    integer::encode(out, bytes.len(), 7, 0x00);
    out.extend_from_slice(bytes);
}
