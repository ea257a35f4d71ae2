//! Where wsecho listens: TCP addresses (a `--host` name resolves to each of its
//! addresses) and Unix stream sockets (`--unix PATH`), bound at start with errors that
//! name the address and say what to do.
//!
//! A connection accepted on a Unix socket is driven through the same `TcpStream` type as
//! a TCP one: reading, writing, `writev`, `shutdown` and the socket options the driver
//! uses are the same system calls for both families, so one client type and one receive
//! path serve both. Only the peer's address differs: a Unix peer has none, and is shown
//! as `unix`.

use std::fmt;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{FromRawFd, IntoRawFd};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use mio::net::{TcpListener, TcpStream, UnixListener};

/// The backlog of a listening socket, as mio's `TcpListener::bind` sets it.
const LISTEN_BACKLOG: i32 = 1024;

/// One place to listen, as the command line gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A TCP address.
    Tcp(SocketAddr),
    /// A Unix stream socket at this path, its file given these mode bits if set.
    Unix {
        /// The socket file.
        path: PathBuf,
        /// `--unix-mode`, e.g. `0o660`.
        mode: Option<u32>,
    },
}

/// The TCP addresses `host` names for `port`: an IP address, or a name resolved (by
/// the system's resolver: `/etc/hosts`, DNS) to each of its addresses, in order,
/// without repeats.
pub fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    // `[::1]` as URLs write it, or `::1`.
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let found = (bare, port)
        .to_socket_addrs()
        .map_err(|e| format!("--host {host}: cannot resolve it: {e}"))?;
    let mut addrs: Vec<SocketAddr> = Vec::new();
    for addr in found {
        if !addrs.contains(&addr) {
            addrs.push(addr);
        }
    }
    if addrs.is_empty() {
        return Err(format!("--host {host}: the name has no address"));
    }
    Ok(addrs)
}

/// A bound listening socket.
pub(super) enum Listener {
    Tcp(TcpListener),
    /// The path is removed when the listener that bound it is dropped (the server
    /// exits), if it is still the socket bound (`id`); not by the copies other loops
    /// share (`owner` false).
    Unix {
        listener: UnixListener,
        path: PathBuf,
        id: FileId,
        owner: bool,
    },
}

/// A file's identity: its device and inode numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    /// The identity of the file at `path` itself (a symlink is not followed).
    fn of(path: &Path) -> io::Result<FileId> {
        std::fs::symlink_metadata(path).map(|meta| FileId::of_meta(&meta))
    }

    fn of_meta(meta: &std::fs::Metadata) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

impl Listener {
    /// Binds `endpoint`. A TCP port 0 picks a free port; `same_port` (the port the first
    /// TCP listener got) makes every address of one `--host` share it.
    pub(super) fn bind(endpoint: &Endpoint, same_port: Option<u16>) -> Result<Self, String> {
        match endpoint {
            Endpoint::Tcp(addr) => {
                let mut addr = *addr;
                if addr.port() == 0
                    && let Some(port) = same_port
                {
                    addr.set_port(port);
                }
                TcpListener::bind(addr)
                    .map(Listener::Tcp)
                    .map_err(|e| bind_error(&addr.to_string(), &e))
            }
            Endpoint::Unix { path, mode } => bind_unix(path, *mode),
        }
    }

    /// The TCP port, for a TCP listener.
    pub(super) fn port(&self) -> Option<u16> {
        match self {
            Listener::Tcp(l) => l.local_addr().ok().map(|a| a.port()),
            Listener::Unix { .. } => None,
        }
    }

    /// Accepts one connection: the stream, and the peer's address (`None` over a Unix
    /// socket).
    pub(super) fn accept(&self) -> io::Result<(TcpStream, Option<SocketAddr>)> {
        match self {
            Listener::Tcp(l) => l.accept().map(|(s, peer)| (s, Some(peer))),
            Listener::Unix { listener, .. } => {
                let (stream, _) = listener.accept()?;
                // SAFETY: the descriptor was just taken from the accepted stream, which
                // gives up its ownership; it is an open, connected, non-blocking stream
                // socket, which is all `TcpStream` needs (see the module comment).
                let stream = unsafe { TcpStream::from_raw_fd(stream.into_raw_fd()) };
                Ok((stream, None))
            }
        }
    }

    /// The mio source to register.
    pub(super) fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Listener::Tcp(l) => l,
            Listener::Unix { listener, .. } => listener,
        }
    }

    /// Another handle on the same listening socket, for another loop to accept from
    /// (each loop registers its own with its own poll, and the loops race to accept).
    pub(super) fn share(&self) -> io::Result<Listener> {
        Ok(match self {
            Listener::Tcp(l) => {
                let fd = std::os::fd::AsFd::as_fd(l).try_clone_to_owned()?;
                Listener::Tcp(TcpListener::from_std(std::net::TcpListener::from(fd)))
            }
            Listener::Unix {
                listener, path, id, ..
            } => {
                let fd = std::os::fd::AsFd::as_fd(listener).try_clone_to_owned()?;
                Listener::Unix {
                    listener: UnixListener::from_std(std::os::unix::net::UnixListener::from(fd)),
                    path: path.clone(),
                    id: *id,
                    owner: false,
                }
            }
        })
    }

    /// Binds `endpoint` for loop after loop of `--threads`: a TCP address with
    /// SO_REUSEPORT, so that each loop has a listening socket of its own and the kernel
    /// spreads connections over them (`port`: the one the first loop got). `None` where
    /// SO_REUSEPORT cannot be set: the loops then share one listener ([`Listener::share`]).
    pub(super) fn bind_reuseport(
        addr: SocketAddr,
        port: Option<u16>,
    ) -> Result<Option<Listener>, String> {
        use socket2::{Domain, Socket, Type};
        let mut addr = addr;
        if let Some(port) = port {
            addr.set_port(port);
        }
        let fail = |e: io::Error| bind_error(&addr.to_string(), &e);
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None).map_err(fail)?;
        // As std and mio bind: a restarted server need not wait out TIME_WAIT.
        socket.set_reuse_address(true).map_err(fail)?;
        if let Err(e) = socket.set_reuse_port(true) {
            log::debug!("SO_REUSEPORT on {addr}: {e}");
            return Ok(None);
        }
        socket.bind(&addr.into()).map_err(fail)?;
        socket.listen(LISTEN_BACKLOG).map_err(fail)?;
        socket.set_nonblocking(true).map_err(fail)?;
        Ok(Some(Listener::Tcp(TcpListener::from_std(socket.into()))))
    }

    /// The TCP listener, for the options accepted sockets inherit.
    pub(super) fn tcp(&self) -> Option<&TcpListener> {
        match self {
            Listener::Tcp(l) => Some(l),
            Listener::Unix { .. } => None,
        }
    }
}

impl fmt::Display for Listener {
    /// Where clients reach it, without the scheme: `127.0.0.1:5050`, `[::1]:5050`, or
    /// `unix:/run/wsecho.sock`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Listener::Tcp(l) => match l.local_addr() {
                Ok(addr) => write!(f, "{addr}"),
                Err(_) => f.write_str("(unknown address)"),
            },
            Listener::Unix { path, .. } => write!(f, "unix:{}", path.display()),
        }
    }
}

impl Drop for Listener {
    /// Removes the socket file, only if the path still holds the socket bound: another
    /// file put there since (another server's socket, anything) is left alone.
    fn drop(&mut self) {
        if let Listener::Unix {
            path,
            id,
            owner: true,
            ..
        } = self
        {
            match std::fs::symlink_metadata(&*path) {
                Ok(meta) if meta.file_type().is_socket() && FileId::of_meta(&meta) == *id => {
                    if let Err(e) = std::fs::remove_file(&*path) {
                        log::warn!("{}: cannot remove the socket file: {e}", path.display());
                    }
                }
                Ok(_) => log::info!(
                    "{}: left alone: no longer the socket wsecho bound there",
                    path.display()
                ),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => log::warn!("{}: not removed: {e}", path.display()),
            }
        }
    }
}

/// The one-line error for a TCP address that cannot be bound.
fn bind_error(addr: &str, e: &io::Error) -> String {
    let hint = match e.kind() {
        io::ErrorKind::AddrInUse => {
            "; another program (another wsecho?) listens there: stop it, or pick another \
             --port (--port 0 picks a free one)"
        }
        io::ErrorKind::AddrNotAvailable => "; no interface of this machine has that address",
        io::ErrorKind::PermissionDenied => "; ports below 1024 need privileges",
        _ => "",
    };
    format!("cannot listen on {addr}: {e}{hint}")
}

/// Binds a Unix stream socket at `path`. A socket file left by a wsecho that died (no
/// one accepts on it) is replaced; a socket someone listens on, or a file that is not a
/// socket, is an error naming the path.
fn bind_unix(path: &Path, mode: Option<u32>) -> Result<Listener, String> {
    let shown = path.display();
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(format!(
                "--unix {shown}: the path exists and is not a socket; remove it or pick another path"
            ));
        }
        match std::os::unix::net::UnixStream::connect(path) {
            Ok(_) => {
                return Err(format!(
                    "--unix {shown}: another server listens on this socket; stop it or pick another path"
                ));
            }
            // Nobody listens: a stale socket file, replaced.
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                std::fs::remove_file(path)
                    .map_err(|e| format!("--unix {shown}: cannot remove the stale socket: {e}"))?;
                log::info!("{shown}: replaced a stale socket file");
            }
            Err(e) => return Err(format!("--unix {shown}: {e}")),
        }
    }
    let (listener, id) = match mode {
        // The umask's mode is the one wanted. bind(2) creates the file and never follows
        // a symlink at the path (it fails with EADDRINUSE).
        None => {
            let listener = UnixListener::bind(path).map_err(|e| format!("--unix {shown}: {e}"))?;
            let id = FileId::of(path).map_err(|e| {
                let _ = std::fs::remove_file(path);
                format!("--unix {shown}: {e}")
            })?;
            (listener, id)
        }
        Some(mode) => bind_with_mode(path, mode)?,
    };
    Ok(Listener::Unix {
        listener,
        path: path.to_path_buf(),
        id,
        owner: true,
    })
}

/// Binds a Unix stream socket at `path` whose file has the mode bits `mode` from the
/// first moment the path exists. The socket is bound and given its mode in a directory
/// of wsecho's own (mode 0700, beside `path`, so on the same file system), where no one
/// else can reach it or put a symlink in its place, and then hard-linked at `path`:
/// link(2) neither replaces nor follows what is there. Weighed: a restrictive umask
/// around bind(2) is process-wide (a race with other threads' files); fchmod(2) on a
/// socket before bind(2) gives its mode to the file on Linux only, less the umask.
fn bind_with_mode(path: &Path, mode: u32) -> Result<(UnixListener, FileId), String> {
    let shown = path.display();
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let private = private_dir(parent)
        .map_err(|e| format!("--unix {shown}: cannot make a directory beside it: {e}"))?;
    let staged = private.join("s");
    let bound = (|| {
        let listener = UnixListener::bind(&staged).map_err(|e| {
            let hint = if e.kind() == io::ErrorKind::InvalidInput {
                format!(
                    " (with --unix-mode the socket is bound first at {}: pick a shorter path)",
                    staged.display()
                )
            } else {
                String::new()
            };
            format!("--unix {shown}: {e}{hint}")
        })?;
        std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(mode))
            .map_err(|e| format!("--unix-mode {mode:o} on {shown}: {e}"))?;
        let id = FileId::of(&staged).map_err(|e| format!("--unix {shown}: {e}"))?;
        std::fs::hard_link(&staged, path).map_err(|e| match e.kind() {
            io::ErrorKind::AlreadyExists => format!(
                "--unix {shown}: a file appeared at the path while wsecho bound it; \
                 remove it or pick another path"
            ),
            _ => format!("--unix {shown}: {e}"),
        })?;
        Ok((listener, id))
    })();
    let _ = std::fs::remove_file(&staged);
    let _ = std::fs::remove_dir(&private);
    bound
}

/// Makes a directory in `parent` that only this user may enter (mode 0700), with a name
/// no other wsecho picks (the process id, and a count within the process).
fn private_dir(parent: &Path) -> io::Result<PathBuf> {
    static MADE: AtomicU32 = AtomicU32::new(0);
    let mut tries = 0;
    loop {
        let n = MADE.fetch_add(1, Ordering::Relaxed);
        let dir = parent.join(format!(".wsecho-{}-{n}", std::process::id()));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            // Left by a process that had this id and died: pick another name.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && tries < 8 => tries += 1,
            made => return made.map(|()| dir),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_to_each_address_and_literals_to_themselves() {
        let local = resolve("localhost", 80).unwrap();
        assert!(
            local.iter().all(|a| a.ip().is_loopback() && a.port() == 80),
            "{local:?}"
        );
        assert_eq!(resolve("::1", 1).unwrap(), ["[::1]:1".parse().unwrap()]);
        assert_eq!(resolve("[::1]", 1).unwrap(), ["[::1]:1".parse().unwrap()]);
        assert_eq!(
            resolve("127.0.0.1", 2).unwrap(),
            ["127.0.0.1:2".parse().unwrap()]
        );
        let err = resolve("no-such-host.invalid", 1).unwrap_err();
        assert!(
            err.starts_with("--host no-such-host.invalid: cannot resolve it"),
            "{err}"
        );
    }

    #[test]
    fn a_port_in_use_is_named_with_what_to_do() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap();
        let Err(err) = Listener::bind(&Endpoint::Tcp(addr), None) else {
            panic!("bound a port in use");
        };
        assert!(
            err.starts_with(&format!("cannot listen on {addr}: ")),
            "{err}"
        );
        assert!(err.contains("--port 0 picks a free one"), "{err}");
    }

    #[test]
    fn unix_sockets_replace_stale_files_and_refuse_live_ones_and_other_files() {
        let dir = std::env::temp_dir().join(format!("wsecho-listen-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        let _ = std::fs::remove_file(&path);
        let endpoint = Endpoint::Unix {
            path: path.clone(),
            mode: Some(0o660),
        };
        let live = Listener::bind(&endpoint, None).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o660);
        let Err(err) = Listener::bind(&endpoint, None) else {
            panic!("bound a socket in use");
        };
        assert!(err.contains("another server listens"), "{err}");
        drop(live);
        assert!(!path.exists(), "the socket file is removed on exit");
        // A socket file whose server died (std leaves the file behind): replaced.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let stale = Listener::bind(&endpoint, None).expect("the stale file replaced");
        drop(stale);
        assert!(!path.exists(), "the socket file is removed on exit");
        std::fs::write(&path, b"not a socket").unwrap();
        let Err(err) = Listener::bind(&endpoint, None) else {
            panic!("bound over a regular file");
        };
        assert!(err.contains("is not a socket"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A directory of its own for a test's socket.
    fn test_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("wsecho-listen-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_socket_file_has_its_mode_when_it_appears_and_nothing_is_left_beside_it() {
        let dir = test_dir("mode");
        let path = dir.join("s.sock");
        // Not a mode a umask gives.
        let (listener, id) = bind_with_mode(&path, 0o641).unwrap();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.file_type().is_socket());
        assert_eq!(meta.permissions().mode() & 0o7777, 0o641);
        assert_eq!(meta.nlink(), 1);
        assert_eq!(FileId::of(&path).unwrap(), id);
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["s.sock"]);
        drop(std::os::unix::net::UnixStream::connect(&path).expect("connectable"));
        drop(listener);
        // A file at the path is neither replaced nor followed.
        let err = bind_with_mode(&path, 0o600).map(|_| ()).unwrap_err();
        assert!(err.contains("a file appeared at the path"), "{err}");
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(dir.join("target"), &path).unwrap();
        let err = bind_with_mode(&path, 0o600).map(|_| ()).unwrap_err();
        assert!(err.contains("a file appeared at the path"), "{err}");
        assert!(!dir.join("target").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn on_exit_only_the_socket_bound_is_removed() {
        let dir = test_dir("removal");
        let path = dir.join("s.sock");
        for mode in [None, Some(0o600)] {
            let endpoint = Endpoint::Unix {
                path: path.clone(),
                mode,
            };
            let listener = Listener::bind(&endpoint, None).unwrap();
            let shared = listener.share().unwrap();
            drop(shared);
            assert!(path.exists(), "a shared copy leaves the file");
            std::fs::remove_file(&path).unwrap();
            std::fs::write(&path, b"another file").unwrap();
            drop(listener);
            assert_eq!(std::fs::read(&path).unwrap(), b"another file");
            std::fs::remove_file(&path).unwrap();
            // Another socket at the path, as another server's: left alone too.
            let listener = Listener::bind(&endpoint, None).unwrap();
            std::fs::remove_file(&path).unwrap();
            let other = std::os::unix::net::UnixListener::bind(&path).unwrap();
            drop(listener);
            assert!(std::os::unix::net::UnixStream::connect(&path).is_ok());
            drop(other);
            std::fs::remove_file(&path).unwrap();
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
