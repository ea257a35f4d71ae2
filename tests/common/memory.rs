//! The server's memory, read from /proc.

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
