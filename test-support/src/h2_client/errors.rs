//! h2 crate errors as `io::Error`s, with the stream's or connection's end kept
//! readable: a test asks [`stream_end_of`] what reset a request.

use std::io;
use std::time::Duration;

use super::StreamEnd;

/// A `TimedOut` error: nothing came for `what` within `timeout`.
pub(super) fn timed_out(what: &str, timeout: Duration) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("{what}: nothing within {timeout:?}"),
    )
}

/// An h2 crate error as an `io::Error`: a stream reset is `ConnectionReset`, a GOAWAY
/// `ConnectionAborted`, the transport's own error keeps its kind. The h2 error stays
/// inside, for [`stream_end_of`].
pub(super) fn from_h2(context: &str, e: h2::Error) -> io::Error {
    let kind = if e.is_reset() {
        io::ErrorKind::ConnectionReset
    } else if e.is_go_away() {
        io::ErrorKind::ConnectionAborted
    } else if let Some(io) = e.get_io() {
        io.kind()
    } else {
        io::ErrorKind::Other
    };
    io::Error::new(
        kind,
        Wrapped {
            context: context.to_owned(),
            inner: e,
        },
    )
}

/// An h2 error with what was being done when it came.
#[derive(Debug)]
struct Wrapped {
    context: String,
    inner: h2::Error,
}

impl std::fmt::Display for Wrapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.context, self.inner)
    }
}

impl std::error::Error for Wrapped {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.inner)
    }
}

/// The stream end behind an error of this module's API, if a reset or GOAWAY caused
/// it: how a test reads the RST_STREAM code a refused request got.
pub fn stream_end_of(err: &io::Error) -> Option<StreamEnd> {
    let wrapped = err.get_ref()?.downcast_ref::<Wrapped>()?;
    StreamEnd::of_error(&wrapped.inner)
}
