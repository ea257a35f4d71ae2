//! The small page a plain GET (no upgrade) receives: what this server is and how to
//! connect, with a working in-browser client.

use super::HttpStatus;
use crate::http::HttpReply;

const PAGE: &str = include_str!("page.html");

/// Where the page lists the behaviours on request.
const BEHAVIOURS: &str = "<!-- BEHAVIOURS -->";

pub(super) fn landing_page() -> HttpReply {
    static FILLED: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let page = FILLED.get_or_init(|| PAGE.replace(BEHAVIOURS, &super::behaviour::html_list()));
    HttpReply {
        content_type: "text/html; charset=utf-8",
        ..HttpReply::error(HttpStatus::Ok, page.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_lists_every_behaviour_with_an_example() {
        let page = landing_page().body;
        assert!(!page.contains(BEHAVIOURS));
        for (form, _, example) in super::super::behaviour::PARAMETERS {
            assert!(page.contains(&format!("<code>{form}</code>")), "{form}");
            let example = example.replace('&', "&amp;");
            assert!(page.contains(&example), "{example}");
        }
    }
}
