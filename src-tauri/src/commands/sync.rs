//! Sync: pull inventories and audit events into the cache, with progress and cancellation.

use portcullis_model::{ErrorCode, IpcError, Progress, SyncReport};
use std::sync::Mutex;
use tauri::ipc::Channel;
use tauri::State;
use tokio_util::sync::CancellationToken;

use super::Ws;

/// The cancellation token of the sync in flight, if any: one sync at a time per window.
#[derive(Default)]
pub struct SyncControl(Mutex<Option<CancellationToken>>);

impl SyncControl {
    fn begin(&self) -> Result<CancellationToken, IpcError> {
        let mut slot = self.0.lock().map_err(|_| poisoned())?;
        if slot.is_some() {
            return Err(IpcError::new(
                ErrorCode::Conflict,
                "a sync is already running; wait for it or cancel it first",
            ));
        }
        let token = CancellationToken::new();
        *slot = Some(token.clone());
        Ok(token)
    }

    fn end(&self) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = None;
        }
    }

    /// Asks the running sync (if any) to stop after its current batch; returns whether one ran.
    pub fn cancel(&self) -> Result<bool, IpcError> {
        let slot = self.0.lock().map_err(|_| poisoned())?;
        Ok(slot.as_ref().map(CancellationToken::cancel).is_some())
    }
}

fn poisoned() -> IpcError {
    IpcError::new(
        ErrorCode::Internal,
        "sync state is unusable after a crash; restart Portcullis",
    )
}

/// Syncs the named backends (all when `names` is empty), streaming [`Progress`].
#[tauri::command]
pub async fn sync_backends(
    ws: Ws<'_>,
    control: State<'_, SyncControl>,
    names: Vec<String>,
    on_progress: Channel<Progress>,
) -> Result<Vec<SyncReport>, IpcError> {
    let ws = ws.get()?;
    let cancel = control.begin()?;
    let report = move |p: Progress| {
        let _ = on_progress.send(p);
    };
    let result = ws.sync(&names, &report, &cancel).await;
    control.end();
    Ok(result?)
}

#[tauri::command]
pub fn cancel_sync(control: State<'_, SyncControl>) -> Result<bool, IpcError> {
    control.cancel()
}
