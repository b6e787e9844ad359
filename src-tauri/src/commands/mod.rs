//! IPC commands, grouped by area. Each is a call into the engine plus `?`: the engine's one
//! `From<EngineError> for IpcError` gives the UI a stable `{code, message}` to branch on.

pub mod access;
pub mod app;
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

use std::sync::{Arc, Mutex, RwLock};

use portcullis_engine::Workspace;
use portcullis_model::IpcError;

type Opened = Result<Arc<Workspace>, IpcError>;

/// The workspace the app serves — or why it could not be opened (a cache written by a newer
/// Portcullis, an unwritable directory). Keeping the error lets the window open anyway and every
/// page say what is wrong, instead of the app vanishing with a message on stderr.
///
/// The demo organisation swaps in a workspace of its own (`app::open_demo`) and the one it
/// replaced is kept aside to come back to (`app::leave_demo`): the two are never mixed.
pub struct WorkspaceState {
    current: RwLock<Opened>,
    /// The workspace a demo replaced.
    aside: Mutex<Option<Opened>>,
}

impl WorkspaceState {
    pub fn new(workspace: Opened) -> Self {
        Self {
            current: RwLock::new(workspace),
            aside: Mutex::new(None),
        }
    }

    pub fn get(&self) -> Result<Arc<Workspace>, IpcError> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Serves `demo` from now on; the workspace served until now is kept aside (once: a second
    /// demo replaces the first, not the real workspace).
    pub fn enter_demo(&self, demo: Arc<Workspace>) {
        let previous = self.swap(Ok(demo));
        let mut aside = self.aside.lock().unwrap_or_else(|p| p.into_inner());
        if aside.is_none() {
            *aside = Some(previous);
        }
    }

    /// Back to the workspace the demo replaced; false when no demo was entered.
    pub fn leave_demo(&self) -> bool {
        let back = self.aside.lock().unwrap_or_else(|p| p.into_inner()).take();
        match back {
            Some(ws) => {
                // The demo workspace closes once the last command using it is done.
                drop(self.swap(ws));
                true
            }
            None => false,
        }
    }

    fn swap(&self, next: Opened) -> Opened {
        let mut guard = self.current.write().unwrap_or_else(|p| p.into_inner());
        std::mem::replace(&mut *guard, next)
    }
}

/// The managed state every command borrows.
pub type Ws<'a> = tauri::State<'a, WorkspaceState>;
