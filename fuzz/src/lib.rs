//! Helpers shared by the fuzz targets and the seed-corpus generator: what a client
//! sends ([`client`]), how the server's output is taken apart and checked ([`output`]),
//! and how a target turns its first input bytes into chunk sizes and clock steps
//! ([`schedule`]).

pub mod client;
pub mod drive;
pub mod output;
pub mod schedule;
