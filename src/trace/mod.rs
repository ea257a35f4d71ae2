//! The wire trace (`--trace`): every traced connection's handshake heads, frames both
//! ways and TCP events, one numbered line per item in the style of Autobahn's wire log,
//! or one JSON object per line.
//!
//! A [`Tap`](tap::Tap) per traced connection sits between the transport and the protocol
//! core and does no I/O; the [`TraceSink`] writes the lines from a thread of its own.
//! Untraced connections never meet either: the driver keeps traced ones off the plain
//! read path, which stays as it is.

mod item;
mod sink;
pub(crate) mod tap;
mod wire;

use std::net::{IpAddr, SocketAddr};

pub(crate) use item::{Dir, Item, Origin, Shown, write_text};
pub use sink::{LogPipe, TraceSink};
pub(crate) use wire::AfterHead;

/// How trace lines are spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceFormat {
    /// Autobahn's wire-log style, for people.
    Text,
    /// One JSON object per line, for machines.
    Jsonl,
}

/// How each traced connection is shown.
#[derive(Debug, Clone)]
pub struct TraceOptions {
    /// Text or JSON lines.
    pub format: TraceFormat,
    /// Payload bytes shown per frame, body or read.
    pub payload_bytes: usize,
    /// Also show the raw bytes of each read and write.
    pub octets: bool,
}

/// Which connections are traced.
#[derive(Debug, Clone, Default)]
pub struct TraceSelect {
    /// Every connection.
    pub all: bool,
    /// Connections from these addresses (an IP, or an IP and port).
    pub peers: Vec<PeerFilter>,
    /// Connections whose request target carries `?trace`.
    pub on_request: bool,
}

/// A `--trace-peer` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerFilter {
    /// Any port of this address.
    Ip(IpAddr),
    /// This address and port.
    Socket(SocketAddr),
}

impl std::str::FromStr for PeerFilter {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if let Ok(addr) = s.parse::<SocketAddr>() {
            return Ok(PeerFilter::Socket(addr));
        }
        s.parse::<IpAddr>()
            .map(PeerFilter::Ip)
            .map_err(|_| format!("{s:?} is neither an IP address nor IP:PORT"))
    }
}

/// Whether and how a new connection is traced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Selected {
    /// Not traced.
    No,
    /// Traced from its first byte.
    Yes,
    /// Traced if its request target asks (`?trace`).
    IfAsked,
}

impl TraceSelect {
    /// Nothing selects any connection: tracing is off.
    pub fn is_off(&self) -> bool {
        !self.all && self.peers.is_empty() && !self.on_request
    }

    /// Whether to trace a client from `peer` (`None`: over a Unix socket, which no
    /// `--trace-peer` filter names).
    pub(crate) fn select(&self, peer: Option<SocketAddr>) -> Selected {
        let by_peer = peer.is_some_and(|peer| {
            self.peers.iter().any(|f| match f {
                PeerFilter::Ip(ip) => *ip == peer.ip(),
                PeerFilter::Socket(addr) => *addr == peer,
            })
        });
        if self.all || by_peer {
            Selected::Yes
        } else if self.on_request {
            Selected::IfAsked
        } else {
            Selected::No
        }
    }
}

/// Tracing as the server runs it: who, how, and where the lines go.
pub struct Trace {
    /// Which connections.
    pub select: TraceSelect,
    /// How they are shown.
    pub options: std::sync::Arc<TraceOptions>,
    /// Where the lines go.
    pub sink: TraceSink,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_chosen_by_flag_address_or_request() {
        let peer: SocketAddr = "10.1.2.3:4000".parse().unwrap();
        let pick = |select: TraceSelect| select.select(Some(peer));
        assert_eq!(pick(TraceSelect::default()), Selected::No);
        assert!(TraceSelect::default().is_off());
        let all = TraceSelect {
            all: true,
            ..TraceSelect::default()
        };
        assert_eq!(pick(all), Selected::Yes);
        for (filter, want) in [
            ("10.1.2.3", Selected::Yes),
            ("10.1.2.3:4000", Selected::Yes),
            ("10.1.2.3:4001", Selected::No),
            ("10.1.2.4", Selected::No),
        ] {
            let select = TraceSelect {
                peers: vec![filter.parse().unwrap()],
                ..TraceSelect::default()
            };
            assert_eq!(pick(select), want, "{filter}");
        }
        let asked = TraceSelect {
            on_request: true,
            ..TraceSelect::default()
        };
        assert_eq!(pick(asked), Selected::IfAsked);
        assert!("nonsense".parse::<PeerFilter>().is_err());
    }
}
