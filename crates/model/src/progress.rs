//! Progress of long work (sync, bulk revocation, review runs), streamed to the UI over a Tauri
//! channel and to the terminal by the CLI. The engine emits these through a plain callback so that
//! it never depends on a transport.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Progress {
    /// A stage started; `total` is known when the work can be counted up front.
    Started { task: String, total: Option<u64> },
    /// `done` of `total` items are finished; `message` says what is being worked on.
    Advanced {
        task: String,
        done: u64,
        total: Option<u64>,
        message: String,
    },
    /// The stage ended, successfully or not.
    Finished {
        task: String,
        ok: bool,
        message: String,
    },
}
