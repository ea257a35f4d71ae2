//! wsecho: a strict RFC 6455 WebSocket echo server.
//!
//! Its modules are private; the binary uses what is re-exported here. The
//! modules, from the wire up:
//! - `server`: the thin mio driver — accept, read, write, timers. No protocol logic.
//! - `tls`: `wss://`, rustls as an I/O-free layer between the socket and the upgrade.
//! - `connection`: the I/O-free state machine of one connection, fed bytes and time.
//! - `handshake`: the HTTP upgrade (RFC 6455 §4) and its answers.
//! - `http`: HTTP's vocabulary (the token grammar), under every layer that speaks it.
//! - `frame`: the frame format (§5): header, opcode, mask, close codes.
//! - `h2`: HTTP/2 (frames, HPACK, the session), a layer under the core.
//! - `stack`: the layers under the core joined for one connection: TLS, HTTP/2 streams.
//! - `utf8`: streaming UTF-8 validation for text, failing on the first bad byte.
//! - `deflate`: permessage-deflate (RFC 7692) negotiation and codec.
//! - `trace`: the wire trace, a tap between the transport and the core.
//! - `error`: every protocol violation, each with its close code and reason.
//! - `event`: what happened on a connection, from the core to the driver and the trace.
//! - `suite`: Autobahn's cases for WebSocket clients, served on their own paths.
//! - `report`: case results in Autobahn's formats, and the `wsecho verdict` gate.

#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(unreachable_pub)]
#![deny(missing_docs)]

// The modules are private: the crate's face is the short list below, what the binary
// needs. `tests/layers.rs` holds the order in which they may use each other.

mod config;
mod connection;
mod deflate;
mod error;
mod escape;
mod event;
mod frame;
mod h2;
mod handshake;
mod http;
mod json;
mod report;
mod server;
mod size;
mod stack;
mod suite;
#[cfg(test)]
mod test_alloc;
mod tls;
mod trace;
mod utf8;

pub use config::{Config, defaults};
pub use deflate::{DeflatePolicy, MAX_WINDOW_BITS, MIN_USABLE_WINDOW_BITS};
pub use handshake::behaviour::help_text as behaviours_help;
pub use handshake::is_token;
pub use report::verdict::{Options as VerdictOptions, Unusable, Verdict, run as verdict};
pub use server::{Endpoint, RunError, backpressure_floor, fit_to_fd_limit, resolve, run};
pub use size::Bytes;
pub use suite::Suite;
pub use tls::TlsOptions;
pub use trace::{LogPipe, PeerFilter, Trace, TraceFormat, TraceOptions, TraceSelect, TraceSink};

/// Not an API: the internals that the fuzz targets, benchmarks and integration tests
/// drive, under their modules' names. Anything here may change in any release.
#[doc(hidden)]
pub mod fuzzing {
    #![allow(missing_docs)]

    /// The client role: its I/O-free core, and a driver for one outbound connection.
    pub mod client {
        pub use crate::connection::client::{
            ClientCore, ClientError, ClientEvent, ClientOptions, ClientStatus, SendError,
        };
        pub use crate::handshake::AnswerError;
        pub use crate::http::RequestError;
        pub use crate::server::outbound::{Outbound, Target, connect};
    }
    pub mod config {
        pub use crate::config::{Config, defaults};
    }
    pub mod connection {
        pub use crate::connection::{Connection, Event, Output, Status};
    }
    pub mod deflate {
        pub use crate::deflate::{DeflateParams, DeflatePolicy, negotiate};
    }
    pub mod error {
        pub use crate::error::ProtocolError;
    }
    pub mod frame {
        pub use crate::frame::{CloseCode, FrameHeader, MAX_CLIENT_HEADER_LEN, Opcode};
        pub mod header {
            pub use crate::frame::header::{
                MAX_SERVER_HEADER_LEN, parse_client_header, parse_server_header,
                write_client_header, write_server_header,
            };
        }
        pub mod mask {
            pub use crate::frame::mask::apply_mask;
        }
    }
    pub mod h2 {
        pub mod frame {
            pub use crate::h2::frame::ErrorCode;
        }
        pub mod hpack {
            pub use crate::h2::hpack::{Decoder, HeaderList, encode_field};
        }
        pub mod session {
            pub use crate::h2::session::{
                CLIENT_PREFACE, DEFAULT_MAX_CONCURRENT_STREAMS, DEFAULT_MAX_OVERHEAD_FRAMES,
                DEFAULT_MAX_PEER_RESETS, DEFAULT_STREAM_WINDOW, Event, HEADER_BLOCK_SLACK, Limits,
                Session, SessionStatus, Sink,
            };
        }
    }
    pub mod handshake {
        pub use crate::handshake::{
            Behaviour, Decision, Head, HeadBuffer, accept_value, decide, is_token,
        };
        pub mod behaviour {
            pub use crate::handshake::behaviour::{MAX_SEND, PARAMETERS, parse};
        }
    }
    pub mod stack {
        pub use crate::stack::say_goodbye;
        pub mod h2 {
            pub use crate::stack::h2::H2Connection;
        }
    }
    pub mod suite {
        pub mod request {
            pub use crate::suite::request::is_suite_path;
        }
    }
    pub mod tls {
        pub use crate::tls::{TlsLayer, TlsOptions, TlsSetup};
        pub mod setup {
            pub use crate::tls::setup::client_config;
        }
        pub mod sniff {
            pub use crate::tls::sniff::{FirstByte, classify};
        }
    }
    pub mod utf8 {
        pub use crate::utf8::Utf8Validator;
    }
}
