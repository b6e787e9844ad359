//! Presentational components: they render props and emit callbacks, and never talk to the shell.

pub mod backend_form;
pub mod check_report;
pub mod dialog;
pub mod empty;
pub mod error;
pub mod time;

pub use dialog::Dialog;
pub use empty::EmptyState;
pub use error::ErrorNote;
pub use time::{Now, Time};
