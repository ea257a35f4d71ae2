//! The driver protocol: the paths a client's Autobahn driver connects to, with their
//! parameters, as Autobahn's fuzzing server reads them. Each is a WebSocket upgrade.

use super::{Suite, catalog};
use crate::http::query::decode;

/// The longest agent name taken (it names files in the reports).
const MAX_AGENT: usize = 128;

/// What a driver asks for. `case` is an index into the catalog (not the case number
/// the driver gave, which counts in the server's selection of cases).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/getCaseCount`: the number of cases, as a text message.
    CaseCount,
    /// `/getCaseInfo?case=N`: the case's id and description, as JSON.
    CaseInfo {
        /// The case.
        case: usize,
    },
    /// `/getCaseStatus?case=N&agent=A`: the agent's grade for the case, as JSON (once
    /// the case has run).
    CaseStatus {
        /// The case.
        case: usize,
        /// The client under test, as its driver names it.
        agent: String,
    },
    /// `/runCase?case=N&agent=A`: run the case.
    RunCase {
        /// The case.
        case: usize,
        /// The client under test.
        agent: String,
    },
    /// `/updateReports?agent=A`: the reports are brought up to date.
    UpdateReports {
        /// The client under test.
        agent: String,
    },
}

/// The paths the suite takes; every other path echoes.
const PATHS: [&str; 5] = [
    "/getCaseCount",
    "/getCaseInfo",
    "/getCaseStatus",
    "/runCase",
    "/updateReports",
];

/// Whether `target` is one of the suite's paths (whatever its query).
pub fn is_suite_path(target: &str) -> bool {
    let path = target.split_once('?').map_or(target, |(p, _)| p);
    PATHS.contains(&path)
}

/// Reads the request target of a suite path: the command, or why it is refused. Case
/// numbers count from 1 in the suite's selection (`casetuple=1.2.3` names a case by id
/// instead, as Autobahn allows).
pub(crate) fn parse(target: &str, suite: &Suite) -> Result<Command, String> {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut case_n: Option<String> = None;
    let mut case_id: Option<String> = None;
    let mut agent: Option<String> = None;
    for param in query.split('&').filter(|p| !p.is_empty()) {
        let (name, raw) = param.split_once('=').unwrap_or((param, ""));
        let value = decode(raw).map_err(|e| format!("{path}: {name}: {e}"))?;
        let slot = match name {
            "case" => &mut case_n,
            "casetuple" => &mut case_id,
            "agent" => &mut agent,
            // Autobahn's own: the server stops once the reports are written. A server
            // shared by many clients does not stop for one.
            "shutdownOnComplete" => continue,
            _ => continue,
        };
        if slot.is_some() {
            return Err(format!("{path}: {name} given twice"));
        }
        *slot = Some(value);
    }
    let case = match (case_n, case_id) {
        (Some(_), Some(_)) => return Err(format!("{path}: give case or casetuple, not both")),
        (Some(n), None) => {
            let count = suite.count();
            let index = n
                .trim()
                .parse::<usize>()
                .ok()
                .and_then(|n| suite.case(n))
                .ok_or_else(|| format!("{path}: case {n:?} not found (cases are 1 to {count})"))?;
            Some(index)
        }
        (None, Some(id)) => {
            let id = id.trim();
            let index = catalog::CASES
                .iter()
                .position(|c| c.id == id)
                .filter(|i| suite.cases.contains(i))
                .ok_or_else(|| format!("{path}: case id {id:?} not found"))?;
            Some(index)
        }
        (None, None) => None,
    };
    if let Some(a) = &agent {
        if a.is_empty() {
            return Err(format!("{path}: agent is empty"));
        }
        if a.len() > MAX_AGENT {
            return Err(format!("{path}: agent is longer than {MAX_AGENT} bytes"));
        }
    }
    let need_case = || case.ok_or_else(|| format!("{path}: needs case=N"));
    let need_agent = || {
        agent
            .clone()
            .ok_or_else(|| format!("{path}: needs agent=NAME"))
    };
    Ok(match path {
        "/getCaseCount" => Command::CaseCount,
        "/getCaseInfo" => Command::CaseInfo { case: need_case()? },
        "/getCaseStatus" => Command::CaseStatus {
            case: need_case()?,
            agent: need_agent()?,
        },
        "/runCase" => Command::RunCase {
            case: need_case()?,
            agent: need_agent()?,
        },
        "/updateReports" => Command::UpdateReports {
            agent: need_agent()?,
        },
        _ => return Err(format!("{path}: not a suite path")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_driver_paths_parse_as_autobahns_do() {
        let s = Suite::default();
        assert_eq!(parse("/getCaseCount", &s), Ok(Command::CaseCount));
        assert_eq!(
            parse("/getCaseInfo?case=1", &s),
            Ok(Command::CaseInfo { case: 0 })
        );
        assert_eq!(
            parse("/runCase?case=517&agent=my%20client%2F1.0", &s),
            Ok(Command::RunCase {
                case: 516,
                agent: "my client/1.0".to_string()
            })
        );
        assert_eq!(
            parse("/runCase?casetuple=2.1&agent=a", &s),
            Ok(Command::RunCase {
                case: 16,
                agent: "a".to_string()
            })
        );
        assert_eq!(
            parse("/updateReports?agent=a&shutdownOnComplete=true", &s),
            Ok(Command::UpdateReports {
                agent: "a".to_string()
            })
        );
    }

    #[test]
    fn bad_requests_are_told_what_is_wrong() {
        let s = Suite::default();
        let err = |t| parse(t, &s).unwrap_err();
        assert!(err("/runCase?case=0&agent=a").contains("not found (cases are 1 to 517)"));
        assert!(err("/runCase?case=x&agent=a").contains("not found"));
        assert!(err("/runCase?case=1").contains("needs agent"));
        assert!(err("/getCaseInfo").contains("needs case"));
        assert!(err("/runCase?case=1&case=2&agent=a").contains("twice"));
        assert!(err("/updateReports?agent=").contains("empty"));
        let long = format!("/updateReports?agent={}", "a".repeat(129));
        assert!(err(&long).contains("longer"));
        assert!(err("/runCase?case=1&agent=%ZZ").contains("hex"));
    }

    #[test]
    fn only_the_five_paths_are_the_suites() {
        assert!(is_suite_path("/runCase?case=1&agent=a"));
        assert!(is_suite_path("/getCaseCount"));
        assert!(!is_suite_path("/"));
        assert!(!is_suite_path("/runCase/x"));
        assert!(!is_suite_path("/chat?runCase"));
    }
}
