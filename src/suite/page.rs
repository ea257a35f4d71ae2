//! The page at `/suite`: the client suite run in a browser by the browser's own
//! `WebSocket`, as Autobahn's `test_browser.html` did, so that a browser (a headless
//! Chromium in `scripts/test-browser-suite.sh`) is graded like any other client.
//!
//! The page is the driver: it speaks the driver protocol (`/getCaseCount`,
//! `/runCase` for each case echoing every message as it came, `/getCaseStatus`,
//! `/updateReports`) to its own server, with `ws://` or `wss://` as the page's
//! scheme, or to another fuzzing server named by `?server=`. It is self-contained (no
//! external resources) and shows what the query gives it as text, never as markup.

use crate::http::{HttpReply, HttpStatus};

/// Where the page is served.
pub(crate) const PATH: &str = "/suite";

const PAGE: &str = include_str!("page.html");

/// The page, for a plain GET of [`PATH`].
pub(crate) fn suite_page() -> HttpReply {
    HttpReply {
        content_type: "text/html; charset=utf-8",
        ..HttpReply::error(HttpStatus::Ok, PAGE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_self_contained_and_ends_with_a_title_a_runner_can_wait_for() {
        let page = suite_page().body;
        // No external script, style, image or frame: everything is inline.
        for attr in ["src=", "@import", "url("] {
            assert!(!page.contains(attr), "{attr}");
        }
        // Links go to this server's own paths only.
        for (i, _) in page.match_indices("href=\"") {
            assert!(page[i + 6..].starts_with('/'), "{}", &page[i..i + 30]);
        }
        // What the query gives is shown as text.
        assert!(!page.contains("innerHTML"));
        for path in [
            "/getCaseCount",
            "/getCaseInfo",
            "/runCase",
            "/getCaseStatus",
            "/updateReports",
        ] {
            assert!(page.contains(path), "{path}");
        }
        assert!(page.contains("document.title = `suite done: ${results.length} cases`"));
        assert!(page.contains("ws.binaryType = \"arraybuffer\""));
    }
}
