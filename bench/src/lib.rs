//! Side-by-side benchmark harness for wsecho.
//!
//! The library holds the load generator's parts (one job per module); the binaries in
//! `src/bin/` are the load generator, the peer servers it is compared against, and the
//! report tool that turns result lines into a markdown table.

pub mod cli;
pub mod conn;
pub mod deflate;
pub mod driver;
pub mod frame;
pub mod h2;
pub mod handshake;
pub mod hist;
pub mod mask;
pub mod modes;
pub mod payload;
pub mod peer;
pub mod procfs;
pub mod report;
pub mod stamp;
pub mod stream;
pub mod table;
pub mod tls;

/// Every fallible step of the load generator ends the run with a message naming what broke;
/// a benchmark that papers over a wrong echo would be measuring the wrong thing.
pub type Result<T> = std::result::Result<T, String>;
