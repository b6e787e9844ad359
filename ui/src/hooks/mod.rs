//! Hooks: the only place pages get data and trigger work. Hooks call `ipc`, pages call hooks, and
//! presentational components only receive props.

pub mod access;
pub mod app;
pub mod audit;
pub mod backends;
pub mod credentials;
pub mod dom;
pub mod incident;
pub mod journal;
pub mod overview;
pub mod reviews;
pub mod triage;

use portcullis_model::IpcError;

/// Data fetched from the shell.
#[derive(Debug, Clone, PartialEq)]
pub enum Remote<T> {
    Loading,
    Ready(T),
    Failed(IpcError),
}

impl<T> Remote<T> {
    pub fn from_result(result: Result<T, IpcError>) -> Self {
        match result {
            Ok(v) => Remote::Ready(v),
            Err(e) => Remote::Failed(e),
        }
    }
}
