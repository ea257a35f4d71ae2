//! The little HPACK (RFC 7541) a client that sends one request needs: the extended CONNECT
//! request as literal fields without indexing (no dynamic table, no Huffman), and the
//! response's `:status`, read from the first field of the server's header block.
//!
//! Nothing else of the response is decoded. RFC 9113 §8.3: "pseudo-header fields MUST
//! appear in a field block before all regular field lines", and `:status` is the only one a
//! response has, so it comes first; the static table holds `:status 200` at index 8, the
//! form any encoder picks for it. The client advertises SETTINGS_HEADER_TABLE_SIZE = 0, so a
//! server cannot index `:status` into its dynamic table either.

use wsecho_test_support::h2_frames::{push_literal, push_literal_indexed_name};

/// RFC 7541 Appendix A: the static table's `:status` entries, indices 8 to 14.
const STATIC_STATUS: [u16; 7] = [200, 204, 206, 304, 400, 404, 500];
const FIRST_STATUS_INDEX: usize = 8;

/// RFC 7541 Appendix A: indices of the names the request uses.
const NAME_AUTHORITY: usize = 1;
const NAME_METHOD: usize = 2;
const NAME_PATH: usize = 4;
const NAME_SCHEME: usize = 6;

/// RFC 7541 Appendix A: "The static table ... consists of ... 61 entries"; indices past it
/// refer to the dynamic table.
const STATIC_LEN: usize = 61;

/// Why the response's status could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusError {
    /// The block ends inside a representation.
    Truncated,
    /// An integer does not fit 32 bits (RFC 7541 §5.1 leaves the bound to the decoder).
    Overflow,
    /// The first field is not `:status`.
    NotStatus,
    /// A dynamic table entry, which this decoder does not keep.
    DynamicTable,
    /// A Huffman-coded string (RFC 7541 §5.2), which this decoder does not decode.
    Huffman,
    /// A `:status` value that is not three digits.
    BadValue,
}

impl std::fmt::Display for StatusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StatusError::Truncated => "the header block ends inside a field",
            StatusError::Overflow => "an HPACK integer is too large",
            StatusError::NotStatus => "the first response field is not :status",
            StatusError::DynamicTable => ":status refers to the dynamic table",
            StatusError::Huffman => ":status is Huffman-coded (not decoded here)",
            StatusError::BadValue => ":status is not three digits",
        })
    }
}

/// The RFC 8441 §4 extended CONNECT request for a WebSocket at `/` of `authority`.
pub fn connect_request(https: bool, authority: &str) -> Vec<u8> {
    let mut b = Vec::with_capacity(64 + authority.len());
    // RFC 8441 §4: "A new pseudo-header field :protocol MAY be included on request HEADERS
    // indicating the desired protocol to be spoken on the tunnel created by CONNECT."
    push_literal_indexed_name(&mut b, NAME_METHOD, b"CONNECT");
    push_literal(&mut b, b":protocol", b"websocket");
    // RFC 8441 §4: "On requests that contain the :protocol pseudo-header field, the
    // :scheme and :path pseudo-header fields of the target URI ... MUST also be included."
    push_literal_indexed_name(&mut b, NAME_SCHEME, if https { b"https" } else { b"http" });
    push_literal_indexed_name(&mut b, NAME_PATH, b"/");
    push_literal_indexed_name(&mut b, NAME_AUTHORITY, authority.as_bytes());
    // RFC 8441 §5: "The ... Sec-WebSocket-Version ... header field[s] ... MUST be used".
    push_literal(&mut b, b"sec-websocket-version", b"13");
    b
}

/// Reads an integer with an `n`-bit prefix at the start of `buf`: (value, bytes used).
fn get_int(buf: &[u8], n: u32) -> Result<(usize, usize), StatusError> {
    let max = (1u32 << n) - 1;
    let first = u32::from(*buf.first().ok_or(StatusError::Truncated)?) & max;
    if first < max {
        return Ok((first as usize, 1));
    }
    let mut value = u64::from(max);
    for (i, &b) in buf.iter().enumerate().skip(1) {
        let shift = 7 * (i as u32 - 1);
        if shift > 28 {
            return Err(StatusError::Overflow);
        }
        value += u64::from(b & 0x7f) << shift;
        if value > u64::from(u32::MAX) {
            return Err(StatusError::Overflow);
        }
        if b & 0x80 == 0 {
            return Ok((value as usize, i + 1));
        }
    }
    Err(StatusError::Truncated)
}

/// The status of a response whose header block starts with `block` (the first HEADERS
/// frame's fragment is enough: the status is its first field).
pub fn response_status(block: &[u8]) -> Result<u16, StatusError> {
    let mut rest = block;
    // RFC 7541 §4.2: a table size change "MUST occur at the beginning of the first header
    // block following the change"; it carries no field, so skip it.
    while let Some(&b) = rest.first()
        && b & 0xe0 == 0x20
    {
        let (_, used) = get_int(rest, 5)?;
        rest = rest.get(used..).ok_or(StatusError::Truncated)?;
    }
    let &b = rest.first().ok_or(StatusError::Truncated)?;
    // RFC 7541 §6.1: "An indexed header field starts with the '1' 1-bit pattern".
    if b & 0x80 != 0 {
        let (index, _) = get_int(rest, 7)?;
        return static_status(index);
    }
    // RFC 7541 §6.2.1 ('01', 6-bit index) and §6.2.2/§6.2.3 ('0000'/'0001', 4-bit index).
    let prefix = if b & 0xc0 == 0x40 { 6 } else { 4 };
    let (name, used) = get_int(rest, prefix)?;
    if !(FIRST_STATUS_INDEX..FIRST_STATUS_INDEX + STATIC_STATUS.len()).contains(&name) {
        return Err(if name > STATIC_LEN {
            StatusError::DynamicTable
        } else {
            StatusError::NotStatus
        });
    }
    let rest = rest.get(used..).ok_or(StatusError::Truncated)?;
    let &h = rest.first().ok_or(StatusError::Truncated)?;
    if h & 0x80 != 0 {
        return Err(StatusError::Huffman);
    }
    let (len, used) = get_int(rest, 7)?;
    let value = rest
        .get(used..used.saturating_add(len))
        .ok_or(StatusError::Truncated)?;
    // RFC 9110 §15: "The status code of a response is a three-digit integer code".
    match *value {
        [a @ b'1'..=b'5', b @ b'0'..=b'9', c @ b'0'..=b'9'] => Ok([a, b, c]
            .iter()
            .fold(0, |n, d| n * 10 + u16::from(d - b'0'))),
        _ => Err(StatusError::BadValue),
    }
}

fn static_status(index: usize) -> Result<u16, StatusError> {
    match index
        .checked_sub(FIRST_STATUS_INDEX)
        .and_then(|i| STATIC_STATUS.get(i))
    {
        Some(&status) => Ok(status),
        None if index > STATIC_LEN => Err(StatusError::DynamicTable),
        None => Err(StatusError::NotStatus),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wsecho_test_support::h2_frames::hpack_int;

    #[test]
    fn the_request_is_literal_fields_without_indexing() {
        let b = connect_request(false, "127.0.0.1:8080");
        let mut want = vec![0x02, 7];
        want.extend_from_slice(b"CONNECT");
        want.extend_from_slice(&[0x00, 9]);
        want.extend_from_slice(b":protocol");
        want.push(9);
        want.extend_from_slice(b"websocket");
        want.extend_from_slice(&[0x06, 4]);
        want.extend_from_slice(b"http");
        want.extend_from_slice(&[0x04, 1, b'/', 0x01, 14]);
        want.extend_from_slice(b"127.0.0.1:8080");
        want.extend_from_slice(&[0x00, 21]);
        want.extend_from_slice(b"sec-websocket-version");
        want.extend_from_slice(&[2, b'1', b'3']);
        assert_eq!(b, want);
        let tls = connect_request(true, "h");
        assert!(tls.windows(7).any(|w| w == b"\x06\x05https"));
    }

    #[test]
    fn integers_use_continuation_bytes_past_the_prefix() {
        // RFC 7541 §C.1.2: 1337 with a 5-bit prefix is 1f 9a 0a.
        let mut v = Vec::new();
        hpack_int(&mut v, 1337, 5, 0);
        assert_eq!(v, [0x1f, 0x9a, 0x0a]);
        assert_eq!(get_int(&v, 5), Ok((1337, 3)));
        assert_eq!(get_int(&[0x1f, 0x9a], 5), Err(StatusError::Truncated));
        assert_eq!(
            get_int(&[0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], 5),
            Err(StatusError::Overflow)
        );
        // A long authority still encodes: a 200-byte value takes a two-byte length.
        let long = "a".repeat(200);
        let b = connect_request(false, &long);
        assert!(b.windows(3).any(|w| w == [0x01, 0x7f, 200 - 127]));
    }

    #[test]
    fn status_200_is_static_index_8_and_others_are_read_or_refused() {
        // RFC 7541 §C.3.1's first response starts 0x88... the indexed :status 200.
        assert_eq!(response_status(&[0x88, 0x0f, 0x10]), Ok(200));
        // After a dynamic table size update to 0 (RFC 7541 §6.3: 001 + 5-bit size).
        assert_eq!(response_status(&[0x20, 0x88]), Ok(200));
        assert_eq!(response_status(&[0x3f, 0xe1, 0x1f, 0x88]), Ok(200));
        assert_eq!(response_status(&[0x8d]), Ok(404));
        // Literal without indexing, indexed name :status, value "101" not Huffman-coded.
        assert_eq!(response_status(&[0x08, 3, b'1', b'0', b'1']), Ok(101));
        // Literal with incremental indexing (6-bit name index).
        assert_eq!(response_status(&[0x48, 3, b'4', b'2', b'9']), Ok(429));
        assert_eq!(
            response_status(&[0x48, 0x82, 0x64, 0x02]),
            Err(StatusError::Huffman)
        );
        assert_eq!(
            response_status(&[0x48, 3, b'2', b'0']),
            Err(StatusError::Truncated)
        );
        assert_eq!(
            response_status(&[0x48, 2, b'2', b'0']),
            Err(StatusError::BadValue)
        );
        assert_eq!(response_status(&[0x82]), Err(StatusError::NotStatus));
        assert_eq!(response_status(&[0xbe]), Err(StatusError::DynamicTable));
        assert_eq!(response_status(&[]), Err(StatusError::Truncated));
        assert_eq!(response_status(&[0x20]), Err(StatusError::Truncated));
    }
}
