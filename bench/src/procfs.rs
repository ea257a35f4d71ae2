//! Process accounting from /proc and getrusage: CPU time and memory of the server under
//! test and of the load generator itself, plus the file-descriptor limit.

use std::fs;

/// CPU seconds `pid` has used, user plus system, summed over its threads.
///
/// Reads each thread's /proc/PID/task/TID/schedstat (on-CPU nanoseconds, exact) when the
/// kernel has it: /proc/PID/stat's utime+stime come in 10 ms ticks, too coarse for short
/// runs of a server that is half idle. Falls back to /proc/PID/stat.
pub fn cpu_seconds(pid: u32) -> Result<f64, String> {
    match schedstat_seconds(pid) {
        Some(s) => Ok(s),
        None => stat_seconds(pid),
    }
}

fn schedstat_seconds(pid: u32) -> Option<f64> {
    let mut nanos = 0u64;
    for task in fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let path = task.ok()?.path().join("schedstat");
        // A thread that just exited has no file any more; its time is lost either way.
        let Ok(text) = fs::read_to_string(path) else {
            continue;
        };
        nanos += text.split_ascii_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(nanos as f64 / 1e9)
}

/// utime + stime of `pid` (all its threads, including exited ones) from /proc/PID/stat.
pub fn stat_seconds(pid: u32) -> Result<f64, String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("reading /proc/{pid}/stat: {e}"))?;
    // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or("malformed /proc stat")?;
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    // `rest` starts at field 3 (state); utime and stime are fields 14 and 15.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .ok_or("malformed /proc stat")
    };
    let total = ticks(11)? + ticks(12)?;
    Ok(total as f64 / clock_ticks_per_second())
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a system constant.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// CPU seconds this process has used, at microsecond resolution (finer than /proc's ticks).
pub fn self_cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the zeroed struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(ru.ru_utime) + secs(ru.ru_stime)
}

/// Resident and peak-resident memory of a process, in KiB.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub rss_kb: u64,
    pub hwm_kb: u64,
}

/// VmRSS and VmHWM of `pid` from /proc/PID/status.
pub fn memory(pid: u32) -> Result<Memory, String> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("reading /proc/{pid}/status: {e}"))?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| format!("no {name} in /proc/{pid}/status"))
    };
    Ok(Memory {
        rss_kb: field("VmRSS:")?,
        hwm_kb: field("VmHWM:")?,
    })
}

/// Raises this process's open-file limit to its hard limit (the idle workload holds
/// thousands of sockets) and returns the new soft limit.
pub fn raise_nofile_limit() -> u64 {
    // SAFETY: get/setrlimit read and write the struct we own.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        lim.rlim_cur = lim.rlim_max;
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur
    }
}

/// Milliseconds the hypervisor took CPU `cpu` away from this machine since boot (the
/// `steal` column of /proc/stat, in clock ticks). A guest's task can be off its CPU for
/// this reason alone, and no scheduling inside the guest shows it.
pub fn steal_ms(cpu: usize) -> Result<u64, String> {
    let stat = fs::read_to_string("/proc/stat").map_err(|e| format!("reading /proc/stat: {e}"))?;
    let name = format!("cpu{cpu}");
    let line = stat
        .lines()
        .find(|l| l.split_ascii_whitespace().next() == Some(name.as_str()))
        .ok_or_else(|| format!("no {name} line in /proc/stat"))?;
    // cpuN user nice system idle iowait irq softirq steal ...
    let ticks: u64 = line
        .split_ascii_whitespace()
        .nth(8)
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| format!("no steal column for {name} in /proc/stat"))?;
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let hz = u64::try_from(hz).ok().filter(|&h| h > 0).unwrap_or(100);
    Ok(ticks * 1000 / hz)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_process() {
        let pid = std::process::id();
        // Burn a little CPU so both readings have something to count.
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        let (fine, coarse) = (cpu_seconds(pid).unwrap(), stat_seconds(pid).unwrap());
        // Not equal: the harness runs other tests on threads of this process, and those
        // that have exited still count in /proc/PID/stat but no longer in the per-thread
        // schedstat. The exact figure can only be the smaller (within a tick's rounding).
        assert!(fine > 0.0 && fine < coarse + 0.1, "{fine} vs {coarse}");
        let m = memory(pid).unwrap();
        assert!(m.rss_kb > 0 && m.hwm_kb >= m.rss_kb);
        assert!(self_cpu_seconds() > 0.0);
        assert!(raise_nofile_limit() > 0);
    }
}
