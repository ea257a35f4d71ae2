//! The one place the driver looks at why a non-blocking system call did not complete.
//!
//! A socket call on a non-blocking descriptor ends in one of three ways the driver
//! treats alike everywhere: it did something (`Done`), the socket cannot do more now
//! (`Blocked`: wait for the next readiness edge), or it failed. A signal's interruption
//! (`EINTR`) is neither: the call is made again.

use std::io::{self, ErrorKind};

/// What one system call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Io {
    /// It transferred this many bytes (for a read, 0 is the end of the stream).
    Done(usize),
    /// It would block (`EAGAIN`): nothing was transferred.
    Blocked,
}

/// What a call's result says: `None` when a signal interrupted it, and it is to be made
/// again.
#[inline(always)]
pub(super) fn settle(result: io::Result<usize>) -> Option<io::Result<Io>> {
    match result {
        Ok(n) => Some(Ok(Io::Done(n))),
        Err(e) if e.kind() == ErrorKind::WouldBlock => Some(Ok(Io::Blocked)),
        Err(e) if e.kind() == ErrorKind::Interrupted => None,
        Err(e) => Some(Err(e)),
    }
}

/// Runs `call` until a signal does not interrupt it (see [`settle`]).
#[inline(always)]
pub(super) fn retry(mut call: impl FnMut() -> io::Result<usize>) -> io::Result<Io> {
    loop {
        if let Some(result) = settle(call()) {
            return result;
        }
    }
}

/// Writes as much of `data` as `write` takes, retrying interrupted calls: how many
/// bytes went out (fewer than all when the socket would block).
#[inline(always)]
pub(super) fn write_until_blocked(
    data: &[u8],
    mut write: impl FnMut(&[u8]) -> io::Result<usize>,
) -> io::Result<usize> {
    let mut written = 0;
    while written < data.len() {
        match retry(|| write(&data[written..]))? {
            Io::Done(0) => return Err(ErrorKind::WriteZero.into()),
            Io::Done(n) => written += n,
            Io::Blocked => break,
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupted_call_is_made_again_and_would_block_is_not_an_error() {
        let mut results = vec![
            Err(io::Error::from(ErrorKind::WouldBlock)),
            Ok(3),
            Err(io::Error::from(ErrorKind::Interrupted)),
        ];
        let mut calls = 0;
        let mut next = || {
            calls += 1;
            results.pop().unwrap_or(Ok(0))
        };
        assert_eq!(retry(&mut next).unwrap(), Io::Done(3));
        assert_eq!(retry(&mut next).unwrap(), Io::Blocked);
        assert_eq!(calls, 3);
        let e = retry(|| Err(io::Error::from(ErrorKind::ConnectionReset))).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionReset);
    }

    #[test]
    fn writing_stops_where_the_socket_blocks_and_fails_on_a_zero_write() {
        let mut taken = Vec::new();
        let mut room = 5;
        let n = write_until_blocked(b"abcdefgh", |rest| {
            if room == 0 {
                return Err(ErrorKind::WouldBlock.into());
            }
            let n = rest.len().min(room).min(2);
            room -= n;
            taken.extend_from_slice(&rest[..n]);
            Ok(n)
        })
        .unwrap();
        assert_eq!((n, &taken[..]), (5, &b"abcde"[..]));
        let e = write_until_blocked(b"x", |_| Ok(0)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WriteZero);
    }
}
