//! Shared helpers for the integration tests: run the real `wsecho` binary on an ephemeral
//! port, speak raw HTTP and raw WebSocket frames to it, and read back what it says.
//!
//! Every socket read is bounded by a timeout so that a broken server fails a test instead
//! of hanging it.

#![allow(dead_code)]

use std::time::Duration;

pub mod deflate;
mod frames;
mod http;
mod memory;
mod server;
pub mod tls;

// Each test binary uses some of these: a glob one of them leaves unused is no mistake.
#[allow(unused_imports)]
pub use frames::*;
#[allow(unused_imports)]
pub use http::*;
#[allow(unused_imports)]
pub use memory::*;
#[allow(unused_imports)]
pub use server::*;

/// Bound on every blocking socket read.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the server has to print its listening line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the server has to drop TCP once nothing more should happen on a connection.
pub const CLOSE_BOUND: Duration = Duration::from_secs(2);

/// The example key from RFC 6455 §1.3 and its known accept value.
pub const SAMPLE_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
pub const SAMPLE_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

// Each test binary uses some of these: a glob one of them leaves unused is no mistake.
#[allow(unused_imports)]
pub use wsecho_test_support::frames::{
    Len, OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, RawFrame, concat,
};
