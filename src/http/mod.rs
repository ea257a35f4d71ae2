//! HTTP's vocabulary, shared by every layer that reads or writes HTTP: the RFC 9110
//! token grammar, status codes, the answers wsecho writes, the upgrade request its
//! client role writes, and the query's decoding. It depends on nothing else in the
//! crate.

pub(crate) mod query;
mod request;
mod response;
mod status;
mod token;
mod upgrade;

pub(crate) use request::{Field, Request, Via};
pub(crate) use response::{Answer, HttpReply, Upgraded};
pub(crate) use status::HttpStatus;
pub(crate) use token::is_tchar;
pub use token::is_token;
pub use upgrade::RequestError;
pub(crate) use upgrade::{has_token, write_upgrade_request};
