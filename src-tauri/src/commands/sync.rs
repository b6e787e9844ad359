//! Sync: pull inventories and audit events into the cache, with progress and cancellation.

use portcullis_model::{IpcError, Progress, SyncReport};
use tauri::ipc::Channel;
use tauri::State;

use super::run_slot::RunSlot;
use super::Ws;

/// The sync in flight, if any: one sync at a time per window.
#[derive(Default)]
pub struct SyncControl(RunSlot);

impl SyncControl {
    /// Asks the running sync (if any) to stop after its current batch; returns whether one ran.
    pub fn cancel(&self) -> bool {
        self.0.cancel()
    }
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
    let run = control
        .0
        .begin("a sync is already running; wait for it or cancel it first")?;
    let report = move |p: Progress| {
        let _ = on_progress.send(p);
    };
    Ok(ws.sync(&names, &report, run.token()).await?)
}

#[tauri::command]
pub fn cancel_sync(control: State<'_, SyncControl>) -> Result<bool, IpcError> {
    Ok(control.cancel())
}
