//! Case results in Autobahn's formats, and the gate that reads them.
//!
//! - [`grade`]: the grades (`OK`, `NON-STRICT`, ... `FAILED BY CLIENT`) and which pass.
//! - [`index`]: Autobahn's `index.json` (agent → case → result), read and written.
//! - [`junit`]: the same results as JUnit XML for CI systems.
//! - [`verdict`]: `wsecho verdict`, which prints a summary of a report and fails on
//!   any case that does not pass, or that differs from a baseline.

pub(crate) mod grade;
pub(crate) mod index;
pub(crate) mod junit;
pub(crate) mod verdict;

pub(crate) use grade::Grade;
pub(crate) use index::{CaseId, CaseResult, Index};
