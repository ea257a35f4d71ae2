//! HTTP's vocabulary, shared by every layer that reads or writes HTTP: the RFC 9110
//! token grammar. It depends on nothing else in the crate.

mod token;

pub use token::{is_tchar, is_token};
