//! A soak of hostile clients beside honest ones: for the given minutes, attackers that
//! each aim at the loop's time or the server's memory run in loops against one wsecho,
//! while an echo prober measures the round trip of a 20-byte message every few
//! milliseconds on a connection of its own. The server's resident memory is sampled
//! from /proc. The run fails (exit 1) when the worst round trip passes `--max-rtt-ms`
//! or the resident memory grows past `--max-rss-growth-mib` over its value before the
//! attacks.
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
use std::time::{Duration, Instant};

use clap::Parser;
use rustls::pki_types::ServerName;
use wsecho_bench::procfs;
use wsecho_bench::tls::{ALPN_H2, client_config};
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
    /// The worst echo round trip allowed, in milliseconds.
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
    // The hypervisor's steal of the server's CPU, per sample: (time, ms stolen in it).
    let stolen_before = procfs::steal_ms(SERVER_CPU).unwrap_or(0);
    let mut stolen_last = stolen_before;
    let mut steal: Vec<(Duration, u64)> = Vec::new();
    let half = start + (end - start) / 2;
    let mut peak_first_half = before;
    let mut next_line = start + Duration::from_secs(args.sample);
    while Instant::now() < end {
        thread::sleep(Duration::from_millis(SAMPLE_MS));
        let rss = rss_kib(args.pid);
        peak = peak.max(rss);
        let stolen_now = procfs::steal_ms(SERVER_CPU).unwrap_or(stolen_before);
        steal.push((start.elapsed(), stolen_now.saturating_sub(stolen_last)));
        stolen_last = stolen_now;
        if Instant::now() < half {
            peak_first_half = peak;
        }
        if Instant::now() >= next_line {
            next_line += Duration::from_secs(args.sample);
            let r = rtts.lock().map(|r| r.clone()).unwrap_or_default();
            println!(
                "hostile-soak: {:>5.0} s  RSS {} KiB (peak {})  round trips {}  worst RTT {:.1} ms",
                start.elapsed().as_secs_f64(),
                rss,
                peak,
                r.count,
                r.worst.as_secs_f64() * 1e3
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
        "echo prober: {} round trips, median {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, worst {:.2} ms",
        r.count,
        pct(0.5),
        pct(0.99),
        pct(0.999),
        r.worst.as_secs_f64() * 1e3
    );
    // Each round trip over the bound, with what the hypervisor stole of CPU 0 in the
    // samples it spans: a stall the server's own turns cannot explain shows as steal.
    let bound = Duration::from_millis(args.max_rtt_ms);
    let slow: Vec<&(Duration, Duration)> =
        r.timeline.iter().filter(|(_, rtt)| *rtt > bound).collect();
    for (at, rtt) in slow.iter().take(20) {
        let from = at.saturating_sub(*rtt + Duration::from_millis(250));
        let stolen: u64 = steal
            .iter()
            .filter(|(t, _)| *t >= from && *t <= *at + Duration::from_millis(250))
            .map(|(_, ms)| ms)
            .sum();
        println!(
            "slow round trip: {:.1} ms ending at {:.1} s; CPU 0 stolen by the hypervisor around it: {stolen} ms",
            rtt.as_secs_f64() * 1e3,
            at.as_secs_f64()
        );
    }
    println!(
        "CPU 0 (the server's) stolen by the hypervisor during the run: {} ms in all, at most {} ms in one {} ms sample",
        steal.iter().map(|(_, ms)| ms).sum::<u64>(),
        steal.iter().map(|(_, ms)| *ms).max().unwrap_or(0),
        SAMPLE_MS
    );
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
    if r.worst > Duration::from_millis(args.max_rtt_ms) {
        failed.push(format!(
            "worst round trip {:.1} ms over {} ms",
            r.worst.as_secs_f64() * 1e3,
            args.max_rtt_ms
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
    /// Round trips over 10 ms: when each ended (since `start`) and how long it took.
    timeline: Vec<(Duration, Duration)>,
    start: Option<Instant>,
}

/// The CPU the soak script pins the server to.
const SERVER_CPU: usize = 0;
/// Milliseconds between samples of the server's memory and CPU steal.
const SAMPLE_MS: u64 = 250;

/// Echoes a 20-byte text message every 5 ms on one WebSocket, timing each round trip.
/// An echo that does not come (a read timeout, the connection ended) counts as a round
/// trip of the time waited, and the prober connects again; only a wrong echo ends it.
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
            None => match upgrade(shared.addr, "/") {
                Ok(s) => conn.insert(s),
                Err(e) => {
                    eprintln!("hostile-soak: prober: {e}");
                    record(rtts, sent.elapsed());
                    continue;
                }
            },
        };
        let sent = Instant::now();
        let result = s.write_all(&message).and_then(|()| s.read_exact(&mut got));
        record(rtts, sent.elapsed());
        if let Err(e) = result {
            eprintln!("hostile-soak: prober: {e} after {:?}", sent.elapsed());
            conn = None;
            continue;
        }
        if got != want {
            return Err(io::Error::other(format!("a wrong echo: {got:?}")));
        }
        thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

fn record(rtts: &Mutex<Rtts>, rtt: Duration) {
    if let Ok(mut r) = rtts.lock() {
        r.count += 1;
        r.worst = r.worst.max(rtt);
        r.all.push(rtt);
        if rtt > Duration::from_millis(10)
            && let Some(start) = r.start
        {
            r.timeline.push((start.elapsed(), rtt));
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
