//! Kernel receive timestamps (`SO_TIMESTAMPNS`): when the bytes a read returns reached
//! the socket, rather than when the reading thread got around to reading them.
//!
//! Over loopback the kernel stamps a segment as the sender's `write` hands it to the
//! stack, on the sender's CPU. A round trip measured to that stamp is the server's
//! latency, and leaves out the time the measuring thread waits to be woken and run on
//! its own CPU (which, on a shared virtual machine, can be a whole scheduling period of
//! the host when the vCPU is taken away; see the README's soak paragraph).

use std::io::{self, ErrorKind};
use std::mem::size_of;
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Asks the kernel to stamp every segment that arrives on `s`. The kernel turns stamping
/// on for the whole stack from a work queue: the first segments after this call may
/// still come without a stamp.
pub fn enable(s: &TcpStream) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: setsockopt on a descriptor `s` owns, with a pointer to an int that lives
    // across the call and its exact size.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&on as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Fills `buf` from `s` (as `read_exact`), and returns when its last bytes reached the
/// socket, by the kernel's stamp (wall clock, `CLOCK_REALTIME`, as `SystemTime::now`).
/// `None` when no stamp came with them ([`enable`] not called, or not yet in force).
pub fn read_exact_stamped(s: &TcpStream, buf: &mut [u8]) -> io::Result<Option<SystemTime>> {
    let mut filled = 0;
    let mut stamp = None;
    while filled < buf.len() {
        let rest = &mut buf[filled..];
        let mut iov = libc::iovec {
            iov_base: rest.as_mut_ptr().cast(),
            iov_len: rest.len(),
        };
        // Room for one cmsghdr with a timespec, aligned as the kernel writes it.
        let mut control = [0u64; 8];
        // SAFETY: an all-zero msghdr is a valid empty one; the fields set below point at
        // `iov` and `control`, which outlive the recvmsg call.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = size_of::<[u64; 8]>();
        // SAFETY: `msg` describes buffers we own for the duration of the call.
        let n = unsafe { libc::recvmsg(s.as_raw_fd(), &mut msg, 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        filled += n as usize;
        // SAFETY: the CMSG_* walk stays within msg_controllen of `control`, which the
        // kernel filled; SCM_TIMESTAMPNS data is one timespec.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                    let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                    stamp = Some(UNIX_EPOCH + Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32));
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
    }
    Ok(stamp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    #[test]
    fn a_stamp_is_when_the_bytes_arrived_not_when_they_were_read() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        enable(&client).unwrap();
        // Until stamping is in force (see `enable`).
        let mut one = [0u8; 1];
        for _ in 0..1000 {
            server.write_all(b"x").unwrap();
            if read_exact_stamped(&client, &mut one).unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let before = SystemTime::now();
        server.write_all(b"hello").unwrap();
        let after_write = SystemTime::now();
        std::thread::sleep(Duration::from_millis(50));
        let mut buf = [0u8; 5];
        let stamp = read_exact_stamped(&client, &mut buf).unwrap().unwrap();
        assert_eq!(&buf, b"hello");
        assert!(stamp >= before, "{stamp:?} before the write began");
        // Read 50 ms later, stamped at the write.
        assert!(stamp <= after_write, "{stamp:?} later than the write's end");
    }

    #[test]
    fn without_enable_there_is_no_stamp() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        server.write_all(b"hi").unwrap();
        let mut buf = [0u8; 2];
        assert_eq!(read_exact_stamped(&client, &mut buf).unwrap(), None);
    }
}
