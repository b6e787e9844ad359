//! The audit trail browser: search (free text + field filters, keyset pages, newest first), one
//! event's raw record, the timeline of a search, highlights (saved views of detector results),
//! streamed exports, and imports of audit files in every format the connectors read.
//!
//! Everything takes a query string in the language of [`query`], so the CLI, the UI, pivots and
//! saved views share one syntax.

mod export;
pub mod highlights;
pub mod import;
pub mod query;
mod search;
pub mod timeline;

pub use highlights::Thresholds;
pub use query::{parse, Query, QueryError};
pub use search::{COUNT_CAP, MAX_PAGE};
