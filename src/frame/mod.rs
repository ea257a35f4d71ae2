//! The RFC 6455 frame, one file per concept: header, opcode, mask, close code.

pub mod close_code;
pub mod header;
pub mod mask;
pub mod opcode;

pub use close_code::CloseCode;
pub use header::{FrameHeader, MAX_CLIENT_HEADER_LEN, MAX_SERVER_HEADER_LEN};
pub use opcode::Opcode;
