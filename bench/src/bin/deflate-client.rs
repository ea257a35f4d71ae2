//! `deflate-client`: sends `wsecho_bench::deflate` messages through a real server over one
//! connection with permessage-deflate negotiated, `--inflight` at a time, checking every
//! echo (inflated by the client's own inflater), and reports the server's CPU time per
//! message from /proc. With `--plain` it offers no extension and sends the text as it is:
//! the same server doing the plain echo, for the fixed cost of a message.
//! `scripts/bench.sh --deflate-cost` runs it; under callgrind the server's instructions
//! per message come from two runs that differ only in `--messages`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, TcpStream};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use wsecho_bench::deflate::{EchoChecker, Messages, distinct_messages};
use wsecho_bench::handshake::{accept_for, new_key};
use wsecho_bench::mask::Rng;
use wsecho_bench::procfs::cpu_seconds;
use wsecho_test_support::frames::{OP_CLOSE, OP_TEXT, client_frame, read_server_frame};

#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Server address.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Server port.
    #[arg(long, short)]
    port: u16,
    /// Pid of the server, for its CPU time per message.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Inflated message size in bytes.
    #[arg(long, short, default_value_t = 1024)]
    size: usize,
    /// Offer permessage-deflate with context takeover (`on`) or with
    /// client_no_context_takeover and server_no_context_takeover (`off`).
    #[arg(long, value_parser = ["on", "off"], default_value = "on")]
    takeover: String,
    /// Offer no extension and send the text uncompressed.
    #[arg(long)]
    plain: bool,
    /// Messages in flight: with more than one the server finds the next message waiting
    /// when it has echoed one, so its CPU time per message is the echo's own, not a
    /// wake-up per message as well.
    #[arg(long, short = 'k', default_value_t = 1)]
    inflight: u64,
    /// Messages measured, after the warm-up.
    #[arg(long, short, default_value_t = 2000)]
    messages: u64,
    /// Messages echoed before measuring (at least one round of every distinct message
    /// is sent in any case, at the start, as part of it).
    #[arg(long, default_value_t = 0)]
    warmup: u64,
    /// Seconds allowed for the whole run.
    #[arg(long, default_value_t = 600.0)]
    timeout: f64,
    /// Text printed at the start of the result line.
    #[arg(long, default_value = "")]
    tag: String,
}

/// Reads the 101 response and returns its Sec-WebSocket-Extensions value ("" if none).
fn handshake(
    reader: &mut BufReader<TcpStream>,
    request: &[u8],
    key: &str,
) -> Result<String, String> {
    reader
        .get_mut()
        .write_all(request)
        .map_err(|e| format!("sending the upgrade: {e}"))?;
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let n = reader
            .read_until(b'\n', &mut head)
            .map_err(|e| format!("reading the upgrade response: {e}"))?;
        if n == 0 {
            return Err("connection closed during the upgrade".into());
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut resp = httparse::Response::new(&mut headers);
    resp.parse(&head)
        .map_err(|e| format!("bad upgrade response: {e}"))?;
    if resp.code != Some(101) {
        return Err(format!("upgrade answered with {:?}", resp.code));
    }
    let header = |name: &str| {
        resp.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| String::from_utf8_lossy(h.value).into_owned())
    };
    if header("sec-websocket-accept").as_deref().map(str::trim)
        != Some(std::str::from_utf8(&accept_for(key)).unwrap_or(""))
    {
        return Err("wrong Sec-WebSocket-Accept".into());
    }
    Ok(header("sec-websocket-extensions").unwrap_or_default())
}

/// Reads one whole echoed message: (RSV bits of its first frame, opcode, payload).
fn read_message(
    reader: &mut BufReader<TcpStream>,
    payload: &mut Vec<u8>,
) -> Result<(u8, u8), String> {
    payload.clear();
    let mut first: Option<(u8, u8)> = None;
    loop {
        let f = read_server_frame(reader).map_err(|e| format!("reading an echo: {e}"))?;
        if f.opcode == OP_CLOSE {
            return Err(format!("server closed: {:?}", f.payload));
        }
        first.get_or_insert((f.rsv, f.opcode));
        payload.extend_from_slice(&f.payload);
        if f.fin {
            return Ok(first.unwrap_or_default());
        }
    }
}

fn run(args: &Args) -> Result<String, String> {
    let takeover = args.takeover == "on";
    let m = Messages::new(args.size, distinct_messages(args.size), takeover);
    let n = m.payloads.len();
    let mut rng = Rng::new(args.size as u64);
    let frames: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let key = rng.mask_key();
            if args.plain {
                client_frame(true, 0, OP_TEXT, key, m.texts[i].as_bytes())
            } else {
                client_frame(true, 0b100, OP_TEXT, key, &m.payloads[i])
            }
        })
        .collect();

    let stream = TcpStream::connect((args.host, args.port)).map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let timeout = Some(Duration::from_secs_f64(args.timeout));
    stream
        .set_read_timeout(timeout)
        .map_err(|e| e.to_string())?;
    let mut reader = BufReader::with_capacity(256 * 1024, stream);
    let key = new_key(&mut rng);
    let offer = match (args.plain, takeover) {
        (true, _) => String::new(),
        (false, true) => "Sec-WebSocket-Extensions: permessage-deflate\r\n".into(),
        (false, false) => {
            "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; \
                           server_no_context_takeover\r\n"
                .into()
        }
    };
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {}:{}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{offer}\r\n",
        args.host, args.port
    );
    let agreed = handshake(&mut reader, request.as_bytes(), &key)?;
    let want: &[&str] = match (args.plain, takeover) {
        (true, _) => &[],
        (false, true) => &["permessage-deflate"],
        (false, false) => &[
            "permessage-deflate",
            "client_no_context_takeover",
            "server_no_context_takeover",
        ],
    };
    if args.plain != agreed.is_empty() || !want.iter().all(|w| agreed.contains(w)) {
        return Err(format!("server agreed to {agreed:?}, not {want:?}"));
    }

    let mut checker = EchoChecker::new(args.size, takeover);
    let mut echo = Vec::with_capacity(args.size + 64);
    let warmup = args.warmup.max(n as u64);
    let total = warmup + args.messages;
    let send = |reader: &mut BufReader<TcpStream>, i: u64| {
        reader
            .get_mut()
            .write_all(&frames[(i % n as u64) as usize])
            .map_err(|e| format!("sending message {i}: {e}"))
    };
    let mut sent = 0;
    while sent < total.min(args.inflight.max(1)) {
        send(&mut reader, sent)?;
        sent += 1;
    }
    let mut cpu_start = 0.0;
    let mut echo_bytes = 0u64;
    for i in 0..total {
        if i == warmup {
            if let Some(pid) = args.server_pid {
                cpu_start = cpu_seconds(pid)?;
            }
            echo_bytes = 0;
        }
        let (rsv, opcode) = read_message(&mut reader, &mut echo)?;
        // The next message goes out before this echo is checked, so the server is
        // not kept waiting by the client's own inflating.
        if sent < total {
            send(&mut reader, sent)?;
            sent += 1;
        }
        echo_bytes += echo.len() as u64;
        let text = m.texts[(i % n as u64) as usize].as_bytes();
        let expect_rsv = if args.plain { 0 } else { 0b100 };
        if opcode != OP_TEXT || rsv != expect_rsv {
            return Err(format!("echo {i}: opcode {opcode}, rsv {rsv:#05b}"));
        }
        if args.plain {
            if echo != text {
                return Err(format!("echo {i} differs from the message sent"));
            }
        } else {
            checker
                .check(&echo, text)
                .map_err(|e| format!("echo {i}: {e}"))?;
        }
    }
    let cpu = match args.server_pid {
        Some(pid) => (cpu_seconds(pid)? - cpu_start) * 1e9 / args.messages.max(1) as f64,
        None => f64::NAN,
    };
    // Close politely and wait for the server's close, so nothing is reset away.
    let close = client_frame(true, 0, OP_CLOSE, rng.mask_key(), &1000u16.to_be_bytes());
    reader
        .get_mut()
        .write_all(&close)
        .map_err(|e| format!("sending the close: {e}"))?;
    let mut rest = Vec::new();
    let _ = reader.read_to_end(&mut rest);
    Ok(format!(
        "{}{}program=wsecho size={} takeover={} plain={} messages={} distinct={} \
         inflight={} payload_bytes={} echo_bytes={} server_cpu_ns_per_msg={cpu:.0}",
        args.tag,
        if args.tag.is_empty() { "" } else { " " },
        args.size,
        args.takeover,
        args.plain,
        args.messages,
        n,
        args.inflight,
        if args.plain {
            args.size
        } else {
            m.mean_payload()
        },
        echo_bytes / args.messages.max(1),
    ))
}

fn main() -> ExitCode {
    let args = Args::parse();
    wsecho_bench::report::finish("deflate-client", run(&args))
}
