//! Raising the open-file soft limit to the hard limit, so the server can hold as many
//! connections as the system lets this process have.

use std::io;

use log::{info, warn};

use crate::config::Config;

/// Raises the descriptor limit as far as it goes and keeps `max_connections` within it:
/// past the limit clients would wait in the listen backlog while accepting backs off,
/// instead of getting their 503. `explicit`: the user chose the value (then a warning).
pub fn fit_to_fd_limit(config: &mut Config, explicit: bool) {
    let limit = match raise_fd_limit() {
        Ok(limit) => limit,
        Err(e) => {
            warn!("could not raise the file descriptor limit: {e}");
            return;
        }
    };
    let room = connections_within(limit);
    if config.max_connections <= room {
        return;
    }
    if explicit {
        warn!(
            "--max-connections {} lowered to {room}: the file descriptor limit is {limit} \
             (raise it with ulimit -n)",
            config.max_connections
        );
    } else {
        info!("at most {room} connections (file descriptor limit {limit})");
    }
    config.max_connections = room;
}

/// Returns the soft limit in force afterwards.
fn raise_fd_limit() -> io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit only reads the struct.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
            return Err(io::Error::last_os_error());
        }
        limit = raised;
    }
    Ok(limit.rlim_cur)
}

/// Descriptors kept for the process itself (standard streams, epoll, the listener, the
/// signal pipe) and for answering 503 to clients past the connection limit: a refused
/// client holds its descriptor until it closes or `--close-timeout` passes, so the
/// reserve grows with the limit (a sixteenth of it).
const MIN_RESERVED_FDS: u64 = 64;

/// How many connections a descriptor limit of `limit` leaves room for (at least one).
fn connections_within(limit: u64) -> usize {
    let reserved = MIN_RESERVED_FDS.max(limit / 16);
    usize::try_from(limit.saturating_sub(reserved))
        .unwrap_or(usize::MAX)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_leave_room_for_the_server_and_its_refusals() {
        assert_eq!(connections_within(100), 36);
        assert_eq!(connections_within(20_000), 18_750);
        assert_eq!(connections_within(64), 1);
        assert_eq!(connections_within(0), 1);
    }
}
