//! A soak of hostile clients beside honest ones: for the given minutes, attackers that
//! each aim at the loop's time or the server's memory run in loops against one wsecho,
//! while an echo prober measures the round trip of a 20-byte message every few
//! milliseconds on a connection of its own (to the kernel's stamp of the echo's arrival,
//! and to the prober's read of it). The server's resident memory is sampled
//! from /proc. The run fails (exit 1) when a round trip passes `--max-rtt-ms` by more
//! than the hypervisor stole of the two CPUs around it (`steal` in /proc/stat: the host
//! took the vCPU away, which no server can help), or the resident memory grows past
//! `--max-rss-growth-mib` over its value before the attacks.
//!
//! The attackers (issue 25's): an h2c client sending HEAD requests as fast as it can,
//! one that reads every answer and one that reads none; the same over TLS (ALPN h2); an
//! h2c client with SETTINGS_INITIAL_WINDOW_SIZE 0 opening 100 extended CONNECTs asking
//! `?send=16777216`; 20 HTTP/1.1 clients asking `?send=16777216` that never read; and
//! PING, SETTINGS and rapid-reset floods. Each reconnects when the server ends it.
//!
//! Loopback only; every loop stops at the deadline. `scripts/soak-hostile.sh` builds
//! and starts the server and runs this.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use clap::Parser;
use rustls::pki_types::ServerName;
use wsecho_bench::tls::{ALPN_H2, client_config};
use wsecho_bench::{procfs, stamp};
use wsecho_test_support::frames::{OP_TEXT, client_frame, server_frame};
use wsecho_test_support::h2_frames::*;

#[derive(Parser)]
#[command(about = "Hostile clients beside an echo prober against one wsecho")]
struct Args {
    /// The server's address (cleartext, and TLS on the same port).
    #[arg(long, default_value = "127.0.0.1:9001")]
    addr: SocketAddr,
    /// The server's process id, for its resident memory.
    #[arg(long)]
    pid: u32,
    /// Minutes of attack.
    #[arg(long, default_value_t = 10.0)]
    minutes: f64,
    /// Also attack over TLS (the server serves wss:// on the same port).
    #[arg(long)]
    tls: bool,
    /// The worst echo round trip allowed, in milliseconds, timed from the prober's send
    /// to the kernel's stamp of the echo's arrival (see `stamp`).
    #[arg(long, default_value_t = 50)]
    max_rtt_ms: u64,
    /// The resident memory growth allowed over the value before the attacks, in MiB.
    /// The default is for all nine attackers at once; issue 25's bound of 32 MiB is per
    /// flooding client (pass it with --only).
    #[arg(long, default_value_t = 64)]
    max_rss_growth_mib: u64,
    /// The growth allowed in the second half of the run over the peak of the first, in
    /// MiB: memory that is bounded levels off, memory that leaks keeps climbing.
    #[arg(long, default_value_t = 8)]
    max_late_growth_mib: u64,
    /// Seconds between progress lines.
    #[arg(long, default_value_t = 30)]
    sample: u64,
    /// Run only the attackers whose name contains one of these words (comma-separated),
    /// to find which one a bad figure comes from.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

/// What every attacker and the prober share.
struct Shared {
    addr: SocketAddr,
    stop: AtomicBool,
}

/// One attacker's tally.
#[derive(Default)]
struct Tally {
    connections: AtomicU64,
    bytes_sent: AtomicU64,
    errors: AtomicU64,
}

/// How long an attacker keeps one connection before it starts a new one.
const HOLD: Duration = Duration::from_secs(10);
/// Requests written at a time by a HEAD flooder.
const FLOOD_BATCH: u32 = 512;

fn main() {
    let args = Args::parse();
    procfs::raise_nofile_limit();
    let shared = Arc::new(Shared {
        addr: args.addr,
        stop: AtomicBool::new(false),
    });
    let before = rss_kib(args.pid);
    println!(
        "hostile-soak: server RSS before the attacks: {} KiB",
        before
    );

    type Attack = fn(&Shared, &Tally) -> io::Result<()>;
    let mut attacks: Vec<(&str, Attack)> = vec![
        ("h2c HEAD flood, reading", |s, t| {
            head_flood(s, t, true, false)
        }),
        ("h2c HEAD flood, not reading", |s, t| {
            head_flood(s, t, false, false)
        }),
        ("h2c 100 x ?send=16MiB at window 0", send_window_zero),
        ("HTTP/1.1 20 x ?send=16MiB, not reading", send_not_reading),
        ("h2c PING flood", ping_flood),
        ("h2c SETTINGS flood", settings_flood),
        ("h2c rapid reset", rapid_reset),
    ];
    if args.tls {
        attacks.push(("h2 (TLS) HEAD flood, reading", |s, t| {
            head_flood(s, t, true, true)
        }));
        attacks.push(("h2 (TLS) HEAD flood, not reading", |s, t| {
            head_flood(s, t, false, true)
        }));
    }
    if !args.only.is_empty() {
        attacks.retain(|(name, _)| args.only.iter().any(|w| name.contains(w.as_str())));
    }
    let tallies: Vec<Arc<Tally>> = attacks.iter().map(|_| Arc::default()).collect();
    let mut threads = Vec::new();
    for ((name, attack), tally) in attacks.iter().zip(&tallies) {
        let (shared, tally, attack, name) =
            (Arc::clone(&shared), Arc::clone(tally), *attack, *name);
        threads.push(thread::spawn(move || {
            while !shared.stop.load(Ordering::Relaxed) {
                tally.connections.fetch_add(1, Ordering::Relaxed);
                if let Err(e) = attack(&shared, &tally) {
                    if tally.errors.fetch_add(1, Ordering::Relaxed) == 0 {
                        eprintln!("hostile-soak: {name}: first error: {e}");
                    }
                    if e.kind() == io::ErrorKind::ConnectionRefused {
                        eprintln!("hostile-soak: {name}: {e}");
                        thread::sleep(Duration::from_millis(100));
                    }
                }
            }
        }));
    }

    let start = Instant::now();
    let rtts = Arc::new(Mutex::new(Rtts {
        start: Some(start),
        ..Rtts::default()
    }));
    let prober = {
        let (shared, rtts) = (Arc::clone(&shared), Arc::clone(&rtts));
        thread::spawn(move || {
            realtime_priority();
            probe(&shared, &rtts)
        })
    };

    let end = start + Duration::from_secs_f64(args.minutes * 60.0);
    let mut peak = before;
    // The hypervisor's steal of each CPU, per sample: (time, ms stolen in it).
    let stolen_before = CPUS.map(|cpu| procfs::steal_ms(cpu).unwrap_or(0));
    let mut stolen_last = stolen_before;
    let mut steal: Vec<(Duration, [u64; 2])> = Vec::new();
    let half = start + (end - start) / 2;
    let mut peak_first_half = before;
    let mut next_line = start + Duration::from_secs(args.sample);
    while Instant::now() < end {
        thread::sleep(Duration::from_millis(SAMPLE_MS));
        let rss = rss_kib(args.pid);
        peak = peak.max(rss);
        let stolen_now = CPUS.map(|cpu| procfs::steal_ms(cpu).unwrap_or(stolen_before[cpu]));
        steal.push((
            start.elapsed(),
            CPUS.map(|cpu| stolen_now[cpu].saturating_sub(stolen_last[cpu])),
        ));
        stolen_last = stolen_now;
        if Instant::now() < half {
            peak_first_half = peak;
        }
        if Instant::now() >= next_line {
            next_line += Duration::from_secs(args.sample);
            let r = rtts.lock().map(|r| r.clone()).unwrap_or_default();
            println!(
                "hostile-soak: {:>5.0} s  RSS {} KiB (peak {})  round trips {}  worst RTT {:.1} ms \
                 (as the prober read it {:.1} ms)",
                start.elapsed().as_secs_f64(),
                rss,
                peak,
                r.count,
                r.worst.as_secs_f64() * 1e3,
                r.worst_seen.as_secs_f64() * 1e3
            );
        }
    }
    shared.stop.store(true, Ordering::Relaxed);
    let probe_result = prober.join();
    for t in threads {
        let _ = t.join();
    }
    let r = rtts.lock().map(|r| r.clone()).unwrap_or_default();

    println!();
    println!("| attacker | connections | bytes sent | ended with an error |");
    println!("|---|---:|---:|---:|");
    for ((name, _), tally) in attacks.iter().zip(&tallies) {
        println!(
            "| {name} | {} | {} | {} |",
            tally.connections.load(Ordering::Relaxed),
            tally.bytes_sent.load(Ordering::Relaxed),
            tally.errors.load(Ordering::Relaxed)
        );
    }
    let mut sorted = r.all.clone();
    sorted.sort();
    let pct = |p: f64| {
        sorted
            .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    println!();
    println!(
        "echo prober: {} round trips to the echo's arrival: median {:.2} ms, p99 {:.2} ms, \
         p99.9 {:.2} ms, worst {:.2} ms; worst as the prober read it {:.2} ms",
        r.count,
        pct(0.5),
        pct(0.99),
        pct(0.999),
        r.worst.as_secs_f64() * 1e3,
        r.worst_seen.as_secs_f64() * 1e3
    );
    // Each round trip the prober saw take over the bound, both ways timed, with what the
    // hypervisor stole of each CPU in the samples it spans: a server stall shows in the
    // arrival time; a prober that was not run shows only in the read time. A round trip
    // over the bound by no more than the steal around it is the host's doing (it took
    // the vCPU away: on this shared machine, for a scheduling period of 100 ms at a
    // time), and is listed but not held against the server.
    let bound = Duration::from_millis(args.max_rtt_ms);
    let mut unexplained = Vec::new();
    let slow: Vec<_> = r
        .timeline
        .iter()
        .filter(|(_, _, seen)| *seen > bound)
        .collect();
    for (i, (at, rtt, seen)) in slow.iter().enumerate() {
        let from = at.saturating_sub(*seen + Duration::from_millis(SAMPLE_MS));
        let stolen = steal
            .iter()
            .filter(|(t, _)| *t >= from && *t <= *at + Duration::from_millis(SAMPLE_MS))
            .fold([0, 0], |sum, (_, ms)| [sum[0] + ms[0], sum[1] + ms[1]]);
        let explained = rtt.saturating_sub(Duration::from_millis(stolen[0] + stolen[1])) <= bound;
        if !explained {
            unexplained.push(*rtt);
        }
        if i < 20 || !explained {
            println!(
                "slow round trip ending at {:.1} s: {:.1} ms to the echo's arrival, {:.1} ms to \
                 its read; stolen by the hypervisor around it: CPU 0 (server) {} ms, CPU 1 \
                 (prober) {} ms{}",
                at.as_secs_f64(),
                rtt.as_secs_f64() * 1e3,
                seen.as_secs_f64() * 1e3,
                stolen[0],
                stolen[1],
                if rtt <= &bound {
                    ": the server's part is within the bound"
                } else if explained {
                    ": over the bound by less than the steal"
                } else {
                    ": NOT explained by steal"
                }
            );
        }
    }
    for cpu in CPUS {
        println!(
            "CPU {cpu} stolen by the hypervisor during the run: {} ms in all, at most {} ms in \
             one {} ms sample",
            steal.iter().map(|(_, ms)| ms[cpu]).sum::<u64>(),
            steal.iter().map(|(_, ms)| ms[cpu]).max().unwrap_or(0),
            SAMPLE_MS
        );
    }
    let late = peak.saturating_sub(peak_first_half);
    println!(
        "server RSS: {} KiB before, {} KiB peak, growth {} KiB ({} KiB of it in the second half)",
        before,
        peak,
        peak.saturating_sub(before),
        late
    );

    let mut failed = Vec::new();
    match probe_result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => failed.push(format!("the echo prober failed: {e}")),
        Err(_) => failed.push("the echo prober panicked".to_string()),
    }
    if r.count == 0 {
        failed.push("no echo came back".to_string());
    }
    if let Some(worst) = unexplained.iter().max() {
        failed.push(format!(
            "{} round trips over {} ms that the hypervisor's steal does not explain, the \
             worst {:.1} ms",
            unexplained.len(),
            args.max_rtt_ms,
            worst.as_secs_f64() * 1e3
        ));
    }
    if peak.saturating_sub(before) > args.max_rss_growth_mib << 10 {
        failed.push(format!(
            "RSS grew {} KiB, over {} MiB",
            peak - before,
            args.max_rss_growth_mib
        ));
    }
    if late > args.max_late_growth_mib << 10 {
        failed.push(format!(
            "RSS still climbing: {late} KiB more in the second half than the first's peak, \
             over {} MiB",
            args.max_late_growth_mib
        ));
    }
    if failed.is_empty() {
        println!("hostile-soak: PASS");
    } else {
        println!("hostile-soak: FAIL: {}", failed.join("; "));
        std::process::exit(1);
    }
}

fn rss_kib(pid: u32) -> u64 {
    match procfs::memory(pid) {
        Ok(m) => m.rss_kb,
        Err(e) => {
            eprintln!("hostile-soak: {e}");
            std::process::exit(2);
        }
    }
}

/// Gives the calling thread (the prober) a real-time priority: it shares CPU 1 with the
/// attackers' busy threads, and without it the round trip it measures includes its own
/// wait for that CPU (seen: 127 ms worst where the server answered in a few). Where the
/// priority is refused (no CAP_SYS_NICE), says so: the figures then include that wait.
fn realtime_priority() {
    let param = libc::sched_param { sched_priority: 10 };
    // SAFETY: sched_setscheduler with pid 0 changes only the calling thread; `param` is
    // a valid sched_param that outlives the call.
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
    if rc != 0 {
        eprintln!(
            "hostile-soak: the prober runs without real-time priority ({}): its round \
             trips include its wait for CPU 1 behind the attackers",
            io::Error::last_os_error()
        );
    }
}

/// The prober's round trips.
#[derive(Default, Clone)]
struct Rtts {
    count: u64,
    worst: Duration,
    all: Vec<Duration>,
    /// The worst round trip to the prober's read of the echo.
    worst_seen: Duration,
    /// Round trips the prober saw take over 10 ms: when each ended (since `start`), how
    /// long to the echo's arrival, and how long to its read.
    timeline: Vec<(Duration, Duration, Duration)>,
    start: Option<Instant>,
}

/// The CPUs the soak script pins the server (0) and this tool (1) to.
const CPUS: [usize; 2] = [0, 1];
/// Milliseconds between samples of the server's memory and CPU steal.
const SAMPLE_MS: u64 = 250;

/// Echoes a 20-byte text message every 5 ms on one WebSocket, timing each round trip.
/// An echo that does not come (a read timeout, the connection ended) counts as a round
/// trip of the time waited, and the prober connects again; only a wrong echo ends it.
///
/// Each round trip is timed twice: to the kernel's stamp of the echo's arrival (the
/// server's latency, what the bound applies to) and to the prober's reading of it (that,
/// plus the prober's own wait to run on CPU 1).
fn probe(shared: &Shared, rtts: &Mutex<Rtts>) -> io::Result<()> {
    let text = b"twenty bytes, echoed";
    let want = server_frame(true, 0, OP_TEXT, text);
    let message = client_frame(true, 0, OP_TEXT, [1, 2, 3, 4], text);
    let mut conn: Option<TcpStream> = None;
    let mut got = vec![0u8; want.len()];
    while !shared.stop.load(Ordering::Relaxed) {
        let sent = Instant::now();
        let s = match conn.as_mut() {
            Some(s) => s,
            None => match upgrade(shared.addr, "/").and_then(|s| stamp::enable(&s).map(|()| s)) {
                Ok(s) => conn.insert(s),
                Err(e) => {
                    eprintln!("hostile-soak: prober: {e}");
                    record(rtts, sent.elapsed(), sent.elapsed());
                    continue;
                }
            },
        };
        let sent_wall = SystemTime::now();
        let sent = Instant::now();
        let result = s
            .write_all(&message)
            .and_then(|()| stamp::read_exact_stamped(s, &mut got));
        let seen = sent.elapsed();
        match result {
            Ok(Some(arrived)) => {
                // A stamp before the send (the wall clock stepped back) counts as seen.
                let server = arrived
                    .duration_since(sent_wall)
                    .map_or(seen, |d| d.min(seen));
                record(rtts, server, seen);
            }
            // Stamping not yet in force (the first echoes of a connection): the time
            // seen is all there is.
            Ok(None) => record(rtts, seen, seen),
            Err(e) => {
                record(rtts, seen, seen);
                eprintln!("hostile-soak: prober: {e} after {seen:?}");
                conn = None;
                continue;
            }
        }
        if got != want {
            return Err(io::Error::other(format!("a wrong echo: {got:?}")));
        }
        thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

/// Records one round trip: `rtt` to the echo's arrival, `seen` to the prober's read.
fn record(rtts: &Mutex<Rtts>, rtt: Duration, seen: Duration) {
    if let Ok(mut r) = rtts.lock() {
        r.count += 1;
        r.worst = r.worst.max(rtt);
        r.worst_seen = r.worst_seen.max(seen);
        r.all.push(rtt);
        if seen > Duration::from_millis(10)
            && let Some(start) = r.start
        {
            r.timeline.push((start.elapsed(), rtt, seen));
        }
    }
}

/// A WebSocket on `path` over HTTP/1.1, upgraded; the response head read.
fn upgrade(addr: SocketAddr, path: &str) -> io::Result<TcpStream> {
    let mut s = TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    s.write_all(request.as_bytes())?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte)?;
        head.push(byte[0]);
    }
    if !head.starts_with(b"HTTP/1.1 101") {
        return Err(io::Error::other(format!(
            "upgrade refused: {}",
            String::from_utf8_lossy(&head).escape_debug()
        )));
    }
    Ok(s)
}

/// A connection for an attacker: h2c, or h2 over TLS.
enum Conn {
    Plain(TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

fn connect(addr: SocketAddr, tls: bool) -> io::Result<Conn> {
    let s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    if !tls {
        return Ok(Conn::Plain(s));
    }
    let name = ServerName::try_from("localhost").map_err(io::Error::other)?;
    let conn =
        rustls::ClientConnection::new(client_config(ALPN_H2), name).map_err(io::Error::other)?;
    Ok(Conn::Tls(Box::new(rustls::StreamOwned::new(conn, s))))
}

/// An h2 connection past both prefaces, with our SETTINGS `params`.
fn h2_open(shared: &Shared, tls: bool, params: &[(u16, u32)]) -> io::Result<Conn> {
    let mut s = connect(shared.addr, tls)?;
    s.write_all(&client_preface(params))?;
    // The server's SETTINGS (and its ack of ours) come back; they are read, or not, by
    // the attacker's own reading.
    s.write_all(&settings_ack())?;
    Ok(s)
}

/// Reads and drops everything until the deadline or the end; runs on its own thread.
fn drain(mut s: TcpStream, until: Instant) {
    let mut buf = vec![0u8; 64 << 10];
    while Instant::now() < until {
        match s.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return,
        }
    }
}

/// HEAD requests on new streams as fast as the socket takes them: the first request
/// puts `:method HEAD` and `:authority` into the server's HPACK table, after which each
/// is 13 bytes on the wire.
fn head_flood(shared: &Shared, tally: &Tally, read: bool, tls: bool) -> io::Result<()> {
    let until = Instant::now() + HOLD;
    let mut s = h2_open(shared, tls, &[])?;
    let mut first = Vec::new();
    push_indexing(&mut first, b":method", b"HEAD");
    push_indexed(&mut first, 6); // :scheme http
    push_indexed(&mut first, 4); // :path /
    push_indexing(&mut first, b":authority", b"x");
    let indexed = [0x80 | 63, 0x80 | 6, 0x80 | 4, 0x80 | 62];
    let mut batch = frame(HEADERS, END_HEADERS | END_STREAM, 1, &first);
    let mut stream = 3u32;
    // The TLS stream cannot be read from another thread: over TLS a reading flooder
    // reads between batches instead.
    let reader = match (&s, read) {
        (Conn::Plain(p), true) => {
            let p = p.try_clone()?;
            Some(thread::spawn(move || drain(p, until)))
        }
        _ => None,
    };
    let mut buf = vec![0u8; 256 << 10];
    let result = (|| {
        while Instant::now() < until && !shared.stop.load(Ordering::Relaxed) {
            for _ in 0..FLOOD_BATCH {
                batch.extend(frame(HEADERS, END_HEADERS | END_STREAM, stream, &indexed));
                stream += 2;
            }
            s.write_all(&batch)?;
            tally
                .bytes_sent
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
            batch.clear();
            if read && matches!(s, Conn::Tls(_)) {
                if let Conn::Tls(t) = &mut s {
                    t.sock.set_read_timeout(Some(Duration::from_millis(1)))?;
                }
                loop {
                    match s.read(&mut buf) {
                        Ok(0) => return Ok(()),
                        Ok(_) => {}
                        Err(e)
                            if matches!(
                                e.kind(),
                                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                            ) =>
                        {
                            break;
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok(())
    })();
    if let Conn::Plain(p) = &s {
        let _ = p.shutdown(Shutdown::Both);
    }
    if let Some(r) = reader {
        let _ = r.join();
    }
    result
}

/// SETTINGS_INITIAL_WINDOW_SIZE 0, then 100 extended CONNECTs asking for 16 MiB
/// messages, held without reading.
fn send_window_zero(shared: &Shared, tally: &Tally) -> io::Result<()> {
    let mut s = h2_open(shared, false, &[(SETTINGS_INITIAL_WINDOW_SIZE, 0)])?;
    let mut fields = WEBSOCKET_CONNECT;
    fields[3] = (":path", "/?send=16777216");
    let block = literal_block(&fields);
    let mut out = Vec::new();
    for i in 0..100u32 {
        out.extend(headers(1 + 2 * i, &block));
    }
    s.write_all(&out)?;
    tally
        .bytes_sent
        .fetch_add(out.len() as u64, Ordering::Relaxed);
    hold(shared);
    Ok(())
}

/// 20 HTTP/1.1 WebSockets asking for 16 MiB messages, none of them read.
fn send_not_reading(shared: &Shared, tally: &Tally) -> io::Result<()> {
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(upgrade(shared.addr, "/?send=16777216")?);
        tally.bytes_sent.fetch_add(200, Ordering::Relaxed);
    }
    hold(shared);
    Ok(())
}

/// PINGs as fast as the socket takes them, none of the answers read.
fn ping_flood(shared: &Shared, tally: &Tally) -> io::Result<()> {
    flood(shared, tally, &ping([7; 8]))
}

/// Empty SETTINGS frames as fast as the socket takes them.
fn settings_flood(shared: &Shared, tally: &Tally) -> io::Result<()> {
    flood(shared, tally, &settings(&[]))
}

/// HEADERS then RST_STREAM on each new stream (CVE-2023-44487).
fn rapid_reset(shared: &Shared, tally: &Tally) -> io::Result<()> {
    let until = Instant::now() + HOLD;
    let mut s = h2_open(shared, false, &[])?;
    let block = literal_block(&WEBSOCKET_CONNECT);
    let mut stream = 1u32;
    let mut out = Vec::new();
    while Instant::now() < until && !shared.stop.load(Ordering::Relaxed) {
        for _ in 0..64 {
            out.extend(headers(stream, &block));
            out.extend(rst_stream(stream, CANCEL));
            stream += 2;
        }
        s.write_all(&out)?;
        tally
            .bytes_sent
            .fetch_add(out.len() as u64, Ordering::Relaxed);
        out.clear();
    }
    Ok(())
}

/// `unit` written over and over on one connection until it ends or the hold is over.
fn flood(shared: &Shared, tally: &Tally, unit: &[u8]) -> io::Result<()> {
    let until = Instant::now() + HOLD;
    let mut s = h2_open(shared, false, &[])?;
    let batch = unit.repeat(256);
    while Instant::now() < until && !shared.stop.load(Ordering::Relaxed) {
        s.write_all(&batch)?;
        tally
            .bytes_sent
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
    }
    Ok(())
}

/// Waits out a connection's hold, or the end of the run.
fn hold(shared: &Shared) {
    let until = Instant::now() + HOLD;
    while Instant::now() < until && !shared.stop.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(100));
    }
}
