//! The suite's reports, in Autobahn's formats: `index.json` (agent → case → grades),
//! one JSON per case run, a page of agents × cases coloured by grade, and JUnit XML per
//! agent. Served under `/reports/`, and written to `--reports DIR` when a driver asks
//! for `/updateReports`.

use std::fmt::Write as _;
use std::path::Path;

use super::case::Obs;
use super::{CaseResult, Suite, catalog};
use crate::http::{HttpReply, HttpStatus};
use crate::json;
use crate::report::index::{file_agent, report_file};
use crate::report::{self, CaseId, Index};

/// Where the reports are served.
pub(crate) const PREFIX: &str = "/reports/";

impl Suite {
    /// The results as Autobahn's `index.json` model.
    pub(crate) fn index(&self) -> Index {
        let mut index = Index::default();
        for (agent, results) in self.all_results() {
            let cases = index.agents.entry(agent.clone()).or_default();
            for r in results {
                let Ok(id) = CaseId::parse(r.id) else {
                    continue;
                };
                let reportfile = report_file(&agent, &id, "json");
                cases.insert(
                    id,
                    report::CaseResult {
                        behavior: r.behavior,
                        behavior_close: r.behavior_close,
                        duration_ms: r.duration_ms,
                        remote_close_code: r.remote_close_code,
                        reportfile,
                    },
                );
            }
        }
        index
    }
}

/// What a run received, as Autobahn's reports show it: `["message", text, binary]`,
/// `["pong", text]`, `["timeout", tag]`, the payload's start as text where it is UTF-8,
/// else as `0x` and hex.
fn shown(o: &Obs) -> String {
    let text = |p: &super::case::Payload| {
        let mut s = match std::str::from_utf8(&p.head) {
            Ok(t) => t.to_string(),
            Err(_) => format!(
                "0x{}",
                p.head
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            ),
        };
        if p.len > p.head.len() as u64 {
            s.push_str(" ...");
        }
        let mut out = String::new();
        json::string(&mut out, &s);
        out
    };
    match o {
        Obs::Message { payload, binary } => {
            format!("[\"message\",{},{}]", text(payload), binary)
        }
        Obs::Pong(p) => format!("[\"pong\",{}]", text(p)),
        Obs::Timeout(tag) => format!("[\"timeout\",\"{tag}\"]"),
    }
}

/// One case run's JSON report.
fn case_json(agent: &str, r: &CaseResult) -> String {
    let info = catalog::by_id(r.id);
    let mut out = String::from("{\"agent\":");
    json::string(&mut out, agent);
    out.push_str(",\"id\":");
    json::string(&mut out, r.id);
    out.push_str(",\"description\":");
    json::string(&mut out, info.map_or("", |i| i.description));
    out.push_str(",\"expectation\":");
    json::string(&mut out, info.map_or("", |i| i.expectation));
    let _ = write!(
        out,
        ",\"behavior\":\"{}\",\"behaviorClose\":\"{}\",\"duration\":{},\"remoteCloseCode\":{}",
        r.behavior.as_str(),
        r.behavior_close.as_str(),
        r.duration_ms,
        r.remote_close_code
            .map_or("null".to_string(), |c| c.to_string())
    );
    out.push_str(",\"result\":");
    json::string(&mut out, &r.result);
    out.push_str(",\"resultClose\":");
    json::string(&mut out, &r.result_close);
    out.push_str(",\"received\":[");
    for (i, o) in r.received.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&shown(o));
    }
    out.push(']');
    let _ = write!(
        out,
        ",\"reportTime\":{},\"reportCompressionRatio\":{},\"trafficStats\":",
        r.report_time, r.report_compression_ratio
    );
    match &r.traffic {
        Some(t) => t.write_json(&mut out),
        None => out.push_str("null"),
    }
    out.push_str(",\"wirelog\":");
    json::string(&mut out, &r.wirelog);
    out.push_str("}\n");
    out
}

/// Text for HTML: `<`, `>`, `&` and quotes escaped.
fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// The page: one row per case run by anyone, one column per agent.
fn page(suite: &Suite) -> String {
    let all = suite.all_results();
    let mut ids: Vec<&'static str> = all
        .iter()
        .flat_map(|(_, rs)| rs.iter().map(|r| r.id))
        .collect();
    ids.sort_by_key(|id| {
        id.split('.')
            .map(|p| p.parse::<u32>().unwrap_or(0))
            .collect::<Vec<_>>()
    });
    ids.dedup();
    let mut out = String::from(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>wsecho: client suite \
         reports</title>\n<style>body{font-family:sans-serif}td,th{padding:2px 8px;\
         border:1px solid #ccc}.pass{background:#9f9}.info{background:#ccf}\
         .fail{background:#f99}</style></head><body>\n<h1>Client suite reports</h1>\n\
         <p>Autobahn's cases as wsecho ran them; each grade links to the case's report. \
         <a href=\"index.json\">index.json</a></p>\n<table><tr><th>case</th>",
    );
    for (agent, _) in &all {
        let _ = write!(out, "<th>{}</th>", html(agent));
    }
    out.push_str("</tr>\n");
    for id in ids {
        let desc = catalog::by_id(id)
            .map(|i| i.pretty_description())
            .unwrap_or_default();
        let _ = write!(out, "<tr><td title=\"{}\">{id}</td>", html(&desc));
        for (agent, results) in &all {
            match results.iter().find(|r| r.id == id) {
                Some(r) => {
                    let class = match (r.behavior.is_passing(), r.behavior_close.is_passing()) {
                        (true, true) if r.behavior == crate::report::Grade::Ok => "pass",
                        (true, true) => "info",
                        _ => "fail",
                    };
                    let file = CaseId::parse(id).map(|c| report_file(agent, &c, "json"));
                    // Autobahn's page shows the compression cases' ratios, incoming and
                    // outgoing, beside the time.
                    let ratios = match &r.traffic {
                        Some(t) if r.report_compression_ratio => format!(" {}", t.ratios()),
                        _ => String::new(),
                    };
                    let _ = write!(
                        out,
                        "<td class=\"{class}\"><a href=\"{}\">{} / {}</a> {} ms{ratios}</td>",
                        html(&file.unwrap_or_default()),
                        r.behavior.as_str(),
                        r.behavior_close.as_str(),
                        r.duration_ms
                    );
                }
                None => out.push_str("<td></td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table></body></html>\n");
    out
}

/// The answer to a plain GET of `path` under [`PREFIX`] (or `/reports`), if it is one.
pub(crate) fn serve(path: &str, suite: &Suite) -> Option<HttpReply> {
    let rest = match path {
        "/reports" => "",
        p => p.strip_prefix(PREFIX)?,
    };
    let (content_type, body) = match rest {
        "" | "index.html" => ("text/html; charset=utf-8", page(suite)),
        "index.json" => ("application/json", suite.index().to_json()),
        file => {
            let found = suite
                .all_results()
                .into_iter()
                .find_map(|(agent, results)| {
                    results.into_iter().find_map(|r| {
                        let id = CaseId::parse(r.id).ok()?;
                        (report_file(&agent, &id, "json") == file).then(|| case_json(&agent, &r))
                    })
                });
            match found {
                Some(json) => ("application/json", json),
                None => {
                    return Some(HttpReply::error(
                        HttpStatus::NotFound,
                        format!("no report {file} (the list is at {PREFIX})\n"),
                    ));
                }
            }
        }
    };
    Some(HttpReply {
        content_type,
        ..HttpReply::error(HttpStatus::Ok, body)
    })
}

/// Writes every report to `dir`: `index.json`, one JSON per case run, one JUnit XML per
/// agent (`<agent>_junit.xml`, the agent's name cleaned as in report files).
pub(crate) fn write_all(suite: &Suite, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let index = suite.index();
    std::fs::write(dir.join("index.json"), index.to_json())?;
    for (agent, results) in suite.all_results() {
        for r in &results {
            let Ok(id) = CaseId::parse(r.id) else {
                continue;
            };
            std::fs::write(
                dir.join(report_file(&agent, &id, "json")),
                case_json(&agent, r),
            )?;
        }
        if let Some(cases) = index.agents.get(&agent) {
            let name = format!("{}_junit.xml", file_agent(&agent));
            std::fs::write(dir.join(name), report::junit::agent_xml(&agent, cases))?;
        }
    }
    Ok(())
}
