//! HTTP's vocabulary, shared by every layer that reads or writes HTTP: the RFC 9110
//! token grammar, status codes, the answers wsecho writes and the query's decoding. It
//! depends on nothing else in the crate.

pub(crate) mod query;
mod response;
mod status;
mod token;

pub(crate) use response::{HttpReply, write_switching_protocols};
pub(crate) use status::HttpStatus;
pub(crate) use token::is_tchar;
pub use token::is_token;
