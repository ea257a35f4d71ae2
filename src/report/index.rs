//! Autobahn's `index.json`: agent → case id → the case's grades, close code, duration
//! and report file. Autobahn's fuzzingclient (its report of servers) and fuzzingserver
//! (its report of clients) both write this shape:
//!
//! ```json
//! {
//!    "wsecho": {
//!       "1.1.1": {
//!          "behavior": "OK",
//!          "behaviorClose": "OK",
//!          "duration": 1,
//!          "remoteCloseCode": 1000,
//!          "reportfile": "wsecho_case_1_1_1.json"
//!       }
//!    }
//! }
//! ```
//!
//! Reading takes Autobahn's files and anything of the same shape; a file of grades per
//! case with no agent level (`autobahn/expected-results.json`) reads as
//! [`Results::Cases`]. Writing gives what Autobahn's Python writes, byte for byte
//! (`json.dumps(sort_keys=True, indent=3, separators=(',', ': '))`), so a textual diff
//! against one of its files shows only what differs.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

use super::grade::Grade;
use crate::escape::Quoted;

/// A case id such as `1.1.1`, `2.10` or `13.7.18`: numbers joined by dots. Ordered by
/// its numbers, so `1.1.2` < `1.1.10` < `2.1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct CaseId {
    // Field order is the ordering: the numbers, then the text (`1.01` ≠ `1.1`).
    numbers: Vec<u32>,
    text: String,
}

impl CaseId {
    /// Reads `1.1.1`: one or more decimal numbers (each below 2³²), joined by dots.
    pub(crate) fn parse(text: &str) -> Result<CaseId, BadCaseId> {
        let numbers = text
            .split('.')
            .map(|n| {
                if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                    None
                } else {
                    n.parse::<u32>().ok()
                }
            })
            .collect::<Option<Vec<u32>>>()
            .ok_or_else(|| BadCaseId(text.to_string()))?;
        Ok(CaseId {
            numbers,
            text: text.to_string(),
        })
    }

    /// The id as written: `1.1.1`.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// The group the case belongs to: the id without its last number (`1.1` for
    /// `1.1.1`, `2` for `2.10`); an id of one number is its own group.
    pub(crate) fn group(&self) -> &str {
        self.text
            .rsplit_once('.')
            .map_or(self.text.as_str(), |(group, _)| group)
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.text)
    }
}

/// A string that is not a case id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadCaseId(pub String);

impl fmt::Display for BadCaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is not a case id (numbers joined by dots, like 1.1.1)",
            Quoted(&self.0)
        )
    }
}

impl std::error::Error for BadCaseId {}

/// The name Autobahn gives an agent's report of a case, beside `index.json`
/// (`makeAgentCaseReportFilename` in its `fuzzing.py`): the agent's name in lower case,
/// each character other than `a`-`z` and `0`-`9` made `_` and those at either end
/// dropped, then `_case_` and the case id with `_` for its dots:
/// `wsecho_case_1_1_1.json`, `autobahnpython_0_10_9_case_2_10.html`. Whatever the
/// agent's name, the result is a plain file name: no separator, no dot but the
/// extension's.
pub(crate) fn report_file(agent: &str, case: &CaseId, extension: &str) -> String {
    format!(
        "{}_case_{}.{extension}",
        file_agent(agent),
        case.as_str().replace('.', "_")
    )
}

/// The agent's name as report files carry it (see [`report_file`]): lower case, `a`-`z`
/// and `0`-`9` kept, any other character made `_`, those at either end dropped.
pub(crate) fn file_agent(agent: &str) -> String {
    let spaced: String = agent
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                ' '
            }
        })
        .collect();
    spaced.trim_matches(' ').replace(' ', "_")
}

/// One case's result, as `index.json` records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CaseResult {
    /// `behavior`: what the peer did.
    pub behavior: Grade,
    /// `behaviorClose`: how the connection closed.
    pub behavior_close: Grade,
    /// `duration`: how long the case ran, in milliseconds.
    pub duration_ms: u64,
    /// `remoteCloseCode`: the code of the peer's close frame; `None` (`null`) when it
    /// sent none, or one without a code.
    pub remote_close_code: Option<u16>,
    /// `reportfile`: the name of the case's own JSON report, beside `index.json`.
    pub reportfile: String,
}

impl CaseResult {
    /// Both grades pass (see [`Grade::is_passing`]).
    pub(crate) fn is_passing(&self) -> bool {
        self.behavior.is_passing() && self.behavior_close.is_passing()
    }
}

/// One agent's results, in case order.
pub(crate) type Cases = BTreeMap<CaseId, CaseResult>;

/// An `index.json`: every agent's results, agents in name order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Index {
    /// Agent name → its results. The name is the client's user agent in a report of
    /// clients, the server's `agent` of the spec in a report of servers.
    pub agents: BTreeMap<String, Cases>,
}

/// What a file of case results holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Results {
    /// An `index.json`: results per agent.
    Agents(Index),
    /// Results per case, with no agent level (`autobahn/expected-results.json`, whose
    /// cases hold only the two grades).
    Cases(Cases),
}

/// Why a file of results could not be read: where in it, and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReadError {
    /// The place in the document, jq style (`."wsecho"."1.1.1".behavior`); empty for
    /// the whole document.
    pub at: String,
    /// What was wrong there.
    pub message: String,
}

impl ReadError {
    fn new(at: impl Into<String>, message: impl Into<String>) -> ReadError {
        ReadError {
            at: at.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "at {}: {}", self.at, self.message)
        }
    }
}

impl std::error::Error for ReadError {}

/// `at` followed by the key `key`, quoted (keys come from the file).
fn child(at: &str, key: &str) -> String {
    format!("{at}.{}", Quoted(key))
}

/// What kind of JSON value `v` is, for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A case's object, recognised by its `behavior` string (an agent's object holds
/// objects).
fn is_case(v: &Value) -> bool {
    v.get("behavior").is_some_and(Value::is_string)
}

/// Reads a file of results: an `index.json` (agent → case id → result) or, when every
/// top-level value is a case's result, results per case. Only `behavior` and
/// `behaviorClose` are required of a case; an absent `duration` reads as 0, an absent
/// `remoteCloseCode` as `null` and an absent `reportfile` as empty; fields beyond
/// Autobahn's are ignored. Anything else that is not as Autobahn writes it is an error
/// saying where.
pub(crate) fn read(json: &[u8]) -> Result<Results, ReadError> {
    let value: Value =
        serde_json::from_slice(json).map_err(|e| ReadError::new("", format!("not JSON: {e}")))?;
    let Value::Object(top) = value else {
        return Err(ReadError::new(
            "",
            format!("the document is {}, not an object of agents", kind(&value)),
        ));
    };
    if !top.is_empty() && top.values().all(is_case) {
        return cases("", &top).map(Results::Cases);
    }
    let mut agents = BTreeMap::new();
    for (agent, value) in &top {
        let at = child("", agent);
        let Value::Object(map) = value else {
            return Err(ReadError::new(
                &at,
                format!(
                    "an agent's results are an object of cases, not {}",
                    kind(value)
                ),
            ));
        };
        agents.insert(agent.clone(), cases(&at, map)?);
    }
    Ok(Results::Agents(Index { agents }))
}

/// The cases of one object: case id → result.
fn cases(at: &str, map: &Map<String, Value>) -> Result<Cases, ReadError> {
    let mut cases = Cases::new();
    for (id, value) in map {
        let at = child(at, id);
        let case_id = CaseId::parse(id).map_err(|e| ReadError::new(&at, e.to_string()))?;
        cases.insert(case_id, case(&at, value)?);
    }
    Ok(cases)
}

/// One case's result.
fn case(at: &str, value: &Value) -> Result<CaseResult, ReadError> {
    let Value::Object(map) = value else {
        return Err(ReadError::new(
            at,
            format!("a case's result is an object, not {}", kind(value)),
        ));
    };
    let grade = |field: &str| -> Result<Grade, ReadError> {
        let at = format!("{at}.{field}");
        match map.get(field) {
            None => Err(ReadError::new(at, "missing")),
            Some(Value::String(s)) => s.parse().map_err(|e| ReadError::new(&at, format!("{e}"))),
            Some(v) => Err(ReadError::new(
                &at,
                format!("a grade is a string, not {}", kind(v)),
            )),
        }
    };
    let duration_ms = match map.get("duration") {
        None => 0,
        Some(Value::Number(n)) => match (n.as_u64(), n.as_f64()) {
            (Some(ms), _) => ms,
            // Not Autobahn's (it writes whole milliseconds), but a duration all the same.
            (None, Some(ms)) if ms.is_finite() && ms >= 0.0 && ms < u64::MAX as f64 => {
                ms.round() as u64
            }
            _ => {
                return Err(ReadError::new(
                    format!("{at}.duration"),
                    format!("{n} is not a duration (milliseconds, 0 or more)"),
                ));
            }
        },
        Some(v) => {
            return Err(ReadError::new(
                format!("{at}.duration"),
                format!("a duration is a number, not {}", kind(v)),
            ));
        }
    };
    let remote_close_code = match map.get("remoteCloseCode") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_u64().and_then(|c| u16::try_from(c).ok()) {
            Some(code) => Some(code),
            None => {
                return Err(ReadError::new(
                    format!("{at}.remoteCloseCode"),
                    format!("{n} is not a close code (0 to 65535)"),
                ));
            }
        },
        Some(v) => {
            return Err(ReadError::new(
                format!("{at}.remoteCloseCode"),
                format!("a close code is a number or null, not {}", kind(v)),
            ));
        }
    };
    let reportfile = match map.get("reportfile") {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => {
            return Err(ReadError::new(
                format!("{at}.reportfile"),
                format!("a report file is a string, not {}", kind(v)),
            ));
        }
    };
    Ok(CaseResult {
        behavior: grade("behavior")?,
        behavior_close: grade("behaviorClose")?,
        duration_ms,
        remote_close_code,
        reportfile,
    })
}

impl Index {
    /// Reads an `index.json` (see [`read`]); a file of results per case, with no
    /// agents, is an error here.
    #[cfg(test)]
    pub(crate) fn from_json(json: &[u8]) -> Result<Index, ReadError> {
        match read(json)? {
            Results::Agents(index) => Ok(index),
            Results::Cases(_) => Err(ReadError::new(
                "",
                "the document holds results per case with no agents (the shape of \
                 autobahn/expected-results.json), not an index.json",
            )),
        }
    }

    /// The `index.json` Autobahn would write for these results: keys in Python's
    /// order (by code point, so `10.1.1` comes before `2.1`, as in Autobahn's own
    /// files), indented by three spaces, strings ASCII with `\u` escapes, no newline
    /// at the end.
    pub(crate) fn to_json(&self) -> String {
        let mut out = String::new();
        if self.agents.is_empty() {
            out.push_str("{}");
            return out;
        }
        out.push_str("{\n");
        for (i, (agent, cases)) in self.agents.iter().enumerate() {
            if i > 0 {
                out.push_str(",\n");
            }
            out.push_str("   ");
            crate::json::ascii_string(&mut out, agent);
            out.push_str(": ");
            write_cases(&mut out, cases);
        }
        out.push_str("\n}");
        out
    }
}

/// An agent's object at indent level 1.
fn write_cases(out: &mut String, cases: &Cases) {
    if cases.is_empty() {
        out.push_str("{}");
        return;
    }
    let mut in_python_order: Vec<(&CaseId, &CaseResult)> = cases.iter().collect();
    in_python_order.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    out.push_str("{\n");
    for (i, (id, case)) in in_python_order.into_iter().enumerate() {
        if i > 0 {
            out.push_str(",\n");
        }
        out.push_str("      ");
        crate::json::ascii_string(out, id.as_str());
        out.push_str(": {\n");
        // The fields in Python's sorted order, which is also Autobahn's.
        let code = case
            .remote_close_code
            .map_or_else(|| "null".to_string(), |c| c.to_string());
        let fields = [
            ("behavior", format!("\"{}\"", case.behavior)),
            ("behaviorClose", format!("\"{}\"", case.behavior_close)),
            ("duration", case.duration_ms.to_string()),
            ("remoteCloseCode", code),
        ];
        for (name, value) in fields {
            out.push_str(&format!("         \"{name}\": {value},\n"));
        }
        out.push_str("         \"reportfile\": ");
        crate::json::ascii_string(out, &case.reportfile);
        out.push_str("\n      }");
    }
    out.push_str("\n   }");
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVERS: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/autobahn/servers-index.json"
    ));
    const CLIENTS: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/autobahn/clients-index.json"
    ));
    const EXPECTED: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/autobahn/expected-results.json"
    ));

    fn id(s: &str) -> CaseId {
        CaseId::parse(s).unwrap()
    }

    #[test]
    fn case_ids_sort_by_their_numbers() {
        let mut ids: Vec<CaseId> = ["2.1", "1.1.10", "10.1.1", "1.1.2", "2.10", "2.9", "1.2"]
            .into_iter()
            .map(id)
            .collect();
        ids.sort();
        let sorted: Vec<&str> = ids.iter().map(CaseId::as_str).collect();
        assert_eq!(
            sorted,
            ["1.1.2", "1.1.10", "1.2", "2.1", "2.9", "2.10", "10.1.1"]
        );
        assert!(id("1.1.2") < id("1.1.10") && id("1.1.10") < id("2.1"));
        // Different text is a different id, even for the same numbers.
        assert_ne!(id("1.01"), id("1.1"));
    }

    #[test]
    fn a_case_id_is_numbers_joined_by_dots() {
        for good in ["1", "1.1.1", "13.7.18", "4294967295.0"] {
            assert_eq!(id(good).as_str(), good);
        }
        for bad in [
            "",
            ".",
            "1.",
            ".1",
            "1..1",
            "a.1",
            "1.1a",
            "-1",
            "1 .1",
            "+1",
            "4294967296",
        ] {
            assert!(CaseId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_case_group_is_its_id_without_the_last_number() {
        assert_eq!(id("1.1.1").group(), "1.1");
        assert_eq!(id("2.10").group(), "2");
        assert_eq!(id("7").group(), "7");
    }

    fn parse(json: &str) -> Index {
        Index::from_json(json.as_bytes()).unwrap()
    }

    #[test]
    fn autobahns_report_of_servers_reads_and_writes_back_byte_for_byte() {
        let index = parse(SERVERS);
        let cases = &index.agents["wsecho"];
        assert_eq!(index.agents.len(), 1);
        assert_eq!(cases.len(), 301);
        let first = cases.first_key_value().unwrap();
        assert_eq!(first.0.as_str(), "1.1.1");
        assert_eq!(cases.keys().nth(16).unwrap().as_str(), "2.1");
        assert_eq!(cases.last_key_value().unwrap().0.as_str(), "10.1.1");
        assert_eq!(
            first.1,
            &CaseResult {
                behavior: Grade::Ok,
                behavior_close: Grade::Ok,
                duration_ms: 1,
                remote_close_code: Some(1000),
                reportfile: "wsecho_case_1_1_1.json".into(),
            }
        );
        assert_eq!(cases[&id("7.3.1")].remote_close_code, None);
        let informational: Vec<&str> = cases
            .iter()
            .filter(|(_, c)| c.behavior == Grade::Informational)
            .map(|(id, _)| id.as_str())
            .collect();
        assert_eq!(informational, ["7.1.6", "7.13.1", "7.13.2"]);
        assert!(cases.values().all(CaseResult::is_passing));
        assert_eq!(index.to_json(), SERVERS);
    }

    #[test]
    fn autobahns_report_of_clients_reads_and_writes_back_byte_for_byte() {
        let index = parse(CLIENTS);
        assert_eq!(
            index.agents.keys().collect::<Vec<_>>(),
            ["AutobahnPython/0.10.9"]
        );
        assert_eq!(index.agents["AutobahnPython/0.10.9"].len(), 33);
        assert_eq!(index.to_json(), CLIENTS);
    }

    #[test]
    fn report_files_are_named_as_autobahn_names_them() {
        for index in [parse(SERVERS), parse(CLIENTS)] {
            for (agent, cases) in &index.agents {
                for (id, case) in cases {
                    assert_eq!(report_file(agent, id, "json"), case.reportfile);
                }
            }
        }
        let case = id("9.1.10");
        assert_eq!(
            report_file("AutobahnPython/0.10.9", &case, "html"),
            "autobahnpython_0_10_9_case_9_1_10.html"
        );
        assert_eq!(
            report_file(" ../../etc/passwd ", &case, "json"),
            "etc_passwd_case_9_1_10.json"
        );
        assert_eq!(
            report_file("<b>My  Client</b>", &case, "json"),
            "b_my__client__b_case_9_1_10.json"
        );
        assert_eq!(report_file("é/\\", &case, "json"), "_case_9_1_10.json");
    }

    #[test]
    fn the_committed_baseline_reads_as_results_per_case() {
        let Ok(Results::Cases(cases)) = read(EXPECTED.as_bytes()) else {
            panic!("expected-results.json is not read as results per case");
        };
        assert_eq!(cases.len(), 517);
        assert_eq!(cases.values().filter(|c| c.is_passing()).count(), 517);
        assert_eq!(cases.last_key_value().unwrap().0.as_str(), "13.7.18");
        let e = Index::from_json(EXPECTED.as_bytes()).unwrap_err();
        assert!(e.message.contains("no agents"), "{e}");
    }

    #[test]
    fn an_index_writes_in_autobahns_format() {
        let mut index = Index::default();
        assert_eq!(index.to_json(), "{}");
        let case = CaseResult {
            behavior: Grade::WrongCode,
            behavior_close: Grade::FailedByClient,
            duration_ms: 12,
            remote_close_code: None,
            reportfile: "a_case_1_1_1.json".into(),
        };
        let mut cases = Cases::new();
        cases.insert(id("2.1"), case.clone());
        cases.insert(id("10.1"), case.clone());
        index.agents.insert("b\"é".into(), Cases::new());
        index.agents.insert("a".into(), cases);
        let expected = r#"{
   "a": {
      "10.1": {
         "behavior": "WRONG CODE",
         "behaviorClose": "FAILED BY CLIENT",
         "duration": 12,
         "remoteCloseCode": null,
         "reportfile": "a_case_1_1_1.json"
      },
      "2.1": {
         "behavior": "WRONG CODE",
         "behaviorClose": "FAILED BY CLIENT",
         "duration": 12,
         "remoteCloseCode": null,
         "reportfile": "a_case_1_1_1.json"
      }
   },
   "b\"\u00e9": {}
}"#;
        assert_eq!(index.to_json(), expected);
        assert_eq!(parse(expected), index);
    }

    #[test]
    fn fields_other_than_the_grades_may_be_missing_and_more_are_ignored() {
        let index = parse(
            r#"{"a": {"1.1": {"behavior": "OK", "behaviorClose": "UNCLEAN",
            "duration": 2.6, "extra": [1]}}}"#,
        );
        let case = &index.agents["a"][&id("1.1")];
        assert_eq!(case.behavior_close, Grade::Unclean);
        assert_eq!(case.duration_ms, 3);
        assert_eq!(case.remote_close_code, None);
        assert_eq!(case.reportfile, "");
        assert!(!case.is_passing());
        assert_eq!(parse(r#"{"a": {}}"#).agents["a"].len(), 0);
        assert_eq!(parse("{}").agents.len(), 0);
    }

    #[test]
    fn malformed_documents_are_errors_that_say_where() {
        let cases: &[(&str, &str, &str)] = &[
            ("", "", "not JSON"),
            ("{", "", "not JSON"),
            ("[]", "", "an array, not an object of agents"),
            ("null", "", "null, not an object of agents"),
            ("\"OK\"", "", "a string"),
            (r#"{"a": 1}"#, r#"."a""#, "not a number"),
            (r#"{"a": []}"#, r#"."a""#, "not an array"),
            (r#"{"a": {"x": {}}}"#, r#"."a"."x""#, "not a case id"),
            (r#"{"a": {"1": 7}}"#, r#"."a"."1""#, "not a number"),
            (r#"{"a": {"1": {}}}"#, r#"."a"."1".behavior"#, "missing"),
            (
                r#"{"a": {"1": {"behavior": "OK"}}}"#,
                r#"."a"."1".behaviorClose"#,
                "missing",
            ),
            (
                r#"{"a": {"1": {"behavior": "ok", "behaviorClose": "OK"}}}"#,
                r#"."a"."1".behavior"#,
                "\"ok\" is not a grade",
            ),
            (
                r#"{"a": {"1": {"behavior": 1, "behaviorClose": "OK"}}}"#,
                r#"."a"."1".behavior"#,
                "not a number",
            ),
            (
                r#"{"a": {"1": {"behavior": "OK", "behaviorClose": "OK", "duration": -1}}}"#,
                r#"."a"."1".duration"#,
                "-1 is not a duration",
            ),
            (
                r#"{"a": {"1": {"behavior": "OK", "behaviorClose": "OK", "duration": "1"}}}"#,
                r#"."a"."1".duration"#,
                "not a string",
            ),
            (
                r#"{"a": {"1": {"behavior": "OK", "behaviorClose": "OK", "duration": 1e400}}}"#,
                "",
                "not JSON",
            ),
            (
                r#"{"a": {"1": {"behavior": "OK", "behaviorClose": "OK", "remoteCloseCode": 65536}}}"#,
                r#"."a"."1".remoteCloseCode"#,
                "65536 is not a close code",
            ),
            (
                r#"{"a": {"1": {"behavior": "OK", "behaviorClose": "OK", "remoteCloseCode": 1000.5}}}"#,
                r#"."a"."1".remoteCloseCode"#,
                "is not a close code",
            ),
            (
                r#"{"a": {"1": {"behavior": "OK", "behaviorClose": "OK", "reportfile": null}}}"#,
                r#"."a"."1".reportfile"#,
                "not null",
            ),
            ("{\"a\\n\": {\"1\": 1}}", r#"."a\n"."1""#, "not a number"),
        ];
        for (json, at, message) in cases {
            let e = read(json.as_bytes()).unwrap_err();
            assert_eq!(&e.at, at, "{json}: {e}");
            assert!(e.message.contains(message), "{json}: {e}");
            assert!(!e.to_string().contains('\n'), "{json}: {e}");
        }
    }

    #[test]
    fn mangled_reports_are_errors_never_panics() {
        let bytes = CLIENTS.as_bytes();
        // Truncations (every 3rd length), and bytes changed along the way.
        for len in (0..bytes.len()).step_by(3) {
            assert!(read(&bytes[..len]).is_err(), "read {len} bytes");
        }
        for at in (0..bytes.len()).step_by(11) {
            for b in [b'"', b'{', b'}', b'0', b'\xff', b'\0', b'-', b'.', b'n'] {
                let mut mangled = bytes.to_vec();
                mangled[at] = b;
                let _ = read(&mangled);
            }
        }
        // Nesting deeper than serde_json's limit.
        let deep = "[".repeat(100_000);
        assert!(read(deep.as_bytes()).is_err());
    }
}
