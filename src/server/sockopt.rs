//! Listening-socket options that save work on every accepted connection.

use std::io;
use std::os::fd::AsRawFd;

use mio::net::TcpListener;

/// How long the kernel may hold a connection that has sent nothing yet, in seconds.
#[cfg(target_os = "linux")]
const DEFER_ACCEPT_SECS: libc::c_int = 5;

/// Sets what accepted sockets should inherit. Returns whether they inherit TCP_NODELAY
/// (Linux copies it from the listener), so the driver can skip a `setsockopt` per
/// connection.
pub(super) fn tune_listener(listener: &TcpListener) -> bool {
    #[cfg(target_os = "linux")]
    {
        let fd = listener.as_raw_fd();
        // TCP_DEFER_ACCEPT: a connection is handed to accept() once its first bytes (the
        // upgrade request) have arrived, so accepting and reading need one wakeup, not two.
        if let Err(e) = set_int(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_DEFER_ACCEPT,
            DEFER_ACCEPT_SECS,
        ) {
            log::debug!("TCP_DEFER_ACCEPT failed: {e}");
        }
        set_int(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1).is_ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = listener;
        false
    }
}

#[cfg(target_os = "linux")]
fn set_int(
    fd: libc::c_int,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: setsockopt reads `size_of::<c_int>()` bytes from a value we own.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
