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
    /// 404: a plain request for a path wsecho serves nothing at.
    NotFound,
    /// 405: a method other than GET (or HEAD, for a plain request).
    MethodNotAllowed,
    /// 426: a WebSocket version other than 13 (RFC 6455 §4.4).
    UpgradeRequired,
    /// 431: the request head is over `--max-header-size`.
    RequestHeaderFieldsTooLarge,
    /// 501: a case of the client suite this wsecho cannot run yet.
    NotImplemented,
    /// 503: the server is at `--max-connections`.
    ServiceUnavailable,
    /// A status the request asked for (`?status=CODE`, 200–599).
    Asked(u16),
}

impl HttpStatus {
    /// The three-digit code.
    pub fn code(self) -> u16 {
        match self {
            HttpStatus::Ok => 200,
            HttpStatus::BadRequest => 400,
            HttpStatus::NotFound => 404,
            HttpStatus::MethodNotAllowed => 405,
            HttpStatus::UpgradeRequired => 426,
            HttpStatus::RequestHeaderFieldsTooLarge => 431,
            HttpStatus::NotImplemented => 501,
            HttpStatus::ServiceUnavailable => 503,
            HttpStatus::Asked(code) => code,
        }
    }

    /// The reason phrase of the status line.
    pub fn reason(self) -> &'static str {
        match self {
            HttpStatus::Ok => "OK",
            HttpStatus::BadRequest => "Bad Request",
            HttpStatus::NotFound => "Not Found",
            HttpStatus::MethodNotAllowed => "Method Not Allowed",
            HttpStatus::UpgradeRequired => "Upgrade Required",
            HttpStatus::RequestHeaderFieldsTooLarge => "Request Header Fields Too Large",
            HttpStatus::NotImplemented => "Not Implemented",
            HttpStatus::ServiceUnavailable => "Service Unavailable",
            HttpStatus::Asked(code) => reason_of(code),
        }
    }

    /// A client or server error (4xx, 5xx): a refusal, not the page.
    pub fn is_error(self) -> bool {
        self.code() >= 400
    }
}

/// The reason phrase of a status asked for (RFC 9110 §15); the class's name for one
/// it does not name.
fn reason_of(code: u16) -> &'static str {
    let named = match code {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    };
    match (named, code / 100) {
        ("", 2) => "Success",
        ("", 3) => "Redirection",
        ("", 4) => "Client Error",
        ("", _) => "Server Error",
        (named, _) => named,
    }
}

impl fmt::Display for HttpStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.code().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_asked_status_has_its_reason_phrase_or_its_class_name() {
        assert_eq!(HttpStatus::Asked(401).reason(), "Unauthorized");
        assert_eq!(HttpStatus::Asked(404).code(), 404);
        assert_eq!(HttpStatus::Asked(418).reason(), "Client Error");
        assert_eq!(HttpStatus::Asked(599).reason(), "Server Error");
        assert!(HttpStatus::Asked(404).is_error() && !HttpStatus::Asked(204).is_error());
    }
}
