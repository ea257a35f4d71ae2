//! `loadgen`: drives one workload against one server and prints its result line.

use std::process::ExitCode;

use clap::Parser;
use wsecho_bench::cli::Args;

fn main() -> ExitCode {
    let args = Args::parse();
    match wsecho_bench::modes::run(&args) {
        Ok(line) => {
            println!("{}", line.as_str());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}
