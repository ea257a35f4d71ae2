//! Helpers shared by the fuzz targets and the seed-corpus generator: what a client
//! sends ([`client`]), how the server's output is taken apart and checked ([`output`]),
//! how a target turns its first input bytes into chunk sizes and clock steps
//! ([`schedule`]), and what the HTTP/2 and TLS targets share ([`h2`], [`tls`]).

pub mod client;
pub mod drive;
pub mod h2;
pub mod output;
pub mod schedule;
pub mod tls;
