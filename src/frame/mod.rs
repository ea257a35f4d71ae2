//! The RFC 6455 frame, one file per concept: header, opcode, mask. Close codes live with
//! the errors that map to them ([`crate::error::CloseCode`]), re-exported here.

pub(crate) mod header;
pub(crate) mod mask;
pub(crate) mod opcode;

pub use crate::error::CloseCode;
pub(crate) use header::MAX_SERVER_HEADER_LEN;
pub use header::{FrameHeader, MAX_CLIENT_HEADER_LEN};
pub use opcode::Opcode;
