//! Autobahn's test cases for WebSocket clients, served by wsecho: a drop-in for
//! `wstest -m fuzzingserver` on every wsecho, on the same port as the echo.
//!
//! A client's Autobahn driver connects to `/getCaseCount`, runs each case with
//! `/runCase?case=N&agent=A` (the case speaks first: it sends frames, valid or not, and
//! grades what comes back and how the connection ends), and asks for
//! `/updateReports?agent=A`. Every other path still echoes.
//!
//! Layout:
//! - [`catalog`]: the 517 cases' ids and texts (Autobahn's), and spec patterns;
//! - [`peer`]: the I/O-free endpoint that runs a case as Autobahn's does;
//! - [`case`]: what a case expects and how it is graded;
//! - `cases`: each case's script, one file per group;
//! - [`request`]: the driver protocol's paths and parameters;
//! - this module: the suite one server runs (its cases, its results).

pub(crate) mod case;
mod cases;
pub(crate) mod catalog;
mod catalog_data;
pub(crate) mod offer;
pub(crate) mod page;
pub(crate) mod peer;
pub(crate) mod reports;
pub(crate) mod request;
pub(crate) mod session;
pub(crate) mod traffic;
pub(crate) mod wirelog;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use case::{Grade, Obs};

/// The most agents whose results are kept; a new one past it evicts the one updated
/// longest ago, so that no client makes the server keep unbounded results.
const MAX_AGENTS: usize = 16;
/// The most observations of a run kept for its report.
const MAX_KEPT_OBS: usize = 32;

/// The cases one server serves and the results of their runs, shared by its loops.
#[derive(Debug)]
pub struct Suite {
    /// The selected cases, as indices into the catalog: case number N is `cases[N-1]`.
    cases: Vec<usize>,
    /// Agent pattern → case patterns not to run for it (Autobahn's
    /// `exclude-agent-cases`).
    exclude_agent: Vec<(String, Vec<String>)>,
    results: Mutex<Results>,
    /// Where `/updateReports` writes the reports (`--reports`).
    reports_dir: Option<PathBuf>,
}

impl Default for Suite {
    /// All 517 cases.
    fn default() -> Suite {
        Suite {
            cases: (0..catalog::CASES.len()).collect(),
            exclude_agent: Vec::new(),
            results: Mutex::default(),
            reports_dir: None,
        }
    }
}

impl Suite {
    /// The suite an Autobahn spec file chooses (`--suite-spec`): `cases` (patterns,
    /// default all), `exclude-cases`, `exclude-agent-cases` (agent pattern → case
    /// patterns); its other keys (`url`, `outdir`, `options`) are the fuzzing server's
    /// and do not apply. A pattern that matches no case is an error.
    pub fn from_spec(json: &[u8]) -> Result<Suite, String> {
        let spec: serde_json::Value =
            serde_json::from_slice(json).map_err(|e| format!("not JSON: {e}"))?;
        let strings = |key: &str| -> Result<Option<Vec<String>>, String> {
            match spec.get(key) {
                None => Ok(None),
                Some(serde_json::Value::Array(items)) => items
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| format!("{key}: {v} is not a string"))
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some),
                Some(other) => Err(format!("{key}: {other} is not a list of case patterns")),
            }
        };
        if !spec.is_object() {
            return Err("a spec is a JSON object".to_string());
        }
        let cases = strings("cases")?.unwrap_or_else(|| vec!["*".to_string()]);
        let exclude = strings("exclude-cases")?.unwrap_or_default();
        let cases = catalog::select(&cases, &exclude)?;
        let mut exclude_agent = Vec::new();
        match spec.get("exclude-agent-cases") {
            None => {}
            Some(serde_json::Value::Object(map)) => {
                for (agent, patterns) in map {
                    let patterns = patterns
                        .as_array()
                        .and_then(|ps| ps.iter().map(|p| p.as_str().map(str::to_string)).collect())
                        .ok_or_else(|| {
                            format!("exclude-agent-cases: {agent}: not a list of case patterns")
                        })?;
                    exclude_agent.push((agent.clone(), patterns));
                }
            }
            Some(other) => {
                return Err(format!("exclude-agent-cases: {other} is not an object"));
            }
        }
        Ok(Suite {
            cases,
            exclude_agent,
            ..Suite::default()
        })
    }

    /// Writes the reports to `dir` on each `/updateReports` (`--reports`).
    pub fn set_reports_dir(&mut self, dir: PathBuf) {
        self.reports_dir = Some(dir);
    }
}

/// One finished run of a case.
#[derive(Debug, Clone)]
pub(crate) struct CaseResult {
    pub(crate) id: &'static str,
    pub(crate) behavior: Grade,
    pub(crate) behavior_close: Grade,
    pub(crate) result: String,
    pub(crate) result_close: String,
    pub(crate) duration_ms: u64,
    pub(crate) remote_close_code: Option<u16>,
    pub(crate) received: Vec<Obs>,
    /// The wire log, in wsecho's trace format (bounded).
    pub(crate) wirelog: String,
    /// Whether the report shows the duration, and the compression ratios (Autobahn's
    /// `reportTime`, `reportCompressionRatio`).
    pub(crate) report_time: bool,
    pub(crate) report_compression_ratio: bool,
    /// What went each way, for the cases that report it (Autobahn's `trafficStats`).
    pub(crate) traffic: Option<traffic::Traffic>,
}

#[derive(Debug, Default)]
struct Results {
    /// Agent → case index → its last run; with the sequence number of its last update.
    agents: BTreeMap<String, (u64, BTreeMap<usize, CaseResult>)>,
    seq: u64,
}

impl Suite {
    /// The number of cases served (`/getCaseCount`).
    pub(crate) fn count(&self) -> usize {
        self.cases.len()
    }

    /// Case number `n` (from 1) as the catalog index, if there is one.
    pub(crate) fn case(&self, n: usize) -> Option<usize> {
        self.cases.get(n.checked_sub(1)?).copied()
    }

    /// Whether the spec excludes case `id` for `agent`.
    pub(crate) fn excluded(&self, agent: &str, id: &str) -> bool {
        self.exclude_agent.iter().any(|(a, cases)| {
            catalog::matches(a, agent) && cases.iter().any(|c| catalog::matches(c, id))
        })
    }

    /// Keeps `result` as `agent`'s latest run of the case at catalog index `case`.
    pub(crate) fn record(&self, agent: &str, case: usize, mut result: CaseResult) {
        result.received.truncate(MAX_KEPT_OBS);
        let Ok(mut r) = self.results.lock() else {
            return;
        };
        r.seq += 1;
        let seq = r.seq;
        if !r.agents.contains_key(agent) && r.agents.len() >= MAX_AGENTS {
            let oldest = r
                .agents
                .iter()
                .min_by_key(|(_, (seq, _))| *seq)
                .map(|(a, _)| a.clone());
            if let Some(oldest) = oldest {
                log::info!(
                    "suite: results of agent {} dropped (over {MAX_AGENTS} agents)",
                    crate::escape::Escaped(&oldest)
                );
                r.agents.remove(&oldest);
            }
        }
        let entry = r.agents.entry(agent.to_string()).or_default();
        entry.0 = seq;
        entry.1.insert(case, result);
    }

    /// `agent`'s latest run of the case at catalog index `case`.
    pub(crate) fn result(&self, agent: &str, case: usize) -> Option<CaseResult> {
        let r = self.results.lock().ok()?;
        r.agents.get(agent)?.1.get(&case).cloned()
    }

    /// Every agent's results, in case order.
    pub(crate) fn all_results(&self) -> Vec<(String, Vec<CaseResult>)> {
        let Ok(r) = self.results.lock() else {
            return Vec::new();
        };
        r.agents
            .iter()
            .map(|(a, (_, cases))| (a.clone(), cases.values().cloned().collect()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &'static str) -> CaseResult {
        CaseResult {
            id,
            behavior: Grade::Ok,
            behavior_close: Grade::Ok,
            result: String::new(),
            result_close: String::new(),
            duration_ms: 1,
            remote_close_code: Some(1000),
            received: vec![Obs::text(b"x"); 100],
            wirelog: String::new(),
            report_time: false,
            report_compression_ratio: false,
            traffic: None,
        }
    }

    #[test]
    fn results_are_bounded_in_agents_and_observations() {
        let s = Suite::default();
        for a in 0..MAX_AGENTS + 5 {
            s.record(&format!("agent{a}"), 0, result("1.1.1"));
        }
        let all = s.all_results();
        assert_eq!(all.len(), MAX_AGENTS);
        assert!(
            all.iter().all(|(a, _)| a != "agent0"),
            "the oldest agent goes"
        );
        assert_eq!(all[0].1[0].received.len(), MAX_KEPT_OBS);
        // A second run of a case replaces the first.
        s.record("agent9", 0, result("1.1.1"));
        assert_eq!(s.result("agent9", 0).map(|r| r.id), Some("1.1.1"));
        assert_eq!(
            s.all_results()
                .iter()
                .find(|(a, _)| a == "agent9")
                .unwrap()
                .1
                .len(),
            1
        );
    }

    #[test]
    fn case_numbers_start_at_one() {
        let s = Suite::default();
        assert_eq!(s.count(), 517);
        assert_eq!(s.case(1), Some(0));
        assert_eq!(s.case(0), None);
        assert_eq!(s.case(518), None);
    }
}
