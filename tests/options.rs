//! The README's options table is a copy of facts that live in the command line: this
//! checks the copy against `wsecho --help`, so neither can change without the other.

use std::collections::BTreeMap;
use std::process::Command;

/// `--name` → the default `--help` shows (`None` for options without one).
fn help_options() -> BTreeMap<String, Option<String>> {
    let output = Command::new(env!("CARGO_BIN_EXE_wsecho"))
        .arg("--help")
        .output()
        .expect("run wsecho --help");
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).expect("UTF-8 help");
    let mut options = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in help.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('-') && line.len() - trimmed.len() <= 6 {
            let name = trimmed
                .split([' ', ',', '='])
                .find(|w| w.starts_with("--"))
                .map(str::to_string);
            if let Some(name) = &name {
                options.insert(name.clone(), None);
            }
            current = name;
        } else if let (Some(name), Some(rest)) = (&current, trimmed.strip_prefix("[default: ")) {
            options.insert(name.clone(), Some(rest.trim_end_matches(']').to_string()));
        }
    }
    options.remove("--help");
    options.remove("--version");
    options
}

/// `--name` → the README's default column, from the table under "## Options".
fn readme_options() -> BTreeMap<String, String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let section = readme
        .split("\n## Options\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("an Options section");
    section
        .lines()
        .filter(|line| line.starts_with("| `--"))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let name = cells[1]
                .trim_matches('`')
                .split([' ', '`', ','])
                .next()
                .expect("an option name")
                .to_string();
            (name, cells[2].trim_matches('`').to_string())
        })
        .collect()
}

/// The README writes sizes for people: `64 KiB`, `16 MiB`.
fn as_number(readme_default: &str) -> Option<String> {
    let (n, unit) = readme_default
        .split_once(' ')
        .unwrap_or((readme_default, ""));
    let n: u64 = n.parse().ok()?;
    match unit {
        "" => Some(n.to_string()),
        "KiB" => Some((n << 10).to_string()),
        "MiB" => Some((n << 20).to_string()),
        _ => None,
    }
}

#[test]
fn the_readme_options_table_lists_every_option_with_its_default() {
    let help = help_options();
    let readme = readme_options();
    let in_help: Vec<&String> = help.keys().collect();
    let in_readme: Vec<&String> = readme.keys().collect();
    assert_eq!(in_readme, in_help, "README options table and --help differ");
    for (name, shown) in &readme {
        match (&help[name], as_number(shown)) {
            // A default the README writes as a number or a size: the same number (`--help`
            // writes sizes as `64KiB`).
            (Some(default), Some(number)) => {
                let default = default
                    .parse::<wsecho::Bytes>()
                    .map_or(default.clone(), |b| b.0.to_string());
                assert_eq!(number, default, "{name}: README {shown:?}")
            }
            // A text default (an address): the same text.
            (Some(default), None) if !shown.contains(' ') && !shown.is_empty() => {
                assert_eq!(shown, default, "{name}")
            }
            // Prose ("= max message", "off", ...) or no default: nothing to compare.
            _ => {}
        }
    }
}

/// Sizes take units, as the README writes them; a bad one is a one-line error, exit 2.
#[test]
fn sizes_take_binary_units() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_wsecho"))
            .args(args)
            .args(["--port", "0", "--version"])
            .output()
            .expect("run wsecho")
    };
    assert!(
        run(&["--max-message-size", "64MiB", "--write-high-water", "32KiB"])
            .status
            .success()
    );
    let bad = run(&["--max-message-size", "64MB"]);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("\"64MB\" is not a size"), "{err}");
    // Why MB is refused, and what to write instead.
    assert!(
        err.contains("MB is a decimal unit (10^6 bytes), refused rather than read as MiB"),
        "{err}"
    );
    assert!(err.contains("write 64MiB"), "{err}");
    let bad = run(&["--max-message-size", "64x"]);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("KiB, MiB or GiB"), "{err}");
}

fn help(flag: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_wsecho"))
        .arg(flag)
        .output()
        .expect("run wsecho");
    assert!(output.status.success());
    String::from_utf8(output.stdout).expect("UTF-8 help")
}

/// `--help` lists every query behaviour from the one table, with its example; `-h`
/// points there.
#[test]
fn help_lists_the_query_behaviours() {
    let long = help("--help");
    let listing = long
        .split("\nQuery behaviours:\n")
        .nth(1)
        .expect("a Query behaviours section after the options");
    for (form, _, example) in wsecho::fuzzing::handshake::behaviour::PARAMETERS {
        assert!(
            listing.contains(&format!("\n  {form}\n")),
            "{form} is not listed"
        );
        assert!(
            listing.contains(example),
            "{form}: example {example} missing"
        );
    }
    assert!(help("-h").contains("Query behaviours"));
}

/// No value name of a flag of several words is clap's default, the flag's name in
/// capitals (`--deflate-level <DEFLATE_LEVEL>`): each says what the value is. (`--host
/// <HOST>` is both.)
#[test]
fn value_names_say_what_the_value_is() {
    for line in help("--help").lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for pair in words.windows(2) {
            if let Some(flag) = pair[0].strip_prefix("--")
                && flag.contains('-')
            {
                let generated = format!("<{}>", flag.replace('-', "_").to_uppercase());
                assert_ne!(pair[1], generated, "{line}");
            }
        }
    }
}
