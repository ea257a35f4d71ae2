//! The README's first screen: a quick start of at most ten lines, then a table of
//! contents that links to every `##` section, so that a section added (or renamed)
//! without its link fails here.

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md")
}

/// GitHub's anchor for a heading: lower case, punctuation dropped (letters, digits,
/// spaces, `-` and `_` kept), spaces as `-`.
fn anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

#[test]
fn the_anchors_are_githubs() {
    assert_eq!(anchor("wss:// (TLS)"), "wss-tls");
    assert_eq!(
        anchor("WebSockets over HTTP/2 (RFC 8441)"),
        "websockets-over-http2-rfc-8441"
    );
    assert_eq!(
        anchor("permessage-deflate (RFC 7692)"),
        "permessage-deflate-rfc-7692"
    );
}

/// The README opens with the quick start: its first code block, at most ten lines,
/// installs with `cargo install --locked`, runs wsecho, says which page to open and
/// runs the quick test; the whole test is linked right after it.
#[test]
fn the_readme_starts_with_a_quick_start() {
    let readme = readme();
    let first_section = readme.find("\n## ").expect("a ## section");
    let top = &readme[..first_section];
    let block = top
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a code block before the first section");
    let lines = block.lines().count();
    assert!(lines <= 10, "the quick start is {lines} lines");
    for step in [
        "cargo install --locked --path .",
        "wsecho --port",
        "http://127.0.0.1:",
        "scripts/test.sh --quick",
    ] {
        assert!(block.contains(step), "the quick start lacks {step:?}");
    }
    assert!(top.contains("(#test-it)"), "no link to Test it at the top");
}

/// Every `##` heading has a link in the contents, and every link of the contents leads
/// to a heading.
#[test]
fn the_contents_link_every_section() {
    let readme = readme();
    let contents = readme
        .split("\nContents: ")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .expect("a 'Contents: ' paragraph");
    let links: Vec<&str> = contents
        .split("](#")
        .skip(1)
        .map(|rest| rest.split(')').next().expect("a closed link"))
        .collect();
    let mut in_code = false;
    let mut anchors = Vec::new();
    for line in readme.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        } else if !in_code && let Some(heading) = line.strip_prefix("## ") {
            anchors.push(anchor(heading));
        }
    }
    assert!(anchors.len() > 10, "{anchors:?}");
    for a in &anchors {
        assert!(
            links.contains(&a.as_str()),
            "no link to #{a} in the contents"
        );
    }
    for link in &links {
        assert!(
            anchors.iter().any(|a| a == link),
            "the contents link #{link}, which no heading has"
        );
    }
    assert_eq!(links.len(), anchors.len(), "{links:?}");
}
