//! `wsecho verdict`: the gate on a report. It reads an `index.json` (wsecho's, or
//! Autobahn's own, of clients or of servers), prints per agent how many cases got each
//! grade, then lists every case that does not pass, or, given a baseline, every case
//! whose grades differ from the baseline's and every case only one side has (an agent
//! of the baseline missing from the report: all its cases). The verdict is clean when
//! nothing is listed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::grade::Grade;
use super::index::{self, CaseId, CaseResult, Cases, Results};
use super::junit;
use crate::escape::{Escaped, Quoted};

/// What `wsecho verdict` was asked.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A report directory (its `index.json` is read) or an `index.json` file.
    pub report: PathBuf,
    /// The one agent to judge; all of them when `None`.
    pub agent: Option<String>,
    /// Results to compare with instead of requiring every case to pass: an
    /// `index.json`, or results per case with no agents
    /// (`autobahn/expected-results.json`).
    pub baseline: Option<PathBuf>,
    /// Also write the judged agents' results to this file as JUnit XML.
    pub junit: Option<PathBuf>,
}

/// A verdict: the text to print, and whether it is clean (nothing listed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The summary and the list, one item a line, ending in a `PASS:` or `FAIL:` line.
    pub text: String,
    /// No case listed: every case passes, or matches the baseline.
    pub clean: bool,
}

/// Why no verdict could be given (a file missing or unreadable, a document that is
/// not a report, an unknown agent): one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unusable(pub String);

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unusable {}

/// A path as shown in a line of output.
fn shown(path: &Path) -> String {
    Escaped(&path.display().to_string()).to_string()
}

/// Reads a report or a baseline: `path` itself, or `path/index.json` for a directory.
fn load(path: &Path) -> Result<(PathBuf, Results), Unusable> {
    let file = if path.is_dir() {
        path.join("index.json")
    } else {
        path.to_path_buf()
    };
    let bytes = read_bounded(&file, MAX_FILE_BYTES).map_err(|e| {
        let mut line = format!("{}: {e}", shown(&file));
        // Autobahn writes its index.json a level down, in reports/servers/ or clients/.
        for sub in ["servers", "clients"] {
            let there = path.join(sub);
            if path.is_dir() && there.join("index.json").is_file() {
                let _ = write!(line, " (there is one in {})", shown(&there));
            }
        }
        Unusable(line)
    })?;
    let results = index::read(&bytes).map_err(|e| Unusable(format!("{}: {e}", shown(&file))))?;
    Ok((file, results))
}

/// Largest file read: Autobahn's index.json is about 100 KiB per agent of all 517 cases,
/// so this is thousands of agents, and `/dev/zero` given by mistake ends in an error
/// instead of all the memory.
const MAX_FILE_BYTES: u64 = 256 << 20;

/// The whole file, if it is at most `limit` bytes.
fn read_bounded(file: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(file)?
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::other(format!(
            "larger than {limit} bytes, not a report"
        )));
    }
    Ok(bytes)
}

/// The agents' names, quoted, for a message.
fn names<'a>(agents: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<String> = agents.map(|a| Quoted(a).to_string()).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// Judges the report `options` names. `Err` when there is nothing to judge.
pub fn run(options: &Options) -> Result<Verdict, Unusable> {
    let (file, results) = load(&options.report)?;
    let index = match results {
        Results::Agents(index) => index,
        Results::Cases(_) => {
            return Err(Unusable(format!(
                "{}: results per case with no agents, a baseline's shape \
                 (like autobahn/expected-results.json), not a report; give it as --baseline",
                shown(&file)
            )));
        }
    };
    let agents: Vec<(&String, &Cases)> = match &options.agent {
        None => index.agents.iter().collect(),
        Some(agent) => match index.agents.get_key_value(agent) {
            Some(one) => vec![one],
            None => {
                return Err(Unusable(format!(
                    "{}: no agent {} (agents: {})",
                    shown(&file),
                    Quoted(agent),
                    names(index.agents.keys())
                )));
            }
        },
    };
    if agents.iter().all(|(_, cases)| cases.is_empty()) {
        return Err(Unusable(format!("{}: no case results", shown(&file))));
    }
    let baseline = options.baseline.as_deref().map(load).transpose()?;

    let mut text = String::new();
    let (mut total, mut listed) = (0, 0);
    // The baseline's agents compared with one of the report's.
    let mut compared: Vec<&str> = Vec::new();
    for (agent, cases) in &agents {
        total += cases.len();
        let _ = writeln!(text, "agent {}: {}", Quoted(agent), n_cases(cases.len()));
        let _ = writeln!(text, "  behavior:      {}", counts(cases, |c| c.behavior));
        let _ = writeln!(
            text,
            "  behaviorClose: {}",
            counts(cases, |c| c.behavior_close)
        );
        listed += match &baseline {
            None => list_not_passing(&mut text, cases),
            Some((baseline_file, results)) => {
                let (base, base_agent) = baseline_cases(results, agent, baseline_file)?;
                if let Some(other) = base_agent {
                    compared.push(other);
                    if other != agent.as_str() {
                        let _ = writeln!(
                            text,
                            "  compared with agent {} of the baseline",
                            Quoted(other)
                        );
                    }
                }
                list_differences(&mut text, cases, base)
            }
        };
    }
    // A whole agent of the baseline missing from the report is as many missing cases.
    if let (Some((_, Results::Agents(base))), None) = (&baseline, &options.agent) {
        for (agent, cases) in &base.agents {
            if !compared.contains(&agent.as_str()) && !cases.is_empty() {
                let _ = writeln!(
                    text,
                    "agent {}: missing here; the baseline has {} of it",
                    Quoted(agent),
                    n_cases(cases.len())
                );
                listed += cases.len();
            }
        }
    }

    if let Some(path) = &options.junit {
        let xml = junit::xml(agents.iter().map(|(a, c)| (a.as_str(), *c)));
        std::fs::write(path, xml).map_err(|e| Unusable(format!("{}: {e}", shown(path))))?;
    }

    let of = match agents.len() {
        1 => n_cases(total),
        n => format!("{} of {n} agents", n_cases(total)),
    };
    match (&baseline, listed) {
        (None, 0) => writeln!(text, "PASS: {of}, every one passing"),
        (None, n) => writeln!(text, "FAIL: {of}, {n} not passing"),
        (Some((b, _)), 0) => writeln!(
            text,
            "PASS: {of}, every one as in the baseline {}",
            shown(b)
        ),
        (Some((b, _)), n) => writeln!(
            text,
            "FAIL: {of}, {n} differing from the baseline {}",
            shown(b)
        ),
    }
    .map_err(|e| Unusable(e.to_string()))?;
    Ok(Verdict {
        text,
        clean: listed == 0,
    })
}

/// `1 case`, `2 cases`.
fn n_cases(n: usize) -> String {
    if n == 1 {
        "1 case".into()
    } else {
        format!("{n} cases")
    }
}

/// `298 OK, 3 INFORMATIONAL`: how many cases got each grade, in [`Grade::ALL`]'s order.
fn counts(cases: &Cases, grade: fn(&CaseResult) -> Grade) -> String {
    let shown: Vec<String> = Grade::ALL
        .into_iter()
        .filter_map(|g| {
            let n = cases.values().filter(|c| grade(c) == g).count();
            (n > 0).then(|| format!("{n} {g}"))
        })
        .collect();
    if shown.is_empty() {
        "none".into()
    } else {
        shown.join(", ")
    }
}

/// Lists the cases that do not pass; returns how many.
fn list_not_passing(text: &mut String, cases: &Cases) -> usize {
    let failing: Vec<(&CaseId, &CaseResult)> =
        cases.iter().filter(|(_, c)| !c.is_passing()).collect();
    if failing.is_empty() {
        text.push_str("  every case passes (OK, NON-STRICT or INFORMATIONAL)\n");
        return 0;
    }
    let _ = writeln!(text, "  not passing, {}:", n_cases(failing.len()));
    for (id, case) in &failing {
        let code = case
            .remote_close_code
            .map_or_else(|| "none".to_string(), |c| c.to_string());
        let _ = write!(
            text,
            "    {id:<9} behavior {}, behaviorClose {}, remoteCloseCode {code}",
            case.behavior, case.behavior_close
        );
        if !case.reportfile.is_empty() {
            let _ = write!(text, ", {}", Escaped(&case.reportfile));
        }
        text.push('\n');
    }
    failing.len()
}

/// The baseline's cases for `agent`: those of results per case; in an `index.json`,
/// the agent of the same name, else its only agent, whose name comes with them.
fn baseline_cases<'a>(
    results: &'a Results,
    agent: &str,
    file: &Path,
) -> Result<(&'a Cases, Option<&'a str>), Unusable> {
    match results {
        Results::Cases(cases) => Ok((cases, None)),
        Results::Agents(index) => {
            if let Some((name, cases)) = index.agents.get_key_value(agent) {
                return Ok((cases, Some(name)));
            }
            match index.agents.iter().next() {
                Some((only, cases)) if index.agents.len() == 1 => Ok((cases, Some(only))),
                _ => Err(Unusable(format!(
                    "{}: the baseline has no agent {} (agents: {})",
                    shown(file),
                    Quoted(agent),
                    names(index.agents.keys())
                ))),
            }
        }
    }
}

/// Lists the cases whose grades differ from the baseline's, and those only one side
/// has; returns how many.
fn list_differences(text: &mut String, cases: &Cases, baseline: &Cases) -> usize {
    let mut lines = Vec::new();
    let grades = |c: &CaseResult| {
        format!(
            "behavior {}, behaviorClose {}",
            c.behavior, c.behavior_close
        )
    };
    let mut ids: Vec<&CaseId> = cases.keys().chain(baseline.keys()).collect();
    ids.sort();
    ids.dedup();
    for id in ids {
        match (baseline.get(id), cases.get(id)) {
            (Some(was), Some(is)) => {
                if (was.behavior, was.behavior_close) != (is.behavior, is.behavior_close) {
                    lines.push(format!(
                        "    {id:<9} behavior {}, behaviorClose {}",
                        change(was.behavior, is.behavior),
                        change(was.behavior_close, is.behavior_close)
                    ));
                }
            }
            (Some(was), None) => lines.push(format!(
                "    {id:<9} missing here; the baseline has {}",
                grades(was)
            )),
            (None, Some(is)) => lines.push(format!(
                "    {id:<9} not in the baseline; here {}",
                grades(is)
            )),
            (None, None) => {}
        }
    }
    if lines.is_empty() {
        text.push_str("  every case as in the baseline\n");
    } else {
        let _ = writeln!(
            text,
            "  differing from the baseline, {} (baseline -> here):",
            n_cases(lines.len())
        );
        for line in &lines {
            text.push_str(line);
            text.push('\n');
        }
    }
    lines.len()
}

/// `OK` when the grade is the same, `OK -> FAILED` when it changed.
fn change(was: Grade, is: Grade) -> String {
    if was == is {
        was.to_string()
    } else {
        format!("{was} -> {is}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scratch directory of this test's own, emptied first.
    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("wsecho-verdict-unit-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn write(dir: &Path, name: &str, json: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, json).unwrap();
        path
    }

    fn judge(
        report: &Path,
        agent: Option<&str>,
        baseline: Option<&Path>,
    ) -> Result<Verdict, Unusable> {
        run(&Options {
            report: report.to_path_buf(),
            agent: agent.map(str::to_string),
            baseline: baseline.map(Path::to_path_buf),
            junit: None,
        })
    }

    const TWO_AGENTS: &str = r#"{
        "a": {
            "1.1.2": {"behavior": "OK", "behaviorClose": "OK", "duration": 1, "remoteCloseCode": 1000, "reportfile": "a_case_1_1_2.json"},
            "1.1.10": {"behavior": "NON-STRICT", "behaviorClose": "INFORMATIONAL", "duration": 1, "remoteCloseCode": 1000, "reportfile": "a_case_1_1_10.json"}
        },
        "b": {
            "2.1": {"behavior": "FAILED", "behaviorClose": "OK", "duration": 1, "remoteCloseCode": 1002, "reportfile": "b_case_2_1.json"},
            "1.1.2": {"behavior": "OK", "behaviorClose": "UNCLEAN", "duration": 1, "remoteCloseCode": null, "reportfile": "b_case_1_1_2.json"}
        }
    }"#;

    #[test]
    fn every_case_that_does_not_pass_is_listed_in_case_order() {
        let dir = scratch("list");
        let report = write(&dir, "index.json", TWO_AGENTS);
        let verdict = judge(&dir, None, None).unwrap();
        assert!(!verdict.clean);
        let expected = "\
agent \"a\": 2 cases
  behavior:      1 OK, 1 NON-STRICT
  behaviorClose: 1 OK, 1 INFORMATIONAL
  every case passes (OK, NON-STRICT or INFORMATIONAL)
agent \"b\": 2 cases
  behavior:      1 OK, 1 FAILED
  behaviorClose: 1 OK, 1 UNCLEAN
  not passing, 2 cases:
    1.1.2     behavior OK, behaviorClose UNCLEAN, remoteCloseCode none, b_case_1_1_2.json
    2.1       behavior FAILED, behaviorClose OK, remoteCloseCode 1002, b_case_2_1.json
FAIL: 4 cases of 2 agents, 2 not passing
";
        assert_eq!(verdict.text, expected);
        let a = judge(&report, Some("a"), None).unwrap();
        assert!(a.clean);
        assert!(
            a.text.ends_with("PASS: 2 cases, every one passing\n"),
            "{}",
            a.text
        );
    }

    #[test]
    fn with_a_baseline_differences_and_missing_cases_are_listed() {
        let dir = scratch("baseline");
        let report = write(&dir, "report.json", TWO_AGENTS);
        // Results per case apply to every agent.
        let per_case = write(
            &dir,
            "expected.json",
            r#"{"1.1.2": {"behavior": "OK", "behaviorClose": "OK"},
                "2.1": {"behavior": "FAILED", "behaviorClose": "OK"},
                "3.1": {"behavior": "OK", "behaviorClose": "OK"}}"#,
        );
        let verdict = judge(&report, Some("b"), Some(&per_case)).unwrap();
        assert!(!verdict.clean);
        let listed: Vec<&str> = verdict.text.lines().skip(3).collect();
        assert_eq!(
            listed,
            [
                "  differing from the baseline, 2 cases (baseline -> here):",
                "    1.1.2     behavior OK, behaviorClose OK -> UNCLEAN",
                "    3.1       missing here; the baseline has behavior OK, behaviorClose OK",
                &format!(
                    "FAIL: 2 cases, 2 differing from the baseline {}",
                    per_case.display()
                ),
            ]
        );
        // The same report as its own baseline: clean, failing cases and all.
        let same = judge(&report, None, Some(&report)).unwrap();
        assert!(same.clean, "{}", same.text);
        assert!(same.text.contains("  every case as in the baseline\n"));
        // A case only in the report.
        let fewer = write(
            &dir,
            "fewer.json",
            r#"{"b": {"2.1": {"behavior": "FAILED", "behaviorClose": "OK"}}}"#,
        );
        let verdict = judge(&report, Some("b"), Some(&fewer)).unwrap();
        assert!(verdict.text.contains(
            "    1.1.2     not in the baseline; here behavior OK, behaviorClose UNCLEAN\n"
        ));
        // A baseline of one agent stands for any agent, and says so.
        let verdict = judge(&report, Some("a"), Some(&fewer)).unwrap();
        assert!(
            verdict
                .text
                .contains("compared with agent \"b\" of the baseline")
        );
        assert!(!verdict.clean);
        // A baseline's agent the report lacks is missing, all its cases.
        let only_a = write(
            &dir,
            "only-a.json",
            r#"{"a": {"1.1.2": {"behavior": "OK", "behaviorClose": "OK"},
                      "1.1.10": {"behavior": "NON-STRICT", "behaviorClose": "INFORMATIONAL"}}}"#,
        );
        let verdict = judge(&only_a, None, Some(&report)).unwrap();
        assert!(!verdict.clean);
        assert!(verdict.text.contains("  every case as in the baseline\n"));
        assert!(
            verdict.text.ends_with(&format!(
                "agent \"b\": missing here; the baseline has 2 cases of it\n\
                 FAIL: 2 cases, 2 differing from the baseline {}\n",
                report.display()
            )),
            "{}",
            verdict.text
        );
        // Unless --agent picks one.
        assert!(judge(&only_a, Some("a"), Some(&report)).unwrap().clean);
    }

    #[test]
    fn unusable_input_is_one_line_that_names_the_file() {
        let dir = scratch("unusable");
        let report = write(&dir, "report.json", TWO_AGENTS);
        let bad = write(
            &dir,
            "bad.json",
            "{\"a\": {\"1.1\": {\"behavior\": \"ok\"}}}",
        );
        let per_case = write(
            &dir,
            "per-case.json",
            r#"{"1.1": {"behavior": "OK", "behaviorClose": "OK"}}"#,
        );
        let empty = write(&dir, "empty.json", "{\"a\": {}}");
        let two = write(&dir, "two.json", TWO_AGENTS);
        let cases: Vec<(Result<Verdict, Unusable>, &str)> = vec![
            (judge(&dir.join("nothing"), None, None), "nothing"),
            (judge(&bad, None, None), "is not a grade"),
            (judge(&per_case, None, None), "give it as --baseline"),
            (judge(&empty, None, None), "no case results"),
            (
                judge(&report, Some("c\n"), None),
                r#"no agent "c\n" (agents: "a", "b")"#,
            ),
            (judge(&report, None, Some(&bad)), "bad.json: at"),
            (
                judge(&report, None, Some(&dir.join("gone.json"))),
                "gone.json",
            ),
            (judge(&dir, None, None), "index.json"),
        ];
        for (result, needle) in cases {
            let e = result.expect_err(needle).to_string();
            assert!(e.contains(needle), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
        // A baseline of several agents without the one judged.
        let mut renamed = TWO_AGENTS.replace("\"a\"", "\"c\"");
        renamed = renamed.replace("\"b\"", "\"d\"");
        let other = write(&dir, "other.json", &renamed);
        let e = judge(&two, Some("a"), Some(&other)).unwrap_err();
        assert!(
            e.0.contains("the baseline has no agent \"a\" (agents: \"c\", \"d\")"),
            "{e}"
        );
    }

    #[test]
    fn an_endless_file_is_read_up_to_the_limit_only() {
        let e = read_bounded(Path::new("/dev/zero"), 1000).unwrap_err();
        assert_eq!(e.to_string(), "larger than 1000 bytes, not a report");
        let dir = scratch("bounded");
        let file = write(&dir, "ten", "0123456789");
        assert_eq!(read_bounded(&file, 10).unwrap(), b"0123456789");
        assert!(read_bounded(&file, 9).is_err());
    }

    #[test]
    fn a_report_directory_without_index_json_points_at_autobahns_subdirectory() {
        let dir = scratch("subdir");
        std::fs::create_dir_all(dir.join("clients")).unwrap();
        write(&dir.join("clients"), "index.json", TWO_AGENTS);
        let e = judge(&dir, None, None).unwrap_err();
        assert!(e.0.contains("there is one in"), "{e}");
        assert!(judge(&dir.join("clients"), Some("a"), None).unwrap().clean);
    }
}
