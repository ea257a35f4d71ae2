//! The HTTP statuses wsecho answers a handshake with (RFC 9110 §15), as a type: a status
//! is one of these or does not compile, and each has its reason phrase.

use std::fmt;

/// A status of a response wsecho writes, other than the 101 of an upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HttpStatus {
    /// 200: the landing page.
    Ok,
    /// 400: the request is not a valid WebSocket handshake (or cleartext on `--tls-only`).
    BadRequest,
    /// 405: a method other than GET.
    MethodNotAllowed,
    /// 426: a WebSocket version other than 13 (RFC 6455 §4.4).
    UpgradeRequired,
    /// 431: the request head is over `--max-header-size`.
    RequestHeaderFieldsTooLarge,
    /// 503: the server is at `--max-connections`.
    ServiceUnavailable,
}

impl HttpStatus {
    /// The three-digit code.
    pub fn code(self) -> u16 {
        match self {
            HttpStatus::Ok => 200,
            HttpStatus::BadRequest => 400,
            HttpStatus::MethodNotAllowed => 405,
            HttpStatus::UpgradeRequired => 426,
            HttpStatus::RequestHeaderFieldsTooLarge => 431,
            HttpStatus::ServiceUnavailable => 503,
        }
    }

    /// The reason phrase of the status line.
    pub fn reason(self) -> &'static str {
        match self {
            HttpStatus::Ok => "OK",
            HttpStatus::BadRequest => "Bad Request",
            HttpStatus::MethodNotAllowed => "Method Not Allowed",
            HttpStatus::UpgradeRequired => "Upgrade Required",
            HttpStatus::RequestHeaderFieldsTooLarge => "Request Header Fields Too Large",
            HttpStatus::ServiceUnavailable => "Service Unavailable",
        }
    }

    /// A client or server error (4xx, 5xx): a refusal, not the page.
    pub fn is_error(self) -> bool {
        self.code() >= 400
    }
}

impl fmt::Display for HttpStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.code().fmt(f)
    }
}
