//! `deflate-limit`: the codec work of a permessage-deflate echo alone, in a loop: inflate
//! each client message and compress its echo with zlib-rs (through flate2) as wsecho
//! configures it (see `wsecho_bench::deflate`). The limit `scripts/bench.sh
//! --deflate-cost` compares wsecho with. Prints one `key=value` line.

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use wsecho_bench::deflate::{EchoChecker, Limit, Messages, distinct_messages};

#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Inflated message size in bytes.
    #[arg(long, short, default_value_t = 1024)]
    size: usize,
    /// Context takeover both ways (`on`), or no_context_takeover both ways (`off`).
    #[arg(long, value_parser = ["on", "off"], default_value = "on")]
    takeover: String,
    /// Messages in the measured loop (after one verified round of every distinct message).
    #[arg(long, short, default_value_t = 10_000)]
    messages: u64,
    /// Validate each inflated message as UTF-8 too, as RFC 6455 §8.1 makes a server do.
    #[arg(long)]
    utf8: bool,
    /// Text printed at the start of the result line.
    #[arg(long, default_value = "")]
    tag: String,
}

fn cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime fills the struct we own.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn run(args: &Args) -> Result<String, String> {
    let takeover = args.takeover == "on";
    let m = Messages::new(args.size, distinct_messages(args.size), takeover);
    let mut limit = Limit::new(args.size, takeover, args.utf8);
    // One verified round: the limit does the whole work, and correctly.
    let mut checker = EchoChecker::new(args.size, takeover);
    let n = m.payloads.len();
    let mut echo_bytes = 0;
    for (payload, text) in m.payloads.iter().zip(&m.texts) {
        let echo = limit.echo(payload)?.to_vec();
        echo_bytes += echo.len();
        if limit.inflated() != text.as_bytes() {
            return Err("inflated message differs from the text compressed".into());
        }
        checker.check(&echo, text.as_bytes())?;
    }
    let (cpu0, wall0) = (cpu_ns(), Instant::now());
    for i in 0..args.messages {
        // The cycle continues where the verified round left off (message 0 again).
        let echo = limit.echo(&m.payloads[i as usize % n])?;
        std::hint::black_box(echo);
    }
    let (cpu, wall) = (cpu_ns() - cpu0, wall0.elapsed());
    let per = |x: f64| x / args.messages.max(1) as f64;
    Ok(format!(
        "{}{}program=limit size={} takeover={} utf8={} messages={} distinct={} \
         payload_bytes={} echo_bytes={} cpu_ns_per_msg={:.0} wall_ns_per_msg={:.0}",
        args.tag,
        if args.tag.is_empty() { "" } else { " " },
        args.size,
        args.takeover,
        args.utf8,
        args.messages,
        n,
        m.mean_payload(),
        echo_bytes / n,
        per(cpu as f64),
        per(wall.as_nanos() as f64),
    ))
}

fn main() -> ExitCode {
    let args = Args::parse();
    wsecho_bench::report::finish("deflate-limit", run(&args))
}
