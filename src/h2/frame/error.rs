//! A frame that breaks a rule: a connection error or a stream error (RFC 9113 §5.4).

use super::error_code::ErrorCode;
use super::stream_id::StreamId;

/// What an error ends (§5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// §5.4.1: "any error that prevents further processing of the frame layer or
    /// corrupts any connection state": GOAWAY, then close.
    Connection,
    /// §5.4.2: "an error related to a specific stream that does not affect processing
    /// of other streams": RST_STREAM on that stream.
    Stream(StreamId),
}

/// A broken rule: what it ends, its code, and a reason quoting the rule, sent as the
/// GOAWAY debug data and logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameError {
    /// The connection or one stream.
    pub scope: Scope,
    /// The code sent in GOAWAY or RST_STREAM.
    pub code: ErrorCode,
    /// The rule, in a few words.
    pub reason: &'static str,
}

impl FrameError {
    /// A connection error.
    pub(crate) fn connection(code: ErrorCode, reason: &'static str) -> FrameError {
        FrameError {
            scope: Scope::Connection,
            code,
            reason,
        }
    }

    /// A stream error on `stream`.
    pub(crate) fn stream(stream: StreamId, code: ErrorCode, reason: &'static str) -> FrameError {
        FrameError {
            scope: Scope::Stream(stream),
            code,
            reason,
        }
    }
}
