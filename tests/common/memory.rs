//! The server's memory and sockets, read from /proc.

use std::thread;
use std::time::{Duration, Instant};

/// A `kB` field of `/proc/PID/status` (`VmRSS`, `VmHWM`, `VmSize`, ...), in KiB; `None`
/// once the process is gone.
pub fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        value.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// The resident memory of `pid` in KiB (`VmRSS`), panicking if it cannot be read.
pub fn rss_kib(pid: u32) -> u64 {
    proc_status_kib(pid, "VmRSS").unwrap_or_else(|| panic!("no VmRSS for pid {pid}"))
}

/// How many file descriptors `pid` has open (entries of `/proc/PID/fd`).
pub fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/fd: {e}"))
        .count()
}

/// Waits up to `within` for `pid` to hold at most `target` descriptors; returns how long
/// that took, or `None` if it did not happen in time.
pub fn wait_fd_count_at_most(pid: u32, target: usize, within: Duration) -> Option<Duration> {
    let start = Instant::now();
    loop {
        if fd_count(pid) <= target {
            return Some(start.elapsed());
        }
        if start.elapsed() >= within {
            return None;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Waits up to `within` until the server has read everything sent to it on `client`
/// (IPv4 loopback): the receive queue of the server's end, in `/proc/net/tcp`, is
/// empty. A test that must make the server see its bytes in two reads waits for this
/// between its writes, rather than sleep and hope. `false` if that did not happen.
pub fn wait_server_read_all(client: &std::net::TcpStream, within: Duration) -> bool {
    let (Ok(ours), Ok(theirs)) = (client.local_addr(), client.peer_addr()) else {
        return false;
    };
    // /proc/net/tcp writes an IPv4 address as the hex of its in-memory u32 (so the
    // octets reversed on a little-endian machine), then the port in hex.
    let hex = |a: std::net::SocketAddr| match a.ip() {
        std::net::IpAddr::V4(ip) => {
            format!("{:08X}:{:04X}", u32::from_ne_bytes(ip.octets()), a.port())
        }
        std::net::IpAddr::V6(_) => String::new(),
    };
    let (local, remote) = (hex(theirs), hex(ours));
    let start = Instant::now();
    loop {
        let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
        let unread = table.lines().find_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            (f.get(1) == Some(&local.as_str()) && f.get(2) == Some(&remote.as_str()))
                .then(|| f.get(4).and_then(|q| q.split(':').nth(1)).map(String::from))
                .flatten()
        });
        if unread
            .as_deref()
            .is_some_and(|q| u64::from_str_radix(q, 16) == Ok(0))
        {
            return true;
        }
        if start.elapsed() >= within {
            return false;
        }
        thread::sleep(Duration::from_millis(1));
    }
}
