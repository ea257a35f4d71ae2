//! `loadgen`: drives one workload against one server and prints its result line.

use std::process::ExitCode;

use clap::Parser;
use wsecho_bench::cli::Args;

fn main() -> ExitCode {
    let args = Args::parse();
    wsecho_bench::report::finish("loadgen", wsecho_bench::modes::run(&args))
}
