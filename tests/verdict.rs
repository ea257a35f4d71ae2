//! `wsecho verdict` run as a user runs it: on Autobahn's own reports (of servers and of
//! clients, in tests/fixtures/autobahn/), on reports made to fail, against baselines, on
//! input it cannot use; and its JUnit XML read back by Python's XML parser.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/autobahn");
const EXPECTED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/autobahn/expected-results.json"
);

fn servers() -> PathBuf {
    Path::new(FIXTURES).join("servers-index.json")
}

fn clients() -> PathBuf {
    Path::new(FIXTURES).join("clients-index.json")
}

fn wsecho(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wsecho"))
        .args(args)
        .output()
        .expect("run wsecho")
}

/// `wsecho verdict ARGS`: its exit code, stdout and stderr.
fn verdict(args: &[&Path]) -> (i32, String, String) {
    let mut all: Vec<&str> = vec!["verdict"];
    all.extend(args.iter().map(|a| a.to_str().expect("a UTF-8 path")));
    let output = wsecho(&all);
    (
        output.status.code().expect("an exit code"),
        String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    )
}

/// A scratch directory of this test's own, emptied first.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wsecho-verdict-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// The report of servers with case 1.1.1's behaviorClose made UNCLEAN.
fn failing_report(dir: &Path) -> PathBuf {
    let good = std::fs::read_to_string(servers()).expect("the fixture");
    let bad = good.replacen(
        "\"behaviorClose\": \"OK\"",
        "\"behaviorClose\": \"UNCLEAN\"",
        1,
    );
    assert_ne!(good, bad);
    let path = dir.join("index.json");
    std::fs::write(&path, bad).expect("write the report");
    path
}

#[test]
fn autobahns_reports_of_servers_and_of_clients_pass() {
    let (code, out, err) = verdict(&[&servers()]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        "agent \"wsecho\": 301 cases\n  \
         behavior:      298 OK, 3 INFORMATIONAL\n  \
         behaviorClose: 298 OK, 3 INFORMATIONAL\n  \
         every case passes (OK, NON-STRICT or INFORMATIONAL)\n\
         PASS: 301 cases, every one passing\n"
    );
    assert_eq!(err, "");
    let (code, out, err) = verdict(&[&clients()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with("agent \"AutobahnPython/0.10.9\": 33 cases\n"),
        "{out}"
    );
    assert!(
        out.ends_with("PASS: 33 cases, every one passing\n"),
        "{out}"
    );
}

#[test]
fn a_case_that_does_not_pass_fails_the_verdict_and_is_listed() {
    let dir = scratch("failing");
    failing_report(&dir);
    // The directory stands for its index.json.
    let (code, out, err) = verdict(&[&dir]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("  behaviorClose: 297 OK, 3 INFORMATIONAL, 1 UNCLEAN\n"),
        "{out}"
    );
    assert!(
        out.contains(
            "  not passing, 1 case:\n    1.1.1     behavior OK, behaviorClose UNCLEAN, \
             remoteCloseCode 1000, wsecho_case_1_1_1.json\n"
        ),
        "{out}"
    );
    assert!(out.ends_with("FAIL: 301 cases, 1 not passing\n"), "{out}");
    assert_eq!(err, "");
}

#[test]
fn a_difference_from_the_baseline_fails_the_verdict() {
    let dir = scratch("baseline");
    let bad = failing_report(&dir);
    let good = servers();
    let baseline = Path::new("--baseline");
    let (code, out, _) = verdict(&[&good, baseline, &good]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("  every case as in the baseline\n"), "{out}");
    // Worse than the baseline, and better: both are differences.
    for (report, base, line) in [
        (
            &bad,
            &good,
            "    1.1.1     behavior OK, behaviorClose OK -> UNCLEAN\n",
        ),
        (
            &good,
            &bad,
            "    1.1.1     behavior OK, behaviorClose UNCLEAN -> OK\n",
        ),
    ] {
        let (code, out, _) = verdict(&[report, baseline, base]);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains(line), "{out}");
        assert!(
            out.contains("FAIL: 301 cases, 1 differing from the baseline "),
            "{out}"
        );
    }
    // The committed baseline has all 517 cases, the report groups 1-10 only: the same
    // grades where both have the case, and 216 cases missing here.
    let (code, out, _) = verdict(&[&good, baseline, Path::new(EXPECTED)]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("  differing from the baseline, 216 cases"),
        "{out}"
    );
    assert_eq!(
        out.matches(" missing here; the baseline has ").count(),
        216,
        "{out}"
    );
    assert_eq!(
        out.lines().filter(|l| l.starts_with("    ")).count(),
        216,
        "{out}"
    );
    assert!(out.contains("    12.1.1    missing here"), "{out}");
}

#[test]
fn unusable_input_exits_2_with_one_line() {
    let dir = scratch("unusable");
    let not_json = dir.join("not.json");
    std::fs::write(&not_json, "{\"wsecho\": {\"1.1.1\": ").unwrap();
    let wrong = dir.join("wrong.json");
    std::fs::write(
        &wrong,
        "{\"wsecho\": {\"1.1.1\": {\"behavior\": \"PASS\"}}}",
    )
    .unwrap();
    let missing = dir.join("missing.json");
    let servers = servers();
    let cases: Vec<(Vec<&Path>, &str)> = vec![
        (vec![&missing], "missing.json: No such file"),
        (vec![&dir], "index.json: No such file"),
        (vec![&not_json], "not.json: not JSON: EOF while parsing"),
        (
            vec![&wrong],
            r#"wrong.json: at ."wsecho"."1.1.1".behavior: "PASS" is not a grade"#,
        ),
        (vec![Path::new(EXPECTED)], "give it as --baseline"),
        (
            vec![&servers, Path::new("--agent"), Path::new("nobody")],
            r#"no agent "nobody" (agents: "wsecho")"#,
        ),
        (
            vec![&servers, Path::new("--baseline"), &missing],
            "missing.json: No such file",
        ),
        (
            vec![&servers, Path::new("--baseline"), &not_json],
            "not.json: not JSON",
        ),
    ];
    for (args, message) in cases {
        let (code, out, err) = verdict(&args);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert_eq!(out, "", "{args:?}");
        assert!(err.starts_with("wsecho verdict: "), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
    // A missing argument is clap's usage error, also 2.
    let (code, _, err) = verdict(&[]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn the_server_options_and_the_subcommand_stay_apart() {
    let help = wsecho(&["--help"]);
    assert!(help.status.success());
    let help = String::from_utf8(help.stdout).unwrap();
    for needle in [
        "--port <PORT>",
        "--tls-cert <FILE>",
        "--trace",
        "verdict",
        "Gate on",
    ] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
    let sub = wsecho(&["verdict", "--help"]);
    assert!(sub.status.success());
    let sub = String::from_utf8(sub.stdout).unwrap();
    for needle in [
        "DIR_OR_INDEX_JSON",
        "--agent <AGENT>",
        "--baseline <FILE>",
        "--junit <FILE>",
    ] {
        assert!(
            sub.contains(needle),
            "verdict --help lacks {needle:?}:\n{sub}"
        );
    }
    // Server flags before the subcommand are refused, not silently dropped.
    let mixed = wsecho(&["--port", "0", "verdict", servers().to_str().unwrap()]);
    assert_eq!(mixed.status.code(), Some(2));
    // And an unknown word is still an error, not a server start.
    assert_eq!(wsecho(&["nonsense"]).status.code(), Some(2));
}

/// Python's own XML parser (xml.etree.ElementTree) reads the JUnit file; prints, as
/// JSON, what a CI system would take from it.
const READ_JUNIT: &str = r#"
import json, sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = []
for suite in root.iter("testsuite"):
    cases = []
    for case in suite.iter("testcase"):
        failure = case.find("failure")
        cases.append({
            "classname": case.get("classname"),
            "name": case.get("name"),
            "time": float(case.get("time")),
            "failure": None if failure is None else {
                "type": failure.get("type"),
                "message": failure.get("message"),
                "text": failure.text,
            },
        })
    suites.append({
        "name": suite.get("name"),
        "tests": int(suite.get("tests")),
        "failures": int(suite.get("failures")),
        "cases": cases,
    })
print(json.dumps({"root": root.tag, "suites": suites}))
"#;

fn read_junit(path: &Path) -> serde_json::Value {
    let output = Command::new("python3")
        .args(["-c", READ_JUNIT])
        .arg(path)
        .output()
        .expect("python3 (the JUnit XML is checked with its xml.etree)");
    assert!(
        output.status.success(),
        "Python could not read the JUnit XML: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the reader's JSON")
}

#[test]
fn junit_xml_reads_back_in_pythons_xml_parser() {
    let dir = scratch("junit");
    // An agent name with markup, quotes, a control character XML cannot carry and a tab.
    let report = dir.join("index.json");
    std::fs::write(
        &report,
        r#"{
   "evil <&\"'> \u0001\tname": {
      "2.1": {"behavior": "FAILED", "behaviorClose": "OK", "duration": 1500,
              "remoteCloseCode": 1002, "reportfile": "x_<&>.json"},
      "1.1.10": {"behavior": "OK", "behaviorClose": "OK", "duration": 3,
                 "remoteCloseCode": 1000, "reportfile": "x.json"},
      "1.1.2": {"behavior": "INFORMATIONAL", "behaviorClose": "WRONG CODE", "duration": 0,
                "remoteCloseCode": null, "reportfile": "x.json"}
   },
   "plain": {
      "9.1.1": {"behavior": "OK", "behaviorClose": "OK", "duration": 0,
                "remoteCloseCode": 1000, "reportfile": "y.json"}
   }
}"#,
    )
    .unwrap();
    let junit = dir.join("junit.xml");
    let (code, out, err) = verdict(&[&report, Path::new("--junit"), &junit]);
    assert_eq!(code, 1, "{out}{err}");
    let read = read_junit(&junit);
    assert_eq!(read["root"], "testsuites");
    let suites = read["suites"].as_array().unwrap();
    assert_eq!(suites.len(), 2);
    let evil = &suites[0];
    assert_eq!(evil["name"], "evil <&\"'> \u{fffd}\tname");
    assert_eq!(evil["tests"], 3);
    assert_eq!(evil["failures"], 2);
    let cases = evil["cases"].as_array().unwrap();
    let names: Vec<&str> = cases.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["1.1.2", "1.1.10", "2.1"]);
    assert_eq!(cases[0]["classname"], "1.1");
    assert_eq!(cases[0]["failure"]["type"], "WRONG CODE");
    assert_eq!(
        cases[0]["failure"]["message"],
        "behavior INFORMATIONAL, behaviorClose WRONG CODE"
    );
    assert_eq!(cases[1]["failure"], serde_json::Value::Null);
    assert_eq!(cases[1]["time"], 0.003);
    assert_eq!(cases[2]["classname"], "2");
    assert_eq!(cases[2]["time"], 1.5);
    assert_eq!(
        cases[2]["failure"]["text"],
        "behavior: FAILED\nbehaviorClose: OK\nremoteCloseCode: 1002\nduration: 1500 ms\n\
         reportfile: x_<&>.json"
    );
    assert_eq!(suites[1]["name"], "plain");
    assert_eq!(suites[1]["failures"], 0);

    // --agent: that agent alone, in the verdict and in the XML.
    let (code, out, _) = verdict(&[
        &report,
        Path::new("--agent"),
        Path::new("plain"),
        Path::new("--junit"),
        &junit,
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("evil"), "{out}");
    let read = read_junit(&junit);
    assert_eq!(read["suites"].as_array().unwrap().len(), 1);
    assert_eq!(read["suites"][0]["name"], "plain");

    // Autobahn's whole report of servers.
    let (code, out, _) = verdict(&[&servers(), Path::new("--junit"), &junit]);
    assert_eq!(code, 0, "{out}");
    let read = read_junit(&junit);
    assert_eq!(read["suites"][0]["tests"], 301);
    assert_eq!(read["suites"][0]["failures"], 0);
}
