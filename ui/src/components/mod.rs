//! Presentational components: they render props and emit callbacks, and never talk to the shell.

pub mod access_graph;
pub mod access_path;
pub mod audit_detail;
pub mod audit_timeline;
pub mod backend_form;
pub mod check_report;
pub mod copy;
pub mod credential_detail;
pub mod dialog;
pub mod empty;
pub mod error;
pub mod revoke;
pub mod time;
pub mod triage;

pub use dialog::Dialog;
pub use empty::EmptyState;
pub use error::ErrorNote;
pub use time::{Now, Time};
