//! Header block decoding (RFC 7541 §3, §6), strict: every rule the RFC makes an error
//! is a [`DecodeError`], which HTTP/2 makes a connection error of type
//! COMPRESSION_ERROR (RFC 9113 §4.3).

use std::fmt;
use std::ops::Range;

use super::huffman::{self, HuffmanError};
use super::integer::{self, IntegerError};
use super::table::{Dynamic, ENTRY_OVERHEAD, STATIC};

/// Decodes the header blocks of one connection, keeping its dynamic table.
#[derive(Debug)]
pub struct Decoder {
    table: Dynamic,
    /// The most the encoder may set the table to: our SETTINGS_HEADER_TABLE_SIZE.
    max_allowed: usize,
}

/// A decoded header list: the fields in order, in one buffer, with no allocation per
/// field. Reused from block to block.
#[derive(Debug, Default)]
pub struct HeaderList {
    bytes: Vec<u8>,
    /// Name and value of each field, as ranges of `bytes`.
    fields: Vec<(Range<usize>, Range<usize>)>,
    /// RFC 9113 §6.5.2: the sum of each field's name, value and 32.
    size: usize,
    /// Fields past the size limit were decoded (to keep the table in step) and not
    /// kept.
    too_large: bool,
}

/// A header block that breaks RFC 7541.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The block ends inside a representation.
    Truncated,
    /// An integer longer than any this decoder accepts (§5.1).
    IntegerOverflow,
    /// §6.1: index 0 "MUST be treated as a decoding error".
    IndexZero,
    /// §2.3.3: "Indices strictly greater than the sum of the lengths of both tables
    /// MUST be treated as a decoding error."
    IndexTooLarge,
    /// A string longer than what is left of the block.
    StringTooLong,
    /// A Huffman-coded string with the EOS symbol in it (§5.2).
    HuffmanEos,
    /// Huffman padding longer than 7 bits (§5.2).
    HuffmanLongPadding,
    /// Huffman padding that is not EOS's first bits (§5.2).
    HuffmanBadPadding,
    /// §4.2: a size update "MUST occur at the beginning of the first header block
    /// following the change", so after a field it is an error.
    SizeUpdateAfterField,
    /// §6.3: "The new maximum size MUST be lower than or equal to the limit
    /// determined by the protocol using HPACK" (our SETTINGS_HEADER_TABLE_SIZE).
    SizeUpdateTooLarge,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DecodeError::Truncated => "RFC 7541: the header block ends inside a representation",
            DecodeError::IntegerOverflow => {
                "RFC 7541 §5.1: an integer past this decoder's limit (28 bits)"
            }
            DecodeError::IndexZero => "RFC 7541 §6.1: index 0 is a decoding error",
            DecodeError::IndexTooLarge => {
                "RFC 7541 §2.3.3: an index past the static and dynamic tables"
            }
            DecodeError::StringTooLong => {
                "RFC 7541 §5.2: a string literal longer than the rest of the block"
            }
            DecodeError::HuffmanEos => {
                "RFC 7541 §5.2: a Huffman-coded string contains the EOS symbol"
            }
            DecodeError::HuffmanLongPadding => "RFC 7541 §5.2: Huffman padding longer than 7 bits",
            DecodeError::HuffmanBadPadding => {
                "RFC 7541 §5.2: Huffman padding that is not the start of EOS's code"
            }
            DecodeError::SizeUpdateAfterField => {
                "RFC 7541 §4.2: a dynamic table size update after a header field"
            }
            DecodeError::SizeUpdateTooLarge => {
                "RFC 7541 §6.3: a dynamic table size update past SETTINGS_HEADER_TABLE_SIZE"
            }
        })
    }
}

impl std::error::Error for DecodeError {}

impl From<IntegerError> for DecodeError {
    fn from(e: IntegerError) -> Self {
        match e {
            IntegerError::Truncated => DecodeError::Truncated,
            IntegerError::Overflow => DecodeError::IntegerOverflow,
        }
    }
}

impl From<HuffmanError> for DecodeError {
    fn from(e: HuffmanError) -> Self {
        match e {
            HuffmanError::Eos => DecodeError::HuffmanEos,
            HuffmanError::LongPadding => DecodeError::HuffmanLongPadding,
            HuffmanError::BadPadding => DecodeError::HuffmanBadPadding,
        }
    }
}

/// A field's name: an index, or a literal in `HeaderList::bytes`.
enum Name {
    Indexed(usize),
    Literal(Range<usize>),
}

impl Decoder {
    /// A decoder whose dynamic table may hold `max_table_size` octets: the
    /// SETTINGS_HEADER_TABLE_SIZE announced, which is also where the table starts
    /// (RFC 9113 §6.5.2, RFC 7541 §4.2).
    pub fn new(max_table_size: usize) -> Self {
        Decoder {
            table: Dynamic::new(max_table_size),
            max_allowed: max_table_size,
        }
    }

    /// Decodes one whole header block (HEADERS and its CONTINUATIONs joined) into `out`.
    ///
    /// Past `max_list_size` (RFC 9113 §6.5.2's size) fields are no longer kept, and
    /// [`HeaderList::too_large`] says so, but decoding goes on to the end of the block:
    /// the dynamic table must stay the encoder's, or every later block would be
    /// misread. Memory is then bounded by `max_list_size` and the table, whatever the
    /// block references, and time by the block's length.
    pub fn decode(
        &mut self,
        block: &[u8],
        max_list_size: usize,
        out: &mut HeaderList,
    ) -> Result<(), DecodeError> {
        out.clear();
        let mut input = block;
        let mut fields_seen = false;
        while let Some(&first) = input.first() {
            if first & 0x80 != 0 {
                // §6.1: indexed header field.
                let index = integer::decode(&mut input, 7)?;
                let (name, value) = self.entry(index)?;
                out.push(name, value, max_list_size);
            } else if first & 0xc0 == 0x40 {
                // §6.2.1: literal with incremental indexing.
                let name = self.literal_name(&mut input, 6, out)?;
                let value = string(&mut input, out)?;
                self.keep(name, value, out, max_list_size)?;
            } else if first & 0xe0 == 0x20 {
                // §6.3: dynamic table size update.
                if fields_seen {
                    return Err(DecodeError::SizeUpdateAfterField);
                }
                let size = integer::decode(&mut input, 5)?;
                if size > self.max_allowed {
                    return Err(DecodeError::SizeUpdateTooLarge);
                }
                self.table.set_max(size);
                continue;
            } else {
                // §6.2.2 and §6.2.3: literal without indexing, or never indexed.
                let name = self.literal_name(&mut input, 4, out)?;
                let value = string(&mut input, out)?;
                self.emit(name, value, out, max_list_size)?;
            }
            fields_seen = true;
        }
        Ok(())
    }

    /// Table entry `index` (1-based across the static then the dynamic table).
    fn entry(&self, index: usize) -> Result<(&[u8], &[u8]), DecodeError> {
        match index {
            0 => Err(DecodeError::IndexZero),
            i if i <= STATIC.len() => Ok(STATIC[i - 1]),
            i => self
                .table
                .get(i - STATIC.len() - 1)
                .ok_or(DecodeError::IndexTooLarge),
        }
    }

    /// A literal's name: indexed (a non-zero index with a `prefix`-bit prefix), or a
    /// string (index 0) decoded into `out`'s buffer.
    fn literal_name(
        &self,
        input: &mut &[u8],
        prefix: u8,
        out: &mut HeaderList,
    ) -> Result<Name, DecodeError> {
        match integer::decode(input, prefix)? {
            0 => Ok(Name::Literal(string(input, out)?)),
            index => {
                // Checked now: an index past the tables is an error even when the
                // field is not kept.
                self.entry(index)?;
                Ok(Name::Indexed(index))
            }
        }
    }

    /// A literal field that is also added to the dynamic table.
    fn keep(
        &mut self,
        name: Name,
        value: Range<usize>,
        out: &mut HeaderList,
        max_list_size: usize,
    ) -> Result<(), DecodeError> {
        let name_bytes: Vec<u8> = match &name {
            Name::Indexed(i) => self.entry(*i)?.0.to_vec(),
            Name::Literal(r) => out.bytes[r.clone()].to_vec(),
        };
        let value_bytes = out.bytes[value.clone()].to_vec();
        self.emit(name, value, out, max_list_size)?;
        self.table.insert(&name_bytes, &value_bytes);
        Ok(())
    }

    /// Adds a literal field to the list (or counts it, past the limit), and drops the
    /// scratch bytes its strings took.
    fn emit(
        &self,
        name: Name,
        value: Range<usize>,
        out: &mut HeaderList,
        max_list_size: usize,
    ) -> Result<(), DecodeError> {
        let scratch = match &name {
            Name::Literal(r) => r.start,
            Name::Indexed(_) => value.start,
        };
        let name_range = match name {
            Name::Literal(r) => r,
            Name::Indexed(i) => {
                let n = self.entry(i)?.0;
                let start = out.bytes.len();
                out.bytes.extend_from_slice(n);
                start..out.bytes.len()
            }
        };
        let size = name_range.len() + value.len() + ENTRY_OVERHEAD;
        out.size = out.size.saturating_add(size);
        if out.too_large || out.size > max_list_size {
            out.too_large = true;
            out.bytes.truncate(scratch);
            return Ok(());
        }
        out.fields.push((name_range, value));
        Ok(())
    }
}

/// A string literal (§5.2), decoded onto the end of `out`'s buffer.
fn string(input: &mut &[u8], out: &mut HeaderList) -> Result<Range<usize>, DecodeError> {
    let huffman = input.first().is_some_and(|b| b & 0x80 != 0);
    let len = integer::decode(input, 7)?;
    if len > input.len() {
        return Err(DecodeError::StringTooLong);
    }
    let (raw, rest) = input.split_at(len);
    *input = rest;
    let start = out.bytes.len();
    if huffman {
        huffman::decode(raw, &mut out.bytes)?;
    } else {
        out.bytes.extend_from_slice(raw);
    }
    Ok(start..out.bytes.len())
}

impl HeaderList {
    /// The fields kept, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.fields
            .iter()
            .map(|(n, v)| (&self.bytes[n.clone()], &self.bytes[v.clone()]))
    }

    /// How many fields were kept.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether no field was kept.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// RFC 9113 §6.5.2's size of the whole list decoded, kept or not.
    pub fn list_size(&self) -> usize {
        self.size
    }

    /// The list went past the size limit: its fields after that were not kept.
    pub fn too_large(&self) -> bool {
        self.too_large
    }

    /// Empties the list, keeping its memory.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.fields.clear();
        self.size = 0;
        self.too_large = false;
    }

    /// Adds a field from a table (or counts it, past `max_list_size`).
    fn push(&mut self, name: &[u8], value: &[u8], max_list_size: usize) {
        self.size = self
            .size
            .saturating_add(name.len() + value.len() + ENTRY_OVERHEAD);
        if self.too_large || self.size > max_list_size {
            self.too_large = true;
            return;
        }
        let start = self.bytes.len();
        self.bytes.extend_from_slice(name);
        let mid = self.bytes.len();
        self.bytes.extend_from_slice(value);
        self.fields.push((start..mid, mid..self.bytes.len()));
    }
}
