//! Turns result lines from many runs into one markdown table: per workload and metric, each
//! server's median with its min–max, and its ratio to the baseline server (wsecho).

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::report::parse;

/// Which way is better, shown beside the metric's name.
#[derive(Debug, Clone, Copy)]
enum Better {
    Higher,
    Lower,
}

/// A table row's metric: a label, the result key it comes from, and a divisor for units.
struct Metric {
    label: &'static str,
    key: &'static str,
    scale: f64,
    better: Better,
}

const fn m(label: &'static str, key: &'static str, scale: f64, better: Better) -> Metric {
    Metric {
        label,
        key,
        scale,
        better,
    }
}

use Better::{Higher, Lower};
const PINGPONG: [Metric; 2] = [
    m("msgs/s", "msgs_per_s", 1.0, Higher),
    m("p99 µs", "p99_us", 1.0, Lower),
];
const BULK: [Metric; 2] = [
    m("MB/s", "mb_per_s", 1.0, Higher),
    m("server peak RSS MiB", "server_hwm_kb", 1024.0, Lower),
];
const RATE: [Metric; 2] = [
    m("server CPU s / 1M msgs", "server_cpu_s_per_M", 1.0, Lower),
    m("p99 µs", "p99_us", 1.0, Lower),
];
const CONNECT: [Metric; 2] = [
    m("server CPU µs / conn", "server_cpu_us_per_conn", 1.0, Lower),
    m("handshakes/s", "conns_per_s", 1.0, Higher),
];
const IDLE: [Metric; 1] = [m("server RSS B / conn", "rss_per_conn_b", 1.0, Lower)];

/// The rows each mode contributes.
fn metrics(mode: &str) -> &'static [Metric] {
    match mode {
        "pingpong" => &PINGPONG,
        "bulk" => &BULK,
        "rate" => &RATE,
        "connect" => &CONNECT,
        "idle" => &IDLE,
        _ => &[],
    }
}

/// Median loadgen CPU at or above which a throughput cell is marked as client-bound.
const CLIENT_BOUND_PCT: f64 = 90.0;

/// One run's result line, as pairs.
type Run = BTreeMap<String, String>;

/// Everything read, grouped: workload → server → runs, each kept in order of first appearance.
#[derive(Default)]
pub struct Results {
    workloads: Vec<String>,
    servers: Vec<String>,
    runs: BTreeMap<(String, String), Vec<Run>>,
}

impl Results {
    /// Reads result lines; each needs `workload=` and `server=`, and `error=` marks a failed run.
    pub fn parse(text: &str) -> Results {
        let mut r = Results::default();
        for line in text.lines() {
            let run: Run = parse(line)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let (Some(w), Some(s)) = (run.get("workload").cloned(), run.get("server").cloned())
            else {
                continue;
            };
            if !r.workloads.contains(&w) {
                r.workloads.push(w.clone());
            }
            if !r.servers.contains(&s) {
                r.servers.push(s.clone());
            }
            r.runs.entry((w, s)).or_default().push(run);
        }
        r
    }

    /// The markdown table; ratios are to `baseline` if it ran, else to the first server.
    pub fn markdown(&self, baseline: &str) -> String {
        let mut servers = self.servers.clone();
        if let Some(i) = servers.iter().position(|s| s == baseline) {
            let b = servers.remove(i);
            servers.insert(0, b);
        }
        let mut out = String::new();
        let _ = write!(out, "| workload | metric |");
        for s in &servers {
            let _ = write!(out, " {s} |");
        }
        let _ = write!(out, "\n|---|---|");
        for _ in &servers {
            out.push_str("---|");
        }
        out.push('\n');
        let (mut saturated, mut client_bound) = (false, false);
        for w in &self.workloads {
            let mode = self.mode_of(w);
            for metric in metrics(&mode) {
                let arrow = match metric.better {
                    Better::Higher => "↑",
                    Better::Lower => "↓",
                };
                let _ = write!(out, "| {w} | {} {arrow} |", metric.label);
                let base = self.values(w, &servers[0], metric.key, metric.scale);
                let base_median = median(&base);
                for s in &servers {
                    let runs = self
                        .runs
                        .get(&(w.clone(), s.clone()))
                        .map_or(&[][..], Vec::as_slice);
                    let vals = self.values(w, s, metric.key, metric.scale);
                    let failed = runs.iter().filter(|r| r.contains_key("error")).count();
                    let sat = runs
                        .iter()
                        .any(|r| r.get("saturated").is_some_and(|v| v == "1"));
                    saturated |= sat;
                    // A throughput the load generator could not push past says little about
                    // the server.
                    let bound = matches!(metric.better, Better::Higher)
                        && median(&self.values(w, s, "client_cpu_pct", 1.0))
                            .is_some_and(|c| c >= CLIENT_BOUND_PCT);
                    client_bound |= bound;
                    let mut text = cell(&vals, base_median.filter(|_| s != &servers[0]), failed);
                    if sat {
                        text.push('*');
                    }
                    if bound {
                        text.push('†');
                    }
                    let _ = write!(out, " {text} |");
                }
                out.push('\n');
            }
            if matches!(mode.as_str(), "pingpong" | "bulk" | "connect" | "rate") {
                let _ = write!(out, "| {w} | CPU % server / loadgen |");
                for s in &servers {
                    let srv = median(&self.values(w, s, "server_cpu_pct", 1.0));
                    let cli = median(&self.values(w, s, "client_cpu_pct", 1.0));
                    let _ = match (srv, cli) {
                        (Some(a), Some(b)) => write!(out, " {a:.0} / {b:.0} |"),
                        _ => write!(out, " — |"),
                    };
                }
                out.push('\n');
            }
        }
        let _ = write!(
            out,
            "\nCells: median (min–max) over runs, ×ratio to {}.",
            servers.first().map_or("", String::as_str)
        );
        if saturated {
            out.push_str(" * = fell short of the offered rate in some run (saturated).");
        }
        if client_bound {
            let _ = write!(
                out,
                " † = loadgen CPU ≥ {CLIENT_BOUND_PCT:.0} %: the load generator, not the server, set this pace."
            );
        }
        out.push('\n');
        out
    }

    fn mode_of(&self, workload: &str) -> String {
        self.runs
            .iter()
            .filter(|((w, _), _)| w == workload)
            .flat_map(|(_, runs)| runs.iter())
            .find_map(|r| r.get("mode").cloned())
            .unwrap_or_default()
    }

    fn values(&self, workload: &str, server: &str, key: &str, scale: f64) -> Vec<f64> {
        let Some(runs) = self.runs.get(&(workload.to_string(), server.to_string())) else {
            return Vec::new();
        };
        let mut v: Vec<f64> = runs
            .iter()
            .filter_map(|r| r.get(key)?.parse::<f64>().ok())
            .map(|x| x / scale)
            .collect();
        v.sort_by(f64::total_cmp);
        v
    }
}

/// Median of sorted values.
fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

fn cell(sorted: &[f64], base: Option<f64>, failed: usize) -> String {
    let Some(med) = median(sorted) else {
        return if failed > 0 {
            format!("failed ×{failed}")
        } else {
            "—".into()
        };
    };
    let mut s = human(med);
    if sorted.len() > 1 {
        let _ = write!(
            s,
            " ({}–{})",
            human(sorted[0]),
            human(sorted[sorted.len() - 1])
        );
    }
    if let Some(b) = base.filter(|b| *b != 0.0) {
        let _ = write!(s, " ×{:.2}", med / b);
    }
    if failed > 0 {
        let _ = write!(s, " ({failed} failed)");
    }
    s
}

/// Three significant digits with a k/M suffix: enough to compare, short enough to scan.
fn human(v: f64) -> String {
    let (x, suffix) = match v.abs() {
        a if a >= 1e6 => (v / 1e6, "M"),
        a if a >= 1e4 => (v / 1e3, "k"),
        _ => (v, ""),
    };
    let digits = match x.abs() {
        a if a >= 100.0 => 0,
        a if a >= 10.0 => 1,
        _ => 2,
    };
    format!("{x:.digits$}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_medians_ranges_and_ratios() {
        let text = "\
workload=pp server=peer-raw run=1 mode=pingpong msgs_per_s=200000 p99_us=10 server_cpu_pct=90 client_cpu_pct=95
workload=pp server=wsecho run=1 mode=pingpong msgs_per_s=100000 p99_us=20 server_cpu_pct=99 client_cpu_pct=70
workload=pp server=wsecho run=2 mode=pingpong msgs_per_s=120000 p99_us=30 server_cpu_pct=99 client_cpu_pct=70
workload=pp server=wsecho run=3 mode=pingpong msgs_per_s=110000 p99_us=25 server_cpu_pct=99 client_cpu_pct=70
workload=pp server=peer-raw run=2 error=1
";
        let t = Results::parse(text).markdown("wsecho");
        assert!(
            t.starts_with("| workload | metric | wsecho | peer-raw |"),
            "{t}"
        );
        assert!(
            t.contains("| pp | msgs/s ↑ | 110k (100k–120k) | 200k ×1.82 (1 failed)† |"),
            "{t}"
        );
        assert!(
            t.contains("| pp | CPU % server / loadgen | 99 / 70 | 90 / 95 |"),
            "{t}"
        );
    }

    #[test]
    fn human_numbers() {
        assert_eq!(human(1234567.0), "1.23M");
        assert_eq!(human(54321.0), "54.3k");
        assert_eq!(human(9.876), "9.88");
        assert_eq!(human(123.4), "123");
    }
}
