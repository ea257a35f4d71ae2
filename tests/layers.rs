//! The crate's modules as layers: who uses whom among the top-level modules of `src/`
//! (a `crate::NAME` path in code, comments left out), and no cycle in that graph, so
//! that each layer can be read, tested and changed with only those below it in mind.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file under `src/` belongs to (`lib`, `main` for the roots).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

/// The top-level modules that `text` names as `crate::NAME`, outside comments.
fn uses(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let code = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
            rest = after;
        }
    }
    found
}

/// The import graph of `src/`'s top-level modules.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let from = module_of(&src, &file);
        if from == "lib" || from == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let targets = edges.entry(from.clone()).or_default();
        for to in uses(&text) {
            if to != from {
                targets.insert(to);
            }
        }
    }
    edges
}

/// A cycle through `start`, as the path that closes it, if there is one.
fn cycle_from(edges: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_string(), vec![start.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((node, path)) = stack.pop() {
        for next in edges.get(&node).into_iter().flatten() {
            if next == start {
                let mut cycle = path.clone();
                cycle.push(next.clone());
                return Some(cycle);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push((next.clone(), longer));
            }
        }
    }
    None
}

#[test]
fn the_modules_form_no_cycle() {
    let edges = graph();
    assert!(edges.len() > 10, "the graph was not read: {edges:?}");
    let cycles: Vec<String> = edges
        .keys()
        .filter_map(|m| cycle_from(&edges, m))
        .map(|c| c.join(" -> "))
        .collect();
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_reader_sees_paths_in_code_not_in_comments() {
    let text = "use crate::frame::CloseCode;\n/// see [`crate::suite`]\nlet x = crate::a_b::c; // crate::zz\n";
    let found: Vec<String> = uses(text).into_iter().collect();
    assert_eq!(found, ["a_b", "frame"]);
}

/// The layers of `src/`, bottom first: a module may use only modules of a lower layer.
/// A new top-level module must be placed here, which is where its place is decided.
const LAYERS: &[&[&str]] = &[
    // Leaves: text escaping, JSON, sizes, UTF-8, the test allocator.
    &["escape", "json", "size", "utf8", "test_alloc"],
    // Vocabulary: protocol errors and close codes, HTTP's grammar, report formats.
    &["error", "http", "report"],
    // The frame format.
    &["frame"],
    // Codecs and transports that know nothing of WebSockets' core: deflate, HTTP/2, TLS,
    // and the events the core reports.
    &["deflate", "h2", "tls", "event"],
    // The wire trace, a tap between a transport and the core.
    &["trace"],
    // Autobahn's cases, an application the core hosts.
    &["suite"],
    // The settings.
    &["config"],
    // The upgrade's judgement.
    &["handshake"],
    // The WebSocket core.
    &["connection"],
    // Transports joined to cores for one connection.
    &["stack"],
    // The mio driver.
    &["server"],
];

/// The layer `module` belongs to.
fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

#[test]
fn no_module_uses_one_from_its_own_layer_or_above() {
    let edges = graph();
    let mut wrong = Vec::new();
    for (from, targets) in &edges {
        let Some(at) = layer_of(from) else {
            wrong.push(format!("{from} is in no layer: add it to LAYERS"));
            continue;
        };
        for to in targets {
            match layer_of(to) {
                Some(below) if below < at => {}
                Some(_) => wrong.push(format!("{from} uses {to}, which is not below it")),
                None => wrong.push(format!("{to} (used by {from}) is in no layer")),
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
