//! HPACK (RFC 7541): header blocks decoded strictly, responses encoded.
//!
//! No crate was both maintained and strict when this was written (loona-hpack 0.4.3
//! decodes the `hpack-test-case` stories but accepts a table size update after a
//! field and has no header list limit; others panic on bad input), so this is our own,
//! tested on those stories (vendored in `tests/fixtures/hpack/`), the RFC's examples,
//! and one case per error.
//! - `integer`: §5.1 integers; `huffman`: §5.2 and Appendix B;
//! - `table`: the static (Appendix A) and dynamic (§2.3, §4) tables;
//! - `decoder`: blocks into header lists, every §-rule an error;
//! - `encoder`: our fields, stateless.

mod decoder;
mod encoder;
mod huffman;
mod integer;
mod table;
#[cfg(test)]
mod tests;

pub use decoder::{Decoder, HeaderList};
pub use encoder::encode_field;
