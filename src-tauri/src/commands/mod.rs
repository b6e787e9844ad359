//! IPC commands, grouped by area. Each is a call into the engine plus `?`: the engine's one
//! `From<EngineError> for IpcError` gives the UI a stable `{code, message}` to branch on.

pub mod access;
pub mod audit;
pub mod backends;
pub mod credentials;
pub mod incident;
pub mod journal;
pub mod overview;
pub mod reviews;
pub mod run_slot;
pub mod sync;
pub mod triage;

use std::sync::Arc;

use portcullis_engine::Workspace;
use portcullis_model::IpcError;

/// The workspace the app serves — or why it could not be opened (a cache written by a newer
/// Portcullis, an unwritable directory). Keeping the error lets the window open anyway and every
/// page say what is wrong, instead of the app vanishing with a message on stderr.
pub struct WorkspaceState(Result<Arc<Workspace>, IpcError>);

impl WorkspaceState {
    pub fn new(workspace: Result<Arc<Workspace>, IpcError>) -> Self {
        Self(workspace)
    }

    pub fn get(&self) -> Result<&Workspace, IpcError> {
        self.0.as_deref().map_err(Clone::clone)
    }
}

/// The managed state every command borrows.
pub type Ws<'a> = tauri::State<'a, WorkspaceState>;
