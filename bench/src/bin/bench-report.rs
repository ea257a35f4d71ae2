//! `bench-report FILE [BASELINE]`: prints the markdown table for a file of result lines.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: bench-report RESULTS_FILE [BASELINE_SERVER]");
        return ExitCode::from(2);
    };
    let baseline = args.next().unwrap_or_else(|| "wsecho".into());
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            print!(
                "{}",
                wsecho_bench::table::Results::parse(&text).markdown(&baseline)
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench-report: {path}: {e}");
            ExitCode::FAILURE
        }
    }
}
