//! The one machine-readable line a run prints: space-separated `key=value` pairs.

use std::fmt::{Display, Write};

#[derive(Debug, Default)]
pub struct Line(String);

impl Line {
    pub fn new(tag: &str) -> Line {
        Line(tag.trim().to_string())
    }

    pub fn put(&mut self, key: &str, value: impl Display) -> &mut Line {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        write!(self.0, "{key}={value}").expect("writing to a String");
        self
    }

    /// A float rounded for humans but still parseable.
    pub fn num(&mut self, key: &str, value: f64) -> &mut Line {
        let digits = if value.abs() >= 100.0 { 1 } else { 3 };
        self.put(key, format!("{value:.digits$}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Parses a result line back into pairs (the report tool's side).
pub fn parse(line: &str) -> Vec<(&str, &str)> {
    line.split_ascii_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .collect()
}

impl AsRef<str> for Line {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// How a benchmark binary ends: its result line on stdout and success, or `NAME: error`
/// on stderr and failure.
pub fn finish(name: &str, result: Result<impl AsRef<str>, impl Display>) -> std::process::ExitCode {
    match result {
        Ok(line) => {
            println!("{}", line.as_ref());
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{name}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut l = Line::new("workload=a");
        l.put("mode", "pingpong")
            .num("msgs_per_s", 12345.678)
            .num("p50_us", 1.23456);
        assert_eq!(
            l.as_str(),
            "workload=a mode=pingpong msgs_per_s=12345.7 p50_us=1.235"
        );
        assert_eq!(parse(l.as_str())[1], ("mode", "pingpong"));
    }
}
