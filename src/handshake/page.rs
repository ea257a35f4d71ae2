//! The small page a plain GET (no upgrade) receives: what this server is and how to
//! connect, with a working in-browser client.

use super::HttpStatus;
use super::response::HttpReply;

const PAGE: &str = include_str!("page.html");

pub(super) fn landing_page() -> HttpReply {
    HttpReply {
        content_type: "text/html; charset=utf-8",
        ..HttpReply::error(HttpStatus::Ok, PAGE)
    }
}
