//! Results as JUnit XML, the format CI systems (GitLab, Jenkins, GitHub's test
//! reporters) show: one `<testsuite>` per agent, one `<testcase>` per case, named by
//! its id, its `classname` the case's group (`1.1` for `1.1.1`), its time in seconds.
//! A case that does not pass (either grade) has a `<failure>` whose message gives both
//! grades; a passing case graded other than OK says its grades in `<system-out>`.
//!
//! Agent names and report file names come from clients: everything is escaped, and the
//! characters XML 1.0 cannot carry at all (C0 controls other than tab, newline and
//! carriage return; U+FFFE and U+FFFF) are replaced by U+FFFD, so the document is
//! always well-formed.

use std::fmt::Write as _;

use super::grade::Grade;
use super::index::{CaseResult, Cases};

/// A JUnit XML document of one agent's results.
pub(crate) fn agent_xml(agent: &str, cases: &Cases) -> String {
    xml([(agent, cases)])
}

/// A JUnit XML document with a `<testsuite>` for each agent given, in that order,
/// under one `<testsuites>`.
pub(crate) fn xml<'a>(agents: impl IntoIterator<Item = (&'a str, &'a Cases)>) -> String {
    let mut suites = String::new();
    let (mut tests, mut failures, mut ms) = (0usize, 0usize, 0u64);
    for (agent, cases) in agents {
        tests += cases.len();
        failures += cases.values().filter(|c| !c.is_passing()).count();
        ms = ms.saturating_add(total_ms(cases));
        testsuite(&mut suites, agent, cases);
    }
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" time=\"{}\">",
        seconds(ms)
    );
    out.push_str(&suites);
    out.push_str("</testsuites>\n");
    out
}

fn total_ms(cases: &Cases) -> u64 {
    cases
        .values()
        .fold(0u64, |sum, c| sum.saturating_add(c.duration_ms))
}

/// Milliseconds as seconds with three decimals: `1.005`.
fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

fn testsuite(out: &mut String, agent: &str, cases: &Cases) {
    let failures = cases.values().filter(|c| !c.is_passing()).count();
    out.push_str("  <testsuite name=\"");
    escape(out, agent, true);
    let _ = writeln!(
        out,
        "\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"{}\">",
        cases.len(),
        seconds(total_ms(cases))
    );
    for (id, case) in cases {
        out.push_str("    <testcase classname=\"");
        escape(out, id.group(), true);
        out.push_str("\" name=\"");
        escape(out, id.as_str(), true);
        let _ = write!(out, "\" time=\"{}\"", seconds(case.duration_ms));
        let grades = grades(case);
        if !case.is_passing() {
            // The failing grade names the failure: behavior's if it fails, else behaviorClose's.
            let kind = if case.behavior.is_passing() {
                case.behavior_close
            } else {
                case.behavior
            };
            let _ = write!(
                out,
                ">\n      <failure type=\"{}\" message=\"",
                kind.as_str()
            );
            escape(out, &grades, true);
            out.push_str("\">");
            escape(out, &details(case), false);
            out.push_str("</failure>\n    </testcase>\n");
        } else if (case.behavior, case.behavior_close) != (Grade::Ok, Grade::Ok) {
            out.push_str(">\n      <system-out>");
            escape(out, &details(case), false);
            out.push_str("</system-out>\n    </testcase>\n");
        } else {
            out.push_str("/>\n");
        }
    }
    out.push_str("  </testsuite>\n");
}

/// `behavior FAILED, behaviorClose OK`.
fn grades(case: &CaseResult) -> String {
    format!(
        "behavior {}, behaviorClose {}",
        case.behavior, case.behavior_close
    )
}

/// The grades, the close code and the report file, one per line.
fn details(case: &CaseResult) -> String {
    let code = case
        .remote_close_code
        .map_or_else(|| "none".to_string(), |c| c.to_string());
    let mut text = format!(
        "behavior: {}\nbehaviorClose: {}\nremoteCloseCode: {code}\nduration: {} ms",
        case.behavior, case.behavior_close, case.duration_ms
    );
    if !case.reportfile.is_empty() {
        let _ = write!(text, "\nreportfile: {}", case.reportfile);
    }
    text
}

/// A character XML 1.0 can carry (its `Char` production). Rust's `char` holds no
/// surrogates, so only the controls, U+FFFE and U+FFFF are left out.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | ' '..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

/// Appends `s` escaped for XML text, or for an attribute value between double quotes
/// (where tab and newline are written as references, or a parser would turn them into
/// spaces). A carriage return is always a reference (a parser would drop or change it);
/// what XML cannot carry becomes U+FFFD.
fn escape(out: &mut String, s: &str, attribute: bool) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\n' if attribute => out.push_str("&#10;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{fffd}'),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::index::CaseId;

    fn case(behavior: Grade, behavior_close: Grade, ms: u64) -> CaseResult {
        CaseResult {
            behavior,
            behavior_close,
            duration_ms: ms,
            remote_close_code: Some(1000),
            reportfile: "a_case.json".into(),
        }
    }

    fn cases(list: &[(&str, CaseResult)]) -> Cases {
        list.iter()
            .map(|(id, c)| (CaseId::parse(id).unwrap(), c.clone()))
            .collect()
    }

    #[test]
    fn one_agent_is_a_testsuite_with_a_testcase_per_case() {
        let cases = cases(&[
            ("2.1", case(Grade::Ok, Grade::Ok, 1005)),
            ("1.1.10", case(Grade::Failed, Grade::Ok, 2)),
            ("1.1.2", case(Grade::Informational, Grade::Informational, 0)),
            ("7.1.1", case(Grade::Ok, Grade::WrongCode, 3)),
        ]);
        let xml = agent_xml("wsecho", &cases);
        let expected = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="4" failures="2" errors="0" time="1.010">
  <testsuite name="wsecho" tests="4" failures="2" errors="0" skipped="0" time="1.010">
    <testcase classname="1.1" name="1.1.2" time="0.000">
      <system-out>behavior: INFORMATIONAL
behaviorClose: INFORMATIONAL
remoteCloseCode: 1000
duration: 0 ms
reportfile: a_case.json</system-out>
    </testcase>
    <testcase classname="1.1" name="1.1.10" time="0.002">
      <failure type="FAILED" message="behavior FAILED, behaviorClose OK">behavior: FAILED
behaviorClose: OK
remoteCloseCode: 1000
duration: 2 ms
reportfile: a_case.json</failure>
    </testcase>
    <testcase classname="2" name="2.1" time="1.005"/>
    <testcase classname="7.1" name="7.1.1" time="0.003">
      <failure type="WRONG CODE" message="behavior OK, behaviorClose WRONG CODE">behavior: OK
behaviorClose: WRONG CODE
remoteCloseCode: 1000
duration: 3 ms
reportfile: a_case.json</failure>
    </testcase>
  </testsuite>
</testsuites>
"#;
        assert_eq!(xml, expected);
    }

    #[test]
    fn markup_quotes_and_controls_are_escaped_or_replaced() {
        let mut out = String::new();
        escape(
            &mut out,
            "<a href=\"x\">&'\t\n\r\u{0}\u{1b}\u{7f}\u{fffe}é🎉",
            true,
        );
        assert_eq!(
            out,
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;&#9;&#10;&#13;\u{fffd}\u{fffd}\u{7f}\u{fffd}é🎉"
        );
        let mut out = String::new();
        escape(&mut out, "]]>\t\n\r\u{8}", false);
        assert_eq!(out, "]]&gt;\t\n&#13;\u{fffd}");
    }

    #[test]
    fn no_agents_is_an_empty_testsuites() {
        assert_eq!(
            xml([]),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <testsuites tests=\"0\" failures=\"0\" errors=\"0\" time=\"0.000\">\n\
             </testsuites>\n"
        );
    }
}
