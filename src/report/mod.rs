//! Case results in Autobahn's formats, and the gate that reads them.
//!
//! - [`grade`]: the grades (`OK`, `NON-STRICT`, ... `FAILED BY CLIENT`) and which pass.

pub mod grade;

pub use grade::Grade;
