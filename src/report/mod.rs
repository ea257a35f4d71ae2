//! Case results in Autobahn's formats, and the gate that reads them.
//!
//! - [`grade`]: the grades (`OK`, `NON-STRICT`, ... `FAILED BY CLIENT`) and which pass.
//! - [`index`]: Autobahn's `index.json` (agent → case → result), read and written.

pub mod grade;
pub mod index;

pub use grade::Grade;
pub use index::{CaseId, CaseResult, Cases, Index, Results};
