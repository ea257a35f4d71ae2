//! Case results in Autobahn's formats, and the gate that reads them.
//!
//! - [`grade`]: the grades (`OK`, `NON-STRICT`, ... `FAILED BY CLIENT`) and which pass.
//! - [`index`]: Autobahn's `index.json` (agent → case → result), read and written.
//! - [`junit`]: the same results as JUnit XML for CI systems.
//! - [`verdict`]: `wsecho verdict`, which prints a summary of a report and fails on
//!   any case that does not pass, or that differs from a baseline.

pub mod grade;
pub mod index;
pub mod junit;
pub mod verdict;

pub use grade::Grade;
pub use index::{CaseId, CaseResult, Cases, Index, Results};
